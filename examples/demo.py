"""The JAG demo (`make demo`): real models exported from Python and run by ./jagrun and node run.js.

    .venv/bin/python examples/demo.py                 # both parts (what `make demo` runs)
    .venv/bin/python examples/demo.py --only digits   # or --only minilm; also --retrain, --epochs N, --out DIR

Part 1, the digits CNN (examples/digits_cnn.py: conv3x3(16)-ReLU-maxpool2-dropout-linear on
scikit-learn's 8x8 digits). Train it in Python with the traced Adam step on the reference
interpreter (25 epochs, about 5 s; the trained parameters are cached in the output folder,
keyed by a hash of the training configuration and sources, so the next run reuses them),
trace ``classify(x) -> {logits [N, 10] float32, labels [N] int64}`` with a symbolic batch
dim N and the trained weights as constants, and save it as ``model.json`` with all 360
held-out test images in ONE ``input.bin`` (x: float32 [360, 1, 8, 8]). Then run that file
with the reference interpreter, ``./jagrun model.json input.bin -o out_c.bin`` and ``node
run.js model.json input.bin -o out_js.bin`` (the real command-line programs) and print
each runtime's test accuracy, how many images' predicted labels differ between runtimes
and the max abs difference of the logits.

Part 2, MiniLM (sentence-transformers' all-MiniLM-L6-v2, examples/minilm.py): export the
traced encoder (``input_ids``, ``attention_mask`` int64 [N, S] -> ``embeddings`` float32
[N, 384], L2-normalised), tokenize five example sentences into ``input.bin``, run the
three runtimes the same way, and print each runtime's 5x5 cosine-similarity matrix, the
max differences between runtimes and (when transformers is installed) against PyTorch.

Files (not committed; ``--out`` moves them): ``examples/out/demo/digits_cnn/`` holds
``model.json`` (+ ``model.bin`` sidecar when weights exceed 4 KiB), ``input.bin``,
``labels.bin`` (y: int64 [360]), ``out_python.bin``, ``out_c.bin``, ``out_js.bin`` and the
cached ``params-<hash>.bin``; ``examples/out/demo/minilm/`` holds the MiniLM model,
``input.bin``, ``sentences.txt`` and the three outputs. Both models also embed a small
test batch (``graph.attach_test_data``), so ``./jagrun model.json`` alone checks itself.

Checks (exit status 1 when one fails): the digits CNN reaches >= 97 % test accuracy; every
runtime has the same accuracy and the same predicted label for every image as Python, its
logits within :data:`LOGITS_ATOL` of Python's and its ``labels`` output equal to the argmax
of its own logits; MiniLM's embeddings agree between runtimes within
:data:`EMBEDDINGS_ATOL` and with PyTorch within :data:`TORCH_ATOL`.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import jag  # noqa: E402
from jag import pytree  # noqa: E402
from jag.serialize import atomic_write  # noqa: E402

import digits_cnn as cnn  # noqa: E402
import digits_common as common  # noqa: E402

OUT = HERE / "out" / "demo"
RUNTIMES = ("python", "c", "js")
LOGITS_ATOL = 1e-4        # max |logits_runtime - logits_python| (float32 logits of magnitude ~10)
EMBEDDINGS_ATOL = 1e-5    # max |embedding_runtime - embedding_python| (unit vectors, float32; measured ~1.5e-7)
TORCH_ATOL = 1e-5         # max |embedding_jag - embedding_pytorch|
MIN_ACCURACY = 0.97
TEST_DATA_BATCH = 8       # images (sentences: 2) embedded in model.json for `./jagrun model.json`

SENTENCES = [
    "A man is playing a guitar.",
    "Someone strums an acoustic guitar on stage.",
    "The cat sleeps on the warm windowsill.",
    "A kitten is napping in the sun by the window.",
    "Stock markets fell sharply this morning.",
]


# ====================================================================== printing

def _where(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Progress:
    """A tiny progress bar: ``label [#########.........] 9/22 note  3.1s``.

    On a terminal it redraws in place (every :meth:`update`, and every 0.25 s from a
    background thread so a long single step still shows its elapsed time); elsewhere (a
    log, a pipe) it prints only its final line. Use as a context manager; :meth:`update`
    advances by ``n`` and sets the note.
    """

    def __init__(self, label: str, total: int, *, width: int = 24, stream=None):
        self.label, self.total, self.width = label, max(int(total), 1), width
        self.stream = stream or sys.stdout
        self.done, self.note = 0, ""
        self.t0 = time.perf_counter()
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._tick, daemon=True) if self.live else None

    def __enter__(self):
        if self._thread:
            self._thread.start()
        self._draw()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._draw(final=True)
        return False

    def update(self, n: int = 1, note: str | None = None):
        with self._lock:
            self.done = min(self.done + n, self.total)
            if note is not None:
                self.note = note
        self._draw()

    def set_note(self, note: str):
        with self._lock:
            self.note = note
        self._draw()

    def _tick(self):
        while not self._stop.wait(0.25):
            self._draw()

    def _line(self) -> str:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        return (f"  {self.label:<10} [{bar}] {self.done}/{self.total} {self.note}".rstrip()
                + f"  {time.perf_counter() - self.t0:.1f}s")

    def _draw(self, final: bool = False):
        if not (self.live or final):
            return
        with self._lock:
            line = self._line()
            self.stream.write(("\r\x1b[2K" if self.live else "") + line + ("\n" if final else ""))
            self.stream.flush()


class Steps:
    """Numbered steps with timings: ``with steps("train the CNN"):`` prints ``[2/9] train the
    CNN`` before and ``      done in 4.8 s`` after."""

    def __init__(self, total: int):
        self.total, self.n = total, 0

    def __call__(self, title: str):
        self.n += 1
        return _Step(f"[{self.n}/{self.total}] {title}")


class _Step:
    def __init__(self, title):
        self.title = title

    def __enter__(self):
        print(self.title, flush=True)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            print(f"      done in {time.perf_counter() - self.t0:.1f} s", flush=True)
        return False


# ====================================================================== runtimes

def run_runtimes(model: Path, input_bin: Path, folder: Path, runtimes=RUNTIMES, *, label="run") -> dict:
    """Run ``model`` on ``input_bin`` with each runtime; returns {runtime: (outputs dict, seconds)}.

    "python" is the reference interpreter on the loaded file (``jag.load(model).run``); "c"
    runs ``./jagrun model input -o folder/out_c.bin`` and "js" ``node run.js model input -o
    folder/out_js.bin`` as subprocesses (runtime_command of digits_common). Each runtime's
    outputs are written to ``folder/out_<runtime>.bin`` (safetensors). Raises
    RuntimeError naming the command, exit status and stderr when a CLI fails, and
    FileNotFoundError when a runtime is not built (``make c``, ``make js``).
    """
    results, done = {}, []
    inputs = jag.load_tensors(input_bin)
    with Progress(label, len(runtimes)) as bar:
        for rt in runtimes:
            bar.set_note(", ".join(done + [f"{rt} ..."]))
            out = Path(folder) / f"out_{rt}.bin"
            t0 = time.perf_counter()
            if rt == "python":
                outputs = jag.load(model).run(inputs)
                jag.save_tensors(out, outputs)
            else:
                cmd = common.runtime_command(rt) + [str(model), str(input_bin), "-o", str(out)]
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                if r.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
                outputs = jag.load_tensors(out)
            seconds = time.perf_counter() - t0
            results[rt] = (outputs, seconds)
            done.append(f"{rt} {seconds:.2f}s")
            bar.update(1, ", ".join(done))
    return results


def max_abs_diff(a, b) -> float:
    """max |a - b| in float64 (inf when the shapes differ)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.abs(a - b).max(initial=0.0))


# ====================================================================== part 1: the digits CNN

def cache_key(epochs: int) -> str:
    """12 hex digits of the SHA-256 of the training configuration: epochs, seed, learning rate,
    the sources of digits_cnn.py and digits_common.py (model, data, split, batches) and
    the numpy major.minor version (its random streams make the split and init)."""
    config = {"epochs": epochs, "seed": cnn.SEED, "lr": cnn.LR, "numpy": ".".join(np.__version__.split(".")[:2]),
              "sources": [hashlib.sha256((HERE / f).read_bytes()).hexdigest()
                          for f in ("digits_cnn.py", "digits_common.py")]}
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def train_cnn(epochs: int, folder: Path, *, retrain: bool = False) -> tuple:
    """Train the digits CNN (or load it from the cache); returns ``(params, cache_path, cached)``.

    Training: ``cnn.train_step`` traced once (forward, backward, Adam) and run by the
    reference interpreter, epoch by epoch (``Graph.run_loop`` over the epoch's 22 batches),
    from ``cnn.model.init(cnn.SEED)`` on ``cnn.make_data(epochs)``: the same computation as
    ``examples/digits_cnn.py --epochs N``. params is the nested dict of float32 arrays of
    ``cnn.model``; the cache is ``folder/params-<cache_key(epochs)>.bin`` (safetensors,
    keys = pytree paths such as ``0.weight``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    init_params = cnn.model.init(cnn.SEED)
    _, paths, treedef = pytree.flatten(init_params)
    cache = folder / f"params-{cache_key(epochs)}.bin"
    if cache.exists() and not retrain:
        stored = jag.load_tensors(cache)
        if sorted(stored) == sorted(paths):
            print(f"  reusing the trained parameters in {_where(cache)} (--retrain to train again)")
            return pytree.unflatten(treedef, [stored[p] for p in paths]), cache, True

    (xs, ys, keys), _ = cnn.make_data(epochs)
    opt_state = cnn.opt.init(init_params)
    graph = jag.trace(cnn.train_step, init_params, opt_state, xs[0], ys[0], keys[0]).set_loop(argnums=(0, 1))
    names = [vi.name for vi in graph.inputs]
    state_leaves = pytree.flatten((init_params, opt_state))[0]
    state = dict(zip(names, state_leaves))
    data_names = names[len(state_leaves):]
    feedback = dict(graph.metadata["jag.loop"]["feedback"])
    loss_name = graph.outputs[-1].name
    per_epoch = len(xs) // epochs
    print(f"  {epochs} epochs x {per_epoch} steps of {common.BATCH} images, Adam(lr={cnn.LR}), "
          f"reference interpreter")
    with Progress("train", epochs) as bar:
        for e in range(epochs):
            sl = slice(e * per_epoch, (e + 1) * per_epoch)
            outs, history = graph.run_loop(state, dict(zip(data_names, (xs[sl], ys[sl], keys[sl]))))
            state = {i: outs[o] for o, i in feedback.items()}
            bar.update(1, f"loss {float(np.mean(history[loss_name])):.4f}")
    n_params = len(paths)
    params = pytree.unflatten(treedef, [state[n] for n in names[:n_params]])
    jag.save_tensors(cache, dict(zip(paths, pytree.flatten(params)[0])))
    return params, cache, False


def export_cnn(params, folder: Path) -> dict:
    """Trace and save the classifier with the held-out test images; returns the file paths.

    ``classify(x) -> {"logits": float32 [N, 10], "labels": int64 [N] (argmax)}`` for x
    float32 [N, 1, 8, 8] (N symbolic), the trained ``params`` as constants, evaluation
    mode (no dropout). Writes ``folder/model.json`` (first :data:`TEST_DATA_BATCH` test
    images and their reference outputs embedded), ``input.bin`` ({"x": the 360 test images
    of digits_common.load_split}) and ``labels.bin`` ({"y": int64 [360]}).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _, _, x_test, y_test = common.load_split((1, 8, 8))

    def classify(x):
        """Digits CNN (examples/digits_cnn.py), trained: 8x8 images [N, 1, 8, 8] -> logits [N, 10] and labels [N]."""
        logits = cnn.model.apply(params, x)
        return {"logits": logits, "labels": jag.argmax(logits, axis=-1)}

    graph = jag.trace(classify, x_test, symbolic={"x": ["N", None, None, None]}, name="digits_cnn")
    graph.attach_test_data(x_test[:TEST_DATA_BATCH])
    files = {"model": folder / "model.json", "input": folder / "input.bin", "labels": folder / "labels.bin"}
    graph.save(files["model"])
    jag.save_tensors(files["input"], {"x": x_test})
    jag.save_tensors(files["labels"], {"y": y_test})
    return files


def check_digits(results: dict, y_test) -> tuple:
    """Compare the runtimes' outputs of the digits classifier.

    ``results``: {runtime: ({"logits", "labels"}, seconds)} from :func:`run_runtimes`, Python
    first. Returns ``(rows, failures)``: a row per runtime with ``accuracy``,
    ``label_diffs`` (images whose predicted label differs from Python's),
    ``logits_diff`` (max abs difference from Python's logits), ``own_argmax_ok`` (its
    ``labels`` output equals the argmax of its own logits) and ``seconds``; failures is
    a list of messages (empty when every check passes).
    """
    ref = results["python"][0]
    ref_pred = np.argmax(ref["logits"], axis=-1)
    rows, failures = {}, []
    for rt, (outs, seconds) in results.items():
        pred = np.argmax(outs["logits"], axis=-1)
        row = {"seconds": seconds, "accuracy": float(np.mean(pred == y_test)),
               "label_diffs": int(np.sum(pred != ref_pred)),
               "logits_diff": max_abs_diff(outs["logits"], ref["logits"]),
               "own_argmax_ok": bool(np.array_equal(outs["labels"], pred))}
        rows[rt] = row
        if not row["own_argmax_ok"]:
            failures.append(f"digits: {rt}'s labels output is not the argmax of its logits")
        if rt == "python":
            if row["accuracy"] < MIN_ACCURACY:
                failures.append(f"digits: python's test accuracy {row['accuracy']:.2%} < {MIN_ACCURACY:.0%}")
            continue
        if row["label_diffs"]:
            failures.append(f"digits: {rt} predicts another label than python for {row['label_diffs']} images")
        if row["accuracy"] != rows["python"]["accuracy"]:
            failures.append(f"digits: {rt}'s accuracy {row['accuracy']:.2%} != python's {rows['python']['accuracy']:.2%}")
        if not row["logits_diff"] <= LOGITS_ATOL:
            failures.append(f"digits: {rt}'s logits differ from python's by {row['logits_diff']:.2e} > {LOGITS_ATOL:g}")
    return rows, failures


def digits_part(args, steps: Steps) -> list:
    """Part 1 (train or reuse, export, run on every runtime, compare); returns the failures."""
    folder = Path(args.out) / "digits_cnn"
    with steps("digits CNN: train in Python (or reuse the cached parameters)"):
        params, _, _ = train_cnn(args.epochs, folder, retrain=args.retrain)
    with steps("digits CNN: trace classify(x) and export model.json + input.bin (the 360 test images)"):
        files = export_cnn(params, folder)
        graph = jag.load(files["model"])
        print(f"  {_where(files['model'])}: {graph.inputs[0]} -> {', '.join(map(str, graph.outputs))} "
              f"({len(graph.nodes)} nodes)\n  {_where(files['input'])}: x float32[360,1,8,8]")
    with steps("digits CNN: run it with Python, ./jagrun model.json input.bin, node run.js model.json input.bin"):
        results = run_runtimes(files["model"], files["input"], folder, ("python",) + tuple(args.runtimes))
    y_test = jag.load_tensors(files["labels"])["y"]
    rows, failures = check_digits(results, y_test)
    print(f"\n  digits CNN on {len(y_test)} held-out test images (files in {_where(folder)}/)")
    print(f"  {'runtime':<8} {'time':>7} {'accuracy':>9} {'labels != python':>17} {'max |logits - python|':>22}")
    for rt, row in rows.items():
        diff = ("(reference)", "") if rt == "python" else (str(row["label_diffs"]), f"{row['logits_diff']:.1e}")
        print(f"  {rt:<8} {row['seconds']:>6.2f}s {row['accuracy']:>8.2%} {diff[0]:>17} {diff[1]:>22}")
    if "c" in results and "js" in results:
        c, j = results["c"][0], results["js"][0]
        print(f"  c vs js: max |logits difference| {max_abs_diff(c['logits'], j['logits']):.1e}, labels differing "
              f"on {int(np.sum(np.argmax(c['logits'], -1) != np.argmax(j['logits'], -1)))} images")
    print("  " + ("ok: same accuracy and the same label for every image on every runtime" if not failures
                  else "FAILED " + "\n  FAILED ".join(failures)))
    print()
    return failures


# ====================================================================== part 2: MiniLM

def cosine_matrix(embeddings) -> np.ndarray:
    """Cosine similarities [N, N] (float64) of the rows of ``embeddings`` [N, D]."""
    e = np.asarray(embeddings, np.float64)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    return e @ e.T


def _print_matrices(titles, matrices):
    """Print square matrices side by side, each under its title, rows and columns numbered from 1."""
    n = len(matrices[0])
    width = 6 * n + 2
    print("    " + "".join(f"{t:<{width}}" for t in titles).rstrip())
    print("    " + "".join(("".join(f"{j + 1:>6}" for j in range(n)) + "  ") for _ in matrices).rstrip())
    for i in range(n):
        print(f"  {i + 1:>2}" + "".join("".join(f"{v:>6.2f}" for v in m[i]) + "  " for m in matrices).rstrip())


def minilm_part(args, steps: Steps) -> list:
    """Part 2 (export MiniLM, tokenize :data:`SENTENCES`, run on every runtime, compare); returns
    the failures."""
    folder = Path(args.out) / "minilm"
    folder.mkdir(parents=True, exist_ok=True)
    with steps("MiniLM: export all-MiniLM-L6-v2 (tokens -> L2-normalised sentence embeddings)"):
        import minilm
        # minilm.export(folder) plus embedded test data (2 sentences), so that `./jagrun model.json`
        # and `node run.js model.json` alone check themselves against the reference.
        graph = minilm.trace_graph()
        example = minilm.tokenize(SENTENCES[:2])
        graph.attach_test_data(example["input_ids"], example["attention_mask"])
        model = graph.save(folder / "model.json")
        graph = jag.load(model).validate()
        size = sum(f.stat().st_size for f in folder.glob("model.*"))
        print(f"  {_where(model)}: {', '.join(map(str, graph.inputs))} -> {', '.join(map(str, graph.outputs))} "
              f"({len(graph.nodes)} nodes, {size / 1e6:.0f} MB with the sidecar)")
    with steps(f"MiniLM: tokenize {len(SENTENCES)} sentences into input.bin"):
        tokens = minilm.tokenize(SENTENCES)
        input_bin = folder / "input.bin"
        jag.save_tensors(input_bin, {k: np.asarray(v) for k, v in tokens.items()})
        atomic_write(folder / "sentences.txt", ["\n".join(SENTENCES).encode() + b"\n"])
        for i, s in enumerate(SENTENCES):
            print(f"  {i + 1}. {s}")
        print(f"  {_where(input_bin)}: input_ids, attention_mask int64{list(np.shape(tokens['input_ids']))}")
    with steps("MiniLM: run it with Python, ./jagrun model.json input.bin, node run.js model.json input.bin"):
        results = run_runtimes(model, input_bin, folder, ("python",) + tuple(args.runtimes))
    emb = {rt: np.asarray(outs["embeddings"]) for rt, (outs, _) in results.items()}
    failures = []
    try:
        import transformers
    except ImportError:
        torch_emb = None
        print("  (transformers is not installed: no PyTorch comparison)")
    else:
        with steps("MiniLM: the same sentences with PyTorch (transformers), for comparison"):
            transformers.utils.logging.disable_progress_bar()
            torch_emb = np.asarray(minilm.reference_embeddings(SENTENCES))
    print(f"\n  cosine similarity of the {len(SENTENCES)} sentences (files in {_where(folder)}/)")
    sims = {rt: cosine_matrix(e) for rt, e in emb.items()}
    _print_matrices([f"{rt} ({results[rt][1]:.2f} s)" for rt in sims], list(sims.values()))
    print(f"  {'runtime':<8} {'max |embedding - python|':>25} {'max |similarity - python|':>26}"
          + (f" {'max |embedding - pytorch|':>26}" if torch_emb is not None else ""))
    for rt, e in emb.items():
        d_emb = max_abs_diff(e, emb["python"])
        d_sim = max_abs_diff(sims[rt], sims["python"])
        line = f"  {rt:<8} {d_emb:>25.1e} {d_sim:>26.1e}"
        if torch_emb is not None:
            d_torch = max_abs_diff(e, torch_emb)
            line += f" {d_torch:>26.1e}"
            if not d_torch <= TORCH_ATOL:
                failures.append(f"minilm: {rt}'s embeddings differ from PyTorch's by {d_torch:.2e} > {TORCH_ATOL:g}")
        print(line)
        if rt != "python" and not d_emb <= EMBEDDINGS_ATOL:
            failures.append(f"minilm: {rt}'s embeddings differ from python's by {d_emb:.2e} > {EMBEDDINGS_ATOL:g}")
    if "c" in emb and "js" in emb:
        print(f"  c vs js: max |embedding difference| {max_abs_diff(emb['c'], emb['js']):.1e}")
    print("  " + (f"ok: every runtime agrees within {EMBEDDINGS_ATOL:g}" + (" and with PyTorch" if torch_emb is not None
                                                                             else "")
                  if not failures else "FAILED " + "\n  FAILED ".join(failures)))
    print()
    return failures


# ====================================================================== main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--only", choices=("digits", "minilm"), help="run one part only")
    p.add_argument("--epochs", type=int, default=cnn.EPOCHS, help=f"training epochs of the CNN (default {cnn.EPOCHS})")
    p.add_argument("--retrain", action="store_true", help="train the CNN even when cached parameters exist")
    p.add_argument("--runtimes", default="c,js", help="runtimes besides Python: 'c,js' (default), 'c', 'js' or 'none'")
    p.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {_where(OUT)})")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    rts = [r.strip() for r in args.runtimes.split(",") if r.strip() and r.strip() != "none"]
    bad = [r for r in rts if r not in RUNTIMES[1:]]
    if bad:
        p.error(f"unknown runtime(s) {', '.join(bad)}; choose from c, js or 'none'")
    args.runtimes = rts
    return args


def main(argv=None) -> int:
    """Run the demo; returns the exit status (0 ok, 1 a check failed or a runtime could not run)."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    parts = [p for p in ("digits", "minilm") if args.only in (None, p)]
    has_torch = importlib.util.find_spec("transformers") is not None
    steps = Steps(3 * ("digits" in parts) + ((4 if has_torch else 3) if "minilm" in parts else 0))
    failures = []
    for part, fn in (("digits", digits_part), ("minilm", minilm_part)):
        if part not in parts:
            continue
        try:
            failures += fn(args, steps)
        except (OSError, RuntimeError, subprocess.TimeoutExpired, jag.JagError, ImportError) as e:
            failures.append(f"{part}: {type(e).__name__}: {e}")
            print(f"  FAILED {part}: {e}\n")
    total = time.perf_counter() - t0
    if failures:
        print(f"demo FAILED in {total:.0f} s: {len(failures)} check(s) failed")
        return 1
    print(f"demo ok in {total:.0f} s. The files are in {_where(args.out)}/; run them by hand:")
    for part in parts:
        d = Path(args.out) / ("digits_cnn" if part == "digits" else "minilm")
        model, inp = _where(d / "model.json"), _where(d / "input.bin")
        print(f"  ./runtimes/c/jagrun {model} {inp}\n"
              f"  node runtimes/js/run.js {model}    # checks the test data embedded in the model")
    return 0


if __name__ == "__main__":
    sys.exit(main())

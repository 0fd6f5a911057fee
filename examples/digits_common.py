"""Shared parts of the digits examples (digits_mlp.py, digits_cnn.py): data, batches, the
loop files, training on every runtime, evaluation and the report.

Data (fixed, so every run and every runtime sees the same numbers):

- ``sklearn.datasets.load_digits()``: 1797 8x8 images of the digits 0-9, pixel values
  0..16, divided by 16 into float32 in [0, 1]; labels int64.
- Split: ``np.random.default_rng(0).permutation(1797)``; its first 1437 indices are the
  training set, the last 360 the test set (not stratified).
- Batches: :data:`BATCH` = 64 images. Each epoch takes the next permutation of the
  1437 training indices from ``np.random.default_rng(seed)`` and cuts it into 22 full
  batches; the last partial batch (29 images, different ones each epoch) is dropped so
  every step has the same shapes, as one traced step graph needs. All steps are stacked
  into one ``data.bin`` (leading axis = step).

The flow of :func:`run_example`: trace ONE ``train_step(params, opt_state, *step_data) ->
(params, opt_state, loss)`` graph and mark it a loop (``Graph.set_loop``), save it with
``init.bin`` (params and optimizer state) and ``data.bin``; train with
``Graph.run_loop`` on the reference interpreter (the Python result, the reference); then
run the very same files with ``./jagrun --loop`` and ``node run.js --loop``. Each
runtime then runs a traced ``predict(params, x) -> labels`` graph on the 360 test images
with its own final params. Checks: every runtime's final values agree with Python's (max
relative difference <= :data:`RTOL`, integer values equal) and its test accuracy equals
Python's; Python's accuracy is >= ``--min-accuracy`` (default 0.97).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import jag
from jag import pytree

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
JAGRUN = Path(os.environ.get("JAG_JAGRUN", ROOT / "runtimes" / "c" / "jagrun"))
RUNJS = ROOT / "runtimes" / "js" / "run.js"

BATCH = 64            # images per step
N_TRAIN = 1437        # training images; the other 360 are the test set
SPLIT_SEED = 0        # the train/test permutation
RTOL = 1e-4           # max relative difference allowed between a runtime's final values and Python's
RUNTIMES = ("c", "js")


# ====================================================================== data

def load_split(image_shape=(64,)):
    """The fixed digits split: ``(x_train, y_train, x_test, y_test)``.

    x: float32 [n, *image_shape] in [0, 1] (pixels / 16); ``image_shape`` (64,) for an MLP
    or (1, 8, 8) for NCHW convolutions. y: int64 [n] in 0..9. n = 1437 train, 360 test.
    """
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape((-1, *image_shape))
    y = digits.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    train, test = perm[:N_TRAIN], perm[N_TRAIN:]
    return x[train], y[train], x[test], y[test]


def epoch_batches(x, y, epochs: int, *, seed: int, batch: int = BATCH):
    """Batches for ``epochs`` passes, stacked over steps: ``(xs [S, batch, ...], ys [S, batch])``.

    Epoch e uses the e-th ``permutation(len(x))`` of ``np.random.default_rng(seed)``, cut
    into ``len(x) // batch`` full batches (the last partial batch dropped), so
    S = epochs * (len(x) // batch).
    """
    rng = np.random.default_rng(seed)
    per_epoch = len(x) // batch
    idx = np.concatenate([rng.permutation(len(x))[:per_epoch * batch] for _ in range(epochs)])
    idx = idx.reshape(epochs * per_epoch, batch)
    return x[idx], y[idx]


def step_keys(steps: int, *, seed: int):
    """One int64 random key per step (for Dropout): ``default_rng(seed).integers(0, 2**62, steps)``.

    The keys are data (an int64 [steps] tensor in data.bin), so every runtime draws the
    same dropout masks (JAG's random ops are counter-based and bit-identical, spec §11).
    """
    return np.random.default_rng(seed).integers(0, 2 ** 62, size=steps, dtype=np.int64)


# ====================================================================== command line

def parse_args(argv, *, description: str, epochs: int):
    p = argparse.ArgumentParser(description=description.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=epochs, help=f"passes over the training set (default {epochs})")
    p.add_argument("--runtimes", default=",".join(RUNTIMES),
                   help="runtimes to run the same loop on besides Python: 'c,js' (default), 'c', 'js' or 'none'")
    p.add_argument("--out", type=Path, default=None, help="folder for the files (default examples/out/<example>)")
    p.add_argument("--min-accuracy", type=float, default=0.97,
                   help="fail when Python's test accuracy is below this (default 0.97)")
    args = p.parse_args(argv)
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    rts = [r.strip() for r in args.runtimes.split(",") if r.strip() and r.strip() != "none"]
    bad = [r for r in rts if r not in RUNTIMES]
    if bad:
        p.error(f"unknown runtime(s) {', '.join(bad)}; choose from {', '.join(RUNTIMES)} or 'none'")
    args.runtimes = rts
    return args


# ====================================================================== running

@dataclass
class Result:
    """One runtime's run: loop time (s, wall time of the whole run), final loss, test accuracy,
    max relative difference of its final values from Python's (0 for Python), error (if any)."""
    runtime: str
    seconds: float = float("nan")
    loss: float = float("nan")
    accuracy: float = float("nan")
    max_rel_diff: float = 0.0
    error: str | None = None


@dataclass
class Report:
    """What :func:`run_example` found: a :class:`Result` per runtime (Python first) and the
    failed checks (``ok`` when there are none)."""
    name: str
    steps: int
    results: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def __getitem__(self, runtime) -> Result:
        return next(r for r in self.results if r.runtime == runtime)


def max_rel_diff(got: dict, want: dict) -> float:
    """max over the float tensors of ``max|got - want| / max|want|`` (the relative error in the
    max norm, computed in float64); inf when a name is missing, a shape differs or an integer
    tensor (the optimizer's step count) is not equal."""
    worst = 0.0
    for name, w in want.items():
        g = got.get(name)
        if g is None or np.shape(g) != np.shape(w):
            return float("inf")
        if np.asarray(w).dtype.kind != "f":
            if not np.array_equal(g, w):
                return float("inf")
            continue
        w64, g64 = np.asarray(w, np.float64), np.asarray(g, np.float64)
        scale = np.abs(w64).max(initial=0.0)
        err = np.abs(g64 - w64).max(initial=0.0)
        worst = max(worst, err / scale if scale > 0 else err)
    return worst


def runtime_command(runtime: str) -> list:
    """The command that runs ``runtime`` ("c": ../jagrun, "js": node run.js); FileNotFoundError when
    it is not built or installed."""
    if runtime == "c":
        if not JAGRUN.exists():
            raise FileNotFoundError(f"{JAGRUN} is not built: run `make c` (or pass --runtimes none)")
        return [str(JAGRUN)]
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node is not installed: run `make js` (or pass --runtimes none)")
    return [node, str(RUNJS)]


def available_runtime_commands() -> dict:
    """{runtime: command} for the RUNTIMES built or installed here; prints why a missing one is skipped."""
    cmds = {}
    for rt in RUNTIMES:
        try:
            cmds[rt] = runtime_command(rt)
        except FileNotFoundError as e:
            print(f"{e}: the {rt} rows are skipped")
    return cmds


def _run_cli(runtime: str, *args) -> float:
    """Run jagrun / run.js with ``args``; returns the wall time (s). RuntimeError on failure."""
    cmd = runtime_command(runtime) + [str(a) for a in args]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return seconds


def run_example(args, *, name: str, title: str, train_step, predict, params, opt_state, step_data, test,
                seed: int) -> Report:
    """Trace, save, train on Python and ``args.runtimes``, evaluate, check and print the report.

    Args:
      args: from :func:`parse_args` (epochs, runtimes, out, min_accuracy).
      name, title: the example's name (files go to ``args.out`` or out/<name>/) and a
        one-line description for the report.
      train_step: ``(params, opt_state, *step_data) -> (params, opt_state, loss)``.
      predict: ``(params, x) -> int64 labels [n]``.
      params, opt_state: the initial pytrees (``model.init(seed)``, ``opt.init(params)``).
      step_data: per-step arrays stacked over steps (``xs [S, 64, ...]``, ``ys [S, 64]``, ...),
        one per trailing argument of ``train_step``.
      test: ``(x_test, y_test)``.
      seed: printed in the report (the seed of params and batches).
    Returns the :class:`Report`; it has been printed.
    """
    out = Path(args.out) if args.out else OUT / name
    out.mkdir(parents=True, exist_ok=True)
    x_test, y_test = test
    steps = len(step_data[0])
    report = Report(name, steps)

    # One traced step; its outputs 0 and 1 (params, opt_state) feed arguments 0 and 1.
    graph = jag.trace(train_step, params, opt_state, *[d[0] for d in step_data]).set_loop(argnums=(0, 1))
    graph.save(out / "train_step.json")
    names = [vi.name for vi in graph.inputs]
    state_leaves = pytree.flatten((params, opt_state))[0]
    init = dict(zip(names, state_leaves))
    data = dict(zip(names[len(state_leaves):], step_data))
    jag.save_tensors(out / "init.bin", init)
    jag.save_tensors(out / "data.bin", data)
    n_params = len(pytree.flatten(params)[0])
    param_outputs = [vi.name for vi in graph.outputs[:n_params]]
    loss_name = graph.outputs[-1].name

    # The predict graph, fed each runtime's final params and the test images.
    pred_graph = jag.trace(predict, params, x_test)
    pred_graph.save(out / "predict.json")
    pred_names = [vi.name for vi in pred_graph.inputs]

    def evaluate(runtime, final):
        bundle = dict(zip(pred_names, [final[n] for n in param_outputs] + [x_test]))
        if runtime == "python":
            (labels,) = pred_graph.run(bundle).values()
        else:
            jag.save_tensors(out / f"predict-in-{runtime}.bin", bundle)
            _run_cli(runtime, out / "predict.json", out / f"predict-in-{runtime}.bin",
                     "-o", out / f"predict-{runtime}.bin")
            (labels,) = jag.load_tensors(out / f"predict-{runtime}.bin").values()
        return float(np.mean(labels == y_test))

    # Python: the reference interpreter runs the loop.
    t0 = time.perf_counter()
    want, history = graph.run_loop(init, data)
    py = Result("python", seconds=time.perf_counter() - t0, loss=float(history[loss_name][-1]))
    jag.save_tensors(out / "final-python.bin", want)
    py.accuracy = evaluate("python", want)
    report.results.append(py)
    if not py.accuracy >= args.min_accuracy:
        report.failures.append(f"python: test accuracy {py.accuracy:.2%} < {args.min_accuracy:.2%}")

    for rt in args.runtimes:
        res = Result(rt)
        report.results.append(res)
        try:
            res.seconds = _run_cli(rt, out / "train_step.json", out / "init.bin", "--loop", out / "data.bin",
                                   "-o", out / f"final-{rt}.bin")
            got = jag.load_tensors(out / f"final-{rt}.bin")
            res.loss = float(got[loss_name])
            res.max_rel_diff = max_rel_diff(got, want)
            res.accuracy = evaluate(rt, got)
        except (OSError, RuntimeError, KeyError, subprocess.TimeoutExpired) as e:
            res.error = str(e)
            report.failures.append(f"{rt}: {e}")
            continue
        if not res.max_rel_diff <= RTOL:
            report.failures.append(f"{rt}: final values differ from Python's by {res.max_rel_diff:.2e} > {RTOL:g}")
        if res.accuracy != py.accuracy:
            report.failures.append(f"{rt}: test accuracy {res.accuracy:.2%} != Python's {py.accuracy:.2%}")

    print_report(report, title=title, out=out, seed=seed, epochs=args.epochs)
    return report


def print_report(report: Report, *, title: str, out: Path, seed: int, epochs: int):
    try:
        where = out.relative_to(Path.cwd())
    except ValueError:
        where = out
    print(f"{report.name}: {title}")
    print(f"  seed {seed}, {epochs} epochs x {report.steps // epochs} steps of {BATCH} images = {report.steps} steps; "
          f"files in {where}/")
    print(f"  {'runtime':<8} {'loop time':>10} {'final loss':>11} {'max rel diff':>13} {'test accuracy':>14}")
    for r in report.results:
        if r.error:
            print(f"  {r.runtime:<8} {'failed':>10}")
            continue
        diff = "(reference)" if r.runtime == "python" else f"{r.max_rel_diff:.1e}"
        print(f"  {r.runtime:<8} {r.seconds:>9.2f}s {r.loss:>11.6f} {diff:>13} {r.accuracy:>13.2%}")
    if len(report.results) > 1:
        print("  (the loop time of c and js includes starting the process and loading the files)")
    if report.ok:
        others = len(report.results) > 1
        print(f"  ok: test accuracy {report['python'].accuracy:.2%}"
              + (f"; every runtime within {RTOL:g} of Python with the same accuracy" if others else ""))
    for f in report.failures:
        print(f"  FAILED {f}")

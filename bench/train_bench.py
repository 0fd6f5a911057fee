"""Training throughput of the digits examples: JAG's runtimes beside PyTorch, batch 64, in one run.

    python bench/train_bench.py                  # (make bench) both models
    python bench/train_bench.py --models mlp --steps 400

For each model of examples/digits_mlp.py and examples/digits_cnn.py (the same model,
optimizer and traced train_step, Adam, batch 64 of 8x8 digits) this measures the time
of one training step (forward, backward, optimizer update) on:

- python: the numpy reference interpreter, ``Graph.run_loop`` over S steps (numpy's
  default BLAS threads);
- c: ``./jagrun step.json init.bin --loop data.bin`` (single-threaded). jagrun reports
  no times in --loop mode, so the process wall time is measured for S and 2S steps and
  the difference divided by S (this removes the process start and model load); the
  best of ``--repeats`` runs each;
- js: ``node run.js ... --loop``, measured like c (one run each; it is slower);
- torch-1t / torch: PyTorch on CPU, the same architecture built from the jag.nn model
  with the same initial parameters, ``torch.optim.Adam`` with the same lr, eager mode,
  ``torch.set_num_threads(1)`` and then the default thread count; the median of S
  timed steps after 10 warm-up steps.

The table gives ms/step, images/s and the ratio to PyTorch's time (single-threaded and
default threads; above 1 = slower than PyTorch). The first target: C within 3x of
PyTorch's per-step time for the MLP at batch 64. Without torch the torch rows are
skipped (and say so); without ./jagrun (``make c``) or node the c / js rows are skipped.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import jag  # noqa: E402
from jag import nn, pytree  # noqa: E402

import digits_cnn  # noqa: E402
import digits_common as common  # noqa: E402
import digits_mlp  # noqa: E402

MODELS = {"mlp": digits_mlp, "cnn": digits_cnn}
DEFAULT_STEPS = {"mlp": 400, "cnn": 100}


def loop_files(example, steps: int, folder: Path):
    """The example's train_step graph, init.bin and data.bin for ``steps`` steps (epochs as needed)."""
    step_data, _ = example.make_data(-(-steps // (common.N_TRAIN // common.BATCH)))
    data_arrays = [d[:steps] for d in step_data]
    params = example.model.init(example.SEED)
    opt_state = example.opt.init(params)
    graph = jag.trace(example.train_step, params, opt_state, *[d[0] for d in data_arrays]).set_loop(argnums=(0, 1))
    graph.save(folder / "step.json")
    names = [vi.name for vi in graph.inputs]
    leaves = pytree.flatten((params, opt_state))[0]
    init = dict(zip(names, leaves))
    data = dict(zip(names[len(leaves):], data_arrays))
    jag.save_tensors(folder / "init.bin", init)
    for n in (steps, 2 * steps):
        jag.save_tensors(folder / f"data{n}.bin", {k: np.concatenate([v] * (n // steps)) for k, v in data.items()})
    return graph, init, data, params, data_arrays


def time_python(graph, init, data) -> float:
    """Seconds per step of Graph.run_loop (after one warm-up step)."""
    graph.run_loop(init, {k: v[:1] for k, v in data.items()})
    t0 = time.perf_counter()
    graph.run_loop(init, data)
    return (time.perf_counter() - t0) / len(next(iter(data.values())))


def time_cli(cmd: list, folder: Path, steps: int, repeats: int) -> float:
    """Seconds per step of a runtime's --loop: (wall(2S) - wall(S)) / S, best of ``repeats`` each."""
    def wall(n):
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd + [str(folder / "step.json"), str(folder / "init.bin"), "--loop",
                                  str(folder / f"data{n}.bin")], check=True, capture_output=True)
            best = min(best, time.perf_counter() - t0)
        return best
    per_step = (wall(2 * steps) - wall(steps)) / steps
    if per_step <= 0:
        raise SystemExit(f"{steps} steps are too few to tell a step from process start-up on {cmd[-1]} "
                         f"(wall({2 * steps}) <= wall({steps})): pass a larger --steps")
    return per_step


def torch_model(model, params):
    """The torch.nn equivalent of a jag.nn Sequential (Linear, Conv2d, ReLU, MaxPool2d, Flatten,
    Dropout), with the same parameter values (jag.nn uses torch's layouts)."""
    import torch
    layers = []
    for name, m in model.children().items():
        if isinstance(m, nn.Linear):
            t = torch.nn.Linear(m.in_features, m.out_features)
        elif isinstance(m, nn.Conv2d):
            t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
        elif isinstance(m, nn.ReLU):
            t = torch.nn.ReLU()
        elif isinstance(m, nn.MaxPool2d):
            t = torch.nn.MaxPool2d(m.kernel_size, m.stride)
        elif isinstance(m, nn.Flatten):
            t = torch.nn.Flatten()
        elif isinstance(m, nn.Dropout):
            t = torch.nn.Dropout(m.p)
        else:
            raise TypeError(f"no torch equivalent for {m!r}")
        if name in params:
            with torch.no_grad():
                for k, v in params[name].items():
                    getattr(t, k).copy_(torch.from_numpy(np.array(v)))
        layers.append(t)
    return torch.nn.Sequential(*layers)


def time_torch(example, params, data_arrays, steps: int, threads: int | None) -> float:
    """Median seconds per training step in PyTorch (eager, CPU), after 10 warm-up steps."""
    import torch
    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        model = torch_model(example.model, params)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=example.LR)
        xs, ys = torch.from_numpy(data_arrays[0]), torch.from_numpy(data_arrays[1])
        times = []
        for i in range(steps + 10):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xs[i % len(xs)]), ys[i % len(ys)])
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        return statistics.median(times[10:])
    finally:
        torch.set_num_threads(default)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mlp,cnn", help="mlp, cnn or mlp,cnn (default)")
    p.add_argument("--steps", type=int, default=None, help="steps S per measurement (default: mlp 400, cnn 100)")
    p.add_argument("--repeats", type=int, default=3, help="runs of ./jagrun per step count (best taken; default 3)")
    args = p.parse_args(argv)
    try:
        import torch
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch, torch_threads = None, 0
        print("torch is not installed: the torch rows are skipped (pip install torch)")
    cmds = common.available_runtime_commands()

    keys = [m.strip() for m in args.models.split(",") if m.strip()]
    if not keys or any(k not in MODELS for k in keys) or (args.steps is not None and args.steps < 1):
        p.error(f"--models takes {', '.join(MODELS)}; --steps a positive count")
    rows = []   # (model, runtime, seconds per step)
    for key in keys:
        example = MODELS[key]
        steps = args.steps or DEFAULT_STEPS[key]
        print(f"measuring the digits {key}: {steps} and {2 * steps} steps ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            graph, init, data, params, data_arrays = loop_files(example, steps, folder)
            rows.append((key, "python", time_python(graph, init, data)))
            if "c" in cmds:
                rows.append((key, "c", time_cli(cmds["c"], folder, steps, args.repeats)))
            if "js" in cmds:
                rows.append((key, "js", time_cli(cmds["js"], folder, steps, 1)))
        if torch is not None:
            rows.append((key, "torch-1t", time_torch(example, params, data_arrays, steps, 1)))
            rows.append((key, f"torch-{torch_threads}t", time_torch(example, params, data_arrays, steps, None)))

    print_table(rows, torch_threads)
    return 0


def print_table(rows, torch_threads):
    print(f"\nTraining step, batch {common.BATCH} (forward + backward + Adam), digits 8x8:")
    ref = {(m, rt): s for m, rt, s in rows}
    t1 = f"torch-{torch_threads}t"
    print(f"{'model':<6} {'runtime':<10} {'ms/step':>9} {'images/s':>10} {'/ torch-1t':>11} {f'/ {t1}':>11}")
    for model, rt, s in rows:
        r1 = ref.get((model, "torch-1t"))
        rn = ref.get((model, t1))
        f = lambda r: f"{s / r:>10.2f}x" if r else f"{'-':>11}"
        print(f"{model:<6} {rt:<10} {s * 1e3:>9.3f} {common.BATCH / s:>10.0f} {f(r1)} {f(rn)}")
    c = ref.get(("mlp", "c"))
    for name in ("torch-1t", t1):
        t = ref.get(("mlp", name))
        if c and t:
            verdict = "met" if c <= 3 * t else "NOT met"
            print(f"target C <= 3x PyTorch per MLP step: C / {name} = {c / t:.2f} ({verdict})")


if __name__ == "__main__":
    sys.exit(main())

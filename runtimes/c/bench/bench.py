"""bench.py — the C runtime against numpy, single thread, in one run.

    python bench.py [FILTER...]      run the benchmarks whose name contains a FILTER

Every benchmark is one entry of BENCHES: a name, its flop count (for GFLOP/s; None when
not meaningful), a numpy setup function returning the function to time, and the command
that runs the C side, which prints a line with "median_ms=<float>" (bench_matmul.c's
RESULT line). Both sides report the median of their runs; the ratio column is numpy time
over C time (above 1: C is faster). To add a row, append a Bench(...) to BENCHES.
"""
import os

# Single-threaded BLAS, set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_MATMUL = os.path.join(HERE, "bench_matmul")
JAGRUN = os.path.join(HERE, "..", "jagrun")
WORK = os.path.join(HERE, "out")


class Bench:
    def __init__(self, name, flops, numpy_setup, c_cmd, reps=15):
        self.name = name
        self.flops = flops              # float or None
        self.numpy_setup = numpy_setup  # () -> fn; fn() is timed
        self.c_cmd = c_cmd              # argv list (or a function making it); prints "median_ms=<x>"
        self.reps = reps


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def run_c(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"median_ms=([0-9.eE+-]+)|time: median ([0-9.eE+-]+) ms", out)
    if not m:
        raise RuntimeError(f"no median_ms in the output of {' '.join(cmd)}:\n{out}")
    return float(m.group(1) or m.group(2))


def _rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(dtype)


def matmul_np(m, n, k, dtype):
    def setup():
        a, b = _rand(m, k, dtype=dtype, seed=1), _rand(k, n, dtype=dtype, seed=2)
        return lambda: np.matmul(a, b)
    return setup


def linear_np(m, n, k, dtype):
    def setup():
        x, w = _rand(m, k, dtype=dtype, seed=1), _rand(n, k, dtype=dtype, seed=2)
        return lambda: np.matmul(x, w.T)     # python/jag/ops/composite.py _linear, no bias
    return setup


def c_gemm(op, dtype, m, n, k, reps=15):
    return [BENCH_MATMUL, "-op", op, "-dtype", dtype, "-reps", str(reps), str(m), str(n), str(k)]


MLP_SIZES = (784, 1024, 1024, 1024, 10)


def _mlp_params():
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((i, o)).astype(np.float32) / np.float32(np.sqrt(i)),
             rng.standard_normal(o).astype(np.float32) * np.float32(0.1))
            for i, o in zip(MLP_SIZES[:-1], MLP_SIZES[1:])]


def mlp_np(batch):
    """The MLP 784-1024-1024-1024-10 (ReLU, softmax) in numpy, float32."""
    def setup():
        params = _mlp_params()
        x = _rand(batch, MLP_SIZES[0], seed=3)

        def forward():
            h = x
            for k, (w, b) in enumerate(params):
                h = h @ w + b
                if k < len(params) - 1:
                    h = np.maximum(h, 0)
            e = np.exp(h - h.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return forward
    return setup


def mlp_c(batch, reps):
    """The same MLP traced with jag, saved, and timed by ./jagrun --repeat."""
    import jag
    os.makedirs(WORK, exist_ok=True)
    params = _mlp_params()

    def mlp(x):
        h = x
        for k, (w, b) in enumerate(params):
            h = jag.matmul(h, w) + b
            if k < len(params) - 1:
                h = jag.relu(h)
        return jag.softmax(h, axis=-1)
    x = _rand(batch, MLP_SIZES[0], seed=3)
    graph = jag.trace(mlp, x)
    model = os.path.join(WORK, f"mlp{batch}.json")
    inputs = os.path.join(WORK, f"mlp{batch}-input.bin")
    graph.save(model)
    jag.save_tensors(inputs, {graph.inputs[0].name: x})
    return [JAGRUN, model, inputs, "--repeat", str(reps)]


BENCHES = [
    Bench("matmul float32 1024x1024x1024", 2 * 1024**3, matmul_np(1024, 1024, 1024, np.float32),
          c_gemm("matmul", "float32", 1024, 1024, 1024)),
    Bench("matmul float64 1024x1024x1024", 2 * 1024**3, matmul_np(1024, 1024, 1024, np.float64),
          c_gemm("matmul", "float64", 1024, 1024, 1024), reps=9),
    Bench("linear float32 x[64,1024] w[1024,1024]", 2 * 64 * 1024 * 1024, linear_np(64, 1024, 1024, np.float32),
          c_gemm("linear", "float32", 64, 1024, 1024, reps=41), reps=41),
    Bench("linear float32 x[1,1024] w[1024,1024]", 2 * 1024 * 1024, linear_np(1, 1024, 1024, np.float32),
          c_gemm("linear", "float32", 1, 1024, 1024, reps=201), reps=201),
    Bench("MLP 784-1024-1024-1024-10 batch 1", 2 * sum(a * b for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:])),
          mlp_np(1), lambda: mlp_c(1, 201), reps=201),
    Bench("MLP 784-1024-1024-1024-10 batch 64", 2 * 64 * sum(a * b for a, b in zip(MLP_SIZES[:-1], MLP_SIZES[1:])),
          mlp_np(64), lambda: mlp_c(64, 41), reps=41),
]


def main(argv):
    filters = argv[1:]
    chosen = [b for b in BENCHES if not filters or any(f in b.name for f in filters)]
    if not os.path.exists(BENCH_MATMUL):
        sys.exit(f"{BENCH_MATMUL} is missing: run `make -C runtimes/c bench` (or `make build` in {HERE})")
    print(f"numpy {np.__version__}, single thread (OPENBLAS_NUM_THREADS=1); median of N runs")
    head = f"{'benchmark':<42} {'numpy ms':>10} {'C ms':>10} {'numpy GF/s':>11} {'C GF/s':>9} {'C/numpy':>8}"
    print(head)
    print("-" * len(head))
    for b in chosen:
        np_ms = median_ms(b.numpy_setup(), b.reps)
        c_ms = run_c(b.c_cmd() if callable(b.c_cmd) else b.c_cmd)
        gf = (lambda ms: f"{b.flops / (ms * 1e-3) / 1e9:.1f}") if b.flops else (lambda ms: "-")
        print(f"{b.name:<42} {np_ms:>10.3f} {c_ms:>10.3f} {gf(np_ms):>11} {gf(c_ms):>9} {np_ms / c_ms:>8.2f}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv)

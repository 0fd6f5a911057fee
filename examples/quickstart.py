"""Quickstart: trace f(x, w) = (x + w) * x**2, save it as a JAG file, load it back, run it.

Run with `.venv/bin/python examples/quickstart.py`. Writes
out/quickstart.json and out/quickstart_vec.json next to this script.
"""
from pathlib import Path

import numpy as np

import jag

OUT = Path(__file__).resolve().parent / "out"


def f(x, w):
    """The zkynet example model: f(x, w) = (x + w) * x^2, x an input, w a parameter."""
    return (x + w) * x ** 2


def main():
    OUT.mkdir(exist_ok=True)

    # 1. Trace at x = 3, w = 1 (int64 scalars, as numpy makes them) and run the graph.
    graph = jag.trace(f, 3, 1)
    print(graph)
    print("f(3, 1) =", graph(3, 1))

    # 2. Save as a versioned JSON file, load it back anywhere, run it again.
    graph.save(OUT / "quickstart.json")
    loaded = jag.load(OUT / "quickstart.json")
    result = loaded(3, 1)
    print(f"loaded {OUT / 'quickstart.json'}: f(3, 1) =", result)
    assert result == 36

    # 3. A symbolic batch dim N: one file for vectors of any length.
    vec = jag.trace(f, np.array([3, 4, 5]), 1, symbolic={"x": ["N"]})
    vec.save(OUT / "quickstart_vec.json")
    out = jag.load(OUT / "quickstart_vec.json")(np.array([3, 4, 5]), 1)
    print("f([3, 4, 5], 1) =", out)
    assert out.tolist() == [36, 80, 150]
    print("f([1, 2], 1) =", jag.load(OUT / "quickstart_vec.json")(np.array([1, 2]), 1))

    # 4. Or let @jag.function trace on first call per signature and cache the graph.
    f_jit = jag.function(f)
    print("jag.function:", f_jit(3, 1), f_jit(np.array([3, 4, 5]), 1), f"({len(f_jit.cache)} graphs cached)")


if __name__ == "__main__":
    main()

"""The JS runtime (runtimes/js) against the numpy reference.

Every case of test_ops.CASES (every op, every allowed dtype, broadcasting, rank 0,
zero-size dims, edge values), every composite through its core lowering, and every
spec example is saved as a model with its inputs embedded (metadata["jag.test"]); ONE
Node process (runtimes/js/tools/run_cases.js) runs them all, and each case compares
the JS outputs with the independent expected values within the op's tolerance class.
Needs Node >= 18 and `npm ci` in runtimes/js (the top-level `make test` does both).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import jag
from test_ops import CASES, EXAMPLES, _example_array, check, traced

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "runtimes" / "js"
OPS = jag.spec.OPS

LOWERED = [c for c in CASES if OPS[c.op].kind == "composite"]
RUNS = ([("op", c) for c in CASES] + [("lowered", c) for c in LOWERED]
        + [("example", (name, k, ex)) for name, k, ex in EXAMPLES])


def _case_graph(kind, c):
    if kind == "example":
        name, k, ex = c
        inputs = [_example_array(t) for t in ex["inputs"]]
        return traced(name, inputs, ex.get("attrs", {})), inputs, _example_array(ex["outputs"][0]), name
    g = traced(c.op, c.inputs, c.attrs)
    return (g.lower() if kind == "lowered" else g), c.inputs, c.expected, c.op


@pytest.fixture(scope="module")
def js_results(tmp_path_factory):
    """Write every case, run them all in one node process; {index: (out path | error text)}."""
    node = shutil.which("node")
    assert node, "Node.js is not installed (make test installs it)"
    assert (JS / "node_modules").exists(), "run `npm ci` in runtimes/js (make test does)"
    root = tmp_path_factory.mktemp("js-cases")
    paths = []
    for i, (kind, c) in enumerate(RUNS):
        g, inputs, _, _ = _case_graph(kind, c)
        g.attach_test_data(*inputs)
        folder = root / str(i)
        folder.mkdir()
        g.save(folder / "model.json")
        paths.append(str(folder / "model.json"))
    (root / "list.txt").write_text("\n".join(paths) + "\n")
    r = subprocess.run([node, str(JS / "tools" / "run_cases.js"), str(root / "list.txt")], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.parametrize("i", range(len(RUNS)),
                         ids=[f"{k}-{c.id if k != 'example' else f'{c[0]}-{c[1]}'}" for k, c in RUNS])
def test_js_case(js_results, i):
    kind, c = RUNS[i]
    _, _, expected, op = _case_graph(kind, c) if kind == "example" else (None, None, c.expected, c.op)
    folder = js_results / str(i)
    err = folder / "error.txt"
    assert not err.exists(), err.read_text()
    got = jag.load_tensors(folder / "out.bin")
    (out,) = got.values()
    check(out, expected, op, f"JS {kind} {i}")


# ====================================================================== bad models: same code as Python

from conformance.error_cases import CORRUPTIONS, SIDECAR_CORRUPTIONS  # noqa: E402

BAD = [("inline", n) for n in sorted(CORRUPTIONS)] + [("sidecar", n) for n in sorted(SIDECAR_CORRUPTIONS)]


@pytest.fixture(scope="module")
def js_bad_results(tmp_path_factory):
    """Each corruption of a small model (with embedded test inputs), run by one node process."""
    node = shutil.which("node")
    root = tmp_path_factory.mktemp("js-bad")
    w = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 100
    g = jag.trace(lambda x: jag.matmul(x, w) + np.float32(1), np.ones((2, 64), np.float32), symbolic={"x": ("N", None)})
    g.attach_test_data(np.ones((2, 64), np.float32))
    paths, python_codes = [], []
    for i, (kind, name) in enumerate(BAD):
        folder = root / str(i)
        folder.mkdir()
        path = folder / "model.json"
        g.save(path, inline_limit=0 if kind == "sidecar" else 4096)
        corrupt, _ = (SIDECAR_CORRUPTIONS if kind == "sidecar" else CORRUPTIONS)[name]
        corrupt(path)
        paths.append(str(path))
        try:
            jag.load(path).run({"x": np.ones((2, 64), np.float32)})
            python_codes.append("OK")
        except jag.JagError as e:
            python_codes.append(e.code)
    (root / "list.txt").write_text("\n".join(paths) + "\n")
    r = subprocess.run([node, str(JS / "tools" / "run_cases.js"), str(root / "list.txt")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return root, python_codes


@pytest.mark.parametrize("i", range(len(BAD)), ids=[f"{k}-{n}" for k, n in BAD])
def test_js_bad_model_same_code(js_bad_results, i):
    root, python_codes = js_bad_results
    kind, name = BAD[i]
    expected = (SIDECAR_CORRUPTIONS if kind == "sidecar" else CORRUPTIONS)[name][1]
    err = root / str(i) / "error.txt"
    js_code = err.read_text().split(" ", 1)[0] if err.exists() else "OK"
    assert [python_codes[i], js_code] == [expected, expected], err.read_text() if err.exists() else ""

"""Compatibility is proven by CI: every released format version's example files load and reproduce
their expected outputs, forever (spec/README.md, 'Versioning'). Never edit spec/examples/v*/."""
import json
from pathlib import Path

import numpy as np
import pytest

import jag

EXAMPLES = Path(__file__).resolve().parents[2] / "spec" / "examples"
CASES = sorted(EXAMPLES.glob("v*/*/model.json"))


def _array(t):
    return np.array(t["data"], dtype=t["dtype"]).reshape(t["shape"])


def test_every_released_version_has_examples():
    versions = {p.parent.parent.name for p in CASES}
    assert f"v{jag.FORMAT_VERSION}" in versions
    assert len(CASES) >= 3


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.parent.name}/{p.parent.name}" for p in CASES])
def test_example_loads_and_reproduces_expected_outputs(path):
    graph = jag.load(path)
    expected = json.loads((path.parent / "expected.json").read_text())
    assert expected["cases"]
    for case in expected["cases"]:
        out = graph.run({k: _array(v) for k, v in case["inputs"].items()})
        for name, t in case["outputs"].items():
            want = _array(t)
            assert out[name].dtype == want.dtype and out[name].shape == want.shape
            np.testing.assert_array_equal(out[name], want)
    # the lowered graph (core ops only) computes the same
    low = graph.lower()
    for case in expected["cases"]:
        out = low.run({k: _array(v) for k, v in case["inputs"].items()})
        for name, t in case["outputs"].items():
            np.testing.assert_array_equal(out[name], _array(t))

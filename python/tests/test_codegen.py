"""What every codegen target shares (jag/codegen/__init__.py): discovery, op coverage of each
target's table, the CLI, and that `import jag` imports no framework. Each target's own
tests (generated code vs the reference) are in test_codegen_<target>.py; the conformance
suite runs the generated code of every target on every case."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import jag
from jag import codegen


def test_targets_are_discovered():
    assert {"torch", "jax", "tf"} <= set(codegen.TARGETS)
    with pytest.raises(ValueError, match="available"):
        codegen.target_module("caffe")


@pytest.mark.parametrize("target", codegen.TARGETS)
def test_every_op_has_a_template_or_a_reason(target):
    mod = codegen.target_module(target)
    for op in jag.spec.OPS:
        if op in mod.UNSUPPORTED:
            assert isinstance(mod.UNSUPPORTED[op], str) and mod.UNSUPPORTED[op].strip(), op
        else:
            assert callable(mod.TEMPLATES.get(op)), f"{target}: no template for {op} and no reason"
    assert not set(mod.TEMPLATES) - set(jag.spec.OPS), "templates for ops the spec lacks"


def test_import_jag_imports_no_framework():
    code = "import sys, jag; jag.trace(lambda x: x + 1, 1.0).to_json(); " \
           "print([m for m in ('torch', 'jax', 'tensorflow') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_identifiers():
    taken = {}
    assert codegen.identifier("params.w1", taken) == "params_w1"
    assert codegen.identifier("params:w1", taken) == "params_w1_2"       # unique
    assert codegen.identifier("1x", taken) == "v_1x"
    assert codegen.identifier("lambda", taken) == "lambda_"


@pytest.mark.parametrize("target", codegen.TARGETS)
def test_cli_writes_source(tmp_path, target):
    g = jag.trace(lambda x, w: jag.softmax(jag.matmul(x, w), axis=-1), np.ones((2, 3), np.float32),
                  np.ones((3, 4), np.float32))
    g.save(tmp_path / "m.json")
    out = tmp_path / f"m_{target}.py"
    r = subprocess.run([sys.executable, "-m", "jag.cli", "codegen", "--target", target, str(tmp_path / "m.json"),
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    src = out.read_text()
    compile(src, str(out), "exec")
    assert "load_params" in src and "INPUTS" in src and "OUTPUTS" in src
    r = subprocess.run([sys.executable, "-m", "jag.cli", "codegen", "--target", "nope", str(tmp_path / "m.json")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "available" in r.stderr

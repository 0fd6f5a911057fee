"""The `jag` command line: info, validate, print, run, lower; exit codes and one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

import jag
from jag.cli import main


@pytest.fixture
def model(tmp_path):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    g = jag.trace(lambda x: jag.softmax(x @ w, axis=-1), np.ones((2, 3), np.float32), symbolic={"x": ("N", None)})
    path = tmp_path / "model.json"
    g.save(path)
    return g, path


def test_info_validate_print(model, capsys):
    g, path = model
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "x: float32[N,3]" in out and "softmax x1" in out and "opset 1" in out
    assert main(["validate", str(path)]) == 0
    assert "valid JAG 1.0" in capsys.readouterr().out
    assert main(["print", str(path)]) == 0
    assert capsys.readouterr().out.strip() == str(jag.load(path)).strip()


def test_run_with_safetensors(model, tmp_path, capsys):
    g, path = model
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    jag.save_tensors(tmp_path / "input.bin", {"x": x})
    assert main(["run", str(path), str(tmp_path / "input.bin"), "-o", str(tmp_path / "output.bin")]) == 0
    out = jag.load_tensors(tmp_path / "output.bin")
    np.testing.assert_array_equal(out[g.outputs[0].name], g(x))
    assert main(["run", str(path), str(tmp_path / "input.bin")]) == 0
    assert "float32[5, 4]" in capsys.readouterr().out
    assert main(["run", str(path)]) == 2                       # no inputs given: lists what is needed
    assert "x: float32[N,3]" in capsys.readouterr().err


def test_lower(model, tmp_path):
    g, path = model
    assert main(["lower", str(path), "-o", str(tmp_path / "core.json")]) == 0
    low = jag.load(tmp_path / "core.json")
    assert {n.op for n in low.nodes} <= set(jag.spec.CORE_OPS)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(low(x), g(x), rtol=1e-6)


def test_errors_are_one_line_each_with_exit_1(model, tmp_path, capsys):
    _, path = model
    doc = json.loads(path.read_text())
    doc["nodes"][0]["op"] = "matmull"
    doc["outputs"][0]["dtype"] = "int32"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert main(["validate", str(tmp_path / "bad.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("[E_UNKNOWN_OP]") and "bad.json" in err[0] and "node 0" in err[0]
    assert main(["run", str(path), str(tmp_path / "missing.bin")]) == 1
    assert capsys.readouterr().err.startswith("[E_FILE]")
    x = {"x": np.ones((2, 3), np.float64)}
    jag.save_tensors(tmp_path / "in.bin", x)
    assert main(["run", str(path), str(tmp_path / "in.bin")]) == 1
    assert "[E_INPUT]" in capsys.readouterr().err


def test_console_script_is_installed(model):
    _, path = model
    exe = [sys.executable, "-m", "jag.cli"]
    r = subprocess.run(exe + ["validate", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(exe + ["nonsense"], capture_output=True, text=True)
    assert r.returncode == 2

"""The C runtime (runtimes/c) through the cffi binding and ./jagrun: what is specific to it.

Op semantics and error codes (every op case, every ops.json example, every composite's
lowering, the models and the bad-model table) are checked against Python by the
conformance suite (`python -m conformance run -r c`; make test runs it, and again under
AddressSanitizer + UndefinedBehaviorSanitizer). Here:

- every model of spec/examples/ through the C loader (sidecars included);
- symbolic dims re-bound in one loaded model; the memory plan; the random op bit-identical;
  E_INDEX with node context; input errors; the binding's missing-library message;
- 450 fuzzed model texts (typed errors only, never a crash);
- ./jagrun: outputs, -o bundle, --check, --mem, --repeat, and its exit codes.

The library must be built (``make -C runtimes/c``; the top-level ``make test`` does it).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import jag
from jag import errors as E
from jag.runtimes import c as cjag

from test_ops import _example_array
# the bad-model table (name -> (corrupt(model_json_path), code)) of the conformance corpus
from conformance.error_cases import CORRUPTIONS

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec"
JAGRUN = Path(os.environ.get("JAG_JAGRUN", ROOT / "runtimes" / "c" / "jagrun"))
OPS = jag.spec.OPS


def test_library_is_built():
    assert cjag.library_path().exists(), "build the C runtime first: make -C runtimes/c"


def test_binding_matches_the_header():
    """The cffi declarations repeat jag.h's layout: its dims limit and dtype order."""
    header = (ROOT / "runtimes" / "c" / "include" / "jag.h").read_text()
    assert f"#define JAG_MAX_DIMS {cjag.MAX_DIMS}\n" in header
    for i, name in enumerate(cjag.DTYPES):
        assert f"JAG_DTYPE_{name.upper():<8} = {i}," in header


# ====================================================================== the spec's example models
# (every op case, every ops.json example and every composite's lowering run on C in the
# conformance suite: `python -m conformance run -r c`, also under the sanitizers in make test)

@pytest.mark.parametrize("folder", sorted(p for p in (SPEC / "examples").glob("v*/*") if p.is_dir()),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_spec_example_models(folder):
    expected = json.loads((folder / "expected.json").read_text())
    m = cjag.Model.from_file(folder / "model.json")
    g = jag.load(folder / "model.json")
    for case in expected["cases"]:
        args = [_example_array(case["inputs"][vi.name]) for vi in g.inputs]
        outs = m.run(args)
        for vi, got in zip(g.outputs, outs):
            want = _example_array(case["outputs"][vi.name])
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ====================================================================== models and run-time behaviour

def test_symbolic_batch_rebinds():
    """One loaded model, two batch sizes: prepare re-runs when an input shape changes."""
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    g = jag.trace(lambda x: jag.softmax(jag.matmul(x, w), axis=-1), np.ones((2, 3), np.float32), symbolic={"x": ("N", None)})
    m = cjag.model_for(g)
    for n in (5, 1, 5, 0, 33):
        x = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
        (got,) = m.run([x])
        np.testing.assert_allclose(got, g(x), rtol=1e-5, atol=1e-6)


def test_mlp_memory_is_planned_by_liveness():
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((64, 64)).astype(np.float32) for _ in range(6)]

    def mlp(x):
        for w in ws:
            x = jag.relu(jag.matmul(x, w))
        return x
    x = rng.standard_normal((512, 64)).astype(np.float32)
    g = jag.trace(mlp, x)
    m = cjag.model_for(g)
    (got,) = m.run([x])
    np.testing.assert_allclose(got, g(x), rtol=1e-4, atol=1e-4)
    arena, total = m.memory()
    size = 512 * 64 * 4
    assert total == 12 * size                  # 12 intermediates of [512, 64] float32
    # at most three live at once (a node's input and output, and the graph output), plus
    # the matmul's packing scratch: the arena is far below the sum
    assert 2 * size <= arena <= 3 * size + 256 * 1024


def test_random_bit_identical():
    for key in (0, 1, -1, 2 ** 40 + 7, -(2 ** 63)):
        for dt in ("float32", "float64"):
            g = jag.trace(lambda k: jag.random_uniform(k, shape=[3, 5], dtype=dt), np.int64(key))
            got = g.execute(np.int64(key), backend="c")
            assert got.tobytes() == g(np.int64(key)).tobytes()


@pytest.mark.parametrize("idx", [[0, 3], [-4, 5], [4]])
def test_gather_index_error(idx):
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    g = jag.trace(lambda t, i: jag.gather(t, i, axis=0), x, np.array([0, 1], np.int64), symbolic={"i": ("K",)})
    i = np.array(idx, np.int64)
    if all(-4 <= v < 4 for v in idx):
        np.testing.assert_array_equal(g.execute(x, i, backend="c"), g(x, i))
        return
    with pytest.raises(E.IndexOutOfRangeError) as info:
        g.execute(x, i, backend="c")
    assert info.value.code == "E_INDEX" and info.value.op == "gather" and info.value.node == 0


def test_input_errors():
    g = jag.trace(lambda x: x * 2, np.ones((2, 3), np.float32), symbolic={"x": ("N", None)})
    m = cjag.model_for(g)
    with pytest.raises(E.InputError):
        m.run([np.ones((2, 4), np.float32)])        # static dim 3 violated
    with pytest.raises(E.InputError):
        m.run([np.ones((2, 3), np.float64)])        # dtype
    with pytest.raises(E.InputError):
        m.run([np.ones((3,), np.float32)])          # rank
    with pytest.raises(E.InputError):
        m.run([])                                   # count
    np.testing.assert_array_equal(m.run([np.ones((4, 3), np.float32)])[0], np.full((4, 3), 2, np.float32))


def test_missing_library_message(monkeypatch, tmp_path):
    monkeypatch.setattr(cjag, "_lib", None)
    monkeypatch.setenv("JAG_LIBJAG", str(tmp_path / "nope.so"))
    with pytest.raises(E.FileError, match="make -C runtimes/c"):
        cjag.Model('{"format": "jag"}')


# ====================================================================== bad models: same code as Python

def _linear(tmp_path, inline_limit=4096):
    w = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 100
    g = jag.trace(lambda x: jag.matmul(x, w) + np.float32(1), np.ones((2, 64), np.float32), symbolic={"x": ("N", None)})
    path = tmp_path / "model.json"
    g.save(path, inline_limit=inline_limit)
    return path


def test_element_count_overflow():
    g = jag.trace(lambda x: jag.broadcast_to(x, [2, 3]), np.float32(1))
    doc = json.loads(g.to_json())
    doc["nodes"][0]["attrs"]["shape"] = [2 ** 40, 2 ** 40]
    doc["outputs"][0]["shape"] = [2 ** 40, 2 ** 40]
    with pytest.raises(E.ShapeError):
        jag.loads(json.dumps(doc))
    with pytest.raises(E.ShapeError):
        cjag.Model(json.dumps(doc))


def test_fuzzed_models_never_crash():
    """Truncations and random byte edits of a valid model: the C loader returns a typed error
    or a model that runs; it never crashes (the sanitizer run of this file checks memory)."""
    g = jag.trace(lambda x, i: jag.softmax(jag.gather(x, i, axis=0) * np.float32(2), axis=-1),
                  np.ones((4, 3), np.float32), np.array([0, 2], np.int64), symbolic={"i": ("K",)})
    text = g.to_json().encode()
    rng = np.random.default_rng(7)
    variants = [text[:n] for n in range(0, len(text), 7)]
    for _ in range(400):
        b = bytearray(text)
        for _ in range(rng.integers(1, 4)):
            k = int(rng.integers(len(b)))
            b[k] = int(rng.choice([ord(c) for c in '{}[]",:0123456789-eE. \\nax']) if rng.random() < 0.7 else rng.integers(256))
        variants.append(bytes(b))
    outcomes = {"ok": 0}
    for v in variants:
        try:
            m = cjag.Model(v.decode("utf-8", errors="replace"))
        except E.JagError as e:
            outcomes[e.code] = outcomes.get(e.code, 0) + 1
            continue
        outcomes["ok"] += 1
        try:
            m.run([np.ones((4, 3), np.float32), np.array([1], np.int64)])
        except E.JagError:
            pass
    assert outcomes["ok"] >= 1 and len(outcomes) >= 5, outcomes


# ====================================================================== ./jagrun

def _bundle(path, tensors):
    jag.save_tensors(path, tensors)
    return path


@pytest.fixture
def mlp_model(tmp_path):
    rng = np.random.default_rng(1)
    w1 = rng.standard_normal((4, 8)).astype(np.float32)
    w2 = rng.standard_normal((8, 3)).astype(np.float32)
    g = jag.trace(lambda x: jag.softmax(jag.matmul(jag.relu(jag.matmul(x, w1)), w2), axis=-1), np.ones((2, 4), np.float32),
                  symbolic={"x": ("N", None)})
    x = rng.standard_normal((5, 4)).astype(np.float32)
    g.attach_test_data(x)
    path = tmp_path / "model.json"
    g.save(path, inline_limit=0)
    return g, path, x


def jagrun(*args):
    """Run ./jagrun (or $JAG_JAGRUN: the sanitizer build, whose leak checker runs here)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    return subprocess.run([str(JAGRUN), *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def test_jagrun_runs_and_writes_outputs(mlp_model, tmp_path):
    g, path, x = mlp_model
    inp = _bundle(tmp_path / "input.bin", {"x": x})
    r = jagrun(path, inp, "-o", tmp_path / "out.bin", "--mem", "--repeat", "3")
    assert r.returncode == 0, r.stderr
    name = g.outputs[0].name
    assert f"{name}: float32[5,3] =" in r.stdout
    assert "memory: arena" in r.stdout and "time: median" in r.stdout
    out = jag.load_tensors(tmp_path / "out.bin")
    np.testing.assert_allclose(out[name], g(x), rtol=1e-5, atol=1e-6)


def test_jagrun_check(mlp_model):
    _, path, _ = mlp_model
    r = jagrun(path, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "check: all outputs agree" in r.stdout


def test_jagrun_without_input(mlp_model):
    _, path, _ = mlp_model
    r = jagrun(path)                      # embedded test data: run and checked
    assert r.returncode == 0 and "check: all outputs agree" in r.stdout, r.stdout + r.stderr
    r = jagrun(SPEC / "examples" / "v1.0" / "mlp" / "model.json")   # no test data: lists the inputs
    assert r.returncode == 4 and "x: float32[N,3]" in r.stderr


def test_jagrun_check_detects_a_wrong_expectation(mlp_model):
    g, path, x = mlp_model
    doc = json.loads(path.read_text())
    want = doc["metadata"]["jag.test"]["outputs"][0]
    arr = np.frombuffer(base64.b64decode(want["base64"]), np.float32).copy()
    arr[0] += 0.5
    want["base64"] = base64.b64encode(arr.tobytes()).decode()
    path.write_text(json.dumps(doc))
    r = jagrun(path, "--check")
    assert r.returncode == 6 and "MISMATCH" in r.stdout


@pytest.mark.parametrize("args,code,text", [
    ([], 2, "usage"),
    (["--repeat", "0", "M"], 2, "--repeat"),
    (["M", "--bogus"], 2, "unknown"),
    (["missing.json"], 3, "[E_FILE]"),
    (["M", "missing.bin"], 4, "[E_FILE]"),
    (["M", "BAD_DTYPE"], 4, "[E_INPUT]"),
    (["M", "EXTRA"], 4, "[E_INPUT]"),
    (["M", "MISSING"], 4, "[E_INPUT]"),
    (["M", "BAD_SHAPE"], 4, "[E_INPUT]"),
    (["M", "NOT_SAFETENSORS"], 4, "[E_TENSOR_DATA]"),
])
def test_jagrun_exit_codes(mlp_model, tmp_path, args, code, text):
    _, path, x = mlp_model
    files = {
        "M": path,
        "BAD_DTYPE": _bundle(tmp_path / "bad.bin", {"x": x.astype(np.float64)}),
        "EXTRA": _bundle(tmp_path / "extra.bin", {"x": x, "y": x}),
        "MISSING": _bundle(tmp_path / "missing.bin", {}),
        "BAD_SHAPE": _bundle(tmp_path / "shape.bin", {"x": x[:, :3]}),
        "NOT_SAFETENSORS": tmp_path / "junk.bin",
    }
    (tmp_path / "junk.bin").write_bytes(b"\xff" * 20)
    r = jagrun(*[files.get(a, a) for a in args])
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert text in (r.stderr + r.stdout)
    if code != 2:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_jagrun_bad_model(tmp_path):
    path = _linear(tmp_path)
    CORRUPTIONS["unknown-op"][0](path)
    r = jagrun(path)
    assert r.returncode == 3 and r.stderr.startswith("jagrun: [E_UNKNOWN_OP]")


def test_jagrun_index_error_is_a_run_failure(tmp_path):
    x = np.arange(8, dtype=np.float32)
    g = jag.trace(lambda t, i: jag.gather(t, i, axis=0), x, np.array([0], np.int64))
    path = tmp_path / "model.json"
    g.save(path)
    inp = _bundle(tmp_path / "in.bin", {g.inputs[0].name: x, g.inputs[1].name: np.array([9], np.int64)})
    r = jagrun(path, inp)
    assert r.returncode == 5 and "[E_INDEX]" in r.stderr

"""The conformance corpus generator (conformance/generate.py, cases.py, error_cases.py).

Fast checks on filtered subsets: the folders follow conformance/FORMAT.md, generation is
deterministic to the byte, every op of spec/ops.json has cases, and every error case fails
on the Python reference with exactly its code. (The whole corpus is generated and run on
every runtime by ``python -m conformance run`` / ``make conformance``.)
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import jag
from conformance import cases as C
from conformance import error_cases
from conformance.generate import main, matches

OPS = jag.spec.OPS
CASE_KEYS = ["id", "kind", "op", "ops", "dtypes", "tolerance", "description"]
ID = re.compile(r"^[A-Za-z0-9._-]+$")

# a small cross-section: one-node ops (with a sidecar variant), lowerings, symbolic and error cases
SUBSET = ["op.matmul.float32-*", "op.where.bool-*", "lowered.softmax.float64*", "sym.mlp.*", "sym.reshape-5.*",
          "model.random", "error.E_INDEX.*", "error.E_FILE.*", "error.E_INPUT.*", "error.E_JSON.json-truncated"]


def _generate(out: Path, patterns=SUBSET) -> list:
    argv = ["--out", str(out)]
    for p in patterns:
        argv += ["-k", p]
    assert main(argv) == 0
    return sorted(p.name for p in out.iterdir())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("conformance") / "cases"
    _generate(out)
    return out


def test_ids_are_unique_safe_and_filtered():
    entries = C.entries()
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    assert all(i.split(".")[0] in ("op", "lowered", "sym", "model", "error") for i in ids)
    assert matches("op.add.float32-3x1_1x4", ["op.add.*"]) and matches("op.add.float32-3x1_1x4", ["3x1"])
    assert not matches("op.add.float32-3x1_1x4", ["lowered.*"])


def test_every_spec_op_has_cases():
    entries = C.entries()
    assert {e.op for e in entries if e.id.startswith("op.")} == set(OPS)
    composites = {n for n, o in OPS.items() if o.kind == "composite"}
    assert {e.op for e in entries if e.id.startswith("lowered.")} == composites
    assert {f"model.{m}" for m in ("mlp", "cnn", "transformer", "random")} <= set(e.id for e in entries)


def test_folders_follow_the_format(corpus):
    folders = sorted(p for p in corpus.iterdir())
    kinds = {json.loads((f / "case.json").read_text())["kind"] for f in folders}
    assert kinds == {"op", "lowered", "model", "error"}
    assert any(f.name.endswith(".sidecar") for f in folders)
    for f in folders:
        meta = json.loads((f / "case.json").read_text())
        assert list(meta) == CASE_KEYS, f.name
        assert meta["id"] == f.name and ID.match(f.name)
        assert meta["ops"] and set(meta["ops"]) <= set(OPS) and set(meta["dtypes"]) <= set(jag.spec.DTYPE_NAMES)
        assert meta["op"] is None or meta["op"] in OPS
        assert meta["description"]
        files = {p.name for p in f.iterdir()}
        inputs = jag.load_tensors(f / "inputs.safetensors")
        if meta["kind"] == "error":
            assert files - {"model.bin"} == {"model.json", "inputs.safetensors", "error", "case.json"}, f.name
            assert (f / "error").read_text() == meta["id"].split(".")[1] + "\n"
            assert meta["tolerance"] == {}
            continue
        assert files - {"model.bin"} == {"model.json", "inputs.safetensors", "expected.safetensors", "case.json"}, f.name
        doc = json.loads((f / "model.json").read_text())
        assert ("model.bin" in files) == ("files" in doc)
        assert set(inputs) == {vi["name"] for vi in doc["inputs"]}
        expected = jag.load_tensors(f / "expected.safetensors")
        assert set(expected) == {vo["name"] for vo in doc["outputs"]} == set(meta["tolerance"])
        for name, a in expected.items():
            tol = meta["tolerance"][name]
            assert set(tol) == {"rtol", "atol"}
            if a.dtype.kind != "f" or (meta["op"] and OPS[meta["op"]].tolerance == "exact"):
                assert tol == {"rtol": 0, "atol": 0}, (f.name, name)
        if meta["kind"] == "op" and not f.name.startswith("sym."):
            assert [n["op"] for n in doc["nodes"]] == [meta["op"]]
        if meta["kind"] == "lowered":
            assert all(OPS[n["op"]].kind == "core" for n in doc["nodes"])


def test_symbolic_cases_have_two_bindings(corpus):
    for name in ("sym.mlp", "sym.reshape-5"):
        a, b = (json.loads((corpus / f"{name}.N{n}" / "model.json").read_text()) for n in
                (C.SYM_BINDINGS if name == "sym.mlp" else C.SYM_OP_BINDINGS))
        assert a["inputs"] == b["inputs"] and any(isinstance(d, str) for vi in a["inputs"] for d in vi["shape"])


def test_generation_is_deterministic(corpus, tmp_path):
    names = _generate(tmp_path / "again")
    assert names == sorted(p.name for p in corpus.iterdir())
    for name in names:
        for f in sorted((corpus / name).iterdir()):
            assert f.read_bytes() == (tmp_path / "again" / name / f.name).read_bytes(), f"{name}/{f.name}"


def test_error_cases_cover_every_file_code():
    codes = {c["code"] for c in jag.spec.ERRORS_DOC["codes"]} - {"E_INTERNAL"}
    assert {e.code for e in error_cases.all_cases().values()} == codes


def test_every_error_case_gives_its_code_on_python(tmp_path):
    ids = _generate(tmp_path / "errors", ["error.*"])
    assert len(ids) == len(error_cases.all_cases())
    for cid in ids:
        folder = tmp_path / "errors" / cid
        code = (folder / "error").read_text().strip()
        assert error_cases.python_code(folder / "model.json", jag.load_tensors(folder / "inputs.safetensors")) == code, cid


def test_a_wrong_reference_is_never_written(tmp_path, monkeypatch):
    """The generator checks the reference against test_ops' independent value before writing."""
    import test_ops
    case = next(c for c in test_ops.CASES if c.op == "add" and c.expected.dtype == np.float32)
    bad = test_ops.Case(case.op, case.inputs, case.attrs, case.expected + np.float32(1), case.id)
    with pytest.raises(AssertionError):
        C.build_op_case(bad, "op.add.wrong")


def test_model_tolerance():
    g = jag.trace(lambda x: jag.apply("softmax", jag.apply("matmul", x, np.ones((3, 3), np.float32)), axis=-1),
                  np.ones((2, 3), np.float32))
    (out,) = [vo.name for vo in g.outputs]
    rtol, atol = jag.spec.tolerance("accumulate", "float32")
    tol = C.model_tolerance(g, out, "float32")
    assert tol == pytest.approx({"rtol": rtol * C.MODEL_TOLERANCE_FACTOR, "atol": atol * C.MODEL_TOLERANCE_FACTOR})
    g = jag.trace(lambda x: jag.apply("transpose", x), np.ones((2, 3), np.float32))
    assert C.model_tolerance(g, g.outputs[0].name, "float32") == {"rtol": 0.0, "atol": 0.0}

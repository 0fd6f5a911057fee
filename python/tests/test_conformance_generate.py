"""The conformance corpus generator (conformance/generate.py, cases.py, error_cases.py).

Fast checks on filtered subsets: the folders follow conformance/FORMAT.md, generation is
deterministic to the byte, every op of spec/ops.json has cases (and every differentiable op
gradient cases in both float dtypes), every error case fails on the Python reference with
exactly its code, a wrong VJP rule never becomes a gradient case's truth, and gradient and
training-step cases hold the values of independent numpy computations. (The whole corpus is
generated and run on every runtime by ``python -m conformance run`` / ``make conformance``.)
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import jag
from conformance import cases as C
from conformance import error_cases
from conformance.generate import main, matches
from jag.ops import VJPS

OPS = jag.spec.OPS
CASE_KEYS = ["id", "kind", "op", "ops", "dtypes", "tolerance", "description"]
ID = re.compile(r"^[A-Za-z0-9._-]+$")

# a small cross-section: one-node ops (with a sidecar variant), lowerings, symbolic, gradient, training-step
# and error cases
SUBSET = ["op.matmul.float32-*", "op.where.bool-*", "lowered.softmax.float64*", "sym.mlp.*", "sym.reshape-5.*",
          "model.random", "grad.matmul.*", "grad.gather.*", "grad.concat.float32-*", "grad.cast.*", "train.mlp",
          "error.E_INDEX.*", "error.E_FILE.*", "error.E_INPUT.*", "error.E_JSON.json-truncated"]
KINDS = ("op", "lowered", "sym", "model", "train", "grad", "error")


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
    assert all(i.split(".")[0] in KINDS for i in ids)
    assert matches("op.add.float32-3x1_1x4", ["op.add.*"]) and matches("op.add.float32-3x1_1x4", ["3x1"])
    assert not matches("op.add.float32-3x1_1x4", ["lowered.*"])


def test_every_spec_op_has_cases():
    entries = C.entries()
    assert {e.op for e in entries if e.id.startswith("op.")} == set(OPS)
    composites = {n for n, o in OPS.items() if o.kind == "composite"}
    assert {e.op for e in entries if e.id.startswith("lowered.")} == composites
    assert {f"model.{m}" for m in ("mlp", "cnn", "transformer", "random")} <= set(e.id for e in entries)
    assert {"train.mlp", "train.cnn"} <= set(e.id for e in entries)


def test_every_differentiable_op_has_gradient_cases_in_both_float_dtypes():
    differentiable = {n for n, o in OPS.items() if o.differentiable}
    grads = [e for e in C.entries() if e.id.startswith("grad.")]
    assert {e.op for e in grads} == differentiable
    for op in differentiable:
        for dt in ("float32", "float64"):
            assert any(e.op == op and e.id.startswith(f"grad.{op}.{dt}") for e in grads), (op, dt)


def test_folders_follow_the_format(corpus):
    folders = sorted(p for p in corpus.iterdir())
    kinds = {json.loads((f / "case.json").read_text())["kind"] for f in folders}
    assert kinds == {"op", "lowered", "model", "grad", "error"}
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
            if a.dtype.kind != "f" or (meta["kind"] in ("op", "lowered") and OPS[meta["op"]].tolerance == "exact"):
                assert tol == {"rtol": 0, "atol": 0}, (f.name, name)
        if meta["kind"] == "op" and not f.name.startswith("sym."):
            assert [n["op"] for n in doc["nodes"]] == [meta["op"]]
        if meta["kind"] in ("lowered", "grad"):
            assert all(OPS[n["op"]].kind == "core" for n in doc["nodes"])
        if meta["kind"] == "grad":
            assert meta["ops"] == [o for o in OPS if o in {n["op"] for n in doc["nodes"]}]
            assert all(name == "loss" or name.startswith("d_") for name in expected), f.name
            dt = f.name.split(".")[2].split("-")[0]
            assert dt in ("float32", "float64") and dt in meta["dtypes"]
            for name, a in expected.items():   # model-level: 10x the loosest class on the output's path (or exact)
                classes = [(0, 0)] + [tuple(C.MODEL_TOLERANCE_FACTOR * x for x in jag.spec.tolerance(c, a.dtype.name))
                                      for c in ("elementwise", "transcendental", "accumulate")]
                tol = meta["tolerance"][name]
                assert any((tol["rtol"], tol["atol"]) == pytest.approx(c) for c in classes), (f.name, name, tol)


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


# ====================================================================== gradient and training-step cases

def _constant(graph, shape):
    (w,) = [a for a in graph.tensors.values() if a.shape == shape]
    return w.astype(np.float64)


def test_gradient_case_values_match_an_analytic_gradient():
    """grad.matmul.float64-batched: loss = sum((a @ b) * w), so d_a = w @ b^T and d_b = sum over the batch of a^T w."""
    k = next(i for i, s in enumerate(C.GRAD_SPECS) if (s.op, s.tag) == ("matmul", "batched"))
    case = C.build_grad_case(k, "float64", "grad.matmul.float64-batched")
    a, b = case.inputs["a"], case.inputs["b"]
    w = _constant(case.graph, (2, 3, 5))
    np.testing.assert_allclose(case.expected["d_a"], w @ b.T, rtol=1e-12)
    np.testing.assert_allclose(case.expected["d_b"], np.einsum("nik,nij->kj", a, w), rtol=1e-12)
    np.testing.assert_allclose(case.expected["loss"], np.sum((a @ b) * w), rtol=1e-12)
    k = next(i for i, s in enumerate(C.GRAD_SPECS) if (s.op, s.tag) == ("multiply", "tied"))
    case = C.build_grad_case(k, "float32", "grad.multiply.float32-tied")   # x * x: two cotangents add up
    x = case.inputs["a"].astype(np.float64)
    np.testing.assert_allclose(case.expected["d_a"], 2 * x * _constant(case.graph, (2, 3)), rtol=1e-6)


def test_a_wrong_vjp_rule_never_becomes_the_truth(monkeypatch):
    """The generator checks float64 gradients against central finite differences (and float32
    ones against those) before writing a gradient case."""
    k = next(i for i, s in enumerate(C.GRAD_SPECS) if s.op == "sin")
    right = VJPS["sin"]
    monkeypatch.setitem(VJPS, "sin", lambda ct, x, *, out: [jag.apply("multiply", right(ct, x, out=out)[0],
                                                                            jag.constant(1.001, x.dtype))])
    C._checked_float64_grads.cache_clear()
    try:
        for dt in ("float64", "float32"):
            with pytest.raises(AssertionError, match="finite differences"):
                C.build_grad_case(k, dt, f"grad.sin.{dt}")
    finally:
        C._checked_float64_grads.cache_clear()


def test_training_step_case_matches_numpy():
    """train.mlp: the loss output is numpy's cross-entropy of the MLP on the case's own inputs, and
    opt_state.step counts one more step."""
    case = C.build_train_case("mlp", "train.mlp")
    inp = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in case.inputs.items()}

    def linear(h, i):
        return h @ inp[f"params.{i}.weight"].T + inp[f"params.{i}.bias"]

    erf = np.vectorize(math.erf)
    h = np.maximum(linear(inp["x"], 0), 0)
    h = linear(h, 2)
    h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
    logits = linear(h, 4)
    logp = logits - logits.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    want = -logp[np.arange(len(inp["y"])), inp["y"]].mean()
    np.testing.assert_allclose(case.expected["loss"], want, rtol=1e-5)
    assert case.kind == "model" and case.expected["new_opt_state.step"] == case.inputs["opt_state.step"] + 1
    assert int(case.inputs["opt_state.step"]) == C.TRAIN_WARMUP
    assert {f"new_{k}" for k in case.inputs if k.startswith(("params.", "opt_state."))} == set(case.expected) - {"loss"}
    assert all(case.expected["new_" + k].dtype == v.dtype and case.expected["new_" + k].shape == v.shape
               for k, v in case.inputs.items() if k.startswith(("params.", "opt_state.")))

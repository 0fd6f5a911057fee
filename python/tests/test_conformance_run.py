"""The conformance runner (conformance/run.py, conformance/adapters.py) on small corpora
written here in the case format of conformance/FORMAT.md.

Covers: comparison semantics (NaN, infinities, tolerance, exact integers above 2**53,
signed zeros when bit-exact, dtype and shape mismatches), error cases, expected-failure
files (xfail, unexpected pass, missing reason, stale entries), filters and --list, the
closing ``N passed, M failed`` line and the exit status, a runtime that is not installed,
the first divergence on a model run by a fake runtime with a broken ``add`` kernel (with
its one-node repro case), the coverage check, and the JS adapter's results folder.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import jag
from jag import spec

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance import adapters, run  # noqa: E402

X = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2) / 7


# ====================================================================== a small corpus

def write_case(root: Path, cid: str, graph: jag.Graph, inputs: list, *, kind="op", op=None, error=None,
               corrupt=None, expected=None) -> Path:
    """Write one case folder (FORMAT.md) for ``graph`` on ``inputs`` (one array per graph input);
    ``expected`` overrides the reference outputs, ``corrupt(doc)`` edits the saved model."""
    folder = root / cid
    folder.mkdir(parents=True)
    graph.save(folder / "model.json")
    bundle = {vi.name: a for vi, a in zip(graph.inputs, inputs)}
    jag.save_tensors(folder / "inputs.safetensors", bundle)
    if corrupt is not None:
        doc = json.loads((folder / "model.json").read_text())
        corrupt(doc)
        (folder / "model.json").write_text(json.dumps(doc))
    if error:
        (folder / "error").write_text(error + "\n")
    else:
        jag.save_tensors(folder / "expected.safetensors", expected or graph.run(bundle))
    ops = sorted({n.op for n in graph.nodes})
    tol = {vi.name: dict(zip(("rtol", "atol"), max(spec.tolerance(o, vi.dtype) for o in ops))) for vi in graph.outputs}
    dtypes = sorted({vi.dtype for vi in graph.inputs + graph.outputs})
    meta = {"id": cid, "kind": kind, "op": op, "ops": ops, "dtypes": dtypes, "tolerance": tol,
            "description": f"test case {cid}"}
    (folder / "case.json").write_text(json.dumps(meta))
    return folder


def mlp():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((3, 8)).astype(np.float32)
    w2 = rng.standard_normal((8, 2)).astype(np.float32)
    return jag.trace(lambda a: jag.softmax(jag.matmul(jag.relu(jag.matmul(a, w1) + np.float32(0.5)), w2), axis=-1),
                     X, symbolic={"a": ("N", None)})


@pytest.fixture
def corpus(tmp_path):
    """Five cases: two op cases, a lowered one, a model and an error case."""
    root = tmp_path / "cases"
    write_case(root, "op.add.float32.bcast", jag.trace(lambda a, b: a + b, X, X[0]), [X, X[0]], op="add")
    big = np.array([1, -2, 2 ** 60 + 1], np.int64)
    write_case(root, "op.multiply.int64.big", jag.trace(lambda a: a * np.int64(3), big), [big], op="multiply")
    soft = jag.trace(lambda a: jag.softmax(a, axis=-1), X)
    write_case(root, "lowered.softmax.float32.last", soft.lower(), [X], kind="lowered", op="softmax")
    write_case(root, "model.mlp", mlp(), [X], kind="model")

    def unknown_op(doc):
        doc["nodes"][0]["op"] = "frobnicate"
    write_case(root, "error.E_UNKNOWN_OP.frob", jag.trace(lambda a: a * np.float32(3), X), [X], kind="error",
               op="multiply", error="E_UNKNOWN_OP", corrupt=unknown_op)
    return root


def run_main(argv, **kw):
    """(exit status, printed lines) of conformance.run.main."""
    out = io.StringIO()
    status = run.main(argv, out=out, **kw)
    return status, out.getvalue().splitlines()


def base_args(corpus, tmp_path, *more):
    expected = tmp_path / "expected"
    expected.mkdir(exist_ok=True)
    return ["--cases", str(corpus), "--build", str(tmp_path / "build"), "--expected", str(expected), *more]


PY = {"python": adapters.PythonAdapter()}


# ====================================================================== comparison

def test_float_tolerance_is_atol_plus_rtol_times_expected():
    want = np.array([1.0, 100.0], np.float32)
    assert run.compare_array(want * np.float32(1 + 1e-5), want, 1e-4, 0).ok
    d = run.compare_array(np.array([1.0, 100.1], np.float32), want, 1e-4, 1e-5)
    assert not d.ok and "1 of 2 elements differ" in d.detail and "first at [1]" in d.detail
    assert d.max_abs == pytest.approx(0.1, rel=1e-3) and d.max_rel == pytest.approx(1e-3, rel=1e-2)


def test_nan_matches_nan_and_infinities_match_themselves():
    want = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert run.compare_array(want.copy(), want, 0, 0).ok
    for bad in ([1.0, np.inf, -np.inf, 1.0], [np.nan, -np.inf, -np.inf, 1.0], [np.nan, np.inf, -np.inf, np.nan]):
        d = run.compare_array(np.array(bad), want, 1e-3, 1e-3)
        assert not d.ok and d.max_abs == np.inf


def test_bit_exact_floats_see_the_sign_of_zero():
    want = np.array([0.0, -0.0], np.float64)
    assert run.compare_array(np.array([0.0, -0.0]), want, 0, 0).ok
    assert not run.compare_array(np.array([-0.0, -0.0]), want, 0, 0).ok
    assert run.compare_array(np.array([-0.0, 0.0]), want, 1e-6, 1e-7).ok  # within a tolerance, -0.0 == 0.0


def test_integers_are_exact_even_above_2_53():
    want = np.array([2 ** 60 + 1, 5], np.int64)
    d = run.compare_array(np.array([2 ** 60, 5], np.int64), want, 1, 1)  # a tolerance never applies to integers
    assert not d.ok and d.max_abs == 1 and "(exact)" in d.detail
    assert run.compare_array(np.array([True, False]), np.array([True, False]), 0, 0).ok
    assert not run.compare_array(np.array([True, True]), np.array([True, False]), 0, 0).ok


def test_dtype_and_shape_must_match():
    want = np.zeros((2, 3), np.float32)
    assert "dtype float64, expected float32" in run.compare_array(np.zeros((2, 3)), want, 1, 1).detail
    assert "shape [3, 2], expected [2, 3]" in run.compare_array(np.zeros((3, 2), np.float32), want, 1, 1).detail
    assert run.compare_array(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), 0, 0).ok
    assert not run.compare_array(np.float32(1), np.array([1], np.float32), 0, 0).ok  # rank 0 is not [1]


def test_outputs_by_name_and_per_output_tolerance(corpus):
    case = run.read_case(corpus / "op.add.float32.bcast")
    want = jag.load_tensors(corpus / "op.add.float32.bcast" / "expected.safetensors")
    (name,) = want
    assert case.tolerance[name] == {"rtol": 1e-6, "atol": 1e-7}
    assert run.compare_outputs(case, dict(want), want).ok
    assert not run.compare_outputs(case, {"other": want[name]}, want).ok
    assert not run.compare_outputs(case, {name: want[name] + np.float32(1e-3)}, want).ok


def test_error_cases_need_exactly_their_code(corpus):
    case = run.read_case(corpus / "error.E_UNKNOWN_OP.frob")
    assert case.error == "E_UNKNOWN_OP" and case.row == "error.E_UNKNOWN_OP"
    assert run.judge(case, adapters.Outcome(error="E_UNKNOWN_OP", message="m"), "x").status == "pass"
    v = run.judge(case, adapters.Outcome(error="E_SCHEMA", message="m"), "x")
    assert v.status == "FAIL" and "expected E_UNKNOWN_OP" in v.detail
    assert run.judge(case, adapters.Outcome(outputs={}), "x").detail == "ran without error; expected E_UNKNOWN_OP"


# ====================================================================== running, counting, filters

def test_every_case_passes_on_the_reference(corpus, tmp_path):
    status, lines = run_main(base_args(corpus, tmp_path), adapters=PY)
    assert status == 0 and lines[-1] == "5 passed, 0 failed"
    matrix = "\n".join(lines)
    for row in ("add", "multiply", "softmax", "model.mlp", "error.E_UNKNOWN_OP"):
        assert any(line.split()[:3] == [row, "pass", "1/1"] for line in lines), matrix
    assert (tmp_path / "build" / "report.md").read_text().count("pass 1/1") == 5


@pytest.mark.parametrize("name", ["c", "js"])
def test_every_case_passes_on_the_other_runtimes(corpus, tmp_path, name):
    adapter = adapters.ADAPTERS[name]
    if adapter.missing():
        pytest.skip(f"{name}: {adapter.missing()}")
    status, lines = run_main(base_args(corpus, tmp_path), adapters={name: adapter})
    assert (status, lines[-1]) == (0, "5 passed, 0 failed"), "\n".join(lines)


def test_filters_and_list(corpus, tmp_path):
    def listed(*more):
        status, lines = run_main(base_args(corpus, tmp_path, "--list", *more), adapters=PY)
        assert status == 0
        return lines
    assert listed() == sorted(p.name for p in corpus.iterdir())
    assert listed("-o", "add,softmax") == ["lowered.softmax.float32.last", "op.add.float32.bcast"]
    assert listed("-k", "mlp") == ["model.mlp"]
    assert listed("-k", "op.*") == ["op.add.float32.bcast", "op.multiply.int64.big"]  # a glob is anchored
    assert listed("-k", "mlp", "-k", "frob") == ["error.E_UNKNOWN_OP.frob", "model.mlp"]
    status, lines = run_main(base_args(corpus, tmp_path, "-o", "add"), adapters=PY)
    assert lines[-1] == "1 passed, 0 failed"
    assert run_main(base_args(corpus, tmp_path, "-o", "nope"), adapters=PY)[0] == 2
    assert run_main(base_args(corpus, tmp_path, "-r", "cobol"), adapters=PY)[0] == 2


def test_runtimes_filter(corpus, tmp_path):
    two = {"python": adapters.PythonAdapter(), "other": adapters.PythonAdapter()}
    assert run_main(base_args(corpus, tmp_path), adapters=two)[1][-1] == "10 passed, 0 failed"
    assert run_main(base_args(corpus, tmp_path, "-r", "other"), adapters=two)[1][-1] == "5 passed, 0 failed"


class Missing(adapters.Adapter):
    name = "ghost"

    def missing(self):
        return "ghost-lang is not on this machine"


def test_a_runtime_that_is_not_installed_is_visible_and_not_passed(corpus, tmp_path):
    status, lines = run_main(base_args(corpus, tmp_path), adapters={**PY, "ghost": Missing()})
    assert status == 1 and lines[-1] == "5 passed, 5 failed"
    assert any(line.startswith("NOT INSTALLED: ghost: ghost-lang is not on this machine") for line in lines)
    assert any(line.startswith("add") and line.rstrip().endswith("not installed") for line in lines)


# ====================================================================== known failures

class Broken(adapters.PythonAdapter):
    """The reference with a broken kernel: ``add`` subtracts 1e-3 (floats) — a fake runtime."""
    name = "broken"

    def run_one(self, folder):
        from jag.ops import IMPLS
        real = IMPLS["add"]

        def add(a, b):
            r = np.asarray(real(a, b))
            return (r - 1e-3).astype(r.dtype) if r.dtype.kind == "f" else r
        IMPLS["add"] = add
        try:
            return super().run_one(folder)
        finally:
            IMPLS["add"] = real


def test_read_expected_needs_a_reason(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("# header comment\n\nop.a.b  # tracked in issue 7\nop.c.d\nop.e.f #   \n"
                    "op.a.b  # again\nbad id # x\n")
    entries, problems = run.read_expected(path)
    assert entries == {"op.a.b": "tracked in issue 7"}
    assert [p.split(": ", 1)[0] for p in problems] == ["c.txt:4", "c.txt:5", "c.txt:6", "c.txt:7"]
    assert "op.c.d has no reason" in problems[0] and "listed twice" in problems[2]


def test_listed_failure_is_xfail_and_listed_pass_is_a_failure(corpus, tmp_path):
    args = base_args(corpus, tmp_path)
    (tmp_path / "expected" / "broken.txt").write_text(
        "# known failures of the fake runtime\n"
        "op.add.float32.bcast  # add is broken on purpose\n"
        "op.multiply.int64.big  # stale: it passes\n"
        "model.mlp\n")
    status, lines = run_main(args, adapters={"broken": Broken()})
    assert status == 1
    # lowered softmax, error case and multiply pass (multiply: an unexpected pass, a failure); add: xfail;
    # model.mlp fails (its entry has no reason, so it is not applied); the missing reason is a problem
    assert lines[-1] == "2 passed, 3 failed"
    assert lines[-2] == "1 known failures (xfail, listed in conformance/expected/)"
    text = "\n".join(lines)
    assert ("xpass: op.multiply.int64.big on broken: unexpected pass: remove it from "
            "conformance/expected/broken.txt") in text
    assert "PROBLEM: broken.txt:4: model.mlp has no reason" in text
    report = (tmp_path / "build" / "report.md").read_text()
    assert "`op.add.float32.bcast` on `broken`: add is broken on purpose" in report


def test_entry_naming_no_case_is_reported(corpus, tmp_path):
    args = base_args(corpus, tmp_path)
    (tmp_path / "expected" / "python.txt").write_text("op.gone.float32  # was removed\n")
    status, lines = run_main(args, adapters=PY)
    assert status == 1 and lines[-1] == "5 passed, 1 failed"
    assert "PROBLEM: python.txt: op.gone.float32 names no case (remove it)" in lines
    # a filtered run cannot tell a stale entry from an unselected case
    assert run_main(args + ["-k", "mlp"], adapters=PY)[1][-1] == "1 passed, 0 failed"


# ====================================================================== first divergence

def test_first_divergence_names_the_broken_node_and_writes_a_repro(corpus, tmp_path):
    status, lines = run_main(base_args(corpus, tmp_path, "-k", "mlp"), adapters={"broken": Broken()})
    assert status == 1 and lines[-1] == "0 passed, 1 failed"
    graph = jag.load(corpus / "model.mlp" / "model.json")
    k = next(i for i, n in enumerate(graph.nodes) if n.op == "add")
    text = "\n".join(lines)
    assert f"first divergence: node {k} (add) attrs {{}} inputs float32[2,8], float32[]" in text
    assert "(fails on broken too)" in text
    repro = tmp_path / "build" / "repro" / "model.mlp" / "broken"
    meta = json.loads((repro / "case.json").read_text())
    assert meta["kind"] == "op" and meta["op"] == "add" and meta["id"] == "repro.model.mlp.broken"
    g = jag.load(repro / "model.json")
    assert [n.op for n in g.nodes] == ["add"] and [vi.shape for vi in g.inputs] == [(2, 8), ()]
    # the repro is a case like any other: it passes on the reference and fails on the broken runtime
    args = ["--cases", str(repro), "--build", str(tmp_path / "b2"), "--expected", str(tmp_path / "expected")]
    assert run_main(args, adapters=PY)[1][-1] == "1 passed, 0 failed"
    assert run_main(args, adapters={"broken": Broken()})[1][-1] == "0 passed, 1 failed"
    assert "first divergence: node" in (tmp_path / "build" / "report.md").read_text()


def test_first_divergence_at_two_bindings_of_a_symbolic_dim(tmp_path):
    """The exposed model keeps symbolic shapes (concat gives 2*N), so it runs at the case's binding."""
    root = tmp_path / "cases"
    g = jag.trace(lambda a: jag.concat(a, a, axis=0) * np.float32(2) + np.float32(1), X, symbolic={"a": ("N", None)})
    for n in (1, 5):
        write_case(root, f"sym.concat.N{n}", g, [np.ones((n, 3), np.float32)], kind="model")
    status, lines = run_main(base_args(root, tmp_path), adapters={"broken": Broken()})
    assert lines[-1] == "0 passed, 2 failed"
    div = [line for line in lines if "first divergence" in line]
    assert len(div) == 2 and all("node 2 (add)" in line for line in div), lines
    assert "inputs float32[10,3], float32[]" in div[1]


class Drifty(Broken):
    """Broken ``add``, and a ``matmul`` that is within its tolerance but not bit-identical."""
    name = "drifty"

    def run_one(self, folder):
        from jag.ops import IMPLS
        real = IMPLS["matmul"]
        IMPLS["matmul"] = lambda a, b: (real(a, b) * (1 + 1e-6)).astype(a.dtype)
        try:
            return super().run_one(folder)
        finally:
            IMPLS["matmul"] = real


def test_a_node_is_not_blamed_for_a_difference_it_inherited(tmp_path):
    """matmul (drifted within tolerance) -> reshape (exact, so it differs bit for bit from the
    reference run, but is right for its input) -> add (broken): the add is the divergence."""
    root = tmp_path / "cases"
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 5
    g = jag.trace(lambda a: jag.reshape(jag.matmul(a, w), shape=[4, 2]) + np.float32(1), X)
    assert [n.op for n in g.nodes] == ["matmul", "reshape", "add"]
    write_case(root, "model.drift", g, [X], kind="model")
    status, lines = run_main(base_args(root, tmp_path), adapters={"drifty": Drifty()})
    assert status == 1
    assert any("first divergence: node 2 (add)" in line for line in lines), lines


def test_no_single_node_to_blame(tmp_path):
    """A model output outside its tolerance while every node is within its own: said so."""
    root = tmp_path / "cases"
    g = jag.trace(lambda a: a + np.float32(1), X)
    want = g.run({g.inputs[0].name: X})
    (name,) = want
    write_case(root, "model.tight", g, [X], kind="model", expected={name: want[name] + np.float32(1e-3)})
    status, lines = run_main(base_args(root, tmp_path), adapters=PY)
    assert status == 1
    assert any("first divergence: no node leaves its op's tolerance by itself" in line for line in lines), lines


# ====================================================================== coverage

def test_coverage_names_ops_without_cases_and_dtypes_never_exercised(corpus):
    cases = run.load_cases(corpus)
    problems = run.coverage_problems(cases)
    assert "coverage: op sin has no case" in problems
    assert "coverage: op add: dtypes float64, int32, int64, uint8 never exercised" in problems
    assert "coverage: op softmax: dtype float64 never exercised" in problems
    # exp is used (by the lowered softmax) but no case has it as its op: its dtypes are not exercised
    assert "coverage: op exp: dtypes float32, float64 never exercised" in problems
    assert run.required_dtypes(spec.OPS["iota"]) == {"float32", "float64", "int32", "int64", "uint8"}
    assert run.required_dtypes(spec.OPS["cast"]) == set(spec.DTYPE_NAMES)
    assert run.required_dtypes(spec.OPS["logical_and"]) == {"bool"}
    assert run.required_dtypes(spec.OPS["gather"]) == set(spec.DTYPE_NAMES)


def test_unfiltered_run_of_the_default_corpus_fails_on_coverage(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(run, "CASES", corpus)
    args = ["--build", str(tmp_path / "build"), "--expected", str(tmp_path)]
    status, lines = run_main(args, adapters=PY)
    gaps = [line for line in lines if line.startswith("PROBLEM: coverage:")]
    assert status == 1 and gaps and lines[-1] == f"5 passed, {len(gaps)} failed"
    assert run_main(args + ["-k", "op."], adapters=PY)[0] == 0  # filtered: no coverage check


# ====================================================================== adapters

def test_adapters_report_error_codes(corpus):
    folder = corpus / "error.E_UNKNOWN_OP.frob"
    for name, a in adapters.ADAPTERS.items():
        if a.missing():
            continue
        (outcome,) = a.run([folder])
        assert outcome.error == "E_UNKNOWN_OP", (name, outcome)


def test_input_bundle_must_match_the_graph(corpus, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(corpus / "model.mlp", folder)
    jag.save_tensors(folder / "inputs.safetensors", {"a": X, "extra": X})
    for name, a in adapters.ADAPTERS.items():
        if not a.missing():
            assert a.run([folder])[0].error == "E_INPUT", name


def test_js_writes_results_outside_the_case_folders(corpus):
    js = adapters.ADAPTERS["js"]
    if js.missing():
        pytest.skip(js.missing())
    folders = sorted(corpus.iterdir())
    before = {f: sorted(p.name for p in f.iterdir()) for f in folders}
    outcomes = js.run(folders)
    assert [o.error for o in outcomes] == [("E_UNKNOWN_OP" if "error" in f.name else None) for f in folders]
    assert {f: sorted(p.name for p in f.iterdir()) for f in folders} == before


def test_cli_dispatch(corpus, tmp_path):
    from conformance.__main__ import main
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["run", "--cases", str(corpus), "--list", "-k", "mlp"]) == 0
    assert out.getvalue().split() == ["model.mlp"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([]) == 2

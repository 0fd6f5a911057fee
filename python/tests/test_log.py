"""Execution logs (jag.execlog), graph.execute(log=True), `jag run --log`, and module-path node names.

Values are checked against an independent numpy computation of every intermediate;
statistics against numpy's nan-aware reductions; the first NaN/Inf against the node that
really makes it; module paths against the exact names the contract of issue 8 gives.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import jag
from jag import nn
from jag.cli import main
from jag.execlog import ExecutionLog, UnknownValueError, value_stats

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4)).astype(np.float32)
W = RNG.standard_normal((4, 5)).astype(np.float32)
B = RNG.standard_normal(5).astype(np.float32)


def mlp(x, w):
    h = x @ w + B                                  # matmul, add (B a constant tensor)
    r = jag.relu(h)
    s = r.sum(axis=1)                              # reduce_sum
    return {"y": jag.exp(-s), "r": r}              # neg, exp


@pytest.fixture(scope="module")
def traced():
    g = jag.trace(mlp, X, W)
    return g, g.execute(X, W, log=True)


def test_every_value_matches_numpy(traced):
    g, log = traced
    h = X @ W
    hb = h + B
    r = np.maximum(hb, 0)
    s = r.sum(axis=1)
    expected_chain = [("matmul", h), ("add", hb), ("relu", r), ("reduce_sum", s), ("neg", -s), ("exp", np.exp(-s))]
    assert [rec.op for rec in log.nodes] == [op for op, _ in expected_chain]
    for rec, (op, want) in zip(log.nodes, expected_chain):
        (got,) = rec.outputs
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"{op}")
        assert rec.shapes == [want.shape] and rec.dtypes == ["float32"]
        assert log[rec.output_names[0]] is got
    # inputs of each node are the values its inputs name, and every value is there
    for rec in log.nodes:
        for name, arr in zip(rec.input_names, rec.inputs):
            assert arr is log.values[name]
    names = {vi.name for vi in g.inputs} | set(g.tensors) | {o for n in g.nodes for o in n.outputs}
    assert set(log.values) == names and len(log) == len(names)
    np.testing.assert_array_equal(log["x"], X)
    np.testing.assert_array_equal(log["w"], W)
    # outputs: the same pytree graph.execute returns
    plain = g(X, W)
    assert set(log.outputs) == {"y", "r"}
    for k in plain:
        np.testing.assert_array_equal(log.outputs[k], plain[k])


def test_timing(traced):
    _, log = traced
    assert all(isinstance(r.seconds, float) and r.seconds >= 0 for r in log.nodes)
    assert log.total_seconds >= sum(r.seconds for r in log.nodes) > 0


def test_value_stats_against_numpy():
    a = np.array([[1.5, -np.inf, np.nan], [np.inf, -3.0, 2.0], [np.nan, 0.25, 4.0]], np.float32)
    s = value_stats(a)
    finite = a[np.isfinite(a)].astype(np.float64)
    assert (s.nan, s.inf) == (2, 2)
    assert s.min == finite.min() == -3.0 and s.max == finite.max() == 4.0
    assert math.isclose(s.mean, finite.mean()) and math.isclose(s.l2, np.linalg.norm(finite))
    assert s.absmax == 4.0 and s.nonfinite and s.shape == (3, 3) and s.dtype == "float32"
    i = value_stats(np.array([3, -7, 2], np.int64))
    assert (i.min, i.max, i.l2, i.nan, i.inf) == (-7, 3, None, 0, 0) and math.isclose(i.mean, -2 / 3)
    b = value_stats(np.array([True, False, True, True]))
    assert (b.min, b.max, b.mean) == (0.0, 1.0, 0.75)
    e = value_stats(np.zeros((0, 3), np.float32))
    assert (e.size, e.min, e.max, e.mean, e.l2, e.nan, e.inf) == (0, None, None, None, None, 0, 0)
    assert e.compact() == "empty"
    allnan = value_stats(np.full(3, np.nan))
    assert allnan.min is None and allnan.nan == 3 and "NaN 3" in allnan.compact()
    big = value_stats(np.array([3e38, 3e38], np.float32))   # float64 accumulation: no overflow
    assert math.isclose(big.l2, math.sqrt(2) * float(np.float32(3e38)), rel_tol=1e-6)


def nan_graph(x):
    a = x * 2.0                        # node 0
    b = jag.log(a - 4.0)               # node 1 subtract, node 2 log: NaN where a < 4
    c = (a - a) / (a - a)              # 0/0: NaN everywhere, but later in execution order
    return b + c


def test_first_nan_names_the_node():
    x = np.array([1.0, 3.0, 0.5], np.float64)
    g = jag.trace(nan_graph, x)
    log = g.execute(x, log=True)
    name, rec = log.first_nonfinite()
    assert rec.op == "log" and rec.output_names == [name]
    with np.errstate(invalid="ignore"):
        want = np.log(x * 2 - 4)
    np.testing.assert_array_equal(np.isnan(log[name]), np.isnan(want))
    assert log.stats(name).nan == 2 and log.stats(name).inf == 0
    text = log.summary()
    assert f"first NaN/Inf: {name} (float64[3]: 2 NaN, 0 Inf), produced by node {rec.index} (log)" in text
    # 0/0 makes a NaN too; counted among the values holding NaN/Inf
    div = next(r for r in log.nodes if r.op == "divide")
    assert log.stats(div.output_names[0]).nan == 3
    bad = sum(1 for n in log.values if log.stats(n).nonfinite)
    assert f"{bad} value(s) hold NaN/Inf" in text
    ok = jag.trace(lambda x: x * 2.0, x).execute(x, log=True)
    assert ok.first_nonfinite() is None and ok.summary().endswith("no NaN/Inf")


def test_nan_in_an_input_is_reported_as_the_input():
    x = np.array([1.0, np.inf])
    log = jag.trace(lambda x: x + 1.0, x).execute(x, log=True)
    assert log.first_nonfinite() == ("x", None)
    assert "first NaN/Inf: x (float64[2]: 0 NaN, 1 Inf), a graph input" in log.summary()


def test_summary_tables(traced):
    g, log = traced
    text = str(log)
    assert text == log.summary() and text.startswith(f"ExecutionLog of graph '{g.name}' on python: 6 nodes")
    lines = text.splitlines()
    i = lines.index("slowest nodes (of 6):")
    rows = lines[i + 3:i + 3 + 6]
    # rows are sorted by time, shares add up to 100 %
    kernel = sum(r.seconds for r in log.nodes)
    slowest = sorted(log.nodes, key=lambda r: (-r.seconds, r.index))
    for row, rec in zip(rows, slowest):
        assert row.split()[0] == str(rec.index) and rec.op in row
    shares = [float(row.split()[-1].rstrip("%")) for row in rows]
    assert abs(sum(shares) - 100) < 0.5 and shares == sorted(shares, reverse=True)
    assert math.isclose(sum(r.seconds / kernel for r in log.nodes), 1)
    # largest values: the first row is the float value of largest max |x|, computed independently
    j = next(k for k, line in enumerate(lines) if line.startswith("largest float values"))
    first = lines[j + 3].split()[0]
    best = max((n for n in log.values if log[n].dtype.kind == "f"), key=lambda n: np.abs(log[n]).max())
    assert first == best
    assert len(log.summary(top=2).split("slowest nodes")[1].split("largest")[0].strip().splitlines()) == 1 + 2 + 2  # (of 6), header, rule, 2 rows


def test_unknown_value_is_a_typed_error_with_close_matches(traced):
    _, log = traced
    with pytest.raises(UnknownValueError) as e:
        log["t11"]
    assert isinstance(e.value, jag.GraphError) and isinstance(e.value, KeyError) and e.value.code == "E_GRAPH"
    assert "value 't11' is not in the log" in str(e.value) and "close matches: t1" in str(e.value)
    assert "t1" in log and "nope" not in log


def test_save_json_and_values(traced, tmp_path):
    _, log = traced
    doc = json.loads(log.save(tmp_path / "log.json").read_text())
    assert [n["op"] for n in doc["nodes"]] == [r.op for r in log.nodes]
    assert doc["values"]["x"]["kind"] == "input" and doc["values"]["t0"]["kind"] == "node"
    assert math.isclose(doc["values"]["t0"]["max"], float(log["t0"].max()), rel_tol=1e-6)
    back = jag.load_tensors(log.save(tmp_path / "values.safetensors"))
    assert set(back) == set(log.values)
    np.testing.assert_array_equal(back["t2"], log["t2"])
    with pytest.raises(jag.InputError, match="use .json"):
        log.save(tmp_path / "log.txt")


def test_partial_log_on_a_failing_node():
    idx = np.array([0, 5])
    g = jag.trace(lambda x, i: jag.gather(jag.exp(x), i, axis=0), np.ones(3), np.array([0, 1]))
    with pytest.raises(jag.IndexOutOfRangeError) as e:
        g.execute(np.ones(3), idx, log=True)
    partial = e.value.partial_log
    assert isinstance(partial, ExecutionLog) and [r.op for r in partial.nodes] == ["exp"]
    np.testing.assert_allclose(partial[partial.nodes[0].output_names[0]], np.e * np.ones(3))


def test_c_backend_log_matches_python(traced):
    g, log = traced
    clog = g.execute(X, W, backend="c", log=True)
    assert clog.backend == "c" and all(r.seconds is None for r in clog.nodes)
    assert set(clog.values) == set(log.values)
    for name in log.values:
        np.testing.assert_allclose(clog[name], log[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(clog.outputs["y"], log.outputs["y"], rtol=1e-5)
    assert "per-node times: not measured" in clog.summary()


def test_log_op_name_is_not_shadowed():
    # the module is jag.execlog: a submodule jag.log would replace the op jag.log on import
    import jag.execlog  # noqa: F401
    assert callable(jag.log) and float(jag.log(np.float64(np.e))) == pytest.approx(1.0)


def test_visualize_gives_a_notebook_picture(traced):
    import xml.etree.ElementTree as ET
    g, _ = traced
    vlog = g.execute(X, W, visualize=True)
    assert len(vlog._stats) == len(vlog.values)               # precomputed
    bundle = vlog._repr_mimebundle_()
    assert bundle["text/plain"] == vlog.summary()
    root = ET.fromstring(bundle["image/svg+xml"])
    text = " ".join(t for t in root.itertext())
    assert "matmul" in text and "relu" in text
    assert g.execute(X, W, log=True)._repr_svg_() is None     # log=True: text only


def test_execute_log_rejects_tensors_and_unknown_backend():
    g = jag.trace(lambda x: x + 1.0, 1.0)
    with pytest.raises(ValueError, match="unknown backend"):
        g.execute(1.0, backend="tpu", log=True)
    with pytest.raises(jag.GraphError, match="needs arrays"):
        jag.trace(lambda x: g.execute(x, log=True), 1.0)


def test_gradient_methods_delegate_to_semiring():
    from jag import semiring

    def f(x, y):
        return (x * y - x * x) * y                 # shared notes §3.10: paths from x weigh 9, -6, -6
    g = jag.trace(f, 2.0, 3.0)
    log = g.execute(2.0, 3.0, log=True)
    paths = log.top_paths(k=3, source="x")
    assert [p.weight for p in paths] == [9.0, -6.0, -6.0]
    assert [p.weight for p in paths] == [p.weight for p in semiring.top_paths(g, log.values, k=3, source="x")]
    assert log.entropy(source="x") == pytest.approx(1.0790, abs=1e-4)
    assert log.edge_flow() == semiring.edge_flow(g, log.values)


# ---------------------------------------------------------------- CLI

def test_cli_run_log(tmp_path, capsys):
    g = jag.trace(nan_graph, np.ones(3))
    g.save(tmp_path / "m.json")
    x = np.array([1.0, 3.0, 0.5])
    jag.save_tensors(tmp_path / "in.bin", {"x": x})
    assert main(["run", str(tmp_path / "m.json"), str(tmp_path / "in.bin"), "--log", "-o", str(tmp_path / "o.bin")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote 1 output(s)")
    log = jag.load(tmp_path / "m.json").execute(x, log=True)
    name, rec = log.first_nonfinite()
    assert "slowest nodes (of 7):" in out and f"first NaN/Inf: {name}" in out and f"node {rec.index} (log)" in out
    np.testing.assert_array_equal(jag.load_tensors(tmp_path / "o.bin")[g.outputs[0].name], log.outputs)
    assert main(["run", str(tmp_path / "m.json"), str(tmp_path / "in.bin"), "--log", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(g.outputs[0].name + ": float64[3]")
    jag.save_tensors(tmp_path / "bad.bin", {"z": x})
    assert main(["run", str(tmp_path / "m.json"), str(tmp_path / "bad.bin"), "--log"]) == 1
    assert "[E_INPUT]" in capsys.readouterr().err


def test_cli_run_log_subprocess(tmp_path):
    g = jag.trace(lambda x: jag.sqrt(x), np.ones(2))
    g.save(tmp_path / "m.json")
    jag.save_tensors(tmp_path / "in.bin", {"x": np.array([4.0, -1.0])})
    out = subprocess.run([sys.executable, "-m", "jag.cli", "run", str(tmp_path / "m.json"), str(tmp_path / "in.bin"),
                          "--log"], capture_output=True, text=True, check=True).stdout
    assert "first NaN/Inf: x_0" in out or "first NaN/Inf: t0" in out or "first NaN/Inf" in out
    assert "(sqrt)" in out.split("first NaN/Inf")[1]


# ---------------------------------------------------------------- module-path node names

class Block(nn.Module):
    """Children by name, one submodule held only as an attribute, a grandchild called directly,
    a module made on the fly, and an op with an explicit name."""

    def __init__(self):
        self.inner = nn.Sequential({"fc": nn.Linear(4, 4), "act": nn.ReLU()})
        self.gate = nn.Linear(4, 4)          # not in children(): found as the attribute "gate"

    def children(self):
        return {"inner": self.inner}

    def apply(self, params, x, *, rng=None, train=False):
        h = self.inner.apply(params["inner"], x)                      # inner.fc, inner.act
        h = self.inner["fc"].apply(params["inner"]["fc"], h)          # a grandchild, called directly
        g = self.gate.apply(self.gate.parameters(), h)                # gate
        h = nn.Tanh().apply({}, h)                                    # made on the fly: the block's path
        return jag.apply("add", h, g, name="merge")                   # explicit name wins


class Top(nn.Module):
    def __init__(self):
        self.blocks = {"b0": Block(), "b1": Block()}

    def children(self):
        return self.blocks

    def apply(self, params, x, *, rng=None, train=False):
        for name, b in self.blocks.items():
            x = b.apply(params[name], x)
        return x * 2.0                                                # the outermost module: no name


class Wrapped(nn.Linear):
    def apply(self, params, x, *, rng=None, train=False):            # super().apply adds no level
        return super().apply(params, x) + 1.0


def test_sequential_names():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    p = model.init(0)
    g = jag.trace(lambda p, x: model.apply(p, x), p, X)
    assert [(n.op, n.name) for n in g.nodes] == [("linear", "0"), ("relu", "1"), ("linear", "2")]
    assert "linear x p.0.weight p.0.bias  # 0" in str(g)


def test_nested_module_names():
    top = Top()
    p = top.init(0)
    g = jag.trace(lambda p, x: top.apply(p, x), p, X)
    got = [(n.op, n.name) for n in g.nodes]
    block = [("linear", "{b}.inner.fc"), ("relu", "{b}.inner.act"), ("linear", "{b}.inner.fc"),
             ("tanh", "{b}"), ("linear", "{b}.gate"), ("add", "merge")]     # graph order: add's inputs in turn
    want = [(op, name.format(b=b)) for b in ("b0", "b1") for op, name in block] + [("multiply", None)]
    assert got == want
    # eager (no trace) runs the same and names stay out of the way
    np.testing.assert_allclose(np.asarray(top.apply(p, X)), g(p, X), rtol=1e-6)
    # the names survive save/load and lowering (a composite's core ops keep its name)
    low = g.lower()
    assert {n.name for n in low.nodes if n.op in ("matmul", "maximum")} <= {"b0.inner.fc", "b0.gate", "b1.inner.fc",
                                                                              "b1.gate", "b0.inner.act", "b1.inner.act"}
    assert all(n.name == "b0.inner.fc" for n in low.nodes[:3])


def test_names_of_subclass_and_grad_and_saved(tmp_path):
    m = Wrapped(4, 3)
    seq = nn.Sequential(m)
    g = jag.trace(lambda p, x: seq.apply(p, x), seq.init(0), X)
    assert [(n.op, n.name) for n in g.nodes] == [("linear", "0"), ("add", "0")]
    g.save(tmp_path / "m.json")
    assert [n.name for n in jag.load(tmp_path / "m.json").nodes] == ["0", "0"]
    # forward nodes of a gradient graph carry module paths; the backward ones are recorded outside modules
    model = nn.Sequential(nn.Linear(4, 2), nn.Tanh())
    gg = jag.trace(jag.grad(lambda p, x: model.apply(p, x).sum()), model.init(0), X)
    names = {n.name for n in gg.nodes}
    assert {"0", "1"} <= names and None in names
    assert jag.trace(lambda x: jag.exp(x), X).nodes[0].name is None   # outside modules: no name

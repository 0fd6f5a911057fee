"""The tracer's numpy-like face, pytrees, symbolic dims, @jag.function, printing — against numpy."""
import numpy as np
import pytest

import jag
from jag.errors import DTypeError, IndexOutOfRangeError, ShapeError
from jag.symbolic import Dim

rng = np.random.default_rng(0)


def test_quickstart_values():
    def f(x, w):
        return (x + w) * x ** 2

    g = jag.trace(f, 3, 1)
    assert g(3, 1) == 36 and g(3, 1).dtype == np.int64
    assert g(2, 5) == 28
    vec = jag.trace(f, np.array([3, 4, 5]), 1, symbolic={"x": ["N"]})
    assert vec(np.array([3, 4, 5]), 1).tolist() == [36, 80, 150]
    assert vec(np.array([1, 2]), 1).tolist() == [2, 12]


def test_eager_values_while_tracing():
    seen = {}

    def f(x):
        y = x * 2.0 + 1.0
        seen["y"] = np.asarray(y).copy()
        return y.sum()

    x = np.arange(4, dtype=np.float32)
    g = jag.trace(f, x)
    np.testing.assert_array_equal(seen["y"], x * 2 + 1)
    assert g(x) == pytest.approx(float((x * 2 + 1).sum()))


@pytest.mark.parametrize("expr", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a @ b.T, lambda a, b: -a + abs(b), lambda a, b: a ** 3, lambda a, b: 2.0 ** a,
    lambda a, b: (a > b), lambda a, b: (a <= b), lambda a, b: (a == b), lambda a, b: (a != b),
    lambda a, b: a.T, lambda a, b: a.sum(axis=0), lambda a, b: a.max(axis=-1, keepdims=True),
    lambda a, b: a.mean(), lambda a, b: a.min(axis=1), lambda a, b: a.reshape(4, 3), lambda a, b: a.reshape(-1),
    lambda a, b: a.transpose(1, 0), lambda a, b: np.exp(a) * 2 + np.maximum(a, 0), lambda a, b: a.argmax(axis=1),
    lambda a, b: a.astype(np.int32), lambda a, b: 1 - a, lambda a, b: 3.0 / (b + 10),
])
def test_operators_match_numpy(expr):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((3, 4)).astype(np.float32)
    want = expr(a, b)
    g = jag.trace(expr, a, b)
    got = g(a, b)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", [
    0, -1, 2, (1, 2), (slice(None), 1), (slice(1, None), slice(None, None, 2)), (Ellipsis, 0), (None, 1),
    (slice(-2, None), None, slice(None)), np.array([2, 0, 2]), (slice(None), [3, 0]), (1, [0, 1]),
    slice(None, None, -1), (slice(None), slice(3, 0, -2)), (Ellipsis, None),
])
def test_indexing_matches_numpy(key):
    x = np.arange(24, dtype=np.float64).reshape(3, 4, 2)
    g = jag.trace(lambda t: t[key], x)
    np.testing.assert_array_equal(g(x), x[key])


def test_indexing_errors():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexOutOfRangeError):
        jag.trace(lambda t: t[3], x)
    with pytest.raises(IndexError):
        jag.trace(lambda t: t[x > 0], x)


def test_pytrees_in_and_out():
    params = {"w1": rng.standard_normal((4, 3)).astype(np.float32), "b1": np.zeros(3, np.float32),
              "out": {"w": rng.standard_normal((3, 2)).astype(np.float32)}}
    x = rng.standard_normal((5, 4)).astype(np.float32)

    def mlp(params, x):
        h = jag.relu(x @ params["w1"] + params["b1"])
        y = h @ params["out"]["w"]
        return {"y": y, "norm": (y * y).sum()}

    g = mlp_graph = jag.trace(mlp, params, x, symbolic={"x": ("N", None)})
    assert [v.name for v in g.inputs] == ["params.w1", "params.b1", "params.out.w", "x"]
    assert [v.name for v in g.outputs] == ["y", "norm"]
    out = mlp_graph(params, x)
    h = np.maximum(x @ params["w1"] + params["b1"], 0)
    np.testing.assert_allclose(out["y"], h @ params["out"]["w"], rtol=1e-5)
    np.testing.assert_allclose(out["norm"], ((h @ params["out"]["w"]) ** 2).sum(), rtol=1e-5)
    x7 = rng.standard_normal((7, 4)).astype(np.float32)
    assert g(params, x7)["y"].shape == (7, 2)


def test_symbolic_dims_propagate_through_reshape():
    def f(x):
        n, s, d = x.shape
        assert isinstance(n, Dim) and int(n) == 2   # int() of a symbolic dim works while tracing
        y = x.reshape(n * s, d)
        return y.sum(axis=1).reshape(n, s)

    x = rng.standard_normal((2, 3, 4))
    g = jag.trace(f, x, symbolic={"x": ("N", "S", None)})
    assert str(g.outputs[0]) .endswith("[N,S]")
    assert "N*S" in g.to_json()
    for shape in [(2, 3, 4), (5, 1, 4)]:
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(g(x), x.sum(axis=2))


def test_symbolic_dim_conflicts_at_trace_time():
    with pytest.raises(ShapeError, match="'N'"):
        jag.trace(lambda a, b: a + b, np.zeros(3), np.zeros(4), symbolic={"a": ["N"], "b": ["N"]})
    with pytest.raises(ShapeError, match="symbolic"):
        # a symbolic dim must not silently broadcast against a different static dim
        jag.trace(lambda a, b: a + b, np.zeros(3), np.zeros(3), symbolic={"a": ["N"]})
    with pytest.raises(ShapeError, match="match no argument"):
        jag.trace(lambda a: a, np.zeros(3), symbolic={"typo": ["N"]})


def test_type_promotion_follows_numpy():
    i32 = np.arange(3, dtype=np.int32)
    f32 = np.ones(3, np.float32)
    for fn in [lambda a, b: a + b, lambda a, b: a / 2, lambda a, b: a * 2, lambda a, b: b * 0.5, lambda a, b: a + 2.5,
               lambda a, b: a / (a + 1)]:
        got = jag.trace(fn, i32, f32)(i32, f32)
        want = fn(i32, f32)
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want)
    with pytest.raises(DTypeError, match="where"):
        jag.trace(lambda a: jag.where(a, a, a), np.array([1.0]))  # the condition must be bool


def test_closed_over_arrays_become_tensors():
    w = rng.standard_normal((4, 4)).astype(np.float32)
    g = jag.trace(lambda x: x @ w, np.ones((2, 4), np.float32))
    assert len(g.tensors) == 1 and np.array_equal(next(iter(g.tensors.values())), w)
    assert [v.name for v in g.inputs] == ["x"]


def test_small_constants_are_deduplicated():
    g = jag.trace(lambda x: (x + 1.0) * (x + 1.0) + 1.0, np.float32(2))
    assert len(g.tensors) == 1


def test_function_decorator_caches_per_signature():
    calls = []

    @jag.function
    def f(x, w):
        calls.append(1)
        return (x + w) * x ** 2

    assert f(3, 1) == 36
    assert f(4, 1) == 80
    assert len(calls) == 1 and len(f.cache) == 1
    assert f(np.array([3, 4, 5]), 1).tolist() == [36, 80, 150]
    assert len(calls) == 2
    assert isinstance(f.graph(3, 1), jag.Graph)

    @jag.function(symbolic={"x": ["N"]})
    def g(x):
        calls.append(1)
        return x * 2

    n = len(calls)
    g(np.arange(3))
    g(np.arange(5))
    assert len(calls) == n + 1


def test_function_graph_inlines_when_called_while_tracing():
    inner = jag.function(lambda x: x * 3.0)
    outer = jag.trace(lambda x: inner(x) + 1.0, np.float32(2))
    assert outer(np.float32(2)) == 7.0
    assert [n.op for n in outer.nodes] == ["multiply", "add"]


def test_print_is_one_line_per_node():
    g = jag.trace(lambda x, w: jag.softmax(x @ w, axis=-1), np.ones((2, 3), np.float32), np.ones((3, 4), np.float32),
                  symbolic={"x": ("N", None)})
    text = str(g)
    assert text.splitlines()[0] == "graph <lambda>(x: float32[N,3], w: float32[3,4]) -> (t1: float32[N,4]) {"
    assert "t0: float32[N,4] = matmul x w" in text
    assert "t1: float32[N,4] = softmax[axis=-1] t0" in text


def test_lower_gives_core_ops_only():
    def f(x, w, b):
        return jag.log_softmax(jag.gelu(jag.linear(x, w, b)), axis=-1).mean(axis=0)

    x = rng.standard_normal((5, 4))
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(3)
    g = jag.trace(f, x, w, b, symbolic={"x": ("N", None)})
    low = g.lower()
    assert all(jag.spec.OPS[n.op].kind == "core" for n in low.nodes)
    for n in (5, 2):
        xs = rng.standard_normal((n, 4))
        np.testing.assert_allclose(low(xs, w, b), g(xs, w, b), rtol=1e-10, atol=1e-12)

"""Reverse-mode autodiff (python/jag/autodiff.py and the VJP rules beside each op).

- every differentiable op of spec/ops.json (core, and composite through its lowering) against
  central finite differences of its numpy implementation in float64: a hypothesis property
  test over shapes, broadcasting, attrs and fan-out, through ``jag.grad`` and through the
  eager ``loss.backward()``;
- the rule table covers exactly the differentiable core ops;
- traced gradients are graphs of core ops that save, load and run (numpy and C) to the
  eager values, also with symbolic dims;
- pytrees, argnums, has_aux, value_and_grad, vjp of non-scalar outputs, stop_gradient,
  what gets no gradient, errors; second order against analytic derivatives;
  ``loss.backward()``; one comparison with PyTorch's autograd.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jag
from jag import errors as E
from jag.ops import IMPLS, VJPS, check_attrs

OPS = jag.spec.OPS
DIFFERENTIABLE = sorted(n for n, o in OPS.items() if o.differentiable)


def core_only(graph):
    return {n.op for n in graph.nodes} <= set(jag.spec.CORE_OPS)


# ====================================================================== the rule table

def test_every_differentiable_core_op_has_a_vjp_rule():
    missing = [n for n in jag.spec.CORE_OPS if OPS[n].differentiable and n not in VJPS]
    assert not missing, f"core ops marked differentiable in spec/ops.json without a VJP rule: {missing}"


def test_no_rule_for_a_non_differentiable_op():
    extra = [n for n in VJPS if not OPS[n].differentiable]
    assert not extra, f"VJP rules for ops whose 'differentiable' list is empty: {extra}"


def test_every_differentiable_op_has_a_finite_difference_case():
    assert sorted(CASES) == DIFFERENTIABLE


# ====================================================================== finite differences

def _values(rng, shape, kind):
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "nonzero":  # away from the kinks of abs / relu at 0
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    return rng.uniform(-2.0, 2.0, shape)


def _distinct(rng, *shapes):
    """Arrays whose values are pairwise at least 0.1 apart (no ties for max/min/pooling)."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    vals = rng.permutation(sum(sizes)) * 0.1 - 0.05 * sum(sizes) + rng.uniform(0.0, 0.01)
    out, k = [], 0
    for s, n in zip(shapes, sizes):
        out.append(vals[k:k + n].reshape(s))
        k += n
    return out


def _shape(draw, min_rank=0, max_rank=3, lo=1, hi=3):
    return tuple(draw(st.lists(st.integers(lo, hi), min_size=min_rank, max_size=max_rank)))


def _bshapes(draw, n):
    """n mutually broadcastable shapes (leading dims dropped, some dims 1)."""
    base = _shape(draw)
    out = []
    for _ in range(n):
        r = draw(st.integers(0, len(base)))
        out.append(tuple(1 if draw(st.booleans()) else d for d in base[len(base) - r:]))
    return out


def _axes(draw, rank):
    if draw(st.booleans()):
        return None
    axes = draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank)) if rank else []
    return [a - rank if draw(st.booleans()) else a for a in axes]


class Case:
    """Arrays, attrs, and ``wiring``: which array feeds each op input (repeats = fan-out)."""

    def __init__(self, arrays, attrs=None, wiring=None):
        self.arrays, self.attrs = arrays, attrs or {}
        self.wiring = list(range(len(arrays))) if wiring is None else wiring


CASES: dict = {}


def case(*ops):
    def deco(fn):
        for op in ops:
            CASES[op] = fn
        return fn
    return deco


@case("neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "erf", "relu", "sigmoid", "gelu", "cast")
def _unary(op, draw, rng):
    kind = {"log": "positive", "sqrt": "positive", "abs": "nonzero", "relu": "nonzero"}.get(op)
    attrs = {"gelu": lambda: {"approximate": draw(st.sampled_from(["none", "tanh"]))},
             "cast": lambda: {"dtype": "float64"}}.get(op, dict)()
    return Case([_values(rng, _shape(draw), kind)], attrs)


@case("add", "subtract", "multiply", "divide", "power", "maximum", "minimum")
def _binary(op, draw, rng):
    tied = draw(st.booleans())
    sa, sb = (_shape(draw),) * 2 if tied else _bshapes(draw, 2)
    if op in ("maximum", "minimum"):
        a, b = _distinct(rng, sa, sb)
    elif op == "power":
        a, b = _values(rng, sa, "positive"), rng.uniform(-2.0, 2.0, sb)
    elif op == "divide":
        a, b = _values(rng, sa, None), _values(rng, sb, "nonzero")
    else:
        a, b = _values(rng, sa, None), _values(rng, sb, None)
    if tied:  # op(x, x): both inputs are the same value
        x = _values(rng, sa, "positive" if op in ("power", "divide") else None)
        return Case([x], wiring=[0, 0])
    return Case([a, b])


@case("where")
def _where(op, draw, rng):
    sc, sa, sb = _bshapes(draw, 3)
    return Case([rng.random(sc) < 0.5, _values(rng, sa, None), _values(rng, sb, None)])


@case("reduce_sum", "reduce_mean", "reduce_max", "reduce_min")
def _reduce(op, draw, rng):
    s = _shape(draw)
    x = _distinct(rng, s)[0] if op in ("reduce_max", "reduce_min") else _values(rng, s, None)
    return Case([x], {"axes": _axes(draw, len(s)), "keepdims": draw(st.booleans())})


@case("matmul")
def _matmul(op, draw, rng):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    ba, bb = (s[:2] for s in _bshapes(draw, 2))
    sa = (k,) if draw(st.booleans()) else ba + (m, k)
    sb = (k,) if draw(st.booleans()) else bb + (k, n)
    if len(sa) == 1 and len(sb) == 1 and draw(st.booleans()):
        return Case([_values(rng, sa, None)], wiring=[0, 0])  # x @ x
    return Case([_values(rng, sa, None), _values(rng, sb, None)])


@case("reshape")
def _reshape(op, draw, rng):
    s = _shape(draw)
    n = int(np.prod(s, dtype=np.int64))
    target = draw(st.sampled_from([[-1], [n, 1], list(reversed(s)), [1, *s], [-1, 1]]))
    return Case([_values(rng, s, None)], {"shape": target})


@case("transpose")
def _transpose(op, draw, rng):
    s = _shape(draw)
    perm = draw(st.none() | st.permutations(list(range(len(s)))))
    return Case([_values(rng, s, None)], {"perm": None if perm is None else list(perm)})


@case("broadcast_to")
def _broadcast_to(op, draw, rng):
    target = _shape(draw)
    r = draw(st.integers(0, len(target)))
    s = tuple(1 if draw(st.booleans()) else d for d in target[len(target) - r:])
    return Case([_values(rng, s, None)], {"shape": list(target)})


@case("slice")
def _slice(op, draw, rng):
    s = _shape(draw, min_rank=1, hi=5)
    axes = draw(st.lists(st.integers(0, len(s) - 1), unique=True, min_size=1, max_size=len(s)))
    starts = [draw(st.integers(-s[a], s[a])) for a in axes]
    stops = [draw(st.sampled_from([draw(st.integers(-s[a], s[a] + 1)), 2 ** 62])) for a in axes]
    steps = [draw(st.integers(1, 3)) for _ in axes]
    return Case([_values(rng, s, None)], {"axes": axes, "starts": starts, "stops": stops, "steps": steps})


@case("pad")
def _pad(op, draw, rng):
    s = _shape(draw)
    pads = [draw(st.integers(0, 2)) for _ in range(2 * len(s))]
    interior = [draw(st.integers(0, 2)) for _ in s]
    return Case([_values(rng, s, None)], {"pads": pads, "interior": interior, "value": 1.5})


@case("concat")
def _concat(op, draw, rng):
    s = _shape(draw, min_rank=1)
    axis = draw(st.integers(-len(s), len(s) - 1))
    if draw(st.booleans()):
        return Case([_values(rng, s, None)], {"axis": axis}, wiring=[0, 0])  # concat(x, x)
    shapes = [s[:axis % len(s)] + (draw(st.integers(1, 3)),) + s[axis % len(s) + 1:] for _ in range(draw(st.integers(1, 3)))]
    return Case([_values(rng, sh, None) for sh in shapes], {"axis": axis})


@case("gather", "scatter_add")
def _gather(op, draw, rng):
    s = _shape(draw, min_rank=1)
    axis = draw(st.integers(-len(s), len(s) - 1))
    d = s[axis]
    idx = rng.integers(-d, d, _shape(draw, max_rank=2)).astype(draw(st.sampled_from(["int64", "int32"])))  # repeats
    x = _values(rng, s, None)
    if op == "gather":
        return Case([x, idx], {"axis": axis})
    a = axis % len(s)
    upd = _values(rng, s[:a] + idx.shape + s[a + 1:], None)
    return Case([x, idx, upd], {"axis": axis})


@case("softmax", "log_softmax")
def _softmax(op, draw, rng):
    s = _shape(draw, min_rank=1)
    return Case([_values(rng, s, None)], {"axis": draw(st.integers(-len(s), len(s) - 1))})


@case("layer_norm")
def _layer_norm(op, draw, rng):
    s = _shape(draw, min_rank=1, lo=2)
    axis = draw(st.integers(-len(s), len(s) - 1))
    extra = [_values(rng, s[axis % len(s):], None) for _ in range(draw(st.integers(0, 2)))]
    return Case([_values(rng, s, None), *extra], {"axis": axis, "epsilon": 1e-5})


@case("linear")
def _linear(op, draw, rng):
    s = _shape(draw, min_rank=1)
    out = draw(st.integers(1, 3))
    extra = [_values(rng, (out,), None)] if draw(st.booleans()) else []
    return Case([_values(rng, s, None), _values(rng, (out, s[-1]), None), *extra])


@case("embedding")
def _embedding(op, draw, rng):
    num = draw(st.integers(1, 4))
    idx = rng.integers(0, num, _shape(draw, max_rank=2))
    return Case([idx, _values(rng, (num, draw(st.integers(1, 3))), None)])


@case("dropout")
def _dropout(op, draw, rng):
    return Case([_values(rng, _shape(draw), None), np.int64(draw(st.integers(0, 2 ** 40)))],
                {"p": draw(st.sampled_from([0.0, 0.25, 0.5]))})


def _window(draw, h):
    k = draw(st.integers(1, min(3, h)))
    return k, draw(st.integers(1, 2)), draw(st.integers(0, k // 2))


@case("conv2d")
def _conv2d(op, draw, rng):
    groups = draw(st.integers(1, 2))
    n, cg, og, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2)), \
        draw(st.integers(3, 5)), draw(st.integers(3, 5))
    (kh, sh, ph), (kw, sw, pw) = _window(draw, 3), _window(draw, 3)
    dil = [draw(st.integers(1, 2)) if k > 1 and (h if i == 0 else w) >= 2 * k - 1 else 1 for i, k in enumerate((kh, kw))]
    extra = [_values(rng, (og * groups,), None)] if draw(st.booleans()) else []
    return Case([_values(rng, (n, cg * groups, h, w), None), _values(rng, (og * groups, cg, kh, kw), None), *extra],
                {"strides": [sh, sw], "pads": [ph, pw, ph, pw], "dilations": dil, "groups": groups})


@case("max_pool2d", "avg_pool2d")
def _pool(op, draw, rng):
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(2, 5)), draw(st.integers(2, 5)))
    (kh, sh, ph), (kw, sw, pw) = _window(draw, s[2]), _window(draw, s[3])
    attrs = {"kernel_shape": [kh, kw], "strides": draw(st.sampled_from([None, [sh, sw]])), "pads": [ph, pw, ph, pw]}
    if op == "avg_pool2d":
        attrs["count_include_pad"] = draw(st.booleans())
        return Case([_values(rng, s, None)], attrs)
    return Case(_distinct(rng, s), attrs)


FD_SETTINGS = settings(max_examples=10, deadline=None, database=None, derandomize=True,
                       suppress_health_check=[HealthCheck.too_slow])


def _loss_fns(op, c: Case, rng, fan_out):
    """The same scalar loss in numpy (the op's numpy implementation) and in jag ops.

    loss = sum(W * y) [+ sum(y * y) / 2 + sum(V_i * x_i * x_i)]: the second form uses y and
    every input more than once, so cotangents must be summed (fan-out)."""
    norm = check_attrs(OPS[op], c.attrs)
    y0 = IMPLS[op](*[c.arrays[k] for k in c.wiring], **norm)
    w = rng.standard_normal(np.shape(y0))
    diff = [i for i, a in enumerate(c.arrays) if np.asarray(a).dtype.kind == "f"
            and any(OPS[op].port_for_input(p).name in OPS[op].differentiable for p, k in enumerate(c.wiring) if k == i)]
    vs = {i: rng.standard_normal(np.shape(c.arrays[i])) for i in diff}

    def np_loss(arrays):
        y = IMPLS[op](*[arrays[k] for k in c.wiring], **norm)
        total = np.sum(w * y)
        if fan_out:
            total += 0.5 * np.sum(y * y) + sum(np.sum(vs[i] * arrays[i] * arrays[i]) for i in diff)
        return total

    def jag_loss(*xs):
        y = jag.apply(op, *[xs[k] for k in c.wiring], **c.attrs)
        total = (y * w).sum()
        if fan_out:
            total = total + (y * y).sum() * 0.5 + sum((xs[i] * xs[i] * vs[i]).sum() for i in diff)
        return total

    return np_loss, jag_loss, diff


def finite_differences(np_loss, arrays, i, h=1e-5):
    x = arrays[i]
    out = np.zeros(np.shape(x))
    for idx in np.ndindex(*np.shape(x)):
        plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
        plus[i][idx] += h
        minus[i][idx] -= h
        out[idx] = (np_loss(plus) - np_loss(minus)) / (2 * h)
    return out


@pytest.mark.parametrize("op", DIFFERENTIABLE)
@FD_SETTINGS
@given(data=st.data())
def test_gradients_match_finite_differences(op, data):
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    c = CASES[op](op, data.draw, rng)
    fan_out = data.draw(st.booleans(), label="fan_out")
    np_loss, jag_loss, diff = _loss_fns(op, c, rng, fan_out)
    arrays = [np.array(a) for a in c.arrays]
    assert diff, f"{op}: the case has no differentiable float input"

    grads = jag.grad(jag_loss, argnums=tuple(diff))(*arrays)   # composites through their lowering
    leaves = [jag.constant(a) for a in arrays]
    jag_loss(*leaves).backward()                                # eager: composites recorded as such
    for i, g in zip(diff, grads):
        fd = finite_differences(np_loss, arrays, i)
        assert g.dtype == "float64" and g.shape == np.shape(arrays[i])
        np.testing.assert_allclose(g.numpy(), fd, rtol=1e-5, atol=1e-6, err_msg=f"{op}: d/d input {i} (jag.grad)")
        np.testing.assert_allclose(leaves[i].grad.numpy(), fd, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{op}: d/d input {i} (backward)")


# ====================================================================== kinks, ties, special values

def test_ties_share_the_gradient_as_in_jax():
    g = jag.grad(lambda x: jag.max(x))(np.array([1.0, 3.0, 3.0, 2.0]))
    np.testing.assert_array_equal(g.numpy(), [0, 0.5, 0.5, 0])
    ga, gb = jag.grad(lambda a, b: jag.maximum(a, b).sum(), argnums=(0, 1))(np.array([1.0, 2.0, 5.0]),
                                                                           np.array([1.0, 3.0, 4.0]))
    np.testing.assert_array_equal(ga.numpy(), [0.5, 0, 1])
    np.testing.assert_array_equal(gb.numpy(), [0.5, 1, 0])
    np.testing.assert_array_equal(jag.grad(lambda x: jag.abs(x).sum())(np.array([-2.0, 0.0, 3.0])).numpy(), [-1, 0, 1])
    np.testing.assert_array_equal(jag.grad(lambda x: jag.relu(x).sum())(np.array([-1.0, 0.0, 2.0])).numpy(), [0, 0.5, 1])


def test_power_at_zero_has_no_nan():
    # d/db a^b at a = 0 is 0 (not 0 * log 0); d/da a^0 is 0 (not 0 * a^-1)
    da, db = jag.grad(lambda a, b: (a ** b).sum(), argnums=(0, 1))(np.array([0.0, 2.0, 0.0]), np.array([2.5, 0.0, 0.0]))
    np.testing.assert_allclose(da.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(db.numpy(), [0.0, math.log(2.0), 0.0])
    g = jag.grad(lambda x: jag.sqrt(x * x + 1.0).sum())(np.zeros(2))
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


# ====================================================================== transforms, pytrees, aux

def mlp_loss(params, x, labels):
    h = jag.gelu(x @ params["l1"]["w"] + params["l1"]["b"])
    h = jag.layer_norm(h)
    logits = h @ params["l2"]["w"] + params["l2"]["b"]
    logp = jag.log_softmax(logits, axis=-1)
    picked = jag.take(logp.reshape(-1), jag.arange(labels.shape[0]) * logits.shape[1] + labels)
    return -picked.mean()


def mlp_params(rng, dtype="float64"):
    return {"l1": {"w": rng.standard_normal((4, 5)).astype(dtype), "b": rng.standard_normal(5).astype(dtype)},
            "l2": {"w": rng.standard_normal((5, 3)).astype(dtype), "b": rng.standard_normal(3).astype(dtype)}}


def _fd_tree(f, params, *args, h=1e-6):
    out = {}
    for k1, sub in params.items():
        out[k1] = {}
        for k2, v in sub.items():
            g = np.zeros_like(v)
            for idx in np.ndindex(*v.shape):
                p = {a: {b: c.copy() for b, c in s.items()} for a, s in params.items()}
                p[k1][k2][idx] += h
                up = float(f(p, *args))
                p[k1][k2][idx] -= 2 * h
                g[idx] = (up - float(f(p, *args))) / (2 * h)
            out[k1][k2] = g
    return out


def test_grad_of_a_pytree_of_params():
    rng = np.random.default_rng(0)
    params, x, labels = mlp_params(rng), rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    g = jag.grad(mlp_loss)(params, x, labels)
    assert list(g) == ["l1", "l2"] and list(g["l1"]) == ["w", "b"]
    want = _fd_tree(mlp_loss, params, x, labels)
    for k1 in params:
        for k2 in params[k1]:
            np.testing.assert_allclose(g[k1][k2].numpy(), want[k1][k2], rtol=1e-6, atol=1e-8)


def test_value_and_grad_argnums_and_aux():
    def f(x, y, scale):
        z = (x * y).sum() * scale
        return z, {"z2": z * 2}

    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    (value, aux), (gx, gy) = jag.value_and_grad(f, argnums=(0, 1), has_aux=True)(x, y, 2.0)
    assert float(value) == 2.0 and float(aux["z2"]) == 4.0
    np.testing.assert_array_equal(gx.numpy(), 2 * y)
    np.testing.assert_array_equal(gy.numpy(), 2 * x)
    gs, aux = jag.grad(f, argnums=2, has_aux=True)(x, y, 2.0)
    assert float(gs) == 1.0 and float(aux["z2"]) == 4.0
    assert float(jag.grad(lambda a, b: a * b, argnums=-1)(3.0, 4.0)) == 3.0


def test_vjp_of_a_non_scalar_output():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([0.5, -1.0, 2.0])
    out, pull = jag.vjp(lambda x, w: {"y": jag.tanh(x * w), "s": x.sum(axis=0)}, x, w)
    ct = {"y": np.ones((2, 3)), "s": np.array([1.0, 2.0, 3.0])}
    gx, gw = pull(ct)
    d = 1 - np.tanh(x * w) ** 2
    np.testing.assert_allclose(gx.numpy(), d * w + np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(gw.numpy(), (d * x).sum(axis=0))
    np.testing.assert_allclose(out["y"].numpy(), np.tanh(x * w))
    gx, gw = pull({"y": np.zeros((2, 3)), "s": None})       # None: no cotangent for that output
    np.testing.assert_array_equal(gx.numpy(), 0 * x)
    with pytest.raises(E.ShapeError, match="cotangent"):
        pull({"y": np.ones((3, 2)), "s": np.ones(3)})
    (_, pull2, aux) = jag.vjp(lambda x: (x * 2, "aux"), 1.5, has_aux=True)
    assert aux == "aux" and float(pull2(1.0)[0]) == 2.0


def test_no_gradient_for_integers_indices_and_stop_gradient():
    x, idx = np.array([1.0, 2.0, 3.0]), np.array([2, 2, 0])
    gx, gi = jag.grad(lambda x, i: (jag.take(x, i) * x[i]).sum(), argnums=(0, 1))(x, idx)
    np.testing.assert_array_equal(gx.numpy(), [2 * 1.0, 0, 2 * 2 * 3.0])
    assert gi is None                                               # integer argument: no gradient
    g = jag.grad(lambda p: (p["w"] * p["n"]).sum())({"w": x, "n": np.array(3)})
    assert g["n"] is None and np.array_equal(g["w"].numpy(), [3, 3, 3])
    # comparisons, sign, argmax, a cast to int: no gradient flows (zeros, not an error)
    f = lambda x: (jag.sign(x) * x).sum() + jag.astype(x, "int64").astype("float64").sum() \
        + jag.where(x > 1.5, x, 0.0).sum() + jag.argmax(x).astype("float64")   # noqa: E731
    np.testing.assert_array_equal(jag.grad(f)(x).numpy(), [1, 2, 2])
    assert float(jag.grad(lambda x: x * jag.stop_gradient(x))(3.0)) == 3.0
    np.testing.assert_array_equal(jag.grad(lambda x, y: (x * 2).sum(), argnums=1)(x, x).numpy(), [0, 0, 0])


def test_grad_errors():
    with pytest.raises(E.ShapeError, match="scalar"):
        jag.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(E.DTypeError, match="float"):
        jag.grad(lambda x: jag.argmax(x))(np.ones(3))
    with pytest.raises(ValueError, match="argnums"):
        jag.grad(lambda x: x, argnums=1)(1.0)
    with pytest.raises(E.ShapeError, match="scalar"):
        (jag.constant(np.ones(3)) * 2).backward()


def test_one_tensor_passed_twice_gets_each_partial():
    g = jag.trace(lambda x: jag.grad(lambda a, b: a * b * b, argnums=(0, 1))(x, x), 3.0)
    assert [float(v) for v in g(3.0)] == [9.0, 18.0]


# ====================================================================== traced gradients are graphs

def test_traced_gradient_is_a_core_graph_that_saves_loads_and_runs_on_c(tmp_path):
    rng = np.random.default_rng(1)
    params, x, labels = mlp_params(rng), rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    eager = jag.value_and_grad(mlp_loss)(params, x, labels)
    graph = jag.trace(jag.value_and_grad(mlp_loss), params, x, labels)
    assert core_only(graph), {n.op for n in graph.nodes}
    graph.validate()
    loaded = jag.load(graph.save(tmp_path / "grad.json"))
    for backend in ("python", "c"):
        value, g = loaded.execute(params, x, labels, backend=backend)
        np.testing.assert_allclose(value, eager[0].numpy(), rtol=1e-12)
        for k1 in params:
            for k2 in params[k1]:
                np.testing.assert_allclose(g[k1][k2], eager[1][k1][k2].numpy(), rtol=1e-10, atol=1e-12,
                                           err_msg=f"{backend}: {k1}.{k2}")


def test_traced_gradient_with_symbolic_dims():
    def f(w, x):
        y = jag.concatenate([x[1:], x[:1] * 2.0, x[-2:]], axis=0) @ w     # slice, concat, matmul
        return (jag.softmax(y, axis=-1) * jag.sigmoid(y)).mean() + jag.max(x[::2])

    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 4))
    graph = jag.trace(jag.grad(f, argnums=(0, 1)), w, rng.standard_normal((5, 3)), symbolic={"x": ["N", None]})
    assert core_only(graph)
    for n in (5, 8):
        x = rng.standard_normal((n, 3))
        got = graph(w, x)
        want = jag.grad(f, argnums=(0, 1))(w, x)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-14)


def test_symbolic_concat_gradient_between_symbolic_parts():
    def f(x, w):
        return (jag.sin(jag.concatenate([x, x * w, x], axis=0)) * jag.arange(3 * x.shape[0]).astype("float64")).sum()

    rng = np.random.default_rng(8)
    graph = jag.trace(jag.grad(f), rng.standard_normal(3), 1.5, symbolic={"x": ["N"]})
    assert core_only(graph)
    for n in (2, 5):
        x = rng.standard_normal(n)
        i = np.arange(3 * n, dtype=np.float64)
        want = np.cos(x) * i[:n] + np.cos(x * 1.5) * 1.5 * i[n:2 * n] + np.cos(x) * i[2 * n:]
        np.testing.assert_allclose(graph(x, 1.5), want, rtol=1e-12)
        np.testing.assert_allclose(jag.grad(f)(x, 1.5).numpy(), want, rtol=1e-12)


def test_symbolic_pad_and_broadcast_gradients():
    def f(x, b):
        p = jag.apply("pad", x, pads=[2, 1, 0, 1], interior=[1, 0], value=0.0)
        return (jag.sin(p) * jag.broadcast_to(b, [p.shape[0], 4])).sum() + (x * b[:3]).sum()

    rng = np.random.default_rng(3)
    b = rng.standard_normal(4)
    graph = jag.trace(jag.grad(f, argnums=(0, 1)), rng.standard_normal((3, 3)), b, symbolic={"x": ["N", None]})
    for n in (1, 4):
        x = rng.standard_normal((n, 3))
        for a, want in zip(graph(x, b), jag.grad(f, argnums=(0, 1))(x, b)):
            np.testing.assert_allclose(a, want.numpy(), rtol=1e-12, atol=1e-14)


def test_training_step_traces_into_one_graph():
    def step(params, x, labels):
        loss, g = jag.value_and_grad(mlp_loss)(params, x, labels)
        return {k: {n: p - 0.1 * g[k][n] for n, p in sub.items()} for k, sub in params.items()}, loss

    rng = np.random.default_rng(4)
    params, x, labels = mlp_params(rng), rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    graph = jag.trace(step, params, x, labels)
    losses = []
    for _ in range(5):
        params, loss = graph(params, x, labels)
        losses.append(float(loss))
    assert losses == sorted(losses, reverse=True), losses


def test_dtypes_are_kept_and_loaded_graphs_differentiate(tmp_path):
    x32 = np.array([0.5, -1.5, 2.0], dtype=np.float32)
    g = jag.grad(lambda x: (jag.astype(x, "float64") ** 3).sum() + jag.exp(x).sum().astype("float64"))(x32)
    assert g.dtype == "float32"
    np.testing.assert_allclose(g.numpy(), 3 * x32.astype(np.float64) ** 2 + np.exp(x32), rtol=1e-6)
    model = jag.load(jag.trace(lambda x, w: jag.softmax(x @ w, axis=-1), np.ones((2, 3)), np.ones((3, 4)))
                     .save(tmp_path / "model.json"))
    rng = np.random.default_rng(7)
    x, w, t = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    g = jag.grad(lambda w: (model(x, w) * t).sum())(w)                 # the loaded graph is inlined
    p = model(x, w)
    np.testing.assert_allclose(g.numpy(), x.T @ (p * (t - (p * t).sum(-1, keepdims=True))), rtol=1e-12)


# ====================================================================== second order

SECOND_ORDER = [  # (f, f'' in numpy)
    (lambda x: jag.sin(x) * x, lambda x: 2 * np.cos(x) - x * np.sin(x)),
    (lambda x: jag.exp(-(x * x)), lambda x: (4 * x * x - 2) * np.exp(-x * x)),
    (lambda x: jag.log(x) / x, lambda x: (2 * np.log(x) - 3) / x ** 3),
    (lambda x: jag.tanh(x), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (lambda x: jag.sqrt(x) * jag.cos(x), lambda x: -np.cos(x) / (4 * x ** 1.5) - np.sin(x) / np.sqrt(x) - np.sqrt(x) * np.cos(x)),
    (lambda x: jag.apply("power", x, 2.5), lambda x: 2.5 * 1.5 * x ** 0.5),
    (lambda x: jag.apply("power", 1.7, x), lambda x: np.log(1.7) ** 2 * 1.7 ** x),
    (lambda x: jag.apply("erf", x), lambda x: -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    (lambda x: 1.0 / (1.0 + x * x), lambda x: (6 * x * x - 2) / (1 + x * x) ** 3),
    (lambda x: jag.abs(x) * x - x, lambda x: 2 * np.sign(x)),
    (lambda x: jag.maximum(x * x, x) + jag.minimum(x, 0.5 * x), lambda x: np.where(x * x > x, 2.0, 0.0)),
]


@pytest.mark.parametrize("k", range(len(SECOND_ORDER)))
def test_second_order_matches_analytic(k):
    f, d2 = SECOND_ORDER[k]
    g2 = jag.grad(jag.grad(f))
    for x in (0.3, 1.3, 2.1):
        np.testing.assert_allclose(float(g2(x)), d2(x), rtol=1e-12, atol=1e-12, err_msg=f"x={x}")
    assert float(g2(-0.7 if k not in (2, 4, 5) else 0.7)) == pytest.approx(d2(-0.7 if k not in (2, 4, 5) else 0.7))


def test_mixed_third_order_and_hessian_vector_products():
    d_dx_dy = jag.grad(jag.grad(lambda x, y: jag.sin(x * y), argnums=1), argnums=0)
    x, y = 0.8, 1.9
    assert float(d_dx_dy(x, y)) == pytest.approx(math.cos(x * y) - x * y * math.sin(x * y), rel=1e-12)
    assert float(jag.grad(jag.grad(jag.grad(jag.sin)))(0.4)) == pytest.approx(-math.cos(0.4), rel=1e-12)
    f = lambda x: (jag.exp(x) * jag.tanh(x)).sum()  # noqa: E731
    v, xs = np.array([1.0, -2.0, 0.5]), np.array([0.1, 0.7, -1.2])
    hvp = jag.grad(lambda x: (jag.grad(f)(x) * v).sum())(xs)
    t = np.tanh(xs)
    d2 = np.exp(xs) * (t + 2 * (1 - t * t) - 2 * t * (1 - t * t))
    np.testing.assert_allclose(hvp.numpy(), d2 * v, rtol=1e-12)
    graph = jag.trace(jag.grad(jag.grad(lambda x: jag.sin(x) * x)), 1.3)
    assert core_only(graph) and float(graph(0.4)) == pytest.approx(2 * math.cos(0.4) - 0.4 * math.sin(0.4))


# ====================================================================== loss.backward()

def test_backward_fills_leaf_grads():
    rng = np.random.default_rng(5)
    p = mlp_params(rng)
    x, labels = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    leaves = {k: {n: jag.constant(v) for n, v in sub.items()} for k, sub in p.items()}
    loss = mlp_loss(leaves, x, labels)
    assert leaves["l1"]["w"].grad is None
    loss.backward()
    want = jag.grad(mlp_loss)(p, x, labels)
    for k in p:
        for n in p[k]:
            np.testing.assert_allclose(leaves[k][n].grad.numpy(), want[k][n].numpy(), rtol=1e-12, atol=1e-14)
    loss.backward()  # overwritten, not accumulated
    np.testing.assert_allclose(leaves["l2"]["b"].grad.numpy(), want["l2"]["b"].numpy(), rtol=1e-12)
    graph = jag.trace(lambda w: ((jag.tanh(w) * w).sum().backward(), w.grad)[1], np.array([0.5, -1.0]))
    w = np.array([0.2, 1.5])
    np.testing.assert_allclose(graph(w), np.tanh(w) + w * (1 - np.tanh(w) ** 2))


# ====================================================================== PyTorch

def test_against_pytorch_autograd():
    try:
        import torch
    except ImportError:
        pytest.skip("torch not installed")
    rng = np.random.default_rng(6)
    p = mlp_params(rng)
    x, labels = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    g = jag.grad(mlp_loss)(p, x, labels)
    tp = {k: {n: torch.tensor(v, requires_grad=True) for n, v in sub.items()} for k, sub in p.items()}
    h = torch.nn.functional.gelu(torch.tensor(x) @ tp["l1"]["w"] + tp["l1"]["b"])
    h = torch.nn.functional.layer_norm(h, (5,))
    logits = h @ tp["l2"]["w"] + tp["l2"]["b"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
    for k in p:
        for n in p[k]:
            np.testing.assert_allclose(g[k][n].numpy(), tp[k][n].grad.numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{k}.{n}")

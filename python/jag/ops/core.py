"""Core ops: numpy implementation and op-specific shape rule, side by side, one block per op.

The numpy functions here are the normative semantics of JAG's core opset (spec/OPS.md);
every runtime is checked against them by the conformance suite. Kernels receive concrete
attrs (symbolic dims already evaluated) and never see bad shapes: the shape rule runs
first (prepare/eval split, as in tflite-micro).

Each differentiable op also has its VJP rule here (``@vjp``), with a one-line formula:
``rule(ct, *inputs, out=output, **attrs) -> [cotangent or None per input]``, written with
jag ops so the backward pass is recorded like the forward one (see :mod:`jag.autodiff`).
The formulas and their choices at kinks (ties of max, abs at 0, ...) follow JAX.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import AttrError, IndexOutOfRangeError, ShapeError
from ..symbolic import exact_div, shape_str
from . import impl, shape_rule, vjp
from .shapes import broadcast_shapes, norm_axes, norm_axis


# ------------------------------------------------------------------ helpers of the VJP rules
def _apply(op, *inputs, **attrs):
    from ..tensor import apply  # late import: tensor.py imports this package
    return apply(op, *inputs, **attrs)


def _const(value, dtype):
    from ..tensor import constant
    return constant(value, dtype)


def zeros(shape, dtype):
    """A zero tensor of ``shape`` (dims may be symbolic) as broadcast_to of a scalar."""
    return _apply("broadcast_to", _const(0, dtype), shape=list(shape))


def unbroadcast(ct, shape):
    """Sum the cotangent ``ct`` of a broadcast result back to an operand's ``shape``.

    Leading axes that broadcasting added and axes where ``shape`` has a 1 (and ``ct`` not)
    are summed; a symbolic dim only ever broadcasts from 1, so the check is by equality.
    """
    shape = tuple(shape)
    if tuple(ct.shape) == shape:
        return ct
    lead = len(ct.shape) - len(shape)
    axes = list(range(lead)) + [lead + i for i, d in enumerate(shape)
                                if isinstance(d, int) and d == 1 and not (isinstance(ct.shape[lead + i], int)
                                                                          and ct.shape[lead + i] == 1)]
    if axes:
        ct = _apply("reduce_sum", ct, axes=axes, keepdims=True)
    return ct if tuple(ct.shape) == shape else _apply("reshape", ct, shape=list(shape))


def _unary_vjp(op, formula):
    """Register the rule of a unary elementwise op from ``formula(ct, x, out) -> dx``."""
    vjp(op)(lambda ct, x, *, out: [formula(ct, x, out)])

# ------------------------------------------------------------------ unary
impl("neg")(np.negative)
impl("abs")(np.absolute)
impl("sign")(np.sign)
impl("exp")(np.exp)
impl("log")(np.log)
impl("sqrt")(np.sqrt)
impl("sin")(np.sin)
impl("cos")(np.cos)
impl("tanh")(np.tanh)

_unary_vjp("neg", lambda ct, x, out: -ct)                                  # d(-x) = -1
_unary_vjp("abs", lambda ct, x, out: ct * _apply("sign", x))                # d|x| = sign(x) (0 at 0, as JAX)
_unary_vjp("exp", lambda ct, x, out: ct * out)                              # d exp(x) = exp(x)
_unary_vjp("log", lambda ct, x, out: ct / x)                                # d log(x) = 1/x
_unary_vjp("sqrt", lambda ct, x, out: ct / (out * 2))                       # d sqrt(x) = 1/(2 sqrt(x))
_unary_vjp("sin", lambda ct, x, out: ct * _apply("cos", x))                 # d sin(x) = cos(x)
_unary_vjp("cos", lambda ct, x, out: -(ct * _apply("sin", x)))              # d cos(x) = -sin(x)
_unary_vjp("tanh", lambda ct, x, out: ct * (1 - out * out))                 # d tanh(x) = 1 - tanh(x)^2

_erf_f64 = np.frompyfunc(math.erf, 1, 1)


@impl("erf")
def _erf(x):
    # numpy has no erf; C99 erf (math.erf) in float64, rounded to x's dtype.
    # (np.asarray: on a 0-d input the object ufunc returns a bare Python float)
    return np.asarray(_erf_f64(x.astype(np.float64)), dtype=np.float64).astype(x.dtype).reshape(x.shape)


# d erf(x) = 2/sqrt(pi) exp(-x^2)
_unary_vjp("erf", lambda ct, x, out: ct * (_apply("exp", -(x * x)) * (2 / math.sqrt(math.pi))))


# ------------------------------------------------------------------ binary, compare, where
impl("add")(np.add)
impl("subtract")(np.subtract)
impl("multiply")(np.multiply)
impl("divide")(np.true_divide)
impl("power")(np.power)
impl("maximum")(np.maximum)
impl("minimum")(np.minimum)
impl("equal")(np.equal)
impl("less")(np.less)
impl("where")(np.where)


@vjp("add")       # d(a + b) = (1, 1)
def _add_vjp(ct, a, b, *, out):
    return [unbroadcast(ct, a.shape), unbroadcast(ct, b.shape)]


@vjp("subtract")  # d(a - b) = (1, -1)
def _subtract_vjp(ct, a, b, *, out):
    return [unbroadcast(ct, a.shape), unbroadcast(-ct, b.shape)]


@vjp("multiply")  # d(a b) = (b, a)
def _multiply_vjp(ct, a, b, *, out):
    return [unbroadcast(ct * b, a.shape), unbroadcast(ct * a, b.shape)]


@vjp("divide")    # d(a / b) = (1/b, -a/b^2 = -out/b)
def _divide_vjp(ct, a, b, *, out):
    return [unbroadcast(ct / b, a.shape), unbroadcast(-(ct * out / b), b.shape)]


@vjp("power")     # d(a^b) = (b a^(b-1), a^b log a); JAX: 0 where b == 0 / where a == 0 (log(a) NaN for a < 0)
def _power_vjp(ct, a, b, *, out):
    zero, one = _const(0, a.dtype), _const(1, a.dtype)
    da = _apply("where", _apply("equal", b, zero), zero, b * _apply("power", a, b - 1))
    safe_a = _apply("where", _apply("equal", a, zero), one, a)
    return [unbroadcast(ct * da, a.shape), unbroadcast(ct * (out * _apply("log", safe_a)), b.shape)]


def _balanced_eq(x, out, y):
    """1 where x alone is the result of max/min, 0.5 where x and y tie, else 0 (JAX's rule)."""
    zero, half, one = (_const(v, out.dtype) for v in (0, 0.5, 1))
    return _apply("where", _apply("equal", x, out), _apply("where", _apply("equal", y, out), half, one), zero)


@vjp("maximum")   # d max(a, b) = (a > b, b > a); ties give each 1/2 (JAX)
def _maximum_vjp(ct, a, b, *, out):
    return [unbroadcast(ct * _balanced_eq(a, out, b), a.shape), unbroadcast(ct * _balanced_eq(b, out, a), b.shape)]


vjp("minimum")(_maximum_vjp)  # d min(a, b) = (a < b, b < a); ties give each 1/2 (JAX)


@vjp("where")     # d where(c, a, b) = (none, c, not c)
def _where_vjp(ct, condition, a, b, *, out):
    zero = _const(0, ct.dtype)
    return [None, unbroadcast(_apply("where", condition, ct, zero), a.shape),
            unbroadcast(_apply("where", condition, zero, ct), b.shape)]


# ------------------------------------------------------------------ reductions
@impl("reduce_sum")
def _reduce_sum(x, *, axes, keepdims):
    return np.sum(x, axis=tuple(norm_axes(axes, x.ndim)), keepdims=keepdims, dtype=x.dtype)


def _keep_reduced(t, x_shape, axes, keepdims):
    """``t`` (a reduction's output or cotangent) reshaped to the keepdims=True shape."""
    if keepdims:
        return t
    axes = norm_axes(axes, len(x_shape))
    return _apply("reshape", t, shape=[1 if i in axes else d for i, d in enumerate(x_shape)])


@vjp("reduce_sum")  # d sum(x) = 1: broadcast the cotangent back over the reduced axes
def _reduce_sum_vjp(ct, x, *, out, axes, keepdims):
    ct = _keep_reduced(ct, x.shape, axes, keepdims)
    return [ct if tuple(ct.shape) == tuple(x.shape) else _apply("broadcast_to", ct, shape=list(x.shape))]


def lowest(dtype):
    """The identity of max: -inf, the minimum integer, or False."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


@impl("reduce_max")
def _reduce_max(x, *, axes, keepdims):
    return np.max(x, axis=tuple(norm_axes(axes, x.ndim)), keepdims=keepdims, initial=lowest(x.dtype))


@vjp("reduce_max")  # d max(x) = (x == max) / count(x == max): ties share equally (JAX)
def _reduce_max_vjp(ct, x, *, out, axes, keepdims):
    hit = _apply("cast", _apply("equal", x, _keep_reduced(out, x.shape, axes, keepdims)), dtype=x.dtype)
    count = _apply("reduce_sum", hit, axes=axes, keepdims=True)
    return [hit * (_keep_reduced(ct, x.shape, axes, keepdims) / count)]


# ------------------------------------------------------------------ linalg
impl("matmul")(np.matmul)


def _swap_last(t):
    r = len(t.shape)
    return _apply("transpose", t, perm=list(range(r - 2)) + [r - 1, r - 2])


@vjp("matmul")  # d(a @ b) = (ct @ b^T, a^T @ ct), 1-D operands as numpy.matmul promotes them
def _matmul_vjp(ct, a, b, *, out):
    a2 = _apply("reshape", a, shape=[1, a.shape[0]]) if len(a.shape) == 1 else a
    b2 = _apply("reshape", b, shape=[b.shape[0], 1]) if len(b.shape) == 1 else b
    full = list(ct.shape)
    if len(a.shape) == 1:
        full.insert(len(full) - (0 if len(b.shape) == 1 else 1), 1)
    if len(b.shape) == 1:
        full.append(1)
    ct2 = _apply("reshape", ct, shape=full) if len(full) != len(ct.shape) else ct
    da = unbroadcast(_apply("matmul", ct2, _swap_last(b2)), a2.shape)
    db = unbroadcast(_apply("matmul", _swap_last(a2), ct2), b2.shape)
    return [da if len(a.shape) > 1 else _apply("reshape", da, shape=list(a.shape)),
            db if len(b.shape) > 1 else _apply("reshape", db, shape=list(b.shape))]


# ------------------------------------------------------------------ movement
def _prod(dims):
    out = 1
    for d in dims:
        out = out * d
    return out


@shape_rule("reshape")
def _reshape_shape(shapes, attrs):
    (x,) = shapes
    target = list(attrs["shape"])
    count = _prod(x)
    holes = [i for i, d in enumerate(target) if isinstance(d, int) and d == -1]
    if len(holes) > 1:
        raise AttrError(f"attr 'shape' {shape_str(target)} has more than one -1", field="attrs.shape")
    for d in target:
        if isinstance(d, int) and d < -1:
            raise AttrError(f"attr 'shape' {shape_str(target)} has a negative dim", field="attrs.shape")
    if holes:
        known = _prod(d for i, d in enumerate(target) if i != holes[0])
        if known == 0:
            raise ShapeError(f"cannot infer -1 in {shape_str(target)}: the other dims multiply to 0")
        if isinstance(count, int) and isinstance(known, int):
            if count % known:
                raise ShapeError(f"cannot reshape {shape_str(x)} ({count} elements) to {shape_str(target)}")
            target[holes[0]] = count // known
        else:
            inferred = exact_div(count, known)
            if inferred is None:
                raise ShapeError(f"cannot infer -1 in {shape_str(target)} from {shape_str(x)} symbolically; "
                                 "write the dim as an expression")
            target[holes[0]] = inferred
    if _prod(target) != count:
        raise ShapeError(f"cannot reshape {shape_str(x)} to {shape_str(target)}: element counts differ")
    return [tuple(target)]


@impl("reshape")
def _reshape(x, *, shape):
    return np.reshape(x, shape)


@vjp("reshape")  # reshape back
def _reshape_vjp(ct, x, *, out, shape):
    return [_apply("reshape", ct, shape=list(x.shape))]


def _perm(attrs, rank):
    perm = attrs["perm"]
    if perm is None:
        return list(range(rank))[::-1]
    if sorted(p % rank if rank else p for p in perm) != list(range(rank)) or not all(-rank <= p < rank for p in perm):
        raise AttrError(f"attr 'perm' {perm} is not a permutation of range({rank})", field="attrs.perm")
    return [p % rank for p in perm]


@shape_rule("transpose")
def _transpose_shape(shapes, attrs):
    (x,) = shapes
    return [tuple(x[p] for p in _perm(attrs, len(x)))]


@impl("transpose")
def _transpose(x, *, perm):
    return np.transpose(x, _perm({"perm": perm}, x.ndim))


@vjp("transpose")  # transpose by the inverse permutation
def _transpose_vjp(ct, x, *, out, perm):
    p = _perm({"perm": perm}, len(x.shape))
    return [_apply("transpose", ct, perm=[p.index(i) for i in range(len(p))])]


@shape_rule("broadcast_to")
def _broadcast_to_shape(shapes, attrs):
    (x,) = shapes
    target = tuple(attrs["shape"])
    if any(isinstance(d, int) and d < 0 for d in target):
        raise AttrError(f"attr 'shape' {shape_str(target)} has a negative dim", field="attrs.shape")
    if len(x) > len(target) or broadcast_shapes(x, target) != target:
        raise ShapeError(f"input 0 has shape {shape_str(x)}; it does not broadcast to {shape_str(target)}")
    return [target]


@impl("broadcast_to")
def _broadcast_to(x, *, shape):
    return np.broadcast_to(x, shape)


@vjp("broadcast_to")  # sum over the broadcast axes
def _broadcast_to_vjp(ct, x, *, out, shape):
    return [unbroadcast(ct, x.shape)]


_END = 2 ** 62  # stops at or above this mean "to the end" for symbolic dims


def _slice_specs(attrs, rank):
    axes, starts, stops, steps = attrs["axes"], attrs["starts"], attrs["stops"], attrs["steps"]
    steps = steps if steps is not None else [1] * len(axes)
    if not len(axes) == len(starts) == len(stops) == len(steps):
        raise AttrError(f"attrs 'axes', 'starts', 'stops', 'steps' must have equal lengths, got "
                        f"{len(axes)}, {len(starts)}, {len(stops)}, {len(steps)}", field="attrs.axes")
    for s in steps:
        if s < 1:
            raise AttrError(f"attr 'steps': step {s} must be >= 1 (reverse with gather)", field="attrs.steps")
    return list(zip(norm_axes(axes, rank), starts, stops, steps))


def _slice_len(d, start, stop, step):
    if isinstance(d, int):
        return len(range(*slice(start, stop, step).indices(d)))
    # Symbolic dim: assume the bounds fall inside the dim (checked again at run time).
    lo = start if start >= 0 else d + start
    hi = d if stop >= _END else (stop if stop >= 0 else d + stop)
    return (hi - lo + step - 1) // step


@shape_rule("slice")
def _slice_shape(shapes, attrs):
    (x,) = shapes
    out = list(x)
    for axis, start, stop, step in _slice_specs(attrs, len(x)):
        out[axis] = _slice_len(x[axis], start, stop, step)
    return [tuple(out)]


@impl("slice")
def _slice(x, *, axes, starts, stops, steps):
    index = [slice(None)] * x.ndim
    for axis, start, stop, step in _slice_specs(dict(axes=axes, starts=starts, stops=stops, steps=steps), x.ndim):
        index[axis] = slice(start, stop, step)
    return x[tuple(index)]


@vjp("slice")  # pad the cotangent back: zeros before, between (step - 1) and after the taken elements
def _slice_vjp(ct, x, *, out, axes, starts, stops, steps):
    rank = len(x.shape)
    pads, interior, symbolic = [0] * (2 * rank), [0] * rank, []
    for axis, start, stop, step in _slice_specs(dict(axes=axes, starts=starts, stops=stops, steps=steps), rank):
        d, n = x.shape[axis], out.shape[axis]
        if isinstance(d, int):
            taken = range(*slice(start, stop, step).indices(d))
            lo = taken.start if len(taken) else 0
        else:
            lo = start if start >= 0 else d + start
        hi = d - lo - (n - 1) * step - 1 if not (isinstance(n, int) and n == 0) else d - lo
        interior[axis] = step - 1 if not (isinstance(n, int) and n == 0) else 0
        for k, v in ((2 * axis, lo), (2 * axis + 1, hi)):
            if isinstance(v, int):
                pads[k] = v
            else:  # a symbolic amount of zeros: concatenated below
                symbolic.append((axis, k % 2, v))
    dx = _apply("pad", ct, pads=pads, interior=interior) if any(pads) or any(interior) else ct
    for axis, after, v in symbolic:
        z = zeros([v if i == axis else dd for i, dd in enumerate(dx.shape)], ct.dtype)
        dx = _apply("concat", *((dx, z) if after else (z, dx)), axis=axis)
    return [dx]


def _pad_specs(attrs, rank):
    pads, interior = attrs["pads"], attrs["interior"]
    interior = interior if interior is not None else [0] * rank
    if len(pads) != 2 * rank:
        raise AttrError(f"attr 'pads' needs 2*rank = {2 * rank} values, got {len(pads)}", field="attrs.pads")
    if len(interior) != rank:
        raise AttrError(f"attr 'interior' needs rank = {rank} values, got {len(interior)}", field="attrs.interior")
    if any(p < 0 for p in pads) or any(p < 0 for p in interior):
        raise AttrError("attrs 'pads' and 'interior' must be non-negative", field="attrs.pads")
    return [(pads[2 * i], pads[2 * i + 1], interior[i]) for i in range(rank)]


@shape_rule("pad")
def _pad_shape(shapes, attrs):
    (x,) = shapes
    out = []
    for d, (lo, hi, mid) in zip(x, _pad_specs(attrs, len(x))):
        if isinstance(d, int):
            out.append(lo + hi + d + max(d - 1, 0) * mid)
        else:  # a symbolic dim is assumed non-empty
            out.append(lo + hi + d + (d - 1) * mid)
    return [tuple(out)]


@impl("pad")
def _pad(x, *, pads, interior, value):
    specs = _pad_specs(dict(pads=pads, interior=interior), x.ndim)
    shape = [lo + hi + d + max(d - 1, 0) * mid for d, (lo, hi, mid) in zip(x.shape, specs)]
    fill = _cast(np.array(value, dtype=np.float64), dtype=x.dtype.name)
    out = np.full(shape, fill, dtype=x.dtype)
    out[tuple(slice(lo, lo + d + max(d - 1, 0) * mid, mid + 1) for d, (lo, hi, mid) in zip(x.shape, specs))] = x
    return out


@vjp("pad")  # slice the cotangent: the elements that came from x
def _pad_vjp(ct, x, *, out, pads, interior, value):
    specs = _pad_specs(dict(pads=pads, interior=interior), len(x.shape))
    axes = [i for i, (lo, hi, mid) in enumerate(specs) if lo or hi or mid]
    if not axes:
        return [ct]
    return [_apply("slice", ct, axes=axes, starts=[specs[i][0] for i in axes],
                   stops=[-specs[i][1] if specs[i][1] else _END for i in axes], steps=[specs[i][2] + 1 for i in axes])]


@shape_rule("concat")
def _concat_shape(shapes, attrs):
    first = shapes[0]
    if len(first) == 0:
        raise ShapeError("concat needs inputs of rank >= 1, got a scalar")
    axis = norm_axis(attrs["axis"], len(first))
    total = 0
    for i, s in enumerate(shapes):
        if len(s) != len(first) or any(a != b for j, (a, b) in enumerate(zip(s, first)) if j != axis):
            raise ShapeError(f"input {i} has shape {shape_str(s)}; expected {shape_str(first[:axis] + ('*',) + first[axis + 1:])}",
                             field=f"inputs[{i}]")
        total = total + s[axis]
    return [first[:axis] + (total,) + first[axis + 1:]]


@impl("concat")
def _concat(*xs, axis):
    return np.concatenate(xs, axis=axis)


@vjp("concat")  # slice each input's part out of the cotangent
def _concat_vjp(ct, *xs, out, axis):
    axis = norm_axis(axis, len(ct.shape))
    sizes = [x.shape[axis] for x in xs]
    cts = []
    for i in range(len(xs)):
        before, size, after = sum(sizes[:i]), sizes[i], sum(sizes[i + 1:])
        # int bounds: counted from the start while the dims before are static, else from the end
        start = before if isinstance(before, int) else -(after + size)
        stop = before + size if isinstance(before + size, int) else (-after or _END)
        if isinstance(start, int) and isinstance(stop, int):
            cts.append(_apply("slice", ct, axes=[axis], starts=[start], stops=[stop]))
        else:  # symbolic dims on both sides: gather at iota + (the count of elements before, as a tensor)
            offset = _apply("reduce_sum", zeros([before], "int64") + 1)
            idx = _apply("iota", shape=[size], axis=0, dtype="int64") + offset
            cts.append(_apply("gather", ct, idx, axis=axis))
    return cts


# ------------------------------------------------------------------ index
def check_indices(indices, n, axis, field="inputs[1]"):
    """E_INDEX unless every index is in [-n, n); returns indices mapped into [0, n)."""
    if indices.size:
        lo, hi = indices.min(), indices.max()
        if lo < -n or hi >= n:
            bad = lo if lo < -n else hi
            raise IndexOutOfRangeError(f"index {bad} is out of range for axis {axis} of size {n}", field=field)
    return np.where(indices < 0, indices + n, indices).astype(np.int64)


@shape_rule("gather")
def _gather_shape(shapes, attrs):
    x, idx = shapes
    if len(x) == 0:
        raise ShapeError("gather needs x of rank >= 1, got a scalar")
    axis = norm_axis(attrs["axis"], len(x))
    return [tuple(x[:axis]) + tuple(idx) + tuple(x[axis + 1:])]


@impl("gather")
def _gather(x, indices, *, axis):
    axis = norm_axis(axis, x.ndim)
    return np.take(x, check_indices(indices, x.shape[axis], axis), axis=axis)


@vjp("gather")  # scatter-add the cotangent into zeros (repeated indices accumulate); indices: none
def _gather_vjp(ct, x, indices, *, out, axis):
    return [_apply("scatter_add", zeros(x.shape, x.dtype), indices, ct, axis=axis), None]


@shape_rule("scatter_add")
def _scatter_add_shape(shapes, attrs):
    x, idx, upd = shapes
    expected = _gather_shape([x, idx], attrs)[0]
    if tuple(upd) != expected:
        raise ShapeError(f"input 2 (updates) has shape {shape_str(upd)}; expected {shape_str(expected)}", field="inputs[2]")
    return [tuple(x)]


@impl("scatter_add")
def _scatter_add(x, indices, updates, *, axis):
    axis = norm_axis(axis, x.ndim)
    out = x.copy()
    np.add.at(out, (slice(None),) * axis + (check_indices(indices, x.shape[axis], axis),), updates)
    return out


@vjp("scatter_add")  # d scatter_add(x, i, u) = (1, none, gather(ct, i))
def _scatter_add_vjp(ct, x, indices, updates, *, out, axis):
    return [ct, None, _apply("gather", ct, indices, axis=axis)]


# ------------------------------------------------------------------ cast
@impl("cast")
def _cast(x, *, dtype):
    target = np.dtype(dtype)
    if x.dtype.kind == "f" and target.kind in "iu":
        info = np.iinfo(target)
        t = np.trunc(x)
        with np.errstate(invalid="ignore"):
            out = np.where(np.isnan(t), 0, np.clip(t, info.min, info.max)).astype(target)
        out = np.where(t >= 2.0 ** (info.bits - (1 if target.kind == "i" else 0)), info.max, out)
        return np.asarray(out, dtype=target)
    if target.kind == "b":
        return np.asarray(x != 0)
    return np.asarray(x).astype(target)


@vjp("cast")  # cast the cotangent back between float dtypes; integer/bool ends pass no gradient
def _cast_vjp(ct, x, *, out, dtype):
    float_in, float_out = np.dtype(x.dtype).kind == "f", np.dtype(out.dtype).kind == "f"
    return [_apply("cast", ct, dtype=x.dtype) if float_in and float_out else None]


# ------------------------------------------------------------------ generators
def _check_dims(shape, what="attr 'shape'"):
    for d in shape:
        if isinstance(d, int) and d < 0:
            raise ShapeError(f"{what} {shape_str(shape)} has a negative dim")


@shape_rule("iota")
def _iota_shape(shapes, attrs):
    shape = tuple(attrs["shape"])
    _check_dims(shape)
    norm_axis(attrs["axis"], len(shape))
    return [shape]


@impl("iota")
def _iota(*, shape, axis, dtype):
    axis = norm_axis(axis, len(shape))
    line = np.arange(shape[axis], dtype=np.int64).astype(dtype)
    view = line.reshape([-1 if i == axis else 1 for i in range(len(shape))])
    return np.broadcast_to(view, shape).copy(order="C")


@shape_rule("random_uniform")
def _random_uniform_shape(shapes, attrs):
    (key,) = shapes
    if len(key) != 0:
        raise ShapeError(f"input 0 (key) has shape {shape_str(key)}; expected [] (an int64 scalar)", field="inputs[0]")
    shape = tuple(attrs["shape"])
    _check_dims(shape)
    return [shape]


_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)


def threefry2x32(key, counter):
    """Threefry-2x32 with 20 rounds (Salmon et al. SC'11; Random123 threefry2x32_R(20)).

    key: pair of uint32 (scalars or arrays); counter: pair of uint32 arrays.
    Returns the pair of uint32 arrays (y0, y1).
    """
    k0, k1 = (np.uint32(k) for k in key)
    ks = (k0, k1, np.uint32(0x1BD11BDA) ^ k0 ^ k1)
    x0 = np.asarray(counter[0], dtype=np.uint32) + ks[0]
    x1 = np.asarray(counter[1], dtype=np.uint32) + ks[1]
    for r in range(20):
        x0 = x0 + x1
        rot = _ROTATIONS[r % 8]
        x1 = (x1 << np.uint32(rot)) | (x1 >> np.uint32(32 - rot))
        x1 = x1 ^ x0
        if r % 4 == 3:
            s = r // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + np.uint32(s)
    return x0, x1


@impl("random_uniform")
def _random_uniform(key, *, shape, dtype):
    k = int(np.asarray(key, dtype=np.int64)) & 0xFFFFFFFFFFFFFFFF
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    i = np.arange(n, dtype=np.uint64)
    y0, y1 = threefry2x32((k >> 32, k & 0xFFFFFFFF),
                          ((i & np.uint64(0xFFFFFFFF)).astype(np.uint32), (i >> np.uint64(32)).astype(np.uint32)))
    if dtype == "float32":
        u = (y0 >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)
    else:
        bits = (y0.astype(np.uint64) << np.uint64(21)) | (y1 >> np.uint32(11)).astype(np.uint64)
        u = bits.astype(np.float64) * (2.0 ** -53)
    return u.reshape(shape)


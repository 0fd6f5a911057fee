"""Core ops: numpy implementation and op-specific shape rule, side by side, one block per op.

The numpy functions here are the normative semantics of JAG's core opset (spec/OPS.md);
every runtime is checked against them by the conformance suite. Kernels receive concrete
attrs (symbolic dims already evaluated) and never see bad shapes: the shape rule runs
first (prepare/eval split, as in tflite-micro).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import AttrError, IndexOutOfRangeError, ShapeError
from ..symbolic import exact_div, shape_str
from . import impl, shape_rule
from .shapes import broadcast_shapes, norm_axes, norm_axis

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

_erf_f64 = np.frompyfunc(math.erf, 1, 1)


@impl("erf")
def _erf(x):
    # numpy has no erf; C99 erf (math.erf) in float64, rounded to x's dtype.
    # (np.asarray: on a 0-d input the object ufunc returns a bare Python float)
    return np.asarray(_erf_f64(x.astype(np.float64)), dtype=np.float64).astype(x.dtype).reshape(x.shape)


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


# ------------------------------------------------------------------ reductions
@impl("reduce_sum")
def _reduce_sum(x, *, axes, keepdims):
    return np.sum(x, axis=tuple(norm_axes(axes, x.ndim)), keepdims=keepdims, dtype=x.dtype)


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


# ------------------------------------------------------------------ linalg
impl("matmul")(np.matmul)


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


"""Composite ops: numpy implementation, shape rule and reference lowering to core ops, side by side.

A runtime may implement a composite natively (for speed) or run its lowering; both must
agree within the op's tolerance class (tested for every composite). Lowerings are plain
Python over jag Tensors using core ops only — ``Graph.lower()`` traces through them — so
they also work for symbolic shapes.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ShapeError
from ..symbolic import Dim, shape_str
from . import IMPLS, impl, lowering, shape_rule
from .core import _random_uniform, check_indices, lowest
from .shapes import norm_axes, norm_axis


def _ops():
    from ..tensor import apply, constant  # late import: tensor.py imports this package
    return apply, constant


def _reduced_count(shape, axes):
    """Number of elements reduced over (int or Dim)."""
    n = 1
    for a in norm_axes(axes, len(shape)):
        n = n * shape[a]
    return n


def _count_tensor(x, axes, dtype):
    """The reduced element count as a scalar of ``dtype``; built from ones when symbolic."""
    apply, constant = _ops()
    n = _reduced_count(x.shape, axes)
    if not isinstance(n, Dim):
        return constant(n, dtype)
    dims = [x.shape[a] for a in norm_axes(axes, len(x.shape))]
    ones = apply("broadcast_to", constant(1, dtype), shape=dims)
    return apply("reduce_sum", ones)


# ------------------------------------------------------------------ activations
@impl("relu")
def _relu(x):
    return np.maximum(x, x.dtype.type(0))


@lowering("relu")
def _relu_lower(x):
    apply, constant = _ops()
    return apply("maximum", x, constant(0, x.dtype))


@impl("sigmoid")
def _sigmoid(x):
    one = x.dtype.type(1)
    return one / (one + np.exp(-x))


@lowering("sigmoid")
def _sigmoid_lower(x):
    apply, constant = _ops()
    one = constant(1, x.dtype)
    return apply("divide", one, apply("add", one, apply("exp", apply("neg", x))))


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


@impl("gelu")
def _gelu(x, *, approximate):
    t = x.dtype.type
    if approximate == "tanh":
        inner = t(_SQRT_2_OVER_PI) * (x + t(0.044715) * (x * x * x))
        return t(0.5) * x * (t(1) + np.tanh(inner))
    return t(0.5) * x * (t(1) + IMPLS["erf"](x / t(math.sqrt(2))))


@lowering("gelu")
def _gelu_lower(x, *, approximate):
    apply, constant = _ops()
    c = lambda v: constant(v, x.dtype)  # noqa: E731
    if approximate == "tanh":
        cube = apply("multiply", apply("multiply", x, x), x)
        inner = apply("multiply", c(_SQRT_2_OVER_PI), apply("add", x, apply("multiply", c(0.044715), cube)))
        gate = apply("tanh", inner)
    else:
        gate = apply("erf", apply("divide", x, c(math.sqrt(2))))
    return apply("multiply", apply("multiply", c(0.5), x), apply("add", c(1), gate))


# ------------------------------------------------------------------ normalisation
@impl("softmax")
def _softmax(x, *, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


@lowering("softmax")
def _softmax_lower(x, *, axis):
    apply, _ = _ops()
    e = apply("exp", apply("subtract", x, apply("reduce_max", x, axes=[axis], keepdims=True)))
    return apply("divide", e, apply("reduce_sum", e, axes=[axis], keepdims=True))


@impl("log_softmax")
def _log_softmax(x, *, axis):
    z = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@lowering("log_softmax")
def _log_softmax_lower(x, *, axis):
    apply, _ = _ops()
    z = apply("subtract", x, apply("reduce_max", x, axes=[axis], keepdims=True))
    return apply("subtract", z, apply("log", apply("reduce_sum", apply("exp", z), axes=[axis], keepdims=True)))


@shape_rule("layer_norm")
def _layer_norm_shape(shapes, attrs):
    x = tuple(shapes[0])
    axis = norm_axis(attrs["axis"], len(x))
    for i, s in enumerate(shapes[1:], start=1):
        if tuple(s) != x[axis:]:
            raise ShapeError(f"input {i} has shape {shape_str(s)}; expected {shape_str(x[axis:])} (x.shape[axis:])",
                             field=f"inputs[{i}]")
    return [x]


@impl("layer_norm")
def _layer_norm(x, weight=None, bias=None, *, axis, epsilon):
    axes = list(range(norm_axis(axis, x.ndim), x.ndim))
    mean = _reduce_mean(x, axes=axes, keepdims=True)
    var = _reduce_mean(np.square(x - mean), axes=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + x.dtype.type(epsilon))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


@lowering("layer_norm")
def _layer_norm_lower(x, weight=None, bias=None, *, axis, epsilon):
    apply, constant = _ops()
    axes = list(range(norm_axis(axis, len(x.shape)), len(x.shape)))
    mean = apply("reduce_mean", x, axes=axes, keepdims=True)
    centred = apply("subtract", x, mean)
    var = apply("reduce_mean", apply("multiply", centred, centred), axes=axes, keepdims=True)
    y = apply("divide", centred, apply("sqrt", apply("add", var, constant(epsilon, x.dtype))))
    if weight is not None:
        y = apply("multiply", y, weight)
    if bias is not None:
        y = apply("add", y, bias)
    return y


# ------------------------------------------------------------------ reductions
@impl("reduce_mean")
def _reduce_mean(x, *, axes, keepdims):
    # reduce_sum / count, as the doc and the lowering (np.mean warns on an empty reduction).
    total = np.sum(x, axis=tuple(norm_axes(axes, x.ndim)), keepdims=keepdims, dtype=x.dtype)
    return np.true_divide(total, x.dtype.type(_reduced_count(x.shape, axes)))


@lowering("reduce_mean")
def _reduce_mean_lower(x, *, axes, keepdims):
    apply, _ = _ops()
    total = apply("reduce_sum", x, axes=axes, keepdims=keepdims)
    return apply("divide", total, _count_tensor(x, axes, x.dtype))


@impl("reduce_min")
def _reduce_min(x, *, axes, keepdims):
    return np.min(x, axis=tuple(norm_axes(axes, x.ndim)), keepdims=keepdims, initial=np.inf)


@lowering("reduce_min")
def _reduce_min_lower(x, *, axes, keepdims):
    apply, _ = _ops()
    return apply("neg", apply("reduce_max", apply("neg", x), axes=axes, keepdims=keepdims))


@shape_rule("argmax")
def _argmax_shape(shapes, attrs):
    (x,) = shapes
    axis = norm_axis(attrs["axis"], len(x))
    if x[axis] == 0:
        raise ShapeError(f"argmax over an empty axis {axis} of shape {shape_str(x)}")
    if attrs["keepdims"]:
        return [tuple(1 if i == axis else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i != axis)]


@impl("argmax")
def _argmax(x, *, axis, keepdims):
    return np.argmax(x, axis=norm_axis(axis, x.ndim), keepdims=keepdims).astype(np.int64)


@lowering("argmax")
def _argmax_lower(x, *, axis, keepdims):
    # First index i with x[i] == max (or x[i] is NaN): max over where(hit, -i, lowest) negated.
    apply, constant = _ops()
    axis = norm_axis(axis, len(x.shape))
    top = apply("reduce_max", x, axes=[axis], keepdims=True)
    hit = apply("equal", x, top)
    if x.dtype.startswith("float"):
        hit = apply("maximum", hit, apply("not_equal", x, x))
    neg_index = apply("neg", apply("iota", shape=list(x.shape), axis=axis, dtype="int64"))
    picked = apply("where", hit, neg_index, constant(lowest("int64"), "int64"))
    return apply("neg", apply("reduce_max", picked, axes=[axis], keepdims=keepdims))


# ------------------------------------------------------------------ comparisons and logic
impl("greater")(np.greater)
impl("greater_equal")(np.greater_equal)
impl("less_equal")(np.less_equal)
impl("not_equal")(np.not_equal)
impl("logical_not")(np.logical_not)
impl("logical_and")(np.logical_and)
impl("logical_or")(np.logical_or)


@lowering("greater")
def _greater_lower(a, b):
    return _ops()[0]("less", b, a)


@lowering("greater_equal")
def _greater_equal_lower(a, b):
    apply, _ = _ops()
    return apply("maximum", apply("less", b, a), apply("equal", a, b))


@lowering("less_equal")
def _less_equal_lower(a, b):
    apply, _ = _ops()
    return apply("maximum", apply("less", a, b), apply("equal", a, b))


@lowering("not_equal")
def _not_equal_lower(a, b):
    apply, constant = _ops()
    return apply("equal", apply("equal", a, b), constant(False))


@lowering("logical_not")
def _logical_not_lower(x):
    apply, constant = _ops()
    return apply("equal", x, constant(False))


@lowering("logical_and")
def _logical_and_lower(a, b):
    return _ops()[0]("minimum", a, b)


@lowering("logical_or")
def _logical_or_lower(a, b):
    return _ops()[0]("maximum", a, b)


# ------------------------------------------------------------------ linear, embedding
@shape_rule("linear")
def _linear_shape(shapes, attrs):
    x, w = shapes[0], shapes[1]
    if len(x) < 1 or len(w) != 2:
        raise ShapeError(f"linear needs x [..., in] and weight [out, in], got {shape_str(x)} and {shape_str(w)}")
    if x[-1] != w[1]:
        raise ShapeError(f"input 1 (weight) has shape {shape_str(w)}; expected [*,{x[-1]}] to match x {shape_str(x)}",
                         field="inputs[1]")
    if len(shapes) == 3 and tuple(shapes[2]) != (w[0],):
        raise ShapeError(f"input 2 (bias) has shape {shape_str(shapes[2])}; expected [{w[0]}]", field="inputs[2]")
    return [tuple(x[:-1]) + (w[0],)]


@impl("linear")
def _linear(x, weight, bias=None):
    y = np.matmul(x, weight.T)
    return y if bias is None else y + bias


@lowering("linear")
def _linear_lower(x, weight, bias=None):
    apply, _ = _ops()
    y = apply("matmul", x, apply("transpose", weight, perm=[1, 0]))
    return y if bias is None else apply("add", y, bias)


@shape_rule("embedding")
def _embedding_shape(shapes, attrs):
    idx, w = shapes
    if len(w) != 2:
        raise ShapeError(f"input 1 (weight) has shape {shape_str(w)}; expected [num, dim]", field="inputs[1]")
    return [tuple(idx) + (w[1],)]


@impl("embedding")
def _embedding(indices, weight):
    return np.take(weight, check_indices(indices, weight.shape[0], 0, field="inputs[0]"), axis=0)


@lowering("embedding")
def _embedding_lower(indices, weight):
    return _ops()[0]("gather", weight, indices, axis=0)


# ------------------------------------------------------------------ dropout
def _dropout_scale(p, dtype):
    return np.asarray(1.0 / (1.0 - p), dtype=np.float64).astype(dtype)


@shape_rule("dropout")
def _dropout_shape(shapes, attrs):
    x, key = shapes
    if len(key) != 0:
        raise ShapeError(f"input 1 (key) has shape {shape_str(key)}; expected [] (an int64 scalar)", field="inputs[1]")
    return [tuple(x)]


@impl("dropout")
def _dropout(x, key, *, p):
    u = _random_uniform(key, shape=x.shape, dtype=x.dtype.name)
    return np.where(u < x.dtype.type(p), x.dtype.type(0), x * _dropout_scale(p, x.dtype))


@lowering("dropout")
def _dropout_lower(x, key, *, p):
    apply, constant = _ops()
    u = apply("random_uniform", key, shape=list(x.shape), dtype=x.dtype)
    drop = apply("less", u, constant(p, x.dtype))
    return apply("where", drop, constant(0, x.dtype), apply("multiply", x, constant(_dropout_scale(p, x.dtype), x.dtype)))


# ------------------------------------------------------------------ conv and pooling (NCHW)
def _window_out(d, lo, hi, k, dil, stride, axis_name):
    n = d + lo + hi - dil * (k - 1) - 1
    if isinstance(n, int) and n < 0:
        raise ShapeError(f"the {axis_name} window ({k} taps, dilation {dil}) is larger than the padded input ({d + lo + hi})")
    return n // stride + 1


def _spatial(x, kernel, attrs):
    pt, pl, pb, pr = attrs["pads"]
    sh, sw = attrs["strides"] if attrs.get("strides") is not None else kernel
    dh, dw = attrs.get("dilations") or (1, 1)
    return (pt, pl, pb, pr), (sh, sw), (dh, dw), (_window_out(x[2], pt, pb, kernel[0], dh, sh, "height"),
                                                     _window_out(x[3], pl, pr, kernel[1], dw, sw, "width"))


@shape_rule("conv2d")
def _conv2d_shape(shapes, attrs):
    x, w = shapes[0], shapes[1]
    if len(x) != 4 or len(w) != 4:
        raise ShapeError(f"conv2d needs x [N,C,H,W] and weight [O,C/groups,KH,KW], got {shape_str(x)} and {shape_str(w)}")
    g = attrs["groups"]
    if not all(isinstance(d, int) for d in w):
        raise ShapeError(f"input 1 (weight) must have a static shape, got {shape_str(w)}", field="inputs[1]")
    if w[0] % g or x[1] != w[1] * g:
        raise ShapeError(f"input 1 (weight) has shape {shape_str(w)}; expected [O,{x[1]}/{g},KH,KW] with O divisible by "
                         f"groups={g} (x has shape {shape_str(x)})", field="inputs[1]")
    if len(shapes) == 3 and tuple(shapes[2]) != (w[0],):
        raise ShapeError(f"input 2 (bias) has shape {shape_str(shapes[2])}; expected [{w[0]}]", field="inputs[2]")
    _, _, _, (oh, ow) = _spatial(x, w[2:], attrs)
    return [(x[0], w[0], oh, ow)]


def _windows(xp, kernel, strides, dilations, out_hw):
    """View [N, C, OH, OW, KH, KW] of the padded input."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    win = np.lib.stride_tricks.sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    win = win[:, :, ::sh, ::sw, ::dh, ::dw]
    return win[:, :, :out_hw[0], :out_hw[1]]


def _pad_nchw(x, pads, value):
    pt, pl, pb, pr = pads
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=value)


@impl("conv2d")
def _conv2d(x, weight, bias=None, *, strides, pads, dilations, groups):
    n, c, _, _ = x.shape
    o, cg, kh, kw = weight.shape
    attrs = dict(strides=strides, pads=pads, dilations=dilations)
    _, _, _, (oh, ow) = _spatial(x.shape, (kh, kw), attrs)
    win = _windows(_pad_nchw(x, pads, 0), (kh, kw), strides, dilations, (oh, ow))
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    w = weight.reshape(groups, o // groups, cg, kh, kw)
    y = np.einsum("ngchwpq,gocpq->ngohw", win, w, optimize=True).reshape(n, o, oh, ow).astype(x.dtype)
    return y if bias is None else y + bias.reshape(1, o, 1, 1)


_END = 2 ** 63 - 1


def _tap_slices(xp, kernel, strides, dilations):
    """The KH*KW strided slices of padded xp (core 'slice' ops), each [N, C, OH, OW], in (p, q) order."""
    apply, _ = _ops()
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    taps = []
    for p in range(kh):
        for q in range(kw):
            stops = [-(kh - 1 - p) * dh or _END, -(kw - 1 - q) * dw or _END]
            taps.append(apply("slice", xp, axes=[2, 3], starts=[p * dh, q * dw], stops=stops, steps=[sh, sw]))
    return taps


@lowering("conv2d")
def _conv2d_lower(x, weight, bias=None, *, strides, pads, dilations, groups):
    # im2col with KH*KW strided slices, then one batched matmul per group.
    apply, _ = _ops()
    n, c = x.shape[0], x.shape[1]
    o, cg, kh, kw = weight.shape
    pt, pl, pb, pr = pads
    xp = apply("pad", x, pads=[0, 0, 0, 0, pt, pb, pl, pr]) if any(pads) else x
    taps = _tap_slices(xp, (kh, kw), strides, dilations)
    oh, ow = taps[0].shape[2], taps[0].shape[3]
    cols = [apply("reshape", t, shape=[n, c, 1, oh * ow]) for t in taps]
    cols = apply("concat", *cols, axis=2) if len(cols) > 1 else cols[0]           # [N, C, KH*KW, L]
    cols = apply("reshape", cols, shape=[n, groups, cg * kh * kw, oh * ow])        # [N, g, K, L]
    w = apply("reshape", weight, shape=[groups, o // groups, cg * kh * kw])       # [g, O/g, K]
    y = apply("reshape", apply("matmul", w, cols), shape=[n, o, oh, ow])
    return y if bias is None else apply("add", y, apply("reshape", bias, shape=[1, o, 1, 1]))


@shape_rule("pool2d")
def _pool2d_shape(shapes, attrs):
    (x,) = shapes
    if len(x) != 4:
        raise ShapeError(f"pooling needs x [N,C,H,W], got {shape_str(x)}")
    _, _, _, (oh, ow) = _spatial(x, attrs["kernel_shape"], attrs)
    return [(x[0], x[1], oh, ow)]


@impl("max_pool2d")
def _max_pool2d(x, *, kernel_shape, strides, pads, dilations):
    attrs = dict(strides=strides, pads=pads, dilations=dilations)
    (_, strides, dilations, out_hw) = _spatial(x.shape, kernel_shape, attrs)[0:4]
    win = _windows(_pad_nchw(x, pads, -np.inf), kernel_shape, strides, dilations, out_hw)
    return np.max(win, axis=(4, 5))


@lowering("max_pool2d")
def _max_pool2d_lower(x, *, kernel_shape, strides, pads, dilations):
    apply, _ = _ops()
    _, strides, dilations, _ = _spatial(x.shape, kernel_shape, dict(strides=strides, pads=pads, dilations=dilations))
    pt, pl, pb, pr = pads
    xp = apply("pad", x, pads=[0, 0, 0, 0, pt, pb, pl, pr], value=-np.inf) if any(pads) else x
    taps = _tap_slices(xp, kernel_shape, strides, dilations)
    out = taps[0]
    for t in taps[1:]:
        out = apply("maximum", out, t)
    return out


@impl("avg_pool2d")
def _avg_pool2d(x, *, kernel_shape, strides, pads, count_include_pad):
    (_, strides, dilations, out_hw) = _spatial(x.shape, kernel_shape, dict(strides=strides, pads=pads))
    total = np.sum(_windows(_pad_nchw(x, pads, 0), kernel_shape, strides, dilations, out_hw), axis=(4, 5), dtype=x.dtype)
    if count_include_pad:
        return total / x.dtype.type(kernel_shape[0] * kernel_shape[1])
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    count = np.sum(_windows(_pad_nchw(ones, pads, 0), kernel_shape, strides, dilations, out_hw), axis=(4, 5), dtype=x.dtype)
    return total / count


@lowering("avg_pool2d")
def _avg_pool2d_lower(x, *, kernel_shape, strides, pads, count_include_pad):
    apply, constant = _ops()
    _, strides, dilations, _ = _spatial(x.shape, kernel_shape, dict(strides=strides, pads=pads))
    pt, pl, pb, pr = pads

    def window_sum(t):
        tp = apply("pad", t, pads=[0, 0, 0, 0, pt, pb, pl, pr]) if any(pads) else t
        taps = _tap_slices(tp, kernel_shape, strides, dilations)
        out = taps[0]
        for s in taps[1:]:
            out = apply("add", out, s)
        return out

    total = window_sum(x)
    if count_include_pad:
        return apply("divide", total, constant(kernel_shape[0] * kernel_shape[1], x.dtype))
    ones = apply("broadcast_to", constant(1, x.dtype), shape=[1, 1, x.shape[2], x.shape[3]])
    return apply("divide", total, window_sum(ones))


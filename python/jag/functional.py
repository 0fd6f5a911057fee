"""Public op functions: one per op of spec/ops.json (generated), plus numpy/PyTorch-style wrappers.

``jag.<op>(*inputs, **attrs)`` applies any op with its spec attrs (docstring from
spec/ops.json). Where numpy or PyTorch users expect a different signature, a wrapper
below takes precedence (``jag.sum(x, axis=None, keepdims=False)``,
``jag.conv2d(x, w, b, stride=1, padding=0)``…); the exact op stays reachable through
``jag.apply(op, ...)``.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import spec
from .tensor import Tensor, _axes, apply, astype, constant


def _make(op_name):
    def fn(*inputs, name=None, **attrs):
        return apply(op_name, *inputs, name=name, **attrs)
    od = spec.OPS[op_name]
    fn.__name__ = fn.__qualname__ = op_name
    ins = ", ".join(p.name + ("?" if p.optional else "") + ("..." if p.variadic else "") for p in od.inputs)
    attrs = "".join(f"\n      {a.name} ({a.type}, default {a.default!r}): {a.doc}" for a in od.attrs.values())
    fn.__doc__ = f"{od.doc}\n\n    Inputs: {ins or 'none'}. Kind: {od.kind} op ({od.family}), spec/OPS.md#{op_name}." + \
        (f"\n    Attrs:{attrs}" if attrs else "")
    return fn


OP_FUNCTIONS = {name: _make(name) for name in spec.OPS}


def _pair(v, n=2):
    return [int(v)] * n if isinstance(v, numbers.Integral) else [int(x) for x in v]


def _pads(padding):
    """PyTorch padding (int, (ph, pw)) or ONNX [top, left, bottom, right] -> ONNX order."""
    p = _pair(padding) if isinstance(padding, numbers.Integral) or len(padding) == 2 else [int(x) for x in padding]
    return [p[0], p[1], p[0], p[1]] if len(p) == 2 else p


def sum(x, axis=None, keepdims=False):  # noqa: A001 - numpy name
    """numpy.sum: reduce_sum over ``axis`` (int, tuple or None for all)."""
    return apply("reduce_sum", x, axes=_axes(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """numpy.max: reduce_max over ``axis``."""
    return apply("reduce_max", x, axes=_axes(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """numpy.min: reduce_min over ``axis`` (float dtypes)."""
    return apply("reduce_min", x, axes=_axes(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """numpy.mean: reduce_mean over ``axis`` (integers are averaged in float64, as numpy)."""
    return apply("reduce_mean", x, axes=_axes(axis), keepdims=keepdims)


def argmax(x, axis=-1, keepdims=False):
    """numpy.argmax along one axis (int64 result)."""
    return apply("argmax", x, axis=axis, keepdims=keepdims)


def reshape(x, shape):
    """numpy.reshape (row-major); one -1 allowed; dims may be symbolic."""
    return apply("reshape", x, shape=list(shape) if not isinstance(shape, numbers.Integral) else [shape])


def transpose(x, axes=None):
    """numpy.transpose: permute dims (reverse when ``axes`` is None)."""
    return apply("transpose", x, perm=None if axes is None else list(axes))


def broadcast_to(x, shape):
    """numpy.broadcast_to."""
    return apply("broadcast_to", x, shape=list(shape))


def concatenate(xs, axis=0):
    """numpy.concatenate of a sequence of tensors along ``axis``."""
    return apply("concat", *xs, axis=axis)


def stack(xs, axis=0):
    """numpy.stack: join along a new axis."""
    xs = [x if isinstance(x, Tensor) else constant(x) for x in xs]
    rank = len(xs[0].shape) + 1
    axis = axis % rank
    return apply("concat", *[reshape(x, list(x.shape[:axis]) + [1] + list(x.shape[axis:])) for x in xs], axis=axis)


def take(x, indices, axis=0):
    """numpy.take: gather along ``axis`` (out-of-range indices raise E_INDEX)."""
    return apply("gather", x, indices, axis=axis)


def softmax(x, axis=-1):
    """torch.softmax along ``axis`` (float dtypes; same shape as x)."""
    return apply("softmax", x, axis=axis)


def log_softmax(x, axis=-1):
    """torch.log_softmax along ``axis`` (float dtypes; same shape as x)."""
    return apply("log_softmax", x, axis=axis)


def layer_norm(x, weight=None, bias=None, eps=1e-5, axis=-1):
    """torch.nn.functional.layer_norm over dims ``axis``..-1 (weight/bias shape x.shape[axis:])."""
    ins = [x] + ([weight] if weight is not None or bias is not None else []) + ([bias] if bias is not None else [])
    if weight is None and bias is not None:
        ins[1] = constant(np.ones(np.shape(bias)), dtype=x.dtype if isinstance(x, Tensor) else None)
    return apply("layer_norm", *ins, axis=axis, epsilon=eps)


def linear(x, weight, bias=None):
    """torch.nn.functional.linear: x @ weight.T + bias, weight [out, in]."""
    return apply("linear", x, weight, *([bias] if bias is not None else []))


def dropout(x, key, p=0.5):
    """Inverted dropout with JAG's counter-based generator (int64 ``key``), training mode."""
    return apply("dropout", x, key, p=p)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d in NCHW; padding may be int, (ph, pw) or ONNX [t, l, b, r]."""
    return apply("conv2d", x, weight, *([bias] if bias is not None else []), strides=_pair(stride), pads=_pads(padding),
                 dilations=_pair(dilation), groups=groups)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """torch.nn.functional.max_pool2d (ceil_mode=False) in NCHW."""
    return apply("max_pool2d", x, kernel_shape=_pair(kernel_size), strides=None if stride is None else _pair(stride),
                 pads=_pads(padding), dilations=_pair(dilation))


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """torch.nn.functional.avg_pool2d (ceil_mode=False) in NCHW."""
    return apply("avg_pool2d", x, kernel_shape=_pair(kernel_size), strides=None if stride is None else _pair(stride),
                 pads=_pads(padding), count_include_pad=count_include_pad)


def arange(n, dtype="int64"):
    """numpy.arange(n) as an iota node (n may be a symbolic dim)."""
    return apply("iota", shape=[n], axis=0, dtype=spec.dtype_name(dtype))


def zeros(shape, dtype="float32"):
    """numpy.zeros as broadcast_to of a scalar constant (dims may be symbolic)."""
    return broadcast_to(constant(0, dtype=dtype), shape)


def ones(shape, dtype="float32"):
    """numpy.ones as broadcast_to of a scalar constant (dims may be symbolic)."""
    return broadcast_to(constant(1, dtype=dtype), shape)


def square(x):
    """numpy.square: x * x (exact for integers too)."""
    return apply("multiply", x, x)


WRAPPERS = {f.__name__: f for f in (sum, max, min, mean, argmax, reshape, transpose, broadcast_to, concatenate, stack,
                                    take, softmax, log_softmax, layer_norm, linear, dropout, conv2d, max_pool2d,
                                    avg_pool2d, arange, zeros, ones, square, astype)}

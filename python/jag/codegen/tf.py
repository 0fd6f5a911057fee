"""TensorFlow target: ``graph.to_tf()`` / ``jag codegen --target tf``.

The generated module holds ``class Model(tf.Module)`` whose graph tensors are
``tf.Variable``s (float tensors trainable, the others not), created from
``params`` = {tensor name: numpy array} under the graph's names made identifiers
(``PARAM_NAMES`` maps them back), and a ``@tf.function`` ``__call__(*inputs)`` returning a
tuple with one tensor per ``OUTPUTS`` entry; ``build(params)`` is ``Model(params)``, so
``tf.GradientTape`` on ``model.trainable_variables`` gives the gradients of JAG's gradient
graph. ``__call__`` retraces per input shape (no input_signature), so symbolic dims are
bound as Python ints from the input shapes.

Each node is one statement in TensorFlow's own calls: ``tf.matmul``, ``tf.nn.conv2d``,
``tf.nn.softmax``, ``tf.nn.batch_normalization(x, *tf.nn.moments(...))``, ... NCHW ops are
transposed to TensorFlow's NHWC (the only layout its CPU kernels take) and back. Where
TensorFlow lacks an op or leaves a case undefined, a short helper in the generated
module's prelude does what JAG (numpy) does, emitted only when the graph needs it:

- ``jag_random_uniform`` / ``jag_threefry2x32``: JAG's counter-based generator
  (Threefry-2x32-20, spec/README.md §11) in uint32 tensor arithmetic, bit-exact, so
  ``random_uniform`` and ``dropout`` reproduce JAG's numbers (not TensorFlow's RNG);
- ``jag_float_to_int``: float -> integer cast truncating, saturating, NaN -> 0
  (``tf.cast`` is undefined out of range);
- ``jag_pad``: interior padding (``tf.pad`` has none);
- ``jag_scatter_add``: ``numpy.add.at`` along any axis via ``tf.tensor_scatter_nd_add``;
- ``jag_argmax``: float argmax returning the first NaN as numpy does (``tf.argmax`` skips NaN);
- ``jag_max_pool2d``: NaN-propagating, dilated max pooling (``tf.nn.max_pool2d`` does neither);
- ``jag_avg_pool2d``: average pooling that excludes padding from the count.

Exactness details followed in the templates (the conformance suite compares exact-class
float results bit for bit, sign of zero included): float ``maximum`` / ``minimum`` / ``relu``
are written with ``tf.where`` because numpy returns the second operand of ``maximum`` and the
first of ``minimum`` on ties (0.0 vs -0.0) while TensorFlow's kernels differ between their
vector and scalar paths; gather indices in [-n, 0) are mapped to n + i (``tf.gather``
rejects them); uint8 ``neg`` / ``abs`` / ``sign`` / ``matmul``, which TensorFlow's kernels
lack, are written with int32 negation, identity, comparison and an int32 matmul (exact modulo
256); ``tf.nn.gelu``'s erfc is not float64-accurate and float64 ``tf.math.erf(±inf)`` is NaN,
so float64 erf / gelu map ±inf to ±1 and float64 gelu is written out; a product over a static
empty inner dim (matmul, linear) and a conv2d over a static empty batch are written as zeros
(oneDNN aborts on the first in graph mode; ``tf.nn.conv2d`` mis-shapes the second).

Known limits of TensorFlow itself (python/tests/test_codegen_tf.py shows them as xfail):
its CPU kernels flush subnormal floats to zero (FTZ/DAZ, not configurable), so results on
subnormal inputs, or that should be subnormal, can differ from numpy's; gradients at ties
(maximum, minimum, relu at 0, reduce_max) go where TensorFlow's rules send them, not split
evenly as JAG (JAX) does.

Nothing here imports TensorFlow: the target only generates text.
"""
from __future__ import annotations

import math
import re

import numpy as np

from . import LOAD_PARAMS_SOURCE, NodeCtx, dim_expr, header, identifier, literal

FLOAT = ("float32", "float64")
_END = 2 ** 62  # slice stops at or above this mean "to the end"


def _dt(dtype: str) -> str:
    """A JAG dtype as TensorFlow source ('float32' -> 'tf.float32')."""
    return f"tf.{dtype}"


def _ints(v) -> str:
    return "[" + ", ".join(dim_expr(d) for d in v) + "]"


def _norm_axis(axis: int, rank: int) -> int:
    return axis % rank if rank else axis


# ====================================================================== templates

def _unary(fn):
    return lambda n: f"{n.out} = {fn}({n.x(0)})"


def _neg(n: NodeCtx) -> str:
    if n.out_dtype == "uint8":  # tf.negative has no uint8 kernel: negate in int32, wrap modulo 256
        return f"{n.out} = tf.cast(-tf.cast({n.x(0)}, tf.int32), tf.uint8)"
    return f"{n.out} = -{n.x(0)}"


def _abs(n: NodeCtx) -> str:
    if n.out_dtype == "uint8":  # |x| = x (tf.abs has no uint8 kernel)
        return f"{n.out} = tf.identity({n.x(0)})"
    return f"{n.out} = tf.abs({n.x(0)})"


def _sign(n: NodeCtx) -> str:
    if n.out_dtype == "uint8":  # 0 or 1 (tf.sign has no uint8 kernel)
        return f"{n.out} = tf.cast({n.x(0)} > 0, tf.uint8)"
    return f"{n.out} = tf.sign({n.x(0)})"


def _erf_expr(x: str, dtype: str) -> str:
    if dtype == "float64":  # tf.math.erf(±inf) is NaN in float64
        return f"tf.where(tf.math.is_inf({x}), tf.sign({x}), tf.math.erf({x}))"
    return f"tf.math.erf({x})"


def _erf(n: NodeCtx) -> str:
    return f"{n.out} = {_erf_expr(n.x(0), n.out_dtype)}"


def _binop(sym):
    return lambda n: f"{n.out} = {n.x(0)} {sym} {n.x(1)}"


def _call2(fn):
    return lambda n: f"{n.out} = {fn}({n.x(0)}, {n.x(1)})"


def _maximum(n: NodeCtx) -> str:
    a, b = n.x(0), n.x(1)
    if n.out_dtype == "bool":
        return f"{n.out} = tf.logical_or({a}, {b})"
    if n.out_dtype in FLOAT:  # numpy: a where a > b or a is NaN, else b (b on ties: sign of zero)
        return f"{n.out} = tf.where(({a} > {b}) | tf.math.is_nan({a}), {a}, {b})"
    return f"{n.out} = tf.maximum({a}, {b})"


def _minimum(n: NodeCtx) -> str:
    a, b = n.x(0), n.x(1)
    if n.out_dtype == "bool":
        return f"{n.out} = tf.logical_and({a}, {b})"
    if n.out_dtype in FLOAT:  # numpy: a where a <= b or a is NaN, else b (a on ties: sign of zero)
        return f"{n.out} = tf.where(({a} <= {b}) | tf.math.is_nan({a}), {a}, {b})"
    return f"{n.out} = tf.minimum({a}, {b})"


def _where(n: NodeCtx) -> str:
    return f"{n.out} = tf.where({n.x(0)}, {n.x(1)}, {n.x(2)})"


def _reduce_args(n: NodeCtx) -> str:
    axes, keep = n.attrs["axes"], n.attrs["keepdims"]
    out = "" if axes is None else f", axis={literal(list(axes))}"
    return out + (", keepdims=True" if keep else "")


def _reduce(fn, bool_fn=None):
    def template(n: NodeCtx) -> str:
        f = bool_fn if (bool_fn and n.out_dtype == "bool") else fn
        return f"{n.out} = {f}({n.x(0)}{_reduce_args(n)})"
    return template


def _matmul_expr(a: str, b: str, ra: int, rb: int) -> str:
    if ra >= 2 and rb >= 2:
        return f"tf.matmul({a}, {b})"
    if ra == 1 and rb == 1:
        return f"tf.tensordot({a}, {b}, axes=1)"
    if ra == 1:  # [k] @ [..., k, m] -> [..., m]
        return f"tf.linalg.matvec({b}, {a}, transpose_a=True)"
    return f"tf.linalg.matvec({a}, {b})"  # [..., n, k] @ [k] -> [..., n]


def _empty_product(n: NodeCtx, k) -> str | None:
    """For a static empty inner dim: zeros (oneDNN aborts on a fused empty product in graph mode)."""
    if isinstance(k, int) and k == 0:
        return f"tf.zeros({_ints(n.out_shape)}, {_dt(n.out_dtype)})"
    return None


def _matmul(n: NodeCtx) -> str:
    ra, rb = len(n.in_shapes[0]), len(n.in_shapes[1])
    zeros = _empty_product(n, n.in_shapes[0][-1])
    if zeros:
        return f"{n.out} = {zeros}"
    if n.out_dtype == "uint8":  # no uint8 matmul kernel: int32 products and sums wrap to the same value mod 256
        expr = _matmul_expr(f"tf.cast({n.x(0)}, tf.int32)", f"tf.cast({n.x(1)}, tf.int32)", ra, rb)
        return f"{n.out} = tf.cast({expr}, tf.uint8)"
    return f"{n.out} = {_matmul_expr(n.x(0), n.x(1), ra, rb)}"


def _reshape(n: NodeCtx) -> str:
    return f"{n.out} = tf.reshape({n.x(0)}, {n.dims('shape')})"


def _transpose(n: NodeCtx) -> str:
    rank = len(n.in_shapes[0])
    perm = n.attrs["perm"]
    perm = list(range(rank))[::-1] if perm is None else [p % rank for p in perm]
    if rank < 2 or perm == list(range(rank)):
        return f"{n.out} = tf.identity({n.x(0)})"
    return f"{n.out} = tf.transpose({n.x(0)}, perm={perm})"


def _broadcast_to(n: NodeCtx) -> str:
    return f"{n.out} = tf.broadcast_to({n.x(0)}, {n.dims('shape')})"


def _slice(n: NodeCtx) -> str:
    shape = n.in_shapes[0]
    rank = len(shape)
    a = n.attrs
    steps = a["steps"] if a["steps"] is not None else [1] * len(a["axes"])
    index = [":"] * rank
    for axis, start, stop, step in zip(a["axes"], a["starts"], a["stops"], steps):
        axis = _norm_axis(axis, rank)
        d = shape[axis]
        if isinstance(d, int):  # static dim: Python's clamping done here
            start, stop, step = slice(start, stop, step).indices(d)
            stop = None if stop >= d else stop
        else:
            stop = None if stop >= _END else stop
        text = ("" if start == 0 else str(start)) + ":" + ("" if stop is None else str(stop))
        index[axis] = text + ("" if step == 1 else f":{step}")
    while index and index[-1] == ":":
        index.pop()
    if not index:
        return f"{n.out} = tf.identity({n.x(0)})"
    return f"{n.out} = {n.x(0)}[{', '.join(index)}]"


def _jag_cast_scalar(value: float, dtype: str):
    """A float attr as a Python literal value of ``dtype`` under JAG's cast rules."""
    from ..ops.core import _cast
    v = _cast(np.array(value, dtype=np.float64), dtype=dtype)
    return bool(v) if dtype == "bool" else (float(v) if dtype in FLOAT else int(v))


def _pad(n: NodeCtx) -> str:
    rank = len(n.in_shapes[0])
    pads, interior = n.attrs["pads"], n.attrs["interior"] or [0] * rank
    pairs = [[pads[2 * i], pads[2 * i + 1]] for i in range(rank)]
    value = _jag_cast_scalar(n.attrs["value"], n.out_dtype)
    if any(interior):
        return f"{n.out} = jag_pad({n.x(0)}, {pairs}, interior={list(interior)}, value={literal(value)})"
    if not any(pads):
        return f"{n.out} = tf.identity({n.x(0)})"
    zero = value == 0 and not (isinstance(value, float) and math.copysign(1.0, value) < 0)
    fill = "" if zero else f", constant_values={literal(value)}"
    return f"{n.out} = tf.pad({n.x(0)}, {pairs}{fill})"


def _concat(n: NodeCtx) -> str:
    return f"{n.out} = tf.concat([{', '.join(n.inputs)}], axis={n.attrs['axis']})"


def _wrapped(idx: str, size) -> str:
    """Indices in [-n, n) mapped into [0, n) (TensorFlow rejects negative indices)."""
    return f"tf.where({idx} < 0, {idx} + {dim_expr(size)}, {idx})"


def _gather(n: NodeCtx) -> str:
    rank = len(n.in_shapes[0])
    axis = _norm_axis(n.attrs["axis"], rank)
    tail = f", axis={axis}" if axis else ""
    return f"{n.out} = tf.gather({n.x(0)}, {_wrapped(n.x(1), n.in_shapes[0][axis])}{tail})"


def _scatter_add(n: NodeCtx) -> str:
    axis = _norm_axis(n.attrs["axis"], len(n.in_shapes[0]))
    return f"{n.out} = jag_scatter_add({n.x(0)}, {n.x(1)}, {n.x(2)}, axis={axis})"


def _cast(n: NodeCtx) -> str:
    src, dst = n.in_dtypes[0], n.out_dtype
    if src == dst:
        return f"{n.out} = tf.identity({n.x(0)})"
    if src in FLOAT and dst not in FLOAT + ("bool",):
        return f"{n.out} = jag_float_to_int({n.x(0)}, {_dt(dst)})"
    return f"{n.out} = tf.cast({n.x(0)}, {_dt(dst)})"


def _iota(n: NodeCtx) -> str:
    shape, dtype = n.attrs["shape"], n.attrs["dtype"]
    axis = _norm_axis(n.attrs["axis"], len(shape))
    size = dim_expr(shape[axis])
    if dtype in ("uint8", "bool"):  # tf.range has no uint8 / bool kernel
        line = f"tf.cast(tf.range({size}, dtype=tf.int64), {_dt(dtype)})"
    else:
        line = f"tf.range({size}, dtype={_dt(dtype)})"
    if len(shape) == 1:
        return f"{n.out} = {line}"
    view = _ints([d if i == axis else 1 for i, d in enumerate(shape)])
    return f"{n.out} = tf.broadcast_to(tf.reshape({line}, {view}), {n.dims('shape')})"


def _random_uniform(n: NodeCtx) -> str:
    return f"{n.out} = jag_random_uniform({n.x(0)}, {n.dims('shape')}, {_dt(n.attrs['dtype'])})"


def _relu(n: NodeCtx) -> str:
    x = n.x(0)
    if n.out_dtype in FLOAT:  # numpy.maximum(x, 0): relu(-0.0) = 0.0 and NaN propagates
        return f"{n.out} = tf.where({x} <= 0, tf.zeros_like({x}), {x})"
    return f"{n.out} = tf.nn.relu({x})"


def _gelu(n: NodeCtx) -> str:
    x, tanh = n.x(0), n.attrs["approximate"] == "tanh"
    if n.out_dtype == "float32":
        return f"{n.out} = tf.nn.gelu({x}, approximate={tanh})"
    if tanh:  # as tf.nn.gelu(approximate=True), written out for float64
        return (f"{n.out} = 0.5 * {x} * (1.0 + tf.tanh({math.sqrt(2 / math.pi)!r} * "
                f"({x} + 0.044715 * {x} * {x} * {x})))")
    # float64 tf.math.erf(±inf) is NaN
    erf = f"tf.where(tf.math.is_inf({x}), tf.sign({x}), tf.math.erf({x} / {math.sqrt(2)!r}))"
    return f"{n.out} = 0.5 * {x} * (1.0 + {erf})"


def _softmax(fn):
    def template(n: NodeCtx) -> str:
        axis = n.attrs["axis"]
        return f"{n.out} = {fn}({n.x(0)}" + ("" if axis == -1 else f", axis={axis}") + ")"
    return template


def _layer_norm(n: NodeCtx) -> str:
    rank = len(n.in_shapes[0])
    axes = list(range(_norm_axis(n.attrs["axis"], rank), rank))
    w = n.x(1) if len(n.inputs) > 1 else "None"
    b = n.x(2) if len(n.inputs) > 2 else "None"
    return (f"{n.out} = tf.nn.batch_normalization({n.x(0)}, *tf.nn.moments({n.x(0)}, axes={axes}, keepdims=True), "
            f"offset={b}, scale={w}, variance_epsilon={literal(n.attrs['epsilon'])})")


def _linear(n: NodeCtx) -> str:
    x, w = n.x(0), n.x(1)
    y = f"tf.linalg.matvec({w}, {x})" if len(n.in_shapes[0]) == 1 else f"tf.matmul({x}, {w}, transpose_b=True)"
    y = _empty_product(n, n.in_shapes[0][-1]) or y
    return f"{n.out} = {y}" + (f" + {n.x(2)}" if len(n.inputs) > 2 else "")


def _embedding(n: NodeCtx) -> str:
    idx, w = n.x(0), n.x(1)
    return f"{n.out} = tf.nn.embedding_lookup({w}, {_wrapped(idx, n.in_shapes[1][0])})"


def _dropout(n: NodeCtx) -> str:
    x, key, p = n.x(0), n.x(1), n.attrs["p"]
    scale = float(np.asarray(1.0 / (1.0 - p), dtype=np.float64).astype(n.out_dtype))
    return (f"{n.out} = tf.where(jag_random_uniform({key}, {x}.shape, {x}.dtype) < {literal(p)}, "
            f"tf.zeros_like({x}), {x} * {literal(scale)})")


_TO_NHWC, _TO_NCHW = "[0, 2, 3, 1]", "[0, 3, 1, 2]"


def _explicit_padding(pads) -> str:
    pt, pl, pb, pr = pads
    return f"[[0, 0], [{pt}, {pb}], [{pl}, {pr}], [0, 0]]"


def _conv2d(n: NodeCtx) -> str:
    a = n.attrs
    x, w = n.x(0), n.x(1)
    if isinstance(n.out_shape[0], int) and n.out_shape[0] == 0:  # tf.nn.conv2d mis-shapes an empty batch
        return f"{n.out} = tf.zeros({_ints(n.out_shape)}, {_dt(n.out_dtype)})"
    padding = _explicit_padding(a["pads"]) if any(a["pads"]) else '"VALID"'
    conv = (f"tf.nn.conv2d(tf.transpose({x}, {_TO_NHWC}), tf.transpose({w}, [2, 3, 1, 0]), "
            f"strides={list(a['strides'])}, padding={padding}"
            + ("" if list(a["dilations"]) == [1, 1] else f", dilations={list(a['dilations'])}") + ")")
    if len(n.inputs) > 2:
        conv = f"tf.nn.bias_add({conv}, {n.x(2)})"
    return f"{n.out} = tf.transpose({conv}, {_TO_NCHW})"


def _pool_strides(a):
    return list(a["strides"]) if a["strides"] is not None else list(a["kernel_shape"])


def _max_pool2d(n: NodeCtx) -> str:
    a = n.attrs
    return (f"{n.out} = jag_max_pool2d({n.x(0)}, kernel={list(a['kernel_shape'])}, strides={_pool_strides(a)}, "
            f"pads={list(a['pads'])}, dilations={list(a['dilations'])})")


def _avg_pool2d(n: NodeCtx) -> str:
    a = n.attrs
    x, kernel, strides = n.x(0), list(a["kernel_shape"]), _pool_strides(a)
    if any(a["pads"]) and not a["count_include_pad"]:
        return f"{n.out} = jag_avg_pool2d({x}, kernel={kernel}, strides={strides}, pads={list(a['pads'])})"
    nhwc = f"tf.transpose({x}, {_TO_NHWC})"
    if any(a["pads"]):  # zeros count in the mean (count_include_pad)
        nhwc = f"tf.pad({nhwc}, {_explicit_padding(a['pads'])})"
    return (f"{n.out} = tf.transpose(tf.nn.avg_pool2d({nhwc}, ksize={kernel}, strides={strides}, "
            f'padding="VALID"), {_TO_NCHW})')


def _argmax(n: NodeCtx) -> str:
    axis, keep = n.attrs["axis"], n.attrs["keepdims"]
    if n.in_dtypes[0] in FLOAT:
        y = f"jag_argmax({n.x(0)}, axis={axis})"
    else:
        y = f"tf.argmax({n.x(0)}, axis={axis}, output_type=tf.int64)"
    return f"{n.out} = " + (f"tf.expand_dims({y}, axis={axis})" if keep else y)


TEMPLATES = {
    # unary
    "neg": _neg, "abs": _abs, "sign": _sign,
    "exp": _unary("tf.exp"), "log": _unary("tf.math.log"), "sqrt": _unary("tf.sqrt"),
    "sin": _unary("tf.sin"), "cos": _unary("tf.cos"), "tanh": _unary("tf.tanh"), "erf": _erf,
    # binary, compare, logic
    "add": _binop("+"), "subtract": _binop("-"), "multiply": _binop("*"), "divide": _binop("/"),
    "power": _call2("tf.pow"), "maximum": _maximum, "minimum": _minimum,
    "equal": _call2("tf.equal"), "not_equal": _call2("tf.not_equal"), "less": _call2("tf.less"),
    "less_equal": _call2("tf.less_equal"), "greater": _call2("tf.greater"),
    "greater_equal": _call2("tf.greater_equal"),
    "logical_not": _unary("tf.logical_not"), "logical_and": _call2("tf.logical_and"),
    "logical_or": _call2("tf.logical_or"), "where": _where,
    # reductions
    "reduce_sum": _reduce("tf.reduce_sum"), "reduce_max": _reduce("tf.reduce_max", "tf.reduce_any"),
    "reduce_min": _reduce("tf.reduce_min"), "reduce_mean": _reduce("tf.reduce_mean"),
    "argmax": _argmax,
    # linalg, movement, index
    "matmul": _matmul, "linear": _linear,
    "reshape": _reshape, "transpose": _transpose, "broadcast_to": _broadcast_to, "slice": _slice,
    "pad": _pad, "concat": _concat, "gather": _gather, "scatter_add": _scatter_add, "embedding": _embedding,
    # cast, generators, random
    "cast": _cast, "iota": _iota, "random_uniform": _random_uniform, "dropout": _dropout,
    # activations, normalisation
    "relu": _relu, "sigmoid": _unary("tf.sigmoid"), "gelu": _gelu,
    "softmax": _softmax("tf.nn.softmax"), "log_softmax": _softmax("tf.nn.log_softmax"), "layer_norm": _layer_norm,
    # conv and pooling (NCHW)
    "conv2d": _conv2d, "max_pool2d": _max_pool2d, "avg_pool2d": _avg_pool2d,
}

#: ops TensorFlow cannot express, with the reason (none: every op of opset 1 has a template)
UNSUPPORTED: dict = {}


# ====================================================================== prelude helpers

_HELPERS = {
    "jag_threefry2x32": '''
_THREEFRY_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)


def jag_threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds (Salmon et al., SC'11; Random123's threefry2x32_R(20)) on
    uint32 tensors: key words (k0, k1), counter words (x0, x1) -> the pair (y0, y1)."""
    ks = (k0, k1, k0 ^ k1 ^ tf.constant(0x1BD11BDA, tf.uint32))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for r in range(20):
        rot = _THREEFRY_ROTATIONS[r % 8]
        x0 = x0 + x1
        x1 = tf.bitwise.left_shift(x1, rot) | tf.bitwise.right_shift(x1, 32 - rot)
        x1 = x1 ^ x0
        if r % 4 == 3:
            s = r // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + s
    return x0, x1
''',
    "jag_random_uniform": '''
def jag_random_uniform(key, shape, dtype):
    """JAG's random_uniform, bit-exact (not TensorFlow's RNG): the int64 key k gives the Threefry
    key (k >> 32, k & 0xffffffff); element i (row-major) hashes the counter (i & 0xffffffff, i >> 32);
    float32: (y0 >> 8) * 2^-24, float64: ((y0 << 21) | (y1 >> 11)) * 2^-53, uniform in [0, 1)."""
    shape = [int(d) for d in shape]
    key = tf.convert_to_tensor(key, tf.int64)
    k0 = tf.cast(tf.bitwise.right_shift(key, 32) & 0xFFFFFFFF, tf.uint32)
    k1 = tf.cast(key & 0xFFFFFFFF, tf.uint32)
    i = tf.range(math.prod(shape), dtype=tf.int64)
    lo, hi = tf.cast(i & 0xFFFFFFFF, tf.uint32), tf.cast(tf.bitwise.right_shift(i, 32), tf.uint32)
    y0, y1 = jag_threefry2x32(k0, k1, lo, hi)
    if dtype == tf.float32:
        u = tf.cast(tf.bitwise.right_shift(y0, 8), tf.float32) * 2.0 ** -24
    else:
        bits = tf.bitwise.left_shift(tf.cast(y0, tf.int64), 21) | tf.cast(tf.bitwise.right_shift(y1, 11), tf.int64)
        u = tf.cast(bits, tf.float64) * 2.0 ** -53
    return tf.reshape(u, shape)
''',
    "jag_float_to_int": '''
def jag_float_to_int(x, dtype):
    """float -> integer as JAG casts: truncate toward zero, saturate to the dtype's range,
    NaN -> 0 (tf.cast leaves NaN and out-of-range values undefined)."""
    x = tf.where(tf.math.is_nan(x), tf.zeros_like(x), x)
    y = tf.cast(tf.clip_by_value(x, float(dtype.min), float(dtype.max)), dtype)
    return tf.where(x >= float(dtype.max + 1), tf.constant(dtype.max, dtype), y)
''',
    "jag_pad": '''
def jag_pad(x, paddings, interior, value):
    """tf.pad with interior padding as jax.lax.pad: interior[i] copies of value between the
    elements of axis i, then paddings[i] = [before, after] on its ends."""
    value = tf.constant(value, x.dtype)
    for axis, k in enumerate(interior):
        d = x.shape[axis]
        if k and d:  # [.., d, ..] -> [.., d, 1 + k, ..] -> [.., d * (1 + k), ..] minus the last k
            shape = x.shape.as_list()
            fill = tf.fill(shape[:axis + 1] + [k] + shape[axis + 1:], value)
            x = tf.concat([tf.expand_dims(x, axis + 1), fill], axis=axis + 1)
            x = tf.reshape(x, shape[:axis] + [d * (1 + k)] + shape[axis + 1:])
            x = x[(slice(None),) * axis + (slice(0, d + (d - 1) * k),)]
    return tf.pad(x, paddings, constant_values=value)
''',
    "jag_scatter_add": '''
def jag_scatter_add(x, indices, updates, axis):
    """numpy.add.at(copy of x, (:, ..., indices), updates) along axis; repeated indices
    accumulate, indices in [-n, 0) count from the end (tf.tensor_scatter_nd_add on axis 0)."""
    if x.shape.num_elements() == 0:  # nothing to add to (TensorFlow rejects an empty target)
        return tf.identity(x)
    if len(indices.shape) == 0:  # one index: a batch of one (tf.tensor_scatter_nd_add needs one)
        indices, updates = tf.reshape(indices, [1]), tf.expand_dims(updates, axis)
    n, rank, q = x.shape[axis], len(x.shape), len(indices.shape)
    indices = tf.where(indices < 0, indices + n, indices)
    if axis:
        x = tf.transpose(x, [axis] + [i for i in range(rank) if i != axis])
        updates = tf.transpose(updates, list(range(axis, axis + q)) + list(range(axis))
                               + list(range(axis + q, len(updates.shape))))
    y = tf.tensor_scatter_nd_add(x, tf.expand_dims(indices, -1), updates)
    if axis:
        y = tf.transpose(y, list(range(1, axis + 1)) + [0] + list(range(axis + 1, rank)))
    return y
''',
    "jag_argmax": '''
def jag_argmax(x, axis):
    """numpy.argmax of a float tensor: the first maximum, or the first NaN when there is one
    (tf.argmax skips NaN)."""
    nan = tf.math.is_nan(x)
    return tf.where(tf.reduce_any(nan, axis=axis), tf.argmax(nan, axis=axis, output_type=tf.int64),
                    tf.argmax(x, axis=axis, output_type=tf.int64))
''',
    "jag_max_pool2d": '''
def jag_max_pool2d(x, kernel, strides, pads, dilations):
    """NCHW max pooling as JAG defines it: pad with -inf (padding never wins), then the max over
    the kernel's KH*KW strided taps, NaN propagating (tf.nn.max_pool2d skips NaN, cannot dilate)."""
    (kh, kw), (sh, sw), (dh, dw), (pt, pl, pb, pr) = kernel, strides, dilations, pads
    x = tf.pad(x, [[0, 0], [0, 0], [pt, pb], [pl, pr]], constant_values=float("-inf"))
    oh = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    taps = [x[:, :, p * dh:p * dh + (oh - 1) * sh + 1:sh, q * dw:q * dw + (ow - 1) * sw + 1:sw]
            for p in range(kh) for q in range(kw)]
    return tf.reduce_max(tf.stack(taps), axis=0)
''',
    "jag_avg_pool2d": '''
def jag_avg_pool2d(x, kernel, strides, pads):
    """NCHW average pooling over zero-padded windows divided by the number of non-padding
    elements in each (count_include_pad=False)."""
    pt, pl, pb, pr = pads

    def window_mean(t):  # NCHW -> padded NHWC -> tf.nn.avg_pool2d
        t = tf.pad(tf.transpose(t, [0, 2, 3, 1]), [[0, 0], [pt, pb], [pl, pr], [0, 0]])
        return tf.nn.avg_pool2d(t, ksize=kernel, strides=strides, padding="VALID")

    return tf.transpose(window_mean(x) / window_mean(tf.ones_like(x[:1, :1])), [0, 3, 1, 2])
''',
}
_NEEDS = {"jag_random_uniform": ["jag_threefry2x32"]}

#: tf.Module attributes a tensor attribute must not shadow
_RESERVED = {"name", "name_scope", "variables", "trainable_variables", "non_trainable_variables", "submodules",
             "with_name_scope"}
_TF_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/]*")


def _attr_name(ident: str) -> str:
    return ident + "_" if ident in _RESERVED or ident.startswith("_") else ident


def _tuple(items) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def render(graph, body, idents, bindings) -> str:
    """The whole module: header, imports, INPUTS/OUTPUTS/PARAM_NAMES, load_params, the prelude
    helpers the body calls, ``class Model(tf.Module)`` and ``build``."""
    text = "\n".join(body)
    used = [h for h in _HELPERS if re.search(rf"\b{h}\(", text)]
    for h in list(used):
        used += [d for d in _NEEDS.get(h, []) if d not in used]
    used = [h for h in _HELPERS if h in used]  # prelude order: dependencies first

    how = ("TensorFlow: `Model(params)` is a tf.Module whose graph tensors are tf.Variables (float\n"
           "tensors trainable, others not), attributes named after the graph's tensors (PARAM_NAMES\n"
           "maps them back); `build(load_params('model.json'))(*inputs)` runs the @tf.function\n"
           "__call__ and returns a tuple of tensors, one per OUTPUTS entry; tf.GradientTape over\n"
           "model.trainable_variables differentiates it like JAG's gradient graph.")
    if {n.op for n in graph.nodes} & {"conv2d", "avg_pool2d"}:
        how += "\nNCHW convolution and pooling are transposed to TensorFlow's NHWC and back."
    if used:
        how += ("\nThe jag_* helpers below do what JAG (numpy) does where TensorFlow lacks the op or\n"
                "differs from numpy (see each docstring).")
    how += "\n"

    imports = ("import math\n\n" if "jag_random_uniform" in used else "") + "import tensorflow as tf"
    attrs = {name: _attr_name(idents[name]) for name in graph.tensors}
    names = [f"INPUTS = {[vi.name for vi in graph.inputs]!r}", f"OUTPUTS = {[vi.name for vi in graph.outputs]!r}"]
    if attrs:
        names.append("# Model attribute -> the graph's tensor name (params[name] at construction)\n"
                     "PARAM_NAMES = {\n" + "".join(f"    {a!r}: {name!r},\n" for name, a in attrs.items()) + "}")
    else:
        names.append("PARAM_NAMES = {}")

    module_name = identifier(graph.name or "graph", {})
    cls = ["class Model(tf.Module):",
           f'    """{graph.name or "graph"} as a tf.Module (generated by jag.codegen.tf)."""',
           "",
           "    def __init__(self, params):",
           f"        super().__init__(name={module_name!r})"]
    for name, arr in graph.tensors.items():
        dt = np.dtype(arr.dtype).name
        var_name = name if _TF_NAME.fullmatch(name) else idents[name]
        trainable = "" if dt in FLOAT else ", trainable=False"
        cls.append(f"        self.{attrs[name]} = tf.Variable(params[{name!r}], name={var_name!r}{trainable})"
                   f"  # {dt}[{', '.join(map(str, arr.shape))}]")
    args = ", ".join(["self"] + [idents[vi.name] for vi in graph.inputs])
    cls += ["", "    @tf.function(autograph=False)", f"    def __call__({args}):"]
    cls += [f"        {b}" for b in bindings]
    cls += [f"        {idents[name]} = self.{a}" for name, a in attrs.items()]
    cls += [f"        {line}" for line in body]
    produced = {o for n in graph.nodes for o in n.outputs}
    rets = [idents[vi.name] if vi.name in produced else f"tf.identity({idents[vi.name]})" for vi in graph.outputs]
    cls.append(f"        return {_tuple(rets)}")

    build = ('def build(params):\n'
             '    """The model with its weights: `build(load_params("model.json"))(*inputs)`."""\n'
             '    return Model(params)')
    parts = [header(graph, "tf", how), imports, "\n".join(names), LOAD_PARAMS_SOURCE.strip("\n")]
    parts += [_HELPERS[h].strip("\n") for h in used]
    parts += ["\n".join(cls), build]
    return "\n\n\n".join(parts[:1] + ["\n\n".join(parts[1:3])] + parts[3:]) + "\n"

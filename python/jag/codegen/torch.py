"""PyTorch target: ``graph.to_torch()`` / ``jag codegen --target torch``.

The generated module holds ``class Model(nn.Module)``: every tensor of the graph is
registered under its name made an identifier (``params.w1`` -> ``params_w1``; the table
``PARAM_NAMES`` maps back): float tensors as ``nn.Parameter`` (so ``torch.autograd`` gives
the gradients of JAG's gradient graph), other dtypes as buffers. ``forward(*inputs)`` is one
statement per node in idiomatic torch (``torch.matmul``, ``F.linear``, ``F.conv2d``,
``F.softmax``, ``F.layer_norm``...), composites as torch's native functions, and returns a
tuple with one tensor per graph output. The uniform API of every target is there too:
``INPUTS``, ``OUTPUTS``, ``load_params(model_json)`` and ``build(params) -> Model``.

Where torch and numpy (the normative reference) disagree, the template says so in code:

- ``maximum``/``minimum`` of floats are written ``torch.maximum(b, a)``: on a tie (±0)
  numpy returns the second operand and torch the first; NaN propagates in both;
- ``relu`` of floats adds ``+ 0.0`` so that relu(-0.0) is +0.0 as numpy's maximum(x, 0);
- ``sign`` of floats keeps NaN (torch.sign(NaN) is 0);
- ``reduce_sum`` passes ``dtype=`` (torch sums integers in int64); empty ``reduce_max`` /
  ``reduce_min`` give the dtype's identity (torch.amax refuses empty reductions);
- ``cast`` float -> integer saturates (NaN -> 0) through a prelude helper (torch's
  conversion is undefined out of range);
- ``gather`` / ``embedding`` use indexing (negative indices count from the end, as in
  JAG); ``scatter_add`` maps negative indices before ``index_add``;
- ``random_uniform`` and ``dropout`` use a prelude Threefry-2x32-20 (spec/README.md §11) in
  int64 tensor arithmetic, bit-exact with every JAG runtime, not torch's RNG;
- pooling and conv with asymmetric padding (or padding beyond torch's limit) pad first
  with ``F.pad`` (-inf for max pooling).

Known torch gap (not worked around, to keep ``F.gelu``): torch's vectorised float32 CPU
kernel of ``F.gelu`` returns NaN for +inf (and overflows to inf just below float32's max);
its scalar and float64 paths are right. Gradients at ties of ``max_pool2d`` go to one
element in torch, and are shared in JAG.
"""
from __future__ import annotations

import re

import numpy as np

from . import LOAD_PARAMS_SOURCE, dim_expr, header, literal

TORCH_DTYPES = {"float32": "torch.float32", "float64": "torch.float64", "int32": "torch.int32",
                "int64": "torch.int64", "uint8": "torch.uint8", "bool": "torch.bool"}
FLOAT = ("float32", "float64")
_END = 2 ** 62  # slice stops at or above this mean "to the end" (as jag.ops.core)


# ---------------------------------------------------------------- helpers of the templates
def _dt(name):
    return TORCH_DTYPES[name]


def _rank(n, i=0):
    return len(n.in_shapes[i])


def _axes(n, i=0):
    """The attr 'axes' normalised (None -> every axis)."""
    rank = _rank(n, i)
    axes = n.attrs["axes"]
    return list(range(rank)) if axes is None else [a % rank for a in axes]


def _tuple(items):
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _shape_of(shape):
    return _tuple(dim_expr(d) for d in shape)


def _scalar(value, dtype):
    """A Python literal of ``value`` as an element of ``dtype`` (rounded / cast as JAG does)."""
    from ..ops.core import _cast
    v = _cast(np.array(value, dtype=np.float64), dtype=dtype)[()]
    if dtype in FLOAT:
        return literal(float(v))
    if dtype == "bool":
        return repr(bool(v))
    return repr(int(v))


def _unary(fn):
    return lambda n: f"{n.out} = {fn}({n.x(0)})"


def _binop(sym):
    return lambda n: f"{n.out} = {n.x(0)} {sym} {n.x(1)}"


def _fn2(fn):
    return lambda n: f"{n.out} = {fn}({n.x(0)}, {n.x(1)})"


def _extremum(fn):
    # numpy returns the second operand on ties (matters for the sign of a zero): torch the first
    def t(n):
        if n.in_dtypes[0] in FLOAT:
            return f"{n.out} = {fn}({n.x(1)}, {n.x(0)})"
        return f"{n.out} = {fn}({n.x(0)}, {n.x(1)})"
    return t


def _sign(n):
    if n.in_dtypes[0] in FLOAT:
        return f"{n.out} = torch.where(torch.isnan({n.x(0)}), {n.x(0)}, torch.sign({n.x(0)}))"
    return f"{n.out} = torch.sign({n.x(0)})"


def _relu(n):
    if n.in_dtypes[0] in FLOAT:
        return f"{n.out} = F.relu({n.x(0)}) + 0.0"
    return f"{n.out} = F.relu({n.x(0)})"


def _dims_kw(n):
    axes, keep = _axes(n), n.attrs["keepdims"]
    return f"dim={_tuple(map(str, axes))}" + (", keepdim=True" if keep else "")


def _reduce_sum(n):
    if n.attrs["axes"] == []:
        return f"{n.out} = {n.x(0)}"
    if n.attrs["axes"] is None and not n.attrs["keepdims"]:
        return f"{n.out} = torch.sum({n.x(0)}, dtype={_dt(n.out_dtype)})"
    return f"{n.out} = torch.sum({n.x(0)}, {_dims_kw(n)}, dtype={_dt(n.out_dtype)})"


def _reduce_mean(n):
    if n.attrs["axes"] == []:
        return f"{n.out} = {n.x(0)}"
    if n.attrs["axes"] is None and not n.attrs["keepdims"]:
        return f"{n.out} = torch.mean({n.x(0)})"
    return f"{n.out} = torch.mean({n.x(0)}, {_dims_kw(n)})"


def _lowest(dtype, highest=False):
    if dtype in FLOAT:
        return "float('inf')" if highest else "float('-inf')"
    if dtype == "bool":
        return "True" if highest else "False"
    info = np.iinfo(dtype)
    return repr(int(info.max if highest else info.min))


def _extreme_reduce(fn, highest):
    def t(n):
        if n.attrs["axes"] == []:
            return f"{n.out} = {n.x(0)}"
        shape = n.in_shapes[0]
        if any(isinstance(shape[a], int) and shape[a] == 0 for a in _axes(n)):
            # an empty reduction gives the identity (torch.amax/amin refuse it)
            return (f"{n.out} = torch.full({n.shape()}, {_lowest(n.out_dtype, highest)}, "
                    f"dtype={_dt(n.out_dtype)}, device={n.x(0)}.device)")
        if n.attrs["axes"] is None and not n.attrs["keepdims"]:
            return f"{n.out} = {fn}({n.x(0)})"
        return f"{n.out} = {fn}({n.x(0)}, {_dims_kw(n)})"
    return t


def _argmax(n):
    axis = n.attrs["axis"] % _rank(n)
    return f"{n.out} = torch.argmax({n.x(0)}, dim={axis}" + (", keepdim=True)" if n.attrs["keepdims"] else ")")


def _reshape(n):
    return f"{n.out} = torch.reshape({n.x(0)}, {_tuple(dim_expr(d) for d in n.attrs['shape'])})"


def _transpose(n):
    rank = _rank(n)
    perm = n.attrs["perm"]
    perm = list(range(rank))[::-1] if perm is None else [p % rank for p in perm]
    return f"{n.out} = torch.permute({n.x(0)}, {_tuple(map(str, perm))})"


def _broadcast_to(n):
    return f"{n.out} = torch.broadcast_to({n.x(0)}, {_tuple(dim_expr(d) for d in n.attrs['shape'])})"


def _slice(n):
    rank = _rank(n)
    axes, starts, stops = n.attrs["axes"], n.attrs["starts"], n.attrs["stops"]
    steps = n.attrs["steps"] or [1] * len(axes)
    index = [":"] * rank
    for a, start, stop, step in zip(axes, starts, stops, steps):
        text = (str(start) if start else "") + ":" + (str(stop) if stop < _END else "")
        if step != 1:
            text += f":{step}"
        index[a % rank] = text
    while index and index[-1] == ":":
        index.pop()
    if not index:
        return f"{n.out} = {n.x(0)}"
    return f"{n.out} = {n.x(0)}[{', '.join(index)}]"


def _pad(n):
    rank = _rank(n)
    pads, interior = n.attrs["pads"], n.attrs["interior"] or [0] * rank
    value = _scalar(n.attrs["value"], n.out_dtype)
    if _needs_pad_full(n.out_dtype, n.attrs):
        return f"{n.out} = pad_full({n.x(0)}, {literal(list(pads))}, {literal(list(interior))}, {value})"
    pairs = [(pads[2 * i], pads[2 * i + 1]) for i in range(rank)]
    # F.pad takes (left, right) pairs from the last axis backwards, as far as needed
    first = next((i for i, p in enumerate(pairs) if p != (0, 0)), None)
    if first is None:
        return f"{n.out} = {n.x(0)}"
    torch_pads = [str(v) for i in range(rank - 1, first - 1, -1) for v in pairs[i]]
    fill = "" if value in ("0.0", "0", "False") else f", value={value}"
    return f"{n.out} = F.pad({n.x(0)}, {_tuple(torch_pads)}{fill})"


def _needs_pad_full(dtype, attrs):
    """Interior padding, or an int64 fill that F.pad (whose value is a double) cannot hold."""
    if any(attrs.get("interior") or []):
        return True
    return dtype == "int64" and abs(int(_scalar(attrs.get("value", 0.0), dtype))) > 2 ** 53


def _concat(n):
    axis = n.attrs["axis"] % _rank(n)
    return f"{n.out} = torch.cat([{', '.join(n.inputs)}], dim={axis})"


def _gather(n):
    axis = n.attrs["axis"] % _rank(n)
    return f"{n.out} = {n.x(0)}[{', '.join([':'] * axis + [n.x(1)])}]"


def _scatter_add(n):
    axis = n.attrs["axis"] % _rank(n)
    x_shape, idx_shape = n.in_shapes[0], n.in_shapes[1]
    count = " * ".join(dim_expr(d) for d in idx_shape) or "1"
    size = dim_expr(x_shape[axis])
    flat = _tuple([dim_expr(d) for d in x_shape[:axis]] + [count] + [dim_expr(d) for d in x_shape[axis + 1:]])
    idx = n.x(1)
    return (f"{n.out} = torch.index_add({n.x(0)}, {axis}, torch.where({idx} < 0, {idx} + {size}, {idx}).reshape(-1), "
            f"{n.x(2)}.reshape({flat}))")


def _cast(n):
    src, dst = n.in_dtypes[0], n.out_dtype
    if src in FLOAT and dst not in FLOAT and dst != "bool":
        return f"{n.out} = float_to_int({n.x(0)}, {_dt(dst)})"
    return f"{n.out} = {n.x(0)}.to({_dt(dst)})"


def _iota(n):
    shape = n.attrs["shape"]
    axis = n.attrs["axis"] % len(shape)
    count = dim_expr(shape[axis])
    # uint8 and bool count in int64 and cast (wrapping mod 256 / nonzero), as numpy's astype
    direct = n.out_dtype in ("float32", "float64", "int32")
    expr = f"torch.arange({count}" + (f", dtype={_dt(n.out_dtype)})" if direct else ")")
    if len(shape) > 1:
        view = _tuple(["-1" if i == axis else "1" for i in range(len(shape))])
        expr += f".reshape({view}).expand({_shape_of(shape)})"
    if not direct and n.out_dtype != "int64":
        expr += f".to({_dt(n.out_dtype)})"
    return f"{n.out} = {expr}"


def _random_uniform(n):
    return f"{n.out} = threefry_uniform({n.x(0)}, {_shape_of(n.attrs['shape'])}, {_dt(n.out_dtype)})"


def _dropout(n):
    p = n.attrs["p"]
    dt = np.dtype(n.out_dtype)
    threshold = literal(float(dt.type(p)))
    scale = literal(float(np.asarray(1.0 / (1.0 - p), dtype=np.float64).astype(dt)))
    return (f"{n.out} = torch.where(threefry_uniform({n.x(1)}, {n.x(0)}.shape, {n.x(0)}.dtype) < {threshold}, "
            f"0.0, {n.x(0)} * {scale})")


def _gelu(n):
    if n.attrs["approximate"] == "tanh":
        return f"{n.out} = F.gelu({n.x(0)}, approximate='tanh')"
    return f"{n.out} = F.gelu({n.x(0)})"


def _softmax(fn):
    return lambda n: f"{n.out} = {fn}({n.x(0)}, dim={n.attrs['axis'] % _rank(n)})"


def _layer_norm(n):
    axis = n.attrs["axis"] % _rank(n)
    shape = _shape_of(n.in_shapes[0][axis:])
    w = n.x(1) if len(n.inputs) > 1 else "None"
    b = n.x(2) if len(n.inputs) > 2 else "None"
    return f"{n.out} = F.layer_norm({n.x(0)}, {shape}, {w}, {b}, eps={literal(n.attrs['epsilon'])})"


def _linear(n):
    return f"{n.out} = F.linear({', '.join(n.inputs)})"


def _embedding(n):
    # weight[indices] (not F.embedding): negative indices count from the end, as in JAG
    return f"{n.out} = {n.x(1)}[{n.x(0)}]"


def _fits(pads, kernel, dilations=(1, 1)):
    """torch's implicit padding: symmetric and at most half the (dilated) kernel."""
    pt, pl, pb, pr = pads
    return pt == pb and pl == pr and all(2 * p <= d * (k - 1) + 1 for p, k, d in zip((pt, pl), kernel, dilations))


def _padded(x, pads, value=""):
    pt, pl, pb, pr = pads
    return f"F.pad({x}, ({pl}, {pr}, {pt}, {pb}){value})"


def _pair(v):
    return f"({v[0]}, {v[1]})" if v[0] != v[1] else str(v[0])


def _conv2d(n):
    a = n.attrs
    pads, x = a["pads"], n.x(0)
    args = [x, n.x(1)] + ([n.x(2)] if len(n.inputs) > 2 else [])
    kw = []
    if a["strides"] != [1, 1]:
        kw.append(f"stride={_pair(a['strides'])}")
    if any(pads):
        if pads[0] == pads[2] and pads[1] == pads[3]:
            kw.append(f"padding={_pair(pads[:2])}")
        else:
            args[0] = _padded(x, pads)
    if a["dilations"] != [1, 1]:
        kw.append(f"dilation={_pair(a['dilations'])}")
    if a["groups"] != 1:
        kw.append(f"groups={a['groups']}")
    return f"{n.out} = F.conv2d({', '.join(args + kw)})"


def _pool_args(n):
    """(attrs, kernel, pads, input expression, [kernel_size, stride=...]) of a pooling node."""
    a = n.attrs
    kernel = a["kernel_shape"]
    strides = a["strides"] or kernel
    kw = [_pair(kernel)]
    if strides != kernel:
        kw.append(f"stride={_pair(strides)}")
    return a, kernel, a["pads"], n.x(0), kw


def _max_pool2d(n):
    a, kernel, pads, x, kw = _pool_args(n)
    if any(pads):
        if _fits(pads, kernel, a["dilations"]):
            kw.append(f"padding={_pair(pads[:2])}")
        else:
            x = _padded(x, pads, ", value=float('-inf')")
    if a["dilations"] != [1, 1]:
        kw.append(f"dilation={_pair(a['dilations'])}")
    return f"{n.out} = F.max_pool2d({x}, {', '.join(kw)})"


def _avg_pool2d(n):
    a, kernel, pads, x, kw = _pool_args(n)
    if not any(pads) or _fits(pads, kernel):
        if any(pads):
            kw.append(f"padding={_pair(pads[:2])}")
            if not a["count_include_pad"]:
                kw.append("count_include_pad=False")
        return f"{n.out} = F.avg_pool2d({x}, {', '.join(kw)})"
    if a["count_include_pad"]:
        return f"{n.out} = F.avg_pool2d({_padded(x, pads)}, {', '.join(kw)})"
    # asymmetric padding that does not count: window sums over window counts
    sums = ", ".join(kw + ["divisor_override=1"])
    ones = f"torch.ones_like({x}[:1, :1])"
    return (f"{n.out} = F.avg_pool2d({_padded(x, pads)}, {sums}) / "
            f"F.avg_pool2d({_padded(ones, pads)}, {sums})")


TEMPLATES = {
    # unary
    "neg": lambda n: f"{n.out} = -{n.x(0)}",
    "abs": _unary("torch.abs"),
    "sign": _sign,
    "exp": _unary("torch.exp"),
    "log": _unary("torch.log"),
    "sqrt": _unary("torch.sqrt"),
    "sin": _unary("torch.sin"),
    "cos": _unary("torch.cos"),
    "tanh": _unary("torch.tanh"),
    "erf": _unary("torch.erf"),
    # binary
    "add": _binop("+"),
    "subtract": _binop("-"),
    "multiply": _binop("*"),
    "divide": _binop("/"),
    "power": _fn2("torch.pow"),
    "maximum": _extremum("torch.maximum"),
    "minimum": _extremum("torch.minimum"),
    # compare, logic, select
    "equal": _binop("=="),
    "less": _binop("<"),
    "greater": _binop(">"),
    "greater_equal": _binop(">="),
    "less_equal": _binop("<="),
    "not_equal": _binop("!="),
    "logical_not": _unary("torch.logical_not"),
    "logical_and": _fn2("torch.logical_and"),
    "logical_or": _fn2("torch.logical_or"),
    "where": lambda n: f"{n.out} = torch.where({n.x(0)}, {n.x(1)}, {n.x(2)})",
    # reductions
    "reduce_sum": _reduce_sum,
    "reduce_mean": _reduce_mean,
    "reduce_max": _extreme_reduce("torch.amax", highest=False),
    "reduce_min": _extreme_reduce("torch.amin", highest=True),
    "argmax": _argmax,
    # linalg
    "matmul": _fn2("torch.matmul"),
    "linear": _linear,
    # movement
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "slice": _slice,
    "pad": _pad,
    "concat": _concat,
    # index
    "gather": _gather,
    "scatter_add": _scatter_add,
    "embedding": _embedding,
    # cast, generators, random
    "cast": _cast,
    "iota": _iota,
    "random_uniform": _random_uniform,
    "dropout": _dropout,
    # activations, normalisation
    "relu": _relu,
    "sigmoid": _unary("torch.sigmoid"),
    "gelu": _gelu,
    "softmax": _softmax("F.softmax"),
    "log_softmax": _softmax("F.log_softmax"),
    "layer_norm": _layer_norm,
    # conv, pooling (NCHW, torch's layout)
    "conv2d": _conv2d,
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
}

#: every op of spec/ops.json has a template
UNSUPPORTED: dict = {}


# ---------------------------------------------------------------- the prelude (only what is used)
_THREEFRY = '''
def threefry_uniform(key, shape, dtype):
    """JAG's random_uniform (spec/README.md section 11), bit-exact: Threefry-2x32-20 keyed by
    the int64 scalar ``key``, element i counted as (i & 0xffffffff, i >> 32); float32 from
    the top 24 bits of the first word, float64 from 53 bits of both. The 32-bit words live
    in int64 tensors, masked after every addition (torch has no uint32 arithmetic)."""
    M = 0xFFFFFFFF
    key = torch.as_tensor(key, dtype=torch.int64)
    ks = [(key >> 32) & M, key & M]
    ks.append(ks[0] ^ ks[1] ^ 0x1BD11BDA)
    i = torch.arange(math.prod(shape), dtype=torch.int64, device=key.device)
    x0, x1 = ((i & M) + ks[0]) & M, ((i >> 32) + ks[1]) & M
    for r in range(20):
        rot = (13, 15, 26, 6, 17, 29, 16, 24)[r % 8]
        x0 = (x0 + x1) & M
        x1 = (((x1 << rot) & M) | (x1 >> (32 - rot))) ^ x0
        if r % 4 == 3:
            s = r // 4 + 1
            x0 = (x0 + ks[s % 3]) & M
            x1 = (x1 + ks[(s + 1) % 3] + s) & M
    if dtype == torch.float32:
        u = (x0 >> 8).to(torch.float32) * 2.0 ** -24
    else:
        u = ((x0 << 21) | (x1 >> 11)).to(torch.float64) * 2.0 ** -53
    return u.reshape(shape)
'''

_FLOAT_TO_INT = '''
def float_to_int(x, dtype):
    """JAG's cast from float to an integer dtype: truncate toward zero, NaN -> 0, saturate
    at the dtype's range (torch's own conversion is undefined out of range)."""
    info = torch.iinfo(dtype)
    t = torch.trunc(x)
    y = torch.where(torch.isnan(t), 0.0, t).clamp(info.min, info.max).to(dtype)
    return torch.where(t >= float(info.max) + 1, info.max, y)
'''

_PAD_FULL = '''
def pad_full(x, pads, interior, value):
    """JAG's pad where F.pad falls short: interior padding (as jax.lax.pad) and int64 fill
    values beyond 2**53. ``pads`` = [lo0, hi0, lo1, hi1, ...]; ``interior[i]`` fill elements
    go between neighbours along axis i; the rest of the result is ``value``."""
    interior = interior or [0] * x.dim()
    spans = [d + max(d - 1, 0) * k for d, k in zip(x.shape, interior)]
    shape = [pads[2 * i] + s + pads[2 * i + 1] for i, s in enumerate(spans)]
    out = torch.full(shape, value, dtype=x.dtype, device=x.device)
    out[tuple(slice(pads[2 * i], pads[2 * i] + s, k + 1) for i, (s, k) in enumerate(zip(spans, interior)))] = x
    return out
'''


#: nn.Module's public attributes (torch 2.x, plus a few of later versions): a tensor whose
#: identifier is one of them, or starts with "_" (nn.Module's private state), gets a "_" suffix
_MODULE_NAMES = frozenset("""
    T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches
    eval extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict
    modules mtia named_buffers named_children named_modules named_parameters parameters register_backward_hook
    register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook
    register_full_backward_pre_hook register_load_state_dict_post_hook register_load_state_dict_pre_hook
    register_module register_parameter register_state_dict_post_hook register_state_dict_pre_hook requires_grad_
    set_extra_state set_submodule share_memory state_dict to to_empty train training type xpu zero_grad
""".split())


def _attr_names(graph, idents) -> dict:
    """{tensor name: Model attribute}: the tensor's identifier, suffixed when nn.Module uses
    the name, unique among the attributes."""
    out, taken = {}, set()
    for name in graph.tensors:
        attr = idents[name]
        if attr in _MODULE_NAMES or attr.startswith("_"):
            attr += "_"
        base, k = attr, 2
        while attr in taken:
            attr, k = f"{base}{k}", k + 1
        taken.add(attr)
        out[name] = attr
    return out


_TIES = ("maximum/minimum of floats are written `torch.maximum(b, a)`, `torch.minimum(b, a)`: on ties\n"
         "  (+0.0 vs -0.0) numpy returns the second operand, torch the first.")
#: op -> (only for float inputs, the note the header carries when the graph uses it)
_NOTES = {
    "relu": (True, "relu: `F.relu(x) + 0.0` gives +0.0 for -0.0, as numpy's maximum(x, 0)."),
    "maximum": (True, _TIES),
    "minimum": (True, _TIES),
    "sign": (True, "sign: NaN stays NaN (torch.sign(NaN) is 0)."),
    "random_uniform": (False, "random_uniform/dropout: `threefry_uniform` is JAG's counter-based generator, bit-exact\n"
                              "  with every JAG runtime (torch's RNG is not used)."),
    "dropout": (False, "random_uniform/dropout: `threefry_uniform` is JAG's counter-based generator, bit-exact\n"
                       "  with every JAG runtime (torch's RNG is not used)."),
    "cast": (True, "cast float -> integer: `float_to_int` truncates, maps NaN to 0 and saturates."),
    "max_pool2d": (False, "max_pool2d: on tied maxima torch's gradient goes to one element, JAG's is shared."),
}


def _dict_source(name, items, doc):
    """``NAME = {k: v, ...}`` over one line, or one entry per line when long."""
    entries = [f"{k!r}: {v!r}" for k, v in items]
    one = f"{name} = {{{', '.join(entries)}}}"
    if len(one) <= 100:
        return f"#: {doc}\n{one}"
    return f"#: {doc}\n{name} = {{\n" + "".join(f"    {e},\n" for e in entries) + "}"


def render(graph, body, idents, bindings) -> str:
    """The whole module: header, imports, INPUTS/OUTPUTS/PARAM_NAMES, load_params, the
    prelude helpers the graph needs, ``class Model(nn.Module)`` and ``build``."""
    ops = {n.op for n in graph.nodes}
    types = graph.value_types()
    how = ("PyTorch: `Model(params)` is an nn.Module whose float tensors are nn.Parameters (others\n"
           "buffers), registered under the graph's tensor names made identifiers (PARAM_NAMES maps\n"
           "them back); `build(load_params('model.json'))(*inputs)` returns a tuple of tensors, one\n"
           "per OUTPUTS entry, and torch.autograd differentiates it like JAG's gradient graph.")
    notes = [text for op, (floats_only, text) in _NOTES.items()
             if any(n.op == op and (not floats_only or types[n.inputs[0]][0] in FLOAT) for n in graph.nodes)]
    if notes:
        notes = list(dict.fromkeys(notes))
        how += "\n\nWhere torch differs from JAG (numpy), the code follows JAG:\n" + "\n".join(f"- {t}" for t in notes)
    how += "\n"
    helpers = []
    if ops & {"random_uniform", "dropout"}:
        helpers.append(_THREEFRY)
    if any(types[n.inputs[0]][0] in FLOAT and n.attrs.get("dtype") not in FLOAT + ("bool",)
           for n in graph.nodes if n.op == "cast"):
        helpers.append(_FLOAT_TO_INT)
    if any(_needs_pad_full(types[n.outputs[0]][0], n.attrs) for n in graph.nodes if n.op == "pad"):
        helpers.append(_PAD_FULL)

    attrs = _attr_names(graph, idents)
    names = (f"INPUTS = {[vi.name for vi in graph.inputs]!r}\n"
             f"OUTPUTS = {[vi.name for vi in graph.outputs]!r}\n"
             + _dict_source("PARAM_NAMES", [(a, name) for name, a in attrs.items()],
                            "Model attribute -> the graph's tensor name (params[name] at construction)"))

    cls = ["class Model(nn.Module):",
           f'    """{graph.name or "graph"} as an nn.Module (generated by jag.codegen.torch)."""',
           "",
           "    def __init__(self, params):",
           "        super().__init__()"]
    for name, arr in graph.tensors.items():
        dt = np.dtype(arr.dtype).name
        what = f"# {dt}[{', '.join(map(str, arr.shape))}]"
        if dt in FLOAT:
            cls.append(f"        self.{attrs[name]} = nn.Parameter(torch.tensor(params[{name!r}]))  {what}")
        else:
            cls.append(f"        self.register_buffer({attrs[name]!r}, torch.tensor(params[{name!r}]))  {what}")
    args = ", ".join(["self"] + [idents[vi.name] for vi in graph.inputs])
    cls += ["", f"    def forward({args}):"]
    cls += [f"        {b}" for b in bindings]
    cls += [f"        {idents[name]} = self.{a}" for name, a in attrs.items()]
    cls += [f"        {line}" for line in body]
    rets = [idents[vi.name] for vi in graph.outputs]
    cls.append(f"        return {_tuple(rets)}")

    build = ('def build(params):\n'
             '    """The model with its weights: `build(load_params("model.json"))(*inputs)`."""\n'
             '    return Model(params)')
    uses = lambda module, text: re.search(rf"\b{module}\.", text) is not None  # noqa: E731
    imports = "\n".join((["import math", ""] if _THREEFRY in helpers else [])
                        + (["import torch"] if uses("torch", "\n".join(cls + helpers)) else [])
                        + (["import torch.nn.functional as F"] if uses("F", "\n".join(body)) else [])
                        + ["from torch import nn"])
    parts = [header(graph, "torch", how), imports, names, LOAD_PARAMS_SOURCE.strip("\n")]
    parts += [h.strip("\n") for h in helpers]
    parts += ["\n".join(cls), build]
    return "\n\n\n".join(parts[:1] + ["\n\n".join(parts[1:3])] + parts[3:]) + "\n"

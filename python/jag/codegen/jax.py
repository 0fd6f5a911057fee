"""JAX target: ``graph.to_jax()`` / ``jag codegen --target jax``.

The generated module holds a pure function ``f(params, *inputs) -> tuple of outputs``:
``params`` is a dict ``{graph tensor name: jax array}`` keyed by the graph's own tensor
names (``params["params.w1"]``), exactly what ``load_params(model_json)`` returns, so it is a
pytree that ``jax.grad`` / ``jax.jit`` / ``jax.vmap`` take as is. ``build(params)`` is
``functools.partial(f, jax.device_put(params))``; inputs are jax arrays (``jnp.asarray``).

Mapping: one statement per node, in ``jnp.*`` / ``jax.lax.*`` / ``jax.nn.*`` calls and Python
operators; composites map to JAX's own functions (``jax.nn.softmax``, ``jax.nn.gelu``,
``jax.nn.standardize`` for layer_norm, ``lax.conv_general_dilated`` for conv2d in JAG's
NCHW/OIHW layout, ``lax.reduce_window`` for pooling). The generated module

- enables ``jax_enable_x64`` (JAG's int64/float64 stay 64-bit; without it JAX silently
  narrows them to 32 bits), and sets ``jax_default_matmul_precision`` to ``"highest"`` (full
  float32 matmuls and convolutions on GPUs and TPUs, whose defaults use tf32/bf16 passes);
  both are process-wide settings of JAX, made at import of the generated module;
- implements ``random_uniform`` / ``dropout`` with a short jitted Threefry-2x32-20 helper
  (spec/README.md §11), bit-exact with every JAG runtime (JAX's own PRNG is not used);
- follows numpy where JAX differs: ``maximum``/``minimum`` of floats return the second
  operand on ties (numpy's sign of zero for ``max(-0.0, 0.0)``) and propagate NaN;
  ``sign(-0.0)`` is ``0.0``; ``reduce_sum`` of integers accumulates in the input dtype.

Known differences (JAX semantics, not expressible without host callbacks):
- out-of-range indices of ``gather`` / ``scatter_add`` / ``embedding`` are not an error
  (E_INDEX): JAX fills (``jnp.take``) or clamps (``w[i]``) such gathers and drops such scatter updates;
- XLA on CPU flushes float subnormals to zero in arithmetic (results that are subnormal,
  or computed from subnormal inputs, may be ±0 where numpy keeps the subnormal).
"""
from __future__ import annotations

import numpy as np

from . import LOAD_PARAMS_SOURCE, header, literal

#: JAG dtype -> the jnp attribute spelling it
DT = {"float32": "jnp.float32", "float64": "jnp.float64", "int32": "jnp.int32", "int64": "jnp.int64",
      "uint8": "jnp.uint8", "bool": "jnp.bool_"}

_END = 2 ** 62  # slice stops at or above this mean "to the end"


# ------------------------------------------------------------------ helpers for the templates
def _axis_arg(axes, rank):
    """``axis=...`` keyword text for a reduction (None: all axes; one axis as an int)."""
    if axes is None:
        return ""
    axes = [a % rank if rank else a for a in axes]
    if len(axes) == 1:
        return f", axis={axes[0]}"
    return f", axis=({', '.join(map(str, axes))})"


def _reduced_dims(n):
    shape = n.in_shapes[0]
    axes = n.attrs["axes"]
    if axes is None:
        return list(shape)
    return [shape[a % len(shape)] for a in axes]


def _maybe_empty(n):
    """True when a reduction may run over zero elements (a 0 or symbolic reduced dim)."""
    return any(not isinstance(d, int) or d == 0 for d in _reduced_dims(n))


def _keep(n):
    return ", keepdims=True" if n.attrs.get("keepdims") else ""


def _reduce(fn, initial=None, with_dtype=False):
    def template(n):
        extra = ""
        if with_dtype and n.in_dtypes[0] not in ("float32", "float64"):
            extra += f", dtype={DT[n.in_dtypes[0]]}"       # integers accumulate (and wrap) in their own dtype
        if initial is not None and _maybe_empty(n):
            extra += f", initial={initial(n.in_dtypes[0])}"  # the value of an empty reduction
        return f"{n.out} = {fn}({n.x(0)}{_axis_arg(n.attrs['axes'], len(n.in_shapes[0]))}{_keep(n)}{extra})"
    return template


def _lowest(dt):
    if dt in ("float32", "float64"):
        return "-jnp.inf"
    if dt == "bool":
        return "False"
    return str(int(np.iinfo(dt).min))


def _is_float(dt):
    return dt in ("float32", "float64")


def _minmax(fn, cmp):
    """numpy's maximum/minimum: NaN propagates, and on ties (-0.0 vs 0.0) the second operand wins."""
    def template(n):
        a, b = n.x(0), n.x(1)
        if _is_float(n.in_dtypes[0]):
            return f"{n.out} = jnp.where(({a} {cmp} {b}) | jnp.isnan({a}), {a}, {b})"
        return f"{n.out} = {fn}({a}, {b})"
    return template


def _slice(n):
    rank = len(n.in_shapes[0])
    steps = n.attrs["steps"] or [1] * len(n.attrs["axes"])
    index = [":"] * rank
    for axis, start, stop, step in zip(n.attrs["axes"], n.attrs["starts"], n.attrs["stops"], steps):
        text = (str(start) if start else "") + ":" + (str(stop) if stop < _END else "")
        index[axis % rank] = text + (f":{step}" if step != 1 else "")
    while index and index[-1] == ":":
        index.pop()
    if not index:
        return f"{n.out} = {n.x(0)}"
    return f"{n.out} = {n.x(0)}[{', '.join(index)}]"


def _fill_value(value, dtype):
    """pad's fill, converted to the dtype as the cast op does, as a Python literal."""
    from ..ops.core import _cast
    v = _cast(np.array(value, dtype=np.float64), dtype=dtype)[()]
    if dtype == "bool":
        return repr(bool(v))
    if _is_float(dtype):
        return literal(float(v))
    return str(int(v))


def _pad(n):
    rank = len(n.in_shapes[0])
    pads, interior = n.attrs["pads"], n.attrs["interior"] or [0] * rank
    fill = _fill_value(n.attrs["value"], n.out_dtype)
    if rank and not any(interior):
        widths = ", ".join(f"({pads[2 * i]}, {pads[2 * i + 1]})" for i in range(rank))
        return f"{n.out} = jnp.pad({n.x(0)}, [{widths}], constant_values={fill})"
    config = ", ".join(f"({pads[2 * i]}, {pads[2 * i + 1]}, {interior[i]})" for i in range(rank))
    return f"{n.out} = lax.pad({n.x(0)}, jnp.array({fill}, {n.x(0)}.dtype), [{config}])"


def _perm(n):
    rank = len(n.in_shapes[0])
    perm = n.attrs["perm"]
    perm = list(range(rank))[::-1] if perm is None else [p % rank for p in perm]
    return perm


def _scatter_add(n):
    axis = n.attrs["axis"] % len(n.in_shapes[0])
    index = ", ".join([":"] * axis + [n.x(1)])
    return f"{n.out} = {n.x(0)}.at[{index}].add({n.x(2)})"


def _cast(n):
    src, dst = n.in_dtypes[0], n.attrs["dtype"]
    if dst == "bool" and src != "bool":
        return f"{n.out} = {n.x(0)} != 0"
    # float -> int saturates (NaN -> 0) and int -> int wraps in XLA's convert, as JAG's cast
    return f"{n.out} = {n.x(0)}.astype({DT[dst]})"


def _layer_norm(n):
    rank = len(n.in_shapes[0])
    first = n.attrs["axis"] % rank
    axes = tuple(a - rank for a in range(first, rank))
    axis = str(axes[0]) if len(axes) == 1 else str(axes)
    x = n.x(0)
    text = (f"jax.nn.standardize({x}, axis={axis}, variance=jnp.var({x}, axis={axis}, keepdims=True), "
            f"epsilon={literal(n.attrs['epsilon'])})")
    if len(n.inputs) > 1:
        text += f" * {n.x(1)}"
    if len(n.inputs) > 2:
        text += f" + {n.x(2)}"
    return f"{n.out} = {text}"


def _bias(n, i=2):
    return f" + {n.x(i)}[:, None, None]" if len(n.inputs) > i else ""


def _conv2d(n):
    a = n.attrs
    pt, pl, pb, pr = a["pads"]
    return (f"{n.out} = lax.conv_general_dilated({n.x(0)}, {n.x(1)}, window_strides={tuple(a['strides'])}, "
            f"padding=[({pt}, {pb}), ({pl}, {pr})], "
            + (f"rhs_dilation={tuple(a['dilations'])}, " if tuple(a["dilations"]) != (1, 1) else "")
            + "dimension_numbers=('NCHW', 'OIHW', 'NCHW')"
            + (f", feature_group_count={a['groups']}" if a["groups"] != 1 else "") + ")" + _bias(n))


def _window(a):
    kh, kw = a["kernel_shape"]
    sh, sw = a["strides"] if a["strides"] is not None else (kh, kw)
    pt, pl, pb, pr = a["pads"]
    return f"(1, 1, {kh}, {kw}), (1, 1, {sh}, {sw}), [(0, 0), (0, 0), ({pt}, {pb}), ({pl}, {pr})]"


def _max_pool2d(n):
    dil = n.attrs["dilations"]
    extra = f", window_dilation=(1, 1, {dil[0]}, {dil[1]})" if tuple(dil) != (1, 1) else ""
    return f"{n.out} = lax.reduce_window({n.x(0)}, -jnp.inf, lax.max, {_window(n.attrs)}{extra})"


def _avg_pool2d(n):
    a = n.attrs
    total = f"lax.reduce_window({n.x(0)}, 0.0, lax.add, {_window(a)})"
    if a["count_include_pad"] or not any(a["pads"]):
        kh, kw = a["kernel_shape"]
        return f"{n.out} = {total} / {kh * kw}"
    count = f"lax.reduce_window(jnp.ones_like({n.x(0)}), 0.0, lax.add, {_window(a)})"
    return f"{n.out} = {total} / {count}"


def _shape_tuple(n, name="shape"):
    text = n.dims(name)[1:-1]
    return f"({text}{',' if len(n.attrs[name]) == 1 else ''})"


def _dropout(n):
    p = literal(n.attrs["p"])
    x = n.x(0)
    # u < p with p rounded to x's dtype; scale = 1/(1-p) in float64, rounded to x's dtype
    return (f"{n.out} = jnp.where(_random_uniform({n.x(1)}, {x}.shape, {DT[n.out_dtype]}) < {p}, 0.0, "
            f"{x} * (1 / (1 - {p})))")


def _binary(symbol):
    return lambda n: f"{n.out} = {n.x(0)} {symbol} {n.x(1)}"


def _call(fn, **fixed):
    extra = "".join(f", {k}={v}" for k, v in fixed.items())
    return lambda n: f"{n.out} = {fn}({', '.join(n.inputs)}{extra})"


# ------------------------------------------------------------------ the table
TEMPLATES = {
    # unary
    "neg": lambda n: f"{n.out} = -{n.x(0)}",
    "abs": _call("jnp.abs"),
    "sign": lambda n: (f"{n.out} = jnp.where({n.x(0)} == 0, 0.0, jnp.sign({n.x(0)}))"   # sign(-0.0) = 0.0
                       if _is_float(n.in_dtypes[0]) else f"{n.out} = jnp.sign({n.x(0)})"),
    "exp": _call("jnp.exp"),
    "log": _call("jnp.log"),
    "sqrt": _call("jnp.sqrt"),
    "sin": _call("jnp.sin"),
    "cos": _call("jnp.cos"),
    "tanh": _call("jnp.tanh"),
    "erf": _call("lax.erf"),
    # binary, compare, select
    "add": _binary("+"),
    "subtract": _binary("-"),
    "multiply": _binary("*"),
    "divide": _binary("/"),
    "power": _binary("**"),
    "maximum": _minmax("jnp.maximum", ">"),
    "minimum": _minmax("jnp.minimum", "<"),
    "equal": _binary("=="),
    "less": _binary("<"),
    "where": _call("jnp.where"),
    # reductions
    "reduce_sum": _reduce("jnp.sum", with_dtype=True),
    "reduce_max": _reduce("jnp.max", initial=_lowest),
    # linalg
    "matmul": _binary("@"),
    # movement
    "reshape": lambda n: f"{n.out} = jnp.reshape({n.x(0)}, {_shape_tuple(n)})",
    "transpose": lambda n: f"{n.out} = jnp.transpose({n.x(0)}, {tuple(_perm(n))})",
    "broadcast_to": lambda n: f"{n.out} = jnp.broadcast_to({n.x(0)}, {_shape_tuple(n)})",
    "slice": _slice,
    "pad": _pad,
    "concat": lambda n: f"{n.out} = jnp.concatenate([{', '.join(n.inputs)}], axis={n.attrs['axis']})",
    # index
    "gather": lambda n: f"{n.out} = jnp.take({n.x(0)}, {n.x(1)}, axis={n.attrs['axis']})",
    "scatter_add": _scatter_add,
    # cast, generators
    "cast": _cast,
    "iota": lambda n: (f"{n.out} = lax.broadcasted_iota({DT[n.attrs['dtype']]}, {_shape_tuple(n)}, "
                       f"{n.attrs['axis'] % max(1, len(n.attrs['shape']))})"),
    "random_uniform": lambda n: f"{n.out} = _random_uniform({n.x(0)}, {_shape_tuple(n)}, {DT[n.attrs['dtype']]})",
    # composites, as JAX's own functions
    "relu": _call("jax.nn.relu"),
    "sigmoid": _call("jax.nn.sigmoid"),
    "gelu": lambda n: f"{n.out} = jax.nn.gelu({n.x(0)}, approximate={n.attrs['approximate'] == 'tanh'})",
    "softmax": lambda n: f"{n.out} = jax.nn.softmax({n.x(0)}, axis={n.attrs['axis']})",
    "log_softmax": lambda n: f"{n.out} = jax.nn.log_softmax({n.x(0)}, axis={n.attrs['axis']})",
    "layer_norm": _layer_norm,
    "reduce_mean": _reduce("jnp.mean"),
    "reduce_min": _reduce("jnp.min", initial=lambda dt: "jnp.inf"),
    "argmax": lambda n: f"{n.out} = jnp.argmax({n.x(0)}, axis={n.attrs['axis']}{_keep(n)})",
    "greater": _binary(">"),
    "greater_equal": _binary(">="),
    "less_equal": _binary("<="),
    "not_equal": _binary("!="),
    "logical_not": _call("jnp.logical_not"),
    "logical_and": _call("jnp.logical_and"),
    "logical_or": _call("jnp.logical_or"),
    "linear": lambda n: f"{n.out} = {n.x(0)} @ {n.x(1)}.T" + (f" + {n.x(2)}" if len(n.inputs) > 2 else ""),
    "embedding": lambda n: f"{n.out} = {n.x(1)}[{n.x(0)}]",
    "dropout": _dropout,
    "conv2d": _conv2d,
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
}

#: ops JAX cannot express (none: every op of opset 1 has a template)
UNSUPPORTED: dict = {}


# ------------------------------------------------------------------ the module around the body
RANDOM_SOURCE = '''

@functools.partial(jax.jit, static_argnames=("shape", "dtype"))
def _random_uniform(key, shape, dtype):
    """JAG's random_uniform (spec/README.md §11): uniform [0, 1) from Threefry-2x32-20 of each
    element's row-major index under the int64 key, bit-identical with every JAG runtime."""
    k = jnp.asarray(key).astype(jnp.uint64)                      # two's complement reinterpretation
    ks = [(k >> 32).astype(jnp.uint32), (k & 0xFFFFFFFF).astype(jnp.uint32)]
    ks.append(ks[0] ^ ks[1] ^ jnp.uint32(0x1BD11BDA))
    i = jnp.arange(math.prod(shape), dtype=jnp.uint64)
    x0 = (i & 0xFFFFFFFF).astype(jnp.uint32) + ks[0]
    x1 = (i >> 32).astype(jnp.uint32) + ks[1]
    for r in range(20):
        rot = (13, 15, 26, 6, 17, 29, 16, 24)[r % 8]
        x0 = x0 + x1
        x1 = ((x1 << rot) | (x1 >> (32 - rot))) ^ x0
        if r % 4 == 3:                                            # key injection every 4 rounds
            s = r // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + jnp.uint32(s)
    if dtype == jnp.float32:
        u = (x0 >> 8).astype(jnp.float32) * jnp.float32(2.0 ** -24)
    else:
        u = ((x0.astype(jnp.uint64) << 21) | (x1 >> 11).astype(jnp.uint64)).astype(jnp.float64) * (2.0 ** -53)
    return u.reshape(shape)
'''

HOW = """Usage (JAX; params keyed by the graph's tensor names):
    params = load_params("model.json")        # {name: numpy array}, inline or sidecar tensors
    fn = build(params)                         # functools.partial(f, params on the device)
    outputs = fn(*inputs)                      # jax arrays in (jnp.asarray), a tuple of them out
f(params, *inputs) is pure: jax.jit(f), jax.grad(lambda p, *xs: loss(f(p, *xs)))(params, ...)
and jax.vmap work on it. Importing this module enables jax_enable_x64 (JAG's int64/float64
stay 64-bit) and full-precision float32 matmuls (jax_default_matmul_precision = "highest")."""


def render(graph, body, idents, bindings) -> str:
    """The whole module: header, imports, INPUTS/OUTPUTS, f(params, *inputs), build, load_params."""
    ops = {n.op for n in graph.nodes}
    args = ", ".join(["params"] + [idents[vi.name] for vi in graph.inputs])
    outs = [idents[vi.name] for vi in graph.outputs]
    ret = "(" + ", ".join(outs) + ("," if len(outs) == 1 else "") + ")"
    lines = [f'    """{graph.name or "graph"}: ({", ".join(vi.name for vi in graph.inputs) or "no inputs"}) -> '
             f'({", ".join(vi.name for vi in graph.outputs)}); params: {{graph tensor name: array}}."""']
    lines += [f"    {idents[name]} = params[{name!r}]" for name in graph.tensors]
    lines += [f"    {b}" for b in bindings]
    lines += [f"    {s}" for s in body]
    lines.append(f"    return {ret}")
    random = "random_uniform" in ops or "dropout" in ops
    parts = [
        header(graph, "jax", HOW),
        "import functools" + ("\nimport math" if random else ""),
        "",
        "import jax",
        "import jax.numpy as jnp",
        "from jax import lax",
        "",
        'jax.config.update("jax_enable_x64", True)                  # int64/float64 stay 64-bit, as in JAG',
        'jax.config.update("jax_default_matmul_precision", "highest")  # full float32 matmuls/convs on GPU/TPU',
        "",
        f"INPUTS = {[vi.name for vi in graph.inputs]!r}",
        f"OUTPUTS = {[vi.name for vi in graph.outputs]!r}",
    ]
    if random:
        parts.append(RANDOM_SOURCE.rstrip("\n"))
    parts += ["", "", f"def f({args}):", "\n".join(lines), "", "",
              "def build(params):",
              '    """f with its params bound: build(load_params("model.json"))(*inputs) -> outputs tuple."""',
              "    return functools.partial(f, jax.device_put(params))",
              "", LOAD_PARAMS_SOURCE.rstrip("\n")]
    return "\n".join(parts) + "\n"

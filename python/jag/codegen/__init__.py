"""Readable framework source from any JAG graph: ``graph.to_torch()``, ``to_jax()``, ``to_tf()``.

A target is a module ``jag.codegen.<target>`` (discovered by name; adding a target is one
file) that defines

- ``TEMPLATES``: op name -> ``template(n: NodeCtx) -> str``, the Python source of ONE
  statement computing the node's output (``n.out``) from its inputs (``n.x(i)``), in the
  framework's idiomatic calls; composites map to the framework's native functions;
- ``UNSUPPORTED``: op name -> reason, for ops the target cannot express (a test fails when
  an op of spec/ops.json is in neither table);
- ``render(graph, body: list[str]) -> str``: the whole module around the node statements
  (imports, the module/function holding the weights, ``load_params``).

This module holds what every target shares: identifiers for value names, attribute
values as Python literals, symbolic dims as Python expressions over the input shapes, the
header comment, and a standalone ``load_params(path)`` (numpy + json + base64 only) that
reads a model's tensors, inline or from sidecars, so generated code needs no jag at run
time. ``import jag`` never imports a framework: targets only generate text.
"""
from __future__ import annotations

import importlib
import keyword
import pkgutil
import re
from dataclasses import dataclass

from .. import spec
from ..symbolic import Dim

#: the targets shipped (others are discovered by module name)
TARGETS = tuple(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def target_module(target: str):
    """The module ``jag.codegen.<target>`` (ValueError naming the available targets)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", target or ""):
        raise ValueError(f"unknown codegen target {target!r}; available: {', '.join(TARGETS)}")
    try:
        return importlib.import_module(f"{__name__}.{target}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown codegen target {target!r}; available: {', '.join(TARGETS)}") from None


_IDENT_BAD = re.compile(r"[^A-Za-z0-9_]")
#: names the generated modules use themselves (imports, builtins, helpers of the preludes)
_RESERVED = frozenset(("self", "params", "np", "torch", "nn", "F", "jnp", "jax", "lax", "tf", "math", "float", "int",
                       "functools", "build", "load_params", "INPUTS", "OUTPUTS", "PARAM_NAMES", "threefry_uniform",
                       "float_to_int", "pad_full"))


def identifier(name: str, taken: dict) -> str:
    """A valid, unique Python identifier for a value name ('params.w1' -> 'params_w1').
    ``taken`` maps identifiers already used to the names they stand for."""
    ident = _IDENT_BAD.sub("_", name)
    if not ident or ident[0].isdigit():
        ident = "v_" + ident
    if keyword.iskeyword(ident) or ident in _RESERVED:
        ident += "_"
    base, k = ident, 2
    while ident in taken and taken[ident] != name:
        ident, k = f"{base}_{k}", k + 1
    taken[ident] = name
    return ident


def literal(v) -> str:
    """An attribute value as Python source (floats round-trip; inf/nan as float('inf'))."""
    if isinstance(v, Dim):
        return dim_expr(v)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return repr(v)
    if isinstance(v, float):
        if v != v:
            return "float('nan')"
        if v in (float("inf"), float("-inf")):
            return f"float('{'-' if v < 0 else ''}inf')"
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    return repr(v)


def dim_expr(d) -> str:
    """A dim as Python source: an int, or the symbolic expression over the names bound from
    the input shapes (the spec's dim grammar is Python syntax: + - * // and parentheses)."""
    if isinstance(d, Dim):
        text = str(d)
        return f"({text})" if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) else text
    return str(int(d))


@dataclass
class NodeCtx:
    """What a template sees of one node: ``op``, ``attrs`` (defaults filled in, dims as
    Python source strings via :meth:`dims`), ``inputs`` (identifiers), ``out`` (the output
    identifier), input/output ``dtypes`` and ``shapes`` (ints or Dims), and ``index``."""
    index: int
    op: str
    attrs: dict
    inputs: list
    out: str
    in_dtypes: list
    in_shapes: list
    out_dtype: str
    out_shape: tuple

    def x(self, i: int) -> str:
        return self.inputs[i]

    def dims(self, name: str) -> str:
        """A dims-typed attr as a Python list expression (symbolic dims as expressions)."""
        return "[" + ", ".join(dim_expr(d) for d in self.attrs[name]) + "]"

    def shape(self) -> str:
        """The output shape as a Python tuple expression."""
        return "(" + ", ".join(dim_expr(d) for d in self.out_shape) + ("," if len(self.out_shape) == 1 else "") + ")"


def node_contexts(graph):
    """(NodeCtx per node, {value name: identifier}) for a graph, in node order."""
    from ..ops import check_attrs
    types = graph.value_types()
    taken: dict = {}
    idents = {}
    for vi in graph.inputs:
        idents[vi.name] = identifier(vi.name, taken)
    for name in graph.tensors:
        idents[name] = identifier(name, taken)
    ctxs = []
    for i, n in enumerate(graph.nodes):
        for o in n.outputs:
            idents[o] = identifier(o, taken)
        attrs = check_attrs(spec.OPS[n.op], n.attrs)
        ctxs.append(NodeCtx(
            index=i, op=n.op, attrs=attrs, inputs=[idents[x] for x in n.inputs], out=idents[n.outputs[0]],
            in_dtypes=[types[x][0] for x in n.inputs], in_shapes=[tuple(types[x][1]) for x in n.inputs],
            out_dtype=types[n.outputs[0]][0], out_shape=tuple(types[n.outputs[0]][1])))
    return ctxs, idents


def dim_bindings(graph, idents) -> list:
    """Statements binding each symbolic dim name from the first input axis where it stands
    alone (spec/README.md §5), e.g. ``N = x.shape[0]``."""
    out, seen = [], set()
    for vi in graph.inputs:
        for axis, d in enumerate(vi.shape):
            if isinstance(d, Dim) and d.name is not None and d.name not in seen:
                seen.add(d.name)
                out.append(f"{d.name} = int({idents[vi.name]}.shape[{axis}])")
    return out


def header(graph, target: str, how: str) -> str:
    """The generated module's opening comment."""
    ins = ", ".join(f"{vi.name}: {vi.dtype}[{', '.join(map(str, vi.shape))}]" for vi in graph.inputs)
    outs = ", ".join(f"{vi.name}: {vi.dtype}[{', '.join(map(str, vi.shape))}]" for vi in graph.outputs)
    return (f'"""{graph.name or "graph"} — generated from a JAG graph (format {spec.FORMAT_VERSION_STR}, '
            f'opset {graph.opset}) by jag.codegen.{target}.\n\n'
            f"Inputs: {ins or 'none'}\nOutputs: {outs}\n\n{how}\n"
            f"Regenerate with `jag codegen --target {target} model.json -o <file>.py`; edit freely.\n"
            '"""')


#: Emitted into every generated module: reads a JAG model's tensors (spec/README.md §6)
#: without jag: inline base64 or sidecar files at their offsets, checked against files[].
LOAD_PARAMS_SOURCE = '''
def load_params(model_json):
    """The graph's tensors {name: numpy array} from a JAG model.json (inline or sidecar)."""
    import base64, hashlib, json, os
    import numpy as np
    with open(model_json, encoding="utf-8") as f:
        doc = json.load(f)
    folder = os.path.dirname(os.path.abspath(model_json))
    files = {}
    for entry in doc.get("files", []):
        with open(os.path.join(folder, os.path.basename(entry["path"])), "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"sidecar {entry['path']} does not match its SHA-256")
        files[entry["path"]] = data
    out = {}
    for t in doc.get("tensors", []):
        if "base64" in t:
            raw = base64.b64decode(t["base64"])
        else:
            off, n = int(t["offset"]), int(t["nbytes"])
            raw = files[t["file"]][off:off + n]
        dtype = np.dtype(t["dtype"]).newbyteorder("<")
        out[t["name"]] = np.frombuffer(raw, dtype=dtype).reshape(t["shape"]).astype(t["dtype"])
    return out
'''


def generate(graph, target: str) -> str:
    """Python source for ``graph`` in ``target`` ('torch', 'jax', 'tf', ...). Raises
    ValueError for an unknown target, or NotImplementedError naming the ops the target
    marks unsupported (with its reasons)."""
    mod = target_module(target)
    ctxs, idents = node_contexts(graph)
    missing = sorted({c.op for c in ctxs if c.op in mod.UNSUPPORTED})
    if missing:
        raise NotImplementedError(f"target {target} cannot express: " +
                                  "; ".join(f"{op} ({mod.UNSUPPORTED[op]})" for op in missing))
    body = [f"{mod.TEMPLATES[c.op](c)}  # node {c.index}: {c.op}" for c in ctxs]
    return mod.render(graph, body, idents, dim_bindings(graph, idents))

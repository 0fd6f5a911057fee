"""Per-op rule tables, keyed by the op names of spec/ops.json (as JAX's per-primitive rules).

- ``IMPLS[op]``: the numpy implementation, ``impl(*arrays, **attrs) -> array`` — the
  normative semantics of the op (spec/README.md: "the numpy reference defines an op").
- ``SHAPE_RULES[rule]``: ``rule(shapes, attrs) -> [out_shape]`` over dims that are ints or
  symbolic :class:`~jag.symbolic.Dim`; named by the op's ``shape_rule`` field.
- ``LOWERINGS[op]``: for composite ops, a Python function of jag Tensors; it may use
  other composites, which are expanded in turn, so ``Graph.lower()`` (which traces
  through it) ends with core ops only.
- ``VJPS[op]``: the reverse-mode rule, ``rule(ct, *inputs, out=output, **attrs) -> [cotangent
  or None per input]``, written with jag ops (``apply`` / Tensor operators) so that the
  backward ops are recorded like any others (``jag.grad`` of ``jag.grad`` works and traced
  gradients are graphs). Every core op whose spec/ops.json ``differentiable`` list is not
  empty has one; composites are differentiated through their lowering unless they have one
  (see :mod:`jag.autodiff`).

Each op's rules are written side by side in ``core.py`` / ``composite.py``; generic named
shape rules (same, broadcast, reduce, matmul) are in ``shapes.py``. The generic checks
below (arity, attrs, dtypes) are driven by spec/ops.json alone.
"""
from __future__ import annotations

from .. import spec
from ..errors import ArityError, AttrError, DTypeError, ShapeError
from ..symbolic import Dim, evaluate, parse

IMPLS: dict = {}
SHAPE_RULES: dict = {}
LOWERINGS: dict = {}
VJPS: dict = {}


def _register(table, key):
    def deco(fn):
        if key in table:
            raise RuntimeError(f"rule for '{key}' registered twice")
        table[key] = fn
        return fn
    return deco


def impl(op):
    """Register the numpy implementation of ``op``."""
    return _register(IMPLS, op)


def shape_rule(name):
    """Register a shape rule under the name used by ops.json's ``shape_rule`` field."""
    return _register(SHAPE_RULES, name)


def lowering(op):
    """Register the reference lowering of a composite op to core ops."""
    return _register(LOWERINGS, op)


def vjp(op):
    """Register the VJP rule of ``op`` (as JAX's per-primitive transpose/JVP rules)."""
    return _register(VJPS, op)


# ---------------------------------------------------------------- generic checks

def check_arity(op: spec.OpDef, n_inputs: int, n_outputs: int | None = None):
    lo, hi = op.arity
    if n_inputs < lo or (hi is not None and n_inputs > hi):
        want = f"{lo}" if hi == lo else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
        names = ", ".join(p.name + ("?" if p.optional else "...") if (p.optional or p.variadic) else p.name for p in op.inputs)
        raise ArityError(f"expected {want} inputs ({names}), got {n_inputs}", field="inputs")
    if n_outputs is not None and n_outputs != len(op.outputs):
        raise ArityError(f"expected {len(op.outputs)} outputs, got {n_outputs}", field="outputs")


def _float_attr(name, v):
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise AttrError(f"attr '{name}': expected a number, got {v!r}", field=f"attrs.{name}")
    return float(v)


def _int_attr(name, v):
    if isinstance(v, bool) or not isinstance(v, int):
        if hasattr(v, "__index__") and not isinstance(v, (bool, Dim)):
            return int(v.__index__())
        raise AttrError(f"attr '{name}': expected an integer, got {v!r}", field=f"attrs.{name}")
    return v


def check_attrs(op: spec.OpDef, attrs: dict | None) -> dict:
    """Attrs with defaults filled in and types checked (E_ATTR); ``dims`` become int | Dim."""
    attrs = dict(attrs or {})
    for key in attrs:
        if key not in op.attrs:
            known = ", ".join(op.attrs) or "none"
            raise AttrError(f"unknown attr '{key}' (known: {known})", field=f"attrs.{key}")
    out = {}
    for name, a in op.attrs.items():
        field = f"attrs.{name}"
        if name not in attrs or attrs[name] is None:
            if a.required:
                raise AttrError(f"attr '{name}' is required ({a.doc})", field=field)
            v = a.default
            if v is None:
                out[name] = None
                continue
        else:
            v = attrs[name]
        t = a.type
        if t == "int":
            v = _int_attr(name, v)
        elif t == "float":
            v = _float_attr(name, v)
        elif t == "bool":
            if not isinstance(v, bool):
                raise AttrError(f"attr '{name}': expected true or false, got {v!r}", field=field)
        elif t == "string":
            if not isinstance(v, str):
                raise AttrError(f"attr '{name}': expected a string, got {v!r}", field=field)
        elif t == "dtype":
            if not isinstance(v, str) and not isinstance(v, (bool, int, float, list, dict)):
                try:  # numpy dtypes and scalar types from Python callers
                    v = spec.dtype_name(v)
                except DTypeError:
                    pass
            if not isinstance(v, str) or v not in spec.DTYPES:
                raise AttrError(f"attr '{name}': {v!r} is not a dtype ({', '.join(spec.DTYPE_NAMES)})", field=field)
        elif t in ("ints", "axes"):
            if t == "axes" and not isinstance(v, (list, tuple)):
                v = [v]
            if not isinstance(v, (list, tuple)):
                raise AttrError(f"attr '{name}': expected a list of integers, got {v!r}", field=field)
            v = [_int_attr(name, x) for x in v]
        elif t == "dims":
            if not isinstance(v, (list, tuple)):
                raise AttrError(f"attr '{name}': expected a list of dims, got {v!r}", field=field)
            try:
                v = [parse(x) if not (hasattr(x, "__index__") and not isinstance(x, (Dim, bool))) else int(x) for x in v]
            except ShapeError as e:
                raise AttrError(f"attr '{name}': {e.detail}", field=field) from None
        else:  # pragma: no cover - spec consistency is tested
            raise AttrError(f"attr '{name}' has unknown type '{t}' in ops.json", field=field)
        if a.enum is not None and v not in a.enum:
            raise AttrError(f"attr '{name}': {v!r} is not one of {list(a.enum)}", field=field)
        if a.length is not None and len(v) != a.length:
            raise AttrError(f"attr '{name}': expected {a.length} values, got {len(v)}", field=field)
        if a.min is not None:
            for x in (v if isinstance(v, list) else [v]):
                if x < a.min:
                    raise AttrError(f"attr '{name}': {x} is below the minimum {a.min}", field=field)
        if a.max_exclusive is not None and not (v < a.max_exclusive):
            raise AttrError(f"attr '{name}': {v} must be below {a.max_exclusive}", field=field)
        out[name] = v
    return out


def concrete_attrs(attrs: dict, env: dict) -> dict:
    """Attrs with symbolic dims evaluated under ``env`` (for running a kernel)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, list) and any(isinstance(x, Dim) for x in v):
            v = [evaluate(x, env) for x in v]
        out[k] = v
    return out


def infer_dtypes(op: spec.OpDef, dtypes: list, attrs: dict) -> list:
    """Output dtypes from input dtypes (E_DTYPE), per the op's type constraints."""
    bound: dict = {}
    for i, dt in enumerate(dtypes):
        port = op.port_for_input(i)
        t = port.type
        if t in op.types:
            allowed = op.types[t]
            if dt not in allowed:
                raise DTypeError(f"input {i} ({port.name}) has dtype {dt}; expected one of {', '.join(allowed)}",
                                 field=f"inputs[{i}]")
            if t in bound and bound[t][0] != dt:
                j = bound[t][1]
                raise DTypeError(f"input {i} ({port.name}) has dtype {dt}; expected {bound[t][0]} "
                                 f"(the dtype of input {j}, {op.port_for_input(j).name})", field=f"inputs[{i}]")
            bound.setdefault(t, (dt, i))
        elif dt != t:
            raise DTypeError(f"input {i} ({port.name}) has dtype {dt}; expected {t}", field=f"inputs[{i}]")
    out = []
    for port in op.outputs:
        t = port.type
        if t.startswith("attr:"):
            out.append(attrs[t[5:]])
        elif t in op.types:
            out.append(bound[t][0])
        else:
            out.append(t)
    return out


def infer_shapes(op: spec.OpDef, shapes: list, attrs: dict) -> list:
    """Output shapes (ints or Dims) via the op's named shape rule (E_SHAPE / E_ATTR)."""
    return [tuple(s) for s in SHAPE_RULES[op.shape_rule](shapes, attrs)]


from . import composite, core, shapes as _shapes  # noqa: E402,F401  (importing registers the rules)

"""The Python view of spec/ops.json and spec/errors.json (the single source of truth).

``OPS[name]`` is an :class:`OpDef`; ``DTYPES`` maps dtype names to numpy dtypes.
Nothing here lists ops: every table is read from the JSON files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPEC_DIR = Path(__file__).resolve().parent / "_spec"

FORMAT_NAME = "jag"
FORMAT_VERSION = (1, 0)  # (MAJOR, MINOR) this reader and writer implement
FORMAT_VERSION_STR = "%d.%d" % FORMAT_VERSION


def _load(name):
    with open(SPEC_DIR / name, encoding="utf-8") as f:
        return json.load(f)


_OPS_DOC = _load("ops.json")
ERRORS_DOC = _load("errors.json")
SCHEMA = _load("jag.schema.json")

OPSET: int = _OPS_DOC["opset"]
DTYPE_NAMES: tuple = tuple(_OPS_DOC["dtypes"])
DTYPES = {name: np.dtype(name) for name in DTYPE_NAMES}
ITEMSIZE = {name: info["itemsize"] for name, info in _OPS_DOC["dtypes"].items()}
SAFETENSORS_DTYPE = {name: info["safetensors"] for name, info in _OPS_DOC["dtypes"].items()}
DTYPE_GROUPS: dict = _OPS_DOC["dtype_groups"]
TOLERANCE_CLASSES: dict = _OPS_DOC["tolerance_classes"]
SHAPE_RULE_DOCS: dict = _OPS_DOC["shape_rules"]


def dtype_name(dt) -> str:
    """JAG dtype name of a numpy dtype (or name); raises DTypeError for unsupported ones."""
    from .errors import DTypeError
    try:
        name = np.dtype(dt).name
    except TypeError:
        raise DTypeError(f"not a dtype: {dt!r}") from None
    if name not in DTYPES:
        raise DTypeError(f"dtype {name} is not a JAG dtype; JAG supports {', '.join(DTYPE_NAMES)}")
    return name


def expand_types(spec) -> tuple:
    """A type constraint (group name, dtype name or list) -> tuple of dtype names."""
    if isinstance(spec, str):
        return tuple(DTYPE_GROUPS[spec]) if spec in DTYPE_GROUPS else (spec,)
    out = []
    for s in spec:
        out.extend(expand_types(s))
    return tuple(out)


@dataclass(frozen=True)
class PortDef:
    name: str
    type: str  # a type variable ("T"), a dtype name ("bool"), or "attr:<name>"
    variadic: bool = False
    optional: bool = False
    min: int = 0


@dataclass(frozen=True)
class AttrDef:
    name: str
    type: str  # int | float | bool | string | ints | axes | dims | dtype
    default: object = None
    required: bool = False
    doc: str = ""
    enum: tuple | None = None
    length: int | None = None
    min: float | None = None
    max_exclusive: float | None = None


@dataclass(frozen=True)
class OpDef:
    """One entry of spec/ops.json."""
    name: str
    kind: str  # "core" | "composite"
    family: str
    since: int
    inputs: tuple
    outputs: tuple
    types: dict  # type variable -> tuple of dtype names
    attrs: dict  # name -> AttrDef
    shape_rule: str
    differentiable: tuple
    tolerance: str
    doc: str
    examples: tuple = field(default_factory=tuple)

    @property
    def arity(self) -> tuple:
        """(min, max) number of inputs; max is None when variadic."""
        lo = sum(1 for p in self.inputs if not p.optional and not p.variadic)
        lo += sum(p.min for p in self.inputs if p.variadic)
        hi = None if any(p.variadic for p in self.inputs) else len(self.inputs)
        return lo, hi

    def port_for_input(self, index: int) -> PortDef:
        """The declared input port that input ``index`` binds to (a variadic port takes the rest)."""
        for j, port in enumerate(self.inputs):
            if port.variadic or j == index:
                return port
        raise IndexError(index)


def _opdef(d) -> OpDef:
    attrs = {}
    for name, a in d["attrs"].items():
        attrs[name] = AttrDef(name=name, type=a["type"], default=a.get("default"), required=a.get("required", False),
                              doc=a.get("doc", ""), enum=tuple(a["enum"]) if "enum" in a else None,
                              length=a.get("length"), min=a.get("min"), max_exclusive=a.get("max_exclusive"))
    return OpDef(
        name=d["name"], kind=d["kind"], family=d["family"], since=d["since"],
        inputs=tuple(PortDef(p["name"], p["type"], p.get("variadic", False), p.get("optional", False), p.get("min", 0))
                     for p in d["inputs"]),
        outputs=tuple(PortDef(p["name"], p["type"]) for p in d["outputs"]),
        types={k: expand_types(v) for k, v in d["types"].items()},
        attrs=attrs, shape_rule=d["shape_rule"], differentiable=tuple(d["differentiable"]),
        tolerance=d["tolerance"], doc=d["doc"], examples=tuple(d.get("examples", ())))


OPS: dict = {d["name"]: _opdef(d) for d in _OPS_DOC["ops"]}
CORE_OPS = tuple(n for n, o in OPS.items() if o.kind == "core")
COMPOSITE_OPS = tuple(n for n, o in OPS.items() if o.kind == "composite")


def tolerance(op_or_class: str, dtype: str) -> tuple:
    """(rtol, atol) for an op name or tolerance class at a dtype; (0, 0) for non-float dtypes."""
    cls = OPS[op_or_class].tolerance if op_or_class in OPS else op_or_class
    entry = TOLERANCE_CLASSES[cls].get(dtype)
    if entry is None:
        return 0.0, 0.0
    return float(entry["rtol"]), float(entry["atol"])

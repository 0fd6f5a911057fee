"""Semantic validation of a Graph against spec/ops.json, reporting every problem at once.

Checks (spec/README.md, 'Validation'): values named once; inputs of each node defined
before use (a use-before-definition is reported as a cycle when the nodes form one, else
as a topological-order error); known op and opset; arity; attrs; dtypes; symbolic shape
inference (shape products must fit in int64); symbolic dims bound by input shapes;
declared output dtypes and shapes. Schema checks live in :mod:`jag.serialize`.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import spec
from .errors import (ArityError, AttrError, DTypeError, GraphError, JagError, ShapeError, UnknownOpError,
                     VersionError)
from .ops import check_arity, check_attrs, infer_dtypes, infer_shapes
from .symbolic import Dim, shape_str

INT64_MAX = 2 ** 63 - 1


@dataclass
class Checked:
    errors: list  # of JagError, in graph order
    types: dict   # value name -> (dtype, shape) for every value whose type could be inferred


def dim_names(shape) -> set:
    """Every symbolic dim name used in a list of dims."""
    out = set()
    for d in shape:
        if isinstance(d, Dim):
            out |= d.names
    return out


def check_numel(shape, what="shape"):
    """ShapeError when the product of a static shape's non-zero dims does not fit in int64
    (spec §5: zero dims aside, so [2**40, 2**40, 0] is refused too — numpy cannot hold it)."""
    n = 1
    for d in shape:
        if isinstance(d, Dim):
            return
        n *= d or 1
    if n > INT64_MAX:
        raise ShapeError(f"{what} {shape_str(shape)}: the product of its non-zero dims, {n}, overflows int64")


def _reaches(deps: dict, start: int, goal: int) -> list | None:
    """A path of node indices start -> ... -> goal through ``deps`` (node -> producers), or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        k, path = stack.pop()
        if k == goal and len(path) > 1:
            return path
        if k in seen:
            continue
        seen.add(k)
        for p in deps.get(k, ()):
            stack.append((p, path + [p]))
    return None


def check(graph) -> Checked:
    """Validate ``graph``; returns every problem found (never raises for graph content)."""
    errors: list = []
    types: dict = {}
    defined: dict = {}
    file = graph.source

    def report(exc: JagError, **ctx):
        errors.append(exc.with_context(file=file, **ctx))

    def define(name, where, field, **ctx):
        if name in defined:
            report(GraphError(f"value '{name}' is defined twice ({defined[name]} and {where})", field=field), **ctx)
        else:
            defined[name] = where

    # graph inputs, their dims, constant tensors
    bare_names = set()
    for i, vi in enumerate(graph.inputs):
        define(vi.name, f"graph input {i}", f"inputs[{i}]")
        for d in vi.shape:
            if isinstance(d, Dim) and d.name is not None:
                bare_names.add(d.name)
        try:
            check_numel(vi.shape, f"input '{vi.name}' shape")
        except ShapeError as e:
            report(e.with_context(field=f"inputs[{i}].shape"))
        types[vi.name] = (vi.dtype, tuple(vi.shape))
    for i, vi in enumerate(graph.inputs):
        loose = dim_names(vi.shape) - bare_names
        if loose:
            report(ShapeError(f"input '{vi.name}' has shape {shape_str(vi.shape)} but dim(s) {', '.join(sorted(loose))} "
                              "appear in no input shape on their own, so they cannot be bound", field=f"inputs[{i}].shape"))
    for name, arr in graph.tensors.items():
        define(name, f"tensor '{name}'", f"tensors.{name}")
        types[name] = (arr.dtype.name, tuple(arr.shape))
    for name in graph.dims:
        if name not in bare_names:
            report(ShapeError(f"dims declares '{name}', which no input shape uses", field=f"dims.{name}"))

    definer: dict = {}
    for i, node in enumerate(graph.nodes):
        for o in node.outputs:
            definer.setdefault(o, i)
    deps = {i: {definer[x] for x in node.inputs if x in definer} for i, node in enumerate(graph.nodes)}

    for i, node in enumerate(graph.nodes):
        ctx = dict(node=i, node_name=node.name, op=node.op)
        op = spec.OPS.get(node.op)
        ok = True
        if op is None:
            report(UnknownOpError(f"unknown op '{node.op}' (not in spec/ops.json opset {spec.OPSET})", field="op"), **ctx)
            ok = False
        else:
            if op.since > graph.opset:
                report(VersionError(f"op '{node.op}' was introduced in opset {op.since}; the file declares opset "
                                    f"{graph.opset}", field="op"), **ctx)
            try:
                check_arity(op, len(node.inputs), len(node.outputs))
            except ArityError as e:
                report(e, **ctx)
                ok = False
        for j, name in enumerate(node.inputs):
            if name in types:
                continue
            ok = False
            if name in defined:
                continue  # defined, but its type is unknown because of an earlier problem
            k = definer.get(name)
            if k is None:
                report(GraphError(f"input {j} '{name}' is never defined", field=f"inputs[{j}]"), **ctx)
            elif k == i:
                report(GraphError(f"input {j} '{name}' is an output of the same node (a cycle)", field=f"inputs[{j}]"), **ctx)
            else:
                path = _reaches(deps, k, i)
                if path:
                    cycle = " -> ".join(f"node {p}" for p in [i] + path)  # "a -> b": a needs b
                    report(GraphError(f"input {j} '{name}' comes from node {k}, which depends on this node: "
                                      f"the graph has a cycle ({cycle})", field=f"inputs[{j}]"), **ctx)
                else:
                    report(GraphError(f"input {j} '{name}' is used before node {k} defines it: nodes must be in "
                                      "topological order", field=f"inputs[{j}]"), **ctx)
        norm = None
        if op is not None:
            try:
                norm = check_attrs(op, node.attrs)
                for key, v in norm.items():
                    if isinstance(v, list):
                        loose = dim_names(v) - bare_names
                        if loose:
                            raise AttrError(f"attr '{key}' uses dim(s) {', '.join(sorted(loose))} that no input shape binds",
                                            field=f"attrs.{key}")
                        if op.attrs[key].type == "dims":  # a shape attr (reshape's -1 counts as 1)
                            try:
                                check_numel([abs(d) if isinstance(d, int) else d for d in v], f"attr '{key}'")
                            except ShapeError as e:
                                raise e.with_context(field=f"attrs.{key}")
            except JagError as e:
                report(e, **ctx)
                ok = False
        out_types = None
        if ok:
            try:
                dts = infer_dtypes(op, [types[n][0] for n in node.inputs], norm)
                shs = infer_shapes(op, [types[n][1] for n in node.inputs], norm)
                for o, sh in zip(node.outputs, shs):
                    check_numel(sh, f"output '{o}' shape")
                out_types = list(zip(dts, shs))
            except JagError as e:
                report(e, **ctx)
        for k, o in enumerate(node.outputs):
            define(o, f"node {i}", f"outputs[{k}]", **ctx)
            if out_types is not None and o not in types:
                types[o] = out_types[k]

    for k, vi in enumerate(graph.outputs):
        field = f"outputs[{k}]"
        if vi.name not in defined:
            report(GraphError(f"graph output '{vi.name}' is never defined", field=field))
            continue
        if vi.name not in types:
            continue
        dt, sh = types[vi.name]
        if dt != vi.dtype:
            report(DTypeError(f"graph output '{vi.name}' is declared {vi.dtype} but computes {dt}", field=field))
        if len(sh) != len(vi.shape) or any(a != b for a, b in zip(sh, vi.shape)):
            report(ShapeError(f"graph output '{vi.name}' is declared {shape_str(vi.shape)} but computes {shape_str(sh)}",
                              field=field))
    return Checked(errors, types)

"""The numpy reference interpreter: the normative definition of running a JAG graph.

``run(graph, inputs)`` binds symbolic dims from the input shapes, then walks the nodes
in order (as JAX's ``eval_jaxpr``): for each node it evaluates attrs, runs the op's shape
rule on the concrete shapes (prepare), calls the numpy implementation (eval), checks the
result against the rule, and frees every value after its last use.
"""
from __future__ import annotations

import time

import numpy as np

from . import spec
from .errors import InputError, InternalError, JagError, ShapeError, raise_collected
from .ops import IMPLS, check_attrs, concrete_attrs, infer_shapes
from .symbolic import Dim, evaluate, shape_str
from .validate import check_numel


def bind_inputs(graph, values: list):
    """Check run-time inputs against the graph's declared inputs; return (arrays, dim bindings).

    Python scalars and lists are converted to the declared dtype; numpy arrays must have
    it exactly. Raises InputError (E_INPUT) naming the input, and the symbolic dim that
    conflicts.
    """
    if len(values) != len(graph.inputs):
        raise InputError(f"expected {len(graph.inputs)} inputs ({', '.join(v.name for v in graph.inputs)}), got {len(values)}",
                         file=graph.source)
    arrays, env, where = [], {}, {}
    for vi, v in zip(graph.inputs, values):
        if isinstance(v, (np.ndarray, np.generic)):
            arr = np.asarray(v)
            if arr.dtype.name != vi.dtype:
                raise InputError(f"input '{vi.name}' has dtype {arr.dtype.name}; the graph expects {vi.dtype}",
                                 file=graph.source, field=vi.name)
        else:
            try:
                arr = np.asarray(v)
                if arr.dtype.kind in "OUSV":
                    raise TypeError(f"{type(v).__name__}")
                if not np.can_cast(arr.dtype, vi.dtype, casting="same_kind") and arr.dtype.kind != "b":
                    raise TypeError(f"values of dtype {arr.dtype}")
                with np.errstate(all="ignore"):
                    converted = arr.astype(vi.dtype)
                # Python ints that do not fit (2**40 for int32) and floats that overflow (1e40 for float32)
                # would wrap or become inf silently
                if (arr.dtype.kind in "iu" and converted.dtype.kind in "iu" and not np.array_equal(converted, arr)) or \
                        (arr.dtype.kind == "f" and not np.array_equal(np.isfinite(converted), np.isfinite(arr))):
                    raise ValueError(f"values out of range for {vi.dtype}")
                arr = converted
            except (TypeError, ValueError) as e:
                raise InputError(f"input '{vi.name}' cannot be converted to {vi.dtype}: {e}", file=graph.source,
                                 field=vi.name) from None
        if arr.ndim != len(vi.shape):
            raise InputError(f"input '{vi.name}' has rank {arr.ndim} (shape {shape_str(arr.shape)}); the graph expects "
                             f"rank {len(vi.shape)} {shape_str(vi.shape)}", file=graph.source, field=vi.name)
        for axis, (d, n) in enumerate(zip(vi.shape, arr.shape)):
            if isinstance(d, Dim) and d.name is not None:
                if d.name in env and env[d.name] != n:
                    raise InputError(f"input '{vi.name}' has shape {shape_str(arr.shape)}: dim {axis} is {n}, but symbolic dim "
                                     f"'{d.name}' is {env[d.name]} from {where[d.name]}", file=graph.source, field=vi.name)
                bound = graph.dims.get(d.name, {}).get("max")
                if bound is not None and n > bound:
                    raise InputError(f"input '{vi.name}' has shape {shape_str(arr.shape)}: symbolic dim '{d.name}' = {n} "
                                     f"exceeds its max {bound}", file=graph.source, field=vi.name)
                env[d.name] = n
                where.setdefault(d.name, f"input '{vi.name}' dim {axis}")
            elif isinstance(d, int) and d != n:
                raise InputError(f"input '{vi.name}' has shape {shape_str(arr.shape)}; the graph expects {shape_str(vi.shape)} "
                                 f"(dim {axis} must be {d})", file=graph.source, field=vi.name)
        arrays.append(arr)
    for vi, arr in zip(graph.inputs, arrays):
        for axis, d in enumerate(vi.shape):
            if isinstance(d, Dim) and d.name is None and evaluate(d, env) != arr.shape[axis]:
                raise InputError(f"input '{vi.name}' has shape {shape_str(arr.shape)}; dim {axis} must be {d} = "
                                 f"{evaluate(d, env)}", file=graph.source, field=vi.name)
    return arrays, env


def _bindings(env: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in env.items()) if env else "these inputs"


def _last_uses(graph) -> dict:
    last = {}
    for i, node in enumerate(graph.nodes):
        for name in node.inputs:
            last[name] = i
    for vi in graph.outputs:
        last[vi.name] = len(graph.nodes)
    return last


def run(graph, inputs: list, *, on_node=None, timing: bool = False) -> list:
    """Execute ``graph`` on numpy arrays; returns the output arrays in graph order.

    Args:
      graph: a valid :class:`~jag.graph.Graph` (it is validated first, once).
      inputs: one value per graph input.
      on_node: optional callback ``on_node(index, node, input_arrays, output_arrays)``, called
        after each node (before values are freed). With ``timing=True`` it gets a fifth
        argument: the kernel's wall time in seconds (``time.perf_counter`` around the numpy
        implementation only). Without a callback nothing is timed.
    Raises:
      InputError for bad inputs; the op's error (e.g. IndexOutOfRangeError) with node
      context; ShapeError when a declared output shape disagrees at run time or an output's
      element count overflows int64 for the bound dims; InternalError (E_INTERNAL) when a
      kernel fails anyway.
    """
    raise_collected(graph.problems())
    timing = timing and on_node is not None
    arrays, env = bind_inputs(graph, inputs)
    values = {vi.name: a for vi, a in zip(graph.inputs, arrays)}
    values.update(graph.tensors)
    last = _last_uses(graph)
    types = graph._checked.types
    for i, node in enumerate(graph.nodes):
        op = spec.OPS[node.op]
        args = [values[n] for n in node.inputs]
        try:
            attrs = concrete_attrs(check_attrs(op, node.attrs), env)
            shapes = infer_shapes(op, [a.shape for a in args], attrs)
            for sh in shapes:
                if any(d < 0 for d in sh):
                    raise ShapeError(f"output shape {shape_str(sh)} has a negative dim for {_bindings(env)}")
                check_numel(sh, f"for {_bindings(env)}, output shape")
            if timing:
                t0 = time.perf_counter()
                with np.errstate(all="ignore"):
                    result = IMPLS[node.op](*args, **attrs)
                seconds = time.perf_counter() - t0
            else:
                with np.errstate(all="ignore"):
                    result = IMPLS[node.op](*args, **attrs)
        except JagError as e:
            raise e.with_context(file=graph.source, node=i, node_name=node.name, op=node.op)
        except (ArithmeticError, LookupError, TypeError, ValueError) as e:  # validation should have caught it
            raise InternalError(f"the kernel failed on inputs {', '.join(f'{a.dtype.name}{shape_str(a.shape)}' for a in args)}"
                                f" (a gap in validation; please report it): {type(e).__name__}: {e}", file=graph.source,
                                node=i, node_name=node.name, op=node.op) from e
        results = result if isinstance(result, tuple) else (result,)
        for name, r, sh in zip(node.outputs, results, shapes):
            r = np.asarray(r)
            if r.shape != tuple(sh) or r.dtype.name != types[name][0]:
                raise InternalError(f"kernel returned {r.dtype.name}{list(r.shape)}; the rules say "
                                    f"{types[name][0]}{list(sh)}", file=graph.source, node=i, node_name=node.name, op=node.op)
            values[name] = r
        if on_node is not None:
            if timing:
                on_node(i, node, args, [values[n] for n in node.outputs], seconds)
            else:
                on_node(i, node, args, [values[n] for n in node.outputs])
        for name in node.inputs:
            if last.get(name) == i and name not in graph.tensors:
                values.pop(name, None)
    outs = []
    for vi in graph.outputs:
        arr = values[vi.name]
        expect = tuple(evaluate(d, env) for d in vi.shape)
        if arr.shape != expect:
            raise ShapeError(f"graph output '{vi.name}' has shape {shape_str(arr.shape)} at run time; declared "
                             f"{shape_str(vi.shape)} = {list(expect)}", file=graph.source, field=vi.name)
        outs.append(arr)
    return outs

"""``jag.trace`` and ``@jag.function``: turn Python functions of jag ops into Graphs.

Tracing calls the function once with Tensors standing for its arguments; values are
computed eagerly as the ops are recorded. Python control flow (if, for, while) runs at
trace time and is unrolled into the graph: a branch on a tensor's value or on a
symbolic dim specialises the graph to the example arguments (as ``jax.jit`` would reject
and ``torch.jit.trace`` silently does). Arguments and results may be pytrees (nested
dicts, lists, tuples), e.g. all model parameters in one nested dict.
"""
from __future__ import annotations

import functools
import inspect
import json
import re

import numpy as np

from . import pytree, spec
from .errors import DTypeError, ShapeError
from .graph import Graph, build_graph
from .symbolic import Dim, bound_dims
from .tensor import Tensor, constant

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.:/\-]")


def _arg_names(f, n):
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        elif params and any(p.kind == p.VAR_POSITIONAL for p in params):
            var = next(p.name for p in params if p.kind == p.VAR_POSITIONAL)
            names.append(f"{var}{i}")
        else:
            names.append(f"arg{i}")
    return names


def _value_name(path: str) -> str:
    name = _BAD_CHARS.sub("_", path)
    return name if re.match(r"^[A-Za-z_]", name) else f"x_{name}"


def _flatten_args(f, args):
    leaves, paths, defs = [], [], []
    for name, arg in zip(_arg_names(f, len(args)), args):
        ls, ps, td = pytree.flatten(arg, name)
        leaves += ls
        paths += [_value_name(p) for p in ps]
        defs.append(td)
    return leaves, paths, ["tuple", defs]


def _as_array(x, path):
    if isinstance(x, Tensor):
        x = x.numpy()
    arr = np.asarray(x)
    try:
        spec.dtype_name(arr.dtype)
    except DTypeError as e:
        raise DTypeError(f"argument '{path}': {e.detail}") from None
    return arr


def _symbolic_shapes(paths, arrays, symbolic):
    """Shapes with the declared symbolic dims, and the name -> value bindings (checked for consistency)."""
    symbolic = dict(symbolic or {})
    unknown = set(symbolic) - set(paths)
    if unknown:
        raise ShapeError(f"symbolic= names {sorted(unknown)} match no argument; arguments are {paths}")
    env, where, shapes = {}, {}, []
    for path, arr in zip(paths, arrays):
        spec_dims = symbolic.get(path)
        if spec_dims is None:
            shapes.append(tuple(arr.shape))
            continue
        if isinstance(spec_dims, str):
            spec_dims = [s.strip() or None for s in spec_dims.split(",")]
        if len(spec_dims) != arr.ndim:
            raise ShapeError(f"symbolic dims {list(spec_dims)} for '{path}' do not match its rank {arr.ndim} "
                             f"(shape {list(arr.shape)})")
        shape = []
        for axis, (s, n) in enumerate(zip(spec_dims, arr.shape)):
            if s is None or (isinstance(s, int) and not isinstance(s, bool)):
                if isinstance(s, int) and s != n:
                    raise ShapeError(f"'{path}' dim {axis} is {n}, but symbolic= says {s}")
                shape.append(n)
                continue
            d = Dim(s)
            if d.name is None:
                raise ShapeError(f"symbolic dims of arguments must be plain names, got '{s}' for '{path}'")
            if d.name in env and env[d.name] != n:
                raise ShapeError(f"symbolic dim '{d.name}' is {env[d.name]} in {where[d.name]} but {n} in '{path}' dim {axis}")
            env[d.name] = n
            where.setdefault(d.name, f"'{path}' dim {axis}")
            shape.append(d)
        shapes.append(tuple(shape))
    return shapes, env


def trace(f, *args, symbolic: dict | None = None, dims: dict | None = None, name: str | None = None,
          doc: str | None = None) -> Graph:
    """Trace ``f(*args)`` into a :class:`~jag.graph.Graph`.

    Args:
      f: a Python function of jag Tensors (numpy-like code using jag ops).
      *args: example arguments: arrays, scalars, or pytrees of them. They fix the dtypes
        and (except for symbolic dims) the shapes of the graph's inputs.
      symbolic: optional ``{input name: dims}`` declaring symbolic dims, e.g.
        ``{"x": ("N", None)}`` or ``{"x": "N,"}`` makes axis 0 of ``x`` the dim ``N``.
        Input names are the parameter names, with pytree paths (``params.w1``).
      dims: optional bounds, ``{"N": {"max": 4096}}``.
      name, doc: graph name (default ``f.__name__``) and documentation.
    Returns:
      The Graph; its inputs are the leaves of ``args``, its outputs the leaves of the result.
    Raises:
      DTypeError, ShapeError, AttrError… from the ops, with the op named.
    """
    leaves, paths, in_tree = _flatten_args(f, args)
    arrays = [_as_array(x, p) for x, p in zip(leaves, paths)]
    shapes, env = _symbolic_shapes(paths, arrays, symbolic)
    inputs = [Tensor(a, a.dtype.name, s, name=p, kind="input") for a, s, p in zip(arrays, shapes, paths)]
    from .autodiff import recording_grads
    with recording_grads() as rec, bound_dims(env):
        result = f(*pytree.unflatten(in_tree, inputs))
    out_leaves, out_paths, out_tree = pytree.flatten(result)
    if not out_leaves:
        raise ShapeError(f"{getattr(f, '__name__', 'the function')} returned no arrays")
    outs = [x if isinstance(x, Tensor) else constant(_as_array(x, "output")) for x in out_leaves]
    fdoc = doc if doc is not None else (inspect.getdoc(f) or "").split("\n\n")[0]
    # grad-loss marker: the losses, wrt values and stop_gradient outputs are extra roots while
    # the graph is built (so the loss's forward nodes stay), then trimmed from the outputs
    extra = [t for loss, wrt in rec.calls for t in [loss] + wrt] + rec.stopped
    graph = build_graph(inputs, outs + extra, name=name or getattr(f, "__name__", "graph"), doc=fdoc, dims=dims,
                        metadata={"jag.pytree": {"inputs": in_tree, "outputs": out_tree}},
                        output_names=[_value_name(p) if p else None for p in out_paths] + [None] * len(extra))
    if extra:
        names = iter(vi.name for vi in graph.outputs[len(outs):])
        calls = [{"loss": next(names), "wrt": [next(names) for _ in wrt]} for _, wrt in rec.calls]
        stopped = list(dict.fromkeys(next(names) for _ in rec.stopped))
        graph.outputs = graph.outputs[:len(outs)]
        marker = dict(calls[0]) if calls else {}
        if len(calls) > 1:
            marker["calls"] = calls
        if stopped:
            marker["stop_gradient"] = stopped
        graph.metadata["jag.grad"] = marker
    graph.problems()  # infer symbolic types once; a tracer bug surfaces here, not at save time
    return graph


def function(fun=None, *, symbolic: dict | None = None, dims: dict | None = None):
    """Decorator: trace on the first call per input signature, then re-run the cached graph.

    The signature is the pytree structure plus each leaf's dtype and shape (symbolic axes
    excluded, so a new batch size reuses the graph). ``f.graph(*args)`` returns the cached
    (or newly traced) graph for those arguments, to save or inspect; ``f.cache`` maps
    signatures to graphs. Like ``jax.jit``: Python side effects run only when tracing.
    """
    if fun is None:
        return functools.partial(function, symbolic=symbolic, dims=dims)
    cache: dict = {}

    def signature(args):
        leaves, paths, td = _flatten_args(fun, args)
        sym = symbolic or {}
        key = []
        for x, p in zip(leaves, paths):
            arr = x if isinstance(x, Tensor) else np.asarray(x)
            dims_ = list(arr.shape)
            spec_dims = sym.get(p)
            if isinstance(spec_dims, str):
                spec_dims = [s.strip() or None for s in spec_dims.split(",")]
            for i, s in enumerate(spec_dims or []):
                if isinstance(s, str) and i < len(dims_):
                    dims_[i] = s
            key.append((str(arr.dtype), tuple(str(d) for d in dims_)))
        return json.dumps(td), tuple(key)

    def graph_for(*args):
        key = signature(args)
        g = cache.get(key)
        if g is None:
            g = cache[key] = trace(fun, *args, symbolic=symbolic, dims=dims)
        return g

    @functools.wraps(fun)
    def wrapper(*args):
        return graph_for(*args)(*args)

    wrapper.graph = graph_for
    wrapper.cache = cache
    return wrapper

"""Execution logs: every value of one run of a graph, with per-node wall time and statistics.

``graph.execute(*args, log=True)`` runs the graph on the numpy reference interpreter and
returns an :class:`ExecutionLog` instead of the outputs::

    log = graph.execute(x, w, log=True)
    log["t7"]                 # the array of value t7 (any value: inputs, tensors, node outputs)
    log.outputs               # what graph.execute(x, w) returns
    print(log)                # the summary: slowest nodes, largest values, first NaN/Inf
    log.nodes[3].seconds      # per node: op, name, input/output names and arrays, wall time
    log.stats("t7")           # min, max, mean, L2 norm, NaN and Inf counts
    log.render("run.svg")     # the graph with these values (jag.viz)
    log.top_paths(k=3)        # gradient paths (jag.semiring), for a scalar target or a jag.grad graph

(The module is ``jag.execlog``, not ``jag.log``: ``jag.log`` is the natural-logarithm op.)

Statistics (:func:`value_stats`) follow numpy: for float values ``min``, ``max``, ``mean``
and ``l2`` (``sqrt(sum(x**2))``) are taken over the finite elements, in float64, and NaN and
±Inf elements are counted apart (``nan``, ``inf``); int and bool values get ``min``,
``max`` and ``mean`` (bool as 0/1) and no L2 norm; an empty array, or one without finite
elements, has None for each of them.

Wall time is ``time.perf_counter`` around the op's numpy implementation only (not the
shape checks around it); ``total_seconds`` is the whole run. With ``backend="c"`` the log
holds the value of every node output computed by the C runtime (the graph is run once
with every value exposed as an output), and per-node times are None: the C runtime times
a whole run, not single nodes.
"""
from __future__ import annotations

import difflib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import GraphError, InputError, JagError
from .symbolic import shape_str


class UnknownValueError(GraphError, KeyError):
    """E_GRAPH: ``log[name]`` for a name that is no value of the graph (also a KeyError)."""

    def __str__(self):  # KeyError would quote the message
        return JagError.__str__(self)


# ---------------------------------------------------------------- statistics

@dataclass(frozen=True)
class ValueStats:
    """Statistics of one array (see the module docstring for what is counted how).

    Attributes: ``dtype`` (str), ``shape`` (tuple of int), ``size``; ``min``, ``max``,
    ``mean`` (float or None), ``l2`` (float or None; None for int/bool), ``nan``, ``inf``
    (counts of NaN and ±Inf elements; 0 for int/bool).
    """
    dtype: str
    shape: tuple
    size: int
    min: float | None
    max: float | None
    mean: float | None
    l2: float | None
    nan: int = 0
    inf: int = 0

    @property
    def absmax(self) -> float | None:
        """max |x| over the finite elements (None when there are none)."""
        if self.min is None:
            return None
        return max(abs(self.min), abs(self.max))

    @property
    def nonfinite(self) -> bool:
        return bool(self.nan or self.inf)

    def type_str(self) -> str:
        return f"{self.dtype}{list(self.shape)}".replace(" ", "")

    def compact(self) -> str:
        """``min -1.2 max 3.4 mean 0.05 ‖x‖ 7.1`` (+ ``NaN 2 Inf 1``), numbers to 4 digits."""
        if self.size == 0:
            return "empty"
        parts = []
        if self.min is not None:
            parts.append(f"min {fmt(self.min)} max {fmt(self.max)} mean {fmt(self.mean)}")
            if self.l2 is not None:
                parts.append(f"‖x‖ {fmt(self.l2)}")
        if self.nonfinite:
            parts.append(f"NaN {self.nan} Inf {self.inf}")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"dtype": self.dtype, "shape": list(self.shape), "min": self.min, "max": self.max, "mean": self.mean,
                "l2": self.l2, "nan": self.nan, "inf": self.inf}


def value_stats(arr) -> ValueStats:
    """The :class:`ValueStats` of an array (any JAG dtype, any shape, possibly empty)."""
    a = np.asarray(arr)
    dtype, shape, size = a.dtype.name, tuple(int(d) for d in a.shape), int(a.size)
    if size == 0:
        return ValueStats(dtype, shape, 0, None, None, None, None)
    if a.dtype.kind == "f":
        nan = int(np.count_nonzero(np.isnan(a)))
        inf = int(np.count_nonzero(np.isinf(a)))
        finite = a if nan + inf == 0 else a[np.isfinite(a)]
        if finite.size == 0:
            return ValueStats(dtype, shape, size, None, None, None, None, nan, inf)
        f = finite.astype(np.float64, copy=False)
        with np.errstate(over="ignore"):
            return ValueStats(dtype, shape, size, float(f.min()), float(f.max()), float(f.mean()),
                              float(np.sqrt(np.dot(f.ravel(), f.ravel()))), nan, inf)
    f = a.astype(np.float64) if a.dtype.kind == "b" else a
    return ValueStats(dtype, shape, size, float(f.min()), float(f.max()), float(np.mean(f, dtype=np.float64)), None)


def fmt(v) -> str:
    """A number in at most 4 significant digits (``1.235e+05``, ``-0.01``, ``nan``)."""
    if v is None:
        return "-"
    return f"{v:.4g}"


def fmt_seconds(s) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


# ---------------------------------------------------------------- records

@dataclass
class NodeRecord:
    """One node's execution: ``index`` in ``graph.nodes``, ``op``, ``name`` (the node name,
    e.g. a module path, or None), ``input_names`` / ``output_names`` (value names, in slot
    order), ``seconds`` (kernel wall time; None on the C backend). ``inputs`` / ``outputs``
    give the arrays, ``shapes`` / ``dtypes`` / ``stats`` describe the outputs."""
    index: int
    op: str
    name: str | None
    input_names: list
    output_names: list
    seconds: float | None
    log: "ExecutionLog" = field(repr=False, compare=False, default=None)

    @property
    def inputs(self) -> list:
        return [self.log.values[n] for n in self.input_names]

    @property
    def outputs(self) -> list:
        return [self.log.values[n] for n in self.output_names]

    @property
    def shapes(self) -> list:
        return [tuple(a.shape) for a in self.outputs]

    @property
    def dtypes(self) -> list:
        return [a.dtype.name for a in self.outputs]

    @property
    def stats(self) -> list:
        return [self.log.stats(n) for n in self.output_names]

    def label(self) -> str:
        """``node 7 'encoder.fc' (matmul)``, as in error messages."""
        return f"node {self.index}" + (f" '{self.name}'" if self.name else "") + f" ({self.op})"


class ExecutionLog:
    """Every value of one run of a graph, with per-node wall time and value statistics.

    Made by ``graph.execute(*args, log=True)`` (or ``visualize=True``); see the module
    docstring. Attributes:

      graph: the :class:`~jag.graph.Graph` that ran.
      values: dict value name -> numpy array for EVERY value: graph inputs, graph tensors
        (parameters and constants) and every node output.
      outputs: the outputs in the traced structure (what ``graph.execute`` returns).
      nodes: list of :class:`NodeRecord`, in execution (= graph) order.
      backend: "python" or "c".
      total_seconds: wall time of the whole run.

    ``log[name]`` gives a value (UnknownValueError, E_GRAPH, naming close matches, for an
    unknown name); ``name in log``, ``len(log)``, ``iter(log)`` go over value names.
    ``str(log)`` is :meth:`summary`. The gradient-path methods (:meth:`top_paths`,
    :meth:`entropy`, :meth:`edge_flow`) call :mod:`jag.semiring` on ``graph`` and ``values``.
    """

    def __init__(self, graph, values: dict, nodes: list, outputs, *, backend: str = "python",
                 total_seconds: float | None = None, visualize: bool = False):
        self.graph = graph
        self.values = values
        self.nodes = nodes
        for r in nodes:
            r.log = self
        self.outputs = outputs
        self.backend = backend
        self.total_seconds = total_seconds
        self.visualize = visualize
        self._stats: dict = {}
        self._producer = {o: i for i, n in enumerate(graph.nodes) for o in n.outputs}
        self._semiring_cache: dict = {}
        self._svg = None

    # ------------------------------------------------------------ values
    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.values[name]
        except (KeyError, TypeError):
            raise self._unknown(name) from None

    def _unknown(self, name):
        close = difflib.get_close_matches(str(name), [str(k) for k in self.values], n=5, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        return UnknownValueError(f"value {name!r} is not in the log of graph '{self.graph.name}' "
                                 f"({len(self.values)} values: the graph's inputs, tensors and node outputs){hint}",
                                 field=str(name))

    def __contains__(self, name) -> bool:
        return name in self.values

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def stats(self, name: str) -> ValueStats:
        """The :class:`ValueStats` of value ``name`` (computed once, then cached)."""
        s = self._stats.get(name)
        if s is None:
            s = self._stats[name] = value_stats(self[name])
        return s

    def producer(self, name: str):
        """The :class:`NodeRecord` that computed value ``name``; None for graph inputs and tensors."""
        self[name]
        i = self._producer.get(name)
        return None if i is None else self.nodes[i]

    def kind(self, name: str) -> str:
        """"input", "tensor" or "node" — where value ``name`` comes from."""
        self[name]
        if name in self._producer:
            return "node"
        return "tensor" if name in self.graph.tensors else "input"

    def module(self, path: str) -> list:
        """The records of the nodes recorded inside module ``path`` (node name ``path`` or
        ``path.*``; see jag.nn's module-path node names), in execution order."""
        return [r for r in self.nodes if r.name is not None and (r.name == path or r.name.startswith(path + "."))]

    def first_nonfinite(self):
        """``(value name, NodeRecord or None)`` of the first value holding NaN or ±Inf, in
        execution order (graph inputs and tensors first, then node outputs); None if none."""
        for vi in self.graph.inputs:
            if self.stats(vi.name).nonfinite:
                return vi.name, None
        for name in self.graph.tensors:
            if self.stats(name).nonfinite:
                return name, None
        for r in self.nodes:
            for o in r.output_names:
                if self.stats(o).nonfinite:
                    return o, r
        return None

    # ------------------------------------------------------------ summary
    def summary(self, top: int = 10) -> str:
        """A text report: the ``top`` slowest nodes with their share of the kernel time, the
        ``top`` largest float values by max |x| (finite elements), and the first NaN/Inf with
        the node that produced it (or "no NaN/Inf")."""
        g = self.graph
        kernel = sum(r.seconds for r in self.nodes if r.seconds is not None)
        timed = any(r.seconds is not None for r in self.nodes)
        head = (f"ExecutionLog of graph '{g.name}' on {self.backend}: {len(self.nodes)} nodes, {len(self.values)} values"
                + (f", kernels {fmt_seconds(kernel)}" if timed else "")
                + (f", run {fmt_seconds(self.total_seconds)}" if self.total_seconds is not None else ""))
        lines = [head]

        if timed and self.nodes:
            lines.append("")
            lines.append(f"slowest nodes (of {len(self.nodes)}):")
            order = sorted((r for r in self.nodes if r.seconds is not None), key=lambda r: (-r.seconds, r.index))
            rows = [("node", "name", "op", "output", "time", "share")]
            for r in order[:top]:
                out = ", ".join(f"{o}: {self.stats(o).type_str()}" for o in r.output_names)
                share = f"{100 * r.seconds / kernel:.1f}%" if kernel > 0 else "-"
                rows.append((str(r.index), r.name or "", r.op, out, fmt_seconds(r.seconds), share))
            lines += _table(rows, right={0, 4, 5})
        elif not timed:
            lines.append("(per-node times: not measured on this backend)")

        ranked = [n for n in self.values if self.stats(n).absmax is not None and self.stats(n).dtype.startswith("float")]
        if ranked:
            ranked.sort(key=lambda n: -self.stats(n).absmax)
            lines.append("")
            lines.append(f"largest float values by max |x| (of {len(ranked)}):")
            rows = [("value", "from", "type", "min", "max", "mean", "‖x‖", "NaN", "Inf")]
            for n in ranked[:top]:
                s = self.stats(n)
                rows.append((n, self._origin(n), s.type_str(), fmt(s.min), fmt(s.max), fmt(s.mean), fmt(s.l2),
                             str(s.nan), str(s.inf)))
            lines += _table(rows, right={3, 4, 5, 6, 7, 8})

        lines.append("")
        first = self.first_nonfinite()
        if first is None:
            lines.append("no NaN/Inf")
        else:
            name, rec = first
            s = self.stats(name)
            bad = [n for n in self.values if self.stats(n).nonfinite]
            where = (f"produced by {rec.label()} from {', '.join(rec.input_names) or 'no inputs'}" if rec is not None
                     else f"a graph {self.kind(name)}")
            lines.append(f"first NaN/Inf: {name} ({s.type_str()}: {s.nan} NaN, {s.inf} Inf), {where}; "
                         f"{len(bad)} value(s) hold NaN/Inf")
        return "\n".join(lines)

    def _origin(self, name) -> str:
        i = self._producer.get(name)
        if i is None:
            return self.kind(name)
        r = self.nodes[i]
        return f"{r.index} {r.op}" + (f" '{r.name}'" if r.name else "")

    def __str__(self):
        return self.summary()

    def __repr__(self):
        return (f"<jag.ExecutionLog of '{self.graph.name}' on {self.backend}: {len(self.nodes)} nodes, "
                f"{len(self.values)} values>")

    # ------------------------------------------------------------ files
    def to_json(self) -> str:
        """The log without arrays as JSON text: graph name, backend, times, per node (index,
        op, name, inputs, outputs, seconds) and per value its statistics (non-finite
        statistics as null)."""
        doc = {
            "graph": self.graph.name, "backend": self.backend, "total_seconds": self.total_seconds,
            "nodes": [{"index": r.index, "op": r.op, "name": r.name, "inputs": list(r.input_names),
                       "outputs": list(r.output_names), "seconds": r.seconds} for r in self.nodes],
            "values": {n: dict(self.stats(n).to_dict(), kind=self.kind(n)) for n in self.values},
        }
        return json.dumps(doc, indent=1, allow_nan=False, default=_json_default)

    def save(self, path) -> Path:
        """Write the log atomically: ``.json`` -> :meth:`to_json`; ``.safetensors`` / ``.bin`` ->
        every value as a safetensors bundle (:func:`jag.save_tensors`; read it back with
        ``jag.load_tensors``). InputError for another suffix; FileError when not writable."""
        from .serialize import atomic_write, save_tensors
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                atomic_write(path, [self.to_json().encode("utf-8")])
            except OSError as e:
                from .errors import FileError
                raise FileError(f"cannot write '{path}': {e.strerror or e}", file=path) from None
        elif suffix in (".safetensors", ".bin"):
            save_tensors(path, self.values)
        else:
            raise InputError(f"cannot save an execution log as '{path.name}': use .json (statistics and times) "
                             "or .safetensors / .bin (every value)", field="path")
        return path

    # ------------------------------------------------------------ gradient paths (jag.semiring)
    def _semiring(self, fn_name, **kw):
        key = (fn_name, json.dumps(kw, sort_keys=True, default=str))
        if key not in self._semiring_cache:
            from . import semiring
            self._semiring_cache[key] = getattr(semiring, fn_name)(self.graph, self.values, **kw)
        return self._semiring_cache[key]

    def top_paths(self, k: int = 1, source=None, target=None, signed: bool = False) -> list:
        """The ``k`` highest-weighted gradient paths from ``source`` to ``target``:
        ``jag.semiring.top_paths(graph, values, ...)`` (list of GradientPath, best first)."""
        return self._semiring("top_paths", k=k, source=source, target=target, signed=signed)

    def entropy(self, source=None, target=None) -> float:
        """The entropy (nats) of the gradient-path distribution: ``jag.semiring.entropy``."""
        return self._semiring("entropy", source=source, target=target)

    def edge_flow(self, source=None, target=None) -> dict:
        """Share of the absolute path weight through each edge ``(node_index, input_slot)``:
        ``jag.semiring.edge_flow``."""
        return self._semiring("edge_flow", source=source, target=target)

    # ------------------------------------------------------------ pictures (jag.viz)
    def to_dot(self, **kw) -> str:
        """The DOT text of the graph with this log's values: ``jag.viz.to_dot(graph, log, **kw)``."""
        from . import viz
        return viz.to_dot(self.graph, self, **kw)

    def render(self, path, **kw) -> Path:
        """Draw the graph with this log's values to ``path`` (.svg, .png, .pdf or .dot):
        ``jag.viz.render(graph, path, log=self, **kw)``. For a graph traced from ``jag.grad``
        or with a scalar output, edges are as wide as the gradient flow through them and the
        top gradient path is drawn in red (``top_path=False`` / ``edge_flow=False`` turn it off)."""
        from . import viz
        return viz.render(self.graph, path, log=self, **kw)

    def prepare_rendering(self):
        """Compute now what :meth:`render` and the notebook picture need: every value's
        statistics and, when the graph has a gradient target, the edge flow and top path."""
        for n in self.values:
            self.stats(n)
        from . import viz
        viz.gradient_overlay(self.graph, self, None, None)
        return self

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.summary()}
        if self.visualize:
            svg = self._repr_svg_()
            if svg is not None:
                bundle["image/svg+xml"] = svg
        return bundle

    def _repr_svg_(self):
        """The picture (SVG text) for notebooks when made with ``visualize=True``; else None."""
        if not self.visualize:
            return None
        if self._svg is None:
            from . import viz
            try:
                self._svg = viz.pipe(self.to_dot(), "svg").decode("utf-8")
            except viz.DotNotFoundError:
                return None
        return self._svg


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return str(v)


def _table(rows, right=frozenset()) -> list:
    widths = [max(len(str(r[c])) for r in rows) for c in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [str(v).rjust(w) if c in right else str(v).ljust(w) for c, (v, w) in enumerate(zip(r, widths))]
        out.append("  " + "  ".join(cells).rstrip())
        if k == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


# ---------------------------------------------------------------- making logs

def record(graph, flat_inputs: list, *, visualize: bool = False) -> ExecutionLog:
    """Run ``graph`` on the reference interpreter and log every node (``graph.execute(..., log=True)``).

    ``flat_inputs``: one value per graph input. Raises what :func:`jag.interpret.run`
    raises; a JagError raised by a node carries the log of the nodes before it as
    ``err.partial_log`` (with ``outputs`` None).
    """
    from .interpret import bind_inputs, run
    arrays, _ = bind_inputs(graph, list(flat_inputs))
    values = {vi.name: a for vi, a in zip(graph.inputs, arrays)}
    values.update(graph.tensors)
    nodes = []

    def on_node(i, node, args, outs, seconds):
        values.update(zip(node.outputs, outs))
        nodes.append(NodeRecord(i, node.op, node.name, list(node.inputs), list(node.outputs), seconds))

    t0 = time.perf_counter()
    try:
        outs = run(graph, arrays, on_node=on_node, timing=True)
    except JagError as e:
        e.partial_log = ExecutionLog(graph, values, nodes, None, total_seconds=time.perf_counter() - t0)
        raise
    total = time.perf_counter() - t0
    log = ExecutionLog(graph, values, nodes, graph._unflatten_outputs(outs), total_seconds=total, visualize=visualize)
    if visualize:
        log.prepare_rendering()
    return log


def record_c(graph, flat_inputs: list, *, visualize: bool = False) -> ExecutionLog:
    """Run ``graph`` on the C runtime with every node output exposed as a graph output, and
    log the values C computed (per-node times None; ``total_seconds`` is the C run)."""
    from .graph import Graph, ValueInfo
    from .interpret import bind_inputs
    from .runtimes import c
    arrays, _ = bind_inputs(graph, list(flat_inputs))
    types = graph.value_types()
    names = [vi.name for vi in graph.outputs]
    taken = set(names)
    exposed = list(graph.outputs)
    for node in graph.nodes:
        for o in node.outputs:
            if o not in taken:
                taken.add(o)
                exposed.append(ValueInfo(o, *types[o]))
    probe = Graph(inputs=graph.inputs, outputs=exposed, nodes=graph.nodes, tensors=graph.tensors, name=graph.name,
                  dims=graph.dims, source=graph.source)
    t0 = time.perf_counter()
    outs = c.run(probe, arrays)
    total = time.perf_counter() - t0
    values = {vi.name: a for vi, a in zip(graph.inputs, arrays)}
    values.update(graph.tensors)
    values.update({vi.name: a for vi, a in zip(exposed, outs)})
    nodes = [NodeRecord(i, n.op, n.name, list(n.inputs), list(n.outputs), None) for i, n in enumerate(graph.nodes)]
    log = ExecutionLog(graph, values, nodes, graph._unflatten_outputs(outs[:len(graph.outputs)]), backend="c",
                       total_seconds=total, visualize=visualize)
    if visualize:
        log.prepare_rendering()
    return log

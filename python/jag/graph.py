"""The graph IR: ``Graph``, ``Node``, ``ValueInfo`` (spec/README.md, 'Graph form').

A Graph is jaxpr-like: typed inputs, a list of nodes in topological order (each
``outputs = op[attrs](inputs)``, every value named exactly once), typed outputs, and
constant tensors. It runs on the numpy interpreter (:mod:`jag.interpret`), saves to and
loads from the JSON format (:mod:`jag.serialize`), validates (:mod:`jag.validate`) and
lowers composite ops to core ops.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import pytree, spec
from .errors import GraphError
from .symbolic import Dim, shape_str
from .tensor import Tensor, apply, constant, expanding_composites

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/\-]*$")


@dataclass
class ValueInfo:
    """A graph input or output: name, dtype (str) and shape (tuple of int | Dim)."""
    name: str
    dtype: str
    shape: tuple
    doc: str | None = None

    def __str__(self):
        return f"{self.name}: {self.dtype}{shape_str(self.shape)}"


@dataclass
class Node:
    """One op application: ``outputs = op[attrs](inputs)``; inputs/outputs are value names."""
    op: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    name: str | None = None
    doc: str | None = None


def attr_to_json(v):
    """An attr value as written in a file: Dims as strings, non-finite floats as 'inf'/'-inf'/'nan'."""
    if isinstance(v, (list, tuple)):
        return [attr_to_json(x) for x in v]
    if isinstance(v, Dim):
        return str(v)
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, np.generic):
        return v.item()
    return v


class Graph:
    """A JAG computation graph.

    Build one with :func:`jag.trace` or :func:`jag.load`. ``graph(*args)`` runs it on the
    numpy reference interpreter and returns numpy arrays in the structure the traced
    function returned.

    Attributes:
      name, doc: graph name and documentation.
      inputs, outputs: lists of :class:`ValueInfo`.
      nodes: list of :class:`Node` in topological order.
      tensors: dict name -> numpy array (constants and weights).
      dims: dict dim name -> {"max": int} upper bounds of symbolic dims.
      metadata: free-form JSON dict (``"jag.pytree"`` holds the input/output structure).
      source: the file the graph was loaded from, or None.
    """

    def __init__(self, *, inputs, outputs, nodes, tensors=None, name="graph", doc="", dims=None, metadata=None,
                 producer=None, opset=spec.OPSET, version=spec.FORMAT_VERSION_STR, source=None):
        self.name = name
        self.doc = doc
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.nodes = list(nodes)
        self.tensors = dict(tensors or {})
        self.dims = dict(dims or {})
        self.metadata = dict(metadata or {})
        self.producer = producer or {"name": "jag", "version": _version()}
        self.opset = opset
        self.version = version
        self.source = source
        self._checked = None  # cached result of validate.check

    # ------------------------------------------------------------ structure
    @property
    def in_tree(self):
        return self.metadata.get("jag.pytree", {}).get("inputs")

    @property
    def out_tree(self):
        return self.metadata.get("jag.pytree", {}).get("outputs")

    def problems(self) -> list:
        """Every problem found by :func:`jag.validate.check` (schema-level checks excluded)."""
        from .validate import check
        if self._checked is None:
            self._checked = check(self)
        return self._checked.errors

    def validate(self):
        """Check the graph against the schema and spec/ops.json; raise the first problem with all in ``.errors``.

        Checks: JSON Schema, names defined once and before use, topological order (naming a
        cycle), known ops and opset, arity, attrs, dtypes, symbolic shape inference, declared
        output types, tensor bytes vs dtype × shape, and (for loaded graphs) sidecar hashes.
        Returns self.
        """
        from .serialize import check_stored_tensors, to_document, validate_document
        from .errors import raise_collected
        errors = list(validate_document(to_document(self, inline_all=True, with_data=False), file=self.source))
        errors += self.problems()
        if self.source is not None:  # the files on disk may have changed since loading
            errors += check_stored_tensors(self.source)
        raise_collected(errors)
        return self

    def value_types(self) -> dict:
        """Inferred (dtype, shape) of every value, with symbolic dims (raises if the graph is invalid)."""
        from .errors import raise_collected
        raise_collected(self.problems())
        return self._checked.types

    # ------------------------------------------------------------ running
    def execute(self, *args, backend: str = "python", log: bool = False, visualize: bool = False):
        """Run the graph: on the numpy reference interpreter (``backend="python"``) or on the
        C runtime in-process (``backend="c"``, see :mod:`jag.runtimes.c`).

        Args are the traced function's arguments (same pytree structure), or one flat
        array per graph input. Returns outputs in the traced structure (numpy arrays).

        With ``log=True`` returns a :class:`jag.execlog.ExecutionLog` instead: every value
        of the run (``log[name]``), per node its inputs, outputs, wall time and value
        statistics, ``log.outputs`` (what this call returns otherwise) and ``print(log)``
        (slowest nodes, largest values, first NaN/Inf). ``visualize=True`` implies ``log``;
        the log then shows as a picture in Jupyter and has its statistics (and, for a
        ``jag.grad`` graph or a scalar output, the gradient flow) computed up front. On
        ``backend="c"`` the log holds the values the C runtime computed (every node output
        exposed as an output) and no per-node times.

        Raises InputError (E_INPUT) for missing/extra inputs or wrong dtype, rank or shape;
        ValueError for an unknown backend.
        """
        if args and any(isinstance(x, Tensor) for x in pytree.flatten(args)[0]):
            if log or visualize:
                raise GraphError("execute(..., log=True) needs arrays, not Tensors: call it outside jag.trace")
            return self._inline(args)
        if backend not in ("python", "c"):
            raise ValueError(f"unknown backend {backend!r}: expected 'python' or 'c'")
        flat = self._flatten_args(args)
        if log or visualize:
            from . import execlog
            return (execlog.record if backend == "python" else execlog.record_c)(self, flat, visualize=visualize)
        if backend == "python":
            from .interpret import run
            outs = run(self, flat)
        else:
            from .runtimes import c
            outs = c.run(self, flat)
        return self._unflatten_outputs(outs)

    __call__ = execute

    def run(self, inputs: dict) -> dict:
        """Flat interface: dict input name -> array in, dict output name -> array out."""
        from .errors import InputError
        from .interpret import run
        missing = [vi.name for vi in self.inputs if vi.name not in inputs]
        extra = [k for k in inputs if k not in {vi.name for vi in self.inputs}]
        if missing or extra:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra else [])
            raise InputError(f"inputs do not match the graph's ({', '.join(vi.name for vi in self.inputs)}): "
                             + "; ".join(parts), file=self.source)
        outs = run(self, [inputs[vi.name] for vi in self.inputs])
        return {vi.name: v for vi, v in zip(self.outputs, outs)}

    def _flatten_args(self, args):
        """The traced structure's leaves, or one flat array per graph input."""
        from .errors import InputError
        tree = self.in_tree
        if tree is not None:
            leaves, _, td = pytree.flatten(tuple(args))
            if _strip(td) == _strip(tree):
                return leaves
        if len(args) == len(self.inputs):
            return list(args)
        expected = _tree_str(tree) if tree is not None else f"{len(self.inputs)} arrays"
        raise InputError(f"arguments do not match the graph's inputs ({', '.join(vi.name for vi in self.inputs)}): "
                         f"expected {expected}, got {_tree_str(pytree.flatten(tuple(args))[2])}", file=self.source)

    def _unflatten_outputs(self, outs):
        tree = self.out_tree
        if tree is None:
            return outs[0] if len(outs) == 1 else tuple(outs)
        return pytree.unflatten(tree, outs)

    def _inline(self, args):
        """Called with Tensors while tracing: record this graph's nodes into the current trace."""
        flat = self._flatten_args(args)
        outs = call_with_tensors(self, [x if isinstance(x, Tensor) else constant(x, dtype=vi.dtype)
                                        for x, vi in zip(flat, self.inputs)])
        return self._unflatten_outputs(outs)

    def attach_test_data(self, *args) -> "Graph":
        """Embed test data in the graph: ``args`` (as for :meth:`execute`) and the reference
        outputs for them go to ``metadata["jag.test"]`` (spec/README.md §2), so that any
        runtime can check itself against the file alone (``./jagrun model.json --check``,
        ``node run.js model.json``). Returns self."""
        from .interpret import bind_inputs, run
        from .serialize import tensor_entry
        arrays, _ = bind_inputs(self, self._flatten_args(args))
        outs = run(self, arrays)
        self.metadata = dict(self.metadata or {})
        self.metadata["jag.test"] = {
            "inputs": [tensor_entry(vi.name, a) for vi, a in zip(self.inputs, arrays)],
            "outputs": [tensor_entry(vi.name, a) for vi, a in zip(self.outputs, outs)],
        }
        return self

    def set_loop(self, feedback: dict | None = None, *, argnums=(0, 1)) -> "Graph":
        """Mark the graph as one step of a loop (spec/README.md §2, ``metadata["jag.loop"]``):
        after each step, every output named in ``feedback`` (output name -> input name) becomes
        that input of the next step; the other inputs take one slice per step from a data
        bundle (``./jagrun model.json init.bin --loop data.bin``, ``node run.js ... --loop``,
        :meth:`run_loop`).

        Without ``feedback``, the leaves of output ``i`` pair with the leaves of argument
        ``argnums[i]`` (same pytree paths), as for ``train_step(params, opt_state, x, y) ->
        (params, opt_state, loss)``. Raises GraphError when a name is unknown, used twice, or
        the paired output and input differ in dtype or shape. Returns self."""
        if feedback is None:
            in_tree, out_tree = self.in_tree, self.out_tree
            if in_tree is None or out_tree is None or out_tree == pytree.LEAF or out_tree[0] not in ("tuple", "list"):
                raise GraphError("set_loop() needs feedback= unless the graph returns a tuple of pytrees")
            ins, outs = in_tree[1], out_tree[1]
            starts_in = [sum(pytree.num_leaves(t) for t in ins[:k]) for k in range(len(ins))]
            starts_out = [sum(pytree.num_leaves(t) for t in outs[:k]) for k in range(len(outs))]
            feedback = {}
            for i, a in enumerate(argnums):
                if i >= len(outs) or a >= len(ins) or outs[i] != ins[a]:
                    raise GraphError(f"output {i} and argument {a} do not have the same structure")
                for k in range(pytree.num_leaves(outs[i])):
                    feedback[self.outputs[starts_out[i] + k].name] = self.inputs[starts_in[a] + k].name
        ins = {vi.name: vi for vi in self.inputs}
        outs = {vi.name: vi for vi in self.outputs}
        used = set()
        for o, i in feedback.items():
            if o not in outs or i not in ins:
                raise GraphError(f"loop feedback {o!r} -> {i!r}: {'output' if o not in outs else 'input'} is not in the graph")
            if i in used:
                raise GraphError(f"loop feedback: input {i!r} is fed twice")
            used.add(i)
            if (outs[o].dtype, tuple(map(str, outs[o].shape))) != (ins[i].dtype, tuple(map(str, ins[i].shape))):
                raise GraphError(f"loop feedback {o!r} -> {i!r}: {outs[o]} does not match {ins[i]}")
        self.metadata = dict(self.metadata or {})
        self.metadata["jag.loop"] = {"feedback": [[o, i] for o, i in feedback.items()]}
        return self

    def run_loop(self, inputs: dict, data: dict) -> tuple:
        """Run the loop of :meth:`set_loop` on the reference interpreter: ``inputs`` gives the
        first values of the fed-back inputs, ``data`` each other input stacked over steps (a
        leading axis of length S). Returns (the outputs of the last step, {name: the stacked
        values of each output that is not fed back, e.g. the loss per step})."""
        from .errors import InputError
        loop = (self.metadata or {}).get("jag.loop")
        if loop is None:
            raise InputError("the graph has no loop: call set_loop() first")
        feedback = dict(loop["feedback"])
        fed = set(feedback.values())
        steps = {len(v) for k, v in data.items()}
        if len(steps) != 1:
            raise InputError(f"data tensors must share their leading (step) axis, got lengths {sorted(steps)}")
        (n,) = steps
        state = dict(inputs)
        history = {vi.name: [] for vi in self.outputs if vi.name not in feedback}
        outs = {}
        for step in range(n):
            step_inputs = {vi.name: (state[vi.name] if vi.name in fed else data[vi.name][step]) for vi in self.inputs}
            outs = self.run(step_inputs)
            for o, i in feedback.items():
                state[i] = outs[o]
            for name in history:
                history[name].append(outs[name])
        return outs, {k: np.stack(v) for k, v in history.items()}

    # ------------------------------------------------------------ transforms
    def lower(self) -> "Graph":
        """An equivalent graph of core ops only: every composite replaced by its reference lowering."""
        with expanding_composites():
            return retrace(self)

    # ------------------------------------------------------------ files
    def save(self, path, *, inline_limit: int = 4096):
        """Write model.json (+ sidecar ``<stem>.bin`` for tensors over ``inline_limit`` bytes), atomically."""
        from .serialize import save
        save(self, path, inline_limit=inline_limit)
        return path

    def to_torch(self) -> str:
        """Readable PyTorch source for this graph: an ``nn.Module`` (see :mod:`jag.codegen.torch`)."""
        from .codegen import generate
        return generate(self, "torch")

    def to_jax(self) -> str:
        """Readable JAX source: a pure ``f(params, *inputs)`` (see :mod:`jag.codegen.jax`)."""
        from .codegen import generate
        return generate(self, "jax")

    def to_tf(self) -> str:
        """Readable TensorFlow source: a ``tf.Module`` (see :mod:`jag.codegen.tf`)."""
        from .codegen import generate
        return generate(self, "tf")

    def to_dot(self, **kw) -> str:
        """The graph as Graphviz DOT text: ``jag.viz.to_dot(self, **kw)`` (``log=``, ``collapse="module"``, ...)."""
        from .viz import to_dot
        return to_dot(self, **kw)

    def render(self, path, **kw):
        """Draw the graph to ``path`` (.svg, .png, .pdf or .dot) with Graphviz: ``jag.viz.render(self, path, **kw)``.
        Returns the path written. Without the ``dot`` program the .dot text is written
        beside ``path`` and DotNotFoundError (E_FILE) says how to install Graphviz."""
        from .viz import render
        return render(self, path, **kw)

    def to_json(self) -> str:
        """The whole graph as JSON text with every tensor inline (base64)."""
        from .serialize import dumps, to_document
        return dumps(to_document(self, inline_all=True))

    # ------------------------------------------------------------ printing
    def __str__(self):
        from .validate import check
        types = check(self).types if self._checked is None else self._checked.types

        def t(name):
            if name in types:
                dt, sh = types[name]
                return f"{name}: {dt}{shape_str(sh)}"
            return f"{name}: ?"

        lines = [f"graph {self.name}(" + ", ".join(str(v) for v in self.inputs) + ") -> (" +
                 ", ".join(str(v) for v in self.outputs) + ") {"]
        for name, arr in self.tensors.items():
            body = np.array2string(arr, threshold=6, separator=", ").replace("\n", "") if arr.size <= 6 else f"<{arr.nbytes} bytes>"
            lines.append(f"  {name}: {arr.dtype.name}{list(arr.shape)} = {body}")
        for node in self.nodes:
            attrs = {k: attr_to_json(v) for k, v in node.attrs.items() if v is not None}
            attr_txt = "[" + ", ".join(f"{k}={_compact(v)}" for k, v in attrs.items()) + "]" if attrs else ""
            outs = ", ".join(t(o) for o in node.outputs)
            lines.append(f"  {outs} = {node.op}{attr_txt} " + " ".join(node.inputs) + (f"  # {node.name}" if node.name else ""))
        lines.append("  return " + ", ".join(v.name for v in self.outputs))
        lines.append("}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"<jag.Graph '{self.name}': {len(self.inputs)} inputs, {len(self.nodes)} nodes, "
                f"{len(self.tensors)} tensors, {len(self.outputs)} outputs>")


def _compact(v):
    if isinstance(v, list):
        return "[" + ",".join(str(x) for x in v) + "]"
    return str(v).lower() if isinstance(v, bool) else str(v)


def _strip(td):
    """A treedef without container kinds that numpy-style calls blur (list vs tuple)."""
    if td == pytree.LEAF:
        return td
    if td[0] in ("list", "tuple"):
        return ["seq", [_strip(c) for c in td[1]]]
    if td[0] == "dict":
        return ["dict", [[k, _strip(c)] for k, c in td[1]]]
    return td


def _tree_str(td):
    if td == pytree.LEAF:
        return "array"
    if td[0] == "dict":
        return "{" + ", ".join(f"{k}: {_tree_str(c)}" for k, c in td[1]) + "}"
    if td[0] in ("list", "tuple"):
        inner = ", ".join(_tree_str(c) for c in td[1])
        return f"({inner})" if td[0] == "tuple" else f"[{inner}]"
    return "None"


def _version():
    from . import __version__
    return __version__


# ---------------------------------------------------------------- graphs <-> tensors

def call_with_tensors(graph: Graph, inputs: list, extra=()) -> list:
    """Evaluate ``graph`` on Tensors, recording its nodes through ``apply`` (eval_jaxpr style).
    Returns the output Tensors, then those of the value names in ``extra``."""
    env = {vi.name: x for vi, x in zip(graph.inputs, inputs)}
    for name, arr in graph.tensors.items():
        env[name] = constant(arr, name=name)
    for node in graph.nodes:
        outs = apply(node.op, *[env[n] for n in node.inputs], name=node.name, **node.attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        env.update(zip(node.outputs, outs))
    return [env[vi.name] for vi in graph.outputs] + [env[n] for n in extra]


def _grad_marker_names(marker) -> list:
    """Every value name ``metadata["jag.grad"]`` refers to (spec/README.md §2), in order."""
    names = []
    for call in [marker] + list(marker.get("calls", [])):
        names += ([call["loss"]] if "loss" in call else []) + list(call.get("wrt", []))
    return list(dict.fromkeys(names + list(marker.get("stop_gradient", []))))


def _rename_marker(marker, rename: dict) -> dict:
    out = {}
    for k, v in marker.items():
        if k == "loss":
            out[k] = rename[v]
        elif k in ("wrt", "stop_gradient"):
            out[k] = [rename[x] for x in v]
        elif k == "calls":
            out[k] = [_rename_marker(c, rename) for c in v]
        else:
            out[k] = v
    return out


def retrace(graph: Graph) -> Graph:
    """Re-record ``graph`` through ``apply`` with abstract inputs (used by ``lower``). The values
    ``metadata["jag.grad"]`` names stay in the new graph (as in ``jag.trace``), renamed."""
    ins = [Tensor(None, vi.dtype, vi.shape, name=vi.name, kind="input") for vi in graph.inputs]
    marker = graph.metadata.get("jag.grad") if isinstance(graph.metadata, dict) else None
    extra = _grad_marker_names(marker) if isinstance(marker, dict) else []
    outs = call_with_tensors(graph, ins, extra)
    n = len(graph.outputs)
    metadata = dict(graph.metadata or {})
    new = build_graph(ins, outs, name=graph.name, doc=graph.doc, dims=graph.dims, metadata=metadata,
                      output_names=[vi.name for vi in graph.outputs] + [None] * len(extra))
    if extra:
        new.metadata["jag.grad"] = _rename_marker(marker, dict(zip(extra, (vi.name for vi in new.outputs[n:]))))
        new.outputs = new.outputs[:n]
    return new


def build_graph(inputs, outputs, *, name="graph", doc="", dims=None, metadata=None, output_names=None) -> Graph:
    """Collect the op records reachable from ``outputs`` into a Graph (topological order).

    ``inputs`` are the Tensors that become graph inputs (their ``name`` is used); other
    leaves with values become constant tensors. Raises GraphError for a leaf without a
    value that is not an input (a Tensor of another trace).
    """
    input_ids = {id(t) for t in inputs}
    order, done, leaves = [], set(), {}
    for out in outputs:
        stack = [(out, False)]
        while stack:
            t, expanded = stack.pop()
            r = t.record
            if r is None:
                leaves.setdefault(id(t), t)
                continue
            if id(r) in done:
                continue
            if expanded:
                done.add(id(r))
                order.append(r)
                continue
            stack.append((t, True))
            for x in reversed(r.inputs):
                if x.record is None or id(x.record) not in done:
                    stack.append((x, False))

    taken = {t.name for t in inputs}
    names: dict = {id(t): t.name for t in inputs}
    counters: dict = {}
    preferred = {}
    for i, t in enumerate(outputs):
        want = output_names[i] if output_names and i < len(output_names) else None
        if want and _NAME_RE.match(want) and want not in taken and t.record is not None and id(t) not in preferred:
            preferred[id(t)] = want
            taken.add(want)  # reserved, so generated names never take it first

    def fresh(prefix, want=None):
        if want and _NAME_RE.match(want) and want not in taken:
            taken.add(want)
            return want
        k = counters.get(prefix, 0)
        while f"{prefix}{k}" in taken:
            k += 1
        counters[prefix] = k + 1
        taken.add(f"{prefix}{k}")
        return f"{prefix}{k}"

    # constants: deduplicate small identical ones
    tensors, seen_consts = {}, {}
    for t in leaves.values():
        if id(t) in input_ids:
            continue
        if t.value is None:
            raise GraphError(f"a tensor {t._label()} without a value is used but is not an input of this trace "
                             "(a Tensor from another trace?)")
        arr = np.asarray(t.value, order="C")
        key = (arr.dtype.name, arr.shape, arr.tobytes()) if arr.nbytes <= 64 and not t.name else None
        if key is not None and key in seen_consts:
            names[id(t)] = seen_consts[key]
            continue
        cname = fresh("c", t.name)
        names[id(t)] = cname
        tensors[cname] = arr
        if key is not None:
            seen_consts[key] = cname

    nodes = []
    for r in order:
        outs = [preferred[id(o)] if id(o) in preferred else fresh("t") for o in r.outputs]
        for o, n in zip(r.outputs, outs):
            names[id(o)] = n
        nodes.append(Node(r.op, [names[id(x)] for x in r.inputs], outs, dict(r.attrs), name=r.name))

    g = Graph(inputs=[ValueInfo(t.name, t.dtype, t.shape) for t in inputs],
              outputs=[ValueInfo(names[id(t)], t.dtype, t.shape) for t in outputs],
              nodes=nodes, tensors=tensors, name=name, doc=doc, dims=dims, metadata=metadata)
    return g

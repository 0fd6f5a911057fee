"""Pictures of graphs: Graphviz DOT text (:func:`to_dot`) and files (:func:`render`).

    graph.render("graph.svg")                         # structure: ops, dtypes and shapes
    log = graph.execute(x, log=True)
    log.render("run.png", collapse="module")          # with value statistics, one box per jag.nn module
    jag.trace(jag.grad(loss), params, x).execute(params, x, log=True).render("flow.svg")
                                                      # edge width = gradient flow, top path in red

Nodes (colours as in Macrograd's pictures): graph inputs (data) red, parameters blue,
constants green, graph outputs gold; ops are white boxes (composite ops light grey)
labelled with the op, the node name (a ``jag.nn`` module path), short attrs and each
output's dtype and shape, and — with an execution log — min/max/mean/‖x‖ of the value and
NaN/Inf counts in red. A *parameter* is a graph input named like one (first path part
``params``/``parameters``/``weights``/``variables``, or last part ``weight``/``bias``, or
differentiated by ``jag.grad``: ``metadata["jag.grad"]["wrt"]``), or a float graph tensor
with more than one element; other graph tensors are constants. Scalar constants are
written into the label of the op using them (``inline_constants=False`` draws them).

Gradient overlay (needs a log; see :mod:`jag.semiring`): edge widths follow
``log.edge_flow()`` — the share of the absolute gradient-path weight through each edge,
labelled in percent — edges carrying none are dashed grey, and the top gradient path
(``log.top_paths(k=1)[0]``) is drawn bold red. By default (``edge_flow=None``,
``top_path=None``) this is on whenever the graph has a gradient target (a ``jag.grad``
graph or a scalar output) and off otherwise; True demands it (raising when impossible),
False turns it off, and precomputed flows / a GradientPath can be passed in.

``collapse="module"`` draws the nodes of each ``jag.nn`` module (same node name) as one
box labelled with the module path, its op counts and, with a log, the statistics of the
values leaving it; ``collapse=k`` (an int) groups by the first ``k`` parts of the path
(``collapse=3``: ``encoder.layer.0``). Nodes without a name stay single.

Rendering runs Graphviz's ``dot`` program (through the Python ``graphviz`` package when it
is installed, else directly). Without ``dot`` on PATH, :func:`render` writes the DOT text
beside the requested file and raises :class:`DotNotFoundError`. ``import jag`` imports
neither this module nor graphviz.
"""
from __future__ import annotations

import collections
import html
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np

from . import spec
from .errors import FileError, InputError, InternalError, JagError

COLORS = {
    "input": "#f4b6b6",       # data: red
    "parameter": "#a9cbef",   # blue
    "constant": "#b9e2b1",    # green
    "output": "#ffd966",      # gold
    "op": "#ffffff",
    "composite": "#eeeeee",
    "module": "#e3dcf2",      # a collapsed module: lavender
}
HIGHLIGHT = "#d62728"
NO_FLOW = "#b0b0b0"
FORMATS = ("svg", "png", "pdf", "dot", "gv")
INSTALL_HINT = ("install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu; `make` in the JAG repository "
                "does it), `brew install graphviz` (macOS) or https://graphviz.org/download/")

_PARAM_ROOTS = {"params", "parameters", "param", "weights", "variables"}
_PARAM_LEAVES = {"weight", "bias"}


class DotNotFoundError(FileError):
    """E_FILE: Graphviz's ``dot`` program is not on PATH (``dot_path``: where the DOT text went)."""

    def __init__(self, detail, *, dot_path=None, **kw):
        super().__init__(detail, **kw)
        self.dot_path = dot_path


# ---------------------------------------------------------------- kinds of values

def grad_markers(graph) -> list:
    """The ``metadata["jag.grad"]`` entries of a graph traced from ``jag.grad`` (a list of
    ``{"loss": name, "wrt": [names]}``; [] when absent)."""
    m = (graph.metadata or {}).get("jag.grad")
    if m is None:
        return []
    return [x for x in (m if isinstance(m, list) else [m]) if isinstance(x, dict)]


def value_kind(graph, name: str) -> str:
    """"input" (data), "parameter" or "constant" for a graph input or tensor (see the module docstring)."""
    parts = name.replace("/", ".").split(".")
    named_param = parts[0] in _PARAM_ROOTS or parts[-1] in _PARAM_LEAVES
    if name in graph.tensors:
        arr = graph.tensors[name]
        if named_param or (arr.dtype.kind == "f" and arr.size > 1):
            return "parameter"
        return "constant"
    wrt = {w for m in grad_markers(graph) for w in (m.get("wrt") or [])}
    return "parameter" if named_param or name in wrt else "input"


# ---------------------------------------------------------------- escaping

def _h(text) -> str:
    """Text for an HTML-like label."""
    return html.escape(str(text), quote=True)


def _q(text) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _HTML(str):
    """An HTML-like label body (already escaped), written as ``<...>``."""


def _html(lines) -> _HTML:
    return _HTML("<BR/>".join(lines))


def _attrs(d: dict) -> str:
    out = []
    for k, v in d.items():
        if v is None:
            continue
        out.append(f"{k}=<{v}>" if isinstance(v, _HTML) else f"{k}={_q(v)}")
    return "[" + ", ".join(out) + "]"


# ---------------------------------------------------------------- gradient overlay

def _overlay_off(what, e) -> str:
    """The note for an automatic overlay that could not be computed; warns unless the graph
    simply has no gradient target (a JagError: expected for most graphs)."""
    if not isinstance(e, JagError):
        warnings.warn(f"jag.viz: drawing without the {what}: jag.semiring failed with {type(e).__name__}: {e}",
                      RuntimeWarning, stacklevel=4)
    return f"{what} off: {type(e).__name__}: {e}"


def gradient_overlay(graph, log, edge_flow=None, top_path=None, *, source=None, target=None):
    """``(flows, path, note)``: the edge flows (dict ``(node_index, input_slot) -> share``
    or None) and the top gradient path (a jag.semiring GradientPath or None) to draw, and
    why the overlay is off (str or None). ``edge_flow`` / ``top_path``: None = when the
    graph has a gradient target, True = required, False = off, or the data itself.
    Raises InputError when required without a log; the semiring's error when the graph
    has no gradient target."""
    def want(arg, what):
        if arg is True and log is None:
            raise InputError(f"{what} needs an execution log: render log = graph.execute(*args, log=True) "
                             f"(jag render ... --input input.bin)", field=what)
        return arg is True or (arg is None and log is not None)

    notes = []
    flows = edge_flow if isinstance(edge_flow, dict) else None
    if flows is None and want(edge_flow, "edge_flow"):
        try:
            flows = log.edge_flow(source=source, target=target)
        except Exception as e:  # auto mode is best effort: draw without the overlay, say why
            if edge_flow is True:
                raise
            notes.append(_overlay_off("edge flow", e))
    path = None
    if top_path is not None and not isinstance(top_path, bool):
        path = top_path
    elif want(top_path, "top_path"):
        try:
            paths = log.top_paths(k=1, source=source, target=target)
            path = paths[0] if paths else None
        except Exception as e:
            if top_path is True:
                raise
            notes.append(_overlay_off("top path", e))
    return flows, path, ("; ".join(notes) or None)


# ---------------------------------------------------------------- DOT

def _short_attrs(node) -> str:
    from .graph import _compact, attr_to_json
    parts = []
    op = spec.OPS.get(node.op)
    for k, v in node.attrs.items():
        a = op.attrs.get(k) if op is not None else None
        if v is None or (a is not None and a.default is not None and attr_to_json(v) == a.default):
            continue  # defaults say nothing
        txt = f"{k}={_compact(attr_to_json(v))}"
        if len(txt) <= 32:
            parts.append(txt)
    text = " ".join(parts)
    return text if len(text) <= 48 else text[:45] + "…"


def _type_of(graph, types, log, name) -> str:
    if log is not None and name in log.values:
        return log.stats(name).type_str()
    if name in types:
        from .symbolic import shape_str
        dt, sh = types[name]
        return f"{dt}{shape_str(sh)}".replace(" ", "")
    if name in graph.tensors:
        a = graph.tensors[name]
        return f"{a.dtype.name}{list(a.shape)}".replace(" ", "")
    return "?"


def _stats_lines(log, name) -> list:
    """HTML lines with the statistics of value ``name`` (NaN/Inf counts in red)."""
    if log is None or name not in log.values:
        return []
    s = log.stats(name)
    lines = []
    if s.size == 0:
        return ['<FONT POINT-SIZE="8">empty</FONT>']
    if s.size == 1 and not s.nonfinite:
        return [f'<FONT POINT-SIZE="8">= {_h(_small_value(log.values[name]))}</FONT>']
    if s.min is not None:
        text = f"min {s.min:.3g}  max {s.max:.3g}  mean {s.mean:.3g}"
        if s.l2 is not None:
            text += f"  ‖x‖ {s.l2:.3g}"
        lines.append(f'<FONT POINT-SIZE="8">{_h(text)}</FONT>')
    if s.nonfinite:
        lines.append(f'<FONT POINT-SIZE="8" COLOR="red"><B>{_h(f"NaN {s.nan}  Inf {s.inf}")}</B></FONT>')
    return lines


def _small_value(arr) -> str:
    a = np.asarray(arr)
    if a.size == 1:
        v = a.reshape(()).item()
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return np.array2string(a, threshold=6, precision=3, separator=",").replace("\n", "")


def _group_key(name, collapse):
    if collapse is None or collapse is False or not name:
        return None
    if collapse == "module":
        return name
    if isinstance(collapse, int) and not isinstance(collapse, bool) and collapse > 0:
        return ".".join(name.split(".")[:collapse])
    raise InputError(f"collapse must be None, 'module' or a positive int (path depth), got {collapse!r}",
                     field="collapse")


def to_dot(graph, log=None, *, collapse=None, top_path=None, edge_flow=None, source=None, target=None,
           stats: bool = True, inline_constants: bool = True, attrs: bool = True, rankdir: str = "TB",
           legend: bool = True) -> str:
    """The Graphviz DOT text of ``graph`` (see the module docstring for what is drawn how).

    Args:
      graph: a :class:`~jag.graph.Graph`.
      log: an :class:`~jag.execlog.ExecutionLog` of this graph: labels get each value's
        statistics and real shapes, and the gradient overlay becomes possible.
      collapse: None, "module" (one box per jag.nn module path) or an int (path depth).
      top_path, edge_flow: None (auto), True (required), False (off), or a GradientPath /
        a dict ``(node_index, input_slot) -> share`` (jag.semiring's types).
      source, target: passed to jag.semiring (value names; defaults as there).
      stats: show value statistics (with a log). inline_constants: scalar constants in the
        op labels instead of as nodes. attrs: short attrs in op labels. rankdir: "TB" or "LR".
      legend: a colour key at the bottom.
    Returns: the DOT text (UTF-8; node ids are generated, every label is escaped).
    Raises: InputError for a bad ``collapse`` or an overlay required without a log; the
      jag.semiring error when an overlay is required and the graph has no gradient target.
    """
    if log is not None and log.graph is not graph:
        raise InputError("the execution log belongs to another graph", field="log")
    types = graph.value_types()
    flows, path, note = gradient_overlay(graph, log, edge_flow, top_path, source=source, target=target)
    slog = log if stats else None
    nodes = graph.nodes
    producer = {o: i for i, n in enumerate(nodes) for o in n.outputs}
    out_names = [vi.name for vi in graph.outputs]
    consumers = collections.defaultdict(set)
    for i, n in enumerate(nodes):
        for v in n.inputs:
            consumers[v].add(i)

    # --- the top path: edges, nodes and values on it
    path_edges = set(map(tuple, path.edges)) if path is not None else set()
    path_values = {st.value for st in path.steps} if path is not None else set()
    path_nodes = {e[0] for e in path_edges}
    for i, slot in path_edges:
        if nodes[i].inputs[slot] in producer:
            path_nodes.add(producer[nodes[i].inputs[slot]])

    # --- sources
    sources = [vi.name for vi in graph.inputs] + list(graph.tensors)
    inline = set()
    if inline_constants:
        for name in graph.tensors:
            if value_kind(graph, name) == "constant" and graph.tensors[name].size <= 1 and name not in path_values \
                    and name not in out_names:
                inline.add(name)
    src_id = {name: f"v{k}" for k, name in enumerate(sources)}

    # --- units: single nodes or module groups
    unit = {}
    groups = collections.OrderedDict()
    for i, n in enumerate(nodes):
        key = _group_key(n.name, collapse)
        if key is None:
            unit[i] = f"n{i}"
        else:
            gid = groups.setdefault(key, (f"g{len(groups)}", []))
            gid[1].append(i)
            unit[i] = gid[0]

    # collapsed: parameters and constants used only inside one module box are listed in it
    absorbed = {}
    if collapse:
        for name in sources:
            if name in inline or name in path_values or name in out_names or value_kind(graph, name) == "input":
                continue
            us = {unit[i] for i in consumers.get(name, ())}
            if len(us) == 1 and next(iter(us)).startswith("g"):
                absorbed[name] = next(iter(us))

    def numel(v):
        if v in graph.tensors:
            return int(graph.tensors[v].size)
        if log is not None:
            return int(log.values[v].size)
        shape = types[v][1]
        return int(np.prod(shape)) if all(isinstance(d, int) for d in shape) else None

    lines = [f"digraph {_q(graph.name or 'graph')} {{"]
    gattrs = {"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "10", "nodesep": "0.25", "ranksep": "0.35",
              "charset": "UTF-8", "tooltip": graph.name or "graph"}
    lines.append(f"  graph {_attrs(gattrs)};")
    lines.append('  node [fontname="Helvetica", fontsize="10", shape="box", style="rounded,filled", '
                 'fillcolor="#ffffff", color="#666666", margin="0.08,0.03"];')
    lines.append('  edge [color="#555555", arrowsize="0.6", fontname="Helvetica", fontsize="8", fontcolor="#555555"];')
    if note:
        lines.append("  // gradient overlay: " + note.replace("\n", " "))

    def hl(attrs: dict, on: bool) -> dict:
        if on:
            attrs.update(color=HIGHLIGHT, penwidth="3", fontcolor=HIGHLIGHT)
        return attrs

    # --- source nodes
    for name in sources:
        if name in inline or name in absorbed:
            continue
        kind = value_kind(graph, name)
        label = [f"<B>{_h(name)}</B>", _h(_type_of(graph, types, log, name))]
        if name in graph.tensors and graph.tensors[name].size <= 6:
            label.append(_h("= " + _small_value(graph.tensors[name])))
        label += _stats_lines(slog, name)
        attrs_ = {"shape": "ellipse", "style": "filled", "fillcolor": COLORS[kind], "label": _html(label),
                  "tooltip": f"{kind} {name}"}
        lines.append(f"  {src_id[name]} {_attrs(hl(attrs_, name in path_values))};")

    # --- op nodes
    def op_lines(i) -> list:
        n = nodes[i]
        op = spec.OPS.get(n.op)
        head = f"<B>{_h(n.op)}</B>"
        if attrs:
            a = _short_attrs(n)
            if a:
                head += f' <FONT POINT-SIZE="8">{_h(a)}</FONT>'
        out = [head]
        if n.name and collapse is None:
            out.append(f'<FONT POINT-SIZE="8" COLOR="#444444"><I>{_h(n.name)}</I></FONT>')
        for slot, v in enumerate(n.inputs):
            if v in inline:
                port = op.port_for_input(slot).name if op is not None else f"in{slot}"
                out.append(f'<FONT POINT-SIZE="8">{_h(port)} = {_h(_small_value(graph.tensors[v]))}</FONT>')
        for o in n.outputs:
            out.append(f"{_h(o)}: {_h(_type_of(graph, types, log, o))}")
            out += _stats_lines(slog, o)
        return out

    for i, n in enumerate(nodes):
        if unit[i] != f"n{i}":
            continue
        op = spec.OPS.get(n.op)
        fill = COLORS["composite"] if op is not None and op.kind == "composite" else COLORS["op"]
        tip = f"node {i}" + (f" '{n.name}'" if n.name else "") + f" ({n.op})"
        attrs_ = {"fillcolor": fill, "label": _html(op_lines(i)), "tooltip": tip}
        lines.append(f"  n{i} {_attrs(hl(attrs_, i in path_nodes))};")

    # --- module boxes
    for key, (gid, members) in groups.items():
        member_set = set(members)
        counts = collections.Counter(nodes[i].op for i in members)
        count_txt = ", ".join(f"{op}×{k}" if k > 1 else op for op, k in counts.most_common())
        n_ops = f"{len(members)} op{'s' if len(members) > 1 else ''}: "
        label = [f"<B>{_h(key)}</B>", f'<FONT POINT-SIZE="8">{_h(n_ops)}</FONT>']
        words, line = count_txt.split(", "), ""
        for w in words:  # wrap the op counts at about 48 characters
            if line and len(line) + len(w) > 48:
                label[-1] += f'<FONT POINT-SIZE="8">{_h(line)},</FONT>'
                label.append("")
                line = w
            else:
                line = f"{line}, {w}" if line else w
        label[-1] += f'<FONT POINT-SIZE="8">{_h(line)}</FONT>'
        leaving = []
        for i in members:
            for o in nodes[i].outputs:
                if o in out_names or consumers.get(o, set()) - member_set:
                    leaving.append(o)
        mine = [v for v, g in absorbed.items() if g == gid]
        if mine:
            sizes = [numel(v) for v in mine]
            count = f", {sum(sizes)} values" if None not in sizes else ""
            kinds = sorted({value_kind(graph, v) for v in mine})
            plural = "s" if len(mine) > 1 else ""
            text = f"{len(mine)} {' and '.join(k + plural for k in kinds)} inside{count}"
            label.append(f'<FONT POINT-SIZE="8" COLOR="#1f4e99">{_h(text)}</FONT>')
        for o in leaving[:3]:
            label.append(f"{_h(o)}: {_h(_type_of(graph, types, log, o))}")
            label += _stats_lines(slog, o)
        if len(leaving) > 3:
            label.append(f'<FONT POINT-SIZE="8">… {len(leaving) - 3} more outputs</FONT>')
        attrs_ = {"fillcolor": COLORS["module"], "style": "rounded,filled,bold", "label": _html(label),
                  "tooltip": f"module {key}: {len(members)} nodes"}
        lines.append(f"  {gid} {_attrs(hl(attrs_, bool(member_set & path_nodes)))};")

    # --- output nodes
    for k, vi in enumerate(graph.outputs):
        label = [f"<B>{_h(vi.name)}</B>", _h(_type_of(graph, types, log, vi.name))]
        if vi.name not in producer or unit[producer[vi.name]].startswith("g"):  # else its op shows them
            label += _stats_lines(slog, vi.name)
        attrs_ = {"shape": "ellipse", "style": "filled", "fillcolor": COLORS["output"],
                  "label": _html(label), "tooltip": f"output {vi.name}"}
        lines.append(f"  o{k} {_attrs(hl(attrs_, path is not None and vi.name == path.steps[-1].value))};")

    # --- edges (merged per pair of boxes when collapsed)
    edges = collections.OrderedDict()  # (src, dst, key) -> [flow or None, on_path, [tooltips]]
    for i, n in enumerate(nodes):
        dst = unit[i]
        for slot, v in enumerate(n.inputs):
            if v in inline or v in absorbed:
                continue
            src = unit[producer[v]] if v in producer else src_id.get(v)
            if src is None or src == dst:
                continue
            key = (src, dst) if collapse else (src, dst, slot)
            e = edges.setdefault(key, [None, False, []])
            if flows is not None:
                e[0] = (e[0] or 0.0) + float(flows.get((i, slot), 0.0))
            e[1] = e[1] or (i, slot) in path_edges
            e[2].append(f"{v} -> node {i} input {slot}")
    for k, vi in enumerate(graph.outputs):
        v = vi.name
        src = unit[producer[v]] if v in producer else src_id.get(v)
        if src is not None:
            edges.setdefault((src, f"o{k}", "out"), [None, path is not None and v == path.steps[-1].value,
                                                     [f"output {v}"]])
    for key, (flow, on_path, tips) in edges.items():
        src, dst = key[0], key[1]
        a = {"tooltip": "; ".join(tips[:4]) + (f"; +{len(tips) - 4}" if len(tips) > 4 else "")}
        if flows is not None and not dst.startswith("o"):
            if flow and flow > 0:
                a["penwidth"] = f"{0.6 + 7.4 * min(flow, 1.0):.2f}"
                if flow >= 0.005:
                    a["label"] = f"{100 * flow:.0f}%" if flow >= 0.095 else f"{100 * flow:.1f}%"
            else:
                a.update(color=NO_FLOW, style="dashed", penwidth="0.6")
        if on_path:
            a.update(color=HIGHLIGHT, fontcolor=HIGHLIGHT, style="bold")
            a["penwidth"] = str(max(3.0, float(a.get("penwidth", 0))))
        lines.append(f"  {src} -> {dst} {_attrs(a)};")

    if legend:
        cells = "".join(f'<TD BGCOLOR="{COLORS[k]}">{_h(t)}</TD>' for k, t in
                        (("input", "data input"), ("parameter", "parameter"), ("constant", "constant"),
                         ("output", "output")))
        extra = ""
        if flows is not None:
            extra += '<TD BORDER="0">edge width / %: share of |gradient path weight|</TD>'
        if path is not None:
            extra += (f'<TD BORDER="0"><FONT COLOR="{HIGHLIGHT}">red: top gradient path '
                      f'(weight {_h(f"{path.weight:.4g}")})</FONT></TD>')
        lines.append(f'  graph [labelloc="b", label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="4" CELLPADDING="3">'
                     f"<TR>{cells}{extra}</TR></TABLE>>];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- files

def pipe(dot_text: str, fmt: str) -> bytes:
    """Run Graphviz ``dot -T<fmt>`` on DOT text; returns the bytes (svg, png, pdf).

    Uses the Python ``graphviz`` package when installed, else the ``dot`` program directly.
    Raises DotNotFoundError (E_FILE) when ``dot`` is not on PATH; InternalError when dot
    rejects the text (a bug in :func:`to_dot`).
    """
    if shutil.which("dot") is None:
        raise DotNotFoundError(f"Graphviz's 'dot' program is not on PATH; {INSTALL_HINT}")
    data = dot_text.encode("utf-8")
    try:
        import graphviz
    except ImportError:
        graphviz = None
    try:
        if graphviz is not None:
            return graphviz.pipe("dot", fmt, data, quiet=True)
        return subprocess.run(["dot", f"-T{fmt}"], input=data, capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as e:
        err = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else str(e.stderr or e)
        raise InternalError(f"dot -T{fmt} rejected the generated DOT text (please report it): {err.strip()}") from None
    except FileNotFoundError:
        raise DotNotFoundError(f"Graphviz's 'dot' program is not on PATH; {INSTALL_HINT}") from None
    except Exception as e:  # graphviz.ExecutableNotFound (a RuntimeError) when dot vanished
        if type(e).__name__ == "ExecutableNotFound":
            raise DotNotFoundError(f"Graphviz's 'dot' program is not on PATH; {INSTALL_HINT}") from None
        raise


def render(graph, path, *, log=None, **kw) -> Path:
    """Draw ``graph`` (with ``log``'s values, see :func:`to_dot` for the keywords) to ``path``.

    The format comes from the suffix: .svg, .png, .pdf, or .dot/.gv (the DOT text itself).
    Files are written atomically. Returns ``path``.
    Raises: InputError for another suffix; DotNotFoundError (E_FILE) when Graphviz's
    ``dot`` is not on PATH — the DOT text is then written to ``path`` with suffix .dot
    (``err.dot_path``) and the message says how to install Graphviz; FileError when the
    folder is not writable; what :func:`to_dot` raises.
    """
    from .serialize import atomic_write
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"cannot tell the picture format from '{path.name}': use a .svg, .png, .pdf or .dot file",
                         field="path")
    if not path.parent.is_dir():
        raise FileError(f"cannot write '{path}': folder '{path.parent}' does not exist", file=path)
    text = to_dot(graph, log, **kw)

    def write(p, data):
        try:
            atomic_write(p, [data])
        except OSError as e:
            raise FileError(f"cannot write '{p}': {e.strerror or e}", file=p) from None

    if fmt in ("dot", "gv"):
        write(path, text.encode("utf-8"))
        return path
    try:
        data = pipe(text, fmt)
    except DotNotFoundError:
        dot_path = path.with_suffix(".dot")
        write(dot_path, text.encode("utf-8"))
        raise DotNotFoundError(f"cannot draw '{path}': Graphviz's 'dot' program is not on PATH; {INSTALL_HINT}. "
                               f"The DOT text is in '{dot_path}' (then: dot -T{fmt} '{dot_path}' -o '{path}')",
                               dot_path=dot_path, file=path) from None
    write(path, data)
    return path

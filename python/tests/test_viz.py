"""Pictures of graphs (jag.viz): DOT content, rendering through Graphviz, the missing-`dot`
path, `jag render`, and the gradient overlay (edge flow widths, top path in red).

The DOT text is parsed (node and edge statements with their attributes), so the tests
check colours per kind, labels, groups and widths, not just that something was written.
"""
from __future__ import annotations

import html
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import jag
from jag import nn, viz
from jag.cli import main

RNG = np.random.default_rng(3)


# ---------------------------------------------------------------- a small DOT parser

_STMT = re.compile(r"^  (\w+)(?: -> (\w+))? \[(.*)\];$")


def _attrs(text: str) -> dict:
    """key="quoted" / key=<html> attribute lists, as to_dot writes them."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r"\s*,?\s*([A-Za-z_]+)=").match(text, i)
        if not m:
            break
        key, i = m.group(1), m.end()
        if text[i] == '"':
            j, buf = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    buf.append({"n": "\n"}.get(text[j + 1], text[j + 1]))
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            out[key], i = "".join(buf), j + 1
        else:
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            out[key], i = text[i + 1:j - 1], j
    return out


def parse(dot: str):
    """(nodes: {id: attrs}, edges: [(src, dst, attrs)]) of to_dot's output."""
    nodes, edges = {}, []
    for line in dot.splitlines():
        m = _STMT.match(line)
        if not m or m.group(1) in ("graph", "node", "edge"):
            continue
        a = _attrs(m.group(3))
        if m.group(2):
            edges.append((m.group(1), m.group(2), a))
        else:
            nodes[m.group(1)] = a
    return nodes, edges


def text_of(label: str) -> str:
    """The visible text of an HTML-like label."""
    return html.unescape(re.sub(r"<[^>]+>", "", label.replace("<BR/>", "\n")))


def by_label(nodes, needle):
    hits = [k for k, a in nodes.items() if needle in text_of(a.get("label", ""))]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


# ---------------------------------------------------------------- graphs

W = RNG.standard_normal((4, 3)).astype(np.float32)
IDX = np.array([2, 0], np.int64)


def kinds_fn(x, params):
    h = jag.matmul(x, params["w"]) + W[0, :]        # params.w: input named like params; W[0]: float tensor [3]
    h = jag.gather(h, IDX, axis=1)                  # IDX: int tensor -> constant
    return {"out": h * 0.5}                         # 0.5: scalar constant, inlined into the multiply label


@pytest.fixture(scope="module")
def kinds():
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    p = {"w": W}
    g = jag.trace(kinds_fn, x, p)
    return g, x, p


def test_colours_per_kind_and_labels(kinds):
    g, x, p = kinds
    nodes, edges = parse(g.to_dot())
    fill = {text_of(a["label"]).split("\n")[0].strip(): a["fillcolor"] for a in nodes.values()}
    assert fill["x"] == viz.COLORS["input"]
    assert fill["params.w"] == viz.COLORS["parameter"]
    const = [n for n, a in g.tensors.items()]
    kinds_of = {n: viz.value_kind(g, n) for n in const}
    assert sorted(kinds_of.values()) == ["constant", "constant", "parameter"]   # int IDX, scalar 0.5, float W[0]
    for n, k in kinds_of.items():
        if g.tensors[n].size > 1:
            assert fill[n] == viz.COLORS[k]
        else:
            assert n not in fill                                               # the scalar is inlined
    out = by_label(nodes, "out\nfloat32[2,2]")
    assert nodes[out]["fillcolor"] == viz.COLORS["output"]
    # op labels: op, attrs that differ from defaults, output dtype and shape; the inlined constant
    mm = by_label(nodes, "matmul")
    assert "t0: float32[2,3]" in text_of(nodes[mm]["label"])
    ga = by_label(nodes, "gather")
    assert "axis=1" in text_of(nodes[ga]["label"]) and "float32[2,2]" in text_of(nodes[ga]["label"])
    mul = by_label(nodes, "multiply")
    assert "b = 0.5" in text_of(nodes[mul]["label"])
    # one edge per input slot, from the producer; the output node hangs off its producer
    assert (nodes and sum(1 for s, d, _ in edges if d == ga) == 2)
    assert any(s == mul and d == out for s, d, _ in edges)
    assert not any("penwidth" in a for _, _, a in edges)                        # no log: no overlay
    # drawn inline constants as nodes when asked
    n2, _ = parse(g.to_dot(inline_constants=False))
    assert len(n2) == len(nodes) + 1


def test_labels_with_log_statistics_and_nan_flag():
    x = np.array([1.0, 3.0, 0.5, 2.5])
    g = jag.trace(lambda x: jag.log(x - 2.0) * 3.0, x)
    log = g.execute(x, log=True)
    nodes, _ = parse(log.to_dot())
    lg = by_label(nodes, "log\n")
    label = nodes[lg]["label"]
    with np.errstate(invalid="ignore"):
        v = np.log(x - 2.0)
    f = v[np.isfinite(v)]
    assert f"min {f.min():.3g}  max {f.max():.3g}  mean {f.mean():.3g}  ‖x‖ {np.linalg.norm(f):.3g}" in text_of(label)
    assert '<FONT POINT-SIZE="8" COLOR="red"><B>NaN 2  Inf 0</B></FONT>' in label
    assert "COLOR=\"red\"" not in nodes[by_label(nodes, "subtract")]["label"]
    xs = nodes[by_label(nodes, "x\nfloat64[4]")]["label"]
    assert f"mean {x.mean():.3g}" in text_of(xs)


# ---------------------------------------------------------------- collapse

class Pair(nn.Module):
    def __init__(self):
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def children(self):
        return {"a": self.a, "b": self.b}

    def apply(self, params, x, *, rng=None, train=False):
        return jag.tanh(self.a.apply(params["a"], x) + self.b.apply(params["b"], x))


def test_collapse_by_module():
    model = nn.Sequential({"pair": Pair(), "act": nn.ReLU(), "head": nn.Linear(4, 2)})
    p = model.init(0)
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    g = jag.trace(lambda p, x: model.apply(p, x).sum(), p, x)
    paths = sorted({n.name for n in g.nodes if n.name})
    assert paths == ["act", "head", "pair", "pair.a", "pair.b"]
    log = g.execute(p, x, log=True)
    nodes, edges = parse(log.to_dot(collapse="module", edge_flow=False, top_path=False))
    boxes = {text_of(a["label"]).split("\n")[0].strip(): k for k, a in nodes.items() if k.startswith("g")}
    assert sorted(boxes) == paths
    assert all(nodes[k]["fillcolor"] == viz.COLORS["module"] for k in boxes.values())
    pair = text_of(nodes[boxes["pair"]]["label"])
    assert "2 ops: " in pair and "add" in pair and "tanh" in pair            # its own ops only
    lin = text_of(nodes[boxes["pair.a"]]["label"])
    assert "1 op: linear" in lin and "2 parameters inside, 20 values" in lin   # weight [4,4] + bias [4]
    t = next(n.outputs[0] for n in g.nodes if n.name == "pair.a")
    assert f"{t}: float32[3,4]" in lin and f"max {log[t].max():.3g}" in lin
    # ops in modules are not drawn singly; the unnamed reduce_sum is
    assert not any(k.startswith("n") and "linear" in text_of(a["label"]) for k, a in nodes.items())
    rs = by_label(nodes, "reduce_sum")
    assert rs.startswith("n")
    # edges between boxes, merged per pair, none inside a box; parameters are not drawn
    pairs = {(s, d) for s, d, _ in edges}
    assert (boxes["pair.a"], boxes["pair"]) in pairs and (boxes["pair"], boxes["act"]) in pairs
    assert (boxes["act"], boxes["head"]) in pairs and (boxes["head"], rs) in pairs
    assert len(pairs) == len(edges) and all(s != d for s, d in pairs)
    assert not any("weight" in text_of(a["label"]) for a in nodes.values())
    # by depth: collapse=1 merges pair, pair.a and pair.b
    nodes1, _ = parse(g.to_dot(collapse=1))
    boxes1 = sorted(text_of(a["label"]).split("\n")[0].strip() for k, a in nodes1.items() if k.startswith("g"))
    assert boxes1 == ["act", "head", "pair"]
    assert "4 ops: linear×2, add, tanh" in text_of(next(a["label"] for a in nodes1.values()
                                                        if text_of(a["label"]).startswith("pair")))
    with pytest.raises(jag.InputError, match="collapse"):
        g.to_dot(collapse="layers")


def test_escaping_of_odd_names(tmp_path):
    odd = 'a "quoted" <b> & \\ c'
    g = jag.trace(lambda x: jag.apply("exp", x, name=odd), np.ones(2))
    g.name = 'graph "x" <y>'
    dot = g.to_dot()
    nodes, _ = parse(dot)
    assert odd in text_of(nodes[by_label(nodes, "exp")]["label"])
    assert nodes[by_label(nodes, "exp")]["tooltip"] == f"node 0 '{odd}' (exp)"
    svg = ET.parse(g.render(tmp_path / "odd.svg")).getroot()
    assert odd in " ".join(svg.itertext())


# ---------------------------------------------------------------- rendering

def test_render_svg_png_pdf_dot(kinds, tmp_path):
    g, x, p = kinds
    log = g.execute(x, p, log=True)
    svg = log.render(tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    words = " ".join(root.itertext())
    for needle in ("matmul", "gather", "params.w", "float32[2,3]", "‖x‖"):
        assert needle in words, needle
    assert (tmp_path / "g.png").exists() is False
    png = g.render(tmp_path / "g.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert g.render(tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    assert g.render(tmp_path / "g.dot").read_text() == g.to_dot()
    with pytest.raises(jag.InputError, match=r"\.svg, \.png, \.pdf or \.dot"):
        g.render(tmp_path / "g.jpeg")
    with pytest.raises(jag.FileError):
        g.render(tmp_path / "missing" / "g.svg")


def test_missing_dot_writes_the_dot_text_and_says_how_to_install(kinds, tmp_path, monkeypatch):
    g, _, _ = kinds
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(viz.DotNotFoundError) as e:
        g.render(tmp_path / "g.svg")
    err = e.value
    assert isinstance(err, jag.FileError) and err.code == "E_FILE"
    assert "apt-get install graphviz" in str(err) and "make" in str(err) and str(tmp_path / "g.dot") in str(err)
    assert err.dot_path == tmp_path / "g.dot" and err.dot_path.read_text() == g.to_dot()
    assert not (tmp_path / "g.svg").exists()
    monkeypatch.setattr(sys, "argv", ["jag"])
    g.save(tmp_path / "m.json")
    assert main(["render", str(tmp_path / "m.json"), "-o", str(tmp_path / "r.png")]) == 1
    assert (tmp_path / "r.dot").exists()


def test_import_jag_does_not_import_graphviz():
    code = ("import sys, numpy as np, jag; g = jag.trace(lambda x: x + 1, 1.0); g.execute(1.0, log=True); "
            "print([m for m in ('graphviz', 'jag.viz') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- the gradient overlay

def worked():
    def f(x, y):
        return (x * y - x * x) * y          # shared notes §3.10 at x = 2, y = 3
    g = jag.trace(f, 2.0, 3.0)
    return g, g.execute(2.0, 3.0, log=True)


def test_overlay_from_given_flows_and_path():
    g, log = worked()
    flows = {(0, 0): 0.5, (0, 1): 0.25, (1, 0): 0.0, (3, 0): 1.0}

    class P:  # the jag.semiring GradientPath fields to_dot uses
        weight, edges = 9.0, [(0, 0), (2, 0), (3, 0)]
        steps = [type("S", (), {"value": v})() for v in ("x", "t0", "t2", "t3")]
    nodes, edges = parse(g.to_dot(log=log, edge_flow=flows, top_path=P()))
    width = {}
    for s, d, a in edges:
        width.setdefault((s, d), []).append(a)
    x, y = by_label(nodes, "x\nfloat64[]"), by_label(nodes, "y\nfloat64[]")
    assert float(width[(x, "n0")][0]["penwidth"]) == max(3.0, 0.6 + 7.4 * 0.5)
    assert width[(x, "n0")][0]["color"] == viz.HIGHLIGHT                       # on the path
    assert float(width[(y, "n0")][0]["penwidth"]) == pytest.approx(0.6 + 7.4 * 0.25)
    assert width[(y, "n0")][0]["label"] == "25%" and "color" not in width[(y, "n0")][0]
    assert all(a["style"] == "dashed" and a["color"] == viz.NO_FLOW for a in width[(x, "n1")])   # zero / no flow
    assert len(width[(x, "n1")]) == 2                                          # x * x: two parallel edges
    assert {k for k, a in nodes.items() if a.get("color") == viz.HIGHLIGHT} == {x, "n0", "n2", "n3", "o0"}
    assert "top gradient path (weight 9)" in g.to_dot(log=log, edge_flow=flows, top_path=P())


def test_overlay_from_the_log_matches_semiring():
    g, log = worked()
    flows = log.edge_flow()
    top = log.top_paths(k=1)[0]
    assert top.weight == 9.0 and top.edges == [(0, 0), (2, 0), (3, 0)]
    nodes, edges = parse(log.to_dot())                                         # auto: scalar output -> overlay on
    red = [(s, d) for s, d, a in edges if a.get("color") == viz.HIGHLIGHT]
    assert red == [(by_label(nodes, "x\nfloat64[]"), "n0"), ("n0", "n2"), ("n2", "n3"), ("n3", "o0")]
    n2n3 = next(a for s, d, a in edges if (s, d) == ("n2", "n3"))
    assert float(n2n3["penwidth"]) == pytest.approx(0.6 + 7.4 * flows[(3, 0)], abs=0.01)   # node 3, slot 0
    assert n2n3["label"] == f"{100 * flows[(3, 0)]:.0f}%" == "93%"                         # 27 / 29 of |weight|
    # the flows into the target's node sum to 1 (a cut), so do the drawn percentages
    assert flows[(3, 0)] + flows[(3, 1)] == pytest.approx(1.0)
    _, plain = parse(log.to_dot(edge_flow=False, top_path=False))
    assert not any("penwidth" in a or a.get("color") == viz.HIGHLIGHT for _, _, a in plain)


def test_overlay_on_a_grad_graph(tmp_path):
    """A graph traced from jag.grad carries its loss (metadata["jag.grad"]), so a log of it
    draws the flow from the parameters to the loss, although the loss is not an output."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    p = model.init(0)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    g = jag.trace(jag.grad(lambda p, x: (model.apply(p, x) ** 2).mean()), p, x)
    marker = viz.grad_markers(g)
    assert marker and marker[0]["loss"] not in {vi.name for vi in g.outputs}
    log = g.execute(p, x, log=True)
    dot = log.to_dot(top_path=True, edge_flow=True)
    nodes, edges = parse(dot)
    red_nodes = {k for k, a in nodes.items() if a.get("color") == viz.HIGHLIGHT}
    loss_node = next(i for i, n in enumerate(g.nodes) if marker[0]["loss"] in n.outputs)
    assert f"n{loss_node}" in red_nodes
    assert any(a.get("color") == viz.HIGHLIGHT for _, _, a in edges)
    assert sum(1 for _, _, a in edges if "penwidth" in a and a.get("style") != "dashed") >= 4
    assert log.render(tmp_path / "grad.png").read_bytes()[:4] == b"\x89PNG"


def test_overlay_required_without_log_or_target():
    g, log = worked()
    with pytest.raises(jag.InputError, match="needs an execution log"):
        g.to_dot(top_path=True)
    v = jag.trace(lambda x: x * 2.0, np.ones(3))
    vlog = v.execute(np.ones(3), log=True)
    with pytest.raises(jag.JagError, match="target"):
        vlog.to_dot(top_path=True)
    dot = vlog.to_dot()                                      # auto: no scalar target -> no overlay, says why
    assert "// gradient overlay: edge flow off" in dot and "penwidth" not in dot.split("edge [")[1]


# ---------------------------------------------------------------- jag render

def test_cli_render(tmp_path, capsys):
    g, _ = worked()
    g.save(tmp_path / "w.json")
    jag.save_tensors(tmp_path / "in.bin", {"x": np.array(2.0), "y": np.array(3.0)})
    m = str(tmp_path / "w.json")
    assert main(["render", m, "-o", str(tmp_path / "s.svg")]) == 0
    assert "wrote" in capsys.readouterr().out and ET.parse(tmp_path / "s.svg").getroot().tag.endswith("svg")
    assert main(["render", m, "-o", str(tmp_path / "t.dot"), "--input", str(tmp_path / "in.bin"), "--top-path"]) == 0
    nodes, edges = parse((tmp_path / "t.dot").read_text())
    assert sum(1 for _, _, a in edges if a.get("color") == viz.HIGHLIGHT) == 4
    assert main(["render", m, "-o", str(tmp_path / "p.png"), "--input", str(tmp_path / "in.bin"),
                 "--collapse", "module"]) == 0
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["render", m, "-o", str(tmp_path / "u.svg"), "--top-path"]) == 2
    assert "--top-path needs values" in capsys.readouterr().err
    assert main(["render", m, "-o", str(tmp_path / "u.svg"), "--collapse", "0"]) == 2
    v = jag.trace(lambda x: x * 2.0, np.ones(3))
    v.save(tmp_path / "v.json")
    jag.save_tensors(tmp_path / "v.bin", {"x": np.ones(3)})
    capsys.readouterr()
    assert main(["render", str(tmp_path / "v.json"), "-o", str(tmp_path / "v.svg"), "--input", str(tmp_path / "v.bin"),
                 "--top-path"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("[E_") and "target" in err and len(err.strip().splitlines()) == 1
    assert main(["render", str(tmp_path / "v.json"), "-o", str(tmp_path / "v.svg"), "--input", str(tmp_path / "v.bin"),
                 "--top-path", "--target", g.outputs[0].name]) == 1               # an unknown value: typed error
    assert capsys.readouterr().err.startswith("[E_")

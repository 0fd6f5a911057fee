"""Top gradient paths and path entropy (jag.semiring) on the digits CNN and on MiniLM, for one input.

    python examples/top_gradient_path.py                 # both models
    python examples/top_gradient_path.py --only cnn      # (or --only minilm); --out DIR for the pictures

Semiring backpropagation (Du et al., ACL 2023, arXiv 2307.03056) over the scalar gradient
graph: the top gradient path is the max-product path by |local derivative| from a source
element to the target, found by one backward pass with backpointers; the path entropy is
the entropy of the distribution p(path) ∝ Π|w| over all source -> target paths.

(a) digits CNN (examples/digits_cnn.py's model and training step, 3 epochs): the graph of
    ``jag.value_and_grad(loss)`` for one test image; target: its loss (recorded in
    metadata["jag.grad"]); sources: the parameters and the image, then the image alone.
(b) MiniLM (examples/minilm.py, all-MiniLM-L6-v2): a 16-token sentence; target: the cosine
    similarity of its embedding to a second sentence's (fixed) embedding; source: the
    output of the ``embeddings`` module. For every layer it prints which component the
    top path enters the layer through: attention query / key / value, or the skip
    connection, read from the module-path node names on the path.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import jag
from jag import semiring

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
OUT = HERE / "out" / "top_gradient_path"


def _render(log, path: Path, **kw) -> str:
    try:
        log.render(str(path), **kw)
        return f"saved {path}"
    except Exception as e:  # no Graphviz `dot`: the .dot text is still useful
        return f"picture not saved ({type(e).__name__}: {e})"


def run_cnn(out: Path) -> dict:
    import digits_cnn as cnn
    from jag import nn, pytree
    t0 = time.perf_counter()
    step_data, (x_test, y_test) = cnn.make_data(3)
    params = cnn.model.init(cnn.SEED)
    opt_state = cnn.opt.init(params)
    graph = jag.trace(cnn.train_step, params, opt_state, *[d[0] for d in step_data]).set_loop(argnums=(0, 1))
    names = [vi.name for vi in graph.inputs]
    leaves = pytree.flatten((params, opt_state))[0]
    final, _ = graph.run_loop(dict(zip(names, leaves)), dict(zip(names[len(leaves):], step_data)))
    n_params = len(pytree.flatten(params)[0])
    trained = pytree.unflatten(pytree.flatten(params)[2], [final[vi.name] for vi in graph.outputs[:n_params]])
    acc = float(np.mean(np.asarray(cnn.predict(trained, x_test)) == y_test))
    t_train = time.perf_counter() - t0
    print(f"digits CNN: trained 3 epochs in {t_train:.1f} s, test accuracy {acc:.3f}")

    def loss(params, x, y):
        """Cross-entropy of one image (evaluation mode)."""
        return nn.cross_entropy(cnn.model.apply(params, x), y)

    x1, y1 = x_test[:1], y_test[:1]
    t0 = time.perf_counter()
    g = jag.trace(jag.value_and_grad(loss), trained, x1, y1)
    log = g.execute(trained, x1, y1, log=True)
    t_exec = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = log.top_paths(k=3)
    H = log.entropy()
    t_all = time.perf_counter() - t0
    t0 = time.perf_counter()
    img = log.top_paths(k=1, source="x")[0]
    H_img = log.entropy(source="x")
    t_img = time.perf_counter() - t0
    print(f"image of a {int(y1[0])}; loss {float(log[g.metadata['jag.grad']['loss']]):.4f} "
          f"(target: metadata jag.grad loss '{g.metadata['jag.grad']['loss']}')")
    print(f"sources = all parameters and the image: path entropy {H:.3f} nats; top-3 paths by |weight| "
          f"({t_all:.2f} s):")
    for p in paths:
        print(f"  weight {p.weight:+.4g}: {p.steps[0].value}{list(p.steps[0].index)} -> "
              + " -> ".join(g.nodes[n].op for n, _ in p.edges))
    print("top path in full:\n" + str(paths[0]))
    print(f"source = the image: path entropy {H_img:.3f} nats, top path from pixel {list(img.steps[0].index)} "
          f"(weight {img.weight:+.4g}) ({t_img:.2f} s)")
    out.mkdir(parents=True, exist_ok=True)
    print(_render(log, out / "digits_cnn_top_path.svg", top_path=True))
    return {"H": H, "top": paths[0].weight, "seconds": t_exec + t_all + t_img}


def _component(path, graph, layer: int) -> str:
    """Which component the path enters encoder layer ``layer`` through, from the node names."""
    prefix = f"encoder.layer.{layer}."
    for n, _ in path.edges:
        name = graph.nodes[n].name or ""
        if name.startswith(prefix):
            rest = name[len(prefix):]
            for part in ("query", "key", "value"):
                if rest.startswith(f"attention.self.{part}"):
                    return part
            return "skip" if rest.startswith("attention.output") else rest
    return "-"


def run_minilm(out: Path) -> dict:
    import minilm
    from jag import constant
    t0 = time.perf_counter()
    params = minilm.load_params()
    consts = minilm._const_tree(params)
    sentence = "The quick brown fox jumps over the lazy dog near the quiet river bank today."
    other = "A fast fox leaps over a sleepy dog."
    tok = minilm.tokenize([sentence], max_length=16)
    ref = np.asarray(minilm.embed(params, **minilm.tokenize([other])))[0]
    n_tok = int(tok["attention_mask"].sum())

    def similarity(input_ids, attention_mask):
        """Cosine similarity of the sentence's embedding to a fixed embedding (both unit vectors)."""
        e = minilm.embed(consts, input_ids, attention_mask)
        return jag.sum(e * constant(ref[None, :], name="reference_embedding"))

    g = jag.trace(similarity, tok["input_ids"], tok["attention_mask"])
    t_trace = time.perf_counter() - t0
    t0 = time.perf_counter()
    log = g.execute(tok["input_ids"], tok["attention_mask"], log=True)
    t_exec = time.perf_counter() - t0
    source = [nd for nd in g.nodes if (nd.name or "").startswith("embeddings")][-1].outputs[0]
    t0 = time.perf_counter()
    paths = log.top_paths(k=3, source=source)
    t_top = time.perf_counter() - t0
    t0 = time.perf_counter()
    H = log.entropy(source=source)
    t_h = time.perf_counter() - t0
    print(f"MiniLM: {n_tok} tokens, cosine similarity {float(log[g.outputs[0].name]):.4f}; source: '{source}' "
          f"(output of the embeddings module)")
    print(f"path entropy {H:.2f} nats ({t_h:.1f} s); top-3 paths by |weight| ({t_top:.1f} s):")
    for p in paths:
        tokpos = p.steps[0].index[1]
        print(f"  weight {p.weight:+.4g}: token {tokpos} dim {p.steps[0].index[2]}, {len(p.edges)} edges")
    n_layers = minilm._model().cfg["num_hidden_layers"]
    print("per layer, the component the top path enters through:")
    for layer in range(n_layers):
        print(f"  layer {layer}: " + ", ".join(_component(p, g, layer) for p in paths))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    msg = _render(log, out / "minilm_top_path.svg", top_path=True, collapse="module")
    print(msg + f" ({time.perf_counter() - t0:.1f} s)")
    total = t_trace + t_exec + t_top + t_h
    print(f"MiniLM timings: load+trace {t_trace:.1f} s, execute {t_exec:.1f} s, top paths {t_top:.1f} s, "
          f"entropy {t_h:.1f} s; total {total:.1f} s")
    return {"H": H, "top": paths[0].weight, "seconds": total}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["cnn", "minilm"])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.only in (None, "cnn"):
        run_cnn(Path(args.out))
    if args.only in (None, "minilm"):
        if not (HERE / "minilm.py").exists():
            print("examples/minilm.py is not there: MiniLM part skipped")
        else:
            run_minilm(Path(args.out))
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``jag`` command line: info, validate, print, run, lower, codegen, render.

Exit codes: 0 success; 1 the model or its inputs are invalid, or a picture cannot be drawn
(a one-line ``[E_CODE] ...`` message per problem on stderr; E_FILE when Graphviz's ``dot``
is missing — the .dot text is then written beside the requested file); 2 usage errors.

    jag info model.json
    jag validate model.json
    jag print model.json
    jag run model.json input.bin [-o output.bin] [--log]   # --log: then a table of the slowest
                                                           # nodes, largest values, first NaN/Inf
    jag lower model.json -o core.json
    jag codegen --target torch model.json -o model_torch.py
    jag render model.json -o graph.svg [--input input.bin] [--top-path] [--collapse module]
        # .svg/.png/.pdf/.dot; --input runs the model and shows value statistics; --top-path
        # (needs --input and a scalar output or a jag.grad graph) draws edge widths by gradient
        # flow and the top gradient path in red; --collapse module | N: one box per module path
"""
from __future__ import annotations

import argparse
import collections
import sys

import numpy as np

from .errors import JagError
from .serialize import load, load_tensors, save_tensors
from .symbolic import shape_str


def _cmd_info(args):
    g = load(args.model)
    print(f"{args.model}: JAG format {g.version}, opset {g.opset}, graph '{g.name}'")
    if g.doc:
        print(f"  doc: {g.doc}")
    prod = g.producer or {}
    print(f"  producer: {prod.get('name', '?')} {prod.get('version', '')}".rstrip())
    for title, values in (("inputs", g.inputs), ("outputs", g.outputs)):
        print(f"  {title}:")
        for v in values:
            print(f"    {v.name}: {v.dtype}{shape_str(v.shape)}")
    if g.dims:
        print("  dims: " + ", ".join(f"{k} <= {v['max']}" if "max" in v else k for k, v in g.dims.items()))
    nbytes = sum(a.nbytes for a in g.tensors.values())
    print(f"  tensors: {len(g.tensors)} ({nbytes} bytes)")
    counts = collections.Counter(n.op for n in g.nodes)
    print(f"  nodes: {len(g.nodes)} (" + ", ".join(f"{op} x{k}" for op, k in counts.most_common()) + ")")
    return 0


def _cmd_validate(args):
    g = load(args.model)  # load runs every check and raises with all problems
    print(f"{args.model}: valid JAG {g.version} (opset {g.opset}, {len(g.nodes)} nodes, {len(g.tensors)} tensors)")
    return 0


def _cmd_print(args):
    print(load(args.model))
    return 0


def _describe(name, arr):
    text = np.array2string(arr, threshold=20, edgeitems=3, separator=", ")
    return f"{name}: {arr.dtype.name}{list(arr.shape)} = {text}"


def _needs_inputs(g, model, command):
    print(f"{model} needs inputs (give them in a safetensors file: jag {command} {model} input.bin):", file=sys.stderr)
    for v in g.inputs:
        print(f"  {v.name}: {v.dtype}{shape_str(v.shape)}", file=sys.stderr)
    return 2


def _flat_inputs(g, inputs: dict) -> list:
    """One array per graph input, in order, from a bundle (InputError for missing/extra names)."""
    from .errors import InputError
    names = [vi.name for vi in g.inputs]
    missing = [n for n in names if n not in inputs]
    extra = [k for k in inputs if k not in names]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra else [])
        raise InputError(f"inputs do not match the graph's ({', '.join(names)}): " + "; ".join(parts), file=g.source)
    return [inputs[n] for n in names]


def _cmd_run(args):
    g = load(args.model)
    if args.input is None:
        if g.inputs:
            return _needs_inputs(g, args.model, "run")
        inputs = {}
    else:
        inputs = load_tensors(args.input)
    if args.log:
        from .execlog import record
        log = record(g, _flat_inputs(g, inputs))
        outputs = {vi.name: log.values[vi.name] for vi in g.outputs}
    else:
        outputs = g.run(inputs)
    if args.output:
        save_tensors(args.output, outputs)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
    else:
        for name, arr in outputs.items():
            print(_describe(name, arr))
    if args.log:
        print()
        print(log.summary(top=args.top))
    return 0


def _cmd_render(args):
    from .execlog import record
    from .viz import render
    g = load(args.model)
    collapse = args.collapse
    if collapse is not None and collapse != "module":
        if not collapse.isdigit() or int(collapse) < 1:
            print(f"jag render: --collapse must be 'module' or a positive depth, got {collapse!r}", file=sys.stderr)
            return 2
        collapse = int(collapse)
    if args.top_path and args.input is None and g.inputs:
        print("jag render: --top-path needs values: give the inputs with --input input.bin", file=sys.stderr)
        return 2
    log = None
    if args.input is not None or (args.top_path and not g.inputs):
        log = record(g, _flat_inputs(g, load_tensors(args.input) if args.input is not None else {}))
    kw = dict(collapse=collapse, source=args.source, target=args.target)
    if args.top_path:
        kw.update(top_path=True, edge_flow=True)
    elif log is not None and args.no_flow:
        kw.update(top_path=False, edge_flow=False)
    path = render(g, args.output, log=log, **kw)
    what = "with values" if log is not None else "structure"
    print(f"wrote {path} ({len(g.nodes)} nodes, {what}{', top gradient path' if args.top_path else ''})")
    return 0


def _cmd_lower(args):
    g = load(args.model).lower()
    g.save(args.output)
    print(f"wrote {args.output}: {len(g.nodes)} core nodes")
    return 0


def _cmd_codegen(args):
    from .codegen import generate
    from .serialize import atomic_write
    from pathlib import Path
    try:
        source = generate(load(args.model), args.target)
    except (ValueError, NotImplementedError) as e:
        print(f"jag codegen: {e}", file=sys.stderr)
        return 2
    if args.output:
        atomic_write(Path(args.output), [source.encode("utf-8")])
        print(f"wrote {args.output} ({args.target}, {source.count(chr(10))} lines)")
    else:
        sys.stdout.write(source)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jag", description="JAG: portable computation graphs (format %s)."
                                     % __import__("jag").FORMAT_VERSION)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="summarise a model: inputs, outputs, ops, tensors")
    p.add_argument("model")
    p.set_defaults(fn=_cmd_info)
    p = sub.add_parser("validate", help="check a model against the schema and spec/ops.json; list every problem")
    p.add_argument("model")
    p.set_defaults(fn=_cmd_validate)
    p = sub.add_parser("print", help="print the graph, one line per node (jaxpr-like)")
    p.add_argument("model")
    p.set_defaults(fn=_cmd_print)
    p = sub.add_parser("run", help="run a model on the numpy reference interpreter")
    p.add_argument("model")
    p.add_argument("input", nargs="?", help="safetensors file with one tensor per graph input")
    p.add_argument("-o", "--output", help="write the outputs to this safetensors file")
    p.add_argument("--log", action="store_true",
                   help="log every node and print a table: slowest nodes, largest values, first NaN/Inf")
    p.add_argument("--top", type=int, default=10, help="rows per table of --log (default 10)")
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser("lower", help="rewrite composite ops as core ops")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(fn=_cmd_lower)
    p = sub.add_parser("codegen", help="write readable PyTorch / JAX / TensorFlow source for a model")
    p.add_argument("model")
    p.add_argument("--target", required=True, help="torch, jax or tf (a module of jag.codegen)")
    p.add_argument("-o", "--output", help="the .py file to write (default: stdout)")
    p.set_defaults(fn=_cmd_codegen)
    p = sub.add_parser("render", help="draw a model with Graphviz (.svg, .png, .pdf or .dot), optionally with values")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True, help="the picture to write; its suffix gives the format")
    p.add_argument("--input", help="safetensors file with the inputs: run the model and show value statistics")
    p.add_argument("--top-path", action="store_true",
                   help="edge width by gradient flow and the top gradient path in red (needs --input, and a scalar "
                        "output or a graph traced from jag.grad)")
    p.add_argument("--collapse", help="'module': one box per jag.nn module path; N: per first N parts of the path")
    p.add_argument("--source", help="value whose elements start the gradient paths (default: float inputs and tensors)")
    p.add_argument("--target", help="value where gradient paths end (default: the jag.grad loss or the scalar output)")
    p.add_argument("--no-flow", action="store_true", help="with --input: no gradient overlay even when possible")
    p.set_defaults(fn=_cmd_render)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except JagError as e:
        for err in e.errors:
            err.errors = [err]
            print(str(err), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

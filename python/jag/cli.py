"""The ``jag`` command line: info, validate, print, run, lower.

Exit codes: 0 success; 1 the model or its inputs are invalid (a one-line ``[E_CODE] ...``
message per problem on stderr); 2 usage errors.

    jag info model.json
    jag validate model.json
    jag print model.json
    jag run model.json input.bin [-o output.bin]
    jag lower model.json -o core.json
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


def _cmd_run(args):
    g = load(args.model)
    if args.input is None:
        if g.inputs:
            print(f"{args.model} needs inputs (give them in a safetensors file: jag run {args.model} input.bin):",
                  file=sys.stderr)
            for v in g.inputs:
                print(f"  {v.name}: {v.dtype}{shape_str(v.shape)}", file=sys.stderr)
            return 2
        inputs = {}
    else:
        inputs = load_tensors(args.input)
    outputs = g.run(inputs)
    if args.output:
        save_tensors(args.output, outputs)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
    else:
        for name, arr in outputs.items():
            print(_describe(name, arr))
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

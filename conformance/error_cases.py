"""Error cases: invalid models and inputs that every runtime must reject with a given code.

Each case starts from a small valid model (``BASES``), saved to the case folder, then
``corrupt`` edits the saved model.json (or its sidecar), and/or the inputs are wrong. The
tables cover every code of spec/errors.json that a file can trigger: E_JSON, E_SCHEMA,
E_VERSION, E_UNKNOWN_OP, E_ARITY, E_ATTR, E_DTYPE, E_SHAPE, E_GRAPH, E_INPUT, E_TENSOR_DATA,
E_FILE, E_PATH and E_INDEX (E_INTERNAL is a runtime bug, not a property of a file).

``CORRUPTIONS`` and ``SIDECAR_CORRUPTIONS`` (name -> (corrupt(model_json_path), code)) are
the bad-model tables (python/tests/test_c_runtime.py's ./jagrun tests use them too), applied
to the linear model of :func:`save_linear`, inline and with every tensor in the sidecar
(inline_limit=0). ``EXTRA`` adds op-level invalid nodes and
bad run-time inputs. Only corruptions on which Python, C and JS agree are listed; known
divergences left out on purpose: JSON strings with \\u0000 or lone surrogates, dims whose
divisor evaluates to 0, int attrs written as 2.0 (JS accepts), dims beyond 2^53 (JS reports
E_SHAPE where the others accept), dropout with a non-scalar key.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import jag

# ====================================================================== editing a saved model


class Corruption(tuple):
    """A ``(corrupt, code)`` pair, as the runtime test suites unpack it, with a one-line ``doc``.

    ``corrupt(path)`` edits the saved model.json at ``path`` (or files beside it) in place."""

    def __new__(cls, corrupt: Callable[[Path], None], code: str, doc: str):
        self = super().__new__(cls, (corrupt, code))
        self.doc = doc
        return self


def _edit_doc(fn):
    """A corruption that edits the parsed JSON document (``fn(doc)`` mutates it)."""
    def apply(path):
        doc = json.loads(path.read_text())
        fn(doc)
        path.write_text(json.dumps(doc))
    return apply


def _edit_text(fn):
    """A corruption that rewrites the file's bytes (``fn(bytes) -> bytes``)."""
    def apply(path):
        path.write_bytes(fn(path.read_bytes()))
    return apply


def _walk(doc, pointer):
    *parents, last = pointer.strip("/").split("/")
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    return node, (int(last) if isinstance(node, list) else last)


def _set(pointer, value):
    """Set the value at a JSON pointer (``/nodes/0/op``)."""
    def fn(doc):
        node, key = _walk(doc, pointer)
        node[key] = value
    return _edit_doc(fn)


def _delete(pointer):
    """Delete the value at a JSON pointer."""
    def fn(doc):
        node, key = _walk(doc, pointer)
        del node[key]
    return _edit_doc(fn)


def _sidecar(fn):
    """A corruption of the sidecar model.bin's bytes."""
    def apply(path):
        side = path.parent / "model.bin"
        side.write_bytes(fn(side.read_bytes()))
    return apply


def _retarget_hash(path):
    """Tamper with the sidecar but fix nothing: the SHA-256 no longer matches."""
    side = path.parent / "model.bin"
    data = bytearray(side.read_bytes())
    data[5] ^= 1
    side.write_bytes(bytes(data))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# ====================================================================== the bad-model tables (linear model)

C = Corruption
CORRUPTIONS = {
    "json-truncated": C(_edit_text(lambda b: b[: len(b) // 2]), "E_JSON", "model.json cut in half"),
    "json-missing-comma": C(_edit_text(lambda b: b.replace(b'"opset": 1,', b'"opset": 1', 1)), "E_JSON",
                            "a comma missing after \"opset\": 1"),
    "json-nan": C(_edit_text(lambda b: b.replace(b'"opset": 1', b'"opset": NaN', 1)), "E_JSON",
                  "the non-JSON constant NaN"),
    "json-duplicate-key": C(_edit_text(lambda b: b.replace(b'"opset": 1', b'"opset": 1, "opset": 1', 1)), "E_JSON",
                            "a key twice in one object"),
    "json-deep": C(_edit_text(lambda b: b.replace(b'"metadata": {', b'"metadata": {"deep": ' + b"[" * 5000 + b"]" * 5000
                                                  + b",", 1)), "E_JSON", "arrays nested 5000 deep in the metadata"),
    "json-not-utf8": C(_edit_text(lambda b: b.replace(b'"format"', b'"form\xffat"', 1)), "E_JSON",
                       "a byte 0xFF: not UTF-8"),
    "json-empty": C(_edit_text(lambda b: b""), "E_JSON", "an empty file"),
    "schema-not-object": C(_edit_text(lambda b: b"[1, 2]"), "E_SCHEMA", "the top level is an array"),
    "schema-format": C(_set("/format", "onnx"), "E_SCHEMA", "\"format\": \"onnx\""),
    "schema-unknown-field": C(_set("/extra", 1), "E_SCHEMA", "an unknown top-level field"),
    "schema-missing-nodes": C(_delete("/nodes"), "E_SCHEMA", "no \"nodes\""),
    "schema-op-not-string": C(_set("/nodes/0/op", 7), "E_SCHEMA", "a node's op is a number"),
    "schema-inputs-not-list": C(_set("/nodes/0/inputs", "x"), "E_SCHEMA", "a node's inputs is a string"),
    "schema-bad-dtype": C(_set("/inputs/0/dtype", "float16"), "E_SCHEMA", "an input of dtype float16"),
    "schema-bad-value-name": C(_set("/inputs/0/name", "1x"), "E_SCHEMA", "a value name starting with a digit"),
    "schema-negative-dim": C(_set("/inputs/0/shape", ["N", -1]), "E_SCHEMA", "a dim of -1"),
    "schema-no-outputs": C(_set("/outputs", []), "E_SCHEMA", "an empty outputs list"),
    "version-huge-opset": C(_set("/opset", 10 ** 30), "E_VERSION", "opset 10^30"),
    "shape-huge-dim": C(_set("/inputs/0/shape", ["N", 10 ** 30]), "E_SHAPE", "a dim of 10^30"),
    "attr-huge-int": C(_edit_doc(lambda d: d["nodes"].insert(0, {"op": "iota", "inputs": [], "outputs": ["io"],
                                                                 "attrs": {"shape": [2], "axis": 10 ** 30}})),
                       "E_ATTR", "an iota node whose int attr axis is 10^30"),
    "schema-tensor-both-forms": C(_edit_doc(lambda d: d["tensors"][1].update(file="model.bin", offset=0, nbytes=4)),
                                  "E_SCHEMA", "a tensor with both base64 and file/offset/nbytes"),
    "schema-tensor-no-data": C(_edit_doc(lambda d: d["tensors"][1].pop("base64")), "E_SCHEMA",
                               "a tensor with neither base64 nor a file"),
    "version-future-major": C(_set("/version", "2.0"), "E_VERSION", "format version 2.0 (a future MAJOR)"),
    "version-future-minor": C(_set("/version", "1.1"), "E_VERSION", "format version 1.1 (a newer MINOR)"),
    "version-opset": C(_set("/opset", 2), "E_VERSION", "opset 2 (newer than the reader's)"),
    "unknown-op": C(_set("/nodes/0/op", "matmul_v2"), "E_UNKNOWN_OP", "an op 'matmul_v2'"),
    "arity-inputs": C(_set("/nodes/0/inputs", ["x"]), "E_ARITY", "matmul with one input"),
    "arity-outputs": C(_set("/nodes/0/outputs", ["a", "b"]), "E_ARITY", "matmul with two outputs"),
    "attr-unknown": C(_set("/nodes/0/attrs", {"axis": 1}), "E_ATTR", "matmul with an attr it does not have"),
    "dtype-mismatch": C(_edit_doc(lambda d: d["tensors"][1].update(dtype="float64", base64=_b64(b"\0" * 8))), "E_DTYPE",
                        "add of float32 and a float64 constant"),
    "output-dtype": C(_set("/outputs/0/dtype", "float64"), "E_DTYPE", "a graph output declared float64, computed float32"),
    "shape-bad-expr": C(_set("/inputs/0/shape", ["N/2", 64]), "E_SHAPE", "an input dim 'N/2' (not a plain name)"),
    "shape-unbound-name": C(_set("/inputs/0/shape", ["N*M", 64]), "E_SHAPE", "an input dim 'N*M' (not a plain name)"),
    "shape-static-mismatch": C(_set("/inputs/0/shape", [2, 63]), "E_SHAPE",
                               "static input shape [2,63] into matmul with [64,64]"),
    "graph-undefined": C(_set("/nodes/1/inputs", ["nope", "c0"]), "E_GRAPH", "a node input that is never defined"),
    "graph-out-of-order": C(_edit_doc(lambda d: d.update(nodes=d["nodes"][::-1])), "E_GRAPH",
                            "nodes not in topological order"),
    "graph-defined-twice": C(_set("/nodes/1/outputs", ["t0"]), "E_GRAPH", "a value defined by two nodes"),
    "graph-output-undefined": C(_set("/outputs/0/name", "zz"), "E_GRAPH", "a graph output that no node defines"),
    "tensor-bad-base64": C(_edit_doc(lambda d: d["tensors"][1].update(base64="@@@@")), "E_TENSOR_DATA",
                           "invalid base64"),
    "tensor-short": C(_edit_doc(lambda d: d["tensors"][1].update(base64=_b64(b"\0\0"))), "E_TENSOR_DATA",
                      "2 bytes for a float32 scalar"),
    "tensor-bool-byte": C(_edit_doc(lambda d: d["tensors"][1].update(dtype="bool", base64=_b64(b"\2"))), "E_TENSOR_DATA",
                          "a bool tensor holding the byte 2"),
    "tensor-count-overflow": C(_edit_doc(lambda d: d["tensors"][1].update(shape=[2 ** 62, 2 ** 62])), "E_SHAPE",
                               "a tensor of shape [2^62, 2^62]: the element count overflows int64"),
}

SIDECAR_CORRUPTIONS = {
    "sidecar-missing": C(lambda p: (p.parent / "model.bin").unlink(), "E_FILE", "the sidecar model.bin is missing"),
    "sidecar-short": C(_sidecar(lambda b: b[:-10]), "E_TENSOR_DATA", "the sidecar is 10 bytes short"),
    "sidecar-tampered": C(_retarget_hash, "E_TENSOR_DATA", "one sidecar byte changed: the SHA-256 no longer matches"),
    "sidecar-dotdot": C(_edit_doc(lambda d: (d["files"][0].update(path=".."), d["tensors"][-1].update(file=".."))),
                        "E_PATH", "sidecar path '..'"),
    "sidecar-absolute": C(_edit_doc(lambda d: (d["files"][0].update(path="/etc/passwd"),
                                               d["tensors"][-1].update(file="/etc/passwd"))),
                          "E_PATH", "an absolute sidecar path"),
    "sidecar-subdir": C(_edit_doc(lambda d: (d["files"][0].update(path="a/model.bin"),
                                             d["tensors"][-1].update(file="a/model.bin"))),
                        "E_PATH", "a sidecar path with a folder separator"),
    "sidecar-unaligned": C(_edit_doc(lambda d: d["tensors"][-1].update(offset=4)), "E_TENSOR_DATA",
                           "a sidecar offset not a multiple of 64"),
    "sidecar-nbytes": C(_edit_doc(lambda d: d["tensors"][-1].update(nbytes=8)), "E_TENSOR_DATA",
                        "a tensor's nbytes disagrees with dtype x shape"),
    "sidecar-unlisted": C(_edit_doc(lambda d: d["tensors"][-1].update(file="other.bin")), "E_TENSOR_DATA",
                          "a tensor in a file not listed in \"files\""),
}
del C


# ====================================================================== valid base models

def linear_model() -> jag.Graph:
    """The model the bad-model tables corrupt: x[N,64] @ w[64,64] + 1 (w is 16 KiB: always in the
    sidecar; the scalar 1 is inline, or in the sidecar too with inline_limit=0)."""
    w = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 100
    return jag.trace(lambda x: jag.matmul(x, w) + np.float32(1), np.ones((2, 64), np.float32), symbolic={"x": ("N", None)})


def save_linear(path: Path, inline_limit: int = 4096) -> Path:
    """Save :func:`linear_model` as ``path`` (model.json) and return the path."""
    linear_model().save(path, inline_limit=inline_limit)
    return path


def _linear():
    return linear_model(), {"x": np.ones((2, 64), np.float32)}


def _traced(fn, *args, symbolic=None):
    """A base model from a function and example inputs (the inputs.safetensors of the case)."""
    def base():
        g = jag.trace(fn, *args, symbolic=symbolic)
        return g, {vi.name: np.asarray(a) for vi, a in zip(g.inputs, args)}
    return base


_f = np.float32
BASES = {
    "linear": _linear,
    "add": _traced(lambda x, y: jag.apply("add", x, y), np.ones((2, 3), _f), np.ones((2, 3), _f),
                   symbolic={"x": ("N", None), "y": ("N", None)}),
    "matmul": _traced(lambda a, b: jag.apply("matmul", a, b), np.ones((2, 3), _f), np.ones((3, 4), _f)),
    "exp": _traced(lambda x: jag.apply("exp", x), np.zeros((2, 3), _f)),
    "softmax": _traced(lambda x: jag.apply("softmax", x, axis=-1), np.zeros((2, 3), _f)),
    "transpose": _traced(lambda x: jag.apply("transpose", x, perm=[1, 0]), np.zeros((2, 3), _f)),
    "slice": _traced(lambda x: jag.apply("slice", x, axes=[0], starts=[0], stops=[2], steps=[1]), np.zeros((4, 3), _f)),
    "reshape": _traced(lambda x: jag.apply("reshape", x, shape=[3, 2]), np.zeros((2, 3), _f)),
    "gelu": _traced(lambda x: jag.apply("gelu", x, approximate="tanh"), np.zeros((2, 3), _f)),
    "cast": _traced(lambda x: jag.apply("cast", x, dtype="int32"), np.zeros((2, 3), _f)),
    "two-nodes": _traced(lambda x: jag.apply("exp", jag.apply("neg", x)), np.zeros((2, 3), _f)),
    "gather": _traced(lambda x, i: jag.apply("gather", x, i, axis=0), np.arange(8, dtype=_f).reshape(4, 2),
                      np.array([0, 3], np.int64), symbolic={"i": ("K",)}),
    "embedding": _traced(lambda i, w: jag.apply("embedding", i, w), np.array([0, 4], np.int32),
                         np.arange(15, dtype=_f).reshape(5, 3), symbolic={"i": ("K",)}),
    "scatter_add": _traced(lambda x, i, u: jag.apply("scatter_add", x, i, u, axis=0), np.zeros(3, _f),
                           np.array([0, 2], np.int64), np.ones(2, _f), symbolic={"i": ("K",), "u": ("K",)}),
}
del _f


# ====================================================================== extra cases: invalid nodes, bad inputs

@dataclass(frozen=True)
class ErrorCase:
    """One error case: a valid base model (a key of BASES) saved with ``inline_limit``, an optional
    edit of the saved file, optional replacement inputs (name -> array), the code every runtime
    must report, and the op under test (None for file-level errors)."""
    base: str
    code: str
    doc: str
    corrupt: Callable[[Path], None] | None = None
    inputs: dict | None = None
    op: str | None = None
    inline_limit: int = 4096


EXTRA = {
    # run-time inputs that do not match the graph (the model is valid)
    "input-dtype": ErrorCase("linear", "E_INPUT", "x given as float64; the graph expects float32",
                         inputs={"x": np.ones((2, 64), np.float64)}),
    "input-static-dim": ErrorCase("linear", "E_INPUT", "x given as [2,63]; the graph expects [N,64]",
                              inputs={"x": np.ones((2, 63), np.float32)}),
    "input-rank": ErrorCase("linear", "E_INPUT", "x given with rank 3; the graph expects [N,64]",
                        inputs={"x": np.ones((2, 64, 1), np.float32)}),
    "input-dim-inconsistent": ErrorCase("add", "E_INPUT", "x is [2,3] and y [3,3], but both are [N,3]",
                                    inputs={"x": np.ones((2, 3), np.float32), "y": np.ones((3, 3), np.float32)},
                                    op="add"),
    # data-dependent index errors (the model is valid, an index in inputs.safetensors is not)
    "gather-index-high": ErrorCase("gather", "E_INDEX", "gather index 4 on an axis of size 4",
                               inputs={"x": np.arange(8, dtype=np.float32).reshape(4, 2), "i": np.array([0, 4], np.int64)},
                               op="gather"),
    "gather-index-low": ErrorCase("gather", "E_INDEX", "gather index -5 on an axis of size 4",
                              inputs={"x": np.arange(8, dtype=np.float32).reshape(4, 2), "i": np.array([-5], np.int64)},
                              op="gather"),
    "embedding-index": ErrorCase("embedding", "E_INDEX", "embedding id 5 into a table of 5 rows",
                             inputs={"i": np.array([1, 5], np.int32), "w": np.arange(15, dtype=np.float32).reshape(5, 3)},
                             op="embedding"),
    "scatter_add-index": ErrorCase("scatter_add", "E_INDEX", "scatter_add index 3 on an axis of size 3",
                               inputs={"x": np.zeros(3, np.float32), "i": np.array([3], np.int64),
                                       "u": np.ones(1, np.float32)}, op="scatter_add"),
    # invalid nodes
    "matmul-mismatch": ErrorCase("matmul", "E_SHAPE", "matmul of [2,3] and [2,4]",
                             _set("/inputs/1/shape", [2, 4]),
                             inputs={"a": np.ones((2, 3), np.float32), "b": np.ones((2, 4), np.float32)}, op="matmul"),
    "add-broadcast": ErrorCase("add", "E_SHAPE", "add of [N,3] and [N,4]: the last dims do not broadcast",
                           _set("/inputs/1/shape", ["N", 4]),
                           inputs={"x": np.ones((2, 3), np.float32), "y": np.ones((2, 4), np.float32)}, op="add"),
    "reshape-count": ErrorCase("reshape", "E_SHAPE", "reshape of [2,3] to [4,2]", _set("/nodes/0/attrs/shape", [4, 2]),
                           op="reshape"),
    "add-mixed-dtypes": ErrorCase("add", "E_DTYPE", "add of float32 and float64 inputs", _set("/inputs/1/dtype", "float64"),
                              inputs={"x": np.ones((2, 3), np.float32), "y": np.ones((2, 3), np.float64)}, op="add"),
    "exp-int": ErrorCase("exp", "E_DTYPE", "exp of an int32 input (exp takes float32 or float64)",
                     _edit_doc(lambda d: (d["inputs"][0].update(dtype="int32"), d["outputs"][0].update(dtype="int32"))),
                     inputs={"x": np.zeros((2, 3), np.int32)}, op="exp"),
    "softmax-axis": ErrorCase("softmax", "E_ATTR", "softmax axis 2 of a rank-2 input", _set("/nodes/0/attrs/axis", 2),
                          op="softmax"),
    "transpose-perm": ErrorCase("transpose", "E_ATTR", "transpose perm [0,0]", _set("/nodes/0/attrs/perm", [0, 0]),
                            op="transpose"),
    "slice-step-zero": ErrorCase("slice", "E_ATTR", "slice step 0", _set("/nodes/0/attrs/steps", [0]), op="slice"),
    "gelu-approximate": ErrorCase("gelu", "E_ATTR", "gelu approximate 'fast' (not none or tanh)",
                              _set("/nodes/0/attrs/approximate", "fast"), op="gelu"),
    "cast-dtype": ErrorCase("cast", "E_ATTR", "cast to dtype 'int8' (not a JAG dtype)", _set("/nodes/0/attrs/dtype", "int8"),
                            op="cast"),
    "reshape-missing-attr": ErrorCase("reshape", "E_ATTR", "reshape without its required attr shape",
                                  _delete("/nodes/0/attrs"), op="reshape"),
    "add-three-inputs": ErrorCase("add", "E_ARITY", "add with three inputs", _set("/nodes/0/inputs", ["x", "y", "x"]),
                              op="add"),
    "graph-cycle": ErrorCase("two-nodes", "E_GRAPH", "two nodes, each using the other's output",
                         _set("/nodes/0/inputs", ["t1"])),
}


# ====================================================================== conformance cases

def all_cases() -> dict:
    """Every error case, name -> ErrorCase, in a stable order: the bad-model tables on the linear model
    (inline, then with every tensor in the sidecar), then EXTRA."""
    out = {name: ErrorCase("linear", c[1], c.doc, c[0]) for name, c in CORRUPTIONS.items()}
    out.update({name: ErrorCase("linear", c[1], c.doc, c[0], inline_limit=0) for name, c in SIDECAR_CORRUPTIONS.items()})
    assert not set(out) & set(EXTRA)
    out.update(EXTRA)
    return out


def python_code(path: Path, inputs: dict) -> str:
    """The code the Python reference reports loading ``path`` and running it on ``inputs`` ("OK" if none)."""
    try:
        jag.load(path).run(inputs)
    except jag.JagError as e:
        return e.code
    return "OK"


def build(name: str, e: ErrorCase):
    """The conformance Case of one error case (its corruption is applied when the folder is written)."""
    from .cases import Case, graph_dtypes, graph_ops
    cid = f"error.{e.code}.{name}"
    g, valid_inputs = BASES[e.base]()
    g.name = cid
    where = "every tensor in the sidecar model.bin" if e.inline_limit == 0 else "tensors over 4096 bytes in model.bin"
    what = "the linear model x[N,64] @ w[64,64] + 1" if e.base == "linear" else f"a valid '{e.base}' model"
    return Case(id=cid, kind="error", op=e.op, graph=g, inputs=dict(e.inputs if e.inputs is not None else valid_inputs),
                expected=None, tolerance={}, inline_limit=e.inline_limit, error=e.code, corrupt=e.corrupt,
                ops=graph_ops(g), dtypes=graph_dtypes(g),
                description=f"{e.doc}: {what} ({where}){', edited' if e.corrupt else ''}; must fail with {e.code}. "
                            "ops and dtypes are those of the valid model")


def entries() -> list:
    """The error cases as conformance entries, ids ``error.<CODE>.<name>``."""
    from .cases import Entry
    return [Entry(f"error.{e.code}.{name}", lambda name=name, e=e: build(name, e), e.op) for name, e in all_cases().items()]

"""The conformance case definitions: what the corpus holds, in a stable order.

Each case is announced by an :class:`Entry` (its id and a ``build`` function), so that a
filtered generation (``-k``) builds only the cases it writes. ``build()`` returns a
:class:`Case`: the graph, the inputs, the Python reference's outputs (the judge) and the
metadata of case.json (see conformance/FORMAT.md). Every builder is deterministic: inputs
come from python/tests/test_ops.py's table (fixed at import) or from RNGs seeded per case,
never from a shared RNG whose state would depend on which cases were built before.

Kinds of cases, by id prefix:
  ``op.<op>.<tag>``          every case of test_ops.CASES as a one-node graph
  ``op.<op>.<tag>.sidecar``  a few of them with the non-first inputs stored as constants in a sidecar
  ``lowered.<op>.<tag>``     every composite-op case as its core lowering (``graph.lower()``)
  ``sym.<name>.N<n>``        symbolic-dim models, each at two bindings of its dims
  ``model.<name>``           an MLP, a CNN, a transformer encoder block, a model using the random ops
  ``train.<name>``           one traced training step (value_and_grad + optimizer update) of a jag.nn model
  ``grad.<op>.<dtype>[-<tag>]``  the traced gradient graph of a loss through one differentiable op (GRAD_SPECS)
  ``error.<CODE>.<name>``    invalid models or inputs (conformance/error_cases.py)

The reference is checked before a case is accepted: op cases against test_ops' independent
expected values, lowered cases against the composite, models against a float64 run or
plain numpy, gradient cases against central finite differences (float64; float32 against
the checked float64 gradients), training steps against a float64 eager step whose gradient
matches finite differences; a generator whose reference disagrees raises instead of
writing a wrong truth.
"""
from __future__ import annotations

import contextlib
from collections import Counter
import functools
import inspect
import json
import math
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

import jag
from jag import nn, optim, pytree, spec
from jag.ops import IMPLS, check_attrs

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "python" / "tests"
# python/tests/test_ops.py's CASES table is the project's single table of op case inputs (every op,
# every allowed dtype, broadcasting, rank 0, zero-size dims, edge values) with expected values
# computed independently of jag's kernels; the corpus is built from it, not from a copy.
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
import test_ops  # noqa: E402

OPS = spec.OPS
FLOAT = ("float32", "float64")

#: Model outputs go through several ops whose errors compound (a sum of products feeding a
#: softmax feeding a matmul…), so one op class's bound is too tight for a whole model: a model
#: output gets this factor times the loosest class among the ops it depends on.
MODEL_TOLERANCE_FACTOR = 10

#: The two bindings of every symbolic-dim model, and of test_ops.SYMBOLIC's one-op graphs (some of
#: which need N >= 2: a gather of index 1, a slice from -2, whose symbolic length assumes N >= 2).
SYM_BINDINGS = (1, 5)
SYM_OP_BINDINGS = (2, 5)


@dataclass
class Case:
    """One conformance case, ready to be written as a folder (see conformance/FORMAT.md).

    ``graph`` is saved as model.json with ``inline_limit``; ``inputs`` and ``expected`` map
    graph input / output names to arrays. Error cases have ``error`` (the code), no
    ``expected``, and ``corrupt`` (edits the saved folder's model.json, or None when only
    the inputs are wrong); ``check`` then verifies the code against the Python reference.
    """
    id: str
    kind: str                      # "op" | "lowered" | "model" | "grad" | "error"
    op: str | None                 # the op under test, None for models
    graph: jag.Graph
    inputs: dict
    expected: dict | None
    tolerance: dict                # output name -> {"rtol": r, "atol": a}
    description: str
    inline_limit: int = 4096
    error: str | None = None
    corrupt: Callable[[Path], None] | None = None
    ops: list = field(default_factory=list)
    dtypes: list = field(default_factory=list)

    def metadata(self) -> dict:
        """case.json's content, keys in the order of conformance/FORMAT.md."""
        return {"id": self.id, "kind": self.kind, "op": self.op, "ops": self.ops, "dtypes": self.dtypes,
                "tolerance": self.tolerance, "description": self.description}


@dataclass(frozen=True)
class Entry:
    """A case announced by id and op under test (None for models and file-level errors);
    ``build()`` makes it (tracing and running the reference)."""
    id: str
    build: Callable[[], Case]
    op: str | None = None


# ====================================================================== helpers

_ID_CHARS = {"[": "", "]": "", ",": "_", ":": "-", "@": "-at-", "^": "pow", "#": "-", " ": ""}
_ID_OK = re.compile(r"^[A-Za-z0-9._-]+$")


def sanitize(text: str) -> str:
    """A test_ops tag as a filesystem-safe id part (characters ``[A-Za-z0-9._-]``)."""
    out = "".join(_ID_CHARS.get(ch, ch) for ch in text)
    out = re.sub(r"[^A-Za-z0-9._-]", "_", out)
    assert _ID_OK.match(out), text
    return out


def op_tolerance(op: str, dtype: str) -> dict:
    """The op's tolerance class at ``dtype`` (0/0 for exact ops and non-float outputs)."""
    rtol, atol = spec.tolerance(op, dtype)
    return {"rtol": rtol, "atol": atol}


def _loosest_class(ops, dtype) -> str:
    return max(sorted({OPS[o].tolerance for o in ops}), key=lambda c: spec.tolerance(c, dtype))


def upstream_ops(graph: jag.Graph, name: str) -> set:
    """The ops of every node that value ``name`` depends on."""
    producer = {o: n for n in graph.nodes for o in n.outputs}
    seen, ops, todo = set(), set(), [name]
    while todo:
        v = todo.pop()
        if v in seen or v not in producer:
            continue
        seen.add(v)
        node = producer[v]
        ops.add(node.op)
        todo.extend(node.inputs)
    return ops


def model_tolerance(graph: jag.Graph, name: str, dtype: str) -> dict:
    """A model output's tolerance: MODEL_TOLERANCE_FACTOR × the loosest class among the ops it
    depends on (0/0 when they are all exact, or the output is not a float)."""
    ops = upstream_ops(graph, name)
    if dtype not in FLOAT or not ops:
        return {"rtol": 0.0, "atol": 0.0}
    rtol, atol = spec.tolerance(_loosest_class(ops, dtype), dtype)
    scale = MODEL_TOLERANCE_FACTOR if rtol or atol else 1
    return {"rtol": float(f"{rtol * scale:.3g}"), "atol": float(f"{atol * scale:.3g}")}


def graph_ops(graph: jag.Graph) -> list:
    """Every op the graph uses, in spec/ops.json order."""
    used = {n.op for n in graph.nodes}
    return [o for o in OPS if o in used]


def graph_dtypes(graph: jag.Graph) -> list:
    """Dtypes of every value of the graph (inputs, constants, node inputs and outputs), in spec order.
    For a one-node graph these are exactly the dtypes of the op's inputs and outputs."""
    used = {dt for dt, _ in graph.value_types().values()} | {a.dtype.name for a in graph.tensors.values()}
    return [d for d in spec.DTYPE_NAMES if d in used]


def within(got: np.ndarray, want: np.ndarray, tol: dict) -> bool:
    """The runner's comparison: same dtype and shape; floats |got-want| <= atol + rtol*|want| (NaN = NaN);
    everything else exactly."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if want.dtype.kind != "f":
        return bool(np.array_equal(got, want))
    with np.errstate(invalid="ignore", over="ignore"):
        g, w = got.astype(np.float64), want.astype(np.float64)
        ok = (g == w) | (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= tol["atol"] + tol["rtol"] * np.abs(w))
    return bool(ok.all())


def _describe_arrays(arrays) -> str:
    return ", ".join(f"{a.dtype.name}{list(a.shape)}" for a in arrays) or "no inputs"


def _attrs_text(attrs: dict) -> str:
    return json.dumps({k: v for k, v in attrs.items() if v is not None}, separators=(",", ":"), default=str)


@contextlib.contextmanager
def _test_ops_rng(seed: int):
    """test_ops.rand draws from the module's RNG: give it a per-case seed (and restore it), so a
    case's data never depends on which cases were built before."""
    saved = test_ops.RNG
    test_ops.RNG = np.random.default_rng(seed)
    try:
        yield
    finally:
        test_ops.RNG = saved


def _finish(case: Case) -> Case:
    case.ops = case.ops or graph_ops(case.graph)
    case.dtypes = case.dtypes or graph_dtypes(case.graph)
    return case


# ====================================================================== op and lowered cases

#: ops with a few cases whose non-first inputs become constants stored in a sidecar (inline_limit=0)
SIDECAR_OPS = ("where", "matmul", "gather", "scatter_add", "concat", "embedding", "conv2d", "layer_norm")


def _op_case_id(c, suffix="") -> str:
    tag = c.id[len(c.op) + 1:] if c.id.startswith(c.op + "-") else c.id[len(c.op):]
    return f"op.{c.op}" + (f".{sanitize(tag)}" if tag else "") + suffix


def _reference(graph: jag.Graph, inputs: list) -> dict:
    return graph.run({vi.name: x for vi, x in zip(graph.inputs, inputs)})


def build_op_case(c, cid: str, *, sidecar: bool = False) -> Case:
    """A test_ops case as a one-node graph; expected = the Python reference, checked against the
    case's independent expected value within the op's tolerance (test_ops.check)."""
    if sidecar:
        first, consts = c.inputs[0], c.inputs[1:]
        g = jag.trace(lambda x: jag.apply(c.op, x, *consts, **c.attrs), first)
        inputs = [first]
    else:
        g = test_ops.traced(c.op, c.inputs, c.attrs)
        inputs = list(c.inputs)
    assert [n.op for n in g.nodes] == [c.op], (cid, [n.op for n in g.nodes])
    g.name = cid
    out = _reference(g, inputs)
    (name, got), = out.items()
    test_ops.check(got, c.expected, c.op, f"Python reference of {cid}")
    where = " (inputs after the first are constants, stored in the sidecar model.bin)" if sidecar else ""
    return _finish(Case(
        id=cid, kind="op", op=c.op, graph=g, inputs={vi.name: x for vi, x in zip(g.inputs, inputs)},
        expected=out, tolerance={name: op_tolerance(c.op, got.dtype.name)}, inline_limit=0 if sidecar else 4096,
        description=f"{c.op} on {_describe_arrays(c.inputs)}, attrs {_attrs_text(c.attrs)}{where}; "
                    f"python/tests/test_ops.py case '{c.id}'"))


def build_lowered_case(c, cid: str) -> Case:
    """A composite-op case as its core lowering; expected = the reference running the composite,
    tolerance = the composite's class (the lowering must agree with the op within it)."""
    g = test_ops.traced(c.op, c.inputs, c.attrs)
    want = _reference(g, c.inputs)
    low = g.lower()
    low.name = cid
    assert all(OPS[n.op].kind == "core" for n in low.nodes), cid
    expected = {vo.name: a for vo, a in zip(low.outputs, want.values())}
    tol = {k: op_tolerance(c.op, a.dtype.name) for k, a in expected.items()}
    got = _reference(low, c.inputs)
    for k, a in expected.items():
        assert within(got[k], a, tol[k]), f"Python reference of {cid}: the lowering leaves {c.op}'s tolerance"
    return _finish(Case(
        id=cid, kind="lowered", op=c.op, graph=low, inputs={vi.name: x for vi, x in zip(low.inputs, c.inputs)},
        expected=expected, tolerance=tol, dtypes=graph_dtypes(g),  # the composite's, not the lowering's
        description=f"{c.op} lowered to core ops ({', '.join(n.op for n in low.nodes)}) on {_describe_arrays(c.inputs)}, "
                    f"attrs {_attrs_text(c.attrs)}; expected = the composite {c.op} on the Python reference; "
                    f"python/tests/test_ops.py case '{c.id}'"))


def _sidecar_picks(cases) -> list:
    """The first case per (op, input dtypes) of SIDECAR_OPS with ≥2 inputs, all non-empty."""
    picked, seen = [], set()
    for c in cases:
        if c.op not in SIDECAR_OPS or len(c.inputs) < 2 or any(x.size == 0 for x in c.inputs):
            continue
        key = (c.op, tuple(x.dtype.name for x in c.inputs))
        if key not in seen:
            seen.add(key)
            picked.append(c)
    return picked


def build_example_case(name: str, k: int, ex: dict, cid: str) -> Case:
    """Example k of op ``name`` in spec/ops.json (which every runtime must reproduce); the Python
    reference is checked against the example's output within the op's tolerance."""
    inputs = [test_ops._example_array(t) for t in ex["inputs"]]
    g = test_ops.traced(name, inputs, ex.get("attrs", {}))
    g.name = cid
    out = _reference(g, inputs)
    (oname, got), = out.items()
    test_ops.check(got, test_ops._example_array(ex["outputs"][0]), name, f"Python reference of {cid}")
    return _finish(Case(
        id=cid, kind="op", op=name, graph=g, inputs={vi.name: x for vi, x in zip(g.inputs, inputs)},
        expected=out, tolerance={oname: op_tolerance(name, got.dtype.name)},
        description=f"example {k} of '{name}' in spec/ops.json"))


def op_entries() -> list:
    """Op cases (every test_ops case, plus the sidecar variants), the examples of spec/ops.json,
    and lowered cases."""
    entries = []
    for name, k, ex in test_ops.EXAMPLES:
        cid = f"op.{name}.example{k}"
        entries.append(Entry(cid, lambda name=name, k=k, ex=ex, cid=cid: build_example_case(name, k, ex, cid), name))
    for c in test_ops.CASES:
        cid = _op_case_id(c)
        entries.append(Entry(cid, lambda c=c, cid=cid: build_op_case(c, cid), c.op))
    for c in _sidecar_picks(test_ops.CASES):
        cid = _op_case_id(c, ".sidecar")
        entries.append(Entry(cid, lambda c=c, cid=cid: build_op_case(c, cid, sidecar=True), c.op))
    for c in test_ops.CASES:
        if OPS[c.op].kind == "composite":
            cid = "lowered" + _op_case_id(c)[2:]
            entries.append(Entry(cid, lambda c=c, cid=cid: build_lowered_case(c, cid), c.op))
    return entries


# ====================================================================== symbolic-dim models

def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _sym_mlp():
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = _f32(rng, 4, 8, scale=0.5), _f32(rng, 8), _f32(rng, 8, 3, scale=0.5), _f32(rng, 3)

    def mlp(x):
        h = jag.apply("relu", jag.apply("add", jag.apply("matmul", x, w1), b1))
        return jag.apply("add", jag.apply("matmul", h, w2), b2)

    def make(n):
        return [_f32(np.random.default_rng(100 + n), n, 4)]

    def ref(x):
        x64 = x.astype(np.float64)
        return [np.maximum(x64 @ w1 + b1, 0) @ w2 + b2]
    return mlp, make, {"x": ("N", None)}, ref, "matmul + add + relu + matmul + add over a batch of N rows"


def _sym_softmax():
    def soft(x):
        return jag.apply("softmax", x, axis=0), jag.apply("log_softmax", x, axis=-1)

    def make(n):
        return [np.random.default_rng(200 + n).uniform(-5, 5, (n, 6))]

    def ref(x):
        e0 = np.exp(x - x.max(0))
        m = x.max(-1, keepdims=True)
        return [e0 / e0.sum(0), x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))]
    return soft, make, {"x": ("N", None)}, ref, "float64 softmax over the symbolic batch axis, log_softmax over rows"


def _sym_reshape():
    def resh(x):
        n = x.shape[0]
        return jag.apply("reshape", x, shape=[n, 3, 2]), jag.apply("reshape", x, shape=[3, -1]), \
            jag.apply("reshape", x, shape=[-1])

    def make(n):
        x = np.random.default_rng(300 + n).integers(-10 ** 6, 10 ** 6, (n, 6))
        x.ravel()[0] = 2 ** 60 + 1  # an int64 above 2^53
        return [x]

    def ref(x):
        n = x.shape[0]
        return [x.reshape(n, 3, 2), x.reshape(3, -1), x.reshape(-1)]
    return resh, make, {"x": ("N", None)}, ref, "int64 reshape to [N,3,2] (a dims attr naming N), [3,-1] and [-1]"


def _sym_iota_broadcast():
    def gen(x, y):
        n = x.shape[0]
        i = jag.apply("iota", shape=[n, 3], axis=0, dtype="int32")
        b = jag.apply("broadcast_to", y, shape=[n, 1, 3])
        return i, b, jag.apply("add", x, jag.apply("cast", i, dtype="float32"))

    def make(n):
        r = np.random.default_rng(400 + n)
        return [_f32(r, n, 3), _f32(r, 1, 3)]

    def ref(x, y):
        n = x.shape[0]
        i = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None], (n, 3))
        return [i, np.broadcast_to(y, (n, 1, 3)), x + i.astype(np.float32)]
    return gen, make, {"x": ("N", None)}, ref, "iota and broadcast_to with dims attrs naming the symbolic N"


def _sym_gather():
    rng = np.random.default_rng(0)
    table = _f32(rng, 10, 4)

    def look(ids, x):
        e = jag.apply("gather", table, ids, axis=0)
        return jag.apply("reduce_sum", jag.apply("multiply", e, x), axes=[-1], keepdims=False)

    def make(n):
        r = np.random.default_rng(500 + n)
        return [r.integers(-10, 10, (n,)).astype(np.int64), _f32(r, n, 4)]

    def ref(ids, x):
        return [(table[ids].astype(np.float64) * x).sum(-1)]
    return look, make, {"ids": ("K",), "x": ("K", None)}, ref, \
        "gather of K rows (K symbolic, shared by two inputs), multiply, reduce_sum"


#: name -> builder() returning (fn to trace, make(n) -> inputs at binding n, symbolic= of jag.trace,
#: numpy reference(*inputs) -> outputs, description)
SYM_MODELS = {"mlp": _sym_mlp, "softmax": _sym_softmax, "reshape": _sym_reshape, "iota-broadcast": _sym_iota_broadcast,
              "gather": _sym_gather}


def build_sym_model(name: str, n: int, cid: str) -> Case:
    """A symbolic-dim model traced at a third size (3) and run at binding ``n``; the reference is
    checked against plain numpy within the model tolerance."""
    fn, make, symbolic, ref, doc = SYM_MODELS[name]()
    g = jag.trace(fn, *make(3), symbolic=symbolic, name=cid)
    assert any(isinstance(d, jag.Dim) for vi in g.inputs for d in vi.shape), cid
    inputs = make(n)
    out = _reference(g, inputs)
    tol = {k: model_tolerance(g, k, a.dtype.name) for k, a in out.items()}
    for (k, got), want in zip(out.items(), ref(*inputs)):
        want = np.asarray(want).astype(got.dtype)
        assert within(got, want, tol[k]), f"Python reference of {cid}: output {k} disagrees with numpy"
    dims = ", ".join(f"{k}: {list(v)}" for k, v in symbolic.items())
    return _finish(Case(
        id=cid, kind="model", op=None, graph=g, inputs={vi.name: x for vi, x in zip(g.inputs, inputs)}, expected=out,
        tolerance=tol,
        description=f"symbolic dims ({dims}) bound by inputs {_describe_arrays(inputs)}: {doc}. Tolerance: "
                    f"{MODEL_TOLERANCE_FACTOR}x the loosest op class on each output's path (0/0 when all exact)"))


def build_sym_op(k: int, n: int, cid: str) -> Case:
    """Entry ``k`` of test_ops.SYMBOLIC (one op, symbolic dims) at binding ``n``."""
    op, attrs, make, dims, ref = test_ops.SYMBOLIC[k]
    with _test_ops_rng(7000 + 10 * k):
        example = make(3)
    with _test_ops_rng(7000 + 10 * k + n):
        inputs = make(n)
    symbolic = {f"xs{i}": d for i, d in enumerate(dims) if d is not None}
    g = test_ops.traced(op, example, attrs, symbolic=symbolic)
    g.name = cid
    out = _reference(g, inputs)
    (name, got), = out.items()
    test_ops.check(got, ref(*inputs), op, f"Python reference of {cid}")
    return _finish(Case(
        id=cid, kind="op", op=op, graph=g, inputs={vi.name: x for vi, x in zip(g.inputs, inputs)}, expected=out,
        tolerance={name: op_tolerance(op, got.dtype.name)},
        description=f"{op} with symbolic dims {[d for d in dims]} bound by inputs {_describe_arrays(inputs)}, attrs "
                    f"{_attrs_text(attrs)}; python/tests/test_ops.py SYMBOLIC[{k}]"))


def sym_entries() -> list:
    entries = []
    for name in SYM_MODELS:
        for n in SYM_BINDINGS:
            cid = f"sym.{name}.N{n}"
            entries.append(Entry(cid, lambda name=name, n=n, cid=cid: build_sym_model(name, n, cid)))
    for k, (op, *_rest) in enumerate(test_ops.SYMBOLIC):
        for n in SYM_OP_BINDINGS:
            cid = f"sym.{op}-{k}.N{n}"
            entries.append(Entry(cid, lambda k=k, n=n, cid=cid: build_sym_op(k, n, cid), op))
    return entries


# ====================================================================== models

def _weights(rng, dt, *shape, scale=None):
    """Seeded weights (He-like scale by default), generated in float64 and cast, so the float64
    twin of a model holds the same values."""
    fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
    return (rng.standard_normal(shape) * (scale if scale is not None else 1 / math.sqrt(fan_in))).astype(dt)


def model_mlp(dt):
    """Three layers: linear + relu, matmul + add + relu, linear; logits and softmax probabilities."""
    rng = np.random.default_rng(0)
    w1, b1 = _weights(rng, dt, 64, 32), _weights(rng, dt, 64, scale=0.1)     # [64,32]: 8 KiB, in the sidecar
    w2, b2 = _weights(rng, dt, 64, 48), _weights(rng, dt, 48, scale=0.1)     # matmul weight [in, out]
    w3, b3 = _weights(rng, dt, 10, 48), _weights(rng, dt, 10, scale=0.1)
    x = rng.standard_normal((3, 32)).astype(dt)

    def mlp(x):
        h = jag.apply("relu", jag.apply("linear", x, w1, b1))
        h = jag.apply("relu", jag.apply("add", jag.apply("matmul", h, w2), b2))
        logits = jag.apply("linear", h, w3, b3)
        return {"logits": logits, "probs": jag.apply("softmax", logits, axis=-1)}
    return mlp, [x], "MLP 32-64-48-10 on a batch of 3: linear, relu, matmul + add, relu, linear, softmax"


def model_cnn(dt):
    """conv (padding) + relu + max pool, conv (stride 2, padding) + relu + avg pool, flatten, linear."""
    rng = np.random.default_rng(0)
    k1, c1 = _weights(rng, dt, 8, 3, 3, 3), _weights(rng, dt, 8, scale=0.1)
    k2, c2 = _weights(rng, dt, 16, 8, 3, 3), _weights(rng, dt, 16, scale=0.1)    # 4.5 KiB, in the sidecar
    w, b = _weights(rng, dt, 10, 16), _weights(rng, dt, 10, scale=0.1)
    x = rng.standard_normal((2, 3, 8, 8)).astype(dt)

    def cnn(x):
        h = jag.apply("relu", jag.apply("conv2d", x, k1, c1, pads=[1, 1, 1, 1]))
        h = jag.apply("max_pool2d", h, kernel_shape=[2, 2])                                  # [2,8,4,4]
        h = jag.apply("relu", jag.apply("conv2d", h, k2, c2, strides=[2, 2], pads=[1, 1, 1, 1]))  # [2,16,2,2]
        h = jag.apply("avg_pool2d", h, kernel_shape=[2, 2])                                  # [2,16,1,1]
        return {"logits": jag.apply("linear", jag.apply("reshape", h, shape=[2, -1]), w, b)}
    return cnn, [x], ("CNN on [2,3,8,8]: conv2d 3x3 pad 1, relu, max_pool2d 2x2, conv2d 3x3 stride 2 pad 1, relu, "
                      "avg_pool2d 2x2, reshape, linear")


def model_transformer(dt):
    """One pre-norm transformer encoder block: multi-head self-attention and a gelu MLP, with residuals."""
    B, S, D, H, F = 2, 6, 32, 4, 64
    dh = D // H
    rng = np.random.default_rng(0)
    g1, be1 = (1 + _weights(rng, dt, D, scale=0.1)).astype(dt), _weights(rng, dt, D, scale=0.1)
    wq, wk, wv, wo = (_weights(rng, dt, D, D) for _ in range(4))                 # 4 KiB each at float32
    bq, bk, bv, bo = (_weights(rng, dt, D, scale=0.1) for _ in range(4))
    g2, be2 = (1 + _weights(rng, dt, D, scale=0.1)).astype(dt), _weights(rng, dt, D, scale=0.1)
    w1, c1 = _weights(rng, dt, F, D), _weights(rng, dt, F, scale=0.1)             # 8 KiB: in the sidecar
    w2, c2 = _weights(rng, dt, D, F), _weights(rng, dt, D, scale=0.1)
    scale = np.array(1 / math.sqrt(dh), dt)
    x = rng.standard_normal((B, S, D)).astype(dt)

    def heads(t):   # [B,S,D] -> [B,H,S,dh]
        return jag.apply("transpose", jag.apply("reshape", t, shape=[B, S, H, dh]), perm=[0, 2, 1, 3])

    def block(x):
        h = jag.apply("layer_norm", x, g1, be1, axis=-1, epsilon=1e-5)
        q, k, v = (heads(jag.apply("linear", h, w, b)) for w, b in ((wq, bq), (wk, bk), (wv, bv)))
        scores = jag.apply("multiply", jag.apply("matmul", q, jag.apply("transpose", k, perm=[0, 1, 3, 2])), scale)
        att = jag.apply("matmul", jag.apply("softmax", scores, axis=-1), v)                  # [B,H,S,dh]
        att = jag.apply("reshape", jag.apply("transpose", att, perm=[0, 2, 1, 3]), shape=[B, S, D])
        x1 = jag.apply("add", x, jag.apply("linear", att, wo, bo))
        h2 = jag.apply("layer_norm", x1, g2, be2, axis=-1, epsilon=1e-5)
        ff = jag.apply("linear", jag.apply("gelu", jag.apply("linear", h2, w1, c1)), w2, c2)
        return {"y": jag.apply("add", x1, ff)}
    return block, [x], (f"transformer encoder block on [{B},{S},{D}], {H} heads: layer_norm, q/k/v linear, reshape + "
                        "transpose into heads, matmul attention scaled by 1/sqrt(dh) with softmax, output projection, "
                        "residual, layer_norm, linear + gelu + linear MLP, residual")


def model_random(dt):
    """random_uniform and dropout from one fixed key (a graph input), around a linear layer."""
    rng = np.random.default_rng(0)
    w, b = _weights(rng, dt, 16, 8), _weights(rng, dt, 16, scale=0.1)
    x = rng.standard_normal((4, 8)).astype(dt)
    key = np.array(20240607, np.int64)

    def noisy(x, key):
        u = jag.apply("random_uniform", key, shape=[4, 16], dtype=dt)
        h = jag.apply("relu", jag.apply("linear", x, w, b))
        return {"noise": u, "out": jag.apply("dropout", jag.apply("add", h, u), key, p=0.25)}
    return noisy, [x, key], "random_uniform [4,16] and dropout p=0.25 keyed by the int64 input 'key', around linear + relu"


MODELS = {"mlp": model_mlp, "cnn": model_cnn, "transformer": model_transformer, "random": model_random}


def _check_model(name, dt, out, inputs, tol):
    """An independent look at the float32 reference: for the random model, the pure-Python Threefry
    of test_ops and numpy; for the others, the float64 twin of the model (same weights and inputs),
    which must agree within the model tolerance."""
    if name == "random":
        x, key = inputs
        u = test_ops.py_uniform(int(key), [4, 16], dt)
        assert np.array_equal(out["noise"], u), "random_uniform disagrees with test_ops' Threefry"
        rng = np.random.default_rng(0)
        w, b = _weights(rng, np.float64, 16, 8), _weights(rng, np.float64, 16, scale=0.1)
        h = np.maximum(x.astype(np.float64) @ w.T + b, 0) + u
        want = np.where(u < np.float32(0.25), 0.0, h / 0.75).astype(dt)
        assert within(out["out"], want, tol["out"]), "dropout output disagrees with numpy"
        return
    fn, args, _ = MODELS[name]("float64")
    twin = jag.trace(fn, *args)
    want = twin.run({vi.name: a for vi, a in zip(twin.inputs, args)})
    for k, got in out.items():
        assert within(got, want[k].astype(dt), tol[k]), f"{name}: output {k} is not within its tolerance of the float64 model"


def build_model(name: str, cid: str) -> Case:
    fn, args, doc = MODELS[name]("float32")
    g = jag.trace(fn, *args, name=cid)
    out = _reference(g, args)
    tol = {k: model_tolerance(g, k, a.dtype.name) for k, a in out.items()}
    _check_model(name, "float32", out, args, tol)
    return _finish(Case(
        id=cid, kind="model", op=None, graph=g, inputs={vi.name: a for vi, a in zip(g.inputs, args)}, expected=out,
        tolerance=tol,
        description=f"{doc}. float32, weights from np.random.default_rng(0); tensors over 4096 bytes in the sidecar. "
                    f"Tolerance: {MODEL_TOLERANCE_FACTOR}x the loosest op class on each output's path (errors compound "
                    f"through several accumulate-class ops; 0/0 when all are exact)"))


def model_entries() -> list:
    return [Entry(f"model.{name}", lambda name=name: build_model(name, f"model.{name}")) for name in MODELS]


# ====================================================================== gradient cases

#: A gradient graph chains several ops (the op, the loss's multiply and reduce_sum, the op's VJP
#: rule), so, as for models, each output gets MODEL_TOLERANCE_FACTOR x the loosest tolerance class
#: among the ops it depends on (model_tolerance).
GRAD_DTYPES = FLOAT


@dataclass(frozen=True)
class GradSpec:
    """One gradient case per float dtype: ``grad.<op>.<dtype>[-<tag>]``.

    ``make(rng)`` returns the op's inputs: float inputs in float64 (the float32 case casts them),
    integer and bool inputs (indices, conditions, keys) as they are; values keep away from kinks
    (|x| >= 0.2 for abs/relu, x >= 0.5 for log/sqrt/power's base, pairwise >= 0.1 apart where
    max/min/pooling would tie). ``wiring[i]`` is the input feeding op input i (default: in order;
    a repeat is fan-out, e.g. ``x * x``). ``cast`` casts to the other float dtype.
    """
    op: str
    tag: str
    make: Callable[[np.random.Generator], list]
    attrs: dict = field(default_factory=dict)
    wiring: tuple | None = None


def _gvals(rng, shape, kind=None):
    """Values for a gradient case: "positive" in [0.5, 2], "nonzero" with 0.2 <= |x| <= 2, else [-2, 2]."""
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    return rng.uniform(-2.0, 2.0, shape)


def _gdistinct(rng, *shapes):
    """Arrays whose values are pairwise at least 0.1 apart (no ties for maximum, reduce_max, pooling)."""
    sizes = [math.prod(s) for s in shapes]
    vals = rng.permutation(sum(sizes)) * 0.1 - 0.05 * sum(sizes) + rng.uniform(0.0, 0.01)
    out, k = [], 0
    for s, n in zip(shapes, sizes):
        out.append(vals[k:k + n].reshape(s))
        k += n
    return out


def _unary_spec(op, kind=None, attrs=None, tag=""):
    return GradSpec(op, tag, lambda r: [_gvals(r, (2, 3), kind)], attrs or {})


GRAD_SPECS = [
    *(_unary_spec(op, kind) for op, kind in (
        ("neg", None), ("abs", "nonzero"), ("exp", None), ("log", "positive"), ("sqrt", "positive"), ("sin", None),
        ("cos", None), ("tanh", None), ("erf", None), ("relu", "nonzero"), ("sigmoid", None))),
    _unary_spec("gelu", attrs={"approximate": "none"}),
    _unary_spec("gelu", attrs={"approximate": "tanh"}, tag="tanh"),
    _unary_spec("cast"),
    *(GradSpec(op, "broadcast", lambda r: [_gvals(r, (2, 3)), _gvals(r, (3,))])
      for op in ("add", "subtract", "multiply")),
    GradSpec("multiply", "tied", lambda r: [_gvals(r, (2, 3))], wiring=(0, 0)),
    GradSpec("divide", "broadcast", lambda r: [_gvals(r, (2, 3)), _gvals(r, (2, 1), "nonzero")]),
    GradSpec("power", "broadcast", lambda r: [_gvals(r, (2, 3), "positive"), _gvals(r, (3,))]),
    *(GradSpec(op, "broadcast", lambda r: _gdistinct(r, (2, 3), (3,))) for op in ("maximum", "minimum")),
    GradSpec("where", "broadcast", lambda r: [r.random((2, 3)) < 0.5, _gvals(r, (2, 1)), _gvals(r, (3,))]),
    GradSpec("reduce_sum", "axis1", lambda r: [_gvals(r, (2, 3, 4))], {"axes": [1], "keepdims": False}),
    GradSpec("reduce_sum", "all", lambda r: [_gvals(r, (2, 3, 4))], {"axes": None, "keepdims": False}),
    GradSpec("reduce_max", "axis-1-keepdims", lambda r: _gdistinct(r, (2, 3, 4)), {"axes": [-1], "keepdims": True}),
    GradSpec("matmul", "batched", lambda r: [_gvals(r, (2, 3, 4)), _gvals(r, (4, 5))]),
    GradSpec("matmul", "vector", lambda r: [_gvals(r, (4,)), _gvals(r, (2, 4, 3))]),
    GradSpec("reshape", "", lambda r: [_gvals(r, (2, 3, 4))], {"shape": [4, -1]}),
    GradSpec("transpose", "", lambda r: [_gvals(r, (2, 3, 4))], {"perm": [2, 0, 1]}),
    GradSpec("broadcast_to", "", lambda r: [_gvals(r, (3, 1))], {"shape": [2, 3, 4]}),
    GradSpec("slice", "steps", lambda r: [_gvals(r, (5, 6))],
             {"axes": [0, 1], "starts": [1, -5], "stops": [5, 6], "steps": [2, 2]}),
    GradSpec("pad", "interior", lambda r: [_gvals(r, (2, 3))],
             {"pads": [1, 0, 2, 1], "interior": [1, 0], "value": 1.5}),
    GradSpec("concat", "axis0", lambda r: [_gvals(r, (2, 3)), _gvals(r, (1, 3)), _gvals(r, (3, 3))], {"axis": 0}),
    GradSpec("concat", "tied", lambda r: [_gvals(r, (2, 3))], {"axis": -1}, wiring=(0, 0)),
    GradSpec("gather", "int64", lambda r: [_gvals(r, (4, 3)), np.array([[0, -1, 2], [0, 3, 0]], np.int64)],
             {"axis": 0}),
    GradSpec("gather", "int32-axis1", lambda r: [_gvals(r, (2, 5)), np.array([4, 1, 1, -2], np.int32)], {"axis": 1}),
    GradSpec("scatter_add", "", lambda r: [_gvals(r, (4, 3)), np.array([1, 3, 1, -4, 1], np.int64), _gvals(r, (5, 3))],
             {"axis": 0}),
    GradSpec("softmax", "", lambda r: [_gvals(r, (2, 5))], {"axis": -1}),
    GradSpec("log_softmax", "axis0", lambda r: [_gvals(r, (3, 4))], {"axis": 0}),
    GradSpec("layer_norm", "", lambda r: [_gvals(r, (2, 3, 4)), _gvals(r, (4,)), _gvals(r, (4,))],
             {"axis": -1, "epsilon": 1e-5}),
    GradSpec("layer_norm", "axis1", lambda r: [_gvals(r, (2, 3, 4)), _gvals(r, (3, 4)), _gvals(r, (3, 4))],
             {"axis": 1, "epsilon": 1e-5}),
    GradSpec("reduce_mean", "keepdims", lambda r: [_gvals(r, (2, 3, 4))], {"axes": [0, 2], "keepdims": True}),
    GradSpec("reduce_min", "all", lambda r: _gdistinct(r, (3, 4)), {"axes": None, "keepdims": False}),
    GradSpec("linear", "", lambda r: [_gvals(r, (2, 3, 5)), _gvals(r, (4, 5)), _gvals(r, (4,))]),
    GradSpec("embedding", "", lambda r: [np.array([[0, 4, 2], [4, 4, 1]], np.int64), _gvals(r, (5, 4))]),
    GradSpec("dropout", "", lambda r: [_gvals(r, (4, 5)), np.array(20240607, np.int64)], {"p": 0.25}),
    GradSpec("conv2d", "groups-stride-pad",
             lambda r: [_gvals(r, (2, 4, 5, 5)), _gvals(r, (6, 2, 3, 3)), _gvals(r, (6,))],
             {"strides": [2, 1], "pads": [1, 1, 1, 1], "groups": 2}),
    GradSpec("conv2d", "dilated", lambda r: [_gvals(r, (1, 2, 6, 6)), _gvals(r, (3, 2, 2, 2)), _gvals(r, (3,))],
             {"dilations": [2, 2]}),
    GradSpec("max_pool2d", "", lambda r: _gdistinct(r, (1, 2, 5, 5)),
             {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    GradSpec("avg_pool2d", "", lambda r: [_gvals(r, (1, 2, 5, 5))],
             {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": False}),
    GradSpec("avg_pool2d", "include-pad", lambda r: [_gvals(r, (1, 2, 5, 5))],
             {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": True}),
]


def _grad_id(s: GradSpec, dtype: str) -> str:
    return f"grad.{s.op}.{dtype}" + (f"-{s.tag}" if s.tag else "")


def _grad_problem(s: GradSpec, dtype: str):
    """The loss of a gradient case and what surrounds it, deterministic from the spec's id.

    loss = reduce_sum(op(inputs) * w), w a fixed standard-normal array shaped like the op's output
    (a constant of the graph), so the cotangent reaching the op is not all ones. Returns a dict:
    ``arrays`` (the inputs in ``dtype``), ``names`` (graph input names: the op's port names),
    ``attrs``, ``wiring``, ``diff`` (indices of the differentiable float inputs), ``loss`` (jag ops)
    and ``np_loss`` (float64, through the op's numpy implementation, not its VJP).
    """
    op = OPS[s.op]
    rng = np.random.default_rng(zlib.crc32(_grad_id(s, "").encode()))
    arrays64 = [np.asarray(a) for a in s.make(rng)]
    wiring = s.wiring or tuple(range(len(arrays64)))
    attrs = dict(s.attrs)
    if s.op == "cast":   # to the other float dtype; the float64 reference casts to float64
        attrs["dtype"] = "float32" if dtype == "float64" else "float64"
    np_attrs = check_attrs(op, {**attrs, "dtype": "float64"} if s.op == "cast" else attrs)

    def np_op(arrs):
        return np.asarray(IMPLS[s.op](*[arrs[k] for k in wiring], **np_attrs), np.float64)

    w64 = rng.standard_normal(np_op(arrays64).shape)
    w = w64.astype(attrs.get("dtype", dtype) if s.op == "cast" else dtype)
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays64]

    names = []
    for i in range(len(arrays)):
        p = wiring.index(i)
        port = op.port_for_input(p)
        variadic_many = port.variadic and wiring.count(i) == 1 and len(arrays) > 1
        names.append(f"{port.name}{p - op.inputs.index(port)}" if variadic_many else port.name)
    diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f" and any(
        op.port_for_input(p).name in op.differentiable for p, k in enumerate(wiring) if k == i)]
    assert diff, f"{s.op}: a gradient case needs a differentiable float input"

    def loss(*xs):
        y = jag.apply(s.op, *[xs[k] for k in wiring], **attrs)
        return jag.apply("reduce_sum", jag.apply("multiply", y, w), axes=None, keepdims=False)

    def np_loss(arrs):
        return float(np.sum(np_op(arrs) * w64))

    return {"arrays": arrays, "names": names, "attrs": attrs, "wiring": wiring, "diff": diff,
            "loss": _with_params(loss, names), "np_loss": np_loss, "w_type": f"{w.dtype.name}{list(w.shape)}"}


def _with_params(fn, names):
    """``fn(*xs)`` with the signature ``(name0, name1, ...)``, so jag.trace names its inputs ``names``."""
    fn.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    return fn


def finite_differences(np_loss, arrays, i, h=1e-5) -> np.ndarray:
    """Central differences (np_loss(x + h e_k) - np_loss(x - h e_k)) / 2h of input ``i``, element by element."""
    out = np.zeros(np.shape(arrays[i]))
    for idx in np.ndindex(*np.shape(arrays[i])):
        plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
        plus[i][idx] += h
        minus[i][idx] -= h
        out[idx] = (np_loss(plus) - np_loss(minus)) / (2 * h)
    return out


#: float64 gradients must match central differences (h = 1e-5) this closely (as python/tests/test_autodiff.py);
#: float32 gradients must match the float64 case's, checked that way, within GRAD_F32_CHECK (relative to
#: the largest gradient), far looser than the cases' tolerance but far tighter than a wrong rule.
GRAD_FD_CHECK = {"rtol": 1e-5, "atol": 1e-6}
GRAD_F32_CHECK = 1e-4


def _grad_graph(s: GradSpec, dtype: str, cid: str):
    """The traced gradient graph of a spec, the problem (_grad_problem) and the Python reference's
    outputs: ``d_<input>`` per differentiable input, and ``loss`` when there are several of them."""
    pb = _grad_problem(s, dtype)
    loss, diff, names = pb["loss"], pb["diff"], pb["names"]

    def gradient(*xs):
        if len(diff) == 1:
            out, grads = {}, [jag.grad(loss, argnums=diff[0])(*xs)]
        else:
            value, grads = jag.value_and_grad(loss, argnums=tuple(diff))(*xs)
            out = {"loss": value}
        out.update({f"d_{names[i]}": g for i, g in zip(diff, grads)})
        return out

    g = jag.trace(_with_params(gradient, names), *pb["arrays"], name=cid)
    return g, pb, _reference(g, pb["arrays"])


@functools.lru_cache(maxsize=None)
def _checked_float64_grads(k: int) -> dict:
    """GRAD_SPECS[k]'s float64 gradient graph on the Python reference, checked against central finite
    differences of the op's numpy implementation (and its loss value against numpy); raises
    AssertionError on a disagreement, so a wrong VJP rule never becomes the truth."""
    s = GRAD_SPECS[k]
    cid = _grad_id(s, "float64")
    g, pb, out = _grad_graph(s, "float64", cid)
    arrays, np_loss = pb["arrays"], pb["np_loss"]
    if "loss" in out:
        want = np_loss(arrays)
        assert abs(float(out["loss"]) - want) <= 1e-12 * (1 + abs(want)), f"{cid}: the loss disagrees with numpy"
    for i in pb["diff"]:
        name = f"d_{pb['names'][i]}"
        fd, got = finite_differences(np_loss, arrays, i), out[name]
        if not np.allclose(got, fd, **GRAD_FD_CHECK):
            at = np.unravel_index(np.argmax(np.abs(got - fd)), fd.shape)
            raise AssertionError(f"{cid}: {name} disagrees with central finite differences: "
                                 f"{got[at]!r} vs {fd[at]!r} at {list(at)}")
    return out


def build_grad_case(k: int, dtype: str, cid: str) -> Case:
    """GRAD_SPECS[k] in ``dtype``: the traced gradient graph; expected = the Python reference running
    it, checked against finite differences (float64) or against the checked float64 gradients
    (float32, within GRAD_F32_CHECK)."""
    s = GRAD_SPECS[k]
    g, pb, out = _grad_graph(s, dtype, cid)
    assert all(OPS[n.op].kind == "core" for n in g.nodes), f"{cid}: the gradient graph has composite ops"
    ref = _checked_float64_grads(k)
    for name, a in out.items() if dtype != "float64" else ():
        scale = max(1.0, float(np.max(np.abs(ref[name]), initial=0.0)))
        assert np.allclose(a, ref[name], rtol=GRAD_F32_CHECK, atol=GRAD_F32_CHECK * scale), \
            f"{cid}: output {name} is not within {GRAD_F32_CHECK} of the float64 gradient"
    tol = {name: model_tolerance(g, name, a.dtype.name) for name, a in out.items()}
    diff, names = pb["diff"], pb["names"]
    how = f"jag.value_and_grad(loss, argnums={tuple(diff)})" if len(diff) > 1 else \
        f"jag.grad(loss, argnums={diff[0]})"
    call = f"{s.op}({', '.join(names[i] for i in pb['wiring'])})"
    return _finish(Case(
        id=cid, kind="grad", op=s.op, graph=g, inputs=dict(zip(names, pb["arrays"])), expected=out, tolerance=tol,
        description=f"{how} traced, loss = reduce_sum({call} * w), w a fixed standard-normal {pb['w_type']} "
                    f"constant; inputs {_describe_arrays(pb['arrays'])}, attrs {_attrs_text(pb['attrs'])}. Expected = "
                    f"the Python reference running the graph; the float64 gradients match central finite differences "
                    f"of the op's numpy implementation. Tolerance: {MODEL_TOLERANCE_FACTOR}x the loosest op class on "
                    f"each output's path (0/0 when all are exact)"))


def grad_entries() -> list:
    """``grad.<op>.<dtype>[-<tag>]``: every GRAD_SPECS entry in float32 and float64."""
    return [Entry(cid, lambda k=k, dt=dt, cid=cid: build_grad_case(k, dt, cid), s.op)
            for k, s in enumerate(GRAD_SPECS) for dt in GRAD_DTYPES for cid in [_grad_id(s, dt)]]


# ====================================================================== training steps

def _train_mlp():
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 5))
    rng = np.random.default_rng(0)
    batch = {"x": rng.standard_normal((8, 12)).astype(np.float32), "y": rng.integers(0, 5, 8).astype(np.int64)}
    return model, optim.adam(0.01), batch, (
        "nn.Sequential(Linear(12,16), ReLU, Linear(16,16), GELU, Linear(16,5)) on a batch of 8 (x float32 [8,12], "
        "y int64 class indices), optim.adam(0.01)")


def _train_cnn():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1),
                          nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(24, 5))
    rng = np.random.default_rng(1)
    batch = {"x": rng.standard_normal((4, 1, 8, 8)).astype(np.float32), "y": rng.integers(0, 5, 4).astype(np.int64),
             "key": np.array(3, np.int64)}
    return model, optim.sgd(0.05, momentum=0.9), batch, (
        "nn.Sequential(Conv2d(1,4,3,padding=1), ReLU, MaxPool2d(2), Conv2d(4,6,3,padding=1), ReLU, AvgPool2d(2), "
        "Flatten, Dropout(0.25), Linear(24,5)) on x float32 [4,1,8,8], y int64 [4], the int64 dropout key 'key'; "
        "optim.sgd(0.05, momentum=0.9)")


#: name -> () -> (model, optimizer, batch {"x", "y"[, "key"]}, description)
TRAIN_MODELS = {"mlp": _train_mlp, "cnn": _train_cnn}
#: eager steps (Python) before the traced one, so that params and the optimizer state are mid-training
TRAIN_WARMUP = 2


def _train_fns(model, opt, batch_names):
    """``loss_fn(params, x, y, key=None)``: nn.cross_entropy of the model in training mode; and
    ``train_step(params, opt_state, x, y[, key]) -> {"new_params", "new_opt_state", "loss"}``: one
    value_and_grad and one optimizer update (its parameters name the graph inputs, the result's
    keys its outputs: ``new_params.0.weight`` is the next ``params.0.weight``)."""
    def loss_fn(params, x, y, key=None):
        return nn.cross_entropy(model.apply(params, x, rng=key, train=True), y)

    def train_step(params, opt_state, *batch):
        loss, grads = jag.value_and_grad(loss_fn)(params, *batch)
        params, opt_state = opt.update(params, grads, opt_state)
        return {"new_params": params, "new_opt_state": opt_state, "loss": loss}

    return loss_fn, _with_params(train_step, ["params", "opt_state", *batch_names])


def _float64_tree(tree):
    leaves, _, td = pytree.flatten(tree)
    return pytree.unflatten(td, [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                                 for a in leaves])


def _float64_train_step(cid, loss_fn, opt, params, state, batch) -> dict:
    """The step in float64, eagerly, from the same values: the gradient is checked along a random
    direction against central differences of the forward pass (no VJP rule involved), then
    ``opt.update`` is applied. Returns {"new_params", "new_opt_state", "loss"} like the traced step."""
    p64, s64, b64 = _float64_tree(params), _float64_tree(state), list(_float64_tree(batch).values())
    loss, grads = jag.value_and_grad(loss_fn)(p64, *b64)
    leaves, _, td = pytree.flatten(p64)
    rng = np.random.default_rng(7)
    direction = [rng.standard_normal(np.shape(a)) for a in leaves]
    h = 1e-6

    def along(t):
        return float(np.asarray(loss_fn(pytree.unflatten(td, [a + t * d for a, d in zip(leaves, direction)]), *b64)))

    fd = (along(h) - along(-h)) / (2 * h)
    dot = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(pytree.flatten(grads)[0], direction))
    assert abs(dot - fd) <= 1e-6 * (1 + abs(fd)), \
        f"{cid}: the gradient disagrees with finite differences ({dot} vs {fd})"
    new_p, new_s = opt.update(p64, grads, s64)
    return {"new_params": new_p, "new_opt_state": new_s, "loss": np.asarray(loss)}


def build_train_case(name: str, cid: str) -> Case:
    """One traced training step of a small jag.nn model (value_and_grad of cross_entropy, then an
    optimizer update) from the params and state after TRAIN_WARMUP eager steps; a model case.
    The reference is checked against a float64 eager step (_float64_train_step) within the tolerance."""
    model, opt, batch, doc = TRAIN_MODELS[name]()
    loss_fn, train_step = _train_fns(model, opt, list(batch))
    params = model.init(0)
    state = opt.init(params)
    for k in range(TRAIN_WARMUP):
        warm = {**batch, "key": batch["key"] + k + 1} if "key" in batch else batch
        r = train_step(params, state, *warm.values())       # eager: numpy params and state out
        params, state = r["new_params"], r["new_opt_state"]
    g = jag.trace(train_step, params, state, *batch.values(), name=cid)
    leaves = [a for arg in (params, state, *batch.values()) for a in pytree.flatten(arg)[0]]
    inputs = {vi.name: np.asarray(a) for vi, a in zip(g.inputs, leaves)}
    out = g.run(inputs)
    tol = {k: model_tolerance(g, k, a.dtype.name) for k, a in out.items()}
    want_leaves = pytree.flatten(_float64_train_step(cid, loss_fn, opt, params, state, batch))[0]
    assert len(want_leaves) == len(out), cid                   # graph outputs are the result's leaves, in order
    assert all(k == "loss" or k.startswith(("new_params.", "new_opt_state.")) for k in out), list(out)
    for (k, got), want in zip(out.items(), want_leaves):
        assert within(got, np.asarray(want).astype(got.dtype), tol[k]), \
            f"{cid}: output {k} is not within its tolerance of the float64 step"
    return _finish(Case(
        id=cid, kind="model", op=None, graph=g, inputs=inputs, expected=out, tolerance=tol,
        description=f"one training step traced: loss, grads = jag.value_and_grad(nn.cross_entropy of the model in "
                    f"training mode)(params); params, opt_state = optimizer.update(params, grads, opt_state); "
                    f"outputs new_params.*, new_opt_state.* (the next params.*, opt_state.*) and loss. {doc}; "
                    f"params from model.init(0) after {TRAIN_WARMUP} eager steps. Checked against a float64 eager "
                    f"step whose gradient matches central finite differences. Tolerance: {MODEL_TOLERANCE_FACTOR}x "
                    f"the loosest op class on each output's path (0/0 for the int64 step count)"))


def train_entries() -> list:
    return [Entry(f"train.{name}", lambda name=name: build_train_case(name, f"train.{name}")) for name in TRAIN_MODELS]


# ====================================================================== every case

def error_entries() -> list:
    from . import error_cases
    return error_cases.entries()


def entries() -> list:
    """Every case of the corpus, in a stable order; ids are unique and filesystem-safe."""
    out = op_entries() + sym_entries() + model_entries() + train_entries() + grad_entries() + error_entries()
    ids = [e.id for e in out]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not dup, f"duplicate case ids: {dup[:5]}"
    bad = [i for i in ids if not _ID_OK.match(i)]
    assert not bad, f"ids with characters outside [A-Za-z0-9._-]: {bad[:5]}"
    return out

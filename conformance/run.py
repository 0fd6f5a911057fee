"""The conformance runner: every case of the corpus on every runtime, compared to Python.

    python -m conformance run [-o OPS] [-r RUNTIMES] [-k PATTERN] [--list] [--cases DIR]

Reads the case folders written by ``python -m conformance generate`` (format: FORMAT.md),
runs each on every selected runtime (adapters.py: Python reference, C in-process, JS in
one node process), compares the outputs with the case's ``expected.safetensors`` (exact
for integer and bool outputs, per-output rtol/atol for floats, NaN matching NaN) or checks
the error code of an error case, and prints a matrix (op or case x runtime), then the
line ``N passed, M failed``. The full detail goes to ``conformance/build/report.md``.

Counting: N counts case x runtime results that passed. M counts everything that makes
the run fail (exit status 1): case x runtime results that failed, cases a runtime does not
support, cases on a runtime that is not installed (each one: a missing runtime is never
silently passed; select runtimes with ``-r``), unexpected passes of listed known failures,
problems in ``conformance/expected/<runtime>.txt`` and coverage gaps. Known failures
("xfail", listed in the expected files with a reason) count in neither and are printed on
the line before the last.

When a model (or any non-error) case fails on a runtime, the runner re-runs it with every
intermediate value exposed as a graph output, on the reference and on that runtime, and
reports the first node (in topological order) whose output leaves its op's tolerance, with
a one-node repro case folder written to ``conformance/build/repro/<case id>/<runtime>/``.
"""
from __future__ import annotations

import argparse
import faulthandler
import fnmatch
import json
import math
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import jag
from jag import spec
from jag.graph import Graph, Node, ValueInfo, attr_to_json
from jag.interpret import bind_inputs, run as reference_run
from jag.ops import IMPLS, check_attrs, concrete_attrs
from jag.symbolic import shape_str

from . import adapters as _adapters

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
CASES = BUILD / "cases"
EXPECTED = HERE / "expected"
_ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
#: statuses of one case x runtime result; FAILING ones count in "M failed"
FAILING = ("FAIL", "xpass", "not supported", "not installed")


# ====================================================================== cases

@dataclass
class Case:
    """One case folder (FORMAT.md) and its case.json."""
    id: str
    folder: Path
    kind: str
    op: str | None
    ops: list
    dtypes: list
    tolerance: dict
    description: str = ""
    error: str | None = None  # the code an error case must give

    @property
    def row(self) -> str:
        """The matrix row: the op for op and lowered cases, ``grad.<op>`` for gradient cases,
        ``error.<CODE>`` for error cases, else the case id (model cases, one row each)."""
        if self.kind in ("op", "lowered") and self.op:
            return self.op
        if self.kind == "grad" and self.op:
            return f"grad.{self.op}"
        if self.kind == "error":
            return f"error.{self.error}"
        return self.id


def read_case(folder: Path) -> Case:
    """A Case from a folder holding case.json (and ``error`` for error cases)."""
    meta = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    err = folder / "error"
    code = err.read_text(encoding="utf-8").strip() if err.exists() else None
    kind = meta.get("kind", "model")
    if kind == "error" and code is None:
        raise ValueError(f"{folder}: an error case without an 'error' file")
    return Case(id=meta.get("id") or folder.name, folder=folder, kind=kind, op=meta.get("op"),
                ops=list(meta.get("ops") or []), dtypes=list(meta.get("dtypes") or []),
                tolerance=dict(meta.get("tolerance") or {}), description=meta.get("description", ""), error=code)


def load_cases(root: Path) -> list:
    """Every case under ``root`` (a corpus folder of case folders, any depth, or one case
    folder), sorted by id. Raises FileNotFoundError when there is none."""
    root = Path(root)
    if (root / "case.json").exists():
        folders = [root]
    else:
        folders = sorted(p.parent for p in root.rglob("case.json")) if root.is_dir() else []
    if not folders:
        raise FileNotFoundError(f"no cases under {root}: generate the corpus first (python -m conformance generate)")
    cases = [read_case(f) for f in folders]
    seen = {}
    for c in cases:
        if c.id in seen:
            raise ValueError(f"case id {c.id} is used by {seen[c.id]} and {c.folder}")
        seen[c.id] = c.folder
    return sorted(cases, key=lambda c: c.id)


def select(cases: list, ops=None, patterns=None) -> list:
    """Cases whose "op" is in ``ops`` (when given) and whose id matches one of ``patterns``
    (when given): a pattern with ``* ? [`` is a glob on the whole id, else a substring."""
    def matches(cid, p):
        return fnmatch.fnmatchcase(cid, p) if any(ch in p for ch in "*?[") else p in cid
    out = []
    for c in cases:
        if ops and c.op not in ops:
            continue
        if patterns and not any(matches(c.id, p) for p in patterns):
            continue
        out.append(c)
    return out


# ====================================================================== comparison

@dataclass
class Diff:
    """The comparison of one runtime's outputs with the expected ones."""
    ok: bool
    detail: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0


def compare_array(got, want, rtol: float, atol: float, what: str = "output") -> Diff:
    """Compare one array with the expected one.

    dtype and shape must match exactly. Integer and bool values must be equal. Floats pass
    elementwise when ``|got - want| <= atol + rtol * |want|``, or both are NaN; an expected
    infinity needs the same infinity; with rtol = atol = 0 (bit-exact) a zero must also have the
    expected sign. ``max_abs`` / ``max_rel`` are the largest errors over the elements that
    differ (inf when a NaN or infinity is not matched).
    """
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype:
        return Diff(False, f"{what}: dtype {got.dtype.name}, expected {want.dtype.name}", math.inf, math.inf)
    if got.shape != want.shape:
        return Diff(False, f"{what}: shape {list(got.shape)}, expected {list(want.shape)}", math.inf, math.inf)
    if want.size == 0:
        return Diff(True)
    gf, wf = got.reshape(-1), want.reshape(-1)  # flat (rank 0 included), so results stay arrays
    if want.dtype.kind == "f":
        g, w = gf.astype(np.float64), wf.astype(np.float64)
        with np.errstate(all="ignore"):
            same = (g == w) | (np.isnan(g) & np.isnan(w))
            if rtol == 0 and atol == 0:
                same &= (np.signbit(g) == np.signbit(w)) | np.isnan(w)
            err = np.abs(g - w)
            err[np.isnan(err)] = math.inf
            err[same] = 0.0
            # NaN and ±inf match only themselves; bit-exact (0/0) needs `same`, sign of zero included
            ok = same if rtol == 0 and atol == 0 else same | (np.isfinite(w) & (err <= atol + rtol * np.abs(w)))
            rel = np.where(err == 0, 0.0, err / np.abs(w))
        rel[np.isnan(rel)] = math.inf
        max_abs, max_rel = float(err.max()), float(rel.max())  # (0 for a -0.0 where 0.0 was expected)
        tol = f" (rtol {rtol:g}, atol {atol:g})"
    else:
        ok = gf == wf
        if not ok.all():  # exact differences as Python ints (int64 beyond 2**53 included)
            diffs = [abs(int(a) - int(b)) for a, b in zip(gf[~ok].tolist(), wf[~ok].tolist())]
            wants = [abs(int(b)) for b in wf[~ok].tolist()]
            max_abs = float(max(diffs))
            max_rel = max((d / w if w else math.inf) for d, w in zip(diffs, wants))
        else:
            max_abs = max_rel = 0.0
        tol = " (exact)"
    if ok.all():
        return Diff(True, "", max_abs, max_rel)
    k = int(np.flatnonzero(~ok)[0])
    first = [int(i) for i in np.unravel_index(k, want.shape)]
    return Diff(False, f"{what}: {int((~ok).sum())} of {want.size} elements differ{tol}; first at {first}: "
                       f"got {gf[k]}, expected {wf[k]}; max abs {max_abs:.3g}, max rel {max_rel:.3g}",
                max_abs, max_rel)


def output_tolerance(case: Case, name: str, dtype: str) -> tuple:
    """(rtol, atol) of one output: case.json "tolerance", else the loosest of the case's ops'
    tolerance classes at that dtype ((0, 0) for integer and bool outputs)."""
    t = case.tolerance.get(name)
    if t is not None:
        return float(t.get("rtol", 0)), float(t.get("atol", 0))
    tols = [spec.tolerance(op, dtype) for op in case.ops if op in spec.OPS] or [(0.0, 0.0)]
    return max(r for r, _ in tols), max(a for _, a in tols)


def compare_outputs(case: Case, got: dict, want: dict) -> Diff:
    """Compare a runtime's outputs (name -> array) with the expected ones, output by output."""
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing or extra:
        return Diff(False, f"outputs {sorted(got)}, expected {sorted(want)}", math.inf, math.inf)
    diffs = [compare_array(got[k], w, *output_tolerance(case, k, np.asarray(w).dtype.name), what=f"output '{k}'")
             for k, w in want.items()]
    bad = [d for d in diffs if not d.ok]
    return Diff(not bad, "; ".join(d.detail for d in bad), max((d.max_abs for d in diffs), default=0.0),
                max((d.max_rel for d in diffs), default=0.0))


# ====================================================================== verdicts

@dataclass
class Verdict:
    """One case on one runtime: status "pass", "FAIL", "xfail", "xpass", "not supported" or
    "not installed"; ``detail`` says what went wrong."""
    case: Case
    runtime: str
    status: str
    detail: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    reason: str = ""       # the expected-failure reason, for xfail / xpass
    error: str | None = None  # the error code the runtime gave, if it failed to run
    divergence: "Divergence | None" = None


def judge(case: Case, outcome: _adapters.Outcome, runtime: str) -> Verdict:
    """The verdict of one runtime's outcome on one case (before expected failures apply)."""
    if outcome.unsupported:
        return Verdict(case, runtime, "not supported", outcome.unsupported)
    if case.kind == "error":
        if outcome.error == case.error:
            return Verdict(case, runtime, "pass")
        if outcome.error is None:
            return Verdict(case, runtime, "FAIL", f"ran without error; expected {case.error}")
        return Verdict(case, runtime, "FAIL", f"{outcome.error} ({outcome.message.strip()}); expected {case.error}")
    if outcome.error is not None:
        return Verdict(case, runtime, "FAIL", f"{outcome.error}: {outcome.message.strip()}", error=outcome.error)
    want = jag.load_tensors(case.folder / "expected.safetensors")
    d = compare_outputs(case, outcome.outputs or {}, want)
    return Verdict(case, runtime, "pass" if d.ok else "FAIL", d.detail, d.max_abs, d.max_rel)


def apply_expected(v: Verdict, expected: dict) -> Verdict:
    """Known failures: a listed case that fails is "xfail"; a listed case that passes is
    "xpass" (a failure: the entry is stale)."""
    reason = expected.get(v.case.id)
    if reason is None:
        return v
    if v.status in ("FAIL", "not supported"):
        v.status, v.reason = "xfail", reason
    elif v.status == "pass":
        v.status, v.reason = "xpass", reason
        v.detail = f"unexpected pass: remove it from conformance/expected/{v.runtime}.txt"
    return v


def read_expected(path: Path) -> tuple:
    """Parse an expected-failure file: ``<case id>  # reason`` per line, ``#`` comments.
    Returns ({case id: reason}, [problems]); an entry without a reason is a problem (and
    is not applied)."""
    entries, problems = {}, []
    if not path.exists():
        return entries, problems
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cid, _, reason = text.partition("#")
        cid, reason = cid.strip(), reason.strip()
        where = f"{path.name}:{n}"
        if not _ID_RE.match(cid):
            problems.append(f"{where}: '{cid}' is not a case id")
        elif not reason:
            problems.append(f"{where}: {cid} has no reason (write `{cid}  # why it fails`)")
        elif cid in entries:
            problems.append(f"{where}: {cid} is listed twice")
        else:
            entries[cid] = reason
    return entries, problems


# ====================================================================== coverage

def required_dtypes(op: spec.OpDef) -> set:
    """Every dtype an op allows somewhere: each type variable's dtypes, fixed port dtypes, and
    the dtypes an ``attr:dtype`` output may take (the attr's enum, else every dtype)."""
    need = set()
    for dts in op.types.values():
        need.update(dts)
    for port in op.inputs + op.outputs:
        if port.type.startswith("attr:"):
            a = op.attrs[port.type[5:]]
            need.update(a.enum or spec.DTYPE_NAMES)
        elif port.type not in op.types:
            need.add(port.type)
    return need


def coverage_problems(cases: list) -> list:
    """Ops of spec/ops.json that no case uses, and allowed dtypes that no case of an op
    exercises ("dtypes" of the non-error cases whose "op" it is)."""
    used, seen = set(), {}
    for c in cases:
        used.update(c.ops)
        if c.op:
            used.add(c.op)
            if c.kind != "error":
                seen.setdefault(c.op, set()).update(c.dtypes)
    problems = []
    for name, op in spec.OPS.items():
        if name not in used:
            problems.append(f"coverage: op {name} has no case")
            continue
        missing = sorted(required_dtypes(op) - seen.get(name, set()))
        if missing:
            problems.append(f"coverage: op {name}: dtype{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                            f"never exercised")
    return problems


# ====================================================================== first divergence

@dataclass
class Divergence:
    """Where a failing case first leaves the reference: node index, name, op, attrs, input
    and output types, errors, and the one-node repro folder (None when no node could be
    blamed: ``note`` says why)."""
    node: int | None = None
    name: str | None = None
    op: str | None = None
    attrs: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)  # "float32[2,3]" per node input
    detail: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    repro: Path | None = None
    repro_result: str = ""
    note: str = ""

    def summary(self) -> str:
        if self.node is None:
            return self.note
        attrs = json.dumps(self.attrs, separators=(",", ":")) if self.attrs else "{}"
        name = f" '{self.name}'" if self.name else ""
        text = (f"node {self.node}{name} ({self.op}) attrs {attrs} inputs {', '.join(self.inputs) or '-'}: "
                f"{self.detail}")
        if self.repro is not None:
            text += f"; repro {_rel(self.repro)}" + (f" ({self.repro_result})" if self.repro_result else "")
        return text


@dataclass
class _Probe:
    """A failing case prepared for first divergence: its graph, the reference values of
    every node's inputs and outputs, and the folder of the exposed model."""
    case: Case
    graph: Graph
    env: dict
    ins: list
    outs: list
    folder: Path


def _prepare_probe(case: Case, folder: Path) -> _Probe:
    """Run the reference node by node, and write a copy of the model whose outputs are every
    value a node produces (the original outputs first) with the case's inputs."""
    graph = jag.load(case.folder / "model.json")
    bundle = _adapters.read_inputs(case.folder)
    arrays, env = bind_inputs(graph, [bundle[vi.name] for vi in graph.inputs])
    ins, outs = [], []

    def record(i, node, args, results):
        ins.append(list(args))
        outs.append(list(results))
    reference_run(graph, arrays, on_node=record)
    types = graph.value_types()  # symbolic shapes: the exposed model runs at any binding
    names = [vi.name for vi in graph.outputs]
    exposed = list(graph.outputs) + [ValueInfo(o, *types[o]) for node in graph.nodes for o in node.outputs
                                     if o not in names]
    probe_graph = Graph(inputs=graph.inputs, outputs=exposed, nodes=graph.nodes, tensors=graph.tensors,
                        name=graph.name, dims=graph.dims)
    folder.mkdir(parents=True, exist_ok=True)
    probe_graph.save(folder / "model.json")
    jag.save_tensors(folder / "inputs.safetensors", bundle)
    return _Probe(case, graph, env, ins, outs, folder)


def _type_str(a) -> str:
    return f"{a.dtype.name}{shape_str(a.shape)}"


def _locate(probe: _Probe, outcome: _adapters.Outcome, runtime: str) -> Divergence:
    """The first node (in order) whose output on the runtime leaves its op's tolerance around
    the reference run's value, and still does around the reference kernel applied to the
    runtime's own values of the node's inputs.

    The second test keeps a node from being blamed for a difference it only inherited: a
    matmul within its (accumulate) tolerance but not bit-identical makes the following exact
    reshape differ bit for bit from the reference run, yet the reshape is right.
    """
    if outcome.error is not None:
        return Divergence(note=f"{runtime} failed on the model with every value exposed: {outcome.error} "
                               f"{outcome.message.strip()}")
    got = outcome.outputs or {}
    worst = (0.0, None)
    for i, node in enumerate(probe.graph.nodes):
        attrs = concrete_attrs(check_attrs(spec.OPS[node.op], node.attrs), probe.env)
        local = None  # the reference kernel on the runtime's inputs (computed when needed)
        for k, (name, want) in enumerate(zip(node.outputs, probe.outs[i])):
            want = np.asarray(want)
            rtol, atol = spec.tolerance(node.op, want.dtype.name)
            if name not in got:
                d = Diff(False, f"value '{name}' is missing from {runtime}'s outputs", math.inf, math.inf)
            else:
                d = compare_array(got[name], want, rtol, atol, what=f"value '{name}'")
            if d.ok:
                if d.max_rel > worst[0]:
                    worst = (d.max_rel, i)
                continue
            if name in got:
                if local is None:
                    local = _rerun(IMPLS[node.op], node, probe.ins[i], got, attrs)
                if local is not None and compare_array(got[name], local[k], rtol, atol).ok:
                    worst = max(worst, (d.max_rel, i))
                    continue  # right for the inputs it got: the difference comes from upstream
            return Divergence(node=i, name=node.name, op=node.op,
                              attrs={key: attr_to_json(attrs[key]) for key, v in node.attrs.items() if v is not None},
                              inputs=[_type_str(np.asarray(a)) for a in probe.ins[i]], detail=d.detail,
                              max_abs=d.max_abs, max_rel=d.max_rel)
    where = f" (largest relative error {worst[0]:.3g} at node {worst[1]}, {probe.graph.nodes[worst[1]].op})" \
        if worst[1] is not None else ""
    return Divergence(note="no node leaves its op's tolerance by itself: the error accumulates across nodes" + where)


def _rerun(kernel, node, ref_inputs: list, got: dict, attrs: dict):
    """The reference kernel of ``node`` on the runtime's values of its inputs (graph inputs and
    constants are the reference's); None when it cannot run on them."""
    args = [np.asarray(got.get(n, r)) for n, r in zip(node.inputs, ref_inputs)]
    try:
        with np.errstate(all="ignore"):
            res = kernel(*args, **attrs)
    except Exception:  # noqa: BLE001 — e.g. an input of the wrong shape: the node is blamed
        return None
    return [np.asarray(r) for r in (res if isinstance(res, tuple) else (res,))]


def write_repro(probe: _Probe, div: Divergence, folder: Path, runtime: str) -> Path:
    """A one-node case folder (FORMAT.md layout) for the diverging node: its inputs are the
    reference values of the node's inputs, its expected outputs the reference's result."""
    node = probe.graph.nodes[div.node]
    values = {}
    for name, arr in zip(node.inputs, probe.ins[div.node]):
        values.setdefault(name, np.asarray(arr))
    inputs = [ValueInfo(n, a.dtype.name, tuple(a.shape)) for n, a in values.items()]
    outputs = [ValueInfo(n, np.asarray(a).dtype.name, tuple(np.asarray(a).shape))
               for n, a in zip(node.outputs, probe.outs[div.node])]
    g = Graph(inputs=inputs, outputs=outputs, nodes=[Node(node.op, list(node.inputs), list(node.outputs),
                                                          dict(div.attrs), name=node.name)],
              name=f"repro {probe.case.id} node {div.node}")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    g.save(folder / "model.json")
    jag.save_tensors(folder / "inputs.safetensors", values)
    ref = jag.load(folder / "model.json").run(values)
    jag.save_tensors(folder / "expected.safetensors", ref)
    dtypes = sorted({vi.dtype for vi in inputs + outputs})
    meta = {
        "id": f"repro.{probe.case.id}.{runtime}", "kind": "op", "op": node.op, "ops": [node.op], "dtypes": dtypes,
        "tolerance": {vi.name: dict(zip(("rtol", "atol"), spec.tolerance(node.op, vi.dtype))) for vi in outputs},
        "description": f"node {div.node} ({node.op}) of {probe.case.id}, where {runtime} first leaves the reference",
    }
    (folder / "case.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def first_divergences(verdicts: list, adapter: _adapters.Adapter, repro_root: Path) -> None:
    """Set ``.divergence`` on each verdict (failing non-error cases of one runtime): run the
    exposed models on the runtime in one batch, locate the first diverging node, write its
    repro case and run the repros on the runtime (second batch) to say whether they fail too."""
    work = Path(tempfile.mkdtemp(prefix="jag-conformance-probe-"))
    try:
        probes = []
        for k, v in enumerate(verdicts):
            try:
                probes.append((v, _prepare_probe(v.case, work / str(k))))
            except Exception as e:  # noqa: BLE001 — the reference itself fails: nothing to compare with
                v.divergence = Divergence(note=f"cannot expose the intermediate values: {type(e).__name__}: {e}")
        outcomes = adapter.run([p.folder for _, p in probes]) if probes else []
        repros = []
        for (v, probe), outcome in zip(probes, outcomes):
            div = _locate(probe, outcome, adapter.name)
            v.divergence = div
            if div.node is not None:
                try:
                    div.repro = write_repro(probe, div, repro_root / v.case.id / adapter.name, adapter.name)
                    repros.append(div)
                except Exception as e:  # noqa: BLE001
                    div.note = f"cannot write the repro case: {type(e).__name__}: {e}"
        for div, outcome in zip(repros, adapter.run([d.repro for d in repros]) if repros else []):
            r = judge(read_case(div.repro), outcome, adapter.name)
            div.repro_result = (f"fails on {adapter.name} too" if r.status != "pass"
                                else f"passes on {adapter.name} with the reference's inputs: the node goes wrong "
                                     f"only on the values {adapter.name} computed upstream")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ====================================================================== matrix and report

def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.1e}"


def cell(verdicts: list) -> str:
    """A matrix cell aggregating one row's cases on one runtime, e.g. ``pass 124/124`` or
    ``FAIL 3/124 (max abs 1.0e-03, rel 2.0e-02)``."""
    n = len(verdicts)
    if n == 0:
        return "-"   # the runtime takes no part in these cases (Adapter.applies)
    count = {s: sum(v.status == s for v in verdicts) for s in ("pass", "FAIL", "xfail", "xpass", "not supported",
                                                                  "not installed")}
    if count["not installed"] == n:
        return "not installed"
    parts = []
    if count["FAIL"]:
        bad = [v for v in verdicts if v.status == "FAIL"]
        errs = [v for v in bad if v.max_abs or v.max_rel]
        size = (f" (max abs {_fmt(max(v.max_abs for v in errs))}, rel {_fmt(max(v.max_rel for v in errs))})"
                if errs else "")
        parts.append(f"FAIL {count['FAIL']}/{n}{size}")
    else:
        parts.append(f"pass {count['pass']}/{n}")
    for s in ("xfail", "xpass", "not supported", "not installed"):
        if count[s]:
            parts.append(f"{count[s]} {'unexpected pass' if s == 'xpass' else s}")
    return ", ".join(parts)


def matrix_rows(verdicts: list, runtimes: list) -> list:
    """[(row name, {runtime: [verdicts]})]: op rows in spec/ops.json order, then the others by name."""
    rows: dict = {}
    for v in verdicts:
        rows.setdefault(v.case.row, {rt: [] for rt in runtimes})[v.runtime].append(v)
    order = {name: i for i, name in enumerate(spec.OPS)}
    return sorted(rows.items(), key=lambda kv: (kv[0] not in order, order.get(kv[0], 0), kv[0]))


def format_matrix(rows: list, runtimes: list) -> str:
    """The matrix as aligned plain text."""
    table = [["case"] + runtimes] + [[name] + [cell(cells[rt]) for rt in runtimes] for name, cells in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(HERE.parent))
    except ValueError:
        return str(p)


def write_report(path: Path, *, argv: list, runtimes: dict, missing: dict, rows: list, verdicts: list,
                 problems: list, passed: int, failed: int, seconds: float) -> None:
    """The markdown report: runtimes (name -> Adapter), matrix, every failure in full, known
    failures, problems."""
    command = " ".join(["python -m conformance run"] + argv)
    md = ["# JAG conformance report", "", f"`{command}` ({seconds:.1f} s)", "",
          f"**{passed} passed, {failed} failed**", "", "## Runtimes", ""]
    for rt in runtimes:
        md.append(f"- `{rt}`: " + (f"**not installed**: {missing[rt]}" if rt in missing else runtimes[rt].how))
    md += ["", "## Matrix", "", "| case | " + " | ".join(runtimes) + " |", "|---" * (len(runtimes) + 1) + "|"]
    for name, cells in rows:
        md.append(f"| `{name}` | " + " | ".join(cell(cells[rt]) for rt in runtimes) + " |")
    if problems:
        md += ["", "## Problems", ""] + [f"- {p}" for p in problems]
    bad = [v for v in verdicts if v.status in ("FAIL", "xpass", "not supported")]
    md += ["", f"## Failures ({len(bad)})", ""]
    for v in bad:
        about = f": {v.case.description}" if v.case.description else ""
        md += [f"### `{v.case.id}` on `{v.runtime}`: {v.status}", "",
               f"- case: {v.case.kind}, {_rel(v.case.folder)}{about}", f"- {v.detail}"]
        if v.divergence is not None:
            md.append(f"- first divergence: {v.divergence.summary()}")
        md.append("")
    xfails = [v for v in verdicts if v.status == "xfail"]
    if xfails:
        md += [f"## Known failures ({len(xfails)}, conformance/expected/)", ""]
        md += [f"- `{v.case.id}` on `{v.runtime}`: {v.reason} — now: {v.detail}" for v in xfails]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(md) + "\n", encoding="utf-8")


# ====================================================================== main

def run_cases(cases: list, runtimes: list, registry: dict, missing: dict, expected: dict) -> list:
    """Every case on every runtime: a list of Verdicts, runtime by runtime, cases in order.
    Every batch is started first, so that an out-of-process runtime (JS) works while the
    in-process ones run; a missing runtime gives "not installed" verdicts."""
    mine = {rt: [c for c in cases if registry[rt].applies(c)] for rt in runtimes}
    batches = {rt: registry[rt].start([c.folder for c in mine[rt]]) for rt in runtimes if rt not in missing}
    verdicts = []
    for rt in runtimes:
        if rt in missing:
            verdicts += [Verdict(c, rt, "not installed", missing[rt]) for c in mine[rt]]
            continue
        for case, outcome in zip(mine[rt], batches[rt].outcomes()):
            verdicts.append(apply_expected(judge(case, outcome, rt), expected.get(rt, {})))
    return verdicts


def _priority(v: Verdict) -> tuple:
    """Failures in the order they are shown and probed: models first, then lowered, then op cases."""
    return {"model": 0, "lowered": 1}.get(v.case.kind, 2), v.case.id, v.runtime


def _split(values) -> list:
    return [x for v in values or [] for x in v.split(",") if x]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m conformance run", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--ops", action="append", metavar="OPS", help="only cases whose op is in this comma list")
    p.add_argument("-r", "--runtimes", action="append", metavar="RUNTIMES",
                   help=f"comma list of runtimes (default: {','.join(_adapters.DEFAULT_RUNTIMES)}; "
                        f"all: {','.join(_adapters.ADAPTERS)})")
    p.add_argument("-k", dest="patterns", action="append", metavar="PATTERN",
                   help="only case ids containing PATTERN (a glob when it has * ? [); repeatable")
    p.add_argument("--list", action="store_true", help="print the selected case ids and exit")
    p.add_argument("--cases", type=Path, help=f"the corpus folder, or one case folder (default {_rel(CASES)}); "
                                              "the coverage check runs only on the default corpus")
    p.add_argument("--build", type=Path, default=BUILD, help=f"where report.md and repro/ go (default {_rel(BUILD)})")
    p.add_argument("--expected", type=Path, default=EXPECTED, help="the folder of <runtime>.txt known-failure files")
    p.add_argument("--max-divergence", type=int, default=20, metavar="N",
                   help="locate the first divergence for at most N failing cases per runtime (default 20)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every failing case (default: the first 40)")
    return p.parse_args(argv)


def main(argv=None, *, adapters: dict | None = None, out=None) -> int:
    """Run the conformance suite; returns the exit status (0 all passed, 1 failures, 2 usage).

    ``adapters`` (name -> Adapter) replaces the runtimes (tests); ``out`` is where the
    matrix goes (default stdout)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    out = out or sys.stdout
    if not faulthandler.is_enabled():  # a crash inside an in-process runtime (C) still says where
        faulthandler.enable()
    registry = adapters if adapters is not None else _adapters.ADAPTERS

    def say(*lines):
        for line in lines:
            print(line, file=out)
        out.flush()

    ops = _split(args.ops)
    unknown = [o for o in ops if o not in spec.OPS]
    runtimes = list(dict.fromkeys(_split(args.runtimes))) or [
        rt for rt in registry if adapters is not None or rt in _adapters.DEFAULT_RUNTIMES]
    unknown_rt = [r for r in runtimes if r not in registry]
    if unknown or unknown_rt:
        say(f"error: unknown {'op' if unknown else 'runtime'} {', '.join(unknown or unknown_rt)} "
            f"(known: {', '.join(spec.OPS if unknown else registry)})")
        return 2
    try:
        corpus = load_cases(args.cases or CASES)
    except (FileNotFoundError, ValueError) as e:
        say(f"error: {e}")
        return 2
    cases = select(corpus, ops, args.patterns)
    if args.list:
        say(*(c.id for c in cases))
        return 0
    if not cases:
        say("error: no case matches the filters (see --list)")
        return 2
    filtered = bool(ops or args.patterns)
    started = time.monotonic()

    problems = []
    if not filtered and args.cases is None:
        problems += coverage_problems(corpus)
    expected = {}
    ids = {c.id for c in corpus}
    for rt in runtimes:
        entries, bad = read_expected(args.expected / f"{rt}.txt")
        problems += bad
        if not filtered:
            problems += [f"{rt}.txt: {cid} names no case (remove it)" for cid in entries if cid not in ids]
        expected[rt] = entries

    missing = {rt: m for rt in runtimes if (m := registry[rt].missing())}
    verdicts = run_cases(cases, runtimes, registry, missing, expected)
    repro_root = args.build / "repro"
    if repro_root.exists():
        shutil.rmtree(repro_root)
    for rt in runtimes:
        failing = sorted((v for v in verdicts if v.runtime == rt and v.status == "FAIL" and v.case.kind != "error"
                          and v.error is None), key=_priority)
        if failing and args.max_divergence > 0:
            first_divergences(failing[:args.max_divergence], registry[rt], repro_root)

    rows = matrix_rows(verdicts, runtimes)
    passed = sum(v.status == "pass" for v in verdicts)
    failed = sum(v.status in FAILING for v in verdicts) + len(problems)
    xfailed = sum(v.status == "xfail" for v in verdicts)
    seconds = time.monotonic() - started

    say(format_matrix(rows, runtimes), "")
    for rt, why in missing.items():
        say(f"NOT INSTALLED: {rt}: {why} — its {len(cases)} cases count as failed (choose runtimes with -r)")
    bad = sorted((v for v in verdicts if v.status in ("FAIL", "xpass", "not supported")), key=_priority)
    shown = bad if args.verbose else bad[:40]
    for v in shown:
        say(f"{v.status}: {v.case.id} on {v.runtime}: {_clip(v.detail)}")
        if v.divergence is not None:
            say(f"    first divergence: {_clip(v.divergence.summary(), 400)}")
    if len(shown) < len(bad):
        say(f"... and {len(bad) - len(shown)} more failures (-v, or the report)")
    for p in problems:
        say(f"PROBLEM: {p}")
    report = args.build / "report.md"
    write_report(report, argv=argv, runtimes={rt: registry[rt] for rt in runtimes}, missing=missing, rows=rows,
                 verdicts=verdicts, problems=problems, passed=passed, failed=failed, seconds=seconds)
    say(f"report: {_rel(report)} ({len(cases)} cases x {len(runtimes)} runtimes in {seconds:.1f} s)")
    if xfailed:
        say(f"{xfailed} known failures (xfail, listed in conformance/expected/)")
    say(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _clip(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."

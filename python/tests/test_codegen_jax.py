"""jag.codegen.jax: the generated JAX source computes what the graph computes.

- every op of spec/ops.json has a template in ``jag.codegen.jax.TEMPLATES`` or a reason in
  ``UNSUPPORTED``;
- every case of test_ops.CASES (a one-node graph per case) is generated, exec'd and run:
  its output must match the case's expected value within ``jag.spec.tolerance(op, dtype)``
  (exact for integers and bool) AND the numpy reference as the conformance runner compares
  (``conformance.run.compare_array``: bit-exact for exact-class ops, sign of zero included).
  To stay fast, the cases of one op run as ONE ``jax.jit`` of all their generated functions
  (one XLA compilation per op instead of one per case and primitive); a failing batch is
  re-run case by case to name the culprits. The symbolic-dim cases (test_ops.SYMBOLIC) run the
  same way at two bindings;
- the MLP, CNN, transformer-block and random models of conformance/cases.py, saved to a
  model.json with a sidecar, run through ``load_params`` + ``build`` (eagerly, as the
  conformance adapter does, and under ``jax.jit``) and match the reference within the
  conformance model tolerance;
- ``jax.grad`` of the generated function matches ``jag.value_and_grad`` on the same loss for
  the MLP, CNN and transformer block, and the JAX code generated from JAG's traced gradient
  graph gives the same gradients;
- numpy's exact details (signed zeros, max/min ties and NaN) and the spec's random known answer,
  eagerly.
XLA's compiled programs are kept in pytest's cache folder: a cold run spends most of its time
compiling (~45 s on 2 busy cores), a warm run takes ~15 s.

Known gap, visible as a skip: XLA on CPU runs with denormals-are-zero / flush-to-zero
(jax-ml/jax#16200, "working as intended"). A case that fails as is passes when a subnormal
result comes back as zero, or (subnormal inputs) when the inputs are flushed to signed zeros
and compared with the reference on those inputs; test_subnormals_are_flushed lists them
(the same cases fail in the conformance runner: conformance/expected/jax.txt is their place there).
"""
from __future__ import annotations

import collections
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import jag  # noqa: E402
import test_ops  # noqa: E402
from conformance import cases as conf  # noqa: E402
from conformance.run import compare_array  # noqa: E402
from jag import spec  # noqa: E402
from jag.codegen import generate  # noqa: E402
from jag.codegen import jax as target  # noqa: E402

OPS = list(spec.OPS)


def load_module(source: str, name: str) -> dict:
    """exec the generated source as a module namespace."""
    ns: dict = {"__name__": f"jag_generated_{name}"}
    exec(compile(source, f"<jax code of {name}>", "exec"), ns)  # noqa: S102 — our own output
    return ns


@pytest.fixture(scope="module", autouse=True)
def persistent_xla_cache(request):
    """Most of this module's time is XLA compiling ~2000 small programs: keep the executables in
    pytest's cache folder (.pytest_cache), so that a re-run takes seconds. JAX's cache is keyed by
    the program, the compile options and the jax/jaxlib versions. No cache with -p no:cacheprovider."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        return
    try:
        jax.config.update("jax_compilation_cache_dir", str(cache.mkdir("jag-codegen-jax-xla")))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    except Exception:  # noqa: BLE001 — an older jax without these options: just slower
        pass


# ====================================================================== the table

def test_every_op_has_a_template_or_a_reason():
    missing = [op for op in OPS if op not in target.TEMPLATES and op not in target.UNSUPPORTED]
    assert not missing, f"jax target lacks a template for {missing}"
    assert not set(target.TEMPLATES) & set(target.UNSUPPORTED)
    assert set(target.TEMPLATES) | set(target.UNSUPPORTED) <= set(OPS), "templates for ops not in spec/ops.json"
    for op, reason in target.UNSUPPORTED.items():
        assert isinstance(reason, str) and reason.strip(), f"UNSUPPORTED[{op!r}] needs a reason"


def test_import_jag_codegen_jax_does_not_import_jax():
    code = "import sys, jag, jag.codegen.jax; jag.Graph.to_jax; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ====================================================================== op cases, batched under jit

def subnormal(a) -> np.ndarray:
    a = np.asarray(a)
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny) if a.dtype.kind == "f" else np.zeros(a.shape, bool)


def flush_subnormals(a):
    """a with its float subnormals replaced by signed zeros."""
    a = np.asarray(a)
    sub = subnormal(a)
    return np.where(sub, np.copysign(np.zeros_like(a), a), a).astype(a.dtype) if sub.any() else a


class Run:
    """One generated function with its arguments and how to check its outputs: against the
    case's expected value (test_ops.check) and the numpy reference (the runner's compare_array)."""
    any_zero = False

    def __init__(self, rid, op, graph, args, expected=None, fn=None):
        self.id, self.op, self.graph = rid, op, graph
        self.args, self.expected = [np.asarray(a) for a in args], expected
        self.reference = graph.run({vi.name: a for vi, a in zip(graph.inputs, self.args)})
        self.fn = fn or load_module(generate(graph, "jax"), rid)["build"](dict(graph.tensors))

    def flushed(self) -> "Run | None":
        """The same run with subnormal inputs flushed to signed zeros (None if it has none)."""
        if not any(subnormal(a).any() for a in self.args):
            return None
        run = Run(self.id + " (subnormal inputs flushed)", self.op, self.graph,
                  [flush_subnormals(a) for a in self.args], None, self.fn)
        run.any_zero = True   # a flushed -1e-310 may now tie with 0.0 in max/min: either zero will do
        return run

    def check(self, outs, ftz=False) -> str | None:
        """None when every output matches, else what differs. ``ftz`` accepts XLA:CPU's
        flush-to-zero: a zero where the reference is a subnormal."""
        if not isinstance(outs, tuple) or len(outs) != len(self.graph.outputs):
            return f"{self.id}: expected a tuple of {len(self.graph.outputs)} outputs, got {type(outs).__name__}"
        for k, (vi, out) in enumerate(zip(self.graph.outputs, outs)):
            want, got = self.reference[vi.name], np.asarray(out)
            if ftz and got.dtype == want.dtype and got.shape == want.shape and want.dtype.kind == "f":
                got = np.where((got == 0) & (subnormal(want) | ((want == 0) & self.any_zero)), want, got)
            if self.expected is not None and k == 0:
                try:
                    test_ops.check(got, self.expected, self.op, self.id)
                except AssertionError as e:
                    return f"{self.id}: against test_ops' expected value: {str(e).strip()[:600]}"
            rtol, atol = spec.tolerance(self.op, want.dtype.name) if want.dtype.kind == "f" else (0.0, 0.0)
            diff = compare_array(got, want, rtol, atol, what=f"{self.id} output {vi.name}")
            if not diff.ok:
                return diff.detail
        return None


def compile_batch(runs):
    """ONE jax.jit of every run's function (lowered here; compile() is called by the caller)."""
    def all_of(args):
        return [r.fn(*a) for r, a in zip(runs, args)]
    args = jax.device_put([r.args for r in runs])
    return jax.jit(all_of).lower(args), args


def outcomes(runs, compiled=None):
    """[(run, outputs tuple or an error message)], from one compiled batch; a batch that fails
    to trace, compile or run is retried run by run to name the culprit."""
    try:
        if compiled is None:
            lowered, args = compile_batch(runs)
            compiled = (lowered.compile(), args)
        exe, args = compiled
        return list(zip(runs, (tuple(o) for o in exe(args))))
    except Exception as e:  # noqa: BLE001
        if len(runs) == 1:
            return [(runs[0], f"{runs[0].id}: {type(e).__name__}: {str(e)[:600]}")]
        return [pair for r in runs for pair in outcomes([r])]


CASES_BY_OP = collections.defaultdict(list)
for _c in test_ops.CASES:
    CASES_BY_OP[_c.op].append(_c)


def symbolic_runs():
    """test_ops.SYMBOLIC (a symbolic batch dim 'N'): the generated dim bindings at N = 2 and 5."""
    runs = []
    for k, (op, attrs, make, dims, _ref) in enumerate(test_ops.SYMBOLIC):
        g = test_ops.traced(op, make(3), attrs, symbolic={f"xs{i}": d for i, d in enumerate(dims) if d is not None})
        fn = load_module(generate(g, "jax"), f"sym{k}")["build"]({})
        runs += [Run(f"sym.{op}-{k}.N{n}", op, g, make(n), fn=fn) for n in (2, 5)]
    return runs


@pytest.fixture(scope="module")
def op_results():
    """{group: [failure messages]} for every op's cases (and 'symbolic'), plus {case id: op} of
    the cases that pass only under XLA:CPU's flush-to-zero. Each group is one jax.jit; the
    XLA compilations (most of the time) run on a thread pool."""
    groups = {op: [Run(c.id, c.op, test_ops.traced(c.op, c.inputs, c.attrs), c.inputs, c.expected)
                   for c in CASES_BY_OP[op]] for op in OPS if op not in target.UNSUPPORTED}
    groups["symbolic"] = symbolic_runs()
    lowered = {}
    for name, runs in groups.items():
        try:
            lowered[name] = compile_batch(runs)
        except Exception:  # noqa: BLE001 — outcomes() retries run by run
            pass
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        exes = dict(zip(lowered, pool.map(lambda lw: lw[0].compile(), lowered.values())))
    failures, ftz, retry = collections.defaultdict(list), {}, []
    for name, runs in groups.items():
        for run, out in outcomes(runs, (exes[name], lowered[name][1]) if name in exes else None):
            if isinstance(out, str):
                failures[name].append(out)
            elif (msg := run.check(out)) is not None:
                if run.check(out, ftz=True) is None:
                    ftz[run.id] = name                       # a subnormal result flushed to zero
                elif (flushed := run.flushed()) is not None:
                    retry.append((name, msg, flushed))      # subnormal inputs: retried flushed
                else:
                    failures[name].append(msg)
    for (name, msg, flushed), (_, out) in zip(retry, outcomes([f for _, _, f in retry]) if retry else []):
        if not isinstance(out, str) and flushed.check(out, ftz=True) is None:
            ftz[flushed.id] = name
        else:
            failures[name].append(msg + ("" if isinstance(out, str) else f"; flushed: {flushed.check(out, ftz=True)}"))
    return {name: failures[name] for name in groups}, ftz, {name: len(runs) for name, runs in groups.items()}


@pytest.mark.parametrize("op", [op for op in OPS if op not in target.UNSUPPORTED] + ["symbolic"])
def test_op_cases(op, op_results):
    results, _, counts = op_results
    failures = results[op]
    assert not failures, f"{len(failures)} of {counts[op]} {op} cases fail:\n" + "\n".join(failures)


def test_subnormals_are_flushed(op_results):
    """The known XLA:CPU gap (DAZ/FTZ, jax-ml/jax#16200): the cases that pass only with subnormal
    inputs flushed to signed zeros or subnormal results accepted as zeros, as a visible skip."""
    _, ftz, counts = op_results
    if not ftz:
        return
    by_op = collections.Counter(ftz.values())
    pytest.skip(f"{len(ftz)} of {sum(counts.values())} op cases compared with subnormals flushed to zero, as XLA:CPU "
                f"computes (denormals-are-zero, jax-ml/jax#16200): "
                + ", ".join(f"{op} {k}" for op, k in sorted(by_op.items())) + "; e.g. " + ", ".join(sorted(ftz)[:3]))


# ====================================================================== numpy's exact details, eagerly

def eager(op, *inputs, **attrs):
    """The op's one-node graph as generated JAX code, run eagerly (as the conformance adapter does)."""
    g = test_ops.traced(op, list(inputs), attrs)
    fn = load_module(generate(g, "jax"), op)["build"](dict(g.tensors))
    return np.asarray(fn(*[jnp.asarray(x) for x in inputs])[0]), g.run(
        {vi.name: x for vi, x in zip(g.inputs, inputs)})[g.outputs[0].name]


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_signed_zeros_ties_and_nan_follow_numpy(dt):
    """JAX's max/min order -0.0 below 0.0 and jnp.sign(-0.0) is -0.0; numpy (the reference) returns
    the second operand on ties and sign(-0.0) = 0.0: the templates follow numpy, bit for bit."""
    a = np.array([-0.0, 0.0, 0.0, -0.0, np.nan, 1.0, np.nan, 2.0], dt)
    b = np.array([0.0, -0.0, 0.0, -0.0, 1.0, np.nan, np.nan, 1.0], dt)
    for op, xs in [("maximum", (a, b)), ("minimum", (a, b)), ("maximum", (b, a)), ("minimum", (b, a)),
                   ("sign", (a,)), ("neg", (a,)), ("abs", (a,)), ("sqrt", (a,)), ("relu", (a,))]:
        got, want = eager(op, *xs)
        assert compare_array(got, want, 0.0, 0.0, what=op).ok, f"{op}{xs}: got {got}, numpy {want}"


def test_random_uniform_known_answer():
    """spec/README.md §11: key 0 gives [0.41845711171638655, 0.3146817192326744] in float64."""
    got, want = eager("random_uniform", np.array(0, np.int64), shape=[2], dtype="float64")
    assert got.tolist() == want.tolist() == [0.41845711171638655, 0.3146817192326744]
    got, want = eager("dropout", np.arange(1, 9, dtype=np.float32), np.array(-5, np.int64), p=0.5)
    assert np.array_equal(got, want)


# ====================================================================== models

MODELS = ("mlp", "cnn", "transformer", "random")


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Each float32 model of conformance/cases.py saved as model.json (+ sidecar): (graph, path, args)."""
    out = {}
    for name in MODELS:
        fn, args, _ = conf.MODELS[name]("float32")
        g = jag.trace(fn, *args, name=f"model_{name}")
        path = tmp_path_factory.mktemp(name) / "model.json"
        g.save(path)
        out[name] = (g, path, args)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_models(name, saved_models):
    g, path, args = saved_models[name]
    ns = load_module(jag.load(path).to_jax(), name)
    assert ns["INPUTS"] == [vi.name for vi in g.inputs] and ns["OUTPUTS"] == [vi.name for vi in g.outputs]
    params = ns["load_params"](str(path))
    assert set(params) == set(g.tensors)
    for k, a in g.tensors.items():
        assert params[k].dtype == a.dtype and np.array_equal(params[k], a)
    fn = ns["build"](params)
    want = g.run(dict(zip(ns["INPUTS"], args)))
    xs = jax.device_put(args)
    for how, outs in (("eager", fn(*xs)), ("jit", jax.jit(fn)(*xs))):
        assert isinstance(outs, tuple) and len(outs) == len(ns["OUTPUTS"])
        for k, out in zip(ns["OUTPUTS"], outs):
            tol = conf.model_tolerance(g, k, want[k].dtype.name)
            diff = compare_array(np.asarray(out), want[k], tol["rtol"], tol["atol"], what=f"{name} {how} {k}")
            assert diff.ok, diff.detail


# ====================================================================== jax.grad vs jag.value_and_grad

def run_graph_on_tensors(g, params, inputs):
    """The graph's outputs evaluated with jag ops on Tensors (so jag.grad differentiates them)."""
    env = {**params, **{vi.name: x for vi, x in zip(g.inputs, inputs)}}
    for n in g.nodes:
        env[n.outputs[0]] = jag.apply(n.op, *[env[i] for i in n.inputs], **n.attrs)
    return [env[vi.name] for vi in g.outputs]


GRAD_TOL = {"float32": (1e-3, 1e-5), "float64": (1e-9, 1e-12)}


@pytest.mark.parametrize("name,dt", [("mlp", "float32"), ("cnn", "float32"), ("transformer", "float32"),
                                     ("transformer", "float64")])   # float64: a tight check of the composites' rules
def test_jax_grad_matches_jag_gradient_graph(name, dt):
    fn, args, _ = conf.MODELS[name](dt)
    g = jag.trace(fn, *args)
    rng = np.random.default_rng(7)
    cts = [rng.standard_normal(tuple(vi.shape)).astype(vi.dtype) for vi in g.outputs]
    weights = {k: a for k, a in g.tensors.items() if a.dtype.kind == "f" and a.ndim > 0}
    fixed = {k: a for k, a in g.tensors.items() if k not in weights}

    def jag_loss(w, *xs):
        outs = run_graph_on_tensors(g, {**fixed, **w}, xs)
        total = None
        for o, ct in zip(outs, cts):
            term = jag.sum(o * ct)
            total = term if total is None else total + term
        return total

    value, grads = jag.value_and_grad(jag_loss)(weights, *args)
    want = {k: grads[k].numpy() for k in weights}

    ns = load_module(g.to_jax(), name)

    def jax_loss(w, *xs):
        outs = ns["f"]({**{k: jnp.asarray(a) for k, a in fixed.items()}, **w}, *xs)
        return sum(jnp.sum(o * ct) for o, ct in zip(outs, cts))

    jvalue, jgrads = jax.jit(jax.value_and_grad(jax_loss))(jax.device_put(weights), *jax.device_put(args))
    rtol, atol = GRAD_TOL[dt]
    np.testing.assert_allclose(np.asarray(jvalue), value.numpy(), rtol=rtol, atol=atol * 100)
    for k in weights:
        np.testing.assert_allclose(np.asarray(jgrads[k]), want[k], rtol=rtol, atol=atol, err_msg=f"d loss / d {k}")

    # the gradient graph itself (jag.trace of jag.value_and_grad) as JAX code gives the same
    gg = jag.trace(jag.value_and_grad(jag_loss), weights, *args)
    gns = load_module(gg.to_jax(), f"{name}_grad")
    flat = jag.pytree.flatten((weights, *args))[0]          # the graph's inputs, in order
    outs = jax.jit(gns["build"](dict(gg.tensors)))(*jax.device_put(flat))
    got = dict(zip(gns["OUTPUTS"], outs))
    ref = gg.run(dict(zip(gns["INPUTS"], flat)))
    for k, w in ref.items():
        np.testing.assert_allclose(np.asarray(got[k]), w, rtol=rtol, atol=atol, err_msg=f"gradient graph output {k}")

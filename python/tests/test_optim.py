"""jag.optim: update rules against a numpy re-implementation of torch.optim's formulas (and
torch.optim itself when installed; skipped visibly otherwise); a whole training step traced
into one graph that saves, loads and runs the same loop in Python and on the C runtime; a
small model whose loss goes down."""
import math

import numpy as np
import pytest

import jag
from jag import nn, optim
from jag.errors import AttrError, InputError

rng = np.random.default_rng(0)


def make_params(dtype=np.float32):
    return {"layer": {"w": rng.standard_normal((3, 4)).astype(dtype), "b": rng.standard_normal(4).astype(dtype)},
            "scale": np.asarray(rng.standard_normal(), dtype=dtype)}


def leaves(tree):
    return jag.pytree.flatten(tree)[0]


def tree_map(f, *trees):
    ls, _, td = jag.pytree.flatten(trees[0])
    return jag.pytree.unflatten(td, [f(*xs) for xs in zip(ls, *(leaves(t) for t in trees[1:]))])


# ====================================================================== numpy references of torch.optim

class SGDRef:
    """torch.optim.SGD's _single_tensor_sgd (dampening=0) in numpy, in the parameter's dtype."""

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.lr, self.mu, self.nesterov, self.wd = lr, momentum, nesterov, weight_decay
        self.buf = None

    def step(self, p, g):
        f = p.dtype.type
        if self.wd:
            g = g + f(self.wd) * p
        if self.mu:
            self.buf = g.copy() if self.buf is None else self.buf * f(self.mu) + g
            g = g + f(self.mu) * self.buf if self.nesterov else self.buf
        return p + f(-self.lr) * g


class AdamRef:
    """torch.optim.Adam / AdamW's _single_tensor_adam(w) in numpy: lerp, addcmul, Python-float bias corrections."""

    def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
        self.lr, self.b1, self.b2, self.eps, self.wd, self.decoupled = lr, b1, b2, eps, weight_decay, decoupled
        self.m = self.v = None
        self.t = 0

    def step(self, p, g):
        f = p.dtype.type
        if self.m is None:
            self.m, self.v = np.zeros_like(p), np.zeros_like(p)
        self.t += 1
        if self.wd:
            if self.decoupled:
                p = p * f(1 - self.lr * self.wd)
            else:
                g = g + f(self.wd) * p
        w = f(1 - self.b1)
        self.m = self.m + w * (g - self.m)
        self.v = self.v * f(self.b2) + f(1 - self.b2) * g * g
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        step_size = self.lr / bc1
        denom = np.sqrt(self.v) / f(math.sqrt(bc2)) + f(self.eps)
        return p + (f(-step_size) * self.m) / denom


CONFIGS = [
    ("sgd", dict(lr=0.1), lambda: SGDRef(0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9), lambda: SGDRef(0.05, 0.9)),
    ("sgd", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01), lambda: SGDRef(0.05, 0.8, True, 0.01)),
    ("sgd", dict(lr=0.1, weight_decay=0.1), lambda: SGDRef(0.1, weight_decay=0.1)),
    ("adam", dict(lr=0.01), lambda: AdamRef(0.01)),
    ("adam", dict(lr=0.003, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.05),
     lambda: AdamRef(0.003, 0.8, 0.99, 1e-6, 0.05)),
    ("adamw", dict(lr=0.01), lambda: AdamRef(0.01, weight_decay=0.01, decoupled=True)),
    ("adamw", dict(lr=0.02, b1=0.85, weight_decay=0.1), lambda: AdamRef(0.02, 0.85, weight_decay=0.1, decoupled=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw, _ in CONFIGS]


def random_grads(params, k):
    r = np.random.default_rng(100 + k)
    return tree_map(lambda p: r.standard_normal(np.shape(p)).astype(p.dtype), params)


@pytest.mark.parametrize("name,kwargs,ref", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_match_torch_formulas(name, kwargs, ref, dtype):
    opt = getattr(optim, name)(**kwargs)
    params = make_params(dtype)
    state = opt.init(params)
    refs = [ref() for _ in leaves(params)]
    want = leaves(params)
    for k in range(6):
        grads = random_grads(params, k)
        params, state = opt.update(params, grads, state)
        want = [r.step(p, g) for r, p, g in zip(refs, want, leaves(grads))]
        for got, w in zip(leaves(params), want):
            assert isinstance(got, np.ndarray) and got.dtype == dtype
            np.testing.assert_allclose(got, w, rtol=2e-6 if dtype == np.float32 else 1e-13, atol=1e-7)
    assert state["step"] == 6 and state["step"].dtype == np.int64


def test_state_structure():
    params = make_params()
    s = optim.adam(1e-3).init(params)
    assert list(s) == ["step", "exp_avg", "exp_avg_sq"] and s["step"].dtype == np.int64
    assert s["exp_avg"]["layer"]["w"].shape == (3, 4) and s["exp_avg_sq"]["scale"].dtype == np.float32
    assert list(optim.sgd(0.1).init(params)) == ["step"]
    assert list(optim.sgd(0.1, momentum=0.9).init(params)) == ["step", "momentum_buffer"]
    assert "lr=0.001" in repr(optim.adam(1e-3))


def test_first_momentum_step_is_plain_sgd():
    """torch initialises the buffer with the first gradient; a zero buffer gives the same."""
    params = make_params()
    grads = random_grads(params, 0)
    a, _ = optim.sgd(0.1, momentum=0.9).update(params, grads, optim.sgd(0.1, momentum=0.9).init(params))
    b, _ = optim.sgd(0.1).update(params, grads, optim.sgd(0.1).init(params))
    for x, y in zip(leaves(a), leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_grads_are_cast_to_the_parameter_dtype():
    params = make_params(np.float32)
    grads = tree_map(lambda p: p.astype(np.float64), random_grads(params, 1))
    new, state = optim.adam(0.1).update(params, grads, optim.adam(0.1).init(params))
    assert all(x.dtype == np.float32 for x in leaves(new) + leaves(state["exp_avg"]))


def test_learning_rate_schedule():
    """lr may be a function of the step count (1 for the first update)."""
    params = make_params(np.float64)
    seen = []

    def schedule(step):
        seen.append(int(np.asarray(step)))
        return 0.1 / step

    opt = optim.sgd(schedule)
    state = opt.init(params)
    p = params
    for k in range(3):
        g = random_grads(params, k)
        p_new, state = opt.update(p, g, state)
        np.testing.assert_allclose(p_new["layer"]["w"], p["layer"]["w"] - 0.1 / (k + 1) * g["layer"]["w"], rtol=1e-14)
        p = p_new
    assert seen == [1, 2, 3]
    adam = optim.adam(lambda step: 0.01 * (0.5 ** (step - 1)))  # Tensor arithmetic inside the schedule
    p2, _ = adam.update(params, random_grads(params, 0), adam.init(params))
    ref = AdamRef(0.01)
    np.testing.assert_allclose(p2["scale"], ref.step(params["scale"], random_grads(params, 0)["scale"]), rtol=1e-14)


def test_errors():
    params = make_params()
    opt = optim.sgd(0.1)
    with pytest.raises(InputError):
        opt.update(params, {"layer": params["layer"]}, opt.init(params))
    with pytest.raises(InputError):
        optim.adam(0.1).update(params, params, opt.init(params))
    with pytest.raises(InputError):
        opt.update(params, params, None)
    for bad in (lambda: optim.sgd(-1.0), lambda: optim.sgd(0.1, momentum=-0.5), lambda: optim.sgd(0.1, nesterov=True),
                lambda: optim.adam(0.1, b1=1.0), lambda: optim.adam(0.1, eps=-1),
                lambda: optim.adamw(0.1, weight_decay=-1), lambda: optim.sgd("0.1")):
        with pytest.raises(AttrError):
            bad()


# ====================================================================== against torch.optim (when installed)

@pytest.mark.parametrize("name,kwargs,ref", CONFIGS, ids=IDS)
def test_against_torch_optim(name, kwargs, ref):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: comparison with torch.optim skipped")
    kw = dict(kwargs)
    if name != "sgd":
        kw["betas"] = (kw.pop("b1", 0.9), kw.pop("b2", 0.999))
        if name == "adamw":
            kw.setdefault("weight_decay", 0.01)
    params = make_params()
    tparams = [torch.tensor(p, requires_grad=True) for p in leaves(params)]
    topt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name](
        tparams, foreach=False, **kw)
    opt = getattr(optim, name)(**kwargs)
    state = opt.init(params)
    for k in range(6):
        grads = random_grads(params, k)
        for t, g in zip(tparams, leaves(grads)):
            t.grad = torch.tensor(g)
        topt.step()
        params, state = opt.update(params, grads, state)
    for got, t in zip(leaves(params), tparams):
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-5, atol=1e-6)


# ====================================================================== a training step as one graph

def _mlp():
    return nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, 3))


def _data(n=32, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y


def _train_step_fn(model, opt):
    def loss_fn(params, x, y, key):
        return nn.cross_entropy(model.apply(params, x, rng=key, train=True), y)

    def train_step(params, opt_state, x, y, key):
        loss, grads = jag.value_and_grad(loss_fn)(params, x, y, key)
        params, opt_state = opt.update(params, grads, opt_state)
        return params, opt_state, loss

    return train_step


@pytest.fixture(scope="module")
def traced_step(tmp_path_factory):
    model, opt = _mlp(), optim.adamw(0.01, weight_decay=0.01)
    params = model.init(0)
    state = opt.init(params)
    x, y = _data()
    step = _train_step_fn(model, opt)
    graph = jag.trace(step, params, state, x, y, np.int64(0), symbolic={"x": ("N", None), "y": ("N",)})
    path = tmp_path_factory.mktemp("train") / "train_step.json"
    graph.save(path)
    return step, params, state, x, y, graph, jag.load(path)


def test_train_step_traces_into_one_core_graph(traced_step):
    step, params, state, x, y, graph, loaded = traced_step
    core = {name for name, od in jag.spec.OPS.items() if od.kind == "core"}
    assert {n.op for n in graph.nodes} <= core
    assert {"random_uniform", "matmul", "power", "sqrt"} <= {n.op for n in graph.nodes}
    assert len(graph.inputs) == len(leaves((params, state))) + 3
    assert len(graph.outputs) == len(leaves((params, state))) + 1
    loaded.validate()


def _loop(run, params, state, x, y, n=5):
    losses = []
    for k in range(n):
        params, state, loss = run(params, state, x, y, np.int64(k))
        losses.append(float(np.asarray(loss)))
    return params, state, losses


def test_loaded_train_step_graph_equals_eager_steps(traced_step):
    step, params, state, x, y, graph, loaded = traced_step
    pe, se, le = _loop(step, params, state, x, y)
    pg, sg, lg = _loop(loaded, params, state, x, y)
    np.testing.assert_allclose(lg, le, rtol=1e-6)
    for a, b in zip(leaves((pg, sg)), leaves((pe, se))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert int(sg["step"]) == 5
    # another batch size through the same graph (symbolic N)
    x2, y2 = _data(9, seed=1)
    p2, _, l2 = _loop(loaded, params, state, x2, y2, n=2)
    p2e, _, l2e = _loop(step, params, state, x2, y2, n=2)
    np.testing.assert_allclose(l2, l2e, rtol=1e-6)


def test_train_step_graph_on_the_c_runtime(traced_step):
    from jag.runtimes import c as cjag
    if not cjag.library_path().exists():
        pytest.skip("the C runtime is not built (make -C runtimes/c)")
    step, params, state, x, y, graph, loaded = traced_step
    pp, sp, lp = _loop(loaded, params, state, x, y)
    pc, sc, lc = _loop(lambda *a: loaded.execute(*a, backend="c"), params, state, x, y)
    np.testing.assert_allclose(lc, lp, rtol=1e-5)
    for a, b in zip(leaves((pc, sc)), leaves((pp, sp))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt", [optim.sgd(0.3, momentum=0.9), optim.adam(0.02)], ids=["sgd", "adam"])
def test_small_model_learns(opt):
    """Three classes from two features: eager training lowers the loss and fits the data."""
    model = _mlp()
    params = model.init(1)
    state = opt.init(params)
    x, y = _data(128, seed=2)
    step = _train_step_fn(model, opt)
    first = float(np.asarray(nn.cross_entropy(model.apply(params, x), y)))
    for k in range(60):
        params, state, _ = step(params, state, x, y, np.int64(k))
    logits = np.asarray(model.apply(params, x))
    last = float(np.asarray(nn.cross_entropy(logits, y)))
    assert last < 0.5 * first
    assert (logits.argmax(-1) == y).mean() > 0.9


def test_update_returns_tensors_while_tracing():
    params = make_params()
    opt = optim.sgd(0.1, momentum=0.5)

    def f(params, grads, state):
        new, new_state = opt.update(params, grads, state)
        assert isinstance(new["scale"], jag.Tensor) and isinstance(new_state["step"], jag.Tensor)
        return new, new_state

    g = jag.trace(f, params, random_grads(params, 0), opt.init(params))
    got, _ = g(params, random_grads(params, 0), opt.init(params))
    want, _ = opt.update(params, random_grads(params, 0), opt.init(params))
    for a, b in zip(leaves(got), leaves(want)):
        np.testing.assert_array_equal(a, b)


def test_update_is_differentiable():
    """Tensors in, Tensors out: jag.grad differentiates through an SGD step (d/dp of the stepped loss)."""
    p0 = np.array([1.0, -2.0])
    opt = optim.sgd(0.1)

    def after_one_step(p):
        g = jag.grad(lambda q: jag.sum(q * q))(p)           # 2p
        new, _ = opt.update(p, g, opt.init(p0))
        return jag.sum(new * new)                           # |0.8 p|^2

    np.testing.assert_allclose(np.asarray(jag.grad(after_one_step)(p0)), 2 * 0.64 * p0, rtol=1e-14)

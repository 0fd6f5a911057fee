"""``jag.optim``: optimizers as pure functions of (params, grads, state), with PyTorch's update rules.

Like optax, an optimizer is a pair of functions over pytrees (nested dicts of arrays)::

    opt = optim.adam(1e-3)
    state = opt.init(params)                                  # {"step": 0, "exp_avg": ..., ...}
    params, state = opt.update(params, grads, state)

Both use jag ops only, so a whole training step traces into one graph::

    def train_step(params, opt_state, x, y):
        loss, grads = jag.value_and_grad(loss_fn)(params, x, y)
        params, opt_state = opt.update(params, grads, opt_state)
        return params, opt_state, loss
    graph = jag.trace(train_step, params, opt.init(params), x, y)

The state holds ``"step"`` (an int64 scalar: the number of updates done) and one tree
like ``params`` per buffer, named as in ``torch.optim`` (``momentum_buffer``,
``exp_avg``, ``exp_avg_sq``), each leaf of its parameter's dtype. Gradients are cast to
their parameter's dtype, so parameters keep their dtype. ``lr`` is a number or a function
of the step count (1 for the first update; an int64 scalar Tensor) returning a scalar
(a learning-rate schedule).

Results: while tracing (:func:`jag.trace`), or when ``params`` or ``state`` hold jag
Tensors (e.g. differentiating through an update with ``jag.grad``), ``update`` returns
Tensors; otherwise — an eager loop whose params are numpy arrays, whatever the grads are
— it returns numpy arrays, so an eager training loop keeps no history.

The update rules are exactly those of ``torch.optim.SGD``, ``Adam`` and ``AdamW``
(PyTorch 2.x single-tensor implementations, ``maximize=False``, ``amsgrad=False``,
``dampening=0``), including their order of floating-point operations; bias corrections
are computed in float64 (PyTorch uses Python floats) and rounded to the parameter's dtype.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import pytree
from .errors import AttrError, InputError
from .symbolic import current_env
from .tensor import Tensor, apply, astype, constant

__all__ = ["Optimizer", "sgd", "adam", "adamw"]


def _check(name, v, lo=0.0, hi=None, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or (v <= lo if lo_open else v < lo) or \
            (hi is not None and v >= hi):
        rng = f"{'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'})"
        raise AttrError(f"{name} must be a number in {rng}, got {v!r}", field=name)
    return float(v)


def _dtype(x) -> str:
    return x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype.name


def _f64(x):
    return astype(x, "float64")


class Optimizer:
    """An optimizer: ``init(params) -> state`` and ``update(params, grads, state) -> (params, state)``.

    Built by :func:`sgd`, :func:`adam`, :func:`adamw`; ``name`` and ``hyperparams`` say
    which. Subclasses give the per-parameter buffers (``slots``) and ``_step``, the rule
    for one parameter array.
    """

    slots: tuple = ()

    def __init__(self, lr, **hyperparams):
        if not callable(lr):
            _check("lr", lr)
        self.lr = lr
        self.hyperparams = dict(lr=lr, **hyperparams)

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __repr__(self):
        return f"optim.{self.name}({', '.join(f'{k}={v!r}' for k, v in self.hyperparams.items())})"

    def init(self, params) -> dict:
        """The initial state: ``{"step": int64 0, <slot>: zeros like params, ...}`` (numpy arrays)."""
        leaves, _, tree = pytree.flatten(params)
        state = {"step": np.zeros((), np.int64)}
        for slot in self.slots:
            state[slot] = pytree.unflatten(tree, [np.zeros(np.shape(p), _dtype(p)) for p in leaves])
        return state

    def update(self, params, grads, state):
        """One step: returns ``(new_params, new_state)``, pytrees of the same structure.

        Raises InputError (E_INPUT) when ``grads`` or a state buffer does not have the
        structure of ``params``.
        """
        leaves, paths, tree = pytree.flatten(params)
        g_leaves = self._leaves_like(grads, tree, "grads")
        if not isinstance(state, dict) or "step" not in state:
            raise InputError(f"{self.name} state must be the dict made by init(params), got {type(state).__name__}")
        slot_leaves = [self._leaves_like(state.get(s), tree, f"state[{s!r}]") for s in self.slots]
        step = apply("add", state["step"], constant(1, "int64"))
        lr = self.lr(step) if callable(self.lr) else self.lr
        new_p, new_slots = [], [[] for _ in self.slots]
        for i, (p, g) in enumerate(zip(leaves, g_leaves)):
            dt = _dtype(p)
            p = p if isinstance(p, Tensor) else constant(p)
            out_p, out_s = self._step(p, astype(g, dt), [s[i] for s in slot_leaves], step, lr)
            new_p.append(astype(out_p, dt))
            for acc, s in zip(new_slots, out_s):
                acc.append(astype(s, dt))
        new_state = {"step": step}
        for slot, vals in zip(self.slots, new_slots):
            new_state[slot] = pytree.unflatten(tree, vals)
        result = (pytree.unflatten(tree, new_p), new_state)
        tensors_in = any(isinstance(x, Tensor) for x in leaves + pytree.flatten(state)[0])
        if current_env() is None and not tensors_in:  # eager: concrete numpy results, no history kept
            return _to_numpy(result)
        return result

    def _leaves_like(self, tree, treedef, what):
        leaves, _, td = pytree.flatten(tree)
        if td != treedef:
            raise InputError(f"{self.name}: {what} does not have the structure of params "
                             f"({len(leaves)} leaves vs {pytree.num_leaves(treedef)})", field=what)
        return leaves

    def _step(self, p, g, slots, step, lr):
        raise NotImplementedError


def _to_numpy(tree):
    leaves, _, td = pytree.flatten(tree)
    return pytree.unflatten(td, [np.asarray(x) for x in leaves])


def _scalar(x, dtype):
    """A hyperparameter for arithmetic with a ``dtype`` tensor: Python numbers stay weak."""
    return x if isinstance(x, numbers.Real) and not isinstance(x, np.generic) else astype(x, dtype)


class SGD(Optimizer):
    """torch.optim.SGD (dampening=0)::

        g = g + weight_decay * p                       # if weight_decay != 0
        b = momentum * b + g                           # if momentum != 0 (b starts at 0, so b_1 = g_1)
        g = g + momentum * b if nesterov else b
        p = p - lr * g
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        self.momentum, self.weight_decay = _check("momentum", momentum), _check("weight_decay", weight_decay)
        self.nesterov = bool(nesterov)
        if nesterov and momentum <= 0:
            raise AttrError("nesterov momentum needs momentum > 0 (as torch)", field="nesterov")
        self.slots = ("momentum_buffer",) if self.momentum else ()

    def _step(self, p, g, slots, step, lr):
        if self.weight_decay:
            g = g + self.weight_decay * p
        new_slots = []
        if self.momentum:
            buf = self.momentum * slots[0] + g
            new_slots.append(buf)
            g = g + self.momentum * buf if self.nesterov else buf
        return p - _scalar(lr, p.dtype) * g, new_slots


class Adam(Optimizer):
    """torch.optim.Adam (Kingma & Ba 2015; amsgrad=False)::

        g = g + weight_decay * p                       # L2 penalty, if weight_decay != 0
        m = m.lerp(g, 1 - b1)                          # m + (1 - b1) * (g - m)
        v = b2 * v + ((1 - b2) * g) * g
        step_size = lr / (1 - b1**t);  bc2_sqrt = sqrt(1 - b2**t)       # float64
        p = p + (-step_size * m) / (sqrt(v) / bc2_sqrt + eps)
    """

    slots = ("exp_avg", "exp_avg_sq")
    _decoupled = False

    def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)
        self.b1, self.b2 = _check("b1", b1, 0.0, 1.0), _check("b2", b2, 0.0, 1.0)
        self.eps, self.weight_decay = _check("eps", eps), _check("weight_decay", weight_decay)

    def _step(self, p, g, slots, step, lr):
        m, v = slots
        dt = p.dtype
        if self.weight_decay:
            if self._decoupled:  # AdamW: p = p * (1 - lr * weight_decay)
                p = p * (1 - lr * self.weight_decay if isinstance(lr, numbers.Real)
                         else astype(1 - _f64(lr) * self.weight_decay, dt))
            else:
                g = g + self.weight_decay * p
        w = 1 - self.b1                                 # torch.lerp(m, g, w), both of its branches
        m = m + w * (g - m) if w < 0.5 else g - (g - m) * (1 - w)
        v = v * self.b2 + (1 - self.b2) * g * g        # torch: v.mul_(b2).addcmul_(g, g, value=1 - b2)
        t = _f64(step)
        bc1 = 1 - apply("power", constant(self.b1, "float64"), t)
        bc2 = 1 - apply("power", constant(self.b2, "float64"), t)
        step_size = astype(_f64(lr) / bc1, dt) if not isinstance(lr, numbers.Real) else astype(lr / bc1, dt)
        denom = apply("sqrt", v) / astype(apply("sqrt", bc2), dt) + self.eps
        return p + (-step_size * m) / denom, [m, v]


class AdamW(Adam):
    """torch.optim.AdamW (Loshchilov & Hutter 2019): decoupled weight decay
    ``p = p * (1 - lr * weight_decay)`` first, then the Adam step without the L2 term."""

    _decoupled = True

    def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(lr, b1, b2, eps, weight_decay)


def sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0) -> SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay: torch.optim.SGD.

    lr: a number >= 0 or a schedule ``lr(step)``; momentum, weight_decay >= 0; nesterov
    needs momentum > 0. E_ATTR for values out of range.
    """
    return SGD(lr, momentum, nesterov, weight_decay)


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0) -> Adam:
    """Adam: torch.optim.Adam(lr, betas=(b1, b2), eps, weight_decay) (L2 weight decay added to the gradient).

    0 <= b1, b2 < 1; eps, weight_decay >= 0. E_ATTR for values out of range.
    """
    return Adam(lr, b1, b2, eps, weight_decay)


def adamw(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01) -> AdamW:
    """AdamW: torch.optim.AdamW(lr, betas=(b1, b2), eps, weight_decay) (decoupled weight decay, default 0.01)."""
    return AdamW(lr, b1, b2, eps, weight_decay)

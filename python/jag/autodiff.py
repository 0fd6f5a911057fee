"""Reverse-mode autodiff as a graph transform: ``grad``, ``value_and_grad``, ``vjp``, ``stop_gradient``.

Semantics follow JAX (``jax.grad``, ``jax.value_and_grad``, ``jax.vjp``,
``jax.lax.stop_gradient``). The function is called on Tensors standing for its arguments
inside ``expanding_composites()``, so every recorded op is a core op. The backward pass
walks the op records reachable from the outputs back to those Tensors in reverse
topological order, sums the cotangents of a value used several times (fan-out), and
calls each op's VJP rule (``jag.ops.VJPS``, written beside the op in ops/core.py). The
rules are jag ops, so the backward ops are recorded like the forward ones:

- under ``jag.trace``, ``jag.trace(jag.grad(f), x)`` is an ordinary graph of core ops;
- ``jag.grad(jag.grad(f))`` differentiates the recorded backward pass again;
- in eager mode, gradients are computed with numpy as the ops are recorded.

A composite op met in an eager graph (``loss.backward()`` on ops recorded outside a
transform) is differentiated through its lowering, unless it has a rule of its own.

What gets no gradient (documented behaviour, as JAX's float0 / PyTorch's requires_grad):
integer and bool Tensors (indices, counts, masks); the non-differentiable ports of
spec/ops.json (``differentiable``: gather's indices, where's condition, dropout's key...);
ops whose ``differentiable`` list is empty (comparisons, ``sign``, ``argmax``, ``iota``,
``random_uniform``); and values behind :func:`stop_gradient`. ``grad`` returns None for
integer/bool argument leaves and zeros for float leaves the output does not depend on.

At kinks the rules choose as JAX does: ``maximum``/``minimum`` ties give each operand
half, ``reduce_max`` ties share equally, ``abs'(0) = 0``; so ``relu`` (lowered to
``maximum(x, 0)``) has derivative 1/2 at exactly 0 (PyTorch gives 0).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools

import numpy as np

from . import pytree, spec
from .errors import DTypeError, InternalError, ShapeError
from .ops import LOWERINGS, VJPS
from .ops.core import zeros
from .symbolic import shape_str
from .tensor import Tensor, apply, constant, expanding_composites


# ------------------------------------------------------------------ the grad-loss marker
# While jag.trace runs, it installs a recorder here: every value_and_grad/grad call notes its
# loss Tensor and the Tensors it differentiates with respect to, and stop_gradient its output,
# so that the traced graph keeps the loss's forward nodes and records them in
# metadata["jag.grad"] (spec/README.md §2).
_GRAD_RECORDER: contextvars.ContextVar = contextvars.ContextVar("jag_grad_recorder", default=None)


class GradRecord:
    """What one trace saw: ``calls`` = [(loss Tensor, [wrt Tensors])], ``stopped`` = [Tensors]."""

    def __init__(self):
        self.calls, self.stopped = [], []


@contextlib.contextmanager
def recording_grads():
    """Record the grad calls and stop_gradient outputs of the code run inside (used by jag.trace)."""
    rec = GradRecord()
    token = _GRAD_RECORDER.set(rec)
    try:
        yield rec
    finally:
        _GRAD_RECORDER.reset(token)


def _is_float(t) -> bool:
    return np.dtype(t.dtype).kind == "f"


def _passes_gradient(record) -> bool:
    return not getattr(record, "stop_gradient", False) and bool(spec.OPS[record.op].differentiable)


def _diff_ports(record) -> list:
    """Per input of ``record``: does its port take a gradient (spec/ops.json ``differentiable``)?"""
    op = spec.OPS[record.op]
    return [op.port_for_input(i).name in op.differentiable for i in range(len(record.inputs))]


def _path_records(outputs, wrt_ids):
    """The records on a path from the ``wrt`` Tensors to ``outputs``, in topological order.

    A value lies on such a path when it is a ``wrt`` Tensor or a float output of a record
    that passes gradients and has such a value at a differentiable port. Iterative
    post-order DFS (graphs may be deep), stopping at the ``wrt`` Tensors.
    """
    depends: dict = {}   # id(record) -> bool
    order = []

    def on_path(t):
        if id(t) in wrt_ids:
            return True
        if t.record is None or not _is_float(t):
            return False
        return depends[id(t.record)]

    for out in outputs:
        stack = [(out, False)]
        while stack:
            t, expanded = stack.pop()
            r = t.record
            if id(t) in wrt_ids or r is None or id(r) in depends and not expanded:
                continue
            if not _passes_gradient(r):
                depends[id(r)] = False
                continue
            if expanded:
                hit = any(d and on_path(x) for x, d in zip(r.inputs, _diff_ports(r)))
                depends[id(r)] = hit
                if hit:
                    order.append(r)
                continue
            depends[id(r)] = False  # visiting (graphs are acyclic; overwritten on completion)
            stack.append((t, True))
            stack.extend((x, False) for x, d in zip(r.inputs, _diff_ports(r))
                         if d and _is_float(x) and id(x) not in wrt_ids and x.record is not None
                         and id(x.record) not in depends)
    return order, on_path


def _accumulate(cts: dict, t: Tensor, ct: Tensor):
    if tuple(ct.shape) != tuple(t.shape) or ct.dtype != t.dtype:
        raise InternalError(f"cotangent {ct.dtype}{shape_str(ct.shape)} does not match its value "
                            f"{t.dtype}{shape_str(t.shape)}")
    old = cts.get(id(t))
    cts[id(t)] = (t, ct if old is None else apply("add", old[1], ct))


def backprop(outputs, cotangents, wrt) -> list:
    """Cotangents of ``wrt`` (Tensors) given those of ``outputs``; None where no gradient flows.

    The one backward walk behind grad, vjp and Tensor.backward. ``cotangents[i]`` is a
    Tensor shaped like ``outputs[i]`` or None. A Tensor listed twice in ``wrt`` gets its
    cotangent at its first position and None at the others.
    """
    wrt_ids = {id(t) for t in wrt if _is_float(t)}
    with expanding_composites():
        order, on_path = _path_records(outputs, wrt_ids)
        cts: dict = {}
        for o, ct in zip(outputs, cotangents):
            if ct is not None and _is_float(o) and on_path(o):
                _accumulate(cts, o, ct)
        for r in reversed(order):
            outs = [cts.pop(id(o), (None, None))[1] for o in r.outputs]
            if all(c is None for c in outs):
                continue
            if len(r.outputs) != 1:  # pragma: no cover - every op of the opset has one output
                raise InternalError(f"no VJP for the multi-output op '{r.op}'", op=r.op)
            rule = VJPS.get(r.op) or (_lowering_vjp if r.op in LOWERINGS else None)
            if rule is None:
                raise InternalError(f"op '{r.op}' is differentiable in spec/ops.json but has no VJP rule", op=r.op)
            in_cts = rule(outs[0], *r.inputs, out=r.outputs[0], **({"op": r.op} if rule is _lowering_vjp else {}),
                          **r.attrs)
            for x, d, ct in zip(r.inputs, _diff_ports(r), in_cts):
                if d and ct is not None and on_path(x):
                    _accumulate(cts, x, ct)
        seen, result = set(), []
        for t in wrt:
            entry = None if id(t) in seen else cts.get(id(t))
            seen.add(id(t))
            result.append(None if entry is None else entry[1])
        return result


def _lowering_vjp(ct, *inputs, out, op, **attrs):
    """VJP of a composite through its reference lowering (re-recorded from the same inputs)."""
    with expanding_composites():
        y = LOWERINGS[op](*inputs, **attrs)
    return backprop([y], [ct], list(inputs))


# ------------------------------------------------------------------ the transformations

def _as_tensor(x):
    return x if isinstance(x, Tensor) else constant(x)


def _check_cotangent(ct, out: Tensor):
    if ct is None:
        return None
    ct = ct if isinstance(ct, Tensor) else constant(np.asarray(ct, dtype=out.dtype))
    if tuple(ct.shape) != tuple(out.shape) or ct.dtype != out.dtype:
        raise ShapeError(f"cotangent {ct.dtype}{shape_str(ct.shape)} does not match the output "
                         f"{out.dtype}{shape_str(out.shape)}")
    return ct


def _leaves_like(treedef, tree) -> list:
    """The leaves of ``tree`` at the leaf positions of ``treedef``; a None subtree gives Nones."""
    if treedef == pytree.LEAF:
        return [tree]
    if tree is None:
        return [None] * pytree.num_leaves(treedef)
    kind, out = treedef[0], []
    try:
        if kind == "dict":
            if set(tree) != {k for k, _ in treedef[1]}:
                raise KeyError
            for k, child in treedef[1]:
                out += _leaves_like(child, tree[k])
        elif kind in ("list", "tuple"):
            if len(tree) != len(treedef[1]):
                raise KeyError
            for child, sub in zip(treedef[1], tree):
                out += _leaves_like(child, sub)
    except (KeyError, TypeError):
        raise ShapeError(f"cotangents {pytree.flatten(tree)[2]} do not match the outputs' structure "
                         f"{treedef}") from None
    return out


def vjp(f, *primals, has_aux: bool = False):
    """``jax.vjp``: evaluate ``f(*primals)`` and return a function pulling cotangents back.

    Args:
      f: a function of Tensors (pytrees in, pytree out); called once, inside
        ``expanding_composites()``.
      *primals: arguments: arrays, scalars, Tensors (e.g. inside ``jag.trace``) or pytrees
        (nested dicts/lists/tuples) of them.
      has_aux: ``f`` returns ``(output, aux)``; ``aux`` is returned as is, not differentiated.
    Returns:
      ``(outputs, vjp_fn)`` or ``(outputs, vjp_fn, aux)``. ``vjp_fn(cotangents)`` takes a
      pytree like ``outputs`` (arrays or Tensors of the same dtypes and shapes; None for
      no cotangent) and returns a tuple with one pytree per primal: Tensors of the
      primal's dtype and shape (zeros where nothing flows), None for integer/bool leaves.
    Raises:
      ShapeError when a cotangent does not match its output; the ops' errors from ``f``.
    """
    leaves, _, in_tree = pytree.flatten(tuple(primals))
    tensors, seen = [], set()
    for x in leaves:
        t = _as_tensor(x)
        if id(t) in seen:  # one Tensor passed twice: a separate identity per use, as JAX's tracers
            t = apply("reshape", t, shape=list(t.shape))
        seen.add(id(t))
        tensors.append(t)
    with expanding_composites():
        result = f(*pytree.unflatten(in_tree, tensors))
    if has_aux:
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError("has_aux=True needs f to return a pair (output, aux)")
        result, aux = result
    out_leaves, _, out_tree = pytree.flatten(result)
    outs = [_as_tensor(o) for o in out_leaves]
    outputs = pytree.unflatten(out_tree, outs)

    def vjp_fn(cotangents):
        cts = [_check_cotangent(c, o) for c, o in zip(_leaves_like(out_tree, cotangents), outs)]
        grads = backprop(outs, cts, tensors)
        with expanding_composites():
            grads = [g if g is not None else (zeros(t.shape, t.dtype) if _is_float(t) else None)
                     for g, t in zip(grads, tensors)]
        return tuple(pytree.unflatten(in_tree, grads))

    return (outputs, vjp_fn, aux) if has_aux else (outputs, vjp_fn)


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not isinstance(i, int) or not -n <= i < n:
            raise ValueError(f"argnums {argnums!r} out of range for {n} positional arguments")
    return tuple(i % n for i in nums)


def _named(wrapper, f, prefix, what, argnums):
    """``wrapper`` with ``f``'s signature (so jag.trace names inputs as f's parameters) and its own name."""
    functools.update_wrapper(wrapper, f)
    name = getattr(f, "__name__", "f")
    wrapper.__name__ = wrapper.__qualname__ = f"{prefix}_{name}" if name.isidentifier() else prefix
    wrapper.__doc__ = f"The {what} of {name} (argnums={argnums})."
    return wrapper


def value_and_grad(f, argnums=0, has_aux: bool = False):
    """``jax.value_and_grad``: a function returning ``(f(*args), grad)``.

    ``f`` must return a float scalar (or ``(scalar, aux)`` with ``has_aux``; then the value
    is ``(scalar, aux)``). ``grad`` has the structure of ``args[argnums]`` (a tuple of them
    when ``argnums`` is a tuple), e.g. a nested dict of parameters gives a nested dict of
    gradients; integer/bool leaves get None. Raises ShapeError for a non-scalar output and
    DTypeError for a non-float one (jag.vjp handles those).
    """
    def wrapper(*args):
        nums = _argnums(argnums, len(args))

        def partial(*diff):
            full = list(args)
            for i, d in zip(nums, diff):
                full[i] = d
            return f(*full)

        res = vjp(partial, *[args[i] for i in nums], has_aux=has_aux)
        out, fn = res[0], res[1]
        if not isinstance(out, Tensor):
            raise TypeError(f"grad needs f to return one scalar, got {type(out).__name__}")
        if out.shape != ():
            raise ShapeError(f"grad needs a scalar output (as jax.grad), got shape {shape_str(out.shape)}; "
                             "use jag.vjp for non-scalar outputs")
        if not _is_float(out):
            raise DTypeError(f"grad needs a float output, got {out.dtype}")
        rec = _GRAD_RECORDER.get()
        if rec is not None:
            wrt = [x for x in pytree.flatten([args[i] for i in nums])[0] if isinstance(x, Tensor)]
            rec.calls.append((out, wrt))
        grads = fn(constant(1, out.dtype))
        g = grads[0] if isinstance(argnums, int) else grads
        return ((out, res[2]) if has_aux else out), g

    return _named(wrapper, f, "value_and_grad", "value and gradient", argnums)


def grad(f, argnums=0, has_aux: bool = False):
    """``jax.grad``: the gradient of a float-scalar function, as a function of the same arguments.

    ``jag.grad(f)(x)`` computes eagerly; ``jag.trace(jag.grad(f), x)`` gives a graph of core
    ops; ``jag.grad(jag.grad(f))`` gives second derivatives. ``argnums`` (int or tuple) picks
    the arguments; with ``has_aux`` the result is ``(grad, aux)``. See :func:`value_and_grad`
    for structures, dtypes and errors.
    """
    vg = value_and_grad(f, argnums, has_aux)

    def wrapper(*args):
        value, g = vg(*args)
        return (g, value[1]) if has_aux else g

    return _named(wrapper, f, "grad", "gradient", argnums)


def stop_gradient(x) -> Tensor:
    """``jax.lax.stop_gradient``: ``x`` unchanged, but a constant for grad/vjp/backward.

    Recorded as an identity ``reshape`` whose record is marked. ``jag.trace`` lists its
    output in ``metadata["jag.grad"]["stop_gradient"]`` (read by :mod:`jag.semiring`); the
    saved graph keeps the plain reshape, so ``jag.grad`` of a loaded graph differentiates
    through it.
    """
    x = _as_tensor(x)
    y = apply("reshape", x, shape=list(x.shape))
    y.record.stop_gradient = True
    rec = _GRAD_RECORDER.get()
    if rec is not None:
        rec.stopped.append(y)
    return y


def backward(t: Tensor, gradient=None):
    """``Tensor.backward``: set ``.grad`` of every float leaf Tensor ``t`` depends on.

    Leaves are Tensors without a producing op (graph inputs, eager arrays/constants).
    ``.grad`` is overwritten (not accumulated as in PyTorch) with a Tensor of the leaf's
    dtype and shape; leaves reached only through non-differentiable paths get None.
    ``gradient`` (default 1) is the cotangent of ``t``; required unless ``t`` is a scalar.
    """
    if not _is_float(t):
        raise DTypeError(f"backward() needs a float tensor, got {t.dtype}")
    if gradient is None:
        if t.shape != ():
            raise ShapeError(f"backward() without a gradient needs a scalar, got shape {shape_str(t.shape)}")
        gradient = constant(1, t.dtype)
    seed = _check_cotangent(gradient, t)
    leaves, seen, stack = [], set(), [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.record is None:
            if _is_float(x):
                leaves.append(x)
        elif not getattr(x.record, "stop_gradient", False):
            stack.extend(x.record.inputs)
    for leaf, g in zip(leaves, backprop([t], [seed], leaves)):
        leaf.grad = g

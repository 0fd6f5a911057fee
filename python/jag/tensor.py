"""``jag.Tensor``: a traced value with a numpy-like face, and ``apply``, the one way ops are recorded.

Every Tensor knows its dtype, its (possibly symbolic) shape, the op record that produced
it and — unless traced abstractly — its concrete value, computed eagerly with the op's
numpy implementation. A graph is the set of op records reachable from a function's
outputs (see ``jag.trace``), so no global graph state exists.

Type promotion happens here, not in the graph: graph ops take operands of one dtype
(spec/README.md), and ``apply`` inserts ``cast`` nodes following numpy's rules (NEP 50:
Python scalars are "weak" and adopt the tensor's dtype; ``x / 2`` on integers is float64).
"""
from __future__ import annotations

import contextlib
import contextvars
import numbers

import numpy as np

from . import spec
from .errors import DTypeError, InternalError, JagError, ShapeError
from .ops import IMPLS, LOWERINGS, check_arity, check_attrs, concrete_attrs, infer_dtypes, infer_shapes
from .symbolic import Dim, current_env, evaluate, shape_str
from .validate import check_numel, dim_names

_EXPAND = contextvars.ContextVar("jag_expand_composites", default=False)
# The node-name scope: a tuple of (owner, path) entries, innermost last. ``owner`` is the
# jag.nn.Module whose ``apply`` is running (None for a composite being expanded); ``path``
# is the dotted module path that ``apply`` gives as the name of the nodes it records.
_SCOPE = contextvars.ContextVar("jag_name_scope", default=())


def current_scope() -> tuple:
    """The running name scopes, outermost first: a tuple of ``(owner, path)`` pairs (see :func:`name_scope`)."""
    return _SCOPE.get()


def current_path() -> str:
    """The dotted module path that names the nodes recorded now ("" outside any module)."""
    stack = _SCOPE.get()
    return stack[-1][1] if stack else ""


@contextlib.contextmanager
def name_scope(path: str, owner=None):
    """Within this block, ops recorded without an explicit ``name`` get ``path`` as node name.

    ``jag.nn.Module.apply`` enters one per module (``owner`` is the module, ``path`` its
    dotted path from the outermost running module, e.g. ``encoder.layer.3.attention``);
    the outermost module has path "" and its nodes keep the name None. The innermost
    scope wins; an explicit ``apply(..., name=...)`` always wins.
    """
    token = _SCOPE.set(_SCOPE.get() + ((owner, path),))
    try:
        yield
    finally:
        _SCOPE.reset(token)


@contextlib.contextmanager
def expanding_composites():
    """Within this block, composite ops are recorded as their core lowering."""
    token = _EXPAND.set(True)
    try:
        yield
    finally:
        _EXPAND.reset(token)


class OpRecord:
    """One recorded op application: op name, input Tensors, normalised attrs, output Tensors.

    ``stop_gradient`` marks the identity recorded by ``jag.stop_gradient``: autodiff treats
    its output as a constant.
    """
    __slots__ = ("op", "inputs", "attrs", "outputs", "name", "stop_gradient")

    def __init__(self, op, inputs, attrs, name=None):
        self.op, self.inputs, self.attrs, self.name = op, tuple(inputs), attrs, name
        self.outputs = ()
        self.stop_gradient = False


class Tensor:
    """A traced value: ``dtype`` (str), ``shape`` (tuple of int | Dim), ``value`` (ndarray or None).

    Supports numpy-style arithmetic (``+ - * / ** @``, comparisons, unary ``-``, ``abs``),
    indexing and slicing (ints, slices with positive steps, ``None``, ``...``, one integer
    array), and methods ``sum max min mean argmax reshape transpose T exp log sqrt sin cos
    tanh astype flatten squeeze``. ``np.asarray(t)`` / ``t.value`` give the computed value.

    ``loss.backward()`` fills ``.grad`` of the leaf Tensors ``loss`` depends on, as in
    PyTorch (see :meth:`backward`); ``grad`` is None until then.
    """

    __slots__ = ("value", "dtype", "shape", "record", "index", "name", "kind", "grad", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    def __init__(self, value, dtype, shape, record=None, index=0, name=None, kind="op"):
        self.value = value
        self.dtype = dtype
        self.shape = tuple(shape)
        self.record = record
        self.index = index
        self.name = name
        self.kind = kind  # "input" | "const" | "op"
        self.grad = None  # set by backward() on leaves

    # --- numpy interop
    def __array__(self, dtype=None, copy=None):
        if self.value is None:
            raise ShapeError(f"tensor {self._label()} is abstract (traced without a value)")
        return self.value if dtype is None else self.value.astype(dtype)

    def numpy(self) -> np.ndarray:
        return np.asarray(self)

    def item(self):
        return self.numpy().item()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self):
        out = 1
        for d in self.shape:
            out = out * d
        return out

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return int(self.shape[0])

    def __bool__(self):
        return bool(self.numpy())

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __index__(self):
        return int(self.numpy())

    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy ufuncs on Tensors record jag ops: ``np.exp(t)``, ``np.maximum(t, 0)``, ``array + t``."""
        op = _UFUNC_OPS.get(ufunc.__name__)
        if method != "__call__" or kwargs or op is None:
            return NotImplemented
        return apply(op, *inputs)

    def _label(self):
        return f"'{self.name}'" if self.name else f"{self.dtype}{shape_str(self.shape)}"

    def __repr__(self):
        head = f"Tensor({self.dtype}{shape_str(self.shape)}"
        if self.value is None:
            return head + ", abstract)"
        return head + ", " + np.array2string(self.value, threshold=20, separator=", ") + ")"

    # --- arithmetic (binary ops broadcast; dtypes promote as numpy does)
    def __add__(self, o): return apply("add", self, o)
    def __radd__(self, o): return apply("add", o, self)
    def __sub__(self, o): return apply("subtract", self, o)
    def __rsub__(self, o): return apply("subtract", o, self)
    def __mul__(self, o): return apply("multiply", self, o)
    def __rmul__(self, o): return apply("multiply", o, self)
    def __truediv__(self, o): return apply("divide", self, o)
    def __rtruediv__(self, o): return apply("divide", o, self)
    def __pow__(self, o): return power(self, o)
    def __rpow__(self, o): return apply("power", o, self)
    def __matmul__(self, o): return apply("matmul", self, o)
    def __rmatmul__(self, o): return apply("matmul", o, self)
    def __neg__(self): return apply("neg", self)
    def __pos__(self): return self
    def __abs__(self): return apply("abs", self)
    def __eq__(self, o): return apply("equal", self, o)  # noqa: E704
    def __ne__(self, o): return apply("not_equal", self, o)
    def __lt__(self, o): return apply("less", self, o)
    def __le__(self, o): return apply("less_equal", self, o)
    def __gt__(self, o): return apply("greater", self, o)
    def __ge__(self, o): return apply("greater_equal", self, o)
    def __invert__(self):
        if self.dtype != "bool":
            raise DTypeError(f"~ needs a bool tensor, got {self.dtype}")
        return apply("logical_not", self)
    def __and__(self, o): return apply("logical_and", self, o)
    def __or__(self, o): return apply("logical_or", self, o)

    # --- methods
    def sum(self, axis=None, keepdims=False): return apply("reduce_sum", self, axes=_axes(axis), keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return apply("reduce_max", self, axes=_axes(axis), keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return apply("reduce_min", self, axes=_axes(axis), keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return apply("reduce_mean", self, axes=_axes(axis), keepdims=keepdims)
    def argmax(self, axis=-1, keepdims=False): return apply("argmax", self, axis=axis, keepdims=keepdims)
    def exp(self): return apply("exp", self)
    def log(self): return apply("log", self)
    def sqrt(self): return apply("sqrt", self)
    def sin(self): return apply("sin", self)
    def cos(self): return apply("cos", self)
    def tanh(self): return apply("tanh", self)
    def abs(self): return apply("abs", self)
    def astype(self, dtype): return astype(self, dtype)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return apply("reshape", self, shape=list(shape))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return apply("transpose", self, perm=list(axes) if axes else None)

    @property
    def T(self):
        return self.transpose()

    def flatten(self):
        return self.reshape(-1)

    def squeeze(self, axis=None):
        rank = self.ndim
        axes = [a % rank for a in _axes(axis)] if axis is not None else [i for i, d in enumerate(self.shape) if d == 1]
        return self.reshape([d for i, d in enumerate(self.shape) if i not in axes])

    def __getitem__(self, key):
        from .indexing import getitem
        return getitem(self, key)

    # --- autodiff
    def backward(self, gradient=None):
        """PyTorch-style ``loss.backward()``: set ``leaf.grad`` for every float leaf Tensor this depends on.

        Leaves are Tensors no op produced: graph inputs and eager arrays/constants (every
        one, as if all had requires_grad=True). ``leaf.grad`` is a Tensor of the leaf's
        dtype and shape, OVERWRITTEN by each call (PyTorch accumulates); None for a leaf
        reached only through non-differentiable ops. ``gradient`` is the cotangent of this
        tensor, required unless it is a scalar. Computed by the same transform as
        ``jag.grad`` (so it also works while tracing, recording the backward ops). Note:
        the attribute ``w.grad`` is PyTorch's spelling; the seeds' ``result.grad(w)`` is
        not provided. Raises DTypeError for a non-float tensor, ShapeError for a
        non-scalar one without ``gradient``.
        """
        from .autodiff import backward
        backward(self, gradient)


# numpy ufunc name -> JAG op (numpy's names for the same elementwise semantics)
_UFUNC_OPS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide", "true_divide": "divide",
    "power": "power", "maximum": "maximum", "minimum": "minimum", "equal": "equal", "not_equal": "not_equal",
    "less": "less", "less_equal": "less_equal", "greater": "greater", "greater_equal": "greater_equal",
    "negative": "neg", "absolute": "abs", "sign": "sign", "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin",
    "cos": "cos", "tanh": "tanh", "logical_and": "logical_and", "logical_or": "logical_or",
    "logical_not": "logical_not", "matmul": "matmul",
}


def _axes(axis):
    if axis is None:
        return None
    return [int(axis)] if isinstance(axis, numbers.Integral) else [int(a) for a in axis]


# ------------------------------------------------------------------ constants

def constant(value, dtype=None, name=None) -> Tensor:
    """A constant tensor (a ``tensors`` entry when traced); ``dtype`` defaults to numpy's choice."""
    if isinstance(value, Tensor):
        return value if dtype is None else astype(value, dtype)
    arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=spec.dtype_name(dtype))
    if arr.dtype.kind in "OUSV" or arr.dtype.name not in spec.DTYPES:
        raise DTypeError(f"cannot make a JAG constant from {type(value).__name__} of dtype {arr.dtype}; "
                         f"JAG supports {', '.join(spec.DTYPE_NAMES)}")
    return Tensor(arr, arr.dtype.name, arr.shape, name=name, kind="const")


def _is_weak(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def astype(x, dtype) -> Tensor:
    dtype = spec.dtype_name(dtype)
    x = constant(x) if not isinstance(x, Tensor) else x
    return x if x.dtype == dtype else apply("cast", x, dtype=dtype)


def power(x, e) -> Tensor:
    """x ** e; a small non-negative integer exponent multiplies (exact for integer tensors too)."""
    if _is_weak(e) and not isinstance(e, bool) and float(e).is_integer() and 0 <= e <= 64:
        e = int(e)
        if e == 0:
            x = constant(x) if not isinstance(x, Tensor) else x
            return apply("broadcast_to", constant(1, x.dtype), shape=list(x.shape))
        result, base = None, x
        while e:
            if e & 1:
                result = base if result is None else apply("multiply", result, base)
            e >>= 1
            if e:
                base = apply("multiply", base, base)
        return result
    return apply("power", x, e)


def _promote(op: spec.OpDef, inputs: list) -> list:
    """Convert non-Tensor inputs to constants and cast type-variable operands to one dtype."""
    groups: dict = {}
    for i, x in enumerate(inputs):
        groups.setdefault(op.port_for_input(i).type, []).append(i)
    out = list(inputs)
    for t, idxs in groups.items():
        if t not in op.types:  # a fixed dtype such as where's bool condition
            for i in idxs:
                if not isinstance(out[i], Tensor):
                    out[i] = constant(out[i], dtype=t)
            continue
        strong = [out[i].dtype if isinstance(out[i], Tensor) else np.asarray(out[i]).dtype
                  for i in idxs if not _is_weak(out[i])]
        weak = [out[i] for i in idxs if _is_weak(out[i])]
        try:
            target = np.result_type(*strong, *weak).name
        except TypeError as e:
            raise DTypeError(f"cannot promote operands of {op.name}: {e}") from None
        allowed = op.types[t]
        if target not in allowed:
            kind = np.dtype(target).kind
            if kind == "b" and "int64" in allowed:
                target = "int64"    # numpy: np.sum(bool) and bool + 1 count in int64
            elif kind in "iub" and "float64" in allowed:
                target = "float64"  # numpy: np.exp(int) and int / int are float64
            else:
                got = ", ".join(str(out[i].dtype if isinstance(out[i], Tensor) else np.asarray(out[i]).dtype) for i in idxs)
                raise DTypeError(f"{op.name} does not accept {target} (operands: {got}); allowed: {', '.join(allowed)}")
        for i in idxs:
            out[i] = constant(out[i], dtype=target) if _is_weak(out[i]) else astype(out[i], target)
    return out


def apply(op_name: str, *inputs, name: str | None = None, **attrs):
    """Record one op application and (when inputs have values) compute it eagerly.

    Args:
      op_name: an op of spec/ops.json.
      *inputs: Tensors, numpy arrays or Python scalars (promoted as numpy does).
      name: optional node name, kept in the saved graph. Default: the dotted path of the
        innermost running ``jag.nn.Module`` (:func:`name_scope`), or None outside modules.
      **attrs: the op's attributes (spec/OPS.md); missing ones take their defaults.
    Returns:
      A Tensor (a tuple of Tensors for multi-output ops).
    Raises:
      UnknownOpError, ArityError, AttrError, DTypeError, ShapeError, IndexOutOfRangeError.
    """
    if name is None:
        stack = _SCOPE.get()
        name = (stack[-1][1] or None) if stack else None  # the running module's path (contract: "" -> None)
    op = spec.OPS.get(op_name)
    if op is None:
        from .errors import UnknownOpError
        raise UnknownOpError(f"unknown op '{op_name}'", op=op_name)
    try:
        check_arity(op, len(inputs))
        norm = check_attrs(op, attrs)
        inputs = _promote(op, list(inputs))
        dtypes = infer_dtypes(op, [x.dtype for x in inputs], norm)
        shapes = infer_shapes(op, [x.shape for x in inputs], norm)
        env = current_env() or {}
        for sh in shapes:  # before any kernel allocates it
            check_numel(tuple(evaluate(d, env) if isinstance(d, Dim) and d.names <= env.keys() else d for d in sh),
                        "output shape")
    except JagError as e:
        raise e.with_context(op=op_name, node_name=name)
    if op.kind == "composite" and _EXPAND.get():
        if name is None:
            return LOWERINGS[op_name](*inputs, **norm)
        with name_scope(name):  # the core ops of a named composite keep its name
            return LOWERINGS[op_name](*inputs, **norm)
    record = OpRecord(op_name, inputs, norm, name)
    values = None
    if all(x.value is not None for x in inputs) and all(dim_names(v) <= env.keys() for v in norm.values() if isinstance(v, list)):
        try:
            with np.errstate(all="ignore"):
                result = IMPLS[op_name](*[x.value for x in inputs], **concrete_attrs(norm, env))
        except JagError as e:
            raise e.with_context(op=op_name, node_name=name)
        values = result if isinstance(result, tuple) else (result,)
        values = [np.asarray(v) for v in values]
        for v, dt, sh in zip(values, dtypes, shapes):
            expect = tuple(evaluate(d, env) for d in sh) if env or not any(isinstance(d, Dim) for d in sh) else None
            if v.dtype.name != dt or (expect is not None and v.shape != expect):
                raise InternalError(f"kernel result {v.dtype.name}{list(v.shape)} disagrees with the rule's "
                                    f"{dt}{shape_str(sh)}", op=op_name)
    outs = tuple(Tensor(None if values is None else values[k], dt, sh, record, k)
                 for k, (dt, sh) in enumerate(zip(dtypes, shapes)))
    record.outputs = outs
    return outs[0] if len(outs) == 1 else outs

"""numpy-style indexing of a Tensor, recorded as slice / gather / reshape ops.

Supported (numpy basic indexing semantics): integers (negative count from the end),
slices with positive steps (and negative steps on static dims, via gather), ``None``
(new axis), ``...``, and at most one integer array / Tensor (gather along that axis).
Boolean masks are not supported: their result shape depends on the data.
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import IndexOutOfRangeError, ShapeError
from .symbolic import Dim
from .tensor import Tensor, apply, constant

_END = 2 ** 63 - 1


def _is_array_index(k):
    return isinstance(k, (Tensor, np.ndarray, list))


def getitem(t: Tensor, key):
    if not isinstance(key, tuple):
        key = (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > t.ndim:
        raise IndexError(f"too many indices for a tensor of rank {t.ndim}")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (t.ndim - n_real))
        else:
            expanded.append(k)
    if not any(k is Ellipsis for k in key):
        expanded.extend([slice(None)] * (t.ndim - n_real))

    axes, starts, stops, steps = [], [], [], []
    final_shape = []      # list of (kind, payload): ("dim", axis) | ("new",) | ("adv", axis)
    reverse = []          # (axis, length, step) for negative-step slices
    drop = []             # axes indexed by an int
    advanced = None
    axis = 0
    for k in expanded:
        if k is None:
            final_shape.append(("new",))
            continue
        d = t.shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.start, k.stop, 1 if k.step is None else int(k.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step < 0:
                if isinstance(d, Dim):
                    raise ShapeError(f"a negative slice step on symbolic dim '{d}' is not supported")
                reverse.append((axis, range(*k.indices(d))))
            elif not (start in (None, 0) and stop is None and step == 1):
                axes.append(axis)
                starts.append(0 if start is None else int(start))
                stops.append(_END if stop is None else int(stop))
                steps.append(step)
            final_shape.append(("dim", axis))
        elif isinstance(k, numbers.Integral) and not isinstance(k, bool):
            k = int(k)
            if isinstance(d, int) and not -d <= k < d:
                raise IndexOutOfRangeError(f"index {k} is out of range for axis {axis} of size {d}")
            axes.append(axis)
            starts.append(k)
            stops.append(k + 1 if k != -1 else _END)
            steps.append(1)
            drop.append(axis)
        elif _is_array_index(k) or isinstance(k, np.integer):
            if advanced is not None:
                raise IndexError("only one integer-array index is supported (use jag.gather for more)")
            idx = k if isinstance(k, Tensor) else constant(np.asarray(k))
            if idx.dtype == "bool":
                raise IndexError("boolean mask indexing is not supported (its shape depends on the data); use jag.where")
            advanced = (axis, idx)
            final_shape.append(("adv", axis))
        else:
            raise IndexError(f"unsupported index {k!r}")
        axis += 1

    if advanced is not None and drop:
        block = sorted(drop + [advanced[0]])
        if block != list(range(block[0], block[0] + len(block))):
            raise IndexError("an integer-array index mixed with integer indices separated by slices moves axes "
                             "(numpy's rule); index in two steps")
    out = t
    if axes:
        out = apply("slice", out, axes=axes, starts=starts, stops=stops, steps=steps)
    for ax, rng in reverse:
        out = apply("gather", out, constant(np.asarray(list(rng), dtype=np.int64)), axis=ax)
    # the shape after slicing, before gather/reshape
    sliced = list(out.shape)
    if advanced is not None:
        ax, idx = advanced
        out = apply("gather", out, idx, axis=ax)
        idx_shape = list(idx.shape)
    shape = []
    for entry in final_shape:
        if entry[0] == "new":
            shape.append(1)
        elif entry[0] == "dim":
            shape.append(sliced[entry[1]])
        else:
            shape.extend(idx_shape)
    if list(out.shape) != shape:
        out = apply("reshape", out, shape=shape)
    return out

"""The shared, named shape rules of spec/ops.json ('shape_rules'): same, broadcast, reduce, matmul.

Dims are ints or symbolic :class:`~jag.symbolic.Dim`; two symbolic dims agree only when
their normal forms are equal, and a symbolic dim never silently broadcasts against an
int other than 1 (that would specialise the graph to one value).
"""
from __future__ import annotations

from ..errors import AttrError, ShapeError
from ..symbolic import Dim, shape_str
from . import shape_rule


def norm_axis(axis: int, rank: int, attr: str = "axis") -> int:
    """Map a possibly negative axis into [0, rank); AttrError when out of range (always, for rank 0)."""
    if not -rank <= axis < rank:
        raise AttrError(f"attr '{attr}': axis {axis} is out of range for rank {rank}", field=f"attrs.{attr}")
    return axis % rank


def norm_axes(axes, rank: int, attr: str = "axes") -> list:
    """Normalised, duplicate-free list of axes; None means every axis."""
    if axes is None:
        return list(range(rank))
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise AttrError(f"attr '{attr}': axis {a} is out of range for rank {rank}", field=f"attrs.{attr}")
        a %= rank
        if a in out:
            raise AttrError(f"attr '{attr}': axis {a} appears twice", field=f"attrs.{attr}")
        out.append(a)
    return out


def broadcast_dims(a, b, what=""):
    """numpy broadcasting of one pair of dims."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, Dim) or isinstance(b, Dim):
        raise ShapeError(f"cannot broadcast dim {a} with {b}{what}: a symbolic dim broadcasts only with itself or 1")
    raise ShapeError(f"cannot broadcast dim {a} with {b}{what}")


def broadcast_shapes(*shapes) -> tuple:
    """numpy.broadcast_shapes over int/Dim shapes (ShapeError names the shapes)."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        d = 1
        for s in shapes:
            j = i - (rank - len(s))
            if j >= 0:
                try:
                    d = broadcast_dims(d, s[j])
                except ShapeError as e:
                    raise ShapeError("shapes " + " and ".join(shape_str(s) for s in shapes) +
                                     f" do not broadcast at dim {i - rank}: {e.detail}") from None
        out.append(d)
    return tuple(out)


@shape_rule("same")
def _same(shapes, attrs):
    return [shapes[0]]


@shape_rule("same_axis")
def _same_axis(shapes, attrs):
    norm_axis(attrs["axis"], len(shapes[0]))
    return [shapes[0]]


@shape_rule("broadcast")
def _broadcast(shapes, attrs):
    return [broadcast_shapes(*shapes)]


@shape_rule("reduce")
def _reduce(shapes, attrs):
    (x,) = shapes
    axes = norm_axes(attrs["axes"], len(x))
    if attrs["keepdims"]:
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


@shape_rule("matmul")
def _matmul(shapes, attrs):
    a, b = shapes
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(f"matmul needs operands of rank >= 1, got shapes {shape_str(a)} and {shape_str(b)}")
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2]:
        raise ShapeError(f"input 1 has shape {shape_str(b)}; expected [{a2[-1]},*] to match input 0 {shape_str(a)}",
                         field="inputs[1]")
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return [out]

"""Semiring backpropagation over the scalar gradient graph: top gradient paths, path entropy, edge flows.

Semantics: Du, Torroba Hennigen, Stoehr, Warstadt, Cotterell, "Generalizing Backpropagation
for Gradient-Based Interpretability", ACL 2023 (arXiv 2307.03056); the JAG specification is
the proposal of ``shared/notes/semiring-backprop.md`` §3.

**The gradient graph.** One node per tensor element of every value of one execution of a
graph; one edge per structurally non-zero local derivative ∂out_i/∂in_j of every node and
input slot, weighted by that derivative evaluated at the recorded values. It is a multigraph:
``multiply x x`` gives two edges from every x_i (slot 0 and slot 1), so paths depend on how
the graph is written (``x*x`` has two paths where ``square`` would have one). Backpropagation
computes, for every element v, β(v) = ⊕ over the paths v → target of the ⊗-product of the
lifted edge weights; with the real semiring this is the gradient (``jag.grad``).

**Semirings** (:class:`Semiring`): ``real`` (the gradient), ``abs`` (Z = Σ_paths Π|w|),
``logabs`` (log Z), ``count`` (number of paths), ``entropy`` (the expectation semiring
⟨Z, Σ W̃ log W̃⟩, linear space: underflows on deep graphs), ``logentropy`` (⟨log Z, H⟩,
overflow-safe), and the path-tracking ones (:class:`PathSemiring`, with backpointers):
``maxtimes_abs`` (the strongest path by |W|), ``kbest_abs(k)`` (the k strongest),
``maxtimes_signed`` (most positive and most negative path, an explicit "no path" state:
(−inf, +inf)) and ``kbest_signed(k)``. Build your own with ``Semiring(name, zero=, one=,
plus=, times=, lift=)``; it runs through every op class (contractions fall back to a
chunked elementwise ⊗ and ⊕-reduction).

**Op classes** (one rule per class, never the whole scalar graph of a model):

- elementwise (unary, n-ary, broadcasting; also the elementwise composites relu, sigmoid,
  gelu, dropout and cast): the diagonal Jacobian from the op's own VJP rule
  (``jag.vjp`` with the inputs broadcast to the output shape and a ones cotangent),
  broadcast copies combined with the semiring's ⊕. Selection ops (where, maximum,
  minimum, relu, dropout) have an edge only where the derivative is non-zero; others
  always (a zero derivative is a path of weight 0 for real/count/signed);
- contractions (matmul with batch broadcasting, linear): semiring matrix products (BLAS
  for real/abs/count/entropy/logabs/logentropy, chunked max-times with backpointers for the
  path semirings; signed: both channels per term before reducing);
- reductions (reduce_sum, reduce_mean, reduce_max/min: edges to the winners, ties share
  as ``jag.grad``), movement (reshape, transpose, slice, pad, concat, broadcast_to,
  gather, embedding, scatter_add: weight-1 selections; index maps from the ops' numpy
  implementations on index arrays);
- row-wise dense ops (softmax, log_softmax, layer_norm on x): "atomic": the per-row
  Jacobian from the op's VJP with one-hot cotangents (rows > 1024 elements are expanded
  instead); layer_norm's weight and bias: diagonal broadcast edges;
- conv2d, max_pool2d, avg_pool2d: "expand": run on their core lowering (ops/composite.py),
  shown collapsed (one hop per composite, with the product of the internal derivatives).
  The lowering's im2col matmul also has edges of weight 0 from the weights through the
  zero padding: ``count``, ``real`` and the signed semirings see them (paths of weight 0),
  ``abs``, the entropies and ``kbest_abs``/``maxtimes_abs`` do not.

``GRANULARITY`` records the choice per op; ``expand=`` overrides it. Ties are broken
deterministically: among paths of equal value, the lexicographically first sequence of
edges from source to target wins, an edge being ordered by (program node, input slot,
output element); the super-source orders the sources as given, then by element. Within an
expanded composite the order follows its lowered nodes. Non-differentiable points follow
``jag.grad`` (relu'(0) = 1/2, ties of max share). Integer and bool values carry no edges,
nor do the non-differentiable ports of spec/ops.json, nor values listed in
``metadata["jag.grad"]["stop_gradient"]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import spec
from .errors import DTypeError, GraphError, InputError, ShapeError

__all__ = ["Semiring", "PathSemiring", "real", "abs_", "logabs", "count", "entropy_semiring", "logentropy",
           "maxtimes_abs", "maxtimes_signed", "kbest_abs", "kbest_signed", "backprop", "top_paths", "entropy",
           "edge_flow", "GradientPath", "Step", "GRANULARITY", "SEMIRINGS", "values_of"]

_F = np.float64
_CHUNK = 1 << 21   # elements per block of a chunked contraction


# ================================================================== semirings

def _as_tuple(c):
    return c if isinstance(c, tuple) else (c,)


class Semiring:
    """A commutative semiring over tuples of same-shape float arrays ("channels").

    Args:
      name: identifier.
      zero, one: the neutral elements, one scalar per channel (a scalar for one channel).
      plus(a, b), times(a, b): ⊕ and ⊗ on carriers (tuples of broadcastable arrays), elementwise.
      lift(w): float64 array of local derivatives -> carrier of the same shape.
      finalize(c): carrier -> user-facing statistic (default: the carrier, or its only channel).
      reduce(c, axis): optional fast ⊕ over an axis (default: pairwise fold with ``plus``).
      segment(c, ids, n): optional fast ⊕ of the flat elements of ``c`` into ``n`` buckets.
      matmul(c, w): optional fast contraction: c [B,M,N] carrier, w [B,N,K] real weights ->
        [B,M,K] carrier = ⊕_n c[b,m,n] ⊗ lift(w[b,n,k]).
    The axioms (⊕ associative and commutative with identity zero, ⊗ associative with identity
    one, zero annihilating, ⊗ distributing over ⊕) are the caller's promise; the results are
    exact path sums only if they hold.
    """
    paths = False
    tail = ()

    def __init__(self, name, *, zero, one, plus, times, lift, finalize=None, reduce=None, segment=None,
                 matmul=None, doc=""):
        self.name, self.doc = name, doc
        self.zero = tuple(float(z) for z in (zero if isinstance(zero, (tuple, list)) else (zero,)))
        self.one = tuple(float(o) for o in (one if isinstance(one, (tuple, list)) else (one,)))
        if len(self.zero) != len(self.one):
            raise ValueError(f"semiring {name}: zero has {len(self.zero)} channels, one has {len(self.one)}")
        self._plus, self._times, self._lift = plus, times, lift
        self._finalize, self._reduce, self._segment, self._matmul = finalize, reduce, segment, matmul

    def __repr__(self):
        return f"<semiring {self.name}>"

    # -- the record
    def plus(self, a, b):
        return _as_tuple(self._plus(a, b))

    def times(self, a, b):
        return _as_tuple(self._times(a, b))

    def lift(self, w):
        return tuple(np.asarray(x, dtype=_F) for x in _as_tuple(self._lift(np.asarray(w, dtype=_F))))

    def finalize(self, c):
        if self._finalize is not None:
            return self._finalize(c)
        return c[0] if len(c) == 1 else c

    def zeros(self, shape):
        return tuple(np.full(shape, z, dtype=_F) for z in self.zero)

    def ones(self, shape):
        return tuple(np.full(shape, o, dtype=_F) for o in self.one)

    # -- derived operations used by the op-class rules
    def edge(self, beta, w, out_ids):
        """lift(w) ⊗ β for a batch of edges (``out_ids`` only matters to path semirings)."""
        return self.times(self.lift(w), beta)

    def tag(self, c, node, slot):
        return c

    def reduce(self, c, axis):
        """⊕ over ``axis`` (earlier elements first)."""
        if self._reduce is not None:
            return _as_tuple(self._reduce(c, axis))
        c = tuple(np.moveaxis(a, axis, 0) for a in c)
        n = c[0].shape[0]
        if n == 0:
            return self.zeros(c[0].shape[1:])
        while n > 1:
            half = n // 2
            r = self.plus(tuple(a[:half] for a in c), tuple(a[half:2 * half] for a in c))
            r = tuple(np.broadcast_to(x, a[:half].shape) for x, a in zip(r, c))
            if n % 2:
                r = tuple(np.concatenate([x, a[2 * half:]]) for x, a in zip(r, c))
            c, n = r, n - half
        return tuple(np.array(a[0]) for a in c)

    def segment(self, c, ids, n):
        """⊕ of the flat elements of ``c`` (in order) into ``n`` buckets ``ids``."""
        if self._segment is not None:
            return _as_tuple(self._segment(c, ids, n))
        return _padded_segment(self, c, ids, n)

    def matmul(self, c, w, out_ids):
        if self._matmul is not None:
            return _as_tuple(self._matmul(c, w))
        return _chunked_matmul(self, c, w, out_ids)


def _padded_segment(S, c, ids, n):
    """Generic segment-⊕: group by id (stable), pad groups with zero, ⊕-reduce each row."""
    out = tuple(np.array(a) for a in S.zeros((n,)))
    if len(ids) == 0:
        return out
    order = np.argsort(ids, kind="stable")
    sid = ids[order]
    uniq, start, counts = np.unique(sid, return_index=True, return_counts=True)
    width = int(counts.max())
    pos = np.arange(len(sid)) - np.repeat(start, counts)
    row = np.repeat(np.arange(len(uniq)), counts)
    padded = tuple(np.array(a) for a in S.zeros((len(uniq), width)))
    for p, a in zip(padded, c):
        p[row, pos] = a[order]
    red = S.reduce(padded, 1)
    for o, r in zip(out, red):
        o[uniq] = r
    return out


def _chunked_matmul(S, c, w, out_ids):
    """⊕_n c[b,m,n] ⊗ lift(w[b,n,k]) by broadcasting, in blocks of rows m."""
    B, M, N = c[0].shape[:3]
    K = w.shape[2]
    tail = S.tail
    per_row = max(1, N * K * int(np.prod(tail, dtype=np.int64)))
    step = max(1, _CHUNK // per_row)
    outs = []
    for m0 in range(0, M, step):
        sl = slice(m0, min(M, m0 + step))
        beta = tuple(a[:, sl, :, None] for a in c)                 # [B, m, N, 1, tail]
        ww = np.broadcast_to(w[:, None, :, :], (B, sl.stop - sl.start, N, K))
        ids = np.broadcast_to(out_ids[:, sl, :, None], ww.shape)
        cand = S.edge(beta, ww, ids)                                 # [B, m, N, K, tail]
        outs.append(S.reduce(cand, 2))
    if not outs:
        return S.zeros((B, 0, K))
    return tuple(np.concatenate(parts, axis=1) for parts in zip(*outs))


# -- the built-in sum semirings
def _bincount_segment(c, ids, n):
    return tuple(np.bincount(ids, weights=a, minlength=n).astype(_F) for a in c)


def _sum_reduce(c, axis):
    return tuple(np.sum(a, axis=axis) for a in c)


real = Semiring("real", zero=0, one=1, plus=lambda a, b: (a[0] + b[0],), times=lambda a, b: (a[0] * b[0],),
                lift=lambda w: (w,), reduce=_sum_reduce, segment=_bincount_segment,
                matmul=lambda c, w: (np.matmul(c[0], w),), doc="the gradient (+, ×)")

abs_ = Semiring("abs", zero=0, one=1, plus=lambda a, b: (a[0] + b[0],), times=lambda a, b: (a[0] * b[0],),
                lift=lambda w: (np.abs(w),), reduce=_sum_reduce, segment=_bincount_segment,
                matmul=lambda c, w: (np.matmul(c[0], np.abs(w)),), doc="total absolute path weight Z")

count = Semiring("count", zero=0, one=1, plus=lambda a, b: (a[0] + b[0],), times=lambda a, b: (a[0] * b[0],),
                 lift=lambda w: (np.ones_like(w),), reduce=_sum_reduce, segment=_bincount_segment,
                 matmul=lambda c, w: (np.matmul(c[0], np.ones_like(w)),), doc="number of paths")


def _log_abs(w):
    with np.errstate(divide="ignore"):
        return np.log(np.abs(w))


def _logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True) if a.shape[axis] else np.full_like(np.sum(a, axis=axis, keepdims=True), -np.inf)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis)


def _log_matmul(c, w):
    """log Σ_n exp(c[b,m,n]) |w[b,n,k]|, shifted per row; rows that underflow are redone exactly."""
    a = c[0]
    m = np.max(a, axis=2, keepdims=True) if a.shape[2] else np.zeros(a.shape[:2] + (1,))
    m = np.where(np.isfinite(m), m, 0.0)
    aw = np.abs(w)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.matmul(np.exp(a - m), aw)
        out = np.log(s) + m
        has = np.matmul((a > -np.inf).astype(_F), (aw > 0).astype(_F)) > 0
        bad = has & ~(out > -np.inf)
        if bad.any():
            for b, i, k in zip(*np.nonzero(bad)):
                out[b, i, k] = _logsumexp(a[b, i] + _log_abs(w[b, :, k]), 0)
    return (out,)


logabs = Semiring("logabs", zero=-np.inf, one=0.0, plus=lambda a, b: (np.logaddexp(a[0], b[0]),),
                  times=lambda a, b: (a[0] + b[0],), lift=lambda w: (_log_abs(w),),
                  reduce=lambda c, axis: (_logsumexp(c[0], axis),), matmul=_log_matmul,
                  doc="log of the total absolute path weight, log Z")


# -- the entropy (expectation) semiring, linear space: <Z, B = Σ W̃ log W̃>
def _xlogx(w):
    a = np.abs(w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)


def _entropy_final(c):
    z, b = c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(z > 0, np.log(np.where(z > 0, z, 1.0)) - b / np.where(z > 0, z, 1.0), np.nan)


entropy_semiring = Semiring(
    "entropy", zero=(0, 0), one=(1, 0),
    plus=lambda a, b: (a[0] + b[0], a[1] + b[1]),
    times=lambda a, b: (a[0] * b[0], a[0] * b[1] + a[1] * b[0]),
    lift=lambda w: (np.abs(w), _xlogx(w)),
    finalize=_entropy_final, reduce=_sum_reduce, segment=_bincount_segment,
    matmul=lambda c, w: (np.matmul(c[0], np.abs(w)), np.matmul(c[1], np.abs(w)) + np.matmul(c[0], _xlogx(w))),
    doc="expectation semiring <Z, Σ W log W> on |w| (linear space); finalize gives H = log Z - B/Z")


# -- logentropy: <log Z, H>, the entropy of the path distribution kept in log space
def _le_plus(a, b):
    la, ha = a
    lb, hb = b
    with np.errstate(invalid="ignore"):
        l = np.logaddexp(la, lb)
        fin = l > -np.inf
        ls = np.where(fin, l, 0.0)
        qa = np.where(la > -np.inf, np.exp(np.where(la > -np.inf, la, 0.0) - ls), 0.0)
        qb = np.where(lb > -np.inf, np.exp(np.where(lb > -np.inf, lb, 0.0) - ls), 0.0)
        ta = np.where(qa > 0, qa * (ha - (np.where(la > -np.inf, la, 0.0) - ls)), 0.0)
        tb = np.where(qb > 0, qb * (hb - (np.where(lb > -np.inf, lb, 0.0) - ls)), 0.0)
    return l, np.where(fin, ta + tb, 0.0)


def _le_times(a, b):
    l = a[0] + b[0]
    return l, np.where(l > -np.inf, a[1] + b[1], 0.0)


def _le_reduce(c, axis):
    l, h = c
    tot = _logsumexp(l, axis)
    fin = tot > -np.inf
    ts = np.expand_dims(np.where(fin, tot, 0.0), axis)
    ok = l > -np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(ok, l, 0.0) - ts
        q = np.where(ok, np.exp(d), 0.0)
        hh = np.sum(np.where(q > 0, q * (h - d), 0.0), axis=axis)
    return tot, np.where(fin, hh, 0.0)


def _le_matmul(c, w):
    """<log Z, H> contraction with three matmuls, shifted per row (exact fallback on underflow)."""
    l, h = c
    ok = l > -np.inf
    m = np.max(np.where(ok, l, -np.inf), axis=2, keepdims=True) if l.shape[2] else np.zeros(l.shape[:2] + (1,))
    m = np.where(np.isfinite(m), m, 0.0)
    aw = np.abs(w)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.where(ok, np.exp(np.where(ok, l, 0.0) - m), 0.0)
        s = np.matmul(e, aw)                                                 # Σ_n |w| e^(l - m)
        t1 = np.matmul(e * np.where(ok, h - np.where(ok, l, 0.0), 0.0), aw)   # Σ |w| e (H - l)
        t2 = np.matmul(e, _xlogx(w))                                         # Σ |w| log|w| e
        lz = np.log(s) + m
        hz = lz + (t1 - t2) / s
        has = np.matmul(ok.astype(_F), (aw > 0).astype(_F)) > 0
    fin = lz > -np.inf
    bad = has & ~fin
    lz = np.where(fin, lz, -np.inf)
    hz = np.where(fin, hz, 0.0)
    if bad.any():
        for b, i, k in zip(*np.nonzero(bad)):
            r = _le_reduce((l[b, i] + _log_abs(w[b, :, k]), h[b, i]), 0)
            lz[b, i, k], hz[b, i, k] = r[0], r[1]
    return lz, hz


logentropy = Semiring("logentropy", zero=(-np.inf, 0), one=(0, 0), plus=_le_plus, times=_le_times,
                      lift=lambda w: (_log_abs(w), np.zeros_like(w)), finalize=lambda c: c[1],
                      reduce=_le_reduce, matmul=_le_matmul,
                      doc="<log Z, H>: entropy of the path distribution p ∝ Π|w| in log space (overflow-safe)")


# ================================================================== path semirings (backpointers)

_PCH = ("val", "valid", "node", "slot", "out", "part", "rank")


class PathSemiring:
    """k-best paths with backpointers; ``signed`` keeps the k most positive AND the k most negative.

    The carrier of an element is ``(val, valid, node, slot, out, part, rank)``, each an array
    with trailing dims ``(parts, k)``: the best path values in rank order, whether an entry
    holds a path (the explicit "no path" state), and the backpointer (the program node
    consuming the element, the slot, the output element, and the part/rank in that output's
    list). ``signed=False``: one part ranked by |W|, paths of weight 0 excluded.
    ``signed=True``: part 0 the most positive, part 1 the most negative W; a negative edge
    weight swaps the parts *before* reducing (notes §3.10 T5).
    """
    paths = True

    def __init__(self, k=1, signed=False, name=None):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        self.k, self.signed = k, signed
        self.parts = 2 if signed else 1
        self.tail = (self.parts, k)
        self.name = name or (("kbest_signed" if signed else "kbest_abs") + f"({k})")

    def __repr__(self):
        return f"<semiring {self.name}>"

    def zeros(self, shape):
        sh = tuple(shape) + self.tail
        val = np.zeros(sh)
        if self.signed:
            val[..., 0, :], val[..., 1, :] = -np.inf, np.inf
        return (val, np.zeros(sh, bool)) + tuple(np.full(sh, -1, np.int64) for _ in range(5))

    def ones(self, shape):
        c = self.zeros(shape)
        c[0][..., :, 0] = 1.0
        c[1][..., :, 0] = True
        return c

    def finalize(self, c):
        val, valid = c[0], c[1]
        if self.signed:
            top = np.where(valid[..., 0, :], val[..., 0, :], -np.inf)
            bot = np.where(valid[..., 1, :], val[..., 1, :], np.inf)
            return (top[..., 0], bot[..., 0]) if self.k == 1 else (top, bot)
        v = np.where(valid[..., 0, :], val[..., 0, :], 0.0)
        return v[..., 0] if self.k == 1 else v

    def edge(self, beta, w, out_ids):
        w = np.asarray(w, dtype=_F)
        val, valid = beta[0], beta[1]
        wx = w[..., None, None]
        k, P = self.k, self.parts
        lead = np.broadcast_shapes(w.shape, val.shape[:-2])
        if self.signed:
            neg = (w < 0)[..., None, None]
            src = np.where(neg, 1 - np.arange(P)[:, None], np.arange(P)[:, None])          # [..., P, 1]
            src = np.broadcast_to(src, lead + (P, k))
            with np.errstate(invalid="ignore"):
                v = np.take_along_axis(np.broadcast_to(val, lead + (P, k)), src, axis=-2) * wx
            ok = np.take_along_axis(np.broadcast_to(valid, lead + (P, k)), src, axis=-2)
            v = np.where(ok, v, np.where(np.arange(P)[:, None] == 0, -np.inf, np.inf))
            part = src
        else:
            v = np.abs(wx) * val
            ok = valid & (wx != 0)
            part = np.broadcast_to(np.arange(P)[:, None], lead + (P, k))
        sh = lead + (P, k)
        return (np.broadcast_to(v, sh), np.broadcast_to(ok, sh), np.full(sh, -1, np.int64), np.full(sh, -1, np.int64),
                np.broadcast_to(np.asarray(out_ids, np.int64)[..., None, None], sh),
                np.broadcast_to(part, sh), np.broadcast_to(np.arange(k), sh))

    def tag(self, c, node, slot):
        return c[:2] + (np.full(c[0].shape, node, np.int64), np.full(c[0].shape, slot, np.int64)) + c[4:]

    def _topk(self, key):
        """Indices of the k smallest keys along the last axis, ties by index (stable), in key order."""
        k, C = self.k, key.shape[-1]
        if k == 1:
            return np.argmin(key, axis=-1)[..., None]
        if C <= 4 * k:
            return np.argsort(key, axis=-1, kind="stable")[..., :k]
        kth = np.partition(key, k - 1, axis=-1)[..., k - 1:k]
        less = key < kth
        eq = key == kth
        room = k - np.sum(less, axis=-1, keepdims=True)
        take = less | (eq & (np.cumsum(eq, axis=-1) <= room))
        idx = np.nonzero(take.reshape(-1, C))[1].reshape(key.shape[:-1] + (k,))
        order = np.argsort(np.take_along_axis(key, idx, axis=-1), axis=-1, kind="stable")
        return np.take_along_axis(idx, order, axis=-1)

    def _keys(self, val, ok):
        sign = np.where(np.arange(self.parts) == 0, -1.0, 1.0)[:, None]            # part 0 descending
        with np.errstate(invalid="ignore"):
            return np.where(ok & ~np.isnan(val), sign * val, np.inf)

    def _select(self, pool):
        """pool: channels [..., C, P, k] in tie order -> [..., P, k] (best first per part)."""
        k, P = self.k, self.parts
        lead = pool[0].shape[:-3]
        C = pool[0].shape[-3]
        if C == 0:
            return self.zeros(lead)
        flat = [np.moveaxis(a, -2, -3).reshape(lead + (P, C * k)) for a in pool]       # [..., P, C*k]
        idx = self._topk(self._keys(flat[0], flat[1]))
        return tuple(np.take_along_axis(a, idx, axis=-1) for a in flat)

    def plus(self, a, b):
        return self._select(tuple(np.stack([x, y], axis=-3) for x, y in zip(a, b)))

    def reduce(self, c, axis):
        nd = c[0].ndim - 2
        axis = axis % nd
        return self._select(tuple(np.moveaxis(a, axis, nd - 1) for a in c))

    def segment(self, c, ids, n):
        return _padded_segment(self, c, ids, n)

    def matmul(self, c, w, out_ids):
        """Max-times contraction in row blocks; only the selected entries get their backpointers."""
        val, valid = c[0], c[1]                                   # [B, M, N, P, k]
        B, M, N = val.shape[:3]
        K, P, k = w.shape[2], self.parts, self.k
        res = self.zeros((B, M, K))
        res = tuple(np.array(a) for a in res)
        if M == 0 or N == 0 or K == 0:
            return res
        step = max(1, _CHUNK // max(1, N * K * P * k))
        W = w[:, None, :, :, None, None]                          # [B, 1, N, K, 1, 1]
        bidx = np.arange(B)[:, None, None, None, None]
        for m0 in range(0, M, step):
            sl = slice(m0, min(M, m0 + step))
            v, ok = val[:, sl, :, None], valid[:, sl, :, None]     # [B, m, N, 1, P, k]
            if self.signed:
                pos = W >= 0
                with np.errstate(invalid="ignore"):
                    cand = W * np.where(pos, v, v[..., ::-1, :])
                cok = np.where(pos, ok, ok[..., ::-1, :])
            else:
                cand = np.abs(W) * v
                cok = ok & (W != 0)
            cand = np.broadcast_to(cand, cand.shape[:3] + (K, P, k))
            cok = np.broadcast_to(cok, cand.shape)
            ct = np.moveaxis(cand, 2, 4).reshape(cand.shape[:2] + (K, P, N * k))   # [B, m, K, P, N*k]
            okt = np.moveaxis(cok, 2, 4).reshape(ct.shape)
            idx = self._topk(self._keys(ct, okt))                                  # [B, m, K, P, k]
            n_idx, r_idx = np.divmod(idx, k)
            res[0][:, sl] = np.take_along_axis(ct, idx, axis=-1)
            res[1][:, sl] = np.take_along_axis(okt, idx, axis=-1)
            m_idx = np.arange(sl.start, sl.stop)[None, :, None, None, None]
            res[4][:, sl] = out_ids[bidx, m_idx, n_idx]
            parts = np.broadcast_to(np.arange(P)[:, None], idx.shape)
            if self.signed:
                kk = np.arange(K)[None, None, :, None, None]
                neg = w[bidx, n_idx, kk] < 0
                parts = np.where(neg, 1 - parts, parts)
            res[5][:, sl] = parts
            res[6][:, sl] = r_idx
        return res


def kbest_abs(k: int) -> PathSemiring:
    """The k paths of largest |W| (paths of weight 0 excluded), with backpointers."""
    return PathSemiring(k, signed=False)


def kbest_signed(k: int) -> PathSemiring:
    """The k most positive and the k most negative paths (by W), with backpointers."""
    return PathSemiring(k, signed=True)


maxtimes_abs = PathSemiring(1, signed=False, name="maxtimes_abs")
maxtimes_signed = PathSemiring(1, signed=True, name="maxtimes_signed")

SEMIRINGS = {s.name: s for s in (real, abs_, logabs, count, entropy_semiring, logentropy, maxtimes_abs,
                                 maxtimes_signed)}


# ================================================================== carrier helpers (leading dims)

def _lead(S, c):
    return c[0].shape[:c[0].ndim - len(S.tail)]


def _reshape(S, c, shape):
    return tuple(np.reshape(a, tuple(shape) + a.shape[a.ndim - len(S.tail):]) for a in c)


def _flat(S, c):
    return tuple(np.reshape(a, (-1,) + a.shape[a.ndim - len(S.tail):]) for a in c)


def _take(S, c, idx):
    f = _flat(S, c)
    return tuple(a[idx] for a in f)


def _place(S, c, idx, n):
    out = S.zeros((n,))
    out = tuple(np.array(o) for o in out)
    for o, a in zip(out, c):
        o[idx] = a
    return out


# ================================================================== the program (expanded graph)

GRANULARITY = {
    # "atomic": one rule for the whole op; "expand": the rules run on its core lowering
    "relu": "atomic", "sigmoid": "atomic", "gelu": "atomic", "dropout": "atomic",
    "softmax": "atomic", "log_softmax": "atomic", "layer_norm": "atomic",
    "reduce_mean": "atomic", "reduce_min": "atomic", "linear": "atomic", "embedding": "atomic",
    "conv2d": "expand", "max_pool2d": "expand", "avg_pool2d": "expand",
}
_ROWWISE_LIMIT = 1024  # longer rows of softmax/log_softmax/layer_norm are expanded (n^2 Jacobian)

_SELECTION = {"where", "maximum", "minimum", "relu", "dropout"}
_ELEMENTWISE_RULES = {"same", "broadcast", "dropout"}
# op classes from spec/ops.json's "family" (and shape rule): reductions (not argmax), selections
# and permutations of elements (movement and index ops), row-wise normalizations
_REDUCTIONS = {o.name for o in spec.OPS.values() if o.family == "reduce" and o.shape_rule == "reduce"}
_MOVEMENT = {o.name for o in spec.OPS.values() if o.family in ("movement", "index")}
_ROWWISE = {o.name for o in spec.OPS.values() if o.family == "normalization"}


@dataclass
class _POp:
    index: int          # node index in the original graph
    op: str
    attrs: dict
    inputs: list        # value keys
    output: str
    slots: list         # original input slot per input (None: an internal value of an expanded composite)
    internal: bool


class _Program:
    """The graph's nodes with the expanded composites replaced by their lowering, and all values."""

    def __init__(self, graph, values, expand=None):
        from .interpret import bind_inputs
        from .ops import check_attrs, concrete_attrs
        missing = [vi.name for vi in graph.inputs if vi.name not in values]
        if missing:
            raise InputError(f"values has no array for the graph input(s) {', '.join(missing)}", field=missing[0])
        self.graph = graph
        _, env = bind_inputs(graph, [np.asarray(values[vi.name]) for vi in graph.inputs])
        self.values = {}
        for name, arr in graph.tensors.items():
            self.values[name] = np.asarray(values.get(name, arr))
        for vi in graph.inputs:
            self.values[vi.name] = np.asarray(values[vi.name])
        expand = set(expand if expand is not None else [op for op, g in GRANULARITY.items() if g == "expand"])
        self.granularity = {}
        self.ops: list = []
        self.internal = set()
        self.stopped = set(_grad_meta(graph).get("stop_gradient", []))
        for i, node in enumerate(graph.nodes):
            for name in node.outputs:
                if name not in values:
                    raise InputError(f"values has no array for '{name}', output of node {i} ({node.op}); pass the "
                                     "values of every node (jag.semiring.values_of(graph, *args))", node=i, op=node.op,
                                     field=name)
                self.values[name] = np.asarray(values[name])
            attrs = concrete_attrs(check_attrs(spec.OPS[node.op], node.attrs), env)
            ex = node.op in expand and spec.OPS[node.op].kind == "composite"
            if node.op in _ROWWISE and not ex:
                x = self.values[node.inputs[0]]
                if _row_len(node.op, attrs, x.shape) > _ROWWISE_LIMIT:
                    ex = True
            if spec.OPS[node.op].kind == "composite":
                self.granularity[node.op] = "expand" if ex else "atomic"
            if ex:
                self._expand(i, node, attrs)
            else:
                self.ops.append(_POp(i, node.op, attrs, list(node.inputs), node.outputs[0],
                                     list(range(len(node.inputs))), False))

    def _expand(self, i, node, attrs):
        from .graph import build_graph
        from .ops import IMPLS, check_attrs, concrete_attrs
        from .tensor import Tensor, apply, expanding_composites
        ins = [Tensor(self.values[n], self.values[n].dtype.name, self.values[n].shape, name=f"in{k}", kind="input")
               for k, n in enumerate(node.inputs)]
        with expanding_composites():
            out = apply(node.op, *ins, **attrs)
        sub = build_graph(ins, [out])
        prefix = f"{node.outputs[0]}/"
        rename = {f"in{k}": n for k, n in enumerate(node.inputs)}
        for name, arr in sub.tensors.items():
            rename[name] = prefix + name
            self.values[prefix + name] = arr
            self.internal.add(prefix + name)
        final = sub.outputs[0].name
        if final in rename:  # the lowering returned an input unchanged: an identity hop
            rename[final] = rename[final]
        for n in sub.nodes:
            key = node.outputs[0] if n.outputs[0] == final else prefix + n.outputs[0]
            rename[n.outputs[0]] = key
            a = concrete_attrs(check_attrs(spec.OPS[n.op], n.attrs), {})
            if key != node.outputs[0]:
                with np.errstate(all="ignore"):
                    self.values[key] = np.asarray(IMPLS[n.op](*[self.values[rename[x]] for x in n.inputs], **a))
                self.internal.add(key)
            slots = [int(x[2:]) if x.startswith("in") and x in {f"in{k}" for k in range(len(ins))} else None
                     for x in n.inputs]
            self.ops.append(_POp(i, n.op, a, [rename[x] for x in n.inputs], key, slots, True))


_CACHE: list = []   # [(key, graph, values, program, rules)], the 2 most recent


def _cached_program(graph, values, expand):
    """The program and its rule cache for (graph, values, expand), reused across calls.

    Keyed by the identity of the graph, of the values dict and of every array in it, so a
    new execution (or a replaced array) builds a new program.
    """
    key = (id(graph), id(values), tuple(sorted(expand)) if expand is not None else None,
           tuple((k, id(a)) for k, a in values.items()), len(graph.nodes))
    for entry in _CACHE:
        if entry[0] == key:
            return entry[3], entry[4]
    prog = _Program(graph, values, expand)
    _CACHE.insert(0, (key, graph, values, prog, {}))
    del _CACHE[2:]
    return prog, _CACHE[0][4]


def _grad_meta(graph) -> dict:
    """``metadata["jag.grad"]`` (spec/README.md §2) or {}."""
    meta = graph.metadata.get("jag.grad") if isinstance(graph.metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def _row_len(op, attrs, shape):
    from .ops.shapes import norm_axis
    if not shape:
        return 1
    ax = norm_axis(attrs["axis"], len(shape))
    return int(np.prod(shape[ax:], dtype=np.int64)) if op == "layer_norm" else int(shape[ax])


def _is_float(a) -> bool:
    return np.asarray(a).dtype.kind == "f"


# ================================================================== local derivatives (from the ops' VJPs)

def _vjp_of(op, attrs, arrays, diff_slots, cotangent):
    """Cotangents of ``arrays[s]`` (s in diff_slots) for ``op(*arrays)`` and ``cotangent``, via jag.vjp."""
    from .autodiff import vjp
    from .tensor import apply, constant
    fixed = [constant(a) for a in arrays]

    def f(*xs):
        args = list(fixed)
        for s, x in zip(diff_slots, xs):
            args[s] = x
        return apply(op, *args, **attrs)

    out, fn = vjp(f, *[np.asarray(arrays[s]) for s in diff_slots])
    return [np.asarray(g.numpy() if hasattr(g, "numpy") else g, dtype=_F) for g in
            fn(np.asarray(cotangent, dtype=out.dtype))]


# ================================================================== op-class rules

class _MapRule:
    """Sparse edges out_idx[e] <- in_idx[e] with weight w[e], sorted by out_idx (edge order)."""

    def __init__(self, out_idx, in_idx, w, n_in, n_out):
        self.out_idx, self.in_idx = np.asarray(out_idx, np.int64), np.asarray(in_idx, np.int64)
        self.w, self.n_in, self.n_out = np.asarray(w, _F), n_in, n_out
        counts = np.bincount(self.in_idx, minlength=n_in) if len(self.in_idx) else np.zeros(n_in, np.int64)
        self.unique = bool(counts.max(initial=0) <= 1)
        self.identity = self.unique and len(self.in_idx) == n_in and bool(np.all(self.in_idx == np.arange(n_in)))

    def backward(self, S, beta_out):
        cand = S.edge(_take(S, beta_out, self.out_idx), self.w, self.out_idx)
        if self.identity:
            return cand
        if self.unique:
            return _place(S, cand, self.in_idx, self.n_in)
        return S.segment(cand, self.in_idx, self.n_in)

    def forward_abs(self, alpha_in):
        return np.bincount(self.out_idx, weights=alpha_in[self.in_idx] * np.abs(self.w), minlength=self.n_out)

    def weight(self, o, j):
        hit = np.nonzero((self.out_idx == o) & (self.in_idx == j))[0]
        return float(self.w[hit[0]]) if len(hit) else None


class _BmmRule:
    """β_in[b,m,k] = ⊕_n β_out[b,m,n] ⊗ lift(W[b,n,k]): out_ids [B,M,N], in_ids [B,M,K] (flat indices)."""

    def __init__(self, W, out_ids, in_ids, n_in, n_out):
        self.W, self.out_ids, self.in_ids = np.asarray(W, _F), np.asarray(out_ids, np.int64), np.asarray(in_ids, np.int64)
        self.n_in, self.n_out = n_in, n_out
        flat = self.in_ids.ravel()
        self.unique = bool(np.bincount(flat, minlength=n_in).max(initial=0) <= 1)

    def backward(self, S, beta_out):
        view = _reshape(S, _take(S, beta_out, self.out_ids.ravel()), self.out_ids.shape)
        res = _flat(S, S.matmul(view, self.W, self.out_ids))
        ids = self.in_ids.ravel()
        if self.unique:
            return _place(S, res, ids, self.n_in)
        return S.segment(res, ids, self.n_in)

    def forward_abs(self, alpha_in):
        a = alpha_in[self.in_ids]                                          # [B, M, K]
        contrib = np.matmul(a, np.swapaxes(np.abs(self.W), 1, 2))         # [B, M, N]
        return np.bincount(self.out_ids.ravel(), weights=contrib.ravel(), minlength=self.n_out)

    def weight(self, o, j):
        po = np.argwhere(self.out_ids == o)
        pi = np.argwhere(self.in_ids == j)
        for b, m, n in po:
            for b2, m2, k in pi:
                if b == b2 and m == m2:
                    return float(self.W[b, n, k])
        return None


def _index_array(shape):
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def _rule(prog, pop, slot):
    """The local structure of slot ``slot`` of program node ``pop`` (None: no edges)."""
    from .ops import IMPLS
    from .ops.shapes import norm_axis
    vals = [prog.values[x] for x in pop.inputs]
    x, out = vals[slot], prog.values[pop.output]
    n_in, n_out = x.size, out.size
    op, attrs = pop.op, pop.attrs
    rule = spec.OPS[op].shape_rule
    if op in _MOVEMENT:
        idx = _index_array(x.shape)
        if op == "concat":
            parts = [(_index_array(v.shape) + 1) if s == slot else np.zeros(v.shape, np.int64) for s, v in enumerate(vals)]
            src = IMPLS[op](*parts, **attrs) - 1
        elif op == "pad":
            src = IMPLS[op](idx + 1, **dict(attrs, value=0.0)) - 1
        elif op == "embedding":
            src = IMPLS[op](vals[0], idx)
        elif op == "gather":
            src = IMPLS[op](idx, vals[1], **attrs)
        elif op == "scatter_add":
            if slot == 0:
                src = idx
            else:  # updates[u] goes to out[gather(index of out, indices)[u]]
                dest = IMPLS["gather"](_index_array(out.shape), vals[1], **attrs).ravel()
                order = np.argsort(dest, kind="stable")
                return _MapRule(dest[order], np.arange(n_in)[order], np.ones(n_in), n_in, n_out)
        else:
            src = np.asarray(IMPLS[op](idx, **attrs))
        src = np.asarray(src).ravel()
        keep = np.nonzero(src >= 0)[0]
        return _MapRule(keep, src[keep], np.ones(len(keep)), n_in, n_out)
    if op in _REDUCTIONS:
        (w,) = _vjp_of(op, attrs, vals, [0], np.ones(out.shape, out.dtype))
        axes = attrs["axes"]
        nd = x.ndim
        axes = list(range(nd)) if axes is None else [norm_axis(a, nd) for a in axes]
        oi = _index_array(tuple(1 if a in axes else d for a, d in enumerate(x.shape)))
        out_of_in = np.broadcast_to(oi, x.shape).ravel()
        w = w.ravel()
        keep = np.arange(n_in) if op in ("reduce_sum", "reduce_mean") else np.nonzero(w != 0)[0]
        order = keep[np.argsort(out_of_in[keep], kind="stable")]
        return _MapRule(out_of_in[order], order, w[order], n_in, n_out)
    if op == "matmul":
        return _matmul_rule(vals[0], vals[1], out, slot)
    if op == "linear":
        xx, W = vals[0], vals[1]
        O, I = W.shape
        R = int(np.prod(xx.shape[:-1], dtype=np.int64))
        yid = _index_array((R, O))
        if slot == 0:
            return _BmmRule(W[None], yid[None], _index_array((R, I))[None], n_in, n_out)
        if slot == 1:
            return _BmmRule(xx.reshape(1, R, I), yid.T[None], _index_array((O, I))[None], n_in, n_out)
        oi = np.arange(n_out)
        return _MapRule(oi, oi % O, np.ones(n_out), n_in, n_out)
    if op in _ROWWISE and slot == 0:
        return _rowwise_rule(op, attrs, vals, out)
    if op == "layer_norm":  # weight / bias: diagonal edges broadcast over the rows, derivative per row
        n = x.size
        R = out.size // n
        w = np.empty((R, n))
        for r in range(R):
            ct = np.zeros((R, n), out.dtype)
            ct[r] = 1
            w[r] = _vjp_of(op, attrs, vals, [slot], ct.reshape(out.shape))[0].ravel()
        oi = np.arange(n_out)
        return _MapRule(oi, oi % n, w.ravel(), n_in, n_out)
    if rule in _ELEMENTWISE_RULES or op in ("relu", "sigmoid", "gelu", "cast"):
        diff = [s for s, v in enumerate(vals) if _is_float(v) and _port_diff(op, s)]
        bvals = [np.broadcast_to(v, out.shape) if s in diff else v for s, v in enumerate(vals)]
        grads = _vjp_of(op, attrs, bvals, diff, np.ones(out.shape, out.dtype))
        d = grads[diff.index(slot)].ravel()
        in_of_out = np.broadcast_to(_index_array(x.shape), out.shape).ravel()
        keep = np.nonzero(d != 0)[0] if op in _SELECTION else np.arange(n_out)
        return _MapRule(keep, in_of_out[keep], d[keep], n_in, n_out)
    return _dense_rule(op, attrs, vals, out, slot)


def _port_diff(op, slot):
    o = spec.OPS[op]
    return o.port_for_input(slot).name in o.differentiable


def _matmul_rule(a, b, c, slot):
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    cid = _index_array(c.shape)
    if a.ndim == 1:
        cid = cid[..., None, :]
    if b.ndim == 1:
        cid = cid[..., None]
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    M, K = a2.shape[-2:]
    N = b2.shape[-1]
    Bn = int(np.prod(batch, dtype=np.int64))
    cid = np.broadcast_to(cid, batch + (M, N)).reshape(Bn, M, N)
    af = np.broadcast_to(a2, batch + (M, K)).reshape(Bn, M, K)
    bf = np.broadcast_to(b2, batch + (K, N)).reshape(Bn, K, N)
    if slot == 0:
        aid = np.broadcast_to(_index_array(a.shape).reshape(a2.shape), batch + (M, K)).reshape(Bn, M, K)
        return _BmmRule(np.swapaxes(bf, 1, 2), cid, aid, a.size, c.size)
    bid = np.broadcast_to(_index_array(b.shape).reshape(b2.shape), batch + (K, N)).reshape(Bn, K, N)
    return _BmmRule(af, np.swapaxes(cid, 1, 2), np.swapaxes(bid, 1, 2), b.size, c.size)


def _rowwise_rule(op, attrs, vals, out):
    """Per-row dense Jacobian of softmax / log_softmax / layer_norm (x), from one batched VJP."""
    from .ops.shapes import norm_axis
    x = vals[0]
    nd = x.ndim
    ax = norm_axis(attrs["axis"], nd)
    if op == "layer_norm":
        n = int(np.prod(x.shape[ax:], dtype=np.int64))
        R = x.size // n
        idx = _index_array(x.shape).reshape(R, n)
    else:
        n = x.shape[ax]
        R = x.size // n
        idx = np.moveaxis(_index_array(x.shape), ax, -1).reshape(R, n)
    rep = np.broadcast_to(x, (n,) + x.shape)
    ct_rows = np.zeros((n, R, n), out.dtype)
    ct_rows[np.arange(n), :, np.arange(n)] = 1
    ct = np.zeros((n,) + x.shape, out.dtype)
    ct.reshape(n, -1)[:, idx.ravel()] = ct_rows.reshape(n, -1)
    a2 = dict(attrs, axis=ax + 1)
    (g,) = _vjp_of(op, a2, [rep] + list(vals[1:]), [0], ct)       # g[i] = d out[., i] / d x
    J = g.reshape(n, -1)[:, idx.ravel()].reshape(n, R, n)            # [i, r, j]
    J = np.transpose(J, (1, 0, 2))                                   # [r, i (out), j (in)]
    return _BmmRule(J, idx[:, None, :], idx[:, None, :], x.size, out.size)


def _dense_rule(op, attrs, vals, out, slot):
    """Dense Jacobian of one slot from one VJP per output element (small ops only)."""
    x = vals[slot]
    diff = [s for s, v in enumerate(vals) if _is_float(v) and _port_diff(op, s)]
    J = np.empty((out.size, x.size))
    for i in range(out.size):
        ct = np.zeros(out.size, out.dtype)
        ct[i] = 1
        J[i] = _vjp_of(op, attrs, vals, diff, ct.reshape(out.shape))[diff.index(slot)].ravel()
    return _BmmRule(J[None], np.arange(out.size)[None, None, :], np.arange(x.size)[None, None, :], x.size, out.size)


# ================================================================== the passes

class _Analysis:
    """One execution, one source set, one target: reachability, rules, β/α passes, backtracking."""

    def __init__(self, graph, values, source=None, target=None, expand=None):
        self.prog, self._rules = _cached_program(graph, values, expand)
        P = self.prog
        self.sources = self._sources(graph, source)
        self.target, self.target_index = self._target(graph, target)
        # reachability over differentiable float edges
        fwd = set(self.sources)
        self.edges = []  # (pop index, slot) on a source -> target path
        for pi, pop in enumerate(P.ops):
            if not _is_float(P.values[pop.output]) or pop.output in P.stopped:
                continue
            for s, x in enumerate(pop.inputs):
                if x in fwd and _is_float(P.values[x]) and _port_diff(pop.op, s):
                    fwd.add(pop.output)
        bwd = {self.target}
        for pi in range(len(P.ops) - 1, -1, -1):
            pop = P.ops[pi]
            if pop.output not in bwd or pop.output not in fwd or pop.output in P.stopped:
                continue
            for s, x in enumerate(pop.inputs):
                if x in fwd and _is_float(P.values[x]) and _port_diff(pop.op, s):
                    bwd.add(x)
        self.on_path = fwd & bwd
        for pi, pop in enumerate(P.ops):
            if pop.output in self.on_path and pop.output not in P.stopped:
                for s, x in enumerate(pop.inputs):
                    if x in self.on_path and _is_float(P.values[x]) and _port_diff(pop.op, s):
                        self.edges.append((pi, s))

    def _sources(self, graph, source):
        P = self.prog
        if source is None:
            names = [vi.name for vi in graph.inputs if _is_float(P.values[vi.name])]
            names += [n for n in graph.tensors if _is_float(P.values[n])]
        else:
            names = [source] if isinstance(source, str) else list(source)
            for n in names:
                if n not in P.values or n in P.internal:
                    raise GraphError(f"source '{n}' is not a value of the graph", field="source")
                if not _is_float(P.values[n]):
                    raise DTypeError(f"source '{n}' has dtype {P.values[n].dtype}; paths start at float values",
                                     field="source")
        return list(dict.fromkeys(names))

    def _target(self, graph, target):
        P = self.prog
        index = None
        if isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str):
            target, index = target
        if target is None:
            loss = _grad_meta(graph).get("loss")
            if loss is not None:
                if loss not in P.values:
                    raise GraphError(f"metadata jag.grad names the loss '{loss}', which is not a value of this graph "
                                     "(renamed by a transform?); pass target=", field="target")
                target = loss
            elif len(graph.outputs) == 1 and _is_float(P.values[graph.outputs[0].name]) \
                    and P.values[graph.outputs[0].name].size == 1:
                target = graph.outputs[0].name
            else:
                raise GraphError("no default target: the graph has no jag.grad loss and not one float scalar output; "
                                 f"pass target= (one of {', '.join(vi.name for vi in graph.outputs)}, or (name, index))",
                                 field="target")
        if target not in P.values or target in P.internal:
            raise GraphError(f"target '{target}' is not a value of the graph", field="target")
        arr = P.values[target]
        if not _is_float(arr):
            raise DTypeError(f"target '{target}' has dtype {arr.dtype}; it must be a float value", field="target")
        if index is None:
            if arr.size != 1:
                raise ShapeError(f"target '{target}' has shape {list(arr.shape)}; pass target=('{target}', index) "
                                 "to choose one element", field="target")
            index = (0,) * arr.ndim
        index = tuple(int(i) for i in np.atleast_1d(index)) if arr.ndim else ()
        if len(index) != arr.ndim or any(not 0 <= i < d for i, d in zip(index, arr.shape)):
            raise ShapeError(f"target index {index} is out of range for '{target}' of shape {list(arr.shape)}",
                             field="target")
        return target, index

    def rule(self, pi, s):
        key = (pi, s)
        if key not in self._rules:
            self._rules[key] = _rule(self.prog, self.prog.ops[pi], s)
        return self._rules[key]

    def seed(self, S):
        arr = self.prog.values[self.target]
        c = S.zeros((arr.size,))
        one = S.ones((1,))
        flat = int(np.ravel_multi_index(self.target_index, arr.shape)) if arr.ndim else 0
        c = tuple(np.array(a) for a in c)
        for a, o in zip(c, one):
            a[flat] = o[0]
        return _reshape(S, c, arr.shape)

    def backward(self, S, on_contrib=None):
        """β for every value on a source -> target path (carriers shaped like the values)."""
        P = self.prog
        beta = {self.target: self.seed(S)}
        by_op: dict = {}
        for pi, s in self.edges:
            by_op.setdefault(pi, []).append(s)
        for pi in sorted(by_op, reverse=True):
            pop = P.ops[pi]
            if pop.output not in beta:
                continue
            bo = _flat(S, beta[pop.output])
            for s in sorted(by_op[pi], reverse=True):
                x = pop.inputs[s]
                c = self.rule(pi, s).backward(S, bo)
                c = _reshape(S, S.tag(c, pi, s), P.values[x].shape)
                if on_contrib is not None:
                    on_contrib(pi, s, c)
                beta[x] = c if x not in beta else S.plus(c, beta[x])
        return beta

    def forward_abs(self):
        """α under abs: the total |path weight| from the super-source to every on-path element."""
        P = self.prog
        alpha = {n: np.ones(P.values[n].size) for n in self.sources}
        for pi, s in self.edges:
            pop = P.ops[pi]
            x = pop.inputs[s]
            if x not in alpha:
                continue
            add = self.rule(pi, s).forward_abs(alpha[x])
            alpha[pop.output] = alpha[pop.output] + add if pop.output in alpha else add
        return alpha

    def source_pool(self, S, beta):
        """The β entries of every source element, in tie order (source order, element order)."""
        parts = [_flat(S, beta[n]) for n in self.sources if n in beta]
        if not parts:
            return S.zeros((0,))
        return tuple(np.concatenate(ch) for ch in zip(*parts))

    # -- backtracking (path semirings)
    def backtrack(self, S, beta, start_value, start_flat, part, rank):
        P = self.prog
        steps, ops = [], []
        value, flat = start_value, start_flat
        weight = 1.0
        pending = None   # (orig node, slot, derivative product, entry step) while inside an expanded composite
        for _ in range(10 ** 7):
            entry = tuple(a.reshape((-1,) + S.tail)[flat, part, rank] for a in beta[value])
            node = int(entry[2])
            shape = P.values[value].shape
            index = tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()
            if node < 0:
                steps.append(Step(value, index, None, None, None))
                break
            pop = P.ops[node]
            s, out = int(entry[3]), int(entry[4])
            d = self.rule(node, s).weight(out, flat)
            if d is None:  # pragma: no cover - a backpointer always names an edge of its rule
                raise GraphError(f"internal: no edge {value}[{index}] -> node {node} slot {s} element {out}")
            weight *= d
            if value in P.internal:   # inside an expanded composite: accumulate into the pending hop
                pending[2] *= d
            else:
                pending = [pop.index, pop.slots[s] if pop.slots[s] is not None else s, d, value, index, pop.op]
            if pop.output not in P.internal:
                o, sl, dd, v, ix, _ = pending
                steps.append(Step(v, ix, o, sl, dd))
                ops.append(P.graph.nodes[o].op)
                pending = None
            value, flat, part, rank = pop.output, out, int(entry[5]), int(entry[6])
        return GradientPath(weight=float(weight), steps=steps, edges=[(st.node, st.slot) for st in steps[:-1]],
                            ops=ops)


# ================================================================== public API

@dataclass
class Step:
    """One hop of a gradient path: the element ``value[index]``; ``node``/``slot``/``derivative``
    describe the edge leaving it (None on the last step, the target)."""
    value: str
    index: tuple
    node: int | None
    slot: int | None
    derivative: float | None


@dataclass
class GradientPath:
    """A path of the scalar gradient graph from a source element to the target.

    ``weight``: the product of the local derivatives along it (sign included); ``steps``:
    the elements visited; ``edges``: the tensor-level edges (node index, input slot) in order;
    ``ops``: the op name of each edge's node.
    """
    weight: float
    steps: list
    edges: list
    ops: list = field(default_factory=list)

    def __str__(self):
        lines = [f"gradient path, weight {self.weight:.6g} ({len(self.edges)} edges)"]
        for k, st in enumerate(self.steps):
            at = f"{st.value}[{', '.join(map(str, st.index))}]"
            if st.node is None:
                lines.append(f"  {at}  (target)")
            else:
                op = self.ops[k] if k < len(self.ops) else "?"
                lines.append(f"  {at}  --{op} #{st.node} slot {st.slot}, d = {st.derivative:.6g}-->")
        return "\n".join(lines)


def values_of(graph, *args) -> dict:
    """Every value of one execution of ``graph`` on ``args`` (inputs, tensors, node outputs), as numpy arrays."""
    from .interpret import run
    flat = graph._flatten_args(args)
    vals = {vi.name: np.asarray(a) for vi, a in zip(graph.inputs, flat)}
    vals.update(graph.tensors)

    def keep(i, node, ins, outs, *rest):
        for n, a in zip(node.outputs, outs):
            vals[n] = np.asarray(a)

    outs = run(graph, flat, on_node=keep)
    for vi, a in zip(graph.inputs, flat):
        vals[vi.name] = np.asarray(a, dtype=vi.dtype) if not isinstance(a, np.ndarray) else a
    for vi, a in zip(graph.outputs, outs):
        vals.setdefault(vi.name, a)
    return vals


def backprop(graph, values, semiring, *, source=None, target=None, expand=None) -> dict:
    """β for every value on a path from ``source`` to ``target``: {value name: carrier}.

    Args:
      graph: a :class:`~jag.graph.Graph`.
      values: {value name: array} for every value of one execution (graph inputs, tensors
        and node outputs; :func:`values_of` computes them).
      semiring: a :class:`Semiring` / :class:`PathSemiring` or a name of ``SEMIRINGS``.
      source: a value name or list of names (default: every float graph input and tensor).
      target: a value name (one element), ``(name, index)``, or None: the loss of
        ``metadata["jag.grad"]``, else the single float scalar output.
      expand: op names to run on their lowering (default: ``GRANULARITY``).
    Returns:
      {name: carrier} — a tuple of float64 arrays shaped like the value (path semirings:
      with trailing (parts, k) dims); ``semiring.finalize(carrier)`` gives the statistic
      (``real``: the gradient of the target; ``abs``: Z; ``logentropy``: H per element).
      Values on no source -> target path are absent.
    Raises:
      GraphError / ShapeError / DTypeError for a bad source or target, InputError for
      missing values.
    """
    S = SEMIRINGS[semiring] if isinstance(semiring, str) else semiring
    an = _Analysis(graph, values, source, target, expand)
    beta = an.backward(S)
    return {k: v for k, v in beta.items() if k not in an.prog.internal}


def top_paths(graph, values, k=1, source=None, target=None, signed=False, *, expand=None) -> list:
    """The k paths of largest |weight| (``signed=True``: most positive weight) from the
    super-source over ``source`` to ``target``, best first, ties in lexicographic edge order.

    Returns a list of :class:`GradientPath` (fewer than k if there are fewer paths of
    non-zero weight). Arguments and errors as :func:`backprop`.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    S = PathSemiring(k, signed=signed)
    an = _Analysis(graph, values, source, target, expand)
    beta = an.backward(S)
    pool = an.source_pool(S, beta)
    owners = []
    for n in an.sources:
        if n in beta:
            owners += [(n, j) for j in range(an.prog.values[n].size)]
    if not owners:
        return []
    val = pool[0][:, 0, :].ravel()
    ok = pool[1][:, 0, :].ravel()
    key = np.where(ok, -val, np.inf)
    order = np.argsort(key, kind="stable")[:k]
    paths = []
    for e in order:
        if not ok[e]:
            break
        el, rank = divmod(int(e), k)
        name, flat = owners[el]
        paths.append(an.backtrack(S, beta, name, flat, 0, rank))
    return paths


def entropy(graph, values, source=None, target=None, *, expand=None) -> float:
    """Entropy (nats) of the distribution over source -> target paths, p(π) ∝ Π|w| (logentropy semiring).

    NaN when no path has a non-zero weight. Arguments and errors as :func:`backprop`.
    """
    an = _Analysis(graph, values, source, target, expand)
    beta = an.backward(logentropy)
    pool = an.source_pool(logentropy, beta)
    if len(pool[0]) == 0:
        return float("nan")
    lz, h = logentropy.reduce(pool, 0)
    return float(h) if lz > -np.inf else float("nan")


def log_partition(graph, values, source=None, target=None, *, expand=None) -> float:
    """log Z: the log of the total |path weight| from the super-source to the target."""
    an = _Analysis(graph, values, source, target, expand)
    beta = an.backward(logabs)
    pool = an.source_pool(logabs, beta)
    return float(_logsumexp(pool[0], 0)) if len(pool[0]) else -math.inf


def edge_flow(graph, values, source=None, target=None, *, expand=None) -> dict:
    """Share of the total absolute path weight through each tensor-level edge.

    p(node, slot) = Σ over the scalar edges e of that input slot of α(tail)·|w(e)|·β(head) / Z
    (abs semiring; Z = Σ_paths Π|w|). Returns {(node_index, input_slot): float} for the
    edges on a source -> target path; the shares sum to 1 across any cut (e.g. the edges
    into the target's node). Edges inside an expanded composite are reported on the
    composite's input slots. Z = 0 gives all-zero shares.
    """
    an = _Analysis(graph, values, source, target, expand)
    alpha = an.forward_abs()
    P = an.prog
    flows: dict = {}

    def record(pi, s, c):
        x = P.ops[pi].inputs[s]
        pop = P.ops[pi]
        if pop.slots[s] is None:
            return
        key = (pop.index, pop.slots[s])
        flows[key] = flows.get(key, 0.0) + float(np.dot(alpha[x], c[0].ravel()))

    beta = an.backward(abs_, record)
    Z = float(sum(np.sum(beta[n][0]) for n in an.sources if n in beta))
    if Z == 0:
        return {k: 0.0 for k in flows}
    return {k: v / Z for k, v in sorted(flows.items())}


globals()["abs"] = abs_   # jag.semiring.abs (the name shadows the builtin only inside this module, where it is unused)

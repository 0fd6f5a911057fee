// kernel_api.js — helpers shared by the kernels (src/kernels/*.js): broadcasting, axes,
// strides. Semantics and messages follow python/jag/ops/shapes.py.
import { JagError } from "./errors.js";

export const shapeStr = (s) => `[${s.join(",")}]`;

/** numpy.broadcast_shapes of several shapes (E_SHAPE naming them otherwise). */
export function broadcastShapes(shapes) {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const j = i - (rank - s.length);
      if (j < 0) continue;
      const e = s[j];
      if (e === d || e === 1) continue;
      if (d === 1) { d = e; continue; }
      throw new JagError("E_SHAPE", `shapes ${shapes.map(shapeStr).join(" and ")} do not broadcast at dim ${i - rank}: cannot broadcast dim ${d} with ${e}`);
    }
    out.push(d);
  }
  return out;
}

/** Row-major element strides of a shape. */
export function stridesOf(shape) {
  const st = new Array(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
  return st;
}

/** Element strides of `shape` viewed in the broadcast shape `out` (0 on broadcast axes). */
export function broadcastStrides(shape, out) {
  const st = new Array(out.length).fill(0);
  let s = 1;
  for (let i = out.length - 1; i >= 0; i--) {
    const j = i - (out.length - shape.length);
    if (j < 0) continue;
    if (shape[j] !== 1) st[i] = s;
    s *= shape[j];
  }
  return st;
}

/** Map a numpy-style axis in [-rank, rank) to [0, rank); E_ATTR otherwise (always for rank 0). */
export function normAxis(axis, rank, attr = "axis") {
  if (!(axis >= -rank && axis < rank))
    throw new JagError("E_ATTR", `attr '${attr}': axis ${axis} is out of range for rank ${rank}`, { field: `attrs.${attr}` });
  return axis < 0 ? axis + rank : axis;
}

/** Normalised, duplicate-free axes; null means every axis (E_ATTR on a bad or repeated axis). */
export function normAxes(axes, rank, attr = "axes") {
  if (axes === null || axes === undefined) return [...Array(rank).keys()];
  const out = [];
  for (const a of axes) {
    const n = normAxis(a, rank, attr);
    if (out.includes(n)) throw new JagError("E_ATTR", `attr '${attr}': axis ${n} appears twice`, { field: `attrs.${attr}` });
    out.push(n);
  }
  return out;
}

/**
 * Call fn(outIndex, offsets) for every element of the broadcast output `out`, where
 * offsets[k] is the flat index into input k (shapes[k] broadcast into out). A generic,
 * allocation-free walk with an incrementing multi-index (no division per element).
 */
export function forEachBroadcast(out, shapes, fn) {
  const rank = out.length;
  const n = out.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const strides = shapes.map((s) => broadcastStrides(s, out));
  const idx = new Array(rank).fill(0);
  const offs = new Array(shapes.length).fill(0);
  for (let i = 0; i < n; i++) {
    fn(i, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < out[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

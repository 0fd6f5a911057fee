// kernels/movement.js — movement kernels: reshape, transpose, broadcast_to, slice, pad, concat.
//
// Semantics: python/jag/ops/core.py ("movement" block) — numpy.reshape, numpy.transpose,
// numpy.broadcast_to, basic slicing x[start:stop:step] with Python's clamping (positive
// steps), jax.lax.pad with a non-negative config, numpy.concatenate. Each prepare mirrors
// the Python shape rule (and runtimes/c/src/k_movement.c) check by check, with the same
// error codes (E_ATTR for a bad attribute value, E_SHAPE for incompatible shapes).
//
// Every op is a copy of elements between TypedArrays of one type (BigInt64Array included:
// copying BigInts between BigInt64Arrays is exact). Most ops go through one strided-copy
// engine (copyStrided) that drops size-1 dims, merges dims contiguous on both sides, and
// copies the innermost run with TypedArray.prototype.set (or fill, for a broadcast run, or
// a cache-blocked 2-D tile for a transpose).
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { broadcastStrides, normAxis, shapeStr, stridesOf } from "../kernel_api.js";

const INT64_LIMIT = 2 ** 63; // first Number above the int64 range (as a Number)

// ---------------------------------------------------------------- strided copy engine

const TILE = 32;

/** dst[dOff + sum_k i_k*ds[k]] = src[sOff + sum_k i_k*ss[k]] for every index i of the box `shape`. */
function copyStrided(dst, dOff, src, sOff, shape, ds, ss) {
  const n = [], d = [], s = [];
  for (let k = 0; k < shape.length; k++) {
    const e = shape[k];
    if (e === 0) return;
    if (e === 1) continue;
    const r = n.length;
    if (r > 0 && d[r - 1] === ds[k] * e && s[r - 1] === ss[k] * e) {
      n[r - 1] *= e; // dim r-1 steps over whole runs of dim k: one dim
      d[r - 1] = ds[k];
      s[r - 1] = ss[k];
    } else {
      n.push(e);
      d.push(ds[k]);
      s.push(ss[k]);
    }
  }
  const r = n.length;
  if (r === 0) {
    dst[dOff] = src[sOff];
    return;
  }
  const inner = n[r - 1], di = d[r - 1], si = s[r - 1];
  let kind, outer;
  if (di === 1 && si === 1) { kind = 0; outer = r - 1; }            // contiguous run
  else if (di === 1 && si === 0) { kind = 1; outer = r - 1; }       // broadcast run
  else if (r >= 2 && di === 1 && s[r - 2] === 1) { kind = 2; outer = r - 2; } // transpose tile
  else { kind = 3; outer = r - 1; }                                  // strided run
  const rows = r >= 2 ? n[r - 2] : 0, drow = r >= 2 ? d[r - 2] : 0;
  const idx = new Array(Math.max(outer, 0)).fill(0);
  let doff = dOff, soff = sOff;
  for (;;) {
    switch (kind) {
      case 0:
        if (inner < 16) for (let j = 0; j < inner; j++) dst[doff + j] = src[soff + j];
        else dst.set(src.subarray(soff, soff + inner), doff);
        break;
      case 1:
        dst.fill(src[soff], doff, doff + inner);
        break;
      case 2:
        copyTile(dst, doff, drow, src, soff, si, rows, inner);
        break;
      default:
        for (let j = 0; j < inner; j++) dst[doff + j * di] = src[soff + j * si];
    }
    let k = outer - 1;
    for (; k >= 0; k--) {
      doff += d[k];
      soff += s[k];
      if (++idx[k] < n[k]) break;
      doff -= d[k] * n[k];
      soff -= s[k] * n[k];
      idx[k] = 0;
    }
    if (k < 0) break;
  }
}

/** dst[dOff + i*drow + j] = src[sOff + i + j*scol] for i < rows, j < cols, in TILE x TILE tiles. */
function copyTile(dst, dOff, drow, src, sOff, scol, rows, cols) {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const db = dOff + i * drow, sb = sOff + i;
        for (let j = j0; j < j1; j++) dst[db + j] = src[sb + j * scol];
      }
    }
  }
}

// ---------------------------------------------------------------- reshape
// Product of dims except index `skip` as an exact BigInt (Python ints: no overflow).
function bigProduct(dims, skip = -1) {
  let p = 1n;
  for (let i = 0; i < dims.length; i++) if (i !== skip) p *= BigInt(dims[i]);
  return p;
}

register("reshape", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape;
    const t = [...attrs.shape];
    const holes = [];
    t.forEach((d, i) => { if (d === -1) holes.push(i); });
    if (holes.length > 1)
      throw new JagError("E_ATTR", `attr 'shape' ${shapeStr(t)} has more than one -1`, { field: "attrs.shape" });
    for (const d of t)
      if (d < -1) throw new JagError("E_ATTR", `attr 'shape' ${shapeStr(t)} has a negative dim`, { field: "attrs.shape" });
    const count = bigProduct(x);
    if (holes.length) {
      const known = bigProduct(t, holes[0]);
      if (known === 0n) throw new JagError("E_SHAPE", `cannot infer -1 in ${shapeStr(t)}: the other dims multiply to 0`);
      if (count % known !== 0n)
        throw new JagError("E_SHAPE", `cannot reshape ${shapeStr(x)} (${count} elements) to ${shapeStr(t)}`);
      t[holes[0]] = Number(count / known);
    }
    if (bigProduct(t) !== count)
      throw new JagError("E_SHAPE", `cannot reshape ${shapeStr(x)} to ${shapeStr(t)}: element counts differ`);
    return [t];
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    outputs[0].data.set(inputs[0].data.subarray(0, outputs[0].data.length));
  },
});

// ---------------------------------------------------------------- transpose
function normPerm(perm, r) {
  if (perm === null || perm === undefined) return [...Array(r).keys()].reverse();
  const seen = new Array(r).fill(false);
  let ok = perm.length === r;
  const p = [];
  for (let i = 0; ok && i < r; i++) {
    let v = perm[i];
    if (!(v >= -r && v < r)) { ok = false; break; }
    v = v < 0 ? v + r : v;
    if (seen[v]) ok = false;
    seen[v] = true;
    p.push(v);
  }
  if (!ok)
    throw new JagError("E_ATTR", `attr 'perm' ${shapeStr(perm)} is not a permutation of range(${r})`, { field: "attrs.perm" });
  return p;
}

register("transpose", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape;
    return [normPerm(attrs.perm, x.length).map((p) => x[p])];
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    const x = inputs[0], y = outputs[0];
    if (y.data.length === 0) return;
    const p = normPerm(attrs.perm, x.shape.length);
    const istr = stridesOf(x.shape);
    copyStrided(y.data, 0, x.data, 0, y.shape, stridesOf(y.shape), p.map((k) => istr[k]));
  },
});

// ---------------------------------------------------------------- broadcast_to
register("broadcast_to", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape, t = [...attrs.shape];
    if (t.some((d) => d < 0)) throw new JagError("E_ATTR", `attr 'shape' ${shapeStr(t)} has a negative dim`, { field: "attrs.shape" });
    let ok = x.length <= t.length;
    for (let j = 0; ok && j < x.length; j++) {
      const d = x[j], e = t[j + t.length - x.length];
      if (d !== e && d !== 1) ok = false;
    }
    if (!ok) throw new JagError("E_SHAPE", `input 0 has shape ${shapeStr(x)}; it does not broadcast to ${shapeStr(t)}`);
    return [t];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0], y = outputs[0];
    if (y.data.length === 0) return;
    copyStrided(y.data, 0, x.data, 0, y.shape, stridesOf(y.shape), broadcastStrides(x.shape, y.shape));
  },
});

// ---------------------------------------------------------------- slice
// Per dim {start, step, len} for x[start:stop:step] (Python slice clamping, step >= 1).
function sliceSpecs(shape, attrs) {
  const { axes, starts, stops, steps } = attrs;
  const n = axes.length, nSteps = steps === null || steps === undefined ? n : steps.length;
  if (starts.length !== n || stops.length !== n || nSteps !== n)
    throw new JagError("E_ATTR", `attrs 'axes', 'starts', 'stops', 'steps' must have equal lengths, got ${n}, ${starts.length}, ${stops.length}, ${nSteps}`, { field: "attrs.axes" });
  if (steps)
    for (const s of steps)
      if (s < 1) throw new JagError("E_ATTR", `attr 'steps': step ${s} must be >= 1 (reverse with gather)`, { field: "attrs.steps" });
  const r = shape.length;
  const start = new Array(r).fill(0), step = new Array(r).fill(1), out = [...shape];
  const used = new Array(r).fill(false);
  for (let k = 0; k < n; k++) {
    const axis = normAxis(axes[k], r, "axes");
    if (used[axis]) throw new JagError("E_ATTR", `attr 'axes': axis ${axis} appears twice`, { field: "attrs.axes" });
    used[axis] = true;
    const d = shape[axis], st = steps ? steps[k] : 1;
    let lo = starts[k], hi = stops[k];
    if (lo < 0) { lo += d; if (lo < 0) lo = 0; } else if (lo > d) lo = d;
    if (hi < 0) { hi += d; if (hi < 0) hi = 0; } else if (hi > d) hi = d;
    const len = hi > lo ? Math.floor((hi - lo - 1) / st) + 1 : 0;
    start[axis] = lo;
    step[axis] = len > 1 ? st : 1;
    out[axis] = len;
  }
  return { start, step, out };
}

register("slice", {
  prepare(inputs, attrs) {
    return [sliceSpecs(inputs[0].shape, attrs).out];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0], y = outputs[0];
    if (y.data.length === 0) return;
    const { start, step } = sliceSpecs(x.shape, attrs);
    const istr = stridesOf(x.shape);
    let off = 0;
    const ss = istr.map((s, i) => { off += start[i] * s; return s * step[i]; });
    copyStrided(y.data, 0, x.data, off, y.shape, stridesOf(y.shape), ss);
  },
});

// ---------------------------------------------------------------- pad
// pads = [lo_0, hi_0, lo_1, hi_1, ...]; interior = [mid_0, ...] (null = 0); x[j] lands at
// lo + j*(mid + 1); everything else is `value` converted to x's dtype as cast does.
function padSpecs(shape, attrs) {
  const r = shape.length, pads = attrs.pads, interior = attrs.interior;
  if (pads.length !== 2 * r)
    throw new JagError("E_ATTR", `attr 'pads' needs 2*rank = ${2 * r} values, got ${pads.length}`, { field: "attrs.pads" });
  if (interior !== null && interior !== undefined && interior.length !== r)
    throw new JagError("E_ATTR", `attr 'interior' needs rank = ${r} values, got ${interior.length}`, { field: "attrs.interior" });
  if (pads.some((p) => p < 0) || (interior && interior.some((p) => p < 0)))
    throw new JagError("E_ATTR", "attrs 'pads' and 'interior' must be non-negative", { field: "attrs.pads" });
  const specs = [];
  for (let i = 0; i < r; i++) specs.push([pads[2 * i], pads[2 * i + 1], interior ? interior[i] : 0]);
  return specs;
}

/** The fill value: cast(float64 v, dtype) (float -> int truncates, NaN -> 0, saturates; bool: v != 0). */
function padValue(v, dtype) {
  const t = Math.trunc(v);
  switch (dtype) {
    case "float32": return Math.fround(v);
    case "float64": return v;
    case "int32": return Number.isNaN(t) ? 0 : t >= 2147483647 ? 2147483647 : t <= -2147483648 ? -2147483648 : t;
    case "int64": return Number.isNaN(t) ? 0n : t >= INT64_LIMIT ? 9223372036854775807n : t <= -INT64_LIMIT ? -9223372036854775808n : BigInt(t);
    case "uint8": return Number.isNaN(t) ? 0 : t >= 255 ? 255 : t <= 0 ? 0 : t;
    case "bool": return v !== 0 ? 1 : 0; // NaN != 0
    default: throw new JagError("E_INTERNAL", `pad: unexpected dtype ${dtype}`);
  }
}

register("pad", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape;
    return [padSpecs(x, attrs).map(([lo, hi, mid], i) => {
      const d = x[i], v = lo + hi + d + Math.max(d - 1, 0) * mid;
      if (!(v < INT64_LIMIT)) throw new JagError("E_SHAPE", `padding ${shapeStr(x)} overflows int64 on axis ${i}`);
      return v;
    })];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0], y = outputs[0];
    const specs = padSpecs(x.shape, attrs);
    if (y.data.length) y.data.fill(padValue(attrs.value, x.dtype));
    if (x.data.length === 0) return;
    const ostr = stridesOf(y.shape);
    let off = 0;
    const ds = specs.map(([lo, , mid], i) => {
      off += lo * ostr[i];
      return x.shape[i] > 1 ? ostr[i] * (mid + 1) : ostr[i];
    });
    copyStrided(y.data, off, x.data, 0, x.shape, ds, stridesOf(x.shape));
  },
});

// ---------------------------------------------------------------- concat
register("concat", {
  prepare(inputs, attrs) {
    const first = inputs[0].shape, r = first.length;
    if (r === 0) throw new JagError("E_SHAPE", "concat needs inputs of rank >= 1, got a scalar");
    const axis = normAxis(attrs.axis, r, "axis");
    let total = 0;
    inputs.forEach((v, i) => {
      const s = v.shape;
      let ok = s.length === r;
      for (let k = 0; ok && k < r; k++) ok = k === axis || s[k] === first[k];
      if (!ok) {
        const want = first.map((d, k) => (k === axis ? "*" : String(d)));
        throw new JagError("E_SHAPE", `input ${i} has shape ${shapeStr(s)}; expected ${shapeStr(want)}`, { field: `inputs[${i}]` });
      }
      total += s[axis];
    });
    const out = [...first];
    out[axis] = total;
    return [out];
  },
  run(inputs, attrs, outputs) {
    const y = outputs[0];
    if (y.data.length === 0) return;
    const r = y.shape.length, axis = normAxis(attrs.axis, r, "axis");
    let outer = 1, inner = 1;
    for (let k = 0; k < axis; k++) outer *= y.shape[k];
    for (let k = axis + 1; k < r; k++) inner *= y.shape[k];
    const row = y.shape[axis] * inner;
    const dst = y.data;
    let off = 0;
    for (const v of inputs) {
      const run = v.shape[axis] * inner, src = v.data;
      if (run) {
        if (outer === 1) dst.set(src.subarray(0, run), off);
        else if (run < 16) {
          for (let o = 0; o < outer; o++) {
            const db = o * row + off, sb = o * run;
            for (let j = 0; j < run; j++) dst[db + j] = src[sb + j];
          }
        } else {
          for (let o = 0; o < outer; o++) dst.set(src.subarray(o * run, (o + 1) * run), o * row + off);
        }
      }
      off += run;
    }
  },
});

export { copyStrided };

// kernels/reduce.js — reduction and normalisation kernels: reduce_sum, reduce_max, reduce_min,
// reduce_mean, argmax, softmax, log_softmax, layer_norm.
//
// Semantics: python/jag/ops/core.py (reduce_sum = numpy.sum with dtype=x.dtype, reduce_max =
// numpy.max with initial = the dtype's lowest value) and composite.py (the others), as ported
// by the C runtime (runtimes/c/src/k_reduce.c):
//   - integer sums wrap (stores into Int32Array / Uint8Array / BigInt64Array wrap);
//   - float sums accumulate in double (float32: rounded once at the end); they start from -0.0,
//     the identity of addition, so a sum of -0.0 values stays -0.0 as in numpy;
//   - max/min propagate NaN; an empty reduction gives 0 (sum), NaN (mean), the dtype's lowest
//     value (max: -inf, the minimum integer, 0 for uint8/bool) or +inf (min);
//   - argmax gives the first maximum, the first NaN counting as the maximum (int64 output);
//     an empty axis is E_SHAPE;
//   - softmax / log_softmax / layer_norm compute in x's dtype (float32 rounded after every
//     step as numpy does) with sums in double.
//
// Reductions view the input as groups of adjacent axes that are all reduced or all kept
// (size-1 axes dropped, neighbours of the same kind merged, so kinds alternate). When the
// innermost group is reduced, each contiguous row folds into one output element; when it is
// kept, the rows of the reduced group before it fold elementwise into a row of accumulators.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { normAxis, normAxes, shapeStr } from "../kernel_api.js";
import { numel } from "../dtypes.js";
import { expF32Wasm, softmaxF32Wasm, layerNormF32Wasm, MAP_WASM_MIN } from "./linalg.js"; // the WebAssembly SIMD module lives there

const fround = Math.fround;

const SUM = 0, MAX = 1, MIN = 2;

// ---------------------------------------------------------------- reduction plan

/**
 * Groups of a non-empty input of shape `shape` with the reduced axes `axes`:
 * {g, dims, ostride (0 on reduced groups), innerReduced}.
 */
function makePlan(shape, axes) {
  const dims = [], kinds = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const k = axes.includes(i);
    const g = dims.length;
    if (g > 0 && kinds[g - 1] === k) dims[g - 1] *= shape[i];
    else { dims.push(shape[i]); kinds.push(k); }
  }
  if (dims.length === 0) { dims.push(1); kinds.push(false); }
  const g = dims.length;
  const ostride = new Array(g);
  let s = 1;
  for (let i = g - 1; i >= 0; i--) {
    ostride[i] = kinds[i] ? 0 : s;
    if (!kinds[i]) s *= dims[i];
  }
  return { g, dims, ostride, innerReduced: kinds[g - 1] };
}

/**
 * Fold float data x into acc (output-sized; pre-filled with the identity) with kind SUM (acc a
 * Float64Array), MAX or MIN (NaN-propagating). One function literal for the float paths.
 */
function foldFloat(p, x, acc, kind) {
  const { g, dims, ostride } = p;
  const L = dims[g - 1];
  const cnt = new Array(g).fill(0);
  let o = 0, off = 0;
  if (p.innerReduced) {
    let nseg = 1;
    for (let k = 0; k < g - 1; k++) nseg *= dims[k];
    for (let sgm = 0; sgm < nseg; sgm++, off += L) {
      const e = off + L;
      if (kind === SUM) {
        let s0 = -0, s1 = -0, s2 = -0, s3 = -0, i = off;
        for (; i + 4 <= e; i += 4) { s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]; }
        for (; i < e; i++) s0 += x[i];
        acc[o] += (s0 + s1) + (s2 + s3);
      } else if (kind === MAX) {
        let m = acc[o];
        for (let i = off; i < e; i++) { const v = x[i]; m = (v >= m || v !== v) ? v : m; }
        acc[o] = m;
      } else {
        let m = acc[o];
        for (let i = off; i < e; i++) { const v = x[i]; m = (v <= m || v !== v) ? v : m; }
        acc[o] = m;
      }
      for (let k = g - 2; k >= 0; k--) {
        o += ostride[k];
        if (++cnt[k] < dims[k]) break;
        cnt[k] = 0;
        o -= ostride[k] * dims[k];
      }
    }
    return;
  }
  const R = g >= 2 ? dims[g - 2] : 1;
  let nblk = 1;
  for (let k = 0; k < g - 2; k++) nblk *= dims[k];
  for (let blk = 0; blk < nblk; blk++) {
    for (let r = 0; r < R; r++, off += L) {
      if (kind === SUM) {
        for (let j = 0; j < L; j++) acc[o + j] += x[off + j];
      } else if (kind === MAX) {
        for (let j = 0; j < L; j++) { const v = x[off + j], m = acc[o + j]; acc[o + j] = (v >= m || v !== v) ? v : m; }
      } else {
        for (let j = 0; j < L; j++) { const v = x[off + j], m = acc[o + j]; acc[o + j] = (v <= m || v !== v) ? v : m; }
      }
    }
    for (let k = g - 3; k >= 0; k--) {
      o += ostride[k];
      if (++cnt[k] < dims[k]) break;
      cnt[k] = 0;
      o -= ostride[k] * dims[k];
    }
  }
}

/** Fold integer / bool / int64 data x into acc (the output array) with comb (generic path). */
function foldGeneric(p, x, acc, comb) {
  const { g, dims, ostride } = p;
  const L = dims[g - 1];
  const cnt = new Array(g).fill(0);
  let o = 0, off = 0;
  if (p.innerReduced) {
    let nseg = 1;
    for (let k = 0; k < g - 1; k++) nseg *= dims[k];
    for (let sgm = 0; sgm < nseg; sgm++) {
      let m = acc[o];
      for (const e = off + L; off < e; off++) m = comb(m, x[off]);
      acc[o] = m;
      for (let k = g - 2; k >= 0; k--) {
        o += ostride[k];
        if (++cnt[k] < dims[k]) break;
        cnt[k] = 0;
        o -= ostride[k] * dims[k];
      }
    }
    return;
  }
  const R = g >= 2 ? dims[g - 2] : 1;
  let nblk = 1;
  for (let k = 0; k < g - 2; k++) nblk *= dims[k];
  for (let blk = 0; blk < nblk; blk++) {
    for (let r = 0; r < R; r++, off += L)
      for (let j = 0; j < L; j++) acc[o + j] = comb(acc[o + j], x[off + j]);
    for (let k = g - 3; k >= 0; k--) {
      o += ostride[k];
      if (++cnt[k] < dims[k]) break;
      cnt[k] = 0;
      o -= ostride[k] * dims[k];
    }
  }
}

// Integer combiners: sums wrap at every step (int64 with BigInt.asIntN, which also keeps the
// BigInts small); max of integers and of bool bytes (0/1: logical or).
const addU8 = (a, b) => (a + b) & 255;
const addI32 = (a, b) => (a + b) | 0;
const addBig = (a, b) => BigInt.asIntN(64, a + b);
const maxInt = (a, b) => (b > a ? b : a);

const LOWEST = { int32: -2147483648, int64: -0x8000000000000000n, uint8: 0, bool: 0 };

// ---------------------------------------------------------------- reduce_* ops

function reducePrepare(inputs, attrs) {
  const x = inputs[0].shape;
  const axes = normAxes(attrs.axes, x.length);
  const out = [];
  for (let i = 0; i < x.length; i++) {
    if (!axes.includes(i)) out.push(x[i]);
    else if (attrs.keepdims) out.push(1);
  }
  return [out];
}

function reduceRun(kind, mean) {
  return (inputs, attrs, outputs) => {
    const x = inputs[0], y = outputs[0];
    const nOut = numel(y.shape), nIn = numel(x.shape);
    if (nOut === 0) return;
    const dt = x.dtype, isF = dt === "float32" || dt === "float64";
    if (nIn === 0) {
      if (isF) y.data.fill(kind === SUM ? (mean ? NaN : 0) : kind === MAX ? -Infinity : Infinity);
      else y.data.fill(kind === SUM ? (dt === "int64" ? 0n : 0) : LOWEST[dt]);
      return;
    }
    const p = makePlan(x.shape, normAxes(attrs.axes, x.shape.length));
    if (isF) {
      if (kind === SUM) {
        const acc = new Float64Array(nOut).fill(-0);
        foldFloat(p, x.data, acc, SUM);
        const out = y.data;
        if (mean) {
          const count = nIn / nOut;
          if (dt === "float32") {
            const c32 = fround(count);
            for (let i = 0; i < nOut; i++) out[i] = fround(acc[i]) / c32;
          } else {
            for (let i = 0; i < nOut; i++) out[i] = acc[i] / count;
          }
        } else {
          out.set(acc); // float32: one rounding per element
        }
      } else {
        y.data.fill(kind === MAX ? -Infinity : Infinity);
        foldFloat(p, x.data, y.data, kind);
      }
      return;
    }
    if (kind === SUM) {
      y.data.fill(dt === "int64" ? 0n : 0);
      foldGeneric(p, x.data, y.data, dt === "int64" ? addBig : dt === "uint8" ? addU8 : addI32);
    } else {
      y.data.fill(LOWEST[dt]);
      foldGeneric(p, x.data, y.data, maxInt);
    }
  };
}

register("reduce_sum", { prepare: reducePrepare, run: reduceRun(SUM, false) });
register("reduce_mean", { prepare: reducePrepare, run: reduceRun(SUM, true) });
register("reduce_max", { prepare: reducePrepare, run: reduceRun(MAX, false) });
register("reduce_min", { prepare: reducePrepare, run: reduceRun(MIN, false) });

// ---------------------------------------------------------------- [outer, n, inner] views

function axisView(shape, axis) {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

// ---------------------------------------------------------------- argmax

function argmaxFloat(x, y, outer, n, inner) {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      let best = x[base + j], bi = 0;
      if (best === best) {
        for (let i = 1, k = base + j + inner; i < n; i++, k += inner) {
          const v = x[k];
          if (v > best) { best = v; bi = i; }
          else if (v !== v) { bi = i; break; } // the first NaN wins
        }
      }
      y[o * inner + j] = BigInt(bi);
    }
  }
}

function argmaxInt(x, y, outer, n, inner) {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      let best = x[base + j], bi = 0;
      for (let i = 1, k = base + j + inner; i < n; i++, k += inner) {
        const v = x[k];
        if (v > best) { best = v; bi = i; }
      }
      y[o * inner + j] = BigInt(bi);
    }
  }
}

register("argmax", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape;
    const axis = normAxis(attrs.axis, x.length);
    if (x[axis] === 0) throw new JagError("E_SHAPE", `argmax over an empty axis ${axis} of shape ${shapeStr(x)}`);
    const out = [];
    for (let i = 0; i < x.length; i++) {
      if (i !== axis) out.push(x[i]);
      else if (attrs.keepdims) out.push(1);
    }
    return [out];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0];
    if (numel(outputs[0].shape) === 0) return;
    const [outer, n, inner] = axisView(x.shape, normAxis(attrs.axis, x.shape.length));
    const f = x.dtype === "float32" || x.dtype === "float64" ? argmaxFloat : argmaxInt;
    f(x.data, outputs[0].data, outer, n, inner);
  },
});

// ---------------------------------------------------------------- softmax, log_softmax

// Contiguous rows (inner == 1; the general code also handles inner > 1, element by element).

function softmaxF32(x, y, outer, n, inner, log) {
  if (!log && inner === 1 && outer * n >= MAP_WASM_MIN && (softmaxF32Wasm(x, y, outer, n) || softmaxRowsWasm(x, y, outer, n))) return;
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      const b = base + j, e = b + n * inner;
      let m = -Infinity;
      for (let k = b; k < e; k += inner) { const v = x[k]; m = (v >= m || v !== v) ? v : m; }
      let s = 0;
      for (let k = b; k < e; k += inner) { const t = fround(Math.exp(fround(x[k] - m))); y[k] = t; s += t; }
      if (log) {
        const ls = fround(Math.log(fround(s)));
        for (let k = b; k < e; k += inner) y[k] = fround(x[k] - m) - ls;
      } else {
        const sf = fround(s);
        for (let k = b; k < e; k += inner) y[k] = y[k] / sf;
      }
    }
  }
}

/**
 * Softmax of contiguous float32 rows (when softmaxF32Wasm does not take them: a row length
 * that is not a multiple of 4) with the exponentials in WebAssembly SIMD (linalg.js
 * expF32Wasm, the C runtime's exp_f32; Math.exp was most of the time): y = x - max per row,
 * exp in place, then the sums (in double) and the divisions as in softmaxF32. False (y
 * partly written, to be overwritten) without WebAssembly SIMD or memory.
 */
function softmaxRowsWasm(x, y, outer, n) {
  for (let o = 0, b = 0; o < outer; o++, b += n) {
    const e = b + n;
    let m = -Infinity;
    for (let k = b; k < e; k++) { const v = x[k]; m = (v >= m || v !== v) ? v : m; }
    for (let k = b; k < e; k++) y[k] = x[k] - m; // the Float32Array store rounds, as fround
  }
  if (!expF32Wasm(y, outer * n)) return false;
  for (let o = 0, b = 0; o < outer; o++, b += n) {
    const e = b + n;
    let s = 0;
    for (let k = b; k < e; k++) s += y[k];
    const sf = fround(s);
    for (let k = b; k < e; k++) y[k] = y[k] / sf;
  }
  return true;
}

function softmaxF64(x, y, outer, n, inner, log) {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < inner; j++) {
      const b = base + j, e = b + n * inner;
      let m = -Infinity;
      for (let k = b; k < e; k += inner) { const v = x[k]; m = (v >= m || v !== v) ? v : m; }
      let s = 0;
      for (let k = b; k < e; k += inner) { const t = Math.exp(x[k] - m); y[k] = t; s += t; }
      if (log) {
        const ls = Math.log(s);
        for (let k = b; k < e; k += inner) y[k] = (x[k] - m) - ls;
      } else {
        for (let k = b; k < e; k += inner) y[k] = y[k] / s;
      }
    }
  }
}

// Strided (inner > 1): per block [n, inner], the maxima and sums are rows of `inner`, so every
// pass walks contiguous rows.
function softmaxBlockF32(x, y, outer, n, inner, log) {
  const mx = new Float64Array(inner), sm = new Float64Array(inner);
  const blk = n * inner;
  for (let o = 0, base = 0; o < outer; o++, base += blk) {
    const end = base + blk;
    mx.fill(-Infinity);
    sm.fill(0);
    for (let r = base; r < end; r += inner)
      for (let j = 0; j < inner; j++) { const v = x[r + j], m = mx[j]; mx[j] = (v >= m || v !== v) ? v : m; }
    for (let r = base; r < end; r += inner)
      for (let j = 0; j < inner; j++) { const t = fround(Math.exp(fround(x[r + j] - mx[j]))); y[r + j] = t; sm[j] += t; }
    for (let j = 0; j < inner; j++) sm[j] = log ? fround(Math.log(fround(sm[j]))) : fround(sm[j]);
    if (log) {
      for (let r = base; r < end; r += inner)
        for (let j = 0; j < inner; j++) y[r + j] = fround(x[r + j] - mx[j]) - sm[j];
    } else {
      for (let r = base; r < end; r += inner)
        for (let j = 0; j < inner; j++) y[r + j] = y[r + j] / sm[j];
    }
  }
}

function softmaxBlockF64(x, y, outer, n, inner, log) {
  const mx = new Float64Array(inner), sm = new Float64Array(inner);
  const blk = n * inner;
  for (let o = 0, base = 0; o < outer; o++, base += blk) {
    const end = base + blk;
    mx.fill(-Infinity);
    sm.fill(0);
    for (let r = base; r < end; r += inner)
      for (let j = 0; j < inner; j++) { const v = x[r + j], m = mx[j]; mx[j] = (v >= m || v !== v) ? v : m; }
    for (let r = base; r < end; r += inner)
      for (let j = 0; j < inner; j++) { const t = Math.exp(x[r + j] - mx[j]); y[r + j] = t; sm[j] += t; }
    if (log) {
      for (let j = 0; j < inner; j++) sm[j] = Math.log(sm[j]);
      for (let r = base; r < end; r += inner)
        for (let j = 0; j < inner; j++) y[r + j] = (x[r + j] - mx[j]) - sm[j];
    } else {
      for (let r = base; r < end; r += inner)
        for (let j = 0; j < inner; j++) y[r + j] = y[r + j] / sm[j];
    }
  }
}

function softmaxKernel(log) {
  return {
    prepare(inputs, attrs) {
      normAxis(attrs.axis, inputs[0].shape.length);
      return [[...inputs[0].shape]];
    },
    overwrites: true,
    run(inputs, attrs, outputs) {
      const x = inputs[0];
      if (numel(x.shape) === 0) return;
      const [outer, n, inner] = axisView(x.shape, normAxis(attrs.axis, x.shape.length));
      const f32 = x.dtype === "float32";
      const fn = inner === 1 ? (f32 ? softmaxF32 : softmaxF64) : f32 ? softmaxBlockF32 : softmaxBlockF64;
      fn(x.data, outputs[0].data, outer, n, inner, log);
    },
  };
}

register("softmax", softmaxKernel(false));
register("log_softmax", softmaxKernel(true));

// ---------------------------------------------------------------- layer_norm

// float32: rows of a multiple of 4 elements (MAP_WASM_MIN elements or more in all) through
// the WebAssembly SIMD layernorm_f32 of linalg.js (the same float32 steps; the sums in
// double, in four lanes instead of one), the rest here.
function layerNormF32(x, w, b, y, rows, n, eps) {
  if (rows * n >= MAP_WASM_MIN && layerNormF32Wasm(x, w, b, y, rows, n, eps)) return;
  const count = fround(n), e32 = fround(eps);
  for (let r = 0, off = 0; r < rows; r++, off += n) {
    const end = off + n;
    let s = 0;
    for (let i = off; i < end; i++) s += x[i];
    const mean = fround(fround(s) / count);
    let q = 0;
    for (let i = off; i < end; i++) { const d = fround(x[i] - mean); q += fround(d * d); }
    const v = fround(fround(q) / count);
    const den = fround(Math.sqrt(fround(v + e32)));
    for (let i = off, j = 0; i < end; i++, j++) {
      let t = fround(fround(x[i] - mean) / den);
      if (w !== null) t = fround(t * w[j]);
      if (b !== null) t = fround(t + b[j]);
      y[i] = t;
    }
  }
}

function layerNormF64(x, w, b, y, rows, n, eps) {
  for (let r = 0, off = 0; r < rows; r++, off += n) {
    const end = off + n;
    let s = 0;
    for (let i = off; i < end; i++) s += x[i];
    const mean = s / n;
    let q = 0;
    for (let i = off; i < end; i++) { const d = x[i] - mean; q += d * d; }
    const den = Math.sqrt(q / n + eps);
    for (let i = off, j = 0; i < end; i++, j++) {
      let t = (x[i] - mean) / den;
      if (w !== null) t = t * w[j];
      if (b !== null) t = t + b[j];
      y[i] = t;
    }
  }
}

register("layer_norm", {
  prepare(inputs, attrs) {
    const x = inputs[0].shape;
    const axis = normAxis(attrs.axis, x.length);
    const tail = x.slice(axis);
    for (let k = 1; k < inputs.length; k++) {
      const v = inputs[k];
      if (v === null || v === undefined) continue;
      const s = v.shape;
      if (s.length !== tail.length || s.some((d, i) => d !== tail[i]))
        throw new JagError("E_SHAPE", `input ${k} has shape ${shapeStr(s)}; expected ${shapeStr(tail)} (x.shape[axis:])`,
          { field: `inputs[${k}]` });
    }
    return [[...x]];
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    const x = inputs[0];
    const total = numel(x.shape);
    if (total === 0) return;
    const axis = normAxis(attrs.axis, x.shape.length);
    let n = 1;
    for (let i = axis; i < x.shape.length; i++) n *= x.shape[i];
    const w = inputs.length > 1 && inputs[1] ? inputs[1].data : null;
    const b = inputs.length > 2 && inputs[2] ? inputs[2].data : null;
    (x.dtype === "float32" ? layerNormF32 : layerNormF64)(x.data, w, b, outputs[0].data, total / n, n, attrs.epsilon);
  },
});

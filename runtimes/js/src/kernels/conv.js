// kernels/conv.js — conv2d, max_pool2d and avg_pool2d kernels (NCHW, float32 / float64).
//
// Semantics and messages: python/jag/ops/composite.py (shape rules "conv2d" and "pool2d",
// the numpy implementations), runtimes/c/src/k_conv.c; NaN policy spec/README.md §9.
// Output size per spatial axis: (d + lo + hi - dil*(k-1) - 1) // stride + 1, E_SHAPE when
// the window is larger than the padded input. Pads are [top, left, bottom, right].
//
// conv2d runs im2col (a block of output rows at a time) followed by the GEMM of
// linalg.js, per image and group; a 1x1 stride-1 unpadded conv uses the input directly as
// the GEMM's B operand, and a depthwise conv (one input and one output channel per group)
// runs direct loops. A constant weight (constant: true: a graph tensor) is the GEMM's A
// operand with constA set, so its packed rows are built once and cached (see gemm).
// Pools walk each window over its in-bounds taps only.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { shapeStr } from "../kernel_api.js";
import { gemm } from "./linalg.js";

const COLS_BUDGET = 1 << 20; // im2col blocks hold about this many elements (at least one output row)

/** One spatial axis of the shape rule: d input, lo/hi pads, k taps, dilation, stride. */
function windowOut(axis, d, lo, hi, k, dil, stride) {
  const n = d + lo + hi - dil * (k - 1) - 1;
  if (n < 0)
    throw new JagError("E_SHAPE", `the ${axis} window (${k} taps, dilation ${dil}) is larger than the padded input (${d + lo + hi})`);
  return Math.floor(n / stride) + 1;
}

/** The spatial geometry shared by conv2d and the pools (strides null = kernel; no dilations = [1, 1]). */
function spatial(x, kh, kw, attrs) {
  const [pt, pl, pb, pr] = attrs.pads;
  const [sh, sw] = attrs.strides ?? [kh, kw];
  const [dh, dw] = attrs.dilations ?? [1, 1];
  const oh = windowOut("height", x[2], pt, pb, kh, dh, sh);
  const ow = windowOut("width", x[3], pl, pr, kw, dw, sw);
  return { kh, kw, sh, sw, pt, pl, dh, dw, oh, ow };
}

/** Taps t in [lo, hi) of an axis with base + t*step in [0, limit), t < k. */
function tapRange(base, step, limit, k) {
  let a = base >= 0 ? 0 : Math.ceil(-base / step);
  let b = base >= limit ? 0 : Math.ceil((limit - base) / step);
  if (a > k) a = k;
  if (b > k) b = k;
  if (b < a) b = a;
  return [a, b];
}

// ---------------------------------------------------------------- conv2d
function convGeometry(inputs, attrs) {
  const x = inputs[0].shape, w = inputs[1].shape;
  if (x.length !== 4 || w.length !== 4)
    throw new JagError("E_SHAPE", `conv2d needs x [N,C,H,W] and weight [O,C/groups,KH,KW], got ${shapeStr(x)} and ${shapeStr(w)}`);
  const g = attrs.groups;
  if (w[0] % g !== 0 || x[1] !== w[1] * g)
    throw new JagError("E_SHAPE", `input 1 (weight) has shape ${shapeStr(w)}; expected [O,${x[1]}/${g},KH,KW] with O divisible by groups=${g} (x has shape ${shapeStr(x)})`, { field: "inputs[1]" });
  if (inputs.length === 3 && inputs[2]) {
    const b = inputs[2].shape;
    if (b.length !== 1 || b[0] !== w[0])
      throw new JagError("E_SHAPE", `input 2 (bias) has shape ${shapeStr(b)}; expected [${w[0]}]`, { field: "inputs[2]" });
  }
  return spatial(x, w[2], w[3], attrs);
}

let colsF32 = new Float32Array(0), colsF64 = new Float64Array(0);

/** im2col of output rows [i0, i1) of one group: cols[(c*KH + p)*KW + q][(i - i0)*OW + j]. xg at xo: [Cg, H, W]. */
function im2col(X, xo, Cg, H, W, P, i0, i1, cols) {
  const { kh: KH, kw: KW, ow: OW, sh, sw, dh, dw, pt, pl } = P;
  const Lc = (i1 - i0) * OW;
  let dst = 0;
  for (let c = 0; c < Cg; c++)
    for (let p = 0; p < KH; p++)
      for (let q = 0; q < KW; q++, dst += Lc) {
        const wbase = q * dw - pl;
        const [jlo, jhi] = tapRange(wbase, sw, W, OW);
        for (let i = i0; i < i1; i++) {
          const d = dst + (i - i0) * OW;
          const h = i * sh + p * dh - pt;
          if (h < 0 || h >= H) {
            cols.fill(0, d, d + OW);
            continue;
          }
          const src = xo + (c * H + h) * W + wbase;
          if (jlo > 0) cols.fill(0, d, d + jlo);
          if (sw === 1) for (let j = jlo; j < jhi; j++) cols[d + j] = X[src + j];
          else for (let j = jlo; j < jhi; j++) cols[d + j] = X[src + j * sw];
          if (jhi < OW) cols.fill(0, d + jhi, d + OW);
        }
      }
}

let dwPlane = new Float64Array(0);

/** Depthwise plane: y[OH, OW] (at yo) = bias + sum over taps of w * shifted x[H, W] (at xo), summed in doubles. */
function depthwise(X, xo, H, W, Wt, wo, bias, P, Y, yo) {
  const { kh: KH, kw: KW, oh: OH, ow: OW, sh, sw, dh, dw, pt, pl } = P;
  const L = OH * OW;
  if (dwPlane.length < L) dwPlane = new Float64Array(L);
  const T = dwPlane;
  T.fill(0, 0, L);
  for (let p = 0; p < KH; p++) {
    const [ilo, ihi] = tapRange(p * dh - pt, sh, H, OH);
    for (let q = 0; q < KW; q++) {
      const wv = Wt[wo + p * KW + q];
      const wbase = q * dw - pl;
      const [jlo, jhi] = tapRange(wbase, sw, W, OW);
      for (let i = ilo; i < ihi; i++) {
        const tr = i * OW, xr = xo + (i * sh + p * dh - pt) * W + wbase;
        if (sw === 1) for (let j = jlo; j < jhi; j++) T[tr + j] += wv * X[xr + j];
        else for (let j = jlo; j < jhi; j++) T[tr + j] += wv * X[xr + j * sw];
      }
    }
  }
  // the conv result is rounded to the dtype first, then the bias added (as numpy's y + bias)
  if (Y instanceof Float32Array) for (let l = 0; l < L; l++) Y[yo + l] = Math.fround(T[l]) + bias;
  else for (let l = 0; l < L; l++) Y[yo + l] = T[l] + bias;
}

register("conv2d", {
  prepare(inputs, attrs) {
    const P = convGeometry(inputs, attrs);
    const x = inputs[0].shape, w = inputs[1].shape;
    return [[x[0], w[0], P.oh, P.ow]];
  },
  run(inputs, attrs, outputs) {
    const Y = outputs[0].data;
    if (Y.length === 0) return;
    const P = convGeometry(inputs, attrs);
    const X = inputs[0].data, Wt = inputs[1].data, bias = inputs.length === 3 && inputs[2] ? inputs[2].data : null;
    const [N, C, H, W] = inputs[0].shape, [O, Cg, KH, KW] = inputs[1].shape;
    const groups = attrs.groups, Og = O / groups, K = Cg * KH * KW, OH = P.oh, OW = P.ow, L = OH * OW;
    const [pt, pl, pb, pr] = attrs.pads;
    const depth = Cg === 1 && Og === 1;
    const constW = inputs[1].constant === true; // a graph constant: gemm caches its packed rows (linalg.js)
    const direct = KH === 1 && KW === 1 && P.sh === 1 && P.sw === 1 && !pt && !pl && !pb && !pr;
    let rows = K === 0 ? OH : OW > COLS_BUDGET / K ? 1 : Math.floor(COLS_BUDGET / (K * OW));
    rows = Math.max(1, Math.min(rows, OH));
    let cols = null;
    if (!depth && !direct) {
      const need = K * rows * OW;
      if (Y instanceof Float32Array) {
        if (colsF32.length < need) colsF32 = new Float32Array(need);
        cols = colsF32;
      } else {
        if (colsF64.length < need) colsF64 = new Float64Array(need);
        cols = colsF64;
      }
    }
    for (let n = 0; n < N; n++)
      for (let g = 0; g < groups; g++) {
        const xo = (n * C + g * Cg) * H * W, wo = g * Og * K, yo = (n * O + g * Og) * L;
        if (depth) {
          depthwise(X, xo, H, W, Wt, wo, bias ? bias[g] : 0, P, Y, yo);
          continue;
        }
        if (direct) gemm(Og, L, K, Wt, wo, K, 1, X, xo, H * W, 1, Y, yo, L, constW);
        else
          for (let i0 = 0; i0 < OH; i0 += rows) {
            const i1 = Math.min(i0 + rows, OH), Lc = (i1 - i0) * OW;
            im2col(X, xo, Cg, H, W, P, i0, i1, cols);
            gemm(Og, Lc, K, Wt, wo, K, 1, cols, 0, Lc, 1, Y, yo + i0 * OW, L, constW);
          }
        if (bias)
          for (let o = 0; o < Og; o++) {
            const b = bias[g * Og + o], yr = yo + o * L;
            for (let l = 0; l < L; l++) Y[yr + l] += b; // the Float32Array store rounds, as numpy's y + bias
          }
      }
  },
});

// ---------------------------------------------------------------- pooling
// x [N, C, H, W] -> [N, C, OH, OW] over KH x KW windows (kernel_shape), strides (null =
// kernel_shape), pads [top, left, bottom, right].
// max_pool2d: padding never wins (-inf), dilations apply, NaN in a window gives NaN, a
//   window entirely in the padding gives -inf.
// avg_pool2d: window sum / KH*KW (count_include_pad) or / the number of input elements in
//   the window (0/0 = NaN for a window entirely in the padding).
function poolGeometry(inputs, attrs) {
  const x = inputs[0].shape;
  if (x.length !== 4) throw new JagError("E_SHAPE", `pooling needs x [N,C,H,W], got ${shapeStr(x)}`);
  return spatial(x, attrs.kernel_shape[0], attrs.kernel_shape[1], attrs);
}

/** mode 0: max; 1: mean over KH*KW; 2: mean over the in-bounds taps. */
function pool(inputs, attrs, outputs, mode) {
  const Y = outputs[0].data;
  if (Y.length === 0) return;
  const P = poolGeometry(inputs, attrs);
  const X = inputs[0].data, [N, C, H, W] = inputs[0].shape;
  const { kh: KH, kw: KW, oh: OH, ow: OW, sh, sw, dh, dw, pt, pl } = P;
  const f32 = Y instanceof Float32Array;
  const full = f32 ? Math.fround(KH * KW) : KH * KW;
  // in-bounds taps of every output row / column (the same for every plane)
  const plo = new Int32Array(OH), phi = new Int32Array(OH), qlo = new Int32Array(OW), qhi = new Int32Array(OW);
  for (let i = 0; i < OH; i++) [plo[i], phi[i]] = tapRange(i * sh - pt, dh, H, KH);
  for (let j = 0; j < OW; j++) [qlo[j], qhi[j]] = tapRange(j * sw - pl, dw, W, KW);
  const planes = N * C;
  let y = 0;
  for (let pln = 0; pln < planes; pln++) {
    const xp = pln * H * W;
    for (let i = 0; i < OH; i++) {
      const hb = i * sh - pt, p0 = plo[i], p1 = phi[i];
      for (let j = 0; j < OW; j++, y++) {
        const wb = j * sw - pl, q0 = qlo[j], q1 = qhi[j];
        if (mode === 0) {
          let m = -Infinity;
          for (let p = p0; p < p1; p++) {
            const row = xp + (hb + p * dh) * W + wb;
            for (let q = q0; q < q1; q++) {
              const e = X[row + q * dw];
              if (e >= m || e !== e) m = e; // NaN sticks: nothing is >= NaN
            }
          }
          Y[y] = m;
        } else {
          let sum = 0;
          for (let p = p0; p < p1; p++) {
            const row = xp + (hb + p * dh) * W + wb;
            for (let q = q0; q < q1; q++) sum += X[row + q * dw];
          }
          if (f32) sum = Math.fround(sum);
          Y[y] = sum / (mode === 1 ? full : (p1 - p0) * (q1 - q0));
        }
      }
    }
  }
}

register("max_pool2d", {
  prepare(inputs, attrs) {
    const P = poolGeometry(inputs, attrs), x = inputs[0].shape;
    return [[x[0], x[1], P.oh, P.ow]];
  },
  run(inputs, attrs, outputs) {
    pool(inputs, attrs, outputs, 0);
  },
});

register("avg_pool2d", {
  prepare(inputs, attrs) {
    const P = poolGeometry(inputs, attrs), x = inputs[0].shape;
    return [[x[0], x[1], P.oh, P.ow]];
  },
  run(inputs, attrs, outputs) {
    pool(inputs, attrs, outputs, attrs.count_include_pad ? 1 : 2);
  },
});

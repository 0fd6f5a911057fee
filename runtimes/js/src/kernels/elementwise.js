// kernels/elementwise.js — elementwise kernels: unary math, activations, cast, binary
// arithmetic, comparisons and logic with numpy broadcasting, and where.
//
// Semantics: the numpy reference python/jag/ops/core.py and composite.py, as ported by the C
// runtime (runtimes/c/src/k_elementwise.c):
//   - integer arithmetic wraps (stores into Int32Array / Uint8Array / BigInt64Array wrap;
//     int32 multiply uses Math.imul);
//   - float32 results are rounded to float32 after every arithmetic step (a store into a
//     Float32Array rounds once; compound formulas use Math.fround in between);
//   - maximum/minimum return b on ties (max(-0.0, 0.0) = 0.0, max(0.0, -0.0) = -0.0) and
//     propagate NaN from either side; comparisons with NaN are false except not_equal;
//   - sign(±0.0) = +0.0, sign(NaN) = NaN; relu(-0.0) = +0.0, relu(NaN) = NaN;
//   - erf: fdlibm's s_erf.c in double (JS has no Math.erf), rounded to the dtype; float32
//     gelu uses the C runtime's float32 polynomial erf (erfPolyF32, wasm gelu_f32), bit-identical to C;
//   - power: C pow special cases (pow(1, y) = 1 and pow(-1, ±inf) = 1, where Math.pow gives NaN);
//   - cast: float -> int truncates toward zero and saturates (NaN -> 0); -> bool is x != 0
//     (NaN is true); int -> int wraps; int64 -> float32 is correctly rounded.
//
// Speed: the float paths are one function literal per op (so that V8's type feedback stays
// monomorphic: Float32Array/Float64Array and double arithmetic only); the broadcast driver
// coalesces the output shape into as few dims as possible and calls a row function once per
// innermost row with per-operand strides (0 = broadcast, 1 = contiguous). Integer, int64
// (BigInt) and bool paths use shared generic loops over small arrow functions.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { broadcastShapes, broadcastStrides } from "../kernel_api.js";
import { numel } from "../dtypes.js";
// relu and gelu: the wasm SIMD module lives there
import { reluWasm, RELU_WASM_MIN, geluF32Wasm, binaryF32Wasm, MAP_WASM_MIN, ERF_P, ERF_Q, GELU_SQRT2_F32 } from "./linalg.js";

const fround = Math.fround;

// ---------------------------------------------------------------- erf (fdlibm s_erf.c)

const ERX = 8.45062911510467529297e-01;
const EFX = 1.28379167095512586316e-01;
const EFX8 = 1.02703333676410069053e+00;
const PP0 = 1.28379167095512558561e-01, PP1 = -3.25042107247001499370e-01, PP2 = -2.84817495755985104766e-02,
  PP3 = -5.77027029648944159157e-03, PP4 = -2.37630166566501626084e-05;
const QQ1 = 3.97917223959155352819e-01, QQ2 = 6.50222499887672944485e-02, QQ3 = 5.08130628187576562776e-03,
  QQ4 = 1.32494738004321644526e-04, QQ5 = -3.96022827877536812320e-06;
const PA0 = -2.36211856075265944077e-03, PA1 = 4.14856118683748331666e-01, PA2 = -3.72207876035701323847e-01,
  PA3 = 3.18346619901161753674e-01, PA4 = -1.10894694282396677476e-01, PA5 = 3.54783043256182359371e-02,
  PA6 = -2.16637559486879084300e-03;
const QA1 = 1.06420880400844228286e-01, QA2 = 5.40397917702171048937e-01, QA3 = 7.18286544141962662868e-02,
  QA4 = 1.26171219808761642112e-01, QA5 = 1.36370839120290507362e-02, QA6 = 1.19844998467991074170e-02;
const RA0 = -9.86494403484714822705e-03, RA1 = -6.93858572707181764372e-01, RA2 = -1.05586262253232909814e+01,
  RA3 = -6.23753324503260060396e+01, RA4 = -1.62396669462573470355e+02, RA5 = -1.84605092906711035994e+02,
  RA6 = -8.12874355063065934246e+01, RA7 = -9.81432934416914548592e+00;
const SA1 = 1.96512716674392571292e+01, SA2 = 1.37657754143519042600e+02, SA3 = 4.34565877475229228821e+02,
  SA4 = 6.45387271733267880336e+02, SA5 = 4.29008140027567833386e+02, SA6 = 1.08635005541779435134e+02,
  SA7 = 6.57024977031928170135e+00, SA8 = -6.04244152148580987438e-02;
const RB0 = -9.86494292470009928597e-03, RB1 = -7.99283237680523006574e-01, RB2 = -1.77579549177547519889e+01,
  RB3 = -1.60636384855821916062e+02, RB4 = -6.37566443368389627722e+02, RB5 = -1.02509513161107724954e+03,
  RB6 = -4.83519191608651397019e+02;
const SB1 = 3.03380607434824582924e+01, SB2 = 3.25792512996573918826e+02, SB3 = 1.53672958608443695994e+03,
  SB4 = 3.19985821950859553908e+03, SB5 = 2.55305040643316442583e+03, SB6 = 4.74528541206955367215e+02,
  SB7 = -2.24409524465858183362e+01;

const erfView = new DataView(new ArrayBuffer(8));
/** The double whose high 32-bit word is `hi` and low word 0 (fdlibm's thresholds on the high word). */
function fromHigh(hi) {
  erfView.setUint32(0, hi);
  erfView.setUint32(4, 0);
  return erfView.getFloat64(0);
}
const ERF_TINY = fromHigh(0x3e300000); // 2^-28
const ERF_SUBN = fromHigh(0x00800000); // avoid underflow below this
const ERF_SPLIT = fromHigh(0x4006db6e); // ~1/0.35
/** x with the low 32 bits of its mantissa cleared. */
function clearLow(x) {
  erfView.setFloat64(0, x);
  erfView.setUint32(4, 0);
  return erfView.getFloat64(0);
}

/** The error function in double precision (fdlibm s_erf.c, < 1 ulp). */
export function erf(x) {
  if (x !== x) return x;
  const ax = Math.abs(x);
  if (ax === Infinity) return x > 0 ? 1 : -1;
  if (ax < 0.84375) {
    if (ax < ERF_TINY) {
      if (ax < ERF_SUBN) return 0.125 * (8.0 * x + EFX8 * x);
      return x + EFX * x;
    }
    const z = x * x;
    const r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
    const s = 1 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
    return x + x * (r / s);
  }
  if (ax < 1.25) {
    const s = ax - 1;
    const P = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
    const Q = 1 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
    return x >= 0 ? ERX + P / Q : -ERX - P / Q;
  }
  if (ax >= 6) return x >= 0 ? 1 - 1e-300 : 1e-300 - 1;
  const s = 1 / (ax * ax);
  let R, S;
  if (ax < ERF_SPLIT) {
    R = RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))));
    S = 1 + s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8)))))));
  } else {
    R = RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))));
    S = 1 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))));
  }
  const z = clearLow(ax);
  const r = Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + R / S);
  return x >= 0 ? 1 - r / ax : r / ax - 1;
}

/** C's pow: Math.pow except pow(1, y) = 1 (y NaN) and pow(-1, ±inf) = 1. */
function cpow(a, b) {
  const r = Math.pow(a, b);
  if (r !== r && (a === 1 || (a === -1 && (b === Infinity || b === -Infinity)))) return 1;
  return r;
}

// ---------------------------------------------------------------- unary rows (x, y, n)

// Float rows (Float32Array or Float64Array; the store rounds a float32 result once).
function negF(x, y, n) { for (let i = 0; i < n; i++) y[i] = -x[i]; }
function absF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.abs(x[i]); }
function signF(x, y, n) {
  for (let i = 0; i < n; i++) { const a = x[i]; y[i] = a > 0 ? 1 : a < 0 ? -1 : a === 0 ? 0 : a; }
}
function expF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]); }
function logF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.log(x[i]); }
function sqrtF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]); }
function sinF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.sin(x[i]); }
function cosF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.cos(x[i]); }
function tanhF(x, y, n) { for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); }
function erfF(x, y, n) { for (let i = 0; i < n; i++) y[i] = erf(x[i]); }
// relu = maximum(x, 0): relu(-0.0) = +0.0, relu(NaN) = NaN (its bits kept). Branch-free (a
// data-dependent branch mispredicts on about half of an activation's elements): float
// arrays of RELU_WASM_MIN (64) elements or more go through the WebAssembly SIMD relu of
// linalg.js (x & (x > 0 | x != x) per lane, ~0.3-0.6 ns an element); the JS rows (short
// arrays, engines without wasm SIMD) mask the bits. float32: an element whose sign bit is
// set is zeroed unless it is a NaN, i.e. unless its bits as int32 b are above -8388608
// (0xff800000, -inf); float64: both words masked with -(a > 0 | a !== a); int32:
// a & ~(a >> 31).
function reluF32(x, y, n) {
  if (n >= RELU_WASM_MIN && reluWasm(x, y, n)) return;
  const xi = new Int32Array(x.buffer, x.byteOffset, n), yi = new Int32Array(y.buffer, y.byteOffset, n);
  for (let i = 0; i < n; i++) { const b = xi[i]; yi[i] = b & ~((b >> 31) & ~((-8388608 - b) >> 31)); }
}
function reluF64(x, y, n) {
  if (n >= RELU_WASM_MIN && reluWasm(x, y, n)) return;
  const xi = new Int32Array(x.buffer, x.byteOffset, 2 * n), yi = new Int32Array(y.buffer, y.byteOffset, 2 * n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const a = x[i], keep = -((a > 0) | (a !== a));
    yi[j] = xi[j] & keep;
    yi[j + 1] = xi[j + 1] & keep;
  }
}
function reluI32(x, y, n) { for (let i = 0; i < n; i++) { const a = x[i]; y[i] = a & ~(a >> 31); } }
function sigmoidF32(x, y, n) { for (let i = 0; i < n; i++) y[i] = 1 / fround(1 + fround(Math.exp(-x[i]))); }
function sigmoidF64(x, y, n) { for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i])); }

const SQRT2 = 1.4142135623730951;
const GELU_K = 0.7978845608028654; // sqrt(2 / pi)
const GELU_K_F32 = fround(GELU_K);
const GELU_C = 0.044715;
const GELU_C_F32 = fround(GELU_C);
/**
 * erf for float32 gelu: the C runtime's erf_poly_f32 (runtimes/c/src/k_elementwise.c; the
 * coefficients ERF_P, ERF_Q live beside the wasm version in linalg.js), in float32
 * arithmetic step by step (fround), so bit-identical to C and to the wasm gelu_f32:
 * |z| < 1: z * P(z^2); 1 <= |z| < 4: Q((|z| - 2.5) / 1.5); |z| >= 4: +-1. Max abs error
 * 1.7e-7, inside the "transcendental" class; erf(NaN) = NaN, erf(-0) = -0.
 */
function erfPolyF32(z) {
  const a = Math.abs(z);
  if (a >= 4) return z > 0 ? 1 : -1;
  if (a < 1) {
    const t = fround(a * a);
    let p = ERF_P_F32[0];
    for (let i = 1; i < ERF_P_F32.length; i++) p = fround(fround(p * t) + ERF_P_F32[i]);
    return fround(p * z); // = copysign(p * |z|, z), -0 included
  }
  const u = fround(fround(a - 2.5) * TWO_THIRDS_F32); // NaN goes this way and stays NaN
  let q = ERF_Q_F32[0];
  for (let i = 1; i < ERF_Q_F32.length; i++) q = fround(fround(q * u) + ERF_Q_F32[i]);
  return z < 0 ? -q : q;
}
const ERF_P_F32 = Float32Array.from(ERF_P), ERF_Q_F32 = Float32Array.from(ERF_Q), TWO_THIRDS_F32 = fround(2 / 3);

// gelu float32 (approximate "none"): arrays of MAP_WASM_MIN elements or more through the
// WebAssembly SIMD gelu_f32 of linalg.js, the rest (and engines without it) by the same
// float32 arithmetic here: 0.5x * (1 + erf(x / sqrt2)), erf by erfPolyF32.
function geluErfF32(x, y, n) {
  if (n >= MAP_WASM_MIN && geluF32Wasm(x, y, n)) return;
  for (let i = 0; i < n; i++) {
    const a = x[i];
    y[i] = fround(0.5 * a) * fround(1 + erfPolyF32(fround(a / GELU_SQRT2_F32)));
  }
}
function geluErfF64(x, y, n) {
  for (let i = 0; i < n; i++) { const a = x[i]; y[i] = 0.5 * a * (1 + erf(a / SQRT2)); }
}
function geluTanhF32(x, y, n) {
  for (let i = 0; i < n; i++) {
    const a = x[i];
    const inner = fround(GELU_K_F32 * fround(a + fround(GELU_C_F32 * fround(fround(a * a) * a))));
    y[i] = fround(0.5 * a) * fround(1 + fround(Math.tanh(inner)));
  }
}
function geluTanhF64(x, y, n) {
  for (let i = 0; i < n; i++) {
    const a = x[i];
    y[i] = 0.5 * a * (1 + Math.tanh(GELU_K * (a + GELU_C * (a * a * a))));
  }
}

/** A generic unary row over an arrow function (integer, int64 and bool paths). */
function unaryRow(f) {
  return (x, y, n) => { for (let i = 0; i < n; i++) y[i] = f(x[i]); };
}

// ---------------------------------------------------------------- binary rows

// row(n, a, ia, sa, b, ib, sb, y, iy): y[iy + i] = a[ia + i*sa] OP b[ib + i*sb], i < n.
// The four arithmetic rows have a loop of their own for two contiguous operands (the
// common case: same shapes, or a broadcast over outer dims such as an attention mask),
// which V8 compiles to tighter code than the strided walk.
function addF(n, a, ia, sa, b, ib, sb, y, iy) {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) y[iy + i] = a[ia + i] + b[ib + i]; return; }
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] + b[ib];
}
function subF(n, a, ia, sa, b, ib, sb, y, iy) {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) y[iy + i] = a[ia + i] - b[ib + i]; return; }
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] - b[ib];
}
function mulF(n, a, ia, sa, b, ib, sb, y, iy) {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) y[iy + i] = a[ia + i] * b[ib + i]; return; }
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] * b[ib];
}
function divF(n, a, ia, sa, b, ib, sb, y, iy) {
  if (sa === 1 && sb === 1) { for (let i = 0; i < n; i++) y[iy + i] = a[ia + i] / b[ib + i]; return; }
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] / b[ib];
}
function powF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = cpow(a[ia], b[ib]); }
function maxF(n, a, ia, sa, b, ib, sb, y, iy) {
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) { const A = a[ia], B = b[ib]; y[iy] = (A > B || A !== A) ? A : B; }
}
function minF(n, a, ia, sa, b, ib, sb, y, iy) {
  for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) { const A = a[ia], B = b[ib]; y[iy] = (A < B || A !== A) ? A : B; }
}
function eqF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] === b[ib] ? 1 : 0; }
function neF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] !== b[ib] ? 1 : 0; }
function ltF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] < b[ib] ? 1 : 0; }
function leF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] <= b[ib] ? 1 : 0; }
function gtF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] > b[ib] ? 1 : 0; }
function geF(n, a, ia, sa, b, ib, sb, y, iy) { for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = a[ia] >= b[ib] ? 1 : 0; }

/** A generic binary row over an arrow function (integer, int64 and bool paths). */
function binaryRow(f) {
  return (n, a, ia, sa, b, ib, sb, y, iy) => {
    for (const e = iy + n; iy < e; iy++, ia += sa, ib += sb) y[iy] = f(a[ia], b[ib]);
  };
}

// where: 3 operands (condition bytes, a, b) of one element type; raw words are copied.
function whereRow(n, c, ic, sc, a, ia, sa, b, ib, sb, y, iy) {
  if (sc === 0) {
    if (c[ic]) for (const e = iy + n; iy < e; iy++, ia += sa) y[iy] = a[ia];
    else for (const e = iy + n; iy < e; iy++, ib += sb) y[iy] = b[ib];
    return;
  }
  for (const e = iy + n; iy < e; iy++, ic += sc, ia += sa, ib += sb) y[iy] = c[ic] ? a[ia] : b[ib];
}

// ---------------------------------------------------------------- broadcast driver

/**
 * Coalesced broadcast walk: size-1 dims dropped, a dim merged into the previous one when every
 * operand is contiguous across the two. Returns {dims, st} (st[k][d]: element stride of operand
 * k along dim d); at least one dim.
 */
function coalesce(out, shapes) {
  const full = shapes.map((s) => broadcastStrides(s, out));
  const dims = [];
  const st = shapes.map(() => []);
  for (let d = 0; d < out.length; d++) {
    const size = out[d];
    if (size === 1) continue;
    const nd = dims.length;
    let merge = nd > 0;
    for (let k = 0; k < shapes.length && merge; k++) merge = st[k][nd - 1] === full[k][d] * size;
    if (merge) {
      dims[nd - 1] *= size;
      for (let k = 0; k < shapes.length; k++) st[k][nd - 1] = full[k][d];
    } else {
      dims.push(size);
      for (let k = 0; k < shapes.length; k++) st[k].push(full[k][d]);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of st) s.push(0);
  }
  return { dims, st };
}

/**
 * Float32 add / subtract / multiply / divide of rows contiguous in both operands through
 * the WebAssembly SIMD binop_f32 of linalg.js (same IEEE float32 results as the JS rows):
 * runs of rows along the second-to-last coalesced dim, each operand stepping a whole row
 * or broadcast (an attention mask [N, 1, 1, S] over scores [N, H, S, S]). False (y
 * untouched) when the layout does not fit or without WebAssembly SIMD.
 */
function binaryF32Runs(op, a, b, y, total, dims, st) {
  const nd = dims.length, L = dims[nd - 1];
  if (total < MAP_WASM_MIN || L % 4 !== 0 || st[0][nd - 1] !== 1 || st[1][nd - 1] !== 1) return false;
  if (nd === 1) { // one contiguous run: pieces of WASM_PIECE elements (a multiple of 4)
    for (let o = 0; o < L; o += WASM_PIECE) {
      const n = Math.min(WASM_PIECE, L - o);
      if (!binaryF32Wasm(op, n, 1, a, o, 0, b, o, 0, y, o)) return false; // (only on the first call: memory)
    }
    return true;
  }
  const R = dims[nd - 2], as = st[0][nd - 2], bs = st[1][nd - 2];
  if ((as !== 0 && as !== L) || (bs !== 0 && bs !== L)) return false;
  const no = nd - 2, idx = new Array(Math.max(no, 0)).fill(0);
  let ia = 0, ib = 0;
  for (let iy = 0; iy < total; iy += R * L) {
    if (!binaryF32Wasm(op, L, R, a, ia, as, b, ib, bs, y, iy)) return false; // (only on the first call: memory)
    for (let d = no - 1; d >= 0; d--) {
      ia += st[0][d]; ib += st[1][d];
      if (++idx[d] < dims[d]) break;
      ia -= st[0][d] * dims[d]; ib -= st[1][d] * dims[d];
      idx[d] = 0;
    }
  }
  return true;
}
const WASM_PIECE = 1 << 14;
const WASM_BINOPS = new Map([[addF, "add"], [subF, "sub"], [mulF, "mul"], [divF, "div"]]);

/** y = row(a, b) over the broadcast output shape of y. */
function runBinary(row, A, B, Y) {
  const total = numel(Y.shape);
  if (total === 0) return;
  const { dims, st } = coalesce(Y.shape, [A.shape, B.shape]);
  const nd = dims.length, L = dims[nd - 1];
  const a = A.data, b = B.data, y = Y.data, sa = st[0][nd - 1], sb = st[1][nd - 1];
  if (y instanceof Float32Array && WASM_BINOPS.has(row) && binaryF32Runs(WASM_BINOPS.get(row), a, b, y, total, dims, st)) return;
  if (nd === 1) { row(L, a, 0, sa, b, 0, sb, y, 0); return; }
  const sa0 = st[0], sb0 = st[1];
  const idx = new Array(nd).fill(0);
  let ia = 0, ib = 0;
  for (let iy = 0; iy < total; iy += L) {
    row(L, a, ia, sa, b, ib, sb, y, iy);
    for (let d = nd - 2; d >= 0; d--) {
      ia += sa0[d]; ib += sb0[d];
      if (++idx[d] < dims[d]) break;
      ia -= sa0[d] * dims[d]; ib -= sb0[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/** where over raw element words: c bytes; a, b, y arrays of one word type; `w` words per element. */
function runWhere(c, cShape, a, aShape, b, bShape, y, yShape, w) {
  if (w === 2) { cShape = [...cShape, 1]; aShape = [...aShape, 2]; bShape = [...bShape, 2]; yShape = [...yShape, 2]; }
  const total = numel(yShape);
  if (total === 0) return;
  const { dims, st } = coalesce(yShape, [cShape, aShape, bShape]);
  const nd = dims.length, L = dims[nd - 1];
  const [s0, s1, s2] = st;
  const sc = s0[nd - 1], sa = s1[nd - 1], sb = s2[nd - 1];
  const idx = new Array(nd).fill(0);
  let ic = 0, ia = 0, ib = 0;
  for (let iy = 0; iy < total; iy += L) {
    whereRow(L, c, ic, sc, a, ia, sa, b, ib, sb, y, iy);
    for (let d = nd - 2; d >= 0; d--) {
      ic += s0[d]; ia += s1[d]; ib += s2[d];
      if (++idx[d] < dims[d]) break;
      ic -= s0[d] * dims[d]; ia -= s1[d] * dims[d]; ib -= s2[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/** A view of a tensor's bytes as raw words: [array, words per element]. */
function wordView(t) {
  const d = t.data;
  switch (t.dtype) {
    case "float32": return [new Int32Array(d.buffer, d.byteOffset, d.length), 1];
    case "float64":
    case "int64": return [new Int32Array(d.buffer, d.byteOffset, d.length * 2), 2];
    default: return [d, 1]; // int32 (Int32Array), uint8 and bool (Uint8Array)
  }
}

// ---------------------------------------------------------------- registration helpers

const sameShape = (inputs) => [[...inputs[0].shape]];
const broadcastRule = (inputs) => [broadcastShapes(inputs.map((t) => t.shape))];

function pick(table, dtype, op) {
  const fn = table[dtype];
  if (!fn) throw new JagError("E_INTERNAL", `${op}: no kernel for dtype ${dtype}`);
  return fn;
}

/** Register a unary op (shape rule "same") with a row per input dtype. */
function unary(op, table) {
  register(op, {
    prepare: sameShape,
    overwrites: true,
    run(inputs, attrs, outputs) {
      const n = numel(outputs[0].shape);
      if (n > 0) pick(table, inputs[0].dtype, op)(inputs[0].data, outputs[0].data, n);
    },
  });
}

/** Register a binary op (shape rule "broadcast") with a row per input dtype. */
function binary(op, table) {
  register(op, {
    prepare: broadcastRule,
    overwrites: true,
    run(inputs, attrs, outputs) {
      runBinary(pick(table, inputs[0].dtype, op), inputs[0], inputs[1], outputs[0]);
    },
  });
}

const FLOATS = (f32, f64 = f32) => ({ float32: f32, float64: f64 });

// ---------------------------------------------------------------- unary ops

const negInt = unaryRow((a) => -a); // stores wrap: neg(INT_MIN) = INT_MIN, uint8 mod 256
const negBig = unaryRow((a) => -a);
unary("neg", { ...FLOATS(negF), int32: negInt, int64: negBig, uint8: negInt });

const absInt = unaryRow((a) => (a < 0 ? -a : a));
const absBig = unaryRow((a) => (a < 0n ? -a : a));
unary("abs", { ...FLOATS(absF), int32: absInt, int64: absBig, uint8: (x, y, n) => y.set(x.subarray(0, n)) });

const signInt = unaryRow((a) => (a > 0 ? 1 : a < 0 ? -1 : 0));
const signBig = unaryRow((a) => (a > 0n ? 1n : a < 0n ? -1n : 0n));
unary("sign", { ...FLOATS(signF), int32: signInt, int64: signBig, uint8: signInt });

unary("exp", FLOATS(expF));
unary("log", FLOATS(logF));
unary("sqrt", FLOATS(sqrtF));
unary("sin", FLOATS(sinF));
unary("cos", FLOATS(cosF));
unary("tanh", FLOATS(tanhF));
unary("erf", FLOATS(erfF));
unary("relu", {
  ...FLOATS(reluF32, reluF64),
  int32: reluI32,
  int64: unaryRow((a) => (a > 0n ? a : 0n)),
});
unary("sigmoid", FLOATS(sigmoidF32, sigmoidF64));
unary("logical_not", { bool: unaryRow((a) => a ^ 1) });

const GELU = { none: FLOATS(geluErfF32, geluErfF64), tanh: FLOATS(geluTanhF32, geluTanhF64) };
register("gelu", {
  prepare(inputs, attrs) {
    const a = attrs.approximate;
    if (a !== "none" && a !== "tanh")
      throw new JagError("E_ATTR", `attr 'approximate': '${a}' is not one of ['none', 'tanh']`, { field: "attrs.approximate" });
    return sameShape(inputs);
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    const n = numel(outputs[0].shape);
    if (n > 0) pick(GELU[attrs.approximate], inputs[0].dtype, "gelu")(inputs[0].data, outputs[0].data, n);
  },
});

// ---------------------------------------------------------------- cast

const I64_MAX = 0x7fffffffffffffffn;
const I64_MIN = -0x8000000000000000n;
const TWO63 = 9223372036854775808;
const TWO53N = 9007199254740992n;

const satI32 = (v) => (v !== v ? 0 : v >= 2147483648 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v));
const satI64 = (v) => (v !== v ? 0n : v >= TWO63 ? I64_MAX : v <= -TWO63 ? I64_MIN : BigInt(Math.trunc(v)));
const satU8 = (v) => (v !== v ? 0 : v >= 255 ? 255 : v <= 0 ? 0 : Math.trunc(v));

/** int64 (BigInt) -> the correctly rounded float32 value (as a Number, exactly representable). */
export function int64ToFloat32(v) {
  const neg = v < 0n;
  const m = neg ? -v : v;
  if (m <= TWO53N) return fround(Number(v)); // exact double, one rounding
  const bits = m.toString(2).length; // > 53
  const shift = BigInt(bits - 24);
  let q = m >> shift;
  const rem = m - (q << shift);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n; // round half to even
  const r = Number(q) * 2 ** (bits - 24);
  return neg ? -r : r;
}

function castF32ToF64(x, y, n) { for (let i = 0; i < n; i++) y[i] = x[i]; }
function castF64ToF32(x, y, n) { for (let i = 0; i < n; i++) y[i] = x[i]; }
function castNumToFloat(x, y, n) { for (let i = 0; i < n; i++) y[i] = x[i]; }

const FROM_FLOAT = {
  int32: unaryRow(satI32),
  int64: unaryRow(satI64),
  uint8: unaryRow(satU8),
  bool: unaryRow((v) => (v !== 0 ? 1 : 0)), // NaN is true
};
const FROM_SMALL_INT = { // int32, uint8 and bool sources (Numbers); stores wrap
  float32: castNumToFloat,
  float64: castNumToFloat,
  int32: unaryRow((v) => v),
  int64: unaryRow((v) => BigInt(v)),
  uint8: unaryRow((v) => v),
  bool: unaryRow((v) => (v !== 0 ? 1 : 0)),
};
const FROM_INT64 = {
  float32: unaryRow(int64ToFloat32),
  float64: unaryRow((v) => Number(v)), // correctly rounded
  int32: unaryRow((v) => Number(BigInt.asIntN(32, v))),
  uint8: unaryRow((v) => Number(BigInt.asUintN(8, v))),
  bool: unaryRow((v) => (v !== 0n ? 1 : 0)),
};
const CAST = {
  float32: { ...FROM_FLOAT, float64: castF32ToF64 },
  float64: { ...FROM_FLOAT, float32: castF64ToF32 },
  int32: FROM_SMALL_INT,
  int64: FROM_INT64,
  uint8: FROM_SMALL_INT,
  bool: FROM_SMALL_INT,
};

register("cast", {
  prepare: sameShape,
  run(inputs, attrs, outputs) {
    const x = inputs[0], y = outputs[0];
    const n = numel(y.shape);
    if (n === 0) return;
    if (x.dtype === y.dtype || (x.dtype === "bool" && y.dtype === "uint8")) {
      y.data.set(x.data.subarray(0, n)); // bit-exact copy
      return;
    }
    pick(CAST[x.dtype], y.dtype, "cast")(x.data, y.data, n);
  },
});

// ---------------------------------------------------------------- binary ops

const addInt = binaryRow((a, b) => a + b); // stores wrap (int32, uint8)
const subInt = binaryRow((a, b) => a - b);
const mulI32 = binaryRow((a, b) => Math.imul(a, b));
const mulU8 = binaryRow((a, b) => a * b); // < 2^16, the store wraps
const addBig = binaryRow((a, b) => a + b); // BigInt64Array stores wrap mod 2^64
const subBig = binaryRow((a, b) => a - b);
const mulBig = binaryRow((a, b) => a * b);
binary("add", { ...FLOATS(addF), int32: addInt, int64: addBig, uint8: addInt });
binary("subtract", { ...FLOATS(subF), int32: subInt, int64: subBig, uint8: subInt });
binary("multiply", { ...FLOATS(mulF), int32: mulI32, int64: mulBig, uint8: mulU8 });
binary("divide", FLOATS(divF));
binary("power", FLOATS(powF));

/** One generic row for every integer/bool dtype: Numbers (int32, uint8, bool) and BigInt (int64). */
function ints(f) {
  const row = binaryRow(f);
  return { int32: row, int64: row, uint8: row, bool: row };
}
binary("maximum", { ...FLOATS(maxF), ...ints((a, b) => (a > b ? a : b)) });
binary("minimum", { ...FLOATS(minF), ...ints((a, b) => (a < b ? a : b)) });
binary("equal", { ...FLOATS(eqF), ...ints((a, b) => (a === b ? 1 : 0)) });
binary("not_equal", { ...FLOATS(neF), ...ints((a, b) => (a !== b ? 1 : 0)) });
binary("less", { ...FLOATS(ltF), ...ints((a, b) => (a < b ? 1 : 0)) });
binary("less_equal", { ...FLOATS(leF), ...ints((a, b) => (a <= b ? 1 : 0)) });
binary("greater", { ...FLOATS(gtF), ...ints((a, b) => (a > b ? 1 : 0)) });
binary("greater_equal", { ...FLOATS(geF), ...ints((a, b) => (a >= b ? 1 : 0)) });
binary("logical_and", { bool: binaryRow((a, b) => a & b) });
binary("logical_or", { bool: binaryRow((a, b) => a | b) });

// ---------------------------------------------------------------- where

register("where", {
  prepare: broadcastRule,
  run(inputs, attrs, outputs) {
    const [c, a, b] = inputs, y = outputs[0];
    const [av, w] = wordView(a);
    const [bv] = wordView(b);
    const [yv] = wordView(y);
    runWhere(c.data, c.shape, av, a.shape, bv, b.shape, yv, y.shape, w);
  },
});

// kernels/linalg.js — matmul and linear kernels, and the float GEMM they share with conv2d.
//
// Semantics: numpy.matmul (python/jag/ops/shapes.py "matmul" rule, core.py) and
// torch.nn.functional.linear computed as numpy does (python/jag/ops/composite.py: matmul,
// then the bias added in the dtype); runtimes/c/src/k_linalg.c. Integer matmul wraps as
// numpy does (it accumulates in the dtype itself): the TypedArray stores wrap int32 /
// uint8 / int64 sums exactly (sums and products are exact in double / BigInt first).
//
// The float GEMM (gemm, exported for conv.js) computes C = A @ B for strided A and B: dot
// products for GEMV-like shapes, row accumulation for a few rows (both in doubles, rounded
// once when stored), and otherwise a Goto/BLIS-style blocked product — B packed into
// KC x NR slivers, A in MR-row tiles, a register-tile micro-kernel over them. That
// micro-kernel is WebAssembly SIMD (assembled below at load time; float32 accumulates in
// float32 lanes as BLAS and the C runtime do) where available, else plain JS (doubles).
// The packed form of a graph constant (a weight: the kernels pass constA / constB for
// inputs marked constant: true) is built once and cached in the wasm memory, and a batch-1
// product with a cached weight is a wasm matrix-vector product over its panels (see
// "cache of constant operands" below). All paths agree with numpy within the "accumulate"
// tolerance class.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { broadcastShapes, shapeStr } from "../kernel_api.js";

// ---------------------------------------------------------------- float GEMM (JS fallback)
const MR = 4, NR = 8, KC = 256, MC = 128, NC = 2048;

let packA = new Float64Array(0), packB = new Float64Array(0);
const TILE = new Float64Array(MR * NR);

/** t[0..32) = A sliver [kc][4] (pa at ao) x B sliver [kc][8] (pb at bo). */
function ukr(kc, pa, ao, pb, bo, t) {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let p = 0; p < kc; p++) {
    const a = ao + p * 4, b = bo + p * 8;
    const a0 = pa[a], a1 = pa[a + 1], a2 = pa[a + 2], a3 = pa[a + 3];
    { const bj = pb[b]; c00 += a0 * bj; c10 += a1 * bj; c20 += a2 * bj; c30 += a3 * bj; }
    { const bj = pb[b + 1]; c01 += a0 * bj; c11 += a1 * bj; c21 += a2 * bj; c31 += a3 * bj; }
    { const bj = pb[b + 2]; c02 += a0 * bj; c12 += a1 * bj; c22 += a2 * bj; c32 += a3 * bj; }
    { const bj = pb[b + 3]; c03 += a0 * bj; c13 += a1 * bj; c23 += a2 * bj; c33 += a3 * bj; }
    { const bj = pb[b + 4]; c04 += a0 * bj; c14 += a1 * bj; c24 += a2 * bj; c34 += a3 * bj; }
    { const bj = pb[b + 5]; c05 += a0 * bj; c15 += a1 * bj; c25 += a2 * bj; c35 += a3 * bj; }
    { const bj = pb[b + 6]; c06 += a0 * bj; c16 += a1 * bj; c26 += a2 * bj; c36 += a3 * bj; }
    { const bj = pb[b + 7]; c07 += a0 * bj; c17 += a1 * bj; c27 += a2 * bj; c37 += a3 * bj; }
  }
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c04; t[5] = c05; t[6] = c06; t[7] = c07;
  t[8] = c10; t[9] = c11; t[10] = c12; t[11] = c13; t[12] = c14; t[13] = c15; t[14] = c16; t[15] = c17;
  t[16] = c20; t[17] = c21; t[18] = c22; t[19] = c23; t[20] = c24; t[21] = c25; t[22] = c26; t[23] = c27;
  t[24] = c30; t[25] = c31; t[26] = c32; t[27] = c33; t[28] = c34; t[29] = c35; t[30] = c36; t[31] = c37;
}

/** Rows [0, m) x cols [0, kc) of A (at ao, strides rsa, csa) into MR-high slivers [kc][MR], zero-padded. */
function packASlivers(m, kc, A, ao, rsa, csa, d) {
  let o = 0;
  for (let ir = 0; ir < m; ir += MR, o += MR * kc) {
    const mr = Math.min(MR, m - ir);
    if (mr < MR) d.fill(0, o, o + MR * kc);
    for (let i = 0; i < mr; i++) {
      const s = ao + (ir + i) * rsa;
      if (csa === 1) for (let p = 0; p < kc; p++) d[o + p * MR + i] = A[s + p];
      else for (let p = 0; p < kc; p++) d[o + p * MR + i] = A[s + p * csa];
    }
  }
}

/** Rows [0, kc) x cols [0, n) of B into NR-wide slivers [kc][NR], zero-padded. */
function packBSlivers(kc, n, B, bo, rsb, csb, d) {
  let o = 0;
  for (let jr = 0; jr < n; jr += NR, o += NR * kc) {
    const nr = Math.min(NR, n - jr);
    if (csb === 1 && nr === NR) {
      for (let p = 0; p < kc; p++) {
        const s = bo + p * rsb + jr, t = o + p * NR;
        d[t] = B[s]; d[t + 1] = B[s + 1]; d[t + 2] = B[s + 2]; d[t + 3] = B[s + 3];
        d[t + 4] = B[s + 4]; d[t + 5] = B[s + 5]; d[t + 6] = B[s + 6]; d[t + 7] = B[s + 7];
      }
      continue;
    }
    if (nr < NR) d.fill(0, o, o + NR * kc);
    for (let j = 0; j < nr; j++) {
      const s = bo + (jr + j) * csb;
      for (let p = 0; p < kc; p++) d[o + p * NR + j] = B[s + p * rsb];
    }
  }
}

function gemmPacked(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) {
  const kcMax = Math.min(K, KC);
  const needA = Math.min(Math.ceil(M / MR) * MR, MC) * kcMax, needB = Math.min(Math.ceil(N / NR) * NR, NC) * kcMax;
  if (packA.length < needA) packA = new Float64Array(needA);
  if (packB.length < needB) packB = new Float64Array(needB);
  const pa = packA, pb = packB, t = TILE;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc), add = pc > 0;
      packBSlivers(kc, nc, B, bo + pc * rsb + jc * csb, rsb, csb, pb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packASlivers(mc, kc, A, ao + ic * rsa + pc * csa, rsa, csa, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            ukr(kc, pa, ir * kc, pb, jr * kc, t);
            const c0 = co + (ic + ir) * ldc + jc + jr;
            for (let i = 0; i < mr; i++) {
              const cr = c0 + i * ldc, tr = i * NR;
              if (add) for (let j = 0; j < nr; j++) C[cr + j] += t[tr + j];
              else for (let j = 0; j < nr; j++) C[cr + j] = t[tr + j];
            }
          }
        }
      }
    }
  }
}

/** C[i, j] = dot(A row i, B column j) with both contiguous in k (csa == 1, rsb == 1). */
function gemmDot(M, N, K, A, ao, rsa, B, bo, csb, C, co, ldc) {
  for (let i = 0; i < M; i++) {
    const ar = ao + i * rsa;
    for (let j = 0; j < N; j++) {
      const bc = bo + j * csb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
      for (; k + 4 <= K; k += 4) {
        s0 += A[ar + k] * B[bc + k];
        s1 += A[ar + k + 1] * B[bc + k + 1];
        s2 += A[ar + k + 2] * B[bc + k + 2];
        s3 += A[ar + k + 3] * B[bc + k + 3];
      }
      for (; k < K; k++) s0 += A[ar + k] * B[bc + k];
      C[co + i * ldc + j] = (s0 + s1) + (s2 + s3);
    }
  }
}

let rowAcc = new Float64Array(0);

/** Rows of C accumulate rows of B (csb == 1): C[i, :] = sum_k A[i, k] * B[k, :]. */
function gemmAxpy(M, N, K, A, ao, rsa, csa, B, bo, rsb, C, co, ldc) {
  if (rowAcc.length < N) rowAcc = new Float64Array(N);
  const acc = rowAcc;
  for (let i = 0; i < M; i++) {
    acc.fill(0, 0, N);
    const ar = ao + i * rsa;
    let k = 0;
    for (; k + 8 <= K; k += 8) {
      const a0 = A[ar + k * csa], a1 = A[ar + (k + 1) * csa], a2 = A[ar + (k + 2) * csa], a3 = A[ar + (k + 3) * csa];
      const a4 = A[ar + (k + 4) * csa], a5 = A[ar + (k + 5) * csa], a6 = A[ar + (k + 6) * csa], a7 = A[ar + (k + 7) * csa];
      const b0 = bo + k * rsb, b1 = b0 + rsb, b2 = b1 + rsb, b3 = b2 + rsb, b4 = b3 + rsb, b5 = b4 + rsb, b6 = b5 + rsb, b7 = b6 + rsb;
      for (let j = 0; j < N; j++)
        acc[j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j] + a4 * B[b4 + j] + a5 * B[b5 + j] + a6 * B[b6 + j] + a7 * B[b7 + j];
    }
    for (; k + 4 <= K; k += 4) {
      const a0 = A[ar + k * csa], a1 = A[ar + (k + 1) * csa], a2 = A[ar + (k + 2) * csa], a3 = A[ar + (k + 3) * csa];
      const b0 = bo + k * rsb, b1 = b0 + rsb, b2 = b1 + rsb, b3 = b2 + rsb;
      for (let j = 0; j < N; j++) acc[j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
    }
    for (; k < K; k++) {
      const a = A[ar + k * csa], b0 = bo + k * rsb;
      for (let j = 0; j < N; j++) acc[j] += a * B[b0 + j];
    }
    const cr = co + i * ldc;
    for (let j = 0; j < N; j++) C[cr + j] = acc[j];
  }
}

// ---------------------------------------------------------------- float GEMM (WebAssembly SIMD)
// Where WebAssembly with 128-bit SIMD is available (Node >= 16, every current browser), the
// float products run in a tiny WebAssembly module, assembled at load time from the
// instruction lists below (no binary blob, no file to fetch; a few KB, so synchronous
// compilation is allowed on a browser's main thread). Without it (or when validation or
// the load-time self-test fails) the JS paths above are used: same results within the
// "accumulate" tolerance. Its functions (byte addresses into the module's memory):
//
//   ukr_f32(kc, pa, pb, c, ldc, add, mt) / ukr_f64: for t < mt, the MR x NR tile of C at
//     c + t*MR*ldc (rows ldc bytes apart) is set to (add = 0) or increased by (add = 1)
//     A[4 rows][kc] x B sliver [kc][NR]. A is a row-major block whose rows are WKC
//     elements apart (tile t at pa + t*MR*WKC*elem): copying rows in with TypedArray.set is
//     all the "packing" A needs. The B sliver at pb is [kc][NR] (NR * elem = 32 bytes).
//     float32: MR = 4, NR = 8, accumulating in float32 lanes as BLAS and the C runtime do;
//     float64: MR = 4, NR = 4, in float64 lanes.
//   gemv_f32(kc, x, pb, y, np, add) / gemv_f64: for each of np B slivers [kc][NR] (at pb,
//     consecutive), y[NR] (at y, then y + 32, ...) = or += sum_k x[k] * sliver[k]: the
//     M = 1 product (a matrix-vector product) straight from the packed panels.
//   pack32(src, ld, dst, kc, np): rows [0, kc) of np 32-byte panels (row p at src + p*ld,
//     panel t at byte 32*t) -> panel-major [np][kc][32 bytes] at dst: the B packing of
//     either float type, from rows copied in by TypedArray.set.
//   relu_f32(p, nbytes) / relu_f64: in place, x & (x > 0 | x != x) lane-wise (bit-exact:
//     -0.0 -> +0.0, NaN kept with its payload); nbytes a multiple of 16.
//   gelu_f32(p, nbytes), exp_f32(p, nbytes): in place, float32 lanes, the C runtime's
//     arithmetic (gelu bit-identical to it; exp for softmax's z <= 0, about 1 ulp).
//   softmax_f32(p, rows, nb): in place over rows of nb bytes (a multiple of 16): max, exp,
//     sum in four float32 lanes, divide.
//   addrow_f32(c, bias, nb, rows): each of rows rows of nb bytes at c += the nb bytes at
//     bias (linear's bias, added in the C buffer before it is copied out).
//   layernorm_f32(p, rows, nb, w, b, e): layer_norm in place over rows (see layerNormBody).
//   add_f32 / sub_f32 / mul_f32 / div_f32(pa, pb, py, nb, rows, astep, bstep): float32 rows
//     of a OP rows of b, either side possibly one row broadcast (see binopBody).
//
// Engines with relaxed SIMD (V8 >= 11.4: Node >= 22, Chrome >= 114; Node 20 through
// src/wasm_features_node.js, which node.js imports first) get the relaxed multiply-add
// variant of ukr/gemv (an FMA where the CPU has one, ~30% faster); others the mul + add one.
// The lane maps read their v128 constants from a table in memory (constPool).
//
// The module's memory is laid out as [first page | cached panels | scratch]: the first
// 64 KB hold the self-test area and the constant table; from there to heapTop, regions
// holding the packed panels of CONSTANT operands (see "cache" below), which persist across
// calls; from align64(heapTop) up, the scratch of the current call (A block, B panel and
// staging, C buffer), which nothing keeps between calls.

const uleb = (n) => {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const wvec = (items) => [...uleb(items.length), ...items.flat()];
const wsection = (id, body) => [id, ...uleb(body.length), ...body];
const wname = (s) => wvec([...s].map((c) => [c.charCodeAt(0)]));
const W_I32 = 0x7f, W_V128 = 0x7b;
const W = {
  get: (i) => [0x20, ...uleb(i)], set: (i) => [0x21, ...uleb(i)],
  i32: (v) => [0x41, ...sleb(v)], add: [0x6a], sub: [0x6b], mul: [0x6c], eqz: [0x45],
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (d) => [0x0c, ...uleb(d)], brIf: (d) => [0x0d, ...uleb(d)],
  vload: (off) => [0xfd, 0x00, 4, ...uleb(off)], vstore: (off) => [0xfd, 0x0b, 4, ...uleb(off)],
  vzero: [0xfd, 0x0c, ...new Array(16).fill(0)],
  splat32: (off) => [0xfd, 0x09, 2, ...uleb(off)], splat64: (off) => [0xfd, 0x0a, 3, ...uleb(off)],
  vand: [0xfd, 0x4e], vor: [0xfd, 0x50],
  f32ne: [0xfd, 0x42], f32gt: [0xfd, 0x44], f64ne: [0xfd, 0x48], f64gt: [0xfd, 0x4a],
  f32add: [0xfd, 0xe4, 0x01], f32mul: [0xfd, 0xe6, 0x01], f64add: [0xfd, 0xf0, 0x01], f64mul: [0xfd, 0xf2, 0x01],
  f32madd: [0xfd, 0x85, 0x02], f64madd: [0xfd, 0x87, 0x02], // relaxed SIMD: a * b + c, fused or not
  f32sub: [0xfd, 0xe5, 0x01], f32div: [0xfd, 0xe7, 0x01], f32abs: [0xfd, 0xe0, 0x01],
  f32min: [0xfd, 0xe8, 0x01], f32max: [0xfd, 0xe9, 0x01], f32eq: [0xfd, 0x41], f32lt: [0xfd, 0x43], f32ge: [0xfd, 0x46],
  f32pmin: [0xfd, 0xea, 0x01], f32pmax: [0xfd, 0xeb, 0x01], i32x4sub: [0xfd, 0xb1, 0x01],
  bitselect: [0xfd, 0x52], i32x4add: [0xfd, 0xae, 0x01], i32x4shl: [0xfd, 0xab, 0x01],
  /** v128.const of four float32 lanes (v rounded to float32) / four uint32 lanes. */
  f32x4: (v) => [0xfd, 0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)],
  lane32: (i) => [0xfd, 0x1f, i], splatF32: [0xfd, 0x13], f32maxScalar: [0x97], f32addScalar: [0x92],
  u32x4: (v) => [0xfd, 0x0c, ...new Uint8Array(new Uint32Array([v, v, v, v]).buffer)],
  f64x2PromoteLow: [0xfd, 0x5f], lane64: (i) => [0xfd, 0x21, i], f64addScalar: [0xa0], f32demote: [0xb6],
  f32load: (off) => [0x2a, 2, ...uleb(off)], f32divScalar: [0x95], f32sqrtScalar: [0x91],
  /** i8x16.shuffle of a vector with itself: float32 lanes 2, 3 moved to lanes 0, 1. */
  highHalf: [0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15],
};

// Blocking of the wasm GEMM: MR-row tiles, KC-deep panels, MC-row A blocks, NC-wide B panels.
const WMR = 4, WKC = 256, WMC = 128, WNC = 2048, WC_ELEMS = 1 << 22; // C buffer: at most ~4M elements per pass

/** A function body: its locals ([count, type] pairs) and instructions. */
function wfunc(locals, code) {
  const body = [...wvec(locals.map(([n, t]) => [...uleb(n), t])), ...code, 0x0b];
  return [...uleb(body.length), ...body];
}

/** Per element type: [splat, add, mul, madd, gt, ne]. */
const wops = (elem) => (elem === 4 ? [W.splat32, W.f32add, W.f32mul, W.f32madd, W.f32gt, W.f32ne]
  : [W.splat64, W.f64add, W.f64mul, W.f64madd, W.f64gt, W.f64ne]);

/** acc = acc + a * b (locals), as one relaxed multiply-add or a mul and an add. */
const wmadd = (fma, vmul, vadd, vmadd, acc, a, b) => (fma
  ? [...W.get(a), ...W.get(b), ...W.get(acc), ...vmadd, ...W.set(acc)]
  : [...W.get(acc), ...W.get(a), ...W.get(b), ...vmul, ...vadd, ...W.set(acc)]);

/** ukr: MR = 4 rows of A (WKC elements apart) x NV = 2 vectors of B (32 bytes); elem = 4 or 8. */
function ukrBody(elem, fma) {
  const MR = WMR, NV = 2, LDA = WKC * elem;
  const [splat, vadd, vmul, vmadd] = wops(elem);
  // params 0 kc, 1 pa, 2 pb, 3 c, 4 ldc, 5 add, 6 mt; locals 7 p, 8 pb cursor, 9 pa cursor, then v128 acc[MR*NV], b[NV], a
  const P = 7, PB = 8, PA = 9, ACC = 10, B = ACC + MR * NV, A = B + NV;
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const rowAddr = (i) => { e(W.get(3)); if (i) e(W.get(4), W.i32(i), W.mul, W.add); };
  e(W.block, W.loop, W.get(6), W.eqz, W.brIf(1));                      // tiles
  for (let i = 0; i < MR * NV; i++) e(W.vzero, W.set(ACC + i));
  e(W.get(0), W.set(P), W.get(2), W.set(PB), W.get(1), W.set(PA));
  e(W.block, W.loop, W.get(P), W.eqz, W.brIf(1));                      // k
  for (let j = 0; j < NV; j++) e(W.get(PB), W.vload(16 * j), W.set(B + j));
  for (let i = 0; i < MR; i++) {
    e(W.get(PA), splat(LDA * i), W.set(A));
    for (let j = 0; j < NV; j++) e(wmadd(fma, vmul, vadd, vmadd, ACC + i * NV + j, A, B + j));
  }
  e(W.get(PA), W.i32(elem), W.add, W.set(PA));
  e(W.get(PB), W.i32(16 * NV), W.add, W.set(PB));
  e(W.get(P), W.i32(1), W.sub, W.set(P), W.br(0), W.end, W.end);
  e(W.get(5), W.if);
  for (let i = 0; i < MR; i++)
    for (let j = 0; j < NV; j++) {
      rowAddr(i);
      rowAddr(i);
      e(W.vload(16 * j), W.get(ACC + i * NV + j), vadd, W.vstore(16 * j));
    }
  e(W.else);
  for (let i = 0; i < MR; i++)
    for (let j = 0; j < NV; j++) {
      rowAddr(i);
      e(W.get(ACC + i * NV + j), W.vstore(16 * j));
    }
  e(W.end);
  e(W.get(3), W.get(4), W.i32(MR), W.mul, W.add, W.set(3));           // next tile: c += MR rows,
  e(W.get(1), W.i32(MR * LDA), W.add, W.set(1));                       // pa += MR rows
  e(W.get(6), W.i32(1), W.sub, W.set(6), W.br(0), W.end, W.end);
  return wfunc([[3, W_I32], [MR * NV + NV + 1, W_V128]], code);
}

/** gemv: for each 32-byte sliver column, two vector accumulators over k (elem = 4 or 8). */
function gemvBody(elem, fma) {
  const [splat, vadd, vmul, vmadd] = wops(elem);
  // params 0 kc, 1 x, 2 pb, 3 y, 4 np, 5 add; locals 6 p, 7 x cursor, then v128 8 acc0, 9 acc1, 10 a, 11 b0, 12 b1
  const P = 6, X = 7, A0 = 8, A1 = 9, A = 10, B0 = 11, B1 = 12;
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  e(W.block, W.loop, W.get(4), W.eqz, W.brIf(1));                      // slivers
  e(W.vzero, W.set(A0), W.vzero, W.set(A1), W.get(0), W.set(P), W.get(1), W.set(X));
  e(W.block, W.loop, W.get(P), W.eqz, W.brIf(1));                      // k (pb runs on through the slivers)
  e(W.get(X), splat(0), W.set(A), W.get(2), W.vload(0), W.set(B0), W.get(2), W.vload(16), W.set(B1));
  e(wmadd(fma, vmul, vadd, vmadd, A0, A, B0), wmadd(fma, vmul, vadd, vmadd, A1, A, B1));
  e(W.get(X), W.i32(elem), W.add, W.set(X), W.get(2), W.i32(32), W.add, W.set(2));
  e(W.get(P), W.i32(1), W.sub, W.set(P), W.br(0), W.end, W.end);
  e(W.get(5), W.if);
  e(W.get(3), W.get(3), W.vload(0), W.get(A0), vadd, W.vstore(0), W.get(3), W.get(3), W.vload(16), W.get(A1), vadd, W.vstore(16));
  e(W.else);
  e(W.get(3), W.get(A0), W.vstore(0), W.get(3), W.get(A1), W.vstore(16));
  e(W.end);
  e(W.get(3), W.i32(32), W.add, W.set(3));
  e(W.get(4), W.i32(1), W.sub, W.set(4), W.br(0), W.end, W.end);
  return wfunc([[2, W_I32], [5, W_V128]], code);
}

/** pack32 (see the list above). */
function packBody() {
  // params 0 src, 1 ld, 2 dst, 3 kc, 4 np; locals 5 s, 6 d, 7 t, 8 step
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  e(W.get(3), W.i32(32), W.mul, W.set(8));
  e(W.block, W.loop, W.get(3), W.eqz, W.brIf(1));                      // rows
  e(W.get(0), W.set(5), W.get(2), W.set(6), W.get(4), W.set(7));
  e(W.block, W.loop, W.get(7), W.eqz, W.brIf(1));                      // panels
  e(W.get(6), W.get(5), W.vload(0), W.vstore(0), W.get(6), W.get(5), W.vload(16), W.vstore(16));
  e(W.get(5), W.i32(32), W.add, W.set(5), W.get(6), W.get(8), W.add, W.set(6));
  e(W.get(7), W.i32(1), W.sub, W.set(7), W.br(0), W.end, W.end);
  e(W.get(0), W.get(1), W.add, W.set(0), W.get(2), W.i32(32), W.add, W.set(2));
  e(W.get(3), W.i32(1), W.sub, W.set(3), W.br(0), W.end, W.end);
  return wfunc([[4, W_I32]], code);
}

/** relu in place over nbytes (a multiple of 16) at p, two vectors per step when it can. */
function reluBody(elem) {
  const [, , , , vgt, vne] = wops(elem);
  // params 0 p, 1 n; locals v128 2 v, 3 zero
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const one = (off) => e(W.get(0), W.get(0), W.vload(off), W.set(2),
    W.get(2), W.get(2), W.get(3), vgt, W.get(2), W.get(2), vne, W.vor, W.vand, W.vstore(off));
  e(W.vzero, W.set(3));
  e(W.block, W.loop, W.get(1), W.i32(32), [0x49] /* i32.lt_u */, W.brIf(1));
  one(0);
  one(16);
  e(W.get(0), W.i32(32), W.add, W.set(0), W.get(1), W.i32(32), W.sub, W.set(1), W.br(0), W.end, W.end);
  e(W.get(1), W.if);
  one(0);
  e(W.end);
  return wfunc([[2, W_V128]], code);
}

/**
 * Coefficients of erf's float32 polynomials, the C runtime's erf_poly_f32
 * (runtimes/c/src/k_elementwise.c): |z| < 1: z * P(z^2); 1 <= |z| < 4: Q((|z| - 2.5) / 1.5);
 * |z| >= 4: +-1. Highest degree first (Horner order). Exported for elementwise.js.
 */
export const ERF_P = [-0.000565085385, 0.00491977949, -0.0267102867, 0.112799868, -0.376122653, 1.12837911];
export const ERF_Q = [-0.00116369058, 0.00184021681, 0.00352055836, -0.0107685858, 0.00738495402, 0.00978393294,
  -0.0321172252, 0.0463328101, -0.0436122529, 0.0281941146, -0.0122551341, 0.0032670456, 0.999593079];
export const GELU_SQRT2_F32 = Math.fround(Math.SQRT2);

/**
 * The v128 constants of the lane maps, read from a table in the module's memory (a data
 * segment at CONST_BASE, 16 bytes a constant): V8 rebuilds a v128.const from two 64-bit
 * immediates, three instructions, at every use inside a loop (hoisting it into a local does
 * not help: the register allocator rematerialises constants), where a load from the table
 * is one. k.f32(v) / k.u32(v): the code pushing the constant of four float32 / uint32 lanes
 * v. The table is shared by every function and variant (same constants, same slots); the
 * first page of the memory is the self-test area below CONST_BASE and the table, and the
 * cache and scratch start above it (heapTop starts at 65536).
 */
const CONST_BASE = 61440, CONST_SLOTS = 256, constSlots = new Map();
const constPool = () => {
  const get = (bytes) => {
    const key = bytes.join(",");
    if (!constSlots.has(key)) {
      if (constSlots.size === CONST_SLOTS) throw new Error("linalg.js: too many wasm constants");
      constSlots.set(key, constSlots.size);
    }
    return [...W.i32(0), ...W.vload(CONST_BASE + 16 * constSlots.get(key))];
  };
  return { f32: (v) => get(W.f32x4(v).slice(2)), u32: (v) => get(W.u32x4(v).slice(2)) };
};

/** An in-place float32 lane map over nbytes (a multiple of 16) at p: `lanes(e, V, k)` maps local V (constants from pool k). */
function mapBody32(nlocals, lanes) {
  // params 0 p, 1 n; locals v128 2 .. 1 + nlocals (2 = the loaded vector), then the constants
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const k = constPool();
  e(W.block, W.loop, W.get(1), W.eqz, W.brIf(1));
  e(W.get(0), W.vload(0), W.set(2));
  e(W.get(0));
  lanes(e, 2, k);                                                       // leaves the result vector
  e(W.vstore(0));
  e(W.get(0), W.i32(16), W.add, W.set(0), W.get(1), W.i32(16), W.sub, W.set(1), W.br(0), W.end, W.end);
  return wfunc([[nlocals, W_V128]], code);
}

/**
 * gelu_f32 (approximate "none") lane-wise, exactly the C runtime's float32 arithmetic (no
 * fused multiply-add): 0.5x * (1 + erf(x / sqrt2)) with erf_poly_f32, so bit-identical to it.
 */
function geluBody() {
  return mapBody32(7, (e, V, k) => {
    const Z = 3, A = 4, T = 5, U = 6, P = 7, Q = 8;
    const horner = (coefs, x) => { e(k.f32(coefs[0])); for (const c of coefs.slice(1)) e(W.get(x), W.f32mul, k.f32(c), W.f32add); };
    e(W.get(V), k.f32(GELU_SQRT2_F32), W.f32div, W.set(Z));
    e(W.get(Z), W.f32abs, W.set(A), W.get(A), W.get(A), W.f32mul, W.set(T));
    e(W.get(A), k.f32(2.5), W.f32sub, k.f32(2 / 3), W.f32mul, W.set(U));
    horner(ERF_P, T);
    e(W.get(A), W.f32mul, W.set(P));
    horner(ERF_Q, U);
    e(W.set(Q));
    e(W.get(P), W.get(Q), W.get(A), k.f32(1), W.f32lt, W.bitselect, W.set(P));         // |z| < 1 ? p : q (NaN: q)
    e(k.f32(1), W.get(P), W.get(A), k.f32(4), W.f32ge, W.bitselect);                   // |z| >= 4 ? 1 : that
    e(k.u32(0x7fffffff), W.vand, W.get(Z), k.u32(0x80000000), W.vand, W.vor, W.set(P)); // copysign(., z)
    e(W.get(V), k.f32(0.5), W.f32mul, k.f32(1), W.get(P), W.f32add, W.f32mul);
  });
}

/**
 * exp lane-wise for softmax (z <= 0, -inf or NaN) on v128 local V, the C runtime's exp_f32
 * (runtimes/c/src/k_reduce.c: Cody-Waite reduction, Cephes degree-7 polynomial, 2^k from
 * its bits; about 1 ulp) with separate multiplies and adds; exp(-inf) = 0, NaN kept. Uses
 * locals T .. T+3; leaves the result on the stack.
 */
function expLanes(e, V, T, k) {
  const ZC = T, KF = T + 1, R = T + 2, P = T + 3;
  // the clamp with pmax/pmin (one maxps/minps each; the same for every non-NaN z, and a NaN
  // goes through either way and is replaced at the end); P first holds t = z log2e + 1.5 * 2^23,
  // whose bits minus those of 1.5 * 2^23 are the integer k exactly (|k| < 2^22), then 2^k
  e(W.get(V), k.f32(-88), W.f32pmax, k.f32(88), W.f32pmin, W.set(ZC));
  e(W.get(ZC), k.f32(1.44269504088896341), W.f32mul, k.f32(12582912), W.f32add, W.set(P));
  e(W.get(P), k.f32(12582912), W.f32sub, W.set(KF));
  e(W.get(P), k.u32(0x4b400000), W.i32x4sub, k.u32(127), W.i32x4add, W.i32(23), W.i32x4shl, W.set(P)); // 2^k
  e(W.get(KF), k.f32(-0.693359375), W.f32mul, W.get(ZC), W.f32add, W.set(R));
  e(W.get(KF), k.f32(2.12194440e-4), W.f32mul, W.get(R), W.f32add, W.set(R));
  e(k.f32(1.9875691500e-4));
  for (const c of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1])
    e(W.get(R), W.f32mul, k.f32(c), W.f32add);
  e(W.get(R), W.get(R), W.f32mul, W.f32mul, W.get(R), W.f32add, k.f32(1), W.f32add, W.get(P), W.f32mul); // p * 2^k
  e(W.get(V), W.get(V), W.get(V), W.f32eq, W.bitselect);                                // NaN -> z
}

/** exp_f32 in place (see expLanes). */
function expBody() {
  return mapBody32(5, (e, V, k) => expLanes(e, V, 3, k));
}

/**
 * softmax_f32(p, rows, nb): in place over `rows` contiguous rows of nb bytes (a multiple of
 * 16) at p: m = max of the row (NaN-propagating), y = exp(x - m) (expLanes), s = the sum of
 * y in four float32 lanes, y = y / s.
 */
function softmaxBody() {
  // params 0 p, 1 rows, 2 nb; locals i32 3 q, 4 left; v128 5 M, 6 S, 7 V, 8..11 exp temporaries
  const Q = 3, L = 4, M = 5, S = 6, V = 7, T = 8;
  const code = [], k = constPool();
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const lanes = (acc, op) => {                                          // horizontal op of local acc, splat back
    e(W.get(acc), W.lane32(0));
    for (let i = 1; i < 4; i++) e(W.get(acc), W.lane32(i), op);
    e(W.splatF32, W.set(acc));
  };
  const overRow = (body) => {
    e(W.get(0), W.set(Q), W.get(2), W.set(L));
    e(W.block, W.loop, W.get(L), W.eqz, W.brIf(1));
    body();
    e(W.get(Q), W.i32(16), W.add, W.set(Q), W.get(L), W.i32(16), W.sub, W.set(L), W.br(0), W.end, W.end);
  };
  e(W.block, W.loop, W.get(1), W.eqz, W.brIf(1));                      // rows
  e(W.f32x4(-Infinity), W.set(M));
  overRow(() => e(W.get(M), W.get(Q), W.vload(0), W.f32max, W.set(M)));
  lanes(M, W.f32maxScalar);
  e(W.vzero, W.set(S));
  overRow(() => {
    e(W.get(Q), W.vload(0), W.get(M), W.f32sub, W.set(V));
    expLanes(e, V, T, k);
    e(W.set(V), W.get(Q), W.get(V), W.vstore(0), W.get(S), W.get(V), W.f32add, W.set(S));
  });
  lanes(S, W.f32addScalar);
  overRow(() => e(W.get(Q), W.get(Q), W.vload(0), W.get(S), W.f32div, W.vstore(0)));
  e(W.get(0), W.get(2), W.add, W.set(0), W.get(1), W.i32(1), W.sub, W.set(1), W.br(0), W.end, W.end);
  return wfunc([[2, W_I32], [7, W_V128]], code);
}

/** addrow_f32(c, bias, nb, rows): rows of nb bytes (a multiple of 16) at c, each += the nb bytes at bias (float32 lanes). */
function addrowBody() {
  // params 0 c, 1 bias, 2 nb, 3 rows; locals 4 q, 5 b, 6 left
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  e(W.block, W.loop, W.get(3), W.eqz, W.brIf(1));
  e(W.get(0), W.set(4), W.get(1), W.set(5), W.get(2), W.set(6));
  e(W.block, W.loop, W.get(6), W.eqz, W.brIf(1));
  e(W.get(4), W.get(4), W.vload(0), W.get(5), W.vload(0), W.f32add, W.vstore(0));
  e(W.get(4), W.i32(16), W.add, W.set(4), W.get(5), W.i32(16), W.add, W.set(5), W.get(6), W.i32(16), W.sub, W.set(6));
  e(W.br(0), W.end, W.end);
  e(W.get(0), W.get(2), W.add, W.set(0), W.get(3), W.i32(1), W.sub, W.set(3), W.br(0), W.end, W.end);
  return wfunc([[3, W_I32]], code);
}

/**
 * layernorm_f32(p, rows, nb, w, b, e): in place over `rows` contiguous rows of nb bytes (a
 * multiple of 16) at p, the C runtime's layer_norm in float32 with sums in double
 * (runtimes/c/src/k_reduce.c): mean = f32(sum x) / n, var = f32(sum f32((x - mean)^2)) / n,
 * den = sqrt(var + eps), y = (x - mean) / den * w + b, every step rounded to float32; the
 * sums in two f64x2 accumulators (four double lanes). w, b: nb bytes each (ones and -0.0
 * for an absent weight or bias: x * 1 and x + -0.0 are x exactly); e: float32 [eps, n].
 */
function layerNormBody() {
  // params 0 p, 1 rows, 2 nb, 3 w, 4 b, 5 e; locals i32 6 q, 7 left, 8 wq; v128 9 acc0, 10 acc1, 11 v, 12 M, 13 D
  const Q = 6, L = 7, WQ = 8, A0 = 9, A1 = 10, V = 11, M = 12, D = 13;
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const overRow = (body) => {
    e(W.get(0), W.set(Q), W.get(2), W.set(L), W.i32(0), W.set(WQ));
    e(W.block, W.loop, W.get(L), W.eqz, W.brIf(1));
    body();
    e(W.get(Q), W.i32(16), W.add, W.set(Q), W.get(WQ), W.i32(16), W.add, W.set(WQ));
    e(W.get(L), W.i32(16), W.sub, W.set(L), W.br(0), W.end, W.end);
  };
  const accumulate = () => e(                                           // acc0/acc1 += the four lanes of V, in double
    W.get(A0), W.get(V), W.f64x2PromoteLow, W.f64add, W.set(A0),
    W.get(A1), W.get(V), W.get(V), W.highHalf, W.f64x2PromoteLow, W.f64add, W.set(A1));
  const meanOfSums = () => e(                                           // f32(sum of the 4 lanes) / n, splat
    W.get(A0), W.lane64(0), W.get(A1), W.lane64(0), W.f64addScalar, W.get(A0), W.lane64(1), W.get(A1), W.lane64(1),
    W.f64addScalar, W.f64addScalar, W.f32demote, W.get(5), W.f32load(4), W.f32divScalar);
  e(W.block, W.loop, W.get(1), W.eqz, W.brIf(1));                      // rows
  e(W.vzero, W.set(A0), W.vzero, W.set(A1));
  overRow(() => { e(W.get(Q), W.vload(0), W.set(V)); accumulate(); });
  meanOfSums();
  e(W.splatF32, W.set(M), W.vzero, W.set(A0), W.vzero, W.set(A1));
  overRow(() => { e(W.get(Q), W.vload(0), W.get(M), W.f32sub, W.set(V), W.get(V), W.get(V), W.f32mul, W.set(V)); accumulate(); });
  meanOfSums();
  e(W.get(5), W.f32load(0), W.f32addScalar, W.f32sqrtScalar, W.splatF32, W.set(D));
  overRow(() => e(W.get(Q), W.get(Q), W.vload(0), W.get(M), W.f32sub, W.get(D), W.f32div,
    W.get(WQ), W.get(3), W.add, W.vload(0), W.f32mul, W.get(WQ), W.get(4), W.add, W.vload(0), W.f32add, W.vstore(0)));
  e(W.get(0), W.get(2), W.add, W.set(0), W.get(1), W.i32(1), W.sub, W.set(1), W.br(0), W.end, W.end);
  return wfunc([[3, W_I32], [5, W_V128]], code);
}

/**
 * binop_f32(pa, pb, py, nb, rows, astep, bstep) for op = add, sub, mul, div: `rows` rows of
 * nb bytes (a multiple of 16) at py = the rows at pa OP the rows at pb, in float32 lanes;
 * a's and b's row starts advance by astep and bstep bytes (0: one row broadcast to all).
 */
function binopBody(vop) {
  // params 0 pa, 1 pb, 2 py, 3 nb, 4 rows, 5 astep, 6 bstep; locals i32 7 q (byte offset in the row)
  const Q = 7;
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  e(W.block, W.loop, W.get(4), W.eqz, W.brIf(1));                      // rows
  e(W.i32(0), W.set(Q));
  e(W.block, W.loop, W.get(Q), W.get(3), [0x4f] /* i32.ge_u */, W.brIf(1));
  e(W.get(2), W.get(Q), W.add, W.get(0), W.get(Q), W.add, W.vload(0), W.get(1), W.get(Q), W.add, W.vload(0), vop, W.vstore(0));
  e(W.get(Q), W.i32(16), W.add, W.set(Q), W.br(0), W.end, W.end);
  e(W.get(0), W.get(5), W.add, W.set(0), W.get(1), W.get(6), W.add, W.set(1), W.get(2), W.get(3), W.add, W.set(2));
  e(W.get(4), W.i32(1), W.sub, W.set(4), W.br(0), W.end, W.end);
  return wfunc([[1, W_I32]], code);
}

const WASM_EXPORTS = [["ukr_f32", 0], ["ukr_f64", 0], ["pack32", 1], ["gemv_f32", 2], ["gemv_f64", 2], ["relu_f32", 3],
  ["relu_f64", 3], ["gelu_f32", 3], ["exp_f32", 3], ["softmax_f32", 4], ["addrow_f32", 5], ["layernorm_f32", 2],
  ["add_f32", 0], ["sub_f32", 0], ["mul_f32", 0], ["div_f32", 0]];

function gemmModuleBytes(fma) {
  const sig = (n) => [0x60, ...wvec(new Array(n).fill([W_I32])), 0];
  const type = wsection(1, wvec([sig(7), sig(5), sig(6), sig(2), sig(3), sig(4)]));
  const funcs = wsection(3, wvec(WASM_EXPORTS.map(([, t]) => uleb(t))));
  const memory = wsection(5, wvec([[0x00, 1]]));
  const exports = wsection(7, wvec([[...wname("mem"), 0x02, 0], ...WASM_EXPORTS.map(([name], i) => [...wname(name), 0x00, i])]));
  const code = wsection(10, wvec([ukrBody(4, fma), ukrBody(8, fma), packBody(), gemvBody(4, fma), gemvBody(8, fma), reluBody(4), reluBody(8),
    geluBody(), expBody(), softmaxBody(), addrowBody(), layerNormBody(),
    binopBody(W.f32add), binopBody(W.f32sub), binopBody(W.f32mul), binopBody(W.f32div)]));
  const table = [...constSlots.keys()].flatMap((key) => key.split(",").map(Number)); // slot order
  const data = wsection(11, wvec([[0x00, ...W.i32(CONST_BASE), 0x0b, ...wvec(table.map((b) => [b]))]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...funcs, ...memory, ...exports, ...code, ...data]);
}

/** The instantiated module's exports (relaxed-SIMD FMA if the engine has it), or null without WebAssembly SIMD. */
function loadGemmModule() {
  return loadGemmVariant(true) ?? loadGemmVariant(false);
}

function loadGemmVariant(fma) {
  try {
    if (typeof WebAssembly !== "object" || typeof WebAssembly.Instance !== "function") return null;
    const bytes = gemmModuleBytes(fma);
    if (!WebAssembly.validate(bytes)) return null;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
    return selfTest(ex) ? { ...ex, fma } : null;
  } catch {
    return null;
  }
}

/** Small known products through each function: guards against an engine that validates but misbehaves. */
function selfTest(ex) {
  const f = new Float32Array(ex.mem.buffer), u = new Uint32Array(ex.mem.buffer);
  f.fill(0, 0, 2048);
  // ukr_f32, k = 2: A rows at 0 + i*WKC floats (A[i][p] = 4p + i + 1), B sliver [2][8] at float 1024, C at 1040
  for (let i = 0; i < 4; i++) for (let p = 0; p < 2; p++) f[i * WKC + p] = 4 * p + i + 1;
  for (let i = 0; i < 16; i++) f[1024 + i] = 16 - i;
  ex.ukr_f32(2, 0, 4096, 4160, 32, 0, 1);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 8; j++)
      if (f[1040 + i * 8 + j] !== (i + 1) * (16 - j) + (i + 5) * (8 - j)) return false;
  // gemv_f32: x = [2, 3] at float 1100 and the same B sliver: y (float 1104) = 2 B[0] + 3 B[1]
  f[1100] = 2;
  f[1101] = 3;
  ex.gemv_f32(2, 4400, 4096, 4416, 1, 0);
  for (let j = 0; j < 8; j++) if (f[1104 + j] !== 2 * (16 - j) + 3 * (8 - j)) return false;
  // pack32: 2 rows of 2 panels (rows 80 bytes apart) -> [2 panels][2 rows][8 floats]
  for (let i = 0; i < 40; i++) f[i] = i;
  ex.pack32(0, 80, 256, 2, 2);
  for (let t = 0; t < 2; t++)
    for (let p = 0; p < 2; p++)
      for (let j = 0; j < 8; j++) if (f[64 + (t * 2 + p) * 8 + j] !== p * 20 + t * 8 + j) return false;
  // relu_f32 over 12 lanes (two vectors per step, then one): -0 -> +0, NaN payloads and signs kept
  const bits = [0x80000000, 0, 0x7fc00001, 0xffc00002, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 1, 0x80000001, 0xff800001, 0x00800000];
  const want = [0, 0, 0x7fc00001, 0xffc00002, 0x3f800000, 0, 0x7f800000, 0, 1, 0, 0xff800001, 0x00800000];
  bits.forEach((b, i) => { u[i] = b; });
  ex.relu_f32(0, 48);
  for (let i = 0; i < 12; i++) if (u[i] !== want[i]) return false;
  // gelu_f32 and exp_f32 on a few lanes, against loose bounds (the exact values are the conformance suite's)
  const xs = [0, 1, -1, 3, -3, 10, -10, NaN];
  f.set(xs, 0);
  ex.gelu_f32(0, 32);
  const gelu = [0, 0.8413447, -0.1586553, 2.9959502, -0.0040497, 10, 0];
  for (let i = 0; i < 7; i++) if (!(Math.abs(f[i] - gelu[i]) <= 1e-6)) return false;
  if (f[7] === f[7]) return false;
  f.set([0, -1, -10, -Infinity, -87, -200, NaN, -0.5], 0);
  ex.exp_f32(0, 32);
  const exps = [1, Math.exp(-1), Math.exp(-10), 0, Math.exp(-87), 0];
  for (let i = 0; i < 6; i++) if (!(Math.abs(f[i] - exps[i]) <= 1e-6 * exps[i] + 1e-38)) return false;
  if (f[6] === f[6] || !(Math.abs(f[7] - Math.exp(-0.5)) <= 1e-7)) return false;
  // softmax_f32: two rows of 8
  f.set([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, -Infinity, -Infinity, -Infinity, -Infinity], 0);
  ex.softmax_f32(0, 2, 32);
  const den = [1, 2, 3, 4, 5, 6, 7, 8].reduce((a, v) => a + Math.exp(v), 0);
  for (let i = 0; i < 8; i++) if (!(Math.abs(f[i] - Math.exp(i + 1) / den) <= 1e-6)) return false;
  for (let i = 8; i < 16; i++) if (!(Math.abs(f[i] - (i < 12 ? 0.25 : 0)) <= 1e-7)) return false;
  // addrow_f32: two rows of 4 += [1, 2, 3, 4]
  f.set([10, 20, 30, 40, 50, 60, 70, 80, 1, 2, 3, 4], 0);
  ex.addrow_f32(0, 32, 16, 2);
  for (let i = 0; i < 8; i++) if (f[i] !== 10 * (i + 1) + (i % 4) + 1) return false;
  // sub_f32 (the four binops share one body): 2 rows of 4 minus one broadcast row, 2 rows of 4
  f.set([10, 20, 30, 40, 50, 60, 70, 80, 1, 2, 3, 4], 0);
  ex.sub_f32(0, 32, 64, 16, 2, 16, 0);
  for (let i = 0; i < 8; i++) if (f[16 + i] !== 10 * (i + 1) - (i % 4) - 1) return false;
  // layernorm_f32: one row of 8 with weight and bias, against the same float32 steps in doubles + Math.fround
  const xl = [1, 2, 3, 4, 5, 6, 7, 10], wl = [1, 2, 1, 2, 1, 2, 1, 2], bl = [0, 1, 0, 1, 0, 1, 0, -1];
  f.set(xl, 0);
  f.set(wl, 8);
  f.set(bl, 16);
  f.set([1e-5, 8], 24);
  ex.layernorm_f32(0, 1, 32, 32, 64, 96);
  const fr = Math.fround, mu = fr(fr(xl.reduce((a, v) => a + v, 0)) / 8);
  const sd = fr(Math.sqrt(fr(fr(fr(xl.reduce((a, v) => a + fr(fr(v - mu) ** 2), 0)) / 8) + fr(1e-5))));
  for (let i = 0; i < 8; i++) if (f[i] !== fr(fr(fr(fr(xl[i] - mu) / sd) * wl[i]) + bl[i])) return false;
  return true;
}

const WASM = loadGemmModule();
let wasmF32 = null, wasmF64 = null;

/** Make the module's memory at least `bytes` long (false when it cannot grow); views refreshed after a grow. */
function wasmReserve(bytes) {
  const mem = WASM.mem;
  try {
    if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
  } catch {
    return false;
  }
  if (!wasmF32 || wasmF32.buffer !== mem.buffer) {
    wasmF32 = new Float32Array(mem.buffer);
    wasmF64 = new Float64Array(mem.buffer);
  }
  return true;
}

const align64 = (n) => Math.ceil(n / 64) * 64;

// ---------------------------------------------------------------- cache of constant operands
// A graph's constant tensors (kernel inputs with constant: true) never change, so the
// packed form of a constant GEMM operand (a matmul / linear weight as B, a conv weight as
// A) is built on its first use and kept in the wasm memory for every later run: no packing
// and no copy of the weight per run, which for a batch-1 layer (M = 1) is most of the work.
//
// Invariants:
//   - only callers that got constant: true for the operand's tensor pass constA / constB;
//     a user's array (a graph input) may change between runs and is never cached.
//   - entries are keyed by the data TypedArray (a WeakMap: no strong reference to it) and
//     by the layout (offset, strides, dims), so two views of one weight get two entries.
//   - each entry's regions are released (heapFree) when its data array is garbage
//     collected (FinalizationRegistry) or by clearGemmCache(); without a
//     FinalizationRegistry nothing is cached. At most CACHE_BYTES_MAX bytes are cached;
//     beyond that (or when the memory cannot grow) the operand is packed per call as usual.
//   - regions live below heapTop; a call's scratch starts at align64(heapTop), so cache
//     regions must be allocated BEFORE the call lays out its scratch.
const CACHE_BYTES_MAX = 512 * 2 ** 20;
const HEAP_BASE = 65536; // below: the self-test area and the constant table (CONST_BASE)
let heapTop = HEAP_BASE, cachedBytes = 0;
const heapHoles = []; // freed regions below heapTop: [offset, bytes], sorted by offset, coalesced
let cacheByData = new WeakMap(); // data TypedArray -> entry {byKey: Map(layout key -> byte offset), regions: [[offset, bytes]]}
const liveEntries = new Set();
const cacheRegistry = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(releaseEntry) : null;

/** A 64-aligned region of `bytes` below heapTop (first fit in the holes, else at the top); -1 when the memory cannot grow. */
function heapAlloc(bytes) {
  for (let i = 0; i < heapHoles.length; i++) {
    const h = heapHoles[i];
    if (h[1] < bytes) continue;
    const off = h[0];
    if (h[1] === bytes) heapHoles.splice(i, 1);
    else { h[0] += bytes; h[1] -= bytes; }
    return off;
  }
  if (!wasmReserve(heapTop + bytes)) return -1;
  const off = heapTop;
  heapTop += bytes;
  return off;
}

/** Return a region to the holes (merged with its neighbours; a hole reaching heapTop lowers it). */
function heapFree(off, bytes) {
  let i = 0;
  while (i < heapHoles.length && heapHoles[i][0] < off) i++;
  heapHoles.splice(i, 0, [off, bytes]);
  if (i + 1 < heapHoles.length && off + bytes === heapHoles[i + 1][0]) {
    heapHoles[i][1] += heapHoles[i + 1][1];
    heapHoles.splice(i + 1, 1);
  }
  if (i > 0 && heapHoles[i - 1][0] + heapHoles[i - 1][1] === off) {
    heapHoles[i - 1][1] += heapHoles[i][1];
    heapHoles.splice(i, 1);
  }
  const last = heapHoles[heapHoles.length - 1];
  if (last[0] + last[1] === heapTop) {
    heapTop = last[0];
    heapHoles.pop();
  }
}

function releaseEntry(entry) {
  if (!liveEntries.delete(entry)) return;
  for (const [off, bytes] of entry.regions) {
    heapFree(off, bytes);
    cachedBytes -= bytes;
  }
}

/** Byte offset of the cached layout `key` of `data`, or -1. */
function cacheLookup(data, key) {
  return cacheByData.get(data)?.byKey.get(key) ?? -1;
}

/** A new region of `bytes` for layout `key` of `data` (the caller fills it before laying out its scratch); -1 when not cached. */
function cacheInsert(data, key, bytes) {
  bytes = align64(bytes);
  if (!cacheRegistry || cachedBytes + bytes > CACHE_BYTES_MAX) return -1;
  const off = heapAlloc(bytes);
  if (off < 0) return -1;
  let entry = cacheByData.get(data);
  if (!entry) {
    entry = { byKey: new Map(), regions: [] };
    cacheByData.set(data, entry);
    liveEntries.add(entry);
    cacheRegistry.register(data, entry, entry);
  }
  entry.byKey.set(key, off);
  entry.regions.push([off, bytes]);
  cachedBytes += bytes;
  return off;
}

/** Drop every cached panel (their memory is reused; the module's memory itself never shrinks). */
export function clearGemmCache() {
  for (const entry of [...liveEntries]) {
    cacheRegistry.unregister(entry);
    releaseEntry(entry);
  }
  cacheByData = new WeakMap();
}

/**
 * {entries, bytes, top, base} of the cache: layouts cached, their bytes, the end of the
 * regions and where they start (top === base: none below it) (for tests and benchmarks).
 */
export function gemmCacheStats() {
  let n = 0;
  for (const entry of liveEntries) n += entry.byKey.size;
  return { entries: n, bytes: cachedBytes, top: heapTop, base: HEAP_BASE };
}

/**
 * The packed panels of a constant B [K, N] (at bo, strides rsb, csb), built on first use:
 * block (jc, pc) (jc a multiple of WNC, pc of WKC) is [ncp/NR][kc][NR] at element
 * offset jc*K + pc*ncp from the region's start (ncp = the block's width rounded up to NR,
 * zero-padded); byte offset of the region, or -1 when it cannot be cached.
 */
function cachedPanelsB(B, bo, rsb, csb, K, N, elem, NR) {
  const key = `B ${bo} ${rsb} ${csb} ${K} ${N}`;
  let off = cacheLookup(B, key);
  if (off >= 0) return off;
  // the region and, above it, the scratch for wasmPackB's staging rows (reserved first: an
  // entry, once inserted, must be filled)
  const bytes = align64(Math.ceil(N / NR) * NR * K * elem), stageBytes = Math.min(K, WKC) * Math.min(N, WNC) * elem;
  if (!wasmReserve(heapTop + bytes + stageBytes)) return -1;
  off = cacheInsert(B, key, bytes);
  if (off < 0) return -1;
  const stage = align64(heapTop);
  const f = elem === 8 ? wasmF64 : wasmF32, base = off / elem;
  for (let jc = 0; jc < N; jc += WNC) {
    const nc = Math.min(WNC, N - jc), ncp = Math.ceil(nc / NR) * NR;
    for (let pc = 0; pc < K; pc += WKC)
      wasmPackB(f, base + jc * K + pc * ncp, stage / elem, B, bo + pc * rsb + jc * csb, rsb, csb, Math.min(WKC, K - pc), nc, NR);
  }
  return off;
}

/**
 * The row blocks of a constant A [M, K] (at ao, strides rsa, csa), built on first use: for
 * each pc (a multiple of WKC), rows [0, Mp) (M rounded up to MR, zero-padded) of its kc
 * columns, WKC elements apart, at element offset (pc/WKC)*Mp*WKC from the region's start.
 * Byte offset of the region, or -1 (not cached, also when the WKC row stride would more
 * than quadruple a small-K operand).
 */
function cachedRowsA(A, ao, rsa, csa, M, K, elem) {
  const key = `A ${ao} ${rsa} ${csa} ${M} ${K}`;
  let off = cacheLookup(A, key);
  if (off >= 0) return off;
  const Mp = Math.ceil(M / WMR) * WMR, bytes = Math.ceil(K / WKC) * Mp * WKC * elem;
  if (bytes > 4 * M * K * elem + (1 << 20)) return -1;
  off = cacheInsert(A, key, bytes);
  if (off < 0) return -1;
  const f = elem === 8 ? wasmF64 : wasmF32, base = off / elem;
  for (let pc = 0; pc < K; pc += WKC)
    wasmCopyA(f, base + (pc / WKC) * Mp * WKC, A, ao + pc * csa, rsa, csa, M, Math.min(WKC, K - pc));
  return off;
}

// ---------------------------------------------------------------- packing into the wasm memory

/**
 * B[0:kc, 0:n] (at bo, strides rsb, csb) -> NR-wide slivers [kc][NR] at f[d], zero-padded.
 * Row-major B (csb == 1): the whole panels' part of each row is copied to a staging area
 * at f[stage] with TypedArray.set (a memcpy), then the wasm pack32 lays the panels out;
 * the rest element by element.
 */
function wasmPackB(f, d, stage, B, bo, rsb, csb, kc, n, NR) {
  const elem = f.BYTES_PER_ELEMENT;
  let full = 0;
  if (csb === 1 && n >= NR) {
    full = n - (n % NR);
    for (let p = 0; p < kc; p++) f.set(B.subarray(bo + p * rsb, bo + p * rsb + full), stage + p * full);
    WASM.pack32(stage * elem, full * elem, d * elem, kc, full / NR);
  }
  for (let jr = full, o = d + full * kc; jr < n; jr += NR, o += kc * NR) {
    const nr = Math.min(NR, n - jr);
    if (nr < NR) f.fill(0, o, o + kc * NR);
    for (let j = 0; j < nr; j++)
      for (let p = 0, t = o + j, s = bo + (jr + j) * csb; p < kc; p++, t += NR, s += rsb) f[t] = B[s];
  }
}

/** A[0:m, 0:kc] (at ao, strides rsa, csa) -> rows WKC elements apart at f[d]; rows up to a multiple of MR zeroed. */
function wasmCopyA(f, d, A, ao, rsa, csa, m, kc) {
  for (let i = 0; i < m; i++, d += WKC, ao += rsa) {
    if (csa === 1 && kc >= 32) f.set(A.subarray(ao, ao + kc), d); // a memcpy (short rows: the loop is cheaper)
    else for (let p = 0, s = ao; p < kc; p++, s += csa) f[d + p] = A[s];
  }
  for (let i = m; i % WMR !== 0; i++, d += WKC) f.fill(0, d, d + kc);
}

// ---------------------------------------------------------------- the wasm products

/**
 * The packed product through the wasm micro-kernels; C (Float32Array or Float64Array)
 * overwritten; false when memory ran out (C untouched). constA / constB: the operand is a
 * graph constant, so its packed form is taken from (or put in) the cache; onlyIfCached:
 * return false (C untouched) unless B's panels are cached. bias (a Float32Array of N, with
 * a float32 C, or null): added to every row of C in the wasm C buffer (float32 adds, as
 * numpy's y + bias), and then the result is 2 instead of true.
 */
function gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc, constA = false, constB = false, onlyIfCached = false,
  bias = null) {
  const f64 = C instanceof Float64Array, elem = f64 ? 8 : 4, NR = f64 ? 4 : 8;
  // cached operands first: creating a cache entry moves heapTop, hence the scratch
  const bCache = constB ? cachedPanelsB(B, bo, rsb, csb, K, N, elem, NR) : -1;
  if (onlyIfCached && bCache < 0) return false;
  if (M === 1 && bCache >= 0) return gemvWasm(N, K, A, ao, csa, bCache, C, co, elem, NR);
  const aCache = constA ? cachedRowsA(A, ao, rsa, csa, M, K, elem) : -1;
  const ukr = f64 ? WASM.ukr_f64 : WASM.ukr_f32;
  const kcMax = Math.min(K, WKC), ncMax = Math.min(Math.ceil(N / NR) * NR, WNC), Mp = Math.ceil(M / WMR) * WMR;
  let MG = Math.floor(WC_ELEMS / ncMax / WMC) * WMC;              // rows per pass (C buffer bound)
  if (MG < WMC) MG = WMC;
  const mgMax = Math.min(Mp, MG);
  // scratch (bytes, 64-aligned): A block [WMC rows x WKC] | B panel [kc x nc] | B staging [kc x nc] | C buffer [mg x nc]
  // (the A block and B panels only when that operand is not cached)
  const aBytes = aCache < 0 ? align64(WMC * WKC * elem) : 0, bBytes = bCache < 0 ? align64(kcMax * ncMax * elem) : 0;
  const paB = align64(heapTop), pbB = paB + aBytes, sbB = pbB + bBytes, cB = sbB + bBytes;
  const withBias = bias !== null && !f64, biasB = align64(cB + mgMax * ncMax * elem); // bias: N rounded up to NR, zero-padded
  if (!wasmReserve(withBias ? biasB + Math.ceil(N / NR) * NR * 4 : cB + mgMax * ncMax * elem)) return false;
  const f = f64 ? wasmF64 : wasmF32;
  const cb = cB / elem;
  if (withBias) {
    wasmF32.set(bias.subarray(0, N), biasB / 4);
    wasmF32.fill(0, biasB / 4 + N, biasB / 4 + Math.ceil(N / NR) * NR);
  }
  for (let m0 = 0; m0 < M; m0 += MG) {
    const mg = Math.min(MG, M - m0);
    for (let jc = 0; jc < N; jc += WNC) {
      const nc = Math.min(WNC, N - jc), ncp = Math.ceil(nc / NR) * NR;
      for (let pc = 0; pc < K; pc += WKC) {
        const kc = Math.min(WKC, K - pc), add = pc > 0 ? 1 : 0;
        let pbAt = pbB; // the panels of block (jc, pc)
        if (bCache >= 0) pbAt = bCache + (jc * K + pc * ncp) * elem;
        else wasmPackB(f, pbB / elem, sbB / elem, B, bo + pc * rsb + jc * csb, rsb, csb, kc, nc, NR);
        for (let ic = 0; ic < mg; ic += WMC) {
          const mc = Math.min(WMC, mg - ic), mt = Math.ceil(mc / WMR), cRow = cB + ic * ncp * elem;
          let paAt = paB; // rows m0 + ic .. of A's columns pc ..
          if (aCache >= 0) paAt = aCache + ((pc / WKC) * Mp + m0 + ic) * WKC * elem;
          else wasmCopyA(f, paB / elem, A, ao + (m0 + ic) * rsa + pc * csa, rsa, csa, mc, kc);
          for (let jr = 0; jr < ncp; jr += NR) ukr(kc, paAt, pbAt + jr * kc * elem, cRow + jr * elem, ncp * elem, add, mt);
        }
      }
      if (withBias) WASM.addrow_f32(cB, biasB + jc * 4, ncp * 4, mg);
      for (let i = 0; i < mg; i++) {
        const s = cb + i * ncp;
        C.set(f.subarray(s, s + nc), co + (m0 + i) * ldc + jc);
      }
    }
  }
  return withBias ? 2 : true;
}

/**
 * M = 1 with B's panels cached (a batch-1 layer): y = x @ B streams the packed panels once
 * (memory-bound: no tile of A to reuse them for). x is copied in, y computed in the scratch
 * and copied out to C[co .. co + N).
 */
function gemvWasm(N, K, A, ao, csa, bCache, C, co, elem, NR) {
  const xB = align64(heapTop), yB = xB + align64(K * elem);
  if (!wasmReserve(yB + Math.ceil(N / NR) * NR * elem)) return false;
  const f = elem === 8 ? wasmF64 : wasmF32, gemv = elem === 8 ? WASM.gemv_f64 : WASM.gemv_f32, x = xB / elem;
  if (csa === 1) f.set(A.subarray(ao, ao + K), x);
  else for (let k = 0; k < K; k++) f[x + k] = A[ao + k * csa];
  for (let jc = 0; jc < N; jc += WNC) {
    const nc = Math.min(WNC, N - jc), ncp = Math.ceil(nc / NR) * NR;
    for (let pc = 0; pc < K; pc += WKC)
      gemv(Math.min(WKC, K - pc), xB + pc * elem, bCache + (jc * K + pc * ncp) * elem, yB + jc * elem, ncp / NR, pc > 0 ? 1 : 0);
  }
  C.set(f.subarray(yB / elem, yB / elem + N), co);
  return true;
}

// ---------------------------------------------------------------- lane maps (for elementwise.js, reduce.js)
const MAP_CHUNK = 1 << 15; // elements per pass through the wasm memory (128 / 256 KB: stays in L2)
export const RELU_WASM_MIN = 64; // below this, the JS loop (call and copy overhead)
export const MAP_WASM_MIN = 64;

/** y[0:n) = fn(x[0:n)) through an in-place wasm lane map (chunks copied in and out with TypedArray.set); false without memory. */
function mapWasm(fn, f, x, y, n) {
  const elem = x.BYTES_PER_ELEMENT, chunk = Math.min(n, MAP_CHUNK), base = align64(heapTop);
  if (!wasmReserve(base + align64(chunk * elem))) return false;
  const view = f(), d = base / elem; // (the view after wasmReserve: the memory may have grown)
  for (let i = 0; i < n; i += chunk) {
    const c = Math.min(chunk, n - i);
    view.set(x.subarray(i, i + c), d);
    fn(base, Math.ceil((c * elem) / 16) * 16);
    y.set(view.subarray(d, d + c), i);
  }
  return true;
}

/**
 * y[0:n) = relu(x[0:n)) for Float32Array / Float64Array x and y through the wasm relu;
 * false without WebAssembly SIMD or memory (y untouched). Exported for the relu kernel of
 * elementwise.js: it shares this module, whose memory holds the GEMM cache (its scratch is
 * above heapTop too).
 */
export function reluWasm(x, y, n) {
  if (!WASM) return false;
  return x.BYTES_PER_ELEMENT === 8 ? mapWasm(WASM.relu_f64, () => wasmF64, x, y, n) : mapWasm(WASM.relu_f32, () => wasmF32, x, y, n);
}

/** y[0:n) = gelu(x[0:n)) (approximate "none") for Float32Arrays, bit-identical to the C runtime; false without WebAssembly SIMD or memory. */
export function geluF32Wasm(x, y, n) {
  return WASM ? mapWasm(WASM.gelu_f32, () => wasmF32, x, y, n) : false;
}

/** y[0:n) = exp(y[0:n)) in place for a Float32Array of z <= 0 (softmax; the C runtime's exp_f32); false without WebAssembly SIMD or memory. */
export function expF32Wasm(y, n) {
  return WASM ? mapWasm(WASM.exp_f32, () => wasmF32, y, y, n) : false;
}

/**
 * Softmax of `rows` contiguous float32 rows of n (a multiple of 4) through the wasm
 * softmax_f32 (chunks of rows copied in and out); false without WebAssembly SIMD or memory,
 * or when n is not a multiple of 4 (y untouched).
 */
export function softmaxF32Wasm(x, y, rows, n) {
  if (!WASM || n % 4 !== 0 || n === 0) return false;
  const chunkRows = Math.max(1, Math.floor(MAP_CHUNK / n)), base = align64(heapTop);
  if (!wasmReserve(base + align64(Math.min(rows, chunkRows) * n * 4))) return false;
  const d = base / 4;
  for (let r = 0; r < rows; r += chunkRows) {
    const c = Math.min(chunkRows, rows - r), lo = r * n, hi = lo + c * n;
    wasmF32.set(x.subarray(lo, hi), d);
    WASM.softmax_f32(base, c, n * 4);
    y.set(wasmF32.subarray(d, d + c * n), lo);
  }
  return true;
}

/**
 * layer_norm of `rows` contiguous float32 rows of n (a multiple of 4) through the wasm
 * layernorm_f32 (chunks of rows copied in and out); w, b: Float32Arrays of n or null.
 * False without WebAssembly SIMD or memory, or when n is not a multiple of 4 (y untouched).
 */
export function layerNormF32Wasm(x, w, b, y, rows, n, eps) {
  if (!WASM || n % 4 !== 0 || n === 0) return false;
  const chunkRows = Math.max(1, Math.floor(MAP_CHUNK / n)), base = align64(heapTop), nb = align64(n * 4);
  const wB = base + 64, bB = wB + nb, dB = bB + nb;
  if (!wasmReserve(dB + align64(Math.min(rows, chunkRows) * n * 4))) return false;
  const f = wasmF32, d = dB / 4;
  f[base / 4] = eps;
  f[base / 4 + 1] = n;
  if (w === null) f.fill(1, wB / 4, wB / 4 + n); else f.set(w.subarray(0, n), wB / 4);
  if (b === null) f.fill(-0, bB / 4, bB / 4 + n); else f.set(b.subarray(0, n), bB / 4);
  for (let r = 0; r < rows; r += chunkRows) {
    const c = Math.min(chunkRows, rows - r), lo = r * n, hi = lo + c * n;
    f.set(x.subarray(lo, hi), d);
    WASM.layernorm_f32(dB, c, n * 4, wB, bB, base);
    y.set(f.subarray(d, d + c * n), lo);
  }
  return true;
}

const BINOPS = { add: "add_f32", sub: "sub_f32", mul: "mul_f32", div: "div_f32" };

/**
 * Float32 y[iy + r*n + i] = a[ia + r*astep + i] OP b[ib + r*bstep + i] for r < rows, i < n,
 * op one of "add", "sub", "mul", "div" (IEEE float32 lanes: the same results as the JS
 * Float32Array stores), through the wasm binop_f32 (chunks of rows copied in and out;
 * astep and bstep are 0, a row broadcast, or n). False without WebAssembly SIMD or memory,
 * or when n is not a multiple of 4 (y untouched).
 */
export function binaryF32Wasm(op, n, rows, a, ia, astep, b, ib, bstep, y, iy) {
  if (!WASM || n % 4 !== 0 || n === 0) return false;
  const chunkRows = Math.max(1, Math.floor(MAP_CHUNK / n)), c0 = Math.min(rows, chunkRows), rowB = n * 4;
  const aB = align64(heapTop), bB = aB + align64((astep ? c0 : 1) * rowB), yB = bB + align64((bstep ? c0 : 1) * rowB);
  if (!wasmReserve(yB + align64(c0 * rowB))) return false;
  const f = wasmF32, fn = WASM[BINOPS[op]];
  if (!astep) f.set(a.subarray(ia, ia + n), aB / 4);
  if (!bstep) f.set(b.subarray(ib, ib + n), bB / 4);
  for (let r = 0; r < rows; r += chunkRows) {
    const c = Math.min(chunkRows, rows - r);
    if (astep) f.set(a.subarray(ia + r * n, ia + (r + c) * n), aB / 4);
    if (bstep) f.set(b.subarray(ib + r * n, ib + (r + c) * n), bB / 4);
    fn(aB, bB, yB, rowB, c, astep ? rowB : 0, bstep ? rowB : 0);
    y.set(f.subarray(yB / 4, yB / 4 + c * n), iy + r * n);
  }
  return true;
}

const SMALL = 4;
const WASM_MIN_WORK = 1 << 15; // M*N*K below this stays in JS (call and copy overhead)
const CACHE_MIN_ELEMS = 1 << 12; // a constant B with N*K at least this goes to wasm (cached) whatever M

/**
 * C[co + i*ldc + j] = sum_k A[ao + i*rsa + k*csa] * B[bo + k*rsb + j*csb] for i < M, j < N
 * (C overwritten; A, B, C all Float32Array or all Float64Array; sums rounded once on store
 * in the JS paths, accumulated in the dtype's lanes in wasm). constA / constB: that
 * operand's data is a graph constant (a tensor with constant: true, never changed), so
 * its packed form may be cached across calls — NEVER pass true for anything else.
 * bias (optional, float32 only, C contiguous: ldc == N, co == 0): the packed wasm path adds
 * it to every row of C (linear's + bias, float32 adds); returns true when it did, so the
 * caller adds it otherwise.
 */
export function gemm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc, constA = false, constB = false, bias = null) {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    for (let i = 0; i < M; i++) C.fill(0, co + i * ldc, co + i * ldc + N);
    return;
  }
  // a constant B (a weight) is packed once and cached: wasm pays off for any M, including
  // the matrix-vector product of a batch-1 layer (gemvWasm); when it cannot be cached,
  // the choice below is made as for any B
  if (WASM && constB && N * K >= CACHE_MIN_ELEMS) {
    const done = gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc, constA, true, true, bias);
    if (done) return done === 2;
  }
  if (csa === 1 && rsb === 1 && (N <= SMALL || M <= 2)) return gemmDot(M, N, K, A, ao, rsa, B, bo, csb, C, co, ldc);
  if (csb === 1 && M <= SMALL) return gemmAxpy(M, N, K, A, ao, rsa, csa, B, bo, rsb, C, co, ldc);
  if (WASM && M * N * K >= WASM_MIN_WORK) {
    const done = gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc, constA, constB, false, bias);
    if (done) return done === 2;
  }
  gemmPacked(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc);
}

/**
 * Each GEMM algorithm by name, with gemm's signature, for tests: "packed" (JS micro-kernel),
 * "wasm" (null without WebAssembly SIMD; "wasmConstA" / "wasmConstB" / "wasmConstAB": the
 * same with that operand cached, and M = 1 with B cached is gemvWasm), "dot" (needs
 * csa == 1 and rsb == 1), "axpy" (needs csb == 1). gemm picks one by shape.
 */
const wasmPath = (constA, constB) => (WASM
  ? (M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) => {
    if (!gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc, constA, constB)) throw new Error("wasm memory");
  }
  : null);
export const GEMM_PATHS = {
  packed: gemmPacked,
  wasm: wasmPath(false, false),
  wasmConstA: wasmPath(true, false),
  wasmConstB: wasmPath(false, true),
  wasmConstAB: wasmPath(true, true),
  dot: (M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) => gemmDot(M, N, K, A, ao, rsa, B, bo, csb, C, co, ldc),
  axpy: (M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) => gemmAxpy(M, N, K, A, ao, rsa, csa, B, bo, rsb, C, co, ldc),
};

/** Whether the wasm micro-kernel uses relaxed-SIMD multiply-add (for tests and benchmarks). */
export const GEMM_WASM_FMA = WASM ? WASM.fma : false;

// ---------------------------------------------------------------- matmul
// a [..., n, k] @ b [..., k, m] -> [..., n, m]: a 1-D a is [1, k] and a 1-D b is [k, 1], the
// added dim removed from the result; batch dims broadcast; rank 0 and a k mismatch are E_SHAPE.

/** Geometry {M, N, K, batch, sa, sb} (sa/sb: batch strides in matrices, 0 on broadcast dims). */
function mmGeometry(a, b) {
  const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
  const ra = a2.length, rb = b2.length, na = ra - 2, nb = rb - 2, n = Math.max(na, nb);
  const batch = new Array(n), sa = new Array(n), sb = new Array(n);
  let ma = 1, mb = 1;
  for (let i = n - 1; i >= 0; i--) {
    const ia = i - (n - na), ib = i - (n - nb);
    const da = ia >= 0 ? a2[ia] : 1, db = ib >= 0 ? b2[ib] : 1;
    batch[i] = da === 1 ? db : da;
    sa[i] = da === 1 ? 0 : ma;
    sb[i] = db === 1 ? 0 : mb;
    ma *= da;
    mb *= db;
  }
  return { M: a2[ra - 2], K: a2[ra - 1], N: b2[rb - 1], batch, sa, sb, a2, b2 };
}

register("matmul", {
  prepare(inputs) {
    const a = inputs[0].shape, b = inputs[1].shape;
    if (a.length === 0 || b.length === 0)
      throw new JagError("E_SHAPE", `matmul needs operands of rank >= 1, got shapes ${shapeStr(a)} and ${shapeStr(b)}`);
    const ka = a[a.length - 1], kb = b.length === 1 ? b[0] : b[b.length - 2];
    if (ka !== kb)
      throw new JagError("E_SHAPE", `input 1 has shape ${shapeStr(b)}; expected [${ka},*] to match input 0 ${shapeStr(a)}`, { field: "inputs[1]" });
    const g = mmGeometry(a, b);
    const out = broadcastShapes([g.a2.slice(0, -2), g.b2.slice(0, -2)]);
    if (a.length > 1) out.push(g.M);
    if (b.length > 1) out.push(g.N);
    return [out];
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    const a = inputs[0], b = inputs[1], y = outputs[0];
    if (y.data.length === 0) return;
    const { M, N, K, batch, sa, sb } = mmGeometry(a.shape, b.shape);
    const nb = batch.length, count = batch.reduce((p, d) => p * d, 1);
    const idx = new Array(nb).fill(0);
    const A = a.data, B = b.data, C = y.data, dt = a.dtype;
    const constA = a.constant === true, constB = b.constant === true; // graph constants: packed forms cached (gemm)
    let offa = 0, offb = 0;
    for (let t = 0; t < count; t++) {
      const ea = offa * M * K, eb = offb * K * N, ec = t * M * N;
      if (dt === "float32" || dt === "float64") gemm(M, N, K, A, ea, K, 1, B, eb, N, 1, C, ec, N, constA, constB);
      else if (dt === "int32") mmInt32(M, N, K, A, ea, B, eb, C, ec);
      else if (dt === "uint8") mmUint8(M, N, K, A, ea, B, eb, C, ec);
      else mmInt64(M, N, K, A, ea, B, eb, C, ec);
      for (let d = nb - 1; d >= 0; d--) {
        offa += sa[d];
        offb += sb[d];
        if (++idx[d] < batch[d]) break;
        offa -= sa[d] * batch[d];
        offb -= sb[d] * batch[d];
        idx[d] = 0;
      }
    }
  },
});

// Integer products of one row-major matrix pair, i-k-j order, each row of C cleared first;
// int32 / uint8 wrap per step (exact: |0 and &255 of exact doubles), int64 via BigInt.asIntN.
function mmInt32(M, N, K, A, ao, B, bo, C, co) {
  for (let i = 0; i < M; i++) {
    const cr = co + i * N;
    C.fill(0, cr, cr + N);
    for (let k = 0; k < K; k++) {
      const aik = A[ao + i * K + k], br = bo + k * N;
      if (aik === 0) continue;
      for (let j = 0; j < N; j++) C[cr + j] = (C[cr + j] + Math.imul(aik, B[br + j])) | 0;
    }
  }
}

function mmUint8(M, N, K, A, ao, B, bo, C, co) {
  for (let i = 0; i < M; i++) {
    const cr = co + i * N;
    C.fill(0, cr, cr + N);
    for (let k = 0; k < K; k++) {
      const aik = A[ao + i * K + k], br = bo + k * N;
      if (aik === 0) continue;
      for (let j = 0; j < N; j++) C[cr + j] = (C[cr + j] + aik * B[br + j]) & 255;
    }
  }
}

function mmInt64(M, N, K, A, ao, B, bo, C, co) {
  for (let i = 0; i < M; i++) {
    const cr = co + i * N;
    C.fill(0n, cr, cr + N);
    for (let k = 0; k < K; k++) {
      const aik = A[ao + i * K + k], br = bo + k * N;
      if (aik === 0n) continue;
      for (let j = 0; j < N; j++) C[cr + j] = BigInt.asIntN(64, C[cr + j] + aik * B[br + j]);
    }
  }
}

// ---------------------------------------------------------------- linear
// x [..., in] @ weight[out, in]^T + bias[out] -> [..., out]; float32 / float64.
register("linear", {
  prepare(inputs) {
    const x = inputs[0].shape, w = inputs[1].shape;
    if (x.length < 1 || w.length !== 2)
      throw new JagError("E_SHAPE", `linear needs x [..., in] and weight [out, in], got ${shapeStr(x)} and ${shapeStr(w)}`);
    if (x[x.length - 1] !== w[1])
      throw new JagError("E_SHAPE", `input 1 (weight) has shape ${shapeStr(w)}; expected [*,${x[x.length - 1]}] to match x ${shapeStr(x)}`, { field: "inputs[1]" });
    if (inputs.length === 3 && inputs[2]) {
      const b = inputs[2].shape;
      if (b.length !== 1 || b[0] !== w[0])
        throw new JagError("E_SHAPE", `input 2 (bias) has shape ${shapeStr(b)}; expected [${w[0]}]`, { field: "inputs[2]" });
    }
    return [[...x.slice(0, -1), w[0]]];
  },
  overwrites: true,
  run(inputs, attrs, outputs) {
    const x = inputs[0], w = inputs[1], bias = inputs.length === 3 && inputs[2] ? inputs[2].data : null;
    const y = outputs[0].data;
    if (y.length === 0) return;
    const N = w.shape[0], K = w.shape[1], M = y.length / N;
    const biased = gemm(M, N, K, x.data, 0, K, 1, w.data, 0, 1, K, y, 0, N, x.constant === true, w.constant === true,
      bias instanceof Float32Array && y instanceof Float32Array ? bias : null);
    if (bias && !biased)
      for (let i = 0; i < M; i++) {
        const r = i * N;
        for (let j = 0; j < N; j++) y[r + j] += bias[j]; // the Float32Array store rounds, as numpy's y + bias
      }
  },
});

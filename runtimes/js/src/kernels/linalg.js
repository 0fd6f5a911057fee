// kernels/linalg.js — matmul and linear kernels, and the float GEMM they share with conv2d.
//
// Semantics: numpy.matmul (python/jag/ops/shapes.py "matmul" rule, core.py) and
// torch.nn.functional.linear computed as numpy does (python/jag/ops/composite.py: matmul,
// then the bias added in the dtype); runtimes/c/src/k_linalg.c. Integer matmul wraps as
// numpy does (it accumulates in the dtype itself): the TypedArray stores wrap int32 /
// uint8 / int64 sums exactly (sums and products are exact in double / BigInt first).
//
// The float GEMM (gemm, exported for conv.js) computes C = A @ B for strided A and B: dot
// products for GEMV-like shapes, row accumulation for a few rows, and otherwise a
// Goto/BLIS-style blocked product — B packed into KC x NR slivers and A into MR x KC
// slivers (Float64Array), a 4 x 8 register-tile micro-kernel accumulating in doubles. Sums
// are kept in doubles and rounded once when stored (float32 results: within the
// "accumulate" tolerance of numpy's float32 accumulation).
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { broadcastShapes, shapeStr } from "../kernel_api.js";

// ---------------------------------------------------------------- float GEMM (JS)
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
        packASlivers(mc, kc, A, ao + (ic + 0) * rsa + pc * csa, rsa, csa, pa);
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
// packed product runs a micro-kernel written here as a tiny WebAssembly module, assembled
// at load time from the instruction list below (no binary blob, no file to fetch; under
// 4 KB, so synchronous compilation is allowed on a browser's main thread). Without it (or
// when validation fails) the JS micro-kernel above is used: same results within the
// "accumulate" tolerance.
//
// ukr_f32(kc, pa, pb, c, ldc, add, mt) / ukr_f64(...): for t < mt, the MR x NR tile of C at
// byte address c + t*MR*ldc (rows ldc bytes apart) is set to (add = 0) or increased by
// (add = 1) the product of an A sliver [kc][MR] (at pa, then the next sliver) and the B
// sliver [kc][NR] at pb. float32: MR = 4, NR = 8, accumulating in float32 lanes as BLAS
// does; float64: MR = 4, NR = 4, in float64 lanes. Packing and edges stay in JS: A and B
// are packed (zero-padded to whole tiles) into the module's memory, C is computed into a
// padded buffer there and copied out.

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
  f32add: [0xfd, 0xe4, 0x01], f32mul: [0xfd, 0xe6, 0x01], f64add: [0xfd, 0xf0, 0x01], f64mul: [0xfd, 0xf2, 0x01],
};

/** Body of a micro-kernel: MR rows of NV v128 lanes; elem = 4 or 8 bytes. */
function ukrBody(MR, NV, elem) {
  const [splat, vadd, vmul] = elem === 4 ? [W.splat32, W.f32add, W.f32mul] : [W.splat64, W.f64add, W.f64mul];
  // params 0 kc, 1 pa, 2 pb, 3 c, 4 ldc, 5 add, 6 mt; locals 7 p, 8 pb cursor, then v128 acc[MR*NV], b[NV], a
  const P = 7, PB = 8, ACC = 9, B = ACC + MR * NV, A = B + NV;
  const code = [];
  const e = (...xs) => { for (const x of xs) code.push(...x); };
  const rowAddr = (i) => { e(W.get(3)); if (i) e(W.get(4), W.i32(i), W.mul, W.add); };
  e(W.block, W.loop, W.get(6), W.eqz, W.brIf(1));                      // tiles
  for (let i = 0; i < MR * NV; i++) e(W.vzero, W.set(ACC + i));
  e(W.get(0), W.set(P), W.get(2), W.set(PB));
  e(W.block, W.loop, W.get(P), W.eqz, W.brIf(1));                      // k
  for (let j = 0; j < NV; j++) e(W.get(PB), W.vload(16 * j), W.set(B + j));
  for (let i = 0; i < MR; i++) {
    e(W.get(1), splat(elem * i), W.set(A));
    for (let j = 0; j < NV; j++) e(W.get(ACC + i * NV + j), W.get(A), W.get(B + j), vmul, vadd, W.set(ACC + i * NV + j));
  }
  e(W.get(1), W.i32(elem * MR), W.add, W.set(1));
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
  e(W.get(3), W.get(4), W.i32(MR), W.mul, W.add, W.set(3));           // next tile: c += MR rows
  e(W.get(6), W.i32(1), W.sub, W.set(6), W.br(0), W.end, W.end);
  const body = [...wvec([[...uleb(2), W_I32], [...uleb(MR * NV + NV + 1), W_V128]]), ...code, 0x0b];
  return [...uleb(body.length), ...body];
}

function gemmModuleBytes() {
  const type = wsection(1, wvec([[0x60, ...wvec(new Array(7).fill([W_I32])), 0]]));
  const funcs = wsection(3, wvec([uleb(0), uleb(0)]));
  const memory = wsection(5, wvec([[0x00, 1]]));
  const exports = wsection(7, wvec([[...wname("mem"), 0x02, 0], [...wname("ukr_f32"), 0x00, 0], [...wname("ukr_f64"), 0x00, 1]]));
  const code = wsection(10, wvec([ukrBody(4, 2, 4), ukrBody(4, 2, 8)]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...funcs, ...memory, ...exports, ...code]);
}

/** {mem, ukr_f32, ukr_f64} of the instantiated module, or null without WebAssembly SIMD. */
function loadGemmModule() {
  try {
    if (typeof WebAssembly !== "object" || typeof WebAssembly.Instance !== "function") return null;
    const bytes = gemmModuleBytes();
    if (!WebAssembly.validate(bytes)) return null;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
    // self-test on one 4 x 8 tile (k = 2): guards against an engine that validates but misbehaves
    const f = new Float32Array(ex.mem.buffer);
    f.fill(0, 0, 128);
    for (let i = 0; i < 8; i++) f[i] = i + 1;                   // A sliver [2][4]
    for (let i = 0; i < 16; i++) f[16 + i] = 16 - i;            // B sliver [2][8]
    ex.ukr_f32(2, 0, 64, 256, 32, 0, 1);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 8; j++)
        if (f[64 + i * 8 + j] !== (i + 1) * (16 - j) + (i + 5) * (8 - j)) return null;
    return ex;
  } catch {
    return null;
  }
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

const WMR = 4, WKC = 256, WMC = 128, WNC = 2048, WC_ELEMS = 1 << 22; // C buffer: at most ~4M elements per pass

/** The packed product through the wasm micro-kernels; C (Float32Array or Float64Array) overwritten; false when memory ran out (C untouched). */
function gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) {
  const f64 = C instanceof Float64Array, elem = f64 ? 8 : 4, NR = f64 ? 4 : 8;
  const ukr = f64 ? WASM.ukr_f64 : WASM.ukr_f32;
  const kcMax = Math.min(K, WKC), ncMax = Math.min(Math.ceil(N / NR) * NR, WNC);
  let MG = Math.floor(WC_ELEMS / ncMax / WMC) * WMC;              // rows per pass (C buffer bound)
  if (MG < WMC) MG = WMC;
  const mgMax = Math.min(Math.ceil(M / WMR) * WMR, MG);
  // layout (bytes, 64-aligned): A block [WMC x kc] | B panel [kc x nc] | C buffer [mg x nc]
  const paB = 0, pbB = paB + Math.ceil((WMC * kcMax * elem) / 64) * 64, cB = pbB + Math.ceil((kcMax * ncMax * elem) / 64) * 64;
  if (!wasmReserve(cB + mgMax * ncMax * elem)) return false;
  const f = f64 ? wasmF64 : wasmF32;
  const pa = paB / elem, pb = pbB / elem, cb = cB / elem;
  for (let m0 = 0; m0 < M; m0 += MG) {
    const mg = Math.min(MG, M - m0);
    for (let jc = 0; jc < N; jc += WNC) {
      const nc = Math.min(WNC, N - jc), ncp = Math.ceil(nc / NR) * NR;
      for (let pc = 0; pc < K; pc += WKC) {
        const kc = Math.min(WKC, K - pc);
        // B[pc:pc+kc, jc:jc+nc] -> NR-wide slivers [kc][NR], zero-padded
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr), o = pb + jr * kc, s0 = bo + pc * rsb + (jc + jr) * csb;
          if (csb === 1 && nr === NR) {
            if (NR === 8)
              for (let p = 0, d = o, s = s0; p < kc; p++, d += 8, s += rsb) {
                f[d] = B[s]; f[d + 1] = B[s + 1]; f[d + 2] = B[s + 2]; f[d + 3] = B[s + 3];
                f[d + 4] = B[s + 4]; f[d + 5] = B[s + 5]; f[d + 6] = B[s + 6]; f[d + 7] = B[s + 7];
              }
            else
              for (let p = 0, d = o, s = s0; p < kc; p++, d += 4, s += rsb) {
                f[d] = B[s]; f[d + 1] = B[s + 1]; f[d + 2] = B[s + 2]; f[d + 3] = B[s + 3];
              }
          } else {
            if (nr < NR) f.fill(0, o, o + kc * NR);
            for (let j = 0; j < nr; j++)
              for (let p = 0, d = o + j, s = s0 + j * csb; p < kc; p++, d += NR, s += rsb) f[d] = B[s];
          }
        }
        for (let ic = 0; ic < mg; ic += WMC) {
          const mc = Math.min(WMC, mg - ic), mt = Math.ceil(mc / WMR);
          // A[m0+ic : +mc, pc:pc+kc] -> MR-high slivers [kc][MR], zero-padded
          if (mc % WMR) f.fill(0, pa + (mt - 1) * WMR * kc, pa + mt * WMR * kc);
          for (let i = 0; i < mc; i++) {
            const s0 = ao + (m0 + ic + i) * rsa + pc * csa;
            const d0 = pa + ((i / WMR) | 0) * WMR * kc + (i % WMR);
            if (csa === 1) for (let p = 0, d = d0; p < kc; p++, d += WMR) f[d] = A[s0 + p];
            else for (let p = 0, d = d0, s = s0; p < kc; p++, d += WMR, s += csa) f[d] = A[s];
          }
          const add = pc > 0 ? 1 : 0, cRow = cB + ic * ncp * elem;
          for (let jr = 0; jr < ncp; jr += NR) ukr(kc, paB, pbB + jr * kc * elem, cRow + jr * elem, ncp * elem, add, mt);
        }
      }
      for (let i = 0; i < mg; i++) {
        const s = cb + i * ncp;
        C.set(f.subarray(s, s + nc), co + (m0 + i) * ldc + jc);
      }
    }
  }
  return true;
}

const SMALL = 4;
const WASM_MIN_WORK = 1 << 15; // M*N*K below this stays in JS (call and copy overhead)

/**
 * C[co + i*ldc + j] = sum_k A[ao + i*rsa + k*csa] * B[bo + k*rsb + j*csb] for i < M, j < N
 * (C overwritten; A, B, C all Float32Array or all Float64Array; sums rounded once on store).
 */
export function gemm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    for (let i = 0; i < M; i++) C.fill(0, co + i * ldc, co + i * ldc + N);
    return;
  }
  if (csa === 1 && rsb === 1 && (N <= SMALL || M <= 2)) return gemmDot(M, N, K, A, ao, rsa, B, bo, csb, C, co, ldc);
  if (csb === 1 && M <= SMALL) return gemmAxpy(M, N, K, A, ao, rsa, csa, B, bo, rsb, C, co, ldc);
  if (WASM && M * N * K >= WASM_MIN_WORK && gemmWasm(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc)) return;
  gemmPacked(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc);
}

/**
 * Each GEMM algorithm by name, with gemm's signature, for tests: "packed" (JS micro-kernel),
 * "wasm" (null without WebAssembly SIMD), "dot" (needs csa == 1 and rsb == 1), "axpy"
 * (needs csb == 1). gemm picks one by shape.
 */
export const GEMM_PATHS = {
  packed: gemmPacked,
  wasm: WASM ? (...args) => { if (!gemmWasm(...args)) throw new Error("wasm memory"); } : null,
  dot: (M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) => gemmDot(M, N, K, A, ao, rsa, B, bo, csb, C, co, ldc),
  axpy: (M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc) => gemmAxpy(M, N, K, A, ao, rsa, csa, B, bo, rsb, C, co, ldc),
};

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
  run(inputs, attrs, outputs) {
    const a = inputs[0], b = inputs[1], y = outputs[0];
    if (y.data.length === 0) return;
    const { M, N, K, batch, sa, sb } = mmGeometry(a.shape, b.shape);
    const nb = batch.length, count = batch.reduce((p, d) => p * d, 1);
    const idx = new Array(nb).fill(0);
    const A = a.data, B = b.data, C = y.data, dt = a.dtype;
    let offa = 0, offb = 0;
    for (let t = 0; t < count; t++) {
      const ea = offa * M * K, eb = offb * K * N, ec = t * M * N;
      if (dt === "float32" || dt === "float64") gemm(M, N, K, A, ea, K, 1, B, eb, N, 1, C, ec, N);
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
  run(inputs, attrs, outputs) {
    const x = inputs[0], w = inputs[1], bias = inputs.length === 3 && inputs[2] ? inputs[2].data : null;
    const y = outputs[0].data;
    if (y.length === 0) return;
    const N = w.shape[0], K = w.shape[1], M = y.length / N;
    gemm(M, N, K, x.data, 0, K, 1, w.data, 0, 1, K, y, 0, N);
    if (bias)
      for (let i = 0; i < M; i++) {
        const r = i * N;
        for (let j = 0; j < N; j++) y[r + j] += bias[j]; // the Float32Array store rounds, as numpy's y + bias
      }
  },
});

// linalg_conv.test.js — matmul, linear (src/kernels/linalg.js) and conv2d, max_pool2d,
// avg_pool2d (src/kernels/conv.js) through the registry. Small cases: expected values from
// the numpy reference (python/jag/ops/core.py, composite.py) computed in the repository's
// venv and pasted as literals. Larger products (every GEMM path: dot, row accumulation,
// packed blocks with edge tiles, im2col row blocks) against naive double-precision loops.
// Constant operands (constant: true, as model.js marks a graph's tensors): the packed-weight
// cache gives the same results run after run, a non-constant operand is never served from
// it, and the batch-1 (M = 1) matrix-vector path over cached panels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GEMM_PATHS, clearGemmCache, gemmCacheStats } from "../src/kernels/linalg.js";
import "../src/kernels/conv.js";
import { ARRAY_TYPES, zeros } from "../src/dtypes.js";
import { kernelFor } from "../src/registry.js";
import { OPS, TOLERANCE_CLASSES } from "../src/ops_table.js";

import { T, runOp, assertTensor, runCases } from "./harness.js";

// ---------------------------------------------------------------- larger products vs naive loops

/** Deterministic pseudo-random values in [-1, 1) (a small LCG), as a plain array. */
function values(n, seed) {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function naiveMatmul(a, b, M, K, N, transB = false) {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * (transB ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = s;
    }
  return out;
}

for (const dtype of ["float32", "float64"]) {
  for (const [M, K, N] of [[70, 130, 90], [1, 300, 77], [3, 50, 200], [9, 7, 3], [13, 600, 21], [5, 1, 5]]) {
    test(`matmul ${dtype} ${M}x${K} @ ${K}x${N} vs naive`, () => {
      const a = T(dtype, [M, K], values(M * K, M + K)), b = T(dtype, [K, N], values(K * N, N));
      const y = runOp("matmul", [a, b]);
      const want = T(dtype, [M, N], naiveMatmul(a.data, b.data, M, K, N));
      assertTensor(y, want, "matmul");
    });
    test(`linear ${dtype} [${M},${K}] x [${N},${K}]^T + bias vs naive`, () => {
      const x = T(dtype, [M, K], values(M * K, 3 * M)), w = T(dtype, [N, K], values(N * K, 5 * N)), bias = T(dtype, [N], values(N, 11));
      const y = runOp("linear", [x, w, bias]);
      const ref = naiveMatmul(x.data, w.data, M, K, N, true);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) ref[i * N + j] += bias.data[j];
      assertTensor(y, T(dtype, [M, N], ref), "linear");
    });
  }
}

test("every GEMM path on strided operands, offsets and ldc > N (the gaps of C untouched)", () => {
  for (const [Ctor, tol] of [[Float32Array, 1e-5], [Float64Array, 1e-12]]) {
    for (const [M, K, N] of [[1, 1, 1], [5, 3, 7], [37, 300, 45], [130, 9, 2053], [4, 520, 17]]) {
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          // A is M x K at offset 3 (row stride K+2, or transposed: column-major with stride M+1)
          const ao = 3, rsa = transA ? 1 : K + 2, csa = transA ? M + 1 : 1;
          const bo = 5, rsb = transB ? 1 : N + 1, csb = transB ? K + 3 : 1;
          const A = Ctor.from(values(ao + Math.max(M * rsa + K * csa, 1), M * 7 + K));
          const B = Ctor.from(values(bo + Math.max(K * rsb + N * csb, 1), N * 3 + K));
          const want = new Float64Array(M * N);
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += A[ao + i * rsa + k * csa] * B[bo + k * rsb + j * csb];
              want[i * N + j] = s;
            }
          const co = 2, ldc = N + 3;
          for (const [name, path] of Object.entries(GEMM_PATHS)) {
            if (!path || (name === "dot" && (csa !== 1 || rsb !== 1)) || (name === "axpy" && csb !== 1)) continue;
            const C = new Ctor(co + M * ldc + 1).fill(-7);
            path(M, N, K, A, ao, rsa, csa, B, bo, rsb, csb, C, co, ldc);
            const what = `${name} ${Ctor.name} ${M}x${K}x${N} transA=${transA} transB=${transB}`; // (for messages)
            for (let i = 0; i < C.length; i++) {
              const r = i - co, row = Math.floor(r / ldc), col = r - row * ldc;
              if (r < 0 || row >= M || col >= N) {
                if (C[i] !== -7) assert.fail(`${what}: C[${i}] outside the product was written`);
                continue;
              }
              const w = want[row * N + col];
              if (!(Math.abs(C[i] - w) <= tol * (1 + Math.abs(w)) * Math.sqrt(K))) assert.fail(`${what}: C[${row},${col}] = ${C[i]}, expected ${w}`);
            }
          }
        }
    }
  }
});

test("wasm GEMM in several passes (M above the C-buffer rows, N above one column block)", { skip: !GEMM_PATHS.wasm }, () => {
  for (const Ctor of [Float32Array, Float64Array]) {
    const M = 2100, K = 3, N = 2050;
    const A = Ctor.from(values(M * K, 1)), B = Ctor.from(values(K * N, 2));
    for (const path of ["wasm", "wasmConstAB"]) {
      const C = new Ctor(M * N).fill(NaN);
      GEMM_PATHS[path](M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N);
      for (let i = 0; i < M; i += 7)
        for (let j = 0; j < N; j++) {
          const w = A[i * K] * B[j] + A[i * K + 1] * B[N + j] + A[i * K + 2] * B[2 * N + j];
          if (!(Math.abs(C[i * N + j] - w) <= 1e-6)) assert.fail(`${path} ${Ctor.name} C[${i},${j}] = ${C[i * N + j]}, expected ${w}`);
        }
    }
  }
});

test("the WebAssembly SIMD GEMM is available on this Node", () => {
  assert.ok(GEMM_PATHS.wasm, "WebAssembly SIMD should validate on Node >= 18");
});

test("matmul int32 / uint8 / int64 wrap like the dtype on a 9x11 @ 11x5 product", () => {
  const M = 9, K = 11, N = 5;
  const av = values(M * K, 1).map((v) => Math.round(v * 2 ** 31)), bv = values(K * N, 2).map((v) => Math.round(v * 2 ** 31));
  const wrapSum = (bits, signed, a, b) => {
    const out = [];
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0n;
        for (let k = 0; k < K; k++) s += BigInt(a[i * K + k]) * BigInt(b[k * N + j]);
        out.push(signed ? BigInt.asIntN(bits, s) : BigInt.asUintN(bits, s));
      }
    return out;
  };
  const y32 = runOp("matmul", [T("int32", [M, K], av), T("int32", [K, N], bv)]);
  assert.deepEqual([...y32.data], wrapSum(32, true, av, bv).map(Number));
  const a8 = av.map((v) => v & 255), b8 = bv.map((v) => v & 255);
  const y8 = runOp("matmul", [T("uint8", [M, K], a8), T("uint8", [K, N], b8)]);
  assert.deepEqual([...y8.data], wrapSum(8, false, a8, b8).map(Number));
  const a64 = av.map((v) => BigInt(v) * 4294967296n + 12345n), b64 = bv.map((v) => BigInt(v) * 3n);
  const y64 = runOp("matmul", [T("int64", [M, K], a64), T("int64", [K, N], b64)]);
  assert.deepEqual([...y64.data], wrapSum(64, true, a64, b64));
});

function naiveConv(x, w, b, [N, C, H, W], [O, Cg, KH, KW], { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], groups }) {
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1, OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const Og = O / groups, out = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let s = 0;
          for (let c = 0; c < Cg; c++)
            for (let p = 0; p < KH; p++)
              for (let q = 0; q < KW; q++) {
                const h = i * sh + p * dh - pt, v = j * sw + q * dw - pl;
                if (h >= 0 && h < H && v >= 0 && v < W) s += x[((n * C + g * Cg + c) * H + h) * W + v] * w[((o * Cg + c) * KH + p) * KW + q];
              }
          out[((n * O + o) * OH + i) * OW + j] = s + (b ? b[o] : 0);
        }
    }
  return { shape: [N, O, OH, OW], data: out };
}

for (const [name, xs, ws, attrs] of [
  ["im2col in two row blocks", [1, 16, 90, 90], [4, 16, 3, 3], { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 }],
  ["strided dilated grouped", [2, 6, 17, 13], [9, 2, 3, 4], { strides: [2, 3], pads: [2, 0, 1, 3], dilations: [2, 1], groups: 3 }],
  ["depthwise", [2, 5, 11, 12], [5, 1, 3, 3], { strides: [1, 2], pads: [1, 1, 1, 1], dilations: [1, 2], groups: 5 }],
  ["1x1 direct", [3, 8, 7, 9], [10, 8, 1, 1], { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1 }],
  ["1x1 grouped direct", [1, 8, 6, 6], [4, 4, 1, 1], { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 2 }],
]) {
  for (const dtype of ["float32", "float64"]) {
    test(`conv2d ${dtype} ${name} vs naive`, () => {
      const n = (s) => s.reduce((p, d) => p * d, 1);
      const x = T(dtype, xs, values(n(xs), 17)), w = T(dtype, ws, values(n(ws), 29)), b = T(dtype, [ws[0]], values(ws[0], 3));
      const y = runOp("conv2d", [x, w, b], attrs);
      const ref = naiveConv(x.data, w.data, b.data, xs, ws, attrs);
      assertTensor(y, T(dtype, ref.shape, ref.data), "conv2d");
    });
  }
}

// ---------------------------------------------------------------- constant operands: the packed-weight cache, M = 1

/** The tensor marked as a graph constant (as model.js marks the graph's tensors). */
const constant = (t) => ({ ...t, constant: true });

/** Elementwise |got - want| <= tol * (1 + |want|) * sqrt(K) (float32 lanes accumulate in float32). */
function assertNear(got, want, K, what) {
  assert.equal(got.data.length, want.length, `${what}: length`);
  const tol = got.dtype === "float32" ? 1e-6 : 1e-14;
  for (let i = 0; i < want.length; i++)
    if (!(Math.abs(got.data[i] - want[i]) <= tol * (1 + Math.abs(want[i])) * Math.sqrt(K)))
      assert.fail(`${what}: element ${i} is ${got.data[i]}, expected ${want[i]}`);
}

test("a constant weight is packed once and reused: one cache entry, identical results run after run", { skip: !GEMM_PATHS.wasm }, () => {
  clearGemmCache();
  for (const dtype of ["float32", "float64"])
    for (const [M, K, N] of [[37, 300, 45], [2, 64, 64], [1, 784, 100]]) {
      const what = `matmul ${dtype} ${M}x${K}x${N}`;
      const a = T(dtype, [M, K], values(M * K, 1)), w = T(dtype, [K, N], values(K * N, 2));
      const before = gemmCacheStats().entries;
      const plain = runOp("matmul", [a, w]); // a graph input: never cached
      assert.equal(gemmCacheStats().entries, before, `${what}: a non-constant weight was cached`);
      const wc = constant(w);
      const first = runOp("matmul", [a, wc]);
      assert.equal(gemmCacheStats().entries, before + 1, `${what}: first run packs the weight once`);
      const second = runOp("matmul", [a, wc]), third = runOp("matmul", [a, wc]);
      assert.equal(gemmCacheStats().entries, before + 1, `${what}: later runs reuse the entry`);
      assert.deepEqual(second.data, first.data, `${what}: run 2`);
      assert.deepEqual(third.data, first.data, `${what}: run 3`);
      assertNear(first, naiveMatmul(a.data, w.data, M, K, N), K, what);
      assertNear(plain, naiveMatmul(a.data, w.data, M, K, N), K, `${what} (not constant)`);
      if (M > 4) assert.deepEqual(first.data, plain.data, `${what}: cached and per-run packing agree bit for bit`); // (both wasm)
    }
  assert.ok(gemmCacheStats().bytes > 0);
  clearGemmCache();
  const stats = gemmCacheStats();
  assert.deepEqual(stats, { entries: 0, bytes: 0, top: stats.base, base: stats.base },
    "clearGemmCache returns every region (merged: the top back to the base)");
  assert.ok(stats.base >= 65536, "the regions start above the first page (self-test area, constant table)");
});

test("a NON-constant operand mutated between runs is never served from the cache", { skip: !GEMM_PATHS.wasm }, () => {
  for (const dtype of ["float32", "float64"])
    for (const M of [1, 3, 37]) {
      const K = 130, N = 90, what = `${dtype} M=${M}`;
      const a = T(dtype, [M, K], values(M * K, 3)), b = T(dtype, [K, N], values(K * N, 4));
      const before = gemmCacheStats().entries;
      assertNear(runOp("matmul", [a, b]), naiveMatmul(a.data, b.data, M, K, N), K, `matmul ${what} run 1`);
      b.data.set(values(K * N, 5)); // the user's array changes between runs
      assertNear(runOp("matmul", [a, b]), naiveMatmul(a.data, b.data, M, K, N), K, `matmul ${what} run 2 (b changed)`);
      // linear: weight [N, K] (the transposed B), also a graph input
      const w = T(dtype, [N, K], values(N * K, 6));
      assertNear(runOp("linear", [a, w]), naiveMatmul(a.data, w.data, M, K, N, true), K, `linear ${what} run 1`);
      w.data.set(values(N * K, 7));
      assertNear(runOp("linear", [a, w]), naiveMatmul(a.data, w.data, M, K, N, true), K, `linear ${what} run 2 (w changed)`);
      // the activation x is never cached, even beside a constant weight
      const wc = constant(T(dtype, [K, N], values(K * N, 8)));
      assertNear(runOp("matmul", [a, wc]), naiveMatmul(a.data, wc.data, M, K, N), K, `matmul ${what} x run 1`);
      a.data.set(values(M * K, 9));
      assertNear(runOp("matmul", [a, wc]), naiveMatmul(a.data, wc.data, M, K, N), K, `matmul ${what} x run 2 (x changed)`);
      assert.equal(gemmCacheStats().entries, before + 1, `${what}: only the constant weight was cached`);
    }
  // conv2d: a non-constant weight changed between runs, and a constant one cached
  const xs = [1, 16, 20, 20], ws = [8, 16, 3, 3], attrs = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 };
  const n = (s) => s.reduce((p, d) => p * d, 1);
  const x = T("float32", xs, values(n(xs), 10)), w = T("float32", ws, values(n(ws), 11));
  const before = gemmCacheStats().entries;
  const y1 = runOp("conv2d", [x, w], attrs);
  assertTensor(y1, T("float32", [1, 8, 20, 20], naiveConv(x.data, w.data, null, xs, ws, attrs).data), "conv2d");
  w.data.set(values(n(ws), 12));
  const y2 = runOp("conv2d", [x, w], attrs);
  assertTensor(y2, T("float32", [1, 8, 20, 20], naiveConv(x.data, w.data, null, xs, ws, attrs).data), "conv2d", "conv2d (w changed)");
  assert.equal(gemmCacheStats().entries, before, "conv2d: a non-constant weight was cached");
  const wc = constant(w);
  const y3 = runOp("conv2d", [x, wc], attrs), y4 = runOp("conv2d", [x, wc], attrs);
  assert.equal(gemmCacheStats().entries, before + 1, "conv2d: the constant weight is cached once");
  assert.deepEqual(y3.data, y2.data, "conv2d: cached weight rows give the same result");
  assert.deepEqual(y4.data, y2.data, "conv2d: run 2 of the constant weight");
});

test("M = 1 with a constant weight: the matrix-vector path over cached panels (several K and N blocks, ragged N)", () => {
  for (const dtype of ["float32", "float64"])
    for (const [K, N] of [[1, 4096], [300, 77], [260, 2053], [9, 600]]) {
      const what = `${dtype} 1x${K} @ ${K}x${N}`;
      const x = T(dtype, [1, K], values(K, K + 1)), w = constant(T(dtype, [K, N], values(K * N, N + 2)));
      const want = naiveMatmul(x.data, w.data, 1, K, N);
      for (let run = 0; run < 2; run++) assertNear(runOp("matmul", [x, w]), want, K, `${what} run ${run}`);
      assertNear(runOp("matmul", [{ ...x, shape: [K] }, w]), want, K, `${what} (1-D x)`);
      // a batch of M = 1 products sharing one weight: one cache entry serves them all
      const xb = T(dtype, [3, 1, K], values(3 * K, 5)), before = gemmCacheStats().entries;
      const yb = runOp("matmul", [xb, w]);
      assert.equal(gemmCacheStats().entries, before, `${what}: batched products reuse the entry`);
      for (let b = 0; b < 3; b++)
        assertNear({ dtype, data: yb.data.subarray(b * N, (b + 1) * N) }, naiveMatmul(xb.data.subarray(b * K), w.data, 1, K, N), K, `${what} batch ${b}`);
      // linear: the weight [N, K] is B transposed (packed from its columns), plus a bias
      const wl = constant(T(dtype, [N, K], values(N * K, 7))), bias = T(dtype, [N], values(N, 8));
      const ref = naiveMatmul(x.data, wl.data, 1, K, N, true);
      for (let j = 0; j < N; j++) ref[j] += bias.data[j];
      for (let run = 0; run < 2; run++) assertNear(runOp("linear", [x, wl, bias]), ref, K, `linear ${what} run ${run}`);
    }
});

// ---------------------------------------------------------------- cases from the numpy reference
const CASES = [
  { name: "matmul float32 2x3 @ 3x4", op: "matmul", inputs: [T("float32", [2, 3], [0.001, 0.299, -0.274, -0.891, -0.455, -0.992]), T("float32", [3, 4], [0.06, 1.34, -0.492, -0.62, 0.49, 0.357, 0.105, -0.93, -0.029, 0.695, -1.344, -0.458])], attrs: {}, want: T("float32", [2, 4], [0.154516, -0.082347, 0.39915898, -0.15319802, -0.24764201, -2.045815, 1.723845, 1.429906]) },
  { name: "matmul float64 5x7 @ 7x6", op: "matmul", inputs: [T("float64", [5, 7], [-1.901, -1.29, -1.842, -0.235, -1.267, 0.271, 0.157, -0.187, -2.517, -0.539, -0.049, 0.113, -1.53, -0.478, -0.979, -0.809, 1.061, -0.808, -0.033, 0.884, -0.584, -0.112, 0.11, 0.064, -1.225, 0.076, 1.359, -1.547, 0.859, 0.119, -0.641, 2.0, 0.762, -1.199, 0.075]), T("float64", [7, 6], [0.577, -0.189, 0.683, -0.067, 0.667, 1.439, -0.676, 0.203, -0.463, 0.127, -1.187, -0.579, -0.196, 0.899, 1.145, -1.324, -0.795, 0.647, -1.992, -0.463, -0.097, 1.257, 0.689, -0.327, -0.369, -0.25, 1.524, -0.428, -0.304, 0.353, -0.121, -0.197, -1.114, -0.012, -0.444, 1.166, 0.653, -0.024, 0.668, -0.34, 1.052, -0.005])], attrs: {}, want: T("float64", [5, 6], [1.1415680000000001, -1.190139, -4.915334, 2.592594, 1.995746, -3.235608, 1.628144, -0.6528499999999999, 1.9825760000000001, 0.47742900000000005, 3.399806, -0.8861610000000002, 0.9074420000000002, 1.196865, -0.4260490000000001, -2.255494, -2.089749, 1.032328, 1.0859980000000002, 0.41861400000000004, -2.366819, -1.1259429999999997, -3.354123, 1.836282, -3.5302890000000002, -1.5965500000000001, 2.150729, 2.9829959999999995, 2.698903, -1.03095]) },
  { name: "matmul float32 NaN inf", op: "matmul", inputs: [T("float32", [2, 2], [1.0, NaN, Infinity, 0]), T("float32", [2, 2], [1.0, 2.0, 3.0, 4.0])], attrs: {}, want: T("float32", [2, 2], [NaN, NaN, Infinity, Infinity]) },
  { name: "matmul 1-D @ 1-D -> scalar", op: "matmul", inputs: [T("float32", [4], [0.583, -1.291, 0.347, -1.688]), T("float32", [4], [-2.035, -0.304, -0.9, 0.164])], attrs: {}, want: T("float32", [], [-1.3830731]) },
  { name: "matmul 1-D @ 2-D", op: "matmul", inputs: [T("float32", [3], [2.245, -0.832, -0.624]), T("float32", [3, 2], [0.205, 0.493, -0.176, -0.206, 0.702, 0.52])], attrs: {}, want: T("float32", [2], [0.16860895, 0.9536969]) },
  { name: "matmul 2-D @ 1-D", op: "matmul", inputs: [T("float64", [2, 3], [-1.034, -0.079, 0.035, -1.054, 0.26, -0.858]), T("float64", [3], [0.972, 0.193, 0.089])], attrs: {}, want: T("float64", [2], [-1.01718, -1.05067]) },
  { name: "matmul batch broadcast", op: "matmul", inputs: [T("float32", [2, 1, 3, 4], [-0.591, -0.119, -1.998, -1.131, 0.363, -2.129, 0.847, -1.746, 0.757, -0.845, 0.779, 0.131, -1.537, 1.249, 1.442, -0.066, -0.274, -0.16, -0.975, 1.099, -0.543, -0.051, -0.793, -0.626]), T("float32", [3, 4, 2], [-1.278, 1.257, -0.154, 0.966, 0.013, -0.694, -0.327, -0.56, 0.008, -0.375, -0.3, -1.379, -0.807, 1.654, -0.671, -1.054, 0.337, 1.407, -1.454, -0.209, -0.632, -1.761, 0.735, -0.023])], attrs: {}, want: T("float32", [2, 3, 3, 2], [1.1174871, 1.1621311, 0.445905, -1.2103808, -0.87002605, -0.47870705, 2.402259, -1.726892, 1.129641, 6.040988, -0.45699793, 2.0317721, 0.40530998, 2.737825, 1.3992828, -0.495707, 1.0876961, -0.13312802, 1.812268, -1.6892629, 0.002764006, -0.43776795, 0.896201, 0.16908504, -1.506404, 1.3086362, 0.09520403, -2.447606, 1.070953, -0.377864, -3.293869, -4.961444, 1.564267, 1.3396201, -0.06777098, 0.657529]) },
  { name: "matmul 1-D @ batched", op: "matmul", inputs: [T("float32", [3], [0.071, -0.752, 0.455]), T("float32", [2, 3, 5], [-0.539, -0.143, -1.108, -1.216, 1.336, -0.507, 0.292, -0.034, -0.441, -0.508, 0.63, -0.302, -0.151, 0.022, 1.177, 0.681, 0.383, -0.564, -1.382, 0.95, 0.966, -0.141, 0.542, 0.781, 0.831, 0.921, -0.456, 1.515, -1.247, 0.862])], attrs: {}, want: T("float32", [2, 5], [0.62964505, -0.36714697, -0.121805005, 0.255306, 1.0124071, -0.25902596, -0.07425501, 0.24169703, -1.252819, -0.16525197]) },
  { name: "matmul batched @ 1-D", op: "matmul", inputs: [T("float32", [2, 2, 3], [0.494, 0.874, 1.879, 1.484, -1.145, -1.689, 0.817, -1.015, -0.012, 0.84, -1.644, -2.11]), T("float32", [3], [0.259, 0.044, -0.246])], attrs: {}, want: T("float32", [2, 2], [-0.29583198, 0.74947, 0.169895, 0.664284]) },
  { name: "matmul int32 wraps", op: "matmul", inputs: [T("int32", [2, 2], [1073741824, 3, -7, 2147483647]), T("int32", [2, 2], [4, 1, 5, 1073741824])], attrs: {}, want: T("int32", [2, 2], [15, 0, 2147483615, -1073741831]) },
  { name: "matmul uint8 wraps", op: "matmul", inputs: [T("uint8", [2, 2], [200, 3, 1, 255]), T("uint8", [2, 2], [2, 1, 100, 255])], attrs: {}, want: T("uint8", [2, 2], [188, 197, 158, 2]) },
  { name: "matmul int64 big wraps", op: "matmul", inputs: [T("int64", [2, 2], [1152921504606846977n, 3n, -1n, 4611686018427387904n]), T("int64", [2, 2], [5n, 1n, 4611686018427387904n, -1152921504606846977n])], attrs: {}, want: T("int64", [2, 2], [1152921504606846981n, -2305843009213693954n, -5n, -4611686018427387905n]) },
  { name: "matmul int64 exact beyond 2^53", op: "matmul", inputs: [T("int64", [1, 2], [9007199254740993n, 1n]), T("int64", [2, 1], [3n, 1n])], attrs: {}, want: T("int64", [1, 1], [27021597764222980n]) },
  { name: "matmul K = 0", op: "matmul", inputs: [T("float32", [2, 0], []), T("float32", [0, 3], [])], attrs: {}, want: T("float32", [2, 3], [0, 0, 0, 0, 0, 0]) },
  { name: "matmul int32 K = 0", op: "matmul", inputs: [T("int32", [2, 0], []), T("int32", [0, 3], [])], attrs: {}, want: T("int32", [2, 3], [0, 0, 0, 0, 0, 0]) },
  { name: "matmul M = 0", op: "matmul", inputs: [T("float64", [0, 3], []), T("float64", [3, 2], [0.039, -0.861, -1.513, -0.167, -0.972, -1.643])], attrs: {}, want: T("float64", [0, 2], []) },
  { name: "matmul empty batch", op: "matmul", inputs: [T("float32", [0, 2, 3], []), T("float32", [3, 2], [0.506, -0.061, 0.407, -0.989, -0.658, -0.999])], attrs: {}, want: T("float32", [0, 2, 2], []) },
  { name: "matmul scalar operand", op: "matmul", inputs: [T("float32", [], [1.0]), T("float32", [2], [-0.887, 0.195])], attrs: {}, throws: "E_SHAPE" },
  { name: "matmul k mismatch", op: "matmul", inputs: [T("float32", [2, 3], [-0.783, 0.356, 0.34, 2.025, -1.393, 0.888]), T("float32", [2, 3], [-0.089, -0.014, -1.45, -0.46, 0.743, -0.082])], attrs: {}, throws: "E_SHAPE" },
  { name: "matmul 1-D k mismatch", op: "matmul", inputs: [T("float32", [3], [0.081, -0.291, 1.155]), T("float32", [2], [-0.021, -2.2])], attrs: {}, throws: "E_SHAPE" },
  { name: "matmul batch mismatch", op: "matmul", inputs: [T("float32", [2, 2, 3], [-0.692, -1.969, -3.251, -0.53, 1.334, 0.047, -1.173, -0.941, 1.131, 0.158, 0.048, -0.053]), T("float32", [3, 3, 1], [0.038, 0.805, 0.553, 0.216, -1.043, 0.511, -0.684, 1.094, -1.271])], attrs: {}, throws: "E_SHAPE" },
  { name: "linear float32 with bias", op: "linear", inputs: [T("float32", [2, 3], [-0.138, -0.007, -1.325, 1.722, 1.46, -0.464]), T("float32", [4, 3], [0.772, 0.379, -2.614, 0.25, -0.061, 0.083, -1.077, -0.269, -0.178, 1.188, 0.334, -0.006]), T("float32", [4], [1.529, -0.555, -0.389, -1.817])], attrs: {}, want: T("float32", [2, 4], [4.8833613, -0.69904804, -0.0026409924, -1.975332, 4.6246204, -0.252072, -2.553742, 0.7191597]) },
  { name: "linear float64 no bias 3-D x", op: "linear", inputs: [T("float64", [2, 2, 3], [1.569, 0.964, 0.917, 0.669, 0.11, 0.215, -0.252, -0.204, 0.054, 1.512, 0.556, -0.058]), T("float64", [5, 3], [-0.579, -0.635, 1.603, 0.507, 0.068, -0.346, -1.109, -0.067, 0.874, -0.393, -0.227, -0.221, 0.11, -1.593, -0.235])], attrs: {}, want: T("float64", [2, 2, 5], [-0.05063999999999976, 0.543753, -1.003151, -1.038102, -1.578557, -0.11255600000000003, 0.272273, -0.561381, -0.335402, -0.152165, 0.36200999999999994, -0.16032, 0.340332, 0.13341, 0.284562, -1.321482, 0.82446, -1.764752, -0.7076100000000001, -0.705758]) },
  { name: "linear float32 1-D x", op: "linear", inputs: [T("float32", [3], [-0.854, 0.885, -0.771]), T("float32", [2, 3], [0.577, 1.524, -0.314, -0.602, 0.191, -0.002]), T("float32", [2], [-0.994, 0.461])], attrs: {}, want: T("float32", [2], [0.10407597, 1.145685]) },
  { name: "linear float32 in = 0", op: "linear", inputs: [T("float32", [2, 0], []), T("float32", [3, 0], []), T("float32", [3], [2.016, -0.258, -0.203])], attrs: {}, want: T("float32", [2, 3], [2.016, -0.258, -0.203, 2.016, -0.258, -0.203]) },
  { name: "linear empty batch", op: "linear", inputs: [T("float32", [0, 3], []), T("float32", [2, 3], [-1.045, 0.319, -1.247, -1.107, 1.28, -0.905])], attrs: {}, want: T("float32", [0, 2], []) },
  { name: "linear scalar x", op: "linear", inputs: [T("float32", [], [1.0]), T("float32", [2, 3], [1.081, 1.524, 0.259, 0.553, 1.952, -0.197])], attrs: {}, throws: "E_SHAPE" },
  { name: "linear weight rank", op: "linear", inputs: [T("float32", [3], [-0.593, -1.353, 0.042]), T("float32", [2, 3, 1], [1.479, 0.96, -0.942, -0.855, -0.504, 0.292])], attrs: {}, throws: "E_SHAPE" },
  { name: "linear in mismatch", op: "linear", inputs: [T("float32", [4], [-0.205, 0.214, 0.297, -0.299]), T("float32", [2, 3], [-0.04, 0.207, -0.084, 0.504, 1.871, 0.592])], attrs: {}, throws: "E_SHAPE" },
  { name: "linear bias shape", op: "linear", inputs: [T("float32", [3], [0.056, -1.686, 0.388]), T("float32", [2, 3], [-1.947, -1.409, 0.855, 0.706, -0.15, -1.71]), T("float32", [3], [-0.371, -0.679, 0.637])], attrs: {}, throws: "E_SHAPE" },
  { name: "conv2d float32 basic with bias", op: "conv2d", inputs: [T("float32", [1, 2, 5, 5], [2.258, 0.217, -0.779, -1.171, -0.056, -0.177, -1.152, 0.116, -1.151, 1.112, 1.063, 1.085, -0.474, 0.515, -0.132, -0.389, -0.339, -1.3, -1.444, 0.794, -0.191, 0.216, 1.002, -1.733, -0.784, 0.175, 0.392, -0.377, 1.029, 0.21, -1.213, -0.931, 0.805, 0.464, -1.899, 1.348, 0.598, 1.343, -0.384, -0.296, -1.126, 2.537, -0.175, 1.588, -0.647, 0.164, -1.671, -0.383, 0.984, -1.252]), T("float32", [3, 2, 3, 3], [1.072, 0.337, -1.044, -0.502, -0.459, -0.05, -0.536, -0.827, -0.305, -1.027, -1.29, -0.048, 0.883, -1.529, 0.004, -0.65, -0.977, 0.853, -0.518, 1.498, -0.78, 0.387, -0.227, -0.754, 0.588, -0.155, 0.603, -0.047, -1.086, -0.102, 0.052, 0.958, -0.906, -0.039, -1.722, 0.651, -1.081, -1.806, -0.059, 1.106, -1.524, -1.088, -0.743, -1.129, 0.379, -0.807, -0.722, 0.583, -0.756, 0.433, -0.971, -1.212, -1.835, 1.861]), T("float32", [3], [-0.32, 0.244, -0.031])], attrs: {}, want: T("float32", [1, 3, 3, 3], [1.6497743, -2.9364731, -2.9151726, -0.34826496, -0.7248831, -1.639421, -4.1809926, 3.054542, -3.3410623, -2.004192, -0.7017931, -0.5315221, -5.944631, 3.206891, -6.1970677, 7.355851, -2.8070116, 0.9629312, -4.722154, -1.8102367, 2.9685721, -1.1092644, 4.7515554, -3.3035553, 2.2047951, 0.19804136, -2.8293848]) },
  { name: "conv2d float32 strides pads dilations", op: "conv2d", inputs: [T("float32", [1, 2, 7, 6], [0.16, 0.05, 1.908, -1.039, -1.557, -1.012, -1.335, 0.747, 0.82, -0.961, -1.39, -0.355, 1.391, -2.82, 0.527, -1.076, 1.04, -1.078, -0.285, -1.506, -0.977, 1.386, 0.821, -0.402, -0.87, -1.894, -0.394, -0.031, -0.084, -0.094, -1.122, -0.066, -0.039, 1.291, 1.867, -0.137, -0.766, -0.065, -0.608, -0.742, -0.059, -1.043, 0.606, -0.104, 0.25, -0.183, -0.727, -0.948, -0.237, -0.549, 0.234, -0.004, -1.362, 0.067, -1.343, -0.616, -0.294, -2.075, 0.092, 0.151, -0.158, -0.424, -0.374, -0.977, -0.27, -0.553, 0.092, -1.204, 0.236, 0.143, -0.142, -0.439, 0.552, -1.665, 0.46, 0.243, 0.283, 0.383, -0.654, -0.259, 0.637, 0.431, 0.207, -1.514]), T("float32", [3, 2, 3, 2], [0.538, 1.169, 1.01, 0.234, -1.558, 0.943, -0.147, -2.533, 0.377, -1.492, -1.296, -0.635, 1.273, -0.371, 0.271, 1.748, 1.594, -0.103, -0.242, -1.261, -0.694, 0.425, 0.396, 0.11, 0.995, -0.772, -0.056, 0.731, 0.584, 1.071, 0.397, -0.309, 0.362, -1.003, -1.639, 0.581]), T("float32", [3], [-0.055, 0.308, -1.698])], attrs: {strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2]}, want: T("float32", [1, 3, 4, 5], [3.4202862, -1.369803, 0.6599518, 1.1293391, 2.0291228, 1.0530089, 3.901241, 5.6568494, -4.423843, -0.44671997, -0.9643921, 4.0283933, 2.0467293, -0.27801114, -2.98754, -4.0634446, 0.06793416, 0.6255011, 0.9014381, 0.9262939, 1.0916681, -0.42836413, -0.98594916, -3.507926, -2.3644207, -0.2855129, -4.1647706, 3.912572, 0.26408628, 0.28787994, -1.5857768, -1.3306371, -1.3282509, 4.90708, 4.582323, -2.3652499, -1.110182, -1.52449, -1.506309, 2.456558, 0.27938712, -2.009904, -4.3079915, -2.390936, -0.45342386, -4.880842, 1.5322382, 2.001599, -2.373899, -2.724706, -2.951674, -0.414536, -1.7931931, 0.6309898, -0.408504, -3.984489, -4.561227, -3.069064, 0.6241162, 0.35025406]) },
  { name: "conv2d float32 groups 2", op: "conv2d", inputs: [T("float32", [1, 4, 6, 5], [-0.365, -0.6, -0.864, -2.255, -0.335, 0.897, 0.381, -0.601, -0.015, 0.757, -2.76, -0.125, 0.543, 0.682, 1.701, 1.135, 0.313, 0.302, 0.787, -0.539, -0.04, 0.906, 1.957, -0.159, -0.048, 0.198, 1.343, -0.03, 1.469, -0.967, -0.186, -0.198, 0.787, 1.045, -1.509, -0.915, 0.337, -0.659, -1.522, 1.038, 0.494, 0.493, -0.475, 1.029, -0.24, 1.096, -0.912, -0.854, 0.205, -0.702, 0.675, 0.26, -0.923, 0.073, -0.351, 0.916, -0.633, -0.439, 1.211, 2.239, 1.999, 0.063, 0.219, 1.533, -0.124, -0.976, 0.117, 0.452, -0.829, -1.646, -1.437, 0.665, -0.758, -0.141, 0.213, 0.619, -0.335, 0.499, -0.89, -0.362, -1.024, 1.132, -0.027, -0.739, -0.352, -0.222, 0.701, -1.596, -1.037, -0.378, 2.532, 0.956, -0.111, 0.712, 2.057, -0.234, -0.366, 1.212, 0.494, 0.671, -0.508, 1.924, 1.71, 0.566, 0.684, -2.027, 0.638, -0.194, 0.434, 0.682, -0.341, -1.69, 0.368, -0.741, -0.33, -0.605, -0.342, -2.31, 1.217, 0.253]), T("float32", [6, 2, 3, 2], [1.111, 1.98, 0.023, -1.802, -0.894, -1.207, -0.502, 0.08, -2.002, 0.342, -1.51, 0.297, -0.109, -0.314, -0.073, -0.54, -0.612, -1.683, -0.03, 1.846, 1.98, 1.322, 0.706, -0.676, 1.443, -0.056, -0.069, -0.291, 0.092, -0.435, -0.084, -1.085, -0.374, 2.281, -0.07, -0.239, 0.532, 0.708, -1.114, -0.207, 0.918, 0.27, 0.122, 1.554, -0.678, 0.083, -0.52, 1.49, -1.952, -0.67, -0.529, 0.664, 0.606, 1.395, -1.574, 0.75, -0.293, -0.666, 0.54, -0.92, -2.077, -0.37, -1.498, -0.649, 0.372, 0.312, 1.587, -0.2, -1.533, -0.756, -0.919, -1.218]), T("float32", [6], [0.435, -0.645, -1.977, 0.697, -0.111, 0.357])], attrs: {pads: [0, 1, 0, 1], groups: 2}, want: T("float32", [1, 6, 4, 6], [1.2461338, 2.2189658, -3.017407, -4.7750306, -5.6292186, -2.398626, 6.235895, -1.3046799, -2.2052343, 0.16356817, -2.9984243, 2.8164399, -6.411963, -8.131236, -1.756264, 2.9357588, 4.3494143, 4.41122, 3.1059759, -4.572563, -2.9106402, 4.254525, -1.4100261, -1.626219, 1.7433801, -0.49915916, 1.0750161, -3.7133012, -7.551441, 0.2263121, -3.123381, 1.8548801, -2.426734, -5.603552, 2.8773339, -1.52377, 1.580596, 0.10336083, -7.854789, -2.5025597, -1.548991, -2.392252, 0.98332596, -2.6963704, -5.072953, -5.891558, -2.075699, 0.91587293, -3.0203578, -1.65345, -5.280984, -7.936182, -1.6369278, -2.600802, 0.139848, 0.28335476, -1.958727, 0.8484168, -4.053457, -0.9998981, -0.33266425, -9.695834, -3.9957306, -1.4746902, -2.404521, 0.8175957, -1.983459, 0.14163494, -3.087822, -2.213498, -0.9338169, -2.806917, 5.08472, 6.7822227, 2.907778, 1.0993451, 6.346107, 2.1005461, -2.9554489, 4.113023, 0.37799004, 1.992591, -0.14464706, -1.4848001, -2.190772, 1.1631228, 5.686421, -0.44176793, 1.8537059, 0.68310004, -2.7924306, 2.3211203, -2.4821248, 2.124572, 1.141222, 0.724924, -1.5808051, -8.404863, -3.619079, -2.5839312, -3.9562566, -1.9341009, 2.479925, 0.105020106, -0.6987339, -3.9888859, 0.4929512, 1.8816571, 1.117028, 6.4394336, -2.7991083, -2.0579138, -1.7427077, -2.003232, -2.2518997, 5.9242597, -1.1688898, -4.729454, 1.559988, -0.287394, 0.09169802, -0.17327982, -2.9793692, -5.9410114, -2.3563604, 4.766712, 4.743595, 4.299442, -5.941933, -0.7151407, 0.3522842, 2.7115507, 2.216821, 6.1638737, 2.831798, 4.707246, 2.41792, 0.6692031, 2.123368, -0.4408058, 5.444518, -0.505364, 3.6824536, 2.8512712]) },
  { name: "conv2d float32 depthwise strided", op: "conv2d", inputs: [T("float32", [2, 3, 4, 4], [0.106, 0.632, 0.038, 1.236, 0.425, 0.392, 0.41, -1.457, -0.165, -0.259, 0.208, -1.359, 1.634, 0.104, -1.211, -1.709, -0.281, -0.09, -0.718, 0.092, -0.641, 0.552, -0.725, -0.039, 0.979, 2.572, -1.008, -0.465, -0.84, 0.784, -1.148, -0.484, -0.03, -0.979, -0.957, -0.476, -2.1, -1.445, -0.413, 0.148, -0.186, -1.774, -0.464, 0.798, 0.556, -0.079, -0.887, 0.631, -0.579, -1.169, -0.802, 1.448, 0.22, 1.159, -0.479, 0.938, -0.602, -0.157, 2.486, 0.767, -0.501, -0.085, 0.326, 1.21, -0.489, -1.741, -0.28, 0.015, 0.11, 1.317, 0.317, 0.813, -1.101, 0.868, 2.096, 0.773, 0.254, 0.154, 1.787, -0.927, -0.111, 0.46, 0.744, -0.437, 0.307, -0.278, 0.12, -0.132, -1.142, -0.021, 0.877, -0.967, -0.241, 0.665, -1.07, 0.183]), T("float32", [3, 1, 2, 2], [-1.06, 1.135, 2.313, 2.022, -0.219, 0.74, 0.121, 0.102, 1.548, -1.319, 1.055, -0.049]), T("float32", [3], [1.409, 0.187, -0.673])], attrs: {strides: [2, 2], groups: 3}, want: T("float32", [2, 3, 2, 2], [3.789609, 0.77385587, 5.279665, -6.6105857, 0.16068201, 0.320619, 1.854207, -0.124623984, -1.5728338, -1.9695588, 1.9694289, -3.4105377, 3.548283, 4.691309, 0.538242, 2.8450432, -0.84660506, 0.380703, 1.116881, 0.421669, -1.114061, 1.1881832, -2.699957, 0.8222519]) },
  { name: "conv2d float32 depthwise padded dilated", op: "conv2d", inputs: [T("float32", [1, 2, 5, 4], [0.277, 0.736, 0.036, 0.488, -0.522, -2.134, 0.9, 0.699, 0.148, 0.068, 1.036, -0.457, -0.707, -0.189, 1.189, -1.387, 1.192, -0.639, -1.101, 1.26, -0.097, -1.3, -0.359, 0.931, 1.192, -0.427, 0.406, 0.714, -0.645, 0.355, -0.032, -0.536, -0.492, 0.067, 0.03, -0.565, -0.426, 1.113, 0.214, 0.885]), T("float32", [2, 1, 3, 2], [1.202, 0.589, 2.271, -0.825, 0.808, -0.318, 1.856, 1.7, -1.954, -0.969, 0.664, 0.79])], attrs: {pads: [2, 1, 1, 0], dilations: [2, 1], groups: 2}, want: T("float32", [1, 2, 4, 4], [-0.275589, 0.11982702, 1.367252, 0.6615701, 0.655476, 0.06393398, -6.1196275, 2.8690028, -0.33800298, 2.212804, 0.039410017, 1.770197, 0.275817, -3.334042, -3.4451122, 5.338005, -0.415557, 1.3014079, 3.098511, -0.645341, -1.543728, -2.189163, 0.509132, -1.9116199, 0.123564966, -0.87729096, -2.77767, 2.339554, 2.503148, 2.382897, -0.26229993, 2.4562008]) },
  { name: "conv2d float64 1x1 direct", op: "conv2d", inputs: [T("float64", [2, 3, 4, 5], [0.737, -0.071, 0.455, 0.653, -0.078, 1.027, -2.259, 0.634, -1.034, 0.959, -0.229, -0.889, 0.374, -0.911, -0.913, -1.567, -0.027, 0.497, 1.023, -0.142, 1.048, 0.018, -0.093, 0.574, 1.058, -0.341, -0.244, -0.161, 0.083, -0.9, 1.028, -0.4, 0.462, -0.825, 0.359, 0.392, -0.421, 2.021, 0.371, 1.777, 0.959, -0.662, -0.382, 0.436, 0.061, 0.049, -0.286, -1.808, -0.225, -2.218, 0.372, -0.726, -0.715, -0.219, 0.273, -1.432, -1.749, -1.066, -2.042, -0.967, 1.591, -1.057, 0.651, -1.372, 0.299, -0.32, -0.06, 0.569, 1.756, 0.195, 0.124, -0.973, 0.583, -0.246, 0.832, -0.044, 1.741, -1.983, -0.297, 0.881, -0.351, -0.792, -0.266, -1.38, 0.119, 2.44, 1.145, -1.109, -0.873, -0.405, 1.004, -0.821, -0.69, 0.885, 0.865, -0.374, -1.118, -1.55, -0.699, -2.231, 0.75, -0.63, 0.481, 1.868, 1.173, -1.151, 0.869, 1.158, -0.746, -0.953, -0.11, -1.601, 1.471, -2.405, -1.107, -0.27, -0.227, 0.166, 0.271, -0.214]), T("float64", [2, 3, 1, 1], [1.137, -2.139, -0, -0.715, 0.133, 0.221]), T("float64", [2], [-0.912, -0.641])], attrs: {}, want: T("float64", [2, 2, 4, 5], [-2.315703, -1.031229, -0.19573800000000008, -1.3973249999999997, -3.2637479999999996, 0.9850979999999997, -2.958567, 0.15323699999999996, -2.2651950000000003, 2.1034829999999998, -3.3712649999999997, -1.067193, -1.47498, -0.1831320000000004, -2.717982, -3.532167, -0.042180000000000106, -4.669829999999999, -0.5424180000000001, -4.874457, -0.816632, -0.734143, -1.063116, -0.9351970000000001, -0.431035, -1.4098289999999998, 0.8785269999999998, -1.515291, 0.05962400000000001, -1.936563, -0.25832900000000003, -0.21901100000000007, -1.004979, -0.14775900000000003, 0.11987499999999995, 0.21506899999999984, -1.064217, -0.963148, -1.774384, -0.5168360000000001, 1.6477559999999998, -0.419721, 0.397161, 0.4798559999999993, -0.826578, -6.494999999999999, -3.429375, 2.1071039999999996, 2.9519189999999997, 0.1760099999999999, -2.9185679999999996, -0.26218200000000025, 1.226781, -3.084717, -1.8162509999999998, -0.16204200000000013, 3.458919, 0.14877899999999966, 0.2454719999999998, 4.861806, -1.659498, -0.129811, -1.035542, 0.5692680000000001, -0.5797249999999999, -0.342051, -0.253766, -0.939414, -2.1775149999999996, -1.044903, -0.620438, -0.40831900000000004, -0.8245239999999999, -0.87891, -1.365482, -0.718952, -2.084676, 0.607381, -0.46172100000000005, -1.614932]) },
  { name: "conv2d float32 1x1 strided", op: "conv2d", inputs: [T("float32", [1, 3, 4, 5], [0.793, 0.349, -0.68, 2.04, 2.309, -1.462, 0.302, 2.509, 0.784, 0.221, -0.208, -0.541, -0.213, -0.551, 0.745, -0.398, -0.441, -1.202, -0.05, -0.894, -0.181, 1.042, 0.366, 0.505, 0.356, 0.059, -0.127, -0.308, 0.759, -1.084, 1.341, 0.034, -0.749, -0.489, -0.677, 0.16, -0.718, 1.142, -0.782, -2.273, -0.731, -2.009, -0.04, 1.059, 0.648, -1.338, -0.762, 1.779, 0.319, 0.004, 1.056, 2.453, 1.297, 0.139, 0.355, 0.617, -0.613, -1.059, 0.052, -0.947]), T("float32", [2, 3, 1, 1], [-0.061, 0.096, 2.341, -0.851, -0.122, -0.164])], attrs: {strides: [3, 3]}, want: T("float32", [1, 2, 2, 2], [-1.7770201, 2.4031591, 1.484035, 0.04971001, -0.532877, -1.971326, 0.21798998, 0.129426]) },
  { name: "conv2d float64 padded", op: "conv2d", inputs: [T("float64", [1, 2, 4, 4], [0.437, 1.047, -0.49, -0.821, -1.641, -0.926, 0.536, 0.046, -1.015, -0.373, 0.031, 0.504, -0.593, -0.25, -1.818, -1.151, 1.618, -2.188, -0.338, 0.219, -0.374, -0.808, -0.061, -0.005, -0.082, -1.878, -0.147, -0.855, -0.548, 0.227, 0.641, 0.897]), T("float64", [2, 2, 3, 3], [-0.496, 0.924, 1.174, 1.137, 1.39, -0.146, -0.174, 0.825, -1.367, 0.209, -0.531, -0.369, -1.742, -0.891, -0.02, 0.888, 0.99, -0.08, -0.189, -0.831, 0.402, -0.248, 0.606, 1.752, -0.032, -1.497, -0.861, -1.458, -1.197, 1.305, 0.227, -1.52, 0.654, 1.26, -0.36, -0.676])], attrs: {pads: [1, 1, 1, 1]}, want: T("float64", [1, 2, 4, 4], [-1.336913, -1.176829, 4.500427, -1.419085, -0.473644, -2.1521969999999997, -3.4903869999999997, -0.484986, -4.060586999999999, 3.171962, 4.720359, 2.344235, -0.9432799999999996, 1.2127310000000002, -2.821331, -4.709203, 2.1435649999999993, 3.9777340000000008, -3.639784, -0.9466859999999999, -4.171433000000001, 1.7938260000000004, 2.0970450000000005, 0.2613229999999998, -0.8407020000000001, 6.3008, 4.394353, 3.785323, -1.4750569999999996, -0.5498470000000002, -1.346761, -0.651497]) },
  { name: "conv2d float32 NaN inf", op: "conv2d", inputs: [T("float32", [1, 1, 3, 3], [NaN, 1.0, 2.0, Infinity, 0, 1.0, 2.0, 3.0, 4.0]), T("float32", [1, 1, 2, 2], [1.0, 1.0, 1.0, 1.0])], attrs: {}, want: T("float32", [1, 1, 2, 2], [NaN, 4.0, Infinity, 8.0]) },
  { name: "conv2d zero batch", op: "conv2d", inputs: [T("float32", [0, 2, 4, 4], []), T("float32", [3, 2, 2, 2], [-0.337, 0.285, 0.64, 1.182, 1.212, 1.185, 1.362, 0.661, -1.531, -0.131, 0.314, -0.383, 0.911, -0.36, -0.926, 1.444, 0.666, 0.219, 0.927, 1.063, 0.341, -2.458, -0.676, -0.457]), T("float32", [3], [-0.984, 0.199, 1.192])], attrs: {}, want: T("float32", [0, 3, 3, 3], []) },
  { name: "conv2d zero in-channels", op: "conv2d", inputs: [T("float32", [1, 0, 3, 3], []), T("float32", [2, 0, 2, 2], []), T("float32", [2], [-0.485, -1.135])], attrs: {}, want: T("float32", [1, 2, 2, 2], [-0.485, -0.485, -0.485, -0.485, -1.135, -1.135, -1.135, -1.135]) },
  { name: "conv2d rank", op: "conv2d", inputs: [T("float32", [1, 2, 3], [2.028, -0.451, -1.233, 0.238, 0.426, -0.705]), T("float32", [1, 2, 1, 1], [0.79, -0.487])], attrs: {}, throws: "E_SHAPE" },
  { name: "conv2d channels", op: "conv2d", inputs: [T("float32", [1, 2, 3, 3], [-0.923, 0.179, 0.771, -0.634, 0.331, -0.093, 2.824, -0.709, 1.384, -0.052, -0.127, 0.722, 0.894, 1.267, 0.329, -0.6, -0.538, 0.51]), T("float32", [1, 1, 1, 1], [0.581])], attrs: {}, throws: "E_SHAPE" },
  { name: "conv2d groups do not divide O", op: "conv2d", inputs: [T("float32", [1, 4, 3, 3], [1.398, 0.418, 1.06, 1.517, 0.165, -1.486, -1.179, -1.438, 1.592, -0.847, 1.232, 0.586, 1.715, 1.003, -0.102, -0.2, 0.085, 0.175, -0.531, -0.033, 1.609, -1.702, 0.258, -0.907, 0.187, 0.84, -0.058, 0.773, -1.59, 1.107, -0.603, 0.622, 0.182, -2.586, -0.756, 0.221]), T("float32", [3, 2, 1, 1], [1.554, 0.287, 0.258, -1.413, 1.431, 1.807])], attrs: {groups: 2}, throws: "E_SHAPE" },
  { name: "conv2d bias shape", op: "conv2d", inputs: [T("float32", [1, 4, 3, 3], [0.029, -0.22, -1.619, 0.883, 2.702, 0.717, 1.264, 0.542, -0.985, 1.337, -1.235, -0.211, 0.279, 0.883, 0.416, 0.387, -0.761, -1.289, 0.061, -0.71, -1.308, -1.266, -0.49, -1.853, -1.347, -1.635, 0.182, 0.408, 2.007, -1.498, -0.68, 0.913, -0.217, -0.327, 1.709, -0.338]), T("float32", [4, 2, 1, 1], [-1.156, -1.317, 0.336, 0.305, -1.372, -0.985, 0.535, 0.577]), T("float32", [3], [-0.643, 0.622, 0.572])], attrs: {groups: 2}, throws: "E_SHAPE" },
  { name: "conv2d window too large", op: "conv2d", inputs: [T("float32", [1, 1, 3, 3], [-1.783, -0.312, 0.415, -0.573, -2.139, -0.283, 0.752, 1.58, -2.191]), T("float32", [1, 1, 2, 2], [2.613, -1.127, 0.957, 1.234])], attrs: {dilations: [1, 3]}, throws: "E_SHAPE" },
  { name: "max_pool2d float32 NaN propagates", op: "max_pool2d", inputs: [T("float32", [1, 1, 4, 4], [1.0, NaN, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0, -Infinity, 10.0, 11.0, -0, 13.0, 14.0, 15.0, 16.0])], attrs: {kernel_shape: [2, 2]}, want: T("float32", [1, 1, 2, 2], [NaN, 8.0, 14.0, 16.0]) },
  { name: "max_pool2d float32 padded strided", op: "max_pool2d", inputs: [T("float32", [2, 3, 5, 4], [0.983, 0.15, -1.161, 0.627, -0.715, -2.523, 2.829, 0.708, 1.818, -0.912, 1.468, 1.59, 1.555, -0.021, -1.202, -0.177, -2.203, -1.702, 0.092, -0.991, -0.164, -0.109, 1.931, 1.298, -0.045, 1.209, -0.78, -0.337, 0.91, -1.242, -0.279, -1.321, 0.117, 1.633, -0.752, 0.226, -0.897, -1.15, -1.236, 1.455, 2.362, 0.483, -0.716, 0.705, -0.334, 0.801, 0.291, 0.28, 0.607, -0.579, -0.404, -1.721, -0.442, -1.422, -0.145, -0.958, 0.101, 0.453, -1.42, -0.813, -0.943, 0.746, 1.706, 0.852, -0.349, 1.465, -1.514, 1.499, -0.656, -2.78, 2.651, 1.578, -1.032, 0.169, -0.214, 0.102, -1.483, -0.681, 0.468, 0.223, 1.199, 0.08, 2.349, -0.716, 0.259, -1.916, -1.253, 1.329, -0.943, 0.531, -0.062, -1.045, -0.348, -0.514, -0.487, 0.754, 0.652, -0.577, -0.907, 0.282, -0.1, 1.028, 2.655, 0.843, -0.035, -0.172, -0.857, -0.907, -1.003, -0.395, -0.427, 0.744, -0.399, -0.197, -1.218, 1.645, 0.507, 1.789, 0.797, 1.49])], attrs: {kernel_shape: [3, 2], strides: [2, 1], pads: [1, 1, 1, 0]}, want: T("float32", [2, 3, 3, 4], [0.983, 0.983, 2.829, 2.829, 1.818, 1.818, 2.829, 2.829, 1.555, 1.555, 0.092, 0.092, -0.045, 1.209, 1.931, 1.931, 0.91, 1.633, 1.633, 0.226, 0.117, 1.633, 1.633, 1.455, 2.362, 2.362, 0.801, 0.705, 0.607, 0.801, 0.801, 0.291, 0.101, 0.453, 0.453, -0.145, -0.349, 1.465, 1.706, 1.706, -0.349, 1.465, 2.651, 2.651, -1.032, 0.169, 0.468, 0.468, 1.199, 1.199, 2.349, 2.349, 0.259, 0.531, 0.531, 1.329, 0.652, 0.652, -0.487, 0.754, -0.035, 1.028, 2.655, 2.655, -0.035, -0.035, -0.172, 1.645, 0.507, 1.789, 1.789, 1.645]) },
  { name: "max_pool2d float64 dilated", op: "max_pool2d", inputs: [T("float64", [2, 3, 5, 4], [0.9829999804496765, 0.15000000596046448, -1.1610000133514404, 0.6269999742507935, -0.7149999737739563, -2.5230000019073486, 2.8289999961853027, 0.7080000042915344, 1.8179999589920044, -0.9120000004768372, 1.468000054359436, 1.590000033378601, 1.5549999475479126, -0.020999999716877937, -1.2020000219345093, -0.1770000010728836, -2.203000068664551, -1.7020000219345093, 0.09200000017881393, -0.9909999966621399, -0.164000004529953, -0.10899999737739563, 1.930999994277954, 1.2979999780654907, -0.04500000178813934, 1.2089999914169312, -0.7799999713897705, -0.3370000123977661, 0.9100000262260437, -1.2419999837875366, -0.27900001406669617, -1.3209999799728394, 0.11699999868869781, 1.6330000162124634, -0.7519999742507935, 0.22599999606609344, -0.8970000147819519, -1.149999976158142, -1.2359999418258667, 1.4550000429153442, 2.361999988555908, 0.4830000102519989, -0.7160000205039978, 0.7049999833106995, -0.33399999141693115, 0.8009999990463257, 0.29100000858306885, 0.2800000011920929, 0.6069999933242798, -0.5789999961853027, -0.40400001406669617, -1.7209999561309814, -0.44200000166893005, -1.4220000505447388, -0.14499999582767487, -0.9580000042915344, 0.10100000351667404, 0.453000009059906, -1.4199999570846558, -0.8130000233650208, -0.9430000185966492, 0.7459999918937683, 1.7059999704360962, 0.8519999980926514, -0.3490000069141388, 1.465000033378601, -1.5140000581741333, 1.4989999532699585, -0.656000018119812, -2.7799999713897705, 2.6510000228881836, 1.5779999494552612, -1.031999945640564, 0.16899999976158142, -0.21400000154972076, 0.10199999809265137, -1.4830000400543213, -0.6809999942779541, 0.46799999475479126, 0.22300000488758087, 1.1990000009536743, 0.07999999821186066, 2.3489999771118164, -0.7160000205039978, 0.2590000033378601, -1.9160000085830688, -1.253000020980835, 1.3289999961853027, -0.9430000185966492, 0.531000018119812, -0.06199999898672104, -1.0449999570846558, -0.3479999899864197, -0.5139999985694885, -0.4869999885559082, 0.7540000081062317, 0.6520000100135803, -0.5770000219345093, -0.9070000052452087, 0.28200000524520874, -0.10000000149011612, 1.027999997138977, 2.6549999713897705, 0.8429999947547913, -0.03500000014901161, -0.1720000058412552, -0.8569999933242798, -0.9070000052452087, -1.003000020980835, -0.39500001072883606, -0.4269999861717224, 0.7440000176429749, -0.39899998903274536, -0.19699999690055847, -1.218000054359436, 1.6449999809265137, 0.5070000290870667, 1.7890000343322754, 0.796999990940094, 1.4900000095367432])], attrs: {kernel_shape: [2, 2], dilations: [2, 1], strides: [1, 2]}, want: T("float64", [2, 3, 3, 2], [1.8179999589920044, 1.590000033378601, 1.5549999475479126, 2.8289999961853027, 1.8179999589920044, 1.590000033378601, 0.9100000262260437, 1.930999994277954, 1.6330000162124634, 0.22599999606609344, 0.9100000262260437, 1.4550000429153442, 2.361999988555908, 0.7049999833106995, 0.8009999990463257, 0.29100000858306885, 0.6069999933242798, -0.40400001406669617, 0.7459999918937683, 2.6510000228881836, 1.465000033378601, 1.4989999532699585, -0.656000018119812, 2.6510000228881836, 1.1990000009536743, 2.3489999771118164, 0.2590000033378601, 1.3289999961853027, 0.6520000100135803, 0.28200000524520874, 1.027999997138977, 2.6549999713897705, -0.03500000014901161, 1.6449999809265137, 1.7890000343322754, 1.4900000095367432]) },
  { name: "max_pool2d all-padding window -> -inf", op: "max_pool2d", inputs: [T("float32", [1, 1, 1, 1], [-1e+30])], attrs: {kernel_shape: [1, 1], pads: [1, 0, 1, 2]}, want: T("float32", [1, 1, 3, 3], [-Infinity, -Infinity, -Infinity, -1e+30, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity]) },
  { name: "max_pool2d -inf only", op: "max_pool2d", inputs: [T("float32", [1, 1, 2, 2], [-Infinity, -Infinity, -Infinity, -Infinity])], attrs: {kernel_shape: [2, 2], pads: [1, 1, 0, 0], strides: [1, 1]}, want: T("float32", [1, 1, 2, 2], [-Infinity, -Infinity, -Infinity, -Infinity]) },
  { name: "max_pool2d zero-size", op: "max_pool2d", inputs: [T("float32", [0, 2, 3, 3], [])], attrs: {kernel_shape: [2, 2]}, want: T("float32", [0, 2, 1, 1], []) },
  { name: "avg_pool2d float32 include pad", op: "avg_pool2d", inputs: [T("float32", [2, 3, 5, 4], [0.983, 0.15, -1.161, 0.627, -0.715, -2.523, 2.829, 0.708, 1.818, -0.912, 1.468, 1.59, 1.555, -0.021, -1.202, -0.177, -2.203, -1.702, 0.092, -0.991, -0.164, -0.109, 1.931, 1.298, -0.045, 1.209, -0.78, -0.337, 0.91, -1.242, -0.279, -1.321, 0.117, 1.633, -0.752, 0.226, -0.897, -1.15, -1.236, 1.455, 2.362, 0.483, -0.716, 0.705, -0.334, 0.801, 0.291, 0.28, 0.607, -0.579, -0.404, -1.721, -0.442, -1.422, -0.145, -0.958, 0.101, 0.453, -1.42, -0.813, -0.943, 0.746, 1.706, 0.852, -0.349, 1.465, -1.514, 1.499, -0.656, -2.78, 2.651, 1.578, -1.032, 0.169, -0.214, 0.102, -1.483, -0.681, 0.468, 0.223, 1.199, 0.08, 2.349, -0.716, 0.259, -1.916, -1.253, 1.329, -0.943, 0.531, -0.062, -1.045, -0.348, -0.514, -0.487, 0.754, 0.652, -0.577, -0.907, 0.282, -0.1, 1.028, 2.655, 0.843, -0.035, -0.172, -0.857, -0.907, -1.003, -0.395, -0.427, 0.744, -0.399, -0.197, -1.218, 1.645, 0.507, 1.789, 0.797, 1.49])], attrs: {kernel_shape: [3, 2], strides: [2, 1], pads: [1, 1, 1, 0]}, want: T("float32", [2, 3, 3, 4], [0.044666667, -0.35083333, -0.11750001, 0.50049996, 0.443, -0.13300002, -0.06016667, 0.8693333, -0.10800002, -0.39516672, -0.4721667, -0.3796667, -0.034833334, 0.14850001, 0.37516665, 0.352, 0.16366667, 0.43033335, -0.035166662, -0.5405, -0.13000001, -0.04949999, -0.2508333, -0.051166642, 0.33799997, 0.552, 0.14316666, 0.09333333, -0.028166667, -0.22816668, -0.24300002, -0.44283333, -0.05683333, -0.21833335, -0.42233333, -0.556, -0.21533334, 0.15316667, 0.40049997, 0.42383334, -0.33949998, -0.53049994, -0.037166663, 0.68366665, -0.41916665, -0.5045, -0.043, 0.0965, 0.24299999, -0.063, -0.12333337, 0.2848333, -0.172, -0.4885, -0.6168333, -0.12733333, 0.05066667, -0.13116667, -0.41416666, -0.059666663, -0.0225, 0.12016666, 0.44233334, 0.289, -0.2395, -0.36683333, -0.5443334, -0.17, 0.018000007, 0.28333333, 0.19516665, 0.4523333]) },
  { name: "avg_pool2d float32 exclude pad", op: "avg_pool2d", inputs: [T("float32", [2, 3, 5, 4], [0.983, 0.15, -1.161, 0.627, -0.715, -2.523, 2.829, 0.708, 1.818, -0.912, 1.468, 1.59, 1.555, -0.021, -1.202, -0.177, -2.203, -1.702, 0.092, -0.991, -0.164, -0.109, 1.931, 1.298, -0.045, 1.209, -0.78, -0.337, 0.91, -1.242, -0.279, -1.321, 0.117, 1.633, -0.752, 0.226, -0.897, -1.15, -1.236, 1.455, 2.362, 0.483, -0.716, 0.705, -0.334, 0.801, 0.291, 0.28, 0.607, -0.579, -0.404, -1.721, -0.442, -1.422, -0.145, -0.958, 0.101, 0.453, -1.42, -0.813, -0.943, 0.746, 1.706, 0.852, -0.349, 1.465, -1.514, 1.499, -0.656, -2.78, 2.651, 1.578, -1.032, 0.169, -0.214, 0.102, -1.483, -0.681, 0.468, 0.223, 1.199, 0.08, 2.349, -0.716, 0.259, -1.916, -1.253, 1.329, -0.943, 0.531, -0.062, -1.045, -0.348, -0.514, -0.487, 0.754, 0.652, -0.577, -0.907, 0.282, -0.1, 1.028, 2.655, 0.843, -0.035, -0.172, -0.857, -0.907, -1.003, -0.395, -0.427, 0.744, -0.399, -0.197, -1.218, 1.645, 0.507, 1.789, 0.797, 1.49])], attrs: {kernel_shape: [3, 2], strides: [2, 1], pads: [1, 1, 1, 0], count_include_pad: false}, want: T("float32", [2, 3, 3, 4], [0.134, -0.52625, -0.17625001, 0.75074995, 0.886, -0.13300002, -0.06016667, 0.8693333, -0.32400006, -0.5927501, -0.70825005, -0.5695, -0.1045, 0.22275001, 0.56275, 0.528, 0.32733333, 0.43033335, -0.035166662, -0.5405, -0.39000002, -0.07424998, -0.37624997, -0.076749966, 1.0139999, 0.828, 0.21474999, 0.13999999, -0.056333333, -0.22816668, -0.24300002, -0.44283333, -0.1705, -0.32750002, -0.6335, -0.834, -0.646, 0.22975, 0.60074997, 0.63575, -0.67899996, -0.53049994, -0.037166663, 0.68366665, -1.2574999, -0.75675, -0.064500004, 0.14475, 0.729, -0.094500005, -0.18500006, 0.42724997, -0.344, -0.4885, -0.6168333, -0.12733333, 0.15200001, -0.19675, -0.62125, -0.089499995, -0.0675, 0.18024999, 0.6635, 0.4335, -0.479, -0.36683333, -0.5443334, -0.17, 0.05400002, 0.425, 0.29274997, 0.67849994]) },
  { name: "avg_pool2d float64 default stride", op: "avg_pool2d", inputs: [T("float64", [2, 3, 5, 4], [0.9829999804496765, 0.15000000596046448, -1.1610000133514404, 0.6269999742507935, -0.7149999737739563, -2.5230000019073486, 2.8289999961853027, 0.7080000042915344, 1.8179999589920044, -0.9120000004768372, 1.468000054359436, 1.590000033378601, 1.5549999475479126, -0.020999999716877937, -1.2020000219345093, -0.1770000010728836, -2.203000068664551, -1.7020000219345093, 0.09200000017881393, -0.9909999966621399, -0.164000004529953, -0.10899999737739563, 1.930999994277954, 1.2979999780654907, -0.04500000178813934, 1.2089999914169312, -0.7799999713897705, -0.3370000123977661, 0.9100000262260437, -1.2419999837875366, -0.27900001406669617, -1.3209999799728394, 0.11699999868869781, 1.6330000162124634, -0.7519999742507935, 0.22599999606609344, -0.8970000147819519, -1.149999976158142, -1.2359999418258667, 1.4550000429153442, 2.361999988555908, 0.4830000102519989, -0.7160000205039978, 0.7049999833106995, -0.33399999141693115, 0.8009999990463257, 0.29100000858306885, 0.2800000011920929, 0.6069999933242798, -0.5789999961853027, -0.40400001406669617, -1.7209999561309814, -0.44200000166893005, -1.4220000505447388, -0.14499999582767487, -0.9580000042915344, 0.10100000351667404, 0.453000009059906, -1.4199999570846558, -0.8130000233650208, -0.9430000185966492, 0.7459999918937683, 1.7059999704360962, 0.8519999980926514, -0.3490000069141388, 1.465000033378601, -1.5140000581741333, 1.4989999532699585, -0.656000018119812, -2.7799999713897705, 2.6510000228881836, 1.5779999494552612, -1.031999945640564, 0.16899999976158142, -0.21400000154972076, 0.10199999809265137, -1.4830000400543213, -0.6809999942779541, 0.46799999475479126, 0.22300000488758087, 1.1990000009536743, 0.07999999821186066, 2.3489999771118164, -0.7160000205039978, 0.2590000033378601, -1.9160000085830688, -1.253000020980835, 1.3289999961853027, -0.9430000185966492, 0.531000018119812, -0.06199999898672104, -1.0449999570846558, -0.3479999899864197, -0.5139999985694885, -0.4869999885559082, 0.7540000081062317, 0.6520000100135803, -0.5770000219345093, -0.9070000052452087, 0.28200000524520874, -0.10000000149011612, 1.027999997138977, 2.6549999713897705, 0.8429999947547913, -0.03500000014901161, -0.1720000058412552, -0.8569999933242798, -0.9070000052452087, -1.003000020980835, -0.39500001072883606, -0.4269999861717224, 0.7440000176429749, -0.39899998903274536, -0.19699999690055847, -1.218000054359436, 1.6449999809265137, 0.5070000290870667, 1.7890000343322754, 0.796999990940094, 1.4900000095367432])], attrs: {kernel_shape: [2, 2]}, want: T("float64", [2, 3, 2, 2], [-0.526249997317791, 0.7507499903440475, 0.6099999765865505, 0.41975001618266106, 0.2227499969303608, 0.527999997138977, 0.35450001433491707, -0.5314999930560589, 0.8280000016093254, 0.13999999314546585, -0.45900001376867294, -0.8069999925792217, 0.22974999994039536, 0.6357499659061432, -1.0747499838471413, 1.0292499922215939, -0.09450000151991844, 0.4272499829530716, -0.31849999725818634, -0.20999998413026333, 0.18024999741464853, 0.4334999918937683, -0.4985000044107437, 0.18599998950958252]) },
  { name: "avg_pool2d NaN inf", op: "avg_pool2d", inputs: [T("float32", [1, 1, 4, 4], [1.0, NaN, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0, -Infinity, 10.0, 11.0, -0, 13.0, 14.0, 15.0, 16.0])], attrs: {kernel_shape: [2, 2], strides: [1, 1]}, want: T("float32", [1, 1, 3, 3], [NaN, NaN, 2.0, -Infinity, 5.0, 3.0, -Infinity, 12.5, 10.5]) },
  { name: "avg_pool2d all-padding window, exclude pad -> NaN", op: "avg_pool2d", inputs: [T("float32", [1, 1, 1, 1], [2.0])], attrs: {kernel_shape: [1, 1], pads: [1, 0, 0, 1], count_include_pad: false}, want: T("float32", [1, 1, 2, 2], [NaN, NaN, 2.0, NaN]) },
  { name: "avg_pool2d all-padding window, include pad -> 0", op: "avg_pool2d", inputs: [T("float64", [1, 1, 1, 1], [2.0])], attrs: {kernel_shape: [1, 1], pads: [1, 0, 0, 1]}, want: T("float64", [1, 1, 2, 2], [0, 0, 2.0, 0]) },
  { name: "max_pool2d rank", op: "max_pool2d", inputs: [T("float32", [1, 4, 3], [-0.248, 0.717, 2.706, -1.224, 1.176, 1.698, 0.421, 0.765, 1.28, -0.67, 0.417, -0.888])], attrs: {kernel_shape: [2, 2]}, throws: "E_SHAPE" },
  { name: "max_pool2d window too large", op: "max_pool2d", inputs: [T("float32", [1, 1, 3, 3], [-0.691, -0.632, -0.146, 0.15, 0.463, -1.451, 2.027, 1.184, 0.744])], attrs: {kernel_shape: [4, 2]}, throws: "E_SHAPE" },
  { name: "avg_pool2d window too large", op: "avg_pool2d", inputs: [T("float32", [1, 1, 3, 3], [-0.367, -0.091, 0.561, 0.421, -1.721, 0.759, 2.988, -1.893, 1.02])], attrs: {kernel_shape: [2, 4]}, throws: "E_SHAPE" },
];

runCases(CASES);

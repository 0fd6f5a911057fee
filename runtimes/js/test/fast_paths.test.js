// fast_paths.test.js — the speed paths of the runtime against independent computations:
//   - the relaxed-SIMD (FMA) GEMM and the plain-SIMD one, each in its own Node process
//     (node.js turns relaxed SIMD on where V8 has it behind a flag; JAG_WASM_RELAXED_SIMD=0
//     leaves it off), both within the "accumulate" class of a double-precision product;
//   - model.js's buffer pool: repeated runs with changing shapes give the values computed
//     here step by step in float32, results already returned are never overwritten, buffers
//     are really reused, and a kernel without `overwrites` gets zeroed outputs;
//   - `overwrites: true` kernels write every element (garbage-filled outputs give the same
//     results as zeroed ones);
//   - the WebAssembly SIMD binary ops (add/subtract/multiply/divide, with row broadcasts on
//     either side) bit for bit against Float32Array arithmetic, and layer_norm's wasm path
//     against float32 steps with double sums and a float64 reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadModel, KERNELS } from "../src/index.js";
import { GEMM_PATHS, binaryF32Wasm, layerNormF32Wasm } from "../src/kernels/linalg.js";
import { TOLERANCE_CLASSES } from "../src/ops_table.js";
import { T, runOp, withDefaults } from "./harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(here, "..", "src");
const fr = Math.fround;

/** Deterministic pseudo-random values in [-1, 1) (a small LCG). */
function values(n, seed) {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

// ---------------------------------------------------------------- FMA and plain SIMD GEMM

const [GM, GK, GN] = [70, 300, 45];

/** One Node process: import node.js (relaxed SIMD on unless JAG_WASM_RELAXED_SIMD=0), the wasm GEMM on seeded operands. */
function gemmInChild(env) {
  const code = `
    import { hasRelaxedSimd } from ${JSON.stringify(pathToFileURL(path.join(SRC, "wasm_features_node.js")).href)};
    const engine = hasRelaxedSimd(); // after the flag (if any) was set, before linalg.js compiles
    await import(${JSON.stringify(pathToFileURL(path.join(SRC, "node.js")).href)});
    const { GEMM_PATHS, GEMM_WASM_FMA } = await import(${JSON.stringify(pathToFileURL(path.join(SRC, "kernels", "linalg.js")).href)});
    const [M, K, N] = [${GM}, ${GK}, ${GN}];
    const values = ${values.toString()};
    const A = Float32Array.from(values(M * K, 1)), B = Float32Array.from(values(K * N, 2)), C = new Float32Array(M * N);
    GEMM_PATHS.wasm(M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N);
    process.stdout.write(JSON.stringify({ engine, fma: GEMM_WASM_FMA, c: Array.from(C) }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("the relaxed-SIMD (FMA) and plain-SIMD wasm GEMMs agree with a double product within 'accumulate'", { skip: !GEMM_PATHS.wasm }, () => {
  const fma = gemmInChild({ JAG_WASM_RELAXED_SIMD: "1" }), plain = gemmInChild({ JAG_WASM_RELAXED_SIMD: "0" });
  const v8Major = Number(process.versions.v8.split(".")[0]);
  // node.js enables relaxed SIMD on every V8 >= 11 (flag on 11.3 = Node 20, default from 11.4)
  if (v8Major >= 11) assert.equal(fma.fma, true, "node.js did not enable the relaxed-SIMD GEMM");
  assert.equal(plain.fma, plain.engine, "JAG_WASM_RELAXED_SIMD=0: FMA only where the engine has relaxed SIMD by default");
  const A = values(GM * GK, 1).map(fr), B = values(GK * GN, 2).map(fr);
  const { rtol, atol } = TOLERANCE_CLASSES.accumulate.float32;
  for (const [what, got] of [["fma", fma.c], ["plain", plain.c]])
    for (let i = 0; i < GM; i++)
      for (let j = 0; j < GN; j++) {
        let s = 0;
        for (let k = 0; k < GK; k++) s += A[i * GK + k] * B[k * GN + j];
        const g = got[i * GN + j];
        if (!(Math.abs(g - s) <= atol + rtol * Math.abs(s))) assert.fail(`${what} C[${i},${j}] = ${g}, expected ${s}`);
      }
  if (fma.fma !== plain.fma) // the two variants are different code: fused products round differently somewhere
    assert.ok(fma.c.some((v, i) => v !== plain.c[i]), "the FMA and plain GEMMs gave bit-identical results");
});

// ---------------------------------------------------------------- buffer pool

/** y = (x*x + x) padded by nothing, minus x; z = x*x + x. Float32 [N, 8]. */
const poolDoc = {
  format: "jag", version: "1.0", opset: 1,
  inputs: [{ name: "x", dtype: "float32", shape: ["N", 8] }],
  outputs: [{ name: "y", dtype: "float32", shape: ["N", 8] }, { name: "z", dtype: "float32", shape: ["N", 8] }],
  nodes: [
    { op: "multiply", inputs: ["x", "x"], outputs: ["t1"] },
    { op: "add", inputs: ["t1", "x"], outputs: ["z"] },
    { op: "multiply", inputs: ["z", "x"], outputs: ["t2"] },       // dead after the next node: its buffer is free for pad
    { op: "add", inputs: ["t2", "z"], outputs: ["t3"] },
    { op: "pad", inputs: ["z"], outputs: ["t4"], attrs: { pads: [0, 0, 0, 0] } },
    { op: "subtract", inputs: ["t4", "x"], outputs: ["y"] },
    { op: "neg", inputs: ["t3"], outputs: ["unused"] },             // an output nobody reads
  ],
};

function poolExpect(x) {
  const z = x.map((v) => fr(fr(v * v) + v));
  return { z, y: z.map((v, i) => fr(v - x[i])) };
}

/** Wrap kernel `op`'s run for the duration of fn: seen(outs, ins) before each call. */
function spy(op, seen, fn) {
  const k = KERNELS.get(op), run = k.run;
  k.run = function (ins, attrs, outs) { seen(outs, ins); return run.call(this, ins, attrs, outs); };
  try { return fn(); } finally { k.run = run; }
}

test("buffer reuse: repeated runs with changing shapes, results kept by the caller never overwritten", () => {
  const m = loadModel(poolDoc, { file: "pool.json" });
  const held = [];
  let n = 0;
  for (const N of [3, 3, 5, 1, 5, 3, 64, 3]) {
    const x = Float32Array.from(values(N * 8, 10 + n++).map((v) => v * 4));
    const out = m.run({ x: { dtype: "float32", shape: [N, 8], data: x } });
    const want = poolExpect(Array.from(x));
    assert.deepEqual(Array.from(out.y.data), want.y, `run ${n} (N = ${N}): y`);
    assert.deepEqual(Array.from(out.z.data), want.z, `run ${n} (N = ${N}): z`);
    assert.notEqual(out.y.data, out.z.data);
    held.push([out, want]);
  }
  held.forEach(([out, want], i) => {
    assert.deepEqual(Array.from(out.y.data), want.y, `result ${i + 1} changed by a later run`);
    assert.deepEqual(Array.from(out.z.data), want.z, `result ${i + 1} changed by a later run`);
  });
  const arrays = held.flatMap(([o]) => [o.y.data, o.z.data]);
  assert.equal(new Set(arrays).size, arrays.length, "two results share an array");
});

test("buffer reuse: intermediates are recycled across runs; a kernel without 'overwrites' gets zeroed outputs", () => {
  assert.equal(KERNELS.get("pad").overwrites, undefined, "pad is the kernel without 'overwrites' this test relies on");
  const m = loadModel(poolDoc, { file: "pool.json" });
  const x = { dtype: "float32", shape: [4, 8], data: Float32Array.from(values(32, 7)) };
  const mulOuts = [], padOuts = [];
  spy("multiply", (outs) => mulOuts.push(outs[0].data), () => spy("pad", (outs) => {
    padOuts.push(outs[0].data);
    assert.ok(outs[0].data.every((v) => Object.is(v, 0)), "pad was handed a non-zeroed buffer");
  }, () => { m.run({ x }); m.run({ x }); }));
  // run 1 allocates; in run 2 the multiplies and pad get buffers of run 1's intermediates
  const run1 = new Set([...mulOuts.slice(0, 2), padOuts[0]]);
  assert.ok(mulOuts.slice(2).every((d) => run1.has(d)), "run 2's multiply outputs are not recycled buffers");
  assert.ok(run1.has(padOuts[1]) || mulOuts.slice(2).includes(padOuts[1]), "run 2's pad output is not a recycled buffer");
  // pad's recycled buffer held dirty values before it was cleared: the model gives the right result anyway
  const want = poolExpect(Array.from(x.data));
  assert.deepEqual(Array.from(m.run({ x }).y.data), want.y);
});

test("kernels with 'overwrites: true' write every element (garbage-filled outputs, same results as zeroed ones)", () => {
  const x = T("float32", [3, 2, 8], values(48, 3).map((v) => v * 3)), w = T("float32", [8], values(8, 4)), b = T("float32", [8], values(8, 5));
  const mat = T("float32", [3, 8, 5], values(120, 6)), wl = T("float32", [6, 8], values(48, 8));
  const cases = [
    ["add", [x, T("float32", [2, 1], [1, 2])]], ["subtract", [x, w]], ["multiply", [w, x]], ["divide", [x, b]],
    ["neg", [x]], ["exp", [x]], ["gelu", [x]], ["softmax", [x], { axis: -1 }], ["log_softmax", [x], { axis: 1 }],
    ["layer_norm", [x, w, b], { axis: -1 }], ["matmul", [x, mat]], ["linear", [x, wl]], ["reshape", [x], { shape: [6, 8] }],
    ["transpose", [x], { perm: [2, 0, 1] }],
  ];
  for (const [op, ins, attrs = {}] of cases) {
    const k = KERNELS.get(op), a = withDefaults(op, attrs);
    assert.equal(k.overwrites, true, `${op} is not marked overwrites`);
    const garbage = runOp(op, ins, attrs); // harness.runOp fills the output with 77s first
    const [shape] = k.prepare(ins.map((t) => ({ dtype: t.dtype, shape: [...t.shape] })), a);
    const clean = { dtype: garbage.dtype, shape, data: new Float32Array(garbage.data.length) };
    k.run(ins, a, [clean]);
    for (let i = 0; i < clean.data.length; i++)
      if (!Object.is(garbage.data[i], clean.data[i])) assert.fail(`${op}: element ${i} is ${garbage.data[i]} on garbage, ${clean.data[i]} on zeros`);
  }
});

// ---------------------------------------------------------------- wasm binary ops and layer_norm

const OPS_JS = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b };

test("wasm float32 add/sub/mul/div rows, broadcast on either side, bit for bit as Float32Array arithmetic", { skip: !GEMM_PATHS.wasm }, () => {
  const n = 12, rows = 7;
  const a = Float32Array.from(values(n * rows + 5, 21).map((v, i) => (i % 11 === 0 ? 0 : v * 1e3)));
  const b = Float32Array.from(values(n * rows + 9, 22).map((v, i) => (i % 13 === 0 ? -0 : v)));
  a[7] = NaN; b[3] = Infinity; a[20] = -Infinity;
  for (const op of Object.keys(OPS_JS))
    for (const [astep, bstep] of [[n, n], [0, n], [n, 0], [0, 0]]) {
      const y = new Float32Array(n * rows + 3).fill(5), want = Float32Array.from(y);
      const ia = 5, ib = 9, iy = 3;
      assert.ok(binaryF32Wasm(op, n, rows, a, ia, astep, b, ib, bstep, y, iy));
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < n; i++) want[iy + r * n + i] = OPS_JS[op](a[ia + r * astep + i], b[ib + r * bstep + i]);
      for (let i = 0; i < y.length; i++)
        if (!(Object.is(y[i], want[i]) || (y[i] !== y[i] && want[i] !== want[i])))
          assert.fail(`${op} astep ${astep} bstep ${bstep}: y[${i}] = ${y[i]}, expected ${want[i]}`);
    }
  assert.equal(binaryF32Wasm("add", 6, 1, a, 0, 0, b, 0, 0, new Float32Array(6), 0), false, "a row length not a multiple of 4 is refused");
});

test("broadcast binary ops through the kernels (attention-mask shapes, a on the broadcast side) equal the JS rows", () => {
  const scores = T("float32", [2, 3, 4, 8], values(192, 31)), mask = T("float32", [2, 1, 1, 8], values(16, 32));
  const row = T("float32", [8], values(8, 33)), mat = T("float32", [5, 8], values(40, 34));
  for (const [op, f] of [["add", OPS_JS.add], ["subtract", OPS_JS.sub], ["multiply", OPS_JS.mul], ["divide", OPS_JS.div]])
    for (const [A, B] of [[scores, mask], [mask, scores], [row, mat], [mat, row], [mat, mat]]) {
      const y = runOp(op, [A, B]);
      const shape = y.shape, nd = shape.length, idx = (t, flat) => {
        let o = 0, s = 1;
        for (let d = nd - 1, rem = flat; d >= 0; d--) {
          const td = d - (nd - t.shape.length), i = rem % shape[d];
          rem = Math.floor(rem / shape[d]);
          if (td >= 0) { if (t.shape[td] !== 1) o += i * s; s *= t.shape[td]; }
        }
        return o;
      };
      for (let i = 0; i < y.data.length; i++) {
        const want = fr(f(A.data[idx(A, i)], B.data[idx(B, i)]));
        if (!Object.is(y.data[i], want)) assert.fail(`${op} ${A.shape} ${B.shape}: element ${i} is ${y.data[i]}, expected ${want}`);
      }
    }
});

test("wasm layer_norm: float32 steps with double sums, within 'accumulate' of float64, weight/bias absent or present", { skip: !GEMM_PATHS.wasm }, () => {
  const rows = 9, n = 36, eps = 1e-5;
  const x = Float32Array.from(values(rows * n, 41).map((v, i) => v * 10 + (i % n === 0 ? 100 : 0)));
  x[n + 1] = -0;
  const w = Float32Array.from(values(n, 42)), b = Float32Array.from(values(n, 43));
  const { rtol, atol } = TOLERANCE_CLASSES.accumulate.float32;
  for (const [W, B] of [[w, b], [null, null], [w, null], [null, b]]) {
    const y = new Float32Array(rows * n).fill(9);
    assert.ok(layerNormF32Wasm(x, W, B, y, rows, n, eps));
    let exact = 0;
    for (let r = 0; r < rows; r++) {
      const xs = Array.from(x.subarray(r * n, (r + 1) * n));
      // float32 steps (sums in double, in order) and the float64 reference
      const mean = fr(fr(xs.reduce((s, v) => s + v, 0)) / n);
      const den = fr(Math.sqrt(fr(fr(fr(xs.reduce((s, v) => s + fr(fr(v - mean) ** 2), 0)) / n) + fr(eps))));
      const m64 = xs.reduce((s, v) => s + v, 0) / n, d64 = Math.sqrt(xs.reduce((s, v) => s + (v - m64) ** 2, 0) / n + eps);
      xs.forEach((v, i) => {
        let t = fr(fr(v - mean) / den);
        if (W) t = fr(t * W[i]);
        if (B) t = fr(t + B[i]);
        const ref = ((v - m64) / d64) * (W ? W[i] : 1) + (B ? B[i] : 0), got = y[r * n + i];
        if (!(Math.abs(got - ref) <= atol + rtol * Math.abs(ref))) assert.fail(`row ${r} col ${i}: ${got}, float64 ${ref}`);
        if (Object.is(got, t)) exact++;
      });
    }
    assert.ok(exact >= rows * n - 2, `only ${exact} of ${rows * n} equal to the float32 steps`);
  }
  assert.equal(layerNormF32Wasm(x, null, null, new Float32Array(rows * 6), rows, 6, eps), false, "n not a multiple of 4 is refused");
});

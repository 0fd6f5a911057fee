// Runtime behaviour: loading, validation errors, dtypes, int64 beyond 2^53, the kernel
// registry, the Node adapter and the CLI. Op semantics are covered by
// the conformance suite (conformance/: every case of its corpus, in one Node process).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadModel, JagError, register, KERNELS, OPS } from "../src/index.js";
import { loadModelFromFile, writeTensorsFile, readTensorsFile } from "../src/node.js";
import { MISSING_KERNELS } from "../src/kernels/index.js";
import { sha256Hex } from "../src/sha256.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.join(here, "..", "..", "..", "spec", "examples", "v1.0");

const doc = (over = {}) => ({
  format: "jag", version: "1.0", opset: 1,
  inputs: [{ name: "x", dtype: "int64", shape: ["N"] }],
  outputs: [{ name: "y", dtype: "int64", shape: ["N"] }],
  tensors: [{ name: "w", dtype: "int64", shape: [], base64: "AQAAAAAAAAA=" }],   // 1
  nodes: [{ op: "add", inputs: ["x", "w"], outputs: ["y"], name: "plus" }],
  ...over,
});

function throwsCode(fn, code, text) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof JagError, `not a JagError: ${e}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.startsWith(`[${code}] `), e.message);
    if (text) assert.ok(e.message.includes(text), `'${text}' not in ${e.message}`);
    return true;
  });
}

test("every op of the spec has a kernel", () => {
  assert.deepEqual(MISSING_KERNELS, []);
  assert.equal(KERNELS.size, OPS.size);
});

test("the registry refuses a double registration and unknown ops", () => {
  throwsCode(() => register("add", { prepare() {}, run() {} }), "E_INTERNAL", "twice");
  throwsCode(() => register("fft", { prepare() {}, run() {} }), "E_UNKNOWN_OP", "fft");
});

test("int64 is exact beyond 2^53 and symbolic dims rebind", () => {
  const m = loadModel(JSON.stringify(doc()), { file: "m.json" });
  const big = 2n ** 62n + 3n;
  const out = m.run({ x: { dtype: "int64", shape: [3], data: BigInt64Array.from([big, -(2n ** 63n), 2n ** 63n - 1n]) } });
  assert.deepEqual([...out.y.data], [big + 1n, -(2n ** 63n) + 1n, -(2n ** 63n)]);   // wraps like numpy
  const out2 = m.run([{ dtype: "int64", shape: [1], data: BigInt64Array.from([5n]) }]);
  assert.deepEqual(out2.y.shape, [1]);
  assert.equal(out2.y.data[0], 6n);
});

test("inputs are checked: dtype, TypedArray kind, rank, size, bool bytes, names", () => {
  const m = loadModel(doc(), { file: "m.json" });
  const x = (o) => ({ x: { dtype: "int64", shape: [2], data: BigInt64Array.from([1n, 2n]), ...o } });
  throwsCode(() => m.run(x({ dtype: "int32" })), "E_INPUT", "dtype");
  throwsCode(() => m.run(x({ data: new Float64Array(2) })), "E_INPUT", "BigInt64Array");   // no silent narrowing
  throwsCode(() => m.run(x({ shape: [1, 2] })), "E_INPUT", "rank");
  throwsCode(() => m.run(x({ shape: [3] })), "E_INPUT", "elements");
  throwsCode(() => m.run({}), "E_INPUT", "missing");
  throwsCode(() => m.run({ ...x({}), z: 1 }), "E_INPUT", "unknown");
});

test("bad documents get the shared codes with context", () => {
  throwsCode(() => loadModel("{\"format\": \"jag\",\n \"version\" \"1.0\"}", { file: "m.json" }), "E_JSON", "line 2");
  throwsCode(() => loadModel("{\"a\": 1, \"a\": 2}"), "E_JSON", "duplicate");
  throwsCode(() => loadModel("[".repeat(100000)), "E_JSON");
  throwsCode(() => loadModel({ format: "onnx" }), "E_SCHEMA");
  throwsCode(() => loadModel(doc({ version: "2.0" })), "E_VERSION", "upgrade");
  throwsCode(() => loadModel(doc({ opset: 7 })), "E_VERSION");
  throwsCode(() => loadModel(doc({ extra: 1 })), "E_SCHEMA");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "fft", inputs: ["x"], outputs: ["y"] }] }), { file: "m.json" }), "E_UNKNOWN_OP", "node 0 (fft)");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "add", inputs: ["x"], outputs: ["y"] }] })), "E_ARITY");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "add", inputs: ["x", "w"], outputs: ["y"], attrs: { axis: 1 } }] })), "E_ATTR");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "exp", inputs: ["x"], outputs: ["y"] }] })), "E_DTYPE");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "add", inputs: ["x", "q"], outputs: ["y"] }] })), "E_GRAPH", "never defined");
  throwsCode(() => loadModel(doc({ nodes: [{ op: "add", inputs: ["x", "y"], outputs: ["y"] }] })), "E_GRAPH", "cycle");
  throwsCode(() => loadModel(doc({ inputs: [{ name: "x", dtype: "int64", shape: ["N//"] }] })), "E_SHAPE");
  throwsCode(() => loadModel(doc({ tensors: [{ name: "w", dtype: "int64", shape: [], base64: "AQ==" }] })), "E_TENSOR_DATA");
  throwsCode(() => loadModel(doc({ tensors: [{ name: "w", dtype: "int64", shape: [], file: "../w.bin", offset: 0, nbytes: 8 }],
    files: [{ path: "../w.bin", nbytes: 8, sha256: "0".repeat(64) }] })), "E_PATH");
  throwsCode(() => loadModel(doc({ tensors: [{ name: "w", dtype: "int64", shape: [], file: "w.bin", offset: 0, nbytes: 8 }],
    files: [{ path: "w.bin", nbytes: 8, sha256: "0".repeat(64) }] })), "E_FILE", "w.bin");
  // a static graph with a shape error fails at load
  throwsCode(() => loadModel(doc({ inputs: [{ name: "x", dtype: "int64", shape: [2] }], outputs: [{ name: "y", dtype: "int64", shape: [2] }],
    tensors: [{ name: "w", dtype: "int64", shape: [3], base64: "AQAAAAAAAAABAAAAAAAAAAEAAAAAAAAA" }] }), { file: "m.json" }), "E_SHAPE", "node 0 'plus' (add)");
});

test("sidecars: size and SHA-256 are checked", () => {
  const bytes = new Uint8Array(new BigInt64Array([7n]).buffer);
  const d = doc({ tensors: [{ name: "w", dtype: "int64", shape: [], file: "w.bin", offset: 0, nbytes: 8 }],
    files: [{ path: "w.bin", nbytes: 8, sha256: sha256Hex(bytes) }] });
  const m = loadModel(d, { weights: { "w.bin": bytes } });
  assert.equal(m.run({ x: { dtype: "int64", shape: [1], data: BigInt64Array.from([1n]) } }).y.data[0], 8n);
  const tampered = bytes.slice(); tampered[0] = 9;
  throwsCode(() => loadModel(d, { weights: { "w.bin": tampered } }), "E_TENSOR_DATA", "SHA-256");
  throwsCode(() => loadModel(d, { weights: { "w.bin": bytes.subarray(0, 4) } }), "E_TENSOR_DATA", "bytes");
});

test("Node adapter: a model with a sidecar, bundles written and read", () => {
  const m = loadModelFromFile(path.join(EXAMPLES, "mlp", "model.json"));
  const out = m.run({ x: { dtype: "float32", shape: [2, 3], data: Float32Array.from([1, 2, 3, -1, 0.5, 2]) } });
  assert.deepEqual([...Object.values(out)[0].data], [-0.5, 5, 0, 1.75]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jagjs-"));
  const p = path.join(dir, "t.bin");
  writeTensorsFile(p, { a: { dtype: "int64", shape: [2], data: BigInt64Array.from([2n ** 60n + 1n, -3n]) }, b: { dtype: "bool", shape: [], data: Uint8Array.from([1]) } });
  const back = readTensorsFile(p);
  assert.deepEqual([...back.get("a").data], [2n ** 60n + 1n, -3n]);
  assert.deepEqual(back.get("b").shape, []);
  throwsCode(() => loadModelFromFile(path.join(dir, "missing.json")), "E_FILE");
  fs.rmSync(dir, { recursive: true });
});

test("run.js: outputs, --check, and exit codes", () => {
  const run = (...args) => spawnSync(process.execPath, [path.join(here, "..", "run.js"), ...args], { encoding: "utf8" });
  let r = run();
  assert.equal(r.status, 2);
  r = run(path.join(EXAMPLES, "mlp", "model.json"));
  assert.equal(r.status, 4);
  assert.match(r.stderr, /x: float32\[N,3\]/);
  r = run("nope.json");
  assert.equal(r.status, 3);
  assert.match(r.stderr, /^run\.js: \[E_FILE\]/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jagjs-"));
  writeTensorsFile(path.join(dir, "in.bin"), { x: { dtype: "float32", shape: [1, 3], data: Float32Array.from([0, 0, 0]) } });
  r = run(path.join(EXAMPLES, "mlp", "model.json"), path.join(dir, "in.bin"), "-o", path.join(dir, "out.bin"), "--repeat", "3");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /t2: float32\[1,2\] = 0\.5 0/);
  assert.match(r.stdout, /time: median/);
  assert.deepEqual([...readTensorsFile(path.join(dir, "out.bin")).get("t2").data], [0.5, 0]);
  writeTensorsFile(path.join(dir, "bad.bin"), { x: { dtype: "float64", shape: [1, 3], data: new Float64Array(3) } });
  r = run(path.join(EXAMPLES, "mlp", "model.json"), path.join(dir, "bad.bin"));
  assert.equal(r.status, 4);
  assert.match(r.stderr, /\[E_INPUT\]/);
  writeTensorsFile(path.join(dir, "none.bin"), {});
  r = run(path.join(EXAMPLES, "mlp", "model.json"), path.join(dir, "none.bin"));
  assert.equal(r.status, 4);
  assert.match(r.stderr, /input 'x' is missing/);
  // an out-of-range gather index is a run failure (exit 5, E_INDEX)
  const g = doc({ inputs: [{ name: "x", dtype: "int64", shape: ["N"] }], outputs: [{ name: "y", dtype: "int64", shape: [] }],
    nodes: [{ op: "gather", inputs: ["x", "w"], outputs: ["y"] }] });
  fs.writeFileSync(path.join(dir, "g.json"), JSON.stringify(g));
  writeTensorsFile(path.join(dir, "g.bin"), { x: { dtype: "int64", shape: [1], data: BigInt64Array.from([5n]) } });
  r = run(path.join(dir, "g.json"), path.join(dir, "g.bin"));
  assert.equal(r.status, 5, r.stderr);
  assert.match(r.stderr, /^run\.js: \[E_INDEX\] .*node 0 \(gather\): index 1 is out of range for axis 0 of size 1/);
  fs.rmSync(dir, { recursive: true });
});

test("fuzzed model texts give JagErrors only, never a TypeError", () => {
  const base = JSON.stringify(doc({
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 3] }, { name: "i", dtype: "int64", shape: ["K"] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["K", 3] }],
    tensors: [{ name: "w", dtype: "float32", shape: [3], base64: "AACAPwAAAEAAAEBA" }],
    nodes: [{ op: "gather", inputs: ["x", "i"], outputs: ["g"], attrs: { axis: 0 } },
            { op: "multiply", inputs: ["g", "w"], outputs: ["m"] },
            { op: "softmax", inputs: ["m"], outputs: ["y"], attrs: { axis: -1 } }],
  }));
  let seed = 7;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const alphabet = '{}[]",:0123456789-eE. \\nax';
  const codes = new Map();
  for (let k = 0; k < 600; k++) {
    const chars = [...base];
    if (k < 100) chars.length = Math.floor((chars.length * k) / 100);
    else for (let j = 0; j <= rand(3); j++) chars[rand(chars.length)] = alphabet[rand(alphabet.length)];
    try {
      const m = loadModel(chars.join(""));
      m.run({ x: { dtype: "float32", shape: [4, 3], data: new Float32Array(12) }, i: { dtype: "int64", shape: [1], data: BigInt64Array.from([1n]) } });
      codes.set("ok", (codes.get("ok") ?? 0) + 1);
    } catch (e) {
      assert.ok(e instanceof JagError, `not a JagError: ${e?.stack ?? e}`);
      assert.notEqual(e.code, "E_INTERNAL", e.message);
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    }
  }
  assert.ok(codes.size >= 5, JSON.stringify([...codes]));
});

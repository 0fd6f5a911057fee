// bench.js — the JS runtime beside the C runtime, in one run (`npm run bench`).
//
// matmul float32 512³ (GFLOP/s) and the MLP 784-1024-1024-1024-10 (ReLU, softmax) at
// batch 1 and 64. Both runtimes run the SAME model.json (written here, weights in a
// sidecar): JS in this process, C through ../c/jagrun --repeat. Medians of N runs; the
// last column is C time over JS time (1/ratio = how many times slower JS is).
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadModelFromFile, writeTensorsFile } from "../src/node.js";
import { encodeBase64 } from "../src/base64.js";
import { sha256Hex } from "../src/sha256.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const C = path.join(here, "..", "..", "c");
const OUT = path.join(here, "out");
fs.mkdirSync(OUT, { recursive: true });

const make = spawnSync("make", ["-s", "-C", C, "jagrun"], { stdio: "inherit" });
if (make.status !== 0) process.exit(1);

// A seeded generator (mulberry32) for reproducible weights.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** Write model.json + model.bin for a chain of layers; returns the model path. */
function writeModel(name, batch, layers, softmax) {
  const r = rng(1);
  const tensors = [], nodes = [], chunks = [];
  let offset = 0, h = "x", t = 0;
  const add = (tname, shape, arr) => {
    const bytes = new Uint8Array(arr.buffer);
    const pad = (64 - (offset % 64)) % 64;
    if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
    tensors.push({ name: tname, dtype: "float32", shape, file: `${name}.bin`, offset, nbytes: bytes.length });
    chunks.push(bytes);
    offset += bytes.length;
  };
  layers.forEach(([i, o, relu, bias], k) => {
    add(`w${k}`, [i, o], Float32Array.from({ length: i * o }, () => r() * 2 / Math.sqrt(i)));
    nodes.push({ op: "matmul", inputs: [h, `w${k}`], outputs: [`t${t}`] }); h = `t${t++}`;
    if (bias) {
      add(`b${k}`, [o], Float32Array.from({ length: o }, () => r() * 0.2));
      nodes.push({ op: "add", inputs: [h, `b${k}`], outputs: [`t${t}`] }); h = `t${t++}`;
    }
    if (relu) { nodes.push({ op: "relu", inputs: [h], outputs: [`t${t}`] }); h = `t${t++}`; }
  });
  if (softmax) { nodes.push({ op: "softmax", inputs: [h], outputs: [`t${t}`], attrs: { axis: -1 } }); h = `t${t++}`; }
  const bin = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) { bin.set(c, o); o += c.length; }
  fs.writeFileSync(path.join(OUT, `${name}.bin`), bin);
  const outDim = layers[layers.length - 1][1];
  const doc = {
    format: "jag", version: "1.0", opset: 1, name,
    inputs: [{ name: "x", dtype: "float32", shape: [batch, layers[0][0]] }],
    outputs: [{ name: h, dtype: "float32", shape: [batch, outDim] }],
    tensors, files: [{ path: `${name}.bin`, nbytes: bin.length, sha256: sha256Hex(bin) }], nodes,
  };
  const file = path.join(OUT, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  const x = Float32Array.from({ length: batch * layers[0][0] }, rng(2));
  writeTensorsFile(path.join(OUT, `${name}-input.bin`), { x: { dtype: "float32", shape: [batch, layers[0][0]], data: x } });
  return { file, x, batch, inDim: layers[0][0] };
}

function medianJs(m, reps) {
  const inputs = { x: { dtype: "float32", shape: [m.batch, m.inDim], data: m.x } };
  const model = loadModelFromFile(m.file);
  for (let i = 0; i < 2; i++) model.run(inputs);
  const t = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    model.run(inputs);
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(reps / 2)];
}

function medianC(m, reps) {
  const name = path.basename(m.file, ".json");
  const r = spawnSync(path.join(C, "jagrun"), [m.file, path.join(OUT, `${name}-input.bin`), "--repeat", String(reps)], { encoding: "utf8" });
  const match = /time: median ([0-9.]+) ms/.exec(r.stdout);
  if (!match) throw new Error(`jagrun failed: ${r.stderr}`);
  return Number(match[1]);
}

const MLP = [[784, 1024, true, true], [1024, 1024, true, true], [1024, 1024, true, true], [1024, 10, false, true]];
const mlpFlops = (b) => 2 * b * MLP.reduce((s, [i, o]) => s + i * o, 0);
const benches = [
  ["matmul float32 512x512x512", writeModel("matmul512", 512, [[512, 512, false, false]], false), 2 * 512 ** 3, 15],
  ["MLP 784-1024-1024-1024-10 batch 1", writeModel("mlp1", 1, MLP, true), mlpFlops(1), 101],
  ["MLP 784-1024-1024-1024-10 batch 64", writeModel("mlp64", 64, MLP, true), mlpFlops(64), 21],
];

console.log(`node ${process.version}; JS runtime in-process, C runtime via ./jagrun --repeat; median of N runs`);
const head = `${"benchmark".padEnd(38)} ${"JS ms".padStart(10)} ${"C ms".padStart(10)} ${"JS GF/s".padStart(8)} ${"C GF/s".padStart(8)} ${"C/JS".padStart(6)}`;
console.log(head);
console.log("-".repeat(head.length));
for (const [name, m, flops, reps] of benches) {
  const js = medianJs(m, reps), c = medianC(m, reps);
  const gf = (ms) => (flops / (ms * 1e-3) / 1e9).toFixed(2);
  console.log(`${name.padEnd(38)} ${js.toFixed(3).padStart(10)} ${c.toFixed(3).padStart(10)} ${gf(js).padStart(8)} ${gf(c).padStart(8)} ${(c / js).toFixed(2).padStart(6)}`);
}

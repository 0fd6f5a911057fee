#!/usr/bin/env node
// run.js — run a JAG model with the JS runtime; the same behaviour and exit codes as ./jagrun.
//
//   node run.js model.json [input.bin] [-o output.bin] [--print] [--check] [--repeat N]
//   node run.js model.json init.bin --loop data.bin [-o output.bin]
//
// input.bin is a safetensors bundle, one tensor per graph input. Without it, the test data
// embedded in the model (metadata["jag.test"]) is run and checked; a graph with inputs and
// no test data fails, listing the inputs it needs. --loop runs a loop graph (metadata
// "jag.loop", as ./jagrun: init.bin the fed-back inputs, data.bin the others stacked over
// steps; the other scalar outputs printed at ten steps; -o the last step's outputs). Exit codes: 0 ok, 2 usage, 3 bad model,
// 4 bad input, 5 run failure, 6 --check mismatch; each failure prints one stderr line.
import { loadModelFromFile, readTensorsFile, writeTensorsFile, JagError, TOLERANCE_CLASSES, OPS } from "./src/node.js";
import { decodeBase64 } from "./src/base64.js";
import { ARRAY_TYPES, numel } from "./src/dtypes.js";

const EXIT = { usage: 2, model: 3, input: 4, run: 5, check: 6 };
const USAGE = `usage: node run.js model.json [input.bin] [-o output.bin] [--print] [--check] [--repeat N]
       node run.js model.json init.bin --loop data.bin [-o output.bin]
  input.bin     safetensors bundle, one tensor per graph input (by name);
                without it, the model's embedded test data is run and checked
  -o FILE       write the outputs as a safetensors bundle
  --print       print every output value (default: the first 8)
  --check       run the model's embedded test data and compare
  --repeat N    run N times and print the median time
  --loop DATA   run the model's loop (metadata jag.loop) over the steps of DATA
exit codes: 0 ok, 2 usage, 3 bad model, 4 bad input, 5 run failure, 6 check mismatch`;

function die(code, msg) {
  process.stderr.write(`run.js: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = { model: null, input: null, output: null, print: false, check: false, repeat: 0, loop: null };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === "-h" || s === "--help") { console.log(USAGE); process.exit(0); }
    else if (s === "-o" && i + 1 < argv.length) a.output = argv[++i];
    else if (s === "--print") a.print = true;
    else if (s === "--loop" && i + 1 < argv.length) a.loop = argv[++i];
    else if (s === "--check") a.check = true;
    else if (s === "--repeat" && i + 1 < argv.length) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 1e6) die(EXIT.usage, `--repeat needs a count from 1 to 1000000, got '${argv[i]}'`);
      a.repeat = n;
    } else if (s.startsWith("-") && s.length > 1) die(EXIT.usage, `unknown or incomplete option '${s}' (see --help)`);
    else if (!a.model) a.model = s;
    else if (!a.input) a.input = s;
    else die(EXIT.usage, `unexpected argument '${s}' (see --help)`);
  }
  if (!a.model) { process.stderr.write(USAGE + "\n"); process.exit(EXIT.usage); }
  return a;
}

/** A tensor of metadata["jag.test"] (the inline form of spec §6); a malformed one exits 3. */
function tensorFromEntry(t, where) {
  try {
    const data = new ARRAY_TYPES[t.dtype](numel(t.shape));
    const bytes = decodeBase64(t.base64);
    if (bytes.length !== data.byteLength) throw new Error(`${bytes.length} bytes for ${data.byteLength}`);
    new Uint8Array(data.buffer).set(bytes);
    return { dtype: t.dtype, shape: t.shape, data };
  } catch (e) {
    die(EXIT.model, `[E_TENSOR_DATA] metadata jag.test ${where} '${t?.name}': not a valid {name, dtype, shape, base64} tensor (${e.message})`);
  }
}

function fmt(t, all) {
  const n = t.data.length;
  const shown = all ? n : Math.min(n, 8);
  const vals = [];
  for (let i = 0; i < shown; i++) {
    const v = t.data[i];
    vals.push(t.dtype === "bool" ? (v ? "true" : "false") : t.dtype === "float32" ? String(Math.fround(v)) : String(v));
  }
  return `${t.dtype}[${t.shape.join(",")}] = ${vals.join(" ")}${shown < n ? ` ... (${n} values)` : ""}`;
}

function tolerance(model, dtype) {
  let rtol = 0, atol = 0;
  for (const n of model.nodes) {
    const c = TOLERANCE_CLASSES[OPS.get(n.op).tolerance][dtype];
    rtol = Math.max(rtol, c.rtol);
    atol = Math.max(atol, c.atol);
  }
  return [rtol, atol];
}

function compare(model, name, got, want) {
  if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) {
    console.log(`check ${name}: FAIL: got ${got.dtype}[${got.shape}], expected ${want.dtype}[${want.shape}]`);
    return false;
  }
  const float = got.dtype === "float32" || got.dtype === "float64";
  const [rtol, atol] = float ? tolerance(model, got.dtype) : [0, 0];
  let ok = true, maxAbs = 0;
  for (let i = 0; i < got.data.length; i++) {
    const x = got.data[i], y = want.data[i];
    if (x === y || (float && Number.isNaN(x) && Number.isNaN(y))) continue;
    const err = typeof x === "bigint" ? Math.abs(Number(x - y)) : Math.abs(x - y);
    maxAbs = Math.max(maxAbs, Number.isNaN(err) ? Infinity : err);
    if (!float || !(err <= atol + rtol * Math.abs(y))) ok = false;
  }
  console.log(`check ${name}: ${ok ? "ok" : "FAIL"} max abs error ${maxAbs.toPrecision(3)} (rtol ${rtol}, atol ${atol})`);
  return ok;
}

/** --loop: see the header comment. */
function runLoop(model, args) {
  const feedback = model.metadata?.["jag.loop"]?.feedback;
  if (!Array.isArray(feedback)) die(EXIT.input, `[E_INPUT] ${args.model}: --loop: the model has no loop (metadata "jag.loop" with "feedback")`);
  const outNames = new Set(model.outputs.map((v) => v.name)), inNames = new Set(model.inputs.map((v) => v.name));
  for (const [k, p] of feedback.entries())
    if (!Array.isArray(p) || p.length !== 2 || !outNames.has(p[0]) || !inNames.has(p[1]))
      die(EXIT.model, `[E_SCHEMA] ${args.model}: metadata jag.loop feedback ${k} is not an [output, input] pair of the graph`);
  if (!args.input) die(EXIT.input, `[E_INPUT] ${args.model}: --loop needs an init.bin with the first values of the fed-back inputs`);
  const fedBy = new Map(feedback.map(([o, i]) => [o, i]));
  const fed = new Set(feedback.map(([, i]) => i));
  let init, data;
  try { init = readTensorsFile(args.input); data = readTensorsFile(args.loop); } catch (e) { if (e instanceof JagError) die(EXIT.input, e.message); throw e; }
  const state = {};
  let steps = -1;
  for (const vi of model.inputs) {
    const t = (fed.has(vi.name) ? init : data).get(vi.name);
    if (!t || (!fed.has(vi.name) && t.shape.length < 1))
      die(EXIT.input, `[E_INPUT] ${fed.has(vi.name) ? args.input : args.loop}: input '${vi.name}' is missing${fed.has(vi.name) ? "" : " (or has no leading step axis)"}`);
    if (fed.has(vi.name)) { state[vi.name] = t; continue; }
    if (steps >= 0 && t.shape[0] !== steps) die(EXIT.input, `[E_INPUT] ${args.loop}: input '${vi.name}' has ${t.shape[0]} steps, others ${steps}`);
    steps = t.shape[0];
  }
  if (steps < 0) steps = 1;
  const every = steps >= 10 ? Math.floor(steps / 10) : 1;
  let outs;
  for (let step = 0; step < steps; step++) {
    const inputs = { ...state };
    for (const vi of model.inputs) {
      if (fed.has(vi.name)) continue;
      const t = data.get(vi.name), n = t.data.length / t.shape[0];
      inputs[vi.name] = { dtype: t.dtype, shape: t.shape.slice(1), data: t.data.subarray(step * n, (step + 1) * n) };
    }
    try { outs = model.run(inputs); } catch (e) { if (e instanceof JagError) die(e.code === "E_INPUT" ? EXIT.input : EXIT.run, `step ${step}: ${e.message}`); throw e; }
    if ((step + 1) % every === 0 || step + 1 === steps) {
      const shown = model.outputs.filter((v) => !fedBy.has(v.name) && outs[v.name].data.length === 1)
        .map((v) => ` ${v.name} = ${v.dtype === "float32" ? Math.fround(outs[v.name].data[0]) : outs[v.name].data[0]}`);
      console.log(`step ${step + 1}:${shown.join("")}`);
    }
    for (const [o, i] of fedBy) state[i] = outs[o];
  }
  if (args.output) {
    try { writeTensorsFile(args.output, outs); } catch (e) { if (e instanceof JagError) die(EXIT.run, e.message); throw e; }
  }
  process.exit(0);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  let model;
  try {
    model = loadModelFromFile(args.model);
  } catch (e) {
    if (e instanceof JagError) die(EXIT.model, e.message);
    throw e;
  }
  if (args.loop) return runLoop(model, args);
  const test = model.metadata?.["jag.test"];
  if (!args.input && test) args.check = true;
  if (!args.input && !test && model.inputs.length)
    die(EXIT.input, `[E_INPUT] ${args.model}: the graph needs inputs (${model.inputs.map((v) => `${v.name}: ${v.dtype}[${v.shape.join(",")}]`).join(", ")}): give them in a safetensors input.bin`);
  if (args.check && !test) die(EXIT.input, `[E_INPUT] ${args.model}: --check: the model has no embedded test data (metadata "jag.test")`);
  let inputs = {};
  if (args.input) {
    let bundle;
    try { bundle = readTensorsFile(args.input); } catch (e) { if (e instanceof JagError) die(EXIT.input, e.message); throw e; }
    for (const [name, t] of bundle) inputs[name] = t;
    for (const vi of model.inputs) if (!(vi.name in inputs)) die(EXIT.input, `[E_INPUT] ${args.input}: input '${vi.name}' is missing from the bundle`);
  } else if (test) {
    for (const t of test.inputs ?? []) inputs[t.name] = tensorFromEntry(t, "input");
  }
  let outs;
  try {
    outs = model.run(inputs);
    if (args.repeat) {
      const times = [];
      for (let r = 0; r < args.repeat; r++) {
        const t0 = performance.now();
        model.run(inputs);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.log(`time: median ${times[Math.floor(times.length / 2)].toFixed(6)} ms over ${args.repeat} runs (min ${times[0].toFixed(6)} ms)`);
    }
  } catch (e) {
    if (e instanceof JagError) die(e.code === "E_INPUT" ? EXIT.input : EXIT.run, e.message);
    throw e;
  }
  for (const vi of model.outputs) if (!args.check || args.print) console.log(`${vi.name}: ${fmt(outs[vi.name], args.print)}`);
  let rc = 0;
  if (args.check) {
    let ok = true;
    const want = new Map((test.outputs ?? []).map((t) => [t.name, tensorFromEntry(t, "output")]));
    for (const vi of model.outputs) {
      if (!want.has(vi.name)) { console.log(`check ${vi.name}: no expected value in the test data`); ok = false; continue; }
      if (!compare(model, vi.name, outs[vi.name], want.get(vi.name))) ok = false;
    }
    console.log(`check: ${ok ? "all outputs agree" : "MISMATCH"}`);
    if (!ok) rc = EXIT.check;
  }
  if (args.output) {
    try { writeTensorsFile(args.output, outs); } catch (e) { if (e instanceof JagError) die(EXIT.run, e.message); throw e; }
  }
  process.exit(rc);
}

main();

// profile.js — time per op (matmul, linear and add per input shapes) of a model run in this process.
//
//   node bench/profile.js model.json input.bin [--repeat N]
//
// Wraps every registered kernel's run with performance.now() and prints, per op, the total
// milliseconds of one model run (the median run of N, default 5, after one warm-up), the
// number of calls, and the share of the run; then the whole run time. Diagnostics only: the
// figures include the wrapper's small overhead.
import { KERNELS } from "../src/registry.js";
import { loadModelFromFile, readTensorsFile } from "../src/node.js";

const args = process.argv.slice(2);
const ri = args.indexOf("--repeat");
const reps = ri >= 0 ? Number(args.splice(ri, 2)[1]) : 5;
if (args.length !== 2 || !(reps >= 1)) {
  console.error("usage: node bench/profile.js model.json input.bin [--repeat N]");
  process.exit(2);
}
const model = loadModelFromFile(args[0]);
const inputs = Object.fromEntries(readTensorsFile(args[1]));

let acc = new Map();
for (const [name, k] of KERNELS) {
  const run = k.run;
  k.run = function (ins, attrs, outs) {
    const key = name === "matmul" || name === "linear" || name === "add" ? `${name} ${ins.map((t) => `[${t.shape}]`).join(" x ")}` : name;
    const t0 = performance.now();
    run.call(this, ins, attrs, outs);
    const dt = performance.now() - t0;
    const a = acc.get(key) ?? [0, 0];
    a[0] += dt;
    a[1]++;
    acc.set(key, a);
  };
}
model.run(inputs);
const runs = [];
for (let r = 0; r < reps; r++) {
  acc = new Map();
  const t0 = performance.now();
  model.run(inputs);
  runs.push([performance.now() - t0, acc]);
}
runs.sort((a, b) => a[0] - b[0]);
const [total, med] = runs[Math.floor(reps / 2)];
let inKernels = 0;
for (const [key, [ms, n]] of [...med].sort((a, b) => b[1][0] - a[1][0])) {
  inKernels += ms;
  console.log(`${ms.toFixed(2).padStart(10)} ms ${String(n).padStart(5)} calls ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${key}`);
}
console.log(`${total.toFixed(2).padStart(10)} ms total (median of ${reps}); ${(total - inKernels).toFixed(2)} ms outside kernels (allocation, dispatch)`);

// tools/run_cases.js — run many models in one Node process (for the Python test suite and
// the conformance runner): for each model.json listed in LIST (one path per line), run its
// embedded test inputs (metadata["jag.test"]) and write, beside the model, out.bin (the
// outputs as safetensors) or error.txt ("CODE message"). Prints "N ran, M errors".
//
//   node tools/run_cases.js LIST
import fs from "node:fs";
import path from "node:path";
import { loadModelFromFile, writeTensorsFile, JagError } from "../src/node.js";
import { decodeBase64 } from "../src/base64.js";
import { ARRAY_TYPES, numel } from "../src/dtypes.js";

const list = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
let errors = 0;
for (const file of list) {
  const dir = path.dirname(file);
  for (const f of ["out.bin", "error.txt"]) fs.rmSync(path.join(dir, f), { force: true });
  try {
    const model = loadModelFromFile(file);
    const inputs = {};
    for (const t of model.metadata?.["jag.test"]?.inputs ?? []) {
      const data = new ARRAY_TYPES[t.dtype](numel(t.shape));
      new Uint8Array(data.buffer).set(decodeBase64(t.base64));
      inputs[t.name] = { dtype: t.dtype, shape: t.shape, data };
    }
    writeTensorsFile(path.join(dir, "out.bin"), model.run(inputs));
  } catch (e) {
    errors++;
    const code = e instanceof JagError ? e.code : "UNCAUGHT";
    fs.writeFileSync(path.join(dir, "error.txt"), `${code} ${e instanceof JagError ? e.message : e.stack}`);
  }
}
console.log(`${list.length} ran, ${errors} errors`);

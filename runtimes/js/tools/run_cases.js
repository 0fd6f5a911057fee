// tools/run_cases.js — run many models in one Node process (for the Python test suite and
// the conformance runner). LIST holds one model.json path per line. For each model, the
// inputs are the bundle inputs.safetensors beside it when there is one (the conformance
// case format, conformance/FORMAT.md), else its embedded test inputs (metadata["jag.test"]).
//
//   node tools/run_cases.js LIST             writes, beside each model, out.bin (the outputs
//                                            as safetensors) or error.txt ("CODE message")
//   node tools/run_cases.js LIST RESULTS     writes RESULTS/<k>.out.bin or RESULTS/<k>.error.txt
//                                            for the k-th model of LIST (k from 0), leaving the
//                                            model folders untouched
//
// Prints "N ran, M errors".
import fs from "node:fs";
import path from "node:path";
import { loadModelFromFile, readTensorsFile, writeTensorsFile, JagError } from "../src/node.js";
import { decodeBase64 } from "../src/base64.js";
import { ARRAY_TYPES, numel } from "../src/dtypes.js";

const list = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
const results = process.argv[3];
if (results) fs.mkdirSync(results, { recursive: true });

/** The inputs for a model: its folder's inputs.safetensors, else its embedded test data. */
function inputsFor(model, file) {
  const inputs = {};
  const bundle = path.join(path.dirname(file), "inputs.safetensors");
  if (fs.existsSync(bundle)) {
    for (const [name, t] of readTensorsFile(bundle)) inputs[name] = t;
    return inputs;
  }
  for (const t of model.metadata?.["jag.test"]?.inputs ?? []) {
    const data = new ARRAY_TYPES[t.dtype](numel(t.shape));
    new Uint8Array(data.buffer).set(decodeBase64(t.base64));
    inputs[t.name] = { dtype: t.dtype, shape: t.shape, data };
  }
  return inputs;
}

let errors = 0;
list.forEach((file, k) => {
  const dir = path.dirname(file);
  const out = results ? path.join(results, `${k}.out.bin`) : path.join(dir, "out.bin");
  const err = results ? path.join(results, `${k}.error.txt`) : path.join(dir, "error.txt");
  for (const f of [out, err]) fs.rmSync(f, { force: true });
  try {
    const model = loadModelFromFile(file);
    writeTensorsFile(out, model.run(inputsFor(model, file)));
  } catch (e) {
    errors++;
    const code = e instanceof JagError ? e.code : "UNCAUGHT";
    fs.writeFileSync(err, `${code} ${e instanceof JagError ? e.message : e.stack}`);
  }
});
console.log(`${list.length} ran, ${errors} errors`);

// node.js — the Node adapter: files on disk. Everything else in src/ runs in browsers too.
import "./wasm_features_node.js"; // first: enables relaxed SIMD on Node 20 before kernels/linalg.js compiles its module
import fs from "node:fs";
import path from "node:path";
import { JagError } from "./errors.js";
import { loadModel, sidecarNames } from "./model.js";
import { parseJson } from "./json.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

function readFile(p, file) {
  try {
    return new Uint8Array(fs.readFileSync(p));
  } catch (e) {
    throw new JagError("E_FILE", `cannot read '${p}': ${e.code === "ENOENT" ? "No such file or directory" : e.message}`, { file });
  }
}

/**
 * Load model.json and its sidecars (beside it) from disk. Sidecar names are checked
 * (E_PATH) before any is opened, and a symbolic link must resolve inside the folder.
 * Same errors as loadModel, plus E_FILE.
 */
export function loadModelFromFile(file, options = {}) {
  const bytes = readFile(file, null);
  let doc;
  try {
    doc = parseJson(bytes);
  } catch (e) {
    throw e instanceof JagError ? e.withContext({ file }) : e;
  }
  const folder = path.dirname(file);
  const weights = new Map();
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    for (const name of sidecarNames(doc, file)) {
      const p = path.join(folder, name);
      if (fs.existsSync(p)) {
        const real = fs.realpathSync(p);
        if (path.dirname(real) !== fs.realpathSync(folder))
          throw new JagError("E_PATH", `sidecar path '${name}' is a link that resolves outside the model's folder`, { file });
        weights.set(name, readFile(p, file));
      }
    }
  }
  return loadModel(doc, { ...options, weights: (name) => weights.get(name) ?? readFile(path.join(folder, name), file), file });
}

/** Read a safetensors bundle: Map name -> tensor (E_FILE, E_TENSOR_DATA). */
export function readTensorsFile(p) {
  const bytes = readFile(p, null);
  try {
    return readSafetensors(bytes);
  } catch (e) {
    if (e instanceof JagError) throw e.withContext({ file: p });
    throw e;
  }
}

/** Write tensors (an object or Map name -> tensor) as a safetensors bundle, atomically (E_FILE). */
export function writeTensorsFile(p, tensors) {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const bytes = writeSafetensors(entries);
  const tmp = `${p}.tmp.${process.pid}`;
  try {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, p);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* not created */ }
    throw new JagError("E_FILE", `cannot write '${p}': ${e.message}`);
  }
}

export * from "./index.js";

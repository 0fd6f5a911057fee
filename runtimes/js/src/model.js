// model.js — loading a JAG model (spec/README.md §2, §3, §6, §12, §14) and running it (§3
// "Execution", §5 "Binding"), as python/jag/interpret.py and runtimes/c do.
//
// Phases: parse (E_JSON) → identify (E_SCHEMA, E_VERSION) → schema (E_SCHEMA, the
// generated ajv validator of spec/jag.schema.json) → data (E_SHAPE for dim expressions,
// E_PATH, sidecars E_FILE / E_TENSOR_DATA, tensor bytes) → semantics against ops.json
// (E_GRAPH, E_UNKNOWN_OP, E_VERSION, E_ARITY, E_ATTR, E_DTYPE). Concrete shapes are checked
// when inputs are bound (prepare, cached per input shapes); a graph whose inputs are all
// static is prepared at load, so its shape errors surface there.
import { OPS, OPSET, DTYPES } from "./ops_table.js";
import { JagError } from "./errors.js";
import { ARRAY_TYPES, numel, zeros } from "./dtypes.js";
import { parseJson } from "./json.js";
import { decodeBase64 } from "./base64.js";
import { sha256Hex } from "./sha256.js";
import { checkDim, bareDimName, dimNames, evalDim } from "./dims.js";
import { validate as validateSchema } from "./schema_validate.js";
import { kernelFor } from "./registry.js";
import { shapeStr } from "./kernel_api.js";
import "./kernels/index.js";

export const FORMAT_VERSION = [1, 0];
const INT64_MAX = 2n ** 63n - 1n;

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Sidecar path rules of spec/README.md §6 "Paths": E_PATH unless a plain file name. */
export function checkSidecarPath(p, file) {
  let why = null;
  if (typeof p !== "string" || p.length === 0 || p.length > 255) why = "must have 1 to 255 characters";
  else if (p.startsWith("/") || p.startsWith("\\")) why = "is absolute";
  else if (p === "." || p === "..") why = "is not a file name";
  else if (p.includes("/") || p.includes("\\")) why = "contains a path separator";
  else if (p.startsWith(".")) why = "is hidden (starts with '.')";
  else if (p.includes(":")) why = "contains ':'";
  if (why) throw new JagError("E_PATH", `sidecar path '${p}' ${why}: it must be a plain file name beside the model`, { file });
}

/** The sidecar file names a model document needs (paths checked first: E_PATH). */
export function sidecarNames(doc, file) {
  const names = new Set();
  for (const f of Array.isArray(doc?.files) ? doc.files : []) if (isObject(f)) { checkSidecarPath(f.path, file); names.add(f.path); }
  for (const t of Array.isArray(doc?.tensors) ? doc.tensors : []) if (isObject(t) && "file" in t) { checkSidecarPath(t.file, file); }
  return [...names];
}

function count(v) {
  // a JSON integer or a decimal string (spec §6 "Counts")
  if (typeof v === "string") return Number(BigInt(v) > INT64_MAX ? NaN : BigInt(v));
  return v;
}

// ---------------------------------------------------------------- attributes

function parseAttr(def, name, v) {
  const bad = (what) => new JagError("E_ATTR", `attr '${name}': ${what}`, { field: `attrs.${name}` });
  const isInt = (x) => typeof x === "number" && Number.isInteger(x);
  let out;
  switch (def.type) {
    case "int":
      if (!isInt(v)) throw bad(`expected an integer, got ${JSON.stringify(v)}`);
      out = v; break;
    case "float":
      if (typeof v === "number") out = v;
      else if (v === "inf") out = Infinity;
      else if (v === "-inf") out = -Infinity;
      else if (v === "nan") out = NaN;
      else throw bad(`expected a number, got ${JSON.stringify(v)}`);
      break;
    case "bool":
      if (typeof v !== "boolean") throw bad(`expected true or false, got ${JSON.stringify(v)}`);
      out = v; break;
    case "string":
      if (typeof v !== "string") throw bad(`expected a string, got ${JSON.stringify(v)}`);
      out = v; break;
    case "dtype":
      if (typeof v !== "string" || !(v in DTYPES)) throw bad(`${JSON.stringify(v)} is not a dtype (${Object.keys(DTYPES).join(", ")})`);
      out = v; break;
    case "ints":
    case "axes":
      if (def.type === "axes" && !Array.isArray(v)) v = [v];
      if (!Array.isArray(v) || !v.every(isInt)) throw bad(`expected a list of integers, got ${JSON.stringify(v)}`);
      out = v; break;
    case "dims":
      if (!Array.isArray(v)) throw bad(`expected a list of dims, got ${JSON.stringify(v)}`);
      for (const d of v) {
        if (typeof d === "string") { const why = checkDim(d); if (why) throw bad(why); }
        else if (!isInt(d)) throw bad(`expected integers or dim expressions, got ${JSON.stringify(v)}`);
      }
      out = v; break;
    default:
      throw new JagError("E_INTERNAL", `attr '${name}' has unknown type '${def.type}' in ops.json`);
  }
  if (def.enum && !def.enum.includes(out)) throw bad(`${JSON.stringify(out)} is not one of ${JSON.stringify(def.enum)}`);
  if (def.length !== undefined && out.length !== def.length) throw bad(`expected ${def.length} values, got ${out.length}`);
  if (def.min !== undefined) for (const x of Array.isArray(out) ? out : [out]) if (x < def.min) throw bad(`${x} is below the minimum ${def.min}`);
  if (def.max_exclusive !== undefined && !(out < def.max_exclusive)) throw bad(`${out} must be below ${def.max_exclusive}`);
  return out;
}

function checkAttrs(op, attrs) {
  attrs = attrs ?? {};
  for (const k of Object.keys(attrs))
    if (!(k in op.attrs)) throw new JagError("E_ATTR", `unknown attr '${k}' (known: ${Object.keys(op.attrs).join(", ") || "none"})`, { field: `attrs.${k}` });
  const out = {};
  for (const [name, def] of Object.entries(op.attrs)) {
    const v = attrs[name];
    if (v === undefined || v === null) {
      if (def.required) throw new JagError("E_ATTR", `attr '${name}' is required`, { field: `attrs.${name}` });
      out[name] = def.default === null ? null : parseAttr(def, name, def.default);
    } else {
      out[name] = parseAttr(def, name, v);
    }
  }
  return out;
}

function inferDtypes(op, dtypes, attrs) {
  const bound = {};
  dtypes.forEach((dt, i) => {
    const port = op.inputs[Math.min(i, op.inputs.length - 1)];
    const t = port.type;
    if (t in op.types) {
      if (!op.types[t].includes(dt))
        throw new JagError("E_DTYPE", `input ${i} (${port.name}) has dtype ${dt}; expected one of ${op.types[t].join(", ")}`, { field: `inputs[${i}]` });
      if (t in bound && bound[t][0] !== dt)
        throw new JagError("E_DTYPE", `input ${i} (${port.name}) has dtype ${dt}; expected ${bound[t][0]} (the dtype of input ${bound[t][1]})`, { field: `inputs[${i}]` });
      if (!(t in bound)) bound[t] = [dt, i];
    } else if (dt !== t) {
      throw new JagError("E_DTYPE", `input ${i} (${port.name}) has dtype ${dt}; expected ${t}`, { field: `inputs[${i}]` });
    }
  });
  return op.outputs.map((p) => (p.type.startsWith("attr:") ? attrs[p.type.slice(5)] : p.type in op.types ? bound[p.type][0] : p.type));
}

function checkArity(op, n, nOut) {
  const variadic = op.inputs.length > 0 && op.inputs[op.inputs.length - 1].variadic;
  const required = op.inputs.filter((p) => !p.optional && !p.variadic).length;
  const lo = variadic ? op.inputs.length - 1 + (op.inputs[op.inputs.length - 1].min ?? 0) : required;
  const hi = variadic ? Infinity : op.inputs.length;
  if (n < lo || n > hi) {
    const want = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`;
    throw new JagError("E_ARITY", `expected ${want} inputs, got ${n}`, { field: "inputs" });
  }
  if (nOut !== op.outputs.length) throw new JagError("E_ARITY", `expected ${op.outputs.length} outputs, got ${nOut}`, { field: "outputs" });
}

// ---------------------------------------------------------------- the model

export class Model {
  /** Use loadModel(); the constructor takes a validated document. */
  constructor(doc, tensors, file) {
    this.file = file ?? null;
    this.name = doc.name ?? null;
    this.doc = doc.doc ?? null;
    this.opset = doc.opset;
    this.metadata = doc.metadata ?? {};
    /** Graph inputs: [{name, dtype, shape}] (symbolic dims as expression strings). */
    this.inputs = doc.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] }));
    /** Graph outputs: [{name, dtype, shape}]. */
    this.outputs = doc.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape] }));
    this.tensors = tensors; // Map name -> tensor
    this.dims = doc.dims ?? {};
    this.nodes = [];
    this._plan = null;
    this._planKey = null;
    this._pool = new BufferPool();
  }

  _ctx(i) {
    const n = this.nodes[i];
    return { file: this.file, node: i, nodeName: n?.name ?? null, op: n?.op ?? null };
  }

  /** Bind dims from input shapes (spec §5): bare names first, then every other dim must agree. */
  _bindDims(shapes) {
    const env = new Map();
    this.inputs.forEach((vi, i) => {
      vi.shape.forEach((d, k) => {
        if (typeof d !== "string") return;
        const name = bareDimName(d);
        if (name === null) return;
        const n = shapes[i][k];
        if (env.has(name) && env.get(name) !== n)
          throw new JagError("E_INPUT", `input '${vi.name}': axis ${k} binds dim '${name}' to ${n}, but it is already bound to ${env.get(name)}`, { file: this.file });
        const max = this.dims[name]?.max;
        if (max !== undefined && n > max)
          throw new JagError("E_INPUT", `input '${vi.name}': axis ${k} binds dim '${name}' to ${n}, above its max ${max}`, { file: this.file });
        env.set(name, n);
      });
    });
    this.inputs.forEach((vi, i) => {
      vi.shape.forEach((d, k) => {
        if (typeof d !== "string" || bareDimName(d) !== null) return;
        let want;
        try { want = evalDim(d, env); } catch (e) { throw new JagError("E_INPUT", `input '${vi.name}': dim '${d}': ${e.message}`, { file: this.file }); }
        if (want !== shapes[i][k])
          throw new JagError("E_INPUT", `input '${vi.name}': axis ${k} has size ${shapes[i][k]}; expected ${d} = ${want}`, { file: this.file });
      });
    });
    return env;
  }

  /** Shape inference for the given input shapes: per node {attrs, shapes}; cached by the shapes. */
  _prepare(shapes) {
    const key = JSON.stringify(shapes);
    if (this._planKey === key) return this._plan;
    const env = this._bindDims(shapes);
    const types = new Map();
    this.inputs.forEach((vi, i) => types.set(vi.name, { dtype: vi.dtype, shape: shapes[i] }));
    for (const [name, t] of this.tensors) types.set(name, { dtype: t.dtype, shape: t.shape });
    const plan = [];
    this.nodes.forEach((n, i) => {
      try {
        const attrs = {};
        for (const [k, v] of Object.entries(n.attrs)) {
          const def = OPS.get(n.op).attrs[k];
          if (def.type === "dims" && v !== null) {
            attrs[k] = v.map((d) => {
              if (typeof d !== "string") return d;
              try { return evalDim(d, env); } catch (e) { throw new JagError("E_ATTR", `attr '${k}': dim '${d}': ${e.message}`); }
            });
          } else attrs[k] = v;
        }
        const ins = n.inputs.map((x) => types.get(x));
        const outShapes = kernelFor(n.op).prepare(ins, attrs);
        outShapes.forEach((s, k) => {
          let count = 1n;   // the product of the non-zero dims must fit (spec §5)
          for (const d of s) {
            if (!Number.isInteger(d) || d < 0) throw new JagError("E_SHAPE", `output ${k} would have an invalid dim: ${shapeStr(s)}`);
            if (d !== 0) count *= BigInt(d);
          }
          if (count * BigInt(DTYPES[n.outDtypes[k]].itemsize) > INT64_MAX || count > 2n ** 53n)
            throw new JagError("E_SHAPE", `output ${k} shape ${shapeStr(s)} has more elements than int64 can count`);
          types.set(n.outputs[k], { dtype: n.outDtypes[k], shape: s });
        });
        plan.push({ attrs, shapes: outShapes });
      } catch (e) {
        throw wrapError(e, this._ctx(i));
      }
    });
    for (const vi of this.outputs) {
      const got = types.get(vi.name).shape;
      let ok = got.length === vi.shape.length;
      for (let k = 0; ok && k < got.length; k++) {
        let want = vi.shape[k];
        if (typeof want === "string") {
          try { want = evalDim(want, env); } catch (e) { throw new JagError("E_SHAPE", `output '${vi.name}': dim '${vi.shape[k]}': ${e.message}`, { file: this.file }); }
        }
        ok = want === got[k];
      }
      if (!ok) throw new JagError("E_SHAPE", `output '${vi.name}' has shape ${shapeStr(got)}; it does not match its declared shape ${shapeStr(vi.shape)}`, { file: this.file });
    }
    this._plan = plan;
    this._planKey = key;
    this._pool = new BufferPool(); // the buffers of the previous shapes: garbage
    return plan;
  }

  _checkInput(vi, t) {
    const ctx = { file: this.file };
    if (!isObject(t) || typeof t.dtype !== "string" || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data))
      throw new JagError("E_INPUT", `input '${vi.name}': expected a tensor {dtype, shape, data: TypedArray}`, ctx);
    if (t.dtype !== vi.dtype) throw new JagError("E_INPUT", `input '${vi.name}' has dtype ${t.dtype}; the graph expects ${vi.dtype}`, ctx);
    if (!(t.data instanceof ARRAY_TYPES[t.dtype]))
      throw new JagError("E_INPUT", `input '${vi.name}': dtype ${t.dtype} needs a ${ARRAY_TYPES[t.dtype].name}, got a ${t.data.constructor.name}`, ctx);
    if (t.shape.length !== vi.shape.length)
      throw new JagError("E_INPUT", `input '${vi.name}' has rank ${t.shape.length} (shape ${shapeStr(t.shape)}); the graph expects rank ${vi.shape.length} ${shapeStr(vi.shape)}`, ctx);
    t.shape.forEach((d, k) => {
      if (!Number.isInteger(d) || d < 0) throw new JagError("E_INPUT", `input '${vi.name}': invalid dim ${d} at axis ${k}`, ctx);
      if (typeof vi.shape[k] === "number" && vi.shape[k] !== d)
        throw new JagError("E_INPUT", `input '${vi.name}' has shape ${shapeStr(t.shape)}; the graph expects ${shapeStr(vi.shape)} (dim ${k} must be ${vi.shape[k]})`, ctx);
    });
    if (t.data.length !== numel(t.shape))
      throw new JagError("E_INPUT", `input '${vi.name}': shape ${shapeStr(t.shape)} needs ${numel(t.shape)} elements, data has ${t.data.length}`, ctx);
    if (t.dtype === "bool") for (let i = 0; i < t.data.length; i++) if (t.data[i] > 1)
      throw new JagError("E_INPUT", `input '${vi.name}': bool element ${i} holds ${t.data[i]} (not 0 or 1)`, ctx);
  }

  /**
   * Run the graph. `inputs`: an object {name: tensor} or an array in input order; a tensor
   * is {dtype, shape, data: TypedArray} (int64 data is a BigInt64Array). Returns an object
   * {outputName: tensor}. Throws JagError: E_INPUT (missing, extra, wrong dtype/rank/shape),
   * E_SHAPE / E_ATTR (shapes the graph cannot take), E_INDEX (out-of-range indices).
   */
  run(inputs) {
    const list = Array.isArray(inputs) ? inputs : this.inputs.map((vi) => inputs?.[vi.name]);
    if (!Array.isArray(inputs) && isObject(inputs)) {
      const known = new Set(this.inputs.map((vi) => vi.name));
      const extra = Object.keys(inputs).filter((k) => !known.has(k));
      if (extra.length) throw new JagError("E_INPUT", `unknown inputs: ${extra.join(", ")} (the graph takes ${[...known].join(", ") || "none"})`, { file: this.file });
    }
    if (list.length !== this.inputs.length)
      throw new JagError("E_INPUT", `expected ${this.inputs.length} inputs, got ${list.length}`, { file: this.file });
    this.inputs.forEach((vi, i) => {
      if (list[i] === undefined) throw new JagError("E_INPUT", `input '${vi.name}' is missing`, { file: this.file });
      this._checkInput(vi, list[i]);
    });
    const plan = this._prepare(list.map((t) => t.shape));
    const pool = this._pool;
    const env = new Map(this.tensors);
    this.inputs.forEach((vi, i) => env.set(vi.name, list[i]));
    this.nodes.forEach((n, i) => {
      const ins = n.inputs.map((x) => env.get(x));
      const kernel = kernelFor(n.op);
      const outs = plan[i].shapes.map((s, k) => pool.take(n.outDtypes[k], s, kernel.overwrites !== true));
      try {
        kernel.run(ins, plan[i].attrs, outs);
      } catch (e) {
        throw wrapError(e, this._ctx(i));
      }
      outs.forEach((t, k) => env.set(n.outputs[k], t));
      for (const x of n.lastUses) {
        pool.give(env.get(x));
        env.delete(x);
      }
    });
    const result = {};
    for (const vi of this.outputs) {
      result[vi.name] = env.get(vi.name);
      pool.disown(result[vi.name]); // the caller's now: never handed out again
    }
    for (const t of env.values()) pool.give(t); // values no node reads (dead outputs): back to the pool
    return result;
  }
}

/**
 * The buffers of a model's intermediate values, reused across nodes and runs (as the C
 * runtime's liveness plan reuses its arena): a value's TypedArray goes back to the pool
 * after its last reader has run and is handed to a later output of the same dtype and
 * element count, in this run or the next. Allocating instead (a new, zeroed TypedArray per
 * output per run) costs a page fault per 4 KB touched, most of the time of the large
 * elementwise kernels.
 *
 * Invariants: only arrays the pool allocated (`owned`) are ever given back, so a graph
 * input, a constant tensor or an array a kernel did not get from the pool never is; a
 * graph output is disowned before run returns it, so what a caller holds is never reused;
 * take(…, zero = true) clears a reused array (kernels are handed zeroed outputs unless they
 * declare `overwrites: true`: they write every element of every output). The model keeps
 * one pool per input shapes (a new pool when they change: the old one is garbage), so it
 * holds at most the buffers of one run's values.
 */
class BufferPool {
  constructor() {
    this.free = new Map();     // "dtype length" -> [TypedArray]
    this.owned = new WeakSet(); // arrays this pool allocated and not disowned
    this.idle = new WeakSet();  // owned arrays now in `free` (a second give of one is ignored)
  }

  /** A tensor {dtype, shape, data} with data of numel(shape) elements, zeroed when `zero` or new. */
  take(dtype, shape, zero) {
    const n = numel(shape), list = this.free.get(`${dtype} ${n}`);
    if (list !== undefined && list.length > 0) {
      const data = list.pop();
      this.idle.delete(data);
      if (zero) data.fill(dtype === "int64" ? 0n : 0);
      return { dtype, shape: [...shape], data };
    }
    const t = zeros(dtype, shape);
    this.owned.add(t.data);
    return t;
  }

  /** Return a tensor's array to the pool when the pool owns it and it is not already there (anything else: ignored). */
  give(t) {
    if (t === undefined || !this.owned.has(t.data) || this.idle.has(t.data)) return;
    this.idle.add(t.data);
    const key = `${t.dtype} ${t.data.length}`;
    const list = this.free.get(key);
    if (list === undefined) this.free.set(key, [t.data]);
    else list.push(t.data);
  }

  /** Never hand out this tensor's array again (it leaves the model with run's result). */
  disown(t) {
    if (t !== undefined) this.owned.delete(t.data);
  }
}

function wrapError(e, ctx) {
  if (e instanceof JagError) return e.withContext(ctx);
  const w = new JagError("E_INTERNAL", `${e?.name ?? "Error"}: ${e?.message ?? e}`, ctx);
  w.cause = e;
  return w;
}

// ---------------------------------------------------------------- loading

function identify(doc, file) {
  const ctx = { file };
  if (!isObject(doc)) throw new JagError("E_SCHEMA", "at /: this is not a JAG model (expected a JSON object)", ctx);
  if (doc.format !== "jag") throw new JagError("E_SCHEMA", "at /format: this is not a JAG model (\"format\" must be \"jag\")", ctx);
  const m = typeof doc.version === "string" ? /^([0-9]+)\.([0-9]+)$/.exec(doc.version) : null;
  if (!m) throw new JagError("E_SCHEMA", "at /version: expected a \"MAJOR.MINOR\" version string", ctx);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major !== FORMAT_VERSION[0] || minor > FORMAT_VERSION[1]) {
    const advice = major < FORMAT_VERSION[0] ? "convert it with the jag release that wrote it" : "upgrade jag to a release that reads it";
    throw new JagError("E_VERSION", `file has format version ${doc.version}; this reader supports ${FORMAT_VERSION[0]}.0 to ${FORMAT_VERSION.join(".")}: ${advice}`, ctx);
  }
  if (typeof doc.opset === "number" && Number.isInteger(doc.opset) && doc.opset > OPSET)
    throw new JagError("E_VERSION", `file has opset ${doc.opset}; this reader supports opsets 1 to ${OPSET}: upgrade jag to a release that reads it`, ctx);
}

function schema(doc, file) {
  if (validateSchema(doc)) return;
  const e = validateSchema.errors[0];
  throw new JagError("E_SCHEMA", `at ${e.instancePath || "/"}: ${e.message}`, { file, field: e.instancePath || "/" });
}

function readTensors(doc, weights, file, verifySha256) {
  const ctx = { file };
  const tensors = new Map();
  const files = new Map();
  for (const f of doc.files ?? []) { checkSidecarPath(f.path, file); files.set(f.path, { ...f, bytes: null }); }
  for (const t of doc.tensors ?? []) if ("file" in t) checkSidecarPath(t.file, file);
  const sidecar = (name, tname) => {
    const f = files.get(name);
    if (!f) throw new JagError("E_TENSOR_DATA", `tensor '${tname}': sidecar '${name}' is not listed in files[]`, ctx);
    if (f.bytes === null) {
      const bytes = typeof weights === "function" ? weights(name) : weights instanceof Map ? weights.get(name) : weights?.[name];
      if (!bytes) throw new JagError("E_FILE", `cannot read sidecar '${name}': not given (pass it in {weights})`, ctx);
      if (bytes.length !== count(f.nbytes))
        throw new JagError("E_TENSOR_DATA", `sidecar '${name}' has ${bytes.length} bytes; files[] declares ${f.nbytes} (truncated or replaced?)`, ctx);
      if (verifySha256) {
        const h = sha256Hex(bytes);
        if (h !== f.sha256) throw new JagError("E_TENSOR_DATA", `sidecar '${name}' has SHA-256 ${h}; files[] declares ${f.sha256} (tampered or replaced)`, ctx);
      }
      f.bytes = bytes;
    }
    return f.bytes;
  };
  for (const t of doc.tensors ?? []) {
    let n = 1n, nonzero = 1n;   // the product of the non-zero dims must fit (spec §5)
    for (const d of t.shape) { n *= BigInt(d); if (d !== 0) nonzero *= BigInt(d); }
    const nbytes = n * BigInt(DTYPES[t.dtype].itemsize);
    if (nonzero * BigInt(DTYPES[t.dtype].itemsize) > INT64_MAX || nonzero > 2n ** 53n)
      throw new JagError("E_SHAPE", `tensor '${t.name}': element count overflows`, ctx);
    let bytes;
    if ("base64" in t) {
      try { bytes = decodeBase64(t.base64); } catch (e) { throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': invalid base64 (${e.message})`, ctx); }
      if (BigInt(bytes.length) !== nbytes)
        throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': ${bytes.length} bytes of data; dtype and shape need ${nbytes}`, ctx);
    } else {
      const off = count(t.offset), nb = count(t.nbytes);
      if (BigInt(nb) !== nbytes) throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': nbytes is ${t.nbytes}; dtype and shape need ${nbytes}`, ctx);
      if (off % 64 !== 0) throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': offset ${t.offset} is not a multiple of 64`, ctx);
      const whole = sidecar(t.file, t.name);
      if (!(off + nb <= whole.length))
        throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': bytes ${off}..${off + nb} lie outside sidecar '${t.file}' of ${whole.length} bytes`, ctx);
      bytes = whole.subarray(off, off + nb);
    }
    const Ctor = ARRAY_TYPES[t.dtype];
    const data = new Ctor(Number(n));
    new Uint8Array(data.buffer).set(bytes);
    if (t.dtype === "bool") for (let i = 0; i < data.length; i++) if (data[i] > 1)
      throw new JagError("E_TENSOR_DATA", `tensor '${t.name}': bool element ${i} holds byte ${data[i]} (not 0 or 1)`, ctx);
    // constant: true marks the graph's own constants (never changed between runs), so a
    // kernel may cache work derived from them (e.g. packed matmul weights) by their data.
    tensors.set(t.name, { dtype: t.dtype, shape: [...t.shape], data, constant: true });
  }
  return tensors;
}

function checkDims(doc, file) {
  const ctx = { file };
  const bare = new Set();
  doc.inputs.forEach((vi, i) => vi.shape.forEach((d) => {
    if (typeof d !== "string") return;
    const why = checkDim(d);
    if (why) throw new JagError("E_SHAPE", `input ${i} '${vi.name}': dim '${d}': ${why}`, ctx);
    const name = bareDimName(d);
    if (name !== null) bare.add(name);
  }));
  for (const name of Object.keys(doc.dims ?? {}))
    if (!bare.has(name)) throw new JagError("E_SHAPE", `dims['${name}'] is not used as a bare dim of any input shape`, ctx);
  for (const [what, list] of [["input", doc.inputs], ["output", doc.outputs]]) list.forEach((vi, i) => vi.shape.forEach((d) => {
    if (typeof d === "number" && !Number.isSafeInteger(d))
      throw new JagError("E_SHAPE", `${what} ${i} '${vi.name}': dim ${d} is beyond 2^53 - 1, the largest this runtime counts exactly`, ctx);
    if (typeof d !== "string") return;
    const why = checkDim(d);
    if (why) throw new JagError("E_SHAPE", `${what} ${i} '${vi.name}': dim '${d}': ${why}`, ctx);
    for (const n of dimNames(d))
      if (!bare.has(n)) throw new JagError("E_SHAPE", `${what} ${i} '${vi.name}': dim '${d}' uses '${n}', which no input binds as a bare dim`, ctx);
  }));
  return bare;
}

function buildNodes(model, doc, bare) {
  const defined = new Map(); // name -> dtype
  const kinds = new Map();
  const define = (name, dtype, kind, node) => {
    if (defined.has(name)) throw new JagError("E_GRAPH", `value '${name}' is defined twice (already ${kinds.get(name)})`, { file: model.file, ...(node === undefined ? {} : model._ctx(node)) });
    defined.set(name, dtype);
    kinds.set(name, kind);
  };
  for (const vi of doc.inputs) define(vi.name, vi.dtype, "a graph input");
  for (const t of doc.tensors ?? []) define(t.name, t.dtype, "a tensor");
  const lastUse = new Map();
  doc.nodes.forEach((nj, i) => {
    const node = { op: nj.op, name: nj.name ?? null, inputs: nj.inputs, outputs: nj.outputs, attrs: null, outDtypes: null, lastUses: [] };
    model.nodes.push(node);
    const ctx = model._ctx(i);
    try {
      const op = OPS.get(nj.op);
      if (!op) throw new JagError("E_UNKNOWN_OP", `unknown op '${nj.op}' (not in spec/ops.json opset ${OPSET})`);
      if (op.since > doc.opset) throw new JagError("E_VERSION", `op '${nj.op}' needs opset ${op.since}; the file declares opset ${doc.opset}`);
      checkArity(op, nj.inputs.length, nj.outputs.length);
      node.attrs = checkAttrs(op, nj.attrs);
      for (const [k, v] of Object.entries(node.attrs))
        if (op.attrs[k].type === "dims" && v) for (const d of v) if (typeof d === "string") for (const n of dimNames(d))
          if (!bare.has(n)) throw new JagError("E_ATTR", `attr '${k}': dim '${n}' is not bound by any input shape`, { field: `attrs.${k}` });
      const dtypes = nj.inputs.map((x) => {
        if (!defined.has(x)) {
          const later = doc.nodes.findIndex((m, j) => j >= i && m.outputs.includes(x));
          if (later === i) throw new JagError("E_GRAPH", `value '${x}' is used by the node that defines it (a cycle)`);
          if (later > i) throw new JagError("E_GRAPH", `value '${x}' is used before node ${later} defines it (nodes out of order or a cycle)`);
          throw new JagError("E_GRAPH", `value '${x}' is never defined`);
        }
        return defined.get(x);
      });
      node.outDtypes = inferDtypes(op, dtypes, node.attrs);
    } catch (e) {
      throw wrapError(e, ctx);
    }
    nj.inputs.forEach((x) => lastUse.set(x, i));
    nj.outputs.forEach((x, k) => define(x, node.outDtypes[k], "a node output", i));
  });
  const outs = new Set(doc.outputs.map((vi) => vi.name));
  for (const [name, i] of lastUse) if (!outs.has(name) && !model.tensors.has(name)) model.nodes[i].lastUses.push(name);
  for (const vi of doc.outputs) {
    if (!defined.has(vi.name)) throw new JagError("E_GRAPH", `graph output '${vi.name}' is never defined`, { file: model.file });
    if (defined.get(vi.name) !== vi.dtype)
      throw new JagError("E_DTYPE", `output '${vi.name}' is declared ${vi.dtype} but the graph computes ${defined.get(vi.name)}`, { file: model.file });
  }
}

/**
 * Load and validate a model.
 * @param {string|Uint8Array|object} json  the model.json text (or its UTF-8 bytes, or a parsed document)
 * @param {{weights?: Map<string,Uint8Array>|Object<string,Uint8Array>|function(string):Uint8Array,
 *          file?: string, verifySha256?: boolean}} [options]
 *   weights: the sidecar files by name (spec §6), file: the name used in messages.
 * @returns {Model}
 * @throws {JagError} E_JSON, E_SCHEMA, E_VERSION, E_PATH, E_FILE, E_TENSOR_DATA, E_SHAPE,
 *   E_GRAPH, E_UNKNOWN_OP, E_ARITY, E_ATTR, E_DTYPE
 */
export function loadModel(json, { weights = null, file = null, verifySha256 = true } = {}) {
  let doc = json;
  if (typeof json === "string" || json instanceof Uint8Array) {
    try { doc = parseJson(json); } catch (e) { throw wrapError(e, { file }); }
  }
  identify(doc, file);
  schema(doc, file);
  const bare = checkDims(doc, file);
  const tensors = readTensors(doc, weights, file, verifySha256);
  const model = new Model(doc, tensors, file);
  buildNodes(model, doc, bare);
  if (model.inputs.every((vi) => vi.shape.every((d) => typeof d === "number"))) model._prepare(model.inputs.map((vi) => vi.shape));
  return model;
}

/**
 * Load a model from a URL (browser or Node ≥ 18 with fetch): fetches model.json, then
 * the sidecar files beside it. Same errors as loadModel, plus E_FILE when a fetch fails.
 */
export async function loadModelFromUrl(url, options = {}) {
  const get = async (u) => {
    let r;
    try { r = await fetch(u); } catch (e) { throw new JagError("E_FILE", `cannot read '${u}': ${e.message}`); }
    if (!r.ok) throw new JagError("E_FILE", `cannot read '${u}': HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const file = String(url);
  const bytes = await get(url);
  let doc;
  try { doc = parseJson(bytes); } catch (e) { throw wrapError(e, { file }); }
  const weights = new Map();
  if (isObject(doc)) for (const name of sidecarNames(doc, file)) weights.set(name, await get(new URL(name, new URL(url, globalThis.location?.href))));
  return loadModel(doc, { ...options, weights, file });
}

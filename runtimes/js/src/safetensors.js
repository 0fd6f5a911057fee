// safetensors.js — tensor I/O bundles (spec/README.md §7), the port of
// runtimes/c/src/safetensors.c; the layout of https://github.com/huggingface/safetensors:
//
//   8 bytes   N, the header length (unsigned 64-bit little-endian)
//   N bytes   JSON object {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//             ..., "__metadata__": {string: string}} (optional metadata; trailing spaces)
//   rest      the data buffer; [b, e) is relative to its start; tensors cover it exactly
//
// Only the six JAG dtype codes F32 F64 I32 I64 U8 BOOL are accepted; anything malformed is
// JagError E_TENSOR_DATA. Tensor data is copied into new, aligned TypedArrays.
import { JagError } from "./errors.js";
import { parseJson } from "./json.js";
import { DTYPES } from "./ops_table.js";
import { ARRAY_TYPES } from "./dtypes.js";

const MAX_DIMS = 16;
const HEADER_DEPTH = 8;
const INT64_MAX = (1n << 63n) - 1n;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** safetensors code -> JAG dtype name */
const DTYPE_OF_CODE = new Map(Object.entries(DTYPES).map(([name, d]) => [d.safetensors, name]));

const bad = (reason) => new JagError("E_TENSOR_DATA", reason);

/** A JSON number that is a non-negative integer JS holds exactly, else null. */
const count = (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** Reverse the bytes of each itemsize-byte element in place (big-endian hosts only). */
function swapBytes(bytes, itemsize) {
  if (itemsize === 1) return;
  for (let i = 0; i < bytes.length; i += itemsize)
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
}

/** Check one header entry; returns {name, dtype, shape, begin, end}. */
function parseEntry(name, v, dataSize) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad(`tensor '${name}': the header entry is not an object`);
  for (const k of Object.keys(v))
    if (k !== "dtype" && k !== "shape" && k !== "data_offsets")
      throw bad(`tensor '${name}': unexpected key '${k.slice(0, 64)}' in the header entry`);
  const { dtype: code, shape, data_offsets: offsets } = v;
  if (code === undefined || shape === undefined || offsets === undefined)
    throw bad(`tensor '${name}': the header entry needs "dtype", "shape" and "data_offsets"`);
  if (typeof code !== "string") throw bad(`tensor '${name}': "dtype" is not a string`);
  const dtype = DTYPE_OF_CODE.get(code);
  if (dtype === undefined) throw bad(`tensor '${name}': unsupported dtype '${code.slice(0, 32)}'`);
  if (!Array.isArray(shape)) throw bad(`tensor '${name}': "shape" is not an array`);
  if (shape.length > MAX_DIMS) throw bad(`tensor '${name}': rank ${shape.length} is above the limit of ${MAX_DIMS}`);
  let numel = 1n;
  for (let i = 0; i < shape.length; i++) {
    const d = count(shape[i]);
    if (d === null)
      throw bad(`tensor '${name}': shape item ${i} is not a non-negative integer` + (Number.isInteger(shape[i]) && shape[i] > 0 ? " below 2^53" : ""));
    numel *= BigInt(d);
    if (numel > INT64_MAX) throw bad(`tensor '${name}': the element count overflows int64`);
  }
  const begin = Array.isArray(offsets) && offsets.length === 2 ? count(offsets[0]) : null;
  const end = Array.isArray(offsets) && offsets.length === 2 ? count(offsets[1]) : null;
  if (begin === null || end === null) throw bad(`tensor '${name}': "data_offsets" is not [begin, end] with non-negative integers`);
  if (begin > end || end > dataSize)
    throw bad(`tensor '${name}': data_offsets [${begin}, ${end}] are outside the data buffer of ${dataSize} bytes`);
  const nbytes = numel * BigInt(DTYPES[dtype].itemsize);
  if (nbytes > INT64_MAX) throw bad(`tensor '${name}': the byte count of the shape overflows int64`);
  if (nbytes !== BigInt(end - begin))
    throw bad(`tensor '${name}': data_offsets span ${end - begin} bytes, but dtype ${code} and the shape need ${nbytes}`);
  return { name, dtype, shape: shape.slice(), begin, end };
}

/**
 * Read a safetensors file.
 * @param {Uint8Array} bytes  the whole file
 * @returns {Map<string, {dtype: string, shape: number[], data: ArrayBufferView}>} in data order;
 *   dtype is the JAG name ("float32"), data a new TypedArray of ARRAY_TYPES[dtype]
 * @throws {JagError} E_TENSOR_DATA when the file is malformed
 */
export function readSafetensors(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
    else if (ArrayBuffer.isView(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    else throw bad("a safetensors file must be given as a Uint8Array");
  }
  const len = bytes.length;
  if (len < 8) throw bad(`${len} bytes is too short for a safetensors file`);
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (hlen > BigInt(len - 8)) throw bad(`the header length ${hlen} is beyond the end of the file (${len} bytes)`);
  const dataStart = 8 + Number(hlen);
  const dataSize = len - dataStart;
  let header;
  try {
    header = parseJson(bytes.subarray(8, dataStart), { maxDepth: HEADER_DEPTH });
  } catch (e) {
    if (e instanceof JagError) throw bad(`the header is not valid JSON: ${e.detail}`);
    throw e;
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw bad("the header is not a JSON object");
  const entries = [];
  for (const name of Object.keys(header)) {
    const v = header[name];
    if (name === "__metadata__") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad('"__metadata__" is not an object');
      for (const k of Object.keys(v))
        if (typeof v[k] !== "string") throw bad(`"__metadata__" value '${k.slice(0, 64)}' is not a string`);
      continue;
    }
    const e = parseEntry(name, v, dataSize);
    e.order = entries.length;
    entries.push(e);
  }
  entries.sort((x, y) => x.begin - y.begin || x.end - y.end || x.order - y.order);
  let expect = 0;
  for (const e of entries) {
    if (e.begin !== expect)
      throw bad(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] ${e.begin > expect ? "leave a gap in the data buffer" : "overlap another tensor"}`);
    expect = e.end;
  }
  if (expect !== dataSize) throw bad(`the tensors cover ${expect} bytes of a data buffer of ${dataSize} bytes`);
  const out = new Map();
  for (const e of entries) {
    const raw = bytes.slice(dataStart + e.begin, dataStart + e.end); // a copy: own, aligned buffer
    if (e.dtype === "bool") {
      for (let k = 0; k < raw.length; k++)
        if (raw[k] > 1) throw bad(`tensor '${e.name}': bool element ${k} is the byte ${raw[k]} (must be 0 or 1)`);
    }
    const itemsize = DTYPES[e.dtype].itemsize;
    if (!LITTLE_ENDIAN) swapBytes(raw, itemsize);
    const Type = ARRAY_TYPES[e.dtype];
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: new Type(raw.buffer, 0, raw.length / itemsize) });
  }
  return out;
}

/** JSON string literal of s as the C writer escapes it ('"', '\\', controls and DEL as \u00XX). */
function jsonString(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x20 || c === 0x7f) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

/** Does s hold a UTF-16 surrogate that is not part of a pair (so it has no UTF-8 form)? */
function hasLoneSurrogate(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return true;
  }
  return false;
}

const TAG = (x) => Object.prototype.toString.call(x).slice(8, -1);

/**
 * Write tensors as a safetensors file (header keys in the given order, padded with spaces
 * to a multiple of 8 bytes).
 * @param {Iterable<[string, {dtype: string, shape: number[], data: ArrayBufferView}]>} entries
 *   (an Array of pairs, or a Map); data is a TypedArray of ARRAY_TYPES[dtype] with numel elements
 * @returns {Uint8Array} the file
 * @throws {JagError} E_TENSOR_DATA for a bad name (not a string, "__metadata__", a duplicate,
 *   a lone surrogate), dtype, rank, shape, data type or length, or a bool byte other than 0/1
 */
export function writeSafetensors(entries) {
  const list = [...entries];
  const seen = new Set();
  const parts = [];
  let offset = 0;
  for (let i = 0; i < list.length; i++) {
    const pair = list[i];
    if (!Array.isArray(pair) || pair.length !== 2) throw bad(`cannot write a safetensors file: entry ${i} is not a [name, tensor] pair`);
    const [name, t] = pair;
    if (typeof name !== "string") throw bad(`cannot write a safetensors file: tensor ${i} has no name`);
    if (name === "__metadata__") throw bad("cannot write a safetensors file: a tensor cannot be named '__metadata__'");
    if (hasLoneSurrogate(name))
      throw bad(`cannot write a safetensors file: tensor name ${JSON.stringify(name)} holds a lone surrogate (not UTF-8)`);
    if (seen.has(name)) throw bad(`cannot write a safetensors file: two tensors are named '${name}'`);
    seen.add(name);
    if (t === null || typeof t !== "object") throw bad(`cannot write a safetensors file: tensor '${name}' is not a {dtype, shape, data} object`);
    const { dtype, shape, data } = t;
    if (typeof dtype !== "string" || !Object.prototype.hasOwnProperty.call(DTYPES, dtype))
      throw bad(`cannot write a safetensors file: tensor '${name}' has an invalid dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.length > MAX_DIMS)
      throw bad(`cannot write a safetensors file: tensor '${name}' has ${Array.isArray(shape) ? `rank ${shape.length}` : "no shape array"}`);
    let numel = 1;
    for (const d of shape) {
      if (count(d) === null) throw bad(`cannot write a safetensors file: tensor '${name}' has a bad shape [${shape.join(",")}]`);
      numel *= d;
    }
    const itemsize = DTYPES[dtype].itemsize;
    const nbytes = numel * itemsize;
    if (!Number.isSafeInteger(nbytes)) throw bad(`cannot write a safetensors file: tensor '${name}' has a bad shape [${shape.join(",")}]`);
    const want = ARRAY_TYPES[dtype].name;
    if (!ArrayBuffer.isView(data) || TAG(data) !== want)
      throw bad(`cannot write a safetensors file: tensor '${name}' (${dtype}) needs its data as a ${want}, got ${data === null || data === undefined ? data : TAG(data)}`);
    if (data.byteLength !== nbytes)
      throw bad(`cannot write a safetensors file: tensor '${name}' holds ${data.byteLength} bytes; its shape needs ${nbytes}`);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (dtype === "bool")
      for (let k = 0; k < raw.length; k++)
        if (raw[k] > 1) throw bad(`cannot write a safetensors file: tensor '${name}': bool element ${k} is ${raw[k]} (must be 0 or 1)`);
    parts.push(`${jsonString(name)}:{"dtype":"${DTYPES[dtype].safetensors}","shape":[${shape.join(",")}],"data_offsets":[${offset},${offset + nbytes}]}`);
    list[i] = { raw, itemsize, offset };
    offset += nbytes;
  }
  const header = new TextEncoder().encode("{" + parts.join(",") + "}");
  const hlen = Math.ceil(header.length / 8) * 8;
  const file = new Uint8Array(8 + hlen + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(hlen), true);
  file.set(header, 8);
  file.fill(0x20, 8 + header.length, 8 + hlen);
  const dataStart = 8 + hlen;
  for (const { raw, itemsize, offset: at } of list) {
    file.set(raw, dataStart + at);
    if (!LITTLE_ENDIAN) swapBytes(file.subarray(dataStart + at, dataStart + at + raw.length), itemsize);
  }
  return file;
}


// base64.js — strict standard base64 (RFC 4648 §4), the JS port of runtimes/c/src/util.c:
// alphabet A-Z a-z 0-9 + /, '=' padding to a multiple of 4 characters, padding only at the
// end, no whitespace or other characters (as Python's base64.b64decode(s, validate=True);
// non-zero trailing bits in the last quantum are accepted, as Python does).
// No atob/btoa, no Buffer: lookup tables only, so it runs the same in Node and browsers.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** char code -> 0..63, 64 for '=', 255 for anything else (codes >= 256 are checked apart). */
const DEC = new Uint8Array(256).fill(255);
for (let i = 0; i < 64; i++) DEC[ALPHABET.charCodeAt(i)] = i;
DEC[61] = 64;

/** Two characters (c1 * 256 + c0 over char codes < 128) -> 12 bits, or 0xFFFF if either is bad. */
const DEC2 = new Uint16Array(128 * 128).fill(0xffff);
for (let a = 0; a < 64; a++)
  for (let b = 0; b < 64; b++) DEC2[ALPHABET.charCodeAt(a) * 128 + ALPHABET.charCodeAt(b)] = (a << 6) | b;

function describeAt(str, i) {
  const c = str.charCodeAt(i);
  const shown = c >= 0x21 && c < 0x7f ? `'${str[i]}'` : `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
  return `character ${shown} at position ${i}`;
}

/** Exact decoded size of a well-formed string (checks length and padding only), else a reason string. */
function decodedSize(str) {
  const len = str.length;
  if (len % 4 !== 0) return `length ${len} is not a multiple of 4`;
  if (len === 0) return 0;
  let pad = 0;
  if (str.charCodeAt(len - 1) === 61) pad = str.charCodeAt(len - 2) === 61 ? 2 : 1;
  const before = str.charCodeAt(len - pad - 1);
  if (pad > 0 && (before >= 256 || DEC[before] >= 64)) return badReason(str, 0);
  return (len / 4) * 3 - pad;
}

/** Why a string known to be malformed is: its first offending character at or after `from`. */
function badReason(str, from) {
  const len = str.length;
  for (let i = from; i < len; i++) {
    const c = str.charCodeAt(i);
    const d = c < 256 ? DEC[c] : 255;
    if (d === 255) return `invalid ${describeAt(str, i)}`;
    if (d === 64) {
      // '=' is only allowed as the last one or two characters
      const rest = str.slice(i);
      if (rest !== "=" && rest !== "==" || (rest === "==" && i % 4 !== 2) || (rest === "=" && i % 4 !== 3))
        return `padding '=' at position ${i} is not at the end`;
    }
  }
  return "malformed";
}

/**
 * Decode strict standard base64.
 * @param {string} str
 * @returns {Uint8Array}
 * @throws {Error} with the reason (the caller wraps it, e.g. into E_TENSOR_DATA)
 */
export function decodeBase64(str) {
  if (typeof str !== "string") throw new Error("base64 data is not a string");
  const size = decodedSize(str);
  if (typeof size === "string") throw new Error(size);
  const out = new Uint8Array(size);
  if (size === 0) return out;
  const len = str.length;
  const full = len - 4; // quanta before the last one: no padding allowed
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const c0 = str.charCodeAt(i);
    const c1 = str.charCodeAt(i + 1);
    const c2 = str.charCodeAt(i + 2);
    const c3 = str.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 128) throw new Error(badReason(str, i));
    const hi = DEC2[c0 * 128 + c1];
    const lo = DEC2[c2 * 128 + c3];
    if ((hi | lo) === 0xffff) throw new Error(badReason(str, i));
    out[o] = hi >> 4;
    out[o + 1] = ((hi & 15) << 4) | (lo >> 8);
    out[o + 2] = lo;
    o += 3;
  }
  // last quantum: xxxx, xxx= or xx==
  const code = (k) => {
    const c = str.charCodeAt(full + k);
    return c < 256 ? DEC[c] : 255;
  };
  const a = code(0);
  const b = code(1);
  const d = code(2);
  const e = code(3);
  if (a >= 64 || b >= 64) throw new Error(badReason(str, full));
  const v = (a << 18) | (b << 12);
  out[o++] = v >>> 16;
  if (d === 64) {
    if (e !== 64) throw new Error(badReason(str, full));
  } else {
    if (d > 64) throw new Error(badReason(str, full));
    const w = v | (d << 6);
    out[o++] = (w >>> 8) & 255;
    if (e !== 64) {
      if (e > 64) throw new Error(badReason(str, full));
      out[o++] = (w | e) & 255;
    }
  }
  if (o !== size) throw new Error(badReason(str, full));
  return out;
}

const ENC_A = new Uint8Array(4096); // 12 bits -> first character code
const ENC_B = new Uint8Array(4096); // 12 bits -> second character code
for (let i = 0; i < 4096; i++) {
  ENC_A[i] = ALPHABET.charCodeAt(i >> 6);
  ENC_B[i] = ALPHABET.charCodeAt(i & 63);
}
const ASCII = new TextDecoder("utf-8");

/**
 * Encode bytes as standard base64 with '=' padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function encodeBase64(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    if (ArrayBuffer.isView(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    else throw new TypeError("encodeBase64: expected a Uint8Array");
  }
  const n = bytes.length;
  const full = n - (n % 3);
  const chunks = [];
  const CHUNK = 3 * 65536; // bytes per chunk
  for (let start = 0; start < full; start += CHUNK) {
    const stop = Math.min(full, start + CHUNK);
    const buf = new Uint8Array(((stop - start) / 3) * 4);
    let o = 0;
    for (let i = start; i < stop; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      const h = v >>> 12;
      const l = v & 4095;
      buf[o] = ENC_A[h];
      buf[o + 1] = ENC_B[h];
      buf[o + 2] = ENC_A[l];
      buf[o + 3] = ENC_B[l];
      o += 4;
    }
    chunks.push(ASCII.decode(buf));
  }
  const rest = n - full;
  if (rest === 1) {
    const v = bytes[full];
    chunks.push(ALPHABET[v >> 2] + ALPHABET[(v & 3) << 4] + "==");
  } else if (rest === 2) {
    const v = (bytes[full] << 8) | bytes[full + 1];
    chunks.push(ALPHABET[v >> 10] + ALPHABET[(v >> 4) & 63] + ALPHABET[(v & 15) << 2] + "=");
  }
  return chunks.join("");
}

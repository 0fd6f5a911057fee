// json.js — a strict JSON reader (RFC 8259), the JS port of runtimes/c/src/json.c.
//
// Strict like Python's json.loads with the checks of python/jag/serialize.py _parse_json:
// one value with optional whitespace (space, tab, CR, LF) around it; no NaN/Infinity, no
// comments, no trailing commas, no leading BOM; escapes are the RFC 8259 ones with \uXXXX
// surrogate pairs (a lone surrogate, escaped or raw, and "\u0000" are errors); raw control
// characters (below U+0020) in strings are errors; duplicate object keys are errors;
// nesting is limited to maxDepth containers.
//
// Values: objects are null-prototype objects (so "__proto__" or "constructor" are plain
// keys; note that, as for every JS object, integer-like keys are enumerated first), arrays
// are Arrays, numbers are Numbers exactly as JSON.parse reads them (integers above 2^53
// lose precision; "1e400" is Infinity), strings are strings.
//
// Errors: JagError("E_JSON", "line L, column C: reason") with 1-based lines (counted by
// '\n') and columns counted in characters (code points), as Python's json.JSONDecodeError.
// Positions are computed only when an error is reported.
//
// Speed: a string's end is found with indexOf('"') and its text taken with slice(); escapes
// are only decoded in strings that hold a backslash, so a model.json made of long base64
// strings parses at memory speed.
import { JagError } from "./errors.js";

const isDigit = (c) => c >= 48 && c <= 57;

/** Line and column (1-based, column in code points) of position pos of s. */
function where(s, pos) {
  if (pos > s.length) pos = s.length;
  let line = 1;
  let lineStart = 0;
  for (let i = s.indexOf("\n"); i !== -1 && i < pos; i = s.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let col = 0;
  for (let i = lineStart; i < pos; i++) {
    const c = s.charCodeAt(i);
    // a low surrogate right after a high surrogate is the second half of one character
    if (c >= 0xdc00 && c <= 0xdfff && i > lineStart) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) continue;
    }
    col++;
  }
  return [line, col + 1];
}

/** A printable description of the character at pos for messages. */
function describe(s, pos) {
  if (pos >= s.length) return "end of input";
  const c = s.codePointAt(pos);
  if (c >= 0x20 && c < 0x7f) return `character '${String.fromCharCode(c)}'`;
  return `character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}

const hex2 = (c) => c.toString(16).padStart(2, "0");
const hex4 = (c) => c.toString(16).padStart(4, "0");

class Parser {
  constructor(s, maxDepth) {
    this.s = s;
    this.n = s.length;
    this.pos = 0;
    this.maxDepth = maxDepth;
    this.bs = -2; // position of the next backslash at or after some earlier position; -1: none left
  }

  fail(pos, reason) {
    const [line, col] = where(this.s, pos);
    throw new JagError("E_JSON", `line ${line}, column ${col}: ${reason}`);
  }

  skipWs() {
    const s = this.s;
    const n = this.n;
    let i = this.pos;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.pos = i;
  }

  /** The next backslash at or after `from`, or -1 (amortised: positions only increase). */
  nextBackslash(from) {
    if (this.bs !== -1 && this.bs < from) this.bs = this.s.indexOf("\\", from);
    return this.bs;
  }

  document() {
    const s = this.s;
    if (this.n > 0 && s.charCodeAt(0) === 0xfeff) this.fail(0, "unexpected UTF-8 byte order mark (BOM) at the start");
    this.skipWs();
    if (this.pos >= this.n)
      this.fail(this.n, this.n === 0 ? "unexpected end of input (the text is empty)" : "unexpected end of input (expected a value)");
    const v = this.value(0);
    this.skipWs();
    if (this.pos < this.n) this.fail(this.pos, "trailing characters after the JSON value");
    return v;
  }

  /** The value at this.pos (whitespace skipped); depth = nesting depth of its container. */
  value(depth) {
    const s = this.s;
    if (this.pos >= this.n) this.fail(this.n, "unexpected end of input (expected a value)");
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 0x22: // "
        return this.string();
      case 0x7b: // {
      case 0x5b: // [
        if (depth >= this.maxDepth) this.fail(this.pos, `nesting deeper than ${this.maxDepth}`);
        return c === 0x7b ? this.object(depth + 1) : this.array(depth + 1);
      case 0x74: // t
        return this.word("true", true);
      case 0x66: // f
        return this.word("false", false);
      case 0x6e: // n
        return this.word("null", null);
      case 0x4e: // N
      case 0x49: // I
        if (s.startsWith("NaN", this.pos) || s.startsWith("Infinity", this.pos))
          this.fail(this.pos, `'${c === 0x4e ? "NaN" : "Infinity"}' is not valid JSON (write non-finite floats as the strings "inf", "-inf", "nan")`);
        return this.fail(this.pos, `expected a value, got ${describe(s, this.pos)}`);
      case 0x2d: // -
        if (s.startsWith("Infinity", this.pos + 1))
          this.fail(this.pos, `'-Infinity' is not valid JSON (write non-finite floats as the strings "inf", "-inf", "nan")`);
        return this.number();
      default:
        if (isDigit(c)) return this.number();
        return this.fail(this.pos, `expected a value, got ${describe(s, this.pos)}`);
    }
  }

  word(w, v) {
    const s = this.s;
    if (!s.startsWith(w, this.pos)) {
      const rest = this.n - this.pos;
      if (rest < w.length && w.startsWith(s.slice(this.pos))) this.fail(this.n, `unexpected end of input in '${w}'`);
      this.fail(this.pos, `invalid literal (expected '${w}')`);
    }
    this.pos += w.length;
    return v;
  }

  number() {
    const s = this.s;
    const n = this.n;
    const start = this.pos;
    let i = start;
    let neg = false;
    if (s.charCodeAt(i) === 0x2d) {
      neg = true;
      i++;
    }
    if (i >= n) this.fail(n, "unexpected end of input in a number");
    let c = s.charCodeAt(i);
    let v = 0;
    if (c === 0x30) {
      i++;
      if (i < n && isDigit(s.charCodeAt(i))) this.fail(start, "invalid number (leading zero)");
    } else if (isDigit(c)) {
      while (i < n && isDigit((c = s.charCodeAt(i)))) {
        v = v * 10 + (c - 48);
        i++;
      }
    } else {
      this.fail(start, "invalid number");
    }
    const intEnd = i;
    let integral = true;
    if (i < n && s.charCodeAt(i) === 0x2e) {
      integral = false;
      i++;
      if (i >= n) this.fail(n, "unexpected end of input in a number");
      if (!isDigit(s.charCodeAt(i))) this.fail(start, "invalid number (digits must follow '.')");
      while (i < n && isDigit(s.charCodeAt(i))) i++;
    }
    if (i < n && ((c = s.charCodeAt(i)) === 0x65 || c === 0x45)) {
      integral = false;
      i++;
      if (i < n && ((c = s.charCodeAt(i)) === 0x2b || c === 0x2d)) i++;
      if (i >= n) this.fail(n, "unexpected end of input in a number");
      if (!isDigit(s.charCodeAt(i))) this.fail(start, "invalid number (digits must follow the exponent)");
      while (i < n && isDigit(s.charCodeAt(i))) i++;
    }
    if (i < n) {
      c = s.charCodeAt(i);
      if (isDigit(c) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x5f || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a))
        this.fail(start, "invalid number");
    }
    this.pos = i;
    // up to 15 digits the accumulated value is exact; else let Number() round correctly
    if (integral && intEnd - start - (neg ? 1 : 0) <= 15) return neg ? -v : v;
    return Number(s.slice(start, i));
  }

  /** Check raw string text s[from, to) for control characters and lone surrogates. */
  checkRaw(from, to) {
    const s = this.s;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20) this.fail(i, `control character in string (U+${hex4(c).toUpperCase()}); write it as an escape`);
      if (c >= 0xd800 && c <= 0xdfff) {
        if (c <= 0xdbff && i + 1 < to) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            i++;
            continue;
          }
        }
        this.fail(i, `invalid character in string: lone surrogate U+${hex4(c).toUpperCase()} (not valid UTF-8)`);
      }
    }
  }

  /** The string starting at the opening quote this.pos; leaves this.pos after the closing quote. */
  string() {
    const s = this.s;
    const n = this.n;
    const open = this.pos;
    const start = open + 1;
    let q = s.indexOf('"', start);
    const b = this.nextBackslash(start);
    if (b === -1 || (q !== -1 && b > q)) {
      // fast path: no escapes
      if (q === -1) {
        this.checkRaw(start, n);
        this.fail(open, "unterminated string (unexpected end of input)");
      }
      this.checkRaw(start, q);
      this.pos = q + 1;
      return s.slice(start, q);
    }
    // escapes: decode piecewise
    const parts = [];
    let i = start;
    for (;;) {
      if (q !== -1 && q < i) q = s.indexOf('"', i);
      const bs = this.nextBackslash(i);
      if (bs === -1 || (q !== -1 && bs > q)) {
        if (q === -1) {
          this.checkRaw(i, n);
          this.fail(open, "unterminated string (unexpected end of input)");
        }
        this.checkRaw(i, q);
        parts.push(s.slice(i, q));
        this.pos = q + 1;
        return parts.join("");
      }
      if (bs > i) {
        this.checkRaw(i, bs);
        parts.push(s.slice(i, bs));
      }
      i = this.escape(bs, parts);
    }
  }

  /** Decode the escape at s[i] === '\\' into parts; returns the position after it. */
  escape(i, parts) {
    const s = this.s;
    const n = this.n;
    if (i + 1 >= n) this.fail(n, "unexpected end of input in a string");
    const e = s.charCodeAt(i + 1);
    switch (e) {
      case 0x22: parts.push('"'); return i + 2;
      case 0x5c: parts.push("\\"); return i + 2;
      case 0x2f: parts.push("/"); return i + 2;
      case 0x62: parts.push("\b"); return i + 2;
      case 0x66: parts.push("\f"); return i + 2;
      case 0x6e: parts.push("\n"); return i + 2;
      case 0x72: parts.push("\r"); return i + 2;
      case 0x74: parts.push("\t"); return i + 2;
      case 0x75: break; // u
      default:
        this.fail(i, `invalid escape '\\${e >= 0x20 && e < 0x7f ? String.fromCharCode(e) : "?"}'`);
    }
    const u = this.hex4At(i + 2);
    if (u < 0) {
      if (n - i < 6 && /^[0-9a-fA-F]*$/.test(s.slice(i + 2))) this.fail(n, "unexpected end of input in a string");
      this.fail(i, "invalid escape: \\u needs four hex digits");
    }
    if (u === 0) this.fail(i, "\\u0000 is not allowed in strings");
    if (u >= 0xdc00 && u <= 0xdfff) this.fail(i, `invalid escape: lone low surrogate \\u${hex4(u)}`);
    if (u >= 0xd800 && u <= 0xdbff) {
      const lo = s.charCodeAt(i + 6) === 0x5c && s.charCodeAt(i + 7) === 0x75 ? this.hex4At(i + 8) : -1;
      if (lo < 0xdc00 || lo > 0xdfff) {
        // a cut pair at the very end of the text is a truncation
        if (n - i < 12 && /^(\\(u[0-9a-fA-F]{0,3})?)?$/.test(s.slice(i + 6))) this.fail(n, "unexpected end of input in a string");
        this.fail(i, `invalid escape: lone high surrogate \\u${hex4(u)}`);
      }
      parts.push(String.fromCharCode(u, lo));
      return i + 12;
    }
    parts.push(String.fromCharCode(u));
    return i + 6;
  }

  /** Four hex digits at s[i..i+4), or -1. */
  hex4At(i) {
    const s = this.s;
    if (i + 4 > this.n) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = s.charCodeAt(i + k);
      let h;
      if (c >= 48 && c <= 57) h = c - 48;
      else if (c >= 97 && c <= 102) h = c - 87;
      else if (c >= 65 && c <= 70) h = c - 55;
      else return -1;
      v = v * 16 + h;
    }
    return v;
  }

  array(depth) {
    const s = this.s;
    const out = [];
    this.pos++; // [
    this.skipWs();
    if (this.pos < this.n && s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWs();
      if (this.pos >= this.n) this.fail(this.n, "unexpected end of input (expected ',' or ']')");
      const c = s.charCodeAt(this.pos);
      if (c === 0x5d) {
        this.pos++;
        return out;
      }
      if (c !== 0x2c) this.fail(this.pos, `expected ',' or ']', got ${describe(s, this.pos)}`);
      this.pos++;
      this.skipWs();
    }
  }

  object(depth) {
    const s = this.s;
    const out = Object.create(null);
    this.pos++; // {
    this.skipWs();
    if (this.pos < this.n && s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.pos >= this.n) this.fail(this.n, "unexpected end of input (expected a key string)");
      if (s.charCodeAt(this.pos) !== 0x22) this.fail(this.pos, `expected a key string in double quotes, got ${describe(s, this.pos)}`);
      const keyPos = this.pos;
      const key = this.string();
      if (key in out) this.fail(keyPos, `duplicate key '${key.length > 200 ? key.slice(0, 200) + "..." : key}'`);
      this.skipWs();
      if (this.pos >= this.n) this.fail(this.n, "unexpected end of input (expected ':')");
      if (s.charCodeAt(this.pos) !== 0x3a) this.fail(this.pos, `expected ':' after a key, got ${describe(s, this.pos)}`);
      this.pos++;
      this.skipWs();
      out[key] = this.value(depth);
      this.skipWs();
      if (this.pos >= this.n) this.fail(this.n, "unexpected end of input (expected ',' or '}')");
      const c = s.charCodeAt(this.pos);
      if (c === 0x7d) {
        this.pos++;
        return out;
      }
      if (c !== 0x2c) this.fail(this.pos, `expected ',' or '}', got ${describe(s, this.pos)}`);
      this.pos++;
      this.skipWs();
    }
  }
}

/** Length of the valid UTF-8 sequence at b[i] (lead byte >= 0x80), 0 if invalid, -1 if cut by the end. */
function utf8Seq(b, i) {
  const c = b[i];
  let n;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c === 0xe0) { n = 3; lo = 0xa0; }
  else if (c === 0xed) { n = 3; hi = 0x9f; }
  else if (c >= 0xe1 && c <= 0xef) n = 3;
  else if (c === 0xf0) { n = 4; lo = 0x90; }
  else if (c === 0xf4) { n = 4; hi = 0x8f; }
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else return 0;
  for (let k = 1; k < n; k++) {
    if (i + k >= b.length) return -1;
    const d = b[i + k];
    if (k === 1 ? d < lo || d > hi : (d & 0xc0) !== 0x80) return 0;
  }
  return n;
}

/** Strict UTF-8 decoding of JSON bytes (a BOM is kept, so that the parser rejects it). */
function decodeUtf8(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    let i = 0;
    for (; i < bytes.length; i++) {
      if (bytes[i] < 0x80) continue;
      const k = utf8Seq(bytes, i);
      if (k <= 0) break;
      i += k - 1;
    }
    const prefix = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(0, i));
    const [line, col] = where(prefix, prefix.length);
    const reason = i < bytes.length && utf8Seq(bytes, i) === -1
      ? "unexpected end of input (a UTF-8 sequence is cut)"
      : `invalid UTF-8 (byte 0x${hex2(bytes[i] ?? 0)})`;
    throw new JagError("E_JSON", `line ${line}, column ${col}: ${reason}`);
  }
}

/**
 * Parse JSON text strictly (RFC 8259).
 * @param {string|Uint8Array} text  the JSON text, or its UTF-8 bytes (validated strictly)
 * @param {{maxDepth?: number}} [options]  the deepest nesting of arrays/objects allowed
 * @returns {*} the value (objects have a null prototype)
 * @throws {JagError} E_JSON "line L, column C: reason"
 */
export function parseJson(text, { maxDepth = 64 } = {}) {
  if (text instanceof Uint8Array) text = decodeUtf8(text);
  if (typeof text !== "string") throw new TypeError("parseJson: text must be a string or a Uint8Array");
  try {
    return new Parser(text, maxDepth).document();
  } catch (e) {
    if (e instanceof RangeError) throw new JagError("E_JSON", "line 1, column 1: arrays or objects are nested too deeply");
    throw e;
  }
}

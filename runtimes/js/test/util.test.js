// util.test.js — tests of the runtime utilities: json.js, base64.js, sha256.js,
// safetensors.js, dims.js. Expected values come from Python (json, base64, safetensors,
// jag.symbolic in the venv) and NIST, pasted as literals.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { parseJson } from "../src/json.js";
import { decodeBase64, encodeBase64 } from "../src/base64.js";
import { sha256, sha256Hex } from "../src/sha256.js";
import { readSafetensors, writeSafetensors } from "../src/safetensors.js";
import { checkDim, bareDimName, dimNames, evalDim } from "../src/dims.js";
import { JagError } from "../src/errors.js";

/** A deterministic PRNG (mulberry32) returning floats in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deep copy with ordinary prototypes, to compare with JSON.parse results. */
function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: plain(v[k]), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

/** Assert that fn throws a JagError with the code, and (optionally) a detail matching re. */
function throwsJag(fn, code, re) {
  let err = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${code}, nothing was thrown`);
  assert.ok(err instanceof JagError, `expected a JagError ${code}, got ${err}`);
  assert.equal(err.code, code, err.message);
  if (re) assert.match(err.detail, re);
  return err;
}

const jsonErr = (text, re, opts) => throwsJag(() => parseJson(text, opts), "E_JSON", re);

// ------------------------------------------------------------------ JSON

const SAMPLE = `{
  "format": "jag", "version": "1.0", "opset": 1,
  "inputs": [{"name": "x", "dtype": "float32", "shape": ["N", 3]}],
  "nodes": [{"op": "add", "inputs": ["x", "w"], "outputs": ["y"], "attrs": {"alpha": -1.5e-3, "axes": [0, -1], "flag": true, "none": null}}],
  "tensors": [{"name": "w", "dtype": "float32", "shape": [3], "base64": "AACAPwAAAEAAAEBA"}],
  "doc": "caf\\u00e9 \\"quoted\\" \\\\ \\/ \\b\\f\\n\\r\\t \\ud83d\\ude00 naïve 😀",
  "numbers": [0, -0, 1E+2, 1e-2, 0.1, 123456789012345678901234567890, 9007199254740993, -9007199254740993, 1e400, -1e400, 5e-324, 2.5],
  "empty": [{}, [], ""]
}
`;

describe("parseJson", () => {
  test("valid documents read as JSON.parse reads them", () => {
    const docs = [SAMPLE, "0", "-0", "[]", "{}", '""', "true", "false", "null", " \t\r\n[1 , 2]\n ", '"\\u0041\\u00e9\\u20ac"',
      '{"a":{"b":{"c":[1,[2,[3]]]}}}', '["a\\\\", "\\\\", "\\"", "x\\\\\\"y"]', "1.5e308", "123456789012345"];
    for (const d of docs) assert.deepStrictEqual(plain(parseJson(d)), JSON.parse(d), d);
    const v = parseJson(SAMPLE);
    assert.equal(v.doc, 'café "quoted" \\ / \b\f\n\r\t 😀 naïve 😀');
    assert.ok(Object.is(v.numbers[1], -0));
    assert.equal(v.numbers[6], 9007199254740992);
    assert.equal(v.numbers[8], Infinity);
    assert.equal(v.numbers[9], -Infinity);
    assert.equal(v.numbers[10], 5e-324);
  });

  test("objects have a null prototype; __proto__ is an ordinary key", () => {
    const v = parseJson('{"__proto__": {"polluted": 1}, "constructor": 2, "toString": 3}');
    assert.equal(Object.getPrototypeOf(v), null);
    assert.deepEqual(Object.keys(v), ["__proto__", "constructor", "toString"]);
    assert.equal(v.__proto__.polluted, 1);
    assert.equal(v.constructor, 2);
    assert.equal({}.polluted, undefined);
    assert.equal(parseJson('{"hasOwnProperty": 1, "hasOwnProperty ": 2}').hasOwnProperty, 1);
    jsonErr('{"__proto__": 1, "__proto__": 2}', /duplicate key '__proto__'/);
    jsonErr('{"toString": 1, "toString": 2}', /duplicate key/);
  });

  test("bytes input: strict UTF-8, BOM rejected", () => {
    const enc = new TextEncoder();
    assert.equal(parseJson(enc.encode('"naïve 😀"')), "naïve 😀");
    assert.deepStrictEqual(plain(parseJson(enc.encode(SAMPLE))), JSON.parse(SAMPLE));
    jsonErr(new Uint8Array([0x22, 0x61, 0xff, 0x22]), /^line 1, column 3: invalid UTF-8 \(byte 0xff\)/);
    jsonErr(new Uint8Array([0x5b, 0x0a, 0x22, 0xc0, 0x80, 0x22, 0x5d]), /^line 2, column 2: invalid UTF-8 \(byte 0xc0\)/); // overlong
    jsonErr(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), /invalid UTF-8 \(byte 0xed\)/); // encoded surrogate
    jsonErr(new Uint8Array([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), /invalid UTF-8/); // above U+10FFFF
    jsonErr(new Uint8Array([0x22, 0xe2, 0x82]), /^line 1, column 2: unexpected end of input/); // cut sequence
    jsonErr(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), /^line 1, column 1: unexpected UTF-8 byte order mark/);
    jsonErr("\ufeff{}", /byte order mark/);
  });

  test("every proper prefix of a valid document is an error", () => {
    for (let i = 0; i < SAMPLE.trimEnd().length; i++) jsonErr(SAMPLE.slice(0, i));
    const bytes = new TextEncoder().encode(SAMPLE.trimEnd());
    for (let i = 0; i < bytes.length; i++) jsonErr(bytes.subarray(0, i));
    // truncations report the end of the text
    jsonErr('["abc', /^line 1, column 2: unterminated string/);
    jsonErr('["\\u00', /^line 1, column 7: unexpected end of input in a string/);
    jsonErr('["\\ud83d\\ude', /^line 1, column 13: unexpected end of input in a string/);
    jsonErr('["\\ud83d', /unexpected end of input in a string/);
    jsonErr("[tr", /^line 1, column 4: unexpected end of input in 'true'/);
    jsonErr("[1.", /unexpected end of input in a number/);
    jsonErr("[1e+", /unexpected end of input in a number/);
    jsonErr("-", /unexpected end of input in a number/);
    jsonErr('{"a"', /expected ':'/);
    jsonErr('{"a":1', /expected ',' or '}'/);
    jsonErr("[1", /expected ',' or '\]'/);
  });

  test("random mutations: only E_JSON, and agreement with JSON.parse", () => {
    const rand = rng(1234);
    const alphabet = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "0", "1", "-", "+", ".", "e", "E", "u", "d", "8", "a", "t", "n", "\t", "\u0001", "\ud800", "\udc00", "/", "N", "I", "x"];
    const base = [SAMPLE, '{"a": [1, 2.5, "x\\ny", {"b": null}], "c": "\\ud83d\\ude00", "d": -0.5e10}'];
    let parsed = 0;
    for (let k = 0; k < 4000; k++) {
      let s = base[k % 2];
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (s.length + 1));
        const ch = alphabet[Math.floor(rand() * alphabet.length)];
        const kind = rand();
        if (kind < 0.33) s = s.slice(0, at) + ch + s.slice(at);
        else if (kind < 0.66) s = s.slice(0, at) + s.slice(at + 1);
        else s = s.slice(0, at) + ch + s.slice(at + 1);
      }
      let ours;
      let ok = true;
      let why = "";
      try {
        ours = parseJson(s);
      } catch (e) {
        assert.ok(e instanceof JagError && e.code === "E_JSON", `${JSON.stringify(s)}: ${e}`);
        assert.match(e.detail, /^line \d+, column \d+: /);
        why = e.detail;
        ok = false;
      }
      let theirs;
      let theirsOk = true;
      try {
        theirs = JSON.parse(s);
      } catch {
        theirsOk = false;
      }
      if (ok) {
        parsed++;
        assert.ok(theirsOk, `accepted what JSON.parse rejects: ${JSON.stringify(s)}`);
        assert.deepStrictEqual(plain(ours), theirs);
      } else if (theirsOk) {
        // only the stricter rules reject what JSON.parse accepts: duplicate keys, lone surrogates, \u0000
        assert.match(why, /duplicate key|surrogate|\\u0000/, JSON.stringify(s));
      }
    }
    assert.ok(parsed > 100, `only ${parsed} mutations parsed`);
  });

  test("nesting depth", () => {
    const nest = (n) => "[".repeat(n) + "]".repeat(n);
    assert.equal(JSON.stringify(parseJson(nest(64))), nest(64));
    jsonErr(nest(65), /^line 1, column 65: nesting deeper than 64/);
    jsonErr('{"a":'.repeat(65) + "1" + "}".repeat(65), /nesting deeper than 64/);
    parseJson(nest(3), { maxDepth: 3 });
    jsonErr(nest(4), /nesting deeper than 3/, { maxDepth: 3 });
    jsonErr("[]", /nesting deeper than 0/, { maxDepth: 0 });
    assert.equal(parseJson("1", { maxDepth: 0 }), 1);
    jsonErr(nest(200000)); // far deeper: still E_JSON, no stack overflow
    jsonErr("[".repeat(200000), undefined, { maxDepth: Infinity });
  });

  test("duplicate keys", () => {
    jsonErr('{"a": 1, "a": 2}', /^line 1, column 10: duplicate key 'a'/);
    jsonErr('{"a": {"b": 1, "c": {"b": 2, "b": 3}}}', /duplicate key 'b'/);
    const many = "{" + Array.from({ length: 100 }, (_, i) => `"k${i}": ${i}`).join(", ");
    assert.equal(Object.keys(parseJson(many + "}")).length, 100);
    jsonErr(many + ', "k57": 0}', /duplicate key 'k57'/);
    jsonErr('{"a\\u0062": 1, "ab": 2}', /duplicate key 'ab'/); // equal after decoding
    assert.deepEqual(Object.keys(parseJson('{"a": 1, "A": 2, "a ": 3}')), ["a", "A", "a "]);
  });

  test("error positions (lines, columns in characters) as Python's json", () => {
    // [text, line, column] from Python's json.JSONDecodeError for the same texts
    const cases = [
      ['{\n  "a": [1, 2,, 3]\n}', 2, 14], ["[1, 2", 1, 6], ['{"x": "ab', 1, 7], ['["😀😀", x]', 1, 8], ["[1 2]", 1, 4],
      ['{"a" 1}', 1, 6], ['"\\x"', 1, 2], ["[1]x", 1, 4], ["  ", 1, 3], ["[-]", 1, 2], ['{"a":1,}', 1, 8], ["[1,]", 1, 4],
      ['"a\tb"', 1, 3], ["\n\n   [1, 2, tru]", 3, 11],
    ];
    for (const [text, line, col] of cases) jsonErr(text, new RegExp(`^line ${line}, column ${col}: `));
    jsonErr("\r\n[\r x]", /^line 2, column 4: expected a value, got character 'x'/); // only LF starts a line
  });

  test("rejected inputs", () => {
    const bad = [
      ["", /the text is empty/], [" \n ", /expected a value/], ["NaN", /'NaN' is not valid JSON/], ["[Infinity]", /'Infinity' is not valid JSON/],
      ["[-Infinity]", /'-Infinity' is not valid JSON/], ["[1, nan]", /invalid literal \(expected 'null'\)/], ['"\\u0000"', /\\u0000 is not allowed/],
      ['"\\ud800"', /lone high surrogate/], ['"\\udc00"', /lone low surrogate/], ['"\\ud800\\u0041"', /lone high surrogate/],
      ['"\\ud800x"', /lone high surrogate/], ['"a\ud800b"', /lone surrogate U\+D800/], ['"a\udc00"', /lone surrogate U\+DC00/],
      ['"\ud800\\udc00"', /lone surrogate U\+D800/], ['"\n"', /control character/], ['"\u001f"', /control character/],
      ["[1] [2]", /trailing characters/], ["{} x", /trailing characters/], ["01", /leading zero/], ["-01", /leading zero/],
      ["1.", /unexpected end of input in a number/], ["1.e5", /digits must follow '.'/], ["1e", /unexpected end/],
      ["1ea", /digits must follow the exponent/], [".5", /expected a value/], ["+1", /expected a value/], ["1x", /invalid number/],
      ["0x10", /invalid number/], ["[1,]", /expected a value/], ['{"a":1,}', /expected a key string/], ["{1:2}", /expected a key string/],
      ["{'a':1}", /expected a key string/], ['{"a":1 "b":2}', /expected ',' or '}'/], ["[1:2]", /expected ',' or '\]'/],
      ["[\u00a0]", /expected a value, got character U\+00A0/], ["\f[]", /expected a value/], ["[\v]", /expected a value/],
      ["/* c */ 1", /expected a value/], ['"\\a"', /invalid escape '\\a'/], ['"\\u12G4"', /four hex digits/], ["'a'", /expected a value/],
      ["True", /expected a value/], ["nul", /unexpected end of input in 'null'/], ["nulL", /invalid literal/],
    ];
    for (const [text, re] of bad) jsonErr(text, re);
    assert.throws(() => parseJson(42), TypeError);
  });

  test("long strings and escapes", () => {
    const long = "A".repeat(1 << 20);
    assert.equal(parseJson(`["${long}", "${long}x"]`)[1].length, (1 << 20) + 1);
    assert.equal(parseJson(`"${long}\\n${long}"`), long + "\n" + long);
    assert.equal(parseJson(`"${long}\\\\"`), long + "\\");
    assert.equal(parseJson('"\\\\\\\\"'), "\\\\");
    assert.equal(parseJson('"\\"\\""'), '""');
    assert.equal(parseJson('["\\\\", "\\""]')[1], '"');
    jsonErr(`"${long}\n"`, new RegExp(`^line 1, column ${(1 << 20) + 2}: control character`));
    // a backslash far after many plain strings (the amortised backslash search)
    const many = "[" + Array.from({ length: 1000 }, (_, i) => `"s${i}"`).join(",") + ', "a\\tb"]';
    const v = parseJson(many);
    assert.equal(v[999], "s999");
    assert.equal(v[1000], "a\tb");
    // speed: 20 MB of base64-like strings in well under a second
    const big = "[" + Array.from({ length: 20 }, () => `"${"QUJD".repeat(250000)}"`).join(",") + "]";
    const t0 = performance.now();
    assert.equal(parseJson(big).length, 20);
    assert.ok(performance.now() - t0 < 1000);
  });
});

// ------------------------------------------------------------------ base64

describe("base64", () => {
  const enc = new TextEncoder();
  test("RFC 4648 vectors", () => {
    const vectors = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
    for (const [raw, b64] of vectors) {
      assert.equal(encodeBase64(enc.encode(raw)), b64);
      assert.deepEqual(decodeBase64(b64), enc.encode(raw));
    }
    assert.deepEqual(decodeBase64("+/+/"), new Uint8Array([0xfb, 0xff, 0xbf]));
  });

  test("round trips against Buffer", () => {
    const rand = rng(7);
    for (let n = 0; n < 300; n++) {
      const b = new Uint8Array(n).map(() => Math.floor(rand() * 256));
      const s = encodeBase64(b);
      assert.equal(s, Buffer.from(b).toString("base64"));
      assert.deepEqual(decodeBase64(s), b);
    }
    const big = new Uint8Array(600001).map((_, i) => (i * 7919) & 255);
    assert.equal(encodeBase64(big), Buffer.from(big).toString("base64"));
    assert.deepEqual(decodeBase64(Buffer.from(big).toString("base64")), big);
    assert.equal(encodeBase64(new Float32Array([1, 2])), "AACAPwAAAEA="); // any view: its bytes
  });

  test("strict: what Python's b64decode(validate=True) rejects, and more", () => {
    // accepted as by Python: non-zero trailing bits
    assert.deepEqual(decodeBase64("AB=="), new Uint8Array([0]));
    assert.deepEqual(decodeBase64("AAB="), new Uint8Array([0, 0]));
    const bad = [
      ["A===", /padding/], ["====", /padding/], ["AA=A", /padding/], ["AA==AAAA", /padding '=' at position 2 is not at the end/],
      ["AAAAA", /length 5 is not a multiple of 4/], ["Zg", /length/], ["Zm9v\n", /length/], ["Zm9v Zm9", /invalid character U\+0020 at position 4/],
      ["Zm9-", /invalid character '-'/], ["Zm9_", /invalid character '_'/], ["AB=", /length/], ["=AAA", /padding|invalid/], ["A", /length/],
      ["Zm9v\nZm9", /invalid character U\+000A at position 4/], ["Zm9vZm\u00e9=", /invalid character U\+00E9/],
      ["Zm9\u0141", /invalid character U\+0141/], ["\u0141Zm9vZm9", /invalid character U\+0141 at position 0/], // low byte 0x41 is 'A'
      ["Zm9vZ\u0141==", /invalid/], ["Zm=v", /not at the end/],
    ];
    for (const [s, re] of bad) assert.throws(() => decodeBase64(s), (e) => e instanceof Error && !(e instanceof JagError) && re.test(e.message), s);
    assert.throws(() => decodeBase64(null), /not a string/);
  });
});

// ------------------------------------------------------------------ SHA-256

describe("sha256", () => {
  const enc = new TextEncoder();
  test("NIST vectors", () => {
    assert.equal(sha256Hex(enc.encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(sha256Hex(new Uint8Array(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(sha256Hex(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    assert.equal(sha256Hex(enc.encode("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    assert.equal(sha256Hex(new Uint8Array(1000000).fill(0x61)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert.equal(sha256(enc.encode("abc")).length, 32);
  });

  test("every length around the padding boundaries, subarrays, against node:crypto", () => {
    const all = new Uint8Array(1100).map((_, i) => (i * 31 + 7) & 255);
    for (const n of [...Array(140).keys(), 191, 192, 193, 255, 256, 1000, 1023, 1024, 1025]) {
      const b = all.subarray(3, 3 + n); // unaligned view of a larger buffer
      assert.equal(sha256Hex(b), createHash("sha256").update(b).digest("hex"), `length ${n}`);
    }
  });
});

// ------------------------------------------------------------------ safetensors

// Written by Python: safetensors.numpy.save({"x": float32 [[1.5, -0.0, nan], [inf, -inf, 3.25]],
// "d": float64 [0.1, -2.5e300], "i": int32 [-2^31, 2^31-1, 7], "l": int64 [-2^63, 2^63-1, 2^53+1],
// "u": uint8 [[0, 255]], "b": bool [True, False, True], "s": float64 scalar 3.0,
// "z": float32 zeros (0, 3)}, metadata={"format": "np"})
const PY_BUNDLE =
  "4AEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJucCJ9LCJsIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOlszXSwiZGF0YV9vZmZzZXRzIjpbMCwyNF19LCJkIjp7ImR0eXBlIjoiRjY0Iiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMjQsNDBdfSwicyI6eyJkdHlwZSI6IkY2NCIsInNoYXBlIjpbXSwiZGF0YV9vZmZzZXRzIjpbNDAsNDhdfSwieCI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMiwzXSwiZGF0YV9vZmZzZXRzIjpbNDgsNzJdfSwieiI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMCwzXSwiZGF0YV9vZmZzZXRzIjpbNzIsNzJdfSwiaSI6eyJkdHlwZSI6IkkzMiIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6WzcyLDg0XX0sInUiOnsiZHR5cGUiOiJVOCIsInNoYXBlIjpbMSwyXSwiZGF0YV9vZmZzZXRzIjpbODQsODZdfSwiYiI6eyJkdHlwZSI6IkJPT0wiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOls4Niw4OV19fSAgICAAAAAAAAAAgP////////9/AQAAAAAAIACamZmZmZm5PwOTAKpL3U3+AAAAAAAACEAAAMA/AAAAgAAAwH8AAIB/AACA/wAAUEAAAACA////fwcAAAAA/wEAAQ==";

/** A safetensors file from a header object or text and data bytes. */
function makeFile(header, data = new Uint8Array(0), hlenOverride) {
  const h = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const f = new Uint8Array(8 + h.length + data.length);
  new DataView(f.buffer).setBigUint64(0, BigInt(hlenOverride ?? h.length), true);
  f.set(h, 8);
  f.set(data, 8 + h.length);
  return f;
}

const stErr = (bytes, re) => throwsJag(() => readSafetensors(bytes), "E_TENSOR_DATA", re);

describe("safetensors", () => {
  test("reads a bundle written by Python's safetensors", () => {
    const m = readSafetensors(new Uint8Array(Buffer.from(PY_BUNDLE, "base64")));
    assert.deepEqual([...m.keys()], ["l", "d", "s", "x", "z", "i", "u", "b"]); // data order
    const x = m.get("x");
    assert.equal(x.dtype, "float32");
    assert.deepEqual(x.shape, [2, 3]);
    assert.ok(x.data instanceof Float32Array);
    assert.deepEqual([...x.data], [1.5, -0, NaN, Infinity, -Infinity, 3.25]);
    assert.ok(Object.is(x.data[1], -0));
    assert.deepEqual(m.get("d"), { dtype: "float64", shape: [2], data: new Float64Array([0.1, -2.5e300]) });
    assert.deepEqual(m.get("i"), { dtype: "int32", shape: [3], data: new Int32Array([-2147483648, 2147483647, 7]) });
    assert.deepEqual(m.get("l"), { dtype: "int64", shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n]) });
    assert.deepEqual(m.get("u"), { dtype: "uint8", shape: [1, 2], data: new Uint8Array([0, 255]) });
    assert.deepEqual(m.get("b"), { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) });
    assert.deepEqual(m.get("s"), { dtype: "float64", shape: [], data: new Float64Array([3]) });
    assert.deepEqual(m.get("z"), { dtype: "float32", shape: [0, 3], data: new Float32Array(0) });
  });

  test("reads from an unaligned view and copies the data", () => {
    const file = new Uint8Array(Buffer.from(PY_BUNDLE, "base64"));
    const host = new Uint8Array(file.length + 3);
    host.set(file, 3);
    const view = host.subarray(3);
    const m = readSafetensors(view);
    assert.equal(m.get("d").data[1], -2.5e300);
    assert.equal(m.get("d").data.byteOffset, 0);
    host.fill(0);
    assert.equal(m.get("l").data[2], 2n ** 53n + 1n);
  });

  test("round trip of every dtype, header layout as Python reads it", () => {
    const entries = [
      ["x", { dtype: "float32", shape: [2, 3], data: new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 3.25]) }],
      ["l", { dtype: "int64", shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n]) }],
      ["b", { dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 1]) }],
      ["s", { dtype: "float64", shape: [], data: new Float64Array([3]) }],
      ["z", { dtype: "float32", shape: [0, 3], data: new Float32Array(0) }],
      ["i", { dtype: "int32", shape: [1], data: new Int32Array([-5]) }],
      ["u", { dtype: "uint8", shape: [2], data: new Uint8Array([0, 255]) }],
      ['naïve "q"\n', { dtype: "float64", shape: [1], data: new Float64Array([0.1]) }],
    ];
    const file = writeSafetensors(entries);
    // this exact file was read back by Python's safetensors.numpy.load_file with the same values
    const hlen = Number(new DataView(file.buffer).getBigUint64(0, true));
    assert.equal(hlen % 8, 0);
    assert.equal(new TextDecoder().decode(file.subarray(8, 8 + hlen)),
      '{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"l":{"dtype":"I64","shape":[3],"data_offsets":[24,48]},' +
      '"b":{"dtype":"BOOL","shape":[3],"data_offsets":[48,51]},"s":{"dtype":"F64","shape":[],"data_offsets":[51,59]},' +
      '"z":{"dtype":"F32","shape":[0,3],"data_offsets":[59,59]},"i":{"dtype":"I32","shape":[1],"data_offsets":[59,63]},' +
      '"u":{"dtype":"U8","shape":[2],"data_offsets":[63,65]},"naïve \\"q\\"\\u000a":{"dtype":"F64","shape":[1],"data_offsets":[65,73]}}    ');
    assert.equal(Buffer.from(file.subarray(8 + hlen, 8 + hlen + 24)).toString("hex"), "0000c03f000000800000c07f0000807f000080ff00005040");
    assert.equal(file.length, 8 + hlen + 73);
    const back = readSafetensors(file);
    assert.deepEqual([...back.keys()], entries.map((e) => e[0]));
    for (const [name, t] of entries) assert.deepEqual(back.get(name), t, name);
    // a Map works as the entry list; no tensors at all
    assert.deepEqual(readSafetensors(writeSafetensors(new Map(entries.slice(0, 2)))).get("l"), entries[1][1]);
    const empty = writeSafetensors([]);
    assert.equal(new TextDecoder().decode(empty.subarray(8)), "{}      ");
    assert.equal(readSafetensors(empty).size, 0);
    // the data of a subarray view is written, not its whole buffer
    const big = new Float32Array([9, 1, 2, 9]);
    assert.deepEqual(readSafetensors(writeSafetensors([["v", { dtype: "float32", shape: [2], data: big.subarray(1, 3) }]])).get("v").data, new Float32Array([1, 2]));
  });

  test("malformed files are E_TENSOR_DATA", () => {
    const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    const d8 = new Uint8Array(8);
    readSafetensors(makeFile(ok, d8));
    stErr(new Uint8Array(5), /5 bytes is too short/);
    stErr(makeFile(ok, d8, 10000), /header length 10000 is beyond the end of the file/);
    const huge = makeFile(ok, d8);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    stErr(huge, /header length 18446744073709551615 is beyond/);
    stErr(makeFile('{"a": ', d8), /the header is not valid JSON: line 1, column 7/);
    stErr(makeFile('{"a": 1, "a": 2}'), /not valid JSON: .*duplicate key 'a'/);
    stErr(makeFile("[1, 2]"), /the header is not a JSON object/);
    stErr(makeFile('{"a": [[[[[[[[[1]]]]]]]]]}'), /not valid JSON: .*nesting deeper than 8/);
    stErr(makeFile(new Uint8Array([0x7b, 0xff, 0x7d]).reduce((s, b) => s + String.fromCharCode(b), "")), /not valid JSON/);
    const cases = [
      [{ a: 5 }, /tensor 'a': the header entry is not an object/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8], extra: 1 } }, /unexpected key 'extra'/],
      [{ a: { dtype: "F32", shape: [2] } }, /needs "dtype", "shape" and "data_offsets"/],
      [{ a: { dtype: 1, shape: [2], data_offsets: [0, 8] } }, /"dtype" is not a string/],
      [{ a: { dtype: "BF16", shape: [4], data_offsets: [0, 8] } }, /unsupported dtype 'BF16'/],
      [{ a: { dtype: "f32", shape: [2], data_offsets: [0, 8] } }, /unsupported dtype 'f32'/],
      [{ a: { dtype: "F32", shape: 2, data_offsets: [0, 8] } }, /"shape" is not an array/],
      [{ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, /shape item 0 is not a non-negative integer/],
      [{ a: { dtype: "F32", shape: [1, 2.5], data_offsets: [0, 8] } }, /shape item 1 is not a non-negative integer/],
      [{ a: { dtype: "F32", shape: ["2"], data_offsets: [0, 8] } }, /shape item 0/],
      [{ a: { dtype: "F32", shape: Array(17).fill(1), data_offsets: [0, 8] } }, /rank 17 is above the limit of 16/],
      [{ a: { dtype: "U8", shape: [2 ** 40, 2 ** 40, 0], data_offsets: [0, 8] } }, /element count overflows int64/],
      [{ a: { dtype: "F64", shape: [2 ** 31, 2 ** 31], data_offsets: [0, 8] } }, /byte count of the shape overflows int64/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0] } }, /"data_offsets" is not \[begin, end\]/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, -8] } }, /"data_offsets" is not/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8.5] } }, /"data_offsets" is not/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, /are outside the data buffer of 8 bytes/],
      [{ a: { dtype: "F32", shape: [3], data_offsets: [0, 12] } }, /data_offsets \[0, 12\] are outside the data buffer of 8 bytes/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: [0, 8] } }, /span 8 bytes, but dtype F32 and the shape need 4/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, /tensor 'a': data_offsets \[4, 8\] leave a gap/],
      [{ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, /the tensors cover 4 bytes of a data buffer of 8 bytes/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, /tensor 'b': data_offsets \[4, 8\] overlap another tensor/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, __metadata__: [] }, /"__metadata__" is not an object/],
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, __metadata__: { k: 1 } }, /"__metadata__" value 'k' is not a string/],
      [{ a: { dtype: "BOOL", shape: [8], data_offsets: [0, 8] } }, null],
    ];
    for (const [h, re] of cases) if (re) stErr(makeFile(h, d8), re);
    // bool bytes must be 0 or 1
    readSafetensors(makeFile({ a: { dtype: "BOOL", shape: [8], data_offsets: [0, 8] } }, new Uint8Array([0, 1, 1, 0, 0, 0, 0, 1])));
    stErr(makeFile({ a: { dtype: "BOOL", shape: [8], data_offsets: [0, 8] } }, new Uint8Array([0, 1, 2, 0, 0, 0, 0, 1])), /bool element 2 is the byte 2/);
    // metadata is skipped; zero-size tensors anywhere; trailing spaces in the header
    const m = readSafetensors(makeFile('{"__metadata__": {"k": "v"}, "e": {"dtype": "I64", "shape": [0], "data_offsets": [8, 8]}, "a": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}   ', d8));
    assert.deepEqual([...m.keys()], ["a", "e"]);
    assert.deepEqual(m.get("e").data, new BigInt64Array(0));
    stErr("not bytes", /Uint8Array/);
  });

  test("writer checks", () => {
    const f = (data, dtype = "float32", shape = [2]) => ({ dtype, shape, data });
    const wErr = (entries, re) => throwsJag(() => writeSafetensors(entries), "E_TENSOR_DATA", re);
    wErr([["a", f(new Float32Array(2))], ["a", f(new Float32Array(2))]], /two tensors are named 'a'/);
    wErr([["__metadata__", f(new Float32Array(2))]], /cannot be named '__metadata__'/);
    wErr([[5, f(new Float32Array(2))]], /has no name/);
    wErr([["a\ud800", f(new Float32Array(2))]], /lone surrogate/);
    wErr([["a", f(new Float32Array(2), "bfloat16")]], /invalid dtype/);
    wErr([["a", f(new Float32Array(2), "toString")]], /invalid dtype/);
    wErr([["a", f(new Float64Array(2))]], /needs its data as a Float32Array, got Float64Array/);
    wErr([["a", f([1, 2])]], /needs its data as a Float32Array/);
    wErr([["a", f(new Float32Array(3))]], /holds 12 bytes; its shape needs 8/);
    wErr([["a", f(new Float32Array(2), "float32", [-2])]], /bad shape/);
    wErr([["a", f(new Float32Array(1), "float32", Array(17).fill(1))]], /rank 17/);
    wErr([["a", f(new Uint8Array([0, 3]), "bool")]], /bool element 1 is 3/);
    wErr([["a", f(new Int32Array(2), "int64")]], /BigInt64Array/);
    wErr([["a"]], /not a \[name, tensor\] pair/);
  });
});

// ------------------------------------------------------------------ dims

// [expression, value] with N=7, M=3, S=0, B=12, H_1=224: each value is what Python computes
// both by evaluating the text directly and with jag.symbolic.evaluate(parse(expr), env).
const DIMS_TABLE = [
  ["N", 7], [" N ", 7], ["N*S", 0], ["(H_1-3)//2+1", 111],
  ["-N//2", -4], ["-(N//2)", -3], ["7//2", 3], ["(-7)//2", -4],
  ["-7//2", -4], ["-7//-2", 3], ["N--M", 10], ["N - -M", 10],
  ["2*3", 6], ["0", 0], ["00012", 12], ["B//M*M", 12],
  ["N+N", 14], ["((((N))))", 7], ["-----N", -7], ["9223372036854775807 - 9223372036854775800", 7],
  ["3037000499*3037000499//3037000499", 3037000499], ["-9007199254740991", -9007199254740991], ["9007199254740991", 9007199254740991], ["N*S//B", 0],
  ["(N+M)*(N-M)//(B-N)", 8], ["---(14)", -14], ["(N)", 7], ["M * -15 // M + -S", -15],
  ["-(M) * H_1 - B // -(N)", -670], ["B", 12], ["-3 * B//N - 4", -10], ["15 * 19 * S - -18//17", 2],
  ["-9", -9], ["-18+(N)", -11], ["S", 0], ["--B", 12],
  ["N//11+14 + 7*0 * -11*14", 14], ["15//B + 1//N - -B - 10 * 15+-1", -138], ["(9)", 9], ["10", 10],
  ["M // (4)", 0], ["S - -H_1-3+B-19+H_1 + B", 450], ["(M)", 3], ["7 + --19 * (B)", 235],
  ["15", 15], ["M * 3", 9], ["M + N//16 + B", 15], ["B + B - 20-N - B", -15],
  ["N+S", 7], ["16", 16], ["(11) - N", 4], ["-2 - S", -2],
  ["H_1", 224], ["(M) * (17) - M-(20)", 28], ["13", 13], ["(-S)", 0],
  ["(S + (H_1) // 6 - S)", 37], ["1", 1], ["6", 6], ["(H_1)//17//N", 1],
  ["-3 // 12", -1], ["(0) * 14 + ((M) // N*14)", 0], ["-H_1 * 0+15", 15], ["-(N)", -7],
  ["M", 3], ["(4)", 4], ["-H_1*-S", 0], ["M-11 * 0 * N//B + 8", 11],
  ["(--18-14+19-B)", 11], ["13 // M-B*16 + 9", -179], ["-16 + 17 + M+-16//H_1+H_1", 227], ["(--M + 18)", 21],
  ["5 * 10 // H_1*M - (0) * S+3//-B-H_1 + (M)", -222], ["(S // 19)", 0], ["-H_1 - (M) + H_1*-3*-S - B", -239], ["9 - ((4))-H_1+B // M+H_1", 9],
  ["H_1+N//M+17 * 5 * H_1-11 * 7+S // M+B // 12//H_1", 19189], ["M*2*H_1+-20*18", 984], ["S - B-S", -12], ["((H_1//13)+-H_1 * 1)", -207],
  ["-H_1", -224], ["H_1 + -S", 224], ["M*6 * H_1", 4032], ["((M))-M-M*7//7", -3],
  ["13//H_1", 0], ["(H_1)*1*5 * S", 0], ["17", 17], ["(M) * (((H_1)))", 672],
  ["-17*M+S-H_1//H_1+11 // H_1 - M + 18 // 13 + H_1", 170], ["-(2//19) * -N//(2)-10", -10], ["6//2*19-M-13 - H_1 - -9 - B-N + 5 * 19", -98], ["(11 // H_1*M // 3 + S-(15))", -15],
  ["-1 * M + -1 - H_1+-17", -245], ["(-(M) - 0 // 11+-H_1)", -227], ["18", 18], ["--H_1+N + (B*N)", 315],
  ["S*S*10 - 19+M + H_1-M//H_1+6", 214], ["(H_1)", 224], ["-M // 3 * -H_1", 224], ["13//12 - 17 - S * 10 + 4", -12],
  ["((H_1) // 18 * N)-(B) + M*-15 + 6", 33], ["10*(16*17)+2", 2722], ["(12+S) * -H_1//9 + 7", -292], ["(16)-18//N - B+H_1 // 19//9", 3],
  ["-19 // (M) - M*20 * 4-H_1", -471], ["(H_1+15//5 - 20 + 8 + H_1)", 439], ["--2 * ((2))", 4], ["(14 - B * S+10)*14 // 20", 16],
  ["M - (-15 + N)", 11], ["16-((11))", 5], ["B + 11 + --N // -M", 20], ["(-17)", -17],
  ["2 + 19 * 8-18 - -N", 143], ["2", 2], ["(-(2)-10-14)", -26], ["-18", -18],
  ["(0*18 // N*8)+10", 10], ["--(19 - 14)", 5], ["(M - 8 // H_1)*(12)", 36], ["--S//-4", 0],
  ["S--H_1 * 17", 3808], ["-14*S // --18//12*11 // B", 0], ["19", 19], ["B - -19*14+10 - H_1 - 11-H_1-M*3", -180],
  ["13*-3", -39], ["-S", 0], ["4", 4], ["N--5//(1) // B//-3", 7],
  ["-5*B//B*19 * 19 * 6", -10830], ["M * (6) // B-14 // (B+1)+-18 + 18*N", 108], ["-H_1*1+B + H_1 * 17", 3596], ["M+-1 // (3)", 2],
  ["S + H_1//M//(5) - N + M * 3//12", 7], ["(H_1 - 10*-3) // (17) // M", 4], ["-(S) + M + 13", 16], ["H_1+B*17 * 5*S+-M-(-H_1*H_1)", 50397],
  ["M//-(14 * 7)", -1], ["5", 5], ["M+(B)", 15], ["(S) * (H_1*B*M-N)", 0],
  ["8", 8], ["(-6//H_1+M - B + 19)", 9], ["-B - (-12 - S*7)", 0], ["--(17 - H_1)", -207],
  ["--S * 2*2+(13*1)", 13], ["N+H_1+M-M+M + 5 - H_1 // 15", 225], ["-8*M - -M+2*-(S+H_1)", -469], ["-12", -12],
  ["S-(S) - (H_1) - B", -236], ["(18 - 8) * -19 * 20 - (M)", -3803],
];
// expressions dividing by zero with that env (direct evaluation, as the C runtime)
const DIMS_DIV_ZERO = [
  "H_1//0 + 4-(N) - M//14 + 9 + M * 15//7 + H_1+(N)", "N-15 - M // 16//(14) // S // 18+1-S - N",
  "B // (M//N//H_1)", "-(-20) + M//14 // S//B+B",
  "H_1-17+B//S * B * 11//7 // -1//11 - 12-14", "-7*B--15//S + N",
  "-6 * H_1 - S * 19 - 10-(N)//-S // H_1", "(-6//S) + -S",
  "(-0*18) // ((M * S))", "14//B//S",
  "N * 15//3 - 16+19 * (12) + 3 - S//S + 3", "(-H_1) - 6 + S//S + 1-((B))",
  "S-H_1 // H_1//10 // S - 14+-B+5 // N", "H_1+-0 // 16 // M - (H_1) // (S)",
  "-H_1*2 + M // (4//2 * (S))",
];
const ENV = { N: 7, M: 3, S: 0, B: 12, H_1: 224 };

describe("dims", () => {
  test("values agree with Python (jag.symbolic and direct evaluation)", () => {
    const env = new Map(Object.entries(ENV));
    for (const [expr, want] of DIMS_TABLE) {
      assert.equal(checkDim(expr), null, expr);
      assert.equal(evalDim(expr, env), want, expr);
      assert.equal(evalDim(expr, ENV), want, expr); // a plain object works too
    }
    for (const expr of DIMS_DIV_ZERO) {
      assert.equal(checkDim(expr), null, expr);
      assert.throws(() => evalDim(expr, env), /division by zero/, expr);
    }
  });

  test("floor division like Python", () => {
    for (const [a, b] of [[7, 2], [-7, 2], [7, -2], [-7, -2], [6, 3], [-6, 3], [0, -5], [1, 7], [-1, 7]]) {
      const want = Math.floor(a / b) + 0; // no -0
      assert.equal(evalDim("a // b", { a, b }), want, `${a}//${b}`);
    }
    assert.equal(evalDim("-N//2", { N: 7 }), -4); // (-N)//2
    assert.equal(evalDim("-(N//2)", { N: 7 }), -3);
  });

  test("int64 range, 2^53 limit and literals", () => {
    const big = (e, re) => assert.throws(() => evalDim(e, {}), re, e);
    assert.equal(evalDim("9223372036854775807 - 9223372036854775806", {}), 1);
    assert.equal(evalDim("9007199254740991", {}), 9007199254740991);
    assert.equal(evalDim("-9007199254740991", {}), -9007199254740991);
    big("9007199254740992", /dim value exceeds 2\^53/);
    big("-9223372036854775807 - 1", /dim value exceeds 2\^53/); // int64 min: fine for int64, not for JS
    big("9223372036854775807 + 1", /int64 overflow in '\+'/);
    big("-9223372036854775807 - 2", /int64 overflow in '-'/);
    big("3037000500*3037000500", /int64 overflow in '\*'/);
    big("(-9223372036854775807 - 1) // -1", /int64 overflow in '\/\/'/);
    big("-(-9223372036854775807 - 1)", /int64 overflow in '-'/);
    big("9223372036854775808", /the integer 9223372036854775808 does not fit in int64/);
    assert.match(checkDim("9223372036854775808"), /does not fit in int64/);
    assert.equal(evalDim("N*M", { N: 2n ** 40n, M: 4 }), 2 ** 42); // BigInt bindings
  });

  test("evaluation errors", () => {
    assert.throws(() => evalDim("N*M", { N: 2 }), (e) => e.message === "unbound dim 'M'");
    assert.throws(() => evalDim("N*M", new Map([["N", 2]])), /unbound dim 'M'/);
    assert.throws(() => evalDim("toString + 1", {}), /unbound dim 'toString'/); // own keys only
    assert.throws(() => evalDim("N", { N: 1.5 }), /not an integer/);
    assert.throws(() => evalDim("Q + ", {}), /bad dim expression 'Q \+ ': unexpected end/); // syntax wins over unbound
    assert.throws(() => evalDim("N // S", { N: 1, S: 0 }), /bad dim expression 'N \/\/ S': division by zero/);
    assert.throws(() => evalDim("N", null), /unbound dim 'N'/);
  });

  test("syntax", () => {
    const good = ["N", "  N  ", "2", "0", "N*S", "(H-3)//2+1", "-N", "--N", "a_1 // _b", "((N))", "N - -1", "x".repeat(256)];
    for (const e of good) assert.equal(checkDim(e), null, e);
    const bad = [
      ["", /bad dim expression '': empty/], ["   ", /empty/], ["N/2", /a single '\/' at position 1 is not an operator \(use '\/\/'\)/],
      ["N +", /unexpected end \(expected a number, a name or '\('\)/], ["(N", /missing '\)' for the '\(' at position 0/],
      ["N)", /unexpected '\)' at position 1 \(expected an operator or the end\)/], ["2N", /unexpected 'N' at position 1/],
      ["N\t+ 1", /unexpected character U\+0009 at position 1 \(only spaces may separate tokens\)/], ["N\n", /U\+000A/],
      ["N ^ 2", /unexpected character '\^' at position 2/], ["N**2", /unexpected '\*' at position 2/], ["N///2", /single '\/'/],
      ["+N", /unexpected '\+' at position 0/], ["N..", /unexpected character '\.'/], ["é", /U\+00E9/], ["N M", /unexpected 'M'/],
      ["()", /unexpected '\)'/], ["x".repeat(257), /longer than 256 characters/], ["(".repeat(200) + "N" + ")".repeat(200), /longer than 256/],
    ];
    for (const [e, re] of bad) assert.match(checkDim(e) ?? "", re, e);
    // the deepest nesting 256 characters allow is within the depth limit
    assert.equal(checkDim("-".repeat(255) + "N"), null);
    assert.equal(checkDim("(".repeat(127) + "N" + ")".repeat(127)), null);
    assert.match(checkDim(5), /must be a string/);
    assert.throws(() => evalDim("N/2", { N: 4 }), /single '\/'/);
  });

  test("bare names and names", () => {
    assert.equal(bareDimName("N"), "N");
    assert.equal(bareDimName("  batch_1 "), "batch_1");
    for (const e of ["N*2", "2", "", " ", "1N", "N M", "(N)", "-N", 5, null, "x".repeat(257), "N\t"]) assert.equal(bareDimName(e), null, String(e));
    assert.equal(bareDimName("x".repeat(256)), "x".repeat(256));
    assert.deepEqual(dimNames("(H-3)//2 + W*H - 1"), ["H", "W"]);
    assert.deepEqual(dimNames("2*3"), []);
    assert.deepEqual(dimNames("N"), ["N"]);
    assert.deepEqual(dimNames(7), []);
  });
});

// kernels/random.js — the counter-based random op and what is built on it: random_uniform,
// dropout, and threefry2x32.
//
// Semantics: spec/README.md §11 and python/jag/ops/core.py (threefry2x32,
// _random_uniform), composite.py (_dropout); runtimes/c/src/k_random.c. Bit-identical on
// every runtime: element i (row-major) of a key k (int64 read as uint64) is
// Threefry-2x32-20 of counter (i & 0xffffffff, i >> 32) under key words
// (k >> 32, k & 0xffffffff); float32 takes the top 24 bits of y0, float64 the 53 bits
// (y0 << 21) | (y1 >> 11). Both conversions are exact.
//
// uint32 arithmetic: only add, rotate and xor are needed; sums are wrapped with `| 0`
// (int32 bit patterns are the uint32 ones), and `>>> 0` gives the unsigned value at the end.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { shapeStr } from "../kernel_api.js";

const KS_PARITY = 0x1bd11bda;
const TWO_32 = 4294967296;
const F32_SCALE = 2 ** -24;
const F64_SCALE = 2 ** -53;
const TWO_21 = 2 ** 21;

// One call writes (y0, y1) as uint32 Numbers into OUT[0], OUT[1] (no allocation per element).
const OUT = new Float64Array(2);

/** Threefry-2x32-20 (Random123 threefry2x32_R(20)) of counter (c0, c1) under key (k0, k1) into OUT. */
function tf(k0, k1, c0, c1) {
  const ks0 = k0 | 0, ks1 = k1 | 0, ks2 = (KS_PARITY ^ k0 ^ k1) | 0;
  let x0 = (c0 + ks0) | 0, x1 = (c1 + ks1) | 0;
  // rounds 0-3 (R = 13 15 26 6), injection s = 1
  x0 = (x0 + x1) | 0; x1 = (x1 << 13) | (x1 >>> 19); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 15) | (x1 >>> 17); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 26) | (x1 >>> 6); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 6) | (x1 >>> 26); x1 ^= x0;
  x0 = (x0 + ks1) | 0; x1 = (x1 + ks2 + 1) | 0;
  // rounds 4-7 (R = 17 29 16 24), s = 2
  x0 = (x0 + x1) | 0; x1 = (x1 << 17) | (x1 >>> 15); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 29) | (x1 >>> 3); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 16) | (x1 >>> 16); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 24) | (x1 >>> 8); x1 ^= x0;
  x0 = (x0 + ks2) | 0; x1 = (x1 + ks0 + 2) | 0;
  // rounds 8-11, s = 3
  x0 = (x0 + x1) | 0; x1 = (x1 << 13) | (x1 >>> 19); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 15) | (x1 >>> 17); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 26) | (x1 >>> 6); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 6) | (x1 >>> 26); x1 ^= x0;
  x0 = (x0 + ks0) | 0; x1 = (x1 + ks1 + 3) | 0;
  // rounds 12-15, s = 4
  x0 = (x0 + x1) | 0; x1 = (x1 << 17) | (x1 >>> 15); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 29) | (x1 >>> 3); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 16) | (x1 >>> 16); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 24) | (x1 >>> 8); x1 ^= x0;
  x0 = (x0 + ks1) | 0; x1 = (x1 + ks2 + 4) | 0;
  // rounds 16-19, s = 5
  x0 = (x0 + x1) | 0; x1 = (x1 << 13) | (x1 >>> 19); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 15) | (x1 >>> 17); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 26) | (x1 >>> 6); x1 ^= x0;
  x0 = (x0 + x1) | 0; x1 = (x1 << 6) | (x1 >>> 26); x1 ^= x0;
  x0 = (x0 + ks2) | 0; x1 = (x1 + ks0 + 5) | 0;
  OUT[0] = x0 >>> 0;
  OUT[1] = x1 >>> 0;
}

/** Threefry-2x32-20 of counter (c0, c1) under key (k0, k1), all uint32 Numbers -> [y0, y1] (uint32 Numbers). */
export function threefry2x32(k0, k1, c0, c1) {
  tf(k0 >>> 0, k1 >>> 0, c0 >>> 0, c1 >>> 0);
  return [OUT[0], OUT[1]];
}

/** Key words [k0, k1] of an int64 key tensor (BigInt64Array of one element): high word, low word. */
function keyWords(key) {
  const u = BigInt.asUintN(64, key.data[0]);
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

/** Fill y (Float32Array or Float64Array) with random_uniform(key) of its length. */
function fillUniform(y, k0, k1) {
  const n = y.length;
  if (y instanceof Float32Array) {
    for (let i = 0; i < n; i++) {
      tf(k0, k1, i >>> 0, Math.floor(i / TWO_32));
      y[i] = (OUT[0] >>> 8) * F32_SCALE;
    }
  } else {
    for (let i = 0; i < n; i++) {
      tf(k0, k1, i >>> 0, Math.floor(i / TWO_32));
      y[i] = (OUT[0] * TWO_21 + (OUT[1] >>> 11)) * F64_SCALE;
    }
  }
}

/** A non-scalar key is E_SHAPE (core.py _random_uniform_shape). */
function checkKey(shape, input) {
  if (shape.length !== 0)
    throw new JagError("E_SHAPE", `input ${input} (key) has shape ${shapeStr(shape)}; expected [] (an int64 scalar)`, { field: `inputs[${input}]` });
}

// ---------------------------------------------------------------- random_uniform
register("random_uniform", {
  prepare(inputs, attrs) {
    checkKey(inputs[0].shape, 0);
    const shape = [...attrs.shape];
    if (shape.some((d) => d < 0)) throw new JagError("E_SHAPE", `attr 'shape' ${shapeStr(shape)} has a negative dim`);
    return [shape];
  },
  run(inputs, attrs, outputs) {
    const [k0, k1] = keyWords(inputs[0]);
    fillUniform(outputs[0].data, k0, k1);
  },
});

// ---------------------------------------------------------------- dropout
// y = where(u < p, 0, x * scale), u = random_uniform(key)[x.shape, x.dtype], p rounded to
// x's dtype, scale = 1 / (1 - p) computed in float64 then rounded to x's dtype.
register("dropout", {
  prepare(inputs) {
    checkKey(inputs[1].shape, 1);
    return [[...inputs[0].shape]];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0].data, y = outputs[0].data, n = x.length;
    const [k0, k1] = keyWords(inputs[1]);
    const p = attrs.p, scale = 1 / (1 - p);
    if (y instanceof Float32Array) {
      const pf = Math.fround(p), sf = Math.fround(scale);
      for (let i = 0; i < n; i++) {
        tf(k0, k1, i >>> 0, Math.floor(i / TWO_32));
        y[i] = (OUT[0] >>> 8) * F32_SCALE < pf ? 0 : x[i] * sf; // the Float32Array store rounds
      }
    } else {
      for (let i = 0; i < n; i++) {
        tf(k0, k1, i >>> 0, Math.floor(i / TWO_32));
        y[i] = (OUT[0] * TWO_21 + (OUT[1] >>> 11)) * F64_SCALE < p ? 0 : x[i] * scale;
      }
    }
  },
});

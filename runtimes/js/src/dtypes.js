// dtypes.js — JAG dtypes (spec/README.md §4) as TypedArrays:
//   float32 -> Float32Array, float64 -> Float64Array, int32 -> Int32Array,
//   int64 -> BigInt64Array (exact over the whole int64 range), uint8 -> Uint8Array,
//   bool -> Uint8Array holding 0 or 1.
import { DTYPES } from "./ops_table.js";

export const ARRAY_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

for (const name of Object.keys(DTYPES)) {
  if (!ARRAY_TYPES[name] || ARRAY_TYPES[name].BYTES_PER_ELEMENT !== DTYPES[name].itemsize)
    throw new Error(`dtypes.js: no TypedArray of itemsize ${DTYPES[name].itemsize} for dtype ${name}`);
}

export const isFloat = (dt) => dt === "float32" || dt === "float64";

/** Element count of a shape. */
export function numel(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A new zeroed tensor {dtype, shape, data}. */
export function zeros(dtype, shape) {
  return { dtype, shape: [...shape], data: new ARRAY_TYPES[dtype](numel(shape)) };
}

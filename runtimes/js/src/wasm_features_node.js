// wasm_features_node.js — Node only, imported first by node.js: WebAssembly relaxed SIMD on a
// Node whose V8 has it only behind a flag.
//
// The float32 GEMM of kernels/linalg.js uses relaxed SIMD's f32x4.relaxed_madd (a fused
// multiply-add on CPUs with FMA: ~30% faster products) when the engine validates it; V8 ships
// relaxed SIMD from 11.4 (Node >= 22, Chrome >= 114), while Node 20's V8 11.3 has the finished
// implementation behind --experimental-wasm-relaxed-simd. This module turns that flag on
// (v8.setFlagsFromString) when a tiny relaxed-SIMD module does not validate yet, on V8 >= 11
// only, BEFORE linalg.js assembles its module (ES modules evaluate in import order, and
// node.js imports this one first). linalg.js still validates and self-tests the FMA variant
// and falls back to plain SIMD, so an engine where this does not take effect loses nothing.
// JAG_WASM_RELAXED_SIMD=0 in the environment leaves the flag alone (the plain-SIMD GEMM;
// results then differ from the FMA ones in the last bits, within the "accumulate" class).
import v8 from "node:v8";

/** A module of one function: f32x4.relaxed_madd of three v128 constants. */
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 5, 1, 0x60, 0, 1, 0x7b,            // type section: () -> v128
  3, 2, 1, 0,                           // function section: one function of type 0
  10, 61, 1, 59, 0,                     // code section: one body of 59 bytes, no locals
  0xfd, 0x0c, ...new Array(16).fill(0),
  0xfd, 0x0c, ...new Array(16).fill(0),
  0xfd, 0x0c, ...new Array(16).fill(0),
  0xfd, 0x85, 0x02, 0x0b,               // f32x4.relaxed_madd, end
]);

/** Whether this engine validates relaxed SIMD now. */
export function hasRelaxedSimd() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

const v8Major = Number(String(process.versions?.v8 ?? "0").split(".")[0]);
if (process.env.JAG_WASM_RELAXED_SIMD !== "0" && v8Major >= 11 && !hasRelaxedSimd()) {
  try {
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  } catch {
    // an engine without the flag: plain SIMD
  }
}

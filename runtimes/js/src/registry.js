// registry.js — the one Map from op name to kernel {prepare, run} (as tfjs's kernel registry).
//
// kernel.prepare(inputs, attrs) -> [outShape, ...]
//     inputs: [{dtype, shape}] with concrete shapes; attrs: defaults filled in, dims attrs
//     evaluated to integers. Checks shapes and shape-dependent attrs exactly as the Python
//     shape rule does (throws JagError E_SHAPE / E_ATTR) and returns the output shapes.
// kernel.run(inputs, attrs, outputs)
//     inputs: [{dtype, shape, data}] (the graph's constant tensors also carry constant: true:
//     their data never changes, so work derived from it may be cached, keyed by the data);
//     outputs: [{dtype, shape, data}] preallocated (zeroed unless overwrites, below).
//     Fills outputs; throws only for data-dependent errors (E_INDEX).
// kernel.overwrites (optional, true): run writes every element of every output, so the
//     model may hand it reused buffers (model.js BufferPool) without clearing them first;
//     without it, outputs are zeroed.
import { OPS } from "./ops_table.js";
import { JagError } from "./errors.js";

export const KERNELS = new Map();

/** Register the kernel of an op of spec/ops.json; a second registration or an op the spec lacks throws. */
export function register(name, kernel) {
  if (!OPS.has(name)) throw new JagError("E_UNKNOWN_OP", `cannot register a kernel for '${name}': not an op of spec/ops.json`);
  if (KERNELS.has(name)) throw new JagError("E_INTERNAL", `kernel for '${name}' registered twice`);
  if (typeof kernel?.prepare !== "function" || typeof kernel?.run !== "function")
    throw new JagError("E_INTERNAL", `kernel for '${name}' needs prepare and run functions`);
  KERNELS.set(name, kernel);
}

/** The kernel of an op (E_UNKNOWN_OP when none is registered). */
export function kernelFor(name) {
  const k = KERNELS.get(name);
  if (!k) throw new JagError("E_UNKNOWN_OP", `unknown op '${name}' (no kernel in this runtime)`);
  return k;
}

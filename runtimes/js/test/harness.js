// harness.js — running one kernel on literal tensors, for the kernel unit tests
// (movement, index/random, linalg/conv): T(dtype, shape, values) builds a tensor, runOp()
// prepares, allocates (filled with garbage, so a kernel must write every element) and runs
// one op through the registry, assertTensor() compares exactly (or within the op's
// tolerance class), runCases() turns a table into node:test tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ARRAY_TYPES, zeros } from "../src/dtypes.js";
import { kernelFor } from "../src/registry.js";
import { OPS, TOLERANCE_CLASSES } from "../src/ops_table.js";

/** A tensor literal {dtype, shape, data}. */
export const T = (dtype, shape, values) => ({ dtype, shape, data: ARRAY_TYPES[dtype].from(values) });

/** attrs with the defaults of spec/ops.json filled in (as the model does before prepare). */
export function withDefaults(op, attrs) {
  const out = {};
  for (const [k, a] of Object.entries(OPS.get(op).attrs)) out[k] = k in attrs ? attrs[k] : (a.default ?? null);
  return out;
}

export function outDtype(op, inputs, attrs) {
  const def = OPS.get(op), t = def.outputs[0].type;
  if (t.startsWith("attr:")) return attrs[t.slice(5)];
  return inputs[Math.max(0, def.inputs.findIndex((p) => p.type === t))].dtype;
}

/** prepare + allocate + run one kernel; returns the output tensor. */
export function runOp(op, inputs, attrs = {}) {
  const k = kernelFor(op), a = withDefaults(op, attrs);
  const [shape] = k.prepare(inputs.map(({ dtype, shape }) => ({ dtype, shape: [...shape] })), a);
  const y = zeros(outDtype(op, inputs, a), shape);
  y.data.fill(y.dtype === "int64" ? 77n : 77); // garbage: the kernel must write every element
  k.run(inputs, a, [y]);
  return y;
}

/** Exact comparison (NaN matches NaN, -0 differs from 0) or, for float outputs of a tolerant op, within its class. */
export function assertTensor(got, want, op, what = op) {
  assert.equal(got.dtype, want.dtype, `${what}: dtype`);
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  assert.equal(got.data.length, want.data.length, `${what}: length`);
  const cls = OPS.get(op)?.tolerance ?? "exact";
  const tol = (got.dtype === "float32" || got.dtype === "float64") && cls !== "exact" ? TOLERANCE_CLASSES[cls][got.dtype] : null;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i], w = want.data[i];
    if (Object.is(g, w)) continue;
    if (tol && (Number.isNaN(g) && Number.isNaN(w) || Math.abs(g - w) <= tol.atol + tol.rtol * Math.abs(w))) continue;
    assert.fail(`${what}: element ${i} is ${g}, expected ${w}`);
  }
}

/** Run a table of cases ({name, op, inputs, attrs, want} or {..., throws: code}). */
export function runCases(cases) {
  for (const c of cases) {
    test(c.name, () => {
      if (c.throws) {
        assert.throws(() => runOp(c.op, c.inputs, c.attrs), (e) => e.name === "JagError" && e.code === c.throws, c.name);
      } else {
        assertTensor(runOp(c.op, c.inputs, c.attrs), c.want, c.op, c.name);
      }
    });
  }
}

// harness_table.js — table-driven kernel tests (elementwise, reduce): each case is
// [op, inputs [[dtype, shape, flat values]], attrs, expected [dtype, shape, flat values]]
// computed with the numpy reference; check() compares exactly (Object.is) for the exact
// tolerance class and within the op's class otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelFor } from "../src/registry.js";
import { zeros, ARRAY_TYPES } from "../src/dtypes.js";
import { OPS, TOLERANCE_CLASSES } from "../src/ops_table.js";

/** attrs with the op's defaults filled in (as the model does). */
export function fullAttrs(op, attrs = {}) {
  const out = {};
  for (const [k, a] of Object.entries(OPS.get(op).attrs)) out[k] = a.default ?? null;
  return Object.assign(out, attrs);
}

/** A tensor {dtype, shape, data} from [dtype, shape, flat values]. */
export const tensor = ([dtype, shape, data]) => ({ dtype, shape, data: ARRAY_TYPES[dtype].from(data) });

/** prepare + allocate + run one op; returns the output tensor. */
export function runOp(op, inputs, attrs, outDtype) {
  const k = kernelFor(op);
  const a = fullAttrs(op, attrs);
  const ins = inputs.map(tensor);
  const [shape] = k.prepare(ins.map(({ dtype, shape }) => ({ dtype, shape })), a);
  const out = zeros(outDtype, shape);
  k.run(ins, a, [out]);
  return out;
}

/** The JagError code thrown by prepare. */
export function prepareCode(op, inputs, attrs) {
  try {
    kernelFor(op).prepare(inputs.map(([dtype, shape]) => ({ dtype, shape })), fullAttrs(op, attrs));
  } catch (e) {
    return e.code;
  }
  return null;
}

/** Compare an output with [dtype, shape, values] within the op's tolerance class (exact: Object.is). */
export function check(op, got, [dtype, shape, want], what) {
  assert.equal(got.dtype, dtype, `${what}: dtype`);
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  assert.equal(got.data.length, want.length, `${what}: length`);
  const isF = dtype === "float32" || dtype === "float64";
  const { rtol, atol } = isF ? TOLERANCE_CLASSES[OPS.get(op).tolerance][dtype] : { rtol: 0, atol: 0 };
  for (let i = 0; i < want.length; i++) {
    const g = got.data[i];
    const w = dtype === "float32" ? Math.fround(want[i]) : want[i];
    if (!isF || (rtol === 0 && atol === 0)) {
      if (!Object.is(g, w)) assert.fail(`${what}: element ${i} is ${g}, expected ${w}`);
    } else if (!(Object.is(g, w) || (g !== g && w !== w) || Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      assert.fail(`${what}: element ${i} is ${g}, expected ${w} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Run every literal case, one test per op. */
export function runCases(cases) {
  const byOp = new Map();
  for (const c of cases) {
    if (!byOp.has(c[0])) byOp.set(c[0], []);
    byOp.get(c[0]).push(c);
  }
  for (const [op, list] of byOp) {
    test(`${op}: ${list.length} cases against the numpy reference`, () => {
      list.forEach(([, inputs, attrs, want], i) => {
        const what = `${op} case ${i} (${inputs.map((t) => `${t[0]}[${t[1]}]`).join(", ")} ${JSON.stringify(attrs)})`;
        check(op, runOp(op, inputs, attrs, want[0]), want, what);
      });
    });
  }
}

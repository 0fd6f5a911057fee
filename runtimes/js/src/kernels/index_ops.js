// kernels/index_ops.js — index kernels: gather, scatter_add, embedding, and the iota generator.
//
// Semantics: python/jag/ops/core.py ("index" and "generators" blocks) and composite.py
// (embedding); runtimes/c/src/k_index.c — numpy.take, numpy.add.at, embedding lookup,
// jax.lax.broadcasted_iota. Indices are int32 (Int32Array) or int64 (BigInt64Array); an
// index i in [-n, 0) means n + i, anything outside [-n, n) is E_INDEX at run time (the
// message names the smallest index when it is too small, else the largest, as
// core.py check_indices does).
//
// Every index op views x as [pre, n, post] around the indexed axis and the indices as a
// flat list of m entries.
import { register } from "../registry.js";
import { JagError } from "../errors.js";
import { normAxis, shapeStr } from "../kernel_api.js";

const prodRange = (shape, lo, hi) => {
  let p = 1;
  for (let k = lo; k < hi; k++) p *= shape[k];
  return p;
};

/**
 * The indices mapped into [0, n) as an Int32Array/Float64Array of Numbers; E_INDEX unless
 * every index is in [-n, n) (core.py check_indices: checks the min, then the max).
 */
function checkedIndices(ind, n, axis, field) {
  const p = ind.data, m = p.length;
  const out = n <= 2147483647 ? new Int32Array(m) : new Float64Array(m);
  if (m === 0) return out;
  if (ind.dtype === "int64") {
    let lo = p[0], hi = p[0];
    for (let j = 1; j < m; j++) {
      const v = p[j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const bn = BigInt(n);
    if (lo < -bn || hi >= bn)
      throw new JagError("E_INDEX", `index ${lo < -bn ? lo : hi} is out of range for axis ${axis} of size ${n}`, { field });
    for (let j = 0; j < m; j++) {
      const v = Number(p[j]);
      out[j] = v < 0 ? v + n : v;
    }
  } else {
    let lo = p[0], hi = p[0];
    for (let j = 1; j < m; j++) {
      const v = p[j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo < -n || hi >= n)
      throw new JagError("E_INDEX", `index ${lo < -n ? lo : hi} is out of range for axis ${axis} of size ${n}`, { field });
    for (let j = 0; j < m; j++) {
      const v = p[j];
      out[j] = v < 0 ? v + n : v;
    }
  }
  return out;
}

/** dst[p, j, :] = src[p, idx[j], :] for p < pre, j < m; rows of post elements. */
function gatherRows(dst, src, idx, pre, n, post) {
  const m = idx.length;
  if (pre === 0 || m === 0 || post === 0) return;
  if (post === 1) {
    for (let p = 0; p < pre; p++) {
      const db = p * m, sb = p * n;
      for (let j = 0; j < m; j++) dst[db + j] = src[sb + idx[j]];
    }
    return;
  }
  for (let p = 0; p < pre; p++) {
    for (let j = 0; j < m; j++) {
      const db = (p * m + j) * post, sb = (p * n + idx[j]) * post;
      if (post < 32) for (let q = 0; q < post; q++) dst[db + q] = src[sb + q];
      else dst.set(src.subarray(sb, sb + post), db);
    }
  }
}

/** x.shape[:axis] + idx.shape + x.shape[axis+1:] and the normalised axis (Python's _gather_shape). */
function gatherShape(x, idx, axisAttr) {
  if (x.length === 0) throw new JagError("E_SHAPE", "gather needs x of rank >= 1, got a scalar");
  const axis = normAxis(axisAttr, x.length, "axis");
  return { axis, shape: [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)] };
}

// ---------------------------------------------------------------- gather
register("gather", {
  prepare(inputs, attrs) {
    return [gatherShape(inputs[0].shape, inputs[1].shape, attrs.axis).shape];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0], r = x.shape.length;
    const axis = normAxis(attrs.axis, r, "axis"), n = x.shape[axis];
    const idx = checkedIndices(inputs[1], n, axis, "inputs[1]");
    gatherRows(outputs[0].data, x.data, idx, prodRange(x.shape, 0, axis), n, prodRange(x.shape, axis + 1, r));
  },
});

// ---------------------------------------------------------------- scatter_add
// y = copy of x, then y[..., idx[j], ...] += updates[..., j, ...] in order of j (np.add.at:
// repeated indices accumulate). Stores into the output TypedArray round float32 sums and
// wrap int32 / uint8 / int64 sums exactly as the dtype does.
register("scatter_add", {
  prepare(inputs, attrs) {
    const [x, idx, upd] = inputs.map((v) => v.shape);
    const { shape } = gatherShape(x, idx, attrs.axis);
    if (upd.length !== shape.length || upd.some((d, k) => d !== shape[k]))
      throw new JagError("E_SHAPE", `input 2 (updates) has shape ${shapeStr(upd)}; expected ${shapeStr(shape)}`, { field: "inputs[2]" });
    return [[...x]];
  },
  run(inputs, attrs, outputs) {
    const x = inputs[0], upd = inputs[2].data, y = outputs[0].data, r = x.shape.length;
    const axis = normAxis(attrs.axis, r, "axis"), n = x.shape[axis];
    const idx = checkedIndices(inputs[1], n, axis, "inputs[1]");
    y.set(x.data.subarray(0, y.length));
    const m = idx.length, pre = prodRange(x.shape, 0, axis), post = prodRange(x.shape, axis + 1, r);
    if (upd.length === 0) return;
    if (x.dtype === "int64") {
      for (let p = 0; p < pre; p++)
        for (let j = 0; j < m; j++) {
          const yb = (p * n + idx[j]) * post, ub = (p * m + j) * post;
          for (let q = 0; q < post; q++) y[yb + q] = BigInt.asIntN(64, y[yb + q] + upd[ub + q]);
        }
      return;
    }
    for (let p = 0; p < pre; p++)
      for (let j = 0; j < m; j++) {
        const yb = (p * n + idx[j]) * post, ub = (p * m + j) * post;
        for (let q = 0; q < post; q++) y[yb + q] += upd[ub + q];
      }
  },
});

// ---------------------------------------------------------------- embedding
register("embedding", {
  prepare(inputs) {
    const idx = inputs[0].shape, w = inputs[1].shape;
    if (w.length !== 2)
      throw new JagError("E_SHAPE", `input 1 (weight) has shape ${shapeStr(w)}; expected [num, dim]`, { field: "inputs[1]" });
    return [[...idx, w[1]]];
  },
  run(inputs, attrs, outputs) {
    const w = inputs[1];
    const idx = checkedIndices(inputs[0], w.shape[0], 0, "inputs[0]");
    gatherRows(outputs[0].data, w.data, idx, 1, w.shape[0], w.shape[1]);
  },
});

// ---------------------------------------------------------------- iota
// y[i_0, ..., i_r] = i_axis, converted from int64 as numpy's astype does (uint8 / int32
// wrap — the TypedArray store does it — and floats round to nearest).
register("iota", {
  prepare(inputs, attrs) {
    const shape = [...attrs.shape];
    if (shape.some((d) => d < 0)) throw new JagError("E_SHAPE", `attr 'shape' ${shapeStr(shape)} has a negative dim`);
    normAxis(attrs.axis, shape.length, "axis");
    return [shape];
  },
  run(inputs, attrs, outputs) {
    const y = outputs[0], shape = y.shape, data = y.data;
    if (data.length === 0) return;
    const axis = normAxis(attrs.axis, shape.length, "axis");
    const pre = prodRange(shape, 0, axis), n = shape[axis], post = prodRange(shape, axis + 1, shape.length);
    const big = y.dtype === "int64";
    for (let p = 0; p < pre; p++)
      for (let i = 0; i < n; i++) {
        const b = (p * n + i) * post;
        data.fill(big ? BigInt(i) : i, b, b + post);
      }
  },
});

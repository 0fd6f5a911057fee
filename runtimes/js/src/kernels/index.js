// kernels/index.js — importing this registers every kernel (one file per op family).
import "./elementwise.js";
import "./reduce.js";
import "./movement.js";
import "./index_ops.js";
import "./random.js";
import "./linalg.js";
import "./conv.js";

import { OPS } from "../ops_table.js";
import { KERNELS } from "../registry.js";

/** Ops of spec/ops.json that have no kernel (empty when the runtime is complete). */
export const MISSING_KERNELS = [...OPS.keys()].filter((op) => !KERNELS.has(op));

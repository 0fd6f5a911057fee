// errors.js — JagError: the shared error codes of spec/errors.json, in the shared one-line
// message format "[CODE] file: node i 'name' (op): detail" (spec/README.md §13).
import { ERROR_CODES } from "./ops_table.js";

export class JagError extends Error {
  /**
   * @param {string} code   one of spec/errors.json's codes ("E_SHAPE", ...)
   * @param {string} detail the message without context
   * @param {{file?: string, node?: number, nodeName?: string, op?: string, field?: string}} [ctx]
   */
  constructor(code, detail, ctx = {}) {
    if (!ERROR_CODES.includes(code)) throw new TypeError(`JagError: unknown error code ${code}`);
    super(detail);
    this.name = "JagError";
    this.code = code;
    this.detail = detail;
    this.file = ctx.file ?? null;
    this.node = ctx.node ?? null;
    this.nodeName = ctx.nodeName ?? null;
    this.op = ctx.op ?? null;
    this.field = ctx.field ?? null;
    this.message = this.format();
  }

  /** Fill in context that is still unknown; returns this. */
  withContext(ctx) {
    for (const k of ["file", "node", "nodeName", "op", "field"]) {
      if (ctx[k] !== undefined && ctx[k] !== null && (this[k] === null || this[k] === undefined)) this[k] = ctx[k];
    }
    this.message = this.format();
    return this;
  }

  format() {
    const parts = [];
    if (this.file) parts.push(this.file);
    if (this.node !== null || this.op) {
      let where = this.node === null ? "node" : `node ${this.node}`;
      if (this.nodeName) where += ` '${this.nodeName}'`;
      if (this.op) where += ` (${this.op})`;
      parts.push(where);
    }
    return `[${this.code}] ` + (parts.length ? parts.join(": ") + ": " : "") + this.detail;
  }

  toString() {
    return this.message;
  }
}

/** Throw a JagError with the given code (kernels and shape rules use this). */
export function fail(code, detail, ctx) {
  throw new JagError(code, detail, ctx);
}

// dims.js — symbolic dim expressions (spec/README.md §5), the port of runtimes/c/src/dims.c:
//
//   expr    = term { ("+" | "-") term }
//   term    = unary { ("*" | "//") unary }
//   unary   = "-" unary | atom
//   atom    = INTEGER | NAME | "(" expr ")"
//   NAME    = [A-Za-z_][A-Za-z0-9_]*        INTEGER = [0-9]+
//
// Spaces may separate tokens (no other whitespace); 1 to 256 characters. Evaluation is
// direct, in int64 (BigInt, checked after every operation), as Python would evaluate the
// expression text: '//' is floor division (rounds toward -inf); division by zero, an
// INTEGER literal above 2^63 - 1 and any intermediate result outside int64 are errors. The
// final value must also be an exact JS integer (|v| <= 2^53 - 1).
//
// Errors are plain Errors with the reason; the caller reports E_SHAPE / E_ATTR / E_INPUT.

const MAX_LEN = 256;
const MAX_DEPTH = 300;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

const END = 0, INT = 1, NAME = 2, PLUS = 3, MINUS = 4, STAR = 5, DSLASH = 6, LPAREN = 7, RPAREN = 8, BAD = 9;

const isNameStart = (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c) => isNameStart(c) || (c >= 48 && c <= 57);

class DimError extends Error {}

class DParser {
  constructor(s, env) {
    this.s = s;
    this.len = s.length;
    this.pos = 0;
    this.kind = END;
    this.tstart = 0;
    this.tlen = 0;
    this.eval = env !== null;
    this.env = env;
    this.depth = 0;
  }

  fail(reason) {
    throw new DimError(`bad dim expression '${this.s}': ${reason}`);
  }

  next() {
    const s = this.s;
    while (this.pos < this.len && s.charCodeAt(this.pos) === 32) this.pos++;
    this.tstart = this.pos;
    this.tlen = 0;
    if (this.pos >= this.len) {
      this.kind = END;
      return;
    }
    const c = s.charCodeAt(this.pos);
    if (c >= 48 && c <= 57) {
      while (this.pos < this.len && s.charCodeAt(this.pos) >= 48 && s.charCodeAt(this.pos) <= 57) this.pos++;
      this.kind = INT;
    } else if (isNameStart(c)) {
      while (this.pos < this.len && isNameChar(s.charCodeAt(this.pos))) this.pos++;
      this.kind = NAME;
    } else {
      this.pos++;
      switch (c) {
        case 43: this.kind = PLUS; break;
        case 45: this.kind = MINUS; break;
        case 42: this.kind = STAR; break;
        case 40: this.kind = LPAREN; break;
        case 41: this.kind = RPAREN; break;
        case 47:
          if (this.pos < this.len && s.charCodeAt(this.pos) === 47) {
            this.pos++;
            this.kind = DSLASH;
          } else this.kind = BAD;
          break;
        default:
          this.kind = BAD;
      }
    }
    this.tlen = this.pos - this.tstart;
  }

  token() {
    return this.s.slice(this.tstart, this.tstart + this.tlen);
  }

  badToken(expected) {
    if (this.kind === END) this.fail(`unexpected end (expected ${expected})`);
    if (this.kind === BAD) {
      const c = this.s.charCodeAt(this.tstart);
      if (c === 47) this.fail(`a single '/' at position ${this.tstart} is not an operator (use '//')`);
      if (c < 0x20 || c >= 0x7f)
        this.fail(`unexpected character U+${c.toString(16).toUpperCase().padStart(4, "0")} at position ${this.tstart} (only spaces may separate tokens)`);
      this.fail(`unexpected character '${this.s[this.tstart]}' at position ${this.tstart}`);
    }
    this.fail(`unexpected '${this.token()}' at position ${this.tstart} (expected ${expected})`);
  }

  checked(v, op) {
    if (v > INT64_MAX || v < INT64_MIN) this.fail(`int64 overflow in '${op}'`);
    return v;
  }

  lookup(name) {
    const env = this.env;
    let v;
    if (env instanceof Map) v = env.get(name);
    else if (env && Object.prototype.hasOwnProperty.call(env, name)) v = env[name];
    if (v === undefined || v === null) throw new DimError(`unbound dim '${name}'`);
    if (typeof v === "bigint") return v;
    if (typeof v !== "number" || !Number.isInteger(v)) throw new DimError(`dim '${name}' is bound to ${String(v)}, not an integer`);
    return BigInt(v);
  }

  atom() {
    switch (this.kind) {
      case INT: {
        const v = BigInt(this.token());
        if (v > INT64_MAX) this.fail(`the integer ${this.token()} does not fit in int64`);
        this.next();
        return v;
      }
      case NAME: {
        const v = this.eval ? this.lookup(this.token()) : 0n;
        this.next();
        return v;
      }
      case LPAREN: {
        const open = this.tstart;
        this.next();
        const v = this.expr();
        if (this.kind !== RPAREN) {
          if (this.kind === END) this.fail(`missing ')' for the '(' at position ${open}`);
          this.badToken("')'");
        }
        this.next();
        return v;
      }
      default:
        return this.badToken("a number, a name or '('");
    }
  }

  unary() {
    if (++this.depth > MAX_DEPTH) this.fail("nested too deeply");
    let v;
    if (this.kind === MINUS) {
      this.next();
      v = this.unary();
      if (this.eval) v = this.checked(-v, "-");
    } else {
      v = this.atom();
    }
    this.depth--;
    return v;
  }

  term() {
    let v = this.unary();
    while (this.kind === STAR || this.kind === DSLASH) {
      const op = this.kind;
      this.next();
      const rhs = this.unary();
      if (!this.eval) continue;
      if (op === STAR) v = this.checked(v * rhs, "*");
      else {
        if (rhs === 0n) this.fail("division by zero");
        let q = v / rhs; // truncates toward zero
        if (v % rhs !== 0n && (v < 0n) !== (rhs < 0n)) q -= 1n;
        v = this.checked(q, "//");
      }
    }
    return v;
  }

  expr() {
    if (++this.depth > MAX_DEPTH) this.fail("nested too deeply");
    let v = this.term();
    while (this.kind === PLUS || this.kind === MINUS) {
      const op = this.kind;
      this.next();
      const rhs = this.term();
      if (this.eval) v = op === PLUS ? this.checked(v + rhs, "+") : this.checked(v - rhs, "-");
    }
    this.depth--;
    return v;
  }

  run() {
    const len = this.len;
    if (len === 0) this.fail("empty");
    if (len > MAX_LEN) throw new DimError(`bad dim expression '${this.s.slice(0, 40)}...': longer than ${MAX_LEN} characters`);
    this.next();
    if (this.kind === END) this.fail("empty");
    const v = this.expr();
    if (this.kind !== END) this.badToken("an operator or the end");
    return v;
  }
}

function run(expr, env) {
  if (typeof expr !== "string") throw new DimError(`a dim expression must be a string, got ${typeof expr}`);
  return new DParser(expr, env).run();
}

/**
 * Check the syntax of a dim expression.
 * @param {string} expr
 * @returns {string|null} null when well-formed, else the reason
 */
export function checkDim(expr) {
  try {
    run(expr, null);
    return null;
  } catch (e) {
    if (e instanceof DimError) return e.message;
    throw e;
  }
}

/**
 * The name when expr is a bare name (optionally surrounded by spaces), else null.
 * @param {string} expr
 * @returns {string|null}
 */
export function bareDimName(expr) {
  if (typeof expr !== "string" || expr.length === 0 || expr.length > MAX_LEN) return null;
  let i = 0;
  let j = expr.length;
  while (i < j && expr.charCodeAt(i) === 32) i++;
  while (j > i && expr.charCodeAt(j - 1) === 32) j--;
  if (i === j || !isNameStart(expr.charCodeAt(i))) return null;
  for (let k = i + 1; k < j; k++) if (!isNameChar(expr.charCodeAt(k))) return null;
  return expr.slice(i, j);
}

/**
 * The names an expression uses, each once, in order of first appearance (syntax not checked).
 * @param {string} expr
 * @returns {string[]}
 */
export function dimNames(expr) {
  if (typeof expr !== "string") return [];
  const p = new DParser(expr, null);
  const out = [];
  for (p.next(); p.kind !== END; p.next()) {
    if (p.kind === NAME) {
      const name = p.token();
      if (!out.includes(name)) out.push(name);
    }
  }
  return out;
}

/**
 * Evaluate a dim expression with bound names.
 * @param {string} expr
 * @param {Map<string, number|bigint>|Object<string, number|bigint>} env
 * @returns {number}
 * @throws {Error} on bad syntax, an unbound name ("unbound dim 'M'"), division by zero,
 *   int64 overflow, or a value beyond 2^53 - 1 in magnitude
 */
export function evalDim(expr, env) {
  // syntax errors first, so that they win over an unbound name earlier in the text
  run(expr, null);
  const v = run(expr, env ?? new Map());
  if (v > SAFE_MAX || v < -SAFE_MAX) throw new DimError(`dim value exceeds 2^53 - 1: '${expr}' is ${v}`);
  return Number(v);
}

/*
 * dims.c — symbolic dim expressions (spec/README.md §5 "Shapes and symbolic dims").
 *
 *   expr    = term { ("+" | "-") term }
 *   term    = unary { ("*" | "//") unary }
 *   unary   = "-" unary | atom
 *   atom    = INTEGER | NAME | "(" expr ")"
 *   NAME    = [A-Za-z_][A-Za-z0-9_]*        INTEGER = [0-9]+
 *
 * Spaces may separate tokens (no other whitespace); 1 to 256 characters. Evaluation is
 * direct, in int64, as Python would evaluate the expression text: '//' is floor division
 * (rounds toward -inf), division by zero, an INTEGER literal above INT64_MAX and any
 * intermediate result outside int64 are errors. (python/jag/symbolic.py evaluates the
 * normalised polynomial instead, with unbounded ints; the values agree whenever neither
 * side divides by zero or overflows.)
 */
#include "jag_internal.h"

#include <stdio.h>
#include <string.h>

#define JAG_DIM_MAX_LEN   256
#define JAG_DIM_MAX_DEPTH 300

enum tok_kind { TOK_END, TOK_INT, TOK_NAME, TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_DSLASH, TOK_LPAREN, TOK_RPAREN, TOK_BAD };

struct dparser {
    const char               *s;
    size_t                    len;
    size_t                    pos;          /* position after the current token        */
    /* current token */
    enum tok_kind             kind;
    size_t                    tstart, tlen;
    int64_t                   tvalue;       /* TOK_INT, when it fits                  */
    bool                      tfits;
    /* mode */
    bool                      eval;
    const struct jag_dim_env *env;
    int32_t                   depth;
    char                     *why;
    size_t                    why_size;
    bool                      failed;
};

static bool dfail(struct dparser *p, const char *fmt, ...)
{
    if (!p->failed && p->why && p->why_size) {
        char reason[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        jag_format(p->why, p->why_size, "bad dim expression '%.*s': %s", (int)p->len, p->s, reason);
    }
    p->failed = true;
    return false;
}

static bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/* Read the next token into p->kind etc. */
static void next(struct dparser *p)
{
    while (p->pos < p->len && p->s[p->pos] == ' ') p->pos++;
    p->tstart = p->pos;
    p->tlen = 0;
    if (p->pos >= p->len) { p->kind = TOK_END; return; }
    char c = p->s[p->pos];
    if (c >= '0' && c <= '9') {
        uint64_t v = 0;
        bool fits = true;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            uint64_t d = (uint64_t)(p->s[p->pos] - '0');
            if (fits && v > ((uint64_t)INT64_MAX - d) / 10u) fits = false;
            if (fits) v = v * 10u + d;
            p->pos++;
        }
        p->kind = TOK_INT;
        p->tvalue = fits ? (int64_t)v : 0;
        p->tfits = fits;
    } else if (is_name_start(c)) {
        while (p->pos < p->len && is_name_char(p->s[p->pos])) p->pos++;
        p->kind = TOK_NAME;
    } else {
        p->pos++;
        switch (c) {
        case '+': p->kind = TOK_PLUS; break;
        case '-': p->kind = TOK_MINUS; break;
        case '*': p->kind = TOK_STAR; break;
        case '(': p->kind = TOK_LPAREN; break;
        case ')': p->kind = TOK_RPAREN; break;
        case '/':
            if (p->pos < p->len && p->s[p->pos] == '/') { p->pos++; p->kind = TOK_DSLASH; }
            else p->kind = TOK_BAD;
            break;
        default: p->kind = TOK_BAD; break;
        }
    }
    p->tlen = p->pos - p->tstart;
}

static bool bad_token(struct dparser *p, const char *expected)
{
    if (p->kind == TOK_END) return dfail(p, "unexpected end (expected %s)", expected);
    if (p->kind == TOK_BAD) {
        char c = p->s[p->tstart];
        if (c == '/') return dfail(p, "a single '/' at position %zu is not an operator (use '//')", p->tstart);
        if (c == ' ' || (unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
            return dfail(p, "unexpected byte 0x%02x at position %zu (only spaces may separate tokens)",
                         (unsigned)(unsigned char)c, p->tstart);
        return dfail(p, "unexpected character '%c' at position %zu", c, p->tstart);
    }
    return dfail(p, "unexpected '%.*s' at position %zu (expected %s)", (int)p->tlen, p->s + p->tstart, p->tstart,
                 expected);
}

/* ---------------------------------------------------------------- checked int64 arithmetic */

static bool add_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return false;
    *r = a + b;
    return true;
}

static bool sub_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) return false;
    *r = a - b;
    return true;
}

static bool mul_ok(int64_t a, int64_t b, int64_t *r)
{
    if (a == 0 || b == 0) { *r = 0; return true; }
    uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
    if (ua > UINT64_MAX / ub) return false;
    uint64_t m = ua * ub;
    bool neg = (a < 0) != (b < 0);
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1u) return false;
        *r = (m == (uint64_t)INT64_MAX + 1u) ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX) return false;
        *r = (int64_t)m;
    }
    return true;
}

/* Python's a // b for b != 0 (false on INT64_MIN // -1). */
static bool floordiv_ok(int64_t a, int64_t b, int64_t *r)
{
    if (a == INT64_MIN && b == -1) return false;
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0))) q--;
    *r = q;
    return true;
}

/* ---------------------------------------------------------------- recursive descent */

static bool parse_expr(struct dparser *p, int64_t *v);

static bool lookup(struct dparser *p, const char *name, size_t len, int64_t *v)
{
    const struct jag_dim_env *env = p->env;
    if (env)
        for (int32_t i = 0; i < env->n; i++) {
            const char *n = env->names[i];
            if (n && strlen(n) == len && memcmp(n, name, len) == 0) {
                *v = env->values[i];
                return true;
            }
        }
    if (p->why && p->why_size) jag_format(p->why, p->why_size, "unbound dim '%.*s'", (int)len, name);
    p->failed = true;
    return false;
}

static bool parse_atom(struct dparser *p, int64_t *v)
{
    switch (p->kind) {
    case TOK_INT:
        if (!p->tfits) return dfail(p, "the integer %.*s does not fit in int64", (int)p->tlen, p->s + p->tstart);
        *v = p->tvalue;
        next(p);
        return true;
    case TOK_NAME:
        if (p->eval && !lookup(p, p->s + p->tstart, p->tlen, v)) return false;
        if (!p->eval) *v = 0;
        next(p);
        return true;
    case TOK_LPAREN: {
        size_t open = p->tstart;
        next(p);
        if (!parse_expr(p, v)) return false;
        if (p->kind != TOK_RPAREN) {
            if (p->kind == TOK_END) return dfail(p, "missing ')' for the '(' at position %zu", open);
            return bad_token(p, "')'");
        }
        next(p);
        return true;
    }
    default:
        return bad_token(p, "a number, a name or '('");
    }
}

static bool parse_unary(struct dparser *p, int64_t *v)
{
    if (++p->depth > JAG_DIM_MAX_DEPTH) return dfail(p, "nested too deeply");
    bool ok;
    if (p->kind == TOK_MINUS) {
        next(p);
        ok = parse_unary(p, v);
        if (ok && p->eval) {
            if (*v == INT64_MIN) ok = dfail(p, "int64 overflow in '-'");
            else *v = -*v;
        }
    } else {
        ok = parse_atom(p, v);
    }
    p->depth--;
    return ok;
}

static bool parse_term(struct dparser *p, int64_t *v)
{
    if (!parse_unary(p, v)) return false;
    while (p->kind == TOK_STAR || p->kind == TOK_DSLASH) {
        enum tok_kind op = p->kind;
        int64_t rhs;
        next(p);
        if (!parse_unary(p, &rhs)) return false;
        if (!p->eval) continue;
        if (op == TOK_STAR) {
            if (!mul_ok(*v, rhs, v)) return dfail(p, "int64 overflow in '*'");
        } else {
            if (rhs == 0) return dfail(p, "division by zero");
            if (!floordiv_ok(*v, rhs, v)) return dfail(p, "int64 overflow in '//'");
        }
    }
    return true;
}

static bool parse_expr(struct dparser *p, int64_t *v)
{
    if (++p->depth > JAG_DIM_MAX_DEPTH) return dfail(p, "nested too deeply");
    bool ok = parse_term(p, v);
    while (ok && (p->kind == TOK_PLUS || p->kind == TOK_MINUS)) {
        enum tok_kind op = p->kind;
        int64_t rhs;
        next(p);
        ok = parse_term(p, &rhs);
        if (!ok || !p->eval) continue;
        if (op == TOK_PLUS ? !add_ok(*v, rhs, v) : !sub_ok(*v, rhs, v))
            ok = dfail(p, "int64 overflow in '%c'", op == TOK_PLUS ? '+' : '-');
    }
    p->depth--;
    return ok;
}

static bool run(const char *expr, bool eval, const struct jag_dim_env *env, int64_t *value, char *why, size_t why_size)
{
    struct dparser p;
    memset(&p, 0, sizeof p);
    p.s = expr ? expr : "";
    p.why = why;
    p.why_size = why_size;
    p.eval = eval;
    p.env = env;
    if (why && why_size) why[0] = '\0';
    /* length first, without reading past 257 bytes */
    size_t len = 0;
    while (len <= JAG_DIM_MAX_LEN && p.s[len]) len++;
    p.len = len;
    if (len == 0) return dfail(&p, "empty");
    if (len > JAG_DIM_MAX_LEN) {
        p.len = 40;
        return dfail(&p, "longer than %d characters", JAG_DIM_MAX_LEN);
    }
    next(&p);
    if (p.kind == TOK_END) return dfail(&p, "empty");
    int64_t v = 0;
    if (!parse_expr(&p, &v)) return false;
    if (p.kind != TOK_END) return bad_token(&p, "an operator or the end");
    if (value) *value = v;
    return true;
}

bool jag_dim_check(const char *expr, char *why, size_t why_size)
{
    return run(expr, false, NULL, NULL, why, why_size);
}

bool jag_dim_eval(const char *expr, const struct jag_dim_env *env, int64_t *value, char *why, size_t why_size)
{
    /* syntax errors first, so that they win over an unbound name earlier in the text */
    if (!run(expr, false, NULL, NULL, why, why_size)) return false;
    return run(expr, true, env, value, why, why_size);
}

bool jag_dim_bare_name(const char *expr, char *name, size_t size)
{
    if (!expr) return false;
    size_t len = strlen(expr);
    if (len == 0 || len > JAG_DIM_MAX_LEN) return false;
    size_t i = 0, j = len;
    while (i < j && expr[i] == ' ') i++;
    while (j > i && expr[j - 1] == ' ') j--;
    if (i == j || !is_name_start(expr[i])) return false;
    for (size_t k = i + 1; k < j; k++)
        if (!is_name_char(expr[k])) return false;
    if (!name || j - i + 1 > size) return false;
    memcpy(name, expr + i, j - i);
    name[j - i] = '\0';
    return true;
}

void jag_dim_names(const char *expr, void (*fn)(const char *name, size_t len, void *ctx), void *ctx)
{
    if (!expr || !fn) return;
    struct dparser p;
    memset(&p, 0, sizeof p);
    p.s = expr;
    p.len = strlen(expr);
    for (next(&p); p.kind != TOK_END; next(&p))
        if (p.kind == TOK_NAME) fn(p.s + p.tstart, p.tlen, ctx);
}

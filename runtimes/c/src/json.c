/*
 * json.c — a small strict JSON reader (RFC 8259) producing a struct jag_json tree.
 *
 * Strict like Python's json.loads with the checks of python/jag/serialize.py _parse_json:
 * one value with optional whitespace (space, tab, CR, LF) around it; no NaN/Infinity, no
 * comments, no trailing commas, no leading BOM; strings are valid UTF-8 (no overlongs,
 * surrogates or code points above U+10FFFF), escapes are the RFC 8259 ones with \uXXXX
 * surrogate pairs decoded to UTF-8 (a lone surrogate or "\u0000" is an error, so strings
 * never hold an embedded NUL); duplicate object keys are an error (O(1) each via a hash
 * table for large objects); nesting is limited to max_depth (checked before recursing).
 *
 * Errors are "line L, column C: reason" with 1-based lines (counted by '\n') and columns
 * counted in characters (UTF-8 code points), as Python's json.JSONDecodeError.
 *
 * Memory: a value being built is always consistent (n counts the initialised items), so
 * on any error the partial tree is freed with the ordinary free function.
 */
#include "jag_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct parser {
    const unsigned char *s;
    size_t               len;
    size_t               pos;
    int32_t              max_depth;
    /* incremental line/column of value starts */
    int32_t              line;          /* current line (1-based)                    */
    size_t               line_start;    /* byte offset of the current line           */
    size_t               col_pos;       /* byte offset up to which col_chars counts  */
    int64_t              col_chars;     /* characters in [line_start, col_pos)       */
    /* error */
    char                *why;
    size_t               why_size;
};

/* ---------------------------------------------------------------- errors */

/* Line and character column of byte offset pos, computed from scratch (errors only). */
static void where(const struct parser *p, size_t pos, int64_t *line, int64_t *column)
{
    int64_t l = 1, c = 0;
    if (pos > p->len) pos = p->len;
    for (size_t i = 0; i < pos; i++) {
        unsigned char ch = p->s[i];
        if (ch == '\n') { l++; c = 0; }
        else if ((ch & 0xC0) != 0x80) c++;
    }
    *line = l;
    *column = c + 1;
}

static enum jag_status fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->why && p->why_size > 0) {
        int64_t line, column;
        char reason[384];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        where(p, pos, &line, &column);
        jag_format(p->why, p->why_size, "line %lld, column %lld: %s", (long long)line, (long long)column, reason);
    }
    return JAG_STATUS_E_JSON;
}

static enum jag_status oom(struct parser *p)
{
    jag_format(p->why, p->why_size, "out of memory while parsing JSON");
    return JAG_STATUS_OUT_OF_MEMORY;
}

/* A printable description of the byte at pos for messages. */
static const char *describe(const struct parser *p, size_t pos, char *buf, size_t size)
{
    if (pos >= p->len) return "end of input";
    unsigned char c = p->s[pos];
    if (c >= 0x20 && c < 0x7F) jag_format(buf, size, "character '%c'", c);
    else jag_format(buf, size, "byte 0x%02x", c);
    return buf;
}

/* ---------------------------------------------------------------- positions */

static void skip_ws(struct parser *p)
{
    const unsigned char *s = p->s;
    size_t i = p->pos, n = p->len;
    while (i < n) {
        unsigned char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r') i++;
        else if (c == '\n') {
            i++;
            if (p->line < INT32_MAX) p->line++;
            p->line_start = i;
            p->col_pos = i;
            p->col_chars = 0;
        } else break;
    }
    p->pos = i;
}

/* Character column of the current position (amortised O(1): positions only increase). */
static int32_t column_now(struct parser *p)
{
    if (p->col_pos < p->line_start) { p->col_pos = p->line_start; p->col_chars = 0; }
    for (size_t i = p->col_pos; i < p->pos; i++)
        if ((p->s[i] & 0xC0) != 0x80) p->col_chars++;
    p->col_pos = p->pos;
    int64_t c = p->col_chars + 1;
    return c > INT32_MAX ? INT32_MAX : (int32_t)c;
}

/* ---------------------------------------------------------------- freeing */

static void free_contents(struct jag_json *v)
{
    if (!v) return;
    switch (v->type) {
    case JAG_JSON_STRING:
        free(v->string);
        break;
    case JAG_JSON_ARRAY:
    case JAG_JSON_OBJECT:
        for (int32_t i = 0; i < v->n; i++) {
            free_contents(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        break;
    default:
        break;
    }
    v->string = NULL;
    v->items = NULL;
    v->keys = NULL;
    v->n = 0;
}

void jag_json_free(struct jag_json *value)
{
    if (!value) return;
    free_contents(value);
    free(value);
}

const struct jag_json *jag_json_get(const struct jag_json *obj, const char *key)
{
    if (!obj || obj->type != JAG_JSON_OBJECT || !key) return NULL;
    for (int32_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* ---------------------------------------------------------------- strings */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[i..i+4) (i + 4 <= limit checked by the caller), or -1. */
static int32_t hex4(const unsigned char *s, size_t i)
{
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hex_value(s[i + (size_t)k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence starting at s[i] (lead byte >= 0x80), reading only
 * bytes before limit; 0 if invalid (bad lead, bad continuation, overlong, surrogate,
 * above U+10FFFF, or truncated). */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t limit)
{
    unsigned char c = s[i];
    size_t n;
    uint32_t lo = 0x80, hi = 0xBF;     /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c == 0xED) { n = 3; hi = 0x9F; }           /* no surrogates */
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c == 0xF4) { n = 4; hi = 0x8F; }           /* <= U+10FFFF */
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else return 0;
    if (limit - i < n) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[i + k] & 0xC0) != 0x80) return 0;
    return n;
}

/* Parse a string starting at the opening quote p->pos; on success *out is a new
 * NUL-terminated buffer and p->pos is after the closing quote. */
static enum jag_status parse_string(struct parser *p, char **out, size_t *out_len)
{
    const unsigned char *s = p->s;
    size_t start = p->pos + 1, n = p->len;
    /* 1. find the end quickly: the first '"' preceded by an even number of backslashes
     *    (memchr is vectorised in libc), or the end of the text */
    size_t end = start;
    for (;;) {
        const unsigned char *q = end < n ? memchr(s + end, '"', n - end) : NULL;
        if (!q) { end = n; break; }
        end = (size_t)(q - s);
        size_t b = end;
        while (b > start && s[b - 1] == '\\') b--;
        if ((end - b) % 2 == 0) break;
        end++;
    }
    /* 2. decode and validate into one buffer; the decoded text is never longer */
    char *buf = malloc(end - start + 1);
    if (!buf) return oom(p);
    size_t i = start, o = 0;
    enum jag_status st = JAG_STATUS_OK;
    while (i < end) {
        /* fast path: plain ASCII, 8 bytes at a time while none is < 0x20, >= 0x80 or '\\' */
        while (end - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
            uint64_t ctrl = (w - 0x20 * ones) & ~w;             /* high bit set where byte < 0x20 (or >= 0x80) */
            uint64_t bs = w ^ (0x5C * ones);                    /* zero byte where '\\' */
            uint64_t bsz = (bs - ones) & ~bs;
            if ((w | ctrl | bsz) & highs) break;
            memcpy(buf + o, s + i, 8);
            o += 8;
            i += 8;
        }
        while (i < end) {
            unsigned char c = s[i];
            if (c < 0x20 || c >= 0x80 || c == '\\') break;
            buf[o++] = (char)c;
            i++;
        }
        if (i >= end) break;
        unsigned char c = s[i];
        if (c < 0x20) {
            st = fail_at(p, i, "control character in string (byte 0x%02x); write it as an escape", c);
            goto fail;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(s, i, end);
            if (k == 0) {
                /* a valid but cut sequence at the very end of the text is a truncation */
                unsigned char tmp[4] = {0x80, 0x80, 0x80, 0x80};
                for (size_t t = 0; i + t < n && t < 4; t++) tmp[t] = s[i + t];
                if (end == n && n - i < 4 && utf8_seq(tmp, 0, 4) > n - i)
                    st = fail_at(p, n, "unexpected end of input in a string");
                else
                    st = fail_at(p, i, "invalid UTF-8 in string (byte 0x%02x)", c);
                goto fail;
            }
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        /* an escape */
        if (i + 1 >= end) {
            st = fail_at(p, n, "unexpected end of input in a string");
            goto fail;
        }
        unsigned char e = s[i + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default:
            st = fail_at(p, i, "invalid escape '\\%c'", (e >= 0x20 && e < 0x7F) ? e : '?');
            goto fail;
        }
        if (simple) {
            buf[o++] = simple;
            i += 2;
            continue;
        }
        if (end - i < 6) {
            st = (end == n) ? fail_at(p, n, "unexpected end of input in a string")
                            : fail_at(p, i, "invalid escape: \\u needs four hex digits");
            goto fail;
        }
        int32_t u = hex4(s, i + 2);
        if (u < 0) {
            st = fail_at(p, i, "invalid escape: \\u needs four hex digits");
            goto fail;
        }
        uint32_t cp = (uint32_t)u;
        size_t used = 6;
        if (cp == 0) {
            st = fail_at(p, i, "\\u0000 is not allowed in strings");
            goto fail;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            st = fail_at(p, i, "invalid escape: lone low surrogate \\u%04x", (unsigned)cp);
            goto fail;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int32_t lo = -1;
            if (end - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u') lo = hex4(s, i + 8);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                st = (end == n && end - i < 12) ? fail_at(p, n, "unexpected end of input in a string")
                                                : fail_at(p, i, "invalid escape: lone high surrogate \\u%04x", (unsigned)cp);
                goto fail;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            used = 12;
        }
        o += put_utf8(buf + o, cp);
        i += used;
    }
    if (end >= n) {
        st = fail_at(p, p->pos, "unterminated string (unexpected end of input)");
        goto fail;
    }
    buf[o] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = o;
    return JAG_STATUS_OK;
fail:
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- numbers */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static enum jag_status parse_number(struct parser *p, struct jag_json *v)
{
    const unsigned char *s = p->s;
    size_t n = p->len, i = p->pos, start = p->pos;
    bool neg = false, integral = true;
    if (i < n && s[i] == '-') { neg = true; i++; }
    if (i >= n) return fail_at(p, n, "unexpected end of input in a number");
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i])) return fail_at(p, start, "invalid number (leading zero)");
    } else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i])) i++;
    } else {
        return fail_at(p, start, "invalid number");
    }
    size_t int_end = i;
    if (i < n && s[i] == '.') {
        integral = false;
        i++;
        if (i >= n) return fail_at(p, n, "unexpected end of input in a number");
        if (!is_digit(s[i])) return fail_at(p, start, "invalid number (digits must follow '.')");
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n) return fail_at(p, n, "unexpected end of input in a number");
        if (!is_digit(s[i])) return fail_at(p, start, "invalid number (digits must follow the exponent)");
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n) {
        unsigned char c = s[i];
        if (is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
            return fail_at(p, start, "invalid number");
    }
    v->integral = integral;
    v->fits_int64 = false;
    v->integer = 0;
    if (integral) {
        /* exact: magnitude in uint64 with overflow detection */
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
        uint64_t mag = 0;
        bool ok = true;
        for (size_t k = start + (neg ? 1 : 0); k < int_end; k++) {
            uint64_t d = (uint64_t)(s[k] - '0');
            if (mag > (limit - d) / 10u) { ok = false; break; }
            mag = mag * 10u + d;
        }
        if (ok) {
            v->fits_int64 = true;
            if (neg) v->integer = (mag == (uint64_t)INT64_MAX + 1u) ? INT64_MIN : -(int64_t)mag;
            else v->integer = (int64_t)mag;
            if (mag <= ((uint64_t)1 << 53)) {
                /* exactly representable: what strtod would return, without calling it */
                v->number = neg ? -(double)mag : (double)mag;
                v->type = JAG_JSON_NUMBER;
                p->pos = i;
                return JAG_STATUS_OK;
            }
        }
    }
    size_t tlen = i - start;
    /* strtod needs a NUL-terminated copy */
    char small[80];
    char *tok = small;
    if (tlen >= sizeof small) {
        tok = malloc(tlen + 1);
        if (!tok) return oom(p);
    }
    memcpy(tok, s + start, tlen);
    tok[tlen] = '\0';
    v->number = strtod(tok, NULL);
    if (tok != small) free(tok);
    v->type = JAG_JSON_NUMBER;
    p->pos = i;
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- values */

static enum jag_status parse_value(struct parser *p, struct jag_json *v, int32_t depth);

static bool grow(void **buf, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return false;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / item) return false;
    void *nb = realloc(*buf, ncap * item);
    if (!nb) return false;
    *buf = nb;
    *cap = ncap;
    return true;
}

static enum jag_status parse_array(struct parser *p, struct jag_json *v, int32_t depth)
{
    size_t cap = 0;
    v->type = JAG_JSON_ARRAY;
    p->pos++;   /* '[' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return JAG_STATUS_OK;
    }
    for (;;) {
        if (v->n == INT32_MAX) return fail_at(p, p->pos, "too many items in an array");
        void *items = v->items;
        if (!grow(&items, &cap, (size_t)v->n + 1, sizeof *v->items)) return oom(p);
        v->items = items;
        struct jag_json *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        v->n++;
        enum jag_status st = parse_value(p, item, depth);
        if (st != JAG_STATUS_OK) return st;
        skip_ws(p);
        if (p->pos >= p->len) return fail_at(p, p->len, "unexpected end of input (expected ',' or ']')");
        unsigned char c = p->s[p->pos];
        if (c == ']') { p->pos++; return JAG_STATUS_OK; }
        if (c != ',') {
            char d[32];
            return fail_at(p, p->pos, "expected ',' or ']', got %s", describe(p, p->pos, d, sizeof d));
        }
        p->pos++;
        skip_ws(p);
    }
}

static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *s = (const unsigned char *)k; *s; s++) {
        h ^= *s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Duplicate-key check: linear for small objects, an open-addressing hash set of item
 * indices for larger ones. Returns the index of an earlier equal key or -1; -2 on OOM. */
struct keyset {
    int32_t *slots;     /* -1 = empty */
    size_t   cap;       /* power of two */
    size_t   count;
};

static void keyset_insert_(struct keyset *ks, char **keys, int32_t index)
{
    size_t mask = ks->cap - 1;
    size_t h = (size_t)hash_key(keys[index]) & mask;
    while (ks->slots[h] >= 0) h = (h + 1) & mask;
    ks->slots[h] = index;
    ks->count++;
}

static bool keyset_rehash(struct keyset *ks, char **keys, int32_t n, size_t cap)
{
    int32_t *slots = malloc(cap * sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < cap; i++) slots[i] = -1;
    free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
    ks->count = 0;
    for (int32_t i = 0; i < n; i++) keyset_insert_(ks, keys, i);
    return true;
}

#define JAG_JSON_LINEAR_KEYS 16

/* keys[0..n) hold distinct keys; is keys[n] one of them? */
static int32_t find_duplicate(struct keyset *ks, char **keys, int32_t n)
{
    const char *k = keys[n];
    if (n < JAG_JSON_LINEAR_KEYS) {
        for (int32_t i = 0; i < n; i++)
            if (strcmp(keys[i], k) == 0) return i;
        return -1;
    }
    if (ks->cap == 0 || (ks->count + 1) * 2 > ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 64;
        while (cap < (size_t)(n + 1) * 2) cap *= 2;
        if (!keyset_rehash(ks, keys, n, cap)) return -2;
    }
    size_t mask = ks->cap - 1;
    size_t h = (size_t)hash_key(k) & mask;
    while (ks->slots[h] >= 0) {
        if (strcmp(keys[ks->slots[h]], k) == 0) return ks->slots[h];
        h = (h + 1) & mask;
    }
    ks->slots[h] = n;
    ks->count++;
    return -1;
}

static enum jag_status parse_object(struct parser *p, struct jag_json *v, int32_t depth)
{
    size_t cap_items = 0, cap_keys = 0;
    struct keyset ks = {NULL, 0, 0};
    enum jag_status st = JAG_STATUS_OK;
    v->type = JAG_JSON_OBJECT;
    p->pos++;   /* '{' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return JAG_STATUS_OK;
    }
    for (;;) {
        if (p->pos >= p->len) { st = fail_at(p, p->len, "unexpected end of input (expected a key string)"); goto done; }
        if (p->s[p->pos] != '"') {
            char d[32];
            st = fail_at(p, p->pos, "expected a key string in double quotes, got %s", describe(p, p->pos, d, sizeof d));
            goto done;
        }
        if (v->n == INT32_MAX) { st = fail_at(p, p->pos, "too many keys in an object"); goto done; }
        size_t key_pos = p->pos;
        char *key = NULL;
        size_t key_len = 0;
        st = parse_string(p, &key, &key_len);
        if (st != JAG_STATUS_OK) goto done;
        void *items = v->items, *keys = v->keys;
        bool ok1 = grow(&items, &cap_items, (size_t)v->n + 1, sizeof *v->items);
        v->items = items;
        bool ok2 = ok1 && grow(&keys, &cap_keys, (size_t)v->n + 1, sizeof *v->keys);
        v->keys = keys;
        if (!ok1 || !ok2) { free(key); st = oom(p); goto done; }
        v->keys[v->n] = key;
        struct jag_json *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        int32_t dup = find_duplicate(&ks, v->keys, v->n);
        v->n++;
        if (dup == -2) { st = oom(p); goto done; }
        if (dup >= 0) {
            /* keep the message short: long keys are cut */
            st = fail_at(p, key_pos, "duplicate key '%.200s'%s", key, key_len > 200 ? "..." : "");
            goto done;
        }
        skip_ws(p);
        if (p->pos >= p->len) { st = fail_at(p, p->len, "unexpected end of input (expected ':')"); goto done; }
        if (p->s[p->pos] != ':') {
            char d[32];
            st = fail_at(p, p->pos, "expected ':' after a key, got %s", describe(p, p->pos, d, sizeof d));
            goto done;
        }
        p->pos++;
        skip_ws(p);
        st = parse_value(p, item, depth);
        if (st != JAG_STATUS_OK) goto done;
        skip_ws(p);
        if (p->pos >= p->len) { st = fail_at(p, p->len, "unexpected end of input (expected ',' or '}')"); goto done; }
        unsigned char c = p->s[p->pos];
        if (c == '}') { p->pos++; goto done; }
        if (c != ',') {
            char d[32];
            st = fail_at(p, p->pos, "expected ',' or '}', got %s", describe(p, p->pos, d, sizeof d));
            goto done;
        }
        p->pos++;
        skip_ws(p);
    }
done:
    free(ks.slots);
    return st;
}

static bool match_word(const struct parser *p, const char *w)
{
    size_t k = strlen(w);
    return p->len - p->pos >= k && memcmp(p->s + p->pos, w, k) == 0;
}

/* Parse the value at p->pos (whitespace already skipped) into v (zeroed); depth = the
 * nesting depth of v's container (0 at the top). */
static enum jag_status parse_value(struct parser *p, struct jag_json *v, int32_t depth)
{
    if (p->pos >= p->len) return fail_at(p, p->len, "unexpected end of input (expected a value)");
    v->line = p->line;
    v->column = column_now(p);
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{':
    case '[':
        if (depth >= p->max_depth) return fail_at(p, p->pos, "nesting deeper than %d", (int)p->max_depth);
        return c == '{' ? parse_object(p, v, depth + 1) : parse_array(p, v, depth + 1);
    case '"': {
        char *str = NULL;
        size_t slen = 0;
        enum jag_status st = parse_string(p, &str, &slen);
        if (st != JAG_STATUS_OK) return st;
        v->type = JAG_JSON_STRING;
        v->string = str;
        v->string_len = slen;
        return JAG_STATUS_OK;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
        if (!match_word(p, w)) {
            size_t k = strlen(w);
            if (p->len - p->pos < k && memcmp(p->s + p->pos, w, p->len - p->pos) == 0)
                return fail_at(p, p->len, "unexpected end of input in '%s'", w);
            return fail_at(p, p->pos, "invalid literal (expected '%s')", w);
        }
        p->pos += strlen(w);
        if (c == 'n') v->type = JAG_JSON_NULL;
        else { v->type = JAG_JSON_BOOL; v->boolean = (c == 't'); }
        return JAG_STATUS_OK;
    }
    case 'N':
    case 'I':
        if (match_word(p, "NaN") || match_word(p, "Infinity"))
            return fail_at(p, p->pos, "'%s' is not valid JSON (write non-finite floats as the strings \"inf\", \"-inf\", \"nan\")",
                           c == 'N' ? "NaN" : "Infinity");
        {
            char d[32];
            return fail_at(p, p->pos, "expected a value, got %s", describe(p, p->pos, d, sizeof d));
        }
    case '-':
        p->pos++;
        if (match_word(p, "Infinity")) {
            p->pos--;
            return fail_at(p, p->pos, "'-Infinity' is not valid JSON (write non-finite floats as the strings \"inf\", \"-inf\", \"nan\")");
        }
        p->pos--;
        return parse_number(p, v);
    default:
        if (is_digit(c)) return parse_number(p, v);
        {
            char d[32];
            return fail_at(p, p->pos, "expected a value, got %s", describe(p, p->pos, d, sizeof d));
        }
    }
}

enum jag_status jag_json_parse(const char *text, size_t len, int32_t max_depth,
                               struct jag_json **out, char *why, size_t why_size)
{
    struct parser p;
    memset(&p, 0, sizeof p);
    p.s = (const unsigned char *)text;
    p.len = text ? len : 0;
    p.max_depth = max_depth < 0 ? 0 : max_depth;
    p.line = 1;
    p.why = why;
    p.why_size = why_size;
    if (why && why_size) why[0] = '\0';
    if (out) *out = NULL;
    if (!out) return JAG_STATUS_E_INTERNAL;
    if (p.len >= 3 && p.s[0] == 0xEF && p.s[1] == 0xBB && p.s[2] == 0xBF)
        return fail_at(&p, 0, "unexpected UTF-8 byte order mark (BOM) at the start");
    struct jag_json *root = calloc(1, sizeof *root);
    if (!root) return oom(&p);
    skip_ws(&p);
    enum jag_status st;
    if (p.pos >= p.len) {
        st = fail_at(&p, p.len, p.len == 0 ? "unexpected end of input (the text is empty)"
                                           : "unexpected end of input (expected a value)");
    } else {
        st = parse_value(&p, root, 0);
        if (st == JAG_STATUS_OK) {
            skip_ws(&p);
            if (p.pos < p.len) st = fail_at(&p, p.pos, "trailing characters after the JSON value");
        }
    }
    if (st != JAG_STATUS_OK) {
        jag_json_free(root);
        return st;
    }
    *out = root;
    return JAG_STATUS_OK;
}

/*
 * test_util.c — unit tests of the parsing utilities: json.c (strict RFC 8259 reader),
 * util.c (base64, SHA-256, file reading/writing, formatting, checked arithmetic), dims.c
 * (symbolic dim expressions, spec/README.md §5) and safetensors.c (bundles, §7).
 *
 * Expected values come from Python: json.loads, base64.b64decode(validate=True),
 * hashlib.sha256, Python integer arithmetic on the dim expressions (cross-checked with
 * jag.symbolic), and a bundle written by safetensors.numpy.save. Fuzz-like loops (every
 * prefix, random byte flips) must only ever return OK or the documented error code; run
 * under ASan/UBSan/LSan by `make sanitize`.
 */
#include "jag_internal.h"
#include "check.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/jag_test_util_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        exit(1);
    }
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            struct stat st;
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) rmdir(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}

/* Number of entries in tmpdir whose name contains `part`. */
static int count_files(const char *part)
{
    int n = 0;
    DIR *d = opendir(tmpdir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, part)) n++;
    closedir(d);
    return n;
}

/* ================================================================ JSON */

static enum jag_status parse_str(const char *text, struct jag_json **out, char *why, size_t size)
{
    return jag_json_parse(text, strlen(text), 64, out, why, size);
}

/* Parse expecting E_JSON with a reason that starts with `prefix` (if not NULL). */
static void json_bad(const char *text, const char *prefix, int line)
{
    struct jag_json *v = (struct jag_json *)1;
    char why[256] = "";
    enum jag_status st = parse_str(text, &v, why, sizeof why);
    check_count++;
    if (st != JAG_STATUS_E_JSON || v != NULL || (prefix && strncmp(why, prefix, strlen(prefix)) != 0)) {
        check_failed++;
        fprintf(stderr, "%s:%d: json_bad(\"%s\") gave status %d, why '%s' (expected prefix '%s')\n", __FILE__, line,
                text, (int)st, why, prefix ? prefix : "");
    }
    if (st == JAG_STATUS_OK) jag_json_free(v);
}
#define JSON_BAD(text, prefix) json_bad(text, prefix, __LINE__)

static void test_json_basic(void)
{
    const char *doc = "{\n  \"a\": [1, 2.5, -3e2, true, false, null],\n  \"b\": {\"c\": \"d\\n\\u00e9\"},\n  \"e\": {}, \"f\": []\n}";
    struct jag_json *v = NULL;
    char why[256];
    CHECK_STATUS(parse_str(doc, &v, why, sizeof why), JAG_STATUS_OK);
    if (!v) return;
    CHECK(v->type == JAG_JSON_OBJECT);
    CHECK_EQ_I(v->n, 4);
    CHECK_EQ_I(v->line, 1);
    CHECK_EQ_I(v->column, 1);
    const struct jag_json *a = jag_json_get(v, "a");
    CHECK(a && a->type == JAG_JSON_ARRAY && a->n == 6);
    if (a && a->n == 6) {
        CHECK(a->items[0].type == JAG_JSON_NUMBER && a->items[0].fits_int64 && a->items[0].integer == 1);
        CHECK_EQ_I(a->line, 2);
        CHECK_EQ_I(a->column, 8);
        CHECK_EQ_I(a->items[1].column, 12);
        CHECK(!a->items[1].integral && a->items[1].number == 2.5);
        CHECK(!a->items[2].integral && !a->items[2].fits_int64 && a->items[2].number == -300.0);
        CHECK(a->items[3].type == JAG_JSON_BOOL && a->items[3].boolean);
        CHECK(a->items[4].type == JAG_JSON_BOOL && !a->items[4].boolean);
        CHECK(a->items[5].type == JAG_JSON_NULL);
    }
    const struct jag_json *b = jag_json_get(v, "b");
    const struct jag_json *c = jag_json_get(b, "c");
    CHECK(c && c->type == JAG_JSON_STRING && strcmp(c->string, "d\n\xc3\xa9") == 0 && c->string_len == 4);
    CHECK(c && c->line == 3);
    const struct jag_json *e = jag_json_get(v, "e"), *f = jag_json_get(v, "f");
    CHECK(e && e->type == JAG_JSON_OBJECT && e->n == 0);
    CHECK(f && f->type == JAG_JSON_ARRAY && f->n == 0);
    CHECK(jag_json_get(v, "zz") == NULL);
    CHECK(jag_json_get(a, "a") == NULL);    /* not an object */
    CHECK(jag_json_get(NULL, "a") == NULL);
    jag_json_free(v);
    jag_json_free(NULL);

    /* scalars at the top, whitespace around */
    CHECK_STATUS(parse_str(" \t\r\n 42 \n", &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->type == JAG_JSON_NUMBER && v->integer == 42 && v->line == 2 && v->column == 2);
    jag_json_free(v);
    CHECK_STATUS(parse_str("\"\"", &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->type == JAG_JSON_STRING && v->string_len == 0 && v->string[0] == '\0');
    jag_json_free(v);
    CHECK_STATUS(parse_str("null", &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->type == JAG_JSON_NULL);
    jag_json_free(v);

    /* the text need not be NUL-terminated: only len bytes are read */
    char buf[4] = {'1', '2', '3', '4'};
    CHECK_STATUS(jag_json_parse(buf, 2, 64, &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->integer == 12);
    jag_json_free(v);
    /* a NUL byte inside the text is not whitespace */
    CHECK_STATUS(jag_json_parse("1\0", 2, 64, &v, why, sizeof why), JAG_STATUS_E_JSON);
    /* why may be NULL */
    CHECK_STATUS(jag_json_parse("[", 1, 64, &v, NULL, 0), JAG_STATUS_E_JSON);
    CHECK(v == NULL);
}

static void test_json_numbers(void)
{
    static const struct {
        const char *text;
        double number;
        bool integral, fits;
        int64_t integer;
    } ok[] = {
        {"0", 0.0, true, true, 0},
        {"-0", -0.0, true, true, 0},
        {"123", 123.0, true, true, 123},
        {"-17", -17.0, true, true, -17},
        {"9223372036854775807", 9223372036854775807.0, true, true, INT64_MAX},
        {"-9223372036854775808", -9223372036854775808.0, true, true, INT64_MIN},
        {"9223372036854775808", 9223372036854775808.0, true, false, 0},
        {"-9223372036854775809", -9223372036854775808.0, true, false, 0},
        {"18446744073709551616", 18446744073709551616.0, true, false, 0},
        {"123456789012345678901234567890", 1.2345678901234568e+29, true, false, 0},
        {"1.5", 1.5, false, false, 0},
        {"-0.25", -0.25, false, false, 0},
        {"1E2", 100.0, false, false, 0},
        {"1e+2", 100.0, false, false, 0},
        {"1e-2", 0.01, false, false, 0},
        {"2.0", 2.0, false, false, 0},
        {"0.1e1", 1.0, false, false, 0},
        {"1e999", HUGE_VAL, false, false, 0},
        {"-1e999", -HUGE_VAL, false, false, 0},
        {"1e-999", 0.0, false, false, 0},
        {"4.9406564584124654e-324", 4.9406564584124654e-324, false, false, 0},
        {"1.7976931348623157e308", 1.7976931348623157e308, false, false, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct jag_json *v = NULL;
        char why[256];
        enum jag_status st = parse_str(ok[i].text, &v, why, sizeof why);
        CHECK_STATUS(st, JAG_STATUS_OK);
        if (st != JAG_STATUS_OK) { fprintf(stderr, "  number %s: %s\n", ok[i].text, why); continue; }
        check_count++;
        if (v->type != JAG_JSON_NUMBER || v->number != ok[i].number || v->integral != ok[i].integral ||
            v->fits_int64 != ok[i].fits || (ok[i].fits && v->integer != ok[i].integer) ||
            signbit(v->number) != signbit(ok[i].number)) {
            check_failed++;
            fprintf(stderr, "%s:%d: number %s parsed as %.17g integral=%d fits=%d integer=%lld\n", __FILE__, __LINE__,
                    ok[i].text, v->number, v->integral, v->fits_int64, (long long)v->integer);
        }
        jag_json_free(v);
    }
    /* a very long number token */
    char *big = malloc(100003);
    memset(big, '9', 100000);
    big[100000] = '\0';
    struct jag_json *v = NULL;
    CHECK_STATUS(jag_json_parse(big, 100000, 64, &v, NULL, 0), JAG_STATUS_OK);
    CHECK(v && v->integral && !v->fits_int64 && isinf(v->number));
    jag_json_free(v);
    free(big);

    static const char *bad[] = {"01", "-01", "00", "+1", ".5", "5.", "1.e5", "1e", "1e+", "-", "--1", "0x10", "1.5.",
                                "1ee2", "1e2.5", "- 1", "1_000", "١", "-a", "[1.]", "[-]", "{\"a\": 01}", "2e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) JSON_BAD(bad[i], "line 1, column ");
    JSON_BAD("NaN", "line 1, column 1: 'NaN' is not valid JSON");
    JSON_BAD("[1, Infinity]", "line 1, column 5: 'Infinity' is not valid JSON");
    JSON_BAD("[-Infinity]", "line 1, column 2: '-Infinity' is not valid JSON");
    JSON_BAD("01", "line 1, column 1: invalid number");
    JSON_BAD("[1.]", "line 1, column 2: invalid number");
}

static void test_json_strings(void)
{
    static const struct { const char *text, *expect; size_t len; } ok[] = {
        {"\"abc\"", "abc", 3},
        {"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15},
        {"\"\\u00e9\\u00E9\"", "\xc3\xa9\xc3\xa9", 4},
        {"\"\\u0041\\u07ff\\u0800\\uffff\"", "A\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 9},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
        {"\"\\uD800\\uDC00\\uDBFF\\uDFFF\"", "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8},
        {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9},
        {"\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"", "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf", 10},
        {"\"\x7f\"", "\x7f", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct jag_json *v = NULL;
        char why[256];
        enum jag_status st = parse_str(ok[i].text, &v, why, sizeof why);
        CHECK_STATUS(st, JAG_STATUS_OK);
        if (st != JAG_STATUS_OK) { fprintf(stderr, "  string %zu: %s\n", i, why); continue; }
        CHECK(v->type == JAG_JSON_STRING && v->string_len == ok[i].len && memcmp(v->string, ok[i].expect, ok[i].len) == 0 &&
              v->string[ok[i].len] == '\0');
        jag_json_free(v);
    }
    JSON_BAD("\"\\u0000\"", "line 1, column 2: \\u0000 is not allowed in strings");
    JSON_BAD("\"ab\\ud800\"", "line 1, column 4: invalid escape: lone high surrogate");
    JSON_BAD("\"\\udc00\"", "line 1, column 2: invalid escape: lone low surrogate");
    JSON_BAD("\"\\ud800\\u0041\"", "line 1, column 2: invalid escape: lone high surrogate");
    JSON_BAD("\"\\ud800\\ud800\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\ud800\\n\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\x\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\U0041\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\u12G4\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\u12\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"\\'\"", "line 1, column 2: invalid escape");
    JSON_BAD("\"a\tb\"", "line 1, column 3: control character in string");
    JSON_BAD("\"a\nb\"", "line 1, column 3: control character in string");
    JSON_BAD("[\"\x1f\"]", "line 1, column 3: control character in string");
    /* invalid UTF-8: overlongs, surrogates, above U+10FFFF, stray continuation, bad lead bytes */
    static const char *bad_utf8[] = {
        "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"", "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
        "\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"",
        "\"\xfe\"", "\"\x80\"", "\"\xbf\"", "\"\xc3\"", "\"\xc3\x41\"", "\"\xe2\x82\"", "\"\xe2\x82\x41\"",
        "\"\xf0\x9f\x98\"", "\"a\xf0\x9f\x98\x41\"",
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) JSON_BAD(bad_utf8[i], "line 1, column ");
    JSON_BAD("\"ab\xc3\x28\"", "line 1, column 4: invalid UTF-8");
    /* non-ASCII outside strings */
    JSON_BAD("[1, \xc3\xa9]", "line 1, column 5: expected a value");
    /* unterminated */
    JSON_BAD("\"abc", "line 1, column 1: unterminated string");
    JSON_BAD("[\"abc\\\"]", "line 1, column 2: unterminated string");
    JSON_BAD("\"abc\\", "line 1, column ");
    JSON_BAD("\"\\u12", "line 1, column ");
    JSON_BAD("\"\\ud83d\\ude0", "line 1, column ");
    JSON_BAD("\"\xe2\x82", "line 1, column ");

    /* a long string (base64 of an inline tensor) is scanned quickly and exactly */
    size_t n = 4u << 20;
    char *big = malloc(n + 3);
    big[0] = '"';
    for (size_t i = 0; i < n; i++) big[1 + i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64];
    big[n + 1] = '"';
    big[n + 2] = '\0';
    struct jag_json *v = NULL;
    CHECK_STATUS(jag_json_parse(big, n + 2, 64, &v, NULL, 0), JAG_STATUS_OK);
    CHECK(v && v->string_len == n && v->string[n - 1] == '/' && v->string[n] == '\0');
    jag_json_free(v);
    big[n / 2] = '\n';
    CHECK_STATUS(jag_json_parse(big, n + 2, 64, &v, NULL, 0), JAG_STATUS_E_JSON);
    free(big);
}

static void test_json_structure_errors(void)
{
    JSON_BAD("", "line 1, column 1: unexpected end of input");
    JSON_BAD("   \n  ", "line 2, column 3: unexpected end of input");
    JSON_BAD("\xef\xbb\xbf{}", "line 1, column 1: unexpected UTF-8 byte order mark");
    JSON_BAD("[1,\n 2,,3]", "line 2, column 4: expected a value");
    JSON_BAD("{\"a\": 1,\n  \"b\" 2}", "line 2, column 7: expected ':'");
    JSON_BAD("[\"\xc3\xa9\", x]", "line 1, column 7: expected a value");   /* columns count characters */
    JSON_BAD("[1 2]", "line 1, column 4: expected ',' or ']'");
    JSON_BAD("{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}'");
    JSON_BAD("{\"a\": 1,}", "line 1, column 9: expected a key string");
    JSON_BAD("[1,]", "line 1, column 4: expected a value");
    JSON_BAD("{a: 1}", "line 1, column 2: expected a key string");
    JSON_BAD("{'a': 1}", "line 1, column 2: expected a key string");
    JSON_BAD("{1: 1}", "line 1, column 2: expected a key string");
    JSON_BAD("[", "line 1, column 2: unexpected end of input");
    JSON_BAD("[1", "line 1, column 3: unexpected end of input");
    JSON_BAD("{", "line 1, column 2: unexpected end of input");
    JSON_BAD("{\"a\"", "line 1, column 5: unexpected end of input");
    JSON_BAD("{\"a\":", "line 1, column 6: unexpected end of input");
    JSON_BAD("{\"a\":1", "line 1, column 7: unexpected end of input");
    JSON_BAD("[] []", "line 1, column 4: trailing characters after the JSON value");
    JSON_BAD("1 2", "line 1, column 3: trailing characters after the JSON value");
    JSON_BAD("true false", "line 1, column 6: trailing characters");
    JSON_BAD("{} x", "line 1, column 4: trailing characters");
    JSON_BAD("]", "line 1, column 1: expected a value");
    JSON_BAD("tru", "line 1, column 4: unexpected end of input");
    JSON_BAD("trux", "line 1, column 1: invalid literal");
    JSON_BAD("nul", "line 1, column 4: unexpected end of input");
    JSON_BAD("True", "line 1, column 1: expected a value");
    JSON_BAD("None", "line 1, column 1: expected a value");
    JSON_BAD("-Inf", "line 1, column 1: invalid number");
    JSON_BAD("[1] // comment", "line 1, column 5: trailing characters");
    JSON_BAD("/* c */ 1", "line 1, column 1: expected a value");
    JSON_BAD("\f1", "line 1, column 1: expected a value");           /* form feed is not JSON whitespace */
    JSON_BAD("[1,\r\n2,\r\nx]", "line 3, column 1: expected a value");
    JSON_BAD("{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate key 'a'");
    JSON_BAD("{\"a\": {\"b\": 1, \"c\": 2, \"b\": 3}}", "line 1, column 24: duplicate key 'b'");
    JSON_BAD("{\"\\u0061\": 1, \"a\": 2}", "line 1, column 15: duplicate key 'a'");   /* keys compared decoded */
}

static void test_json_duplicates_large(void)
{
    /* 2000 distinct keys (hash set path), then the same with a duplicate at the end */
    size_t cap = 64 * 2100;
    char *doc = malloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(doc + o, cap - o, "{");
    for (int i = 0; i < 2000; i++) o += (size_t)snprintf(doc + o, cap - o, "%s\"k%d\": %d", i ? ", " : "", i, i);
    size_t end = o;
    o += (size_t)snprintf(doc + o, cap - o, "}");
    struct jag_json *v = NULL;
    char why[256];
    CHECK_STATUS(jag_json_parse(doc, o, 64, &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->n == 2000);
    const struct jag_json *k = jag_json_get(v, "k1234");
    CHECK(k && k->integer == 1234);
    jag_json_free(v);
    o = end;
    o += (size_t)snprintf(doc + o, cap - o, ", \"k777\": 0}");
    CHECK_STATUS(jag_json_parse(doc, o, 64, &v, why, sizeof why), JAG_STATUS_E_JSON);
    CHECK(strstr(why, "duplicate key 'k777'") != NULL);
    CHECK(v == NULL);
    /* duplicates among the first few keys (linear path) and keys that differ only after a NUL-free prefix */
    CHECK_STATUS(parse_str("{\"ab\": 1, \"a\": 2, \"abc\": 3, \"\": 4, \"b\": 5}", &v, why, sizeof why), JAG_STATUS_OK);
    CHECK(v && v->n == 5 && jag_json_get(v, "") && jag_json_get(v, "")->integer == 4);
    jag_json_free(v);
    free(doc);
}

static void test_json_depth(void)
{
    char doc[400];
    struct jag_json *v = NULL;
    char why[256];
    /* 64 nested arrays are fine, 65 are not */
    for (int depth = 63; depth <= 66; depth++) {
        int o = 0;
        for (int i = 0; i < depth; i++) doc[o++] = '[';
        for (int i = 0; i < depth; i++) doc[o++] = ']';
        doc[o] = '\0';
        enum jag_status st = jag_json_parse(doc, (size_t)o, 64, &v, why, sizeof why);
        if (depth <= 64) {
            CHECK_STATUS(st, JAG_STATUS_OK);
            jag_json_free(v);
        } else {
            CHECK_STATUS(st, JAG_STATUS_E_JSON);
            CHECK(strcmp(why, "line 1, column 65: nesting deeper than 64") == 0);
        }
    }
    /* objects count too */
    int o = 0;
    for (int i = 0; i < 65; i++) o += snprintf(doc + o, sizeof doc - (size_t)o, "{\"a\":");
    CHECK_STATUS(jag_json_parse(doc, (size_t)o, 64, &v, why, sizeof why), JAG_STATUS_E_JSON);
    CHECK(strstr(why, "nesting deeper than 64") != NULL);
    /* max_depth 0: scalars only */
    CHECK_STATUS(jag_json_parse("[]", 2, 0, &v, why, sizeof why), JAG_STATUS_E_JSON);
    CHECK_STATUS(jag_json_parse("7", 1, 0, &v, why, sizeof why), JAG_STATUS_OK);
    jag_json_free(v);
    /* 1 MB of '[' fails quickly without deep recursion */
    size_t n = 1u << 20;
    char *deep = malloc(n);
    memset(deep, '[', n);
    CHECK_STATUS(jag_json_parse(deep, n, 64, &v, why, sizeof why), JAG_STATUS_E_JSON);
    CHECK(v == NULL);
    memset(deep, '{', n);
    CHECK_STATUS(jag_json_parse(deep, n, 64, &v, why, sizeof why), JAG_STATUS_E_JSON);
    free(deep);
}

static const char FUZZ_DOC[] =
    "{\n  \"version\": \"1.0\", \"opset\": 1,\n  \"inputs\": [{\"name\": \"x\", \"dtype\": \"float32\", \"shape\": [\"N\", 3]}],\n"
    "  \"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\", \"x\"], \"outputs\": [\"y\"], \"attrs\": {\"a\": -1.5e-3, \"b\": null,"
    " \"c\": [true, false], \"d\": \"\\u00e9\\ud83d\\ude00\\n\\\"\", \"e\": \"\xc3\xa9\xe2\x82\xac\"}}],\n"
    "  \"tensors\": [{\"name\": \"w\", \"base64\": \"AAAAAA==\"}], \"big\": 123456789012345678901234567890, \"neg\": -9223372036854775808\n}";

static void test_json_fuzz(void)
{
    size_t len = sizeof FUZZ_DOC - 1;
    struct jag_json *v = NULL;
    char why[256];
    CHECK_STATUS(jag_json_parse(FUZZ_DOC, len, 64, &v, why, sizeof why), JAG_STATUS_OK);
    jag_json_free(v);
    /* every proper prefix is an error (copied so that ASan sees reads past the end) */
    int bad_prefix = 0;
    for (size_t k = 0; k < len; k++) {
        char *p = malloc(k ? k : 1);
        memcpy(p, FUZZ_DOC, k);
        enum jag_status st = jag_json_parse(p, k, 64, &v, why, sizeof why);
        if (st != JAG_STATUS_E_JSON || v != NULL || strncmp(why, "line ", 5) != 0) bad_prefix++;
        if (st == JAG_STATUS_OK) jag_json_free(v);
        free(p);
    }
    CHECK_EQ_I(bad_prefix, 0);
    /* random byte changes: OK or E_JSON, never a crash or a leak */
    int bad = 0, n_ok = 0;
    char *p = malloc(len);
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(p, FUZZ_DOC, len);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = rnd() % len;
            uint32_t r = rnd();
            static const char interesting[] = "{}[]\",:\\ -0123456789eE.+tfnu\n";
            p[at] = (r & 1) ? (char)(r >> 8) : interesting[(r >> 8) % (sizeof interesting - 1)];
        }
        enum jag_status st = jag_json_parse(p, len, 64, &v, why, sizeof why);
        if (st == JAG_STATUS_OK) { n_ok++; jag_json_free(v); }
        else if (st != JAG_STATUS_E_JSON || v != NULL) bad++;
    }
    free(p);
    CHECK_EQ_I(bad, 0);
    CHECK(n_ok > 0);
    /* random bytes */
    bad = 0;
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = rnd() % 64;
        char *q = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            uint32_t r = rnd();
            q[i] = (r & 3) ? "[]{}\":,0123456789-.eEtrufalsn \\"[(r >> 4) % 32] : (char)(r >> 8);
        }
        enum jag_status st = jag_json_parse(q, n, 8, &v, why, sizeof why);
        if (st == JAG_STATUS_OK) jag_json_free(v);
        else if (st != JAG_STATUS_E_JSON) bad++;
        free(q);
    }
    CHECK_EQ_I(bad, 0);
}

/* ================================================================ base64 */

static size_t ref_b64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = A[v >> 18];
        out[o++] = A[(v >> 12) & 63];
        out[o++] = i + 1 < n ? A[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? A[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static void test_base64(void)
{
    /* valid (values from Python base64.b64decode(s, validate=True)) */
    static const struct { const char *text; const char *hex; } ok[] = {
        {"", ""}, {"AB==", "00"}, {"AA==", "00"}, {"ABC=", "0010"}, {"ABD=", "0010"}, {"AAAA", "000000"},
        {"AAA=", "0000"}, {"AAAAAA==", "00000000"}, {"AAAAAAA=", "0000000000"}, {"SGVsbG8=", "48656c6c6f"},
        {"SGVsbA==", "48656c6c"}, {"SGVs", "48656c"}, {"+/+/", "fbffbf"}, {"////", "ffffff"},
        {"AP8A/w==", "00ff00ff"}, {"SGVsbG9=", "48656c6c6f"}, {"SGVsbB==", "48656c6c"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t out[16];
        size_t n = 99;
        size_t len = strlen(ok[i].text);
        size_t expect = strlen(ok[i].hex) / 2;
        CHECK_EQ_I(jag_base64_decoded_size(ok[i].text, len), (int64_t)expect);
        bool good = jag_base64_decode(ok[i].text, len, out, sizeof out, &n);
        CHECK(good && n == expect);
        char hex[40] = "";
        for (size_t k = 0; k < n && k < 16; k++) snprintf(hex + 2 * k, 3, "%02x", out[k]);
        check_count++;
        if (strcmp(hex, ok[i].hex) != 0) {
            check_failed++;
            fprintf(stderr, "%s:%d: base64 '%s' decoded to %s, expected %s\n", __FILE__, __LINE__, ok[i].text, hex, ok[i].hex);
        }
        /* exactly enough room is fine, one byte less is not */
        if (expect > 0) {
            CHECK(jag_base64_decode(ok[i].text, len, out, expect, &n) && n == expect);
            CHECK(!jag_base64_decode(ok[i].text, len, out, expect - 1, &n));
        }
    }
    /* malformed (Python rejects all of these too, except "AAAA=..." which Python 3.11 accepts) */
    static const char *bad[] = {"AB=", "ABC", "A===", "A=", "====", "AA=A", "AA==AAAA", "A", "AAAAA", "AAA=AAAA",
                                "AA-_", "AAAA\n", "AA AA", "=AAA", "AA*A", "AAAA====", "AAAA=", "AAA==", "AA===",
                                " AAA", "AAA\x80", "AA\0A", "A=AA", "AAAAAA=A", "AAAA AAA", "AA=\0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n = 99;
        size_t len = strlen(bad[i]);
        if (strcmp(bad[i], "AA\0A") == 0 || strcmp(bad[i], "AA=\0") == 0) len = 4;
        check_count++;
        if (jag_base64_decode(bad[i], len, out, sizeof out, &n)) {
            check_failed++;
            fprintf(stderr, "%s:%d: base64 '%s' was accepted\n", __FILE__, __LINE__, bad[i]);
        }
    }
    CHECK_EQ_I(jag_base64_decoded_size("AB=", 3), -1);
    CHECK_EQ_I(jag_base64_decoded_size("A===", 4), -1);
    CHECK_EQ_I(jag_base64_decoded_size("====", 4), -1);
    /* round trip of random data of every length 0..200 */
    uint8_t data[200], back[200];
    char text[300];
    int bad_rt = 0;
    for (size_t n = 0; n <= 200; n++) {
        for (size_t i = 0; i < n; i++) data[i] = (uint8_t)rnd();
        size_t tl = ref_b64_encode(data, n, text);
        size_t got = 0;
        if (jag_base64_decoded_size(text, tl) != (int64_t)n || !jag_base64_decode(text, tl, back, n, &got) ||
            got != n || (n && memcmp(data, back, n) != 0))
            bad_rt++;
        /* a corrupted character anywhere is rejected */
        if (tl) {
            text[rnd() % tl] = "!- \n.*"[rnd() % 6];
            if (jag_base64_decode(text, tl, back, sizeof back, &got)) bad_rt++;
        }
    }
    CHECK_EQ_I(bad_rt, 0);
}

/* ================================================================ SHA-256 */

static void test_sha256(void)
{
    char hex[65];
    jag_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    jag_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    jag_sha256_hex(m448, strlen(m448), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    jag_sha256_hex(m896, strlen(m896), hex);
    CHECK(strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") == 0);
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    jag_sha256_hex(million, 1000000, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
    free(million);
    /* lengths around the padding boundaries (Python hashlib) */
    static const struct { size_t n; const char *hex; } vec[] = {
        {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
        {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
        {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
        {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
        {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
        {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
        {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
        {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
        {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
        {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
    };
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)((i * 7 + 3) & 255);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        /* an unaligned copy, to make sure the input needs no alignment */
        uint8_t *copy = malloc(vec[i].n + 1);
        memcpy(copy + 1, buf, vec[i].n);
        jag_sha256_hex(copy + 1, vec[i].n, hex);
        check_count++;
        if (strcmp(hex, vec[i].hex) != 0) {
            check_failed++;
            fprintf(stderr, "%s:%d: sha256 of %zu bytes is %s\n", __FILE__, __LINE__, vec[i].n, hex);
        }
        free(copy);
    }
    uint8_t d[32];
    jag_sha256("abc", 3, d);
    CHECK(d[0] == 0xba && d[31] == 0xad);
}

/* ================================================================ files, format, arithmetic */

static void test_files(void)
{
    char path[512], why[512];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    CHECK_STATUS(jag_read_file(path, 1000, &data, &len, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK(data == NULL && strstr(why, "cannot read '") == why && strstr(why, "No such file or directory") != NULL);
    CHECK_STATUS(jag_read_file(tmpdir, 1000, &data, &len, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK(strstr(why, "folder") != NULL);

    /* atomic write, then read back (with the NUL after the data) */
    snprintf(path, sizeof path, "%s/a.bin", tmpdir);
    const char content[] = "hello\0world";
    CHECK_STATUS(jag_write_file_atomic(path, content, sizeof content - 1, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_read_file(path, 1000, &data, &len, why, sizeof why), JAG_STATUS_OK);
    CHECK(data && len == 11 && memcmp(data, content, 11) == 0 && data[11] == 0);
    free(data);
    /* overwrite with a shorter content; no temporary file is left */
    CHECK_STATUS(jag_write_file_atomic(path, "xy", 2, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_read_file(path, 1000, &data, &len, why, sizeof why), JAG_STATUS_OK);
    CHECK(len == 2 && memcmp(data, "xy", 2) == 0);
    free(data);
    CHECK_EQ_I(count_files(".tmp."), 0);
    /* limits: exactly max_bytes is fine, one more is E_FILE */
    CHECK_STATUS(jag_read_file(path, 2, &data, &len, why, sizeof why), JAG_STATUS_OK);
    free(data);
    CHECK_STATUS(jag_read_file(path, 1, &data, &len, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK(data == NULL && strstr(why, "too large") != NULL);
    /* an empty file */
    snprintf(path, sizeof path, "%s/empty.bin", tmpdir);
    CHECK_STATUS(jag_write_file_atomic(path, NULL, 0, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_read_file(path, 0, &data, &len, why, sizeof why), JAG_STATUS_OK);
    CHECK(data && len == 0 && data[0] == 0);
    free(data);
    /* writing into a missing folder fails and leaves nothing */
    snprintf(path, sizeof path, "%s/no/such/folder.bin", tmpdir);
    CHECK_STATUS(jag_write_file_atomic(path, "x", 1, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK(strstr(why, "cannot write '") == why);
    /* renaming over a folder fails; the temporary file is removed */
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    mkdir(path, 0777);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/sub/f", tmpdir);
    CHECK_STATUS(jag_write_file_atomic(inner, "x", 1, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_write_file_atomic(path, "x", 1, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK_EQ_I(count_files(".tmp."), 0);
    unlink(inner);
    rmdir(path);
    /* a non-regular file (a character device) is read in chunks */
    if (access("/dev/null", R_OK) == 0) {
        CHECK_STATUS(jag_read_file("/dev/null", 10, &data, &len, why, sizeof why), JAG_STATUS_OK);
        CHECK(len == 0 && data && data[0] == 0);
        free(data);
    }
}

static void test_format_arith(void)
{
    char buf[8];
    jag_format(buf, sizeof buf, "%s-%d", "abcdef", 12345);
    CHECK(strcmp(buf, "abcdef-") == 0);
    jag_format(buf, sizeof buf, "%d", 7);
    CHECK(strcmp(buf, "7") == 0);
    jag_format(NULL, 0, "%d", 7);
    jag_format(buf, 0, "%d", 7);
    CHECK(strcmp(buf, "7") == 0);
    jag_format(buf, 1, "%d", 9);
    CHECK(buf[0] == '\0');
    int64_t r = -1;
    CHECK(jag_mul_i64(0, INT64_MAX, &r) && r == 0);
    CHECK(jag_mul_i64(INT64_MAX, 1, &r) && r == INT64_MAX);
    CHECK(jag_mul_i64(3037000499, 3037000499, &r) && r == 9223372030926249001LL);
    CHECK(!jag_mul_i64(3037000500, 3037000500, &r));
    CHECK(!jag_mul_i64(INT64_MAX, 2, &r));
    CHECK(!jag_mul_i64((int64_t)1 << 32, (int64_t)1 << 31, &r));
    CHECK(jag_mul_i64((int64_t)1 << 32, ((int64_t)1 << 31) - 1, &r) && r == INT64_MAX - ((int64_t)1 << 32) + 1);
    CHECK(jag_add_i64(INT64_MAX - 1, 1, &r) && r == INT64_MAX);
    CHECK(!jag_add_i64(INT64_MAX, 1, &r));
    CHECK(!jag_add_i64(INT64_MAX / 2 + 1, INT64_MAX / 2 + 1, &r));
    CHECK(jag_add_i64(0, 0, &r) && r == 0);
}

/* ================================================================ dims */

static const struct { const char *expr; int64_t value; bool ok; } DIM_TABLE[] = {
    /* random expressions, values from Python eval() with N=7 M=3 K=12 Z=0 B_2=1000000007
       (cross-checked with jag.symbolic.evaluate); ok=false: division by zero */
    {"-(((12345)))", -12345LL, true},
    {"-10 + Z+M+(2)-(-12345*(M))", 37030LL, true},
    {"0", 0LL, true},
    {"12345", 12345LL, true},
    {"N+N*-17-10 + 5*0", -122LL, true},
    {"M", 3LL, true},
    {"Z*Z", 0LL, true},
    {"(-Z-100-3 + 12345)", 12242LL, true},
    {"N*M + 10+0*10", 31LL, true},
    {"1", 1LL, true},
    {"2+17 + 12345 // Z*-3", 0, false},
    {"(-12345+M // K*B_2)", -12345LL, true},
    {"N*0+(0)", 0LL, true},
    {"((B_2-100))*-N", -6999999349LL, true},
    {"-5", -5LL, true},
    {"100", 100LL, true},
    {"12345 + -100//Z-M // Z // 12345 // 3-N", 0, false},
    {"-17*Z*M // -N", 0LL, true},
    {"17", 17LL, true},
    {"-(5)+Z*100//Z", 0, false},
    {"K", 12LL, true},
    {"(12345)//(17)--1*-N", 719LL, true},
    {"3", 3LL, true},
    {"5-M + N-M*(17-2) + -10+(1)//((100))", -46LL, true},
    {"(((Z)))", 0LL, true},
    {"((0*5))+M", 3LL, true},
    {"3 // (5) // 100 // 3 // 1 + M + 0", 3LL, true},
    {"-N", -7LL, true},
    {"(--17)//-10-0//-12345*17", -2LL, true},
    {"(1)//1", 1LL, true},
    {"--12345+-2*-Z*10 + (12345)", 24690LL, true},
    {"10", 10LL, true},
    {"(17) + (K) // 0//Z + -(0)", 0, false},
    {"0*M*M // K-N+10-2//-K-M", 1LL, true},
    {"-0*M-K // -B_2*K", 12LL, true},
    {"-B_2", -1000000007LL, true},
    {"-2-17*3 // Z*(0 + 100)", 0, false},
    {"-5*N // Z // 12345", 0, false},
    {"2", 2LL, true},
    {"(-10)*N // 0*N--1 + 17*Z", 0, false},
    {"K // (2)+M+Z*Z", 9LL, true},
    {"(1)", 1LL, true},
    {"-(17 // 3)-3", -8LL, true},
    {"((Z*N) + 1)", 1LL, true},
    {"5", 5LL, true},
    {"N//2//K // -10--100 // B_2", 1LL, true},
    {"B_2", 1000000007LL, true},
    {"-N+B_2 + Z+100-(N)", 1000000093LL, true},
    {"5+-N//B_2*B_2-N*B_2*Z", -1000000002LL, true},
    {"-5-0", -5LL, true},
    {"-B_2*N*-5 // 3*12345", 144025001004060LL, true},
    {"12345 // N+M // -K*M", 1760LL, true},
    {"-N+N*B_2 + N//-12345//N + 2", 7000000043LL, true},
    {"5*-(2) + -17 // 5", -14LL, true},
    {"Z // 100*M-3 + 2+(Z) // 17-10", -11LL, true},
    {"Z", 0LL, true},
    {"(100)*10//3", 333LL, true},
    {"-K", -12LL, true},
    {"Z//(0 // 1)//2 // M//0", 0, false},
    {"(B_2)", 1000000007LL, true},
    {"(-0+3)", 3LL, true},
    {"--100 // 17", 5LL, true},
    {"N", 7LL, true},
    {"(((1)))", 1LL, true},
    {"(N)", 7LL, true},
    {"(B_2+17+(B_2))", 2000000031LL, true},
    {"----B_2", 1000000007LL, true},
    {"N*-12345+17//Z//3//N*Z", 0, false},
    {"(5) + 5", 10LL, true},
    {"12345*(N*1-12345)", -152312610LL, true},
    {"(B_2 + 3-(M))+K*K + Z*5*Z-17", 1000000134LL, true},
    {"N + 10-2 // 5 // 3-N-12345", -12335LL, true},
    {"Z*N", 0LL, true},
    {"5 // 2-10+1+5 + N", 5LL, true},
    {"---5+K // K", -4LL, true},
    {"Z//--12345*Z-N", -7LL, true},
    {"(-(1))-5", -6LL, true},
    {"(1+1 + 1)", 3LL, true},
    {"-K*2*M-M*5", -87LL, true},
    {"1*10 // B_2*5//N // B_2", 0LL, true},
    {"-B_2-1-100*0", -1000000008LL, true},
    {"-10 + 5 // B_2+Z // Z*1//10 + N", 0, false},
    {"--2 + 17", 19LL, true},
    {"(10) + (0-Z)//Z-1", 0, false},
    {"Z-K*Z//0 + N+Z-M", 0, false},
    {"M + 100+-B_2-Z", -999999904LL, true},
    {"-5*2 // 5 + (3) // Z", 0, false},
    {"5 + K", 17LL, true},
    {"(12345)//K + Z*5 // -N", 1028LL, true},
    {"0-(Z)+M // Z", 0, false},
    {"(N+17//12345 + K+2)", 21LL, true},
    {"(5-1-2*2)*17 + B_2//M*B_2 // -5", -66666667466666669LL, true},
    {"1+17-17 // N + N + 5 // K", 23LL, true},
    {"(N*2//(1)) + -B_2//12345//N", -11559LL, true},
    {"Z*10*17+5--K*10-N*K // K//5", 124LL, true},
    {"-(100) + (0//10)", -100LL, true},
    {"((5//N//17))", 0LL, true},
    {"-K//K*17 + -N*17 // -0*K", 0, false},
    {"(K*N+(M))-N+3*Z//2+-3+B_2", 1000000084LL, true},
    {"N-K*2-Z+-(17*0)", -17LL, true},
    {"17*(B_2*2)*(Z)+17", 17LL, true},
    {"-2+100*K*M", 3598LL, true},
    {"(K)-K + Z+N+B_2-M//Z*M//3", 0, false},
    {"-Z", 0LL, true},
    {"Z + B_2 // N + K + K+0*1//1+B_2", 1142857174LL, true},
    {"B_2+N//3//Z*12345-10//10 // N+N-(N)", 0, false},
    {"-2*3*Z+Z*N", 0LL, true},
    {"N+K + 1", 20LL, true},
    {"(12345)//K-12345-2 // 12345-12345//N//K+B_2 // 100", 9988537LL, true},
    {"10 + -2//100-10+(0)+5 + K", 16LL, true},
    {"--17//N+12345//Z", 0, false},
    {"M*Z*N//B_2+1*100 // -K // K", -1LL, true},
    {"100//B_2*B_2*17*(10*100)+2 + 2-M*Z*B_2*12345", 4LL, true},
    {"B_2-2*12345*N + K // K//5 // 17//N", 999827177LL, true},
    {"K//B_2-10+5*(Z) // 1 // N+M + 2*3*12345", 74063LL, true},
    {"(Z)--(3)*5 // 5*17 + B_2+N", 1000000065LL, true},
    {"-5 // 5-100//(5*17) // 3 + K // 3", 3LL, true},
    {"M*M+K*-3*M//2*17*Z--B_2-2", 1000000014LL, true},
    {"10*100 // B_2 // 5*(N-K)//Z*N//10--K--K", 0, false},
    {"M*--1 // 2 // 2", 0LL, true},
    {"-(-5)*Z", 0LL, true},
    {"N + -(K*12345)", -148133LL, true},
    {"(-Z*0//2)//2", 0LL, true},
    {"K // M//(3)*(M)+17-3", 17LL, true},
    {"N*17-0//(-N)-M", 116LL, true},
    {"K-5+B_2+(12345+2)-3-Z//K//B_2", 1000012358LL, true},
    {"B_2*12345 // -Z+1//Z--10*-(5 + N)", 0, false},
    {"-0//N+(M-1)*--0*2*5*B_2-K", -12LL, true},
    {"M+0//12345*N // 2", 3LL, true},
    {"(100)", 100LL, true},
    {"(M)+(B_2) + 17*N", 1000000129LL, true},
    {"N-0*B_2*12345 + 100 + B_2-17 + 12345*B_2", 12346000086512LL, true},
    {"3 // 10*2+10 // B_2 // Z+-N", 0, false},
    {"(-3//B_2//10)*Z", 0LL, true},
    {"1+N", 8LL, true},
    {"B_2*--12345*12345 // Z//3 + N+1", 0, false},
    {"12345--K // 3+(10)+K // B_2", 12359LL, true},
    {"10//3*5-B_2//Z // N*N*1", 0, false},
    {"Z*100 // M-N*N-B_2*3", -3000000070LL, true},
    {"-1", -1LL, true},
    {"(-10 // (Z))", 0, false},
    {"M-10*10//((0))", 0, false},
    {"Z//1+M//12345 // 17+N", 7LL, true},
    {"M+12345//2*M-2*17+K-2-0", 18495LL, true},
    {"100*B_2//12345*17+10+(N*0) + B_2", 1137707582LL, true},
    {"(M) + --N + 2", 12LL, true},
    {"-2*5-3-17-(17) // B_2", -30LL, true},
    {"-M", -3LL, true},
    {"-K*3*(5) + 3 + 12345*K", 147963LL, true},
    {"-(17-12345)*3 + 0+17", 37001LL, true},
    {"17*B_2--5 + (3)*M*(5)*M+K//B_2", 17000000259LL, true},
    {"(-12345*M+Z--2)", -37033LL, true},
    {"(-B_2//M)-3", -333333339LL, true},
    {"(-1 + M*N // Z-Z)", 0, false},
    {"M+Z-3//M+-(0) + -3*K // -3 + N", 21LL, true},
    {"-3", -3LL, true},
    {"--K + B_2", 1000000019LL, true},
    {"(B_2)+(0)*Z-N + B_2--17 + -17", 2000000007LL, true},
    {"B_2 + (5) + -Z+N+Z//0*M+K*K", 0, false},
    {"-17*M*2 // B_2*M + -M + 12345", 12339LL, true},
    {"0*M + M", 3LL, true},
    {"-(N)+M", -4LL, true},
    {"B_2 // 0", 0, false},
    {"100 + 0", 100LL, true},
    {"12345 + 5", 12350LL, true},
    {"(B_2 + (M)*100)", 1000000307LL, true},
    {"(B_2)+(12345 + 2)*(-K)", 999851843LL, true},
    {"--(B_2*B_2)", 1000000014000000049LL, true},
    {"3+100 // M // -N", -2LL, true},
    {"(2 // 10 // K+N*0 + Z-K)", -12LL, true},
    {"-5+17*12345*100 // --17", 1234495LL, true},
    {"-12345//10+0 + K+5", -1218LL, true},
    {"5//1//0*B_2-M // 100 + B_2", 0, false},
    {"((2))*0+5//B_2+N", 7LL, true},
    {"M + 100-(K)*5", 43LL, true},
    {"12345*M // 10", 3703LL, true},
    {"B_2 + N", 1000000014LL, true},
    {"10*(0*K)*-17-K", -12LL, true},
    {"(-1)", -1LL, true},
    {"B_2 // K*N*1-K", 583333319LL, true},
    {"K-2*Z//10", 12LL, true},
    {"0 + K", 12LL, true},
    {"--(M)*(17-10)", 21LL, true},
    {"(-10 // M//Z)", 0, false},
    {"(Z*2-5//1+Z // (17))", -5LL, true},
    {"(-Z)", 0LL, true},
    {"0*B_2*5 + B_2+K", 1000000019LL, true},
    {"((M // (K)))", 0LL, true},
    {"12345//(B_2*M)*M", 0LL, true},
    {"((K*3)) // 1 + B_2 + -Z + 5-N", 1000000041LL, true},
    {"M//3 // 2+(Z)//M-B_2 + K + 12345//B_2 // Z", 0, false},
    {"(10 + K+K + -K + 100)", 122LL, true},
    {"(-B_2 // 17 // 17) + (M*5*N+B_2)", 996539904LL, true},
    {"(M*B_2 + 5 + K)--10*-0//K", 3000000038LL, true},
    {"Z // -Z", 0, false},
    {"Z + 12345 + M + K-B_2+M", -999987644LL, true},
    {"3*-Z-0", 0LL, true},
    {"(0+10)-Z+1 + 5*Z*M*-17//M+17", 28LL, true},
    {"B_2//17*N", 411764703LL, true},
    {"-12345*(N+Z) // B_2*B_2 + K + 2*3", -999999989LL, true},
    {"-Z*(M)//(B_2) + (12345)", 12345LL, true},
    {"12345+(12345-0)-N+2 + Z + M", 24688LL, true},
    {"M // 0*1*100//M-3//N*(0*Z*17-0)", 0, false},
    {"(Z)", 0LL, true},
    {"10+K // 12345//0-K//12345*N", 0, false},
    {"-(3 + (Z))", -3LL, true},
    {"-(Z)", 0LL, true},
    {"-0//--Z", 0, false},
    {"12345-Z-100*M*N", 10245LL, true},
    {"Z+M", 3LL, true},
    {"(-B_2+Z*3*2*10)", -1000000007LL, true},
    {"(K)", 12LL, true},
    {"100 + K + (M) + (12345)*M*0 // 5//Z//17 // 100*0 // M*K + 1", 0, false},
    {"K + 0+0 + -N+-N*B_2 + -K", -7000000056LL, true},
    {"N*-0-5", -5LL, true},
    {"-(Z) + N // 10", 0LL, true},
    {"(-0 + -K + N)", -5LL, true},
    {"-10+10+5 // Z // Z+B_2 // 100 + K*B_2", 0, false},
    {"1 // K // 10 // 100+B_2-(-Z+3)", 1000000004LL, true},
    {"(3*(0) // 10+B_2)", 1000000007LL, true},
    {"Z//10*M-M--M + -2*3 // 3*M", -6LL, true},
    {"N // 17-3+10 + Z//K + 2*(0)", 7LL, true},
    {"-N//3//12345--3*M", 8LL, true},
    {"(N-0)+B_2+B_2", 2000000021LL, true},
    {"M // Z-17*17 // B_2 + Z//2 // 0", 0, false},
    {"Z//-N", 0LL, true},
    {"(5*12345-Z//-N)", 61725LL, true},
    {"-2 + (Z // Z*2)", 0, false},
    {"-N // K + -0", -1LL, true},
    {"-17//3", -6LL, true},
    {"M//3+Z-(N+10)+-5", -21LL, true},
    {"(Z)--N + M+12345", 12355LL, true},
    {"-0-Z+Z + B_2//0", 0, false},
    {"12345+-Z + 1", 12346LL, true},
    {"(3//17)*3 + 10*M*Z*M*17-(N)//(10)+Z//B_2", 0LL, true},
    {"-10", -10LL, true},
    {"(5-N-K//5)*(B_2+M-M)", -4000000028LL, true},
    {"-5 // -5--2", 3LL, true},
    {"Z // ((N))*Z-17*(N)", -119LL, true},
    {"M+N // M//K+3-M+100 + 0", 103LL, true},
    {"K*K", 144LL, true},
    {"1*Z + K-2 + 1*100", 110LL, true},
    {"0 // Z + N + (M)+(17*N)", 0, false},
    {"5 + -3+17*3", 53LL, true},
    {"---B_2+0", -1000000007LL, true},
    {"N+Z + N//17-B_2*(-1)+Z", 1000000014LL, true},
    {"0*100*1 + 17 + M+M", 23LL, true},
    {"B_2//N*M // -N + M+-3//17-10", -61224498LL, true},
    {"-1-1+-B_2 // -Z*0+M", 0, false},
    {"((12345)) // -M", -4115LL, true},
    {"M*2*N*(B_2)-Z-K + K*17 + N + 0", 42000000493LL, true},
    {"M//B_2--B_2+10*10", 1000000107LL, true},
    {"17+100 + 0+1*100*100 // 17 // B_2-N*Z", 117LL, true},
    {"K // 2 // -1-10 + 10+K + -10-Z*10 // M", -4LL, true},
    {"-5*2 + B_2 + 12345//3-B_2 // N*K", -714281604LL, true},
    {"K + 10", 22LL, true},
    {"M + 0 + Z//10*Z*(0) // 12345*(10-100)", 3LL, true},
    {"N//3", 2LL, true},
    {"B_2 + N // K+B_2 + -100 // -17 // 10", 2000000014LL, true},
    {"3//Z+-N+M-0*1*B_2+100 // 100", 0, false},
    {"(-12345+Z*5)", -12345LL, true},
    {"(-M+M)", 0LL, true},
    {"B_2+-10 // 1-Z+10-0*0", 1000000007LL, true},
    {"-Z + -5", -5LL, true},
    {"B_2 + K-(-2)", 1000000021LL, true},
    {"K-17", -5LL, true},
    {"100*M", 300LL, true},
    {"0*-K-0*17", 0LL, true},
    {"((M)+N) + 17//0*0//N+B_2", 0, false},
    {"3//K//10*3+17-12345*2 // 10//(5)", -476LL, true},
    {"N-B_2", -1000000000LL, true},
    {"Z+3 + M*12345//-(10)//-1+B_2*12345", 12345000090122LL, true},
    {"(B_2*N // K*-B_2+1)", -583333341083333358LL, true},
    {"5*(M-B_2-K)", -5000000080LL, true},
    {"0*1//(B_2)-K + 3*K//(K)", -9LL, true},
    {"M//Z+Z*-5*M // Z+M*1 // K", 0, false},
    {"((B_2 + 3))//(Z)", 0, false},
    {"--100*1 // (100*100)", 0LL, true},
    {"((0))", 0LL, true},
    {"-B_2//N // (-5)", 28571428LL, true},
    {"-B_2-(0) // Z // B_2-M//(B_2) + N-2 // N-B_2", 0, false},
    {"((17+5+Z))", 22LL, true},
    {"100//B_2", 0LL, true},
    {"---1", -1LL, true},
    {"100-100-(K) // B_2//B_2 + 2 + K // ---Z", 0, false},
    {"(-K // -0) + (5) + 100*Z*(10)+Z*B_2", 0, false},
    {"-N-N + Z+(N)", -7LL, true},
    {"100*(M*5)*K-(B_2)", -999982007LL, true},
    {"-(B_2) // (10)-N // 17", -100000001LL, true},
    {"(Z + B_2 // N*-(5))", -714285715LL, true},
    {"(-K)//0*(K)-(K)-1+B_2", 0, false},
    {"-B_2 + B_2//(Z)*-0 // K-17", 0, false},
    {"-K+3", -9LL, true},
    {"N + M+N//-K//0 // 1+3*100//--2", 0, false},
    {"B_2*-1+5 + ((3))", -999999999LL, true},
    {"-Z*10-(17)*1*5", -85LL, true},
    {"0//17*5", 0LL, true},
    {"-K*3+B_2+N+K", 999999990LL, true},
    {"17+5//N//(3)*5 // K+-K//(N+12345)", 16LL, true},
    {"B_2+N", 1000000014LL, true},
};

static void test_dims_table(void)
{
    static const char *const names[] = {"N", "M", "K", "Z", "B_2"};
    static const int64_t values[] = {7, 3, 12, 0, 1000000007};
    struct jag_dim_env env = {5, names, values};
    int bad = 0;
    for (size_t i = 0; i < sizeof DIM_TABLE / sizeof DIM_TABLE[0]; i++) {
        char why[512] = "", why2[512] = "";
        int64_t v = -12345;
        bool ok = jag_dim_eval(DIM_TABLE[i].expr, &env, &v, why, sizeof why);
        bool syntax = jag_dim_check(DIM_TABLE[i].expr, why2, sizeof why2);
        if (ok != DIM_TABLE[i].ok || (ok && v != DIM_TABLE[i].value) || !syntax ||
            (!ok && strstr(why, "division by zero") == NULL)) {
            bad++;
            fprintf(stderr, "%s:%d: dim '%s' gave ok=%d value=%lld (%s); expected ok=%d value=%lld\n", __FILE__, __LINE__,
                    DIM_TABLE[i].expr, ok, (long long)v, why, DIM_TABLE[i].ok, (long long)DIM_TABLE[i].value);
        }
    }
    check_count++;
    if (bad) check_failed++;
}

static bool dim_eval(const char *expr, int64_t *v, char *why, size_t size)
{
    static const char *const names[] = {"N", "M", "S", "Z", "BIG", "NEG"};
    static const int64_t values[] = {7, 3, 5, 0, INT64_MAX, INT64_MIN};
    struct jag_dim_env env = {6, names, values};
    return jag_dim_eval(expr, &env, v, why, size);
}

#define DIM_OK(expr, expect) do { int64_t v_ = -999; char w_[512] = ""; check_count++; \
    if (!dim_eval(expr, &v_, w_, sizeof w_) || v_ != (int64_t)(expect)) { check_failed++; \
    fprintf(stderr, "%s:%d: dim '%s' = %lld (%s), expected %lld\n", __FILE__, __LINE__, expr, (long long)v_, w_, \
    (long long)(expect)); } } while (0)
#define DIM_BAD(expr, part) do { int64_t v_ = -999; char w_[512] = ""; check_count++; \
    if (dim_eval(expr, &v_, w_, sizeof w_) || strstr(w_, part) == NULL) { check_failed++; \
    fprintf(stderr, "%s:%d: dim '%s' gave %lld / '%s', expected an error with '%s'\n", __FILE__, __LINE__, expr, \
    (long long)v_, w_, part); } } while (0)

static void test_dims(void)
{
    /* precedence and associativity, as Python */
    DIM_OK("2+3*4", 14);
    DIM_OK("(2+3)*4", 20);
    DIM_OK("2*3", 6);
    DIM_OK("10-3-2", 5);
    DIM_OK("100//10//3", 3);
    DIM_OK("2*7//4", 3);
    DIM_OK("2*(7//4)", 2);
    DIM_OK("7//4*2", 2);
    DIM_OK("N", 7);
    DIM_OK("  N  ", 7);
    DIM_OK("N*S", 35);
    DIM_OK("(N-3)//2+1", 3);
    DIM_OK("N - M - S", -1);
    DIM_OK("N--M", 10);
    DIM_OK("N+-M", 4);
    DIM_OK("--N", 7);
    DIM_OK("-N*-M", 21);
    DIM_OK("007", 7);
    DIM_OK("0", 0);
    /* floor division of negatives (Python: rounds toward -inf) */
    DIM_OK("7//2", 3);
    DIM_OK("(-7)//2", -4);
    DIM_OK("-7//2", -4);        /* unary minus binds tighter: (-7)//2 */
    DIM_OK("-N//2", -4);
    DIM_OK("-(N//2)", -3);
    DIM_OK("7//-2", -4);
    DIM_OK("-7//-2", 3);
    DIM_OK("6//-2", -3);
    DIM_OK("-6//2", -3);
    DIM_OK("0//-5", 0);
    DIM_OK("1//N", 0);
    DIM_OK("-1//N", -1);
    DIM_OK("BIG//-1", -INT64_MAX);
    DIM_OK("NEG//2", INT64_MIN / 2);
    DIM_OK("NEG//-2", ((int64_t)1) << 62);
    DIM_OK("NEG//BIG", -2);
    DIM_OK("BIG//NEG", -1);
    DIM_OK("NEG//NEG", 1);
    /* limits of int64 */
    DIM_OK("9223372036854775807", INT64_MAX);
    DIM_OK("-9223372036854775807-1", INT64_MIN);
    DIM_OK("-4611686018427387904*2", INT64_MIN);
    DIM_OK("4611686018427387904*-2", INT64_MIN);
    DIM_OK("BIG+NEG", -1);
    DIM_OK("NEG+BIG", -1);
    DIM_OK("BIG-BIG", 0);
    DIM_OK("NEG-NEG", 0);
    DIM_OK("3037000499*3037000499", 9223372030926249001LL);
    DIM_OK("-3037000499*3037000499", -9223372030926249001LL);
    DIM_OK("NEG*1", INT64_MIN);
    DIM_OK("NEG*0", 0);
    DIM_OK("0*NEG", 0);
    DIM_BAD("9223372036854775808", "does not fit in int64");
    DIM_BAD("-9223372036854775808", "does not fit in int64");
    DIM_BAD("99999999999999999999999", "does not fit in int64");
    DIM_BAD("9223372036854775807+1", "overflow");
    DIM_BAD("BIG+1", "overflow");
    DIM_BAD("NEG-1", "overflow");
    DIM_BAD("-9223372036854775807-2", "overflow");
    DIM_BAD("NEG+-1", "overflow");
    DIM_BAD("BIG-NEG", "overflow");
    DIM_BAD("0-NEG", "overflow");
    DIM_BAD("-NEG", "overflow");
    DIM_BAD("--NEG", "overflow");
    DIM_BAD("NEG//-1", "overflow");
    DIM_BAD("NEG*-1", "overflow");
    DIM_BAD("-1*NEG", "overflow");
    DIM_BAD("NEG*NEG", "overflow");
    DIM_BAD("BIG*BIG", "overflow");
    DIM_BAD("3037000500*3037000500", "overflow");
    DIM_BAD("-3037000500*3037000500", "overflow");
    DIM_BAD("4611686018427387904*2", "overflow");
    DIM_BAD("(BIG+1)*0", "overflow");       /* every intermediate counts */
    /* division by zero, unbound names */
    DIM_BAD("N//Z", "division by zero");
    DIM_BAD("N//(M-3)", "division by zero");
    DIM_BAD("0//0", "division by zero");
    DIM_BAD("Z//Z", "division by zero");    /* jag.symbolic simplifies this to 1; the spec says E_SHAPE */
    DIM_BAD("X", "unbound dim 'X'");
    DIM_BAD("N*M+Q_1//2", "unbound dim 'Q_1'");
    DIM_BAD("n", "unbound dim 'n'");        /* names are case-sensitive */
    DIM_BAD("NN", "unbound dim 'NN'");
    {
        int64_t v = 0;
        char why[128];
        CHECK(!jag_dim_eval("N", NULL, &v, why, sizeof why) && strcmp(why, "unbound dim 'N'") == 0);
        CHECK(jag_dim_eval("2*(3+4)", NULL, &v, why, sizeof why) && v == 14);
        struct jag_dim_env empty = {0, NULL, NULL};
        CHECK(!jag_dim_eval("N", &empty, &v, why, sizeof why));
    }
    /* syntax: errors win over unbound names */
    DIM_BAD("X+", "bad dim expression 'X+': unexpected end");
    DIM_BAD("", "empty");
    DIM_BAD("   ", "empty");
    DIM_BAD("N/2", "a single '/' at position 1 is not an operator");
    DIM_BAD("N///2", "a single '/' at position 3");
    DIM_BAD("N////2", "unexpected '//'");
    DIM_BAD("N//", "unexpected end");
    DIM_BAD("(N", "missing ')'");
    DIM_BAD("N)", "unexpected ')'");
    DIM_BAD("()", "unexpected ')'");
    DIM_BAD("2 3", "unexpected '3'");
    DIM_BAD("2N", "unexpected 'N'");
    DIM_BAD("N M", "unexpected 'M'");
    DIM_BAD("N\t+1", "byte 0x09");
    DIM_BAD("N+1\n", "byte 0x0a");
    DIM_BAD("\tN", "byte 0x09");
    DIM_BAD("a.b", "unexpected character '.'");
    DIM_BAD("1+", "unexpected end");
    DIM_BAD("*2", "unexpected '*'");
    DIM_BAD("+2", "unexpected '+'");    /* no unary plus */
    DIM_BAD("N**2", "unexpected '*'");
    DIM_BAD("N^2", "unexpected character '^'");
    DIM_BAD("N%2", "unexpected character '%'");
    DIM_BAD("1.5", "unexpected character '.'");
    DIM_BAD("N\xc3\xa9", "byte 0xc3");
    DIM_BAD("-", "unexpected end");
    DIM_BAD("(", "unexpected end");
    /* length: 256 characters are allowed, 257 are not */
    char e[300];
    memset(e, ' ', 256);
    e[0] = '1';
    e[256] = '\0';
    DIM_OK(e, 1);
    e[256] = ' ';
    e[257] = '\0';
    DIM_BAD(e, "longer than 256 characters");
    /* deep nesting within the length limit */
    int o = 0;
    for (int i = 0; i < 127; i++) e[o++] = '(';
    e[o++] = 'N';
    for (int i = 0; i < 127; i++) e[o++] = ')';
    e[o] = '\0';
    DIM_OK(e, 7);
    o = 0;
    for (int i = 0; i < 255; i++) e[o++] = '-';
    e[o++] = 'N';
    e[o] = '\0';
    DIM_OK(e, -7);
    o = 0;
    for (int i = 0; i < 128; i++) e[o++] = '(';
    e[o] = '\0';
    DIM_BAD(e, "unexpected end");
    /* jag_dim_check */
    char why[512];
    CHECK(jag_dim_check("(H-3)//2+1", why, sizeof why));
    CHECK(jag_dim_check("UNBOUND*2", why, sizeof why));
    CHECK(jag_dim_check("1//0", why, sizeof why));   /* syntax only */
    CHECK(!jag_dim_check("N/2", why, sizeof why) && strstr(why, "'/'") != NULL);
    CHECK(!jag_dim_check(NULL, why, sizeof why));
    CHECK(!jag_dim_check("N/2", NULL, 0));
    CHECK(!jag_dim_check("99999999999999999999", why, sizeof why));
}

struct names_ctx {
    char text[256];
    int count;
};

static void collect_name(const char *name, size_t len, void *ctx)
{
    struct names_ctx *c = ctx;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "%s%.*s", c->count ? "," : "", (int)len, name);
    c->count++;
}

static void test_dim_names(void)
{
    char name[64];
    CHECK(jag_dim_bare_name("N", name, sizeof name) && strcmp(name, "N") == 0);
    CHECK(jag_dim_bare_name("  seq_len2 ", name, sizeof name) && strcmp(name, "seq_len2") == 0);
    CHECK(jag_dim_bare_name("_", name, sizeof name) && strcmp(name, "_") == 0);
    CHECK(!jag_dim_bare_name("2N", name, sizeof name));
    CHECK(!jag_dim_bare_name("N+1", name, sizeof name));
    CHECK(!jag_dim_bare_name("(N)", name, sizeof name));
    CHECK(!jag_dim_bare_name("-N", name, sizeof name));
    CHECK(!jag_dim_bare_name("N M", name, sizeof name));
    CHECK(!jag_dim_bare_name("", name, sizeof name));
    CHECK(!jag_dim_bare_name("  ", name, sizeof name));
    CHECK(!jag_dim_bare_name("7", name, sizeof name));
    CHECK(!jag_dim_bare_name("\tN", name, sizeof name));
    CHECK(!jag_dim_bare_name(NULL, name, sizeof name));
    CHECK(!jag_dim_bare_name("LONGNAME", name, 8));    /* does not fit with its NUL */
    CHECK(jag_dim_bare_name("LONGNAM", name, 8) && strcmp(name, "LONGNAM") == 0);

    struct names_ctx c = {"", 0};
    jag_dim_names("N*M+N//(K_2) - 3", collect_name, &c);
    CHECK(strcmp(c.text, "N,M,N,K_2") == 0 && c.count == 4);
    struct names_ctx d = {"", 0};
    jag_dim_names("12*(3+4)", collect_name, &d);
    CHECK(d.count == 0);
    jag_dim_names(NULL, collect_name, &d);
    jag_dim_names("N", NULL, &d);
}

/* Random token strings: jag_dim_check / jag_dim_eval never crash, and eval agrees with check. */
static void test_dims_fuzz(void)
{
    static const char *const names[] = {"N", "M"};
    static const int64_t values[] = {INT64_MAX, -3};
    struct jag_dim_env env = {2, names, values};
    static const char *const toks[] = {"N", "M", "0", "1", "9223372036854775807", "+", "-", "*", "//", "/", "(", ")", " ",
                                       "\t", "X", "3037000500"};
    int bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char e[400];
        size_t o = 0;
        int nt = 1 + (int)(rnd() % 12);
        for (int t = 0; t < nt; t++) {
            const char *tk = toks[rnd() % (sizeof toks / sizeof toks[0])];
            size_t k = strlen(tk);
            if (o + k >= sizeof e) break;
            memcpy(e + o, tk, k);
            o += k;
        }
        e[o] = '\0';
        char why[512];
        int64_t v;
        bool syntax = jag_dim_check(e, why, sizeof why);
        bool ok = jag_dim_eval(e, &env, &v, why, sizeof why);
        if (ok && !syntax) bad++;
        if (!ok && why[0] == '\0') bad++;
    }
    CHECK_EQ_I(bad, 0);
}

/* ================================================================ safetensors */

/* Written by Python: safetensors.numpy.save({"x": float32 [[1.5,-2,3.25],[0,-0,1e30]],
 * "idx": int64 [1,-2,2**40], "flag": bool [T,F,T], "s": int32 7 (rank 0), "u": uint8 [255,0],
 * "d": float64 [pi], "empty": float32 zeros((0,3))}, metadata={"format": "np"}). */
static const uint8_t PY_BUNDLE[] = {
    0xb0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7b, 0x22, 0x5f, 0x5f, 0x6d, 0x65, 0x74, 0x61,
    0x64, 0x61, 0x74, 0x61, 0x5f, 0x5f, 0x22, 0x3a, 0x7b, 0x22, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74,
    0x22, 0x3a, 0x22, 0x6e, 0x70, 0x22, 0x7d, 0x2c, 0x22, 0x69, 0x64, 0x78, 0x22, 0x3a, 0x7b, 0x22,
    0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x49, 0x36, 0x34, 0x22, 0x2c, 0x22, 0x73, 0x68,
    0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f,
    0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x30, 0x2c, 0x32, 0x34, 0x5d, 0x7d, 0x2c,
    0x22, 0x64, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x36,
    0x34, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x31, 0x5d, 0x2c, 0x22,
    0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x32,
    0x34, 0x2c, 0x33, 0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x22, 0x3a, 0x7b,
    0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73,
    0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x30, 0x2c, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74,
    0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x33, 0x32, 0x2c, 0x33,
    0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x78, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22,
    0x3a, 0x22, 0x46, 0x33, 0x32, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b,
    0x32, 0x2c, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65,
    0x74, 0x73, 0x22, 0x3a, 0x5b, 0x33, 0x32, 0x2c, 0x35, 0x36, 0x5d, 0x7d, 0x2c, 0x22, 0x73, 0x22,
    0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x49, 0x33, 0x32, 0x22, 0x2c,
    0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74, 0x61,
    0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x35, 0x36, 0x2c, 0x36, 0x30,
    0x5d, 0x7d, 0x2c, 0x22, 0x75, 0x22, 0x3a, 0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a,
    0x22, 0x55, 0x38, 0x22, 0x2c, 0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x32, 0x5d,
    0x2c, 0x22, 0x64, 0x61, 0x74, 0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a,
    0x5b, 0x36, 0x30, 0x2c, 0x36, 0x32, 0x5d, 0x7d, 0x2c, 0x22, 0x66, 0x6c, 0x61, 0x67, 0x22, 0x3a,
    0x7b, 0x22, 0x64, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0x42, 0x4f, 0x4f, 0x4c, 0x22, 0x2c,
    0x22, 0x73, 0x68, 0x61, 0x70, 0x65, 0x22, 0x3a, 0x5b, 0x33, 0x5d, 0x2c, 0x22, 0x64, 0x61, 0x74,
    0x61, 0x5f, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0x73, 0x22, 0x3a, 0x5b, 0x36, 0x32, 0x2c, 0x36,
    0x35, 0x5d, 0x7d, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x18, 0x2d, 0x44, 0x54, 0xfb, 0x21, 0x09, 0x40, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0,
    0x00, 0x00, 0x50, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xca, 0xf2, 0x49, 0x71,
    0x07, 0x00, 0x00, 0x00, 0xff, 0x00, 0x01, 0x00, 0x01,
};

static void test_bundle_python(void)
{
    struct jag_bundle b;
    char why[512];
    uint8_t *bytes = malloc(sizeof PY_BUNDLE);
    memcpy(bytes, PY_BUNDLE, sizeof PY_BUNDLE);
    CHECK_STATUS(jag_bundle_parse(bytes, sizeof PY_BUNDLE, &b, why, sizeof why), JAG_STATUS_OK);
    CHECK_EQ_I(b.n, 7);
    if (b.n != 7) { jag_bundle_free(&b); return; }
    /* sorted by data offset: idx d empty x s u flag */
    static const char *order[] = {"idx", "d", "empty", "x", "s", "u", "flag"};
    for (int i = 0; i < 7; i++) CHECK(strcmp(b.entries[i].name, order[i]) == 0);
    const struct jag_bundle_entry *e = jag_bundle_find(&b, "x");
    CHECK(e && e->dtype == JAG_DTYPE_FLOAT32 && e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 3 && e->nbytes == 24);
    if (e) {
        float x[6];
        memcpy(x, e->data, sizeof x);
        CHECK(x[0] == 1.5f && x[1] == -2.0f && x[2] == 3.25f && x[3] == 0.0f && signbit(x[4]) && x[5] == 1e30f);
    }
    e = jag_bundle_find(&b, "idx");
    CHECK(e && e->dtype == JAG_DTYPE_INT64 && e->ndim == 1 && e->shape[0] == 3);
    if (e) {
        int64_t v[3];
        memcpy(v, e->data, sizeof v);
        CHECK(v[0] == 1 && v[1] == -2 && v[2] == ((int64_t)1 << 40));
    }
    e = jag_bundle_find(&b, "flag");
    CHECK(e && e->dtype == JAG_DTYPE_BOOL && e->nbytes == 3 && e->data[0] == 1 && e->data[1] == 0 && e->data[2] == 1);
    e = jag_bundle_find(&b, "s");
    CHECK(e && e->dtype == JAG_DTYPE_INT32 && e->ndim == 0 && e->nbytes == 4);
    if (e) {
        int32_t s;
        memcpy(&s, e->data, 4);
        CHECK(s == 7);
    }
    e = jag_bundle_find(&b, "u");
    CHECK(e && e->dtype == JAG_DTYPE_UINT8 && e->data[0] == 255 && e->data[1] == 0);
    e = jag_bundle_find(&b, "d");
    CHECK(e && e->dtype == JAG_DTYPE_FLOAT64);
    if (e) {
        double d;
        memcpy(&d, e->data, 8);
        CHECK(d == 3.141592653589793);
    }
    e = jag_bundle_find(&b, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3 && e->nbytes == 0);
    CHECK(jag_bundle_find(&b, "__metadata__") == NULL);
    CHECK(jag_bundle_find(&b, "nope") == NULL);
    CHECK(b.buffer == bytes && b.size == sizeof PY_BUNDLE);
    jag_bundle_free(&b);
    CHECK(b.n == 0 && b.entries == NULL && b.buffer == NULL);
    jag_bundle_free(&b);    /* twice is harmless */

    /* every proper prefix and random byte flips: OK or E_TENSOR_DATA, no leak */
    int bad = 0;
    for (size_t k = 0; k < sizeof PY_BUNDLE; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, PY_BUNDLE, k);
        if (jag_bundle_parse(p, k, &b, why, sizeof why) != JAG_STATUS_E_TENSOR_DATA) bad++;
        if (b.buffer || b.entries) bad++;
    }
    CHECK_EQ_I(bad, 0);
    bad = 0;
    int n_ok = 0;
    for (int iter = 0; iter < 5000; iter++) {
        uint8_t *p = malloc(sizeof PY_BUNDLE);
        memcpy(p, PY_BUNDLE, sizeof PY_BUNDLE);
        int flips = 1 + (int)(rnd() % 2);
        for (int f = 0; f < flips; f++) {
            uint32_t r = rnd();
            size_t at = (r & 1) ? rnd() % sizeof PY_BUNDLE : 8 + rnd() % 0x1b0;
            p[at] = (r & 2) ? (uint8_t)(r >> 8) : (uint8_t)"0123456789[]{},:\"-e"[(r >> 8) % 19];
        }
        enum jag_status st = jag_bundle_parse(p, sizeof PY_BUNDLE, &b, why, sizeof why);
        if (st == JAG_STATUS_OK) { n_ok++; jag_bundle_free(&b); }
        else if (st != JAG_STATUS_E_TENSOR_DATA) bad++;
    }
    CHECK_EQ_I(bad, 0);
    CHECK(n_ok > 0);
}

/* Build a bundle from header text + data bytes and parse it; returns the status, why in w. */
static enum jag_status parse_bundle(const char *header, const uint8_t *data, size_t data_len, char *w, size_t wsize)
{
    size_t hl = strlen(header);
    uint8_t *bytes = malloc(8 + hl + data_len + 1);
    for (int i = 0; i < 8; i++) bytes[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(bytes + 8, header, hl);
    if (data_len) memcpy(bytes + 8 + hl, data, data_len);
    struct jag_bundle b;
    enum jag_status st = jag_bundle_parse(bytes, 8 + hl + data_len, &b, w, wsize);
    if (st == JAG_STATUS_OK) jag_bundle_free(&b);
    return st;
}

#define BUNDLE_BAD(header, data, n, part) do { char w_[512] = ""; check_count++; \
    enum jag_status s_ = parse_bundle(header, data, n, w_, sizeof w_); \
    if (s_ != JAG_STATUS_E_TENSOR_DATA || strstr(w_, part) == NULL) { check_failed++; \
    fprintf(stderr, "%s:%d: bundle %s gave %d '%s', expected E_TENSOR_DATA with '%s'\n", __FILE__, __LINE__, header, \
    (int)s_, w_, part); } } while (0)

static void test_bundle_malformed(void)
{
    uint8_t data[64];
    for (int i = 0; i < 64; i++) data[i] = (uint8_t)(i & 1);
    char why[512];
    struct jag_bundle b;
    /* sanity: these headers are fine */
    CHECK_STATUS(parse_bundle("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8, why, sizeof why),
                 JAG_STATUS_OK);
    CHECK_STATUS(parse_bundle("{}", data, 0, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(parse_bundle("  {\"__metadata__\": {}}   ", data, 0, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(parse_bundle("{\"a\":{\"data_offsets\":[0,2],\"shape\":[2],\"dtype\":\"BOOL\"},"
                              "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]},"
                              "\"c\":{\"dtype\":\"I32\",\"shape\":[0, 5],\"data_offsets\":[2,2]}}", data, 2, why, sizeof why),
                 JAG_STATUS_OK);
    /* too short, header beyond the file */
    uint8_t *p = malloc(7);
    memset(p, 0, 7);
    CHECK_STATUS(jag_bundle_parse(p, 7, &b, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    CHECK(strstr(why, "too short") != NULL);
    p = malloc(16);
    memset(p, 0, 16);
    p[0] = 9;
    CHECK_STATUS(jag_bundle_parse(p, 16, &b, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    CHECK(strstr(why, "beyond the end") != NULL);
    p = malloc(16);
    memset(p, 0xff, 16);
    CHECK_STATUS(jag_bundle_parse(p, 16, &b, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    CHECK_STATUS(jag_bundle_parse(NULL, 0, &b, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    /* header JSON */
    BUNDLE_BAD("", data, 0, "not valid JSON");
    BUNDLE_BAD("{", data, 0, "not valid JSON: line 1, column 2");
    BUNDLE_BAD("[]", data, 0, "not a JSON object");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{}}", data, 1, "duplicate key 'a'");
    BUNDLE_BAD("{\"a\":[[[[[[[[[[1]]]]]]]]]]}", data, 0, "nesting deeper");
    /* entries */
    BUNDLE_BAD("{\"a\":1}", data, 0, "tensor 'a': the header entry is not an object");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", data, 1, "needs \"dtype\", \"shape\" and \"data_offsets\"");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", data, 1, "unexpected key 'x'");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", data, 2, "tensor 'a': unsupported dtype 'BF16'");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", data, 2, "unsupported dtype 'F16'");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 4, "unsupported dtype 'f32'");
    BUNDLE_BAD("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", data, 4, "\"dtype\" is not a string");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}", data, 1, "\"shape\" is not an array");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", data, 1, "shape item 0");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", data, 1, "shape item 0");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,\"2\"],\"data_offsets\":[0,2]}}", data, 2, "shape item 1");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", data, 1,
               "rank 17 is above the limit of 16");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}", data, 1, "overflows");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,536870912],\"data_offsets\":[0,1]}}", data, 1, "overflows");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", data, 1, "\"data_offsets\" is not [begin, end]");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", data, 1, "\"data_offsets\" is not");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", data, 1, "\"data_offsets\" is not");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{}}}", data, 1, "\"data_offsets\" is not");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}", data, 1,
               "\"data_offsets\" is not");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", data, 1, "outside the data buffer");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", data, 1, "outside the data buffer");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", data, 4, "span 4 bytes, but dtype F32");
    /* coverage of the data buffer */
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", data, 3, "tensor 'b': data_offsets [1, 3] overlap");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", data, 2, "overlap");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
               "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}", data, 5, "tensor 'b': data_offsets [3, 5] leave a gap");
    BUNDLE_BAD("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", data, 3, "leave a gap");
    BUNDLE_BAD("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", data, 3, "cover 2 bytes of a data buffer of 3");
    BUNDLE_BAD("{}", data, 1, "cover 0 bytes of a data buffer of 1");
    /* bool bytes must be 0 or 1 */
    uint8_t bools[3] = {1, 0, 2};
    BUNDLE_BAD("{\"f\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", bools, 3, "bool element 2 is the byte 2");
    /* metadata */
    BUNDLE_BAD("{\"__metadata__\":[]}", data, 0, "\"__metadata__\" is not an object");
    BUNDLE_BAD("{\"__metadata__\":{\"a\":1}}", data, 0, "\"__metadata__\" value 'a' is not a string");
    /* bundle files */
    char path[512];
    snprintf(path, sizeof path, "%s/nope.safetensors", tmpdir);
    CHECK_STATUS(jag_bundle_read_file(path, &b, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK(strstr(why, "No such file") != NULL);
    CHECK_STATUS(jag_bundle_read_file(tmpdir, &b, why, sizeof why), JAG_STATUS_E_FILE);
    snprintf(path, sizeof path, "%s/junk.safetensors", tmpdir);
    CHECK_STATUS(jag_write_file_atomic(path, "junk", 4, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_bundle_read_file(path, &b, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    CHECK(strstr(why, "is not a valid safetensors file") != NULL);
    unlink(path);
}

static void test_bundle_roundtrip(void)
{
    float f32[6] = {1.5f, -2.0f, 0.0f, -0.0f, 1e30f, 3.25f};
    double f64[2] = {3.141592653589793, -1e-300};
    int32_t i32 = -7;
    int64_t i64[3] = {INT64_MIN, 0, INT64_MAX};
    uint8_t u8[4] = {0, 1, 254, 255};
    uint8_t bo[2] = {1, 0};
    struct jag_tensor t[7];
    memset(t, 0, sizeof t);
    t[0].dtype = JAG_DTYPE_FLOAT32; t[0].ndim = 2; t[0].shape[0] = 2; t[0].shape[1] = 3; t[0].data = f32; t[0].nbytes = 24;
    t[1].dtype = JAG_DTYPE_FLOAT64; t[1].ndim = 1; t[1].shape[0] = 2; t[1].data = f64; t[1].nbytes = 16;
    t[2].dtype = JAG_DTYPE_INT32; t[2].ndim = 0; t[2].data = &i32; t[2].nbytes = 4;
    t[3].dtype = JAG_DTYPE_INT64; t[3].ndim = 1; t[3].shape[0] = 3; t[3].data = i64; t[3].nbytes = 24;
    t[4].dtype = JAG_DTYPE_UINT8; t[4].ndim = 2; t[4].shape[0] = 2; t[4].shape[1] = 2; t[4].data = u8; t[4].nbytes = 4;
    t[5].dtype = JAG_DTYPE_BOOL; t[5].ndim = 1; t[5].shape[0] = 2; t[5].data = bo; t[5].nbytes = 2;
    t[6].dtype = JAG_DTYPE_FLOAT32; t[6].ndim = 3; t[6].shape[0] = 4; t[6].shape[1] = 0; t[6].shape[2] = 2; t[6].data = NULL;
    t[6].nbytes = 0;
    const char *names[7] = {"y", "a/b:c.d-e", "q\"uote\\back", "ctrl\n\x01", "\xc3\xa9t\xc3\xa9", "zz", "empty"};
    char path[512], why[512];
    snprintf(path, sizeof path, "%s/out.safetensors", tmpdir);
    CHECK_STATUS(jag_bundle_write_file(path, 7, names, t, why, sizeof why), JAG_STATUS_OK);
    CHECK_EQ_I(count_files(".tmp."), 0);
    struct jag_bundle b;
    CHECK_STATUS(jag_bundle_read_file(path, &b, why, sizeof why), JAG_STATUS_OK);
    CHECK_EQ_I(b.n, 7);
    if (b.n == 7) {
        /* header: length a multiple of 8, keys in the given order, data contiguous in that order */
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | b.buffer[i];
        CHECK(hl % 8 == 0);
        CHECK(memcmp(b.buffer + 8, "{\"y\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},", 56) == 0);
        CHECK(strstr((const char *)b.buffer + 8, "\"q\\\"uote\\\\back\"") != NULL);
        CHECK(strstr((const char *)b.buffer + 8, "\"ctrl\\u000a\\u0001\"") != NULL);
        for (int i = 0; i < 6; i++) {
            const struct jag_bundle_entry *e = jag_bundle_find(&b, names[i]);
            check_count++;
            if (!e || e->dtype != t[i].dtype || e->ndim != t[i].ndim || e->nbytes != t[i].nbytes ||
                memcmp(e->shape, t[i].shape, (size_t)t[i].ndim * sizeof(int64_t)) != 0 ||
                memcmp(e->data, t[i].data, t[i].nbytes) != 0) {
                check_failed++;
                fprintf(stderr, "%s:%d: round trip of tensor %d differs\n", __FILE__, __LINE__, i);
            }
        }
        /* order by offsets: the zero-size tensor sits at the end with "empty" after "zz" */
        CHECK(strcmp(b.entries[0].name, "y") == 0 && strcmp(b.entries[6].name, "empty") == 0);
        const struct jag_bundle_entry *e = jag_bundle_find(&b, "empty");
        CHECK(e && e->ndim == 3 && e->shape[1] == 0 && e->nbytes == 0);
    }
    jag_bundle_free(&b);
    /* an empty bundle */
    CHECK_STATUS(jag_bundle_write_file(path, 0, NULL, NULL, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_bundle_read_file(path, &b, why, sizeof why), JAG_STATUS_OK);
    CHECK(b.n == 0 && b.size == 16 && memcmp(b.buffer + 8, "{}      ", 8) == 0);
    jag_bundle_free(&b);
    /* refused: duplicate names, "__metadata__", inconsistent nbytes, bad dtype, missing folder */
    const char *dup[2] = {"a", "a"};
    CHECK_STATUS(jag_bundle_write_file(path, 2, dup, t, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    CHECK(strstr(why, "two tensors are named 'a'") != NULL);
    const char *meta[1] = {"__metadata__"};
    CHECK_STATUS(jag_bundle_write_file(path, 1, meta, t, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    struct jag_tensor wrong = t[0];
    wrong.nbytes = 20;
    CHECK_STATUS(jag_bundle_write_file(path, 1, names, &wrong, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    wrong = t[0];
    wrong.dtype = JAG_DTYPE_COUNT;
    CHECK_STATUS(jag_bundle_write_file(path, 1, names, &wrong, why, sizeof why), JAG_STATUS_E_TENSOR_DATA);
    snprintf(path, sizeof path, "%s/missing/out.safetensors", tmpdir);
    CHECK_STATUS(jag_bundle_write_file(path, 1, names, t, why, sizeof why), JAG_STATUS_E_FILE);
    CHECK_EQ_I(count_files(".tmp."), 0);
}

int main(void)
{
    make_tmpdir();
    RUN(test_json_basic);
    RUN(test_json_numbers);
    RUN(test_json_strings);
    RUN(test_json_structure_errors);
    RUN(test_json_duplicates_large);
    RUN(test_json_depth);
    RUN(test_json_fuzz);
    RUN(test_base64);
    RUN(test_sha256);
    RUN(test_files);
    RUN(test_format_arith);
    RUN(test_dims_table);
    RUN(test_dims);
    RUN(test_dim_names);
    RUN(test_dims_fuzz);
    RUN(test_bundle_python);
    RUN(test_bundle_malformed);
    RUN(test_bundle_roundtrip);
    remove_tmpdir();
    return check_summary();
}

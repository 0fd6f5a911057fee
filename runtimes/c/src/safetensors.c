/*
 * safetensors.c — tensor I/O bundles (spec/README.md §7), the safetensors layout of
 * https://github.com/huggingface/safetensors:
 *
 *   8 bytes   N, the header length (unsigned 64-bit little-endian)
 *   N bytes   JSON object {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
 *             ..., "__metadata__": {string: string}} (optional metadata; trailing spaces)
 *   rest      the data buffer; [b, e) is relative to its start; tensors cover it exactly
 *
 * Only the six JAG dtype codes F32 F64 I32 I64 U8 BOOL are accepted; anything malformed is
 * E_TENSOR_DATA, an unreadable file E_FILE. Reading keeps the whole file in one buffer and
 * the entries point into it (possibly unaligned: copy before typed access).
 */
#include "jag_internal.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define JAG_BUNDLE_MAX_FILE   ((int64_t)1 << 40)
#define JAG_BUNDLE_JSON_DEPTH 8

static enum jag_status bfail(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return JAG_STATUS_E_TENSOR_DATA;
}

void jag_bundle_free(struct jag_bundle *bundle)
{
    if (!bundle) return;
    if (bundle->entries)
        for (int32_t i = 0; i < bundle->n; i++) free(bundle->entries[i].name);
    free(bundle->entries);
    free(bundle->buffer);
    memset(bundle, 0, sizeof *bundle);
}

const struct jag_bundle_entry *jag_bundle_find(const struct jag_bundle *bundle, const char *name)
{
    if (!bundle || !name) return NULL;
    for (int32_t i = 0; i < bundle->n; i++)
        if (strcmp(bundle->entries[i].name, name) == 0) return &bundle->entries[i];
    return NULL;
}

/* An entry being parsed, with its offsets and header position (for sorting). */
struct pending {
    int64_t begin, end;
    int32_t order;
};

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* A JSON integer in [0, INT64_MAX]. */
static bool get_count(const struct jag_json *v, int64_t *out)
{
    if (!v || v->type != JAG_JSON_NUMBER || !v->integral || !v->fits_int64 || v->integer < 0) return false;
    *out = v->integer;
    return true;
}

/* Check one header entry and fill e (except name/data); begin/end are its offsets. */
static enum jag_status parse_entry(const char *name, const struct jag_json *v, size_t data_size,
                                   struct jag_bundle_entry *e, int64_t *begin, int64_t *end, char *why, size_t why_size)
{
    if (v->type != JAG_JSON_OBJECT) return bfail(why, why_size, "tensor '%s': the header entry is not an object", name);
    const struct jag_json *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (int32_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i];
        if (strcmp(k, "dtype") == 0) dtype = &v->items[i];
        else if (strcmp(k, "shape") == 0) shape = &v->items[i];
        else if (strcmp(k, "data_offsets") == 0) offsets = &v->items[i];
        else return bfail(why, why_size, "tensor '%s': unexpected key '%.64s' in the header entry", name, k);
    }
    if (!dtype || !shape || !offsets)
        return bfail(why, why_size, "tensor '%s': the header entry needs \"dtype\", \"shape\" and \"data_offsets\"", name);
    if (dtype->type != JAG_JSON_STRING) return bfail(why, why_size, "tensor '%s': \"dtype\" is not a string", name);
    int32_t dt = -1;
    for (int32_t d = 0; d < JAG_SPEC_DTYPE_COUNT; d++)
        if (strcmp(JAG_DTYPE_DEFS[d].safetensors, dtype->string) == 0) dt = d;
    if (dt < 0) return bfail(why, why_size, "tensor '%s': unsupported dtype '%.32s'", name, dtype->string);
    e->dtype = (enum jag_dtype)dt;
    if (shape->type != JAG_JSON_ARRAY) return bfail(why, why_size, "tensor '%s': \"shape\" is not an array", name);
    if (shape->n > JAG_MAX_DIMS)
        return bfail(why, why_size, "tensor '%s': rank %d is above the limit of %d", name, (int)shape->n, JAG_MAX_DIMS);
    int64_t numel = 1;
    e->ndim = shape->n;
    for (int32_t i = 0; i < shape->n; i++) {
        int64_t d;
        if (!get_count(&shape->items[i], &d))
            return bfail(why, why_size, "tensor '%s': shape item %d is not a non-negative integer", name, (int)i);
        e->shape[i] = d;
        if (!jag_mul_i64(numel, d, &numel))
            return bfail(why, why_size, "tensor '%s': the element count overflows int64", name);
    }
    if (offsets->type != JAG_JSON_ARRAY || offsets->n != 2 || !get_count(&offsets->items[0], begin) ||
        !get_count(&offsets->items[1], end))
        return bfail(why, why_size, "tensor '%s': \"data_offsets\" is not [begin, end] with non-negative integers", name);
    if (*begin > *end || (uint64_t)*end > (uint64_t)data_size)
        return bfail(why, why_size, "tensor '%s': data_offsets [%lld, %lld] are outside the data buffer of %zu bytes",
                     name, (long long)*begin, (long long)*end, data_size);
    int64_t nbytes;
    if (!jag_mul_i64(numel, JAG_DTYPE_DEFS[dt].itemsize, &nbytes))
        return bfail(why, why_size, "tensor '%s': the byte count of the shape overflows int64", name);
    if (nbytes != *end - *begin)
        return bfail(why, why_size, "tensor '%s': data_offsets span %lld bytes, but dtype %s and the shape need %lld",
                     name, (long long)(*end - *begin), JAG_DTYPE_DEFS[dt].safetensors, (long long)nbytes);
    e->nbytes = (size_t)nbytes;
    return JAG_STATUS_OK;
}

/* Takes ownership of `bytes` (malloc'ed, len bytes): on success the bundle keeps it as its
 * buffer (freed by jag_bundle_free); on failure it is freed here and *bundle is zeroed, so
 * the caller never frees `bytes` itself. */
enum jag_status jag_bundle_parse(uint8_t *bytes, size_t len, struct jag_bundle *bundle, char *why, size_t why_size)
{
    struct jag_json *header = NULL;
    struct pending *pend = NULL;
    struct jag_bundle_entry *entries = NULL;
    int32_t n_entries = 0;
    enum jag_status st = JAG_STATUS_OK;
    memset(bundle, 0, sizeof *bundle);
    if (why && why_size) why[0] = '\0';
    if (!bytes && len) { st = bfail(why, why_size, "no data"); goto fail; }
    if (len < 8) { st = bfail(why, why_size, "%zu bytes is too short for a safetensors file", len); goto fail; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    if (hlen > (uint64_t)(len - 8)) {
        st = bfail(why, why_size, "the header length %llu is beyond the end of the file (%zu bytes)",
                   (unsigned long long)hlen, len);
        goto fail;
    }
    size_t data_start = 8 + (size_t)hlen;
    size_t data_size = len - data_start;
    char jwhy[256];
    st = jag_json_parse((const char *)bytes + 8, (size_t)hlen, JAG_BUNDLE_JSON_DEPTH, &header, jwhy, sizeof jwhy);
    if (st == JAG_STATUS_OUT_OF_MEMORY) {
        jag_format(why, why_size, "out of memory reading a safetensors header");
        goto fail;
    }
    if (st != JAG_STATUS_OK) { st = bfail(why, why_size, "the header is not valid JSON: %s", jwhy); goto fail; }
    if (header->type != JAG_JSON_OBJECT) { st = bfail(why, why_size, "the header is not a JSON object"); goto fail; }

    int32_t n = header->n;
    entries = calloc((size_t)(n > 0 ? n : 1), sizeof *entries);
    pend = calloc((size_t)(n > 0 ? n : 1), sizeof *pend);
    struct jag_bundle_entry *tmp = calloc((size_t)(n > 0 ? n : 1), sizeof *tmp);
    if (!entries || !pend || !tmp) {
        free(tmp);
        st = JAG_STATUS_OUT_OF_MEMORY;
        jag_format(why, why_size, "out of memory reading a safetensors header");
        goto fail;
    }
    /* parse into tmp (header order), then place sorted by offset into entries */
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *name = header->keys[i];
        const struct jag_json *v = &header->items[i];
        if (strcmp(name, "__metadata__") == 0) {
            if (v->type != JAG_JSON_OBJECT) { st = bfail(why, why_size, "\"__metadata__\" is not an object"); break; }
            for (int32_t k = 0; k < v->n; k++)
                if (v->items[k].type != JAG_JSON_STRING) {
                    st = bfail(why, why_size, "\"__metadata__\" value '%.64s' is not a string", v->keys[k]);
                    break;
                }
            if (st != JAG_STATUS_OK) break;
            continue;
        }
        st = parse_entry(name, v, data_size, &tmp[m], &pend[m].begin, &pend[m].end, why, why_size);
        if (st != JAG_STATUS_OK) break;
        tmp[m].name = (char *)name;   /* borrowed until copied below */
        pend[m].order = m;
        m++;
    }
    if (st != JAG_STATUS_OK) { free(tmp); goto fail; }
    qsort(pend, (size_t)m, sizeof *pend, cmp_pending);
    int64_t expect = 0;
    for (int32_t i = 0; i < m; i++) {
        const struct jag_bundle_entry *t = &tmp[pend[i].order];
        if (pend[i].begin != expect) {
            st = bfail(why, why_size, "tensor '%s': data_offsets [%lld, %lld] %s", t->name, (long long)pend[i].begin,
                       (long long)pend[i].end,
                       pend[i].begin > expect ? "leave a gap in the data buffer" : "overlap another tensor");
            break;
        }
        expect = pend[i].end;
    }
    if (st == JAG_STATUS_OK && (uint64_t)expect != (uint64_t)data_size)
        st = bfail(why, why_size, "the tensors cover %lld bytes of a data buffer of %zu bytes", (long long)expect, data_size);
    if (st != JAG_STATUS_OK) { free(tmp); goto fail; }
    for (int32_t i = 0; i < m; i++) {
        struct jag_bundle_entry *e = &entries[i];
        *e = tmp[pend[i].order];
        e->name = NULL;
        size_t nlen = strlen(tmp[pend[i].order].name);
        e->name = malloc(nlen + 1);
        n_entries = i + 1;
        if (!e->name) {
            st = JAG_STATUS_OUT_OF_MEMORY;
            jag_format(why, why_size, "out of memory reading a safetensors header");
            break;
        }
        memcpy(e->name, tmp[pend[i].order].name, nlen + 1);
        e->data = bytes + data_start + pend[i].begin;
        if (e->dtype == JAG_DTYPE_BOOL)
            for (size_t k = 0; k < e->nbytes; k++)
                if (e->data[k] > 1) {
                    st = bfail(why, why_size, "tensor '%s': bool element %zu is the byte %u (must be 0 or 1)", e->name, k,
                               (unsigned)e->data[k]);
                    break;
                }
        if (st != JAG_STATUS_OK) break;
    }
    free(tmp);
    if (st != JAG_STATUS_OK) goto fail;
    free(pend);
    jag_json_free(header);
    bundle->n = m;
    bundle->entries = entries;
    bundle->buffer = bytes;
    bundle->size = len;
    return JAG_STATUS_OK;
fail:
    if (entries)
        for (int32_t i = 0; i < n_entries; i++) free(entries[i].name);
    free(entries);
    free(pend);
    jag_json_free(header);
    free(bytes);
    memset(bundle, 0, sizeof *bundle);
    return st;
}

enum jag_status jag_bundle_read_file(const char *path, struct jag_bundle *bundle, char *why, size_t why_size)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    memset(bundle, 0, sizeof *bundle);
    enum jag_status st = jag_read_file(path, JAG_BUNDLE_MAX_FILE, &bytes, &len, why, why_size);
    if (st != JAG_STATUS_OK) return st;
    char inner[400];
    st = jag_bundle_parse(bytes, len, bundle, inner, sizeof inner);
    if (st != JAG_STATUS_OK) jag_format(why, why_size, "'%s' is not a valid safetensors file: %s", path, inner);
    return st;
}

/* ---------------------------------------------------------------- writing */

struct sbuf {
    char  *p;
    size_t n, cap;
    bool   oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t k)
{
    if (b->oom) return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + k + 1) {
            if (cap > SIZE_MAX / 2) { b->oom = true; return; }
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (!np) { b->oom = true; return; }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_json_string(struct sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"') sb_put(b, "\\\"", 2);
        else if (*c == '\\') sb_put(b, "\\\\", 2);
        else if (*c < 0x20 || *c == 0x7F) {
            char esc[8];
            jag_format(esc, sizeof esc, "\\u%04x", (unsigned)*c);
            sb_put(b, esc, 6);
        } else sb_put(b, (const char *)c, 1);
    }
    sb_put(b, "\"", 1);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum jag_status jag_bundle_write_file(const char *path, int32_t n, const char *const *names,
                                      const struct jag_tensor *tensors, char *why, size_t why_size)
{
    if (why && why_size) why[0] = '\0';
    if (n < 0 || (n > 0 && (!names || !tensors))) return bfail(why, why_size, "cannot write '%s': bad arguments", path);
    /* check the tensors: names, dtypes, sizes */
    for (int32_t i = 0; i < n; i++) {
        const struct jag_tensor *t = &tensors[i];
        if (!names[i]) return bfail(why, why_size, "cannot write '%s': tensor %d has no name", path, (int)i);
        if (strcmp(names[i], "__metadata__") == 0)
            return bfail(why, why_size, "cannot write '%s': a tensor cannot be named '__metadata__'", path);
        if ((int)t->dtype < 0 || t->dtype >= JAG_DTYPE_COUNT)
            return bfail(why, why_size, "cannot write '%s': tensor '%s' has an invalid dtype", path, names[i]);
        if (t->ndim < 0 || t->ndim > JAG_MAX_DIMS)
            return bfail(why, why_size, "cannot write '%s': tensor '%s' has rank %d", path, names[i], (int)t->ndim);
        int64_t numel = 1, nbytes;
        for (int32_t d = 0; d < t->ndim; d++)
            if (!jag_mul_i64(numel, t->shape[d], &numel))
                return bfail(why, why_size, "cannot write '%s': tensor '%s' has a bad shape", path, names[i]);
        if (!jag_mul_i64(numel, JAG_DTYPE_DEFS[t->dtype].itemsize, &nbytes) || (uint64_t)nbytes != (uint64_t)t->nbytes ||
            (nbytes > 0 && !t->data))
            return bfail(why, why_size, "cannot write '%s': tensor '%s' holds %zu bytes; its shape needs %lld", path,
                         names[i], t->nbytes, (long long)nbytes);
    }
    if (n > 1) {
        const char **sorted = malloc((size_t)n * sizeof *sorted);
        if (!sorted) {
            jag_format(why, why_size, "cannot write '%s': out of memory", path);
            return JAG_STATUS_OUT_OF_MEMORY;
        }
        memcpy(sorted, names, (size_t)n * sizeof *sorted);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str_ptr);
        for (int32_t i = 1; i < n; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                enum jag_status st = bfail(why, why_size, "cannot write '%s': two tensors are named '%s'", path, sorted[i]);
                free(sorted);
                return st;
            }
        free(sorted);
    }
    /* header */
    struct sbuf h = {NULL, 0, 0, false};
    char num[32];
    uint64_t offset = 0;
    sb_str(&h, "{");
    for (int32_t i = 0; i < n; i++) {
        const struct jag_tensor *t = &tensors[i];
        if (i) sb_str(&h, ",");
        sb_json_string(&h, names[i]);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, JAG_DTYPE_DEFS[t->dtype].safetensors);
        sb_str(&h, "\",\"shape\":[");
        for (int32_t d = 0; d < t->ndim; d++) {
            jag_format(num, sizeof num, d ? ",%lld" : "%lld", (long long)t->shape[d]);
            sb_str(&h, num);
        }
        jag_format(num, sizeof num, "],\"data_offsets\":[%llu,", (unsigned long long)offset);
        sb_str(&h, num);
        offset += t->nbytes;
        jag_format(num, sizeof num, "%llu]}", (unsigned long long)offset);
        sb_str(&h, num);
    }
    sb_str(&h, "}");
    while (!h.oom && h.n % 8 != 0) sb_str(&h, " ");
    if (h.oom || offset > (uint64_t)SIZE_MAX - 8 - h.n) {
        free(h.p);
        jag_format(why, why_size, "cannot write '%s': out of memory", path);
        return JAG_STATUS_OUT_OF_MEMORY;
    }
    size_t total = 8 + h.n + (size_t)offset;
    uint8_t *file = malloc(total);
    if (!file) {
        free(h.p);
        jag_format(why, why_size, "cannot write '%s': out of memory (%zu bytes)", path, total);
        return JAG_STATUS_OUT_OF_MEMORY;
    }
    uint64_t hl = h.n;
    for (int i = 0; i < 8; i++) file[i] = (uint8_t)(hl >> (8 * i));
    memcpy(file + 8, h.p, h.n);
    size_t o = 8 + h.n;
    for (int32_t i = 0; i < n; i++) {
        if (tensors[i].nbytes) memcpy(file + o, tensors[i].data, tensors[i].nbytes);
        o += tensors[i].nbytes;
    }
    free(h.p);
    enum jag_status st = jag_write_file_atomic(path, file, total, why, why_size);
    free(file);
    return st;
}

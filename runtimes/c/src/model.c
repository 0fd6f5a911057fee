/* model.c — loading a JAG file and validating it (spec/README.md §2, §3, §6, §12, §14).
 *
 * Phases, as the spec's validator: read (E_FILE, E_JSON) → identify (E_SCHEMA, E_VERSION)
 * → structure (E_SCHEMA: the rules of spec/jag.schema.json, checked by hand so the
 * runtime needs no JSON Schema library) → data (E_SHAPE for dim expressions, E_PATH,
 * sidecars and tensor bytes: E_FILE, E_TENSOR_DATA) → semantics against the generated op
 * table (E_GRAPH, E_UNKNOWN_OP, E_VERSION, E_ARITY, E_ATTR, E_DTYPE, E_SHAPE). Concrete
 * shapes are checked in prepare (exec.c); when every input shape is static that happens
 * at load too, so a static graph with a shape error never loads. */
#include "jag_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small public helpers */

const char *jag_status_to_string(enum jag_status status)
{
    if ((int)status >= 0 && status < JAG_STATUS_OUT_OF_MEMORY) return JAG_ERROR_CODES[status];
    if (status == JAG_STATUS_OUT_OF_MEMORY) return "OUT_OF_MEMORY";
    return "UNKNOWN_STATUS";
}

const char *jag_dtype_name(enum jag_dtype dtype)
{
    return (int)dtype >= 0 && dtype < JAG_DTYPE_COUNT ? JAG_DTYPE_DEFS[dtype].name : NULL;
}

size_t jag_dtype_size(enum jag_dtype dtype)
{
    return (int)dtype >= 0 && dtype < JAG_DTYPE_COUNT ? (size_t)JAG_DTYPE_DEFS[dtype].itemsize : 0;
}

bool jag_dtype_from_name(const char *name, enum jag_dtype *dtype)
{
    for (int32_t d = 0; name && d < JAG_DTYPE_COUNT; d++)
        if (strcmp(JAG_DTYPE_DEFS[d].name, name) == 0) {
            *dtype = (enum jag_dtype)d;
            return true;
        }
    return false;
}

const char *jag_version(void)
{
    return "0.1.0 (format 1.0, opset 1)";
}

int32_t jag_op_find(const char *name)
{
    for (int32_t i = 0; i < JAG_OP_COUNT; i++)
        if (strcmp(JAG_OP_DEFS[i].name, name) == 0) return i;
    return -1;
}

struct jag_model_params jag_model_default_params(void)
{
    struct jag_model_params p;
    p.verify_sha256 = true;
    p.max_file_bytes = (int64_t)1 << 30;
    p.max_json_depth = 64;
    return p;
}

/* ---------------------------------------------------------------- errors */

enum jag_status jag_model_vfail(struct jag_model *m, enum jag_status status, int32_t node, const char *fmt, va_list ap)
{
    char detail[400];
    vsnprintf(detail, sizeof detail, fmt, ap);
    char ctx[300] = "";
    size_t used = 0;
    if (m->file) used += (size_t)snprintf(ctx, sizeof ctx, "%s: ", m->file);
    if (node >= 0 && m->nodes && node < m->n_nodes) {
        const struct jag_node *n = &m->nodes[node];
        const char *op = (int)n->op >= 0 && n->op < JAG_OP_COUNT ? JAG_OP_DEFS[n->op].name : "?";
        if (n->name)
            snprintf(ctx + used, used < sizeof ctx ? sizeof ctx - used : 0, "node %d '%s' (%s): ", (int)node, n->name, op);
        else
            snprintf(ctx + used, used < sizeof ctx ? sizeof ctx - used : 0, "node %d (%s): ", (int)node, op);
    } else if (node >= 0) {
        snprintf(ctx + used, used < sizeof ctx ? sizeof ctx - used : 0, "node %d: ", (int)node);
    }
    m->err.status = status;
    m->err.node = node;
    jag_format(m->err.message, sizeof m->err.message, "[%s] %s%s", jag_status_to_string(status), ctx, detail);
    return status;
}

enum jag_status jag_model_fail(struct jag_model *m, enum jag_status status, int32_t node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jag_model_vfail(m, status, node, fmt, ap);
    va_end(ap);
    return status;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---------------------------------------------------------------- attributes */

void jag_attr_clear(struct jag_attr *a)
{
    free(a->s);
    free(a->ints);
    if (a->exprs)
        for (int32_t k = 0; k < a->n; k++) free(a->exprs[k]);
    free(a->exprs);
    memset(a, 0, sizeof *a);
}

static bool json_int(const struct jag_json *v, int64_t *out)
{
    if (!v || v->type != JAG_JSON_NUMBER || !v->integral || !v->fits_int64) return false;
    *out = v->integer;
    return true;
}

/* A JSON value equal to one of the enum's values (strings and numbers). */
static bool in_enum(const char *enum_json, const struct jag_json *v)
{
    struct jag_json *e = NULL;
    char why[128];
    if (jag_json_parse(enum_json, strlen(enum_json), 4, &e, why, sizeof why) != JAG_STATUS_OK) return false;
    bool found = false;
    for (int32_t k = 0; k < e->n && !found; k++) {
        const struct jag_json *c = &e->items[k];
        if (c->type == JAG_JSON_STRING && v->type == JAG_JSON_STRING) found = strcmp(c->string, v->string) == 0;
        else if (c->type == JAG_JSON_NUMBER && v->type == JAG_JSON_NUMBER) found = c->number == v->number;
    }
    jag_json_free(e);
    return found;
}

enum jag_status jag_attr_parse(const struct jag_attr_def *def, const struct jag_json *v, struct jag_attr *out,
                               char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    if (v->type == JAG_JSON_NULL) {
        out->is_null = true;
        return JAG_STATUS_OK;
    }
    const struct jag_json *items = v;
    int32_t n = 1;
    switch (def->type) {
    case JAG_ATTR_TYPE_INT:
        if (v->type == JAG_JSON_NUMBER && v->integral && !v->fits_int64) {
            jag_format(why, why_size, "attr '%s': %s is outside the int64 range", def->name, "the value");
            return JAG_STATUS_E_ATTR;
        }
        if (!json_int(v, &out->i)) goto wrong_type;
        break;
    case JAG_ATTR_TYPE_FLOAT:
        if (v->type == JAG_JSON_NUMBER) out->f = v->number;
        else if (v->type == JAG_JSON_STRING && strcmp(v->string, "inf") == 0) out->f = HUGE_VAL;
        else if (v->type == JAG_JSON_STRING && strcmp(v->string, "-inf") == 0) out->f = -HUGE_VAL;
        else if (v->type == JAG_JSON_STRING && strcmp(v->string, "nan") == 0) out->f = NAN;
        else goto wrong_type;
        break;
    case JAG_ATTR_TYPE_BOOL:
        if (v->type != JAG_JSON_BOOL) goto wrong_type;
        out->i = v->boolean;
        break;
    case JAG_ATTR_TYPE_STRING:
        if (v->type != JAG_JSON_STRING) goto wrong_type;
        if (!(out->s = dupstr(v->string))) return JAG_STATUS_OUT_OF_MEMORY;
        break;
    case JAG_ATTR_TYPE_DTYPE: {
        enum jag_dtype dt;
        if (v->type != JAG_JSON_STRING || !jag_dtype_from_name(v->string, &dt)) {
            jag_format(why, why_size, "attr '%s': not a dtype (float32, float64, int32, int64, uint8, bool)", def->name);
            return JAG_STATUS_E_ATTR;
        }
        out->i = dt;
        break;
    }
    case JAG_ATTR_TYPE_AXES:
    case JAG_ATTR_TYPE_INTS:
    case JAG_ATTR_TYPE_DIMS:
        if (v->type == JAG_JSON_ARRAY) {
            items = v->items;
            n = v->n;
        } else if (def->type != JAG_ATTR_TYPE_AXES) {
            goto wrong_type;
        }
        out->n = n;
        out->ints = calloc((size_t)(n ? n : 1), sizeof *out->ints);
        if (!out->ints) return JAG_STATUS_OUT_OF_MEMORY;
        if (def->type == JAG_ATTR_TYPE_DIMS) {
            out->exprs = calloc((size_t)(n ? n : 1), sizeof *out->exprs);
            if (!out->exprs) return JAG_STATUS_OUT_OF_MEMORY;
        }
        for (int32_t k = 0; k < n; k++) {
            const struct jag_json *it = &items[k];
            if (def->type == JAG_ATTR_TYPE_DIMS && it->type == JAG_JSON_STRING) {
                char w[200];
                if (!jag_dim_check(it->string, w, sizeof w)) {
                    jag_format(why, why_size, "attr '%s': %s", def->name, w);
                    return JAG_STATUS_E_ATTR;
                }
                if (!(out->exprs[k] = dupstr(it->string))) return JAG_STATUS_OUT_OF_MEMORY;
            } else if (!json_int(it, &out->ints[k])) {
                jag_format(why, why_size, "attr '%s': item %d: expected an integer%s", def->name, (int)k,
                           def->type == JAG_ATTR_TYPE_DIMS ? " or a dim expression" : "");
                return JAG_STATUS_E_ATTR;
            }
        }
        break;
    }
    if (def->enum_json && !in_enum(def->enum_json, v)) {
        jag_format(why, why_size, "attr '%s': the value is not one of %s", def->name, def->enum_json);
        return JAG_STATUS_E_ATTR;
    }
    if (def->length >= 0 && out->n != def->length) {
        jag_format(why, why_size, "attr '%s': expected %d values, got %d", def->name, (int)def->length, (int)out->n);
        return JAG_STATUS_E_ATTR;
    }
    if (def->has_min) {
        if (def->type == JAG_ATTR_TYPE_FLOAT ? !(out->f >= def->min) : def->type == JAG_ATTR_TYPE_INT && (double)out->i < def->min) {
            jag_format(why, why_size, "attr '%s': the value is below the minimum %g", def->name, def->min);
            return JAG_STATUS_E_ATTR;
        }
        for (int32_t k = 0; out->ints && k < out->n; k++)
            if ((double)out->ints[k] < def->min) {
                jag_format(why, why_size, "attr '%s': %lld is below the minimum %g", def->name, (long long)out->ints[k], def->min);
                return JAG_STATUS_E_ATTR;
            }
    }
    if (def->has_max_exclusive) {
        double val = def->type == JAG_ATTR_TYPE_FLOAT ? out->f : (double)out->i;
        if (!(val < def->max_exclusive)) {
            jag_format(why, why_size, "attr '%s': %g must be below %g", def->name, val, def->max_exclusive);
            return JAG_STATUS_E_ATTR;
        }
    }
    return JAG_STATUS_OK;
wrong_type: {
        static const char *const want[] = {"an integer", "a number", "true or false", "a string",
                                           "a list of integers", "an integer or a list of integers",
                                           "a list of dims", "a dtype name"};
        jag_format(why, why_size, "attr '%s': expected %s", def->name, want[def->type]);
        return JAG_STATUS_E_ATTR;
    }
}

/* ---------------------------------------------------------------- names */

static bool valid_value_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256) return false;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '/' || c == '-'))
            return false;
    }
    return true;
}

static bool valid_ident(const char *s, bool lower)
{
    if (!s[0]) return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9') ||
                  (!lower && c >= 'A' && c <= 'Z');
        if (lower && i == 0 && c == '_') ok = false;
        if (!ok) return false;
    }
    return true;
}

/* Open-addressing hash table of value names -> value index. */
struct name_table {
    uint32_t cap;
    int32_t *slots;             /* -1 empty */
};

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int32_t table_find(const struct name_table *t, const struct jag_value *values, const char *name)
{
    for (uint32_t i = hash_str(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i] < 0) return -1;
        if (strcmp(values[t->slots[i]].name, name) == 0) return t->slots[i];
    }
}

static void table_add(struct name_table *t, const struct jag_value *values, int32_t index)
{
    uint32_t i = hash_str(values[index].name) & (t->cap - 1);
    while (t->slots[i] >= 0) i = (i + 1) & (t->cap - 1);
    t->slots[i] = index;
}

/* ---------------------------------------------------------------- the loader */

struct loader {
    struct jag_model       *m;
    const struct jag_json  *doc;
    struct name_table       names;
};

#define SCHEMA_FAIL(L, ...) jag_model_fail((L)->m, JAG_STATUS_E_SCHEMA, -1, __VA_ARGS__)

static const char *type_name(const struct jag_json *v)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    return v ? names[v->type] : "missing";
}

/* Exactly the keys in allowed (NULL-terminated) and all of required. */
static enum jag_status check_keys(struct loader *L, const struct jag_json *obj, const char *where,
                                  const char *const *allowed, const char *const *required)
{
    if (!obj || obj->type != JAG_JSON_OBJECT) return SCHEMA_FAIL(L, "at %s: expected an object, got %s", where, type_name(obj));
    for (int32_t k = 0; k < obj->n; k++) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, obj->keys[k]) == 0;
        if (!ok) return SCHEMA_FAIL(L, "at %s: unknown field '%s'", where, obj->keys[k]);
    }
    for (const char *const *r = required; *r; r++)
        if (!jag_json_get(obj, *r)) return SCHEMA_FAIL(L, "at %s: missing required field '%s'", where, *r);
    return JAG_STATUS_OK;
}

static enum jag_status want_type(struct loader *L, const struct jag_json *v, enum jag_json_type t, const char *where)
{
    static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    if (!v || v->type != t) return SCHEMA_FAIL(L, "at %s: expected %s, got %s", where, names[t], type_name(v));
    return JAG_STATUS_OK;
}

/* A non-negative integer (JSON integer, or for big counts a decimal string of <= 19 digits). */
static enum jag_status count_field(struct loader *L, const struct jag_json *v, const char *where, bool allow_string,
                                   int64_t max, int64_t *out)
{
    if (v && v->type == JAG_JSON_NUMBER && v->integral) {
        if (!v->fits_int64 || v->integer < 0 || v->integer > max)
            return SCHEMA_FAIL(L, "at %s: %s is out of range", where, "the count");
        *out = v->integer;
        return JAG_STATUS_OK;
    }
    if (allow_string && v && v->type == JAG_JSON_STRING && v->string_len >= 1 && v->string_len <= 19) {
        int64_t x = 0;
        for (size_t i = 0; i < v->string_len; i++) {
            char c = v->string[i];
            if (c < '0' || c > '9') return SCHEMA_FAIL(L, "at %s: '%s' is not a decimal count", where, v->string);
            if (x > (INT64_MAX - (c - '0')) / 10) return SCHEMA_FAIL(L, "at %s: %s does not fit int64", where, v->string);
            x = x * 10 + (c - '0');
        }
        *out = x;
        return JAG_STATUS_OK;
    }
    return SCHEMA_FAIL(L, "at %s: expected a non-negative integer, got %s", where, type_name(v));
}

static enum jag_status parse_dtype(struct loader *L, const struct jag_json *v, const char *where, enum jag_dtype *dt)
{
    if (!v || v->type != JAG_JSON_STRING || !jag_dtype_from_name(v->string, dt))
        return SCHEMA_FAIL(L, "at %s: not a dtype (float32, float64, int32, int64, uint8, bool)", where);
    return JAG_STATUS_OK;
}

/* A value info of "inputs"/"outputs": name, dtype, shape (ints or dim expressions). */
static enum jag_status parse_io(struct loader *L, const struct jag_json *v, const char *where, struct jag_io *io,
                                const char **name)
{
    static const char *const allowed[] = {"name", "dtype", "shape", "doc", NULL};
    static const char *const required[] = {"name", "dtype", "shape", NULL};
    enum jag_status s = check_keys(L, v, where, allowed, required);
    if (s != JAG_STATUS_OK) return s;
    const struct jag_json *nm = jag_json_get(v, "name"), *shape = jag_json_get(v, "shape"), *doc = jag_json_get(v, "doc");
    if (nm->type != JAG_JSON_STRING || !valid_value_name(nm->string))
        return SCHEMA_FAIL(L, "at %s/name: not a valid value name", where);
    if (doc && doc->type != JAG_JSON_STRING) return SCHEMA_FAIL(L, "at %s/doc: expected a string", where);
    *name = nm->string;
    if ((s = parse_dtype(L, jag_json_get(v, "dtype"), where, &io->dtype)) != JAG_STATUS_OK) return s;
    if (shape->type != JAG_JSON_ARRAY) return SCHEMA_FAIL(L, "at %s/shape: expected an array", where);
    if (shape->n > JAG_MAX_DIMS)
        return jag_model_fail(L->m, JAG_STATUS_E_SHAPE, -1, "%s: rank %d is above the C runtime's limit of %d", where,
                              (int)shape->n, JAG_MAX_DIMS);
    io->ndim = shape->n;
    for (int32_t k = 0; k < shape->n; k++) {
        const struct jag_json *d = &shape->items[k];
        int64_t val;
        if (json_int(d, &val) && val >= 0) {
            io->shape[k] = val;
        } else if (d->type == JAG_JSON_NUMBER && d->integral && d->number > 0) {
            return jag_model_fail(L->m, JAG_STATUS_E_SHAPE, -1, "%s/shape/%d: dim does not fit int64", where, (int)k);
        } else if (d->type == JAG_JSON_STRING && d->string_len >= 1 && d->string_len <= 256) {
            for (size_t c = 0; c < d->string_len; c++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-*/() ", d->string[c]))
                    return SCHEMA_FAIL(L, "at %s/shape/%d: '%s' is not a dim expression", where, (int)k, d->string);
            io->shape[k] = -1;
            if (!(io->exprs[k] = dupstr(d->string))) return JAG_STATUS_OUT_OF_MEMORY;
        } else {
            return SCHEMA_FAIL(L, "at %s/shape/%d: expected a non-negative integer or a dim expression", where, (int)k);
        }
    }
    return JAG_STATUS_OK;
}

static void free_io(struct jag_io *io)
{
    for (int32_t k = 0; k < JAG_MAX_DIMS; k++) free(io->exprs[k]);
    if (io->owned) free(io->bound_data);
}

/* E_PATH rules of spec/README.md §6 "Paths", then symlinks must stay inside the folder. */
static enum jag_status check_sidecar_path(struct loader *L, const char *p, char *full, size_t full_size)
{
    size_t n = strlen(p);
    const char *why = NULL;
    if (n == 0 || n > 255) why = "must have 1 to 255 characters";
    else if (p[0] == '/' || p[0] == '\\') why = "is absolute";
    else if (strcmp(p, "..") == 0 || strcmp(p, ".") == 0) why = "is not a file name";
    else if (strchr(p, '/') || strchr(p, '\\')) why = "contains a path separator";
    else if (p[0] == '.') why = "is hidden (starts with '.')";
    else if (strchr(p, ':')) why = "contains ':'";
    if (why) return jag_model_fail(L->m, JAG_STATUS_E_PATH, -1, "sidecar path '%s' %s: it must be a plain file name beside the model", p, why);
    const char *folder = L->m->folder ? L->m->folder : ".";
    jag_format(full, full_size, "%s/%s", folder, p);
    char *real_file = realpath(full, NULL);
    if (real_file) {
        char *real_dir = realpath(folder, NULL);
        size_t k = real_dir ? strlen(real_dir) : 0;
        bool inside = real_dir && strncmp(real_file, real_dir, k) == 0 && real_file[k] == '/' && !strchr(real_file + k + 1, '/');
        free(real_dir);
        free(real_file);
        if (!inside) return jag_model_fail(L->m, JAG_STATUS_E_PATH, -1, "sidecar path '%s' is a link that resolves outside the model's folder", p);
    }
    return JAG_STATUS_OK;
}

struct sidecar {
    const char *path;
    int64_t     nbytes;
    const char *sha256;
    uint8_t    *data;           /* read on first use */
    bool        read;
};

static enum jag_status load_sidecar(struct loader *L, struct sidecar *sc)
{
    if (sc->read) return JAG_STATUS_OK;
    if (!L->m->folder)
        return jag_model_fail(L->m, JAG_STATUS_E_FILE, -1, "cannot read sidecar '%s': the model was loaded from memory without a folder", sc->path);
    char full[4200], why[600];
    enum jag_status s = check_sidecar_path(L, sc->path, full, sizeof full);
    if (s != JAG_STATUS_OK) return s;
    size_t len = 0;
    s = jag_read_file(full, (int64_t)1 << 31, &sc->data, &len, why, sizeof why);
    if (s != JAG_STATUS_OK) return jag_model_fail(L->m, s, -1, "%s", why);
    sc->read = true;
    uint8_t **grown = realloc(L->m->sidecars, (size_t)(L->m->n_sidecars + 1) * sizeof *grown);
    if (!grown) {
        free(sc->data);
        return jag_model_fail(L->m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory");
    }
    L->m->sidecars = grown;
    L->m->sidecars[L->m->n_sidecars++] = sc->data;
    if ((int64_t)len != sc->nbytes)
        return jag_model_fail(L->m, JAG_STATUS_E_TENSOR_DATA, -1, "sidecar '%s' has %lld bytes; files[] declares %lld (truncated or replaced?)",
                              sc->path, (long long)len, (long long)sc->nbytes);
    if (L->m->params.verify_sha256) {
        char hex[65];
        jag_sha256_hex(sc->data, len, hex);
        if (strcmp(hex, sc->sha256) != 0)
            return jag_model_fail(L->m, JAG_STATUS_E_TENSOR_DATA, -1, "sidecar '%s' has SHA-256 %s; files[] declares %s (tampered or replaced)",
                                  sc->path, hex, sc->sha256);
    }
    return JAG_STATUS_OK;
}

static enum jag_status check_bools(struct jag_model *m, const char *name, const uint8_t *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (b[i] > 1)
            return jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': bool element %lld holds byte %d (not 0 or 1)",
                                  name, (long long)i, (int)b[i]);
    return JAG_STATUS_OK;
}

/* numel and nbytes of a static shape (E_SHAPE on overflow). */
static enum jag_status static_size(struct jag_model *m, const char *name, enum jag_dtype dt, int32_t ndim,
                                   const int64_t *shape, int64_t *numel, int64_t *nbytes)
{
    int64_t n = 1;
    bool empty = false;
    for (int32_t k = 0; k < ndim; k++) {
        if (shape[k] == 0) { empty = true; continue; }   /* zero dims aside, the count must fit (spec §5) */
        if (!jag_mul_i64(n, shape[k], &n))
            return jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "tensor '%s': element count overflows int64", name);
    }
    if (empty) n = 0;
    if (!jag_mul_i64(n, (int64_t)jag_dtype_size(dt), nbytes) || (uint64_t)*nbytes > (uint64_t)SIZE_MAX)
        return jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "tensor '%s': byte count overflows", name);
    *numel = n;
    return JAG_STATUS_OK;
}

enum jag_status jag_tensor_from_json(struct jag_model *m, const struct jag_json *t, const char *where,
                                     struct jag_tensor *out, const char **name)
{
    memset(out, 0, sizeof *out);
    const struct jag_json *nm = jag_json_get(t, "name"), *dt = jag_json_get(t, "dtype"), *shape = jag_json_get(t, "shape"),
                          *b64 = jag_json_get(t, "base64");
    if (!nm || nm->type != JAG_JSON_STRING || !dt || dt->type != JAG_JSON_STRING || !jag_dtype_from_name(dt->string, &out->dtype) ||
        !shape || shape->type != JAG_JSON_ARRAY || shape->n > JAG_MAX_DIMS || !b64 || b64->type != JAG_JSON_STRING)
        return jag_model_fail(m, JAG_STATUS_E_SCHEMA, -1, "at %s: expected {name, dtype, shape, base64}", where);
    *name = nm->string;
    out->ndim = shape->n;
    for (int32_t k = 0; k < shape->n; k++)
        if (!json_int(&shape->items[k], &out->shape[k]) || out->shape[k] < 0)
            return jag_model_fail(m, JAG_STATUS_E_SCHEMA, -1, "at %s/shape/%d: expected a non-negative integer", where, (int)k);
    int64_t numel, nbytes;
    enum jag_status s = static_size(m, nm->string, out->dtype, out->ndim, out->shape, &numel, &nbytes);
    if (s != JAG_STATUS_OK) return s;
    int64_t dec = jag_base64_decoded_size(b64->string, b64->string_len);
    if (dec < 0) return jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': invalid base64", nm->string);
    if (dec != nbytes)
        return jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': %lld bytes of data; dtype and shape need %lld",
                              nm->string, (long long)dec, (long long)nbytes);
    out->data = malloc(nbytes ? (size_t)nbytes : 1);
    if (!out->data) return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory");
    size_t got;
    if (!jag_base64_decode(b64->string, b64->string_len, out->data, (size_t)nbytes, &got)) {
        free(out->data);
        out->data = NULL;
        return jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': invalid base64", nm->string);
    }
    out->nbytes = (size_t)nbytes;
    if (out->dtype == JAG_DTYPE_BOOL && (s = check_bools(m, nm->string, out->data, numel)) != JAG_STATUS_OK) {
        free(out->data);
        out->data = NULL;
        return s;
    }
    return JAG_STATUS_OK;
}

/* Structure and data of "tensors" (constants) with their sidecars. */
static enum jag_status load_tensors(struct loader *L, const struct jag_json *tensors, const struct jag_json *files, int32_t first)
{
    struct jag_model *m = L->m;
    int32_t n_files = files ? files->n : 0;
    struct sidecar *sc = calloc((size_t)(n_files ? n_files : 1), sizeof *sc);
    if (!sc) return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory");
    enum jag_status s = JAG_STATUS_OK;
    char where[64];
    static const char *const fallowed[] = {"path", "nbytes", "sha256", NULL};
    for (int32_t f = 0; s == JAG_STATUS_OK && f < n_files; f++) {
        const struct jag_json *fe = &files->items[f];
        jag_format(where, sizeof where, "/files/%d", (int)f);
        if ((s = check_keys(L, fe, where, fallowed, fallowed)) != JAG_STATUS_OK) break;
        const struct jag_json *p = jag_json_get(fe, "path"), *h = jag_json_get(fe, "sha256");
        if ((s = want_type(L, p, JAG_JSON_STRING, where)) != JAG_STATUS_OK) break;
        if ((s = count_field(L, jag_json_get(fe, "nbytes"), where, true, (int64_t)1 << 31, &sc[f].nbytes)) != JAG_STATUS_OK) break;
        bool hex_ok = h && h->type == JAG_JSON_STRING && h->string_len == 64;
        for (size_t c = 0; hex_ok && c < 64; c++) hex_ok = (h->string[c] >= '0' && h->string[c] <= '9') || (h->string[c] >= 'a' && h->string[c] <= 'f');
        if (!hex_ok) { s = SCHEMA_FAIL(L, "at %s/sha256: expected 64 lowercase hex digits", where); break; }
        sc[f].path = p->string;
        sc[f].sha256 = h->string;
    }
    /* paths first: E_PATH before any sidecar is opened */
    for (int32_t f = 0; s == JAG_STATUS_OK && f < n_files; f++) {
        char full[4200];
        s = check_sidecar_path(L, sc[f].path, full, sizeof full);
    }
    static const char *const tallowed[] = {"name", "dtype", "shape", "doc", "base64", "file", "offset", "nbytes", NULL};
    static const char *const trequired[] = {"name", "dtype", "shape", NULL};
    for (int32_t t = 0; s == JAG_STATUS_OK && tensors && t < tensors->n; t++) {
        const struct jag_json *te = &tensors->items[t];
        struct jag_value *v = &m->values[first + t];
        jag_format(where, sizeof where, "/tensors/%d", (int)t);
        if ((s = check_keys(L, te, where, tallowed, trequired)) != JAG_STATUS_OK) break;
        const struct jag_json *nm = jag_json_get(te, "name"), *shape = jag_json_get(te, "shape"), *b64 = jag_json_get(te, "base64"),
                              *file = jag_json_get(te, "file"), *doc = jag_json_get(te, "doc");
        if (nm->type != JAG_JSON_STRING || !valid_value_name(nm->string)) { s = SCHEMA_FAIL(L, "at %s/name: not a valid value name", where); break; }
        if (doc && doc->type != JAG_JSON_STRING) { s = SCHEMA_FAIL(L, "at %s/doc: expected a string", where); break; }
        if ((s = parse_dtype(L, jag_json_get(te, "dtype"), where, &v->dtype)) != JAG_STATUS_OK) break;
        if (shape->type != JAG_JSON_ARRAY) { s = SCHEMA_FAIL(L, "at %s/shape: expected an array", where); break; }
        if (shape->n > JAG_MAX_DIMS) { s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "tensor '%s': rank %d is above the C runtime's limit of %d", nm->string, (int)shape->n, JAG_MAX_DIMS); break; }
        v->ndim = shape->n;
        for (int32_t k = 0; s == JAG_STATUS_OK && k < shape->n; k++) {
            const struct jag_json *d = &shape->items[k];
            if (d->type == JAG_JSON_NUMBER && d->integral && !d->fits_int64 && d->number > 0)
                s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "tensor '%s': dim %d does not fit int64", nm->string, (int)k);
            else if (!json_int(d, &v->shape[k]) || v->shape[k] < 0)
                s = SCHEMA_FAIL(L, "at %s/shape/%d: expected a non-negative integer", where, (int)k);
        }
        if (s != JAG_STATUS_OK) break;
        bool has_side = file || jag_json_get(te, "offset") || jag_json_get(te, "nbytes");
        if ((b64 != NULL) == has_side) { s = SCHEMA_FAIL(L, "at %s: a tensor has either \"base64\" or \"file\", \"offset\" and \"nbytes\"", where); break; }
        if (!(v->name = dupstr(nm->string))) { s = JAG_STATUS_OUT_OF_MEMORY; break; }
        v->kind = JAG_VALUE_CONSTANT;
        v->producer = -1;
        int64_t numel, nbytes;
        if ((s = static_size(m, v->name, v->dtype, v->ndim, v->shape, &numel, &nbytes)) != JAG_STATUS_OK) break;
        v->numel = numel;
        v->nbytes = (size_t)nbytes;
        if (b64) {
            if (b64->type != JAG_JSON_STRING) { s = SCHEMA_FAIL(L, "at %s/base64: expected a string", where); break; }
            struct jag_tensor tmp;
            const char *unused;
            if ((s = jag_tensor_from_json(m, te, where, &tmp, &unused)) != JAG_STATUS_OK) break;
            v->data = tmp.data;
            v->kind = JAG_VALUE_CONSTANT;
        } else {
            int64_t off, nb;
            if (!file || file->type != JAG_JSON_STRING || !jag_json_get(te, "offset") || !jag_json_get(te, "nbytes")) {
                s = SCHEMA_FAIL(L, "at %s: a sidecar tensor needs \"file\", \"offset\" and \"nbytes\"", where);
                break;
            }
            if ((s = count_field(L, jag_json_get(te, "offset"), where, true, INT64_MAX, &off)) != JAG_STATUS_OK) break;
            if ((s = count_field(L, jag_json_get(te, "nbytes"), where, true, INT64_MAX, &nb)) != JAG_STATUS_OK) break;
            int32_t f = 0;
            while (f < n_files && strcmp(sc[f].path, file->string) != 0) f++;
            if (f == n_files) {
                char full[4200];
                if ((s = check_sidecar_path(L, file->string, full, sizeof full)) != JAG_STATUS_OK) break;
                s = jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': sidecar '%s' is not listed in files[]", v->name, file->string);
                break;
            }
            if (nb != nbytes) { s = jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': nbytes is %lld; dtype and shape need %lld", v->name, (long long)nb, (long long)nbytes); break; }
            if (off % 64) { s = jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': offset %lld is not a multiple of 64", v->name, (long long)off); break; }
            if ((s = load_sidecar(L, &sc[f])) != JAG_STATUS_OK) break;
            if (off > sc[f].nbytes || nb > sc[f].nbytes - off) {
                s = jag_model_fail(m, JAG_STATUS_E_TENSOR_DATA, -1, "tensor '%s': bytes %lld..%lld lie outside sidecar '%s' of %lld bytes",
                                   v->name, (long long)off, (long long)(off + nb), sc[f].path, (long long)sc[f].nbytes);
                break;
            }
            v->data = sc[f].data + off;
            v->arena_offset = -2;      /* points into a sidecar buffer: not freed on its own */
            if (v->dtype == JAG_DTYPE_BOOL && (s = check_bools(m, v->name, v->data, numel)) != JAG_STATUS_OK) break;
        }
    }
    free(sc);
    return s;
}

/* Register a value name (E_GRAPH when defined twice). */
static enum jag_status define(struct loader *L, int32_t index, int32_t node)
{
    struct jag_model *m = L->m;
    int32_t prev = table_find(&L->names, m->values, m->values[index].name);
    if (prev >= 0) {
        static const char *const kinds[] = {"a graph input", "a tensor", "a node output"};
        return jag_model_fail(m, JAG_STATUS_E_GRAPH, node, "value '%s' is defined twice (already %s)", m->values[index].name,
                              kinds[m->values[prev].kind]);
    }
    table_add(&L->names, m->values, index);
    return JAG_STATUS_OK;
}

struct dim_use {
    struct jag_model *m;
    bool              bad;
    char              name[257];
};

static void check_bound_name(const char *name, size_t len, void *ctx)
{
    struct dim_use *u = ctx;
    if (u->bad) return;
    /* every registered dim is a bare dim of some input shape */
    for (int32_t d = 0; d < u->m->n_dims; d++)
        if (strlen(u->m->dim_names[d]) == len && strncmp(u->m->dim_names[d], name, len) == 0) return;
    u->bad = true;
    jag_format(u->name, sizeof u->name, "%.*s", (int)len, name);
}

static enum jag_status add_dim(struct jag_model *m, const char *name, int64_t max)
{
    for (int32_t d = 0; d < m->n_dims; d++)
        if (strcmp(m->dim_names[d], name) == 0) return JAG_STATUS_OK;
    char **names = realloc(m->dim_names, (size_t)(m->n_dims + 1) * sizeof *names);
    if (names) m->dim_names = names;
    int64_t *mx = realloc(m->dim_max, (size_t)(m->n_dims + 1) * sizeof *mx);
    if (mx) m->dim_max = mx;
    int64_t *vals = realloc(m->dim_values, (size_t)(m->n_dims + 1) * sizeof *vals);
    if (vals) m->dim_values = vals;
    if (!names || !mx || !vals) return JAG_STATUS_OUT_OF_MEMORY;
    if (!(m->dim_names[m->n_dims] = dupstr(name))) return JAG_STATUS_OUT_OF_MEMORY;
    m->dim_max[m->n_dims] = max;
    m->dim_values[m->n_dims] = 0;
    m->n_dims++;
    return JAG_STATUS_OK;
}

static enum jag_status check_version(struct loader *L)
{
    struct jag_model *m = L->m;
    const struct jag_json *doc = L->doc;
    if (doc->type != JAG_JSON_OBJECT) return SCHEMA_FAIL(L, "at /: this is not a JAG model (expected a JSON object)");
    const struct jag_json *fmt = jag_json_get(doc, "format"), *ver = jag_json_get(doc, "version"), *opset = jag_json_get(doc, "opset");
    if (!fmt || fmt->type != JAG_JSON_STRING || strcmp(fmt->string, "jag") != 0)
        return SCHEMA_FAIL(L, "at /format: this is not a JAG model (\"format\" must be \"jag\")");
    if (!ver || ver->type != JAG_JSON_STRING) return SCHEMA_FAIL(L, "at /version: expected a \"MAJOR.MINOR\" string");
    long long major = 0, minor = 0;
    const char *p = ver->string;
    int nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 9) major = major * 10 + (*p++ - '0'), nd++;
    bool ok = nd > 0 && *p == '.';
    if (ok) {
        p++;
        nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 9) minor = minor * 10 + (*p++ - '0'), nd++;
        ok = nd > 0 && *p == '\0';
    }
    if (!ok) return SCHEMA_FAIL(L, "at /version: '%s' is not a \"MAJOR.MINOR\" version", ver->string);
    if (major != JAG_FORMAT_VERSION_MAJOR || minor > JAG_FORMAT_VERSION_MINOR)
        return jag_model_fail(m, JAG_STATUS_E_VERSION, -1, "file has format version %s; this reader supports %d.0 to %d.%d: %s",
                              ver->string, JAG_FORMAT_VERSION_MAJOR, JAG_FORMAT_VERSION_MAJOR, JAG_FORMAT_VERSION_MINOR,
                              major > JAG_FORMAT_VERSION_MAJOR || (major == JAG_FORMAT_VERSION_MAJOR)
                                  ? "upgrade jag to a release that reads it"
                                  : "convert it with the jag release that wrote it");
    int64_t os;
    if (opset && opset->type == JAG_JSON_NUMBER && opset->integral && !opset->fits_int64 && opset->number > 0)
        os = INT64_MAX; /* a huge opset is a newer opset, as for Python's integers */
    else if (!json_int(opset, &os) || os < 1)
        return SCHEMA_FAIL(L, "at /opset: expected an integer >= 1");
    if (os > JAG_OPSET)
        return jag_model_fail(m, JAG_STATUS_E_VERSION, -1, "file has opset %s; this reader supports opsets 1 to %d: upgrade jag to a release that reads it",
                              os == INT64_MAX ? "beyond int64" : "newer", JAG_OPSET);
    m->opset = (int32_t)os;
    return JAG_STATUS_OK;
}

static enum jag_status check_top_level(struct loader *L)
{
    static const char *const allowed[] = {"format", "version", "opset", "name", "doc", "producer", "dims", "inputs",
                                          "outputs", "tensors", "files", "nodes", "metadata", NULL};
    static const char *const required[] = {"format", "version", "opset", "inputs", "outputs", "nodes", NULL};
    enum jag_status s = check_keys(L, L->doc, "/", allowed, required);
    if (s != JAG_STATUS_OK) return s;
    const struct jag_json *v;
    if ((v = jag_json_get(L->doc, "name")) && (s = want_type(L, v, JAG_JSON_STRING, "/name"))) return s;
    if ((v = jag_json_get(L->doc, "doc")) && (s = want_type(L, v, JAG_JSON_STRING, "/doc"))) return s;
    if ((v = jag_json_get(L->doc, "metadata")) && (s = want_type(L, v, JAG_JSON_OBJECT, "/metadata"))) return s;
    if ((v = jag_json_get(L->doc, "producer"))) {
        static const char *const pa[] = {"name", "version", NULL}, *const pr[] = {"name", NULL};
        if ((s = check_keys(L, v, "/producer", pa, pr))) return s;
        if ((s = want_type(L, jag_json_get(v, "name"), JAG_JSON_STRING, "/producer/name"))) return s;
        const struct jag_json *pv = jag_json_get(v, "version");
        if (pv && (s = want_type(L, pv, JAG_JSON_STRING, "/producer/version"))) return s;
    }
    if ((s = want_type(L, jag_json_get(L->doc, "inputs"), JAG_JSON_ARRAY, "/inputs"))) return s;
    if ((s = want_type(L, jag_json_get(L->doc, "outputs"), JAG_JSON_ARRAY, "/outputs"))) return s;
    if (jag_json_get(L->doc, "outputs")->n < 1) return SCHEMA_FAIL(L, "at /outputs: a graph needs at least one output");
    if ((s = want_type(L, jag_json_get(L->doc, "nodes"), JAG_JSON_ARRAY, "/nodes"))) return s;
    if ((v = jag_json_get(L->doc, "tensors")) && (s = want_type(L, v, JAG_JSON_ARRAY, "/tensors"))) return s;
    if ((v = jag_json_get(L->doc, "files")) && (s = want_type(L, v, JAG_JSON_ARRAY, "/files"))) return s;
    if ((v = jag_json_get(L->doc, "dims"))) {
        if ((s = want_type(L, v, JAG_JSON_OBJECT, "/dims"))) return s;
        static const char *const da[] = {"max", "doc", NULL}, *const dr[] = {NULL};
        for (int32_t k = 0; k < v->n; k++) {
            char where[300];
            jag_format(where, sizeof where, "/dims/%s", v->keys[k]);
            if (!valid_ident(v->keys[k], false)) return SCHEMA_FAIL(L, "at /dims: '%s' is not a dim name", v->keys[k]);
            if ((s = check_keys(L, &v->items[k], where, da, dr))) return s;
            const struct jag_json *mx = jag_json_get(&v->items[k], "max"), *dd = jag_json_get(&v->items[k], "doc");
            int64_t tmp;
            if (mx && (s = count_field(L, mx, where, false, ((int64_t)1 << 53) - 1, &tmp))) return s;
            if (dd && (s = want_type(L, dd, JAG_JSON_STRING, where))) return s;
        }
    }
    /* nodes: structure only */
    const struct jag_json *nodes = jag_json_get(L->doc, "nodes");
    static const char *const na[] = {"op", "inputs", "outputs", "attrs", "name", "doc", NULL};
    static const char *const nr[] = {"op", "inputs", "outputs", NULL};
    for (int32_t i = 0; i < nodes->n; i++) {
        const struct jag_json *nd = &nodes->items[i];
        char where[64];
        jag_format(where, sizeof where, "/nodes/%d", (int)i);
        if ((s = check_keys(L, nd, where, na, nr))) return s;
        const struct jag_json *op = jag_json_get(nd, "op"), *ins = jag_json_get(nd, "inputs"), *outs = jag_json_get(nd, "outputs"),
                              *attrs = jag_json_get(nd, "attrs");
        if (op->type != JAG_JSON_STRING || !valid_ident(op->string, true)) return SCHEMA_FAIL(L, "at %s/op: expected an op name ([a-z][a-z0-9_]*)", where);
        if ((v = jag_json_get(nd, "name")) && (s = want_type(L, v, JAG_JSON_STRING, where))) return s;
        if ((v = jag_json_get(nd, "doc")) && (s = want_type(L, v, JAG_JSON_STRING, where))) return s;
        if (ins->type != JAG_JSON_ARRAY) return SCHEMA_FAIL(L, "at %s/inputs: expected an array", where);
        if (outs->type != JAG_JSON_ARRAY || outs->n < 1) return SCHEMA_FAIL(L, "at %s/outputs: expected a non-empty array", where);
        for (int32_t k = 0; k < ins->n; k++)
            if (ins->items[k].type != JAG_JSON_STRING || !valid_value_name(ins->items[k].string))
                return SCHEMA_FAIL(L, "at %s/inputs/%d: not a valid value name", where, (int)k);
        for (int32_t k = 0; k < outs->n; k++)
            if (outs->items[k].type != JAG_JSON_STRING || !valid_value_name(outs->items[k].string))
                return SCHEMA_FAIL(L, "at %s/outputs/%d: not a valid value name", where, (int)k);
        if (attrs) {
            if (attrs->type != JAG_JSON_OBJECT) return SCHEMA_FAIL(L, "at %s/attrs: expected an object", where);
            for (int32_t k = 0; k < attrs->n; k++) {
                const struct jag_json *a = &attrs->items[k];
                if (!valid_ident(attrs->keys[k], true)) return SCHEMA_FAIL(L, "at %s/attrs: '%s' is not an attribute name", where, attrs->keys[k]);
                if (a->type == JAG_JSON_OBJECT) return SCHEMA_FAIL(L, "at %s/attrs/%s: an attribute cannot be an object", where, attrs->keys[k]);
                for (int32_t q = 0; a->type == JAG_JSON_ARRAY && q < a->n; q++)
                    if (a->items[q].type != JAG_JSON_NUMBER && a->items[q].type != JAG_JSON_STRING)
                        return SCHEMA_FAIL(L, "at %s/attrs/%s/%d: list items are numbers or strings", where, attrs->keys[k], (int)q);
            }
        }
    }
    return JAG_STATUS_OK;
}

/* Nodes against the op table: op, opset, arity, attrs, definitions, dtypes. */
static enum jag_status load_nodes(struct loader *L, const struct jag_json *nodes, int32_t first_out)
{
    struct jag_model *m = L->m;
    int32_t next = first_out;
    int32_t max_inputs = 0;
    for (int32_t i = 0; i < nodes->n; i++) {
        const struct jag_json *nj = &nodes->items[i];
        struct jag_node *nd = &m->nodes[i];
        const struct jag_json *op = jag_json_get(nj, "op"), *ins = jag_json_get(nj, "inputs"), *outs = jag_json_get(nj, "outputs"),
                              *attrs = jag_json_get(nj, "attrs"), *label = jag_json_get(nj, "name");
        nd->index = i;
        nd->op = JAG_OP_COUNT;
        if (label && !(nd->name = dupstr(label->string))) return JAG_STATUS_OUT_OF_MEMORY;
        int32_t opi = jag_op_find(op->string);
        if (opi < 0) return jag_model_fail(m, JAG_STATUS_E_UNKNOWN_OP, i, "unknown op '%s' (not in spec/ops.json opset %d)", op->string, JAG_OPSET);
        nd->op = (enum jag_op)opi;
        const struct jag_op_def *def = &JAG_OP_DEFS[opi];
        if (def->since > m->opset)
            return jag_model_fail(m, JAG_STATUS_E_VERSION, i, "op '%s' needs opset %d; the file declares opset %d", def->name, (int)def->since, (int)m->opset);
        bool variadic = def->n_inputs > 0 && def->inputs[def->n_inputs - 1].variadic;
        int32_t lo = variadic ? def->n_inputs - 1 + def->inputs[def->n_inputs - 1].min : def->n_required;
        if (ins->n < lo || (!variadic && ins->n > def->n_inputs))
            return jag_model_fail(m, JAG_STATUS_E_ARITY, i, "expected %s%d inputs, got %d", variadic ? "at least " : (lo == def->n_inputs ? "" : "up to "),
                                  (int)(variadic || lo == def->n_inputs ? lo : def->n_inputs), (int)ins->n);
        if (outs->n != def->n_outputs)
            return jag_model_fail(m, JAG_STATUS_E_ARITY, i, "expected %d outputs, got %d", (int)def->n_outputs, (int)outs->n);
        /* attributes */
        nd->attrs = calloc((size_t)(def->n_attrs ? def->n_attrs : 1), sizeof *nd->attrs);
        if (!nd->attrs) return JAG_STATUS_OUT_OF_MEMORY;
        for (int32_t k = 0; attrs && k < attrs->n; k++) {
            int32_t a = 0;
            while (a < def->n_attrs && strcmp(def->attrs[a].name, attrs->keys[k]) != 0) a++;
            if (a == def->n_attrs) return jag_model_fail(m, JAG_STATUS_E_ATTR, i, "unknown attr '%s'", attrs->keys[k]);
        }
        for (int32_t a = 0; a < def->n_attrs; a++) {
            const struct jag_attr_def *ad = &def->attrs[a];
            const struct jag_json *val = jag_json_get(attrs, ad->name);
            struct jag_json *dflt = NULL;
            char why[300];
            if (!val || val->type == JAG_JSON_NULL) {
                if (ad->required) return jag_model_fail(m, JAG_STATUS_E_ATTR, i, "attr '%s' is required", ad->name);
                enum jag_status s = jag_json_parse(ad->default_json, strlen(ad->default_json), 8, &dflt, why, sizeof why);
                if (s != JAG_STATUS_OK) return jag_model_fail(m, JAG_STATUS_E_INTERNAL, i, "default of '%s': %s", ad->name, why);
                val = dflt;
            }
            enum jag_status s = jag_attr_parse(ad, val, &nd->attrs[a], why, sizeof why);
            jag_json_free(dflt);
            if (s == JAG_STATUS_OUT_OF_MEMORY) return jag_model_fail(m, s, i, "out of memory");
            if (s != JAG_STATUS_OK) return jag_model_fail(m, s, i, "%s", why);
            /* names in dims attrs must be bound by input shapes */
            for (int32_t q = 0; nd->attrs[a].exprs && q < nd->attrs[a].n; q++) {
                if (!nd->attrs[a].exprs[q]) continue;
                struct dim_use u = {m, false, ""};
                jag_dim_names(nd->attrs[a].exprs[q], check_bound_name, &u);
                if (u.bad) return jag_model_fail(m, JAG_STATUS_E_ATTR, i, "attr '%s': dim '%s' is not bound by any input shape", ad->name, u.name);
            }
        }
        /* inputs: defined before use */
        nd->n_inputs = ins->n;
        if (ins->n > max_inputs) max_inputs = ins->n;
        nd->inputs = malloc((size_t)(ins->n ? ins->n : 1) * sizeof *nd->inputs);
        enum jag_dtype *dts = malloc((size_t)(ins->n ? ins->n : 1) * sizeof *dts);
        if (!nd->inputs || !dts) {
            free(dts);
            return JAG_STATUS_OUT_OF_MEMORY;
        }
        for (int32_t k = 0; k < ins->n; k++) {
            int32_t v = table_find(&L->names, m->values, ins->items[k].string);
            if (v < 0) {
                /* defined later (out of order or a cycle) or never */
                const char *name = ins->items[k].string;
                int32_t later = -1;
                for (int32_t j = i; j < nodes->n && later < 0; j++) {
                    const struct jag_json *o = jag_json_get(&nodes->items[j], "outputs");
                    for (int32_t q = 0; q < o->n; q++)
                        if (strcmp(o->items[q].string, name) == 0) later = j;
                }
                free(dts);
                if (later == i) return jag_model_fail(m, JAG_STATUS_E_GRAPH, i, "value '%s' is used by the node that defines it (a cycle)", name);
                if (later > i) return jag_model_fail(m, JAG_STATUS_E_GRAPH, i, "value '%s' is used before node %d defines it (nodes out of order or a cycle)", name, (int)later);
                return jag_model_fail(m, JAG_STATUS_E_GRAPH, i, "value '%s' is never defined", name);
            }
            nd->inputs[k] = v;
            dts[k] = m->values[v].dtype;
            m->values[v].last_use = i;
        }
        enum jag_dtype out_dt[4];
        enum jag_status s = jag_infer_dtypes(m, i, nd->op, nd->attrs, ins->n, dts, out_dt);
        free(dts);
        if (s != JAG_STATUS_OK) return s;
        nd->n_outputs = outs->n;
        nd->outputs = malloc((size_t)outs->n * sizeof *nd->outputs);
        if (!nd->outputs) return JAG_STATUS_OUT_OF_MEMORY;
        for (int32_t k = 0; k < outs->n; k++) {
            struct jag_value *v = &m->values[next];
            if (!(v->name = dupstr(outs->items[k].string))) return JAG_STATUS_OUT_OF_MEMORY;
            v->kind = JAG_VALUE_NODE;
            v->dtype = out_dt[k];
            v->producer = i;
            v->last_use = -1;
            if ((s = define(L, next, i)) != JAG_STATUS_OK) return s;
            nd->outputs[k] = next++;
        }
    }
    if (max_inputs > 256) {
        m->big_inputs = malloc((size_t)max_inputs * sizeof *m->big_inputs);
        if (!m->big_inputs) return JAG_STATUS_OUT_OF_MEMORY;
    }
    return JAG_STATUS_OK;
}

/* Move metadata[key] out of the document into *out (NULL when absent). */
static enum jag_status keep_metadata(const struct jag_json *meta, const char *key, struct jag_json **out)
{
    const struct jag_json *v = jag_json_get(meta, key);
    if (!v) return JAG_STATUS_OK;
    if (!(*out = malloc(sizeof **out))) return JAG_STATUS_OUT_OF_MEMORY;
    **out = *v;
    struct jag_json *src = (struct jag_json *)(uintptr_t)v;
    memset(src, 0, sizeof *src);
    src->type = JAG_JSON_NULL;
    return JAG_STATUS_OK;
}

static enum jag_status load_doc(struct jag_model *m, const struct jag_json *doc)
{
    struct loader L = {m, doc, {0, NULL}};
    enum jag_status s;
    if ((s = check_version(&L)) != JAG_STATUS_OK) return s;
    if ((s = check_top_level(&L)) != JAG_STATUS_OK) return s;
    const struct jag_json *inputs = jag_json_get(doc, "inputs"), *outputs = jag_json_get(doc, "outputs"),
                          *tensors = jag_json_get(doc, "tensors"), *files = jag_json_get(doc, "files"),
                          *nodes = jag_json_get(doc, "nodes"), *dims = jag_json_get(doc, "dims"),
                          *meta = jag_json_get(doc, "metadata");
    int64_t n_values = (int64_t)inputs->n + (tensors ? tensors->n : 0);
    for (int32_t i = 0; i < nodes->n; i++) {
        const struct jag_json *o = jag_json_get(&nodes->items[i], "outputs");
        n_values += o->n;
    }
    if (n_values > INT32_MAX / 4) return jag_model_fail(m, JAG_STATUS_E_SCHEMA, -1, "too many values (%lld)", (long long)n_values);
    m->n_values = (int32_t)n_values;
    m->values = calloc((size_t)(n_values ? n_values : 1), sizeof *m->values);
    m->n_inputs = inputs->n;
    m->inputs = calloc((size_t)(inputs->n ? inputs->n : 1), sizeof *m->inputs);
    m->n_outputs = outputs->n;
    m->outputs = calloc((size_t)outputs->n, sizeof *m->outputs);
    m->n_nodes = nodes->n;
    m->nodes = calloc((size_t)(nodes->n ? nodes->n : 1), sizeof *m->nodes);
    uint32_t cap = 16;
    while (cap < 2 * (uint64_t)n_values + 2) cap *= 2;
    L.names.cap = cap;
    L.names.slots = malloc(cap * sizeof *L.names.slots);
    if (!m->values || !m->inputs || !m->outputs || !m->nodes || !L.names.slots) {
        free(L.names.slots);
        return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory");
    }
    for (uint32_t i = 0; i < cap; i++) L.names.slots[i] = -1;
    for (int32_t i = 0; i < m->n_values; i++) m->values[i].last_use = -1, m->values[i].producer = -1;
    for (int32_t i = 0; i < m->n_nodes; i++) m->nodes[i].op = JAG_OP_COUNT;

    /* graph inputs: structure, then dims (bare names bind; E_SHAPE for bad expressions) */
    for (int32_t i = 0; i < inputs->n && s == JAG_STATUS_OK; i++) {
        char where[64];
        const char *name;
        jag_format(where, sizeof where, "/inputs/%d", (int)i);
        struct jag_io *io = &m->inputs[i];
        if ((s = parse_io(&L, &inputs->items[i], where, io, &name)) != JAG_STATUS_OK) break;
        struct jag_value *v = &m->values[i];
        if (!(v->name = dupstr(name))) { s = JAG_STATUS_OUT_OF_MEMORY; break; }
        v->kind = JAG_VALUE_INPUT;
        v->dtype = io->dtype;
        v->ndim = io->ndim;
        io->value = i;
    }
    for (int32_t i = 0; i < outputs->n && s == JAG_STATUS_OK; i++) {
        char where[64];
        const char *name;
        jag_format(where, sizeof where, "/outputs/%d", (int)i);
        s = parse_io(&L, &outputs->items[i], where, &m->outputs[i], &name);
    }
    if (s != JAG_STATUS_OK) goto done;
    for (int32_t i = 0; i < inputs->n && s == JAG_STATUS_OK; i++)
        for (int32_t k = 0; k < m->inputs[i].ndim && s == JAG_STATUS_OK; k++) {
            const char *e = m->inputs[i].exprs[k];
            char name[257], why[200];
            if (!e) continue;
            if (!jag_dim_check(e, why, sizeof why))
                s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "input '%s': dim '%s': %s", m->values[i].name, e, why);
            else if (jag_dim_bare_name(e, name, sizeof name))
                s = add_dim(m, name, -1);
        }
    for (int32_t k = 0; dims && k < dims->n && s == JAG_STATUS_OK; k++) {
        const struct jag_json *mx = jag_json_get(&dims->items[k], "max");
        int32_t d = 0;
        while (d < m->n_dims && strcmp(m->dim_names[d], dims->keys[k]) != 0) d++;
        if (d == m->n_dims) s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "dims['%s'] is not used as a bare dim of any input shape", dims->keys[k]);
        else if (mx) m->dim_max[d] = mx->integer;
    }
    for (int32_t i = 0; i < inputs->n + outputs->n && s == JAG_STATUS_OK; i++) {
        struct jag_io *io = i < inputs->n ? &m->inputs[i] : &m->outputs[i - inputs->n];
        for (int32_t k = 0; k < io->ndim && s == JAG_STATUS_OK; k++) {
            char why[200];
            if (!io->exprs[k]) continue;
            if (!jag_dim_check(io->exprs[k], why, sizeof why)) {
                s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "%s %d: dim '%s': %s", i < inputs->n ? "input" : "output",
                                   (int)(i < inputs->n ? i : i - inputs->n), io->exprs[k], why);
                break;
            }
            struct dim_use u = {m, false, ""};
            jag_dim_names(io->exprs[k], check_bound_name, &u);
            if (u.bad) s = jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "%s %d: dim '%s' uses '%s', which no input binds as a bare dim",
                                          i < inputs->n ? "input" : "output", (int)(i < inputs->n ? i : i - inputs->n), io->exprs[k], u.name);
        }
    }
    if (s != JAG_STATUS_OK) goto done;
    if ((s = load_tensors(&L, tensors, files, inputs->n)) != JAG_STATUS_OK) goto done;
    /* the namespace: inputs, tensors, then node outputs in order */
    for (int32_t i = 0; i < inputs->n + (tensors ? tensors->n : 0) && s == JAG_STATUS_OK; i++) s = define(&L, i, -1);
    if (s != JAG_STATUS_OK) goto done;
    if ((s = load_nodes(&L, nodes, inputs->n + (tensors ? tensors->n : 0))) != JAG_STATUS_OK) goto done;
    /* graph outputs name defined values; dtypes must agree */
    for (int32_t i = 0; i < outputs->n; i++) {
        const char *name = jag_json_get(&outputs->items[i], "name")->string;
        int32_t v = table_find(&L.names, m->values, name);
        if (v < 0) { s = jag_model_fail(m, JAG_STATUS_E_GRAPH, -1, "graph output '%s' is never defined", name); goto done; }
        m->outputs[i].value = v;
        m->values[v].is_output = true;
        if (m->values[v].dtype != m->outputs[i].dtype) {
            s = jag_model_fail(m, JAG_STATUS_E_DTYPE, -1, "output '%s' is declared %s but the graph computes %s", name,
                               JAG_DTYPE_DEFS[m->outputs[i].dtype].name, JAG_DTYPE_DEFS[m->values[v].dtype].name);
            goto done;
        }
    }
    /* metadata["jag.test"] and ["jag.loop"]: kept for jagrun --check and --loop */
    if ((s = keep_metadata(meta, "jag.test", &m->test)) != JAG_STATUS_OK) goto done;
    if ((s = keep_metadata(meta, "jag.loop", &m->loop)) != JAG_STATUS_OK) goto done;
done:
    free(L.names.slots);
    if (s == JAG_STATUS_OUT_OF_MEMORY && m->err.status == JAG_STATUS_OK) jag_model_fail(m, s, -1, "out of memory");
    return s;
}

static void model_free_contents(struct jag_model *m)
{
    for (int32_t i = 0; m->values && i < m->n_values; i++) {
        struct jag_value *v = &m->values[i];
        free(v->name);
        if (v->kind == JAG_VALUE_CONSTANT && v->arena_offset != -2) free(v->data);
    }
    for (int32_t i = 0; m->nodes && i < m->n_nodes; i++) {
        struct jag_node *nd = &m->nodes[i];
        free(nd->name);
        free(nd->inputs);
        free(nd->outputs);
        if (nd->attrs && nd->op < JAG_OP_COUNT)
            for (int32_t a = 0; a < JAG_OP_DEFS[nd->op].n_attrs; a++) jag_attr_clear(&nd->attrs[a]);
        free(nd->attrs);
    }
    for (int32_t i = 0; m->inputs && i < m->n_inputs; i++) free_io(&m->inputs[i]);
    for (int32_t i = 0; m->outputs && i < m->n_outputs; i++) free_io(&m->outputs[i]);
    for (int32_t d = 0; d < m->n_dims; d++) free(m->dim_names[d]);
    for (int32_t i = 0; i < m->n_sidecars; i++) free(m->sidecars[i]);
    free(m->sidecars);
    free(m->dim_names);
    free(m->dim_max);
    free(m->dim_values);
    free(m->values);
    free(m->nodes);
    free(m->inputs);
    free(m->outputs);
    free(m->big_inputs);
    free(m->arena);
    jag_json_free(m->test);
    jag_json_free(m->loop);
    free(m->file);
    free(m->folder);
}

void jag_model_free(struct jag_model *m)
{
    if (!m) return;
    model_free_contents(m);
    free(m);
}

/* When every input dim is static, prepare now, so shape errors surface at load. */
static enum jag_status prepare_static(struct jag_model *m)
{
    for (int32_t i = 0; i < m->n_inputs; i++)
        for (int32_t k = 0; k < m->inputs[i].ndim; k++)
            if (m->inputs[i].exprs[k]) return JAG_STATUS_OK;
    for (int32_t i = 0; i < m->n_inputs; i++) {
        struct jag_io *io = &m->inputs[i];
        memcpy(io->bound_shape, io->shape, sizeof io->shape);
        io->bound_nbytes = (size_t)(jag_numel(io->shape, io->ndim) * (int64_t)jag_dtype_size(io->dtype));
    }
    return jag_model_prepare_shapes(m);
}

enum jag_status jag_model_load_json(const char *json, size_t len, const char *folder, const char *name,
                                    const struct jag_model_params *params, struct jag_model **out, struct jag_error *err)
{
    *out = NULL;
    struct jag_model *m = calloc(1, sizeof *m);
    if (!m) {
        if (err) {
            err->status = JAG_STATUS_OUT_OF_MEMORY;
            err->node = -1;
            jag_format(err->message, sizeof err->message, "[OUT_OF_MEMORY] out of memory");
        }
        return JAG_STATUS_OUT_OF_MEMORY;
    }
    m->params = params ? *params : jag_model_default_params();
    m->err.node = -1;
    enum jag_status s = JAG_STATUS_OK;
    if ((name && !(m->file = dupstr(name))) || (folder && !(m->folder = dupstr(folder))))
        s = jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory");
    struct jag_json *doc = NULL;
    if (s == JAG_STATUS_OK) {
        char why[300];
        s = jag_json_parse(json, len, m->params.max_json_depth, &doc, why, sizeof why);
        if (s != JAG_STATUS_OK) jag_model_fail(m, s, -1, "%s", why);
    }
    if (s == JAG_STATUS_OK) s = load_doc(m, doc);
    jag_json_free(doc);
    if (s == JAG_STATUS_OK) s = prepare_static(m);
    if (err) *err = m->err;
    if (s != JAG_STATUS_OK) {
        jag_model_free(m);
        return s;
    }
    m->err.status = JAG_STATUS_OK;
    m->err.message[0] = '\0';
    *out = m;
    return JAG_STATUS_OK;
}

enum jag_status jag_model_load_file(const char *path, const struct jag_model_params *params, struct jag_model **out,
                                    struct jag_error *err)
{
    struct jag_model_params p = params ? *params : jag_model_default_params();
    uint8_t *data = NULL;
    size_t len = 0;
    char why[600];
    *out = NULL;
    enum jag_status s = jag_read_file(path, p.max_file_bytes, &data, &len, why, sizeof why);
    if (s != JAG_STATUS_OK) {
        if (err) {
            err->status = s;
            err->node = -1;
            jag_format(err->message, sizeof err->message, "[%s] %s", jag_status_to_string(s), why);
        }
        return s;
    }
    /* the folder holding the model, for sidecars */
    char folder[4096];
    const char *slash = strrchr(path, '/');
    if (slash) jag_format(folder, sizeof folder, "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
    else jag_format(folder, sizeof folder, ".");
    s = jag_model_load_json((const char *)data, len, folder, path, &p, out, err);
    free(data);
    return s;
}

/* ---------------------------------------------------------------- queries */

const struct jag_error *jag_model_last_error(const struct jag_model *m)
{
    return &m->err;
}

int32_t jag_model_n_inputs(const struct jag_model *m) { return m->n_inputs; }
int32_t jag_model_n_outputs(const struct jag_model *m) { return m->n_outputs; }
int32_t jag_model_n_nodes(const struct jag_model *m) { return m->n_nodes; }

const char *jag_model_node_op(const struct jag_model *m, int32_t index)
{
    return index >= 0 && index < m->n_nodes ? JAG_OP_DEFS[m->nodes[index].op].name : NULL;
}

static bool io_info(const struct jag_model *m, const struct jag_io *io, struct jag_value_info *info)
{
    info->name = m->values[io->value].name;
    info->dtype = io->dtype;
    info->ndim = io->ndim;
    info->shape = io->shape;
    info->dim_exprs = (const char *const *)io->exprs;
    return true;
}

bool jag_model_input_info(const struct jag_model *m, int32_t index, struct jag_value_info *info)
{
    return index >= 0 && index < m->n_inputs && io_info(m, &m->inputs[index], info);
}

bool jag_model_output_info(const struct jag_model *m, int32_t index, struct jag_value_info *info)
{
    if (index < 0 || index >= m->n_outputs) return false;
    io_info(m, &m->outputs[index], info);
    return true;
}

int32_t jag_model_find_input(const struct jag_model *m, const char *name)
{
    for (int32_t i = 0; i < m->n_inputs; i++)
        if (strcmp(m->values[m->inputs[i].value].name, name) == 0) return i;
    return -1;
}

int32_t jag_model_find_output(const struct jag_model *m, const char *name)
{
    for (int32_t i = 0; i < m->n_outputs; i++)
        if (strcmp(m->values[m->outputs[i].value].name, name) == 0) return i;
    return -1;
}

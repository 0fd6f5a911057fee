/* op_harness.h — running one op on literal arrays, for the kernel unit tests.
 *
 *   struct jag_value x = V(F32, data, 2, 3);     a [2, 3] float32 view of `data`
 *   defaults(JAG_OP_SLICE, attrs); INTS(&attrs[0], 0, 1);
 *   CHECK_STATUS(run(JAG_OP_SLICE, attrs, 1, &x), OK);
 *   EXPECT(F32, want, 2, 1);                      output dtype, shape and exact bytes
 *
 * Include after check.h; functions are static inline so a test may use only some. */
#ifndef JAG_OP_HARNESS_H
#define JAG_OP_HARNESS_H

#include "jag_internal.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static inline struct jag_value val(enum jag_dtype dt, int32_t ndim, const int64_t *shape, const void *data)
{
    struct jag_value v;
    memset(&v, 0, sizeof v);
    v.dtype = dt;
    v.ndim = ndim;
    v.numel = 1;
    for (int32_t k = 0; k < ndim; k++) {
        v.shape[k] = shape[k];
        v.numel *= shape[k];
    }
    v.nbytes = (size_t)v.numel * jag_dtype_size(dt);
    v.data = (void *)data;
    return v;
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define NDIM(...) ((int32_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define V(dt, data, ...) val(dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), data)
#define V0(dt, data) val(dt, 0, NULL, data)
#define INTS(attr, ...) set_ints(attr, (const int64_t[]){__VA_ARGS__}, NDIM(__VA_ARGS__))

static inline void set_ints(struct jag_attr *a, const int64_t *v, int32_t n)
{
    a->is_null = false;
    a->n = n;
    a->ints = (int64_t *)v;
    a->exprs = NULL;
}

static inline void defaults(enum jag_op op, struct jag_attr *a)
{
    memset(a, 0, 8 * sizeof *a);
    CHECK_STATUS(jag_op_default_attrs(op, a), JAG_STATUS_OK);
}

static struct jag_value g_out;
static struct jag_error g_err;

/* Run op on inputs; the result stays in g_out until the next run. */
static inline enum jag_status run(enum jag_op op, struct jag_attr *attrs, int32_t n, struct jag_value *ins)
{
    struct jag_value *ptrs[16];
    for (int32_t i = 0; i < n; i++) ptrs[i] = &ins[i];
    free(g_out.data);
    memset(&g_out, 0, sizeof g_out);
    enum jag_status s = jag_op_run(op, attrs, n, ptrs, &g_out, &g_err);
    if (s != JAG_STATUS_OK) {
        g_out.data = NULL;
    }
    return s;
}

/* g_out must have dtype dt, the given shape and exactly the bytes of data. */
static inline void expect_(int line, enum jag_dtype dt, int32_t ndim, const int64_t *shape, const void *data)
{
    check_count++;
    bool ok = g_out.dtype == dt && g_out.ndim == ndim;
    for (int32_t k = 0; ok && k < ndim; k++) ok = g_out.shape[k] == shape[k];
    int64_t numel = 1;
    for (int32_t k = 0; k < ndim; k++) numel *= shape[k];
    size_t nbytes = (size_t)numel * jag_dtype_size(dt);
    ok = ok && g_out.numel == numel && g_out.nbytes == nbytes;
    if (!ok) {
        check_failed++;
        char a[256], b[256];
        fprintf(stderr, "%s:%d: output %s%s, expected %s%s\n", __FILE__, line, jag_dtype_name(g_out.dtype),
                jag_shape_str(g_out.shape, g_out.ndim, a, sizeof a), jag_dtype_name(dt), jag_shape_str(shape, ndim, b, sizeof b));
        return;
    }
    if (nbytes && memcmp(g_out.data, data, nbytes) != 0) {
        check_failed++;
        size_t sz = jag_dtype_size(dt);
        for (int64_t i = 0; i < numel; i++)
            if (memcmp((const uint8_t *)g_out.data + (size_t)i * sz, (const uint8_t *)data + (size_t)i * sz, sz) != 0) {
                fprintf(stderr, "%s:%d: output differs first at flat index %lld\n", __FILE__, line, (long long)i);
                break;
            }
    }
}
#define EXPECT(dt, data, ...) expect_(__LINE__, dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), data)
#define EXPECT0(dt, data) expect_(__LINE__, dt, 0, NULL, data)
#define EXPECT_SHAPE(dt, ...) expect_(__LINE__, dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), NULL)

#define F32 JAG_DTYPE_FLOAT32
#define F64 JAG_DTYPE_FLOAT64
#define I32 JAG_DTYPE_INT32
#define I64 JAG_DTYPE_INT64
#define U8 JAG_DTYPE_UINT8
#define BOOL JAG_DTYPE_BOOL
#define OK JAG_STATUS_OK
#define E_ATTR JAG_STATUS_E_ATTR
#define E_SHAPE JAG_STATUS_E_SHAPE

#endif

/* k_index.c — index kernels: gather, scatter_add, embedding, and the iota generator.
 *
 * Semantics: python/jag/ops/core.py ("index" and "generators" blocks) and composite.py
 * (embedding) — numpy.take, numpy.add.at, torch-style embedding lookup, and
 * jax.lax.broadcasted_iota. Indices are int32 or int64; an index i in [-n, 0) means
 * n + i, anything outside [-n, n) is E_INDEX at eval (check_indices in core.py: the
 * message names the smallest index when it is too small, else the largest).
 *
 * Every index op views x as [pre, n, post] around the indexed axis and the indices as a
 * flat list of m entries: gather/embedding copy post-element rows with memcpy,
 * scatter_add accumulates rows in index order (as np.add.at), with integer wrap-around. */
#include "jag_internal.h"

#include <string.h>

/* ---------------------------------------------------------------- helpers */

static size_t itemsize(enum jag_dtype dt)
{
    return (size_t)JAG_DTYPE_DEFS[dt].itemsize;
}

static int64_t prod_range(const int64_t *shape, int32_t lo, int32_t hi)
{
    int64_t p = 1;
    for (int32_t k = lo; k < hi; k++) p *= shape[k];
    return p;
}

/* Index j of an int32/int64 index tensor, mapped into [0, n) (already checked). */
static inline int64_t index_at(const struct jag_value *ind, int64_t j, int64_t n)
{
    int64_t v = ind->dtype == JAG_DTYPE_INT32 ? (int64_t)((const int32_t *)ind->data)[j] : ((const int64_t *)ind->data)[j];
    return v < 0 ? v + n : v;
}

/* E_INDEX unless every index is in [-n, n) (core.py check_indices). */
static enum jag_status check_indices(struct jag_exec *x, const struct jag_value *ind, int64_t n, int32_t axis)
{
    int64_t m = ind->numel;
    if (m == 0) return JAG_STATUS_OK;
    int64_t lo, hi;
    if (ind->dtype == JAG_DTYPE_INT32) {
        const int32_t *p = ind->data;
        int32_t a = p[0], b = p[0];
        for (int64_t j = 1; j < m; j++) {
            a = p[j] < a ? p[j] : a;
            b = p[j] > b ? p[j] : b;
        }
        lo = a, hi = b;
    } else {
        const int64_t *p = ind->data;
        int64_t a = p[0], b = p[0];
        for (int64_t j = 1; j < m; j++) {
            a = p[j] < a ? p[j] : a;
            b = p[j] > b ? p[j] : b;
        }
        lo = a, hi = b;
    }
    if (lo < -n || hi >= n)
        return jag_exec_fail(x, JAG_STATUS_E_INDEX, "index %lld is out of range for axis %d of size %lld",
                             (long long)(lo < -n ? lo : hi), (int)axis, (long long)n);
    return JAG_STATUS_OK;
}

/* y[p, j, :] = x[p, ind[j], :] for p < pre, j < m; rows of post elements. */
static void gather_rows(void *dst_, const void *src_, const struct jag_value *ind, int64_t pre, int64_t n, int64_t post,
                        size_t size)
{
    uint8_t *dst = dst_;
    const uint8_t *src = src_;
    int64_t m = ind->numel;
    if (pre == 0 || m == 0 || post == 0) return;
    size_t row = (size_t)post * size;
    if (post == 1 && (size == 4 || size == 8)) {
        for (int64_t p = 0; p < pre; p++) {
            uint8_t *d = dst + (size_t)(p * m) * size;
            const uint8_t *s = src + (size_t)(p * n) * size;
            if (size == 4)
                for (int64_t j = 0; j < m; j++) memcpy(d + j * 4, s + index_at(ind, j, n) * 4, 4);
            else
                for (int64_t j = 0; j < m; j++) memcpy(d + j * 8, s + index_at(ind, j, n) * 8, 8);
        }
        return;
    }
    for (int64_t p = 0; p < pre; p++) {
        uint8_t *d = dst + (size_t)(p * m) * row;
        const uint8_t *s = src + (size_t)(p * n) * row;
        for (int64_t j = 0; j < m; j++) memcpy(d + (size_t)j * row, s + (size_t)index_at(ind, j, n) * row, row);
    }
}

/* Output shape x.shape[:axis] + idx.shape + x.shape[axis+1:] (rank may exceed
 * JAG_MAX_DIMS here; jag_exec_set_shape rejects it). Python's _gather_shape. */
static enum jag_status gather_shape(struct jag_exec *x, const struct jag_value *xv, const struct jag_value *ind,
                                    int64_t axis_attr, int32_t *axis, int64_t *shape, int32_t *ndim)
{
    if (xv->ndim == 0) return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "gather needs x of rank >= 1, got a scalar");
    enum jag_status st = jag_exec_axis(x, "axis", axis_attr, xv->ndim, axis);
    if (st != JAG_STATUS_OK) return st;
    int32_t r = 0;
    for (int32_t k = 0; k < *axis; k++) shape[r++] = xv->shape[k];
    for (int32_t k = 0; k < ind->ndim; k++) shape[r++] = ind->shape[k];
    for (int32_t k = *axis + 1; k < xv->ndim; k++) shape[r++] = xv->shape[k];
    *ndim = r;
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- gather
 * x: any dtype, rank >= 1 (scalar: E_SHAPE); indices: int32/int64, any shape; axis
 * (out of range: E_ATTR) -> y = numpy.take(x, indices, axis), shape
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]. params[0] = axis. */
enum jag_status jag_prepare_gather(struct jag_exec *x)
{
    int64_t shape[2 * JAG_MAX_DIMS];
    int32_t axis, ndim;
    enum jag_status st = gather_shape(x, x->in[0], x->in[1], JAG_ATTR(x, JAG_ATTR_GATHER_AXIS)->i, &axis, shape, &ndim);
    if (st != JAG_STATUS_OK) return st;
    x->node->params[0] = axis;
    return jag_exec_set_shape(x, 0, ndim, shape);
}

enum jag_status jag_eval_gather(struct jag_exec *x)
{
    const struct jag_value *xv = x->in[0], *ind = x->in[1];
    int32_t axis = (int32_t)x->node->params[0];
    int64_t n = xv->shape[axis];
    enum jag_status st = check_indices(x, ind, n, axis);
    if (st != JAG_STATUS_OK) return st;
    gather_rows(x->out[0]->data, xv->data, ind, prod_range(xv->shape, 0, axis), n,
                prod_range(xv->shape, axis + 1, xv->ndim), itemsize(xv->dtype));
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- scatter_add
 * x: numeric; indices: int32/int64; updates: x's dtype with exactly the gather output
 * shape (else E_SHAPE) -> y = copy of x, then y[..., indices[j], ...] += updates[..., j,
 * ...] in order of j (numpy.add.at: repeated indices accumulate; integers wrap).
 * params[0] = axis. */
enum jag_status jag_prepare_scatter_add(struct jag_exec *x)
{
    const struct jag_value *xv = x->in[0], *upd = x->in[2];
    int64_t shape[2 * JAG_MAX_DIMS];
    int32_t axis, ndim;
    enum jag_status st = gather_shape(x, xv, x->in[1], JAG_ATTR(x, JAG_ATTR_SCATTER_ADD_AXIS)->i, &axis, shape, &ndim);
    if (st != JAG_STATUS_OK) return st;
    bool ok = upd->ndim == ndim;
    for (int32_t k = 0; ok && k < ndim; k++) ok = upd->shape[k] == shape[k];
    if (!ok) {
        char a[256], b[512];
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 2 (updates) has shape %s; expected %s",
                             jag_shape_str(upd->shape, upd->ndim, a, sizeof a), jag_shape_str(shape, ndim, b, sizeof b));
    }
    x->node->params[0] = axis;
    return jag_exec_set_shape(x, 0, xv->ndim, xv->shape);
}

#define SCATTER_LOOP(T, ADD)                                                              \
    do {                                                                                  \
        T *y = out;                                                                       \
        const T *u = upd->data;                                                           \
        for (int64_t p = 0; p < pre; p++)                                                 \
            for (int64_t j = 0; j < m; j++) {                                             \
                T *yr = y + (p * n + index_at(ind, j, n)) * post;                         \
                const T *ur = u + (p * m + j) * post;                                     \
                for (int64_t q = 0; q < post; q++) yr[q] = ADD(yr[q], ur[q]);             \
            }                                                                             \
    } while (0)
#define ADD_F(a, b) ((a) + (b))
#define ADD_I32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
#define ADD_I64(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define ADD_U8(a, b) ((uint8_t)((a) + (b)))

enum jag_status jag_eval_scatter_add(struct jag_exec *x)
{
    const struct jag_value *xv = x->in[0], *ind = x->in[1], *upd = x->in[2];
    void *out = x->out[0]->data;
    int32_t axis = (int32_t)x->node->params[0];
    int64_t n = xv->shape[axis], m = ind->numel;
    enum jag_status st = check_indices(x, ind, n, axis);
    if (st != JAG_STATUS_OK) return st;
    if (xv->nbytes) memcpy(out, xv->data, xv->nbytes);
    int64_t pre = prod_range(xv->shape, 0, axis), post = prod_range(xv->shape, axis + 1, xv->ndim);
    if (upd->numel == 0) return JAG_STATUS_OK;
    switch (xv->dtype) {
    case JAG_DTYPE_FLOAT32: SCATTER_LOOP(float, ADD_F); break;
    case JAG_DTYPE_FLOAT64: SCATTER_LOOP(double, ADD_F); break;
    case JAG_DTYPE_INT32: SCATTER_LOOP(int32_t, ADD_I32); break;
    case JAG_DTYPE_INT64: SCATTER_LOOP(int64_t, ADD_I64); break;
    case JAG_DTYPE_UINT8: SCATTER_LOOP(uint8_t, ADD_U8); break;
    default: return jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "scatter_add on dtype %s", JAG_DTYPE_DEFS[xv->dtype].name);
    }
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- embedding
 * indices: int32/int64, any shape; weight: float [num, dim] (other ranks: E_SHAPE) ->
 * y = weight[indices] of shape indices.shape + [dim] (gather on axis 0 of the table;
 * indices outside [-num, num) are E_INDEX). */
enum jag_status jag_prepare_embedding(struct jag_exec *x)
{
    const struct jag_value *ind = x->in[0], *w = x->in[1];
    if (w->ndim != 2) {
        char a[256];
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 1 (weight) has shape %s; expected [num, dim]",
                             jag_shape_str(w->shape, w->ndim, a, sizeof a));
    }
    int64_t shape[JAG_MAX_DIMS + 1];
    for (int32_t k = 0; k < ind->ndim; k++) shape[k] = ind->shape[k];
    shape[ind->ndim] = w->shape[1];
    return jag_exec_set_shape(x, 0, ind->ndim + 1, shape);
}

enum jag_status jag_eval_embedding(struct jag_exec *x)
{
    const struct jag_value *ind = x->in[0], *w = x->in[1];
    enum jag_status st = check_indices(x, ind, w->shape[0], 0);
    if (st != JAG_STATUS_OK) return st;
    gather_rows(x->out[0]->data, w->data, ind, 1, w->shape[0], w->shape[1], itemsize(w->dtype));
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- iota
 * no inputs; attrs shape (dims; a negative dim is E_SHAPE), axis (out of range, and
 * always for rank 0: E_ATTR), dtype (numeric) -> y[i_0, ..., i_r] = i_axis, converted
 * from int64 as numpy's astype does (uint8/int32 wrap, floats round to nearest).
 * params[0] = axis. */
enum jag_status jag_prepare_iota(struct jag_exec *x)
{
    int64_t shape[JAG_MAX_DIMS];
    int32_t n, axis;
    enum jag_status st = jag_exec_dims(x, JAG_ATTR_IOTA_SHAPE, shape, &n);
    if (st != JAG_STATUS_OK) return st;
    for (int32_t k = 0; k < n; k++)
        if (shape[k] < 0) {
            char a[256];
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "attr 'shape' %s has a negative dim",
                                 jag_shape_str(shape, n, a, sizeof a));
        }
    st = jag_exec_axis(x, "axis", JAG_ATTR(x, JAG_ATTR_IOTA_AXIS)->i, n, &axis);
    if (st != JAG_STATUS_OK) return st;
    x->node->params[0] = axis;
    return jag_exec_set_shape(x, 0, n, shape);
}

#define IOTA_LOOP(T, CONV)                                                   \
    do {                                                                     \
        T *y = out->data;                                                    \
        for (int64_t p = 0; p < pre; p++)                                    \
            for (int64_t i = 0; i < n; i++) {                                \
                T v = CONV(i);                                               \
                T *row = y + (p * n + i) * post;                             \
                for (int64_t q = 0; q < post; q++) row[q] = v;               \
            }                                                                \
    } while (0)
#define CONV_F32(i) ((float)(i))
#define CONV_F64(i) ((double)(i))
#define CONV_I64(i) (i)
#define CONV_U8(i) ((uint8_t)((uint64_t)(i) & 0xffu))

static int32_t wrap_i32(int64_t i)
{
    uint32_t u = (uint32_t)((uint64_t)i & 0xffffffffu);
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}
#define CONV_I32(i) wrap_i32(i)

enum jag_status jag_eval_iota(struct jag_exec *x)
{
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    int32_t axis = (int32_t)x->node->params[0];
    int64_t pre = prod_range(out->shape, 0, axis), n = out->shape[axis];
    int64_t post = prod_range(out->shape, axis + 1, out->ndim);
    switch (out->dtype) {
    case JAG_DTYPE_FLOAT32: IOTA_LOOP(float, CONV_F32); break;
    case JAG_DTYPE_FLOAT64: IOTA_LOOP(double, CONV_F64); break;
    case JAG_DTYPE_INT32: IOTA_LOOP(int32_t, CONV_I32); break;
    case JAG_DTYPE_INT64: IOTA_LOOP(int64_t, CONV_I64); break;
    case JAG_DTYPE_UINT8: IOTA_LOOP(uint8_t, CONV_U8); break;
    default: return jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "iota of dtype %s", JAG_DTYPE_DEFS[out->dtype].name);
    }
    return JAG_STATUS_OK;
}

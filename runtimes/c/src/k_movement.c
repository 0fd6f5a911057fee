/* k_movement.c — movement kernels: reshape, transpose, broadcast_to, slice, pad, concat.
 *
 * Semantics: python/jag/ops/core.py ("movement" block) — numpy.reshape, numpy.transpose,
 * numpy.broadcast_to, basic slicing x[start:stop:step] with Python's clamping (positive
 * steps), jax.lax.pad with a non-negative config, numpy.concatenate. Each prepare mirrors
 * the Python shape rule check by check, with the same error codes (E_ATTR for a bad
 * attribute value, E_SHAPE for incompatible shapes).
 *
 * Every op is a copy. Most go through one strided-copy engine (copy_strided): it drops
 * size-1 dims, merges dims that are contiguous in both source and destination, then
 * copies the innermost run with memcpy (or fills it, for a broadcast run, or walks a
 * cache-blocked 2-D tile for a transpose). Offsets are int64 element counts; pointers are
 * only formed for elements that exist. Element copies use memcpy with a constant size
 * (one mov), so no alignment is assumed. */
#include "jag_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static size_t itemsize(enum jag_dtype dt)
{
    return (size_t)JAG_DTYPE_DEFS[dt].itemsize;
}

/* Row-major element strides of a shape. */
static void contiguous_strides(const int64_t *shape, int32_t ndim, int64_t *strides)
{
    int64_t s = 1;
    for (int32_t i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

/* Product of dims[0..n) except index skip (-1: none), as Python ints would give it:
 * 0 when a dim is 0, otherwise false on int64 overflow. */
static bool dims_product(const int64_t *dims, int32_t n, int32_t skip, int64_t *out)
{
    int64_t p = 1;
    bool overflow = false;
    for (int32_t i = 0; i < n; i++) {
        if (i == skip) continue;
        if (dims[i] == 0) {
            *out = 0;
            return true;
        }
        if (!overflow && !jag_mul_i64(p, dims[i], &p)) overflow = true;
    }
    *out = p;
    return !overflow;
}

/* "[1,-1,3]" for a list of int64 (attribute values). */
static const char *ints_str(const int64_t *v, int32_t n, char *buf, size_t size)
{
    return jag_shape_str(v, n, buf, size);
}

/* n elements of `size` bytes at dst, each a copy of the element at val. */
static void fill_elems(uint8_t *dst, int64_t n, const uint8_t *val, size_t size)
{
    if (n <= 0) return;
    bool same = true;
    for (size_t b = 1; b < size; b++) same = same && val[b] == val[0];
    if (same) {
        memset(dst, val[0], (size_t)n * size);
        return;
    }
    switch (size) {
    case 4:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * 4, val, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * 8, val, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * size, val, size);
        break;
    }
}

/* n elements: dst[i * dstep] = src[i * sstep] (steps in elements). */
static void copy_run(uint8_t *dst, int64_t dstep, const uint8_t *src, int64_t sstep, int64_t n, size_t size)
{
    switch (size) {
    case 1:
        for (int64_t i = 0; i < n; i++) dst[i * dstep] = src[i * sstep];
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * dstep * 4, src + i * sstep * 4, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * dstep * 8, src + i * sstep * 8, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + i * dstep * (int64_t)size, src + i * sstep * (int64_t)size, size);
        break;
    }
}

/* A 2-D transpose-like block: dst[i * drow + j] = src[i + j * scol] for i < rows, j < cols,
 * in TILE x TILE tiles so that both sides stay in cache. */
#define TILE 32
#define TILE_LOOP(SZ)                                                                                   \
    for (int64_t i0 = 0; i0 < rows; i0 += TILE) {                                                       \
        int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows;                                               \
        for (int64_t j0 = 0; j0 < cols; j0 += TILE) {                                                   \
            int64_t j1 = j0 + TILE < cols ? j0 + TILE : cols;                                           \
            for (int64_t i = i0; i < i1; i++)                                                           \
                for (int64_t j = j0; j < j1; j++)                                                       \
                    memcpy(dst + (i * drow + j) * (SZ), src + (i + j * scol) * (SZ), (SZ));             \
        }                                                                                               \
    }
static void copy_tile(uint8_t *dst, int64_t drow, const uint8_t *src, int64_t scol, int64_t rows, int64_t cols,
                      size_t size)
{
    switch (size) {
    case 1: TILE_LOOP(1) break;
    case 4: TILE_LOOP(4) break;
    case 8: TILE_LOOP(8) break;
    default: {
        int64_t sz = (int64_t)size;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) memcpy(dst + (i * drow + j) * sz, src + (i + j * scol) * sz, size);
    }
    }
}
#undef TILE_LOOP
#undef TILE

/* dst[sum_k i_k * ds[k]] = src[sum_k i_k * ss[k]] for every index i of the box `shape`
 * (ndim <= JAG_MAX_DIMS, strides in elements, possibly 0 on the source side). */
static void copy_strided(void *dst_, const void *src_, int32_t ndim, const int64_t *shape, const int64_t *ds,
                         const int64_t *ss, size_t size)
{
    uint8_t *dst = dst_;
    const uint8_t *src = src_;
    int64_t n[JAG_MAX_DIMS], d[JAG_MAX_DIMS], s[JAG_MAX_DIMS];
    int32_t r = 0;
    for (int32_t k = 0; k < ndim; k++) {
        if (shape[k] == 0) return;
        if (shape[k] == 1) continue;
        if (r > 0 && d[r - 1] == ds[k] * shape[k] && s[r - 1] == ss[k] * shape[k]) {
            n[r - 1] *= shape[k];   /* dim r-1 steps over whole runs of dim k: one dim */
            d[r - 1] = ds[k];
            s[r - 1] = ss[k];
        } else {
            n[r] = shape[k];
            d[r] = ds[k];
            s[r] = ss[k];
            r++;
        }
    }
    if (r == 0) {
        memcpy(dst, src, size);
        return;
    }
    /* choose the inner kernel; the outer dims [0, outer) are walked with counters */
    enum { RUN_COPY, RUN_FILL, RUN_TILE, RUN_STRIDED } kind;
    int32_t outer;
    int64_t inner_n = n[r - 1];
    if (d[r - 1] == 1 && s[r - 1] == 1) {
        kind = RUN_COPY, outer = r - 1;
    } else if (d[r - 1] == 1 && s[r - 1] == 0) {
        kind = RUN_FILL, outer = r - 1;
    } else if (r >= 2 && d[r - 1] == 1 && s[r - 2] == 1) {
        kind = RUN_TILE, outer = r - 2;
    } else {
        kind = RUN_STRIDED, outer = r - 1;
    }
    int64_t idx[JAG_MAX_DIMS] = {0};
    int64_t doff = 0, soff = 0;   /* element offsets */
    int64_t sz = (int64_t)size;
    for (;;) {
        uint8_t *dp = dst + doff * sz;
        const uint8_t *sp = src + soff * sz;
        switch (kind) {
        case RUN_COPY: memcpy(dp, sp, (size_t)inner_n * size); break;
        case RUN_FILL: fill_elems(dp, inner_n, sp, size); break;
        case RUN_TILE: copy_tile(dp, d[r - 2], sp, s[r - 1], n[r - 2], inner_n, size); break;
        case RUN_STRIDED: copy_run(dp, d[r - 1], sp, s[r - 1], inner_n, size); break;
        }
        int32_t k = outer - 1;
        for (; k >= 0; k--) {
            doff += d[k];
            soff += s[k];
            if (++idx[k] < n[k]) break;
            doff -= d[k] * n[k];
            soff -= s[k] * n[k];
            idx[k] = 0;
        }
        if (k < 0) break;
    }
}

/* ---------------------------------------------------------------- reshape
 * x: any dtype, any shape -> y: same elements in row-major order with shape attr "shape"
 * (dims, at most one -1 inferred). Python rule: two -1 or a dim < -1 is E_ATTR; -1 with
 * the other dims multiplying to 0, or a count mismatch, is E_SHAPE. */
enum jag_status jag_prepare_reshape(struct jag_exec *x)
{
    int64_t t[JAG_MAX_DIMS];
    int32_t n;
    char a[256], b[256];
    enum jag_status st = jag_exec_dims(x, JAG_ATTR_RESHAPE_SHAPE, t, &n);
    if (st != JAG_STATUS_OK) return st;
    const struct jag_value *in = x->in[0];
    int32_t hole = -1, holes = 0;
    for (int32_t i = 0; i < n; i++)
        if (t[i] == -1) hole = i, holes++;
    if (holes > 1)
        return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'shape' %s has more than one -1", ints_str(t, n, a, sizeof a));
    for (int32_t i = 0; i < n; i++)
        if (t[i] < -1)
            return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'shape' %s has a negative dim", ints_str(t, n, a, sizeof a));
    int64_t count = in->numel;
    if (hole >= 0) {
        int64_t known;
        bool fits = dims_product(t, n, hole, &known);
        if (fits && known == 0)
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "cannot infer -1 in %s: the other dims multiply to 0",
                                 ints_str(t, n, a, sizeof a));
        if (!fits ? count != 0 : count % known != 0)
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "cannot reshape %s (%lld elements) to %s",
                                 jag_shape_str(in->shape, in->ndim, a, sizeof a), (long long)count,
                                 ints_str(t, n, b, sizeof b));
        t[hole] = fits ? count / known : 0;
    }
    int64_t total;
    if (!dims_product(t, n, -1, &total) || total != count)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "cannot reshape %s to %s: element counts differ",
                             jag_shape_str(in->shape, in->ndim, a, sizeof a), ints_str(t, n, b, sizeof b));
    return jag_exec_set_shape(x, 0, n, t);
}

enum jag_status jag_eval_reshape(struct jag_exec *x)
{
    if (x->out[0]->nbytes) memcpy(x->out[0]->data, x->in[0]->data, x->out[0]->nbytes);
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- transpose
 * x: any dtype, rank r -> y with y.shape[i] = x.shape[perm[i]] (numpy.transpose). perm
 * null reverses the dims; otherwise it must be a permutation of range(r), negative
 * entries counting from the end (E_ATTR). params[0..r) = the normalised perm. */
enum jag_status jag_prepare_transpose(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    const struct jag_attr *perm = JAG_ATTR(x, JAG_ATTR_TRANSPOSE_PERM);
    int32_t r = in->ndim;
    int64_t *p = x->node->params;
    if (perm->is_null) {
        for (int32_t i = 0; i < r; i++) p[i] = r - 1 - i;
    } else {
        bool ok = perm->n == r;
        bool seen[JAG_MAX_DIMS] = {false};
        for (int32_t i = 0; ok && i < r; i++) {
            int64_t v = perm->ints[i];
            if (v < -(int64_t)r || v >= r) {
                ok = false;
                break;
            }
            v = v < 0 ? v + r : v;
            if (seen[v]) ok = false;
            seen[v] = true;
            p[i] = v;
        }
        if (!ok) {
            char a[256];
            return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'perm' %s is not a permutation of range(%d)",
                                 ints_str(perm->ints, perm->n, a, sizeof a), (int)r);
        }
    }
    int64_t shape[JAG_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) shape[i] = in->shape[p[i]];
    return jag_exec_set_shape(x, 0, r, shape);
}

enum jag_status jag_eval_transpose(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    int64_t istr[JAG_MAX_DIMS], ss[JAG_MAX_DIMS], ds[JAG_MAX_DIMS];
    contiguous_strides(in->shape, in->ndim, istr);
    contiguous_strides(out->shape, out->ndim, ds);
    for (int32_t i = 0; i < out->ndim; i++) ss[i] = istr[x->node->params[i]];
    copy_strided(out->data, in->data, out->ndim, out->shape, ds, ss, itemsize(in->dtype));
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- broadcast_to
 * x: any dtype -> y of shape attr "shape" (dims, no -1) by numpy broadcasting: x's dims,
 * aligned to the right, must each equal the target dim or be 1. A negative target dim is
 * E_ATTR; a rank above the target's or a non-broadcastable dim is E_SHAPE. */
enum jag_status jag_prepare_broadcast_to(struct jag_exec *x)
{
    int64_t t[JAG_MAX_DIMS];
    int32_t n;
    char a[256], b[256];
    enum jag_status st = jag_exec_dims(x, JAG_ATTR_BROADCAST_TO_SHAPE, t, &n);
    if (st != JAG_STATUS_OK) return st;
    for (int32_t i = 0; i < n; i++)
        if (t[i] < 0)
            return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'shape' %s has a negative dim", ints_str(t, n, a, sizeof a));
    const struct jag_value *in = x->in[0];
    bool ok = in->ndim <= n;
    for (int32_t j = 0; ok && j < in->ndim; j++) {
        int64_t d = in->shape[j], e = t[j + n - in->ndim];
        if (d != e && d != 1) ok = false;
    }
    if (!ok)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 0 has shape %s; it does not broadcast to %s",
                             jag_shape_str(in->shape, in->ndim, a, sizeof a), ints_str(t, n, b, sizeof b));
    return jag_exec_set_shape(x, 0, n, t);
}

enum jag_status jag_eval_broadcast_to(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    int64_t ss[JAG_MAX_DIMS], ds[JAG_MAX_DIMS];
    jag_broadcast_strides(in, out->ndim, out->shape, ss);
    contiguous_strides(out->shape, out->ndim, ds);
    copy_strided(out->data, in->data, out->ndim, out->shape, ds, ss, itemsize(in->dtype));
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- slice
 * x: any dtype -> y = x[start:stop:step] on the listed axes (Python slice clamping; a stop
 * of INT64_MAX means "to the end"). Attr lengths must agree and steps be >= 1 (E_ATTR),
 * then axes are normalised (out of range or repeated: E_ATTR), as in _slice_specs.
 * params[0..r) = start per dim, params[JAG_MAX_DIMS..+r) = step per dim (1 when the
 * output has at most one element there, so that strides never overflow). */
enum jag_status jag_prepare_slice(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    const struct jag_attr *axes = JAG_ATTR(x, JAG_ATTR_SLICE_AXES);
    const struct jag_attr *starts = JAG_ATTR(x, JAG_ATTR_SLICE_STARTS);
    const struct jag_attr *stops = JAG_ATTR(x, JAG_ATTR_SLICE_STOPS);
    const struct jag_attr *steps = JAG_ATTR(x, JAG_ATTR_SLICE_STEPS);
    int32_t n = axes->n, n_steps = steps->is_null ? n : steps->n;
    if (starts->n != n || stops->n != n || n_steps != n)
        return jag_exec_fail(x, JAG_STATUS_E_ATTR,
                             "attrs 'axes', 'starts', 'stops', 'steps' must have equal lengths, got %d, %d, %d, %d",
                             (int)n, (int)starts->n, (int)stops->n, (int)n_steps);
    for (int32_t k = 0; k < n_steps && !steps->is_null; k++)
        if (steps->ints[k] < 1)
            return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'steps': step %lld must be >= 1 (reverse with gather)",
                                 (long long)steps->ints[k]);
    int32_t r = in->ndim;
    int64_t *start = x->node->params, *step = x->node->params + JAG_MAX_DIMS;
    int64_t shape[JAG_MAX_DIMS];
    bool used[JAG_MAX_DIMS] = {false};
    for (int32_t i = 0; i < r; i++) start[i] = 0, step[i] = 1, shape[i] = in->shape[i];
    for (int32_t k = 0; k < n; k++) {
        int32_t axis;
        enum jag_status st = jag_exec_axis(x, "axes", axes->ints[k], r, &axis);
        if (st != JAG_STATUS_OK) return st;
        if (used[axis]) return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'axes': axis %d appears twice", (int)axis);
        used[axis] = true;
        /* slice(start, stop, step).indices(d) for step >= 1 */
        int64_t d = in->shape[axis], lo = starts->ints[k], hi = stops->ints[k];
        int64_t st_ = steps->is_null ? 1 : steps->ints[k];
        if (lo < 0) {
            lo += d;
            if (lo < 0) lo = 0;
        } else if (lo > d) {
            lo = d;
        }
        if (hi < 0) {
            hi += d;
            if (hi < 0) hi = 0;
        } else if (hi > d) {
            hi = d;
        }
        int64_t len = hi > lo ? (hi - lo - 1) / st_ + 1 : 0;
        start[axis] = lo;
        step[axis] = len > 1 ? st_ : 1;
        shape[axis] = len;
    }
    return jag_exec_set_shape(x, 0, r, shape);
}

enum jag_status jag_eval_slice(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    const int64_t *start = x->node->params, *step = x->node->params + JAG_MAX_DIMS;
    int64_t istr[JAG_MAX_DIMS], ss[JAG_MAX_DIMS], ds[JAG_MAX_DIMS];
    int32_t r = in->ndim;
    contiguous_strides(in->shape, r, istr);
    contiguous_strides(out->shape, r, ds);
    int64_t off = 0;
    for (int32_t i = 0; i < r; i++) {
        ss[i] = istr[i] * step[i];
        off += start[i] * istr[i];
    }
    size_t size = itemsize(in->dtype);
    copy_strided(out->data, (const uint8_t *)in->data + (size_t)off * size, r, out->shape, ds, ss, size);
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- pad
 * x: any dtype, rank r -> y with y.shape[i] = lo_i + hi_i + d_i + max(d_i - 1, 0) * mid_i,
 * where pads = [lo_0, hi_0, lo_1, hi_1, ...] (2r values) and interior = [mid_0, ...] (r
 * values, null = 0): x[j] lands at lo + j * (mid + 1); everything else is `value`,
 * converted to x's dtype as cast does (float -> int: truncate, NaN -> 0, saturate; bool:
 * nonzero, NaN included). Wrong lengths or negative entries are E_ATTR. */

/* The fill value as cast(float64 v, dtype) gives it, as bytes of one element. */
static void pad_value_bytes(double v, enum jag_dtype dt, uint8_t out[8])
{
    double t = trunc(v);
    switch (dt) {
    case JAG_DTYPE_FLOAT32: {
        float f;
        if (v >= 0x1.ffffffp127)        /* FLT_MAX + half an ulp and above round to inf */
            f = INFINITY;
        else if (v <= -0x1.ffffffp127)
            f = -INFINITY;
        else if (v > FLT_MAX)
            f = FLT_MAX;
        else if (v < -FLT_MAX)
            f = -FLT_MAX;
        else
            f = (float)v;               /* NaN stays NaN */
        memcpy(out, &f, 4);
        break;
    }
    case JAG_DTYPE_FLOAT64: memcpy(out, &v, 8); break;
    case JAG_DTYPE_INT32: {
        int32_t i = isnan(t) ? 0 : t >= 2147483647.0 ? INT32_MAX : t <= -2147483648.0 ? INT32_MIN : (int32_t)t;
        memcpy(out, &i, 4);
        break;
    }
    case JAG_DTYPE_INT64: {
        int64_t i = isnan(t) ? 0 : t >= 0x1p63 ? INT64_MAX : t <= -0x1p63 ? INT64_MIN : (int64_t)t;
        memcpy(out, &i, 8);
        break;
    }
    case JAG_DTYPE_UINT8: out[0] = isnan(t) ? 0 : t >= 255.0 ? 255 : t <= 0.0 ? 0 : (uint8_t)t; break;
    case JAG_DTYPE_BOOL: out[0] = v != 0.0; break;   /* NaN != 0 */
    default: memset(out, 0, 8); break;
    }
}

enum jag_status jag_prepare_pad(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    const struct jag_attr *pads = JAG_ATTR(x, JAG_ATTR_PAD_PADS);
    const struct jag_attr *interior = JAG_ATTR(x, JAG_ATTR_PAD_INTERIOR);
    int32_t r = in->ndim;
    if (pads->n != 2 * r)
        return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'pads' needs 2*rank = %d values, got %d", (int)(2 * r),
                             (int)pads->n);
    if (!interior->is_null && interior->n != r)
        return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'interior' needs rank = %d values, got %d", (int)r,
                             (int)interior->n);
    bool neg = false;
    for (int32_t k = 0; k < pads->n; k++) neg = neg || pads->ints[k] < 0;
    for (int32_t k = 0; !interior->is_null && k < interior->n; k++) neg = neg || interior->ints[k] < 0;
    if (neg) return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attrs 'pads' and 'interior' must be non-negative");
    int64_t shape[JAG_MAX_DIMS];
    for (int32_t i = 0; i < r; i++) {
        int64_t d = in->shape[i], lo = pads->ints[2 * i], hi = pads->ints[2 * i + 1];
        int64_t mid = interior->is_null ? 0 : interior->ints[i], v;
        if (!jag_mul_i64(d > 0 ? d - 1 : 0, mid, &v) || !jag_add_i64(v, d, &v) || !jag_add_i64(v, lo, &v) ||
            !jag_add_i64(v, hi, &v)) {
            char a[256];
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "padding %s overflows int64 on axis %d",
                                 jag_shape_str(in->shape, r, a, sizeof a), (int)i);
        }
        shape[i] = v;
    }
    return jag_exec_set_shape(x, 0, r, shape);
}

enum jag_status jag_eval_pad(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    const struct jag_attr *pads = JAG_ATTR(x, JAG_ATTR_PAD_PADS);
    const struct jag_attr *interior = JAG_ATTR(x, JAG_ATTR_PAD_INTERIOR);
    size_t size = itemsize(in->dtype);
    uint8_t val[8];
    pad_value_bytes(JAG_ATTR(x, JAG_ATTR_PAD_VALUE)->f, in->dtype, val);
    fill_elems(out->data, out->numel, val, size);
    if (in->numel == 0) return JAG_STATUS_OK;
    int32_t r = in->ndim;
    int64_t ostr[JAG_MAX_DIMS], ds[JAG_MAX_DIMS], ss[JAG_MAX_DIMS];
    contiguous_strides(out->shape, r, ostr);
    contiguous_strides(in->shape, r, ss);
    int64_t off = 0;
    for (int32_t i = 0; i < r; i++) {
        int64_t mid = interior->is_null ? 0 : interior->ints[i];
        ds[i] = in->shape[i] > 1 ? ostr[i] * (mid + 1) : ostr[i];
        off += pads->ints[2 * i] * ostr[i];
    }
    copy_strided((uint8_t *)out->data + (size_t)off * size, in->data, r, in->shape, ds, ss, size);
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- concat
 * xs: one or more arrays of one dtype and rank >= 1 (a scalar is E_SHAPE) that agree on
 * every dim but `axis` (E_SHAPE) -> y joined along axis (numpy.concatenate). Each input
 * is copied as outer runs of x.shape[axis] * inner elements. params[0] = axis. */
enum jag_status jag_prepare_concat(struct jag_exec *x)
{
    const struct jag_value *first = x->in[0];
    int32_t r = first->ndim, axis;
    if (r == 0) return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "concat needs inputs of rank >= 1, got a scalar");
    enum jag_status st = jag_exec_axis(x, "axis", JAG_ATTR(x, JAG_ATTR_CONCAT_AXIS)->i, r, &axis);
    if (st != JAG_STATUS_OK) return st;
    int64_t total = 0;
    for (int32_t i = 0; i < x->n_in; i++) {
        const struct jag_value *v = x->in[i];
        bool ok = v->ndim == r;
        for (int32_t k = 0; ok && k < r; k++) ok = k == axis || v->shape[k] == first->shape[k];
        if (!ok) {
            char a[256], b[320];
            size_t used = 0;
            b[0] = '\0';
            for (int32_t k = 0; k < r && used < sizeof b; k++) {
                char dim[32];
                if (k == axis)
                    snprintf(dim, sizeof dim, "*");
                else
                    snprintf(dim, sizeof dim, "%lld", (long long)first->shape[k]);
                used += (size_t)snprintf(b + used, sizeof b - used, "%s%s", k ? "," : "[", dim);
            }
            if (used < sizeof b) snprintf(b + used, sizeof b - used, "]");
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input %d has shape %s; expected %s", (int)i,
                                 jag_shape_str(v->shape, v->ndim, a, sizeof a), b);
        }
        if (!jag_add_i64(total, v->shape[axis], &total))
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the concatenated axis %d overflows int64", (int)axis);
    }
    int64_t shape[JAG_MAX_DIMS];
    for (int32_t k = 0; k < r; k++) shape[k] = first->shape[k];
    shape[axis] = total;
    x->node->params[0] = axis;
    return jag_exec_set_shape(x, 0, r, shape);
}

enum jag_status jag_eval_concat(struct jag_exec *x)
{
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    int32_t axis = (int32_t)x->node->params[0], r = out->ndim;
    size_t size = itemsize(out->dtype);
    int64_t outer = 1, inner = 1;
    for (int32_t k = 0; k < axis; k++) outer *= out->shape[k];
    for (int32_t k = axis + 1; k < r; k++) inner *= out->shape[k];
    size_t row = (size_t)(out->shape[axis] * inner) * size;   /* bytes of one outer step of y */
    uint8_t *dst = out->data;
    size_t off = 0;
    for (int32_t i = 0; i < x->n_in; i++) {
        const struct jag_value *v = x->in[i];
        size_t run = (size_t)(v->shape[axis] * inner) * size;
        if (run) {
            const uint8_t *src = v->data;
            if (outer == 1) {
                memcpy(dst + off, src, run);
            } else {
                for (int64_t o = 0; o < outer; o++) memcpy(dst + (size_t)o * row + off, src + (size_t)o * run, run);
            }
        }
        off += run;
    }
    return JAG_STATUS_OK;
}

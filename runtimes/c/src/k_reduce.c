/*
 * k_reduce.c — reduction and normalisation kernels: reduce_sum, reduce_max, reduce_min,
 * reduce_mean, argmax, softmax, log_softmax, layer_norm.
 *
 * Semantics: python/jag/ops/core.py (reduce_sum = numpy.sum with dtype=x.dtype, reduce_max =
 * numpy.max with initial = the dtype's lowest value) and python/jag/ops/composite.py (the
 * others); NaN policy of spec/README.md §9 (max/min propagate NaN, argmax takes the first NaN).
 *
 * Reductions view the input as groups of adjacent axes that are all reduced or all kept
 * (size-1 axes dropped, neighbours of the same kind merged, so kinds alternate). The
 * innermost group is contiguous: when it is reduced, each contiguous row folds into one
 * output element (multi-lane loops that vectorise); when it is kept, the rows of the reduced
 * group before it are folded elementwise into a row of accumulators, four rows per pass (a
 * vectorisable loop). An odometer over the outer groups gives the output offset.
 * Float32 sums accumulate in double (more accurate than numpy's pairwise float32 sum; the
 * "accumulate" tolerance allows it); float64 sums of contiguous rows are pairwise.
 *
 * softmax / log_softmax / argmax view the input as [outer, n, inner] around their axis;
 * inner == 1 (the last axis, the transformer case) runs contiguous row loops, otherwise the
 * n rows of each block are combined elementwise with small per-block scratch rows. Their
 * exp is an inline polynomial (about 1 ulp) that vectorises, unlike libm's.
 * layer_norm normalises dims axis..rank-1, always a contiguous block.
 */
#include "jag_internal.h"

#include <math.h>
#include <string.h>

#define LANES 16

/* ---------------------------------------------------------------- elementwise combiners */

/* max / min that propagate NaN from either side. Which of two equal values (-0.0 and 0.0)
 * wins is unspecified, as in numpy (its SIMD loops differ by length). */
static inline float  maxp_f32(float a, float v)    { return (v >= a || v != v) ? v : a; }
static inline double maxp_f64(double a, double v)  { return (v >= a || v != v) ? v : a; }
static inline float  minp_f32(float a, float v)    { return (v <= a || v != v) ? v : a; }
static inline double minp_f64(double a, double v)  { return (v <= a || v != v) ? v : a; }
static inline int32_t maxp_i32(int32_t a, int32_t v) { return v > a ? v : a; }
static inline int64_t maxp_i64(int64_t a, int64_t v) { return v > a ? v : a; }
static inline uint8_t maxp_u8(uint8_t a, uint8_t v)  { return v > a ? v : a; }

/* Sums; integers wrap (two's complement) through unsigned arithmetic. */
static inline double   add_f64(double a, double b)     { return a + b; }
static inline uint32_t add_u32(uint32_t a, uint32_t b) { return a + b; }
static inline uint64_t add_u64(uint64_t a, uint64_t b) { return a + b; }
static inline uint8_t  add_u8(uint8_t a, uint8_t b)    { return (uint8_t)(a + b); }

/* ---------------------------------------------------------------- contiguous row folds */

static inline double lanes_sum(const double *s)
{
    double t[LANES / 2];
    for (int k = 0; k < LANES / 2; k++) t[k] = s[k] + s[k + LANES / 2];
    for (int k = 0; k < LANES / 4; k++) t[k] = t[k] + t[k + LANES / 4];
    return ((t[0] + t[2]) + (t[1] + t[3]));
}

/* Sum of a float32 row in double. */
static double sum_row_f32(const float *restrict x, int64_t n)
{
    double s[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) s[k] += (double)x[i + k];
    double t = 0;
    for (; i < n; i++) t += (double)x[i];
    return lanes_sum(s) + t;
}

/* Pairwise sum of a float64 row (blocks of <= 512 summed in LANES lanes). */
static double sum_row_f64(const double *restrict x, int64_t n)
{
    if (n > 512) {
        int64_t h = (n / 2) / LANES * LANES;
        return sum_row_f64(x, h) + sum_row_f64(x + h, n - h);
    }
    double s[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) s[k] += x[i + k];
    double t = 0;
    for (; i < n; i++) t += x[i];
    return lanes_sum(s) + t;
}

#define DEF_SUM_ROW_INT(SUF, T, U)                                      \
    static U sum_row_##SUF(const T *restrict x, int64_t n)               \
    {                                                                    \
        U s = 0;                                                         \
        for (int64_t i = 0; i < n; i++) s = (U)(s + (U)x[i]);            \
        return s;                                                        \
    }
DEF_SUM_ROW_INT(i32, int32_t, uint32_t)
DEF_SUM_ROW_INT(i64, int64_t, uint64_t)
DEF_SUM_ROW_INT(u8, uint8_t, uint8_t)

/* Max / min of a float row, NaN-propagating. Blocks of FOLD_BLOCK are folded elementwise
 * into partial maxima with the plain `v > m ? v : m` (a vmaxps) and a separate NaN catcher,
 * a loop the vectoriser handles (lane-unrolled reductions of compound conditions it does
 * not); short rows take a simple loop. */
#define FOLD_BLOCK 64
#define DEF_MINMAX_ROW_F(NAME, T, OP, COMBP, ID)                                   \
    static T NAME(const T *restrict x, int64_t n)                                  \
    {                                                                              \
        T r = (ID);                                                                \
        int64_t i = 0;                                                             \
        if (n >= FOLD_BLOCK) {                                                     \
            T m[FOLD_BLOCK], nan_[FOLD_BLOCK];                                     \
            for (int k = 0; k < FOLD_BLOCK; k++) { m[k] = (ID); nan_[k] = 0; }     \
            for (; i + FOLD_BLOCK <= n; i += FOLD_BLOCK) {                         \
                const T *restrict xb = x + i;                                      \
                for (int k = 0; k < FOLD_BLOCK; k++) {                             \
                    T v = xb[k];                                                   \
                    m[k] = v OP m[k] ? v : m[k];                                   \
                    nan_[k] = v != v ? v : nan_[k];                                \
                }                                                                  \
            }                                                                      \
            for (int k = 0; k < FOLD_BLOCK; k++)                                   \
                m[k] = nan_[k] != nan_[k] ? nan_[k] : m[k];                        \
            for (int w = FOLD_BLOCK / 2; w > 0; w /= 2) /* tree: short latency */  \
                for (int k = 0; k < w; k++) m[k] = COMBP(m[k], m[k + w]);          \
            r = m[0];                                                              \
        }                                                                          \
        for (; i < n; i++) r = COMBP(r, x[i]);                                     \
        return r;                                                                  \
    }
DEF_MINMAX_ROW_F(max_row_f32, float, >, maxp_f32, -INFINITY)
DEF_MINMAX_ROW_F(max_row_f64, double, >, maxp_f64, -INFINITY)
DEF_MINMAX_ROW_F(min_row_f32, float, <, minp_f32, INFINITY)
DEF_MINMAX_ROW_F(min_row_f64, double, <, minp_f64, INFINITY)

#define DEF_MAX_ROW_INT(NAME, T, ID)                                     \
    static T NAME(const T *restrict x, int64_t n)                        \
    {                                                                    \
        T r = (ID);                                                      \
        for (int64_t i = 0; i < n; i++) r = x[i] > r ? x[i] : r;         \
        return r;                                                        \
    }
DEF_MAX_ROW_INT(max_row_i32, int32_t, INT32_MIN)
DEF_MAX_ROW_INT(max_row_i64, int64_t, INT64_MIN)
DEF_MAX_ROW_INT(max_row_u8, uint8_t, 0)

/* ---------------------------------------------------------------- reduction plan */

struct red_plan {
    int32_t g;                          /* merged groups (>= 1)                       */
    bool    inner_reduced;              /* the innermost group is reduced             */
    int64_t dim[JAG_MAX_DIMS];          /* group sizes                                */
    int64_t ostride[JAG_MAX_DIMS];      /* output element stride, 0 on reduced groups */
};

/* Groups of a non-empty input with reduced-axis mask `mask` (0/1 per axis). */
static void red_plan_make(const struct jag_value *in, const int64_t *mask, struct red_plan *p)
{
    bool kind[JAG_MAX_DIMS];
    int32_t g = 0;
    for (int32_t i = 0; i < in->ndim; i++) {
        if (in->shape[i] == 1) continue;
        bool k = mask[i] != 0;
        if (g > 0 && kind[g - 1] == k) {
            p->dim[g - 1] *= in->shape[i];
        } else {
            kind[g] = k;
            p->dim[g++] = in->shape[i];
        }
    }
    if (g == 0) {                       /* one element: a kept group of size 1 */
        kind[0] = false;
        p->dim[0] = 1;
        g = 1;
    }
    int64_t s = 1;
    for (int32_t i = g - 1; i >= 0; i--) {
        p->ostride[i] = kind[i] ? 0 : s;
        if (!kind[i]) s *= p->dim[i];
    }
    p->g = g;
    p->inner_reduced = kind[g - 1];
}

/* Odometer step over groups top..0: advance the output offset o (counters in cnt). */
#define RED_STEP(p, top, cnt, o)                              \
    for (int32_t k_ = (top); k_ >= 0; k_--) {                 \
        (o) += (p)->ostride[k_];                              \
        if (++(cnt)[k_] < (p)->dim[k_]) break;                \
        (cnt)[k_] = 0;                                        \
        (o) -= (p)->ostride[k_] * (p)->dim[k_];               \
    }

/* Fold x (plan p) into acc (output-shaped, pre-filled with the identity) with COMB.
 * Innermost group reduced: ROW folds each contiguous row into one element.
 * Innermost group kept (length L): the group before it (reduced, R rows) is folded
 * elementwise into the L accumulators, four rows per pass. */
#define DEF_REDUCE(NAME, T, A, ROW, COMB)                                                  \
    static void NAME(const struct red_plan *p, const T *restrict x, A *restrict acc)       \
    {                                                                                      \
        int64_t L = p->dim[p->g - 1], cnt[JAG_MAX_DIMS] = {0}, o = 0;                      \
        if (p->inner_reduced) {                                                            \
            int64_t nseg = 1;                                                              \
            for (int32_t k = 0; k < p->g - 1; k++) nseg *= p->dim[k];                      \
            for (int64_t s = 0; s < nseg; s++, x += L) {                                   \
                acc[o] = COMB(acc[o], ROW(x, L));                                          \
                RED_STEP(p, p->g - 2, cnt, o)                                              \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        int64_t R = p->g >= 2 ? p->dim[p->g - 2] : 1, nblk = 1;                            \
        for (int32_t k = 0; k < p->g - 2; k++) nblk *= p->dim[k];                          \
        for (int64_t s = 0; s < nblk; s++) {                                               \
            A *restrict a = acc + o;                                                       \
            int64_t r = 0;                                                                 \
            for (; r + 4 <= R; r += 4, x += 4 * L) {                                       \
                const T *restrict x1 = x + L, *restrict x2 = x + 2 * L, *restrict x3 = x + 3 * L; \
                for (int64_t j = 0; j < L; j++)                                            \
                    a[j] = COMB(a[j], COMB(COMB((A)x[j], (A)x1[j]), COMB((A)x2[j], (A)x3[j]))); \
            }                                                                              \
            for (; r < R; r++, x += L)                                                     \
                for (int64_t j = 0; j < L; j++) a[j] = COMB(a[j], (A)x[j]);                \
            RED_STEP(p, p->g - 3, cnt, o)                                                  \
        }                                                                                  \
    }
DEF_REDUCE(red_sum_f32, float, double, sum_row_f32, add_f64)
DEF_REDUCE(red_sum_f64, double, double, sum_row_f64, add_f64)
DEF_REDUCE(red_sum_i32, int32_t, uint32_t, sum_row_i32, add_u32)
DEF_REDUCE(red_sum_i64, int64_t, uint64_t, sum_row_i64, add_u64)
DEF_REDUCE(red_sum_u8, uint8_t, uint8_t, sum_row_u8, add_u8)
DEF_REDUCE(red_max_f32, float, float, max_row_f32, maxp_f32)
DEF_REDUCE(red_max_f64, double, double, max_row_f64, maxp_f64)
DEF_REDUCE(red_max_i32, int32_t, int32_t, max_row_i32, maxp_i32)
DEF_REDUCE(red_max_i64, int64_t, int64_t, max_row_i64, maxp_i64)
DEF_REDUCE(red_max_u8, uint8_t, uint8_t, max_row_u8, maxp_u8)
DEF_REDUCE(red_min_f32, float, float, min_row_f32, minp_f32)
DEF_REDUCE(red_min_f64, double, double, min_row_f64, minp_f64)

/* A float32 sum whose rows map one-to-one onto output elements ([kept, reduced] or one
 * reduced group) needs no double accumulator. */
static bool red_direct(const struct red_plan *p)
{
    return p->inner_reduced && p->g <= 2;
}

enum red_kind { RED_SUM, RED_MEAN, RED_MAX, RED_MIN };

/* Shape rule "reduce", plus a double accumulator for float32 sums/means that need one. */
static enum jag_status prepare_reduce(struct jag_exec *x, enum red_kind kind)
{
    enum jag_status s = jag_rule_reduce(x);
    if (s != JAG_STATUS_OK) return s;
    x->node->scratch_bytes = 0;
    const struct jag_value *in = x->in[0];
    if ((kind == RED_SUM || kind == RED_MEAN) && in->dtype == JAG_DTYPE_FLOAT32 && in->numel > 0 &&
        x->out[0]->numel > 0) {
        struct red_plan p;
        red_plan_make(in, x->node->params, &p);
        if (!red_direct(&p)) x->node->scratch_bytes = (size_t)x->out[0]->numel * sizeof(double);
    }
    return JAG_STATUS_OK;
}

#define FILL(T, ptr, n, v) do { T *f_ = (T *)(ptr); T v_ = (v); for (int64_t i_ = 0; i_ < (n); i_++) f_[i_] = v_; } while (0)

/* Empty reduction (input has no element, output has some): the identity, or NaN for mean. */
static void red_fill_empty(struct jag_value *out, enum red_kind kind)
{
    int64_t n = out->numel;
    switch (out->dtype) {
    case JAG_DTYPE_FLOAT32:
        FILL(float, out->data, n, kind == RED_SUM ? 0.0f : kind == RED_MAX ? -INFINITY : kind == RED_MIN ? INFINITY : NAN);
        break;
    case JAG_DTYPE_FLOAT64:
        FILL(double, out->data, n, kind == RED_SUM ? 0.0 : kind == RED_MAX ? -INFINITY : kind == RED_MIN ? INFINITY : NAN);
        break;
    case JAG_DTYPE_INT32: FILL(int32_t, out->data, n, kind == RED_SUM ? 0 : INT32_MIN); break;
    case JAG_DTYPE_INT64: FILL(int64_t, out->data, n, kind == RED_SUM ? 0 : INT64_MIN); break;
    case JAG_DTYPE_UINT8:
    case JAG_DTYPE_BOOL:  memset(out->data, 0, out->nbytes); break;
    default: break;
    }
}

/* sum / mean: float32 through a double accumulator (scratch, or direct rows). */
static void red_sum_mean_f32(struct jag_exec *x, const struct red_plan *p, bool mean)
{
    const float *in = x->in[0]->data;
    float *y = x->out[0]->data;
    int64_t n = x->out[0]->numel;
    float count = (float)(x->in[0]->numel / n);
    if (red_direct(p)) {
        int64_t L = p->dim[p->g - 1];
        for (int64_t i = 0; i < n; i++) {
            float s = (float)sum_row_f32(in + i * L, L);
            y[i] = mean ? s / count : s;
        }
        return;
    }
    double *acc = x->scratch;
    memset(acc, 0, (size_t)n * sizeof(double));
    red_sum_f32(p, in, acc);
    if (mean)
        for (int64_t i = 0; i < n; i++) y[i] = (float)acc[i] / count;
    else
        for (int64_t i = 0; i < n; i++) y[i] = (float)acc[i];
}

static enum jag_status eval_reduce(struct jag_exec *x, enum red_kind kind)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    if (out->numel == 0) return JAG_STATUS_OK;
    if (in->numel == 0) {
        red_fill_empty(out, kind);
        return JAG_STATUS_OK;
    }
    struct red_plan p;
    red_plan_make(in, x->node->params, &p);
    int64_t n = out->numel;
    switch (in->dtype) {
    case JAG_DTYPE_FLOAT32:
        if (kind == RED_SUM || kind == RED_MEAN) {
            red_sum_mean_f32(x, &p, kind == RED_MEAN);
        } else {
            FILL(float, out->data, n, kind == RED_MAX ? -INFINITY : INFINITY);
            if (kind == RED_MAX) red_max_f32(&p, in->data, out->data);
            else red_min_f32(&p, in->data, out->data);
        }
        break;
    case JAG_DTYPE_FLOAT64:
        if (kind == RED_SUM || kind == RED_MEAN) {
            double *y = out->data;
            FILL(double, y, n, 0.0);
            red_sum_f64(&p, in->data, y);
            if (kind == RED_MEAN) {
                double count = (double)(in->numel / n);
                for (int64_t i = 0; i < n; i++) y[i] = y[i] / count;
            }
        } else {
            FILL(double, out->data, n, kind == RED_MAX ? -INFINITY : INFINITY);
            if (kind == RED_MAX) red_max_f64(&p, in->data, out->data);
            else red_min_f64(&p, in->data, out->data);
        }
        break;
    case JAG_DTYPE_INT32:               /* sums in uint32_t: the same bytes, wrapping */
        FILL(int32_t, out->data, n, kind == RED_SUM ? 0 : INT32_MIN);
        if (kind == RED_SUM) red_sum_i32(&p, in->data, out->data);
        else red_max_i32(&p, in->data, out->data);
        break;
    case JAG_DTYPE_INT64:
        FILL(int64_t, out->data, n, kind == RED_SUM ? 0 : INT64_MIN);
        if (kind == RED_SUM) red_sum_i64(&p, in->data, out->data);
        else red_max_i64(&p, in->data, out->data);
        break;
    case JAG_DTYPE_UINT8:
    case JAG_DTYPE_BOOL:                /* bool max = logical or of 0/1 bytes */
        memset(out->data, 0, out->nbytes);
        if (kind == RED_SUM) red_sum_u8(&p, in->data, out->data);
        else red_max_u8(&p, in->data, out->data);
        break;
    default:
        return jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "unexpected dtype");
    }
    return JAG_STATUS_OK;
}

/* reduce_sum: x [any numeric] -> sum over attr axes (null: all), keepdims; numpy.sum with
 * dtype=x.dtype: integers wrap; an empty reduction gives 0. */
enum jag_status jag_prepare_reduce_sum(struct jag_exec *x) { return prepare_reduce(x, RED_SUM); }
enum jag_status jag_eval_reduce_sum(struct jag_exec *x) { return eval_reduce(x, RED_SUM); }

/* reduce_mean: float only; reduce_sum / count (in x's dtype); an empty reduction gives NaN. */
enum jag_status jag_prepare_reduce_mean(struct jag_exec *x) { return prepare_reduce(x, RED_MEAN); }
enum jag_status jag_eval_reduce_mean(struct jag_exec *x) { return eval_reduce(x, RED_MEAN); }

/* reduce_max: all dtypes; NaN propagates; empty gives -inf, the minimum integer or false. */
enum jag_status jag_prepare_reduce_max(struct jag_exec *x) { return prepare_reduce(x, RED_MAX); }
enum jag_status jag_eval_reduce_max(struct jag_exec *x) { return eval_reduce(x, RED_MAX); }

/* reduce_min: float only; NaN propagates; empty gives +inf. */
enum jag_status jag_prepare_reduce_min(struct jag_exec *x) { return prepare_reduce(x, RED_MIN); }
enum jag_status jag_eval_reduce_min(struct jag_exec *x) { return eval_reduce(x, RED_MIN); }

/* ---------------------------------------------------------------- [outer, n, inner] views */

/* params[0..3) = outer, n, inner of x around axis. */
static void axis_view(struct jag_exec *x, int32_t axis)
{
    const struct jag_value *in = x->in[0];
    int64_t outer = 1, inner = 1;
    for (int32_t i = 0; i < axis; i++) outer *= in->shape[i];
    for (int32_t i = axis + 1; i < in->ndim; i++) inner *= in->shape[i];
    x->node->params[0] = outer;
    x->node->params[1] = in->shape[axis];
    x->node->params[2] = inner;
}

/* ---------------------------------------------------------------- exp for softmax */

static inline float f32_from_bits(uint32_t u)
{
    union { uint32_t u; float f; } c;
    c.u = u;
    return c.f;
}

/* a * b + c, fused when the hardware does it fast (C99 FP_FAST_FMAF), else two roundings. */
#ifdef FP_FAST_FMAF
#define MULADD_F32(a, b, c) fmaf((a), (b), (c))
#else
#define MULADD_F32(a, b, c) ((a) * (b) + (c))
#endif

/* exp(z) in float32 for softmax, where z = x - max is <= 0, -inf or NaN (right up to 88):
 * Cody-Waite reduction z = k ln2 + r, |r| <= ln2/2, the Cephes degree-7 polynomial (about
 * 1 ulp), times 2^k built from its bits. Results below 2^-126 (z < -87.3) come out as 0
 * or a normal number close to it (absolute error < 1.2e-38). Branch-free so that the
 * loops calling it vectorise (libm expf does not). */
static inline float exp_f32(float z)
{
    float zc = z > -88.0f ? z : -88.0f;                 /* maxps/minps: NaN -> -88, fixed below */
    zc = zc < 88.0f ? zc : 88.0f;
    float kf = (zc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;    /* round(z / ln2), |k| <= 127 */
    float r = MULADD_F32(kf, -0.693359375f, zc);
    r = MULADD_F32(kf, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = MULADD_F32(p, r, 1.3981999507e-3f);
    p = MULADD_F32(p, r, 8.3334519073e-3f);
    p = MULADD_F32(p, r, 4.1665795894e-2f);
    p = MULADD_F32(p, r, 1.6666665459e-1f);
    p = MULADD_F32(p, r, 5.0000001201e-1f);
    p = MULADD_F32(p, r * r, r) + 1.0f;
    int32_t k = (int32_t)kf;                            /* k = -127 gives the bits of +0.0 */
    float y = p * f32_from_bits((uint32_t)(k + 127) << 23);
    return z == z ? y : z;
}

#ifdef FP_FAST_FMA
#define MULADD_F64(a, b, c) fma((a), (b), (c))
#else
#define MULADD_F64(a, b, c) ((a) * (b) + (c))
#endif

static inline double f64_from_bits(uint64_t u)
{
    union { uint64_t u; double f; } c;
    c.u = u;
    return c.f;
}

/* exp(z) in float64 for softmax (z <= 0, -inf or NaN; right up to 709): z = k ln2 + r with
 * the fdlibm two-part ln2, exp(r) by its Taylor series to degree 13 (truncation < 1e-17,
 * about 1 ulp in all), times 2^k from its bits. Results below 3.3e-308 (z < -708) are 0.
 * Branch-free so that the loops calling it vectorise (libm exp does not). */
static inline double exp_f64(double z)
{
    double zc = z > -708.0 ? z : -708.0;                /* NaN -> -708, fixed below */
    zc = zc < 709.0 ? zc : 709.0;
    double kf = (zc * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;   /* round(z / ln2) */
    double r = MULADD_F64(kf, -6.93147180369123816490e-01, zc);
    r = MULADD_F64(kf, -1.90821492927058770002e-10, r);
    double p = 1.0 / 6227020800.0;                      /* 1/13! */
    p = MULADD_F64(p, r, 1.0 / 479001600.0);
    p = MULADD_F64(p, r, 1.0 / 39916800.0);
    p = MULADD_F64(p, r, 1.0 / 3628800.0);
    p = MULADD_F64(p, r, 1.0 / 362880.0);
    p = MULADD_F64(p, r, 1.0 / 40320.0);
    p = MULADD_F64(p, r, 1.0 / 5040.0);
    p = MULADD_F64(p, r, 1.0 / 720.0);
    p = MULADD_F64(p, r, 1.0 / 120.0);
    p = MULADD_F64(p, r, 1.0 / 24.0);
    p = MULADD_F64(p, r, 1.0 / 6.0);
    p = MULADD_F64(p, r, 0.5);
    p = MULADD_F64(p, r * r, r) + 1.0;
    int32_t k = (int32_t)kf;                            /* in [-1021, 1023] */
    double y = p * f64_from_bits((uint64_t)(k + 1023) << 52);
    y = z < -708.0 ? 0.0 : y;
    return z == z ? y : z;
}

/* ---------------------------------------------------------------- softmax, log_softmax */

/* Contiguous rows (axis is the last non-trivial one): y = exp(x - max) / sum, or
 * (x - max) - log(sum). The exponentials go to y first, then are summed in double. */
#define DEF_SOFTMAX_ROWS(SUF, T, EXP, LOG, SUMROW, MAXROW)                          \
    static void softmax_rows_##SUF(const T *restrict x, T *restrict y, int64_t rows, \
                                   int64_t n, bool log_)                              \
    {                                                                                 \
        for (int64_t r = 0; r < rows; r++, x += n, y += n) {                          \
            T m = MAXROW(x, n);                                                       \
            for (int64_t i = 0; i < n; i++) y[i] = EXP(x[i] - m);                     \
            T s = (T)SUMROW(y, n);                                                    \
            if (log_) {                                                               \
                T ls = LOG(s);                                                        \
                for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;               \
            } else {                                                                  \
                for (int64_t i = 0; i < n; i++) y[i] = y[i] / s;                      \
            }                                                                         \
        }                                                                             \
    }
DEF_SOFTMAX_ROWS(f32, float, exp_f32, logf, sum_row_f32, max_row_f32)
DEF_SOFTMAX_ROWS(f64, double, exp_f64, log, sum_row_f64, max_row_f64)

/* Strided: per block [n, inner], max and sums are rows of `inner` (scratch: double sum[inner]
 * then T mx[inner]). */
#define DEF_SOFTMAX_STRIDED(SUF, T, EXP, LOG, MAXP)                                            \
    static void softmax_strided_##SUF(const T *restrict x, T *restrict y, int64_t outer,        \
                                      int64_t n, int64_t inner, void *scratch, bool log_)      \
    {                                                                                          \
        double *sm = scratch;                                                                  \
        T *mx = (T *)(sm + inner);                                                             \
        for (int64_t b = 0; b < outer; b++, x += n * inner, y += n * inner) {                  \
            for (int64_t j = 0; j < inner; j++) { mx[j] = -INFINITY; sm[j] = 0; }              \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const T *xr = x + i * inner;                                                   \
                for (int64_t j = 0; j < inner; j++) mx[j] = MAXP(mx[j], xr[j]);                \
            }                                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const T *xr = x + i * inner;                                                   \
                T *yr = y + i * inner;                                                         \
                for (int64_t j = 0; j < inner; j++) {                                          \
                    yr[j] = EXP(xr[j] - mx[j]);                                                \
                    sm[j] += (double)yr[j];                                                    \
                }                                                                              \
            }                                                                                  \
            for (int64_t j = 0; j < inner; j++)                                                \
                sm[j] = log_ ? (double)LOG((T)sm[j]) : (double)(T)sm[j];                      \
            for (int64_t i = 0; i < n; i++) {                                                  \
                const T *xr = x + i * inner;                                                   \
                T *yr = y + i * inner;                                                         \
                if (log_)                                                                      \
                    for (int64_t j = 0; j < inner; j++) yr[j] = (xr[j] - mx[j]) - (T)sm[j];    \
                else                                                                           \
                    for (int64_t j = 0; j < inner; j++) yr[j] = yr[j] / (T)sm[j];              \
            }                                                                                  \
        }                                                                                      \
    }
DEF_SOFTMAX_STRIDED(f32, float, exp_f32, logf, maxp_f32)
DEF_SOFTMAX_STRIDED(f64, double, exp_f64, log, maxp_f64)

static enum jag_status prepare_softmax(struct jag_exec *x)
{
    enum jag_status s = jag_rule_same_axis(x);
    if (s != JAG_STATUS_OK) return s;
    int64_t a = x->node->attrs[0].i;
    axis_view(x, (int32_t)(a < 0 ? a + x->in[0]->ndim : a));
    int64_t inner = x->node->params[2];
    x->node->scratch_bytes = 0;
    if (inner > 1 && x->in[0]->numel > 0) x->node->scratch_bytes = (size_t)inner * (sizeof(double) + sizeof(double));
    return JAG_STATUS_OK;
}

static enum jag_status eval_softmax(struct jag_exec *x, bool log_)
{
    const struct jag_value *in = x->in[0];
    if (in->numel == 0) return JAG_STATUS_OK;
    int64_t outer = x->node->params[0], n = x->node->params[1], inner = x->node->params[2];
    bool f32 = in->dtype == JAG_DTYPE_FLOAT32;
    if (inner == 1) {
        if (f32) softmax_rows_f32(in->data, x->out[0]->data, outer, n, log_);
        else softmax_rows_f64(in->data, x->out[0]->data, outer, n, log_);
    } else {
        if (f32) softmax_strided_f32(in->data, x->out[0]->data, outer, n, inner, x->scratch, log_);
        else softmax_strided_f64(in->data, x->out[0]->data, outer, n, inner, x->scratch, log_);
    }
    return JAG_STATUS_OK;
}

/* softmax: x [float], axis -> y same shape: exp(x - max) / sum(exp(x - max)) along axis. */
enum jag_status jag_prepare_softmax(struct jag_exec *x) { return prepare_softmax(x); }
enum jag_status jag_eval_softmax(struct jag_exec *x) { return eval_softmax(x, false); }

/* log_softmax: x [float], axis -> (x - max) - log(sum(exp(x - max))) along axis. */
enum jag_status jag_prepare_log_softmax(struct jag_exec *x) { return prepare_softmax(x); }
enum jag_status jag_eval_log_softmax(struct jag_exec *x) { return eval_softmax(x, true); }

/* ---------------------------------------------------------------- layer_norm */

/* layer_norm: x [float], optional weight, bias with shape x.shape[axis:]; attrs axis,
 * epsilon. Over each contiguous block of dims axis..rank-1: mean = sum / n, var = mean of
 * (x - mean)^2 (biased), y = (x - mean) / sqrt(var + epsilon) * weight + bias, in x's
 * dtype as the numpy reference (sums in double). */
enum jag_status jag_prepare_layer_norm(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    int32_t axis;
    enum jag_status s = jag_exec_axis(x, "axis", JAG_ATTR(x, JAG_ATTR_LAYER_NORM_AXIS)->i, in->ndim, &axis);
    if (s != JAG_STATUS_OK) return s;
    for (int32_t k = 1; k < x->n_in; k++) {
        const struct jag_value *v = x->in[k];
        bool ok = v->ndim == in->ndim - axis;
        for (int32_t i = 0; ok && i < v->ndim; i++) ok = v->shape[i] == in->shape[axis + i];
        if (!ok) {
            char b1[256], b2[256];
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input %d has shape %s; expected %s (x.shape[axis:])", (int)k,
                                 jag_shape_str(v->shape, v->ndim, b1, sizeof b1),
                                 jag_shape_str(in->shape + axis, in->ndim - axis, b2, sizeof b2));
        }
    }
    int64_t inner = 1;
    for (int32_t i = axis; i < in->ndim; i++) inner *= in->shape[i];
    x->node->params[0] = inner;
    x->node->scratch_bytes = 0;
    return jag_exec_set_shape(x, 0, in->ndim, in->shape);
}

#define DEF_LAYER_NORM(SUF, T, SUMROW, SQRT)                                                     \
    static double sqdev_row_##SUF(const T *restrict x, int64_t n, T mean)                        \
    {                                                                                            \
        double s[LANES] = {0};                                                                   \
        int64_t i = 0;                                                                           \
        for (; i + LANES <= n; i += LANES)                                                       \
            for (int k = 0; k < LANES; k++) { T d = x[i + k] - mean; s[k] += (double)(d * d); }  \
        double t = 0;                                                                            \
        for (; i < n; i++) { T d = x[i] - mean; t += (double)(d * d); }                           \
        return lanes_sum(s) + t;                                                                 \
    }                                                                                            \
    static void layer_norm_##SUF(const T *restrict x, const T *restrict w, const T *restrict b,  \
                                 T *restrict y, int64_t rows, int64_t n, T eps)                  \
    {                                                                                            \
        T count = (T)n;                                                                          \
        for (int64_t r = 0; r < rows; r++, x += n, y += n) {                                     \
            T mean = (T)SUMROW(x, n) / count;                                                    \
            T var = (T)sqdev_row_##SUF(x, n, mean) / count;                                      \
            T den = SQRT(var + eps);                                                             \
            if (w && b)                                                                          \
                for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) / den * w[i] + b[i];        \
            else if (w)                                                                          \
                for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) / den * w[i];               \
            else if (b)                                                                          \
                for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) / den + b[i];               \
            else                                                                                 \
                for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) / den;                      \
        }                                                                                        \
    }
DEF_LAYER_NORM(f32, float, sum_row_f32, sqrtf)
DEF_LAYER_NORM(f64, double, sum_row_f64, sqrt)

enum jag_status jag_eval_layer_norm(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    if (in->numel == 0) return JAG_STATUS_OK;
    int64_t n = x->node->params[0], rows = in->numel / n;
    const void *w = x->n_in > 1 ? x->in[1]->data : NULL;
    const void *b = x->n_in > 2 ? x->in[2]->data : NULL;
    double eps = JAG_ATTR(x, JAG_ATTR_LAYER_NORM_EPSILON)->f;
    if (in->dtype == JAG_DTYPE_FLOAT32)
        layer_norm_f32(in->data, w, b, x->out[0]->data, rows, n, (float)eps);
    else
        layer_norm_f64(in->data, w, b, x->out[0]->data, rows, n, eps);
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- argmax */

/* argmax: x [numeric], axis, keepdims -> int64 index of the first maximum along axis
 * (numpy.argmax); the first NaN counts as the maximum. The axis must not be empty (E_SHAPE). */
enum jag_status jag_prepare_argmax(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    int32_t axis;
    enum jag_status s = jag_exec_axis(x, "axis", JAG_ATTR(x, JAG_ATTR_ARGMAX_AXIS)->i, in->ndim, &axis);
    if (s != JAG_STATUS_OK) return s;
    if (in->shape[axis] == 0) {
        char buf[256];
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "argmax over an empty axis %d of shape %s", (int)axis,
                             jag_shape_str(in->shape, in->ndim, buf, sizeof buf));
    }
    bool keep = JAG_ATTR(x, JAG_ATTR_ARGMAX_KEEPDIMS)->i != 0;
    int64_t shape[JAG_MAX_DIMS];
    int32_t nd = 0;
    for (int32_t i = 0; i < in->ndim; i++) {
        if (i != axis) shape[nd++] = in->shape[i];
        else if (keep) shape[nd++] = 1;
    }
    axis_view(x, axis);
    x->node->scratch_bytes = x->node->params[2] > 1 ? (size_t)x->node->params[2] * sizeof(double) : 0;
    return jag_exec_set_shape(x, 0, nd, shape);
}

/* BETTER(v, b): v replaces the best so far b (greater, or the first NaN). */
#define BETTER_F(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define BETTER_I(v, b) ((v) > (b))

#define DEF_ARGMAX(SUF, T, BETTER, ISNAN, MAXROW)                                                        \
    static void argmax_##SUF(const T *restrict x, int64_t *restrict y, int64_t outer, int64_t n, \
                             int64_t inner, T *restrict best)                                    \
    {                                                                                            \
        if (inner == 1) {                                                                        \
            for (int64_t r = 0; r < outer; r++, x += n) {                                        \
                T m = MAXROW(x, n);                                                              \
                int64_t i = 0;                                                                   \
                if (ISNAN(m)) {                                                                  \
                    while (!ISNAN(x[i])) i++;                                                    \
                } else {                                                                         \
                    for (; i + FOLD_BLOCK <= n; i += FOLD_BLOCK) { /* skip blocks without m */   \
                        int hit = 0;                                                             \
                        for (int k = 0; k < FOLD_BLOCK; k++) hit |= x[i + k] == m;               \
                        if (hit) break;                                                          \
                    }                                                                            \
                    while (x[i] != m) i++;                                                       \
                }                                                                                \
                y[r] = i;                                                                        \
            }                                                                                    \
            return;                                                                              \
        }                                                                                        \
        for (int64_t r = 0; r < outer; r++, x += n * inner, y += inner) {                        \
            for (int64_t j = 0; j < inner; j++) { best[j] = x[j]; y[j] = 0; }                    \
            for (int64_t i = 1; i < n; i++) {                                                    \
                const T *xr = x + i * inner;                                                     \
                for (int64_t j = 0; j < inner; j++) {                                            \
                    T v = xr[j], b = best[j];                                                    \
                    bool t = BETTER(v, b);                                                       \
                    best[j] = t ? v : b;                                                         \
                    y[j] = t ? i : y[j];                                                         \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }
#define ISNAN_F(v) ((v) != (v))
#define ISNAN_I(v) false
DEF_ARGMAX(f32, float, BETTER_F, ISNAN_F, max_row_f32)
DEF_ARGMAX(f64, double, BETTER_F, ISNAN_F, max_row_f64)
DEF_ARGMAX(i32, int32_t, BETTER_I, ISNAN_I, max_row_i32)
DEF_ARGMAX(i64, int64_t, BETTER_I, ISNAN_I, max_row_i64)
DEF_ARGMAX(u8, uint8_t, BETTER_I, ISNAN_I, max_row_u8)

enum jag_status jag_eval_argmax(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    if (x->out[0]->numel == 0) return JAG_STATUS_OK;
    int64_t outer = x->node->params[0], n = x->node->params[1], inner = x->node->params[2];
    int64_t *y = x->out[0]->data;
    switch (in->dtype) {
    case JAG_DTYPE_FLOAT32: argmax_f32(in->data, y, outer, n, inner, x->scratch); break;
    case JAG_DTYPE_FLOAT64: argmax_f64(in->data, y, outer, n, inner, x->scratch); break;
    case JAG_DTYPE_INT32:   argmax_i32(in->data, y, outer, n, inner, x->scratch); break;
    case JAG_DTYPE_INT64:   argmax_i64(in->data, y, outer, n, inner, x->scratch); break;
    case JAG_DTYPE_UINT8:   argmax_u8(in->data, y, outer, n, inner, x->scratch); break;
    default: return jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "unexpected dtype");
    }
    return JAG_STATUS_OK;
}

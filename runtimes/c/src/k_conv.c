/* k_conv.c — conv2d, max_pool2d and avg_pool2d kernels (NCHW, float32 / float64).
 *
 * Semantics and messages: python/jag/ops/composite.py (shape rules "conv2d" and "pool2d",
 * the numpy implementations), spec/OPS.md; NaN policy spec/README.md §9. Output size per
 * spatial axis: (d + lo + hi - dil*(k-1) - 1) // stride + 1, E_SHAPE when the window is
 * larger than the padded input. Pads are [top, left, bottom, right] (ONNX order).
 *
 * conv2d runs im2col (a block of output rows at a time, into scratch memory) followed by
 * the packed GEMM of k_linalg.c, per image and group; a 1x1 stride-1 unpadded conv uses
 * the input directly as the GEMM's B operand, and a depthwise conv (one input and one
 * output channel per group) runs direct loops.
 */
#include "jag_internal.h"

#include <math.h>
#include <string.h>


/* im2col column blocks hold about this many elements (at least one output row). */
#define JAG_CONV_COLS_BUDGET ((int64_t)1 << 20)

/* node->params layout shared by prepare and eval. */
enum {
    P_SH, P_SW, P_PT, P_PL, P_DH, P_DW, P_OH, P_OW, P_KH, P_KW,
    P_ROWS,         /* conv2d: output rows per im2col block (0: 1x1 GEMM, -1: depthwise) */
    P_COLS_BYTES    /* conv2d: bytes of the im2col block at the start of scratch */
};

static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }  /* a >= 0, b > 0 */
static int64_t round64(int64_t n) { return (n + 63) / 64 * 64; }

/* One spatial axis of the shape rule: d input, lo/hi pads, k taps, dilation, stride. */
static enum jag_status window_out(struct jag_exec *x, const char *axis, int64_t d, int64_t lo, int64_t hi, int64_t k,
                                  int64_t dil, int64_t stride, int64_t *out)
{
    int64_t padded, span, n;
    if (!jag_add_i64(d, lo, &padded) || !jag_add_i64(padded, hi, &padded))
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the padded %s (%lld + %lld + %lld) is too large", axis,
                             (long long)d, (long long)lo, (long long)hi);
    if (k >= 1) {
        if (!jag_mul_i64(dil, k - 1, &span) || span == INT64_MAX)
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the %s window (%lld taps, dilation %lld) is larger than the padded input (%lld)",
                                 axis, (long long)k, (long long)dil, (long long)padded);
        span += 1;
        n = padded - span;
    } else if (!jag_add_i64(padded, dil - 1, &n)) {   /* no taps: span 1 - dil */
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the padded %s (%lld) is too large", axis, (long long)padded);
    }
    if (n < 0)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the %s window (%lld taps, dilation %lld) is larger than the padded input (%lld)",
                             axis, (long long)k, (long long)dil, (long long)padded);
    if (n / stride == INT64_MAX)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the %s output size is too large", axis);
    *out = n / stride + 1;
    return JAG_STATUS_OK;
}

/* The spatial part shared by conv2d and the pools: reads pads/strides/dilations (strides
 * null = kernel, dilations attr < 0 = [1, 1]), checks height then width, fills params. */
static enum jag_status spatial(struct jag_exec *x, const struct jag_value *v, int64_t kh, int64_t kw, int32_t a_strides,
                               int32_t a_pads, int32_t a_dil)
{
    int64_t *P = x->node->params;
    const struct jag_attr *st = JAG_ATTR(x, a_strides), *pd = JAG_ATTR(x, a_pads);
    P[P_KH] = kh;
    P[P_KW] = kw;
    P[P_SH] = st->is_null ? kh : st->ints[0];
    P[P_SW] = st->is_null ? kw : st->ints[1];
    P[P_PT] = pd->ints[0];
    P[P_PL] = pd->ints[1];
    P[P_DH] = a_dil >= 0 ? JAG_ATTR(x, a_dil)->ints[0] : 1;
    P[P_DW] = a_dil >= 0 ? JAG_ATTR(x, a_dil)->ints[1] : 1;
    enum jag_status s = window_out(x, "height", v->shape[2], pd->ints[0], pd->ints[2], kh, P[P_DH], P[P_SH], &P[P_OH]);
    if (s == JAG_STATUS_OK)
        s = window_out(x, "width", v->shape[3], pd->ints[1], pd->ints[3], kw, P[P_DW], P[P_SW], &P[P_OW]);
    return s;
}

/* Taps t in [lo, hi) of an axis with base + t*step in [0, limit), t < k. */
static void tap_range(int64_t base, int64_t step, int64_t limit, int64_t k, int64_t *lo, int64_t *hi)
{
    int64_t a = base >= 0 ? 0 : ceil_div(-base, step);
    int64_t b = base >= limit ? 0 : ceil_div(limit - base, step);
    if (a > k) a = k;
    if (b > k) b = k;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* ---------------------------------------------------------------- conv2d
 * x [N, C, H, W], weight [O, C/groups, KH, KW] (any static shape), bias [O] ->
 * y [N, O, OH, OW]; y[n, o, i, j] = bias[o] + sum_{c,p,q} x_pad[n, g*C/groups + c,
 * i*sh + p*dh, j*sw + q*dw] * weight[o, c, p, q], g = o // (O/groups); zero padding. */

enum jag_status jag_prepare_conv2d(struct jag_exec *x)
{
    const struct jag_value *v = x->in[0], *w = x->in[1];
    char s1[256], s2[256];
    if (v->ndim != 4 || w->ndim != 4)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE,
                             "conv2d needs x [N,C,H,W] and weight [O,C/groups,KH,KW], got %s and %s",
                             jag_shape_str(v->shape, v->ndim, s1, sizeof s1), jag_shape_str(w->shape, w->ndim, s2, sizeof s2));
    int64_t g = JAG_ATTR(x, JAG_ATTR_CONV2D_GROUPS)->i;
    int64_t C = v->shape[1], O = w->shape[0], Cg = w->shape[1];
    if (O % g != 0 || C % g != 0 || C / g != Cg)    /* C != Cg * groups, without overflow */
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE,
                             "input 1 (weight) has shape %s; expected [O,%lld/%lld,KH,KW] with O divisible by groups=%lld "
                             "(x has shape %s)",
                             jag_shape_str(w->shape, w->ndim, s1, sizeof s1), (long long)C, (long long)g, (long long)g,
                             jag_shape_str(v->shape, v->ndim, s2, sizeof s2));
    if (x->n_in == 3) {
        const struct jag_value *b = x->in[2];
        if (b->ndim != 1 || b->shape[0] != O)
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 2 (bias) has shape %s; expected [%lld]",
                                 jag_shape_str(b->shape, b->ndim, s1, sizeof s1), (long long)O);
    }
    enum jag_status s = spatial(x, v, w->shape[2], w->shape[3], JAG_ATTR_CONV2D_STRIDES, JAG_ATTR_CONV2D_PADS,
                                JAG_ATTR_CONV2D_DILATIONS);
    if (s != JAG_STATUS_OK) return s;
    int64_t *P = x->node->params;
    int64_t shape[4] = {v->shape[0], O, P[P_OH], P[P_OW]};
    s = jag_exec_set_shape(x, 0, 4, shape);
    if (s != JAG_STATUS_OK) return s;

    x->node->scratch_bytes = 0;
    P[P_ROWS] = 0;
    P[P_COLS_BYTES] = 0;
    if (x->out[0]->numel == 0) return JAG_STATUS_OK;
    /* y is not empty: O >= 1, so weight's element count O*Cg*KH*KW bounds K; L fits too. */
    int64_t Og = O / g, K = Cg * P[P_KH] * P[P_KW], OH = P[P_OH], OW = P[P_OW], L = OH * OW, H = v->shape[2],
            W = v->shape[3];
    bool f64 = v->dtype == JAG_DTYPE_FLOAT64;
    int64_t item = f64 ? 8 : 4;
    const int64_t *pads = JAG_ATTR(x, JAG_ATTR_CONV2D_PADS)->ints;
    if (Cg == 1 && Og == 1) {   /* depthwise: direct loops, no scratch */
        P[P_ROWS] = -1;
        return JAG_STATUS_OK;
    }
    if (P[P_KH] == 1 && P[P_KW] == 1 && P[P_SH] == 1 && P[P_SW] == 1 && !pads[0] && !pads[1] && !pads[2] && !pads[3]) {
        x->node->scratch_bytes = f64 ? jag_gemm_scratch_f64(Og, L, K, K, 1, H * W, 1)
                                     : jag_gemm_scratch_f32(Og, L, K, K, 1, H * W, 1);
        return JAG_STATUS_OK;
    }
    int64_t rows = K == 0 ? OH : OW > JAG_CONV_COLS_BUDGET / K ? 1 : JAG_CONV_COLS_BUDGET / (K * OW);
    if (rows < 1) rows = 1;
    if (rows > OH) rows = OH;
    int64_t cols, bytes;
    if (!jag_mul_i64(K, rows * OW, &cols) || !jag_mul_i64(cols, item, &bytes) || bytes > INT64_MAX / 2)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "the im2col buffer (%lld x %lld) is too large", (long long)K,
                             (long long)(rows * OW));
    P[P_ROWS] = rows;
    P[P_COLS_BYTES] = round64(bytes) + 64;
    int64_t last = (OH % rows ? OH % rows : rows) * OW;
    size_t g1 = f64 ? jag_gemm_scratch_f64(Og, rows * OW, K, K, 1, rows * OW, 1)
                    : jag_gemm_scratch_f32(Og, rows * OW, K, K, 1, rows * OW, 1);
    size_t g2 = f64 ? jag_gemm_scratch_f64(Og, last, K, K, 1, last, 1) : jag_gemm_scratch_f32(Og, last, K, K, 1, last, 1);
    x->node->scratch_bytes = (size_t)P[P_COLS_BYTES] + (g1 > g2 ? g1 : g2);
    return JAG_STATUS_OK;
}

/* im2col of output rows [i0, i1) of one group: cols[(c*KH + p)*KW + q][(i - i0)*OW + j] =
 * x[c, i*sh + p*dh - pt, j*sw + q*dw - pl] (0 outside). xg: [Cg, H, W]. */
#define JAG_IM2COL(T, S)                                                                                         \
    static void im2col_##S(const T *xg, int64_t Cg, int64_t H, int64_t W, const int64_t *P, int64_t i0,        \
                           int64_t i1, T *cols)                                                                \
    {                                                                                                          \
        const int64_t KH = P[P_KH], KW = P[P_KW], OW = P[P_OW], sh = P[P_SH], sw = P[P_SW];                    \
        const int64_t Lc = (i1 - i0) * OW;                                                                     \
        T *dst = cols;                                                                                         \
        for (int64_t c = 0; c < Cg; c++)                                                                       \
            for (int64_t p = 0; p < KH; p++)                                                                   \
                for (int64_t q = 0; q < KW; q++, dst += Lc) {                                                  \
                    int64_t wbase = q * P[P_DW] - P[P_PL], jlo, jhi;                                           \
                    tap_range(wbase, sw, W, OW, &jlo, &jhi);                                                   \
                    for (int64_t i = i0; i < i1; i++) {                                                        \
                        T *restrict d = dst + (i - i0) * OW;                                                   \
                        int64_t h = i * sh + p * P[P_DH] - P[P_PT];                                            \
                        if (h < 0 || h >= H) {                                                                 \
                            for (int64_t j = 0; j < OW; j++) d[j] = 0;                                         \
                            continue;                                                                          \
                        }                                                                                      \
                        const T *restrict src = xg + (c * H + h) * W;                                          \
                        for (int64_t j = 0; j < jlo; j++) d[j] = 0;                                            \
                        if (sw == 1)                                                                           \
                            for (int64_t j = jlo; j < jhi; j++) d[j] = src[wbase + j];                         \
                        else                                                                                   \
                            for (int64_t j = jlo; j < jhi; j++) d[j] = src[wbase + j * sw];                    \
                        for (int64_t j = jhi; j < OW; j++) d[j] = 0;                                           \
                    }                                                                                          \
                }                                                                                              \
    }                                                                                                          \
                                                                                                               \
    /* Depthwise (one input and one output channel per group): for each tap, add its weight   \
     * times the shifted input rows to the output plane. xp [H, W] -> yp [OH, OW], wk [KH, KW]. */ \
    static void depthwise_##S(const T *xp, int64_t H, int64_t W, const T *wk, T b, const int64_t *P, T *yp)    \
    {                                                                                                          \
        const int64_t KH = P[P_KH], KW = P[P_KW], OH = P[P_OH], OW = P[P_OW], sh = P[P_SH], sw = P[P_SW];      \
        for (int64_t l = 0; l < OH * OW; l++) yp[l] = 0;                                                       \
        for (int64_t p = 0; p < KH; p++) {                                                                     \
            int64_t ilo, ihi;                                                                                  \
            tap_range(p * P[P_DH] - P[P_PT], sh, H, OH, &ilo, &ihi);   /* rows i with h in [0, H) */           \
            for (int64_t q = 0; q < KW; q++) {                                                                 \
                const T wv = wk[p * KW + q];                                                                   \
                int64_t wbase = q * P[P_DW] - P[P_PL], jlo, jhi;                                               \
                tap_range(wbase, sw, W, OW, &jlo, &jhi);                                                       \
                for (int64_t i = ilo; i < ihi; i++) {                                                          \
                    T *restrict yr = yp + i * OW;                                                              \
                    const T *restrict xr = xp + (i * sh + p * P[P_DH] - P[P_PT]) * W;                          \
                    if (sw == 1)                                                                               \
                        for (int64_t j = jlo; j < jhi; j++) yr[j] += wv * xr[wbase + j];                       \
                    else                                                                                       \
                        for (int64_t j = jlo; j < jhi; j++) yr[j] += wv * xr[wbase + j * sw];                  \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        if (b != 0) /* adding -0.0 changes nothing */                                                          \
            for (int64_t l = 0; l < OH * OW; l++) yp[l] += b;                                                  \
    }                                                                                                          \
                                                                                                               \
    static void conv2d_##S(struct jag_exec *x)                                                                 \
    {                                                                                                          \
        const struct jag_value *v = x->in[0], *w = x->in[1];                                                   \
        const T *xd = (const T *)v->data, *wd = (const T *)w->data;                                            \
        const T *bias = x->n_in == 3 ? (const T *)x->in[2]->data : NULL;                                       \
        T *yd = (T *)x->out[0]->data;                                                                          \
        const int64_t *P = x->node->params;                                                                    \
        const int64_t N = v->shape[0], C = v->shape[1], H = v->shape[2], W = v->shape[3];                      \
        const int64_t O = w->shape[0], Cg = w->shape[1], groups = JAG_ATTR(x, JAG_ATTR_CONV2D_GROUPS)->i;      \
        const int64_t Og = O / groups, K = Cg * P[P_KH] * P[P_KW], OH = P[P_OH], OW = P[P_OW], L = OH * OW;    \
        const int64_t rows = P[P_ROWS];                                                                        \
        uint8_t *scratch = (uint8_t *)x->scratch;                                                              \
        uintptr_t mis = (uintptr_t)scratch & 63u;                                                              \
        T *cols = (T *)(scratch + (mis ? 64 - mis : 0));                                                       \
        void *gemm_scratch = scratch + P[P_COLS_BYTES];                                                        \
        for (int64_t n = 0; n < N; n++)                                                                        \
            for (int64_t g = 0; g < groups; g++) {                                                             \
                const T *xg = xd + (n * C + g * Cg) * H * W;                                                   \
                const T *wg = wd + g * Og * K;                                                                 \
                T *yg = yd + (n * O + g * Og) * L;                                                             \
                if (rows < 0) {                                                                                \
                    depthwise_##S(xg, H, W, wg, bias ? bias[g] : 0, P, yg);                                    \
                    continue;                                                                                  \
                }                                                                                              \
                if (rows == 0) {                                                                               \
                    jag_gemm_##S(Og, L, K, wg, K, 1, xg, H * W, 1, yg, L, gemm_scratch);                       \
                } else {                                                                                       \
                    for (int64_t i0 = 0; i0 < OH; i0 += rows) {                                                \
                        int64_t i1 = i0 + rows < OH ? i0 + rows : OH, Lc = (i1 - i0) * OW;                     \
                        im2col_##S(xg, Cg, H, W, P, i0, i1, cols);                                             \
                        jag_gemm_##S(Og, Lc, K, wg, K, 1, cols, Lc, 1, yg + i0 * OW, L, gemm_scratch);         \
                    }                                                                                          \
                }                                                                                              \
                if (bias)                                                                                      \
                    for (int64_t o = 0; o < Og; o++) {                                                         \
                        T b = bias[g * Og + o], *restrict yr = yg + o * L;                                     \
                        for (int64_t l = 0; l < L; l++) yr[l] += b;                                            \
                    }                                                                                          \
            }                                                                                                  \
    }
JAG_IM2COL(float, f32)
JAG_IM2COL(double, f64)

enum jag_status jag_eval_conv2d(struct jag_exec *x)
{
    if (x->out[0]->numel == 0) return JAG_STATUS_OK;
    if (x->in[0]->dtype == JAG_DTYPE_FLOAT64) conv2d_f64(x);
    else conv2d_f32(x);
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- pooling
 * x [N, C, H, W] -> [N, C, OH, OW] over KH x KW windows (kernel_shape), strides (null =
 * kernel_shape), pads [top, left, bottom, right]; ceil_mode false.
 * max_pool2d: padding is -inf (never wins), dilations apply, NaN in a window gives NaN
 *   (a window entirely in the padding gives -inf).
 * avg_pool2d: window sum / KH*KW (count_include_pad) or / the number of input elements in
 *   the window (else; 0/0 = NaN for a window entirely in the padding). */

static enum jag_status prepare_pool(struct jag_exec *x, int32_t a_kernel, int32_t a_strides, int32_t a_pads,
                                    int32_t a_dil)
{
    const struct jag_value *v = x->in[0];
    char s1[256];
    if (v->ndim != 4)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "pooling needs x [N,C,H,W], got %s",
                             jag_shape_str(v->shape, v->ndim, s1, sizeof s1));
    const int64_t *k = JAG_ATTR(x, a_kernel)->ints;
    enum jag_status s = spatial(x, v, k[0], k[1], a_strides, a_pads, a_dil);
    if (s != JAG_STATUS_OK) return s;
    int64_t shape[4] = {v->shape[0], v->shape[1], x->node->params[P_OH], x->node->params[P_OW]};
    return jag_exec_set_shape(x, 0, 4, shape);
}

enum jag_status jag_prepare_max_pool2d(struct jag_exec *x)
{
    return prepare_pool(x, JAG_ATTR_MAX_POOL2D_KERNEL_SHAPE, JAG_ATTR_MAX_POOL2D_STRIDES, JAG_ATTR_MAX_POOL2D_PADS,
                        JAG_ATTR_MAX_POOL2D_DILATIONS);
}

enum jag_status jag_prepare_avg_pool2d(struct jag_exec *x)
{
    return prepare_pool(x, JAG_ATTR_AVG_POOL2D_KERNEL_SHAPE, JAG_ATTR_AVG_POOL2D_STRIDES, JAG_ATTR_AVG_POOL2D_PADS, -1);
}

/* One pool over every [H, W] plane. AVG: 0 max, 1 mean over KH*KW, 2 mean over valid taps. */
#define JAG_POOL(T, S, INF)                                                                                 \
    static void pool_##S(struct jag_exec *x, int mode)                                                     \
    {                                                                                                      \
        const struct jag_value *v = x->in[0];                                                              \
        const int64_t *P = x->node->params;                                                                \
        const int64_t planes = v->shape[0] * v->shape[1], H = v->shape[2], W = v->shape[3];                \
        const int64_t KH = P[P_KH], KW = P[P_KW], OH = P[P_OH], OW = P[P_OW], sh = P[P_SH], sw = P[P_SW];  \
        const int64_t dh = P[P_DH], dw = P[P_DW];                                                          \
        const T full = (T)((double)KH * (double)KW);                                                       \
        const T *xd = (const T *)v->data;                                                                  \
        T *y = (T *)x->out[0]->data;                                                                       \
        for (int64_t pl = 0; pl < planes; pl++) {                                                          \
            const T *xp = xd + pl * H * W;                                                                 \
            for (int64_t i = 0; i < OH; i++) {                                                             \
                int64_t hb = i * sh - P[P_PT], plo, phi;                                                   \
                tap_range(hb, dh, H, KH, &plo, &phi);                                                      \
                for (int64_t j = 0; j < OW; j++, y++) {                                                    \
                    int64_t wb = j * sw - P[P_PL], qlo, qhi;                                               \
                    tap_range(wb, dw, W, KW, &qlo, &qhi);                                                  \
                    if (mode == 0) {                                                                       \
                        T m = -(INF);                                                                      \
                        for (int64_t p = plo; p < phi; p++) {                                              \
                            const T *row = xp + (hb + p * dh) * W;                                         \
                            for (int64_t q = qlo; q < qhi; q++) {                                          \
                                T e = row[wb + q * dw];                                                    \
                                if (e >= m || e != e) m = e; /* NaN sticks: nothing is >= NaN */            \
                            }                                                                              \
                        }                                                                                  \
                        *y = m;                                                                            \
                    } else {                                                                               \
                        T sum = 0;                                                                         \
                        for (int64_t p = plo; p < phi; p++) {                                              \
                            const T *row = xp + (hb + p * dh) * W;                                         \
                            for (int64_t q = qlo; q < qhi; q++) sum += row[wb + q * dw];                   \
                        }                                                                                  \
                        *y = sum / (mode == 1 ? full : (T)((phi - plo) * (qhi - qlo)));                    \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    }
JAG_POOL(float, f32, HUGE_VALF)
JAG_POOL(double, f64, HUGE_VAL)

enum jag_status jag_eval_max_pool2d(struct jag_exec *x)
{
    if (x->out[0]->numel == 0) return JAG_STATUS_OK;
    if (x->in[0]->dtype == JAG_DTYPE_FLOAT64) pool_f64(x, 0);
    else pool_f32(x, 0);
    return JAG_STATUS_OK;
}

enum jag_status jag_eval_avg_pool2d(struct jag_exec *x)
{
    if (x->out[0]->numel == 0) return JAG_STATUS_OK;
    int mode = JAG_ATTR(x, JAG_ATTR_AVG_POOL2D_COUNT_INCLUDE_PAD)->i ? 1 : 2;
    if (x->in[0]->dtype == JAG_DTYPE_FLOAT64) pool_f64(x, mode);
    else pool_f32(x, mode);
    return JAG_STATUS_OK;
}

/* k_random.c — the counter-based random op and what is built on it: random_uniform,
 * dropout, and jag_threefry2x32 (declared in jag_internal.h).
 *
 * Semantics: spec/README.md §11 and python/jag/ops/core.py (threefry2x32,
 * _random_uniform), composite.py (_dropout). Bit-identical on every runtime: element i
 * (row-major, as uint64) of a key k (int64 read as uint64) is Threefry-2x32-20 of counter
 * (i & 0xffffffff, i >> 32) under key words (k >> 32, k & 0xffffffff); float32 takes the
 * top 24 bits of y0, float64 the 53 bits (y0 << 21) | (y1 >> 11). Both are exact. */
#include "jag_internal.h"

#include <string.h>

/* ---------------------------------------------------------------- Threefry-2x32-20
 * Salmon et al., SC 2011; Random123's threefry2x32_R(20): rotations 13 15 26 6 17 29 16
 * 24, key schedule [k0, k1, 0x1BD11BDA ^ k0 ^ k1], a key injection after every 4 rounds.
 * All arithmetic is uint32 (wraps by definition). */
#define ROTL32(v, r) (((v) << (r)) | ((v) >> (32 - (r))))
#define TF_ROUND(r) \
    do { x0 += x1; x1 = ROTL32(x1, r); x1 ^= x0; } while (0)
#define TF_INJECT(s)                                        \
    do {                                                    \
        x0 += ks[(s) % 3];                                  \
        x1 += ks[((s) + 1) % 3] + (uint32_t)(s);            \
    } while (0)

static inline void threefry(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t *y0, uint32_t *y1)
{
    const uint32_t ks[3] = {k0, k1, 0x1BD11BDAu ^ k0 ^ k1};
    uint32_t x0 = c0 + ks[0], x1 = c1 + ks[1];
    TF_ROUND(13); TF_ROUND(15); TF_ROUND(26); TF_ROUND(6);  TF_INJECT(1);
    TF_ROUND(17); TF_ROUND(29); TF_ROUND(16); TF_ROUND(24); TF_INJECT(2);
    TF_ROUND(13); TF_ROUND(15); TF_ROUND(26); TF_ROUND(6);  TF_INJECT(3);
    TF_ROUND(17); TF_ROUND(29); TF_ROUND(16); TF_ROUND(24); TF_INJECT(4);
    TF_ROUND(13); TF_ROUND(15); TF_ROUND(26); TF_ROUND(6);  TF_INJECT(5);
    *y0 = x0;
    *y1 = x1;
}
#undef TF_INJECT
#undef TF_ROUND
#undef ROTL32

void jag_threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t *y0, uint32_t *y1)
{
    threefry(k0, k1, c0, c1, y0, y1);
}

/* Key words of an int64 key: as uint64 (two's complement), high word then low word. */
static void key_words(const struct jag_value *key, uint32_t *k0, uint32_t *k1)
{
    int64_t k;
    memcpy(&k, key->data, 8);
    uint64_t u = (uint64_t)k;
    *k0 = (uint32_t)(u >> 32);
    *k1 = (uint32_t)(u & 0xffffffffu);
}

static inline float uniform_f32(uint32_t k0, uint32_t k1, uint64_t i)
{
    uint32_t y0, y1;
    threefry(k0, k1, (uint32_t)(i & 0xffffffffu), (uint32_t)(i >> 32), &y0, &y1);
    return (float)(y0 >> 8) * 0x1p-24f;
}

static inline double uniform_f64(uint32_t k0, uint32_t k1, uint64_t i)
{
    uint32_t y0, y1;
    threefry(k0, k1, (uint32_t)(i & 0xffffffffu), (uint32_t)(i >> 32), &y0, &y1);
    return (double)(((uint64_t)y0 << 21) | (uint64_t)(y1 >> 11)) * 0x1p-53;
}

/* A non-scalar key is E_SHAPE (core.py _random_uniform_shape). */
static enum jag_status check_key(struct jag_exec *x, int32_t input)
{
    const struct jag_value *key = x->in[input];
    if (key->ndim == 0) return JAG_STATUS_OK;
    char a[256];
    return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input %d (key) has shape %s; expected [] (an int64 scalar)", (int)input,
                         jag_shape_str(key->shape, key->ndim, a, sizeof a));
}

/* ---------------------------------------------------------------- random_uniform
 * key: int64 scalar (other shapes: E_SHAPE); attrs shape (dims; negative: E_SHAPE), dtype
 * float32/float64 -> y of that shape, uniform in [0, 1) by the §11 recipe. */
enum jag_status jag_prepare_random_uniform(struct jag_exec *x)
{
    enum jag_status st = check_key(x, 0);
    if (st != JAG_STATUS_OK) return st;
    int64_t shape[JAG_MAX_DIMS];
    int32_t n;
    st = jag_exec_dims(x, JAG_ATTR_RANDOM_UNIFORM_SHAPE, shape, &n);
    if (st != JAG_STATUS_OK) return st;
    for (int32_t k = 0; k < n; k++)
        if (shape[k] < 0) {
            char a[256];
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "attr 'shape' %s has a negative dim",
                                 jag_shape_str(shape, n, a, sizeof a));
        }
    return jag_exec_set_shape(x, 0, n, shape);
}

enum jag_status jag_eval_random_uniform(struct jag_exec *x)
{
    struct jag_value *out = x->out[0];
    uint32_t k0, k1;
    key_words(x->in[0], &k0, &k1);
    uint64_t n = (uint64_t)out->numel;
    if (out->dtype == JAG_DTYPE_FLOAT32) {
        float *y = out->data;
        for (uint64_t i = 0; i < n; i++) y[i] = uniform_f32(k0, k1, i);
    } else {
        double *y = out->data;
        for (uint64_t i = 0; i < n; i++) y[i] = uniform_f64(k0, k1, i);
    }
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- dropout
 * x: float32/float64; key: int64 scalar (other shapes: E_SHAPE, as the lowering through
 * random_uniform gives); attr p in [0, 1) (checked at load) -> y = where(u < p, 0,
 * x * scale) with u = random_uniform(key)[x.shape, x.dtype], p rounded to x's dtype, and
 * scale = 1 / (1 - p) computed in float64 then rounded to x's dtype. */
enum jag_status jag_prepare_dropout(struct jag_exec *x)
{
    enum jag_status st = check_key(x, 1);
    if (st != JAG_STATUS_OK) return st;
    return jag_exec_set_shape(x, 0, x->in[0]->ndim, x->in[0]->shape);
}

enum jag_status jag_eval_dropout(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    struct jag_value *out = x->out[0];
    uint32_t k0, k1;
    key_words(x->in[1], &k0, &k1);
    double p = JAG_ATTR(x, JAG_ATTR_DROPOUT_P)->f;
    double scale = 1.0 / (1.0 - p);
    uint64_t n = (uint64_t)in->numel;
    if (in->dtype == JAG_DTYPE_FLOAT32) {
        const float *xs = in->data;
        float *y = out->data, pf = (float)p, sf = (float)scale;
        for (uint64_t i = 0; i < n; i++) y[i] = uniform_f32(k0, k1, i) < pf ? 0.0f : xs[i] * sf;
    } else {
        const double *xs = in->data;
        double *y = out->data;
        for (uint64_t i = 0; i < n; i++) y[i] = uniform_f64(k0, k1, i) < p ? 0.0 : xs[i] * scale;
    }
    return JAG_STATUS_OK;
}

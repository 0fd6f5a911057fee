/* test_linalg.c — matmul, linear, conv2d, max_pool2d, avg_pool2d (src/k_linalg.c, src/k_conv.c).
 *
 * Inputs are filled with fill(): ((i*7 + seed) % 11 - 5) / 4, the same formula as the
 * generator that computed the expected literals below with the numpy reference
 * (python/jag/ops IMPLS, in the venv). Those values are multiples of 1/16 small enough
 * that every partial sum is exact, so results do not depend on the summation order.
 * Larger cases (tile edges of the packed GEMM, its small-M paths, im2col blocks) are
 * compared with naive loops written here. */
#include "jag_internal.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- harness */

/* The shared harness (val, V, defaults, run, g_out), with INTS replaced by owned copies:
 * these tests release() their attrs, which frees the lists. */
#include "op_harness.h"

#undef INTS
static void set_ints_(struct jag_attr *a, const int64_t *v, int32_t n)
{
    jag_attr_clear(a);
    a->ints = malloc(sizeof(int64_t) * (size_t)n);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n = n;
    a->is_null = false;
}
#define INTS(attr, ...) set_ints_(attr, SHAPE(__VA_ARGS__), NDIM(__VA_ARGS__))

static void release(struct jag_attr *a)
{
    for (int k = 0; k < 8; k++) jag_attr_clear(&a[k]);
}

/* Output element i as a double. */
static double out_at(int64_t i)
{
    switch (g_out.dtype) {
    case F32: return ((const float *)g_out.data)[i];
    case F64: return ((const double *)g_out.data)[i];
    case I32: return ((const int32_t *)g_out.data)[i];
    case I64: return (double)((const int64_t *)g_out.data)[i];
    default: return ((const uint8_t *)g_out.data)[i];
    }
}

static bool same_shape(int line, enum jag_dtype dt, int32_t ndim, const int64_t *shape)
{
    check_count++;
    bool ok = g_out.data != NULL && g_out.dtype == dt && g_out.ndim == ndim;
    for (int32_t k = 0; ok && k < ndim; k++) ok = g_out.shape[k] == shape[k];
    if (!ok) {
        check_failed++;
        char a[256], b[256];
        fprintf(stderr, "%s:%d: output %s%s, expected %s%s\n", __FILE__, line, jag_dtype_name(g_out.dtype),
                jag_shape_str(g_out.shape, g_out.ndim, a, sizeof a), jag_dtype_name(dt), jag_shape_str(shape, ndim, b, sizeof b));
    }
    return ok;
}

/* g_out has dtype dt and the shape, and matches want (double values) within tol (relative
 * and absolute); NaN matches NaN, infinities must be equal. */
static void near_(int line, enum jag_dtype dt, int32_t ndim, const int64_t *shape, const double *want, double tol)
{
    if (!same_shape(line, dt, ndim, shape)) return;
    check_count++;
    for (int64_t i = 0; i < g_out.numel; i++) {
        double a = out_at(i), b = want[i];
        bool ok = (isnan(a) && isnan(b)) || a == b || (isfinite(b) && fabs(a - b) <= tol + tol * fabs(b));
        if (!ok) {
            check_failed++;
            fprintf(stderr, "%s:%d: output[%lld] = %.17g, expected %.17g\n", __FILE__, line, (long long)i, a, b);
            return;
        }
    }
}
#define NEAR(dt, want, tol, ...) near_(__LINE__, dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), want, tol)

/* Same for literal arrays of any element type: converted to double first. */
#define NEAR_LIT(dt, lit, tol, ...) do { double w_[sizeof(lit) / sizeof((lit)[0])]; \
    for (size_t i_ = 0; i_ < sizeof(lit) / sizeof((lit)[0]); i_++) w_[i_] = (double)(lit)[i_]; \
    near_(__LINE__, dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), w_, tol); } while (0)

/* Exact bytes (integer dtypes). */
static void exact_(int line, enum jag_dtype dt, int32_t ndim, const int64_t *shape, const void *want)
{
    if (!same_shape(line, dt, ndim, shape)) return;
    check_count++;
    if (g_out.nbytes && memcmp(g_out.data, want, g_out.nbytes) != 0) {
        check_failed++;
        fprintf(stderr, "%s:%d: output bytes differ\n", __FILE__, line);
    }
}
#define EXACT(dt, want, ...) exact_(__LINE__, dt, NDIM(__VA_ARGS__), SHAPE(__VA_ARGS__), want)

/* The error message must contain `part`. */
#define CHECK_MSG(part) do { check_count++; if (!strstr(g_err.message, part)) { check_failed++; \
    fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, g_err.message, part); } } while (0)

/* fill(): the generator's input formula, ((i*7 + seed) % 11 - 5) / 4 (integers: no / 4). */
static double fillv(int64_t i, int seed) { return (double)((i * 7 + seed) % 11 - 5) / 4; }

static float *ff(int64_t n, int seed)
{
    float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = (float)fillv(i, seed);
    return d;
}

static double *fd(int64_t n, int seed)
{
    double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = fillv(i, seed);
    return d;
}

/* The input buffer of dtype dt holding fill(n, seed). */
static void *fill_dt(enum jag_dtype dt, int64_t n, int seed)
{
    return dt == F64 ? (void *)fd(n, seed) : (void *)ff(n, seed);
}

/* ---------------------------------------------------------------- expected values (numpy) */

static const float MM1[4] = {0.875f, -1.3125f, -1.6875f, 1.0f}; /* [2, 2] */
static const double MM2a[2] = {0.875, -1.3125}; /* [2] */
static const double MM2b[2] = {1.75, -0.875}; /* [2] */
static const double MM2c[1] = {1.75}; /* [] */
static const float MM3a[24] = {0.875f, -1.3125f, -1.6875f, 1.0f, -1.9375f, 0.6875f, 1.375f, 1.3125f, -1.3125f, -0.0625f, 1.0f, -1.125f, -1.5f, 1.25f, -1.3125f, 1.5f, 1.25f, 1.25f, 1.125f, 1.1875f, 1.25f, -1.5f, 1.5f, -1.875f}; /* [2, 3, 2, 2] */
static const float MM3b[16] = {0.875f, -1.3125f, -1.6875f, 1.0f, -1.9375f, 0.6875f, 1.375f, 1.3125f, -1.3125f, -0.0625f, 1.0f, -1.125f, 0.6875f, 0.5625f, 1.3125f, -1.5f}; /* [4, 2, 2] */
static const float MM3c[8] = {0.875f, -1.3125f, -1.9375f, 0.6875f, -1.3125f, -0.0625f, 0.6875f, 0.5625f}; /* [4, 2] */
static const float MM3d[8] = {1.75f, -0.875f, -0.75f, -0.625f, -1.1875f, -1.0625f, -0.9375f, -0.8125f}; /* [4, 2] */
static const int32_t MM4_I32[8] = {14, -21, -27, 16, -24, 20, -21, 24}; /* [2, 2, 2] */
static const int64_t MM4_I64[8] = {14, -21, -27, 16, -24, 20, -21, 24}; /* [2, 2, 2] */
static const uint8_t MM4_U8[8] = {14, 235, 229, 16, 232, 20, 235, 24}; /* [2, 2, 2] */
static const int32_t MM5_I32[1] = {-5}; /* [1, 1] */
static const int64_t MM5_I64[1] = {-9223372036854775795}; /* [1, 1] */
static const uint8_t MM5_U8[2] = {189, 157}; /* [1, 2] */
static const float LIN1[8] = {1.0f, 3.0625f, -1.0625f, -1.75f, -1.625f, -0.0625f, 2.1875f, 1.0f}; /* [2, 4] */
static const float LIN2[4] = {1.75f, 2.0625f, -1.0625f, -0.75f}; /* [4] */
static const double LIN3[4] = {1.0, 3.0625, -1.625, -0.0625}; /* [2, 1, 2] */
static const float CV1[20] = {0.625f, -0.25f, -0.4375f, -3.25f, -0.125f, -0.4375f, -0.125f, -1.1875f, 1.8125f, -4.3125f, -0.3125f, -0.8125f, 1.4375f, 1.0f, 1.5625f, 1.5f, 1.6875f, -1.5625f, -0.1875f, 2.1875f}; /* [1, 2, 2, 5] */
static const double CV2[80] = {-1.375, 3.4375, 0.9375, 1.1875, -2.6875, -0.375, 1.25, -2.625, 0.375, 1.3125, -0.75, -0.9375, 3.4375, 0.9375, 1.1875, 0.1875, -0.3125, 0.625, -0.5, -0.25, -1.5625, 4.8125, -2.4375, 0.625, 0.25, -0.75, 0.875, 0.5, -1.9375, 1.125, -0.625, -2.375, 4.8125, -2.4375, 0.625, 0.25, -0.6875, 0.625, -0.125, -0.875, 1.0625, 0.875, -2.1875, 0.25, 0.625, -1.75, 4.8125, -2.375, 0.75, 1.125, -1.125, 0.5, 0.875, -2.1875, 0.25, -0.3125, -1.9375, 2.5, -0.625, 1.0625, -1.6875, 1.25, 0.3125, -2.6875, 1.1875, 1.5, 3.4375, -0.9375, -2.5625, 1.3125, 0.5625, -2.625, 1.25, 0.3125, -2.6875, 0.1875, 1.3125, 1.3125, 0.625, -2.125}; /* [1, 4, 4, 5] */
static const float CV3[96] = {-1.0f, 0.6875f, -2.9375f, 1.75f, -2.125f, -1.0625f, 1.3125f, -1.1875f, -0.75f, -0.5f, -0.1875f, -0.4375f, -1.1875f, -0.625f, -0.25f, -2.875f, -0.75f, -0.875f, 4.125f, 0.375f, 1.9375f, 1.875f, 2.0625f, 0.4375f, -0.6875f, 1.25f, 3.5f, -0.75f, -0.5f, 2.25f, 2.3125f, 0.3125f, -2.125f, 0.625f, 0.5f, -0.5625f, -2.625f, 2.1875f, -0.5f, -0.375f, 0.375f, 0.375f, 1.8125f, -2.125f, 0.625f, 0.625f, 0.375f, -0.875f, -1.0625f, -2.8125f, 2.5f, -2.625f, -0.75f, -0.5f, -0.1875f, -0.4375f, -2.125f, -1.3125f, 1.75f, -3.125f, -1.125f, -0.5f, -0.125f, -2.3125f, 2.9375f, 2.625f, 0.0625f, 0.4375f, -0.6875f, 1.25f, 3.5f, -0.75f, -1.9375f, 3.375f, 0.8125f, 0.8125f, 2.625f, 2.5f, -0.1875f, 0.5f, -1.5625f, 0.8125f, 0.6875f, -0.875f, 0.375f, 0.375f, 1.8125f, -2.125f, -0.0625f, 2.0f, -0.6875f, -1.125f, 0.625f, 0.3125f, 0.75f, -1.0625f}; /* [2, 3, 4, 4] */
static const float CV4[24] = {1.125f, -1.125f, -1.3125f, -1.5f, -1.0f, -1.1875f, 2.8125f, 0.625f, 0.5f, -0.3125f, 0.9375f, 0.8125f, -1.6875f, 1.0f, -1.8125f, 1.5625f, 0.8125f, -2.0f, -2.75f, 0.0f, -2.75f, 0.0f, 0.0f, -2.75f}; /* [1, 4, 2, 3] */
static const float CV5[16] = {-0.75f, -0.75f, -0.75f, -0.75f, -0.75f, -0.75f, -0.75f, -0.75f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}; /* [1, 2, 4, 2] */
static const float CV6[10] = {0.0f, 0.0f, 0.0f, 0.0f, -0.3125f, 0.5f, 1.0f, 0.0f, -1.3125f, 0.4375f}; /* [1, 1, 5, 2] */
static const float CV7[12] = {0.125f, 0.875f, -3.9375f, -2.0f, 0.8125f, -0.875f, 0.625f, 0.5625f, 2.5f, 1.8125f, 1.5f, 1.75f}; /* [1, 2, 2, 3] */
static const float MP1[8] = {0.5f, 1.25f, 1.0f, 1.25f, 0.75f, 0.5f, 1.25f, NAN}; /* [1, 2, 2, 2] */
static const double MP2[18] = {-INFINITY, 1.25, 0.25, -INFINITY, 1.0, 0.75, -INFINITY, 1.25, 0.5, -INFINITY, 1.25, 1.0, -INFINITY, 0.0, 0.75, -INFINITY, 1.25, 1.0}; /* [1, 1, 6, 3] */
static const float AP1[20] = {-0.3125f, -0.1875f, 0.0f, 0.1875f, 0.3125f, -0.1875f, -0.1875f, 0.1875f, -0.125f, -0.3125f, 0.125f, 0.0f, 0.1875f, 0.375f, 0.0625f, 0.0f, 0.1875f, -0.125f, -0.4375f, -0.125f}; /* [1, 2, 2, 5] */
static const float AP2[20] = {-1.25f, -0.375f, 0.0f, 0.375f, 1.25f, -0.375f, -0.1875f, 0.1875f, -0.125f, -0.625f, 0.5f, 0.0f, 0.375f, 0.75f, 0.25f, 0.0f, 0.1875f, -0.125f, -0.4375f, -0.25f}; /* [1, 2, 2, 5] */
static const double AP3[4] = {NAN, NAN, NAN, -0.625}; /* [1, 1, 2, 2] */
static const double AP4[2] = {-0.2916666666666667, 0.08333333333333333}; /* [1, 1, 1, 2] */

/* ---------------------------------------------------------------- matmul */

static void test_matmul_basic(void)
{
    struct jag_value in[2];
    float *a = ff(24, 0), *b = ff(18, 1);
    double *ad = fd(6, 0), *bd = fd(6, 1);

    in[0] = V(F32, a, 2, 3);
    in[1] = V(F32, b, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F32, MM1, 0, 2, 2);

    /* 1-D operands: promoted, the added dim removed */
    in[0] = V(F64, ad, 3);
    in[1] = V(F64, bd, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F64, MM2a, 0, 2);
    in[0] = V(F64, ad, 2, 3);
    in[1] = V(F64, bd, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F64, MM2b, 0, 2);
    in[0] = V(F64, ad, 3);
    in[1] = V(F64, bd, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    CHECK(same_shape(__LINE__, F64, 0, NULL));
    CHECK_NEAR(out_at(0), MM2c[0], 0, 0);

    /* batch broadcasting */
    in[0] = V(F32, a, 2, 1, 2, 3);
    in[1] = V(F32, b, 3, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F32, MM3a, 0, 2, 3, 2, 2);
    in[0] = V(F32, a, 2, 3);
    in[1] = V(F32, b, 4, 3, 2);
    float *b24 = ff(24, 1);
    in[1].data = b24;
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F32, MM3b, 0, 4, 2, 2);
    in[0] = V(F32, a, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F32, MM3c, 0, 4, 2);
    in[0] = V(F32, a, 4, 2, 3);
    in[1] = V(F32, b, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR_LIT(F32, MM3d, 0, 4, 2);
    free(a), free(b), free(b24), free(ad), free(bd);

    /* IEEE: inf * 0 is NaN, NaN propagates, inf survives (dot, axpy and packed paths) */
    static const float ia[6] = {INFINITY, 1, NAN, 2, 1, 1}, ib[6] = {0, 1, 1, 1, 2, 3};
    in[0] = V(F32, ia, 3, 2);
    in[1] = V(F32, ib, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    static const double iy[3] = {NAN, NAN, 1};
    NEAR(F32, iy, 0, 3);
    in[1] = V(F32, ib, 2, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    static const double iy2[9] = {NAN, INFINITY, INFINITY, NAN, NAN, NAN, 1, 3, 4};
    NEAR(F32, iy2, 0, 3, 3);
    float big_a[16 * 2], big_b[2 * 40];
    for (int i = 0; i < 32; i++) big_a[i] = 1;
    for (int i = 0; i < 80; i++) big_b[i] = 1;
    big_a[2 * 13] = INFINITY;   /* row 13 */
    big_b[40 + 39] = NAN;       /* column 39 */
    in[0] = V(F32, big_a, 16, 2);
    in[1] = V(F32, big_b, 2, 40);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    double want[16 * 40];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 40; j++) want[i * 40 + j] = j == 39 ? NAN : i == 13 ? INFINITY : 2;
    NEAR(F32, want, 0, 16, 40);
}

static void test_matmul_int(void)
{
    struct jag_value in[2];
    int32_t a32[12], b32[6];
    int64_t a64[12], b64[6];
    uint8_t a8[12], b8[6];
    for (int i = 0; i < 12; i++) a64[i] = (int64_t)(fillv(i, 0) * 4), a32[i] = (int32_t)a64[i], a8[i] = (uint8_t)(a64[i] & 255);
    for (int i = 0; i < 6; i++) b64[i] = (int64_t)(fillv(i, 1) * 4), b32[i] = (int32_t)b64[i], b8[i] = (uint8_t)(b64[i] & 255);
    in[0] = V(I32, a32, 2, 2, 3);
    in[1] = V(I32, b32, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I32, MM4_I32, 2, 2, 2);
    in[0] = V(I64, a64, 2, 2, 3);
    in[1] = V(I64, b64, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I64, MM4_I64, 2, 2, 2);
    in[0] = V(U8, a8, 2, 2, 3);
    in[1] = V(U8, b8, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(U8, MM4_U8, 2, 2, 2);

    /* wrap-around, as numpy (which accumulates in the dtype) */
    static const int32_t w32a[3] = {INT32_MAX, INT32_MAX, INT32_MIN}, w32b[3] = {2, 3, -1};
    in[0] = V(I32, w32a, 1, 3);
    in[1] = V(I32, w32b, 3, 1);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I32, MM5_I32, 1, 1);
    static const int64_t w64a[3] = {INT64_MAX, 5, INT64_MIN}, w64b[3] = {2, 3, 3};
    in[0] = V(I64, w64a, 1, 3);
    in[1] = V(I64, w64b, 3, 1);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I64, MM5_I64, 1, 1);
    static const uint8_t w8a[3] = {200, 100, 255}, w8b[6] = {2, 255, 3, 1, 255, 255};
    in[0] = V(U8, w8a, 1, 3);
    in[1] = V(U8, w8b, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(U8, MM5_U8, 1, 2);
    /* 1-D x 1-D integer: rank-0 result */
    in[0] = V(I64, w64a, 3);
    in[1] = V(I64, w64b, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I64, MM5_I64, );
}

static void test_matmul_zero(void)
{
    struct jag_value in[2];
    float a[1] = {0}, b[1] = {0};
    static const double z6[6] = {0, 0, 0, 0, 0, 0};
    static const int32_t zi[6] = {0, 0, 0, 0, 0, 0};
    /* k = 0: zeros */
    in[0] = V(F32, a, 2, 0);
    in[1] = V(F32, b, 0, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR(F32, z6, 0, 2, 3);
    in[0] = V(F64, a, 2, 0);
    in[1] = V(F64, b, 0, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR(F64, z6, 0, 2, 3);
    in[0] = V(I32, a, 2, 0);
    in[1] = V(I32, b, 0, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    EXACT(I32, zi, 2, 3);
    in[0] = V(F32, a, 0);
    in[1] = V(F32, b, 0);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR(F32, z6, 0, );
    /* empty M, N, batch */
    in[0] = V(F32, a, 0, 3);
    in[1] = V(F32, b, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    CHECK(same_shape(__LINE__, F32, 2, SHAPE(0, 2)));
    in[0] = V(F32, a, 0, 2, 3);
    in[1] = V(F32, b, 1, 3, 0);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    CHECK(same_shape(__LINE__, F32, 3, SHAPE(0, 2, 0)));
}

static void test_matmul_errors(void)
{
    struct jag_value in[2];
    float d[64] = {0};
    in[0] = V(F32, d, 3);
    in[1] = val(F32, 0, NULL, d);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), E_SHAPE);
    CHECK_MSG("matmul needs operands of rank >= 1, got shapes [3] and []");
    in[0] = val(F32, 0, NULL, d);
    in[1] = V(F32, d, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), E_SHAPE);
    in[0] = V(F32, d, 2, 3);
    in[1] = V(F32, d, 2, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), E_SHAPE);
    CHECK_MSG("input 1 has shape [2,3]; expected [3,*] to match input 0 [2,3]");
    in[0] = V(F32, d, 4);
    in[1] = V(F32, d, 3);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), E_SHAPE);
    CHECK_MSG("input 1 has shape [3]; expected [4,*] to match input 0 [4]");
    in[0] = V(I64, d, 2, 2, 3);
    in[1] = V(I64, d, 3, 3, 2);
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), E_SHAPE);
    CHECK_MSG("shapes [2] and [3] do not broadcast at dim -1: cannot broadcast dim 2 with 3");
}

/* Naive reference: C = A B with A [M,K] (or its transpose stored [K,M] when ta) etc. */
static void naive(int64_t M, int64_t N, int64_t K, const double *A, const double *B, bool bt, double *C)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += A[i * K + k] * (bt ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = s;
        }
}

/* matmul [M,K] @ [K,N] (vec_b: b 1-D, N = 1) in dtype dt against the naive loop. */
static void mm_case(int line, enum jag_dtype dt, int64_t M, int64_t N, int64_t K, bool vec_b)
{
    double *A = fd(M * K, 3), *B = fd(K * N, 4), *C = malloc(sizeof(double) * (size_t)(M * N + 1));
    void *a = fill_dt(dt, M * K, 3), *b = fill_dt(dt, K * N, 4);
    naive(M, N, K, A, B, false, C);
    struct jag_value in[2] = {val(dt, 2, SHAPE(M, K), a), vec_b ? val(dt, 1, SHAPE(K), b) : val(dt, 2, SHAPE(K, N), b)};
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    if (vec_b) near_(line, dt, 1, SHAPE(M), C, 1e-12);
    else near_(line, dt, 2, SHAPE(M, N), C, 1e-12);
    free(A), free(B), free(C), free(a), free(b);
}

static void test_matmul_tiles(void)
{
    static const enum jag_dtype dts[2] = {F32, F64};
    for (int t = 0; t < 2; t++) {
        enum jag_dtype dt = dts[t];
        mm_case(__LINE__, dt, 37, 29, 41, false);     /* edge tiles in both directions */
        mm_case(__LINE__, dt, 150, 70, 300, false);   /* crosses KC and MC           */
        mm_case(__LINE__, dt, 5, 2100, 3, false);     /* crosses NC                  */
        mm_case(__LINE__, dt, 13, 40, 130, false);
        mm_case(__LINE__, dt, 1, 33, 70, false);      /* one row                     */
        mm_case(__LINE__, dt, 3, 50, 20, false);      /* a few rows                  */
        mm_case(__LINE__, dt, 70, 1, 37, true);       /* matrix @ vector             */
        mm_case(__LINE__, dt, 65, 3, 129, false);     /* thin N                      */
        mm_case(__LINE__, dt, 1, 1, 1, false);
        mm_case(__LINE__, dt, 17, 17, 1, false);
    }
    /* integer dtypes against the naive loop (exact) */
    int64_t M = 19, N = 23, K = 31;
    double *A = fd(M * K, 3), *B = fd(K * N, 4), *C = malloc(sizeof(double) * (size_t)(M * N));
    int32_t *a = malloc(sizeof(int32_t) * (size_t)(M * K)), *b = malloc(sizeof(int32_t) * (size_t)(K * N));
    for (int64_t i = 0; i < M * K; i++) a[i] = (int32_t)(A[i] * 4), A[i] = a[i];
    for (int64_t i = 0; i < K * N; i++) b[i] = (int32_t)(B[i] * 4), B[i] = b[i];
    naive(M, N, K, A, B, false, C);
    struct jag_value in[2] = {V(I32, a, M, K), V(I32, b, K, N)};
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    NEAR(I32, C, 0, M, N);
    free(A), free(B), free(C), free(a), free(b);
}

/* A batched case with broadcasting on both sides, against per-matrix naive products. */
static void test_matmul_batched(void)
{
    int64_t M = 14, N = 35, K = 9;
    float *a = ff(3 * M * K, 5), *b = ff(2 * K * N, 6);
    struct jag_value in[2] = {V(F32, a, 3, 1, M, K), V(F32, b, 2, K, N)};
    CHECK_STATUS(run(JAG_OP_MATMUL, NULL, 2, in), OK);
    double *A = fd(3 * M * K, 5), *B = fd(2 * K * N, 6), *C = malloc(sizeof(double) * (size_t)(6 * M * N));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) naive(M, N, K, A + i * M * K, B + j * K * N, false, C + (i * 2 + j) * M * N);
    NEAR(F32, C, 1e-12, 3, 2, M, N);
    free(a), free(b), free(A), free(B), free(C);
}

/* ---------------------------------------------------------------- linear */

static void test_linear(void)
{
    struct jag_value in[3];
    float *x = ff(6, 0), *w = ff(12, 1), *b = ff(4, 2);
    double *xd = fd(6, 0), *wd = fd(6, 1), *bd = fd(2, 2);
    in[0] = V(F32, x, 2, 3);
    in[1] = V(F32, w, 4, 3);
    in[2] = V(F32, b, 4);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), OK);
    NEAR_LIT(F32, LIN1, 0, 2, 4);
    in[0] = V(F32, x, 3);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 2, in), OK);
    NEAR_LIT(F32, LIN2, 0, 4);
    in[0] = V(F64, xd, 2, 1, 3);
    in[1] = V(F64, wd, 2, 3);
    in[2] = V(F64, bd, 2);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), OK);
    NEAR_LIT(F64, LIN3, 0, 2, 1, 2);
    /* empty batch; in = 0 gives the bias */
    in[0] = V(F64, xd, 0, 3);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), OK);
    CHECK(same_shape(__LINE__, F64, 2, SHAPE(0, 2)));
    in[0] = V(F64, xd, 2, 0);
    in[1] = V(F64, wd, 2, 0);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), OK);
    double bb[4] = {bd[0], bd[1], bd[0], bd[1]};
    NEAR(F64, bb, 0, 2, 2);

    /* errors */
    in[0] = val(F32, 0, NULL, x);
    in[1] = V(F32, w, 4, 3);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 2, in), E_SHAPE);
    CHECK_MSG("linear needs x [..., in] and weight [out, in], got [] and [4,3]");
    in[0] = V(F32, x, 2, 3);
    in[1] = V(F32, w, 12);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 2, in), E_SHAPE);
    in[1] = V(F32, w, 3, 4);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 2, in), E_SHAPE);
    CHECK_MSG("input 1 (weight) has shape [3,4]; expected [*,3] to match x [2,3]");
    in[1] = V(F32, w, 4, 3);
    in[2] = V(F32, b, 3);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), E_SHAPE);
    CHECK_MSG("input 2 (bias) has shape [3]; expected [4]");
    in[2] = V(F32, b, 1, 4);
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), E_SHAPE);
    free(x), free(w), free(b), free(xd), free(wd), free(bd);
}

/* linear x [M,K], weight [N,K], bias [N] against the naive loop (every GEMM path). */
static void lin_case(int line, enum jag_dtype dt, int64_t M, int64_t N, int64_t K)
{
    double *X = fd(M * K, 7), *Wt = fd(N * K, 8), *Bs = fd(N, 9), *Y = malloc(sizeof(double) * (size_t)(M * N));
    void *x = fill_dt(dt, M * K, 7), *w = fill_dt(dt, N * K, 8), *b = fill_dt(dt, N, 9);
    naive(M, N, K, X, Wt, true, Y);
    for (int64_t i = 0; i < M * N; i++) Y[i] += Bs[i % N];
    struct jag_value in[3] = {val(dt, 2, SHAPE(M, K), x), val(dt, 2, SHAPE(N, K), w), val(dt, 1, SHAPE(N), b)};
    CHECK_STATUS(run(JAG_OP_LINEAR, NULL, 3, in), OK);
    near_(line, dt, 2, SHAPE(M, N), Y, 1e-12);
    free(X), free(Wt), free(Bs), free(Y), free(x), free(w), free(b);
}

static void test_linear_paths(void)
{
    static const enum jag_dtype dts[2] = {F32, F64};
    for (int t = 0; t < 2; t++) {
        lin_case(__LINE__, dts[t], 1, 37, 70);    /* dot products               */
        lin_case(__LINE__, dts[t], 2, 5, 33);
        lin_case(__LINE__, dts[t], 3, 37, 70);    /* packed, transposed B       */
        lin_case(__LINE__, dts[t], 40, 29, 300);  /* crosses KC                 */
        lin_case(__LINE__, dts[t], 64, 3, 5);
    }
}

/* ---------------------------------------------------------------- conv2d */

static void conv_attrs(struct jag_attr *at, const int64_t *st, const int64_t *pads, const int64_t *dil, int64_t groups)
{
    defaults(JAG_OP_CONV2D, at);
    set_ints_(&at[JAG_ATTR_CONV2D_STRIDES], st, 2);
    set_ints_(&at[JAG_ATTR_CONV2D_PADS], pads, 4);
    set_ints_(&at[JAG_ATTR_CONV2D_DILATIONS], dil, 2);
    at[JAG_ATTR_CONV2D_GROUPS].i = groups;
}

/* Run conv2d on fill() inputs (seeds 0, 1, 2 as the generator) and compare with want. */
static void conv_lit(int line, enum jag_dtype dt, const int64_t *xs, const int64_t *ws, bool bias, const int64_t *st,
                     const int64_t *pads, const int64_t *dil, int64_t groups, const int64_t *ys, const double *want)
{
    struct jag_attr at[8];
    conv_attrs(at, st, pads, dil, groups);
    void *x = fill_dt(dt, xs[0] * xs[1] * xs[2] * xs[3], 0), *w = fill_dt(dt, ws[0] * ws[1] * ws[2] * ws[3], 1),
         *b = fill_dt(dt, ws[0], 2);
    struct jag_value in[3] = {val(dt, 4, xs, x), val(dt, 4, ws, w), val(dt, 1, ws, b)};
    CHECK_STATUS(run(JAG_OP_CONV2D, at, bias ? 3 : 2, in), OK);
    near_(line, dt, 4, ys, want, 0);
    release(at);
    free(x), free(w), free(b);
}

static const double *to_df(double *d, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

static void test_conv2d_literals(void)
{
    double d[128];
    conv_lit(__LINE__, F32, SHAPE(1, 1, 4, 5), SHAPE(2, 1, 3, 3), true, SHAPE(2, 1), SHAPE(1, 0, 1, 2), SHAPE(1, 1), 1,
             SHAPE(1, 2, 2, 5), to_df(d, CV1, 20));
    conv_lit(__LINE__, F64, SHAPE(1, 4, 5, 5), SHAPE(4, 2, 2, 2), false, SHAPE(1, 1), SHAPE(0, 1, 1, 0), SHAPE(2, 1), 2,
             SHAPE(1, 4, 4, 5), CV2);
    /* depthwise */
    conv_lit(__LINE__, F32, SHAPE(2, 3, 4, 4), SHAPE(3, 1, 3, 3), true, SHAPE(1, 1), SHAPE(1, 1, 1, 1), SHAPE(1, 1), 3,
             SHAPE(2, 3, 4, 4), to_df(d, CV3, 96));
    /* 1x1 (the direct GEMM path) */
    conv_lit(__LINE__, F32, SHAPE(1, 3, 2, 3), SHAPE(4, 3, 1, 1), true, SHAPE(1, 1), SHAPE(0, 0, 0, 0), SHAPE(1, 1), 1,
             SHAPE(1, 4, 2, 3), to_df(d, CV4, 24));
    /* a kernel with no rows: the bias only */
    conv_lit(__LINE__, F32, SHAPE(1, 1, 3, 3), SHAPE(2, 1, 0, 2), true, SHAPE(1, 1), SHAPE(0, 0, 0, 0), SHAPE(1, 1), 1,
             SHAPE(1, 2, 4, 2), to_df(d, CV5, 16));
    /* windows entirely in the padding */
    conv_lit(__LINE__, F32, SHAPE(1, 1, 3, 3), SHAPE(1, 1, 2, 2), false, SHAPE(1, 1), SHAPE(3, 0, 0, 0), SHAPE(1, 1), 1,
             SHAPE(1, 1, 5, 2), to_df(d, CV6, 10));
    conv_lit(__LINE__, F32, SHAPE(1, 2, 5, 6), SHAPE(2, 2, 2, 3), true, SHAPE(3, 2), SHAPE(2, 1, 0, 3), SHAPE(2, 2), 1,
             SHAPE(1, 2, 2, 3), to_df(d, CV7, 12));
}

/* conv2d against the naive formula of the spec (fill() inputs, seeds 10, 11, 12). */
static void conv_case(int line, enum jag_dtype dt, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH,
                      int64_t KW, int64_t groups, const int64_t *st, const int64_t *pads, const int64_t *dil, bool bias)
{
    int64_t Cg = C / groups, Og = O / groups;
    int64_t OH = (H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1) / st[0] + 1;
    int64_t OW = (W + pads[1] + pads[3] - dil[1] * (KW - 1) - 1) / st[1] + 1;
    double *X = fd(N * C * H * W, 10), *Wt = fd(O * Cg * KH * KW, 11), *B = fd(O, 12);
    double *Y = malloc(sizeof(double) * (size_t)(N * O * OH * OW));
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < OH; i++)
                for (int64_t j = 0; j < OW; j++) {
                    double s = bias ? B[o] : 0;
                    int64_t g = o / Og;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t p = 0; p < KH; p++)
                            for (int64_t q = 0; q < KW; q++) {
                                int64_t h = i * st[0] + p * dil[0] - pads[0], w = j * st[1] + q * dil[1] - pads[1];
                                if (h < 0 || h >= H || w < 0 || w >= W) continue;
                                s += X[((n * C + g * Cg + c) * H + h) * W + w] * Wt[((o * Cg + c) * KH + p) * KW + q];
                            }
                    Y[((n * O + o) * OH + i) * OW + j] = s;
                }
    struct jag_attr at[8];
    conv_attrs(at, st, pads, dil, groups);
    void *x = fill_dt(dt, N * C * H * W, 10), *w = fill_dt(dt, O * Cg * KH * KW, 11), *b = fill_dt(dt, O, 12);
    struct jag_value in[3] = {val(dt, 4, SHAPE(N, C, H, W), x), val(dt, 4, SHAPE(O, Cg, KH, KW), w), val(dt, 1, SHAPE(O), b)};
    CHECK_STATUS(run(JAG_OP_CONV2D, at, bias ? 3 : 2, in), OK);
    near_(line, dt, 4, SHAPE(N, O, OH, OW), Y, 1e-12);
    release(at);
    free(X), free(Wt), free(B), free(Y), free(x), free(w), free(b);
}

static void test_conv2d_naive(void)
{
    /* packed GEMM (O/groups > 4), strides, dilations, asymmetric pads */
    conv_case(__LINE__, F32, 2, 6, 9, 11, 12, 3, 2, 2, SHAPE(2, 1), SHAPE(1, 0, 2, 1), SHAPE(1, 2), true);
    conv_case(__LINE__, F64, 2, 6, 9, 11, 12, 3, 2, 2, SHAPE(2, 1), SHAPE(1, 0, 2, 1), SHAPE(1, 2), true);
    /* several im2col row blocks (K*L above the block budget) */
    conv_case(__LINE__, F32, 1, 16, 128, 64, 2, 3, 3, 1, SHAPE(1, 1), SHAPE(1, 1, 1, 1), SHAPE(1, 1), true);
    /* depthwise with stride 2 */
    conv_case(__LINE__, F32, 1, 8, 15, 14, 8, 3, 3, 8, SHAPE(2, 2), SHAPE(1, 1, 1, 1), SHAPE(1, 1), true);
    conv_case(__LINE__, F64, 2, 3, 9, 10, 3, 2, 3, 3, SHAPE(1, 3), SHAPE(0, 2, 1, 0), SHAPE(2, 1), false);
    conv_case(__LINE__, F32, 1, 4, 6, 7, 4, 3, 3, 4, SHAPE(1, 1), SHAPE(5, 0, 0, 4), SHAPE(1, 1), true);
    /* channel multiplier 2 (not the depthwise loop) */
    conv_case(__LINE__, F32, 1, 4, 6, 7, 8, 3, 3, 4, SHAPE(1, 1), SHAPE(1, 1, 1, 1), SHAPE(1, 1), true);
    /* 1x1 with many output channels */
    conv_case(__LINE__, F64, 2, 5, 7, 9, 20, 1, 1, 1, SHAPE(1, 1), SHAPE(0, 0, 0, 0), SHAPE(1, 1), false);
    /* 1x1 with stride: im2col path */
    conv_case(__LINE__, F32, 1, 5, 7, 9, 20, 1, 1, 1, SHAPE(2, 3), SHAPE(0, 0, 0, 0), SHAPE(1, 1), false);
    /* a window as large as the padded input */
    conv_case(__LINE__, F32, 1, 2, 3, 4, 3, 5, 4, 1, SHAPE(1, 1), SHAPE(1, 0, 1, 0), SHAPE(1, 1), true);
}

static void test_conv2d_errors(void)
{
    struct jag_attr at[8];
    struct jag_value in[3];
    float d[64] = {0};
    conv_attrs(at, SHAPE(1, 1), SHAPE(0, 0, 0, 0), SHAPE(1, 1), 1);
    in[0] = V(F32, d, 1, 3, 3);
    in[1] = V(F32, d, 2, 1, 2, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    CHECK_MSG("conv2d needs x [N,C,H,W] and weight [O,C/groups,KH,KW], got [1,3,3] and [2,1,2,2]");
    in[0] = V(F32, d, 1, 1, 3, 3);
    in[1] = V(F32, d, 2, 1, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    /* channel mismatch */
    in[1] = V(F32, d, 2, 2, 2, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    CHECK_MSG("input 1 (weight) has shape [2,2,2,2]; expected [O,1/1,KH,KW] with O divisible by groups=1 (x has shape [1,1,3,3])");
    /* groups: C not divisible, O not divisible */
    at[JAG_ATTR_CONV2D_GROUPS].i = 2;
    in[1] = V(F32, d, 2, 1, 2, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    CHECK_MSG("input 1 (weight) has shape [2,1,2,2]; expected [O,1/2,KH,KW] with O divisible by groups=2 (x has shape [1,1,3,3])");
    in[0] = V(F32, d, 1, 4, 3, 3);
    in[1] = V(F32, d, 3, 2, 2, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    in[1] = V(F32, d, 4, 2, 2, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), OK);
    /* bias */
    in[2] = V(F32, d, 3);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 3, in), E_SHAPE);
    CHECK_MSG("input 2 (bias) has shape [3]; expected [4]");
    in[2] = V(F32, d, 4, 1);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 3, in), E_SHAPE);
    /* windows larger than the padded input */
    in[1] = V(F32, d, 4, 2, 4, 2);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    CHECK_MSG("the height window (4 taps, dilation 1) is larger than the padded input (3)");
    INTS(&at[JAG_ATTR_CONV2D_PADS], 1, 0, 0, 0);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), OK);
    CHECK(same_shape(__LINE__, F32, 4, SHAPE(1, 4, 1, 2)));
    in[1] = V(F32, d, 4, 2, 2, 2);
    INTS(&at[JAG_ATTR_CONV2D_DILATIONS], 1, 3);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    CHECK_MSG("the width window (2 taps, dilation 3) is larger than the padded input (3)");
    /* huge pads or dilations: E_SHAPE, no overflow */
    INTS(&at[JAG_ATTR_CONV2D_DILATIONS], 1, INT64_MAX);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    INTS(&at[JAG_ATTR_CONV2D_DILATIONS], 1, 1);
    INTS(&at[JAG_ATTR_CONV2D_PADS], INT64_MAX, 0, INT64_MAX, 0);
    CHECK_STATUS(run(JAG_OP_CONV2D, at, 2, in), E_SHAPE);
    release(at);
}

/* ---------------------------------------------------------------- pooling */

static void pool_attrs(enum jag_op op, struct jag_attr *at, const int64_t *k, const int64_t *st, const int64_t *pads)
{
    defaults(op, at);
    set_ints_(&at[0], k, 2);                    /* kernel_shape is attr 0 of both pools */
    if (st) set_ints_(&at[1], st, 2);           /* strides: 1 */
    set_ints_(&at[2], pads, 4);                 /* pads: 2 */
}

static void test_max_pool(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    double dd[64];
    /* padding, strides null = kernel_shape, a NaN */
    float *x = ff(40, 0);
    x[20 + 2 * 5 + 3] = NAN;
    pool_attrs(JAG_OP_MAX_POOL2D, at, SHAPE(2, 3), NULL, SHAPE(1, 1, 0, 1));
    in[0] = V(F32, x, 1, 2, 4, 5);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), OK);
    NEAR(F32, to_df(dd, MP1, 8), 0, 1, 2, 2, 2);
    release(at);
    /* dilations; windows entirely in the padding give -inf */
    double *xd = fd(20, 3);
    pool_attrs(JAG_OP_MAX_POOL2D, at, SHAPE(2, 2), SHAPE(1, 2), SHAPE(2, 2, 1, 0));
    INTS(&at[JAG_ATTR_MAX_POOL2D_DILATIONS], 2, 1);
    in[0] = V(F64, xd, 1, 1, 5, 4);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), OK);
    NEAR(F64, MP2, 0, 1, 1, 6, 3);
    release(at);
    /* NaN anywhere in a window wins, also after a larger value and over -inf */
    static const float nanx[6] = {5, NAN, 1, -INFINITY, INFINITY, NAN};
    pool_attrs(JAG_OP_MAX_POOL2D, at, SHAPE(1, 2), SHAPE(1, 1), SHAPE(0, 0, 0, 0));
    in[0] = V(F32, nanx, 1, 1, 1, 6);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), OK);
    static const double nany[5] = {NAN, NAN, 1, INFINITY, NAN};
    NEAR(F32, nany, 0, 1, 1, 1, 5);
    /* empty input planes padded: -inf */
    in[0] = V(F32, nanx, 1, 1, 0, 3);
    INTS(&at[0], 1, 1);
    INTS(&at[2], 1, 0, 1, 0);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), OK);
    static const double ninf[6] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    NEAR(F32, ninf, 0, 1, 1, 2, 3);
    in[0] = V(F32, nanx, 0, 1, 2, 3);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), OK);
    CHECK(same_shape(__LINE__, F32, 4, SHAPE(0, 1, 4, 3)));
    /* errors */
    in[0] = V(F32, nanx, 1, 2, 3);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("pooling needs x [N,C,H,W], got [1,2,3]");
    in[0] = V(F32, nanx, 1, 1, 2, 3);
    INTS(&at[0], 3, 4);
    INTS(&at[2], 0, 0, 0, 0);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("the height window (3 taps, dilation 1) is larger than the padded input (2)");
    INTS(&at[2], 1, 0, 0, 0);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("the width window (4 taps, dilation 1) is larger than the padded input (3)");
    INTS(&at[0], 3, 2);
    INTS(&at[JAG_ATTR_MAX_POOL2D_DILATIONS], 1, 3);
    CHECK_STATUS(run(JAG_OP_MAX_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("the width window (2 taps, dilation 3) is larger than the padded input (3)");
    release(at);
    free(x), free(xd);
}

static void test_avg_pool(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    double dd[64];
    float *x = ff(24, 0);
    in[0] = V(F32, x, 1, 2, 3, 4);
    pool_attrs(JAG_OP_AVG_POOL2D, at, SHAPE(2, 2), SHAPE(2, 1), SHAPE(1, 1, 1, 1));
    CHECK(at[JAG_ATTR_AVG_POOL2D_COUNT_INCLUDE_PAD].i == 1);   /* default true */
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), OK);
    NEAR(F32, to_df(dd, AP1, 20), 0, 1, 2, 2, 5);
    at[JAG_ATTR_AVG_POOL2D_COUNT_INCLUDE_PAD].i = 0;
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), OK);
    NEAR(F32, to_df(dd, AP2, 20), 0, 1, 2, 2, 5);
    release(at);
    /* windows entirely in the padding: 0/0 = NaN without the padding count */
    double *xd = fd(9, 5);
    in[0] = V(F64, xd, 1, 1, 3, 3);
    pool_attrs(JAG_OP_AVG_POOL2D, at, SHAPE(2, 2), NULL, SHAPE(2, 2, 0, 0));
    at[JAG_ATTR_AVG_POOL2D_COUNT_INCLUDE_PAD].i = 0;
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), OK);
    NEAR(F64, AP3, 0, 1, 1, 2, 2);
    at[JAG_ATTR_AVG_POOL2D_COUNT_INCLUDE_PAD].i = 1;
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), OK);
    static const double ap3t[4] = {0, 0, 0, -0.625};   /* the last window has no padding */
    NEAR(F64, ap3t, 1e-15, 1, 1, 2, 2);
    INTS(&at[0], 3, 2);
    INTS(&at[1], 1, 1);
    INTS(&at[2], 0, 0, 0, 0);
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), OK);
    NEAR(F64, AP4, 1e-15, 1, 1, 1, 2);
    /* errors */
    in[0] = V(F64, xd, 9);
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("pooling needs x [N,C,H,W], got [9]");
    in[0] = V(F64, xd, 1, 1, 3, 1);
    CHECK_STATUS(run(JAG_OP_AVG_POOL2D, at, 1, in), E_SHAPE);
    CHECK_MSG("the width window (2 taps, dilation 1) is larger than the padded input (1)");
    release(at);
    free(x), free(xd);
}

int main(void)
{
    RUN(test_matmul_basic);
    RUN(test_matmul_int);
    RUN(test_matmul_zero);
    RUN(test_matmul_errors);
    RUN(test_matmul_tiles);
    RUN(test_matmul_batched);
    RUN(test_linear);
    RUN(test_linear_paths);
    RUN(test_conv2d_literals);
    RUN(test_conv2d_naive);
    RUN(test_conv2d_errors);
    RUN(test_max_pool);
    RUN(test_avg_pool);
    free(g_out.data);
    return check_summary();
}

/* k_elementwise.c — elementwise kernels: unary math, activations, cast, binary arithmetic,
 * comparisons and logic with numpy broadcasting, and where.
 *
 * Semantics: the numpy reference python/jag/ops/core.py and composite.py (numpy ufuncs:
 * np.negative, np.add, np.maximum, ...), spec/OPS.md, NaN policy of spec/README.md §9.
 *   - integer arithmetic wraps (done in unsigned types, then converted back);
 *   - float32 math is done in float (as numpy); erf by a vectorisable polynomial (erf_poly_f32);
 *   - maximum/minimum return b on ties (as numpy's SIMD loops: max(-0.0, 0.0) = 0.0,
 *     max(0.0, -0.0) = -0.0) and propagate NaN from either side;
 *   - comparisons with NaN are false except not_equal.
 *
 * Layout: one "row" function per (op, dtype) stamped out by macros. A row function computes
 * n elements with per-operand element strides (0 = broadcast scalar, 1 = contiguous);
 * ew_run() coalesces the broadcast output shape into as few dims as possible and calls the
 * row function once per innermost row (once in all for same-shape or scalar operands).
 */
#include "jag_internal.h"

#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* n contiguous elements x -> y (unary ops, cast). */
typedef void (*un_fn)(int64_t n, const void *x, void *y);
/* n elements of up to three operands with element strides s0..s2 -> contiguous y. */
typedef void (*ew_fn)(int64_t n, const void *p0, int64_t s0, const void *p1, int64_t s1, const void *p2, int64_t s2,
                      void *y);

/* ---------------------------------------------------------------- drivers */

static void un_run(struct jag_exec *x, un_fn fn)
{
    if (x->out[0]->numel > 0) fn(x->out[0]->numel, x->in[0]->data, x->out[0]->data);
}

/* Walk the broadcast output of x (shape already set by jag_rule_broadcast) row by row. */
static void ew_run(struct jag_exec *x, ew_fn fn)
{
    const struct jag_value *y = x->out[0];
    int32_t nin = x->n_in, nd = 0;
    int64_t dim[JAG_MAX_DIMS], st[3][JAG_MAX_DIMS], full[3][JAG_MAX_DIMS];
    int64_t idx[JAG_MAX_DIMS], off[3] = {0, 0, 0};
    const char *base[3];
    size_t isz[3];
    if (y->numel == 0) return;
    for (int32_t k = 0; k < 3; k++) {
        const struct jag_value *v = x->in[k < nin ? k : 0];
        base[k] = (const char *)v->data;
        isz[k] = jag_dtype_size(v->dtype);
        if (k < nin) jag_broadcast_strides(v, y->ndim, y->shape, full[k]);
        else for (int32_t d = 0; d < y->ndim; d++) full[k][d] = 0;
    }
    /* Drop size-1 dims; merge a dim into the previous one when every operand is contiguous
     * across the two (stride_outer == stride_inner * size_inner, including both 0). */
    for (int32_t d = 0; d < y->ndim; d++) {
        int64_t size = y->shape[d];
        bool merge = nd > 0;
        if (size == 1) continue;
        for (int32_t k = 0; k < 3 && merge; k++) merge = st[k][nd - 1] == full[k][d] * size;
        if (merge) {
            dim[nd - 1] *= size;
            for (int32_t k = 0; k < 3; k++) st[k][nd - 1] = full[k][d];
        } else {
            dim[nd] = size;
            for (int32_t k = 0; k < 3; k++) st[k][nd] = full[k][d];
            nd++;
        }
    }
    if (nd == 0) {
        dim[0] = 1;
        st[0][0] = st[1][0] = st[2][0] = 0;
        nd = 1;
    }
    int64_t n = dim[nd - 1], rows = y->numel / n;
    size_t row_bytes = (size_t)n * jag_dtype_size(y->dtype);
    char *out = (char *)y->data;
    for (int32_t d = 0; d < nd; d++) idx[d] = 0;
    for (int64_t r = 0; r < rows; r++, out += row_bytes) {
        fn(n, base[0] + off[0] * (int64_t)isz[0], st[0][nd - 1], base[1] + off[1] * (int64_t)isz[1], st[1][nd - 1],
           base[2] + off[2] * (int64_t)isz[2], st[2][nd - 1], out);
        for (int32_t d = nd - 2; d >= 0; d--) {
            for (int32_t k = 0; k < 3; k++) off[k] += st[k][d];
            if (++idx[d] < dim[d]) break;
            for (int32_t k = 0; k < 3; k++) off[k] -= st[k][d] * dim[d];
            idx[d] = 0;
        }
    }
}

/* ---------------------------------------------------------------- row templates */

/* Unary: y[i] = EXPR with A = x[i]. */
#define UN_ROW(name, Ti, To, EXPR)                                          \
    static void name(int64_t n, const void *px, void *py)                  \
    {                                                                       \
        const Ti *restrict xs = (const Ti *)px;                             \
        To *restrict ys = (To *)py;                                         \
        for (int64_t i = 0; i < n; i++) {                                   \
            const Ti A = xs[i];                                             \
            ys[i] = (To)(EXPR);                                             \
        }                                                                   \
    }

/* Binary: y[i] = EXPR with A = a[i*s0], B = b[i*s1]; fast paths for contiguous / scalar. */
#define EW_ROW(name, Ti, To, EXPR)                                                              \
    static void name(int64_t n, const void *p0, int64_t s0, const void *p1, int64_t s1,         \
                     const void *p2, int64_t s2, void *py)                                      \
    {                                                                                           \
        const Ti *restrict a = (const Ti *)p0;                                                  \
        const Ti *restrict b = (const Ti *)p1;                                                  \
        To *restrict y = (To *)py;                                                              \
        (void)p2;                                                                               \
        (void)s2;                                                                               \
        if (s0 == 1 && s1 == 1) {                                                               \
            for (int64_t i = 0; i < n; i++) { const Ti A = a[i], B = b[i]; y[i] = (To)(EXPR); } \
        } else if (s0 == 0 && s1 == 1) {                                                        \
            const Ti A = a[0];                                                                  \
            for (int64_t i = 0; i < n; i++) { const Ti B = b[i]; y[i] = (To)(EXPR); }           \
        } else if (s0 == 1 && s1 == 0) {                                                        \
            const Ti B = b[0];                                                                  \
            for (int64_t i = 0; i < n; i++) { const Ti A = a[i]; y[i] = (To)(EXPR); }           \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++) {                                                   \
                const Ti A = a[i * s0], B = b[i * s1];                                          \
                y[i] = (To)(EXPR);                                                              \
            }                                                                                   \
        }                                                                                       \
    }

/* Tables are indexed by enum jag_dtype: float32, float64, int32, int64, uint8, bool. */

/* Unary over float32/float64. */
#define UN_FLOAT(op, E32, E64)                       \
    UN_ROW(op##_f32, float, float, E32)              \
    UN_ROW(op##_f64, double, double, E64)            \
    static const un_fn op##_fns[JAG_DTYPE_COUNT] = {op##_f32, op##_f64, NULL, NULL, NULL, NULL};

/* Unary over the numeric dtypes (float32, float64, int32, int64, uint8). */
#define UN_NUMERIC(op, E32, E64, EI32, EI64, EU8)    \
    UN_ROW(op##_f32, float, float, E32)              \
    UN_ROW(op##_f64, double, double, E64)            \
    UN_ROW(op##_i32, int32_t, int32_t, EI32)         \
    UN_ROW(op##_i64, int64_t, int64_t, EI64)         \
    UN_ROW(op##_u8, uint8_t, uint8_t, EU8)           \
    static const un_fn op##_fns[JAG_DTYPE_COUNT] = {op##_f32, op##_f64, op##_i32, op##_i64, op##_u8, NULL};

/* Binary arithmetic over the numeric dtypes; integers wrap (computed in the unsigned type). */
#define BIN_ARITH(op, OP)                                                                   \
    EW_ROW(op##_f32, float, float, A OP B)                                                  \
    EW_ROW(op##_f64, double, double, A OP B)                                                \
    EW_ROW(op##_i32, int32_t, int32_t, (int32_t)((uint32_t)A OP (uint32_t)B))               \
    EW_ROW(op##_i64, int64_t, int64_t, (int64_t)((uint64_t)A OP (uint64_t)B))               \
    EW_ROW(op##_u8, uint8_t, uint8_t, (uint8_t)((unsigned)A OP (unsigned)B))                \
    static const ew_fn op##_fns[JAG_DTYPE_COUNT] = {op##_f32, op##_f64, op##_i32, op##_i64, op##_u8, NULL};

/* Binary over float32/float64. */
#define BIN_FLOAT(op, E32, E64)                      \
    EW_ROW(op##_f32, float, float, E32)              \
    EW_ROW(op##_f64, double, double, E64)            \
    static const ew_fn op##_fns[JAG_DTYPE_COUNT] = {op##_f32, op##_f64, NULL, NULL, NULL, NULL};

/* Binary over every dtype with output type OUT(input type) (SAME_T or BOOL_T): EF for
 * floats, EI for integers and bool (bool bytes are 0/1, so uint8 code serves it). */
#define SAME_T(T) T
#define BOOL_T(T) uint8_t
#define BIN_ALL(op, OUT, EF, EI)                     \
    EW_ROW(op##_f32, float, OUT(float), EF)          \
    EW_ROW(op##_f64, double, OUT(double), EF)        \
    EW_ROW(op##_i32, int32_t, OUT(int32_t), EI)      \
    EW_ROW(op##_i64, int64_t, OUT(int64_t), EI)      \
    EW_ROW(op##_u8, uint8_t, OUT(uint8_t), EI)       \
    static const ew_fn op##_fns[JAG_DTYPE_COUNT] = {op##_f32, op##_f64, op##_i32, op##_i64, op##_u8, op##_u8};

/* prepare/eval pairs. */
#define UNARY_KERNEL(op)                                                                     \
    enum jag_status jag_prepare_##op(struct jag_exec *x) { return jag_rule_same(x); }        \
    enum jag_status jag_eval_##op(struct jag_exec *x)                                        \
    {                                                                                        \
        un_run(x, op##_fns[x->in[0]->dtype]);                                                \
        return JAG_STATUS_OK;                                                                \
    }
#define BINARY_KERNEL(op)                                                                    \
    enum jag_status jag_prepare_##op(struct jag_exec *x) { return jag_rule_broadcast(x); }   \
    enum jag_status jag_eval_##op(struct jag_exec *x)                                        \
    {                                                                                        \
        ew_run(x, op##_fns[x->in[0]->dtype]);                                                \
        return JAG_STATUS_OK;                                                                \
    }

/* ---------------------------------------------------------------- unary (shape rule "same") */

/* neg: x numeric -> -x (np.negative). Integers wrap: neg(INT_MIN) = INT_MIN, uint8 mod 256. */
UN_NUMERIC(neg, -A, -A, (int32_t)(0u - (uint32_t)A), (int64_t)(0u - (uint64_t)A), (uint8_t)(0u - A))
UNARY_KERNEL(neg)

/* abs: x numeric -> |x| (np.absolute). abs(-0.0) = 0.0; abs(INT_MIN) = INT_MIN; uint8 unchanged. */
UN_NUMERIC(abs, fabsf(A), fabs(A), A < 0 ? (int32_t)(0u - (uint32_t)A) : A,
           A < 0 ? (int64_t)(0u - (uint64_t)A) : A, A)
UNARY_KERNEL(abs)

/* sign: x numeric -> -1, 0 or 1 (np.sign). sign(±0.0) = +0.0, sign(NaN) = NaN, uint8 0/1. */
UN_NUMERIC(sign, A > 0 ? 1.0f : A < 0 ? -1.0f : A == 0 ? 0.0f : A, A > 0 ? 1.0 : A < 0 ? -1.0 : A == 0 ? 0.0 : A,
           (A > 0) - (A < 0), (A > 0) - (A < 0), A > 0)
UNARY_KERNEL(sign)

/* exp, log, sqrt, sin, cos, tanh: x float -> libm (float32 in float). log(0) = -inf,
 * log(<0) = NaN, sqrt(-0.0) = -0.0. */
UN_FLOAT(exp, expf(A), exp(A))
UNARY_KERNEL(exp)
UN_FLOAT(log, logf(A), log(A))
UNARY_KERNEL(log)
UN_FLOAT(sqrt, sqrtf(A), sqrt(A))
UNARY_KERNEL(sqrt)
UN_FLOAT(sin, sinf(A), sin(A))
UNARY_KERNEL(sin)
UN_FLOAT(cos, cosf(A), cos(A))
UNARY_KERNEL(cos)
UN_FLOAT(tanh, tanhf(A), tanh(A))
UNARY_KERNEL(tanh)

/* erf in float32, branch-free so that the loops calling it vectorise (libm's erf, in
 * double, is a scalar call and dominated GELU layers). |z| < 1: z * P(z^2), P of degree 5;
 * 1 <= |z| < 4: Q((|z| - 2.5) / 1.5), Q of degree 12; |z| >= 4: 1 (erf(4) rounds to 1 in
 * float32); the sign of z restored. Both polynomials are Chebyshev fits of math.erf
 * (float64) turned into monomials and evaluated by Horner in float (no contraction).
 * Max abs error 1.7e-7 against the correctly rounded float32 erf (about 3 ulp near 1),
 * far inside the "transcendental" class (rtol 1e-5, atol 1e-6). erf(NaN) = NaN,
 * erf(+-inf) = +-1, erf(-0.0) = -0.0. */
static inline float erf_poly_f32(float z)
{
    const float a = fabsf(z), t = a * a, u = (a - 2.5f) * (2.0f / 3.0f);
    float p = -0.000565085385f;
    p = p * t + 0.00491977949f;
    p = p * t - 0.0267102867f;
    p = p * t + 0.112799868f;
    p = p * t - 0.376122653f;
    p = p * t + 1.12837911f;
    p = p * a;
    float q = -0.00116369058f;
    q = q * u + 0.00184021681f;
    q = q * u + 0.00352055836f;
    q = q * u - 0.0107685858f;
    q = q * u + 0.00738495402f;
    q = q * u + 0.00978393294f;
    q = q * u - 0.0321172252f;
    q = q * u + 0.0463328101f;
    q = q * u - 0.0436122529f;
    q = q * u + 0.0281941146f;
    q = q * u - 0.0122551341f;
    q = q * u + 0.0032670456f;
    q = q * u + 0.999593079f;
    const float r = a >= 4.0f ? 1.0f : a < 1.0f ? p : q; /* NaN: q is NaN */
    return copysignf(r, z);
}

/* erf: x float -> erf(x) (core.py _erf: C99 erf in double, rounded): float64 through libm;
 * float32 through erf_poly_f32 above (within the op's tolerance class, not bit-exact). */
UN_FLOAT(erf, erf_poly_f32(A), erf(A))
UNARY_KERNEL(erf)

/* relu: x signed (float32, float64, int32, int64) -> maximum(x, 0) (composite.py): NaN
 * propagates, relu(-0.0) = +0.0 (numpy's maximum returns its second operand on ties). */
UN_ROW(relu_f32, float, float, (A > 0.0f || A != A) ? A : 0.0f)
UN_ROW(relu_f64, double, double, (A > 0.0 || A != A) ? A : 0.0)
UN_ROW(relu_i32, int32_t, int32_t, A > 0 ? A : 0)
UN_ROW(relu_i64, int64_t, int64_t, A > 0 ? A : 0)
static const un_fn relu_fns[JAG_DTYPE_COUNT] = {relu_f32, relu_f64, relu_i32, relu_i64, NULL, NULL};
UNARY_KERNEL(relu)

/* sigmoid: x float -> 1 / (1 + exp(-x)) in x's dtype (composite.py). */
UN_FLOAT(sigmoid, 1.0f / (1.0f + expf(-A)), 1.0 / (1.0 + exp(-A)))
UNARY_KERNEL(sigmoid)

/* gelu: x float, attr approximate "none" | "tanh" (composite.py, in x's dtype):
 *   none: 0.5 * x * (1 + erf(x / sqrt(2)))        (erf as the erf op: erf_poly_f32 for float32)
 *   tanh: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))                        */
#define GELU_SQRT2_F64 1.4142135623730951
#define GELU_K_F64 0.7978845608028654 /* sqrt(2 / pi) */
UN_FLOAT(gelu_erf, 0.5f * A * (1.0f + erf_poly_f32(A / (float)GELU_SQRT2_F64)),
         0.5 * A * (1.0 + erf(A / GELU_SQRT2_F64)))
UN_FLOAT(gelu_tanh, 0.5f * A * (1.0f + tanhf((float)GELU_K_F64 * (A + 0.044715f * (A * A * A)))),
         0.5 * A * (1.0 + tanh(GELU_K_F64 * (A + 0.044715 * (A * A * A)))))

enum jag_status jag_prepare_gelu(struct jag_exec *x)
{
    const struct jag_attr *a = JAG_ATTR(x, JAG_ATTR_GELU_APPROXIMATE);
    if (a->s && strcmp(a->s, "tanh") == 0) x->node->params[0] = 1;
    else if (a->s && strcmp(a->s, "none") == 0) x->node->params[0] = 0;
    else return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'approximate': '%s' is not one of ['none', 'tanh']",
                              a->s ? a->s : "");
    return jag_rule_same(x);
}

enum jag_status jag_eval_gelu(struct jag_exec *x)
{
    un_run(x, (x->node->params[0] ? gelu_tanh_fns : gelu_erf_fns)[x->in[0]->dtype]);
    return JAG_STATUS_OK;
}

/* logical_not: x bool -> not x (np.logical_not). */
UN_ROW(logical_not_b, uint8_t, uint8_t, A ^ 1u)
static const un_fn logical_not_fns[JAG_DTYPE_COUNT] = {NULL, NULL, NULL, NULL, NULL, logical_not_b};
UNARY_KERNEL(logical_not)

/* ---------------------------------------------------------------- cast (shape rule "same") */

/* cast: x any dtype -> attr dtype (core.py _cast).
 *   float -> int:   truncate toward zero, saturate to the target range, NaN -> 0
 *   any -> bool:    x != 0 (NaN is true)
 *   int -> int:     two's complement wrap (uint8 mod 256)
 *   -> float:       C conversion, round to nearest (int64 -> float32 correctly rounded)
 *   bool -> any:    0 / 1                                                                  */
static inline int32_t sat_i32(double v)
{
    return v != v ? 0 : v >= 2147483648.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
}
static inline int64_t sat_i64(double v)
{
    return v != v ? 0 : v >= 9223372036854775808.0 ? INT64_MAX : v <= -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
}
static inline uint8_t sat_u8(double v)
{
    return v != v ? 0 : v >= 255.0 ? 255 : v <= 0.0 ? 0 : (uint8_t)v;
}
static inline int32_t wrap_i32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

#define CAST_FROM_FLOAT(s, Ti)                                       \
    UN_ROW(cast_##s##_f32, Ti, float, A)                             \
    UN_ROW(cast_##s##_f64, Ti, double, A)                            \
    UN_ROW(cast_##s##_i32, Ti, int32_t, sat_i32(A))                  \
    UN_ROW(cast_##s##_i64, Ti, int64_t, sat_i64(A))                  \
    UN_ROW(cast_##s##_u8, Ti, uint8_t, sat_u8(A))                    \
    UN_ROW(cast_##s##_b, Ti, uint8_t, A != 0)
#define CAST_FROM_INT(s, Ti)                                         \
    UN_ROW(cast_##s##_f32, Ti, float, A)                             \
    UN_ROW(cast_##s##_f64, Ti, double, A)                            \
    UN_ROW(cast_##s##_i32, Ti, int32_t, wrap_i32(A))                 \
    UN_ROW(cast_##s##_i64, Ti, int64_t, A)                           \
    UN_ROW(cast_##s##_u8, Ti, uint8_t, (uint8_t)A)                   \
    UN_ROW(cast_##s##_b, Ti, uint8_t, A != 0)
#define CAST_TABLE_ROW(s) {cast_##s##_f32, cast_##s##_f64, cast_##s##_i32, cast_##s##_i64, cast_##s##_u8, cast_##s##_b}

CAST_FROM_FLOAT(f32, float)
CAST_FROM_FLOAT(f64, double)
CAST_FROM_INT(i32, int32_t)
CAST_FROM_INT(i64, int64_t)
CAST_FROM_INT(u8, uint8_t)
/* bool bytes are 0/1: uint8 code gives the same results. */
static const un_fn cast_fns[JAG_DTYPE_COUNT][JAG_DTYPE_COUNT] = {
    CAST_TABLE_ROW(f32), CAST_TABLE_ROW(f64), CAST_TABLE_ROW(i32),
    CAST_TABLE_ROW(i64), CAST_TABLE_ROW(u8), CAST_TABLE_ROW(u8),
};

enum jag_status jag_prepare_cast(struct jag_exec *x) { return jag_rule_same(x); }

enum jag_status jag_eval_cast(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0], *out = x->out[0];
    if (in->dtype == out->dtype) {
        if (out->nbytes) memcpy(out->data, in->data, out->nbytes);
    } else {
        un_run(x, cast_fns[in->dtype][out->dtype]);
    }
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- binary (shape rule "broadcast") */

/* add, subtract, multiply: a, b numeric -> a op b (np.add, ...); integers wrap. */
BIN_ARITH(add, +)
BINARY_KERNEL(add)
BIN_ARITH(subtract, -)
BINARY_KERNEL(subtract)
BIN_ARITH(multiply, *)
BINARY_KERNEL(multiply)

/* divide: a, b float -> a / b (np.true_divide): x/0 = ±inf, 0/0 = NaN. */
BIN_FLOAT(divide, A / B, A / B)
BINARY_KERNEL(divide)

/* power: a, b float -> pow(a, b) (np.power: powf / pow). */
BIN_FLOAT(power, powf(A, B), pow(A, B))
BINARY_KERNEL(power)

/* maximum, minimum: a, b any dtype (np.maximum / np.minimum): NaN from either side
 * propagates; on ties the result is b (signed zeros as numpy); on bool: or / and. */
BIN_ALL(maximum, SAME_T, (A > B || A != A) ? A : B, A > B ? A : B)
BINARY_KERNEL(maximum)
BIN_ALL(minimum, SAME_T, (A < B || A != A) ? A : B, A < B ? A : B)
BINARY_KERNEL(minimum)

/* Comparisons -> bool (np.equal, ...): false with NaN except not_equal; -0.0 == 0.0.
 * equal / not_equal take every dtype, the ordered ones the numeric dtypes. */
BIN_ALL(equal, BOOL_T, A == B, A == B)
BINARY_KERNEL(equal)
BIN_ALL(not_equal, BOOL_T, A != B, A != B)
BINARY_KERNEL(not_equal)
BIN_ALL(less, BOOL_T, A < B, A < B)
BINARY_KERNEL(less)
BIN_ALL(less_equal, BOOL_T, A <= B, A <= B)
BINARY_KERNEL(less_equal)
BIN_ALL(greater, BOOL_T, A > B, A > B)
BINARY_KERNEL(greater)
BIN_ALL(greater_equal, BOOL_T, A >= B, A >= B)
BINARY_KERNEL(greater_equal)

/* logical_and, logical_or: a, b bool -> bool (np.logical_and / np.logical_or). */
EW_ROW(logical_and_b, uint8_t, uint8_t, A & B)
static const ew_fn logical_and_fns[JAG_DTYPE_COUNT] = {NULL, NULL, NULL, NULL, NULL, logical_and_b};
BINARY_KERNEL(logical_and)
EW_ROW(logical_or_b, uint8_t, uint8_t, A | B)
static const ew_fn logical_or_fns[JAG_DTYPE_COUNT] = {NULL, NULL, NULL, NULL, NULL, logical_or_b};
BINARY_KERNEL(logical_or)

/* ---------------------------------------------------------------- where */

/* where: condition bool, a, b any dtype (same), all three broadcast -> condition ? a : b
 * (np.where). Elements are copied as raw 1/4/8-byte words (bit-exact, NaN payloads kept). */
#define WHERE_ROW(name, T)                                                                      \
    static void name(int64_t n, const void *p0, int64_t s0, const void *p1, int64_t s1,         \
                     const void *p2, int64_t s2, void *py)                                      \
    {                                                                                           \
        const uint8_t *restrict c = (const uint8_t *)p0;                                        \
        const T *restrict a = (const T *)p1;                                                    \
        const T *restrict b = (const T *)p2;                                                    \
        T *restrict y = (T *)py;                                                                \
        if (s0 == 1 && s1 == 1 && s2 == 1) {                                                    \
            for (int64_t i = 0; i < n; i++) y[i] = c[i] ? a[i] : b[i];                          \
        } else if (s0 == 1 && s1 == 1 && s2 == 0) {                                             \
            const T B = b[0];                                                                   \
            for (int64_t i = 0; i < n; i++) y[i] = c[i] ? a[i] : B;                             \
        } else if (s0 == 1 && s1 == 0 && s2 == 1) {                                             \
            const T A = a[0];                                                                   \
            for (int64_t i = 0; i < n; i++) y[i] = c[i] ? A : b[i];                             \
        } else if (s0 == 0) {                                                                   \
            const T *src = c[0] ? a : b;                                                        \
            int64_t s = c[0] ? s1 : s2;                                                         \
            for (int64_t i = 0; i < n; i++) y[i] = src[i * s];                                  \
        } else {                                                                                \
            for (int64_t i = 0; i < n; i++) y[i] = c[i * s0] ? a[i * s1] : b[i * s2];           \
        }                                                                                       \
    }
WHERE_ROW(where_1, uint8_t)
WHERE_ROW(where_4, uint32_t)
WHERE_ROW(where_8, uint64_t)

enum jag_status jag_prepare_where(struct jag_exec *x) { return jag_rule_broadcast(x); }

enum jag_status jag_eval_where(struct jag_exec *x)
{
    size_t size = jag_dtype_size(x->in[1]->dtype);
    ew_run(x, size == 1 ? where_1 : size == 4 ? where_4 : where_8);
    return JAG_STATUS_OK;
}

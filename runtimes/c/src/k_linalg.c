/* k_linalg.c — matmul and linear kernels, and the float GEMM core they share with conv2d.
 *
 * Semantics: numpy.matmul (python/jag/ops/shapes.py "matmul" rule, core.py) and
 * torch.nn.functional.linear (python/jag/ops/composite.py); integer matmul wraps as numpy
 * does (it accumulates in the dtype itself), computed here in the unsigned type of the
 * same width so that C never sees a signed overflow.
 *
 * The float GEMM is a Goto/BLIS-style blocked product written in plain C99 for the
 * compiler to vectorize: B is packed into KC x NC panels of NR-wide slivers, A into MC x KC
 * blocks of MR-high slivers, and a micro-kernel keeps an MR x NR tile of C in a local
 * array (registers) while it walks k. Packing buffers live in the node's scratch memory
 * (requested by prepare); eval never allocates. Small problems (GEMV-like shapes) take
 * unpacked paths. With -DJAG_USE_CBLAS (make BLAS=openblas) float products go to CBLAS.
 */
#include "jag_internal.h"

#include <math.h>
#include <string.h>

#ifdef JAG_USE_CBLAS
#include <cblas.h>
#include <limits.h>
#endif

/* ---------------------------------------------------------------- tuning
 * MR x NR is the register tile (MR rows of NR floats/doubles). The rows of the micro-kernel
 * are written out one by one (JAG_UKR_ROW) so the compiler vectorizes along j and keeps
 * the accumulators in registers. With GCC on AVX-512 the kernels ask for 512-bit vectors
 * (GCC's default preference is 256-bit); any other compiler sees plain C. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8 && defined(__AVX512F__)
#define JAG_GEMM_TARGET __attribute__((target("prefer-vector-width=512")))
#define JAG_S_MR 12
#define JAG_S_NR 32
#define JAG_D_MR 6
#define JAG_D_NR 32
#elif defined(__AVX512F__)
#define JAG_GEMM_TARGET
#define JAG_S_MR 6
#define JAG_S_NR 32
#define JAG_D_MR 6
#define JAG_D_NR 16
#elif defined(__AVX__)
#define JAG_GEMM_TARGET
#define JAG_S_MR 4
#define JAG_S_NR 24
#define JAG_D_MR 4
#define JAG_D_NR 12
#else
#define JAG_GEMM_TARGET
#define JAG_S_MR 4
#define JAG_S_NR 16
#define JAG_D_MR 4
#define JAG_D_NR 8
#endif

#define JAG_S_KC 256
#define JAG_S_MC (JAG_S_MR * (144 / JAG_S_MR))
#define JAG_S_NC (JAG_S_NR * (2048 / JAG_S_NR))
#define JAG_D_KC 128
#define JAG_D_MC (JAG_D_MR * (144 / JAG_D_MR))
#define JAG_D_NC (JAG_D_NR * (1024 / JAG_D_NR))

/* Rows (M) at most this many take the unpacked small-M paths. */
#define JAG_GEMM_SMALL 4

/* Fused multiply-add when the target has it (one rounding, as BLAS), else a*b + c. */
#ifdef FP_FAST_FMAF
#define JAG_FMA_F32(a, b, c) fmaf((a), (b), (c))
#else
#define JAG_FMA_F32(a, b, c) ((a) * (b) + (c))
#endif
#ifdef FP_FAST_FMA
#define JAG_FMA_F64(a, b, c) fma((a), (b), (c))
#else
#define JAG_FMA_F64(a, b, c) ((a) * (b) + (c))
#endif

/* The GEMM entry points jag_gemm_f32/_f64 (declared in jag_internal.h) are defined below. */

enum { JAG_GEMM_ZERO, JAG_GEMM_DOT, JAG_GEMM_AXPY, JAG_GEMM_PACKED };

/* Which algorithm a product takes (the scratch size depends on it). */
static int gemm_path(int64_t M, int64_t N, int64_t K, int64_t csa, int64_t rsb, int64_t csb)
{
    if (M == 0 || N == 0 || K == 0) return JAG_GEMM_ZERO;
    /* matrix @ vector, or a few rows against a transposed B (linear): dot products. */
    if (csa == 1 && rsb == 1 && (N <= JAG_GEMM_SMALL || M <= 2)) return JAG_GEMM_DOT;
    /* a few rows against a row-major B: rows of C accumulate rows of B. */
    if (csb == 1 && M <= JAG_GEMM_SMALL) return JAG_GEMM_AXPY;
    return JAG_GEMM_PACKED;
}

static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* 64-byte aligned pointer inside p (the caller reserved 64 spare bytes). */
static void *align64(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (void *)(u + ((64u - (u & 63u)) & 63u));
}

/* One row of the micro-kernel: acc[i][0..NR) += a[p*MR + i] * b[p*rsb + 0..NR). */
#define JAG_UKR_ROW(T, MR, NR, FMA, i)                                                     \
    if ((i) < (MR)) {                                                                   \
        const int ii_ = (i) < (MR) ? (i) : 0;                                           \
        const T ai_ = a[p * (MR) + ii_];                            \
        for (int j_ = 0; j_ < (NR); j_++) acc[ii_][j_] = FMA(ai_, bp[j_], acc[ii_][j_]); \
    }

/* Kernel generator for one float type: T (float/double), S (f32/f64), tile sizes. */
#define JAG_GEMM_DEFINE(T, S, MR, NR, KC, MC, NC, FMA)                                                           \
    /* acc = A sliver [kc][MR] x B sliver (rows rsb apart, NR wide); C tile (mr x nr) = acc or += acc. */     \
    static JAG_GEMM_TARGET void ukr_##S(int64_t kc, const T *restrict a, const T *restrict b, int64_t rsb,     \
                                        T *restrict c, int64_t ldc, int64_t mr, int64_t nr, bool add)         \
    {                                                                                                         \
        T acc[MR][NR];                                                                                        \
        for (int i = 0; i < (MR); i++)                                                                        \
            for (int j = 0; j < (NR); j++) acc[i][j] = 0;                                                     \
        for (int64_t p = 0; p < kc; p++) {                                                                    \
            const T *restrict bp = b + p * rsb;                                                               \
            JAG_UKR_ROW(T, MR, NR, FMA, 0) JAG_UKR_ROW(T, MR, NR, FMA, 1) JAG_UKR_ROW(T, MR, NR, FMA, 2)               \
            JAG_UKR_ROW(T, MR, NR, FMA, 3) JAG_UKR_ROW(T, MR, NR, FMA, 4) JAG_UKR_ROW(T, MR, NR, FMA, 5)               \
            JAG_UKR_ROW(T, MR, NR, FMA, 6) JAG_UKR_ROW(T, MR, NR, FMA, 7) JAG_UKR_ROW(T, MR, NR, FMA, 8)               \
            JAG_UKR_ROW(T, MR, NR, FMA, 9) JAG_UKR_ROW(T, MR, NR, FMA, 10) JAG_UKR_ROW(T, MR, NR, FMA, 11)             \
            JAG_UKR_ROW(T, MR, NR, FMA, 12) JAG_UKR_ROW(T, MR, NR, FMA, 13) JAG_UKR_ROW(T, MR, NR, FMA, 14)            \
            JAG_UKR_ROW(T, MR, NR, FMA, 15)                                                                      \
        }                                                                                                     \
        if (mr == (MR) && nr == (NR)) {                                                                       \
            if (add) {                                                                                        \
                for (int i = 0; i < (MR); i++)                                                                \
                    for (int j = 0; j < (NR); j++) c[i * ldc + j] += acc[i][j];                               \
            } else {                                                                                          \
                for (int i = 0; i < (MR); i++)                                                                \
                    for (int j = 0; j < (NR); j++) c[i * ldc + j] = acc[i][j];                                \
            }                                                                                                 \
        } else {                                                                                              \
            for (int64_t i = 0; i < mr; i++)                                                                  \
                for (int64_t j = 0; j < nr; j++) c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j]; \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    /* Pack rows [0, m) x cols [0, kc) of A into MR-high slivers [kc][MR], zero-padded. Full     \
     * slivers of a row-major A are written in order (p outer, the MR rows inner): sequential     \
     * stores, MR read streams (scattered stores, one row at a time, were much slower). */         \
    static void pack_a_##S(int64_t m, int64_t kc, const T *a, int64_t rsa, int64_t csa, T *restrict d)        \
    {                                                                                                         \
        for (int64_t ir = 0; ir < m; ir += (MR), d += (MR) * kc) {                                            \
            int64_t mr = min_i64(MR, m - ir);                                                                 \
            if (mr == (MR) && csa == 1) {                                                                     \
                const T *s = a + ir * rsa;                                                                    \
                for (int64_t p = 0; p < kc; p++)                                                              \
                    for (int i = 0; i < (MR); i++) d[p * (MR) + i] = s[i * rsa + p];                          \
                continue;                                                                                     \
            }                                                                                                 \
            if (mr < (MR))                                                                                    \
                for (int64_t q = 0; q < (MR) * kc; q++) d[q] = 0;                                             \
            for (int64_t i = 0; i < mr; i++) {                                                                \
                const T *s = a + (ir + i) * rsa;                                                              \
                if (csa == 1)                                                                                 \
                    for (int64_t p = 0; p < kc; p++) d[p * (MR) + i] = s[p];                                  \
                else                                                                                          \
                    for (int64_t p = 0; p < kc; p++) d[p * (MR) + i] = s[p * csa];                            \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    /* Pack rows [0, kc) x cols [0, n) of B into NR-wide slivers [kc][NR], zero-padded. */                  \
    static void pack_b_##S(int64_t kc, int64_t n, const T *b, int64_t rsb, int64_t csb, T *restrict d)        \
    {                                                                                                         \
        for (int64_t jr = 0; jr < n; jr += (NR), d += (NR) * kc) {                                            \
            int64_t nr = min_i64(NR, n - jr);                                                                 \
            if (csb == 1 && nr == (NR)) {                                                                     \
                for (int64_t p = 0; p < kc; p++) {                                                            \
                    const T *s = b + p * rsb + jr;                                                            \
                    for (int j = 0; j < (NR); j++) d[p * (NR) + j] = s[j];                                    \
                }                                                                                             \
                continue;                                                                                     \
            }                                                                                                 \
            if (nr < (NR))                                                                                    \
                for (int64_t q = 0; q < (NR) * kc; q++) d[q] = 0;                                             \
            for (int64_t j = 0; j < nr; j++) {                                                                \
                const T *s = b + (jr + j) * csb;                                                              \
                for (int64_t p = 0; p < kc; p++) d[p * (NR) + j] = s[p * rsb];                                \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    static void gemm_packed_##S(int64_t M, int64_t N, int64_t K, const T *a, int64_t rsa, int64_t csa,        \
                                const T *b, int64_t rsb, int64_t csb, T *c, int64_t ldc, void *scratch)       \
    {                                                                                                         \
        int64_t kc_max = min_i64(K, KC);                                                                      \
        T *pa = (T *)align64(scratch);                                                                        \
        T *pb = (T *)align64(pa + min_i64(round_up(M, MR), MC) * kc_max);                                     \
        for (int64_t jc = 0; jc < N; jc += (NC)) {                                                            \
            int64_t nc = min_i64(NC, N - jc);                                                                 \
            for (int64_t pc = 0; pc < K; pc += (KC)) {                                                        \
                int64_t kc = min_i64(KC, K - pc);                                                             \
                pack_b_##S(kc, nc, b + pc * rsb + jc * csb, rsb, csb, pb);                                    \
                for (int64_t ic = 0; ic < M; ic += (MC)) {                                                    \
                    int64_t mc = min_i64(MC, M - ic);                                                         \
                    pack_a_##S(mc, kc, a + ic * rsa + pc * csa, rsa, csa, pa);                                \
                    for (int64_t jr = 0; jr < nc; jr += (NR))                                                 \
                        for (int64_t ir = 0; ir < mc; ir += (MR))                                             \
                            ukr_##S(kc, pa + ir * kc, pb + jr * kc, NR, c + (ic + ir) * ldc + jc + jr, ldc,   \
                                    min_i64(MR, mc - ir), min_i64(NR, nc - jr), pc > 0);                      \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    /* C[i, j] = dot(A row i, B column j), both contiguous in k: 4 columns at a time, 32 lanes. */          \
    static JAG_GEMM_TARGET void gemm_dot_##S(int64_t M, int64_t N, int64_t K, const T *a, int64_t rsa,        \
                                             const T *b, int64_t csb, T *c, int64_t ldc)                      \
    {                                                                                                         \
        enum { L_ = 32 };                                                                                     \
        int64_t k16 = K / L_ * L_;                                                                            \
        for (int64_t i = 0; i < M; i++) {                                                                     \
            const T *restrict ar = a + i * rsa;                                                               \
            int64_t j = 0;                                                                                    \
            for (; j + 4 <= N; j += 4) {                                                                      \
                const T *restrict b0 = b + j * csb, *restrict b1 = b0 + csb, *restrict b2 = b1 + csb,         \
                                  *restrict b3 = b2 + csb;                                                    \
                T s0[L_], s1[L_], s2[L_], s3[L_];                                                             \
                for (int l = 0; l < L_; l++) s0[l] = s1[l] = s2[l] = s3[l] = 0;                               \
                for (int64_t k = 0; k < k16; k += L_) {                                                       \
                    for (int l = 0; l < L_; l++) s0[l] = FMA(ar[k + l], b0[k + l], s0[l]);                    \
                    for (int l = 0; l < L_; l++) s1[l] = FMA(ar[k + l], b1[k + l], s1[l]);                    \
                    for (int l = 0; l < L_; l++) s2[l] = FMA(ar[k + l], b2[k + l], s2[l]);                    \
                    for (int l = 0; l < L_; l++) s3[l] = FMA(ar[k + l], b3[k + l], s3[l]);                    \
                }                                                                                             \
                T t0 = 0, t1 = 0, t2 = 0, t3 = 0;                                                             \
                for (int l = 0; l < L_; l++) t0 += s0[l], t1 += s1[l], t2 += s2[l], t3 += s3[l];              \
                for (int64_t k = k16; k < K; k++) {                                                           \
                    t0 = FMA(ar[k], b0[k], t0);                                                               \
                    t1 = FMA(ar[k], b1[k], t1);                                                               \
                    t2 = FMA(ar[k], b2[k], t2);                                                               \
                    t3 = FMA(ar[k], b3[k], t3);                                                               \
                }                                                                                             \
                c[i * ldc + j] = t0;                                                                          \
                c[i * ldc + j + 1] = t1;                                                                      \
                c[i * ldc + j + 2] = t2;                                                                      \
                c[i * ldc + j + 3] = t3;                                                                      \
            }                                                                                                 \
            for (; j < N; j++) {                                                                              \
                const T *restrict b0 = b + j * csb;                                                           \
                T s0[L_];                                                                                     \
                for (int l = 0; l < L_; l++) s0[l] = 0;                                                       \
                for (int64_t k = 0; k < k16; k += L_)                                                         \
                    for (int l = 0; l < L_; l++) s0[l] = FMA(ar[k + l], b0[k + l], s0[l]);                    \
                T t0 = 0;                                                                                     \
                for (int l = 0; l < L_; l++) t0 += s0[l];                                                     \
                for (int64_t k = k16; k < K; k++) t0 = FMA(ar[k], b0[k], t0);                                 \
                c[i * ldc + j] = t0;                                                                          \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    /* C row i = sum_k A[i, k] * B row k (B rows contiguous): for a few rows of A. */                        \
    static JAG_GEMM_TARGET void gemm_axpy_##S(int64_t M, int64_t N, int64_t K, const T *a, int64_t rsa,       \
                                              int64_t csa, const T *b, int64_t rsb, T *c, int64_t ldc)        \
    {                                                                                                         \
        for (int64_t i = 0; i < M; i++) {                                                                     \
            T *restrict cr = c + i * ldc;                                                                     \
            const T *ar = a + i * rsa;                                                                        \
            T a0 = ar[0];                                                                                     \
            const T *restrict b0 = b;                                                                         \
            for (int64_t j = 0; j < N; j++) cr[j] = a0 * b0[j];                                               \
            for (int64_t k = 1; k < K; k++) {                                                                 \
                T ak = ar[k * csa];                                                                           \
                const T *restrict bk = b + k * rsb;                                                           \
                for (int64_t j = 0; j < N; j++) cr[j] = FMA(ak, bk[j], cr[j]);                                \
            }                                                                                                 \
        }                                                                                                     \
    }                                                                                                         \
                                                                                                              \
    size_t jag_gemm_scratch_##S(int64_t M, int64_t N, int64_t K, int64_t rsa, int64_t csa, int64_t rsb,       \
                                int64_t csb)                                                                  \
    {                                                                                                         \
        (void)rsa;                                                                                            \
        if (gemm_path(M, N, K, csa, rsb, csb) != JAG_GEMM_PACKED) return 0;                                   \
        int64_t kc = min_i64(K, KC);                                                                          \
        int64_t elems = min_i64(round_up(M, MR), MC) * kc + min_i64(round_up(N, NR), NC) * kc;                \
        return (size_t)elems * sizeof(T) + 128;                                                               \
    }                                                                                                         \
                                                                                                              \
    void jag_gemm_##S(int64_t M, int64_t N, int64_t K, const T *a, int64_t rsa, int64_t csa, const T *b,      \
                      int64_t rsb, int64_t csb, T *c, int64_t ldc, void *scratch)                             \
    {                                                                                                         \
        if (JAG_GEMM_BLAS_##S(M, N, K, a, rsa, csa, b, rsb, csb, c, ldc)) return;                             \
        switch (gemm_path(M, N, K, csa, rsb, csb)) {                                                          \
        case JAG_GEMM_ZERO:                                                                                   \
            for (int64_t i = 0; i < M; i++)                                                                   \
                for (int64_t j = 0; j < N; j++) c[i * ldc + j] = 0;                                           \
            break;                                                                                            \
        case JAG_GEMM_DOT: gemm_dot_##S(M, N, K, a, rsa, b, csb, c, ldc); break;                              \
        case JAG_GEMM_AXPY: gemm_axpy_##S(M, N, K, a, rsa, csa, b, rsb, c, ldc); break;                       \
        default: gemm_packed_##S(M, N, K, a, rsa, csa, b, rsb, csb, c, ldc, scratch); break;                  \
        }                                                                                                     \
    }

/* Optional CBLAS: when both operands are row- or column-major with a usable leading dim. */
#ifdef JAG_USE_CBLAS
static bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, enum CBLAS_TRANSPOSE *t, int *ld)
{
    if (cs == 1 && rs >= (cols > 1 ? cols : 1) && rs <= INT_MAX) { *t = CblasNoTrans; *ld = (int)rs; return true; }
    if (rs == 1 && cs >= (rows > 1 ? rows : 1) && cs <= INT_MAX) { *t = CblasTrans; *ld = (int)cs; return true; }
    return false;
}
#define JAG_GEMM_BLAS_DEFINE(T, S, FN)                                                                           \
    static bool blas_##S(int64_t M, int64_t N, int64_t K, const T *a, int64_t rsa, int64_t csa, const T *b,      \
                         int64_t rsb, int64_t csb, T *c, int64_t ldc)                                            \
    {                                                                                                            \
        enum CBLAS_TRANSPOSE ta, tb;                                                                             \
        int lda, ldb;                                                                                            \
        if (M <= 0 || N <= 0 || K <= 0 || M > INT_MAX || N > INT_MAX || K > INT_MAX || ldc > INT_MAX ||          \
            ldc < N || !blas_layout(M, K, rsa, csa, &ta, &lda) || !blas_layout(K, N, rsb, csb, &tb, &ldb))        \
            return false;                                                                                        \
        FN(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, 1, a, lda, b, ldb, 0, c, (int)ldc);                   \
        return true;                                                                                             \
    }
JAG_GEMM_BLAS_DEFINE(float, f32, cblas_sgemm)
JAG_GEMM_BLAS_DEFINE(double, f64, cblas_dgemm)
#define JAG_GEMM_BLAS_f32 blas_f32
#define JAG_GEMM_BLAS_f64 blas_f64
#else
#define JAG_GEMM_BLAS_f32(...) false
#define JAG_GEMM_BLAS_f64(...) false
#endif

JAG_GEMM_DEFINE(float, f32, JAG_S_MR, JAG_S_NR, JAG_S_KC, JAG_S_MC, JAG_S_NC, JAG_FMA_F32)
JAG_GEMM_DEFINE(double, f64, JAG_D_MR, JAG_D_NR, JAG_D_KC, JAG_D_MC, JAG_D_NC, JAG_FMA_F64)

/* ---------------------------------------------------------------- matmul
 * a [..., n, k] @ b [..., k, m] -> [..., n, m] (numpy.matmul): a 1-D a is [1, k] and a
 * 1-D b is [k, 1], the added dim removed from the result; batch dims broadcast; rank-0
 * operands and k mismatch are E_SHAPE. Every numeric dtype; integers wrap. */

struct mm_geom {
    int64_t M, N, K;
    int32_t nb;                         /* output batch rank                        */
    int64_t batch[JAG_MAX_DIMS];        /* output batch dims                        */
    int64_t sa[JAG_MAX_DIMS];           /* a's batch strides, in matrices (0: bcast)*/
    int64_t sb[JAG_MAX_DIMS];
    int64_t count;                      /* number of output matrices                */
};

/* Geometry of a matmul (shapes already checked, or being checked: returns false when the
 * batch dims do not broadcast; no message). */
static bool mm_geometry(const struct jag_value *a, const struct jag_value *b, struct mm_geom *g)
{
    int64_t a2[JAG_MAX_DIMS + 1], b2[JAG_MAX_DIMS + 1];
    int32_t ra = a->ndim, rb = b->ndim;
    if (ra == 1) { a2[0] = 1; a2[1] = a->shape[0]; ra = 2; }
    else memcpy(a2, a->shape, sizeof(int64_t) * (size_t)ra);
    if (rb == 1) { b2[0] = b->shape[0]; b2[1] = 1; rb = 2; }
    else memcpy(b2, b->shape, sizeof(int64_t) * (size_t)rb);
    g->M = a2[ra - 2];
    g->K = a2[ra - 1];
    g->N = b2[rb - 1];
    int32_t na = ra - 2, nbb = rb - 2;
    g->nb = na > nbb ? na : nbb;
    int64_t sa = 1, sb = 1;
    g->count = 1;
    for (int32_t i = g->nb - 1; i >= 0; i--) {
        int32_t ia = i - (g->nb - na), ib = i - (g->nb - nbb);
        int64_t da = ia >= 0 ? a2[ia] : 1, db = ib >= 0 ? b2[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        int64_t d = da == 1 ? db : da;
        g->batch[i] = d;
        g->sa[i] = (da == 1) ? 0 : sa;
        g->sb[i] = (db == 1) ? 0 : sb;
        sa *= da;
        sb *= db;
        g->count *= d;
    }
    return true;
}

enum jag_status jag_prepare_matmul(struct jag_exec *x)
{
    const struct jag_value *a = x->in[0], *b = x->in[1];
    char s1[256], s2[256];
    if (a->ndim == 0 || b->ndim == 0)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "matmul needs operands of rank >= 1, got shapes %s and %s",
                             jag_shape_str(a->shape, a->ndim, s1, sizeof s1), jag_shape_str(b->shape, b->ndim, s2, sizeof s2));
    int64_t ka = a->shape[a->ndim - 1];
    int64_t kb = b->ndim == 1 ? b->shape[0] : b->shape[b->ndim - 2];
    if (ka != kb)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 1 has shape %s; expected [%lld,*] to match input 0 %s",
                             jag_shape_str(b->shape, b->ndim, s1, sizeof s1), (long long)ka,
                             jag_shape_str(a->shape, a->ndim, s2, sizeof s2));
    struct mm_geom g;
    if (!mm_geometry(a, b, &g)) {
        /* Let the shared helper word the broadcast error over the batch shapes. */
        struct jag_value va, vb;
        memset(&va, 0, sizeof va);
        memset(&vb, 0, sizeof vb);
        va.ndim = a->ndim >= 2 ? a->ndim - 2 : 0;
        vb.ndim = b->ndim >= 2 ? b->ndim - 2 : 0;
        memcpy(va.shape, a->shape, sizeof(int64_t) * (size_t)va.ndim);
        memcpy(vb.shape, b->shape, sizeof(int64_t) * (size_t)vb.ndim);
        struct jag_value *vals[2] = {&va, &vb};
        int32_t nd;
        int64_t shape[JAG_MAX_DIMS];
        enum jag_status s = jag_exec_broadcast(x, 2, vals, &nd, shape);
        return s != JAG_STATUS_OK ? s : jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "matmul batch dims");
    }
    int64_t out[JAG_MAX_DIMS + 2];
    int32_t nd = g.nb;
    memcpy(out, g.batch, sizeof(int64_t) * (size_t)g.nb);
    if (a->ndim > 1) out[nd++] = g.M;
    if (b->ndim > 1) out[nd++] = g.N;
    enum jag_status s = jag_exec_set_shape(x, 0, nd, out);
    if (s != JAG_STATUS_OK) return s;
    x->node->scratch_bytes = 0;
    if (a->dtype == JAG_DTYPE_FLOAT32)
        x->node->scratch_bytes = jag_gemm_scratch_f32(g.M, g.N, g.K, g.K, 1, g.N, 1);
    else if (a->dtype == JAG_DTYPE_FLOAT64)
        x->node->scratch_bytes = jag_gemm_scratch_f64(g.M, g.N, g.K, g.K, 1, g.N, 1);
    return JAG_STATUS_OK;
}

/* Integer product of one matrix pair in the unsigned type UT (wraps like numpy). */
#define JAG_MM_INT(UT)                                                                          \
    static void mm_int_##UT(int64_t M, int64_t N, int64_t K, const UT *a, const UT *b, UT *c) \
    {                                                                                           \
        for (int64_t i = 0; i < M; i++) {                                                       \
            UT *restrict cr = c + i * N;                                                        \
            for (int64_t j = 0; j < N; j++) cr[j] = 0;                                          \
            for (int64_t k = 0; k < K; k++) {                                                   \
                UT aik = a[i * K + k];                                                          \
                const UT *restrict br = b + k * N;                                              \
                for (int64_t j = 0; j < N; j++) cr[j] = (UT)(cr[j] + (UT)(aik * br[j]));        \
            }                                                                                   \
        }                                                                                       \
    }
JAG_MM_INT(uint8_t)
JAG_MM_INT(uint32_t)
JAG_MM_INT(uint64_t)

enum jag_status jag_eval_matmul(struct jag_exec *x)
{
    const struct jag_value *a = x->in[0], *b = x->in[1];
    struct jag_value *y = x->out[0];
    struct mm_geom g;
    mm_geometry(a, b, &g);
    if (y->numel == 0) return JAG_STATUS_OK;
    int64_t M = g.M, N = g.N, K = g.K;
    int64_t idx[JAG_MAX_DIMS] = {0};
    int64_t offa = 0, offb = 0;     /* in matrices */
    for (int64_t t = 0; t < g.count; t++) {
        int64_t ea = offa * M * K, eb = offb * K * N, ec = t * M * N;
        switch (a->dtype) {
        case JAG_DTYPE_FLOAT32:
            jag_gemm_f32(M, N, K, (const float *)a->data + ea, K, 1, (const float *)b->data + eb, N, 1,
                         (float *)y->data + ec, N, x->scratch);
            break;
        case JAG_DTYPE_FLOAT64:
            jag_gemm_f64(M, N, K, (const double *)a->data + ea, K, 1, (const double *)b->data + eb, N, 1,
                         (double *)y->data + ec, N, x->scratch);
            break;
        /* int32_t / int64_t data is read and written through the unsigned type of the same width. */
        case JAG_DTYPE_INT32:
            mm_int_uint32_t(M, N, K, (const uint32_t *)a->data + ea, (const uint32_t *)b->data + eb,
                            (uint32_t *)y->data + ec);
            break;
        case JAG_DTYPE_INT64:
            mm_int_uint64_t(M, N, K, (const uint64_t *)a->data + ea, (const uint64_t *)b->data + eb,
                            (uint64_t *)y->data + ec);
            break;
        case JAG_DTYPE_UINT8:
            mm_int_uint8_t(M, N, K, (const uint8_t *)a->data + ea, (const uint8_t *)b->data + eb,
                           (uint8_t *)y->data + ec);
            break;
        default:
            return jag_exec_fail(x, JAG_STATUS_E_INTERNAL, "matmul: unexpected dtype %s", jag_dtype_name(a->dtype));
        }
        /* next batch index (row-major), updating the operand offsets */
        for (int32_t d = g.nb - 1; d >= 0; d--) {
            offa += g.sa[d];
            offb += g.sb[d];
            if (++idx[d] < g.batch[d]) break;
            offa -= g.sa[d] * g.batch[d];
            offb -= g.sb[d] * g.batch[d];
            idx[d] = 0;
        }
    }
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- linear
 * x [..., in] @ weight[out, in]^T + bias[out] -> [..., out] (torch.nn.functional.linear,
 * computed as numpy: matmul, then the bias added). float32 / float64. */

enum jag_status jag_prepare_linear(struct jag_exec *x)
{
    const struct jag_value *v = x->in[0], *w = x->in[1];
    char s1[256], s2[256];
    if (v->ndim < 1 || w->ndim != 2)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "linear needs x [..., in] and weight [out, in], got %s and %s",
                             jag_shape_str(v->shape, v->ndim, s1, sizeof s1), jag_shape_str(w->shape, w->ndim, s2, sizeof s2));
    int64_t in = v->shape[v->ndim - 1];
    if (in != w->shape[1])
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 1 (weight) has shape %s; expected [*,%lld] to match x %s",
                             jag_shape_str(w->shape, w->ndim, s1, sizeof s1), (long long)in,
                             jag_shape_str(v->shape, v->ndim, s2, sizeof s2));
    if (x->n_in == 3) {
        const struct jag_value *bias = x->in[2];
        if (bias->ndim != 1 || bias->shape[0] != w->shape[0])
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "input 2 (bias) has shape %s; expected [%lld]",
                                 jag_shape_str(bias->shape, bias->ndim, s1, sizeof s1), (long long)w->shape[0]);
    }
    int64_t out[JAG_MAX_DIMS];
    memcpy(out, v->shape, sizeof(int64_t) * (size_t)v->ndim);
    out[v->ndim - 1] = w->shape[0];
    enum jag_status s = jag_exec_set_shape(x, 0, v->ndim, out);
    if (s != JAG_STATUS_OK) return s;
    int64_t M = jag_numel(v->shape, v->ndim - 1), N = w->shape[0];
    x->node->scratch_bytes = v->dtype == JAG_DTYPE_FLOAT64 ? jag_gemm_scratch_f64(M, N, in, in, 1, 1, in)
                                                           : jag_gemm_scratch_f32(M, N, in, in, 1, 1, in);
    return JAG_STATUS_OK;
}

#define JAG_LINEAR(T, S)                                                                              \
    static void linear_##S(int64_t M, int64_t N, int64_t K, const T *v, const T *w, const T *bias, T *y, \
                           void *scratch)                                                             \
    {                                                                                                 \
        jag_gemm_##S(M, N, K, v, K, 1, w, 1, K, y, N, scratch);                                       \
        if (bias)                                                                                     \
            for (int64_t i = 0; i < M; i++) {                                                         \
                T *restrict yr = y + i * N;                                                           \
                for (int64_t j = 0; j < N; j++) yr[j] += bias[j];                                     \
            }                                                                                         \
    }
JAG_LINEAR(float, f32)
JAG_LINEAR(double, f64)

enum jag_status jag_eval_linear(struct jag_exec *x)
{
    const struct jag_value *v = x->in[0], *w = x->in[1], *bias = x->n_in == 3 ? x->in[2] : NULL;
    struct jag_value *y = x->out[0];
    if (y->numel == 0) return JAG_STATUS_OK;
    int64_t M = jag_numel(v->shape, v->ndim - 1), N = w->shape[0], K = w->shape[1];
    if (v->dtype == JAG_DTYPE_FLOAT64)
        linear_f64(M, N, K, (const double *)v->data, (const double *)w->data, bias ? (const double *)bias->data : NULL,
                   (double *)y->data, x->scratch);
    else
        linear_f32(M, N, K, (const float *)v->data, (const float *)w->data, bias ? (const float *)bias->data : NULL,
                   (float *)y->data, x->scratch);
    return JAG_STATUS_OK;
}

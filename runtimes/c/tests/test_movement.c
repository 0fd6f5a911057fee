/* test_movement.c — reshape, transpose, broadcast_to, slice, pad, concat (src/k_movement.c).
 *
 * Expected values were computed with the numpy reference (python/jag/ops/core.py IMPLS in
 * the venv) and pasted as literals; large cases (which exercise the blocked-transpose and
 * run-copy paths) are checked against a naive index loop written here. */
#include "jag_internal.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

static const int32_t I23[6] = {1, 2, 3, 4, 5, 6};
static int32_t A24[24];   /* arange(24) as int32 */

/* ---------------------------------------------------------------- reshape */

static void test_reshape(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_RESHAPE, at);

    /* ops.json example: [2,3] -> [3,-1] */
    in[0] = V(I32, I23, 2, 3);
    INTS(&at[0], 3, -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(I32, I23, 3, 2);

    static const double f[6] = {NAN, INFINITY, -INFINITY, -0.0, 1.5, 2};
    in[0] = V(F64, f, 2, 3);
    INTS(&at[0], -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(F64, f, 6);
    INTS(&at[0], 1, 6, 1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(F64, f, 1, 6, 1);

    static const int64_t big[4] = {INT64_MAX, INT64_MIN, -1, 0};
    in[0] = V(I64, big, 2, 2);
    INTS(&at[0], 4, -1, 1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(I64, big, 4, 1, 1);

    static const uint8_t b[1] = {1};
    in[0] = V0(BOOL, b);                      /* scalar -> [1,1] -> scalar */
    INTS(&at[0], 1, 1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(BOOL, b, 1, 1);
    in[0] = V(BOOL, b, 1, 1);
    set_ints(&at[0], NULL, 0);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT0(BOOL, b);
    in[0] = V0(U8, b);
    INTS(&at[0], -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT(U8, b, 1);

    /* zero-size */
    in[0] = V(F32, NULL, 0, 3);
    INTS(&at[0], 3, 0);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT_SHAPE(F32, 3, 0);
    INTS(&at[0], 3, -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT_SHAPE(F32, 3, 0);
    INTS(&at[0], 1, 0, 3);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), OK);
    EXPECT_SHAPE(F32, 1, 0, 3);
    /* -1 next to dims whose product overflows int64: the -1 is 0, but the non-zero dims'
     * product must still fit in int64 (spec §5; numpy cannot hold such a shape) */
    INTS(&at[0], -1, INT64_C(1) << 40, INT64_C(1) << 40);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);

    /* errors (python/tests/test_ops.py ERROR_CASES and the rule's branches) */
    in[0] = V(I32, I23, 2, 3);
    INTS(&at[0], 4, -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    INTS(&at[0], -1, -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_ATTR);
    INTS(&at[0], -2, -3);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_ATTR);
    INTS(&at[0], 4, 2);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    INTS(&at[0], 0, -1);
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    INTS(&at[0], INT64_C(1) << 40, INT64_C(1) << 40, -1);   /* 6 % 2^80 != 0 */
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    INTS(&at[0], INT64_C(1) << 40, INT64_C(1) << 40, 6);    /* product overflows: counts differ */
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    CHECK(strstr(g_err.message, "E_SHAPE") != NULL);
    in[0] = V(F32, NULL, 0, 3);
    INTS(&at[0], 0, -1);                                    /* the other dims multiply to 0 */
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
    in[0] = V(I32, I23, 6);
    INTS(&at[0], 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6);   /* rank 17 */
    CHECK_STATUS(run(JAG_OP_RESHAPE, at, 1, in), E_SHAPE);
}

/* ---------------------------------------------------------------- transpose */

static void test_transpose(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_TRANSPOSE, at);

    static const int32_t e201[24] = {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23};
    in[0] = V(I32, A24, 2, 3, 4);
    INTS(&at[0], 2, 0, 1);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(I32, e201, 4, 2, 3);
    INTS(&at[0], -1, 0, 1);                       /* negative entries count from the end */
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(I32, e201, 4, 2, 3);
    INTS(&at[0], 0, 1, 2);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(I32, A24, 2, 3, 4);

    uint8_t u[24];
    for (int i = 0; i < 24; i++) u[i] = (uint8_t)i;
    static const uint8_t erev[24] = {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23};
    in[0] = V(U8, u, 2, 3, 4);
    at[0].is_null = true;                         /* null: reverse the dims */
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(U8, erev, 4, 3, 2);

    double d[24];
    for (int i = 0; i < 24; i++) d[i] = i / 4.0;
    static const double e102[24] = {0.0, 0.25, 0.5, 0.75, 3.0, 3.25, 3.5, 3.75, 1.0, 1.25, 1.5, 1.75,
                                    4.0, 4.25, 4.5, 4.75, 2.0, 2.25, 2.5, 2.75, 5.0, 5.25, 5.5, 5.75};
    in[0] = V(F64, d, 2, 3, 4);
    INTS(&at[0], 1, 0, 2);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(F64, e102, 3, 2, 4);

    static const int64_t big[6] = {INT64_MAX, INT64_MIN, 5, -1, (INT64_C(1) << 53) + 1, 7};
    static const int64_t ebig[6] = {INT64_MAX, -1, INT64_MIN, (INT64_C(1) << 53) + 1, 5, 7};
    in[0] = V(I64, big, 2, 3);
    at[0].is_null = true;
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(I64, ebig, 3, 2);

    static const uint8_t bools[6] = {1, 0, 0, 1, 1, 0};
    static const uint8_t ebools[6] = {1, 1, 0, 1, 0, 0};
    in[0] = V(BOOL, bools, 2, 3);
    INTS(&at[0], -1, -2);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT(BOOL, ebools, 3, 2);

    /* rank 0 (null or []) and zero-size */
    static const float s = 2.5f;
    in[0] = V0(F32, &s);
    at[0].is_null = true;
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT0(F32, &s);
    set_ints(&at[0], NULL, 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT0(F32, &s);
    in[0] = V(F32, NULL, 0, 3);
    at[0].is_null = true;
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
    EXPECT_SHAPE(F32, 3, 0);

    /* large: blocked 2-D path, strided path and run-copy path, against a naive loop */
    enum { R = 37, C = 70, D = 3 };
    float *big3 = malloc(sizeof(float) * R * C * D), *want = malloc(sizeof(float) * R * C * D);
    for (int i = 0; i < R * C * D; i++) big3[i] = (float)i * 0.5f;
    in[0] = V(F32, big3, R, C, D);
    static const int64_t perms[4][3] = {{1, 0, 2}, {2, 1, 0}, {0, 2, 1}, {1, 2, 0}};
    for (int p = 0; p < 4; p++) {
        const int64_t *pm = perms[p];
        int64_t sh[3] = {R, C, D}, osh[3] = {sh[pm[0]], sh[pm[1]], sh[pm[2]]}, str[3] = {C * D, D, 1};
        for (int64_t i = 0; i < osh[0]; i++)
            for (int64_t j = 0; j < osh[1]; j++)
                for (int64_t k = 0; k < osh[2]; k++)
                    want[(i * osh[1] + j) * osh[2] + k] = big3[i * str[pm[0]] + j * str[pm[1]] + k * str[pm[2]]];
        set_ints(&at[0], pm, 3);
        CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), OK);
        expect_(__LINE__, F32, 3, osh, want);
    }
    free(big3);
    free(want);

    /* errors */
    in[0] = V(I32, I23, 2, 3);
    INTS(&at[0], 0, 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    INTS(&at[0], 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    INTS(&at[0], 0, 1, 2);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    INTS(&at[0], 2, 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    INTS(&at[0], -3, 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    INTS(&at[0], -1, 1);                          /* -1 is 1: a repeat */
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
    in[0] = V0(F32, &s);
    INTS(&at[0], 0);
    CHECK_STATUS(run(JAG_OP_TRANSPOSE, at, 1, in), E_ATTR);
}

/* ---------------------------------------------------------------- broadcast_to */

static void test_broadcast_to(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_BROADCAST_TO, at);

    static const float f2[2] = {1, 2}, ef[4] = {1, 2, 1, 2};   /* ops.json example */
    in[0] = V(F32, f2, 2);
    INTS(&at[0], 2, 2);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(F32, ef, 2, 2);

    static const int64_t col[2] = {INT64_MAX, INT64_MIN};
    static const int64_t ecol[6] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN, INT64_MIN};
    in[0] = V(I64, col, 2, 1);
    INTS(&at[0], 2, 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(I64, ecol, 2, 3);

    static const uint8_t t = 1, et[4] = {1, 1, 1, 1};
    in[0] = V0(BOOL, &t);
    INTS(&at[0], 2, 2);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(BOOL, et, 2, 2);
    set_ints(&at[0], NULL, 0);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT0(BOOL, &t);

    static const uint8_t u3[3] = {7, 0, 255};
    static const uint8_t eu[24] = {7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255, 7, 0, 255};
    in[0] = V(U8, u3, 1, 3);
    INTS(&at[0], 2, 4, 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(U8, eu, 2, 4, 3);

    static const double d3[3] = {NAN, -0.0, INFINITY};
    static const double ed[12] = {NAN, NAN, -0.0, -0.0, INFINITY, INFINITY, NAN, NAN, -0.0, -0.0, INFINITY, INFINITY};
    in[0] = V(F64, d3, 1, 3, 1);
    INTS(&at[0], 2, 3, 2);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(F64, ed, 2, 3, 2);

    /* same shape, zero-size */
    in[0] = V(I32, I23, 2, 3);
    INTS(&at[0], 2, 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT(I32, I23, 2, 3);
    in[0] = V(I32, I23, 1);
    INTS(&at[0], 0);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT_SHAPE(I32, 0);
    in[0] = V(I32, NULL, 0, 1);
    INTS(&at[0], 2, 0, 5);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), OK);
    EXPECT_SHAPE(I32, 2, 0, 5);

    /* errors */
    in[0] = V(I32, I23, 2, 3);
    INTS(&at[0], 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), E_SHAPE);
    INTS(&at[0], 3, 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), E_SHAPE);
    INTS(&at[0], 2, 1);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), E_SHAPE);
    INTS(&at[0], -1, 3);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), E_ATTR);
    in[0] = V(I32, NULL, 0);
    INTS(&at[0], 1);
    CHECK_STATUS(run(JAG_OP_BROADCAST_TO, at, 1, in), E_SHAPE);
}

/* ---------------------------------------------------------------- slice */

static void test_slice(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    int32_t v[35];
    for (int i = 0; i < 35; i++) v[i] = i;
    defaults(JAG_OP_SLICE, at);

    static const int32_t ex[7] = {0, 1, 2, 3, 4, 5, 6}, eex[3] = {1, 3, 5};   /* ops.json example */
    in[0] = V(I32, ex, 7);
    INTS(&at[0], 0);
    INTS(&at[1], -6);
    INTS(&at[2], 100);
    INTS(&at[3], 2);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, eex, 3);

    in[0] = V(I32, v, 7, 5);
    at[3].is_null = true;
    INTS(&at[0], 0);
    INTS(&at[1], 1);
    INTS(&at[2], 4);
    static const int32_t e1[15] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e1, 3, 5);

    INTS(&at[0], 0);
    INTS(&at[1], -6);
    INTS(&at[2], 100);
    INTS(&at[3], 2);
    static const int32_t e2[15] = {5, 6, 7, 8, 9, 15, 16, 17, 18, 19, 25, 26, 27, 28, 29};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e2, 3, 5);

    INTS(&at[0], 1);
    INTS(&at[1], -100);
    INTS(&at[2], INT64_MAX);
    INTS(&at[3], 3);
    static const int32_t e3[14] = {0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30, 33};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e3, 7, 2);

    INTS(&at[0], -1);
    INTS(&at[1], 2);
    INTS(&at[2], -1);
    at[3].is_null = true;
    static const int32_t e4[14] = {2, 3, 7, 8, 12, 13, 17, 18, 22, 23, 27, 28, 32, 33};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e4, 7, 2);

    INTS(&at[0], 0, 1);
    INTS(&at[1], -3, 0);
    INTS(&at[2], INT64_MAX, 5);
    INTS(&at[3], 1, 2);
    static const int32_t e5[9] = {20, 22, 24, 25, 27, 29, 30, 32, 34};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e5, 3, 3);

    INTS(&at[0], 1, 0);                           /* empty on axis 0 */
    INTS(&at[1], 1, 5);
    INTS(&at[2], -1, 2);
    at[3].is_null = true;
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT_SHAPE(I32, 0, 3);

    INTS(&at[0], -2, -1);
    INTS(&at[1], 0, 0);
    INTS(&at[2], 1, 1);
    INTS(&at[3], 5, 5);
    static const int32_t e6[1] = {0};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e6, 1, 1);

    /* extreme bounds and steps: no overflow in clamping or strides */
    INTS(&at[0], 0, 1);
    INTS(&at[1], INT64_MIN, 1);
    INTS(&at[2], INT64_MAX, INT64_MAX);
    INTS(&at[3], INT64_MAX, 2);
    static const int32_t e7[2] = {1, 3};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e7, 1, 2);
    INTS(&at[0], 1);
    INTS(&at[1], 3);
    INTS(&at[2], INT64_MAX);
    INTS(&at[3], INT64_C(1) << 62);
    static const int32_t e8[7] = {3, 8, 13, 18, 23, 28, 33};
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, e8, 7, 1);
    INTS(&at[0], 0);
    INTS(&at[1], 10);
    INTS(&at[2], 20);
    at[3].is_null = true;
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT_SHAPE(I32, 0, 5);
    INTS(&at[1], 5);
    INTS(&at[2], 2);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT_SHAPE(I32, 0, 5);
    INTS(&at[1], INT64_MIN);
    INTS(&at[2], INT64_MIN);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT_SHAPE(I32, 0, 5);

    set_ints(&at[0], NULL, 0);                    /* no axes: a copy */
    set_ints(&at[1], NULL, 0);
    set_ints(&at[2], NULL, 0);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I32, v, 7, 5);

    /* other dtypes, rank 0, zero-size */
    static const int64_t big[6] = {INT64_MAX, INT64_MIN, 5, -1, (INT64_C(1) << 53) + 1, 7};
    static const int64_t ebig[4] = {INT64_MIN, 5, (INT64_C(1) << 53) + 1, 7};
    in[0] = V(I64, big, 2, 3);
    INTS(&at[0], 1);
    INTS(&at[1], 1);
    INTS(&at[2], INT64_MAX);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(I64, ebig, 2, 2);
    static const uint8_t bools[6] = {1, 0, 0, 1, 1, 0}, ebools[2] = {1, 0};
    in[0] = V(BOOL, bools, 6);
    INTS(&at[0], -1);
    INTS(&at[1], -3);
    INTS(&at[2], INT64_MAX);
    INTS(&at[3], 2);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(BOOL, ebools, 2);
    static const double f[1] = {-0.0};
    in[0] = V0(F64, f);
    set_ints(&at[0], NULL, 0);
    set_ints(&at[1], NULL, 0);
    set_ints(&at[2], NULL, 0);
    at[3].is_null = true;
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT0(F64, f);
    in[0] = V(F32, NULL, 0, 3);
    INTS(&at[0], 1);
    INTS(&at[1], 1);
    INTS(&at[2], INT64_MAX);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT_SHAPE(F32, 0, 2);

    /* a big strided slice against a naive loop (run-copy and strided paths) */
    enum { R = 50, C = 64 };
    double *m = malloc(sizeof(double) * R * C), *want = malloc(sizeof(double) * R * C);
    for (int i = 0; i < R * C; i++) m[i] = i;
    in[0] = V(F64, m, R, C);
    INTS(&at[0], 0, 1);
    INTS(&at[1], 3, 5);
    INTS(&at[2], -2, 60);
    INTS(&at[3], 4, 1);
    int64_t n = 0;
    for (int i = 3; i < R - 2; i += 4)
        for (int j = 5; j < 60; j++) want[n++] = m[i * C + j];
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(F64, want, 12, 55);
    INTS(&at[3], 4, 3);
    n = 0;
    for (int i = 3; i < R - 2; i += 4)
        for (int j = 5; j < 60; j += 3) want[n++] = m[i * C + j];
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), OK);
    EXPECT(F64, want, 12, 19);
    free(m);
    free(want);

    /* errors */
    in[0] = V(I32, v, 7, 5);
    INTS(&at[0], 0);
    INTS(&at[1], 0);
    INTS(&at[2], 5);
    INTS(&at[3], 0);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[3], -1);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    at[3].is_null = true;
    INTS(&at[0], 2);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[0], -3);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[0], 0, -2);                          /* repeated axis */
    INTS(&at[1], 0, 0);
    INTS(&at[2], 1, 1);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[0], 0, 1);                           /* lengths differ */
    INTS(&at[1], 0);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[1], 0, 0);
    INTS(&at[2], 1, 1, 1);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    INTS(&at[2], 1, 1);
    INTS(&at[3], 1);
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
    in[0] = V0(F64, f);
    INTS(&at[0], 0);
    INTS(&at[1], 0);
    INTS(&at[2], 1);
    at[3].is_null = true;
    CHECK_STATUS(run(JAG_OP_SLICE, at, 1, in), E_ATTR);
}

/* ---------------------------------------------------------------- pad */

static void pad_value_case(int line, enum jag_dtype dt, const void *x1, double value, const void *want)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_PAD, at);
    in[0] = val(dt, 1, SHAPE(1), x1);
    INTS(&at[0], 1, 1);
    at[2].f = value;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    expect_(line, dt, 1, SHAPE(3), want);
}

static void test_pad(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_PAD, at);

    static const float ex[2] = {1, 2}, eex[8] = {9, 1, 9, 2, 9, 9, 9, 9};   /* ops.json example */
    in[0] = V(F32, ex, 1, 2);
    INTS(&at[0], 0, 1, 1, 0);
    INTS(&at[1], 0, 1);
    at[2].f = 9;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT(F32, eex, 2, 4);

    static const float p[6] = {1.5f, -2.25f, 3.0f, NAN, INFINITY, -0.0f};
    static const float ep[44] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1.5f, 5, 5, -2.25f, 5, 5, 3, 5, 5,
                                 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, NAN, 5, 5, INFINITY, 5, 5, -0.0f, 5, 5};
    in[0] = V(F32, p, 2, 3);
    INTS(&at[0], 1, 0, 2, 2);
    INTS(&at[1], 1, 2);
    at[2].f = 5;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT(F32, ep, 4, 11);

    static const int32_t pi[6] = {1, -2, 3, INT32_MAX, INT32_MIN, 0};
    static const int32_t epi[18] = {300, 1, 300, -2, 300, 3, 300, INT32_MAX, 300, INT32_MIN, 300, 0,
                                    300, 300, 300, 300, 300, 300};
    in[0] = V(I32, pi, 2, 3);
    INTS(&at[0], 0, 1, 1, 0);
    INTS(&at[1], 0, 1);
    at[2].f = 300.7;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT(I32, epi, 3, 6);

    /* rank 3 int64 with interior on two axes, default value 0 */
    int64_t x3[24];
    for (int i = 0; i < 24; i++) x3[i] = i - (INT64_C(1) << 62);
    int64_t e3[4 * 4 * 7];
    memset(e3, 0, sizeof e3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) e3[((i * 2) * 4 + (j + 1)) * 7 + k * 2] = x3[(i * 3 + j) * 4 + k];
    in[0] = V(I64, x3, 2, 3, 4);
    INTS(&at[0], 0, 1, 1, 0, 0, 0);
    INTS(&at[1], 1, 0, 1);
    at[2].f = 0;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT(I64, e3, 4, 4, 7);
    /* spot values from numpy: y[0,1,2] = x[0,0,1], y[2,3,6] = x[1,2,3], y[1,*,*] = 0 */
    CHECK(((int64_t *)g_out.data)[9] == -INT64_C(4611686018427387903));
    CHECK(((int64_t *)g_out.data)[2 * 28 + 3 * 7 + 6] == -INT64_C(4611686018427387881));

    /* zero-size input with interior: all fill; rank 0 with pads [] */
    in[0] = V(F64, NULL, 0, 3);
    INTS(&at[0], 1, 1, 0, 2);
    INTS(&at[1], 3, 1);
    at[2].f = 1.0;
    static const double ones[14] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT(F64, ones, 2, 7);
    static const double s = -7.5;
    in[0] = V0(F64, &s);
    set_ints(&at[0], NULL, 0);
    at[1].is_null = true;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), OK);
    EXPECT0(F64, &s);

    /* the fill value as cast(float64 -> dtype) gives it (numpy-computed) */
    static const uint8_t u1[1] = {7}, b1[1] = {0};
    static const int32_t i1[1] = {1};
    static const int64_t l1[1] = {1};
    static const float f1[1] = {1};
    pad_value_case(__LINE__, U8, u1, 300.7, (const uint8_t[]){255, 7, 255});
    pad_value_case(__LINE__, U8, u1, -5.0, (const uint8_t[]){0, 7, 0});
    pad_value_case(__LINE__, U8, u1, NAN, (const uint8_t[]){0, 7, 0});
    pad_value_case(__LINE__, U8, u1, 2.9, (const uint8_t[]){2, 7, 2});
    pad_value_case(__LINE__, BOOL, b1, NAN, (const uint8_t[]){1, 0, 1});
    pad_value_case(__LINE__, BOOL, b1, -0.0, (const uint8_t[]){0, 0, 0});
    pad_value_case(__LINE__, BOOL, b1, 0.5, (const uint8_t[]){1, 0, 1});
    pad_value_case(__LINE__, I32, i1, INFINITY, (const int32_t[]){INT32_MAX, 1, INT32_MAX});
    pad_value_case(__LINE__, I32, i1, -INFINITY, (const int32_t[]){INT32_MIN, 1, INT32_MIN});
    pad_value_case(__LINE__, I32, i1, 3e9, (const int32_t[]){INT32_MAX, 1, INT32_MAX});
    pad_value_case(__LINE__, I32, i1, -3e9, (const int32_t[]){INT32_MIN, 1, INT32_MIN});
    pad_value_case(__LINE__, I32, i1, 2147483647.5, (const int32_t[]){INT32_MAX, 1, INT32_MAX});
    pad_value_case(__LINE__, I32, i1, -2.9, (const int32_t[]){-2, 1, -2});
    pad_value_case(__LINE__, I32, i1, NAN, (const int32_t[]){0, 1, 0});
    pad_value_case(__LINE__, I64, l1, INFINITY, (const int64_t[]){INT64_MAX, 1, INT64_MAX});
    pad_value_case(__LINE__, I64, l1, -INFINITY, (const int64_t[]){INT64_MIN, 1, INT64_MIN});
    pad_value_case(__LINE__, I64, l1, 1e19, (const int64_t[]){INT64_MAX, 1, INT64_MAX});
    pad_value_case(__LINE__, I64, l1, -1e19, (const int64_t[]){INT64_MIN, 1, INT64_MIN});
    pad_value_case(__LINE__, I64, l1, 0x1p63 - 1024, (const int64_t[]){INT64_C(9223372036854774784), 1, INT64_C(9223372036854774784)});
    pad_value_case(__LINE__, F32, f1, 1e300, (const float[]){INFINITY, 1, INFINITY});
    pad_value_case(__LINE__, F32, f1, -1e300, (const float[]){-INFINITY, 1, -INFINITY});
    pad_value_case(__LINE__, F32, f1, 3.4028235677973366e38, (const float[]){INFINITY, 1, INFINITY});   /* ties to even */
    pad_value_case(__LINE__, F32, f1, 0x1.fffffefffffffp+127, (const float[]){FLT_MAX, 1, FLT_MAX});
    pad_value_case(__LINE__, F32, f1, -0x1.fffffefffffffp+127, (const float[]){-FLT_MAX, 1, -FLT_MAX});
    pad_value_case(__LINE__, F32, f1, 0.1, (const float[]){0x1.99999ap-4f, 1, 0x1.99999ap-4f});
    pad_value_case(__LINE__, F32, f1, 1e-50, (const float[]){0.0f, 1, 0.0f});
    pad_value_case(__LINE__, F32, f1, NAN, (const float[]){NAN, 1, NAN});

    /* errors */
    in[0] = V(F32, p, 2, 3);
    at[1].is_null = true;
    INTS(&at[0], 1, 1);
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_ATTR);
    INTS(&at[0], 0, 0, -1, 0);
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_ATTR);
    INTS(&at[0], 0, 0, 0, 0);
    INTS(&at[1], 1);
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_ATTR);
    INTS(&at[1], 0, -1);
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_ATTR);
    INTS(&at[0], 0, 0, INT64_MAX, 1);             /* the padded dim overflows int64 */
    at[1].is_null = true;
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_SHAPE);
    INTS(&at[0], 0, 0, 0, 0);
    INTS(&at[1], 0, INT64_MAX);
    CHECK_STATUS(run(JAG_OP_PAD, at, 1, in), E_SHAPE);
}

/* ---------------------------------------------------------------- concat */

static void test_concat(void)
{
    struct jag_attr at[8];
    struct jag_value in[4];
    defaults(JAG_OP_CONCAT, at);

    static const int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {7, 8, 9};
    static const int32_t c[12] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
    static const int32_t e0[21] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
    in[0] = V(I32, a, 2, 3);
    in[1] = V(I32, b, 1, 3);
    in[2] = V(I32, c, 4, 3);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 3, in), OK);
    EXPECT(I32, e0, 7, 3);
    at[0].i = -2;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 3, in), OK);
    EXPECT(I32, e0, 7, 3);

    static const uint8_t ba[6] = {1, 0, 1, 0, 1, 1}, bd[10] = {1, 0, 1, 1, 0, 0, 0, 1, 0, 1};
    static const uint8_t eb[16] = {1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1};
    in[0] = V(BOOL, ba, 2, 3);
    in[1] = V(BOOL, bd, 2, 5);
    at[0].i = -1;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), OK);
    EXPECT(BOOL, eb, 2, 8);

    static const double d[4] = {NAN, -0.0, 1e300, -INFINITY};
    in[0] = V(F64, d, 2, 2);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 1, in), OK);   /* a single input: a copy */
    EXPECT(F64, d, 2, 2);

    static const int64_t l[2] = {INT64_MAX, INT64_MIN}, el[6] = {INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN};
    in[0] = V(I64, l, 2);
    in[1] = V(I64, l, 2);
    in[2] = V(I64, NULL, 0);
    in[3] = V(I64, l, 2);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 4, in), OK);
    EXPECT(I64, el, 6);

    /* zero-size pieces and outputs */
    static const uint8_t u[6] = {0, 1, 2, 253, 254, 255};
    in[0] = V(U8, NULL, 0, 3);
    in[1] = V(U8, u, 2, 3);
    in[2] = V(U8, NULL, 0, 3);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 3, in), OK);
    EXPECT(U8, u, 2, 3);
    in[0] = V(U8, NULL, 0, 3);
    in[1] = V(U8, NULL, 0, 3);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), OK);
    EXPECT_SHAPE(U8, 0, 6);

    /* a middle axis, larger: against a naive loop */
    float x1[2 * 3 * 5], x2[2 * 4 * 5], want[2 * 7 * 5];
    for (int i = 0; i < 30; i++) x1[i] = (float)i;
    for (int i = 0; i < 40; i++) x2[i] = -(float)i;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 7; j++)
            for (int k = 0; k < 5; k++)
                want[(i * 7 + j) * 5 + k] = j < 3 ? x1[(i * 3 + j) * 5 + k] : x2[(i * 4 + j - 3) * 5 + k];
    in[0] = V(F32, x1, 2, 3, 5);
    in[1] = V(F32, x2, 2, 4, 5);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), OK);
    EXPECT(F32, want, 2, 7, 5);

    /* errors */
    static const float s = 1;
    in[0] = V0(F32, &s);
    in[1] = V0(F32, &s);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_SHAPE);
    in[0] = V(I32, a, 2, 3);
    in[1] = V(I32, c, 2, 6);
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_SHAPE);
    CHECK(strstr(g_err.message, "[*,3]") != NULL);
    in[1] = V(I32, c, 6);
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_SHAPE);
    in[1] = V(I32, c, 1, 2, 3);
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_SHAPE);
    in[1] = V(I32, b, 1, 3);
    at[0].i = 2;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_ATTR);
    at[0].i = -3;
    CHECK_STATUS(run(JAG_OP_CONCAT, at, 2, in), E_ATTR);
}

int main(void)
{
    for (int i = 0; i < 24; i++) A24[i] = i;
    RUN(test_reshape);
    RUN(test_transpose);
    RUN(test_broadcast_to);
    RUN(test_slice);
    RUN(test_pad);
    RUN(test_concat);
    free(g_out.data);
    return check_summary();
}

/* test_index.c — gather, scatter_add, embedding, iota (src/k_index.c) and random_uniform,
 * dropout, Threefry-2x32 (src/k_random.c).
 *
 * Expected values were computed with the numpy reference (python/jag/ops/core.py and
 * composite.py IMPLS in the venv) and pasted as literals (hex floats: exact); the Threefry
 * known answers are spec/README.md §11's (Random123's test vectors). */
#include "jag_internal.h"
#include "check.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"

#define E_INDEX JAG_STATUS_E_INDEX

/* ---------------------------------------------------------------- gather */

static void test_gather(void)
{
    struct jag_attr at[8];
    struct jag_value in[2];
    defaults(JAG_OP_GATHER, at);

    /* ops.json example */
    static const float t[6] = {1, 2, 3, 4, 5, 6}, et[4] = {5, 6, 1, 2};
    in[0] = V(F32, t, 3, 2);
    in[1] = V(I64, ((const int64_t[]){2, -3}), 2);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F32, et, 2, 2);

    float x[24];   /* (arange(24) - 5) * 0.5, shape [3,4,2] */
    for (int i = 0; i < 24; i++) x[i] = (float)(i - 5) * 0.5f;
    in[0] = V(F32, x, 3, 4, 2);
    static const float e1[24] = {-1.5f, -1, -2.5f, -2, 0.5f, 1, 0.5f, 1, 2.5f, 3, 1.5f, 2,
                                 4.5f, 5, 4.5f, 5, 6.5f, 7, 5.5f, 6, 8.5f, 9, 8.5f, 9};
    in[1] = V(I32, ((const int32_t[]){1, -4, 3, 3}), 2, 2);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F32, e1, 3, 2, 2, 2);

    static const int64_t m1 = -1;                 /* rank-0 index on the last axis */
    static const float e2[12] = {-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    in[1] = V0(I64, &m1);
    at[0].i = -1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F32, e2, 3, 4);

    static const float e3[32] = {-2.5f, -2, -1.5f, -1, -0.5f, 0, 0.5f, 1, 5.5f, 6, 6.5f, 7, 7.5f, 8, 8.5f, 9,
                                 5.5f, 6, 6.5f, 7, 7.5f, 8, 8.5f, 9, -2.5f, -2, -1.5f, -1, -0.5f, 0, 0.5f, 1};
    in[1] = V(I64, ((const int64_t[]){-3, 2, 2, 0}), 4);
    at[0].i = -3;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F32, e3, 4, 4, 2);

    in[1] = V(I32, NULL, 0);                      /* no indices */
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT_SHAPE(F32, 3, 0, 2);

    uint8_t u[24];
    for (int i = 0; i < 24; i++) u[i] = (uint8_t)i;
    static const uint8_t eu[12] = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19};
    in[0] = V(U8, u, 3, 4, 2);
    in[1] = V(I64, ((const int64_t[]){0, 1}), 2, 1);
    at[0].i = -2;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(U8, eu, 3, 2, 1, 2);

    static const int64_t big[4] = {INT64_MAX, INT64_MIN, (INT64_C(1) << 53) + 1, -1};
    static const int64_t ebig[5] = {-1, INT64_MAX, INT64_MIN, (INT64_C(1) << 53) + 1, INT64_MAX};
    in[0] = V(I64, big, 4);
    in[1] = V(I64, ((const int64_t[]){3, 0, -3, 2, 0}), 5);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(I64, ebig, 5);

    static const uint8_t b[4] = {1, 0, 0, 0}, eb[6] = {0, 1, 1, 0, 0, 0};
    in[0] = V(BOOL, b, 2, 2);
    in[1] = V(I32, ((const int32_t[]){1, 0, -2}), 3);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(BOOL, eb, 2, 3);

    double d[12];
    for (int i = 0; i < 12; i++) d[i] = i;
    static const double ed[9] = {2, 0, 3, 6, 4, 7, 10, 8, 11};
    in[0] = V(F64, d, 3, 4);
    in[1] = V(I64, ((const int64_t[]){2, 0, -1}), 3);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F64, ed, 3, 3);

    /* zero-size x on another axis: valid indices, empty result */
    in[0] = V(F32, NULL, 0, 3);
    in[1] = V(I64, ((const int64_t[]){2, 0}), 2);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT_SHAPE(F32, 0, 2);

    /* a 2-D table along axis 0 (row memcpy), against a naive loop */
    enum { NR = 100, NC = 33, M = 57 };
    float *tab = malloc(sizeof(float) * NR * NC), *want = malloc(sizeof(float) * M * NC);
    int64_t idx[M];
    for (int i = 0; i < NR * NC; i++) tab[i] = (float)i;
    for (int j = 0; j < M; j++) idx[j] = (j * 37) % (2 * NR) - NR;
    for (int j = 0; j < M; j++)
        for (int c = 0; c < NC; c++) want[j * NC + c] = tab[(idx[j] < 0 ? idx[j] + NR : idx[j]) * NC + c];
    in[0] = V(F32, tab, NR, NC);
    in[1] = V(I64, idx, M);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), OK);
    EXPECT(F32, want, M, NC);
    free(tab);
    free(want);

    /* E_INDEX at eval */
    in[0] = V(F32, t, 3, 2);
    in[1] = V(I64, ((const int64_t[]){0, 3}), 2);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_INDEX);
    CHECK(strstr(g_err.message, "index 3 is out of range for axis 0 of size 3") != NULL);
    in[1] = V(I32, ((const int32_t[]){-4, 5}), 2);   /* the low one is named first */
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_INDEX);
    CHECK(strstr(g_err.message, "index -4 ") != NULL);
    in[1] = V(I64, ((const int64_t[]){INT64_MIN}), 1);
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_INDEX);
    in[1] = V(I64, ((const int64_t[]){0, 2}), 2);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_INDEX);
    in[0] = V(F32, NULL, 2, 0);                   /* an empty axis: every index is out of range */
    in[1] = V(I64, ((const int64_t[]){0}), 1);
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_INDEX);

    /* prepare errors */
    static const float s = 1;
    in[0] = V0(F32, &s);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_SHAPE);
    in[0] = V(F32, t, 3, 2);
    at[0].i = 2;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_ATTR);
    at[0].i = -3;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_ATTR);
    in[0] = V(F32, t, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);   /* rank 16 + rank 2 - 1 > 16 */
    in[1] = V(I64, ((const int64_t[]){0}), 1, 1);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_GATHER, at, 2, in), E_SHAPE);
}

/* ---------------------------------------------------------------- scatter_add */

static void test_scatter_add(void)
{
    struct jag_attr at[8];
    struct jag_value in[3];
    defaults(JAG_OP_SCATTER_ADD, at);

    /* ops.json example */
    static const float z3[3] = {0, 0, 0}, u3[3] = {1, 2, 3}, e0[3] = {4, 0, 2};
    in[0] = V(F32, z3, 3);
    in[1] = V(I64, ((const int64_t[]){0, 2, 0}), 3);
    in[2] = V(F32, u3, 3);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(F32, e0, 3);

    /* float32 rows, repeated index accumulated in order, NaN/inf/-0.0 */
    static const float xf[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const float uf[12] = {0.1f, 0.2f, 0.3f, 1, 1, 1, 1e8f, 1, -1, INFINITY, NAN, -0.0f};
    static const float ef[12] = {100000000.0f, 0x1.99999ap+1f, 0x1.266666p+1f, 4, 5, 6, 8, 9, 10, INFINITY, NAN, 12};
    in[0] = V(F32, xf, 4, 3);
    in[1] = V(I64, ((const int64_t[]){0, 2, 0, -1}), 4);
    in[2] = V(F32, uf, 4, 3);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(F32, ef, 4, 3);

    /* float64 along axis 1 with 2-D int32 indices */
    double xd[12], ud[16];
    for (int i = 0; i < 12; i++) xd[i] = i;
    for (int i = 0; i < 16; i++) ud[i] = i * 0.25;
    static const double ed[12] = {0.5, 1.25, 2.75, 4.5, 6.25, 6.75, 8.5, 11.25, 10.75, 12.5, 16.25, 14.75};
    in[0] = V(F64, xd, 4, 3);
    in[1] = V(I32, ((const int32_t[]){1, 1, -3, 2}), 2, 2);
    in[2] = V(F64, ud, 4, 2, 2);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(F64, ed, 4, 3);

    /* integer wrap-around (two's complement), rank-0 index */
    in[1] = V(I64, ((const int64_t[]){0, 0, 1, 2}), 4);
    at[0].i = 0;
    in[0] = V(I32, ((const int32_t[]){INT32_MAX, INT32_MIN, 0}), 3);
    in[2] = V(I32, ((const int32_t[]){1, INT32_MAX, INT32_MAX, INT32_MAX}), 4);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(I32, ((const int32_t[]){-1, -1, INT32_MAX}), 3);
    in[0] = V(I64, ((const int64_t[]){INT64_MAX, INT64_MIN, 0}), 3);
    in[2] = V(I64, ((const int64_t[]){1, INT64_MAX, INT64_MAX, INT64_MAX}), 4);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(I64, ((const int64_t[]){-1, -1, INT64_MAX}), 3);
    in[0] = V(U8, ((const uint8_t[]){255, 0, 0}), 3);
    in[2] = V(U8, ((const uint8_t[]){1, 255, 255, 255}), 4);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(U8, ((const uint8_t[]){255, 255, 255}), 3);
    in[0] = V(I64, ((const int64_t[]){(INT64_C(1) << 53) + 1, 0, 5, 6}), 2, 2);
    in[1] = V0(I32, ((const int32_t[]){-1}));
    in[2] = V(I64, ((const int64_t[]){2, (INT64_C(1) << 53) + 1}), 2);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(I64, ((const int64_t[]){(INT64_C(1) << 53) + 1, 0, 7, (INT64_C(1) << 53) + 7}), 2, 2);

    /* zero-size x; no indices */
    in[0] = V(F64, NULL, 0, 3);
    in[1] = V(I64, ((const int64_t[]){2, 0, 2}), 3);
    in[2] = V(F64, NULL, 0, 3);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT_SHAPE(F64, 0, 3);
    in[0] = V(F64, xd, 4, 3);
    in[1] = V(I64, NULL, 0);
    in[2] = V(F64, NULL, 4, 0);
    at[0].i = -1;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), OK);
    EXPECT(F64, xd, 4, 3);

    /* E_INDEX */
    in[0] = V(F64, xd, 3);
    in[1] = V(I64, ((const int64_t[]){3}), 1);
    in[2] = V(F64, ud, 1);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_INDEX);
    in[1] = V(I32, ((const int32_t[]){-4}), 1);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_INDEX);

    /* prepare errors */
    in[1] = V(I64, ((const int64_t[]){0}), 1);
    in[2] = V(F64, ud, 2);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_SHAPE);
    in[2] = V(F64, ud, 1, 1);
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_SHAPE);
    in[2] = V(F64, ud, 1);
    at[0].i = 1;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_ATTR);
    in[0] = V0(F64, xd);
    in[2] = V0(F64, ud);
    at[0].i = 0;
    CHECK_STATUS(run(JAG_OP_SCATTER_ADD, at, 3, in), E_SHAPE);
}

/* ---------------------------------------------------------------- embedding */

static void test_embedding(void)
{
    struct jag_value in[2];
    static const float w[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

    /* ops.json example */
    static const float w32[6] = {1, 2, 3, 4, 5, 6}, e0[4] = {5, 6, 1, 2};
    in[0] = V(I64, ((const int64_t[]){2, 0}), 1, 2);
    in[1] = V(F32, w32, 3, 2);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), OK);
    EXPECT(F32, e0, 1, 2, 2);

    static const float e1[12] = {4, 5, 6, 4, 5, 6, 1, 2, 3, 13, 14, 15};
    in[0] = V(I32, ((const int32_t[]){1, 1, 0, -1}), 2, 2);
    in[1] = V(F32, w, 5, 3);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), OK);
    EXPECT(F32, e1, 2, 2, 3);

    static const double wd[4] = {NAN, -0.0, 1e300, -INFINITY}, ed[2] = {1e300, -INFINITY};
    static const int64_t one = 1;
    in[0] = V0(I64, &one);
    in[1] = V(F64, wd, 2, 2);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), OK);
    EXPECT(F64, ed, 2);

    in[0] = V(I64, NULL, 0, 4);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), OK);
    EXPECT_SHAPE(F64, 0, 4, 2);

    /* E_INDEX (test_ops.py ERROR_CASES) and the weight rank */
    in[1] = V(F32, w, 5, 3);
    in[0] = V(I64, ((const int64_t[]){5}), 1);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), E_INDEX);
    in[0] = V(I32, ((const int32_t[]){-6}), 1);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), E_INDEX);
    in[0] = V(I64, ((const int64_t[]){0}), 1);
    in[1] = V(F32, w, 3);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), E_SHAPE);
    in[1] = V(F32, w, 1, 5, 3);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), E_SHAPE);
    in[0] = V(I64, ((const int64_t[]){0}), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);   /* rank 17 out */
    in[1] = V(F32, w, 5, 3);
    CHECK_STATUS(run(JAG_OP_EMBEDDING, NULL, 2, in), E_SHAPE);
}

/* ---------------------------------------------------------------- iota */

static void test_iota(void)
{
    struct jag_attr at[8];
    defaults(JAG_OP_IOTA, at);

    /* ops.json example */
    INTS(&at[0], 2, 3);
    at[1].i = 1;
    at[2].i = JAG_DTYPE_INT32;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT(I32, ((const int32_t[]){0, 1, 2, 0, 1, 2}), 2, 3);
    at[1].i = 0;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT(I32, ((const int32_t[]){0, 0, 0, 1, 1, 1}), 2, 3);

    static const float ef[24] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
    INTS(&at[0], 2, 3, 4);
    at[1].i = -2;
    at[2].i = JAG_DTYPE_FLOAT32;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT(F32, ef, 2, 3, 4);

    INTS(&at[0], 5);
    at[1].i = 0;
    at[2].i = JAG_DTYPE_FLOAT64;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT(F64, ((const double[]){0, 1, 2, 3, 4}), 5);

    /* uint8 wraps as numpy's astype does: 256 -> 0 */
    INTS(&at[0], 300);
    at[2].i = JAG_DTYPE_UINT8;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    CHECK_EQ_I(g_out.numel, 300);
    if (g_out.data) {
        const uint8_t *y = g_out.data;
        CHECK_EQ_I(y[255], 255);
        CHECK_EQ_I(y[256], 0);
        CHECK_EQ_I(y[299], 43);
    }

    /* default dtype int64; zero-size */
    defaults(JAG_OP_IOTA, at);
    INTS(&at[0], 4);
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT(I64, ((const int64_t[]){0, 1, 2, 3}), 4);
    INTS(&at[0], 0, 3);
    at[1].i = 1;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT_SHAPE(I64, 0, 3);
    INTS(&at[0], 3, 0);
    at[1].i = 0;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), OK);
    EXPECT_SHAPE(I64, 3, 0);

    /* errors (test_ops.py ERROR_CASES) */
    INTS(&at[0], 2, 3);
    at[1].i = 2;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), E_ATTR);
    at[1].i = -3;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), E_ATTR);
    set_ints(&at[0], NULL, 0);                    /* rank 0 has no axis */
    at[1].i = 0;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), E_ATTR);
    INTS(&at[0], 2, -1);                          /* a negative dim is E_SHAPE, checked before the axis */
    at[1].i = 5;
    CHECK_STATUS(run(JAG_OP_IOTA, at, 0, NULL), E_SHAPE);
}

/* ---------------------------------------------------------------- Threefry-2x32-20 */

static void test_threefry(void)
{
    /* spec/README.md §11 known answers: (c0, c1), (k0, k1) -> (y0, y1) */
    static const uint32_t kat[][6] = {
        {0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6b200159u, 0x99ba4efeu},
        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x1cb996fcu, 0xbb002be7u},
        {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xc4923a9cu, 0x483df7a0u},
        /* counter high word != 0 (python/jag/ops/core.py threefry2x32), key (0xdeadbeef, 0x01234567) */
        {0x00000005u, 0x00000001u, 0xdeadbeefu, 0x01234567u, 0xccc18b8eu, 0x829e78ffu},
        {0xffffffffu, 0x12345678u, 0xdeadbeefu, 0x01234567u, 0x200eee1bu, 0x637950f0u},
        {0x00000000u, 0xffffffffu, 0xdeadbeefu, 0x01234567u, 0x00e7e493u, 0xe7422c77u},
    };
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        uint32_t y0 = 0, y1 = 0;
        jag_threefry2x32(kat[i][2], kat[i][3], kat[i][0], kat[i][1], &y0, &y1);
        CHECK_EQ_I(y0, kat[i][4]);
        CHECK_EQ_I(y1, kat[i][5]);
    }
}

/* ---------------------------------------------------------------- random_uniform */

static void test_random_uniform(void)
{
    struct jag_attr at[8];
    struct jag_value in[1];
    defaults(JAG_OP_RANDOM_UNIFORM, at);

    /* §11: key 0, element 0 */
    static const int64_t k0 = 0;
    in[0] = V0(I64, &k0);
    INTS(&at[0], 2);
    at[1].i = JAG_DTYPE_FLOAT64;
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
    EXPECT(F64, ((const double[]){0.41845711171638655, 0.3146817192326744}), 2);   /* ops.json example */
    at[1].i = JAG_DTYPE_FLOAT32;
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
    CHECK(g_out.data && ((const float *)g_out.data)[0] == 0.4184570908546448f);
    CHECK(g_out.data && ((const float *)g_out.data)[0] == (float)(0x6b200159u >> 8) * 0x1p-24f);

    /* several keys (negative, above 2^32, INT64_MIN), both dtypes, shape [5] (numpy reference) */
    static const int64_t keys[6] = {0, 1, -1, (INT64_C(1) << 40) + 3, INT64_MIN, INT64_C(0x13198A2E03707344)};
    static const float f32[6][5] = {
        {0x1.ac8004p-2f, 0x1.423becp-2f, 0x1.929898p-2f, 0x1.715788p-1f, 0x1.58db84p-1f},
        {0x1.e3f18p-4f, 0x1.08cf7p-2f, 0x1.d30f1p-2f, 0x1.f8334ep-1f, 0x1.c52f7ep-1f},
        {0x1.04e5e4p-2f, 0x1.3fd5c2p-1f, 0x1.1fdff8p-3f, 0x1.455998p-2f, 0x1.2ada42p-1f},
        {0x1.c5ce5p-2f, 0x1.d1502p-5f, 0x1.e68f84p-2f, 0x1.7713d6p-1f, 0x1.5b7af8p-2f},
        {0x1.bc04fap-1f, 0x1.7a728ap-1f, 0x1.ba7acp-6f, 0x1.276938p-2f, 0x1.69a598p-3f},
        {0x1.05215p-2f, 0x1.22d52p-1f, 0x1.051048p-3f, 0x1.b64a9p-2f, 0x1.df2d32p-1f},
    };
    static const double f64[6][5] = {
        {0x1.ac80056666e92p-2, 0x1.423becb30378ep-2, 0x1.92989bb3f0578p-2, 0x1.715789a20a6fdp-1, 0x1.58db85774f5b6p-1},
        {0x1.e3f18356e7520p-4, 0x1.08cf70d0f7e66p-2, 0x1.d30f1329852a8p-2, 0x1.f8334edf23a3dp-1, 0x1.c52f7f478d06fp-1},
        {0x1.04e5e7113963ep-2, 0x1.3fd5c2c3e915dp-1, 0x1.1fdffb7432ff0p-3, 0x1.45599a6276a56p-2, 0x1.2ada422f9e796p-1},
        {0x1.c5ce5366e0e40p-2, 0x1.d1503ad0174d0p-5, 0x1.e68f866d8ae7cp-2, 0x1.7713d68e0ec9bp-1, 0x1.5b7af8b9f59dap-2},
        {0x1.bc04fa78bd17cp-1, 0x1.7a728b5a91081p-1, 0x1.ba7ac3ca47a80p-6, 0x1.2769396ce7436p-2, 0x1.69a59a776ae3cp-3},
        {0x1.052150a745610p-2, 0x1.22d521a01f8bbp-1, 0x1.05104a7e25d54p-3, 0x1.b64a91efc3d4ep-2, 0x1.df2d324478738p-1},
    };
    for (int k = 0; k < 6; k++) {
        in[0] = V0(I64, &keys[k]);
        INTS(&at[0], 5);
        at[1].i = JAG_DTYPE_FLOAT32;
        CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
        EXPECT(F32, f32[k], 5);
        at[1].i = JAG_DTYPE_FLOAT64;
        CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
        EXPECT(F64, f64[k], 5);
    }

    /* rank 0, rank 2, zero-size, the default dtype (float32) */
    static const int64_t k7 = 7, k42 = 42;
    in[0] = V0(I64, &k7);
    set_ints(&at[0], NULL, 0);
    at[1].i = JAG_DTYPE_FLOAT64;
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
    EXPECT0(F64, ((const double[]){0x1.b02ec916e90c9p-1}));
    defaults(JAG_OP_RANDOM_UNIFORM, at);
    in[0] = V0(I64, &k42);
    INTS(&at[0], 2, 3);
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
    EXPECT(F32, ((const float[]){0x1.b4f81p-2f, 0x1.9a3f8p-4f, 0x1.924e18p-3f, 0x1.90cdd8p-2f, 0x1.731196p-1f,
                                 0x1.dd6eep-2f}), 2, 3);
    INTS(&at[0], 0, 4);
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), OK);
    EXPECT_SHAPE(F32, 0, 4);

    /* errors */
    in[0] = V(I64, ((const int64_t[]){1, 2}), 2);
    INTS(&at[0], 2);
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), E_SHAPE);
    in[0] = V(I64, ((const int64_t[]){1}), 1);
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), E_SHAPE);
    in[0] = V0(I64, &k7);
    INTS(&at[0], 2, -1);
    CHECK_STATUS(run(JAG_OP_RANDOM_UNIFORM, at, 1, in), E_SHAPE);
}

/* ---------------------------------------------------------------- dropout */

static void test_dropout(void)
{
    struct jag_attr at[8];
    struct jag_value in[2];
    defaults(JAG_OP_DROPOUT, at);

    /* ops.json example */
    static const int64_t k0 = 0, k11 = 11, km5 = -5, k3 = 3, k40 = INT64_C(1) << 40;
    in[0] = V(F64, ((const double[]){1, 1, 1, 1}), 4);
    in[1] = V0(I64, &k0);
    at[0].f = 0.4;
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT(F64, ((const double[]){0x1.aaaaaaaaaaaabp+0, 0.0, 0.0, 0x1.aaaaaaaaaaaabp+0}), 4);

    /* float32: u < (float)p drops (NaN too); kept x * (float)(1/(1-p)), overflowing to inf */
    static const float xf[12] = {1.5f, -2, NAN, INFINITY, -0.0f, 3e38f, 1e-30f, 7, 8, 9, 10, 11};
    static const float ef[12] = {0x1.124924p+1f, 0.0f, 0.0f, INFINITY, -0.0f, INFINITY, 0x1.cf9914p-100f, 10.0f,
                                 0x1.6db6dcp+3f, 0x1.9b6db8p+3f, 0x1.c92494p+3f, 0x1.f6db6ep+3f};
    in[0] = V(F32, xf, 12);
    in[1] = V0(I64, &k11);
    at[0].f = 0.3;
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT(F32, ef, 12);

    static const float xr[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const float er[8] = {0.0f, 0x1.1c71c8p+0f, 0x1.1c71c8p+1f, 0x1.aaaaacp+1f, 0x1.1c71c8p+2f, 0x1.638e3ap+2f,
                                0x1.aaaaacp+2f, 0x1.f1c71ep+2f};
    in[0] = V(F32, xr, 2, 4);
    in[1] = V0(I64, &k40);
    at[0].f = 0.1;
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT(F32, er, 2, 4);

    static const double xd[6] = {1.5, -2, NAN, INFINITY, -0.0, 1e308};
    in[0] = V(F64, xd, 2, 3);
    in[1] = V0(I64, &km5);
    at[0].f = 0.5;
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT(F64, ((const double[]){3.0, -4.0, NAN, INFINITY, 0.0, INFINITY}), 2, 3);
    in[1] = V0(I64, &k3);
    at[0].f = 0.0;                                /* p = 0 keeps everything, scale 1 */
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT(F64, xd, 2, 3);

    /* rank 0, zero-size, the default p = 0.5 */
    defaults(JAG_OP_DROPOUT, at);
    static const double one = 1.0;
    in[0] = V0(F64, &one);
    in[1] = V0(I64, &k0);                         /* u = 0.418... < 0.5: dropped */
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT0(F64, ((const double[]){0.0}));
    in[0] = V(F32, NULL, 3, 0);
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), OK);
    EXPECT_SHAPE(F32, 3, 0);

    /* a non-scalar key */
    in[0] = V0(F64, &one);
    in[1] = V(I64, ((const int64_t[]){0}), 1);
    CHECK_STATUS(run(JAG_OP_DROPOUT, at, 2, in), E_SHAPE);
}

int main(void)
{
    RUN(test_gather);
    RUN(test_scatter_add);
    RUN(test_embedding);
    RUN(test_iota);
    RUN(test_threefry);
    RUN(test_random_uniform);
    RUN(test_dropout);
    free(g_out.data);
    return check_summary();
}

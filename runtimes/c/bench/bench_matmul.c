/* bench_matmul.c — time the C runtime's matmul / linear kernels (single thread).
 *
 *   bench_matmul [-op matmul|linear] [-dtype float32|float64] [-reps R] [M N K]
 *
 * matmul: a [M, K] @ b [K, N]; linear: x [M, K] with weight [N, K] (no bias). Runs the
 * op's prepare once, then times eval R times (after 2 warm-up runs) on buffers allocated
 * once, and prints one line for bench.py:
 *
 *   RESULT matmul float32 1024x1024x1024 median_ms=14.100 gflops=152.30
 */
#include "jag_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct jag_value make_value(enum jag_dtype dt, int64_t rows, int64_t cols, unsigned seed)
{
    struct jag_value v;
    memset(&v, 0, sizeof v);
    v.dtype = dt;
    v.ndim = 2;
    v.shape[0] = rows;
    v.shape[1] = cols;
    v.numel = rows * cols;
    v.nbytes = (size_t)v.numel * jag_dtype_size(dt);
    v.data = malloc(v.nbytes ? v.nbytes : 1);
    for (int64_t i = 0; i < v.numel; i++) {
        double r = (double)((i * 2654435761u + seed) % 1000) / 500.0 - 1.0;
        if (dt == JAG_DTYPE_FLOAT64) ((double *)v.data)[i] = r;
        else ((float *)v.data)[i] = (float)r;
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *op_name = "matmul", *dt_name = "float32";
    int reps = 15;
    int64_t dims[3] = {1024, 1024, 1024};
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-op") && i + 1 < argc) op_name = argv[++i];
        else if (!strcmp(argv[i], "-dtype") && i + 1 < argc) dt_name = argv[++i];
        else if (!strcmp(argv[i], "-reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (nd < 3) dims[nd++] = atoll(argv[i]);
        else {
            fprintf(stderr, "usage: %s [-op matmul|linear] [-dtype float32|float64] [-reps R] [M N K]\n", argv[0]);
            return 2;
        }
    }
    if (nd == 1) dims[1] = dims[2] = dims[0];
    enum jag_dtype dt;
    int32_t op = jag_op_find(op_name);
    if (!jag_dtype_from_name(dt_name, &dt) || (dt != JAG_DTYPE_FLOAT32 && dt != JAG_DTYPE_FLOAT64) ||
        (op != JAG_OP_MATMUL && op != JAG_OP_LINEAR) || reps < 1) {
        fprintf(stderr, "%s: bad -op, -dtype or -reps\n", argv[0]);
        return 2;
    }
    int64_t M = dims[0], N = dims[1], K = dims[2];
    struct jag_value a = make_value(dt, M, K, 1);
    struct jag_value b = op == JAG_OP_MATMUL ? make_value(dt, K, N, 2) : make_value(dt, N, K, 2);
    struct jag_value y;
    memset(&y, 0, sizeof y);
    y.dtype = dt;

    /* One node, run the way jag_model_run does: prepare once, eval on planned buffers. */
    struct jag_model model;
    struct jag_node node;
    memset(&model, 0, sizeof model);
    memset(&node, 0, sizeof node);
    node.op = (enum jag_op)op;
    struct jag_attr attrs[1];
    memset(attrs, 0, sizeof attrs);
    node.attrs = attrs;
    struct jag_value *ins[2] = {&a, &b}, *outs[1] = {&y};
    struct jag_exec x = {&model, &node, &JAG_OP_DEFS[op], 2, ins, 1, outs, NULL};
    if (JAG_KERNELS[op].prepare(&x) != JAG_STATUS_OK) {
        fprintf(stderr, "%s: prepare failed: %s\n", argv[0], model.err.message);
        return 1;
    }
    y.data = malloc(y.nbytes ? y.nbytes : 1);
    x.scratch = malloc(node.scratch_bytes ? node.scratch_bytes : 1);
    if (!y.data || !x.scratch) return 1;

    double *t = malloc(sizeof(double) * (size_t)reps);
    for (int r = -2; r < reps; r++) {
        double t0 = now_s();
        if (JAG_KERNELS[op].eval(&x) != JAG_STATUS_OK) return 1;
        if (r >= 0) t[r] = now_s() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    double med = reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2;
    printf("RESULT %s %s %lldx%lldx%lld median_ms=%.4f gflops=%.2f\n", op_name, dt_name, (long long)M, (long long)N,
           (long long)K, med * 1e3, 2.0 * (double)M * (double)N * (double)K / med / 1e9);
    free(t);
    free(a.data);
    free(b.data);
    free(y.data);
    free(x.scratch);
    return 0;
}

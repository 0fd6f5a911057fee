/* jagrun — run a JAG model file with the C runtime.
 *
 *   ./jagrun model.json [input.bin] [-o output.bin] [--print] [--check] [--mem] [--repeat N]
 *   ./jagrun model.json init.bin --loop data.bin [-o output.bin]
 *
 * input.bin is a safetensors bundle with one tensor per graph input (spec/README.md §7).
 * Without it, the test data embedded in the model is run and checked (as --check); a
 * graph with inputs and no test data then fails, listing the inputs it needs. Prints each output's
 * name, dtype, shape and leading values (--print: every value). -o writes the outputs as
 * a safetensors bundle. --check runs the test data embedded in the model
 * (metadata["jag.test"]) and reports the max error per output against the expected values,
 * within the loosest tolerance class of the graph's ops. --mem prints the planned arena
 * size beside the sum of all intermediates. --repeat N times N runs, prints the median.
 * --loop runs a loop graph (metadata["jag.loop"], Python: graph.set_loop()): init.bin gives
 * the first values of the fed-back inputs, data.bin every other input stacked over steps
 * (leading axis S); after each of the S steps the listed outputs feed the next step; the
 * other outputs (e.g. the loss) are printed at ten steps; -o writes the last step's outputs.
 *
 * Exit codes: 0 success, 2 usage error, 3 bad model, 4 bad input, 5 run failure,
 * 6 --check mismatch. Every failure prints one line "jagrun: [CODE] ..." on stderr. */
#include "jag_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_USAGE = 2, EXIT_MODEL = 3, EXIT_INPUT = 4, EXIT_RUN = 5, EXIT_CHECK = 6 };

static void usage(FILE *f)
{
    fprintf(f, "usage: jagrun model.json [input.bin] [-o output.bin] [--print] [--check] [--mem] [--repeat N]\n"
               "       jagrun model.json init.bin --loop data.bin [-o output.bin]\n"
               "  input.bin     safetensors bundle, one tensor per graph input (by name);\n"
               "                without it, the model's embedded test data is run and checked\n"
               "  -o FILE       write the outputs as a safetensors bundle\n"
               "  --print       print every output value (default: the first 8)\n"
               "  --check       run the model's embedded test data and compare\n"
               "  --mem         print the planned arena bytes and the sum of intermediates\n"
               "  --repeat N    run N times and print the median time\n"
               "  --loop DATA   run the model's loop (metadata jag.loop) over the steps of DATA\n"
               "exit codes: 0 ok, 2 usage, 3 bad model, 4 bad input, 5 run failure, 6 check mismatch\n");
}

static double element(const struct jag_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case JAG_DTYPE_FLOAT32: return ((const float *)t->data)[i];
    case JAG_DTYPE_FLOAT64: return ((const double *)t->data)[i];
    case JAG_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case JAG_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
    case JAG_DTYPE_UINT8:
    case JAG_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    default: return NAN;
    }
}

static void print_tensor(const char *name, const struct jag_tensor *t, bool all)
{
    char shape[256];
    int64_t n = jag_numel(t->shape, t->ndim);
    printf("%s: %s%s =", name, jag_dtype_name(t->dtype), jag_shape_str(t->shape, t->ndim, shape, sizeof shape));
    int64_t shown = all ? n : (n < 8 ? n : 8);
    for (int64_t i = 0; i < shown; i++) {
        if (t->dtype == JAG_DTYPE_INT64) printf(" %lld", (long long)((const int64_t *)t->data)[i]);
        else if (t->dtype == JAG_DTYPE_BOOL) printf(" %s", ((const uint8_t *)t->data)[i] ? "true" : "false");
        else if (t->dtype == JAG_DTYPE_FLOAT32) printf(" %.9g", element(t, i));
        else printf(" %.17g", element(t, i));
    }
    if (shown < n) printf(" ... (%lld values)", (long long)n);
    printf("\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The loosest tolerance (rtol, atol) among the graph's ops for a float dtype. */
static void graph_tolerance(const struct jag_model *m, enum jag_dtype dt, double *rtol, double *atol)
{
    *rtol = 0, *atol = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const struct jag_tolerance_def *t = &JAG_TOLERANCE_DEFS[JAG_OP_DEFS[m->nodes[i].op].tolerance];
        const double *v = dt == JAG_DTYPE_FLOAT32 ? t->f32 : t->f64;
        if (v[0] > *rtol) *rtol = v[0];
        if (v[1] > *atol) *atol = v[1];
    }
}

/* Compare an output against an expected tensor; prints one line; returns true when within tolerance. */
static bool compare(const struct jag_model *m, const char *name, const struct jag_tensor *got, const struct jag_tensor *want)
{
    char a[256], b[256];
    if (got->dtype != want->dtype || got->ndim != want->ndim ||
        memcmp(got->shape, want->shape, (size_t)got->ndim * sizeof got->shape[0]) != 0) {
        printf("check %s: FAIL: got %s%s, expected %s%s\n", name, jag_dtype_name(got->dtype), jag_shape_str(got->shape, got->ndim, a, sizeof a),
               jag_dtype_name(want->dtype), jag_shape_str(want->shape, want->ndim, b, sizeof b));
        return false;
    }
    int64_t n = jag_numel(got->shape, got->ndim);
    bool is_float = got->dtype == JAG_DTYPE_FLOAT32 || got->dtype == JAG_DTYPE_FLOAT64;
    double rtol = 0, atol = 0, max_abs = 0;
    if (is_float) graph_tolerance(m, got->dtype, &rtol, &atol);
    bool ok = true;
    for (int64_t i = 0; i < n; i++) {
        if (got->dtype == JAG_DTYPE_INT64) {
            int64_t x = ((const int64_t *)got->data)[i], y = ((const int64_t *)want->data)[i];
            if (x != y) ok = false, max_abs = fmax(max_abs, fabs((double)x - (double)y));
            continue;
        }
        double x = element(got, i), y = element(want, i);
        if (isnan(x) && isnan(y)) continue;
        if (x == y) continue;
        double err = fabs(x - y);
        if (isnan(err)) err = INFINITY;
        if (err > max_abs) max_abs = err;
        if (!(err <= atol + rtol * fabs(y))) ok = false;
    }
    printf("check %s: %s max abs error %.3g (rtol %g, atol %g)\n", name, ok ? "ok" : "FAIL", max_abs, rtol, atol);
    return ok;
}

struct owned_tensors {
    int32_t            n;
    struct jag_tensor *t;
    const char       **names;
};

static void free_owned(struct owned_tensors *o)
{
    for (int32_t i = 0; i < o->n; i++) free(o->t[i].data);
    free(o->t);
    free(o->names);
    memset(o, 0, sizeof *o);
}

/* Decode metadata["jag.test"][field] (an array of tensor objects). */
static enum jag_status test_tensors(struct jag_model *m, const char *field, struct owned_tensors *out)
{
    const struct jag_json *arr = jag_json_get(m->test, field);
    memset(out, 0, sizeof *out);
    if (!arr || arr->type != JAG_JSON_ARRAY)
        return jag_model_fail(m, JAG_STATUS_E_SCHEMA, -1, "at /metadata/jag.test/%s: expected an array of tensors", field);
    out->t = calloc((size_t)(arr->n ? arr->n : 1), sizeof *out->t);
    out->names = calloc((size_t)(arr->n ? arr->n : 1), sizeof *out->names);
    if (!out->t || !out->names) return JAG_STATUS_OUT_OF_MEMORY;
    for (int32_t i = 0; i < arr->n; i++) {
        char where[96];
        jag_format(where, sizeof where, "/metadata/jag.test/%s/%d", field, (int)i);
        enum jag_status s = jag_tensor_from_json(m, &arr->items[i], where, &out->t[i], &out->names[i]);
        if (s != JAG_STATUS_OK) return s;
        out->n++;
    }
    return JAG_STATUS_OK;
}

/* The input fed by output `name` in metadata["jag.loop"].feedback ([[output, input], ...]), or NULL. */
static const char *fed_input(const struct jag_json *feedback, const char *output)
{
    for (int32_t k = 0; feedback && k < feedback->n; k++) {
        const struct jag_json *pair = &feedback->items[k];
        if (pair->type == JAG_JSON_ARRAY && pair->n == 2 && pair->items[0].type == JAG_JSON_STRING &&
            pair->items[1].type == JAG_JSON_STRING && strcmp(pair->items[0].string, output) == 0)
            return pair->items[1].string;
    }
    return NULL;
}

/* --loop: see the header comment. Returns the exit code. */
static int run_loop(struct jag_model *m, const char *model_path, const char *init_path, const char *data_path,
                    const char *output_path)
{
    const struct jag_json *feedback = jag_json_get(m->loop, "feedback");
    char why[600];
    if (!feedback || feedback->type != JAG_JSON_ARRAY) {
        fprintf(stderr, "jagrun: [E_INPUT] %s: --loop: the model has no loop (metadata \"jag.loop\" with \"feedback\")\n", model_path);
        return EXIT_INPUT;
    }
    for (int32_t k = 0; k < feedback->n; k++) {
        const struct jag_json *p = &feedback->items[k];
        if (p->type != JAG_JSON_ARRAY || p->n != 2 || p->items[0].type != JAG_JSON_STRING || p->items[1].type != JAG_JSON_STRING ||
            jag_model_find_output(m, p->items[0].string) < 0 || jag_model_find_input(m, p->items[1].string) < 0) {
            fprintf(stderr, "jagrun: [E_SCHEMA] %s: metadata jag.loop feedback %d is not an [output, input] pair of the graph\n", model_path, (int)k);
            return EXIT_MODEL;
        }
    }
    if (!init_path) {
        fprintf(stderr, "jagrun: [E_INPUT] %s: --loop needs an init.bin with the first values of the fed-back inputs\n", model_path);
        return EXIT_INPUT;
    }
    struct jag_bundle init = {0, NULL, NULL, 0}, data = {0, NULL, NULL, 0};
    int rc = 0;
    enum jag_status s = jag_bundle_read_file(init_path, &init, why, sizeof why);
    if (s == JAG_STATUS_OK) s = jag_bundle_read_file(data_path, &data, why, sizeof why);
    if (s != JAG_STATUS_OK) {
        fprintf(stderr, "jagrun: [%s] %s\n", jag_status_to_string(s), why);
        rc = EXIT_INPUT;
        goto done;
    }
    int32_t n_in = jag_model_n_inputs(m), n_out = jag_model_n_outputs(m);
    int64_t steps = -1;
    bool fed[4096] = {false};
    if (n_in > 4096) { fprintf(stderr, "jagrun: too many inputs\n"); rc = EXIT_INPUT; goto done; }
    for (int32_t k = 0; k < feedback->n; k++) fed[jag_model_find_input(m, feedback->items[k].items[1].string)] = true;
    for (int32_t i = 0; i < n_in; i++) {
        struct jag_value_info info;
        jag_model_input_info(m, i, &info);
        const struct jag_bundle_entry *e = jag_bundle_find(fed[i] ? &init : &data, info.name);
        if (!e || (!fed[i] && e->ndim < 1)) {
            fprintf(stderr, "jagrun: [E_INPUT] %s: input '%s' is missing%s\n", fed[i] ? init_path : data_path, info.name,
                    fed[i] ? "" : " (or has no leading step axis)");
            rc = EXIT_INPUT;
            goto done;
        }
        if (!fed[i]) {
            if (steps >= 0 && e->shape[0] != steps) {
                fprintf(stderr, "jagrun: [E_INPUT] %s: input '%s' has %lld steps, others %lld\n", data_path, info.name,
                        (long long)e->shape[0], (long long)steps);
                rc = EXIT_INPUT;
                goto done;
            }
            steps = e->shape[0];
        } else if (jag_model_set_input(m, i, e->dtype, e->ndim, e->shape, e->data, JAG_BIND_COPY) != JAG_STATUS_OK) {
            fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
            rc = EXIT_INPUT;
            goto done;
        }
    }
    if (steps < 0) steps = 1;   /* every input is fed back: one step per run of the data-free loop */
    struct jag_tensor outs[256];
    const char *names[256];
    if (n_out > 256) { fprintf(stderr, "jagrun: too many outputs\n"); rc = EXIT_RUN; goto done; }
    int64_t every = steps >= 10 ? steps / 10 : 1;
    for (int64_t step = 0; step < steps; step++) {
        for (int32_t i = 0; i < n_in; i++) {
            if (fed[i]) continue;
            struct jag_value_info info;
            jag_model_input_info(m, i, &info);
            const struct jag_bundle_entry *e = jag_bundle_find(&data, info.name);
            size_t slice = e->nbytes / (size_t)e->shape[0];
            if (jag_model_set_input(m, i, e->dtype, e->ndim - 1, e->shape + 1, e->data + (size_t)step * slice, JAG_BIND_COPY) != JAG_STATUS_OK) {
                fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
                rc = EXIT_INPUT;
                goto done;
            }
        }
        if (jag_model_run(m) != JAG_STATUS_OK) {
            const struct jag_error *e = jag_model_last_error(m);
            fprintf(stderr, "jagrun: step %lld: %s\n", (long long)step, e->message);
            rc = e->status == JAG_STATUS_E_INPUT ? EXIT_INPUT : EXIT_RUN;
            goto done;
        }
        for (int32_t k = 0; k < n_out; k++) {
            struct jag_value_info info;
            jag_model_output_info(m, k, &info);
            jag_model_get_output(m, k, &outs[k]);
            names[k] = info.name;
        }
        if ((step + 1) % every == 0 || step + 1 == steps) {
            printf("step %lld:", (long long)(step + 1));
            for (int32_t k = 0; k < n_out; k++)
                if (!fed_input(feedback, names[k]) && jag_numel(outs[k].shape, outs[k].ndim) == 1)
                    printf(" %s = %.9g", names[k], element(&outs[k], 0));
            printf("\n");
        }
        if (step + 1 == steps) break;
        /* outputs stay valid until the next run: copy the fed-back ones into their inputs */
        for (int32_t k = 0; k < n_out; k++) {
            const char *in = fed_input(feedback, names[k]);
            if (in && jag_model_set_input(m, jag_model_find_input(m, in), outs[k].dtype, outs[k].ndim, outs[k].shape, outs[k].data,
                                          JAG_BIND_COPY) != JAG_STATUS_OK) {
                fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
                rc = EXIT_RUN;
                goto done;
            }
        }
    }
    if (output_path) {
        s = jag_bundle_write_file(output_path, n_out, names, outs, why, sizeof why);
        if (s != JAG_STATUS_OK) {
            fprintf(stderr, "jagrun: [%s] %s\n", jag_status_to_string(s), why);
            rc = EXIT_RUN;
        }
    }
done:
    jag_bundle_free(&init);
    jag_bundle_free(&data);
    return rc;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *input_path = NULL, *output_path = NULL, *loop_path = NULL;
    bool print_all = false, check = false, mem = false;
    long repeat = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { usage(stdout); return 0; }
        else if (strcmp(a, "-o") == 0 && i + 1 < argc) output_path = argv[++i];
        else if (strcmp(a, "--loop") == 0 && i + 1 < argc) loop_path = argv[++i];
        else if (strcmp(a, "--print") == 0) print_all = true;
        else if (strcmp(a, "--check") == 0) check = true;
        else if (strcmp(a, "--mem") == 0) mem = true;
        else if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
            char *end;
            repeat = strtol(argv[++i], &end, 10);
            if (*end || repeat < 1 || repeat > 1000000) {
                fprintf(stderr, "jagrun: --repeat needs a count from 1 to 1000000, got '%s'\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "jagrun: unknown or incomplete option '%s' (see --help)\n", a);
            return EXIT_USAGE;
        } else if (!model_path) model_path = a;
        else if (!input_path) input_path = a;
        else {
            fprintf(stderr, "jagrun: unexpected argument '%s' (see --help)\n", a);
            return EXIT_USAGE;
        }
    }
    if (!model_path) {
        usage(stderr);
        return EXIT_USAGE;
    }

    struct jag_error err;
    struct jag_model *m = NULL;
    if (jag_model_load_file(model_path, NULL, &m, &err) != JAG_STATUS_OK) {
        fprintf(stderr, "jagrun: %s\n", err.message);
        return EXIT_MODEL;
    }
    if (loop_path) {
        int lrc = run_loop(m, model_path, input_path, loop_path, output_path);
        jag_model_free(m);
        return lrc;
    }
    int rc = 0;
    struct jag_bundle bundle = {0, NULL, NULL, 0};
    struct owned_tensors test_in = {0, NULL, NULL}, test_out = {0, NULL, NULL};
    char why[600];
    if (!input_path && m->test) check = true;   /* no input.bin: run the embedded test data */
    if (!input_path && !m->test && jag_model_n_inputs(m) > 0) {
        char need[1024] = "";
        size_t used = 0;
        for (int32_t i = 0; i < jag_model_n_inputs(m) && used < sizeof need; i++) {
            struct jag_value_info info;
            char shape[256] = "[";
            jag_model_input_info(m, i, &info);
            for (int32_t k = 0; k < info.ndim; k++) {
                size_t n = strlen(shape);
                if (info.dim_exprs[k]) jag_format(shape + n, sizeof shape - n, "%s%s", k ? "," : "", info.dim_exprs[k]);
                else jag_format(shape + n, sizeof shape - n, "%s%lld", k ? "," : "", (long long)info.shape[k]);
            }
            jag_format(shape + strlen(shape), sizeof shape - strlen(shape), "]");
            jag_format(need + used, sizeof need - used, "%s%s: %s%s", i ? ", " : "", info.name, jag_dtype_name(info.dtype), shape);
            used = strlen(need);
        }
        fprintf(stderr, "jagrun: [E_INPUT] %s: the graph needs inputs (%s): give them in a safetensors input.bin\n", model_path, need);
        rc = EXIT_INPUT;
        goto done;
    }
    if (check && !m->test) {
        fprintf(stderr, "jagrun: [E_INPUT] %s: --check: the model has no embedded test data (metadata \"jag.test\")\n", model_path);
        rc = EXIT_INPUT;
        goto done;
    }
    if (check && (test_tensors(m, "inputs", &test_in) != JAG_STATUS_OK || test_tensors(m, "outputs", &test_out) != JAG_STATUS_OK)) {
        fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
        rc = EXIT_MODEL;
        goto done;
    }
    if (input_path) {
        enum jag_status s = jag_bundle_read_file(input_path, &bundle, why, sizeof why);
        if (s != JAG_STATUS_OK) {
            fprintf(stderr, "jagrun: [%s] %s\n", jag_status_to_string(s), why);
            rc = EXIT_INPUT;
            goto done;
        }
        for (int32_t k = 0; k < bundle.n; k++)
            if (jag_model_find_input(m, bundle.entries[k].name) < 0) {
                fprintf(stderr, "jagrun: [E_INPUT] %s: tensor '%s' is not an input of the graph\n", input_path, bundle.entries[k].name);
                rc = EXIT_INPUT;
                goto done;
            }
    }
    for (int32_t i = 0; i < jag_model_n_inputs(m); i++) {
        struct jag_value_info info;
        jag_model_input_info(m, i, &info);
        const struct jag_bundle_entry *e = input_path ? jag_bundle_find(&bundle, info.name) : NULL;
        enum jag_status s;
        if (e) {
            s = jag_model_set_input(m, i, e->dtype, e->ndim, e->shape, e->data, JAG_BIND_COPY);
        } else {
            int32_t k = 0;
            while (k < test_in.n && strcmp(test_in.names[k], info.name) != 0) k++;
            if (k == test_in.n) {
                fprintf(stderr, "jagrun: [E_INPUT] %s: input '%s' is missing%s\n", input_path ? input_path : model_path, info.name,
                        input_path ? " from the bundle" : " (give an input.bin)");
                rc = EXIT_INPUT;
                goto done;
            }
            s = jag_model_set_input(m, i, test_in.t[k].dtype, test_in.t[k].ndim, test_in.t[k].shape, test_in.t[k].data, JAG_BIND_BORROW);
        }
        if (s != JAG_STATUS_OK) {
            fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
            rc = EXIT_INPUT;
            goto done;
        }
    }
    if (jag_model_run(m) != JAG_STATUS_OK) {
        const struct jag_error *e = jag_model_last_error(m);
        fprintf(stderr, "jagrun: %s\n", e->message);
        rc = e->status == JAG_STATUS_E_INPUT ? EXIT_INPUT : EXIT_RUN;
        goto done;
    }
    if (repeat > 0) {
        double *t = malloc((size_t)repeat * sizeof *t);
        if (!t) { fprintf(stderr, "jagrun: out of memory\n"); rc = EXIT_RUN; goto done; }
        for (long r = 0; r < repeat; r++) {
            double t0 = now_seconds();
            if (jag_model_run(m) != JAG_STATUS_OK) {
                fprintf(stderr, "jagrun: %s\n", jag_model_last_error(m)->message);
                free(t);
                rc = EXIT_RUN;
                goto done;
            }
            t[r] = now_seconds() - t0;
        }
        qsort(t, (size_t)repeat, sizeof *t, cmp_double);
        printf("time: median %.6f ms over %ld runs (min %.6f ms)\n", 1e3 * t[repeat / 2], repeat, 1e3 * t[0]);
        free(t);
    }
    int32_t n_out = jag_model_n_outputs(m);
    struct jag_tensor *outs = calloc((size_t)n_out, sizeof *outs);
    const char **names = calloc((size_t)n_out, sizeof *names);
    if (!outs || !names) { free(outs); free(names); fprintf(stderr, "jagrun: out of memory\n"); rc = EXIT_RUN; goto done; }
    for (int32_t i = 0; i < n_out; i++) {
        struct jag_value_info info;
        jag_model_output_info(m, i, &info);
        jag_model_get_output(m, i, &outs[i]);
        names[i] = info.name;
        if (!check || print_all) print_tensor(info.name, &outs[i], print_all);
    }
    if (mem) {
        int64_t arena = 0, total = 0;
        jag_model_memory(m, &arena, &total);
        printf("memory: arena %lld bytes (planned peak), intermediates %lld bytes in total, %d nodes\n", (long long)arena,
               (long long)total, (int)jag_model_n_nodes(m));
    }
    if (check) {
        bool ok = true;
        for (int32_t i = 0; i < n_out; i++) {
            int32_t k = 0;
            while (k < test_out.n && strcmp(test_out.names[k], names[i]) != 0) k++;
            if (k == test_out.n) {
                printf("check %s: no expected value in the test data\n", names[i]);
                ok = false;
                continue;
            }
            if (!compare(m, names[i], &outs[i], &test_out.t[k])) ok = false;
        }
        printf("check: %s\n", ok ? "all outputs agree" : "MISMATCH");
        if (!ok) rc = EXIT_CHECK;
    }
    if (output_path) {
        enum jag_status s = jag_bundle_write_file(output_path, n_out, names, outs, why, sizeof why);
        if (s != JAG_STATUS_OK) {
            fprintf(stderr, "jagrun: [%s] %s\n", jag_status_to_string(s), why);
            rc = EXIT_RUN;
        }
    }
    free(outs);
    free(names);
done:
    free_owned(&test_in);
    free_owned(&test_out);
    jag_bundle_free(&bundle);
    jag_model_free(m);
    return rc;
}

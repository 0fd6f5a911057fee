/* test_api.c — the public API (include/jag.h) end to end, and its error paths.
 *
 * Models are literal JSON texts (written by hand after the spec, spec/README.md) or temp
 * files with sidecars; expected values are worked out by hand in the comments. */
#include "../include/jag.h"
#include "../src/jag_internal.h"
#include "check.h"

#include <stdlib.h>
#include <unistd.h>

static struct jag_model *load(const char *json, enum jag_status want, const char *needle)
{
    struct jag_model *m = NULL;
    struct jag_error err;
    enum jag_status s = jag_model_load_json(json, strlen(json), NULL, "t.json", NULL, &m, &err);
    CHECK_STATUS(s, want);
    CHECK_EQ_I(err.status, want);
    if (s != JAG_STATUS_OK) {
        CHECK(m == NULL);
        CHECK(strncmp(err.message, "[", 1) == 0);
        CHECK(strstr(err.message, jag_status_to_string(want)) != NULL);
        if (needle && !strstr(err.message, needle)) {
            fprintf(stderr, "message '%s' lacks '%s'\n", err.message, needle);
            CHECK(0);
        }
    }
    return m;
}

#define HEAD "{\"format\": \"jag\", \"version\": \"1.0\", \"opset\": 1, "

/* y = (x + w) * x on float32 [N, 2] and [2] */
static const char *MODEL =
    HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"float32\", \"shape\": [\"N\", 2]}],"
    "\"outputs\": [{\"name\": \"y\", \"dtype\": \"float32\", \"shape\": [\"N\", 2]}],"
    "\"tensors\": [{\"name\": \"w\", \"dtype\": \"float32\", \"shape\": [2], \"base64\": \"AACAPwAAAEA=\"}],"   /* [1, 2] */
    "\"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\", \"w\"], \"outputs\": [\"t\"]},"
    "            {\"op\": \"multiply\", \"inputs\": [\"t\", \"x\"], \"outputs\": [\"y\"], \"name\": \"mul\"}]}";

static void test_run_and_rebind(void)
{
    struct jag_model *m = load(MODEL, JAG_STATUS_OK, NULL);
    if (!m) return;
    CHECK_EQ_I(jag_model_n_inputs(m), 1);
    CHECK_EQ_I(jag_model_n_outputs(m), 1);
    CHECK_EQ_I(jag_model_n_nodes(m), 2);
    CHECK(strcmp(jag_model_node_op(m, 1), "multiply") == 0);
    CHECK(jag_model_node_op(m, 2) == NULL);
    struct jag_value_info info;
    CHECK(jag_model_input_info(m, 0, &info));
    CHECK(strcmp(info.name, "x") == 0 && info.dtype == JAG_DTYPE_FLOAT32 && info.ndim == 2);
    CHECK(info.shape[0] == -1 && strcmp(info.dim_exprs[0], "N") == 0 && info.shape[1] == 2 && info.dim_exprs[1] == NULL);
    CHECK(!jag_model_input_info(m, 1, &info));
    CHECK_EQ_I(jag_model_find_input(m, "x"), 0);
    CHECK_EQ_I(jag_model_find_output(m, "y"), 0);
    CHECK_EQ_I(jag_model_find_input(m, "nope"), -1);

    struct jag_tensor y;
    CHECK(!jag_model_get_output(m, 0, &y));              /* no result yet */
    CHECK_STATUS(jag_model_run(m), JAG_STATUS_E_INPUT);  /* x not bound */

    float x[3 * 2] = {1, 2, 3, 4, -1, 0.5f};
    int64_t shape[2] = {3, 2};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, shape, x, JAG_BIND_COPY), JAG_STATUS_OK);
    x[0] = 100;                                          /* copied: no effect */
    CHECK_STATUS(jag_model_run(m), JAG_STATUS_OK);
    CHECK(jag_model_get_output(m, 0, &y));
    CHECK(y.dtype == JAG_DTYPE_FLOAT32 && y.ndim == 2 && y.shape[0] == 3 && y.shape[1] == 2 && y.nbytes == 24);
    const float want[6] = {2, 8, 12, 24, 0, 1.25f};      /* (x + [1,2]) * x */
    for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)y.data)[i], want[i], 0, 0);
    int64_t arena, total;
    CHECK(jag_model_memory(m, &arena, &total));
    CHECK_EQ_I(total, 48);

    /* a new batch size: prepared again; borrowed memory read in place */
    float x2[1 * 2] = {2, 3};
    int64_t shape2[2] = {1, 2};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, shape2, x2, JAG_BIND_BORROW), JAG_STATUS_OK);
    x2[0] = 4;                                           /* borrowed: seen by run */
    CHECK_STATUS(jag_model_run(m), JAG_STATUS_OK);
    CHECK(jag_model_get_output(m, 0, &y));
    CHECK(y.shape[0] == 1);
    CHECK_NEAR(((float *)y.data)[0], 20, 0, 0);
    CHECK_NEAR(((float *)y.data)[1], 15, 0, 0);

    /* binding errors */
    int64_t bad[2] = {3, 5};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, bad, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    CHECK(strstr(jag_model_last_error(m)->message, "[E_INPUT] t.json: input 'x'") != NULL);
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT64, 2, shape, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 1, shape, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    CHECK_STATUS(jag_model_set_input(m, 3, JAG_DTYPE_FLOAT32, 2, shape, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    CHECK_STATUS(jag_model_set_input(m, 0, (enum jag_dtype)99, 2, shape, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    int64_t huge[2] = {INT64_MAX / 2, 4};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, huge, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    int64_t neg[2] = {-1, 2};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, neg, x, JAG_BIND_COPY), JAG_STATUS_E_INPUT);
    jag_model_free(m);
}

static void test_shape_error_names_the_node(void)
{
    /* x[N,3] + w[2]: does not broadcast, found when N is bound (node 0) */
    const char *doc = HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"float32\", \"shape\": [\"N\", 3]}],"
        "\"outputs\": [{\"name\": \"y\", \"dtype\": \"float32\", \"shape\": [\"N\", 3]}],"
        "\"tensors\": [{\"name\": \"w\", \"dtype\": \"float32\", \"shape\": [2], \"base64\": \"AACAPwAAAEA=\"}],"
        "\"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\", \"w\"], \"outputs\": [\"y\"], \"name\": \"plus\"}]}";
    struct jag_model *m = load(doc, JAG_STATUS_OK, NULL);
    if (!m) return;
    float x[6] = {0};
    int64_t shape[2] = {2, 3};
    CHECK_STATUS(jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, shape, x, JAG_BIND_BORROW), JAG_STATUS_OK);
    CHECK_STATUS(jag_model_run(m), JAG_STATUS_E_SHAPE);
    const struct jag_error *e = jag_model_last_error(m);
    CHECK_EQ_I(e->node, 0);
    CHECK(strncmp(e->message, "[E_SHAPE] t.json: node 0 'plus' (add): ", 39) == 0);
    jag_model_free(m);
    /* the same with static shapes fails at load */
    const char *stat = HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"float32\", \"shape\": [2, 3]}],"
        "\"outputs\": [{\"name\": \"y\", \"dtype\": \"float32\", \"shape\": [2, 3]}],"
        "\"tensors\": [{\"name\": \"w\", \"dtype\": \"float32\", \"shape\": [2], \"base64\": \"AACAPwAAAEA=\"}],"
        "\"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\", \"w\"], \"outputs\": [\"y\"]}]}";
    load(stat, JAG_STATUS_E_SHAPE, "node 0 (add)");
}

static void test_bad_documents(void)
{
    load("", JAG_STATUS_E_JSON, "line 1");
    load("{\"format\": \"jag\",\n \"version\" \"1.0\"}", JAG_STATUS_E_JSON, "line 2");
    load("[1]", JAG_STATUS_E_SCHEMA, NULL);
    load("{\"format\": \"onnx\"}", JAG_STATUS_E_SCHEMA, "not a JAG model");
    load("{\"format\": \"jag\", \"version\": \"2.0\", \"opset\": 1}", JAG_STATUS_E_VERSION, "upgrade jag");
    load("{\"format\": \"jag\", \"version\": \"1.7\", \"opset\": 1}", JAG_STATUS_E_VERSION, "1.7");
    load("{\"format\": \"jag\", \"version\": \"0.9\", \"opset\": 1}", JAG_STATUS_E_VERSION, "convert");
    load("{\"format\": \"jag\", \"version\": \"1\", \"opset\": 1}", JAG_STATUS_E_SCHEMA, "MAJOR.MINOR");
    load(HEAD "\"inputs\": [], \"outputs\": []}", JAG_STATUS_E_SCHEMA, NULL);
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": []}], \"nodes\": [], \"bogus\": 1}",
         JAG_STATUS_E_SCHEMA, "bogus");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": []}], \"nodes\": []}",
         JAG_STATUS_E_GRAPH, "'y'");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": [2]}],"
         "\"nodes\": [{\"op\": \"fft\", \"inputs\": [], \"outputs\": [\"y\"]}]}", JAG_STATUS_E_UNKNOWN_OP, "'fft'");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": [2]}],"
         "\"nodes\": [{\"op\": \"iota\", \"inputs\": [], \"outputs\": [\"y\"]}]}", JAG_STATUS_E_ATTR, "required");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": [2]}],"
         "\"nodes\": [{\"op\": \"iota\", \"inputs\": [], \"outputs\": [\"y\"], \"attrs\": {\"shape\": [2], \"axis\": 1.5}}]}",
         JAG_STATUS_E_ATTR, "axis");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": [2]}],"
         "\"nodes\": [{\"op\": \"iota\", \"inputs\": [], \"outputs\": [\"y\"], \"attrs\": {\"shape\": [\"M\"]}}]}",
         JAG_STATUS_E_ATTR, "'M'");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": [2]}],"
         "\"nodes\": [{\"op\": \"iota\", \"inputs\": [], \"outputs\": [\"y\"], \"attrs\": {\"shape\": [2], \"axis\": 3}}]}",
         JAG_STATUS_E_ATTR, "axis");
    load(HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"bool\", \"shape\": []}], \"outputs\": [{\"name\": \"y\", \"dtype\": \"bool\", \"shape\": []}],"
         "\"nodes\": [{\"op\": \"exp\", \"inputs\": [\"x\"], \"outputs\": [\"y\"]}]}", JAG_STATUS_E_DTYPE, "bool");
    load(HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": []}], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": []}],"
         "\"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\"], \"outputs\": [\"y\"]}]}", JAG_STATUS_E_ARITY, "inputs");
    load(HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": []}], \"outputs\": [{\"name\": \"y\", \"dtype\": \"int64\", \"shape\": []}],"
         "\"nodes\": [{\"op\": \"add\", \"inputs\": [\"x\", \"y\"], \"outputs\": [\"y\"]}]}", JAG_STATUS_E_GRAPH, "cycle");
    load(HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": []}], \"outputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": []}],"
         "\"nodes\": [{\"op\": \"neg\", \"inputs\": [\"x\"], \"outputs\": [\"x\"]}]}", JAG_STATUS_E_GRAPH, "twice");
    load(HEAD "\"inputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": [\"N//\"]}], \"outputs\": [{\"name\": \"x\", \"dtype\": \"int64\", \"shape\": [\"N//\"]}],"
         "\"nodes\": []}", JAG_STATUS_E_SHAPE, NULL);
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [2]}], \"nodes\": [],"
         "\"tensors\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [2], \"base64\": \"AAAA\"}]}", JAG_STATUS_E_TENSOR_DATA, "'w'");
    load(HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [1]}], \"nodes\": [],"
         "\"tensors\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [1], \"file\": \"../w.bin\", \"offset\": 0, \"nbytes\": 4}],"
         "\"files\": [{\"path\": \"../w.bin\", \"nbytes\": 4, \"sha256\": \"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}]}",
         JAG_STATUS_E_PATH, "../w.bin");
    /* deep nesting is refused by the reader, not by the stack */
    size_t n = 200000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    load(deep, JAG_STATUS_E_JSON, "nest");
    free(deep);
}

/* A model in a temp folder with a sidecar: size and hash are checked. */
static void test_sidecar_files(void)
{
    char dir[] = "/tmp/jag-test-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char path[256], side[256];
    snprintf(path, sizeof path, "%s/model.json", dir);
    snprintf(side, sizeof side, "%s/model.bin", dir);
    const int32_t w[2] = {7, -3};
    char hex[65];
    jag_sha256_hex(w, sizeof w, hex);
    char doc[2048];
    snprintf(doc, sizeof doc, HEAD "\"inputs\": [], \"outputs\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [2]}], \"nodes\": [],"
             "\"tensors\": [{\"name\": \"w\", \"dtype\": \"int32\", \"shape\": [2], \"file\": \"model.bin\", \"offset\": 0, \"nbytes\": 8}],"
             "\"files\": [{\"path\": \"model.bin\", \"nbytes\": 8, \"sha256\": \"%s\"}]}", hex);
    char why[256];
    CHECK_STATUS(jag_write_file_atomic(path, doc, strlen(doc), why, sizeof why), JAG_STATUS_OK);
    struct jag_model *m = NULL;
    struct jag_error err;
    /* missing sidecar */
    CHECK_STATUS(jag_model_load_file(path, NULL, &m, &err), JAG_STATUS_E_FILE);
    /* right one */
    CHECK_STATUS(jag_write_file_atomic(side, w, sizeof w, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_model_load_file(path, NULL, &m, &err), JAG_STATUS_OK);
    if (m) {
        struct jag_tensor t;
        CHECK_STATUS(jag_model_run(m), JAG_STATUS_OK);
        CHECK(jag_model_get_output(m, 0, &t));
        CHECK(t.ndim == 1 && ((int32_t *)t.data)[0] == 7 && ((int32_t *)t.data)[1] == -3);
        jag_model_free(m);
    }
    /* tampered: same size, other bytes */
    const int32_t w2[2] = {7, -4};
    CHECK_STATUS(jag_write_file_atomic(side, w2, sizeof w2, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_model_load_file(path, NULL, &m, &err), JAG_STATUS_E_TENSOR_DATA);
    CHECK(strstr(err.message, "SHA-256") != NULL);
    struct jag_model_params p = jag_model_default_params();
    p.verify_sha256 = false;
    CHECK_STATUS(jag_model_load_file(path, &p, &m, &err), JAG_STATUS_OK);
    jag_model_free(m);
    /* truncated */
    CHECK_STATUS(jag_write_file_atomic(side, w, 4, why, sizeof why), JAG_STATUS_OK);
    CHECK_STATUS(jag_model_load_file(path, NULL, &m, &err), JAG_STATUS_E_TENSOR_DATA);
    /* missing model */
    CHECK_STATUS(jag_model_load_file("/nonexistent/model.json", NULL, &m, &err), JAG_STATUS_E_FILE);
    CHECK(m == NULL);
    unlink(side);
    unlink(path);
    rmdir(dir);
}

static void test_names(void)
{
    CHECK(strcmp(jag_status_to_string(JAG_STATUS_OK), "OK") == 0);
    CHECK(strcmp(jag_status_to_string(JAG_STATUS_E_JSON), "E_JSON") == 0);
    CHECK(strcmp(jag_status_to_string(JAG_STATUS_E_INTERNAL), "E_INTERNAL") == 0);
    CHECK(strcmp(jag_status_to_string(JAG_STATUS_OUT_OF_MEMORY), "OUT_OF_MEMORY") == 0);
    CHECK(strcmp(jag_status_to_string((enum jag_status)1234), "UNKNOWN_STATUS") == 0);
    static const char *const names[] = {"float32", "float64", "int32", "int64", "uint8", "bool"};
    static const size_t sizes[] = {4, 8, 4, 8, 1, 1};
    for (int d = 0; d < JAG_DTYPE_COUNT; d++) {
        enum jag_dtype dt;
        CHECK(strcmp(jag_dtype_name((enum jag_dtype)d), names[d]) == 0);
        CHECK(jag_dtype_size((enum jag_dtype)d) == sizes[d]);
        CHECK(jag_dtype_from_name(names[d], &dt) && dt == (enum jag_dtype)d);
    }
    CHECK(jag_dtype_name(JAG_DTYPE_COUNT) == NULL);
    CHECK(jag_dtype_size((enum jag_dtype)-1) == 0);
    CHECK(strstr(jag_version(), "format 1.0") != NULL);
    jag_model_free(NULL);
    /* every op of the generated table has a kernel */
    for (int op = 0; op < JAG_OP_COUNT; op++) CHECK(JAG_KERNELS[op].prepare && JAG_KERNELS[op].eval);
}

int main(void)
{
    RUN(test_run_and_rebind);
    RUN(test_shape_error_names_the_node);
    RUN(test_bad_documents);
    RUN(test_sidecar_files);
    RUN(test_names);
    return check_summary();
}

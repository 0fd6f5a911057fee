/*
 * jag.h — the JAG C runtime: run a JAG v1 model file (spec/README.md) in C99.
 *
 * OVERVIEW
 *
 *   libjag loads a model.json written by `graph.save()` (Python), validates it against the
 *   spec (spec/README.md, spec/ops.json), and runs it on the CPU. It depends on libc and
 *   libm only: drop src/ and include/ into any project. It never prints, never calls
 *   exit() or abort() on bad input; every fallible call returns an enum jag_status and
 *   leaves a one-line message in the shared format of spec/errors.json:
 *
 *       [E_SHAPE] model.json: node 7 'mm1' (matmul): input 1 has shape [4,5]; expected ...
 *
 *   Life of a model (tflite-micro's prepare/eval split):
 *     1. load     jag_model_load_file(): parse, check the structure, op names, arities,
 *                 attributes and dtypes, read constant tensors (inline base64 or sidecar
 *                 files, size and SHA-256 checked).
 *     2. bind     jag_model_set_input() for every input (copy or borrow caller memory).
 *     3. run      jag_model_run(): on the first run, or when an input shape changed, binds
 *                 the symbolic dims, infers every shape, checks every node, and plans all
 *                 intermediate buffers in one arena reused by liveness ("prepare"). Then the
 *                 kernels run without checks (except index bounds of gather/scatter_add)
 *                 and without allocating.
 *     4. read     jag_model_get_output(): a view of an output, valid until the next run,
 *                 set_input or free.
 *     5. free     jag_model_free().
 *
 * EXAMPLE (error handling shortened)
 *
 *     struct jag_error err;
 *     struct jag_model *m;
 *     if (jag_model_load_file("model.json", NULL, &m, &err) != JAG_STATUS_OK) {
 *         fprintf(stderr, "%s\n", err.message); return 1;
 *     }
 *     float x[2 * 3] = {1, 2, 3, 4, 5, 6};
 *     int64_t shape[2] = {2, 3};
 *     jag_model_set_input(m, 0, JAG_DTYPE_FLOAT32, 2, shape, x, JAG_BIND_BORROW);
 *     if (jag_model_run(m) != JAG_STATUS_OK) {
 *         fprintf(stderr, "%s\n", jag_model_last_error(m)->message);
 *     }
 *     struct jag_tensor y;
 *     jag_model_get_output(m, 0, &y);           // y.data: float*, y.shape[0..y.ndim)
 *     jag_model_free(m);
 *
 * THREADS: a struct jag_model is not thread-safe; use one per thread (loading the same file
 * twice). Kernels are single-threaded.
 *
 * SEMANTICS of every op: spec/ops.json (rendered in spec/OPS.md); the numpy reference in
 * python/jag/ops/ is normative.
 */
#ifndef JAG_H
#define JAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(JAG_SHARED)
#define JAG_API __declspec(dllexport)
#elif defined(__GNUC__)
#define JAG_API __attribute__((visibility("default")))
#else
#define JAG_API
#endif

/* Format version and opset this library reads (spec/README.md §14). */
#define JAG_FORMAT_VERSION_MAJOR 1
#define JAG_FORMAT_VERSION_MINOR 0

/* Highest tensor rank the C runtime supports; larger ranks are E_SHAPE. */
#define JAG_MAX_DIMS 16

/* Status of every fallible call. After JAG_STATUS_OK come the shared error codes of
 * spec/errors.json, in that file's order (the generated src/gen_errors.c checks the count);
 * JAG_STATUS_OUT_OF_MEMORY is specific to this runtime (malloc failed). */
enum jag_status {
    JAG_STATUS_OK = 0,
    JAG_STATUS_E_JSON,          /* model file is not well-formed JSON (line, column given)   */
    JAG_STATUS_E_SCHEMA,        /* JSON, but not the structure of spec/jag.schema.json       */
    JAG_STATUS_E_VERSION,       /* unsupported format version or opset                       */
    JAG_STATUS_E_UNKNOWN_OP,    /* a node names an op not in spec/ops.json                   */
    JAG_STATUS_E_ARITY,         /* wrong number of node inputs or outputs                    */
    JAG_STATUS_E_ATTR,          /* attribute missing, unknown, mistyped or out of range      */
    JAG_STATUS_E_DTYPE,         /* a dtype the op does not accept                             */
    JAG_STATUS_E_SHAPE,         /* incompatible shapes, bad dim expression, count overflow    */
    JAG_STATUS_E_GRAPH,         /* value defined twice, used before definition, undefined out */
    JAG_STATUS_E_INPUT,         /* run-time inputs do not match the graph                     */
    JAG_STATUS_E_TENSOR_DATA,   /* stored tensor bytes wrong: base64, size, sidecar, SHA-256  */
    JAG_STATUS_E_FILE,          /* a file cannot be read                                      */
    JAG_STATUS_E_PATH,          /* a sidecar path is not a plain file name                    */
    JAG_STATUS_E_INDEX,         /* an index value out of range (gather, scatter_add, ...)     */
    JAG_STATUS_E_INTERNAL,      /* a bug in this runtime; please report it                    */
    JAG_STATUS_OUT_OF_MEMORY    /* allocation failed (not a spec code)                        */
};

/* The six dtypes of spec/README.md §4, in the order of spec/ops.json "dtypes". */
enum jag_dtype {
    JAG_DTYPE_FLOAT32 = 0,      /* float,   4 bytes                      */
    JAG_DTYPE_FLOAT64 = 1,      /* double,  8 bytes                      */
    JAG_DTYPE_INT32   = 2,      /* int32_t, 4 bytes                      */
    JAG_DTYPE_INT64   = 3,      /* int64_t, 8 bytes                      */
    JAG_DTYPE_UINT8   = 4,      /* uint8_t, 1 byte                       */
    JAG_DTYPE_BOOL    = 5,      /* uint8_t holding 0 or 1, 1 byte        */
    JAG_DTYPE_COUNT   = 6
};

/* An error: the status, the node it concerns (-1 when none), and the one-line message
 * "[CODE] file: node i 'name' (op): detail" (spec/README.md §13), NUL-terminated,
 * truncated to fit. */
struct jag_error {
    enum jag_status status;     /* JAG_STATUS_OK when there is no error             */
    int64_t         node;       /* index of the node in "nodes", or -1               */
    char            message[512];
};

/* A tensor view. Dense, row-major (C order), little-endian host layout. */
struct jag_tensor {
    enum jag_dtype  dtype;
    int32_t         ndim;                   /* 0 for a scalar                          */
    int64_t         shape[JAG_MAX_DIMS];    /* shape[0..ndim)                          */
    void           *data;                   /* numel * itemsize bytes                  */
    size_t          nbytes;                 /* numel * itemsize                        */
};

/* A graph input or output as declared in the file. A dim is shape[i] >= 0 when static;
 * when symbolic, shape[i] = -1 and dim_exprs[i] is its expression ("N", "2*S"). After a
 * successful jag_model_run() the bound values are available from jag_model_get_output(). */
struct jag_value_info {
    const char         *name;               /* value name, owned by the model          */
    enum jag_dtype      dtype;
    int32_t             ndim;
    const int64_t      *shape;              /* ndim entries; -1 where symbolic         */
    const char *const  *dim_exprs;          /* ndim entries; NULL where static         */
};

/* How jag_model_set_input() treats the caller's buffer. */
enum jag_bind {
    JAG_BIND_COPY   = 0,        /* copy the data now; the caller may free it at once       */
    JAG_BIND_BORROW = 1         /* use the caller's memory in place; it must stay valid and
                                   unchanged until the next run returns                   */
};

/* Options for loading. Get defaults from jag_model_default_params(). */
struct jag_model_params {
    bool    verify_sha256;      /* check each sidecar's SHA-256 (default true)              */
    int64_t max_file_bytes;     /* refuse (E_FILE) a model.json larger than this
                                   (default 1 GiB; sidecars have the spec's 2 GiB limit)   */
    int32_t max_json_depth;     /* nesting limit of the JSON reader (default 64), E_JSON   */
};

/* The default load options. */
JAG_API struct jag_model_params jag_model_default_params(void);

/* An opaque loaded model with its constants, bound inputs, plan and arena. */
struct jag_model;

/* Load and validate the model file at `path` (UTF-8 JSON; sidecars beside it).
 * params: NULL for the defaults. On success *model receives a new model (free it with
 * jag_model_free). On failure *model is NULL and, when err is not NULL, err holds the
 * status and message. Errors: E_FILE, E_JSON, E_SCHEMA, E_VERSION, E_UNKNOWN_OP, E_ARITY,
 * E_ATTR, E_DTYPE, E_SHAPE, E_GRAPH, E_TENSOR_DATA, E_PATH, OUT_OF_MEMORY. */
JAG_API enum jag_status jag_model_load_file(const char *path, const struct jag_model_params *params,
                                            struct jag_model **model, struct jag_error *err);

/* As jag_model_load_file, from `len` bytes of JSON text in memory. `folder` is where
 * sidecar files are looked up (NULL: a model with sidecars fails with E_FILE); `name` is
 * used as the file name in messages (NULL: none). */
JAG_API enum jag_status jag_model_load_json(const char *json, size_t len, const char *folder, const char *name,
                                            const struct jag_model_params *params,
                                            struct jag_model **model, struct jag_error *err);

/* Free the model, its arena and everything it owns. NULL is allowed. */
JAG_API void jag_model_free(struct jag_model *model);

/* The last error recorded on this model (status JAG_STATUS_OK when the last call succeeded). */
JAG_API const struct jag_error *jag_model_last_error(const struct jag_model *model);

/* Number of graph inputs / outputs, and their declared info (index in [0, n)).
 * Returns false when the index is out of range. */
JAG_API int32_t jag_model_n_inputs(const struct jag_model *model);
JAG_API int32_t jag_model_n_outputs(const struct jag_model *model);
JAG_API bool    jag_model_input_info(const struct jag_model *model, int32_t index, struct jag_value_info *info);
JAG_API bool    jag_model_output_info(const struct jag_model *model, int32_t index, struct jag_value_info *info);

/* Index of the input or output named `name`, or -1. */
JAG_API int32_t jag_model_find_input(const struct jag_model *model, const char *name);
JAG_API int32_t jag_model_find_output(const struct jag_model *model, const char *name);

/* Bind input `index` to a tensor of the given dtype and shape (ndim entries) whose data
 * holds numel * itemsize bytes. The dtype and rank must equal the declared ones and the
 * shape must agree with the declared dims (checked here and at run: E_INPUT). A bool
 * input must hold only bytes 0 and 1 (E_INPUT). */
JAG_API enum jag_status jag_model_set_input(struct jag_model *model, int32_t index, enum jag_dtype dtype,
                                            int32_t ndim, const int64_t *shape, const void *data,
                                            enum jag_bind bind);

/* Run the graph on the bound inputs (every input must be bound: E_INPUT). Prepares on the
 * first call and whenever an input shape changed. Errors: E_INPUT, E_SHAPE, E_ATTR, E_INDEX,
 * OUT_OF_MEMORY. */
JAG_API enum jag_status jag_model_run(struct jag_model *model);

/* A view of output `index` after a successful run (data owned by the model, valid until
 * the next set_input/run/free). Returns false when there is no such output or no result. */
JAG_API bool jag_model_get_output(const struct jag_model *model, int32_t index, struct jag_tensor *out);

/* Memory plan of the last prepare: the arena size (the planned peak: intermediates and
 * kernels' scratch buffers, reused by liveness) and the sum of every intermediate's size
 * (what the graph would need without reuse, scratch excluded). */
JAG_API bool jag_model_memory(const struct jag_model *model, int64_t *arena_bytes, int64_t *total_bytes);

/* Number of nodes, and the op name of a node (NULL when out of range). */
JAG_API int32_t     jag_model_n_nodes(const struct jag_model *model);
JAG_API const char *jag_model_node_op(const struct jag_model *model, int32_t index);

/* "OK", "E_JSON", ... "E_INTERNAL", "OUT_OF_MEMORY". */
JAG_API const char *jag_status_to_string(enum jag_status status);

/* "float32", ...; NULL for an invalid value. */
JAG_API const char *jag_dtype_name(enum jag_dtype dtype);

/* Bytes per element (1, 4 or 8); 0 for an invalid value. */
JAG_API size_t jag_dtype_size(enum jag_dtype dtype);

/* The dtype named `name`; returns false when there is none. */
JAG_API bool jag_dtype_from_name(const char *name, enum jag_dtype *dtype);

/* Library version string, e.g. "0.1.0 (format 1.0, opset 1)". */
JAG_API const char *jag_version(void);

#ifdef __cplusplus
}
#endif

#endif /* JAG_H */

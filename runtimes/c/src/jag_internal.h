/*
 * jag_internal.h — the pieces of libjag shared between its source files (not installed).
 *
 *   gen_ops.c / gen_errors.c   op, dtype, tolerance and error tables generated from spec/
 *   json.c                     a small strict JSON reader (RFC 8259, line/column errors)
 *   util.c                     base64 (RFC 4648), SHA-256 (FIPS 180-4), file reading
 *   dims.c                     symbolic dim expressions (spec/README.md §5)
 *   safetensors.c              tensor bundles (spec/README.md §7)
 *   model.c                    loading and static validation (§2, §3, §6, §12)
 *   exec.c                     binding, prepare (shape inference + memory plan), run
 *   shapes.c                   shared shape rules (same, broadcast, reduce) and helpers
 *   k_*.c                      kernels: one jag_prepare_<op> and jag_eval_<op> per op
 */
#ifndef JAG_INTERNAL_H
#define JAG_INTERNAL_H

#include "../include/jag.h"
#include "gen_ops.h"

#include <stdarg.h>

/* ---------------------------------------------------------------- tables (generated) */

#define JAG_DTYPE_BIT(i) (1u << (i))

struct jag_dtype_def {
    const char *name;           /* "float32"                                     */
    int32_t     itemsize;       /* bytes per element                             */
    const char *safetensors;    /* "F32"                                         */
};

struct jag_tolerance_def {
    const char *name;           /* "exact", "elementwise", ...                   */
    double      f32[2];         /* rtol, atol for float32                        */
    double      f64[2];         /* rtol, atol for float64                        */
};

/* One input or output port of an op. Exactly one of type_var, fixed_dtype, attr_dtype is >= 0. */
struct jag_port_def {
    const char *name;
    int8_t      type_var;       /* index into the op's type variables, or -1            */
    int8_t      fixed_dtype;    /* enum jag_dtype, or -1                                */
    int8_t      attr_dtype;     /* index of the attr giving the dtype ("attr:dtype"), -1 */
    bool        optional;       /* may be omitted from the end                          */
    bool        variadic;       /* takes all remaining inputs (concat)                  */
    int32_t     min;            /* variadic: minimum count                              */
};

enum jag_attr_type {
    JAG_ATTR_TYPE_INT, JAG_ATTR_TYPE_FLOAT, JAG_ATTR_TYPE_BOOL, JAG_ATTR_TYPE_STRING,
    JAG_ATTR_TYPE_INTS, JAG_ATTR_TYPE_AXES, JAG_ATTR_TYPE_DIMS, JAG_ATTR_TYPE_DTYPE
};

struct jag_attr_def {
    const char        *name;
    enum jag_attr_type type;
    bool               required;
    const char        *default_json;    /* JSON text of the default ("null", "[1, 1]"); NULL if required */
    const char        *enum_json;       /* JSON array of allowed values, or NULL                         */
    int32_t            length;          /* exact array length, or -1                                     */
    bool               has_min;
    double             min;             /* lower bound of the value / every item                         */
    bool               has_max_exclusive;
    double             max_exclusive;
};

struct jag_op_def {
    const char                 *name;
    bool                        core;           /* core opset (else composite)             */
    int32_t                     since;          /* opset that introduced it                */
    int32_t                     n_inputs;       /* declared input ports                    */
    int32_t                     n_required;     /* ports neither optional nor variadic     */
    const struct jag_port_def  *inputs;
    int32_t                     n_outputs;
    const struct jag_port_def  *outputs;
    int32_t                     n_type_vars;
    const uint32_t             *type_masks;     /* allowed dtypes per type variable (bits) */
    const char *const          *type_var_names;
    int32_t                     n_attrs;
    const struct jag_attr_def  *attrs;
    const char                 *shape_rule;
    int32_t                     tolerance;      /* index into JAG_TOLERANCE_DEFS           */
};

extern const struct jag_dtype_def     JAG_DTYPE_DEFS[JAG_SPEC_DTYPE_COUNT];
extern const struct jag_tolerance_def JAG_TOLERANCE_DEFS[];
extern const int32_t                  JAG_TOLERANCE_COUNT;
extern const struct jag_op_def        JAG_OP_DEFS[JAG_OP_COUNT];
extern const char *const              JAG_ERROR_CODES[JAG_STATUS_OUT_OF_MEMORY];
extern const char *const              JAG_ERROR_MEANINGS[JAG_STATUS_OUT_OF_MEMORY];
extern const char                     JAG_ERROR_FORMAT[];

/* Index of the op named `name` in JAG_OP_DEFS, or -1. */
int32_t jag_op_find(const char *name);

/* ---------------------------------------------------------------- JSON (json.c) */

enum jag_json_type { JAG_JSON_NULL, JAG_JSON_BOOL, JAG_JSON_NUMBER, JAG_JSON_STRING, JAG_JSON_ARRAY, JAG_JSON_OBJECT };

/* One parsed JSON value. Arrays and objects own their items. */
struct jag_json {
    enum jag_json_type type;
    int32_t            line, column;    /* 1-based position of the value's first character   */
    bool               boolean;         /* BOOL                                               */
    double             number;          /* NUMBER, as strtod reads it (±HUGE_VAL if too big)  */
    bool               integral;        /* NUMBER token has no fraction and no exponent       */
    bool               fits_int64;      /* integral and within int64                          */
    int64_t            integer;         /* the value when fits_int64                          */
    char              *string;          /* STRING: NUL-terminated UTF-8 (no embedded NUL)     */
    size_t             string_len;
    int32_t            n;               /* ARRAY / OBJECT: number of items                    */
    struct jag_json   *items;           /* ARRAY items, OBJECT values (n entries)             */
    char             **keys;            /* OBJECT keys (n entries), NUL-terminated            */
};

/* Parse `len` bytes of UTF-8 JSON text (RFC 8259: one value, optional whitespace around it).
 * Rejects: malformed or truncated text, invalid UTF-8, duplicate object keys, nesting deeper
 * than max_depth, "\u0000" in strings, bare NaN/Infinity. On error returns
 * JAG_STATUS_E_JSON (or OUT_OF_MEMORY) and writes "line L, column C: reason" to why. */
enum jag_status jag_json_parse(const char *text, size_t len, int32_t max_depth,
                               struct jag_json **out, char *why, size_t why_size);
void jag_json_free(struct jag_json *value);

/* The value of `key` in an object, or NULL (also when obj is not an object). */
const struct jag_json *jag_json_get(const struct jag_json *obj, const char *key);

/* ---------------------------------------------------------------- utilities (util.c) */

/* Strict standard base64 (RFC 4648 §4: A-Z a-z 0-9 + /, '=' padding to a multiple of 4,
 * no whitespace). Returns false on any malformed input or when out_cap is too small.
 * jag_base64_decoded_size gives the exact decoded size of a well-formed string (or -1). */
int64_t jag_base64_decoded_size(const char *text, size_t len);   /* checks length and padding only */
bool    jag_base64_decode(const char *text, size_t len, uint8_t *out, size_t out_cap, size_t *out_len);

/* SHA-256 (FIPS 180-4) of len bytes, as 32 bytes and as 64 lowercase hex digits + NUL. */
void jag_sha256(const void *data, size_t len, uint8_t digest[32]);
void jag_sha256_hex(const void *data, size_t len, char hex[65]);

/* Read a whole file into a new malloc'ed buffer (plus a NUL byte after it). Fails with
 * E_FILE (missing, unreadable, a directory, larger than max_bytes; max_bytes < 0: no limit)
 * or OUT_OF_MEMORY, writing the reason to why. */
enum jag_status jag_read_file(const char *path, int64_t max_bytes, uint8_t **data, size_t *len,
                              char *why, size_t why_size);

/* Write len bytes to path atomically: a temporary file in the same folder, fflush + fsync,
 * then rename over path (E_FILE on failure; the temporary file is removed). */
enum jag_status jag_write_file_atomic(const char *path, const void *data, size_t len, char *why, size_t why_size);

/* snprintf into a fixed buffer; never overflows, always NUL-terminates. */
void jag_format(char *buf, size_t size, const char *fmt, ...);

/* a * b and a + b on non-negative int64 values; false on overflow. */
bool jag_mul_i64(int64_t a, int64_t b, int64_t *out);
bool jag_add_i64(int64_t a, int64_t b, int64_t *out);

/* ---------------------------------------------------------------- dims (dims.c) */

/* Bound symbolic dims: names[i] = values[i] for i < n (names owned by the caller). */
struct jag_dim_env {
    int32_t             n;
    const char *const  *names;
    const int64_t      *values;
};

/* Check the syntax of a dim expression (spec/README.md §5 grammar, 1..256 characters);
 * false with the reason in why. */
bool jag_dim_check(const char *expr, char *why, size_t why_size);

/* If expr is a bare name (optionally surrounded by spaces), copy it to name (size bytes)
 * and return true. */
bool jag_dim_bare_name(const char *expr, char *name, size_t size);

/* Call fn(name, len, ctx) for every occurrence of a name in the expression (repeats
 * included; syntax already checked). */
void jag_dim_names(const char *expr, void (*fn)(const char *name, size_t len, void *ctx), void *ctx);

/* Evaluate with 64-bit signed integers: '+', '-', '*', floor division '//', unary '-'.
 * Fails (false, reason in why) on bad syntax, an unbound name, division by zero, int64
 * overflow. The caller reports E_SHAPE / E_ATTR / E_INPUT as fits. */
bool jag_dim_eval(const char *expr, const struct jag_dim_env *env, int64_t *value, char *why, size_t why_size);

/* ---------------------------------------------------------------- safetensors (safetensors.c) */

struct jag_bundle_entry {
    char           *name;
    enum jag_dtype  dtype;
    int32_t         ndim;
    int64_t         shape[JAG_MAX_DIMS];
    const uint8_t  *data;       /* points into jag_bundle.buffer (maybe unaligned) */
    size_t          nbytes;
};

struct jag_bundle {
    int32_t                  n;
    struct jag_bundle_entry *entries;   /* in file order of data_offsets */
    uint8_t                 *buffer;    /* the whole file                  */
    size_t                   size;
};

/* Parse a safetensors file (8-byte LE header length, JSON header, data). E_FILE when it
 * cannot be read; E_TENSOR_DATA when malformed: header length beyond the file, bad JSON,
 * unknown dtype code, shape/offsets inconsistent, overlapping or gapped data, rank above
 * JAG_MAX_DIMS. "__metadata__" is skipped. On success the bundle owns its memory. */
enum jag_status jag_bundle_read_file(const char *path, struct jag_bundle *bundle, char *why, size_t why_size);
enum jag_status jag_bundle_parse(uint8_t *bytes, size_t len, struct jag_bundle *bundle, char *why, size_t why_size);
void            jag_bundle_free(struct jag_bundle *bundle);
const struct jag_bundle_entry *jag_bundle_find(const struct jag_bundle *bundle, const char *name);

/* Write n tensors (names[i], tensors[i]) as a safetensors file, atomically. Header keys in
 * the given order, padded with spaces to a multiple of 8 bytes. E_FILE when the file cannot
 * be written, E_TENSOR_DATA for a tensor whose nbytes disagrees with its dtype and shape, a
 * bad dtype or rank, a duplicate name or the name "__metadata__"; OUT_OF_MEMORY. */
enum jag_status jag_bundle_write_file(const char *path, int32_t n, const char *const *names,
                                      const struct jag_tensor *tensors, char *why, size_t why_size);

/* ---------------------------------------------------------------- the model */

/* An attribute value of a node, defaults filled in at load (struct jag_attr_def gives the type). */
struct jag_attr {
    bool        is_null;        /* absent/null with a null default ("not given")              */
    int64_t     i;              /* INT, BOOL (0/1), DTYPE (enum jag_dtype)                      */
    double      f;              /* FLOAT                                                        */
    char       *s;              /* STRING                                                       */
    int32_t     n;              /* INTS / AXES / DIMS: item count                               */
    int64_t    *ints;           /* INTS / AXES values; DIMS: the constant items                 */
    char      **exprs;          /* DIMS: per item, NULL when constant, else the expression      */
};

enum jag_value_kind { JAG_VALUE_INPUT, JAG_VALUE_CONSTANT, JAG_VALUE_NODE };

/* A value of the graph: graph input, constant tensor or node output. Shape and data are
 * concrete after prepare; dtype is known from load on. */
struct jag_value {
    char               *name;
    enum jag_value_kind kind;
    enum jag_dtype      dtype;
    int32_t             ndim;
    int64_t             shape[JAG_MAX_DIMS];
    int64_t             numel;
    size_t              nbytes;
    void               *data;           /* constants: owned; node outputs: in the arena   */
    int32_t             producer;       /* node index, or -1                              */
    int32_t             last_use;       /* last node index reading it (plan), -1 if none  */
    bool                is_output;      /* a graph output: never reused                   */
    int64_t             arena_offset;   /* node outputs: offset in the arena              */
};

struct jag_node {
    int32_t             index;
    enum jag_op         op;
    char               *name;           /* optional label, or NULL                        */
    int32_t             n_inputs;
    int32_t            *inputs;         /* value indices                                  */
    int32_t             n_outputs;
    int32_t            *outputs;        /* value indices                                  */
    struct jag_attr    *attrs;          /* JAG_OP_DEFS[op].n_attrs entries                */
    size_t              scratch_bytes;  /* requested by prepare                           */
    int64_t             scratch_offset; /* in the arena                                   */
    int64_t             params[4 * JAG_MAX_DIMS]; /* free for prepare to pass to eval     */
};

/* Declared graph input/output (shape may be symbolic). */
struct jag_io {
    int32_t             value;          /* value index                                    */
    enum jag_dtype      dtype;
    int32_t             ndim;
    int64_t             shape[JAG_MAX_DIMS];    /* -1 where symbolic                       */
    char               *exprs[JAG_MAX_DIMS];    /* NULL where static                       */
    /* inputs only: the bound tensor */
    bool                bound;
    int64_t             bound_shape[JAG_MAX_DIMS];
    void               *bound_data;     /* caller's (borrowed) or owned copy              */
    bool                owned;
    size_t              bound_nbytes;
};

struct jag_model {
    char               *file;           /* name used in messages (may be NULL)            */
    char               *folder;         /* sidecar folder (may be NULL)                   */
    struct jag_model_params params;
    struct jag_error    err;
    int32_t             opset;
    int32_t             n_values;
    struct jag_value   *values;
    int32_t             n_nodes;
    struct jag_node    *nodes;
    int32_t             n_inputs, n_outputs;
    struct jag_io      *inputs, *outputs;
    int32_t             n_dims;         /* named dims of "dims" and input shapes           */
    char              **dim_names;
    int64_t            *dim_max;        /* -1 when no max                                  */
    int64_t            *dim_values;     /* bound at prepare                                */
    struct jag_json    *test;           /* metadata["jag.test"] (owned), or NULL           */
    struct jag_json    *loop;           /* metadata["jag.loop"] (owned), or NULL           */
    /* plan */
    bool                prepared;
    bool                have_results;
    uint8_t            *arena;
    size_t              arena_bytes;
    int64_t             plan_peak;      /* planned arena bytes of the last prepare         */
    int64_t             total_bytes;    /* sum of all intermediates' bytes (no reuse)      */
    struct jag_value  **big_inputs;     /* input pointer array for nodes with > 256 inputs */
    int32_t             n_sidecars;
    uint8_t           **sidecars;       /* sidecar file contents (constants point into them) */
};

/* Prepare with the bound input shapes: bind dims, run every node's prepare, check the
 * declared output shapes, plan the arena (exec.c). */
enum jag_status jag_model_prepare_shapes(struct jag_model *m);

/* Output dtypes of a node from its input dtypes and attrs, per the op's type constraints
 * (E_DTYPE, reported on node_index of m). */
enum jag_status jag_infer_dtypes(struct jag_model *m, int32_t node_index, enum jag_op op, const struct jag_attr *attrs,
                                 int32_t n_in, const enum jag_dtype *in, enum jag_dtype *out);

/* A tensor object of the file format (name, dtype, shape, inline "base64"), as used by
 * metadata["jag.test"]: decoded into a new malloc'ed buffer (*data, caller frees). */
enum jag_status jag_tensor_from_json(struct jag_model *m, const struct jag_json *t, const char *where,
                                     struct jag_tensor *out, const char **name);

/* Record an error on the model: formats "[CODE] file: node i 'name' (op): detail".
 * node < 0 for none. Returns status, so `return jag_model_fail(...)` reads well. */
enum jag_status jag_model_fail(struct jag_model *m, enum jag_status status, int32_t node, const char *fmt, ...);
enum jag_status jag_model_vfail(struct jag_model *m, enum jag_status status, int32_t node, const char *fmt, va_list ap);

/* Parse one attribute value (from a node or a default) per its def into *out (E_ATTR
 * on a mistyped or out-of-range value, with the reason in why). Owned strings/arrays are
 * freed by jag_attr_clear. */
enum jag_status jag_attr_parse(const struct jag_attr_def *def, const struct jag_json *value, struct jag_attr *out,
                               char *why, size_t why_size);
void            jag_attr_clear(struct jag_attr *a);

/* ---------------------------------------------------------------- kernels */

/* What a kernel sees of one node: its inputs, outputs and attributes.
 * prepare: input shapes are concrete; it checks them and the attributes (E_SHAPE/E_ATTR via
 *          jag_exec_fail), sets every output's shape with jag_exec_set_shape, and may ask for
 *          scratch memory by setting node->scratch_bytes; it may stash values in node->params.
 * eval:    outputs (and scratch) are allocated; computes without checks, except data-
 *          dependent index bounds (E_INDEX). Must not allocate. */
struct jag_exec {
    struct jag_model   *model;
    struct jag_node    *node;
    const struct jag_op_def *def;
    int32_t             n_in;
    struct jag_value  **in;             /* n_in inputs                                    */
    int32_t             n_out;
    struct jag_value  **out;            /* n_out outputs                                  */
    void               *scratch;        /* node->scratch_bytes bytes (eval only)          */
};

typedef enum jag_status (*jag_prepare_fn)(struct jag_exec *x);
typedef enum jag_status (*jag_eval_fn)(struct jag_exec *x);

struct jag_kernel {
    jag_prepare_fn prepare;
    jag_eval_fn    eval;
};

#define JAG_DECLARE_KERNEL_(name, NAME)                  \
    enum jag_status jag_prepare_##name(struct jag_exec *x); \
    enum jag_status jag_eval_##name(struct jag_exec *x);
JAG_OPS_X(JAG_DECLARE_KERNEL_)
#undef JAG_DECLARE_KERNEL_

/* Indexed by enum jag_op (kernels.c; built from JAG_OPS_X so a missing kernel fails to link). */
extern const struct jag_kernel JAG_KERNELS[JAG_OP_COUNT];

/* Record an error for the node being prepared/run. Returns status. */
enum jag_status jag_exec_fail(struct jag_exec *x, enum jag_status status, const char *fmt, ...);

/* Set output i's shape: checks the rank (<= JAG_MAX_DIMS), dims >= 0 and that numel and
 * nbytes fit in int64 (E_SHAPE); sets numel and nbytes. */
enum jag_status jag_exec_set_shape(struct jag_exec *x, int32_t i, int32_t ndim, const int64_t *shape);

/* The attribute at index a (JAG_ATTR_<OP>_<NAME>). */
#define JAG_ATTR(x, a) (&(x)->node->attrs[(a)])

/* Evaluate a DIMS attribute with the bound dims into dims[0..n) (E_ATTR / E_SHAPE). */
enum jag_status jag_exec_dims(struct jag_exec *x, int32_t attr, int64_t *dims, int32_t *n);

/* Normalise a numpy-style axis in [-rank, rank) to [0, rank); E_ATTR naming the attr otherwise. */
enum jag_status jag_exec_axis(struct jag_exec *x, const char *attr_name, int64_t axis, int32_t rank, int32_t *out);

/* "[2,3]" into buf. */
const char *jag_shape_str(const int64_t *shape, int32_t ndim, char *buf, size_t size);

/* numpy broadcasting of n shapes into out (E_SHAPE naming the inputs otherwise). */
enum jag_status jag_exec_broadcast(struct jag_exec *x, int32_t n, struct jag_value *const *vals, int32_t *ndim, int64_t *shape);

/* Element strides (0 on broadcast axes) of v viewed in an output of rank ndim / shape. */
void jag_broadcast_strides(const struct jag_value *v, int32_t ndim, const int64_t *shape, int64_t *strides);

/* Element count of a shape (no overflow check: shapes were checked in prepare). */
int64_t jag_numel(const int64_t *shape, int32_t ndim);

/* Shared shape rules (shapes.c), used by the prepare functions of many ops:
 * same (output = input 0), same_axis (plus the "axis" attr at attr index 0 in range),
 * broadcast (all inputs broadcast), reduce ("axes" at 0, "keepdims" at 1; stores the axis
 * mask in node->params[0..ndim) as 0/1). */
enum jag_status jag_rule_same(struct jag_exec *x);
enum jag_status jag_rule_same_axis(struct jag_exec *x);
enum jag_status jag_rule_broadcast(struct jag_exec *x);
enum jag_status jag_rule_reduce(struct jag_exec *x);

/* The GEMM core of k_linalg.c, shared with k_conv.c:
 *   C[i, j] = sum_k A[i, k] * B[k, j]   for i < M, j < N (C is overwritten; K == 0 gives 0)
 * with A[i, k] at a[i*rsa + k*csa], B[k, j] at b[k*rsb + j*csb], C[i, j] at c[i*ldc + j].
 * jag_gemm_scratch_*() gives the scratch bytes the same call needs (any alignment). */
size_t jag_gemm_scratch_f32(int64_t M, int64_t N, int64_t K, int64_t rsa, int64_t csa, int64_t rsb, int64_t csb);
size_t jag_gemm_scratch_f64(int64_t M, int64_t N, int64_t K, int64_t rsa, int64_t csa, int64_t rsb, int64_t csb);
void jag_gemm_f32(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa, const float *b,
                  int64_t rsb, int64_t csb, float *c, int64_t ldc, void *scratch);
void jag_gemm_f64(int64_t M, int64_t N, int64_t K, const double *a, int64_t rsa, int64_t csa, const double *b,
                  int64_t rsb, int64_t csb, double *c, int64_t ldc, void *scratch);

/* ---------------------------------------------------------------- execution (exec.c) */

/* Run one op on given values (tests): prepares with the given attrs (NULL: every attr at
 * its default; the caller owns attrs), allocates the output with malloc (caller frees
 * out->data), evaluates. Errors are written to err. */
enum jag_status jag_op_run(enum jag_op op, struct jag_attr *attrs, int32_t n_in, struct jag_value **in,
                           struct jag_value *out, struct jag_error *err);

/* Fill attrs[0..n_attrs) of op from their defaults (tests); E_ATTR if one is required. */
enum jag_status jag_op_default_attrs(enum jag_op op, struct jag_attr *attrs);

/* Threefry-2x32-20 (spec/README.md §11): (c0, c1) counter, (k0, k1) key -> (y0, y1). */
void jag_threefry2x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t *y0, uint32_t *y1);

#endif /* JAG_INTERNAL_H */

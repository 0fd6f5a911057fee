/* exec.c — binding inputs, prepare (dims binding, shape inference, memory plan) and run.
 *
 * Follows spec/README.md §3 "Execution" and §5 "Binding", as python/jag/interpret.py does:
 * bind the symbolic dims from the input shapes, run every node's shape rule on concrete
 * shapes, check the declared output shapes, then run the kernels. All checks and all
 * allocation happen in prepare (tflite-micro's prepare/eval split); jag_model_run then
 * only evaluates. Intermediates share one arena, planned from liveness: a value's bytes
 * are reused once the last node reading it has run. */
#include "jag_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JAG_ALIGN 64

/* ---------------------------------------------------------------- errors */

enum jag_status jag_exec_fail(struct jag_exec *x, enum jag_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jag_model_vfail(x->model, status, x->node ? x->node->index : -1, fmt, ap);
    va_end(ap);
    return status;
}

enum jag_status jag_exec_set_shape(struct jag_exec *x, int32_t i, int32_t ndim, const int64_t *shape)
{
    struct jag_value *v = x->out[i];
    if (ndim < 0 || ndim > JAG_MAX_DIMS)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "output %d has rank %d; the C runtime supports at most %d", (int)i,
                             (int)ndim, JAG_MAX_DIMS);
    /* spec §5: the product of the non-zero dims must fit in int64 (so [2^40, 2^40, 0] is
     * E_SHAPE too, as numpy cannot hold it); a zero dim makes the element count 0. */
    int64_t n = 1;
    bool overflow = false, empty = false;
    for (int32_t k = 0; k < ndim; k++) {
        if (shape[k] < 0) {
            char buf[256];
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "output %d would have a negative dim: %s", (int)i,
                                 jag_shape_str(shape, ndim, buf, sizeof buf));
        }
        if (shape[k] == 0) empty = true;
        else if (!jag_mul_i64(n, shape[k], &n)) overflow = true;
    }
    if (empty && !overflow) n = 0;
    int64_t bytes = 0;
    if (overflow || !jag_mul_i64(n, (int64_t)jag_dtype_size(v->dtype), &bytes) || (uint64_t)bytes > (uint64_t)SIZE_MAX) {
        char buf[256];
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "output %d shape %s has more elements than int64 can count", (int)i,
                             jag_shape_str(shape, ndim, buf, sizeof buf));
    }
    v->ndim = ndim;
    for (int32_t k = 0; k < ndim; k++) v->shape[k] = shape[k];
    v->numel = n;
    v->nbytes = (size_t)bytes;
    return JAG_STATUS_OK;
}

static struct jag_dim_env model_env(const struct jag_model *m)
{
    struct jag_dim_env env = {m->n_dims, (const char *const *)m->dim_names, m->dim_values};
    return env;
}

enum jag_status jag_exec_dims(struct jag_exec *x, int32_t attr, int64_t *dims, int32_t *n)
{
    const struct jag_attr *a = &x->node->attrs[attr];
    const char *name = x->def->attrs[attr].name;
    if (a->n > JAG_MAX_DIMS)
        return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "attr '%s' has %d dims; the C runtime supports at most %d", name,
                             (int)a->n, JAG_MAX_DIMS);
    struct jag_dim_env env = model_env(x->model);
    for (int32_t k = 0; k < a->n; k++) {
        if (a->exprs && a->exprs[k]) {
            char why[256];
            if (!jag_dim_eval(a->exprs[k], &env, &dims[k], why, sizeof why))
                return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr '%s': dim '%s': %s", name, a->exprs[k], why);
        } else {
            dims[k] = a->ints[k];
        }
    }
    *n = a->n;
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- dtype inference */

enum jag_status jag_infer_dtypes(struct jag_model *m, int32_t node_index, enum jag_op op, const struct jag_attr *attrs,
                                 int32_t n_in, const enum jag_dtype *in, enum jag_dtype *out)
{
    const struct jag_op_def *def = &JAG_OP_DEFS[op];
    int32_t bound[8];
    int32_t bound_by[8];
    for (int32_t t = 0; t < 8; t++) bound[t] = -1, bound_by[t] = -1;
    for (int32_t i = 0; i < n_in; i++) {
        const struct jag_port_def *p = &def->inputs[i < def->n_inputs ? i : def->n_inputs - 1];
        if (p->type_var >= 0) {
            uint32_t mask = def->type_masks[p->type_var];
            if (!(mask & JAG_DTYPE_BIT(in[i]))) {
                char allowed[128] = "";
                size_t used = 0;
                for (int32_t d = 0; d < JAG_DTYPE_COUNT; d++)
                    if (mask & JAG_DTYPE_BIT(d))
                        used += (size_t)snprintf(allowed + used, used < sizeof allowed ? sizeof allowed - used : 0,
                                                 "%s%s", used ? ", " : "", JAG_DTYPE_DEFS[d].name);
                return jag_model_fail(m, JAG_STATUS_E_DTYPE, node_index,
                                      "input %d (%s) has dtype %s; expected one of %s", (int)i, p->name,
                                      JAG_DTYPE_DEFS[in[i]].name, allowed);
            }
            if (bound[p->type_var] >= 0 && bound[p->type_var] != (int32_t)in[i]) {
                int32_t j = bound_by[p->type_var];
                return jag_model_fail(m, JAG_STATUS_E_DTYPE, node_index,
                                      "input %d (%s) has dtype %s; expected %s (the dtype of input %d, %s)", (int)i,
                                      p->name, JAG_DTYPE_DEFS[in[i]].name, JAG_DTYPE_DEFS[bound[p->type_var]].name,
                                      (int)j, def->inputs[j < def->n_inputs ? j : def->n_inputs - 1].name);
            }
            if (bound[p->type_var] < 0) bound[p->type_var] = (int32_t)in[i], bound_by[p->type_var] = i;
        } else if ((int32_t)in[i] != p->fixed_dtype) {
            return jag_model_fail(m, JAG_STATUS_E_DTYPE, node_index, "input %d (%s) has dtype %s; expected %s", (int)i,
                                  p->name, JAG_DTYPE_DEFS[in[i]].name, JAG_DTYPE_DEFS[p->fixed_dtype].name);
        }
    }
    for (int32_t k = 0; k < def->n_outputs; k++) {
        const struct jag_port_def *p = &def->outputs[k];
        if (p->attr_dtype >= 0) out[k] = (enum jag_dtype)attrs[p->attr_dtype].i;
        else if (p->type_var >= 0) {
            if (bound[p->type_var] < 0)
                return jag_model_fail(m, JAG_STATUS_E_INTERNAL, node_index, "output %d type is unbound", (int)k);
            out[k] = (enum jag_dtype)bound[p->type_var];
        } else out[k] = (enum jag_dtype)p->fixed_dtype;
    }
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- single-op runner (tests) */

enum jag_status jag_op_default_attrs(enum jag_op op, struct jag_attr *attrs)
{
    const struct jag_op_def *def = &JAG_OP_DEFS[op];
    for (int32_t k = 0; k < def->n_attrs; k++) {
        memset(&attrs[k], 0, sizeof attrs[k]);
        if (def->attrs[k].required) {
            attrs[k].is_null = true;
            continue;
        }
        struct jag_json *j = NULL;
        char why[256];
        enum jag_status s = jag_json_parse(def->attrs[k].default_json, strlen(def->attrs[k].default_json), 8, &j, why,
                                           sizeof why);
        if (s != JAG_STATUS_OK) return s;
        s = jag_attr_parse(&def->attrs[k], j, &attrs[k], why, sizeof why);
        jag_json_free(j);
        if (s != JAG_STATUS_OK) return s;
    }
    return JAG_STATUS_OK;
}

enum jag_status jag_op_run(enum jag_op op, struct jag_attr *attrs, int32_t n_in, struct jag_value **in,
                           struct jag_value *out, struct jag_error *err)
{
    const struct jag_op_def *def = &JAG_OP_DEFS[op];
    struct jag_model m;
    struct jag_node node;
    struct jag_attr defaults[16];
    memset(&m, 0, sizeof m);
    memset(&node, 0, sizeof node);
    node.op = op;
    node.index = 0;
    node.n_inputs = n_in;
    node.n_outputs = 1;
    if (!attrs) {
        enum jag_status s = jag_op_default_attrs(op, defaults);
        if (s != JAG_STATUS_OK) return s;
        attrs = defaults;
    }
    node.attrs = attrs;
    enum jag_dtype in_dt[64], out_dt[1];
    enum jag_status s = JAG_STATUS_OK;
    if (n_in > 64 || n_in < def->n_required || (n_in > def->n_inputs && !(def->n_inputs && def->inputs[def->n_inputs - 1].variadic)))
        s = jag_model_fail(&m, JAG_STATUS_E_ARITY, 0, "got %d inputs", (int)n_in);
    for (int32_t i = 0; s == JAG_STATUS_OK && i < n_in; i++) in_dt[i] = in[i]->dtype;
    if (s == JAG_STATUS_OK) s = jag_infer_dtypes(&m, 0, op, attrs, n_in, in_dt, out_dt);
    struct jag_exec x = {&m, &node, def, n_in, in, 1, &out, NULL};
    if (s == JAG_STATUS_OK) {
        memset(out, 0, sizeof *out);
        out->dtype = out_dt[0];
        s = JAG_KERNELS[op].prepare(&x);
    }
    void *scratch = NULL;
    if (s == JAG_STATUS_OK) {
        out->data = malloc(out->nbytes ? out->nbytes : 1);
        scratch = malloc(node.scratch_bytes ? node.scratch_bytes : 1);
        if (!out->data || !scratch) {
            free(out->data);
            out->data = NULL;
            s = jag_model_fail(&m, JAG_STATUS_OUT_OF_MEMORY, 0, "out of memory");
        }
    }
    if (s == JAG_STATUS_OK) {
        x.scratch = scratch;
        s = JAG_KERNELS[op].eval(&x);
        if (s != JAG_STATUS_OK) {
            free(out->data);
            out->data = NULL;
        }
    }
    free(scratch);
    if (attrs == defaults)
        for (int32_t k = 0; k < def->n_attrs; k++) jag_attr_clear(&defaults[k]);
    if (err) *err = m.err;
    return s;
}

/* ---------------------------------------------------------------- binding */

enum jag_status jag_model_set_input(struct jag_model *m, int32_t index, enum jag_dtype dtype, int32_t ndim,
                                    const int64_t *shape, const void *data, enum jag_bind bind)
{
    m->err.status = JAG_STATUS_OK;
    m->err.node = -1;
    m->err.message[0] = '\0';
    if (index < 0 || index >= m->n_inputs)
        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input index %d is out of range: the graph has %d inputs",
                              (int)index, (int)m->n_inputs);
    struct jag_io *io = &m->inputs[index];
    struct jag_value *v = &m->values[io->value];
    if ((int)dtype < 0 || dtype >= JAG_DTYPE_COUNT || dtype != io->dtype)
        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': expected dtype %s, got %s", v->name,
                              JAG_DTYPE_DEFS[io->dtype].name, jag_dtype_name(dtype) ? jag_dtype_name(dtype) : "invalid");
    if (ndim != io->ndim)
        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': expected rank %d, got rank %d", v->name,
                              (int)io->ndim, (int)ndim);
    int64_t n = 1, bytes;
    bool empty = false;
    for (int32_t k = 0; k < ndim; k++) {
        if (shape[k] == 0) { empty = true; continue; }   /* zero dims aside, the count must fit (spec §5) */
        if (shape[k] < 0 || !jag_mul_i64(n, shape[k], &n))
            return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': invalid dim %lld at axis %d", v->name,
                                  (long long)shape[k], (int)k);
        if (io->shape[k] >= 0 && shape[k] != io->shape[k]) {
            char a[256], b[256];
            return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': expected shape %s, got %s", v->name,
                                  jag_shape_str(io->shape, io->ndim, a, sizeof a), jag_shape_str(shape, ndim, b, sizeof b));
        }
    }
    if (empty) n = 0;
    if (!jag_mul_i64(n, (int64_t)jag_dtype_size(dtype), &bytes) || (uint64_t)bytes > (uint64_t)SIZE_MAX)
        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': too many elements", v->name);
    if (n > 0 && !data) return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': data is NULL", v->name);
    if (dtype == JAG_DTYPE_BOOL) {
        const uint8_t *b = data;
        for (int64_t i = 0; i < n; i++)
            if (b[i] > 1)
                return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': bool element %lld holds byte %d (not 0 or 1)",
                                      v->name, (long long)i, (int)b[i]);
    }
    /* copy before releasing the old binding: `data` may be that very buffer (an output
     * that is this input, fed back by a loop) */
    void *copy = NULL;
    if (bind == JAG_BIND_COPY) {
        copy = malloc(bytes ? (size_t)bytes : 1);
        if (!copy) return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory copying input '%s'", v->name);
        if (bytes) memcpy(copy, data, (size_t)bytes);
    }
    if (io->owned) free(io->bound_data);
    io->owned = bind == JAG_BIND_COPY;
    io->bound_data = bind == JAG_BIND_COPY ? copy : (void *)(uintptr_t)data;
    io->bound = false;
    for (int32_t k = 0; k < ndim; k++) {
        if (!m->prepared || io->bound_shape[k] != shape[k]) m->prepared = false;
        io->bound_shape[k] = shape[k];
    }
    io->bound = true;
    io->bound_nbytes = (size_t)bytes;
    m->have_results = false;
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- prepare */

static int32_t find_dim(const struct jag_model *m, const char *name)
{
    for (int32_t d = 0; d < m->n_dims; d++)
        if (strcmp(m->dim_names[d], name) == 0) return d;
    return -1;
}

static enum jag_status bind_dims(struct jag_model *m)
{
    for (int32_t d = 0; d < m->n_dims; d++) m->dim_values[d] = -1;
    /* 1. bare names bind; 2. every other declared dim must evaluate to the actual size. */
    for (int32_t pass = 0; pass < 2; pass++) {
        for (int32_t i = 0; i < m->n_inputs; i++) {
            struct jag_io *io = &m->inputs[i];
            const char *vname = m->values[io->value].name;
            for (int32_t k = 0; k < io->ndim; k++) {
                if (!io->exprs[k]) continue;
                char name[257];
                bool bare = jag_dim_bare_name(io->exprs[k], name, sizeof name);
                int64_t actual = io->bound_shape[k];
                if (pass == 0 && bare) {
                    int32_t d = find_dim(m, name);
                    if (d < 0) return jag_model_fail(m, JAG_STATUS_E_INTERNAL, -1, "dim '%s' not registered", name);
                    if (m->dim_values[d] >= 0 && m->dim_values[d] != actual)
                        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1,
                                              "input '%s': axis %d binds dim '%s' to %lld, but it is already bound to %lld",
                                              vname, (int)k, name, (long long)actual, (long long)m->dim_values[d]);
                    if (m->dim_max[d] >= 0 && actual > m->dim_max[d])
                        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1,
                                              "input '%s': axis %d binds dim '%s' to %lld, above its max %lld", vname,
                                              (int)k, name, (long long)actual, (long long)m->dim_max[d]);
                    m->dim_values[d] = actual;
                } else if (pass == 1 && !bare) {
                    struct jag_dim_env env = model_env(m);
                    int64_t want;
                    char why[256];
                    if (!jag_dim_eval(io->exprs[k], &env, &want, why, sizeof why))
                        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s': dim '%s': %s", vname, io->exprs[k], why);
                    if (want != actual)
                        return jag_model_fail(m, JAG_STATUS_E_INPUT, -1,
                                              "input '%s': axis %d has size %lld; expected %s = %lld", vname, (int)k,
                                              (long long)actual, io->exprs[k], (long long)want);
                }
            }
        }
    }
    return JAG_STATUS_OK;
}

struct block {
    int64_t offset, size;
    int32_t end;                /* last node index during which the block is live */
};

/* First-fit placement of a block live during [now, end], given the live blocks. */
static int64_t place(struct block *live, int32_t *n_live, int64_t size, int32_t now, int32_t end, int64_t *peak)
{
    /* drop blocks whose life ended before `now` */
    int32_t w = 0;
    for (int32_t r = 0; r < *n_live; r++)
        if (live[r].end >= now) live[w++] = live[r];
    *n_live = w;
    int64_t aligned = (size + JAG_ALIGN - 1) / JAG_ALIGN * JAG_ALIGN;
    int64_t offset = 0;
    /* live is sorted by offset: find the first gap that fits */
    int32_t pos = 0;
    for (; pos < *n_live; pos++) {
        if (live[pos].offset - offset >= aligned) break;
        int64_t e = live[pos].offset + (live[pos].size + JAG_ALIGN - 1) / JAG_ALIGN * JAG_ALIGN;
        if (e > offset) offset = e;
    }
    memmove(&live[pos + 1], &live[pos], (size_t)(*n_live - pos) * sizeof *live);
    live[pos].offset = offset;
    live[pos].size = size;
    live[pos].end = end;
    (*n_live)++;
    if (offset + aligned > *peak) *peak = offset + aligned;
    return offset;
}

static enum jag_status plan_memory(struct jag_model *m)
{
    struct block *live = malloc(((size_t)m->n_values + (size_t)m->n_nodes + 1) * sizeof *live);
    if (!live) return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory planning");
    int32_t n_live = 0;
    int64_t peak = 0, total = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        struct jag_node *nd = &m->nodes[i];
        for (int32_t k = 0; k < nd->n_outputs; k++) {
            struct jag_value *v = &m->values[nd->outputs[k]];
            int32_t end = v->is_output ? m->n_nodes : (v->last_use > i ? v->last_use : i);
            v->arena_offset = place(live, &n_live, (int64_t)v->nbytes, i, end, &peak);
            total += (int64_t)v->nbytes;
        }
        nd->scratch_offset = place(live, &n_live, (int64_t)nd->scratch_bytes, i, i, &peak);
    }
    free(live);
    if ((size_t)peak > m->arena_bytes || !m->arena) {
        free(m->arena);
        m->arena = malloc(peak ? (size_t)peak : JAG_ALIGN);
        m->arena_bytes = m->arena ? (size_t)peak : 0;
        if (!m->arena) return jag_model_fail(m, JAG_STATUS_OUT_OF_MEMORY, -1, "out of memory: arena of %lld bytes", (long long)peak);
    }
    m->plan_peak = peak;
    m->total_bytes = total;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        struct jag_node *nd = &m->nodes[i];
        for (int32_t k = 0; k < nd->n_outputs; k++) {
            struct jag_value *v = &m->values[nd->outputs[k]];
            v->data = m->arena + v->arena_offset;
        }
    }
    return JAG_STATUS_OK;
}

enum jag_status jag_model_prepare_shapes(struct jag_model *m)
{
    m->prepared = false;
    enum jag_status s = bind_dims(m);
    if (s != JAG_STATUS_OK) return s;
    for (int32_t i = 0; i < m->n_inputs; i++) {
        struct jag_io *io = &m->inputs[i];
        struct jag_value *v = &m->values[io->value];
        v->ndim = io->ndim;
        memcpy(v->shape, io->bound_shape, sizeof v->shape);
        v->numel = jag_numel(v->shape, v->ndim);
        v->nbytes = io->bound_nbytes;
    }
    struct jag_value *ins[256];
    for (int32_t i = 0; i < m->n_nodes; i++) {
        struct jag_node *nd = &m->nodes[i];
        struct jag_value **in = nd->n_inputs <= 256 ? ins : m->big_inputs;
        for (int32_t k = 0; k < nd->n_inputs; k++) in[k] = &m->values[nd->inputs[k]];
        struct jag_value *outs[4];
        for (int32_t k = 0; k < nd->n_outputs && k < 4; k++) outs[k] = &m->values[nd->outputs[k]];
        struct jag_exec x = {m, nd, &JAG_OP_DEFS[nd->op], nd->n_inputs, in, nd->n_outputs, outs, NULL};
        nd->scratch_bytes = 0;
        s = JAG_KERNELS[nd->op].prepare(&x);
        if (s != JAG_STATUS_OK) return s;
    }
    /* declared output shapes, evaluated with the bound dims (E_SHAPE) */
    struct jag_dim_env env = model_env(m);
    for (int32_t i = 0; i < m->n_outputs; i++) {
        struct jag_io *io = &m->outputs[i];
        struct jag_value *v = &m->values[io->value];
        bool ok = v->ndim == io->ndim;
        for (int32_t k = 0; ok && k < io->ndim; k++) {
            int64_t want = io->shape[k];
            char why[256];
            if (io->exprs[k] && !jag_dim_eval(io->exprs[k], &env, &want, why, sizeof why))
                return jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "output '%s': dim '%s': %s", v->name, io->exprs[k], why);
            ok = want == v->shape[k];
        }
        if (!ok) {
            char a[256];
            return jag_model_fail(m, JAG_STATUS_E_SHAPE, -1, "output '%s' has shape %s; it does not match its declared shape",
                                  v->name, jag_shape_str(v->shape, v->ndim, a, sizeof a));
        }
    }
    s = plan_memory(m);
    if (s != JAG_STATUS_OK) return s;
    m->prepared = true;
    return JAG_STATUS_OK;
}

/* ---------------------------------------------------------------- run */

enum jag_status jag_model_run(struct jag_model *m)
{
    m->err.status = JAG_STATUS_OK;
    m->err.node = -1;
    m->err.message[0] = '\0';
    m->have_results = false;
    for (int32_t i = 0; i < m->n_inputs; i++)
        if (!m->inputs[i].bound)
            return jag_model_fail(m, JAG_STATUS_E_INPUT, -1, "input '%s' is not bound (jag_model_set_input)",
                                  m->values[m->inputs[i].value].name);
    if (!m->prepared) {
        enum jag_status s = jag_model_prepare_shapes(m);
        if (s != JAG_STATUS_OK) return s;
    }
    for (int32_t i = 0; i < m->n_inputs; i++) m->values[m->inputs[i].value].data = m->inputs[i].bound_data;
    struct jag_value *ins[256];
    for (int32_t i = 0; i < m->n_nodes; i++) {
        struct jag_node *nd = &m->nodes[i];
        struct jag_value **in = ins;
        if (nd->n_inputs > 256) in = m->big_inputs;  /* preallocated at load for wide concats */
        for (int32_t k = 0; k < nd->n_inputs; k++) in[k] = &m->values[nd->inputs[k]];
        struct jag_value *outs[4];
        for (int32_t k = 0; k < nd->n_outputs && k < 4; k++) outs[k] = &m->values[nd->outputs[k]];
        struct jag_exec x = {m, nd, &JAG_OP_DEFS[nd->op], nd->n_inputs, in, nd->n_outputs, outs,
                             m->arena + nd->scratch_offset};
        enum jag_status s = JAG_KERNELS[nd->op].eval(&x);
        if (s != JAG_STATUS_OK) return s;
    }
    m->have_results = true;
    return JAG_STATUS_OK;
}

bool jag_model_get_output(const struct jag_model *m, int32_t index, struct jag_tensor *out)
{
    if (!m || index < 0 || index >= m->n_outputs || !m->have_results) return false;
    const struct jag_value *v = &m->values[m->outputs[index].value];
    memset(out, 0, sizeof *out);
    out->dtype = v->dtype;
    out->ndim = v->ndim;
    memcpy(out->shape, v->shape, (size_t)v->ndim * sizeof v->shape[0]);
    out->data = v->data;
    out->nbytes = v->nbytes;
    return true;
}

bool jag_model_memory(const struct jag_model *m, int64_t *arena_bytes, int64_t *total_bytes)
{
    if (!m || !m->prepared) return false;
    if (arena_bytes) *arena_bytes = m->plan_peak;
    if (total_bytes) *total_bytes = m->total_bytes;
    return true;
}

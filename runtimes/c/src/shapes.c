/* shapes.c — the shared shape rules of spec/ops.json "shape_rules" (same, same_axis,
 * broadcast, reduce) and the helpers every prepare function uses. Semantics and messages
 * follow python/jag/ops/shapes.py (numpy broadcasting, numpy-style axes). */
#include "jag_internal.h"

#include <stdio.h>
#include <string.h>

int64_t jag_numel(const int64_t *shape, int32_t ndim)
{
    int64_t n = 1;
    for (int32_t i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

const char *jag_shape_str(const int64_t *shape, int32_t ndim, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "[");
    for (int32_t i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

enum jag_status jag_exec_axis(struct jag_exec *x, const char *attr_name, int64_t axis, int32_t rank, int32_t *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr '%s': axis %lld is out of range for rank %d", attr_name,
                             (long long)axis, (int)rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return JAG_STATUS_OK;
}

enum jag_status jag_exec_broadcast(struct jag_exec *x, int32_t n, struct jag_value *const *vals, int32_t *ndim,
                                   int64_t *shape)
{
    int32_t rank = 0;
    for (int32_t k = 0; k < n; k++)
        if (vals[k]->ndim > rank) rank = vals[k]->ndim;
    for (int32_t i = 0; i < rank; i++) {
        int64_t d = 1;
        for (int32_t k = 0; k < n; k++) {
            int32_t j = i - (rank - vals[k]->ndim);
            if (j < 0) continue;
            int64_t e = vals[k]->shape[j];
            if (e == d || e == 1) continue;
            if (d == 1) { d = e; continue; }
            char buf[4][160];
            char all[700];
            size_t used = 0;
            all[0] = '\0';
            for (int32_t q = 0; q < n && q < 4; q++)
                used += (size_t)snprintf(all + used, used < sizeof all ? sizeof all - used : 0, "%s%s", q ? " and " : "",
                                         jag_shape_str(vals[q]->shape, vals[q]->ndim, buf[q], sizeof buf[q]));
            return jag_exec_fail(x, JAG_STATUS_E_SHAPE, "shapes %s do not broadcast at dim %d: cannot broadcast dim %lld with %lld",
                                 all, (int)(i - rank), (long long)d, (long long)e);
        }
        shape[i] = d;
    }
    *ndim = rank;
    return JAG_STATUS_OK;
}

void jag_broadcast_strides(const struct jag_value *v, int32_t ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int32_t i = ndim - 1; i >= 0; i--) {
        int32_t j = i - (ndim - v->ndim);
        if (j < 0 || v->shape[j] == 1 || shape[i] == 1) {
            strides[i] = 0;
            if (j >= 0) s *= v->shape[j];
        } else {
            strides[i] = s;
            s *= v->shape[j];
        }
    }
}

enum jag_status jag_rule_same(struct jag_exec *x)
{
    return jag_exec_set_shape(x, 0, x->in[0]->ndim, x->in[0]->shape);
}

enum jag_status jag_rule_same_axis(struct jag_exec *x)
{
    int32_t axis;
    enum jag_status s = jag_exec_axis(x, x->def->attrs[0].name, x->node->attrs[0].i, x->in[0]->ndim, &axis);
    if (s != JAG_STATUS_OK) return s;
    return jag_exec_set_shape(x, 0, x->in[0]->ndim, x->in[0]->shape);
}

enum jag_status jag_rule_broadcast(struct jag_exec *x)
{
    int32_t ndim;
    int64_t shape[JAG_MAX_DIMS];
    enum jag_status s = jag_exec_broadcast(x, x->n_in, x->in, &ndim, shape);
    if (s != JAG_STATUS_OK) return s;
    return jag_exec_set_shape(x, 0, ndim, shape);
}

enum jag_status jag_rule_reduce(struct jag_exec *x)
{
    const struct jag_value *in = x->in[0];
    const struct jag_attr *axes = &x->node->attrs[0];
    bool keepdims = x->node->attrs[1].i != 0;
    int64_t *mask = x->node->params;
    for (int32_t i = 0; i < in->ndim; i++) mask[i] = axes->is_null ? 1 : 0;
    if (!axes->is_null) {
        for (int32_t k = 0; k < axes->n; k++) {
            int32_t a = 0;
            enum jag_status s = jag_exec_axis(x, "axes", axes->ints[k], in->ndim, &a);
            if (s != JAG_STATUS_OK) return s;
            if (mask[a]) return jag_exec_fail(x, JAG_STATUS_E_ATTR, "attr 'axes': axis %d appears twice", (int)a);
            mask[a] = 1;
        }
    }
    int64_t shape[JAG_MAX_DIMS];
    int32_t n = 0;
    for (int32_t i = 0; i < in->ndim; i++) {
        if (!mask[i]) shape[n++] = in->shape[i];
        else if (keepdims) shape[n++] = 1;
    }
    return jag_exec_set_shape(x, 0, n, shape);
}

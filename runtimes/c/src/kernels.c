/* kernels.c — the kernel table: one {prepare, eval} pair per op of spec/ops.json.
 *
 * Built from the generated X-macro JAG_OPS_X (gen_ops.h), so an op of the spec without a
 * jag_prepare_<op> / jag_eval_<op> fails to compile or link, and an op the spec does not
 * list cannot be registered. */
#include "jag_internal.h"

#define JAG_KERNEL_ENTRY_(name, NAME) [JAG_OP_##NAME] = {jag_prepare_##name, jag_eval_##name},
const struct jag_kernel JAG_KERNELS[JAG_OP_COUNT] = {
    JAG_OPS_X(JAG_KERNEL_ENTRY_)
};
#undef JAG_KERNEL_ENTRY_

/* The generated name table and the enum must agree in size. */
typedef char jag_check_op_table_size_[(sizeof JAG_KERNELS / sizeof JAG_KERNELS[0] == JAG_OP_COUNT) ? 1 : -1];
typedef char jag_check_dtype_count_[(JAG_SPEC_DTYPE_COUNT == JAG_DTYPE_COUNT) ? 1 : -1];

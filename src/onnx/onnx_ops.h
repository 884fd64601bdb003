/*
 * onnx_ops.h — internal to src/onnx's evaluator: the op table
 * (onnx_ops.c) that the driver (onnx_eval.c) walks a graph with. One row
 * per ONNX op type: accepted input/output counts, a shape function (which
 * also checks the node: ranks, broadcasting, element counts, dtypes), the
 * folding kernel run when every input is constant (onnx_fold.h; NULL: the
 * op is never folded), and flags the shape function reads.
 *
 * Why it exists: the table and its shape functions are most of the
 * evaluator; the driver (budgets, inputs, dead values) is another concern.
 */
#ifndef BB_ONNX_OPS_H
#define BB_ONNX_OPS_H

#include "onnx/onnx_params.h"

enum {
    F_FLOAT = 1,    /* inputs must be float */
    F_INT = 2,      /* inputs must be int64/bool */
    F_BOOL = 4,     /* output is bool (int64) */
    F_MIXED = 8,    /* inputs may differ in dtype (Pow) */
    F_PARAMS = 16,  /* check the node's scalar parameters (bb_ox_params_get) */
    F_TYPE_LAST = 32, /* the last input is read for its type only (CastLike): folded without its data */
};
#define BB_OX_VAR (1 << 30) /* max_in / max_out: any number */

typedef int (*bb_ox_shape_fn)(bb_ox_ctx *c);
typedef int (*bb_ox_fold_fn)(bb_ox_ctx *c);

typedef struct {
    const char *op;
    int min_in, max_in, max_out;
    bb_ox_shape_fn shape;
    bb_ox_fold_fn fold;     /* NULL: shape only */
    int flags;
} bb_ox_op;

/* The row of op_type (the default domain's), or NULL. */
const bb_ox_op *bb_ox_find_op(const char *op_type);

#endif

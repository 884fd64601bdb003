/*
 * onnx_params.h — internal to src/onnx's evaluator (onnx_eval.c, onnx_ops.c,
 * onnx_fold.c, onnx_params.c): the per-node context they pass around, the
 * checked readers of attributes and constant inputs, and small shape helpers
 * (setting an output's shape, strides).
 *
 * Why it exists: the evaluator, the constant folder and the public
 * parameter helpers all read the same attributes from the same untrusted
 * nodes; one set of readers checks each attribute's type and each constant
 * input's type, rank and length once, with errors that name the node.
 */
#ifndef BB_ONNX_PARAMS_H
#define BB_ONNX_PARAMS_H

#include <stdint.h>

#include "onnx/onnx_eval.h"

typedef struct {
    const bb_ox_model *m;
    const bb_ox_node *nd;
    const bb_ox_val *v;    /* every value (read) */
    bb_ox_val *w;          /* the same array for writing outputs; NULL in the helpers */
    bb_err *err;
    int flags;             /* the evaluator's per-op flags (onnx_ops.h) */
    /* A strided view of input 0 (Transpose, Slice, Expand, Split), set by
     * the shape function for the folder: output element at index i reads
     * input element base + sum(i[d] * st[d]). */
    int64_t base;
    int64_t st[BB_OX_MAX_DIMS];
} bb_ox_ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int bb_ox_cerr(const bb_ox_ctx *c, const char *fmt, ...); /* bb_ox_node_err for c's node */

/* Input / output i, or NULL when absent (beyond n_in/n_out or omitted). */
const bb_ox_val *bb_ox_in(const bb_ox_ctx *c, int i);
bb_ox_val *bb_ox_out(const bb_ox_ctx *c, int i);
const char *bb_ox_in_name(const bb_ox_ctx *c, int i);

/* The attribute called name, or NULL. */
const bb_ox_attr *bb_ox_a_find(const bb_ox_ctx *c, const char *name);
/* Attributes, type-checked: 1 present (*out set), 0 absent (*out = dflt),
 * -1 present with another type (err set). */
int bb_ox_a_int(const bb_ox_ctx *c, const char *name, int64_t dflt, int64_t *out);
int bb_ox_a_float(const bb_ox_ctx *c, const char *name, float dflt, float *out);
int bb_ox_a_ints(const bb_ox_ctx *c, const char *name, const int64_t **v, int *n);
int bb_ox_a_str(const bb_ox_ctx *c, const char *name, const char *dflt, const char **out);
/* The bound on a window's kernel, stride, dilation and pads (Conv, the
 * pools, ConvTranspose): larger values are refused as absurd. */
#define BB_OX_WIN_MAX ((int64_t)1 << 24)
/* An ints attribute of exactly `want` values, each in [lo, hi] (absent:
 * `want` times dflt): 1 present, 0 absent, -1 otherwise (err). */
int bb_ox_a_ints_n(const bb_ox_ctx *c, const char *name, int want, int64_t lo, int64_t hi, int64_t dflt,
                   int64_t *out);
/* An int attribute that must lie in [lo, hi]. */
int bb_ox_a_int_in(const bb_ox_ctx *c, const char *name, int64_t dflt, int64_t lo, int64_t hi,
                   int64_t *out);

/* Input i as constant int64 data of at most `max` elements (a scalar or a
 * 1-D tensor): 1 present, 0 absent, -1 not constant / wrong type (err). */
int bb_ox_in_ints(const bb_ox_ctx *c, int i, int64_t max, const int64_t **v, int64_t *n);
/* Input i as a constant one-element tensor read as double: 1, 0, -1 as above. */
int bb_ox_in_scalar(const bb_ox_ctx *c, int i, double *out);

/* axis in [-rank, rank) -> [0, rank); -1 with err otherwise. */
int bb_ox_axis(const bb_ox_ctx *c, int64_t axis, int rank, int64_t *out);

/* Sets output i's dtype and shape, checking rank and size; 0 for an
 * absent output. */
int bb_ox_set(const bb_ox_ctx *c, int i, bb_ox_dtype dt, int ndim, const int64_t *dims);
/* Contiguous strides of v (in elements). */
void bb_ox_strides(const bb_ox_val *v, int64_t st[BB_OX_MAX_DIMS]);
/* Strides reading v broadcast to an output of rank ndim / dims (0 along
 * broadcast axes). */
void bb_ox_bcast_strides(const bb_ox_val *v, int ndim, const int64_t *dims, int64_t st[BB_OX_MAX_DIMS]);
/* "[2,3,4]" into buf (for messages). */
const char *bb_ox_dims_str(const int64_t *dims, int ndim, char *buf, size_t len);

#endif

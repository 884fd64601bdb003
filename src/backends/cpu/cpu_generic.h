/*
 * cpu_generic.h — the helpers the generic-op lowerings share, between
 * cpu_generic.c (data movement, and these helpers) and cpu_generic_math.c
 * (activations, batch norm, binary, matmul, softmax, reduce mean): reading
 * operands as dense fp32 views of their full shapes, packed constants,
 * one-primitive steps and the walk kernel's steps. Private to the CPU
 * backend.
 */
#ifndef BB_CPU_GENERIC_H
#define BB_CPU_GENERIC_H

#include "backends/cpu/cpu_internal.h"

#define CPU_R (BB_MAX_DIMS + 1) /* room for a full shape */

/* A source of a primitive: an activation buffer, or (buf < 0) a constant
 * packed once; md: how the primitive reads it. */
typedef struct {
    int buf;
    dnnl_memory_t mem;
    dnnl_memory_desc_t md;
} cpu_gsrc;

int64_t cpu_numel(int nd, const int64_t *d);
int cpu_same_shape(int nd, const int64_t *a, const int64_t *c);
/* Activation t in any layout with its full shape, fp32. */
int cpu_tensor_f32(bb_backend *b, int t, bb_err *err);
/* Tensor t's shape (a constant's dims, an activation's full shape) with
 * leading 1s up to nd axes; -1 when it has more. */
int cpu_padded_shape(const bb_backend *b, int t, int nd, int64_t *d);
/* Operand t as dense fp32 of dims d (as many elements as t has): a view of
 * an activation, or the constant packed once. */
int cpu_operand(bb_backend *b, const bb_op *op, int t, int nd, const int64_t *d, cpu_gsrc *o, bb_err *err);
/* ... or in the layout want describes over the same bytes (NULL: dense). */
int cpu_operand_as(bb_backend *b, const bb_op *op, int t, int nd, const int64_t *d, const dnnl_memory_desc_t *want,
                   cpu_gsrc *o, bb_err *err);
void cpu_arg_src(bb_backend *b, cpu_step *s, int arg, const cpu_gsrc *o);
int cpu_pd_is_ref(const_dnnl_primitive_desc_t pd);
/* A step running pd from buffer src into a new buffer of md, op's output;
 * destroys pd. */
int cpu_unary_step(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, int src, const dnnl_memory_desc_t *md,
                   int arg_in, int arg_out, bb_err *err);
/* A reorder of buffer `from` into op's output, a new buffer of layout to. */
int cpu_reorder_op(bb_backend *b, const bb_op *op, int from, const dnnl_memory_desc_t *to, bb_err *err);
/* A new walk of the output dims (one source), or NULL (err set). */
cpu_walk *cpu_walk_new(bb_walk_mode mode, int nd, const int64_t *dims, bb_err *err);
/* Source k of a walk: tensor t, whose shape s (padded to w->w.nd axes)
 * broadcasts to w->w.dims: dense strides, 0 on broadcast axes. */
int cpu_walk_source(bb_backend *b, cpu_walk *w, int k, int t, const int64_t *s, bb_err *err);
/* The walk kernel's step writing op's output (dense fp32 of its full
 * shape); takes w. */
int cpu_walk_step(bb_backend *b, const bb_op *op, cpu_walk *w);
/* A new dense fp32 [N, C*m, H, W] buffer of tensor t's [N, C, H, W], each
 * channel repeated m times in a row; the step is labelled `label`. */
int cpu_repeat_channels(bb_backend *b, int t, int64_t m, const char *label, bb_err *err);

/* cpu_generic_math.c */
int cpu_lower_binary_op(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_matmul(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_softmax(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_reduce_mean(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_resize(bb_backend *b, const bb_op *op, bb_err *err);

#endif

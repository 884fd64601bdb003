/*
 * onnx_import_internal.h — the importer's state, shared by its files:
 * onnx_import.c (the driver: read, evaluate twice, map values to graph
 * tensors), onnx_lower.c (one ONNX node -> graph ops) and
 * onnx_patterns.c (several nodes -> one op: GELU, SiLU, MatMul + bias).
 */
#ifndef BB_ONNX_IMPORT_INTERNAL_H
#define BB_ONNX_IMPORT_INTERNAL_H

#include "engine/graph.h"
#include "onnx/onnx_eval.h"
#include "onnx/onnx_model.h"

/* A linear's weight made from a constant (emit_linear in onnx_lower.c),
 * kept so that every linear reading the same constant the same way shares
 * one tensor: an unrolled recurrence multiplies by R^T at every step. */
typedef struct {
    const float *data;
    int64_t k, o;
    int wt_kxo;
    float alpha;
    int tensor;
} ox_linear_w;

typedef struct {
    const bb_ox_model *m;
    const bb_ox_val *v2, *v3; /* every value at batch 2 and at batch 3 */
    bb_graph *g;
    int *tmap;                /* value -> graph tensor, -1 while none */
    int *readers;             /* value -> how many node inputs (and graph outputs) read it */
    int *reader;              /* value -> the node reading it, when readers == 1 */
    char *done;               /* node -> lowered already (by a pattern) */
    bb_err *err;
    ox_linear_w *lin_w;       /* linear weights made so far */
    int n_lin_w, cap_lin_w;
} ox_ctx;

/* onnx_import.c */
/* 0 when every node's op type has a lowering; else -1 with one message
 * listing each unsupported op type with a node of it. */
int ox_check_supported(const bb_ox_model *m, bb_err *err);
/* m checked (ox_check_supported) and flattened (onnx_flatten.h): the model
 * to import, or NULL with err set; m is consumed either way. */
bb_ox_model *ox_checked_flat(bb_ox_model *m, bb_err *err);
/* The graph of a checked model (weights copied from it, not fused). */
bb_graph *ox_import_model(const bb_ox_model *m, bb_err *err);
/* Whether value v is an activation: float, and computed from the input
 * (or a constant that differs with the batch size). */
int ox_is_act(const ox_ctx *c, int v);
/* Whether value v is the same constant at both batch sizes. */
int ox_is_static(const ox_ctx *c, int v);
/* The axis along which value v is a batch-sized constant alike in every
 * item (folded at both batch sizes; no node computes it), or -1. */
int ox_replicated_axis(const ox_ctx *c, int v);
/* The graph tensor of value v: its activation, or a constant made from its
 * data (a parameter for an initializer, a buffer otherwise; float only),
 * or for a replicated one (above) one item expanded to the batch. -1 with
 * c->err set. */
int ox_tensor(ox_ctx *c, const bb_ox_node *nd, int v);
/* A new activation tensor for value v, its batch dim found from the two
 * evaluations; recorded in tmap. -1 with c->err set. */
int ox_act_tensor(ox_ctx *c, const bb_ox_node *nd, int v);
/* A constant tensor of the given shape and data (copied). */
int ox_const_tensor(ox_ctx *c, const char *name, bb_tensor_kind kind, int ndim, const int64_t *dims,
                    const float *data);
/* The op for nd (label: its name) with inputs in[0..n_in-1] and output value out_v. */
bb_op *ox_op(ox_ctx *c, const bb_ox_node *nd, bb_op_type type, const int *in, int n_in, int out_v);
/* onnx_lower.c's helpers for the lowerings in both files: input k's graph
 * tensor (an activation or a constant; ox_in_act: an activation, else an
 * error naming it); whether values a and b have the same shape at both
 * batch sizes; a reshape of tensor x into value out_v's tensor. */
int ox_in_t(ox_ctx *c, const bb_ox_node *nd, int k);
int ox_in_act(ox_ctx *c, const bb_ox_node *nd, int k);
int ox_same_shape(const ox_ctx *c, int a, int b);
bb_op *ox_reshape_to(ox_ctx *c, const bb_ox_node *nd, int x, int out_v);
/* Input k as a static float constant (its value at batch 2), else NULL
 * with an error naming it as `what`; an op of nd's from graph tensor x
 * into graph tensor y (not an ONNX value); a conv's or pool's window. */
const bb_ox_val *ox_in_static(ox_ctx *c, const bb_ox_node *nd, int k, const char *what);
bb_op *ox_op_into(ox_ctx *c, const bb_ox_node *nd, bb_op_type type, int x, int y);
void ox_set_window(bb_op *op, const bb_ox_win *w);
/* A window's sizes fit a bb_op (else -1, "window too large"); a pool's
 * refusals, at either rank (else -1 naming the node). */
int ox_window_fits(ox_ctx *c, const bb_ox_node *nd, const bb_ox_win *w);
int ox_pool_refused(ox_ctx *c, const bb_ox_node *nd, const bb_ox_win *w);
/* onnx_lower_move.c: the data-movement lowerings. */
int ox_lower_reshape(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_transpose(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_concat(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_slice(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_split(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_gather(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_pad(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_expand(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_tile(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_resize(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_scatternd(ox_ctx *c, const bb_ox_node *nd);
/* onnx_lower_deconv.c: ConvTranspose as a conv and an interleave;
 * DepthToSpace and SpaceToDepth as reshape, transpose, reshape. */
int ox_lower_convtranspose(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_depthspace(ox_ctx *c, const bb_ox_node *nd);
/* onnx_lower_window3d.c: Conv (weight wv [M, C/g, kt, kh, kw]), MaxPool and
 * AveragePool on [N,C,T,H,W], as 2-D ones over the frames stacked in height. */
int ox_lower_conv3d(ox_ctx *c, const bb_ox_node *nd, int x, const bb_ox_val *wv);
int ox_lower_pool3d(ox_ctx *c, const bb_ox_node *nd, int x);
/* onnx_lower_lrn.c: LRN as a product, an average pool over channels, a power. */
int ox_lower_lrn(ox_ctx *c, const bb_ox_node *nd);
/* onnx_lower_norm.c: LayerNormalization (over one or several trailing
 * axes), InstanceNormalization, GroupNormalization. */
int ox_lower_layernorm(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_instancenorm(ox_ctx *c, const bb_ox_node *nd);
int ox_lower_groupnorm(ox_ctx *c, const bb_ox_node *nd);
/* x W^T + bias (W [O, K] rows; bias [O] or NULL) into graph tensor y, the
 * weight shared with every linear of the same constant (onnx_lower.c). */
int ox_linear_into(ox_ctx *c, const bb_ox_node *nd, int x, const float *w, int64_t k, int64_t o, const float *bias,
                   int y);
/* onnx_lower_rnn.c: an LSTM or GRU direction as onnx_rnn.c writes one
 * (forward or reverse, batch first, no states): a linear and BB_OP_LSTM or
 * BB_OP_GRU. */
int ox_lower_rnn(ox_ctx *c, const bb_ox_node *nd);
/* onnx_lower_einsum.c */
int ox_lower_einsum(ox_ctx *c, const bb_ox_node *nd);
/* Value v's scalar (a one-element static constant) into *x; -1 when it is not one. */
int ox_scalar(const ox_ctx *c, int v, double *x);
/* A batch norm as a per-channel scale and shift (st[0..ch), st[ch..2ch),
 * malloc'ed; NULL when out of memory) from p = scale, bias, mean, var:
 * s = scale / sqrt(var + eps), t = bias - mean * s, in double. */
float *ox_bn_scale_shift(const float *p[4], int64_t ch, float eps);

/* onnx_lower.c */
/* Whether op_type has a lowering (activation nodes), or is shape
 * arithmetic only (never lowered; an activation reaching it is refused). */
int ox_op_known(const char *op_type);
int ox_lower_node(ox_ctx *c, int i);
/* MatMul node nd (input 1 a 2-D constant) as a linear op into value out_v,
 * with bias (NULL: none). */
int ox_lower_matmul_bias(ox_ctx *c, const bb_ox_node *nd, const bb_ox_val *bias, int out_v);
/* The name of node nd's input k (the node's own name when there is none). */
const char *ox_value_name(const ox_ctx *c, const bb_ox_node *nd, int k);
/* A 1-D parameter of n floats from input k (any shape with n elements). */
int ox_param_1d(ox_ctx *c, const bb_ox_node *nd, int k, int64_t n, bb_tensor_kind kind, const char *what);

/* onnx_patterns.c: lowers node i together with the nodes after it that it
 * heads (GELU written out, x * sigmoid(x), MatMul + bias): 1 when it did,
 * 0 when no pattern starts at i, -1 on error. */
int ox_lower_pattern(ox_ctx *c, int i);

/* onnx_attention.c: rewrites torch's multi-head attention export, once
 * lowered, into the zoo's linear -> attention -> linear; returns how many. */
int ox_fuse_attention(bb_graph *g);

#endif

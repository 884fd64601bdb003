/*
 * onnx_fold.h — internal to src/onnx's evaluator: the constant folder's
 * kernels (onnx_fold.c), one per family of ops, called by onnx_ops.c's op
 * table once a node's output shapes are set and every input is constant.
 *
 * Why it exists: it keeps computing values (onnx_fold.c) apart from
 * inferring shapes (onnx_ops.c); each kernel allocates its outputs' data
 * and reads its parameters through onnx_params.h.
 */
#ifndef BB_ONNX_FOLD_H
#define BB_ONNX_FOLD_H

#include "onnx/onnx_params.h"

/* Allocates output i's data (numel elements of its dtype, zeroed) and
 * marks it const; 0 for an absent output. */
int bb_ox_fold_alloc(const bb_ox_ctx *c, int i);

int bb_ox_fold_copy(bb_ox_ctx *c);      /* output 0 = input 0's data (Reshape, Squeeze, ...) */
int bb_ox_fold_view(bb_ox_ctx *c);      /* output 0 = input 0 through c->base/c->st */
int bb_ox_fold_unary(bb_ox_ctx *c);
int bb_ox_fold_binary(bb_ox_ctx *c);    /* broadcasting, variadic for Sum/Max/Min */
int bb_ox_fold_where(bb_ox_ctx *c);
int bb_ox_fold_cast(bb_ox_ctx *c);
int bb_ox_fold_reduce(bb_ox_ctx *c);
int bb_ox_fold_concat(bb_ox_ctx *c);
int bb_ox_fold_split(bb_ox_ctx *c);
int bb_ox_fold_gather(bb_ox_ctx *c);
int bb_ox_fold_scatternd(bb_ox_ctx *c);
int bb_ox_fold_range(bb_ox_ctx *c);
int bb_ox_fold_tile(bb_ox_ctx *c);
int bb_ox_fold_pad(bb_ox_ctx *c);
int bb_ox_fold_fill(bb_ox_ctx *c);      /* ConstantOfShape */
/* onnx_fold_nn.c: network ops on constants */
int bb_ox_fold_conv(bb_ox_ctx *c);
int bb_ox_fold_matmul(bb_ox_ctx *c);
int bb_ox_fold_gemm(bb_ox_ctx *c);
/* A Conv's, MatMul's, Gemm's or Einsum's multiply-adds (saturating; 0 for others). */
int64_t bb_ox_fold_nn_work(const bb_ox_ctx *c);
/* onnx_einsum.c: Einsum's shape function, its folding kernel, its multiply-adds */
int bb_ox_shape_einsum(bb_ox_ctx *c);
int bb_ox_fold_einsum(bb_ox_ctx *c);
int64_t bb_ox_einsum_work(const bb_ox_ctx *c);
int bb_ox_fold_bn(bb_ox_ctx *c);        /* inference or training mode */
int bb_ox_fold_cumsum(bb_ox_ctx *c);
/* Shape, Size and Constant: these also set their output's dtype and shape
 * (they are onnx_ops.c's shape functions for those ops: their value is
 * known whether or not their input is constant). */
int bb_ox_fold_shape(bb_ox_ctx *c);
int bb_ox_fold_size(bb_ox_ctx *c);
int bb_ox_fold_constant(bb_ox_ctx *c);
/* onnx_deconv.c: ConvTranspose's and DepthToSpace/SpaceToDepth's shape
 * functions (never folded: they run on activations). */
int bb_ox_shape_convtranspose(bb_ox_ctx *c);
int bb_ox_shape_depthspace(bb_ox_ctx *c);
/* Range's shape function (its output's length is its inputs' data, which
 * must be constant). */
int bb_ox_shape_range(bb_ox_ctx *c);

#endif

/*
 * cuda_conv_graph.c — a channels-last convolution together with its
 * epilogue (bias, residual sum, ReLU) as one cuDNN operation graph, run by
 * one execution plan, so that cuDNN's fused kernels write the finished
 * feature map in one pass instead of the legacy convolution followed by
 * cuk_bias_act's pass over the output (cuda_ops.c, run_conv).
 *
 * The graph is conv -> [+ bias] -> [+ residual] -> [ReLU] with fp32
 * intermediates (virtual tensors) and the activation type at the edges.
 * Where cuDNN has no engine for the whole graph, the convolution alone is
 * tried as a graph (the epilogue then runs as before); where that fails
 * too, the legacy path runs. Candidates are cuDNN's heuristic (mode A)
 * list, without FFT, Winograd or reduced-precision-reduction engines (the
 * same accuracy rule as cuda_ops.c's legacy search) and without engines
 * cuDNN compiles at run time (seconds of preparation for every batch
 * size), each timed on the real buffers; the fastest plan is cached per
 * shape and epilogue.
 *
 * Measured on an H200 (bf16 ResNet-50, forward ms, median of 5): 1.58 at
 * batch 32 against 3.60 and 6.78 (two trials in one run) for the legacy
 * conv + epilogue pass, 9.63 against 10.97 at 256; parity of resnet50 and
 * resnet18 with the CPU backend 2.3e-3 and 2.1e-3 (bf16 bound 0.1).
 * cuDNN had a fused engine for 19 of ResNet-50's 26 conv shapes (not for
 * the downsampling convs, bias without ReLU, nor for three of the residual
 * ones); those ran as the conv alone. cuda.cudnn_graph=off turns it off.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"

enum { UID_X = 1, UID_W, UID_Y, UID_B, UID_Z };

/* An [n, c, h, w] tensor stored channels-last. */
static cudnnBackendDescriptor_t dg_tensor(cu_dg *g, int64_t uid, cudnnDataType_t dt, const int64_t *dims,
                                          bool is_virtual)
{
    int64_t strides[4] = {dims[1] * dims[2] * dims[3], 1, dims[3] * dims[1], dims[1]};
    return cu_dg_tensor(g, uid, dt, 4, dims, strides, is_virtual);
}

/* y = mode(x[, b]) with fp32 math. */
static cudnnBackendDescriptor_t dg_pointwise(cu_dg *g, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                                             cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y)
{
    cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t pw = cu_dg_new(g, CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    cu_dg_set(g, pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    cu_dg_set(g, pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &f32);
    cu_dg_finalize(g, pw);
    cudnnBackendDescriptor_t op = cu_dg_new(g, CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    if (b)
        cu_dg_set(g, op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
    cu_dg_finalize(g, op);
    return op;
}

static cudnnBackendDescriptor_t dg_conv(cu_dg *g, const bb_op *op, cudnnBackendDescriptor_t x,
                                        cudnnBackendDescriptor_t w, cudnnBackendDescriptor_t y)
{
    cudnnDataType_t f32 = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int64_t dims = 2, one[2] = {1, 1}, stride[2] = {op->stride, op->stride}, pad[2] = {op->pad, op->pad};
    float alpha = 1.f, beta = 0.f;
    cudnnBackendDescriptor_t cd = cu_dg_new(g, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &f32);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, one);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, stride);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
    cu_dg_set(g, cd, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
    cu_dg_finalize(g, cd);
    cudnnBackendDescriptor_t c = cu_dg_new(g, CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cd);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
    cu_dg_set(g, c, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
    cu_dg_finalize(g, c);
    return c;
}

/* The operation graph of step s: the convolution, then (fused) the bias,
 * residual and ReLU its epilogue pass would apply. Returns the graph
 * descriptor, NULL on failure (g->st says why). */
static cudnnBackendDescriptor_t build_graph(bb_backend *b, const cu_step *s, int fused, cu_dg *g)
{
    const bb_op *op = s->op;
    const bb_graph *gr = b->g;
    const bb_tensor *x = &gr->tensors[op->in[0]], *y = &gr->tensors[op->out];
    cudnnDataType_t dt = b->dt == CU_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16, f32 = CUDNN_DATA_FLOAT;
    int64_t cin = s->shape[5], o = y->dims[0];
    int64_t xd[4] = {b->batch, cin, x->dims[1], x->dims[2]}, wd[4] = {o, cin, op->k, op->k};
    int64_t yd[4] = {b->batch, o, y->dims[1], y->dims[2]}, bd[4] = {1, o, 1, 1};
    int bias = fused && s->lt_bias, res = fused && s->in[1] >= 0, relu = fused && s->act == CUK_RELU;
    int stages = bias + res + relu, n_ops = 0, uid = 100;
    cudnnBackendDescriptor_t ops[4], tx = dg_tensor(g, UID_X, dt, xd, false), tw = dg_tensor(g, UID_W, dt, wd, false);
    cudnnBackendDescriptor_t ty = dg_tensor(g, UID_Y, dt, yd, false);
    /* each stage's output: virtual fp32, the last one y itself */
    cudnnBackendDescriptor_t cur = stages ? dg_tensor(g, uid++, f32, yd, true) : ty;
    ops[n_ops++] = dg_conv(g, op, tx, tw, cur);
    if (bias) {
        cudnnBackendDescriptor_t next = --stages ? dg_tensor(g, uid++, f32, yd, true) : ty;
        ops[n_ops++] = dg_pointwise(g, CUDNN_POINTWISE_ADD, cur, dg_tensor(g, UID_B, dt, bd, false), next);
        cur = next;
    }
    if (res) {
        cudnnBackendDescriptor_t next = --stages ? dg_tensor(g, uid++, f32, yd, true) : ty;
        ops[n_ops++] = dg_pointwise(g, CUDNN_POINTWISE_ADD, cur, dg_tensor(g, UID_Z, dt, yd, false), next);
        cur = next;
    }
    if (relu)
        ops[n_ops++] = dg_pointwise(g, CUDNN_POINTWISE_RELU_FWD, cur, NULL, ty);
    return cu_dg_op_graph(b, g, ops, n_ops);
}

static cudnnStatus_t execute(bb_backend *b, cudnnBackendDescriptor_t plan, const cu_step *s, const void *x, void *ws,
                             int fused)
{
    int64_t uids[5] = {UID_X, UID_W, UID_Y};
    void *ptrs[5] = {(void *)x, s->w, cu_ptr(b, s->out)};
    int n = 3;
    if (fused && s->lt_bias)
        uids[n] = UID_B, ptrs[n++] = s->lt_bias;
    if (fused && s->in[1] >= 0)
        uids[n] = UID_Z, ptrs[n++] = cu_ptr(b, s->in[1]);
    return cu_dg_execute(b, plan, n, uids, ptrs, ws);
}

int cu_conv_graph_run(bb_backend *b, const cu_step *s, const void *x)
{
    cudnnStatus_t st = execute(b, s->plan, s, x, b->ws, s->plan_fused);
    return st == CUDNN_STATUS_SUCCESS ? 0 : 1000 + (int)st;
}

typedef struct {
    cudnnBackendDescriptor_t plan;
    const cu_step *s;
    const void *x;
    void *ws;
    int fused;
} plan_run_ctx;

static int plan_run(bb_backend *b, const void *ctx)
{
    const plan_run_ctx *c = ctx;
    return execute(b, c->plan, c->s, c->x, c->ws, c->fused) == CUDNN_STATUS_SUCCESS ? 0 : -1;
}

/* Milliseconds per run of plan on the step's buffers (cu_time_ms), or a
 * negative number where it fails. */
static double time_plan(bb_backend *b, cudnnBackendDescriptor_t plan, const void *ctx)
{
    plan_run_ctx c = *(const plan_run_ctx *)ctx;
    c.plan = plan;
    return cu_time_ms(b, plan_run, &c);
}

/* Step s's graph and plan, fused (fused = 1) or the convolution alone:
 * a new cache entry, kept also when nothing runs (plan NULL). */
static int search(bb_backend *b, const cu_step *s, const void *x, void *ws, size_t ws_cap, int fused,
                  cu_conv_plan *c)
{
    cu_dg *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    cu_pick_stats ps = {0, 0, 0, 0};
    cudnnBackendDescriptor_t og = build_graph(b, s, fused, g);
    cudnnStatus_t st = g->st;
    plan_run_ctx ctx = {NULL, s, x, ws, fused};
    cu_plan_timing t = {time_plan, &ctx, 0, 0}; /* every candidate; none compiled at run time (seconds per shape) */
    if (og && cu_dg_pick_plan(b, g, og, &t, ws_cap, &c->plan, &c->ws_bytes, &ps)) {
        c->graph = g, c->fused = fused;
    } else {
        cu_dg_free(g);
        c->plan = NULL, c->ws_bytes = 0;
    }
    if (b->opt.value[BB_OPT_CUDNN_LOG] != 0)
        fprintf(stderr,
                "cudnn graph: %s: %s: %s (graph: %s; %lld offered, %d allowed, %d built; %.3f ms, workspace %zu "
                "bytes)\n",
                s->op->label, fused ? "fused epilogue" : "convolution alone", c->plan ? "plan" : "no engine",
                cudnnGetErrorString(st), (long long)ps.offered, ps.allowed, ps.built, ps.best_ms, c->ws_bytes);
    return 0;
}

int cu_conv_graph_on(const bb_backend *b)
{
    return b->opt.value[BB_OPT_CUDNN_GRAPH] == 0; /* on */
}

/* Channels-last 16-bit, ungrouped, channels in multiples of 8 (16-byte
 * rows) and an epilogue the graph expresses. */
static int eligible(const bb_backend *b, const cu_step *s)
{
    const bb_op *op = s->op;
    int64_t o = b->g->tensors[op->out].dims[0];
    return b->nhwc && op->groups == 1 && s->shape[5] % 8 == 0 && o % 8 == 0 &&
           (s->act == CUK_NONE || s->act == CUK_RELU);
}

int cu_conv_graph_tune(bb_backend *b, cu_step *s, const void *x, void *ws, size_t ws_cap, const int64_t *key,
                       bb_err *err)
{
    if (!cu_conv_graph_on(b) || !eligible(b, s))
        return 0;
    int64_t k[CU_CONV_KEY] = {0};
    memcpy(k, key, 12 * sizeof *k);
    k[12] = s->lt_bias != NULL, k[13] = s->in[1] >= 0, k[14] = s->act;
    int j = 0;
    while (j < b->n_conv_plans && memcmp(b->conv_plans[j].key, k, sizeof k) != 0)
        j++;
    if (j == b->n_conv_plans) {
        if (cu_grow((void **)&b->conv_plans, &b->cap_conv_plans, j, sizeof *b->conv_plans) != 0)
            return bb_err_set(err, "out of memory");
        cu_conv_plan *c = &b->conv_plans[j];
        memcpy(c->key, k, sizeof k);
        if (search(b, s, x, ws, ws_cap, 1, c) != 0 || (!c->plan && search(b, s, x, ws, ws_cap, 0, c) != 0))
            return bb_err_set(err, "out of memory");
        b->n_conv_plans++;
    }
    const cu_conv_plan *c = &b->conv_plans[j];
    if (!c->plan)
        return 0;
    s->plan = c->plan, s->plan_fused = c->fused, s->ws_bytes = c->ws_bytes;
    return 1;
}

void cu_conv_plans_free(bb_backend *b)
{
    for (int j = 0; j < b->n_conv_plans; j++)
        cu_dg_release(b->conv_plans[j].plan, b->conv_plans[j].graph);
    free(b->conv_plans);
}

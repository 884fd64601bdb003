/*
 * cpu_generic_math.c — the arithmetic of imported graphs on the CPU
 * backend: every activation, standalone BatchNorm, binary ops with NumPy
 * broadcasting, batched matmul, softmax and mean reduction, each one oneDNN
 * primitive where oneDNN has fast code for it, else the walk kernel
 * (cpu_generic_kernels.c). See cpu_generic.c for the conventions (full
 * shapes, dense fp32 views, packed constants).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_generic.h"
#include "engine/fuse.h"

#define R CPU_R

/* ---- activations and batch norm ----------------------------------------- */

static int eltwise_pd(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *md, dnnl_alg_kind_t alg, float alpha,
                      float beta, dnnl_primitive_desc_t *pd, bb_err *err)
{
    dnnl_eltwise_desc_t ed;
    DNNL_CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, md, alpha, beta), err,
               "eltwise descriptor", op->label);
    DNNL_CHECK(dnnl_primitive_desc_create(pd, &ed, b->attr, b->eng, NULL), err, "eltwise", op->label);
    return 0;
}

/* Where pd (made for buffer *src, op's input) runs oneDNN's reference code
 * and *src is not plain: pd destroyed and *src the input made plain (of
 * type dt), for the caller to make pd again (1). 0: pd stands; -1: error. */
static int plain_instead_of_ref(bb_backend *b, const bb_op *op, int *src, dnnl_primitive_desc_t pd,
                                dnnl_data_type_t dt, bb_err *err)
{
    if (!cpu_pd_is_ref(pd) || cpu_md_is_plain(&b->bufs[*src].md))
        return 0;
    dnnl_primitive_desc_destroy(pd);
    *src = cpu_tensor_full_plain(b, op->in[0], dt, err);
    return *src < 0 ? -1 : 1;
}

/* One eltwise from src (op's input) into a new buffer of its layout (op's
 * output). oneDNN runs an f with f(0) != 0 (exp, sigmoid, linear ...) on a
 * blocked layout with padded channels as reference code only (it must keep
 * the padding zero): then on the dense tensor instead, reordered. */
static int eltwise_op(bb_backend *b, const bb_op *op, int src, dnnl_alg_kind_t alg, float alpha, float beta,
                      bb_err *err)
{
    dnnl_primitive_desc_t pd;
    if (eltwise_pd(b, op, &b->bufs[src].md, alg, alpha, beta, &pd, err) != 0)
        return -1;
    int again = plain_instead_of_ref(b, op, &src, pd, b->bufs[src].md.data_type, err);
    if (again < 0 || (again && eltwise_pd(b, op, &b->bufs[src].md, alg, alpha, beta, &pd, err) != 0))
        return -1;
    return cpu_unary_step(b, op, pd, src, &b->bufs[src].md, DNNL_ARG_SRC, DNNL_ARG_DST, err);
}

/* Our own elementwise kernel (K_UNARY), in the input's layout: erf and the
 * others oneDNN has no eltwise for, on every float of the buffer (erf(0) =
 * 0 keeps a blocked layout's zero padding), and sigmoid and tanh of small
 * plain tensors. */
static int unary_kernel_op(bb_backend *b, const bb_op *op, bb_err *err)
{
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    int dst = cpu_dst_buf(b, op, &b->bufs[src].md);
    cpu_step *s = cpu_add_step(b, op->label, bb_act_name(op->act));
    s->kernel = K_UNARY, s->kin = src, s->kout = dst;
    s->p[0] = (int64_t)(dnnl_memory_desc_get_size(&b->bufs[src].md) / sizeof(float));
    s->p[1] = op->act, s->kalpha = op->alpha, s->kbeta = op->beta;
    cpu_touch(b, src);
    cpu_touch(b, dst);
    return 0;
}

/* An activation oneDNN 2.6 has no eltwise for, as a chain of ones it has:
 * the first from src, the rest in place (oneDNN runs an eltwise with an
 * eltwise post-op as reference code only). hardsigmoid = clip(alpha x +
 * beta, 0, 1), selu = gamma elu(x), celu = alpha elu_1(x / alpha). */
typedef struct {
    dnnl_alg_kind_t alg;
    float alpha, beta;
} eltwise_link;

static int eltwise_chain(bb_backend *b, const bb_op *op, int src, const eltwise_link *l, int n, bb_err *err)
{
    if (eltwise_op(b, op, src, l[0].alg, l[0].alpha, l[0].beta, err) != 0)
        return -1;
    int y = b->tbuf[op->out];
    for (int k = 1; k < n; k++) {
        dnnl_primitive_desc_t pd;
        if (eltwise_pd(b, op, &b->bufs[y].md, l[k].alg, l[k].alpha, l[k].beta, &pd, err) != 0)
            return -1;
        cpu_step *s = cpu_step_from_pd(b, op, pd, err);
        dnnl_primitive_desc_destroy(pd);
        if (!s)
            return -1;
        cpu_arg_buf(b, s, DNNL_ARG_SRC, y);
        cpu_arg_buf(b, s, DNNL_ARG_DST, y);
    }
    return 0;
}

/* Buffer buf holds plain f32 of at most CPU_SMALL_OP elements (and the
 * model runs in f32): small enough for our kernels' one pass. */
static int small_plain(const bb_backend *b, int buf)
{
    return cpu_buf_plain_f32(b, buf) && dnnl_memory_desc_get_size(&b->bufs[buf].md) <= CPU_SMALL_OP * sizeof(float);
}

int cpu_lower_act(bb_backend *b, const bb_op *op, bb_err *err)
{
    int src = b->tbuf[op->in[0]];
    float alpha, beta;
    switch (op->act) {
    case BB_ACT_SIGMOID:
    case BB_ACT_TANH:
        if (small_plain(b, src))
            return unary_kernel_op(b, op, err);
        break;
    case BB_ACT_ERF:
    case BB_ACT_SOFTSIGN:
    case BB_ACT_THRESHOLDED_RELU: return unary_kernel_op(b, op, err);
    case BB_ACT_HARDSIGMOID: {
        const eltwise_link l[] = {{dnnl_eltwise_linear, op->alpha, op->beta}, {dnnl_eltwise_clip_v2, 0.f, 1.f}};
        return eltwise_chain(b, op, src, l, 2, err);
    }
    case BB_ACT_SELU: {
        const eltwise_link l[] = {{dnnl_eltwise_elu, op->alpha, 0.f}, {dnnl_eltwise_linear, op->beta, 0.f}};
        return eltwise_chain(b, op, src, l, 2, err);
    }
    case BB_ACT_CELU: {
        const eltwise_link l[] = {{dnnl_eltwise_linear, 1.f / op->alpha, 0.f}, {dnnl_eltwise_elu, 1.f, 0.f},
                                  {dnnl_eltwise_linear, op->alpha, 0.f}};
        return eltwise_chain(b, op, src, l, 3, err);
    }
    case BB_ACT_CLIP: return eltwise_op(b, op, src, dnnl_eltwise_clip_v2, op->alpha, op->beta, err);
    case BB_ACT_LEAKY_RELU: return eltwise_op(b, op, src, dnnl_eltwise_relu, op->alpha, 0.f, err);
    case BB_ACT_ELU: return eltwise_op(b, op, src, dnnl_eltwise_elu, op->alpha, 0.f, err);
    default: break;
    }
    dnnl_alg_kind_t alg = cpu_act_alg(op->act, &alpha, &beta);
    if (alg == dnnl_alg_kind_undef)
        return bb_err_set(err, "cpu backend: act '%s': activation %s is not supported", op->label,
                          bb_act_name(op->act));
    return eltwise_op(b, op, src, alg, alpha, beta, err);
}

/* Per-channel statistics and affine terms of a batch norm, packed once;
 * NULL (not used) when the op has no such tensor. */
static int bn_param(bb_backend *b, const bb_op *op, int t, int64_t c, dnnl_memory_t *m, bb_err *err)
{
    *m = NULL;
    if (t < 0)
        return 0;
    const bb_tensor *p = &b->g->tensors[t];
    if (!p->data || bb_tensor_numel(p) != c)
        return bb_err_set(err, "cpu backend: batchnorm '%s': '%s' must hold %lld values", op->label, p->name,
                          (long long)c);
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, 1, &c, dnnl_f32);
    return cpu_pack(b, &md, p->data, &md, m, err);
}

/* The folded per-channel scale (gamma / sqrt(var + eps)) or shift
 * (beta - mean * scale) of a batch norm, as a [1, C, 1, ...] f32 memory. */
static int bn_folded(bb_backend *b, const bb_op *op, int nd, int64_t c, int want_shift, dnnl_memory_t *m,
                     bb_err *err)
{
    const bb_graph *g = b->g;
    float *v = malloc(sizeof(float) * (size_t)c);
    if (!v)
        return bb_err_oom(err, "out of memory");
    const float *gamma = op->w >= 0 ? g->tensors[op->w].data : NULL, *beta = op->b >= 0 ? g->tensors[op->b].data : NULL;
    for (int64_t i = 0; i < c; i++) {
        double scale, shift;
        bb_bn_channel(gamma, beta, g->tensors[op->aux[0]].data, g->tensors[op->aux[1]].data, op->eps, i, &scale, &shift);
        v[i] = (float)(want_shift ? shift : scale);
    }
    int64_t d[R];
    for (int i = 0; i < nd; i++)
        d[i] = i == 1 ? c : 1;
    dnnl_memory_desc_t md, want;
    cpu_md_plain(&md, nd, d, dnnl_f32);
    want = md;
    /* in the input's channel blocking when there is one: oneDNN's binary
     * has a fast kernel only for operands of matching layouts */
    const dnnl_memory_desc_t *x = &b->bufs[b->tbuf[op->in[0]]].md;
    const dnnl_blocking_desc_t *blk = &x->format_desc.blocking;
    if (nd == 4 && x->format_kind == dnnl_blocked && blk->inner_nblks == 1 && blk->inner_idxs[0] == 1 &&
        (blk->inner_blks[0] == 16 || blk->inner_blks[0] == 8) && c % blk->inner_blks[0] == 0) {
        dnnl_dims_t dd = {1, c, 1, 1};
        dnnl_memory_desc_init_by_tag(&want, 4, dd, dnnl_f32, blk->inner_blks[0] == 16 ? dnnl_aBcd16b : dnnl_aBcd8b);
    }
    int rc = cpu_pack(b, &md, v, &want, m, err);
    free(v);
    return rc;
}

/* x * scale, then + shift and ReLU as post-ops (per_channel: both
 * scale's and shift's md), in src's layout. */
static dnnl_status_t bn_relu_pd(bb_backend *b, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *per_channel,
                                dnnl_primitive_desc_t *pd)
{
    dnnl_post_ops_t po;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_create(&po);
    dnnl_post_ops_append_binary(po, dnnl_binary_add, per_channel);
    dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
    cpu_attr_create(&attr);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_binary_desc_t bd;
    *pd = NULL;
    dnnl_status_t st = dnnl_binary_desc_init(&bd, dnnl_binary_mul, src, per_channel, src);
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(pd, &bd, attr, b->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* Batch norm then ReLU (a pre-activation net: DenseNet) as one pass in the
 * input's layout: a binary multiply by the folded scale with post-ops
 * adding the shift and applying the ReLU. (oneDNN's batch normalization
 * with its fused ReLU falls back to a slow kernel for blocked layouts.)
 * Where the blocked layout has only oneDNN's reference code (DPN's 10
 * channels, padded to a block of 16: 15 ms of a 200 ms pass, twice), the
 * input is made plain first. */
static int lower_bn_relu(bb_backend *b, const bb_op *op, const int64_t *x, int nd, bb_err *err)
{
    int src = b->tbuf[op->in[0]];
    for (int t = 0; t < 2; t++) {
        int p = op->aux[t];
        if (!b->g->tensors[p].data || bb_tensor_numel(&b->g->tensors[p]) != x[1])
            return bb_err_set(err, "cpu backend: batchnorm '%s': '%s' must hold %lld values", op->label,
                              b->g->tensors[p].name, (long long)x[1]);
    }
    dnnl_memory_t scale, shift;
    if (bn_folded(b, op, nd, x[1], 0, &scale, err) || bn_folded(b, op, nd, x[1], 1, &shift, err))
        return -1;
    const dnnl_memory_desc_t *cmd;
    dnnl_memory_get_memory_desc(scale, &cmd);
    dnnl_memory_desc_t per_channel = *cmd;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = bn_relu_pd(b, &b->bufs[src].md, &per_channel, &pd);
    int again = st == dnnl_success ? plain_instead_of_ref(b, op, &src, pd, dnnl_f32, err) : 0;
    if (again < 0)
        return -1;
    if (again)
        st = bn_relu_pd(b, &b->bufs[src].md, &per_channel, &pd);
    DNNL_CHECK(st, err, "batch norm + relu (binary)", op->label);
    int dst = cpu_dst_buf(b, op, &b->bufs[src].md);
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    dnnl_primitive_desc_destroy(pd);
    if (!s)
        return -1;
    cpu_arg_buf(b, s, DNNL_ARG_SRC_0, src);
    cpu_arg_mem(s, DNNL_ARG_SRC_1, scale);
    cpu_arg_mem(s, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, shift);
    cpu_arg_buf(b, s, DNNL_ARG_DST, dst);
    return 0;
}

static dnnl_status_t bn_pd(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *src, dnnl_primitive_desc_t *pd)
{
    unsigned flags = dnnl_use_global_stats | (op->w >= 0 ? dnnl_use_scale : 0) | (op->b >= 0 ? dnnl_use_shift : 0);
    dnnl_batch_normalization_desc_t bd;
    *pd = NULL;
    dnnl_status_t st = dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, src, op->eps, flags);
    return st == dnnl_success ? dnnl_primitive_desc_create(pd, &bd, b->attr, b->eng, NULL) : st;
}

/* Inference batch norm with the running statistics on [N, C, ...], in the
 * input's layout (oneDNN's batch normalization with use_global_stats);
 * plain where that layout has only reference code. */
int cpu_lower_batchnorm(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t x[R];
    int nd = cpu_full_shape(b, op->in[0], x);
    if (nd < 2 || nd > 5 || op->aux[0] < 0 || op->aux[1] < 0)
        return bb_err_set(err, "cpu backend: batchnorm '%s': needs a 2-d to 5-d [N, C, ...] input and running "
                               "mean and variance", op->label);
    int src = b->tbuf[op->in[0]];
    if (op->post_act == BB_ACT_RELU)
        return lower_bn_relu(b, op, x, nd, err);
    if (op->post_act)
        return bb_err_set(err, "cpu backend: batchnorm '%s': a fused %s cannot run with it", op->label,
                          bb_act_name(op->post_act));
    dnnl_memory_t mean, var, scale, shift;
    if (bn_param(b, op, op->aux[0], x[1], &mean, err) || bn_param(b, op, op->aux[1], x[1], &var, err) ||
        bn_param(b, op, op->w, x[1], &scale, err) || bn_param(b, op, op->b, x[1], &shift, err))
        return -1;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = bn_pd(b, op, &b->bufs[src].md, &pd);
    int again = st == dnnl_success ? plain_instead_of_ref(b, op, &src, pd, dnnl_f32, err) : 0;
    if (again < 0)
        return -1;
    if (again)
        st = bn_pd(b, op, &b->bufs[src].md, &pd);
    DNNL_CHECK(st, err, "batch normalization", op->label);
    int dst = cpu_dst_buf(b, op, &b->bufs[src].md);
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    dnnl_primitive_desc_destroy(pd);
    if (!s)
        return -1;
    cpu_arg_buf(b, s, DNNL_ARG_SRC, src);
    cpu_arg_mem(s, DNNL_ARG_MEAN, mean);
    cpu_arg_mem(s, DNNL_ARG_VARIANCE, var);
    if (scale)
        cpu_arg_mem(s, DNNL_ARG_SCALE, scale);
    if (shift)
        cpu_arg_mem(s, DNNL_ARG_SHIFT, shift);
    cpu_arg_buf(b, s, DNNL_ARG_DST, dst);
    return 0;
}

/* ---- binary ---------------------------------------------------------------- */

static dnnl_alg_kind_t binary_alg(bb_binop op)
{
    switch (op) {
    case BB_BIN_ADD: return dnnl_binary_add;
    case BB_BIN_SUB: return dnnl_binary_sub;
    case BB_BIN_MUL: return dnnl_binary_mul;
    case BB_BIN_DIV: return dnnl_binary_div;
    case BB_BIN_MAX: return dnnl_binary_max;
    case BB_BIN_MIN: return dnnl_binary_min;
    default: return dnnl_alg_kind_undef; /* pow: the walk kernel */
    }
}

/* A step running pd (destroyed here) on sources a and c into a new buffer
 * of d_md (NULL: a's layout) for op's output. */
static int two_source_step(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *d_md,
                           int arg_a, const cpu_gsrc *a, int arg_c, const cpu_gsrc *c, bb_err *err)
{
    int dst = cpu_dst_buf(b, op, d_md ? d_md : &a->md);
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    dnnl_primitive_desc_destroy(pd);
    if (!s)
        return -1;
    cpu_arg_src(b, s, arg_a, a);
    cpu_arg_src(b, s, arg_c, c);
    cpu_arg_buf(b, s, DNNL_ARG_DST, dst);
    return 0;
}

static int binary_pd(bb_backend *b, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *m0, const dnnl_memory_desc_t *m1,
                     int negate, dnnl_primitive_desc_t *pd)
{
    dnnl_binary_desc_t bd;
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    *pd = NULL;
    if (dnnl_binary_desc_init(&bd, alg, m0, m1, m0) != dnnl_success)
        return -1;
    cpu_attr_create(&attr);
    dnnl_post_ops_create(&po);
    if (negate) /* b - a computed as -(a - b) (exact) */
        dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_linear, -1.f, 0.f);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_status_t st = dnnl_primitive_desc_create(pd, &bd, attr, b->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    return st == dnnl_success ? 0 : -1;
}

/* Whether a 4-d operand of shape s1 is per (item, channel) of s0's:
 * [N or 1, C, 1, 1] against [N, C, H, W], as an SE block's scales. */
static int per_channel_of(int nd, const int64_t *s0, const int64_t *s1)
{
    return nd == 4 && (s1[0] == s0[0] || s1[0] == 1) && s1[1] == s0[1] && s1[2] == 1 && s1[3] == 1;
}

/* src0 t0 (of the output's shape) alg src1 t1 (broadcast), in t0's layout
 * when oneDNN has fast code for it (a conv's blocked output plus a
 * same-shape activation or a per-channel constant), else dense; 1 (nothing
 * built) when oneDNN has only its reference code for the dense form, as
 * for a broadcast across a middle axis (swin_t's attention mask, [N, nW,
 * heads, 49, 49] + [1, nW, 1, 49, 49]: 150 ms at batch 8, 20% of the pass). */
static int dnnl_binary_op(bb_backend *b, const bb_op *op, dnnl_alg_kind_t alg, int t0, int t1, int nd,
                          const int64_t *s0, const int64_t *s1, int negate, bb_err *err)
{
    cpu_gsrc a = {-1, NULL, {0}}, c = {-1, NULL, {0}};
    dnnl_primitive_desc_t pd = NULL;
    int same = !cpu_is_const(b->g, t1) && cpu_same_shape(nd, s0, s1);
    if (!cpu_is_const(b->g, t0) && b->dt == dnnl_f32 && b->bufs[b->tbuf[t0]].md.data_type == dnnl_f32 &&
        cpu_md_has_dims(&b->bufs[b->tbuf[t0]].md, nd, s0) && !cpu_md_is_plain(&b->bufs[b->tbuf[t0]].md)) {
        a.buf = b->tbuf[t0], a.md = b->bufs[a.buf].md;
        if (same)
            c.md = a.md;
        else if (per_channel_of(nd, s0, s1))
            cpu_md_per_channel(&c.md, s1, &a.md, dnnl_f32);
        else
            cpu_md_plain(&c.md, nd, s1, dnnl_f32);
        if (binary_pd(b, alg, &a.md, &c.md, negate, &pd) == 0 && cpu_pd_is_ref(pd)) {
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
        if (pd && same && (cpu_tensor_full(b, t1, err) < 0 || (c.buf = cpu_tensor_as(b, t1, &a.md, err)) < 0)) {
            dnnl_primitive_desc_destroy(pd);
            return -1;
        }
        if (pd && !same && cpu_operand_as(b, op, t1, nd, s1, &c.md, &c, err) != 0) {
            dnnl_primitive_desc_destroy(pd);
            return -1;
        }
    }
    if (!pd) {
        dnnl_memory_desc_t m0, m1;
        cpu_md_plain(&m0, nd, s0, dnnl_f32);
        cpu_md_plain(&m1, nd, s1, dnnl_f32);
        if (binary_pd(b, alg, &m0, &m1, negate, &pd) == 0 && cpu_pd_is_ref(pd)) {
            dnnl_primitive_desc_destroy(pd);
            return 1; /* only oneDNN's reference code: the caller walks */
        }
        if (pd)
            dnnl_primitive_desc_destroy(pd);
        pd = NULL;
        if (cpu_operand(b, op, t0, nd, s0, &a, err) != 0 || cpu_operand(b, op, t1, nd, s1, &c, err) != 0)
            return -1;
        if (binary_pd(b, alg, &a.md, &c.md, negate, &pd) != 0)
            return bb_err_set(err, "oneDNN: binary failed for '%s'", op->label);
    }
    return two_source_step(b, op, pd, NULL, DNNL_ARG_SRC_0, &a, DNNL_ARG_SRC_1, &c, err);
}

/* Any binop with broadcasting on both sides: the walk kernel. */
static int walk_binary(bb_backend *b, const bb_op *op, int nd, const int64_t *o, const int64_t *s0, const int64_t *s1,
                       bb_err *err)
{
    cpu_walk *w = cpu_walk_new(BB_WALK_BINARY, nd, o, err);
    if (!w)
        return -1;
    w->w.n_src = 2, w->w.binop = op->binop;
    if (cpu_walk_source(b, w, 0, op->in[0], s0, err) != 0 || cpu_walk_source(b, w, 1, op->in[1], s1, err) != 0) {
        free(w);
        return -1;
    }
    return cpu_walk_step(b, op, w);
}

/* PRelu with a constant slope: oneDNN's prelu primitive, in x's layout when
 * it has fast code for it (a conv's blocked output), else dense; 1 (nothing
 * built) when only its reference code would run it: the caller walks. */
static int prelu_op(bb_backend *b, const bb_op *op, int nd, const int64_t *s0, const int64_t *s1, bb_err *err)
{
    const int x = op->in[0], slope = op->in[1];
    if (!cpu_is_const(b->g, slope) || cpu_is_const(b->g, x))
        return 1;
    const dnnl_memory_desc_t *xm = &b->bufs[b->tbuf[x]].md;
    int native = b->dt == dnnl_f32 && xm->data_type == dnnl_f32 && cpu_md_has_dims(xm, nd, s0);
    for (int pass = native ? 0 : 1; pass < 2; pass++) {
        cpu_gsrc a = {-1, NULL, {0}}, w = {-1, NULL, {0}};
        dnnl_memory_desc_t wmd;
        if (pass == 0)
            a.buf = b->tbuf[x], a.md = *xm;
        else
            cpu_md_plain(&a.md, nd, s0, dnnl_f32);
        dnnl_dims_t wd;
        for (int i = 0; i < nd; i++)
            wd[i] = s1[i];
        /* the slope's layout: oneDNN's pick (its jit code wants it blocked like x) */
        dnnl_memory_desc_init_by_tag(&wmd, nd, wd, dnnl_f32, dnnl_format_tag_any);
        dnnl_prelu_desc_t pdesc;
        dnnl_primitive_desc_t pd = NULL;
        if (dnnl_prelu_forward_desc_init(&pdesc, dnnl_forward_inference, &a.md, &wmd) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &pdesc, b->attr, b->eng, NULL) != dnnl_success)
            continue;
        if (cpu_pd_is_ref(pd)) {
            dnnl_primitive_desc_destroy(pd);
            continue;
        }
        wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        if ((pass == 1 && cpu_operand(b, op, x, nd, s0, &a, err) != 0) ||
            cpu_operand_as(b, op, slope, nd, s1, &wmd, &w, err) != 0) {
            dnnl_primitive_desc_destroy(pd);
            return -1;
        }
        return two_source_step(b, op, pd, NULL, DNNL_ARG_SRC, &a, DNNL_ARG_WEIGHTS, &w, err);
    }
    return 1;
}

/* x ^ c for a constant scalar c: oneDNN's pow eltwise, in x's layout. */
static int pow_scalar(bb_backend *b, const bb_op *op, bb_err *err)
{
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    return eltwise_op(b, op, src, dnnl_eltwise_pow, 1.f, b->g->tensors[op->in[1]].data[0], err);
}

/* A binary op small enough (CPU_SMALL_OP) for the walk kernel, on operands
 * already plain f32 or constant (so that no reorder comes with it). */
static int small_walk(const bb_backend *b, const bb_op *op, int nd, const int64_t *o)
{
    if (b->dt != dnnl_f32 || cpu_numel(nd, o) > CPU_SMALL_OP)
        return 0;
    for (int k = 0; k < 2; k++)
        if (!cpu_is_const(b->g, op->in[k]) && !small_plain(b, b->tbuf[op->in[k]]))
            return 0;
    return 1;
}

/* NumPy broadcasting: oneDNN's binary broadcasts its second source only,
 * so an op whose first operand is the broadcast one swaps them where that
 * is exact (add, mul, max, min; sub negated), else (div, pow, both
 * broadcast) runs as the walk kernel, as a small one does (small_walk). */
int cpu_lower_binary_op(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t o[R], s0[R], s1[R];
    int nd = cpu_full_shape(b, op->out, o);
    if (op->n_in != 2 || cpu_padded_shape(b, op->in[0], nd, s0) || cpu_padded_shape(b, op->in[1], nd, s1) ||
        !bb_broadcasts_to(nd, s0, o) || !bb_broadcasts_to(nd, s1, o))
        return bb_err_set(err, "cpu backend: binary '%s': needs two operands that broadcast to the output's shape",
                          op->label);
    if (cpu_is_const(b->g, op->in[0]) && cpu_is_const(b->g, op->in[1]))
        return bb_err_set(err, "cpu backend: binary '%s': both operands are constants (fold it at import)", op->label);
    const bb_tensor *e = &b->g->tensors[op->in[1]];
    if (op->binop == BB_BIN_POW && cpu_is_const(b->g, op->in[1]) && e->data && bb_tensor_numel(e) == 1 &&
        cpu_same_shape(nd, s0, o))
        return pow_scalar(b, op, err);
    if (op->binop == BB_BIN_PRELU && cpu_same_shape(nd, s0, o)) {
        int rc = prelu_op(b, op, nd, s0, s1, err);
        if (rc != 1)
            return rc;
    }
    if (small_walk(b, op, nd, o)) /* our kernel's one pass beats a primitive's call */
        return walk_binary(b, op, nd, o, s0, s1, err);
    dnnl_alg_kind_t alg = binary_alg(op->binop);
    int swap_ok = op->binop == BB_BIN_ADD || op->binop == BB_BIN_MUL || op->binop == BB_BIN_MAX ||
                  op->binop == BB_BIN_MIN || op->binop == BB_BIN_SUB;
    int rc = 1;
    if (alg != dnnl_alg_kind_undef && cpu_same_shape(nd, s0, o))
        rc = dnnl_binary_op(b, op, alg, op->in[0], op->in[1], nd, s0, s1, 0, err);
    else if (alg != dnnl_alg_kind_undef && swap_ok && cpu_same_shape(nd, s1, o))
        rc = dnnl_binary_op(b, op, alg, op->in[1], op->in[0], nd, s1, s0, op->binop == BB_BIN_SUB, err);
    return rc == 1 ? walk_binary(b, op, nd, o, s0, s1, err) : rc;
}

/* ---- matmul --------------------------------------------------------------- */

/* A and B's shapes as oneDNN takes them (same rank; a rank-1 A is [1, K],
 * a rank-1 B [K, 1], as in NumPy) and the result's; -1 when they do not
 * multiply. */
static int matmul_shapes(const bb_backend *b, const bb_op *op, int64_t *A, int64_t *B, int64_t *D)
{
    int64_t a[R], c[R];
    int na = cpu_full_shape(b, op->in[0], a), nc = cpu_full_shape(b, op->in[1], c);
    return bb_matmul_shapes(na, a, nc, c, A, B, D);
}

static int matmul_pd(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *s, const dnnl_memory_desc_t *w,
                     const dnnl_memory_desc_t *d, dnnl_primitive_desc_t *pd, bb_err *err)
{
    dnnl_matmul_desc_t md;
    DNNL_CHECK(dnnl_matmul_desc_init(&md, s, w, NULL, d), err, "matmul descriptor", op->label);
    DNNL_CHECK(dnnl_primitive_desc_create(pd, &md, b->attr, b->eng, NULL), err, "matmul", op->label);
    return 0;
}

/* activation [..., M, K] x constant [K, N]: one [rows, K] x [K, N] matmul
 * with the weights packed in the layout oneDNN picks (as a linear's). */
static int matmul_const_b(bb_backend *b, const bb_op *op, int nd, const int64_t *A, const int64_t *B, bb_err *err)
{
    const int64_t k = A[nd - 1], n = B[nd - 1], rows = cpu_numel(nd, A) / k;
    int64_t sd[2] = {rows, k}, wd[2] = {k, n}, dd[2] = {rows, n};
    cpu_gsrc a, w = {-1, NULL, {0}};
    dnnl_memory_desc_t w_any, w_user, d_md;
    if (cpu_operand(b, op, op->in[0], 2, sd, &a, err) != 0)
        return -1;
    cpu_md_plain(&w_user, 2, wd, dnnl_f32);
    cpu_md_plain(&d_md, 2, dd, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&w_any, 2, w_user.dims, dnnl_f32, dnnl_format_tag_any);
    dnnl_primitive_desc_t pd;
    if (matmul_pd(b, op, &a.md, &w_any, &d_md, &pd, err) != 0)
        return -1;
    if (cpu_pack_shared(b, &w_user, b->g->tensors[op->in[1]].data, cpu_q_md(pd, dnnl_query_weights_md), &w.mem,
                        err) != 0) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    return two_source_step(b, op, pd, &d_md, DNNL_ARG_SRC, &a, DNNL_ARG_WEIGHTS, &w, err);
}

/* NumPy matmul: batched, batch dims broadcast (oneDNN takes 1s on either
 * side), rank-1 operands as NumPy treats them. */
int cpu_lower_matmul(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t A[R + 1], B[R + 1], D[R + 1], o[R];
    int nd = op->n_in == 2 ? matmul_shapes(b, op, A, B, D) : -1;
    if (nd < 0 || cpu_numel(nd, D) != cpu_numel(cpu_full_shape(b, op->out, o), o))
        return bb_err_set(err, "cpu backend: matmul '%s': operand shapes do not multiply to the output's", op->label);
    int cb = cpu_is_const(b->g, op->in[1]), ones = 1;
    for (int i = 0; i < nd - 2; i++)
        ones &= B[i] == 1;
    if (cb && b->g->tensors[op->in[1]].data && ones && !cpu_is_const(b->g, op->in[0]))
        return matmul_const_b(b, op, nd, A, B, err);
    if (cpu_is_const(b->g, op->in[0]) && cb)
        return bb_err_set(err, "cpu backend: matmul '%s': both operands are constants (fold it at import)", op->label);
    cpu_gsrc a, w;
    dnnl_memory_desc_t d_md;
    cpu_md_plain(&d_md, nd, D, dnnl_f32);
    if (cpu_operand(b, op, op->in[0], nd, A, &a, err) != 0 || cpu_operand(b, op, op->in[1], nd, B, &w, err) != 0)
        return -1;
    dnnl_primitive_desc_t pd;
    if (matmul_pd(b, op, &a.md, &w.md, &d_md, &pd, err) != 0)
        return -1;
    return two_source_step(b, op, pd, &d_md, DNNL_ARG_SRC, &a, DNNL_ARG_WEIGHTS, &w, err);
}

/* ---- softmax, reduce mean -------------------------------------------------- */

int cpu_lower_softmax(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R];
    int nd = cpu_full_shape(b, op->in[0], d);
    if (op->axis < 0 || op->axis >= nd)
        return bb_err_set(err, "cpu backend: softmax '%s': axis %d is not one of the input's %d", op->label, op->axis,
                          nd);
    int src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err);
    if (src < 0)
        return -1;
    if (op->axis < nd - 1) { /* our kernel: oneDNN 2.6 has only reference code off the last axis */
        int64_t outer = 1, inner = 1;
        for (int i = 0; i < nd; i++)
            *(i < op->axis ? &outer : &inner) *= i == op->axis ? 1 : d[i];
        int dst = cpu_dst_buf(b, op, &b->bufs[src].md);
        cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
        s->kernel = K_SOFTMAX, s->kin = src, s->kout = dst;
        s->p[0] = outer, s->p[1] = d[op->axis], s->p[2] = inner, s->p[3] = op->log_softmax;
        cpu_touch(b, src);
        cpu_touch(b, dst);
        return 0;
    }
    dnnl_softmax_v2_desc_t sd;
    DNNL_CHECK(dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference,
                                                 op->log_softmax ? dnnl_softmax_log : dnnl_softmax_accurate,
                                                 &b->bufs[src].md, &b->bufs[src].md, op->axis),
               err, "softmax descriptor", op->label);
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &sd, b->attr, b->eng, NULL), err, "softmax", op->label);
    return cpu_unary_step(b, op, pd, src, &b->bufs[src].md, DNNL_ARG_SRC, DNNL_ARG_DST, err);
}

/* The mean reduction of src into o's shape (layout: oneDNN's pick); with
 * fast_only, -1 where oneDNN has only reference code for src's layout. */
static int reduction_pd(bb_backend *b, const dnnl_memory_desc_t *src, int nd, const int64_t *o, int sum,
                        int fast_only, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t dst;
    dnnl_dims_t od;
    for (int i = 0; i < nd; i++)
        od[i] = o[i];
    dnnl_reduction_desc_t rd;
    *pd = NULL;
    if (dnnl_memory_desc_init_by_tag(&dst, nd, od, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_reduction_desc_init(&rd, sum ? dnnl_reduction_sum : dnnl_reduction_mean, src, &dst, 0.f, 0.f) != dnnl_success ||
        dnnl_primitive_desc_create(pd, &rd, b->attr, b->eng, NULL) != dnnl_success)
        return -1;
    if (fast_only && cpu_pd_is_ref(*pd)) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
        return -1;
    }
    return 0;
}

/* The reduced axes of mask as one run of consecutive axes of d: the
 * tensor viewed as [A, R, B]; 0 when they are not consecutive. */
static int reduce_run(unsigned mask, int nd, const int64_t *d, int64_t v[3])
{
    int lo = 0, hi = nd - 1;
    while (lo < nd && !((mask >> lo) & 1u))
        lo++;
    while (hi >= 0 && !((mask >> hi) & 1u))
        hi--;
    v[0] = v[1] = v[2] = 1;
    for (int i = 0; i < nd; i++) {
        if (i >= lo && i <= hi && !((mask >> i) & 1u))
            return 0;
        v[i < lo ? 0 : i <= hi ? 1 : 2] *= d[i];
    }
    return lo <= hi;
}

/* Mean (or sum) over the axes in axes_mask, kept as 1s. A run of consecutive axes:
 * our kernel on the dense input (K_REDUCE). Otherwise oneDNN's reduction,
 * on the input's layout when it has fast code for that, else on the dense
 * input. No axis: a copy. */
int cpu_lower_reduce_mean(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    int nd = cpu_full_shape(b, op->in[0], d), ok = cpu_full_shape(b, op->out, o) == nd;
    for (int i = 0; ok && i < nd; i++)
        ok = o[i] == ((op->axes_mask >> i) & 1u ? 1 : d[i]);
    if (!ok || (op->axes_mask >> nd) != 0)
        return bb_err_set(err, "cpu backend: reduce_mean '%s': axes_mask and the output's shape do not match the "
                               "input", op->label);
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    dnnl_memory_desc_t out;
    cpu_md_plain(&out, nd, o, dnnl_f32);
    if (op->axes_mask == 0)
        return cpu_reorder_op(b, op, src, &out, err);
    int64_t v[3];
    if (reduce_run(op->axes_mask, nd, d, v)) {
        if ((src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err)) < 0)
            return -1;
        int dst = cpu_dst_buf(b, op, &out);
        cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
        s->kernel = K_REDUCE, s->kin = src, s->kout = dst;
        s->p[0] = v[0], s->p[1] = v[1], s->p[2] = v[2], s->p[3] = op->reduce_sum;
        cpu_touch(b, src);
        cpu_touch(b, dst);
        return 0;
    }
    dnnl_primitive_desc_t pd = NULL;
    if (reduction_pd(b, &b->bufs[src].md, nd, o, op->reduce_sum, 1, &pd) != 0) {
        if ((src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err)) < 0)
            return -1;
        if (reduction_pd(b, &b->bufs[src].md, nd, o, op->reduce_sum, 0, &pd) != 0)
            return bb_err_set(err, "oneDNN: reduction failed for '%s'", op->label);
    }
    return cpu_unary_step(b, op, pd, src, cpu_q_md(pd, dnnl_query_dst_md), DNNL_ARG_SRC, DNNL_ARG_DST, err);
}

/* ---- resize ------------------------------------------------------------------ */

/* Every resize oneDNN's resampling does not compute: our kernel, plain to
 * plain, through each output column's and row's taps (engine/resize.c),
 * computed here once. */
static int resize_taps(bb_backend *b, const bb_op *op, const int64_t *d, const int64_t *o, bb_err *err)
{
    int src = cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err);
    if (src < 0)
        return -1;
    int nt;
    bb_resize_tap *taps = bb_resize_plan(&op->resize, d + 2, o + 2, &nt);
    if (!taps)
        return bb_err_set(err, "out of memory");
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, 4, o, dnnl_f32);
    int dst = cpu_dst_buf(b, op, &md);
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->kernel = K_TAPS, s->kin = src, s->kout = dst, s->taps = taps;
    s->p[0] = d[0] * d[1], s->p[1] = d[2], s->p[2] = d[3], s->p[3] = o[2], s->p[4] = o[3], s->p[5] = nt;
    cpu_touch(b, src);
    cpu_touch(b, dst);
    return 0;
}

/* [N,C,H,W] to out's H', W': oneDNN's resampling where it computes the
 * answer (nearest by whole upscaling factors, linear with half-pixel
 * centres: bb_resize_is_resampling), on the input's layout; every other
 * resize by our kernel. */
int cpu_lower_resize(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t d[R], o[R];
    if (cpu_full_shape(b, op->in[0], d) != 4 || cpu_full_shape(b, op->out, o) != 4 || o[0] != d[0] || o[1] != d[1])
        return bb_err_set(err, "cpu backend: resize '%s' takes [N,C,H,W] to [N,C,H',W']", op->label);
    if (!bb_resize_is_resampling(&op->resize, d + 2, o + 2))
        return resize_taps(b, op, d, o, err);
    int src = cpu_tensor_f32(b, op->in[0], err);
    if (src < 0)
        return -1;
    dnnl_memory_desc_t dst;
    dnnl_dims_t od = {o[0], o[1], o[2], o[3]};
    DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, od, dnnl_f32, dnnl_format_tag_any), err, "resize output",
               op->label);
    dnnl_resampling_desc_t rd;
    DNNL_CHECK(dnnl_resampling_forward_desc_init(
                   &rd, dnnl_forward_inference,
                   op->resize.mode == BB_RESIZE_LINEAR ? dnnl_resampling_linear : dnnl_resampling_nearest, NULL,
                   &b->bufs[src].md, &dst),
               err, "resampling descriptor", op->label);
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &rd, b->attr, b->eng, NULL), err, "resampling", op->label);
    return cpu_unary_step(b, op, pd, src, cpu_q_md(pd, dnnl_query_dst_md), DNNL_ARG_SRC, DNNL_ARG_DST, err);
}

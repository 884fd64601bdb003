/*
 * cpu_conv_dw.c — a 1x1 convolution and the 3x3 depthwise convolution that
 * reads its output, run as one oneDNN primitive (the depthwise conv as a
 * post-op of the 1x1), where that measures faster than the two apart.
 *
 * MobileNetV2's and EfficientNetV2's inverted residual blocks widen the
 * channels 4-6x with a 1x1 conv, then filter them with a depthwise 3x3.
 * Apart, the wide tensor goes out to memory and back in; at batch 8 the early
 * ones are tens of MB and those layers are bound by memory bandwidth. Fused,
 * oneDNN computes the rows of the wide tensor a depthwise tile needs and
 * keeps them in cache. Whether it wins depends on the shape, so both ways are
 * timed at prepare time, as chains from a cold cache (cpu_time_chain), and the
 * faster kept.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"

/* ops[i] a plain 1x1 conv whose only reader is ops[i+1], a depthwise 3x3
 * (pad 1, stride 1 or 2) with no residual? Square windows (k, stride, pad
 * say it all) on per-item [C, H, W] tensors only. */
static int applies(const bb_graph *g, int i)
{
    if (i + 1 >= g->n_ops)
        return 0;
    const bb_op *op = &g->ops[i], *dw = &g->ops[i + 1];
    if (op->type != BB_OP_CONV || dw->type != BB_OP_CONV || !bb_window_square(op) || !bb_window_square(dw) ||
        op->k != 1 || op->stride != 1 || op->pad != 0 || op->groups != 1 || op->sum_in >= 0 || dw->sum_in >= 0 ||
        dw->in[0] != op->out)
        return 0;
    const bb_tensor *x = &g->tensors[op->in[0]], *m = &g->tensors[op->out], *y = &g->tensors[dw->out];
    if (x->full_rank || m->full_rank || y->full_rank || x->ndim != 3 || m->ndim != 3 || y->ndim != 3)
        return 0;
    int64_t c = g->tensors[op->out].dims[0];
    return dw->k == 3 && dw->pad == 1 && (dw->stride == 1 || dw->stride == 2) && dw->groups == c &&
           g->tensors[dw->out].dims[0] == c && op->out != g->output && bb_last_reader(g, op->out) == i + 1;
}

static void append_act(dnnl_post_ops_t po, bb_act act)
{
    float alpha, beta;
    if (act) {
        dnnl_alg_kind_t alg = cpu_act_alg(act, &alpha, &beta);
        dnnl_post_ops_append_eltwise(po, 1.f, alg, alpha, beta);
    }
}

/* The 1x1 conv's activation, the depthwise conv, then its activation. */
static dnnl_primitive_attr_t fused_attr(const bb_op *op, const bb_op *dw, dnnl_data_type_t dt)
{
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    cpu_attr_create(&attr);
    dnnl_post_ops_create(&po);
    append_act(po, op->post_act);
    dnnl_post_ops_append_dw(po, dt, dnnl_f32, dt, 3, dw->stride, 1, 0, 0, NULL);
    append_act(po, dw->post_act);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    return attr;
}

/* A convolution primitive descriptor, or NULL when oneDNN has only its
 * reference code (or nothing) for it. */
static dnnl_primitive_desc_t conv_pd(bb_backend *b, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *w,
                                     const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst, int stride,
                                     int pad, dnnl_primitive_attr_t attr)
{
    dnnl_dims_t st = {stride, stride}, pd2 = {pad, pad};
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, src, w, bias, dst,
                                           st, pd2, pd2) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &cd, attr, b->eng, NULL) != dnnl_success)
        pd = NULL;
    if (pd && (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
               cpu_is_ref_impl(impl))) {
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;
    }
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* Is the fused primitive (after the reorder `in` into its input layout, if
 * any) clearly faster than the 1x1 and the depthwise conv apart, as
 * lower_conv would build them: the 1x1 on the producer's layout src; the
 * depthwise conv on the 1x1's output layout, or, where oneDNN has only
 * reference code for that, on the layout it picks after a reorder? Both
 * ways run as chains from a cold cache, raced (cpu_time_race): timed one
 * primitive at a time on warm scratch memory, the wide intermediate tensor
 * would look free, and keeping it out of memory is the whole point of
 * fusing. Not when any part
 * cannot be timed: fusing is the exception that has to prove itself. */
static int fused_is_faster(bb_backend *b, const bb_op *op, const bb_op *dw, dnnl_primitive_desc_t fused,
                           dnnl_primitive_desc_t in, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *w1,
                           const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *mid)
{
    const bb_tensor *y = &b->g->tensors[dw->out];
    int64_t c = y->dims[0];
    dnnl_dims_t wd = {c, 1, 1, 3, 3}, dd = {b->batch, c, y->dims[1], y->dims[2]};
    dnnl_memory_desc_t w2, d2, any_mid;
    dnnl_memory_desc_init_by_tag(&w2, 5, wd, b->dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&d2, 4, dd, b->dt, dnnl_format_tag_any);
    dnnl_primitive_desc_t apart[3] = {conv_pd(b, src, w1, bias, mid, 1, 0, cpu_post_ops_attr(op)), NULL, NULL};
    int n = 0;
    if (apart[0]) {
        const dnnl_memory_desc_t *m1 = dnnl_primitive_desc_query_md(apart[0], dnnl_query_dst_md, 0);
        dnnl_primitive_desc_t p2 = conv_pd(b, m1, &w2, bias, &d2, dw->stride, 1, cpu_post_ops_attr(dw));
        dnnl_memory_desc_t d2_like; /* lower_conv's second try (blocked_like_input) */
        if (!p2 && cpu_md_blocked_like(&d2_like, dd, m1, b->dt))
            p2 = conv_pd(b, m1, &w2, bias, &d2_like, dw->stride, 1, cpu_post_ops_attr(dw));
        if (!p2) {
            dnnl_memory_desc_init_by_tag(&any_mid, 4, m1->dims, b->dt, dnnl_format_tag_any);
            p2 = conv_pd(b, &any_mid, &w2, bias, &d2, dw->stride, 1, cpu_post_ops_attr(dw));
            if (p2 && dnnl_reorder_primitive_desc_create(&apart[1], m1, b->eng,
                                                         dnnl_primitive_desc_query_md(p2, dnnl_query_src_md, 0),
                                                         b->eng, b->attr) != dnnl_success)
                apart[1] = NULL;
        }
        n = apart[1] ? 3 : 2;
        apart[n - 1] = p2;
    }
    cpu_chain race[2] = {{{apart[0], apart[1], apart[2]}, n}, {{in ? in : fused, fused}, in ? 2 : 1}};
    double t[2] = {-1.0, -1.0};
    if (n && apart[n - 1])
        cpu_time_race(b, race, 2, 1, t);
    double ta = t[0], tf = t[1];
    for (int i = 0; i < 3; i++)
        if (apart[i])
            dnnl_primitive_desc_destroy(apart[i]);
    return tf > 0 && ta > 0 && tf < 0.95 * ta;
}

/* Folds the depthwise conv's BatchNorm and packs its weights and bias for
 * the fused primitive's post-op arguments. */
static int dw_weights(bb_backend *b, const bb_op *dw, dnnl_primitive_desc_t pd, dnnl_memory_t *w, dnnl_memory_t *bias,
                      bb_err *err)
{
    int64_t c = b->g->tensors[dw->out].dims[0];
    float *wf = malloc((size_t)c * 9 * sizeof(float)), *bf = malloc((size_t)c * sizeof(float));
    int rc = -1;
    if (wf && bf) {
        bb_fold_bn(b->g, dw, wf, bf);
        dnnl_dims_t wd = {c, 1, 1, 3, 3};
        dnnl_memory_desc_t user, bmd;
        dnnl_memory_desc_init_by_tag(&user, 5, wd, dnnl_f32, dnnl_goihw);
        cpu_md_plain(&bmd, 1, &c, dnnl_f32);
        rc = cpu_pack(b, &user, wf,
                      dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS),
                      w, err);
        if (rc == 0)
            rc = cpu_pack(b, &bmd, bf,
                          dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS),
                          bias, err);
    } else {
        rc = bb_err_set(err, "out of memory folding '%s'", dw->label);
    }
    free(wf);
    free(bf);
    return rc;
}

/* Appends the fused step: src -> 1x1 (+act) -> depthwise (+act) -> dst. */
static int add_fused_step(bb_backend *b, const bb_op *op, const bb_op *dw, dnnl_primitive_desc_t pd, bb_err *err)
{
    dnnl_memory_t w1, b1, w2, b2;
    if (cpu_conv_weights(b, op, pd, &w1, &b1, err) != 0 || dw_weights(b, dw, pd, &w2, &b2, err) != 0)
        return -1;
    int src = cpu_tensor_as(b, op->in[0], cpu_q_md(pd, dnnl_query_src_md), err);
    if (src < 0)
        return -1;
    int dst = cpu_dst_buf(b, dw, cpu_q_md(pd, dnnl_query_dst_md));
    cpu_step *s = cpu_step_from_pd(b, op, pd, err);
    if (!s)
        return -1;
    s->kind = "conv+dw";
    s->macs += bb_op_macs(b->g, dw) * b->batch;
    cpu_arg_buf(b, s, DNNL_ARG_SRC, src);
    cpu_arg_mem(s, DNNL_ARG_WEIGHTS, w1);
    cpu_arg_mem(s, DNNL_ARG_BIAS, b1);
    cpu_arg_mem(s, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, w2);
    cpu_arg_mem(s, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, b2);
    cpu_arg_buf(b, s, DNNL_ARG_DST, dst);
    return 0;
}

int cpu_lower_conv_dw(bb_backend *b, int i, bb_err *err)
{
    const bb_graph *g = b->g;
    if (b->algo_policy < 0 || !applies(g, i))
        return 0;
    const bb_op *op = &g->ops[i], *dw = &g->ops[i + 1];
    int src = b->tbuf[op->in[0]];
    if (src < 0 || b->bufs[src].md.ndims != 4 || b->bufs[src].md.data_type != b->dt ||
        b->bufs[src].owes_silu) /* cpu_lower_op settles SiLUs and makes views */
        return 0;
    const bb_tensor *x = &g->tensors[op->in[0]], *y = &g->tensors[op->out];
    int64_t c = y->dims[0];
    dnnl_dims_t wd = {c, x->dims[0], 1, 1}, bd = {c}, md = {b->batch, c, y->dims[1], y->dims[2]};
    dnnl_memory_desc_t w1, bias, mid;
    dnnl_memory_desc_init_by_tag(&w1, 4, wd, b->dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x);
    /* The fused kernel wants the CPU's channel block spelled out (nChw16c
     * with AVX-512, nChw8c with AVX2; with "any" oneDNN glues two
     * primitives, no gain; its NHWC variant computed wrong results in
     * parity tests with oneDNN 2.6). If the input is in another layout it
     * is reordered first, and that reorder is part of the cost. */
    dnnl_memory_desc_init_by_tag(&mid, 4, md, b->dt, cpu_channel_block_tag());
    dnnl_memory_desc_t blocked_src;
    dnnl_memory_desc_init_by_tag(&blocked_src, 4, b->bufs[src].md.dims, b->dt, cpu_channel_block_tag());
    int reorder = !dnnl_memory_desc_equal(&b->bufs[src].md, &blocked_src);
    dnnl_primitive_desc_t pd = conv_pd(b, &blocked_src, &w1, &bias, &mid, 1, 0, fused_attr(op, dw, b->dt));
    if (!pd)
        return 0; /* oneDNN cannot fuse this pair here: lower the two convs apart */
    dnnl_primitive_desc_t in = NULL; /* the reorder into the fused kernel's input layout */
    if (reorder && dnnl_reorder_primitive_desc_create(&in, &b->bufs[src].md, b->eng, &blocked_src, b->eng, b->attr) !=
                       dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return 0;
    }
    dnnl_memory_desc_init_by_tag(&mid, 4, md, b->dt, dnnl_format_tag_any);
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_CONV_DW, dw->stride, dw->post_act, key);
    int known = b->algo_policy == 0 ? cpu_choice_get(b, key, &b->bufs[src].md, NULL) : -1;
    int rc = b->algo_policy > 0 ||
                     (known >= 0 ? known : fused_is_faster(b, op, dw, pd, in, &b->bufs[src].md, &w1, &bias, &mid))
                 ? 1
                 : 0;
    if (known < 0 && b->algo_policy == 0)
        cpu_choice_put(b, key, &b->bufs[src].md, NULL, rc);
    if (in)
        dnnl_primitive_desc_destroy(in);
    if (rc == 1 && add_fused_step(b, op, dw, pd, err) != 0)
        rc = -1;
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

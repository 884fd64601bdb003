/*
 * cpu_ops.c — lowering each fused graph op to oneDNN primitives or to one
 * of the CPU kernels (see cpu_lower.c for the layout policy): the zoo's ops
 * here (convolutions with their measured choices, pools, linear, layer
 * norm, residual adds, the transformer kernels); the generic ops of
 * imported graphs, standalone BatchNorm and activations in cpu_generic.c.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_generic.h"
#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"

static void dims4(dnnl_dims_t d, int64_t a, int64_t b, int64_t c, int64_t e)
{
    d[0] = a, d[1] = b, d[2] = c, d[3] = e;
}

/* A grouped conv's weights [OC, icg, kh, kw] (groups of ocg output
 * channels) for the same conv with f = wide / icg neighbouring groups
 * merged into one (merged_groups): [OC, wide, kh, kw], output channel o's
 * filter at input channels (o / ocg % f) * icg.. of its merged group, zeros
 * elsewhere (block diagonal). Frees w; NULL when out of memory. */
static float *widen_groups(float *w, const int64_t *wd, int64_t ocg, int64_t wide)
{
    int64_t oc = wd[0], icg = wd[1], k = wd[2] * wd[3], f = wide / icg;
    float *out = calloc((size_t)(oc * wide * k), sizeof(float));
    for (int64_t o = 0; out && o < oc; o++)
        memcpy(out + (o * wide + o / ocg % f * icg) * k, w + o * icg * k, (size_t)(icg * k) * sizeof(float));
    free(w);
    return out;
}

/* Folds BatchNorm into the conv weights and packs them for the primitive. */
int cpu_conv_weights(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, dnnl_memory_t *w,
                     dnnl_memory_t *bias, bb_err *err)
{
    const bb_tensor *wt = &b->g->tensors[op->w];
    int64_t oc = wt->dims[0], n = bb_tensor_numel(wt);
    float *wf = malloc((size_t)n * sizeof(float)), *bf = malloc((size_t)oc * sizeof(float));
    int rc = -1;
    if (wf && bf) {
        bb_fold_bn(b->g, op, wf, bf);
        int g = op->groups;
        int64_t c_in = cpu_q_md(pd, dnnl_query_src_md)->dims[1], icg = c_in / g; /* > wt's: merged groups */
        if (icg > wt->dims[1] && !(wf = widen_groups(wf, wt->dims, oc / (c_in / wt->dims[1]), icg)))
            rc = bb_err_set(err, "out of memory widening '%s'", op->label);
        dnnl_memory_desc_t user, bmd;
        dnnl_dims_t d5 = {g, oc / g, icg, wt->dims[2], wt->dims[3]};
        dnnl_dims_t d4 = {oc, wt->dims[1], wt->dims[2], wt->dims[3]};
        if (g > 1)
            dnnl_memory_desc_init_by_tag(&user, 5, d5, dnnl_f32, dnnl_goihw);
        else
            dnnl_memory_desc_init_by_tag(&user, 4, d4, dnnl_f32, dnnl_oihw);
        cpu_md_plain(&bmd, 1, &oc, dnnl_f32);
        if (wf)
            rc = cpu_pack(b, &user, wf, cpu_q_md(pd, dnnl_query_weights_md), w, err);
        if (rc == 0)
            rc = cpu_pack(b, &bmd, bf, &bmd, bias, err);
    } else {
        rc = bb_err_set(err, "out of memory folding '%s'", op->label);
    }
    free(wf);
    free(bf);
    return rc;
}

int cpu_is_ref_impl(const char *impl)
{
    return impl && strncmp(impl, "ref", 3) == 0;
}

static int is_ref_impl(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return cpu_is_ref_impl(impl);
}

/* oneDNN's reference code, or, with `wide` input (16 or more channels), its
 * im2col + GEMM conv or an AVX2 kernel on an AVX-512 machine:
 * what it falls back to for a producer's plain (NCHW) or 8- or 4-channel
 * blocked layout, where the layout it picks itself, plus the reorder into
 * it, runs faster. densenet121 after a plain-layout op ran its 1x1 convs at
 * 28-41 GFLOP/s in NCHW; resnext50's grouped convs left nChw4c / nChw8c
 * behind and the 1x1 convs after them ran AVX2 code at 135-160 GFLOP/s;
 * convnext_tiny's 7x7 depthwise convs after a transpose ran im2col + GEMM
 * at 3.5 GFLOP/s. A net's first conv, on 3 channels, keeps NCHW. */
static int is_weak_impl(const_dnnl_primitive_desc_t pd, int wide)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (cpu_is_ref_impl(impl))
        return 1;
    return wide && impl &&
           (strstr(impl, "gemm") || (cpu_has_avx512() && !strstr(impl, "avx512") && !strstr(impl, "amx")));
}

/* The conv's window as oneDNN takes it (its dilation counts the gaps: 0 =
 * none, where ONNX's 1 is none). */
static int conv_pd(bb_backend *b, const bb_op *op, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *src,
                   const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst,
                   dnnl_primitive_desc_t *pd, bb_err *err)
{
    dnnl_dims_t st = {op->sh, op->sw}, dil = {op->dil_h - 1, op->dil_w - 1};
    dnnl_dims_t pad_l = {op->pad_t, op->pad_l}, pad_r = {op->pad_b, op->pad_r};
    dnnl_convolution_desc_t cd;
    *pd = NULL;
    DNNL_CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, src, w, bias, dst, st,
                                                          dil, pad_l, pad_r),
               err, "convolution descriptor", op->label);
    dnnl_primitive_attr_t attr = cpu_post_ops_attr(op);
    dnnl_status_t s = dnnl_primitive_desc_create(pd, &cd, attr, b->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    DNNL_CHECK(s, err, "convolution", op->label);
    return 0;
}

/* Channel counts (per group, for grouped convs) that are not a multiple of
 * 16 leave nChw16c blocks partly empty (24 channels fill 24 of 32 lanes):
 * for such convs also time inputs in nChw8c and NHWC (each plus the
 * reorder into it) and keep the fastest.
 * On the 2-core VM EfficientNetV2's 24-channel 3x3 convs run 1.3-1.6x
 * faster in nChw8c. dst is the conv's wanted output ("any": it follows). */
/* Which of k conv pds (cand[0] the default) runs fastest from a tensor
 * in layout `have`, each with the reorder into its own input layout: raced
 * (cpu_time_race); another one only when it is clearly (5%) faster. */
static int fastest_layout(bb_backend *b, dnnl_primitive_desc_t *cand, int k, const dnnl_memory_desc_t *have)
{
    cpu_chain race[CPU_RACE_MAX];
    dnnl_primitive_desc_t reorder[CPU_RACE_MAX] = {NULL};
    double t[CPU_RACE_MAX];
    for (int i = 0; i < k; i++) {
        const dnnl_memory_desc_t *src = cpu_q_md(cand[i], dnnl_query_src_md);
        race[i] = (cpu_chain){{cand[i]}, 1};
        if (dnnl_memory_desc_equal(src, have))
            continue;
        if (dnnl_reorder_primitive_desc_create(&reorder[i], have, b->eng, src, b->eng, b->attr) != dnnl_success)
            race[i].n = 0, reorder[i] = NULL; /* cannot run */
        else
            race[i] = (cpu_chain){{reorder[i], cand[i]}, 2};
    }
    cpu_time_race(b, race, k, 0, t);
    int best = 0;
    for (int i = 1; i < k; i++)
        if (t[best] > 0 && t[i] > 0 && t[i] < 0.95 * t[best])
            best = i;
    for (int i = 0; i < k; i++)
        if (reorder[i])
            dnnl_primitive_desc_destroy(reorder[i]);
    return best;
}

static dnnl_primitive_desc_t better_layout(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd,
                                           const dnnl_memory_desc_t *have, const dnnl_memory_desc_t *w_md,
                                           const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *dst_md)
{
    static const dnnl_format_tag_t tags[] = {dnnl_aBcd8b, dnnl_acdb, dnnl_aBcd16b};
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_LAYOUT, 0, 0, key);
    int known = cpu_choice_get(b, key, have, NULL);
    dnnl_primitive_desc_t cand[CPU_RACE_MAX] = {pd};
    int pick_of[CPU_RACE_MAX] = {0}, k = 1, best = 0; /* pick: 0 pd's layout, t + 1 tags[t] */
    for (int t = 0; t < 3 && k < CPU_RACE_MAX; t++) {
        dnnl_memory_desc_t md;
        dnnl_primitive_desc_t alt = NULL;
        bb_err ignore = {0};
        dnnl_memory_desc_init_by_tag(&md, 4, have->dims, b->dt, tags[t]);
        if ((known >= 0 && known != t + 1) || dnnl_memory_desc_equal(&md, cpu_q_md(pd, dnnl_query_src_md)) ||
            conv_pd(b, op, dnnl_convolution_direct, &md, w_md, b_md, dst_md, &alt, &ignore) != 0 || is_ref_impl(alt)) {
            if (alt)
                dnnl_primitive_desc_destroy(alt);
            continue;
        }
        cand[k] = alt, pick_of[k++] = t + 1;
    }
    if (known >= 0)
        best = k - 1; /* the earlier pick, the only candidate besides pd */
    else
        best = fastest_layout(b, cand, k, have);
    for (int i = 0; i < k; i++)
        if (i != best)
            dnnl_primitive_desc_destroy(cand[i]);
    if (known < 0)
        cpu_choice_put(b, key, have, NULL, pick_of[best]);
    return cand[best];
}

/* Whether a conv leaves its SiLU to the global average pool that reads its
 * output next (an SE block's, or the head's): the pool applies it in the
 * pass it makes anyway, with a SiLU cheaper than oneDNN's swish post-op
 * (cpu_kernels.c says why). Measured on EfficientNetV2, batch 8, 6 rounds
 * interleaved: 249.6 against 254.9 ms per batch (S). Not in bf16 (the
 * kernels are f32) nor under BATCHBENCH_CPU_ALGO=never. A SiLU that a
 * Winograd conv leaves undone is decided in try_winograd. */
static int defers_silu(const bb_backend *b, const bb_op *op)
{
    const bb_graph *g = b->g;
    if (b->dt != dnnl_f32 || b->algo_policy < 0 || op->post_act != BB_ACT_SILU || op->sum_in >= 0 ||
        op->out == g->output)
        return 0;
    int next = bb_next_reader(g, op->out, (int)(op - g->ops));
    return next >= 0 && g->ops[next].type == BB_OP_GAP;
}

/* Winograd in place of the direct conv pd where it measures faster
 * (cpu_conv_algo.c). oneDNN's Winograd takes ReLU and sums but no SiLU, so
 * a conv with one (not already left to its reader) is tried as Winograd
 * with the SiLU left to the next reader (*defer set if chosen), the silu
 * kernel's time counted against it: EfficientNetV2's 3x3 convs run 2-2.7x
 * faster that way. Winograd takes nChw16c only: when the direct conv chose
 * another layout, each side pays its own reorder from `have`. */
static dnnl_primitive_desc_t try_winograd(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd,
                                          const dnnl_memory_desc_t *have, const dnnl_memory_desc_t *w_md,
                                          const dnnl_memory_desc_t *b_md, int *defer)
{
    bb_op w_op = *op;
    int silu_after = !*defer && op->post_act == BB_ACT_SILU && op->sum_in < 0 && op->out != b->g->output &&
                     b->algo_policy >= 0;
    if (silu_after)
        w_op.post_act = BB_ACT_NONE;
    const dnnl_memory_desc_t *src = cpu_q_md(pd, dnnl_query_src_md), *dst = cpu_q_md(pd, dnnl_query_dst_md);
    const dnnl_memory_desc_t *sum = op->sum_in >= 0 ? &b->bufs[b->tbuf[op->sum_in]].md : NULL;
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_WINOGRAD, silu_after, 0, key);
    int known = b->algo_policy == 0 ? cpu_choice_get(b, key, have, sum) : -1;
    double d_extra = 0.0, w_extra = 0.0;
    dnnl_primitive_desc_t wino = NULL;
    bb_err ignore = {0}; /* a shape Winograd does not take is not an error */
    conv_pd(b, &w_op, dnnl_convolution_winograd, src, w_md, b_md, dst, &wino, &ignore);
    if (!wino && op->sum_in < 0) {
        dnnl_memory_desc_t s16, d16;
        dnnl_memory_desc_init_by_tag(&s16, 4, src->dims, b->dt, dnnl_aBcd16b);
        dnnl_memory_desc_init_by_tag(&d16, 4, dst->dims, b->dt, dnnl_aBcd16b);
        conv_pd(b, &w_op, dnnl_convolution_winograd, &s16, w_md, b_md, &d16, &wino, &ignore);
        if (wino && known < 0) {
            w_extra = dnnl_memory_desc_equal(&s16, have) ? 0.0 : cpu_reorder_seconds(b, have, &s16);
            d_extra = dnnl_memory_desc_equal(src, have) ? 0.0 : cpu_reorder_seconds(b, have, src);
        }
    }
    if (wino && silu_after && w_extra >= 0 && known < 0) {
        double t = cpu_silu_seconds(b, cpu_q_md(wino, dnnl_query_dst_md));
        w_extra = t < 0 ? -1.0 : w_extra + t;
    }
    int chose = 0, offered = wino != NULL;
    pd = cpu_conv_faster(b, pd, d_extra, wino, w_extra, known, &chose);
    if (offered && known < 0 && b->algo_policy == 0)
        cpu_choice_put(b, key, have, sum, chose);
    if (chose && silu_after)
        *defer = 1;
    return pd;
}

/* oneDNN 2.6 gives a depthwise conv on an nChw16c (8c) input only its
 * reference code when the output layout is left to it ("any"), and its JIT
 * kernel when the output is asked for in the input's layout. Without this
 * the conv fell back to NHWC, behind a reorder of its input: EfficientNet
 * B0's depthwise convs after a blocked 1x1 conv paid 1.1-1.4 ms per batch of
 * 8 for each such reorder. pd is kept when that does not help. */
static dnnl_primitive_desc_t blocked_like_input(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd,
                                                const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *w_md,
                                                const dnnl_memory_desc_t *b_md, const dnnl_dims_t dd, int wide)
{
    dnnl_memory_desc_t dst;
    if (!cpu_md_blocked_like(&dst, dd, src, b->dt))
        return pd;
    dnnl_primitive_desc_t alt = NULL;
    bb_err ignore = {0}; /* a layout oneDNN does not take is not an error */
    if (conv_pd(b, op, dnnl_convolution_direct, src, w_md, b_md, &dst, &alt, &ignore) != 0 || is_weak_impl(alt, wide)) {
        if (alt)
            dnnl_primitive_desc_destroy(alt);
        return pd;
    }
    dnnl_primitive_desc_destroy(pd);
    return alt;
}

int cpu_is_gemm_or_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return cpu_is_ref_impl(impl) || (impl && strstr(impl, "gemm"));
}

/* A conv that sums a residual in place writes in the residual's layout.
 * Where that layout leaves oneDNN only im2col + GEMM (a plain tensor from a
 * binary op: timm's fastvit_t8 ran its stem conv, 3x3 stride 2 on 3
 * channels into NCHW, at 5 GFLOP/s, 65 of 190 ms a pass), the conv takes
 * the output layout it picks itself when that is JIT code, and the
 * residual is reordered into it (lower_conv: cpu_tensor_as). dst_md
 * becomes the new layout. */
static dnnl_primitive_desc_t sum_in_own_layout(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd,
                                               const dnnl_memory_desc_t *src_md, const dnnl_memory_desc_t *w_md,
                                               const dnnl_memory_desc_t *b_md, const dnnl_dims_t dd,
                                               dnnl_memory_desc_t *dst_md, int wide)
{
    dnnl_memory_desc_t want[2]; /* left to oneDNN; the input's blocking (depthwise: blocked_like_input) */
    dnnl_memory_desc_init_by_tag(&want[0], 4, dd, b->dt, dnnl_format_tag_any);
    int n = 1 + cpu_md_blocked_like(&want[1], dd, src_md, b->dt);
    for (int i = 0; i < n; i++) {
        dnnl_primitive_desc_t alt = NULL;
        bb_err ignore = {0};
        if (conv_pd(b, op, dnnl_convolution_direct, src_md, w_md, b_md, &want[i], &alt, &ignore) == 0 &&
            !cpu_is_gemm_or_ref(alt) && !is_weak_impl(alt, wide)) {
            *dst_md = *cpu_q_md(alt, dnnl_query_dst_md);
            dnnl_primitive_desc_destroy(pd);
            return alt;
        }
        if (alt)
            dnnl_primitive_desc_destroy(alt);
    }
    return pd;
}

/* Grouped convs whose groups are narrower than the SIMD block (resnext50's
 * first stage: 32 groups of 4 channels) have only im2col + GEMM code in
 * oneDNN 2.6 on AVX2: 10 GFLOP/s, 22 ms of a 450 ms pass each at batch 8.
 * Merged f at a time (f <= 4) into groups of whole blocks whose weights are
 * block diagonal (widen_groups), they do f times the multiply-adds in JIT
 * code: about 6 ms. Returns the groups the conv runs with (op->groups when
 * merging does not give JIT code or the conv has it already). */
#define MERGE_MAX 4
static int merged_groups(bb_backend *b, const bb_op *op, const int64_t *x, const int64_t *y)
{
    int64_t oc = y[1], gr = op->groups, icg = x[1] / gr, ocg = oc / gr, blk = cpu_channel_block(), f = 2;
    if (b->dt != dnnl_f32 || gr == 1 || icg == 1 || (icg % blk == 0 && ocg % blk == 0))
        return (int)gr;
    while (f <= MERGE_MAX && (gr % f || icg * f % blk || ocg * f % blk))
        f++;
    int merge = f <= MERGE_MAX, weak[2] = {1, 1};
    for (int i = 0; merge && i < 2; i++) {
        int64_t g = i ? gr / f : gr;
        dnnl_memory_desc_t s_md, w_md, b_md, d_md;
        dnnl_dims_t w5 = {g, oc / g, x[1] / g, op->kh, op->kw}, bd = {oc}, xd, yd;
        dims4(xd, x[0], x[1], x[2], x[3]);
        dims4(yd, y[0], y[1], y[2], y[3]);
        dnnl_memory_desc_init_by_tag(&s_md, 4, xd, b->dt, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&w_md, 5, w5, b->dt, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x);
        dnnl_memory_desc_init_by_tag(&d_md, 4, yd, b->dt, dnnl_format_tag_any);
        dnnl_primitive_desc_t pd = NULL;
        bb_err ignore = {0};
        if (conv_pd(b, op, dnnl_convolution_direct, &s_md, &w_md, &b_md, &d_md, &pd, &ignore) == 0) {
            weak[i] = cpu_is_gemm_or_ref(pd);
            dnnl_primitive_desc_destroy(pd);
        }
        merge = i ? !weak[1] : weak[0];
    }
    return (int)(merge ? gr / f : gr);
}

static int lower_conv(bb_backend *b, const bb_op *orig, bb_err *err)
{
    /* op: what the primitive computes; orig names the step */
    bb_op local = *orig;
    int defer = defers_silu(b, orig);
    if (defer)
        local.post_act = BB_ACT_NONE;
    const bb_op *op = &local;
    int64_t x[BB_MAX_DIMS + 1], y[BB_MAX_DIMS + 1]; /* full shapes, [N, C, H, W] */
    if (cpu_full_shape(b, op->in[0], x) != 4 || cpu_full_shape(b, op->out, y) != 4 || op->groups < 1 ||
        x[1] % op->groups || y[1] % op->groups || op->sh < 1 || op->sw < 1 || op->dil_h < 1 || op->dil_w < 1)
        return bb_err_set(err, "cpu backend: conv '%s': needs 4-d input and output, channels divisible by "
                               "groups, strides and dilations >= 1", op->label);
    int src = b->tbuf[op->in[0]];
    if (op->groups > 1 && x[1] == op->groups && y[1] > x[1]) { /* a channel multiplier: as depthwise */
        if ((src = cpu_repeat_channels(b, op->in[0], y[1] / x[1], orig->label, err)) < 0)
            return -1;
        x[1] = y[1], local.groups = (int)y[1];
    }
    local.groups = merged_groups(b, op, x, y);
    int64_t oc = y[1], gr = op->groups, kh = op->kh, kw = op->kw;
    dnnl_memory_desc_t w_md, b_md, dst_md;
    dnnl_dims_t w5 = {gr, oc / gr, x[1] / gr, kh, kw}, w4 = {oc, x[1], kh, kw}, bd = {oc}, dd;
    dnnl_memory_desc_init_by_tag(&w_md, gr > 1 ? 5 : 4, gr > 1 ? w5 : w4, b->dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x);
    dims4(dd, y[0], oc, y[2], y[3]);
    if (op->sum_in >= 0)
        dst_md = b->bufs[b->tbuf[op->sum_in]].md;
    else
        dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, b->dt, dnnl_format_tag_any);
    dnnl_memory_desc_t any_src;
    dnnl_memory_desc_init_by_tag(&any_src, 4, b->bufs[src].md.dims, b->dt, dnnl_format_tag_any);
    dnnl_primitive_desc_t pd;
    /* Prefer the producer's layout; if oneDNN has only weak code for it
     * (is_weak_impl), or its data type differs, let the conv choose its
     * input layout and reorder to it (weak code still beats reference code:
     * a residual conv's output layout is fixed by the sum's tensor). */
    const dnnl_memory_desc_t *src_md = b->bufs[src].md.data_type == b->dt ? &b->bufs[src].md : &any_src;
    if (conv_pd(b, op, dnnl_convolution_direct, src_md, &w_md, &b_md, &dst_md, &pd, err) != 0)
        return -1;
    int wide = x[1] >= 16 || (gr > 1 && gr == x[1]); /* depthwise: GEMM is weak at any width */
    if (op->sum_in >= 0 && cpu_is_gemm_or_ref(pd))
        pd = sum_in_own_layout(b, op, pd, src_md, &w_md, &b_md, dd, &dst_md, wide);
    if (is_weak_impl(pd, wide) && src_md != &any_src && op->sum_in < 0)
        pd = blocked_like_input(b, op, pd, src_md, &w_md, &b_md, dd, wide);
    if (is_weak_impl(pd, wide) && src_md != &any_src) {
        dnnl_primitive_desc_t alt;
        if (conv_pd(b, op, dnnl_convolution_direct, &any_src, &w_md, &b_md, &dst_md, &alt, err) == 0 &&
            (!is_weak_impl(alt, wide) || (is_ref_impl(pd) && !is_ref_impl(alt)))) {
            dnnl_primitive_desc_destroy(pd);
            pd = alt;
        } else if (alt) {
            dnnl_primitive_desc_destroy(alt);
        }
    }
    int64_t icg = x[1] / gr, ocg = oc / gr; /* per group; grouped, not depthwise: resnext50's 4-32 */
    if (b->dt == dnnl_f32 && b->algo_policy == 0 && op->sum_in < 0 && (gr == 1 || icg > 1) && (icg % 16 || ocg % 16))
        pd = better_layout(b, op, pd, &b->bufs[src].md, &w_md, &b_md, &dst_md);
    /* Winograd F(4x4, 3x3): 3x3, stride 1, no dilation; f32 only in oneDNN */
    if (cpu_wino_fits(b, op, x, y)) {
        int own = cpu_try_own_winograd(b, op, orig, x, y, &pd, defer, err);
        if (own != 0)
            return own < 0 ? -1 : 0;
    } else if (kh == 3 && kw == 3 && op->sh == 1 && op->sw == 1 && op->dil_h == 1 && op->dil_w == 1 && gr == 1 &&
               b->dt == dnnl_f32) {
        pd = try_winograd(b, op, pd, &b->bufs[src].md, &w_md, &b_md, &defer);
    }
    dnnl_memory_t wm, bm;
    cpu_step *step = NULL;
    int rc = cpu_conv_weights(b, op, pd, &wm, &bm, err);
    if (rc == 0)
        src = src == b->tbuf[op->in[0]] ? cpu_tensor_as(b, op->in[0], cpu_q_md(pd, dnnl_query_src_md), err)
                                        : cpu_buf_as(b, src, cpu_q_md(pd, dnnl_query_src_md), err);
    if (src >= 0 && src != b->tbuf[op->in[0]] && b->rep_t == op->in[0])
        b->rep_buf = src; /* the repeated channels in this layout, for the next conv on them */
    if (rc == 0 && src >= 0 && op->sum_in >= 0) /* sum_in_own_layout's choice */
        rc = cpu_tensor_as(b, op->sum_in, cpu_q_md(pd, dnnl_query_dst_md), err) < 0 ? -1 : 0;
    if (rc == 0 && src >= 0) {
        int dst = cpu_dst_buf(b, op, cpu_q_md(pd, dnnl_query_dst_md));
        b->bufs[dst].owes_silu = defer;
        step = cpu_step_from_pd(b, orig, pd, err);
        if (step) {
            cpu_arg_buf(b, step, DNNL_ARG_SRC, src);
            cpu_arg_mem(step, DNNL_ARG_WEIGHTS, wm);
            cpu_arg_mem(step, DNNL_ARG_BIAS, bm);
            cpu_arg_buf(b, step, DNNL_ARG_DST, dst);
        }
    }
    dnnl_primitive_desc_destroy(pd);
    return step ? 0 : -1;
}

/* Rows at least this long are normalised by our kernel (K_LNORM), the
 * threads sharing each row: oneDNN 2.6's layer norm gives a row to one
 * thread, and an InstanceNormalization (or a GroupNorm of one group) over
 * C*H*W has one row per item: PoolFormer's 64 x 56 x 56 at batch 1 ran on
 * one of the two threads. A ViT's rows (768-1024) stay with oneDNN. */
#define LNORM_LONG_ROW 4096

static int lower_layernorm(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    int64_t x[BB_MAX_DIMS + 1], m = 1;
    int nd = cpu_full_shape(b, op->in[0], x);
    for (int i = 0; i < nd - 1; i++)
        m *= x[i];
    int64_t d = x[nd - 1]; /* over the last full axis (not always the last per-item dim) */
    int src = cpu_tensor_plain(b, op->in[0], b->dt, err);
    if (src < 0)
        return -1;
    dnnl_memory_desc_t md, p_md;
    cpu_md_2d(&md, m, d, b->dt);
    if (b->dt == dnnl_f32 && d >= LNORM_LONG_ROW) { /* our kernel: the threads share each row */
        int dst = cpu_dst_buf(b, op, &md);
        cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
        s->kernel = K_LNORM, s->kin = src, s->kout = dst, s->p[0] = m, s->p[1] = d;
        s->kw = g->tensors[op->w].data, s->kb = g->tensors[op->b].data, s->keps = op->eps;
        cpu_touch(b, src);
        cpu_touch(b, dst);
        return 0;
    }
    cpu_md_plain(&p_md, 1, &d, dnnl_f32);
    dnnl_layer_normalization_desc_t ld;
    DNNL_CHECK(dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &md, NULL,
                                                          op->eps, dnnl_use_scale | dnnl_use_shift),
               err, "layer norm descriptor", op->label);
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &ld, b->attr, b->eng, NULL), err, "layer norm", op->label);
    dnnl_memory_t sm, hm;
    cpu_step *step = NULL;
    if (cpu_pack(b, &p_md, g->tensors[op->w].data, &p_md, &sm, err) == 0 &&
        cpu_pack(b, &p_md, g->tensors[op->b].data, &p_md, &hm, err) == 0) {
        int dst = cpu_dst_buf(b, op, &md);
        step = cpu_step_from_pd(b, op, pd, err);
        if (step) {
            cpu_arg_buf(b, step, DNNL_ARG_SRC, src);
            cpu_arg_mem(step, DNNL_ARG_SCALE, sm);
            cpu_arg_mem(step, DNNL_ARG_SHIFT, hm);
            cpu_arg_buf(b, step, DNNL_ARG_DST, dst);
        }
    }
    dnnl_primitive_desc_destroy(pd);
    return step ? 0 : -1;
}

/* A global average pool by our kernel (cpu_kernels.c), in one pass: with
 * the SiLU its producer left undone, applied in place (silu_gap: the SE
 * block's pooling), or alone (gap). */
static int lower_kernel_gap(bb_backend *b, const bb_op *op, cpu_kernel k)
{
    int src = b->tbuf[op->in[0]];
    dnnl_memory_desc_t md;
    int64_t d[BB_MAX_DIMS + 1];
    cpu_md_plain(&md, bb_tensor_shape(b->g, op->out, b->batch, d), d, dnnl_f32);
    int dst = cpu_dst_buf(b, op, &md);
    cpu_step *s = cpu_add_step(b, op->label, bb_op_type_name(op->type));
    s->kernel = k;
    s->kin = src, s->kout = dst;
    cpu_touch(b, src);
    cpu_touch(b, dst);
    b->bufs[src].owes_silu = 0;
    return 0;
}

/* Applies the SiLU that tensor t's producer left undone (defers_silu), in
 * place, before anything reads t: our kernel where it knows the layout,
 * oneDNN's eltwise otherwise. */
static int settle_silu(bb_backend *b, int t, bb_err *err)
{
    int buf = b->tbuf[t], p = bb_producer(b->g, t);
    if (!b->bufs[buf].owes_silu)
        return 0;
    b->bufs[buf].owes_silu = 0;
    const char *label = p >= 0 ? b->g->ops[p].label : "silu";
    if (cpu_silu_layout_ok(&b->bufs[buf].md)) {
        cpu_step *s = cpu_add_step(b, label, "silu");
        s->kernel = K_SILU;
        s->kin = s->kout = buf;
        cpu_touch(b, buf);
        return 0;
    }
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, dnnl_eltwise_swish, &b->bufs[buf].md,
                                              1.f, 0.f),
               err, "eltwise descriptor", label);
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &ed, b->attr, b->eng, NULL), err, "eltwise", label);
    cpu_step *s = cpu_add_step(b, label, "silu");
    dnnl_status_t st = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    DNNL_CHECK(st, err, "eltwise primitive", label);
    cpu_arg_buf(b, s, DNNL_ARG_SRC, buf);
    cpu_arg_buf(b, s, DNNL_ARG_DST, buf);
    return 0;
}

/* Max or average pool with the op's window, or global average pool (the
 * window H x W). The output keeps the input's data type. oneDNN checks the
 * output size against the window: an importer's ceil_mode, folded into
 * pad_b / pad_r, passes as padding (which avg_include_padding counts). */
static int lower_pool(bb_backend *b, const bb_op *op, bb_err *err)
{
    int64_t x[BB_MAX_DIMS + 1], y[BB_MAX_DIMS + 1];
    int gap = op->type == BB_OP_GAP; /* its output is [N, C], run as [N, C, 1, 1] */
    if (cpu_full_shape(b, op->in[0], x) != 4 || cpu_full_shape(b, op->out, y) != (gap ? 2 : 4))
        return bb_err_set(err, "cpu backend: pool '%s' (%s): needs a 4-d input and a %s output", op->label,
                          bb_op_type_name(op->type), gap ? "2-d" : "4-d");
    dnnl_dims_t dd, st = {1, 1}, kk = {x[2], x[3]}, dil = {0, 0}, pad_l = {0, 0}, pad_r = {0, 0};
    if (!gap) {
        st[0] = op->sh, st[1] = op->sw, kk[0] = op->kh, kk[1] = op->kw;
        dil[0] = op->dil_h - 1, dil[1] = op->dil_w - 1;
        pad_l[0] = op->pad_t, pad_l[1] = op->pad_l, pad_r[0] = op->pad_b, pad_r[1] = op->pad_r;
    }
    dnnl_alg_kind_t alg = op->type == BB_OP_MAXPOOL ? dnnl_pooling_max
                          : op->type == BB_OP_AVGPOOL && op->count_include_pad ? dnnl_pooling_avg_include_padding
                                                                               : dnnl_pooling_avg_exclude_padding;
    int src = b->tbuf[op->in[0]];
    dims4(dd, x[0], x[1], gap ? 1 : y[2], gap ? 1 : y[3]);
    dnnl_memory_desc_t dst_md;
    dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, b->bufs[src].md.data_type, dnnl_format_tag_any);
    dnnl_primitive_desc_t pd = NULL;
    /* A plain input oneDNN pools with its simple C++ code (AVX2: 52 ms
     * where its jit code on nChw8c takes 3.4, a resnet stem's max pool at
     * batch 8) goes through a reorder to the channel-blocked layout first. */
    for (int pass = 0; pass < 2; pass++) {
        dnnl_pooling_v2_desc_t pdsc;
        DNNL_CHECK(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg, &b->bufs[src].md, &dst_md, st,
                                                     kk, dil, pad_l, pad_r),
                   err, "pooling descriptor (window against output size)", op->label);
        DNNL_CHECK(dnnl_primitive_desc_create(&pd, &pdsc, b->attr, b->eng, NULL), err, "pooling", op->label);
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (pass || gap || !cpu_md_is_plain(&b->bufs[src].md) || !impl ||
            (strncmp(impl, "simple", 6) && !cpu_is_ref_impl(impl)))
            break;
        dnnl_memory_desc_t blocked;
        dnnl_memory_desc_init_by_tag(&blocked, 4, (dnnl_dims_t){x[0], x[1], x[2], x[3]},
                                     b->bufs[src].md.data_type, cpu_channel_block_tag());
        dnnl_primitive_desc_destroy(pd);
        if ((src = cpu_tensor_as(b, op->in[0], &blocked, err)) < 0)
            return -1;
    }
    int dst = cpu_dst_buf(b, op, cpu_q_md(pd, dnnl_query_dst_md));
    cpu_step *step = cpu_step_from_pd(b, op, pd, err);
    if (step) {
        cpu_arg_buf(b, step, DNNL_ARG_SRC, src);
        cpu_arg_buf(b, step, DNNL_ARG_DST, dst);
    }
    dnnl_primitive_desc_destroy(pd);
    return step ? 0 : -1;
}

/* Binary op: residual add, or SE scaling (x [N,C,H,W] * s [N,C,1,1]). */
static int lower_binary(bb_backend *b, const bb_op *op, bb_err *err)
{
    int a = b->tbuf[op->in[0]], s;
    dnnl_memory_desc_t s_md;
    if (op->type == BB_OP_SE_SCALE) {
        int64_t x[BB_MAX_DIMS + 1];
        cpu_full_shape(b, op->in[0], x);
        int64_t d[4] = {x[0], x[1], 1, 1};
        s = cpu_tensor_plain(b, op->in[1], b->dt, err);
        cpu_md_per_channel(&s_md, d, &b->bufs[a].md, b->dt);
    } else if (!cpu_md_has_dims(&b->bufs[a].md, b->bufs[b->tbuf[op->in[1]]].md.ndims,
                                b->bufs[b->tbuf[op->in[1]]].md.dims)) {
        /* e.g. a linear's [N*L,D] plus tokens' [N,L,D]: both dense, as views
         * of the tensors' full shape */
        a = cpu_tensor_full_plain(b, op->in[0], b->dt, err);
        s = a < 0 ? -1 : cpu_tensor_full_plain(b, op->in[1], b->dt, err);
        if (s >= 0)
            s_md = b->bufs[a].md;
    } else {
        s = cpu_tensor_as(b, op->in[1], &b->bufs[a].md, err);
        s_md = b->bufs[a].md;
    }
    if (s < 0)
        return -1;
    dnnl_binary_desc_t bd;
    DNNL_CHECK(dnnl_binary_desc_init(&bd, op->type == BB_OP_ADD ? dnnl_binary_add : dnnl_binary_mul,
                                     &b->bufs[a].md, &s_md, &b->bufs[a].md),
               err, "binary descriptor", op->label);
    dnnl_primitive_desc_t pd;
    DNNL_CHECK(dnnl_primitive_desc_create(&pd, &bd, b->attr, b->eng, NULL), err, "binary", op->label);
    int dst = cpu_dst_buf(b, op, &b->bufs[a].md);
    cpu_step *step = cpu_step_from_pd(b, op, pd, err);
    if (step) {
        cpu_arg_buf(b, step, DNNL_ARG_SRC_0, a);
        cpu_arg_buf(b, step, DNNL_ARG_SRC_1, s);
        cpu_arg_buf(b, step, DNNL_ARG_DST, dst);
    }
    dnnl_primitive_desc_destroy(pd);
    return step ? 0 : -1;
}

/* Ops with no oneDNN primitive: dense row-major in, dense row-major out. */
static int lower_kernel(bb_backend *b, const bb_op *op, cpu_kernel kind, bb_err *err)
{
    const bb_graph *g = b->g;
    const bb_tensor *x = &g->tensors[op->in[0]], *y = &g->tensors[op->out];
    int src = cpu_tensor_plain(b, op->in[0], dnnl_f32, err); /* kernels compute in f32 */
    if (src < 0)
        return -1;
    dnnl_memory_desc_t md;
    int64_t d[BB_MAX_DIMS + 1];
    int nd = bb_tensor_shape(g, op->out, b->batch, d);
    cpu_md_plain(&md, nd, d, dnnl_f32);
    cpu_step *s = cpu_add_kernel_step(b, op, kind, src, cpu_dst_buf(b, op, &md));
    s->p[0] = b->batch;
    if (kind == K_ATTENTION) {
        s->p[1] = y->dims[0], s->p[2] = y->dims[1], s->p[3] = op->heads;
        int64_t need = (int64_t)b->threads * y->dims[0] * y->dims[0];
        if (need > b->scratch_floats)
            b->scratch_floats = need;
    } else if (kind == K_TOKENS) {
        s->p[1] = x->dims[0], s->p[2] = x->dims[1] * x->dims[2];
        s->kw = g->tensors[op->w].data, s->kb = g->tensors[op->b].data;
    } else {
        s->p[1] = x->dims[0], s->p[2] = x->dims[1];
    }
    return 0;
}

/* What an op may take as a constant (param / buffer) input. */
static int takes_constants(bb_op_type t)
{
    return t == BB_OP_BINARY || t == BB_OP_MATMUL || t == BB_OP_CONCAT || t == BB_OP_EXPAND;
}

/* Ops whose input buffer must carry the tensor's full (4-d) shape. */
static int wants_full_input(bb_op_type t)
{
    return t == BB_OP_CONV || t == BB_OP_MAXPOOL || t == BB_OP_AVGPOOL || t == BB_OP_GAP || t == BB_OP_BATCHNORM ||
           t == BB_OP_RESIZE || t == BB_OP_GROUPNORM;
}

/* Inputs: computed activations (SiLUs owed settled), or constants where
 * the op takes them; fused activations: ones a post-op can apply. */
static int check_inputs(bb_backend *b, const bb_op *op, bb_err *err)
{
    if (op->n_in < 1 || op->out < 0)
        return bb_err_set(err, "cpu backend: op '%s' (%s) has no input or output", op->label,
                          bb_op_type_name(op->type));
    for (int i = 0; i < op->n_in; i++) {
        int t = op->in[i];
        if (t < 0 || t >= b->g->n_tensors)
            return bb_err_set(err, "cpu backend: op '%s' (%s): input %d is not a tensor", op->label,
                              bb_op_type_name(op->type), i);
        if (cpu_is_const(b->g, t) && !takes_constants(op->type))
            return bb_err_set(err, "cpu backend: op '%s' (%s): input %d is a constant; constants are taken "
                                   "only by binary, matmul, concat and expand", op->label, bb_op_type_name(op->type), i);
        if (!cpu_is_const(b->g, t) && b->tbuf[t] < 0)
            return bb_err_set(err, "cpu backend: op '%s' (%s): input %d is not computed before it", op->label,
                              bb_op_type_name(op->type), i);
        if (!cpu_is_const(b->g, t) && settle_silu(b, t, err) != 0)
            return -1;
    }
    if (op->sum_in >= 0 && settle_silu(b, op->sum_in, err) != 0)
        return -1;
    float alpha, beta;
    if ((op->post_act && cpu_act_alg(op->post_act, &alpha, &beta) == dnnl_alg_kind_undef) ||
        (op->sum_act && cpu_act_alg(op->sum_act, &alpha, &beta) == dnnl_alg_kind_undef))
        return bb_err_set(err, "cpu backend: op '%s' (%s): a fused %s cannot run as a post-op (it needs its own "
                               "parameters or has no oneDNN eltwise); leave it a separate act op",
                          op->label, bb_op_type_name(op->type), bb_act_name(op->post_act ? op->post_act : op->sum_act));
    if (wants_full_input(op->type) && cpu_tensor_full(b, op->in[0], err) < 0)
        return -1;
    return 0;
}

int cpu_lower_op(bb_backend *b, const bb_op *op, bb_err *err)
{
    int x = op->n_in > 0 && op->in[0] >= 0 && op->in[0] < b->g->n_tensors ? b->tbuf[op->in[0]] : -1;
    if (op->type == BB_OP_GAP && x >= 0 && b->bufs[x].owes_silu && cpu_silu_layout_ok(&b->bufs[x].md))
        return lower_kernel_gap(b, op, K_SILU_GAP);
    if (check_inputs(b, op, err) != 0)
        return -1;
    switch (op->type) {
    case BB_OP_CONV: return lower_conv(b, op, err);
    case BB_OP_LINEAR: return cpu_lower_linear(b, op, err);
    case BB_OP_LAYERNORM: return lower_layernorm(b, op, err);
    case BB_OP_GAP: /* check_inputs may have given the input another buffer */
        if (cpu_silu_layout_ok(&b->bufs[b->tbuf[op->in[0]]].md))
            return lower_kernel_gap(b, op, K_GAP);
        return lower_pool(b, op, err);
    case BB_OP_MAXPOOL:
    case BB_OP_AVGPOOL: return lower_pool(b, op, err);
    case BB_OP_ADD:
    case BB_OP_SE_SCALE: return lower_binary(b, op, err);
    case BB_OP_ACT: return cpu_lower_act(b, op, err);
    case BB_OP_BATCHNORM: return cpu_lower_batchnorm(b, op, err);
    case BB_OP_GROUPNORM: return cpu_lower_groupnorm(b, op, err);
    case BB_OP_LSTM:
    case BB_OP_GRU: return cpu_lower_rnn(b, op, err);
    case BB_OP_ATTENTION: return lower_kernel(b, op, K_ATTENTION, err);
    case BB_OP_TOKENS: return lower_kernel(b, op, K_TOKENS, err);
    case BB_OP_CLS_SELECT: return lower_kernel(b, op, K_CLS_SELECT, err);
    case BB_OP_BINARY:
    case BB_OP_MATMUL:
    case BB_OP_TRANSPOSE:
    case BB_OP_RESHAPE:
    case BB_OP_CONCAT:
    case BB_OP_SLICE:
    case BB_OP_SOFTMAX:
    case BB_OP_REDUCE_MEAN:
    case BB_OP_PAD:
    case BB_OP_EXPAND:
    case BB_OP_RESIZE: return cpu_lower_generic(b, op, err);
    default:
        return bb_err_set(err, "cpu backend: op '%s' (%s) is not supported here", op->label,
                          bb_op_type_name(op->type));
    }
}

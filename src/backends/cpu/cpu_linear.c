/*
 * cpu_linear.c — a linear layer, [M, K] x [K, O] over all leading dims
 * (+ bias, activation, residual sum), the fastest of three ways, measured;
 * one of at most 4 rows (an RNN's step at batch 1) on our kernel (cpu_gemv.c).
 *
 * Why it exists: oneDNN 2.6 has no single best primitive for it on AVX2.
 * Its matmul runs on its jit sgemm, which packs the weights again on every
 * call, and how fast that is depends on the weights' layout: ViT-B's
 * [197, 768] x [768, 3072] took 10.3 ms with them as oneDNN asks for them
 * ([K, O] row-major) and 5.4 ms as the model stores them ([O, K]). A 1x1
 * convolution over a [1, K, M, 1] image in NHWC, which is the same bytes as
 * the [M, K] rows, keeps the weights packed once at prepare time in its
 * own blocked layout: 16-24% faster again than the better matmul on the
 * AVX2 host for every ViT shape (M 50-197, K and O 768-4096), where ONNX
 * Runtime's MLAS (weights packed once too) had been 7-25% ahead. Which way
 * wins depends on the CPU and the shape, so, like the conv algorithms
 * (cpu_conv_algo.c), the candidates are raced at prepare time, once per
 * distinct layer, and the first (the matmul as oneDNN asks) is kept unless
 * another is clearly faster. cpu.algo=always takes the last candidate
 * that exists, never the first.
 */

#include "backends/cpu/cpu_internal.h"

enum { AS_ASKED, AS_STORED, AS_CONV, N_WAYS };

/* The 1x1 conv of the same product; NULL where oneDNN has only im2col +
 * GEMM or reference code for it. */
static dnnl_primitive_desc_t conv_way(bb_backend *b, int64_t m, int64_t k, int64_t o, int bias,
                                      const_dnnl_primitive_attr_t attr)
{
    dnnl_memory_desc_t s_md, w_md, b_md, d_md;
    dnnl_dims_t sd = {1, k, m, 1}, wd = {o, k, 1, 1}, bd = {o}, dd = {1, o, m, 1}, one = {1, 1}, none = {0, 0};
    dnnl_memory_desc_init_by_tag(&s_md, 4, sd, b->dt, dnnl_nhwc);
    dnnl_memory_desc_init_by_tag(&w_md, 4, wd, b->dt, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&d_md, 4, dd, b->dt, dnnl_nhwc);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &s_md, &w_md,
                                           bias ? &b_md : NULL, &d_md, one, none, none) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &cd, attr, b->eng, NULL) != dnnl_success)
        return NULL;
    if (cpu_is_gemm_or_ref(pd)) {
        dnnl_primitive_desc_destroy(pd);
        return NULL;
    }
    return pd;
}

/* The matmul with weights [K, O] in `tag` (any: as oneDNN asks). */
static dnnl_primitive_desc_t matmul_way(bb_backend *b, int64_t m, int64_t k, int64_t o, int bias,
                                        dnnl_format_tag_t tag, const_dnnl_primitive_attr_t attr)
{
    dnnl_memory_desc_t s_md, w_md, b_md, d_md;
    dnnl_dims_t wd = {k, o};
    cpu_md_2d(&s_md, m, k, b->dt);
    cpu_md_2d(&d_md, m, o, b->dt);
    cpu_md_2d(&b_md, 1, o, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&w_md, 2, wd, b->dt, tag);
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&md, &s_md, &w_md, bias ? &b_md : NULL, &d_md) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &md, attr, b->eng, NULL) != dnnl_success)
        return NULL;
    return pd;
}

/* Which way runs (pd[AS_ASKED] exists): measured, remembered per distinct
 * layer, or forced by cpu.algo. Destroys the others. */
static int pick_way(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *have, dnnl_primitive_desc_t pd[N_WAYS])
{
    if (pd[AS_STORED] && dnnl_memory_desc_equal(cpu_q_md(pd[AS_ASKED], dnnl_query_weights_md),
                                                cpu_q_md(pd[AS_STORED], dnnl_query_weights_md))) {
        dnnl_primitive_desc_destroy(pd[AS_STORED]);
        pd[AS_STORED] = NULL;
    }
    const bb_tensor *w = &b->g->tensors[op->w];
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_LINEAR, w->dims[0], w->dims[1], key);
    int take = b->algo_policy < 0 ? AS_ASKED : b->algo_policy == 0 ? cpu_choice_get(b, key, have, NULL) : -1;
    for (int i = N_WAYS - 1; take < 0 && b->algo_policy > 0 && i >= 0; i--)
        take = pd[i] ? i : -1;
    cpu_chain race[N_WAYS];
    int way[N_WAYS], n = 0;
    for (int i = 0; i < N_WAYS; i++)
        if (pd[i])
            race[n] = (cpu_chain){{pd[i]}, 1}, way[n++] = i;
    if (take < 0 && n == 1)
        take = AS_ASKED; /* nothing to race (bf16) */
    if (take < 0) {
        double t[N_WAYS];
        cpu_time_race(b, race, n, 0, t);
        int best = 0; /* race[0] is AS_ASKED; another wins clearly or not at all: noisy timing */
        for (int j = 1; j < n; j++)
            if (t[j] > 0 && t[0] > 0 && t[j] < 0.95 * t[0] && (best == 0 || t[j] < t[best]))
                best = j;
        take = way[best];
        cpu_choice_put(b, key, have, NULL, take);
    }
    if (take >= N_WAYS || !pd[take])
        take = AS_ASKED; /* a remembered pick whose way this layer lacks */
    for (int i = 0; i < N_WAYS; i++)
        if (i != take && pd[i])
            dnnl_primitive_desc_destroy(pd[i]);
    return take;
}

int cpu_lower_linear(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    const bb_tensor *wt = &g->tensors[op->w];
    int64_t o = wt->dims[0], k = wt->dims[1];
    int64_t m = b->batch * bb_tensor_numel(&g->tensors[op->in[0]]) / k;
    int src = cpu_tensor_plain(b, op->in[0], b->dt, err);
    if (src < 0 || (op->sum_in >= 0 && cpu_tensor_plain(b, op->sum_in, b->dt, err) < 0))
        return -1;
    if (cpu_gemv_fits(b, op, m))
        return cpu_lower_gemv(b, op, src, m, k, o, err);
    int bias = op->b >= 0;
    dnnl_primitive_attr_t attr = cpu_post_ops_attr(op);
    dnnl_primitive_desc_t pd[N_WAYS] = {matmul_way(b, m, k, o, bias, dnnl_format_tag_any, attr)};
    if (pd[AS_ASKED] && b->dt == dnnl_f32) {
        pd[AS_STORED] = matmul_way(b, m, k, o, bias, dnnl_ba, attr);
        pd[AS_CONV] = conv_way(b, m, k, o, bias, attr);
    }
    dnnl_primitive_attr_destroy(attr);
    if (!pd[AS_ASKED])
        return bb_err_set(err, "oneDNN: no matmul for '%s' ([%lld, %lld] x [%lld, %lld])", op->label, (long long)m,
                          (long long)k, (long long)k, (long long)o);
    int way = pick_way(b, op, &b->bufs[src].md, pd);
    /* the weights as stored: [O, K] is the matmul's [K, O] in ba, the conv's oihw */
    dnnl_memory_desc_t w_user, d_md;
    dnnl_dims_t wd2 = {k, o}, wd4 = {o, k, 1, 1};
    if (way == AS_CONV)
        dnnl_memory_desc_init_by_tag(&w_user, 4, wd4, dnnl_f32, dnnl_oihw);
    else
        dnnl_memory_desc_init_by_tag(&w_user, 2, wd2, dnnl_f32, dnnl_ba);
    const dnnl_memory_desc_t *b_md = dnnl_primitive_desc_query_md(pd[way], dnnl_query_weights_md, 1);
    cpu_md_2d(&d_md, m, o, b->dt);
    dnnl_memory_t wm, bm = NULL;
    cpu_step *step = NULL;
    int rc = cpu_pack_shared(b, &w_user, wt->data, cpu_q_md(pd[way], dnnl_query_weights_md), &wm, err);
    if (rc == 0 && bias)
        rc = cpu_pack_shared(b, b_md, g->tensors[op->b].data, b_md, &bm, err);
    if (rc == 0) {
        int dst = cpu_dst_buf(b, op, &d_md);
        if (way == AS_CONV) /* the same bytes, seen as [1, K, M, 1] and [1, O, M, 1] in NHWC */
            src = cpu_view_buf(b, src, cpu_q_md(pd[way], dnnl_query_src_md)),
            dst = cpu_view_buf(b, dst, cpu_q_md(pd[way], dnnl_query_dst_md));
        step = cpu_step_from_pd(b, op, pd[way], err);
        if (step) {
            cpu_arg_buf(b, step, DNNL_ARG_SRC, src);
            cpu_arg_mem(step, DNNL_ARG_WEIGHTS, wm);
            if (bm)
                cpu_arg_mem(step, DNNL_ARG_BIAS, bm);
            cpu_arg_buf(b, step, DNNL_ARG_DST, dst);
        }
    }
    dnnl_primitive_desc_destroy(pd[way]);
    return step ? 0 : -1;
}

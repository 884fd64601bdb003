/*
 * cpu_conv_algo.c — per convolution, the faster of oneDNN's direct and
 * Winograd algorithms, measured.
 *
 * Winograd F(4x4, 3x3) does a 3x3 stride-1 convolution with about 2-4x
 * fewer multiplications, at the cost of transforms whose share grows when
 * channels are few or the image is small; whether it wins depends on the
 * shape and the machine (on the 2-core AVX-512 VM ResNet's and
 * EfficientNetV2's 3x3 layers run 2-2.7x faster, the latter with their SiLU
 * moved out to our kernel, see try_winograd in cpu_ops.c). So, like cuDNN's
 * algorithm search, both primitives run on scratch memory of their own
 * layouts at prepare time, each with the work it brings along, and the
 * faster one is kept. Its error stays within the fp32 parity bound (tested:
 * resnet18-152, efficientnet_v2_s/l: max relative error <= 2e-6).
 *
 * Also home of the timers every measured choice of the CPU backend uses:
 * one primitive on warm scratch memory, or a chain of them from a cold
 * cache (cpu_conv_dw.c, where an intermediate tensor's trip to memory is
 * what is being decided); and of the memo that makes each choice once per
 * distinct conv: ResNet-152's 36 identical layer3 blocks, EfficientNetV2-L's
 * stages of 7-25 identical blocks are timed once each (prepare took 3.8 and
 * 7.9 s at batch 8, timing all but 0.2-0.7 s of it), and identical layers
 * get the same pick rather than one each from a noisy timer.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "util/clock.h"
#include "util/grow.h"

#define CHAIN_MAX 4
#define FLUSH_BYTES (64 << 20) /* twice this machine kind's L3 */

typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t ex[6];
    int n, owns_src;
} chain_step;

/* Scratch memory (zeroed) for every argument of pd; the source is `src`
 * when given (the previous step's output). 0, or -1 when it cannot run. */
static int step_init(bb_backend *b, const_dnnl_primitive_desc_t pd, dnnl_memory_t src, chain_step *c)
{
    static const int args[6] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST,
                                DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS};
    memset(c, 0, sizeof *c);
    if (dnnl_primitive_create(&c->prim, pd) != dnnl_success)
        return -1;
    for (int i = 0; i < 6; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, args[i]);
        if (!md || md->ndims == 0)
            continue;
        void *h = NULL;
        c->ex[c->n].arg = args[i];
        if (args[i] == DNNL_ARG_SRC && src) {
            c->ex[c->n++].memory = src;
            continue;
        }
        if (dnnl_memory_create(&c->ex[c->n].memory, md, b->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success)
            return -1;
        c->owns_src |= args[i] == DNNL_ARG_SRC;
        dnnl_memory_get_data_handle(c->ex[c->n++].memory, &h);
        memset(h, 0, dnnl_memory_desc_get_size(md));
    }
    return 0;
}

static dnnl_memory_t step_dst(const chain_step *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->ex[i].arg == DNNL_ARG_DST)
            return c->ex[i].memory;
    return NULL;
}

static void step_free(chain_step *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->ex[i].arg != DNNL_ARG_SRC || c->owns_src)
            dnnl_memory_destroy(c->ex[i].memory);
    dnnl_primitive_destroy(c->prim);
}

double cpu_time_chain(bb_backend *b, const_dnnl_primitive_desc_t *pds, int n, int cold)
{
    chain_step c[CHAIN_MAX];
    int made = 0, ok = n > 0 && n <= CHAIN_MAX;
    for (; ok && made < n; made++)
        ok = step_init(b, pds[made], made ? step_dst(&c[made - 1]) : NULL, &c[made]) == 0;
    char *flush = ok && cold ? malloc(FLUSH_BYTES) : NULL;
    ok = ok && (!cold || flush);
    double best = -1.0;
    for (int r = 0; ok && r < 5; r++) {
        if (flush)
            memset(flush, r, FLUSH_BYTES); /* evicts the previous run's data */
        double t0 = bb_now_s();
        for (int i = 0; ok && i < n; i++)
            ok = dnnl_primitive_execute(c[i].prim, b->stream, c[i].n, c[i].ex) == dnnl_success;
        ok = ok && dnnl_stream_wait(b->stream) == dnnl_success;
        double t = bb_now_s() - t0;
        if (ok && r > 0 && (best < 0 || t < best))
            best = t;
    }
    free(flush);
    for (int i = 0; i < made; i++)
        step_free(&c[i]);
    return ok ? best : -1.0;
}

double cpu_time_pd(bb_backend *b, const_dnnl_primitive_desc_t pd)
{
    return cpu_time_chain(b, &pd, 1, 0);
}

double cpu_reorder_seconds(bb_backend *b, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_reorder_primitive_desc_create(&pd, from, b->eng, to, b->eng, NULL) != dnnl_success)
        return -1.0;
    double t = cpu_time_pd(b, pd);
    dnnl_primitive_desc_destroy(pd);
    return t;
}

void cpu_choice_key(const bb_backend *b, const bb_op *op, int kind, int64_t extra0, int64_t extra1,
                    int64_t key[CPU_CHOICE_KEY])
{
    /* per-item shapes (full shapes at batch 1: the batch is the backend's)
     * and the whole window, so two different windows never share a pick */
    int64_t x[BB_MAX_DIMS + 1] = {0}, y[BB_MAX_DIMS + 1] = {0};
    bb_tensor_shape(b->g, op->in[0], 1, x);
    bb_tensor_shape(b->g, op->out, 1, y);
    int64_t k[CPU_CHOICE_KEY] = {kind,      x[1],       x[2],       x[3],      y[1],       op->kh,
                                 op->kw,    op->sh,     op->sw,     op->pad_t, op->pad_l,  op->pad_b,
                                 op->pad_r, op->dil_h,  op->dil_w,  op->groups, op->post_act,
                                 op->sum_in >= 0, op->sum_act, extra0, extra1};
    memcpy(key, k, sizeof k);
}

static int same_md(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return (!a && !b) || (a && b && dnnl_memory_desc_equal(a, b));
}

int cpu_choice_get(const bb_backend *b, const int64_t key[CPU_CHOICE_KEY], const dnnl_memory_desc_t *have,
                   const dnnl_memory_desc_t *sum)
{
    for (int i = 0; i < b->n_choices; i++) {
        const cpu_choice *c = &b->choices[i];
        if (memcmp(c->key, key, sizeof c->key) == 0 && dnnl_memory_desc_equal(&c->have, have) &&
            same_md(c->sum.ndims ? &c->sum : NULL, sum))
            return c->pick;
    }
    return -1;
}

void cpu_choice_put(bb_backend *b, const int64_t key[CPU_CHOICE_KEY], const dnnl_memory_desc_t *have,
                    const dnnl_memory_desc_t *sum, int pick)
{
    b->choices = bb_grow(b->choices, &b->cap_choices, b->n_choices + 1, sizeof *b->choices);
    cpu_choice *c = &b->choices[b->n_choices++];
    memset(c, 0, sizeof *c);
    memcpy(c->key, key, sizeof c->key);
    c->have = *have;
    if (sum)
        c->sum = *sum;
    c->pick = pick;
}

double cpu_silu_seconds(bb_backend *b, const dnnl_memory_desc_t *md)
{
    size_t bytes = dnnl_memory_desc_get_size(md);
    float *x = cpu_silu_layout_ok(md) ? calloc(1, bytes) : NULL;
    if (!x)
        return -1.0;
    double best = -1.0;
    for (int r = 0; r < 5; r++) {
        double t0 = bb_now_s();
        cpu_silu_apply(b->threads, md, x, NULL);
        double t = bb_now_s() - t0;
        if (r > 0 && (best < 0 || t < best))
            best = t;
    }
    free(x);
    return best;
}

dnnl_primitive_desc_t cpu_conv_faster(bb_backend *b, dnnl_primitive_desc_t direct, double direct_extra,
                                      dnnl_primitive_desc_t wino, double wino_extra, int known, int *chose_wino)
{
    const char *impl = NULL;
    if (wino)
        dnnl_primitive_desc_query(wino, dnnl_query_impl_info_str, 0, &impl);
    int usable = wino && impl && strncmp(impl, "ref", 3) != 0 && direct_extra >= 0 && wino_extra >= 0;
    *chose_wino = 0;
    b->n_wino_candidates++;
    if (usable && b->algo_policy >= 0) {
        int take = b->algo_policy > 0 ? 1 : known;
        if (take < 0) {
            double td = cpu_time_pd(b, direct), tw = cpu_time_pd(b, wino);
            take = td > 0 && tw > 0 && tw + wino_extra < 0.95 * (td + direct_extra); /* a clear win only: noisy timing */
        }
        if (take) {
            b->n_wino++;
            *chose_wino = 1;
            dnnl_primitive_desc_destroy(direct);
            return wino;
        }
    }
    if (wino)
        dnnl_primitive_desc_destroy(wino);
    return direct;
}

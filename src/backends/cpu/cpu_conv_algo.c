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
 * what is being decided), the candidates of a choice raced round by round
 * rather than timed one after the other, so that a burst of load on the
 * shared 2-core VM (they last from milliseconds to seconds there) cannot
 * decide a choice by landing on one candidate only. Close calls still go
 * either way from one process to the next (efficientnet_b0 at batch 8:
 * 0 or 2 fused conv+depthwise pairs in 6 runs, 0-3 before). And home of
 * the memo that makes each choice once per distinct conv: ResNet-152's 36
 * identical layer3 blocks, EfficientNetV2-L's stages of 7-25 identical
 * blocks are timed once each (prepare took 3.8 and 7.9 s at batch 8, timing
 * all but 0.2-0.7 s of it), and identical layers get the same pick rather
 * than one each from a noisy timer.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "util/clock.h"
#include "util/grow.h"

#define RACE_ROUNDS 5 /* the first one warms up, as before the races */
#define FLUSH_BYTES (64 << 20) /* twice this machine kind's L3 */

typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t ex[7];
    int n, owns_src;
} chain_step;

/* Scratch memory (zeroed) for every argument of pd; the source is `src`
 * when given (the previous step's output). 0, or -1 when it cannot run. */
static int step_init(bb_backend *b, const_dnnl_primitive_desc_t pd, dnnl_memory_t src, chain_step *c)
{
    static const int args[7] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST,
                                DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                                DNNL_ARG_SCRATCHPAD};
    memset(c, 0, sizeof *c);
    if (dnnl_primitive_create(&c->prim, pd) != dnnl_success)
        return -1;
    for (int i = 0; i < 7; i++) {
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

/* A candidate's chain, built on scratch memory: ok = 0 when it cannot run. */
typedef struct {
    chain_step steps[CPU_CHAIN_MAX];
    int made, ok;
} built_chain;

static void chain_build(bb_backend *b, const cpu_chain *c, built_chain *out)
{
    out->made = 0;
    out->ok = c->n > 0 && c->n <= CPU_CHAIN_MAX;
    for (; out->ok && out->made < c->n; out->made++)
        out->ok = step_init(b, c->pds[out->made], out->made ? step_dst(&out->steps[out->made - 1]) : NULL,
                            &out->steps[out->made]) == 0;
}

static double chain_run(bb_backend *b, built_chain *c)
{
    double t0 = bb_now_s();
    for (int i = 0; c->ok && i < c->made; i++)
        c->ok = dnnl_primitive_execute(c->steps[i].prim, b->stream, c->steps[i].n, c->steps[i].ex) == dnnl_success;
    c->ok = c->ok && dnnl_stream_wait(b->stream) == dnnl_success;
    return bb_now_s() - t0;
}

static void chain_free(built_chain *c)
{
    for (int i = 0; i < c->made; i++)
        if (c->steps[i].prim)
            step_free(&c->steps[i]);
}

void cpu_time_race(bb_backend *b, const cpu_chain *cands, int k, int cold, double *best)
{
    built_chain c[CPU_RACE_MAX];
    k = k < CPU_RACE_MAX ? k : CPU_RACE_MAX;
    for (int i = 0; i < k; i++) {
        best[i] = -1.0;
        chain_build(b, &cands[i], &c[i]);
    }
    char *flush = cold ? malloc(FLUSH_BYTES) : NULL;
    for (int r = 0; r < RACE_ROUNDS && (!cold || flush); r++)
        for (int j = 0; j < k; j++) {
            built_chain *x = &c[(j + r) % k]; /* each round starts with the next candidate */
            if (!x->ok)
                continue;
            if (flush)
                memset(flush, r + j, FLUSH_BYTES); /* evicts the previous run's data */
            double t = chain_run(b, x);
            double *bt = &best[x - c];
            if (x->ok && r > 0 && (*bt < 0 || t < *bt))
                *bt = t;
            if (!x->ok)
                *bt = -1.0;
        }
    if (cold && !flush)
        for (int i = 0; i < k; i++)
            best[i] = -1.0;
    free(flush);
    for (int i = 0; i < k; i++)
        chain_free(&c[i]);
}

double cpu_time_chain(bb_backend *b, const_dnnl_primitive_desc_t *pds, int n, int cold)
{
    cpu_chain c = {.n = n};
    for (int i = 0; i < n && i < CPU_CHAIN_MAX; i++)
        c.pds[i] = pds[i];
    double t;
    cpu_time_race(b, &c, 1, cold, &t);
    return t;
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
        cpu_silu_apply(b->threads, md, x, NULL, 1);
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
            cpu_chain race[2] = {{{direct}, 1}, {{wino}, 1}};
            double t[2];
            cpu_time_race(b, race, 2, 0, t);
            double td = t[0], tw = t[1];
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

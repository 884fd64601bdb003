/*
 * cuda_sdpa.c — 16-bit self-attention through cuDNN's scaled-dot-product
 * attention, as a measured choice against batchbench's own kernel
 * (cuda_attention.cu).
 *
 * Why: cuDNN ships flash-attention engines tuned per GPU generation, and
 * PyTorch and TensorRT reach for them. Whether they beat our kernel on a
 * ViT's short sequences (50 to 197 tokens) is a measurement, so the
 * backend makes it: under cuda.attention=measured both run on the step's
 * own buffers and the faster is kept; cuda.attention=cudnn takes cuDNN's
 * wherever it has an engine. The default (fused) is our kernel alone.
 *
 * The graph is one operation, cuDNN's SDPA forward node
 * (CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, cuDNN 9.13.1 and later):
 * Q, K and V in, O out, the scale 1/sqrt(dh) passed by value; no mask, no
 * dropout, no statistics output. The tensors are [N, H, L, dh] views of
 * the buffers the kernel uses, with strides instead of copies:
 *   Q, K, V: the in-projection's output [N, L, 3D] read in place, strides
 *            {L*3D, dh, 3D, 1}, K and V starting D and 2D elements in;
 *   O:       the merged heads [N, L, D], strides {L*D, dh, D, 1}.
 * The scale's tensor is tried with one dim (as cuDNN's C++ frontend
 * declares a scalar), then with four (as the other tensors have).
 * Engines cuDNN compiles at run time are allowed here (unlike the convs'):
 * every layer of a ViT has the same shape, so one plan per batch size is
 * built and cached (b->attn_plans); of the heuristic's list, the first two
 * plans built are timed (each compile can take seconds).
 *
 * Only steps the kernel would run (ST_ATTENTION_FUSED: 16-bit, dh 64, up
 * to 256 tokens) are offered to cuDNN, so there is always the kernel to
 * fall back on; where cuDNN builds no plan, the kernel runs and
 * cuda.cudnn_log says why.
 *
 * Status: written without a GPU (2026-12-06); it compiles and links against
 * cuDNN 9.19, but has not run. scripts/gpu-session.sh's attention part
 * checks its parity and times it against the kernel on the first GPU day.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"

enum { UID_Q = 1, UID_K, UID_V, UID_O, UID_SCALE };

int cu_sdpa_wanted(const bb_backend *b)
{
    int v = b->opt.value[BB_OPT_CUDA_ATTENTION];
    return v == CU_ATTN_CUDNN || v == CU_ATTN_MEASURED;
}

/* The graph of step s: one SDPA forward node over views of its buffers,
 * the scale a by-value tensor of scale_nd dims (the frontend declares it
 * with one; the other tensors have four). */
static cudnnBackendDescriptor_t build_graph(bb_backend *b, const cu_step *s, int scale_nd, cu_dg *g)
{
    cudnnDataType_t dt = b->dt == CU_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16;
    const int64_t n = b->batch, l = s->shape[0], h = s->shape[1], dh = s->shape[2], d = h * dh;
    int64_t dims[4] = {n, h, l, dh}, in_st[4] = {l * 3 * d, dh, 3 * d, 1}, out_st[4] = {l * d, dh, d, 1};
    cudnnBackendDescriptor_t q = cu_dg_tensor(g, UID_Q, dt, 4, dims, in_st, 0);
    cudnnBackendDescriptor_t k = cu_dg_tensor(g, UID_K, dt, 4, dims, in_st, 0);
    cudnnBackendDescriptor_t v = cu_dg_tensor(g, UID_V, dt, 4, dims, in_st, 0);
    cudnnBackendDescriptor_t o = cu_dg_tensor(g, UID_O, dt, 4, dims, out_st, 0);
    cudnnBackendDescriptor_t scale = cu_dg_scalar(g, UID_SCALE, scale_nd);
    cudnnBackendDescriptor_t op = cu_dg_new(g, CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &q);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &k);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &o);
    cu_dg_set(g, op, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &scale);
    cu_dg_finalize(g, op);
    return g->st == CUDNN_STATUS_SUCCESS ? cu_dg_op_graph(b, g, &op, 1) : NULL;
}

static cudnnStatus_t execute(bb_backend *b, cudnnBackendDescriptor_t plan, const cu_step *s, void *ws)
{
    char *x = cu_ptr(b, s->in[0]);
    const int64_t d = s->shape[1] * s->shape[2], es = (int64_t)b->es;
    float scale = 1.f / sqrtf((float)s->shape[2]); /* read by cuDNN when the call is made */
    int64_t uids[5] = {UID_Q, UID_K, UID_V, UID_O, UID_SCALE};
    void *ptrs[5] = {x, x + d * es, x + 2 * d * es, cu_ptr(b, s->out), &scale};
    return cu_dg_execute(b, plan, 5, uids, ptrs, ws);
}

static int run_sdpa(bb_backend *b, const cu_step *s)
{
    cudnnStatus_t st = execute(b, s->plan, s, b->ws);
    return st == CUDNN_STATUS_SUCCESS ? 0 : 1000 + (int)st;
}

typedef struct {
    const cu_step *s;
    cudnnBackendDescriptor_t plan;
    void *ws;
} sdpa_run_ctx;

static int plan_run(bb_backend *b, const void *ctx)
{
    const sdpa_run_ctx *c = ctx;
    return execute(b, c->plan, c->s, c->ws) == CUDNN_STATUS_SUCCESS ? 0 : -1;
}

static double time_plan(bb_backend *b, cudnnBackendDescriptor_t plan, const void *ctx)
{
    sdpa_run_ctx c = *(const sdpa_run_ctx *)ctx;
    c.plan = plan;
    return cu_time_ms(b, plan_run, &c);
}

static int kernel_run(bb_backend *b, const void *ctx)
{
    const cu_step *s = ctx;
    return s->enqueue(b, s);
}

/* A new cache entry for step s's shape: cuDNN's fastest plan, and under
 * cuda.attention=measured the kernel's time beside it. */
static void search(bb_backend *b, const cu_step *s, void *ws, size_t ws_cap, cu_attn_plan *c)
{
    static const int scale_nd[2] = {1, 4};
    cu_pick_stats ps = {0, 0, 0, 0};
    cudnnStatus_t st = CUDNN_STATUS_ALLOC_FAILED;
    sdpa_run_ctx ctx = {s, NULL, ws};
    cu_plan_timing t = {time_plan, &ctx, 1, 2}; /* run-time compiled engines allowed: the first two built */
    c->plan = NULL, c->ms_cudnn = -1, c->ms_kernel = -1, c->ws_bytes = 0;
    for (int v = 0; v < 2 && !c->plan; v++) {
        cu_dg *g = calloc(1, sizeof *g);
        cudnnBackendDescriptor_t og = g ? build_graph(b, s, scale_nd[v], g) : NULL;
        st = g ? g->st : CUDNN_STATUS_ALLOC_FAILED;
        memset(&ps, 0, sizeof ps);
        if (og && cu_dg_pick_plan(b, g, og, &t, ws_cap, &c->plan, &c->ws_bytes, &ps)) {
            c->graph = g, c->ms_cudnn = ps.best_ms;
        } else {
            cu_dg_free(g);
            c->ws_bytes = 0;
        }
        if (b->opt.value[BB_OPT_CUDNN_LOG] != 0)
            fprintf(stderr, "cudnn sdpa: %s: scale of %d dims: %s (graph: %s; %lld offered, %d allowed, %d built)\n",
                    s->op->label, scale_nd[v], c->plan ? "plan" : "no engine", cudnnGetErrorString(st),
                    (long long)ps.offered, ps.allowed, ps.built);
    }
    if (b->opt.value[BB_OPT_CUDA_ATTENTION] == CU_ATTN_MEASURED)
        c->ms_kernel = cu_time_ms(b, kernel_run, s);
    c->use_cudnn = c->plan && (c->ms_kernel < 0 || c->ms_cudnn < c->ms_kernel);
    if (b->opt.value[BB_OPT_CUDNN_LOG] != 0)
        fprintf(stderr, "cudnn sdpa: %s: cuDNN %.3f ms, kernel %.3f ms (-1: none, not timed), workspace %zu bytes -> %s\n",
                s->op->label, c->ms_cudnn, c->ms_kernel, c->ws_bytes, c->use_cudnn ? "cuDNN" : "kernel");
}

/* The cache entry of step s's shape, searched on first use; NULL when out
 * of memory. */
static const cu_attn_plan *plan_for(bb_backend *b, const cu_step *s, void *ws, size_t ws_cap)
{
    int64_t key[CU_ATTN_KEY] = {b->batch, s->shape[0], s->shape[1], s->shape[2], b->dt};
    int j = 0;
    while (j < b->n_attn_plans && memcmp(b->attn_plans[j].key, key, sizeof key) != 0)
        j++;
    if (j == b->n_attn_plans) {
        if (cu_grow((void **)&b->attn_plans, &b->cap_attn_plans, j, sizeof *b->attn_plans) != 0)
            return NULL;
        memcpy(b->attn_plans[j].key, key, sizeof key);
        search(b, s, ws, ws_cap, &b->attn_plans[j]);
        b->n_attn_plans++;
    }
    return &b->attn_plans[j];
}

int cu_tune_attention(bb_backend *b, void *ws, size_t ws_cap, bb_err *err)
{
    if (!cu_sdpa_wanted(b))
        return 0;
    for (int i = 0; i < b->n_steps; i++) {
        cu_step *s = &b->steps[i];
        if (s->kind != ST_ATTENTION_FUSED || (s->shape[1] * s->shape[2]) % 8 != 0) /* K, V 16-byte aligned */
            continue;
        const cu_attn_plan *c = plan_for(b, s, ws, ws_cap);
        if (!c)
            return bb_err_oom(err, "out of memory");
        if (c->use_cudnn) {
            s->kind = ST_ATTENTION_CUDNN, s->plan = c->plan, s->ws_bytes = c->ws_bytes;
            s->enqueue = run_sdpa;
        }
    }
    return 0;
}

int cu_attention_note(const bb_backend *b, char *buf, size_t len)
{
    const cu_attn_plan *c = b->n_attn_plans ? &b->attn_plans[0] : NULL;
    char cudnn[32] = "cuDNN: no engine", kernel[32] = "";
    if (c && c->plan)
        snprintf(cudnn, sizeof cudnn, "cuDNN %.3f ms", c->ms_cudnn);
    if (c && c->ms_kernel >= 0)
        snprintf(kernel, sizeof kernel, ", kernel %.3f ms", c->ms_kernel);
    for (int i = 0; i < b->n_steps; i++) {
        cu_step_kind k = b->steps[i].kind;
        if (k == ST_ATTENTION)
            return snprintf(buf, len, "; attention: cuBLASLt products per head");
        if (k == ST_ATTENTION_FUSED || k == ST_ATTENTION_CUDNN) /* with what was timed, if anything */
            return c ? snprintf(buf, len, "; attention: %s (%s%s)",
                                k == ST_ATTENTION_CUDNN ? "cuDNN SDPA" : "one kernel (mma)", cudnn, kernel)
                     : snprintf(buf, len, "; attention: one kernel (mma)");
    }
    return snprintf(buf, len, "%s", "");
}

void cu_attn_plans_free(bb_backend *b)
{
    for (int j = 0; j < b->n_attn_plans; j++)
        cu_dg_release(b->attn_plans[j].plan, b->attn_plans[j].graph);
    free(b->attn_plans);
}

/*
 * cuda_dnn_graph.c — what every cuDNN operation graph of the backend needs,
 * whatever its operations: descriptors created, set and finalized with the
 * first failure kept (so a builder reads as a list of settings, checked
 * once at the end), tensor descriptors, and the search that times each of
 * cuDNN's candidate plans on the real buffers and keeps the fastest.
 *
 * Two builders use it: cuda_conv_graph.c (a channels-last convolution with
 * its epilogue) and cuda_sdpa.c (attention as cuDNN's scaled-dot-product
 * operation). Both go through cuDNN's C backend API: the C++ frontend is a
 * header library this C program does not use.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "backends/cuda/cuda_internal.h"

/* Deprecated names in cuDNN 9.19's headers, still read by the library:
 * the handle a graph and a plan are built for. */
#define ATTR_OPERATIONGRAPH_HANDLE ((cudnnBackendAttributeName_t)800)
#define ATTR_EXECUTION_PLAN_HANDLE ((cudnnBackendAttributeName_t)400)

enum { MAX_CANDIDATES = 8 };

cudnnBackendDescriptor_t cu_dg_new(cu_dg *g, cudnnBackendDescriptorType_t type)
{
    cudnnBackendDescriptor_t d = NULL;
    if (g->st != CUDNN_STATUS_SUCCESS)
        return NULL;
    if (g->n == CU_DG_MAX) {
        g->st = CUDNN_STATUS_INTERNAL_ERROR;
        return NULL;
    }
    g->st = cudnnBackendCreateDescriptor(type, &d);
    if (g->st == CUDNN_STATUS_SUCCESS)
        g->d[g->n++] = d;
    return d;
}

void cu_dg_set(cu_dg *g, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
               cudnnBackendAttributeType_t type, int64_t n, const void *v)
{
    if (g->st == CUDNN_STATUS_SUCCESS)
        g->st = cudnnBackendSetAttribute(d, name, type, n, v);
}

void cu_dg_finalize(cu_dg *g, cudnnBackendDescriptor_t d)
{
    if (g->st == CUDNN_STATUS_SUCCESS)
        g->st = cudnnBackendFinalize(d);
}

void cu_dg_free(cu_dg *g)
{
    if (!g)
        return;
    for (int i = g->n - 1; i >= 0; i--)
        cudnnBackendDestroyDescriptor(g->d[i]);
    free(g);
}

void cu_dg_release(cudnnBackendDescriptor_t plan, cu_dg *g)
{
    if (plan)
        cudnnBackendDestroyDescriptor(plan);
    cu_dg_free(g);
}

/* A finalized tensor descriptor whose one boolean attribute (virtual, or
 * passed by value) is set to on. */
static cudnnBackendDescriptor_t tensor_desc(cu_dg *g, int64_t uid, cudnnDataType_t dt, int nd, const int64_t *dims,
                                            const int64_t *strides, cudnnBackendAttributeName_t flag, bool on)
{
    int64_t align = 16;
    cudnnBackendDescriptor_t t = cu_dg_new(g, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    cu_dg_set(g, t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    cu_dg_set(g, t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, nd, dims);
    cu_dg_set(g, t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, nd, strides);
    cu_dg_set(g, t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    cu_dg_set(g, t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    cu_dg_set(g, t, flag, CUDNN_TYPE_BOOLEAN, 1, &on);
    cu_dg_finalize(g, t);
    return t;
}

cudnnBackendDescriptor_t cu_dg_tensor(cu_dg *g, int64_t uid, cudnnDataType_t dt, int nd, const int64_t *dims,
                                      const int64_t *strides, int is_virtual)
{
    return tensor_desc(g, uid, dt, nd, dims, strides, CUDNN_ATTR_TENSOR_IS_VIRTUAL, is_virtual != 0);
}

cudnnBackendDescriptor_t cu_dg_scalar(cu_dg *g, int64_t uid, int nd)
{
    static const int64_t one[4] = {1, 1, 1, 1};
    return tensor_desc(g, uid, CUDNN_DATA_FLOAT, nd, one, one, CUDNN_ATTR_TENSOR_IS_BY_VALUE, true);
}

cudnnBackendDescriptor_t cu_dg_op_graph(bb_backend *b, cu_dg *g, cudnnBackendDescriptor_t *ops, int n_ops)
{
    cudnnBackendDescriptor_t og = cu_dg_new(g, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    if (og) /* deprecated: where the library no longer takes it, finalize tells */
        cudnnBackendSetAttribute(og, ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &b->dnn);
    cu_dg_set(g, og, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n_ops, ops);
    cu_dg_finalize(g, og);
    return g->st == CUDNN_STATUS_SUCCESS ? og : NULL;
}

/* Whether an engine's notes allow it: no FFT, Winograd or reduced-precision
 * reduction, and (unless allowed) not compiled at run time. */
static int engine_allowed(cu_dg *g, cudnnBackendDescriptor_t cfg, int allow_rtc)
{
    cudnnBackendNumericalNote_t num[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    cudnnBackendBehaviorNote_t beh[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
    int64_t n_num = 0, n_beh = 0, got = 0;
    cudnnBackendDescriptor_t eng = cu_dg_new(g, CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    if (!eng || cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got,
                                         &eng) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                 CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n_num, num) != CUDNN_STATUS_SUCCESS ||
        cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE,
                                 CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &n_beh, beh) != CUDNN_STATUS_SUCCESS)
        return 0;
    for (int64_t i = 0; i < n_num; i++)
        if (num[i] == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION || num[i] == CUDNN_NUMERICAL_NOTE_FFT ||
            num[i] == CUDNN_NUMERICAL_NOTE_WINOGRAD || num[i] == CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4 ||
            num[i] == CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6 || num[i] == CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13)
            return 0;
    for (int64_t i = 0; i < n_beh && !allow_rtc; i++)
        if (beh[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION)
            return 0;
    return 1;
}

/* Candidate cfg as an execution plan within ws_cap bytes of workspace
 * (its size in *wsb), or NULL. */
static cudnnBackendDescriptor_t build_plan(bb_backend *b, cudnnBackendDescriptor_t cfg, size_t ws_cap, int64_t *wsb)
{
    cudnnBackendDescriptor_t p = NULL;
    int64_t got = 0;
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &p) != CUDNN_STATUS_SUCCESS)
        return NULL;
    /* deprecated: where the library no longer takes the handle, finalize tells */
    cudnnBackendSetAttribute(p, ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &b->dnn);
    int ok = cudnnBackendSetAttribute(p, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                      &cfg) == CUDNN_STATUS_SUCCESS &&
             cudnnBackendFinalize(p) == CUDNN_STATUS_SUCCESS &&
             cudnnBackendGetAttribute(p, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &got, wsb) ==
                 CUDNN_STATUS_SUCCESS &&
             *wsb >= 0 && (size_t)*wsb <= ws_cap;
    if (!ok) {
        cudnnBackendDestroyDescriptor(p);
        return NULL;
    }
    return p;
}

int cu_dg_pick_plan(bb_backend *b, cu_dg *g, cudnnBackendDescriptor_t og, const cu_plan_timing *t, size_t ws_cap,
                    cudnnBackendDescriptor_t *plan, size_t *ws_bytes, cu_pick_stats *ps)
{
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    cudnnBackendDescriptor_t heur = cu_dg_new(g, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR), cfg[MAX_CANDIDATES];
    cu_dg_set(g, heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &og);
    cu_dg_set(g, heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    cu_dg_finalize(g, heur);
    for (int i = 0; i < MAX_CANDIDATES; i++)
        cfg[i] = cu_dg_new(g, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t n = 0;
    *plan = NULL;
    if (g->st != CUDNN_STATUS_SUCCESS ||
        cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, MAX_CANDIDATES,
                                 &n, cfg) != CUDNN_STATUS_SUCCESS)
        return 0;
    ps->offered = n;
    for (int64_t i = 0; i < n && i < MAX_CANDIDATES && (t->max_built <= 0 || ps->built < t->max_built); i++) {
        if (!engine_allowed(g, cfg[i], t->allow_rtc))
            continue;
        ps->allowed++;
        int64_t wsb = 0;
        cudnnBackendDescriptor_t p = build_plan(b, cfg[i], ws_cap, &wsb);
        ps->built += p != NULL;
        double ms = p ? t->time(b, p, t->ctx) : -1;
        if (ms >= 0 && (!*plan || ms < ps->best_ms)) {
            if (*plan)
                cudnnBackendDestroyDescriptor(*plan);
            *plan = p, *ws_bytes = (size_t)wsb, ps->best_ms = ms;
        } else if (p) {
            cudnnBackendDestroyDescriptor(p);
        }
    }
    return *plan != NULL;
}

cudnnStatus_t cu_dg_execute(bb_backend *b, cudnnBackendDescriptor_t plan, int n, const int64_t *uids, void **ptrs,
                            void *ws)
{
    cudnnBackendDescriptor_t vp = NULL;
    cudnnStatus_t st = cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, ptrs);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendFinalize(vp);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendExecute(b->dnn, plan, vp);
    if (vp)
        cudnnBackendDestroyDescriptor(vp);
    return st;
}

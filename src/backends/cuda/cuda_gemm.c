/*
 * cuda_gemm.c — the backend's matrix products through cuBLASLt: linear
 * layers (with the bias, and ReLU, in cuBLASLt's epilogue; the residual sum
 * as beta = 1 on the output), and attention's two strided-batched products.
 *
 * Like cuDNN's search for convolutions, the algorithm is measured: the
 * heuristic's best few candidates are timed on the real buffers and the
 * fastest is kept, once per distinct product (gemm_key): timing every
 * layer of an fp32 vit_l_16 at batch 1024 took 75 s of preparation on an
 * H200, for 24 copies of the same four products.
 *
 * cuBLASLt is column-major; our tensors are row-major. A row-major [r,c]
 * matrix is a column-major [c,r] one, so each product below is written as
 * the column-major product of the transposes (see the comments).
 */
#include <stdint.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"

cudaDataType_t cu_data_type(cu_dtype t)
{
    return t == CU_F16 ? CUDA_R_16F : t == CU_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static cublasComputeType_t compute_type(bb_precision p)
{
    return p == BB_PREC_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

typedef struct {
    uint64_t rows, cols;
    int64_t ld, stride;
    int f32; /* fp32 whatever the activation type (attention scores) */
} layout;

static int make_layout(bb_backend *b, cublasLtMatrixLayout_t *l, layout s, int32_t count, const char *label,
                       bb_err *err)
{
    cudaDataType_t type = s.f32 ? CUDA_R_32F : cu_data_type(b->dt);
    LT_OK(cublasLtMatrixLayoutCreate(l, type, s.rows, s.cols, s.ld), err, "matrix layout", label);
    if (count > 1) {
        LT_OK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count), err,
              "batch count", label);
        LT_OK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &s.stride,
                                               sizeof s.stride),
              err, "batch stride", label);
    }
    return 0;
}

#define CANDIDATES 8

typedef struct {
    const cu_gemm *gm;
    const cu_gemm_ptrs *p;
} gemm_run_ctx;

static int gemm_run(bb_backend *b, const void *ctx)
{
    const gemm_run_ctx *c = ctx;
    return cu_gemm_run(b, c->gm, c->p->a, c->p->b, c->p->d);
}

/* Seconds of one run of gm with algorithm `algo` (cu_time_ms), or -1 when
 * it does not run. */
static double time_algo(bb_backend *b, cu_gemm *gm, const cublasLtMatmulAlgo_t *algo, const cu_gemm_ptrs *p)
{
    gm->algo = *algo;
    gemm_run_ctx c = {gm, p};
    double ms = cu_time_ms(b, gemm_run, &c);
    return ms < 0 ? -1.0 : ms / 1e3;
}

/* The alignment of p in bytes, up to 256 (what cuBLASLt's heuristic
 * assumes unless told otherwise). */
static int64_t alignment(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return a == 0 ? 0 : a % 256 == 0 ? 256 : (int64_t)(a & (~a + 1));
}

/* Everything that defines a product for cuBLASLt: operation, layouts,
 * batch, epilogue, scaling mode, types and the buffers' alignment. */
static void gemm_key(const bb_backend *b, int64_t *key, cublasOperation_t ta, const layout *l, int32_t count,
                     cublasLtEpilogue_t epi, const void *bias, float beta, const cu_gemm_ptrs *p)
{
    int64_t k[28] = {ta, count, bias ? (int64_t)epi : -1, beta != 0.f, b->prec, b->dt,
                     alignment(p->a), alignment(p->b), alignment(p->d), alignment(bias)};
    for (int i = 0; i < 3; i++) {
        int64_t *f = k + 10 + 5 * i;
        f[0] = (int64_t)l[i].rows, f[1] = (int64_t)l[i].cols, f[2] = l[i].ld, f[3] = l[i].stride, f[4] = l[i].f32;
    }
    memcpy(key, k, sizeof k);
}

static const cu_gemm_cache *cache_find(const bb_backend *b, const int64_t *key)
{
    for (int j = 0; j < b->n_gemm_algos; j++)
        if (memcmp(b->gemm_algos[j].key, key, sizeof b->gemm_algos[j].key) == 0)
            return &b->gemm_algos[j];
    return NULL;
}

static int cache_add(bb_backend *b, const int64_t *key, const cublasLtMatmulAlgo_t *algo, bb_err *err)
{
    if (cu_grow((void **)&b->gemm_algos, &b->cap_gemm_algos, b->n_gemm_algos, sizeof *b->gemm_algos) != 0)
        return bb_err_set(err, "out of memory");
    cu_gemm_cache *c = &b->gemm_algos[b->n_gemm_algos++];
    memcpy(c->key, key, sizeof c->key);
    c->algo = *algo;
    return 0;
}

/* Creates the descriptor and layouts; takes the algorithm measured for the
 * same product earlier, or asks cuBLASLt's heuristic for its best
 * candidates under the backend's workspace and keeps the fastest. */
static int setup(bb_backend *b, cu_gemm *gm, cublasOperation_t ta, layout la, layout lb, layout ld, int32_t count,
                 cublasLtEpilogue_t epi, const void *bias, const cu_gemm_ptrs *p, const char *label, bb_err *err)
{
    cublasOperation_t tb = CUBLAS_OP_N;
    LT_OK(cublasLtMatmulDescCreate(&gm->desc, compute_type(b->prec), CUDA_R_32F), err, "matmul descriptor", label);
    LT_OK(cublasLtMatmulDescSetAttribute(gm->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), err, "transa",
          label);
    LT_OK(cublasLtMatmulDescSetAttribute(gm->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), err, "transb",
          label);
    if (bias) {
        LT_OK(cublasLtMatmulDescSetAttribute(gm->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi), err,
              "epilogue", label);
        LT_OK(cublasLtMatmulDescSetAttribute(gm->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), err,
              "bias", label);
    }
    if (make_layout(b, &gm->a, la, count, label, err) || make_layout(b, &gm->b, lb, count, label, err) ||
        make_layout(b, &gm->d, ld, count, label, err))
        return -1;
    int64_t key[28];
    const layout ls[3] = {la, lb, ld};
    gemm_key(b, key, ta, ls, count, epi, bias, gm->beta, p);
    const cu_gemm_cache *known = cache_find(b, key);
    if (known) {
        gm->algo = known->algo;
        return 0;
    }
    cublasLtMatmulPreference_t pref;
    LT_OK(cublasLtMatmulPreferenceCreate(&pref), err, "preference", label);
    uint64_t ws = b->ws_bytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    /* 16-bit outputs: split-K partial sums are added in fp32, never in the
     * 16-bit output type. */
    uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_NONE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    if (b->dt != CU_F32)
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes,
                                             sizeof schemes);
    cublasLtMatmulHeuristicResult_t res[CANDIDATES];
    int n = 0, best = -1;
    cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(b->lt, gm->desc, gm->a, gm->b, gm->d, gm->d, pref, CANDIDATES, res, &n);
    cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || n < 1)
        return bb_err_set(err, "cuBLASLt: no algorithm for '%s' (status %d; rows %llu, cols %llu)", label, (int)st,
                          (unsigned long long)ld.rows, (unsigned long long)ld.cols);
    double best_s = 0.0;
    for (int j = 0; j < n; j++) {
        double t = res[j].state == CUBLAS_STATUS_SUCCESS ? time_algo(b, gm, &res[j].algo, p) : -1.0;
        if (t >= 0 && (best < 0 || t < best_s))
            best = j, best_s = t;
    }
    if (best < 0)
        return bb_err_set(err, "cuBLASLt: none of %d candidate algorithms ran for '%s'", n, label);
    gm->algo = res[best].algo;
    return cache_add(b, key, &gm->algo, err);
}

int cu_gemm_linear(bb_backend *b, cu_gemm *gm, int64_t m, int64_t k, int64_t o, const void *bias, int act,
                   int accumulate, const cu_gemm_ptrs *p, const char *label, bb_err *err)
{
    /* Y^T[o,m] = W[o,k] X^T[k,m]: W is stored as column-major [k,o]
     * (transposed: op T), X as column-major [k,m], Y as column-major [o,m].
     * The bias has one value per row of Y^T, i.e. per output feature. */
    gm->alpha = 1.f, gm->beta = accumulate ? 1.f : 0.f;
    layout w = {(uint64_t)k, (uint64_t)o, k, 0, 0}, x = {(uint64_t)k, (uint64_t)m, k, 0, 0},
           y = {(uint64_t)o, (uint64_t)m, o, 0, 0};
    cublasLtEpilogue_t epi = act == BB_ACT_RELU   ? CUBLASLT_EPILOGUE_RELU_BIAS
                             : act == BB_ACT_GELU ? CUBLASLT_EPILOGUE_GELU_BIAS
                                                  : CUBLASLT_EPILOGUE_BIAS;
    return setup(b, gm, CUBLAS_OP_T, w, x, y, 1, epi, bias, p, label, err);
}

int cu_gemm_scores(bb_backend *b, cu_gemm *gm, const cu_attn_layout *at, float alpha, const cu_gemm_ptrs *p,
                   const char *label, bb_err *err)
{
    /* S^T[j,i] = sum_e K[j,e] Q[i,e]: A = K (column-major [dh,l], op T),
     * B = Q (column-major [dh,l]), D = S^T column-major [l,l], i.e. S
     * row-major with row i holding query i's scores. S is fp32 in every
     * precision: logits rounded to 16 bits before the softmax lose
     * accuracy. */
    gm->alpha = alpha, gm->beta = 0.f;
    layout kq = {(uint64_t)at->dh, (uint64_t)at->l, at->ld_x, at->stride_x, 0},
           s = {(uint64_t)at->l, (uint64_t)at->l, at->ls, at->stride_s, 1};
    return setup(b, gm, CUBLAS_OP_T, kq, kq, s, (int32_t)at->count, CUBLASLT_EPILOGUE_DEFAULT, NULL, p, label, err);
}

int cu_gemm_mix(bb_backend *b, cu_gemm *gm, const cu_attn_layout *at, const cu_gemm_ptrs *p, const char *label,
                bb_err *err)
{
    /* O^T[e,i] = sum_j V[j,e] P[i,j]: A = V (column-major [dh,l]),
     * B = P^T (column-major [l,l], the row-major P), D = O^T [dh,l]. */
    gm->alpha = 1.f, gm->beta = 0.f;
    layout v = {(uint64_t)at->dh, (uint64_t)at->l, at->ld_x, at->stride_x, 0},
           pm = {(uint64_t)at->l, (uint64_t)at->l, at->ls, at->stride_s, 0},
           o = {(uint64_t)at->dh, (uint64_t)at->l, at->ld_o, at->stride_o, 0};
    return setup(b, gm, CUBLAS_OP_N, v, pm, o, (int32_t)at->count, CUBLASLT_EPILOGUE_DEFAULT, NULL, p, label, err);
}

int cu_gemm_batched(bb_backend *b, cu_gemm *gm, const cu_batched *bt, const cu_gemm_ptrs *p, const char *label,
                    bb_err *err)
{
    /* C^T[n,m] = B^T[n,k] A^T[k,m]: the row-major B is column-major [n,k]
     * (first operand, ld n), the row-major A column-major [k,m] (ld k), C^T
     * column-major [n,m] (ld n). */
    gm->alpha = 1.f, gm->beta = 0.f;
    layout lb = {(uint64_t)bt->n, (uint64_t)bt->k, bt->n, bt->stride_b, 0},
           la = {(uint64_t)bt->k, (uint64_t)bt->m, bt->k, bt->stride_a, 0},
           lc = {(uint64_t)bt->n, (uint64_t)bt->m, bt->n, bt->m * bt->n, 0};
    return setup(b, gm, CUBLAS_OP_N, lb, la, lc, (int32_t)bt->count, CUBLASLT_EPILOGUE_DEFAULT, NULL, p, label, err);
}

int cu_gemm_run(bb_backend *b, const cu_gemm *gm, const void *a, const void *bm, void *d)
{
    return (int)cublasLtMatmul(b->lt, gm->desc, &gm->alpha, a, gm->a, bm, gm->b, &gm->beta, d, gm->d, d, gm->d,
                               &gm->algo, b->ws, b->ws_bytes, b->stream);
}

void cu_gemm_release(cu_gemm *gm)
{
    if (gm->a)
        cublasLtMatrixLayoutDestroy(gm->a);
    if (gm->b)
        cublasLtMatrixLayoutDestroy(gm->b);
    if (gm->d)
        cublasLtMatrixLayoutDestroy(gm->d);
    if (gm->desc)
        cublasLtMatmulDescDestroy(gm->desc);
    memset(gm, 0, sizeof *gm);
}

/*
 * cuda_internal.h — the CUDA backend's private structures, shared by
 * cuda_backend.c (prepare / plan / tune / capture / run), cuda_ops.c (one
 * graph op -> cuDNN, cuBLASLt and kernel calls), cuda_dnn_graph.c (what
 * every cuDNN operation graph needs), cuda_conv_graph.c (channels-last
 * convs as such graphs), cuda_sdpa.c (attention as cuDNN's SDPA) and
 * cuda_gemm.c (cuBLASLt matrix products).
 *
 * Preparation happens in passes, as on the CPU. Lowering walks the fused
 * graph and appends steps; every activation becomes a cu_buf with a size
 * and a lifetime in ops. Planning places the buffers in one device arena
 * (engine/plan.h). Tuning then picks, on the real buffers, a timed cuDNN
 * graph plan with the epilogue fused for every channels-last convolution
 * where cuDNN has an engine, and runs cuDNN's measured algorithm search for
 * the others; under cuda.attention=cudnn|measured it offers each attention
 * step to cuDNN's SDPA; it sizes the workspace to the chosen plans and
 * algorithms, and times cuBLASLt's candidates for every matrix product.
 * Finally the whole forward pass is captured once into a CUDA graph;
 * forward() replays it between two CUDA events.
 */
#ifndef BB_CUDA_INTERNAL_H
#define BB_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_kernels.h"

typedef struct {
    int64_t bytes;
    int first, last, alias; /* lifetime in ops; alias: see engine/plan.h */
    int64_t off;            /* offset in the arena, after planning */
} cu_buf;

/* One matrix product D = alpha * op(A) op(B) + beta * C (C = D), possibly
 * batched, with an optional bias epilogue; set up by cu_gemm_init. */
typedef struct {
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulAlgo_t algo;
    float alpha, beta;
} cu_gemm;

typedef enum {
    ST_CONV, ST_PATCH_GEMM, ST_GEMM,
    ST_ATTENTION,        /* cuBLASLt products per head */
    ST_ATTENTION_FUSED,  /* one kernel (cuda_attention.cu) */
    ST_ATTENTION_CUDNN,  /* cuDNN's SDPA operation (cuda_sdpa.c) */
    ST_KERNEL, ST_GENERIC, ST_MATMUL,
    ST_RNN               /* LSTM, GRU: a cuBLASLt product and a cell kernel per time step (cuda_generic.c) */
} cu_step_kind;

/* The choices of cuda.attention (backend_options.c), in its order. */
enum { CU_ATTN_FUSED, CU_ATTN_UNFUSED, CU_ATTN_CUDNN, CU_ATTN_MEASURED };

typedef struct cu_step cu_step;
typedef struct bb_backend bb_backend;

struct cu_step {
    const bb_op *op;        /* graph op this step lowers */
    cu_step_kind kind;
    int in[2], out;         /* activation buffers (-1 when absent) */
    int scratch[2];         /* attention: fp32 scores, probabilities; patch GEMM: the patch rows;
                               channels-last conv reading the input batch: its NHWC copy */
    /* convolution */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t ws_bytes;
    cudnnBackendDescriptor_t plan; /* cuDNN graph plan (cuda_conv_graph.c) instead of algo, or NULL */
    int plan_fused;         /* the plan applies bias, residual and ReLU itself */
    int64_t shape[6];       /* op-specific sizes (see the lowering) */
    /* parameters on the device */
    void *w;                /* weights in the activation type */
    float *bias;            /* fp32 bias for the epilogue kernel, or NULL */
    void *lt_bias;          /* bias in the activation type for cuBLASLt's epilogue */
    float *p0, *p1;         /* layer norm gamma/beta, class token/position */
    int act;                /* activation the epilogue kernel applies */
    cu_gemm gemm[2];        /* linear: [0]; attention: scores [0], mix [1]; matmul: [0] */
    /* generic ops (cuda_generic.c) */
    bb_walk walk[2];        /* a walk; reduce mean: kept axes [0], box [1]; matmul: a broadcast operand's copy */
    void *konst[2];         /* a constant operand in the activation type, or NULL */
    int (*enqueue)(bb_backend *b, const cu_step *s);
};

/* A cached result of cuDNN's algorithm search for one convolution shape. */
typedef struct {
    int64_t key[12];
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t ws_bytes;
} cu_algo_cache;

/* A cached cuDNN graph plan for one convolution shape and epilogue
 * (cuda_conv_graph.c); plan NULL where no engine ran it. */
typedef struct cu_dg cu_dg;
enum { CU_CONV_KEY = 16 };
typedef struct {
    int64_t key[CU_CONV_KEY];
    cudnnBackendDescriptor_t plan;
    cu_dg *graph;                   /* the descriptors plan was built from */
    size_t ws_bytes;
    int fused;
} cu_conv_plan;

/* cuDNN's SDPA plan for one attention shape (cuda_sdpa.c), with what was
 * timed: ms_cudnn of the plan (-1: none built), ms_kernel of the kernel
 * (-1: not timed, under cuda.attention=cudnn). */
enum { CU_ATTN_KEY = 5 };
typedef struct {
    int64_t key[CU_ATTN_KEY];       /* batch, tokens, heads, head size, activation type */
    cudnnBackendDescriptor_t plan;
    cu_dg *graph;
    size_t ws_bytes;
    double ms_cudnn, ms_kernel;
    int use_cudnn;
} cu_attn_plan;

/* A measured cuBLASLt algorithm for one product's shape (cuda_gemm.c): a
 * ViT's layers repeat the same four products, timed once. */
typedef struct {
    int64_t key[28];
    cublasLtMatmulAlgo_t algo;
} cu_gemm_cache;

struct bb_backend {
    const bb_graph *g;
    int64_t batch;
    bb_precision prec;
    bb_backend_options opt;         /* the run's backend options (backend_options.h) */
    cu_dtype dt;
    size_t es;                      /* bytes per activation element */
    int profile;
    int nhwc;                       /* feature maps channels-last (cu_channels_last) */
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasLtHandle_t lt;
    cu_step *steps;
    int n_steps, cap_steps;
    cu_buf *bufs;
    int n_bufs, cap_bufs;
    int *tbuf;                      /* tensor -> buffer (-1: none) */
    char *arena;
    int64_t arena_bytes;
    void *input, *output_f32;       /* dedicated input buffer; fp32 staging */
    float *host_in, *staging_in;    /* pinned host batch; fp32 device copy */
    int64_t in_elems, out_elems, staging_elems;
    int output_buf;
    void **allocs;                  /* weights and parameters on the device */
    int n_allocs, cap_allocs;
    int64_t weight_bytes;
    void *ws;                       /* workspace shared by all steps */
    size_t ws_bytes, gemm_ws_bytes;
    cu_algo_cache *algos;
    int n_algos, cap_algos;
    cu_gemm_cache *gemm_algos;
    int n_gemm_algos, cap_gemm_algos;
    cu_conv_plan *conv_plans;
    int n_conv_plans, cap_conv_plans;
    cu_attn_plan *attn_plans;
    int n_attn_plans, cap_attn_plans;
    int n_conv_fma, n_conv_tensor, n_conv_default;
    int n_conv_graph_fused, n_conv_graph_plain;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    int use_graph;
    char graph_note[160];           /* why the pass runs eagerly, if it does */
    cudaEvent_t ev[4];              /* forward start/end, copy start/end */
    cudaEvent_t *step_ev;           /* profile: one event per step boundary */
    bb_step_time *times;
    double last_forward_s, last_input_s;
};

/* ---- errors ---------------------------------------------------------------- */
int cu_fail(bb_err *err, int rc, const char *what, const char *label);
#define CUDA_OK(call, err, what, label)                                          \
    do {                                                                         \
        cudaError_t e_ = (call);                                                 \
        if (e_ != cudaSuccess)                                                   \
            return cu_fail((err), (int)e_, (what), (label));                     \
    } while (0)
#define CUDNN_OK(call, err, what, label)                                         \
    do {                                                                         \
        cudnnStatus_t s_ = (call);                                               \
        if (s_ != CUDNN_STATUS_SUCCESS)                                          \
            return bb_err_set((err), "cuDNN: %s for '%s' failed: %s", (what), (label), \
                              cudnnGetErrorString(s_));                          \
    } while (0)
#define LT_OK(call, err, what, label)                                            \
    do {                                                                         \
        cublasStatus_t s_ = (call);                                              \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                         \
            return bb_err_set((err), "cuBLASLt: %s for '%s' failed (status %d)", (what), (label), (int)s_); \
    } while (0)

/* ---- cuda_backend.c --------------------------------------------------------- */
/* Room for element n of the array *arr of *cap elements (doubling, new
 * elements zeroed); -1 when out of memory. */
int cu_grow(void **arr, int *cap, int n, size_t elem);
/* Milliseconds per call of run(b, ctx) on the stream: one untimed call,
 * then the mean of 3 between the backend's events ev[0], ev[1]; -1 when a
 * call fails. */
double cu_time_ms(bb_backend *b, int (*run)(bb_backend *b, const void *ctx), const void *ctx);
int cu_new_buf(bb_backend *b, int64_t bytes, int first, int alias);
void *cu_ptr(const bb_backend *b, int buf);
/* Uploads n fp32 values as fp32 (as_act = 0) or in the activation type. */
int cu_upload(bb_backend *b, const float *host, int64_t n, int as_act, void **dev, bb_err *err);
cu_step *cu_new_step(bb_backend *b, const bb_op *op, cu_step_kind kind, bb_err *err);

/* ---- cuda_ops.c ------------------------------------------------------------- */
/* Whether the feature maps are stored channels-last (NHWC), decided once
 * before lowering: 16-bit convnets without grouped convolutions (see
 * cuda_ops.c), unless the option cuda.layout says otherwise. */
int cu_channels_last(const bb_backend *b);
/* A filter w [o][c][k][k] rearranged to cuDNN's NHWC filter layout
 * out [o][k][k][cpad] (KRSC; c input channels per group, zero channels
 * from c to cpad). */
void cu_filter_to_krsc(const float *w, float *out, int64_t o, int64_t c, int64_t cpad, int k);
int cu_lower_op(bb_backend *b, const bb_op *op, bb_err *err);
/* The buffer of tensor t, read by op i: its lifetime reaches i. */
int cu_use(bb_backend *b, int t, int i);
/* The buffer op writes: new, or (in_place) the residual's buffer taken
 * over, for a product that adds into its output. */
int cu_output(bb_backend *b, const bb_op *op, int in_place, bb_err *err);
/* A scratch buffer living for op only. */
int cu_scratch(bb_backend *b, const bb_op *op, int64_t bytes, bb_err *err);

/* ---- cuda_generic.c ---------------------------------------------------------- */
/* The generic ops of imported graphs (BB_OP_BINARY and after), a
 * BatchNorm no conv took, pooling windows cuk_maxpool does not take and the
 * activations with parameters. */
int cu_lower_generic(bb_backend *b, const bb_op *op, bb_err *err);
/* The batched products of matmul steps, and an LSTM or GRU step's H R^T,
 * once the buffers exist. */
int cu_setup_matmul(bb_backend *b, cu_step *s, bb_err *err);
int cu_setup_rnn(bb_backend *b, cu_step *s, bb_err *err);
/* cuDNN's measured algorithm search for every conv (buffers allocated). */
int cu_tune_convs(bb_backend *b, void *ws, size_t ws_cap, bb_err *err);
void cu_step_release(cu_step *s);

/* ---- cuda_dnn_graph.c -------------------------------------------------------- */
/* The descriptors of one cuDNN operation graph, destroyed together
 * (cu_dg_free); st is the first failure, after which every call does
 * nothing, so a builder checks once at the end. */
enum { CU_DG_MAX = 40 };
struct cu_dg {
    cudnnBackendDescriptor_t d[CU_DG_MAX];
    int n;
    cudnnStatus_t st;
};
cudnnBackendDescriptor_t cu_dg_new(cu_dg *g, cudnnBackendDescriptorType_t type);
void cu_dg_set(cu_dg *g, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
               cudnnBackendAttributeType_t type, int64_t n, const void *v);
void cu_dg_finalize(cu_dg *g, cudnnBackendDescriptor_t d);
void cu_dg_free(cu_dg *g);
/* A cached plan (NULL: none was built) and the graph it was built from. */
void cu_dg_release(cudnnBackendDescriptor_t plan, cu_dg *g);
/* A finalized tensor descriptor: nd dims and strides (elements), 16-byte
 * aligned; virtual ones live inside the graph only. */
cudnnBackendDescriptor_t cu_dg_tensor(cu_dg *g, int64_t uid, cudnnDataType_t dt, int nd, const int64_t *dims,
                                      const int64_t *strides, int is_virtual);
/* An fp32 scalar passed by value (its variant-pack pointer is a host
 * float), of nd (1 to 4) dims of 1. */
cudnnBackendDescriptor_t cu_dg_scalar(cu_dg *g, int64_t uid, int nd);
/* The finalized operation graph of ops, or NULL (g->st says why). */
cudnnBackendDescriptor_t cu_dg_op_graph(bb_backend *b, cu_dg *g, cudnnBackendDescriptor_t *ops, int n_ops);
/* How cu_dg_pick_plan times a candidate plan: time(b, plan, ctx) in ms,
 * negative when it fails; allow_rtc admits engines cuDNN compiles at run
 * time (seconds of preparation each); max_built > 0 stops after that many
 * plans were built (the heuristic lists the likely fastest first). */
typedef struct {
    double (*time)(bb_backend *b, cudnnBackendDescriptor_t plan, const void *ctx);
    const void *ctx;
    int allow_rtc, max_built;
} cu_plan_timing;
/* What cu_dg_pick_plan saw, for cuda.cudnn_log. */
typedef struct {
    int64_t offered;     /* heuristic's candidates */
    int allowed, built;  /* passing the engine rules; plans finalized within the workspace */
    double best_ms;
} cu_pick_stats;
/* The fastest of cuDNN's heuristic candidates for graph og (no FFT,
 * Winograd or reduced-precision reduction), timed by t, in *plan with its
 * workspace in *ws_bytes (at most ws_cap); 0 when none runs. */
int cu_dg_pick_plan(bb_backend *b, cu_dg *g, cudnnBackendDescriptor_t og, const cu_plan_timing *t, size_t ws_cap,
                    cudnnBackendDescriptor_t *plan, size_t *ws_bytes, cu_pick_stats *ps);
/* Runs plan on the tensors uids[i] at ptrs[i] with workspace ws. */
cudnnStatus_t cu_dg_execute(bb_backend *b, cudnnBackendDescriptor_t plan, int n, const int64_t *uids, void **ptrs,
                            void *ws);

/* ---- cuda_conv_graph.c ------------------------------------------------------- */
/* Whether channels-last convs may run as cuDNN graphs (unless
 * cuda.cudnn_graph=off). */
int cu_conv_graph_on(const bb_backend *b);
/* A graph plan for conv step s (x: what it reads; key: cuda_ops.c's
 * conv_key): 1 when s now runs through it, 0 when it keeps the legacy
 * path, -1 on error. */
int cu_conv_graph_tune(bb_backend *b, cu_step *s, const void *x, void *ws, size_t ws_cap, const int64_t *key,
                       bb_err *err);
int cu_conv_graph_run(bb_backend *b, const cu_step *s, const void *x);
void cu_conv_plans_free(bb_backend *b);

/* ---- cuda_sdpa.c -------------------------------------------------------------- */
/* Whether cuda.attention asks for cuDNN's SDPA (cudnn or measured). */
int cu_sdpa_wanted(const bb_backend *b);
/* The one-kernel attention steps moved to cuDNN's SDPA where cuda.attention
 * asks for it and cuDNN has a plan (measured: and it is faster), once the
 * buffers exist. */
int cu_tune_attention(bb_backend *b, void *ws, size_t ws_cap, bb_err *err);
/* How the model's attention runs, for the report ("" for a model without
 * any); snprintf's return. */
int cu_attention_note(const bb_backend *b, char *buf, size_t len);
void cu_attn_plans_free(bb_backend *b);

/* The matrix products' algorithms, after the arena is allocated. */
int cu_setup_gemms(bb_backend *b, bb_err *err);

/* ---- cuda_gemm.c ------------------------------------------------------------ */
/* The buffers a product runs on (A, B, D as cu_gemm_run takes them): the
 * candidate algorithms are timed on them. */
typedef struct {
    const void *a, *b;
    void *d;
} cu_gemm_ptrs;

/* Row-major Y[m,o] = X[m,k] W[o,k]^T (+ bias of the activation type, then
 * act in cuBLASLt's epilogue: BB_ACT_NONE, BB_ACT_RELU or BB_ACT_GELU, the
 * latter in cuBLASLt's tanh form) (+ Y when accumulate). */
int cu_gemm_linear(bb_backend *b, cu_gemm *gm, int64_t m, int64_t k, int64_t o, const void *bias, int act,
                   int accumulate, const cu_gemm_ptrs *p, const char *label, bb_err *err);
/* The products of one head of attention, for `count` items at once:
 * scores S[l,l] = alpha Q[l,dh] K[l,dh]^T, then O[l,dh] = P[l,l] V[l,dh].
 * Q, K and V rows are ld_x apart (in place in the in-projection's output),
 * items stride_x apart; S and P rows ls apart, items stride_s apart; O rows
 * ld_o apart, items stride_o apart. */
typedef struct {
    int64_t count, l, dh;
    int64_t ld_x, stride_x, ls, stride_s, ld_o, stride_o;
} cu_attn_layout;

int cu_gemm_scores(bb_backend *b, cu_gemm *gm, const cu_attn_layout *at, float alpha, const cu_gemm_ptrs *p,
                   const char *label, bb_err *err);
int cu_gemm_mix(bb_backend *b, cu_gemm *gm, const cu_attn_layout *at, const cu_gemm_ptrs *p, const char *label,
                bb_err *err);
/* Row-major C[i] = A[i] B[i], i < count: A [m,k] items stride_a apart,
 * B [k,n] stride_b apart, C [m,n] dense. cu_gemm_run then takes (B, A, C). */
typedef struct {
    int64_t count, m, k, n, stride_a, stride_b;
} cu_batched;
int cu_gemm_batched(bb_backend *b, cu_gemm *gm, const cu_batched *bt, const cu_gemm_ptrs *p, const char *label,
                    bb_err *err);
int cu_gemm_run(bb_backend *b, const cu_gemm *gm, const void *a, const void *bm, void *d);
void cu_gemm_release(cu_gemm *gm);
cudaDataType_t cu_data_type(cu_dtype t);

#endif

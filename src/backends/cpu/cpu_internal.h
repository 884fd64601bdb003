/*
 * cpu_internal.h — the CPU backend's private structures, shared by
 * cpu_backend.c (prepare / plan / run), cpu_lower.c (one graph op -> oneDNN
 * primitives), cpu_ops.c (the zoo's ops), cpu_generic.c (the generic ops of
 * imported graphs) and cpu_kernels.c / cpu_generic_kernels.c (the few ops
 * oneDNN has no primitive for).
 *
 * Compilation happens in two passes. Lowering walks the fused graph and
 * appends steps; every activation it needs becomes a cpu_buf with a oneDNN
 * memory descriptor (the layout the producing primitive chose) and a
 * lifetime in steps. Planning then places all buffers in one arena
 * (engine/plan.h) and binds each step's arguments to memory objects.
 */
#ifndef BB_CPU_INTERNAL_H
#define BB_CPU_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include "backends/backend.h"
#include "engine/walk.h"

typedef struct {
    dnnl_memory_desc_t md;
    int first, last, alias;
    int64_t alias_off;  /* bytes into its alias (a concat's source or view) */
    int owes_silu;      /* its producer left the SiLU to the next reader (cpu_ops.c) */
    dnnl_memory_t mem; /* bound after planning */
} cpu_buf;

typedef enum {
    K_NONE, K_ATTENTION, K_TOKENS, K_CLS_SELECT, K_SILU, K_SILU_GAP, K_GAP,
    K_WALK,  /* strided gather / broadcast binary / constant pad (cpu_walk) */
    K_WALK_TILED, /* a gather walk in tiles of the next-to-last axis (cpu_generic_kernels.c) */
    K_COPY,  /* kin's bytes into kout (a reshape that cannot alias) */
    K_UNARY, /* activation p[1] (erf, softsign, thresholded relu; sigmoid, tanh) of every float of kin into kout */
    K_REDUCE,/* kin dense [A, R, B] averaged (p[3]: summed) over R into kout [A, B] (p[0..2]) */
    K_LNORM, /* layer norm of kin's p[0] rows of p[1] floats into kout (kw, kb, keps) */
    K_GNORM, /* group norm of kin into kout in its layout (kw, kb, keps; p[0..5]: cpu_groupnorm.c) */
    K_GNORM_LANES, /* the same in nChw16c (8c), groups smaller than a block */
    K_SOFTMAX, /* kin dense [A, S, B], softmax over S into kout (p[0..2]; p[3]: its log) */
    K_TAPS,  /* kin dense [P, H, W] resized into kout [P, H', W'] through taps (p[0..4]; p[5] taps each) */
    K_WINO,  /* our Winograd conv (cpu_winograd.c): runs its own matmul primitive */
    K_GEMV,  /* a linear of p[0] <= 4 rows, K p[1], O p[2] (p[3]: a residual sum; kb: bias): cpu_gemv.c */
    K_RNN    /* an LSTM (p[4] 4 gates) or GRU (3) direction: p[0] rows, p[1] steps, p[2] hidden units,
                p[3] reverse; kb: a GRU's R bias of h: cpu_rnn.c */
} cpu_kernel;

/* Each vector kernel is compiled for AVX-512, AVX2 + FMA (x86-64-v3), AVX2
 * and baseline x86-64, picked at load time. fp-contract=fast: GCC in C11
 * mode fuses no multiply-adds by itself; the FMAs took SiLU from 1.87 to
 * 1.52 ns per value on Zen 1 (docs/onnx-import.md, "On an AVX2 CPU"). */
#define VECTOR_CLONES                                                              \
    __attribute__((target_clones("avx512f", "arch=x86-64-v3", "avx2", "default"), \
                   optimize("fp-contract=fast")))

/* glibc's libmvec has vector versions of expf; declaring them lets an
 * `omp simd` loop call the 16-wide AVX-512 one (or 8-wide AVX2) in the
 * matching clone of a VECTOR_CLONES kernel. Accuracy: within 4 ulp of
 * expf. */
__attribute__((simd("notinbranch"))) float expf(float);
/* ... and of tanhf (glibc 2.35 on; Debian 12 has 2.36). */
__attribute__((simd("notinbranch"))) float tanhf(float);

/* Elements (of the whole batch) up to which a sigmoid, tanh, binary op or
 * slice on plain f32 buffers runs our kernels (one pass, one thread) rather
 * than a oneDNN primitive, whose call costs more than such a pass: 3.4 us
 * for a sigmoid of 256 floats, an unrolled LSTM's gate at batch 1. */
#define CPU_SMALL_OP 16384

/* A concat reads up to BB_MAX_IN sources. */
#define CPU_MAX_ARGS (BB_MAX_IN + 4)

/* A walk kernel step (cpu_generic_kernels.c): engine/walk.h's description
 * of the pass, and where its sources are. */
typedef struct {
    bb_walk w;
    int src[2];               /* activation buffers, or -1 for cdata */
    const float *cdata[2];    /* graph-owned constant data */
} cpu_walk;

/* A Winograd conv's shape and epilogue (cpu_winograd.c): N, C, H, W in;
 * K, OH, OW out; the tiles' grid; items per chunk; bias (owned). */
typedef struct {
    int64_t n, c, h, w, k, oh, ow, pad_t, pad_l, th, tw, chunk;
    int post_act, sum, sum_act; /* activations: 0 none, 1 ReLU, 2 SiLU */
    float *bias;
} cpu_wino;

typedef struct {
    int arg;            /* DNNL_ARG_* */
    int buf;            /* activation buffer index, or -1 */
    dnnl_memory_t mem;  /* weight memory when buf < 0 */
} cpu_arg;

typedef struct {
    const char *label, *kind;
    const char *impl;       /* oneDNN's implementation name (owned by prim), or "batchbench" */
    int64_t macs;
    dnnl_primitive_t prim;  /* NULL for a kernel step */
    int n_args;
    cpu_arg args[CPU_MAX_ARGS];
    dnnl_exec_arg_t exec[CPU_MAX_ARGS + 1]; /* bound after planning: args, then the scratchpad */
    int n_exec;
    cpu_kernel kernel;
    int kin, kout;          /* kernel input / output buffers */
    const float *kw, *kb;   /* kernel parameters (graph-owned) */
    float keps;             /* K_LNORM's epsilon */
    float kalpha, kbeta;    /* K_UNARY's activation parameters */
    int64_t p[6];           /* kernel shape parameters */
    cpu_walk *walk;         /* K_WALK's description, owned by the step */
    cpu_wino *wino;         /* K_WINO's, owned by the step */
    bb_resize_tap *taps;    /* K_TAPS's: p[4] columns', then p[3] rows'; owned by the step */
    const float *panels;    /* K_GEMV's and K_RNN's weights in column panels (in b->weights, shared) */
} cpu_step;

/* Graph data packed once, for every step that reads it as the same layout
 * (an unrolled recurrence's R^T at each time step): mem is in b->weights;
 * want is oneDNN's layout, or for our kernels' packings (cpu_pack_own) a
 * plain one of their size and shape. */
typedef struct {
    const float *data;
    dnnl_memory_desc_t user, want;
    dnnl_memory_t mem;
} cpu_packed;

/* A measured choice, remembered for the rest of prepare: a conv (or conv
 * pair) with the same shape, fused ops and input layout gets the same pick
 * without being timed again (cpu_conv_algo.c). */
#define CPU_CHOICE_KEY 21
typedef struct {
    int64_t key[CPU_CHOICE_KEY];
    dnnl_memory_desc_t have, sum; /* input layout; the residual's (zeroed when none) */
    int pick;
} cpu_choice;

/* Per graph tensor, for concats done in place (cpu_concat_inplace.c). */
typedef struct {
    int root;     /* a source: the root concat's output tensor, else -1 */
    int64_t off;  /* ... and its first channel there */
    int view_of;  /* a concat's output that can be a view: its root, else -1 */
    int buf;      /* a root: its buffer once its first source is placed, else -1 */
} cpu_cat;

struct bb_backend {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_primitive_attr_t attr; /* no post-ops, the scratchpad ours (cpu_attr_create) */
    dnnl_memory_t scratchpad;   /* the steps' scratchpad (the largest any needs), or NULL */
    void *scratchpad_data;
    int64_t scratchpad_bytes;
    const bb_graph *g;
    int64_t batch;
    int threads, profile, activation_stats;
    dnnl_data_type_t dt;    /* activations and weights: f32, or bf16 (--precision bf16) */
    cpu_buf *bufs;
    int n_bufs, cap_bufs;
    cpu_step *steps;
    int n_steps, cap_steps;
    int *tbuf;              /* graph tensor -> buffer holding it now */
    int rep_t, rep_buf;     /* the last channel repeat (cpu_repeat_channels): of tensor rep_t, */
    int64_t rep_m;          /* rep_m times, in rep_buf (-1: none), for the next conv reading it */
    dnnl_memory_t *weights;
    int n_weights, cap_weights;
    cpu_packed *packed;     /* weights packed from graph data, for reuse (cpu_pack_shared) */
    int n_packed, cap_packed;
    int64_t weight_bytes;
    void *arena;
    int64_t arena_bytes;
    float *scratch;         /* attention scores, one L*L block per thread */
    int64_t scratch_floats;
    int input_buf, output_buf;
    bb_step_time *times;
    int n_wino, n_wino_candidates; /* 3x3 stride-1 convs run as Winograd, of those tried */
    int n_own_wino;         /* ... of them as ours (cpu_winograd.c) */
    int algo_policy;        /* Winograd, fused depthwise, linear weights: 0 where measured faster,
                               1 always, -1 never (BATCHBENCH_CPU_ALGO, for tests) */
    int own_wino;           /* 1: our Winograd even where oneDNN has one (cpu.winograd=own) */
    cpu_cat *cat;           /* in-place concats (batch 1, fp32), or NULL */
    cpu_choice *choices;    /* measured choices so far, for repeated layers */
    int n_choices, cap_choices;
    /* The batch split (cpu_split.c). A split backend runs parts[i] on
     * thread i and holds nothing else; parts[0] is prepared, the others are
     * clones of it (shared_from = parts[0]) that share its engine,
     * primitives and packed weights and own their arena, memory objects,
     * argument lists, stream and scratch. */
    bb_backend **parts;
    int n_parts;
    bb_err *part_errs;      /* one per part, for forward */
    const bb_backend *shared_from;
};

/* cpu_backend.c: the unsplit backend, and the arena's allocation. */
int cpu_prepare_whole(bb_backend **out, const bb_graph *g, int64_t batch, const bb_run_config *opts, bb_err *err);
int cpu_forward_whole(bb_backend *b, bb_err *err);
void cpu_destroy_whole(bb_backend *b);
void *cpu_arena_alloc(int64_t bytes);
/* Every step's arguments bound to b's memory objects and scratchpad
 * (allocated here when b has none yet). */
int cpu_bind_steps(bb_backend *b, bb_err *err);

/* cpu_split.c: how many parts a forward at this batch is split into (1:
 * not split), and the split backend's prepare / forward / input / output /
 * report / profile / destroy. */
int cpu_split_parts(const bb_graph *g, int64_t batch, int threads, const bb_run_config *opts);
/* cpu.split=auto splits the batch where, were every op split over the
 * threads instead, a thread's share of an op (on average over the fused
 * graph's ops) would be under CPU_SPLIT_MAX_WORK MACs and the ops do
 * under CPU_SPLIT_MAX_INTENSITY MACs per activation value they write: where
 * handing activations between the threads costs most against the work.
 * docs/cpu-split.md has the measurements behind both. */
#define CPU_SPLIT_MAX_WORK 128e6
#define CPU_SPLIT_MAX_INTENSITY 300.0
double cpu_layer_work(const bb_graph *g, int64_t batch, int threads);
double cpu_macs_per_value(const bb_graph *g);
int cpu_split_prepare(bb_backend **out, const bb_graph *g, int64_t batch, int parts,
                      const bb_run_config *opts, bb_err *err);
int cpu_split_forward(bb_backend *b, bb_err *err);
void cpu_split_copy(bb_backend *b, const float *in, float *out);
void cpu_split_report(const bb_backend *b, bb_backend_report *r);
int cpu_split_profile(const bb_backend *b, const bb_step_time **steps);
void cpu_split_destroy(bb_backend *b);

/* cpu_ops.c */
int cpu_lower_op(bb_backend *b, const bb_op *op, bb_err *err);
/* cpu_linear.c: a linear layer, the fastest of a matmul two ways and a 1x1 conv */
int cpu_lower_linear(bb_backend *b, const bb_op *op, bb_err *err);

/* cpu_generic.c: the generic ops (BB_OP_BINARY and below), standalone
 * BatchNorm and every activation; each input that is an activation is
 * already computed (and owes no SiLU). */
int cpu_lower_generic(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_act(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_batchnorm(bb_backend *b, const bb_op *op, bb_err *err);
int cpu_lower_groupnorm(bb_backend *b, const bb_op *op, bb_err *err);
/* Whether tensor t is a constant (a param or buffer with data). */
int cpu_is_const(const bb_graph *g, int t);
/* Full shape of tensor t at the backend's batch (bb_tensor_shape). */
int cpu_full_shape(const bb_backend *b, int t, int64_t *dims);
/* Buffer holding activation t with a descriptor of t's full shape: the
 * current one when its dims already are (any layout), else a dense
 * row-major view of it (converted to dense first if it is not). */
int cpu_tensor_full(bb_backend *b, int t, bb_err *err);
/* ... dense row-major of type dt (reordered / converted if needed). */
int cpu_tensor_full_plain(bb_backend *b, int t, dnnl_data_type_t dt, bb_err *err);
/* A new buffer that is a view of buffer src (same bytes) as md. */
int cpu_view_buf(bb_backend *b, int src, const dnnl_memory_desc_t *md);

/* cpu_lower.c */
void cpu_touch(bb_backend *b, int buf);
void cpu_arg_buf(bb_backend *b, cpu_step *s, int arg, int buf);
void cpu_arg_mem(cpu_step *s, int arg, dnnl_memory_t mem);
int cpu_buf_as(bb_backend *b, int buf, const dnnl_memory_desc_t *want, bb_err *err);
int cpu_tensor_as(bb_backend *b, int t, const dnnl_memory_desc_t *want, bb_err *err);
void cpu_md_2d(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, dnnl_data_type_t dt);
dnnl_primitive_attr_t cpu_post_ops_attr(const bb_op *op);
/* A new attribute set whose scratchpad is ours to give (every primitive a
 * step runs is made with one: b->attr, or one of these with more set). */
void cpu_attr_create(dnnl_primitive_attr_t *attr);
/* Packed weights: mem kept (destroyed with the backend) and counted. */
void cpu_keep_weight(bb_backend *b, dnnl_memory_t mem);
int cpu_pack(bb_backend *b, const dnnl_memory_desc_t *user, const float *data,
             const dnnl_memory_desc_t *want, dnnl_memory_t *out, bb_err *err);
/* The same for data that is a graph tensor's (alive, unchanged, until the
 * backend is freed): packed once per layout, the memory shared. */
int cpu_pack_shared(bb_backend *b, const dnnl_memory_desc_t *user, const float *data,
                    const dnnl_memory_desc_t *want, dnnl_memory_t *out, bb_err *err);
/* The same cache for graph data packed by our own code (cpu_gemv.c,
 * cpu_rnn.c): pack(data, m, n, p) fills a zeroed buffer of want's size
 * (want: a plain layout of that size, told apart from oneDNN's), once per
 * backend for every step asking for data laid out as user into want. The
 * packed floats, or NULL with err set. */
typedef void (*cpu_pack_fn)(const float *data, int64_t m, int64_t n, float *p);
const float *cpu_pack_own(bb_backend *b, const float *data, const dnnl_memory_desc_t *user,
                          const dnnl_memory_desc_t *want, cpu_pack_fn pack, int64_t m, int64_t n, bb_err *err);
cpu_step *cpu_step_from_pd(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, bb_err *err);
/* A new step running our kernel from buffer src into buffer dst (both
 * touched), labelled and counted (MACs) as op. */
cpu_step *cpu_add_kernel_step(bb_backend *b, const bb_op *op, cpu_kernel kernel, int src, int dst);
int cpu_dst_buf(bb_backend *b, const bb_op *op, const dnnl_memory_desc_t *md);
const dnnl_memory_desc_t *cpu_q_md(dnnl_primitive_desc_t pd, dnnl_query_t what);
/* The eltwise algorithm of an activation that takes no parameters of its
 * own (as fused post-ops are: relu ... gelu, tanh, hardswish, sqrt, exp,
 * abs, neg, reciprocal); dnnl_alg_kind_undef for the others. */
dnnl_alg_kind_t cpu_act_alg(bb_act a, float *alpha, float *beta);
/* Buffer holding tensor t as a dense row-major array of type dt (reordered
 * or converted if needed). */
int cpu_tensor_plain(bb_backend *b, int t, dnnl_data_type_t dt, bb_err *err);
int cpu_new_buf(bb_backend *b, const dnnl_memory_desc_t *md);
void cpu_md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_data_type_t dt);
/* Whether oneDNN runs AVX-512 code here; the channel block that follows:
 * 16 (nChw16c) with it, else 8 (nChw8c). cpu_backend.c */
int cpu_has_avx512(void);
int cpu_channel_block(void);
dnnl_format_tag_t cpu_channel_block_tag(void); /* aBcd16b or aBcd8b */
/* md: dims d in like's nChw16c / nChw8c layout; 0 when like has neither. */
int cpu_md_blocked_like(dnnl_memory_desc_t *md, const int64_t d[4], const dnnl_memory_desc_t *like,
                        dnnl_data_type_t dt);
/* A per-(item, channel) operand [N or 1, C, 1, 1] of a binary op on x, in
 * x's channel-blocked layout when its bytes are the dense array's. */
void cpu_md_per_channel(dnnl_memory_desc_t *md, const int64_t d[4], const dnnl_memory_desc_t *x, dnnl_data_type_t dt);
int cpu_md_is_plain(const dnnl_memory_desc_t *md);
/* Whether buffer buf is plain f32 in an f32 model (where CPU_SMALL_OP's
 * kernels may read it). cpu_generic.c */
int cpu_buf_plain_f32(const bb_backend *b, int buf);
/* Whether md's dims are d (nd of them). cpu_generic.c */
int cpu_md_has_dims(const dnnl_memory_desc_t *md, int nd, const int64_t *d);
cpu_step *cpu_add_step(bb_backend *b, const char *label, const char *kind);

/* cpu_ops.c: BatchNorm folded into a conv's weights, packed for pd. */
int cpu_conv_weights(bb_backend *b, const bb_op *op, dnnl_primitive_desc_t pd, dnnl_memory_t *w,
                     dnnl_memory_t *bias, bb_err *err);
int cpu_is_ref_impl(const char *impl);
/* im2col + GEMM or reference code: what oneDNN 2.6 falls back to when no
 * JIT kernel takes the layouts it is given. */
int cpu_is_gemm_or_ref(const_dnnl_primitive_desc_t pd);

/* cpu_conv_dw.c: lowers ops[i] (a 1x1 conv) and ops[i+1] (the depthwise
 * conv reading it) as one fused step when oneDNN can and it measures faster:
 * 1 done (both ops), 0 not done (lower them apart), -1 error. */
int cpu_lower_conv_dw(bb_backend *b, int i, bb_err *err);

/* cpu_conv_algo.c: seconds of one run of pd on zeroed scratch memory (best
 * of four after a warm-up), -1 when it cannot run; and of a chain of up to
 * 4 primitives, each reading the previous one's output, with the caches
 * flushed before each run when `cold` (so that an intermediate tensor too
 * big for the cache costs what it costs inside the network). */
double cpu_time_pd(bb_backend *b, const_dnnl_primitive_desc_t pd);
double cpu_time_chain(bb_backend *b, const_dnnl_primitive_desc_t *pds, int n, int cold);
/* ... and of k candidate chains (at most CPU_RACE_MAX) timed interleaved,
 * round by round with the order rotating, so that a burst of load on a
 * shared machine slows every candidate alike instead of deciding the race;
 * best[i]: candidate i's fastest round after a warm-up one, -1 when it
 * cannot run. Every measured choice of the CPU backend goes through here. */
#define CPU_CHAIN_MAX 4
#define CPU_RACE_MAX 4
typedef struct {
    const_dnnl_primitive_desc_t pds[CPU_CHAIN_MAX];
    int n;
} cpu_chain;
void cpu_time_race(bb_backend *b, const cpu_chain *cands, int k, int cold, double *best);
/* ... and of a reorder between two layouts, -1 when there is none. */
double cpu_reorder_seconds(bb_backend *b, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to);

/* cpu_conv_algo.c: the memo of measured choices. kind names the decision
 * (CPU_PICK_*), op the conv or linear it is made for, extra two more numbers that
 * set it apart (the depthwise conv's, for a fused pair). cpu_choice_get
 * returns the earlier pick, or -1 when this is the first such conv. */
enum { CPU_PICK_WINOGRAD = 1, CPU_PICK_LAYOUT, CPU_PICK_CONV_DW, CPU_PICK_OWN_WINOGRAD, CPU_PICK_LINEAR };
void cpu_choice_key(const bb_backend *b, const bb_op *op, int kind, int64_t extra0, int64_t extra1,
                    int64_t key[CPU_CHOICE_KEY]);
int cpu_choice_get(const bb_backend *b, const int64_t key[CPU_CHOICE_KEY], const dnnl_memory_desc_t *have,
                   const dnnl_memory_desc_t *sum);
void cpu_choice_put(bb_backend *b, const int64_t key[CPU_CHOICE_KEY], const dnnl_memory_desc_t *have,
                    const dnnl_memory_desc_t *sum, int pick);

/* cpu_conv_algo.c: keeps the faster of a direct conv and its Winograd
 * version (wino may be NULL), timed on scratch memory, each plus the
 * seconds of the work it brings along (a reorder into its input layout, a
 * SiLU step after it); destroys the other. *chose_wino says which. known:
 * -1 to measure, or an earlier pick (0 direct, 1 Winograd) to take. */
dnnl_primitive_desc_t cpu_conv_faster(bb_backend *b, dnnl_primitive_desc_t direct, double direct_extra,
                                      dnnl_primitive_desc_t wino, double wino_extra, int known, int *chose_wino);
/* ... and of the silu kernel on a tensor of layout md, -1 when it cannot run. */
double cpu_silu_seconds(bb_backend *b, const dnnl_memory_desc_t *md);

/* cpu_concat_inplace.c: which concats are done in place (before lowering;
 * 0, or -1 out of memory); a producer's output buffer d placed into its
 * root concat when its layout allows; a concat lowered as a view (0) or
 * not (1: the caller copies). */
int cpu_cat_plan(bb_backend *b);
void cpu_cat_place(bb_backend *b, const bb_op *op, int d);
int cpu_cat_view(bb_backend *b, const bb_op *op);

/* cpu_winograd.c: whether conv op (full input / output shapes x, y) can
 * run as our Winograd F(4x4, 3x3): 3x3 stride 1, channels in whole nChw8c
 * blocks, f32, ReLU, SiLU or no activation, on a CPU without AVX-512 (where
 * oneDNN has its own, try_winograd in cpu_ops.c, unless cpu.winograd=own); and the attempt: 1 when
 * it measured faster than the direct conv *pd and was lowered (*pd
 * destroyed), 0 when *pd is kept (lower it as usual), -1 on error. */
int cpu_wino_fits(const bb_backend *b, const bb_op *op, const int64_t x[4], const int64_t y[4]);
int cpu_try_own_winograd(bb_backend *b, const bb_op *op, const bb_op *orig, const int64_t x[4],
                         const int64_t y[4], dnnl_primitive_desc_t *pd, int owes_silu, bb_err *err);
int cpu_run_winograd(const bb_backend *b, const cpu_step *s, bb_err *err);

/* cpu_gemv.c: a linear of at most 4 rows (an RNN's step or a classifier at
 * batch 1) as our kernel, where oneDNN reads the weights slowly: whether
 * op (m rows in all) runs there, its step from src ([m, k] plain f32), and
 * the step run from x into y. */
int cpu_gemv_fits(const bb_backend *b, const bb_op *op, int64_t m);
int cpu_lower_gemv(bb_backend *b, const bb_op *op, int src, int64_t m, int64_t k, int64_t o, bb_err *err);
void cpu_run_gemv(const bb_backend *b, const cpu_step *s, const float *x, float *y);

/* cpu_rnn.c: an LSTM or GRU direction (BB_OP_LSTM, BB_OP_GRU) as one step,
 * and the step run from the input gates x into y, with c (an LSTM's C,
 * rows x H floats: the scratch). */
int cpu_lower_rnn(bb_backend *b, const bb_op *op, bb_err *err);
void cpu_run_rnn(const bb_backend *b, const cpu_step *s, const float *x, float *y, float *c);

/* cpu_kernels.c */
void cpu_run_kernel(bb_backend *b, const cpu_step *s);
/* cpu_generic_kernels.c: the K_WALK, K_COPY and K_UNARY steps. */
void cpu_run_generic_kernel(const bb_backend *b, const cpu_step *s);
/* Whether the silu / silu_gap kernels can walk a tensor of this layout. */
int cpu_silu_layout_ok(const dnnl_memory_desc_t *md);
/* SiLU in place on x (laid out as md, f32); the [N, C] means of the result
 * into mean unless it is NULL. Work items: one channel block of one item
 * (nChwXc), or for NHWC a whole item (its rows are contiguous), split by
 * channels only where there are fewer items than threads. */
void cpu_silu_apply(int threads, const dnnl_memory_desc_t *md, float *x, float *mean, int silu);

/* Our kernels' long sums (the pools' means, K_REDUCE) add this many terms in
 * float, then the partial sum into a double total: one float sum over a
 * 112 x 112 plane drifted by 2e-6 of the mean (oneDNN's average pooling
 * does that), enough for a deep random net to leave the parity bound. */
#define CPU_SUM_RUN 64

#define DNNL_CHECK(call, err, what, label)                                          \
    do {                                                                            \
        dnnl_status_t st_ = (call);                                                 \
        if (st_ != dnnl_success)                                                    \
            return bb_err_set((err), "oneDNN: %s failed for '%s' (status %d)",      \
                              (what), (label), (int)st_);                           \
    } while (0)

#endif

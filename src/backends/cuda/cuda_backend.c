/*
 * cuda_backend.c — the GPU backend: prepare (lower every op, plan the
 * activation arena, upload the weights, search the convolution algorithms,
 * capture the forward pass into a CUDA graph), then forward = replay the
 * graph between two CUDA events, as the seed timed its forward pass.
 *
 * Every device allocation is owned by the backend and freed by destroy,
 * also after a failed prepare, so an out-of-memory batch size leaves the
 * GPU as it found it and the sweep goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"
#include "engine/fuse.h"
#include "engine/plan.h"

#define ALIGN 256
#define GEMM_WORKSPACE (32 << 20)
#define INPUT_BUF (-2)

int cu_fail(bb_err *err, int rc, const char *what, const char *label)
{
    cudaGetLastError(); /* clear a non-sticky error so later calls work */
    const char *msg = cudaGetErrorString((cudaError_t)rc);
    if (rc == cudaErrorMemoryAllocation)
        return bb_err_oom(err, "CUDA: out of memory: %s%s%s", what, label ? " for " : "", label ? label : "");
    return bb_err_set(err, "CUDA: %s%s%s failed: %s", what, label ? " for " : "", label ? label : "", msg);
}

int bb_cuda_available(char *why, size_t len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n < 1) {
        if (why && len)
            snprintf(why, len, "no CUDA device: %s",
                     e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice
                         ? "no NVIDIA GPU or driver found"
                         : e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        cudaGetLastError();
        return 0;
    }
    return 1;
}

/* ---- timing a candidate (cuBLASLt algorithms, cuDNN graph plans) ----------- */

double cu_time_ms(bb_backend *b, int (*run)(bb_backend *b, const void *ctx), const void *ctx)
{
    float ms = 0.f;
    int ok = run(b, ctx) == 0 && cudaEventRecord(b->ev[0], b->stream) == cudaSuccess;
    for (int r = 0; ok && r < 3; r++)
        ok = run(b, ctx) == 0;
    ok = ok && cudaEventRecord(b->ev[1], b->stream) == cudaSuccess &&
         cudaEventSynchronize(b->ev[1]) == cudaSuccess && cudaEventElapsedTime(&ms, b->ev[0], b->ev[1]) == cudaSuccess;
    if (!ok) {
        cudaGetLastError();
        return -1.0;
    }
    return ms / 3.0;
}

/* ---- buffers, steps and uploads (used by cuda_ops.c) ------------------------- */

int cu_grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? 2 * *cap : 64;
    void *na = realloc(*arr, elem * (size_t)nc);
    if (!na)
        return -1;
    memset((char *)na + elem * (size_t)*cap, 0, elem * (size_t)(nc - *cap));
    *arr = na, *cap = nc;
    return 0;
}

int cu_new_buf(bb_backend *b, int64_t bytes, int first, int alias)
{
    if (cu_grow((void **)&b->bufs, &b->cap_bufs, b->n_bufs, sizeof *b->bufs) != 0)
        return -1;
    b->bufs[b->n_bufs] = (cu_buf){bytes, first, first, alias, 0};
    return b->n_bufs++;
}

void *cu_ptr(const bb_backend *b, int buf)
{
    return buf == INPUT_BUF ? b->input : buf >= 0 ? b->arena + b->bufs[buf].off : NULL;
}

cu_step *cu_new_step(bb_backend *b, const bb_op *op, cu_step_kind kind, bb_err *err)
{
    if (cu_grow((void **)&b->steps, &b->cap_steps, b->n_steps, sizeof *b->steps) != 0) {
        bb_err_set(err, "out of memory lowering '%s'", op->label);
        return NULL;
    }
    cu_step *s = &b->steps[b->n_steps++];
    memset(s, 0, sizeof *s);
    s->op = op, s->kind = kind, s->in[0] = s->in[1] = s->out = -1;
    s->scratch[0] = s->scratch[1] = -1;
    return s;
}

static int device_alloc(bb_backend *b, void **p, size_t bytes, const char *what, bb_err *err)
{
    if (cu_grow((void **)&b->allocs, &b->cap_allocs, b->n_allocs, sizeof *b->allocs) != 0)
        return bb_err_set(err, "out of memory");
    CUDA_OK(cudaMalloc(p, bytes ? bytes : 1), err, what, NULL);
    b->allocs[b->n_allocs++] = *p;
    return 0;
}

int cu_upload(bb_backend *b, const float *host, int64_t n, int as_act, void **dev, bb_err *err)
{
    size_t es = as_act ? b->es : sizeof(float);
    if (device_alloc(b, dev, (size_t)n * es, "weights", err) != 0)
        return -1;
    b->weight_bytes += n * (int64_t)es;
    /* Every copy goes on b->stream: a cudaMemcpy from pageable memory runs on
     * the legacy stream and may return before its DMA lands, and b->stream
     * (non-blocking) is not ordered after it, so the conversion kernel below
     * could read the staging buffer too early (found by review, not yet
     * confirmed on a GPU: a suspect for the bf16 parity failures). */
    if (!as_act || b->dt == CU_F32) {
        CUDA_OK(cudaMemcpyAsync(*dev, host, (size_t)n * sizeof(float), cudaMemcpyHostToDevice, b->stream), err,
                "weight upload", NULL);
        CUDA_OK(cudaStreamSynchronize(b->stream), err, "weight upload", NULL);
        return 0;
    }
    /* 16-bit weights: upload fp32 into the staging buffer, convert there. */
    if (n > b->staging_elems)
        return bb_err_set(err, "internal: a weight of %lld values exceeds the staging buffer", (long long)n);
    CUDA_OK(cudaMemcpyAsync(b->staging_in, host, (size_t)n * sizeof(float), cudaMemcpyHostToDevice, b->stream), err,
            "weight upload", NULL);
    CUDA_OK((cudaError_t)cuk_from_f32(b->dt, b->staging_in, *dev, n, b->stream), err, "weight conversion", NULL);
    CUDA_OK(cudaStreamSynchronize(b->stream), err, "weight conversion", NULL);
    return 0;
}

/* ---- prepare ---------------------------------------------------------------- */

static int create_handles(bb_backend *b, bb_err *err)
{
    CUDA_OK(cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking), err, "stream creation", NULL);
    for (int i = 0; i < 4; i++)
        CUDA_OK(cudaEventCreate(&b->ev[i]), err, "event creation", NULL);
    CUDNN_OK(cudnnCreate(&b->dnn), err, "handle creation", "cudnn");
    CUDNN_OK(cudnnSetStream(b->dnn, b->stream), err, "stream", "cudnn");
    LT_OK(cublasLtCreate(&b->lt), err, "handle creation", "cublasLt");
    return 0;
}

/* The dedicated input buffer (the batch is set once and may be run many
 * times, so it is not in the arena) and the fp32 staging buffers. */
static int io_buffers(bb_backend *b, bb_err *err)
{
    const bb_graph *g = b->g;
    b->in_elems = b->batch * bb_tensor_numel(&g->tensors[g->input]);
    b->out_elems = b->batch * bb_tensor_numel(&g->tensors[g->output]);
    if (device_alloc(b, &b->input, (size_t)b->in_elems * b->es, "the input batch", err) != 0)
        return -1;
    CUDA_OK(cudaMallocHost((void **)&b->host_in, (size_t)b->in_elems * sizeof(float)), err, "pinned input", NULL);
    if (b->dt != CU_F32) {
        int64_t largest = b->in_elems; /* staging holds the input or any weight */
        for (int i = 0; i < g->n_tensors; i++)
            if (g->tensors[i].kind == BB_T_PARAM && bb_tensor_numel(&g->tensors[i]) > largest)
                largest = bb_tensor_numel(&g->tensors[i]);
        if (device_alloc(b, (void **)&b->staging_in, (size_t)largest * sizeof(float), "staging", err) != 0 ||
            device_alloc(b, &b->output_f32, (size_t)b->out_elems * sizeof(float), "staging", err) != 0)
            return -1;
        b->staging_elems = largest;
    }
    return 0;
}

/* The window numbers conv_key packs in 21 bits each. */
static int window_fits(const bb_op *op)
{
    const int v[8] = {op->kh, op->kw, op->sh, op->sw, op->pad_t, op->pad_l, op->dil_h, op->dil_w};
    for (int i = 0; i < 8; i++)
        if (v[i] < 0 || v[i] >= 1 << 21)
            return 0;
    return 1;
}

/* Ops that read their tensors as [C, H, W] or [L, D] per item, batch
 * outermost (the zoo's layout); the others take any full shape. */
static int needs_batch_outermost(bb_op_type t)
{
    return t == BB_OP_CONV || t == BB_OP_MAXPOOL || t == BB_OP_GAP || t == BB_OP_SE_SCALE || t == BB_OP_TOKENS ||
           t == BB_OP_ATTENTION || t == BB_OP_CLS_SELECT || t == BB_OP_AVGPOOL;
}

/* What the CUDA backend cannot lower, refused before any work, naming the
 * op: convolutions with asymmetric padding (cuDNN pads both sides alike;
 * the CPU backend runs them), absurd windows, and zoo ops on tensors whose
 * batch is not the outermost axis. */
static int graph_supported(const bb_graph *g, bb_err *err)
{
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        const char *why = NULL;
        int windowed = op->type == BB_OP_CONV || op->type == BB_OP_MAXPOOL || op->type == BB_OP_AVGPOOL;
        if (windowed && !window_fits(op))
            why = "a window of over 2^21";
        else if (op->type == BB_OP_CONV && (op->pad_t != op->pad_b || op->pad_l != op->pad_r))
            why = "asymmetric padding";
        else if (needs_batch_outermost(op->type) &&
                 (g->tensors[op->out].full_rank || (op->n_in > 0 && g->tensors[op->in[0]].full_rank)))
            why = "a tensor whose batch is not the outermost axis";
        if (why)
            return bb_err_set(err, "cuda: '%s' (%s): %s has no CUDA lowering yet; the CPU backend runs it",
                              op->label, bb_op_type_name(op->type), why);
    }
    return 0;
}

static int lower_graph(bb_backend *b, bb_err *err)
{
    const bb_graph *g = b->g;
    if (graph_supported(g, err) != 0)
        return -1;
    if (!(b->tbuf = malloc(sizeof(int) * (size_t)g->n_tensors)))
        return bb_err_set(err, "out of memory");
    for (int i = 0; i < g->n_tensors; i++)
        b->tbuf[i] = -1;
    b->tbuf[g->input] = INPUT_BUF;
    b->nhwc = cu_channels_last(b);
    for (int i = 0; i < g->n_ops; i++)
        if (cu_lower_op(b, &g->ops[i], err) != 0)
            return -1;
    b->output_buf = b->tbuf[g->output];
    if (b->output_buf < 0)
        return bb_err_set(err, "internal: the graph's output has no buffer");
    b->bufs[b->output_buf].last = g->n_ops; /* read after the last op */
    return 0;
}

static int plan_arena(bb_backend *b, bb_err *err)
{
    bb_plan_buf *pb = calloc((size_t)b->n_bufs + 1, sizeof *pb);
    int64_t *off = calloc((size_t)b->n_bufs + 1, sizeof *off);
    if (!pb || !off) {
        free(pb), free(off);
        return bb_err_set(err, "out of memory planning activations");
    }
    for (int i = 0; i < b->n_bufs; i++)
        pb[i] = (bb_plan_buf){b->bufs[i].bytes, b->bufs[i].first, b->bufs[i].last, b->bufs[i].alias, 0};
    b->arena_bytes = bb_plan_place(pb, b->n_bufs, ALIGN, off);
    for (int i = 0; i < b->n_bufs; i++)
        b->bufs[i].off = off[i];
    free(pb), free(off);
    cudaError_t e = cudaMalloc((void **)&b->arena, (size_t)(b->arena_bytes > 0 ? b->arena_bytes : ALIGN));
    if (e != cudaSuccess) {
        b->arena = NULL;
        return cu_fail(err, (int)e, "activation arena", NULL);
    }
    return 0;
}

/* cuDNN's search with up to half the free memory as workspace, then the
 * workspace the chosen algorithms (and cuBLASLt) need. */
static int tune(bb_backend *b, bb_err *err)
{
    size_t free_b = 0, total = 0;
    CUDA_OK(cudaMemGetInfo(&free_b, &total), err, "memory query", NULL);
    /* Up to half of what is free. With a 1 GiB cap, bf16 resnet50 ran
     * slower per item at batch 1024 than at 256 on an H100 (0.159 vs 0.107
     * ms); a cap that excluded the algorithms needing more workspace at
     * large batches is the suspected cause (not yet re-measured). */
    size_t cap = free_b / 2;
    void *ws = NULL;
    while (cap >= ((size_t)1 << 20) && cudaMalloc(&ws, cap) != cudaSuccess) {
        cudaGetLastError();
        cap /= 2;
    }
    if (!ws)
        return bb_err_oom(err, "out of memory: no workspace for cuDNN's algorithm search");
    int rc = cu_tune_convs(b, ws, cap, err) || cu_tune_attention(b, ws, cap, err) ? -1 : 0;
    cudaFree(ws);
    if (rc != 0)
        return -1;
    b->ws_bytes = b->gemm_ws_bytes;
    for (int i = 0; i < b->n_steps; i++)
        if (b->steps[i].ws_bytes > b->ws_bytes)
            b->ws_bytes = b->steps[i].ws_bytes;
    return device_alloc(b, &b->ws, b->ws_bytes, "workspace", err);
}

static int enqueue_all(bb_backend *b, bb_err *err)
{
    for (int i = 0; i < b->n_steps; i++) {
        const cu_step *s = &b->steps[i];
        if (b->profile)
            CUDA_OK(cudaEventRecord(b->step_ev[i], b->stream), err, "event", NULL);
        int rc = s->enqueue(b, s);
        if (rc != 0)
            return bb_err_set(err, "CUDA: step '%s' (%s) failed to launch (code %d)", s->op->label,
                              bb_op_type_name(s->op->type), rc);
    }
    if (b->profile)
        CUDA_OK(cudaEventRecord(b->step_ev[b->n_steps], b->stream), err, "event", NULL);
    return 0;
}

/* One capture of the whole pass; replayed by every forward(). */
static int capture(bb_backend *b, bb_err *err)
{
    CUDA_OK(cudaStreamBeginCapture(b->stream, cudaStreamCaptureModeThreadLocal), err, "graph capture", NULL);
    int rc = enqueue_all(b, err);
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture(b->stream, &graph);
    b->graph = graph;
    if (rc != 0)
        return -1;
    CUDA_OK(e, err, "graph capture", NULL);
    CUDA_OK(cudaGraphInstantiate(&b->exec, b->graph, 0), err, "graph instantiation", NULL);
    return 0;
}

static void cuda_destroy(bb_backend *b);

static int prepare_steps(bb_backend *b, bb_err *err)
{
    if (create_handles(b, err) || io_buffers(b, err) || lower_graph(b, err) || plan_arena(b, err) || tune(b, err) ||
        cu_setup_gemms(b, err))
        return -1;
    if (b->profile) {
        if (!(b->step_ev = calloc((size_t)b->n_steps + 1, sizeof *b->step_ev)) ||
            !(b->times = calloc((size_t)b->n_steps, sizeof *b->times)))
            return bb_err_set(err, "out of memory");
        for (int i = 0; i <= b->n_steps; i++)
            CUDA_OK(cudaEventCreate(&b->step_ev[i]), err, "event creation", NULL);
        return 0;
    }
    bb_err cap = {0};
    if (capture(b, &cap) == 0) {
        b->use_graph = 1;
        return 0;
    }
    /* Still correct, only with a launch per kernel: run eagerly, say why. */
    snprintf(b->graph_note, sizeof b->graph_note, "%.150s", cap.msg);
    if (b->exec)
        cudaGraphExecDestroy(b->exec);
    if (b->graph)
        cudaGraphDestroy(b->graph);
    b->exec = NULL, b->graph = NULL;
    cudaGetLastError();
    return 0;
}

static int cuda_prepare(bb_backend **out, const bb_graph *g, int64_t batch, const bb_run_config *opts,
                        bb_err *err)
{
    *out = NULL;
    char why[256];
    if (batch < 1)
        return bb_err_set(err, "batch size must be at least 1, got %lld", (long long)batch);
    if (opts && opts->activation_stats)
        return bb_err_set(err, "activation statistics are computed by the CPU backend only (use --device cpu)");
    if (!bb_cuda_available(why, sizeof why))
        return bb_err_set(err, "--device cuda: %s", why);
    bb_backend *b = calloc(1, sizeof *b);
    if (!b)
        return bb_err_set(err, "out of memory");
    b->g = g, b->batch = batch, b->prec = opts ? opts->precision : BB_PREC_FP32;
    b->dt = b->prec == BB_PREC_FP16 ? CU_F16 : b->prec == BB_PREC_BF16 ? CU_BF16 : CU_F32;
    b->es = b->dt == CU_F32 ? 4 : 2;
    b->profile = opts && opts->profile;
    if (opts)
        b->opt = opts->options;
    b->gemm_ws_bytes = GEMM_WORKSPACE;
    if (prepare_steps(b, err) != 0) {
        cuda_destroy(b);
        return -1;
    }
    *out = b;
    return 0;
}

/* ---- run ---------------------------------------------------------------------- */

static double elapsed_s(cudaEvent_t a, cudaEvent_t z)
{
    float ms = 0.f;
    return cudaEventElapsedTime(&ms, a, z) == cudaSuccess ? ms / 1e3 : -1.0;
}

static int cuda_forward(bb_backend *b, bb_err *err)
{
    CUDA_OK(cudaEventRecord(b->ev[0], b->stream), err, "event", NULL);
    if (b->use_graph)
        CUDA_OK(cudaGraphLaunch(b->exec, b->stream), err, "graph launch", NULL);
    else if (enqueue_all(b, err) != 0)
        return -1;
    CUDA_OK(cudaEventRecord(b->ev[1], b->stream), err, "event", NULL);
    CUDA_OK(cudaEventSynchronize(b->ev[1]), err, "forward pass", NULL);
    b->last_forward_s = elapsed_s(b->ev[0], b->ev[1]);
    for (int i = 0; b->profile && i < b->n_steps; i++) {
        const bb_op *op = b->steps[i].op;
        b->times[i] = (bb_step_time){.label = op->label, .kind = bb_op_type_name(op->type),
                                     .seconds = elapsed_s(b->step_ev[i], b->step_ev[i + 1]),
                                     .macs = bb_op_macs(b->g, op) * b->batch};
    }
    return 0;
}

static int cuda_set_input(bb_backend *b, const float *input, bb_err *err)
{
    memcpy(b->host_in, input, (size_t)b->in_elems * sizeof(float));
    void *dst = b->dt == CU_F32 ? b->input : (void *)b->staging_in;
    CUDA_OK(cudaEventRecord(b->ev[2], b->stream), err, "event", NULL);
    CUDA_OK(cudaMemcpyAsync(dst, b->host_in, (size_t)b->in_elems * sizeof(float), cudaMemcpyHostToDevice, b->stream),
            err, "input copy", NULL);
    CUDA_OK(cudaEventRecord(b->ev[3], b->stream), err, "event", NULL);
    if (b->dt != CU_F32)
        CUDA_OK((cudaError_t)cuk_from_f32(b->dt, b->staging_in, b->input, b->in_elems, b->stream), err,
                "input conversion", NULL);
    CUDA_OK(cudaStreamSynchronize(b->stream), err, "input copy", NULL);
    b->last_input_s = elapsed_s(b->ev[2], b->ev[3]);
    return 0;
}

static int cuda_get_output(bb_backend *b, float *output, bb_err *err)
{
    void *src = cu_ptr(b, b->output_buf);
    if (b->dt != CU_F32) {
        CUDA_OK((cudaError_t)cuk_to_f32(b->dt, src, b->output_f32, b->out_elems, b->stream), err, "output conversion",
                NULL);
        src = b->output_f32;
    }
    CUDA_OK(cudaMemcpyAsync(output, src, (size_t)b->out_elems * sizeof(float), cudaMemcpyDeviceToHost, b->stream), err,
            "output copy", NULL);
    CUDA_OK(cudaStreamSynchronize(b->stream), err, "output copy", NULL);
    return 0;
}

static double cuda_forward_seconds(const bb_backend *b)
{
    return b->last_forward_s;
}

static double cuda_input_seconds(const bb_backend *b)
{
    return b->last_input_s;
}

/* How the feature maps were laid out ("" for NCHW). */
static const char *layout_note(const bb_backend *b)
{
    for (int i = 0; b->nhwc && i < b->n_steps; i++) {
        const cu_step *s = &b->steps[i]; /* a conv of the input batch, channels padded */
        if (s->kind == ST_CONV && s->scratch[0] >= 0 && s->shape[5] != s->shape[3])
            return ", NHWC, input 8 ch";
    }
    return b->nhwc ? ", NHWC" : "";
}

static void cuda_report(const bb_backend *b, bb_backend_report *r)
{
    int graph = b->n_conv_graph_fused + b->n_conv_graph_plain;
    int convs = b->n_conv_fma + b->n_conv_default + b->n_conv_tensor + graph;
    char graph_note[48] = "", attention[96];
    cu_attention_note(b, attention, sizeof attention);
    if (graph)
        snprintf(graph_note, sizeof graph_note, "/graph %d (epilogue fused %d)", graph, b->n_conv_graph_fused);
    r->weight_bytes = b->weight_bytes;
    r->arena_bytes = b->arena_bytes + b->in_elems * (int64_t)b->es;
    r->workspace_bytes = (int64_t)b->ws_bytes + (b->dt != CU_F32 ? (b->staging_elems + b->out_elems) * 4 : 0);
    r->threads = 1;
    r->n_steps = b->n_steps;
    const char *lt = b->prec == BB_PREC_TF32 ? "COMPUTE_32F_FAST_TF32" : "COMPUTE_32F";
    const char *kind = b->prec == BB_PREC_FP32   ? "fp32 strict (no TF32)"
                       : b->prec == BB_PREC_TF32 ? "fp32 storage, TF32 tensor cores allowed"
                                                 : b->dt == CU_BF16 ? "bf16 storage, fp32 accumulate"
                                                                    : "fp16 storage, fp32 accumulate";
    const char *algos = b->opt.value[BB_OPT_CUDNN_ALGO] ? bb_opt_value(&b->opt, BB_OPT_CUDNN_ALGO) : NULL;
    int n = snprintf(r->math_mode, sizeof r->math_mode,
                     "%s; cuDNN convs FMA %d/default %d/tensor-op %d%s of %d%s%s%.12s; cuBLASLt %s%s; %s%.40s", kind,
                     b->n_conv_fma, b->n_conv_default, b->n_conv_tensor, graph_note, convs, layout_note(b),
                     convs && algos ? ", algorithms: " : "", convs && algos ? algos : "", lt, attention,
                     b->use_graph ? "CUDA graph" : b->profile ? "eager (profiling)" : "eager: ", b->graph_note);
    if (n >= (int)sizeof r->math_mode) /* cut: say so */
        memcpy(r->math_mode + sizeof r->math_mode - 4, "...", 4);
}

static int cuda_profile(const bb_backend *b, const bb_step_time **steps)
{
    *steps = b->times;
    return b->profile ? b->n_steps : 0;
}

static void cuda_destroy(bb_backend *b)
{
    if (!b)
        return;
    if (b->stream)
        cudaStreamSynchronize(b->stream);
    if (b->exec)
        cudaGraphExecDestroy(b->exec);
    if (b->graph)
        cudaGraphDestroy(b->graph);
    for (int i = 0; i < b->n_steps; i++)
        cu_step_release(&b->steps[i]);
    cu_conv_plans_free(b); /* before the handle they were built for */
    cu_attn_plans_free(b);
    for (int i = 0; i < b->n_allocs; i++)
        cudaFree(b->allocs[i]);
    cudaFree(b->arena);
    cudaFreeHost(b->host_in);
    for (int i = 0; b->step_ev && i <= b->n_steps; i++)
        if (b->step_ev[i])
            cudaEventDestroy(b->step_ev[i]);
    for (int i = 0; i < 4; i++)
        if (b->ev[i])
            cudaEventDestroy(b->ev[i]);
    if (b->lt)
        cublasLtDestroy(b->lt);
    if (b->dnn)
        cudnnDestroy(b->dnn);
    if (b->stream)
        cudaStreamDestroy(b->stream);
    cudaGetLastError();
    free(b->steps), free(b->bufs), free(b->tbuf), free(b->allocs), free(b->algos), free(b->gemm_algos);
    free(b->step_ev), free(b->times);
    free(b);
}

const bb_backend_ops bb_cuda_backend = {
    .name = "cuda",
    .prepare = cuda_prepare,
    .set_input = cuda_set_input,
    .forward = cuda_forward,
    .get_output = cuda_get_output,
    .report = cuda_report,
    .forward_seconds = cuda_forward_seconds,
    .input_seconds = cuda_input_seconds,
    .profile = cuda_profile,
    .destroy = cuda_destroy,
};

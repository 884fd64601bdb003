/*
 * cuda_ops.c — lowering each fused graph op to the calls that run it on the
 * GPU: convolutions through cuDNN (BatchNorm folded into the weights), then
 * one element-wise pass for bias, residual sum and activation (channels-last
 * convs: one cuDNN operation graph with that epilogue fused where cuDNN has
 * an engine for it, cuda_conv_graph.c); linear
 * layers and attention's products through cuBLASLt (cuda_gemm.c), 16-bit
 * ViT attention through its own kernel (cuda_attention.cu), a ViT's patch
 * embedding as a product, the rest through the kernels in cuda_kernels.cu.
 * 16-bit ResNets keep their feature maps channels-last (cu_channels_last;
 * their pooling and squeeze-excitation kernels in cuda_channels_last.cu).
 *
 * cuBLASLt's algorithms are chosen once the arena is allocated
 * (cu_setup_gemms), by timing the heuristic's best few on the real buffers.
 *
 * Each step gets an enqueue function that puts its work on the backend's
 * stream without synchronising, so the whole pass can be captured into one
 * CUDA graph.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cuda/cuda_internal.h"
#include "engine/fuse.h"

_Static_assert((int)CUK_NONE == (int)BB_ACT_NONE && (int)CUK_RELU == (int)BB_ACT_RELU &&
                   (int)CUK_RELU6 == (int)BB_ACT_RELU6 && (int)CUK_SILU == (int)BB_ACT_SILU &&
                   (int)CUK_SIGMOID == (int)BB_ACT_SIGMOID && (int)CUK_GELU == (int)BB_ACT_GELU &&
                   (int)CUK_TANH == (int)BB_ACT_TANH && (int)CUK_HARDSWISH == (int)BB_ACT_HARDSWISH,
               "kernel activations are numbered as bb_act");

static int op_index(const bb_backend *b, const bb_op *op)
{
    return (int)(op - b->g->ops);
}

static const bb_tensor *tensor(const bb_backend *b, int t)
{
    return &b->g->tensors[t];
}

int cu_use(bb_backend *b, int t, int i)
{
    int buf = b->tbuf[t];
    if (buf >= 0 && b->bufs[buf].last < i)
        b->bufs[buf].last = i;
    return buf;
}

int cu_output(bb_backend *b, const bb_op *op, int in_place, bb_err *err)
{
    int i = op_index(b, op), alias = in_place && op->sum_in >= 0 ? cu_use(b, op->sum_in, i) : -1;
    int buf = cu_new_buf(b, b->batch * bb_tensor_numel(tensor(b, op->out)) * (int64_t)b->es, i, alias);
    if (buf < 0)
        return bb_err_set(err, "out of memory lowering '%s'", op->label);
    b->tbuf[op->out] = buf;
    return buf;
}

int cu_scratch(bb_backend *b, const bb_op *op, int64_t bytes, bb_err *err)
{
    int buf = cu_new_buf(b, bytes, op_index(b, op), -1);
    return buf < 0 ? bb_err_set(err, "out of memory lowering '%s'", op->label) : buf;
}

/* ---- enqueue functions: put one step's work on the stream ------------------ */

/* What a conv reads: its input, or for a channels-last conv of the input
 * batch (which arrives NCHW) the NHWC copy it makes first. */
static void *conv_src(const bb_backend *b, const cu_step *s)
{
    return cu_ptr(b, s->scratch[0] >= 0 ? s->scratch[0] : s->in[0]);
}

/* conv, then one pass for bias, residual and activation (y = act(conv +
 * bias + r)); the residual r is in[1]. A cuDNN graph plan (s->plan) may
 * do the whole of it. */
static int run_conv(bb_backend *b, const cu_step *s)
{
    float one = 1.f, zero = 0.f;
    void *y = cu_ptr(b, s->out);
    if (s->scratch[0] >= 0) {
        int rc = cuk_nchw_to_nhwc(b->dt, cu_ptr(b, s->in[0]), conv_src(b, s), b->batch, s->shape[3], s->shape[5],
                                  s->shape[4], b->stream);
        if (rc)
            return rc;
    }
    if (s->plan) {
        int rc = cu_conv_graph_run(b, s, conv_src(b, s));
        if (rc || s->plan_fused)
            return rc;
    } else {
        cudnnStatus_t st = cudnnConvolutionForward(b->dnn, &one, s->xd, conv_src(b, s), s->wd, s->w, s->cd, s->algo,
                                                   b->ws, s->ws_bytes, &zero, s->yd, y);
        if (st != CUDNN_STATUS_SUCCESS)
            return 1000 + (int)st;
    }
    if (!s->bias && s->in[1] < 0 && s->act == CUK_NONE)
        return 0;
    return cuk_bias_act(b->dt, y, y, s->bias, s->in[1] >= 0 ? cu_ptr(b, s->in[1]) : NULL, s->shape[0], s->shape[1],
                        s->shape[2], s->act, b->stream);
}

/* A patch embedding (conv with kernel = stride, no padding): the patches
 * copied into rows, then one linear product with the bias in cuBLASLt's
 * epilogue; the tokens come out token-major ([n, patches, channels]). */
static int run_patch_gemm(bb_backend *b, const cu_step *s)
{
    const int64_t *p = s->shape;
    void *cols = cu_ptr(b, s->scratch[0]);
    int rc = cuk_patchify(b->dt, cu_ptr(b, s->in[0]), cols, b->batch, p[0], p[1], p[2], s->op->k, b->stream);
    return rc ? rc : cu_gemm_run(b, &s->gemm[0], s->w, cols, cu_ptr(b, s->out));
}

static int run_gemm(bb_backend *b, const cu_step *s)
{
    void *y = cu_ptr(b, s->out);
    int rc = cu_gemm_run(b, &s->gemm[0], s->w, cu_ptr(b, s->in[0]), y);
    if (rc == 0 && (s->bias || s->act != CUK_NONE))
        rc = cuk_bias_act(b->dt, y, y, s->bias, NULL, s->shape[0], 1, s->shape[1], s->act, b->stream);
    return rc;
}

/* Attention as products, one pair per head: each reads its head's q, k
 * and v in place in the in-projection's output [n, l, 3, h, dh] (rows 3d
 * apart) and the second writes its head's columns of the merged output
 * [n, l, h*dh], so there is no split or merge pass. Scores are fp32
 * [n, h, l, ls]; the softmax runs once over all of them. */
static int run_attention(bb_backend *b, const cu_step *s)
{
    const int64_t l = s->shape[0], h = s->shape[1], dh = s->shape[2], ls = s->shape[3], d = h * dh;
    const size_t es = b->es;
    const char *x = cu_ptr(b, s->in[0]);
    char *y = cu_ptr(b, s->out), *pr = cu_ptr(b, s->scratch[1]);
    float *sc = cu_ptr(b, s->scratch[0]);
    int rc = 0;
    for (int64_t j = 0; rc == 0 && j < h; j++)
        rc = cu_gemm_run(b, &s->gemm[0], x + (size_t)(d + j * dh) * es, x + (size_t)(j * dh) * es, sc + j * l * ls);
    if (rc == 0)
        rc = cuk_softmax(b->dt, sc, pr, b->batch * h * l, l, ls, b->stream);
    for (int64_t j = 0; rc == 0 && j < h; j++)
        rc = cu_gemm_run(b, &s->gemm[1], x + (size_t)(2 * d + j * dh) * es, pr + (size_t)(j * l * ls) * es,
                         y + (size_t)(j * dh) * es);
    return rc;
}

static int run_kernel(bb_backend *b, const cu_step *s)
{
    const void *x = cu_ptr(b, s->in[0]);
    void *y = cu_ptr(b, s->out);
    const int64_t *p = s->shape;
    switch (s->op->type) {
    case BB_OP_ACT: return cuk_bias_act(b->dt, x, y, NULL, NULL, p[0], 1, 1, s->act, b->stream);
    case BB_OP_ADD: return cuk_add_act(b->dt, x, cu_ptr(b, s->in[1]), y, p[0], s->act, b->stream);
    case BB_OP_MAXPOOL:
        if (b->nhwc)
            return cuk_maxpool_nhwc(b->dt, x, y, b->batch, p[5], (int)p[1], (int)p[2], (int)p[3], (int)p[4],
                                    s->op->k, s->op->stride, s->op->pad, b->stream);
        return cuk_maxpool(b->dt, x, y, p[0], (int)p[1], (int)p[2], (int)p[3], (int)p[4], s->op->k, s->op->stride,
                           s->op->pad, b->stream);
    case BB_OP_GAP:
        if (b->nhwc)
            return cuk_mean_nhwc(b->dt, x, y, b->batch, p[1], p[2], b->stream);
        return cuk_mean_rows(b->dt, x, y, p[0], p[1], b->stream);
    case BB_OP_SE_SCALE:
        if (b->nhwc)
            return cuk_scale_nhwc(b->dt, x, cu_ptr(b, s->in[1]), y, b->batch, p[1], p[2], b->stream);
        return cuk_scale_rows(b->dt, x, cu_ptr(b, s->in[1]), y, p[0], p[1], b->stream);
    case BB_OP_LAYERNORM: return cuk_layernorm(b->dt, x, y, s->p0, s->p1, p[0], p[1], s->op->eps, b->stream);
    case BB_OP_TOKENS: return cuk_tokens(b->dt, x, s->p0, s->p1, y, b->batch, p[0], p[1], (int)p[2], b->stream);
    case BB_OP_CLS_SELECT:
        return (int)cudaMemcpy2DAsync(y, (size_t)p[1] * b->es, x, (size_t)(p[0] * p[1]) * b->es,
                                      (size_t)p[1] * b->es, (size_t)b->batch, cudaMemcpyDeviceToDevice, b->stream);
    default: return -1;
    }
}

/* ---- lowering ---------------------------------------------------------------- */

/* Per-item tensor with no spatial extent ([c] or [c, 1, 1]): the same
 * bytes in either layout. */
static int flat(const bb_tensor *t)
{
    return t->ndim == 1 || bb_tensor_numel(t) == t->dims[0];
}

/* Channels-last feature maps, where cuDNN's tensor-core convolutions work
 * without transposing in and out of every layer (PyTorch's NCHW bf16
 * ResNet-50 at batch 32 sends 46 convs through cuDNN's nchwToNhwc kernel).
 * Measured on an H200, bf16 forward ms, NHWC against NCHW: resnet50 4.52
 * against 5.60 at batch 32, 11.03 against 15.52 at 256; but with grouped
 * (depthwise) convolutions it loses: efficientnet_v2_s 55.7 against 26.9
 * and mobilenet_v2 34.0 against 11.2 at batch 256. So: 16-bit activations,
 * no grouped convolution, and every op one this backend runs channels-last
 * (convolutions, element-wise ops, max pooling, global average pooling,
 * squeeze-excitation, linear layers on flat tensors); the input batch read
 * by convolutions only, the output flat. ViTs (tokens, attention) keep their
 * own layout. --backend-opt cuda.layout=nchw turns it off, =nhwc lifts the
 * grouped-convolution rule (to measure it again). */
int cu_channels_last(const bb_backend *b)
{
    int layout = b->opt.value[BB_OPT_CUDA_LAYOUT]; /* auto | nchw | nhwc */
    const bb_graph *g = b->g;
    if (b->dt == CU_F32 || layout == 1 || !flat(&g->tensors[g->output]))
        return 0;
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        switch (op->type) {
        case BB_OP_CONV:
            if ((op->groups > 1 && layout != 2) || !bb_window_square(op))
                return 0;
            break;
        case BB_OP_MAXPOOL:
            if (!bb_window_square(op))
                return 0;
            /* fall through */
        case BB_OP_ACT:
        case BB_OP_ADD:
        case BB_OP_GAP:
        case BB_OP_SE_SCALE:
            for (int j = 0; j < op->n_in; j++)
                if (op->in[j] == g->input)
                    return 0;
            break;
        case BB_OP_LINEAR:
            if (!flat(&g->tensors[op->in[0]]))
                return 0;
            break;
        default: return 0;
        }
    }
    return 1;
}

/* The op producing tensor t, or NULL (the input, a parameter). */
static const bb_op *producer(const bb_backend *b, int t)
{
    for (int i = 0; i < b->g->n_ops; i++)
        if (b->g->ops[i].out == t)
            return &b->g->ops[i];
    return NULL;
}

/* A patch embedding that runs as a product (run_patch_gemm): a plain conv
 * with kernel = stride and no padding whose only reader is the tokens op. */
static int is_patch_gemm(const bb_backend *b, const bb_op *op)
{
    if (!op || op->type != BB_OP_CONV || !bb_window_square(op) || op->k != op->stride || op->pad != 0 ||
        op->groups != 1 || op->has_bn || op->has_pre_bn || op->has_id_bn || op->pre_scale >= 0 ||
        op->post_scale >= 0 || op->post_act != BB_ACT_NONE || op->sum_in >= 0 ||
        b->opt.value[BB_OPT_CUDA_PATCH_EMBED] == 1)
        return 0;
    const bb_tensor *x = tensor(b, op->in[0]);
    if (x->dims[1] % op->k || x->dims[2] % op->k)
        return 0;
    int readers = 0, tokens = 0;
    for (int i = 0; i < b->g->n_ops; i++) {
        const bb_op *r = &b->g->ops[i];
        for (int j = 0; j < r->n_in; j++)
            if (r->in[j] == op->out)
                readers++, tokens += r->type == BB_OP_TOKENS && j == 0;
        readers += r->sum_in == op->out;
    }
    return readers == 1 && tokens == 1 && b->g->output != op->out;
}

static int lower_patch_gemm(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_tensor *x = tensor(b, op->in[0]), *y = tensor(b, op->out), *wt = tensor(b, op->w);
    cu_step *s = cu_new_step(b, op, ST_PATCH_GEMM, err);
    if (!s)
        return -1;
    int64_t kk = bb_tensor_numel(wt) / y->dims[0], patches = y->dims[1] * y->dims[2];
    s->in[0] = cu_use(b, op->in[0], op_index(b, op));
    s->shape[0] = x->dims[0], s->shape[1] = x->dims[1], s->shape[2] = x->dims[2];
    s->shape[3] = b->batch * patches, s->shape[4] = kk, s->shape[5] = y->dims[0];
    if ((s->scratch[0] = cu_scratch(b, op, s->shape[3] * kk * (int64_t)b->es, err)) < 0)
        return -1;
    int rc = cu_upload(b, wt->data, bb_tensor_numel(wt), 1, &s->w, err);
    if (rc == 0 && op->b >= 0)
        rc = cu_upload(b, tensor(b, op->b)->data, y->dims[0], 1, &s->lt_bias, err);
    s->enqueue = run_patch_gemm;
    return rc == 0 && (s->out = cu_output(b, op, 0, err)) >= 0 ? 0 : -1;
}

void cu_filter_to_krsc(const float *w, float *out, int64_t o, int64_t c, int64_t cpad, int k)
{
    const int64_t kk = (int64_t)k * k;
    for (int64_t f = 0; f < o; f++)
        for (int64_t r = 0; r < kk; r++)
            for (int64_t ci = 0; ci < cpad; ci++)
                out[(f * kk + r) * cpad + ci] = ci < c ? w[(f * c + ci) * kk + r] : 0.f;
}

/* Input channels a channels-last conv of the input batch reads: the
 * batch's 3 padded with zero channels to 8 where cuda.pad_input=on
 * (16-byte rows of bf16, which cuDNN's tensor-core kernels need), else as
 * they are. Opt-in: on an H200 it passed parity (resnet50 bf16 2.4e-3) but
 * gained nothing: bf16 resnet50 with the cuDNN graphs ran 1.63 against
 * 1.59 ms at batch 32 and 9.64 against 9.67 at 256. */
static int64_t conv_in_channels(const bb_backend *b, const bb_op *op)
{
    int64_t c = tensor(b, op->in[0])->dims[0];
    if (b->nhwc && op->in[0] == b->g->input && op->groups == 1 && c % 8 && b->opt.value[BB_OPT_CUDA_PAD_INPUT] == 1)
        return (c + 7) / 8 * 8;
    return c;
}

/* cuDNN's descriptors of one conv reading cin channels. */
static int conv_descriptors(bb_backend *b, cu_step *s, int64_t cin, bb_err *err)
{
    const bb_op *op = s->op;
    const bb_tensor *x = tensor(b, op->in[0]), *y = tensor(b, op->out), *wt = tensor(b, op->w);
    cudnnDataType_t dt = b->dt == CU_F16 ? CUDNN_DATA_HALF : b->dt == CU_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    cudnnTensorFormat_t fmt = b->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    int n = (int)b->batch, o = (int)y->dims[0], cg = (int)(wt->dims[1] + cin - x->dims[0]);
    CUDNN_OK(cudnnCreateTensorDescriptor(&s->xd), err, "tensor descriptor", op->label);
    CUDNN_OK(cudnnCreateTensorDescriptor(&s->yd), err, "tensor descriptor", op->label);
    CUDNN_OK(cudnnCreateFilterDescriptor(&s->wd), err, "filter descriptor", op->label);
    CUDNN_OK(cudnnCreateConvolutionDescriptor(&s->cd), err, "convolution descriptor", op->label);
    CUDNN_OK(cudnnSetTensor4dDescriptor(s->xd, fmt, dt, n, (int)cin, (int)x->dims[1], (int)x->dims[2]), err,
             "input shape", op->label);
    CUDNN_OK(cudnnSetTensor4dDescriptor(s->yd, fmt, dt, n, o, (int)y->dims[1], (int)y->dims[2]), err, "output shape",
             op->label);
    /* any window with symmetric padding (graph_supported refuses others) */
    CUDNN_OK(cudnnSetFilter4dDescriptor(s->wd, dt, fmt, o, cg, op->kh, op->kw), err, "filter shape", op->label);
    CUDNN_OK(cudnnSetConvolution2dDescriptor(s->cd, op->pad_t, op->pad_l, op->sh, op->sw, op->dil_h, op->dil_w,
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
             err, "convolution", op->label);
    CUDNN_OK(cudnnSetConvolutionGroupCount(s->cd, op->groups), err, "group count", op->label);
    return 0;
}

/* The conv's weights with BatchNorm folded in, on the device in the
 * activation type (channels-last: KRSC, cin channels per group) and its
 * fp32 bias. */
static int conv_weights(bb_backend *b, cu_step *s, int64_t cin, bb_err *err)
{
    const bb_op *op = s->op;
    const bb_tensor *wt = tensor(b, op->w);
    int64_t o = wt->dims[0], cg = wt->dims[1], cgpad = cg + cin - tensor(b, op->in[0])->dims[0];
    int64_t wn = bb_tensor_numel(wt), un = o * cgpad * op->kh * op->kw;
    float *wf = malloc((size_t)wn * sizeof(float)), *bf = malloc((size_t)o * sizeof(float));
    float *krsc = b->nhwc ? malloc((size_t)un * sizeof(float)) : NULL;
    int rc = wf && bf && (krsc || !b->nhwc) ? 0 : bb_err_set(err, "out of memory folding '%s'", op->label);
    if (rc == 0) {
        bb_fold_bn(b->g, op, wf, bf);
        if (krsc)
            cu_filter_to_krsc(wf, krsc, o, cg, cgpad, op->k);
        rc = cu_upload(b, krsc ? krsc : wf, krsc ? un : wn, 1, &s->w, err);
        if (rc == 0 && bb_conv_has_bias(op))
            rc = cu_upload(b, bf, o, 0, (void **)&s->bias, err);
        /* a cuDNN graph's epilogue takes it in the activation type */
        if (rc == 0 && bb_conv_has_bias(op) && b->nhwc && cu_conv_graph_on(b))
            rc = cu_upload(b, bf, o, 1, &s->lt_bias, err);
    }
    free(wf), free(bf), free(krsc);
    return rc;
}

static int lower_conv(bb_backend *b, const bb_op *op, bb_err *err)
{
    if (is_patch_gemm(b, op))
        return lower_patch_gemm(b, op, err);
    const bb_tensor *x = tensor(b, op->in[0]), *y = tensor(b, op->out);
    int i = op_index(b, op);
    if (op->sum_in >= 0 && op->post_act != BB_ACT_NONE)
        return bb_err_set(err, "'%s': an activation before the residual sum is not supported on cuda", op->label);
    cu_step *s = cu_new_step(b, op, ST_CONV, err);
    if (!s)
        return -1;
    s->in[0] = cu_use(b, op->in[0], i);
    s->in[1] = op->sum_in >= 0 ? cu_use(b, op->sum_in, i) : -1;
    int64_t cin = conv_in_channels(b, op), hw = x->dims[1] * x->dims[2];
    if (conv_descriptors(b, s, cin, err) != 0)
        return -1;
    s->act = op->sum_in >= 0 ? op->sum_act : op->post_act;
    /* the bias + activation pass: y's values, values per channel run, channels */
    s->shape[0] = b->batch * bb_tensor_numel(y), s->shape[1] = b->nhwc ? 1 : y->dims[1] * y->dims[2];
    s->shape[2] = y->dims[0];
    /* a channels-last conv of the input batch: its NHWC copy, cin channels */
    s->shape[3] = x->dims[0], s->shape[4] = hw, s->shape[5] = cin;
    if (b->nhwc && op->in[0] == b->g->input &&
        (s->scratch[0] = cu_scratch(b, op, b->batch * cin * hw * (int64_t)b->es, err)) < 0)
        return -1;
    if (conv_weights(b, s, cin, err) != 0 || (s->out = cu_output(b, op, 0, err)) < 0)
        return -1;
    s->enqueue = run_conv;
    return 0;
}

static int lower_linear(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_tensor *wt = tensor(b, op->w);
    int64_t o = wt->dims[0], k = wt->dims[1], m = b->batch * bb_tensor_numel(tensor(b, op->in[0])) / k;
    int i = op_index(b, op);
    if (op->sum_in >= 0 && (op->post_act != BB_ACT_NONE || op->sum_act != BB_ACT_NONE))
        return bb_err_set(err, "'%s': an activation around the residual sum is not supported on cuda", op->label);
    cu_step *s = cu_new_step(b, op, ST_GEMM, err);
    if (!s)
        return -1;
    s->in[0] = cu_use(b, op->in[0], i);
    s->shape[0] = m * o, s->shape[1] = o, s->shape[2] = m, s->shape[3] = k;
    /* ReLU and no activation run in cuBLASLt's epilogue with a bias of the
     * activation type; other activations in the bias + activation kernel,
     * except a 16-bit GELU under cuda.gelu=epilogue: cuBLASLt's bias+GELU
     * epilogue, one pass fewer over the MLP's widest tensor, but GELU's
     * tanh form, not torchvision's erf (a measured choice: gpu-check.sh
     * takes it only where bf16 parity holds and it is faster). */
    int gelu_epilogue = op->post_act == BB_ACT_GELU && op->b >= 0 && b->dt != CU_F32 &&
                        b->opt.value[BB_OPT_CUDA_GELU] == 1; /* epilogue */
    int in_epilogue = op->post_act == BB_ACT_NONE || (op->post_act == BB_ACT_RELU && op->b >= 0) || gelu_epilogue;
    int rc = cu_upload(b, wt->data, o * k, 1, &s->w, err);
    if (rc == 0 && op->b >= 0)
        rc = cu_upload(b, tensor(b, op->b)->data, o, in_epilogue, in_epilogue ? &s->lt_bias : (void **)&s->bias, err);
    s->act = in_epilogue ? CUK_NONE : op->post_act;
    if (rc == 0 && (s->out = cu_output(b, op, 1, err)) < 0)
        rc = -1;
    s->enqueue = run_gemm;
    return rc;
}

static int run_attention_fused(bb_backend *b, const cu_step *s)
{
    float scale = 1.f / sqrtf((float)s->shape[2]);
    return cuk_attention(b->dt, cu_ptr(b, s->in[0]), cu_ptr(b, s->out), b->batch, s->shape[0], s->shape[1], scale,
                         (int)s->shape[4], b->stream);
}

/* The one-kernel attention of cuda_attention.cu for 16-bit activations
 * where it fits, unless cuda.attention=unfused asks for the
 * products (as fp32 and tf32 always run). Under cudnn and measured,
 * cu_tune_attention may later move the step to cuDNN's SDPA. */
static int use_fused_attention(const bb_backend *b, int64_t l, int64_t dh)
{
    return cuk_attention_fits(b->dt, l, dh) && b->opt.value[BB_OPT_CUDA_ATTENTION] != CU_ATTN_UNFUSED;
}

static int lower_attention_fused(bb_backend *b, cu_step *s, bb_err *err)
{
    int sms = 0;
    CUDA_OK(cuk_attention_setup(b->dt, s->shape[0]), err, "attention kernel setup", s->op->label);
    CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), err, "SM count", s->op->label);
    /* split a head's queries over blocks until there are ~4 blocks per SM */
    int64_t heads = b->batch * s->shape[1];
    s->shape[4] = (4 * sms + heads - 1) / heads;
    s->kind = ST_ATTENTION_FUSED;
    s->enqueue = run_attention_fused;
    return (s->out = cu_output(b, s->op, 0, err)) < 0 ? -1 : 0;
}

static int lower_attention(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_tensor *x = tensor(b, op->in[0]);
    int64_t l = x->dims[0], d = x->dims[1] / 3, h = op->heads, dh = d / h, count = b->batch * h;
    int64_t ls = (l + 7) / 8 * 8; /* score rows padded: each matrix starts 16-byte aligned */
    cu_step *s = cu_new_step(b, op, ST_ATTENTION, err);
    if (!s)
        return -1;
    s->in[0] = cu_use(b, op->in[0], op_index(b, op));
    s->shape[0] = l, s->shape[1] = h, s->shape[2] = dh, s->shape[3] = ls;
    if (use_fused_attention(b, l, dh))
        return lower_attention_fused(b, s, err);
    /* scores fp32 [batch, h, l, ls]; the probabilities in the activation
     * type (for fp32 the scores themselves) */
    if ((s->scratch[0] = cu_scratch(b, op, count * l * ls * (int64_t)sizeof(float), err)) < 0)
        return -1;
    s->scratch[1] = s->scratch[0];
    if (b->dt != CU_F32 && (s->scratch[1] = cu_scratch(b, op, count * l * ls * (int64_t)b->es, err)) < 0)
        return -1;
    s->enqueue = run_attention;
    return (s->out = cu_output(b, op, 0, err)) < 0 ? -1 : 0;
}

/* The shape numbers run_kernel reads for each kernel op. */
static void kernel_shape(const bb_backend *b, const bb_op *op, int64_t *p)
{
    const bb_tensor *x = tensor(b, op->in[0]), *y = tensor(b, op->out);
    switch (op->type) {
    case BB_OP_MAXPOOL:
        p[0] = b->batch * x->dims[0], p[1] = x->dims[1], p[2] = x->dims[2], p[3] = y->dims[1], p[4] = y->dims[2];
        p[5] = x->dims[0];
        break;
    case BB_OP_GAP:
    case BB_OP_SE_SCALE: p[0] = b->batch * x->dims[0], p[1] = x->dims[1] * x->dims[2], p[2] = x->dims[0]; break;
    case BB_OP_LAYERNORM:
        p[1] = x->dims[x->ndim - 1], p[0] = b->batch * bb_tensor_numel(x) / p[1];
        break;
    case BB_OP_TOKENS:
        p[0] = x->dims[0], p[1] = x->dims[1] * x->dims[2], p[2] = is_patch_gemm(b, producer(b, op->in[0]));
        break;
    case BB_OP_CLS_SELECT: p[0] = x->dims[0], p[1] = x->dims[1]; break;
    default: p[0] = b->batch * bb_tensor_numel(y); break;
    }
}

static int lower_kernel(bb_backend *b, const bb_op *op, bb_err *err)
{
    int i = op_index(b, op);
    int fused = op->type == BB_OP_ADD || op->type == BB_OP_ACT;
    if (op->sum_in >= 0 || (!fused && op->post_act != BB_ACT_NONE))
        return bb_err_set(err, "'%s': a fused %s is not supported on cuda", op->label, bb_op_type_name(op->type));
    cu_step *s = cu_new_step(b, op, ST_KERNEL, err);
    if (!s)
        return -1;
    for (int j = 0; j < op->n_in; j++)
        s->in[j] = cu_use(b, op->in[j], i);
    kernel_shape(b, op, s->shape);
    s->act = op->type == BB_OP_ACT ? op->act : op->post_act;
    int rc = 0;
    if (op->type == BB_OP_LAYERNORM || op->type == BB_OP_TOKENS) {
        const bb_tensor *w = tensor(b, op->w), *bt = tensor(b, op->b);
        rc = cu_upload(b, w->data, bb_tensor_numel(w), 0, (void **)&s->p0, err);
        if (rc == 0)
            rc = cu_upload(b, bt->data, bb_tensor_numel(bt), 0, (void **)&s->p1, err);
    }
    s->enqueue = run_kernel;
    return rc == 0 && (s->out = cu_output(b, op, 0, err)) >= 0 ? 0 : -1;
}

int cu_lower_op(bb_backend *b, const bb_op *op, bb_err *err)
{
    if (op->type >= BB_OP_BINARY || op->type == BB_OP_BATCHNORM ||
        (op->type == BB_OP_MAXPOOL && !bb_window_square(op)) || (op->type == BB_OP_ACT && op->act > BB_ACT_HARDSWISH))
        return cu_lower_generic(b, op, err);
    switch (op->type) {
    case BB_OP_CONV: return lower_conv(b, op, err);
    case BB_OP_LINEAR: return lower_linear(b, op, err);
    case BB_OP_ATTENTION: return lower_attention(b, op, err);
    case BB_OP_ACT:
    case BB_OP_ADD:
    case BB_OP_MAXPOOL:
    case BB_OP_GAP:
    case BB_OP_SE_SCALE:
    case BB_OP_LAYERNORM:
    case BB_OP_TOKENS:
    case BB_OP_CLS_SELECT: return lower_kernel(b, op, err);
    default:
        return bb_err_set(err, "'%s': op %s has no CUDA lowering (not fused away?)", op->label,
                          bb_op_type_name(op->type));
    }
}

/* ---- cuBLASLt's products, once the buffers exist ------------------------------ */

int cu_setup_gemms(bb_backend *b, bb_err *err)
{
    for (int i = 0; i < b->n_steps; i++) {
        cu_step *s = &b->steps[i];
        const bb_op *op = s->op;
        if (s->kind == ST_PATCH_GEMM) {
            cu_gemm_ptrs p = {s->w, cu_ptr(b, s->scratch[0]), cu_ptr(b, s->out)};
            if (cu_gemm_linear(b, &s->gemm[0], s->shape[3], s->shape[4], s->shape[5], s->lt_bias, BB_ACT_NONE, 0,
                               &p, op->label, err) != 0)
                return -1;
        } else if (s->kind == ST_GEMM) {
            cu_gemm_ptrs p = {s->w, cu_ptr(b, s->in[0]), cu_ptr(b, s->out)};
            /* the activation the epilogue applies: the op's, where lower_linear left it there */
            int epi_act = s->lt_bias && s->act == CUK_NONE ? (int)op->post_act : BB_ACT_NONE;
            if (cu_gemm_linear(b, &s->gemm[0], s->shape[2], s->shape[3], s->shape[1], s->lt_bias, epi_act,
                               op->sum_in >= 0, &p, op->label, err) != 0)
                return -1;
        } else if (s->kind == ST_MATMUL || s->kind == ST_RNN) {
            if ((s->kind == ST_MATMUL ? cu_setup_matmul : cu_setup_rnn)(b, s, err) != 0)
                return -1;
        } else if (s->kind == ST_ATTENTION) {
            const int64_t l = s->shape[0], h = s->shape[1], dh = s->shape[2], ls = s->shape[3], d = h * dh;
            char *x = cu_ptr(b, s->in[0]);
            cu_attn_layout at = {b->batch, l, dh, 3 * d, l * 3 * d, ls, h * l * ls, d, l * d};
            cu_gemm_ptrs sp = {x + d * (int64_t)b->es, x, cu_ptr(b, s->scratch[0])};
            cu_gemm_ptrs mp = {x + 2 * d * (int64_t)b->es, cu_ptr(b, s->scratch[1]), cu_ptr(b, s->out)};
            if (cu_gemm_scores(b, &s->gemm[0], &at, 1.f / sqrtf((float)dh), &sp, op->label, err) ||
                cu_gemm_mix(b, &s->gemm[1], &at, &mp, op->label, err))
                return -1;
        }
    }
    return 0;
}

/* ---- cuDNN's measured algorithm search ----------------------------------------- */

static cudnnMathType_t wanted_math(bb_precision p)
{
    /* As PyTorch: strict fp32 = FMA only; TF32 = cuDNN's default (tensor
     * cores with TF32 on Ampere and later); 16-bit = tensor cores. */
    return p == BB_PREC_FP32 ? CUDNN_FMA_MATH : p == BB_PREC_TF32 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH;
}

static int math_allowed(bb_precision p, cudnnMathType_t m)
{
    return p != BB_PREC_FP32 || m == CUDNN_FMA_MATH;
}

/* 16-bit data: the implicit-GEMM algorithms (tensor cores, fp32
 * accumulation) are preferred over FFT, Winograd and explicit GEMM, whose
 * 16-bit intermediates cost accuracy (the first H100 run's bf16 parity
 * failed with the fastest of all algorithms). */
static int is_implicit_gemm(cudnnConvolutionFwdAlgo_t a)
{
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
}

static int algo_preferred(cu_dtype dt, cudnnConvolutionFwdAlgo_t a)
{
    return dt == CU_F32 || is_implicit_gemm(a);
}

static void conv_key(const bb_backend *b, const cu_step *s, int64_t *key)
{
    const bb_op *op = s->op;
    const bb_tensor *x = tensor(b, op->in[0]), *y = tensor(b, op->out);
    /* the window packed 21 bits a number (graph_supported refuses larger) */
    int64_t k[12] = {b->batch, conv_in_channels(b, op), x->dims[1], x->dims[2], y->dims[0],
                     op->kh | (int64_t)op->kw << 21 | (int64_t)op->dil_h << 42,
                     op->sh | (int64_t)op->sw << 21 | (int64_t)op->dil_w << 42,
                     op->pad_t | (int64_t)op->pad_l << 21, op->groups, b->dt, b->prec, b->nhwc};
    memcpy(key, k, sizeof k);
}

static int search(bb_backend *b, cu_step *s, void *ws, size_t ws_cap, cu_algo_cache *out, bb_err *err)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    CUDNN_OK(cudnnSetConvolutionMathType(s->cd, wanted_math(b->prec)), err, "math type", s->op->label);
    cudnnStatus_t st = cudnnFindConvolutionForwardAlgorithmEx(b->dnn, s->xd, conv_src(b, s), s->wd, s->w, s->cd,
                                                              s->yd, cu_ptr(b, s->out),
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, ws, ws_cap);
    if (st != CUDNN_STATUS_SUCCESS) {
        if (st == CUDNN_STATUS_ALLOC_FAILED)
            return bb_err_oom(err, "out of memory in cuDNN's algorithm search for '%s'", s->op->label);
        return bb_err_set(err, "cuDNN: algorithm search for '%s' failed: %s", s->op->label, cudnnGetErrorString(st));
    }
    /* Diagnosis of 16-bit results (scripts/gpu-check.sh uses these):
     * cuda.cudnn_algo=implicit allows only the implicit-GEMM algorithms,
     * =fastest takes the fastest of all (no preference for implicit GEMM in
     * 16 bits), cuda.cudnn_log=choices prints every choice on stderr. */
    int force = b->opt.value[BB_OPT_CUDNN_ALGO], log = b->opt.value[BB_OPT_CUDNN_LOG]; /* (backend_options.h) */
    int implicit_only = force == 1, fastest = force == 2;
    for (int j = 0; log == 2 && j < n; j++) /* candidates: every one */
        fprintf(stderr, "cudnn candidate: %s: algo %d, math %d, status %d, workspace %zu bytes, %.3f ms\n",
                s->op->label, (int)perf[j].algo, (int)perf[j].mathType, (int)perf[j].status, perf[j].memory,
                (double)perf[j].time);
    for (int pass = 0; pass < (implicit_only ? 1 : 2); pass++)
        for (int j = 0; j < n; j++) /* sorted fastest first */
            if (perf[j].status == CUDNN_STATUS_SUCCESS && perf[j].memory <= ws_cap &&
                math_allowed(b->prec, perf[j].mathType) &&
                (pass == 1 || fastest ||
                 (implicit_only ? is_implicit_gemm(perf[j].algo) : algo_preferred(b->dt, perf[j].algo)))) {
                out->algo = perf[j].algo, out->math = perf[j].mathType, out->ws_bytes = perf[j].memory;
                if (log)
                    fprintf(stderr, "cudnn: %s: algo %d, math %d, workspace %zu bytes, %.3f ms (%d tried)\n",
                            s->op->label, (int)perf[j].algo, (int)perf[j].mathType, perf[j].memory,
                            (double)perf[j].time, n);
                return 0;
            }
    return bb_err_set(err, "cuDNN: no usable %s algorithm for '%s' (%d tried)", bb_precision_name(b->prec),
                      s->op->label, n);
}

static int cache_find(const bb_backend *b, const int64_t *key)
{
    for (int j = 0; j < b->n_algos; j++)
        if (memcmp(b->algos[j].key, key, sizeof b->algos[j].key) == 0)
            return j;
    return -1;
}

int cu_tune_convs(bb_backend *b, void *ws, size_t ws_cap, bb_err *err)
{
    for (int i = 0; i < b->n_steps; i++) {
        cu_step *s = &b->steps[i];
        if (s->kind != ST_CONV)
            continue;
        int64_t key[12];
        conv_key(b, s, key);
        int graph = cu_conv_graph_tune(b, s, conv_src(b, s), ws, ws_cap, key, err);
        if (graph < 0)
            return -1;
        if (graph) {
            b->n_conv_graph_fused += s->plan_fused;
            b->n_conv_graph_plain += !s->plan_fused;
            continue;
        }
        int j = cache_find(b, key);
        if (j < 0) {
            if (cu_grow((void **)&b->algos, &b->cap_algos, b->n_algos, sizeof *b->algos) != 0)
                return bb_err_set(err, "out of memory");
            cu_algo_cache *c = &b->algos[b->n_algos];
            memcpy(c->key, key, sizeof key);
            if (search(b, s, ws, ws_cap, c, err) != 0)
                return -1;
            j = b->n_algos++;
        }
        const cu_algo_cache *c = &b->algos[j];
        s->algo = c->algo, s->math = c->math, s->ws_bytes = c->ws_bytes;
        CUDNN_OK(cudnnSetConvolutionMathType(s->cd, c->math), err, "math type", s->op->label);
        b->n_conv_fma += c->math == CUDNN_FMA_MATH;
        b->n_conv_default += c->math == CUDNN_DEFAULT_MATH;
        b->n_conv_tensor += c->math == CUDNN_TENSOR_OP_MATH || c->math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    }
    return 0;
}

void cu_step_release(cu_step *s)
{
    if (s->xd)
        cudnnDestroyTensorDescriptor(s->xd);
    if (s->yd)
        cudnnDestroyTensorDescriptor(s->yd);
    if (s->wd)
        cudnnDestroyFilterDescriptor(s->wd);
    if (s->cd)
        cudnnDestroyConvolutionDescriptor(s->cd);
    cu_gemm_release(&s->gemm[0]);
    cu_gemm_release(&s->gemm[1]);
}

/*
 * cuda_kernels.h — the few CUDA kernels no NVIDIA library call fits, with a
 * C interface so the backend (plain C) can enqueue them on its stream.
 *
 * Every kernel takes the element type of activations (fp32, fp16 or bf16)
 * and computes in fp32. Per-channel parameters (biases, norm scales, the
 * class token and position embedding) are always fp32. Each launcher
 * returns the cudaError_t of the launch (0 = cudaSuccess).
 */
#ifndef BB_CUDA_KERNELS_H
#define BB_CUDA_KERNELS_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#include "engine/resize.h"
#include "engine/walk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CU_F32, CU_F16, CU_BF16 } cu_dtype;

/* Activations without parameters, numbered as bb_act in engine/graph.h:
 * what the epilogue kernels apply (cuk_act takes every bb_act). */
enum { CUK_NONE, CUK_RELU, CUK_RELU6, CUK_SILU, CUK_SIGMOID, CUK_GELU, CUK_TANH, CUK_HARDSWISH };

/* y[e] = act(x[e] + bias[(e / inner) % channels] + res[e]) for e < n;
 * bias and res may be NULL; x == y is allowed. NCHW: inner = H*W,
 * channels = C. [M,O]: inner 1. */
int cuk_bias_act(cu_dtype t, const void *x, void *y, const float *bias, const void *res, int64_t n, int64_t inner,
                 int64_t channels, int act, cudaStream_t s);
/* y = act(a + b), n elements. */
int cuk_add_act(cu_dtype t, const void *a, const void *b, void *y, int64_t n, int act, cudaStream_t s);
/* Max pool over planes [planes, h, w] -> [planes, oh, ow]; padding is -inf. */
int cuk_maxpool(cu_dtype t, const void *x, void *y, int64_t planes, int h, int w, int oh, int ow, int k,
                int stride, int pad, cudaStream_t s);
/* y[r] = mean(x[r, 0..hw)), one warp per row. */
int cuk_mean_rows(cu_dtype t, const void *x, void *y, int64_t rows, int64_t hw, cudaStream_t s);
/* y[r, i] = x[r, i] * scale[r] (squeeze-excitation: r = n*C + c). */
int cuk_scale_rows(cu_dtype t, const void *x, const void *scale, void *y, int64_t rows, int64_t hw,
                   cudaStream_t s);
/* Layer norm of each row of d values, gamma/beta fp32. */
int cuk_layernorm(cu_dtype t, const void *x, void *y, const float *gamma, const float *beta, int64_t rows,
                  int64_t d, float eps, cudaStream_t s);
/* p = softmax of the first `cols` fp32 scores x of each row (rows `ld`
 * apart in both); p may be x itself for CU_F32. */
int cuk_softmax(cu_dtype t, const float *x, void *p, int64_t rows, int64_t cols, int64_t ld, cudaStream_t s);
/* Self-attention in one kernel (cuda_attention.cu) from the in-projection's
 * output qkv [n, l, 3, h, dh] to merged heads y [n, l, h*dh]:
 * softmax(q k^T * scale) v per (item, head). Only where
 * cuk_attention_fits (16-bit types, dh 64, l <= 256); cuk_attention_setup
 * once per l before the first launch (outside graph capture);
 * blocks_per_head splits a head's queries over that many blocks (clamped
 * to what there is). */
int cuk_attention_fits(cu_dtype t, int64_t l, int64_t dh);
int cuk_attention_setup(cu_dtype t, int64_t l);
int cuk_attention(cu_dtype t, const void *qkv, void *y, int64_t n, int64_t l, int64_t h, float scale,
                  int blocks_per_head, cudaStream_t s);
/* Patch grid x [n, d, p] (token_major: [n, p, d]) -> tokens y [n, 1+p, d]:
 * row 0 = cls + pos[0], row 1+t = patch t + pos[1+t]. */
int cuk_tokens(cu_dtype t, const void *x, const float *cls, const float *pos, void *y, int64_t n, int64_t d,
               int64_t p, int token_major, cudaStream_t s);
/* Image x [n, c, h, w] -> rows of patches y [n, h/k, w/k, c, k, k] (the
 * patch embedding as a product with its [o, c, k, k] weight). */
int cuk_patchify(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int64_t h, int64_t w, int k,
                 cudaStream_t s);
/* Channels-last feature maps (cuda_channels_last.cu): x [n, c, hw] ->
 * y [n, hw, cpad] (channels c..cpad-1 zero); max pooling, global average
 * pool (y [n, c]) and the squeeze-excitation scale (scale [n, c]) on
 * [n, h, w, c] maps. */
int cuk_nchw_to_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int64_t cpad, int64_t hw,
                     cudaStream_t s);
int cuk_maxpool_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int h, int w, int oh, int ow, int k,
                     int stride, int pad, cudaStream_t s);
int cuk_mean_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t hw, int64_t c, cudaStream_t s);
int cuk_scale_nhwc(cu_dtype t, const void *x, const void *scale, void *y, int64_t n, int64_t hw, int64_t c,
                   cudaStream_t s);
/* ---- the generic ops of imported graphs (cuda_generic_kernels.cu) ---- */
/* engine/walk.h's walk w into the dense output y; b only for BINARY. */
int cuk_walk(cu_dtype t, const bb_walk *w, const void *a, const void *b, void *y, cudaStream_t s);
/* y = act(x) for any bb_act, with its parameters alpha, beta (as bb_op). */
int cuk_act(cu_dtype t, const void *x, void *y, int64_t n, int act, float alpha, float beta, cudaStream_t s);
/* y[e] = act(x[e] * scale[c] + shift[c]), c = (e / inner) % channels
 * (act: a CUK_ one). */
int cuk_affine(cu_dtype t, const void *x, void *y, const float *scale, const float *shift, int64_t n, int64_t inner,
               int64_t channels, int act, cudaStream_t s);
/* Group norm of x [N, C, inner] (runs = N * groups, cg = C / groups): each
 * run of cg * inner values normalised, then y = act(. * w[c] + b[c]). */
int cuk_groupnorm(cu_dtype t, const void *x, void *y, const float *w, const float *b, int64_t runs, int64_t groups,
                  int64_t cg, int64_t inner, float eps, int act, cudaStream_t s);
/* Softmax of x [outer, len, inner] along len (take_log: its log). */
int cuk_softmax_axis(cu_dtype t, const void *x, void *y, int64_t outer, int64_t len, int64_t inner, int take_log,
                     cudaStream_t s);
/* y[e] = mean (sum: the sum) over j < numel(box) of x[offset(kept, e) +
 * offset(box, j)] (bb_walk_offset of source 0; e < numel(kept)). */
int cuk_reduce_mean(cu_dtype t, const void *x, void *y, const bb_walk *kept, const bb_walk *box, int sum,
                    cudaStream_t s);
/* A pooling window of any shape over planes [planes, h, w] ->
 * [planes, oh, ow]: max (padding never wins) or average. */
typedef struct {
    int h, w, oh, ow, kh, kw, sh, sw, pad_t, pad_l, dil_h, dil_w;
    int avg, count_include_pad;
} cuk_window;
int cuk_pool(cu_dtype t, const void *x, void *y, int64_t planes, const cuk_window *p, cudaStream_t s);
/* A resize of planes [planes, h, w] -> [planes, oh, ow] through taps on
 * the device (engine/resize.h: ow columns', then oh rows'; nt of each). */
int cuk_resize(cu_dtype t, const void *x, void *y, const bb_resize_tap *taps, int64_t planes, int64_t h, int64_t w,
               int64_t oh, int64_t ow, int nt, cudaStream_t s);
/* One step `at` of an LSTM (gates 4: i o f c) or GRU (3: z r h) direction
 * for every row (BB_OP_LSTM, BB_OP_GRU): x[row, at] ([rows, S, G*H]) and
 * g ([rows, G*H], H R^T; NULL at the first step, H = C = 0 there); an
 * LSTM's C (fp32 [rows, H]) updated, a GRU's R bias of h rb (fp32 [H] or
 * NULL) added inside its reset gate; H into hbuf ([rows, H], the next
 * step's product reads it; a GRU reads its previous H there) and y[row, at]
 * ([rows, S, H]). */
int cuk_rnn_step(cu_dtype t, int gates, const void *x, const void *g, float *c, const float *rb, void *hbuf, void *y,
                 int64_t rows, int64_t steps, int64_t h, int64_t at, cudaStream_t s);
/* Conversions between fp32 and the activation type (a copy for CU_F32). */
int cuk_from_f32(cu_dtype t, const float *x, void *y, int64_t n, cudaStream_t s);
int cuk_to_f32(cu_dtype t, const void *x, float *y, int64_t n, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif

/*
 * cuda_generic_kernels.cu — the kernels of the generic ops an imported ONNX graph
 * brings (lowered in cuda_generic.c):
 *   walk       : engine/walk.h's descriptions (slice, pad, expand,
 *                transpose, broadcast binary ops), one thread per output
 *                element through bb_walk_offset, the very function
 *                tests/unit/test_walk.c checks on the CPU
 *   act        : every activation, with its parameters (clip, hard sigmoid,
 *                leaky ReLU) and the unary math ops (sqrt, erf, exp, ...)
 *   affine     : a BatchNorm no conv took, as scale and shift per channel
 *   softmax    : along any axis of [outer, len, inner]
 *   reduce mean: over any set of axes, as two walks (kept axes, the box)
 *   pool       : max and average pooling over any window (non-square,
 *                strided, dilated, asymmetric or ceil_mode padding)
 *   group norm : one block per (item, group), its values one contiguous
 *                run in NCHW: the mean, the deviations, then the scale
 *                and shift of each channel and the ReLU, if any
 *   resize     : any resize, through the taps engine/resize.c computed
 *                (the CPU backend's K_TAPS reads the same)
 * Written for correctness first: one thread per output element, fp32
 * arithmetic whatever the storage type.
 */
#include "backends/cuda/cuda_device.cuh"

namespace {

__device__ float binop_apply(int op, float u, float v)
{
    switch (op) {
    case BB_BIN_ADD: return u + v;
    case BB_BIN_SUB: return u - v;
    case BB_BIN_MUL: return u * v;
    case BB_BIN_DIV: return u / v;
    case BB_BIN_POW: return powf(u, v);
    case BB_BIN_MAX: return u > v || isnan(u) ? u : v;
    case BB_BIN_MIN: return u < v || isnan(u) ? u : v;
    case BB_BIN_PRELU: return u < 0.f ? u * v : u;
    default: return u;
    }
}

/* bb_act in full (engine/graph.h), as the CPU backend computes them. */
__device__ float act_apply(float x, int act, float alpha, float beta)
{
    switch (act) {
    case BB_ACT_HARDSIGMOID: return fminf(fmaxf(alpha * x + beta, 0.f), 1.f);
    case BB_ACT_CLIP: return fminf(fmaxf(x, alpha), beta);
    case BB_ACT_LEAKY_RELU: return x < 0.f ? alpha * x : x;
    case BB_ACT_SQRT: return sqrtf(x);
    case BB_ACT_ERF: return erff(x);
    case BB_ACT_EXP: return expf(x);
    case BB_ACT_ABS: return fabsf(x);
    case BB_ACT_NEG: return -x;
    case BB_ACT_RECIPROCAL: return 1.f / x;
    case BB_ACT_ELU: return x < 0.f ? alpha * expm1f(x) : x;
    case BB_ACT_SELU: return beta * (x < 0.f ? alpha * expm1f(x) : x);
    case BB_ACT_CELU: return x < 0.f ? alpha * expm1f(x / alpha) : x;
    case BB_ACT_SOFTPLUS: return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
    case BB_ACT_SOFTSIGN: return x / (1.f + fabsf(x));
    case BB_ACT_MISH: return x * tanhf(fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))));
    case BB_ACT_LOG: return logf(x);
    case BB_ACT_GELU_TANH: return 0.5f * x * (1.f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
    case BB_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0.f;
    default: return activate(x, act);
    }
}

template <typename T, typename I>
__global__ void walk_kernel(bb_walk w, const T *a, const T *b, T *y, int64_t n)
{
    GRID_STRIDE(e, n)
    {
        int in0 = 1, in1 = 1;
        int64_t o = bb_walk_offset(&w, 0, (int64_t)e, &in0);
        float v;
        if (w.mode == BB_WALK_PAD && !in0)
            v = w.value;
        else if (w.mode == BB_WALK_BINARY)
            v = binop_apply(w.binop, ld(a + o), ld(b + bb_walk_offset(&w, 1, (int64_t)e, &in1)));
        else
            v = ld(a + o);
        st(y + e, v);
    }
}

template <typename T, typename I>
__global__ void act_kernel(const T *x, T *y, int64_t n, int act, float alpha, float beta)
{
    GRID_STRIDE(e, n) st(y + e, act_apply(ld(x + e), act, alpha, beta));
}

template <typename T, typename I>
__global__ void affine_kernel(const T *x, T *y, const float *scale, const float *shift, int64_t n, int64_t inner,
                              int64_t channels, int act)
{
    GRID_STRIDE(e, n)
    {
        I c = e / (I)inner % (I)channels;
        st(y + e, activate(ld(x + e) * scale[c] + shift[c], act));
    }
}

/* One thread per (outer, inner) line of len values, inner apart; take_log:
 * the log-softmax, x - max - log(sum), finite where the softmax underflows. */
template <typename T, typename I>
__global__ void softmax_axis(const T *x, T *y, int64_t outer, int64_t len, int64_t inner, int take_log)
{
    GRID_STRIDE(line, outer * inner)
    {
        const int64_t base = (int64_t)(line / (I)inner) * len * inner + (int64_t)(line % (I)inner);
        float m = -INFINITY, s = 0.f;
        for (int64_t j = 0; j < len; j++)
            m = fmaxf(m, ld(x + base + j * inner));
        for (int64_t j = 0; j < len; j++)
            s += expf(ld(x + base + j * inner) - m);
        const float ls = m + logf(s);
        for (int64_t j = 0; j < len; j++)
            st(y + base + j * inner, take_log ? ld(x + base + j * inner) - ls : expf(ld(x + base + j * inner) - m) / s);
    }
}

/* Output element e: the sum of the box `box` walks, from where `kept`
 * puts element e in the input, over div (the box's size for a mean, 1). */
template <typename T, typename I>
__global__ void reduce_mean_kernel(const T *x, T *y, bb_walk kept, bb_walk box, int64_t n, int64_t count, float div)
{
    GRID_STRIDE(e, n)
    {
        int in;
        const T *base = x + bb_walk_offset(&kept, 0, (int64_t)e, &in);
        float s = 0.f;
        for (int64_t j = 0; j < count; j++)
            s += ld(base + bb_walk_offset(&box, 0, j, &in));
        st(y + e, s / div);
    }
}

/* The sum of v over the block's kThreads threads, in every thread
 * (shared: kThreads / 32 floats). */
__device__ float block_sum(float v, float *shared)
{
    v = warp_sum(v);
    __syncthreads(); /* shared's last reads done */
    if (threadIdx.x % 32 == 0)
        shared[threadIdx.x / 32] = v;
    __syncthreads();
    float t = 0.f;
    for (int i = 0; i < kThreads / 32; i++)
        t += shared[i];
    return t;
}

/* Runs of cg * inner values (one item's group of cg channels), a block per run. */
template <typename T>
__global__ void groupnorm_kernel(const T *x, T *y, const float *w, const float *b, int64_t runs, int64_t groups,
                                 int64_t cg, int64_t inner, float eps, int act)
{
    __shared__ float shared[kThreads / 32];
    const int64_t len = cg * inner;
    for (int64_t r = blockIdx.x; r < runs; r += gridDim.x) {
        const T *xr = x + r * len;
        float s = 0.f;
        for (int64_t i = threadIdx.x; i < len; i += kThreads)
            s += ld(xr + i);
        const float mean = block_sum(s, shared) / (float)len;
        float q = 0.f;
        for (int64_t i = threadIdx.x; i < len; i += kThreads) {
            const float d = ld(xr + i) - mean;
            q += d * d;
        }
        const float rstd = rsqrtf(block_sum(q, shared) / (float)len + eps);
        const int64_t c0 = r % groups * cg;
        for (int64_t i = threadIdx.x; i < len; i += kThreads) {
            const int64_t c = c0 + i / inner;
            st(y + r * len + i, activate((ld(xr + i) - mean) * rstd * w[c] + b[c], act));
        }
    }
}

__device__ __forceinline__ float sigmoid_f(float x)
{
    return 1.f / (1.f + expf(-x));
}

template <typename T, typename I>
__global__ void rnn_step_kernel(int gates, const T *x, const T *g, float *c, const float *rb, T *hbuf, T *y,
                                int64_t rows, int64_t steps, int64_t h, int64_t at)
{
    GRID_STRIDE(e, rows * h)
    {
        const int64_t row = (int64_t)(e / (I)h), j = (int64_t)(e % (I)h);
        const T *xg = x + (row * steps + at) * gates * h + j;
        float v[4], a[4] = {0.f, 0.f, 0.f, 0.f};
        for (int q = 0; q < gates; q++) {
            v[q] = ld(xg + q * h);
            a[q] = g ? ld(g + row * gates * h + q * h + j) : 0.f;
        }
        float hn;
        if (gates == 4) { /* LSTM: i o f c */
            const float cn = sigmoid_f(v[0] + a[0]) * tanhf(v[3] + a[3]) + (g ? sigmoid_f(v[2] + a[2]) * c[e] : 0.f);
            c[e] = cn;
            hn = sigmoid_f(v[1] + a[1]) * tanhf(cn);
        } else { /* GRU, linear_before_reset: z r h */
            const float z = sigmoid_f(v[0] + a[0]), r = sigmoid_f(v[1] + a[1]);
            const float n = tanhf(v[2] + r * (a[2] + (rb ? rb[j] : 0.f))), prev = g ? ld(hbuf + e) : 0.f;
            hn = n + z * (prev - n);
        }
        st(hbuf + e, hn);
        st(y + (row * steps + at) * h + j, hn);
    }
}

template <typename T, typename I>
__global__ void pool_kernel(const T *x, T *y, int64_t planes, cuk_window p)
{
    GRID_STRIDE(e, planes * p.oh * p.ow)
    {
        const int ox = (int)(e % (I)p.ow), oy = (int)(e / (I)p.ow % (I)p.oh);
        const T *xp = x + (int64_t)(e / ((I)p.oh * p.ow)) * p.h * p.w;
        float m = -INFINITY, s = 0.f;
        int count = 0;
        for (int dy = 0; dy < p.kh; dy++) {
            const int iy = oy * p.sh - p.pad_t + dy * p.dil_h;
            for (int dx = 0; dx < p.kw && iy >= 0 && iy < p.h; dx++) {
                const int ix = ox * p.sw - p.pad_l + dx * p.dil_w;
                if (ix >= 0 && ix < p.w) {
                    const float v = ld(xp + (int64_t)iy * p.w + ix);
                    m = fmaxf(m, v), s += v, count++;
                }
            }
        }
        /* average: torch's count_include_pad divides by the whole window,
         * else by the elements inside the input */
        st(y + e, !p.avg ? m : s / (float)(p.count_include_pad ? p.kh * p.kw : count > 0 ? count : 1));
    }
}

template <typename T, typename I>
__global__ void resize_kernel(const T *x, T *y, const bb_resize_tap *taps, int64_t planes, int64_t h, int64_t w,
                              int64_t oh, int64_t ow, int nt)
{
    GRID_STRIDE(e, planes * oh * ow)
    {
        const bb_resize_tap *tx = taps + (int64_t)(e % (I)ow), *ty = taps + ow + (int64_t)(e / (I)ow % (I)oh);
        const T *xp = x + (int64_t)(e / ((I)oh * ow)) * h * w;
        float acc = 0.f;
        for (int i = 0; i < nt; i++) {
            float row = 0.f;
            for (int k = 0; k < nt; k++)
                row += tx->w[k] * ld(xp + ty->at[i] * w + tx->at[k]);
            acc += ty->w[i] * row;
        }
        st(y + e, acc);
    }
}

} /* namespace */

extern "C" {

int cuk_walk(cu_dtype t, const bb_walk *w, const void *a, const void *b, void *y, cudaStream_t s)
{
    const int64_t n = bb_walk_numel(w);
    DISPATCH_I(t, n, s, walk_kernel, *w, (const T *)a, (const T *)b, (T *)y, n);
}

int cuk_act(cu_dtype t, const void *x, void *y, int64_t n, int act, float alpha, float beta, cudaStream_t s)
{
    DISPATCH_I(t, n, s, act_kernel, (const T *)x, (T *)y, n, act, alpha, beta);
}

int cuk_affine(cu_dtype t, const void *x, void *y, const float *scale, const float *shift, int64_t n, int64_t inner,
               int64_t channels, int act, cudaStream_t s)
{
    DISPATCH_I(t, n, s, affine_kernel, (const T *)x, (T *)y, scale, shift, n, inner, channels, act);
}

int cuk_softmax_axis(cu_dtype t, const void *x, void *y, int64_t outer, int64_t len, int64_t inner, int take_log,
                     cudaStream_t s)
{
    DISPATCH_I(t, outer * inner, s, softmax_axis, (const T *)x, (T *)y, outer, len, inner, take_log);
}

int cuk_reduce_mean(cu_dtype t, const void *x, void *y, const bb_walk *kept, const bb_walk *box, int sum,
                    cudaStream_t s)
{
    const int64_t n = bb_walk_numel(kept), count = bb_walk_numel(box);
    const float div = sum ? 1.f : (float)count;
    DISPATCH_I(t, n, s, reduce_mean_kernel, (const T *)x, (T *)y, *kept, *box, n, count, div);
}

int cuk_groupnorm(cu_dtype t, const void *x, void *y, const float *w, const float *b, int64_t runs, int64_t groups,
                  int64_t cg, int64_t inner, float eps, int act, cudaStream_t s)
{
    const unsigned grid = (unsigned)(runs < 65535 ? runs : 65535);
    DISPATCH(t, grid, s, groupnorm_kernel, (const T *)x, (T *)y, w, b, runs, groups, cg, inner, eps, act);
}

int cuk_rnn_step(cu_dtype t, int gates, const void *x, const void *g, float *c, const float *rb, void *hbuf, void *y,
                 int64_t rows, int64_t steps, int64_t h, int64_t at, cudaStream_t s)
{
    DISPATCH_I(t, rows * h, s, rnn_step_kernel, gates, (const T *)x, (const T *)g, c, rb, (T *)hbuf, (T *)y, rows,
               steps, h, at);
}

int cuk_pool(cu_dtype t, const void *x, void *y, int64_t planes, const cuk_window *p, cudaStream_t s)
{
    DISPATCH_I(t, planes * p->oh * p->ow, s, pool_kernel, (const T *)x, (T *)y, planes, *p);
}

int cuk_resize(cu_dtype t, const void *x, void *y, const bb_resize_tap *taps, int64_t planes, int64_t h, int64_t w,
               int64_t oh, int64_t ow, int nt, cudaStream_t s)
{
    DISPATCH_I(t, planes * oh * ow, s, resize_kernel, (const T *)x, (T *)y, taps, planes, h, w, oh, ow, nt);
}

} /* extern "C" */

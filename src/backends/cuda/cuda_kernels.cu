/*
 * cuda_kernels.cu — the element-wise, normalisation and reshaping kernels of
 * the CUDA backend (see cuda_kernels.h). Each one is simple on purpose:
 * grid-stride loops over contiguous memory for element-wise work, one warp
 * per row for reductions, fp32 arithmetic whatever the storage type.
 *
 * Index arithmetic is 32-bit (index type I = uint32_t) whenever the tensor
 * has fewer than 2^31 elements, and 64-bit only beyond: a 64-bit division
 * costs tens of instructions per element, enough to make an element-wise
 * pass over 16-bit data compute-bound.
 */
#include "backends/cuda/cuda_device.cuh"

namespace {

template <typename T, typename I>
__global__ void bias_act(const T *x, T *y, const float *bias, const T *res, int64_t n, int64_t inner, int64_t channels,
                         int act)
{
    GRID_STRIDE(e, n)
    {
        float v = ld(x + e);
        if (bias)
            v += bias[e / (I)inner % (I)channels];
        if (res)
            v += ld(res + e);
        st(y + e, activate(v, act));
    }
}

template <typename T, typename I>
__global__ void add_act(const T *a, const T *b, T *y, int64_t n, int act)
{
    GRID_STRIDE(e, n) st(y + e, activate(ld(a + e) + ld(b + e), act));
}

/* The bias of the V values of the pack at e added to v. Two common cases
 * take no stepping: one channel for the whole pack (inner a multiple of V:
 * NCHW maps) and V consecutive channels (inner 1: rows of a product,
 * channels-last maps), read as float4s. */
template <int V, typename I>
__device__ __forceinline__ void add_pack_bias(float *v, const float *bias, I e, I inner, I channels)
{
    if (inner % V == 0) {
        float b = __ldg(bias + e / inner % channels);
#pragma unroll
        for (int i = 0; i < V; i++)
            v[i] += b;
    } else if (inner == 1 && channels % V == 0) {
        const float4 *b4 = reinterpret_cast<const float4 *>(bias + e % channels);
#pragma unroll
        for (int i = 0; i < V / 4; i++) {
            float4 q = __ldg(b4 + i);
            v[4 * i] += q.x, v[4 * i + 1] += q.y, v[4 * i + 2] += q.z, v[4 * i + 3] += q.w;
        }
    } else {
        I c = e / inner % channels, k = e % inner;
#pragma unroll
        for (int i = 0; i < V; i++) {
            v[i] += bias[c];
            if (++k == inner) {
                k = 0;
                c = c + 1 == channels ? 0 : c + 1;
            }
        }
    }
}

/* bias_act on packs, the activation a template parameter: a switch on it
 * per value kept the 8 values of a pack from being computed side by side
 * (the GELU pass after vit_b_16's mlp.0 ran at 60% of PyTorch's speed).
 * Every CUK_ activation has one (a launcher that listed them by hand once
 * ran mobilenet_v3's hardswish as no activation at all); cuk_bias_act
 * sends any other value to the one-value kernel. */
template <typename T, typename I, int ACT>
__global__ void bias_act_pack(const T *x, T *y, const float *bias, const T *res, I packs, I inner, I channels)
{
    const int V = Pack<T>::n;
    GRID_STRIDE(p, packs)
    {
        I e = p * V;
        float v[V];
        load_pack(x + e, v);
        if (bias)
            add_pack_bias<V>(v, bias, e, inner, channels);
        if (res) {
            float r[V];
            load_pack(res + e, r);
#pragma unroll
            for (int i = 0; i < V; i++)
                v[i] += r[i];
        }
#pragma unroll
        for (int i = 0; i < V; i++)
            v[i] = activate(v[i], ACT);
        store_pack(y + e, v);
    }
}

/* Launches bias_act_pack for activation `act`, trying A from CUK_HARDSWISH
 * down: every activation of the enum has its instantiation, with no list
 * to forget one in. */
template <typename T, typename I, int A = CUK_HARDSWISH>
void launch_bias_act_pack(unsigned grid, cudaStream_t s, int act, const T *x, T *y, const float *bias, const T *res,
                          I packs, I inner, I channels)
{
    if (act == A)
        bias_act_pack<T, I, A><<<grid, kThreads, 0, s>>>(x, y, bias, res, packs, inner, channels);
    else if constexpr (A > CUK_NONE)
        launch_bias_act_pack<T, I, A - 1>(grid, s, act, x, y, bias, res, packs, inner, channels);
}

template <typename T, typename I>
__global__ void add_act_pack(const T *a, const T *b, T *y, int64_t packs, int act)
{
    const int V = Pack<T>::n;
    GRID_STRIDE(p, packs)
    {
        float u[V], w[V];
        load_pack(a + p * V, u);
        load_pack(b + p * V, w);
#pragma unroll
        for (int i = 0; i < V; i++)
            u[i] = activate(u[i] + w[i], act);
        store_pack(y + p * V, u);
    }
}

template <typename T, typename I>
__global__ void scale_rows_pack(const T *x, const T *scale, T *y, int64_t packs, int64_t hw)
{
    const int V = Pack<T>::n;
    GRID_STRIDE(p, packs)
    {
        I e = p * V, r = e / (I)hw, k = e % (I)hw;
        float v[V];
        load_pack(x + e, v);
        float sc = ld(scale + r);
#pragma unroll
        for (int i = 0; i < V; i++) {
            v[i] *= sc;
            if (++k == (I)hw && i + 1 < V) {
                k = 0;
                sc = ld(scale + ++r);
            }
        }
        store_pack(y + e, v);
    }
}

template <typename T, typename I>
__global__ void maxpool(const T *x, T *y, int64_t planes, int h, int w, int oh, int ow, int k, int stride, int pad)
{
    GRID_STRIDE(e, planes * oh * ow)
    {
        int ox = (int)(e % (I)ow), oy = (int)(e / (I)ow % (I)oh);
        const T *xp = x + (int64_t)(e / ((I)oh * ow)) * h * w;
        st(y + e, window_max(xp, oy, ox, h, w, k, stride, pad, (I)1));
    }
}

template <typename T>
__global__ void mean_rows(const T *x, T *y, int64_t rows, int64_t hw)
{
    int lane = threadIdx.x % 32;
    WARP_ROWS(r, rows)
    {
        float s = 0.f;
        for (int64_t i = lane; i < hw; i += 32)
            s += ld(x + r * hw + i);
        s = warp_sum(s);
        if (lane == 0)
            st(y + r, s / (float)hw);
    }
}

template <typename T, typename I>
__global__ void scale_rows(const T *x, const T *scale, T *y, int64_t rows, int64_t hw)
{
    GRID_STRIDE(e, rows * hw) st(y + e, ld(x + e) * ld(scale + e / (I)hw));
}

template <typename T>
__global__ void layernorm(const T *x, T *y, const float *gamma, const float *beta, int64_t rows, int64_t d, float eps)
{
    int lane = threadIdx.x % 32;
    WARP_ROWS(r, rows)
    {
        const T *xr = x + r * d;
        float s = 0.f;
        for (int64_t i = lane; i < d; i += 32)
            s += ld(xr + i);
        float mean = warp_sum(s) / (float)d, q = 0.f;
        for (int64_t i = lane; i < d; i += 32) {
            float c = ld(xr + i) - mean;
            q += c * c;
        }
        float inv = rsqrtf(warp_sum(q) / (float)d + eps);
        for (int64_t i = lane; i < d; i += 32)
            st(y + r * d + i, (ld(xr + i) - mean) * inv * gamma[i] + beta[i]);
    }
}

/* layernorm with the row in registers, in packs: at most kRowFloats values
 * per lane (d <= 32 * kRowFloats = 1024). For fp32 only: on an H200 at
 * vit_b_16 batch 256 it took 0.081 ms per call against the plain kernel's
 * 0.098, but for bf16 0.105 against 0.070 (and 0.098 with 32 values per
 * lane instead of 64). */
const int kRowFloats = 32;

template <typename T>
__global__ void layernorm_pack(const T *x, T *y, const float *gamma, const float *beta, int64_t rows, int64_t d,
                               float eps)
{
    const int V = Pack<T>::n, kRowPacks = kRowFloats / V, lane = threadIdx.x % 32;
    const int np = (int)(d / V);
    WARP_ROWS(r, rows)
    {
        float v[kRowPacks][V], s = 0.f;
#pragma unroll
        for (int j = 0; j < kRowPacks; j++)
            if (lane + 32 * j < np) {
                load_pack(x + r * d + (int64_t)(lane + 32 * j) * V, v[j]);
#pragma unroll
                for (int i = 0; i < V; i++)
                    s += v[j][i];
            }
        float mean = warp_sum(s) / (float)d, q = 0.f;
#pragma unroll
        for (int j = 0; j < kRowPacks; j++)
            if (lane + 32 * j < np)
#pragma unroll
                for (int i = 0; i < V; i++) {
                    float c = v[j][i] - mean;
                    q += c * c;
                }
        float inv = rsqrtf(warp_sum(q) / (float)d + eps);
#pragma unroll
        for (int j = 0; j < kRowPacks; j++)
            if (lane + 32 * j < np) {
                int c0 = (lane + 32 * j) * V;
#pragma unroll
                for (int i = 0; i < V; i++)
                    v[j][i] = (v[j][i] - mean) * inv * gamma[c0 + i] + beta[c0 + i];
                store_pack(y + r * d + c0, v[j]);
            }
    }
}

/* softmax with the row in registers (cols <= 32 * kSoftmaxCols). */
const int kSoftmaxCols = 8;

template <typename T>
__global__ void softmax_regs(const float *s, T *p, int64_t rows, int64_t cols, int64_t stride)
{
    int lane = threadIdx.x % 32;
    WARP_ROWS(r, rows)
    {
        const float *sr = s + r * stride;
        float v[kSoftmaxCols], m = -INFINITY, sum = 0.f;
#pragma unroll
        for (int c = 0; c < kSoftmaxCols; c++) {
            v[c] = lane + 32 * c < cols ? sr[lane + 32 * c] : -INFINITY;
            m = fmaxf(m, v[c]);
        }
        m = warp_max(m);
#pragma unroll
        for (int c = 0; c < kSoftmaxCols; c++) {
            v[c] = lane + 32 * c < cols ? expf(v[c] - m) : 0.f;
            sum += v[c];
        }
        float inv = 1.f / warp_sum(sum);
        __syncwarp(); /* s and p may be the same memory */
        T *pr = p + r * stride;
#pragma unroll
        for (int c = 0; c < kSoftmaxCols; c++)
            if (lane + 32 * c < cols)
                st(pr + lane + 32 * c, v[c] * inv);
    }
}

/* s and p may be the same memory (fp32): each lane reads an element before
 * it writes it, and a row belongs to one warp. */
template <typename T>
__global__ void softmax(const float *s, T *p, int64_t rows, int64_t cols, int64_t stride)
{
    int lane = threadIdx.x % 32;
    WARP_ROWS(r, rows)
    {
        const float *sr = s + r * stride;
        T *pr = p + r * stride;
        float m = -INFINITY, sum = 0.f;
        for (int64_t i = lane; i < cols; i += 32)
            m = fmaxf(m, sr[i]);
        m = warp_max(m);
        for (int64_t i = lane; i < cols; i += 32)
            sum += expf(sr[i] - m);
        float inv = 1.f / warp_sum(sum);
        for (int64_t i = lane; i < cols; i += 32)
            st(pr + i, expf(sr[i] - m) * inv);
    }
}

template <typename T, typename I>
__global__ void tokens(const T *x, const float *cls, const float *pos, T *y, int64_t n, int64_t d, int64_t p)
{
    const I D = (I)d, P = (I)p;
    GRID_STRIDE(e, n * (p + 1) * d)
    {
        I c = e % D, t = e / D % (P + 1), item = e / (D * (P + 1));
        float v = t == 0 ? cls[c] : ld(x + (item * D + c) * P + (t - 1));
        st(y + e, v + pos[t * d + c]);
    }
}

template <typename T, typename I>
__global__ void tokens_rows(const T *x, const float *cls, const float *pos, T *y, int64_t n, int64_t d, int64_t p)
{
    const I D = (I)d, P = (I)p;
    GRID_STRIDE(e, n * (p + 1) * d)
    {
        I c = e % D, t = e / D % (P + 1), item = e / (D * (P + 1));
        float v = t == 0 ? cls[c] : ld(x + (item * P + t - 1) * D + c);
        st(y + e, v + pos[t * D + c]);
    }
}

/* tokens_rows moving packs (d a multiple of the pack). */
template <typename T, typename I>
__global__ void tokens_rows_pack(const T *x, const float *cls, const float *pos, T *y, int64_t n, int64_t d,
                                 int64_t p)
{
    const int V = Pack<T>::n;
    const I DP = (I)(d / V), P = (I)p;
    GRID_STRIDE(e, n * (p + 1) * (d / V))
    {
        I c = e % DP * V, t = e / DP % (P + 1), item = e / (DP * (P + 1));
        float v[V];
        if (t == 0) {
#pragma unroll
            for (int i = 0; i < V; i++)
                v[i] = cls[c + i];
        } else {
            load_pack(x + (item * P + t - 1) * (I)d + c, v);
        }
#pragma unroll
        for (int i = 0; i < V; i++)
            v[i] += pos[t * (I)d + c + i];
        store_pack(y + (I)(e * V), v);
    }
}

/* One unit E (a 16-byte pack, or one value) per step; w and k in units. */
template <typename E, typename I>
__global__ void patchify(const E *x, E *y, int64_t n, int64_t c, int64_t h, int64_t wu, int k, int ku)
{
    const I C = (I)c, H = (I)h, W = (I)wu, K = (I)k, KU = (I)ku, GW = W / KU, GH = H / K;
    GRID_STRIDE(e, n * c * h * wu)
    {
        I t = e / KU, xu = e % KU, ky = t % K;
        t /= K;
        I ci = t % C;
        t /= C;
        I px = t % GW;
        t /= GW;
        I py = t % GH, item = t / GH;
        y[e] = x[((item * C + ci) * H + py * K + ky) * W + px * KU + xu];
    }
}

template <typename T, typename I>
__global__ void from_f32(const float *x, T *y, int64_t n)
{
    GRID_STRIDE(e, n) st(y + e, x[e]);
}

template <typename T, typename I>
__global__ void to_f32(const T *x, float *y, int64_t n)
{
    GRID_STRIDE(e, n) y[e] = ld(x + e);
}

template <typename E>
int launch_patchify(const void *x, void *y, int64_t n, int64_t c, int64_t h, int64_t wu, int k, int ku,
                    cudaStream_t s)
{
    int64_t units = n * c * h * wu;
    if (units < ((int64_t)1 << 31))
        patchify<E, uint32_t><<<blocks_for(units), kThreads, 0, s>>>((const E *)x, (E *)y, n, c, h, wu, k, ku);
    else
        patchify<E, int64_t><<<blocks_for(units), kThreads, 0, s>>>((const E *)x, (E *)y, n, c, h, wu, k, ku);
    return (int)cudaGetLastError();
}

} /* namespace */

extern "C" {

int cuk_bias_act(cu_dtype t, const void *x, void *y, const float *bias, const void *res, int64_t n, int64_t inner,
                 int64_t channels, int act, cudaStream_t s)
{
    if (act >= CUK_NONE && act <= CUK_HARDSWISH && pack_ok(t, n, x, y, res)) {
        int64_t packs = n / (int64_t)pack_elems(t);
        unsigned grid = blocks_for(packs);
        if (n < ((int64_t)1 << 31)) {
            typedef uint32_t I;
            DISPATCH_FN(t, launch_bias_act_pack, grid, s, act, (const T *)x, (T *)y, bias, (const T *)res,
                        (I)packs, (I)inner, (I)channels);
        } else {
            typedef int64_t I;
            DISPATCH_FN(t, launch_bias_act_pack, grid, s, act, (const T *)x, (T *)y, bias, (const T *)res,
                        (I)packs, (I)inner, (I)channels);
        }
        return (int)cudaGetLastError();
    }
    DISPATCH_I(t, n, s, bias_act, (const T *)x, (T *)y, bias, (const T *)res, n, inner, channels, act);
}

int cuk_add_act(cu_dtype t, const void *a, const void *b, void *y, int64_t n, int act, cudaStream_t s)
{
    if (pack_ok(t, n, a, b, y)) {
        int64_t packs = n / (int64_t)pack_elems(t);
        DISPATCH_IG(t, n, blocks_for(packs), s, add_act_pack, (const T *)a, (const T *)b, (T *)y, packs, act);
    }
    DISPATCH_I(t, n, s, add_act, (const T *)a, (const T *)b, (T *)y, n, act);
}

int cuk_maxpool(cu_dtype t, const void *x, void *y, int64_t planes, int h, int w, int oh, int ow, int k,
                int stride, int pad, cudaStream_t s)
{
    DISPATCH_I(t, planes * oh * ow, s, maxpool, (const T *)x, (T *)y, planes, h, w, oh, ow, k, stride,
             pad);
}

int cuk_mean_rows(cu_dtype t, const void *x, void *y, int64_t rows, int64_t hw, cudaStream_t s)
{
    DISPATCH(t, warp_blocks(rows), s, mean_rows, (const T *)x, (T *)y, rows, hw);
}

int cuk_scale_rows(cu_dtype t, const void *x, const void *scale, void *y, int64_t rows, int64_t hw,
                   cudaStream_t s)
{
    if (pack_ok(t, rows * hw, x, y)) {
        int64_t packs = rows * hw / (int64_t)pack_elems(t);
        DISPATCH_IG(t, rows * hw, blocks_for(packs), s, scale_rows_pack, (const T *)x, (const T *)scale, (T *)y,
                    packs, hw);
    }
    DISPATCH_I(t, rows * hw, s, scale_rows, (const T *)x, (const T *)scale, (T *)y, rows, hw);
}

int cuk_layernorm(cu_dtype t, const void *x, void *y, const float *gamma, const float *beta, int64_t rows,
                  int64_t d, float eps, cudaStream_t s)
{
    if (t == CU_F32 && pack_ok(t, d, x, y) && d <= 32 * kRowFloats)
        DISPATCH(t, warp_blocks(rows), s, layernorm_pack, (const T *)x, (T *)y, gamma, beta, rows, d, eps);
    DISPATCH(t, warp_blocks(rows), s, layernorm, (const T *)x, (T *)y, gamma, beta, rows, d, eps);
}

int cuk_softmax(cu_dtype t, const float *x, void *p, int64_t rows, int64_t cols, int64_t ld, cudaStream_t s)
{
    if (cols <= 32 * kSoftmaxCols)
        DISPATCH(t, warp_blocks(rows), s, softmax_regs, x, (T *)p, rows, cols, ld);
    DISPATCH(t, warp_blocks(rows), s, softmax, x, (T *)p, rows, cols, ld);
}

int cuk_tokens(cu_dtype t, const void *x, const float *cls, const float *pos, void *y, int64_t n, int64_t d,
               int64_t p, int token_major, cudaStream_t s)
{
    if (token_major && pack_ok(t, d, x, y))
        DISPATCH_I(t, n * (p + 1) * d / (int64_t)pack_elems(t), s, tokens_rows_pack, (const T *)x, cls, pos, (T *)y,
                   n, d, p);
    if (token_major)
        DISPATCH_I(t, n * (p + 1) * d, s, tokens_rows, (const T *)x, cls, pos, (T *)y, n, d, p);
    DISPATCH_I(t, n * (p + 1) * d, s, tokens, (const T *)x, cls, pos, (T *)y, n, d, p);
}

int cuk_patchify(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int64_t h, int64_t w, int k,
                 cudaStream_t s)
{
    int64_t v = (int64_t)pack_elems(t);
    if (k % v == 0 && w % v == 0 && pack_ok(t, 0, x, y))
        return launch_patchify<uint4>(x, y, n, c, h, w / v, k, (int)(k / v), s);
    if (t == CU_F32)
        return launch_patchify<float>(x, y, n, c, h, w, k, k, s);
    return launch_patchify<uint16_t>(x, y, n, c, h, w, k, k, s);
}

int cuk_from_f32(cu_dtype t, const float *x, void *y, int64_t n, cudaStream_t s)
{
    DISPATCH_I(t, n, s, from_f32, x, (T *)y, n);
}

int cuk_to_f32(cu_dtype t, const void *x, float *y, int64_t n, cudaStream_t s)
{
    DISPATCH_I(t, n, s, to_f32, (const T *)x, y, n);
}

} /* extern "C" */

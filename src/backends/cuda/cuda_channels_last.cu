/*
 * cuda_channels_last.cu — the kernels a 16-bit convnet needs when its
 * feature maps are stored channels-last ([n, h, w, c], cuDNN's NHWC), the
 * layout the tensor-core convolutions read and write without transposing:
 * the input batch's transpose, max pooling, the global average pool and
 * the squeeze-excitation scale. Element-wise passes (bias, activation,
 * residual sums) do not care about the layout and stay in cuda_kernels.cu.
 *
 * Consecutive threads take consecutive channels, so every load and store of
 * a warp is contiguous.
 */
#include "backends/cuda/cuda_device.cuh"

namespace {

/* y[n][p][ch] = x[n][ch][p], zero for ch >= c: reads are strided, writes
 * contiguous (the input has 3 channels, so the reads still share cache
 * lines). */
template <typename T, typename I>
__global__ void nchw_to_nhwc(const T *x, T *y, int64_t n, int64_t c, int64_t cpad, int64_t hw)
{
    GRID_STRIDE(e, n * cpad * hw)
    {
        I ch = e % (I)cpad, p = e / (I)cpad % (I)hw, item = e / ((I)cpad * (I)hw);
        st(y + e, ch < (I)c ? ld(x + (item * (I)c + ch) * (I)hw + p) : 0.f);
    }
}

/* One output value per thread, channel fastest. */
template <typename T, typename I>
__global__ void maxpool_nhwc(const T *x, T *y, int64_t n, int64_t c, int h, int w, int oh, int ow, int k, int stride,
                             int pad)
{
    GRID_STRIDE(e, n * oh * ow * c)
    {
        I ch = e % (I)c, pix = e / (I)c;
        int ox = (int)(pix % (I)ow), oy = (int)(pix / (I)ow % (I)oh);
        const T *xp = x + (pix / ((I)oh * ow)) * (I)h * w * c + ch;
        st(y + e, window_max(xp, oy, ox, h, w, k, stride, pad, (I)c));
    }
}

const int kMeanCols = 32, kMeanRows = kThreads / kMeanCols;

/* y[n][c] = mean over p of x[n][p][c]. A block takes 32 channels of one
 * item: its 8 rows of threads split the positions, then add up in shared
 * memory. grid = (items, channel groups). */
template <typename T>
__global__ void mean_nhwc(const T *x, T *y, int64_t c, int64_t hw)
{
    __shared__ float part[kMeanRows][kMeanCols];
    const int tx = threadIdx.x % kMeanCols, ty = threadIdx.x / kMeanCols;
    const int64_t ch = (int64_t)blockIdx.y * kMeanCols + tx, item = blockIdx.x;
    float s = 0.f;
    if (ch < c)
        for (int64_t p = ty; p < hw; p += kMeanRows)
            s += ld(x + (item * hw + p) * c + ch);
    part[ty][tx] = s;
    __syncthreads();
    if (ty == 0 && ch < c) {
        for (int r = 1; r < kMeanRows; r++)
            s += part[r][tx];
        st(y + item * c + ch, s / (float)hw);
    }
}

/* y[n][p][ch] = x[n][p][ch] * scale[n][ch]. */
template <typename T, typename I>
__global__ void scale_nhwc(const T *x, const T *scale, T *y, int64_t n, int64_t hw, int64_t c)
{
    GRID_STRIDE(e, n * hw * c) st(y + e, ld(x + e) * ld(scale + e / ((I)hw * (I)c) * (I)c + e % (I)c));
}

/* The same in packs of V consecutive channels (c a multiple of V). */
template <typename T, typename I>
__global__ void scale_nhwc_pack(const T *x, const T *scale, T *y, int64_t packs, int64_t hw, int64_t c)
{
    const int V = Pack<T>::n;
    GRID_STRIDE(p, packs)
    {
        I e = p * V, ch = e % (I)c, item = e / ((I)hw * (I)c);
        float v[V], s[V];
        load_pack(x + e, v);
        load_pack(scale + item * (I)c + ch, s);
#pragma unroll
        for (int i = 0; i < V; i++)
            v[i] *= s[i];
        store_pack(y + e, v);
    }
}

} /* namespace */

extern "C" {

int cuk_nchw_to_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int64_t cpad, int64_t hw,
                     cudaStream_t s)
{
    DISPATCH_I(t, n * cpad * hw, s, nchw_to_nhwc, (const T *)x, (T *)y, n, c, cpad, hw);
}

int cuk_maxpool_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t c, int h, int w, int oh, int ow, int k,
                     int stride, int pad, cudaStream_t s)
{
    DISPATCH_I(t, n * c * h * w, s, maxpool_nhwc, (const T *)x, (T *)y, n, c, h, w, oh, ow, k, stride, pad);
}

int cuk_mean_nhwc(cu_dtype t, const void *x, void *y, int64_t n, int64_t hw, int64_t c, cudaStream_t s)
{
    int64_t groups = (c + kMeanCols - 1) / kMeanCols;
    if (groups > 65535)
        return (int)cudaErrorInvalidValue;
    dim3 grid((unsigned)n, (unsigned)groups);
    DISPATCH(t, grid, s, mean_nhwc, (const T *)x, (T *)y, c, hw);
}

int cuk_scale_nhwc(cu_dtype t, const void *x, const void *scale, void *y, int64_t n, int64_t hw, int64_t c,
                   cudaStream_t s)
{
    int64_t total = n * hw * c;
    if (c % (int64_t)pack_elems(t) == 0 && pack_ok(t, total, x, y, scale)) {
        int64_t packs = total / (int64_t)pack_elems(t);
        DISPATCH_IG(t, total, blocks_for(packs), s, scale_nhwc_pack, (const T *)x, (const T *)scale, (T *)y, packs,
                    hw, c);
    }
    DISPATCH_I(t, total, s, scale_nhwc, (const T *)x, (const T *)scale, (T *)y, n, hw, c);
}

} /* extern "C" */

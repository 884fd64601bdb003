/*
 * cuda_device.cuh — device helpers shared by the CUDA backend's kernel files
 * (cuda_kernels.cu, cuda_channels_last.cu): loads and stores that compute
 * in fp32 whatever the storage type, the activations, warp reductions,
 * 16-byte packs, grid sizing and the dispatch from cu_dtype to a template.
 * Everything is in an anonymous namespace: each .cu file gets its own copy.
 */
#ifndef BB_CUDA_DEVICE_CUH
#define BB_CUDA_DEVICE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>

#include "backends/cuda/cuda_kernels.h"

namespace {

const int kThreads = 256;

__device__ __forceinline__ float ld(const float *p) { return *p; }
__device__ __forceinline__ float ld(const __half *p) { return __half2float(*p); }
__device__ __forceinline__ float ld(const __nv_bfloat16 *p) { return __bfloat162float(*p); }
__device__ __forceinline__ void st(float *p, float v) { *p = v; }
__device__ __forceinline__ void st(__half *p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void st(__nv_bfloat16 *p, float v) { *p = __float2bfloat16_rn(v); }

__device__ __forceinline__ float activate(float x, int act)
{
    switch (act) {
    case CUK_RELU: return fmaxf(x, 0.f);
    case CUK_RELU6: return fminf(fmaxf(x, 0.f), 6.f);
    case CUK_SILU: return x / (1.f + expf(-x));
    case CUK_SIGMOID: return 1.f / (1.f + expf(-x));
    case CUK_GELU: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case CUK_TANH: return tanhf(x);
    case CUK_HARDSWISH: return x * fminf(fmaxf(x + 3.f, 0.f), 6.f) / 6.f;
    default: return x;
    }
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* 16 bytes of T: 8 values of fp16/bf16, 4 of fp32. The element-wise
 * kernels move whole packs when n and every pointer allow it (pack_ok):
 * 2-byte loads alone leave a pass over bf16 data at a fraction of the
 * memory bandwidth. */
template <typename T>
struct Pack {
    static const int n = 16 / sizeof(T);
};

template <typename T>
__device__ __forceinline__ void load_pack(const T *p, float *v)
{
    uint4 u = *reinterpret_cast<const uint4 *>(p);
    const T *e = reinterpret_cast<const T *>(&u);
#pragma unroll
    for (int i = 0; i < Pack<T>::n; i++)
        v[i] = ld(e + i);
}

template <typename T>
__device__ __forceinline__ void store_pack(T *p, const float *v)
{
    uint4 u;
    T *e = reinterpret_cast<T *>(&u);
#pragma unroll
    for (int i = 0; i < Pack<T>::n; i++)
        st(e + i, v[i]);
    *reinterpret_cast<uint4 *>(p) = u;
}

inline size_t pack_elems(cu_dtype t)
{
    return t == CU_F32 ? 4 : 8;
}

inline int pack_ok(cu_dtype t, int64_t n, const void *a, const void *b = nullptr, const void *c = nullptr,
            const void *d = nullptr)
{
    uintptr_t bits = (uintptr_t)a | (uintptr_t)b | (uintptr_t)c | (uintptr_t)d;
    return n % (int64_t)pack_elems(t) == 0 && bits % 16 == 0;
}

/* The maximum of a k x k pooling window at output (oy, ox) of a map whose
 * value (iy, ix) is at xp[(iy * w + ix) * step] (step 1: a plane of an NCHW
 * map; step c: a channel of an NHWC one). Padding never wins (as
 * torch.nn.MaxPool2d). */
template <typename T, typename I>
__device__ __forceinline__ float window_max(const T *xp, int oy, int ox, int h, int w, int k, int stride, int pad,
                                            I step)
{
    float m = -INFINITY;
    for (int dy = 0; dy < k; dy++) {
        int iy = oy * stride - pad + dy;
        for (int dx = 0; dx < k && iy >= 0 && iy < h; dx++) {
            int ix = ox * stride - pad + dx;
            if (ix >= 0 && ix < w)
                m = fmaxf(m, ld(xp + ((I)iy * w + ix) * step));
        }
    }
    return m;
}

inline unsigned blocks_for(int64_t n)
{
    int64_t b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 1 ? 1 : b > 65535 * 32 ? 65535 * 32 : b);
}

inline unsigned warp_blocks(int64_t rows)
{
    return blocks_for(rows * 32);
}

#define GRID_STRIDE(i, n) \
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < (I)(n); i += (I)gridDim.x * blockDim.x)
#define WARP_ROWS(r, rows)                                                                   \
    for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; r < (rows);      \
         r += (int64_t)gridDim.x * blockDim.x / 32)

/* Launches KERNEL<T, I> with T chosen by the cu_dtype `t` (I from the
 * enclosing scope). */
#define DISPATCH_T(t, grid, stream, KERNEL, ...)                                                         \
    switch (t) {                                                                                         \
    case CU_F32: { typedef float T; KERNEL<T, I><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break;  \
    case CU_F16: { typedef __half T; KERNEL<T, I><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break; \
    case CU_BF16: { typedef __nv_bfloat16 T; KERNEL<T, I><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break; \
    }

/* Calls the host function template FN<T, I> with the arguments, T chosen
 * by the cu_dtype `t` (I from the enclosing scope). */
#define DISPATCH_FN(t, FN, ...)                                                                          \
    switch (t) {                                                                                         \
    case CU_F32: { typedef float T; FN<T, I>(__VA_ARGS__); } break;                                      \
    case CU_F16: { typedef __half T; FN<T, I>(__VA_ARGS__); } break;                                     \
    case CU_BF16: { typedef __nv_bfloat16 T; FN<T, I>(__VA_ARGS__); } break;                             \
    }

/* Calls KERNEL<T> with the arguments, T chosen by the cu_dtype `t`. */
#define DISPATCH(t, grid, stream, KERNEL, ...)                                                           \
    do {                                                                                                 \
        switch (t) {                                                                                     \
        case CU_F32: { typedef float T; KERNEL<T><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break;  \
        case CU_F16: { typedef __half T; KERNEL<T><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break; \
        case CU_BF16: { typedef __nv_bfloat16 T; KERNEL<T><<<(grid), kThreads, 0, (stream)>>>(__VA_ARGS__); } break; \
        }                                                                                                \
        return (int)cudaGetLastError();                                                                  \
    } while (0)

/* As DISPATCH, for kernels templated on <T, I>: I is uint32_t when the
 * n elements (and every index below n) fit in 31 bits. DISPATCH_IG takes
 * the grid apart, for kernels whose threads take packs of elements. */
#define DISPATCH_IG(t, n, grid, stream, KERNEL, ...)                                                     \
    do {                                                                                                 \
        unsigned grid_ = (grid);                                                                         \
        if ((n) < ((int64_t)1 << 31)) {                                                                  \
            typedef uint32_t I;                                                                          \
            DISPATCH_T(t, grid_, stream, KERNEL, __VA_ARGS__);                                           \
        } else {                                                                                         \
            typedef int64_t I;                                                                           \
            DISPATCH_T(t, grid_, stream, KERNEL, __VA_ARGS__);                                           \
        }                                                                                                \
        return (int)cudaGetLastError();                                                                  \
    } while (0)
#define DISPATCH_I(t, n, stream, KERNEL, ...) DISPATCH_IG(t, n, blocks_for(n), stream, KERNEL, __VA_ARGS__)

} /* namespace */

#endif

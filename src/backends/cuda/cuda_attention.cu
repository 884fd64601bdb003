/*
 * cuda_attention.cu — 16-bit ViT self-attention in one kernel, written the
 * way FlashAttention-2 is: q, k and v are read in place from the
 * in-projection's output, the scores never leave registers, and the heads
 * are written merged. dh 64, up to 256 tokens: every ViT of the zoo.
 *
 * History: a first kernel used WMMA; its fragments are opaque, so its scores
 * made a round trip through shared memory and its 114 KB per block allowed
 * 8 warps per SM (0.72 ms per layer of vit_b_16 at batch 256 on an H200).
 * This one replaced it after an H200 run (2026-11-27): bf16 parity of the
 * four ViTs and fp16 of vit_b_16 within the bounds of tools/compare_npy.py,
 * attention 0.38 ms per layer, vit_b_16 bf16 batch 256 22.6 ms against
 * 26.1 ms with WMMA.
 *
 * The layouts of PTX's mma.m16n8k16 are used directly (PTX ISA, "Matrix
 * fragments for mma.m16n8k16"), with g = lane / 4 and t = lane % 4:
 *   A (16x16): a0 = (row g,   cols 2t, 2t+1)   a1 = (row g+8, cols 2t, 2t+1)
 *              a2 = (row g,   cols 2t+8, +9)   a3 = (row g+8, cols 2t+8, +9)
 *   B (16x8):  b0 = (rows 2t, 2t+1, col g)     b1 = (rows 2t+8, 2t+9, col g)
 *   C (16x8):  c0, c1 = (row g, cols 2t, 2t+1) c2, c3 = (row g+8, same cols)
 * Two C tiles of scores (keys j..j+7, j+8..j+15) are, element for element,
 * the A fragment of those 16 keys' probabilities, so P goes from the
 * softmax to the second product without moving.
 *
 * A block of 8 warps takes one (item, head): K row-major and V transposed
 * ([dh][keys]) in shared memory, both padded so the 32-bit fragment loads
 * hit 32 distinct banks. Each warp takes 16 queries at a time, holds their
 * Q fragments from global memory, and walks the keys 64 at a time with an
 * online softmax (running maximum and sum per row, fp32).
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>
#include <type_traits>

#include "backends/cuda/cuda_kernels.h"

namespace {

const int kDh = 64;           /* head size this kernel is written for */
const int kKRow = kDh + 8;    /* K rows in shared memory (elements) */
const int kWarps = 8;
const int kMaxTokens = 256;
const int kStep = 64;         /* keys per step of the online softmax */

int padded(int64_t l)
{
    return (int)((l + 15) / 16 * 16);
}

/* V^T rows: lp + 8 elements, so (row stride / 2) % 8 == 4 in 32-bit words */
__host__ __device__ inline int vt_ld(int lp)
{
    return lp + 8;
}

size_t smem_bytes(int lp)
{
    return ((size_t)lp * kKRow + (size_t)kDh * vt_ld(lp)) * 2;
}

template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi)
{
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

/* c += A B for one m16n8k16 tile, fp32 accumulation. */
template <typename T>
__device__ __forceinline__ void mma(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
    if (std::is_same<T, __nv_bfloat16>::value)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* K row-major [lp][kKRow] and V transposed [kDh][vt_ld(lp)] from the token
 * rows at `base` (3d apart); keys >= l are zero. */
template <typename T>
__device__ void stage_kv(T *ks, T *vt, const T *base, int64_t d, int l, int lp)
{
    const int per_row = kDh / 8; /* 16-byte chunks */
    for (int i = threadIdx.x; i < lp * per_row; i += blockDim.x) {
        int r = i / per_row, c = i % per_row;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < l)
            v = reinterpret_cast<const uint4 *>(base + r * 3 * d + d)[c];
        reinterpret_cast<uint4 *>(ks + r * kKRow)[c] = v;
    }
    const int ldv = vt_ld(lp);
    for (int i = threadIdx.x; i < lp * per_row; i += blockDim.x) {
        int c = i / lp, r = i % lp; /* consecutive threads: consecutive keys */
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < l)
            v = reinterpret_cast<const uint4 *>(base + r * 3 * d + 2 * d)[c];
        const T *e = reinterpret_cast<const T *>(&v);
#pragma unroll
        for (int q = 0; q < 8; q++)
            vt[(c * 8 + q) * ldv + r] = e[q];
    }
}

/* This lane's A fragments of 16 query rows (q0..q0+15) x 64 dims. */
template <typename T>
__device__ void load_q(uint32_t qa[kDh / 16][4], const T *base, int64_t d, int q0, int l, int g, int t)
{
    const int r0 = q0 + g, r1 = q0 + g + 8;
#pragma unroll
    for (int kc = 0; kc < kDh / 16; kc++) {
        int c = kc * 16 + 2 * t;
        qa[kc][0] = r0 < l ? *reinterpret_cast<const uint32_t *>(base + r0 * 3 * d + c) : 0u;
        qa[kc][1] = r1 < l ? *reinterpret_cast<const uint32_t *>(base + r1 * 3 * d + c) : 0u;
        qa[kc][2] = r0 < l ? *reinterpret_cast<const uint32_t *>(base + r0 * 3 * d + c + 8) : 0u;
        qa[kc][3] = r1 < l ? *reinterpret_cast<const uint32_t *>(base + r1 * 3 * d + c + 8) : 0u;
    }
}

__device__ __forceinline__ float quad_max(float v)
{
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float quad_sum(float v)
{
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

template <typename T>
__global__ void __launch_bounds__(kWarps * 32, 2)
    attention_mma(const T *qkv, T *y, int l, int h, int lp, float scale)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int64_t d = (int64_t)h * kDh, item = blockIdx.x / h, head = blockIdx.x % h;
    T *ks = reinterpret_cast<T *>(smem), *vt = ks + lp * kKRow;
    const uint32_t *k32 = reinterpret_cast<const uint32_t *>(ks), *v32 = reinterpret_cast<const uint32_t *>(vt);
    const int ldv2 = vt_ld(lp) / 2; /* V^T row stride in 32-bit words */
    const T *base = qkv + item * l * 3 * d + head * kDh;

    stage_kv(ks, vt, base, d, l, lp);
    __syncthreads();

    for (int tile = blockIdx.y * kWarps + warp; tile < lp / 16; tile += gridDim.y * kWarps) {
        uint32_t qa[kDh / 16][4];
        load_q(qa, base, d, tile * 16, l, g, t);
        float o[kDh / 8][4], m0 = -INFINITY, m1 = -INFINITY, s0 = 0.f, s1 = 0.f;
#pragma unroll
        for (int n = 0; n < kDh / 8; n++)
            o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;

        for (int k0 = 0; k0 < lp; k0 += kStep) {
            /* scores of 16 queries x 64 keys: 8 C tiles */
            float s[kStep / 8][4];
#pragma unroll
            for (int n = 0; n < kStep / 8; n++) {
                s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
                int key = k0 + n * 8 + g; /* B column g = key */
                if (k0 + n * 8 < lp) {
#pragma unroll
                    for (int kc = 0; kc < kDh / 16; kc++) {
                        const uint32_t *kr = k32 + (key * kKRow + kc * 16) / 2;
                        mma<T>(s[n], qa[kc], kr[t], kr[t + 4]);
                    }
                }
            }
            /* scale, mask keys >= l, running maximum (rows g and g+8) */
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int n = 0; n < kStep / 8; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int key = k0 + n * 8 + 2 * t + (e & 1);
                    s[n][e] = key < l ? s[n][e] * scale : -INFINITY;
                    if (e < 2)
                        mx0 = fmaxf(mx0, s[n][e]);
                    else
                        mx1 = fmaxf(mx1, s[n][e]);
                }
            /* every step holds a key < l (k0 < lp rounds l up by < 16), so
             * the new maxima are finite */
            float n0 = fmaxf(m0, quad_max(mx0)), n1 = fmaxf(m1, quad_max(mx1));
            float a0 = __expf(m0 - n0), a1 = __expf(m1 - n1);
            m0 = n0, m1 = n1;
            float p0 = 0.f, p1 = 0.f;
#pragma unroll
            for (int n = 0; n < kStep / 8; n++) {
                s[n][0] = __expf(s[n][0] - n0), s[n][1] = __expf(s[n][1] - n0);
                s[n][2] = __expf(s[n][2] - n1), s[n][3] = __expf(s[n][3] - n1);
                p0 += s[n][0] + s[n][1], p1 += s[n][2] + s[n][3];
            }
            s0 = s0 * a0 + p0, s1 = s1 * a1 + p1;
#pragma unroll
            for (int n = 0; n < kDh / 8; n++)
                o[n][0] *= a0, o[n][1] *= a0, o[n][2] *= a1, o[n][3] *= a1;
            /* O += P V, 16 keys at a time; P's A fragment is two C tiles */
#pragma unroll
            for (int kc = 0; kc < kStep / 16; kc++) {
                if (k0 + kc * 16 >= lp)
                    break;
                uint32_t pa[4] = {pack2<T>(s[2 * kc][0], s[2 * kc][1]), pack2<T>(s[2 * kc][2], s[2 * kc][3]),
                                  pack2<T>(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                                  pack2<T>(s[2 * kc + 1][2], s[2 * kc + 1][3])};
                const int kw = (k0 + kc * 16) / 2 + t; /* word of keys 2t, 2t+1 */
#pragma unroll
                for (int n = 0; n < kDh / 8; n++) {
                    const uint32_t *vr = v32 + (n * 8 + g) * ldv2 + kw;
                    mma<T>(o[n], pa, vr[0], vr[4]);
                }
            }
        }
        /* normalise and write rows g and g+8 of the tile */
        float i0 = 1.f / quad_sum(s0), i1 = 1.f / quad_sum(s1);
        const int r0 = tile * 16 + g, r1 = r0 + 8;
        uint32_t *y0 = reinterpret_cast<uint32_t *>(y + (item * l + r0) * d + head * kDh);
        uint32_t *y1 = reinterpret_cast<uint32_t *>(y + (item * l + r1) * d + head * kDh);
#pragma unroll
        for (int n = 0; n < kDh / 8; n++) {
            if (r0 < l)
                y0[n * 4 + t] = pack2<T>(o[n][0] * i0, o[n][1] * i0);
            if (r1 < l)
                y1[n * 4 + t] = pack2<T>(o[n][2] * i1, o[n][3] * i1);
        }
    }
}

} /* namespace */

extern "C" {

int cuk_attention_fits(cu_dtype t, int64_t l, int64_t dh)
{
    return t != CU_F32 && dh == kDh && l >= 1 && l <= kMaxTokens;
}

int cuk_attention_setup(cu_dtype t, int64_t l)
{
    int bytes = (int)smem_bytes(padded(l));
    cudaError_t e = t == CU_F16 ? cudaFuncSetAttribute(attention_mma<__half>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)
                                : cudaFuncSetAttribute(attention_mma<__nv_bfloat16>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return (int)e;
}

int cuk_attention(cu_dtype t, const void *qkv, void *y, int64_t n, int64_t l, int64_t h, float scale,
                      int blocks_per_head, cudaStream_t s)
{
    if (t == CU_F32 || l < 1 || l > kMaxTokens)
        return (int)cudaErrorInvalidValue;
    int lp = padded(l), most = (lp / 16 + kWarps - 1) / kWarps;
    dim3 grid((unsigned)(n * h), (unsigned)(blocks_per_head < 1 ? 1 : blocks_per_head > most ? most : blocks_per_head));
    size_t bytes = smem_bytes(lp);
    if (t == CU_F16)
        attention_mma<__half><<<grid, kWarps * 32, bytes, s>>>((const __half *)qkv, (__half *)y, (int)l, (int)h, lp,
                                                               scale);
    else
        attention_mma<__nv_bfloat16><<<grid, kWarps * 32, bytes, s>>>((const __nv_bfloat16 *)qkv,
                                                                       (__nv_bfloat16 *)y, (int)l, (int)h, lp, scale);
    return (int)cudaGetLastError();
}

} /* extern "C" */

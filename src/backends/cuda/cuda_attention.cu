/*
 * cuda_attention.cu — multi-head self-attention in one kernel for 16-bit
 * activations (fp16, bf16) with 64-wide heads and up to 256 tokens: every
 * ViT of the zoo. It reads q, k and v straight from the in-projection's
 * output and writes the heads already merged, so none of the unfused path's
 * intermediates (split q/k/v, fp32 score matrices, probabilities, per-head
 * outputs) exist in device memory. The unfused path (cuda_ops.c:
 * run_attention) stays for fp32/tf32 and for any other shape.
 *
 * One block per (item, head) -- or a few (grid y), splitting its query
 * tiles, when the batch is small: K and V of the whole sequence are staged in shared
 * memory once, then each warp takes 16 queries at a time:
 *   S = Q K^T        tensor cores (WMMA 16x16x16), fp32 accumulation
 *   P = softmax(S * scale) over the real tokens, in fp32, stored as T
 *   O = P V          tensor cores, fp32 accumulation, rounded to T once
 * as FlashAttention does with a whole row of scores in shared memory (at
 * most 256 tokens, so no running maximum is needed).
 *
 * Shared memory: K and V, rows padded to 72 elements (conflict-free tensor
 * core loads), then per warp a 16 x (lp + 4) fp32 score tile. The warp's tile
 * first stages its Q rows, then holds S, then P (in place: a row is read
 * into registers before it is overwritten), then O.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <mma.h>

#include "backends/cuda/cuda_kernels.h"

namespace {

using namespace nvcuda;

const int kHeadDim = 64;        /* dh this kernel is written for */
const int kRow = kHeadDim + 8;  /* K, V and Q rows in shared memory (elements) */
const int kWarps = 4;           /* warps per block */
const int kMaxTokens = 256;     /* 8 score columns per lane */

__device__ __forceinline__ void st(__half *p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void st(__nv_bfloat16 *p, float v) { *p = __float2bfloat16_rn(v); }

/* Rows padded to a multiple of 16 (tensor-core tiles), at least 64 so the
 * warp's score tile can hold its 16 x 64 fp32 output. */
int padded_tokens(int64_t l)
{
    int64_t lp = (l + 15) / 16 * 16;
    return (int)(lp < 64 ? 64 : lp);
}

__host__ __device__ inline int score_ld(int lp);

size_t smem_bytes(int lp, size_t es)
{
    return 2 * (size_t)lp * kRow * es + (size_t)kWarps * 16 * score_ld(lp) * sizeof(float);
}

/* Copies `rows` rows of 64 values (src rows `src_ld` apart) to shared
 * memory rows kRow apart, 16 bytes per thread step; rows >= valid are zero.
 * Eight loads are issued before their stores, so their latencies overlap. */
template <typename T>
__device__ void stage_rows(T *dst, const T *src, int64_t src_ld, int rows, int valid, int tid, int nthreads)
{
    const int per_row = kHeadDim * (int)sizeof(T) / 16, total = rows * per_row, batch = 8;
    for (int first = tid; first < total; first += batch * nthreads) {
        uint4 v[batch];
#pragma unroll
        for (int u = 0; u < batch; u++) {
            int i = first + u * nthreads, r = i / per_row;
            v[u] = make_uint4(0, 0, 0, 0);
            if (i < total && r < valid)
                v[u] = reinterpret_cast<const uint4 *>(src + r * src_ld)[i % per_row];
        }
#pragma unroll
        for (int u = 0; u < batch; u++) {
            int i = first + u * nthreads;
            if (i < total)
                reinterpret_cast<uint4 *>(dst + i / per_row * kRow)[i % per_row] = v[u];
        }
    }
}

/* Score tiles have rows of lp + 4 floats and O rows of 68: the padding
 * staggers rows over the shared-memory banks for the tensor-core loads
 * and stores. */
__host__ __device__ inline int score_ld(int lp)
{
    return lp + 4;
}

const int kOutLd = kHeadDim + 4;

/* Softmax of the 16 score rows of a warp's tile, two rows at a time, in
 * place: row r's fp32 scores (ls apart) become T probabilities at the
 * start of the same row (so P has a leading dimension of 2 ls elements);
 * padded columns get 0. */
template <typename T>
__device__ void softmax_tile(float *tile, int ls, int lp, int l, float scale, int lane)
{
    const int C = kMaxTokens / 32;
    for (int r = 0; r < 16; r += 2) {
        float v[2][C], m[2] = {-INFINITY, -INFINITY}, sum[2] = {0.f, 0.f};
#pragma unroll
        for (int q = 0; q < 2; q++)
#pragma unroll
            for (int c = 0; c < C; c++) {
                int col = lane + 32 * c;
                v[q][c] = col < l ? tile[(r + q) * ls + col] * scale : -INFINITY;
                m[q] = fmaxf(m[q], v[q][c]);
            }
        for (int o = 16; o > 0; o >>= 1) {
            m[0] = fmaxf(m[0], __shfl_xor_sync(0xffffffffu, m[0], o));
            m[1] = fmaxf(m[1], __shfl_xor_sync(0xffffffffu, m[1], o));
        }
#pragma unroll
        for (int q = 0; q < 2; q++)
#pragma unroll
            for (int c = 0; c < C; c++) {
                v[q][c] = lane + 32 * c < l ? __expf(v[q][c] - m[q]) : 0.f;
                sum[q] += v[q][c];
            }
        for (int o = 16; o > 0; o >>= 1) {
            sum[0] += __shfl_xor_sync(0xffffffffu, sum[0], o);
            sum[1] += __shfl_xor_sync(0xffffffffu, sum[1], o);
        }
        __syncwarp(); /* both rows are in registers before P overwrites them */
#pragma unroll
        for (int q = 0; q < 2; q++) {
            T *pr = reinterpret_cast<T *>(tile + (r + q) * ls);
            float inv = 1.f / sum[q];
#pragma unroll
            for (int c = 0; c < C; c++)
                if (lane + 32 * c < lp)
                    st(pr + lane + 32 * c, v[q][c] * inv);
        }
    }
    __syncwarp();
}

typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc_frag;

/* S[:, 16j .. 16j+16) = Q K^T for `count` (1 or 2) key tiles from j, the
 * two products interleaved. K^T is K read column-major. */
template <typename T>
__device__ void score_tiles(float *tile, int ls, const T *ks, int j, int count,
                            const wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> *qa)
{
    acc_frag acc[2];
    wmma::fill_fragment(acc[0], 0.f);
    wmma::fill_fragment(acc[1], 0.f);
#pragma unroll
    for (int k = 0; k < kHeadDim / 16; k++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> kb[2];
        wmma::load_matrix_sync(kb[0], ks + j * 16 * kRow + k * 16, kRow);
        if (count == 2)
            wmma::load_matrix_sync(kb[1], ks + (j + 1) * 16 * kRow + k * 16, kRow);
        wmma::mma_sync(acc[0], qa[k], kb[0], acc[0]);
        if (count == 2)
            wmma::mma_sync(acc[1], qa[k], kb[1], acc[1]);
    }
    wmma::store_matrix_sync(tile + j * 16, acc[0], ls, wmma::mem_row_major);
    if (count == 2)
        wmma::store_matrix_sync(tile + (j + 1) * 16, acc[1], ls, wmma::mem_row_major);
}

/* The tile's O (16 x 64 fp32, kOutLd apart) to y, 16 bytes at a time. */
template <typename T>
__device__ void write_out(const float *o, T *y, int64_t row0, int valid, int64_t d, int lane)
{
    const int V = 16 / (int)sizeof(T);
    for (int i = lane; i < 16 * kHeadDim / V; i += 32) {
        int r = i / (kHeadDim / V), c = i % (kHeadDim / V) * V;
        if (r >= valid)
            continue;
        uint4 u;
        T *e = reinterpret_cast<T *>(&u);
#pragma unroll
        for (int q = 0; q < V; q++)
            st(e + q, o[r * kOutLd + c + q]);
        *reinterpret_cast<uint4 *>(y + (row0 + r) * d + c) = u;
    }
}

template <typename T>
__global__ void __launch_bounds__(kWarps * 32)
    attention(const T *qkv, T *y, int l, int h, int lp, float scale)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, tiles = lp / 16, ls = score_ld(lp);
    const int64_t d = (int64_t)h * kHeadDim, item = blockIdx.x / h, head = blockIdx.x % h;
    T *ks = reinterpret_cast<T *>(smem), *vs = ks + lp * kRow;
    float *tile = reinterpret_cast<float *>(vs + lp * kRow) + warp * 16 * ls;
    const T *base = qkv + item * l * 3 * d + head * kHeadDim; /* token row: q | k | v */

    stage_rows(ks, base + d, 3 * d, lp, l, threadIdx.x, blockDim.x);
    stage_rows(vs, base + 2 * d, 3 * d, lp, l, threadIdx.x, blockDim.x);
    __syncthreads();

    for (int t = blockIdx.y * kWarps + warp; t < tiles; t += gridDim.y * kWarps) {
        /* Q rows of this tile, staged in the score tile, into fragments */
        T *qs = reinterpret_cast<T *>(tile);
        stage_rows(qs, base + (int64_t)t * 16 * 3 * d, 3 * d, 16, l - t * 16, lane, 32);
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qa[kHeadDim / 16];
#pragma unroll
        for (int k = 0; k < kHeadDim / 16; k++)
            wmma::load_matrix_sync(qa[k], qs + k * 16, kRow);
        __syncwarp();

        for (int j = 0; j < tiles; j += 2)
            score_tiles(tile, ls, ks, j, j + 1 < tiles ? 2 : 1, qa);
        __syncwarp();
        softmax_tile<T>(tile, ls, lp, l, scale, lane);

        /* O = P V */
        acc_frag o[kHeadDim / 16];
#pragma unroll
        for (int n = 0; n < kHeadDim / 16; n++)
            wmma::fill_fragment(o[n], 0.f);
        const T *p = reinterpret_cast<const T *>(tile);
        for (int j = 0; j < tiles; j++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> pa;
            wmma::load_matrix_sync(pa, p + j * 16, 2 * ls);
#pragma unroll
            for (int n = 0; n < kHeadDim / 16; n++) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> vb;
                wmma::load_matrix_sync(vb, vs + j * 16 * kRow + n * 16, kRow);
                wmma::mma_sync(o[n], pa, vb, o[n]);
            }
        }
        __syncwarp(); /* P is consumed: O may take the tile */
#pragma unroll
        for (int n = 0; n < kHeadDim / 16; n++)
            wmma::store_matrix_sync(tile + n * 16, o[n], kOutLd, wmma::mem_row_major);
        __syncwarp();
        write_out(tile, y + head * kHeadDim, item * l + t * 16, l - t * 16, d, lane);
        __syncwarp(); /* the next tile's Q staging overwrites O */
    }
}

} /* namespace */

extern "C" {

int cuk_attention_fits(cu_dtype t, int64_t l, int64_t dh)
{
    return t != CU_F32 && dh == kHeadDim && l >= 1 && l <= kMaxTokens;
}

int cuk_attention_setup(cu_dtype t, int64_t l)
{
    int bytes = (int)smem_bytes(padded_tokens(l), 2);
    cudaError_t e = t == CU_F16
                        ? cudaFuncSetAttribute(attention<__half>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)
                        : cudaFuncSetAttribute(attention<__nv_bfloat16>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return (int)e;
}

int cuk_attention(cu_dtype t, const void *qkv, void *y, int64_t n, int64_t l, int64_t h, float scale,
                  int blocks_per_head, cudaStream_t s)
{
    int lp = padded_tokens(l), most = (lp / 16 + kWarps - 1) / kWarps;
    dim3 grid((unsigned)(n * h), (unsigned)(blocks_per_head < 1 ? 1 : blocks_per_head > most ? most : blocks_per_head));
    size_t bytes = smem_bytes(lp, 2);
    if (t == CU_F16)
        attention<__half><<<grid, kWarps * 32, bytes, s>>>((const __half *)qkv, (__half *)y, (int)l, (int)h, lp,
                                                           scale);
    else if (t == CU_BF16)
        attention<__nv_bfloat16><<<grid, kWarps * 32, bytes, s>>>((const __nv_bfloat16 *)qkv, (__nv_bfloat16 *)y,
                                                                  (int)l, (int)h, lp, scale);
    else
        return (int)cudaErrorInvalidValue;
    return (int)cudaGetLastError();
}

} /* extern "C" */

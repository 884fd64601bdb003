/*
 * cpu_kernels.c — the ops oneDNN 2.6 has no single primitive for, on dense
 * row-major tensors:
 *   attention  : per (item, head) S = softmax(Q K^T / sqrt(dh)), O = S V,
 *                two sgemm calls on strided views of the fused qkv tensor,
 *                items x heads spread over the threads
 *   tokens     : patch grid [D, P] -> [1+P, D] with class token and
 *                position embedding added
 *   cls_select : token 0 of every item
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"

static float *buf_ptr(const bb_backend *b, int buf)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(b->bufs[buf].mem, &p);
    return p;
}

/* glibc's libmvec has vector versions of expf; declaring them lets the
 * `omp simd` loop below call the 16-wide AVX-512 one (or 8-wide AVX2) in the
 * matching clone of softmax_rows. Accuracy: within 4 ulp of expf. */
__attribute__((simd("notinbranch"))) float expf(float);

__attribute__((target_clones("avx512f", "avx2", "default")))
static void softmax_rows(float *s, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        float *x = s + r * cols, mx = x[0], sum = 0.f;
#pragma omp simd reduction(max : mx)
        for (int64_t c = 1; c < cols; c++)
            mx = x[c] > mx ? x[c] : mx;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < cols; c++) {
            x[c] = expf(x[c] - mx);
            sum += x[c];
        }
        float inv = 1.f / sum;
#pragma omp simd
        for (int64_t c = 0; c < cols; c++)
            x[c] *= inv;
    }
}

static void attention(const bb_backend *b, const cpu_step *s)
{
    const float *qkv = buf_ptr(b, s->kin);
    float *out = buf_ptr(b, s->kout);
    const int64_t n = s->p[0], l = s->p[1], d = s->p[2], h = s->p[3], dh = d / h;
    const float scale = 1.f / sqrtf((float)dh);
    float *scratch = b->scratch;
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (int64_t nh = 0; nh < n * h; nh++) {
        float *sc = scratch + (int64_t)omp_get_thread_num() * l * l;
        const float *q = qkv + (nh / h) * l * 3 * d + (nh % h) * dh;
        dnnl_sgemm('N', 'T', l, l, dh, scale, q, 3 * d, q + d, 3 * d, 0.f, sc, l);
        softmax_rows(sc, l, l);
        dnnl_sgemm('N', 'N', l, dh, l, 1.f, sc, l, q + 2 * d, 3 * d, 0.f,
                   out + (nh / h) * l * d + (nh % h) * dh, d);
    }
}

static void tokens(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin), *cls = s->kw, *pos = s->kb;
    float *y = buf_ptr(b, s->kout);
    const int64_t n = s->p[0], d = s->p[1], p = s->p[2], l = p + 1;
#pragma omp parallel for schedule(static) num_threads(b->threads)
    for (int64_t i = 0; i < n; i++) {
        float *yi = y + i * l * d;
        const float *xi = x + i * d * p;
        for (int64_t c = 0; c < d; c++)
            yi[c] = cls[c] + pos[c];
        for (int64_t t = 0; t < p; t++)
            for (int64_t c = 0; c < d; c++)
                yi[(t + 1) * d + c] = xi[c * p + t] + pos[(t + 1) * d + c];
    }
}

static void cls_select(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t n = s->p[0], l = s->p[1], d = s->p[2];
    for (int64_t i = 0; i < n; i++)
        memcpy(y + i * d, x + i * l * d, (size_t)d * sizeof(float));
}

void cpu_run_kernel(bb_backend *b, const cpu_step *s)
{
    switch (s->kernel) {
    case K_ATTENTION: attention(b, s); break;
    case K_TOKENS: tokens(b, s); break;
    case K_CLS_SELECT: cls_select(b, s); break;
    default: break;
    }
}

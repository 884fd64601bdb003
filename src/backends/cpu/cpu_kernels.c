/*
 * cpu_kernels.c — the ops oneDNN 2.6 has no single primitive for, on dense
 * row-major tensors:
 *   attention  : per (item, head) S = softmax(Q K^T / sqrt(dh)), O = S V,
 *                two sgemm calls on strided views of the fused qkv tensor,
 *                items x heads spread over the threads
 *   tokens     : patch grid [D, P] -> [1+P, D] with class token and
 *                position embedding added
 *   cls_select : token 0 of every item
 *   silu       : SiLU in place on a conv's output in NHWC or nChw8c/16c
 *   silu_gap   : the same, plus the mean over H x W per (item, channel):
 *                the SE block's pooling, in the pass that applies the SiLU
 *   gap        : that mean alone (every f32 global average pool on those
 *                layouts: more exact than oneDNN's pooling, see CPU_SUM_RUN)
 *
 * Why SiLU here and not as oneDNN's swish post-op: oneDNN 2.6 computes swish
 * with a full-precision exp and a division, about 30 cycles per 16 floats on
 * Zen 4 (ours: about 14). After a 1x1 expand conv (160 multiply-adds per
 * output) that is 16% of the conv, after a depthwise 3x3 (9 per output) two
 * thirds of it: EfficientNetV2-L's depthwise convs took 47 ms of a 1014 ms
 * pass at batch 8 against ONNX Runtime's 19. And oneDNN's Winograd convs take
 * no SiLU at all. For the SE block the SiLU rides on the pooling pass, which
 * reads the tensor anyway. cpu_ops.c decides which convs hand their SiLU over.
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

/* VECTOR_CLONES: cpu_internal.h */

VECTOR_CLONES
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

/* How a 4-D f32 activation is laid out, for the kernels that walk it in
 * channel groups: element (n, c, p) with p = h * W + w sits at
 *   nChwXc: n * s_n + (c / X) * s_cb + p * s_p + c % X   (inner = width = X)
 *   NHWC:   n * s_n + c + p * s_p                       (inner 1, s_cb 1) */
typedef struct {
    int64_t n, c, hw, s_n, s_cb, s_p, inner;
} act_walk;

static int act_walk_of(const dnnl_memory_desc_t *md, act_walk *w)
{
    const dnnl_blocking_desc_t *blk = &md->format_desc.blocking;
    if (md->ndims != 4 || md->data_type != dnnl_f32 || md->format_kind != dnnl_blocked)
        return 0;
    const int64_t *d = md->dims, *st = blk->strides;
    w->n = d[0], w->c = d[1], w->hw = d[2] * d[3], w->s_n = st[0], w->s_cb = st[1], w->s_p = st[3];
    if (blk->inner_nblks == 0 && st[1] == 1 && st[2] == d[3] * st[3]) {
        w->inner = 1; /* NHWC */
        return 1;
    }
    if (blk->inner_nblks == 1 && blk->inner_idxs[0] == 1 && st[3] == blk->inner_blks[0] && st[2] == d[3] * st[3]) {
        w->inner = blk->inner_blks[0]; /* nChwXc */
        return 1;
    }
    return 0;
}

int cpu_silu_layout_ok(const dnnl_memory_desc_t *md)
{
    act_walk w;
    return act_walk_of(md, &w);
}

/* exp(-x) for the SiLU: 2^t with t = -x log2(e) clamped to +-126, split
 * into round(t) (put in the exponent bits) and f in [-0.5, 0.5], 2^f by
 * Cephes' exp2f polynomial. Relative error under 1e-6 (most of it from
 * rounding t), and about 1.4x cheaper than glibc's vector expf, which
 * checks for every special case. */
static inline float silu_exp_neg(float x)
{
    float t = -x * 1.44269504088896341f;
    t = t < -126.f ? -126.f : t > 126.f ? 126.f : t;
    float n = __builtin_rintf(t), f = t - n;
    float p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Sums over H x W go CPU_SUM_RUN rows at a time in float, then into a
 * double total (cpu_internal.h says why). */

/* SiLU in place (silu 1) on `rows` rows of v floats, `stride` apart, adding
 * each result (each input, with silu 0) into acc[0..v). */
VECTOR_CLONES
static void silu_rows(float *x, int64_t rows, int64_t stride, int v, int silu, double *restrict acc)
{
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
#pragma omp simd
        for (int j = 0; j < v; j++) {
            float y = row[j];
            if (silu)
                row[j] = y = y / (1.f + silu_exp_neg(y));
            acc[j] += y;
        }
    }
}

/* The same for one nChwXc block plane (rows of X = 8 or 16, back to back):
 * a loop of constant width keeps the sums in registers (with X = 16, 2.3x
 * faster than silu_rows with v = 16; with X = 8, AVX2's layout, 1.25x). */
#define SILU_BLOCK(NAME, X, SILU)                                                     \
    VECTOR_CLONES                                                                     \
    static void NAME(float *x, int64_t rows, double *restrict acc)                    \
    {                                                                                 \
        for (int64_t r0 = 0; r0 < rows; r0 += CPU_SUM_RUN) {                          \
            int64_t r1 = rows - r0 < CPU_SUM_RUN ? rows : r0 + CPU_SUM_RUN;           \
            float a[X] = {0};                                                         \
            for (int64_t r = r0; r < r1; r++) {                                       \
                _Pragma("omp simd")                                                   \
                for (int j = 0; j < X; j++) {                                         \
                    float y = x[r * X + j];                                           \
                    if (SILU)                                                         \
                        x[r * X + j] = y = y / (1.f + silu_exp_neg(y));               \
                    a[j] += y;                                                        \
                }                                                                     \
            }                                                                         \
            for (int j = 0; j < X; j++)                                               \
                acc[j] += a[j];                                                       \
        }                                                                             \
    }
SILU_BLOCK(silu_block8, 8, 1)
SILU_BLOCK(silu_block16, 16, 1)
SILU_BLOCK(sum_block8, 8, 0)
SILU_BLOCK(sum_block16, 16, 0)

#define SILU_CHUNK 1024 /* NHWC channels per pass over the rows (sums on the stack) */

/* Channels [c0, c0 + v) of item n: SiLU in place (silu 1), and their means. */
static void silu_channels(const act_walk *w, float *x, float *mean, int64_t n, int64_t c0, int64_t v, int silu)
{
    for (int64_t c = c0; c < c0 + v; c += SILU_CHUNK) {
        int k = (int)(c0 + v - c < SILU_CHUNK ? c0 + v - c : SILU_CHUNK);
        double acc[SILU_CHUNK];
        memset(acc, 0, sizeof(double) * (size_t)k); /* not all 8 KB: a 16-channel group uses 128 bytes */
        float *base = x + n * w->s_n + (w->inner == 1 ? c : c / w->inner * w->s_cb);
        if (w->inner == 16)
            (silu ? silu_block16 : sum_block16)(base, w->hw, acc);
        else if (w->inner == 8)
            (silu ? silu_block8 : sum_block8)(base, w->hw, acc);
        else
            silu_rows(base, w->hw, w->s_p, k, silu, acc);
        if (mean)
            for (int j = 0; j < k; j++)
                mean[n * w->c + c + j] = (float)(acc[j] / (double)w->hw);
    }
}

void cpu_silu_apply(int threads, const dnnl_memory_desc_t *md, float *x, float *mean, int silu)
{
    act_walk w;
    act_walk_of(md, &w); /* the caller checked cpu_silu_layout_ok */
    int64_t width = w.inner;
    if (w.inner == 1) { /* NHWC: whole items, split by channels only if too few */
        int64_t parts = (threads + w.n - 1) / w.n;
        width = ((w.c + parts - 1) / parts + 15) / 16 * 16;
    }
    const int64_t groups = (w.c + width - 1) / width;
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads)
    for (int64_t n = 0; n < w.n; n++)
        for (int64_t gi = 0; gi < groups; gi++) {
            int64_t c0 = gi * width;
            silu_channels(&w, x, mean, n, c0, w.c - c0 < width ? w.c - c0 : width, silu);
        }
}

/* silu, silu_gap and gap steps: kin is the tensor (changed in place by the
 * SiLU); kout, when it is not kin, receives the [N, C] means. */
static void silu_pass(const bb_backend *b, const cpu_step *s)
{
    cpu_silu_apply(b->threads, &b->bufs[s->kin].md, buf_ptr(b, s->kin),
                   s->kout != s->kin ? buf_ptr(b, s->kout) : NULL, s->kernel != K_GAP);
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
    case K_SILU:
    case K_SILU_GAP:
    case K_GAP: silu_pass(b, s); break;
    case K_WALK:
    case K_WALK_TILED:
    case K_COPY:
    case K_UNARY:
    case K_REDUCE:
    case K_LNORM:
    case K_GNORM:
    case K_GNORM_LANES:
    case K_SOFTMAX:
    case K_TAPS: cpu_run_generic_kernel(b, s); break;
    case K_GEMV: cpu_run_gemv(b, s, buf_ptr(b, s->kin), buf_ptr(b, s->kout)); break;
    case K_RNN: cpu_run_rnn(b, s, buf_ptr(b, s->kin), buf_ptr(b, s->kout), b->scratch); break;
    default: break;
    }
}

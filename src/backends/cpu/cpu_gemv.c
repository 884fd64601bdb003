/*
 * cpu_gemv.c — a linear layer of a few rows ([M, K] x [K, O], M <= 4: a
 * recurrent step at batch 1, a classifier at batch 1) as our own kernel.
 *
 * Why it exists: such a product is bound by reading its weights, and
 * oneDNN 2.6's matmul and 1x1 conv read them slowly: a chain of
 * [1, 256] x [256, 1024] products (1 MB of weights each, an LSTM's step)
 * took 49 us per product, 21 GB/s, where ONNX Runtime took 8 us. Here the
 * weights are packed once per backend, at prepare, into panels of
 * GEMV_PANEL columns whose K rows are contiguous (cpu_pack_own: shared
 * by every step that reads them); each thread streams whole panels into
 * accumulators held in registers (the panel read again, from cache, for
 * each further row). Bias and a residual
 * sum (the layer's output buffer already holding it) are added at the end;
 * a layer with a fused activation keeps oneDNN's way.
 */

#include "backends/cpu/cpu_internal.h"

#define GEMV_MAX_M 4
#define GEMV_PANEL 64
#define GEMV_PARALLEL_MIN 32768 /* weights below which one thread does it all */

int cpu_gemv_fits(const bb_backend *b, const bb_op *op, int64_t m)
{
    return b->dt == dnnl_f32 && m >= 1 && m <= GEMV_MAX_M && b->algo_policy >= 0 && op->post_act == BB_ACT_NONE &&
           op->sum_act == BB_ACT_NONE;
}

/* w [O, K] row-major into panels: p[q][k][j] = w[q * PANEL + j][k], zeros past O. */
static void pack_panels(const float *w, int64_t k, int64_t o, float *p)
{
    for (int64_t c = 0; c < o; c++)
        for (int64_t r = 0; r < k; r++)
            p[(c / GEMV_PANEL * k + r) * GEMV_PANEL + c % GEMV_PANEL] = w[c * k + r];
}

/* The panels of weight w ([O, K]), packed once per backend: the steps of an
 * unrolled recurrence all read R^T. NULL with err set. */
static const float *panels_of(bb_backend *b, const float *w, int64_t k, int64_t o, bb_err *err)
{
    dnnl_memory_desc_t user, want;
    dnnl_dims_t size = {(o + GEMV_PANEL - 1) / GEMV_PANEL * k * GEMV_PANEL};
    cpu_md_2d(&user, o, k, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&want, 1, size, dnnl_f32, dnnl_x);
    return cpu_pack_own(b, w, &user, &want, pack_panels, k, o, err);
}

int cpu_lower_gemv(bb_backend *b, const bb_op *op, int src, int64_t m, int64_t k, int64_t o, bb_err *err)
{
    const bb_graph *g = b->g;
    const float *panels = panels_of(b, g->tensors[op->w].data, k, o, err);
    if (!panels)
        return -1;
    dnnl_memory_desc_t d_md;
    cpu_md_2d(&d_md, m, o, dnnl_f32);
    cpu_step *s = cpu_add_kernel_step(b, op, K_GEMV, src, cpu_dst_buf(b, op, &d_md));
    s->panels = panels;
    s->kb = op->b >= 0 ? g->tensors[op->b].data : NULL;
    s->p[0] = m, s->p[1] = k, s->p[2] = o, s->p[3] = op->sum_in >= 0;
    return 0;
}

/* 16 floats, read where they are (no alignment assumed). */
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* One row: out[0..PANEL) = x[0..k) @ the panel's k rows. Eight
 * accumulators in registers (two rows of the panel at a time) keep the
 * multiply-adds from waiting on each other. */
VECTOR_CLONES static void panel_row(const float *restrict x, int64_t k, const float *restrict w, float *out)
{
    v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
    int64_t r = 0;
    for (; r + 1 < k; r += 2) {
        const v16 *p = (const v16 *)(w + r * GEMV_PANEL);
        const v16 xa = (v16){0} + x[r], xb = (v16){0} + x[r + 1];
        a0 += xa * p[0], a1 += xa * p[1], a2 += xa * p[2], a3 += xa * p[3];
        b0 += xb * p[4], b1 += xb * p[5], b2 += xb * p[6], b3 += xb * p[7];
    }
    if (r < k) {
        const v16 *p = (const v16 *)(w + r * GEMV_PANEL);
        const v16 xa = (v16){0} + x[r];
        a0 += xa * p[0], a1 += xa * p[1], a2 += xa * p[2], a3 += xa * p[3];
    }
    v16 *o = (v16 *)out;
    o[0] = a0 + b0, o[1] = a1 + b1, o[2] = a2 + b2, o[3] = a3 + b3;
}

/* Columns [c0, c0 + width) of y's m rows from the panel w. */
static void panel(const float *x, int64_t m, int64_t k, const float *w, const float *bias, int sum, float *y,
                  int64_t o, int64_t c0, int64_t width)
{
    float acc[GEMV_PANEL];
    for (int64_t i = 0; i < m; i++) {
        panel_row(x + i * k, k, w, acc);
        float *yr = y + i * o + c0;
        for (int64_t j = 0; j < width; j++)
            yr[j] = acc[j] + (bias ? bias[c0 + j] : 0.0f) + (sum ? yr[j] : 0.0f);
    }
}

void cpu_run_gemv(const bb_backend *b, const cpu_step *s, const float *x, float *y)
{
    const int64_t m = s->p[0], k = s->p[1], o = s->p[2], panels = (o + GEMV_PANEL - 1) / GEMV_PANEL;
    const int sum = (int)s->p[3];
#pragma omp parallel for schedule(static) num_threads(b->threads) if (k * o >= GEMV_PARALLEL_MIN)
    for (int64_t p = 0; p < panels; p++) {
        const int64_t c0 = p * GEMV_PANEL, width = o - c0 < GEMV_PANEL ? o - c0 : GEMV_PANEL;
        panel(x, m, k, s->panels + p * k * GEMV_PANEL, s->kb, sum, y, o, c0, width);
    }
}

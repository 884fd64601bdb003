/*
 * cpu_generic_kernels.c — the hand-written kernels of the generic ops
 * (cpu_generic.c), for what oneDNN 2.6 has no fast primitive for:
 *   walk  : one pass over a dense row-major output whose sources are read
 *           through arbitrary strides (0 for a broadcast axis, a multiple
 *           for a strided slice): a broadcast copy (expand, slices with
 *           steps), a binary op with NumPy broadcasting where oneDNN's
 *           binary would need the first source broadcast (its only code
 *           for that is the reference one) or has no such op (pow), and a
 *           constant pad
 *   copy  : a reshape that cannot share its input's bytes
 *   erf   : oneDNN has no erf eltwise
 *   reduce: the mean over a run of consecutive axes of a dense tensor,
 *           viewed as [A, R, B] -> [A, B]: oneDNN 2.6 has only reference
 *           code for most of these (ResNeSt's sum over the radix axis of
 *           [N, 2, C, H, W]: 60-125 ms a step at batch 8)
 *   lnorm : a layer norm over long rows (an InstanceNormalization or a
 *           GroupNorm of one group, over C*H*W: timm's PoolFormer), where
 *           oneDNN 2.6's simple_layer_normalization gives each row to one
 *           thread: at batch 1 one thread did it all
 *   gnorm : a group norm (GroupNorm, timm's PoolFormer and BiT) with its
 *           per-channel scale and shift and an optional ReLU, in one pass
 *           after the statistics, in the input's layout: plain, or nChw16c
 *           (a pool or conv after it then reads the blocked layout it is
 *           fast on) when each group is whole blocks or a block whole groups
 *   softmax: over an axis that is not the last, viewed as [A, S, B]: oneDNN
 *           2.6 has only reference code for it (CoaT's factorised attention
 *           takes the keys' softmax over the tokens: 61 of 358 ms at
 *           batch 8); columns of B in blocks, each block's maxima and sums
 *           in small arrays
 * Rows (the last axis) are split evenly over the threads; each thread walks
 * its rows with an odometer, so no division per element.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"

#define PARALLEL_MIN 16384 /* elements below which one thread does it all */

static void *buf_ptr(const bb_backend *b, int buf)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(b->bufs[buf].mem, &p);
    return p;
}

static void gather_row(const float *x, int64_t st, float *y, int64_t n)
{
    if (st == 1) {
        memcpy(y, x, (size_t)n * sizeof(float));
    } else if (st == 0) {
        for (int64_t j = 0; j < n; j++)
            y[j] = x[0];
    } else {
        for (int64_t j = 0; j < n; j++)
            y[j] = x[j * st];
    }
}

/* y[j] = a[j*sa] op c[j*sc]: vectorised where both are dense or one is a
 * single value broadcast along the row (a per-channel scale). */
#define BINARY_ROW(expr)                                   \
    do {                                                   \
        if (sa == 1 && sc == 1) {                          \
            _Pragma("omp simd")                            \
            for (int64_t j = 0; j < n; j++) {              \
                float u = a[j], v = c[j];                  \
                y[j] = (expr);                             \
            }                                              \
        } else if (sa == 1 && sc == 0) {                   \
            const float v = c[0];                          \
            _Pragma("omp simd")                            \
            for (int64_t j = 0; j < n; j++) {              \
                float u = a[j];                            \
                y[j] = (expr);                             \
            }                                              \
        } else if (sa == 0 && sc == 1) {                   \
            const float u = a[0];                          \
            _Pragma("omp simd")                            \
            for (int64_t j = 0; j < n; j++) {              \
                float v = c[j];                            \
                y[j] = (expr);                             \
            }                                              \
        } else {                                           \
            for (int64_t j = 0; j < n; j++) {              \
                float u = a[j * sa], v = c[j * sc];        \
                y[j] = (expr);                             \
            }                                              \
        }                                                  \
    } while (0)

static void binary_row(bb_binop op, const float *a, int64_t sa, const float *c, int64_t sc, float *y, int64_t n)
{
    switch (op) {
    case BB_BIN_ADD: BINARY_ROW(u + v); break;
    case BB_BIN_SUB: BINARY_ROW(u - v); break;
    case BB_BIN_MUL: BINARY_ROW(u * v); break;
    case BB_BIN_DIV: BINARY_ROW(u / v); break;
    case BB_BIN_POW: BINARY_ROW(powf(u, v)); break;
    case BB_BIN_MAX: BINARY_ROW(u > v || isnan(u) ? u : v); break;
    case BB_BIN_MIN: BINARY_ROW(u < v || isnan(u) ? u : v); break;
    case BB_BIN_PRELU: BINARY_ROW(u < 0.f ? u * v : u); break;
    }
}

/* One row of a pad: value outside [lo, hi) of the last axis, else x[j*st]
 * (x already at the row's source for index 0, possibly outside its tensor:
 * only read inside the bounds). */
static void pad_row(const bb_walk *w, const float *src, int64_t base, float *y)
{
    const int last = w->nd - 1;
    const int64_t n = w->dims[last], lo = w->lo[last], hi = w->hi[last], st = w->st[0][last];
    for (int64_t j = 0; j < lo && j < n; j++)
        y[j] = w->value;
    for (int64_t j = lo; j < hi; j++)
        y[j] = src[base + j * st];
    for (int64_t j = hi > lo ? hi : lo; j < n; j++)
        y[j] = w->value;
}

/* One row of a reflect or edge pad: inside [lo, hi) as pad_row, the
 * border from the indices bb_walk_pad_index gives. */
static void pad_row_mirrored(const bb_walk *w, const float *src, int64_t base, float *y)
{
    const int last = w->nd - 1;
    const int64_t n = w->dims[last], lo = w->lo[last], hi = w->hi[last], st = w->st[0][last];
    for (int64_t j = 0; j < lo; j++)
        y[j] = src[base + bb_walk_pad_index(w, last, j) * st];
    for (int64_t j = lo; j < hi; j++)
        y[j] = src[base + j * st];
    for (int64_t j = hi; j < n; j++)
        y[j] = src[base + bb_walk_pad_index(w, last, j) * st];
}

static int row_inside(const bb_walk *w, const int64_t *idx)
{
    for (int i = 0; i < w->nd - 1; i++)
        if (idx[i] < w->lo[i] || idx[i] >= w->hi[i])
            return 0;
    return 1;
}

/* The index the row reads on outer axis i: a reflect or edge pad's
 * border rows copy rows inside. */
static int64_t row_index(const bb_walk *w, int i, const int64_t *idx)
{
    if (w->mode != BB_WALK_PAD || w->pad_mode == BB_PAD_CONSTANT || (idx[i] >= w->lo[i] && idx[i] < w->hi[i]))
        return idx[i];
    return bb_walk_pad_index(w, i, idx[i]);
}

static void walk_one_row(const bb_walk *w, const float *const *src, const int64_t *idx, float *y)
{
    const int last = w->nd - 1;
    const int64_t n = w->dims[last];
    int64_t o[2] = {w->off[0], w->off[1]};
    for (int k = 0; k < w->n_src; k++)
        for (int i = 0; i < last; i++)
            o[k] += row_index(w, i, idx) * w->st[k][i];
    if (w->mode == BB_WALK_GATHER) {
        gather_row(src[0] + o[0], w->st[0][last], y, n);
    } else if (w->mode == BB_WALK_BINARY) {
        binary_row(w->binop, src[0] + o[0], w->st[0][last], src[1] + o[1], w->st[1][last], y, n);
    } else if (w->pad_mode != BB_PAD_CONSTANT) {
        pad_row_mirrored(w, src[0], o[0], y);
    } else if (row_inside(w, idx)) {
        pad_row(w, src[0], o[0], y);
    } else {
        for (int64_t j = 0; j < n; j++)
            y[j] = w->value;
    }
}

/* Rows [r0, r1) of the output. */
static void walk_rows(const bb_walk *w, const float *const *src, float *y, int64_t r0, int64_t r1)
{
    const int last = w->nd - 1;
    int64_t idx[BB_WALK_DIMS] = {0};
    for (int64_t r = r0, i = last - 1; i >= 0; i--) {
        idx[i] = r % w->dims[i];
        r /= w->dims[i];
    }
    for (int64_t r = r0; r < r1; r++) {
        walk_one_row(w, src, idx, y + r * w->dims[last]);
        for (int i = last - 1; i >= 0 && ++idx[i] == w->dims[i]; i--)
            idx[i] = 0;
    }
}

static void run_walk(const bb_backend *b, const cpu_step *s)
{
    const cpu_walk *cw = s->walk;
    const bb_walk *w = &cw->w;
    const float *src[2] = {NULL, NULL};
    for (int k = 0; k < w->n_src; k++)
        src[k] = cw->src[k] >= 0 ? buf_ptr(b, cw->src[k]) : cw->cdata[k];
    float *y = buf_ptr(b, s->kout);
    int64_t rows = 1;
    for (int i = 0; i < w->nd - 1; i++)
        rows *= w->dims[i];
    const int64_t total = rows * w->dims[w->nd - 1];
#pragma omp parallel num_threads(b->threads) if (total >= PARALLEL_MIN)
    {
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        walk_rows(w, src, y, rows * t / nt, rows * (t + 1) / nt);
    }
}

/* A gather walk whose source holds, for each position of the output's
 * next-to-last axis (a row's pixel w), a short run of values that other
 * output axes ("channel" axes: source strides below w's) spread over
 * distant output rows: an interleave reading a channels-last conv output
 * (ConvTranspose's sub-pixel phases, DepthToSpace). Row by row, each
 * output row would read 1 or 2 values of every source line it touches.
 * Here each task takes the outer axes' index and a tile of pixels whose
 * source lines (the tile x the channel run) stay in L2, at most TILE_SRC
 * floats, while every channel index writes its tile x last-axis stretch
 * of output. Measured on an ERFNet-like decoder's last layer (80 channels
 * of 256x256 into 20 of 512x512, 2 threads): 32 pixels a tile 3.0 ms, 64
 * 2.9, 128 2.4-2.5, 256 (the whole row) 2.4; oneDNN's reorder to dense
 * and its transpose after it took 2.5 + 1.8. */
enum { TILE_SRC = 65536 };

static void run_walk_tiled(const bb_backend *b, const cpu_step *s)
{
    const bb_walk *w = &s->walk->w;
    const float *x = (const float *)buf_ptr(b, s->walk->src[0]) + w->off[0];
    float *y = buf_ptr(b, s->kout);
    const int nd = w->nd, wa = nd - 2;
    const int64_t *st = w->st[0], nw = w->dims[wa], nq = w->dims[nd - 1], sw = st[wa], sq = st[nd - 1];
    int64_t ds[BB_WALK_DIMS], n_outer = 1, n_chan = 1;
    int outer[BB_WALK_DIMS], chan[BB_WALK_DIMS], no = 0, nc = 0;
    ds[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--)
        ds[i] = ds[i + 1] * w->dims[i + 1];
    for (int i = 0; i < wa; i++) {
        if (st[i] < sw)
            chan[nc++] = i, n_chan *= w->dims[i];
        else
            outer[no++] = i, n_outer *= w->dims[i];
    }
    const int64_t tile_w = sw > 0 && TILE_SRC / sw >= 16 ? TILE_SRC / sw : 16;
    const int64_t tiles = (nw + tile_w - 1) / tile_w;
#pragma omp parallel for schedule(static) num_threads(b->threads) if (n_outer * n_chan * nw * nq >= PARALLEL_MIN)
    for (int64_t t = 0; t < n_outer * tiles; t++) {
        int64_t o = t / tiles, w0 = t % tiles * tile_w, xo = w0 * sw, yo = w0 * nq;
        const int64_t wn = nw - w0 < tile_w ? nw - w0 : tile_w;
        for (int k = no - 1; k >= 0; k--) {
            const int64_t i = o % w->dims[outer[k]];
            o /= w->dims[outer[k]];
            xo += i * st[outer[k]], yo += i * ds[outer[k]];
        }
        int64_t ci[BB_WALK_DIMS] = {0}, xc = xo, yc = yo;
        for (int64_t c = 0; c < n_chan; c++) {
            const float *xs = x + xc;
            float *yd = y + yc;
            for (int64_t j = 0; j < wn; j++)
                for (int64_t q = 0; q < nq; q++)
                    yd[j * nq + q] = xs[j * sw + q * sq];
            for (int k = nc - 1; k >= 0; k--) { /* the next channel index, as an odometer */
                const int a = chan[k];
                xc += st[a], yc += ds[a];
                if (++ci[k] < w->dims[a])
                    break;
                xc -= st[a] * w->dims[a], yc -= ds[a] * w->dims[a], ci[k] = 0;
            }
        }
    }
}

/* One output row of a resize: nt taps down (ty) and across (col), inlined
 * with nt a constant and the taps written out (GCC at -O2 left a loop over
 * them rolled, and the bicubic resize ran at half the speed). */
#define TAP(t, p, k) ((t)->w[k] * (p)[(t)->at[k]])
static inline __attribute__((always_inline)) float taps_across(const float *p, const bb_resize_tap *t, const int nt)
{
    float v = TAP(t, p, 0);
    if (nt > 1)
        v += TAP(t, p, 1);
    if (nt > 2)
        v += TAP(t, p, 2), v += TAP(t, p, 3);
    return v;
}

static inline __attribute__((always_inline)) void taps_row(const float *plane, int64_t w, const bb_resize_tap *ty,
                                                           const bb_resize_tap *col, int64_t ow, float *out,
                                                           const int nt)
{
    const float *r0 = plane + ty->at[0] * w, *r1 = plane + ty->at[1] * w, *r2 = plane + ty->at[2] * w,
                *r3 = plane + ty->at[3] * w;
    for (int64_t j = 0; j < ow; j++) {
        const bb_resize_tap *tx = &col[j];
        float acc = ty->w[0] * taps_across(r0, tx, nt);
        if (nt > 1)
            acc += ty->w[1] * taps_across(r1, tx, nt);
        if (nt > 2)
            acc += ty->w[2] * taps_across(r2, tx, nt), acc += ty->w[3] * taps_across(r3, tx, nt);
        out[j] = acc;
    }
}
#undef TAP

/* Resize of p[0] planes of p[1] x p[2] into p[3] x p[4], each output row a
 * task, through the taps computed at lowering (engine/resize.c; p[5] of
 * them per row and column: 1 nearest, 2 linear, 4 cubic). */
static void run_taps(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t planes = s->p[0], h = s->p[1], w = s->p[2], oh = s->p[3], ow = s->p[4], nt = s->p[5];
    const bb_resize_tap *col = s->taps, *rows = s->taps + ow;
#pragma omp parallel for schedule(static) num_threads(b->threads) if (planes * oh * ow >= PARALLEL_MIN)
    for (int64_t r = 0; r < planes * oh; r++) {
        const float *plane = x + r / oh * h * w;
        const bb_resize_tap *ty = &rows[r % oh];
        if (nt == 1)
            taps_row(plane, w, ty, col, ow, y + r * ow, 1);
        else if (nt == 2)
            taps_row(plane, w, ty, col, ow, y + r * ow, 2);
        else
            taps_row(plane, w, ty, col, ow, y + r * ow, BB_RESIZE_TAPS);
    }
}

static void run_copy(const bb_backend *b, const cpu_step *s)
{
    const char *x = buf_ptr(b, s->kin);
    char *y = buf_ptr(b, s->kout);
    const int64_t bytes = s->p[0];
#pragma omp parallel num_threads(b->threads) if (bytes >= 4 * PARALLEL_MIN)
    {
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        const int64_t a = bytes * t / nt, e = bytes * (t + 1) / nt;
        memcpy(y + a, x + a, (size_t)(e - a));
    }
}

/* 1 / (1 + e^-x), e^-x as libmvec's vector expf (cpu_internal.h). */
VECTOR_CLONES static void sigmoid_run(const float *x, float *y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] = 1.f / (1.f + expf(-x[i]));
}

VECTOR_CLONES static void tanh_run(const float *x, float *y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

/* The activations oneDNN 2.6 has no eltwise for, and small sigmoids and
 * tanhs (cpu_generic_math.c). */
static void run_unary(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t n = s->p[0];
    const float alpha = s->kalpha;
    switch ((bb_act)s->p[1]) {
    case BB_ACT_SOFTSIGN:
#pragma omp parallel for simd schedule(static) num_threads(b->threads) if (n >= PARALLEL_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] / (1.f + fabsf(x[i]));
        break;
    case BB_ACT_THRESHOLDED_RELU:
#pragma omp parallel for simd schedule(static) num_threads(b->threads) if (n >= PARALLEL_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > alpha ? x[i] : 0.f;
        break;
    case BB_ACT_SIGMOID:
        sigmoid_run(x, y, n);
        break;
    case BB_ACT_TANH:
        tanh_run(x, y, n);
        break;
    default: /* erf */
#pragma omp parallel for schedule(static) num_threads(b->threads) if (n >= PARALLEL_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = erff(x[i]);
        break;
    }
}

/* Sums go CPU_SUM_RUN terms at a time in float, then into double. */
#define REDUCE_BLOCK 1024 /* columns of B per task */

/* The sum of x (squares 0) or of (x - mean)^2 (squares 1) over n floats. */
VECTOR_CLONES
static double run_sum(const float *x, int64_t n, float mean, int squares)
{
    double total = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += CPU_SUM_RUN) {
        int64_t i1 = n - i0 < CPU_SUM_RUN ? n : i0 + CPU_SUM_RUN;
        float part = 0.f;
        if (squares) {
#pragma omp simd reduction(+ : part)
            for (int64_t i = i0; i < i1; i++)
                part += (x[i] - mean) * (x[i] - mean);
        } else {
#pragma omp simd reduction(+ : part)
            for (int64_t i = i0; i < i1; i++)
                part += x[i];
        }
        total += part;
    }
    return total;
}

static double sum_run(const float *x, int64_t n)
{
    return run_sum(x, n, 0.f, 0);
}

/* Columns [b0, b0 + nb) of y[a] = the sum over r of x[a, r, b] times
 * scale (1 / r_n for the mean, 1 for the sum). */
static void reduce_block(const float *x, float *y, int64_t r_n, int64_t b_n, int64_t b0, int64_t nb, double scale)
{
    if (r_n <= CPU_SUM_RUN) { /* one run: its float sum straight into y */
        float *out = y + b0;
        memcpy(out, x + b0, sizeof(float) * (size_t)nb);
        for (int64_t r = 1; r < r_n; r++) {
            const float *row = x + r * b_n + b0;
#pragma omp simd
            for (int64_t j = 0; j < nb; j++)
                out[j] += row[j];
        }
        if (scale != 1.0) {
#pragma omp simd
            for (int64_t j = 0; j < nb; j++)
                out[j] = (float)((double)out[j] * scale);
        }
        return;
    }
    double acc[REDUCE_BLOCK] = {0};
    float part[REDUCE_BLOCK];
    for (int64_t r0 = 0; r0 < r_n; r0 += CPU_SUM_RUN) {
        int64_t r1 = r_n - r0 < CPU_SUM_RUN ? r_n : r0 + CPU_SUM_RUN;
        memcpy(part, x + r0 * b_n + b0, sizeof(float) * (size_t)nb);
        for (int64_t r = r0 + 1; r < r1; r++) {
            const float *row = x + r * b_n + b0;
#pragma omp simd
            for (int64_t j = 0; j < nb; j++)
                part[j] += row[j];
        }
        for (int64_t j = 0; j < nb; j++)
            acc[j] += part[j];
    }
    for (int64_t j = 0; j < nb; j++)
        y[b0 + j] = (float)(acc[j] * scale);
}

static void run_reduce(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t a_n = s->p[0], r_n = s->p[1], b_n = s->p[2];
    const double scale = s->p[3] ? 1.0 : 1.0 / (double)r_n; /* a sum, or the mean */
    if (b_n == 1) {
#pragma omp parallel for schedule(static) num_threads(b->threads) if (a_n * r_n >= PARALLEL_MIN)
        for (int64_t a = 0; a < a_n; a++)
            y[a] = (float)(sum_run(x + a * r_n, r_n) * scale);
        return;
    }
    const int64_t blocks = (b_n + REDUCE_BLOCK - 1) / REDUCE_BLOCK;
#pragma omp parallel for collapse(2) schedule(static) num_threads(b->threads) if (a_n * r_n * b_n >= PARALLEL_MIN)
    for (int64_t a = 0; a < a_n; a++)
        for (int64_t k = 0; k < blocks; k++) {
            int64_t b0 = k * REDUCE_BLOCK;
            reduce_block(x + a * r_n * b_n, y + a * b_n, r_n, b_n, b0, b_n - b0 < REDUCE_BLOCK ? b_n - b0 : REDUCE_BLOCK,
                         scale);
        }
}

VECTOR_CLONES
static void lnorm_apply(const float *x, float *y, const float *w, const float *bias, int64_t n, float mean,
                        float rstd)
{
#pragma omp simd
    for (int64_t j = 0; j < n; j++)
        y[j] = (x[j] - mean) * rstd * w[j] + bias[j];
}

/* The mean and inverse standard deviation of one row of d floats, its
 * columns split over the team: the mean, then the deviations from it (two
 * passes, sums in double). part: 2 x nt shared doubles. */
static void row_stats_team(const float *x, int64_t d, float eps, double *part, int nt, int t, float *mean,
                           float *rstd)
{
    const int64_t a = d * t / nt, e = d * (t + 1) / nt;
    part[t] = sum_run(x + a, e - a);
#pragma omp barrier
    double total = 0.0;
    for (int k = 0; k < nt; k++)
        total += part[k];
    *mean = (float)(total / (double)d);
    part[nt + t] = run_sum(x + a, e - a, *mean, 1);
#pragma omp barrier
    double dev = 0.0;
    for (int k = 0; k < nt; k++)
        dev += part[nt + k];
    *rstd = (float)(1.0 / sqrt(dev / (double)d + (double)eps));
}

/* The same by one thread. */
static void row_stats(const float *x, int64_t d, float eps, float *mean, float *rstd)
{
    *mean = (float)(sum_run(x, d) / (double)d);
    *rstd = (float)(1.0 / sqrt(run_sum(x, d, *mean, 1) / (double)d + (double)eps));
}

/* One row of d floats normalised by the team, each thread its own columns. */
static void lnorm_row_team(const float *x, float *y, const float *w, const float *bias, int64_t d, float eps,
                           double *part, int nt, int t)
{
    float mean, rstd;
    row_stats_team(x, d, eps, part, nt, t, &mean, &rstd);
    const int64_t a = d * t / nt, e = d * (t + 1) / nt;
    lnorm_apply(x + a, y + a, w + a, bias + a, e - a, mean, rstd);
#pragma omp barrier /* part is reused by the next row */
}

#define LNORM_TEAM_MAX 64

static void run_lnorm(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t m = s->p[0], d = s->p[1];
    const int nt = b->threads < LNORM_TEAM_MAX ? b->threads : LNORM_TEAM_MAX;
    double part[2 * LNORM_TEAM_MAX];
#pragma omp parallel num_threads(nt)
    {
        const int n = omp_get_num_threads(), t = omp_get_thread_num();
        for (int64_t r = 0; r < m; r++)
            lnorm_row_team(x + r * d, y + r * d, s->kw, s->kb, d, s->keps, part, n, t);
    }
}

/* ---- group norm ----------------------------------------------------------------
 * A group's values are one contiguous run of `pixels` pixels of `lanes`
 * floats: plain [N, C, S], a pixel one float, a channel every S pixels;
 * nChw16c (8c) with groups of whole blocks, a pixel one block's 16 (8)
 * channels at one position, a block every S pixels. Each run of S pixels
 * gets its channels' scale and shift, folded with the group's statistics. */

VECTOR_CLONES
static void gnorm_plane(const float *x, float *y, int64_t n, float a, float d, int relu)
{
    if (relu) {
#pragma omp simd
        for (int64_t j = 0; j < n; j++)
            y[j] = x[j] * a + d > 0.f ? x[j] * a + d : 0.f;
    } else {
#pragma omp simd
        for (int64_t j = 0; j < n; j++)
            y[j] = x[j] * a + d;
    }
}

VECTOR_CLONES
static void gnorm_pixels(const float *x, float *y, int64_t n, int64_t lanes, const float *a, const float *d, int relu)
{
    for (int64_t q = 0; q < n; q++, x += lanes, y += lanes) {
        if (relu) {
#pragma omp simd
            for (int64_t l = 0; l < lanes; l++)
                y[l] = x[l] * a[l] + d[l] > 0.f ? x[l] * a[l] + d[l] : 0.f;
        } else {
#pragma omp simd
            for (int64_t l = 0; l < lanes; l++)
                y[l] = x[l] * a[l] + d[l];
        }
    }
}

/* Pixels [pa, pe) of one group's run; w, bias: the group's channels. */
static void gnorm_apply(const float *x, float *y, const float *w, const float *bias, int64_t pa, int64_t pe,
                        int64_t plane, int64_t lanes, float mean, float rstd, int relu)
{
    float a[16], d[16];
    for (int64_t p = pa; p < pe;) {
        const int64_t seg = p / plane, end = (seg + 1) * plane < pe ? (seg + 1) * plane : pe;
        for (int64_t l = 0; l < lanes; l++) {
            a[l] = rstd * w[seg * lanes + l];
            d[l] = bias[seg * lanes + l] - mean * a[l];
        }
        if (lanes == 1)
            gnorm_plane(x + p, y + p, end - p, a[0], d[0], relu);
        else
            gnorm_pixels(x + p * lanes, y + p * lanes, end - p, lanes, a, d, relu);
        p = end;
    }
}

/* p: runs (items x groups), pixels per run, pixels per plane, lanes,
 * groups, ReLU. Runs go to threads whole when there are enough of them,
 * else each run is shared by the team (PoolFormer's one group at batch 1). */
static void run_gnorm(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t runs = s->p[0], pixels = s->p[1], plane = s->p[2], lanes = s->p[3], groups = s->p[4];
    const int64_t len = pixels * lanes, cg = pixels / plane * lanes;
    const int relu = (int)s->p[5];
    if (runs >= b->threads) {
#pragma omp parallel for schedule(static) num_threads(b->threads) if (runs * len >= PARALLEL_MIN)
        for (int64_t r = 0; r < runs; r++) {
            float mean, rstd;
            row_stats(x + r * len, len, s->keps, &mean, &rstd);
            const int64_t c0 = r % groups * cg;
            gnorm_apply(x + r * len, y + r * len, s->kw + c0, s->kb + c0, 0, pixels, plane, lanes, mean, rstd, relu);
        }
        return;
    }
    const int nt = b->threads < LNORM_TEAM_MAX ? b->threads : LNORM_TEAM_MAX;
    double part[2 * LNORM_TEAM_MAX];
#pragma omp parallel num_threads(nt)
    {
        const int n = omp_get_num_threads(), t = omp_get_thread_num();
        for (int64_t r = 0; r < runs; r++) {
            float mean, rstd;
            row_stats_team(x + r * len, len, s->keps, part, n, t, &mean, &rstd);
            const int64_t c0 = r % groups * cg;
            gnorm_apply(x + r * len, y + r * len, s->kw + c0, s->kb + c0, pixels * t / n, pixels * (t + 1) / n, plane,
                        lanes, mean, rstd, relu);
#pragma omp barrier /* part is reused by the next run */
        }
    }
}

#define SOFTMAX_COLS 64

/* Softmax (take_log: its log) over s (stride inner) of cols adjacent columns. */
VECTOR_CLONES
static void softmax_cols(const float *x, float *y, int64_t s, int64_t inner, int64_t cols, int take_log)
{
    float mx[SOFTMAX_COLS], sum[SOFTMAX_COLS];
    for (int64_t i = 0; i < cols; i++)
        mx[i] = x[i], sum[i] = 0.f;
    for (int64_t j = 1; j < s; j++) {
        const float *row = x + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < cols; i++)
            mx[i] = row[i] > mx[i] ? row[i] : mx[i];
    }
    if (take_log) { /* x - max - log(sum e^(x - max)): finite where the softmax underflows */
        for (int64_t j = 0; j < s; j++) {
            const float *row = x + j * inner;
#pragma omp simd
            for (int64_t i = 0; i < cols; i++)
                sum[i] += expf(row[i] - mx[i]);
        }
        for (int64_t i = 0; i < cols; i++)
            mx[i] += logf(sum[i]);
        for (int64_t j = 0; j < s; j++) {
            const float *row = x + j * inner;
            float *out = y + j * inner;
#pragma omp simd
            for (int64_t i = 0; i < cols; i++)
                out[i] = row[i] - mx[i];
        }
        return;
    }
    for (int64_t j = 0; j < s; j++) {
        const float *row = x + j * inner;
        float *out = y + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < cols; i++) {
            out[i] = expf(row[i] - mx[i]);
            sum[i] += out[i];
        }
    }
    for (int64_t i = 0; i < cols; i++)
        sum[i] = 1.f / sum[i];
    for (int64_t j = 0; j < s; j++) {
        float *out = y + j * inner;
#pragma omp simd
        for (int64_t i = 0; i < cols; i++)
            out[i] *= sum[i];
    }
}

static void run_softmax(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t outer = s->p[0], n = s->p[1], inner = s->p[2];
    const int take_log = (int)s->p[3];
    const int64_t blocks = (inner + SOFTMAX_COLS - 1) / SOFTMAX_COLS;
#pragma omp parallel for num_threads(b->threads) schedule(static)
    for (int64_t t = 0; t < outer * blocks; t++) {
        const int64_t o = t / blocks, c0 = (t % blocks) * SOFTMAX_COLS;
        const int64_t cols = inner - c0 < SOFTMAX_COLS ? inner - c0 : SOFTMAX_COLS;
        softmax_cols(x + o * n * inner + c0, y + o * n * inner + c0, n, inner, cols, take_log);
    }
}

/* Sums of (x - mean[l])^2 (squares) or of x per lane over n pixels of 16
 * lanes (lanes <= 16), CPU_SUM_RUN pixels at a time in float. */
VECTOR_CLONES
static void lane_sums(const float *x, int64_t n, int64_t lanes, const float *mean, int squares, double *acc)
{
    for (int64_t l = 0; l < lanes; l++)
        acc[l] = 0.0;
    for (int64_t p0 = 0; p0 < n; p0 += CPU_SUM_RUN) {
        const int64_t p1 = n - p0 < CPU_SUM_RUN ? n : p0 + CPU_SUM_RUN;
        float part[16] = {0};
        for (int64_t p = p0; p < p1; p++) {
            const float *px = x + p * lanes;
            if (squares) {
#pragma omp simd
                for (int64_t l = 0; l < lanes; l++)
                    part[l] += (px[l] - mean[l]) * (px[l] - mean[l]);
            } else {
#pragma omp simd
                for (int64_t l = 0; l < lanes; l++)
                    part[l] += px[l];
            }
        }
        for (int64_t l = 0; l < lanes; l++)
            acc[l] += part[l];
    }
}

/* Each lane's group's mean of the per-lane sums acc (groups of cg lanes,
 * count values each) into out. */
static void lane_group_means(const double *acc, int64_t lanes, int64_t cg, double count, float *out)
{
    for (int64_t l0 = 0; l0 < lanes; l0 += cg) {
        double t = 0.0;
        for (int64_t l = l0; l < l0 + cg; l++)
            t += acc[l];
        for (int64_t l = l0; l < l0 + cg; l++)
            out[l] = (float)(t / count);
    }
}

/* Groups smaller than a channel block of nChw16c (8c): p[0] blocks (items x
 * blocks per item), p[1] pixels per plane, p[2] lanes, p[3] channels per
 * group (dividing lanes), p[4] channels, p[5] ReLU. A block holds whole
 * groups: each block's statistics per lane, then per group. */
static void run_gnorm_lanes(const bb_backend *b, const cpu_step *s)
{
    const float *x = buf_ptr(b, s->kin);
    float *y = buf_ptr(b, s->kout);
    const int64_t units = s->p[0], plane = s->p[1], lanes = s->p[2], cg = s->p[3], ch = s->p[4];
    const int relu = (int)s->p[5];
    const int64_t per_item = ch / lanes;
#pragma omp parallel for schedule(static) num_threads(b->threads) if (units * plane * lanes >= PARALLEL_MIN)
    for (int64_t u = 0; u < units; u++) {
        const float *xu = x + u * plane * lanes;
        double acc[16];
        float mean[16] = {0}, rstd[16], a[16], d[16];
        lane_sums(xu, plane, lanes, mean, 0, acc);
        lane_group_means(acc, lanes, cg, (double)(cg * plane), mean);
        lane_sums(xu, plane, lanes, mean, 1, acc);
        lane_group_means(acc, lanes, cg, (double)(cg * plane), rstd); /* the variance, for now */
        const int64_t c0 = u % per_item * lanes;
        for (int64_t l = 0; l < lanes; l++) {
            rstd[l] = (float)(1.0 / sqrt((double)rstd[l] + (double)s->keps));
            a[l] = rstd[l] * s->kw[c0 + l];
            d[l] = s->kb[c0 + l] - mean[l] * a[l];
        }
        gnorm_pixels(xu, y + u * plane * lanes, plane, lanes, a, d, relu);
    }
}

void cpu_run_generic_kernel(const bb_backend *b, const cpu_step *s)
{
    switch (s->kernel) {
    case K_WALK: run_walk(b, s); break;
    case K_WALK_TILED: run_walk_tiled(b, s); break;
    case K_COPY: run_copy(b, s); break;
    case K_UNARY: run_unary(b, s); break;
    case K_REDUCE: run_reduce(b, s); break;
    case K_LNORM: run_lnorm(b, s); break;
    case K_GNORM: run_gnorm(b, s); break;
    case K_GNORM_LANES: run_gnorm_lanes(b, s); break;
    case K_SOFTMAX: run_softmax(b, s); break;
    case K_TAPS: run_taps(b, s); break;
    default: break;
    }
}

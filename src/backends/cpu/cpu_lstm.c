/*
 * cpu_lstm.c — an LSTM direction over its whole sequence as one kernel
 * (BB_OP_LSTM, engine/graph.h): per step, the product of the previous H by
 * R^T and the cell's update, computed together.
 *
 * Why it exists: written out step by step, an LSTM step is a dozen small
 * ops (a slice, the product, a sum, the sigmoid, four slices, two tanh,
 * three products and a sum), each a call with a pass over memory; at batch
 * 1 sequencer2d_s's 1,408 steps spent 38 ms in them against 13 ms of
 * arithmetic. Here R is packed once into panels of 16 hidden units whose 64
 * columns are those units' four gates (i, o, f, c), so the accumulators of
 * a panel hold every gate of 16 units and the cell update runs on them
 * before anything is stored. Rows (the sequences of a batch) never meet:
 * with enough of them, and R small enough to stay in each core's cache,
 * each thread runs its own rows through every step with no synchronisation
 * at all; otherwise (batch 1, or a CRNN's 1 MB R at any batch) the threads
 * share each step's panels, each keeping its part of R in its cache, and
 * wait for each other between steps. C lives in the backend's scratch; H
 * is the output's previous step.
 */
#include <omp.h>
#include <string.h>

#include "backends/cpu/cpu_generic.h"

#define UNITS 16             /* hidden units per panel */
#define PANEL (4 * UNITS)    /* a panel's columns: the units' four gates */
#define ROWS 4               /* rows whose accumulators are held at once */
#define PARALLEL_MIN 65536   /* multiply-adds per step below which one thread runs it */
#define OWN_ROWS_MAX_R 262144 /* bytes of R up to which threads take rows, each reading all of R */

/* R [4H, H] into panels: p[q][k][g * UNITS + j] = R[g * H + q * UNITS + j][k],
 * zeros past H (the buffer comes zeroed). */
static void pack_panels(const float *r, int64_t h, int64_t unused, float *p)
{
    (void)unused;
    for (int64_t g = 0; g < 4; g++)
        for (int64_t u = 0; u < h; u++)
            for (int64_t k = 0; k < h; k++)
                p[(u / UNITS * h + k) * PANEL + g * UNITS + u % UNITS] = r[(g * h + u) * h + k];
}

/* R's panels, packed once per backend; NULL with err set. */
static const float *panels_of(bb_backend *b, const float *r, int64_t h, bb_err *err)
{
    dnnl_memory_desc_t user, want;
    dnnl_dims_t size = {(h + UNITS - 1) / UNITS * h, PANEL};
    cpu_md_2d(&user, 4 * h, h, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&want, 2, size, dnnl_f32, dnnl_ab);
    return cpu_pack_own(b, r, &user, &want, pack_panels, h, h, err);
}

int cpu_lower_lstm(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    int64_t d[CPU_R], o[CPU_R];
    const int nd = cpu_full_shape(b, op->in[0], d), no = cpu_full_shape(b, op->out, o);
    const int64_t s = nd >= 2 ? d[nd - 2] : 0, h = d[nd - 1] / 4, rows = s > 0 && h > 0 ? cpu_numel(nd, d) / (s * 4 * h) : 0;
    const bb_tensor *r = op->w >= 0 ? &g->tensors[op->w] : NULL;
    if (nd < 2 || d[nd - 1] != 4 * h || rows < 1 || !r || !r->data || r->ndim != 2 || r->dims[0] != 4 * h ||
        r->dims[1] != h || cpu_numel(no, o) != rows * s * h)
        return bb_err_set(err, "cpu backend: lstm '%s': needs input gates [..., S, 4H], R [4H, H] and an output "
                               "[..., S, H]", op->label);
    const float *panels = panels_of(b, r->data, h, err);
    int src = panels ? cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err) : -1;
    if (src < 0)
        return -1;
    dnnl_memory_desc_t y_md;
    cpu_md_plain(&y_md, no, o, dnnl_f32);
    cpu_step *st = cpu_add_kernel_step(b, op, K_LSTM, src, cpu_dst_buf(b, op, &y_md));
    st->panels = panels;
    st->p[0] = rows, st->p[1] = s, st->p[2] = h, st->p[3] = op->reverse;
    if (rows * h > b->scratch_floats) /* C */
        b->scratch_floats = rows * h;
    return 0;
}

/* 16 floats, read where they are (no alignment assumed). */
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* One row's four gates of the panel's 16 units, += hv times the panel's row. */
#define ACCUMULATE(acc, hv)                                                                        \
    do {                                                                                           \
        const v16 x_ = (v16){0} + (hv);                                                            \
        acc[0] += x_ * p0, acc[1] += x_ * p1, acc[2] += x_ * p2, acc[3] += x_ * p3;                \
    } while (0)

__attribute__((always_inline)) static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Where the rows of a block read and write at one step: the previous H
 * (NULL at the first step), the input gates, H's and C's places, each at
 * the panel's first unit. */
typedef struct {
    const float *hp[ROWS], *xg[ROWS];
    float *hy[ROWS], *c[ROWS];
    int n;               /* rows in the block (the others repeat row 0) */
} block;

/* The cell update of one row from its gates' H R^T (acc, 4 x 16 values)
 * for `width` units; C's old value is not read at the first step. Inlined
 * into each clone of block_panel, so its loop is as wide as the clone's
 * vectors. */
__attribute__((always_inline)) static inline void cell(const float *acc, const float *restrict xg, int64_t h,
                                                       int first, float *restrict c, float *restrict hy,
                                                       int64_t width)
{
    if (first) {
#pragma omp simd
        for (int64_t j = 0; j < width; j++) {
            const float cn = sigmoid(acc[j] + xg[j]) * tanhf(acc[3 * UNITS + j] + xg[3 * h + j]);
            c[j] = cn;
            hy[j] = sigmoid(acc[UNITS + j] + xg[h + j]) * tanhf(cn);
        }
        return;
    }
#pragma omp simd
    for (int64_t j = 0; j < width; j++) {
        const float i = acc[j] + xg[j], o = acc[UNITS + j] + xg[h + j];
        const float f = acc[2 * UNITS + j] + xg[2 * h + j], g = acc[3 * UNITS + j] + xg[3 * h + j];
        const float cn = sigmoid(i) * tanhf(g) + sigmoid(f) * c[j];
        c[j] = cn;
        hy[j] = sigmoid(o) * tanhf(cn);
    }
}

/* A block of rows through one panel at one step. */
VECTOR_CLONES static void block_panel(const block *bk, const float *restrict p, int64_t h, int64_t width)
{
    v16 a0[4] = {{0}}, a1[4] = {{0}}, a2[4] = {{0}}, a3[4] = {{0}};
    if (bk->hp[0]) {
        const float *h0 = bk->hp[0], *h1 = bk->hp[1], *h2 = bk->hp[2], *h3 = bk->hp[3];
        for (int64_t k = 0; k < h; k++) {
            const v16 *pk = (const v16 *)(p + k * PANEL), p0 = pk[0], p1 = pk[1], p2 = pk[2], p3 = pk[3];
            ACCUMULATE(a0, h0[k]);
            ACCUMULATE(a1, h1[k]);
            ACCUMULATE(a2, h2[k]);
            ACCUMULATE(a3, h3[k]);
        }
    }
    float acc[ROWS][PANEL];
    memcpy(acc[0], a0, sizeof acc[0]), memcpy(acc[1], a1, sizeof acc[1]);
    memcpy(acc[2], a2, sizeof acc[2]), memcpy(acc[3], a3, sizeof acc[3]);
    for (int i = 0; i < bk->n; i++)
        cell(acc[i], bk->xg[i], h, !bk->hp[0], bk->c[i], bk->hy[i], width);
}

/* What one thread runs: rows [r0, r1) through panels [q0, q1) at every
 * step (each panel through all the rows while it is in cache), waiting for
 * the others after each step when they share the rows. */
typedef struct {
    const float *x, *panels;
    float *y, *c;
    int64_t rows, s, h;
    int reverse, share_rows;
} lstm_run;

static void run_part(const lstm_run *L, int64_t r0, int64_t r1, int64_t q0, int64_t q1)
{
    const int64_t h = L->h, s = L->s;
    for (int64_t step = 0; step < s; step++) {
        const int64_t t = L->reverse ? s - 1 - step : step, tp = L->reverse ? t + 1 : t - 1;
        for (int64_t q = q0; q < q1; q++) {
            for (int64_t r = r0; r < r1; r += ROWS) {
                const int64_t u = q * UNITS, width = h - u < UNITS ? h - u : UNITS;
                block bk = {.n = (int)(r1 - r < ROWS ? r1 - r : ROWS)};
                for (int i = 0; i < ROWS; i++) {
                    const int64_t row = r + (i < bk.n ? i : 0);
                    bk.hp[i] = step ? L->y + (row * s + tp) * h : NULL;
                    bk.xg[i] = L->x + (row * s + t) * 4 * h + u;
                    bk.hy[i] = L->y + (row * s + t) * h + u;
                    bk.c[i] = L->c + row * h + u;
                }
                block_panel(&bk, L->panels + q * h * PANEL, h, width);
            }
        }
        if (L->share_rows) {
#pragma omp barrier
        }
    }
}

void cpu_run_lstm(const bb_backend *b, const cpu_step *s, const float *x, float *y, float *c)
{
    const int64_t rows = s->p[0], h = s->p[2], panels = (h + UNITS - 1) / UNITS, blocks = (rows + ROWS - 1) / ROWS;
    const int64_t per_step = rows * 4 * h * h;
    lstm_run L = {x, s->panels, y, c, rows, s->p[1], h, (int)s->p[3], 0};
    /* each thread its own rows where there are enough and R stays in cache;
     * else the panels of every step, where a step is worth a wait; else its
     * own rows anyway, or one thread */
    int threads = b->threads;
    const int own_rows = blocks >= threads && 16 * h * h <= OWN_ROWS_MAX_R;
    L.share_rows = !own_rows && panels >= threads && per_step >= PARALLEL_MIN;
    if (per_step * L.s < PARALLEL_MIN || (!own_rows && !L.share_rows && blocks < threads))
        threads = 1, L.share_rows = 0;
#pragma omp parallel num_threads(threads)
    {
        const int64_t n = omp_get_num_threads(), i = omp_get_thread_num();
        if (L.share_rows) /* n is what the runtime gave; every thread waits at each step */
            run_part(&L, 0, rows, panels * i / n, panels * (i + 1) / n);
        else
            run_part(&L, blocks * i / n * ROWS, blocks * (i + 1) / n * ROWS < rows ? blocks * (i + 1) / n * ROWS : rows,
                     0, panels);
    }
}

/*
 * cpu_rnn.c — an LSTM or GRU direction over its whole sequence as one
 * kernel (BB_OP_LSTM, BB_OP_GRU: engine/graph.h): per step, the product of
 * the previous H by R^T and the cell's update, computed together.
 *
 * Why it exists: written out step by step, an LSTM step is a dozen small
 * ops (a slice, the product, a sum, the sigmoid, four slices, two tanh,
 * three products and a sum), each a call with a pass over memory; at batch
 * 1 sequencer2d_s's 1,408 steps spent 38 ms in them against 13 ms of
 * arithmetic. Here R is packed once into panels of 16 hidden units whose
 * columns are those units' gates (LSTM: i, o, f, c; GRU: z, r, h), so the
 * accumulators of a panel hold every gate of 16 units and the cell update
 * runs on them before anything is stored. Rows (the sequences of a batch)
 * never meet: with two blocks of 4 or more, and R small enough to stay in
 * each core's cache, each thread runs its own rows through every step with
 * no synchronisation at all; otherwise (batch 1, or a CRNN's 1 MB R at any
 * batch) the threads share each step's panels, each keeping its part of R
 * in its cache, and wait for each other between steps. H is the output's
 * previous step; an LSTM's C lives in the backend's scratch.
 */
#include <omp.h>
#include <string.h>

#include "backends/cpu/cpu_generic.h"

#define UNITS 16             /* hidden units per panel */
#define ROWS 4               /* rows whose accumulators are held at once */
#define PARALLEL_MIN 65536   /* multiply-adds per step below which one thread runs it */
#define OWN_ROWS_MAX_R 262144 /* bytes of R up to which threads take rows, each reading all of R */

/* R [G*H, H] into panels of G gates: p[q][k][g * UNITS + j] =
 * R[g * H + q * UNITS + j][k], zeros past H (the buffer comes zeroed). */
static void pack_panels(const float *r, int64_t h, int64_t gates, float *p)
{
    for (int64_t g = 0; g < gates; g++)
        for (int64_t u = 0; u < h; u++)
            for (int64_t k = 0; k < h; k++)
                p[(u / UNITS * h + k) * gates * UNITS + g * UNITS + u % UNITS] = r[(g * h + u) * h + k];
}

/* R's panels, packed once per backend; NULL with err set. */
static const float *panels_of(bb_backend *b, const float *r, int64_t h, int64_t gates, bb_err *err)
{
    dnnl_memory_desc_t user, want;
    dnnl_dims_t size = {(h + UNITS - 1) / UNITS * h, gates * UNITS};
    cpu_md_2d(&user, gates * h, h, dnnl_f32);
    dnnl_memory_desc_init_by_tag(&want, 2, size, dnnl_f32, dnnl_ab);
    return cpu_pack_own(b, r, &user, &want, pack_panels, h, gates, err);
}

int cpu_lower_rnn(bb_backend *b, const bb_op *op, bb_err *err)
{
    const bb_graph *g = b->g;
    const int64_t gates = op->type == BB_OP_LSTM ? 4 : 3;
    int64_t d[CPU_R], o[CPU_R];
    const int nd = cpu_full_shape(b, op->in[0], d), no = cpu_full_shape(b, op->out, o);
    const int64_t s = nd >= 2 ? d[nd - 2] : 0, h = d[nd - 1] / gates;
    const int64_t rows = s > 0 && h > 0 ? cpu_numel(nd, d) / (s * gates * h) : 0;
    const bb_tensor *r = op->w >= 0 ? &g->tensors[op->w] : NULL, *rb = op->b >= 0 ? &g->tensors[op->b] : NULL;
    if (nd < 2 || d[nd - 1] != gates * h || rows < 1 || !r || !r->data || r->ndim != 2 ||
        r->dims[0] != gates * h || r->dims[1] != h || cpu_numel(no, o) != rows * s * h ||
        (rb && (!rb->data || bb_tensor_numel(rb) != h)))
        return bb_err_set(err, "cpu backend: %s '%s': needs input gates [..., S, %lldH], R [%lldH, H] and an output "
                               "[..., S, H]", bb_op_type_name(op->type), op->label, (long long)gates, (long long)gates);
    const float *panels = panels_of(b, r->data, h, gates, err);
    int src = panels ? cpu_tensor_full_plain(b, op->in[0], dnnl_f32, err) : -1;
    if (src < 0)
        return -1;
    dnnl_memory_desc_t y_md;
    cpu_md_plain(&y_md, no, o, dnnl_f32);
    cpu_step *st = cpu_add_kernel_step(b, op, K_RNN, src, cpu_dst_buf(b, op, &y_md));
    st->panels = panels;
    st->kb = rb ? rb->data : NULL;
    st->p[0] = rows, st->p[1] = s, st->p[2] = h, st->p[3] = op->reverse, st->p[4] = gates;
    if (gates == 4 && rows * h > b->scratch_floats) /* C */
        b->scratch_floats = rows * h;
    return 0;
}

/* 16 floats, read where they are (no alignment assumed). */
typedef float v16 __attribute__((vector_size(64), aligned(4)));

__attribute__((always_inline)) static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Where the rows of a block read and write at one step: the previous H
 * (the row's start; NULL at the first step), the input gates, H's and C's
 * places at the panel's first unit u. */
typedef struct {
    const float *hp[ROWS], *xg[ROWS];
    float *hy[ROWS], *c[ROWS];
    int64_t u;
    int n;               /* rows in the block (the others repeat row 0) */
} block;

/* acc[i] = the block's row i of H times the panel's G gates of 16 units
 * (zeros at the first step). G is a constant where this is inlined. */
__attribute__((always_inline)) static inline void products(const block *bk, const float *restrict p, int64_t h,
                                                           const int gates, float acc[ROWS][4 * UNITS])
{
    v16 a0[4] = {{0}}, a1[4] = {{0}}, a2[4] = {{0}}, a3[4] = {{0}};
    const float *h0 = bk->hp[0], *h1 = bk->hp[1], *h2 = bk->hp[2], *h3 = bk->hp[3];
    /* gate g of the four rows: constant indices, so the accumulators stay in registers */
#define GATE(g) (pg = pk[g], a0[g] += x0 * pg, a1[g] += x1 * pg, a2[g] += x2 * pg, a3[g] += x3 * pg)
    for (int64_t k = 0; h0 && k < h; k++) {
        const v16 *pk = (const v16 *)(p + k * gates * UNITS);
        const v16 x0 = (v16){0} + h0[k], x1 = (v16){0} + h1[k], x2 = (v16){0} + h2[k], x3 = (v16){0} + h3[k];
        v16 pg;
        GATE(0), GATE(1), GATE(2);
        if (gates == 4)
            GATE(3);
    }
#undef GATE
    memcpy(acc[0], a0, sizeof acc[0]), memcpy(acc[1], a1, sizeof acc[1]);
    memcpy(acc[2], a2, sizeof acc[2]), memcpy(acc[3], a3, sizeof acc[3]);
}

/* An LSTM cell from a row's H R^T (acc: i, o, f, c, 16 values each) for
 * `width` units; C's old value is not read at the first step. */
__attribute__((always_inline)) static inline void lstm_cell(const float *acc, const float *restrict xg, int64_t h,
                                                            int first, float *restrict c, float *restrict hy,
                                                            int64_t width)
{
    if (first) {
#pragma omp simd
        for (int64_t j = 0; j < width; j++) {
            const float cn = sigmoid(xg[j]) * tanhf(xg[3 * h + j]);
            c[j] = cn;
            hy[j] = sigmoid(xg[h + j]) * tanhf(cn);
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

/* A GRU cell (linear_before_reset) from a row's H R^T (acc: z, r, h) and
 * R's h bias rb (NULL: none) for `width` units; hp: the previous H at
 * them (NULL at the first step, H = 0). */
__attribute__((always_inline)) static inline void gru_cell(const float *acc, const float *restrict xg, int64_t h,
                                                           const float *restrict rb, const float *restrict hp,
                                                           float *restrict hy, int64_t width)
{
    float zero[UNITS] = {0};
    const float *prev = hp ? hp : zero, *bias = rb ? rb : zero;
#pragma omp simd
    for (int64_t j = 0; j < width; j++) {
        const float z = sigmoid(acc[j] + xg[j]), r = sigmoid(acc[UNITS + j] + xg[h + j]);
        const float n = tanhf(xg[2 * h + j] + r * (acc[2 * UNITS + j] + bias[j]));
        hy[j] = n + z * (prev[j] - n);
    }
}

/* A block of rows through one panel at one step; the cells inlined into
 * each clone, so their loops are as wide as the clone's vectors. */
VECTOR_CLONES static void lstm_panel(const block *bk, const float *restrict p, int64_t h, int64_t width)
{
    float acc[ROWS][4 * UNITS];
    products(bk, p, h, 4, acc);
    for (int i = 0; i < bk->n; i++)
        lstm_cell(acc[i], bk->xg[i], h, !bk->hp[0], bk->c[i], bk->hy[i], width);
}

VECTOR_CLONES static void gru_panel(const block *bk, const float *restrict p, int64_t h, int64_t width,
                                    const float *rb)
{
    float acc[ROWS][4 * UNITS];
    products(bk, p, h, 3, acc);
    for (int i = 0; i < bk->n; i++)
        gru_cell(acc[i], bk->xg[i], h, rb ? rb + bk->u : NULL, bk->hp[0] ? bk->hp[i] + bk->u : NULL, bk->hy[i],
                 width);
}

/* What one thread runs: rows [r0, r1) through panels [q0, q1) at every
 * step (each panel through all the rows while it is in cache), waiting for
 * the others after each step when they share the rows. */
typedef struct {
    const float *x, *panels, *rb;
    float *y, *c;
    int64_t rows, s, h, gates;
    int reverse, share_rows;
} rnn_run;

static void run_part(const rnn_run *L, int64_t r0, int64_t r1, int64_t q0, int64_t q1)
{
    const int64_t h = L->h, s = L->s, g = L->gates;
    for (int64_t step = 0; step < s; step++) {
        const int64_t t = L->reverse ? s - 1 - step : step, tp = L->reverse ? t + 1 : t - 1;
        for (int64_t q = q0; q < q1; q++) {
            for (int64_t r = r0; r < r1; r += ROWS) {
                const int64_t u = q * UNITS, width = h - u < UNITS ? h - u : UNITS;
                block bk = {.u = u, .n = (int)(r1 - r < ROWS ? r1 - r : ROWS)};
                for (int i = 0; i < ROWS; i++) {
                    const int64_t row = r + (i < bk.n ? i : 0);
                    bk.hp[i] = step ? L->y + (row * s + tp) * h : NULL;
                    bk.xg[i] = L->x + (row * s + t) * g * h + u;
                    bk.hy[i] = L->y + (row * s + t) * h + u;
                    bk.c[i] = L->c ? L->c + row * h + u : NULL;
                }
                const float *p = L->panels + q * h * g * UNITS;
                if (g == 4)
                    lstm_panel(&bk, p, h, width);
                else
                    gru_panel(&bk, p, h, width, L->rb);
            }
        }
        if (L->share_rows) {
#pragma omp barrier
        }
    }
}

void cpu_run_rnn(const bb_backend *b, const cpu_step *s, const float *x, float *y, float *c)
{
    const int64_t rows = s->p[0], h = s->p[2], g = s->p[4];
    const int64_t panels = (h + UNITS - 1) / UNITS, blocks = (rows + ROWS - 1) / ROWS, per_step = rows * g * h * h;
    rnn_run L = {x, s->panels, s->kb, y, g == 4 ? c : NULL, rows, s->p[1], h, g, (int)s->p[3], 0};
    /* each thread its own rows (blocks of 4) where R stays in cache; else
     * the panels of every step, where a step is worth a wait; else its own
     * rows anyway. No more threads than there are blocks or panels to give,
     * and sharing a step, none with less than PARALLEL_MIN of it (but two). */
    const int64_t parallel = per_step * L.s >= PARALLEL_MIN ? b->threads : 1;
    const int small_r = g * h * h * (int64_t)sizeof(float) <= OWN_ROWS_MAX_R;
    L.share_rows = parallel > 1 && !(small_r && blocks > 1) && panels > 1 && per_step >= PARALLEL_MIN;
    int64_t units = L.share_rows ? panels : blocks;
    if (L.share_rows && units > per_step / PARALLEL_MIN)
        units = per_step / PARALLEL_MIN > 2 ? per_step / PARALLEL_MIN : 2;
    const int threads = (int)(parallel < units ? parallel : units);
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

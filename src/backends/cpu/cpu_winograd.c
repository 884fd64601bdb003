/*
 * cpu_winograd.c — Winograd F(4x4, 3x3) of our own, for CPUs where oneDNN
 * 2.6 has none: its Winograd convolution is AVX-512 code only, so on an
 * AVX2 machine a 3x3 stride-1 conv ran oneDNN's direct kernel, about as
 * fast as ONNX Runtime's (docs/onnx-import.md, "On an AVX2 CPU").
 *
 * The conv is one step (kernel K_WINO) over the activations' nChw8c
 * layout, run in chunks of whole items so that the transformed tiles stay
 * in the cache (CHUNK_BYTES); per chunk:
 *   1. input transform: each 6x6 input tile d of each channel ->
 *      V = B^T d B, stored as 36 matrices [tiles, C];
 *   2. one batched oneDNN matmul (the step's primitive): M[i] = V[i] U[i]
 *      for the 36 positions i, U = G g G^T being the weights (BatchNorm
 *      folded), transformed once at prepare;
 *   3. output transform: Y = A^T M A per tile, cropped at the edges, plus
 *      the bias, the conv's activation (ReLU or SiLU), the residual sum and
 *      the activation after it, written into the nChw8c output.
 * It costs 36 multiplications per 4x4 outputs and input channel against
 * the direct conv's 144; the transforms and the 2.25x larger V are the
 * price. Like oneDNN's Winograd (cpu_conv_algo.c), it is kept only where
 * it measures faster than the direct conv: the whole step, transforms
 * included, timed in alternation with it (own_is_faster). Numerics: the transforms are those of Lavin & Gray (points
 * 0, +-1, +-2, inf); U is computed in double.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"
#include "util/clock.h"

#define WB 8   /* channel block of the nChw8c layout */
#define WT 6   /* input tile */
#define WO 4   /* output tile */
#define WP 36  /* positions of a tile: WT * WT */

static float *ptr_of(const bb_backend *b, int buf)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(b->bufs[buf].mem, &p);
    return p;
}

/* B^T x for one column of 6 vectors of WB lanes (x strided by xs, out by os). */
#define BT_ROWS(x, xs, o, os)                                                        \
    for (int l = 0; l < WB; l++) {                                                   \
        float d0 = x[0 * xs + l], d1 = x[1 * xs + l], d2 = x[2 * xs + l];            \
        float d3 = x[3 * xs + l], d4 = x[4 * xs + l], d5 = x[5 * xs + l];            \
        o[0 * os + l] = 4.f * d0 - 5.f * d2 + d4;                                    \
        o[1 * os + l] = -4.f * (d1 + d2) + d3 + d4;                                  \
        o[2 * os + l] = 4.f * (d1 - d2) - d3 + d4;                                   \
        o[3 * os + l] = 2.f * (d3 - d1) - d2 + d4;                                   \
        o[4 * os + l] = 2.f * (d1 - d3) - d2 + d4;                                   \
        o[5 * os + l] = 4.f * d1 - 5.f * d3 + d5;                                    \
    }

/* A^T m for one column of 6 vectors: 4 outputs. */
#define AT_ROWS(m, ms, o, os)                                                        \
    for (int l = 0; l < WB; l++) {                                                   \
        float m0 = m[0 * ms + l], m1 = m[1 * ms + l], m2 = m[2 * ms + l];            \
        float m3 = m[3 * ms + l], m4 = m[4 * ms + l], m5 = m[5 * ms + l];            \
        float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;            \
        o[0 * os + l] = m0 + s12 + s34;                                              \
        o[1 * os + l] = d12 + 2.f * d34;                                             \
        o[2 * os + l] = s12 + 4.f * s34;                                             \
        o[3 * os + l] = d12 + 8.f * d34 + m5;                                        \
    }

/* B^T d B of one 6x6 tile of one channel block, d's rows rs floats apart
 * (its pixels WB apart), into v: the tile's row of position 0, positions vs
 * floats apart. */
VECTOR_CLONES
static void in_tile(const float *d, int64_t rs, float *v, int64_t vs)
{
    float t[WT][WT][WB];
    for (int j = 0; j < WT; j++) {
        const float *x = d + j * WB;
        float *o = &t[0][j][0];
        BT_ROWS(x, rs, o, WT * WB)
    }
    for (int i = 0; i < WT; i++) {
        const float *x = &t[i][0][0];
        float o[WT][WB];
        float *op = &o[0][0];
        BT_ROWS(x, WB, op, WB)
        for (int j = 0; j < WT; j++)
            memcpy(v + (i * WT + j) * vs, o[j], sizeof o[j]);
    }
}

/* The tile at (y0, x0) of a [h][w][WB] plane: read in place when it lies
 * inside, else copied with its padding (zeros) into pad first. */
static void in_tile_at(const float *plane, int64_t h, int64_t w, int64_t y0, int64_t x0, float *v, int64_t vs,
                       float pad[WT][WT][WB])
{
    if (y0 >= 0 && x0 >= 0 && y0 + WT <= h && x0 + WT <= w) {
        in_tile(plane + (y0 * w + x0) * WB, w * WB, v, vs);
        return;
    }
    for (int i = 0; i < WT; i++)
        for (int j = 0; j < WT; j++) {
            int64_t y = y0 + i, x = x0 + j;
            if (y >= 0 && y < h && x >= 0 && x < w)
                memcpy(pad[i][j], plane + (y * w + x) * WB, sizeof pad[i][j]);
            else
                memset(pad[i][j], 0, sizeof pad[i][j]);
        }
    in_tile(&pad[0][0][0], WT * WB, v, vs);
}

/* Tile t of the chunk (item n, tile row ty, column tx): every channel
 * block of x transformed into v. */
static void in_tiles(const cpu_wino *p, const float *x, float *v, int64_t t, int64_t n, int64_t ty, int64_t tx)
{
    const int64_t cb = p->c / WB, vs = p->chunk * p->th * p->tw * p->c;
    float pad[WT][WT][WB];
    for (int64_t c = 0; c < cb; c++)
        in_tile_at(x + (n * cb + c) * p->h * p->w * WB, p->h, p->w, ty * WO - p->pad_t, tx * WO - p->pad_l,
                   v + t * p->c + c * WB, vs, pad);
}

/* The conv's activation (0 none, 1 ReLU, 2 SiLU: cpu_wino.post_act) on
 * one pixel's WB channels. */
static inline void act_px(float *r, int kind)
{
    if (kind == 1) {
#pragma omp simd
        for (int l = 0; l < WB; l++)
            r[l] = r[l] < 0.f ? 0.f : r[l];
    } else if (kind == 2) {
#pragma omp simd
        for (int l = 0; l < WB; l++)
            r[l] = r[l] / (1.f + expf(-r[l]));
    }
}

/* One tile of one output channel block: m the tile's row of position 0
 * (positions ms floats apart), dst the block's [OH][OW][WB] plane. */
VECTOR_CLONES
static void out_tile(const cpu_wino *p, const float *m, int64_t ms, const float *bias, float *dst, int64_t y0,
                     int64_t x0)
{
    float t[WO][WT][WB], o[WO][WO][WB];
    for (int j = 0; j < WT; j++) {
        float c[WT][WB];
        for (int i = 0; i < WT; i++)
            memcpy(c[i], m + (i * WT + j) * ms, sizeof c[i]);
        const float *cp = &c[0][0];
        float *tp = &t[0][j][0];
        AT_ROWS(cp, WB, tp, WT * WB)
    }
    for (int i = 0; i < WO; i++) {
        const float *tp = &t[i][0][0];
        float *op = &o[i][0][0];
        AT_ROWS(tp, WB, op, WB)
    }
    for (int i = 0; i < WO && y0 + i < p->oh; i++)
        for (int j = 0; j < WO && x0 + j < p->ow; j++) {
            float *y = dst + ((y0 + i) * p->ow + x0 + j) * WB, r[WB];
            for (int l = 0; l < WB; l++)
                r[l] = o[i][j][l] + bias[l];
            act_px(r, p->post_act);
            if (p->sum) {
                for (int l = 0; l < WB; l++)
                    r[l] += y[l];
                act_px(r, p->sum_act);
            }
            memcpy(y, r, sizeof r);
        }
}

/* ... and every output channel block of m into y. */
static void out_tiles(const cpu_wino *p, const float *m, float *y, int64_t t, int64_t n, int64_t ty, int64_t tx)
{
    const int64_t kb = p->k / WB, ms = p->chunk * p->th * p->tw * p->k;
    for (int64_t k = 0; k < kb; k++)
        out_tile(p, m + t * p->k + k * WB, ms, p->bias + k * WB, y + (n * kb + k) * p->oh * p->ow * WB, ty * WO,
                 tx * WO);
}

/* One transform of a chunk (p->chunk items), its tiles shared out over the
 * threads: the input transform of src (x) into dst (V), or the output
 * transform of src (M) into dst (y). */
static void wino_pass(int threads, const cpu_wino *p, int input, const float *src, float *dst)
{
    const int64_t per_item = p->th * p->tw, tiles = p->chunk * per_item;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t n = t / per_item, ty = t % per_item / p->tw, tx = t % p->tw;
        if (input)
            in_tiles(p, src, dst, t, n, ty, tx);
        else
            out_tiles(p, src, dst, t, n, ty, tx);
    }
}

/* The whole conv, chunk by chunk: v and m are the matmul's source and
 * destination (exec's), p->chunk items each. */
static int run_chunks(int threads, const cpu_wino *p, const float *x, float *y, float *v, float *m,
                      dnnl_primitive_t mm, dnnl_stream_t stream, int n_exec, const dnnl_exec_arg_t *exec)
{
    for (int64_t n0 = 0; n0 < p->n; n0 += p->chunk) {
        wino_pass(threads, p, 1, x + n0 * p->c * p->h * p->w, v);
        if (dnnl_primitive_execute(mm, stream, n_exec, exec) != dnnl_success ||
            dnnl_stream_wait(stream) != dnnl_success)
            return -1;
        wino_pass(threads, p, 0, m, y + n0 * p->k * p->oh * p->ow);
    }
    return 0;
}

static float *exec_ptr(const cpu_step *s, int arg)
{
    void *h = NULL;
    for (int i = 0; i < s->n_exec; i++)
        if (s->exec[i].arg == arg)
            dnnl_memory_get_data_handle(s->exec[i].memory, &h);
    return h;
}

int cpu_run_winograd(const bb_backend *b, const cpu_step *s, bb_err *err)
{
    if (run_chunks(b->threads, s->wino, ptr_of(b, s->kin), ptr_of(b, s->kout), exec_ptr(s, DNNL_ARG_SRC),
                   exec_ptr(s, DNNL_ARG_DST), s->prim, b->stream, s->n_exec, s->exec) != 0)
        return bb_err_set(err, "oneDNN: the Winograd matmul of '%s' failed", s->label);
    return 0;
}

/* U = G g G^T for every (input, output) channel pair, into u laid out as
 * [36][C][K]. w: the folded OIHW weights. */
static void transform_weights(const cpu_wino *p, const float *w, float *u)
{
    static const double G[WT][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    for (int64_t c = 0; c < p->c; c++) /* k innermost: u's rows are written in order */
        for (int64_t k = 0; k < p->k; k++) {
            const float *g = w + (k * p->c + c) * 9;
            double gg[WT][3];
            for (int i = 0; i < WT; i++)
                for (int j = 0; j < 3; j++)
                    gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < WT; i++)
                for (int j = 0; j < WT; j++) {
                    double v = gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2];
                    u[((int64_t)(i * WT + j) * p->c + c) * p->k + k] = (float)v;
                }
        }
}

/* bb_act -> act_px's kind, -1 for the activations it does not apply. */
static int act_kind(bb_act a)
{
    return a == BB_ACT_NONE ? 0 : a == BB_ACT_RELU ? 1 : a == BB_ACT_SILU ? 2 : -1;
}

int cpu_wino_fits(const bb_backend *b, const bb_op *op, const int64_t x[4], const int64_t y[4])
{
    int acts_ok = act_kind(op->post_act) >= 0 && act_kind(op->sum_act) >= 0;
    return b->dt == dnnl_f32 && (b->own_wino || !cpu_has_avx512()) && op->kh == 3 && op->kw == 3 && op->sh == 1 && op->sw == 1 &&
           op->dil_h == 1 && op->dil_w == 1 && op->groups == 1 && x[1] % WB == 0 && y[1] % WB == 0 && acts_ok &&
           y[2] == x[2] + op->pad_t + op->pad_b - 2 && y[3] == x[3] + op->pad_l + op->pad_r - 2;
}

/* V and M of one chunk together stay under this (the 8 MB L3 of the
 * machines here holds them with the chunk's input and output), at least
 * one item: they are 2.25x the input and output, which at batch 256 made
 * ResNet's first stage's V and M 0.9 GB each when run whole. */
#define CHUNK_BYTES (4 << 20)

static void wino_params(const bb_backend *b, const bb_op *op, const int64_t x[4], const int64_t y[4], cpu_wino *p)
{
    memset(p, 0, sizeof *p);
    p->n = b->batch, p->c = x[1], p->h = x[2], p->w = x[3];
    p->k = y[1], p->oh = y[2], p->ow = y[3];
    p->pad_t = op->pad_t, p->pad_l = op->pad_l;
    p->th = (p->oh + WO - 1) / WO, p->tw = (p->ow + WO - 1) / WO;
    p->post_act = act_kind(op->post_act);
    p->sum = op->sum_in >= 0;
    p->sum_act = act_kind(op->sum_act);
    int64_t per_item = WP * p->th * p->tw * (p->c + p->k) * (int64_t)sizeof(float);
    p->chunk = 1;
    for (int64_t k = 2; k <= p->n; k++) /* the most items that divide the batch and fit */
        if (p->n % k == 0 && k * per_item <= CHUNK_BYTES)
            p->chunk = k;
}

static void md_3d(dnnl_memory_desc_t *md, int64_t a, int64_t r, int64_t c, dnnl_format_tag_t tag)
{
    dnnl_dims_t d = {a, r, c};
    dnnl_memory_desc_init_by_tag(md, 3, d, dnnl_f32, tag);
}

/* [n, c, h, w] in nChw8c */
static void md_8c(dnnl_memory_desc_t *md, int64_t n, int64_t c, int64_t h, int64_t w)
{
    dnnl_dims_t d = {n, c, h, w};
    dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_aBcd8b);
}

/* One chunk's V [36, tiles, C] and M [36, tiles, K]. */
static void chunk_mds(const cpu_wino *p, dnnl_memory_desc_t *v, dnnl_memory_desc_t *m)
{
    int64_t tiles = p->chunk * p->th * p->tw;
    md_3d(v, WP, tiles, p->c, dnnl_abc);
    md_3d(m, WP, tiles, p->k, dnnl_abc);
}

/* The batched matmul M = V U of one chunk, with attr's scratchpad mode. */
static dnnl_primitive_desc_t matmul_pd(bb_backend *b, const cpu_wino *p, const_dnnl_primitive_attr_t attr)
{
    dnnl_memory_desc_t v, w, m;
    chunk_mds(p, &v, &m);
    md_3d(&w, WP, p->c, p->k, dnnl_format_tag_any);
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&md, &v, &w, NULL, &m) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &md, attr, b->eng, NULL) != dnnl_success)
        return NULL;
    return pd;
}

/* Our conv's seconds on scratch memory (zeroed weights: the time does not
 * depend on them), -1 when it cannot run: the best of `reps` after a
 * warm-up. The matmul here manages its own scratchpad. */
static double own_seconds(bb_backend *b, const cpu_wino *p, int reps)
{
    dnnl_primitive_desc_t pd = matmul_pd(b, p, NULL);
    dnnl_primitive_t mm = NULL;
    dnnl_memory_t mem[3] = {NULL};
    const int args[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    const dnnl_query_t q[3] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    size_t xs = (size_t)(p->n * p->c * p->h * p->w), ys = (size_t)(p->n * p->k * p->oh * p->ow);
    float *x = calloc(xs, sizeof(float)), *y = calloc(ys, sizeof(float)), *bias = calloc((size_t)p->k, sizeof(float));
    int ok = pd && x && y && bias && dnnl_primitive_create(&mm, pd) == dnnl_success;
    dnnl_exec_arg_t exec[3];
    for (int i = 0; i < 3 && ok; i++) {
        ok = dnnl_memory_create(&mem[i], cpu_q_md(pd, q[i]), b->eng, DNNL_MEMORY_ALLOCATE) == dnnl_success;
        void *h = NULL;
        if (ok && dnnl_memory_get_data_handle(mem[i], &h) == dnnl_success && h)
            memset(h, 0, dnnl_memory_desc_get_size(cpu_q_md(pd, q[i])));
        exec[i] = (dnnl_exec_arg_t){args[i], mem[i]};
    }
    double best = -1.0;
    if (ok) {
        cpu_wino q2 = *p;
        q2.bias = bias;
        void *v = NULL, *m = NULL;
        dnnl_memory_get_data_handle(mem[0], &v);
        dnnl_memory_get_data_handle(mem[2], &m);
        for (int r = 0; r <= reps; r++) {
            double t0 = bb_now_s();
            if (run_chunks(b->threads, &q2, x, y, v, m, mm, b->stream, 3, exec) != 0) {
                best = -1.0;
                break;
            }
            double t = bb_now_s() - t0;
            if (r > 0 && (best < 0 || t < best))
                best = t;
        }
    }
    for (int i = 0; i < 3; i++)
        dnnl_memory_destroy(mem[i]);
    dnnl_primitive_destroy(mm);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    free(x);
    free(y);
    free(bias);
    return best;
}

/* The step, once chosen: transformed weights packed for the matmul, the
 * bias folded, one chunk's V and M new buffers, dst the conv's output. */
static int lower_step(bb_backend *b, const bb_op *op, const bb_op *orig, const cpu_wino *p, int owes_silu,
                      bb_err *err)
{
    dnnl_primitive_desc_t mm = matmul_pd(b, p, b->attr);
    if (!mm)
        return bb_err_set(err, "oneDNN: no matmul for the Winograd conv '%s'", orig->label);
    int64_t n_w = p->k * p->c * 9, n_u = WP * p->c * p->k;
    float *w = malloc((size_t)n_w * sizeof(float)), *u = malloc((size_t)n_u * sizeof(float));
    cpu_wino *own = malloc(sizeof *own);
    float *bias = malloc((size_t)p->k * sizeof(float));
    dnnl_memory_t um = NULL;
    int rc = w && u && own && bias ? 0 : bb_err_oom(err, "out of memory for the Winograd weights");
    if (rc == 0) {
        bb_fold_bn(b->g, op, w, bias);
        transform_weights(p, w, u);
        dnnl_memory_desc_t user;
        md_3d(&user, WP, p->c, p->k, dnnl_abc);
        rc = cpu_pack(b, &user, u, cpu_q_md(mm, dnnl_query_weights_md), &um, err);
    }
    free(w);
    free(u);
    dnnl_memory_desc_t want, v_md, m_md, y_md;
    md_8c(&want, p->n, p->c, p->h, p->w);
    int src = rc == 0 ? cpu_tensor_as(b, op->in[0], &want, err) : -1;
    cpu_step *s = NULL;
    if (src >= 0) {
        chunk_mds(p, &v_md, &m_md);
        int v = cpu_new_buf(b, &v_md), m = cpu_new_buf(b, &m_md);
        md_8c(&y_md, p->n, p->k, p->oh, p->ow);
        int dst = cpu_dst_buf(b, op, &y_md);
        b->bufs[dst].owes_silu = owes_silu;
        s = cpu_step_from_pd(b, orig, mm, err);
        if (s) {
            s->kind = "winograd conv";
            s->kernel = K_WINO, s->kin = src, s->kout = dst;
            *own = *p, own->bias = bias, s->wino = own, own = NULL, bias = NULL;
            cpu_arg_buf(b, s, DNNL_ARG_SRC, v);
            cpu_arg_mem(s, DNNL_ARG_WEIGHTS, um);
            cpu_arg_buf(b, s, DNNL_ARG_DST, m);
            cpu_touch(b, src);
            cpu_touch(b, dst);
        }
    }
    dnnl_primitive_desc_destroy(mm);
    free(own);
    free(bias);
    return s ? 0 : -1;
}

/* Whether ours beats the direct conv pd, each with its reorder from `have`:
 * the two timed in alternation (three times, each the best of four runs
 * after a warm-up) and ours kept only when clearly (5%) faster. */
static int own_is_faster(bb_backend *b, const cpu_wino *p, dnnl_primitive_desc_t direct,
                         const dnnl_memory_desc_t *have)
{
    dnnl_memory_desc_t in8;
    md_8c(&in8, p->n, p->c, p->h, p->w);
    const dnnl_memory_desc_t *dsrc = cpu_q_md(direct, dnnl_query_src_md);
    double d_extra = dnnl_memory_desc_equal(dsrc, have) ? 0.0 : cpu_reorder_seconds(b, have, dsrc);
    double w_extra = dnnl_memory_desc_equal(&in8, have) ? 0.0 : cpu_reorder_seconds(b, have, &in8);
    double td = -1.0, tw = -1.0;
    for (int r = 0; r < 3 && d_extra >= 0 && w_extra >= 0; r++) {
        double d = cpu_time_pd(b, direct), w = own_seconds(b, p, 4);
        if (d < 0 || w < 0)
            return 0;
        td = td < 0 || d < td ? d : td;
        tw = tw < 0 || w < tw ? w : tw;
    }
    return td > 0 && tw > 0 && tw + w_extra < 0.95 * (td + d_extra);
}

int cpu_try_own_winograd(bb_backend *b, const bb_op *op, const bb_op *orig, const int64_t x[4],
                         const int64_t y[4], dnnl_primitive_desc_t *pd, int owes_silu, bb_err *err)
{
    if (b->algo_policy < 0)
        return 0;
    cpu_wino p;
    wino_params(b, op, x, y, &p);
    const dnnl_memory_desc_t *have = &b->bufs[b->tbuf[op->in[0]]].md;
    const dnnl_memory_desc_t *sum = op->sum_in >= 0 ? &b->bufs[b->tbuf[op->sum_in]].md : NULL;
    dnnl_memory_desc_t out8;
    md_8c(&out8, p.n, p.k, p.oh, p.ow);
    if (sum && !dnnl_memory_desc_equal(sum, &out8))
        return 0; /* the residual's layout is not ours */
    b->n_wino_candidates++;
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_OWN_WINOGRAD, 0, 0, key);
    int take = b->algo_policy > 0 ? 1 : cpu_choice_get(b, key, have, sum);
    if (take < 0) {
        take = own_is_faster(b, &p, *pd, have);
        cpu_choice_put(b, key, have, sum, take);
    }
    if (!take)
        return 0;
    dnnl_primitive_desc_destroy(*pd);
    *pd = NULL;
    b->n_wino++, b->n_own_wino++;
    return lower_step(b, op, orig, &p, owes_silu, err) < 0 ? -1 : 1;
}

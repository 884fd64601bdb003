/*
 * cpu_winograd.c — Winograd F(4x4, 3x3) of our own, for CPUs where oneDNN
 * 2.6 has none: its Winograd convolution is AVX-512 code only, so on an
 * AVX2 machine a 3x3 stride-1 conv ran oneDNN's direct kernel, about as
 * fast as ONNX Runtime's (docs/onnx-import.md, "On an AVX2 CPU").
 *
 * The conv becomes three steps over the activations' nChw8c layout:
 *   1. input transform (kernel K_WINO_IN): each 6x6 input tile d of each
 *      channel -> V = B^T d B, stored as 36 matrices [tiles, C];
 *   2. one batched oneDNN matmul: M[i] = V[i] U[i] for the 36 positions i,
 *      U = G g G^T being the weights (BatchNorm folded), transformed once
 *      at prepare;
 *   3. output transform (kernel K_WINO_OUT): Y = A^T M A per tile, cropped
 *      at the edges, plus the bias, the conv's ReLU, the residual sum and
 *      the ReLU after it, written into the nChw8c output.
 * It costs 36 multiplications per 4x4 outputs and input channel against
 * the direct conv's 144; the transforms and the 2.25x larger V are the
 * price. Like oneDNN's Winograd (cpu_conv_algo.c), it is kept only where
 * it measures faster than the direct conv, the transforms' time counted
 * against it. Numerics: the transforms are those of Lavin & Gray (points
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

/* One tile of one channel block: src is the block's [H][W][WB] plane, the
 * tile's top left at (y0, x0) (may be outside: padding is zero); v the
 * tile's row of position 0, positions vs floats apart. */
VECTOR_CLONES
static void in_tile(const float *src, int64_t h, int64_t w, int64_t y0, int64_t x0, float *v, int64_t vs)
{
    float d[WT][WT][WB], t[WT][WT][WB];
    for (int i = 0; i < WT; i++)
        for (int j = 0; j < WT; j++) {
            int64_t y = y0 + i, x = x0 + j;
            if (y >= 0 && y < h && x >= 0 && x < w)
                memcpy(d[i][j], src + (y * w + x) * WB, sizeof d[i][j]);
            else
                memset(d[i][j], 0, sizeof d[i][j]);
        }
    for (int j = 0; j < WT; j++) {
        const float *x = &d[0][j][0];
        float *o = &t[0][j][0];
        BT_ROWS(x, WT * WB, o, WT * WB)
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

static void wino_in(const bb_backend *b, const cpu_step *s)
{
    const cpu_wino *p = s->wino;
    const float *x = ptr_of(b, s->kin);
    float *v = ptr_of(b, s->kout);
    const int64_t cb = p->c / WB, tiles = p->n * p->th * p->tw, vs = tiles * p->c;
#pragma omp parallel for collapse(2) schedule(static) num_threads(b->threads)
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t ty = 0; ty < p->th; ty++)
            for (int64_t tx = 0; tx < p->tw; tx++) {
                int64_t t = (n * p->th + ty) * p->tw + tx;
                for (int64_t c = 0; c < cb; c++)
                    in_tile(x + (n * cb + c) * p->h * p->w * WB, p->h, p->w, ty * WO - p->pad_t,
                            tx * WO - p->pad_l, v + t * p->c + c * WB, vs);
            }
}

static float act(float v, int relu)
{
    return relu && v < 0.f ? 0.f : v;
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
            float *y = dst + ((y0 + i) * p->ow + x0 + j) * WB;
            for (int l = 0; l < WB; l++) {
                float r = act(o[i][j][l] + bias[l], p->post_relu);
                y[l] = p->sum ? act(r + y[l], p->sum_relu) : r;
            }
        }
}

static void wino_out(const bb_backend *b, const cpu_step *s)
{
    const cpu_wino *p = s->wino;
    const float *m = ptr_of(b, s->kin);
    float *y = ptr_of(b, s->kout);
    const int64_t kb = p->k / WB, tiles = p->n * p->th * p->tw, ms = tiles * p->k;
#pragma omp parallel for collapse(2) schedule(static) num_threads(b->threads)
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t ty = 0; ty < p->th; ty++)
            for (int64_t tx = 0; tx < p->tw; tx++) {
                int64_t t = (n * p->th + ty) * p->tw + tx;
                for (int64_t k = 0; k < kb; k++)
                    out_tile(p, m + t * p->k + k * WB, ms, p->bias + k * WB,
                             y + (n * kb + k) * p->oh * p->ow * WB, ty * WO, tx * WO);
            }
}

void cpu_run_winograd(const bb_backend *b, const cpu_step *s)
{
    if (s->kernel == K_WINO_IN)
        wino_in(b, s);
    else
        wino_out(b, s);
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
    for (int64_t k = 0; k < p->k; k++)
        for (int64_t c = 0; c < p->c; c++) {
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

int cpu_wino_fits(const bb_backend *b, const bb_op *op, const int64_t x[4], const int64_t y[4])
{
    int acts_ok = (op->post_act == BB_ACT_NONE || op->post_act == BB_ACT_RELU) &&
                  (op->sum_act == BB_ACT_NONE || op->sum_act == BB_ACT_RELU);
    return b->dt == dnnl_f32 && (b->own_wino || !cpu_has_avx512()) && op->kh == 3 && op->kw == 3 && op->sh == 1 && op->sw == 1 &&
           op->dil_h == 1 && op->dil_w == 1 && op->groups == 1 && x[1] % WB == 0 && y[1] % WB == 0 && acts_ok &&
           y[2] == x[2] + op->pad_t + op->pad_b - 2 && y[3] == x[3] + op->pad_l + op->pad_r - 2;
}

static void wino_params(const bb_backend *b, const bb_op *op, const int64_t x[4], const int64_t y[4], cpu_wino *p)
{
    memset(p, 0, sizeof *p);
    p->n = b->batch, p->c = x[1], p->h = x[2], p->w = x[3];
    p->k = y[1], p->oh = y[2], p->ow = y[3];
    p->pad_t = op->pad_t, p->pad_l = op->pad_l;
    p->th = (p->oh + WO - 1) / WO, p->tw = (p->ow + WO - 1) / WO;
    p->post_relu = op->post_act == BB_ACT_RELU;
    p->sum = op->sum_in >= 0;
    p->sum_relu = op->sum_act == BB_ACT_RELU;
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

/* The batched matmul [36, tiles, C] x [36, C, K]. */
static dnnl_primitive_desc_t matmul_pd(bb_backend *b, const cpu_wino *p)
{
    int64_t tiles = p->n * p->th * p->tw;
    dnnl_memory_desc_t s, w, d;
    md_3d(&s, WP, tiles, p->c, dnnl_abc);
    md_3d(&w, WP, p->c, p->k, dnnl_format_tag_any);
    md_3d(&d, WP, tiles, p->k, dnnl_abc);
    dnnl_matmul_desc_t md;
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_matmul_desc_init(&md, &s, &w, NULL, &d) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &md, b->attr, b->eng, NULL) != dnnl_success)
        return NULL;
    return pd;
}

/* Seconds of the two transforms on scratch memory (best of four after a
 * warm-up), -1 when out of memory. */
static double transforms_seconds(bb_backend *b, const cpu_wino *p)
{
    int64_t tiles = p->n * p->th * p->tw;
    size_t xs = (size_t)(p->n * p->c * p->h * p->w), vs = (size_t)(WP * tiles * (p->c > p->k ? p->c : p->k));
    size_t ys = (size_t)(p->n * p->k * p->oh * p->ow);
    float *x = calloc(xs, sizeof(float)), *v = calloc(vs, sizeof(float)), *y = calloc(ys, sizeof(float));
    float *bias = calloc((size_t)p->k, sizeof(float));
    double best = -1.0;
    if (x && v && y && bias) {
        bb_backend t = *b; /* the kernels read buffers through b: give them ours */
        cpu_buf bufs[3];
        memset(bufs, 0, sizeof bufs);
        dnnl_memory_desc_t md;
        dnnl_dims_t most = {(int64_t)(xs > vs ? (xs > ys ? xs : ys) : (vs > ys ? vs : ys))};
        dnnl_memory_desc_init_by_tag(&md, 1, most, dnnl_f32, dnnl_a);
        float *data[3] = {x, v, y};
        for (int i = 0; i < 3; i++)
            dnnl_memory_create(&bufs[i].mem, &md, b->eng, data[i]);
        t.bufs = bufs;
        cpu_wino q = *p;
        q.bias = bias;
        cpu_step in = {.kernel = K_WINO_IN, .kin = 0, .kout = 1, .wino = &q};
        cpu_step out = {.kernel = K_WINO_OUT, .kin = 1, .kout = 2, .wino = &q};
        for (int r = 0; r < 5; r++) {
            double t0 = bb_now_s();
            cpu_run_winograd(&t, &in);
            cpu_run_winograd(&t, &out);
            double dt = bb_now_s() - t0;
            if (r > 0 && (best < 0 || dt < best))
                best = dt;
        }
        for (int i = 0; i < 3; i++)
            dnnl_memory_destroy(bufs[i].mem);
    }
    free(x);
    free(v);
    free(y);
    free(bias);
    return best;
}

/* The three steps, once chosen: transformed weights packed for mm, the
 * bias folded, V and M new buffers, dst the conv's output. */
static int lower_steps(bb_backend *b, const bb_op *op, const bb_op *orig, const cpu_wino *p,
                       dnnl_primitive_desc_t mm, int owes_silu, bb_err *err)
{
    int64_t n_w = p->k * p->c * 9, n_u = WP * p->c * p->k, tiles = p->n * p->th * p->tw;
    float *w = malloc((size_t)n_w * sizeof(float)), *u = malloc((size_t)n_u * sizeof(float));
    cpu_wino *pin = malloc(sizeof *pin), *pout = malloc(sizeof *pout);
    float *bias = malloc((size_t)p->k * sizeof(float));
    dnnl_memory_t um = NULL;
    int rc = w && u && pin && pout && bias ? 0 : bb_err_oom(err, "out of memory for the Winograd weights");
    if (rc == 0) {
        bb_fold_bn(b->g, op, w, bias);
        transform_weights(p, w, u);
        dnnl_memory_desc_t user;
        md_3d(&user, WP, p->c, p->k, dnnl_abc);
        rc = cpu_pack(b, &user, u, cpu_q_md(mm, dnnl_query_weights_md), &um, err);
    }
    free(w);
    free(u);
    dnnl_memory_desc_t want, v_md, m_md;
    md_8c(&want, p->n, p->c, p->h, p->w);
    int src = rc == 0 ? cpu_tensor_as(b, op->in[0], &want, err) : -1;
    cpu_step *s = NULL;
    if (src >= 0) {
        *pin = *p, *pout = *p;
        pin->bias = NULL, pout->bias = bias, bias = NULL;
        md_3d(&v_md, WP, tiles, p->c, dnnl_abc);
        md_3d(&m_md, WP, tiles, p->k, dnnl_abc);
        int v = cpu_new_buf(b, &v_md);
        s = cpu_add_step(b, orig->label, "winograd input");
        s->kernel = K_WINO_IN, s->kin = src, s->kout = v, s->wino = pin, pin = NULL;
        cpu_touch(b, src);
        cpu_touch(b, v);
        int m = cpu_new_buf(b, &m_md);
        s = cpu_step_from_pd(b, orig, mm, err);
        if (s) {
            s->kind = "winograd matmul";
            cpu_arg_buf(b, s, DNNL_ARG_SRC, v);
            cpu_arg_mem(s, DNNL_ARG_WEIGHTS, um);
            cpu_arg_buf(b, s, DNNL_ARG_DST, m);
            dnnl_memory_desc_t y_md;
            md_8c(&y_md, p->n, p->k, p->oh, p->ow);
            int dst = cpu_dst_buf(b, op, &y_md);
            b->bufs[dst].owes_silu = owes_silu;
            s = cpu_add_step(b, orig->label, "winograd output");
            s->kernel = K_WINO_OUT, s->kin = m, s->kout = dst, s->wino = pout, pout = NULL;
            cpu_touch(b, m);
            cpu_touch(b, dst);
        }
    }
    free(pin);
    free(pout);
    free(bias);
    return s ? 0 : -1;
}

int cpu_try_own_winograd(bb_backend *b, const bb_op *op, const bb_op *orig, const int64_t x[4],
                         const int64_t y[4], dnnl_primitive_desc_t *pd, int owes_silu, bb_err *err)
{
    cpu_wino p;
    wino_params(b, op, x, y, &p);
    const dnnl_memory_desc_t *have = &b->bufs[b->tbuf[op->in[0]]].md;
    const dnnl_memory_desc_t *sum = op->sum_in >= 0 ? &b->bufs[b->tbuf[op->sum_in]].md : NULL;
    dnnl_memory_desc_t want;
    md_8c(&want, p.n, p.k, p.oh, p.ow);
    if (sum && !dnnl_memory_desc_equal(sum, &want))
        return 0; /* the residual's layout is not ours */
    int64_t key[CPU_CHOICE_KEY];
    cpu_choice_key(b, op, CPU_PICK_OWN_WINOGRAD, 0, 0, key);
    int known = b->algo_policy == 0 ? cpu_choice_get(b, key, have, sum) : -1;
    dnnl_primitive_desc_t mm = matmul_pd(b, &p);
    double d_extra = 0.0, w_extra = 0.0;
    if (mm && known < 0 && b->algo_policy == 0) {
        dnnl_memory_desc_t in8;
        md_8c(&in8, p.n, p.c, p.h, p.w);
        const dnnl_memory_desc_t *dsrc = cpu_q_md(*pd, dnnl_query_src_md);
        d_extra = dnnl_memory_desc_equal(dsrc, have) ? 0.0 : cpu_reorder_seconds(b, have, dsrc);
        w_extra = dnnl_memory_desc_equal(&in8, have) ? 0.0 : cpu_reorder_seconds(b, have, &in8);
        double t = transforms_seconds(b, &p);
        w_extra = t < 0 || w_extra < 0 ? -1.0 : w_extra + t;
    }
    int chose = 0, offered = mm != NULL;
    dnnl_primitive_desc_t kept = cpu_conv_faster(b, *pd, d_extra, mm, w_extra, known, &chose);
    if (offered && known < 0 && b->algo_policy == 0)
        cpu_choice_put(b, key, have, sum, chose);
    if (!chose) {
        *pd = kept;
        return 0;
    }
    *pd = NULL;
    b->n_own_wino++;
    int rc = lower_steps(b, op, orig, &p, kept, owes_silu, err);
    dnnl_primitive_desc_destroy(kept);
    return rc < 0 ? -1 : 1;
}

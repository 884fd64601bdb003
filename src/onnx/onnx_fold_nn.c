/*
 * onnx_fold_nn.c — the network ops exporters also apply to constants,
 * computed by the constant folder (onnx_fold.h) in double:
 *   Conv               a position encoding projected from a constant grid
 *                      (timm's XCiT and EdgeNeXt: Fourier features of the
 *                      token grid, then a 1x1 conv)
 *   BatchNormalization on weights in training mode: weight standardisation
 *                      (timm's NFNets and BiT ResNetV2s standardise each
 *                      conv's weights with F.batch_norm(training=True),
 *                      exported as such a node on the weight initializer)
 *   CumSum             the running sums of a mask of ones (EdgeNeXt's
 *                      position encoding)
 *   MatMul, Gemm       an MLP on constant coordinates (timm's Swin V2
 *                      continuous position bias and ViT relative position
 *                      MLP: log-spaced offsets through two Linear layers)
 * On activations, Conv, BatchNormalization, MatMul and Gemm are lowered as
 * usual (a BatchNormalization in training mode is refused by onnx_lower.c,
 * naming the node) and CumSum is refused.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/walk.h"
#include "onnx/onnx_eval.h"
#include "onnx/onnx_fold.h"

static const float *f32(const bb_ox_val *v)
{
    return v ? (const float *)v->data : NULL;
}

/* ---- Conv ------------------------------------------------------------------------------ */

/* One output element of a 2-D conv: its window over the input's channels
 * of the group. */
static double conv_at(const bb_ox_val *x, const float *w, const bb_ox_win *win, int64_t n, int64_t m, int64_t oh,
                      int64_t ow)
{
    const int64_t cg = x->dims[1] / win->group, mg = win->out_c / win->group, h = x->dims[2], wd = x->dims[3];
    const int64_t c0 = (m / mg) * cg;
    const float *xs = f32(x);
    double acc = 0.0;
    for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t i = 0; i < win->kh; i++) {
            int64_t ih = oh * win->sh - win->pad_t + i * win->dil_h;
            if (ih < 0 || ih >= h)
                continue;
            for (int64_t j = 0; j < win->kw; j++) {
                int64_t iw = ow * win->sw - win->pad_l + j * win->dil_w;
                if (iw >= 0 && iw < wd)
                    acc += (double)xs[((n * x->dims[1] + c0 + ci) * h + ih) * wd + iw] *
                           (double)w[((m * cg + ci) * win->kh + i) * win->kw + j];
            }
        }
    return acc;
}

/* Multiply-adds per output element: a Conv's weights per output channel,
 * a MatMul's or a Gemm's shared axis. */
static int64_t madds_per_output(const bb_ox_ctx *c)
{
    const char *op = c->nd->op_type;
    const bb_ox_val *a = bb_ox_in(c, 0), *w = bb_ox_in(c, 1);
    if (!a || !w || a->ndim < 1 || w->ndim < 1)
        return 0;
    if (!strcmp(op, "Conv"))
        return w->dims[0] > 0 ? w->numel / w->dims[0] : 0;
    if (!strcmp(op, "MatMul"))
        return a->dims[a->ndim - 1];
    if (!strcmp(op, "Gemm") && a->ndim == 2) {
        bb_ox_params p;
        bb_err ignored; /* the fold itself reports a bad attribute */
        return bb_ox_params_get(c->m, c->nd, c->v, &p, &ignored) == 0 ? a->dims[!p.trans_a] : 0;
    }
    return 0;
}

int64_t bb_ox_fold_nn_work(const bb_ox_ctx *c)
{
    if (!strcmp(c->nd->op_type, "Einsum"))
        return bb_ox_einsum_work(c);
    const bb_ox_val *o = bb_ox_out(c, 0);
    int64_t per = madds_per_output(c);
    if (!o || o->numel < 1 || per < 1)
        return 0;
    return per > (INT64_MAX / 4) / o->numel ? INT64_MAX / 4 : o->numel * per; /* saturates */
}

int bb_ox_fold_conv(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0), *w = bb_ox_in(c, 1), *b = bb_ox_in(c, 2);
    bb_ox_win win;
    if (x->ndim != 4)
        return bb_ox_cerr(c, "a Conv on constants is computed for 2-D windows only (input of rank %d)", x->ndim);
    if (w->dtype != BB_OX_F32 || (b && b->dtype != BB_OX_F32))
        return bb_ox_cerr(c, "a Conv on constants needs float weights and bias");
    if (bb_ox_window(c->m, c->nd, x->dims, w->dims, &win, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    float *y = (float *)o->data;
    for (int64_t n = 0, k = 0; n < o->dims[0]; n++)
        for (int64_t m = 0; m < o->dims[1]; m++)
            for (int64_t oh = 0; oh < o->dims[2]; oh++)
                for (int64_t ow = 0; ow < o->dims[3]; ow++, k++)
                    y[k] = (float)(conv_at(x, f32(w), &win, n, m, oh, ow) + (b ? (double)f32(b)[m] : 0.0));
    return 0;
}

/* ---- BatchNormalization ----------------------------------------------------------------- */

/* Per channel (axis 1) of x: the mean and the biased variance over every
 * other axis. */
static void channel_stats(const bb_ox_val *x, double *mean, double *var)
{
    const int64_t ch = x->dims[1], inner = x->dims[0] > 0 && ch > 0 ? x->numel / (x->dims[0] * ch) : 0;
    const int64_t count = x->dims[0] * inner;
    const float *xs = f32(x);
    for (int64_t k = 0; k < ch; k++) {
        double s = 0.0, d = 0.0;
        for (int64_t n = 0; n < x->dims[0]; n++)
            for (int64_t i = 0; i < inner; i++)
                s += xs[(n * ch + k) * inner + i];
        mean[k] = count ? s / (double)count : 0.0;
        for (int64_t n = 0; n < x->dims[0]; n++)
            for (int64_t i = 0; i < inner; i++) {
                double e = xs[(n * ch + k) * inner + i] - mean[k];
                d += e * e;
            }
        var[k] = count ? d / (double)count : 0.0;
    }
}

/* Y = (X - mean) / sqrt(var + eps) * scale + B per channel: the inputs'
 * running statistics, or in training mode X's own (and then outputs 1 and
 * 2, the updated running statistics). */
int bb_ox_fold_bn(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    const float *scale = f32(bb_ox_in(c, 1)), *bias = f32(bb_ox_in(c, 2));
    const float *rmean = f32(bb_ox_in(c, 3)), *rvar = f32(bb_ox_in(c, 4));
    float eps, momentum;
    int64_t training;
    if (bb_ox_a_float(c, "epsilon", 1e-5f, &eps) < 0 || bb_ox_a_float(c, "momentum", 0.9f, &momentum) < 0 ||
        bb_ox_a_int_in(c, "training_mode", 0, 0, 1, &training) < 0)
        return -1;
    for (int i = 1; i < 5; i++)
        if (bb_ox_in(c, i)->dtype != BB_OX_F32)
            return bb_ox_cerr(c, "input %d ('%s') must be float", i, bb_ox_in_name(c, i));
    for (int i = 0; i < 3; i++)
        if (bb_ox_fold_alloc(c, i) < 0)
            return -1;
    const int64_t ch = x->dims[1], inner = x->dims[0] > 0 && ch > 0 ? x->numel / (x->dims[0] * ch) : 0;
    double *mean = malloc(sizeof(double) * (size_t)(2 * ch + 1)), *var = mean ? mean + ch : NULL;
    if (!mean)
        return bb_err_oom(c->err, "out of memory");
    if (training) {
        channel_stats(x, mean, var);
    } else {
        for (int64_t k = 0; k < ch; k++)
            mean[k] = rmean[k], var[k] = rvar[k];
    }
    float *y = (float *)bb_ox_out(c, 0)->data;
    const float *xs = f32(x);
    for (int64_t n = 0; n < x->dims[0]; n++)
        for (int64_t k = 0; k < ch; k++) {
            double s = (double)scale[k] / sqrt(var[k] + (double)eps), t = (double)bias[k] - mean[k] * s;
            for (int64_t i = 0; i < inner; i++)
                y[(n * ch + k) * inner + i] = (float)(xs[(n * ch + k) * inner + i] * s + t);
        }
    bb_ox_val *om = bb_ox_out(c, 1), *ov = bb_ox_out(c, 2);
    for (int64_t k = 0; k < ch; k++) {
        if (om)
            ((float *)om->data)[k] = (float)(rmean[k] * momentum + mean[k] * (1.0 - momentum));
        if (ov)
            ((float *)ov->data)[k] = (float)(rvar[k] * momentum + var[k] * (1.0 - momentum));
    }
    free(mean);
    return 0;
}

/* ---- CumSum ---------------------------------------------------------------------------- */

/* Running sums along one axis (exclusive: each excludes its own element;
 * reverse: from the end). */
int bb_ox_fold_cumsum(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    double a;
    int64_t axis, exclusive, reverse;
    if (bb_ox_in_scalar(c, 1, &a) < 0 || bb_ox_axis(c, (int64_t)a, x->ndim, &axis) < 0 ||
        bb_ox_a_int_in(c, "exclusive", 0, 0, 1, &exclusive) < 0 || bb_ox_a_int_in(c, "reverse", 0, 0, 1, &reverse) < 0 ||
        bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    int64_t outer = 1, len = x->dims[axis], inner = 1;
    for (int d = 0; d < x->ndim; d++)
        outer *= d < axis ? x->dims[d] : 1, inner *= d > axis ? x->dims[d] : 1;
    for (int64_t p = 0; p < outer; p++)
        for (int64_t i = 0; i < inner; i++) {
            double run = 0.0;
            uint64_t irun = 0; /* integers wrap around (no undefined overflow) */
            for (int64_t s = 0; s < len; s++) {
                int64_t k = (p * len + (reverse ? len - 1 - s : s)) * inner + i;
                if (o->dtype == BB_OX_F32) {
                    double v = ((const float *)x->data)[k];
                    ((float *)o->data)[k] = (float)(exclusive ? run : run + v);
                    run += v;
                } else {
                    uint64_t v = (uint64_t)((const int64_t *)x->data)[k];
                    uint64_t out = exclusive ? irun : irun + v;
                    memcpy(&((int64_t *)o->data)[k], &out, sizeof out);
                    irun += v;
                }
            }
        }
    return 0;
}

/* ---- MatMul, Gemm ---------------------------------------------------------------------- */

/* Row-major strides of shape s (nd axes) read as shape o: 0 on the axes
 * where s is 1 and o is not (broadcast). */
static void bcast_strides(int nd, const int64_t *s, const int64_t *o, int64_t *st)
{
    int64_t k = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s[i] == 1 && o[i] != 1 ? 0 : k;
        k *= s[i];
    }
}

/* NumPy matmul in double: A's and B's leading axes broadcast. */
int bb_ox_fold_matmul(bb_ox_ctx *c)
{
    const bb_ox_val *a = bb_ox_in(c, 0), *b = bb_ox_in(c, 1);
    int64_t A[BB_WALK_DIMS + 1], B[BB_WALK_DIMS + 1], D[BB_WALK_DIMS + 1], sa[BB_WALK_DIMS + 1],
        sb[BB_WALK_DIMS + 1], idx[BB_WALK_DIMS + 1] = {0};
    if (a->dtype != BB_OX_F32 || b->dtype != BB_OX_F32)
        return bb_ox_cerr(c, "a MatMul on constants is computed on floats only");
    int nd = bb_matmul_shapes(a->ndim, a->dims, b->ndim, b->dims, A, B, D);
    if (nd < 0)
        return bb_ox_cerr(c, "a MatMul on constants of rank above %d is not computed", BB_WALK_DIMS);
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bcast_strides(nd - 2, A, D, sa);
    bcast_strides(nd - 2, B, D, sb);
    const int64_t m = D[nd - 2], n = D[nd - 1], k = A[nd - 1];
    const float *x = f32(a), *w = f32(b);
    float *y = (float *)bb_ox_out(c, 0)->data;
    for (int64_t off = 0, numel = bb_ox_out(c, 0)->numel; off < numel; off += m * n) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < nd - 2; i++)
            oa += idx[i] * sa[i] * m * k, ob += idx[i] * sb[i] * k * n;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0.0;
                for (int64_t t = 0; t < k; t++)
                    acc += (double)x[oa + i * k + t] * (double)w[ob + t * n + j];
                y[off + i * n + j] = (float)acc;
            }
        for (int i = nd - 3; i >= 0 && ++idx[i] == D[i]; i--) /* the next batch of matrices */
            idx[i] = 0;
    }
    return 0;
}

/* alpha * A' B' + beta * C, A' = A or its transpose (trans_a), B' likewise;
 * C broadcasts to [M, N]. */
int bb_ox_fold_gemm(bb_ox_ctx *c)
{
    const bb_ox_val *a = bb_ox_in(c, 0), *b = bb_ox_in(c, 1), *cc = bb_ox_in(c, 2);
    bb_ox_params p;
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    const int64_t m = a->dims[p.trans_a], k = a->dims[!p.trans_a], n = b->dims[!p.trans_b];
    const float *x = f32(a), *w = f32(b), *z = f32(cc);
    const int64_t zr = cc && cc->ndim == 2 && cc->dims[0] != 1 ? cc->dims[1] : 0; /* C's row stride */
    const int64_t zc = cc && cc->ndim >= 1 && cc->dims[cc->ndim - 1] != 1 ? 1 : 0;
    float *y = (float *)bb_ox_out(c, 0)->data;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t t = 0; t < k; t++)
                acc += (double)x[p.trans_a ? t * m + i : i * k + t] * (double)w[p.trans_b ? j * k + t : t * n + j];
            acc *= p.alpha;
            if (z)
                acc += (double)p.beta * (double)z[i * zr + j * zc];
            y[i * n + j] = (float)acc;
        }
    return 0;
}

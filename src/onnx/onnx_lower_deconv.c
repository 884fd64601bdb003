/*
 * onnx_lower_deconv.c — ConvTranspose, DepthToSpace and SpaceToDepth (the
 * upsampling of U-Nets, decoders and super-resolution models) lowered to
 * ops both backends already run: a conv, reshapes, a transpose, a slice.
 *
 * Why it exists: a transposed convolution is ordinary convolutions in
 * disguise, so it needs no kernel of its own. With stride s and kernel k it
 * is s_h*s_w convolutions of the input, one per output phase, each with the
 * kernel taps that land on that phase (the "sub-pixel" form); they run as
 * ONE conv with M*s_h*s_w output channels, then an interleave of those
 * channels into space (DepthToSpace's CRD order) and a crop of the pads.
 *
 * Per axis, with the output before cropping full[q], q = o + pad_begin:
 *   full[q] = sum over i, t with i*s + t = q of x[i] * w[t]
 * Write q = a*s + r (0 <= r < s) and t = m*s + r:
 *   full[a*s + r] = sum_{m < M} x[a - m] * w[m*s + r],  M = ceil(k / s)
 * (taps past k are zeros): for each phase r a cross-correlation, which is
 * what Conv computes, of x padded by M - 1 in front with the flipped
 * sub-kernel w_r[j] = w[(M-1-j)*s + r]. Its output has A = L + M - 1
 * positions (E more, zeros padded behind, where output_padding reaches
 * past the last tap); interleaved, A*s positions, of which the output
 * keeps [pad_begin, pad_begin + out). When k is a multiple of s (U-Net's
 * 2x2 stride 2, DCGAN's 4x4 stride 2) the conv does exactly the transposed
 * conv's multiply-adds; otherwise the zero taps cost (e.g. 3x3 stride 2:
 * 16 taps for 9). A stride-1 ConvTranspose with even pads is one conv
 * with its pads turned around, with no interleave or crop. The conv's pads
 * are always even on both sides (cuDNN's convs take no others): where
 * output_padding needs positions behind, as many are added in front and
 * cropped. A BatchNormalization that alone reads the ConvTranspose folds
 * into the conv's weights and bias, and a ReLU after either is the conv's
 * post-op (it commutes with the interleave and the crop): after the
 * interleave the fusion pass could fold neither.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

#define MAX_WEIGHT ((int64_t)1 << 31) /* elements of the sub-pixel conv's weight */

static int add_act(ox_ctx *c, int ndim, const int64_t *dims)
{
    return bb_graph_add_tensor(c->g, "", BB_T_ACT, ndim, dims);
}

/* Activation x viewed as the per-item shape dims (5-D) and transposed by
 * perm (over the full axes, the batch's first) into a new tensor. */
static int view_permuted(ox_ctx *c, const bb_ox_node *nd, int x, const int64_t dims[5], const int perm[6])
{
    int64_t pd[5];
    for (int i = 0; i < 5; i++)
        pd[i] = dims[perm[i + 1] - 1];
    int v = add_act(c, 5, dims), t = add_act(c, 5, pd);
    ox_op_into(c, nd, BB_OP_RESHAPE, x, v);
    bb_op *op = ox_op_into(c, nd, BB_OP_TRANSPOSE, v, t);
    for (int i = 0; i < 6; i++)
        op->perm[i] = perm[i];
    return t;
}

/* [C', b1, b2, H, W] -> [C', H, b1, W, b2]: DepthToSpace's CRD order. */
static const int CRD_PERM[6] = {0, 1, 4, 2, 5, 3};

/* The sub-pixel conv's weight [M*sh*sw, C/group, mh, mw] (output channel
 * (o*sh + rh)*sw + rw: output channel o's phase (rh, rw)) from
 * ConvTranspose's [C, M/group, kh, kw]. */
static float *subpixel_weight(const bb_ox_val *w, const bb_ox_deconv *d, int64_t mh, int64_t mw)
{
    int64_t og = w->dims[1], cg = w->dims[0] / d->group, n_oc = d->out_c * d->sh * d->sw;
    float *k = calloc((size_t)(n_oc * cg * mh * mw), sizeof *k);
    const float *src = w->data;
    for (int64_t oc = 0; k && oc < n_oc; oc++) {
        int64_t o = oc / (d->sh * d->sw), rh = oc / d->sw % d->sh, rw = oc % d->sw;
        for (int64_t ci = 0; ci < cg; ci++) {
            const float *from = src + (((o / og) * cg + ci) * og + o % og) * d->kh * d->kw;
            float *to = k + (oc * cg + ci) * mh * mw;
            for (int64_t jh = 0; jh < mh; jh++)
                for (int64_t jw = 0; jw < mw; jw++) {
                    int64_t th = (mh - 1 - jh) * d->sh + rh, tw = (mw - 1 - jw) * d->sw + rw;
                    if (th < d->kh && tw < d->kw)
                        to[jh * mw + jw] = from[th * d->kw + tw];
                }
        }
    }
    return k;
}

/* The node of type op that alone reads value v (as its first input, with
 * one output), or -1. */
static int sole_reader(const ox_ctx *c, int v, const char *op)
{
    int k = v >= 0 && c->readers[v] == 1 ? c->reader[v] : -1;
    const bb_ox_node *r = k >= 0 ? &c->m->nodes[k] : NULL;
    return r && !strcmp(r->op_type, op) && r->n_in >= 1 && r->in[0] == v && r->n_out == 1 ? k : -1;
}

/* The BatchNormalization (inference) that alone reads nd's output, or -1:
 * it folds into the sub-pixel conv, which nothing could do after the
 * interleave, as a scale and shift per output channel (st[0..ch) and
 * st[ch..2ch), malloc'ed). Anything else about it (another reader, a
 * parameter computed from the input, training mode) leaves it to its own
 * lowering, which names what is wrong. */
static int bn_reader(ox_ctx *c, const bb_ox_node *nd, int64_t ch, float **st)
{
    int k = sole_reader(c, nd->out[0], "BatchNormalization");
    const bb_ox_node *bn = k >= 0 ? &c->m->nodes[k] : NULL;
    const float *p[4];
    bb_ox_params prm;
    *st = NULL;
    if (!bn || bn->n_in != 5)
        return -1;
    for (int i = 0; i < 4; i++) {
        int u = bn->in[i + 1];
        if (u < 0 || !ox_is_static(c, u) || c->v2[u].dtype != BB_OX_F32 || c->v2[u].numel != ch)
            return -1;
        p[i] = c->v2[u].data;
    }
    if (bb_ox_params_get(c->m, bn, c->v2, &prm, &(bb_err){0}) != 0 || !(*st = ox_bn_scale_shift(p, ch, prm.epsilon)))
        return -1;
    return k;
}

/* The conv's weight and bias tensors: output channel oc is channel o =
 * oc / (sh*sw)'s phase, times st[o] and its bias plus st[out_c + o] when
 * a batch norm folds in (st not NULL); bt -1 without either. */
static int subpixel_params(ox_ctx *c, const bb_ox_node *nd, const bb_ox_val *w, const bb_ox_val *bias,
                           const float *st, const bb_ox_deconv *d, int64_t mh, int64_t mw, int *wt, int *bt)
{
    int64_t ss = d->sh * d->sw, wd[4] = {d->out_c * ss, w->dims[0] / d->group, mh, mw}, row = wd[1] * mh * mw;
    if ((double)wd[0] * (double)row > (double)MAX_WEIGHT)
        return bb_ox_node_err(c->err, c->m, nd, "its weight as a conv would hold %.3g elements (at most %lld)",
                              (double)wd[0] * (double)row, (long long)MAX_WEIGHT);
    float *k = subpixel_weight(w, d, mh, mw), *b = bias || st ? malloc(sizeof(float) * (size_t)wd[0]) : NULL;
    if (!k || ((bias || st) && !b)) {
        free(k), free(b);
        return bb_err_oom(c->err, "%s: out of memory for node '%s''s weight", c->m->path, nd->name);
    }
    for (int64_t oc = 0; b && oc < wd[0]; oc++) {
        const int64_t o = oc / ss;
        b[oc] = bias ? ((const float *)bias->data)[o] : 0.0f;
        if (st)
            b[oc] = b[oc] * st[o] + st[d->out_c + o];
        for (int64_t i = 0; st && i < row; i++)
            k[oc * row + i] *= st[o];
    }
    *wt = ox_const_tensor(c, c->m->values[nd->in[1]].name, BB_T_PARAM, 4, wd, k);
    *bt = b && *wt >= 0 ? ox_const_tensor(c, bias ? c->m->values[nd->in[2]].name : "bn_shift", BB_T_PARAM, 1, wd, b)
                        : -1;
    free(k), free(b);
    return *wt < 0 || (b && *bt < 0) ? -1 : 0;
}

/* The conv's window: stride 1, mh x mw taps, padded by mh-1 / mw-1 in
 * front and as much behind as gives ah x aw positions from h x w. */
static bb_ox_win subpixel_window(int64_t mh, int64_t mw, int64_t h, int64_t w, int64_t ah, int64_t aw)
{
    bb_ox_win win = {.kh = mh, .kw = mw, .sh = 1, .sw = 1, .dil_h = 1, .dil_w = 1, .group = 1};
    win.pad_t = mh - 1, win.pad_l = mw - 1;
    win.pad_b = ah - h, win.pad_r = aw - w; /* ah = h + pad_t + pad_b - (mh - 1) */
    return win;
}

/* Positions of the conv's output along one axis: the input's, m - 1 more,
 * and more while the output (cropped from pad_begin) reaches past them. */
static int64_t conv_positions(int64_t in, int64_t m, int64_t s, int64_t out, int64_t pad_begin)
{
    int64_t a = in + m - 1, past = out + pad_begin - a * s;
    return past > 0 ? a + (past + s - 1) / s : a;
}

/* The sub-pixel conv's geometry: taps and positions per axis, its window,
 * and where the node's output starts in the interleaved result. */
typedef struct {
    int64_t mh, mw, ah, aw, top, left;
    bb_ox_win win;
    int crop; /* the output is a part of the interleaved result (a slice) */
} subpixel;

static subpixel plan_subpixel(const bb_ox_deconv *d, const int64_t in[4])
{
    subpixel p = {.mh = (d->kh + d->sh - 1) / d->sh, .mw = (d->kw + d->sw - 1) / d->sw};
    if (d->sh * d->sw == 1 && d->pad_t <= p.mh - 1 && d->pad_l <= p.mw - 1) { /* stride 1: the pads turned around */
        p.win = subpixel_window(p.mh, p.mw, in[2], in[3], d->out_h, d->out_w);
        p.win.pad_t -= d->pad_t, p.win.pad_l -= d->pad_l, p.win.pad_b += d->pad_t, p.win.pad_r += d->pad_l;
        p.ah = d->out_h, p.aw = d->out_w;
        if (p.win.pad_t == p.win.pad_b && p.win.pad_l == p.win.pad_r)
            return p;
    }
    p.ah = conv_positions(in[2], p.mh, d->sh, d->out_h, d->pad_t);
    p.aw = conv_positions(in[3], p.mw, d->sw, d->out_w, d->pad_l);
    p.win = subpixel_window(p.mh, p.mw, in[2], in[3], p.ah, p.aw);
    /* cuDNN pads both sides alike: where output_padding needs positions
     * behind, as many more in front (cropped) */
    int64_t eh = p.win.pad_b - p.win.pad_t, ew = p.win.pad_r - p.win.pad_l;
    p.win.pad_t += eh, p.win.pad_l += ew, p.ah += eh, p.aw += ew;
    p.top = d->pad_t + eh * d->sh, p.left = d->pad_l + ew * d->sw;
    p.crop = p.top || p.left || p.ah * d->sh != d->out_h || p.aw * d->sw != d->out_w;
    return p;
}

/* The graph's facts as the model's, not the sub-pixel conv's: the
 * ConvTranspose's own weight and bias, the scale and bias of a batch norm
 * folded in (its own lowering would count them), and its MACs, every input
 * position times the whole weight (the conv also multiplies zero taps). */
static void count_as_model(ox_ctx *c, const bb_op *op, const bb_ox_val *w, const bb_ox_val *bias, int bn,
                           const int64_t in[4], int64_t out_c)
{
    bb_graph *g = c->g;
    int64_t lowered = bb_tensor_numel(&g->tensors[op->w]) + (op->b >= 0 ? bb_tensor_numel(&g->tensors[op->b]) : 0);
    g->params_adjust += w->numel + (bias ? bias->numel : 0) + (bn >= 0 ? 2 * out_c : 0) - lowered;
    g->macs_adjust += in[2] * in[3] * w->numel - bb_op_macs(g, op);
}

int ox_lower_convtranspose(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *w = x < 0 ? NULL : ox_in_static(c, nd, 1, "weight"), *bias = NULL;
    if (!w || (nd->n_in > 2 && nd->in[2] >= 0 && !(bias = ox_in_static(c, nd, 2, "bias"))))
        return -1;
    const bb_tensor xt = c->g->tensors[x];
    if (w->ndim != 4 || xt.full_rank || xt.ndim != 3)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs 2-D ConvTranspose on [N,C,H,W] with a "
                              "[C, M/group, kh, kw] weight");
    int64_t in[4] = {1, xt.dims[0], xt.dims[1], xt.dims[2]};
    bb_ox_deconv d;
    if (bb_ox_deconv_get(c->m, nd, in, w->dims, &d, c->err) != 0)
        return -1;
    /* Along an axis of one input position the stride moves nothing: taken
     * as the kernel's size, each output position has one tap and the conv
     * does no work on zeros (a generator's 1x1 start: a 1x1 conv to
     * M*kh*kw channels, whose interleave keeps their order). */
    d.sh = in[2] == 1 ? d.kh : d.sh;
    d.sw = in[3] == 1 ? d.kw : d.sw;
    const subpixel p = plan_subpixel(&d, in);
    const int64_t ss = d.sh * d.sw;
    float *st;
    int wt = -1, bt = -1, bn = bn_reader(c, nd, d.out_c, &st), rc = subpixel_params(c, nd, w, bias, st, &d, p.mh,
                                                                                       p.mw, &wt, &bt);
    free(st);
    if (rc != 0)
        return -1;
    /* the batch norm's output when it folds in; a ReLU after either
     * commutes with the interleave and the crop: the conv's post-op */
    int out_v = bn >= 0 ? c->m->nodes[bn].out[0] : nd->out[0], relu = sole_reader(c, out_v, "Relu");
    out_v = relu >= 0 ? c->m->nodes[relu].out[0] : out_v;
    if (bn >= 0)
        c->done[bn] = 1;
    if (relu >= 0)
        c->done[relu] = 1;
    int direct = ss == 1 && !p.crop; /* the conv's output is the node's */
    int64_t cd[3] = {d.out_c * ss, p.ah, p.aw};
    int y = direct ? -1 : add_act(c, 3, cd);
    bb_op *op = direct ? ox_op(c, nd, BB_OP_CONV, &x, 1, out_v) : ox_op_into(c, nd, BB_OP_CONV, x, y);
    if (!op)
        return -1;
    op->w = wt, op->b = bt, op->groups = (int)d.group;
    op->post_act = relu >= 0 ? BB_ACT_RELU : BB_ACT_NONE;
    ox_set_window(op, &p.win);
    count_as_model(c, op, w, bias, bn, in, d.out_c);
    if (direct)
        return 0;
    if (ss > 1) {
        int64_t v[5] = {d.out_c, d.sh, d.sw, p.ah, p.aw}, f[3] = {d.out_c, p.ah * d.sh, p.aw * d.sw};
        int t = view_permuted(c, nd, y, v, CRD_PERM);
        if (!p.crop)
            return ox_reshape_to(c, nd, t, out_v) ? 0 : -1;
        y = add_act(c, 3, f);
        ox_op_into(c, nd, BB_OP_RESHAPE, t, y);
    }
    bb_op *sl = ox_op(c, nd, BB_OP_SLICE, &y, 1, out_v);
    if (!sl)
        return -1;
    const int64_t start[4] = {0, 0, p.top, p.left};
    for (int a = 0; a < 4; a++)
        sl->starts[a] = start[a], sl->steps[a] = 1;
    return 0;
}

int ox_lower_depthspace(ox_ctx *c, const bb_ox_node *nd)
{
    static const int DCR_PERM[6] = {0, 3, 4, 1, 5, 2}, S2D_PERM[6] = {0, 3, 5, 1, 2, 4};
    int64_t b;
    int crd, x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_depthspace_get(c->m, nd, &b, &crd, c->err) != 0)
        return -1;
    const bb_tensor xt = c->g->tensors[x];
    if (xt.full_rank || xt.ndim != 3)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs %s on [N,C,H,W] only", nd->op_type);
    int64_t ch = xt.dims[0], h = xt.dims[1], w = xt.dims[2];
    int t;
    if (strcmp(nd->op_type, "DepthToSpace")) { /* [C, H/b, b, W/b, b] -> [b, b, C, H/b, W/b] */
        int64_t v[5] = {ch, h / b, b, w / b, b};
        t = view_permuted(c, nd, x, v, S2D_PERM);
    } else if (crd) { /* [C', b, b, H, W] -> [C', H, b, W, b] */
        int64_t v[5] = {ch / (b * b), b, b, h, w};
        t = view_permuted(c, nd, x, v, CRD_PERM);
    } else { /* [b, b, C', H, W] -> [C', H, b, W, b] */
        int64_t v[5] = {b, b, ch / (b * b), h, w};
        t = view_permuted(c, nd, x, v, DCR_PERM);
    }
    return ox_reshape_to(c, nd, t, nd->out[0]) ? 0 : -1;
}

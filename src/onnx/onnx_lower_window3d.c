/*
 * onnx_lower_window3d.c — Conv, MaxPool and AveragePool with 3-D windows
 * over [N, C, T, H, W] (torchvision's video models r3d_18, mc3_18,
 * r2plus1d_18 and s3d), lowered to the 2-D ops both backends already run.
 *
 * How. A window of one pixel in H and W (a (2+1)-D conv's temporal half)
 * is a 2-D window (kt x 1) over [C, T, H*W]: nothing moves. Otherwise the
 * frames, each padded in height (and to a whole number of strides), are
 * stacked along the height axis: one 2-D window sliding over the stack
 * computes every frame's outputs, and the output rows whose window
 * straddles two frames are computed and cut away. The time axis is taken
 * apart into its taps: tap i is the slice of frames i*dil, i*dil + stride,
 * ... . A conv is the sum of kt 2-D convs, tap i's with the weight's time
 * slice i ([M, C/g, kh, kw]; the fusion pass makes each sum the next conv's
 * accumulation). A pool is separable: its time part is the (kt x 1) pool
 * over [C, T, H*W], then the 2-D pool over the stack. The arithmetic is the 3-D
 * window's; what it costs beyond a native 3-D kernel is the copies (the
 * padded input, kt/st slices of it, the cut output) and the cut rows
 * ((kh - sh) / (H + pads) more work).
 *
 * Why it exists apart from onnx_lower.c: the 2-D lowering there maps a node
 * to one op; this maps one to a dozen, with its own geometry.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

typedef struct {
    ox_ctx *c;
    const bb_ox_node *nd;
    bb_ox_win win;
    int64_t ch, t, h, w; /* the input, per item */
    int64_t hb;          /* a frame's height in the stack: padded, a whole number of strides */
    int64_t top;         /* the rows above each frame in the stack (pad_t, or 0: top_in_window) */
    int top_in_window;   /* the 2-D window pads top and bottom by pad_t (see stack_window) */
    int64_t tp;          /* frames after the time padding */
    int64_t heads;       /* an input [N*heads, C, T, H, W] (MViT's pooling per attention head) runs as
                          * [N, heads*C, T, H, W], the window grouped per head; 1 otherwise */
} stack3d;

static int act(stack3d *s, int ndim, const int64_t *dims)
{
    return bb_graph_add_tensor(s->c->g, "", BB_T_ACT, ndim, dims);
}

static int reshaped(stack3d *s, int x, int ndim, const int64_t *dims)
{
    int y = act(s, ndim, dims);
    ox_op_into(s->c, s->nd, BB_OP_RESHAPE, x, y);
    return y;
}

/* x padded in time and height (each frame: `top` rows above, the rest of
 * hb below) with `value`: [C, tp, hb, W]. */
static int pad_frames(stack3d *s, int x, float value)
{
    const bb_ox_win *w = &s->win;
    int64_t below = s->hb - s->h - s->top;
    if (!w->pad_f && !w->pad_k && !s->top && !below)
        return x;
    int64_t d[4] = {s->ch, s->tp, s->hb, s->w};
    int y = act(s, 4, d);
    bb_op *op = ox_op_into(s->c, s->nd, BB_OP_PAD, x, y);
    op->pads[2] = w->pad_f, op->pads[3] = s->top; /* full axes: batch, C, T, H, W */
    op->pads[5 + 2] = w->pad_k, op->pads[5 + 3] = below;
    op->alpha = value, op->pad_mode = BB_PAD_CONSTANT;
    return y;
}

/* Time tap i of x [C, tp, hb, W]: frames i*dil_d, i*dil_d + sd, ..., out_d
 * of them. */
static int time_tap(stack3d *s, int x, int64_t i)
{
    const bb_ox_win *w = &s->win;
    if (s->tp == w->out_d && i == 0 && w->sd == 1)
        return x;
    int64_t d[4] = {s->ch, w->out_d, s->hb, s->w};
    int y = act(s, 4, d);
    bb_op *op = ox_op_into(s->c, s->nd, BB_OP_SLICE, x, y);
    for (int a = 0; a < 5; a++)
        op->starts[a] = 0, op->steps[a] = 1;
    op->starts[2] = i * w->dil_d, op->steps[2] = w->sd; /* full axes: batch, C, T, H, W */
    return y;
}

/* The 2-D window over the stack, giving out_d * hb / sh output rows, frame
 * f's from row f * hb / sh. Where span - sh <= 2 pad_t < span (a "same"
 * conv's padding: 3x3 by 1, 7x7 by 3 at stride 2) each frame's padding is
 * all below it and the window pads pad_t above and below the stack: the
 * rows above frame f > 0 are frame f-1's padding, and the padding is even,
 * which cuDNN needs. Otherwise each frame has its own padding above and
 * the window pads only below, as much as the last frame's rows need. */
static bb_ox_win stack_window(const stack3d *s)
{
    bb_ox_win w = s->win;
    int64_t span = w.dil_h * (w.kh - 1) + 1;
    if (s->top_in_window)
        w.pad_b = w.pad_t;
    else
        w.pad_t = 0, w.pad_b = span > w.sh ? span - w.sh : 0;
    w.ceil_extra_b = 0;
    w.out_h = s->win.out_d * s->hb / w.sh;
    return w;
}

/* The 2-D op's output y [M, out_d * hb/sh, Wo] cut to the frames' rows
 * into the node's output. */
static int unstack(stack3d *s, int y, int64_t m)
{
    const bb_ox_win *w = &s->win;
    int64_t rows = s->hb / w->sh, d[4] = {m, w->out_d, rows, w->out_w};
    if (rows == w->out_h)
        return ox_reshape_to(s->c, s->nd, y, s->nd->out[0]) ? 0 : -1;
    int v = reshaped(s, y, 4, d);
    int64_t cut[4] = {m, w->out_d, w->out_h, w->out_w};
    int o = s->heads > 1 ? act(s, 4, cut) : -1; /* per item, then into the per-head output */
    bb_op *op = o >= 0 ? ox_op_into(s->c, s->nd, BB_OP_SLICE, v, o)
                       : ox_op(s->c, s->nd, BB_OP_SLICE, &v, 1, s->nd->out[0]);
    for (int a = 0; op && a < 5; a++)
        op->starts[a] = 0, op->steps[a] = 1;
    if (op && o >= 0)
        return ox_reshape_to(s->c, s->nd, o, s->nd->out[0]) ? 0 : -1;
    return op ? 0 : -1;
}

/* A window of one pixel in H and W, unit strides, no padding there (a
 * (2+1)-D conv's temporal half, in r2plus1d_18 and s3d): the time window is
 * the 2-D window (kd x 1) over [C, T, H*W], padding and all. */
static int time_only(const bb_ox_win *w)
{
    return w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->pad_t && !w->pad_b && !w->pad_l &&
           !w->pad_r;
}

/* The time part of the window (its kd, sd, dil_d, pads) as a 2-D op with a
 * (kd x 1) window over x [C, T, H*W]: the whole window when time_only, a
 * pool's first half otherwise. Its result [M, To, H, W] goes into the
 * node's output, or (y not NULL) into a new tensor *y. The weights are the
 * caller's. */
static int time_window_op(stack3d *s, int x, bb_op_type type, int64_t m, int wt, int bt, int *y)
{
    const bb_ox_win *w = &s->win;
    int64_t hw = s->h * s->w, v[3] = {s->ch, s->t, hw}, od[3] = {m, w->out_d, hw}, fr[4] = {m, w->out_d, s->h, s->w};
    int xv = reshaped(s, x, 3, v), z = act(s, 3, od);
    bb_op *op = ox_op_into(s->c, s->nd, type, xv, z);
    bb_ox_win w2 = *w;
    w2.kh = w->kd, w2.sh = w->sd, w2.dil_h = w->dil_d, w2.pad_t = w->pad_f, w2.pad_b = w->pad_k;
    w2.ceil_extra_b = w->ceil_extra_k, w2.out_h = w->out_d;
    w2.kw = 1, w2.sw = 1, w2.dil_w = 1, w2.pad_l = w2.pad_r = 0, w2.ceil_extra_r = 0, w2.out_w = hw;
    ox_set_window(op, &w2);
    op->w = wt, op->b = bt, op->groups = (int)w->group;
    if (y)
        return (*y = reshaped(s, z, 4, fr)) >= 0 ? 0 : -1;
    return ox_reshape_to(s->c, s->nd, z, s->nd->out[0]) ? 0 : -1;
}

/* The stack's geometry from the window and the input's size. */
static void derive(stack3d *s)
{
    const bb_ox_win *w = &s->win;
    int64_t hp = s->h + w->pad_t + w->pad_b, span = w->dil_h * (w->kh - 1) + 1;
    s->hb = (hp + w->sh - 1) / w->sh * w->sh;
    s->top_in_window = span - w->sh <= 2 * w->pad_t && 2 * w->pad_t < span;
    s->top = s->top_in_window ? 0 : w->pad_t;
    s->tp = s->t + w->pad_f + w->pad_k;
}

/* The input x, [C, T, H, W] per item or [N*heads, C, T, H, W] (then viewed
 * as [heads*C, T, H, W] per item), and the window. */
static int setup(stack3d *s, ox_ctx *c, const bb_ox_node *nd, int *x, const int64_t *wdims)
{
    const bb_tensor *xt = &c->g->tensors[*x];
    int per_head = xt->full_rank && xt->batch_axis == 0 && xt->ndim == 5;
    if ((xt->full_rank && !per_head) || (!xt->full_rank && xt->ndim != 4))
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs 3-D windows on [N,C,T,H,W] or "
                              "[N*heads,C,T,H,W] inputs only");
    memset(s, 0, sizeof *s);
    s->c = c, s->nd = nd;
    const int64_t *d = xt->dims + per_head;
    s->heads = per_head ? xt->dims[0] : 1;
    s->ch = d[0], s->t = d[1], s->h = d[2], s->w = d[3];
    int64_t in[5] = {1, s->ch, s->t, s->h, s->w};
    if (bb_ox_window_3d(c->m, nd, in, wdims, &s->win, c->err) != 0)
        return -1;
    if (ox_window_fits(c, nd, &s->win) != 0)
        return -1;
    if (s->win.kd > BB_MAX_IN)
        return bb_ox_node_err(c->err, c->m, nd, "window too large (time taps at most %d)", BB_MAX_IN);
    if (per_head) {
        int64_t v[4] = {s->heads * s->ch, s->t, s->h, s->w};
        *x = reshaped(s, *x, 4, v);
        s->ch *= s->heads;
        s->win.group *= s->heads;
        s->win.out_c *= s->heads;
    }
    derive(s);
    return 0;
}

/* The conv's weight and bias once per head (heads > 1): the conv of
 * [heads*C, T, H, W] grouped per head is each head's conv. *tiled owns
 * the weight's data, *bt is the bias tensor (-1: none). */
static int per_head_params(stack3d *s, const bb_ox_val *wv, bb_ox_val *tiled, int *bt)
{
    ox_ctx *c = s->c;
    const bb_ox_node *nd = s->nd;
    const int64_t k = s->heads, m = wv->dims[0];
    *tiled = *wv;
    tiled->dims[0] = k * m, tiled->numel = k * wv->numel, tiled->owned = 1;
    float *w = malloc(sizeof(float) * (size_t)(tiled->numel > 0 ? tiled->numel : 1));
    const bb_ox_val *b = nd->n_in > 2 && nd->in[2] >= 0 ? ox_in_static(c, nd, 2, "bias") : NULL;
    float *bias = b ? malloc(sizeof(float) * (size_t)(k * m)) : NULL;
    tiled->data = w;
    if (!w || (b && !bias)) {
        free(bias);
        return bb_err_oom(c->err, "%s: out of memory repeating a Conv3d weight per head", c->m->path);
    }
    if (nd->n_in > 2 && nd->in[2] >= 0 && (!b || b->numel != m || b->dtype != BB_OX_F32)) {
        free(bias);
        return b ? bb_ox_node_err(c->err, c->m, nd, "bias must be [%lld] floats", (long long)m) : -1;
    }
    for (int64_t h = 0; h < k; h++) {
        memcpy(w + h * wv->numel, wv->data, sizeof(float) * (size_t)wv->numel);
        if (bias)
            memcpy(bias + h * m, b->data, sizeof(float) * (size_t)m);
    }
    int64_t bd[1] = {k * m};
    *bt = bias ? ox_const_tensor(c, ox_value_name(c, nd, 2), BB_T_PARAM, 1, bd, bias) : -1;
    free(bias);
    c->g->params_adjust -= (k - 1) * (wv->numel + (b ? m : 0)); /* the file's weights count once */
    return b && *bt < 0 ? -1 : 0;
}

/* Tap i's weight: [M, C/g, kh, kw] of wv [M, C/g, kd, kh, kw]. */
static int tap_weight(ox_ctx *c, const bb_ox_node *nd, const bb_ox_val *wv, int64_t i)
{
    const int64_t m = wv->dims[0], cg = wv->dims[1], kd = wv->dims[2], khw = wv->dims[3] * wv->dims[4];
    float *wi = malloc(sizeof(float) * (size_t)(m * cg * khw > 0 ? m * cg * khw : 1));
    if (!wi)
        return bb_err_oom(c->err, "%s: out of memory splitting a Conv3d weight", c->m->path);
    for (int64_t o = 0; o < m * cg; o++)
        memcpy(wi + o * khw, (const float *)wv->data + (o * kd + i) * khw, sizeof(float) * (size_t)khw);
    int64_t wd[4] = {m, cg, wv->dims[3], wv->dims[4]};
    int wt = ox_const_tensor(c, ox_value_name(c, nd, 1), BB_T_PARAM, 4, wd, wi);
    free(wi);
    return wt;
}

static int conv3d(stack3d *s, int x, const bb_ox_val *wv, int bt);

int ox_lower_conv3d(ox_ctx *c, const bb_ox_node *nd, int x, const bb_ox_val *wv)
{
    stack3d s;
    if (setup(&s, c, nd, &x, wv->dims) != 0)
        return -1;
    if (s.heads > 1) {
        bb_ox_val tiled;
        int bt = -1, rc = per_head_params(&s, wv, &tiled, &bt);
        rc = rc ? rc : conv3d(&s, x, &tiled, bt);
        free(tiled.data);
        return rc;
    }
    const int64_t m = wv->dims[0];
    int bt = nd->n_in > 2 && nd->in[2] >= 0 ? ox_param_1d(c, nd, 2, m, BB_T_PARAM, "bias") : -1;
    if (nd->n_in > 2 && nd->in[2] >= 0 && bt < 0)
        return -1;
    return conv3d(&s, x, wv, bt);
}

/* The conv of weight wv ([M, C/g, kd, kh, kw]) and bias tensor bt on x. */
static int conv3d(stack3d *sp, int x, const bb_ox_val *wv, int bt)
{
    stack3d s = *sp;
    ox_ctx *c = s.c;
    const bb_ox_node *nd = s.nd;
    const bb_ox_win *w = &s.win;
    const int64_t m = wv->dims[0];
    if (time_only(w)) {
        int64_t wd[4] = {m, wv->dims[1], w->kd, 1};
        int wt = ox_const_tensor(c, ox_value_name(c, nd, 1), BB_T_PARAM, 4, wd, wv->data);
        return wt < 0 ? -1 : time_window_op(&s, x, BB_OP_CONV, m, wt, bt, NULL);
    }
    /* One 2-D conv per time tap over the stacked frames, summed (the
     * fusion pass makes each sum the next conv's accumulation). */
    int p = pad_frames(&s, x, 0.0f), sum = -1;
    bb_ox_win w2d = stack_window(&s);
    int64_t flat[3] = {s.ch, w->out_d * s.hb, s.w}, od[3] = {m, w2d.out_h, w->out_w}, lowered = 0;
    for (int64_t i = 0; i < w->kd; i++) {
        int wt = tap_weight(c, nd, wv, i);
        if (wt < 0)
            return -1;
        int in = reshaped(&s, time_tap(&s, p, i), 3, flat), y = act(&s, 3, od);
        bb_op *op = ox_op_into(c, nd, BB_OP_CONV, in, y);
        op->w = wt, op->b = i == 0 ? bt : -1, op->groups = (int)w->group;
        ox_set_window(op, &w2d);
        lowered += bb_op_macs(c->g, op);
        if (sum >= 0) {
            int z = act(&s, 3, od);
            bb_op *add = bb_graph_add_op(c->g, BB_OP_ADD, nd->name);
            add->n_in = 2, add->in[0] = y, add->in[1] = sum, add->out = z;
            y = z;
        }
        sum = y;
    }
    c->g->macs_adjust += m * w->out_d * w->out_h * w->out_w * (wv->numel / m) - lowered;
    return unstack(&s, sum, m);
}

/* A pool is separable: its time part (time_window_op) first, then the
 * window over H and W on the frames stacked. */
int ox_lower_pool3d(ox_ctx *c, const bb_ox_node *nd, int x)
{
    stack3d s;
    if (setup(&s, c, nd, &x, NULL) != 0)
        return -1;
    bb_ox_win *w = &s.win;
    int avg = !strcmp(nd->op_type, "AveragePool");
    bb_op_type type = avg ? BB_OP_AVGPOOL : BB_OP_MAXPOOL;
    if (ox_pool_refused(c, nd, w) != 0)
        return -1;
    if (time_only(w))
        return time_window_op(&s, x, type, s.ch, -1, -1, NULL);
    if (avg && !w->count_include_pad && (w->pad_t || w->pad_b))
        return bb_ox_node_err(c->err, c->m, nd, "an average pool over a padded height axis that does not "
                              "count the padding is not supported in 3-D");
    if (w->kd > 1 || w->sd > 1 || w->pad_f || w->pad_k) {
        if (time_window_op(&s, x, type, s.ch, -1, -1, &x) != 0)
            return -1;
        s.t = w->out_d;
        w->kd = w->sd = w->dil_d = 1, w->pad_f = w->pad_k = w->ceil_extra_k = 0;
        derive(&s);
    }
    int64_t flat[3] = {s.ch, w->out_d * s.hb, s.w};
    int in = reshaped(&s, pad_frames(&s, x, avg ? 0.0f : -INFINITY), 3, flat);
    bb_ox_win w2d = stack_window(&s);
    int64_t od[3] = {s.ch, w2d.out_h, w->out_w};
    int y = act(&s, 3, od);
    ox_set_window(ox_op_into(c, nd, type, in, y), &w2d);
    return unstack(&s, y, s.ch);
}

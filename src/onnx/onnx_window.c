/*
 * onnx_window.c — the sliding windows of Conv, ConvTranspose's shared
 * attributes, MaxPool, AveragePool and LpPool: kernel, strides, dilations,
 * pads and auto_pad read, range-checked and turned into one bb_ox_win per
 * node, 1-D (ECA's Conv1d), 2-D, or 3-D (a video model's Conv3d).
 *
 * Why it exists apart from onnx_params.c: a window has the most rules of
 * any attribute set (explicit pads against auto_pad, ceil_mode, a window
 * that must fit its padded input, group counts), and the evaluator's shape
 * inference and the importer's lowering must agree on every one of them.
 */
#include "onnx/onnx_params.h"

#include <string.h>

/* One spatial axis: resolves pads (*pb, *pe) and the output size. */
static int win_axis(const bb_ox_ctx *c, const char *ap, int ceil_mode, int64_t in, int64_t k, int64_t s,
                    int64_t d, int64_t *pb, int64_t *pe, int64_t *extra, int64_t *out)
{
    int64_t eff = d * (k - 1) + 1;
    *extra = 0;
    if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + eff - in;
        total = total > 0 ? total : 0;
        *pb = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
        *pe = total - *pb;
    } else {
        if (!strcmp(ap, "VALID"))
            *pb = *pe = 0;
        int64_t span = in + *pb + *pe - eff;
        if (span < 0)
            return bb_ox_cerr(c, "window %lld (dilated) does not fit input size %lld padded by %lld+%lld",
                              (long long)eff, (long long)in, (long long)*pb, (long long)*pe);
        *out = (ceil_mode ? span + s - 1 : span) / s + 1;
        if (ceil_mode && (*out - 1) * s >= in + *pb)
            (*out)--;
        int64_t over = (*out - 1) * s + eff - (in + *pb + *pe);
        if (over > 0) {
            *extra = over;
            *pe += over;
        }
    }
    if (*out < 1)
        return bb_ox_cerr(c, "output size %lld from input size %lld", (long long)*out, (long long)in);
    return 0;
}

/* kernel_shape, strides, dilations and pads of a window over sp spatial
 * axes (1, 2 or 3), as the 3-D window's [T, H, W]: the axes a window lacks
 * (a 2-D one's time, a 1-D one's time and height) have size 1, no padding. */
static int win_ints(const bb_ox_ctx *c, int sp, int64_t k[3], int64_t s[3], int64_t d[3], int64_t pads[6])
{
    int64_t k1[3], s1[3], d1[3], p1[6];
    int r = bb_ox_a_ints_n(c, "kernel_shape", sp, 1, BB_OX_WIN_MAX, 0, k1);
    if (r < 0 || bb_ox_a_ints_n(c, "strides", sp, 1, BB_OX_WIN_MAX, 1, s1) < 0 ||
        bb_ox_a_ints_n(c, "dilations", sp, 1, BB_OX_WIN_MAX, 1, d1) < 0 ||
        bb_ox_a_ints_n(c, "pads", 2 * sp, 0, BB_OX_WIN_MAX, 0, p1) < 0)
        return -1;
    int o = 3 - sp; /* the added axes come first */
    for (int i = 0; i < 3; i++)
        k[i] = 1, s[i] = 1, d[i] = 1, pads[i] = 0, pads[3 + i] = 0;
    for (int i = 0; i < sp; i++)
        k[o + i] = k1[i], s[o + i] = s1[i], d[o + i] = d1[i], pads[o + i] = p1[i], pads[3 + o + i] = p1[sp + i];
    return r;
}

/* wd is 5-D ([M, C/group, kt, kh, kw], kt = 1 for a 2-D window). */
static int win_attrs(const bb_ox_ctx *c, int sp, int conv, const int64_t *wd, bb_ox_win *w, int64_t *pads,
                     const char **ap, int64_t *ceil_mode)
{
    int64_t k[3], s[3], d[3];
    int r = win_ints(c, sp, k, s, d, pads);
    if (r < 0 || bb_ox_a_str(c, "auto_pad", "NOTSET", ap) < 0)
        return -1;
    if (!r && !conv)
        return bb_ox_cerr(c, "attribute 'kernel_shape' is missing");
    char b1[96], b2[96];
    if (conv && r && (k[0] != wd[2] || k[1] != wd[3] || k[2] != wd[4]))
        return bb_ox_cerr(c, "kernel_shape %s differs from the weight's %s", bb_ox_dims_str(k + 3 - sp, sp, b1, sizeof b1),
                          bb_ox_dims_str(wd + 5 - sp, sp, b2, sizeof b2));
    for (int i = 2; conv && i < 5; i++)
        if (wd[i] < 1 || wd[i] > BB_OX_WIN_MAX)
            return bb_ox_cerr(c, "weight kernel %s is not supported", bb_ox_dims_str(wd + 5 - sp, sp, b1, sizeof b1));
    if (strcmp(*ap, "NOTSET") && strcmp(*ap, "SAME_UPPER") && strcmp(*ap, "SAME_LOWER") && strcmp(*ap, "VALID"))
        return bb_ox_cerr(c, "unsupported attribute value auto_pad='%s'", *ap);
    int64_t cip;
    if (bb_ox_a_int_in(c, "ceil_mode", 0, 0, conv ? 0 : 1, ceil_mode) < 0 ||
        bb_ox_a_int_in(c, "count_include_pad", 0, 0, 1, &cip) < 0 ||
        bb_ox_a_int_in(c, "group", 1, 1, conv ? BB_OX_WIN_MAX : 1, &w->group) < 0)
        return -1;
    w->kd = conv ? wd[2] : k[0];
    w->kh = conv ? wd[3] : k[1];
    w->kw = conv ? wd[4] : k[2];
    w->sd = s[0], w->sh = s[1], w->sw = s[2], w->dil_d = d[0], w->dil_h = d[1], w->dil_w = d[2];
    w->count_include_pad = (int)cip;
    return 0;
}

/* in and wd are 5-D ([N,C,T,H,W], a 2-D window's with T = 1). */
static int window(const bb_ox_model *m, const bb_ox_node *nd, int sp, const int64_t in[5], const int64_t *wd,
                  bb_ox_win *w, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .err = err};
    int conv = !strcmp(nd->op_type, "Conv");
    memset(w, 0, sizeof *w);
    if (conv && !wd)
        return bb_ox_cerr(&c, "Conv without weight dims");
    int64_t pads[6], ceil_mode;
    const char *ap;
    if (win_attrs(&c, sp, conv, wd, w, pads, &ap, &ceil_mode) < 0)
        return -1;
    if (conv && (in[1] != wd[1] * w->group || wd[0] % w->group))
        return bb_ox_cerr(&c, "input has %lld channels, weight [%lld,%lld,...] with group %lld expects %lld",
                          (long long)in[1], (long long)wd[0], (long long)wd[1], (long long)w->group,
                          (long long)(wd[1] * w->group));
    w->pad_f = pads[0], w->pad_t = pads[1], w->pad_l = pads[2];
    w->pad_k = pads[3], w->pad_b = pads[4], w->pad_r = pads[5];
    w->out_c = conv ? wd[0] : in[1];
    if (win_axis(&c, ap, (int)ceil_mode, in[2], w->kd, w->sd, w->dil_d, &w->pad_f, &w->pad_k,
                 &w->ceil_extra_k, &w->out_d) < 0 ||
        win_axis(&c, ap, (int)ceil_mode, in[3], w->kh, w->sh, w->dil_h, &w->pad_t, &w->pad_b,
                 &w->ceil_extra_b, &w->out_h) < 0 ||
        win_axis(&c, ap, (int)ceil_mode, in[4], w->kw, w->sw, w->dil_w, &w->pad_l, &w->pad_r,
                 &w->ceil_extra_r, &w->out_w) < 0)
        return -1;
    return 0;
}

/* A window over the last sp axes of an input of rank 2 + sp: in and wd
 * padded to 5-D with leading size-1 spatial axes. */
static int window_n(const bb_ox_model *m, const bb_ox_node *nd, int sp, const int64_t *in, const int64_t *wd,
                    bb_ox_win *w, bb_err *err)
{
    int64_t in5[5] = {in[0], in[1], 1, 1, 1}, wd5[5] = {1, 1, 1, 1, 1};
    for (int i = 0; i < sp; i++)
        in5[5 - sp + i] = in[2 + i];
    if (wd) {
        wd5[0] = wd[0], wd5[1] = wd[1];
        for (int i = 0; i < sp; i++)
            wd5[5 - sp + i] = wd[2 + i];
    }
    return window(m, nd, sp, in5, wd ? wd5 : NULL, w, err);
}

int bb_ox_window(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[4], const int64_t *wd,
                 bb_ox_win *w, bb_err *err)
{
    return window_n(m, nd, 2, in, wd, w, err);
}

int bb_ox_window_1d(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[3], const int64_t *wd,
                    bb_ox_win *w, bb_err *err)
{
    return window_n(m, nd, 1, in, wd, w, err);
}

int bb_ox_window_3d(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[5], const int64_t *wd,
                    bb_ox_win *w, bb_err *err)
{
    return window_n(m, nd, 3, in, wd, w, err);
}

/*
 * onnx_deconv.c — the evaluator's side of the upsampling ops that U-Nets,
 * decoders and super-resolution models export: ConvTranspose (PyTorch's
 * ConvTranspose2d) and DepthToSpace / SpaceToDepth (PixelShuffle and its
 * inverse). Their parameters, checked once, and their shape functions.
 *
 * Why it exists: these ops have attributes of their own (output_padding,
 * blocksize, mode) and no folding kernel; keeping them here leaves
 * onnx_params.c to the ops the classifiers use. How they run is
 * onnx_lower_deconv.c's.
 */
#include <string.h>

#include "onnx/onnx_fold.h"


static int deconv_attrs(const bb_ox_ctx *c, const int64_t wd[4], bb_ox_deconv *d)
{
    int64_t k[2], s[2], dil[2], pads[4], opad[2];
    const char *ap;
    int rk = bb_ox_a_ints_n(c, "kernel_shape", 2, 1, BB_OX_WIN_MAX, 0, k);
    if (rk < 0 || bb_ox_a_ints_n(c, "strides", 2, 1, BB_OX_WIN_MAX, 1, s) < 0 ||
        bb_ox_a_ints_n(c, "dilations", 2, 1, BB_OX_WIN_MAX, 1, dil) < 0 || bb_ox_a_ints_n(c, "pads", 4, 0, BB_OX_WIN_MAX, 0, pads) < 0 ||
        bb_ox_a_ints_n(c, "output_padding", 2, 0, BB_OX_WIN_MAX, 0, opad) < 0 || bb_ox_a_str(c, "auto_pad", "NOTSET", &ap) < 0 ||
        bb_ox_a_int_in(c, "group", 1, 1, BB_OX_WIN_MAX, &d->group) < 0)
        return -1;
    if (rk && (k[0] != wd[2] || k[1] != wd[3]))
        return bb_ox_cerr(c, "kernel_shape [%lld,%lld] differs from the weight's [%lld,%lld]", (long long)k[0],
                          (long long)k[1], (long long)wd[2], (long long)wd[3]);
    if (dil[0] != 1 || dil[1] != 1)
        return bb_ox_cerr(c, "dilations [%lld,%lld]: batchbench runs ConvTranspose with dilation 1 only",
                          (long long)dil[0], (long long)dil[1]);
    if (strcmp(ap, "NOTSET"))
        return bb_ox_cerr(c, "auto_pad='%s': batchbench runs ConvTranspose with explicit pads only", ap);
    if (bb_ox_a_find(c, "output_shape"))
        return bb_ox_cerr(c, "attribute 'output_shape' is not supported (give pads and output_padding)");
    if (opad[0] >= s[0] || opad[1] >= s[1])
        return bb_ox_cerr(c, "output_padding [%lld,%lld] must be smaller than the strides [%lld,%lld]",
                          (long long)opad[0], (long long)opad[1], (long long)s[0], (long long)s[1]);
    d->kh = wd[2], d->kw = wd[3], d->sh = s[0], d->sw = s[1];
    d->pad_t = pads[0], d->pad_l = pads[1], d->pad_b = pads[2], d->pad_r = pads[3];
    d->opad_h = opad[0], d->opad_w = opad[1];
    return 0;
}

int bb_ox_deconv_get(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[4], const int64_t wd[4],
                     bb_ox_deconv *d, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .err = err};
    memset(d, 0, sizeof *d);
    if (deconv_attrs(&c, wd, d) < 0)
        return -1;
    if (wd[2] < 1 || wd[2] > BB_OX_WIN_MAX || wd[3] < 1 || wd[3] > BB_OX_WIN_MAX || wd[1] < 1 || wd[1] > BB_OX_WIN_MAX)
        return bb_ox_cerr(&c, "weight [%lld,%lld,%lld,%lld] is not supported", (long long)wd[0], (long long)wd[1],
                          (long long)wd[2], (long long)wd[3]);
    if (in[1] != wd[0] || wd[0] % d->group)
        return bb_ox_cerr(&c, "input has %lld channels, weight [%lld,%lld,...] with group %lld expects %lld "
                          "(ConvTranspose's weight is [C, M/group, kh, kw])", (long long)in[1], (long long)wd[0],
                          (long long)wd[1], (long long)d->group, (long long)wd[0]);
    d->out_c = wd[1] * d->group;
    d->out_h = d->sh * (in[2] - 1) + d->opad_h + d->kh - d->pad_t - d->pad_b;
    d->out_w = d->sw * (in[3] - 1) + d->opad_w + d->kw - d->pad_l - d->pad_r;
    if (d->out_h < 1 || d->out_w < 1 || d->out_h > BB_OX_WIN_MAX || d->out_w > BB_OX_WIN_MAX)
        return bb_ox_cerr(&c, "output size %lldx%lld from input size %lldx%lld", (long long)d->out_h,
                          (long long)d->out_w, (long long)in[2], (long long)in[3]);
    return 0;
}

int bb_ox_depthspace_get(const bb_ox_model *m, const bb_ox_node *nd, int64_t *block, int *crd, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .err = err};
    const char *mode;
    int64_t b;
    int r = bb_ox_a_int(&c, "blocksize", 0, &b);
    if (r < 0 || bb_ox_a_str(&c, "mode", "DCR", &mode) < 0)
        return -1;
    if (!r)
        return bb_ox_cerr(&c, "attribute 'blocksize' is missing");
    if (b < 1 || b > 1024)
        return bb_ox_cerr(&c, "blocksize %lld is not in 1..1024", (long long)b);
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return bb_ox_cerr(&c, "unsupported attribute value mode='%s' (DCR or CRD)", mode);
    *block = b;
    *crd = !strcmp(mode, "CRD");
    return 0;
}

/* Input i of rank 4, float; else NULL with err. */
static const bb_ox_val *nchw(const bb_ox_ctx *c, int i)
{
    const bb_ox_val *x = bb_ox_in(c, i);
    if (!x)
        return bb_ox_cerr(c, "input %d is missing", i), NULL;
    if (x->ndim != 4 || x->dtype != BB_OX_F32)
        return bb_ox_cerr(c, "input %d ('%s') must be a float [N,C,H,W] tensor (2-D %s only)", i,
                          bb_ox_in_name(c, i), c->nd->op_type), NULL;
    return x;
}

int bb_ox_shape_convtranspose(bb_ox_ctx *c)
{
    const bb_ox_val *x = nchw(c, 0), *w = x ? nchw(c, 1) : NULL, *b = bb_ox_in(c, 2);
    bb_ox_deconv d;
    if (!w || bb_ox_deconv_get(c->m, c->nd, x->dims, w->dims, &d, c->err) < 0)
        return -1;
    if (b && (b->ndim != 1 || b->dims[0] != d.out_c))
        return bb_ox_cerr(c, "shape mismatch: bias has %lld elements for %lld output channels", (long long)b->numel,
                          (long long)d.out_c);
    int64_t y[4] = {x->dims[0], d.out_c, d.out_h, d.out_w};
    return bb_ox_set(c, 0, BB_OX_F32, 4, y);
}

int bb_ox_shape_depthspace(bb_ox_ctx *c)
{
    const bb_ox_val *x = nchw(c, 0);
    int64_t b;
    int crd;
    if (!x || bb_ox_depthspace_get(c->m, c->nd, &b, &crd, c->err) < 0)
        return -1;
    int64_t y[4] = {x->dims[0], x->dims[1], x->dims[2], x->dims[3]};
    if (!strcmp(c->nd->op_type, "DepthToSpace")) {
        if (x->dims[1] % (b * b))
            return bb_ox_cerr(c, "%lld channels do not split into blocks of %lldx%lld", (long long)x->dims[1],
                              (long long)b, (long long)b);
        y[1] /= b * b, y[2] *= b, y[3] *= b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return bb_ox_cerr(c, "height and width %lldx%lld are not multiples of the block size %lld",
                              (long long)x->dims[2], (long long)x->dims[3], (long long)b);
        y[1] *= b * b, y[2] /= b, y[3] /= b;
    }
    return bb_ox_set(c, 0, BB_OX_F32, 4, y);
}

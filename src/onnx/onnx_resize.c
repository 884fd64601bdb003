/*
 * onnx_resize.c — ONNX's Resize as batchbench runs it: [N,C,H,W] to
 * [N,C,H',W'], nearest or bilinear, read once for both the shape
 * evaluation (onnx_eval.c) and the lowering (onnx_lower.c).
 *
 * Why it exists: Resize has many conventions (coordinate transformation,
 * nearest rounding, antialiasing, cubic, cropping). The engine runs the
 * ones where the answer is what oneDNN's resampling computes, half-pixel
 * centres: bilinear with half_pixel / pytorch_half_pixel coordinates
 * (torch's F.interpolate(mode="bilinear", align_corners=False)), and nearest
 * with whole upscaling factors in the two conventions where it then picks
 * input pixel floor(i / factor) (torch's nn.Upsample(mode="nearest") exports
 * asymmetric + floor), and bicubic with half-pixel centres and the
 * border's pixels repeated (torch's F.interpolate(mode="bicubic",
 * align_corners=False): CrossViT's second branch, exclude_outside 0), by
 * any factor given as sizes or as scales that give whole sides (scales
 * that do not are refused in every mode: ONNX then reads pixel i / scale,
 * not i * in / out). A nearest
 * resize by any other factor in asymmetric +
 * floor (torch's F.interpolate(size=..., mode="nearest"), GhostNetV2's
 * 3 to 7) picks floor(i * in / out): with g = gcd(in, out), that is a
 * whole upscaling by out / g followed by a slice with step in / g, which
 * is how it runs (onnx_lower.c). Everything else is refused, naming the
 * attribute. Upsample (opsets 7-9; torch's opset 9 export of
 * F.interpolate and nn.Upsample) is Resize-10 under another name: X and
 * scales, asymmetric coordinates, nearest picking floor.
 */
#include <math.h>
#include <string.h>

#include "onnx/onnx_params.h"

#define MAX_SIDE (1 << 20)
/* A fractional nearest resize's whole upscaling: at most this many times
 * the output's pixels. */
#define MAX_STEPPED 64

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

static int is(const char *a, const char *b)
{
    return !strcmp(a, b);
}

/* Output dims from input `sizes` or `scales` (which input holds which
 * depends on the opset); *exact is 0 when a scale times its input side is
 * not a whole number (then ONNX reads pixel i / scale, not i * in / out):
 * within 1e-6 of one, the two differ by less than float rounding. */
static int out_dims(const bb_ox_ctx *c, const bb_ox_val *x, int64_t out[4], int *exact)
{
    *exact = 1;
    int old = is(c->nd->op_type, "Upsample") || (c->m->opset > 0 && c->m->opset < 11); /* X, scales */
    const bb_ox_val *sz = old ? NULL : bb_ox_in(c, 3), *sc = bb_ox_in(c, old ? 1 : 2);
    if (sz && sz->numel > 0) {
        const int64_t *v;
        int64_t n;
        if (bb_ox_in_ints(c, 3, 4, &v, &n) < 0)
            return -1;
        if (n != 4)
            return bb_ox_cerr(c, "'sizes' has %lld values for a rank-4 input", (long long)n);
        memcpy(out, v, sizeof(int64_t) * 4);
        return 0;
    }
    if (!sc || sc->numel == 0)
        return bb_ox_cerr(c, "neither 'scales' nor 'sizes' is given");
    if (!sc->is_const || sc->dtype != BB_OX_F32 || sc->numel != 4)
        return bb_ox_cerr(c, "'scales' must be 4 constant floats");
    for (int i = 0; i < 4; i++) {
        double s = ((const float *)sc->data)[i];
        if (!(s > 0 && s * (double)x->dims[i] < MAX_SIDE))
            return bb_ox_cerr(c, "unsupported scale %g for axis %d", s, i);
        out[i] = (int64_t)floor((double)x->dims[i] * s);
        /* whole up to the float's rounding (a scale of 1/3 is 0.33333334f) */
        *exact &= fabs((double)out[i] - s * (double)x->dims[i]) <= 1e-6 * (double)(out[i] > 1 ? out[i] : 1);
    }
    return 0;
}

/* The rounding of a nearest resize that picks floor(i / f) for whole f. */
static int nearest_ok(const char *coord, const char *near)
{
    if (is(coord, "asymmetric"))
        return is(near, "floor");
    return (is(coord, "half_pixel") || is(coord, "pytorch_half_pixel")) &&
           (is(near, "round_prefer_floor") || is(near, "round_prefer_ceil"));
}

int bb_ox_resize_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_resize *r,
                     bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    const bb_ox_val *x = bb_ox_in(&c, 0);
    const char *mode, *coord, *near, *policy;
    int64_t antialias, exclude_outside;
    const int64_t *axes;
    int n_axes;
    memset(r, 0, sizeof *r);
    int upsample = is(nd->op_type, "Upsample");
    if (!x || x->ndim != 4)
        return bb_ox_cerr(&c, "batchbench resizes [N,C,H,W] inputs only");
    if (upsample && !bb_ox_in(&c, 1))
        return bb_ox_cerr(&c, "Upsample with its scales as an attribute (opsets 7 and 8) is not supported; "
                          "export with opset 9 or later");
    if (bb_ox_a_str(&c, "mode", "nearest", &mode) < 0 ||
        bb_ox_a_str(&c, "coordinate_transformation_mode", upsample ? "asymmetric" : "half_pixel", &coord) < 0 ||
        bb_ox_a_str(&c, "nearest_mode", upsample ? "floor" : "round_prefer_floor", &near) < 0 ||
        bb_ox_a_str(&c, "keep_aspect_ratio_policy", "stretch", &policy) < 0 ||
        bb_ox_a_int(&c, "antialias", 0, &antialias) < 0 || bb_ox_a_ints(&c, "axes", &axes, &n_axes) < 0 ||
        bb_ox_a_int(&c, "exclude_outside", 0, &exclude_outside) < 0 ||
        bb_ox_a_float(&c, "cubic_coeff_a", -0.75f, &r->cubic_a) < 0)
        return -1;
    if (!is(mode, "nearest") && !is(mode, "linear") && !is(mode, "cubic"))
        return bb_ox_cerr(&c, "unsupported attribute value mode='%s' (batchbench: nearest, linear, cubic)", mode);
    if (antialias || n_axes || !is(policy, "stretch"))
        return bb_ox_cerr(&c, "antialias, axes and keep_aspect_ratio_policy are not supported");
    int exact;
    if (out_dims(&c, x, r->out, &exact) < 0)
        return -1;
    if (r->out[0] != x->dims[0] || r->out[1] != x->dims[1])
        return bb_ox_cerr(&c, "resizes the batch or channel axis (batchbench resizes H and W only)");
    for (int i = 2; i < 4; i++)
        if (r->out[i] < 1 || r->out[i] > MAX_SIDE)
            return bb_ox_cerr(&c, "output size %lld on axis %d", (long long)r->out[i], i);
    /* ONNX maps output pixel i to input i / scale with the scale as given,
     * where the engine (oneDNN's resampling, the stepped nearest) maps by
     * out / in: the two differ unless scale x side is whole. */
    if (!exact)
        return bb_ox_cerr(&c, "%s resize by scales that do not give whole sides (%lldx%lld to %lldx%lld) is not "
                          "supported (give sizes)", mode, (long long)x->dims[2], (long long)x->dims[3],
                          (long long)r->out[2], (long long)r->out[3]);
    r->linear = is(mode, "linear"), r->cubic = is(mode, "cubic");
    if (r->cubic && exclude_outside)
        return bb_ox_cerr(&c, "cubic resize with exclude_outside=1 is not supported (batchbench repeats the "
                          "border's pixels)");
    if (r->linear || r->cubic) {
        if (is(coord, "half_pixel") || (is(coord, "pytorch_half_pixel") && r->out[2] > 1 && r->out[3] > 1))
            return 0;
        return bb_ox_cerr(&c, "%s resize with coordinate_transformation_mode='%s' is not supported "
                          "(batchbench: half_pixel, pytorch_half_pixel)", mode, coord);
    }
    int whole = 1;
    for (int i = 2; i < 4; i++) {
        int64_t g = gcd(x->dims[i], r->out[i]);
        r->up[i - 2] = r->out[i] / g, r->step[i - 2] = x->dims[i] / g;
        whole &= r->step[i - 2] == 1;
    }
    if (r->out[2] == x->dims[2] && r->out[3] == x->dims[3])
        return 0;
    if (!nearest_ok(coord, near))
        return bb_ox_cerr(&c, "nearest resize with coordinate_transformation_mode='%s' and nearest_mode='%s' "
                          "is not supported (batchbench: asymmetric with floor, half_pixel with round_prefer_*)",
                          coord, near);
    if (whole)
        return 0;
    if (!is(coord, "asymmetric"))
        return bb_ox_cerr(&c, "nearest resize by a factor that is not a whole number (%lld to %lld on axis 2, "
                          "%lld to %lld on axis 3) is supported with coordinate_transformation_mode='asymmetric' "
                          "only",
                          (long long)x->dims[2], (long long)r->out[2], (long long)x->dims[3], (long long)r->out[3]);
    if (x->dims[2] * r->up[0] * x->dims[3] * r->up[1] > MAX_STEPPED * r->out[2] * r->out[3])
        return bb_ox_cerr(&c, "nearest resize from %lldx%lld to %lldx%lld: its whole upscaling by %lldx%lld would be "
                          "more than %d times the output (not supported)", (long long)x->dims[2],
                          (long long)x->dims[3], (long long)r->out[2], (long long)r->out[3], (long long)r->up[0],
                          (long long)r->up[1], MAX_STEPPED);
    return 0;
}

/*
 * onnx_resize.c — ONNX's Resize (and Upsample) as batchbench runs it:
 * [N,C,H,W] to [N,C,H',W'], read once for both the shape evaluation
 * (onnx_ops.c) and the lowering (onnx_lower_move.c) into the engine's
 * description of a resize (engine/resize.h).
 *
 * Why it exists: Resize has many conventions, and the file's attributes
 * must be checked and mapped onto the engine's in one place. batchbench
 * runs nearest (any rounding), linear and cubic (Keys' kernel, with or
 * without exclude_outside) in every coordinate transformation but
 * tf_crop_and_resize, by scales or sizes, on all four axes or on the ones
 * `axes` names, with keep_aspect_ratio_policy; the batch and channel axes
 * keep their size. Refused, naming the attribute: antialias,
 * tf_crop_and_resize, and scales that would resize N or C. Upsample
 * (opsets 7-9; torch's opset-9 export of F.interpolate and nn.Upsample) is
 * Resize-10 under another name: X and scales, asymmetric coordinates,
 * nearest picking floor.
 */
#include <math.h>
#include <string.h>

#include "onnx/onnx_params.h"

#define MAX_SIDE (1 << 20)

static int is(const char *a, const char *b)
{
    return !strcmp(a, b);
}

static int coord_of(const bb_ox_ctx *c, const char *name, bb_resize *rs)
{
    for (int i = 0; i < BB_RC_COUNT; i++)
        if (is(name, bb_resize_coord_name((bb_resize_coord)i))) {
            rs->coord = (bb_resize_coord)i;
            return 0;
        }
    return bb_ox_cerr(c, "unsupported attribute value coordinate_transformation_mode='%s' (batchbench: half_pixel, "
                      "pytorch_half_pixel, align_corners, asymmetric, half_pixel_symmetric, tf_half_pixel_for_nn)",
                      name);
}

static int round_of(const bb_ox_ctx *c, const char *name, bb_resize *rs)
{
    for (int i = 0; i < BB_RN_COUNT; i++)
        if (is(name, bb_resize_round_name((bb_resize_round)i))) {
            rs->round = (bb_resize_round)i;
            return 0;
        }
    return bb_ox_cerr(c, "unsupported attribute value nearest_mode='%s'", name);
}

/* The axes the scales or sizes are given for: `axes` (opset 18), else all
 * four; each at most once. */
static int axes_of(const bb_ox_ctx *c, int *ax, int *n_ax)
{
    const int64_t *a;
    int n;
    if (bb_ox_a_ints(c, "axes", &a, &n) < 0)
        return -1;
    if (n == 0) {
        for (int i = 0; i < 4; i++)
            ax[i] = i;
        *n_ax = 4;
        return 0;
    }
    if (n > 4)
        return bb_ox_cerr(c, "'axes' has %d values for a rank-4 input", n);
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        int64_t k;
        if (bb_ox_axis(c, a[i], 4, &k) < 0)
            return -1;
        if (seen & (1u << k))
            return bb_ox_cerr(c, "'axes' names axis %lld twice", (long long)k);
        seen |= 1u << k, ax[i] = (int)k;
    }
    *n_ax = n;
    return 0;
}

/* keep_aspect_ratio_policy for sizes: one scale for the given axes, the
 * smallest (not_larger) or largest (not_smaller) of size / input, each
 * side its input times that, rounded. */
static int keep_aspect(const bb_ox_ctx *c, const char *policy, const bb_ox_val *x, const int *ax, int n_ax,
                       int64_t out[4], double scale[4])
{
    const int larger = is(policy, "not_smaller");
    if (!larger && !is(policy, "not_larger"))
        return bb_ox_cerr(c, "unsupported attribute value keep_aspect_ratio_policy='%s'", policy);
    double s = 0;
    for (int i = 0; i < n_ax; i++) {
        const double r = (double)out[ax[i]] / (double)x->dims[ax[i]];
        s = i == 0 ? r : larger ? fmax(s, r) : fmin(s, r);
    }
    for (int i = 0; i < n_ax; i++)
        out[ax[i]] = (int64_t)round(s * (double)x->dims[ax[i]]), scale[ax[i]] = s;
    return 0;
}

/* Output dims and per-axis scales from `sizes` or `scales` (which input
 * holds which depends on the opset), for the axes given. */
static int out_dims(const bb_ox_ctx *c, const bb_ox_val *x, const char *policy, int64_t out[4], double scale[4])
{
    int ax[4] = {0}, n_ax = 0;
    if (axes_of(c, ax, &n_ax) < 0)
        return -1;
    for (int i = 0; i < 4; i++)
        out[i] = x->dims[i], scale[i] = 1.0;
    int old = is(c->nd->op_type, "Upsample") || (c->m->opset > 0 && c->m->opset < 11); /* X, scales */
    const bb_ox_val *sz = old ? NULL : bb_ox_in(c, 3), *sc = bb_ox_in(c, old ? 1 : 2);
    if (sz && sz->numel > 0) {
        const int64_t *v;
        int64_t n;
        if (bb_ox_in_ints(c, 3, 4, &v, &n) < 0)
            return -1;
        if (n != n_ax)
            return bb_ox_cerr(c, "'sizes' has %lld values for %d axes", (long long)n, n_ax);
        for (int i = 0; i < n_ax; i++) {
            if (v[i] < 1 || v[i] > MAX_SIDE || x->dims[ax[i]] < 1)
                return bb_ox_cerr(c, "size %lld for axis %d of %lld", (long long)v[i], ax[i],
                                  (long long)x->dims[ax[i]]);
            out[ax[i]] = v[i], scale[ax[i]] = (double)v[i] / (double)x->dims[ax[i]];
        }
        return is(policy, "stretch") ? 0 : keep_aspect(c, policy, x, ax, n_ax, out, scale);
    }
    if (!sc || sc->numel == 0)
        return bb_ox_cerr(c, "neither 'scales' nor 'sizes' is given");
    if (!sc->is_const || sc->dtype != BB_OX_F32 || sc->numel != n_ax)
        return bb_ox_cerr(c, "'scales' must be %d constant floats", n_ax);
    for (int i = 0; i < n_ax; i++) {
        double s = ((const float *)sc->data)[i];
        if (!(s > 0 && s * (double)x->dims[ax[i]] < MAX_SIDE))
            return bb_ox_cerr(c, "unsupported scale %g for axis %d", s, ax[i]);
        out[ax[i]] = (int64_t)floor((double)x->dims[ax[i]] * s), scale[ax[i]] = s;
    }
    return 0;
}

/* Reads the attributes into r->rs (mode, coordinates, rounding, cubic's). */
static int read_attrs(const bb_ox_ctx *c, int old, bb_ox_resize *r, const char **policy)
{
    const char *mode, *coord, *near;
    int64_t antialias, exclude_outside;
    if (bb_ox_a_str(c, "mode", "nearest", &mode) < 0 ||
        bb_ox_a_str(c, "coordinate_transformation_mode", old ? "asymmetric" : "half_pixel", &coord) < 0 ||
        bb_ox_a_str(c, "nearest_mode", old ? "floor" : "round_prefer_floor", &near) < 0 ||
        bb_ox_a_str(c, "keep_aspect_ratio_policy", "stretch", policy) < 0 ||
        bb_ox_a_int(c, "antialias", 0, &antialias) < 0 ||
        bb_ox_a_int(c, "exclude_outside", 0, &exclude_outside) < 0 ||
        bb_ox_a_float(c, "cubic_coeff_a", -0.75f, &r->rs.cubic_a) < 0)
        return -1;
    if (is(mode, "nearest"))
        r->rs.mode = BB_RESIZE_NEAREST;
    else if (is(mode, "linear"))
        r->rs.mode = BB_RESIZE_LINEAR;
    else if (is(mode, "cubic"))
        r->rs.mode = BB_RESIZE_CUBIC;
    else
        return bb_ox_cerr(c, "unsupported attribute value mode='%s' (batchbench: nearest, linear, cubic)", mode);
    if (antialias)
        return bb_ox_cerr(c, "antialias is not supported");
    if (is(coord, "tf_crop_and_resize"))
        return bb_ox_cerr(c, "coordinate_transformation_mode='tf_crop_and_resize' is not supported");
    r->rs.exclude_outside = exclude_outside != 0;
    return coord_of(c, coord, &r->rs) < 0 || round_of(c, near, &r->rs) < 0 ? -1 : 0;
}

int bb_ox_resize_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_resize *r,
                     bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    const bb_ox_val *x = bb_ox_in(&c, 0);
    const char *policy;
    double scale[4];
    memset(r, 0, sizeof *r);
    /* Upsample and Resize-10 have neither coordinate_transformation_mode
     * nor nearest_mode: asymmetric, and floor where upscaling (ONNX Runtime
     * takes the ceiling where downscaling, which the spec does not say) */
    int upsample = is(nd->op_type, "Upsample"), old = upsample || (m->opset > 0 && m->opset < 11);
    if (!x || x->ndim != 4)
        return bb_ox_cerr(&c, "batchbench resizes [N,C,H,W] inputs only");
    if (upsample && !bb_ox_in(&c, 1))
        return bb_ox_cerr(&c, "Upsample with its scales as an attribute (opsets 7 and 8) is not supported; "
                          "export with opset 9 or later");
    if (read_attrs(&c, old, r, &policy) < 0 || out_dims(&c, x, policy, r->out, scale) < 0)
        return -1;
    if (old && r->rs.mode == BB_RESIZE_NEAREST && (scale[2] < 1 || scale[3] < 1))
        return bb_ox_cerr(&c, "a nearest %s that downscales is not supported (opset %lld leaves its rounding "
                          "undefined; export with opset 11 or later)", nd->op_type, (long long)m->opset);
    if (r->out[0] != x->dims[0] || r->out[1] != x->dims[1] || fabs(scale[0] - 1) > 1e-6 || fabs(scale[1] - 1) > 1e-6)
        return bb_ox_cerr(&c, "resizes the batch or channel axis (batchbench resizes H and W only)");
    for (int i = 2; i < 4; i++)
        if (r->out[i] < 1 || r->out[i] > MAX_SIDE)
            return bb_ox_cerr(&c, "output size %lld on axis %d", (long long)r->out[i], i);
    /* align_corners divides by the output's length less 1: ONNX's reference
     * takes scale x side there, ONNX Runtime the whole output side; they
     * agree only where the two are equal */
    for (int i = 2; i < 4; i++)
        if (r->rs.coord == BB_RC_ALIGN_CORNERS &&
            fabs((double)r->out[i] - scale[i] * (double)x->dims[i]) > 1e-6 * (double)r->out[i])
            return bb_ox_cerr(&c, "align_corners resize by a scale that does not give a whole side (%lld x %g on "
                              "axis %d) is not supported: ONNX's reference and ONNX Runtime differ there (give "
                              "sizes)", (long long)x->dims[i], scale[i], i);
    r->rs.scale[0] = scale[2], r->rs.scale[1] = scale[3];
    return 0;
}

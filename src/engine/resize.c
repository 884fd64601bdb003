/*
 * resize.c — the taps of a resize (resize.h): for each output row or
 * column, the input pixels it reads and their weights, by ONNX's formulas.
 *
 * Why it exists: one place holds the arithmetic of every resize convention
 * batchbench runs, so that the backends only apply taps. Coordinates are
 * computed in double; indices outside the input read its border (ONNX pads
 * the input with its edge values), except for a cubic resize with
 * exclude_outside, whose outside taps weigh 0.
 */
#include "engine/resize.h"

#include <math.h>
#include <stdlib.h>

static const char *const coord_names[BB_RC_COUNT] = {
    "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric", "tf_half_pixel_for_nn",
};
static const char *const round_names[BB_RN_COUNT] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

const char *bb_resize_coord_name(bb_resize_coord c)
{
    return c >= 0 && c < BB_RC_COUNT ? coord_names[c] : "?";
}

const char *bb_resize_round_name(bb_resize_round n)
{
    return n >= 0 && n < BB_RN_COUNT ? round_names[n] : "?";
}

/* Input coordinate of output pixel o on a side resized from n to m. */
static double source_of(const bb_resize *r, double scale, int64_t n, int64_t m, int64_t o)
{
    const double x = (double)o;
    switch (r->coord) {
    case BB_RC_PYTORCH_HALF_PIXEL:
        return m > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case BB_RC_ALIGN_CORNERS:
        return m > 1 ? x * (double)(n - 1) / (double)(m - 1) : 0.0;
    case BB_RC_ASYMMETRIC:
        return x / scale;
    case BB_RC_HALF_PIXEL_SYMMETRIC: {
        /* the output's whole pixels centred on the scaled input's */
        const double adjustment = (double)m / (scale * (double)n), centre = (double)n / 2.0;
        return centre * (1.0 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    case BB_RC_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / scale;
    case BB_RC_HALF_PIXEL:
    default:
        return (x + 0.5) / scale - 0.5;
    }
}

static int64_t clamp_index(int64_t i, int64_t n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* The pixel a nearest resize reads at coordinate s: s itself where whole,
 * else floor or floor + 1 by the rounding. */
static int64_t nearest_of(bb_resize_round round, double s)
{
    const double f = floor(s), frac = s - f;
    int up;
    if (frac == 0.0)
        return (int64_t)f;
    switch (round) {
    case BB_RN_ROUND_PREFER_CEIL: up = frac >= 0.5; break;
    case BB_RN_FLOOR: up = 0; break;
    case BB_RN_CEIL: up = 1; break;
    case BB_RN_ROUND_PREFER_FLOOR:
    default: up = frac > 0.5; break;
    }
    return (int64_t)f + up;
}

/* Keys' cubic convolution (parameter a) at the 4 taps around a source
 * coordinate of fraction t: the taps at -1, 0, 1 and 2. */
static void cubic_weights(double t, double a, double *w)
{
    const double u = t + 1.0, v = 1.0 - t, z = 2.0 - t;
    w[0] = ((a * u - 5.0 * a) * u + 8.0 * a) * u - 4.0 * a;
    w[1] = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    w[2] = ((a + 2.0) * v - (a + 3.0)) * v * v + 1.0;
    w[3] = ((a * z - 5.0 * a) * z + 8.0 * a) * z - 4.0 * a;
}

static void cubic_tap(const bb_resize *r, double s, int64_t n, bb_resize_tap *t)
{
    const double f = floor(s);
    double w[4], sum = 0.0;
    cubic_weights(s - f, r->cubic_a, w);
    for (int k = 0; k < 4; k++) {
        const int64_t i = (int64_t)f - 1 + k;
        if (r->exclude_outside && (i < 0 || i >= n))
            w[k] = 0.0;
        sum += w[k];
        t->at[k] = clamp_index(i, n);
    }
    for (int k = 0; k < 4; k++)
        t->w[k] = (float)(r->exclude_outside && sum != 0.0 ? w[k] / sum : w[k]);
}

int bb_resize_taps(const bb_resize *r, int axis, int64_t n, int64_t m, bb_resize_tap *t)
{
    const double scale = r->scale[axis];
    const int taps = r->mode == BB_RESIZE_CUBIC ? 4 : r->mode == BB_RESIZE_LINEAR ? 2 : 1;
    for (int64_t o = 0; o < m; o++) {
        const double s = source_of(r, scale, n, m, o);
        bb_resize_tap *p = &t[o];
        for (int k = 0; k < BB_RESIZE_TAPS; k++)
            p->at[k] = 0, p->w[k] = 0.f;
        if (r->mode == BB_RESIZE_CUBIC) {
            cubic_tap(r, s, n, p);
        } else if (r->mode == BB_RESIZE_LINEAR) {
            const double f = floor(s);
            p->at[0] = clamp_index((int64_t)f, n), p->at[1] = clamp_index((int64_t)f + 1, n);
            p->w[0] = (float)(1.0 - (s - f)), p->w[1] = (float)(s - f);
        } else {
            p->at[0] = clamp_index(nearest_of(r->round, s), n), p->w[0] = 1.f;
        }
    }
    return taps;
}

bb_resize_tap *bb_resize_plan(const bb_resize *r, const int64_t in[2], const int64_t out[2], int *nt)
{
    bb_resize_tap *t = malloc(sizeof *t * (size_t)(out[1] + out[0]));
    if (t) {
        *nt = bb_resize_taps(r, 1, in[1], out[1], t);
        bb_resize_taps(r, 0, in[0], out[0], t + out[1]);
    }
    return t;
}

/* scale x in is out, up to the float's rounding (a scale of 1/3 is
 * 0.33333334f) */
static int exact(double scale, int64_t in, int64_t out)
{
    return fabs((double)out - scale * (double)in) <= 1e-6 * (double)(out > 1 ? out : 1);
}

int bb_resize_is_resampling(const bb_resize *r, const int64_t in[2], const int64_t out[2])
{
    for (int a = 0; a < 2; a++) {
        if (!exact(r->scale[a], in[a], out[a]))
            return 0;
        if (r->mode == BB_RESIZE_CUBIC)
            return 0;
        if (r->mode == BB_RESIZE_LINEAR) {
            if (!(r->coord == BB_RC_HALF_PIXEL || r->coord == BB_RC_HALF_PIXEL_SYMMETRIC ||
                  (r->coord == BB_RC_PYTORCH_HALF_PIXEL && out[a] > 1)))
                return 0;
            continue;
        }
        /* nearest: oneDNN's half-pixel rounding picks floor(o / f) for a
         * whole factor f (or o itself, f = 1) */
        if (out[a] % in[a] != 0)
            return 0;
        const int64_t f = out[a] / in[a];
        for (int64_t o = 0; o < out[a]; o++)
            if (clamp_index(nearest_of(r->round, source_of(r, r->scale[a], in[a], out[a], o)), in[a]) != o / f)
                return 0;
    }
    return 1;
}

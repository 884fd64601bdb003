/*
 * resample.c — torchvision's Resize(256) + CenterCrop(224) geometry and PIL's
 * antialiased bilinear resample (image_transform.h).
 *
 * Why this file exists: to produce the same 8-bit pixels as
 * PIL.Image.resize(size, BILINEAR) the coefficients must be computed as PIL
 * computes them (libImaging/Resample.c, written here from its description):
 * for output pixel i of a pass from `in` to `out` pixels,
 *   scale = in / out, filterscale = max(scale, 1), support = filterscale
 *   center = (i + 0.5) * scale
 *   taps j in [lo, hi): lo = (int)(center - support + 0.5) clipped to >= 0,
 *                       hi = (int)(center + support + 0.5) clipped to <= in
 *   w_j = triangle((j - center + 0.5) / filterscale), normalised to sum 1,
 *   then fixed point: (int)(0.5 + w_j * 2^22)
 * and each pass sums pixel * w_j from 2^21 (rounding), shifts right by 22 and
 * clips to 0..255. The horizontal pass runs first, into an 8-bit image of
 * the rows the vertical pass needs. A pass that keeps the size is the
 * identity under these coefficients (one tap of weight 1), so PIL's
 * skipping of it changes nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/image_transform.h"

#define FRAC_BITS 22 /* PIL's PRECISION_BITS = 32 - 8 - 2 */

typedef struct {
    int count, ksize; /* output pixels; coefficients stored per pixel */
    int *lo, *n;      /* first input pixel and number of taps, per output pixel */
    int32_t *k;       /* count * ksize fixed-point weights */
} taps;

void bb_resize_size(int w, int h, int short_side, int *new_w, int *new_h)
{
    int s = w <= h ? w : h, l = w <= h ? h : w;
    int new_long = (int)((double)short_side * l / s); /* Python: int(size * long / short) */
    *new_w = w <= h ? short_side : new_long;
    *new_h = w <= h ? new_long : short_side;
}

/* int(round((size - crop) / 2.0)) with Python's round: half to even. */
int bb_center_crop_offset(int size, int crop)
{
    int d = size - crop, half = d / 2;
    if (d % 2 != 0 && half % 2 != 0)
        half += d > 0 ? 1 : -1;
    return half;
}

static double triangle(double x)
{
    x = x < 0.0 ? -x : x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static void taps_free(taps *t)
{
    free(t->lo);
    free(t->n);
    free(t->k);
}

/* One output pixel's weights: PIL's arithmetic, operation for operation. */
static void taps_one(taps *t, int i, double center, double support, double inv, int in_size, double *w)
{
    int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
    lo = lo < 0 ? 0 : lo;
    hi = hi > in_size ? in_size : hi;
    double sum = 0.0;
    for (int j = 0; j < hi - lo; j++) {
        w[j] = triangle((j + lo - center + 0.5) * inv);
        sum += w[j];
    }
    int32_t *k = t->k + (size_t)i * t->ksize;
    for (int j = 0; j < hi - lo; j++) {
        double q = sum != 0.0 ? w[j] / sum : w[j];
        k[j] = (int32_t)(0.5 + q * (1 << FRAC_BITS)); /* weights are >= 0 */
    }
    t->lo[i] = lo;
    t->n[i] = hi - lo > 0 ? hi - lo : 0;
}

/* Taps for output pixels from .. from+count-1 of an in_size -> out_size pass. */
static int taps_make(taps *t, int in_size, int out_size, int from, int count)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    memset(t, 0, sizeof *t);
    t->count = count;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->lo = malloc(sizeof(int) * (size_t)count);
    t->n = malloc(sizeof(int) * (size_t)count);
    t->k = calloc((size_t)count * (size_t)t->ksize, sizeof(int32_t));
    double *w = malloc(sizeof(double) * (size_t)t->ksize);
    if (!t->lo || !t->n || !t->k || !w) {
        free(w);
        taps_free(t);
        return -1;
    }
    for (int i = 0; i < count; i++)
        taps_one(t, i, (from + i + 0.5) * scale, support, 1.0 / filterscale, in_size, w);
    free(w);
    return 0;
}

static unsigned char clip8(int32_t v)
{
    if (v < 0)
        return 0;
    v >>= FRAC_BITS;
    return (unsigned char)(v > 255 ? 255 : v);
}

/* Rows y0 .. y0+rows-1 of `in`, resampled horizontally to t->count pixels. */
static void pass_h(const bb_rgb_image *in, int y0, int rows, const taps *t, unsigned char *out)
{
    for (int y = 0; y < rows; y++) {
        const unsigned char *src = in->px + (size_t)(y0 + y) * (size_t)in->w * 3;
        unsigned char *d = out + (size_t)y * (size_t)t->count * 3;
        for (int x = 0; x < t->count; x++, d += 3) {
            const int32_t *k = t->k + (size_t)x * t->ksize;
            const unsigned char *s = src + (size_t)t->lo[x] * 3;
            int32_t r = 1 << (FRAC_BITS - 1), g = r, b = r;
            for (int j = 0; j < t->n[x]; j++, s += 3) {
                r += s[0] * k[j];
                g += s[1] * k[j];
                b += s[2] * k[j];
            }
            d[0] = clip8(r), d[1] = clip8(g), d[2] = clip8(b);
        }
    }
}

#define ROW (BB_CROP * 3) /* bytes in a row of the crop: a constant, so the loops vectorise */

/* Each output row from the ROW-byte rows of `in` (input row y0 first). */
static void pass_v(const unsigned char *in, int y0, const taps *t, unsigned char *out)
{
    int32_t acc[ROW];
    for (int y = 0; y < t->count; y++) {
        const int32_t *k = t->k + (size_t)y * t->ksize;
        for (int i = 0; i < ROW; i++)
            acc[i] = 1 << (FRAC_BITS - 1);
        for (int j = 0; j < t->n[y]; j++) {
            const unsigned char *row = in + (size_t)(t->lo[y] - y0 + j) * ROW;
            for (int i = 0; i < ROW; i++)
                acc[i] += row[i] * k[j];
        }
        for (int i = 0; i < ROW; i++)
            out[(size_t)y * ROW + i] = clip8(acc[i]);
    }
}

int bb_resize_crop(const bb_rgb_image *in, int new_w, int new_h, int left, int top, unsigned char *dst,
                   bb_err *err)
{
    if (left < 0 || top < 0 || left + BB_CROP > new_w || top + BB_CROP > new_h || in->w < 1 || in->h < 1)
        return bb_err_set(err, "crop %dx%d at (%d,%d) does not fit a %dx%d image", BB_CROP, BB_CROP, left, top,
                          new_w, new_h);
    taps th, tv;
    if (taps_make(&th, in->w, new_w, left, BB_CROP) != 0)
        return bb_err_oom(err, "out of memory for resample coefficients");
    if (taps_make(&tv, in->h, new_h, top, BB_CROP) != 0) {
        taps_free(&th);
        return bb_err_oom(err, "out of memory for resample coefficients");
    }
    int y0 = tv.lo[0], y1 = tv.lo[BB_CROP - 1] + tv.n[BB_CROP - 1]; /* input rows the crop needs */
    unsigned char *mid = malloc((size_t)ROW * (size_t)(y1 - y0 > 0 ? y1 - y0 : 1));
    int rc = mid ? 0 : bb_err_oom(err, "out of memory for a %dx%d resample", BB_CROP, y1 - y0);
    if (rc == 0) {
        pass_h(in, y0, y1 - y0, &th, mid);
        pass_v(mid, y0, &tv, dst);
    }
    free(mid);
    taps_free(&th);
    taps_free(&tv);
    return rc;
}

/*
 * resize.h — what a resize op computes, independent of any backend: how an
 * output pixel maps onto the input (ONNX's coordinate transformation), how
 * a nearest resize rounds, and the taps (source pixels and weights) of each
 * output row and column that follow.
 *
 * Why it exists: ONNX's Resize has a dozen conventions, and torch exports
 * several of them (bilinear and bicubic with and without align_corners,
 * nearest by any size). The CPU backend runs the two that oneDNN's
 * resampling computes (half-pixel centres, whole factors) through oneDNN and
 * every other one through one separable kernel fed by these taps; a CUDA
 * lowering would read the same taps. The formulas are ONNX's (Resize-19),
 * with the border's pixels repeated.
 */
#ifndef BB_ENGINE_RESIZE_H
#define BB_ENGINE_RESIZE_H

#include <stdint.h>

typedef enum { BB_RESIZE_NEAREST, BB_RESIZE_LINEAR, BB_RESIZE_CUBIC } bb_resize_mode;

/* x_in as a function of x_out, with scale = out / in as the file gives it */
typedef enum {
    BB_RC_HALF_PIXEL,            /* (x + 0.5) / scale - 0.5 */
    BB_RC_PYTORCH_HALF_PIXEL,    /* half_pixel, or 0 where the output side is 1 */
    BB_RC_ALIGN_CORNERS,         /* x * (in - 1) / (out - 1), or 0 where out is 1 */
    BB_RC_ASYMMETRIC,            /* x / scale */
    BB_RC_HALF_PIXEL_SYMMETRIC,  /* half_pixel shifted so the output stays centred (opset 19) */
    BB_RC_TF_HALF_PIXEL_FOR_NN,  /* (x + 0.5) / scale */
    BB_RC_COUNT
} bb_resize_coord;

/* a nearest resize's rounding of x_in */
typedef enum { BB_RN_ROUND_PREFER_FLOOR, BB_RN_ROUND_PREFER_CEIL, BB_RN_FLOOR, BB_RN_CEIL, BB_RN_COUNT } bb_resize_round;

typedef struct {
    bb_resize_mode mode;
    bb_resize_coord coord;
    bb_resize_round round;       /* nearest only */
    int exclude_outside;         /* cubic: taps outside the input weigh 0, the rest renormalised */
    float cubic_a;               /* Keys' parameter (ONNX's cubic_coeff_a; torch's is -0.75) */
    double scale[2];             /* H's and W's: the file's scales, or out / in where it gives sizes */
} bb_resize;

/* One output row's or column's taps: up to 4 source indices (inside the
 * input) and their weights; unused taps weigh 0. */
#define BB_RESIZE_TAPS 4
typedef struct {
    int64_t at[BB_RESIZE_TAPS];
    float w[BB_RESIZE_TAPS];
} bb_resize_tap;

/* The taps of side `axis` (0: H, 1: W) resized from n to m pixels, one per
 * output pixel into t[0..m-1]. Returns how many taps each has: 1 (nearest),
 * 2 (linear) or 4 (cubic). */
int bb_resize_taps(const bb_resize *r, int axis, int64_t n, int64_t m, bb_resize_tap *t);

/* Both sides' taps in one array, as the backends read them: out[1] (W's
 * columns), then out[0] (H's rows), from a side of in[0] x in[1]; *nt
 * taps each. NULL when out of memory; the caller frees it. */
bb_resize_tap *bb_resize_plan(const bb_resize *r, const int64_t in[2], const int64_t out[2], int *nt);

/* 1 where output pixel i of every side reads input floor(i * in / out) or
 * the half-pixel interpolation at the same scale: what oneDNN's resampling
 * computes (nearest by whole upscaling factors in the two conventions that
 * pick floor(i / factor); linear with half-pixel centres), given in/out
 * [H, W]. */
int bb_resize_is_resampling(const bb_resize *r, const int64_t in[2], const int64_t out[2]);

const char *bb_resize_coord_name(bb_resize_coord c);
const char *bb_resize_round_name(bb_resize_round n);

#endif

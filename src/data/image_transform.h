/*
 * image_transform.h — the ImageNet inference transform in C, equal to what
 * the seed ran in Python on every JPEG:
 *
 *   PIL.Image.open(f).convert('RGB') -> torchvision Resize(256)
 *   -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std)
 *
 * Why this file exists: the data-loading benchmark has to spend the work a
 * PyTorch DataLoader worker spends per image, and produce the same tensor.
 * Each step reproduces its Python counterpart:
 *   decode   libjpeg(-turbo), RGB out, JDCT_ISLOW and fancy upsampling (the
 *            libjpeg defaults PIL keeps; Debian's PIL links the same library)
 *   resize   shorter side 256, longer int(256 * long / short); PIL's
 *            antialiased BILINEAR resample: separable, horizontal pass into
 *            an 8-bit image, then vertical, fixed-point coefficients with 22
 *            fraction bits, rounding and clipping as PIL does (Resample.c)
 *   crop     224 x 224 at top = round((h - 224) / 2), left likewise, with
 *            Python's round (half to even), as torchvision's CenterCrop
 *   tensor   float32 CHW, (x / 255 - mean) / std in float32
 * Only the crop window of the resized image is computed: every output pixel
 * depends only on its own coefficients, so the numbers are the same.
 * Measured against torchvision: tools/transform_parity.py.
 *
 * dct_scale (an option, off by default): libjpeg decodes at M/8 scale, the
 * smallest M whose shorter side is still >= 256, before the same resize
 * (geometry taken from the full-size image). The pixels differ from PIL's
 * (mean ~4 levels on the synthetic set; tools/transform_parity.py). It pays
 * off on large photographs (700..1000 px: 1.24x faster), not on 350..500 px
 * ones, where M is 5..7 and libjpeg-turbo's M/8 inverse DCTs are plain C
 * while its full-size one is SIMD: there it is ~15% slower.
 *
 * Everything here is thread-safe: no global mutable state, scratch memory is
 * allocated per call.
 */
#ifndef BB_IMAGE_TRANSFORM_H
#define BB_IMAGE_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BB_RESIZE_SHORT 256
#define BB_CROP 224

typedef struct {
    int w, h;
    unsigned char *px; /* malloc'd, h rows of w RGB pixels (3 bytes each) */
} bb_rgb_image;

/* Decodes a JPEG into out (out->px malloc'd; free it). *full_w / *full_h get
 * the image's size before any dct_scale reduction. -1 with "corrupt JPEG:
 * <libjpeg message>" or "truncated JPEG: ..." on failure (out->px NULL). */
int bb_jpeg_decode(const unsigned char *data, size_t len, int dct_scale, bb_rgb_image *out, int *full_w,
                   int *full_h, bb_err *err);

/* torchvision Resize(short_side) on a w x h image: the new size. */
void bb_resize_size(int w, int h, int short_side, int *new_w, int *new_h);
/* torchvision CenterCrop: the offset of a crop of `crop` in `size`. */
int bb_center_crop_offset(int size, int crop);

/* The BB_CROP x BB_CROP window at (left, top) of `in` resized to new_w x
 * new_h with PIL's antialiased bilinear filter, as RGB bytes into dst. */
int bb_resize_crop(const bb_rgb_image *in, int new_w, int new_h, int left, int top, unsigned char *dst,
                   bb_err *err);

/* n RGB pixels -> float32 CHW [3][n], (x / 255 - mean) / std. */
void bb_normalize_chw(const unsigned char *rgb, int n, float *dst);

/* The whole transform of JPEG bytes into dst[3*224*224]. */
int bb_imagenet_transform(const unsigned char *jpeg, size_t len, int dct_scale, float *dst, bb_err *err);

/* Reads path and transforms it: the bytes read, or -1 with the message
 * prefixed by the path ("DIR/img.jpg: corrupt JPEG: ..."). */
int64_t bb_imagenet_transform_file(const char *path, int dct_scale, float *dst, bb_err *err);

#endif

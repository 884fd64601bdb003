/*
 * image_transform.c — JPEG decode and the ImageNet inference transform
 * (image_transform.h); the resample itself is in resample.c.
 */
#include "data/image_transform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "data/jpeg_err.h"

#define MAX_SIDE 32768 /* refuse absurd headers before allocating */

/* torchvision's Normalize constants, as the float32 tensors it builds. */
static const float MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float STD[3] = {0.229f, 0.224f, 0.225f};

/* dct_scale: the smallest M/8 whose shorter side stays >= 256, among
 * M = 1, 2, 4 only. libjpeg-turbo 2.1 has SIMD inverse DCTs for those
 * sizes (and 8/8) but plain C for the others: on the 350-500 px data set
 * 5/8..7/8 decoded slower than the full size (1.37 ms at 6/8 against
 * 1.08 ms at 8/8 per image), while 1/2 on 700-1000 px images was 1.24x
 * faster than the full decode. */
static void choose_scale(struct jpeg_decompress_struct *c)
{
    for (unsigned m = 1; m <= 4; m *= 2) {
        c->scale_num = m, c->scale_denom = 8;
        jpeg_calc_output_dimensions(c);
        JDIMENSION s = c->output_width < c->output_height ? c->output_width : c->output_height;
        if (s >= BB_RESIZE_SHORT)
            return;
    }
    c->scale_num = c->scale_denom = 1;
}

static void read_rows(struct jpeg_decompress_struct *c, bb_rgb_image *out)
{
    while (c->output_scanline < c->output_height) {
        JSAMPROW row = out->px + (size_t)c->output_scanline * (size_t)out->w * 3;
        jpeg_read_scanlines(c, &row, 1);
    }
}

/* Everything between setjmp and the end of decoding; libjpeg errors land
 * back here with 1 from setjmp. No local of this frame changes after it. */
static int decode_body(struct jpeg_decompress_struct *c, bb_jpeg_err *je, const unsigned char *data, size_t len,
                       int dct_scale, bb_rgb_image *out, int *full)
{
    if (setjmp(je->jump))
        return -1;
    jpeg_mem_src(c, data, (unsigned long)len);
    jpeg_read_header(c, TRUE);
    full[0] = (int)c->image_width, full[1] = (int)c->image_height;
    if (c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK)
        return snprintf(je->msg, sizeof je->msg, "unsupported JPEG: CMYK colour space"), -1;
    if (full[0] > MAX_SIDE || full[1] > MAX_SIDE)
        return snprintf(je->msg, sizeof je->msg, "unsupported JPEG: %dx%d is too large", full[0], full[1]), -1;
    c->out_color_space = JCS_RGB;
    if (dct_scale)
        choose_scale(c);
    jpeg_start_decompress(c);
    out->w = (int)c->output_width, out->h = (int)c->output_height;
    out->px = malloc((size_t)out->w * (size_t)out->h * 3);
    if (!out->px)
        return snprintf(je->msg, sizeof je->msg, "out of memory for a %dx%d image", out->w, out->h), -1;
    read_rows(c, out);
    jpeg_finish_decompress(c);
    return 0;
}

int bb_jpeg_decode(const unsigned char *data, size_t len, int dct_scale, bb_rgb_image *out, int *full_w,
                   int *full_h, bb_err *err)
{
    struct jpeg_decompress_struct c;
    bb_jpeg_err je;
    int full[2] = {0, 0};
    memset(out, 0, sizeof *out);
    c.err = bb_jpeg_err_init(&je);
    jpeg_create_decompress(&c);
    int rc = decode_body(&c, &je, data, len, dct_scale, out, full);
    jpeg_destroy_decompress(&c);
    if (rc != 0) {
        free(out->px);
        memset(out, 0, sizeof *out);
        return bb_err_set(err, "%s", je.msg);
    }
    *full_w = full[0], *full_h = full[1];
    return 0;
}

/* A table per channel: the same float32 operations as torch, done once per
 * 8-bit value instead of once per pixel. */
void bb_normalize_chw(const unsigned char *rgb, int n, float *dst)
{
    float lut[3][256];
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < 256; v++)
            lut[ch][v] = ((float)v / 255.0f - MEAN[ch]) / STD[ch];
    float *r = dst, *g = dst + n, *b = dst + 2 * (size_t)n;
    for (int i = 0; i < n; i++, rgb += 3)
        r[i] = lut[0][rgb[0]], g[i] = lut[1][rgb[1]], b[i] = lut[2][rgb[2]];
}

int bb_imagenet_transform(const unsigned char *jpeg, size_t len, int dct_scale, float *dst, bb_err *err)
{
    bb_rgb_image im;
    int fw, fh, nw, nh;
    if (bb_jpeg_decode(jpeg, len, dct_scale, &im, &fw, &fh, err) != 0)
        return -1;
    /* Geometry from the full-size image, so dct_scale only changes pixels. */
    bb_resize_size(fw, fh, BB_RESIZE_SHORT, &nw, &nh);
    unsigned char *crop = malloc((size_t)BB_CROP * BB_CROP * 3);
    int rc = crop ? 0 : bb_err_oom(err, "out of memory for a crop");
    if (rc == 0 && (nw < BB_CROP || nh < BB_CROP))
        rc = bb_err_set(err, "unsupported JPEG: %dx%d resizes to %dx%d, smaller than the %d crop", fw, fh, nw, nh,
                        BB_CROP);
    if (rc == 0)
        rc = bb_resize_crop(&im, nw, nh, bb_center_crop_offset(nw, BB_CROP), bb_center_crop_offset(nh, BB_CROP),
                            crop, err);
    if (rc == 0)
        bb_normalize_chw(crop, BB_CROP * BB_CROP, dst);
    free(crop);
    free(im.px);
    return rc;
}

/* The whole file into a malloc'd buffer; errno-style message on failure. */
static unsigned char *read_all(const char *path, size_t *len, bb_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got < (size_t)st.st_size) {
        bb_err_set(err, buf ? "%s: short read" : "%s: out of memory", path);
        free(buf);
        return NULL;
    }
    *len = got;
    return buf;
}

int64_t bb_imagenet_transform_file(const char *path, int dct_scale, float *dst, bb_err *err)
{
    size_t len = 0;
    unsigned char *data = read_all(path, &len, err);
    if (!data)
        return -1;
    bb_err e = {0};
    int rc = bb_imagenet_transform(data, len, dct_scale, dst, &e);
    free(data);
    if (rc != 0) {
        if (e.oom)
            return bb_err_oom(err, "%s: %s", path, e.msg);
        return bb_err_set(err, "%s: %s", path, e.msg);
    }
    return (int64_t)len;
}

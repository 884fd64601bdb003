/*
 * jpeg_synth.c — synthetic photograph-like JPEGs (jpeg_synth.h).
 *
 * An image is smooth structure plus texture plus noise:
 *   structure  a base colour with a linear gradient, 5 Gaussian blobs
 *              (30..160 px) and 3 low-frequency waves (periods 150..600 px),
 *              each a separable term X_k[x] * Y_k[y] with its own colour
 *   texture    value noise (random values on a grid, bilinear in between)
 *              in 4 octaves, cells of 16, 8, 4 and 2 px, finer octaves
 *              stronger, each octave with its own colour weights (so there
 *              is chroma detail too), faded by a low-frequency mask
 *   noise      triangular pixel noise, in luminance and per channel
 * Tables per row and column keep it at a few tens of operations per pixel.
 * TEXTURE, NOISE, CHROMA and MASK0 set the bytes per pixel; with quality 95
 * they give a mean of about 116 KB (200 images, seed 0: 116.5 KB). Quality
 * 90 reaches that size only with texture so strong that ~5% of the pixels
 * clip and the images look like static; at 95 the texture stays moderate.
 */
#include "data/jpeg_synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/jpeg_err.h"
#include "util/atomic_file.h"
#include "util/make_dirs.h"

#include <cjson/cJSON.h>

#define MIN_SIDE 350
#define MAX_SIDE 500
#define N_SMOOTH 8 /* 5 blobs + 3 waves */
#define N_BLOBS 5
#define N_OCT 4    /* value-noise octaves, cells of 16, 8, 4, 2 px */
#define TEXTURE 40.0f /* value-noise amplitude scale, in 8-bit levels */
#define NOISE 10.0f   /* luminance pixel noise half-width (triangular), levels */
#define CHROMA 4.0f   /* per-channel pixel noise half-width, levels */
#define MASK0 0.7f    /* texture strength in its weakest patches (mask 0.4..1) */
#define TWO_PI 6.283185307179586

typedef struct {
    uint64_t s;
} rng;

static uint64_t next(rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uni(rng *r, double a, double b)
{
    return a + (b - a) * (double)(next(r) >> 11) * 0x1.0p-53;
}

/* Value noise: random values on a grid of `cell` px, bilinear in between. */
typedef struct {
    int cell, gw;
    float *grid; /* (h / cell + 2) rows of gw values */
} octave;

typedef struct {
    int w, h;
    float base[3], gx[3], gy[3], tex_col[N_OCT][3];
    float *x[N_SMOOTH + 1], *y[N_SMOOTH + 1]; /* last: the texture mask */
    float col[N_SMOOTH][3];
    octave oct[N_OCT];
} scene;

static void blob(scene *s, int k, rng *r)
{
    double cx = uni(r, 0, s->w), cy = uni(r, 0, s->h), rx = uni(r, 30, 160), ry = uni(r, 30, 160);
    for (int i = 0; i < s->w; i++)
        s->x[k][i] = (float)exp(-((i - cx) / rx) * ((i - cx) / rx));
    for (int j = 0; j < s->h; j++)
        s->y[k][j] = (float)exp(-((j - cy) / ry) * ((j - cy) / ry));
}

/* cos(fx x + px) * cos(fy y + py) with periods between p0 and p1 pixels. */
static void wave(scene *s, int k, rng *r, double p0, double p1)
{
    double fx = TWO_PI / uni(r, p0, p1), fy = TWO_PI / uni(r, p0, p1), px = uni(r, 0, 6.3), py = uni(r, 0, 6.3);
    for (int i = 0; i < s->w; i++)
        s->x[k][i] = (float)cos(fx * i + px);
    for (int j = 0; j < s->h; j++)
        s->y[k][j] = (float)cos(fy * j + py);
}

static void scene_terms(scene *s, rng *r)
{
    for (int c = 0; c < 3; c++) {
        s->base[c] = (float)uni(r, 60, 190);
        s->gx[c] = (float)(uni(r, -70, 70) / s->w), s->gy[c] = (float)(uni(r, -70, 70) / s->h);
    }
    for (int k = 0; k < N_SMOOTH; k++) {
        if (k < N_BLOBS)
            blob(s, k, r);
        else
            wave(s, k, r, 150, 600);
        for (int c = 0; c < 3; c++)
            s->col[k][c] = (float)uni(r, k < N_BLOBS ? -90 : -25, k < N_BLOBS ? 90 : 25);
    }
    wave(s, N_SMOOTH, r, 200, 500); /* the texture mask */
    for (int o = 0; o < N_OCT; o++) {
        octave *v = &s->oct[o];
        for (int i = 0; i < v->gw * (s->h / v->cell + 2); i++)
            v->grid[i] = TEXTURE * (0.4f + 0.3f * (float)o) * (float)uni(r, -1, 1);
        for (int c = 0; c < 3; c++)
            s->tex_col[o][c] = (float)uni(r, 0.4, 1.6);
    }
}

static void scene_free(scene *s)
{
    for (int k = 0; k < N_SMOOTH + 1; k++)
        free(s->x[k]), free(s->y[k]);
    for (int o = 0; o < N_OCT; o++)
        free(s->oct[o].grid);
}

static int scene_make(scene *s, rng *r)
{
    memset(s, 0, sizeof *s);
    s->w = MIN_SIDE + (int)(next(r) % (MAX_SIDE - MIN_SIDE + 1));
    s->h = MIN_SIDE + (int)(next(r) % (MAX_SIDE - MIN_SIDE + 1));
    int fail = 0;
    for (int k = 0; k < N_SMOOTH + 1; k++)
        fail |= !(s->x[k] = malloc(sizeof(float) * (size_t)s->w)) | !(s->y[k] = malloc(sizeof(float) * (size_t)s->h));
    for (int o = 0; o < N_OCT; o++) {
        octave *v = &s->oct[o];
        v->cell = 16 >> o, v->gw = s->w / v->cell + 2;
        fail |= !(v->grid = malloc(sizeof(float) * (size_t)v->gw * (size_t)(s->h / v->cell + 2)));
    }
    if (fail)
        return scene_free(s), -1;
    scene_terms(s, r);
    return 0;
}

static float octave_at(const octave *v, int x, int y)
{
    int ix = x / v->cell, iy = y / v->cell;
    float fx = (float)(x % v->cell) / (float)v->cell, fy = (float)(y % v->cell) / (float)v->cell;
    const float *g0 = v->grid + (size_t)iy * (size_t)v->gw + ix, *g1 = g0 + v->gw;
    float top = g0[0] + (g0[1] - g0[0]) * fx, bottom = g1[0] + (g1[1] - g1[0]) * fx;
    return top + (bottom - top) * fy;
}

static unsigned char to8(float v)
{
    return (unsigned char)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
}

/* Two triangular noise values in [-1, 1] from one 64-bit draw. */
static void noise2(rng *r, float *a, float *b)
{
    uint64_t v = next(r);
    *a = ((float)(v & 0xFFFF) + (float)((v >> 16) & 0xFFFF)) / 65535.0f - 1.0f;
    *b = ((float)((v >> 32) & 0xFFFF) + (float)(v >> 48)) / 65535.0f - 1.0f;
}

static void render_row(const scene *s, int y, rng *r, unsigned char *out)
{
    float yk[N_SMOOTH + 1];
    for (int k = 0; k < N_SMOOTH + 1; k++)
        yk[k] = s->y[k][y];
    for (int x = 0; x < s->w; x++) {
        float v[3], tex[3] = {0}, mask = MASK0 + (1 - MASK0) * s->x[N_SMOOTH][x] * yk[N_SMOOTH], n[4];
        for (int c = 0; c < 3; c++)
            v[c] = s->base[c] + s->gx[c] * (float)(x - s->w / 2) + s->gy[c] * (float)(y - s->h / 2);
        for (int k = 0; k < N_SMOOTH; k++) {
            float f = s->x[k][x] * yk[k];
            v[0] += s->col[k][0] * f, v[1] += s->col[k][1] * f, v[2] += s->col[k][2] * f;
        }
        for (int o = 0; o < N_OCT; o++) {
            float t = octave_at(&s->oct[o], x, y) * mask;
            tex[0] += t * s->tex_col[o][0], tex[1] += t * s->tex_col[o][1], tex[2] += t * s->tex_col[o][2];
        }
        noise2(r, &n[0], &n[1]);
        noise2(r, &n[2], &n[3]);
        for (int c = 0; c < 3; c++)
            out[3 * x + c] = to8(v[c] + tex[c] + NOISE * n[0] + CHROMA * n[1 + c]);
    }
}

/* Compression between setjmp and the end; errors come back as 1. */
static int encode_body(struct jpeg_compress_struct *c, bb_jpeg_err *je, const unsigned char *rgb, int w, int h,
                       int quality, unsigned char **out, unsigned long *len)
{
    if (setjmp(je->jump))
        return -1;
    jpeg_mem_dest(c, out, len);
    c->image_width = (JDIMENSION)w, c->image_height = (JDIMENSION)h;
    c->input_components = 3, c->in_color_space = JCS_RGB;
    jpeg_set_defaults(c); /* YCbCr 4:2:0, JDCT_ISLOW, standard Huffman tables */
    jpeg_set_quality(c, quality, TRUE);
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c->next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

/* Into a buffer we allocate: raw size + 64 KB, more than these images need
 * at any quality (quality 100: at most 0.42 of the raw size). Were it
 * outgrown, libjpeg would malloc a bigger one, and ours is freed here. */
static int encode(const unsigned char *rgb, int w, int h, int quality, unsigned char **jpeg, size_t *len, bb_err *err)
{
    struct jpeg_compress_struct c;
    bb_jpeg_err je;
    unsigned long cap = (unsigned long)w * (unsigned long)h * 3 + 65536, n = cap;
    unsigned char *mine = malloc(cap), *buf = mine;
    if (!mine)
        return bb_err_oom(err, "out of memory for a %dx%d JPEG", w, h);
    c.err = bb_jpeg_err_init(&je);
    jpeg_create_compress(&c);
    int rc = encode_body(&c, &je, rgb, w, h, quality, &buf, &n);
    jpeg_destroy_compress(&c);
    if (buf != mine)
        free(mine);
    if (rc != 0) {
        free(buf);
        return bb_err_set(err, "cannot encode a JPEG: %s", je.msg);
    }
    *jpeg = buf, *len = (size_t)n;
    return 0;
}

int bb_jpeg_synth_image(uint64_t seed, int64_t index, int quality, unsigned char **jpeg, size_t *len, bb_err *err)
{
    rng r = {seed * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)index * 0xD1B54A32D192ED03ULL + 0x632BE59BD9B4E019ULL)};
    scene s;
    if (scene_make(&s, &r) != 0)
        return bb_err_oom(err, "out of memory for a synthetic image");
    unsigned char *rgb = malloc((size_t)s.w * (size_t)s.h * 3);
    int rc = rgb ? 0 : bb_err_oom(err, "out of memory for a %dx%d image", s.w, s.h);
    for (int y = 0; rc == 0 && y < s.h; y++)
        render_row(&s, y, &r, rgb + (size_t)y * (size_t)s.w * 3);
    if (rc == 0)
        rc = encode(rgb, s.w, s.h, quality, jpeg, len, err);
    free(rgb);
    scene_free(&s);
    return rc;
}

static int write_image(const char *dir, uint64_t seed, int64_t i, int quality, int64_t *size, bb_err *err)
{
    unsigned char *jpeg = NULL;
    size_t len = 0;
    char path[4200];
    if (bb_jpeg_synth_image(seed, i, quality, &jpeg, &len, err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/images/img-%05lld.jpg", dir, (long long)i);
    int rc = bb_write_atomic(path, jpeg, len, "JPEG image", err);
    free(jpeg);
    *size = (int64_t)len;
    return rc;
}

static int write_manifest(const char *dir, int64_t items, uint64_t seed, int quality, int64_t total, bb_err *err)
{
    cJSON *m = cJSON_CreateObject(), *files;
    cJSON_AddStringToObject(m, "format", "batchbench-dataset");
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddStringToObject(m, "kind", "jpeg");
    cJSON_AddNumberToObject(m, "items", (double)items);
    cJSON_AddNumberToObject(m, "bytes", (double)total);
    cJSON_AddNumberToObject(m, "seed", (double)seed);
    cJSON_AddNumberToObject(m, "quality", quality);
    files = cJSON_AddArrayToObject(m, "files");
    for (int64_t i = 0; i < items; i++) {
        char name[64];
        snprintf(name, sizeof name, "images/img-%05lld.jpg", (long long)i);
        cJSON_AddItemToArray(files, cJSON_CreateString(name));
    }
    char *text = cJSON_Print(m), path[4200];
    cJSON_Delete(m);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int rc = text ? bb_write_atomic(path, text, strlen(text), "data set manifest", err)
                  : bb_err_oom(err, "out of memory for the manifest");
    free(text);
    return rc;
}

/* dir and dir/images. */
static int make_dirs(const char *dir, bb_err *err)
{
    char path[4200];
    if (strlen(dir) > 4000)
        return bb_err_set(err, "%s: folder name too long", dir);
    snprintf(path, sizeof path, "%s/images", dir);
    return bb_make_dirs(path, err);
}

int bb_jpeg_synth_make(const char *dir, int64_t items, uint64_t seed, int quality, int64_t *total_bytes, bb_err *err)
{
    if (items < 1 || quality < 1 || quality > 100)
        return bb_err_set(err, "a JPEG data set needs at least one item and a quality in 1..100");
    if (make_dirs(dir, err) != 0)
        return -1;
    int64_t total = 0, first_bad = -1;
    /* Each image depends only on (seed, index): the files are the same for
     * any thread count; the error reported is the lowest failing index's. */
#pragma omp parallel for schedule(dynamic) reduction(+ : total)
    for (int64_t i = 0; i < items; i++) {
        int64_t size = 0, bad;
#pragma omp atomic read
        bad = first_bad;
        if (bad >= 0)
            continue;
        bb_err e = {0};
        if (write_image(dir, seed, i, quality, &size, &e) != 0) {
#pragma omp critical(bb_jpeg_synth_err)
            if (first_bad < 0 || i < first_bad) {
                first_bad = i;
                *err = e;
            }
        }
        total += size;
    }
    if (first_bad >= 0)
        return -1;
    *total_bytes = total;
    return write_manifest(dir, items, seed, quality, total, err);
}

/*
 * test_source.c — unit tests for src/data/source.c and the pieces under it
 * (image_transform.c, resample.c, jpeg_synth.c, jpeg_err.c).
 *
 * Why this file exists: the loader's workers call bb_source_load on both
 * kinds of data set from many threads, and a corrupt file must become a
 * counted, named failure rather than a crash or an exit. These tests check
 * that a preprocessed source returns exactly bb_dataset_read's floats; that
 * a jpeg source (made by the synthetic writer) loads every item into the
 * normalised range and reports the bytes read; that a garbage file and a
 * truncated one fail with the path and the reason while the other items
 * still load; that 4 threads loading concurrently get the same floats as
 * one thread; that bad manifests are refused with the file named; and the
 * transform's geometry against values computed with torchvision's formulas.
 * Pixel parity with torchvision itself is tools/transform_parity.py's job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image_transform.h"
#include "data/jpeg_synth.h"
#include "data/source.h"

#define N_JPEG 6
#define N_PRE 5

static char g_dir[64];

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    return p[k];
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/bb_source_test_XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    bb_err err = {0};
    int64_t bytes = 0;
    if (bb_dataset_make(tpath("pre"), N_PRE, 2, 7, &err) != 0 ||
        bb_jpeg_synth_make(tpath("jpg"), N_JPEG, 3, BB_JPEG_SYNTH_QUALITY, &bytes, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bb_source *open_ok(const char *dir, int dct)
{
    bb_source *s = NULL;
    bb_err err = {0};
    bb_source_opts o = {.dct_scale = dct};
    int rc = bb_source_open(&s, dir, &o, &err);
    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", dir, err.msg);
    assert_int_equal(rc, 0);
    return s;
}

static void test_preprocessed_equals_dataset_read(void **state)
{
    (void)state;
    bb_source *s = open_ok(tpath("pre"), 0);
    bb_dataset ds;
    bb_err err = {0};
    assert_int_equal(bb_dataset_open(&ds, tpath("pre"), &err), 0);
    assert_string_equal(bb_source_kind(s), "preprocessed");
    assert_int_equal(bb_source_items(s), N_PRE);
    assert_true(bb_source_item_bytes(s) == (double)BB_ITEM_FLOATS * 4);
    float *a = malloc(sizeof(float) * BB_ITEM_FLOATS), *b = malloc(sizeof(float) * BB_ITEM_FLOATS);
    for (int64_t i = 0; i < N_PRE; i++) {
        assert_int_equal(bb_source_load(s, i, a, &err), (int64_t)BB_ITEM_FLOATS * 4);
        assert_int_equal(bb_dataset_read(&ds, i, 1, b, &err), 0);
        assert_memory_equal(a, b, sizeof(float) * BB_ITEM_FLOATS);
    }
    assert_int_equal(bb_source_load(s, N_PRE, a, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    free(a), free(b);
    bb_dataset_close(&ds);
    bb_source_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_jpeg_loads(void **state)
{
    (void)state;
    bb_source *s = open_ok(tpath("jpg"), 0);
    assert_string_equal(bb_source_kind(s), "jpeg");
    assert_int_equal(bb_source_items(s), N_JPEG);
    float *x = malloc(sizeof(float) * BB_ITEM_FLOATS);
    double total = 0;
    for (int64_t i = 0; i < N_JPEG; i++) {
        char name[64];
        bb_err err = {0};
        snprintf(name, sizeof name, "jpg/images/img-%05lld.jpg", (long long)i);
        assert_int_equal(bb_source_load(s, i, x, &err), file_size(tpath(name)));
        total += (double)file_size(tpath(name));
        float lo = 1e9f, hi = -1e9f;
        for (int k = 0; k < BB_ITEM_FLOATS; k++)
            lo = x[k] < lo ? x[k] : lo, hi = x[k] > hi ? x[k] : hi;
        /* (0 - 0.485) / 0.229 .. (1 - 0.406) / 0.225, and not constant */
        assert_true(lo >= -2.1180f && hi <= 2.6401f && hi - lo > 1.0f);
    }
    assert_true(fabs(bb_source_item_bytes(s) - total / N_JPEG) < 1e-6);
    free(x);
    bb_source_close(s);
}

/* dct_scale decodes smaller but keeps the geometry: close to the full path. */
/* The synthetic images are 350-500 px: no scale of 1/8, 2/8 or 4/8 keeps the
 * shorter side >= 256, so --dct-scale must leave them exactly as decoded in
 * full (the scaled path on large images is checked by tests/cli/test_data.sh). */
static void test_jpeg_dct_scale_small_unchanged(void **state)
{
    (void)state;
    bb_source *full = open_ok(tpath("jpg"), 0), *dct = open_ok(tpath("jpg"), 1);
    float *a = malloc(sizeof(float) * BB_ITEM_FLOATS), *b = malloc(sizeof(float) * BB_ITEM_FLOATS);
    bb_err err = {0};
    assert_true(bb_source_load(full, 0, a, &err) > 0);
    assert_true(bb_source_load(dct, 0, b, &err) > 0);
    double diff = 0;
    for (int k = 0; k < BB_ITEM_FLOATS; k++)
        diff += fabs((double)a[k] - b[k]);
    diff /= BB_ITEM_FLOATS;
    assert_true(diff == 0.0);
    free(a), free(b);
    bb_source_close(full);
    bb_source_close(dct);
}

static void copy_file(const char *from, const char *to, long len)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    assert_non_null(f);
    assert_non_null(g);
    for (long i = 0; i < len; i++)
        fputc(fgetc(f), g);
    fclose(f);
    assert_int_equal(fclose(g), 0);
}

static void test_jpeg_corrupt_items(void **state)
{
    (void)state;
    bb_err err = {0};
    int64_t bytes;
    assert_int_equal(bb_jpeg_synth_make(tpath("bad"), 4, 3, 90, &bytes, &err), 0);
    FILE *g = fopen(tpath("bad/images/img-00001.jpg"), "wb");
    assert_non_null(g);
    fputs("this is not a JPEG file at all", g);
    fclose(g);
    long n = file_size(tpath("bad/images/img-00002.jpg"));
    copy_file(tpath("bad/images/img-00002.jpg"), tpath("bad/half.jpg"), n / 2);
    assert_int_equal(rename(tpath("bad/half.jpg"), tpath("bad/images/img-00002.jpg")), 0);
    assert_int_equal(unlink(tpath("bad/images/img-00003.jpg")), 0);

    bb_source *s = open_ok(tpath("bad"), 0);
    float *x = malloc(sizeof(float) * BB_ITEM_FLOATS);
    assert_true(bb_source_load(s, 0, x, &err) > 0);
    assert_int_equal(bb_source_load(s, 1, x, &err), -1);
    assert_non_null(strstr(err.msg, "bad/images/img-00001.jpg: corrupt JPEG: Not a JPEG file"));
    assert_int_equal(bb_source_load(s, 2, x, &err), -1);
    assert_non_null(strstr(err.msg, "bad/images/img-00002.jpg: truncated JPEG: Premature end"));
    assert_int_equal(bb_source_load(s, 3, x, &err), -1);
    assert_non_null(strstr(err.msg, "bad/images/img-00003.jpg: cannot open"));
    assert_true(bb_source_load(s, 0, x, &err) > 0); /* still fine afterwards */
    free(x);
    bb_source_close(s);
}

typedef struct {
    const bb_source *s;
    float *out; /* items * BB_ITEM_FLOATS */
    int64_t start;
    int failed;
} job;

static void *load_all(void *p)
{
    job *j = p;
    int64_t n = bb_source_items(j->s);
    for (int64_t k = 0; k < n; k++) {
        int64_t i = (j->start + k) % n; /* each thread its own order */
        bb_err err = {0};
        if (bb_source_load(j->s, i, j->out + i * BB_ITEM_FLOATS, &err) < 0)
            j->failed = 1;
    }
    return NULL;
}

static void check_concurrent(const char *dir)
{
    bb_source *s = open_ok(dir, 0);
    int64_t n = bb_source_items(s);
    size_t bytes = sizeof(float) * BB_ITEM_FLOATS * (size_t)n;
    job seq = {s, malloc(bytes), 0, 0}, par[4];
    load_all(&seq);
    assert_false(seq.failed);
    pthread_t t[4];
    for (int k = 0; k < 4; k++) {
        par[k] = (job){s, malloc(bytes), k + 1, 0};
        assert_int_equal(pthread_create(&t[k], NULL, load_all, &par[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(t[k], NULL);
        assert_false(par[k].failed);
        assert_memory_equal(par[k].out, seq.out, bytes);
        free(par[k].out);
    }
    free(seq.out);
    bb_source_close(s);
}

static void test_concurrent_equals_sequential(void **state)
{
    (void)state;
    check_concurrent(tpath("jpg"));
    check_concurrent(tpath("pre"));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void expect_open_fail(const char *dir, const char *sub)
{
    bb_source *s = (bb_source *)1;
    bb_err err = {0};
    assert_int_equal(bb_source_open(&s, dir, NULL, &err), -1);
    assert_null(s);
    if (!strstr(err.msg, sub))
        fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, sub);
    assert_non_null(strstr(err.msg, sub));
}

static void test_bad_manifests(void **state)
{
    (void)state;
    expect_open_fail(tpath("nope"), "nope/manifest.json: cannot open");
    mkdir(tpath("m"), 0755);
    write_text(tpath("m/manifest.json"), "{\"kind\": \"png\", \"items\": 1}");
    expect_open_fail(tpath("m"), "unknown kind 'png'");
    write_text(tpath("m/manifest.json"), "{\"kind\": \"jpeg\", \"items\": 1, \"files\": [\"../x.jpg\"]}");
    expect_open_fail(tpath("m"), "not a relative path inside the folder");
    write_text(tpath("m/manifest.json"), "{\"kind\": \"jpeg\", \"items\": 2, \"files\": [\"a.jpg\"]}");
    expect_open_fail(tpath("m"), "does not match the 1 files");
    write_text(tpath("m/manifest.json"), "{\"kind\": \"jpeg\", \"items\": 1");
    expect_open_fail(tpath("m"), "m/manifest.json: not valid JSON");
    write_text(tpath("m/manifest.json"), "{\"items\": 1}");
    expect_open_fail(tpath("m"), "not a batchbench data set manifest");
    /* items of another shape or type; a shard too large to address */
    write_text(tpath("m/manifest.json"),
               "{\"items\": 1, \"items_per_shard\": 1, \"shards\": [\"a\"], \"item_shape\": [3, 299, 299]}");
    expect_open_fail(tpath("m"), "m/manifest.json: items are not float32 [3, 224, 224]");
    write_text(tpath("m/manifest.json"), "{\"items\": 1, \"items_per_shard\": 1, \"shards\": [\"a\"], \"dtype\": \"uint8\"}");
    expect_open_fail(tpath("m"), "items are not float32 [3, 224, 224]");
    write_text(tpath("m/manifest.json"), "{\"items\": 1, \"items_per_shard\": 1e15, \"shards\": [\"a\"]}");
    expect_open_fail(tpath("m"), "not a batchbench data set manifest");
    /* the preprocessed reader refuses a jpeg folder by its kind */
    bb_dataset ds;
    bb_err err = {0};
    assert_int_equal(bb_dataset_open(&ds, tpath("jpg"), &err), -1);
    assert_non_null(strstr(err.msg, "kind 'jpeg'"));
}

/* Without "bytes" the sizes come from the files (a missing one counts 0). */
static void test_manifest_without_bytes(void **state)
{
    (void)state;
    bb_source *s = NULL;
    bb_err err = {0};
    char img[256];
    snprintf(img, sizeof img, "%s", tpath("jpg/images/img-00000.jpg"));
    mkdir(tpath("nb"), 0755);
    mkdir(tpath("nb/images"), 0755);
    copy_file(img, tpath("nb/images/a.jpg"), file_size(img));
    write_text(tpath("nb/manifest.json"),
               "{\"kind\": \"jpeg\", \"files\": [\"images/a.jpg\", \"images/missing.jpg\"]}");
    assert_int_equal(bb_source_open(&s, tpath("nb"), NULL, &err), 0);
    assert_int_equal(bb_source_items(s), 2);
    assert_true(bb_source_item_bytes(s) == file_size(img) / 2.0);
    bb_source_close(s);
}

/* Sizes and offsets as torchvision 0.14 computes them (int(), Python round). */
static void test_geometry(void **state)
{
    (void)state;
    int w, h;
    bb_resize_size(500, 375, 256, &w, &h);
    assert_true(w == 341 && h == 256); /* int(256 * 500 / 375) = int(341.33) */
    bb_resize_size(375, 500, 256, &w, &h);
    assert_true(w == 256 && h == 341);
    bb_resize_size(256, 256, 256, &w, &h);
    assert_true(w == 256 && h == 256);
    bb_resize_size(350, 500, 256, &w, &h);
    assert_true(w == 256 && h == 365); /* 365.71 */
    assert_int_equal(bb_center_crop_offset(256, 224), 16);
    assert_int_equal(bb_center_crop_offset(341, 224), 58); /* round(58.5) = 58 */
    assert_int_equal(bb_center_crop_offset(343, 224), 60); /* round(59.5) = 60 */
    assert_int_equal(bb_center_crop_offset(224, 224), 0);
}

/* Same size: the identity; a constant image stays constant when resized. */
static void test_resize_identity_and_constant(void **state)
{
    (void)state;
    bb_rgb_image im = {300, 260, malloc(300 * 260 * 3)};
    unsigned char *out = malloc(224 * 224 * 3);
    bb_err err = {0};
    for (int i = 0; i < 300 * 260 * 3; i++)
        im.px[i] = (unsigned char)(i * 7 + i / 900);
    assert_int_equal(bb_resize_crop(&im, 300, 260, 10, 20, out, &err), 0);
    for (int y = 0; y < 224; y++)
        assert_memory_equal(out + y * 224 * 3, im.px + ((y + 20) * 300 + 10) * 3, 224 * 3);
    memset(im.px, 77, 300 * 260 * 3);
    assert_int_equal(bb_resize_crop(&im, 256, 240, 5, 6, out, &err), 0);
    for (int i = 0; i < 224 * 224 * 3; i++)
        assert_int_equal(out[i], 77);
    assert_int_equal(bb_resize_crop(&im, 256, 240, 40, 0, out, &err), -1);
    assert_non_null(strstr(err.msg, "does not fit"));
    free(im.px);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preprocessed_equals_dataset_read),
        cmocka_unit_test(test_jpeg_loads),
        cmocka_unit_test(test_jpeg_dct_scale_small_unchanged),
        cmocka_unit_test(test_jpeg_corrupt_items),
        cmocka_unit_test(test_concurrent_equals_sequential),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_manifest_without_bytes),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_resize_identity_and_constant),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_npy.c — unit tests for src/io/npy.c.
 *
 * Why this file exists: .npy files carry input batches and reference outputs
 * between Python and batchbench, so the reader must take exactly what NumPy
 * writes and refuse everything else with a reason. These tests write real
 * files into a temp dir: round trips through the writer, hand-made headers
 * in the variants NumPy produces (v1.0, v2.0, key order, quoting, scalar and
 * 1-d shapes), every malformed case (checked for -1, the file name and the
 * specific problem), and every truncation of a good file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/npy.h"

static char g_dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/bb_npy_test_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    if (!d)
        return -1;
    char p[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    return rmdir(g_dir);
}

static const char *tpath(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    return p[k];
}

/* A file: preamble for version major.minor, header text, dlen bytes. */
static void write_npy_raw(const char *path, int major, int minor, const char *hdr,
                          size_t dlen)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t hl = strlen(hdr);
    unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major,
                             (unsigned char)minor, (unsigned char)(hl & 0xff),
                             (unsigned char)(hl >> 8), 0, 0};
    assert_int_equal(fwrite(pre, 1, major == 1 ? 10 : 12, f), major == 1 ? 10 : 12);
    assert_int_equal(fwrite(hdr, 1, hl, f), hl);
    for (size_t i = 0; i < dlen; i++) {
        static const unsigned char one_le[4] = {0x00, 0x00, 0x80, 0x3f}; /* 1.0f */
        fputc(one_le[i % 4], f);
    }
    assert_int_equal(fclose(f), 0);
}

static void expect_fail(const char *path, const char *sub1, const char *sub2)
{
    bb_npy a;
    bb_err err = {0};
    assert_int_equal(bb_npy_read(path, &a, &err), -1);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strstr(err.msg, base) || !strstr(err.msg, sub1) || (sub2 && !strstr(err.msg, sub2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\" / \"%s\"", err.msg, base, sub1,
                 sub2 ? sub2 : "");
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
    bb_npy_free(&a);
}

static void expect_hdr_fail(const char *hdr, size_t dlen, const char *sub1, const char *sub2)
{
    const char *p = tpath("bad.npy");
    write_npy_raw(p, 1, 0, hdr, dlen);
    expect_fail(p, sub1, sub2);
}

static long file_size(const char *p)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* ---- round trips -------------------------------------------------------- */

static void round_trip(int ndim, const int64_t *dims, int64_t n)
{
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)i * 0.5f - 3.0f;
    const char *p = tpath("rt.npy");
    bb_err err = {0};
    assert_int_equal(bb_npy_write(p, ndim, dims, v, &err), 0);
    assert_int_equal(access(tpath("rt.npy.tmp"), F_OK), -1);
    assert_int_equal((file_size(p) - n * 4) % 64, 0);
    bb_npy a;
    assert_int_equal(bb_npy_read(p, &a, &err), 0);
    assert_int_equal(a.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(a.dims[i], dims[i]);
    assert_int_equal(bb_npy_numel(&a), n);
    assert_non_null(a.data);
    assert_memory_equal(a.data, v, (size_t)n * sizeof *v);
    bb_npy_free(&a);
    assert_null(a.data);
    bb_npy_free(&a);
    free(v);
}

static void test_round_trips(void **state)
{
    (void)state;
    int64_t d4[] = {2, 3, 4, 5}, d1[] = {7}, d0[] = {0, 3}, d8[] = {1, 2, 1, 2, 1, 2, 1, 3};
    round_trip(4, d4, 120);
    round_trip(1, d1, 7);
    round_trip(0, NULL, 1);
    round_trip(2, d0, 0);
    round_trip(8, d8, 24);
}

/* The exact header text NumPy writes, byte for byte. */
static void test_writer_header_text(void **state)
{
    (void)state;
    int64_t d[] = {5};
    float v[5] = {0};
    const char *p = tpath("txt.npy");
    bb_err err = {0};
    assert_int_equal(bb_npy_write(p, 1, d, v, &err), 0);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char buf[256];
    assert_int_equal(fread(buf, 1, sizeof buf, f), 128 + 20); /* 57-char dict > 64 */
    fclose(f);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    assert_memory_equal(buf + 10, want, strlen(want));
    assert_int_equal(buf[127], '\n');
    assert_int_equal(buf[126], ' ');
}

/* Variants other writers (and NumPy versions) produce. */
static void test_header_variants(void **state)
{
    (void)state;
    const char *p = tpath("var.npy");
    bb_npy a;
    bb_err err = {0};
    write_npy_raw(p, 1, 0, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}\n", 24);
    assert_int_equal(bb_npy_read(p, &a, &err), 0);
    assert_int_equal(a.ndim, 2);
    assert_int_equal(a.dims[1], 3);
    assert_true(a.data[0] == 1.0f && a.data[5] == 1.0f);
    bb_npy_free(&a);

    write_npy_raw(p, 2, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }   \n", 4);
    assert_int_equal(bb_npy_read(p, &a, &err), 0);
    assert_int_equal(a.ndim, 0);
    assert_true(a.data[0] == 1.0f);
    bb_npy_free(&a);

    write_npy_raw(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 1L,), }", 12);
    assert_int_equal(bb_npy_read(p, &a, &err), 0);
    assert_int_equal(a.dims[0], 3);
    bb_npy_free(&a);
}

/* ---- refusals ----------------------------------------------------------- */

static void test_bad_magic_and_version(void **state)
{
    (void)state;
    const char *p = tpath("magic.npy");
    FILE *f = fopen(p, "wb");
    fputs("PK\x03\x04 not numpy at all", f);
    fclose(f);
    expect_fail(p, "bad magic", NULL);
    f = fopen(p, "wb");
    fputs("\x93NUM", f);
    fclose(f);
    expect_fail(p, "bad magic", NULL);
    expect_fail(tpath("missing.npy"), "cannot open", NULL);

    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
    write_npy_raw(p, 3, 0, h, 4);
    expect_fail(p, "unsupported .npy version 3.0", NULL);
    write_npy_raw(p, 1, 1, h, 4);
    expect_fail(p, "unsupported .npy version 1.1", NULL);
    f = fopen(p, "wb");
    fwrite("\x93NUMPY\x02\x00\x10\x00", 1, 10, f);
    fclose(f);
    expect_fail(p, "file ends inside the v2.0 preamble", NULL);
}

static void test_header_length_beyond(void **state)
{
    (void)state;
    const char *p = tpath("hlen.npy");
    FILE *f = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00\xff\x7f{'descr'", 1, 18, f);
    fclose(f);
    expect_fail(p, "header length 32767 is beyond the file", NULL);
    f = fopen(p, "wb");
    fwrite("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 1, 14, f);
    fclose(f);
    expect_fail(p, "header length 4294967295 is beyond the file", NULL);
}

static void test_unparsable(void **state)
{
    (void)state;
    expect_hdr_fail("not a dict", 0, "header dict unparsable", "expected '{'");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4,
                    "header dict unparsable", NULL);
    expect_hdr_fail("{'descr' '<f4'}", 0, "header dict unparsable", "expected ':'");
    expect_hdr_fail("{'descr': '<f4}", 0, "header dict unparsable", "unterminated string");
    expect_hdr_fail("{descr: '<f4'}", 0, "header dict unparsable", "quoted string");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", 4,
                    "header dict unparsable", "not True or False");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", 4,
                    "header dict unparsable", "shape is not a tuple");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", 8,
                    "header dict unparsable", "expected ',' or ')'");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (a,)}", 4,
                    "header dict unparsable", "expected an integer");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4,
                    "header dict unparsable", "after the dict");
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4,
                    "unexpected key 'x'", NULL);
    expect_hdr_fail("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4,
                    "key 'descr' twice", NULL);
    expect_hdr_fail("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", 4,
                    "structured arrays are not supported", NULL);
    expect_hdr_fail("", 0, "header dict unparsable", NULL);
}

static void test_missing_keys(void **state)
{
    (void)state;
    expect_hdr_fail("{'fortran_order': False, 'shape': (1,), }", 4, "missing 'descr'", NULL);
    expect_hdr_fail("{'descr': '<f4', 'shape': (1,), }", 4, "missing 'fortran_order'", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, }", 4, "missing 'shape'", NULL);
}

static void test_wrong_dtype_and_order(void **state)
{
    (void)state;
    expect_hdr_fail("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8,
                    "dtype '<f8', expected float32 '<f4'", NULL);
    expect_hdr_fail("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4,
                    "dtype '>f4', expected float32 '<f4'", NULL);
    expect_hdr_fail("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", 4,
                    "dtype '|u1'", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
                    "fortran_order True is not supported", NULL);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0,
                    "negative dimension -3", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (99999999999999999999,), }", 0, "overflows int64", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (4294967296, 4294967296), }", 0,
                    "shape [4294967296,4294967296]: size overflows", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4, "more than 8 dims", NULL);
}

static void test_data_size(void **state)
{
    (void)state;
    const char *p = tpath("x.npy");
    write_npy_raw(p, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 224, 224), }",
                  1000);
    expect_fail(p, "x.npy: truncated: shape [2,3,224,224] needs 1204224 bytes, file has 1000",
                NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 12,
                    "trailing extra data: shape [2] needs 8 bytes, file has 12", NULL);
    expect_hdr_fail("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0,
                    "truncated: shape [] needs 4 bytes, file has 0", NULL);
}

/* Every truncation of a good file is refused. */
static void test_truncations(void **state)
{
    (void)state;
    int64_t d[] = {3, 4};
    float v[12] = {0};
    const char *good = tpath("src.npy"), *p = tpath("cut.npy");
    bb_err err = {0};
    assert_int_equal(bb_npy_write(good, 2, d, v, &err), 0);
    FILE *f = fopen(good, "rb");
    unsigned char buf[256];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(len, 128 + 48);
    for (size_t n = 0; n < len; n++) {
        f = fopen(p, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        expect_fail(p, "", NULL);
    }
}

static void test_writer_refusals(void **state)
{
    (void)state;
    const char *p = tpath("w.npy");
    bb_err err = {0};
    int64_t neg[] = {2, -1};
    float v[1] = {0};
    assert_int_equal(bb_npy_write(p, 2, neg, v, &err), -1);
    assert_non_null(strstr(err.msg, "w.npy"));
    assert_non_null(strstr(err.msg, "shape [2,-1]"));
    assert_int_equal(bb_npy_write(p, 9, neg, v, &err), -1);
    assert_non_null(strstr(err.msg, "ndim 9"));
    int64_t one[] = {1};
    assert_int_equal(bb_npy_write(p, 1, one, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no data"));
    assert_int_equal(bb_npy_write("/nonexistent_dir_bb/x.npy", 1, one, v, &err), -1);
    assert_non_null(strstr(err.msg, "cannot write"));
    assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_writer_header_text),
        cmocka_unit_test(test_header_variants),
        cmocka_unit_test(test_bad_magic_and_version),
        cmocka_unit_test(test_header_length_beyond),
        cmocka_unit_test(test_unparsable),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_wrong_dtype_and_order),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_data_size),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_writer_refusals),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

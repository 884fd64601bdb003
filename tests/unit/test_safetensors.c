/*
 * test_safetensors.c — unit tests for src/io/safetensors.c.
 *
 * Why this file exists: the safetensors reader is the guard between weight
 * files we did not write and the rest of the program. These tests write real
 * files into a temp dir: a round trip through the writer, hand-made files in
 * every malformed shape the reader must refuse (each checked for -1, the
 * file name and the specific problem in the message), and truncated /
 * byte-flipped files that must never crash or read out of bounds.
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
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"

static char g_dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/bb_st_test_XXXXXX");
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
            if (rmdir(p) != 0)
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

/* Writes u64 length field hlen_field, hlen header bytes, dlen zero bytes. */
static void write_raw(const char *path, uint64_t hlen_field, const char *hdr, size_t hlen,
                      size_t dlen)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (unsigned char)(hlen_field >> (8 * i));
    assert_int_equal(fwrite(l, 1, 8, f), 8);
    if (hlen)
        assert_int_equal(fwrite(hdr, 1, hlen, f), hlen);
    for (size_t i = 0; i < dlen; i++)
        fputc(0, f);
    assert_int_equal(fclose(f), 0);
}

static void write_json(const char *path, const char *json, size_t dlen)
{
    write_raw(path, strlen(json), json, strlen(json), dlen);
}

static int is_zeroed(const bb_safetensors *st)
{
    static const bb_safetensors zero;
    return memcmp(st, &zero, sizeof zero) == 0;
}

/* Opening path must fail with a message holding the file name and subs. */
static void expect_fail(const char *path, const char *sub1, const char *sub2)
{
    bb_safetensors st;
    bb_err err = {0};
    assert_int_equal(bb_st_open(&st, path, &err), -1);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strstr(err.msg, base) || !strstr(err.msg, sub1) || (sub2 && !strstr(err.msg, sub2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\" / \"%s\"", err.msg, base, sub1,
                 sub2 ? sub2 : "");
    assert_true(is_zeroed(&st));
    bb_st_close(&st); /* safe on a failed struct */
    bb_st_close(&st);
}

static void expect_json_fail(const char *json, size_t dlen, const char *sub1, const char *sub2)
{
    const char *p = tpath("bad.safetensors");
    write_json(p, json, dlen);
    expect_fail(p, sub1, sub2);
}

/* ---- good files --------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    float w[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7e20f}, b[3] = {9, 8, 7}, s = 42.0f;
    const char *names[] = {"fc.weight", "fc.bias", "scalar", "empty"};
    int ndims[] = {2, 1, 0, 2};
    int64_t dw[] = {2, 3}, db[] = {3}, de[] = {0, 4};
    const int64_t *dims[] = {dw, db, NULL, de};
    const float *data[] = {w, b, &s, NULL};
    const char *p = tpath("good.safetensors");
    bb_err err = {0};
    assert_int_equal(bb_st_write_f32(p, 4, names, ndims, dims, data, &err), 0);
    assert_int_equal(access(tpath("good.safetensors.tmp"), F_OK), -1);

    bb_safetensors st;
    assert_int_equal(bb_st_open(&st, p, &err), 0);
    assert_int_equal(st.n, 4);
    assert_string_equal(st.path, p);
    const bb_st_tensor *t = bb_st_find(&st, "fc.weight");
    assert_non_null(t);
    assert_int_equal(t->dtype, BB_DT_F32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->dims[0], 2);
    assert_int_equal(t->dims[1], 3);
    assert_int_equal(t->end - t->begin, sizeof w);
    assert_int_equal(bb_st_numel(t), 6);
    float got[6];
    memcpy(got, bb_st_data(&st, t), sizeof got);
    assert_memory_equal(got, w, sizeof w);

    t = bb_st_find(&st, "fc.bias");
    assert_non_null(t);
    assert_int_equal(t->ndim, 1);
    memcpy(got, bb_st_data(&st, t), sizeof b);
    assert_memory_equal(got, b, sizeof b);

    t = bb_st_find(&st, "scalar");
    assert_non_null(t);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(bb_st_numel(t), 1);
    memcpy(got, bb_st_data(&st, t), 4);
    assert_true(got[0] == 42.0f);

    t = bb_st_find(&st, "empty");
    assert_non_null(t);
    assert_int_equal(t->begin, t->end);
    assert_int_equal(bb_st_numel(t), 0);

    assert_null(bb_st_find(&st, "nope"));
    bb_st_close(&st);
    assert_true(is_zeroed(&st));
    bb_st_close(&st);
}

/* Hand-written file: metadata, padding, unaligned data, other dtypes. */
static void test_handmade_file(void **state)
{
    (void)state;
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"b\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[4,7]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"h\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[7,11]}} ";
    const char *p = tpath("hand.safetensors");
    write_json(p, json, 11);
    bb_safetensors st;
    bb_err err = {0};
    assert_int_equal(bb_st_open(&st, p, &err), 0);
    assert_int_equal(st.n, 3);
    assert_int_equal(st.data_len, 11);
    assert_string_equal(st.tensors[0].name, "b");
    assert_int_equal(st.tensors[0].dtype, BB_DT_I8);
    assert_int_equal(bb_st_find(&st, "h")->dtype, BB_DT_BF16);
    assert_string_equal(bb_dtype_name(BB_DT_BF16), "BF16");
    assert_int_equal(bb_dtype_size(BB_DT_F64), 8);
    assert_int_equal(bb_dtype_size(BB_DT_BOOL), 1);
    bb_st_close(&st);
}

static void test_close_zeroed(void **state)
{
    (void)state;
    bb_safetensors st;
    memset(&st, 0, sizeof st);
    bb_st_close(&st);
    bb_st_close(NULL);
    assert_true(is_zeroed(&st));
}

/* ---- file-level refusals ------------------------------------------------ */

static void test_short_file(void **state)
{
    (void)state;
    const char *p = tpath("short.safetensors");
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("abcde", f);
    fclose(f);
    expect_fail(p, "shorter than the 8-byte", NULL);
    f = fopen(p, "wb");
    fclose(f);
    expect_fail(p, "file is 0 bytes", NULL);
}

static void test_missing_and_dir(void **state)
{
    (void)state;
    expect_fail(tpath("nonexistent.safetensors"), "cannot open", NULL);
    const char *d = tpath("adir.safetensors");
    assert_int_equal(mkdir(d, 0700), 0);
    expect_fail(d, "not a regular file", NULL);
}

static void test_header_length(void **state)
{
    (void)state;
    const char *p = tpath("hlen.safetensors");
    write_raw(p, 0, NULL, 0, 16);
    expect_fail(p, "header length is 0", NULL);
    write_raw(p, 1000, "{}", 2, 0);
    expect_fail(p, "header length 1000 is beyond the file", NULL);
    write_raw(p, 200u * 1024 * 1024, "{}", 2, 0);
    expect_fail(p, "oversized header", NULL);
    write_raw(p, UINT64_MAX, "{}", 2, 0);
    expect_fail(p, "oversized header", NULL);
}

static void test_corrupt_json(void **state)
{
    (void)state;
    expect_json_fail("{\"a\": {\"dtype\": \"F32\",", 0, "not valid JSON", NULL);
    expect_json_fail("garbage", 0, "not valid JSON", NULL);
    expect_json_fail("{} xyz", 0, "not valid JSON", "trailing");
    expect_json_fail("[1,2]", 0, "header JSON is not an object", NULL);
    expect_json_fail("\"str\"", 0, "not an object", NULL);
    /* a NUL inside the header is not the end of it */
    const char *p = tpath("nul.safetensors");
    write_raw(p, 4, "{}\0x", 4, 0);
    expect_fail(p, "not valid JSON", NULL);
}

/* ---- per-tensor refusals ------------------------------------------------ */

static void test_entry_types(void **state)
{
    (void)state;
    expect_json_fail("{\"fc.weight\": 5}", 0, "tensor 'fc.weight': entry is not an object", NULL);
    expect_json_fail("{\"t\": {\"shape\": [1], \"data_offsets\": [0,4]}}", 4,
                     "tensor 't': missing 'dtype'", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0,4]}}", 4,
                     "tensor 't': missing 'shape'", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4,
                     "tensor 't': missing 'data_offsets'", NULL);
    expect_json_fail("{\"t\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0,4]}}", 4,
                     "tensor 't': 'dtype' is not a string", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": 1, \"data_offsets\": [0,4]}}", 4,
                     "tensor 't': 'shape' is not an array", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4]}}", 4,
                     "tensor 't': 'data_offsets' is not an array of two", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\",4]}}",
                     4, "tensor 't': 'data_offsets' is not", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4,4]}}",
                     4, "tensor 't': 'data_offsets' is not", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": {}}}", 4,
                     "tensor 't': 'data_offsets' is not", NULL);
}

static void test_unknown_dtype(void **state)
{
    (void)state;
    expect_json_fail("{\"t\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0,16]}}",
                     16, "tensor 't': unknown dtype 'F128'", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"f32\", \"shape\": [1], \"data_offsets\": [0,4]}}", 4,
                     "unknown dtype 'f32'", NULL);
}

static void test_bad_dims(void **state)
{
    (void)state;
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0,4]}}", 4,
                     "tensor 't': shape[0] is not a non-negative integer", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2.5], \"data_offsets\": [0,4]}}",
                     4, "tensor 't': shape[1] is not a non-negative integer", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0,4]}}",
                     4, "shape[0] is not a non-negative integer", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0,4]}}",
                     4, "shape[0] is not a non-negative integer", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], "
                     "\"data_offsets\": [0,1]}}", 1, "tensor 't': shape has 9 dims", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296,4294967296,4], "
                     "\"data_offsets\": [0,4]}}", 4, "tensor 't': shape [4294967296,4294967296,4]",
                     "overflows");
}

static void test_offsets(void **state)
{
    (void)state;
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8,4]}}", 8,
                     "tensor 't': data_offsets [8,4]: begin > end", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0,16]}}", 10,
                     "tensor 't': data_offsets [0,16] end beyond", "truncated data");
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], "
                     "\"data_offsets\": [0,9007199254740992]}}", 4, "truncated data", NULL);
    const char *p = tpath("w.safetensors");
    write_json(p, "{\"fc.weight\": {\"dtype\": \"F32\", \"shape\": [10,5], "
                  "\"data_offsets\": [0,100]}}", 100);
    expect_fail(p, "w.safetensors: tensor 'fc.weight': data_offsets [0,100] but shape [10,5] "
                   "of F32 needs 200 bytes", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [0,4]}}", 4,
                     "shape [] of I64 needs 8 bytes", NULL);
}

static void test_overlap(void **state)
{
    (void)state;
    expect_json_fail("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0,16]},"
                     " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12,20]}}",
                     20, "overlapping data_offsets", "'a' [0,16] and 'b' [12,20]");
    /* b lies wholly inside a, c comes after both; found despite header order */
    expect_json_fail("{\"c\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [16,20]},"
                     " \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [4,6]},"
                     " \"a\": {\"dtype\": \"U8\", \"shape\": [16], \"data_offsets\": [0,16]}}",
                     20, "overlapping", "'a' [0,16] and 'b' [4,6]");
    /* identical ranges */
    expect_json_fail("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
                     " \"b\": {\"dtype\": \"I32\", \"shape\": [1], \"data_offsets\": [0,4]}}",
                     4, "overlapping", NULL);
    /* touching ranges and empty tensors are fine */
    const char *p = tpath("touch.safetensors");
    write_json(p, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
                  " \"e\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [2,2]},"
                  " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4,8]}}", 8);
    bb_safetensors st;
    bb_err err = {0};
    assert_int_equal(bb_st_open(&st, p, &err), 0);
    bb_st_close(&st);
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_json_fail("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
                     " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4,8]}}",
                     8, "duplicate tensor name 'a'", NULL);
    expect_json_fail("{\"__metadata__\": {}, \"__metadata__\": {}}", 0,
                     "duplicate key '__metadata__'", NULL);
    expect_json_fail("{\"t\": {\"dtype\": \"F32\", \"dtype\": \"I32\", \"shape\": [1], "
                     "\"data_offsets\": [0,4]}}", 4, "tensor 't': duplicate key 'dtype'", NULL);
}

static void test_metadata_and_names(void **state)
{
    (void)state;
    expect_json_fail("{\"__metadata__\": [1]}", 0, "'__metadata__' is not an object", NULL);
    expect_json_fail("{\"__metadata__\": {\"k\": 3}}", 0, "'__metadata__' value 'k' is not a string",
                     NULL);
    char json[512], name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(json, sizeof json, "{\"%s\": {\"dtype\": \"F32\", \"shape\": [1], "
             "\"data_offsets\": [0,4]}}", name);
    expect_json_fail(json, 4, "name is 200 bytes, at most 127", NULL);
}

/* ---- robustness --------------------------------------------------------- */

static void write_good(const char *p)
{
    float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8};
    const char *names[] = {"layer.weight", "layer.bias"};
    int ndims[] = {2, 1};
    int64_t dw[] = {3, 2}, db[] = {2};
    const int64_t *dims[] = {dw, db};
    const float *data[] = {w, b};
    bb_err err = {0};
    assert_int_equal(bb_st_write_f32(p, 2, names, ndims, dims, data, &err), 0);
}

static unsigned char *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void spit(const char *p, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Every truncation of a good file is refused. */
static void test_truncations(void **state)
{
    (void)state;
    const char *good = tpath("trunc_src.safetensors"), *p = tpath("trunc.safetensors");
    write_good(good);
    size_t len;
    unsigned char *buf = slurp(good, &len);
    for (size_t n = 0; n < len; n++) {
        spit(p, buf, n);
        bb_safetensors st;
        bb_err err = {0};
        assert_int_equal(bb_st_open(&st, p, &err), -1);
        assert_non_null(strstr(err.msg, "trunc.safetensors"));
        bb_st_close(&st);
    }
    free(buf);
}

/* Byte flips in the header: never crash; any accepted file stays in bounds. */
static void test_mutations(void **state)
{
    (void)state;
    const char *good = tpath("mut_src.safetensors"), *p = tpath("mut.safetensors");
    write_good(good);
    size_t len;
    unsigned char *buf = slurp(good, &len);
    unsigned char *m = malloc(len);
    assert_non_null(m);
    static const unsigned char vals[] = {0, '"', '{', '}', '[', ']', ',', ':', '9', '-', 0xff};
    srand(12345);
    for (int it = 0; it < 600; it++) {
        memcpy(m, buf, len);
        for (int k = 0; k < 1 + it % 3; k++)
            m[8 + (size_t)rand() % (len - 8)] = vals[(size_t)rand() % sizeof vals];
        spit(p, m, len);
        bb_safetensors st;
        bb_err err = {0};
        if (bb_st_open(&st, p, &err) == 0) {
            for (int i = 0; i < st.n; i++)
                assert_true(st.tensors[i].end <= st.data_len);
        } else {
            assert_non_null(strstr(err.msg, "mut.safetensors"));
        }
        bb_st_close(&st);
    }
    free(m);
    free(buf);
}

static void test_writer_refusals(void **state)
{
    (void)state;
    float v[1] = {0};
    const char *names[] = {"a", "a"};
    int ndims[] = {1, 1};
    int64_t d1[] = {1};
    const int64_t *dims[] = {d1, d1};
    const float *data[] = {v, v};
    bb_err err = {0};
    const char *p = tpath("wr.safetensors");
    assert_int_equal(bb_st_write_f32(p, 2, names, ndims, dims, data, &err), -1);
    assert_non_null(strstr(err.msg, "duplicate tensor name 'a'"));
    int bad_nd[] = {9};
    assert_int_equal(bb_st_write_f32(p, 1, names, bad_nd, dims, data, &err), -1);
    assert_non_null(strstr(err.msg, "bad ndim 9"));
    int64_t neg[] = {-1};
    const int64_t *ndims_neg[] = {neg};
    assert_int_equal(bb_st_write_f32(p, 1, names, ndims, ndims_neg, data, &err), -1);
    assert_non_null(strstr(err.msg, "negative"));
    assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_handmade_file),
        cmocka_unit_test(test_close_zeroed),
        cmocka_unit_test(test_short_file),
        cmocka_unit_test(test_missing_and_dir),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_corrupt_json),
        cmocka_unit_test(test_entry_types),
        cmocka_unit_test(test_unknown_dtype),
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_metadata_and_names),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_writer_refusals),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

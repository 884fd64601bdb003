/*
 * test_sha256.c — unit tests for src/util/sha256.c.
 *
 * Why this file exists: a model file's SHA-256 is part of its results'
 * identity, so it must be SHA-256 exactly. Checked against the FIPS 180-4
 * example vectors ("", "abc", the 448-bit message, a million 'a's), fed
 * whole and in odd-sized pieces (so block boundaries fall everywhere), the
 * 55/56/64-byte padding edges against each other's incremental results, and
 * the file reader (a file's hash equals its bytes' hash; a missing file is
 * an error naming it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/sha256.h"

static const char *const ABC448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void test_vectors(void **state)
{
    (void)state;
    char hex[BB_SHA256_HEX_LEN];
    bb_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    bb_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    bb_sha256_hex(ABC448, strlen(ABC448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The digest of n bytes fed in pieces of `piece` bytes. */
static void pieces_hex(const unsigned char *p, size_t n, size_t piece, char hex[BB_SHA256_HEX_LEN])
{
    bb_sha256 s;
    unsigned char d[32];
    bb_sha256_init(&s);
    for (size_t i = 0; i < n; i += piece)
        bb_sha256_update(&s, p + i, n - i < piece ? n - i : piece);
    bb_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void test_million_a(void **state)
{
    (void)state;
    size_t n = 1000000;
    unsigned char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    static const size_t piece[] = {1000000, 1, 63, 64, 65, 4096, 99991};
    for (size_t i = 0; i < sizeof piece / sizeof *piece; i++) {
        char hex[BB_SHA256_HEX_LEN];
        pieces_hex(a, n, piece[i], hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    free(a);
}

/* Lengths around the padding edges: whole and byte by byte agree, and all differ. */
static void test_padding_edges(void **state)
{
    (void)state;
    unsigned char buf[130];
    char whole[BB_SHA256_HEX_LEN], bytes[BB_SHA256_HEX_LEN], prev[BB_SHA256_HEX_LEN] = "";
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    for (size_t n = 50; n <= sizeof buf; n++) {
        bb_sha256_hex(buf, n, whole);
        pieces_hex(buf, n, 1, bytes);
        assert_string_equal(whole, bytes);
        assert_string_not_equal(whole, prev);
        snprintf(prev, sizeof prev, "%s", whole);
    }
    bb_sha256_hex(ABC448, 56, whole); /* the 448-bit message is 56 bytes: padding spills into a second block */
    pieces_hex((const unsigned char *)ABC448, 56, 7, bytes);
    assert_string_equal(whole, bytes);
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bb_sha256_test_XXXXXX", hex[BB_SHA256_HEX_LEN];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    bb_err err = {0};
    assert_int_equal(bb_sha256_file(path, hex, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(bb_sha256_file(path, hex, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

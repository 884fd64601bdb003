/*
 * sha256.h — SHA-256 (FIPS 180-4), for the identity of a user's model file.
 *
 * Why this file exists: a result of an imported ONNX model must say which
 * file it measured, and two files with the same name but other weights
 * must never be taken for one another. The file's SHA-256 is that identity
 * (results/model_ref.h). Written here, ~100 lines, so that no third-party
 * code is needed; checked against the standard test vectors
 * (tests/unit/test_sha256.c).
 */
#ifndef BB_SHA256_H
#define BB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BB_SHA256_HEX_LEN 65 /* 64 hex digits and the terminating NUL */

typedef struct {
    uint32_t h[8];
    uint64_t bytes;     /* message length so far */
    unsigned char block[64];
    size_t used;        /* bytes waiting in block */
} bb_sha256;

void bb_sha256_init(bb_sha256 *s);
void bb_sha256_update(bb_sha256 *s, const void *data, size_t n);
/* The digest (32 bytes); s must be initialised again before reuse. */
void bb_sha256_final(bb_sha256 *s, unsigned char digest[32]);

/* The digest of data as 64 lower-case hex digits. */
void bb_sha256_hex(const void *data, size_t n, char out[BB_SHA256_HEX_LEN]);

/* The digest of the file at path as hex; -1 with err set ("<path>: ...")
 * when it cannot be read. */
int bb_sha256_file(const char *path, char out[BB_SHA256_HEX_LEN], bb_err *err);

#endif

/*
 * safetensors.h — reads model weights stored in the safetensors format, and
 * writes F32 ones (for tests and tools).
 *
 * Why this file exists: weights come from files we did not write, so the
 * reader trusts nothing. bb_st_open maps the file read-only and checks the
 * whole header before anything is handed out: every tensor's dtype, shape and
 * byte range must be well formed, inside the data section, of exactly the
 * size its shape needs, and no two tensors may share bytes or a name. After a
 * successful open every bb_st_tensor can be read without further checks.
 *
 * Layout: 8-byte little-endian u64 header length N, N bytes of JSON header
 *   {"__metadata__": {str: str}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the data section; offsets are relative to the data section start.
 *
 * The mapped data may be unaligned for its dtype: callers memcpy out of the
 * pointer bb_st_data returns, never dereference it as float*.
 */
#ifndef BB_IO_SAFETENSORS_H
#define BB_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BB_ST_MAX_DIMS 8
#define BB_ST_NAME_LEN 128
#define BB_ST_MAX_HEADER (100u * 1024u * 1024u) /* 100 MiB */

typedef enum {
    BB_DT_F32, BB_DT_F16, BB_DT_BF16, BB_DT_F64, BB_DT_I64,
    BB_DT_I32, BB_DT_I16, BB_DT_I8, BB_DT_U8, BB_DT_BOOL
} bb_dtype;

typedef struct {
    char name[BB_ST_NAME_LEN];
    bb_dtype dtype;
    int ndim;
    int64_t dims[BB_ST_MAX_DIMS];
    uint64_t begin, end; /* relative to the data section */
} bb_st_tensor;

typedef struct {
    char path[512];
    int n;                     /* number of tensors (metadata not counted) */
    bb_st_tensor *tensors;     /* in header order */
    const unsigned char *data; /* start of the data section */
    uint64_t data_len;
    /* private: the mapping */
    void *map;
    size_t map_len;
} bb_safetensors;

/* Maps path read-only and validates everything. On failure *st is left
 * zeroed and err names the file (and tensor) and the problem. */
int bb_st_open(bb_safetensors *st, const char *path, bb_err *err);

/* The tensor called name, or NULL. */
const bb_st_tensor *bb_st_find(const bb_safetensors *st, const char *name);

/* Start of t's bytes (t->end - t->begin of them); possibly unaligned. */
const void *bb_st_data(const bb_safetensors *st, const bb_st_tensor *t);

/* Element count of t (product of dims; 1 for a scalar). */
int64_t bb_st_numel(const bb_st_tensor *t);

size_t bb_dtype_size(bb_dtype d);       /* bytes per element, 0 if unknown */
const char *bb_dtype_name(bb_dtype d);  /* "F32", ..., "?" if unknown */

/* Unmaps and frees; safe on a zeroed, failed or already closed struct. */
void bb_st_close(bb_safetensors *st);

/* Writes n F32 tensors (little-endian, in the given order, packed) to
 * path.tmp and renames it to path. names must be distinct and shorter than
 * BB_ST_NAME_LEN; ndims[i] in 0..8; dims non-negative. */
int bb_st_write_f32(const char *path, int n, const char *const *names,
                    const int *ndims, const int64_t *const *dims,
                    const float *const *data, bb_err *err);

#endif

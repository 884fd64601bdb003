/*
 * npy.h — reads and writes NumPy .npy files holding float32 C-order arrays.
 *
 * Why this file exists: input batches and reference outputs are exchanged
 * with Python as .npy files. Only what we need is supported — format v1.0
 * and v2.0, descr '<f4', fortran_order False — and anything else is refused
 * with the reason and the file name rather than misread. The header (a
 * Python dict literal) is parsed by hand; the data must be exactly the size
 * the shape needs, neither shorter nor longer.
 */
#ifndef BB_IO_NPY_H
#define BB_IO_NPY_H

#include <stdint.h>

#include "util/error.h"

#define BB_NPY_MAX_DIMS 8

typedef struct {
    int ndim;
    int64_t dims[BB_NPY_MAX_DIMS];
    float *data; /* malloc'd, product(dims) floats (a 0-dim array holds 1) */
} bb_npy;

/* Reads path into *out (zeroed on failure). */
int bb_npy_read(const char *path, bb_npy *out, bb_err *err);

/* Writes a v1.0 file (header padded to a multiple of 64 bytes) to path.tmp,
 * then renames it to path. ndim in 0..8, dims non-negative. */
int bb_npy_write(const char *path, int ndim, const int64_t *dims, const float *data,
                 bb_err *err);

/* Frees a->data and zeroes *a; safe on a zeroed or freed struct. */
void bb_npy_free(bb_npy *a);

/* Element count (product of dims; 1 for ndim 0). */
int64_t bb_npy_numel(const bb_npy *a);

#endif

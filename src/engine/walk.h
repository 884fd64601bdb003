/*
 * walk.h — the data-movement generic ops (slice, pad, expand, transpose)
 * and broadcast binary ops described as one pass over a dense row-major
 * output whose sources are read through strides. Both backends run these
 * descriptions: the CPU's walk kernel row by row (cpu_generic_kernels.c),
 * the CUDA kernel element by element (cuda_generic_kernels.cu, through
 * bb_walk_offset below, which is also compiled for the device). Only
 * geometry lives here; where a source's bytes are is the backend's business.
 *
 * For every index o of the output (dims), source k's element sits at
 * off[k] + sum_i o_i * st[k][i] (strides may be 0: broadcast, or a
 * multiple: a strided slice). GATHER copies source 0; BINARY combines
 * sources 0 and 1 with binop; PAD copies source 0 where lo[i] <= o_i <
 * hi[i] on every axis, and elsewhere writes value (BB_PAD_CONSTANT) or
 * reads the index bb_walk_pad_index mirrors or clamps into [lo, hi).
 */
#ifndef BB_WALK_H
#define BB_WALK_H

#include <stdint.h>

#include "engine/graph.h"

#ifdef __CUDACC__
#define BB_HOST_DEVICE __host__ __device__
#else
#define BB_HOST_DEVICE
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define BB_WALK_DIMS (BB_MAX_DIMS + 1) /* room for a full shape */

typedef enum { BB_WALK_GATHER, BB_WALK_BINARY, BB_WALK_PAD } bb_walk_mode;

typedef struct {
    bb_walk_mode mode;
    int nd;
    int64_t dims[BB_WALK_DIMS];
    int n_src;
    int64_t off[2], st[2][BB_WALK_DIMS];
    bb_binop binop;
    float value;
    int64_t lo[BB_WALK_DIMS], hi[BB_WALK_DIMS];
    bb_pad_mode pad_mode;
} bb_walk;

/* A walk writing dims (nd axes) with one source, no strides yet. */
void bb_walk_init(bb_walk *w, bb_walk_mode mode, int nd, const int64_t *dims);
/* Source k read densely with shape s (nd axes, broadcasting to w->dims):
 * strides 0 on its broadcast axes. */
void bb_walk_source(bb_walk *w, int k, const int64_t *s);
/* The op's geometry on source 0 of shape d (w->nd axes; source 0 set):
 * 0, or -1 when the op does not fit (slice starts, steps and counts
 * leaving the input; pads not giving the output, or negative, longer
 * than the axis less one (reflect) or around an empty axis (edge); perm
 * not a permutation of d giving the output). */
int bb_walk_slice(bb_walk *w, const bb_op *op, const int64_t *d);
int bb_walk_pad(bb_walk *w, const bb_op *op, const int64_t *d);
int bb_walk_transpose(bb_walk *w, const int *perm, const int64_t *d);
/* A mean over the axes set in mask (bit i = axis i) of an input of
 * shape d (nd axes) into o (those axes 1) as two walks: output element e
 * starts at bb_walk_offset(kept, e) in the input, and its elements are
 * at that plus bb_walk_offset(box, j) for j < numel(box). -1 when o is
 * not d with the masked axes 1. Both come simplified. */
int bb_walk_reduce(bb_walk *kept, bb_walk *box, unsigned mask, int nd, const int64_t *d, const int64_t *o);
/* Merges axes every source steps through as one and drops unit axes
 * (fewer, longer rows); PAD walks are left alone (bounds are per axis). */
void bb_walk_simplify(bb_walk *w);
int64_t bb_walk_numel(const bb_walk *w);
/* Shape s (n axes) with leading 1s up to nd axes into d; -1 when it has
 * more than nd. */
int bb_shape_lead_ones(int n, const int64_t *s, int nd, int64_t *d);
/* Whether shape s broadcasts to o (NumPy rules, both nd axes). */
int bb_broadcasts_to(int nd, const int64_t *s, const int64_t *o);

/* NumPy matmul's shapes for operands a (na axes) and c (nc axes): A, B
 * and the product D padded to the same rank (1-d operands made
 * matrices; room for BB_WALK_DIMS + 1 each), whose rank is returned; -1
 * when they do not multiply. */
int bb_matmul_shapes(int na, const int64_t *a, int nc, const int64_t *c, int64_t *A, int64_t *B, int64_t *D);

/* A reflect or edge pad's output index idx on axis i, outside [lo, hi)
 * (the input's extent there: no cropping), as the output index whose
 * input element it copies. */
BB_HOST_DEVICE static inline int64_t bb_walk_pad_index(const bb_walk *w, int i, int64_t idx)
{
    const int64_t lo = w->lo[i], last = w->hi[i] - 1;
    if (w->pad_mode == BB_PAD_EDGE)
        return idx < lo ? lo : idx > last ? last : idx;
    return idx < lo ? 2 * lo - idx : idx > last ? 2 * last - idx : idx;
}

/* Where output element e (row-major) reads source k; *inside is 0 when a
 * constant PAD walk writes the value there instead (then the offset is
 * not read). */
BB_HOST_DEVICE static inline int64_t bb_walk_offset(const bb_walk *w, int k, int64_t e, int *inside)
{
    int64_t off = w->off[k];
    int in = 1;
    for (int i = w->nd - 1; i >= 0; i--) {
        int64_t n = w->dims[i], idx = e % n;
        e /= n;
        if (w->mode == BB_WALK_PAD && (idx < w->lo[i] || idx >= w->hi[i])) {
            if (w->pad_mode == BB_PAD_CONSTANT)
                in = 0;
            else
                idx = bb_walk_pad_index(w, i, idx);
        }
        off += idx * w->st[k][i];
    }
    *inside = in;
    return off;
}

#ifdef __cplusplus
}
#endif

#endif

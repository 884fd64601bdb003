/*
 * onnx_fold_internal.h — what the constant folder's kernel files share:
 * reading and writing one element of an f32 or i64 value, and the row
 * odometer that walks up to three operands over one index space.
 *
 * Why it exists: onnx_fold.c (moves: copies, views, gathers, pads) and
 * onnx_fold_math.c (unary, binary, where, cast, reduce, ScatterND) both
 * walk values this way; one copy of it serves both. Only those files
 * include it.
 */
#ifndef BB_ONNX_FOLD_INTERNAL_H
#define BB_ONNX_FOLD_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "onnx/onnx_fold.h"

/* ---- element access --------------------------------------------------------- */

static inline size_t esize(const bb_ox_val *v)
{
    return v->dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
}

static inline double rd(const bb_ox_val *v, int64_t i)
{
    return v->dtype == BB_OX_F32 ? (double)((const float *)v->data)[i] : (double)((const int64_t *)v->data)[i];
}

static inline int64_t f2i(double x)
{
    if (!(x == x))
        return 0;
    if (x >= 9223372036854775807.0)
        return INT64_MAX;
    if (x <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

static inline void wr(bb_ox_val *v, int64_t i, double x)
{
    if (v->dtype == BB_OX_F32)
        ((float *)v->data)[i] = (float)x;
    else
        ((int64_t *)v->data)[i] = f2i(x);
}

static inline void mv(bb_ox_val *o, int64_t oi, const bb_ox_val *x, int64_t xi)
{
    size_t e = esize(o);
    memcpy((char *)o->data + (size_t)oi * e, (const char *)x->data + (size_t)xi * e, e);
}

/* ---- rows: an odometer over every axis but the innermost ------------------------- */

#define IT_DIMS (2 * BB_OX_MAX_DIMS) /* Tile's view doubles the rank */

/* Up to 3 operands walked over one index space, a row at a time: off[j] is
 * operand j's offset where the current row starts, in[j] its stride along
 * the row, len the row's length. */
typedef struct {
    int nd, k;
    int64_t dims[IT_DIMS], idx[IT_DIMS];
    int64_t st[3][IT_DIMS], off[3];
    int64_t len, in[3];
} iter;

/* Sets it up over dims (rank nd) for k operands whose strides the caller put
 * in it->st (and start offsets in it->off): size-1 axes are dropped and axes
 * contiguous for every operand merged, so that rows are as long as they can. */
static inline void it_rows(iter *it, int nd, const int64_t *dims, int k)
{
    int r = 0;
    it->k = k;
    for (int d = 0; d < nd; d++) {
        int merge = dims[d] == 1 ? 2 : r > 0;
        for (int j = 0; merge == 1 && j < k; j++)
            merge = it->st[j][r - 1] == it->st[j][d] * dims[d];
        if (merge == 2)
            continue;
        it->dims[merge ? r - 1 : r] = merge ? it->dims[r - 1] * dims[d] : dims[d];
        for (int j = 0; j < k; j++)
            it->st[j][merge ? r - 1 : r] = it->st[j][d];
        r += !merge;
    }
    it->len = r ? it->dims[r - 1] : 1;
    for (int j = 0; j < k; j++)
        it->in[j] = r ? it->st[j][r - 1] : 0;
    it->nd = r ? r - 1 : 0;
    memset(it->idx, 0, sizeof it->idx);
}

static inline void it_next(iter *it)
{
    for (int d = it->nd - 1; d >= 0; d--) {
        for (int j = 0; j < it->k; j++)
            it->off[j] += it->st[j][d];
        if (++it->idx[d] < it->dims[d])
            return;
        for (int j = 0; j < it->k; j++)
            it->off[j] -= it->st[j][d] * it->dims[d];
        it->idx[d] = 0;
    }
}

#endif

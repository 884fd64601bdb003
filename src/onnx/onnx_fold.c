/*
 * onnx_fold.c — computing ONNX nodes whose inputs are all constant, in f32
 * and i64 (bool as 0/1): the kernels behind onnx_fold.h that move elements
 * (copies and views, Concat, Split, Gather, Tile, Pad) or make
 * them (ConstantOfShape, Shape, Size, Constant, Range). The ones that
 * compute elements are in onnx_fold_math.c, the network ops in onnx_fold_nn.c.
 *
 * Why it exists: exporters write shapes and masks as arithmetic on
 * constants (Shape -> Gather -> Concat -> Reshape, Range/Equal/Where/
 * ScatterND), and only their values tell an importer what a Reshape or a
 * Pad does. Output shapes are already set and checked by onnx_ops.c when a
 * kernel runs; the kernels still check every data-dependent index (Gather,
 * ScatterND) and every integer hazard (division by zero, INT64_MIN / -1,
 * float -> int conversion out of range): values come from untrusted files.
 */
#include "onnx/onnx_fold.h"
#include "onnx/onnx_fold_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bb_ox_fold_alloc(const bb_ox_ctx *c, int i)
{
    bb_ox_val *o = bb_ox_out(c, i);
    if (!o)
        return 0;
    o->data = calloc((size_t)(o->numel ? o->numel : 1), esize(o));
    if (!o->data)
        return bb_err_oom(c->err, "%s: node '%s': out of memory for %lld elements", c->m->path,
                          c->nd->name, (long long)o->numel);
    o->is_const = 1;
    o->owned = 1;
    return 0;
}

/* ---- moves: copy, views, concat, split, gather, tile, pad, fill ---------------------- */

/* o[ob + i.ost] = x[xb + i.xst] for every index i of dims (rank nd). */
static void copy_strided(bb_ox_val *o, int64_t ob, const int64_t *ost, const bb_ox_val *x, int64_t xb,
                         const int64_t *xst, int nd, const int64_t *dims)
{
    iter it = {.off = {ob, xb}};
    int64_t n = 1;
    for (int d = 0; d < nd; d++) {
        it.st[0][d] = ost[d], it.st[1][d] = xst[d];
        n *= dims[d];
    }
    it_rows(&it, nd, dims, 2);
    for (int64_t i = 0; i < n; i += it.len, it_next(&it)) {
        int64_t so = it.in[0], sx = it.in[1];
        if (o->dtype == BB_OX_F32) {
            float *dst = (float *)o->data + it.off[0];
            const float *src = (const float *)x->data + it.off[1];
            for (int64_t k = 0; k < it.len; k++)
                dst[k * so] = src[k * sx];
        } else {
            int64_t *dst = (int64_t *)o->data + it.off[0];
            const int64_t *src = (const int64_t *)x->data + it.off[1];
            for (int64_t k = 0; k < it.len; k++)
                dst[k * so] = src[k * sx];
        }
    }
}

/* Allocates output 0 filled with v. */
static int fill(bb_ox_ctx *c, double v)
{
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    for (int64_t i = 0, iv = f2i(v); o && o->dtype == BB_OX_I64 && i < o->numel; i++)
        ((int64_t *)o->data)[i] = iv;
    for (int64_t i = 0; o && o->dtype == BB_OX_F32 && i < o->numel; i++)
        ((float *)o->data)[i] = (float)v;
    return 0;
}

/* Elements before and after axis of dims (rank nd). */
static void outer_inner(const int64_t *dims, int nd, int64_t axis, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < nd; d++)
        if (d != axis)
            *(d < axis ? outer : inner) *= dims[d];
}

int bb_ox_fold_copy(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    if (bb_ox_fold_alloc(c, 0) < 0 || bb_ox_fold_alloc(c, 1) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0), *mask = bb_ox_out(c, 1);
    if (o && x->numel)
        memcpy(o->data, x->data, (size_t)x->numel * esize(x));
    for (int64_t i = 0; mask && i < mask->numel; i++) /* Dropout's mask: nothing dropped */
        ((int64_t *)mask->data)[i] = 1;
    return 0;
}

int bb_ox_fold_view(bb_ox_ctx *c)
{
    int64_t ost[BB_OX_MAX_DIMS];
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (o) {
        bb_ox_strides(o, ost);
        copy_strided(o, 0, ost, bb_ox_in(c, 0), c->base, c->st, o->ndim, o->dims);
    }
    return 0;
}

int bb_ox_fold_concat(bb_ox_ctx *c)
{
    bb_ox_params p;
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    int64_t outer, inner;
    outer_inner(o->dims, o->ndim, p.axis, &outer, &inner);
    size_t e = esize(o);
    char *dst = o->data;
    for (int64_t r = 0; r < outer; r++)
        for (int i = 0; i < c->nd->n_in; i++) {
            const bb_ox_val *x = bb_ox_in(c, i);
            size_t blk = (size_t)(x->dims[p.axis] * inner) * e;
            if (blk)
                memcpy(dst, (const char *)x->data + (size_t)r * blk, blk);
            dst += blk;
        }
    return 0;
}

int bb_ox_fold_split(bb_ox_ctx *c)
{
    int64_t axis, *sizes = malloc(sizeof(int64_t) * (size_t)c->nd->n_out), st[BB_OX_MAX_DIMS], ost[BB_OX_MAX_DIMS];
    if (!sizes)
        return bb_err_oom(c->err, "out of memory");
    int rc = bb_ox_split_get(c->m, c->nd, c->v, &axis, sizes, c->err);
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_strides(x, st);
    int64_t at = 0;
    for (int k = 0; rc == 0 && k < c->nd->n_out; at += sizes[k], k++) {
        bb_ox_val *o = bb_ox_out(c, k);
        if (o && (rc = bb_ox_fold_alloc(c, k)) == 0) {
            bb_ox_strides(o, ost);
            copy_strided(o, 0, ost, x, at * st[axis], st, o->ndim, o->dims);
        }
    }
    free(sizes);
    return rc;
}

int bb_ox_fold_gather(bb_ox_ctx *c)
{
    bb_ox_params p;
    const bb_ox_val *x = bb_ox_in(c, 0), *ix = bb_ox_in(c, 1);
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    int64_t outer, inner, dim = x->dims[p.axis];
    outer_inner(x->dims, x->ndim, p.axis, &outer, &inner);
    const int64_t *idx = ix->data;
    size_t e = esize(x);
    char *dst = o->data;
    for (int64_t r = 0; r < outer; r++)
        for (int64_t q = 0; q < ix->numel; q++) {
            int64_t k = idx[q] < 0 ? idx[q] + dim : idx[q];
            if (k < 0 || k >= dim)
                return bb_ox_cerr(c, "index %lld out of range for an axis of size %lld",
                                  (long long)idx[q], (long long)dim);
            if (inner)
                memcpy(dst, (const char *)x->data + (size_t)((r * dim + k) * inner) * e, (size_t)inner * e);
            dst += (size_t)inner * e;
        }
    return 0;
}

/* Tile: a view of x with two axes per axis (the repeat, stride 0 in x; the
 * position in x). */
int bb_ox_fold_tile(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    int64_t ost[BB_OX_MAX_DIMS], xst[BB_OX_MAX_DIMS], dims[IT_DIMS], os2[IT_DIMS], xs2[IT_DIMS];
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    bb_ox_strides(o, ost);
    bb_ox_strides(x, xst);
    for (int d = 0; d < x->ndim; d++) {
        dims[2 * d] = x->dims[d] ? o->dims[d] / x->dims[d] : 0, dims[2 * d + 1] = x->dims[d];
        os2[2 * d] = x->dims[d] * ost[d], os2[2 * d + 1] = ost[d];
        xs2[2 * d] = 0, xs2[2 * d + 1] = xst[d];
    }
    copy_strided(o, 0, os2, x, 0, xs2, 2 * x->ndim, dims);
    return 0;
}

/* Pad: the fill value, then the part of x that is kept copied in place. */
int bb_ox_fold_pad(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_pad p;
    if (bb_ox_pad_get(c->m, c->nd, c->v, &p, c->err) < 0)
        return -1;
    if (p.mode != BB_OX_PAD_CONSTANT)
        return bb_ox_cerr(c, "pads constants in mode reflect or edge (not supported; batchbench pads "
                             "activations so)");
    if (fill(c, p.value) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    int64_t ost[BB_OX_MAX_DIMS], xst[BB_OX_MAX_DIMS], dims[BB_OX_MAX_DIMS], ob = 0, xb = 0;
    bb_ox_strides(o, ost);
    bb_ox_strides(x, xst);
    for (int d = 0; d < x->ndim; d++) {
        int64_t cb = p.begin[d] < 0 ? -p.begin[d] : 0, ce = p.end[d] < 0 ? -p.end[d] : 0;
        dims[d] = x->dims[d] - cb - ce > 0 ? x->dims[d] - cb - ce : 0;
        xb += cb * xst[d];
        ob += (p.begin[d] > 0 ? p.begin[d] : 0) * ost[d];
    }
    copy_strided(o, ob, ost, x, xb, xst, x->ndim, dims);
    return 0;
}

int bb_ox_fold_fill(bb_ox_ctx *c)
{
    const bb_ox_attr *a = bb_ox_a_find(c, "value");
    double v = 0;
    if (a && a->t && a->t->data) /* type and size checked by the shape function */
        v = a->t->dtype == BB_OX_F32 ? ((const float *)a->t->data)[0] : (double)((const int64_t *)a->t->data)[0];
    return fill(c, v);
}

/* ---- sources: Shape, Size, Constant; the shape of Range ----------------------------- */

int bb_ox_fold_shape(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    int64_t s, e, r = x->ndim;
    if (bb_ox_a_int(c, "start", 0, &s) < 0 || bb_ox_a_int(c, "end", r, &e) < 0)
        return -1;
    s = s < 0 ? (s < -r ? 0 : s + r) : (s > r ? r : s);
    e = e < 0 ? (e < -r ? 0 : e + r) : (e > r ? r : e);
    int64_t n = e > s ? e - s : 0;
    if (bb_ox_set(c, 0, BB_OX_I64, 1, &n) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (o)
        memcpy(o->data, x->dims + s, sizeof(int64_t) * (size_t)n);
    return 0;
}

int bb_ox_fold_size(bb_ox_ctx *c)
{
    if (bb_ox_set(c, 0, BB_OX_I64, 0, NULL) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (o)
        *(int64_t *)o->data = bb_ox_in(c, 0)->numel;
    return 0;
}

/* Output 0 = a copy of n elements of dtype dt at src, shaped (ndim, dims). */
static int set_data(bb_ox_ctx *c, bb_ox_dtype dt, int ndim, const int64_t *dims, const void *src, int64_t n)
{
    if (bb_ox_set(c, 0, dt, ndim, dims) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (o && (o->numel != n || (n && !src)))
        return bb_ox_cerr(c, "the value holds %lld elements for %lld", (long long)n, (long long)o->numel);
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    if (o && n)
        memcpy(o->data, src, (size_t)n * (dt == BB_OX_F32 ? sizeof(float) : sizeof(int64_t)));
    return 0;
}

int bb_ox_fold_constant(bb_ox_ctx *c)
{
    const bb_ox_attr *a;
    if ((a = bb_ox_a_find(c, "value")) && a->type == BB_OX_ATTR_TENSOR && a->t &&
        (a->t->dtype == BB_OX_F32 || a->t->dtype == BB_OX_I64))
        return set_data(c, a->t->dtype, a->t->ndim, a->t->dims, a->t->data, a->t->numel);
    if ((a = bb_ox_a_find(c, "value_float")) && a->type == BB_OX_ATTR_FLOAT)
        return set_data(c, BB_OX_F32, 0, NULL, &a->f, 1);
    if ((a = bb_ox_a_find(c, "value_int")) && a->type == BB_OX_ATTR_INT)
        return set_data(c, BB_OX_I64, 0, NULL, &a->i, 1);
    int64_t n = 0;
    if ((a = bb_ox_a_find(c, "value_floats")) && a->type == BB_OX_ATTR_FLOATS)
        return n = a->n, set_data(c, BB_OX_F32, 1, &n, a->floats, n);
    if ((a = bb_ox_a_find(c, "value_ints")) && a->type == BB_OX_ATTR_INTS)
        return n = a->n, set_data(c, BB_OX_I64, 1, &n, a->ints, n);
    return bb_ox_cerr(c, "unsupported attribute: a numeric value, value_float(s) or value_int(s) is expected");
}

int bb_ox_shape_range(bb_ox_ctx *c)
{
    const bb_ox_val *x[3];
    for (int i = 0; i < 3; i++) {
        x[i] = bb_ox_in(c, i);
        if (!x[i]->is_const || x[i]->numel != 1 || x[i]->dtype != x[0]->dtype)
            return bb_ox_cerr(c, "start, limit and delta must be constant scalars of one type "
                              "(the output's length depends on them)");
    }
    int64_t n;
    if (x[0]->dtype == BB_OX_F32) {
        double s = *(const float *)x[0]->data, l = *(const float *)x[1]->data, d = *(const float *)x[2]->data;
        double k = ceil((l - s) / d);
        if (!(k < (double)BB_OX_FOLD_MAX_ELEMS + 1))
            return bb_ox_cerr(c, "Range too large: %g elements from %g to %g by %g", k, s, l, d);
        n = k > 0 ? (int64_t)k : 0;
    } else {
        int64_t s = *(const int64_t *)x[0]->data, l = *(const int64_t *)x[1]->data;
        int64_t d = *(const int64_t *)x[2]->data, diff;
        if (d == 0 || __builtin_sub_overflow(l, s, &diff))
            return bb_ox_cerr(c, "Range from %lld to %lld by %lld is not supported", (long long)s, (long long)l,
                              (long long)d);
        n = d > 0 ? (diff <= 0 ? 0 : (diff - 1) / d + 1) : (diff >= 0 ? 0 : (diff + 1) / d + 1);
        if (n > BB_OX_FOLD_MAX_ELEMS)
            return bb_ox_cerr(c, "Range too large: %lld elements from %lld to %lld by %lld", (long long)n,
                              (long long)s, (long long)l, (long long)d);
    }
    return bb_ox_set(c, 0, x[0]->dtype, 1, &n);
}

/* ---- Range ------------------------------------------------------------------------ */

int bb_ox_fold_range(bb_ox_ctx *c)
{
    double s, d;
    if (bb_ox_in_scalar(c, 0, &s) < 0 || bb_ox_in_scalar(c, 2, &d) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    const bb_ox_val *x0 = bb_ox_in(c, 0), *x2 = bb_ox_in(c, 2);
    for (int64_t i = 0; o && i < o->numel; i++) {
        if (o->dtype == BB_OX_F32)
            ((float *)o->data)[i] = (float)(s + (double)i * d);
        else /* the count is bounded so that this stays between start and limit */
            ((int64_t *)o->data)[i] = ((const int64_t *)x0->data)[0] + i * ((const int64_t *)x2->data)[0];
    }
    return 0;
}

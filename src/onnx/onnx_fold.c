/*
 * onnx_fold.c — computing ONNX nodes whose inputs are all constant, in f32
 * and i64 (bool as 0/1): the kernels behind onnx_fold.h.
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

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- element access --------------------------------------------------------- */

static size_t esize(const bb_ox_val *v)
{
    return v->dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
}

static double rd(const bb_ox_val *v, int64_t i)
{
    return v->dtype == BB_OX_F32 ? (double)((const float *)v->data)[i] : (double)((const int64_t *)v->data)[i];
}

static int64_t f2i(double x)
{
    if (!(x == x))
        return 0;
    if (x >= 9223372036854775807.0)
        return INT64_MAX;
    if (x <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

static void wr(bb_ox_val *v, int64_t i, double x)
{
    if (v->dtype == BB_OX_F32)
        ((float *)v->data)[i] = (float)x;
    else
        ((int64_t *)v->data)[i] = f2i(x);
}

static void mv(bb_ox_val *o, int64_t oi, const bb_ox_val *x, int64_t xi)
{
    size_t e = esize(o);
    memcpy((char *)o->data + (size_t)oi * e, (const char *)x->data + (size_t)xi * e, e);
}

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
static void it_rows(iter *it, int nd, const int64_t *dims, int k)
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

static void it_next(iter *it)
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

/* ---- elementwise ------------------------------------------------------------------ */

static double u_relu(double x, const bb_ox_params *p) { (void)p; return x > 0 ? x : 0; }
static double u_sigmoid(double x, const bb_ox_params *p) { (void)p; return 1 / (1 + exp(-x)); }
static double u_hsig(double x, const bb_ox_params *p) { return fmax(0, fmin(1, p->alpha * x + p->beta)); }
static double u_hswish(double x, const bb_ox_params *p) { (void)p; return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double u_tanh(double x, const bb_ox_params *p) { (void)p; return tanh(x); }
static double u_erf(double x, const bb_ox_params *p) { (void)p; return erf(x); }
static double u_exp(double x, const bb_ox_params *p) { (void)p; return exp(x); }
static double u_abs(double x, const bb_ox_params *p) { (void)p; return fabs(x); }
static double u_neg(double x, const bb_ox_params *p) { (void)p; return -x; }
static double u_recip(double x, const bb_ox_params *p) { (void)p; return 1 / x; }
static double u_sin(double x, const bb_ox_params *p) { (void)p; return sin(x); }
static double u_cos(double x, const bb_ox_params *p) { (void)p; return cos(x); }
static double u_leaky(double x, const bb_ox_params *p) { return x >= 0 ? x : p->alpha * x; }
static double u_sqrt(double x, const bb_ox_params *p) { (void)p; return sqrt(x); }
static double u_floor(double x, const bb_ox_params *p) { (void)p; return floor(x); }
static double u_ceil(double x, const bb_ox_params *p) { (void)p; return ceil(x); }
static double u_clip(double x, const bb_ox_params *p) { return x < p->lo ? p->lo : x > p->hi ? p->hi : x; }
static double u_not(double x, const bb_ox_params *p) { (void)p; return x == 0; }

static int64_t i_relu(int64_t x, const bb_ox_params *p) { (void)p; return x > 0 ? x : 0; }
static int64_t i_abs(int64_t x, const bb_ox_params *p) { (void)p; return x < 0 ? (int64_t)(0 - (uint64_t)x) : x; }
static int64_t i_neg(int64_t x, const bb_ox_params *p) { (void)p; return (int64_t)(0 - (uint64_t)x); }
static int64_t i_same(int64_t x, const bb_ox_params *p) { (void)p; return x; }
static int64_t i_not(int64_t x, const bb_ox_params *p) { (void)p; return x == 0; }
static int64_t i_clip(int64_t x, const bb_ox_params *p)
{
    return (double)x < p->lo ? f2i(p->lo) : (double)x > p->hi ? f2i(p->hi) : x;
}

static const struct {
    const char *op;
    double (*f)(double, const bb_ox_params *);
    int64_t (*i)(int64_t, const bb_ox_params *);
} UNARY[] = {
    {"Relu", u_relu, i_relu}, {"Sigmoid", u_sigmoid, NULL}, {"HardSigmoid", u_hsig, NULL},
    {"HardSwish", u_hswish, NULL}, {"Tanh", u_tanh, NULL}, {"Erf", u_erf, NULL}, {"Exp", u_exp, NULL},
    {"Abs", u_abs, i_abs}, {"Neg", u_neg, i_neg}, {"Reciprocal", u_recip, NULL},
    {"Sin", u_sin, NULL}, {"Cos", u_cos, NULL},
    {"LeakyRelu", u_leaky, NULL}, {"Sqrt", u_sqrt, NULL}, {"Floor", u_floor, i_same},
    {"Ceil", u_ceil, i_same}, {"Clip", u_clip, i_clip}, {"Not", u_not, i_not},
};

int bb_ox_fold_unary(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_params p;
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0)
        return -1;
    for (size_t k = 0; k < sizeof UNARY / sizeof *UNARY; k++) {
        if (strcmp(UNARY[k].op, c->nd->op_type))
            continue;
        if (x->dtype == BB_OX_I64 && !UNARY[k].i)
            return bb_ox_cerr(c, "int64 input is not supported");
        if (bb_ox_fold_alloc(c, 0) < 0)
            return -1;
        bb_ox_val *o = bb_ox_out(c, 0);
        for (int64_t i = 0; o && i < o->numel; i++) {
            if (x->dtype == BB_OX_I64)
                ((int64_t *)o->data)[i] = UNARY[k].i(((const int64_t *)x->data)[i], &p);
            else
                wr(o, i, UNARY[k].f(rd(x, i), &p));
        }
        return 0;
    }
    return bb_ox_cerr(c, "no constant kernel");
}

static double b_add(double a, double b) { return a + b; }
static double b_sub(double a, double b) { return a - b; }
static double b_mul(double a, double b) { return a * b; }
static double b_div(double a, double b) { return a / b; }
static double b_pow(double a, double b) { return pow(a, b); }
static double b_fmod(double a, double b) { return fmod(a, b); }
static double b_max(double a, double b) { return a != a || a > b ? a : b; }
static double b_min(double a, double b) { return a != a || a < b ? a : b; }
static double b_eq(double a, double b) { return a == b; }
static double b_lt(double a, double b) { return a < b; }
static double b_gt(double a, double b) { return a > b; }
static double b_le(double a, double b) { return a <= b; }
static double b_ge(double a, double b) { return a >= b; }
static double b_and(double a, double b) { return a != 0 && b != 0; }
static double b_or(double a, double b) { return a != 0 || b != 0; }
static double b_xor(double a, double b) { return (a != 0) != (b != 0); }

/* Integer kernels: -1 for a division by zero. Wrapping, never UB. */
#define W(x) ((int64_t)(x))
static int j_add(int64_t a, int64_t b, int64_t *r) { *r = W((uint64_t)a + (uint64_t)b); return 0; }
static int j_sub(int64_t a, int64_t b, int64_t *r) { *r = W((uint64_t)a - (uint64_t)b); return 0; }
static int j_mul(int64_t a, int64_t b, int64_t *r) { *r = W((uint64_t)a * (uint64_t)b); return 0; }
static int j_div(int64_t a, int64_t b, int64_t *r) /* truncating toward zero, as ONNX Runtime */
{
    *r = b == -1 ? W(0 - (uint64_t)a) : b ? a / b : 0;
    return b ? 0 : -1;
}
static int j_fmod(int64_t a, int64_t b, int64_t *r)
{
    *r = b == -1 || !b ? 0 : a % b;
    return b ? 0 : -1;
}
static int j_mod(int64_t a, int64_t b, int64_t *r) /* the divisor's sign (Python) */
{
    int rc = j_fmod(a, b, r);
    *r += *r && (*r < 0) != (b < 0) ? b : 0;
    return rc;
}
static int j_pow(int64_t a, int64_t b, int64_t *r)
{
    uint64_t acc = 1, base = (uint64_t)a;
    if (b < 0) {
        *r = a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
        return 0;
    }
    for (; b; b >>= 1, base *= base)
        if (b & 1)
            acc *= base;
    *r = W(acc);
    return 0;
}
static int j_max(int64_t a, int64_t b, int64_t *r) { *r = a > b ? a : b; return 0; }
static int j_min(int64_t a, int64_t b, int64_t *r) { *r = a < b ? a : b; return 0; }
static int j_eq(int64_t a, int64_t b, int64_t *r) { *r = a == b; return 0; }
static int j_lt(int64_t a, int64_t b, int64_t *r) { *r = a < b; return 0; }
static int j_gt(int64_t a, int64_t b, int64_t *r) { *r = a > b; return 0; }
static int j_le(int64_t a, int64_t b, int64_t *r) { *r = a <= b; return 0; }
static int j_ge(int64_t a, int64_t b, int64_t *r) { *r = a >= b; return 0; }
static int j_and(int64_t a, int64_t b, int64_t *r) { *r = a && b; return 0; }
static int j_or(int64_t a, int64_t b, int64_t *r) { *r = a || b; return 0; }
static int j_xor(int64_t a, int64_t b, int64_t *r) { *r = !a != !b; return 0; }
#undef W

typedef struct {
    const char *op;
    double (*f)(double, double);
    int (*i)(int64_t, int64_t, int64_t *);
} binop;

static const binop BINARY[] = {
    {"Add", b_add, j_add}, {"Sum", b_add, j_add}, {"Sub", b_sub, j_sub}, {"Mul", b_mul, j_mul},
    {"Div", b_div, j_div}, {"Pow", b_pow, j_pow}, {"Mod", b_fmod, j_fmod}, {"Max", b_max, j_max},
    {"Min", b_min, j_min}, {"Equal", b_eq, j_eq}, {"Less", b_lt, j_lt}, {"Greater", b_gt, j_gt},
    {"LessOrEqual", b_le, j_le}, {"GreaterOrEqual", b_ge, j_ge}, {"And", b_and, j_and},
    {"Or", b_or, j_or}, {"Xor", b_xor, j_xor},
};
static const binop PYMOD = {"Mod", b_fmod, j_mod};

static const binop *find_binop(const char *name)
{
    for (size_t k = 0; name && k < sizeof BINARY / sizeof *BINARY; k++)
        if (!strcmp(BINARY[k].op, name))
            return &BINARY[k];
    return NULL;
}

/* o = op(a, b), broadcasting; o's dtype and dims are set, its data allocated. */
static int bin_apply(const bb_ox_ctx *c, const binop *op, const bb_ox_val *a, const bb_ox_val *b, bb_ox_val *o)
{
    iter it = {0};
    bb_ox_bcast_strides(a, o->ndim, o->dims, it.st[0]);
    bb_ox_bcast_strides(b, o->ndim, o->dims, it.st[1]);
    it_rows(&it, o->ndim, o->dims, 2);
    int ints = a->dtype == BB_OX_I64 && b->dtype == BB_OX_I64;
    int f32 = a->dtype == BB_OX_F32 && b->dtype == BB_OX_F32 && o->dtype == BB_OX_F32;
    const float *af = a->data, *bf = b->data;
    const int64_t *ai = a->data, *bi = b->data;
    for (int64_t i = 0; i < o->numel; i += it.len, it_next(&it))
        for (int64_t k = 0, r; k < it.len; k++) {
            int64_t ia = it.off[0] + k * it.in[0], ib = it.off[1] + k * it.in[1];
            if (f32)
                ((float *)o->data)[i + k] = (float)op->f(af[ia], bf[ib]);
            else if (!ints)
                wr(o, i + k, op->f(rd(a, ia), rd(b, ib)));
            else if (op->i(ai[ia], bi[ib], &r) < 0)
                return bb_ox_cerr(c, "integer division by zero");
            else if (o->dtype == BB_OX_I64)
                ((int64_t *)o->data)[i + k] = r;
            else
                wr(o, i + k, (double)r);
        }
    return 0;
}

/* The broadcast shape of a and b into o (already known valid: the shape
 * function checked the whole node). */
static void bcast_into(const bb_ox_val *a, const bb_ox_val *b, bb_ox_val *o)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    o->ndim = r;
    o->numel = 1;
    for (int d = 0; d < r; d++) {
        int ka = d - (r - a->ndim), kb = d - (r - b->ndim);
        int64_t da = ka < 0 ? 1 : a->dims[ka], db = kb < 0 ? 1 : b->dims[kb];
        o->dims[d] = da == 1 ? db : da;
        o->numel *= o->dims[d];
    }
}

int bb_ox_fold_binary(bb_ox_ctx *c)
{
    const binop *op = find_binop(c->nd->op_type);
    bb_ox_params p;
    if (!op)
        return bb_ox_cerr(c, "no constant kernel");
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0)
        return -1;
    if (!strcmp(op->op, "Mod") && !p.fmod)
        op = &PYMOD;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o || c->nd->n_in == 1)
        return o ? bb_ox_fold_copy(c) : 0;
    const bb_ox_val *a = bb_ox_in(c, 0);
    bb_ox_val prev = {0}; /* the running result of a variadic op */
    int rc = 0;
    for (int k = 1; k < c->nd->n_in && rc == 0; k++) {
        const bb_ox_val *b = bb_ox_in(c, k);
        bb_ox_val t = {.dtype = o->dtype}, *dst = &t;
        if (k == c->nd->n_in - 1) {
            rc = bb_ox_fold_alloc(c, 0);
            dst = o;
        } else {
            bcast_into(a, b, &t);
            if (!(t.data = calloc((size_t)(t.numel ? t.numel : 1), esize(&t))))
                rc = bb_err_oom(c->err, "out of memory");
        }
        if (rc == 0)
            rc = bin_apply(c, op, a, b, dst);
        free(prev.data);
        prev = t;
        a = &prev;
    }
    free(prev.data);
    return rc;
}

int bb_ox_fold_where(bb_ox_ctx *c)
{
    if (bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    iter it = {0};
    for (int j = 0; j < 3; j++)
        bb_ox_bcast_strides(bb_ox_in(c, j), o->ndim, o->dims, it.st[j]);
    it_rows(&it, o->ndim, o->dims, 3);
    const int64_t *cond = bb_ox_in(c, 0)->data;
    for (int64_t i = 0; i < o->numel; i += it.len, it_next(&it))
        for (int64_t k = 0; k < it.len; k++) {
            int j = cond[it.off[0] + k * it.in[0]] ? 1 : 2;
            mv(o, i + k, bb_ox_in(c, j), it.off[j] + k * it.in[j]);
        }
    return 0;
}

/* An int64 narrowed to the ONNX integer type asked (wrapping as C casts do). */
static int64_t narrow(int64_t x, int64_t t)
{
    switch (t) {
    case 2: return (uint8_t)x;
    case 3: return (int8_t)x;
    case 4: return (uint16_t)x;
    case 5: return (int16_t)x;
    case 6: return (int32_t)x;
    case 9: return x != 0;
    case 12: return (uint32_t)x;
    default: return x;
    }
}

int bb_ox_fold_cast(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_params p;
    if (bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    for (int64_t i = 0; o && i < o->numel; i++) {
        if (o->dtype == BB_OX_F32)
            ((float *)o->data)[i] = (float)rd(x, i);
        else if (x->dtype == BB_OX_F32)
            ((int64_t *)o->data)[i] = p.onnx_to == 9 ? rd(x, i) != 0 : narrow(f2i(rd(x, i)), p.onnx_to);
        else
            ((int64_t *)o->data)[i] = narrow(((const int64_t *)x->data)[i], p.onnx_to);
    }
    return 0;
}

/* ---- reductions -------------------------------------------------------------------- */

int bb_ox_fold_reduce(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_axes ax;
    if (bb_ox_axes_get(c->m, c->nd, c->v, &ax, c->err) < 0 || bb_ox_fold_alloc(c, 0) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    const char *op = c->nd->op_type + 6; /* after "Reduce" */
    int l2 = !strcmp(op, "L2"), sum = l2 || !strcmp(op, "Sum") || !strcmp(op, "Mean");
    int prod = !strcmp(op, "Prod"), mx = !strcmp(op, "Max");
    double *acc = malloc(sizeof(double) * (size_t)(o->numel ? o->numel : 1));
    if (!acc)
        return bb_err_oom(c->err, "out of memory");
    for (int64_t i = 0; i < o->numel; i++)
        acc[i] = sum ? 0 : prod ? 1 : mx ? -INFINITY : INFINITY;
    /* output strides along the input's axes, 0 along reduced ones */
    iter it = {0};
    int64_t st = 1, count = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        int red = 0;
        for (int k = 0; k < ax.n; k++)
            red |= ax.axes[k] == d;
        it.st[0][d] = red ? 0 : st;
        st *= red ? 1 : x->dims[d];
        count *= red ? x->dims[d] : 1;
    }
    it_rows(&it, x->ndim, x->dims, 1);
    for (int64_t i = 0; i < x->numel; i += it.len, it_next(&it))
        for (int64_t k = 0; k < it.len; k++) {
            double v = l2 ? rd(x, i + k) * rd(x, i + k) : rd(x, i + k), *a = &acc[it.off[0] + k * it.in[0]];
            *a = sum ? *a + v : prod ? *a * v : mx ? (v > *a ? v : *a) : (v < *a ? v : *a);
        }
    int mean = !strcmp(op, "Mean");
    for (int64_t i = 0; l2 && i < o->numel; i++)
        acc[i] = sqrt(acc[i]);
    for (int64_t i = 0; i < o->numel; i++)
        wr(o, i, mean && count ? (o->dtype == BB_OX_I64 ? trunc(acc[i] / (double)count) : acc[i] / (double)count)
                               : acc[i]);
    free(acc);
    return 0;
}

/* ---- ScatterND, Range --------------------------------------------------------------- */

int bb_ox_fold_scatternd(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0), *ix = bb_ox_in(c, 1), *up = bb_ox_in(c, 2);
    const char *red;
    if (bb_ox_a_str(c, "reduction", "none", &red) < 0 || bb_ox_fold_copy(c) < 0)
        return -1;
    bb_ox_val *o = bb_ox_out(c, 0);
    if (!o)
        return 0;
    int k = (int)ix->dims[ix->ndim - 1];
    int64_t st[BB_OX_MAX_DIMS], slice = 1;
    bb_ox_strides(x, st);
    for (int d = k; d < x->ndim; d++)
        slice *= x->dims[d];
    const binop *op = find_binop(!strcmp(red, "add") ? "Add" : !strcmp(red, "mul") ? "Mul" : !strcmp(red, "max") ? "Max"
                                 : !strcmp(red, "min") ? "Min" : NULL);
    int64_t tuples = k ? ix->numel / k : 0;
    const int64_t *idx = ix->data;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int d = 0; d < k; d++) {
            int64_t v = idx[t * k + d], dim = x->dims[d];
            v = v < 0 ? v + dim : v;
            if (v < 0 || v >= dim)
                return bb_ox_cerr(c, "index %lld out of range for axis %d of size %lld",
                                  (long long)idx[t * k + d], d, (long long)dim);
            off += v * st[d];
        }
        for (int64_t e = 0; e < slice; e++) {
            int64_t r;
            if (!op)
                mv(o, off + e, up, t * slice + e);
            else if (o->dtype == BB_OX_F32)
                wr(o, off + e, op->f(rd(o, off + e), rd(up, t * slice + e)));
            else if (op->i(((int64_t *)o->data)[off + e], ((const int64_t *)up->data)[t * slice + e], &r) == 0)
                ((int64_t *)o->data)[off + e] = r;
        }
    }
    return 0;
}

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

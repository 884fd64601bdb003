/*
 * onnx_eval.c — the evaluator's driver and shape functions: walks an ONNX
 * graph (already in topological order) at one batch size, giving every
 * value its dtype and dims, and its data when the constant folder
 * (onnx_fold.c) can compute it.
 *
 * Why it exists: see onnx_eval.h. Each op is one row of the OPS table:
 * accepted input/output counts, a shape function (which also checks the
 * node: ranks, broadcasting, element counts, dtypes) and, for ops that
 * occur in constant subgraphs, a folding kernel run when every input is
 * constant. Shape, Size and Constant are computed by their "shape
 * function" itself (in onnx_fold.c): their value is always known; Range's
 * shape function, which reads its inputs' data, is there too.
 */
#include "onnx/onnx_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_fold.h"

enum {
    F_FLOAT = 1,    /* inputs must be float */
    F_INT = 2,      /* inputs must be int64/bool */
    F_BOOL = 4,     /* output is bool (int64) */
    F_MIXED = 8,    /* inputs may differ in dtype (Pow) */
    F_PARAMS = 16,  /* check the node's scalar parameters (bb_ox_params_get) */
};
#define VAR (1 << 30)

typedef int (*shape_fn)(bb_ox_ctx *c);
typedef int (*fold_fn)(bb_ox_ctx *c);

typedef struct {
    const char *op;
    int min_in, max_in, max_out;
    shape_fn shape;
    fold_fn fold;     /* NULL: shape only */
    int flags;
} op_t;

/* ---- helpers ----------------------------------------------------------------------- */

static const bb_ox_val *ranked(const bb_ox_ctx *c, int i, int lo, int hi)
{
    const bb_ox_val *x = bb_ox_in(c, i);
    char b[160];
    if (!x)
        return bb_ox_cerr(c, "input %d is missing", i), NULL;
    if (x->ndim < lo || x->ndim > hi)
        return bb_ox_cerr(c, "input %d ('%s') has shape %s; rank %d..%d expected%s", i, bb_ox_in_name(c, i),
                          bb_ox_dims_str(x->dims, x->ndim, b, sizeof b), lo, hi,
                          lo == 4 && hi == 4 ? " (only 2-D spatial windows are supported)" : ""), NULL;
    return x;
}

static int dtype_ok(const bb_ox_ctx *c, int i, int fl)
{
    const bb_ox_val *x = bb_ox_in(c, i);
    if (x && (fl & F_FLOAT) && x->dtype != BB_OX_F32)
        return bb_ox_cerr(c, "input %d ('%s') is an integer tensor; a float one is expected", i, bb_ox_in_name(c, i));
    if (x && (fl & F_INT) && x->dtype != BB_OX_I64)
        return bb_ox_cerr(c, "input %d ('%s') is a float tensor; an integer/bool one is expected", i,
                          bb_ox_in_name(c, i));
    return 0;
}

static int params(const bb_ox_ctx *c, bb_ox_params *p)
{
    return bb_ox_params_get(c->m, c->nd, c->v, p, c->err);
}

static int same(const bb_ox_ctx *c, int i, const bb_ox_val *x)
{
    return bb_ox_set(c, i, x->dtype, x->ndim, x->dims);
}

/* Merges shape xd (rank xr) into (*r, d), NumPy style. */
static int bcast(const bb_ox_ctx *c, int *r, int64_t *d, int xr, const int64_t *xd)
{
    int n = *r > xr ? *r : xr;
    int64_t o[BB_OX_MAX_DIMS];
    for (int k = 0; k < n; k++) {
        int ia = k - (n - *r), ib = k - (n - xr);
        int64_t a = ia < 0 ? 1 : d[ia], b = ib < 0 ? 1 : xd[ib];
        if (a != b && a != 1 && b != 1) {
            char s1[160], s2[160];
            return bb_ox_cerr(c, "shape mismatch: %s and %s do not broadcast", bb_ox_dims_str(d, *r, s1, sizeof s1),
                              bb_ox_dims_str(xd, xr, s2, sizeof s2));
        }
        o[k] = a == 1 ? b : a;
    }
    memcpy(d, o, sizeof(int64_t) * (size_t)n);
    *r = n;
    return 0;
}

/* ---- elementwise --------------------------------------------------------------------- */

static int sh_unary(bb_ox_ctx *c)
{
    bb_ox_params p;
    if (dtype_ok(c, 0, c->flags) < 0 || ((c->flags & F_PARAMS) && params(c, &p) < 0))
        return -1;
    return same(c, 0, bb_ox_in(c, 0));
}

static int sh_dropout(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    if (same(c, 0, x) < 0)
        return -1;
    return bb_ox_set(c, 1, BB_OX_I64, x->ndim, x->dims);
}

static int sh_cast(bb_ox_ctx *c)
{
    bb_ox_params p;
    const bb_ox_val *x = bb_ox_in(c, 0);
    return params(c, &p) < 0 ? -1 : bb_ox_set(c, 0, p.to, x->ndim, x->dims);
}

static int sh_binary(bb_ox_ctx *c)
{
    const bb_ox_val *a = bb_ox_in(c, 0);
    int r = a->ndim;
    int64_t d[BB_OX_MAX_DIMS];
    memcpy(d, a->dims, sizeof d);
    for (int i = 0; i < c->nd->n_in; i++) {
        const bb_ox_val *x = bb_ox_in(c, i);
        if (!x)
            return bb_ox_cerr(c, "input %d is missing", i);
        if (dtype_ok(c, i, c->flags) < 0)
            return -1;
        if (!(c->flags & F_MIXED) && x->dtype != a->dtype)
            return bb_ox_cerr(c, "inputs 0 and %d differ in type (float and integer)", i);
        if (i && bcast(c, &r, d, x->ndim, x->dims) < 0)
            return -1;
    }
    bb_ox_params p;
    if ((c->flags & F_PARAMS) && params(c, &p) < 0)
        return -1;
    return bb_ox_set(c, 0, c->flags & F_BOOL ? BB_OX_I64 : a->dtype, r, d);
}

static int sh_where(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 1), *y = bb_ox_in(c, 2), *cond = bb_ox_in(c, 0);
    if (dtype_ok(c, 0, F_INT) < 0)
        return -1;
    if (x->dtype != y->dtype)
        return bb_ox_cerr(c, "inputs 1 and 2 differ in type (float and integer)");
    int r = cond->ndim;
    int64_t d[BB_OX_MAX_DIMS];
    memcpy(d, cond->dims, sizeof d);
    if (bcast(c, &r, d, x->ndim, x->dims) < 0 || bcast(c, &r, d, y->ndim, y->dims) < 0)
        return -1;
    return bb_ox_set(c, 0, x->dtype, r, d);
}

/* ---- networks: Conv, pools, Gemm, MatMul, normalisations ------------------------------- */

/* A 2-D conv, or a 1-D one ([N,C,L]: its window is the 2-D one of height 1). */
static int sh_conv(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, 4), *w = x ? ranked(c, 1, x->ndim, x->ndim) : NULL, *b = bb_ox_in(c, 2);
    bb_ox_win win;
    if (!w || dtype_ok(c, 0, F_FLOAT) < 0 ||
        (x->ndim == 4 ? bb_ox_window(c->m, c->nd, x->dims, w->dims, &win, c->err)
                      : bb_ox_window_1d(c->m, c->nd, x->dims, w->dims, &win, c->err)) < 0)
        return -1;
    if (b && (b->ndim != 1 || b->dims[0] != w->dims[0]))
        return bb_ox_cerr(c, "shape mismatch: bias has %lld elements for %lld output channels",
                          (long long)b->numel, (long long)w->dims[0]);
    int64_t d[4] = {x->dims[0], win.out_c, win.out_h, win.out_w};
    if (x->ndim == 3)
        d[2] = win.out_w;
    return bb_ox_set(c, 0, BB_OX_F32, x->ndim, d);
}

static int sh_pool(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 4, 4);
    bb_ox_win win;
    if (!x || dtype_ok(c, 0, F_FLOAT) < 0 || bb_ox_window(c->m, c->nd, x->dims, NULL, &win, c->err) < 0)
        return -1;
    int64_t d[4] = {x->dims[0], win.out_c, win.out_h, win.out_w};
    return bb_ox_set(c, 0, BB_OX_F32, 4, d) < 0 ? -1 : bb_ox_set(c, 1, BB_OX_I64, 4, d);
}

static int sh_gpool(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, BB_OX_MAX_DIMS);
    if (!x || dtype_ok(c, 0, F_FLOAT) < 0)
        return -1;
    int64_t d[BB_OX_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++)
        d[k] = k < 2 ? x->dims[k] : 1;
    return bb_ox_set(c, 0, BB_OX_F32, x->ndim, d);
}

static int sh_gemm(bb_ox_ctx *c)
{
    const bb_ox_val *a = ranked(c, 0, 2, 2), *b = a ? ranked(c, 1, 2, 2) : NULL, *cc = bb_ox_in(c, 2);
    bb_ox_params p;
    if (!b || dtype_ok(c, 0, c->flags) < 0 || dtype_ok(c, 1, c->flags) < 0 || params(c, &p) < 0)
        return -1;
    int64_t mm = a->dims[p.trans_a], k = a->dims[!p.trans_a], kb = b->dims[p.trans_b], nn = b->dims[!p.trans_b];
    char s1[160], s2[160];
    if (k != kb)
        return bb_ox_cerr(c, "shape mismatch: A %s%s and B %s%s", bb_ox_dims_str(a->dims, 2, s1, sizeof s1),
                          p.trans_a ? "^T" : "", bb_ox_dims_str(b->dims, 2, s2, sizeof s2), p.trans_b ? "^T" : "");
    int64_t d[2] = {mm, nn};
    int bad = cc && cc->ndim > 2;
    for (int k = 0; cc && !bad && k < cc->ndim; k++) /* C broadcasts to [M,N], one way */
        bad = cc->dims[k] != 1 && cc->dims[k] != d[k + 2 - cc->ndim];
    if (bad)
        return bb_ox_cerr(c, "shape mismatch: C %s does not broadcast to [%lld,%lld]",
                          bb_ox_dims_str(cc->dims, cc->ndim, s1, sizeof s1), (long long)mm, (long long)nn);
    return bb_ox_set(c, 0, a->dtype, 2, d);
}

static int sh_matmul(bb_ox_ctx *c)
{
    const bb_ox_val *a = ranked(c, 0, 1, BB_OX_MAX_DIMS), *b = a ? ranked(c, 1, 1, BB_OX_MAX_DIMS) : NULL;
    if (!b || dtype_ok(c, 0, c->flags) < 0 || dtype_ok(c, 1, c->flags) < 0)
        return -1;
    int64_t ka = a->dims[a->ndim - 1], kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
    if (ka != kb) {
        char s1[160], s2[160];
        return bb_ox_cerr(c, "shape mismatch: %s x %s", bb_ox_dims_str(a->dims, a->ndim, s1, sizeof s1),
                          bb_ox_dims_str(b->dims, b->ndim, s2, sizeof s2));
    }
    int r = a->ndim >= 2 ? a->ndim - 2 : 0;
    int64_t d[BB_OX_MAX_DIMS + 2];
    memcpy(d, a->dims, sizeof(int64_t) * (size_t)r);
    if (bcast(c, &r, d, b->ndim >= 2 ? b->ndim - 2 : 0, b->dims) < 0)
        return -1;
    if (a->ndim >= 2)
        d[r++] = a->dims[a->ndim - 2];
    if (b->ndim >= 2)
        d[r++] = b->dims[b->ndim - 1];
    return bb_ox_set(c, 0, a->dtype, r, d);
}

/* BatchNormalization (InstanceNormalization: the same checks). In training
 * mode, which normalises by the input's own statistics, only on constants
 * (onnx_fold_nn.c: weight standardisation), with its two running
 * statistics as outputs 1 and 2. */
static int sh_bn(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 2, BB_OX_MAX_DIMS);
    bb_ox_params p;
    int64_t training = 0;
    if (!x || dtype_ok(c, 0, c->flags) < 0)
        return -1;
    if (!strcmp(c->nd->op_type, "BatchNormalization") &&
        bb_ox_a_int_in(c, "training_mode", 0, 0, 1, &training) < 0)
        return -1;
    if (training && !x->is_const)
        return bb_ox_cerr(c, "BatchNormalization in training mode (by the batch's own statistics) is computed on "
                             "constants only, not on activations (nor on constants past the folding budget of "
                             "src/onnx/onnx_eval.h)");
    if (!training && (params(c, &p) < 0 || c->nd->n_out > 1))
        return c->nd->n_out > 1 ? bb_ox_cerr(c, "%d outputs outside training mode", c->nd->n_out) : -1;
    for (int i = 1; i < c->nd->n_out; i++) /* training mode's running mean and variance */
        if (bb_ox_set(c, i, BB_OX_F32, 1, &x->dims[1]) < 0)
            return -1;
    for (int i = 1; i < c->nd->n_in; i++) { /* scale, bias (, mean, var): one per channel */
        const bb_ox_val *s = ranked(c, i, 1, 1);
        if (!s)
            return -1;
        if (s->dims[0] != x->dims[1])
            return bb_ox_cerr(c, "shape mismatch: input %d has %lld elements for %lld channels", i,
                              (long long)s->dims[0], (long long)x->dims[1]);
    }
    return same(c, 0, x);
}

static int sh_cumsum(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0), *ax = bb_ox_in(c, 1);
    int64_t axis;
    if (!ax || ax->dtype != BB_OX_I64 || ax->numel != 1 || !ax->is_const)
        return bb_ox_cerr(c, "input 1 (axis) must be a constant one-element integer tensor");
    if (x->ndim < 1 || bb_ox_axis(c, ((const int64_t *)ax->data)[0], x->ndim, &axis) < 0)
        return x->ndim < 1 ? bb_ox_cerr(c, "input 0 must have a rank of at least 1") : -1;
    return same(c, 0, x);
}

static int sh_layernorm(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 1, BB_OX_MAX_DIMS);
    bb_ox_params p;
    if (!x || dtype_ok(c, 0, c->flags) < 0 || params(c, &p) < 0 || same(c, 0, x) < 0)
        return -1;
    int64_t d[BB_OX_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++)
        d[k] = k < p.axis ? x->dims[k] : 1;
    if (bb_ox_set(c, 1, BB_OX_F32, x->ndim, d) < 0)
        return -1;
    return bb_ox_set(c, 2, BB_OX_F32, x->ndim, d);
}

static int sh_reduce(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_axes ax;
    if (bb_ox_axes_get(c->m, c->nd, c->v, &ax, c->err) < 0)
        return -1;
    int64_t d[BB_OX_MAX_DIMS];
    int r = 0;
    for (int k = 0, j = 0; k < x->ndim; k++) {
        int red = j < ax.n && ax.axes[j] == k;
        j += red;
        if (!red || ax.keepdims)
            d[r++] = red ? 1 : x->dims[k];
    }
    return bb_ox_set(c, 0, x->dtype, r, d);
}

/* ---- reshaping ---------------------------------------------------------------------- */

static int sh_flatten(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_params p;
    if (params(c, &p) < 0)
        return -1;
    int64_t d[2] = {1, 1};
    for (int k = 0; k < x->ndim; k++)
        d[k >= p.axis] *= x->dims[k];
    return bb_ox_set(c, 0, x->dtype, 2, d);
}

static int sh_reshape(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    const int64_t *s;
    int64_t n, az, d[BB_OX_MAX_DIMS], known = 1;
    char b1[160], b2[160];
    if (bb_ox_in_ints(c, 1, BB_OX_MAX_DIMS, &s, &n) < 0 || bb_ox_a_int_in(c, "allowzero", 0, 0, 1, &az) < 0)
        return -1;
    int infer = -1;
    for (int k = 0; k < n; k++) {
        d[k] = s[k] == 0 && !az ? (k < x->ndim ? x->dims[k] : -2) : s[k];
        if (d[k] == -1 && infer < 0)
            infer = k;
        else if (d[k] < 0)
            return bb_ox_cerr(c, "invalid shape %s for input %s", bb_ox_dims_str(s, (int)n, b1, sizeof b1),
                              bb_ox_dims_str(x->dims, x->ndim, b2, sizeof b2));
        else if (d[k] && known > BB_OX_MAX_ELEMS / d[k])
            return bb_ox_cerr(c, "shape %s: absurd size", bb_ox_dims_str(s, (int)n, b1, sizeof b1));
        else
            known *= d[k];
    }
    if (infer >= 0 && known && x->numel % known == 0)
        d[infer] = x->numel / known;
    else if (infer >= 0 || known != x->numel)
        return bb_ox_cerr(c, "cannot reshape %s (%lld elements) to %s", bb_ox_dims_str(x->dims, x->ndim, b1, sizeof b1),
                          (long long)x->numel, bb_ox_dims_str(s, (int)n, b2, sizeof b2));
    return bb_ox_set(c, 0, x->dtype, (int)n, d);
}

static int sh_transpose(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    int64_t perm[BB_OX_MAX_DIMS], d[BB_OX_MAX_DIMS], st[BB_OX_MAX_DIMS];
    if (bb_ox_perm_get(c->m, c->nd, c->v, perm, c->err) < 0)
        return -1;
    bb_ox_strides(x, st);
    c->base = 0;
    for (int k = 0; k < x->ndim; k++) {
        d[k] = x->dims[perm[k]];
        c->st[k] = st[perm[k]];
    }
    return bb_ox_set(c, 0, x->dtype, x->ndim, d);
}

static int sh_squeeze(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_axes ax;
    int unsq = !strcmp(c->nd->op_type, "Unsqueeze"), r = 0;
    if (bb_ox_axes_get(c->m, c->nd, c->v, &ax, c->err) < 0)
        return -1;
    int64_t d[BB_OX_MAX_DIMS];
    int out_rank = unsq ? x->ndim + ax.n : x->ndim;
    for (int k = 0, j = 0, src = 0; k < out_rank; k++) {
        int hit = j < ax.n && ax.axes[j] == k;
        j += hit;
        if (unsq)
            d[r++] = hit ? 1 : x->dims[src++];
        else if (!hit)
            d[r++] = x->dims[k];
    }
    return bb_ox_set(c, 0, x->dtype, r, d);
}

static int sh_expand(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    const int64_t *s;
    int64_t n, d[BB_OX_MAX_DIMS];
    if (bb_ox_in_ints(c, 1, BB_OX_MAX_DIMS, &s, &n) < 0)
        return -1;
    for (int k = 0; k < n; k++)
        if (s[k] < 0)
            return bb_ox_cerr(c, "negative dim %lld in the shape", (long long)s[k]);
    int r = (int)n;
    if (n)
        memcpy(d, s, sizeof(int64_t) * (size_t)n);
    if (bcast(c, &r, d, x->ndim, x->dims) < 0)
        return -1;
    c->base = 0;
    bb_ox_bcast_strides(x, r, d, c->st);
    return bb_ox_set(c, 0, x->dtype, r, d);
}

static int sh_tile(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    const int64_t *s;
    int64_t n, d[BB_OX_MAX_DIMS];
    if (bb_ox_in_ints(c, 1, BB_OX_MAX_DIMS, &s, &n) < 0)
        return -1;
    if (n != x->ndim)
        return bb_ox_cerr(c, "%lld repeats for a rank-%d input", (long long)n, x->ndim);
    for (int k = 0; k < n; k++) {
        if (s[k] < 0 || (s[k] && x->dims[k] > BB_OX_MAX_ELEMS / s[k]))
            return bb_ox_cerr(c, "unsupported repeat %lld on an axis of size %lld", (long long)s[k],
                              (long long)x->dims[k]);
        d[k] = x->dims[k] * s[k];
    }
    return bb_ox_set(c, 0, x->dtype, x->ndim, d);
}

static int sh_pad(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_pad p;
    int64_t d[BB_OX_MAX_DIMS];
    if (bb_ox_pad_get(c->m, c->nd, c->v, &p, c->err) < 0)
        return -1;
    for (int k = 0; k < x->ndim; k++)
        if ((d[k] = x->dims[k] + p.begin[k] + p.end[k]) < 0)
            return bb_ox_cerr(c, "pads %lld/%lld crop axis %d of size %lld below zero", (long long)p.begin[k],
                              (long long)p.end[k], k, (long long)x->dims[k]);
    return bb_ox_set(c, 0, x->dtype, x->ndim, d);
}

static int sh_resize(bb_ox_ctx *c)
{
    bb_ox_resize r;
    if (dtype_ok(c, 0, F_FLOAT) < 0 || bb_ox_resize_get(c->m, c->nd, c->v, &r, c->err) < 0)
        return -1;
    return bb_ox_set(c, 0, BB_OX_F32, 4, r.out);
}

/* ---- joining and selecting -------------------------------------------------------------- */

static int sh_concat(bb_ox_ctx *c)
{
    const bb_ox_val *a = ranked(c, 0, 1, BB_OX_MAX_DIMS);
    bb_ox_params p;
    if (!a || params(c, &p) < 0)
        return -1;
    int64_t d[BB_OX_MAX_DIMS];
    memcpy(d, a->dims, sizeof d);
    for (int i = 1; i < c->nd->n_in; i++) {
        const bb_ox_val *x = bb_ox_in(c, i);
        if (!x)
            return bb_ox_cerr(c, "input %d is missing", i);
        char s1[160], s2[160];
        int bad = x->ndim != a->ndim || x->dtype != a->dtype;
        for (int k = 0; k < a->ndim && !bad; k++)
            bad = k != p.axis && x->dims[k] != a->dims[k];
        if (bad)
            return bb_ox_cerr(c, "shape mismatch: input %d %s does not concatenate with %s on axis %lld", i,
                              bb_ox_dims_str(x->dims, x->ndim, s1, sizeof s1),
                              bb_ox_dims_str(a->dims, a->ndim, s2, sizeof s2), (long long)p.axis);
        if ((d[p.axis] += x->dims[p.axis]) > BB_OX_MAX_ELEMS)
            return bb_ox_cerr(c, "absurd size on the concatenation axis");
    }
    return bb_ox_set(c, 0, a->dtype, a->ndim, d);
}

static int sh_split(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    int64_t axis, *sizes = malloc(sizeof(int64_t) * (size_t)c->nd->n_out), d[BB_OX_MAX_DIMS];
    if (!sizes)
        return bb_err_oom(c->err, "out of memory");
    int rc = bb_ox_split_get(c->m, c->nd, c->v, &axis, sizes, c->err);
    memcpy(d, x->dims, sizeof d);
    for (int k = 0; rc == 0 && k < c->nd->n_out; k++) {
        d[axis] = sizes[k];
        rc = bb_ox_set(c, k, x->dtype, x->ndim, d);
    }
    free(sizes);
    return rc;
}

static int sh_slice(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    bb_ox_slice s;
    int64_t st[BB_OX_MAX_DIMS];
    if (bb_ox_slice_get(c->m, c->nd, c->v, &s, c->err) < 0)
        return -1;
    bb_ox_strides(x, st);
    c->base = 0;
    for (int k = 0; k < x->ndim; k++) {
        c->base += s.start[k] * st[k];
        c->st[k] = s.step[k] * st[k];
    }
    return bb_ox_set(c, 0, x->dtype, x->ndim, s.count);
}

static int sh_gather(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 1, BB_OX_MAX_DIMS), *ix = bb_ox_in(c, 1);
    bb_ox_params p;
    if (!x || dtype_ok(c, 1, F_INT) < 0 || params(c, &p) < 0)
        return -1;
    int r = x->ndim - 1 + ix->ndim;
    if (r > BB_OX_MAX_DIMS)
        return bb_ox_cerr(c, "output rank %d exceeds %d", r, BB_OX_MAX_DIMS);
    int64_t d[BB_OX_MAX_DIMS], dim = x->dims[p.axis];
    for (int k = 0, o = 0; k < x->ndim; k++)
        if (k != p.axis)
            d[o++ + (k > p.axis ? ix->ndim : 0)] = x->dims[k];
    memcpy(d + p.axis, ix->dims, sizeof(int64_t) * (size_t)ix->ndim);
    /* constant indices are checked here (the folder checks them again); a large
     * list only when folded, so that many Gathers of one list stay cheap */
    for (int64_t q = 0; ix->is_const && ix->numel <= 4096 && q < ix->numel; q++) {
        int64_t v = ((const int64_t *)ix->data)[q];
        if (v < -dim || v >= dim)
            return bb_ox_cerr(c, "index %lld out of range for axis %lld of size %lld", (long long)v,
                              (long long)p.axis, (long long)dim);
    }
    return bb_ox_set(c, 0, x->dtype, r, d);
}

static int sh_scatternd(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0), *ix = ranked(c, 1, 1, BB_OX_MAX_DIMS), *up = bb_ox_in(c, 2);
    const char *red;
    if (!ix || dtype_ok(c, 1, F_INT) < 0 || bb_ox_a_str(c, "reduction", "none", &red) < 0)
        return -1;
    if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul") && strcmp(red, "max") && strcmp(red, "min"))
        return bb_ox_cerr(c, "unsupported attribute value reduction='%s'", red);
    int64_t k = ix->dims[ix->ndim - 1];
    int64_t want[2 * BB_OX_MAX_DIMS];
    int wr = 0;
    for (int d = 0; d < ix->ndim - 1; d++)
        want[wr++] = ix->dims[d];
    for (int64_t d = k; d < x->ndim; d++)
        want[wr++] = x->dims[d];
    int bad = k < 1 || k > x->ndim || up->ndim != wr || up->dtype != x->dtype;
    for (int d = 0; d < wr && !bad; d++)
        bad = up->dims[d] != want[d];
    char s1[160], s2[160], s3[160];
    if (bad)
        return bb_ox_cerr(c, "shape mismatch: data %s, indices %s, updates %s",
                          bb_ox_dims_str(x->dims, x->ndim, s1, sizeof s1),
                          bb_ox_dims_str(ix->dims, ix->ndim, s2, sizeof s2),
                          bb_ox_dims_str(up->dims, up->ndim, s3, sizeof s3));
    return same(c, 0, x);
}

/* ---- shapes and constants ------------------------------------------------------------ */

static int sh_fill(bb_ox_ctx *c)
{
    const int64_t *s;
    int64_t n;
    const bb_ox_attr *a = bb_ox_a_find(c, "value");
    if (bb_ox_in_ints(c, 0, BB_OX_MAX_DIMS, &s, &n) < 0)
        return -1;
    if (a && (a->type != BB_OX_ATTR_TENSOR || !a->t || a->t->numel != 1 || !a->t->data ||
              (a->t->dtype != BB_OX_F32 && a->t->dtype != BB_OX_I64)))
        return bb_ox_cerr(c, "unsupported attribute: 'value' must be a one-element numeric tensor");
    return bb_ox_set(c, 0, a ? a->t->dtype : BB_OX_F32, (int)n, s);
}

/* ---- the table ------------------------------------------------------------------------- */

static const op_t OPS[] = {
    {"Conv", 2, 3, 1, sh_conv, bb_ox_fold_conv, 0},
    {"ConvTranspose", 2, 3, 1, bb_ox_shape_convtranspose, NULL, F_FLOAT},
    {"DepthToSpace", 1, 1, 1, bb_ox_shape_depthspace, NULL, F_FLOAT},
    {"SpaceToDepth", 1, 1, 1, bb_ox_shape_depthspace, NULL, F_FLOAT},
    {"MaxPool", 1, 1, 2, sh_pool, NULL, 0},
    {"AveragePool", 1, 1, 1, sh_pool, NULL, 0},
    {"GlobalAveragePool", 1, 1, 1, sh_gpool, NULL, 0},
    {"GlobalMaxPool", 1, 1, 1, sh_gpool, NULL, 0},
    {"Gemm", 2, 3, 1, sh_gemm, bb_ox_fold_gemm, F_FLOAT},
    {"MatMul", 2, 2, 1, sh_matmul, bb_ox_fold_matmul, 0},
    {"Einsum", 1, 2, 1, bb_ox_shape_einsum, bb_ox_fold_einsum, F_FLOAT},
    {"BatchNormalization", 5, 5, 3, sh_bn, bb_ox_fold_bn, F_FLOAT},
    {"CumSum", 2, 2, 1, sh_cumsum, bb_ox_fold_cumsum, 0},
    {"LayerNormalization", 2, 3, 3, sh_layernorm, NULL, F_FLOAT},
    {"InstanceNormalization", 3, 3, 1, sh_bn, NULL, F_FLOAT},
    {"Resize", 1, 4, 1, sh_resize, NULL, F_FLOAT},
    {"Softmax", 1, 1, 1, sh_unary, NULL, F_FLOAT | F_PARAMS},
    {"Relu", 1, 1, 1, sh_unary, bb_ox_fold_unary, 0},
    {"Abs", 1, 1, 1, sh_unary, bb_ox_fold_unary, 0},
    {"Neg", 1, 1, 1, sh_unary, bb_ox_fold_unary, 0},
    {"Clip", 1, 3, 1, sh_unary, bb_ox_fold_unary, 0},
    {"Floor", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Ceil", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Sqrt", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Sigmoid", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"HardSigmoid", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"HardSwish", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Tanh", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Erf", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Exp", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Reciprocal", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Sin", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Cos", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"LeakyRelu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"Not", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_INT},
    {"Identity", 1, 1, 1, sh_dropout, bb_ox_fold_copy, 0},
    {"Dropout", 1, 3, 2, sh_dropout, bb_ox_fold_copy, 0},
    {"Cast", 1, 1, 1, sh_cast, bb_ox_fold_cast, 0},
    {"Add", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Sub", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Mul", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Div", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Pow", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_MIXED},
    {"Mod", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_PARAMS},
    {"Max", 1, VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Min", 1, VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Sum", 1, VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Equal", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL},
    {"Less", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL},
    {"Greater", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL},
    {"LessOrEqual", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL},
    {"GreaterOrEqual", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL},
    {"And", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL | F_INT},
    {"Or", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL | F_INT},
    {"Xor", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_BOOL | F_INT},
    {"Where", 3, 3, 1, sh_where, bb_ox_fold_where, 0},
    {"ReduceMean", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceSum", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceL2", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, F_FLOAT},
    {"ReduceProd", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceMax", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceMin", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"Flatten", 1, 1, 1, sh_flatten, bb_ox_fold_copy, 0},
    {"Reshape", 2, 2, 1, sh_reshape, bb_ox_fold_copy, 0},
    {"Squeeze", 1, 2, 1, sh_squeeze, bb_ox_fold_copy, 0},
    {"Unsqueeze", 1, 2, 1, sh_squeeze, bb_ox_fold_copy, 0},
    {"Transpose", 1, 1, 1, sh_transpose, bb_ox_fold_view, 0},
    {"Slice", 1, 5, 1, sh_slice, bb_ox_fold_view, 0},
    {"Expand", 2, 2, 1, sh_expand, bb_ox_fold_view, 0},
    {"Tile", 2, 2, 1, sh_tile, bb_ox_fold_tile, 0},
    {"Pad", 1, 4, 1, sh_pad, bb_ox_fold_pad, 0},
    {"Concat", 1, VAR, 1, sh_concat, bb_ox_fold_concat, 0},
    {"Split", 1, 2, VAR, sh_split, bb_ox_fold_split, 0},
    {"Gather", 2, 2, 1, sh_gather, bb_ox_fold_gather, 0},
    {"ScatterND", 3, 3, 1, sh_scatternd, bb_ox_fold_scatternd, 0},
    {"Shape", 1, 1, 1, bb_ox_fold_shape, NULL, 0},
    {"Size", 1, 1, 1, bb_ox_fold_size, NULL, 0},
    {"Constant", 0, 0, 1, bb_ox_fold_constant, NULL, 0},
    {"ConstantOfShape", 1, 1, 1, sh_fill, bb_ox_fold_fill, 0},
    {"Range", 3, 3, 1, bb_ox_shape_range, bb_ox_fold_range, 0},
};

static const op_t *find_op(const char *op_type)
{
    for (size_t i = 0; op_type && i < sizeof OPS / sizeof *OPS; i++)
        if (!strcmp(OPS[i].op, op_type))
            return &OPS[i];
    return NULL;
}

int bb_ox_eval_supports(const char *op_type)
{
    return find_op(op_type) != NULL;
}

/* ---- the driver ------------------------------------------------------------------------ */

/* Inputs defined, outputs not yet (and not twice in the node). */
static int check_node_values(const bb_ox_ctx *c, bb_ox_val *v)
{
    const bb_ox_node *nd = c->nd;
    for (int i = 0; i < nd->n_in; i++)
        if (nd->in[i] >= c->m->n_values || (nd->in[i] >= 0 && v[nd->in[i]].ndim < 0))
            return bb_ox_cerr(c, "input %d ('%s') is read before it is defined", i,
                              nd->in[i] >= c->m->n_values ? "?" : bb_ox_in_name(c, i));
    int rc = 0;
    for (int i = 0; i < nd->n_out; i++) {
        int k = nd->out[i];
        if (k >= c->m->n_values || (k >= 0 && v[k].ndim != -1)) {
            rc = bb_ox_cerr(c, "output %d ('%s') is defined twice", i,
                            k >= c->m->n_values ? "?" : c->m->values[k].name);
            break;
        }
        if (k >= 0)
            v[k].ndim = -2; /* taken, until the shape function sets it */
    }
    for (int i = 0; i < nd->n_out; i++)
        if (nd->out[i] >= 0 && nd->out[i] < c->m->n_values && v[nd->out[i]].ndim == -2)
            v[nd->out[i]].ndim = -1;
    return rc;
}

/* What the constant folder has spent in one evaluation, and may spend;
 * the most elements one result may have. */
typedef struct {
    int64_t bytes, work;
    int64_t max_bytes, max_work, max_elems;
} budget;

/* onnx_eval.h's limits, or BB_OX_FOLD_PER_WEIGHT and
 * BB_OX_FOLD_WORK_PER_WEIGHT times the file's own weights where that is
 * more, and results of as many elements as its weights: weight
 * standardisation (NFNet, BiT) computes every conv's weights again, a few
 * times over (dm_nfnet_f0's last conv: 4.7M weights), and MViTv2 builds the
 * indices of its attention scores ([N, 1, 3136, 196, 4]: 7.4M at batch 3,
 * of 24M weights). */
static budget budget_for(const bb_ox_model *m)
{
    int64_t w = 0;
    for (int i = 0; i < m->n_inits; i++)
        w += m->inits[i].numel > 0 && w < INT64_MAX / 2 ? m->inits[i].numel : 0;
    w = w < INT64_MAX / (8 * BB_OX_FOLD_WORK_PER_WEIGHT) ? w : INT64_MAX / (8 * BB_OX_FOLD_WORK_PER_WEIGHT);
    const int64_t bytes = w * BB_OX_FOLD_PER_WEIGHT * 8, work = w * BB_OX_FOLD_WORK_PER_WEIGHT;
    return (budget){0, 0, bytes > BB_OX_FOLD_MAX_BYTES ? bytes : BB_OX_FOLD_MAX_BYTES,
                    work > BB_OX_FOLD_MAX_WORK ? work : BB_OX_FOLD_MAX_WORK,
                    w > BB_OX_FOLD_MAX_ELEMS ? w : BB_OX_FOLD_MAX_ELEMS};
}

/* Whether node c is computed: 1 when every input is constant and it is
 * within the limits of onnx_eval.h (then charged to *b), 2 when it is past
 * them, else 0. */
static int foldable(const bb_ox_ctx *c, const op_t *op, budget *b)
{
    if (!op->fold || (bb_ox_out(c, 0) && bb_ox_out(c, 0)->is_const))
        return 0;
    int64_t bytes = 0, work = 0;
    for (int i = 0; i < c->nd->n_in; i++) {
        const bb_ox_val *x = bb_ox_in(c, i);
        if (x && !x->is_const)
            return 0;
        work += x ? x->numel : 0;
    }
    for (int i = 0; i < c->nd->n_out; i++) {
        const bb_ox_val *o = bb_ox_out(c, i);
        if (o && o->numel > b->max_elems)
            return 2;
        bytes += o ? o->numel * 8 : 0;
        work += o ? o->numel : 0;
    }
    /* a Conv's, MatMul's or Gemm's multiply-adds, which its elements do not bound */
    int64_t extra = bb_ox_fold_nn_work(c);
    if (b->bytes + bytes > b->max_bytes || extra > b->max_work || b->work + work + extra > b->max_work)
        return 2;
    work += extra;
    b->bytes += bytes;
    b->work += work;
    return 1;
}

/* A computed float output holds parameters when some float input does. */
static void mark_from_weights(bb_ox_ctx *c)
{
    int any = 0;
    for (int i = 0; i < c->nd->n_in; i++)
        any |= bb_ox_in(c, i) && bb_ox_in(c, i)->from_weights;
    for (int i = 0; any && i < c->nd->n_out; i++)
        if (bb_ox_out(c, i) && bb_ox_out(c, i)->is_const && bb_ox_out(c, i)->dtype == BB_OX_F32)
            bb_ox_out(c, i)->from_weights = 1;
}

static int eval_node(const bb_ox_model *m, bb_ox_val *v, int k, budget *b, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = &m->nodes[k], .v = v, .w = v, .err = err};
    const bb_ox_node *nd = c.nd;
    const op_t *op = nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx") ? NULL : find_op(nd->op_type);
    if (!op)
        return bb_ox_cerr(&c, "unsupported op type '%s'%s%s", nd->op_type ? nd->op_type : "?",
                          nd->domain && nd->domain[0] ? " in domain " : "", nd->domain ? nd->domain : "");
    if (nd->n_in < op->min_in || nd->n_in > op->max_in || nd->n_out < 1 || nd->n_out > op->max_out) {
        char in[32], out[32];
        snprintf(in, sizeof in, op->max_in < VAR ? "%d..%d" : "%d or more", op->min_in, op->max_in);
        snprintf(out, sizeof out, op->max_out < VAR ? "1..%d" : "1 or more", op->max_out);
        return bb_ox_cerr(&c, "%d inputs and %d outputs (expected %s inputs, %s outputs)", nd->n_in, nd->n_out,
                          in, out);
    }
    for (int i = 0; i < op->min_in; i++)
        if (!bb_ox_in(&c, i))
            return bb_ox_cerr(&c, "required input %d is missing", i);
    c.flags = op->flags;
    if (check_node_values(&c, v) < 0)
        return -1;
    if (op->shape(&c) < 0)
        return -1;
    int empty = 1; /* every output of no elements */
    for (int i = 0; i < nd->n_out; i++) {
        if (bb_ox_out(&c, i) && bb_ox_out(&c, i)->ndim < 0)
            return bb_ox_cerr(&c, "output %d is not supported", i);
        empty &= !bb_ox_out(&c, i) || bb_ox_out(&c, i)->numel == 0;
    }
    int f = foldable(&c, op, b);
    for (int i = 0; f == 2 && i < nd->n_out; i++)
        if (bb_ox_out(&c, i))
            bb_ox_out(&c, i)->past_limits = 1;
    if (f != 1)
        return 0;
    /* nothing to compute: a kernel's loops over the other axes could still
     * run long (a CumSum of [2, 524291, 0, 524288] along its empty axis
     * timed the fuzzer out) */
    int rc = empty ? 0 : op->fold(&c);
    for (int i = 0; empty && rc == 0 && i < nd->n_out; i++)
        rc = bb_ox_fold_alloc(&c, i) < 0 ? -1 : 0;
    if (rc == 0)
        mark_from_weights(&c);
    return rc < 0 ? -1 : 0;
}

static int set_input(const bb_ox_model *m, const bb_ox_io *io, int64_t n, bb_ox_val *v, bb_err *err)
{
    const char *name = io->value >= 0 && io->value < m->n_values ? m->values[io->value].name : NULL;
    if (!name)
        return bb_err_set(err, "%s: a graph input refers to no value", m->path);
    bb_ox_val *x = &v[io->value];
    if (x->ndim != -1)
        return bb_err_set(err, "%s: input '%s' is defined twice", m->path, name);
    if (io->ndim < 0 || io->ndim > BB_OX_MAX_DIMS)
        return bb_err_set(err, "%s: input '%s' has no declared shape", m->path, name);
    x->dtype = bb_ox_dtype_of(io->elem_type);
    if (!x->dtype)
        return bb_err_set(err, "%s: input '%s' has unsupported element type %d", m->path, name, io->elem_type);
    x->numel = 1;
    for (int d = 0; d < io->ndim; d++) {
        x->dims[d] = d == 0 ? n : io->dims[d];
        if (x->dims[d] < 0)
            return bb_err_set(err, "%s: input '%s': dim %d (%s) is not declared; only the first (batch) dim may be "
                              "symbolic", m->path, name, d, io->dim_param[d] ? io->dim_param[d] : "unknown");
        if (x->dims[d] && x->numel > BB_OX_MAX_ELEMS / x->dims[d])
            return bb_err_set(err, "%s: input '%s': absurd size at batch %lld", m->path, name, (long long)n);
        x->numel *= x->dims[d];
    }
    x->ndim = io->ndim;
    return 0;
}

static int set_init(const bb_ox_model *m, int i, bb_ox_val *v, bb_err *err)
{
    int k = m->init_value[i];
    const bb_ox_tensor *t = &m->inits[i];
    if (k < 0 || k >= m->n_values || v[k].ndim != -1 || t->ndim < 0 || t->ndim > BB_OX_MAX_DIMS ||
        (t->dtype != BB_OX_F32 && t->dtype != BB_OX_I64) || (t->numel && !t->data))
        return bb_err_set(err, "%s: initializer %d is malformed or defined twice", m->path, i);
    bb_ox_val *x = &v[k];
    *x = (bb_ox_val){.is_const = 1, .from_weights = t->dtype == BB_OX_F32, .dtype = t->dtype, .ndim = t->ndim,
                     .numel = t->numel, .data = t->data};
    memcpy(x->dims, t->dims, sizeof x->dims);
    return 0;
}

/* The last node that reads each value; m->n_nodes for a graph output (read
 * after the evaluation), -1 for a value nothing reads. NULL when out of memory. */
static int *last_readers(const bb_ox_model *m)
{
    int *last = malloc(sizeof(int) * (size_t)(m->n_values > 0 ? m->n_values : 1));
    if (!last)
        return NULL;
    for (int i = 0; i < m->n_values; i++)
        last[i] = -1;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] >= 0 && m->nodes[k].in[i] < m->n_values)
                last[m->nodes[k].in[i]] = k;
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i].value >= 0 && m->outputs[i].value < m->n_values)
            last[m->outputs[i].value] = m->n_nodes;
    return last;
}

/* After node k: free the computed integer inputs that nothing reads any more
 * and that only nodes with computed integer outputs read (index arithmetic:
 * MViTv2's relative position indices are 700 MB of int64 at batch 2, most of
 * it intermediate). Any other node may be lowered later (a float computed
 * from constants is lowered when it differs between batch sizes) and reads
 * its inputs then: read_live marks them kept. A freed value is no longer
 * const. */
static void drop_dead_indices(const bb_ox_model *m, bb_ox_val *v, int k, const int *last,
                              unsigned char *read_live)
{
    const bb_ox_node *nd = &m->nodes[k];
    int computed = 1; /* and integer: a float output differing between batch sizes is lowered */
    for (int i = 0; i < nd->n_out; i++)
        computed &= nd->out[i] < 0 || (v[nd->out[i]].is_const && v[nd->out[i]].dtype == BB_OX_I64);
    for (int i = 0; i < nd->n_in; i++) {
        int x = nd->in[i];
        if (x < 0)
            continue;
        read_live[x] |= !computed;
        if (last[x] == k && !read_live[x] && v[x].owned && v[x].dtype == BB_OX_I64) {
            free(v[x].data);
            v[x].data = NULL;
            v[x].owned = v[x].is_const = 0;
        }
    }
}

bb_ox_val *bb_ox_eval(const bb_ox_model *m, int64_t n, int drop_dead, bb_err *err)
{
    if (n < 1 || n > BB_OX_MAX_ELEMS)
        return bb_err_set(err, "%s: batch size %lld is out of range", m->path, (long long)n), NULL;
    bb_ox_val *v = calloc((size_t)(m->n_values > 0 ? m->n_values : 1), sizeof *v);
    if (!v)
        return bb_err_oom(err, "%s: out of memory for %d values", m->path, m->n_values), NULL;
    for (int i = 0; i < m->n_values; i++)
        v[i].ndim = -1;
    int rc = 0;
    budget b = budget_for(m);
    for (int i = 0; rc == 0 && i < m->n_inits; i++)
        rc = set_init(m, i, v, err);
    for (int i = 0; rc == 0 && i < m->n_inputs; i++)
        rc = set_input(m, &m->inputs[i], n, v, err);
    int *last = rc == 0 ? last_readers(m) : NULL;
    unsigned char *read_live = rc == 0 ? calloc((size_t)(m->n_values > 0 ? m->n_values : 1), 1) : NULL;
    if (rc == 0 && (!last || !read_live))
        rc = bb_err_oom(err, "%s: out of memory for %d values", m->path, m->n_values);
    for (int k = 0; rc == 0 && k < m->n_nodes; k++)
        if ((rc = eval_node(m, v, k, &b, err)) == 0 && drop_dead)
            drop_dead_indices(m, v, k, last, read_live);
    free(last);
    free(read_live);
    if (rc < 0) {
        bb_ox_vals_free(v, m->n_values);
        return NULL;
    }
    return v;
}

void bb_ox_vals_free(bb_ox_val *v, int n_values)
{
    if (!v)
        return;
    for (int i = 0; i < n_values; i++)
        if (v[i].owned)
            free(v[i].data);
    free(v);
}

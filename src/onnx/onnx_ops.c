/*
 * onnx_ops.c — the evaluator's op table and its shape functions: for each
 * ONNX op type batchbench knows, how many inputs and outputs it takes, the
 * function that gives its outputs' dtypes and dims at one batch size
 * (checking the node: ranks, broadcasting, element counts, dtypes), and the
 * constant folder's kernel for it (onnx_fold.c).
 *
 * Why it exists: see onnx_ops.h. Shape, Size and Constant are computed by
 * their "shape function" itself (in onnx_fold.c): their value is always
 * known; Range's shape function, which reads its inputs' data, is there
 * too; ConvTranspose's and DepthToSpace's are in onnx_deconv.c, Einsum's in
 * onnx_einsum.c.
 */
#include "onnx/onnx_ops.h"

#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_fold.h"

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
                          lo >= 3 && hi == 5 && x->ndim > 5 ? " (1-D, 2-D and 3-D windows are supported)" : ""),
               NULL;
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

/* CastLike (opset 15; the function bodies of opset 18 and torch's newer
 * exporters cast constants to their input's type with it): to float only. */
static int sh_castlike(bb_ox_ctx *c)
{
    const bb_ox_val *x = bb_ox_in(c, 0), *like = bb_ox_in(c, 1);
    if (!like || like->dtype != BB_OX_F32)
        return bb_ox_cerr(c, "casts to an integer type (batchbench runs CastLike to float only)");
    return bb_ox_set(c, 0, BB_OX_F32, x->ndim, x->dims);
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

/* GroupNormalization: X [N, C, S...]; scale and bias one per group (opset
 * 18) or per channel (21), either accepted by its size. */
static int sh_groupnorm(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, BB_OX_MAX_DIMS);
    bb_ox_params p;
    if (!x || dtype_ok(c, 0, F_FLOAT) < 0 || params(c, &p) < 0)
        return -1;
    if (x->dims[1] % p.groups)
        return bb_ox_cerr(c, "num_groups %lld does not divide the %lld channels", (long long)p.groups,
                          (long long)x->dims[1]);
    for (int i = 1; i < 3; i++) {
        const bb_ox_val *s = ranked(c, i, 1, 1);
        if (!s || dtype_ok(c, i, F_FLOAT) < 0)
            return -1;
        if (s->dims[0] != x->dims[1] && s->dims[0] != p.groups)
            return bb_ox_cerr(c, "input %d has %lld elements: one per channel (%lld) or per group (%lld) expected",
                              i, (long long)s->dims[0], (long long)x->dims[1], (long long)p.groups);
    }
    return same(c, 0, x);
}

/* LRN: X [N, C, H, W]. */
static int sh_lrn(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 4, 4);
    bb_ox_params p;
    if (!x || dtype_ok(c, 0, F_FLOAT) < 0 || params(c, &p) < 0)
        return -1;
    return same(c, 0, x);
}

/* PRelu: the slope broadcasts to X (one way), so the result is X's shape. */
static int sh_prelu(bb_ox_ctx *c)
{
    if (sh_binary(c) < 0)
        return -1;
    const bb_ox_val *x = bb_ox_in(c, 0), *y = bb_ox_out(c, 0);
    if (y->ndim != x->ndim || memcmp(y->dims, x->dims, sizeof(int64_t) * (size_t)x->ndim) != 0)
        return bb_ox_cerr(c, "slope '%s' does not broadcast to the shape of input '%s'", bb_ox_in_name(c, 1),
                          bb_ox_in_name(c, 0));
    return 0;
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

/* The window of input 0 (1-D [N,C,L], 2-D [N,C,H,W] or 3-D [N,C,T,H,W]),
 * and the output's dims: [N, out_c, the output size of each spatial axis]. */
static int window_dims(bb_ox_ctx *c, const bb_ox_val *x, const int64_t *wd, bb_ox_win *win, int64_t d[5])
{
    int r = x->ndim == 5 ? bb_ox_window_3d(c->m, c->nd, x->dims, wd, win, c->err)
          : x->ndim == 4 ? bb_ox_window(c->m, c->nd, x->dims, wd, win, c->err)
                         : bb_ox_window_1d(c->m, c->nd, x->dims, wd, win, c->err);
    int64_t sp[3] = {win->out_d, win->out_h, win->out_w};
    d[0] = x->dims[0], d[1] = win->out_c;
    for (int k = 2; k < x->ndim; k++)
        d[k] = sp[3 - (x->ndim - k)];
    return r;
}

/* A conv with a 1-D, 2-D or 3-D window. */
static int sh_conv(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, 5), *w = x ? ranked(c, 1, x->ndim, x->ndim) : NULL, *b = bb_ox_in(c, 2);
    bb_ox_win win;
    int64_t d[5];
    if (!w || dtype_ok(c, 0, F_FLOAT) < 0 || window_dims(c, x, w->dims, &win, d) < 0)
        return -1;
    if (b && (b->ndim != 1 || b->dims[0] != w->dims[0]))
        return bb_ox_cerr(c, "shape mismatch: bias has %lld elements for %lld output channels",
                          (long long)b->numel, (long long)w->dims[0]);
    return bb_ox_set(c, 0, BB_OX_F32, x->ndim, d);
}

static int sh_pool(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, 5);
    bb_ox_win win;
    int64_t d[5];
    if (!x || dtype_ok(c, 0, F_FLOAT) < 0 || window_dims(c, x, NULL, &win, d) < 0)
        return -1;
    return bb_ox_set(c, 0, BB_OX_F32, x->ndim, d) < 0 ? -1 : bb_ox_set(c, 1, BB_OX_I64, x->ndim, d);
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

/* LSTM and GRU, as onnx_rnn.c writes a direction of one out for the
 * backends' own kernels (one in a file is written out before evaluation):
 * X [S, B, I] (layout 1: [B, S, I]), W [D, G*H, I], R [D, G*H, H] (G: 4
 * gates, 3 for GRU); Y [S, D, B, H] ([B, S, D, H]), Y_h (and LSTM's Y_c)
 * [D, B, H] ([B, D, H]). */
static int sh_rnn(bb_ox_ctx *c)
{
    const bb_ox_val *x = ranked(c, 0, 3, 3), *w = x ? ranked(c, 1, 3, 3) : NULL, *r = w ? ranked(c, 2, 3, 3) : NULL;
    if (!r || dtype_ok(c, 0, F_FLOAT) < 0)
        return -1;
    const bb_ox_attr *dir = bb_ox_attr_find(c->nd, "direction");
    const int64_t layout = bb_ox_attr_int(c->nd, "layout", 0), h = r->dims[2], gates = strcmp(c->nd->op_type, "GRU") ? 4 : 3;
    const int64_t d = dir && dir->type == BB_OX_ATTR_STRING && !strcmp(dir->s, "bidirectional") ? 2 : 1;
    if ((layout != 0 && layout != 1) || w->dims[0] != d || r->dims[0] != d || w->dims[1] != gates * h ||
        r->dims[1] != gates * h || w->dims[2] != x->dims[2] || bb_ox_attr_int(c->nd, "hidden_size", h) != h)
        return bb_ox_cerr(c, "shape mismatch: X, W and R are not those of an %s of %lld direction(s) with hidden "
                          "size %lld", c->nd->op_type, (long long)d, (long long)h);
    const int64_t s = x->dims[layout ? 1 : 0], n = x->dims[layout ? 0 : 1];
    const int64_t y[4] = {s, d, n, h}, y1[4] = {n, s, d, h}, st[3] = {d, n, h}, st1[3] = {n, d, h};
    if (bb_ox_set(c, 0, x->dtype, 4, layout ? y1 : y) < 0)
        return -1;
    for (int k = 1; k < c->nd->n_out; k++)
        if (bb_ox_set(c, k, x->dtype, 3, layout ? st1 : st) < 0)
            return -1;
    return 0;
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

static const bb_ox_op OPS[] = {
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
    {"LSTM", 3, 8, 3, sh_rnn, NULL, 0},
    {"GRU", 3, 6, 2, sh_rnn, NULL, 0},
    {"Einsum", 1, 2, 1, bb_ox_shape_einsum, bb_ox_fold_einsum, F_FLOAT},
    {"BatchNormalization", 5, 5, 3, sh_bn, bb_ox_fold_bn, F_FLOAT},
    {"CumSum", 2, 2, 1, sh_cumsum, bb_ox_fold_cumsum, 0},
    {"LayerNormalization", 2, 3, 3, sh_layernorm, NULL, F_FLOAT},
    {"InstanceNormalization", 3, 3, 1, sh_bn, NULL, F_FLOAT},
    {"GroupNormalization", 3, 3, 1, sh_groupnorm, NULL, F_FLOAT | F_PARAMS},
    {"LRN", 1, 1, 1, sh_lrn, NULL, F_FLOAT | F_PARAMS},
    {"Resize", 1, 4, 1, sh_resize, NULL, F_FLOAT},
    {"Upsample", 1, 2, 1, sh_resize, NULL, F_FLOAT},
    {"Softmax", 1, 1, 1, sh_unary, NULL, F_FLOAT | F_PARAMS},
    {"LogSoftmax", 1, 1, 1, sh_unary, NULL, F_FLOAT | F_PARAMS},
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
    {"Elu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"Selu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"Celu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"ThresholdedRelu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"Gelu", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT | F_PARAMS},
    {"Softplus", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Softsign", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Mish", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Log", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_FLOAT},
    {"Not", 1, 1, 1, sh_unary, bb_ox_fold_unary, F_INT},
    {"Identity", 1, 1, 1, sh_dropout, bb_ox_fold_copy, 0},
    {"Dropout", 1, 3, 2, sh_dropout, bb_ox_fold_copy, 0},
    {"Cast", 1, 1, 1, sh_cast, bb_ox_fold_cast, 0},
    {"CastLike", 2, 2, 1, sh_castlike, bb_ox_fold_cast, F_TYPE_LAST},
    {"Add", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Sub", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Mul", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Div", 2, 2, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Pow", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_MIXED},
    {"PRelu", 2, 2, 1, sh_prelu, bb_ox_fold_binary, F_FLOAT},
    {"Mod", 2, 2, 1, sh_binary, bb_ox_fold_binary, F_PARAMS},
    {"Max", 1, BB_OX_VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Min", 1, BB_OX_VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Sum", 1, BB_OX_VAR, 1, sh_binary, bb_ox_fold_binary, 0},
    {"Mean", 1, BB_OX_VAR, 1, sh_binary, bb_ox_fold_binary, F_FLOAT},
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
    {"ReduceL1", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceSumSquare", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, 0},
    {"ReduceLogSum", 1, 2, 1, sh_reduce, bb_ox_fold_reduce, F_FLOAT},
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
    {"Concat", 1, BB_OX_VAR, 1, sh_concat, bb_ox_fold_concat, 0},
    {"Split", 1, 2, BB_OX_VAR, sh_split, bb_ox_fold_split, 0},
    {"Gather", 2, 2, 1, sh_gather, bb_ox_fold_gather, 0},
    {"ScatterND", 3, 3, 1, sh_scatternd, bb_ox_fold_scatternd, 0},
    {"Shape", 1, 1, 1, bb_ox_fold_shape, NULL, 0},
    {"Size", 1, 1, 1, bb_ox_fold_size, NULL, 0},
    {"Constant", 0, 0, 1, bb_ox_fold_constant, NULL, 0},
    {"ConstantOfShape", 1, 1, 1, sh_fill, bb_ox_fold_fill, 0},
    {"Range", 3, 3, 1, bb_ox_shape_range, bb_ox_fold_range, 0},
};

const bb_ox_op *bb_ox_find_op(const char *op_type)
{
    for (size_t i = 0; op_type && i < sizeof OPS / sizeof *OPS; i++)
        if (!strcmp(OPS[i].op, op_type))
            return &OPS[i];
    return NULL;
}

int bb_ox_eval_supports(const char *op_type)
{
    return bb_ox_find_op(op_type) != NULL;
}

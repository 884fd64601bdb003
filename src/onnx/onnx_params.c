/*
 * onnx_params.c — reading and normalising ONNX node attributes: the node
 * context's accessors (inputs, outputs, setting a shape, strides),
 * type-checked attribute and constant-input readers,
 * and the public parameter helpers of onnx_eval.h (slices, axes, perm,
 * split sizes, pads, scalar parameters; windows are onnx_window.c's).
 *
 * Why it exists: attribute forms differ across opsets (axes as attribute or
 * input, ceil_mode, auto_pad, negative and clamped slice bounds...); the
 * evaluator and the importer must agree on them exactly, so they are parsed
 * here once. Every value comes from an untrusted file: every number is
 * range-checked before it enters arithmetic.
 */
#include "onnx/onnx_params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HUGE_PAD ((int64_t)1 << 40)

/* ---- context ---------------------------------------------------------- */

int bb_ox_node_err(bb_err *err, const bb_ox_model *m, const bb_ox_node *nd, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bb_err_set(err, "%s: node '%s' (%s): %s", m && m->path ? m->path : "?",
                      nd && nd->name ? nd->name : "?", nd && nd->op_type ? nd->op_type : "?", msg);
}

int bb_ox_cerr(const bb_ox_ctx *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bb_ox_node_err(c->err, c->m, c->nd, "%s", msg);
}

const bb_ox_val *bb_ox_in(const bb_ox_ctx *c, int i)
{
    if (i < 0 || i >= c->nd->n_in || c->nd->in[i] < 0 || c->nd->in[i] >= c->m->n_values)
        return NULL;
    return &c->v[c->nd->in[i]];
}

bb_ox_val *bb_ox_out(const bb_ox_ctx *c, int i)
{
    if (!c->w || i < 0 || i >= c->nd->n_out || c->nd->out[i] < 0 || c->nd->out[i] >= c->m->n_values)
        return NULL;
    return &c->w[c->nd->out[i]];
}

const char *bb_ox_in_name(const bb_ox_ctx *c, int i)
{
    if (!bb_ox_in(c, i))
        return "";
    const char *s = c->m->values[c->nd->in[i]].name;
    return s ? s : "";
}

const char *bb_ox_dims_str(const int64_t *dims, int ndim, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
    return buf;
}

int bb_ox_set(const bb_ox_ctx *c, int i, bb_ox_dtype dt, int ndim, const int64_t *dims)
{
    bb_ox_val *o = bb_ox_out(c, i);
    if (!o)
        return 0;
    if (ndim < 0 || ndim > BB_OX_MAX_DIMS)
        return bb_ox_cerr(c, "output %d would have rank %d (at most %d supported)", i, ndim,
                          BB_OX_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0 || dims[d] > BB_OX_MAX_ELEMS || (dims[d] && n > BB_OX_MAX_ELEMS / dims[d])) {
            char b[160];
            return bb_ox_cerr(c, "output %d would have shape %s: absurd size (over %lld elements)",
                              i, bb_ox_dims_str(dims, ndim, b, sizeof b), (long long)BB_OX_MAX_ELEMS);
        }
        n *= dims[d];
    }
    o->dtype = dt;
    o->ndim = ndim;
    for (int d = 0; d < BB_OX_MAX_DIMS; d++)
        o->dims[d] = d < ndim ? dims[d] : 0;
    o->numel = n;
    return 0;
}

void bb_ox_strides(const bb_ox_val *v, int64_t st[BB_OX_MAX_DIMS])
{
    int64_t s = 1;
    for (int d = v->ndim - 1; d >= 0; d--) {
        st[d] = s;
        s *= v->dims[d];
    }
}

void bb_ox_bcast_strides(const bb_ox_val *v, int ndim, const int64_t *dims, int64_t st[BB_OX_MAX_DIMS])
{
    int64_t vs[BB_OX_MAX_DIMS];
    bb_ox_strides(v, vs);
    for (int d = 0; d < ndim; d++) {
        int k = d - (ndim - v->ndim);
        st[d] = k < 0 || (v->dims[k] == 1 && dims[d] != 1) ? 0 : vs[k];
    }
}

/* ---- attributes --------------------------------------------------------- */

const bb_ox_attr *bb_ox_a_find(const bb_ox_ctx *c, const char *name)
{
    for (int i = 0; i < c->nd->n_attr; i++)
        if (c->nd->attrs[i].name && !strcmp(c->nd->attrs[i].name, name))
            return &c->nd->attrs[i];
    return NULL;
}

static int bad_type(const bb_ox_ctx *c, const char *name, const char *want)
{
    return bb_ox_cerr(c, "attribute '%s' is not %s", name, want);
}

int bb_ox_a_int(const bb_ox_ctx *c, const char *name, int64_t dflt, int64_t *out)
{
    const bb_ox_attr *a = bb_ox_a_find(c, name);
    *out = dflt;
    if (!a)
        return 0;
    if (a->type != BB_OX_ATTR_INT)
        return bad_type(c, name, "an int");
    *out = a->i;
    return 1;
}

int bb_ox_a_int_in(const bb_ox_ctx *c, const char *name, int64_t dflt, int64_t lo, int64_t hi,
                   int64_t *out)
{
    int r = bb_ox_a_int(c, name, dflt, out);
    if (r < 0)
        return -1;
    if (*out < lo || *out > hi)
        return bb_ox_cerr(c, "unsupported attribute value %s=%lld (expected %lld..%lld)", name,
                          (long long)*out, (long long)lo, (long long)hi);
    return r;
}

int bb_ox_a_float(const bb_ox_ctx *c, const char *name, float dflt, float *out)
{
    const bb_ox_attr *a = bb_ox_a_find(c, name);
    *out = dflt;
    if (!a)
        return 0;
    if (a->type == BB_OX_ATTR_INT)
        *out = (float)a->i;
    else if (a->type == BB_OX_ATTR_FLOAT)
        *out = a->f;
    else
        return bad_type(c, name, "a float");
    return 1;
}

int bb_ox_a_ints(const bb_ox_ctx *c, const char *name, const int64_t **v, int *n)
{
    const bb_ox_attr *a = bb_ox_a_find(c, name);
    *v = NULL;
    *n = 0;
    if (!a)
        return 0;
    if (a->type != BB_OX_ATTR_INTS || a->n < 0 || (a->n > 0 && !a->ints))
        return bad_type(c, name, "a list of ints");
    *v = a->ints;
    *n = a->n;
    return 1;
}

int bb_ox_a_str(const bb_ox_ctx *c, const char *name, const char *dflt, const char **out)
{
    const bb_ox_attr *a = bb_ox_a_find(c, name);
    *out = dflt;
    if (!a)
        return 0;
    if (a->type != BB_OX_ATTR_STRING || !a->s)
        return bad_type(c, name, "a string");
    *out = a->s;
    return 1;
}

/* An int list attribute of exactly `want` entries each in [lo, hi] (onnx_params.h). */
int bb_ox_a_ints_n(const bb_ox_ctx *c, const char *name, int want, int64_t lo, int64_t hi, int64_t dflt,
                   int64_t *out)
{
    const int64_t *v;
    int n;
    int r = bb_ox_a_ints(c, name, &v, &n);
    if (r < 0)
        return -1;
    for (int i = 0; i < want; i++)
        out[i] = dflt;
    if (!r)
        return 0;
    if (n != want)
        return bb_ox_cerr(c, "attribute '%s' has %d values, expected %d (one or two per spatial axis: "
                          "1-D and 2-D windows are supported)", name, n, want);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi)
            return bb_ox_cerr(c, "unsupported attribute value %s[%d]=%lld", name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return 1;
}

/* ---- constant inputs ----------------------------------------------------- */

int bb_ox_in_ints(const bb_ox_ctx *c, int i, int64_t max, const int64_t **v, int64_t *n)
{
    const bb_ox_val *x = bb_ox_in(c, i);
    *v = NULL;
    *n = 0;
    if (!x)
        return 0;
    if (!x->is_const || x->dtype != BB_OX_I64 || x->ndim > 1 || x->numel > max)
        return bb_ox_cerr(c, "input %d ('%s') must be a constant int64 list of at most %lld "
                          "elements (it is a %s %s tensor of rank %d, %lld elements)", i,
                          bb_ox_in_name(c, i), (long long)max,
                          x->is_const      ? "constant"
                          : x->past_limits ? "constant (but past the constant folder's limits, src/onnx/onnx_eval.h)"
                                           : "run-time",
                          x->dtype == BB_OX_I64 ? "int64" : "float", x->ndim, (long long)x->numel);
    *v = x->data;
    *n = x->numel;
    return 1;
}

int bb_ox_in_scalar(const bb_ox_ctx *c, int i, double *out)
{
    const bb_ox_val *x = bb_ox_in(c, i);
    if (!x)
        return 0;
    if (!x->is_const || x->numel != 1)
        return bb_ox_cerr(c, "input %d ('%s') must be a constant with one element", i,
                          bb_ox_in_name(c, i));
    *out = x->dtype == BB_OX_F32 ? (double)((const float *)x->data)[0]
                                 : (double)((const int64_t *)x->data)[0];
    return 1;
}

int bb_ox_axis(const bb_ox_ctx *c, int64_t axis, int rank, int64_t *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return bb_ox_cerr(c, "axis %lld out of range for a rank-%d input", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

static int rank0(const bb_ox_ctx *c, int *rank)
{
    const bb_ox_val *x = bb_ox_in(c, 0);
    if (!x || x->ndim < 0)
        return bb_ox_cerr(c, "input 0 is missing");
    *rank = x->ndim;
    return 0;
}

/* ---- slices -------------------------------------------------------------- */

/* start/step/count of one axis of size dim. A slice of one element or
 * none takes step 1: any step picks the same, and one far past the axis,
 * times the axis's stride, would overflow (with two or more elements the
 * step is shorter than the axis). */
static int slice_axis(const bb_ox_ctx *c, int64_t dim, int64_t st, int64_t en, int64_t *o_step, int64_t *o_st,
                      int64_t *o_n)
{
    const int64_t step = *o_step;
    if (step == 0 || step == INT64_MIN)
        return bb_ox_cerr(c, "unsupported step %lld", (long long)step);
    if (st < 0)
        st += dim;
    if (en < 0)
        en += dim;
    if (step > 0) {
        st = st < 0 ? 0 : st > dim ? dim : st;
        en = en < 0 ? 0 : en > dim ? dim : en;
        *o_n = en > st ? (en - st - 1) / step + 1 : 0;
    } else {
        st = st < 0 ? -1 : st > dim - 1 ? dim - 1 : st;
        en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en;
        *o_n = st > en ? (st - en - 1) / -step + 1 : 0;
    }
    *o_st = *o_n ? st : 0;
    if (*o_n <= 1)
        *o_step = 1;
    return 0;
}

int bb_ox_slice_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_slice *s,
                    bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    int rank = 0;
    if (rank0(&c, &rank) < 0)
        return -1;
    const int64_t *dims = bb_ox_in(&c, 0)->dims;
    const int64_t *st, *en, *ax = NULL, *sp = NULL;
    int64_t n, ne, na = 0, ns = 0;
    int an, aen, aax;
    int ra = bb_ox_a_ints(&c, "starts", &st, &an);
    if (ra < 0)
        return -1;
    if (ra) { /* opset < 10 */
        if (bb_ox_a_ints(&c, "ends", &en, &aen) < 0 || bb_ox_a_ints(&c, "axes", &ax, &aax) < 0)
            return -1;
        n = an, ne = aen, na = ax ? aax : 0;
    } else {
        int r1 = bb_ox_in_ints(&c, 1, rank, &st, &n), r2 = r1 < 0 ? -1 : bb_ox_in_ints(&c, 2, rank, &en, &ne);
        if (r1 < 0 || r2 < 0 || bb_ox_in_ints(&c, 3, rank, &ax, &na) < 0 ||
            bb_ox_in_ints(&c, 4, rank, &sp, &ns) < 0)
            return -1;
        if (!r1 || !r2)
            return bb_ox_cerr(&c, "starts and ends are required");
    }
    if (ne != n || (ax && na != n) || (sp && ns != n) || n > rank)
        return bb_ox_cerr(&c, "starts/ends/axes/steps lengths differ or exceed the rank %d", rank);
    s->ndim = rank;
    for (int d = 0; d < rank; d++)
        s->start[d] = 0, s->step[d] = 1, s->count[d] = dims[d];
    unsigned seen = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t a = i;
        if (ax && bb_ox_axis(&c, ax[i], rank, &a) < 0)
            return -1;
        if (seen & (1u << a))
            return bb_ox_cerr(&c, "axis %lld repeated", (long long)a);
        seen |= 1u << a;
        s->step[a] = sp ? sp[i] : 1;
        if (slice_axis(&c, dims[a], st[i], en[i], &s->step[a], &s->start[a], &s->count[a]) < 0)
            return -1;
    }
    return 0;
}

/* ---- axes ---------------------------------------------------------------- */

static int sort_axes(const bb_ox_ctx *c, bb_ox_axes *a)
{
    for (int i = 1; i < a->n; i++)
        for (int j = i; j > 0 && a->axes[j - 1] > a->axes[j]; j--) {
            int64_t t = a->axes[j];
            a->axes[j] = a->axes[j - 1];
            a->axes[j - 1] = t;
        }
    for (int i = 1; i < a->n; i++)
        if (a->axes[i] == a->axes[i - 1])
            return bb_ox_cerr(c, "axis %lld repeated", (long long)a->axes[i]);
    return 0;
}

int bb_ox_axes_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_axes *a,
                   bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    int rank = 0;
    if (rank0(&c, &rank) < 0)
        return -1;
    const bb_ox_val *x = bb_ox_in(&c, 0);
    int unsq = !strcmp(nd->op_type, "Unsqueeze"), sq = !strcmp(nd->op_type, "Squeeze");
    int reduce = !strncmp(nd->op_type, "Reduce", 6);
    const int64_t *v;
    int an;
    int64_t n;
    int r = bb_ox_a_ints(&c, "axes", &v, &an);
    n = an;
    if (r == 0)
        r = bb_ox_in_ints(&c, 1, BB_OX_MAX_DIMS, &v, &n);
    if (r < 0)
        return -1;
    memset(a, 0, sizeof *a);
    int64_t keep = 0, noop = 0;
    if (reduce && (bb_ox_a_int_in(&c, "keepdims", 1, 0, 1, &keep) < 0 ||
                   bb_ox_a_int_in(&c, "noop_with_empty_axes", 0, 0, 1, &noop) < 0))
        return -1;
    a->keepdims = (int)keep;
    int out_rank = unsq ? rank + (int)n : rank;
    if (n > BB_OX_MAX_DIMS || out_rank > BB_OX_MAX_DIMS)
        return bb_ox_cerr(&c, "%lld axes for a rank-%d input", (long long)n, rank);
    if (unsq && n == 0)
        return bb_ox_cerr(&c, "axes are required");
    for (int i = 0; i < n; i++)
        if (bb_ox_axis(&c, v[i], out_rank, &a->axes[i]) < 0)
            return -1;
    a->n = (int)n;
    if (n == 0 && (sq || (reduce && !noop)))
        for (int d = 0; d < rank; d++)
            if (reduce || x->dims[d] == 1)
                a->axes[a->n++] = d;
    if (sort_axes(&c, a) < 0)
        return -1;
    for (int i = 0; sq && i < a->n; i++)
        if (x->dims[a->axes[i]] != 1)
            return bb_ox_cerr(&c, "cannot squeeze axis %lld of size %lld", (long long)a->axes[i],
                              (long long)x->dims[a->axes[i]]);
    return 0;
}

int bb_ox_perm_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                   int64_t perm[BB_OX_MAX_DIMS], bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    int rank = 0, n;
    const int64_t *p;
    if (rank0(&c, &rank) < 0)
        return -1;
    int r = bb_ox_a_ints(&c, "perm", &p, &n);
    if (r < 0)
        return -1;
    if (r && n != rank)
        return bb_ox_cerr(&c, "perm has %d entries for a rank-%d input", n, rank);
    unsigned seen = 0;
    for (int d = 0; d < rank; d++) {
        perm[d] = r ? p[d] : rank - 1 - d;
        if (perm[d] < 0 || perm[d] >= rank || (seen & (1u << perm[d])))
            return bb_ox_cerr(&c, "perm is not a permutation of 0..%d", rank - 1);
        seen |= 1u << perm[d];
    }
    return 0;
}

/* ---- split and pad --------------------------------------------------------- */

static int even_split(const bb_ox_ctx *c, int64_t dim, int k, int opset18, int64_t *sizes)
{
    int64_t no;
    if (bb_ox_a_int(c, "num_outputs", k, &no) < 0)
        return -1;
    if (no != k)
        return bb_ox_cerr(c, "num_outputs=%lld but the node has %d outputs", (long long)no, k);
    int64_t part = opset18 ? (dim + k - 1) / k : dim / k;
    if (!opset18 && dim % k)
        return bb_ox_cerr(c, "axis of size %lld does not split evenly in %d", (long long)dim, k);
    for (int i = 0; i < k; i++) {
        int64_t left = dim - part * i;
        sizes[i] = left < part ? (left > 0 ? left : 0) : part;
    }
    return 0;
}

int bb_ox_split_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, int64_t *axis,
                    int64_t *sizes, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    int rank = 0, an;
    int64_t ax, n;
    const int64_t *v;
    if (rank0(&c, &rank) < 0 || bb_ox_a_int(&c, "axis", 0, &ax) < 0 || bb_ox_axis(&c, ax, rank, axis) < 0)
        return -1;
    if (nd->n_out < 1)
        return bb_ox_cerr(&c, "no outputs");
    int64_t dim = bb_ox_in(&c, 0)->dims[*axis];
    int r = bb_ox_a_ints(&c, "split", &v, &an);
    n = an;
    if (r == 0)
        r = bb_ox_in_ints(&c, 1, nd->n_out, &v, &n);
    if (r < 0)
        return -1;
    if (r == 0 || n == 0)
        return even_split(&c, dim, nd->n_out, bb_ox_a_find(&c, "num_outputs") != NULL, sizes);
    if (n != nd->n_out)
        return bb_ox_cerr(&c, "split has %lld sizes for %d outputs", (long long)n, nd->n_out);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] > dim || sum + v[i] > dim)
            return bb_ox_cerr(&c, "split sizes do not add up to the axis's size %lld", (long long)dim);
        sizes[i] = v[i];
        sum += v[i];
    }
    if (sum != dim)
        return bb_ox_cerr(&c, "split sizes add up to %lld, the axis has %lld", (long long)sum, (long long)dim);
    return 0;
}

int bb_ox_pad_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_pad *p,
                  bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    int rank = 0, an;
    const char *mode;
    const int64_t *v, *ax = NULL;
    int64_t n, na = 0;
    if (rank0(&c, &rank) < 0 || bb_ox_a_str(&c, "mode", "constant", &mode) < 0)
        return -1;
    static const char *const modes[] = {"constant", "reflect", "edge"};
    int mi = 0;
    while (mi < 3 && strcmp(mode, modes[mi]))
        mi++;
    if (mi == 3)
        return bb_ox_cerr(&c, "unsupported attribute value mode='%s' (batchbench: constant, reflect, edge)", mode);
    memset(p, 0, sizeof *p);
    p->mode = mi;
    p->ndim = rank;
    float fv;
    int r = bb_ox_a_ints(&c, "pads", &v, &an);
    n = an;
    if (r == 0 && (r = bb_ox_in_ints(&c, 1, 2 * BB_OX_MAX_DIMS, &v, &n)) == 0)
        return bb_ox_cerr(&c, "pads are missing");
    if (r < 0 || bb_ox_in_ints(&c, 3, rank, &ax, &na) < 0 || bb_ox_a_float(&c, "value", 0.f, &fv) < 0)
        return -1;
    p->value = fv;
    if (bb_ox_in_scalar(&c, 2, &p->value) < 0)
        return -1;
    int64_t k = ax ? na : rank;
    if (n != 2 * k)
        return bb_ox_cerr(&c, "%lld pads for %lld axes", (long long)n, (long long)k);
    for (int64_t i = 0; i < k; i++) {
        int64_t a = i;
        if (ax && bb_ox_axis(&c, ax[i], rank, &a) < 0)
            return -1;
        int64_t b = v[i], e = v[i + k];
        if (b < -HUGE_PAD || b > HUGE_PAD || e < -HUGE_PAD || e > HUGE_PAD)
            return bb_ox_cerr(&c, "unsupported pad %lld/%lld", (long long)b, (long long)e);
        p->begin[a] = b, p->end[a] = e;
    }
    return 0;
}

/* ---- scalar parameters ----------------------------------------------------- */

static int p_gemm(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int64_t ta, tb;
    (void)rank;
    if (bb_ox_a_float(c, "alpha", 1.f, &p->alpha) < 0 || bb_ox_a_float(c, "beta", 1.f, &p->beta) < 0 ||
        bb_ox_a_int_in(c, "transA", 0, 0, 1, &ta) < 0 || bb_ox_a_int_in(c, "transB", 0, 0, 1, &tb) < 0)
        return -1;
    p->trans_a = (int)ta, p->trans_b = (int)tb;
    return 0;
}

static int p_hsig(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    return bb_ox_a_float(c, "alpha", 0.2f, &p->alpha) < 0 || bb_ox_a_float(c, "beta", 0.5f, &p->beta) < 0
               ? -1 : 0;
}

static int p_leaky(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    return bb_ox_a_float(c, "alpha", 0.01f, &p->alpha) < 0 ? -1 : 0;
}

/* Elu, Celu, ThresholdedRelu: alpha (1); Selu: alpha and gamma (as beta),
 * ONNX's defaults (float) */
static int p_alpha(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    int selu = !strcmp(c->nd->op_type, "Selu");
    if (bb_ox_a_float(c, "alpha", selu ? 1.67326319217681884765625f : 1.f, &p->alpha) < 0 ||
        (selu && bb_ox_a_float(c, "gamma", 1.05070102214813232421875f, &p->beta) < 0))
        return -1;
    if (!strcmp(c->nd->op_type, "Celu") && p->alpha == 0.f)
        return bb_ox_cerr(c, "attribute 'alpha' is 0 (Celu divides by it)");
    return 0;
}

static int p_gelu(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    const char *a;
    (void)rank;
    if (bb_ox_a_str(c, "approximate", "none", &a) < 0)
        return -1;
    if (strcmp(a, "none") && strcmp(a, "tanh"))
        return bb_ox_cerr(c, "unsupported attribute value approximate='%s' (ONNX: none, tanh)", a);
    p->gelu_tanh = !strcmp(a, "tanh");
    return 0;
}

static int p_groupnorm(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int64_t stash;
    (void)rank;
    int r = bb_ox_a_int(c, "num_groups", 0, &p->groups);
    if (r < 0 || bb_ox_a_float(c, "epsilon", 1e-5f, &p->epsilon) < 0 ||
        bb_ox_a_int_in(c, "stash_type", 1, 1, 1, &stash) < 0)
        return -1;
    if (r == 0 || p->groups < 1)
        return bb_ox_cerr(c, r == 0 ? "attribute 'num_groups' is missing" : "attribute 'num_groups' is %lld",
                          (long long)p->groups);
    return 0;
}

static int p_lrn(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    int r = bb_ox_a_int(c, "size", 0, &p->lrn_size);
    if (r < 0 || bb_ox_a_float(c, "alpha", 1e-4f, &p->alpha) < 0 || bb_ox_a_float(c, "beta", 0.75f, &p->beta) < 0 ||
        bb_ox_a_float(c, "bias", 1.f, &p->lrn_bias) < 0)
        return -1;
    if (r == 0 || p->lrn_size < 1 || p->lrn_size > 1024)
        return bb_ox_cerr(c, r == 0 ? "attribute 'size' is missing" : "attribute 'size' is %lld (1..1024 expected)",
                          (long long)p->lrn_size);
    return 0;
}

static int p_clip(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    double lo = -INFINITY, hi = INFINITY;
    (void)rank;
    if (bb_ox_a_float(c, "min", -INFINITY, &p->lo) < 0 || bb_ox_a_float(c, "max", INFINITY, &p->hi) < 0)
        return -1;
    int rl = bb_ox_in_scalar(c, 1, &lo), rh = bb_ox_in_scalar(c, 2, &hi);
    if (rl < 0 || rh < 0)
        return -1;
    if (rl)
        p->lo = (float)lo;
    if (rh)
        p->hi = (float)hi;
    return 0;
}

static int p_cast(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    if (bb_ox_a_int(c, "to", 0, &p->onnx_to) < 0)
        return -1;
    p->to = bb_ox_dtype_of(p->onnx_to);
    if (!p->to)
        return bb_ox_cerr(c, "unsupported attribute value to=%lld", (long long)p->onnx_to);
    return 0;
}

static int p_layernorm(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int64_t ax;
    if (bb_ox_a_int(c, "axis", -1, &ax) < 0 || bb_ox_axis(c, ax, rank, &p->axis) < 0)
        return -1;
    return bb_ox_a_float(c, "epsilon", 1e-5f, &p->epsilon) < 0 ? -1 : 0;
}

static int p_bn(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int64_t tm;
    (void)rank;
    if (bb_ox_a_float(c, "epsilon", 1e-5f, &p->epsilon) < 0 ||
        bb_ox_a_int_in(c, "training_mode", 0, 0, 0, &tm) < 0)
        return -1;
    return bb_ox_a_int_in(c, "spatial", 1, 1, 1, &tm) < 0 ? -1 : 0;
}

static int p_epsilon(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    (void)rank;
    return bb_ox_a_float(c, "epsilon", 1e-5f, &p->epsilon) < 0 ? -1 : 0;
}

static int p_softmax(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int old = c->m->opset > 0 && c->m->opset < 13;
    int64_t ax;
    if (bb_ox_a_int(c, "axis", old ? 1 : -1, &ax) < 0 || bb_ox_axis(c, ax, rank, &p->axis) < 0)
        return -1;
    if (!old || p->axis == rank - 1)
        return 0;
    const int64_t *d = bb_ox_in(c, 0)->dims;
    for (int64_t a = p->axis; a < rank - 1; a++)
        if (d[a] != 1)
            return bb_ox_cerr(c, "opset %lld %s over axes %lld.. of a rank-%d input flattens them; "
                              "only the last axis is supported", (long long)c->m->opset, c->nd->op_type,
                              (long long)p->axis, rank);
    p->axis = rank - 1;
    return 0;
}

static int p_axis(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    const char *op = c->nd->op_type;
    int concat = !strcmp(op, "Concat"), flat = !strcmp(op, "Flatten");
    int64_t ax;
    int r = bb_ox_a_int(c, "axis", flat ? 1 : 0, &ax);
    if (r < 0)
        return -1;
    if (concat && !r)
        return bb_ox_cerr(c, "attribute 'axis' is missing");
    if (flat && ax >= -(int64_t)rank && ax <= rank) { /* Flatten: [-r, r] */
        p->axis = ax < 0 ? ax + rank : ax;
        return 0;
    }
    return bb_ox_axis(c, ax, rank, &p->axis);
}

static int p_mod(const bb_ox_ctx *c, bb_ox_params *p, int rank)
{
    int64_t f;
    (void)rank;
    if (bb_ox_a_int_in(c, "fmod", 0, 0, 1, &f) < 0)
        return -1;
    p->fmod = (int)f;
    if (!f && bb_ox_in(c, 0)->dtype == BB_OX_F32)
        return bb_ox_cerr(c, "unsupported attribute value fmod=0 for float inputs (ONNX requires 1)");
    return 0;
}

static const struct {
    const char *op;
    int (*get)(const bb_ox_ctx *, bb_ox_params *, int);
} PARAMS[] = {
    {"Gemm", p_gemm}, {"HardSigmoid", p_hsig}, {"LeakyRelu", p_leaky}, {"Clip", p_clip},
    {"Elu", p_alpha}, {"Selu", p_alpha}, {"Celu", p_alpha}, {"ThresholdedRelu", p_alpha}, {"Gelu", p_gelu},
    {"LogSoftmax", p_softmax}, {"GroupNormalization", p_groupnorm}, {"LRN", p_lrn},
    {"Cast", p_cast}, {"LayerNormalization", p_layernorm}, {"BatchNormalization", p_bn},
    {"InstanceNormalization", p_epsilon},
    {"Softmax", p_softmax}, {"Concat", p_axis}, {"Flatten", p_axis}, {"Gather", p_axis},
    {"Split", p_axis}, {"Mod", p_mod},
};

int bb_ox_params_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals, bb_ox_params *p,
                     bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = nd, .v = vals, .err = err};
    memset(p, 0, sizeof *p);
    p->lo = -INFINITY, p->hi = INFINITY;
    for (size_t i = 0; i < sizeof PARAMS / sizeof *PARAMS; i++) {
        if (strcmp(PARAMS[i].op, nd->op_type))
            continue;
        int rank = 0;
        if (rank0(&c, &rank) < 0)
            return -1;
        return PARAMS[i].get(&c, p, rank);
    }
    return 0;
}

bb_ox_dtype bb_ox_dtype_of(int64_t t)
{
    switch (t) {
    case 1: case 10: case 11: case 16: /* float, float16, double, bfloat16 */
        return BB_OX_F32;
    case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 12: case 13: /* ints, bool */
        return BB_OX_I64;
    default:
        return (bb_ox_dtype)0;
    }
}

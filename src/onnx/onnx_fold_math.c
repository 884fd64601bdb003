/*
 * onnx_fold_math.c — the constant folder's elementwise kernels (onnx_fold.h):
 * unary functions, broadcasting binary arithmetic and comparisons, Where,
 * Cast, the Reduce* family and ScatterND (whose reduction is a binary op),
 * on f32 and i64 values (bool as 0/1).
 *
 * Why it exists apart from onnx_fold.c: that file moves elements (copies,
 * views, gathers, pads); this one computes them. Integer arithmetic wraps
 * as two's complement and refuses division by zero and INT64_MIN / -1, since
 * the values come from untrusted files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_fold.h"
#include "onnx/onnx_fold_internal.h"


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
static double u_elu(double x, const bb_ox_params *p) { return x < 0 ? p->alpha * expm1(x) : x; }
static double u_selu(double x, const bb_ox_params *p) { return p->beta * u_elu(x, p); }
static double u_celu(double x, const bb_ox_params *p) { return x < 0 ? p->alpha * expm1(x / p->alpha) : x; }
static double u_softplus(double x, const bb_ox_params *p)
{
    (void)p;
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
static double u_softsign(double x, const bb_ox_params *p) { (void)p; return x / (1 + fabs(x)); }
static double u_mish(double x, const bb_ox_params *p) { return x * tanh(u_softplus(x, p)); }
static double u_log(double x, const bb_ox_params *p) { (void)p; return log(x); }
static double u_thr(double x, const bb_ox_params *p) { return x > p->alpha ? x : 0; }
static double u_gelu(double x, const bb_ox_params *p)
{
    if (p->gelu_tanh)
        return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x * 0.7071067811865476));
}

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
    {"Elu", u_elu, NULL}, {"Selu", u_selu, NULL}, {"Celu", u_celu, NULL}, {"Softplus", u_softplus, NULL},
    {"Softsign", u_softsign, NULL}, {"Mish", u_mish, NULL}, {"Log", u_log, NULL}, {"Gelu", u_gelu, NULL},
    {"ThresholdedRelu", u_thr, NULL},
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
static double b_prelu(double a, double b) { return a < 0 ? a * b : a; }

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
static int j_prelu(int64_t a, int64_t b, int64_t *r) { return a < 0 ? j_mul(a, b, r) : (*r = a, 0); }
#undef W

typedef struct {
    const char *op;
    double (*f)(double, double);
    int (*i)(int64_t, int64_t, int64_t *);
} binop;

static const binop BINARY[] = {
    {"Add", b_add, j_add}, {"Sum", b_add, j_add}, {"Mean", b_add, j_add}, {"Sub", b_sub, j_sub}, {"Mul", b_mul, j_mul},
    {"Div", b_div, j_div}, {"Pow", b_pow, j_pow}, {"Mod", b_fmod, j_fmod}, {"Max", b_max, j_max},
    {"Min", b_min, j_min}, {"Equal", b_eq, j_eq}, {"Less", b_lt, j_lt}, {"Greater", b_gt, j_gt},
    {"LessOrEqual", b_le, j_le}, {"GreaterOrEqual", b_ge, j_ge}, {"And", b_and, j_and},
    {"Or", b_or, j_or}, {"Xor", b_xor, j_xor}, {"PRelu", b_prelu, j_prelu},
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
    if (rc == 0 && !strcmp(op->op, "Mean")) /* the sum, divided by the count (float only: F_FLOAT) */
        for (int64_t i = 0; i < o->numel; i++)
            ((float *)o->data)[i] = (float)(((float *)o->data)[i] / (double)c->nd->n_in);
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
    bb_ox_val *o = bb_ox_out(c, 0);
    bb_ox_params p = {0}; /* its "to" matters for an integer output only (CastLike's is float, and has none) */
    if ((o && o->dtype != BB_OX_F32 && bb_ox_params_get(c->m, c->nd, c->v, &p, c->err) < 0) ||
        bb_ox_fold_alloc(c, 0) < 0)
        return -1;
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
    int l2 = !strcmp(op, "L2"), l1 = !strcmp(op, "L1"), sq = l2 || !strcmp(op, "SumSquare");
    int logsum = !strcmp(op, "LogSum"), sum = sq || l1 || logsum || !strcmp(op, "Sum") || !strcmp(op, "Mean");
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
            double v = sq ? rd(x, i + k) * rd(x, i + k) : l1 ? fabs(rd(x, i + k)) : rd(x, i + k);
            double *a = &acc[it.off[0] + k * it.in[0]];
            *a = sum ? *a + v : prod ? *a * v : mx ? (v > *a ? v : *a) : (v < *a ? v : *a);
        }
    int mean = !strcmp(op, "Mean");
    for (int64_t i = 0; (l2 || logsum) && i < o->numel; i++)
        acc[i] = l2 ? sqrt(acc[i]) : log(acc[i]);
    for (int64_t i = 0; i < o->numel; i++)
        wr(o, i, mean && count ? (o->dtype == BB_OX_I64 ? trunc(acc[i] / (double)count) : acc[i] / (double)count)
                               : acc[i]);
    free(acc);
    return 0;
}

/* ---- ScatterND: a copy, then updates written or reduced in ------------------------- */

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

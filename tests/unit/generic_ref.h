/*
 * generic_ref.h — a naive reference interpreter of the graph IR on full
 * shapes (bb_tensor_shape), in double precision, for test_generic_ops.c.
 *
 * Why this file exists: the CPU backend's generic ops (an ONNX import's:
 * broadcasting binaries, batched matmul, transposes through the batch
 * axis, slices, pads, general conv/pool windows ...) need an oracle that
 * shares none of its code: plain loops over every output index, written
 * from the ops' definitions in engine/graph.h. Kept apart so the test file
 * holds the cases.
 */
#ifndef BB_TEST_GENERIC_REF_H
#define BB_TEST_GENERIC_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph.h"

#define R (BB_MAX_DIMS + 1)

/* ---- shapes ---------------------------------------------------------------- */

typedef struct { int nd; int64_t d[R]; } shp;

static shp shape_of(const bb_graph *g, int t, int64_t n)
{
    shp s;
    s.nd = bb_tensor_shape(g, t, n, s.d);
    return s;
}

static int64_t count(const shp *s)
{
    int64_t c = 1;
    for (int i = 0; i < s->nd; i++)
        c *= s->d[i];
    return c;
}

static void unravel(int64_t i, const shp *s, int64_t *idx)
{
    for (int k = s->nd - 1; k >= 0; k--) {
        idx[k] = i % s->d[k];
        i /= s->d[k];
    }
}

static int64_t ravel(const int64_t *idx, const shp *s)
{
    int64_t o = 0;
    for (int k = 0; k < s->nd; k++)
        o = o * s->d[k] + idx[k];
    return o;
}

/* index of an output index in an operand broadcast to it (NumPy rules) */
static int64_t bcast_at(const int64_t *idx, const shp *o, const shp *s)
{
    int64_t j[R];
    for (int k = 0; k < s->nd; k++)
        j[k] = s->d[k] == 1 ? 0 : idx[k + o->nd - s->nd];
    return ravel(j, s);
}

/* ---- reference interpreter (full shapes, double) ------------------------ */

static double act_ref(const bb_op *op, double x)
{
    switch (op->act) {
    case BB_ACT_RELU: return x > 0 ? x : 0;
    case BB_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case BB_ACT_SILU: return x / (1 + exp(-x));
    case BB_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case BB_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case BB_ACT_TANH: return tanh(x);
    case BB_ACT_HARDSWISH: return x * fmin(fmax(x + 3, 0), 6) / 6;
    case BB_ACT_HARDSIGMOID: return fmin(fmax(op->alpha * x + op->beta, 0), 1);
    case BB_ACT_CLIP: return fmin(fmax(x, op->alpha), op->beta);
    case BB_ACT_LEAKY_RELU: return x >= 0 ? x : op->alpha * x;
    case BB_ACT_SQRT: return sqrt(x);
    case BB_ACT_ERF: return erf(x);
    case BB_ACT_EXP: return exp(x);
    case BB_ACT_ABS: return fabs(x);
    case BB_ACT_NEG: return -x;
    case BB_ACT_RECIPROCAL: return 1 / x;
    case BB_ACT_ELU: return x < 0 ? op->alpha * expm1(x) : x;
    case BB_ACT_SELU: return op->beta * (x < 0 ? op->alpha * expm1(x) : x);
    case BB_ACT_CELU: return x < 0 ? op->alpha * expm1(x / op->alpha) : x;
    case BB_ACT_SOFTPLUS: return log1p(exp(x));
    case BB_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case BB_ACT_MISH: return x * tanh(log1p(exp(x)));
    case BB_ACT_LOG: return log(x);
    case BB_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case BB_ACT_THRESHOLDED_RELU: return x > op->alpha ? x : 0;
    default: return x;
    }
}

static double bin_ref(bb_binop op, double a, double c)
{
    switch (op) {
    case BB_BIN_ADD: return a + c;
    case BB_BIN_SUB: return a - c;
    case BB_BIN_MUL: return a * c;
    case BB_BIN_DIV: return a / c;
    case BB_BIN_POW: return pow(a, c);
    case BB_BIN_MAX: return fmax(a, c);
    case BB_BIN_MIN: return fmin(a, c);
    case BB_BIN_PRELU: return a < 0 ? a * c : a;
    }
    return 0;
}

typedef struct { const bb_graph *g; int64_t n; double **v; } ref_ctx;

#define X(i) (c->v[op->in[i]])
#define Y (c->v[op->out])
#define S(t) shape_of(c->g, (t), c->n)

/* conv (groups, dilation, per-side padding) or max/avg pool */
static void ref_window(const ref_ctx *c, const bb_op *op)
{
    shp xs = S(op->in[0]), ys = S(op->out);
    const int64_t C = xs.d[1], H = xs.d[2], W = xs.d[3], O = ys.d[1], OH = ys.d[2], OW = ys.d[3];
    const int conv = op->type == BB_OP_CONV;
    const int64_t cg = conv ? C / op->groups : 1, og = conv ? O / op->groups : 1;
    const float *w = conv ? c->g->tensors[op->w].data : NULL;
    for (int64_t i = 0; i < count(&ys); i++) {
        int64_t n = i / (O * OH * OW), o = i / (OH * OW) % O, oh = i / OW % OH, ow = i % OW, taps = 0;
        double s = conv && op->b >= 0 ? c->g->tensors[op->b].data[o] : op->type == BB_OP_MAXPOOL ? -INFINITY : 0;
        for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t a = 0; a < op->kh; a++)
                for (int64_t e = 0; e < op->kw; e++) {
                    int64_t h = oh * op->sh - op->pad_t + a * op->dil_h, v = ow * op->sw - op->pad_l + e * op->dil_w;
                    if (h < 0 || h >= H || v < 0 || v >= W)
                        continue;
                    int64_t ch = conv ? (o / og) * cg + ci : o;
                    double x = X(0)[((n * C + ch) * H + h) * W + v];
                    taps++;
                    if (conv)
                        s += w[((o * cg + ci) * op->kh + a) * op->kw + e] * x;
                    else if (op->type == BB_OP_MAXPOOL)
                        s = fmax(s, x);
                    else
                        s += x;
                }
        if (op->type == BB_OP_AVGPOOL)
            s /= op->count_include_pad ? (double)(op->kh * op->kw) : (double)taps;
        Y[i] = s;
    }
}

static void ref_matmul(const ref_ctx *c, const bb_op *op)
{
    shp a = S(op->in[0]), b = S(op->in[1]), o = S(op->out);
    int64_t M = a.nd > 1 ? a.d[a.nd - 2] : 1, K = a.d[a.nd - 1], N = b.nd > 1 ? b.d[b.nd - 1] : 1;
    shp ab = a, bb = b, ob = o; /* batch shapes */
    ab.nd = a.nd > 2 ? a.nd - 2 : 0, bb.nd = b.nd > 2 ? b.nd - 2 : 0;
    ob.nd = o.nd - (a.nd > 1) - (b.nd > 1);
    int64_t idx[R];
    for (int64_t i = 0; i < count(&ob); i++) {
        unravel(i, &ob, idx);
        int64_t ia = ab.nd ? bcast_at(idx, &ob, &ab) : 0, ib = bb.nd ? bcast_at(idx, &ob, &bb) : 0;
        for (int64_t m = 0; m < M; m++)
            for (int64_t nn = 0; nn < N; nn++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += X(0)[(ia * M + m) * K + k] * X(1)[(ib * K + k) * N + nn];
                Y[(i * M + m) * N + nn] = s;
            }
    }
}

/* softmax / layer norm / reduce over one axis: (outer, axis, inner) */
static void ref_axis(const ref_ctx *c, const bb_op *op, int axis)
{
    shp x = S(op->in[0]);
    int64_t outer = 1, len = x.d[axis], inner = 1;
    for (int k = 0; k < axis; k++)
        outer *= x.d[k];
    for (int k = axis + 1; k < x.nd; k++)
        inner *= x.d[k];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const double *p = X(0) + o * len * inner + in;
            double *q = Y + o * len * inner + in, mx = -INFINITY, s = 0, mu = 0, var = 0;
            for (int64_t j = 0; j < len; j++)
                mx = fmax(mx, p[j * inner]), mu += p[j * inner] / (double)len;
            for (int64_t j = 0; j < len; j++)
                s += exp(p[j * inner] - mx), var += (p[j * inner] - mu) * (p[j * inner] - mu) / (double)len;
            for (int64_t j = 0; j < len; j++)
                q[j * inner] = op->type == BB_OP_SOFTMAX && op->log_softmax ? p[j * inner] - mx - log(s)
                               : op->type == BB_OP_SOFTMAX ? exp(p[j * inner] - mx) / s
                                                         : (p[j * inner] - mu) / sqrt(var + op->eps) *
                                                               c->g->tensors[op->w].data[j] + c->g->tensors[op->b].data[j];
        }
}

static void ref_gather(const ref_ctx *c, const bb_op *op)
{
    shp x = S(op->in[0]), o = S(op->out);
    int64_t idx[R], j[R];
    for (int64_t i = 0; i < count(&o); i++) {
        unravel(i, &o, idx);
        int inside = 1;
        for (int k = 0; k < o.nd; k++) {
            if (op->type == BB_OP_TRANSPOSE)
                j[op->perm[k]] = idx[k];
            else if (op->type == BB_OP_SLICE)
                j[k] = op->starts[k] + idx[k] * op->steps[k];
            else /* pad */
                j[k] = idx[k] - op->pads[k], inside &= j[k] >= 0 && j[k] < x.d[k];
        }
        Y[i] = op->type == BB_OP_EXPAND ? X(0)[bcast_at(idx, &o, &x)] : inside ? X(0)[ravel(j, &x)] : op->alpha;
    }
}

static void ref_concat(const ref_ctx *c, const bb_op *op)
{
    shp o = S(op->out);
    int64_t idx[R];
    for (int64_t i = 0; i < count(&o); i++) {
        unravel(i, &o, idx);
        for (int k = 0; k < op->n_in; k++) {
            shp x = S(op->in[k]);
            if (idx[op->axis] < x.d[op->axis]) {
                Y[i] = X(k)[ravel(idx, &x)];
                break;
            }
            idx[op->axis] -= x.d[op->axis];
        }
    }
}

static void ref_reduce(const ref_ctx *c, const bb_op *op)
{
    shp x = S(op->in[0]), o = S(op->out);
    int64_t idx[R], per = count(&x) / count(&o);
    memset(Y, 0, sizeof(double) * (size_t)count(&o));
    for (int64_t i = 0; i < count(&x); i++) {
        unravel(i, &x, idx);
        for (int k = 0; k < x.nd; k++)
            idx[k] = (op->axes_mask >> k) & 1u ? 0 : idx[k];
        Y[ravel(idx, &o)] += X(0)[i] / (op->reduce_sum ? 1.0 : (double)per);
    }
}

/* lstm and gru: each row from H = C = 0 through the steps, as
 * engine/graph.h defines BB_OP_LSTM and BB_OP_GRU */
static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static void ref_cell(const bb_op *op, const double *g, const float *rb, int64_t h, double *hh, double *cc)
{
    for (int64_t j = 0; j < h; j++) {
        if (op->type == BB_OP_LSTM) {
            cc[j] = sigm(g[2 * h + j]) * cc[j] + sigm(g[j]) * tanh(g[3 * h + j]);
            hh[j] = sigm(g[h + j]) * tanh(cc[j]);
        } else { /* g holds x's gates in [0, 3h), H R^T in [3h, 6h) */
            const double z = sigm(g[j] + g[3 * h + j]), r = sigm(g[h + j] + g[4 * h + j]);
            const double n = tanh(g[2 * h + j] + r * (g[5 * h + j] + (rb ? rb[j] : 0.0)));
            hh[j] = (1 - z) * n + z * hh[j];
        }
    }
}

static void ref_rnn(const ref_ctx *c, const bb_op *op)
{
    shp x = S(op->in[0]);
    const int64_t gates = op->type == BB_OP_LSTM ? 4 : 3, s = x.d[x.nd - 2], h = x.d[x.nd - 1] / gates;
    const int64_t rows = count(&x) / (s * gates * h);
    const float *r = c->g->tensors[op->w].data, *rb = op->b >= 0 ? c->g->tensors[op->b].data : NULL;
    double *hc = calloc((size_t)(10 * h), sizeof(double)), *hh = hc, *cc = hc + h, *g = hc + 2 * h;
    for (int64_t row = 0; hc && row < rows; row++) {
        memset(hc, 0, sizeof(double) * (size_t)(2 * h));
        for (int64_t step = 0; step < s; step++) {
            const int64_t t = op->reverse ? s - 1 - step : step;
            for (int64_t q = 0; q < gates * h; q++) {
                double p = 0;
                for (int64_t k = 0; k < h; k++)
                    p += r[q * h + k] * hh[k];
                const double xq = X(0)[(row * s + t) * gates * h + q];
                if (gates == 4)
                    g[q] = xq + p;
                else
                    g[q] = xq, g[gates * h + q] = p;
            }
            ref_cell(op, g, rb, h, hh, cc);
            for (int64_t j = 0; j < h; j++)
                Y[(row * s + t) * h + j] = hh[j];
        }
    }
    free(hc);
}

static int ref_op(const ref_ctx *c, const bb_op *op)
{
    shp x = S(op->in[0]), o = S(op->out);
    const bb_graph *g = c->g;
    int64_t idx[R], last = x.d[x.nd - 1];
    switch (op->type) {
    case BB_OP_CONV:
    case BB_OP_MAXPOOL:
    case BB_OP_AVGPOOL: ref_window(c, op); break;
    case BB_OP_BATCHNORM:
        for (int64_t i = 0, per = count(&x) / (x.d[0] * x.d[1]); i < count(&x); i++) {
            int64_t ch = i / per % x.d[1];
            Y[i] = (X(0)[i] - g->tensors[op->aux[0]].data[ch]) / sqrt(g->tensors[op->aux[1]].data[ch] + (double)op->eps) *
                       g->tensors[op->w].data[ch] + g->tensors[op->b].data[ch];
        }
        break;
    case BB_OP_ACT:
        for (int64_t i = 0; i < count(&x); i++)
            Y[i] = act_ref(op, X(0)[i]);
        break;
    case BB_OP_ADD:
    case BB_OP_RESHAPE:
        for (int64_t i = 0; i < count(&x); i++)
            Y[i] = X(0)[i] + (op->type == BB_OP_ADD ? X(1)[i] : 0);
        break;
    case BB_OP_BINARY:
        for (int64_t i = 0; i < count(&o); i++) {
            shp a = S(op->in[0]), b = S(op->in[1]);
            unravel(i, &o, idx);
            Y[i] = bin_ref(op->binop, X(0)[bcast_at(idx, &o, &a)], X(1)[bcast_at(idx, &o, &b)]);
        }
        break;
    case BB_OP_LINEAR:
        for (int64_t r = 0, O = g->tensors[op->w].dims[0]; r < count(&x) / last; r++)
            for (int64_t k = 0; k < O; k++) {
                double s = op->b >= 0 ? g->tensors[op->b].data[k] : 0;
                for (int64_t j = 0; j < last; j++)
                    s += g->tensors[op->w].data[k * last + j] * X(0)[r * last + j];
                Y[r * O + k] = s;
            }
        break;
    case BB_OP_LAYERNORM: ref_axis(c, op, x.nd - 1); break;
    case BB_OP_SOFTMAX: ref_axis(c, op, op->axis); break;
    case BB_OP_MATMUL: ref_matmul(c, op); break;
    case BB_OP_TRANSPOSE:
    case BB_OP_SLICE:
    case BB_OP_PAD:
    case BB_OP_EXPAND: ref_gather(c, op); break;
    case BB_OP_CONCAT: ref_concat(c, op); break;
    case BB_OP_REDUCE_MEAN: ref_reduce(c, op); break;
    case BB_OP_LSTM:
    case BB_OP_GRU: ref_rnn(c, op); break;
    default: return -1;
    }
    return 0;
}

/* The graph on input `in` at batch n: its output (malloc'd), or NULL when
 * memory runs out or an op is not known here. */
static double *reference(const bb_graph *g, int64_t n, const float *in)
{
    ref_ctx c = {g, n, calloc((size_t)g->n_tensors, sizeof(double *))};
    int ok = c.v != NULL;
    for (int t = 0; ok && t < g->n_tensors; t++) {
        shp s = shape_of(g, t, n);
        const float *src = t == g->input ? in : g->tensors[t].data;
        ok = (c.v[t] = calloc((size_t)count(&s), sizeof(double))) != NULL;
        for (int64_t i = 0; ok && src && i < count(&s); i++)
            c.v[t][i] = src[i];
    }
    for (int i = 0; ok && i < g->n_ops; i++)
        ok = ref_op(&c, &g->ops[i]) == 0;
    double *out = ok ? c.v[g->output] : NULL;
    for (int t = 0; c.v && t < g->n_tensors; t++)
        if (c.v[t] != out)
            free(c.v[t]);
    free(c.v);
    return out;
}

#undef X
#undef Y
#undef S

#endif

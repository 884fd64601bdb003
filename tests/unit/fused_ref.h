/*
 * fused_ref.h — a naive reference interpreter of the zoo's graph IR (the
 * unfused graph: conv, batchnorm, activations, pools, linear, layer norm,
 * attention, ...), in double precision, for test_cpu_backend.c.
 *
 * Why this file exists: the CPU backend's fused oneDNN primitives need an
 * oracle that shares none of their code: plain loops written from the ops'
 * definitions in engine/graph.h, run one item at a time. Kept apart so the
 * test file holds the cases (generic_ref.h is the same for the ONNX
 * import's generic ops, on full shapes).
 */
#ifndef BB_TEST_FUSED_REF_H
#define BB_TEST_FUSED_REF_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/graph.h"

static double act_ref(bb_act a, double x)
{
    switch (a) {
    case BB_ACT_RELU: return x > 0 ? x : 0;
    case BB_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case BB_ACT_SILU: return x / (1 + exp(-x));
    case BB_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case BB_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    default: return x;
    }
}

static const float *P(const bb_graph *g, int t)
{
    return g->tensors[t].data;
}

static void ref_conv(const bb_graph *g, const bb_op *op, const double *x, double *y)
{
    const bb_tensor *xt = &g->tensors[op->in[0]], *yt = &g->tensors[op->out];
    const int64_t C = xt->dims[0], H = xt->dims[1], W = xt->dims[2];
    const int64_t O = yt->dims[0], OH = yt->dims[1], OW = yt->dims[2];
    const int64_t k = op->k, cg = C / op->groups, og = O / op->groups;
    const float *w = P(g, op->w);
    for (int64_t o = 0; o < O; o++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double s = op->b >= 0 ? P(g, op->b)[o] : 0.0;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t i = 0; i < k; i++)
                        for (int64_t j = 0; j < k; j++) {
                            int64_t h = oh * op->stride - op->pad + i, v = ow * op->stride - op->pad + j;
                            if (h < 0 || h >= H || v < 0 || v >= W)
                                continue;
                            int64_t ci = (o / og) * cg + c;
                            s += w[((o * cg + c) * k + i) * k + j] * x[(ci * H + h) * W + v];
                        }
                y[(o * OH + oh) * OW + ow] = s;
            }
}

static void ref_maxpool(const bb_graph *g, const bb_op *op, const double *x, double *y)
{
    const bb_tensor *xt = &g->tensors[op->in[0]], *yt = &g->tensors[op->out];
    const int64_t C = xt->dims[0], H = xt->dims[1], W = xt->dims[2], OH = yt->dims[1], OW = yt->dims[2];
    for (int64_t c = 0; c < C; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double m = -INFINITY;
                for (int64_t i = 0; i < op->k; i++)
                    for (int64_t j = 0; j < op->k; j++) {
                        int64_t h = oh * op->stride - op->pad + i, v = ow * op->stride - op->pad + j;
                        if (h >= 0 && h < H && v >= 0 && v < W && x[(c * H + h) * W + v] > m)
                            m = x[(c * H + h) * W + v];
                    }
                y[(c * OH + oh) * OW + ow] = m;
            }
}

static void ref_attention(const bb_op *op, int64_t L, int64_t D, const double *qkv, double *y)
{
    const int64_t h = op->heads, dh = D / h;
    double *s = malloc(sizeof(double) * (size_t)L);
    assert_non_null(s);
    for (int64_t hd = 0; hd < h; hd++)
        for (int64_t i = 0; i < L; i++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < L; j++) {
                double d = 0;
                for (int64_t e = 0; e < dh; e++)
                    d += qkv[i * 3 * D + hd * dh + e] * qkv[j * 3 * D + D + hd * dh + e];
                s[j] = d / sqrt((double)dh);
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < L; j++)
                sum += (s[j] = exp(s[j] - mx));
            for (int64_t e = 0; e < dh; e++) {
                double o = 0;
                for (int64_t j = 0; j < L; j++)
                    o += s[j] / sum * qkv[j * 3 * D + 2 * D + hd * dh + e];
                y[i * D + hd * dh + e] = o;
            }
        }
    free(s);
}

/* One item through one op; v[t] holds tensor t of this item. */
static void ref_op(const bb_graph *g, const bb_op *op, double **v)
{
    const bb_tensor *xt = &g->tensors[op->in[0]];
    const double *x = v[op->in[0]];
    double *y = v[op->out];
    const int64_t n = bb_tensor_numel(xt), last = xt->dims[xt->ndim - 1];
    switch (op->type) {
    case BB_OP_CONV: ref_conv(g, op, x, y); break;
    case BB_OP_MAXPOOL: ref_maxpool(g, op, x, y); break;
    case BB_OP_BATCHNORM: {
        int64_t per = n / xt->dims[0];
        for (int64_t i = 0; i < n; i++) {
            int64_t c = i / per;
            y[i] = (x[i] - P(g, op->aux[0])[c]) / sqrt((double)P(g, op->aux[1])[c] + op->eps) *
                       P(g, op->w)[c] + P(g, op->b)[c];
        }
        break;
    }
    case BB_OP_ACT:
        for (int64_t i = 0; i < n; i++)
            y[i] = act_ref(op->act, x[i]);
        break;
    case BB_OP_ADD:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] + v[op->in[1]][i];
        break;
    case BB_OP_GAP:
    case BB_OP_SE_SCALE: {
        int64_t per = n / xt->dims[0];
        for (int64_t c = 0; c < xt->dims[0]; c++) {
            double s = 0;
            for (int64_t i = 0; i < per; i++)
                s += x[c * per + i];
            if (op->type == BB_OP_GAP)
                y[c] = s / (double)per;
            else
                for (int64_t i = 0; i < per; i++)
                    y[c * per + i] = x[c * per + i] * v[op->in[1]][c];
        }
        break;
    }
    case BB_OP_LINEAR: {
        const int64_t O = g->tensors[op->w].dims[0];
        for (int64_t r = 0; r < n / last; r++)
            for (int64_t o = 0; o < O; o++) {
                double s = op->b >= 0 ? P(g, op->b)[o] : 0.0;
                for (int64_t k = 0; k < last; k++)
                    s += P(g, op->w)[o * last + k] * x[r * last + k];
                y[r * O + o] = s;
            }
        break;
    }
    case BB_OP_LAYERNORM:
        for (int64_t r = 0; r < n / last; r++) {
            double mu = 0, var = 0;
            for (int64_t k = 0; k < last; k++)
                mu += x[r * last + k] / (double)last;
            for (int64_t k = 0; k < last; k++)
                var += (x[r * last + k] - mu) * (x[r * last + k] - mu) / (double)last;
            for (int64_t k = 0; k < last; k++)
                y[r * last + k] = (x[r * last + k] - mu) / sqrt(var + op->eps) * P(g, op->w)[k] + P(g, op->b)[k];
        }
        break;
    case BB_OP_ATTENTION:
        ref_attention(op, xt->dims[0], xt->dims[1] / 3, x, y);
        break;
    case BB_OP_TOKENS: {
        const int64_t D = xt->dims[0], np = xt->dims[1] * xt->dims[2];
        const float *cls = P(g, op->w), *pos = P(g, op->b);
        for (int64_t c = 0; c < D; c++)
            y[c] = (double)cls[c] + pos[c];
        for (int64_t t = 0; t < np; t++)
            for (int64_t c = 0; c < D; c++)
                y[(t + 1) * D + c] = x[c * np + t] + pos[(t + 1) * D + c];
        break;
    }
    case BB_OP_CLS_SELECT:
        memcpy(y, x, sizeof(double) * (size_t)xt->dims[1]);
        break;
    default:
        fail_msg("reference: op %s not supported", bb_op_type_name(op->type));
    }
}

/* Runs the (unfused) graph on `batch` items of `in`; returns the output. */
static double *reference(const bb_graph *g, int64_t batch, const float *in)
{
    const int64_t ni = bb_tensor_numel(&g->tensors[g->input]);
    const int64_t no = bb_tensor_numel(&g->tensors[g->output]);
    double **v = calloc((size_t)g->n_tensors, sizeof *v);
    double *out = malloc(sizeof(double) * (size_t)(batch * no));
    assert_true(v && out);
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].kind == BB_T_ACT || g->tensors[t].kind == BB_T_INPUT)
            assert_non_null(v[t] = calloc((size_t)bb_tensor_numel(&g->tensors[t]), sizeof(double)));
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t i = 0; i < ni; i++)
            v[g->input][i] = in[b * ni + i];
        for (int i = 0; i < g->n_ops; i++)
            ref_op(g, &g->ops[i], v);
        memcpy(out + b * no, v[g->output], sizeof(double) * (size_t)no);
    }
    for (int t = 0; t < g->n_tensors; t++)
        free(v[t]);
    free(v);
    return out;
}

#endif

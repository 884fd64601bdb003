/*
 * graph.c — building the graph IR, shape inference and the model facts
 * (parameter count, multiply-accumulates, feature dimension) derived from it.
 *
 * Shape inference happens as ops are added: each layer helper computes its
 * output's per-item shape from its input's, so a malformed model fails at
 * build time, not in a backend.
 */
#include "engine/graph.h"
#include "util/grow.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bb_graph *bb_graph_new(const char *model, bb_family family, bb_head head)
{
    bb_graph *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    snprintf(g->model, sizeof g->model, "%s", model);
    g->family = family;
    g->head = head;
    g->input = g->output = -1;
    return g;
}

void bb_graph_free(bb_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_tensors; i++)
        free(g->tensors[i].data);
    free(g->tensors);
    free(g->ops);
    free(g);
}

int bb_graph_add_tensor(bb_graph *g, const char *name, bb_tensor_kind kind,
                        int ndim, const int64_t *dims)
{
    assert(ndim >= 0 && ndim <= BB_MAX_DIMS);
    g->tensors = bb_grow(g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors);
    bb_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    t->kind = kind;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    return g->n_tensors++;
}

bb_op *bb_graph_add_op(bb_graph *g, bb_op_type type, const char *label)
{
    g->ops = bb_grow(g->ops, &g->cap_ops, g->n_ops + 1, sizeof *g->ops);
    bb_op *op = &g->ops[g->n_ops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    op->w = op->b = op->aux[0] = op->aux[1] = op->sum_in = op->out = -1;
    op->pre_scale = op->post_scale = -1;
    for (int i = 0; i < BB_MAX_IN; i++)
        op->in[i] = -1;
    op->groups = 1;
    op->sh = op->sw = op->dil_h = op->dil_w = 1;
    snprintf(op->label, sizeof op->label, "%s", label ? label : "");
    return op;
}

/* ---- layer helpers ------------------------------------------------------ */

static int param(bb_graph *g, const char *prefix, const char *suffix,
                 bb_tensor_kind kind, int ndim, const int64_t *dims)
{
    char name[BB_NAME_LEN];
    if (prefix && *prefix)
        snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    else
        snprintf(name, sizeof name, "%s", suffix);
    return bb_graph_add_tensor(g, name, kind, ndim, dims);
}

static int act_like(bb_graph *g, int x)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t dims[BB_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    return bb_graph_add_tensor(g, "", BB_T_ACT, t->ndim, dims);
}

static int64_t conv_out(int64_t in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* The general window of a square, symmetric one. */
static void square_window(bb_op *op, int k, int stride, int pad)
{
    op->k = k, op->stride = stride, op->pad = pad;
    op->kh = op->kw = k, op->sh = op->sw = stride;
    op->pad_t = op->pad_l = op->pad_b = op->pad_r = pad;
    op->dil_h = op->dil_w = 1;
}

int bb_window_square(const bb_op *op)
{
    return op->kh == op->k && op->kw == op->k && op->sh == op->stride && op->sw == op->stride &&
           op->pad_t == op->pad && op->pad_l == op->pad && op->pad_b == op->pad && op->pad_r == op->pad &&
           op->dil_h == 1 && op->dil_w == 1;
}

int bb_conv(bb_graph *g, const char *prefix, int x, int out_ch, int k,
            int stride, int pad, int groups, int bias)
{
    const bb_tensor *t = &g->tensors[x];
    assert(t->ndim == 3 && t->dims[0] % groups == 0 && out_ch % groups == 0);
    int64_t wd[4] = {out_ch, t->dims[0] / groups, k, k};
    int64_t od[3] = {out_ch, conv_out(t->dims[1], k, stride, pad),
                     conv_out(t->dims[2], k, stride, pad)};
    int w = param(g, prefix, "weight", BB_T_PARAM, 4, wd);
    int64_t bd[1] = {out_ch};
    int b = bias ? param(g, prefix, "bias", BB_T_PARAM, 1, bd) : -1;
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 3, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_CONV, prefix);
    op->n_in = 1, op->in[0] = x, op->out = y, op->w = w, op->b = b;
    square_window(op, k, stride, pad);
    op->groups = groups;
    return y;
}

int bb_batchnorm(bb_graph *g, const char *prefix, int x, float eps)
{
    int64_t c[1] = {g->tensors[x].dims[0]};
    int w = param(g, prefix, "weight", BB_T_PARAM, 1, c);
    int b = param(g, prefix, "bias", BB_T_PARAM, 1, c);
    int m = param(g, prefix, "running_mean", BB_T_BUFFER, 1, c);
    int v = param(g, prefix, "running_var", BB_T_BUFFER, 1, c);
    int y = act_like(g, x);
    bb_op *op = bb_graph_add_op(g, BB_OP_BATCHNORM, prefix);
    op->n_in = 1, op->in[0] = x, op->out = y, op->w = w, op->b = b;
    op->aux[0] = m, op->aux[1] = v, op->eps = eps;
    return y;
}

int bb_activation(bb_graph *g, int x, bb_act act)
{
    int y = act_like(g, x);
    bb_op *op = bb_graph_add_op(g, BB_OP_ACT, bb_act_name(act));
    op->n_in = 1, op->in[0] = x, op->out = y, op->act = act;
    return y;
}

int bb_add(bb_graph *g, int a, int b)
{
    const bb_tensor *ta = &g->tensors[a], *tb = &g->tensors[b];
    assert(ta->ndim == tb->ndim);
    for (int i = 0; i < ta->ndim; i++)
        assert(ta->dims[i] == tb->dims[i]);
    (void)tb;
    int y = act_like(g, a);
    bb_op *op = bb_graph_add_op(g, BB_OP_ADD, "add");
    op->n_in = 2, op->in[0] = a, op->in[1] = b, op->out = y;
    return y;
}

int bb_maxpool(bb_graph *g, int x, int k, int stride, int pad)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t od[3] = {t->dims[0], conv_out(t->dims[1], k, stride, pad),
                     conv_out(t->dims[2], k, stride, pad)};
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 3, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_MAXPOOL, "maxpool");
    op->n_in = 1, op->in[0] = x, op->out = y;
    square_window(op, k, stride, pad);
    return y;
}

int bb_gap(bb_graph *g, int x)
{
    int64_t od[1] = {g->tensors[x].dims[0]};
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 1, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_GAP, "avgpool");
    op->n_in = 1, op->in[0] = x, op->out = y;
    return y;
}

int bb_se_scale(bb_graph *g, int x, int s)
{
    assert(g->tensors[s].ndim == 1 && g->tensors[s].dims[0] == g->tensors[x].dims[0]);
    int y = act_like(g, x);
    bb_op *op = bb_graph_add_op(g, BB_OP_SE_SCALE, "se_scale");
    op->n_in = 2, op->in[0] = x, op->in[1] = s, op->out = y;
    return y;
}

int bb_linear(bb_graph *g, const char *prefix, const char *wname,
              const char *bname, int x, int out_features, int weight_4d)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t k = t->dims[t->ndim - 1];
    int64_t wd[4] = {out_features, k, 1, 1};
    int w = param(g, prefix, wname, BB_T_PARAM, weight_4d ? 4 : 2, wd);
    int64_t bd[1] = {out_features};
    int b = bname ? param(g, prefix, bname, BB_T_PARAM, 1, bd) : -1;
    int64_t od[BB_MAX_DIMS];
    memcpy(od, g->tensors[x].dims, sizeof od);
    int nd = g->tensors[x].ndim;
    od[nd - 1] = out_features;
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, nd, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_LINEAR, prefix);
    op->n_in = 1, op->in[0] = x, op->out = y, op->w = w, op->b = b;
    return y;
}

int bb_layernorm(bb_graph *g, const char *prefix, int x, float eps)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t d[1] = {t->dims[t->ndim - 1]};
    int w = param(g, prefix, "weight", BB_T_PARAM, 1, d);
    int b = param(g, prefix, "bias", BB_T_PARAM, 1, d);
    int y = act_like(g, x);
    bb_op *op = bb_graph_add_op(g, BB_OP_LAYERNORM, prefix);
    op->n_in = 1, op->in[0] = x, op->out = y, op->w = w, op->b = b, op->eps = eps;
    return y;
}

int bb_attention(bb_graph *g, int qkv, int heads)
{
    const bb_tensor *t = &g->tensors[qkv];
    assert(t->ndim == 2 && t->dims[1] % 3 == 0 && (t->dims[1] / 3) % heads == 0);
    int64_t od[2] = {t->dims[0], t->dims[1] / 3};
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 2, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_ATTENTION, "attention");
    op->n_in = 1, op->in[0] = qkv, op->out = y, op->heads = heads;
    return y;
}

int bb_tokens(bb_graph *g, const char *cls_name, const char *pos_name, int x)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t d = t->dims[0], l = 1 + t->dims[1] * t->dims[2];
    int64_t cd[3] = {1, 1, d}, pd[3] = {1, l, d}, od[2] = {l, d};
    int cls = bb_graph_add_tensor(g, cls_name, BB_T_PARAM, 3, cd);
    int pos = bb_graph_add_tensor(g, pos_name, BB_T_PARAM, 3, pd);
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 2, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_TOKENS, "tokens");
    op->n_in = 1, op->in[0] = x, op->out = y, op->w = cls, op->b = pos;
    return y;
}

int bb_cls_select(bb_graph *g, int x)
{
    int64_t od[1] = {g->tensors[x].dims[1]};
    int y = bb_graph_add_tensor(g, "", BB_T_ACT, 1, od);
    bb_op *op = bb_graph_add_op(g, BB_OP_CLS_SELECT, "cls_select");
    op->n_in = 1, op->in[0] = x, op->out = y;
    return y;
}

/* ---- facts -------------------------------------------------------------- */

int bb_tensor_is_const(const bb_tensor *t)
{
    return t->kind == BB_T_PARAM || t->kind == BB_T_BUFFER;
}

int64_t bb_tensor_numel(const bb_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

int64_t bb_graph_param_count(const bb_graph *g)
{
    int64_t n = g->params_adjust;
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == BB_T_PARAM)
            n += bb_tensor_numel(&g->tensors[i]);
    return n;
}

int64_t bb_graph_weight_bytes(const bb_graph *g)
{
    int64_t n = 0;
    for (int i = 0; i < g->n_tensors; i++)
        if (bb_tensor_is_const(&g->tensors[i]))
            n += bb_tensor_numel(&g->tensors[i]) * (int64_t)sizeof(float);
    return n;
}

int64_t bb_op_macs(const bb_graph *g, const bb_op *op)
{
    const bb_tensor *out = &g->tensors[op->out];
    switch (op->type) {
    case BB_OP_CONV:
    case BB_OP_LINEAR:
        /* every output element accumulates over the weight's fan-in */
        return bb_tensor_numel(out) * (bb_tensor_numel(&g->tensors[op->w]) /
                                       g->tensors[op->w].dims[0]);
    case BB_OP_ATTENTION: {
        int64_t l = out->dims[0], d = out->dims[1];
        return 2 * l * l * d; /* Q·K^T and attention·V */
    }
    case BB_OP_MATMUL: { /* every output element is a dot product over K */
        const bb_tensor *a = &g->tensors[op->in[0]];
        return bb_tensor_numel(out) * a->dims[a->ndim - 1];
    }
    case BB_OP_LSTM:
    case BB_OP_GRU: { /* H R^T at every step but the first (H = 0 there) */
        const bb_tensor *x = &g->tensors[op->in[0]], *r = &g->tensors[op->w];
        const int64_t steps = x->ndim >= 2 ? x->dims[x->ndim - 2] : 1;
        return steps > 0 ? bb_tensor_numel(out) / steps * (steps - 1) * r->dims[0] : 0; /* out's H each G*H */
    }
    default:
        return 0;
    }
}

int64_t bb_graph_macs(const bb_graph *g)
{
    int64_t n = g->macs_adjust;
    for (int i = 0; i < g->n_ops; i++)
        n += bb_op_macs(g, &g->ops[i]);
    return n;
}

int64_t bb_graph_feature_dim(const bb_graph *g)
{
    return bb_tensor_numel(&g->tensors[g->output]);
}

int bb_tensor_shape(const bb_graph *g, int t, int64_t n, int64_t *dims)
{
    const bb_tensor *x = &g->tensors[t];
    if (x->kind != BB_T_ACT && x->kind != BB_T_INPUT) {
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
        return x->ndim;
    }
    if (x->full_rank) {
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
        dims[x->batch_axis] *= n;
        return x->ndim;
    }
    dims[0] = n;
    memcpy(dims + 1, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    return x->ndim + 1;
}

int bb_graph_find_tensor(const bb_graph *g, const char *name)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].name[0] && strcmp(g->tensors[i].name, name) == 0)
            return i;
    return -1;
}

const char *bb_op_type_name(bb_op_type t)
{
    static const char *const names[BB_OP_COUNT] = {
        "conv", "batchnorm", "act", "add", "maxpool", "gap", "se_scale",
        "linear", "layernorm", "attention", "tokens", "cls_select",
        "binary", "matmul", "transpose", "reshape", "concat", "slice", "softmax",
        "reduce_mean", "pad", "avgpool", "expand", "resize", "groupnorm", "lstm", "gru"};
    return (t >= 0 && t < BB_OP_COUNT) ? names[t] : "?";
}

const char *bb_act_name(bb_act a)
{
    static const char *const names[BB_ACT_COUNT] = {
        "none", "relu", "relu6", "silu", "sigmoid", "gelu", "tanh", "hardswish", "hardsigmoid",
        "clip", "leaky_relu", "sqrt", "erf", "exp", "abs", "neg", "reciprocal", "elu", "selu", "celu",
        "softplus", "softsign", "mish", "log", "gelu_tanh", "thresholded_relu"};
    return (a >= 0 && a < BB_ACT_COUNT) ? names[a] : "?";
}

const char *bb_family_name(bb_family f)
{
    return f == BB_FAMILY_CONV ? "conv" : f == BB_FAMILY_TRANSFORMER ? "transformer" : "imported";
}

const char *bb_head_name(bb_head h)
{
    return h == BB_HEAD_FEATURES ? "features" : "classifier";
}

/*
 * onnx_lower.c — one ONNX node that computes an activation becomes graph
 * ops (graph.h): the zoo's ops where the node means the same (Conv, Gemm,
 * pools, BatchNorm, LayerNorm, activations, a residual Add), so that an
 * imported torchvision model lowers to the kernels the built-in one runs;
 * the generic ops (BB_OP_BINARY and below) for the rest. Attributes are
 * read through onnx_eval.h's helpers, the one place that parses them.
 * The data-movement nodes (reshapes, slices, pads, resize) are lowered in
 * onnx_lower_move.c; the table of every lowering is at the end here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/fuse.h"
#include "onnx/onnx_import_internal.h"
#include "util/grow.h"

typedef int (*lower_fn)(ox_ctx *c, const bb_ox_node *nd);

/* ---- small helpers ------------------------------------------------------------ */

/* The graph tensor of input k (activation or constant). */
int ox_in_t(ox_ctx *c, const bb_ox_node *nd, int k)
{
    if (k >= nd->n_in)
        return bb_ox_node_err(c->err, c->m, nd, "has %d inputs, needs %d", nd->n_in, k + 1);
    return ox_tensor(c, nd, nd->in[k]);
}

/* Input k as an activation (refused when it is a constant). */
int ox_in_act(ox_ctx *c, const bb_ox_node *nd, int k)
{
    int v = k < nd->n_in ? nd->in[k] : -1;
    if (v >= 0 && !ox_is_static(c, v) && c->v2[v].is_const && c->v3[v].is_const && ox_replicated_axis(c, v) < 0)
        return bb_ox_node_err(c->err, c->m, nd, "input %d ('%s') is a constant the size of the batch whose items "
                              "differ (not supported: batchbench computes every item the same way)", k, c->m->values[v].name);
    if (v < 0 || !ox_is_act(c, v))
        return bb_ox_node_err(c->err, c->m, nd, "input %d must depend on the model's input", k);
    return ox_tensor(c, nd, v);
}

/* Input k as a static float constant (its value at batch 2). */
const bb_ox_val *ox_in_static(ox_ctx *c, const bb_ox_node *nd, int k, const char *what)
{
    if (k >= nd->n_in || nd->in[k] < 0 || !ox_is_static(c, nd->in[k]) || c->v2[nd->in[k]].dtype != BB_OX_F32) {
        bb_ox_node_err(c->err, c->m, nd, "its %s must be a float constant (an initializer)", what);
        return NULL;
    }
    return &c->v2[nd->in[k]];
}

const char *ox_value_name(const ox_ctx *c, const bb_ox_node *nd, int k)
{
    return k < nd->n_in && nd->in[k] >= 0 ? c->m->values[nd->in[k]].name : nd->name;
}

/* A 1-D parameter of n floats from input k (any shape with n elements). */
int ox_param_1d(ox_ctx *c, const bb_ox_node *nd, int k, int64_t n, bb_tensor_kind kind, const char *what)
{
    const bb_ox_val *v = ox_in_static(c, nd, k, what);
    if (!v)
        return -1;
    if (v->numel != n)
        return bb_ox_node_err(c->err, c->m, nd, "its %s has %lld elements, expected %lld", what,
                              (long long)v->numel, (long long)n);
    return ox_const_tensor(c, ox_value_name(c, nd, k), kind, 1, &n, v->data);
}

/* The output value is the input's tensor (Identity, Dropout, float Cast). */
static int alias(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    if (x < 0)
        return -1;
    if (c->v2[nd->out[0]].dtype != BB_OX_F32)
        return bb_ox_node_err(c->err, c->m, nd, "turns an activation into integers (not supported)");
    c->tmap[nd->out[0]] = x;
    return 0;
}

/* A tensor like activation t with full axes in `mask` set to 1. */
static int act_reduced(ox_ctx *c, int t, unsigned mask)
{
    bb_tensor x = c->g->tensors[t];
    int off = x.full_rank ? 0 : 1;
    for (int a = off; a < x.ndim + off; a++)
        if (mask & (1u << a))
            x.dims[a - off] = 1;
    int y = bb_graph_add_tensor(c->g, "", BB_T_ACT, x.ndim, x.dims);
    c->g->tensors[y].full_rank = x.full_rank, c->g->tensors[y].batch_axis = x.batch_axis;
    return y;
}

/* act(t) into a new activation like t. */
static int act_of(ox_ctx *c, const bb_ox_node *nd, int t, bb_act act)
{
    int y = act_reduced(c, t, 0);
    ox_op_into(c, nd, BB_OP_ACT, t, y)->act = act;
    return y;
}

/* An op of the node's into graph tensor y (not an ONNX value). */
bb_op *ox_op_into(ox_ctx *c, const bb_ox_node *nd, bb_op_type type, int x, int y)
{
    bb_op *op = bb_graph_add_op(c->g, type, nd->name);
    op->n_in = 1, op->in[0] = x, op->out = y;
    return op;
}

bb_op *ox_reshape_to(ox_ctx *c, const bb_ox_node *nd, int x, int out_v)
{
    return ox_op(c, nd, BB_OP_RESHAPE, &x, 1, out_v);
}

/* ---- elementwise -------------------------------------------------------------- */

static int lower_act_kind(ox_ctx *c, const bb_ox_node *nd, bb_act act, float alpha, float beta)
{
    int x = ox_in_act(c, nd, 0);
    bb_op *op = x < 0 ? NULL : ox_op(c, nd, BB_OP_ACT, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    op->act = act, op->alpha = alpha, op->beta = beta;
    return 0;
}

static const struct { const char *op; bb_act act; } unary_ops[] = {
    {"Relu", BB_ACT_RELU},       {"Sigmoid", BB_ACT_SIGMOID}, {"Tanh", BB_ACT_TANH},
    {"HardSwish", BB_ACT_HARDSWISH}, {"Erf", BB_ACT_ERF},     {"Sqrt", BB_ACT_SQRT},
    {"Exp", BB_ACT_EXP},         {"Abs", BB_ACT_ABS},         {"Neg", BB_ACT_NEG},
    {"Reciprocal", BB_ACT_RECIPROCAL}, {"Softplus", BB_ACT_SOFTPLUS}, {"Softsign", BB_ACT_SOFTSIGN},
    {"Mish", BB_ACT_MISH},       {"Log", BB_ACT_LOG},
};

static int lower_unary(ox_ctx *c, const bb_ox_node *nd)
{
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        if (!strcmp(nd->op_type, unary_ops[i].op))
            return lower_act_kind(c, nd, unary_ops[i].act, 0.f, 0.f);
    return bb_ox_node_err(c->err, c->m, nd, "internal: no activation for this op");
}

static int lower_param_act(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    if (bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    if (!strcmp(nd->op_type, "HardSigmoid"))
        return lower_act_kind(c, nd, BB_ACT_HARDSIGMOID, p.alpha, p.beta);
    static const struct { const char *op; bb_act act; } alpha_acts[] = {
        {"LeakyRelu", BB_ACT_LEAKY_RELU}, {"Elu", BB_ACT_ELU}, {"Selu", BB_ACT_SELU}, {"Celu", BB_ACT_CELU},
        {"ThresholdedRelu", BB_ACT_THRESHOLDED_RELU},
    };
    for (size_t i = 0; i < sizeof alpha_acts / sizeof alpha_acts[0]; i++)
        if (!strcmp(nd->op_type, alpha_acts[i].op))
            return lower_act_kind(c, nd, alpha_acts[i].act, p.alpha, p.beta);
    if (!strcmp(nd->op_type, "Gelu"))
        return lower_act_kind(c, nd, p.gelu_tanh ? BB_ACT_GELU_TANH : BB_ACT_GELU, 0.f, 0.f);
    if (p.lo == 0.f && p.hi == 6.f)
        return lower_act_kind(c, nd, BB_ACT_RELU6, 0.f, 0.f);
    if (p.lo == 0.f && isinf(p.hi) && p.hi > 0)
        return lower_act_kind(c, nd, BB_ACT_RELU, 0.f, 0.f);
    return lower_act_kind(c, nd, BB_ACT_CLIP, p.lo, p.hi);
}

static const struct { const char *op; bb_binop bin; } binary_ops[] = {
    {"Add", BB_BIN_ADD}, {"Sub", BB_BIN_SUB}, {"Mul", BB_BIN_MUL}, {"Div", BB_BIN_DIV},
    {"Pow", BB_BIN_POW}, {"Max", BB_BIN_MAX}, {"Min", BB_BIN_MIN}, {"PRelu", BB_BIN_PRELU}, {"Sum", BB_BIN_ADD},
    {"Mean", BB_BIN_ADD},
};

int ox_same_shape(const ox_ctx *c, int a, int b)
{
    for (int k = 0; k < 2; k++) {
        const bb_ox_val *x = k ? &c->v3[a] : &c->v2[a], *y = k ? &c->v3[b] : &c->v2[b];
        if (x->ndim != y->ndim || memcmp(x->dims, y->dims, sizeof(int64_t) * (size_t)x->ndim) != 0)
            return 0;
    }
    return 1;
}

/* Whether input k is a static constant of zeros (or ones) that leaves the
 * other input's shape as it is. */
static int is_neutral(const ox_ctx *c, const bb_ox_node *nd, int k, float v)
{
    int a = nd->in[k], x = nd->in[1 - k];
    if (!ox_is_static(c, a) || c->v2[a].dtype != BB_OX_F32 || !ox_same_shape(c, x, nd->out[0]))
        return 0;
    for (int64_t i = 0; i < c->v2[a].numel; i++)
        if (((const float *)c->v2[a].data)[i] != v)
            return 0;
    return 1;
}

/* Sum, Max or Min of one input (the input itself) or of three or more
 * (Keras' AddN exports Sum), and Mean of any number (the sum times 1/n):
 * a chain of binary ops from an input of the output's shape, the others
 * (each broadcast to it) taken in turn; the ops are commutative, so the
 * order only rounds differently. */
static int lower_variadic(ox_ctx *c, const bb_ox_node *nd, bb_binop bin)
{
    int mean = !strcmp(nd->op_type, "Mean");
    if (nd->n_in == 1)
        return alias(c, nd);
    int first = 0;
    while (first < nd->n_in && !(ox_is_act(c, nd->in[first]) && ox_same_shape(c, nd->in[first], nd->out[0])))
        first++;
    if (first == nd->n_in)
        return bb_ox_node_err(c->err, c->m, nd, "%d inputs: batchbench runs more than 2 when one of them is an "
                              "activation of the output's shape (none is)", nd->n_in);
    int acc = ox_in_t(c, nd, first), y = acc < 0 ? -1 : ox_act_tensor(c, nd, nd->out[0]), left = nd->n_in - 1;
    for (int k = 0; k < nd->n_in && y >= 0; k++) {
        if (k == first)
            continue;
        int b = ox_in_t(c, nd, k), out = --left == 0 && !mean ? y : act_reduced(c, y, 0);
        if (b < 0)
            return -1;
        int add = bin == BB_BIN_ADD && ox_is_act(c, nd->in[k]) && ox_same_shape(c, nd->in[k], nd->out[0]);
        bb_op *op = bb_graph_add_op(c->g, add ? BB_OP_ADD : BB_OP_BINARY, nd->name);
        op->n_in = 2, op->in[0] = acc, op->in[1] = b, op->out = out, op->binop = bin;
        acc = out;
    }
    if (y < 0 || !mean)
        return y < 0 ? -1 : 0;
    const int64_t one = 1;
    const float inv = (float)(1.0 / nd->n_in);
    int s = ox_const_tensor(c, "mean_scale", BB_T_BUFFER, 1, &one, &inv);
    if (s < 0)
        return -1;
    bb_op *op = bb_graph_add_op(c->g, BB_OP_BINARY, nd->name);
    op->n_in = 2, op->in[0] = acc, op->in[1] = s, op->out = y, op->binop = BB_BIN_MUL;
    return 0;
}

static int lower_binary(ox_ctx *c, const bb_ox_node *nd)
{
    size_t i = 0;
    while (strcmp(nd->op_type, binary_ops[i].op))
        i++;
    if (!strcmp(nd->op_type, "Mean") ||
        (nd->n_in != 2 && (binary_ops[i].bin == BB_BIN_ADD || binary_ops[i].bin == BB_BIN_MAX ||
                           binary_ops[i].bin == BB_BIN_MIN))) /* Sum, Max, Min: Add has 2 */
        return lower_variadic(c, nd, binary_ops[i].bin);
    if (nd->n_in != 2)
        return bb_ox_node_err(c->err, c->m, nd, "%d inputs; batchbench runs it with 2", nd->n_in);
    /* x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1 (MobileOne's `out = 0; out += branch`): x itself */
    int add = !strcmp(nd->op_type, "Add"), mul = !strcmp(nd->op_type, "Mul");
    for (int k = 0; k < 2; k++) {
        int comm = add || mul, second = k == 1;
        if ((comm || second) && ox_is_act(c, nd->in[1 - k]) &&
            is_neutral(c, nd, k, add || !strcmp(nd->op_type, "Sub") ? 0.f : 1.f) &&
            (add || mul || !strcmp(nd->op_type, "Sub") || !strcmp(nd->op_type, "Div"))) {
            int x = ox_in_act(c, nd, 1 - k);
            if (x < 0)
                return -1;
            c->tmap[nd->out[0]] = x;
            return 0;
        }
    }
    int a = ox_in_t(c, nd, 0), b = a < 0 ? -1 : ox_in_t(c, nd, 1);
    if (b < 0)
        return -1;
    int in[2] = {a, b};
    if (binary_ops[i].bin == BB_BIN_ADD && ox_is_act(c, nd->in[0]) && ox_is_act(c, nd->in[1]) &&
        ox_same_shape(c, nd->in[0], nd->in[1]) && ox_same_shape(c, nd->in[0], nd->out[0]))
        return ox_op(c, nd, BB_OP_ADD, in, 2, nd->out[0]) ? 0 : -1; /* a residual: fusable */
    bb_op *op = ox_op(c, nd, BB_OP_BINARY, in, 2, nd->out[0]);
    if (!op)
        return -1;
    op->binop = binary_ops[i].bin;
    return 0;
}

/* ---- conv, gemm, matmul ---------------------------------------------------------- */

void ox_set_window(bb_op *op, const bb_ox_win *w)
{
    op->kh = (int)w->kh, op->kw = (int)w->kw, op->sh = (int)w->sh, op->sw = (int)w->sw;
    op->pad_t = (int)w->pad_t, op->pad_l = (int)w->pad_l, op->pad_b = (int)w->pad_b, op->pad_r = (int)w->pad_r;
    op->dil_h = (int)w->dil_h, op->dil_w = (int)w->dil_w;
    op->k = op->kh, op->stride = op->sh, op->pad = op->pad_t; /* whole only when bb_window_square */
    op->count_include_pad = w->count_include_pad;
}

static int window_of(ox_ctx *c, const bb_ox_node *nd, const int64_t *wdims, bb_ox_win *w)
{
    const bb_ox_val *x = nd->n_in > 0 && nd->in[0] >= 0 ? &c->v2[nd->in[0]] : NULL;
    if (!x || (x->ndim != 4 && x->ndim != 3))
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs 2-D windows on [N,C,H,W] inputs (and 1-D ones "
                              "on [N,C,L]) only");
    if ((x->ndim == 3 ? bb_ox_window_1d(c->m, nd, x->dims, wdims, w, c->err)
                      : bb_ox_window(c->m, nd, x->dims, wdims, w, c->err)) != 0)
        return -1;
    return ox_window_fits(c, nd, w);
}

/* Every size of a window (2-D or 3-D) fits the graph op's int fields, with
 * room for their sums: 0, or -1 with the node named. */
int ox_window_fits(ox_ctx *c, const bb_ox_node *nd, const bb_ox_win *w)
{
    const int64_t v[] = {w->kd, w->kh, w->kw, w->sd, w->sh, w->sw, w->dil_d, w->dil_h, w->dil_w,
                         w->pad_f, w->pad_k, w->pad_t, w->pad_b, w->pad_l, w->pad_r};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i] > 1 << 20)
            return bb_ox_node_err(c->err, c->m, nd, "window too large");
    return 0;
}

/* What a pool of either rank refuses: a MaxPool whose indices output is
 * read; ceil_mode's extra padding in an average pool that counts padding. */
int ox_pool_refused(ox_ctx *c, const bb_ox_node *nd, const bb_ox_win *w)
{
    int avg = !strcmp(nd->op_type, "AveragePool");
    if (!avg && nd->n_out > 1 && nd->out[1] >= 0 && c->readers[nd->out[1]])
        return bb_ox_node_err(c->err, c->m, nd, "its indices output is read (not supported)");
    if (avg && w->count_include_pad && (w->ceil_extra_k || w->ceil_extra_b || w->ceil_extra_r))
        return bb_ox_node_err(c->err, c->m, nd, "ceil_mode with count_include_pad is not supported");
    return 0;
}

/* A 1-D window runs as the 2-D one of height 1: its input [C,L] viewed as
 * [C,1,L], its output [M,1,L'] (*y, to be reshaped to the node's) as [M,L']. */
static int views_1d(ox_ctx *c, const bb_ox_node *nd, const bb_ox_win *win, int *x, int *y)
{
    const bb_tensor xt = c->g->tensors[*x];
    if (xt.full_rank || xt.ndim != 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs a 1-D window on [N,C,L]");
    int64_t in3[3] = {xt.dims[0], 1, xt.dims[1]}, out3[3] = {win->out_c, 1, win->out_w};
    int x3 = bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, in3);
    ox_op_into(c, nd, BB_OP_RESHAPE, *x, x3);
    *x = x3;
    *y = bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, out3);
    return 0;
}

/* A 1-D conv: views_1d, and its weight viewed as [M,C/group,1,k]. */
static int conv1d_views(ox_ctx *c, const bb_ox_node *nd, const bb_ox_val *w, const bb_ox_win *win, int *x, int *wt,
                        int *y)
{
    int64_t w4[4] = {w->dims[0], w->dims[1], 1, w->dims[2]};
    if (views_1d(c, nd, win, x, y) != 0)
        return -1;
    *wt = ox_const_tensor(c, ox_value_name(c, nd, 1), BB_T_PARAM, 4, w4, w->data);
    return *wt < 0 ? -1 : 0;
}

static int lower_conv(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *w = x < 0 ? NULL : ox_in_static(c, nd, 1, "weight");
    if (!w)
        return -1;
    if (w->ndim == 5)
        return ox_lower_conv3d(c, nd, x, w);
    bb_ox_win win;
    int conv1d = w->ndim == 3, y = -1;
    if ((w->ndim != 4 && !conv1d) || window_of(c, nd, w->dims, &win) != 0)
        return w->ndim != 4 && !conv1d ? bb_ox_node_err(c->err, c->m, nd, "weight must be [M, C/group, kh, kw]")
                                       : -1;
    int wt = -1;
    if (conv1d ? conv1d_views(c, nd, w, &win, &x, &wt, &y) != 0 : (wt = ox_tensor(c, nd, nd->in[1])) < 0)
        return -1;
    int bt = nd->n_in > 2 && nd->in[2] >= 0 ? ox_param_1d(c, nd, 2, w->dims[0], BB_T_PARAM, "bias") : -1;
    if (nd->n_in > 2 && nd->in[2] >= 0 && bt < 0)
        return -1;
    bb_op *op = conv1d ? ox_op_into(c, nd, BB_OP_CONV, x, y) : ox_op(c, nd, BB_OP_CONV, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    op->w = wt, op->b = bt, op->groups = (int)win.group;
    ox_set_window(op, &win);
    return conv1d ? (ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1) : 0;
}

/* A linear op y = x W^T + b with W [O,K] given as rows (wt = 1: as [K,O]). */
/* The [O, K] weight tensor of a linear from wdata ([K, O] when wt_kxo),
 * times alpha: made once per constant and way, then shared. */
static int linear_weight(ox_ctx *c, const bb_ox_node *nd, const float *wdata, int64_t k, int64_t o, int wt_kxo,
                         float alpha)
{
    for (int i = 0; i < c->n_lin_w; i++) {
        const ox_linear_w *l = &c->lin_w[i];
        if (l->data == wdata && l->k == k && l->o == o && l->wt_kxo == wt_kxo && l->alpha == alpha)
            return l->tensor;
    }
    float *w = malloc(sizeof(float) * (size_t)(k * o));
    if (!w)
        return bb_err_oom(c->err, "%s: out of memory", c->m->path);
    for (int64_t r = 0; r < o; r++)
        for (int64_t j = 0; j < k; j++)
            w[r * k + j] = alpha * (wt_kxo ? wdata[j * o + r] : wdata[r * k + j]);
    int64_t wd[2] = {o, k};
    int wi = ox_const_tensor(c, ox_value_name(c, nd, 1), BB_T_PARAM, 2, wd, w);
    free(w);
    if (wi >= 0) {
        c->lin_w = bb_grow(c->lin_w, &c->cap_lin_w, c->n_lin_w + 1, sizeof *c->lin_w);
        c->lin_w[c->n_lin_w++] = (ox_linear_w){wdata, k, o, wt_kxo, alpha, wi};
    }
    return wi;
}

/* x (alpha W)^T + beta bias into value out_v, or into graph tensor y when
 * out_v < 0. */
static int emit_linear_to(ox_ctx *c, const bb_ox_node *nd, int x, const float *wdata, int64_t k, int64_t o,
                          int wt_kxo, float alpha, const float *bias, float beta, int out_v, int y)
{
    int wi = linear_weight(c, nd, wdata, k, o, wt_kxo, alpha);
    int bi = -1;
    if (wi >= 0 && bias) {
        bi = ox_const_tensor(c, "bias", BB_T_PARAM, 1, &o, bias);
        for (int64_t r = 0; bi >= 0 && r < o; r++)
            c->g->tensors[bi].data[r] *= beta;
    }
    bb_op *op = wi < 0 || (bias && bi < 0) ? NULL
                : out_v >= 0                ? ox_op(c, nd, BB_OP_LINEAR, &x, 1, out_v)
                                            : ox_op_into(c, nd, BB_OP_LINEAR, x, y);
    if (!op)
        return -1;
    op->w = wi, op->b = bi;
    return 0;
}

static int emit_linear(ox_ctx *c, const bb_ox_node *nd, int x, const float *wdata, int64_t k, int64_t o,
                       int wt_kxo, float alpha, const float *bias, float beta, int out_v)
{
    return emit_linear_to(c, nd, x, wdata, k, o, wt_kxo, alpha, bias, beta, out_v, -1);
}

int ox_linear_into(ox_ctx *c, const bb_ox_node *nd, int x, const float *w, int64_t k, int64_t o, const float *bias,
                   int y)
{
    return emit_linear_to(c, nd, x, w, k, o, 0, 1.f, bias, 1.f, -1, y);
}

static int lower_gemm(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *b = x < 0 ? NULL : ox_in_static(c, nd, 1, "B");
    if (!b || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    if (p.trans_a || b->ndim != 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs Gemm with transA = 0 and a 2-D constant B");
    int64_t k = p.trans_b ? b->dims[1] : b->dims[0], o = p.trans_b ? b->dims[0] : b->dims[1];
    const bb_ox_val *bias = NULL;
    if (nd->n_in > 2 && nd->in[2] >= 0) {
        if (!(bias = ox_in_static(c, nd, 2, "C")))
            return -1;
        if (bias->numel != o)
            return bb_ox_node_err(c->err, c->m, nd, "C has %lld elements; batchbench adds a bias of %lld",
                                  (long long)bias->numel, (long long)o);
    }
    return emit_linear(c, nd, x, b->data, k, o, !p.trans_b, p.alpha, bias ? bias->data : NULL, p.beta,
                       nd->out[0]);
}

int ox_lower_matmul_bias(ox_ctx *c, const bb_ox_node *nd, const bb_ox_val *bias, int out_v)
{
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *b = x < 0 ? NULL : &c->v2[nd->in[1]];
    if (!b)
        return -1;
    return emit_linear(c, nd, x, b->data, b->dims[0], b->dims[1], 1, 1.f, bias ? bias->data : NULL, 1.f, out_v);
}

static int lower_matmul(ox_ctx *c, const bb_ox_node *nd)
{
    if (nd->n_in == 2 && ox_is_act(c, nd->in[0]) && ox_is_static(c, nd->in[1]) &&
        c->v2[nd->in[1]].dtype == BB_OX_F32 && c->v2[nd->in[1]].ndim == 2 && c->v2[nd->in[0]].ndim >= 2)
        return ox_lower_matmul_bias(c, nd, NULL, nd->out[0]);
    int a = ox_in_t(c, nd, 0), b = a < 0 ? -1 : ox_in_t(c, nd, 1);
    if (b < 0)
        return -1;
    if (c->v2[nd->in[0]].ndim < 2 || c->v2[nd->in[1]].ndim < 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs MatMul on operands of 2 or more dims");
    int in[2] = {a, b};
    return ox_op(c, nd, BB_OP_MATMUL, in, 2, nd->out[0]) ? 0 : -1;
}

/* ---- normalisation and pools ------------------------------------------------------- */

/* a * b (b a tensor, or a scalar constant) into a new tensor like a. */
static int times(ox_ctx *c, const bb_ox_node *nd, int a, int b)
{
    int z = act_reduced(c, a, 0);
    bb_op *op = bb_graph_add_op(c->g, BB_OP_BINARY, nd->name);
    op->n_in = 2, op->in[0] = a, op->in[1] = b, op->out = z, op->binop = BB_BIN_MUL;
    return z;
}

float *ox_bn_scale_shift(const float *p[4], int64_t ch, float eps)
{
    float *st = malloc(sizeof(float) * (size_t)(2 * ch));
    for (int64_t i = 0; st && i < ch; i++) {
        double s, t;
        bb_bn_channel(p[0], p[1], p[2], p[3], eps, i, &s, &t);
        st[i] = (float)s, st[ch + i] = (float)t;
    }
    return st;
}

/* A BatchNormalization whose channels are not the zoo's axis after the
 * batch (LeViT's BatchNorm1d on tokens flattened with the batch, [N*L, C]):
 * x * s + t, s = scale / sqrt(var + eps) and t = bias - mean * s in
 * double, constants of shape [C, 1, ...] broadcasting on axis 1. */
static int lower_batchnorm_affine(ox_ctx *c, const bb_ox_node *nd, int x, float eps)
{
    const bb_ox_val *xv = &c->v2[nd->in[0]];
    if (xv->ndim < 2 || c->v3[nd->in[0]].dims[1] != xv->dims[1])
        return bb_ox_node_err(c->err, c->m, nd, "BatchNormalization's channels (axis 1) scale with the batch");
    const int64_t ch = xv->dims[1];
    const char *what[4] = {"scale", "bias", "mean", "var"};
    const float *v[4];
    for (int k = 0; k < 4; k++) {
        const bb_ox_val *pv = ox_in_static(c, nd, k + 1, what[k]);
        if (!pv)
            return -1;
        if (pv->numel != ch)
            return bb_ox_node_err(c->err, c->m, nd, "its %s has %lld elements, expected %lld", what[k],
                                  (long long)pv->numel, (long long)ch);
        v[k] = pv->data;
    }
    float *st = ox_bn_scale_shift(v, ch, eps);
    if (!st)
        return bb_err_oom(c->err, "out of memory");
    int64_t d[BB_OX_MAX_DIMS] = {ch, 1, 1, 1, 1, 1, 1, 1};
    int s_t = ox_const_tensor(c, "bn_scale", BB_T_BUFFER, xv->ndim - 1, d, st);
    int t_t = s_t < 0 ? -1 : ox_const_tensor(c, "bn_shift", BB_T_BUFFER, xv->ndim - 1, d, st + ch);
    free(st);
    if (t_t < 0)
        return -1;
    c->g->params_adjust += 2 * ch; /* its scale and bias: the per-channel lowering counts them */
    int in[2] = {times(c, nd, x, s_t), t_t};
    bb_op *op = ox_op(c, nd, BB_OP_BINARY, in, 2, nd->out[0]);
    if (op)
        op->binop = BB_BIN_ADD;
    return op ? 0 : -1;
}

static int lower_batchnorm(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    if (c->g->tensors[x].full_rank || c->g->tensors[x].ndim < 1)
        return lower_batchnorm_affine(c, nd, x, p.epsilon);
    int64_t ch = c->g->tensors[x].dims[0];
    int w = ox_param_1d(c, nd, 1, ch, BB_T_PARAM, "scale");
    int b = w < 0 ? -1 : ox_param_1d(c, nd, 2, ch, BB_T_PARAM, "bias");
    int mean = b < 0 ? -1 : ox_param_1d(c, nd, 3, ch, BB_T_BUFFER, "mean");
    int var = mean < 0 ? -1 : ox_param_1d(c, nd, 4, ch, BB_T_BUFFER, "var");
    bb_op *op = var < 0 ? NULL : ox_op(c, nd, BB_OP_BATCHNORM, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    op->w = w, op->b = b, op->aux[0] = mean, op->aux[1] = var, op->eps = p.epsilon;
    return 0;
}

static int lower_pool(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    bb_ox_win win;
    if (x >= 0 && c->v2[nd->in[0]].ndim == 5)
        return ox_lower_pool3d(c, nd, x);
    if (x < 0 || window_of(c, nd, NULL, &win) != 0 || ox_pool_refused(c, nd, &win) != 0)
        return -1;
    const int avg = !strcmp(nd->op_type, "AveragePool"), pool1d = c->v2[nd->in[0]].ndim == 3;
    int y = -1;
    if (pool1d && views_1d(c, nd, &win, &x, &y) != 0)
        return -1;
    const bb_op_type type = avg ? BB_OP_AVGPOOL : BB_OP_MAXPOOL;
    bb_op *op = pool1d ? ox_op_into(c, nd, type, x, y) : ox_op(c, nd, type, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    ox_set_window(op, &win);
    return pool1d ? (ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1) : 0;
}

static int lower_gap(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    if (x < 0)
        return -1;
    const bb_tensor *xt = &c->g->tensors[x];
    if (xt->full_rank || xt->ndim < 2)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench pools [N,C,...] inputs of 1 to %d spatial axes only",
                              BB_MAX_DIMS - 1);
    int64_t ch = xt->dims[0];
    if (xt->ndim != 3) { /* [C, S...] viewed as [C, S..., 1] or [C, S0*S1*..., last] */
        int64_t v[3] = {ch, 1, xt->dims[xt->ndim - 1]};
        for (int k = 1; k < xt->ndim - 1; k++)
            v[1] *= xt->dims[k];
        int xv = bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, v);
        ox_op_into(c, nd, BB_OP_RESHAPE, x, xv);
        x = xv;
    }
    int y = bb_graph_add_tensor(c->g, "", BB_T_ACT, 1, &ch);
    bb_op *op = bb_graph_add_op(c->g, BB_OP_GAP, nd->name);
    op->n_in = 1, op->in[0] = x, op->out = y;
    return ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
}

/* Whether a reduction over `mask` sums across items (the reduced axes'
 * sizes change with the batch: the batch axis is in the mask). */
static int over_batch(const ox_ctx *c, const bb_ox_node *nd, unsigned mask)
{
    const bb_ox_val *a = &c->v2[nd->in[0]], *b = &c->v3[nd->in[0]];
    for (int i = 0; i < a->ndim; i++)
        if ((mask & (1u << i)) && a->dims[i] != b->dims[i])
            return 1;
    return 0;
}

/* ReduceMean and ReduceSum, and the sums of something: ReduceL2 (the
 * square root of the sum of x * x), ReduceSumSquare, ReduceL1 (of |x|) and
 * ReduceLogSum (the log of the sum): both backends' one reduction serves
 * them all. */
static int lower_reduce(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_axes ax;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_axes_get(c->m, nd, c->v2, &ax, c->err) != 0)
        return -1;
    unsigned mask = 0;
    for (int i = 0; i < ax.n; i++)
        mask |= 1u << ax.axes[i];
    const char *kind = nd->op_type + 6; /* after "Reduce" */
    int mean = !strcmp(kind, "Mean"), l2 = !strcmp(kind, "L2"), square = l2 || !strcmp(kind, "SumSquare");
    int l1 = !strcmp(kind, "L1"), logsum = !strcmp(kind, "LogSum");
    const bb_tensor *xt = &c->g->tensors[x];
    if (mean && !xt->full_rank && xt->ndim == 3 && mask == (1u << 2 | 1u << 3))
        return lower_gap(c, nd); /* x.mean([2, 3]) is a global average pool */
    if (!mean && over_batch(c, nd, mask))
        return bb_ox_node_err(c->err, c->m, nd, "reduces over the batch axis (not supported)");
    if (!square && !l1 && !logsum && ax.keepdims) {
        bb_op *op = ox_op(c, nd, BB_OP_REDUCE_MEAN, &x, 1, nd->out[0]);
        if (op)
            op->axes_mask = mask, op->reduce_sum = !mean;
        return op ? 0 : -1;
    }
    if (square)
        x = times(c, nd, x, x);
    if (l1)
        x = act_of(c, nd, x, BB_ACT_ABS);
    int y = act_reduced(c, x, mask);
    bb_op *op = ox_op_into(c, nd, BB_OP_REDUCE_MEAN, x, y);
    op->axes_mask = mask, op->reduce_sum = !mean;
    if (l2 || logsum)
        y = act_of(c, nd, y, l2 ? BB_ACT_SQRT : BB_ACT_LOG);
    return ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
}

/* ReduceMax over consecutive axes after the batch's (CBAM's max over the
 * channels, a softmax written out op by op) and GlobalMaxPool: the item
 * seen as [before, reduced, after] and a max pool of reduced x 1 over it,
 * which both backends run, then the output's shape. ReduceMin is the same
 * between two negations. */
static int lower_reduce_max(ox_ctx *c, const bb_ox_node *nd)
{
    int x = ox_in_act(c, nd, 0);
    if (x < 0)
        return -1;
    const bb_ox_val *xv = &c->v2[nd->in[0]];
    unsigned mask = 0;
    if (!strcmp(nd->op_type, "GlobalMaxPool")) {
        for (int a = 2; a < xv->ndim; a++)
            mask |= 1u << a;
    } else {
        bb_ox_axes ax;
        if (bb_ox_axes_get(c->m, nd, c->v2, &ax, c->err) != 0)
            return -1;
        for (int i = 0; i < ax.n; i++)
            mask |= 1u << ax.axes[i];
    }
    if (!mask) /* noop_with_empty_axes: the input itself */
        return alias(c, nd);
    if (c->g->tensors[x].full_rank || (mask & 1u) || over_batch(c, nd, mask))
        return bb_ox_node_err(c->err, c->m, nd, "batchbench takes a max over axes after the batch's only");
    int lo = __builtin_ctz(mask), hi = 31 - __builtin_clz(mask);
    if (mask != ((2u << hi) - (1u << lo)))
        return bb_ox_node_err(c->err, c->m, nd, "batchbench takes a max over consecutive axes only");
    int64_t v3[3] = {1, 1, 1};
    for (int a = 1; a < xv->ndim; a++)
        v3[a < lo ? 0 : a <= hi ? 1 : 2] *= xv->dims[a];
    const int64_t o3[3] = {v3[0], 1, v3[2]};
    int t = bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, v3), min = !strcmp(nd->op_type, "ReduceMin");
    if (min)
        x = act_of(c, nd, x, BB_ACT_NEG);
    ox_op_into(c, nd, BB_OP_RESHAPE, x, t);
    int y = bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, o3);
    ox_set_window(ox_op_into(c, nd, BB_OP_MAXPOOL, t, y),
                  &(bb_ox_win){.kh = v3[1], .kw = 1, .sh = 1, .sw = 1, .dil_h = 1, .dil_w = 1, .group = 1});
    if (min)
        y = act_of(c, nd, y, BB_ACT_NEG);
    return ox_reshape_to(c, nd, y, nd->out[0]) ? 0 : -1;
}

static int lower_softmax(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    bb_op *op = ox_op(c, nd, BB_OP_SOFTMAX, &x, 1, nd->out[0]);
    if (!op)
        return -1;
    op->axis = (int)p.axis;
    op->log_softmax = !strcmp(nd->op_type, "LogSoftmax");
    return 0;
}

/* Shape arithmetic reaching an activation. */
static int refuse(ox_ctx *c, const bb_ox_node *nd)
{
    return bb_ox_node_err(c->err, c->m, nd, "computes an activation with %s (not supported; "
                          "batchbench runs it on constants only)", nd->op_type);
}

/* ---- the table --------------------------------------------------------------------- */

static const struct { const char *op; lower_fn fn; } lowerings[] = {
    {"Conv", lower_conv}, {"Gemm", lower_gemm}, {"MatMul", lower_matmul}, {"LSTM", ox_lower_rnn}, {"GRU", ox_lower_rnn},
    {"ConvTranspose", ox_lower_convtranspose}, {"DepthToSpace", ox_lower_depthspace},
    {"SpaceToDepth", ox_lower_depthspace},
    {"Relu", lower_unary}, {"Sigmoid", lower_unary}, {"Tanh", lower_unary}, {"HardSwish", lower_unary},
    {"Erf", lower_unary}, {"Sqrt", lower_unary}, {"Exp", lower_unary}, {"Abs", lower_unary},
    {"Neg", lower_unary}, {"Reciprocal", lower_unary}, {"Softplus", lower_unary}, {"Softsign", lower_unary},
    {"Mish", lower_unary}, {"Log", lower_unary},
    {"Clip", lower_param_act}, {"HardSigmoid", lower_param_act}, {"LeakyRelu", lower_param_act},
    {"Elu", lower_param_act}, {"Selu", lower_param_act}, {"Celu", lower_param_act},
    {"ThresholdedRelu", lower_param_act}, {"Gelu", lower_param_act}, {"PRelu", lower_binary},
    {"Add", lower_binary}, {"Sub", lower_binary}, {"Mul", lower_binary}, {"Div", lower_binary},
    {"Pow", lower_binary}, {"Max", lower_binary}, {"Min", lower_binary}, {"Sum", lower_binary},
    {"Mean", lower_binary},
    {"BatchNormalization", lower_batchnorm}, {"LayerNormalization", ox_lower_layernorm},
    {"MaxPool", lower_pool}, {"AveragePool", lower_pool}, {"GlobalAveragePool", lower_gap},
    {"GlobalMaxPool", lower_reduce_max}, {"ReduceMax", lower_reduce_max}, {"ReduceMin", lower_reduce_max},
    {"InstanceNormalization", ox_lower_instancenorm}, {"GroupNormalization", ox_lower_groupnorm}, {"LRN", ox_lower_lrn},
    {"ReduceMean", lower_reduce}, {"ReduceSum", lower_reduce}, {"ReduceL2", lower_reduce},
    {"ReduceL1", lower_reduce}, {"ReduceSumSquare", lower_reduce}, {"ReduceLogSum", lower_reduce},
    {"Softmax", lower_softmax}, {"LogSoftmax", lower_softmax}, {"Resize", ox_lower_resize},
    {"Upsample", ox_lower_resize}, {"Einsum", ox_lower_einsum},
    {"Flatten", ox_lower_reshape}, {"Reshape", ox_lower_reshape}, {"Squeeze", ox_lower_reshape},
    {"Unsqueeze", ox_lower_reshape}, {"Transpose", ox_lower_transpose}, {"Concat", ox_lower_concat},
    {"Split", ox_lower_split}, {"Slice", ox_lower_slice}, {"Gather", ox_lower_gather}, {"Pad", ox_lower_pad},
    {"Expand", ox_lower_expand}, {"Identity", alias}, {"Dropout", alias}, {"Cast", alias}, {"CastLike", alias},
    /* shape arithmetic: folded by the evaluation, never lowered */
    {"Shape", refuse}, {"Size", refuse}, {"Constant", refuse}, {"ConstantOfShape", refuse},
    {"Range", refuse}, {"Equal", refuse}, {"Less", refuse}, {"Greater", refuse}, {"Not", refuse},
    {"And", refuse}, {"Or", refuse}, {"Where", refuse}, {"Mod", refuse}, {"Floor", refuse},
    {"Ceil", refuse}, {"ScatterND", ox_lower_scatternd}, {"Tile", ox_lower_tile}, {"Sin", refuse}, {"Cos", refuse},
    {"CumSum", refuse}, {"ReduceProd", refuse}, {"LessOrEqual", refuse}, {"GreaterOrEqual", refuse},
    {"Xor", refuse},
};

static lower_fn find(const char *op_type)
{
    for (size_t i = 0; i < sizeof lowerings / sizeof lowerings[0]; i++)
        if (!strcmp(op_type, lowerings[i].op))
            return lowerings[i].fn;
    return NULL;
}

int ox_op_known(const char *op_type)
{
    return find(op_type) != NULL;
}

int ox_lower_node(ox_ctx *c, int i)
{
    const bb_ox_node *nd = &c->m->nodes[i];
    lower_fn fn = find(nd->op_type);
    if (!fn)
        return bb_ox_node_err(c->err, c->m, nd, "unsupported op");
    c->done[i] = 1;
    return fn(c, nd);
}

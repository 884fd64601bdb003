/*
 * onnx_lower_lrn.c — ONNX LRN, the local response normalisation across
 * channels of AlexNet, GoogLeNet and the other Caffe-era models of the ONNX
 * model zoo, lowered to ops the engine already has, so that it runs on every
 * backend:
 *
 *   y = x * (bias + alpha * mean(x^2 over size channels))^-beta
 *
 * The window holds floor((size-1)/2) channels before c and ceil((size-1)/2)
 * after it; channels past either end count as zeros, and the mean divides
 * by size (ONNX's alpha / size * sum). It is taken by an average pool with
 * a size x 1 window, its padding counted, over x^2 seen as [1, C, H*W].
 */
#include "onnx/onnx_params.h"

#include "onnx/onnx_import_internal.h"

static int act3(ox_ctx *c, const int64_t *d)
{
    return bb_graph_add_tensor(c->g, "", BB_T_ACT, 3, d);
}

/* a op b into a new activation of per-item dims d. */
static int binary(ox_ctx *c, const bb_ox_node *nd, bb_binop binop, int a, int b, const int64_t *d)
{
    int y = act3(c, d);
    bb_op *op = bb_graph_add_op(c->g, BB_OP_BINARY, nd->name);
    op->n_in = 2, op->in[0] = a, op->in[1] = b, op->out = y, op->binop = binop;
    return y;
}

static int scalar(ox_ctx *c, const char *name, float v)
{
    const int64_t one = 1;
    return ox_const_tensor(c, name, BB_T_BUFFER, 1, &one, &v);
}

int ox_lower_lrn(ox_ctx *c, const bb_ox_node *nd)
{
    bb_ox_params p;
    int x = ox_in_act(c, nd, 0);
    if (x < 0 || bb_ox_params_get(c->m, nd, c->v2, &p, c->err) != 0)
        return -1;
    const bb_tensor *xt = &c->g->tensors[x];
    if (xt->full_rank || xt->ndim != 3)
        return bb_ox_node_err(c->err, c->m, nd, "batchbench runs LRN on [N,C,H,W] only");
    const int64_t d[3] = {xt->dims[0], xt->dims[1], xt->dims[2]}, flat[3] = {1, d[0], d[1] * d[2]};
    int alpha = scalar(c, "lrn_alpha", p.alpha), bias = alpha < 0 ? -1 : scalar(c, "lrn_bias", p.lrn_bias);
    int power = bias < 0 ? -1 : scalar(c, "lrn_power", -p.beta);
    if (power < 0)
        return -1;
    int sq = binary(c, nd, BB_BIN_MUL, x, x, d), rows = act3(c, flat), mean = act3(c, flat), back = act3(c, d);
    ox_op_into(c, nd, BB_OP_RESHAPE, sq, rows);
    bb_op *pool = ox_op_into(c, nd, BB_OP_AVGPOOL, rows, mean);
    const int64_t before = (p.lrn_size - 1) / 2;
    ox_set_window(pool, &(bb_ox_win){.kh = p.lrn_size, .kw = 1, .sh = 1, .sw = 1, .pad_t = before,
                                     .pad_b = p.lrn_size - 1 - before, .dil_h = 1, .dil_w = 1, .group = 1,
                                     .count_include_pad = 1});
    ox_op_into(c, nd, BB_OP_RESHAPE, mean, back);
    int scale = binary(c, nd, BB_BIN_POW, binary(c, nd, BB_BIN_ADD, binary(c, nd, BB_BIN_MUL, back, alpha, d), bias, d),
                       power, d);
    int in[2] = {x, scale};
    bb_op *op = ox_op(c, nd, BB_OP_BINARY, in, 2, nd->out[0]);
    if (!op)
        return -1;
    op->binop = BB_BIN_MUL;
    return 0;
}

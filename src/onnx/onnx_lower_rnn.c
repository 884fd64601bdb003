/*
 * onnx_lower_rnn.c — an LSTM or GRU direction, as onnx_rnn.c writes the
 * common ones out at import (one node per direction: forward or reverse,
 * layout 1, no initial state or clip, Y alone; an LSTM without peepholes,
 * a GRU with linear_before_reset), lowered to two graph ops: a linear for
 * every step's input gates at once (X W^T plus the biases that add to it,
 * [B, S, G*H]) and the recurrence (BB_OP_LSTM or BB_OP_GRU, R [G*H, H]),
 * which each backend runs as one kernel over the sequence.
 *
 * Why a file: the lowering checks the node is that form (any other is
 * written out step by step before it gets here) and builds the linear's
 * output tensor itself, which no ONNX value names.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

/* Whether nd is the one form lowered here. */
static int lowered_form(const bb_ox_node *nd, int gru)
{
    const bb_ox_attr *dir = bb_ox_attr_find(nd, "direction");
    int ok = dir && dir->type == BB_OX_ATTR_STRING && (!strcmp(dir->s, "forward") || !strcmp(dir->s, "reverse"));
    ok = ok && bb_ox_attr_int(nd, "layout", 0) == 1 && bb_ox_attr_int(nd, "input_forget", 0) == 0 &&
         bb_ox_attr_int(nd, "linear_before_reset", 0) == gru;
    static const char *const absent[] = {"clip", "activations", "activation_alpha", "activation_beta"};
    for (size_t i = 0; ok && i < sizeof absent / sizeof *absent; i++)
        ok = !bb_ox_attr_find(nd, absent[i]);
    for (int k = 4; ok && k < nd->n_in; k++)
        ok = nd->in[k] < 0;
    for (int k = 1; ok && k < nd->n_out; k++)
        ok = nd->out[k] < 0;
    return ok;
}

/* The biases added to X W^T ([G*H], malloc'ed; NULL without B, or with err
 * set when out of memory): W's, plus R's of every gate but a GRU's h (its
 * R bias is added to H R_h^T, inside the reset gate's product). */
static float *input_bias(ox_ctx *c, const bb_ox_val *b, int64_t gh, int64_t h, int gru)
{
    float *bias = b ? malloc(sizeof(float) * (size_t)gh) : NULL;
    if (b && !bias)
        bb_err_oom(c->err, "%s: out of memory", c->m->path);
    for (int64_t j = 0; bias && j < gh; j++)
        bias[j] = ((const float *)b->data)[j] + (gru && j >= 2 * h ? 0.f : ((const float *)b->data)[gh + j]);
    return bias;
}

int ox_lower_rnn(ox_ctx *c, const bb_ox_node *nd)
{
    const int gru = !strcmp(nd->op_type, "GRU");
    if (!lowered_form(nd, gru))
        return bb_ox_node_err(c->err, c->m, nd, "is a form batchbench lowers only written out step by step (%s)",
                              gru ? "one direction, batch first, no initial state or clip, linear_before_reset, Y alone"
                                  : "one direction, batch first, no initial state, peepholes or clip, Y alone");
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *w = x < 0 ? NULL : ox_in_static(c, nd, 1, "W");
    const bb_ox_val *r = w ? ox_in_static(c, nd, 2, "R") : NULL;
    const bb_ox_val *b = r && nd->n_in > 3 && nd->in[3] >= 0 ? ox_in_static(c, nd, 3, "B") : NULL;
    if (!r || (nd->n_in > 3 && nd->in[3] >= 0 && !b))
        return -1;
    const int64_t h = r->dims[2], gh = (gru ? 3 : 4) * h, in_size = w->dims[2], rdims[2] = {gh, h};
    if (w->ndim != 3 || r->ndim != 3 || w->dims[0] != 1 || r->dims[0] != 1 || w->dims[1] != gh ||
        r->dims[1] != gh || (b && b->numel != 2 * gh))
        return bb_ox_node_err(c->err, c->m, nd, "its W, R and B are not one direction's of hidden size %lld",
                              (long long)h);
    float *bias = input_bias(c, b, gh, h, gru);
    if (b && !bias)
        return -1;
    bb_tensor t = c->g->tensors[x]; /* copied: adding a tensor may move them */
    t.dims[t.ndim - 1] = gh;
    int xw = bb_graph_add_tensor(c->g, "", BB_T_ACT, t.ndim, t.dims);
    c->g->tensors[xw].full_rank = t.full_rank, c->g->tensors[xw].batch_axis = t.batch_axis;
    int rc = ox_linear_into(c, nd, x, w->data, in_size, gh, bias, xw);
    free(bias);
    int rt = rc != 0 ? -1 : ox_const_tensor(c, ox_value_name(c, nd, 2), BB_T_PARAM, 2, rdims, r->data);
    const float *rbh = b ? (const float *)b->data + gh + 2 * h : NULL; /* a GRU's R bias of h */
    int rb = rt < 0 || !gru || !b ? -1 : ox_const_tensor(c, "R bias h", BB_T_PARAM, 1, &h, rbh);
    bb_op *op = rt < 0 || (gru && b && rb < 0) ? NULL
                                               : ox_op(c, nd, gru ? BB_OP_GRU : BB_OP_LSTM, &xw, 1, nd->out[0]);
    if (!op)
        return -1;
    op->w = rt, op->b = rb;
    op->reverse = !strcmp(bb_ox_attr_find(nd, "direction")->s, "reverse");
    return 0;
}

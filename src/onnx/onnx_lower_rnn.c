/*
 * onnx_lower_rnn.c — an LSTM direction, as onnx_rnn.c writes the common
 * LSTM out at import (one node per direction: forward or reverse, layout
 * 1, no initial state, peepholes or clip, Y alone), lowered to two graph
 * ops: a linear for every step's input gates at once (X W^T + W's and R's
 * biases, [B, S, 4H]) and the recurrence (BB_OP_LSTM, R [4H, H]), which
 * each backend runs as one kernel over the sequence.
 *
 * Why a file: the lowering checks the node is that form (any other LSTM is
 * written out step by step before it gets here) and builds the linear's
 * output tensor itself, which no ONNX value names.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

/* Whether nd is the one form of LSTM lowered here. */
static int lowered_form(const bb_ox_node *nd)
{
    const bb_ox_attr *dir = bb_ox_attr_find(nd, "direction");
    int ok = dir && dir->type == BB_OX_ATTR_STRING && (!strcmp(dir->s, "forward") || !strcmp(dir->s, "reverse"));
    ok = ok && bb_ox_attr_int(nd, "layout", 0) == 1 && bb_ox_attr_int(nd, "input_forget", 0) == 0;
    static const char *const absent[] = {"clip", "activations", "activation_alpha", "activation_beta"};
    for (size_t i = 0; ok && i < sizeof absent / sizeof *absent; i++)
        ok = !bb_ox_attr_find(nd, absent[i]);
    for (int k = 4; ok && k < nd->n_in; k++)
        ok = nd->in[k] < 0;
    for (int k = 1; ok && k < nd->n_out; k++)
        ok = nd->out[k] < 0;
    return ok;
}

int ox_lower_lstm(ox_ctx *c, const bb_ox_node *nd)
{
    if (!lowered_form(nd))
        return bb_ox_node_err(c->err, c->m, nd, "is an LSTM of a form batchbench lowers only written out step by "
                              "step (%s)", "one direction, batch first, no initial state, peepholes or clip, Y alone");
    int x = ox_in_act(c, nd, 0);
    const bb_ox_val *w = x < 0 ? NULL : ox_in_static(c, nd, 1, "W");
    const bb_ox_val *r = w ? ox_in_static(c, nd, 2, "R") : NULL;
    const bb_ox_val *b = r && nd->n_in > 3 && nd->in[3] >= 0 ? ox_in_static(c, nd, 3, "B") : NULL;
    if (!r || (nd->n_in > 3 && nd->in[3] >= 0 && !b))
        return -1;
    const int64_t h = r->dims[2], g4 = 4 * h, in_size = w->dims[2], rdims[2] = {g4, h};
    if (w->ndim != 3 || r->ndim != 3 || w->dims[0] != 1 || r->dims[0] != 1 || w->dims[1] != g4 ||
        r->dims[1] != g4 || (b && b->numel != 2 * g4))
        return bb_ox_node_err(c->err, c->m, nd, "its W, R and B are not one direction's of hidden size %lld",
                              (long long)h);
    float *bias = b ? malloc(sizeof(float) * (size_t)g4) : NULL;
    if (b && !bias)
        return bb_err_oom(c->err, "%s: out of memory", c->m->path);
    for (int64_t j = 0; bias && j < g4; j++)
        bias[j] = ((const float *)b->data)[j] + ((const float *)b->data)[g4 + j];
    bb_tensor t = c->g->tensors[x]; /* copied: adding a tensor may move them */
    t.dims[t.ndim - 1] = g4;
    int xw = bb_graph_add_tensor(c->g, "", BB_T_ACT, t.ndim, t.dims);
    c->g->tensors[xw].full_rank = t.full_rank, c->g->tensors[xw].batch_axis = t.batch_axis;
    int rc = ox_linear_into(c, nd, x, w->data, in_size, g4, bias, xw);
    free(bias);
    int rt = rc != 0 ? -1 : ox_const_tensor(c, ox_value_name(c, nd, 2), BB_T_PARAM, 2, rdims, r->data);
    bb_op *op = rt < 0 ? NULL : ox_op(c, nd, BB_OP_LSTM, &xw, 1, nd->out[0]);
    if (!op)
        return -1;
    op->w = rt;
    op->reverse = !strcmp(bb_ox_attr_find(nd, "direction")->s, "reverse");
    return 0;
}

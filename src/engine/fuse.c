/* fuse.c — the fusion pass and BatchNorm folding (see fuse.h). */
#include "engine/fuse.h"

#include <math.h>
#include <string.h>

static int reads(const bb_op *op, int t)
{
    for (int i = 0; i < op->n_in; i++)
        if (op->in[i] == t)
            return 1;
    return op->sum_in == t;
}

int bb_producer(const bb_graph *g, int t)
{
    for (int i = 0; i < g->n_ops; i++)
        if (g->ops[i].out == t)
            return i;
    return -1;
}

int bb_last_reader(const bb_graph *g, int t)
{
    for (int i = g->n_ops - 1; i >= 0; i--)
        if (reads(&g->ops[i], t))
            return i;
    return -1;
}

int bb_next_reader(const bb_graph *g, int t, int after)
{
    for (int i = after + 1; i < g->n_ops; i++)
        if (reads(&g->ops[i], t))
            return i;
    return -1;
}

/* The only op reading t, or -1 when t has several readers, none, or is the
 * graph's output. */
static int sole_reader(const bb_graph *g, int t)
{
    if (t == g->output)
        return -1;
    int found = -1;
    for (int i = 0; i < g->n_ops; i++)
        if (reads(&g->ops[i], t)) {
            if (found >= 0)
                return -1;
            found = i;
        }
    return found;
}

static void remove_op(bb_graph *g, int i)
{
    memmove(&g->ops[i], &g->ops[i + 1], sizeof(bb_op) * (size_t)(g->n_ops - i - 1));
    g->n_ops--;
}

static int try_bn(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    if (op->type != BB_OP_CONV || op->has_bn || op->post_act || op->sum_in >= 0)
        return 0;
    int r = sole_reader(g, op->out);
    if (r < 0 || g->ops[r].type != BB_OP_BATCHNORM)
        return 0;
    const bb_op *bn = &g->ops[r];
    op->has_bn = 1;
    op->bn_w = bn->w, op->bn_b = bn->b, op->bn_mean = bn->aux[0], op->bn_var = bn->aux[1];
    op->bn_eps = bn->eps;
    op->out = bn->out;
    remove_op(g, r);
    return 1;
}

static int try_act(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    int bn = op->type == BB_OP_BATCHNORM; /* a pre-activation net's BN -> ReLU (DenseNet) */
    if (op->type != BB_OP_CONV && op->type != BB_OP_LINEAR && !bn)
        return 0;
    int r = sole_reader(g, op->out);
    if (r < 0 || g->ops[r].type != BB_OP_ACT || g->ops[r].act > BB_ACT_HARDSWISH) /* only these fuse (graph.h) */
        return 0;
    if (bn && (g->ops[r].act != BB_ACT_RELU || op->post_act))
        return 0;
    if (op->sum_in >= 0) {
        if (op->sum_act)
            return 0;
        op->sum_act = g->ops[r].act;
    } else {
        if (op->post_act)
            return 0;
        op->post_act = g->ops[r].act;
    }
    op->out = g->ops[r].out;
    remove_op(g, r);
    return 1;
}

/* Can the op at index i (producing one input of the add at index a) sum
 * the add's other input r in place? r must exist before op i runs and be
 * read by nothing from op i on, except the add. */
static int can_sum_into(const bb_graph *g, int i, int a, int r)
{
    if (r == g->input || r == g->output)
        return 0;
    int p = bb_producer(g, r);
    if (p < 0 || p >= i)
        return 0;
    for (int j = i; j < g->n_ops; j++)
        if (j != a && reads(&g->ops[j], r))
            return 0;
    return 1;
}

static int try_sum(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    if ((op->type != BB_OP_CONV && op->type != BB_OP_LINEAR) || op->sum_in >= 0)
        return 0;
    int a = sole_reader(g, op->out);
    if (a < 0 || g->ops[a].type != BB_OP_ADD)
        return 0;
    const bb_op *add = &g->ops[a];
    int r = add->in[0] == op->out ? add->in[1] : add->in[0];
    if (r == op->out || !can_sum_into(g, i, a, r))
        return 0;
    op->sum_in = r;
    op->out = add->out;
    remove_op(g, a);
    return 1;
}

int bb_fuse(bb_graph *g)
{
    int removed = 0;
    for (int i = 0; i < g->n_ops; i++)
        while (try_bn(g, i) || try_act(g, i) || try_sum(g, i))
            removed++;
    return removed;
}

void bb_fold_bn(const bb_graph *g, const bb_op *conv, float *w_out, float *b_out)
{
    const bb_tensor *w = &g->tensors[conv->w];
    int64_t oc = w->dims[0], per = bb_tensor_numel(w) / oc;
    for (int64_t o = 0; o < oc; o++) {
        double scale = 1.0, shift = conv->b >= 0 ? g->tensors[conv->b].data[o] : 0.0;
        if (conv->has_bn) {
            double var = g->tensors[conv->bn_var].data[o];
            double gamma = g->tensors[conv->bn_w].data[o];
            scale = gamma / sqrt(var + (double)conv->bn_eps);
            shift = (shift - g->tensors[conv->bn_mean].data[o]) * scale +
                    g->tensors[conv->bn_b].data[o];
        }
        for (int64_t k = 0; k < per; k++)
            w_out[o * per + k] = (float)(w->data[o * per + k] * scale);
        b_out[o] = (float)shift;
    }
}

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

/* A conv or linear absorbs the residual add that reads its output, as an
 * in-place sum. Not after an activation of its own (act(conv) + r, as in
 * HRNet's fuse layers): oneDNN 2.6 runs an eltwise post-op followed by a
 * sum only in its reference code, direct convs of every size tried (1x1,
 * 3x3 stride 2: timm's hrnet_w18_small took 9.7 s per pass at batch 1,
 * 3 convs on ref:any), and the CUDA backend refuses it; the add then runs
 * on its own. */
static int try_sum(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    if ((op->type != BB_OP_CONV && op->type != BB_OP_LINEAR) || op->sum_in >= 0 || op->post_act)
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

/* Point every reader of tensor `from` at tensor `to`. */
static void reroute(bb_graph *g, int from, int to)
{
    for (int j = 0; j < g->n_ops; j++) {
        bb_op *o = &g->ops[j];
        for (int k = 0; k < o->n_in; k++)
            if (o->in[k] == from)
                o->in[k] = to;
        if (o->sum_in == from)
            o->sum_in = to;
    }
}

/* A zero Pad of an image's H and W only: it goes when it pads nothing, or
 * when its only reader is a conv or an average pool with no padding of its
 * own, which then pads instead (a conv pads with zeros; the pool counts its
 * padding, as it counted the Pad's zeros). torch.onnx writes AvgPool2d with
 * count_include_pad as such a pair (densenet121's transitions, inception_v3's
 * pool branches), and the Pad ran as a copy in a plain layout that the
 * convs after it then inherited. */
static int try_pad(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    int64_t d[BB_MAX_DIMS + 1];
    if (op->type != BB_OP_PAD || op->alpha != 0.0f || op->out == g->output)
        return 0;
    int nd = bb_tensor_shape(g, op->in[0], 1, d), zero = 1;
    for (int a = 0; a < nd; a++) {
        if (op->pads[a] < 0 || op->pads[nd + a] < 0 || op->pads[a] > 1 << 20 || op->pads[nd + a] > 1 << 20 ||
            (a < nd - 2 && (op->pads[a] || op->pads[nd + a])))
            return 0;
        zero &= op->pads[a] == 0 && op->pads[nd + a] == 0;
    }
    if (!zero) {
        int r = sole_reader(g, op->out);
        bb_op *rd = r >= 0 ? &g->ops[r] : NULL;
        if (nd != 4 || !rd || rd->in[0] != op->out || rd->sum_in == op->out ||
            (rd->type != BB_OP_CONV && rd->type != BB_OP_AVGPOOL))
            return 0;
        if (rd->type == BB_OP_AVGPOOL) {
            if (rd->pad_t || rd->pad_l || rd->pad_b || rd->pad_r)
                return 0;
            rd->count_include_pad = 1;
        }
        rd->pad_t += (int)op->pads[2], rd->pad_b += (int)op->pads[nd + 2];
        rd->pad_l += (int)op->pads[3], rd->pad_r += (int)op->pads[nd + 3];
        rd->pad = rd->pad_t; /* whole only when bb_window_square */
    }
    reroute(g, op->out, op->in[0]);
    remove_op(g, i);
    return 1;
}

int bb_fuse(bb_graph *g)
{
    int removed = 0;
    for (int i = 0; i < g->n_ops; i++)
        while (try_pad(g, i) || try_bn(g, i) || try_act(g, i) || try_sum(g, i))
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

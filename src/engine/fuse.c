/* fuse.c — the fusion pass and BatchNorm folding (see fuse.h). */
#include "engine/fuse.h"

#include <math.h>
#include <stdlib.h>
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

/* A BatchNorm whose only reader is a conv that pads nothing: the conv
 * takes the BN's input, and bb_fold_bn its scale (per input channel, into
 * the weights) and shift (through the weights, into the bias). Padding
 * would pad the BN's output with zeros, which the folded conv cannot. */
static int try_pre_bn(bb_graph *g, int i)
{
    const bb_op *bn = &g->ops[i];
    if (bn->type != BB_OP_BATCHNORM || bn->post_act || bn->aux[0] < 0 || bn->aux[1] < 0)
        return 0;
    int r = sole_reader(g, bn->out);
    bb_op *conv = r >= 0 ? &g->ops[r] : NULL;
    if (!conv || conv->type != BB_OP_CONV || conv->has_pre_bn || conv->in[0] != bn->out || conv->sum_in == bn->out ||
        conv->pad_t || conv->pad_l || conv->pad_b || conv->pad_r || conv->pad)
        return 0;
    conv->has_pre_bn = 1;
    conv->pre_bn_w = bn->w, conv->pre_bn_b = bn->b, conv->pre_bn_mean = bn->aux[0], conv->pre_bn_var = bn->aux[1];
    conv->pre_bn_eps = bn->eps;
    conv->in[0] = bn->in[0];
    remove_op(g, i);
    return 1;
}

/* A conv window centred on its output pixel: odd, padded by half on each
 * side, no dilation. */
static int centred(const bb_op *c)
{
    return c->kh % 2 && c->kw % 2 && c->pad_t == c->kh / 2 && c->pad_b == c->kh / 2 && c->pad_l == c->kw / 2 &&
           c->pad_r == c->kw / 2 && c->dil_h <= 1 && c->dil_w <= 1;
}

/* A conv that can take a parallel branch: centred, its weights present
 * (merging computes with them), nothing after it fused yet. */
static int branch_conv(const bb_graph *g, const bb_op *c)
{
    const bb_tensor *w = c->type == BB_OP_CONV && c->w >= 0 ? &g->tensors[c->w] : NULL;
    return w && w->ndim == 4 && w->data && c->groups > 0 && centred(c) && !c->post_act && c->sum_in < 0 &&
           !c->bn_first;
}

/* Whether a branch conv's centre taps can take an identity branch: as
 * many outputs as inputs in every group, stride 1 (the centre tap of
 * output channel o then reads input channel o at the same pixel). */
static int identity_conv(const bb_graph *g, const bb_op *c)
{
    const bb_tensor *w = &g->tensors[c->w];
    return branch_conv(g, c) && w->dims[0] == w->dims[1] * c->groups && c->sh == 1 && c->sw == 1 &&
           c->post_scale < 0; /* the identity branch is not scaled */
}

/* Two branch convs of one input into the same channels with the same
 * groups and stride: their sum is one conv whose kernel is the sum of
 * theirs, the smaller centred in the larger. */
static int parallel_convs(const bb_graph *g, const bb_op *a, const bb_op *b)
{
    const bb_tensor *wa = &g->tensors[a->w], *wb = &g->tensors[b->w];
    return a->in[0] == b->in[0] && a->groups == b->groups && a->sh == b->sh && a->sw == b->sw &&
           wa->dims[0] == wb->dims[0] && wa->dims[1] == wb->dims[1];
}

/* The add at index i sums two branches of one input that fold into one
 * conv (MobileOne, RepVGG and RepGhost before reparameterisation, which
 * timm's eval mode keeps): two parallel convs, or a conv and a BatchNorm
 * of its input (an identity branch). 1 with the conv's index in *pc and
 * the other op's in *po, each read only by the add; else 0. try_sum then
 * leaves the add to try_branches. */
static int branch_add(const bb_graph *g, int i, int *pc, int *po)
{
    const bb_op *add = &g->ops[i];
    if (add->type != BB_OP_ADD || add->n_in != 2 || add->post_act || add->in[0] == add->in[1])
        return 0;
    for (int k = 0; k < 2; k++) {
        int c = bb_producer(g, add->in[k]), o = bb_producer(g, add->in[1 - k]);
        if (c < 0 || o < 0 || sole_reader(g, add->in[k]) != i || sole_reader(g, add->in[1 - k]) != i ||
            !branch_conv(g, &g->ops[c]))
            continue;
        const bb_op *x = &g->ops[o];
        int identity = x->type == BB_OP_BATCHNORM && !x->post_act && x->aux[0] >= 0 && x->aux[1] >= 0 &&
                       x->in[0] == g->ops[c].in[0] && identity_conv(g, &g->ops[c]);
        if (identity || (branch_conv(g, x) && parallel_convs(g, &g->ops[c], x))) {
            *pc = c, *po = o;
            return 1;
        }
    }
    return 0;
}

/* Conv b's folded kernel added into a's, both made one conv with new
 * (buffer) tensors: the merged kernel, the smaller window centred in the
 * larger, and the summed bias; a's folded BNs are in them. -1 out of
 * memory. */
static int merge_convs(bb_graph *g, bb_op *a, const bb_op *b)
{
    const int64_t oc = g->tensors[a->w].dims[0], icg = g->tensors[a->w].dims[1];
    const int kh = a->kh > b->kh ? a->kh : b->kh, kw = a->kw > b->kw ? a->kw : b->kw;
    float *w = calloc((size_t)(oc * icg * kh * kw), sizeof *w), *bias = calloc((size_t)oc, sizeof *bias);
    float *fw = malloc(sizeof(float) * (size_t)(oc * icg * kh * kw)), *fb = malloc(sizeof(float) * (size_t)oc);
    if (!w || !bias || !fw || !fb) {
        free(w), free(bias), free(fw), free(fb);
        return -1;
    }
    const bb_op *src[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        const bb_op *c = src[s];
        const int dy = (kh - c->kh) / 2, dx = (kw - c->kw) / 2;
        bb_fold_bn(g, c, fw, fb);
        for (int64_t o = 0; o < oc; o++) {
            bias[o] += fb[o];
            for (int64_t ci = 0; ci < icg; ci++)
                for (int y = 0; y < c->kh; y++)
                    for (int x = 0; x < c->kw; x++)
                        w[((o * icg + ci) * kh + y + dy) * kw + x + dx] += fw[((o * icg + ci) * c->kh + y) * c->kw + x];
        }
    }
    free(fw), free(fb);
    int64_t wd[4] = {oc, icg, kh, kw};
    int wt = bb_graph_add_tensor(g, "merged_weight", BB_T_BUFFER, 4, wd);
    int bt = bb_graph_add_tensor(g, "merged_bias", BB_T_BUFFER, 1, &oc);
    g->tensors[wt].data = w, g->tensors[bt].data = bias;
    a->w = wt, a->b = bt;
    a->has_bn = a->has_pre_bn = a->has_id_bn = 0;
    a->pre_scale = a->post_scale = -1;
    a->kh = kh, a->kw = kw, a->pad_t = a->pad_b = kh / 2, a->pad_l = a->pad_r = kw / 2;
    a->k = kh, a->pad = kh / 2; /* whole only when bb_window_square */
    return 0;
}

/* The branches of a branch_add become one conv: a BN of the conv's input
 * goes into its centre taps (has_id_bn: its scale on the taps of each
 * channel's own input, its shift into the bias; bb_fold_bn), a parallel
 * conv into its kernel (merge_convs: the later conv into the earlier).
 * The add and the other branch go. */
static int try_branches(bb_graph *g, int i)
{
    int pc, po;
    if (!branch_add(g, i, &pc, &po))
        return 0;
    bb_op *c = &g->ops[pc];
    const bb_op *o = &g->ops[po];
    if (o->type == BB_OP_BATCHNORM) {
        c->has_id_bn = 1;
        c->id_bn_w = o->w, c->id_bn_b = o->b, c->id_bn_mean = o->aux[0], c->id_bn_var = o->aux[1];
        c->id_bn_eps = o->eps;
    } else {
        if (po < pc) { /* keep the earlier conv: the later one's slot goes */
            int t = pc;
            pc = po, po = t;
            c = &g->ops[pc], o = &g->ops[po];
        }
        if (merge_convs(g, c, o) != 0)
            return 0;
    }
    c->out = g->ops[i].out;
    remove_op(g, i); /* the add runs after both branches */
    remove_op(g, po);
    return 1;
}

/* Whether constant tensor t multiplies a per-item activation of c
 * channels ([c, ...]) channel by channel without growing it: one value,
 * or c values laid out as [c, 1, ...] (leading 1s aside). */
static int channel_scale(const bb_graph *g, int t, int64_t c, int ndim)
{
    const bb_tensor *k = t >= 0 ? &g->tensors[t] : NULL;
    if (!k || (k->kind != BB_T_PARAM && k->kind != BB_T_BUFFER) || !k->data)
        return 0;
    int64_t n = bb_tensor_numel(k);
    if (n == 1)
        return k->ndim <= ndim + 1;
    int first = 0;
    while (first < k->ndim && k->dims[first] == 1)
        first++;
    if (n != c || first >= k->ndim || k->dims[first] != c || k->ndim - first != ndim)
        return 0;
    return 1; /* the rest are 1: n == c */
}

/* The constant operand of a Mul reading activation t with one value per
 * channel (channel_scale), or -1. */
static int scale_operand(const bb_graph *g, const bb_op *mul, int t)
{
    if (mul->type != BB_OP_BINARY || mul->binop != BB_BIN_MUL || mul->n_in != 2 || mul->post_act ||
        g->tensors[t].full_rank || g->tensors[t].ndim < 1)
        return -1;
    int k = mul->in[0] == t ? 1 : mul->in[1] == t ? 0 : -1;
    if (k < 0 || mul->in[1 - k] != t)
        return -1;
    return channel_scale(g, mul->in[k], g->tensors[t].dims[0], g->tensors[t].ndim) ? mul->in[k] : -1;
}

/* conv -> Mul by a constant per channel: into the conv (post_scale), so
 * that a residual sum and an activation after it fuse too (NF-ResNet's
 * conv3 * alpha + shortcut). */
static int try_post_scale(bb_graph *g, int i)
{
    bb_op *op = &g->ops[i];
    if (op->type != BB_OP_CONV || op->post_scale >= 0 || op->post_act || op->sum_in >= 0 || op->bn_first ||
        op->has_id_bn)
        return 0;
    int r = sole_reader(g, op->out), s = r >= 0 ? scale_operand(g, &g->ops[r], op->out) : -1;
    if (s < 0 || bb_tensor_numel(&g->tensors[g->ops[r].out]) != bb_tensor_numel(&g->tensors[op->out]))
        return 0;
    op->post_scale = s;
    op->out = g->ops[r].out;
    remove_op(g, r);
    return 1;
}

/* Mul by a constant per channel read only by convs (as their input, not
 * summed): into each (pre_scale; zero padding commutes with it), the Mul
 * goes (NF-ResNet's act(x) * beta before a block's convs). */
static int try_pre_scale(bb_graph *g, int i)
{
    const bb_op *mul = &g->ops[i];
    int x = mul->type == BB_OP_BINARY ? mul->in[0] : -1, s = x >= 0 ? scale_operand(g, mul, x) : -1;
    if (s < 0) {
        x = mul->type == BB_OP_BINARY ? mul->in[1] : -1;
        s = x >= 0 ? scale_operand(g, mul, x) : -1;
    }
    if (s < 0 || mul->out == g->output || x == g->input ||
        bb_tensor_numel(&g->tensors[mul->out]) != bb_tensor_numel(&g->tensors[x]))
        return 0;
    int n = 0;
    for (int j = i + 1; j < g->n_ops; j++) {
        const bb_op *c = &g->ops[j];
        if (!reads(c, mul->out))
            continue;
        if (c->type != BB_OP_CONV || c->in[0] != mul->out || c->n_in != 1 || c->sum_in == mul->out ||
            c->pre_scale >= 0 || c->has_pre_bn || c->has_id_bn)
            return 0;
        n++;
    }
    if (!n)
        return 0;
    for (int j = i + 1; j < g->n_ops; j++)
        if (g->ops[j].in[0] == mul->out)
            g->ops[j].pre_scale = s, g->ops[j].in[0] = x;
    remove_op(g, i);
    return 1;
}

/* Whether every source of the concat at index i is a conv that only the
 * concat reads, once, that sums nothing and has no activation (and, for a
 * BN, no BN). */
static int concat_of_plain_convs(const bb_graph *g, int i, int bn)
{
    const bb_op *cat = &g->ops[i];
    for (int k = 0; k < cat->n_in; k++) {
        for (int j = 0; j < k; j++)
            if (cat->in[j] == cat->in[k])
                return 0;
        int p = bb_producer(g, cat->in[k]);
        const bb_op *c = p >= 0 ? &g->ops[p] : NULL;
        if (!c || c->type != BB_OP_CONV || sole_reader(g, c->out) != i || c->sum_in >= 0 || c->post_act ||
            (bn && (c->has_bn || c->has_pre_bn)))
            return 0;
    }
    return cat->n_in > 0;
}

/* A BN or an activation that alone reads a channel concat of convs goes
 * into each conv (the BN's channels from bn_first on): MixNet's mixed
 * depthwise convs, split -> convs -> concat -> BN -> act, then run as convs
 * with folded BN and a post-op activation, and the concat joins finished
 * tensors (or is not run: cpu_concat_inplace.c). */
static int try_into_concat_sources(bb_graph *g, int i)
{
    const bb_op *cat = &g->ops[i];
    int64_t d[BB_MAX_DIMS + 1];
    if (cat->type != BB_OP_CONCAT || cat->axis != 1 || bb_tensor_shape(g, cat->out, 1, d) != 4)
        return 0;
    int r = sole_reader(g, cat->out);
    const bb_op *rd = r >= 0 ? &g->ops[r] : NULL;
    int bn = rd && rd->type == BB_OP_BATCHNORM && !rd->post_act && rd->aux[0] >= 0 && rd->aux[1] >= 0 &&
             rd->w >= 0 && rd->b >= 0;
    int act = rd && rd->type == BB_OP_ACT && rd->act <= BB_ACT_HARDSWISH; /* as try_act */
    if ((!bn && !act) || rd->in[0] != cat->out || !concat_of_plain_convs(g, i, bn))
        return 0;
    int first = 0;
    for (int k = 0; k < cat->n_in; k++) {
        bb_op *c = &g->ops[bb_producer(g, cat->in[k])];
        if (bn) {
            c->has_bn = 1, c->bn_first = first;
            c->bn_w = rd->w, c->bn_b = rd->b, c->bn_mean = rd->aux[0], c->bn_var = rd->aux[1], c->bn_eps = rd->eps;
        } else {
            c->post_act = rd->act;
        }
        first += (int)g->tensors[c->w].dims[0];
    }
    g->ops[i].out = rd->out;
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
    int a = sole_reader(g, op->out), pc, po;
    if (a < 0 || g->ops[a].type != BB_OP_ADD || branch_add(g, a, &pc, &po))
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
    if (op->type != BB_OP_PAD || op->pad_mode != BB_PAD_CONSTANT || op->alpha != 0.0f || op->out == g->output)
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

static int fuse_pass(bb_graph *g)
{
    int removed = 0;
    for (int i = 0; i < g->n_ops; i++)
        while (try_pad(g, i) || try_bn(g, i) || try_act(g, i) || try_sum(g, i) || try_pre_bn(g, i) ||
               try_into_concat_sources(g, i) || try_branches(g, i) || try_post_scale(g, i) || try_pre_scale(g, i))
            removed++;
    return removed;
}

/* Passes until nothing changes: a rule applied at an add can give an
 * earlier conv an output another rule then fuses (RepGhost's conv + BN(x),
 * then the ReLU). */
int bb_fuse(bb_graph *g)
{
    int removed = 0, n;
    while ((n = fuse_pass(g)) > 0)
        removed += n;
    return removed;
}

void bb_bn_channel(const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                   int64_t c, double *scale, double *shift)
{
    *scale = (gamma ? (double)gamma[c] : 1.0) / sqrt((double)var[c] + (double)eps);
    *shift = (beta ? (double)beta[c] : 0.0) - (double)mean[c] * *scale;
}

static const float *data_or_null(const bb_graph *g, int t)
{
    return t >= 0 ? g->tensors[t].data : NULL;
}

/* A BN's scale and shift of channel c, its tensors given by index. */
static void bn_of(const bb_graph *g, int w, int b, int mean, int var, float eps, int64_t c, double *scale,
                  double *shift)
{
    bb_bn_channel(data_or_null(g, w), data_or_null(g, b), g->tensors[mean].data, g->tensors[var].data, eps, c,
                  scale, shift);
}

/* Channel c's value of a pre_scale or post_scale (one value for all, or
 * one per channel). */
static double scale_of(const bb_graph *g, int t, int64_t c)
{
    const bb_tensor *k = &g->tensors[t];
    return k->data[bb_tensor_numel(k) == 1 ? 0 : c];
}

/* The input BN's scale and shift of input channel c (has_pre_bn). */
static void pre_bn_of(const bb_graph *g, const bb_op *conv, int64_t c, double *scale, double *shift)
{
    bn_of(g, conv->pre_bn_w, conv->pre_bn_b, conv->pre_bn_mean, conv->pre_bn_var, conv->pre_bn_eps, c, scale, shift);
}

void bb_fold_bn(const bb_graph *g, const bb_op *conv, float *w_out, float *b_out)
{
    const bb_tensor *w = &g->tensors[conv->w];
    int64_t oc = w->dims[0], per = bb_tensor_numel(w) / oc;
    int64_t icg = w->ndim > 1 && w->dims[1] > 0 ? w->dims[1] : 1, window = per / icg;
    int64_t ocg = oc / (conv->groups > 0 ? conv->groups : 1);
    for (int64_t o = 0; o < oc; o++) {
        double scale = 1.0, bn_shift = 0.0, shift = conv->b >= 0 ? g->tensors[conv->b].data[o] : 0.0;
        if (conv->has_bn) /* the BN's channel is bn_first + o */
            bn_of(g, conv->bn_w, conv->bn_b, conv->bn_mean, conv->bn_var, conv->bn_eps, conv->bn_first + o, &scale,
                  &bn_shift);
        for (int64_t k = 0; k < per; k++) {
            double wk = w->data[o * per + k];
            if (conv->pre_scale >= 0) /* W (s x) = (W s) x, s of input channel (o / ocg) icg + k / window */
                wk *= scale_of(g, conv->pre_scale, (o / ocg) * icg + k / window);
            if (conv->has_pre_bn) { /* W (s x + t) + b = (W s) x + (W t + b) */
                double s, t;
                pre_bn_of(g, conv, (o / ocg) * icg + k / window, &s, &t);
                shift += wk * t;
                wk *= s;
            }
            w_out[o * per + k] = (float)(wk * scale);
        }
        if (conv->has_bn) /* BN(W x + b) = (W s) x + (b s + t) */
            shift = shift * scale + bn_shift;
        if (conv->has_id_bn) { /* + s x + t: s on the centre tap of channel o's own input */
            double s, t;
            bn_of(g, conv->id_bn_w, conv->id_bn_b, conv->id_bn_mean, conv->id_bn_var, conv->id_bn_eps, o, &s, &t);
            w_out[o * per + (o % icg) * window + (conv->kh / 2) * conv->kw + conv->kw / 2] += (float)s;
            shift += t;
        }
        if (conv->post_scale >= 0) {
            double s = scale_of(g, conv->post_scale, o);
            for (int64_t k = 0; k < per; k++)
                w_out[o * per + k] = (float)(w_out[o * per + k] * s);
            shift *= s;
        }
        b_out[o] = (float)shift;
    }
}

int bb_conv_has_bias(const bb_op *conv)
{
    return conv->b >= 0 || conv->has_bn || conv->has_pre_bn || conv->has_id_bn;
}

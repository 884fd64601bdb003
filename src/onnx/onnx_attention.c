/*
 * onnx_attention.c — torch's multi-head attention export, rewritten into
 * the zoo's attention op.
 *
 * torch.onnx writes nn.MultiheadAttention (torchvision's ViT) as some twenty
 * nodes, which the lowering turns into generic ops on full-rank tensors:
 *
 *   x [N, L, D] -> transpose -> [L, N, D] -> linear (in_proj) -> [L, N, 3D]
 *     q, k, v = slices of the last axis, each reshaped to [L, N*h, dh]
 *     q -> transpose [N*h, L, dh] -> / sqrt(dh)      k -> transpose [N*h, dh, L]
 *     softmax(q @ k) @ (v -> transpose [N*h, L, dh])  -> [N*h, L, dh]
 *     -> transpose [L, N*h, dh] -> reshape [L*N, D] -> linear (out_proj)
 *     -> reshape [L, N, D] -> transpose -> [N, L, D]
 *
 * which is exactly what the zoo builds as linear -> attention -> linear on
 * per-item [L, 3D] / [L, D] tensors (models/vit.c). The rewrite makes the
 * imported graph that, so it runs the zoo's kernels (one attention step per
 * layer, the out_proj's residual sum fused) instead of six copies per
 * layer: the "an imported torchvision model runs as fast as the
 * built-in one". Every op of the match must be read only by the next one
 * and every shape, axis and the scale must be the ones above; anything else
 * is left to the generic ops, which compute the same thing.
 */
#include "onnx/onnx_import_internal.h"

#include <math.h>
#include <string.h>

#include "engine/fuse.h"

#define R (BB_MAX_DIMS + 1)

typedef struct {
    int in_lin, att, out_lin; /* kept: in_proj, the slot the attention takes, out_proj */
    int drop[20], n_drop;     /* the other ops of the match */
    int x, qkv_out, y;        /* per-item input, the graph's final [N, L, D] tensor */
    int heads;
} mha_match;

/* The only op reading t (as any input), or -1. */
static int only_reader(const bb_graph *g, int t)
{
    int found = -1;
    if (t == g->output)
        return -1;
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        int reads = op->sum_in == t;
        for (int k = 0; k < op->n_in; k++)
            reads |= op->in[k] == t;
        if (reads) {
            if (found >= 0)
                return -1;
            found = i;
        }
    }
    return found;
}

static int readers(const bb_graph *g, int t)
{
    int n = t == g->output;
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        n += op->sum_in == t;
        for (int k = 0; k < op->n_in; k++)
            n += op->in[k] == t;
    }
    return n;
}

/* The op producing t when it is of `type` and t is read by nothing else. */
static const bb_op *made_by(const bb_graph *g, int t, bb_op_type type, mha_match *m)
{
    int p = bb_producer(g, t);
    if (p < 0 || g->ops[p].type != type || only_reader(g, t) < 0 || m->n_drop >= 20)
        return NULL;
    if (type != BB_OP_LINEAR)
        m->drop[m->n_drop++] = p;
    return &g->ops[p];
}

/* The op reading t (alone) when it is of `type`. */
static const bb_op *read_by(const bb_graph *g, int t, bb_op_type type, mha_match *m, int drop)
{
    int r = only_reader(g, t);
    if (r < 0 || g->ops[r].type != type || g->ops[r].in[0] != t || m->n_drop >= 20)
        return NULL;
    if (drop)
        m->drop[m->n_drop++] = r;
    return &g->ops[r];
}

static int perm_is(const bb_op *op, int a, int b, int c)
{
    return op && op->perm[0] == a && op->perm[1] == b && op->perm[2] == c;
}

static int shape_is(const bb_graph *g, int t, int nd, int64_t d0, int64_t d1, int64_t d2)
{
    int64_t d[R];
    int n = bb_tensor_shape(g, t, 1, d);
    return n == nd && d[0] == d0 && d[1] == d1 && (nd < 3 || d[2] == d2);
}

/* The slice of `a` ([L, 1, 3D] at batch 1) holding columns [k*D, (k+1)*D),
 * reshaped to [L, h, dh]: the reshape's output, or -1. */
static int qkv_part(const bb_graph *g, int t, int k, int64_t L, int64_t D, int h, mha_match *m)
{
    const bb_op *rs = made_by(g, t, BB_OP_RESHAPE, m);
    const bb_op *sl = rs ? made_by(g, rs->in[0], BB_OP_SLICE, m) : NULL;
    if (!sl || !shape_is(g, sl->out, 3, L, 1, D) || !shape_is(g, t, 3, L, h, D / h) || sl->starts[0] ||
        sl->starts[1] || sl->starts[2] != k * D || sl->steps[0] != 1 || sl->steps[1] != 1 || sl->steps[2] != 1)
        return -1;
    return sl->in[0];
}

/* q / sqrt(dh), or q * (1 / sqrt(dh)), by a scalar constant: q, or -1. */
static int unscaled(const bb_graph *g, int t, int64_t dh, mha_match *m)
{
    const bb_op *s = made_by(g, t, BB_OP_BINARY, m);
    if (!s || (s->binop != BB_BIN_DIV && s->binop != BB_BIN_MUL))
        return -1;
    const bb_tensor *c = &g->tensors[s->in[1]];
    if (!c->data || bb_tensor_numel(c) != 1)
        return -1;
    double want = s->binop == BB_BIN_DIV ? sqrt((double)dh) : 1.0 / sqrt((double)dh);
    return fabs(c->data[0] - want) <= 1e-5 * want ? s->in[0] : -1;
}

/* The input side, from the softmax's first matmul back to x. */
static int match_inputs(const bb_graph *g, const bb_op *mm1, const bb_op *mm2, mha_match *m)
{
    int64_t d[R];
    if (bb_tensor_shape(g, mm1->in[0], 1, d) != 3 || d[0] < 1 || d[0] > 4096 || d[1] < 1 || d[2] < 1)
        return -1;
    int h = (int)d[0];
    int64_t L = d[1], dh = d[2], D = h * dh;
    int q = unscaled(g, mm1->in[0], dh, m);
    const bb_op *qt = q >= 0 ? made_by(g, q, BB_OP_TRANSPOSE, m) : NULL;
    const bb_op *kt = made_by(g, mm1->in[1], BB_OP_TRANSPOSE, m);
    const bb_op *vt = made_by(g, mm2->in[1], BB_OP_TRANSPOSE, m);
    if (!perm_is(qt, 1, 0, 2) || !perm_is(kt, 1, 2, 0) || !perm_is(vt, 1, 0, 2))
        return -1;
    int a = qkv_part(g, qt->in[0], 0, L, D, h, m);
    if (a < 0 || qkv_part(g, kt->in[0], 1, L, D, h, m) != a || qkv_part(g, vt->in[0], 2, L, D, h, m) != a)
        return -1;
    int p = bb_producer(g, a); /* in_proj: read by the three slices alone */
    if (p < 0 || g->ops[p].type != BB_OP_LINEAR || g->ops[p].post_act || g->ops[p].sum_in >= 0 ||
        readers(g, a) != 3 || !shape_is(g, a, 3, L, 1, 3 * D))
        return -1;
    const bb_op *t0 = made_by(g, g->ops[p].in[0], BB_OP_TRANSPOSE, m);
    if (!perm_is(t0, 1, 0, 2) || g->tensors[t0->in[0]].full_rank || !shape_is(g, t0->in[0], 3, 1, L, D))
        return -1;
    m->in_lin = p, m->x = t0->in[0], m->heads = h;
    return 0;
}

/* The output side, from the second matmul on to the [N, L, D] result. */
static int match_outputs(const bb_graph *g, const bb_op *mm2, mha_match *m)
{
    const bb_op *ot = read_by(g, mm2->out, BB_OP_TRANSPOSE, m, 1);
    const bb_op *orr = ot && perm_is(ot, 1, 0, 2) ? read_by(g, ot->out, BB_OP_RESHAPE, m, 1) : NULL;
    const bb_op *lin = orr ? read_by(g, orr->out, BB_OP_LINEAR, m, 0) : NULL;
    const bb_op *gr = lin && !lin->post_act && lin->sum_in < 0 ? read_by(g, lin->out, BB_OP_RESHAPE, m, 1) : NULL;
    const bb_op *gt = gr ? read_by(g, gr->out, BB_OP_TRANSPOSE, m, 1) : NULL;
    if (!perm_is(gt, 1, 0, 2) || g->tensors[gt->out].full_rank ||
        !shape_is(g, gt->out, 3, 1, g->tensors[m->x].dims[0], g->tensors[m->x].dims[1]))
        return -1;
    m->out_lin = (int)(lin - g->ops), m->y = gt->out;
    return 0;
}

static int match_at(const bb_graph *g, int s, mha_match *m)
{
    const bb_op *sm = &g->ops[s];
    int64_t d[R];
    memset(m, 0, sizeof *m);
    if (sm->type != BB_OP_SOFTMAX || sm->log_softmax || bb_tensor_shape(g, sm->out, 1, d) != 3 || sm->axis != 2)
        return -1;
    m->drop[m->n_drop++] = s;
    const bb_op *mm1 = made_by(g, sm->in[0], BB_OP_MATMUL, m);
    const bb_op *mm2 = read_by(g, sm->out, BB_OP_MATMUL, m, 1);
    if (!mm1 || !mm2)
        return -1;
    m->att = bb_producer(g, sm->in[0]);
    return match_inputs(g, mm1, mm2, m) == 0 && match_outputs(g, mm2, m) == 0 ? 0 : -1;
}

/* Rewrites one match; the dropped ops are marked BB_OP_COUNT for removal. */
static void rewrite(bb_graph *g, const mha_match *m)
{
    int64_t L = g->tensors[m->x].dims[0], D = g->tensors[m->x].dims[1];
    int qkv = bb_graph_add_tensor(g, "", BB_T_ACT, 2, (const int64_t[]){L, 3 * D});
    int att = bb_graph_add_tensor(g, "", BB_T_ACT, 2, (const int64_t[]){L, D});
    bb_op *in = &g->ops[m->in_lin];
    in->in[0] = m->x, in->out = qkv;
    bb_op *a = &g->ops[m->att];
    char label[BB_NAME_LEN];
    memcpy(label, a->label, sizeof label);
    memset(a, 0, sizeof *a);
    a->type = BB_OP_ATTENTION, a->n_in = 1, a->in[0] = qkv, a->out = att, a->heads = m->heads;
    a->w = a->b = a->aux[0] = a->aux[1] = a->sum_in = -1;
    memcpy(a->label, label, sizeof label);
    bb_op *out = &g->ops[m->out_lin];
    out->in[0] = att, out->out = m->y;
    for (int i = 0; i < m->n_drop; i++)
        if (m->drop[i] != m->att)
            g->ops[m->drop[i]].type = BB_OP_COUNT;
}

int ox_fuse_attention(bb_graph *g)
{
    int n = 0;
    mha_match m;
    for (int s = 0; s < g->n_ops; s++)
        if (match_at(g, s, &m) == 0)
            rewrite(g, &m), n++;
    int k = 0;
    for (int i = 0; i < g->n_ops; i++)
        if (g->ops[i].type != BB_OP_COUNT)
            g->ops[k++] = g->ops[i];
    g->n_ops = k;
    return n;
}

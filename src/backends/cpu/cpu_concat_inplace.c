/*
 * cpu_concat_inplace.c — concatenation along channels without copies, at
 * batch 1.
 *
 * DenseNet joins every earlier feature map of a block before each layer
 * and again at the block's end; Inception and GoogLeNet join their
 * branches. Done as copies, densenet121's 62 concats took 27% of a batch-1
 * pass. At batch 1, the channels [c, c + k) of an nChwXc tensor, with c
 * and k multiples of X, are contiguous bytes laid out as a dense nChwXc
 * tensor of k channels. X is the channel block oneDNN's convs pick on this
 * CPU (cpu_channel_block: 16 with AVX-512, 8 with AVX2). So each source of
 * a concat can be written by its producer straight into its place in the
 * concat's buffer, and a concat of a prefix of those sources (DenseNet's
 * per-layer concats, of the block concat's sources) is a view of that
 * buffer's first bytes.
 *
 *   cpu_cat_plan   before lowering: which concats qualify. The root is the
 *                  concat with the most sources; every other concat that
 *                  reads one of them must read a prefix of its list, in
 *                  order. Nothing may write into the bytes in place (a
 *                  residual sum into a source or a view, a reshape or
 *                  transpose that could share them).
 *   cpu_cat_place  when a source's producer has picked its output layout:
 *                  if it is nChwXc, the output is placed in the root's
 *                  buffer (engine/plan.h's alias_off).
 *   cpu_cat_view   when a concat is lowered: a view when every source was
 *                  placed, else 1 and the caller copies. A producer that
 *                  picks another layout costs its concat the copy and
 *                  nothing else.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_internal.h"
#include "engine/fuse.h"

#define R (BB_MAX_DIMS + 1)

/* Tensor t's bytes are only ever written by its producer: no residual sum
 * in place into it, no reshape (or transpose that moves no bytes, lowered
 * as one) that may share them. */
static int written_once(const bb_graph *g, int t)
{
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        if (op->sum_in == t || ((op->type == BB_OP_RESHAPE || op->type == BB_OP_TRANSPOSE) && op->in[0] == t))
            return 0;
    }
    return 1;
}

/* c joins the first c->n_in sources of f, in order, along channels. */
static int is_prefix(const bb_op *c, const bb_op *f)
{
    if (c->type != BB_OP_CONCAT || c->axis != 1 || c->n_in > f->n_in)
        return 0;
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i] != f->in[i])
            return 0;
    return 1;
}

/* Every concat reading source t joins a prefix of f's sources; its output
 * is not in another group and only its producer writes it. */
static int readers_ok(const bb_backend *b, const bb_op *f, int t)
{
    const bb_graph *g = b->g;
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *c = &g->ops[i];
        if (c->type != BB_OP_CONCAT)
            continue;
        int reads = 0;
        for (int k = 0; k < c->n_in; k++)
            reads |= c->in[k] == t;
        if (reads && (!is_prefix(c, f) || b->cat[c->out].view_of >= 0 || !written_once(g, c->out)))
            return 0;
    }
    return 1;
}

/* Source i of f can be written in place: an activation with a producer
 * and channels a multiple of the channel block, in no group yet, read by
 * concats of prefixes only, named once in f's list. */
static int source_ok(const bb_backend *b, const bb_op *f, int i)
{
    const bb_graph *g = b->g;
    int t = f->in[i];
    int64_t d[R];
    if (cpu_is_const(g, t) || t == g->input || t == g->output || bb_producer(g, t) < 0 ||
        b->cat[t].root >= 0 || b->cat[t].view_of >= 0 || cpu_full_shape(b, t, d) != 4 ||
        d[1] % cpu_channel_block() || !written_once(g, t))
        return 0;
    for (int j = 0; j < i; j++)
        if (f->in[j] == t)
            return 0;
    return readers_ok(b, f, t);
}

static int root_ok(const bb_backend *b, const bb_op *f)
{
    int64_t o[R];
    if (f->type != BB_OP_CONCAT || f->axis != 1 || cpu_full_shape(b, f->out, o) != 4 || o[0] != 1 ||
        b->cat[f->out].view_of >= 0 || !written_once(b->g, f->out))
        return 0;
    for (int i = 0; i < f->n_in; i++)
        if (!source_ok(b, f, i))
            return 0;
    return 1;
}

/* Marks f's sources with their channel offsets, and f and every concat of
 * a prefix of its sources as views of it. */
static void take_group(bb_backend *b, const bb_op *f)
{
    const bb_graph *g = b->g;
    int64_t off = 0, d[R];
    for (int i = 0; i < f->n_in; i++) {
        b->cat[f->in[i]].root = f->out, b->cat[f->in[i]].off = off;
        cpu_full_shape(b, f->in[i], d);
        off += d[1];
    }
    for (int i = 0; i < g->n_ops; i++)
        if (is_prefix(&g->ops[i], f))
            b->cat[g->ops[i].out].view_of = f->out;
}

int cpu_cat_plan(bb_backend *b)
{
    const bb_graph *g = b->g;
    if (b->batch != 1 || b->dt != dnnl_f32)
        return 0;
    b->cat = malloc(sizeof *b->cat * (size_t)(g->n_tensors ? g->n_tensors : 1));
    if (!b->cat)
        return -1;
    for (int t = 0; t < g->n_tensors; t++)
        b->cat[t] = (cpu_cat){-1, 0, -1, -1};
    /* later concats first: DenseNet's block concat comes after its layers' */
    for (int i = g->n_ops - 1; i >= 0; i--)
        if (root_ok(b, &g->ops[i]))
            take_group(b, &g->ops[i]);
    return 0;
}

/* nChwXc fp32 for a [1, C, H, W] tensor, X the CPU's channel block */
static void blocked(const int64_t *d, dnnl_memory_desc_t *md)
{
    dnnl_dims_t dd = {d[0], d[1], d[2], d[3]};
    dnnl_memory_desc_init_by_tag(md, 4, dd, dnnl_f32, cpu_channel_block_tag());
}

/* The root's buffer, made when its first source is placed. */
static int root_buf(bb_backend *b, int root)
{
    if (b->cat[root].buf < 0) {
        int64_t o[R];
        dnnl_memory_desc_t md;
        cpu_full_shape(b, root, o);
        blocked(o, &md);
        b->cat[root].buf = cpu_new_buf(b, &md);
    }
    return b->cat[root].buf;
}

void cpu_cat_place(bb_backend *b, const bb_op *op, int d)
{
    if (!b->cat || op->sum_in >= 0 || b->cat[op->out].root < 0)
        return;
    int64_t s[R];
    dnnl_memory_desc_t want;
    cpu_full_shape(b, op->out, s);
    blocked(s, &want);
    if (!dnnl_memory_desc_equal(&want, &b->bufs[d].md))
        return;
    const cpu_cat *m = &b->cat[op->out];
    int root = root_buf(b, m->root);
    b->bufs[d].alias = root;
    b->bufs[d].alias_off = m->off * s[2] * s[3] * (int64_t)sizeof(float);
}

int cpu_cat_view(bb_backend *b, const bb_op *op)
{
    if (!b->cat || b->cat[op->out].view_of < 0)
        return 1;
    int rt = b->cat[op->out].view_of, root = b->cat[rt].buf;
    int64_t off = 0, d[R];
    for (int i = 0; i < op->n_in; i++) {
        int t = op->in[i], buf = b->tbuf[t];
        cpu_full_shape(b, t, d);
        if (root < 0 || buf < 0 || b->cat[t].root != rt || b->bufs[buf].alias != root || b->bufs[buf].owes_silu ||
            b->bufs[buf].alias_off != off * d[2] * d[3] * (int64_t)sizeof(float))
            return 1;
        off += d[1];
    }
    dnnl_memory_desc_t md;
    cpu_full_shape(b, op->out, d);
    blocked(d, &md);
    int v = cpu_new_buf(b, &md);
    b->bufs[v].alias = root;
    b->tbuf[op->out] = v;
    return 0;
}

/*
 * test_engine.c — unit tests for the engine: memory planner (plan.c), shape
 * inference and MAC counts of the layer helpers (graph.c), the fusion pass
 * and BatchNorm folding (fuse.c) and the model facts (facts.c).
 *
 * Why this file exists: every backend trusts the planner not to give two
 * live buffers the same bytes, and the fusion pass not to sum a residual in
 * place while someone still needs it. Both bugs would corrupt activations
 * silently, so these tests pin the invariants on hand-made inputs, on a
 * seeded random sweep and on a real model (resnet18).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/facts.h"
#include "engine/fuse.h"
#include "engine/graph.h"
#include "engine/plan.h"
#include "engine/weights.h"
#include "models/zoo.h"

/* ---- plan ---------------------------------------------------------------- */

static int root(const bb_plan_buf *b, int i)
{
    while (b[i].alias >= 0)
        i = b[i].alias;
    return i;
}

/* bytes from its group's root to buffer i */
static int64_t in_root(const bb_plan_buf *b, int i)
{
    int64_t off = 0;
    for (; b[i].alias >= 0; i = b[i].alias)
        off += b[i].alias_off;
    return off;
}

static int64_t up(int64_t x, int64_t a)
{
    return (x + a - 1) / a * a;
}

/* Checks every invariant of a placement; returns the arena. Storage of an
 * alias group is alive over the union of its members' lifetimes and spans
 * its furthest member's end (a member sits alias_off bytes into its alias). */
static int64_t check_plan(const bb_plan_buf *b, int n, int64_t align)
{
    int64_t *off = calloc((size_t)n + 1, sizeof *off);
    int64_t *gsize = calloc((size_t)n + 1, sizeof *gsize);
    int *gfirst = calloc((size_t)n + 1, sizeof *gfirst), *glast = calloc((size_t)n + 1, sizeof *glast);
    assert_true(off && gsize && gfirst && glast);
    int64_t arena = bb_plan_place(b, n, align, off);
    assert_true(arena >= 0);
    assert_int_equal(arena % align, 0);
    for (int i = 0; i < n; i++)
        gfirst[i] = b[i].first, glast[i] = b[i].last, gsize[i] = -1;
    int64_t padded_total = 0;
    for (int i = 0; i < n; i++) {
        int r = root(b, i);
        if (in_root(b, i) + b[i].size > gsize[r])
            gsize[r] = in_root(b, i) + b[i].size;
        if (b[i].first < gfirst[r])
            gfirst[r] = b[i].first;
        if (b[i].last > glast[r])
            glast[r] = b[i].last;
        padded_total += up(b[i].size, align);
        assert_int_equal(off[i] % align, 0);
        assert_true(off[i] >= 0);
        assert_true(off[i] + b[i].size <= arena);
        assert_int_equal(off[i], off[r] + in_root(b, i)); /* aliases share storage */
    }
    /* no two distinct groups alive at the same step overlap */
    for (int i = 0; i < n; i++) {
        if (gsize[i] < 0)
            continue;
        for (int j = i + 1; j < n; j++) {
            if (gsize[j] < 0 || glast[i] < gfirst[j] || glast[j] < gfirst[i])
                continue;
            if (off[i] < off[j] + gsize[j] && off[j] < off[i] + gsize[i])
                fail_msg("groups %d [%lld,+%lld) steps %d..%d and %d [%lld,+%lld) steps %d..%d overlap",
                         i, (long long)off[i], (long long)gsize[i], gfirst[i], glast[i], j,
                         (long long)off[j], (long long)gsize[j], gfirst[j], glast[j]);
        }
    }
    /* no reuse would need at most every buffer padded to the alignment;
     * and the arena holds at least what is alive at the busiest step */
    assert_true(arena <= padded_total);
    int maxstep = 0;
    for (int i = 0; i < n; i++)
        maxstep = glast[i] > maxstep ? glast[i] : maxstep;
    for (int s = 0; s <= maxstep; s++) {
        int64_t live = 0;
        for (int i = 0; i < n; i++)
            if (gsize[i] >= 0 && gfirst[i] <= s && s <= glast[i])
                live += gsize[i];
        assert_true(arena >= live);
    }
    free(off), free(gsize), free(gfirst), free(glast);
    return arena;
}

static void test_plan_chain_reuses(void **state)
{
    (void)state;
    /* a -> b -> c: a dies when c is born, so c can take a's bytes */
    bb_plan_buf b[3] = {{1024, 0, 1, -1, 0}, {1024, 1, 2, -1, 0}, {1024, 2, 3, -1, 0}};
    int64_t off[3];
    int64_t arena = bb_plan_place(b, 3, 64, off);
    assert_int_equal(bb_plan_total(b, 3), 3072);
    assert_int_equal(arena, 2048);
    assert_true(arena < bb_plan_total(b, 3));
    assert_int_equal(off[0], off[2]);
    assert_true(off[0] != off[1]);
    check_plan(b, 3, 64);
}

static void test_plan_basic(void **state)
{
    (void)state;
    /* everything alive at once: no reuse, arena == total for aligned sizes */
    bb_plan_buf all[4] = {{128, 0, 5, -1, 0}, {256, 1, 5, -1, 0}, {64, 2, 3, -1, 0}, {512, 0, 4, -1, 0}};
    assert_int_equal(check_plan(all, 4, 64), bb_plan_total(all, 4));
    /* unaligned sizes: offsets stay aligned */
    bb_plan_buf odd[3] = {{10, 0, 2, -1, 0}, {33, 0, 2, -1, 0}, {7, 1, 2, -1, 0}};
    int64_t off[3];
    int64_t arena = bb_plan_place(odd, 3, 64, off);
    assert_int_equal(arena, 192);
    check_plan(odd, 3, 64);
    /* align 1 packs tightly */
    assert_int_equal(check_plan(odd, 3, 1), 50);
    /* the largest buffer goes first, at offset 0 */
    bb_plan_buf big[2] = {{64, 0, 1, -1, 0}, {4096, 0, 1, -1, 0}};
    int64_t o2[2];
    assert_int_equal(bb_plan_place(big, 2, 64, o2), 4160);
    assert_int_equal(o2[1], 0);
    assert_int_equal(o2[0], 4096);
    /* empty set */
    int64_t dummy;
    assert_int_equal(bb_plan_place(big, 0, 64, &dummy), 0);
    assert_int_equal(bb_plan_total(big, 0), 0);
}

static void test_plan_alias(void **state)
{
    (void)state;
    /* b takes over a in place (born where a dies) and lives to step 4; c is
     * alive at steps 3..4, after a died but with b: it must not take the
     * group's bytes. d lives at step 0 only, with a. e lives at 5, free. */
    bb_plan_buf b[5] = {
        {256, 0, 1, -1, 0}, /* a */
        {512, 1, 4, 0, 0},  /* b aliases a, larger */
        {256, 3, 4, -1, 0}, /* c */
        {256, 0, 0, -1, 0}, /* d */
        {768, 5, 6, -1, 0}, /* e */
    };
    int64_t off[5];
    int64_t arena = bb_plan_place(b, 5, 64, off);
    assert_int_equal(off[0], off[1]);
    assert_true(off[2] >= off[0] + 512 || off[2] + 256 <= off[0]);
    assert_true(off[3] >= off[0] + 512 || off[3] + 256 <= off[0]);
    assert_int_equal(off[4], 0); /* nobody else alive at 5..6 */
    assert_int_equal(arena, 768);
    check_plan(b, 5, 64);
    /* a chain of aliases: x <- y <- z all share one offset, and the group
     * (steps 0..6) blocks w at step 6 */
    bb_plan_buf ch[4] = {{128, 0, 2, -1, 0}, {128, 2, 4, 0, 0}, {128, 4, 6, 1, 0}, {128, 6, 7, -1, 0}};
    int64_t o2[4];
    assert_int_equal(bb_plan_place(ch, 4, 64, o2), 256);
    assert_int_equal(o2[0], o2[1]);
    assert_int_equal(o2[1], o2[2]);
    assert_true(o2[3] != o2[0]);
    check_plan(ch, 4, 64);
    /* a concat in place: root r (steps 1..5) holds p at byte 0 and q at
     * byte 256 (written at steps 1 and 3); view v of r's first 384 bytes
     * is read at step 8, which keeps the whole group alive; s (steps 6..7)
     * must not take any of its 512 bytes, t (step 9) may */
    bb_plan_buf cat[6] = {{512, 1, 5, -1, 0}, {256, 1, 2, 0, 0},  {256, 3, 4, 0, 256},
                          {384, 5, 8, 0, 0},  {256, 6, 7, -1, 0}, {512, 9, 9, -1, 0}};
    int64_t o3[6];
    bb_plan_place(cat, 6, 64, o3);
    assert_int_equal(o3[1], o3[0]);
    assert_int_equal(o3[2], o3[0] + 256);
    assert_int_equal(o3[3], o3[0]);
    assert_true(o3[4] >= o3[0] + 512 || o3[4] + 256 <= o3[0]);
    assert_int_equal(o3[5], 0);
    check_plan(cat, 6, 64);
}

/* splitmix64: the tests' own deterministic random numbers */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_plan_random(void **state)
{
    (void)state;
    uint64_t seed = 20240531;
    bb_plan_buf b[48];
    int taken[48];
    for (int iter = 0; iter < 200; iter++) {
        int n = 1 + (int)(rnd(&seed) % 48);
        int64_t align = (int64_t)1 << (rnd(&seed) % 8);
        for (int i = 0; i < n; i++) {
            int first = (int)(rnd(&seed) % 30);
            b[i] = (bb_plan_buf){(int64_t)(rnd(&seed) % 5000),
                                 first, first + (int)(rnd(&seed) % 8), -1, 0};
            taken[i] = 0;
            /* sometimes take over an earlier buffer that dies where we start */
            if (rnd(&seed) % 3 == 0)
                for (int j = 0; j < i; j++)
                    if (!taken[j] && b[j].last == first) {
                        b[i].alias = j, taken[j] = 1;
                        break;
                    }
        }
        check_plan(b, n, align);
    }
}

/* ---- graph shapes and MACs ----------------------------------------------- */

static bb_graph *new_graph(int c, int h, int w)
{
    bb_graph *g = bb_graph_new("test", BB_FAMILY_CONV, BB_HEAD_FEATURES);
    int64_t d[3] = {c, h, w};
    g->input = bb_graph_add_tensor(g, "input", BB_T_INPUT, 3, d);
    return g;
}

static void assert_dims(const bb_graph *g, int t, int nd, int64_t d0, int64_t d1, int64_t d2)
{
    const bb_tensor *x = &g->tensors[t];
    assert_int_equal(x->kind, BB_T_ACT);
    assert_int_equal(x->ndim, nd);
    int64_t want[3] = {d0, d1, d2};
    for (int i = 0; i < nd; i++)
        assert_int_equal(x->dims[i], want[i]);
}

static const bb_op *last_op(const bb_graph *g)
{
    return &g->ops[g->n_ops - 1];
}

static void test_shapes_conv_pool(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 224, 224);
    int x = bb_conv(g, "conv1", g->input, 64, 7, 2, 3, 1, 0);
    assert_dims(g, x, 3, 64, 112, 112);
    const bb_op *op = last_op(g);
    assert_int_equal(op->type, BB_OP_CONV);
    assert_int_equal(op->b, -1);
    assert_string_equal(g->tensors[op->w].name, "conv1.weight");
    assert_int_equal(g->tensors[op->w].kind, BB_T_PARAM);
    assert_int_equal(g->tensors[op->w].dims[1], 3);
    assert_int_equal(bb_op_macs(g, op), (int64_t)64 * 112 * 112 * 3 * 7 * 7);
    int m = bb_maxpool(g, x, 3, 2, 1);
    assert_dims(g, m, 3, 64, 56, 56);
    assert_int_equal(bb_op_macs(g, last_op(g)), 0);
    int y = bb_conv(g, "c2", x, 32, 3, 2, 1, 1, 1);
    assert_dims(g, y, 3, 32, 56, 56);
    assert_string_equal(g->tensors[last_op(g)->b].name, "c2.bias");
    y = bb_conv(g, "c3", y, 32, 3, 2, 1, 1, 0);
    assert_dims(g, y, 3, 32, 28, 28);
    y = bb_conv(g, "c4", y, 16, 1, 1, 0, 1, 0);
    assert_dims(g, y, 3, 16, 28, 28);
    /* odd sizes round down: 7 -> 4 (k3 s2 p1), 7 -> 3 (k3 s2 p0) */
    bb_graph *h = new_graph(8, 7, 7);
    assert_dims(h, bb_conv(h, "a", h->input, 8, 3, 2, 1, 1, 0), 3, 8, 4, 4);
    assert_dims(h, bb_maxpool(h, h->input, 3, 2, 0), 3, 8, 3, 3);
    assert_dims(h, bb_maxpool(h, h->input, 3, 1, 1), 3, 8, 7, 7);
    assert_dims(h, bb_gap(h, h->input), 1, 8, 0, 0);
    bb_graph_free(h);
    /* patch embeddings: 224 / 16 = 14, 224 / 32 = 7 */
    assert_dims(g, bb_conv(g, "p16", g->input, 768, 16, 16, 0, 1, 1), 3, 768, 14, 14);
    assert_dims(g, bb_conv(g, "p32", g->input, 768, 32, 32, 0, 1, 1), 3, 768, 7, 7);
    int64_t full[BB_MAX_DIMS + 1];
    assert_int_equal(bb_tensor_shape(g, x, 5, full), 4);
    assert_true(full[0] == 5 && full[1] == 64 && full[2] == 112 && full[3] == 112);
    assert_int_equal(bb_tensor_shape(g, g->input, 2, full), 4);
    assert_true(full[0] == 2 && full[1] == 3 && full[2] == 224 && full[3] == 224);
    assert_int_equal(bb_tensor_shape(g, g->ops[0].w, 5, full), 4); /* params: no batch */
    assert_int_equal(full[0], 64);
    bb_graph_free(g);
}

static void test_shapes_grouped_macs(void **state)
{
    (void)state;
    bb_graph *g = new_graph(32, 8, 8);
    int y = bb_conv(g, "grp", g->input, 64, 3, 1, 1, 4, 0);
    assert_dims(g, y, 3, 64, 8, 8);
    const bb_op *op = last_op(g);
    assert_int_equal(g->tensors[op->w].dims[0], 64);
    assert_int_equal(g->tensors[op->w].dims[1], 8);
    assert_int_equal(op->groups, 4);
    int64_t grouped = bb_op_macs(g, op);
    assert_int_equal(grouped, (int64_t)64 * 8 * 8 * 8 * 9);
    int dw = bb_conv(g, "dw", g->input, 32, 3, 2, 1, 32, 1);
    assert_dims(g, dw, 3, 32, 4, 4);
    int64_t dwm = bb_op_macs(g, last_op(g));
    assert_int_equal(dwm, (int64_t)32 * 4 * 4 * 9);
    assert_int_equal(bb_graph_macs(g), grouped + dwm);
    /* 1-d linear with a 4-d weight (SE) */
    int s = bb_gap(g, g->input);
    int l = bb_linear(g, "fc1", "weight", "bias", s, 4, 1);
    assert_dims(g, l, 1, 4, 0, 0);
    op = last_op(g);
    assert_int_equal(g->tensors[op->w].ndim, 4);
    assert_true(g->tensors[op->w].dims[0] == 4 && g->tensors[op->w].dims[1] == 32 &&
                g->tensors[op->w].dims[2] == 1 && g->tensors[op->w].dims[3] == 1);
    assert_int_equal(bb_op_macs(g, op), 4 * 32);
    assert_int_equal(bb_graph_macs(g), grouped + dwm + 128);
    bb_graph_free(g);
}

static void test_shapes_transformer(void **state)
{
    (void)state;
    bb_graph *g = new_graph(3, 32, 32);
    int p = bb_conv(g, "proj", g->input, 24, 8, 8, 0, 1, 1);
    assert_dims(g, p, 3, 24, 4, 4);
    int t = bb_tokens(g, "cls", "pos", p);
    assert_dims(g, t, 2, 17, 24, 0);
    const bb_op *op = last_op(g);
    const int pos = op->b;
    assert_int_equal(op->type, BB_OP_TOKENS);
    assert_string_equal(g->tensors[op->w].name, "cls");
    assert_string_equal(g->tensors[op->b].name, "pos");
    assert_true(g->tensors[op->w].ndim == 3 && g->tensors[op->w].dims[2] == 24);
    assert_true(g->tensors[op->b].dims[1] == 17 && g->tensors[op->b].dims[2] == 24);
    int n = bb_layernorm(g, "ln", t, 1e-6f);
    assert_dims(g, n, 2, 17, 24, 0);
    assert_float_equal(last_op(g)->eps, 1e-6f, 0.0);
    int q = bb_linear(g, "attn", "in_proj_weight", "in_proj_bias", n, 72, 0);
    assert_dims(g, q, 2, 17, 72, 0);
    op = last_op(g);
    assert_int_equal(g->tensors[op->w].ndim, 2);
    assert_true(g->tensors[op->w].dims[0] == 72 && g->tensors[op->w].dims[1] == 24);
    assert_string_equal(g->tensors[op->b].name, "attn.in_proj_bias");
    assert_int_equal(bb_op_macs(g, op), 17 * 72 * 24);
    int a = bb_attention(g, q, 3);
    assert_dims(g, a, 2, 17, 24, 0);
    assert_int_equal(last_op(g)->heads, 3);
    assert_int_equal(bb_op_macs(g, last_op(g)), 2 * 17 * 17 * 24);
    int c = bb_cls_select(g, a);
    assert_dims(g, c, 1, 24, 0, 0);
    g->output = c;
    assert_int_equal(bb_graph_feature_dim(g), 24);
    int64_t full[BB_MAX_DIMS + 1];
    assert_int_equal(bb_tensor_shape(g, c, 3, full), 2);
    assert_true(full[0] == 3 && full[1] == 24);
    assert_int_equal(bb_tensor_shape(g, a, 3, full), 3);
    assert_true(full[0] == 3 && full[1] == 17 && full[2] == 24);
    /* params: proj w+b, cls, pos, ln w+b, in_proj w+b */
    assert_int_equal(bb_graph_param_count(g),
                     24 * 3 * 64 + 24 + 24 + 17 * 24 + 48 + 72 * 24 + 72);
    assert_int_equal(bb_graph_find_tensor(g, "pos"), pos);
    assert_int_equal(bb_graph_find_tensor(g, "nope"), -1);
    bb_graph_free(g);
}

/* ---- fusion -------------------------------------------------------------- */

/* input -> maxpool (so the block input is produced by an op) */
static int stem(bb_graph *g)
{
    return bb_maxpool(g, g->input, 3, 1, 1);
}

static void test_fuse_basic_block(void **state)
{
    (void)state;
    bb_graph *g = new_graph(8, 8, 8);
    int x = stem(g);
    int y = bb_conv(g, "b.conv1", x, 8, 3, 1, 1, 1, 0);
    y = bb_batchnorm(g, "b.bn1", y, 1e-5f);
    int r1 = bb_activation(g, y, BB_ACT_RELU);
    y = bb_conv(g, "b.conv2", r1, 8, 3, 1, 1, 1, 0);
    y = bb_batchnorm(g, "b.bn2", y, 1e-5f);
    y = bb_add(g, y, x);
    y = bb_activation(g, y, BB_ACT_RELU);
    g->output = y;
    assert_int_equal(g->n_ops, 8);
    int64_t macs = bb_graph_macs(g);
    assert_int_equal(bb_fuse(g), 5);
    assert_int_equal(g->n_ops, 3);
    assert_int_equal(bb_graph_macs(g), macs);
    const bb_op *c1 = &g->ops[1], *c2 = &g->ops[2];
    assert_int_equal(g->ops[0].type, BB_OP_MAXPOOL);
    assert_int_equal(c1->type, BB_OP_CONV);
    assert_int_equal(c1->has_bn, 1);
    assert_int_equal(c1->bn_w, bb_graph_find_tensor(g, "b.bn1.weight"));
    assert_int_equal(c1->bn_b, bb_graph_find_tensor(g, "b.bn1.bias"));
    assert_int_equal(c1->bn_mean, bb_graph_find_tensor(g, "b.bn1.running_mean"));
    assert_int_equal(c1->bn_var, bb_graph_find_tensor(g, "b.bn1.running_var"));
    assert_float_equal(c1->bn_eps, 1e-5f, 0.0);
    assert_int_equal(c1->post_act, BB_ACT_RELU);
    assert_int_equal(c1->sum_in, -1);
    assert_int_equal(c1->sum_act, BB_ACT_NONE);
    assert_int_equal(c1->out, r1);
    assert_int_equal(c1->in[0], x);
    assert_int_equal(c2->type, BB_OP_CONV);
    assert_int_equal(c2->has_bn, 1);
    assert_int_equal(c2->bn_w, bb_graph_find_tensor(g, "b.bn2.weight"));
    assert_int_equal(c2->post_act, BB_ACT_NONE);
    assert_int_equal(c2->sum_in, x);
    assert_int_equal(c2->sum_act, BB_ACT_RELU);
    assert_int_equal(c2->in[0], r1);
    assert_int_equal(c2->out, g->output);
    assert_int_equal(bb_producer(g, g->output), 2);
    assert_int_equal(bb_last_reader(g, x), 2); /* read as sum_in */
    assert_int_equal(bb_producer(g, g->input), -1);
    /* idempotent */
    bb_op saved[3];
    memcpy(saved, g->ops, sizeof saved);
    assert_int_equal(bb_fuse(g), 0);
    assert_int_equal(g->n_ops, 3);
    assert_memory_equal(saved, g->ops, sizeof saved);
    bb_graph_free(g);
}

/* BasicBlock with a downsample branch built after conv2 (as resnet.c does):
 * conv2 cannot sum a residual produced later, so the downsample conv sums
 * conv2's output in place. */
static void test_fuse_downsample(void **state)
{
    (void)state;
    bb_graph *g = new_graph(8, 8, 8);
    int x = stem(g);
    int y = bb_conv(g, "c1", x, 16, 3, 2, 1, 1, 0);
    y = bb_batchnorm(g, "n1", y, 1e-5f);
    y = bb_activation(g, y, BB_ACT_RELU);
    y = bb_conv(g, "c2", y, 16, 3, 1, 1, 1, 0);
    int y2 = bb_batchnorm(g, "n2", y, 1e-5f);
    int d = bb_conv(g, "ds.0", x, 16, 1, 2, 0, 1, 0);
    d = bb_batchnorm(g, "ds.1", d, 1e-5f);
    y = bb_add(g, y2, d);
    g->output = bb_activation(g, y, BB_ACT_RELU);
    assert_int_equal(bb_fuse(g), 6);
    assert_int_equal(g->n_ops, 4);
    assert_int_equal(g->ops[2].sum_in, -1);
    assert_int_equal(g->ops[2].out, y2);
    assert_string_equal(g->ops[3].label, "ds.0");
    assert_int_equal(g->ops[3].has_bn, 1);
    assert_int_equal(g->ops[3].sum_in, y2);
    assert_int_equal(g->ops[3].sum_act, BB_ACT_RELU);
    assert_int_equal(g->ops[3].out, g->output);
    assert_int_equal(bb_fuse(g), 0);
    bb_graph_free(g);
}

static void test_fuse_refused(void **state)
{
    (void)state;
    /* (a) conv output read by two ops: neither BN nor act may be folded */
    bb_graph *g = new_graph(4, 6, 6);
    int x = stem(g);
    int c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    int n = bb_batchnorm(g, "bn", c, 1e-5f);
    int r = bb_activation(g, c, BB_ACT_RELU);
    g->output = bb_add(g, n, r);
    assert_int_equal(bb_fuse(g), 0);
    assert_int_equal(g->n_ops, 5);
    assert_int_equal(g->ops[1].has_bn, 0);
    assert_int_equal(g->ops[1].post_act, BB_ACT_NONE);
    bb_graph_free(g);

    /* (b) the residual is read again after the add: no in-place sum */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    int a = bb_conv(g, "d", c, 4, 1, 1, 0, 1, 0);
    int s = bb_add(g, a, c);
    g->output = bb_add(g, s, c);
    assert_int_equal(bb_fuse(g), 0);
    assert_int_equal(g->ops[2].sum_in, -1);
    assert_int_equal(g->n_ops, 5);
    bb_graph_free(g);

    /* (c) the conv reads the residual itself: summing into it in place
     * would overwrite the conv's own input */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    g->output = bb_add(g, c, x);
    assert_int_equal(bb_fuse(g), 0);
    assert_int_equal(g->ops[1].sum_in, -1);
    bb_graph_free(g);

    /* (c2) the conv has its own activation before the add: act(conv) + r
     * is left as conv + act, then the add (oneDNN runs eltwise-then-sum
     * post-ops only in reference code) */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    r = bb_activation(g, c, BB_ACT_RELU);
    g->output = bb_add(g, r, x);
    assert_int_equal(bb_fuse(g), 1);
    assert_int_equal(g->ops[1].post_act, BB_ACT_RELU);
    assert_int_equal(g->ops[1].sum_in, -1);
    assert_int_equal(g->ops[2].type, BB_OP_ADD);
    bb_graph_free(g);

    /* (d) the residual is the graph input: never overwritten */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    g->output = bb_add(g, c, g->input);
    assert_int_equal(bb_fuse(g), 0);
    assert_int_equal(g->ops[1].sum_in, -1);
    bb_graph_free(g);

    /* (e) the conv output is the graph output: its act is not fused away,
     * and a BN after a non-conv stays */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    bb_activation(g, c, BB_ACT_RELU);
    g->output = c;
    assert_int_equal(bb_fuse(g), 0);
    bb_graph_free(g);
    g = new_graph(4, 6, 6);
    g->output = bb_batchnorm(g, "bn", stem(g), 1e-5f);
    assert_int_equal(bb_fuse(g), 0);
    bb_graph_free(g);

    /* (f) two activations in a row: only the first is fused */
    g = new_graph(4, 6, 6);
    x = stem(g);
    c = bb_conv(g, "c", x, 4, 3, 1, 1, 1, 0);
    c = bb_activation(g, c, BB_ACT_RELU);
    g->output = bb_activation(g, c, BB_ACT_SIGMOID);
    assert_int_equal(bb_fuse(g), 1);
    assert_int_equal(g->n_ops, 3);
    assert_int_equal(g->ops[1].post_act, BB_ACT_RELU);
    assert_int_equal(g->ops[2].type, BB_OP_ACT);
    bb_graph_free(g);
}

static void test_fuse_idempotent_models(void **state)
{
    (void)state;
    const char *names[] = {"resnet18", "resnet50", "mobilenet_v2", "vit_b_32"};
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        bb_graph *g = bb_zoo_build(names[m], BB_HEAD_CLASSIFIER);
        int64_t macs = bb_graph_macs(g), params = bb_graph_param_count(g);
        int before = g->n_ops;
        int removed = bb_fuse(g);
        assert_true(removed > 0);
        assert_int_equal(g->n_ops, before - removed);
        assert_int_equal(bb_graph_macs(g), macs);
        assert_int_equal(bb_graph_param_count(g), params);
        for (int i = 0; i < g->n_ops; i++) {
            assert_int_not_equal(g->ops[i].type, BB_OP_BATCHNORM);
            /* a summed residual is never read after its in-place sum */
            if (g->ops[i].sum_in >= 0)
                assert_int_equal(bb_last_reader(g, g->ops[i].sum_in), i);
        }
        size_t sz = sizeof(bb_op) * (size_t)g->n_ops;
        bb_op *saved = malloc(sz);
        assert_non_null(saved);
        memcpy(saved, g->ops, sz);
        assert_int_equal(bb_fuse(g), 0);
        assert_memory_equal(saved, g->ops, sz);
        free(saved);
        bb_graph_free(g);
    }
}

/* ---- BatchNorm folding --------------------------------------------------- */

static void check_fold(int bias)
{
    const int oc = 3, ic = 2, k = 3;
    bb_graph *g = new_graph(ic, 5, 5);
    int y = bb_conv(g, "c", g->input, oc, k, 1, 1, 1, bias);
    g->output = bb_batchnorm(g, "bn", y, 1e-3f);
    bb_weights_random(g, 7);
    assert_int_equal(bb_fuse(g), 1);
    const bb_op *op = &g->ops[0];
    assert_int_equal(op->has_bn, 1);
    float *w = g->tensors[op->w].data;
    int per = ic * k * k;
    for (int i = 0; i < oc * per; i++)
        w[i] = (float)((i % 7) - 3) * 0.25f + 0.01f * (float)i;
    const float gamma[3] = {0.5f, 2.0f, -1.5f}, beta[3] = {0.1f, -0.2f, 0.3f};
    const float mean[3] = {0.25f, -1.0f, 3.0f}, var[3] = {0.01f, 4.0f, 0.5f};
    const float cb[3] = {1.0f, -0.5f, 0.0f};
    for (int o = 0; o < oc; o++) {
        g->tensors[op->bn_w].data[o] = gamma[o];
        g->tensors[op->bn_b].data[o] = beta[o];
        g->tensors[op->bn_mean].data[o] = mean[o];
        g->tensors[op->bn_var].data[o] = var[o];
        if (bias)
            g->tensors[op->b].data[o] = cb[o];
    }
    float wf[54], bf[3];
    bb_fold_bn(g, op, wf, bf);
    for (int o = 0; o < oc; o++) {
        double sc = gamma[o] / sqrt((double)var[o] + (double)1e-3f);
        double want_b = ((bias ? cb[o] : 0.0) - mean[o]) * sc + beta[o];
        assert_float_equal(bf[o], want_b, 1e-5 * fmax(1.0, fabs(want_b)));
        for (int i = 0; i < per; i++) {
            double want = w[o * per + i] * sc;
            assert_float_equal(wf[o * per + i], want, 1e-6 * fmax(1.0, fabs(want)));
        }
    }
    /* the same conv with its BN not folded: weights and bias pass through */
    bb_op plain = *op;
    plain.has_bn = 0;
    bb_fold_bn(g, &plain, wf, bf);
    for (int o = 0; o < oc; o++) {
        assert_float_equal(bf[o], bias ? cb[o] : 0.0f, 0.0);
        for (int i = 0; i < per; i++)
            assert_float_equal(wf[o * per + i], w[o * per + i], 0.0);
    }
    bb_graph_free(g);
}

static void test_fold_bn(void **state)
{
    (void)state;
    check_fold(0);
    check_fold(1);
}

/* ---- facts ---------------------------------------------------------------- */

static void test_facts_resnet18(void **state)
{
    (void)state;
    bb_graph *g = bb_zoo_build("resnet18", BB_HEAD_FEATURES);
    bb_fuse(g);
    bb_model_facts f1, f4;
    assert_int_equal(bb_model_facts_compute(g, 1, &f1), 0);
    assert_int_equal(bb_model_facts_compute(g, 4, &f4), 0);
    assert_int_equal(f1.params, 11176512);
    assert_int_equal(f1.params, f4.params);
    assert_int_equal(f1.macs_per_item, f4.macs_per_item);
    assert_int_equal(f1.macs_per_item, bb_graph_macs(g));
    assert_int_equal(f1.feature_dim, 512);
    assert_int_equal(f1.weight_bytes, bb_graph_weight_bytes(g));
    assert_true(f1.weight_bytes > f1.params * 4);
    assert_true(f4.activation_bytes >= 3.5 * (double)f1.activation_bytes);
    assert_true(f4.activation_bytes <= 4.5 * (double)f1.activation_bytes);
    assert_true(f1.activation_bytes < f1.activation_bytes_no_reuse);
    assert_true(f4.activation_bytes < f4.activation_bytes_no_reuse);
    /* at least the input and the stem conv output (both alive at step 0) */
    int64_t in = 3 * 224 * 224 * 4, stem_out = 64 * 112 * 112 * 4;
    assert_true(f1.activation_bytes >= in + stem_out);
    assert_int_equal(f4.activation_bytes_no_reuse, 4 * f1.activation_bytes_no_reuse);
    bb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_chain_reuses),
        cmocka_unit_test(test_plan_basic),
        cmocka_unit_test(test_plan_alias),
        cmocka_unit_test(test_plan_random),
        cmocka_unit_test(test_shapes_conv_pool),
        cmocka_unit_test(test_shapes_grouped_macs),
        cmocka_unit_test(test_shapes_transformer),
        cmocka_unit_test(test_fuse_basic_block),
        cmocka_unit_test(test_fuse_downsample),
        cmocka_unit_test(test_fuse_refused),
        cmocka_unit_test(test_fuse_idempotent_models),
        cmocka_unit_test(test_fold_bn),
        cmocka_unit_test(test_facts_resnet18),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}

/*
 * onnx_patterns.c — several ONNX nodes that mean one graph op, lowered as
 * that op: exporters write GELU out as x * 0.5 * (1 + erf(x / sqrt 2)),
 * SiLU as x * sigmoid(x), and a linear layer as MatMul + Add. Lowered
 * node by node they would run as five, two and two passes over memory;
 * as one op the fusion pass can then fold them into the matmul or conv
 * before them, as it does for the zoo.
 */
#include <math.h>
#include <string.h>

#include "onnx/onnx_import_internal.h"

/* The node reading value v, when it is the only reader and of type op. */
static int sole(const ox_ctx *c, int v, const char *op)
{
    if (v < 0 || c->readers[v] != 1 || c->reader[v] < 0)
        return -1;
    int r = c->reader[v];
    return strcmp(c->m->nodes[r].op_type, op) == 0 && !c->done[r] ? r : -1;
}

/* The input of binary node nd other than v, when v is one of its two. */
static int other_input(const bb_ox_node *nd, int v)
{
    if (nd->n_in != 2)
        return -2;
    return nd->in[0] == v ? nd->in[1] : nd->in[1] == v ? nd->in[0] : -2;
}

static int near(const ox_ctx *c, int v, double want)
{
    double x;
    return ox_scalar(c, v, &x) == 0 && fabs(x - want) <= 1e-4 * fabs(want);
}

static int emit_act(ox_ctx *c, int first, int x_v, int out_v, bb_act act)
{
    int x = ox_tensor(c, &c->m->nodes[first], x_v);
    bb_op *op = x < 0 ? NULL : ox_op(c, &c->m->nodes[first], BB_OP_ACT, &x, 1, out_v);
    if (!op)
        return -1;
    op->act = act;
    return 1;
}

/* Div(x, sqrt 2) | Mul(x, 1/sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 */
static int gelu(ox_ctx *c, int i)
{
    const bb_ox_node *d = &c->m->nodes[i];
    int div = !strcmp(d->op_type, "Div");
    if ((!div && strcmp(d->op_type, "Mul")) || d->n_in != 2 || !ox_is_act(c, d->in[0]) ||
        !near(c, d->in[1], div ? sqrt(2.0) : 1.0 / sqrt(2.0)))
        return 0;
    int x = d->in[0], e = sole(c, d->out[0], "Erf");
    int a = e < 0 ? -1 : sole(c, c->m->nodes[e].out[0], "Add");
    if (a < 0 || !near(c, other_input(&c->m->nodes[a], c->m->nodes[e].out[0]), 1.0))
        return 0;
    int m1 = sole(c, c->m->nodes[a].out[0], "Mul");
    if (m1 < 0 || other_input(&c->m->nodes[m1], c->m->nodes[a].out[0]) != x)
        return 0;
    int m2 = sole(c, c->m->nodes[m1].out[0], "Mul");
    if (m2 < 0 || !near(c, other_input(&c->m->nodes[m2], c->m->nodes[m1].out[0]), 0.5))
        return 0;
    c->done[i] = c->done[e] = c->done[a] = c->done[m1] = c->done[m2] = 1;
    return emit_act(c, i, x, c->m->nodes[m2].out[0], BB_ACT_GELU);
}

/* Sigmoid(x) -> Mul(x, .) */
static int silu(ox_ctx *c, int i)
{
    const bb_ox_node *s = &c->m->nodes[i];
    if (strcmp(s->op_type, "Sigmoid") || s->n_in != 1 || !ox_is_act(c, s->in[0]))
        return 0;
    int m = sole(c, s->out[0], "Mul");
    if (m < 0 || other_input(&c->m->nodes[m], s->out[0]) != s->in[0])
        return 0;
    c->done[i] = c->done[m] = 1;
    return emit_act(c, i, s->in[0], c->m->nodes[m].out[0], BB_ACT_SILU);
}

/* MatMul(x, W [K,O]) -> Add(., b [O]) */
static int matmul_bias(ox_ctx *c, int i)
{
    const bb_ox_node *mm = &c->m->nodes[i];
    if (strcmp(mm->op_type, "MatMul") || mm->n_in != 2 || !ox_is_act(c, mm->in[0]) ||
        !ox_is_static(c, mm->in[1]) || c->v2[mm->in[1]].dtype != BB_OX_F32 || c->v2[mm->in[1]].ndim != 2 ||
        c->v2[mm->in[0]].ndim < 2)
        return 0;
    int a = sole(c, mm->out[0], "Add");
    int b = a < 0 ? -2 : other_input(&c->m->nodes[a], mm->out[0]);
    if (b < 0 || !ox_is_static(c, b) || c->v2[b].dtype != BB_OX_F32 || c->v2[b].numel != c->v2[mm->in[1]].dims[1] ||
        c->v2[b].ndim != 1)
        return 0;
    c->done[i] = c->done[a] = 1;
    return ox_lower_matmul_bias(c, mm, &c->v2[b], c->m->nodes[a].out[0]) == 0 ? 1 : -1;
}

int ox_lower_pattern(ox_ctx *c, int i)
{
    int rc = gelu(c, i);
    if (rc == 0)
        rc = silu(c, i);
    if (rc == 0)
        rc = matmul_bias(c, i);
    return rc;
}

/*
 * onnx_patterns.c — several ONNX nodes that mean one graph op, lowered as
 * that op: exporters write GELU out as x * 0.5 * (1 + erf(x / sqrt 2)),
 * its tanh approximation as x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715
 * x^3))), SiLU as x * sigmoid(x), Mish (before opset 18) as x *
 * tanh(softplus(x)), Softsign as x / (1 + |x|),
 * a linear layer as MatMul + Add, and a GroupNorm
 * as Reshape -> InstanceNormalization -> Reshape -> Mul -> Add. Lowered
 * node by node they would run as five, two, two and five passes over
 * memory; as one op the fusion pass can then fold them into the matmul or
 * conv before them, as it does for the zoo, and a group norm runs in the
 * layout of the conv that wrote its input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_params.h"

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

/* The sole reader of v when it is a node of type op whose other input is
 * x (x >= 0), or the constant k (x == -1), or which has no other (x == -2:
 * unary); else -1. */
static int next_of(const ox_ctx *c, int v, const char *op, int x, double k)
{
    int r = sole(c, v, op);
    if (r < 0)
        return -1;
    int o = other_input(&c->m->nodes[r], v);
    if (x == -2)
        return c->m->nodes[r].n_in == 1 ? r : -1;
    return (x >= 0 ? o == x : o >= 0 && near(c, o, k)) ? r : -1;
}

/* x^3 (Mul(x, x) -> Mul(x, .), or Pow(x, 3)) -> Mul 0.044715 -> Add x ->
 * Mul sqrt(2/pi) -> Tanh -> Add 1 -> Mul x -> Mul 0.5 */
static int gelu_tanh(ox_ctx *c, int i)
{
    const bb_ox_node *n = &c->m->nodes[i];
    int chain[9], k = 0, x = n->n_in == 2 ? n->in[0] : -1;
    if (x < 0 || !ox_is_act(c, x))
        return 0;
    chain[k++] = i;
    if (!strcmp(n->op_type, "Mul") && n->in[1] == x) {
        if ((chain[k] = next_of(c, n->out[0], "Mul", x, 0)) < 0)
            return 0;
        k++;
    } else if (strcmp(n->op_type, "Pow") || !near(c, n->in[1], 3.0)) {
        return 0;
    }
    static const struct { const char *op; int x; double k; } rest[] = {
        {"Mul", -1, 0.044715}, {"Add", 0, 0}, {"Mul", -1, 0.7978845608028654}, {"Tanh", -2, 0},
        {"Add", -1, 1.0},      {"Mul", 0, 0}, {"Mul", -1, 0.5},
    };
    for (size_t j = 0; j < sizeof rest / sizeof rest[0]; j++, k++)
        if ((chain[k] = next_of(c, c->m->nodes[chain[k - 1]].out[0], rest[j].op, rest[j].x ? rest[j].x : x,
                                rest[j].k)) < 0)
            return 0;
    for (int j = 0; j < k; j++)
        c->done[chain[j]] = 1;
    return emit_act(c, i, x, c->m->nodes[chain[k - 1]].out[0], BB_ACT_GELU_TANH);
}

/* Abs(x) -> Add 1 -> Div(x, .) */
static int softsign(ox_ctx *c, int i)
{
    const bb_ox_node *a = &c->m->nodes[i];
    if (strcmp(a->op_type, "Abs") || a->n_in != 1 || !ox_is_act(c, a->in[0]))
        return 0;
    int p = next_of(c, a->out[0], "Add", -1, 1.0);
    int d = p < 0 ? -1 : sole(c, c->m->nodes[p].out[0], "Div");
    if (d < 0 || c->m->nodes[d].n_in != 2 || c->m->nodes[d].in[0] != a->in[0] ||
        c->m->nodes[d].in[1] != c->m->nodes[p].out[0])
        return 0;
    c->done[i] = c->done[p] = c->done[d] = 1;
    return emit_act(c, i, a->in[0], c->m->nodes[d].out[0], BB_ACT_SOFTSIGN);
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

/* Softplus(x) -> Tanh -> Mul(x, .) */
static int mish(ox_ctx *c, int i)
{
    const bb_ox_node *s = &c->m->nodes[i];
    if (strcmp(s->op_type, "Softplus") || s->n_in != 1 || !ox_is_act(c, s->in[0]))
        return 0;
    int t = sole(c, s->out[0], "Tanh");
    int m = t < 0 ? -1 : sole(c, c->m->nodes[t].out[0], "Mul");
    if (m < 0 || other_input(&c->m->nodes[m], c->m->nodes[t].out[0]) != s->in[0])
        return 0;
    c->done[i] = c->done[t] = c->done[m] = 1;
    return emit_act(c, i, s->in[0], c->m->nodes[m].out[0], BB_ACT_MISH);
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

/* Per-channel float constant v applied to [N, C, S...] (nd axes): its
 * value for each of the C channels into out (v < 0: fill). 0, out
 * untouched, when v is not constant or not per-channel (another axis over
 * 1). */
static int per_channel(const ox_ctx *c, int v, int nd, int64_t ch, float fill, float *out)
{
    if (v < 0) {
        for (int64_t k = 0; k < ch; k++)
            out[k] = fill;
        return 1;
    }
    const bb_ox_val *a = &c->v2[v];
    if (!ox_is_static(c, v) || a->dtype != BB_OX_F32 || a->ndim > nd - 1)
        return 0;
    int by_channel = 0;
    for (int i = 0; i < a->ndim; i++) {
        int axis = nd - a->ndim + i;
        if (a->dims[i] != 1 && (axis != 1 || a->dims[i] != ch))
            return 0;
        by_channel |= axis == 1 && a->dims[i] == ch && ch > 1;
    }
    const float *f = a->data;
    for (int64_t k = 0; k < ch; k++)
        out[k] = f[by_channel ? k : 0];
    return 1;
}

/* InstanceNormalization's scale or bias v: n float constants into out. */
static int per_group(const ox_ctx *c, int v, int64_t n, float *out)
{
    if (!ox_is_static(c, v) || c->v2[v].dtype != BB_OX_F32 || c->v2[v].ndim != 1 || c->v2[v].numel != n)
        return 0;
    memcpy(out, c->v2[v].data, sizeof(float) * (size_t)n);
    return 1;
}

/* The sole reader of value v when it is of type op and its other input is
 * a constant (into *konst); else -1. */
static int sole_with_const(const ox_ctx *c, int v, const char *op, int *konst)
{
    int r = sole(c, v, op);
    *konst = r < 0 ? -2 : other_input(&c->m->nodes[r], v);
    return *konst >= 0 && !ox_is_act(c, *konst) ? r : -1;
}

/* GroupNorm as torch exports it: Reshape x [N, C, S...] to [N, G, -1] ->
 * InstanceNormalization (scale and bias per group) -> Reshape back to x's
 * shape, then optionally Mul and Add by per-channel constants, and a ReLU
 * (timm's GroupNormAct): one BB_OP_GROUPNORM, the scales and shifts folded
 * into one per channel. */
static int groupnorm(ox_ctx *c, int i)
{
    const bb_ox_node *r1 = &c->m->nodes[i];
    if (strcmp(r1->op_type, "Reshape") || r1->n_in < 1 || !ox_is_act(c, r1->in[0]))
        return 0;
    const bb_ox_val *xv = &c->v2[r1->in[0]], *gv = &c->v2[r1->out[0]];
    int x = ox_tensor(c, r1, r1->in[0]);
    if (x < 0 || c->g->tensors[x].full_rank || xv->ndim < 3 || gv->ndim != 3 || gv->dims[0] != xv->dims[0] ||
        gv->dims[1] < 1 || xv->dims[1] % gv->dims[1] != 0)
        return x < 0 ? -1 : 0;
    const int64_t ch = xv->dims[1], groups = gv->dims[1];
    int in = sole(c, r1->out[0], "InstanceNormalization");
    const bb_ox_node *inn = in < 0 ? NULL : &c->m->nodes[in];
    int r2 = inn && inn->n_in == 3 ? sole(c, inn->out[0], "Reshape") : -1;
    if (r2 < 0 || !ox_same_shape(c, r1->in[0], c->m->nodes[r2].out[0]))
        return 0;
    float *f = malloc(sizeof(float) * (size_t)(4 * ch + 2 * groups));
    if (!f)
        return bb_err_oom(c->err, "%s: out of memory", c->m->path);
    float *w = f, *b = f + ch, *k = f + 2 * ch, *t = f + 3 * ch, *gs = f + 4 * ch, *gb = gs + groups;
    int ok = per_group(c, inn->in[1], groups, gs) && per_group(c, inn->in[2], groups, gb);
    per_channel(c, -1, xv->ndim, ch, 1.f, k); /* no Mul, no Add: x * 1 + 0 */
    per_channel(c, -1, xv->ndim, ch, 0.f, t);
    int last = r2, mul_k = -1, add_t = -1, konst;
    int mul = ok ? sole_with_const(c, c->m->nodes[last].out[0], "Mul", &konst) : -1;
    if (mul >= 0 && per_channel(c, konst, xv->ndim, ch, 1.f, k))
        last = mul, mul_k = konst;
    int add = ok ? sole_with_const(c, c->m->nodes[last].out[0], "Add", &konst) : -1;
    if (add >= 0 && per_channel(c, konst, xv->ndim, ch, 0.f, t))
        last = add, add_t = konst;
    int relu = ok ? sole(c, c->m->nodes[last].out[0], "Relu") : -1;
    bb_ox_params p;
    if (!ok || bb_ox_params_get(c->m, inn, c->v2, &p, c->err) != 0) {
        free(f);
        return ok ? -1 : 0;
    }
    for (int64_t j = 0; j < ch; j++) /* (norm * gs + gb) * k + t */
        w[j] = gs[j / (ch / groups)] * k[j], b[j] = gb[j / (ch / groups)] * k[j] + t[j];
    int wt = ox_const_tensor(c, "gn_scale", BB_T_PARAM, 1, &ch, w);
    int bt = wt < 0 ? -1 : ox_const_tensor(c, "gn_shift", BB_T_PARAM, 1, &ch, b);
    free(f);
    int out = relu >= 0 ? relu : last;
    bb_op *op = bt < 0 ? NULL : ox_op(c, inn, BB_OP_GROUPNORM, &x, 1, c->m->nodes[out].out[0]);
    if (!op)
        return -1;
    op->w = wt, op->b = bt, op->groups = (int)groups, op->eps = p.epsilon;
    op->post_act = relu >= 0 ? BB_ACT_RELU : BB_ACT_NONE;
    c->done[i] = c->done[in] = c->done[r2] = 1;
    if (mul_k >= 0)
        c->done[mul] = 1;
    if (add_t >= 0)
        c->done[add] = 1;
    if (relu >= 0)
        c->done[relu] = 1;
    return 1;
}

int ox_lower_pattern(ox_ctx *c, int i)
{
    int rc = groupnorm(c, i);
    if (rc == 0)
        rc = gelu(c, i);
    if (rc == 0)
        rc = silu(c, i);
    if (rc == 0)
        rc = mish(c, i);
    if (rc == 0)
        rc = gelu_tanh(c, i);
    if (rc == 0)
        rc = softsign(c, i);
    if (rc == 0)
        rc = matmul_bias(c, i);
    return rc;
}

/*
 * onnx_flatten.c — a model with If, Loop and sequences becomes one without
 * (see onnx_flatten.h for what each becomes and what is refused).
 *
 * How: the new model takes the old one's values, initializers, inputs and
 * outputs, and gets its nodes one at a time, each evaluated at batch 2 and
 * 3 as it is appended (onnx_eval.h's stepper), so the next decision can read
 * the values before it. `map` says which value of the new model stands for
 * each value of the old one: a main-graph value is itself; a subgraph's is
 * itself the first time its node is emitted and a new value each time after
 * (a loop body's second iteration); an If's outputs, a body's formal inputs
 * and SequenceAt's output are bound to the values they stand for, with no
 * node of their own.
 */
#include "onnx/onnx_flatten_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_eval.h"
#include "onnx/onnx_tensor.h"


static const char *const SEQUENCE_OPS[] = {"SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceAt",
                                           "SequenceErase", "SequenceLength", "ConcatFromSequence",
                                           "SplitToSequence"};

int bb_ox_flatten_handles(const char *op_type)
{
    if (!strcmp(op_type, "If") || !strcmp(op_type, "Loop") || bb_oxf_is_rnn(op_type))
        return 1;
    for (size_t i = 0; i < sizeof SEQUENCE_OPS / sizeof *SEQUENCE_OPS; i++)
        if (!strcmp(op_type, SEQUENCE_OPS[i]))
            return 1;
    return 0;
}

int bb_ox_flatten_needed(const bb_ox_model *m)
{
    for (int k = 0; k < m->n_nodes; k++)
        if (bb_ox_default_domain(&m->nodes[k]) && bb_ox_flatten_handles(m->nodes[k].op_type))
            return 1;
    return 0;
}

int bb_oxf_oom(const flat *fl)
{
    return bb_err_oom(fl->err, "%s: out of memory", fl->f->path);
}

/* ---- the new model's values and nodes ---------------------------------------------- */

int bb_oxf_value(flat *fl, const char *name, const char *suffix)
{
    bb_ox_model *f = fl->f;
    if (f->n_values >= fl->value_cap) {
        int cap = fl->value_cap * 2 > 64 ? fl->value_cap * 2 : 64;
        bb_ox_value *v = realloc(f->values, sizeof *v * (size_t)cap);
        seqlist *s = v ? realloc(fl->seq, sizeof *s * (size_t)cap) : NULL;
        if (v)
            f->values = v;
        if (!s)
            return bb_oxf_oom(fl);
        fl->seq = s, fl->value_cap = cap;
    }
    size_t len = strlen(name) + strlen(suffix) + 24;
    char *copy = malloc(len);
    if (!copy)
        return bb_oxf_oom(fl);
    snprintf(copy, len, "%s%s", name, suffix);
    int v = f->n_values++;
    f->values[v] = (bb_ox_value){copy, -1, -1};
    fl->seq[v] = (seqlist){-1, NULL};
    return v;
}

int bb_oxf_define(flat *fl, int v)
{
    if (!fl->used[v]) {
        fl->used[v] = 1;
        return fl->map[v] = v;
    }
    char tag[32];
    snprintf(tag, sizeof tag, "@v%d", fl->f->n_values);
    int w = bb_oxf_value(fl, fl->f->values[v].name, tag);
    return w < 0 ? -1 : (fl->map[v] = w);
}

bb_ox_node *bb_oxf_node(flat *fl, const char *name, const char *op_type, int n_in, int n_out, int n_attr)
{
    bb_ox_model *f = fl->f;
    if (f->n_nodes >= fl->max_nodes) {
        bb_err_set(fl->err, "%s: unrolling the graph's loops and recurrences passes %d nodes (a loop of too many "
                   "iterations, or sequences too long)",
                   f->path, fl->max_nodes);
        return NULL;
    }
    if (f->n_nodes >= fl->node_cap) {
        int cap = fl->node_cap ? 2 * fl->node_cap : 64;
        bb_ox_node *nodes = realloc(f->nodes, sizeof *nodes * (size_t)cap);
        if (!nodes) {
            bb_oxf_oom(fl);
            return NULL;
        }
        f->nodes = nodes, fl->node_cap = cap;
    }
    bb_ox_node *n = &f->nodes[f->n_nodes++];
    *n = (bb_ox_node){0};
    size_t len = strlen(name) + strlen(fl->suffix) + 1;
    n->name = malloc(len);
    n->op_type = strdup(op_type);
    n->domain = strdup("");
    n->in = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof(int));
    n->out = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof(int));
    n->attrs = calloc((size_t)(n_attr > 0 ? n_attr : 1), sizeof *n->attrs);
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out || !n->attrs) {
        bb_oxf_oom(fl);
        return NULL;
    }
    snprintf(n->name, len, "%s%s", name, fl->suffix);
    n->n_in = n_in, n->n_out = n_out, n->n_attr = n_attr; /* zeroed attributes free safely */
    return n;
}

int bb_oxf_step(flat *fl)
{
    int k = fl->f->n_nodes - 1;
    for (int i = 0; i < fl->f->nodes[k].n_out; i++)
        if (fl->f->nodes[k].out[i] >= 0)
            fl->f->values[fl->f->nodes[k].out[i]].producer = k;
    return bb_ox_step(fl->s2, fl->f, k, fl->err) || bb_ox_step(fl->s3, fl->f, k, fl->err) ? -1 : 0;
}

int bb_oxf_const(flat *fl, const char *name, bb_ox_dtype dtype, int ndim, const void *data, int64_t n)
{
    const size_t elem = dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
    bb_ox_node *nd = bb_oxf_node(fl, name, "Constant", 0, 1, 1);
    bb_ox_attr *a = nd ? &nd->attrs[0] : NULL;
    if (!nd || !(a->name = strdup("value")) || !(a->t = calloc(1, sizeof *a->t)) ||
        !(a->t->data = malloc(elem * (size_t)(n > 0 ? n : 1))))
        return nd ? bb_oxf_oom(fl) : -1;
    a->type = BB_OX_ATTR_TENSOR;
    *a->t = (bb_ox_tensor){dtype, ndim, {ndim ? n : 0}, n, a->t->data};
    memcpy(a->t->data, data, elem * (size_t)n);
    int v = bb_oxf_value(fl, nd->name, "");
    if (v < 0)
        return -1;
    nd->out[0] = v;
    return bb_oxf_step(fl) ? -1 : v;
}

int bb_oxf_ints(flat *fl, const char *name, int ndim, const int64_t *data, int64_t n)
{
    return bb_oxf_const(fl, name, BB_OX_I64, ndim, data, n);
}

/* ---- reading decisions --------------------------------------------------------------- */

static int is_seq(const flat *fl, int fv)
{
    return fv >= 0 && fl->seq[fv].n >= 0;
}

/* f's value fv as one integer known from shapes alone: the same constant
 * at both batch sizes. `what` names it in the error. */
static int known_int(flat *fl, const bb_ox_node *nd, int fv, const char *what, int64_t *out)
{
    const bb_ox_val *a = bb_ox_step_val(fl->s2, fv), *b = bb_ox_step_val(fl->s3, fv);
    const char *name = fv >= 0 ? fl->f->values[fv].name : "?";
    if (is_seq(fl, fv) || !a || !b || a->ndim < 0)
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s ('%s') is not a tensor", what, name);
    if ((!a->is_const && a->past_limits) || (!b->is_const && b->past_limits))
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s ('%s') is computed from constants, but past the constant "
                              "folder's limits (src/onnx/onnx_eval.h)", what, name);
    if (!a->is_const || !b->is_const)
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s ('%s') depends on the input's data; batchbench imports "
                              "control flow whose every decision follows from shapes alone", what, name);
    if (a->numel != 1 || b->numel != 1)
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s ('%s') has %lld elements, expected 1", what, name,
                              (long long)a->numel);
    double x = a->dtype == BB_OX_F32 ? ((const float *)a->data)[0] : (double)((const int64_t *)a->data)[0];
    double y = b->dtype == BB_OX_F32 ? ((const float *)b->data)[0] : (double)((const int64_t *)b->data)[0];
    if (x != y)
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s ('%s') is %g at batch 2 and %g at batch 3: the control "
                              "flow depends on the batch size, which batchbench's one graph per file cannot follow",
                              what, name, x, y);
    *out = a->dtype == BB_OX_F32 ? (x != 0) : ((const int64_t *)a->data)[0];
    return 0;
}

/* The subgraph in attribute `name` of nd. */
static const bb_ox_graph *subgraph(flat *fl, const bb_ox_node *nd, const char *name)
{
    const bb_ox_attr *a = bb_ox_attr_find(nd, name);
    if (!a || a->type != BB_OX_ATTR_GRAPH || a->i < 0 || a->i >= fl->m->n_graphs) {
        bb_ox_node_err(fl->err, fl->f, nd, "has no subgraph '%s'", name);
        return NULL;
    }
    return &fl->m->graphs[a->i];
}

/* ---- nodes --------------------------------------------------------------------------- */

static int flatten_nodes(flat *fl, const bb_ox_node *nodes, int n);

/* nd as it is, its inputs and outputs mapped. */
static int copy_node(flat *fl, const bb_ox_node *nd)
{
    for (int i = 0; i < nd->n_in; i++)
        if (nd->in[i] >= 0 && is_seq(fl, fl->map[nd->in[i]]))
            return bb_ox_node_err(fl->err, fl->f, nd, "reads the sequence '%s'; batchbench runs sequences only "
                                  "through the sequence ops", fl->f->values[nd->in[i]].name);
    bb_ox_node *n = bb_oxf_node(fl, nd->name, nd->op_type, nd->n_in, nd->n_out, nd->n_attr);
    if (!n)
        return -1;
    free(n->domain);
    if (!(n->domain = strdup(nd->domain ? nd->domain : "")))
        return bb_oxf_oom(fl);
    for (int i = 0; i < nd->n_in; i++)
        n->in[i] = nd->in[i] < 0 ? -1 : fl->map[nd->in[i]];
    for (int i = 0; i < nd->n_attr; i++)
        if (bb_oxt_attr_copy(&nd->attrs[i], &n->attrs[i]) != 0)
            return bb_oxf_oom(fl);
    for (int i = 0; i < nd->n_out; i++)
        if ((n->out[i] = nd->out[i] < 0 ? -1 : bb_oxf_define(fl, nd->out[i])) < 0 && nd->out[i] >= 0)
            return -1;
    return bb_oxf_step(fl);
}

static int do_if(flat *fl, const bb_ox_node *nd)
{
    int64_t cond;
    if (nd->n_in != 1 || nd->in[0] < 0)
        return bb_ox_node_err(fl->err, fl->f, nd, "%d inputs, expected the condition alone", nd->n_in);
    if (known_int(fl, nd, fl->map[nd->in[0]], "condition", &cond) != 0)
        return -1;
    const bb_ox_graph *g = subgraph(fl, nd, cond ? "then_branch" : "else_branch");
    if (!g)
        return -1;
    if (g->n_inputs || g->n_outputs != nd->n_out)
        return bb_ox_node_err(fl->err, fl->f, nd, "its %s branch has %d inputs and %d outputs (expected none and "
                              "%d)", cond ? "then" : "else", g->n_inputs, g->n_outputs, nd->n_out);
    if (flatten_nodes(fl, g->nodes, g->n_nodes) != 0)
        return -1;
    for (int i = 0; i < nd->n_out; i++)
        if (nd->out[i] >= 0)
            fl->map[nd->out[i]] = fl->map[g->outputs[i]];
    return 0;
}

/* A new value holding a copy of list (n tensors) as a sequence. */
static int new_seq(flat *fl, int v, const int *list, int n)
{
    int fv = bb_oxf_define(fl, v);
    if (fv < 0)
        return -1;
    int *copy = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!copy)
        return bb_oxf_oom(fl);
    if (n)
        memcpy(copy, list, sizeof(int) * (size_t)n);
    fl->seq[fv] = (seqlist){n, copy};
    return 0;
}

/* One Concat of n tensors along axis, defining m's value out; with
 * unsqueeze, each gets that axis first (a Loop's scan output: axis 0;
 * ConcatFromSequence with new_axis). */
static int emit_stack(flat *fl, const bb_ox_node *nd, const int *vals, int n, int out, int64_t axis, int unsqueeze)
{
    int axes = unsqueeze ? bb_oxf_ints(fl, "axes", 1, &axis, 1) : -1;
    if (unsqueeze && axes < 0)
        return -1;
    int *parts = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!parts)
        return bb_oxf_oom(fl);
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        parts[i] = vals[i];
        if (!unsqueeze)
            continue;
        bb_ox_node *u = bb_oxf_node(fl, nd->name, "Unsqueeze", 2, 1, 0);
        if (!u || (parts[i] = bb_oxf_value(fl, nd->name, "/unsqueezed")) < 0)
            rc = -1;
        else
            u->in[0] = vals[i], u->in[1] = axes, u->out[0] = parts[i], rc = bb_oxf_step(fl);
    }
    bb_ox_node *c = rc == 0 ? bb_oxf_node(fl, nd->name, "Concat", n, 1, 1) : NULL;
    if (c && (c->attrs[0].name = strdup("axis")) != NULL) {
        c->attrs[0].type = BB_OX_ATTR_INT;
        c->attrs[0].i = axis;
        memcpy(c->in, parts, sizeof(int) * (size_t)n);
        rc = (c->out[0] = bb_oxf_define(fl, out)) < 0 ? -1 : bb_oxf_step(fl);
    } else {
        rc = c ? bb_oxf_oom(fl) : -1;
    }
    free(parts);
    return rc;
}

/* One iteration of a Loop's body: i, the condition (true) and the carried
 * values cur bound to its formal inputs; then cur, *cond and the scans'
 * lists from its outputs. */
static int loop_iteration(flat *fl, const bb_ox_node *nd, const bb_ox_graph *body, int64_t i, int *cur, int n_carried,
                          int64_t *cond, seqlist *scans)
{
    int64_t one = 1;
    size_t len = strlen(fl->suffix);
    snprintf(fl->suffix + len, sizeof fl->suffix - len, "@%lld", (long long)i);
    int iv = bb_oxf_ints(fl, "iteration", 0, &i, 1), cv = iv < 0 ? -1 : bb_oxf_ints(fl, "condition", 0, &one, 1);
    if (cv < 0)
        return -1;
    fl->map[body->inputs[0]] = iv;
    fl->map[body->inputs[1]] = cv;
    for (int j = 0; j < n_carried; j++)
        fl->map[body->inputs[2 + j]] = cur[j];
    if (flatten_nodes(fl, body->nodes, body->n_nodes) != 0)
        return -1;
    fl->suffix[len] = '\0';
    if (known_int(fl, nd, fl->map[body->outputs[0]], "body's condition", cond) != 0)
        return -1;
    for (int j = 0; j < n_carried; j++)
        cur[j] = fl->map[body->outputs[1 + j]];
    for (int k = 0; k < body->n_outputs - 1 - n_carried; k++) {
        seqlist *s = &scans[k];
        int *v = realloc(s->v, sizeof(int) * (size_t)(s->n + 1));
        if (!v)
            return bb_oxf_oom(fl);
        s->v = v;
        s->v[s->n++] = fl->map[body->outputs[1 + n_carried + k]];
        if (is_seq(fl, s->v[s->n - 1]))
            return bb_ox_node_err(fl->err, fl->f, nd, "scan output %d is a sequence (not supported)", k);
    }
    return 0;
}

static int loop_bounds(flat *fl, const bb_ox_node *nd, int64_t *trip, int64_t *cond)
{
    *trip = INT64_MAX, *cond = 1;
    if (nd->n_in > 0 && nd->in[0] >= 0 && known_int(fl, nd, fl->map[nd->in[0]], "trip count", trip) != 0)
        return -1;
    if (nd->n_in > 1 && nd->in[1] >= 0 && known_int(fl, nd, fl->map[nd->in[1]], "condition", cond) != 0)
        return -1;
    if ((nd->n_in < 1 || nd->in[0] < 0) && (nd->n_in < 2 || nd->in[1] < 0))
        return bb_ox_node_err(fl->err, fl->f, nd, "has neither a trip count nor a condition (a loop without end)");
    return 0;
}

static int do_loop(flat *fl, const bb_ox_node *nd)
{
    const bb_ox_graph *body = subgraph(fl, nd, "body");
    if (!body)
        return -1;
    const int n_carried = nd->n_in - 2, n_scans = body->n_outputs - 1 - n_carried;
    if (n_carried < 0 || body->n_inputs != 2 + n_carried || n_scans < 0 || nd->n_out > n_carried + n_scans)
        return bb_ox_node_err(fl->err, fl->f, nd, "%d inputs and %d outputs, its body %d inputs and %d outputs: "
                              "they do not match", nd->n_in, nd->n_out, body->n_inputs, body->n_outputs);
    int64_t trip, cond;
    if (loop_bounds(fl, nd, &trip, &cond) != 0)
        return -1;
    int *cur = malloc(sizeof(int) * (size_t)(n_carried + 1));
    seqlist *scans = calloc((size_t)(n_scans + 1), sizeof *scans);
    int rc = cur && scans ? 0 : bb_oxf_oom(fl);
    for (int j = 0; rc == 0 && j < n_carried; j++)
        if ((cur[j] = nd->in[2 + j] >= 0 ? fl->map[nd->in[2 + j]] : -1) < 0)
            rc = bb_ox_node_err(fl->err, fl->f, nd, "carried value %d is omitted", j);
    for (int64_t i = 0; rc == 0 && i < trip && cond; i++)
        rc = fl->f->n_nodes + body->n_nodes + 2 > fl->max_nodes
                 ? bb_ox_node_err(fl->err, fl->f, nd, "unrolled for %lld iterations, the graph passes %d nodes (a loop "
                                  "of too many iterations)", (long long)i, fl->max_nodes)
                 : loop_iteration(fl, nd, body, i, cur, n_carried, &cond, scans);
    for (int j = 0; rc == 0 && j < nd->n_out; j++) {
        int out = nd->out[j];
        if (out < 0)
            continue;
        if (j < n_carried)
            fl->map[out] = cur[j];
        else if (!scans[j - n_carried].n)
            rc = bb_ox_node_err(fl->err, fl->f, nd, "scan output %d of a loop that ran no iteration", j - n_carried);
        else
            rc = emit_stack(fl, nd, scans[j - n_carried].v, scans[j - n_carried].n, out, 0, 1);
    }
    for (int k = 0; scans && k < n_scans; k++)
        free(scans[k].v);
    free(scans);
    free(cur);
    return rc;
}

/* ---- sequences ----------------------------------------------------------------------- */

/* Input i of nd as a sequence. */
static const seqlist *seq_in(flat *fl, const bb_ox_node *nd, int i)
{
    int fv = nd->n_in > i && nd->in[i] >= 0 ? fl->map[nd->in[i]] : -1;
    if (!is_seq(fl, fv)) {
        bb_ox_node_err(fl->err, fl->f, nd, "input %d is not a sequence", i);
        return NULL;
    }
    return &fl->seq[fv];
}

/* Optional input i as a position in a sequence of n (insert: 0..n, else
 * 0..n-1; negative counts from the end); dflt when omitted. */
static int seq_pos(flat *fl, const bb_ox_node *nd, int i, int n, int insert, int64_t dflt, int64_t *pos)
{
    *pos = dflt;
    if (nd->n_in > i && nd->in[i] >= 0 && known_int(fl, nd, fl->map[nd->in[i]], "position", pos) != 0)
        return -1;
    int64_t p = *pos < 0 ? *pos + n : *pos;
    if (p < 0 || p > n - !insert)
        return bb_ox_node_err(fl->err, fl->f, nd, "position %lld is outside a sequence of %d", (long long)*pos, n);
    *pos = p;
    return 0;
}

/* The sizes SplitToSequence cuts a dim of `dim` into: its 'split' input's
 * (1-D), pieces of its size (a scalar; the last smaller), or 1s without it.
 * *sizes is malloc'd, *n its count. */
static int split_sizes(flat *fl, const bb_ox_node *nd, int64_t dim, int64_t **sizes, int64_t *n)
{
    int sv = nd->n_in > 1 && nd->in[1] >= 0 ? fl->map[nd->in[1]] : -1;
    const bb_ox_val *given = sv >= 0 ? bb_ox_step_val(fl->s2, sv) : NULL;
    int64_t piece = 1;
    if (given && given->ndim == 1 && given->is_const && given->dtype == BB_OX_I64) {
        *n = given->numel; /* as given: the Split checks that they add up */
    } else {
        if (given && known_int(fl, nd, sv, "split", &piece) != 0)
            return -1;
        if (piece < 1)
            return bb_ox_node_err(fl->err, fl->f, nd, "split %lld (expected 1 or more)", (long long)piece);
        *n = (dim + piece - 1) / piece;
    }
    if (*n < 1 || *n > fl->max_nodes)
        return bb_ox_node_err(fl->err, fl->f, nd, "%lld pieces (expected 1 to %d)", (long long)*n, fl->max_nodes);
    if (!(*sizes = malloc(sizeof(int64_t) * (size_t)*n)))
        return bb_oxf_oom(fl);
    for (int64_t i = 0; i < *n; i++)
        (*sizes)[i] = given && given->ndim == 1 ? ((const int64_t *)given->data)[i]
                    : i < *n - 1              ? piece
                                              : dim - piece * (*n - 1);
    return 0;
}

/* parts[i] = Squeeze(parts[i], axis) for each of n. */
static int squeeze_each(flat *fl, const bb_ox_node *nd, int *parts, int64_t n, int64_t axis)
{
    int av = bb_oxf_ints(fl, "axes", 1, &axis, 1);
    for (int64_t i = 0; av >= 0 && i < n; i++) {
        bb_ox_node *q = bb_oxf_node(fl, nd->name, "Squeeze", 2, 1, 0);
        int y = q ? bb_oxf_value(fl, nd->name, "/squeezed") : -1;
        if (y < 0)
            return -1;
        q->in[0] = parts[i], q->in[1] = av, q->out[0] = parts[i] = y;
        if (bb_oxf_step(fl) != 0)
            return -1;
    }
    return av < 0 ? -1 : 0;
}

/* SplitToSequence: one Split (each piece squeezed when there is no 'split'
 * input and keepdims is 0). */
static int split_to_sequence(flat *fl, const bb_ox_node *nd)
{
    int x = nd->n_in > 0 && nd->in[0] >= 0 ? fl->map[nd->in[0]] : -1;
    const bb_ox_val *a = bb_ox_step_val(fl->s2, x), *b = bb_ox_step_val(fl->s3, x);
    if (!a || !b || a->ndim < 1 || is_seq(fl, x))
        return bb_ox_node_err(fl->err, fl->f, nd, "its input is not a tensor of rank 1 or more");
    int64_t axis = bb_ox_attr_int(nd, "axis", 0), n = 0, *sizes = NULL;
    axis += axis < 0 ? a->ndim : 0;
    if (axis < 0 || axis >= a->ndim)
        return bb_ox_node_err(fl->err, fl->f, nd, "axis %lld is outside rank %d", (long long)axis, a->ndim);
    if (a->dims[axis] != b->dims[axis])
        return bb_ox_node_err(fl->err, fl->f, nd, "splits along the batch axis (not supported)");
    if (split_sizes(fl, nd, a->dims[axis], &sizes, &n) != 0)
        return -1;
    int *parts = malloc(sizeof(int) * (size_t)n);
    int sv = parts ? bb_oxf_ints(fl, "split", 1, sizes, n) : bb_oxf_oom(fl);
    bb_ox_node *sp = sv >= 0 ? bb_oxf_node(fl, nd->name, "Split", 2, (int)n, 1) : NULL;
    int rc = !sp ? -1 : (sp->attrs[0].name = strdup("axis")) ? 0 : bb_oxf_oom(fl);
    if (rc == 0) {
        sp->attrs[0].type = BB_OX_ATTR_INT, sp->attrs[0].i = axis;
        sp->in[0] = x, sp->in[1] = sv;
        for (int64_t i = 0; rc == 0 && i < n; i++)
            rc = (sp->out[i] = parts[i] = bb_oxf_value(fl, nd->name, "/piece")) < 0 ? -1 : 0;
        rc = rc ? rc : bb_oxf_step(fl);
    }
    int no_split = nd->n_in < 2 || nd->in[1] < 0;
    if (rc == 0 && no_split && !bb_ox_attr_int(nd, "keepdims", 1))
        rc = squeeze_each(fl, nd, parts, n, axis);
    if (rc == 0)
        rc = new_seq(fl, nd->out[0], parts, (int)n);
    free(sizes);
    free(parts);
    return rc;
}

static int do_sequence(flat *fl, const bb_ox_node *nd)
{
    const char *op = nd->op_type;
    int out = nd->out[0];
    if (out < 0)
        return 0;
    if (!strcmp(op, "SequenceEmpty"))
        return new_seq(fl, out, NULL, 0);
    if (!strcmp(op, "SplitToSequence"))
        return split_to_sequence(fl, nd);
    if (!strcmp(op, "SequenceConstruct")) {
        int *parts = malloc(sizeof(int) * (size_t)(nd->n_in > 0 ? nd->n_in : 1)), rc = parts ? 0 : bb_oxf_oom(fl);
        for (int i = 0; rc == 0 && i < nd->n_in; i++)
            if ((parts[i] = nd->in[i] >= 0 ? fl->map[nd->in[i]] : -1) < 0 || is_seq(fl, parts[i]))
                rc = bb_ox_node_err(fl->err, fl->f, nd, "input %d is not a tensor", i);
        rc = rc ? rc : new_seq(fl, out, parts, nd->n_in);
        free(parts);
        return rc;
    }
    const seqlist *s = seq_in(fl, nd, 0);
    if (!s)
        return -1;
    int64_t pos;
    if (!strcmp(op, "SequenceLength")) {
        int64_t n = s->n;
        int v = bb_oxf_ints(fl, nd->name, 0, &n, 1);
        return v < 0 ? -1 : (fl->map[out] = v, 0);
    }
    if (!strcmp(op, "SequenceAt")) {
        if (seq_pos(fl, nd, 1, s->n, 0, 0, &pos) != 0)
            return -1;
        fl->map[out] = s->v[pos];
        return 0;
    }
    if (!strcmp(op, "ConcatFromSequence")) {
        const bb_ox_attr *a = bb_ox_attr_find(nd, "axis");
        if (!a || a->type != BB_OX_ATTR_INT)
            return bb_ox_node_err(fl->err, fl->f, nd, "has no int attribute 'axis'");
        if (!s->n)
            return bb_ox_node_err(fl->err, fl->f, nd, "concatenates an empty sequence");
        return emit_stack(fl, nd, s->v, s->n, out, a->i, bb_ox_attr_int(nd, "new_axis", 0) != 0);
    }
    int insert = !strcmp(op, "SequenceInsert");
    if (seq_pos(fl, nd, insert ? 2 : 1, s->n, insert, insert ? s->n : -1, &pos) != 0)
        return -1;
    int *list = malloc(sizeof(int) * (size_t)(s->n + 1));
    if (!list)
        return bb_oxf_oom(fl);
    int n = 0, t = insert && nd->n_in > 1 && nd->in[1] >= 0 ? fl->map[nd->in[1]] : -1;
    if (insert && (t < 0 || is_seq(fl, t))) {
        free(list);
        return bb_ox_node_err(fl->err, fl->f, nd, "inserts no tensor");
    }
    for (int i = 0; i <= s->n; i++) {
        if (i == pos && insert)
            list[n++] = t;
        if (i < s->n && (insert || i != pos))
            list[n++] = s->v[i];
    }
    int rc = new_seq(fl, out, list, n);
    free(list);
    return rc;
}

static int flatten_node(flat *fl, const bb_ox_node *nd)
{
    if (!bb_ox_default_domain(nd))
        return copy_node(fl, nd);
    if (!strcmp(nd->op_type, "If"))
        return do_if(fl, nd);
    if (!strcmp(nd->op_type, "Loop"))
        return do_loop(fl, nd);
    if (bb_oxf_is_rnn(nd->op_type))
        return bb_oxf_rnn(fl, nd);
    if (bb_ox_flatten_handles(nd->op_type))
        return nd->n_out < 1 ? 0 : do_sequence(fl, nd);
    if (!strcmp(nd->op_type, "Identity") && nd->n_in == 1 && nd->n_out == 1 && nd->in[0] >= 0 &&
        nd->out[0] >= 0 && is_seq(fl, fl->map[nd->in[0]])) {
        fl->map[nd->out[0]] = fl->map[nd->in[0]];
        return 0;
    }
    return copy_node(fl, nd);
}

static int flatten_nodes(flat *fl, const bb_ox_node *nodes, int n)
{
    for (int k = 0; k < n; k++)
        if (flatten_node(fl, &nodes[k]) != 0)
            return -1;
    return 0;
}

/* ---- the model ----------------------------------------------------------------------- */

/* f takes m's values, initializers, inputs and outputs (m keeps its nodes
 * and subgraphs, which the flattening reads). */
static int take_over(flat *fl, bb_ox_model *m)
{
    bb_ox_model *f = fl->f;
    f->path = strdup(m->path);
    f->producer = m->producer ? strdup(m->producer) : NULL;
    f->graph_name = m->graph_name ? strdup(m->graph_name) : NULL;
    f->ir_version = m->ir_version, f->opset = m->opset;
    f->values = m->values, f->n_values = m->n_values, fl->value_cap = m->n_values;
    f->inits = m->inits, f->n_inits = m->n_inits, f->init_value = m->init_value;
    f->inputs = m->inputs, f->n_inputs = m->n_inputs;
    f->outputs = m->outputs, f->n_outputs = m->n_outputs;
    m->values = NULL, m->inits = NULL, m->init_value = NULL, m->inputs = NULL, m->outputs = NULL;
    m->n_inits = m->n_inputs = m->n_outputs = 0; /* m->n_values stays: its nodes index them */
    fl->n_orig = f->n_values;
    fl->map = malloc(sizeof(int) * (size_t)(fl->n_orig + 1));
    fl->used = calloc((size_t)fl->n_orig + 1, 1);
    fl->seq = calloc((size_t)fl->value_cap + 1, sizeof *fl->seq);
    if (!f->path || (m->producer && !f->producer) || (m->graph_name && !f->graph_name) || !fl->map || !fl->used ||
        !fl->seq)
        return bb_oxf_oom(fl);
    for (int v = 0; v < fl->n_orig; v++) {
        fl->map[v] = v;
        f->values[v].producer = -1;
        fl->seq[v] = (seqlist){-1, NULL};
    }
    return 0;
}

/* The graph's outputs, mapped; none a sequence. */
static int map_outputs(flat *fl)
{
    bb_ox_model *f = fl->f;
    for (int i = 0; i < f->n_outputs; i++) {
        int v = fl->map[f->outputs[i].value];
        if (is_seq(fl, v))
            return bb_err_set(fl->err, "%s: output '%s' is a sequence; batchbench runs graphs whose outputs are "
                              "tensors", f->path, f->values[v].name);
        f->outputs[i].value = v;
    }
    return 0;
}

bb_ox_model *bb_ox_flatten(bb_ox_model *m, bb_err *err)
{
    if (!bb_ox_flatten_needed(m))
        return m;
    int64_t nodes = m->n_nodes;
    for (int g = 0; g < m->n_graphs; g++)
        nodes += m->graphs[g].n_nodes;
    flat fl = {.m = m, .f = calloc(1, sizeof *fl.f), .err = err,
               .max_nodes = (int)(2 * nodes > BB_OX_FLAT_MIN_NODES ? 2 * nodes : BB_OX_FLAT_MIN_NODES)};
    /* what the flat model needs of m's values (its subgraphs' all): before f takes them */
    unsigned char *need = bb_ox_data_needed(m);
    int rc = !fl.f || !need ? bb_err_oom(err, "%s: out of memory", m->path) : take_over(&fl, m);
    if (rc == 0 && (!(fl.s2 = bb_ox_step_begin(fl.f, 2, err)) || !(fl.s3 = bb_ox_step_begin(fl.f, 3, err))))
        rc = -1;
    if (rc == 0) {
        fl.need = need;
        bb_ox_step_need(fl.s2, need, fl.n_orig);
        bb_ox_step_need(fl.s3, need, fl.n_orig);
    }
    if (rc == 0)
        rc = flatten_nodes(&fl, m->nodes, m->n_nodes);
    if (rc == 0)
        rc = map_outputs(&fl);
    for (int v = 0; fl.seq && v < fl.f->n_values; v++)
        free(fl.seq[v].v);
    free(fl.seq);
    free(fl.map);
    free(fl.used);
    bb_ox_step_free(fl.s2);
    bb_ox_step_free(fl.s3);
    free(need);
    bb_ox_free(m);
    if (rc != 0) {
        bb_ox_free(fl.f);
        return NULL;
    }
    return fl.f;
}

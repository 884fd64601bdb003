/*
 * onnx_eval.c — the evaluator's driver: walks an ONNX graph (already in
 * topological order) at one batch size, giving every value its dtype and
 * dims through the op table (onnx_ops.c), and its data when the constant
 * folder (onnx_fold.c) can compute it within its budget.
 *
 * Why it exists: see onnx_eval.h. Here: the checks every node gets (its
 * input and output counts, inputs defined before they are read, outputs
 * defined once), the folder's budget, the graph's inputs and initializers,
 * and freeing computed integer values once their last reader has run.
 */
#include "onnx/onnx_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_fold.h"
#include "onnx/onnx_ops.h"

/* ---- the driver ------------------------------------------------------------------------ */

/* Inputs defined, outputs not yet (and not twice in the node). */
static int check_node_values(const bb_ox_ctx *c, bb_ox_val *v)
{
    const bb_ox_node *nd = c->nd;
    for (int i = 0; i < nd->n_in; i++)
        if (nd->in[i] >= c->m->n_values || (nd->in[i] >= 0 && v[nd->in[i]].ndim < 0))
            return bb_ox_cerr(c, "input %d ('%s') is read before it is defined", i,
                              nd->in[i] >= c->m->n_values ? "?" : bb_ox_in_name(c, i));
    int rc = 0;
    for (int i = 0; i < nd->n_out; i++) {
        int k = nd->out[i];
        if (k >= c->m->n_values || (k >= 0 && v[k].ndim != -1)) {
            rc = bb_ox_cerr(c, "output %d ('%s') is defined twice", i,
                            k >= c->m->n_values ? "?" : c->m->values[k].name);
            break;
        }
        if (k >= 0)
            v[k].ndim = -2; /* taken, until the shape function sets it */
    }
    for (int i = 0; i < nd->n_out; i++)
        if (nd->out[i] >= 0 && nd->out[i] < c->m->n_values && v[nd->out[i]].ndim == -2)
            v[nd->out[i]].ndim = -1;
    return rc;
}

/* What the constant folder has spent in one evaluation, and may spend;
 * the most elements one result may have. */
typedef struct {
    int64_t bytes, work;
    int64_t max_bytes, max_work, max_elems;
} budget;

/* onnx_eval.h's limits, or BB_OX_FOLD_PER_WEIGHT and
 * BB_OX_FOLD_WORK_PER_WEIGHT times the file's own weights where that is
 * more, and results of as many elements as its weights: weight
 * standardisation (NFNet, BiT) computes every conv's weights again, a few
 * times over (dm_nfnet_f0's last conv: 4.7M weights), and MViTv2 builds the
 * indices of its attention scores ([N, 1, 3136, 196, 4]: 7.4M at batch 3,
 * of 24M weights). */
static budget budget_for(const bb_ox_model *m)
{
    int64_t w = 0;
    for (int i = 0; i < m->n_inits; i++)
        w += m->inits[i].numel > 0 && w < INT64_MAX / 2 ? m->inits[i].numel : 0;
    w = w < INT64_MAX / (8 * BB_OX_FOLD_WORK_PER_WEIGHT) ? w : INT64_MAX / (8 * BB_OX_FOLD_WORK_PER_WEIGHT);
    const int64_t bytes = w * BB_OX_FOLD_PER_WEIGHT * 8, work = w * BB_OX_FOLD_WORK_PER_WEIGHT;
    return (budget){0, 0, bytes > BB_OX_FOLD_MAX_BYTES ? bytes : BB_OX_FOLD_MAX_BYTES,
                    work > BB_OX_FOLD_MAX_WORK ? work : BB_OX_FOLD_MAX_WORK,
                    w > BB_OX_FOLD_MAX_ELEMS ? w : BB_OX_FOLD_MAX_ELEMS};
}

/* Whether node c is computed: 1 when every input is constant and it is
 * within the limits of onnx_eval.h (then charged to *b), 2 when it is past
 * them, else 0. */
static int foldable(const bb_ox_ctx *c, const bb_ox_op *op, budget *b)
{
    if (!op->fold || (bb_ox_out(c, 0) && bb_ox_out(c, 0)->is_const))
        return 0;
    int64_t bytes = 0, work = 0;
    int past = 0; /* an input is itself computed from constants, past the limits */
    for (int i = 0; i < c->nd->n_in - !!(op->flags & F_TYPE_LAST); i++) {
        const bb_ox_val *x = bb_ox_in(c, i);
        if (x && !x->is_const && !x->past_limits && !x->shape_only)
            return 0;
        past |= x && !x->is_const;
        work += x ? x->numel : 0;
    }
    if (past)
        return 2;
    for (int i = 0; i < c->nd->n_out; i++) {
        const bb_ox_val *o = bb_ox_out(c, i);
        if (o && o->numel > b->max_elems)
            return 2;
        bytes += o ? o->numel * 8 : 0;
        work += o ? o->numel : 0;
    }
    /* a Conv's, MatMul's or Gemm's multiply-adds, which its elements do not bound */
    int64_t extra = bb_ox_fold_nn_work(c);
    if (b->bytes + bytes > b->max_bytes || extra > b->max_work || b->work + work + extra > b->max_work)
        return 2;
    work += extra;
    b->bytes += bytes;
    b->work += work;
    return 1;
}

/* A computed float output holds parameters when some float input does. */
static void mark_from_weights(bb_ox_ctx *c)
{
    int any = 0;
    for (int i = 0; i < c->nd->n_in; i++)
        any |= bb_ox_in(c, i) && bb_ox_in(c, i)->from_weights;
    for (int i = 0; any && i < c->nd->n_out; i++)
        if (bb_ox_out(c, i) && bb_ox_out(c, i)->is_const && bb_ox_out(c, i)->dtype == BB_OX_F32)
            bb_ox_out(c, i)->from_weights = 1;
}

/* Which values' data is needed (bb_ox_data_needed): value v's when flag
 * is NULL, v >= n or flag[v]. */
typedef struct {
    const unsigned char *flag;
    int n;
} need_map;

/* Whether the outputs of node c are left shape only: none is needed, and
 * they are not small. Small ones are computed all the same: a shape
 * function reads its parameters' data (an Expand's shape, a Slice's starts)
 * even where the data of its output is not needed. */
static int shape_only(bb_ox_ctx *c, const need_map *need)
{
    if (!need->flag)
        return 0;
    int64_t numel = 0;
    for (int i = 0; i < c->nd->n_out; i++) {
        if (c->nd->out[i] >= 0 && (c->nd->out[i] >= need->n || need->flag[c->nd->out[i]]))
            return 0;
        numel += bb_ox_out(c, i) ? bb_ox_out(c, i)->numel : 0;
    }
    if (numel <= BB_OX_FOLD_SMALL)
        return 0;
    for (int i = 0; i < c->nd->n_out; i++)
        if (bb_ox_out(c, i) && !bb_ox_out(c, i)->is_const)
            bb_ox_out(c, i)->shape_only = 1;
    return 1;
}

/* Node k: its outputs' shapes, and their data where the folder computes
 * them and they are needed. */
static int eval_node(const bb_ox_model *m, bb_ox_val *v, int k, budget *b, const need_map *need, bb_err *err)
{
    bb_ox_ctx c = {.m = m, .nd = &m->nodes[k], .v = v, .w = v, .err = err};
    const bb_ox_node *nd = c.nd;
    const bb_ox_op *op = bb_ox_default_domain(nd) ? bb_ox_find_op(nd->op_type) : NULL;
    if (!op)
        return bb_ox_cerr(&c, "unsupported op type '%s'%s%s", nd->op_type ? nd->op_type : "?",
                          nd->domain && nd->domain[0] ? " in domain " : "", nd->domain ? nd->domain : "");
    if (nd->n_in < op->min_in || nd->n_in > op->max_in || nd->n_out < 1 || nd->n_out > op->max_out) {
        char in[32], out[32];
        snprintf(in, sizeof in, op->max_in < BB_OX_VAR ? "%d..%d" : "%d or more", op->min_in, op->max_in);
        snprintf(out, sizeof out, op->max_out < BB_OX_VAR ? "1..%d" : "1 or more", op->max_out);
        return bb_ox_cerr(&c, "%d inputs and %d outputs (expected %s inputs, %s outputs)", nd->n_in, nd->n_out,
                          in, out);
    }
    for (int i = 0; i < op->min_in; i++)
        if (!bb_ox_in(&c, i))
            return bb_ox_cerr(&c, "required input %d is missing", i);
    c.flags = op->flags;
    if (check_node_values(&c, v) < 0)
        return -1;
    if (op->shape(&c) < 0)
        return -1;
    int empty = 1; /* every output of no elements */
    for (int i = 0; i < nd->n_out; i++) {
        if (bb_ox_out(&c, i) && bb_ox_out(&c, i)->ndim < 0)
            return bb_ox_cerr(&c, "output %d is not supported", i);
        empty &= !bb_ox_out(&c, i) || bb_ox_out(&c, i)->numel == 0;
    }
    if (shape_only(&c, need))
        return 0;
    int f = foldable(&c, op, b);
    for (int i = 0; f == 2 && i < nd->n_out; i++)
        if (bb_ox_out(&c, i))
            bb_ox_out(&c, i)->past_limits = 1;
    if (f != 1)
        return 0;
    /* nothing to compute: a kernel's loops over the other axes could still
     * run long (a CumSum of [2, 524291, 0, 524288] along its empty axis
     * timed the fuzzer out) */
    int rc = empty ? 0 : op->fold(&c);
    for (int i = 0; empty && rc == 0 && i < nd->n_out; i++)
        rc = bb_ox_fold_alloc(&c, i) < 0 ? -1 : 0;
    if (rc == 0)
        mark_from_weights(&c);
    return rc < 0 ? -1 : 0;
}

static int set_input(const bb_ox_model *m, const bb_ox_io *io, int64_t n, bb_ox_val *v, bb_err *err)
{
    const char *name = io->value >= 0 && io->value < m->n_values ? m->values[io->value].name : NULL;
    if (!name)
        return bb_err_set(err, "%s: a graph input refers to no value", m->path);
    bb_ox_val *x = &v[io->value];
    if (x->ndim != -1)
        return bb_err_set(err, "%s: input '%s' is defined twice", m->path, name);
    if (io->ndim < 0 || io->ndim > BB_OX_MAX_DIMS)
        return bb_err_set(err, "%s: input '%s' has no declared shape", m->path, name);
    x->dtype = bb_ox_dtype_of(io->elem_type);
    if (!x->dtype)
        return bb_err_set(err, "%s: input '%s' has unsupported element type %d", m->path, name, io->elem_type);
    x->numel = 1;
    for (int d = 0; d < io->ndim; d++) {
        x->dims[d] = d == 0 ? n : io->dims[d];
        if (x->dims[d] < 0)
            return bb_err_set(err, "%s: input '%s': dim %d (%s) is not declared; only the first (batch) dim may be "
                              "symbolic (tools/onnx_input_shape.py writes a copy with fixed dims, e.g. 3x512x512)",
                              m->path, name, d, io->dim_param[d] ? io->dim_param[d] : "unknown");
        if (x->dims[d] && x->numel > BB_OX_MAX_ELEMS / x->dims[d])
            return bb_err_set(err, "%s: input '%s': absurd size at batch %lld", m->path, name, (long long)n);
        x->numel *= x->dims[d];
    }
    x->ndim = io->ndim;
    return 0;
}

static int set_init(const bb_ox_model *m, int i, bb_ox_val *v, bb_err *err)
{
    int k = m->init_value[i];
    const bb_ox_tensor *t = &m->inits[i];
    if (k < 0 || k >= m->n_values || v[k].ndim != -1 || t->ndim < 0 || t->ndim > BB_OX_MAX_DIMS ||
        (t->dtype != BB_OX_F32 && t->dtype != BB_OX_I64) || (t->numel && !t->data))
        return bb_err_set(err, "%s: initializer %d is malformed or defined twice", m->path, i);
    bb_ox_val *x = &v[k];
    *x = (bb_ox_val){.is_const = 1, .from_weights = t->dtype == BB_OX_F32, .dtype = t->dtype, .ndim = t->ndim,
                     .numel = t->numel, .data = t->data};
    memcpy(x->dims, t->dims, sizeof x->dims);
    return 0;
}

/* The last node that reads each value; m->n_nodes for a graph output (read
 * after the evaluation), -1 for a value nothing reads. NULL when out of memory. */
static int *last_readers(const bb_ox_model *m)
{
    int *last = malloc(sizeof(int) * (size_t)(m->n_values > 0 ? m->n_values : 1));
    if (!last)
        return NULL;
    for (int i = 0; i < m->n_values; i++)
        last[i] = -1;
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++)
            if (m->nodes[k].in[i] >= 0 && m->nodes[k].in[i] < m->n_values)
                last[m->nodes[k].in[i]] = k;
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i].value >= 0 && m->outputs[i].value < m->n_values)
            last[m->outputs[i].value] = m->n_nodes;
    return last;
}

/* After node k: free the computed integer inputs that nothing reads any more
 * and that only nodes with computed integer outputs read (index arithmetic:
 * MViTv2's relative position indices are 700 MB of int64 at batch 2, most of
 * it intermediate). Any other node may be lowered later (a float computed
 * from constants is lowered when it differs between batch sizes) and reads
 * its inputs then: read_live marks them kept. A freed value is no longer
 * const. */
static void drop_dead_indices(const bb_ox_model *m, bb_ox_val *v, int k, const int *last,
                              unsigned char *read_live)
{
    const bb_ox_node *nd = &m->nodes[k];
    int computed = 1; /* and integer: a float output differing between batch sizes is lowered */
    for (int i = 0; i < nd->n_out; i++)
        computed &= nd->out[i] < 0 || (v[nd->out[i]].is_const && v[nd->out[i]].dtype == BB_OX_I64);
    for (int i = 0; i < nd->n_in; i++) {
        int x = nd->in[i];
        if (x < 0)
            continue;
        read_live[x] |= !computed;
        if (last[x] == k && !read_live[x] && v[x].owned && v[x].dtype == BB_OX_I64) {
            free(v[x].data);
            v[x].data = NULL;
            v[x].owned = v[x].is_const = 0;
        }
    }
}

/* Every value of m undefined but its initializers' and its inputs' (at
 * batch n). NULL with err set. */
static bb_ox_val *vals_begin(const bb_ox_model *m, int64_t n, bb_err *err)
{
    if (n < 1 || n > BB_OX_MAX_ELEMS)
        return bb_err_set(err, "%s: batch size %lld is out of range", m->path, (long long)n), NULL;
    bb_ox_val *v = calloc((size_t)(m->n_values > 0 ? m->n_values : 1), sizeof *v);
    if (!v)
        return bb_err_oom(err, "%s: out of memory for %d values", m->path, m->n_values), NULL;
    for (int i = 0; i < m->n_values; i++)
        v[i].ndim = -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < m->n_inits; i++)
        rc = set_init(m, i, v, err);
    for (int i = 0; rc == 0 && i < m->n_inputs; i++)
        rc = set_input(m, &m->inputs[i], n, v, err);
    if (rc < 0) {
        bb_ox_vals_free(v, m->n_values);
        return NULL;
    }
    return v;
}

/* Node k, with the batch size in a failure's message. */
static int eval_step(const bb_ox_model *m, bb_ox_val *v, int k, int64_t n, budget *b, const need_map *need,
                     bb_err *err)
{
    int rc = eval_node(m, v, k, b, need, err);
    if (rc < 0 && !err->oom) { /* the shapes a node's message names have this batch */
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (shapes at batch %lld)", (long long)n);
    }
    return rc;
}

bb_ox_val *bb_ox_eval(const bb_ox_model *m, int64_t n, int for_import, bb_err *err)
{
    bb_ox_val *v = vals_begin(m, n, err);
    if (!v)
        return NULL;
    int rc = 0;
    budget b = budget_for(m);
    int *last = last_readers(m);
    unsigned char *read_live = calloc((size_t)(m->n_values > 0 ? m->n_values : 1), 1);
    unsigned char *need = for_import ? bb_ox_data_needed(m) : NULL;
    if (!last || !read_live || (for_import && !need))
        rc = bb_err_oom(err, "%s: out of memory for %d values", m->path, m->n_values);
    const need_map nm = {need, m->n_values};
    for (int k = 0; rc == 0 && k < m->n_nodes; k++)
        if ((rc = eval_step(m, v, k, n, &b, &nm, err)) == 0 && for_import)
            drop_dead_indices(m, v, k, last, read_live);
    free(last);
    free(read_live);
    free(need);
    if (rc < 0) {
        bb_ox_vals_free(v, m->n_values);
        return NULL;
    }
    return v;
}

/* ---- step by step ------------------------------------------------------------------ */

struct bb_ox_stepper {
    int64_t n;
    int cap;        /* values v has room for */
    bb_ox_val *v;
    budget b;
    need_map need;
};

bb_ox_stepper *bb_ox_step_begin(const bb_ox_model *m, int64_t n, bb_err *err)
{
    bb_ox_stepper *s = calloc(1, sizeof *s);
    if (!s)
        return bb_err_oom(err, "%s: out of memory", m->path), NULL;
    if (!(s->v = vals_begin(m, n, err))) {
        free(s);
        return NULL;
    }
    s->n = n;
    s->cap = m->n_values > 0 ? m->n_values : 1;
    s->b = budget_for(m);
    return s;
}

int bb_ox_step(bb_ox_stepper *s, const bb_ox_model *m, int k, bb_err *err)
{
    if (m->n_values > s->cap) {
        int cap = s->cap;
        while (cap < m->n_values)
            cap = cap < INT32_MAX / 2 ? 2 * cap : m->n_values;
        bb_ox_val *v = realloc(s->v, sizeof *v * (size_t)cap);
        if (!v)
            return bb_err_oom(err, "%s: out of memory for %d values", m->path, m->n_values);
        for (int i = s->cap; i < cap; i++)
            v[i] = (bb_ox_val){.ndim = -1};
        s->v = v, s->cap = cap;
    }
    return eval_step(m, s->v, k, s->n, &s->b, &s->need, err);
}

void bb_ox_step_need(bb_ox_stepper *s, const unsigned char *need, int n)
{
    s->need = (need_map){need, n};
}

const bb_ox_val *bb_ox_step_val(const bb_ox_stepper *s, int v)
{
    return v >= 0 && v < s->cap ? &s->v[v] : NULL;
}

void bb_ox_step_free(bb_ox_stepper *s)
{
    if (!s)
        return;
    bb_ox_vals_free(s->v, s->cap);
    free(s);
}

void bb_ox_vals_free(bb_ox_val *v, int n_values)
{
    if (!v)
        return;
    for (int i = 0; i < n_values; i++)
        if (v[i].owned)
            free(v[i].data);
    free(v);
}

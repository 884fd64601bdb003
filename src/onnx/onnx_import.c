/*
 * onnx_import.c — an ONNX file becomes a bb_graph (see onnx_import.h).
 *
 * The driver: read the file, refuse every unsupported op in one message,
 * evaluate the graph at batch 2 and at batch 3 (onnx_eval.h), then walk the
 * nodes in order and lower each one that computes an activation (a float
 * value that depends on the input); the shape arithmetic around them is
 * already folded into constants by the evaluation. The dims of an
 * activation at the two batch sizes tell which one scales with the batch:
 * the batch-outermost ones become the zoo's per-item tensors, the others
 * (a transformer's [L, N*heads, dh]) full-rank tensors (graph.h).
 */
#include "onnx/onnx_import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_flatten.h"
#include "onnx/onnx_import_internal.h"
#include "util/grow.h"

int bb_onnx_is_path(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 5 && strcmp(name + n - 5, ".onnx") == 0;
}

/* ---- values ----------------------------------------------------------------- */

static int same_const(const bb_ox_val *a, const bb_ox_val *b)
{
    if (!a->is_const || !b->is_const || a->dtype != b->dtype || a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    size_t sz = a->dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
    return a->data == b->data || memcmp(a->data, b->data, sz * (size_t)a->numel) == 0;
}

int ox_is_static(const ox_ctx *c, int v)
{
    return v >= 0 && same_const(&c->v2[v], &c->v3[v]);
}

int ox_is_act(const ox_ctx *c, int v)
{
    return v >= 0 && c->v2[v].dtype == BB_OX_F32 && c->v2[v].ndim >= 0 && !ox_is_static(c, v);
}

int ox_scalar(const ox_ctx *c, int v, double *x)
{
    if (!ox_is_static(c, v) || c->v2[v].numel != 1)
        return -1;
    const bb_ox_val *a = &c->v2[v];
    *x = a->dtype == BB_OX_F32 ? (double)((const float *)a->data)[0] : (double)((const int64_t *)a->data)[0];
    return 0;
}

int ox_const_tensor(ox_ctx *c, const char *name, bb_tensor_kind kind, int ndim, const int64_t *dims,
                    const float *data)
{
    int t = bb_graph_add_tensor(c->g, name, kind, ndim, dims);
    int64_t n = bb_tensor_numel(&c->g->tensors[t]);
    float *copy = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!copy)
        return bb_err_oom(c->err, "%s: out of memory copying '%s'", c->m->path, name);
    memcpy(copy, data, sizeof(float) * (size_t)n);
    c->g->tensors[t].data = copy;
    return t;
}

/* The dim that scales with the batch: the one that is 2k at batch 2 and
 * 3k at batch 3; -1 when not exactly one dim does. */
static int batch_axis(const bb_ox_val *a, const bb_ox_val *b, int64_t *k)
{
    int axis = -1;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] == b->dims[i])
            continue;
        if (axis >= 0 || a->dims[i] % 2 || a->dims[i] / 2 * 3 != b->dims[i])
            return -1;
        axis = i, *k = a->dims[i] / 2;
    }
    return axis;
}

/* A batch-sized constant whose items are all alike (XCiT's Fourier
 * position encoding tiled over the batch; EdgeNeXt's, computed from a mask
 * of [N, H, W] zeros; a class token expanded to the batch): constant at both
 * batch sizes, one dim that is N (2 and 3), every item along it the same.
 * Its axis, or -1. */
int ox_replicated_axis(const ox_ctx *c, int v)
{
    const bb_ox_val *a = &c->v2[v], *b = &c->v3[v];
    int64_t k = 0, outer = 1, inner = 1;
    if (v < 0 || !a->is_const || !b->is_const || a->dtype != BB_OX_F32 || b->dtype != BB_OX_F32 ||
        a->ndim != b->ndim)
        return -1;
    int axis = batch_axis(a, b, &k);
    if (axis < 0 || k != 1)
        return -1;
    for (int i = 0; i < a->ndim; i++)
        *(i < axis ? &outer : &inner) *= i == axis ? 1 : a->dims[i];
    const size_t row = sizeof(float) * (size_t)inner;
    const float *x = a->data, *y = b->data;
    for (int64_t o = 0; o < outer; o++) {
        const float *first = x + o * 2 * inner;
        if (memcmp(first, x + (o * 2 + 1) * inner, row))
            return -1;
        for (int j = 0; j < 3; j++)
            if (memcmp(first, y + (o * 3 + j) * inner, row))
                return -1;
    }
    return axis;
}

/* Value v, replicated along axis: one item as a constant (that axis 1),
 * expanded to the batch at run time. */
static int expand_replicated(ox_ctx *c, const bb_ox_node *nd, int v, int axis)
{
    const bb_ox_val *a = &c->v2[v];
    if (a->ndim > BB_MAX_DIMS)
        return bb_ox_node_err(c->err, c->m, nd, "constant '%s' has %d dims (at most %d)", c->m->values[v].name,
                              a->ndim, BB_MAX_DIMS);
    int64_t dims[BB_OX_MAX_DIMS], outer = 1, inner = 1;
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->ndim);
    dims[axis] = 1;
    for (int i = 0; i < a->ndim; i++)
        *(i < axis ? &outer : &inner) *= i == axis ? 1 : a->dims[i];
    float *item = malloc(sizeof(float) * (size_t)(outer * inner > 0 ? outer * inner : 1));
    if (!item)
        return bb_err_oom(c->err, "%s: out of memory copying '%s'", c->m->path, c->m->values[v].name);
    for (int64_t o = 0; o < outer; o++)
        memcpy(item + o * inner, (const float *)a->data + o * 2 * inner, sizeof(float) * (size_t)inner);
    int k = ox_const_tensor(c, c->m->values[v].name, BB_T_BUFFER, a->ndim, dims, item);
    free(item);
    bb_op *op = k < 0 ? NULL : ox_op(c, nd, BB_OP_EXPAND, &k, 1, v);
    return op ? op->out : -1;
}

int ox_tensor(ox_ctx *c, const bb_ox_node *nd, int v)
{
    if (v < 0)
        return bb_ox_node_err(c->err, c->m, nd, "an input it needs is omitted");
    if (c->tmap[v] >= 0)
        return c->tmap[v];
    const bb_ox_val *a = &c->v2[v];
    int rep = ox_replicated_axis(c, v);
    if (rep >= 0)
        return expand_replicated(c, nd, v, rep);
    if (ox_is_act(c, v))
        return bb_ox_node_err(c->err, c->m, nd, "reads '%s', which depends on the batch in a way "
                              "batchbench cannot run (a batch-sized constant)", c->m->values[v].name);
    if (a->dtype != BB_OX_F32)
        return bb_ox_node_err(c->err, c->m, nd, "reads the integer tensor '%s' as data (not supported)",
                              c->m->values[v].name);
    if (a->ndim > BB_MAX_DIMS)
        return bb_ox_node_err(c->err, c->m, nd, "constant '%s' has %d dims (at most %d)",
                              c->m->values[v].name, a->ndim, BB_MAX_DIMS);
    bb_tensor_kind kind = a->from_weights ? BB_T_PARAM : BB_T_BUFFER; /* a float initializer, or computed from one */
    int t = ox_const_tensor(c, c->m->values[v].name, kind, a->ndim, a->dims, a->data);
    if (t >= 0)
        c->tmap[v] = t;
    return t;
}

int ox_act_tensor(ox_ctx *c, const bb_ox_node *nd, int v)
{
    const bb_ox_val *a = &c->v2[v], *b = &c->v3[v];
    int64_t k = 0, dims[BB_OX_MAX_DIMS];
    if (a->numel == 0)
        return bb_ox_node_err(c->err, c->m, nd, "output '%s' has no elements (a dim of 0; batchbench runs no "
                              "empty tensors)", c->m->values[v].name);
    int axis = a->ndim == b->ndim ? batch_axis(a, b, &k) : -1;
    if (axis < 0)
        return bb_ox_node_err(c->err, c->m, nd, "output '%s': no single dim scales with the batch "
                              "(a model exported with a fixed batch size? export with a dynamic batch axis)",
                              c->m->values[v].name);
    const int per_item = axis == 0 && k == 1; /* [N, ...]: held without the batch's dim */
    if (a->ndim - per_item > BB_MAX_DIMS)
        return bb_ox_node_err(c->err, c->m, nd, "output '%s' has %d dims (at most %d%s)", c->m->values[v].name,
                              a->ndim, BB_MAX_DIMS + per_item, per_item ? ", the batch's included" : "");
    memcpy(dims, a->dims, sizeof dims);
    dims[axis] = k;
    int t;
    if (per_item) { /* [N, ...]: the zoo's form */
        t = bb_graph_add_tensor(c->g, "", BB_T_ACT, a->ndim - 1, dims + 1);
    } else {
        t = bb_graph_add_tensor(c->g, "", BB_T_ACT, a->ndim, dims);
        c->g->tensors[t].full_rank = 1;
        c->g->tensors[t].batch_axis = axis;
    }
    c->tmap[v] = t;
    return t;
}

bb_op *ox_op(ox_ctx *c, const bb_ox_node *nd, bb_op_type type, const int *in, int n_in, int out_v)
{
    int y = ox_act_tensor(c, nd, out_v);
    if (y < 0)
        return NULL;
    bb_op *op = bb_graph_add_op(c->g, type, nd->name);
    op->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        op->in[i] = in[i];
    op->out = y;
    return op;
}

/* ---- the driver ------------------------------------------------------------- */

/* Whether node nd's op type is one nothing lowers or resolves. */
static int unsupported(const bb_ox_node *nd)
{
    int dflt = bb_ox_default_domain(nd);
    return !(dflt && ((ox_op_known(nd->op_type) && bb_ox_eval_supports(nd->op_type)) ||
                      bb_ox_flatten_handles(nd->op_type)));
}

/* The unsupported op types met so far, each with its first node. */
typedef struct {
    const bb_ox_node *first[64];
    int n;
} bad_ops;

static void note_node(bad_ops *b, const bb_ox_node *nd)
{
    if (!unsupported(nd))
        return;
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->first[i]->op_type, nd->op_type) && !strcmp(b->first[i]->domain, nd->domain))
            return;
    if (b->n < (int)(sizeof b->first / sizeof *b->first))
        b->first[b->n++] = nd;
}

/* One message listing every op type nothing lowers, with a node of each,
 * in the graph or in any subgraph. */
int ox_check_supported(const bb_ox_model *m, bb_err *err)
{
    bad_ops bad = {.n = 0};
    for (int i = 0; i < m->n_nodes; i++)
        note_node(&bad, &m->nodes[i]);
    for (int g = 0; g < m->n_graphs; g++)
        for (int i = 0; i < m->graphs[g].n_nodes; i++)
            note_node(&bad, &m->graphs[g].nodes[i]);
    if (!bad.n)
        return 0;
    char list[768] = "";
    size_t len = 0;
    for (int i = 0; i < bad.n && len < sizeof list - 1; i++) {
        const bb_ox_node *nd = bad.first[i];
        int dflt = bb_ox_default_domain(nd);
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s%s%s (node '%s')", i ? ", " : "",
                                dflt ? "" : nd->domain, dflt ? "" : ":", nd->op_type, nd->name);
    }
    return bb_err_set(err, "%s: %d%s unsupported op type%s: %s", m->path, bad.n,
                      bad.n == (int)(sizeof bad.first / sizeof *bad.first) ? " or more" : "", bad.n > 1 ? "s" : "",
                      list);
}

bb_ox_model *ox_checked_flat(bb_ox_model *m, bb_err *err)
{
    if (ox_check_supported(m, err) != 0) {
        bb_ox_free(m);
        return NULL;
    }
    return bb_ox_flatten(m, err);
}

static int count_readers(ox_ctx *c)
{
    const bb_ox_model *m = c->m;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].n_in; k++) {
            int v = m->nodes[i].in[k];
            if (v >= 0)
                c->readers[v]++, c->reader[v] = i;
        }
    for (int i = 0; i < m->n_outputs; i++)
        c->readers[m->outputs[i].value]++, c->reader[m->outputs[i].value] = -1;
    return 0;
}

static int make_input(ox_ctx *c)
{
    const bb_ox_model *m = c->m;
    int found = -1;
    for (int i = 0; i < m->n_inputs; i++) {
        if (found >= 0)
            return bb_err_set(c->err, "%s: %d graph inputs; batchbench feeds one (the image batch)", m->path,
                              m->n_inputs);
        found = m->inputs[i].value;
    }
    if (found < 0)
        return bb_err_set(c->err, "%s: the graph has no input", m->path);
    const bb_ox_val *a = &c->v2[found];
    if (a->dtype != BB_OX_F32 || a->ndim < 2 || a->ndim - 1 > BB_MAX_DIMS)
        return bb_err_set(c->err, "%s: input '%s' must be a float tensor [N, ...] of 2 to %d dims", m->path,
                          m->values[found].name, BB_MAX_DIMS + 1);
    int t = bb_graph_add_tensor(c->g, m->values[found].name, BB_T_INPUT, a->ndim - 1, a->dims + 1);
    c->g->input = c->tmap[found] = t;
    return 0;
}

/* The graph's output is the file's first; every output is computed (and
 * so timed), as ONNX Runtime computes them: a segmentation model's
 * auxiliary head, a detector's second map. */
static int set_output(ox_ctx *c)
{
    const bb_ox_model *m = c->m;
    if (m->n_outputs < 1)
        return bb_err_set(c->err, "%s: the graph declares no output", m->path);
    for (int i = 0; i < m->n_outputs; i++) {
        int v = m->outputs[i].value, t = c->tmap[v];
        if (t < 0)
            return bb_err_set(c->err, "%s: output '%s' does not depend on the input", m->path, m->values[v].name);
        if (c->g->tensors[t].kind == BB_T_INPUT)
            return bb_err_set(c->err, "%s: output '%s' is the input itself: the graph computes nothing on it "
                              "(batchbench times a graph with at least one op)", m->path, m->values[v].name);
        if (c->g->tensors[t].full_rank || c->g->tensors[t].kind != BB_T_ACT)
            return bb_err_set(c->err, "%s: output '%s' must be [N, ...] with the batch first", m->path,
                              m->values[v].name);
    }
    c->g->output = c->tmap[m->outputs[0].value];
    return 0;
}

static int lower_all(ox_ctx *c)
{
    const bb_ox_model *m = c->m;
    for (int i = 0; i < m->n_nodes; i++) {
        const bb_ox_node *nd = &m->nodes[i];
        if (c->done[i])
            continue;
        int acts = 0;
        for (int k = 0; k < nd->n_out; k++)
            acts += ox_is_act(c, nd->out[k]) && ox_replicated_axis(c, nd->out[k]) < 0 &&
                    !c->v2[nd->out[k]].shape_only;
        if (!acts)
            continue; /* shape arithmetic, folded; a constant; one alike in every item (ox_tensor); or
                       * one whose data nothing reads (bb_ox_data_needed) */
        if (nd->n_out > 0 && nd->out[0] >= 0 && c->v2[nd->out[0]].past_limits)
            return bb_ox_node_err(c->err, c->m, nd, "output '%s' (%lld elements) is computed from constants "
                                  "only, but past the constant folder's limits (src/onnx/onnx_eval.h)",
                                  m->values[nd->out[0]].name, (long long)c->v2[nd->out[0]].numel);
        int rc = ox_lower_pattern(c, i);
        if (rc == 0)
            rc = ox_lower_node(c, i);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* After a failed import: when the file declares its input with a fixed
 * batch (torch.onnx.export without dynamic_axes), the failure most likely
 * comes from a shape it baked in for that batch (a Reshape to [1, 768,
 * 49]), met at the batch sizes the import evaluates. Says so, and how to
 * export the file instead. */
static void fixed_batch_hint(const bb_ox_model *m, bb_err *err)
{
    const bb_ox_io *in = m->n_inputs == 1 ? &m->inputs[0] : NULL;
    if (!in || in->ndim < 1 || in->dims[0] <= 0 || in->dim_param[0])
        return;
    size_t n = strlen(err->msg);
    const char *name = m->values[in->value].name;
    snprintf(err->msg + n, sizeof err->msg - n,
             " (note: input '%s' is declared with a fixed batch of %lld, and batchbench evaluates a graph at "
             "batch 2 and 3 to see what scales with the batch; if the file bakes its batch into shapes, export "
             "it with a dynamic batch axis: torch.onnx.export(..., dynamic_axes={'%s': {0: 'batch'}}))",
             name, (long long)in->dims[0], name);
}

bb_graph *ox_import_model(const bb_ox_model *m, bb_err *err)
{
    bb_ox_val *v2 = bb_ox_eval(m, 2, 1, err);
    bb_ox_val *v3 = v2 ? bb_ox_eval(m, 3, 1, err) : NULL;
    ox_ctx c = {m, v2, v3, NULL, NULL, NULL, NULL, NULL, err, NULL, 0, 0};
    int rc = v3 ? 0 : -1;
    if (rc == 0) {
        c.g = bb_graph_new(base_name(m->path), BB_FAMILY_IMPORTED, BB_HEAD_FEATURES);
        c.tmap = malloc(sizeof(int) * (size_t)m->n_values);
        c.readers = calloc((size_t)m->n_values, sizeof(int));
        c.reader = calloc((size_t)m->n_values, sizeof(int));
        c.done = calloc((size_t)m->n_nodes + 1, 1);
        if (!c.tmap || !c.readers || !c.reader || !c.done)
            rc = bb_err_oom(err, "%s: out of memory", m->path);
    }
    for (int i = 0; rc == 0 && i < m->n_values; i++)
        c.tmap[i] = -1;
    if (rc == 0)
        rc = count_readers(&c);
    if (rc == 0)
        rc = make_input(&c);
    if (rc == 0)
        rc = lower_all(&c);
    if (rc == 0)
        rc = set_output(&c);
    if (rc == 0)
        ox_fuse_attention(c.g);
    free(c.tmap);
    free(c.lin_w);
    free(c.readers);
    free(c.reader);
    free(c.done);
    bb_ox_vals_free(v2, m->n_values);
    bb_ox_vals_free(v3, m->n_values);
    if (rc != 0) {
        if (!err->oom)
            fixed_batch_hint(m, err);
        bb_graph_free(c.g);
        return NULL;
    }
    return c.g;
}

bb_graph *bb_onnx_import(const char *path, bb_err *err)
{
    bb_ox_model *m = bb_ox_load(path, err);
    if (!m || !(m = ox_checked_flat(m, err)))
        return NULL;
    bb_graph *g = ox_import_model(m, err);
    bb_ox_free(m);
    return g;
}

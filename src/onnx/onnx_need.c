/*
 * onnx_need.c — which values' data the import reads, before it evaluates
 * anything: the rest get their shape and dtype only.
 *
 * Why it exists: the constant folder computes every value whose inputs are
 * constant, within a budget (onnx_eval.h). Exporters compute much whose
 * data nothing reads. torch's `attn[:, :, 1:, 1:] += rel_pos` builds its
 * index tensor's broadcast shape by adding four ranges into a tensor as
 * large as the block and reads only its Shape; the index tensor itself
 * holds one row per element written. torchvision's mvit_v2_s has 64 such
 * ScatterNDs, of up to 78M indices at batch 2: they spent the whole budget
 * before the shape arithmetic the import needs.
 *
 * Here: a backward pass from the graph's outputs marks the values some
 * reader needs the data of. Shape and Size read only their input's shape.
 * A ScatterND into an activation whose indices are built the way torch
 * builds a block's (per axis one Expand of a small constant, unsqueezed and
 * concatenated on the last axis: bb_ox_block_parts) needs those small
 * constants, not the indices: onnx_lower_move.c reads the block from them.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_eval.h"
#include "onnx/onnx_flatten.h"

/* Node k of m if it is of op type op in the default domain, else NULL. */
static const bb_ox_node *node_of(const bb_ox_model *m, int v, const char *op)
{
    int k = v >= 0 && v < m->n_values ? m->values[v].producer : -1;
    if (k < 0 || k >= m->n_nodes)
        return NULL;
    const bb_ox_node *nd = &m->nodes[k];
    if (!bb_ox_default_domain(nd) || !nd->op_type || strcmp(nd->op_type, op))
        return NULL;
    return nd;
}

int bb_ox_block_parts(const bb_ox_model *m, int indices, int expand[BB_OX_MAX_DIMS])
{
    const bb_ox_node *cat = node_of(m, indices, "Concat");
    if (!cat || cat->n_in < 1 || cat->n_in > BB_OX_MAX_DIMS)
        return 0;
    for (int k = 0; k < cat->n_in; k++) {
        const bb_ox_node *un = node_of(m, cat->in[k], "Unsqueeze");
        const int e = un ? (un->n_in >= 1 ? un->in[0] : -1) : cat->in[k];
        const bb_ox_node *ex = node_of(m, e, "Expand");
        if (!ex || ex->n_in != 2 || ex->in[0] < 0 || ex->n_out != 1)
            return 0;
        expand[k] = m->values[e].producer;
    }
    return cat->n_in;
}

/* Whether node nd reads only the shape of its input (its one input). */
static int reads_shape_only(const bb_ox_node *nd)
{
    return nd->op_type && bb_ox_default_domain(nd) && (!strcmp(nd->op_type, "Shape") || !strcmp(nd->op_type, "Size"));
}

static int is_value(const bb_ox_model *m, int v)
{
    return v >= 0 && v < m->n_values;
}

static const bb_ox_graph *graph_of(const bb_ox_model *m, const bb_ox_attr *a)
{
    return a->type == BB_OX_ATTR_GRAPH && a->i >= 0 && a->i < m->n_graphs ? &m->graphs[a->i] : NULL;
}

/* An If, a Loop (any node holding a subgraph) or a sequence op: what
 * onnx_flatten.c resolves, reading the values it decides on. A recurrent
 * op is not: it reads its inputs as any node does, and onnx_rnn.c leaves
 * out the outputs nothing reads (an LSTM's Y_c). */
static int is_control(const bb_ox_node *nd)
{
    for (int a = 0; a < nd->n_attr; a++)
        if (nd->attrs[a].type == BB_OX_ATTR_GRAPH)
            return 1;
    return nd->op_type && bb_ox_default_domain(nd) && bb_ox_flatten_handles(nd->op_type) &&
           !bb_oxf_is_rnn(nd->op_type);
}

/* Whether node nd, or a node of its subgraphs, reads the data of a value
 * dep marks. */
static int reads_dependent(const bb_ox_model *m, const bb_ox_node *nd, const unsigned char *dep)
{
    for (int i = 0; i < nd->n_in; i++)
        if (is_value(m, nd->in[i]) && dep[nd->in[i]] && !reads_shape_only(nd))
            return 1;
    for (int a = 0; a < nd->n_attr; a++) {
        const bb_ox_graph *g = graph_of(m, &nd->attrs[a]);
        for (int k = 0; g && k < g->n_nodes; k++)
            if (reads_dependent(m, &g->nodes[k], dep))
                return 1;
    }
    return 0;
}

/* Whether value v depends on the graph's input through data (not only
 * through shapes): dep[] filled forward. */
static void mark_dependent(const bb_ox_model *m, unsigned char *dep)
{
    for (int i = 0; i < m->n_inputs; i++)
        if (is_value(m, m->inputs[i].value))
            dep[m->inputs[i].value] = 1;
    for (int k = 0; k < m->n_nodes; k++) {
        const bb_ox_node *nd = &m->nodes[k];
        if (!reads_dependent(m, nd, dep))
            continue;
        for (int i = 0; i < nd->n_out; i++)
            if (is_value(m, nd->out[i]))
                dep[nd->out[i]] = 1;
    }
}

/* Control flow (onnx_flatten.c evaluates it as it unrolls): everything it
 * reads or defines, in its subgraphs too, is needed. */
static void need_all(const bb_ox_model *m, const bb_ox_node *nd, unsigned char *need)
{
    for (int i = 0; i < nd->n_in; i++)
        if (is_value(m, nd->in[i]))
            need[nd->in[i]] = 1;
    for (int i = 0; i < nd->n_out; i++)
        if (is_value(m, nd->out[i]))
            need[nd->out[i]] = 1;
    for (int a = 0; a < nd->n_attr; a++) {
        const bb_ox_graph *g = graph_of(m, &nd->attrs[a]);
        for (int i = 0; g && i < g->n_inputs; i++)
            if (is_value(m, g->inputs[i]))
                need[g->inputs[i]] = 1;
        for (int i = 0; g && i < g->n_outputs; i++)
            if (is_value(m, g->outputs[i]))
                need[g->outputs[i]] = 1;
        for (int k = 0; g && k < g->n_nodes; k++)
            need_all(m, &g->nodes[k], need);
    }
}

/* Node nd (read because an output is needed) marks what it reads. */
static void mark_inputs(const bb_ox_model *m, const bb_ox_node *nd, const unsigned char *dep, unsigned char *need)
{
    int parts[BB_OX_MAX_DIMS], n = 0;
    const int scatter = nd->op_type && !strcmp(nd->op_type, "ScatterND") && nd->n_in == 3 && is_value(m, nd->in[0]) &&
                        dep[nd->in[0]];
    if (scatter)
        n = bb_ox_block_parts(m, nd->in[1], parts);
    for (int k = 0; k < n; k++)
        need[m->nodes[parts[k]].in[0]] = 1;
    for (int i = 0; i < nd->n_in; i++)
        if (is_value(m, nd->in[i]) && !reads_shape_only(nd) && !(n && i == 1))
            need[nd->in[i]] = 1;
}

unsigned char *bb_ox_data_needed(const bb_ox_model *m)
{
    size_t n = (size_t)(m->n_values > 0 ? m->n_values : 1);
    unsigned char *need = calloc(n, 1), *dep = calloc(n, 1);
    if (!need || !dep) {
        free(need);
        free(dep);
        return NULL;
    }
    mark_dependent(m, dep);
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i].value >= 0 && m->outputs[i].value < m->n_values)
            need[m->outputs[i].value] = 1;
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const bb_ox_node *nd = &m->nodes[k];
        if (is_control(nd)) {
            need_all(m, nd, need);
            continue;
        }
        int any = 0;
        for (int i = 0; i < nd->n_out; i++)
            any |= nd->out[i] >= 0 && nd->out[i] < m->n_values && need[nd->out[i]];
        if (any)
            mark_inputs(m, nd, dep, need);
    }
    free(dep);
    return need;
}

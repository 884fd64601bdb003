/*
 * onnx_describe.c — `batchbench models --describe PATH.onnx`: what a user
 * wants to know about a file before sweeping it: its inputs and outputs,
 * the ops it uses and whether batchbench runs every one, and (when it
 * does) the parameter count and MACs per item of the imported graph.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/fuse.h"
#include "onnx/onnx_flatten.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_import_internal.h"

static void print_io(FILE *out, const char *what, const bb_ox_model *m, const bb_ox_io *io)
{
    fprintf(out, "%-8s %s: ", what, m->values[io->value].name);
    if (io->ndim < 0) {
        fprintf(out, "shape not declared\n");
        return;
    }
    fprintf(out, "[");
    for (int i = 0; i < io->ndim; i++) {
        if (io->dims[i] >= 0)
            fprintf(out, "%s%lld", i ? "," : "", (long long)io->dims[i]);
        else
            fprintf(out, "%s%s", i ? "," : "", io->dim_param[i] ? io->dim_param[i] : "?");
    }
    fprintf(out, "] elem_type %d\n", io->elem_type);
}

/* "[N,3,224,224]": tensor t of the imported graph at batch N. */
static void print_batched(FILE *out, const bb_graph *g, int t)
{
    int64_t d[BB_MAX_DIMS + 1];
    int n = bb_tensor_shape(g, t, 1, d);
    fprintf(out, "[N");
    for (int i = 1; i < n; i++)
        fprintf(out, ",%lld", (long long)d[i]);
    fprintf(out, "]");
}

/* Op types in order of first use, each with its count. */
static void print_histogram(FILE *out, const bb_ox_model *m)
{
    fprintf(out, "ops      %d nodes:", m->n_nodes);
    for (int i = 0; i < m->n_nodes; i++) {
        int first = 1, count = 0;
        for (int j = 0; j < m->n_nodes; j++) {
            int same = !strcmp(m->nodes[j].op_type, m->nodes[i].op_type);
            if (same && j < i)
                first = 0;
            count += same;
        }
        if (first)
            fprintf(out, " %s %d", m->nodes[i].op_type, count);
    }
    fprintf(out, "\n");
}

int bb_onnx_describe(const char *path, FILE *out, bb_err *err)
{
    bb_ox_model *m = bb_ox_load(path, err);
    if (!m)
        return -1;
    fprintf(out, "file     %s\n", path);
    fprintf(out, "producer %s, ir_version %lld, opset %lld\n", m->producer ? m->producer : "?",
            (long long)m->ir_version, (long long)m->opset);
    for (int i = 0; i < m->n_inputs; i++)
        print_io(out, "input", m, &m->inputs[i]);
    for (int i = 0; i < m->n_outputs; i++)
        print_io(out, "output", m, &m->outputs[i]);
    print_histogram(out, m);
    bb_err why = {0};
    int flow = bb_ox_flatten_needed(m);
    if (ox_check_supported(m, &why) != 0) {
        fprintf(out, "supported no: %s\n", why.msg);
    } else if (!(m = bb_ox_flatten(m, &why))) {
        fprintf(out, "supported every op type, but the import failed: %s\n", why.msg);
    } else {
        if (flow)
            fprintf(out, "control  If, Loop and sequences resolved at import: %d nodes without them\n", m->n_nodes);
        bb_graph *g = ox_import_model(m, &why);
        if (!g) {
            fprintf(out, "supported every op type, but the import failed: %s\n", why.msg);
        } else {
            int64_t before = g->n_ops;
            bb_fuse(g);
            fprintf(out, "supported yes: %lld graph ops (%d after fusion)\n", (long long)before, g->n_ops);
            fprintf(out, "runs     ");
            print_batched(out, g, g->input);
            fprintf(out, " -> ");
            print_batched(out, g, g->output);
            if (m->n_outputs > 1)
                fprintf(out, " and %d more output%s, computed and timed (infer --output writes the first)\n",
                        m->n_outputs - 1, m->n_outputs > 2 ? "s" : "");
            else
                fprintf(out, " (infer --output writes the output in this shape)\n");
            fprintf(out, "params   %lld\n", (long long)bb_graph_param_count(g));
            fprintf(out, "macs     %lld per item (%.3f GMAC)\n", (long long)bb_graph_macs(g),
                    (double)bb_graph_macs(g) / 1e9);
            bb_graph_free(g);
        }
    }
    bb_ox_free(m);
    return 0;
}

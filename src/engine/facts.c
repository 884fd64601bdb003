/* facts.c — model facts and the graph-level memory plan (facts.h). */
#include "engine/facts.h"

#include <stdlib.h>

#include "engine/fuse.h"
#include "engine/plan.h"

/* One plan buffer per activation tensor that an op writes, plus the input. */
static int graph_buffers(const bb_graph *g, int64_t batch, bb_plan_buf *bufs, int *buf_of)
{
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++)
        buf_of[t] = -1;
    buf_of[g->input] = n;
    /* the input stays valid for the whole pass (it is set once, run often) */
    bufs[n++] = (bb_plan_buf){batch * bb_tensor_numel(&g->tensors[g->input]) * 4, 0, g->n_ops, -1, 0};
    for (int i = 0; i < g->n_ops; i++) {
        const bb_op *op = &g->ops[i];
        int last = op->out == g->output ? g->n_ops : bb_last_reader(g, op->out);
        bufs[n] = (bb_plan_buf){batch * bb_tensor_numel(&g->tensors[op->out]) * 4, i,
                                last < i ? i : last, -1, 0};
        if (op->sum_in >= 0)
            bufs[n].alias = buf_of[op->sum_in];
        buf_of[op->out] = n++;
    }
    return n;
}

int bb_model_facts_compute(const bb_graph *g, int64_t batch, bb_model_facts *f)
{
    f->params = bb_graph_param_count(g);
    f->macs_per_item = bb_graph_macs(g);
    f->feature_dim = bb_graph_feature_dim(g);
    f->weight_bytes = bb_graph_weight_bytes(g);
    bb_plan_buf *bufs = calloc((size_t)g->n_ops + 1, sizeof *bufs);
    int64_t *off = calloc((size_t)g->n_ops + 1, sizeof *off);
    int *buf_of = calloc((size_t)g->n_tensors, sizeof *buf_of);
    int rc = -1;
    if (bufs && off && buf_of) {
        int n = graph_buffers(g, batch, bufs, buf_of);
        f->activation_bytes = bb_plan_place(bufs, n, 64, off);
        f->activation_bytes_no_reuse = bb_plan_total(bufs, n);
        rc = f->activation_bytes < 0 ? -1 : 0;
    }
    free(bufs);
    free(off);
    free(buf_of);
    return rc;
}

/*
 * cpu_split.c — the batch shared out over the threads: each thread runs the
 * whole network, single-threaded, on its own slice of the batch, instead of
 * every layer being split over all the threads.
 *
 * Why this file exists: split by op, the threads hand each op's output to
 * one another, and every hand-off is a trip between their cores. Where the
 * two vCPUs of a VM share no cache (a core-to-core round trip of 300-350 ns
 * instead of 70-90 ns; src/env/core_rtt.h), those trips cost efficientnet_b0
 * (imported) at batch 8 57-61 ms a forward pass against 46 ms where they
 * share one. Split by batch, the threads meet once per forward pass, and
 * the pass took 46-50 ms in either placement. docs/cpu-split.md has the
 * measurements and the rule cpu.split=auto follows.
 *
 * How: parts[0] is an ordinary backend prepared at batch/parts with one
 * thread (its primitives, packed weights and measured choices). Every other
 * part is a clone of it that shares all of that and owns the mutable
 * state: an arena of the same plan, memory objects at the same offsets in
 * it, the steps' argument lists bound to them, a stream, oneDNN's
 * scratchpad (given to every primitive: cpu_attr_create) and the attention
 * scratch. oneDNN runs a primitive single-threaded when it is called inside
 * an OpenMP parallel region, and our kernels are told one thread.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"

/* MACs one thread does per op when every op is split over the threads:
 * what each hand-off between them is paid against. */
double cpu_layer_work(const bb_graph *g, int64_t batch, int threads)
{
    return g->n_ops > 0 && threads > 0 ? (double)bb_graph_macs(g) * (double)batch / threads / g->n_ops : 0.0;
}

/* MACs per activation value the ops write: how much a hand-off of its
 * data buys (a depthwise conv's few, a ViT's GEMM's many). */
double cpu_macs_per_value(const bb_graph *g)
{
    double values = 0.0;
    for (int i = 0; i < g->n_ops; i++)
        values += (double)bb_tensor_numel(&g->tensors[g->ops[i].out]);
    return values > 0 ? (double)bb_graph_macs(g) / values : 0.0;
}

enum { SPLIT_AUTO, SPLIT_BATCH, SPLIT_LAYERS }; /* cpu.split's choices, in the table's order */

int cpu_split_parts(const bb_graph *g, int64_t batch, int threads, const bb_run_config *opts)
{
    int policy = opts ? opts->options.value[BB_OPT_CPU_SPLIT] : SPLIT_AUTO;
    if (policy == SPLIT_LAYERS || threads < 2 || batch < threads || batch % threads != 0)
        return 1;
    /* the output is gathered slice by slice: its batch must be the outer axis */
    const bb_tensor *o = &g->tensors[g->output];
    if (o->kind == BB_T_ACT && o->full_rank && o->batch_axis != 0)
        return 1;
    if (policy == SPLIT_AUTO && (cpu_layer_work(g, batch, threads) >= CPU_SPLIT_MAX_WORK ||
                                 cpu_macs_per_value(g) >= CPU_SPLIT_MAX_INTENSITY))
        return 1;
    return threads;
}

/* A clone of part p0 with its own arena and everything bound to it. */
static int clone_part(const bb_backend *p0, bb_backend **out, bb_err *err)
{
    bb_backend *p = malloc(sizeof *p);
    if (!p)
        return bb_err_oom(err, "out of memory for a part of the batch split");
    *p = *p0;
    p->shared_from = p0;
    p->bufs = NULL, p->steps = NULL, p->arena = NULL, p->scratch = NULL, p->times = NULL, p->stream = NULL;
    p->scratchpad = NULL, p->scratchpad_data = NULL;
    p->n_bufs = 0, p->n_steps = 0;
    *out = p;
    p->bufs = calloc((size_t)p0->n_bufs, sizeof *p->bufs);
    p->steps = malloc((size_t)p0->n_steps * sizeof *p->steps);
    p->arena = cpu_arena_alloc(p0->arena_bytes);
    p->times = calloc((size_t)p0->n_steps, sizeof *p->times);
    p->scratch = p0->scratch_floats > 0 ? malloc((size_t)p0->scratch_floats * sizeof(float)) : NULL;
    if (!p->bufs || !p->steps || !p->arena || !p->times || (p0->scratch_floats > 0 && !p->scratch))
        return bb_err_oom(err, "out of memory: activation arena of %lld bytes for a part of the batch split",
                          (long long)p0->arena_bytes);
    if (dnnl_stream_create(&p->stream, p->eng, dnnl_stream_default_flags) != dnnl_success)
        return bb_err_set(err, "oneDNN: could not create a stream for a part of the batch split");
    for (; p->n_bufs < p0->n_bufs; p->n_bufs++) {
        int i = p->n_bufs;
        void *at = NULL;
        dnnl_memory_get_data_handle(p0->bufs[i].mem, &at);
        p->bufs[i] = p0->bufs[i];
        p->bufs[i].mem = NULL;
        char *here = (char *)p->arena + ((char *)at - (char *)p0->arena);
        if (dnnl_memory_create(&p->bufs[i].mem, &p->bufs[i].md, p->eng, here) != dnnl_success)
            return bb_err_set(err, "oneDNN: memory creation failed for a part of the batch split");
    }
    memcpy(p->steps, p0->steps, (size_t)p0->n_steps * sizeof *p->steps);
    p->n_steps = p0->n_steps;
    return cpu_bind_steps(p, err);
}

int cpu_split_prepare(bb_backend **out, const bb_graph *g, int64_t batch, int parts,
                      const bb_run_config *opts, bb_err *err)
{
    *out = NULL;
    bb_backend *b = calloc(1, sizeof *b);
    if (!b)
        return bb_err_oom(err, "out of memory");
    b->g = g, b->batch = batch, b->threads = parts;
    b->profile = opts && (opts->profile || opts->activation_stats);
    b->parts = calloc((size_t)parts, sizeof *b->parts);
    b->part_errs = calloc((size_t)parts, sizeof *b->part_errs);
    if (!b->parts || !b->part_errs) {
        cpu_split_destroy(b);
        return bb_err_oom(err, "out of memory");
    }
    bb_run_config one = opts ? *opts : (bb_run_config){0};
    one.threads = 1;
    int rc = cpu_prepare_whole(&b->parts[0], g, batch / parts, &one, err);
    for (int i = 1; i < parts && rc == 0; i++)
        rc = clone_part(b->parts[0], &b->parts[i], err);
    b->n_parts = parts;
    if (rc == 0 && b->profile && !(b->times = calloc((size_t)b->parts[0]->n_steps, sizeof *b->times)))
        rc = bb_err_oom(err, "out of memory");
    /* prepare set OpenMP's default team to one thread: back to the run's */
    omp_set_num_threads(parts);
    if (rc != 0) {
        cpu_split_destroy(b);
        return -1;
    }
    *out = b;
    return 0;
}

/* Thread i runs part i; the first failure is the one reported. */
int cpu_split_forward(bb_backend *b, bb_err *err)
{
    int failed = 0;
    for (int i = 0; i < b->n_parts; i++)
        b->part_errs[i].msg[0] = '\0';
#pragma omp parallel for schedule(static, 1) num_threads(b->n_parts) reduction(| : failed)
    for (int i = 0; i < b->n_parts; i++)
        failed |= cpu_forward_whole(b->parts[i], &b->part_errs[i]) != 0;
    for (int i = 0; failed && i < b->n_parts; i++)
        if (b->part_errs[i].msg[0])
            return bb_err_set(err, "part %d of %d of the batch: %s", i + 1, b->n_parts, b->part_errs[i].msg);
    return 0;
}

static void *buf_data(const bb_backend *p, int buf)
{
    void *at = NULL;
    dnnl_memory_get_data_handle(p->bufs[buf].mem, &at);
    return at;
}

/* The batch's input into the parts (in), or their outputs out of them
 * (out): part i holds items [i * batch/parts, (i+1) * batch/parts). */
void cpu_split_copy(bb_backend *b, const float *in, float *out)
{
    for (int i = 0; i < b->n_parts; i++) {
        const bb_backend *p = b->parts[i];
        int buf = in ? p->input_buf : p->output_buf;
        size_t bytes = dnnl_memory_desc_get_size(&p->bufs[buf].md), at = (size_t)i * bytes;
        if (in)
            memcpy(buf_data(p, buf), (const char *)in + at, bytes);
        else
            memcpy((char *)out + at, buf_data(p, buf), bytes);
    }
}

void cpu_split_report(const bb_backend *b, bb_backend_report *r)
{
    bb_cpu_backend.report(b->parts[0], r);
    r->arena_bytes *= b->n_parts;
    r->workspace_bytes *= b->n_parts;
    r->threads = b->n_parts;
    size_t n = strlen(r->math_mode);
    long long each = (long long)(b->batch / b->n_parts);
    snprintf(r->math_mode + n, sizeof r->math_mode - n, "; the batch split over %d threads, %lld item%s each",
             b->n_parts, each, each == 1 ? "" : "s");
}

/* The steps of part 0 (all parts run the same steps at once), with the
 * work of the whole batch. */
int cpu_split_profile(const bb_backend *b, const bb_step_time **steps)
{
    const bb_step_time *one = NULL;
    int n = bb_cpu_backend.profile(b->parts[0], &one);
    if (n <= 0 || !b->times)
        return 0;
    for (int i = 0; i < n; i++) {
        b->times[i] = one[i];
        b->times[i].macs *= b->n_parts;
    }
    *steps = b->times;
    return n;
}

void cpu_split_destroy(bb_backend *b)
{
    for (int i = b->n_parts - 1; i >= 0; i--) /* the clones before the part they share */
        cpu_destroy_whole(b->parts[i]);
    free(b->parts);
    free(b->part_errs);
    free(b->times);
    free(b);
}

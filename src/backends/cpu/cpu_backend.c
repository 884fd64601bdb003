/*
 * cpu_backend.c — the CPU backend on oneDNN: prepare (lower every op, plan
 * the arena, bind memory), then forward = execute the steps in order.
 *
 * The graph (and its weight data, which the tokens kernel reads) must
 * outlive the backend.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_internal.h"
#include "engine/plan.h"
#include "util/clock.h"

#define ARENA_ALIGN 4096

/* Frees what a backend owns: a clone of a split's part (shared_from set)
 * owns its buffers, argument lists, arena, scratch and stream, and shares
 * the rest with the part it was cloned from. */
void cpu_destroy_whole(bb_backend *b)
{
    if (!b)
        return;
    int owner = b->shared_from == NULL;
    for (int i = 0; i < b->n_steps && owner; i++) {
        dnnl_primitive_destroy(b->steps[i].prim);
        free(b->steps[i].walk);
        if (b->steps[i].wino)
            free(b->steps[i].wino->bias);
        free(b->steps[i].wino);
        free(b->steps[i].taps);
    }
    for (int i = 0; i < b->n_bufs; i++)
        dnnl_memory_destroy(b->bufs[i].mem);
    for (int i = 0; i < b->n_weights && owner; i++)
        dnnl_memory_destroy(b->weights[i]);
    if (b->stream)
        dnnl_stream_destroy(b->stream);
    dnnl_memory_destroy(b->scratchpad);
    free(b->scratchpad_data);
    if (owner)
        dnnl_primitive_attr_destroy(b->attr);
    if (b->eng && owner)
        dnnl_engine_destroy(b->eng);
    free(b->steps);
    free(b->bufs);
    if (owner) {
        free(b->weights);
        free(b->packed);
        free(b->tbuf);
        free(b->choices);
        free(b->cat);
    }
    free(b->arena);
    free(b->scratch);
    free(b->times);
    free(b);
}

static void cpu_destroy(bb_backend *b)
{
    if (b && b->parts)
        cpu_split_destroy(b);
    else
        cpu_destroy_whole(b);
}

void *cpu_arena_alloc(int64_t bytes)
{
    return bytes > 0 ? aligned_alloc(ARENA_ALIGN, (size_t)((bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)) : NULL;
}

int bb_cpu_default_threads(void)
{
    const char *env = getenv("OMP_NUM_THREADS");
    int t = env ? atoi(env) : 0;
    return t > 0 ? t : omp_get_num_procs();
}

/* oneDNN's ISA bits are cumulative: a bf16-capable ISA has all of these. */
int bb_cpu_has_bf16(void)
{
    return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

/* Whether oneDNN runs AVX-512 code here (with it: nChw16c, Winograd). */
int cpu_has_avx512(void)
{
    return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

/* The channel block oneDNN's direct convs choose for f32 on this CPU:
 * nChw16c with AVX-512, nChw8c with AVX2. */
int cpu_channel_block(void)
{
    return cpu_has_avx512() ? 16 : 8;
}

/* That layout's 4-d format tag. */
dnnl_format_tag_t cpu_channel_block_tag(void)
{
    return cpu_channel_block() == 16 ? dnnl_aBcd16b : dnnl_aBcd8b;
}

static const char *cpu_isa_name(void)
{
    if (cpu_has_avx512())
        return "avx512_core";
    if ((dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2)
        return "avx2";
    return "older than avx2";
}

static int64_t step_scratchpad_bytes(const cpu_step *s)
{
    const_dnnl_primitive_desc_t pd = NULL;
    if (!s->prim || dnnl_primitive_get_primitive_desc(s->prim, &pd) != dnnl_success)
        return 0;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md ? (int64_t)dnnl_memory_desc_get_size(md) : 0;
}

/* Binds every step's arguments to this backend's memory objects, and the
 * steps that ask for one to its scratchpad (one buffer as large as the
 * largest: the steps run one after the other). */
int cpu_bind_steps(bb_backend *b, bb_err *err)
{
    if (b->scratchpad_bytes > 0 && !b->scratchpad) {
        dnnl_memory_desc_t md;
        dnnl_dims_t d = {b->scratchpad_bytes};
        dnnl_memory_desc_init_by_tag(&md, 1, d, dnnl_u8, dnnl_a);
        b->scratchpad_data = cpu_arena_alloc(b->scratchpad_bytes);
        if (!b->scratchpad_data)
            return bb_err_oom(err, "out of memory: scratchpad of %lld bytes", (long long)b->scratchpad_bytes);
        if (dnnl_memory_create(&b->scratchpad, &md, b->eng, b->scratchpad_data) != dnnl_success)
            return bb_err_set(err, "oneDNN: memory creation failed for the scratchpad");
    }
    for (int s = 0; s < b->n_steps; s++) {
        cpu_step *st = &b->steps[s];
        for (int a = 0; a < st->n_args; a++)
            st->exec[a] = (dnnl_exec_arg_t){st->args[a].arg,
                                            st->args[a].buf >= 0 ? b->bufs[st->args[a].buf].mem : st->args[a].mem};
        st->n_exec = st->n_args;
        if (step_scratchpad_bytes(st) > 0)
            st->exec[st->n_exec++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, b->scratchpad};
    }
    return 0;
}

/* Places every buffer in one arena and creates its memory object. */
static int plan_and_bind(bb_backend *b, bb_err *err)
{
    bb_plan_buf *pb = calloc((size_t)b->n_bufs, sizeof *pb);
    int64_t *off = calloc((size_t)b->n_bufs, sizeof *off);
    if (!pb || !off) {
        free(pb), free(off);
        return bb_err_set(err, "out of memory planning activations");
    }
    for (int i = 0; i < b->n_bufs; i++)
        pb[i] = (bb_plan_buf){(int64_t)dnnl_memory_desc_get_size(&b->bufs[i].md),
                              b->bufs[i].first, b->bufs[i].last, b->bufs[i].alias, b->bufs[i].alias_off};
    b->arena_bytes = bb_plan_place(pb, b->n_bufs, 64, off);
    free(pb);
    b->arena = cpu_arena_alloc(b->arena_bytes);
    if (!b->arena) {
        free(off);
        return bb_err_oom(err, "out of memory: activation arena of %lld bytes at batch %lld",
                          (long long)b->arena_bytes, (long long)b->batch);
    }
    int rc = 0;
    for (int i = 0; i < b->n_bufs && rc == 0; i++)
        if (dnnl_memory_create(&b->bufs[i].mem, &b->bufs[i].md, b->eng, (char *)b->arena + off[i]) != dnnl_success)
            rc = bb_err_set(err, "oneDNN: memory creation failed");
    free(off);
    for (int s = 0; s < b->n_steps; s++) {
        int64_t need = step_scratchpad_bytes(&b->steps[s]);
        b->scratchpad_bytes = need > b->scratchpad_bytes ? need : b->scratchpad_bytes;
    }
    return rc == 0 ? cpu_bind_steps(b, err) : rc;
}

/* Each oneDNN step's implementation name, for the profile: the string
 * lives as long as the primitive. */
static void name_impls(bb_backend *b)
{
    for (int i = 0; i < b->n_steps; i++) {
        cpu_step *s = &b->steps[i];
        const_dnnl_primitive_desc_t pd = NULL;
        const char *impl = NULL;
        if (s->prim && s->kernel == K_NONE && dnnl_primitive_get_primitive_desc(s->prim, &pd) == dnnl_success &&
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
            s->impl = impl;
    }
}

static int lower_graph(bb_backend *b, bb_err *err)
{
    const bb_graph *g = b->g;
    int64_t d[BB_MAX_DIMS + 1];
    dnnl_memory_desc_t md;
    cpu_md_plain(&md, bb_tensor_shape(g, g->input, b->batch, d), d, dnnl_f32);
    b->input_buf = cpu_new_buf(b, &md);
    b->tbuf[g->input] = b->input_buf;
    for (int i = 0; i < g->n_ops; i++) {
        int fused = cpu_lower_conv_dw(b, i, err); /* 1: ops i and i+1 done as one step */
        if (fused < 0 || (fused == 0 && cpu_lower_op(b, &g->ops[i], err) != 0))
            return -1;
        i += fused;
    }
    b->output_buf = cpu_tensor_plain(b, g->output, dnnl_f32, err);
    if (b->output_buf < 0)
        return -1;
    /* The input is set once and may be run many times; the output is read
     * after the last step: both stay alive for the whole forward pass. */
    b->bufs[b->input_buf].last = b->n_steps;
    b->bufs[b->output_buf].last = b->n_steps;
    name_impls(b);
    return 0;
}

/* One backend that runs the whole batch, every step split over its threads. */
int cpu_prepare_whole(bb_backend **out, const bb_graph *g, int64_t batch,
                      const bb_run_config *opts, bb_err *err)
{
    *out = NULL;
    bb_precision prec = opts ? opts->precision : BB_PREC_FP32;
    bb_backend *b = calloc(1, sizeof *b);
    if (!b)
        return bb_err_set(err, "out of memory");
    b->g = g, b->batch = batch, b->profile = opts && (opts->profile || opts->activation_stats);
    b->rep_t = -1;
    b->activation_stats = opts && opts->activation_stats;
    b->threads = opts && opts->threads > 0 ? opts->threads : bb_cpu_default_threads();
    b->dt = prec == BB_PREC_BF16 ? dnnl_bf16 : dnnl_f32;
    int algo = opts ? opts->options.value[BB_OPT_CPU_ALGO] : 0; /* measured | always | never */
    b->algo_policy = algo == 1 ? 1 : algo == 2 ? -1 : 0;
    b->own_wino = opts && opts->options.value[BB_OPT_CPU_WINOGRAD] == 1;
    omp_set_num_threads(b->threads);
    cpu_attr_create(&b->attr);
    b->tbuf = malloc(sizeof(int) * (size_t)g->n_tensors);
    if (!b->tbuf || dnnl_engine_create(&b->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&b->stream, b->eng, dnnl_stream_default_flags) != dnnl_success) {
        cpu_destroy(b);
        return bb_err_set(err, "oneDNN: could not create the CPU engine");
    }
    for (int i = 0; i < g->n_tensors; i++)
        b->tbuf[i] = -1;
    int rc = cpu_cat_plan(b) == 0 ? lower_graph(b, err) : bb_err_set(err, "out of memory");
    if (rc == 0)
        rc = plan_and_bind(b, err);
    if (rc == 0 && b->scratch_floats > 0 && !(b->scratch = malloc((size_t)b->scratch_floats * sizeof(float))))
        rc = bb_err_oom(err, "out of memory for attention scratch");
    if (rc == 0 && !(b->times = calloc((size_t)b->n_steps, sizeof *b->times)))
        rc = bb_err_set(err, "out of memory");
    if (rc != 0) {
        cpu_destroy(b);
        return -1;
    }
    *out = b;
    return 0;
}

static int cpu_prepare(bb_backend **out, const bb_graph *g, int64_t batch,
                       const bb_run_config *opts, bb_err *err)
{
    *out = NULL;
    if (batch < 1)
        return bb_err_set(err, "batch size must be at least 1, got %lld", (long long)batch);
    bb_precision prec = opts ? opts->precision : BB_PREC_FP32;
    if (prec != BB_PREC_FP32 && prec != BB_PREC_BF16)
        return bb_err_set(err, "--precision %s: the CPU backend runs fp32 or bf16", bb_precision_name(prec));
    if (prec == BB_PREC_BF16 && !bb_cpu_has_bf16())
        return bb_err_set(err, "--precision bf16: this CPU has neither AVX512-BF16 nor AMX (oneDNN's ISA: %s), "
                               "so bf16 would run emulated; use fp32", cpu_isa_name());
    int threads = opts && opts->threads > 0 ? opts->threads : bb_cpu_default_threads();
    int parts = cpu_split_parts(g, batch, threads, opts);
    return parts > 1 ? cpu_split_prepare(out, g, batch, parts, opts, err)
                     : cpu_prepare_whole(out, g, batch, opts, err);
}

static void *buf_data(const bb_backend *b, int buf)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(b->bufs[buf].mem, &p);
    return p;
}

static int cpu_set_input(bb_backend *b, const float *input, bb_err *err)
{
    (void)err;
    if (b->parts) {
        cpu_split_copy(b, input, NULL);
        return 0;
    }
    memcpy(buf_data(b, b->input_buf), input, dnnl_memory_desc_get_size(&b->bufs[b->input_buf].md));
    return 0;
}

static int cpu_get_output(bb_backend *b, float *output, bb_err *err)
{
    (void)err;
    if (b->parts) {
        cpu_split_copy(b, NULL, output);
        return 0;
    }
    memcpy(output, buf_data(b, b->output_buf), dnnl_memory_desc_get_size(&b->bufs[b->output_buf].md));
    return 0;
}


/* The buffer a step writes. */
static int step_output(const cpu_step *s)
{
    if (!s->prim || s->kernel != K_NONE)
        return s->kout;
    for (int a = 0; a < s->n_args; a++)
        if (s->args[a].arg == DNNL_ARG_DST || s->args[a].arg == DNNL_ARG_TO)
            return s->args[a].buf;
    return -1;
}

/* RMS, max |x|, non-finite and subnormal counts of a step's output (padding
 * of blocked layouts included: it is zero). */
static void output_stats(const bb_backend *b, const cpu_step *s, bb_step_time *t)
{
    int buf = step_output(s);
    if (buf < 0)
        return;
    const float *x = buf_data(b, buf);
    int64_t n = (int64_t)(dnnl_memory_desc_get_size(&b->bufs[buf].md) / sizeof(float));
    double ss = 0.0, mx = 0.0;
    int64_t bad = 0, sub = 0;
    for (int64_t i = 0; i < n; i++) {
        int c = fpclassify(x[i]);
        if (c == FP_NAN || c == FP_INFINITE) {
            bad++;
            continue;
        }
        sub += c == FP_SUBNORMAL;
        ss += (double)x[i] * x[i];
        mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
    }
    t->out_rms = n ? sqrt(ss / (double)n) : 0.0;
    t->out_absmax = mx, t->out_nonfinite = bad, t->out_subnormal = sub;
}

int cpu_forward_whole(bb_backend *b, bb_err *err)
{
    for (int i = 0; i < b->n_steps; i++) {
        const cpu_step *s = &b->steps[i];
        double t0 = b->profile ? bb_now_s() : 0.0;
        if (s->kernel == K_WINO) {
            if (cpu_run_winograd(b, s, err) != 0)
                return -1;
        } else if (s->prim) {
            dnnl_status_t st = dnnl_primitive_execute(s->prim, b->stream, s->n_exec, s->exec);
            if (st != dnnl_success)
                return bb_err_set(err, "oneDNN: executing '%s' failed (status %d)", s->label, (int)st);
        } else {
            cpu_run_kernel(b, s);
        }
        if (b->profile) {
            dnnl_stream_wait(b->stream);
            b->times[i] = (bb_step_time){.label = s->label, .kind = s->kind, .seconds = bb_now_s() - t0,
                                         .macs = s->macs, .impl = s->impl};
            if (b->activation_stats)
                output_stats(b, s, &b->times[i]);
        }
    }
    if (dnnl_stream_wait(b->stream) != dnnl_success)
        return bb_err_set(err, "oneDNN: stream wait failed");
    return 0;
}

static int cpu_forward(bb_backend *b, bb_err *err)
{
    return b->parts ? cpu_split_forward(b, err) : cpu_forward_whole(b, err);
}

static void cpu_report(const bb_backend *b, bb_backend_report *r)
{
    if (b->parts) {
        cpu_split_report(b, r);
        return;
    }
    r->weight_bytes = b->weight_bytes;
    r->arena_bytes = b->arena_bytes;
    r->workspace_bytes = b->scratch_floats * (int64_t)sizeof(float) + b->scratchpad_bytes;
    r->threads = b->threads;
    r->n_steps = b->n_steps;
    if (b->dt == dnnl_bf16)
        snprintf(r->math_mode, sizeof r->math_mode,
                 "bf16 weights and activations, fp32 accumulation (oneDNN); attention scores and softmax in fp32");
    else if (b->n_wino > 0)
        snprintf(r->math_mode, sizeof r->math_mode, "fp32 (oneDNN); Winograd for %d of %d 3x3 stride-1 convs%s",
                 b->n_wino, b->n_wino_candidates,
                 b->n_own_wino ? " (batchbench's F(4x4,3x3))" : ""); /* never mixed with oneDNN's */
    else
        snprintf(r->math_mode, sizeof r->math_mode, "fp32 (oneDNN)");
}

static int cpu_profile(const bb_backend *b, const bb_step_time **steps)
{
    if (b->parts)
        return cpu_split_profile(b, steps);
    *steps = b->times;
    return b->profile ? b->n_steps : 0;
}

const bb_backend_ops bb_cpu_backend = {
    .name = "cpu", .prepare = cpu_prepare, .set_input = cpu_set_input, .forward = cpu_forward,
    .get_output = cpu_get_output, .report = cpu_report, .profile = cpu_profile, .destroy = cpu_destroy,
};

/*
 * peak.c — peak-rate measurements (peak.h): sgemm through dnnl_sgemm, and a
 * convolution and a bf16 matmul as single oneDNN primitives run on memory in
 * the formats the primitive chose, so no reorder is timed.
 */
#include "bench/peak.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "util/clock.h"

static void set_threads(int threads)
{
    omp_set_num_threads(threads > 0 ? threads : bb_cpu_default_threads());
}

double bb_peak_sgemm_gflops(int threads, int n, int reps)
{
    set_threads(threads);
    float *a = calloc((size_t)n * n, sizeof(float)), *c = calloc((size_t)n * n, sizeof(float));
    double best = 1e30;
    for (int i = 0; a && c && i <= reps; i++) {
        double t0 = bb_now_s();
        dnnl_sgemm('N', 'N', n, n, n, 1.f, a, n, a, n, 0.f, c, n);
        double t = bb_now_s() - t0;
        best = i > 0 && t < best ? t : best; /* call 0 warms up the JIT */
    }
    free(a);
    free(c);
    return best < 1e30 ? 2.0 * n * n * (double)n / best / 1e9 : -1.0;
}

/* One primitive with its own engine, stream and memories. */
typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[3];
    int nargs;
} peak_prim;

static void prim_free(peak_prim *p)
{
    for (int i = 0; i < p->nargs; i++)
        dnnl_memory_destroy(p->args[i].memory);
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    if (p->pd)
        dnnl_primitive_desc_destroy(p->pd);
    if (p->strm)
        dnnl_stream_destroy(p->strm);
    if (p->eng)
        dnnl_engine_destroy(p->eng);
}

/* 0, or 1 when oneDNN has no implementation for this CPU, or -1; err set. */
static int prim_create(peak_prim *p, const void *op_desc, const_dnnl_primitive_attr_t attr, const char *what,
                       bb_err *err)
{
    if (dnnl_engine_create(&p->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&p->strm, p->eng, dnnl_stream_default_flags) != dnnl_success)
        return bb_err_set(err, "%s: cannot create a oneDNN CPU engine and stream", what);
    dnnl_status_t st = dnnl_primitive_desc_create(&p->pd, op_desc, attr, p->eng, NULL);
    if (st == dnnl_unimplemented) {
        bb_err_set(err, "%s: oneDNN %d.%d has no implementation for this CPU", what, DNNL_VERSION_MAJOR,
                   DNNL_VERSION_MINOR);
        return 1;
    }
    if (st == dnnl_success)
        st = dnnl_primitive_create(&p->prim, p->pd);
    return st == dnnl_success ? 0 : bb_err_set(err, "%s: oneDNN cannot create the primitive (status %d)", what, (int)st);
}

/* Small constant values (0.01): nothing denormal, whatever the layout. */
static void fill(void *h, const dnnl_memory_desc_t *md)
{
    size_t bytes = dnnl_memory_desc_get_size(md);
    if (md->data_type == dnnl_bf16) {
        uint16_t *x = h; /* bf16 is the top half of an f32: 0x3c24 ~ 0.01 */
        for (size_t i = 0; i < bytes / sizeof *x; i++)
            x[i] = 0x3c24;
    } else {
        float *x = h;
        for (size_t i = 0; i < bytes / sizeof *x; i++)
            x[i] = 0.01f;
    }
}

/* Adds argument `arg`: memory in the format the primitive chose for `q`. */
static int prim_arg(peak_prim *p, int arg, dnnl_query_t q, const char *what, bb_err *err)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(p->pd, q, 0);
    dnnl_memory_t m = NULL;
    void *h = NULL;
    if (!md || dnnl_memory_create(&m, md, p->eng, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
        dnnl_memory_get_data_handle(m, &h) != dnnl_success || !h) {
        if (m)
            dnnl_memory_destroy(m);
        return bb_err_oom(err, "%s: cannot allocate oneDNN memory", what);
    }
    fill(h, md);
    p->args[p->nargs++] = (dnnl_exec_arg_t){arg, m};
    return 0;
}

/* Best seconds of `reps` executions after one warm-up; -1 on failure. */
static double prim_best_s(const peak_prim *p, int reps)
{
    double best = -1.0;
    for (int i = 0; i <= reps; i++) {
        double t0 = bb_now_s();
        if (dnnl_primitive_execute(p->prim, p->strm, p->nargs, p->args) != dnnl_success ||
            dnnl_stream_wait(p->strm) != dnnl_success)
            return -1.0;
        double t = bb_now_s() - t0;
        best = i > 0 && (best < 0 || t < best) ? t : best;
    }
    return best;
}

/* Adds src, weights and dst, times the primitive and fills r. */
static int prim_measure(peak_prim *p, double flops, int reps, bb_peak_result *r, const char *what, bb_err *err)
{
    const char *impl = NULL;
    if (prim_arg(p, DNNL_ARG_SRC, dnnl_query_src_md, what, err) != 0 ||
        prim_arg(p, DNNL_ARG_WEIGHTS, dnnl_query_weights_md, what, err) != 0 ||
        prim_arg(p, DNNL_ARG_DST, dnnl_query_dst_md, what, err) != 0)
        return -1;
    dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &impl);
    snprintf(r->impl, sizeof r->impl, "%s", impl ? impl : "?");
    double s = prim_best_s(p, reps);
    if (s <= 0)
        return bb_err_set(err, "%s: oneDNN failed to execute the primitive", what);
    r->gflops = flops / s / 1e9;
    return 0;
}

static dnnl_primitive_attr_t relu_attr(void)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success)
        return NULL;
    if (dnnl_post_ops_create(&po) != dnnl_success ||
        dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f) != dnnl_success ||
        dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        attr = NULL;
    }
    if (po)
        dnnl_post_ops_destroy(po);
    return attr;
}

int bb_peak_conv(int threads, int reps, bb_peak_result *r, bb_err *err)
{
    const int64_t n = 8, c = 256, hw = 14, k = 3;
    const char *what = "peak conv";
    dnnl_dims_t src = {n, c, hw, hw}, wei = {c, c, k, k}, stride = {1, 1}, pad = {1, 1};
    dnnl_memory_desc_t s_md, w_md, d_md;
    dnnl_convolution_desc_t cd;
    dnnl_memory_desc_init_by_tag(&s_md, 4, src, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&w_md, 4, wei, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&d_md, 4, src, dnnl_f32, dnnl_format_tag_any);
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &s_md, &w_md, NULL,
                                           &d_md, stride, pad, pad) != dnnl_success)
        return bb_err_set(err, "%s: oneDNN refused the convolution descriptor", what);
    dnnl_primitive_attr_t attr = relu_attr();
    if (!attr)
        return bb_err_set(err, "%s: cannot create the ReLU post-op", what);
    set_threads(threads);
    peak_prim p = {0};
    double flops = 2.0 * (double)(n * c * hw * hw) * (double)(c * k * k);
    int rc = prim_create(&p, &cd, attr, what, err);
    if (rc == 0)
        rc = prim_measure(&p, flops, reps, r, what, err);
    prim_free(&p);
    dnnl_primitive_attr_destroy(attr);
    return rc == 0 ? 0 : -1;
}

int bb_peak_bf16_matmul(int threads, int n, int reps, bb_peak_result *r, bb_err *err)
{
    const char *what = "peak bf16 matmul";
    dnnl_dims_t dims = {n, n};
    dnnl_memory_desc_t s_md, w_md, d_md;
    dnnl_matmul_desc_t md;
    dnnl_memory_desc_init_by_tag(&s_md, 2, dims, dnnl_bf16, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&w_md, 2, dims, dnnl_bf16, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&d_md, 2, dims, dnnl_f32, dnnl_ab);
    if (dnnl_matmul_desc_init(&md, &s_md, &w_md, NULL, &d_md) != dnnl_success)
        return bb_err_set(err, "%s: oneDNN refused the matmul descriptor", what);
    set_threads(threads);
    peak_prim p = {0};
    int rc = prim_create(&p, &md, NULL, what, err);
    if (rc == 0)
        rc = prim_measure(&p, 2.0 * n * n * (double)n, reps, r, what, err);
    prim_free(&p);
    return rc;
}

/* Is `word` a whole space-separated word of `line`? */
static int has_word(const char *line, const char *word)
{
    size_t len = strlen(word);
    for (const char *s = strstr(line, word); s; s = strstr(s + 1, word)) {
        int starts = s == line || s[-1] == ' ' || s[-1] == '\t' || s[-1] == ':';
        int ends = s[len] == '\0' || s[len] == ' ' || s[len] == '\n';
        if (starts && ends)
            return 1;
    }
    return 0;
}

const char *bb_peak_bf16_flag(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char *line = NULL;
    size_t cap = 0;
    const char *flag = NULL;
    while (f && getline(&line, &cap, f) > 0) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        flag = has_word(line, "amx_bf16") ? "amx_bf16" : has_word(line, "avx512_bf16") ? "avx512_bf16" : NULL;
        break; /* every core lists the same flags */
    }
    free(line);
    if (f)
        fclose(f);
    return flag;
}

double bb_peak_for_precision(bb_precision precision, int threads, char *source, size_t len)
{
    if (precision == BB_PREC_BF16) {
        bb_peak_result r;
        bb_err err = {0};
        if (bb_peak_bf16_matmul(threads, 2048, 3, &r, &err) != 0)
            return 0.0;
        snprintf(source, len, "oneDNN bf16 matmul 2048^3 (%s), best of 3, %d threads", r.impl, threads);
        return r.gflops;
    }
    double g = bb_peak_sgemm_gflops(threads, 2048, 3);
    snprintf(source, len, "dnnl_sgemm 2048^3, best of 3, %d threads", threads);
    return g > 0 ? g : 0.0;
}

/*
 * generic_build.h — building tiny graphs of the extended graph IR by hand
 * (activations, random constants, general conv/pool windows, slices,
 * transposes), and the harness that runs one through the CPU backend at
 * batch 1, 3 and 4 against generic_ref.h's reference, for
 * test_generic_ops.c.
 *
 * Why this file exists: the test file then holds only the cases, each a few
 * lines of graph and one run().
 */
#ifndef BB_TEST_GENERIC_BUILD_H
#define BB_TEST_GENERIC_BUILD_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/backend.h"
#include "engine/fuse.h"
#include "engine/graph.h"
#include "generic_ref.h"

/* ---- graph building --------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uni(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* per-item activation ([N, d...] at batch N), or full_rank when ba >= 0 */
static int act(bb_graph *g, int nd, const int64_t *d, int ba)
{
    int t = bb_graph_add_tensor(g, "", BB_T_ACT, nd, d);
    if (ba >= 0)
        g->tensors[t].full_rank = 1, g->tensors[t].batch_axis = ba;
    return t;
}

static int cst(bb_graph *g, const char *name, int nd, const int64_t *d, double lo, double hi)
{
    int t = bb_graph_add_tensor(g, name, BB_T_PARAM, nd, d);
    int64_t n = bb_tensor_numel(&g->tensors[t]);
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    uint64_t seed = 1234 + 7919 * (uint64_t)t; /* each constant its own values */
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)uni(&seed, lo, hi);
    g->tensors[t].data = p;
    return t;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define NDIM(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define ACT(g, ...) act((g), NDIM(__VA_ARGS__), D(__VA_ARGS__), -1)
#define FR(g, ba, ...) act((g), NDIM(__VA_ARGS__), D(__VA_ARGS__), (ba))
#define CST(g, ...) cst((g), "c", NDIM(__VA_ARGS__), D(__VA_ARGS__), -1, 1)

static bb_op *op1(bb_graph *g, bb_op_type type, const char *label, int x, int y)
{
    bb_op *op = bb_graph_add_op(g, type, label);
    op->n_in = 1, op->in[0] = x, op->out = y;
    return op;
}

static bb_op *op2(bb_graph *g, bb_op_type type, const char *label, int x, int z, int y)
{
    bb_op *op = op1(g, type, label, x, y);
    op->n_in = 2, op->in[1] = z;
    return op;
}

/* the window w = {kh kw sh sw pad_t pad_l pad_b pad_r dil_h dil_w}; k,
 * stride, pad too when it is square */
static void window(bb_op *op, const int *w)
{
    op->kh = w[0], op->kw = w[1], op->sh = w[2], op->sw = w[3], op->pad_t = w[4], op->pad_l = w[5];
    op->pad_b = w[6], op->pad_r = w[7], op->dil_h = w[8], op->dil_w = w[9];
    if (w[0] == w[1] && w[2] == w[3] && w[4] == w[5] && w[4] == w[6] && w[4] == w[7] && w[8] == 1 && w[9] == 1)
        op->k = w[0], op->stride = w[2], op->pad = w[4];
}

static int64_t win_out(int64_t in, int k, int s, int p0, int p1, int d)
{
    return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

/* conv with window wnd on per-item [C, H, W] */
static int conv(bb_graph *g, int x, int64_t oc, int groups, int bias, const int *wnd)
{
    const int64_t *xd = g->tensors[x].dims;
    int y = ACT(g, oc, win_out(xd[1], wnd[0], wnd[2], wnd[4], wnd[6], wnd[8]),
                win_out(xd[2], wnd[1], wnd[3], wnd[5], wnd[7], wnd[9]));
    bb_op *op = op1(g, BB_OP_CONV, "conv", x, y);
    op->w = cst(g, "w", 4, D(oc, xd[0] / groups, wnd[0], wnd[1]), -0.5, 0.5);
    op->b = bias ? CST(g, oc) : -1;
    op->groups = groups;
    window(op, wnd);
    return y;
}

#define W3 ((const int[]){3, 3, 1, 1, 1, 1, 1, 1, 1, 1})
#define W1 ((const int[]){1, 1, 1, 1, 0, 0, 0, 0, 1, 1})

/* ---- harness -------------------------------------------------------------- */

/* input range, tolerance (relative to max(1, max |ref|)), cpu.algo option
 * (0 measured, 1 always, 2 never), precision, threads (0: 2) */
typedef struct { double lo, hi, tol; int algo; bb_precision prec; int threads; } run_opts;

static const run_opts DEF = {-2, 2, 1e-5, 0, BB_PREC_FP32, 0};

static double max_abs(const double *x, int64_t n)
{
    double m = 1;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* index of the largest |out - ref| (a NaN counts as largest) */
static int64_t worst_at(const float *out, const double *ref, int64_t n)
{
    int64_t at = 0;
    for (int64_t i = 1; i < n; i++)
        if (!isnan(out[at]) && !(fabs((double)out[i] - ref[i]) <= fabs((double)out[at] - ref[at])))
            at = i;
    return at;
}

/* Reference, fuse, run at batch 1, 3 and 4 (two passes each); frees g. At
 * batch 4 the two threads split the batch (cpu.split=auto: these graphs'
 * ops are light), unless the output's batch is not its outer axis. */
static void run_with(bb_graph *g, const char *what, run_opts ro)
{
    enum { NB = 3 };
    const int64_t batches[NB] = {1, 3, 4};
    float *in[NB];
    double *ref[NB];
    int64_t ni[NB], no[NB];
    for (int b = 0; b < NB; b++) {
        shp si = shape_of(g, g->input, batches[b]), so = shape_of(g, g->output, batches[b]);
        ni[b] = count(&si), no[b] = count(&so);
        assert_non_null(in[b] = malloc(sizeof(float) * (size_t)ni[b]));
        uint64_t seed = 99 + (uint64_t)b;
        for (int64_t i = 0; i < ni[b]; i++)
            in[b][i] = (float)uni(&seed, ro.lo, ro.hi);
        assert_non_null(ref[b] = reference(g, batches[b], in[b]));
    }
    bb_fuse(g);
    char failed[1200] = "";
    for (int b = 0; b < NB && !failed[0]; b++) {
        bb_backend *be = NULL;
        bb_err err = {0};
        bb_run_config cfg = {.threads = ro.threads ? ro.threads : 2, .precision = ro.prec};
        cfg.options.value[BB_OPT_CPU_ALGO] = (unsigned char)ro.algo, cfg.options.source[BB_OPT_CPU_ALGO] = BB_OPT_FROM_FLAG;
        float *out = malloc(sizeof(float) * (size_t)no[b]);
        assert_non_null(out);
        if (bb_cpu_backend.prepare(&be, g, batches[b], &cfg, &err) != 0)
            snprintf(failed, sizeof failed, "%s: prepare at batch %lld: %s", what, (long long)batches[b], err.msg);
        for (int rep = 0; rep < 2 && !failed[0]; rep++) {
            memset(out, 0xff, sizeof(float) * (size_t)no[b]);
            if (bb_cpu_backend.set_input(be, in[b], &err) || bb_cpu_backend.forward(be, &err) ||
                bb_cpu_backend.get_output(be, out, &err)) {
                snprintf(failed, sizeof failed, "%s: batch %lld: %s", what, (long long)batches[b], err.msg);
                break;
            }
            int64_t at = worst_at(out, ref[b], no[b]);
            double scale = max_abs(ref[b], no[b]), d = fabs((double)out[at] - ref[b][at]);
            if (!(d <= ro.tol * scale))
                snprintf(failed, sizeof failed, "%s: batch %lld pass %d: |diff| %g at %lld (got %g, want %g), tol %g",
                         what, (long long)batches[b], rep, d, (long long)at, (double)out[at], ref[b][at], ro.tol * scale);
        }
        bb_cpu_backend.destroy(be);
        free(out);
    }
    for (int b = 0; b < NB; b++)
        free(in[b]), free(ref[b]);
    bb_graph_free(g);
    if (failed[0])
        fail_msg("%s", failed);
}

static void run(bb_graph *g, const char *what)
{
    run_with(g, what, DEF);
}

/* A graph whose input is per-item dims d (or full_rank with batch axis ba). */
static bb_graph *with_input(int nd, const int64_t *d, int ba)
{
    bb_graph *g = bb_graph_new("generic-test", BB_FAMILY_IMPORTED, BB_HEAD_FEATURES);
    g->input = bb_graph_add_tensor(g, "input", BB_T_INPUT, nd, d);
    if (ba >= 0)
        g->tensors[g->input].full_rank = 1, g->tensors[g->input].batch_axis = ba;
    return g;
}
#define INPUT(...) with_input(NDIM(__VA_ARGS__), D(__VA_ARGS__), -1)

/* A new activation shaped like x (per-item dims, full_rank, batch axis). */
static int like(bb_graph *g, int x)
{
    const bb_tensor *t = &g->tensors[x];
    int64_t d[BB_MAX_DIMS];
    memcpy(d, t->dims, sizeof d);
    return act(g, t->ndim, d, t->full_rank ? t->batch_axis : -1);
}

static int act_op(bb_graph *g, int x, bb_act a, float alpha, float beta)
{
    bb_op *op = op1(g, BB_OP_ACT, bb_act_name(a), x, like(g, x));
    op->act = a, op->alpha = alpha, op->beta = beta;
    return op->out;
}

/* slice with starts / steps (full axes) into y */
static int slice(bb_graph *g, int x, const int64_t *starts, const int64_t *steps, int y)
{
    bb_op *op = op1(g, BB_OP_SLICE, "slice", x, y);
    for (int i = 0; i < R; i++)
        op->starts[i] = starts[i], op->steps[i] = steps[i];
    return y;
}

static int transpose(bb_graph *g, int x, const int *perm, int y)
{
    bb_op *op = op1(g, BB_OP_TRANSPOSE, "transpose", x, y);
    memcpy(op->perm, perm, sizeof(int) * R);
    return y;
}

static int pool(bb_graph *g, bb_op_type type, int x, int y, const int *w, int include)
{
    bb_op *op = op1(g, type, "pool", x, y);
    window(op, w);
    op->count_include_pad = include;
    return y;
}

#define ONES ((const int64_t[R]){1, 1, 1, 1, 1, 1, 1})
#define ZEROS ((const int64_t[R]){0})

static int add(bb_graph *g, int a, int c)
{
    return op2(g, BB_OP_ADD, "add", a, c, like(g, a))->out;
}

#endif

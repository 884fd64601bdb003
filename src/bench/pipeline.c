/* pipeline.c — the end-to-end sweep: loader workers feeding the model (pipeline.h). */
#include "bench/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"
#include "env/env.h"
#include "data/source.h"
#include "models/model.h"
#include "results/result.h"
#include "util/clock.h"

typedef struct {
    const bb_pipeline_cfg *cfg;
    const bb_sweep_cfg *sc;
    const bb_backend_ops *be;
    bb_env env;
    bb_source *src;
    int index, total;
} pl_state;

typedef struct {
    double *forward, *waits;
    int n_forward, n_waits;
} pl_times;

static int stopped(const bb_sweep_cfg *c)
{
    return c->stop && *c->stop;
}

static void set_status(bb_result *r, const char *status, const char *msg)
{
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->message, sizeof r->message, "%.*s", (int)sizeof r->message - 1, msg ? msg : "");
}

/* Feeds one batch from the loader through the model; *waited is the time
 * the consumer waited for it, *fwd the forward pass. 0, 1 (loader ended or
 * stopped) or -1. */
static int one_batch(pl_state *s, bb_loader *l, bb_backend *b, double *waited, double *fwd, int64_t *skipped,
                     bb_err *err)
{
    float *data = NULL;
    bb_batch_info info;
    double t0 = bb_now_s();
    int rc = bb_loader_next(l, &data, &info, err);
    *waited = bb_now_s() - t0;
    if (rc != 0)
        return rc;
    *skipped += info.skipped;
    rc = s->be->set_input(b, data, err);
    bb_loader_release(l, data); /* set_input copied it: the worker may refill it */
    double f0 = bb_now_s();
    if (rc == 0)
        rc = s->be->forward(b, err);
    *fwd = s->be->forward_seconds ? s->be->forward_seconds(b) : bb_now_s() - f0;
    return rc;
}

/* Warm-up and measured batches through loader and model with `workers`. */
static void run_workers(pl_state *s, bb_backend *b, bb_result *r, bb_pipeline_info *pi, pl_times *t)
{
    const bb_sweep_cfg *sc = s->sc;
    int total = sc->warmup + sc->reps;
    bb_loader_cfg lc = {.source = s->src, .workers = pi->workers, .batch = r->batch_size, .n_batches = total,
                        .mode = s->cfg->mode, .prefetch = pi->prefetch, .stop = sc->stop, .log = sc->log};
    bb_loader *l = NULL;
    bb_err err = {0};
    double start = bb_now_s(), t_measure = start, waited_measured = 0.0;
    if (bb_loader_open(&l, &lc, &err) != 0)
        return set_status(r, "error", err.msg);
    int rc = 0;
    for (int i = 0; i < total && rc == 0; i++) {
        if (i == sc->warmup)
            t_measure = bb_now_s();
        double waited = 0.0, fwd = 0.0;
        rc = one_batch(s, l, b, &waited, &fwd, &pi->skipped, &err);
        if (rc != 0)
            break;
        t->waits[t->n_waits++] = waited;
        if (i == 0)
            pi->first_result_s = bb_now_s() - start;
        if (i >= sc->warmup)
            t->forward[t->n_forward++] = fwd, waited_measured += waited;
    }
    double end = bb_now_s();
    bb_loader_close(l);
    if (rc == 1 && stopped(sc))
        return set_status(r, "interrupted", "stopped by a signal");
    if (rc != 0)
        return set_status(r, "error", err.msg[0] ? err.msg : "the loader ended before the last batch");
    pi->measured_wall_s = end - t_measure;
    pi->items_per_s = pi->measured_wall_s > 0 ? (double)sc->reps * (double)r->batch_size / pi->measured_wall_s : 0;
    pi->wait_fraction = pi->measured_wall_s > 0 ? waited_measured / pi->measured_wall_s : 0;
    set_status(r, "ok", NULL);
}

static void progress(pl_state *s, const bb_result *r, const bb_pipeline_info *pi)
{
    FILE *f = s->sc->log;
    fprintf(f, "[%d/%d] %-18s batch %-5lld workers %-3d ", ++s->index, s->total, r->model,
            (long long)r->batch_size, pi->workers);
    if (strcmp(r->status, "ok") == 0)
        fprintf(f, "%9.1f items/s, waited for data %4.1f%% of the time, first result %.2f s\n", pi->items_per_s,
                100.0 * pi->wait_fraction, pi->first_result_s);
    else
        fprintf(f, "%s: %s\n", r->status, r->message);
    fflush(f);
}

/* One (model, batch size): the model prepared once, then every worker count.
 * Returns -1 when a result cannot be written, 1 when interrupted, else 0. */
static int run_batch(pl_state *s, const bb_graph *g, int m, int bi, bb_pipeline_result *res, bb_err *err)
{
    const bb_sweep_cfg *sc = s->sc;
    int total = sc->warmup + sc->reps, rc = 0;
    pl_times t = {malloc(sizeof(double) * (size_t)total), malloc(sizeof(double) * (size_t)total), 0, 0};
    bb_backend *b = NULL;
    bb_err perr = {0};
    int prepared = t.forward && t.waits && s->be->prepare(&b, g, sc->batches[bi], &sc->config, &perr) == 0;
    for (int w = 0; w < s->cfg->n_workers && rc == 0; w++) {
        bb_result r;
        bb_pipeline_info pi = {.workers = s->cfg->workers[w], .prefetch = s->cfg->prefetch ? s->cfg->prefetch : 2};
        snprintf(pi.mode, sizeof pi.mode, "%s", s->cfg->mode == BB_LOAD_ITEMS ? "items" : "batches");
        bb_sweep_fill_result(sc, s->env.threads_used, g, m, bi, &r);
        t.n_forward = t.n_waits = 0;
        if (!prepared)
            set_status(&r, perr.oom || !t.forward ? "oom" : "error", perr.msg[0] ? perr.msg : "out of memory");
        else
            run_workers(s, b, &r, &pi, &t);
        if (strcmp(r.status, "interrupted") == 0) {
            rc = 1;
            break;
        }
        r.times_s = t.forward, r.n_times = t.n_forward, r.pipeline = &pi;
        pi.waits_s = t.waits, pi.n_waits = t.n_waits;
        if (bb_result_write(sc->out_dir, &r, &s->env, NULL, 0, err) != 0)
            rc = -1;
        int ok = strcmp(r.status, "ok") == 0;
        res->items_per_s[m][bi][w] = ok ? pi.items_per_s : -1.0;
        res->wait_fraction[m][bi][w] = ok ? pi.wait_fraction : -1.0;
        ok ? res->ok++ : res->failed++;
        progress(s, &r, &pi);
    }
    if (b)
        s->be->destroy(b);
    free(t.forward), free(t.waits);
    return rc;
}

static int run_model(pl_state *s, int m, bb_pipeline_result *res, bb_err *err)
{
    bb_model_spec spec = {s->sc->models[m], s->sc->config.head, NULL, s->sc->seed};
    bb_err open_err = {0};
    bb_graph *g = bb_model_open(&spec, &open_err);
    if (!g)
        return bb_err_set(err, "%s", open_err.msg);
    int rc = 0;
    for (int bi = 0; bi < s->sc->n_batches && rc == 0; bi++)
        rc = stopped(s->sc) ? 1 : run_batch(s, g, m, bi, res, err);
    bb_graph_free(g);
    return rc;
}

int bb_pipeline_run(const bb_pipeline_cfg *cfg, bb_pipeline_result *res, bb_err *err)
{
    const bb_sweep_cfg *sc = cfg->sweep;
    pl_state *s = calloc(1, sizeof *s);
    if (!s)
        return bb_err_set(err, "out of memory");
    s->cfg = cfg, s->sc = sc;
    s->be = sc->config.backend;
    s->total = sc->n_models * sc->n_batches * cfg->n_workers;
    memset(res, 0, sizeof *res);
    bb_env_collect(&s->env, sc->config.threads);
    int rc = 0;
    if (strcmp(bb_config_device(&sc->config), "cuda") == 0)
        rc = bb_gpu_env_collect(&s->env.gpu, sc->config.precision, err);
    if (rc == 0)
        rc = bb_source_open(&s->src, sc->config.data_dir, NULL, err);
    for (int m = 0; rc == 0 && m < sc->n_models; m++)
        rc = run_model(s, m, res, err);
    res->interrupted = rc == 1;
    bb_source_close(s->src);
    free(s);
    return rc < 0 ? -1 : 0;
}

void bb_pipeline_print_table(FILE *f, const bb_pipeline_cfg *cfg, const bb_pipeline_result *res)
{
    const bb_sweep_cfg *sc = cfg->sweep;
    for (int m = 0; m < sc->n_models; m++) {
        int bb = -1, bw = -1;
        for (int b = 0; b < sc->n_batches; b++)
            for (int w = 0; w < cfg->n_workers; w++)
                if (res->items_per_s[m][b][w] >= 0 && (bb < 0 || res->items_per_s[m][b][w] > res->items_per_s[m][bb][bw]))
                    bb = b, bw = w;
        fprintf(f, "\n%s: end-to-end items/s (batch size x loader workers; * = best)\n%-8s", sc->models[m], "batch");
        for (int w = 0; w < cfg->n_workers; w++)
            fprintf(f, " %9d w", cfg->workers[w]);
        fprintf(f, "\n");
        for (int b = 0; b < sc->n_batches; b++) {
            fprintf(f, "%-8lld", (long long)sc->batches[b]);
            for (int w = 0; w < cfg->n_workers; w++) {
                double v = res->items_per_s[m][b][w];
                if (v < 0)
                    fprintf(f, " %11s", "-");
                else
                    fprintf(f, " %10.1f%c", v, b == bb && w == bw ? '*' : ' ');
            }
            fprintf(f, "\n");
        }
        if (bb >= 0)
            fprintf(f, "best: batch %lld with %d worker%s, %.1f items/s (waited for data %.0f%% of the time)\n",
                    (long long)sc->batches[bb], cfg->workers[bw], cfg->workers[bw] == 1 ? "" : "s",
                    res->items_per_s[m][bb][bw],
                    100.0 * res->wait_fraction[m][bb][bw]);
    }
}

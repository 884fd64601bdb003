/*
 * serve.c — the serving run of serve.h: every batch size prepared and
 * warmed up, the arrival schedule fixed, then one server thread that sleeps
 * to each batch's start as bb_batcher_next gives it and runs the batch.
 *
 * Why this file exists: it is the only place a serving run is timed. The
 * loop between two batches does nothing but ask the rule, sleep and run:
 * no allocation, no printing; latencies, queue lengths and the summary are
 * derived from the recorded batches afterwards.
 */
#include "serve/serve.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/model.h"
#include "stats/stats.h"
#include "util/clock.h"

/* The prepared models, one per size, and the input batch they share. */
typedef struct {
    bb_backend *b[BB_SERVE_MAX_SIZES];
    float *x;                  /* max_batch seeded items; size s reads the first s */
    int64_t sizes[BB_SERVE_MAX_SIZES];
    int size_index[4097];      /* [n]: the prepared size a batch of n runs at */
} serve_models;

double bb_serve_default_drain(double duration_s)
{
    return 5.0 * duration_s < 10.0 ? 5.0 * duration_s : 10.0;
}

static int stopped(const bb_serve_cfg *c)
{
    return c->stop && *c->stop;
}

static void release(const bb_serve_cfg *c, serve_models *m, int n)
{
    for (int i = 0; i < n; i++)
        if (m->b[i])
            c->config->backend->destroy(m->b[i]);
    free(m->x);
}

/* ---- preparing ----------------------------------------------------------------- */

/* Size i prepared, its input set, warmed up. The message names the size. */
static int prepare_one(const bb_serve_cfg *c, serve_models *m, bb_serve_result *res, int i, bb_err *err)
{
    const bb_backend_ops *be = c->config->backend;
    bb_serve_prepared *p = &res->prepared[i];
    bb_backend_report rep;
    bb_err e = {0};
    p->size = res->sizes[i];
    double t0 = bb_now_s();
    if (be->prepare(&m->b[i], c->g, p->size, c->config, &e) != 0) {
        m->b[i] = NULL;
        goto failed;
    }
    be->report(m->b[i], &rep);
    p->prepare_s = bb_now_s() - t0;
    p->weight_bytes = rep.weight_bytes, p->arena_bytes = rep.arena_bytes, p->workspace_bytes = rep.workspace_bytes;
    snprintf(p->math_mode, sizeof p->math_mode, "%s", rep.math_mode);
    if (be->set_input(m->b[i], m->x, &e) != 0)
        goto failed;
    double w0 = bb_now_s();
    for (int k = 0; k < c->warmup && !stopped(c); k++)
        if ((be->input_seconds && be->set_input(m->b[i], m->x, &e) != 0) || be->forward(m->b[i], &e) != 0)
            goto failed;
    p->warmup_s = bb_now_s() - w0;
    return 0;
failed:
    bb_err_set(err, "preparing batch size %lld: %s", (long long)p->size, e.msg);
    err->oom = e.oom;
    return -1;
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* Every size of bb_batcher_sizes(max_batch), a line each on c->log. */
static int prepare_all(const bb_serve_cfg *c, serve_models *m, bb_serve_result *res, bb_err *err)
{
    /* the model's own input shape per item (an imported model's need not be [3,224,224]) */
    size_t items = (size_t)c->max_batch * (size_t)bb_tensor_numel(&c->g->tensors[c->g->input]);
    if (!(m->x = malloc(items * sizeof(float))))
        return bb_err_oom(err, "out of memory for an input batch of %d", c->max_batch);
    bb_random_input(m->x, (int64_t)items, c->seed + 1);
    res->n_sizes = bb_batcher_sizes(c->max_batch, res->sizes);
    memcpy(m->sizes, res->sizes, sizeof m->sizes);
    for (int n = 1; n <= c->max_batch; n++) {
        int64_t run = bb_batcher_run_size(res->sizes, res->n_sizes, n);
        for (int i = 0; i < res->n_sizes; i++)
            if (res->sizes[i] == run)
                m->size_index[n] = i;
    }
    for (int i = 0; i < res->n_sizes; i++) {
        if (stopped(c))
            return 1;
        if (prepare_one(c, m, res, i, err) != 0)
            return -1;
        if (stopped(c)) /* its warm-up was cut short */
            return 1;
        const bb_serve_prepared *p = &res->prepared[i];
        if (c->log)
            fprintf(c->log, "  prepared batch size %-5lld weights %8.1f MiB, activations %8.1f MiB, workspace "
                            "%7.1f MiB; %.2f s, %d warm-up passes %.3f s\n",
                    (long long)p->size, mib(p->weight_bytes), mib(p->arena_bytes), mib(p->workspace_bytes),
                    p->prepare_s, c->warmup, p->warmup_s);
    }
    if (c->log) {
        fprintf(c->log, "  serving %lld requests over %g s (a batch due after %g s is not run)\n",
                (long long)res->n_scheduled, c->duration_s, c->duration_s + c->drain_s);
        fflush(c->log);
    }
    return 0;
}

/* ---- the run --------------------------------------------------------------------- */

/* One batch of d.n requests from `first`: slept to, run, recorded. */
static int run_batch(const bb_serve_cfg *c, serve_models *m, double t0, bb_dispatch d, bb_serve_batch *bt,
                     bb_err *err)
{
    const bb_backend_ops *be = c->config->backend;
    int k = m->size_index[d.n];
    bb_backend *b = m->b[k];
    bb_sleep_until(t0 + d.at, c->stop);
    if (stopped(c))
        return 1;
    bb_err e = {0};
    double start = bb_now_s();
    int rc = be->input_seconds ? be->set_input(b, m->x, &e) : 0; /* a device of its own: the copy is served time */
    rc = rc == 0 ? be->forward(b, &e) : rc;
    double end = bb_now_s();
    if (rc != 0) {
        bb_err_set(err, "a batch of %d at batch size %lld: %s", d.n, (long long)m->sizes[k], e.msg);
        err->oom = e.oom;
        return -1;
    }
    bt->planned = d.at, bt->start = start - t0, bt->end = end - t0;
    bt->n = d.n, bt->run_size = (int)m->sizes[k];
    return 0;
}

/* The loop: the rule, the sleep, the batch; until the schedule is served,
 * the next batch would start after duration + drain, or a signal. */
static int serve_loop(const bb_serve_cfg *c, serve_models *m, bb_serve_result *res, double t0, bb_err *err)
{
    const bb_batcher rule = {c->max_batch, c->timeout_s};
    const double horizon = c->duration_s + c->drain_s;
    const int64_t n = res->n_scheduled;
    int64_t first = 0;
    double free_at = 0.0;
    while (first < n) {
        bb_dispatch d = bb_batcher_next(&rule, res->arrival, n, first, free_at);
        if (d.at > horizon)
            break;
        bb_serve_batch *bt = &res->batches[res->n_batches];
        int rc = run_batch(c, m, t0, d, bt, err);
        if (rc != 0)
            return rc;
        bt->first = first;
        res->n_batches++;
        first += d.n;
        free_at = bt->end;
        if (stopped(c))
            return 1;
    }
    res->n_served = first;
    res->n_dropped = n - first;
    res->run_s = res->n_batches ? res->batches[res->n_batches - 1].end : 0.0;
    return 0;
}

/* After the run: queue lengths and every served latency. */
static int derive(bb_serve_result *res, bb_err *err)
{
    if (!(res->latency = malloc(sizeof(double) * (size_t)(res->n_served > 0 ? res->n_served : 1))))
        return bb_err_oom(err, "out of memory for %lld latencies", (long long)res->n_served);
    int64_t arrived = 0;
    for (int64_t i = 0; i < res->n_batches; i++) {
        bb_serve_batch *bt = &res->batches[i];
        while (arrived < res->n_scheduled && res->arrival[arrived] <= bt->start)
            arrived++;
        bt->queue = arrived - bt->first;
        for (int64_t j = bt->first; j < bt->first + bt->n; j++)
            res->latency[j] = bt->end - res->arrival[j];
    }
    return 0;
}

int bb_serve_run(const bb_serve_cfg *c, bb_serve_result *res, bb_err *err)
{
    serve_models m;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    double want = ceil(c->rate * c->duration_s);
    if (!(want >= 1 && want <= BB_SERVE_MAX_REQUESTS))
        return bb_err_set(err, "rate x duration schedules %.0f requests; 1..%d are possible", want,
                          BB_SERVE_MAX_REQUESTS);
    res->n_scheduled = (int64_t)want;
    res->arrival = malloc(sizeof(double) * (size_t)res->n_scheduled);
    res->batches = malloc(sizeof(bb_serve_batch) * (size_t)res->n_scheduled);
    if (!res->arrival || !res->batches) {
        bb_serve_result_free(res);
        return bb_err_oom(err, "out of memory for a schedule of %lld requests", (long long)res->n_scheduled);
    }
    memset(res->batches, 0, sizeof(bb_serve_batch) * (size_t)res->n_scheduled); /* touched now, not in the loop */
    bb_arrival_schedule(c->arrivals, c->rate, c->seed, res->arrival, res->n_scheduled);
    int rc = prepare_all(c, &m, res, err);
    if (rc == 0) {
        res->t0_lead_s = c->lead_s;
        double t0 = bb_now_s() + c->lead_s;
        rc = serve_loop(c, &m, res, t0, err);
    }
    release(c, &m, res->n_sizes);
    if (rc == 0)
        rc = derive(res, err);
    if (rc != 0)
        bb_serve_result_free(res);
    return rc;
}

void bb_serve_result_free(bb_serve_result *res)
{
    free(res->arrival), free(res->latency), free(res->batches);
    res->arrival = res->latency = NULL;
    res->batches = NULL;
}

/* ---- the summary ---------------------------------------------------------------- */

/* bb_stats_compute's mean, percentiles and extremes of v[0..n-1]; n = 0
 * when v is empty (or memory runs out: -1). */
static int dist_of(const double *v, int64_t n, bb_serve_dist *d)
{
    bb_stats st;
    memset(d, 0, sizeof *d);
    if (n <= 0)
        return 0;
    if (bb_stats_compute(v, (int)n, &st) != 0)
        return -1;
    *d = (bb_serve_dist){st.n, st.mean, st.p50, st.p90, st.p95, st.p99, st.max, st.min};
    return 0;
}

/* service (end - start) or late start (start - planned) of every batch. */
static int batch_dist(const bb_serve_result *res, int late, bb_serve_dist *d)
{
    double *v = malloc(sizeof(double) * (size_t)(res->n_batches > 0 ? res->n_batches : 1));
    if (!v)
        return -1;
    for (int64_t i = 0; i < res->n_batches; i++) {
        const bb_serve_batch *b = &res->batches[i];
        v[i] = late ? b->start - b->planned : b->end - b->start;
    }
    int rc = dist_of(v, res->n_batches, d);
    free(v);
    return rc;
}

int bb_serve_summarise(const bb_serve_cfg *c, const bb_serve_result *res, bb_serve_summary *s)
{
    memset(s, 0, sizeof *s);
    if (dist_of(res->latency, res->n_served, &s->latency) != 0 || batch_dist(res, 0, &s->service) != 0 ||
        batch_dist(res, 1, &s->late_start) != 0)
        return -1;
    s->n_late = c->slo_s > 0 ? 0 : -1;
    for (int64_t j = 0; c->slo_s > 0 && j < res->n_served; j++)
        s->n_late += res->latency[j] > c->slo_s;
    for (int64_t i = 0; i < res->n_batches; i++) {
        const bb_serve_batch *b = &res->batches[i];
        s->histogram[b->n]++;
        s->padded_items += b->run_size - b->n;
    }
    if (res->n_batches > 0) {
        s->mean_size = (double)res->n_served / (double)res->n_batches;
        double span = res->batches[res->n_batches - 1].end - res->arrival[0];
        s->achieved_per_s = span > 0 ? (double)res->n_served / span : 0.0;
    }
    return 0;
}

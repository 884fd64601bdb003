/*
 * pipeline.c — how `run --pipeline` measures a configuration: loader
 * workers feeding the model (pipeline.h). The walk over configurations,
 * --resume, writing and SIGINT are the driver's (sweep.c); preparing within
 * --mem-limit, statuses and finishing a configuration are measure.h's.
 */
#include "bench/pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "results/summary_csv.h"
#include "util/clock.h"

#define UNBOUNDED_BATCHES ((int64_t)1 << 40) /* the loader's limit: fed until the rule says stop */

/* The model prepared for one batch size, kept for its worker counts. */
typedef struct {
    const bb_measure_ctx *c;
    const bb_graph *g;
    int bi;         /* the batch size b is prepared for; -1: none yet */
    bb_backend *b;  /* NULL: preparing failed (prep says why) */
    bb_result prep; /* the preparation's record: prepare_s, math_mode, memory; status when it failed */
} pl_model;

/* One configuration's clock. */
typedef struct {
    double start;     /* the loader was started */
    double t_measure; /* the measured batches began; 0: still warming up */
    double end;       /* the last measured batch was done */
    double waited;    /* waits for data during the measured batches */
    int fed;          /* batches through the model */
    bb_noise_mark mark;
} pl_clock;

/* ---- the model, prepared once per batch size ------------------------------------ */

static void prepare_for(pl_model *p, const bb_config_run *run)
{
    int oom;
    if (p->bi == run->bi)
        return;
    if (p->b)
        p->c->be->destroy(p->b);
    p->b = NULL, p->bi = run->bi;
    p->prep = run->r;
    bb_measure_prepare(p->c, p->g, &p->prep, &p->b, &oom); /* on failure prep.status says why */
}

/* run takes the preparation's record; 0 when there is a model to feed,
 * else run is final with the preparation's status. */
static int take_prep(const pl_model *p, bb_config_run *run)
{
    bb_result *r = &run->r;
    const bb_result *q = &p->prep;
    r->prepare_s = q->prepare_s;
    snprintf(r->math_mode, sizeof r->math_mode, "%s", q->math_mode);
    r->mem_weight_bytes = q->mem_weight_bytes, r->mem_arena_bytes = q->mem_arena_bytes;
    r->mem_workspace_bytes = q->mem_workspace_bytes;
    if (p->b)
        return 0;
    bb_measure_set_status(r, q->status, q->message);
    bb_measure_finish(p->c, run);
    return -1;
}

/* --mem-limit: the prepared model and the loader's buffers must fit
 * together. The loader holds its window of batches ahead (prefetch per
 * worker in batches mode, prefetch in all in items mode) and the one being
 * fed (worker processes: two, their pool is fixed): bb_loader_buffers.
 * 1 when over it (run final as "oom"). */
static int over_mem_limit(const pl_model *p, bb_config_run *run, const bb_loader_cfg *lc)
{
    const bb_sweep_cfg *cfg = p->c->cfg;
    const bb_result *r = &run->r;
    int64_t buffers = bb_loader_buffers(lc);
    int64_t loader = buffers * r->batch_size * BB_ITEM_FLOATS * (int64_t)sizeof(float);
    int64_t model = r->mem_weight_bytes + r->mem_arena_bytes + r->mem_workspace_bytes;
    if (cfg->mem_limit <= 0 || model + loader <= cfg->mem_limit)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "the prepared model (%lld bytes) and the loader's %lld batch buffers (%lld bytes) "
             "need %lld bytes, over --mem-limit %lld", (long long)model, (long long)buffers, (long long)loader,
             (long long)(model + loader), (long long)cfg->mem_limit);
    bb_measure_set_status(&run->r, "oom", msg);
    bb_measure_finish(p->c, run);
    return 1;
}

/* ---- feeding -------------------------------------------------------------------- */

/* One batch from the loader through the model; its wait for data and, once
 * measuring, its forward time (and copy to the device) recorded. 0, 1 (the
 * loader ended or was stopped) or -1 (err set). */
static int feed_one(const bb_measure_ctx *c, bb_backend *b, bb_loader *l, bb_config_run *run, pl_clock *k, bb_err *err)
{
    float *data = NULL;
    bb_batch_info info;
    int measured = k->t_measure > 0;
    double t0 = bb_now_s();
    int rc = bb_loader_next(l, &data, &info, err);
    double waited = bb_now_s() - t0;
    if (rc != 0)
        return rc;
    run->pl.skipped += info.skipped;
    rc = c->be->set_input(b, data, err);
    bb_loader_release(l, data); /* set_input copied it: the worker may refill it */
    if (rc == 0 && measured && c->be->input_seconds &&
        bb_measure_push(&run->copies, &run->n_copies, &run->cap_copies, c->be->input_seconds(b)) != 0)
        rc = bb_err_oom(err, "out of memory for copy times");
    double f0 = bb_now_s();
    if (rc == 0)
        rc = c->be->forward(b, err);
    double fwd = c->be->forward_seconds ? c->be->forward_seconds(b) : bb_now_s() - f0;
    if (rc != 0)
        return -1;
    if (fwd < 0)
        return bb_err_set(err, "the device's timer gave no time for the forward pass");
    if (k->fed++ == 0)
        run->pl.first_result_s = bb_now_s() - k->start;
    if (bb_measure_push(&run->waits, &run->n_waits, &run->cap_waits, waited) != 0 ||
        (measured && bb_measure_push(&run->times, &run->n_times, &run->cap_times, fwd) != 0))
        return bb_err_oom(err, "out of memory for batch times");
    k->waited += measured ? waited : 0.0;
    return 0;
}

/* What ends feeding run now: "ok" (--reps batches and --min-time measured),
 * "timeout" (--max-time), "interrupted" (a signal), or NULL to feed another
 * batch. Starts the measured part once --warmup batches and --warmup-time
 * are done. */
static const char *next_step(const bb_measure_ctx *c, const bb_config_run *run, pl_clock *k)
{
    const bb_sweep_cfg *cfg = c->cfg;
    double now = bb_now_s();
    if (bb_measure_stopped(cfg))
        return "interrupted";
    if (cfg->max_time_s > 0 && now - k->start > cfg->max_time_s)
        return "timeout";
    if (k->t_measure == 0 && k->fed >= cfg->warmup && now - k->start >= cfg->warmup_time_s) {
        k->t_measure = now;
        bb_noise_mark_now(c->noise, &k->mark);
    }
    if (k->t_measure > 0 && run->n_times >= cfg->reps && now - k->t_measure >= cfg->min_time_s)
        return k->end = now, "ok";
    return NULL;
}

/* run's outcome from how feeding ended: its status and, when ok, the
 * end-to-end figures over the measured batches. */
static void record(const bb_measure_ctx *c, bb_config_run *run, const pl_clock *k, int rc, const char *why,
                   const bb_err *err)
{
    bb_pipeline_info *pi = &run->pl;
    pi->waits_s = run->waits, pi->n_waits = run->n_waits;
    if (rc == 1 || (why && !strcmp(why, "interrupted"))) {
        int sig = bb_measure_stopped(c->cfg);
        bb_measure_set_status(&run->r, sig ? "interrupted" : "error",
                              sig ? "stopped by a signal" : "the loader ended before the last batch");
    } else if (rc != 0) {
        bb_measure_set_status(&run->r, err->oom ? "oom" : "error", err->msg);
    } else if (!strcmp(why, "timeout")) {
        bb_measure_set_status(&run->r, "timeout",
                              k->t_measure > 0 ? "--max-time reached" : "--max-time reached during warm-up");
    } else {
        double wall = k->end - k->t_measure, bs = (double)run->r.batch_size;
        pi->measured_wall_s = wall;
        pi->items_per_s = wall > 0 ? (double)run->n_times * bs / wall : 0.0;
        pi->wait_fraction = wall > 0 ? (k->waited < wall ? k->waited / wall : 1.0) : 0.0;
        bb_measure_set_status(&run->r, "ok", NULL);
    }
    bb_measure_finish(c, run);
}

/* One configuration: the loader started with its worker count, batches fed
 * until the rule says stop, the outcome recorded and handed on. */
static void feed(const pl_model *p, bb_config_run *run)
{
    const bb_measure_ctx *c = p->c;
    const bb_sweep_cfg *cfg = c->cfg;
    int bounded = cfg->warmup_time_s <= 0 && cfg->min_time_s <= 0; /* the number of batches is known */
    bb_loader_cfg lc = {.source = c->src, .workers = run->pl.workers, .batch = run->r.batch_size,
                        .n_batches = bounded ? cfg->warmup + cfg->reps : UNBOUNDED_BATCHES,
                        .mode = cfg->pipeline.mode, .prefetch = run->pl.prefetch, .stop = cfg->stop, .log = cfg->log,
                        .worker_kind = cfg->pipeline.worker_kind};
    if (over_mem_limit(p, run, &lc))
        return;
    bb_loader *l = NULL;
    bb_err err = {0};
    pl_clock k = {.start = bb_now_s()};
    const char *why = NULL;
    int rc = bb_loader_open(&l, &lc, &err);
    while (rc == 0 && !(why = next_step(c, run, &k)))
        rc = feed_one(c, p->b, l, run, &k, &err);
    if (k.t_measure > 0) {
        bb_noise_mark end;
        bb_noise_mark_now(c->noise, &end);
        bb_noise_add(c->noise, &k.mark, &end, &run->noise);
    }
    bb_loader_close(l);
    record(c, run, &k, rc, why, &err);
}

void bb_pipeline_measure(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *runs, int n)
{
    pl_model p = {.c = c, .g = g, .bi = -1};
    for (int i = 0; i < n && !bb_measure_stopped(c->cfg); i++) {
        bb_noise_init(&runs[i].noise);
        prepare_for(&p, &runs[i]);
        if (take_prep(&p, &runs[i]) == 0)
            feed(&p, &runs[i]);
    }
    if (p.b)
        c->be->destroy(p.b);
    bb_measure_interrupt_rest(c, runs, n);
}

/* ---- what the folder holds ---------------------------------------------------- */

static const bb_csv_col pipeline_cols[] = {
    BB_CSV_CONFIG_COLUMNS,
    {"workers", "pipeline", "workers", 'i'},
    {"load_mode", "pipeline", "mode", 's'},
    {"worker_kind", "pipeline", "worker_kind", 's'},
    {"prefetch", "pipeline", "prefetch", 'i'},
    {"status", NULL, "status", 's'},
    {"items_per_s", "pipeline", "items_per_s", 'r'},
    {"wait_fraction", "pipeline", "wait_fraction", 'r'},
    {"first_result_s", "pipeline", "first_result_s", 'r'},
    {"measured_wall_s", "pipeline", "measured_wall_s", 'r'},
    {"skipped", "pipeline", "skipped", 'i'},
    {"n", "stats", "n", 'i'},
    {"forward_median_s", "stats", "median_s", 'r'},
    {"forward_per_item_median_s", "stats", "per_item_median_s", 'r'},
    {"forward_items_per_s", "stats", "items_per_s", 'r'},
    {"data_dir", "config", "data_dir", 's'},
};

static double num(const cJSON *j, const char *section, const char *key)
{
    const cJSON *v = bb_json_field(j, section, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

/* By model, then batch size, then workers. */
static int cmp_pipeline(const cJSON *x, const cJSON *y)
{
    const cJSON *mx = bb_json_field(x, "config", "model"), *my = bb_json_field(y, "config", "model");
    int c = strcmp(cJSON_IsString(mx) ? mx->valuestring : "", cJSON_IsString(my) ? my->valuestring : "");
    double u = num(x, "config", "batch_size"), v = num(y, "config", "batch_size");
    if (c || u != v)
        return c ? c : (u > v) - (u < v);
    u = num(x, "pipeline", "workers"), v = num(y, "pipeline", "workers");
    return (u > v) - (u < v);
}

int bb_pipeline_summary_write(const char *dir, bb_err *err)
{
    static const bb_csv_spec spec = {"pipeline-", BB_RESULT_SCHEMA_VERSION, "pipeline result", pipeline_cols,
                                     sizeof pipeline_cols / sizeof *pipeline_cols, cmp_pipeline};
    return bb_csv_summary_write_to(dir, "pipeline-summary.csv", &spec, NULL, err);
}

/* ---- the table ------------------------------------------------------------------ */

static void best_cell(const bb_sweep_cfg *cfg, const bb_sweep_result *res, int m, int *bb, int *bw)
{
    *bb = *bw = -1;
    for (int b = 0; b < cfg->n_batches; b++)
        for (int w = 0; w < cfg->pipeline.n_workers; w++) {
            double v = res->items_per_s[m][b][w];
            if (v >= 0 && (*bb < 0 || v > res->items_per_s[m][*bb][*bw]))
                *bb = b, *bw = w;
        }
}

void bb_pipeline_print_table(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res)
{
    const bb_sweep_pipeline *p = &cfg->pipeline;
    for (int m = 0; m < cfg->n_models; m++) {
        int bb, bw;
        best_cell(cfg, res, m, &bb, &bw);
        fprintf(f, "\n%s: end-to-end items/s (batch size x loader %s; * = best)\n%-8s", cfg->models[m],
                p->worker_kind == BB_WORKERS_PROCESS ? "worker processes" : "workers", "batch");
        for (int w = 0; w < p->n_workers; w++)
            fprintf(f, " %9d w", p->workers[w]);
        fprintf(f, "\n");
        for (int b = 0; b < cfg->n_batches; b++) {
            fprintf(f, "%-8lld", (long long)cfg->batches[b]);
            for (int w = 0; w < p->n_workers; w++) {
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
                    (long long)cfg->batches[bb], p->workers[bw], p->workers[bw] == 1 ? "" : "s",
                    res->items_per_s[m][bb][bw], 100.0 * res->wait_fraction[m][bb][bw]);
    }
}

/* sweep.c — the batch-size sweep (sweep.h). */
#include "bench/sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/backend.h"
#include "bench/dataset.h"
#include "bench/env.h"
#include "bench/peak.h"
#include "bench/stats.h"
#include "engine/facts.h"
#include "models/model.h"
#include "models/zoo.h"
#include "report/result.h"
#include "util/clock.h"

typedef struct {
    const bb_sweep_cfg *cfg;
    bb_env env;
    bb_dataset ds;
    int have_ds, tty;
    double est[BB_SWEEP_MAX][BB_SWEEP_MAX]; /* estimated seconds per configuration */
    double t_start, est_done;
    int index;
} sweep_state;

static int stopped(const bb_sweep_cfg *cfg)
{
    return cfg->stop && *cfg->stop;
}

/* ---- estimate ------------------------------------------------------------ */

static double config_estimate(const bb_sweep_cfg *cfg, const bb_model_facts *f, int64_t bs, double gflops)
{
    double pass = 2.0 * (double)f->macs_per_item * (double)bs / (0.75 * gflops * 1e9); /* models reach ~75% of GEMM */
    double measured = pass * cfg->reps > cfg->min_time_s ? pass * cfg->reps : cfg->min_time_s;
    double total = 0.3 + (double)f->weight_bytes / 2e9 + pass * cfg->warmup + measured + cfg->pause_s;
    return cfg->max_time_s > 0 && total > cfg->max_time_s + 0.3 ? cfg->max_time_s + 0.3 : total;
}

static double estimate_all(const bb_sweep_cfg *cfg, double est[BB_SWEEP_MAX][BB_SWEEP_MAX], double *gflops)
{
    *gflops = cfg->gflops_hint > 0 ? cfg->gflops_hint : bb_peak_sgemm_gflops(cfg->threads, 768, 5);
    if (*gflops <= 0)
        *gflops = 50.0;
    double total = 0.0;
    for (int m = 0; m < cfg->n_models; m++) {
        bb_graph *g = bb_zoo_build(cfg->models[m], cfg->head);
        for (int b = 0; g && b < cfg->n_batches; b++) {
            bb_model_facts f;
            bb_model_facts_compute(g, cfg->batches[b], &f);
            est[m][b] = config_estimate(cfg, &f, cfg->batches[b], *gflops);
            total += est[m][b];
        }
        bb_graph_free(g);
    }
    return total;
}

double bb_sweep_estimate(const bb_sweep_cfg *cfg, double *gflops)
{
    _Static_assert(BB_SWEEP_MAX * BB_SWEEP_MAX * sizeof(double) <= 32768, "estimate table fits the stack");
    double est[BB_SWEEP_MAX][BB_SWEEP_MAX];
    return estimate_all(cfg, est, gflops);
}

/* ---- one configuration --------------------------------------------------- */

typedef struct {
    double *t;
    int n, cap;
} times_buf;

static int push_time(times_buf *tb, double t)
{
    if (tb->n == tb->cap) {
        int cap = tb->cap ? tb->cap * 2 : 64;
        double *nt = realloc(tb->t, sizeof(double) * (size_t)cap);
        if (!nt)
            return -1;
        tb->t = nt, tb->cap = cap;
    }
    tb->t[tb->n++] = t;
    return 0;
}

static void set_status(bb_result *r, const char *status, const char *msg)
{
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->message, sizeof r->message, "%.*s", (int)sizeof r->message - 1, msg ? msg : "");
}

static int load_batch(sweep_state *s, float *x, int64_t bs, int64_t first, bb_err *err)
{
    if (s->have_ds)
        return bb_dataset_read(&s->ds, first, bs, x, err);
    bb_random_input(x, bs * BB_ITEM_FLOATS, s->cfg->seed + 1);
    return 0;
}

/* On a TTY, a live line for the configuration being measured (between
 * batches, outside the clock); piped output gets only the final lines. */
static void live(const sweep_state *s, const bb_result *r, const char *phase, int i, int n)
{
    if (!s->tty)
        return;
    fprintf(s->cfg->log, "\r\033[K[%d/%d] %-18s batch %-5lld %s %d/%d", s->index,
            s->cfg->n_models * s->cfg->n_batches, r->model, (long long)r->batch_size, phase, i, n);
    fflush(s->cfg->log);
}

/* Warm-up, then measured batches; only forward() is inside the clock. */
static void measure(sweep_state *s, const bb_backend_ops *be, bb_backend *b, float *x, bb_result *r, times_buf *tb,
                    times_buf *copies)
{
    const bb_sweep_cfg *cfg = s->cfg;
    bb_err err = {0};
    double t_begin = bb_now_s(), t_measured = 0.0;
    int64_t bs = r->batch_size, next = bs;
    for (int i = 0; i < cfg->warmup; i++) {
        live(s, r, "warm-up", i + 1, cfg->warmup);
        if (be->forward(b, &err) != 0)
            return set_status(r, "error", err.msg);
        if (stopped(cfg))
            return set_status(r, "interrupted", "stopped by a signal");
        if (cfg->max_time_s > 0 && bb_now_s() - t_begin > cfg->max_time_s)
            return set_status(r, "timeout", "--max-time reached during warm-up");
    }
    for (int i = 0; i < cfg->reps || t_measured < cfg->min_time_s; i++) {
        live(s, r, "measuring", i + 1, cfg->reps);
        if (s->have_ds && i > 0) { /* the next stored batch, outside the clock */
            if (load_batch(s, x, bs, next, &err) != 0)
                return set_status(r, "error", err.msg);
            next += bs;
        }
        /* Copied to the device before every batch (as the seed did), timed
         * apart; on the CPU only a new stored batch needs setting. */
        if ((be->input_seconds || (s->have_ds && i > 0)) && be->set_input(b, x, &err) != 0)
            return set_status(r, "error", err.msg);
        if (be->input_seconds && push_time(copies, be->input_seconds(b)) != 0)
            return set_status(r, "error", "out of memory for copy times");
        double t0 = bb_now_s();
        int rc = be->forward(b, &err);
        double t = be->forward_seconds ? be->forward_seconds(b) : bb_now_s() - t0;
        if (rc != 0)
            return set_status(r, "error", err.msg);
        if (t < 0)
            return set_status(r, "error", "the device's timer gave no time for the forward pass");
        if (push_time(tb, t) != 0)
            return set_status(r, "error", "out of memory for batch times");
        t_measured += t;
        if (stopped(cfg))
            return set_status(r, "interrupted", "stopped by a signal");
        if (cfg->max_time_s > 0 && bb_now_s() - t_begin > cfg->max_time_s)
            return set_status(r, "timeout", "--max-time reached");
    }
    set_status(r, "ok", NULL);
}

static void over_limit(bb_result *r, const char *what, int64_t need, int64_t limit)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s needs %lld bytes, over --mem-limit %lld", what, (long long)need, (long long)limit);
    set_status(r, "oom", msg);
}

/* The first batch (random or from the data set) into a new buffer, handed
 * to the prepared backend, then the measured batches. */
static void feed_and_measure(sweep_state *s, const bb_backend_ops *be, bb_backend *b, bb_result *r, times_buf *tb,
                             times_buf *copies)
{
    int64_t bs = r->batch_size;
    bb_err err = {0};
    float *x = malloc((size_t)(bs * BB_ITEM_FLOATS) * sizeof(float));
    if (!x)
        return set_status(r, "oom", "out of memory for the input batch");
    if (load_batch(s, x, bs, 0, &err) != 0 || be->set_input(b, x, &err) != 0)
        set_status(r, "error", err.msg);
    else
        measure(s, be, b, x, r, tb, copies);
    free(x);
}

/* Prepares first, so a batch size that does not fit is known before its
 * input batch is made (at batch 40000 that is 24 GB of random numbers). */
static void run_config(sweep_state *s, const bb_graph *g, bb_result *r, times_buf *tb, times_buf *copies)
{
    const bb_sweep_cfg *cfg = s->cfg;
    const bb_backend_ops *be = strcmp(cfg->device, "cuda") == 0 ? &bb_cuda_backend : &bb_cpu_backend;
    int64_t bs = r->batch_size, need = r->activation_bytes + r->weight_bytes;
    if (cfg->mem_limit > 0 && need > cfg->mem_limit)
        return over_limit(r, "the memory plan", need, cfg->mem_limit);
    bb_backend *b = NULL;
    bb_backend_opts o = {.threads = cfg->threads, .precision = cfg->precision};
    bb_err err = {0};
    double t0 = bb_now_s();
    if (be->prepare(&b, g, bs, &o, &err) != 0)
        return set_status(r, err.oom ? "oom" : "error", err.msg);
    bb_backend_report rep;
    be->report(b, &rep);
    r->prepare_s = bb_now_s() - t0;
    snprintf(r->math_mode, sizeof r->math_mode, "%s", rep.math_mode);
    r->mem_weight_bytes = rep.weight_bytes, r->mem_arena_bytes = rep.arena_bytes;
    r->mem_workspace_bytes = rep.workspace_bytes;
    need = rep.arena_bytes + rep.weight_bytes + rep.workspace_bytes;
    if (cfg->mem_limit > 0 && need > cfg->mem_limit)
        over_limit(r, "the prepared model", need, cfg->mem_limit);
    else
        feed_and_measure(s, be, b, r, tb, copies);
    be->destroy(b);
}

/* ---- the sweep ------------------------------------------------------------ */

void bb_sweep_fill_result(const bb_sweep_cfg *cfg, int threads_used, const bb_graph *g, int m, int bi, bb_result *r)
{
    const bb_model_info *mi = bb_zoo_find(cfg->models[m]);
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s", cfg->models[m]);
    snprintf(r->family, sizeof r->family, "%s", mi ? bb_family_name(mi->family) : "?");
    snprintf(r->head, sizeof r->head, "%s", bb_head_name(cfg->head));
    snprintf(r->device, sizeof r->device, "%s", cfg->device);
    snprintf(r->engine, sizeof r->engine, "batchbench");
    snprintf(r->precision, sizeof r->precision, "%s", bb_precision_name(cfg->precision));
    snprintf(r->input_source, sizeof r->input_source, "%s", cfg->data_dir ? "dataset" : "random");
    snprintf(r->data_dir, sizeof r->data_dir, "%s", cfg->data_dir ? cfg->data_dir : "");
    r->batch_size = cfg->batches[bi];
    r->warmup = cfg->warmup, r->reps = cfg->reps, r->threads = threads_used;
    r->min_time_s = cfg->min_time_s, r->max_time_s = cfg->max_time_s, r->seed = cfg->seed;
    if (g) {
        bb_model_facts f;
        bb_model_facts_compute(g, r->batch_size, &f);
        r->params = f.params, r->macs_per_item = f.macs_per_item, r->feature_dim = f.feature_dim;
        r->weight_bytes = f.weight_bytes, r->activation_bytes = f.activation_bytes;
    }
}

/* --resume: an existing ok result is kept; its per-item median is reused. */
static int already_done(const char *path, double *per_item)
{
    char status[16];
    bb_err err = {0};
    return access(path, R_OK) == 0 && bb_result_read_status(path, status, sizeof status, per_item, &err) == 0 &&
           strcmp(status, "ok") == 0;
}

static void progress(sweep_state *s, const bb_result *r, double per_item, double cv, int m, int bi)
{
    const bb_sweep_cfg *cfg = s->cfg;
    s->est_done += s->est[m][bi];
    double elapsed = bb_now_s() - s->t_start, remaining = 0.0;
    for (int mm = 0; mm < cfg->n_models; mm++)
        for (int bb = 0; bb < cfg->n_batches; bb++)
            if (mm * cfg->n_batches + bb > m * cfg->n_batches + bi)
                remaining += s->est[mm][bb];
    double eta = s->est_done > 0 ? remaining * elapsed / s->est_done : remaining;
    if (s->tty)
        fprintf(cfg->log, "\r\033[K");
    fprintf(cfg->log, "[%d/%d] %-18s batch %-5lld ", s->index, cfg->n_models * cfg->n_batches, r->model,
            (long long)r->batch_size);
    if (per_item >= 0)
        fprintf(cfg->log, "%10.3f ms/item (median of %d, cv %.1f%%)%s", per_item * 1e3, r->n_times, cv * 100.0,
                cv > 0.05 ? " warning: cv above 5%" : "");
    if (strcmp(r->status, "ok") != 0)
        fprintf(cfg->log, "%s%s: %s", per_item >= 0 ? " " : "", r->status, r->message);
    fprintf(cfg->log, "  [elapsed %.0fs, eta %.0fs]\n", elapsed, eta);
    fflush(cfg->log);
}

static void pause_between(const bb_sweep_cfg *cfg)
{
    for (double left = cfg->pause_s; left > 0 && !stopped(cfg); left -= 0.05) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Runs, records and reports one configuration. Returns -1 on a fatal error
 * (the result could not be written), 1 when interrupted, else 0. */
static int do_config(sweep_state *s, const bb_graph *g, const char *open_err, int m, int bi, bb_sweep_result *res,
                     bb_err *err)
{
    bb_result r;
    times_buf tb = {0}, copies = {0};
    bb_sweep_fill_result(s->cfg, s->env.threads_used, g, m, bi, &r);
    if (!g)
        set_status(&r, "error", open_err);
    else
        run_config(s, g, &r, &tb, &copies);
    r.times_s = tb.t, r.n_times = tb.n;
    r.input_copy_s = copies.t, r.n_input_copy = copies.n;
    if (strcmp(r.status, "interrupted") == 0) {
        free(tb.t), free(copies.t);
        return 1;
    }
    char path[1024];
    int rc = bb_result_write(s->cfg->out_dir, &r, &s->env, path, sizeof path, err);
    bb_stats st = {0};
    double per_item = bb_stats_compute(r.times_s, r.n_times, &st) == 0 ? st.median / (double)r.batch_size : -1.0;
    res->per_item_s[m][bi] = strcmp(r.status, "ok") == 0 ? per_item : -1.0;
    snprintf(res->status[m][bi], sizeof res->status[m][bi], "%s", r.status);
    res->done++;
    strcmp(r.status, "ok") == 0 ? res->ok++ : res->failed++;
    if (rc == 0)
        progress(s, &r, per_item, st.cv, m, bi);
    free(tb.t), free(copies.t);
    return rc;
}

static int sweep_model(sweep_state *s, int m, bb_sweep_result *res, bb_err *err)
{
    const bb_sweep_cfg *cfg = s->cfg;
    bb_graph *g = NULL;
    bb_err open_err = {0};
    int rc = 0, opened = 0;
    for (int bi = 0; bi < cfg->n_batches && rc == 0; bi++) {
        s->index++;
        if (stopped(cfg)) {
            rc = 1;
            break;
        }
        bb_result probe;
        bb_sweep_fill_result(cfg, s->env.threads_used, NULL, m, bi, &probe);
        char *name = bb_result_filename(&probe, s->env.host), path[1024];
        snprintf(path, sizeof path, "%s/%s", cfg->out_dir, name ? name : "");
        free(name);
        if (cfg->resume && already_done(path, &res->per_item_s[m][bi])) {
            snprintf(res->status[m][bi], sizeof res->status[m][bi], "ok");
            res->skipped++;
            s->est_done += s->est[m][bi];
            continue;
        }
        if (!opened) {
            bb_model_spec spec = {cfg->models[m], cfg->head, NULL, cfg->seed};
            g = bb_model_open(&spec, &open_err);
            opened = 1;
        }
        rc = do_config(s, g, open_err.msg, m, bi, res, err);
        if (rc == 0 && !(m == cfg->n_models - 1 && bi == cfg->n_batches - 1))
            pause_between(cfg);
    }
    bb_graph_free(g);
    return rc;
}

/* The peak the report's "% of peak" divides by: the GPU's datasheet figure
 * for the precision, or on the CPU one measured now. */
static void env_peak(bb_env *e, const bb_sweep_cfg *cfg)
{
    if (e->gpu.present) {
        e->peak_gflops = e->gpu.peak_flops / 1e9;
        snprintf(e->peak_source, sizeof e->peak_source, "GPU datasheet: %.100s", e->gpu.peak_basis);
    } else {
        e->peak_gflops = bb_peak_for_precision(cfg->precision, e->threads_used, e->peak_source, sizeof e->peak_source);
    }
}

int bb_sweep_run(const bb_sweep_cfg *cfg, bb_sweep_result *res, bb_err *err)
{
    sweep_state *s = calloc(1, sizeof *s);
    if (!s)
        return bb_err_set(err, "out of memory");
    s->cfg = cfg;
    s->tty = isatty(fileno(cfg->log));
    bb_env_collect(&s->env, cfg->threads);
    if (strcmp(cfg->device, "cuda") == 0 && bb_gpu_env_collect(&s->env.gpu, cfg->precision, err) != 0) {
        free(s);
        return -1;
    }
    env_peak(&s->env, cfg);
    memset(res, 0, sizeof *res);
    res->total = cfg->n_models * cfg->n_batches;
    for (int m = 0; m < BB_SWEEP_MAX; m++)
        for (int b = 0; b < BB_SWEEP_MAX; b++)
            res->per_item_s[m][b] = -1.0;
    int rc = 0;
    if (cfg->data_dir) {
        rc = bb_dataset_open(&s->ds, cfg->data_dir, err);
        s->have_ds = rc == 0;
    }
    double gflops;
    if (rc == 0)
        estimate_all(cfg, s->est, &gflops);
    s->t_start = bb_now_s();
    for (int m = 0; rc == 0 && m < cfg->n_models; m++)
        rc = sweep_model(s, m, res, err);
    res->interrupted = rc == 1;
    if (rc >= 0 && bb_summary_csv_write(cfg->out_dir, err) != 0)
        rc = -1;
    if (s->have_ds)
        bb_dataset_close(&s->ds);
    free(s);
    return rc < 0 ? -1 : 0;
}

/* ---- the summary table ---------------------------------------------------- */

void bb_sweep_print_table(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res)
{
    fprintf(f, "\nms per item (median batch time / batch size)\n%-18s", "model");
    for (int b = 0; b < cfg->n_batches; b++)
        fprintf(f, " %9lld", (long long)cfg->batches[b]);
    fprintf(f, "   best batch\n");
    for (int m = 0; m < cfg->n_models; m++) {
        int best = -1;
        fprintf(f, "%-18s", cfg->models[m]);
        for (int b = 0; b < cfg->n_batches; b++) {
            double v = res->per_item_s[m][b];
            if (v >= 0)
                fprintf(f, " %9.3f", v * 1e3);
            else
                fprintf(f, " %9s", res->status[m][b][0] ? res->status[m][b] : "-");
            if (v >= 0 && (best < 0 || v < res->per_item_s[m][best]))
                best = b;
        }
        if (best >= 0)
            fprintf(f, "   %lld\n", (long long)cfg->batches[best]);
        else
            fprintf(f, "   -\n");
    }
}

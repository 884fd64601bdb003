/* sweep.c — the per-configuration driver of `batchbench run`, for the
 * inference sweep and the end-to-end pipeline alike (sweep.h). */
#include "bench/sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"
#include "data/source.h"
#include "env/env.h"
#include "bench/measure.h"
#include "bench/pipeline.h"
#include "bench/shard.h"
#include "env/noise.h"
#include "bench/peak.h"
#include "stats/stats.h"
#include "engine/facts.h"
#include "models/model.h"
#include "onnx/onnx_import.h"
#include "results/result.h"
#include "results/result_identity.h"
#include "results/summary_csv.h"
#include "util/clock.h"

typedef struct {
    const bb_sweep_cfg *cfg;
    const bb_backend_ops *be;
    bb_env env;
    bb_source *src;                         /* --data; NULL: a seeded random batch */
    bb_noise_src noise;
    bb_energy_src energy;                   /* RAPL or NVML, read around each configuration's energy pass */
    int tty;
    int n_workers;                          /* configurations per (model, batch size): worker counts, else 1 */
    double est[BB_SWEEP_MAX][BB_SWEEP_MAX]; /* estimated seconds per configuration */
    double round_s[BB_SWEEP_MAX];           /* estimated seconds of one interleaved round, per model */
    double t_start, est_done, est_total;
    int index;                              /* configurations finished or kept */
    int n_total;                            /* configurations of this run (of its shard with --shard) */
    bb_shard_plan *plan;                    /* --shard: the partition; NULL: the whole sweep */
    char sweep_id[9];                       /* --shard: the sweep's id (bench/shard.h) */
    bb_shard_done *shard_done;              /* --shard --resume: the sweep's finished results */
} sweep_state;

/* ---- estimate ------------------------------------------------------------ */

static int worker_counts(const bb_sweep_cfg *cfg)
{
    return cfg->pipeline.on ? cfg->pipeline.n_workers : 1;
}

/* Seconds of one forward pass: models reach about 75% of the GEMM rate. */
static double pass_estimate(const bb_model_facts *f, int64_t bs, double gflops)
{
    return 2.0 * (double)f->macs_per_item * (double)bs / (0.75 * gflops * 1e9);
}

double bb_sweep_config_estimate(const bb_sweep_cfg *cfg, const bb_model_facts *f, int64_t bs, double gflops)
{
    double pass = pass_estimate(f, bs, gflops);
    double measured = pass * cfg->reps * (cfg->reps_auto ? 2.0 : 1.0); /* auto: typically about twice the minimum */
    if (cfg->reps_auto && cfg->max_config_time_s > 0 && measured > cfg->max_config_time_s)
        measured = pass * cfg->reps > cfg->max_config_time_s ? pass * cfg->reps : cfg->max_config_time_s;
    measured = measured > cfg->min_time_s ? measured : cfg->min_time_s;
    double warm = pass * cfg->warmup > cfg->warmup_time_s ? pass * cfg->warmup : cfg->warmup_time_s;
    double idle = cfg->idle_s * cfg->reps * (cfg->reps_auto ? 2.0 : 1.0); /* slept before each timed batch */
    double total = 0.3 + (double)f->weight_bytes / 2e9 + warm + measured + idle + cfg->pause_s;
    return cfg->max_time_s > 0 && total > cfg->max_time_s + 0.3 ? cfg->max_time_s + 0.3 : total;
}

/* The reference of every model, resolved once per command (sweep.h). */
int bb_sweep_resolve_models(bb_sweep_cfg *cfg, bb_err *err)
{
    for (int m = 0; m < cfg->n_models; m++)
        if (bb_model_ref_resolve(&cfg->refs[m], cfg->models[m], cfg->config.head, cfg->family, err) != 0)
            return -1;
    cfg->refs_ready = 1;
    return 0;
}

const bb_model_ref *bb_sweep_model_ref(const bb_sweep_cfg *cfg, int m, bb_model_ref *tmp, bb_err *err)
{
    if (cfg->refs_ready)
        return &cfg->refs[m];
    return bb_model_ref_resolve(tmp, cfg->models[m], cfg->config.head, cfg->family, err) == 0 ? tmp : NULL;
}

const char *bb_sweep_model_name(const bb_sweep_cfg *cfg, int m)
{
    return cfg->refs_ready ? cfg->refs[m].name : bb_path_base(cfg->models[m]);
}

static double estimate_all(const bb_sweep_cfg *cfg, double est[BB_SWEEP_MAX][BB_SWEEP_MAX], double *round_s,
                           double *gflops)
{
    *gflops = cfg->gflops_hint > 0 ? cfg->gflops_hint : bb_peak_sgemm_gflops(cfg->config.threads, 768, 5);
    if (*gflops <= 0)
        *gflops = 50.0;
    double total = 0.0;
    bb_model_ref tmp;
    for (int m = 0; m < cfg->n_models; m++) {
        bb_err e = {0};
        const bb_model_ref *ref = bb_sweep_model_ref(cfg, m, &tmp, &e);
        if (!ref && cfg->log) /* its configurations will say so too */
            fprintf(cfg->log, "batchbench run: %s: %s (not estimated)\n", cfg->models[m], e.msg);
        for (int b = 0; b < cfg->n_batches; b++) {
            est[m][b] = ref ? bb_sweep_config_estimate(cfg, &ref->facts, cfg->batches[b], *gflops) : 0.0;
            total += est[m][b] * worker_counts(cfg);
            double pass = ref ? pass_estimate(&ref->facts, cfg->batches[b], *gflops) : 0.0;
            if (round_s && ref)
                round_s[m] += pass > BB_SLICE_S ? pass : BB_SLICE_S;
        }
    }
    if (cfg->reps_auto && cfg->budget_s > 0 && total > cfg->budget_s)
        total = cfg->budget_s; /* measuring stops at the budget (past the minimum batches) */
    return total;
}

double bb_sweep_estimate(const bb_sweep_cfg *cfg, double *gflops)
{
    _Static_assert(BB_SWEEP_MAX * BB_SWEEP_MAX * sizeof(double) <= 32768, "estimate table fits the stack");
    double est[BB_SWEEP_MAX][BB_SWEEP_MAX];
    return estimate_all(cfg, est, NULL, gflops);
}

/* ---- the sweep ------------------------------------------------------------ */

void bb_sweep_fill_result(const bb_sweep_cfg *cfg, int threads_used, const bb_graph *g, int m, int bi, bb_result *r)
{
    bb_model_ref tmp;
    bb_err e = {0};
    const bb_model_ref *ref = bb_sweep_model_ref(cfg, m, &tmp, &e);
    memset(r, 0, sizeof *r);
    if (ref) {
        snprintf(r->model, sizeof r->model, "%s", ref->name);
        snprintf(r->family, sizeof r->family, "%s", ref->family);
        snprintf(r->model_file, sizeof r->model_file, "%s", ref->file);
        snprintf(r->model_sha256, sizeof r->model_sha256, "%s", ref->sha256);
    } else { /* it cannot be built: its results say so, under the name given */
        snprintf(r->model, sizeof r->model, "%s", bb_path_base(cfg->models[m]));
        snprintf(r->family, sizeof r->family, "%s", bb_onnx_is_path(cfg->models[m]) ? "imported" : "?");
    }
    snprintf(r->head, sizeof r->head, "%s",
             ref ? bb_model_ref_head(ref, cfg->config.head)
                 : bb_onnx_is_path(cfg->models[m]) ? "graph" : bb_head_name(cfg->config.head));
    snprintf(r->device, sizeof r->device, "%s", bb_config_device(&cfg->config));
    snprintf(r->engine, sizeof r->engine, "batchbench");
    snprintf(r->precision, sizeof r->precision, "%s", bb_precision_name(cfg->config.precision));
    snprintf(r->input_source, sizeof r->input_source, "%s", cfg->config.data_dir ? "dataset" : "random");
    snprintf(r->data_dir, sizeof r->data_dir, "%s", cfg->config.data_dir ? cfg->config.data_dir : "");
    snprintf(r->preset, sizeof r->preset, "%s", cfg->preset ? cfg->preset : "");
    r->batch_size = cfg->batches[bi];
    r->warmup = cfg->warmup, r->reps = cfg->reps, r->threads = threads_used;
    r->min_time_s = cfg->min_time_s, r->max_time_s = cfg->max_time_s, r->seed = cfg->seed;
    r->options = cfg->config.options;
    if (g) {
        bb_model_facts f;
        bb_model_facts_compute(g, r->batch_size, &f);
        r->params = f.params, r->macs_per_item = f.macs_per_item, r->feature_dim = f.feature_dim;
        r->weight_bytes = f.weight_bytes, r->activation_bytes = f.activation_bytes;
    }
}

/* The pipeline's figures in a progress line. */
static void progress_pipeline(FILE *f, const bb_result *r)
{
    const bb_pipeline_info *pi = r->pipeline;
    char why[128];
    fprintf(f, "workers %-3d ", pi->workers);
    if (strcmp(r->status, "ok") != 0)
        return;
    fprintf(f, "%9.1f items/s, waited for data %4.1f%% of the time, first result %.2f s", pi->items_per_s,
            100.0 * pi->wait_fraction, pi->first_result_s);
    if (r->noise && bb_noise_disturbed(r->noise, why, sizeof why))
        fprintf(f, " warning: disturbed (%s)", why);
}

static void progress(sweep_state *s, const bb_result *r, double per_item, int m, int bi)
{
    const bb_sweep_cfg *cfg = s->cfg;
    s->est_done += s->est[m][bi];
    s->index++;
    double elapsed = bb_now_s() - s->t_start, remaining = s->est_total - s->est_done;
    double eta = s->est_done > 0 ? remaining * elapsed / s->est_done : remaining;
    if (cfg->reps_auto && cfg->budget_s > 0 && eta > cfg->budget_s - elapsed) /* measuring stops at the budget */
        eta = cfg->budget_s - elapsed > 0 ? cfg->budget_s - elapsed : 0.0;
    if (s->tty)
        fprintf(cfg->log, "\r\033[K");
    fprintf(cfg->log, "[%d/%d] %-18s batch %-5lld ", s->index, s->n_total, r->model,
            (long long)r->batch_size);
    if (r->pipeline) {
        progress_pipeline(cfg->log, r);
        per_item = -1.0; /* a status other than ok follows the line's own space */
    } else if (per_item >= 0) {
        const bb_measure_info *mi = &r->measure;
        fprintf(cfg->log, "%10.3f ms/item (median of %d, 95%% CI +-%.1f%%, %s)", per_item * 1e3, r->n_times,
                isfinite(mi->ci_half_width) ? mi->ci_half_width * 100.0 : 100.0, mi->stop_reason);
        char why[128];
        if (r->noise && bb_noise_disturbed(r->noise, why, sizeof why))
            fprintf(cfg->log, " warning: disturbed (%s)", why);
    }
    if (strcmp(r->status, "ok") != 0)
        fprintf(cfg->log, "%s%s: %s", per_item >= 0 ? " " : "", r->status, r->message);
    fprintf(cfg->log, "  [elapsed %.0fs, eta %.0fs]\n", elapsed, eta);
    fflush(cfg->log);
}

static void pause_between(const bb_sweep_cfg *cfg)
{
    for (double left = cfg->pause_s; left > 0 && !(cfg->stop && *cfg->stop); left -= 0.05) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* What on_done needs: the sweep and the model being measured. */
typedef struct {
    sweep_state *s;
    bb_sweep_result *res;
    int m, write_failed;
    bb_err *err;
} model_ctx;

/* A configuration is final: write its result at once, count and report it. */
static void config_done(bb_config_run *run, void *user)
{
    model_ctx *mc = user;
    sweep_state *s = mc->s;
    bb_result *r = &run->r;
    bb_sweep_result *res = mc->res;
    int ok = strcmp(r->status, "ok") == 0;
    if (bb_result_write(s->cfg->out_dir, r, &s->env, NULL, 0, mc->err) != 0) {
        mc->write_failed = 1;
        return;
    }
    bb_stats st = {0};
    double per_item = bb_stats_compute(r->times_s, r->n_times, &st) == 0 ? st.median / (double)r->batch_size : -1.0;
    if (r->pipeline) {
        res->items_per_s[mc->m][run->bi][run->wi] = ok ? r->pipeline->items_per_s : -1.0;
        res->wait_fraction[mc->m][run->bi][run->wi] = ok ? r->pipeline->wait_fraction : -1.0;
    } else {
        res->per_item_s[mc->m][run->bi] = ok ? per_item : -1.0;
        snprintf(res->status[mc->m][run->bi], sizeof res->status[mc->m][run->bi], "%s", r->status);
    }
    res->done++;
    ok ? res->ok++ : res->failed++;
    progress(s, r, per_item, mc->m, run->bi);
    if (s->cfg->pause_s > 0 && (!s->cfg->interleave || s->cfg->pipeline.on))
        pause_between(s->cfg);
}

/* run's result before it is measured: the configuration, and with
 * --pipeline the loader's settings (part of its identity). */
static void fill_run(const sweep_state *s, const bb_graph *g, int m, bb_config_run *run)
{
    const bb_sweep_pipeline *p = &s->cfg->pipeline;
    bb_sweep_fill_result(s->cfg, s->env.threads_used, g, m, run->bi, &run->r);
    if (s->plan) {
        snprintf(run->r.sweep, sizeof run->r.sweep, "%s", s->sweep_id);
        snprintf(run->r.shard, sizeof run->r.shard, "%d/%d", s->cfg->shard_index, s->cfg->shard_count);
    }
    if (!p->on)
        return;
    memset(&run->pl, 0, sizeof run->pl);
    run->pl.workers = p->workers[run->wi];
    run->pl.prefetch = p->prefetch > 0 ? p->prefetch : 2;
    snprintf(run->pl.mode, sizeof run->pl.mode, "%s", p->mode == BB_LOAD_ITEMS ? "items" : "batches");
    snprintf(run->pl.worker_kind, sizeof run->pl.worker_kind, "%s", bb_worker_kind_name(p->worker_kind));
    run->r.pipeline = &run->pl;
}

/* --resume: is an ok result of exactly run's identity there? Then it is
 * kept (never rewritten) and counted, its figures reused for the table. */
static int kept(sweep_state *s, int m, const bb_config_run *run, bb_sweep_result *res)
{
    const bb_sweep_cfg *cfg = s->cfg;
    cJSON *j = cfg->resume && !s->plan ? bb_result_load_done(cfg->out_dir, &run->r, s->env.host) : NULL;
    if (cfg->resume && s->plan) { /* a sharded sweep: done by any of its nodes */
        char key[BB_IDENTITY_LEN];
        bb_err e = {0};
        bb_shard_plan_key(cfg, m, run->bi, key, sizeof key);
        const char *path = bb_shard_done_find(s->shard_done, key);
        j = path ? bb_json_read_checked(path, 1, "result", &e) : NULL;
    }
    if (!j)
        return 0;
    const cJSON *ips = bb_json_field(j, "pipeline", "items_per_s"), *wf = bb_json_field(j, "pipeline", "wait_fraction");
    const cJSON *pi = bb_json_field(j, "stats", "per_item_median_s");
    if (cfg->pipeline.on) {
        res->items_per_s[m][run->bi][run->wi] = cJSON_IsNumber(ips) ? ips->valuedouble : -1.0;
        res->wait_fraction[m][run->bi][run->wi] = cJSON_IsNumber(wf) ? wf->valuedouble : -1.0;
    } else {
        res->per_item_s[m][run->bi] = cJSON_IsNumber(pi) ? pi->valuedouble : -1.0;
        snprintf(res->status[m][run->bi], sizeof res->status[m][run->bi], "ok");
    }
    cJSON_Delete(j);
    res->skipped++;
    s->est_done += s->est[m][run->bi];
    s->index++;
    return 1;
}

/* The configurations of model m (batch sizes, x worker counts with
 * --pipeline) that --resume does not find done, into runs. */
static int pending_configs(sweep_state *s, int m, bb_sweep_result *res, bb_config_run *runs)
{
    int n = 0;
    for (int bi = 0; bi < s->cfg->n_batches; bi++)
        for (int wi = 0; wi < s->n_workers; wi++) {
            bb_config_run *run = &runs[n];
            memset(run, 0, sizeof *run);
            run->bi = bi, run->wi = wi;
            if (s->plan && s->plan->owner[m][bi] != s->cfg->shard_index)
                continue; /* another shard's */
            fill_run(s, NULL, m, run);
            n += !kept(s, m, run, res);
        }
    return n;
}

/* A model's claim on the budget: the estimated time of one of its rounds
 * (each configuration a slice, or one pass where a pass takes longer), so
 * that every model gets about as many rounds, and every batch size about
 * as many samples relative to its own noise. */
static double budget_weight_after(const sweep_state *s, int m)
{
    double w = 0.0;
    for (int mm = m + 1; mm < s->cfg->n_models; mm++)
        w += s->round_s[mm];
    return w;
}

/* Bytes a model's prepared configurations may hold together: --mem-limit,
 * else on a GPU 80% of its memory, else half of the memory available now. */
static int64_t memory_budget(const sweep_state *s)
{
    if (s->cfg->mem_limit > 0)
        return s->cfg->mem_limit;
    if (s->env.gpu.present)
        return (int64_t)(0.8 * (double)s->env.gpu.mem_total_bytes);
    return bb_mem_available() / 2;
}

/* Can model m read the sweep's input? Random batches take any shape; a data
 * set's items are [3,224,224]. 0 with err saying why not. */
static int reads_input(const sweep_state *s, int m, bb_err *err)
{
    bb_model_ref tmp;
    const bb_model_ref *ref = s->src ? bb_sweep_model_ref(s->cfg, m, &tmp, err) : NULL;
    if (s->src && (!ref || bb_model_input_check_item(&ref->input, ref->name, err) != 0))
        return 0;
    return 1;
}

static int sweep_model(sweep_state *s, int m, bb_sweep_result *res, bb_err *err)
{
    const bb_sweep_cfg *cfg = s->cfg;
    bb_config_run *runs = calloc((size_t)(cfg->n_batches * s->n_workers), sizeof *runs);
    if (!runs)
        return bb_err_oom(err, "out of memory");
    int n = pending_configs(s, m, res, runs);
    bb_model_spec spec = {cfg->models[m], cfg->config.head, NULL, cfg->seed};
    bb_err open_err = {0};
    bb_graph *g = n && reads_input(s, m, &open_err) ? bb_model_open(&spec, &open_err) : NULL;
    model_ctx mc = {s, res, m, 0, err};
    for (int i = 0; i < n; i++)
        fill_run(s, g, m, &runs[i]);
    if (n && !g) { /* the model cannot be built: every configuration says why */
        for (int i = 0; i < n && !mc.write_failed; i++) {
            snprintf(runs[i].r.status, sizeof runs[i].r.status, "error");
            snprintf(runs[i].r.message, sizeof runs[i].r.message, "%.*s", (int)sizeof runs[i].r.message - 1, open_err.msg);
            config_done(&runs[i], &mc);
        }
    } else if (n) {
        double budget_end = cfg->reps_auto && cfg->budget_s > 0 ? s->t_start + cfg->budget_s : 0.0;
        bb_energy_src *energy = cfg->pipeline.on ? NULL : &s->energy; /* pipeline files: no energy pass */
        bb_measure_ctx ctx = {cfg, s->be, s->src, &s->noise, energy, budget_end, s->round_s[m],
                              budget_weight_after(s, m), memory_budget(s), s->tty, config_done, &mc};
        if (cfg->pipeline.on) /* batches from the loader, one configuration at a time */
            bb_pipeline_measure(&ctx, g, runs, n);
        else /* the in-memory batch or the stored data set, interleaved and adaptive */
            bb_measure_model(&ctx, g, runs, n);
    }
    int interrupted = 0;
    for (int i = 0; i < n; i++) {
        interrupted |= !strcmp(runs[i].r.status, "interrupted");
        bb_config_run_free(&runs[i]);
    }
    bb_graph_free(g);
    free(runs);
    if (mc.write_failed)
        return -1;
    if (!interrupted && cfg->pause_s > 0 && cfg->interleave && !cfg->pipeline.on && m < cfg->n_models - 1)
        pause_between(cfg);
    return interrupted || (cfg->stop && *cfg->stop) ? 1 : 0;
}

/* The peak the report's "% of peak" divides by: the GPU's datasheet figure
 * for the precision, or on the CPU one measured now. */
static void env_peak(bb_env *e, const bb_sweep_cfg *cfg)
{
    if (e->gpu.present) {
        e->peak_gflops = e->gpu.peak_flops / 1e9;
        snprintf(e->peak_source, sizeof e->peak_source, "GPU datasheet: %.100s", e->gpu.peak_basis);
    } else {
        e->peak_gflops = bb_peak_for_precision(cfg->config.precision, e->threads_used, e->peak_source, sizeof e->peak_source);
    }
}

static void init_result(const sweep_state *s, bb_sweep_result *res)
{
    memset(res, 0, sizeof *res);
    res->total = s->n_total;
    snprintf(res->host, sizeof res->host, "%s", s->env.host);
    res->threads_used = s->env.threads_used;
    for (int m = 0; m < BB_SWEEP_MAX; m++)
        for (int b = 0; b < BB_SWEEP_MAX; b++) {
            res->per_item_s[m][b] = -1.0;
            for (int w = 0; w < BB_PIPELINE_MAX_WORKERS; w++)
                res->items_per_s[m][b][w] = res->wait_fraction[m][b][w] = -1.0;
        }
}

/* --shard: the partition, the sweep's id and plan file, and with --resume
 * what the sweep's nodes have already finished. */
static int open_shard(sweep_state *s, bb_err *err)
{
    const bb_sweep_cfg *cfg = s->cfg;
    s->n_total = cfg->n_models * cfg->n_batches * s->n_workers;
    if (cfg->shard_count <= 0)
        return 0;
    if (!(s->plan = malloc(sizeof *s->plan)))
        return bb_err_oom(err, "out of memory");
    if (bb_shard_partition(cfg, cfg->shard_count, s->plan, err) != 0)
        return -1;
    char hw[320];
    if (s->env.gpu.present)
        snprintf(hw, sizeof hw, "%s", s->env.gpu.name);
    else
        snprintf(hw, sizeof hw, "%s, %d threads", s->env.cpu_model, s->env.threads_used);
    bb_shard_sweep_id(cfg, hw, s->sweep_id);
    s->n_total = s->plan->n_configs[cfg->shard_index - 1] * s->n_workers;
    if (bb_shard_write_plan(cfg, s->plan, s->sweep_id, hw, err) != 0)
        return -1;
    if (cfg->resume && !(s->shard_done = bb_shard_done_scan(cfg->out_dir, s->sweep_id, err)))
        return -1;
    return 0;
}

/* The estimate of this shard's configurations only. */
static double shard_estimate(const sweep_state *s)
{
    double total = 0.0;
    for (int m = 0; m < s->cfg->n_models; m++)
        for (int b = 0; b < s->cfg->n_batches; b++)
            total += s->plan->owner[m][b] == s->cfg->shard_index ? s->est[m][b] * s->n_workers : 0.0;
    return total;
}

/* --data, opened once for the whole sweep: both modes read it through
 * data/source.h, so they accept the same kinds and refuse the same way. */
static int open_data(sweep_state *s, bb_err *err)
{
    bb_err e = {0};
    if (!s->cfg->config.data_dir || bb_source_open(&s->src, s->cfg->config.data_dir, NULL, &e) == 0)
        return 0;
    return bb_err_set(err, "--data: %s", e.msg);
}

/* The folder's table: summary.csv of the inference results, or
 * pipeline-summary.csv of the pipeline's (bench/pipeline.h). */
static int write_summary(const bb_sweep_cfg *cfg, bb_err *err)
{
    return cfg->pipeline.on ? bb_pipeline_summary_write(cfg->out_dir, err) : bb_summary_csv_write(cfg->out_dir, err);
}

int bb_sweep_run(const bb_sweep_cfg *cfg, bb_sweep_result *res, bb_err *err)
{
    sweep_state *s = calloc(1, sizeof *s);
    if (!s)
        return bb_err_set(err, "out of memory");
    s->cfg = cfg;
    s->be = cfg->config.backend;
    s->tty = isatty(fileno(cfg->log));
    s->n_workers = worker_counts(cfg);
    bb_env_collect(&s->env, cfg->config.threads);
    if (strcmp(bb_config_device(&cfg->config), "cuda") == 0 && bb_gpu_env_collect(&s->env.gpu, cfg->config.precision, err) != 0) {
        free(s);
        return -1;
    }
    env_peak(&s->env, cfg);
    int rc = open_shard(s, err);
    init_result(s, res);
    if (rc == 0)
        rc = open_data(s, err);
    double gflops;
    if (rc == 0)
        s->est_total = estimate_all(cfg, s->est, s->round_s, &gflops);
    if (rc == 0 && s->plan)
        s->est_total = shard_estimate(s);
    s->noise.gpu = s->env.gpu.present;
    s->noise.gpu_pci_bus_id = s->env.gpu.pci_bus_id;
    bb_noise_src_open(&s->noise); /* without NVML the results say why GPU state is missing */
    bb_energy_open(&s->energy, bb_config_device(&cfg->config), s->env.gpu.pci_bus_id); /* else each result says why not */
    s->t_start = bb_now_s();
    for (int m = 0; rc == 0 && m < cfg->n_models; m++)
        rc = sweep_model(s, m, res, err);
    res->interrupted = rc == 1;
    if (rc >= 0 && write_summary(cfg, err) != 0)
        rc = -1;
    bb_source_close(s->src);
    bb_noise_src_close(&s->noise);
    bb_energy_close(&s->energy);
    bb_shard_done_free(s->shard_done);
    free(s->plan);
    free(s);
    return rc < 0 ? -1 : 0;
}

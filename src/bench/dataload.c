/*
 * dataload.c — the data-loading sweep (dataload.h): every configuration
 * opens the data set and a loader, takes the batches as an inference loop
 * would (wait, release, simulated inference), and is written as one file.
 *
 * Why this file exists: it is the measurement loop of the seed's sibling
 * experiment, kept apart from the command line (cli/cmd_dataload.c) and the
 * file format (dataload_file.c). Only the consumer's wait for a batch is
 * timed, the first from when the loader starts its workers (their start,
 * threads or processes, is in it, as in the seed's first wait); the
 * simulated inference is a sleep, so loading and "inference" overlap
 * exactly as they would with a model that leaves the CPUs free (a GPU).
 */
#include "bench/dataload.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "data/dataset.h"
#include "stats/stats.h"
#include "util/clock.h"

typedef struct {
    const bb_dl_cfg *cfg;
    bb_env env;
    int64_t items;
    double item_bytes;
    int index;
} dl_state;

static int stopped(const bb_dl_cfg *cfg)
{
    return cfg->stop && *cfg->stop;
}

static double rusage_seconds(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* CPU time of the whole process (all threads) and of its reaped children
 * (worker processes: the loader reaps them at close), user + system. */
static double cpu_seconds(void)
{
    return rusage_seconds(RUSAGE_SELF) + rusage_seconds(RUSAGE_CHILDREN);
}

/* The simulated inference: sleeps s seconds, in slices, until stopped. */
static void simulate(const bb_dl_cfg *cfg, double s)
{
    double end = bb_now_s() + s;
    for (double left; !stopped(cfg) && (left = end - bb_now_s()) > 0;) {
        double slice = left < 0.05 ? left : 0.05;
        struct timespec ts = {0, (long)(slice * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void set_status(bb_dl_record *r, const char *status, const char *msg)
{
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->message, sizeof r->message, "%.*s", (int)sizeof r->message - 1, msg ? msg : "");
}

static const char *mode_name(bb_load_mode m)
{
    return m == BB_LOAD_ITEMS ? "items" : "batches";
}

/* Takes the batches; 1 when interrupted, else 0 with r->status set. The
 * first wait runs from t_start, when the loader began to start its workers. */
static int measure(const bb_dl_cfg *cfg, bb_loader *l, bb_dl_record *r, double t_start)
{
    for (int i = 0; i < r->batches; i++) {
        float *data;
        bb_batch_info info;
        bb_err err = {0};
        double t0 = i == 0 ? t_start : bb_now_s();
        int rc = bb_loader_next(l, &data, &info, &err);
        double wait = bb_now_s() - t0;
        if (rc == 1 && stopped(cfg))
            return 1;
        if (rc != 0) {
            set_status(r, "error", rc < 0 ? err.msg : "the loader ended before the last batch");
            return 0;
        }
        r->waits_s[r->n_waits] = wait;
        r->load_s[r->n_waits++] = info.load_s;
        r->bytes += info.bytes;
        bb_loader_release(l, data);
        simulate(cfg, r->sleep_s);
        if (stopped(cfg))
            return 1;
    }
    set_status(r, "ok", NULL);
    return 0;
}

/* One configuration, from opening the data set to closing the loader. The
 * first wait is timed from when the loader began to start its workers,
 * after its buffers were allocated and touched: the workers' start (threads
 * created, processes forked) is in it, for both kinds, as in the seed's
 * first wait; the buffer pool, which PyTorch does not have, is not.
 * Returns 1 when interrupted. */
static int run_config(const bb_dl_cfg *cfg, bb_load_mode mode, bb_worker_kind kind, bb_dl_record *r)
{
    bb_source *src = NULL;
    bb_loader *l = NULL;
    bb_err err = {0};
    bb_source_opts o = {.dct_scale = cfg->dct_scale};
    double cpu0 = cpu_seconds();
    int rc = 0;
    if (bb_source_open(&src, cfg->data_dir, &o, &err) != 0) {
        set_status(r, "error", err.msg);
    } else {
        bb_loader_cfg lc = {.source = src, .workers = r->workers, .batch = r->batch_size, .n_batches = r->batches,
                            .mode = mode, .prefetch = r->prefetch, .stop = cfg->stop, .log = cfg->log,
                            .worker_kind = kind};
        double t0 = bb_now_s();
        if (bb_loader_open(&l, &lc, &err) != 0) {
            set_status(r, err.oom ? "oom" : "error", err.msg);
        } else {
            double t_start = bb_loader_started_at(l);
            r->open_s = bb_now_s() - t0;
            r->start_s = bb_loader_start_s(l);
            rc = measure(cfg, l, r, t_start);
            r->total_s = bb_now_s() - t_start;
            r->skipped = bb_loader_skipped(l);
            bb_loader_close(l);
        }
        bb_source_close(src);
    }
    r->cpu_s = cpu_seconds() - cpu0;
    return rc;
}

/* Indices of one configuration in the sweep (bb_dl_cfg's lists). */
typedef struct {
    int mi, ki, si, bi, wi;
} dl_at;

static int cell_index(const bb_dl_cfg *c, const dl_at *at)
{
    int i = ((at->mi * c->n_kinds + at->ki) * c->n_sleeps + at->si) * c->n_batch_sizes + at->bi;
    return i * c->n_workers + at->wi;
}

static void fill_record(const dl_state *s, const char *kind, const dl_at *at, bb_dl_record *r)
{
    const bb_dl_cfg *cfg = s->cfg;
    memset(r, 0, sizeof *r);
    snprintf(r->data_dir, sizeof r->data_dir, "%s", cfg->data_dir);
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    snprintf(r->mode, sizeof r->mode, "%s", mode_name(cfg->modes[at->mi]));
    snprintf(r->worker_kind, sizeof r->worker_kind, "%s", bb_worker_kind_name(cfg->kinds[at->ki]));
    snprintf(r->preset, sizeof r->preset, "%s", cfg->preset ? cfg->preset : "");
    double sleep_s = cfg->sleeps_s[at->si];
    int64_t bs = cfg->batch_sizes[at->bi];
    int workers = cfg->workers[at->wi];
    r->batch_size = bs, r->workers = workers, r->prefetch = cfg->prefetch, r->batches = cfg->batches;
    r->dct_scale = cfg->dct_scale, r->sleep_s = sleep_s;
    r->items = s->items, r->mean_item_bytes = s->item_bytes;
}

static void progress(dl_state *s, const bb_dl_record *r, int total, const bb_dl_cell *c)
{
    FILE *f = s->cfg->log;
    fprintf(f, "[%d/%d] %s %s batch %-5lld workers %-3d%s sleep %gs: ", s->index, total, r->kind, r->mode,
            (long long)r->batch_size, r->workers, strcmp(r->worker_kind, "process") ? "" : " procs", r->sleep_s);
    if (strcmp(r->status, "ok") != 0) {
        fprintf(f, "%s: %s\n", r->status, r->message);
        return;
    }
    fprintf(f, "first %.1f ms (start %.1f), mean wait %.1f ms (max %.1f), %.0f items/s, %.1f MB/s, cpu %.2f s",
            c->first_wait_s * 1e3, r->start_s * 1e3, c->mean_wait_s * 1e3, c->max_wait_s * 1e3, c->items_per_s,
            (double)r->bytes / 1e6 / r->total_s, r->cpu_s);
    if (r->skipped)
        fprintf(f, ", %lld items skipped", (long long)r->skipped);
    fprintf(f, "\n");
    fflush(f);
}

static void fill_cell(const bb_dl_record *r, bb_dl_cell *c)
{
    bb_stats st;
    snprintf(c->status, sizeof c->status, "%s", r->status);
    c->first_wait_s = r->n_waits > 0 ? r->waits_s[0] : -1.0;
    int have = r->n_waits > 1 && bb_stats_compute(r->waits_s + 1, r->n_waits - 1, &st) == 0;
    c->mean_wait_s = have ? st.mean : -1, c->max_wait_s = have ? st.max : -1;
    c->items_per_s = r->total_s > 0 ? (double)r->n_waits * (double)r->batch_size / r->total_s : 0.0;
}

/* The loader's buffers (its window of batches in flight, at most all of
 * them, plus the consumer's: bb_loader_buffers) must fit in 80% of this
 * machine's memory; else the configuration is recorded as oom without
 * running. */
static int over_memory(const dl_state *s, bb_dl_record *r, bb_load_mode mode, bb_worker_kind kind)
{
    bb_loader_cfg lc = {.workers = r->workers, .batch = r->batch_size, .n_batches = r->batches, .mode = mode,
                        .prefetch = r->prefetch, .worker_kind = kind};
    int64_t n = bb_loader_buffers(&lc);
    double need = (double)n * (double)r->batch_size * BB_ITEM_FLOATS * sizeof(float);
    double have = 0.8 * (double)s->env.mem_total_bytes;
    if (have <= 0 || need <= have)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "%lld batches of %lld items in memory need %.1f GB, over 80%% of this machine's %.1f GB",
             (long long)n, (long long)r->batch_size, need / 1e9, have / 0.8 / 1e9);
    set_status(r, "oom", msg);
    return 1;
}

/* Runs, writes and reports one configuration: 0, 1 when interrupted, -1
 * when its file cannot be written. */
static int do_config(dl_state *s, const dl_at *at, bb_dl_result *res, bb_err *err)
{
    const bb_dl_cfg *cfg = s->cfg;
    bb_load_mode mode = cfg->modes[at->mi];
    bb_worker_kind kind = cfg->kinds[at->ki];
    bb_dl_record r;
    fill_record(s, res->kind, at, &r);
    r.waits_s = malloc(sizeof(double) * (size_t)cfg->batches);
    r.load_s = malloc(sizeof(double) * (size_t)cfg->batches);
    int rc = 0;
    if (!r.waits_s || !r.load_s)
        set_status(&r, "error", "out of memory for the wait times");
    else if (over_memory(s, &r, mode, kind))
        ;
    else
        rc = run_config(cfg, mode, kind, &r);
    if (rc == 0) {
        s->env.threads_used = r.workers;
        rc = bb_dl_write(cfg->out_dir, &r, &s->env, NULL, 0, err);
    }
    if (rc == 0) {
        bb_dl_cell *c = &res->cells[cell_index(cfg, at)];
        fill_cell(&r, c);
        res->done++;
        strcmp(r.status, "ok") == 0 ? res->ok++ : res->failed++;
        progress(s, &r, res->total, c);
    }
    free(r.waits_s), free(r.load_s);
    return rc;
}

/* The sweep's first line: the data set, the configurations, the workers. */
static void banner(const dl_state *s, const bb_dl_result *res)
{
    const bb_dl_cfg *cfg = s->cfg;
    const char *kinds = cfg->n_kinds > 1 ? "threads and processes"
                        : cfg->kinds[0] == BB_WORKERS_PROCESS ? "processes" : "threads";
    char preset[48] = "";
    if (cfg->preset && *cfg->preset)
        snprintf(preset, sizeof preset, " (preset %.20s)", cfg->preset);
    fprintf(cfg->log, "batchbench dataload: %s (%s, %lld items, %.3f MB each): %d configuration%s x %d batches, "
            "worker %s%s\n", cfg->data_dir, res->kind, (long long)s->items, s->item_bytes / 1e6, res->total,
            res->total == 1 ? "" : "s", cfg->batches, kinds, preset);
}

/* The data set is opened once up front: a missing or bad folder is a fatal
 * error before any work, and its kind names the files. */
static int probe_source(dl_state *s, bb_dl_result *res, bb_err *err)
{
    bb_source *src;
    bb_source_opts o = {.dct_scale = s->cfg->dct_scale};
    if (bb_source_open(&src, s->cfg->data_dir, &o, err) != 0)
        return -1;
    snprintf(res->kind, sizeof res->kind, "%s", bb_source_kind(src));
    s->items = bb_source_items(src);
    s->item_bytes = bb_source_item_bytes(src);
    bb_source_close(src);
    return 0;
}

static int sweep(dl_state *s, bb_dl_result *res, bb_err *err)
{
    const bb_dl_cfg *cfg = s->cfg;
    int rc = 0;
    dl_at at;
    for (at.mi = 0; at.mi < cfg->n_modes && rc == 0; at.mi++)
        for (at.ki = 0; at.ki < cfg->n_kinds && rc == 0; at.ki++)
            for (at.si = 0; at.si < cfg->n_sleeps && rc == 0; at.si++)
                for (at.bi = 0; at.bi < cfg->n_batch_sizes && rc == 0; at.bi++)
                    for (at.wi = 0; at.wi < cfg->n_workers && rc == 0; at.wi++) {
                        s->index++;
                        rc = stopped(cfg) ? 1 : do_config(s, &at, res, err);
                    }
    return rc;
}

int bb_dl_run(const bb_dl_cfg *cfg, bb_dl_result *res, bb_err *err)
{
    memset(res, 0, sizeof *res);
    res->total = cfg->n_modes * cfg->n_kinds * cfg->n_sleeps * cfg->n_batch_sizes * cfg->n_workers;
    res->cells = calloc((size_t)res->total, sizeof *res->cells);
    dl_state *s = calloc(1, sizeof *s);
    if (!res->cells || !s) {
        free(s);
        return bb_err_oom(err, "out of memory");
    }
    s->cfg = cfg;
    if (probe_source(s, res, err) != 0) {
        free(s);
        return -1;
    }
    bb_env_collect(&s->env, 1);
    banner(s, res);
    int rc = sweep(s, res, err);
    res->interrupted = rc == 1;
    if (rc >= 0 && bb_dl_summary_write(cfg->out_dir, err) != 0)
        rc = -1;
    free(s);
    return rc < 0 ? -1 : 0;
}

void bb_dl_result_free(bb_dl_result *res)
{
    free(res->cells);
    res->cells = NULL;
}

/* ---- the table ------------------------------------------------------------- */

static void print_cell(FILE *f, const bb_dl_cell *c)
{
    char b[64];
    if (!strcmp(c->status, "ok") && c->mean_wait_s >= 0)
        snprintf(b, sizeof b, "%.1f (%.0f, %.0f)", c->mean_wait_s * 1e3, c->max_wait_s * 1e3, c->first_wait_s * 1e3);
    else if (!strcmp(c->status, "ok"))
        snprintf(b, sizeof b, "- (%.0f)", c->first_wait_s * 1e3);
    else
        snprintf(b, sizeof b, "%s", c->status[0] ? c->status : "-");
    fprintf(f, " %20s", b);
}

/* One table: a mode, worker kind and simulated inference time. */
static void print_grid(FILE *f, const bb_dl_cfg *cfg, const bb_dl_result *res, dl_at at)
{
    fprintf(f, "\n%s, mode %s,%s simulated inference %g s: mean wait per batch in ms (max, first batch)\n", res->kind,
            mode_name(cfg->modes[at.mi]), cfg->kinds[at.ki] == BB_WORKERS_PROCESS ? " worker processes," : "",
            cfg->sleeps_s[at.si]);
    fprintf(f, "%-10s", "batch");
    for (int wi = 0; wi < cfg->n_workers; wi++)
        fprintf(f, " %12d worker%s", cfg->workers[wi], cfg->workers[wi] == 1 ? " " : "s");
    fprintf(f, "\n");
    for (at.bi = 0; at.bi < cfg->n_batch_sizes; at.bi++) {
        fprintf(f, "%-10lld", (long long)cfg->batch_sizes[at.bi]);
        for (at.wi = 0; at.wi < cfg->n_workers; at.wi++)
            print_cell(f, &res->cells[cell_index(cfg, &at)]);
        fprintf(f, "\n");
    }
}

void bb_dl_print_table(FILE *f, const bb_dl_cfg *cfg, const bb_dl_result *res)
{
    dl_at at = {0};
    for (at.mi = 0; at.mi < cfg->n_modes; at.mi++)
        for (at.ki = 0; at.ki < cfg->n_kinds; at.ki++)
            for (at.si = 0; at.si < cfg->n_sleeps; at.si++)
                print_grid(f, cfg, res, at);
}

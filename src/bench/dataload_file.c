/*
 * dataload_file.c — the data-loading result files and their summary.csv
 * (dataload.h).
 *
 * Why this file exists: it is the only code that knows the dataload schema
 * (docs/dataload-schema.md), so the writer and the CSV cannot drift apart.
 * Conventions are the inference results' (report/result.c): schema_version,
 * tool, created_utc, status and message, exact integers, non-finite reals
 * as null, every file written atomically: report/json_out.h.
 */
#include "bench/dataload.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"
#include "util/json_out.h"
#include "results/summary_csv.h"


/* ---- names ----------------------------------------------------------------- */

char *bb_dl_filename(const bb_dl_record *r, const char *host)
{
    char h[128], k[sizeof r->kind], m[sizeof r->mode];
    bb_json_sanitise(h, sizeof h, host);
    bb_json_sanitise(k, sizeof k, r->kind);
    bb_json_sanitise(m, sizeof m, r->mode);
    /* worker processes tagged, so that neither kind overwrites the other;
     * thread names are those written before worker kinds existed */
    const char *tag = strcmp(r->worker_kind, "process") ? "" : "-procs";
    const char *fmt = "dataload-%s-%s-mode-%s-batch_size-%" PRId64 "-workers-%d%s-sleep-%g.json";
    int n = snprintf(NULL, 0, fmt, h, k, m, r->batch_size, r->workers, tag, r->sleep_s);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, h, k, m, r->batch_size, r->workers, tag, r->sleep_s);
    return s;
}

/* ---- JSON ------------------------------------------------------------------ */

static cJSON *config_json(const bb_dl_record *r)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_str(o, "data_dir", r->data_dir) && bb_json_str(o, "kind", r->kind) &&
                       bb_json_str(o, "mode", r->mode) && bb_json_int(o, "batch_size", r->batch_size) &&
                       bb_json_int(o, "workers", r->workers) && bb_json_str(o, "worker_kind", r->worker_kind) &&
                       bb_json_int(o, "prefetch", r->prefetch) && bb_json_num(o, "sleep_s", r->sleep_s) &&
                       bb_json_int(o, "batches", r->batches) && bb_json_int(o, "dct_scale", r->dct_scale) &&
                       bb_json_str(o, "preset", r->preset));
}

static cJSON *data_json(const bb_dl_record *r)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "items", r->items) && bb_json_num(o, "mean_item_bytes", r->mean_item_bytes));
}

/* Statistics of the waits after the first (the first includes the start). */
static cJSON *stats_json(const bb_dl_record *r)
{
    bb_stats s;
    if (bb_stats_compute(r->waits_s + 1, r->n_waits - 1, &s) != 0)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "n", s.n) && bb_json_num(o, "median_s", s.median) && bb_json_num(o, "mean_s", s.mean) &&
                       bb_json_num(o, "std_s", s.std) && bb_json_num(o, "min_s", s.min) && bb_json_num(o, "max_s", s.max) &&
                       bb_json_num(o, "p5_s", s.p5) && bb_json_num(o, "p95_s", s.p95) &&
                       bb_json_num(o, "ci95_median_lo_s", s.ci_lo) && bb_json_num(o, "ci95_median_hi_s", s.ci_hi) &&
                       bb_json_num(o, "cv", s.cv));
}

/* The derived figures: rates over the whole configuration's wall time. */
static int put_rates(cJSON *o, const bb_dl_record *r)
{
    double waited = 0.0, items = (double)r->n_waits * (double)r->batch_size;
    for (int i = 0; i < r->n_waits; i++)
        waited += r->waits_s[i];
    return bb_json_num(o, "first_wait_s", r->n_waits > 0 ? r->waits_s[0] : 0.0) &&
           (r->n_waits < 2 || bb_json_obj(o, "stats", stats_json(r))) && bb_json_num(o, "wait_total_s", waited) &&
           bb_json_num(o, "open_s", r->open_s) && bb_json_num(o, "start_s", r->start_s) &&
           bb_json_num(o, "total_s", r->total_s) && bb_json_num(o, "wait_fraction", waited / r->total_s) &&
           bb_json_num(o, "items_per_s", items / r->total_s) && bb_json_int(o, "bytes", r->bytes) &&
           bb_json_num(o, "mb_per_s", (double)r->bytes / 1e6 / r->total_s) && bb_json_num(o, "cpu_s", r->cpu_s) &&
           bb_json_int(o, "skipped", r->skipped);
}

cJSON *bb_dl_to_json(const bb_dl_record *r, const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "schema_version", BB_DL_SCHEMA_VERSION) && bb_json_obj(o, "tool", bb_json_tool()) &&
                       bb_json_created(o) && bb_json_str(o, "status", r->status) && bb_json_str(o, "message", r->message) &&
                       bb_json_obj(o, "config", config_json(r)) &&
                       bb_json_obj(o, "environment", env ? bb_env_to_json(env) : cJSON_CreateNull()) &&
                       bb_json_obj(o, "data", data_json(r)) && bb_json_obj(o, "waits_s", bb_json_reals(r->waits_s, r->n_waits)) &&
                       bb_json_obj(o, "load_s", bb_json_reals(r->load_s, r->n_waits)) && put_rates(o, r));
}

int bb_dl_write(const char *dir, const bb_dl_record *r, const bb_env *env, char *path_out, size_t path_len,
                bb_err *err)
{
    char *name = bb_dl_filename(r, env ? env->host : NULL);
    if (!name)
        return bb_err_oom(err, "out of memory naming the result file in '%s'", dir);
    cJSON *j = bb_dl_to_json(r, env);
    int rc = j ? bb_json_write(dir, name, j, path_out, path_len, err)
               : bb_err_oom(err, "%s/%s: could not encode the result", dir, name);
    cJSON_Delete(j);
    free(name);
    return rc;
}

/* ---- summary.csv ------------------------------------------------------------ */

static const bb_csv_col csv_cols[] = {
    {"file", NULL, NULL, 'f'},
    {"kind", "config", "kind", 's'},          {"mode", "config", "mode", 's'},
    {"batch_size", "config", "batch_size", 'r'}, {"workers", "config", "workers", 'r'},
    {"worker_kind", "config", "worker_kind", 's'},
    {"prefetch", "config", "prefetch", 'r'},  {"sleep_s", "config", "sleep_s", 'r'},
    {"batches", "config", "batches", 'r'},    {"status", NULL, "status", 's'},
    {"first_wait_s", NULL, "first_wait_s", 'r'}, {"start_s", NULL, "start_s", 'r'},
    {"median_wait_s", "stats", "median_s", 'r'},
    {"mean_wait_s", "stats", "mean_s", 'r'},  {"p95_wait_s", "stats", "p95_s", 'r'},
    {"max_wait_s", "stats", "max_s", 'r'},    {"wait_fraction", NULL, "wait_fraction", 'r'},
    {"total_s", NULL, "total_s", 'r'},        {"items_per_s", NULL, "items_per_s", 'r'},
    {"mb_per_s", NULL, "mb_per_s", 'r'},      {"cpu_s", NULL, "cpu_s", 'r'},
    {"skipped", NULL, "skipped", 'r'},
};

static double num(const cJSON *j, const char *section, const char *key)
{
    const cJSON *v = bb_json_field(j, section, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static const char *text(const cJSON *j, const char *key, const char *dflt)
{
    const cJSON *v = bb_json_field(j, "config", key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* By kind, mode, worker kind (files without one: threads), simulated
 * inference time, batch size, workers. */
static int cmp_dataload(const cJSON *x, const cJSON *y)
{
    static const char *const order[] = {"sleep_s", "batch_size", "workers"};
    int c = strcmp(text(x, "kind", ""), text(y, "kind", ""));
    if (!c)
        c = strcmp(text(x, "mode", ""), text(y, "mode", ""));
    if (!c)
        c = strcmp(text(x, "worker_kind", "thread"), text(y, "worker_kind", "thread"));
    for (int i = 0; i < 3 && !c; i++) {
        double u = num(x, "config", order[i]), v = num(y, "config", order[i]);
        c = (u > v) - (u < v);
    }
    return c;
}

int bb_dl_summary_write(const char *dir, bb_err *err)
{
    static const bb_csv_spec spec = {"dataload-", BB_DL_SCHEMA_VERSION, "dataload result", csv_cols,
                                     sizeof csv_cols / sizeof *csv_cols, cmp_dataload};
    return bb_csv_summary_write(dir, &spec, err);
}

/*
 * result.c — result files and summary.csv (result.h).
 *
 * Why this file exists: it is the only code that knows the result schema
 * (docs/result-schema.md), so the writer, the --resume reader and the CSV
 * summary cannot drift apart. Files are written atomically (temporary file,
 * fsync, rename) and every I/O return code is checked, so a full disk or an
 * unwritable directory is a clear error, never a silently truncated result.
 */
#include "report/result.h"
#include "report/json_out.h"
#include "report/summary_csv.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/stats.h"


/* ---- file names ---------------------------------------------------------- */

char *bb_result_filename(const bb_result *r, const char *host)
{
    char h[128], d[sizeof r->device], m[sizeof r->model];
    bb_json_sanitise(h, sizeof h, host);
    bb_json_sanitise(d, sizeof d, r->device);
    bb_json_sanitise(m, sizeof m, r->model);
    const char *fmt = r->pipeline ? "pipeline-%s-%s-model_name-%s-batch_size-%" PRId64 "-workers-%d.json"
                                  : "inference_time-%s-%s-model_name-%s-batch_size-%" PRId64 ".json";
    int w = r->pipeline ? r->pipeline->workers : 0;
    int n = snprintf(NULL, 0, fmt, h, d, m, r->batch_size, w);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, h, d, m, r->batch_size, w);
    return s;
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *config_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_str(o, "model", r->model) && bb_json_str(o, "family", r->family) && bb_json_str(o, "head", r->head) &&
             bb_json_str(o, "device", r->device) && bb_json_str(o, "engine", r->engine) &&
             bb_json_str(o, "precision", r->precision) && bb_json_str(o, "math_mode", r->math_mode) &&
             bb_json_str(o, "input_source", r->input_source) &&
             bb_json_str(o, "data_dir", r->data_dir) && bb_json_int(o, "batch_size", r->batch_size) &&
             bb_json_int(o, "warmup", r->warmup) && bb_json_int(o, "reps", r->reps) &&
             bb_json_num(o, "min_time_s", r->min_time_s) && bb_json_num(o, "max_time_s", r->max_time_s) &&
             bb_json_int(o, "threads", r->threads) && bb_json_u64(o, "seed", r->seed);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *model_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "params", r->params) && bb_json_int(o, "macs_per_item", r->macs_per_item) &&
             bb_json_num(o, "gmac_per_item", (double)r->macs_per_item / 1e9) &&
             bb_json_int(o, "feature_dim", r->feature_dim) && bb_json_int(o, "weight_bytes", r->weight_bytes) &&
             bb_json_int(o, "activation_bytes", r->activation_bytes);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *stats_json(const bb_result *r)
{
    bb_stats s;
    if (bb_stats_compute(r->times_s, r->n_times, &s) != 0)
        return NULL;
    double bs = (double)r->batch_size;
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "n", s.n) && bb_json_num(o, "median_s", s.median) && bb_json_num(o, "mean_s", s.mean) &&
             bb_json_num(o, "std_s", s.std) && bb_json_num(o, "min_s", s.min) && bb_json_num(o, "max_s", s.max) &&
             bb_json_num(o, "p5_s", s.p5) && bb_json_num(o, "p95_s", s.p95) && bb_json_num(o, "ci95_median_lo_s", s.ci_lo) &&
             bb_json_num(o, "ci95_median_hi_s", s.ci_hi) && bb_json_num(o, "cv", s.cv) &&
             bb_json_num(o, "per_item_median_s", s.median / bs) && bb_json_num(o, "items_per_s", bs / s.median) &&
             bb_json_num(o, "gflops", 2.0 * (double)r->macs_per_item * bs / s.median / 1e9);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *memory_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "weight_bytes", r->mem_weight_bytes) && bb_json_int(o, "arena_bytes", r->mem_arena_bytes) &&
             bb_json_int(o, "workspace_bytes", r->mem_workspace_bytes) &&
             bb_json_int(o, "peak_bytes", r->mem_weight_bytes + r->mem_arena_bytes + r->mem_workspace_bytes);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *pipeline_json(const bb_pipeline_info *p)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "workers", p->workers) && bb_json_int(o, "prefetch", p->prefetch) &&
             bb_json_str(o, "mode", p->mode) && bb_json_num(o, "first_result_s", p->first_result_s) &&
             bb_json_num(o, "measured_wall_s", p->measured_wall_s) && bb_json_num(o, "items_per_s", p->items_per_s) &&
             bb_json_num(o, "wait_fraction", p->wait_fraction) && bb_json_int(o, "skipped", p->skipped) &&
             bb_json_obj(o, "waits_s", bb_json_reals(p->waits_s, p->n_waits));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

cJSON *bb_result_to_json(const bb_result *r, const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "schema_version", BB_RESULT_SCHEMA_VERSION) && bb_json_obj(o, "tool", bb_json_tool()) &&
             bb_json_created(o) && bb_json_str(o, "status", r->status) && bb_json_str(o, "message", r->message) &&
             bb_json_obj(o, "config", config_json(r)) &&
             bb_json_obj(o, "environment", env ? bb_env_to_json(env) : cJSON_CreateNull()) &&
             bb_json_obj(o, "model", model_json(r)) && bb_json_num(o, "prepare_s", r->prepare_s) &&
             bb_json_obj(o, "memory", memory_json(r)) &&
             (r->n_times < 1 || bb_json_obj(o, "stats", stats_json(r))) &&
             bb_json_obj(o, "times_s", bb_json_reals(r->times_s, r->n_times)) &&
             bb_json_obj(o, "input_copy_s", bb_json_reals(r->input_copy_s, r->n_input_copy)) &&
             (!r->pipeline || bb_json_obj(o, "pipeline", pipeline_json(r->pipeline)));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

/* ---- atomic writes ------------------------------------------------------- */

int bb_result_write(const char *dir, const bb_result *r, const bb_env *env, char *path_out, size_t path_len,
                    bb_err *err)
{
    char *name = bb_result_filename(r, env ? env->host : NULL);
    if (!name)
        return bb_err_oom(err, "out of memory naming the result file in '%s'", dir);
    cJSON *j = bb_result_to_json(r, env);
    int rc = j ? bb_json_write(dir, name, j, path_out, path_len, err)
               : bb_err_oom(err, "%s/%s: could not encode the result (out of memory or a non-finite time)", dir, name);
    cJSON_Delete(j);
    free(name);
    return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* Parses a result file; checks it is a schema-1 result object. */
static cJSON *read_result(const char *path, bb_err *err)
{
    return bb_json_read_checked(path, BB_RESULT_SCHEMA_VERSION, "result", err);
}

int bb_result_read_status(const char *path, char *status, size_t len, double *per_item_median_s, bb_err *err)
{
    cJSON *j = read_result(path, err);
    if (!j)
        return -1;
    if (per_item_median_s) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stats");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "per_item_median_s");
        *per_item_median_s = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    int rc = 0;
    if (cJSON_IsString(s) && s->valuestring)
        snprintf(status, len, "%s", s->valuestring);
    else
        rc = bb_err_set(err, "'%s': no status", path);
    cJSON_Delete(j);
    return rc;
}

/* ---- summary.csv ---------------------------------------------------------- */

static const bb_csv_col csv_cols[] = {
    {"file", NULL, NULL, 'f'},
    {"model", "config", "model", 's'},
    {"family", "config", "family", 's'},
    {"head", "config", "head", 's'},
    {"device", "config", "device", 's'},
    {"engine", "config", "engine", 's'},
    {"precision", "config", "precision", 's'},
    {"batch_size", "config", "batch_size", 'i'},
    {"threads", "config", "threads", 'i'},
    {"status", NULL, "status", 's'},
    {"n", "stats", "n", 'i'},
    {"median_s", "stats", "median_s", 'r'},
    {"mean_s", "stats", "mean_s", 'r'},
    {"std_s", "stats", "std_s", 'r'},
    {"min_s", "stats", "min_s", 'r'},
    {"max_s", "stats", "max_s", 'r'},
    {"p5_s", "stats", "p5_s", 'r'},
    {"p95_s", "stats", "p95_s", 'r'},
    {"ci95_lo_s", "stats", "ci95_median_lo_s", 'r'},
    {"ci95_hi_s", "stats", "ci95_median_hi_s", 'r'},
    {"cv", "stats", "cv", 'r'},
    {"per_item_median_s", "stats", "per_item_median_s", 'r'},
    {"items_per_s", "stats", "items_per_s", 'r'},
    {"gflops", "stats", "gflops", 'r'},
    {"params", "model", "params", 'i'},
    {"macs_per_item", "model", "macs_per_item", 'i'},
};

/* By model, then batch size. */
static int cmp_results(const cJSON *x, const cJSON *y)
{
    const cJSON *mx = bb_json_field(x, "config", "model"), *my = bb_json_field(y, "config", "model");
    int c = strcmp(cJSON_IsString(mx) ? mx->valuestring : "", cJSON_IsString(my) ? my->valuestring : "");
    if (c)
        return c;
    const cJSON *bx = bb_json_field(x, "config", "batch_size"), *by = bb_json_field(y, "config", "batch_size");
    double u = cJSON_IsNumber(bx) ? bx->valuedouble : 0, v = cJSON_IsNumber(by) ? by->valuedouble : 0;
    return (u > v) - (u < v);
}

int bb_summary_csv_write(const char *dir, bb_err *err)
{
    static const bb_csv_spec spec = {"inference_time-", BB_RESULT_SCHEMA_VERSION, "result", csv_cols,
                                     sizeof csv_cols / sizeof *csv_cols, cmp_results};
    return bb_csv_summary_write(dir, &spec, err);
}

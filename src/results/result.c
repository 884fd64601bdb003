/*
 * result.c — result files and summary.csv (result.h).
 *
 * Why this file exists: it is the only code that knows the result schema
 * (docs/result-schema.md), so the writer, the --resume reader and the CSV
 * summary cannot drift apart. Files are written atomically (temporary file,
 * fsync, rename) and every I/O return code is checked, so a full disk or an
 * unwritable directory is a clear error, never a silently truncated result.
 */
#include "results/result.h"
#include "util/json_out.h"
#include "results/result_identity.h"
#include "results/summary_csv.h"

#include <fcntl.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats/recommend.h"
#include "stats/stats.h"


/* ---- file names ---------------------------------------------------------- */

char *bb_result_filename(const bb_result *r, const char *host)
{
    bb_identity id;
    bb_identity_of_result(r, host, &id);
    return bb_identity_filename(&id, 0);
}

/* ---- JSON ---------------------------------------------------------------- */

/* The measurement settings that belong to the configuration ("config"). */
static int measure_config_json(cJSON *o, const bb_measure_info *m)
{
    if (!m->stop_reason[0])
        return 1;
    return bb_json_str(o, "reps_mode", m->reps_auto ? "auto" : "fixed") && bb_json_int(o, "min_reps", m->min_reps) &&
           bb_json_num(o, "target_ci", m->reps_auto ? m->target_ci : NAN) &&
           bb_json_num(o, "warmup_time_s", m->warmup_time_s) && bb_json_num(o, "max_config_time_s", m->max_config_time_s) &&
           bb_json_num(o, "budget_s", m->budget_s) && bb_json_u64(o, "order_seed", m->order_seed) &&
           bb_json_num(o, "idle_s", m->idle_s);
}

/* The threads' round trip after each slice, in ns to 0.1 (null: not
 * measured). */
static cJSON *rtt_json(const double *ns, int n)
{
    double *x = malloc(sizeof *x * (size_t)(n > 0 ? n : 1));
    for (int i = 0; x && i < n; i++)
        x[i] = ns[i] >= 0 ? round(ns[i] * 10.0) / 10.0 : NAN; /* NAN: written as null */
    cJSON *a = x ? bb_json_reals(x, n) : NULL;
    free(x);
    return a;
}

/* What happened while measuring ("measurement"). */
static cJSON *measurement_json(const bb_measure_info *m)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "warmup_passes", m->warmup_passes) && bb_json_num(o, "warmup_s", m->warmup_s) &&
             cJSON_AddBoolToObject(o, "interleaved", m->interleaved) &&
             bb_json_str(o, "interleave_fallback", m->interleave_fallback) && bb_json_int(o, "rounds", m->rounds) &&
             bb_json_str(o, "stop_reason", m->stop_reason) && bb_json_num(o, "ci_half_width", m->ci_half_width) &&
             bb_json_num(o, "measured_wall_s", m->measured_wall_s);
    if (ok && m->slice_batches)
        ok = bb_json_obj(o, "slice_batches", cJSON_CreateIntArray(m->slice_batches, m->n_slices));
    if (ok && m->slice_core_rtt_ns)
        ok = bb_json_obj(o, "slice_core_rtt_ns", rtt_json(m->slice_core_rtt_ns, m->n_slices));
    if (ok && m->round_group[0])
        ok = bb_json_str(o, "round_group", m->round_group);
    return bb_json_done(o, ok);
}

/* p50 ... p99 of the batch times, each with the samples behind it. */
static cJSON *percentiles_json(const bb_stats *s, double bs)
{
    static const double ps[] = {0.50, 0.90, 0.95, 0.99};
    const double vs[] = {s->p50, s->p90, s->p95, s->p99};
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < 4; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(a, o) && bb_json_num(o, "p", ps[i] * 100) && bb_json_num(o, "batch_s", vs[i]) &&
             bb_json_num(o, "per_item_s", vs[i] / bs) && bb_json_int(o, "n", s->n) &&
             bb_json_int(o, "tail_samples", (int64_t)floor((double)s->n * (1.0 - ps[i]) + 1e-9)) &&
             cJSON_AddBoolToObject(o, "supported", bb_stats_supports(s->n, ps[i]));
    }
    return bb_json_done(a, ok);
}

/* config.backend_options: every option of the device's backend, with its
 * value, whether it is the default and where it came from. */
static cJSON *backend_options_json(const bb_result *r)
{
    static const char *const sources[] = {"default", "flag", "env"};
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int i = 0; ok && i < BB_OPT_COUNT; i++) {
        const bb_opt_info *in = bb_opt_info_of((bb_opt_id)i);
        if (strcmp(in->backend, r->device) != 0 || strcmp(r->engine, "batchbench") != 0)
            continue;
        cJSON *v = cJSON_CreateObject();
        ok = v && cJSON_AddItemToObject(o, in->key, v) && bb_json_str(v, "value", bb_opt_value(&r->options, (bb_opt_id)i)) &&
             cJSON_AddBoolToObject(v, "default", r->options.value[i] == 0) &&
             bb_json_str(v, "source", sources[r->options.source[i] < 3 ? r->options.source[i] : 0]);
    }
    return bb_json_done(o, ok);
}

static cJSON *config_json(const bb_result *r, const char *host)
{
    bb_identity id;
    char key[BB_IDENTITY_LEN];
    bb_identity_of_result(r, host, &id);
    bb_identity_key(&id, key, sizeof key);
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_str(o, "model", r->model) &&
             (!r->model_sha256[0] ||
              (bb_json_str(o, "model_file", r->model_file) && bb_json_str(o, "model_sha256", r->model_sha256))) &&
             bb_json_str(o, "family", r->family) && bb_json_str(o, "head", r->head) &&
             bb_json_str(o, "device", r->device) && bb_json_str(o, "engine", r->engine) &&
             bb_json_str(o, "precision", r->precision) && bb_json_str(o, "math_mode", r->math_mode) &&
             bb_json_str(o, "input_source", r->input_source) &&
             bb_json_str(o, "data_dir", r->data_dir) && bb_json_str(o, "preset", r->preset) &&
             bb_json_int(o, "batch_size", r->batch_size) &&
             bb_json_int(o, "warmup", r->warmup) && bb_json_int(o, "reps", r->reps) &&
             bb_json_num(o, "min_time_s", r->min_time_s) && bb_json_num(o, "max_time_s", r->max_time_s) &&
             measure_config_json(o, &r->measure) &&
             bb_json_int(o, "threads", r->threads) && bb_json_u64(o, "seed", r->seed) &&
             bb_json_obj(o, "backend_options", backend_options_json(r)) && bb_json_str(o, "identity", key) &&
             (!r->sweep[0] || (bb_json_str(o, "sweep", r->sweep) && bb_json_str(o, "shard", r->shard)));
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
             bb_json_num(o, "p5_s", s.p5) && bb_json_num(o, "p95_s", s.p95) && bb_json_num(o, "p50_s", s.p50) &&
             bb_json_num(o, "p90_s", s.p90) && bb_json_num(o, "p99_s", s.p99) &&
             bb_json_obj(o, "percentiles", percentiles_json(&s, bs)) && bb_json_num(o, "ci95_median_lo_s", s.ci_lo) &&
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
             bb_json_str(o, "mode", p->mode) &&
             bb_json_str(o, "worker_kind", p->worker_kind[0] ? p->worker_kind : "thread") &&
             bb_json_num(o, "first_result_s", p->first_result_s) &&
             bb_json_num(o, "measured_wall_s", p->measured_wall_s) && bb_json_num(o, "items_per_s", p->items_per_s) &&
             bb_json_num(o, "wait_fraction", p->wait_fraction) && bb_json_int(o, "skipped", p->skipped) &&
             bb_json_obj(o, "waits_s", bb_json_reals(p->waits_s, p->n_waits));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

/* The energy block: per item over the energy pass's items, with its
 * forward passes and their time (busy: the share of its wall time). */
static cJSON *energy_json(const bb_result *r)
{
    const bb_energy *e = r->energy;
    cJSON *o = bb_energy_json(e, (int64_t)r->energy_batches * r->batch_size);
    if (!o || !e->available)
        return o;
    int ok = bb_json_int(o, "batches", r->energy_batches) && bb_json_num(o, "forward_s", r->energy_forward_s) &&
             (e->seconds > 0 ? bb_json_num(o, "busy", r->energy_forward_s / e->seconds)
                             : cJSON_AddNullToObject(o, "busy") != NULL);
    return bb_json_done(o, ok);
}

cJSON *bb_result_to_json(const bb_result *r, const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && bb_json_int(o, "schema_version", BB_RESULT_SCHEMA_VERSION) && bb_json_obj(o, "tool", bb_json_tool()) &&
             bb_json_created(o) && bb_json_str(o, "status", r->status) && bb_json_str(o, "message", r->message) &&
             bb_json_obj(o, "config", config_json(r, env ? env->host : NULL)) &&
             bb_json_obj(o, "environment", env ? bb_env_to_json(env) : cJSON_CreateNull()) &&
             bb_json_obj(o, "model", model_json(r)) && bb_json_num(o, "prepare_s", r->prepare_s) &&
             bb_json_obj(o, "memory", memory_json(r)) &&
             (r->n_times < 1 || bb_json_obj(o, "stats", stats_json(r))) &&
             bb_json_obj(o, "times_s", bb_json_reals(r->times_s, r->n_times)) &&
             bb_json_obj(o, "input_copy_s", bb_json_reals(r->input_copy_s, r->n_input_copy)) &&
             (!r->pipeline || bb_json_obj(o, "pipeline", pipeline_json(r->pipeline))) &&
             (!r->measure.stop_reason[0] || bb_json_obj(o, "measurement", measurement_json(&r->measure))) &&
             (!r->noise || bb_json_obj(o, "noise", bb_noise_to_json(r->noise))) &&
             (!r->energy || bb_json_obj(o, "energy", energy_json(r)));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

/* ---- atomic writes ------------------------------------------------------- */

int bb_result_write(const char *dir, const bb_result *r, const bb_env *env, char *path_out, size_t path_len,
                    bb_err *err)
{
    bb_identity id;
    char path[1024];
    int exists;
    bb_identity_of_result(r, env ? env->host : NULL, &id);
    if (bb_identity_place(dir, &id, path, sizeof path, &exists, err) != 0)
        return -1;
    const char *slash = strrchr(path, '/');
    char *name = strdup(slash ? slash + 1 : path);
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

cJSON *bb_result_load_done(const char *dir, const bb_result *r, const char *host)
{
    bb_identity id;
    char path[1024];
    int exists = 0;
    bb_err err = {0};
    bb_identity_of_result(r, host, &id);
    if (bb_identity_place(dir, &id, path, sizeof path, &exists, &err) != 0 || !exists)
        return NULL;
    cJSON *j = read_result(path, &err);
    const cJSON *s = bb_json_field(j, NULL, "status");
    if (j && !(cJSON_IsString(s) && s->valuestring && strcmp(s->valuestring, "ok") == 0))
        cJSON_Delete(j), j = NULL;
    return j;
}

int bb_result_done(const char *dir, const bb_result *r, const char *host, double *per_item)
{
    cJSON *j = bb_result_load_done(dir, r, host);
    const cJSON *v = bb_json_field(j, "stats", "per_item_median_s");
    *per_item = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    cJSON_Delete(j);
    return j != NULL;
}

/* ---- summary.csv ---------------------------------------------------------- */

static const bb_csv_col csv_cols[] = {
    BB_CSV_CONFIG_COLUMNS,
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
    {"p50_s", "stats", "p50_s", 'r'},
    {"p90_s", "stats", "p90_s", 'r'},
    {"p99_s", "stats", "p99_s", 'r'},
    {"stop_reason", "measurement", "stop_reason", 's'},
    {"ci_half_width", "measurement", "ci_half_width", 'r'},
    {"noise_disturbed", "noise", "disturbed", 'b'},
    /* a folder may hold several machines' results (run --shard, multi-gpu.sh) */
    {"host", "environment", "host", 's'},
    {"sweep", "config", "sweep", 's'},
    {"shard", "config", "shard", 's'},
};

/* ---- summary.csv: each row's recommendation (computed columns) ------------ */

/* The answer of the row's (setup, model), stats/recommend.h, at the default
 * margin; "tied" is empty for a row without usable times. Then the row's
 * identity key (result_identity.h; derived for files that predate it). */
static const char *const answer_cols[] = {"best_batch", "recommended_batch", "tied", "knee_batch", "margin",
                                          "identity"};
#define N_ANSWER (sizeof answer_cols / sizeof *answer_cols)

static const char *str_at(const cJSON *j, const char *section, const char *key)
{
    const cJSON *v = bb_json_field(j, section, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static double num_at(const cJSON *j, const char *section, const char *key)
{
    const cJSON *v = bb_json_field(j, section, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Every row's identity key into its last computed cell, and its group's
 * key into group[i]: the model (an imported one with its file's hash) and
 * the setup (the identity but for the batch size), "" for a row without a
 * configuration. -1 on OOM. */
static int identity_cells(const cJSON *const *rows, size_t n, char **cells, char **group)
{
    for (size_t i = 0; i < n; i++) {
        bb_identity id;
        char key[BB_IDENTITY_LEN], setup[BB_IDENTITY_LEN];
        group[i] = NULL;
        if (bb_identity_of_json(rows[i], &id) != 0) {
            if (!(group[i] = strdup("")))
                return -1;
            continue;
        }
        bb_identity_key(&id, key, sizeof key);
        bb_identity_setup_key(&id, setup, sizeof setup);
        size_t len = strlen(id.model) + strlen(id.model_sha256) + strlen(setup) + 3;
        if (!(cells[i * N_ANSWER + N_ANSWER - 1] = strdup(key)) || !(group[i] = malloc(len)))
            return -1;
        snprintf(group[i], len, "%s;%s;%s", id.model, id.model_sha256, setup);
    }
    return 0;
}

int bb_result_rounds_of_json(const cJSON *j, int **slices, int *n, char *group, size_t len)
{
    const cJSON *m = bb_json_field(j, NULL, "measurement");
    const cJSON *a = bb_json_field(m, NULL, "slice_batches"), *g = bb_json_field(m, NULL, "round_group");
    *slices = NULL, *n = 0;
    if (len)
        group[0] = '\0';
    int k = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || k < 1 || k > BB_ROUNDS_MAX || !cJSON_IsString(g) || !g->valuestring[0] ||
        strlen(g->valuestring) >= len)
        return 1;
    int *x = malloc(sizeof *x * (size_t)k), i = 0;
    if (!x)
        return -1;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 || v->valuedouble != floor(v->valuedouble))
            return free(x), 1;
        x[i] = (int)v->valuedouble;
    }
    snprintf(group, len, "%s", g->valuestring);
    *slices = x, *n = k;
    return 0;
}

int bb_result_slice_rtt_of_json(const cJSON *j, double **rtt, int *n)
{
    const cJSON *m = bb_json_field(j, NULL, "measurement");
    const cJSON *a = bb_json_field(m, NULL, "slice_core_rtt_ns"), *b = bb_json_field(m, NULL, "slice_batches");
    *rtt = NULL, *n = 0;
    int k = cJSON_GetArraySize(a);
    if (!cJSON_IsArray(a) || !cJSON_IsArray(b) || k < 1 || k != cJSON_GetArraySize(b))
        return 1;
    double *x = malloc(sizeof *x * (size_t)k);
    if (!x)
        return -1;
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (cJSON_IsNull(v))
            x[i] = -1.0;
        else if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0)
            x[i] = v->valuedouble;
        else
            return free(x), 1;
    }
    *rtt = x, *n = k;
    return 0;
}

/* The batch times of a usable row (status ok, every time finite and > 0),
 * malloc'd; NULL when the row is not usable, or (*oom set) on OOM. */
static double *usable_times(const cJSON *j, int *n, int *oom)
{
    const cJSON *ts = bb_json_field(j, NULL, "times_s");
    *n = cJSON_IsArray(ts) ? cJSON_GetArraySize(ts) : 0;
    if (strcmp(str_at(j, NULL, "status"), "ok") || *n < 1 || num_at(j, "config", "batch_size") < 1)
        return NULL;
    double *x = malloc(sizeof *x * (size_t)*n);
    *oom |= !x;
    int i = 0;
    for (const cJSON *v = ts->child; x && v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0)
            return free(x), NULL;
        x[i] = v->valuedouble;
    }
    return x;
}

/* Work space for one group: its rows and their samples (n rows at most). */
typedef struct {
    size_t *row;            /* the group's rows */
    int *sample;            /* each one's sample index, -1: not usable */
    bb_batch_sample *s;
    double **times;         /* owned copies of the samples' times */
    int **slices;           /* and of their slice sizes (NULL: not recorded) */
    char (*groups)[BB_ROUND_GROUP_LEN]; /* their round groups */
    double **rtts;          /* and the threads' round trips per slice (NULL: not recorded) */
    size_t n_rows;
    int n_samples, oom, dup;
} answer_group;

static int set_cell(char **cell, const char *fmt, double v)
{
    char b[48];
    snprintf(b, sizeof b, fmt, v);
    return (*cell = strdup(b)) ? 0 : -1;
}

/* The group's answer into the cells of its rows; -1 on OOM. */
static int answer_cells(const answer_group *g, const bb_recommendation *r, char **cells)
{
    int rc = 0;
    for (size_t k = 0; k < g->n_rows; k++) {
        char **c = cells + g->row[k] * N_ANSWER;
        int tied = -1;
        for (int i = 0; g->sample[k] >= 0 && i < r->n; i++)
            tied = r->batch[i] == g->s[g->sample[k]].batch ? r->tied[i] : tied;
        rc |= set_cell(&c[0], "%.0f", (double)r->best_batch) | set_cell(&c[1], "%.0f", (double)r->recommended_batch);
        rc |= tied >= 0 ? set_cell(&c[2], "%.0f", tied) : 0;
        rc |= set_cell(&c[3], "%.0f", (double)r->knee_batch) | set_cell(&c[4], "%.10g", r->margin);
    }
    return rc;
}

/* Gathers the rows of rows[first]'s group (marking them done) into g; a
 * row without a configuration is a group of its own. */
static void gather_group(const cJSON *const *rows, char *const *group, size_t n, size_t first, char *done,
                         answer_group *g)
{
    g->n_rows = 0, g->n_samples = 0, g->dup = 0;
    for (size_t i = first; i < n; i++) {
        if (done[i] || (i != first && (!group[first][0] || strcmp(group[first], group[i]) != 0)))
            continue;
        int nt = 0;
        double *t = usable_times(rows[i], &nt, &g->oom);
        int64_t b = (int64_t)num_at(rows[i], "config", "batch_size");
        done[i] = 1, g->row[g->n_rows] = i, g->sample[g->n_rows++] = t ? g->n_samples : -1;
        for (int k = 0; t && k < g->n_samples; k++)
            g->dup |= g->s[k].batch == b;
        if (!t)
            continue;
        int k = g->n_samples, ns = 0;
        int nr = 0;
        g->oom |= bb_result_rounds_of_json(rows[i], &g->slices[k], &ns, g->groups[k], sizeof g->groups[k]) < 0;
        g->oom |= bb_result_slice_rtt_of_json(rows[i], &g->rtts[k], &nr) < 0;
        g->times[k] = t;
        g->s[g->n_samples++] = (bb_batch_sample){b, t, nt, g->slices[k], ns, g->groups[k], nr == ns ? g->rtts[k] : NULL};
    }
}

static int fill_answers(const cJSON *const *rows, size_t n, char **cells)
{
    answer_group g = {0};
    char *done = calloc(n + 1, 1), **group = calloc(n + 1, sizeof *group);
    g.row = malloc(sizeof *g.row * (n + 1)), g.sample = malloc(sizeof *g.sample * (n + 1));
    g.s = malloc(sizeof *g.s * (n + 1)), g.times = malloc(sizeof *g.times * (n + 1));
    g.slices = malloc(sizeof *g.slices * (n + 1)), g.groups = malloc(sizeof *g.groups * (n + 1));
    g.rtts = malloc(sizeof *g.rtts * (n + 1));
    g.oom = !done || !group || !g.row || !g.sample || !g.s || !g.times || !g.slices || !g.groups || !g.rtts ||
            identity_cells(rows, n, cells, group) != 0;
    for (size_t i = 0; !g.oom && i < n; i++) {
        if (done[i])
            continue;
        gather_group(rows, group, n, i, done, &g);
        bb_recommendation r;
        int answerable = !g.oom && !g.dup && g.n_samples > 0 && g.n_samples <= BB_RECOMMEND_MAX;
        if (answerable && (bb_recommend(g.s, g.n_samples, BB_TIE_MARGIN_DEFAULT, &r) != 0 ||
                           answer_cells(&g, &r, cells) != 0))
            g.oom = 1; /* the input is checked: only memory can fail */
        for (int k = 0; k < g.n_samples; k++)
            free(g.times[k]), free(g.slices[k]), free(g.rtts[k]);
    }
    for (size_t i = 0; group && i < n; i++)
        free(group[i]);
    free(done), free(group), free(g.row), free(g.sample), free(g.s), free(g.times), free(g.slices), free(g.groups);
    free(g.rtts);
    return g.oom ? -1 : 0;
}

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
    static const bb_csv_computed answers = {answer_cols, N_ANSWER, fill_answers};
    return bb_csv_summary_write_computed(dir, &spec, &answers, err);
}

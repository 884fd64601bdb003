/*
 * serve_json.c — the serving run's result file (serve_json.h); every field
 * is documented in docs/serve-schema.md.
 *
 * Why this file exists: the file's layout lives in one place, written by
 * the shared conventions of util/json_out.h (tool, created_utc, exact
 * integers, non-finite numbers as null, the atomic write) and the
 * environment block every result file carries (env/env.h).
 */
#include "serve/serve_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backends/backend_options.h"
#include "results/result_identity.h"
#include "util/json_out.h"

/* ---- the name -------------------------------------------------------------------- */

static void number_part(char *dst, size_t len, double v)
{
    char b[64];
    snprintf(b, sizeof b, "%.15g", v);
    bb_json_sanitise(dst, len, b);
}

/* The rest of a run's identity (threads, duration, seed, drain, SLO,
 * warm-up, non-default backend options) as 8 hex digits: runs that differ
 * in any of them never share a file. */
static void rest_hash(const bb_serve_cfg *c, char out[9])
{
    char opts[256], key[640];
    bb_opt_identity(&c->config->options, bb_config_device(c->config), opts, sizeof opts);
    snprintf(key, sizeof key, "threads=%d;duration=%.17g;seed=%llu;drain=%.17g;slo=%.17g;warmup=%d;options=%s%s%s",
             c->config->threads, c->duration_s, (unsigned long long)c->seed, c->drain_s, c->slo_s, c->warmup, opts,
             c->model_sha256 ? ";model_sha256=" : "", c->model_sha256 ? c->model_sha256 : "");
    bb_identity_hash(key, out);
}

void bb_serve_filename(const bb_serve_cfg *c, const char *host, char *name, size_t len)
{
    char h[128], model[128], rate[64], timeout[64], rest[9];
    bb_precision p = c->config->precision;
    bb_json_sanitise(h, sizeof h, host);
    bb_json_sanitise(model, sizeof model, c->g->model);
    number_part(rate, sizeof rate, c->rate);
    number_part(timeout, sizeof timeout, c->timeout_s * 1e3);
    rest_hash(c, rest);
    snprintf(name, len, "serve-%s-%s-model_name-%s-rate-%s-max_batch-%d-timeout_ms-%s%s%s%s-%s.json", h,
             bb_config_device(c->config), model, rate, c->max_batch, timeout,
             c->arrivals == BB_ARRIVALS_UNIFORM ? "-uniform" : "", p != BB_PREC_FP32 ? "-" : "",
             p != BB_PREC_FP32 ? bb_precision_name(p) : "", rest);
}

/* ---- pieces ------------------------------------------------------------------------ */

static double or_null(int present, double v)
{
    return present ? v : NAN;
}

static int add_null(cJSON *o, const char *key)
{
    return cJSON_AddNullToObject(o, key) != NULL;
}

/* The reals v[0..n-1] as an array ([] for n = 0). */
static cJSON *reals(const double *v, int64_t n)
{
    return bb_json_reals(v, (int)n);
}

/* A percentile summary: {"n","mean_s","p50_s","p90_s","p95_s","p99_s","max_s","min_s"}. */
static cJSON *dist_json(const bb_serve_dist *d)
{
    cJSON *o = cJSON_CreateObject();
    int k = d->n > 0;
    return bb_json_done(o, o && bb_json_int(o, "n", d->n) && bb_json_num(o, "mean_s", or_null(k, d->mean)) &&
                               bb_json_num(o, "p50_s", or_null(k, d->p50)) && bb_json_num(o, "p90_s", or_null(k, d->p90)) &&
                               bb_json_num(o, "p95_s", or_null(k, d->p95)) && bb_json_num(o, "p99_s", or_null(k, d->p99)) &&
                               bb_json_num(o, "max_s", or_null(k, d->max)) && bb_json_num(o, "min_s", or_null(k, d->min)));
}

static cJSON *sizes_json(const bb_serve_result *res)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < res->n_sizes; i++)
        ok = cJSON_AddItemToArray(a, cJSON_CreateNumber((double)res->sizes[i]));
    return bb_json_done(a, ok);
}

static cJSON *config_json(const bb_serve_cfg *c, const bb_serve_result *res, const bb_env *env)
{
    char opts[512];
    const bb_run_config *rc = c->config;
    bb_opt_identity(&rc->options, bb_config_device(rc), opts, sizeof opts);
    cJSON *o = cJSON_CreateObject();
    int imported = c->g->family == BB_FAMILY_IMPORTED;
    int ok = o && bb_json_str(o, "model", c->g->model) && bb_json_str(o, "family", bb_family_name(c->g->family)) &&
             bb_json_str(o, "head", imported ? "graph" : bb_head_name(c->g->head)) &&
             (!c->model_file || (bb_json_str(o, "model_file", c->model_file) &&
                                 bb_json_str(o, "model_sha256", c->model_sha256))) &&
             bb_json_str(o, "device", bb_config_device(rc)) &&
             bb_json_str(o, "precision", bb_precision_name(rc->precision)) &&
             bb_json_int(o, "threads", env->threads_used) && bb_json_str(o, "backend_options", opts) &&
             bb_json_num(o, "rate", c->rate) && bb_json_int(o, "max_batch", c->max_batch) &&
             bb_json_num(o, "timeout_ms", c->timeout_s * 1e3) && bb_json_num(o, "duration_s", c->duration_s) &&
             bb_json_str(o, "arrivals", c->arrivals == BB_ARRIVALS_UNIFORM ? "uniform" : "poisson") &&
             bb_json_u64(o, "seed", c->seed) &&
             (c->slo_s > 0 ? bb_json_num(o, "slo_ms", c->slo_s * 1e3) : add_null(o, "slo_ms")) &&
             bb_json_num(o, "drain_s", c->drain_s) && bb_json_obj(o, "prepared_sizes", sizes_json(res)) &&
             cJSON_AddBoolToObject(o, "padding", c->max_batch > BB_BATCHER_ALL_SIZES_MAX) &&
             bb_json_int(o, "warmup", c->warmup) && bb_json_num(o, "lead_s", res->t0_lead_s);
    return bb_json_done(o, ok);
}

static cJSON *prepared_one(const bb_serve_prepared *p)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "batch_size", p->size) && bb_json_int(o, "weight_bytes", p->weight_bytes) &&
                               bb_json_int(o, "arena_bytes", p->arena_bytes) &&
                               bb_json_int(o, "workspace_bytes", p->workspace_bytes) &&
                               bb_json_int(o, "total_bytes", p->weight_bytes + p->arena_bytes + p->workspace_bytes) &&
                               bb_json_num(o, "prepare_s", p->prepare_s) && bb_json_num(o, "warmup_s", p->warmup_s) &&
                               bb_json_str(o, "math_mode", p->math_mode));
}

static cJSON *prepared_json(const bb_serve_result *res)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < res->n_sizes; i++) {
        cJSON *p = prepared_one(&res->prepared[i]);
        ok = p && cJSON_AddItemToArray(a, p);
        if (p && !ok)
            cJSON_Delete(p);
    }
    return bb_json_done(a, ok);
}

/* ---- results ----------------------------------------------------------------------- */

static cJSON *stats_json(const bb_serve_result *res, const bb_serve_summary *s)
{
    const bb_serve_dist *d = &s->latency;
    int k = d->n > 0;
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_num(o, "p50_s", or_null(k, d->p50)) && bb_json_num(o, "p90_s", or_null(k, d->p90)) &&
                               bb_json_num(o, "p95_s", or_null(k, d->p95)) && bb_json_num(o, "p99_s", or_null(k, d->p99)) &&
                               bb_json_num(o, "max_s", or_null(k, d->max)) && bb_json_num(o, "mean_s", or_null(k, d->mean)) &&
                               bb_json_num(o, "min_s", or_null(k, d->min)) &&
                               bb_json_int(o, "n_scheduled", res->n_scheduled) && bb_json_int(o, "n_served", res->n_served) &&
                               bb_json_int(o, "n_dropped", res->n_dropped) &&
                               (s->n_late >= 0 ? bb_json_int(o, "n_late", s->n_late) : add_null(o, "n_late")));
}

static cJSON *throughput_json(const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s)
{
    int k = s->achieved_per_s > 0;
    double span = res->n_batches ? res->batches[res->n_batches - 1].end - res->arrival[0] : NAN;
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_num(o, "offered_per_s", c->rate) &&
                               bb_json_num(o, "achieved_per_s", or_null(k, s->achieved_per_s)) &&
                               bb_json_num(o, "span_s", span));
}

static cJSON *histogram_json(const bb_serve_summary *s, int max_batch)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int n = 1; ok && n <= max_batch; n++) {
        char key[16];
        snprintf(key, sizeof key, "%d", n);
        ok = !s->histogram[n] || bb_json_int(o, key, s->histogram[n]);
    }
    return bb_json_done(o, ok);
}

/* One column of the batches: field f of every batch (0 planned, 1 start,
 * 2 end, 3 n, 4 run_size). */
static cJSON *column(const bb_serve_result *res, int f)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int64_t i = 0; ok && i < res->n_batches; i++) {
        const bb_serve_batch *b = &res->batches[i];
        double v = f == 0 ? b->planned : f == 1 ? b->start : f == 2 ? b->end : f == 3 ? b->n : b->run_size;
        ok = cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
    }
    return bb_json_done(a, ok);
}

static cJSON *batches_json(const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "n_batches", res->n_batches) &&
                               bb_json_num(o, "mean_size", or_null(res->n_batches > 0, s->mean_size)) &&
                               bb_json_obj(o, "histogram", histogram_json(s, c->max_batch)) &&
                               bb_json_int(o, "padded_items", s->padded_items) &&
                               bb_json_obj(o, "service_s", dist_json(&s->service)) &&
                               bb_json_obj(o, "planned_start_s", column(res, 0)) &&
                               bb_json_obj(o, "start_s", column(res, 1)) && bb_json_obj(o, "end_s", column(res, 2)) &&
                               bb_json_obj(o, "n", column(res, 3)) && bb_json_obj(o, "run_size", column(res, 4)));
}

/* [[start, queue length], ...] at each dispatch. */
static cJSON *queue_json(const bb_serve_result *res)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int64_t i = 0; ok && i < res->n_batches; i++) {
        double pair[2] = {res->batches[i].start, (double)res->batches[i].queue};
        cJSON *p = cJSON_CreateDoubleArray(pair, 2);
        ok = p && cJSON_AddItemToArray(a, p);
        if (p && !ok)
            cJSON_Delete(p);
    }
    return bb_json_done(a, ok);
}

cJSON *bb_serve_to_json(const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s,
                        const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    return bb_json_done(o, o && bb_json_int(o, "schema_version", BB_SERVE_SCHEMA_VERSION) &&
                               bb_json_str(o, "kind", "batchbench-serve") && bb_json_obj(o, "tool", bb_json_tool()) &&
                               bb_json_created(o) && bb_json_str(o, "status", "ok") &&
                               bb_json_obj(o, "config", config_json(c, res, env)) &&
                               bb_json_obj(o, "environment", bb_env_to_json(env)) &&
                               bb_json_obj(o, "prepared", prepared_json(res)) &&
                               bb_json_obj(o, "stats", stats_json(res, s)) &&
                               bb_json_obj(o, "throughput", throughput_json(c, res, s)) &&
                               bb_json_obj(o, "batches", batches_json(c, res, s)) &&
                               bb_json_obj(o, "late_start_s", dist_json(&s->late_start)) &&
                               bb_json_obj(o, "queue", queue_json(res)) &&
                               bb_json_num(o, "run_s", res->run_s) &&
                               bb_json_obj(o, "arrivals_s", reals(res->arrival, res->n_scheduled)) &&
                               bb_json_obj(o, "latencies_s", reals(res->latency, res->n_served)));
}

int bb_serve_write(const char *dir, const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s,
                   const bb_env *env, char *path_out, size_t path_len, bb_err *err)
{
    char name[512];
    bb_serve_filename(c, env->host, name, sizeof name);
    cJSON *j = bb_serve_to_json(c, res, s, env);
    int rc = j ? bb_json_write(dir, name, j, path_out, path_len, err)
               : bb_err_oom(err, "%s/%s: out of memory encoding the result", dir, name);
    cJSON_Delete(j);
    return rc;
}

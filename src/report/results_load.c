/*
 * results_load.c — result folders into one table (results_load.h).
 *
 * Why this file exists: it is the reading side the charts and the report
 * share. It accepts exactly the schema of docs/result-schema.md (version 1,
 * a config object, a batch size, a status, finite times), recomputes the
 * statistics from the raw times, and turns everything it cannot use into a
 * counted, named warning instead of a silently thinner chart.
 */
#include "report/results_load.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "models/zoo.h"
#include "report/plan_check.h"
#include "report/time_view.h"
#include "results/result.h"

#define MAX_FILE_BYTES ((long)64 << 20) /* a result file is a few KB */

/* ---- reading one file ------------------------------------------------------ */

static char *read_file(const char *path, bb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bb_err_set(err, "cannot read: %s", strerror(errno));
        return NULL;
    }
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *buf = n >= 0 && n <= MAX_FILE_BYTES && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf)
        bb_err_set(err, "cannot read (too large, I/O error or out of memory)");
    else
        buf[n] = '\0';
    return buf;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Copies the string o[key] into dst, or def when absent or not a string. */
static void get_str(const cJSON *o, const char *key, char *dst, size_t len, const char *def)
{
    const cJSON *v = get(o, key);
    snprintf(dst, len, "%s", cJSON_IsString(v) && v->valuestring ? v->valuestring : def);
}

static double get_num(const cJSON *o, const char *key, double def)
{
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* o[key] as an integer (truncated) when it is a number in [lo, hi], else
 * def: casting a double out of range is undefined behaviour. */
static int64_t get_int(const cJSON *o, const char *key, int64_t def, double lo, double hi)
{
    double v = get_num(o, key, NAN);
    return v >= lo && v <= hi ? (int64_t)v : def;
}

/* Checks the parts every use of a row depends on. */
static int check_shape(const cJSON *j, bb_err *err)
{
    const cJSON *cfg = get(j, "config"), *model = get(cfg, "model"), *bs = get(cfg, "batch_size");
    const cJSON *status = get(j, "status"), *times = get(j, "times_s");
    if (!cJSON_IsObject(j))
        return bb_err_set(err, "not valid JSON");
    if (get_num(j, "schema_version", -1) != 1)
        return bb_err_set(err, "not a schema_version 1 batchbench result");
    if (!cJSON_IsObject(cfg) || !cJSON_IsString(model) || !cJSON_IsNumber(bs) || bs->valuedouble < 1 ||
        bs->valuedouble > 1e9 || bs->valuedouble != floor(bs->valuedouble))
        return bb_err_set(err, "no config with a model and a positive integer batch_size");
    if (!cJSON_IsString(status) || !cJSON_IsArray(times))
        return bb_err_set(err, "no status or no times_s array");
    if (strcmp(status->valuestring, "ok") == 0 && cJSON_GetArraySize(times) < 1)
        return bb_err_set(err, "status ok but times_s is empty");
    return 0;
}

/* times_s into st and the per-item values; -1 on a bad time. */
static int row_stats(bb_row *r, const cJSON *times, bb_err *err)
{
    int n = cJSON_GetArraySize(times);
    if (n < 1)
        return 0;
    double *x = malloc(sizeof *x * (size_t)n);
    if (!x)
        return bb_err_oom(err, "out of memory");
    int i = 0, rc = 0;
    for (const cJSON *v = times->child; v; v = v->next, i++)
        x[i] = cJSON_IsNumber(v) && v->valuedouble > 0 ? v->valuedouble : NAN;
    if (bb_stats_compute(x, n, &r->st) != 0)
        rc = bb_err_set(err, "times_s holds a value that is not a positive number");
    if (rc)
        return free(x), rc;
    r->times_s = x, r->n_times = n;
    double bs = (double)r->batch_size;
    r->has_stats = 1;
    r->per_item_s = r->st.median / bs, r->p5_item_s = r->st.p5 / bs, r->p95_item_s = r->st.p95 / bs;
    r->items_per_s = bs / r->st.median, r->latency_s = r->st.median;
    r->gflops = 2.0 * (double)r->macs_per_item * bs / r->st.median / 1e9;
    double ss = 0;
    r->mean_item_s = r->st.mean / bs;
    for (int k = 0; k < n; k++)
        ss += (x[k] / bs - r->mean_item_s) * (x[k] / bs - r->mean_item_s);
    r->std_item_s = sqrt(ss / n); /* numpy's std: divisor n (ddof 0), as the seed's plot_time.py */
    return 0;
}

static void row_config(bb_row *r, const cJSON *j)
{
    const cJSON *cfg = get(j, "config");
    get_str(cfg, "model", r->model, sizeof r->model, "unknown");
    get_str(cfg, "model_sha256", r->model_sha256, sizeof r->model_sha256, "");
    get_str(cfg, "family", r->family, sizeof r->family, "unknown");
    get_str(cfg, "head", r->head, sizeof r->head, "unknown");
    get_str(cfg, "device", r->device, sizeof r->device, "unknown");
    get_str(cfg, "engine", r->engine, sizeof r->engine, "unknown");
    get_str(cfg, "precision", r->precision, sizeof r->precision, "unknown");
    r->batch_size = get_int(cfg, "batch_size", 1, 1, 9e18);
    r->threads = (int)get_int(cfg, "threads", 0, 0, INT_MAX);
    get_str(cfg, "preset", r->preset, sizeof r->preset, "");
    get_str(j, "status", r->status, sizeof r->status, "unknown");
    get_str(j, "message", r->message, sizeof r->message, "");
    r->macs_per_item = get_int(get(j, "model"), "macs_per_item", 0, 0, 9e18);
}

static int get_bool(const cJSON *o, const char *key, int def)
{
    const cJSON *v = get(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The "noise" and "measurement" objects; absent (older files): defaults. */
static void row_quality(bb_row *r, const cJSON *j)
{
    const cJSON *noise = get(j, "noise"), *m = get(j, "measurement");
    r->disturbed = get_bool(noise, "disturbed", 0);
    get_str(noise, "disturbed_why", r->disturbed_why, sizeof r->disturbed_why, "");
    get_str(m, "stop_reason", r->stop_reason, sizeof r->stop_reason, "");
    r->ci_half_width = get_num(m, "ci_half_width", NAN);
    r->interleaved = get_bool(m, "interleaved", -1);
    get_str(m, "interleave_fallback", r->interleave_fallback, sizeof r->interleave_fallback, "");
    const cJSON *e = get(j, "energy");
    r->energy_state = e ? get_bool(e, "available", 0) : -1;
    r->joules_per_item = r->energy_state == 1 ? get_num(e, "joules_per_item", NAN) : NAN;
    get_str(e, r->energy_state == 1 ? "source" : "why", r->energy_why, sizeof r->energy_why, "");
}

/* The setup a row belongs to, with the environment of its file; the row's
 * sweep and plan key. */
static void row_setup(bb_row *r, const cJSON *j, bb_setup *s)
{
    const cJSON *env = get(j, "environment");
    memset(s, 0, sizeof *s);
    snprintf(s->engine, sizeof s->engine, "%s", r->engine);
    snprintf(s->device, sizeof s->device, "%s", r->device);
    snprintf(s->precision, sizeof s->precision, "%s", r->precision);
    snprintf(s->head, sizeof s->head, "%s", bb_identity_setup_head(r->head)); /* "graph" runs with "features" */
    get_str(env, "host", s->host, sizeof s->host, "unknown");
    get_str(get(env, "gpu"), "name", s->gpu, sizeof s->gpu, "");
    get_str(get(j, "config"), "sweep", r->sweep, sizeof r->sweep, "");
    get_str(env, "cpu_model", s->cpu_model, sizeof s->cpu_model, "unknown");
    get_str(env, "os", s->os, sizeof s->os, "unknown");
    get_str(env, "kernel", s->kernel, sizeof s->kernel, "unknown");
    get_str(env, "compiler", s->compiler, sizeof s->compiler, "unknown");
    get_str(env, "onednn", s->onednn, sizeof s->onednn, "unknown");
    get_str(env, "batchbench_version", s->version, sizeof s->version, "unknown");
    get_str(env, "git_commit", s->commit, sizeof s->commit, "unknown");
    s->threads = r->threads;
    s->cores = (int)get_int(env, "cores_logical", 0, 0, INT_MAX);
    s->peak_gflops = get_num(env, "peak_gflops", 0);
    get_str(env, "peak_source", s->peak_source, sizeof s->peak_source, "");
    bb_identity id;
    if (bb_identity_of_json(j, &id) == 0) {
        bb_identity_plan_key(&id, r->plan_key, sizeof r->plan_key);
        if (r->sweep[0]) /* one sharded sweep, one setup: whichever nodes ran it */
            snprintf(id.host, sizeof id.host, "sweep:%s", r->sweep);
        bb_identity_setup_key(&id, s->key, sizeof s->key);
        s->idle_s = (double)id.idle_us / 1e6;
        id.idle_us = 0;
        bb_identity_setup_key(&id, s->back_to_back_key, sizeof s->back_to_back_key);
        snprintf(s->input, sizeof s->input, "%s", id.input);
        snprintf(s->options, sizeof s->options, "%s", id.options);
    }
}

/* Parses path into *r and its setup into *s; -1 (message in err) if unusable. */
static int parse_file(const char *path, bb_row *r, bb_setup *s, bb_err *err)
{
    char *text = read_file(path, err);
    if (!text)
        return -1;
    cJSON *j = cJSON_Parse(text);
    free(text);
    memset(r, 0, sizeof *r);
    int rc = check_shape(j, err);
    if (rc == 0) {
        row_config(r, j);
        row_quality(r, j);
        rc = row_stats(r, get(j, "times_s"), err);
        row_setup(r, j, s);
    }
    if (rc == 0 && (bb_result_rounds_of_json(j, &r->slice_batches, &r->n_slices, r->round_group,
                                             sizeof r->round_group) < 0 ||
                    bb_result_slice_rtt_of_json(j, &r->slice_rtt, &r->n_rtt) < 0)) {
        free(r->times_s), free(r->slice_batches), r->times_s = NULL, r->slice_batches = NULL;
        rc = bb_err_oom(err, "out of memory reading '%s'", path);
    }
    cJSON_Delete(j);
    return rc;
}

/* ---- the table --------------------------------------------------------------- */

static int same_setup(const bb_setup *a, const bb_setup *b)
{
    return !strcmp(a->key, b->key);
}

/* A sharded sweep's setup lists every host that ran part of it. */
static void add_host(bb_setup *to, const char *host)
{
    size_t n = strlen(host), len = strlen(to->host);
    if (!n) /* a result without a host adds none (and strstr finds "" everywhere: the fuzzer's endless loop) */
        return;
    for (const char *p = to->host; (p = strstr(p, host)) != NULL; p += n)
        if ((p == to->host || p[-1] == '+') && (p[n] == '\0' || p[n] == '+'))
            return;
    if (len + 1 + n < sizeof to->host) {
        to->host[len] = '+';
        memcpy(to->host + len + 1, host, n + 1);
    }
}

/* Index of s in t->setups, appended when new; -1 on OOM. */
static int setup_index(bb_table *t, const bb_setup *s)
{
    for (int i = 0; i < t->n_setups; i++)
        if (same_setup(&t->setups[i], s))
            return add_host(&t->setups[i], s->host), i;
    bb_setup *ns = realloc(t->setups, sizeof *ns * (size_t)(t->n_setups + 1));
    if (!ns)
        return -1;
    t->setups = ns;
    ns[t->n_setups] = *s;
    return t->n_setups++;
}

static int push_row(bb_table *t, const bb_row *r)
{
    bb_row *nr = realloc(t->rows, sizeof *nr * (size_t)(t->n_rows + 1));
    if (!nr)
        return -1;
    t->rows = nr;
    nr[t->n_rows++] = *r;
    return 0;
}

static void warn_failed(const bb_row *r, FILE *warn)
{
    if (warn)
        fprintf(warn, "batchbench: warning: %s: status %s%s%s%s, marked \"%s\" in the charts\n", r->path, r->status,
                r->message[0] ? " (" : "", r->message, r->message[0] ? ")" : "", r->status);
}

/* Records "<path>: <why>" in t->skipped and on warn; -1 on OOM. */
int bb_table_skip(bb_table *t, FILE *warn, const char *path, const char *why)
{
    if (warn)
        fprintf(warn, "batchbench: warning: %s: %s, skipped\n", path, why);
    size_t n = strlen(path) + strlen(why) + 3;
    char **ns = realloc(t->skipped, sizeof *ns * (size_t)(t->n_skipped + 1));
    if (!ns)
        return -1;
    t->skipped = ns;
    if (!(ns[t->n_skipped] = malloc(n)))
        return -1;
    snprintf(ns[t->n_skipped++], n, "%s: %s", path, why);
    return 0;
}

/* An earlier row of r's configuration: setup, model (its file too), batch size. */
static const bb_row *find_same(const bb_table *t, const bb_row *r)
{
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *o = &t->rows[i];
        if (o->setup == r->setup && o->batch_size == r->batch_size && !strcmp(o->model, r->model) &&
            !strcmp(o->model_sha256, r->model_sha256))
            return o;
    }
    return NULL;
}

/* Adds the file at path to t (or counts and announces why not). */
static int load_one(bb_table *t, char *path, FILE *warn, bb_err *err)
{
    bb_row r;
    bb_setup s;
    bb_err e = {0};
    t->n_files++;
    if (parse_file(path, &r, &s, &e) != 0) {
        int rc = e.oom || bb_table_skip(t, warn, path, e.msg) != 0 ? bb_err_oom(err, "out of memory reading '%s'", path)
                                                              : 0;
        t->n_corrupt += !e.oom;
        free(path);
        return rc;
    }
    r.path = path;
    if ((r.setup = setup_index(t, &s)) < 0)
        return free(path), free(r.times_s), free(r.slice_batches), free(r.slice_rtt), bb_err_oom(err, "out of memory");
    const bb_row *dup = find_same(t, &r);
    if (dup) {
        char why[1200];
        snprintf(why, sizeof why, "same configuration as %.1100s", dup->path);
        int rc = bb_table_skip(t, warn, path, why) != 0 ? bb_err_oom(err, "out of memory") : 0;
        t->n_duplicate++;
        free(path), free(r.times_s), free(r.slice_batches), free(r.slice_rtt);
        return rc;
    }
    if (push_row(t, &r) != 0)
        return free(path), free(r.times_s), free(r.slice_batches), free(r.slice_rtt), bb_err_oom(err, "out of memory");
    if (strcmp(r.status, "ok") != 0) {
        t->n_failed++;
        warn_failed(&r, warn);
    }
    return 0;
}

static int is_result_file(const struct dirent *e)
{
    const char *prefix = "inference_time-", *suffix = ".json";
    size_t n = strlen(e->d_name), p = strlen(prefix), s = strlen(suffix);
    return n > p + s && strncmp(e->d_name, prefix, p) == 0 && strcmp(e->d_name + n - s, suffix) == 0;
}

static int load_dir(bb_table *t, const char *dir, FILE *warn, bb_err *err)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_result_file, alphasort);
    if (n < 0)
        return bb_err_set(err, "cannot read directory '%s': %s", dir, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
        char *path = rc == 0 ? malloc(len) : NULL;
        if (rc == 0 && !path)
            rc = bb_err_oom(err, "out of memory reading '%s'", dir);
        if (path) {
            snprintf(path, len, "%s/%s", dir, names[i]->d_name);
            rc = load_one(t, path, warn, err);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ---- batch sizes, models and what is missing ---------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The zoo's position of a model; unknown models after all known ones. */
static int zoo_rank(const char *model)
{
    for (int i = 0; i < bb_zoo_count(); i++)
        if (strcmp(bb_zoo_at(i)->name, model) == 0)
            return i;
    return bb_zoo_count();
}

int bb_model_order(const char *x, const char *y)
{
    int rx = zoo_rank(x), ry = zoo_rank(y);
    return rx != ry ? (rx > ry) - (rx < ry) : strcmp(x, y);
}

static int cmp_model(const void *a, const void *b)
{
    return bb_model_order(a, b);
}

/* Fills s->batches and s->models from the rows of setup si. */
static int index_setup(bb_table *t, int si)
{
    bb_setup *s = &t->setups[si];
    s->batches = malloc(sizeof *s->batches * (size_t)t->n_rows);
    s->models = malloc(sizeof *s->models * (size_t)t->n_rows);
    if (!s->batches || !s->models)
        return -1;
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        int hb = 0, hm = 0;
        for (int k = 0; r->setup == si && k < s->n_batches; k++)
            hb |= s->batches[k] == r->batch_size;
        for (int k = 0; r->setup == si && k < s->n_models; k++)
            hm |= strcmp(s->models[k], r->model) == 0;
        if (r->setup == si && !hb)
            s->batches[s->n_batches++] = r->batch_size;
        if (r->setup == si && !hm)
            snprintf(s->models[s->n_models++], sizeof s->models[0], "%s", r->model);
    }
    qsort(s->batches, (size_t)s->n_batches, sizeof *s->batches, cmp_i64);
    qsort(s->models, (size_t)s->n_models, sizeof *s->models, cmp_model);
    return 0;
}

/* Names the file a missing configuration would have, next to its siblings. */
static void warn_missing(const bb_table *t, int si, const char *model, int64_t bs, FILE *warn)
{
    const bb_setup *s = &t->setups[si];
    const bb_row *sib = NULL;
    for (int i = 0; i < t->n_rows && !sib; i++)
        if (t->rows[i].setup == si && strcmp(t->rows[i].model, model) == 0)
            sib = &t->rows[i];
    bb_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.model, sizeof r.model, "%s", model);
    snprintf(r.device, sizeof r.device, "%s", s->device);
    r.batch_size = bs;
    char *name = bb_result_filename(&r, s->host);
    const char *slash = sib ? strrchr(sib->path, '/') : NULL;
    int dir_len = slash ? (int)(slash - sib->path) : 1;
    fprintf(warn, "batchbench: warning: %.*s/%s: no result for %s at batch size %lld, marked \"missing\" in the charts\n",
            dir_len, slash ? sib->path : ".", name ? name : "?", model, (long long)bs);
    free(name);
}

static void count_missing(bb_table *t, FILE *warn)
{
    for (int si = 0; si < t->n_setups; si++) {
        const bb_setup *s = &t->setups[si];
        for (int m = 0; m < s->n_models; m++)
            for (int b = 0; b < s->n_batches; b++)
                if (!bb_table_find(t, si, s->models[m], s->batches[b])) {
                    t->n_missing++;
                    if (warn)
                        warn_missing(t, si, s->models[m], s->batches[b], warn);
                }
    }
}

/* Two files of one base name (different hashes) are two models: each row of
 * such a name becomes "<name>@<8 hex>". */
static void label_models(bb_table *t)
{
    char *clash = calloc((size_t)t->n_rows + 1, 1);
    for (int i = 0; clash && i < t->n_rows; i++)
        for (int k = i + 1; k < t->n_rows; k++)
            if (!strcmp(t->rows[i].model, t->rows[k].model) &&
                strcmp(t->rows[i].model_sha256, t->rows[k].model_sha256))
                clash[i] = clash[k] = 1;
    for (int i = 0; clash && i < t->n_rows; i++)
        if (clash[i]) {
            bb_row *r = &t->rows[i];
            char label[sizeof r->model];
            bb_table_model_label(NULL, r->model, r->model_sha256, label, sizeof label);
            snprintf(r->model, sizeof r->model, "%s", label);
        }
    free(clash);
}

void bb_table_model_label(const bb_table *t, const char *model, const char *sha256, char *buf, size_t len)
{
    char label[BB_MODEL_NAME_LEN];
    int keep = (int)sizeof label - 10; /* room for "@" and 8 hex digits */
    snprintf(label, sizeof label, "%.*s@%.8s", keep, model, sha256[0] ? sha256 : "zoo");
    int labelled = !t;
    for (int i = 0; t && i < t->n_rows && !labelled; i++)
        labelled = !strcmp(t->rows[i].model, label);
    snprintf(buf, len, "%s", labelled ? label : model);
}

/* Setups measured after an idle time (run --idle-ms) after all others, by
 * idle time (stable otherwise): the first setup, whose charts carry no
 * suffix and against which the others are compared, is a back-to-back one
 * whenever there is one, whatever order the files were found in. 0, or -1
 * on OOM. */
static int order_setups(bb_table *t)
{
    int n = t->n_setups, k = 0;
    bb_setup *sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    int *to = malloc(sizeof *to * (size_t)(n > 0 ? n : 1)); /* old index -> new */
    if (!sorted || !to)
        return free(sorted), free(to), -1;
    for (int i = 0; i < n; i++)
        to[i] = -1;
    while (k < n) { /* the next: the smallest idle time not yet placed, first found first */
        int best = -1;
        for (int i = 0; i < n; i++)
            if (to[i] < 0 && (best < 0 || t->setups[i].idle_s < t->setups[best].idle_s))
                best = i;
        sorted[k] = t->setups[best], to[best] = k++;
    }
    for (int i = 0; i < t->n_rows; i++)
        t->rows[i].setup = to[t->rows[i].setup];
    free(t->setups), free(to);
    t->setups = sorted;
    return 0;
}

/* ---- public ---------------------------------------------------------------- */

int bb_table_load(bb_table *t, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err)
{
    memset(t, 0, sizeof *t);
    t->margin = BB_TIE_MARGIN_DEFAULT;
    for (int i = 0; i < n_dirs; i++)
        if (load_dir(t, dirs[i], warn, err) != 0)
            return bb_table_free(t), -1;
    label_models(t);
    if (order_setups(t) != 0)
        return bb_table_free(t), bb_err_oom(err, "out of memory");
    for (int i = 0; i < t->n_setups; i++)
        if (index_setup(t, i) != 0)
            return bb_table_free(t), bb_err_oom(err, "out of memory");
    count_missing(t, warn);
    if (bb_plan_check(t, dirs, n_dirs, warn, err) != 0)
        return bb_table_free(t), -1;
    bb_table_default_view(t);
    return 0;
}

void bb_table_free(bb_table *t)
{
    for (int i = 0; i < t->n_rows; i++)
        free(t->rows[i].path), free(t->rows[i].times_s), free(t->rows[i].slice_batches), free(t->rows[i].slice_rtt);
    for (int i = 0; i < t->n_setups; i++) {
        free(t->setups[i].batches);
        free(t->setups[i].models);
    }
    for (int i = 0; i < t->n_skipped; i++)
        free(t->skipped[i]);
    free(t->skipped);
    for (int i = 0; i < t->n_plan_missing; i++)
        free(t->plan_missing[i]);
    free(t->plan_missing);
    free(t->rows);
    free(t->setups);
    memset(t, 0, sizeof *t);
}

int bb_table_incomplete(const bb_table *t)
{
    return t->n_corrupt + t->n_duplicate + t->n_failed + t->n_missing + t->n_plan_missing > 0;
}

const bb_row *bb_table_find(const bb_table *t, int setup, const char *model, int64_t batch)
{
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (r->setup == setup && r->batch_size == batch && strcmp(r->model, model) == 0)
            return r;
    }
    return NULL;
}

const bb_row *bb_table_ok(const bb_table *t, int setup, const char *model, int64_t batch)
{
    const bb_row *r = bb_table_find(t, setup, model, batch);
    return r && r->has_stats && strcmp(r->status, "ok") == 0 ? r : NULL;
}

const char *bb_table_state(const bb_table *t, int setup, const char *model, int64_t batch)
{
    const bb_row *r = bb_table_find(t, setup, model, batch);
    if (!r)
        return "missing";
    return strcmp(r->status, "ok") == 0 && !r->has_stats ? "no data" : r->status;
}

const char *bb_table_family(const bb_table *t, int setup, const char *model)
{
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].setup == setup && strcmp(t->rows[i].model, model) == 0)
            return t->rows[i].family;
    return "";
}

int bb_table_core_rtt(const bb_table *t, int setup, double *median, double *lo, double *hi, int *far, int *n)
{
    *n = *far = 0;
    for (int i = 0; i < t->n_rows; i++)
        *n += t->rows[i].setup == setup ? t->rows[i].n_rtt : 0;
    double *x = *n ? malloc(sizeof *x * (size_t)*n) : NULL;
    if (*n && !x)
        return -1;
    *n = 0;
    for (int i = 0; x && i < t->n_rows; i++)
        for (int k = 0; t->rows[i].setup == setup && k < t->rows[i].n_rtt; k++)
            if (t->rows[i].slice_rtt[k] > 0)
                x[(*n)++] = t->rows[i].slice_rtt[k];
    bb_stats st;
    int rc = *n == 0 ? 1 : bb_stats_compute(x, *n, &st) != 0 ? -1 : 0;
    if (rc == 0)
        *median = st.median, *lo = st.min, *hi = st.max;
    for (int k = 0; rc == 0 && k < *n; k++)
        *far += x[k] >= BB_ROUNDS_FAR_RTT * st.min;
    free(x);
    return rc;
}

int bb_table_recommend(const bb_table *t, int setup, const char *model, bb_recommendation *out)
{
    memset(out, 0, sizeof *out);
    if (setup < 0 || setup >= t->n_setups)
        return 1;
    const bb_setup *s = &t->setups[setup];
    bb_batch_sample x[BB_RECOMMEND_MAX];
    int n = 0;
    for (int b = 0; b < s->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (r && n == BB_RECOMMEND_MAX)
            return -1;
        if (r)
            x[n++] = (bb_batch_sample){r->batch_size, r->times_s,       r->n_times,
                                       r->slice_batches, r->n_slices, r->round_group,
                                       r->n_rtt == r->n_slices ? r->slice_rtt : NULL};
    }
    return n == 0 ? 1 : bb_recommend(x, n, t->margin, out);
}

void bb_setup_label(const bb_setup *s, char *buf, size_t len)
{
    int fp32 = strcmp(s->precision, "fp32") == 0, feat = strcmp(s->head, "features") == 0;
    int rnd = !s->input[0] || strcmp(s->input, "random") == 0;
    snprintf(buf, len, "%s on %s%s%s%s%s%s%s%s%s, host %s, %d thread%s", s->engine, s->device, fp32 ? "" : " ",
             fp32 ? "" : s->precision, feat ? "" : ", head ", feat ? "" : s->head, rnd ? "" : ", input ",
             rnd ? "" : s->input, s->options[0] ? ", " : "", s->options, s->host, s->threads, s->threads == 1 ? "" : "s");
    size_t n = strlen(buf);
    if (s->idle_s > 0 && n < len)
        snprintf(buf + n, len - n, ", idle %.10g ms before each batch", s->idle_s * 1e3);
}

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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/stats.h"
#include "util/version.h"
#include "util/atomic_file.h"

#define READ_LIMIT ((size_t)1 << 30) /* refuse result files over 1 GiB */

/* ---- file names ---------------------------------------------------------- */

/* Copies src into dst keeping [A-Za-z0-9._-], anything else becomes '_'. */
static void sanitise(char *dst, size_t len, const char *src)
{
    if (!src || !*src)
        src = "unknown";
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++) {
        char c = src[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                   c == '_' || c == '-';
        dst[i] = keep ? c : '_';
    }
    dst[i] = '\0';
}

char *bb_result_filename(const bb_result *r, const char *host)
{
    char h[128], d[sizeof r->device], m[sizeof r->model];
    sanitise(h, sizeof h, host);
    sanitise(d, sizeof d, r->device);
    sanitise(m, sizeof m, r->model);
    const char *fmt = r->pipeline ? "pipeline-%s-%s-model_name-%s-batch_size-%" PRId64 "-workers-%d.json"
                                  : "inference_time-%s-%s-model_name-%s-batch_size-%" PRId64 ".json";
    int w = r->pipeline ? r->pipeline->workers : 0;
    int n = snprintf(NULL, 0, fmt, h, d, m, r->batch_size, w);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, h, d, m, r->batch_size, w);
    return s;
}

/* "<dir>/<name>", malloc'd. */
static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- JSON ---------------------------------------------------------------- */

/* Integers are written as exact decimal text (no double rounding). */
static int put_int(cJSON *o, const char *key, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, v);
    return cJSON_AddRawToObject(o, key, b) != NULL;
}

static int put_u64(cJSON *o, const char *key, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRIu64, v);
    return cJSON_AddRawToObject(o, key, b) != NULL;
}

static int put_num(cJSON *o, const char *key, double v)
{
    return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static int put_str(cJSON *o, const char *key, const char *v)
{
    return cJSON_AddStringToObject(o, key, v) != NULL;
}

/* Adds child to o under key; on NULL child (or failure) returns 0. */
static int put_obj(cJSON *o, const char *key, cJSON *child)
{
    if (!child)
        return 0;
    if (!cJSON_AddItemToObject(o, key, child)) {
        cJSON_Delete(child);
        return 0;
    }
    return 1;
}

static cJSON *tool_json(void)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !(put_str(o, "name", "batchbench") && put_str(o, "version", BB_VERSION) &&
               put_str(o, "git_commit", bb_env_git_commit())))
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *config_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && put_str(o, "model", r->model) && put_str(o, "family", r->family) && put_str(o, "head", r->head) &&
             put_str(o, "device", r->device) && put_str(o, "engine", r->engine) &&
             put_str(o, "precision", r->precision) && put_str(o, "math_mode", r->math_mode) &&
             put_str(o, "input_source", r->input_source) &&
             put_str(o, "data_dir", r->data_dir) && put_int(o, "batch_size", r->batch_size) &&
             put_int(o, "warmup", r->warmup) && put_int(o, "reps", r->reps) &&
             put_num(o, "min_time_s", r->min_time_s) && put_num(o, "max_time_s", r->max_time_s) &&
             put_int(o, "threads", r->threads) && put_u64(o, "seed", r->seed);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *model_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && put_int(o, "params", r->params) && put_int(o, "macs_per_item", r->macs_per_item) &&
             put_num(o, "gmac_per_item", (double)r->macs_per_item / 1e9) &&
             put_int(o, "feature_dim", r->feature_dim) && put_int(o, "weight_bytes", r->weight_bytes) &&
             put_int(o, "activation_bytes", r->activation_bytes);
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
    int ok = o && put_int(o, "n", s.n) && put_num(o, "median_s", s.median) && put_num(o, "mean_s", s.mean) &&
             put_num(o, "std_s", s.std) && put_num(o, "min_s", s.min) && put_num(o, "max_s", s.max) &&
             put_num(o, "p5_s", s.p5) && put_num(o, "p95_s", s.p95) && put_num(o, "ci95_median_lo_s", s.ci_lo) &&
             put_num(o, "ci95_median_hi_s", s.ci_hi) && put_num(o, "cv", s.cv) &&
             put_num(o, "per_item_median_s", s.median / bs) && put_num(o, "items_per_s", bs / s.median) &&
             put_num(o, "gflops", 2.0 * (double)r->macs_per_item * bs / s.median / 1e9);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *times_json(const double *t, int n)
{
    return n <= 0 ? cJSON_CreateArray() : cJSON_CreateDoubleArray(t, n);
}

static cJSON *memory_json(const bb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && put_int(o, "weight_bytes", r->mem_weight_bytes) && put_int(o, "arena_bytes", r->mem_arena_bytes) &&
             put_int(o, "workspace_bytes", r->mem_workspace_bytes) &&
             put_int(o, "peak_bytes", r->mem_weight_bytes + r->mem_arena_bytes + r->mem_workspace_bytes);
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *pipeline_json(const bb_pipeline_info *p)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && put_int(o, "workers", p->workers) && put_int(o, "prefetch", p->prefetch) &&
             put_str(o, "mode", p->mode) && put_num(o, "first_result_s", p->first_result_s) &&
             put_num(o, "measured_wall_s", p->measured_wall_s) && put_num(o, "items_per_s", p->items_per_s) &&
             put_num(o, "wait_fraction", p->wait_fraction) && put_int(o, "skipped", p->skipped) &&
             put_obj(o, "waits_s", times_json(p->waits_s, p->n_waits));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static int put_created(cJSON *o)
{
    char b[32];
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(b, sizeof b, "unknown");
    return put_str(o, "created_utc", b);
}

cJSON *bb_result_to_json(const bb_result *r, const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && put_int(o, "schema_version", BB_RESULT_SCHEMA_VERSION) && put_obj(o, "tool", tool_json()) &&
             put_created(o) && put_str(o, "status", r->status) && put_str(o, "message", r->message) &&
             put_obj(o, "config", config_json(r)) &&
             put_obj(o, "environment", env ? bb_env_to_json(env) : cJSON_CreateNull()) &&
             put_obj(o, "model", model_json(r)) && put_num(o, "prepare_s", r->prepare_s) &&
             put_obj(o, "memory", memory_json(r)) &&
             (r->n_times < 1 || put_obj(o, "stats", stats_json(r))) &&
             put_obj(o, "times_s", times_json(r->times_s, r->n_times)) &&
             put_obj(o, "input_copy_s", times_json(r->input_copy_s, r->n_input_copy)) &&
             (!r->pipeline || put_obj(o, "pipeline", pipeline_json(r->pipeline)));
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

/* ---- atomic writes ------------------------------------------------------- */

/* Removes tmp and reports the failure; always returns -1. */
/* text + '\n', written atomically. */
static int write_text(const char *path, const char *text, const char *what, bb_err *err)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    if (!buf)
        return bb_err_oom(err, "out of memory writing %s '%s'", what, path);
    memcpy(buf, text, n);
    buf[n] = '\n';
    int rc = bb_write_atomic(path, buf, n + 1, what, err);
    free(buf);
    return rc;
}

int bb_result_write(const char *dir, const bb_result *r, const bb_env *env, char *path_out, size_t path_len,
                    bb_err *err)
{
    char *name = bb_result_filename(r, env ? env->host : NULL);
    char *path = name ? join_path(dir, name) : NULL;
    free(name);
    if (!path)
        return bb_err_oom(err, "out of memory naming the result file in '%s'", dir);
    int rc = 0;
    if (path_out && strlen(path) >= path_len)
        rc = bb_err_set(err, "result path too long: '%s'", path);
    cJSON *j = rc == 0 ? bb_result_to_json(r, env) : NULL;
    char *text = j ? cJSON_Print(j) : NULL;
    if (rc == 0 && !text)
        rc = bb_err_oom(err, "%s: could not encode the result (out of memory or a non-finite time)", path);
    if (rc == 0)
        rc = write_text(path, text, "result file", err);
    if (rc == 0 && path_out)
        snprintf(path_out, path_len, "%s", path);
    cJSON_free(text);
    cJSON_Delete(j);
    free(path);
    return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
static char *read_text(const char *path, bb_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bb_err_set(err, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 65536;
    char *buf = malloc(cap);
    errno = 0;
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) /* end of file, or an error */
            break;
        char *nb = cap * 2 <= READ_LIMIT ? realloc(buf, cap * 2) : NULL;
        if (!nb)
            free(buf);
        buf = nb, cap *= 2;
    }
    int ioerr = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (!buf || ioerr) {
        bb_err_set(err, "cannot read '%s': %s", path, buf ? strerror(ioerr) : "too large or out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Parses a result file; checks it is a schema-1 result object. */
static cJSON *read_result(const char *path, bb_err *err)
{
    char *text = read_text(path, err);
    if (!text)
        return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "schema_version");
    if (!j)
        bb_err_set(err, "'%s': not valid JSON", path);
    else if (!cJSON_IsObject(j) || !cJSON_IsNumber(v))
        bb_err_set(err, "'%s': not a batchbench result (no schema_version)", path);
    else if (v->valuedouble != BB_RESULT_SCHEMA_VERSION)
        bb_err_set(err, "'%s': unsupported schema_version %g (expected %d)", path, v->valuedouble,
                   BB_RESULT_SCHEMA_VERSION);
    else
        return j;
    cJSON_Delete(j);
    return NULL;
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

typedef struct {
    const char *column;
    const char *section; /* NULL: top level */
    const char *key;
    char kind;           /* 'f' file name, 's' string, 'i' integer, 'r' real */
} csv_col;

static const csv_col csv_cols[] = {
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
#define N_CSV_COLS (sizeof csv_cols / sizeof *csv_cols)

typedef struct {
    char *file;
    cJSON *json;
} csv_row;

static const cJSON *field(const cJSON *j, const char *section, const char *key)
{
    const cJSON *o = section ? cJSON_GetObjectItemCaseSensitive(j, section) : j;
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int cmp_rows(const void *a, const void *b)
{
    const csv_row *x = a, *y = b;
    const cJSON *mx = field(x->json, "config", "model"), *my = field(y->json, "config", "model");
    int c = strcmp(cJSON_IsString(mx) ? mx->valuestring : "", cJSON_IsString(my) ? my->valuestring : "");
    if (c)
        return c;
    const cJSON *bx = field(x->json, "config", "batch_size"), *by = field(y->json, "config", "batch_size");
    double u = cJSON_IsNumber(bx) ? bx->valuedouble : 0, v = cJSON_IsNumber(by) ? by->valuedouble : 0;
    return u != v ? (u > v) - (u < v) : strcmp(x->file, y->file);
}

/* A CSV field: quoted (quotes doubled) when it holds , " or a line break. */
static void csv_string(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_value(FILE *f, const csv_row *r, const csv_col *c)
{
    const cJSON *v = c->kind == 'f' ? NULL : field(r->json, c->section, c->key);
    if (c->kind == 'f')
        csv_string(f, r->file);
    else if (c->kind == 's' && cJSON_IsString(v))
        csv_string(f, v->valuestring);
    else if (c->kind == 'i' && cJSON_IsNumber(v))
        fprintf(f, "%.0f", v->valuedouble);
    else if (c->kind == 'r' && cJSON_IsNumber(v))
        fprintf(f, "%.10g", v->valuedouble);
}

/* The whole CSV as one malloc'd string (NULL on OOM). */
static char *csv_text(const csv_row *rows, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (size_t c = 0; c < N_CSV_COLS; c++)
        fprintf(f, "%s%s", c ? "," : "", csv_cols[c].column);
    for (size_t i = 0; i < n; i++) {
        fputc('\n', f);
        for (size_t c = 0; c < N_CSV_COLS; c++) {
            if (c)
                fputc(',', f);
            csv_value(f, &rows[i], &csv_cols[c]);
        }
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

static int is_result_name(const char *name)
{
    const char *prefix = "inference_time-", *suffix = ".json";
    size_t n = strlen(name), p = strlen(prefix), s = strlen(suffix);
    return n > p + s && strncmp(name, prefix, p) == 0 && strcmp(name + n - s, suffix) == 0;
}

/* Parses one candidate file into rows[*n]; warns and skips a bad one. */
static void load_row(const char *dir, const char *name, csv_row *rows, size_t *n)
{
    bb_err e = {0};
    char *path = join_path(dir, name);
    cJSON *j = path ? read_result(path, &e) : NULL;
    const cJSON *cfg = field(j, NULL, "config");
    if (j && !cJSON_IsObject(cfg)) {
        bb_err_set(&e, "'%s': not a batchbench result (no config)", path);
        cJSON_Delete(j), j = NULL;
    }
    rows[*n].file = j ? strdup(name) : NULL;
    if (j && rows[*n].file)
        rows[*n].json = j, (*n)++;
    else if (j)
        cJSON_Delete(j);
    else
        fprintf(stderr, "batchbench: warning: %s, skipped\n", path ? e.msg : "out of memory");
    free(path);
}

/* Loads every result file of dir; rows malloc'd into *out. */
static int load_rows(const char *dir, csv_row **out, size_t *n, bb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bb_err_set(err, "cannot read directory '%s': %s", dir, strerror(errno));
    size_t cap = 0;
    *out = NULL, *n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_result_name(e->d_name))
            continue;
        if (*n == cap) {
            csv_row *nr = realloc(*out, sizeof **out * (cap ? cap * 2 : 16));
            if (!nr) {
                closedir(d);
                return bb_err_oom(err, "out of memory reading '%s'", dir);
            }
            *out = nr, cap = cap ? cap * 2 : 16;
        }
        load_row(dir, e->d_name, *out, n);
    }
    closedir(d);
    return 0;
}

static void free_rows(csv_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].file);
        cJSON_Delete(rows[i].json);
    }
    free(rows);
}

int bb_summary_csv_write(const char *dir, bb_err *err)
{
    csv_row *rows = NULL;
    size_t n = 0;
    int rc = load_rows(dir, &rows, &n, err);
    if (rc == 0 && n > 1)
        qsort(rows, n, sizeof *rows, cmp_rows);
    char *text = rc == 0 ? csv_text(rows, n) : NULL;
    char *path = rc == 0 ? join_path(dir, "summary.csv") : NULL;
    if (rc == 0 && (!text || !path))
        rc = bb_err_oom(err, "out of memory writing '%s/summary.csv'", dir);
    if (rc == 0)
        rc = write_text(path, text, "summary", err);
    free(path);
    free(text);
    free_rows(rows, n);
    return rc;
}

/*
 * dataload_file.c — the data-loading result files and their summary.csv
 * (dataload.h).
 *
 * Why this file exists: it is the only code that knows the dataload schema
 * (docs/dataload-schema.md), so the writer and the CSV cannot drift apart.
 * Conventions are the inference results' (report/result.c): schema_version,
 * tool, created_utc, status and message, exact integers, non-finite reals
 * as null, every file written atomically (util/atomic_file.h).
 */
#include "bench/dataload.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/stats.h"
#include "util/atomic_file.h"
#include "util/version.h"

#define READ_LIMIT ((long)64 << 20) /* a result file is far smaller */

/* ---- names ----------------------------------------------------------------- */

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

char *bb_dl_filename(const bb_dl_record *r, const char *host)
{
    char h[128], k[sizeof r->kind], m[sizeof r->mode];
    sanitise(h, sizeof h, host);
    sanitise(k, sizeof k, r->kind);
    sanitise(m, sizeof m, r->mode);
    const char *fmt = "dataload-%s-%s-mode-%s-batch_size-%" PRId64 "-workers-%d-sleep-%g.json";
    int n = snprintf(NULL, 0, fmt, h, k, m, r->batch_size, r->workers, r->sleep_s);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, h, k, m, r->batch_size, r->workers, r->sleep_s);
    return s;
}

/* ---- JSON ------------------------------------------------------------------ */

static int put_int(cJSON *o, const char *key, int64_t v)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, v);
    return cJSON_AddRawToObject(o, key, b) != NULL;
}

static int put_num(cJSON *o, const char *key, double v)
{
    return cJSON_AddNumberToObject(o, key, v) != NULL; /* cJSON writes inf/nan as null */
}

static int put_str(cJSON *o, const char *key, const char *v)
{
    return cJSON_AddStringToObject(o, key, v) != NULL;
}

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

static cJSON *done(cJSON *o, int ok)
{
    if (o && !ok)
        cJSON_Delete(o), o = NULL;
    return o;
}

static cJSON *tool_json(void)
{
    cJSON *o = cJSON_CreateObject();
    return done(o, o && put_str(o, "name", "batchbench") && put_str(o, "version", BB_VERSION) &&
                       put_str(o, "git_commit", bb_env_git_commit()));
}

static cJSON *config_json(const bb_dl_record *r)
{
    cJSON *o = cJSON_CreateObject();
    return done(o, o && put_str(o, "data_dir", r->data_dir) && put_str(o, "kind", r->kind) &&
                       put_str(o, "mode", r->mode) && put_int(o, "batch_size", r->batch_size) &&
                       put_int(o, "workers", r->workers) && put_int(o, "prefetch", r->prefetch) &&
                       put_num(o, "sleep_s", r->sleep_s) && put_int(o, "batches", r->batches) &&
                       put_int(o, "dct_scale", r->dct_scale));
}

static cJSON *data_json(const bb_dl_record *r)
{
    cJSON *o = cJSON_CreateObject();
    return done(o, o && put_int(o, "items", r->items) && put_num(o, "mean_item_bytes", r->mean_item_bytes));
}

/* Statistics of the waits after the first (the first includes start-up). */
static cJSON *stats_json(const bb_dl_record *r)
{
    bb_stats s;
    if (bb_stats_compute(r->waits_s + 1, r->n_waits - 1, &s) != 0)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    return done(o, o && put_int(o, "n", s.n) && put_num(o, "median_s", s.median) && put_num(o, "mean_s", s.mean) &&
                       put_num(o, "std_s", s.std) && put_num(o, "min_s", s.min) && put_num(o, "max_s", s.max) &&
                       put_num(o, "p5_s", s.p5) && put_num(o, "p95_s", s.p95) &&
                       put_num(o, "ci95_median_lo_s", s.ci_lo) && put_num(o, "ci95_median_hi_s", s.ci_hi) &&
                       put_num(o, "cv", s.cv));
}

static cJSON *array_json(const double *v, int n)
{
    return n <= 0 ? cJSON_CreateArray() : cJSON_CreateDoubleArray(v, n);
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

/* The derived figures: rates over the whole configuration's wall time. */
static int put_rates(cJSON *o, const bb_dl_record *r)
{
    double waited = 0.0, items = (double)r->n_waits * (double)r->batch_size;
    for (int i = 0; i < r->n_waits; i++)
        waited += r->waits_s[i];
    return put_num(o, "first_wait_s", r->n_waits > 0 ? r->waits_s[0] : 0.0) &&
           (r->n_waits < 2 || put_obj(o, "stats", stats_json(r))) && put_num(o, "wait_total_s", waited) &&
           put_num(o, "open_s", r->open_s) && put_num(o, "total_s", r->total_s) && put_num(o, "wait_fraction", waited / r->total_s) &&
           put_num(o, "items_per_s", items / r->total_s) && put_int(o, "bytes", r->bytes) &&
           put_num(o, "mb_per_s", (double)r->bytes / 1e6 / r->total_s) && put_num(o, "cpu_s", r->cpu_s) &&
           put_int(o, "skipped", r->skipped);
}

cJSON *bb_dl_to_json(const bb_dl_record *r, const bb_env *env)
{
    cJSON *o = cJSON_CreateObject();
    return done(o, o && put_int(o, "schema_version", BB_DL_SCHEMA_VERSION) && put_obj(o, "tool", tool_json()) &&
                       put_created(o) && put_str(o, "status", r->status) && put_str(o, "message", r->message) &&
                       put_obj(o, "config", config_json(r)) &&
                       put_obj(o, "environment", env ? bb_env_to_json(env) : cJSON_CreateNull()) &&
                       put_obj(o, "data", data_json(r)) && put_obj(o, "waits_s", array_json(r->waits_s, r->n_waits)) &&
                       put_obj(o, "load_s", array_json(r->load_s, r->n_waits)) && put_rates(o, r));
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* text + '\n', atomically. */
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

int bb_dl_write(const char *dir, const bb_dl_record *r, const bb_env *env, char *path_out, size_t path_len,
                bb_err *err)
{
    char *name = bb_dl_filename(r, env ? env->host : NULL);
    char *path = name ? join_path(dir, name) : NULL;
    free(name);
    if (!path)
        return bb_err_oom(err, "out of memory naming the result file in '%s'", dir);
    cJSON *j = bb_dl_to_json(r, env);
    char *text = j ? cJSON_Print(j) : NULL;
    int rc = text ? write_text(path, text, "result file", err) : bb_err_oom(err, "%s: could not encode", path);
    if (rc == 0 && path_out)
        snprintf(path_out, path_len, "%s", path);
    cJSON_free(text);
    cJSON_Delete(j);
    free(path);
    return rc;
}

/* ---- summary.csv ------------------------------------------------------------ */

typedef struct {
    const char *column, *section, *key; /* section NULL: top level */
    char kind;                          /* 's' string, 'r' real */
} csv_col;

static const csv_col cols[] = {
    {"kind", "config", "kind", 's'},          {"mode", "config", "mode", 's'},
    {"batch_size", "config", "batch_size", 'r'}, {"workers", "config", "workers", 'r'},
    {"prefetch", "config", "prefetch", 'r'},  {"sleep_s", "config", "sleep_s", 'r'},
    {"batches", "config", "batches", 'r'},    {"status", NULL, "status", 's'},
    {"first_wait_s", NULL, "first_wait_s", 'r'}, {"median_wait_s", "stats", "median_s", 'r'},
    {"mean_wait_s", "stats", "mean_s", 'r'},  {"p95_wait_s", "stats", "p95_s", 'r'},
    {"max_wait_s", "stats", "max_s", 'r'},    {"wait_fraction", NULL, "wait_fraction", 'r'},
    {"total_s", NULL, "total_s", 'r'},        {"items_per_s", NULL, "items_per_s", 'r'},
    {"mb_per_s", NULL, "mb_per_s", 'r'},      {"cpu_s", NULL, "cpu_s", 'r'},
    {"skipped", NULL, "skipped", 'r'},
};
#define N_COLS (sizeof cols / sizeof *cols)

typedef struct {
    char *file;
    cJSON *json;
} row;

static const cJSON *field(const cJSON *j, const char *section, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(section ? cJSON_GetObjectItemCaseSensitive(j, section) : j, key);
}

static double num(const row *r, const char *section, const char *key)
{
    const cJSON *v = field(r->json, section, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static int cmp_rows(const void *a, const void *b)
{
    const row *x = a, *y = b;
    static const char *const order[][2] = {{"config", "sleep_s"}, {"config", "batch_size"}, {"config", "workers"}};
    const cJSON *kx = field(x->json, "config", "kind"), *ky = field(y->json, "config", "kind");
    const cJSON *mx = field(x->json, "config", "mode"), *my = field(y->json, "config", "mode");
    int c = strcmp(cJSON_IsString(kx) ? kx->valuestring : "", cJSON_IsString(ky) ? ky->valuestring : "");
    if (!c)
        c = strcmp(cJSON_IsString(mx) ? mx->valuestring : "", cJSON_IsString(my) ? my->valuestring : "");
    for (int i = 0; i < 3 && !c; i++) {
        double u = num(x, order[i][0], order[i][1]), v = num(y, order[i][0], order[i][1]);
        c = (u > v) - (u < v);
    }
    return c ? c : strcmp(x->file, y->file);
}

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

static char *csv_text(const row *rows, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("file", f);
    for (size_t c = 0; c < N_COLS; c++)
        fprintf(f, ",%s", cols[c].column);
    for (size_t i = 0; i < n; i++) {
        fputc('\n', f);
        csv_string(f, rows[i].file);
        for (size_t c = 0; c < N_COLS; c++) {
            const cJSON *v = field(rows[i].json, cols[c].section, cols[c].key);
            fputc(',', f);
            if (cols[c].kind == 's' && cJSON_IsString(v))
                csv_string(f, v->valuestring);
            else if (cols[c].kind == 'r' && cJSON_IsNumber(v))
                fprintf(f, "%.10g", v->valuedouble);
        }
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

/* A dataload result file, parsed; NULL (and a warning) if it is not one. */
static cJSON *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long len = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *text = len >= 0 && len < READ_LIMIT && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len + 1) : NULL;
    if (text)
        text[fread(text, 1, (size_t)len, f)] = '\0';
    if (f)
        fclose(f);
    int readable = text != NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "schema_version");
    if (cJSON_IsNumber(v) && v->valuedouble == BB_DL_SCHEMA_VERSION && cJSON_IsObject(field(j, NULL, "config")))
        return j;
    fprintf(stderr, "batchbench: warning: '%s': %s, skipped\n", path,
            !readable ? "cannot read" : !j ? "not valid JSON" : "not a dataload result (schema_version 1)");
    cJSON_Delete(j);
    return NULL;
}

static int is_dl_name(const char *name)
{
    size_t n = strlen(name);
    return n > 14 && strncmp(name, "dataload-", 9) == 0 && strcmp(name + n - 5, ".json") == 0;
}

static int load_rows(const char *dir, row **out, size_t *n, bb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bb_err_set(err, "cannot read directory '%s': %s", dir, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        if (!is_dl_name(e->d_name))
            continue;
        if (*n == cap) {
            row *nr = realloc(*out, sizeof **out * (cap ? cap * 2 : 16));
            if (!nr) {
                rc = bb_err_oom(err, "out of memory reading '%s'", dir);
                break;
            }
            *out = nr, cap = cap ? cap * 2 : 16;
        }
        char *path = join_path(dir, e->d_name);
        cJSON *j = path ? read_file(path) : NULL;
        char *file = j ? strdup(e->d_name) : NULL;
        if (file)
            (*out)[(*n)++] = (row){file, j};
        else
            cJSON_Delete(j);
        free(path);
    }
    closedir(d);
    return rc;
}

int bb_dl_summary_write(const char *dir, bb_err *err)
{
    row *rows = NULL;
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
    for (size_t i = 0; i < n; i++)
        free(rows[i].file), cJSON_Delete(rows[i].json);
    free(rows);
    return rc;
}

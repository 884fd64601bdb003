/*
 * summary_csv.c — one table of a folder's result files (summary_csv.h).
 *
 * Why this file exists: it is the one CSV writer behind every summary.csv
 * (reading the files, ordering the rows, quoting, the atomic write), so
 * the inference and data-loading tables follow the same rules.
 */
#include "results/summary_csv.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_out.h"

#define READ_LIMIT ((size_t)1 << 30) /* refuse result files over 1 GiB */

typedef struct {
    char *file;
    cJSON *json;
} csv_row;

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

cJSON *bb_json_read_checked(const char *path, int schema_version, const char *what, bb_err *err)
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
        bb_err_set(err, "'%s': not a batchbench %s (no schema_version)", path, what);
    else if (v->valuedouble != schema_version)
        bb_err_set(err, "'%s': unsupported schema_version %g (expected %d)", path, v->valuedouble, schema_version);
    else
        return j;
    cJSON_Delete(j);
    return NULL;
}

const cJSON *bb_json_field(const cJSON *j, const char *section, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(section ? cJSON_GetObjectItemCaseSensitive(j, section) : j, key);
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

static void csv_value(FILE *f, const csv_row *r, const bb_csv_col *c)
{
    const cJSON *v = c->kind == 'f' ? NULL : bb_json_field(r->json, c->section, c->key);
    if (c->kind == 'f')
        csv_string(f, r->file);
    else if (c->kind == 's' && cJSON_IsString(v))
        csv_string(f, v->valuestring);
    else if (c->kind == 'i' && cJSON_IsNumber(v))
        fprintf(f, "%.0f", v->valuedouble);
    else if (c->kind == 'r' && cJSON_IsNumber(v))
        fprintf(f, "%.10g", v->valuedouble);
    else if (c->kind == 'b' && cJSON_IsBool(v))
        fputc(cJSON_IsTrue(v) ? '1' : '0', f);
}

/* The computed cells of every row (NULL entries: empty); *cells NULL when
 * there are none. -1 on OOM. */
static int computed_cells(const bb_csv_computed *cc, const csv_row *rows, size_t n, char ***cells)
{
    *cells = NULL;
    if (!cc || cc->n_columns == 0)
        return 0;
    const cJSON **json = malloc(sizeof *json * (n ? n : 1));
    *cells = calloc(n * cc->n_columns + 1, sizeof **cells);
    for (size_t i = 0; json && i < n; i++)
        json[i] = rows[i].json;
    int rc = json && *cells ? cc->fill(json, n, *cells) : -1;
    free(json);
    return rc;
}

static void free_cells(char **cells, size_t n)
{
    for (size_t i = 0; cells && i < n; i++)
        free(cells[i]);
    free(cells);
}

/* The whole CSV as one malloc'd string (NULL on OOM); cells: the computed
 * columns' values (see computed_cells), or NULL. */
static char *csv_text(const bb_csv_spec *spec, const bb_csv_computed *cc, char **cells, const csv_row *rows,
                      size_t n)
{
    char *text = NULL;
    size_t len = 0;
    size_t nc = cells ? cc->n_columns : 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (size_t c = 0; c < spec->n_cols; c++)
        fprintf(f, "%s%s", c ? "," : "", spec->cols[c].column);
    for (size_t c = 0; c < nc; c++)
        fprintf(f, ",%s", cc->columns[c]);
    for (size_t i = 0; i < n; i++) {
        fputc('\n', f);
        for (size_t c = 0; c < spec->n_cols; c++) {
            if (c)
                fputc(',', f);
            csv_value(f, &rows[i], &spec->cols[c]);
        }
        for (size_t c = 0; c < nc; c++) {
            fputc(',', f);
            if (cells[i * nc + c])
                csv_string(f, cells[i * nc + c]);
        }
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

static int is_name(const bb_csv_spec *spec, const char *name)
{
    size_t n = strlen(name), p = strlen(spec->prefix);
    return n > p + 5 && strncmp(name, spec->prefix, p) == 0 && strcmp(name + n - 5, ".json") == 0;
}

/* Parses one candidate file into rows[*n]; warns and skips a bad one. */
static void load_row(const bb_csv_spec *spec, const char *dir, const char *name, csv_row *rows, size_t *n)
{
    bb_err e = {0};
    char *path = bb_path_join(dir, name);
    cJSON *j = path ? bb_json_read_checked(path, spec->schema_version, spec->what, &e) : NULL;
    if (j && !cJSON_IsObject(bb_json_field(j, NULL, "config"))) {
        bb_err_set(&e, "'%s': not a batchbench %s (no config)", path, spec->what);
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

static int load_rows(const bb_csv_spec *spec, const char *dir, csv_row **out, size_t *n, bb_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bb_err_set(err, "cannot read directory '%s': %s", dir, strerror(errno));
    size_t cap = 0;
    *out = NULL, *n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!is_name(spec, e->d_name))
            continue;
        if (*n == cap) {
            csv_row *nr = realloc(*out, sizeof **out * (cap ? cap * 2 : 16));
            if (!nr) {
                closedir(d);
                return bb_err_oom(err, "out of memory reading '%s'", dir);
            }
            *out = nr, cap = cap ? cap * 2 : 16;
        }
        load_row(spec, dir, e->d_name, *out, n);
    }
    closedir(d);
    return 0;
}

/* Insertion sort (folders hold hundreds of files at most): qsort has no
 * context argument for the spec's order. */
static void sort_rows(const bb_csv_spec *spec, csv_row *rows, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        csv_row r = rows[i];
        size_t k = i;
        for (; k > 0; k--) {
            int c = spec->cmp ? spec->cmp(rows[k - 1].json, r.json) : 0;
            if (c < 0 || (c == 0 && strcmp(rows[k - 1].file, r.file) <= 0))
                break;
            rows[k] = rows[k - 1];
        }
        rows[k] = r;
    }
}

int bb_csv_summary_write(const char *dir, const bb_csv_spec *spec, bb_err *err)
{
    return bb_csv_summary_write_computed(dir, spec, NULL, err);
}

int bb_csv_summary_write_computed(const char *dir, const bb_csv_spec *spec, const bb_csv_computed *computed,
                                  bb_err *err)
{
    return bb_csv_summary_write_to(dir, "summary.csv", spec, computed, err);
}

int bb_csv_summary_write_to(const char *dir, const char *name, const bb_csv_spec *spec,
                            const bb_csv_computed *computed, bb_err *err)
{
    csv_row *rows = NULL;
    char **cells = NULL;
    size_t n = 0;
    int rc = load_rows(spec, dir, &rows, &n, err);
    if (rc == 0)
        sort_rows(spec, rows, n);
    if (rc == 0 && computed_cells(computed, rows, n, &cells) != 0)
        rc = bb_err_oom(err, "out of memory writing '%s/%s'", dir, name);
    char *text = rc == 0 ? csv_text(spec, computed, cells, rows, n) : NULL;
    char *path = rc == 0 ? bb_path_join(dir, name) : NULL;
    if (rc == 0 && (!text || !path))
        rc = bb_err_oom(err, "out of memory writing '%s/%s'", dir, name);
    if (rc == 0)
        rc = bb_write_text_line(path, text, "summary", err);
    free(path);
    free(text);
    free_cells(cells, computed ? n * computed->n_columns : 0);
    for (size_t i = 0; i < n; i++)
        free(rows[i].file), cJSON_Delete(rows[i].json);
    free(rows);
    return rc;
}

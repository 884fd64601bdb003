/*
 * summary_csv.h — summary.csv of a folder of result files: one row per
 * file of a kind (a name prefix and a schema version), the columns read
 * from the JSON by (section, key), rows in an order the kind defines.
 *
 * Why this file exists: the inference results (report/result.c) and the
 * data-loading results (bench/dataload_file.c) both tabulate their folder
 * the same way; only the columns and the order differ. A kind may add
 * computed columns, values no single file holds (e.g. the recommendation
 * of a row's model, worked out over all its batch sizes), through a hook
 * that sees every row at once.
 */
#ifndef BB_SUMMARY_CSV_H
#define BB_SUMMARY_CSV_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/error.h"

typedef struct {
    const char *column;
    const char *section; /* NULL: top level */
    const char *key;
    char kind;           /* 'f' file name, 's' string, 'i' integer, 'r' real, 'b' boolean (1/0) */
} bb_csv_col;

/* The columns every result table starts with: the file and what it measured. */
#define BB_CSV_CONFIG_COLUMNS                                                                                          \
    {"file", NULL, NULL, 'f'}, {"model", "config", "model", 's'}, {"family", "config", "family", 's'},              \
        {"head", "config", "head", 's'}, {"device", "config", "device", 's'}, {"engine", "config", "engine", 's'},   \
        {"precision", "config", "precision", 's'}, {"batch_size", "config", "batch_size", 'i'},                      \
        {"threads", "config", "threads", 'i'}

typedef struct {
    const char *prefix;          /* files "<prefix>*.json" */
    int schema_version;          /* files with another schema_version are skipped with a warning */
    const char *what;            /* "result", "dataload result": for warnings */
    const bb_csv_col *cols;
    size_t n_cols;
    /* row order (before the file name); NULL: by file name */
    int (*cmp)(const cJSON *a, const cJSON *b);
} bb_csv_spec;

/* Columns computed over the whole folder, after the spec's columns. fill
 * gets the parsed files in the CSV's row order and sets cells[i * n_columns
 * + c] (row i, column c) to malloc'd text, or leaves it NULL for an empty
 * field; it returns 0, or -1 when memory runs out. */
typedef struct {
    const char *const *columns;
    size_t n_columns;
    int (*fill)(const cJSON *const *rows, size_t n_rows, char **cells);
} bb_csv_computed;

/* Reads a JSON object file of at most 1 GiB and checks its schema_version;
 * NULL with a message naming the file. */
cJSON *bb_json_read_checked(const char *path, int schema_version, const char *what, bb_err *err);

/* (section, key) of j; section NULL: top level. */
const cJSON *bb_json_field(const cJSON *j, const char *section, const char *key);

/* Writes dir/summary.csv atomically; unreadable files are skipped with a
 * warning on stderr naming them. */
int bb_csv_summary_write(const char *dir, const bb_csv_spec *spec, bb_err *err);

/* The same with computed columns appended (computed NULL: none). */
int bb_csv_summary_write_computed(const char *dir, const bb_csv_spec *spec, const bb_csv_computed *computed,
                                  bb_err *err);

/* The same into dir/<name> instead of dir/summary.csv (e.g. the pipeline's
 * pipeline-summary.csv, which shares its folder with summary.csv). */
int bb_csv_summary_write_to(const char *dir, const char *name, const bb_csv_spec *spec,
                            const bb_csv_computed *computed, bb_err *err);

#endif

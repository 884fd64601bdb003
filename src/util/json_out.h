/*
 * json_out.h — the conventions every batchbench result file follows, in
 * one place: exact decimal integers, non-finite reals as null, the "tool"
 * and "created_utc" fields, file-name-safe parts, and the atomic write of
 * the pretty-printed object (util/atomic_file.h).
 *
 * Why this file exists: inference results (result.c) and data-loading
 * results (bench/dataload_file.c) are written by the same rules; readers
 * and the schema docs rely on them being identical.
 */
#ifndef BB_JSON_OUT_H
#define BB_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/error.h"

/* Copies src keeping [A-Za-z0-9._-]; anything else becomes '_'; empty or
 * NULL becomes "unknown". */
void bb_json_sanitise(char *dst, size_t len, const char *src);

/* Each adds one member and returns 1, or 0 on OOM. Integers are written as
 * exact decimal text (no rounding through a double); cJSON writes a
 * non-finite real as null. bb_json_obj takes child (NULL: returns 0). */
int bb_json_int(cJSON *o, const char *key, int64_t v);
int bb_json_u64(cJSON *o, const char *key, uint64_t v);
int bb_json_num(cJSON *o, const char *key, double v);
int bb_json_str(cJSON *o, const char *key, const char *v);
int bb_json_obj(cJSON *o, const char *key, cJSON *child);
/* o when ok, else frees it and returns NULL. */
cJSON *bb_json_done(cJSON *o, int ok);

cJSON *bb_json_tool(void);          /* {"name","version","git_commit"} */
int bb_json_created(cJSON *o);      /* "created_utc": "YYYY-MM-DDTHH:MM:SSZ" */
cJSON *bb_json_reals(const double *v, int n); /* array of n reals ([] for n <= 0) */

/* "<dir>/<name>", malloc'd (NULL on OOM). */
char *bb_path_join(const char *dir, const char *name);
/* text plus a newline, written to path atomically ("what" names it in errors). */
int bb_write_text_line(const char *path, const char *text, const char *what, bb_err *err);

/* Writes j pretty-printed plus a newline to dir/name atomically; the error
 * names the path; path_out (may be NULL) receives it. */
int bb_json_write(const char *dir, const char *name, const cJSON *j, char *path_out, size_t path_len, bb_err *err);

#endif

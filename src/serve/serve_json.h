/*
 * serve_json.h — the result file of a serving run (docs/serve-schema.md):
 * its name and its JSON, written atomically like every result file.
 *
 * Why this file exists: the report reads these files to set a real server
 * beside its simulation of one; the name and the fields are defined here
 * once, apart from the loop that measures them (serve.c).
 */
#ifndef BB_SERVE_JSON_H
#define BB_SERVE_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "env/env.h"
#include "serve/serve.h"
#include "util/error.h"

#define BB_SERVE_SCHEMA_VERSION 1

/* serve-<host>-<device>-model_name-<m>-rate-<R>-max_batch-<B>-timeout_ms-<T>[-uniform][-<precision>].json,
 * the precision only when it is not fp32; every part file-name safe. */
void bb_serve_filename(const bb_serve_cfg *c, const char *host, char *name, size_t len);

/* The whole file as a JSON object; NULL when memory runs out. */
cJSON *bb_serve_to_json(const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s,
                        const bb_env *env);

/* Writes it to dir/<bb_serve_filename> atomically; path_out receives the path. */
int bb_serve_write(const char *dir, const bb_serve_cfg *c, const bb_serve_result *res, const bb_serve_summary *s,
                   const bb_env *env, char *path_out, size_t path_len, bb_err *err);

#endif

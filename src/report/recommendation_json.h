/*
 * recommendation_json.h — recommendation.json: the answer per (setup,
 * model), for programs.
 *
 * Why this file exists: report.md says which batch size to use in
 * sentences; a deployment script or a dashboard wants the same answer as
 * data, with the evidence behind it (every batch size's time per item, its
 * ratio to the fastest with the 95% CI, the p-value, tied or not). It is
 * computed by the same function as the report (bb_table_recommend), so the
 * two never disagree. `batchbench report` writes it next to report.md.
 *
 * Shape (schema_version 1):
 *   {"schema_version": 1, "tool": {...}, "created_utc": "...",
 *    "recommendations": [
 *      {"model", "engine", "device", "precision", "head", "host", "threads",
 *       "best_batch", "tied_batches": [...], "recommended_batch",
 *       "knee_batch", "margin", "confidence": 0.95, "method", "sentence",
 *       "batches": [{"batch", "per_item_median_s", "ratio_vs_best",
 *                    "ci95_lo", "ci95_hi", "p_value", "tied"}, ...]},
 *      ...]}
 * One entry per (setup, model) with a usable result, setups in the table's
 * order, models in the zoo's order; batch sizes ascending.
 */
#ifndef BB_RECOMMENDATION_JSON_H
#define BB_RECOMMENDATION_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "report/results_load.h"
#include "util/error.h"

#define BB_RECOMMENDATION_SCHEMA_VERSION 1
#define BB_RECOMMENDATION_FILE "recommendation.json"

/* The whole document; NULL on OOM. */
cJSON *bb_recommendation_json(const bb_table *t);

/* Writes dir/recommendation.json atomically; path_out (may be NULL)
 * receives its path. */
int bb_recommendation_json_write(const bb_table *t, const char *dir, char *path_out, size_t path_len, bb_err *err);

#endif

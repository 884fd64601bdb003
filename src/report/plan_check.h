/*
 * plan_check.h — what a sharded sweep left undone, from its plan.
 *
 * Why this file exists: a shard of `run --shard I/N` that dies (a node
 * fails, Slurm cancels it, it runs out of time) leaves no result for its
 * unfinished configurations, and a folder alone cannot say what is absent
 * from it. Every shard writes plan-<sweep>.json, the whole sweep's
 * configurations (bench/shard.h); here each planned configuration is
 * looked up among the loaded rows of its sweep by plan key, and the ones
 * without an ok result are named (the report's "Not measured or skipped"
 * section, a warning each, and `report`'s exit code 3).
 */
#ifndef BB_PLAN_CHECK_H
#define BB_PLAN_CHECK_H

#include <stdio.h>

#include "report/results_load.h"
#include "util/error.h"

/* Reads the plan-*.json files of dirs into t->n_plans, t->n_planned and
 * t->plan_missing (after the rows are loaded). An unreadable plan is
 * skipped like a corrupt result. -1 only when a folder cannot be read or
 * memory runs out. */
int bb_plan_check(bb_table *t, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err);

#endif

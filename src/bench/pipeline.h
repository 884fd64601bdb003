/*
 * pipeline.h — the end-to-end answer the seed was after: loading overlapped
 * with real inference. For every (model, batch size, loader workers) the
 * data set is read by the worker pool (data/loader.h) while the model runs
 * on the CPU or GPU; the result says how many items per second came out,
 * how long the first result took, and how much of the time the device
 * waited for data.
 *
 * `batchbench run --data DIR --pipeline` runs it. Results are the inference
 * result schema plus a "pipeline" block, one file per configuration named
 * pipeline-<host>-<device>-model_name-<m>-batch_size-<b>-workers-<w>.json,
 * so they never mix with plain inference results in the same folder.
 */
#ifndef BB_PIPELINE_H
#define BB_PIPELINE_H

#include <stdio.h>

#include "bench/sweep.h"
#include "data/loader.h"

#define BB_PIPELINE_MAX_WORKERS 16

typedef struct {
    const bb_sweep_cfg *sweep;  /* models, batch sizes, warm-up, reps, device, data_dir, out_dir, stop, log */
    int workers[BB_PIPELINE_MAX_WORKERS];
    int n_workers;
    bb_load_mode mode;
    int prefetch;               /* 0 = 2 */
} bb_pipeline_cfg;

/* items/s of every configuration, for the table: [model][batch][workers];
 * < 0 where a configuration did not end ok. */
typedef struct {
    double items_per_s[BB_SWEEP_MAX][BB_SWEEP_MAX][BB_PIPELINE_MAX_WORKERS];
    double wait_fraction[BB_SWEEP_MAX][BB_SWEEP_MAX][BB_PIPELINE_MAX_WORKERS];
    int ok, failed, interrupted;
} bb_pipeline_result;

/* 0 done (some configurations may have failed: res->failed), -1 fatal
 * (message in err), with res->interrupted set when stopped by a signal. */
int bb_pipeline_run(const bb_pipeline_cfg *cfg, bb_pipeline_result *res, bb_err *err);

/* Per model: items/s over batch size x workers, the best cell marked. */
void bb_pipeline_print_table(FILE *f, const bb_pipeline_cfg *cfg, const bb_pipeline_result *res);

#endif

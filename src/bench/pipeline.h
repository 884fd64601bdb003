/*
 * pipeline.h — the end-to-end answer the seed was after: loading overlapped
 * with real inference. For every (model, batch size, loader workers) the
 * data set is read by the worker pool (data/loader.h) while the model runs
 * on the CPU or GPU; the result says how many items per second came out,
 * how long the first result took, and how much of the time the device
 * waited for data.
 *
 * `batchbench run --data DIR --pipeline` runs it through the same
 * per-configuration driver as the inference sweep (sweep.h: the walk over
 * models x batch sizes x worker counts, --resume, --mem-limit, --max-time,
 * --pause, SIGINT, each result written at once). This file is what differs:
 * where the batches come from (the loader over the data set, instead of one
 * batch in memory) and how a configuration is measured (a fixed --reps, one
 * configuration at a time, instead of measure.h's interleaved rounds).
 *
 * Results are the inference result schema plus a "pipeline" block, one file
 * per configuration named
 * pipeline-<host>-<device>-model_name-<m>-batch_size-<b>-workers-<w>.json
 * ("-procs" after the worker count for loader worker processes, --worker-kind
 * process: results/result_identity.h),
 * so they never mix with plain inference results in the same folder; their
 * table is pipeline-summary.csv, beside the inference results' summary.csv.
 */
#ifndef BB_PIPELINE_H
#define BB_PIPELINE_H

#include <stdio.h>

#include "bench/measure.h"
#include "bench/sweep.h"

/* Measures runs[0..n-1] of one model (graph g) in order, one at a time.
 * The model is prepared once per batch size and kept for its worker counts.
 * Per configuration: the loader started with its worker count; warm-up
 * batches until --warmup batches and --warmup-time seconds (from the
 * loader's start); then measured batches until --reps batches and
 * --min-time seconds. Every batch's wait for data is recorded, and the
 * forward time of the measured ones. --mem-limit counts the loader's batch
 * buffers with the prepared model ("oom"); past --max-time (from the
 * loader's start) the configuration is a "timeout". When *cfg->stop is set
 * it stops after the current batch, the rest marked "interrupted". Each
 * final configuration goes to c->on_done. */
void bb_pipeline_measure(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *runs, int n);

/* Writes dir/pipeline-summary.csv atomically: a header and one row per
 * parseable pipeline-*.json, sorted by (model, batch size, workers, file).
 * Columns: file,model,family,head,device,engine,precision,batch_size,
 * threads,workers,load_mode,worker_kind,prefetch,status,items_per_s,wait_fraction,
 * first_result_s,measured_wall_s,skipped,n,forward_median_s,
 * forward_per_item_median_s,forward_items_per_s,data_dir (empty where a
 * result lacks the value). Unreadable files are skipped with a warning. */
int bb_pipeline_summary_write(const char *dir, bb_err *err);

/* Per model: items/s over batch size x workers, the best cell marked. */
void bb_pipeline_print_table(FILE *f, const bb_sweep_cfg *cfg, const bb_sweep_result *res);

#endif

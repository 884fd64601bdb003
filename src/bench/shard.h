/*
 * shard.h — `run --shard I/N`: one part of a sweep, so that N processes on
 * N machines or GPUs together run every configuration exactly once.
 *
 * Why this file exists: a cluster (scripts/slurm/submit.sh) or a node's
 * GPUs (scripts/multi-gpu.sh) split one sweep between processes that do not
 * talk to each other. Each must compute the same partition on its own, so
 * the partition depends only on the sweep's options: every (model, batch
 * size) gets a cost from its MACs at a fixed nominal rate (the same on
 * every machine, unlike the sgemm calibration the progress line uses), and
 * configurations go, most expensive first, to the shard with the least cost
 * so far (ties: the lower shard). Balanced by cost, not round-robin.
 *
 * The shards of one sweep share a folder and an id, the sweep id: a hash of
 * the hardware (GPU model, or CPU model and threads) and of every planned
 * configuration's plan key (its identity without host and threads,
 * results/result_identity.h). Every shard writes the same plan-<sweep>.json
 * (the whole configuration list, with the shard and cost of each), so that
 * `report` can name what a failed shard left missing; each result records
 * config.sweep and config.shard. --resume in a shard counts a configuration
 * done when any node of the same sweep finished it: a resubmitted shard may
 * land on another node.
 */
#ifndef BB_SHARD_H
#define BB_SHARD_H

#include <stdio.h>

#include "bench/sweep.h"
#include "util/error.h"

#define BB_SHARD_MAX 1024
/* The nominal rates costs are computed at: only their ratios matter. */
#define BB_SHARD_CPU_GFLOPS 100.0
#define BB_SHARD_GPU_GFLOPS 20000.0

typedef struct {
    int count;                               /* N */
    int owner[BB_SWEEP_MAX][BB_SWEEP_MAX];   /* [model][batch]: its shard, 1..N */
    double cost[BB_SWEEP_MAX][BB_SWEEP_MAX]; /* nominal seconds */
    double load[BB_SHARD_MAX];               /* [shard - 1]: the sum of its costs */
    int n_configs[BB_SHARD_MAX];             /* [shard - 1] */
} bb_shard_plan;

/* "I/N" (1 <= I <= N <= BB_SHARD_MAX) into *index, *count; with allow_all
 * also "all/N" (*index 0). -1 when malformed. */
int bb_shard_parse(const char *arg, int allow_all, int *index, int *count);

/* The partition of cfg's (model, batch size) configurations into count
 * shards. -1 (message in err) when a model cannot be built. */
int bb_shard_partition(const bb_sweep_cfg *cfg, int count, bb_shard_plan *p, bb_err *err);

/* run --plan: index 0, each shard's configurations, estimated seconds (the
 * nominal costs scaled to rate_gflops, this machine's) and its share
 * against the mean; index I, shard I's configurations one per line. */
void bb_shard_print(FILE *f, const bb_sweep_cfg *cfg, const bb_shard_plan *p, int index, double rate_gflops);

/* The sweep id (8 hex digits) of cfg on this hardware. */
void bb_shard_sweep_id(const bb_sweep_cfg *cfg, const char *hardware, char out[9]);

/* Writes out_dir/plan-<sweep>.json atomically (every shard writes the same). */
int bb_shard_write_plan(const bb_sweep_cfg *cfg, const bb_shard_plan *p, const char *sweep, const char *hardware,
                        bb_err *err);

/* The ok results of a sweep already in a folder, by plan key (--resume). */
typedef struct bb_shard_done bb_shard_done;
bb_shard_done *bb_shard_done_scan(const char *dir, const char *sweep, bb_err *err);
/* The file that holds plan_key's ok result, or NULL. */
const char *bb_shard_done_find(const bb_shard_done *d, const char *plan_key);
void bb_shard_done_free(bb_shard_done *d);

/* The plan key of cfg's configuration (model m, batch size bi). */
void bb_shard_plan_key(const bb_sweep_cfg *cfg, int m, int bi, char *buf, size_t len);

#endif

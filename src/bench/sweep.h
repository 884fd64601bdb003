/*
 * sweep.h — the seed's experiment: for every (model, batch size) prepare the
 * model for that batch size, run warm-up passes, then time only the forward
 * pass of each measured batch, and write one result file per configuration.
 *
 * How each model's batch sizes are timed (warm-up, interleaved rounds,
 * adaptive repetitions, noise sensing) is measure.h's; this file walks the
 * models, skips what --resume finds done, keeps the whole-sweep budget and
 * writes each result as soon as its configuration is final.
 *
 * Faults lose nothing: a configuration that runs out of memory (or over
 * --mem-limit) or past --max-time is recorded with its status and the sweep
 * goes on; when *stop becomes non-zero (SIGINT/SIGTERM) the sweep stops after
 * the current batch without writing the unfinished configurations (with
 * interleaving: those of the current model not yet final), so --resume
 * redoes exactly those.
 */
#ifndef BB_SWEEP_H
#define BB_SWEEP_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "backends/backend.h"
#include "engine/graph.h"
#include "util/error.h"

#define BB_SWEEP_MAX 64

typedef struct {
    const char *models[BB_SWEEP_MAX];
    int n_models;
    int64_t batches[BB_SWEEP_MAX];
    int n_batches;
    int warmup, reps;    /* --reps auto: reps is the minimum number of batches */
    double warmup_time_s; /* warm up until warmup passes AND this much time */
    int reps_auto;       /* measure until the median's 95% CI is within target_ci */
    double target_ci;    /* relative half-width, e.g. 0.02 */
    double max_config_time_s; /* --reps auto: cap on one configuration's measuring; 0 = none */
    double budget_s;     /* --reps auto: the whole sweep's wall-clock budget; 0 = none */
    int interleave;      /* measure a model's batch sizes in shuffled rounds */
    double min_time_s;   /* measure until reps AND this much time are reached */
    double max_time_s;   /* per configuration; 0 = no limit */
    double pause_s;      /* between configurations */
    int64_t mem_limit;   /* bytes; 0 = none; over it a configuration is "oom" */
    bb_run_config config; /* backend, precision, head, threads, input source, backend options */
    uint64_t seed;
    const char *out_dir;
    double gflops_hint;   /* > 0: the rate the estimate assumes (GPU); else
                             a short sgemm calibration of this CPU */
    int resume;
    volatile sig_atomic_t *stop;
    FILE *log;            /* progress; a live line when it is a TTY */
} bb_sweep_cfg;

typedef struct {
    int total, done, skipped, ok, failed;
    int interrupted;
    char host[128];     /* the environment's host name, as in the result files */
    int threads_used;
    double per_item_s[BB_SWEEP_MAX][BB_SWEEP_MAX]; /* [model][batch]; <0: none */
    char status[BB_SWEEP_MAX][BB_SWEEP_MAX][16];
} bb_sweep_result;

int bb_sweep_run(const bb_sweep_cfg *cfg, bb_sweep_result *res, bb_err *err);

/* The configuration part of a result (model m, batch size bi of cfg) and
 * the model's facts when g is not NULL; shared with the pipeline sweep. */
struct bb_result_s;
void bb_sweep_fill_result(const bb_sweep_cfg *cfg, int threads_used, const bb_graph *g, int m, int bi,
                          struct bb_result_s *r);

/* Seconds the sweep should take, from MAC counts and a short sgemm
 * calibration of this machine (reported through *gflops). */
double bb_sweep_estimate(const bb_sweep_cfg *cfg, double *gflops);


#endif

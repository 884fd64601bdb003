/*
 * measure.h — timing one model's batch sizes so that they can be compared:
 * each configuration prepared and warmed up, then measured in interleaved
 * rounds until its own stopping rule holds.
 *
 * Why this file exists: the sweep's answer ("which batch size?") compares
 * batch sizes with each other, so they must be measured under the same
 * conditions. Measured one after another, slow drift (clock changes, a
 * noisy neighbour, a cold first configuration) lands on whichever batch
 * size ran at that moment and can flip the answer. Here every prepared
 * configuration of the model stays alive, and each round gives every one
 * of them a short slice of batches, in an order shuffled per round by the
 * seed, so drift hits all batch sizes alike (the way a careful side-by-side
 * comparison is run). Where the configurations do not fit in memory
 * together, they are measured one at a time and the result says why.
 *
 * The stopping rule per configuration, after each slice:
 *  - fixed (--reps N): N batches and --min-time reached;
 *  - auto (--reps auto): at least min_reps batches and --min-time, and then
 *    the 95% CI of the median within +-target_ci of it ("target"), or the
 *    per-configuration cap on measured time ("cap"), or its share of the
 *    sweep's budget ("budget"), whichever comes first. The share is set
 *    when measuring starts (after preparing and warming up): what is left
 *    of the budget times weight / (weight + weight_after), the sweep's
 *    estimates of this model's and the later models' measuring.
 * --max-time stays what it was: a hard limit per configuration, past which
 * it is recorded as "timeout". Only forward() is inside the clock.
 *
 * The pieces every measurement of a configuration needs, whatever feeds its
 * batches (the sweep here, the loader in bench/pipeline.c), are exported
 * below: the signal check, statuses, preparing within --mem-limit, and
 * finishing a configuration (handing it to on_done to be written at once).
 */
#ifndef BB_MEASURE_H
#define BB_MEASURE_H

#include <stdint.h>
#include <stdio.h>

#include "backends/backend.h"
#include "data/source.h"
#include "env/energy.h"
#include "env/noise.h"
#include "bench/sweep.h"
#include "engine/graph.h"
#include "results/result.h"

#define BB_SLICE_S 0.25 /* a round gives each configuration about this much time */
#define BB_ENERGY_PASS_S 2.0 /* a configuration's energy pass: at least this long (NVML updates its counter in steps) */

/* One configuration being measured. The caller fills r (bb_sweep_fill_result)
 * and bi (with --pipeline also wi and pl, r.pipeline pointing at pl); the
 * rest is the measurement's own state. On return r.status is
 * set, r.times_s / r.n_times point at times (owned here: free with
 * bb_config_run_free), r.measure and r.noise are filled. */
typedef struct {
    bb_result r;
    int bi;                  /* index into the sweep's batch sizes */
    int wi;                  /* index into the pipeline's worker counts (0 for the sweep) */
    bb_pipeline_info pl;     /* run --pipeline: the loading side; r.pipeline points here */
    /* private */
    bb_backend *b;
    float *x;                /* the input batch */
    int64_t next;            /* next stored item to read (data set input) */
    double *times, *copies, *waits; /* waits: run --pipeline, every batch's wait for data */
    int n_times, cap_times, n_copies, cap_copies, n_waits, cap_waits;
    int *slices;             /* batches timed in each slice, slice r in round r */
    double *slice_rtt;       /* the threads' round trip after each slice (env/core_rtt.h), -1: none */
    int n_slices, cap_slices;
    double pass_s;           /* a forward pass's time, for sizing slices */
    double spent_s;          /* warm-up + measuring wall time (for --max-time) */
    double deadline;         /* its share of the budget ends here; 0 = none */
    int active;              /* prepared and still measuring */
    int finished;            /* status final */
    int reported;            /* handed to on_done */
    int hold;                /* a failure now is not final yet: don't report it */
    bb_noise noise;
    bb_energy energy;        /* of the energy pass after its timed batches (measure.c) */
    int has_energy;          /* energy was read (or says why not) */
    int energy_batches;      /* forward passes in it */
    double energy_forward_s; /* their summed forward time */
} bb_config_run;

typedef struct {
    const bb_sweep_cfg *cfg;
    const bb_backend_ops *be;
    const bb_source *src;     /* the data set (--data); NULL: a seeded random batch */
    const bb_noise_src *noise;
    bb_energy_src *energy;    /* the energy counters, read around each configuration's energy pass; NULL: none */
    double budget_end;        /* bb_now_s() at which the sweep's budget is spent; 0 = no budget */
    double weight, weight_after; /* this model's claim on what is left of the budget, and the later models'
                                     (the estimated time of one round: every model gets as many rounds) */
    int64_t mem_budget;       /* bytes all prepared configurations may hold together */
    int tty;                  /* live progress lines on cfg->log */
    /* Called once per configuration as soon as its status is final (not
     * for "interrupted"), so its result can be written at once. */
    void (*on_done)(bb_config_run *run, void *user);
    void *user;
} bb_measure_ctx;

/* Measures runs[0..n-1], all of one model (graph g), interleaved when the
 * configuration asks for it and their memory fits ctx->mem_budget, else one
 * at a time. Stops early (the unfinished ones marked "interrupted") when
 * *cfg->stop is set. */
void bb_measure_model(const bb_measure_ctx *ctx, const bb_graph *g, bb_config_run *runs, int n);

void bb_config_run_free(bb_config_run *run);

/* ---- shared with the pipeline (bench/pipeline.c) ---------------------------- */

/* Has a signal asked the sweep to stop? */
int bb_measure_stopped(const bb_sweep_cfg *cfg);

/* r's status and message (msg NULL: empty). */
void bb_measure_set_status(bb_result *r, const char *status, const char *msg);

/* Appends t to the growing array *v; -1 when memory runs out. */
int bb_measure_push(double **v, int *n, int *cap, double t);

/* Prepares a backend for r's batch size within --mem-limit (the memory plan
 * checked before, the prepared model after) and records prepare_s,
 * math_mode and the memory in r. 0 with *out set; -1 with r's status
 * ("oom" or "error") and message set and nothing held; *err_oom tells a
 * real out-of-memory failure apart. */
int bb_measure_prepare(const bb_measure_ctx *c, const bb_graph *g, bb_result *r, bb_backend **out, int *err_oom);

/* Does run's batch size run? What `run` does before it measures, once:
 * bb_measure_prepare (--mem-limit against the memory plan, then the
 * prepared model), the input batch set, then one forward(). 0 with status
 * "ok" and pass_s the forward's seconds; -1 with status "oom" or "error"
 * and the message. Either way nothing is held (bb_measure_finish; on_done
 * is called when set). The criterion of `batchbench maxbatch`. */
int bb_measure_probe(const bb_measure_ctx *c, const bb_graph *g, bb_config_run *run);

/* run's status is final: releases what it holds, points r at its times and
 * noise, and hands it to on_done (not when "interrupted"). */
void bb_measure_finish(const bb_measure_ctx *c, bb_config_run *run);

/* Every run not finished is marked "interrupted" and released (not
 * reported): what a signal leaves behind. */
void bb_measure_interrupt_rest(const bb_measure_ctx *c, bb_config_run *runs, int n);

/* Relative half-width of the median's 95% CI: max(median - lo, hi - median)
 * / median; +inf for fewer than 2 samples. */
double bb_ci_half_width(const double *times, int n);

#endif

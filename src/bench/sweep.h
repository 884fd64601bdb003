/*
 * sweep.h — the one per-configuration driver behind `batchbench run`: for
 * every (model, batch size), and with --pipeline every loader worker count,
 * prepare the model for that batch size, warm up, measure, and write one
 * result file per configuration.
 *
 * The inference sweep (the seed's experiment) and the end-to-end pipeline
 * (`run --pipeline`, bench/pipeline.h) differ only in where batches come
 * from and how a model's configurations are timed: the sweep feeds an
 * in-memory batch or the stored data set and times only forward() in
 * measure.h's interleaved, adaptive rounds; the pipeline feeds the loader's
 * batches (data/loader.h) and measures a fixed --reps one configuration at
 * a time. Everything else is this file's, the same for both: walking the
 * models, --resume (an ok result of exactly the same identity is kept and
 * counted, never rewritten), --mem-limit ("oom"), --max-time ("timeout"),
 * --min-time, --pause, SIGINT, the data set opened once (data/source.h, so
 * both accept the same kinds), each result written as soon as its
 * configuration is final, progress lines and the summary CSV.
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
#include "data/loader.h"
#include "engine/graph.h"
#include "results/model_ref.h"
#include "util/error.h"

#define BB_SWEEP_MAX 64
#define BB_PIPELINE_MAX_WORKERS 16

/* run --pipeline: batches come from loader workers over the data set
 * (bench/pipeline.h), each configuration also a worker count. */
typedef struct {
    int on;
    int workers[BB_PIPELINE_MAX_WORKERS];
    int n_workers;
    bb_load_mode mode;
    int prefetch;        /* batches ahead per worker (batches mode) or in all (items); 0 = 2 */
    bb_worker_kind worker_kind; /* loader threads (0, the default) or processes */
} bb_sweep_pipeline;

typedef struct {
    const char *models[BB_SWEEP_MAX]; /* zoo names or ONNX file paths, as given */
    int n_models;
    char model_arg[4096];       /* run --models, split in place: the storage of models[] that are paths */
    /* What results record of each model (results/model_ref.h), resolved
     * once by bb_sweep_resolve_models; until then (refs_ready 0) each use
     * resolves the model again. */
    bb_model_ref refs[BB_SWEEP_MAX];
    int refs_ready;
    const char *family;         /* run --family: recorded for imported models; NULL: "imported" */
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
    double idle_s;       /* slept before each timed batch, outside the clock: the batch times of a
                            server that idles between requests (report/serve_sim.h); 0: back to back */
    int64_t mem_limit;   /* bytes; 0 = none; over it a configuration is "oom" */
    bb_run_config config; /* backend, precision, head, threads, input source, backend options */
    bb_sweep_pipeline pipeline; /* .on: the end-to-end pipeline instead of the inference sweep */
    uint64_t seed;
    const char *out_dir;
    const char *preset;      /* run --preset, recorded in each result; NULL: none */
    double gflops_hint;   /* > 0: the rate the estimate assumes (GPU); else
                             a short sgemm calibration of this CPU */
    int resume;
    int shard_index, shard_count; /* run --shard I/N (bench/shard.h); count 0: the whole sweep */
    volatile sig_atomic_t *stop;
    FILE *log;            /* progress; a live line when it is a TTY */
} bb_sweep_cfg;

typedef struct {
    int total, done, skipped, ok, failed; /* skipped: kept from earlier runs (--resume) */
    int interrupted;
    char host[128];     /* the environment's host name, as in the result files */
    int threads_used;
    double per_item_s[BB_SWEEP_MAX][BB_SWEEP_MAX]; /* [model][batch]; <0: none */
    char status[BB_SWEEP_MAX][BB_SWEEP_MAX][16];
    /* run --pipeline, per [model][batch][workers] (kept ones included); <0: not ok */
    double items_per_s[BB_SWEEP_MAX][BB_SWEEP_MAX][BB_PIPELINE_MAX_WORKERS];
    double wait_fraction[BB_SWEEP_MAX][BB_SWEEP_MAX][BB_PIPELINE_MAX_WORKERS];
} bb_sweep_result;

/* Resolves cfg->refs once (one build, one import of each ONNX file, and
 * its hash): 0, or -1 with err naming the model that cannot be built. */
int bb_sweep_resolve_models(bb_sweep_cfg *cfg, bb_err *err);

/* Model m's reference: cfg->refs[m] once resolved, else resolved into tmp
 * now. NULL with err set when the model cannot be built. */
const bb_model_ref *bb_sweep_model_ref(const bb_sweep_cfg *cfg, int m, bb_model_ref *tmp, bb_err *err);

/* The name model m's results record: its reference's, else the zoo name
 * or the file's base name. */
const char *bb_sweep_model_name(const bb_sweep_cfg *cfg, int m);

/* Runs every configuration of cfg (the pipeline's when cfg->pipeline.on).
 * 0 done (some configurations may have failed: res->failed; res->interrupted
 * when stopped by a signal), -1 fatal (message in err: --data cannot be
 * opened, a result cannot be written). */
int bb_sweep_run(const bb_sweep_cfg *cfg, bb_sweep_result *res, bb_err *err);

/* The configuration part of a result (model m, batch size bi of cfg) and
 * the model's facts when g is not NULL. */
struct bb_result_s;
void bb_sweep_fill_result(const bb_sweep_cfg *cfg, int threads_used, const bb_graph *g, int m, int bi,
                          struct bb_result_s *r);

/* Seconds one configuration should take (model facts f, batch size bs) at
 * gflops: warm-up, measuring, loading and --pause. */
struct bb_model_facts_s;
double bb_sweep_config_estimate(const bb_sweep_cfg *cfg, const struct bb_model_facts_s *f, int64_t bs, double gflops);

/* Seconds the sweep should take, from MAC counts and a short sgemm
 * calibration of this machine (reported through *gflops). A model that
 * cannot be built counts 0 s; its configurations will fail saying why. */
double bb_sweep_estimate(const bb_sweep_cfg *cfg, double *gflops);


#endif

/*
 * result.h — one JSON result file per (model, batch size), and summary.csv.
 *
 * Why this file exists: the sweep's output must outlive the process and be
 * trustworthy. Each configuration is written as its own self-describing file
 * (configuration, environment, model facts, every raw batch time, derived
 * statistics, status), atomically, so an interrupted or crashed sweep never
 * leaves half a file and `run --resume` can tell what is done. summary.csv
 * gathers the files of a directory into one table for plots and reports.
 * The file format is documented field by field in docs/result-schema.md.
 */
#ifndef BB_RESULT_H
#define BB_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "backends/backend_options.h"
#include "env/env.h"
#include "env/energy.h"
#include "env/noise.h"
#include "results/result_identity.h"
#include "stats/rounds.h"
#include "util/error.h"

#define BB_RESULT_SCHEMA_VERSION 1

/* The loading side of an end-to-end (`run --pipeline`) configuration. */
typedef struct {
    int workers, prefetch;
    char mode[16];             /* "batches" or "items" (data/loader.h) */
    char worker_kind[16];      /* "thread" or "process" (data/loader.h); "" = thread */
    const double *waits_s;     /* every batch, warm-up included, in order */
    int n_waits;
    double first_result_s;     /* loader start to the first forward pass done */
    double measured_wall_s;    /* wall time of the measured batches */
    double items_per_s;        /* measured items / measured_wall_s */
    double wait_fraction;      /* share of measured_wall_s spent waiting for data */
    int64_t skipped;           /* items that failed to load */
} bb_pipeline_info;

/* How a configuration was measured (the sweep's adaptive, interleaved
 * measurement: bench/measure.h). Written as "measurement" when stop_reason
 * is set; the pipeline sweep leaves it empty. */
typedef struct {
    int reps_auto;               /* 1: --reps auto (measure to target_ci) */
    int min_reps;                /* batches measured at least */
    double target_ci;            /* relative half-width of the median's 95% CI aimed for */
    double warmup_time_s;        /* --warmup-time asked for */
    double max_config_time_s;    /* cap on measuring one configuration; 0 = none */
    double budget_s;             /* the sweep's wall-clock budget; 0 = none */
    int warmup_passes;           /* warm-up passes actually run */
    double warmup_s;             /* their wall time */
    int interleaved;             /* 1: measured in rounds with the model's other batch sizes */
    char interleave_fallback[192]; /* why not, when interleaving was asked for; "" otherwise */
    int rounds;                  /* slices of batches it was measured in */
    const int *slice_batches;    /* batches timed in each slice, in order (slice r in round r); caller-owned,
                                    NULL: not written */
    int n_slices;
    const double *slice_core_rtt_ns; /* the threads' cache line round trip after each slice (env/core_rtt.h),
                                    n_slices of them, < 0: not measured; caller-owned, NULL: not written */
    char round_group[BB_ROUND_GROUP_LEN]; /* interleaved: the same id for the configurations measured in the same
                                    rounds (stats/rounds.h); "" otherwise */
    uint64_t order_seed;         /* seeds the shuffled order of every round */
    double idle_s;               /* slept before each timed batch (run --idle-ms); 0: back to back */
    char stop_reason[16];        /* target|reps|min-time|cap|budget (why measuring stopped) */
    double ci_half_width;        /* achieved: max(median - lo, hi - median) / median */
    double measured_wall_s;      /* wall time of the measured slices */
} bb_measure_info;

typedef struct bb_result_s {
    /* configuration */
    char model[BB_MODEL_NAME_LEN];     /* a zoo name, or an imported model's file base name */
    char family[BB_FAMILY_LEN], head[16], device[16], engine[32], precision[16];
    char model_file[1024];    /* an imported model: its ONNX file as given; "" for a zoo model */
    char model_sha256[65];    /* that file's SHA-256 (part of the identity); "" for a zoo model */
    char math_mode[256];   /* what the kernels really ran (backend report) */
    char input_source[32]; /* "random" or "dataset" */
    char data_dir[512];
    char preset[16];       /* run --preset: "paper", "quick"; "" when none */
    char sweep[16];        /* run --shard: the sharded sweep's id (bench/shard.h); "" unsharded */
    char shard[24];        /* run --shard: "I/N" of the shard that measured it; "" unsharded */
    int64_t batch_size;
    int warmup, reps;
    double min_time_s, max_time_s;
    int threads;
    uint64_t seed;
    bb_backend_options options; /* the backend's options (config.backend_options) */
    /* model facts */
    int64_t params, macs_per_item, feature_dim, weight_bytes, activation_bytes;
    /* outcome */
    char status[16]; /* ok|oom|timeout|error|interrupted */
    char message[512];
    double *times_s; /* raw batch times (seconds), caller-owned; all finite */
    int n_times;
    double *input_copy_s; /* per measured batch: host-to-device copy (GPU); caller-owned */
    int n_input_copy;
    /* memory as prepared (backend report); all 0 if preparation failed */
    int64_t mem_weight_bytes, mem_arena_bytes, mem_workspace_bytes;
    const bb_pipeline_info *pipeline; /* NULL except for `run --pipeline` */
    bb_measure_info measure;          /* empty stop_reason: not written */
    const bb_noise *noise;            /* NULL: "noise" not written */
    const bb_energy *energy;          /* of the energy pass; NULL: "energy" not written */
    int energy_batches;               /* forward passes in the energy pass */
    double energy_forward_s;          /* their summed forward time */
    double prepare_s;
} bb_result;

/* "inference_time-<host>-<device>-model_name-<model>-batch_size-<bs>.json"
 * ("pipeline-...-batch_size-<bs>-workers-<w>.json" for a pipeline result),
 * with a tag for each non-default part of its identity (result_identity.h:
 * "-bf16", "-classifier", "-opts-<hash>", ...), malloc'd (NULL on OOM).
 * host, device and model are sanitised to [A-Za-z0-9._-] (anything else
 * becomes '_'; empty or NULL: "unknown"). */
char *bb_result_filename(const bb_result *r, const char *host);

/* The result as a JSON object (schema_version 1, see docs/result-schema.md);
 * env may be NULL ("environment": null). "stats" is present only when
 * n_times >= 1. NULL on OOM or a non-finite time. */
cJSON *bb_result_to_json(const bb_result *r, const bb_env *env);

/* A result's rounds, as the answer judges them (stats/rounds.h):
 * measurement.slice_batches malloc'd into *slices (*n of them) and
 * measurement.round_group into group (len bytes). 0 when both are recorded
 * and well formed; 1 when not (older files, one configuration at a time, a
 * malformed field: nothing set, no round is judged); -1 when memory runs
 * out. Whether the slices add up to the times is the judge's to check. */
int bb_result_rounds_of_json(const cJSON *j, int **slices, int *n, char *group, size_t len);

/* A result's measurement.slice_core_rtt_ns (env/core_rtt.h) malloc'd into
 * *rtt, *n of them (-1 for null): 0 when it has one positive number or null
 * per slice of measurement.slice_batches; 1 when not (absent, malformed:
 * nothing set); -1 when memory runs out. */
int bb_result_slice_rtt_of_json(const cJSON *j, double **rtt, int *n);

/* Writes <dir>/<bb_result_filename(r, env->host)> atomically: into
 * <path>.tmp.<pid>, fsync, rename; a result of the same identity there is
 * replaced, one of another identity never (the "-id-<hash>" name is taken,
 * or -1 when that too is another's: result_identity.h). On failure
 * (unwritable or missing dir, full disk, ...) returns -1 with a message
 * naming the path, and removes the temporary file. path_out (may be NULL)
 * receives the final path. */
int bb_result_write(const char *dir, const bb_result *r, const bb_env *env, char *path_out, size_t path_len,
                    bb_err *err);

/* Parses a result file and copies its "status" into status[len]; -1 with a
 * message naming the file if unreadable, not JSON, not schema_version 1 or
 * without a status. */
int bb_result_read_status(const char *path, char *status, size_t len, double *per_item_median_s, bb_err *err);

/* --resume: the parsed ok result of exactly r's identity (on host) in dir,
 * or NULL (none, not ok, unreadable). cJSON_Delete it. */
cJSON *bb_result_load_done(const char *dir, const bb_result *r, const char *host);

/* The same as a yes/no: 1 with its per-item median in *per_item (or -1),
 * else 0. */
int bb_result_done(const char *dir, const bb_result *r, const char *host, double *per_item);

/* Scans dir for inference_time-*.json and writes dir/summary.csv atomically:
 * a header and one row per parseable result, sorted by (model, batch_size,
 * file). Columns: file,model,family,head,device,engine,precision,batch_size,
 * threads,status,n,median_s,mean_s,std_s,min_s,max_s,p5_s,p95_s,ci95_lo_s,
 * ci95_hi_s,cv,per_item_median_s,items_per_s,gflops,params,macs_per_item,
 * p50_s,p90_s,p99_s,stop_reason,ci_half_width,noise_disturbed, and the
 * recommendation of the row's (setup, model): best_batch,recommended_batch,
 * tied,knee_batch,margin (empty where a result has no stats). Files that are not valid JSON or not
 * result objects are skipped with a warning on stderr naming the file. */
int bb_summary_csv_write(const char *dir, bb_err *err);

#endif

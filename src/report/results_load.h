/*
 * results_load.h — the result files of one or more folders as one table,
 * for charts and the report.
 *
 * Why this file exists: plots and report.md must agree on every number, so
 * both read the folders through this loader. It re-derives the statistics
 * from the raw batch times (bb_stats_compute) rather than trusting a file's
 * "stats" block, groups rows into "setups" (the same engine, device,
 * precision, head, host and threads: one line in a comparison), and counts
 * what could not be used: unreadable files, configurations that ended
 * oom/timeout/error, duplicates and batch sizes some model lacks. Each is
 * announced once, with the file it concerns, on the warning stream.
 * Imported models (ONNX files) are rows like any other, their family
 * "imported" or the one the run named; two files of one base name are two
 * models ("<name>@<hash>"), never duplicates of each other.
 */
#ifndef BB_RESULTS_LOAD_H
#define BB_RESULTS_LOAD_H

#include <stdint.h>
#include <stdio.h>

#include "stats/recommend.h"
#include "stats/stats.h"
#include "results/result_identity.h"
#include "util/error.h"

typedef struct {
    char *path; /* the result file, as found (dir/name) */
    char model[BB_MODEL_NAME_LEN];  /* config.model; "<model>@<8 hex>" where the table holds two files of one name */
    char model_sha256[65];          /* config.model_sha256: an imported model's file; "" for a zoo model */
    char family[BB_FAMILY_LEN], head[16], device[16], engine[32], precision[16];
    int64_t batch_size;
    int threads;
    char status[16];  /* ok|oom|timeout|error|interrupted */
    char message[256];
    int has_stats;    /* times_s was not empty: st and the derived values are set */
    bb_stats st;      /* of times_s (batch times, s) */
    double *times_s;  /* the raw batch times (s), owned by the table; NULL when none */
    int n_times;
    int *slice_batches; /* measurement.slice_batches, owned by the table; NULL when not recorded */
    double *slice_rtt;  /* measurement.slice_core_rtt_ns (n_rtt of them, -1: null), owned; NULL when not recorded */
    int n_rtt;
    int n_slices;
    char round_group[BB_ROUND_GROUP_LEN]; /* measurement.round_group: measured in the same rounds as rows with
                                              the same id [""] */
    double per_item_s, p5_item_s, p95_item_s; /* median, p5, p95 batch time / batch size */
    double mean_item_s, std_item_s; /* mean of (batch time / batch size) and its standard deviation with
                                       divisor n (numpy's std, ddof 0): the seed's plot_time.py */
    double items_per_s;                       /* batch_size / median */
    double latency_s;                         /* median batch time */
    double gflops;                            /* 2 * macs * batch / median / 1e9 */
    int64_t macs_per_item;
    int setup;        /* index into bb_table.setups */
    /* How the measurement went; older files lack these: the defaults in [] */
    int disturbed;               /* noise.disturbed: something else ran on the machine [0] */
    char disturbed_why[192];     /* noise.disturbed_why, e.g. "steal 7.2%" [""] */
    char stop_reason[16];        /* measurement.stop_reason: target|reps|cap|budget|min-time [""] */
    double ci_half_width;        /* measurement.ci_half_width, relative (0.013 = +-1.3%) [NAN] */
    int interleaved;             /* measurement.interleaved: 1, 0 [-1: not recorded] */
    char interleave_fallback[192]; /* measurement.interleave_fallback: why not interleaved [""] */
    char preset[16];             /* config.preset: "paper", "quick" or "" [""] */
    int energy_state;            /* energy: -1 no block, 0 unavailable, 1 measured [-1] */
    double joules_per_item;      /* energy.joules_per_item when measured, else NAN */
    char energy_why[192];        /* energy.why when unavailable, else the source ("rapl:package-0") */
    char sweep[16];              /* config.sweep: the sharded sweep (run --shard) it belongs to [""] */
    char plan_key[BB_IDENTITY_LEN]; /* its identity without host and threads (the plan's key) */
    /* What the charts and the report's time tables show of this row, in
     * seconds per item (set by bb_table_set_view, report/time_view.h): the
     * central value, the error-bar ends (lo clipped at 0, view_clipped then
     * 1) and the batch time of the same statistic (median or mean). */
    double view_item_s, view_lo_s, view_hi_s, view_batch_s;
    int view_clipped;
} bb_row;

/* The statistic of the per-item time the charts show: the median with
 * p5-p95 whiskers, or the seed's mean with +-2 standard deviations. */
typedef enum { BB_STAT_MEDIAN, BB_STAT_MEAN } bb_stat;
/* The unit of times on the charts and in the view table. */
typedef enum { BB_UNIT_MS, BB_UNIT_S } bb_unit;

/* One measured setup: rows that may be drawn as one series per model.
 * Rows share a setup when their identities (results/result_identity.h)
 * agree in everything but model and batch size. */
typedef struct {
    char key[BB_IDENTITY_LEN]; /* bb_identity_setup_key */
    double idle_s;             /* run --idle-ms: slept before each timed batch; 0: back to back */
    char back_to_back_key[BB_IDENTITY_LEN]; /* key without the idle time: its back-to-back twin's key */
    char engine[32], device[16], precision[16], head[16];
    char input[32];            /* "random" or "dataset" */
    char options[256];         /* non-default backend options, "k=v,k=v" ("" when none) */
    char host[128];           /* the host, or the hosts of a sharded sweep ("node1+node2") */
    char cpu_model[160], os[160], kernel[160], compiler[96], onednn[64];
    char gpu[128];            /* environment.gpu.name on a GPU, else "" */
    char version[32], commit[48];
    int threads, cores;
    double peak_gflops;       /* environment.peak_gflops of its first file; 0 = unknown */
    char peak_source[128];
    int64_t *batches; /* every batch size seen in this setup, ascending */
    int n_batches;
    char (*models)[BB_MODEL_NAME_LEN]; /* models seen, in the zoo's order (unknown ones after, by name) */
    int n_models;
} bb_setup;

typedef struct {
    bb_row *rows;
    int n_rows;
    bb_setup *setups; /* in order of first appearance (first folder first); those measured after an
                         idle time (run --idle-ms) last, by idle time */
    int n_setups;
    int n_files;      /* inference_time-*.json files found */
    int n_corrupt;    /* unreadable, not JSON, not a schema-1 result: skipped */
    int n_duplicate;  /* same setup, model and batch size as an earlier file: skipped */
    int n_failed;     /* loaded rows whose status is not ok (oom, timeout, ...) */
    int n_missing;    /* (setup, model, batch size) with no file while the setup has that batch size */
    char **skipped;   /* "<file>: <why>" for each corrupt or duplicate file */
    int n_skipped;
    /* Sharded sweeps (run --shard): the folders' plan-*.json files and the
     * planned configurations no ok result answers (report/plan_check.h). */
    int n_plans, n_planned;
    char **plan_missing; /* "<model> batch <bs> (shard I/N of sweep <id>, <folder>)" */
    int n_plan_missing;
    /* The tie margin of every answer drawn or written from this table
     * (bench/recommend.h): BB_TIE_MARGIN_DEFAULT after bb_table_load;
     * `report --margin` sets it before the charts and the report, so both
     * read the same one. */
    double margin;
    /* What the charts show (report/time_view.h): after bb_table_load the
     * default, mean and s when every ok row has preset "paper" (the seed's
     * charts; view_from_preset 1), else median and ms; `--stat`/`--units`
     * replace it with bb_table_set_view. The answer stays on the median. */
    bb_stat stat;
    bb_unit unit;
    int view_from_preset;
    /* `report --slo-p99 MS --rate LIST [--timeouts LIST]` (report/slo.h):
     * the p99 target (s; 0 after bb_table_load: no such section), the
     * offered rates (items/s) and the batch timeouts to try (s; none: the
     * default list), set before the charts and the report. */
    double slo_p99_s;
    double slo_rates[16];
    int n_slo_rates;
    double slo_timeouts_s[16];
    int n_slo_timeouts;
} bb_table;

/* Loads every inference_time-*.json of dirs[0..n_dirs-1] (files of a folder
 * in name order), and checks the folders' plans (report/plan_check.h).
 * Results of one sharded sweep (config.sweep) are one setup whichever
 * hosts ran them: the setup key names the sweep instead of the host, and
 * the setup's host lists them all. Bad files are skipped with "batchbench: warning: <file>:
 * ..., skipped" on warn (NULL: silent); non-ok statuses and missing batch
 * sizes are announced there too. Returns -1 only when a folder cannot be
 * read or memory runs out; a table without rows is not an error here. */
int bb_table_load(bb_table *t, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err);

void bb_table_free(bb_table *t);

/* Records "<path>: <why>" as skipped (t->skipped) and says so on warn
 * (NULL: silent); -1 on OOM. */
int bb_table_skip(bb_table *t, FILE *warn, const char *path, const char *why);

/* Anything skipped, failed or missing? (the CLI's exit code 3) */
int bb_table_incomplete(const bb_table *t);

/* The row of (setup, model, batch), or NULL when no file was found. */
const bb_row *bb_table_find(const bb_table *t, int setup, const char *model, int64_t batch);

/* The usable row (status ok, with times) of (setup, model, batch), or NULL. */
const bb_row *bb_table_ok(const bb_table *t, int setup, const char *model, int64_t batch);

/* "ok", the status of a failed row, or "missing": what a chart writes where
 * a value would be. */
const char *bb_table_state(const bb_table *t, int setup, const char *model, int64_t batch);

/* The family ("conv", "transformer", ...) of a model in a setup, or "". */
const char *bb_table_family(const bb_table *t, int setup, const char *model);

/* The answer for (setup, model) (bench/recommend.h) from the raw times of
 * its usable rows, with t->margin. Returns 0; 1 when the model has no
 * usable row in the setup (nothing to recommend); -1 when memory runs out
 * or it has more than BB_RECOMMEND_MAX batch sizes. The report,
 * recommendation.json and the charts all take the answer from here. */
int bb_table_recommend(const bb_table *t, int setup, const char *model, bb_recommendation *out);

/* The threads' round trip over every slice of the setup's usable rows
 * (measurement.slice_core_rtt_ns, env/core_rtt.h): median, lowest and
 * highest in ns, and how many slices were at least BB_ROUNDS_FAR_RTT times
 * the lowest (*far) of *n measured. 0; 1 when none was recorded; -1 on OOM. */
int bb_table_core_rtt(const bb_table *t, int setup, double *median, double *lo, double *hi, int *far, int *n);

/* The name the table gives model (config.model) of file hash sha256 ("" for
 * a zoo model): "<model>@<first 8 hex digits>" when the table holds two
 * files of that name with different hashes, else model. */
void bb_table_model_label(const bb_table *t, const char *model, const char *sha256, char *buf, size_t len);

/* Orders model names as tables list them: the zoo's order, then unknown
 * models (imported ones) by name (strcmp-like). */
int bb_model_order(const char *a, const char *b);

/* A short name of a setup for titles and legends, e.g.
 * "batchbench on cpu, host vm, 2 threads" (precision, head, input and
 * backend options added when not fp32 / features / random / defaults, and
 * ", idle 20 ms before each batch" for run --idle-ms). */
void bb_setup_label(const bb_setup *s, char *buf, size_t len);

#endif

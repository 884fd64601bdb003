/*
 * dataload.h — the seed's sibling experiment: how long does an inference
 * loop wait for its next batch when a pool of workers loads the data set?
 *
 * For every (mode, worker kind, simulated inference time, batch size,
 * workers) the data set is opened, the loader (data/loader.h: worker
 * threads or worker processes) started, and N batches taken: the wait for
 * each batch is timed, the batch released, then the consumer sleeps for the
 * simulated inference time. The first wait is timed from when the loader
 * begins to start its workers (after its buffers are allocated and
 * touched), so it includes their start (as the first next() of PyTorch's
 * DataLoader includes starting its worker processes); start_s says how
 * much of it that was. One JSON file per configuration
 * (docs/dataload-schema.md) and summary.csv go to the output folder.
 *
 * Why this file exists: the inference sweep (sweep.h) times the model with
 * the input already in memory; this measures the other half, the input
 * pipeline, with the same file conventions (schema version, tool,
 * environment, atomic writes), so the two can be read side by side.
 */
#ifndef BB_DATALOAD_H
#define BB_DATALOAD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "env/env.h"
#include "data/loader.h"
#include "util/error.h"

#define BB_DL_SCHEMA_VERSION 1
#define BB_DL_MAX 64       /* batch sizes, worker counts */
#define BB_DL_MAX_SLEEPS 16

typedef struct {
    const char *data_dir;
    int64_t batch_sizes[BB_DL_MAX];
    int n_batch_sizes;
    int workers[BB_DL_MAX];
    int n_workers;
    double sleeps_s[BB_DL_MAX_SLEEPS]; /* simulated inference after each batch (already scaled) */
    int n_sleeps;
    bb_load_mode modes[2];
    int n_modes;
    bb_worker_kind kinds[2]; /* threads, processes, or both */
    int n_kinds;
    const char *preset;    /* "seed", "quick" or "" (recorded in every file) */
    int batches;           /* measured per configuration */
    int prefetch;          /* loader prefetch; >= 1 */
    int dct_scale;         /* jpeg: bb_source_opts.dct_scale */
    const char *out_dir;
    volatile sig_atomic_t *stop;
    FILE *log;             /* progress lines and skipped-item warnings */
} bb_dl_cfg;

/* One configuration's outcome, as written to its file. */
typedef struct {
    char data_dir[512], kind[16], mode[16];
    char worker_kind[16];  /* "thread" or "process" */
    char preset[16];       /* "seed", "quick" or "" */
    int64_t batch_size;
    int workers, prefetch, batches, dct_scale;
    double sleep_s;
    int64_t items;         /* in the data set */
    double mean_item_bytes;
    char status[16];       /* ok | oom | error (interrupted configurations are not written) */
    char message[512];
    double *waits_s;       /* per batch, the first included (timed from the workers'
                              start: it is in it); caller-owned */
    double *load_s;        /* per batch: the loader's time producing it */
    int n_waits;
    double open_s;         /* bb_loader_open: buffers allocated and touched, workers started */
    double start_s;        /* of open_s: creating the threads or forking the processes
                              (part of the first wait) */
    double total_s;        /* from the workers' start to the end of the last simulated inference */
    double cpu_s;          /* process CPU time, user + system, open to close */
    int64_t bytes, skipped;
} bb_dl_record;

/* Per configuration, for the final table. */
typedef struct {
    char status[16];       /* "" not run */
    double first_wait_s, mean_wait_s, max_wait_s; /* after the first; < 0: fewer than 2 batches */
    double items_per_s;
} bb_dl_cell;

typedef struct {
    int total, done, ok, failed, interrupted;
    char kind[16];
    bb_dl_cell *cells;     /* [mode][worker kind][sleep][batch size][workers], malloc'd */
} bb_dl_result;

/* Runs the sweep. 0 when it ran (some configurations may have failed:
 * res->failed; res->interrupted when *stop ended it); -1 on a fatal error
 * (the data set cannot be opened, a file cannot be written). */
int bb_dl_run(const bb_dl_cfg *cfg, bb_dl_result *res, bb_err *err);
void bb_dl_result_free(bb_dl_result *res);

/* Per mode, worker kind and simulated inference time: mean wait per batch
 * after the first (its largest and the first batch's in parentheses),
 * batch size x workers. */
void bb_dl_print_table(FILE *f, const bb_dl_cfg *cfg, const bb_dl_result *res);

/* ---- files (dataload_file.c) ---------------------------------------------- */

/* "dataload-<host>-<kind>-mode-<mode>-batch_size-<b>-workers-<w>-sleep-<s>.json"
 * for worker threads, "...-workers-<w>-procs-sleep-<s>.json" for worker
 * processes (host and kind sanitised to [A-Za-z0-9._-], s as %g), malloc'd. */
char *bb_dl_filename(const bb_dl_record *r, const char *host);
/* The record as a JSON object (docs/dataload-schema.md); NULL on OOM. */
cJSON *bb_dl_to_json(const bb_dl_record *r, const bb_env *env);
/* Writes <dir>/<bb_dl_filename> atomically; path_out (may be NULL) gets it. */
int bb_dl_write(const char *dir, const bb_dl_record *r, const bb_env *env, char *path_out, size_t path_len,
                bb_err *err);
/* dir/summary.csv over every dataload-*.json in dir, one row per file;
 * unreadable files are named on stderr and skipped. */
int bb_dl_summary_write(const char *dir, bb_err *err);

#endif

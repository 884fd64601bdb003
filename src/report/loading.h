/*
 * loading.h — the data-loading side of the results: the files
 * `batchbench dataload` writes (dataload-*.json: the consumer's wait for
 * every batch, per data set kind, batch size, loader workers and simulated
 * inference time) and the end-to-end files of `run --pipeline`
 * (pipeline-*.json: items/s of loading overlapped with the model).
 *
 * Why this file exists: plot and report read these next to the inference
 * results and say, in charts (plot_loading.c) and sentences
 * (bb_loading_report), whether loading or inference is the bottleneck and
 * which batch size and worker count to choose.
 */
#ifndef BB_LOADING_H
#define BB_LOADING_H

#include <stdint.h>
#include <stdio.h>

#include "report/plot.h"
#include "results/result_identity.h"
#include "util/error.h"

typedef struct {
    char path[1024], status[16], kind[16], mode[16];
    char worker_kind[16];     /* "thread" (also files without one) or "process" */
    int64_t batch_size;
    int workers;
    double sleep_s;
    double start_s;           /* starting the workers (part of the first wait); < 0: not recorded */
    double *waits_s;          /* every batch, the first included */
    int n_waits;
    double first_wait_s;
    double median_wait_s, mean_wait_s, max_wait_s; /* over the batches after the first */
    double items_per_s, mb_per_s, cpu_s;
    int64_t skipped;
} bb_dl_row;

typedef struct {
    char path[1024], status[16], model[BB_MODEL_NAME_LEN], device[16], mode[16];
    char worker_kind[16];     /* "thread" (also files without one) or "process" */
    int64_t batch_size;
    int workers;
    double items_per_s, wait_fraction, first_result_s;
    double forward_items_per_s; /* batch / median forward time, inside the pipeline */
} bb_pl_row;

/* Same model, device and worker kind: one grid, one "best" in the report. */
int bb_pl_same_setup(const bb_pl_row *a, const bb_pl_row *b);

typedef struct bb_loading_s {
    bb_dl_row *dl;
    int n_dl;
    bb_pl_row *pl;
    int n_pl;
    int n_bad;                /* unreadable files (named on the warning stream) */
} bb_loading;

/* Reads every dataload-*.json and pipeline-*.json in dirs. Unreadable files
 * are counted and named on warn (may be NULL). -1 only on OOM. */
int bb_loading_load(bb_loading *l, const char *const *dirs, int n_dirs, FILE *warn, bb_err *err);
void bb_loading_free(bb_loading *l);
int bb_loading_empty(const bb_loading *l);

/* The charts into out_dir (appended to out). */
int bb_loading_plot(const bb_loading *l, const char *out_dir, unsigned formats, bb_figures *out, bb_err *err);

/* The report's data-loading section (markdown), charts from figs embedded
 * by name (PNG if formats has it, else SVG). */
void bb_loading_report(FILE *f, const bb_loading *l, const bb_figures *figs, unsigned formats);

/* The seed's spikes: after the first batch, do "high" waits (over half
 * the largest) alternate with near-zero ones (under a tenth of it)? Then
 * returns 1 with *period the mean distance between high waits, in
 * batches; else 0. */
int bb_dl_spikes(const bb_dl_row *r, double *period);

#endif

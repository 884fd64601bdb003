/*
 * report.h — report.md: what the measurements say, in tables and sentences.
 *
 * Why this file exists: the question batchbench answers is "which batch
 * size should I use?", and the answer should not require reading charts.
 * The report states, per model and computed from the result files, the
 * batch size to use (the smallest one tied with the fastest within noise,
 * bench/recommend.h), the tied set, what batching gains over the smallest
 * batch where that difference is significant (with its 95% CI), the
 * "knee" (the smallest batch size within 5% of the best: growing the batch
 * beyond it buys little) and, given a latency budget, the batch size with
 * the best throughput that still meets it; then how well the measurements
 * went (disturbed, stopped short of their CI target, not interleaved) and
 * the charts.
 */
#ifndef BB_REPORT_H
#define BB_REPORT_H

#include <stdint.h>

#include "stats/recommend.h"
#include "report/plot.h"
#include "report/results_load.h"
#include "util/error.h"

/* What one model's results say (one setup). Batch sizes are 0 where there
 * is no answer (e.g. no batch meets the latency budget). */
typedef struct {
    int n_ok;                 /* usable batch sizes */
    int64_t smallest;         /* smallest usable batch size */
    double smallest_s;        /* its time per item */
    int64_t largest;          /* largest usable batch size */
    double largest_s;
    int64_t best;             /* lowest median time per item (the smaller batch on a tie) */
    double best_s;
    double best_gflops;       /* achieved GFLOP/s at the best */
    double gain;              /* smallest_s / best_s (1 = no gain) */
    int64_t knee;             /* smallest batch with time per item <= best * 1.05 */
    int64_t recommended;      /* the batch size to use: smallest tied with best */
    bb_recommendation rec;    /* the whole answer: tied set, ratios to best with CIs */
    int64_t latency_pick;     /* best items/s with median batch latency < budget */
    double latency_pick_s;    /* its median batch latency */
    double latency_pick_ips;  /* its items/s */
} bb_model_summary;

/* Summarises (setup, model) with bb_table_recommend (t->margin);
 * max_latency_s <= 0: no budget. Returns 0; -1 when the model has no
 * usable result in the setup; -2 when memory runs out. */
int bb_model_summarise(const bb_table *t, int setup, const char *model, double max_latency_s,
                       bb_model_summary *s);

typedef struct bb_report_opts_s {
    const char *path;          /* report.md to write */
    const char *const *dirs;   /* the result folders, for the record */
    int n_dirs;
    double max_latency_s;      /* <= 0: none */
    const bb_figures *figs;    /* charts to embed (names relative to the report's folder) */
    unsigned formats;          /* which files exist: PNG embedded if present, else SVG */
    const struct bb_loading_s *loading; /* data-loading results (report/loading.h), or NULL */
} bb_report_opts;
/* The tie margin is not an option here but the table's (bb_table.margin,
 * set by `report --margin`): the charts drawn from the same table then mark
 * the same tied sets as the report names. */

/* The chart of kind for setup, embedded with its caption (nothing when it
 * was not drawn). */
void bb_report_embed(FILE *f, const bb_report_opts *o, bb_chart kind, int setup);

/* Writes the report atomically. */
int bb_report_write(const bb_table *t, const bb_report_opts *o, bb_err *err);

/* The report's text (malloc'd), for tests; NULL on OOM. */
char *bb_report_text(const bb_table *t, const bb_report_opts *o);

#endif

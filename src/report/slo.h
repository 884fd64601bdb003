/*
 * slo.h — the report's "Serving under a p99 target": which max batch size
 * B and batch timeout T to serve a model with, so that the p99 latency of
 * single requests stays under a target at the loads one expects.
 *
 * Why this file exists: a sweep answers "which batch size is fastest per
 * item", but a service receives requests one at a time, and a larger batch
 * buys throughput with waiting: for the batch to fill (up to T) and for the
 * server to finish the batch before. Which (B, T) meets a p99 target at a
 * given load is a queueing question; report/serve_sim.h answers it for each
 * candidate from the sweep's measured batch times, with the batcher rule of
 * the real server (`batchbench serve`). `report --slo-p99 MS --rate R,...
 * [--timeouts MS,...]` sets the target, rates and timeouts on the table
 * (bb_table.slo_*), so the section and its chart (plot_slo.c,
 * BB_CHART_SLO) read the same ones.
 *
 * Candidates: B = every measured batch size of the model (a B between two
 * measured sizes would run its full batches on the larger size's times:
 * nothing the sweep measured speaks for it), T = the --timeouts list
 * (default 0, 1, 2, 5, 10, 20, 50 ms). For each: the p99 at each requested
 * rate, the largest rate whose p99 meets the target (bb_sim_max_rate) and
 * the capacity (B / mean batch time at B). The setting to use meets the
 * target at every requested rate with the most headroom (its max rate over
 * the largest requested rate); settings within the table's tie margin of
 * the most headroom are tied, and the smallest B, then the smallest T, of
 * them is named. When none meets it: the largest rate any setting sustains
 * under the target, and which.
 */
#ifndef BB_SLO_H
#define BB_SLO_H

#include <stdint.h>
#include <stdio.h>

#include "report/plot_util.h"
#include "report/results_load.h"
#include "report/serve_sim.h"

#define BB_SLO_MAX_RATES 16
#define BB_SLO_MAX_TIMEOUTS 16
#define BB_SLO_SEED 1 /* every simulation's: the answer is the same on every run */
#define BB_SLO_MAX_AFTER_IDLE 256 /* batch times after idle (run --idle-ms) one model's simulation draws on */

/* The default --timeouts, in ms; returns how many (into out, s). */
int bb_slo_default_timeouts(double *out_s);

typedef struct {
    double max_rate;                   /* largest rate (items/s) with p99 <= target; 0: none */
    double p99_at[BB_SLO_MAX_RATES];   /* p99 (s) at each requested rate; INFINITY at or above capacity */
    double grid_p99[BB_SIM_GRID - 1];  /* p99 (s) at capacity x i / BB_SIM_GRID, i = 1.. */
    int meets_all;                     /* p99 <= target at every requested rate */
} bb_slo_setting;

typedef struct {
    int n_b, n_t, n_rates;
    bb_sim_sample samples[BB_RECOMMEND_MAX]; /* the model's usable rows, ascending; the candidates' B */
    bb_sim_sample after_idle[BB_SLO_MAX_AFTER_IDLE]; /* its rows measured after an idle time (setups that are
                                                        this one's but for run --idle-ms): serve_sim.h */
    int n_after_idle;
    double capacity[BB_RECOMMEND_MAX];       /* items/s at each B */
    double t_s[BB_SLO_MAX_TIMEOUTS];
    double rates[BB_SLO_MAX_RATES];
    double target_s;
    bb_slo_setting *set;                     /* n_b x n_t: bb_slo_at */
    int best_t[BB_RECOMMEND_MAX];            /* per B: the index of its best T (the rule above, for one B) */
    int chosen_b, chosen_t;                  /* indices of the setting to use; -1 when none meets the target */
    int top_b, top_t;                        /* the largest max rate of any setting; -1 when every one is 0 */
} bb_slo_eval;

/* What the simulation of (setup, model) draws on: the model's usable rows
 * of setup into e->samples (n_b), those of setup's after-idle twins (the
 * same setup key but for run --idle-ms) into e->after_idle. */
void bb_slo_collect(const bb_table *t, int setup, const char *model, bb_slo_eval *e);

/* Setting (B index i, T index j). */
bb_slo_setting *bb_slo_at(const bb_slo_eval *e, int i, int j);

/* Simulates every candidate of (setup, model) with the table's target,
 * rates and timeouts; a batch after the server idled draws from the
 * model's rows in the setups that are setup's but for an idle time (run
 * --idle-ms), which get no section of their own. Returns 0; 1 when the
 * model has no usable row there, setup is such an idle one, or no target
 * was set; -1 when memory runs out. Free with bb_slo_eval_free. */
int bb_slo_evaluate(const bb_table *t, int setup, const char *model, bb_slo_eval *e);
void bb_slo_eval_free(bb_slo_eval *e);

/* Is there a target and a model with usable rows in setup, back to back
 * (the chart)? */
int bb_slo_applies(const bb_table *t, int setup);

/* "## Serving under a p99 target" when t->slo_p99_s > 0 (nothing else):
 * per setup and model the table, the answer and, per setup, the chart. */
struct bb_report_opts_s;
void bb_slo_sections(FILE *f, const bb_table *t, const struct bb_report_opts_s *o);

/* The chart of setup (plot_slo.c): a panel per model, p99 against the
 * offered rate for each B at its best T. 0, or -1 when memory runs out. */
int bb_draw_slo(bb_canvas *cv, const bb_table *t, int setup);

#endif

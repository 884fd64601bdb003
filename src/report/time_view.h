/*
 * time_view.h — which statistic of the time per item the charts (and the
 * report's view table) show, with which error bars, in which unit:
 * `report`/`plot --stat median|mean --units ms|s`.
 *
 * Why this file exists: the seed's plot_time.py draws the MEAN of the
 * per-item times (batch time / batch size) with error bars of 2 standard
 * deviations (numpy, ddof 0), in seconds; batchbench's own charts draw the
 * median with p5-p95 whiskers, in ms, because the median is what the answer
 * (bench/recommend.h) rests on. Both are legitimate views of the same
 * files, so the choice is one setting of the table, applied here to every
 * row once (bb_row.view_*), and every chart, caption and sentence that
 * shows a time reads it from there and describes it with the same words.
 * The recommendation (which batch size to use) never changes with it.
 */
#ifndef BB_TIME_VIEW_H
#define BB_TIME_VIEW_H

#include <stddef.h>

#include "report/results_load.h"

/* "median" / "mean" and "ms" / "s"; 0, or -1 when s is neither. */
int bb_view_parse_stat(const char *s, bb_stat *out);
int bb_view_parse_unit(const char *s, bb_unit *out);

/* Sets t->stat and t->unit and every row's view_* values. */
void bb_table_set_view(bb_table *t, bb_stat stat, bb_unit unit);

/* The default of a loaded table: mean and s when every ok row has preset
 * "paper" (and there is one), else median and ms; then bb_table_set_view. */
void bb_table_default_view(bb_table *t);

/* Seconds to the view's unit: 1e3 (ms) or 1 (s). */
double bb_view_scale(const bb_table *t);
/* "ms" or "s" (axis labels), and "ms" or "seconds" (sentences). */
const char *bb_view_unit(const bb_table *t);
const char *bb_view_unit_word(const bb_table *t);
/* "Median"/"Mean" (capital) or "median"/"mean". */
const char *bb_view_stat_name(const bb_table *t, int capital);
/* The error bars in a few characters: "p5-p95" or "+-2 sd" (UTF-8). */
const char *bb_view_bars(const bb_table *t);

/* An axis title: "<Stat> <what> in <unit word><suffix>", e.g.
 * "Mean time per item in seconds" or "Median batch latency in ms, log scale". */
void bb_view_axis_title(const bb_table *t, const char *what, const char *suffix, char *buf, size_t len);

/* What a chart of the view shows, for captions and report.md, e.g.
 * "mean ± 2σ of the per-item time (batch time / batch size; σ: numpy's
 * std, ddof 0), in seconds, as the seed's plot_time.py". */
void bb_view_describe(const bb_table *t, char *buf, size_t len);

/* Usable rows of setup (family: only that family; NULL: all) whose lower
 * error-bar end was below 0 and is drawn at 0. */
int bb_view_clipped(const bb_table *t, int setup, const char *family);

/* A time (seconds) in the view's unit with 4 significant digits. */
const char *bb_view_fmt(const bb_table *t, double seconds, char *buf, size_t len);

#endif

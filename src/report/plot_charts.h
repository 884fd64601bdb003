/*
 * plot_charts.h — internal to the plotting code: the chart drawers shared
 * between plot.c (bar charts, dispatch, files) and plot_lines.c (the line
 * and scatter charts).
 *
 * Why this file exists: it lets the charts live in two files of readable
 * size while plot.h stays the one public interface.
 */
#ifndef BB_PLOT_CHARTS_H
#define BB_PLOT_CHARTS_H

#include <stddef.h>

#include "report/plot_util.h"
#include "report/results_load.h"

/* "Engine batchbench, device cpu, host vm (AMD EPYC), 2 threads, fp32". */
void bb_chart_subtitle(const bb_table *t, int setup, char *buf, size_t len);

/* Legend label of a model: its name, plus what failed, e.g.
 * "vit_b_32 (8: oom)". */
void bb_chart_model_label(const bb_table *t, int setup, const char *model, char *buf, size_t len);

/* Each returns 0, or -1 when memory runs out. */
int bb_draw_vs_batch(bb_canvas *cv, const bb_table *t, int setup);
int bb_draw_throughput(bb_canvas *cv, const bb_table *t, int setup);

#endif

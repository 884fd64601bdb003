/*
 * report_view.h — the parts of report.md that follow `--stat`/`--units`
 * (report/time_view.h): the sentence saying which statistic the tables and
 * the charts show, and, when the charts show something other than the
 * tables' median in ms, a table of exactly what the charts draw.
 *
 * Why this file exists: the report's tables and the answer stay on the
 * median (the batch size to use is chosen from it), while the charts may
 * show the seed's mean ± 2σ in seconds; a reader must be told which is
 * which, and must find the charted numbers in text too. report.c is near
 * its size limit, so this lives apart.
 */
#ifndef BB_REPORT_VIEW_H
#define BB_REPORT_VIEW_H

#include <stdio.h>

#include "report/results_load.h"

/* One paragraph: what the tables show (median, ms) and what the charts show. */
void bb_report_view_note(FILE *f, const bb_table *t);

/* For (setup, family), a table of the charted statistic with its error bars
 * in the view's unit; nothing when the view is the tables' own (median, ms). */
void bb_report_view_table(FILE *f, const bb_table *t, int setup, const char *family);

#endif

/*
 * energy_view.h — energy per item in the report: on each setup whose
 * results carry energy readings, the batch size that costs the least
 * energy per item next to the one that is fastest, and a J/item chart; where
 * the results say no counter could be read, that, and why.
 *
 * Why this file exists: the cheapest batch size in joules need not be the
 * fastest one (a GPU at full clocks finishes sooner and draws more), and a
 * deployment pays for both. The readings come from the sweep
 * (env/energy.h: RAPL or NVML around the measured batches), one value per
 * configuration: no distribution to test, so batch sizes within the
 * table's tie margin of the lowest J/item count as tied and the smallest
 * of them is named, as the time answer does.
 */
#ifndef BB_ENERGY_VIEW_H
#define BB_ENERGY_VIEW_H

#include <stdint.h>
#include <stdio.h>

#include "report/results_load.h"

/* Does any usable row of setup carry an energy reading? */
int bb_energy_measured(const bb_table *t, int setup);

/* The batch size to use for energy: the smallest whose J/item is within
 * the margin of the lowest, its J/item, and the lowest's batch size. 0, or
 * 1 when no usable row of (setup, model) has a reading. */
int bb_energy_pick(const bb_table *t, int setup, const char *model, int64_t *use, double *use_jpi, int64_t *lowest);

/* "## Energy per item" for each measured setup (with its chart), or the
 * one line saying why nothing was measured. */
struct bb_report_opts_s;
void bb_energy_sections(FILE *f, const bb_table *t, const struct bb_report_opts_s *o);

#endif

/*
 * hardware.h — the report's comparison across machines: the same sweep on
 * several hosts, devices or GPU models, side by side per model.
 *
 * Why this file exists: the question a cluster user faces is "which batch
 * size on which hardware". A folder that holds results from several
 * machines (scripts/slurm/submit.sh on two partitions, scripts/multi-gpu.sh,
 * results copied together) already gets one section per setup; this adds
 * the view across them: on each machine the batch size to use for each
 * model (that machine's own answer, bb_table_recommend) with its median
 * time per item, the speed-up of each over the slowest, and a bar chart.
 * report.c writes the section and plot.c draws the chart from the same
 * groups, found here.
 *
 * A group: the first setup of each (engine, precision, head, input,
 * backend options) and every later setup of the same on another machine
 * (host, device and GPU model); a setup on a machine already in the group
 * (another thread count, say) is left to the per-setup sections. The
 * results of one sharded sweep are one setup (report/results_load.h), so
 * its nodes are one machine here.
 */
#ifndef BB_HARDWARE_H
#define BB_HARDWARE_H

#include <stdint.h>
#include <stdio.h>

#include "report/results_load.h"

#define BB_HW_MAX 16

typedef struct {
    int n;               /* setups in the group; < 2: nothing to compare */
    int setup[BB_HW_MAX];
} bb_hw_group;

/* The group that setup `first` starts (n 0 when an earlier setup starts
 * its group). */
void bb_hw_group_of(const bb_table *t, int first, bb_hw_group *g);

/* A machine's short name, e.g. "node1 cpu" or "gpu7 NVIDIA H100 80GB HBM3". */
void bb_hw_label(const bb_setup *s, char *buf, size_t len);

/* The batch size to use for model on setup's machine and its median time
 * per item (s). 0, or 1 when the model has no usable result there. */
int bb_hw_pick(const bb_table *t, int setup, const char *model, int64_t *batch, double *per_item_s);

/* The models of the group's machines, each once, in the order the setups
 * list them (the first setup's first); at most max into out; how many. */
int bb_hw_models(const bb_table *t, const bb_hw_group *g, const char **out, int max);

/* "## Across hardware" for every group of two or more machines, each with
 * its chart (figs: the charts written, or NULL). */
struct bb_report_opts_s;
void bb_hw_sections(FILE *f, const bb_table *t, const struct bb_report_opts_s *o);

#endif

/*
 * compare.h — two result folders side by side: which configurations got
 * slower or faster, by how much, and whether the data can tell.
 *
 * Why this file exists: `batchbench compare BASE NEW` is how a CI job is
 * gated on performance regressions. This is its engine, kept out of the
 * command line so the matching and verdict rules can be unit-tested on
 * synthetic tables: configurations are matched by what was measured (not
 * where), each pair is compared with bench/ratio.h (the same test the
 * recommendation's tie rule uses), and the outcome is written as a markdown
 * table and a chart (ratio with its 95% CI per configuration).
 */
#ifndef BB_COMPARE_H
#define BB_COMPARE_H

#include <stddef.h>

#include "stats/ratio.h"
#include "report/plot.h"
#include "report/results_load.h"
#include "util/error.h"

typedef enum { BB_CMP_UNCHANGED = 0, BB_CMP_SLOWER, BB_CMP_FASTER } bb_cmp_verdict;

/* One configuration usable (status ok, with times) in both folders. */
typedef struct {
    const bb_row *base, *new_; /* rows of the two tables (not owned) */
    bb_ratio r;                /* new_ against base: r.ratio > 1 means NEW is slower */
    bb_cmp_verdict verdict;
    int gate_fail;             /* slower and r.ratio > 1 + threshold */
} bb_cmp_item;

/* A configuration that was not compared, and why. */
typedef struct {
    const bb_row *row; /* the BASE row when there is one, else the NEW row */
    char why[96];      /* "only in BASE", "only in NEW", "not ok: oom in NEW", ... */
} bb_cmp_note;

typedef struct {
    const char *base_name, *new_name; /* how the folders are named in the output (not owned) */
    double threshold;                 /* fraction: 0.05 = 5% */
    bb_cmp_item *items;               /* sorted: model (zoo order), setup, batch size */
    int n_items;
    bb_cmp_note *notes;
    int n_notes;
    int n_slower, n_faster, n_unchanged, n_gate_fail;
    double geomean; /* geometric mean of the items' ratios; 1 when there are none */
    char base_hosts[160], new_hosts[160]; /* distinct hosts of each table, ", "-separated */
} bb_compare;

/* The verdict of one ratio: slower when r->p_value < BB_ALPHA and
 * r->ci_lo > 1, faster when p < BB_ALPHA and r->ci_hi < 1, else unchanged. */
bb_cmp_verdict bb_compare_verdict(const bb_ratio *r);
const char *bb_compare_verdict_name(bb_cmp_verdict v); /* "slower", "faster", "no significant change" */

/* Same configuration? model, batch size, engine, device, precision, head
 * and threads (the host is deliberately not part of it). */
int bb_compare_same_config(const bb_row *a, const bb_row *b);

/* "engine/device/precision/head/<threads>t" of a row, into buf. */
void bb_compare_setup_name(const bb_row *r, char *buf, size_t len);

/* Matches base against new_ and compares every configuration usable in
 * both (threshold: a fraction, 0.05 = 5%). Within one table a second row
 * of the same configuration (another host) is listed and ignored. c points
 * into both tables: keep them until bb_compare_free. -1 (err set) when
 * memory runs out or the ratio cannot be computed. */
int bb_compare_run(bb_compare *c, const bb_table *base, const bb_table *new_, double threshold, bb_err *err);
void bb_compare_free(bb_compare *c);

/* The markdown report (malloc'd, NUL-terminated, *len without the NUL):
 * the table, what was not compared, a summary line, and as its last line
 * the gate's outcome naming every configuration that failed it. */
int bb_compare_markdown(const bb_compare *c, char **text, size_t *len, bb_err *err);

/* The chart: per configuration the ratio with its 95% CI (on a log axis
 * when the ratios span a factor of 3 or more, else linear), a line at 1, a
 * band at 1 +- threshold, slower ones in vermillion. Written to path_noext
 * + ".png"/".svg"/".pdf" for each format of the BB_FMT_* mask; the paths
 * are appended to out (may be NULL). Needs c->n_items >= 1. */
int bb_compare_chart(const bb_compare *c, const char *path_noext, unsigned formats, bb_figures *out, bb_err *err);

#endif

/*
 * report_view.c — report.md's words and table for the charts' statistic
 * (report_view.h).
 *
 * Why this file exists: see report_view.h; the wording comes from
 * time_view.c, so the report and the captions describe the same thing.
 */
#include "report/report_view.h"

#include <string.h>

#include "report/time_view.h"

static int is_table_view(const bb_table *t)
{
    return t->stat == BB_STAT_MEDIAN && t->unit == BB_UNIT_MS;
}

/* Usable rows whose lower error bar is drawn at 0, over every setup. */
static int clipped_total(const bb_table *t)
{
    int n = 0;
    for (int s = 0; s < t->n_setups; s++)
        n += bb_view_clipped(t, s, NULL);
    return n;
}

void bb_report_view_note(FILE *f, const bb_table *t)
{
    char what[256];
    bb_view_describe(t, what, sizeof what);
    if (is_table_view(t)) {
        fprintf(f, "Every time in the tables and the charts is the median over the measured batches, divided by "
                   "the batch size, in ms; the charts show the %s.\n\n",
                what);
        return;
    }
    fprintf(f, "The tables and the answer (the batch size to use) are on the median time per item (the median "
               "batch time divided by the batch size), in ms, whatever `--stat` and `--units` say. The charts, and "
               "the tables titled \"as the charts show it\", show the **%s**.",
            what);
    if (t->view_from_preset && t->stat == BB_STAT_MEAN && t->unit == BB_UNIT_S)
        fprintf(f, " Every usable result was measured with `--preset paper`, so this is the default here (the "
                   "seed's charts; `--stat median --units ms` for batchbench's own).");
    int clipped = clipped_total(t);
    if (clipped)
        fprintf(f, " For %d configuration%s the mean minus 2 standard deviations is below 0: %s lower error bar "
                   "is drawn at 0.",
                clipped, clipped == 1 ? "" : "s", clipped == 1 ? "its" : "their");
    fprintf(f, "\n\n");
}

static void cell(FILE *f, const bb_table *t, const bb_row *r)
{
    char v[32], a[32], b[32];
    bb_view_fmt(t, r->view_item_s, v, sizeof v);
    if (t->stat == BB_STAT_MEAN)
        fprintf(f, " %s \xC2\xB1 %s%s |", v, bb_view_fmt(t, 2 * r->std_item_s, a, sizeof a), r->view_clipped ? "*" : "");
    else
        fprintf(f, " %s (%s\xE2\x80\x93%s) |", v, bb_view_fmt(t, r->view_lo_s, a, sizeof a),
                bb_view_fmt(t, r->view_hi_s, b, sizeof b));
}

void bb_report_view_table(FILE *f, const bb_table *t, int setup, const char *family)
{
    if (is_table_view(t))
        return;
    const bb_setup *s = &t->setups[setup];
    fprintf(f, "%s time per item in %s, as the charts show it (cells: %s):\n\n| model |", bb_view_stat_name(t, 1),
            bb_view_unit_word(t),
            t->stat == BB_STAT_MEAN ? "mean \xC2\xB1 2\xCF\x83 of batch time / batch size, \xCF\x83 numpy's std with "
                                      "ddof 0, as the seed's plot_time.py"
                                    : "median (p5\xE2\x80\x93p95) of batch time / batch size");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, " %lld |", (long long)s->batches[b]);
    fprintf(f, "\n|---|");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, "--:|");
    fputc('\n', f);
    for (int m = 0; m < s->n_models; m++) {
        if (strcmp(bb_table_family(t, setup, s->models[m]), family))
            continue;
        fprintf(f, "| %s |", s->models[m]);
        for (int b = 0; b < s->n_batches; b++) {
            const bb_row *r = bb_table_ok(t, setup, s->models[m], s->batches[b]);
            if (r)
                cell(f, t, r);
            else
                fprintf(f, " %s |", bb_table_state(t, setup, s->models[m], s->batches[b]));
        }
        fputc('\n', f);
    }
    fprintf(f, "\n%s", bb_view_clipped(t, setup, family) ? "\\*: the lower error bar, below 0, is drawn at 0.\n\n"
                                                         : "");
}

/*
 * time_view.c — the statistic, error bars and unit the charts show
 * (time_view.h).
 *
 * Why this file exists: one place computes, per row, the value a chart
 * draws under `--stat`/`--units` and one place words it, so a caption can
 * never describe a statistic other than the one drawn.
 */
#include "report/time_view.h"

#include <stdio.h>
#include <string.h>

#define PLUS_MINUS "\xC2\xB1"
#define SIGMA "\xCF\x83"
#define EN_DASH "\xE2\x80\x93"

int bb_view_parse_stat(const char *s, bb_stat *out)
{
    if (!strcmp(s, "median"))
        return *out = BB_STAT_MEDIAN, 0;
    if (!strcmp(s, "mean"))
        return *out = BB_STAT_MEAN, 0;
    return -1;
}

int bb_view_parse_unit(const char *s, bb_unit *out)
{
    if (!strcmp(s, "ms"))
        return *out = BB_UNIT_MS, 0;
    if (!strcmp(s, "s"))
        return *out = BB_UNIT_S, 0;
    return -1;
}

/* The view values of one row (zero when it has no times). */
static void row_view(bb_row *r, bb_stat stat)
{
    r->view_item_s = r->view_lo_s = r->view_hi_s = r->view_batch_s = 0;
    r->view_clipped = 0;
    if (!r->has_stats)
        return;
    if (stat == BB_STAT_MEDIAN) {
        r->view_item_s = r->per_item_s, r->view_lo_s = r->p5_item_s, r->view_hi_s = r->p95_item_s;
        r->view_batch_s = r->st.median;
        return;
    }
    r->view_item_s = r->mean_item_s;
    r->view_lo_s = r->mean_item_s - 2 * r->std_item_s, r->view_hi_s = r->mean_item_s + 2 * r->std_item_s;
    r->view_batch_s = r->st.mean;
    if (r->view_lo_s < 0)
        r->view_lo_s = 0, r->view_clipped = 1;
}

void bb_table_set_view(bb_table *t, bb_stat stat, bb_unit unit)
{
    t->stat = stat, t->unit = unit;
    for (int i = 0; i < t->n_rows; i++)
        row_view(&t->rows[i], stat);
}

void bb_table_default_view(bb_table *t)
{
    int ok = 0, paper = 0;
    for (int i = 0; i < t->n_rows; i++)
        if (!strcmp(t->rows[i].status, "ok") && t->rows[i].has_stats)
            ok++, paper += !strcmp(t->rows[i].preset, "paper");
    t->view_from_preset = ok > 0 && paper == ok;
    bb_table_set_view(t, t->view_from_preset ? BB_STAT_MEAN : BB_STAT_MEDIAN,
                      t->view_from_preset ? BB_UNIT_S : BB_UNIT_MS);
}

double bb_view_scale(const bb_table *t)
{
    return t->unit == BB_UNIT_S ? 1.0 : 1e3;
}

const char *bb_view_unit(const bb_table *t)
{
    return t->unit == BB_UNIT_S ? "s" : "ms";
}

const char *bb_view_unit_word(const bb_table *t)
{
    return t->unit == BB_UNIT_S ? "seconds" : "ms";
}

const char *bb_view_stat_name(const bb_table *t, int capital)
{
    if (t->stat == BB_STAT_MEAN)
        return capital ? "Mean" : "mean";
    return capital ? "Median" : "median";
}

const char *bb_view_bars(const bb_table *t)
{
    return t->stat == BB_STAT_MEAN ? PLUS_MINUS " 2" SIGMA : "p5" EN_DASH "p95";
}

void bb_view_axis_title(const bb_table *t, const char *what, const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s in %s%s", bb_view_stat_name(t, 1), what, bb_view_unit_word(t), suffix ? suffix : "");
}

void bb_view_describe(const bb_table *t, char *buf, size_t len)
{
    if (t->stat == BB_STAT_MEAN)
        snprintf(buf, len, "mean " PLUS_MINUS " 2" SIGMA " of the per-item time (batch time / batch size; " SIGMA
                           ": numpy's std, ddof 0), in %s, as the seed's plot_time.py",
                 bb_view_unit_word(t));
    else
        snprintf(buf, len, "median time per item (batch time / batch size), whiskers p5 to p95, in %s",
                 bb_view_unit_word(t));
}

int bb_view_clipped(const bb_table *t, int setup, const char *family)
{
    int n = 0;
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (r->setup == setup && r->view_clipped && (!family || !strcmp(r->family, family)) &&
            bb_table_ok(t, setup, r->model, r->batch_size) == r)
            n++;
    }
    return n;
}

const char *bb_view_fmt(const bb_table *t, double seconds, char *buf, size_t len)
{
    double v = seconds * bb_view_scale(t);
    snprintf(buf, len, v >= 100 || v == 0 ? "%.1f" : v >= 10 ? "%.2f" : v >= 1 ? "%.3f" : "%#.4g", v);
    return buf;
}

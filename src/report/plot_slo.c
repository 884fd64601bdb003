/*
 * plot_slo.c — the chart of "Serving under a p99 target" (slo.h,
 * BB_CHART_SLO): per model a panel of the simulated p99 latency against
 * the offered rate, a line per max batch size B at its best timeout, the
 * target as a dashed line and the requested rates as grey verticals.
 *
 * Why this file exists: the table names one setting; the chart shows why:
 * how much load each B takes before its p99 crosses the target, and how
 * steeply it rises near its capacity (a setting that meets the target with
 * little room is one traffic spike from missing it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot_charts.h"
#include "report/slo.h"

#define TOP 92.0
#define MAX_TICKS 48

/* The setup's batch size index of b: one colour per B on every panel. */
static int series_of(const bb_setup *s, int64_t b)
{
    for (int i = 0; i < s->n_batches; i++)
        if (s->batches[i] == b)
            return i;
    return 0;
}

/* y range of a panel: every plotted p99 and the target, the top at most
 * 20 x the target (the curves leave the panel there). */
static void y_range(const bb_slo_eval *e, double *lo, double *hi)
{
    *lo = *hi = e->target_s;
    for (int i = 0; i < e->n_b; i++)
        for (int k = 0; k < BB_SIM_GRID - 1; k++) {
            double v = bb_slo_at(e, i, e->best_t[i])->grid_p99[k];
            *lo = v < *lo ? v : *lo, *hi = v > *hi ? v : *hi;
        }
    *hi = *hi > 20 * e->target_s ? 20 * e->target_s : *hi;
    *hi = *hi < 2 * e->target_s ? 2 * e->target_s : *hi;
}

static void curve(bb_canvas *cv, const bb_slo_eval *e, int i, const bb_axis *xa, const bb_axis *ya, int series)
{
    const bb_slo_setting *s = bb_slo_at(e, i, e->best_t[i]);
    double w = i == e->chosen_b ? 3.6 : 2.0, px = 0, py = 0;
    for (int k = 1; k < BB_SIM_GRID; k++) {
        double x = bb_axis_px(xa, e->capacity[i] * k / BB_SIM_GRID), y = bb_axis_px(ya, s->grid_p99[k - 1] * 1e3);
        if (k > 1)
            bb_line(cv, px, py, x, y, w, bb_palette(series), bb_dashed_of(series));
        px = x, py = y;
    }
    for (int k = 1; k < BB_SIM_GRID; k++)
        bb_marker(cv, bb_axis_px(xa, e->capacity[i] * k / BB_SIM_GRID), bb_axis_px(ya, s->grid_p99[k - 1] * 1e3),
                  bb_marker_of(series), 8, bb_palette(series));
}

/* The target line and the requested rates, labelled. */
static void guides(bb_canvas *cv, const bb_slo_eval *e, const bb_box *b, const bb_axis *xa, const bb_axis *ya)
{
    bb_text_style ls = bb_style(12, 0, BB_LEFT, 0, BB_DARK), rr = bb_style(12, 0, BB_RIGHT, 0, BB_DARK);
    bb_text_style rs = bb_style(12, 0, BB_RIGHT, 0, BB_BLACK);
    for (int k = 0; k < e->n_rates; k++) {
        double x = bb_axis_px(xa, e->rates[k]);
        char s[32];
        if (x < b->x || x > b->x + b->w)
            continue;
        bb_line(cv, x, b->y, x, b->y + b->h, 1.4, BB_GREY, 1);
        snprintf(s, sizeof s, "%g/s", e->rates[k]);
        int right = x + 4 + bb_text_width(cv, s, 12, 0) > b->x + b->w; /* keep the label inside the panel */
        bb_text(cv, right ? x - 4 : x + 4, b->y + 14, s, right ? &rr : &ls);
    }
    double y = bb_axis_px(ya, e->target_s * 1e3);
    char s[48];
    bb_line(cv, b->x, y, b->x + b->w, y, 1.8, BB_BLACK, 1);
    snprintf(s, sizeof s, "target %g ms", e->target_s * 1e3);
    bb_text(cv, b->x + b->w - 6, y - 6, s, &rs);
}

/* "T per B (ms): 1: 0, 2: 0, ...; use 8 at 5 ms" under the panel's title. */
static void panel_note(const bb_slo_eval *e, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "best T per B (ms):");
    for (int i = 0; i < e->n_b && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s %lld: %g", i ? "," : "", (long long)e->samples[i].batch,
                              e->t_s[e->best_t[i]] * 1e3);
    if (n < len && e->chosen_b >= 0)
        snprintf(buf + n, len - n, "; use B %lld, T %g ms (thick)", (long long)e->samples[e->chosen_b].batch,
                 e->t_s[e->chosen_t] * 1e3);
    else if (n < len)
        snprintf(buf + n, len - n, "; none meets the target");
}

static void panel(bb_canvas *cv, const bb_table *t, int setup, const char *model, const bb_slo_eval *e,
                  const bb_box *b)
{
    const bb_setup *su = &t->setups[setup];
    double xmax = 0, lo, hi, xt[MAX_TICKS], yt[MAX_TICKS];
    for (int i = 0; i < e->n_b; i++)
        xmax = e->capacity[i] > xmax ? e->capacity[i] : xmax;
    for (int k = 0; k < e->n_rates; k++)
        xmax = e->rates[k] > xmax ? e->rates[k] : xmax;
    y_range(e, &lo, &hi);
    bb_axis xa, ya;
    bb_axis_fit(&xa, 0, xmax, 0);
    bb_axis_fit(&ya, lo * 1e3, hi * 1e3, 10);
    xa.p0 = b->x, xa.p1 = b->x + b->w, ya.p0 = b->y + b->h, ya.p1 = b->y;
    bb_draw_y_axis(cv, b, &ya, yt, bb_axis_ticks(&ya, yt, MAX_TICKS), "p99 latency (ms, log scale)");
    bb_draw_x_axis(cv, b, &xa, xt, bb_axis_ticks(&xa, xt, MAX_TICKS), "Offered rate (items/s)");
    cairo_save(cv->cr);
    cairo_rectangle(cv->cr, b->x, b->y, b->w, b->h);
    cairo_clip(cv->cr);
    for (int i = 0; i < e->n_b; i++)
        curve(cv, e, i, &xa, &ya, series_of(su, e->samples[i].batch));
    cairo_restore(cv->cr);
    guides(cv, e, b, &xa, &ya);
    bb_draw_frame(cv, b);
    char note[512];
    panel_note(e, note, sizeof note);
    bb_text_style ts = bb_style(16, 1, BB_CENTER, 0, BB_BLACK), ns = bb_style(13, 0, BB_CENTER, 0, BB_GREY);
    bb_text(cv, b->x + b->w / 2, b->y - 28, model, &ts);
    bb_text(cv, b->x + b->w / 2, b->y - 9, note, &ns);
}

static int usable(const bb_table *t, int setup, const char *model)
{
    const bb_setup *s = &t->setups[setup];
    for (int b = 0; b < s->n_batches; b++)
        if (bb_table_ok(t, setup, model, s->batches[b]))
            return 1;
    return 0;
}

/* The legend: a line per batch size of the setup. */
static int legend(bb_canvas *cv, const bb_setup *s, double *width, int draw, double x, double y)
{
    int n = s->n_batches > 0 ? s->n_batches : 1;
    bb_legend_item *it = calloc((size_t)n, sizeof *it);
    char(*labels)[32] = calloc((size_t)n, sizeof *labels);
    if (!it || !labels)
        return free(it), free(labels), -1;
    for (int i = 0; i < s->n_batches; i++) {
        snprintf(labels[i], sizeof labels[i], "B = %lld", (long long)s->batches[i]);
        it[i] = (bb_legend_item){labels[i], bb_palette(i), 1, bb_marker_of(i), bb_dashed_of(i)};
    }
    *width = bb_legend_width(cv, "Max batch", it, s->n_batches);
    if (draw)
        bb_legend_draw(cv, x, y, "Max batch", it, s->n_batches);
    free(it), free(labels);
    return 0;
}

int bb_draw_slo(bb_canvas *cv, const bb_table *t, int setup)
{
    const bb_setup *s = &t->setups[setup];
    char sub[640];
    bb_chart_subtitle(t, setup, sub, sizeof sub);
    bb_draw_title(cv, "Simulated p99 latency against offered rate, per max batch size", sub);
    double lw;
    if (legend(cv, s, &lw, 0, 0, 0) != 0)
        return -1;
    int n = 0;
    for (int m = 0; m < s->n_models; m++)
        n += usable(t, setup, s->models[m]);
    int cols = n <= 1 ? 1 : n <= 4 ? 2 : 3, rows = n < 1 ? 1 : (n + cols - 1) / cols, k = 0;
    double cw = (cv->w - lw - 40) / cols, ch = (cv->h - TOP) / rows;
    for (int m = 0; m < s->n_models; m++) {
        bb_slo_eval e;
        int rc = bb_slo_evaluate(t, setup, s->models[m], &e);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        bb_box b = {(k % cols) * cw + 96, TOP + (k / cols) * ch + 44, cw - 96 - 24, ch - 44 - 76};
        panel(cv, t, setup, s->models[m], &e, &b);
        bb_slo_eval_free(&e);
        k++;
    }
    return legend(cv, s, &lw, 1, cv->w - lw - 16, TOP + 44);
}

/*
 * plot_lines.c — the line and scatter charts (plot_charts.h): time per item
 * against batch size (the statistic and error bars of the table's view,
 * report/time_view.h: median with p5–p95 whiskers or mean ± 2σ; the answer's
 * marks always come from the medians; and a panel normalised to each
 * model's best batch size; each model's answer marked: a ring on the batch
 * size to use, a halo on every batch size tied with the fastest within
 * noise), and throughput against batch latency.
 *
 * Why this file exists: the bar charts answer "how fast at each batch
 * size"; these answer "where does it stop paying to grow the batch" (the
 * normalised panel makes models of very different speed comparable) and
 * "what does a larger batch cost in latency for the throughput it buys".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot_charts.h"
#include "report/time_view.h"

#define TOP 92.0
#define MAX_TICKS 48
#define MARK_ROW 15.0 /* height of a row of failure labels */
#define KEY_ROW 22.0  /* a row of the answer's key below the legend */
#define LEGEND_ROW 24.0 /* a legend row (plot_util.c) */
#define TAU 6.28318530717958647692

typedef struct {
    const bb_table *t;
    int setup;
    const bb_setup *s;
    bb_legend_item *items;
    char (*labels)[160];
    bb_recommendation *rec; /* per model, for the vs-batch chart (NULL otherwise) */
    int *has_rec;           /* the model has an answer */
} series_set;

static int series_open(series_set *ss, const bb_table *t, int setup)
{
    ss->t = t, ss->setup = setup, ss->s = &t->setups[setup];
    ss->rec = NULL, ss->has_rec = NULL;
    int n = ss->s->n_models > 0 ? ss->s->n_models : 1;
    ss->items = calloc((size_t)n, sizeof *ss->items);
    ss->labels = calloc((size_t)n, sizeof *ss->labels);
    if (!ss->items || !ss->labels)
        return free(ss->items), free(ss->labels), -1;
    for (int m = 0; m < ss->s->n_models; m++) {
        bb_chart_model_label(t, setup, ss->s->models[m], ss->labels[m], sizeof ss->labels[m]);
        bb_legend_item it = {ss->labels[m], bb_palette(m), 1, bb_marker_of(m), bb_dashed_of(m)};
        ss->items[m] = it;
    }
    return 0;
}

static void series_close(series_set *ss)
{
    free(ss->items), free(ss->labels), free(ss->rec), free(ss->has_rec);
}

/* Each model's answer (bb_table_recommend); -1 on OOM. */
static int series_recommend(series_set *ss)
{
    int n = ss->s->n_models > 0 ? ss->s->n_models : 1;
    ss->rec = calloc((size_t)n, sizeof *ss->rec);
    ss->has_rec = calloc((size_t)n, sizeof *ss->has_rec);
    if (!ss->rec || !ss->has_rec)
        return -1;
    for (int m = 0; m < ss->s->n_models; m++) {
        int rc = bb_table_recommend(ss->t, ss->setup, ss->s->models[m], &ss->rec[m]);
        if (rc < 0)
            return -1;
        ss->has_rec[m] = rc == 0;
    }
    return 0;
}

static const bb_row *ok_at(const series_set *ss, int m, int b)
{
    return bb_table_ok(ss->t, ss->setup, ss->s->models[m], ss->s->batches[b]);
}

/* Range of f(row) over usable rows; returns 0 when there is none. */
static int value_range(const series_set *ss, double (*f)(const bb_row *), double *lo, double *hi)
{
    int any = 0;
    for (int m = 0; m < ss->s->n_models; m++)
        for (int b = 0; b < ss->s->n_batches; b++) {
            const bb_row *r = ok_at(ss, m, b);
            if (!r)
                continue;
            double v = f(r);
            *lo = any && *lo < v ? *lo : v, *hi = any && *hi > v ? *hi : v, any = 1;
        }
    if (!any)
        *lo = 1, *hi = 10;
    return any;
}

/* The lower error-bar end, or the value itself where that end is not above 0
 * (a log axis cannot show it: the whisker runs to the axis's foot). */
static double get_lo(const bb_row *r) { return r->view_lo_s > 0 ? r->view_lo_s : r->view_item_s; }
static double get_hi(const bb_row *r) { return r->view_hi_s; }
static double get_latency(const bb_row *r) { return r->view_batch_s; }
static double view_items(const bb_row *r) { return (double)r->batch_size / r->view_batch_s; }

/* The fastest time per item of model m, or 0. */
static double best_of(const series_set *ss, int m)
{
    double best = 0;
    for (int b = 0; b < ss->s->n_batches; b++) {
        const bb_row *r = ok_at(ss, m, b);
        best = r && (best == 0 || r->view_item_s < best) ? r->view_item_s : best;
    }
    return best;
}

/* Batch sizes as x ticks: all of them, or every other when crowded. */
static int batch_ticks(const bb_setup *s, double *t)
{
    int step = s->n_batches > 12 ? 2 : 1, n = 0;
    for (int b = 0; b < s->n_batches && n < MAX_TICKS; b += step)
        t[n++] = (double)s->batches[b];
    return n;
}

static void panel_title(bb_canvas *cv, const bb_box *b, const char *s)
{
    bb_text_style st = bb_style(16, 1, BB_CENTER, 0, BB_BLACK);
    bb_text(cv, b->x + b->w / 2, b->y - 12, s, &st);
}

/* Polyline of model m through usable points; y(r) in display units. */
static void draw_series(bb_canvas *cv, const series_set *ss, int m, const bb_axis *xa, const bb_axis *ya,
                        double (*x_of)(const bb_row *, double), double (*y_of)(const bb_row *, double), double k)
{
    const bb_row *prev = NULL;
    for (int b = 0; b < ss->s->n_batches; b++) {
        const bb_row *r = ok_at(ss, m, b);
        if (r && prev)
            bb_line(cv, bb_axis_px(xa, x_of(prev, k)), bb_axis_px(ya, y_of(prev, k)), bb_axis_px(xa, x_of(r, k)),
                    bb_axis_px(ya, y_of(r, k)), 2.2, ss->items[m].color, ss->items[m].dashed);
        prev = r;
    }
    for (int b = 0; b < ss->s->n_batches; b++) {
        const bb_row *r = ok_at(ss, m, b);
        if (r)
            bb_marker(cv, bb_axis_px(xa, x_of(r, k)), bb_axis_px(ya, y_of(r, k)), ss->items[m].marker, 9,
                      ss->items[m].color);
    }
}

/* A filled disc in c at opacity alpha (halo), or a ring of width w (alpha 1). */
static void disc(bb_canvas *cv, double x, double y, double radius, bb_rgb c, double alpha, double w)
{
    cairo_t *cr = cv->cr;
    cairo_save(cr);
    cairo_new_path(cr);
    cairo_arc(cr, x, y, radius, 0, TAU);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
    if (w > 0) {
        cairo_set_line_width(cr, w);
        cairo_stroke(cr);
    } else {
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

/* Model m's answer at its points: halos behind the tied batch sizes
 * (ring = 0), or a ring around the one to use (ring = 1). */
static void answer_marks(bb_canvas *cv, const series_set *ss, int m, const bb_axis *xa, const bb_axis *ya,
                         double (*y_of)(const bb_row *, double), double k, int ring)
{
    const bb_recommendation *r = &ss->rec[m];
    for (int i = 0; ss->has_rec[m] && i < r->n; i++) {
        const bb_row *row = r->tied[i] ? bb_table_ok(ss->t, ss->setup, ss->s->models[m], r->batch[i]) : NULL;
        if (!row)
            continue;
        double x = bb_axis_px(xa, (double)r->batch[i]), y = bb_axis_px(ya, y_of(row, k));
        if (!ring)
            disc(cv, x, y, 12, ss->items[m].color, 0.30, 0);
        else if (r->batch[i] == r->recommended_batch)
            disc(cv, x, y, 11, BB_BLACK, 1, 2.4);
    }
}

static double x_batch(const bb_row *r, double k) { return (void)k, (double)r->batch_size; }
static double y_item(const bb_row *r, double k) { return r->view_item_s * k; }
static double y_rel(const bb_row *r, double best) { return r->view_item_s / best; }
static double x_latency(const bb_row *r, double k) { return r->view_batch_s * k; }
static double y_items(const bb_row *r, double k) { return (void)k, view_items(r); }

static void whiskers(bb_canvas *cv, const series_set *ss, int m, const bb_axis *xa, const bb_axis *ya, double k)
{
    for (int b = 0; b < ss->s->n_batches; b++) {
        const bb_row *r = ok_at(ss, m, b);
        if (!r)
            continue;
        double x = bb_axis_px(xa, (double)r->batch_size), y1 = bb_axis_px(ya, r->view_hi_s * k);
        double y0 = r->view_lo_s > 0 ? bb_axis_px(ya, r->view_lo_s * k) : bb_axis_px(ya, ya->lo);
        bb_line(cv, x, y0, x, y1, 1.4, ss->items[m].color, 0);
        bb_line(cv, x - 4, y0, x + 4, y0, 1.4, ss->items[m].color, 0);
        bb_line(cv, x - 4, y1, x + 4, y1, 1.4, ss->items[m].color, 0);
    }
}

/* Rows of failure labels needed: the most failed models at one batch size. */
static int failure_rows(const series_set *ss)
{
    int rows = 0;
    for (int b = 0; b < ss->s->n_batches; b++) {
        int k = 0;
        for (int m = 0; m < ss->s->n_models; m++)
            k += ok_at(ss, m, b) == NULL;
        rows = k > rows ? k : rows;
    }
    return rows;
}

/* Writes "oom", "missing", ... in a band below the data, at the batch size
 * it concerns, in the model's colour, one row per failed model. */
static void failure_marks(bb_canvas *cv, const series_set *ss, const bb_box *box, const bb_axis *xa)
{
    for (int b = 0; b < ss->s->n_batches; b++) {
        int k = 0;
        for (int m = 0; m < ss->s->n_models; m++) {
            if (ok_at(ss, m, b))
                continue;
            bb_text_style st = bb_style(12, 1, BB_CENTER, 0, ss->items[m].color);
            double x = bb_axis_px(xa, (double)ss->s->batches[b]), y = box->y + box->h - 8 - MARK_ROW * k++;
            bb_text(cv, x, y, bb_table_state(ss->t, ss->setup, ss->s->models[m], ss->s->batches[b]), &st);
        }
    }
}

static void left_panel(bb_canvas *cv, const series_set *ss, const bb_box *box, const bb_axis *xa, const double *xt,
                       int nxt)
{
    double lo, hi, dummy, scale = bb_view_scale(ss->t), t[MAX_TICKS];
    value_range(ss, get_lo, &lo, &dummy);
    value_range(ss, get_hi, &dummy, &hi);
    bb_axis ya;
    int rows = failure_rows(ss);
    bb_axis_fit(&ya, lo * scale, hi * scale, 10);
    ya.p0 = box->y + box->h - (rows ? rows * MARK_ROW + 10 : 0), ya.p1 = box->y;
    char title[96], ptitle[128];
    bb_view_axis_title(ss->t, "time per item", NULL, title, sizeof title);
    bb_draw_y_axis(cv, box, &ya, t, bb_axis_ticks(&ya, t, MAX_TICKS), title);
    bb_draw_x_axis(cv, box, xa, xt, nxt, "Batch size (log scale)");
    for (int m = 0; m < ss->s->n_models; m++)
        answer_marks(cv, ss, m, xa, &ya, y_item, scale, 0);
    for (int m = 0; m < ss->s->n_models; m++) {
        whiskers(cv, ss, m, xa, &ya, scale);
        draw_series(cv, ss, m, xa, &ya, x_batch, y_item, scale);
    }
    for (int m = 0; m < ss->s->n_models; m++)
        answer_marks(cv, ss, m, xa, &ya, y_item, scale, 1);
    if (rows)
        bb_line(cv, box->x, ya.p0 + 4, box->x + box->w, ya.p0 + 4, 1, BB_GREY, 1);
    failure_marks(cv, ss, box, xa);
    bb_draw_frame(cv, box);
    snprintf(ptitle, sizeof ptitle, "%s time per item (error bars: %s)", bb_view_stat_name(ss->t, 1),
             bb_view_bars(ss->t));
    panel_title(cv, box, ptitle);
}

static void right_panel(bb_canvas *cv, const series_set *ss, const bb_box *box, const bb_axis *xa, const double *xt,
                        int nxt)
{
    double hi = 1.1, t[MAX_TICKS];
    for (int m = 0; m < ss->s->n_models; m++) {
        double best = best_of(ss, m);
        for (int b = 0; best > 0 && b < ss->s->n_batches; b++) {
            const bb_row *r = ok_at(ss, m, b);
            hi = r && r->view_item_s / best > hi ? r->view_item_s / best : hi;
        }
    }
    bb_axis ya;
    bb_axis_fit(&ya, 1, hi * 1.03, 0);
    ya.lo = 1 - 0.04 * (ya.hi - 1); /* keep the line at 1 off the frame */
    ya.p0 = box->y + box->h, ya.p1 = box->y;
    bb_draw_y_axis(cv, box, &ya, t, bb_axis_ticks(&ya, t, MAX_TICKS), "Time per item / best (\xC3\x97)");
    bb_draw_x_axis(cv, box, xa, xt, nxt, "Batch size (log scale)");
    double y1 = bb_axis_px(&ya, 1);
    bb_line(cv, box->x, y1, box->x + box->w, y1, 1.4, BB_BLACK, 1);
    for (int m = 0; m < ss->s->n_models; m++) {
        double best = best_of(ss, m);
        if (best > 0)
            answer_marks(cv, ss, m, xa, &ya, y_rel, best, 0);
    }
    for (int m = 0; m < ss->s->n_models; m++) {
        double best = best_of(ss, m);
        if (best > 0) {
            draw_series(cv, ss, m, xa, &ya, x_batch, y_rel, best);
            answer_marks(cv, ss, m, xa, &ya, y_rel, best, 1);
        }
    }
    bb_draw_frame(cv, box);
    panel_title(cv, box, "Relative to the model's best batch size (1 = best)");
}

/* The key of the answer's marks, below the legend at (x, y). */
static void answer_key(bb_canvas *cv, double x, double y, const char (*lines)[64])
{
    bb_text_style ts = bb_style(14, 0, BB_LEFT, 0, BB_BLACK);
    disc(cv, x + 13, y + 9, 12, BB_GREY, 0.30, 0);
    bb_text(cv, x + 34, y + 14, lines[0], &ts);
    bb_text(cv, x + 34, y + 14 + KEY_ROW - 4, lines[1], &ts);
    disc(cv, x + 13, y + 9 + 2 * KEY_ROW + 4, 11, BB_BLACK, 1, 2.4);
    bb_text(cv, x + 34, y + 14 + 2 * KEY_ROW + 4, lines[2], &ts);
}

int bb_draw_vs_batch(bb_canvas *cv, const bb_table *t, int setup)
{
    series_set ss;
    if (series_open(&ss, t, setup) != 0)
        return -1;
    if (series_recommend(&ss) != 0)
        return series_close(&ss), -1;
    char sub[640], key[3][64];
    bb_chart_subtitle(t, setup, sub, sizeof sub);
    int clipped = bb_view_clipped(t, setup, NULL);
    size_t n = strlen(sub);
    if (clipped) /* a log axis has no 0: the whisker runs to the axis's foot */
        snprintf(sub + n, sizeof sub - n, "; lower error bar of %d point%s clipped (mean \xE2\x88\x92 2\xCF\x83 \xE2\x89\xA4 0)",
                 clipped, clipped == 1 ? "" : "s");
    bb_draw_title(cv, "Time per item against batch size", sub);
    snprintf(key[0], sizeof key[0], "tied with the fastest");
    snprintf(key[1], sizeof key[1], "(within noise, %.3g%% margin)", t->margin * 100);
    snprintf(key[2], sizeof key[2], "the batch size to use");
    double lw = bb_legend_width(cv, "Model", ss.items, ss.s->n_models), xt[MAX_TICKS];
    for (int i = 0; i < 3; i++) {
        double w = 34 + bb_text_width(cv, key[i], 14, 0) + 24;
        lw = w > lw ? w : lw;
    }
    double gap = 110, left = 100, pw = (cv->w - left - gap - lw - 40) / 2;
    bb_box b1 = {left, TOP + 30, pw, cv->h - TOP - 30 - 84}, b2 = b1;
    b2.x = left + pw + gap;
    int nxt = batch_ticks(ss.s, xt);
    bb_axis xa;
    bb_axis_fit(&xa, nxt ? xt[0] : 1, ss.s->n_batches ? (double)ss.s->batches[ss.s->n_batches - 1] : 2, 2);
    xa.p0 = b1.x, xa.p1 = b1.x + pw;
    left_panel(cv, &ss, &b1, &xa, xt, nxt);
    xa.p0 = b2.x, xa.p1 = b2.x + pw;
    right_panel(cv, &ss, &b2, &xa, xt, nxt);
    bb_legend_draw(cv, b2.x + pw + 22, b1.y, "Model", ss.items, ss.s->n_models);
    answer_key(cv, b2.x + pw + 22, b1.y + LEGEND_ROW + 2 + LEGEND_ROW * ss.s->n_models + 14, key);
    series_close(&ss);
    return 0;
}

/* ---- throughput against latency ------------------------------------------------ */

static void point_labels(bb_canvas *cv, const series_set *ss, int m, const bb_axis *xa, const bb_axis *ya, double k)
{
    bb_text_style st = bb_style(12, 0, BB_LEFT, 0, BB_DARK);
    for (int b = 0; b < ss->s->n_batches; b++) {
        const bb_row *r = ok_at(ss, m, b);
        char s[24];
        if (!r)
            continue;
        snprintf(s, sizeof s, "%lld", (long long)r->batch_size);
        bb_text(cv, bb_axis_px(xa, r->view_batch_s * k) + 7, bb_axis_px(ya, view_items(r)) - 7, s, &st);
    }
}

int bb_draw_throughput(bb_canvas *cv, const bb_table *t, int setup)
{
    series_set ss;
    if (series_open(&ss, t, setup) != 0)
        return -1;
    char sub[512], xtitle[96];
    bb_chart_subtitle(t, setup, sub, sizeof sub);
    bb_draw_title(cv, "Throughput against batch latency (points labelled with the batch size)", sub);
    double lw = bb_legend_width(cv, "Model", ss.items, ss.s->n_models), xt[MAX_TICKS], yt[MAX_TICKS];
    bb_box box = {110, TOP, cv->w - 110 - lw - 40, cv->h - TOP - 84};
    double xlo, xhi, ylo, yhi, scale = bb_view_scale(t);
    value_range(&ss, get_latency, &xlo, &xhi);
    value_range(&ss, view_items, &ylo, &yhi);
    bb_axis xa, ya;
    bb_axis_fit(&xa, xlo * scale, xhi * scale, 10);
    bb_axis_fit(&ya, ylo, yhi, 10);
    xa.p0 = box.x, xa.p1 = box.x + box.w, ya.p0 = box.y + box.h, ya.p1 = box.y;
    bb_view_axis_title(t, "batch latency", ", log scale", xtitle, sizeof xtitle);
    bb_draw_y_axis(cv, &box, &ya, yt, bb_axis_ticks(&ya, yt, MAX_TICKS), "Throughput (items/s, log scale)");
    bb_draw_x_axis(cv, &box, &xa, xt, bb_axis_ticks(&xa, xt, MAX_TICKS), xtitle);
    for (int m = 0; m < ss.s->n_models; m++) {
        draw_series(cv, &ss, m, &xa, &ya, x_latency, y_items, scale);
        point_labels(cv, &ss, m, &xa, &ya, scale);
    }
    bb_draw_frame(cv, &box);
    bb_legend_draw(cv, box.x + box.w + 22, box.y, "Model", ss.items, ss.s->n_models);
    series_close(&ss);
    return 0;
}

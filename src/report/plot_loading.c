/*
 * plot_loading.c — the data-loading charts (loading.h):
 *   dataload_waits-<kind>-<mode>[-procs]-sleep<s>-b<batch>   the consumer's wait for
 *       every batch over the batch index, one line per worker count (the
 *       seed's figures: flat with one worker, spikes every n batches with n)
 *   dataload_wait_vs_batch-<kind>-<mode>[-procs]-sleep<s>   mean wait per batch
 *       (solid) and the first batch's wait (dashed) against batch size
 *   pipeline_items_per_s-<model>-<device>   end-to-end items/s over batch
 *       size x loader workers, the best cell outlined
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/loading.h"

#define MAX_SERIES 16
#define TICKS 48

typedef int (*draw_fn)(bb_canvas *cv, const bb_loading *l, const void *key);

/* Draws one chart in every format and records it. */
static int emit(const bb_loading *l, const void *key, draw_fn draw, bb_chart kind, const char *out_dir,
                const char *name, const char *caption, int w, int h, unsigned formats, bb_figures *out, bb_err *err)
{
    static const struct {
        unsigned bit;
        const char *ext;
    } fmts[] = {{BB_FMT_PNG, "png"}, {BB_FMT_SVG, "svg"}, {BB_FMT_PDF, "pdf"}};
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        if (!(formats & fmts[f].bit))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.%s", out_dir, name, fmts[f].ext);
        bb_canvas cv;
        if (bb_canvas_open(&cv, (int)fmts[f].bit, w, h, err) != 0)
            return -1;
        if (draw(&cv, l, key) != 0) {
            bb_canvas_discard(&cv);
            return bb_err_oom(err, "%s: out of memory drawing", path);
        }
        if (bb_canvas_save(&cv, path, err) != 0 || bb_figures_add_path(out, path) != 0)
            return -1;
    }
    return bb_figures_add(out, kind, 0, name, caption) == 0 ? 0 : bb_err_oom(err, "out of memory");
}

static void safe_name(char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '-' || *s == '_'))
            *s = '_';
}

static int same_group(const bb_dl_row *a, const bb_dl_row *b)
{
    return !strcmp(a->kind, b->kind) && !strcmp(a->mode, b->mode) && a->sleep_s == b->sleep_s &&
           !strcmp(a->worker_kind, b->worker_kind);
}

/* Worker processes: their charts' names and subtitles say so. */
static const char *procs_tag(const bb_dl_row *a)
{
    return strcmp(a->worker_kind, "process") ? "" : "-procs";
}

/* Sorted distinct worker counts of the rows in a's group (and batch if >0). */
static int worker_set(const bb_loading *l, const bb_dl_row *a, int64_t batch, int *w)
{
    int n = 0;
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *r = &l->dl[i];
        if (!same_group(a, r) || (batch > 0 && r->batch_size != batch) || strcmp(r->status, "ok"))
            continue;
        int k = 0;
        while (k < n && w[k] < r->workers)
            k++;
        if ((k < n && w[k] == r->workers) || n == MAX_SERIES)
            continue;
        memmove(w + k + 1, w + k, sizeof *w * (size_t)(n - k));
        w[k] = r->workers, n++;
    }
    return n;
}

/* Sorted distinct batch sizes of the group's ok rows. */
static int batch_set(const bb_loading *l, const bb_dl_row *a, int64_t *b)
{
    int n = 0;
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *r = &l->dl[i];
        if (!same_group(a, r) || strcmp(r->status, "ok"))
            continue;
        int k = 0;
        while (k < n && b[k] < r->batch_size)
            k++;
        if ((k < n && b[k] == r->batch_size) || n == TICKS)
            continue;
        memmove(b + k + 1, b + k, sizeof *b * (size_t)(n - k));
        b[k] = r->batch_size, n++;
    }
    return n;
}

static const bb_dl_row *find_dl(const bb_loading *l, const bb_dl_row *a, int64_t batch, int workers)
{
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *r = &l->dl[i];
        if (same_group(a, r) && r->batch_size == batch && r->workers == workers && !strcmp(r->status, "ok"))
            return r;
    }
    return NULL;
}

static void legend_workers(bb_canvas *cv, const bb_box *box, const int *w, int n, bb_legend_item *it,
                           char (*lab)[32])
{
    for (int s = 0; s < n; s++) {
        snprintf(lab[s], sizeof lab[s], "%d worker%s", w[s], w[s] == 1 ? "" : "s");
        it[s] = (bb_legend_item){lab[s], bb_palette(s), 1, bb_marker_of(s), 0};
    }
    bb_legend_draw(cv, box->x + box->w + 22, box->y, "Loader", it, n);
}

static int draw_waits(bb_canvas *cv, const bb_loading *l, const void *key)
{
    const bb_dl_row *a = key;
    int w[MAX_SERIES], n = worker_set(l, a, a->batch_size, w), nb = 1;
    double hi = 0, scale, t[TICKS];
    for (int s = 0; s < n; s++) {
        const bb_dl_row *r = find_dl(l, a, a->batch_size, w[s]);
        for (int i = 0; r && i < r->n_waits; i++)
            hi = r->waits_s[i] > hi ? r->waits_s[i] : hi;
        nb = r && r->n_waits > nb ? r->n_waits : nb;
    }
    const char *unit = bb_time_unit(hi, &scale);
    char title[160], sub[200], yt[64];
    snprintf(title, sizeof title, "Wait for each batch: %s items, batch size %lld", a->kind, (long long)a->batch_size);
    snprintf(sub, sizeof sub, "loader mode %s%s, simulated inference %.3g s after each batch (batch 0 includes "
             "start-up)", a->mode, *procs_tag(a) ? ", worker processes" : "", a->sleep_s);
    bb_draw_title(cv, title, sub);
    bb_box box = {90, 80, cv->w - 330, cv->h - 150};
    bb_axis xa, ya;
    bb_axis_fit(&xa, 0, nb - 1 > 0 ? nb - 1 : 1, 0), bb_axis_fit(&ya, 0, hi * scale * 1.05, 0);
    xa.p0 = box.x, xa.p1 = box.x + box.w, ya.p0 = box.y + box.h, ya.p1 = box.y;
    snprintf(yt, sizeof yt, "Wait (%s)", unit);
    bb_draw_y_axis(cv, &box, &ya, t, bb_axis_ticks(&ya, t, TICKS), yt);
    bb_draw_x_axis(cv, &box, &xa, t, bb_axis_ticks(&xa, t, TICKS), "Batch index");
    for (int s = 0; s < n; s++) {
        const bb_dl_row *r = find_dl(l, a, a->batch_size, w[s]);
        for (int i = 0; r && i < r->n_waits; i++) {
            double x = bb_axis_px(&xa, i), y = bb_axis_px(&ya, r->waits_s[i] * scale);
            if (i)
                bb_line(cv, bb_axis_px(&xa, i - 1), bb_axis_px(&ya, r->waits_s[i - 1] * scale), x, y, 2.2,
                        bb_palette(s), 0);
            bb_marker(cv, x, y, bb_marker_of(s), 7, bb_palette(s));
        }
    }
    bb_draw_frame(cv, &box);
    bb_legend_item it[MAX_SERIES];
    char lab[MAX_SERIES][32];
    legend_workers(cv, &box, w, n, it, lab);
    return 0;
}

static int draw_vs_batch(bb_canvas *cv, const bb_loading *l, const void *key)
{
    const bb_dl_row *a = key;
    int w[MAX_SERIES], n = worker_set(l, a, 0, w);
    double lo = INFINITY, hi = 0, bmin = INFINITY, bmax = 0, scale, t[TICKS];
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *r = &l->dl[i];
        if (!same_group(a, r) || strcmp(r->status, "ok") || r->mean_wait_s <= 0)
            continue;
        lo = fmin(lo, fmin(r->mean_wait_s, r->first_wait_s)), hi = fmax(hi, fmax(r->mean_wait_s, r->first_wait_s));
        bmin = fmin(bmin, (double)r->batch_size), bmax = fmax(bmax, (double)r->batch_size);
    }
    if (!(hi > 0))
        lo = hi = bmin = bmax = 1;
    const char *unit = bb_time_unit(hi, &scale);
    char sub[200], yt[80];
    snprintf(sub, sizeof sub, "%s items, loader mode %s%s, simulated inference %.3g s; solid: mean wait after the "
             "first batch, dashed: first batch", a->kind, a->mode, *procs_tag(a) ? " (processes)" : "", a->sleep_s);
    bb_draw_title(cv, "Wait per batch against batch size", sub);
    bb_box box = {90, 80, cv->w - 330, cv->h - 150};
    bb_axis xa, ya;
    bb_axis_fit(&xa, bmin, bmax, 2), bb_axis_fit(&ya, fmax(lo * scale, 1e-6 * scale), hi * scale, 10);
    xa.p0 = box.x, xa.p1 = box.x + box.w, ya.p0 = box.y + box.h, ya.p1 = box.y;
    snprintf(yt, sizeof yt, "Wait (%s, log scale)", unit);
    bb_draw_y_axis(cv, &box, &ya, t, bb_axis_ticks(&ya, t, TICKS), yt);
    bb_draw_x_axis(cv, &box, &xa, t, bb_axis_ticks(&xa, t, TICKS), "Batch size (log scale)");
    int64_t bs[TICKS];
    int nbs = batch_set(l, a, bs);
    for (int s = 0; s < n; s++)
        for (int first = 0; first < 2; first++) {
            double px = NAN, py = NAN;
            for (int k = 0; k < nbs; k++) {
                const bb_dl_row *r = find_dl(l, a, bs[k], w[s]);
                double v = r ? (first ? r->first_wait_s : r->mean_wait_s) : -1;
                if (v <= 0)
                    continue;
                double x = bb_axis_px(&xa, (double)bs[k]), y = bb_axis_px(&ya, v * scale);
                if (!isnan(px))
                    bb_line(cv, px, py, x, y, 2.2, bb_palette(s), first);
                bb_marker(cv, x, y, bb_marker_of(s), first ? 5 : 8, bb_palette(s));
                px = x, py = y;
            }
        }
    bb_draw_frame(cv, &box);
    bb_legend_item it[MAX_SERIES];
    char lab[MAX_SERIES][32];
    legend_workers(cv, &box, w, n, it, lab);
    return 0;
}

/* ---- the end-to-end grid ------------------------------------------------------ */

typedef struct {
    const bb_pl_row *first; /* any row of the (model, device) */
    int64_t batches[TICKS];
    int workers[MAX_SERIES], nb, nw;
} grid;

static void grid_axes(const bb_loading *l, grid *g)
{
    g->nb = g->nw = 0;
    for (int i = 0; i < l->n_pl; i++) {
        const bb_pl_row *r = &l->pl[i];
        if (!bb_pl_same_setup(g->first, r))
            continue;
        int k = 0;
        while (k < g->nb && g->batches[k] < r->batch_size)
            k++;
        if (!(k < g->nb && g->batches[k] == r->batch_size) && g->nb < TICKS) {
            memmove(g->batches + k + 1, g->batches + k, sizeof *g->batches * (size_t)(g->nb - k));
            g->batches[k] = r->batch_size, g->nb++;
        }
        for (k = 0; k < g->nw && g->workers[k] < r->workers;)
            k++;
        if (!(k < g->nw && g->workers[k] == r->workers) && g->nw < MAX_SERIES) {
            memmove(g->workers + k + 1, g->workers + k, sizeof *g->workers * (size_t)(g->nw - k));
            g->workers[k] = r->workers, g->nw++;
        }
    }
}

static const bb_pl_row *find_pl(const bb_loading *l, const bb_pl_row *a, int64_t batch, int workers)
{
    for (int i = 0; i < l->n_pl; i++)
        if (bb_pl_same_setup(a, &l->pl[i]) && l->pl[i].batch_size == batch && l->pl[i].workers == workers)
            return &l->pl[i];
    return NULL;
}

/* Light yellow (low) to dark blue (high). */
static bb_rgb heat(double f)
{
    bb_rgb lo = {1.0, 0.97, 0.75}, hi = {0.05, 0.25, 0.55};
    return (bb_rgb){lo.r + (hi.r - lo.r) * f, lo.g + (hi.g - lo.g) * f, lo.b + (hi.b - lo.b) * f};
}

/* A 3-unit black frame just inside the cell. */
static void outline(bb_canvas *cv, double x, double y, double w, double h)
{
    for (int k = 0; k < 3; k++) {
        bb_line(cv, x + k, y + k, x + w - k, y + k, 1, BB_BLACK, 0);
        bb_line(cv, x + k, y + h - k, x + w - k, y + h - k, 1, BB_BLACK, 0);
        bb_line(cv, x + k, y + k, x + k, y + h - k, 1, BB_BLACK, 0);
        bb_line(cv, x + w - k, y + k, x + w - k, y + h - k, 1, BB_BLACK, 0);
    }
}

static int draw_grid(bb_canvas *cv, const bb_loading *l, const void *key)
{
    grid g = {.first = key};
    grid_axes(l, &g);
    double lo = INFINITY, hi = 0;
    const bb_pl_row *best = NULL;
    for (int i = 0; i < l->n_pl; i++) {
        const bb_pl_row *r = &l->pl[i];
        if (!bb_pl_same_setup(g.first, r) || strcmp(r->status, "ok"))
            continue;
        lo = fmin(lo, r->items_per_s), hi = fmax(hi, r->items_per_s);
        best = !best || r->items_per_s > best->items_per_s ? r : best;
    }
    char title[256], sub[200], buf[64];
    snprintf(title, sizeof title, "End-to-end items/s: %s on %s", g.first->model, g.first->device);
    snprintf(sub, sizeof sub, "loading overlapped with inference; cell: items/s (share of time waiting for data); "
             "outlined: best");
    bb_draw_title(cv, title, sub);
    double x0 = 150, y0 = 100, cw = (cv->w - 200) / (g.nw ? g.nw : 1), ch = (cv->h - 190) / (g.nb ? g.nb : 1);
    bb_text_style lab = bb_style(15, 0, BB_CENTER, 0, BB_DARK), lr = bb_style(15, 0, BB_RIGHT, 0, BB_DARK);
    for (int b = 0; b < g.nb; b++) {
        snprintf(buf, sizeof buf, "%lld", (long long)g.batches[b]);
        bb_text(cv, x0 - 12, y0 + (b + 0.5) * ch + 5, buf, &lr);
        for (int w = 0; w < g.nw; w++) {
            const bb_pl_row *r = find_pl(l, g.first, g.batches[b], g.workers[w]);
            int ok = r && !strcmp(r->status, "ok");
            double f = ok && hi > lo ? (r->items_per_s - lo) / (hi - lo) : ok ? 1.0 : 0.0;
            bb_rect_fill(cv, x0 + w * cw, y0 + b * ch, cw, ch, ok ? heat(f) : BB_GRID, 1);
            bb_text_style st = bb_style(15, r == best, BB_CENTER, 0, f > 0.55 ? (bb_rgb){1, 1, 1} : BB_BLACK);
            if (ok)
                snprintf(buf, sizeof buf, "%.1f (%.0f%%)", r->items_per_s, 100.0 * r->wait_fraction);
            else
                snprintf(buf, sizeof buf, "%s", r ? r->status : "missing");
            bb_text(cv, x0 + (w + 0.5) * cw, y0 + (b + 0.5) * ch + 5, buf, &st);
            if (r == best)
                outline(cv, x0 + w * cw, y0 + b * ch, cw, ch);
        }
    }
    for (int w = 0; w < g.nw; w++) {
        snprintf(buf, sizeof buf, "%d", g.workers[w]);
        bb_text(cv, x0 + (w + 0.5) * cw, y0 + g.nb * ch + 24, buf, &lab);
    }
    bb_text(cv, x0 + g.nw * cw / 2, y0 + g.nb * ch + 52, "Loader workers", &lab);
    bb_text_style yl = bb_style(15, 0, BB_CENTER, -90, BB_DARK);
    bb_text(cv, 40, y0 + g.nb * ch / 2, "Batch size", &yl);
    return 0;
}

/* ---- all charts ------------------------------------------------------------------ */

static int plot_dataload(const bb_loading *l, const char *out_dir, unsigned formats, bb_figures *out, bb_err *err)
{
    char name[192], cap[256];
    for (int i = 0; i < l->n_dl; i++) {
        const bb_dl_row *a = &l->dl[i];
        int first_of_group = 1, first_of_batch = 1;
        for (int j = 0; j < i; j++) {
            first_of_group &= !same_group(a, &l->dl[j]);
            first_of_batch &= !(same_group(a, &l->dl[j]) && l->dl[j].batch_size == a->batch_size);
        }
        if (first_of_batch) {
            snprintf(name, sizeof name, "dataload_waits-%s-%s%s-sleep%g-b%lld", a->kind, a->mode, procs_tag(a),
                     a->sleep_s, (long long)a->batch_size);
            safe_name(name);
            snprintf(cap, sizeof cap, "Wait for each batch over the batch index (%s items, batch size %lld, "
                     "simulated inference %g s%s), one line per worker count", a->kind, (long long)a->batch_size,
                     a->sleep_s, *procs_tag(a) ? ", worker processes" : "");
            if (emit(l, a, draw_waits, BB_CHART_LOAD_WAITS, out_dir, name, cap, 1200, 640, formats, out, err))
                return -1;
        }
        if (first_of_group) {
            snprintf(name, sizeof name, "dataload_wait_vs_batch-%s-%s%s-sleep%g", a->kind, a->mode, procs_tag(a),
                     a->sleep_s);
            safe_name(name);
            snprintf(cap, sizeof cap, "Mean and first-batch wait against batch size (%s items, simulated "
                     "inference %g s%s)", a->kind, a->sleep_s, *procs_tag(a) ? ", worker processes" : "");
            if (emit(l, a, draw_vs_batch, BB_CHART_LOAD_VS_BATCH, out_dir, name, cap, 1200, 640, formats, out, err))
                return -1;
        }
    }
    return 0;
}

int bb_loading_plot(const bb_loading *l, const char *out_dir, unsigned formats, bb_figures *out, bb_err *err)
{
    if (plot_dataload(l, out_dir, formats, out, err) != 0)
        return -1;
    for (int i = 0; i < l->n_pl; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first &= !bb_pl_same_setup(&l->pl[i], &l->pl[j]);
        if (!first)
            continue;
        char name[192], cap[256];
        int procs = !strcmp(l->pl[i].worker_kind, "process");
        snprintf(name, sizeof name, "pipeline_items_per_s-%s-%s%s", l->pl[i].model, l->pl[i].device,
                 procs ? "-procs" : "");
        safe_name(name);
        snprintf(cap, sizeof cap, "End-to-end items/s of %s over batch size and loader %s (best outlined)",
                 l->pl[i].model, procs ? "worker processes" : "workers");
        if (emit(l, &l->pl[i], draw_grid, BB_CHART_PIPELINE_GRID, out_dir, name, cap, 1100, 700, formats, out, err))
            return -1;
    }
    return 0;
}

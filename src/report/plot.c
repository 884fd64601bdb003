/*
 * plot.c — which charts exist, their files, and the grouped-bar charts
 * (plot.h): the seed's time-per-item figures and the ratio of the first setup to each other.
 *
 * Why this file exists: it reproduces the seed's figures (one group per
 * model, one bar per batch size) from the result folders, with the
 * statistic the table's view asks for (report/time_view.h): the seed's own
 * mean ± 2σ in seconds, or the median with p5–p95 whiskers in ms, and
 * marks every configuration that has no bar so a gap is never mistaken for
 * "not measured on purpose". Captions say which statistic each chart shows.
 */
#include "report/plot.h"
#include "report/energy_view.h"
#include "report/hardware.h"
#include "report/slo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot_charts.h"
#include "report/time_view.h"

#define TOP 92.0
#define MAX_BAR 64.0 /* widest bar, so a lone model does not look like a wall */

/* ---- formats and sizes ------------------------------------------------------- */

int bb_plot_parse_formats(const char *s, unsigned *mask, bb_err *err)
{
    static const struct {
        const char *name;
        unsigned bit;
    } fmts[] = {{"png", BB_FMT_PNG}, {"svg", BB_FMT_SVG}, {"pdf", BB_FMT_PDF}};
    *mask = 0;
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++)
            if (n == strlen(fmts[i].name) && strncmp(p, fmts[i].name, n) == 0)
                bit = fmts[i].bit;
        if (!bit)
            return bb_err_set(err, "'%.*s' is not one of png, svg, pdf", (int)n, p);
        *mask |= bit;
        p += n + (p[n] == ',');
    }
    return *mask ? 0 : bb_err_set(err, "no format given (png, svg, pdf)");
}

void bb_plot_size(bb_chart kind, int *w, int *h)
{
    *w = kind == BB_CHART_VS_BATCH ? 1600 : 1200;
    *h = kind == BB_CHART_THROUGHPUT ? 760 : kind == BB_CHART_VS_BATCH ? 720 : 700;
}

/* ---- shared chart text ------------------------------------------------------- */

void bb_chart_subtitle(const bb_table *t, int setup, char *buf, size_t len)
{
    const bb_setup *s = &t->setups[setup];
    snprintf(buf, len, "Engine %s, device %s, host %s (%s), %d thread%s, %s, %s head", s->engine, s->device, s->host,
             s->cpu_model, s->threads, s->threads == 1 ? "" : "s", s->precision, s->head);
}

void bb_chart_model_label(const bb_table *t, int setup, const char *model, char *buf, size_t len)
{
    const bb_setup *s = &t->setups[setup];
    size_t n = (size_t)snprintf(buf, len, "%s", model);
    int shown = 0;
    for (int b = 0; b < s->n_batches && n < len; b++) {
        if (bb_table_ok(t, setup, model, s->batches[b]))
            continue;
        const char *st = bb_table_state(t, setup, model, s->batches[b]);
        if (shown++ == 3) {
            n += (size_t)snprintf(buf + n, len - n, ", ...");
            break;
        }
        n += (size_t)snprintf(buf + n, len - n, "%s%lld: %s", shown == 1 ? " (" : ", ", (long long)s->batches[b], st);
    }
    if (shown && n < len)
        snprintf(buf + n, len - n, ")");
}

/* ---- grouped bars ------------------------------------------------------------ */

typedef struct {
    int ng, nb;
    const char **groups;     /* ng group names */
    char (*bars)[24];        /* nb legend labels */
    double *v, *lo, *hi;     /* ng*nb, display units; v NaN: no bar; lo/hi NaN: no whisker */
    const char **mark;       /* ng*nb: what to write where there is no bar */
    double ref;              /* > 0: dashed reference line at this value */
    const char *title, *ylabel, *xlabel, *legend_title;
    char subtitle[640];
    char title_buf[192], ylabel_buf[128]; /* storage for title / ylabel when composed */
} bars;

static int bars_alloc(bars *d, int ng, int nb)
{
    memset(d, 0, sizeof *d);
    size_t n = (size_t)(ng > 0 ? ng : 1) * (size_t)(nb > 0 ? nb : 1);
    d->ng = ng, d->nb = nb;
    d->groups = calloc((size_t)(ng > 0 ? ng : 1), sizeof *d->groups);
    d->bars = calloc((size_t)(nb > 0 ? nb : 1), sizeof *d->bars);
    d->v = malloc(n * sizeof *d->v), d->lo = malloc(n * sizeof *d->lo), d->hi = malloc(n * sizeof *d->hi);
    d->mark = calloc(n, sizeof *d->mark);
    if (!d->groups || !d->bars || !d->v || !d->lo || !d->hi || !d->mark)
        return -1;
    for (size_t i = 0; i < n; i++)
        d->v[i] = d->lo[i] = d->hi[i] = NAN;
    return 0;
}

static void bars_free(bars *d)
{
    free(d->groups), free(d->bars), free(d->v), free(d->lo), free(d->hi), free(d->mark);
}

static double bars_max(const bars *d)
{
    double m = d->ref;
    for (int i = 0; i < d->ng * d->nb; i++) {
        m = isfinite(d->v[i]) && d->v[i] > m ? d->v[i] : m;
        m = isfinite(d->hi[i]) && d->hi[i] > m ? d->hi[i] : m;
    }
    return m > 0 ? m * 1.04 : 1;
}

/* Group labels: horizontal when they fit, else slanted; returns the height used. */
static double group_labels(bb_canvas *cv, const bars *d, const bb_box *b, int draw)
{
    double gw = b->w / (d->ng > 0 ? d->ng : 1), widest = 0;
    for (int g = 0; g < d->ng; g++) {
        double w = bb_text_width(cv, d->groups[g], 14, 0);
        widest = w > widest ? w : widest;
    }
    int slant = widest > gw - 10;
    bb_text_style st = bb_style(14, 0, slant ? BB_RIGHT : BB_CENTER, slant ? -35 : 0, BB_BLACK);
    for (int g = 0; draw && g < d->ng; g++) {
        double x = b->x + gw * (g + 0.5);
        bb_text(cv, slant ? x + 6 : x, b->y + b->h + (slant ? 16 : 22), d->groups[g], &st);
    }
    return slant ? widest * 0.574 + 26 : 30; /* sin 35° */
}

static void bar_whisker(bb_canvas *cv, const bb_axis *ya, double cx, double bw, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi))
        return;
    double cap = bw * 0.3 < 6 ? bw * 0.3 : 6;
    double y0 = bb_axis_px(ya, lo), y1 = bb_axis_px(ya, hi);
    bb_line(cv, cx, y0, cx, y1, 1.3, BB_BLACK, 0);
    bb_line(cv, cx - cap, y0, cx + cap, y0, 1.3, BB_BLACK, 0);
    bb_line(cv, cx - cap, y1, cx + cap, y1, 1.3, BB_BLACK, 0);
}

static void draw_bar_data(bb_canvas *cv, const bars *d, const bb_box *b, const bb_axis *ya)
{
    double gw = b->w / d->ng, bw = gw * 0.8 / d->nb, base = bb_axis_px(ya, ya->lo);
    bw = bw > MAX_BAR ? MAX_BAR : bw;
    bb_text_style ms = bb_style(13, 0, BB_LEFT, -90, BB_DARK);
    for (int g = 0; g < d->ng; g++)
        for (int k = 0; k < d->nb; k++) {
            int i = g * d->nb + k;
            double x = b->x + gw * (g + 0.5) + bw * (k - d->nb / 2.0), cx = x + bw / 2;
            if (isfinite(d->v[i])) {
                double y = bb_axis_px(ya, d->v[i]);
                bb_rect_fill(cv, x, y, bw, base - y, bb_palette(k), 1);
                bar_whisker(cv, ya, cx, bw, d->lo[i], d->hi[i]);
            } else if (d->mark[i]) {
                bb_text(cv, cx + 4.5, base - 6, d->mark[i], &ms);
            }
        }
    if (d->ref > 0) {
        double y = bb_axis_px(ya, d->ref);
        bb_line(cv, b->x, y, b->x + b->w, y, 1.6, BB_BLACK, 1);
    }
}

static int draw_bars(bb_canvas *cv, const bars *d)
{
    bb_legend_item *it = calloc((size_t)(d->nb > 0 ? d->nb : 1), sizeof *it);
    if (!it)
        return -1;
    for (int k = 0; k < d->nb; k++)
        it[k].label = d->bars[k], it[k].color = bb_palette(k);
    double lw = bb_legend_width(cv, d->legend_title, it, d->nb);
    bb_axis ya;
    double ticks[32];
    bb_axis_fit(&ya, 0, bars_max(d), 0);
    int nt = bb_axis_ticks(&ya, ticks, 32);
    double widest = 0;
    for (int i = 0; i < nt; i++) {
        char s[32];
        bb_fmt_num(ticks[i], s, sizeof s);
        double w = bb_text_width(cv, s, 14, 0);
        widest = w > widest ? w : widest;
    }
    bb_box b = {widest + 52, TOP, 0, 0};
    b.w = cv->w - b.x - lw - 36;
    double below = group_labels(cv, d, &(bb_box){b.x, 0, b.w, 0}, 0);
    b.h = cv->h - TOP - below - 44;
    ya.p0 = b.y + b.h, ya.p1 = b.y;
    bb_draw_title(cv, d->title, d->subtitle);
    bb_draw_y_axis(cv, &b, &ya, ticks, nt, d->ylabel);
    if (d->ng > 0 && d->nb > 0)
        draw_bar_data(cv, d, &b, &ya);
    bb_draw_frame(cv, &b);
    group_labels(cv, d, &b, 1);
    bb_text_style xs = bb_style(16, 0, BB_CENTER, 0, BB_BLACK);
    bb_text(cv, b.x + b.w / 2, b.y + b.h + below + 26, d->xlabel, &xs);
    bb_legend_draw(cv, b.x + b.w + 22, b.y, d->legend_title, it, d->nb);
    free(it);
    return 0;
}

/* ---- the seed's figures: time per item, one family ------------------------------ */

/* The family of a bar chart; NULL for BB_CHART_OTHER: every family but conv and transformer. */
static const char *family_of(bb_chart kind)
{
    return kind == BB_CHART_CONV ? "conv" : kind == BB_CHART_TRANS ? "transformer" : NULL;
}

static int in_family(const char *fam, const char *family)
{
    return family ? !strcmp(fam, family) : strcmp(fam, "conv") && strcmp(fam, "transformer");
}

static const char *family_words(bb_chart kind)
{
    return kind == BB_CHART_CONV ? "convolutional models" : kind == BB_CHART_TRANS ? "transformer models"
                                                                                   : "other models (imported)";
}

/* Bars whose lower error bar was clipped at 0, in a bar chart's family. */
static int family_clipped(const bb_table *t, int setup, bb_chart kind)
{
    if (family_of(kind))
        return bb_view_clipped(t, setup, family_of(kind));
    return bb_view_clipped(t, setup, NULL) - bb_view_clipped(t, setup, "conv") -
           bb_view_clipped(t, setup, "transformer");
}

/* Models of setup in family; returns how many (written to out if not NULL). */
static int family_models(const bb_table *t, int setup, const char *family, const char **out)
{
    const bb_setup *s = &t->setups[setup];
    int n = 0;
    for (int m = 0; m < s->n_models; m++)
        if (in_family(bb_table_family(t, setup, s->models[m]), family)) {
            if (out)
                out[n] = s->models[m];
            n++;
        }
    return n;
}

/* Title, axis titles and, when error bars were clipped at 0, a note in the subtitle. */
static void family_text(const bb_table *t, int setup, bb_chart kind, bars *d)
{
    snprintf(d->title_buf, sizeof d->title_buf, "%s time per item by batch size (%s): %s", bb_view_stat_name(t, 1),
             bb_view_bars(t), family_words(kind));
    bb_view_axis_title(t, "time per item", NULL, d->ylabel_buf, sizeof d->ylabel_buf);
    d->title = d->title_buf, d->ylabel = d->ylabel_buf;
    d->xlabel = "Model names";
    d->legend_title = "Batch size";
    bb_chart_subtitle(t, setup, d->subtitle, sizeof d->subtitle);
    int clipped = family_clipped(t, setup, kind);
    size_t n = strlen(d->subtitle);
    if (clipped)
        snprintf(d->subtitle + n, sizeof d->subtitle - n, "; lower error bar of %d bar%s clipped at 0 (mean \xE2\x88\x92 2\xCF\x83 < 0)",
                 clipped, clipped == 1 ? "" : "s");
}

static int family_bars(const bb_table *t, int setup, bb_chart kind, bars *d)
{
    const bb_setup *s = &t->setups[setup];
    if (bars_alloc(d, family_models(t, setup, family_of(kind), NULL), s->n_batches) != 0)
        return -1;
    family_models(t, setup, family_of(kind), d->groups);
    double scale = bb_view_scale(t);
    for (int g = 0; g < d->ng; g++)
        for (int k = 0; k < d->nb; k++) {
            const bb_row *r = bb_table_ok(t, setup, d->groups[g], s->batches[k]);
            int i = g * d->nb + k;
            if (r)
                d->v[i] = r->view_item_s * scale, d->lo[i] = r->view_lo_s * scale, d->hi[i] = r->view_hi_s * scale;
            else
                d->mark[i] = bb_table_state(t, setup, d->groups[g], s->batches[k]);
        }
    for (int k = 0; k < d->nb; k++)
        snprintf(d->bars[k], sizeof d->bars[k], "%lld", (long long)s->batches[k]);
    family_text(t, setup, kind, d);
    return 0;
}

/* ---- ratio of two setups ----------------------------------------------------------- */

static int has_model(const bb_setup *s, const char *model)
{
    for (int m = 0; m < s->n_models; m++)
        if (strcmp(s->models[m], model) == 0)
            return 1;
    return 0;
}

static int has_batch(const bb_setup *s, int64_t b)
{
    for (int k = 0; k < s->n_batches; k++)
        if (s->batches[k] == b)
            return 1;
    return 0;
}

/* Models of a in b too (a's order), and the union of the batch sizes, sorted. */
static int ratio_axes(const bb_table *t, int a, int b, const char **models, int64_t *batches, int *nb)
{
    const bb_setup *sa = &t->setups[a], *sb = &t->setups[b];
    int ng = 0;
    for (int m = 0; m < sa->n_models; m++)
        if (has_model(sb, sa->models[m]))
            models[ng++] = sa->models[m];
    int i = 0, j = 0;
    *nb = 0;
    while (i < sa->n_batches || j < sb->n_batches) {
        int64_t x = i < sa->n_batches ? sa->batches[i] : INT64_MAX, y = j < sb->n_batches ? sb->batches[j] : INT64_MAX;
        batches[(*nb)++] = x < y ? x : y;
        i += x <= y, j += y <= x;
    }
    return ng;
}

static void ratio_cell(const bb_table *t, int other, bars *d, int g, int k, int64_t bs)
{
    int i = g * d->nb + k;
    const bb_row *x = bb_table_ok(t, 0, d->groups[g], bs), *y = bb_table_ok(t, other, d->groups[g], bs);
    if (x && y)
        d->v[i] = x->view_item_s / y->view_item_s;
    else
        d->mark[i] = !x ? (has_batch(&t->setups[0], bs) ? bb_table_state(t, 0, d->groups[g], bs) : "missing")
                        : (has_batch(&t->setups[other], bs) ? bb_table_state(t, other, d->groups[g], bs) : "missing");
}

/* Setup 0's time per item over setup `other`'s, per model and batch size. */
static int ratio_bars(const bb_table *t, int other, bars *d)
{
    const bb_setup *s0 = &t->setups[0], *s1 = &t->setups[other];
    int n = s0->n_models + 1, nbmax = s0->n_batches + s1->n_batches + 1, nb = 0;
    const char **models = calloc((size_t)n, sizeof *models);
    int64_t *batches = calloc((size_t)nbmax, sizeof *batches);
    int ng = models && batches ? ratio_axes(t, 0, other, models, batches, &nb) : -1;
    int rc = ng < 0 || bars_alloc(d, ng, nb) != 0 ? -1 : 0;
    for (int g = 0; rc == 0 && g < ng; g++) {
        d->groups[g] = models[g];
        for (int k = 0; k < nb; k++)
            ratio_cell(t, other, d, g, k, batches[k]);
    }
    for (int k = 0; rc == 0 && k < nb; k++)
        snprintf(d->bars[k], sizeof d->bars[k], "%lld", (long long)batches[k]);
    free(models), free(batches);
    char l0[256], l1[256];
    bb_setup_label(s0, l0, sizeof l0), bb_setup_label(s1, l1, sizeof l1);
    snprintf(d->subtitle, sizeof d->subtitle, "%s  \xC3\xB7  %s   (below 1: the first is faster)", l0, l1);
    snprintf(d->title_buf, sizeof d->title_buf, "Ratio of the %s time per item: first setup over second",
             bb_view_stat_name(t, 0));
    snprintf(d->ylabel_buf, sizeof d->ylabel_buf, "%s time per item ratio (\xC3\x97)", bb_view_stat_name(t, 1));
    d->title = d->title_buf, d->ylabel = d->ylabel_buf;
    d->xlabel = "Model names";
    d->legend_title = "Batch size";
    d->ref = 1;
    return rc;
}

/* ---- across hardware (report/hardware.h) ------------------------------------------ */

/* Per model a bar for each machine: its median time per item at its own
 * batch size to use, in ms. */
static int hardware_bars(const bb_table *t, int first, bars *d)
{
    bb_hw_group g;
    bb_hw_group_of(t, first, &g);
    const char **models = calloc((size_t)t->n_rows + 1, sizeof *models);
    int ng = models ? bb_hw_models(t, &g, models, t->n_rows + 1) : 0;
    int rc = !models || bars_alloc(d, ng, g.n) != 0 ? -1 : 0;
    for (int i = 0; rc == 0 && i < ng; i++) {
        d->groups[i] = models[i];
        for (int k = 0; k < g.n; k++) {
            int64_t b;
            double s;
            if (bb_hw_pick(t, g.setup[k], models[i], &b, &s) == 0)
                d->v[i * g.n + k] = s * 1e3;
            else
                d->mark[i * g.n + k] = "none";
        }
    }
    for (int k = 0; rc == 0 && k < g.n; k++)
        bb_hw_label(&t->setups[g.setup[k]], d->bars[k], sizeof d->bars[k]);
    free(models);
    const bb_setup *s0 = &t->setups[first];
    snprintf(d->title_buf, sizeof d->title_buf, "Across hardware: median time per item at each machine's batch size "
             "to use");
    snprintf(d->subtitle, sizeof d->subtitle, "Engine %s, %s, %s head, input %s", s0->engine, s0->precision, s0->head,
             s0->input[0] ? s0->input : "random");
    snprintf(d->ylabel_buf, sizeof d->ylabel_buf, "Median time per item in ms");
    d->title = d->title_buf, d->ylabel = d->ylabel_buf;
    d->xlabel = "Model names";
    d->legend_title = "Machine";
    return rc;
}

/* ---- energy per item (report/energy_view.h) ----------------------------------------- */

static int energy_bars(const bb_table *t, int setup, bars *d)
{
    const bb_setup *s = &t->setups[setup];
    if (bars_alloc(d, s->n_models, s->n_batches) != 0)
        return -1;
    for (int m = 0; m < s->n_models; m++) {
        d->groups[m] = s->models[m];
        for (int b = 0; b < s->n_batches; b++) {
            const bb_row *r = bb_table_ok(t, setup, s->models[m], s->batches[b]);
            if (r && r->energy_state == 1 && isfinite(r->joules_per_item))
                d->v[m * s->n_batches + b] = r->joules_per_item * 1e3;
            else
                d->mark[m * s->n_batches + b] = r ? "no reading" : bb_table_state(t, setup, s->models[m], s->batches[b]);
        }
    }
    for (int b = 0; b < s->n_batches; b++)
        snprintf(d->bars[b], sizeof d->bars[b], "%lld", (long long)s->batches[b]);
    snprintf(d->title_buf, sizeof d->title_buf, "Energy per item by batch size");
    bb_chart_subtitle(t, setup, d->subtitle, sizeof d->subtitle);
    snprintf(d->ylabel_buf, sizeof d->ylabel_buf, "Energy per item in mJ");
    d->title = d->title_buf, d->ylabel = d->ylabel_buf;
    d->xlabel = "Model names";
    d->legend_title = "Batch size";
    return 0;
}

/* ---- dispatch and files ----------------------------------------------------------- */

int bb_plot_applies(const bb_table *t, bb_chart kind, int setup)
{
    if (setup < 0 || setup >= t->n_setups)
        return 0;
    if (kind == BB_CHART_CONV || kind == BB_CHART_TRANS || kind == BB_CHART_OTHER)
        return family_models(t, setup, family_of(kind), NULL) > 0;
    if (kind == BB_CHART_ENERGY)
        return bb_energy_measured(t, setup);
    if (kind == BB_CHART_SLO)
        return bb_slo_applies(t, setup);
    if (kind == BB_CHART_HARDWARE) {
        bb_hw_group g;
        bb_hw_group_of(t, setup, &g);
        return g.n >= 2;
    }
    if (kind == BB_CHART_RATIO) {
        for (int i = 0; setup >= 1 && i < t->setups[0].n_models; i++)
            if (has_model(&t->setups[setup], t->setups[0].models[i]))
                return 1;
        return 0;
    }
    return t->setups[setup].n_models > 0;
}

static int draw_chart(bb_canvas *cv, const bb_table *t, bb_chart kind, int setup)
{
    if (kind == BB_CHART_VS_BATCH)
        return bb_draw_vs_batch(cv, t, setup);
    if (kind == BB_CHART_THROUGHPUT)
        return bb_draw_throughput(cv, t, setup);
    if (kind == BB_CHART_SLO)
        return bb_draw_slo(cv, t, setup);
    bars d;
    int rc = kind == BB_CHART_RATIO      ? ratio_bars(t, setup, &d)
             : kind == BB_CHART_HARDWARE ? hardware_bars(t, setup, &d)
             : kind == BB_CHART_ENERGY   ? energy_bars(t, setup, &d)
                                         : family_bars(t, setup, kind, &d);
    if (rc == 0)
        rc = draw_bars(cv, &d);
    bars_free(&d);
    return rc;
}

int bb_figures_add_path(bb_figures *out, const char *path)
{
    char **np = realloc(out->paths, sizeof *np * (size_t)(out->n_paths + 1));
    if (!np)
        return -1;
    out->paths = np;
    return (np[out->n_paths] = strdup(path)) ? (out->n_paths++, 0) : -1;
}

int bb_plot_chart(const bb_table *t, bb_chart kind, int setup, const char *path_noext, unsigned formats,
                  bb_figures *out, bb_err *err)
{
    static const struct {
        unsigned bit;
        const char *ext;
    } fmts[] = {{BB_FMT_PNG, "png"}, {BB_FMT_SVG, "svg"}, {BB_FMT_PDF, "pdf"}};
    if (!bb_plot_applies(t, kind, setup))
        return bb_err_set(err, "%s: nothing to draw", path_noext);
    int w, h;
    bb_plot_size(kind, &w, &h);
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        if (!(formats & fmts[f].bit))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s.%s", path_noext, fmts[f].ext);
        bb_canvas cv;
        if (bb_canvas_open(&cv, (int)fmts[f].bit, w, h, err) != 0)
            return -1;
        if (draw_chart(&cv, t, kind, setup) != 0) {
            bb_canvas_discard(&cv);
            return bb_err_oom(err, "%s: out of memory drawing", path);
        }
        if (bb_canvas_save(&cv, path, err) != 0)
            return -1;
        if (out && bb_figures_add_path(out, path) != 0)
            return bb_err_oom(err, "out of memory");
    }
    return 0;
}

static const struct {
    bb_chart kind;
    const char *name;
} chart_names[] = {
    {BB_CHART_CONV, "inf_times_conv_models"},     {BB_CHART_TRANS, "inf_times_trans_models"},
    {BB_CHART_OTHER, "inf_times_other_models"},
    {BB_CHART_VS_BATCH, "time_per_item_vs_batch"}, {BB_CHART_THROUGHPUT, "throughput_vs_latency"},
    {BB_CHART_RATIO, "ratio"},                     {BB_CHART_HARDWARE, "across_hardware"},
    {BB_CHART_ENERGY, "energy_per_item"},
    {BB_CHART_SLO, "slo_p99"},
};

/* " The lower error bar of N bars is clipped at 0 ..." when it happened, else "";
 * n: how many were. */
static void clip_note(int n, char *buf, size_t len)
{
    buf[0] = '\0';
    if (n)
        snprintf(buf, len, "; the lower error bar of %d bar%s is clipped at 0 (mean \xE2\x88\x92 2\xCF\x83 below 0)", n,
                 n == 1 ? "" : "s");
}

/* The caption of a chart: what it shows, with the statistic, error bars and unit of the table's view. */
static void chart_caption(const bb_table *t, bb_chart kind, int setup, char *buf, size_t len)
{
    char what[256], clip[128];
    bb_view_describe(t, what, sizeof what);
    if (kind == BB_CHART_CONV || kind == BB_CHART_TRANS || kind == BB_CHART_OTHER) {
        clip_note(family_clipped(t, setup, kind), clip, sizeof clip);
        snprintf(buf, len, "Time per item of each %s at each batch size: %s%s",
                 kind == BB_CHART_CONV    ? "convolutional model"
                 : kind == BB_CHART_TRANS ? "transformer model"
                                          : "model of another family (imported models)",
                 what, clip);
    } else if (kind == BB_CHART_VS_BATCH) {
        clip_note(bb_view_clipped(t, setup, NULL), clip, sizeof clip);
        snprintf(buf, len, "Time per item against batch size (log scales; %s%s), and relative to each model's best "
                           "batch size; ringed: the batch size to use, haloed: the batch sizes tied with the fastest "
                           "within noise (both from the medians)",
                 what, clip);
    } else if (kind == BB_CHART_THROUGHPUT) {
        snprintf(buf, len, "Throughput (items/s = batch size / %s batch time) against %s batch latency, in %s; "
                           "points labelled with the batch size",
                 bb_view_stat_name(t, 0), bb_view_stat_name(t, 0), bb_view_unit_word(t));
    } else if (kind == BB_CHART_ENERGY) {
        snprintf(buf, len, "Energy per item of each model at each batch size (forward passes back to back after the "
                           "timed batches: the hardware's counters over the items they processed), in mJ (lower is "
                           "cheaper)");
    } else if (kind == BB_CHART_SLO) {
        snprintf(buf, len, "Simulated p99 latency of single requests against the offered rate, a line per max batch "
                           "size at its best timeout (log scale); dashed: the %g ms target; grey: the requested rates",
                 t->slo_p99_s * 1e3);
    } else if (kind == BB_CHART_HARDWARE) {
        snprintf(buf, len, "Median time per item of each model on each machine, each at that machine's batch size "
                           "to use, in ms (lower is faster)");
    } else {
        snprintf(buf, len, "Ratio of the %s time per item of the first setup over this one (below 1: first faster)",
                 bb_view_stat_name(t, 0));
    }
}

/* "-<engine>-<device>[-<precision>][-<head>]-<host>-t<threads>[-dataset]
 * [-opts-<hash>][-idle-<MS>ms]", file-name safe: setups that differ only
 * in input, backend options or idle time get charts of their own. */
static void setup_suffix(const bb_setup *s, char *buf, size_t len)
{
    int fp32 = strcmp(s->precision, "fp32") == 0, feat = strcmp(s->head, "features") == 0;
    int rnd = !s->input[0] || strcmp(s->input, "random") == 0;
    char opts[16] = "", hash[9], idle[32] = "";
    if (s->options[0])
        bb_identity_hash(s->options, hash), snprintf(opts, sizeof opts, "-opts-%s", hash);
    if (s->idle_s > 0)
        snprintf(idle, sizeof idle, "-idle-%.10gms", s->idle_s * 1e3);
    /* each part bounded, so that the whole fits the callers' 256 bytes */
    snprintf(buf, len, "-%.31s-%.15s%s%.15s%s%.15s-%.64s-t%d%s%.31s%s%.31s", s->engine, s->device, fp32 ? "" : "-",
             fp32 ? "" : s->precision, feat ? "" : "-", feat ? "" : s->head, s->host, s->threads, rnd ? "" : "-",
             rnd ? "" : s->input, opts, idle);
    for (char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-' || *p == '_'))
            *p = '_';
}

int bb_figures_add(bb_figures *out, bb_chart kind, int setup, const char *name, const char *caption)
{
    bb_figure *nf = realloc(out->figs, sizeof *nf * (size_t)(out->n_figs + 1));
    if (!nf)
        return -1;
    out->figs = nf;
    bb_figure *f = &nf[out->n_figs++];
    f->kind = kind, f->setup = setup;
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->caption, sizeof f->caption, "%s", caption);
    return 0;
}

static int plot_one(const bb_table *t, int c, int setup, const char *out_dir, unsigned formats, bb_figures *out,
                    bb_err *err)
{
    char suffix[256] = "", name[sizeof out->figs->name], path[4096];
    if (setup > 0 && !(chart_names[c].kind == BB_CHART_RATIO && setup == 1)) /* "ratio": 0 over 1 */
        setup_suffix(&t->setups[setup], suffix, sizeof suffix);
    snprintf(name, sizeof name, "%.24s%.160s", chart_names[c].name, suffix); /* suffix: < 230 */
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    char caption[sizeof out->figs->caption];
    chart_caption(t, chart_names[c].kind, setup, caption, sizeof caption);
    if (bb_plot_chart(t, chart_names[c].kind, setup, path, formats, out, err) != 0)
        return -1;
    if (bb_figures_add(out, chart_names[c].kind, setup, name, caption) != 0)
        return bb_err_oom(err, "out of memory");
    return 0;
}

int bb_plot_all(const bb_table *t, const char *out_dir, unsigned formats, bb_figures *out, bb_err *err)
{
    memset(out, 0, sizeof *out);
    int nc = (int)(sizeof chart_names / sizeof *chart_names);
    for (int s = 0; s < t->n_setups; s++)
        for (int c = 0; c < nc; c++)
            if (bb_plot_applies(t, chart_names[c].kind, s) && plot_one(t, c, s, out_dir, formats, out, err) != 0)
                return -1;
    return 0;
}

void bb_figures_free(bb_figures *f)
{
    for (int i = 0; i < f->n_paths; i++)
        free(f->paths[i]);
    free(f->paths);
    free(f->figs);
    memset(f, 0, sizeof *f);
}

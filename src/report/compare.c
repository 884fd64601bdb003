/*
 * compare.c — two result tables matched, compared, and written as a
 * markdown table and a chart (compare.h).
 *
 * Why this file exists: a CI gate must say exactly which configuration got
 * slower, by how much and how sure we are, in a form a person reads in a
 * job log (markdown) and at a glance (the chart). The statistics are
 * bench/ratio.h's, so `compare` and the recommendation's tie rule agree;
 * this file only decides what is compared with what, the verdict, and how
 * it is shown.
 */
#include "report/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot_util.h"

/* ---- verdict and identity ------------------------------------------------------ */

bb_cmp_verdict bb_compare_verdict(const bb_ratio *r)
{
    if (r->p_value < BB_ALPHA && r->ci_lo > 1)
        return BB_CMP_SLOWER;
    if (r->p_value < BB_ALPHA && r->ci_hi < 1)
        return BB_CMP_FASTER;
    return BB_CMP_UNCHANGED;
}

const char *bb_compare_verdict_name(bb_cmp_verdict v)
{
    return v == BB_CMP_SLOWER ? "slower" : v == BB_CMP_FASTER ? "faster" : "no significant change";
}

int bb_compare_same_config(const bb_row *a, const bb_row *b)
{
    return a->batch_size == b->batch_size && a->threads == b->threads && !strcmp(a->model, b->model) &&
           !strcmp(a->engine, b->engine) && !strcmp(a->device, b->device) && !strcmp(a->precision, b->precision) &&
           !strcmp(a->head, b->head);
}

void bb_compare_setup_name(const bb_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s/%s/%dt", r->engine, r->device, r->precision, r->head, r->threads);
}

static int usable(const bb_row *r)
{
    return r->has_stats && r->n_times > 0 && !strcmp(r->status, "ok");
}

/* "ok", the failed status, or "no data" (ok without times). */
static const char *state_of(const bb_row *r)
{
    return strcmp(r->status, "ok") ? r->status : r->has_stats ? "ok" : "no data";
}

/* ---- matching ---------------------------------------------------------------------- */

/* Index of the first of t's rows [0, upto) with r's configuration, or -1. */
static int find_same(const bb_table *t, const bb_row *r, int upto)
{
    for (int i = 0; i < upto; i++)
        if (bb_compare_same_config(&t->rows[i], r))
            return i;
    return -1;
}

/* A new note for r; the caller writes its why. */
static char *add_note(bb_compare *c, const bb_row *r)
{
    bb_cmp_note *n = &c->notes[c->n_notes++];
    n->row = r;
    return n->why;
}

/* A second row of an earlier row's configuration in the same table. */
static int note_repeat(bb_compare *c, const bb_table *t, int i, const char *side)
{
    if (find_same(t, &t->rows[i], i) < 0)
        return 0;
    snprintf(add_note(c, &t->rows[i]), sizeof c->notes->why, "again in %s (host %.60s), ignored", side,
             t->setups[t->rows[i].setup].host);
    return 1;
}

/* "only in BASE", or e.g. "only in NEW, not ok: oom". */
static void only_in(bb_compare *c, const bb_row *r, const char *side)
{
    snprintf(add_note(c, r), sizeof c->notes->why, "only in %s%s%s", side, usable(r) ? "" : ", not ok: ",
             usable(r) ? "" : state_of(r));
}

static int compare_pair(bb_compare *c, const bb_row *a, const bb_row *b, bb_err *err)
{
    bb_cmp_item *it = &c->items[c->n_items];
    memset(it, 0, sizeof *it);
    it->base = a, it->new_ = b;
    if (bb_ratio_compute(a->times_s, a->n_times, b->times_s, b->n_times, &it->r) != 0)
        return bb_err_oom(err, "%s, batch %lld: cannot compute the ratio (out of memory or a bad time)", a->model,
                          (long long)a->batch_size);
    it->verdict = bb_compare_verdict(&it->r);
    it->gate_fail = it->verdict == BB_CMP_SLOWER && it->r.ratio > 1 + c->threshold;
    c->n_items++;
    return 0;
}

static int match_base(bb_compare *c, const bb_table *base, const bb_table *nw, bb_err *err)
{
    for (int i = 0; i < base->n_rows; i++) {
        const bb_row *a = &base->rows[i];
        if (note_repeat(c, base, i, "BASE"))
            continue;
        int j = find_same(nw, a, nw->n_rows);
        const bb_row *b = j >= 0 ? &nw->rows[j] : NULL;
        if (!b)
            only_in(c, a, "BASE");
        else if (!usable(a) || !usable(b))
            snprintf(add_note(c, a), sizeof c->notes->why, "not ok: %s in BASE, %s in NEW", state_of(a),
                     state_of(b));
        else if (compare_pair(c, a, b, err) != 0)
            return -1;
    }
    return 0;
}

static void match_new(bb_compare *c, const bb_table *base, const bb_table *nw)
{
    for (int j = 0; j < nw->n_rows; j++) {
        const bb_row *b = &nw->rows[j];
        if (note_repeat(c, nw, j, "NEW"))
            continue;
        if (find_same(base, b, base->n_rows) < 0)
            only_in(c, b, "NEW");
    }
}

/* ---- order, summary, hosts ----------------------------------------------------------- */

/* Model (zoo order, then name), setup, batch size. */
static int cmp_rows(const bb_row *x, const bb_row *y)
{
    int d = bb_model_order(x->model, y->model);
    if (d)
        return d;
    char sx[160], sy[160];
    bb_compare_setup_name(x, sx, sizeof sx), bb_compare_setup_name(y, sy, sizeof sy);
    if ((d = strcmp(sx, sy)) != 0)
        return d;
    return (x->batch_size > y->batch_size) - (x->batch_size < y->batch_size);
}

static int cmp_items(const void *a, const void *b)
{
    return cmp_rows(((const bb_cmp_item *)a)->base, ((const bb_cmp_item *)b)->base);
}

static int cmp_notes(const void *a, const void *b)
{
    return cmp_rows(((const bb_cmp_note *)a)->row, ((const bb_cmp_note *)b)->row);
}

static void summarise(bb_compare *c)
{
    double sum_log = 0;
    for (int i = 0; i < c->n_items; i++) {
        const bb_cmp_item *it = &c->items[i];
        c->n_slower += it->verdict == BB_CMP_SLOWER;
        c->n_faster += it->verdict == BB_CMP_FASTER;
        c->n_unchanged += it->verdict == BB_CMP_UNCHANGED;
        c->n_gate_fail += it->gate_fail;
        sum_log += log(it->r.ratio);
    }
    c->geomean = c->n_items ? exp(sum_log / c->n_items) : 1;
}

/* The distinct hosts of t's setups, ", "-separated ("none" without rows). */
static void hosts_of(const bb_table *t, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int s = 0; s < t->n_setups && n < len; s++) {
        int seen = 0;
        for (int k = 0; k < s; k++)
            seen |= !strcmp(t->setups[k].host, t->setups[s].host);
        if (!seen)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", t->setups[s].host);
    }
    if (!buf[0])
        snprintf(buf, len, "none");
}

int bb_compare_run(bb_compare *c, const bb_table *base, const bb_table *nw, double threshold, bb_err *err)
{
    const char *bn = c->base_name, *nn = c->new_name;
    memset(c, 0, sizeof *c);
    c->base_name = bn ? bn : "BASE", c->new_name = nn ? nn : "NEW", c->threshold = threshold;
    c->items = calloc((size_t)base->n_rows + 1, sizeof *c->items);
    c->notes = calloc((size_t)(base->n_rows + nw->n_rows) + 1, sizeof *c->notes);
    if (!c->items || !c->notes) {
        bb_compare_free(c);
        return bb_err_oom(err, "out of memory");
    }
    if (match_base(c, base, nw, err) != 0) {
        bb_compare_free(c);
        return -1;
    }
    match_new(c, base, nw);
    qsort(c->items, (size_t)c->n_items, sizeof *c->items, cmp_items);
    qsort(c->notes, (size_t)c->n_notes, sizeof *c->notes, cmp_notes);
    summarise(c);
    hosts_of(base, c->base_hosts, sizeof c->base_hosts);
    hosts_of(nw, c->new_hosts, sizeof c->new_hosts);
    return 0;
}

void bb_compare_free(bb_compare *c)
{
    free(c->items);
    free(c->notes);
    c->items = NULL, c->notes = NULL;
    c->n_items = c->n_notes = 0;
}

/* ---- markdown ---------------------------------------------------------------------- */

static void fmt_pct(double frac, char *buf, size_t len)
{
    snprintf(buf, len, "%g%%", round(frac * 100 * 1e6) / 1e6);
}

static void fmt_p(double p, char *buf, size_t len)
{
    snprintf(buf, len, p < 0.001 ? "%.1e" : "%.3f", p);
}

static void md_header(FILE *f, const bb_compare *c)
{
    char pct[32];
    fmt_pct(c->threshold, pct, sizeof pct);
    fprintf(f, "# batchbench compare\n\n");
    fprintf(f, "BASE `%s` (host %s), NEW `%s` (host %s).", c->base_name, c->base_hosts, c->new_name, c->new_hosts);
    if (strcmp(c->base_hosts, c->new_hosts))
        fprintf(f, " The hosts differ: the ratios include the difference between the machines.");
    fprintf(f, "\nRatio: NEW / BASE of the time per batch (Hodges-Lehmann estimate with its 95%% confidence "
               "interval); p: two-sided Mann-Whitney test. A change is significant when p < %g and the interval "
               "excludes 1; the gate fails on a significant slowdown with a ratio above %.6g (threshold %s).\n\n",
            BB_ALPHA, 1 + c->threshold, pct);
}

static void md_verdict(const bb_compare *c, const bb_cmp_item *it, char *buf, size_t len)
{
    char pct[32];
    fmt_pct(c->threshold, pct, sizeof pct);
    if (it->verdict != BB_CMP_SLOWER)
        snprintf(buf, len, "%s", bb_compare_verdict_name(it->verdict));
    else
        snprintf(buf, len, it->gate_fail ? "**slower, fails the gate**" : "slower, within %s", pct);
}

static void md_table(FILE *f, const bb_compare *c)
{
    fprintf(f, "| model | batch | setup | base ms/item | new ms/item | ratio (HL) [95%% CI] | p-value | verdict |\n"
               "| --- | ---: | --- | ---: | ---: | --- | ---: | --- |\n");
    for (int i = 0; i < c->n_items; i++) {
        const bb_cmp_item *it = &c->items[i];
        char setup[160], p[32], verdict[96];
        bb_compare_setup_name(it->base, setup, sizeof setup);
        fmt_p(it->r.p_value, p, sizeof p);
        md_verdict(c, it, verdict, sizeof verdict);
        fprintf(f, "| %s | %lld | %s | %.4g | %.4g | %.3f [%.3f, %.3f] | %s | %s |\n", it->base->model,
                (long long)it->base->batch_size, setup, it->base->per_item_s * 1e3, it->new_->per_item_s * 1e3,
                it->r.ratio, it->r.ci_lo, it->r.ci_hi, p, verdict);
    }
}

static void md_notes(FILE *f, const bb_compare *c)
{
    if (!c->n_notes)
        return;
    fprintf(f, "\nNot compared (%d; these do not affect the gate):\n\n", c->n_notes);
    for (int i = 0; i < c->n_notes; i++) {
        char setup[160];
        bb_compare_setup_name(c->notes[i].row, setup, sizeof setup);
        fprintf(f, "- %s, batch %lld, %s: %s\n", c->notes[i].row->model, (long long)c->notes[i].row->batch_size,
                setup, c->notes[i].why);
    }
}

static void md_gate(FILE *f, const bb_compare *c)
{
    char pct[32];
    fmt_pct(c->threshold, pct, sizeof pct);
    if (!c->n_gate_fail) {
        fprintf(f, "**Gate: passed**: no configuration is significantly slower by more than %s.\n", pct);
        return;
    }
    fprintf(f, "**Gate: FAILED**: %d configuration%s significantly slower by more than %s:", c->n_gate_fail,
            c->n_gate_fail == 1 ? "" : "s", pct);
    int k = 0;
    for (int i = 0; i < c->n_items; i++) {
        const bb_cmp_item *it = &c->items[i];
        char setup[160];
        if (!it->gate_fail)
            continue;
        bb_compare_setup_name(it->base, setup, sizeof setup);
        fprintf(f, "%s %s batch %lld (%s) %.3fx", k++ ? ";" : "", it->base->model, (long long)it->base->batch_size,
                setup, it->r.ratio);
    }
    fprintf(f, ".\n");
}

int bb_compare_markdown(const bb_compare *c, char **text, size_t *len, bb_err *err)
{
    *text = NULL, *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f)
        return bb_err_oom(err, "out of memory writing the comparison");
    md_header(f, c);
    md_table(f, c);
    md_notes(f, c);
    fprintf(f, "\n**Summary:** %d compared: %d slower (%d beyond the threshold), %d faster, %d unchanged; "
               "geometric mean ratio %.3f (NEW / BASE).\n\n",
            c->n_items, c->n_slower, c->n_gate_fail, c->n_faster, c->n_unchanged, c->geomean);
    md_gate(f, c);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(*text);
        *text = NULL;
        return bb_err_oom(err, "out of memory writing the comparison");
    }
    return 0;
}

/* ---- chart ------------------------------------------------------------------------- */

#define CH_W 1200.0
#define CH_TOP 96.0
#define CH_ROW 30.0
#define CH_MIN_BOX 150.0 /* so a single configuration still has room for the legend */
#define CH_BELOW 86.0

static const bb_rgb BAND = {0.87, 0.92, 0.97};

static bb_rgb verdict_color(bb_cmp_verdict v)
{
    return v == BB_CMP_SLOWER ? bb_palette(3) : v == BB_CMP_FASTER ? bb_palette(0) : BB_GREY;
}

static int verdict_marker(bb_cmp_verdict v)
{
    return v == BB_CMP_SLOWER ? 2 : v == BB_CMP_FASTER ? 3 : 0; /* triangle, diamond, circle */
}

/* Do all items share one setup (then labels omit it and the subtitle says it)? */
static int one_setup(const bb_compare *c)
{
    char s0[160], s[160];
    bb_compare_setup_name(c->items[0].base, s0, sizeof s0);
    for (int i = 1; i < c->n_items; i++) {
        bb_compare_setup_name(c->items[i].base, s, sizeof s);
        if (strcmp(s, s0))
            return 0;
    }
    return 1;
}

static void item_label(const bb_cmp_item *it, int with_setup, char *buf, size_t len)
{
    char setup[160] = "";
    if (with_setup)
        bb_compare_setup_name(it->base, setup, sizeof setup);
    snprintf(buf, len, "%s, batch %lld%s%s", it->base->model, (long long)it->base->batch_size,
             with_setup ? ", " : "", setup);
}

static double chart_height(const bb_compare *c)
{
    double box = c->n_items * CH_ROW;
    return CH_TOP + (box > CH_MIN_BOX ? box : CH_MIN_BOX) + CH_BELOW;
}

/* Ratios on a log axis when they span a factor of 3 or more; else linear,
 * whose round ticks (0.9, 1, 1.1, ...) read better over a narrow range. */
static void chart_axis(const bb_compare *c, bb_axis *a)
{
    double lo = c->threshold < 1 ? 1 - c->threshold : 1, hi = 1 + c->threshold;
    for (int i = 0; i < c->n_items; i++) {
        lo = c->items[i].r.ci_lo < lo ? c->items[i].r.ci_lo : lo;
        hi = c->items[i].r.ci_hi > hi ? c->items[i].r.ci_hi : hi;
    }
    bb_axis_fit(a, lo, hi, hi / lo >= 3 ? 10 : 0);
}

static void chart_titles(bb_canvas *cv, const bb_compare *c, int single)
{
    char sub[640], setup[160] = "";
    if (single)
        bb_compare_setup_name(c->items[0].base, setup, sizeof setup);
    snprintf(sub, sizeof sub, "%.80s \xC3\xB7 %.80s%s%s: %d compared, %d slower, %d faster; gate %s", c->new_name,
             c->base_name, single ? ", " : "", setup, c->n_items, c->n_slower, c->n_faster,
             c->n_gate_fail ? "FAILED (labels in bold)" : "passed");
    bb_draw_title(cv, "Change in time per batch: NEW / BASE", sub);
}

static void chart_legend(bb_canvas *cv, const bb_compare *c, double x, double y, int draw, double *w)
{
    char band[64], pct[32];
    fmt_pct(c->threshold, pct, sizeof pct);
    snprintf(band, sizeof band, "1 \xC2\xB1 %s (threshold)", pct);
    bb_legend_item it[4] = {
        {"slower (p < 0.05, CI above 1)", verdict_color(BB_CMP_SLOWER), 1, verdict_marker(BB_CMP_SLOWER), 0},
        {"faster (p < 0.05, CI below 1)", verdict_color(BB_CMP_FASTER), 1, verdict_marker(BB_CMP_FASTER), 0},
        {"no significant change", verdict_color(BB_CMP_UNCHANGED), 1, verdict_marker(BB_CMP_UNCHANGED), 0},
        {band, BAND, 0, 0, 0},
    };
    if (w)
        *w = bb_legend_width(cv, "Verdict", it, 4);
    if (draw)
        bb_legend_draw(cv, x, y, "Verdict", it, 4);
}

/* The ratio as text beside its interval: right of it when that fits in the box. */
static void value_text(bb_canvas *cv, const bb_box *b, double x0, double x1, double cy, const bb_cmp_item *it)
{
    char s[32];
    snprintf(s, sizeof s, "%.3f\xC3\x97", it->r.ratio);
    double w = bb_text_width(cv, s, 12, 0);
    int right = x1 + 8 + w < b->x + b->w - 4;
    bb_text_style st = bb_style(12, 0, right ? BB_LEFT : BB_RIGHT, 0, BB_DARK);
    bb_text(cv, right ? x1 + 8 : x0 - 8, cy + 4, s, &st);
}

static void draw_item(bb_canvas *cv, const bb_box *b, const bb_axis *a, const bb_cmp_item *it, double cy,
                      const char *label)
{
    bb_rgb col = verdict_color(it->verdict);
    double x0 = bb_axis_px(a, it->r.ci_lo), x1 = bb_axis_px(a, it->r.ci_hi);
    bb_line(cv, x0, cy, x1, cy, 2.2, col, 0);
    bb_line(cv, x0, cy - 6, x0, cy + 6, 2, col, 0);
    bb_line(cv, x1, cy - 6, x1, cy + 6, 2, col, 0);
    bb_marker(cv, bb_axis_px(a, it->r.ratio), cy, verdict_marker(it->verdict), 11, col);
    value_text(cv, b, x0, x1, cy, it);
    bb_text_style ls = bb_style(14, it->gate_fail, BB_RIGHT, 0, it->gate_fail ? col : BB_BLACK);
    bb_text(cv, b->x - 12, cy + 5, label, &ls);
}

static double widest_label(bb_canvas *cv, const bb_compare *c, int with_setup)
{
    double widest = 0;
    for (int i = 0; i < c->n_items; i++) {
        char label[256];
        item_label(&c->items[i], with_setup, label, sizeof label);
        double w = bb_text_width(cv, label, 14, c->items[i].gate_fail);
        widest = w > widest ? w : widest;
    }
    return widest < CH_W * 0.4 ? widest : CH_W * 0.4;
}

static void draw_reference(bb_canvas *cv, const bb_box *b, const bb_axis *a, double t)
{
    double lo = 1 - t > a->lo ? 1 - t : a->lo, hi = 1 + t < a->hi ? 1 + t : a->hi;
    if (t > 0)
        bb_rect_fill(cv, bb_axis_px(a, lo), b->y, bb_axis_px(a, hi) - bb_axis_px(a, lo), b->h, BAND, 0);
}

static void draw_chart(bb_canvas *cv, const bb_compare *c)
{
    int single = one_setup(c);
    double lw, ticks[48];
    chart_legend(cv, c, 0, 0, 0, &lw);
    bb_box b = {widest_label(cv, c, !single) + 30, CH_TOP, 0, chart_height(c) - CH_TOP - CH_BELOW};
    b.w = cv->w - b.x - lw - 40;
    bb_axis a;
    chart_axis(c, &a);
    a.p0 = b.x, a.p1 = b.x + b.w;
    int nt = bb_axis_ticks(&a, ticks, 48);
    chart_titles(cv, c, single);
    draw_reference(cv, &b, &a, c->threshold);
    bb_draw_x_axis(cv, &b, &a, ticks, nt,
                   a.log ? "NEW / BASE time per batch (Hodges-Lehmann estimate; bars: 95% CI), log scale"
                         : "NEW / BASE time per batch (Hodges-Lehmann estimate; bars: 95% CI)");
    bb_line(cv, bb_axis_px(&a, 1), b.y, bb_axis_px(&a, 1), b.y + b.h, 1.6, BB_BLACK, 0);
    double row = b.h / c->n_items;
    for (int i = 0; i < c->n_items; i++) {
        char label[256];
        if (i > 0 && strcmp(c->items[i].base->model, c->items[i - 1].base->model))
            bb_line(cv, b.x, b.y + i * row, b.x + b.w, b.y + i * row, 1, BB_GRID, 0); /* between models */
        item_label(&c->items[i], !single, label, sizeof label);
        draw_item(cv, &b, &a, &c->items[i], b.y + (i + 0.5) * row, label);
    }
    bb_draw_frame(cv, &b);
    chart_legend(cv, c, b.x + b.w + 22, b.y, 1, NULL);
}

int bb_compare_chart(const bb_compare *c, const char *path_noext, unsigned formats, bb_figures *out, bb_err *err)
{
    static const struct {
        unsigned bit;
        const char *ext;
    } fmts[] = {{BB_FMT_PNG, "png"}, {BB_FMT_SVG, "svg"}, {BB_FMT_PDF, "pdf"}};
    if (c->n_items < 1)
        return bb_err_set(err, "%s: nothing to draw (no configuration compared)", path_noext);
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        if (!(formats & fmts[f].bit))
            continue;
        char path[4096];
        bb_canvas cv;
        snprintf(path, sizeof path, "%s.%s", path_noext, fmts[f].ext);
        if (bb_canvas_open(&cv, (int)fmts[f].bit, CH_W, chart_height(c), err) != 0)
            return -1;
        draw_chart(&cv, c);
        if (bb_canvas_save(&cv, path, err) != 0)
            return -1;
        if (out && bb_figures_add_path(out, path) != 0)
            return bb_err_oom(err, "out of memory");
    }
    return 0;
}

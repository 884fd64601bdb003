/*
 * report.c — report.md from a results table (report.h).
 *
 * Why this file exists: it turns the numbers into the answer, in the spirit
 * of the seed's write-up ("a small batch under-uses the hardware", "the
 * largest batch is not always the fastest per item"), but every sentence is
 * computed from the result files, so the prose cannot drift from the data.
 * The answer per model comes from bench/recommend.h (through
 * bb_model_summarise), the same rule recommendation.json and the charts
 * use; a difference between two batch sizes is only stated when it is
 * significant, with its 95% CI. Times in tables are medians of usable
 * (status ok) results; anything not measured is listed, never silently
 * left out.
 */
#include "report/report.h"
#include "report/energy_view.h"
#include "report/hardware.h"
#include "report/loading.h"
#include "report/report_view.h"
#include "report/slo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"
#include "report/plot_util.h"
#include "util/atomic_file.h"

/* ---- numbers ------------------------------------------------------------------ */

#define TIMES "\xC3\x97"
#define EN_DASH "\xE2\x80\x93"

static void consider(bb_model_summary *s, const bb_row *r, double max_latency_s)
{
    if (s->n_ok++ == 0)
        s->smallest = r->batch_size, s->smallest_s = r->per_item_s;
    s->largest = r->batch_size, s->largest_s = r->per_item_s;
    if (max_latency_s > 0 && r->latency_s < max_latency_s &&
        (s->latency_pick == 0 || r->items_per_s > s->latency_pick_ips))
        s->latency_pick = r->batch_size, s->latency_pick_s = r->latency_s, s->latency_pick_ips = r->items_per_s;
}

int bb_model_summarise(const bb_table *t, int setup, const char *model, double max_latency_s, bb_model_summary *s)
{
    memset(s, 0, sizeof *s);
    int rc = bb_table_recommend(t, setup, model, &s->rec);
    if (rc != 0)
        return rc > 0 ? -1 : -2;
    const bb_setup *su = &t->setups[setup];
    for (int b = 0; b < su->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, su->batches[b]);
        if (r)
            consider(s, r, max_latency_s);
    }
    const bb_row *best = bb_table_ok(t, setup, model, s->rec.best_batch);
    s->best = best->batch_size, s->best_s = best->per_item_s, s->best_gflops = best->gflops;
    s->gain = s->smallest_s / s->best_s;
    s->knee = s->rec.knee_batch, s->recommended = s->rec.recommended_batch;
    return 0;
}

/* ms per item with 3-4 significant digits. */
static const char *ms(double s, char *buf, size_t len)
{
    double v = s * 1e3;
    snprintf(buf, len, v >= 100 ? "%.1f" : v >= 10 ? "%.2f" : v >= 1 ? "%.3f" : "%.4f", v);
    return buf;
}

/* Index of batch in a recommendation, or -1. */
static int rec_index(const bb_recommendation *r, int64_t batch)
{
    for (int i = 0; i < r->n; i++)
        if (r->batch[i] == batch)
            return i;
    return -1;
}

/* The ratio time per item (batch) / (best), with its CI. */
static const bb_ratio *vs_best(const bb_model_summary *m, int64_t batch)
{
    return &m->rec.vs_best[rec_index(&m->rec, batch)];
}

/* A difference the report may state: p < BB_ALPHA and the CI excludes 1. */
static int significant(const bb_ratio *r)
{
    return r->p_value < BB_ALPHA && (r->ci_lo > 1 || r->ci_hi < 1);
}

/* Why a difference is not stated, e.g. "p = 0.081 with 3 and 3 measured batches". */
static const char *why_not(const bb_ratio *r, char *buf, size_t len)
{
    if (r->p_value >= BB_ALPHA)
        snprintf(buf, len, "p = %.2g with %d and %d measured batches", r->p_value, r->n_a, r->n_b);
    else
        snprintf(buf, len, "its 95%% CI, %.3f" EN_DASH "%.3f" TIMES ", includes 1", r->ci_lo, r->ci_hi);
    return buf;
}

/* What the report says about a table, worked out once per (setup, model). */
typedef struct {
    const bb_table *t;
    const bb_report_opts *o;
    bb_model_summary *sum; /* of setup s, model m: sum[first[s] + m] */
    int *ok;               /* bb_model_summarise succeeded */
    int *first;
    int peak_over;         /* a "% of peak" above 100% was shown: the footnote is due */
} report;

static int report_open(report *rp, const bb_table *t, const bb_report_opts *o)
{
    memset(rp, 0, sizeof *rp);
    rp->t = t, rp->o = o;
    int n = 0;
    rp->first = malloc(sizeof *rp->first * (size_t)(t->n_setups + 1));
    for (int s = 0; rp->first && s < t->n_setups; s++)
        rp->first[s] = n, n += t->setups[s].n_models;
    rp->sum = malloc(sizeof *rp->sum * (size_t)(n + 1));
    rp->ok = calloc((size_t)n + 1, sizeof *rp->ok);
    if (!rp->first || !rp->sum || !rp->ok)
        return -1;
    for (int s = 0; s < t->n_setups; s++)
        for (int m = 0; m < t->setups[s].n_models; m++) {
            int rc = bb_model_summarise(t, s, t->setups[s].models[m], o->max_latency_s, &rp->sum[rp->first[s] + m]);
            if (rc == -2)
                return -1;
            rp->ok[rp->first[s] + m] = rc == 0;
        }
    return 0;
}

static void report_close(report *rp)
{
    free(rp->sum), free(rp->ok), free(rp->first);
}

/* The summary of model m of setup s, or NULL when it has no usable result. */
static const bb_model_summary *summary(const report *rp, int s, int m)
{
    return rp->ok[rp->first[s] + m] ? &rp->sum[rp->first[s] + m] : NULL;
}

/* ---- sections ------------------------------------------------------------------ */

static const char *family_title(const char *f)
{
    return !strcmp(f, "conv") ? "Convolutional models" : !strcmp(f, "transformer") ? "Transformer models"
           : !strcmp(f, "imported")                                         ? "Imported models"
                                                                            : f;
}

/* Where the threads ran (env/core_rtt.h): on a VM the same command runs
 * small batches up to 1.6x slower when they share no cache. */
static void threads_apart(FILE *f, const bb_table *t, int setup)
{
    double med, lo, hi;
    int far, n;
    if (bb_table_core_rtt(t, setup, &med, &lo, &hi, &far, &n) != 0)
        return;
    fprintf(f, " Threads' core-to-core round trip (after each slice): median %.0f ns, %.0f" EN_DASH "%.0f ns", med,
            lo, hi);
    if (far)
        fprintf(f, "; %d of %d slices at %.0fx the lowest or more: the threads ran farther apart then (small "
                   "batches run slower so)", far, n, BB_ROUNDS_FAR_RTT);
    fputc('.', f);
}

static void environment(FILE *f, const bb_table *t)
{
    fprintf(f, "## Environment\n\n");
    for (int i = 0; i < t->n_setups; i++) {
        const bb_setup *s = &t->setups[i];
        char label[256];
        bb_setup_label(s, label, sizeof label);
        fprintf(f, "- %s%s: CPU %s (%d logical cores), %s, %s; %s, oneDNN %s; batchbench %s (commit %s); "
                   "%s, %s head.",
                t->n_setups > 1 ? "Setup: " : "", label, s->cpu_model, s->cores, s->os, s->kernel, s->compiler,
                s->onednn, s->version, s->commit, s->precision, s->head);
        if (s->peak_gflops > 0)
            fprintf(f, " Peak %.1f GFLOP/s (%s): \"%% of peak\" divides by it.", s->peak_gflops, s->peak_source);
        threads_apart(f, t, i);
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void how_chosen(FILE *f, const bb_table *t)
{
    fprintf(f, "## How the answer is chosen\n\n"
               "For each model the batch size to **use** is the smallest one tied with the fastest. The fastest "
               "(\"best\") has the lowest median time per item. Another batch size is tied with it when the 95%% "
               "confidence interval of the ratio of their times per item overlaps 1 \xC2\xB1 %.3g%% (the margin, "
               "`--margin`). The interval comes from every measured batch (batch time / batch size; "
               "Hodges" EN_DASH "Lehmann estimate with its Moses interval), so neither a difference smaller than "
               "the margin nor one the data cannot tell from zero moves the answer: of equally fast batch sizes "
               "the smallest gives the same throughput at the least latency, and it does not flip between runs "
               "the way the plain fastest does on a noisy machine. A difference is stated only when it is "
               "significant (Mann" EN_DASH "Whitney p < %g and the interval excludes 1), with its 95%% CI. Where "
               "a batch size's interval ends closer to the margin than the interval is wide, a rerun may decide "
               "its tie the other way; when that would change the answer, the answer names what a rerun may "
               "answer instead. The knee is the smallest batch size whose median is within %.0f%% of the "
               "best.\n\n",
            t->margin * 100, BB_ALPHA, BB_KNEE_TOLERANCE * 100);
}

static void table_header(FILE *f, const bb_setup *s)
{
    fprintf(f, "| model |");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, " %lld |", (long long)s->batches[b]);
    fprintf(f, " best batch | tied within noise | use | gain of best over smallest | GFLOP/s at best%s | knee "
               "(within 5%%) |\n|---|",
            s->peak_gflops > 0 ? " (% of peak)" : "");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, "--:|");
    fprintf(f, "--:|--:|--:|--:|--:|--:|\n");
}

/* A measured cell: bold where it is the batch size to use, italic where tied. */
static void table_cell(FILE *f, const bb_row *r, const bb_model_summary *m)
{
    char v[32];
    int i = m ? rec_index(&m->rec, r->batch_size) : -1;
    const char *mark = i < 0 || !m->rec.tied[i] ? "" : r->batch_size == m->recommended ? "**" : "*";
    fprintf(f, " %s%s%s |", mark, ms(r->per_item_s, v, sizeof v), mark);
}

static void table_row(FILE *f, report *rp, int setup, int mi)
{
    const bb_table *t = rp->t;
    const bb_setup *s = &t->setups[setup];
    const bb_model_summary *m = summary(rp, setup, mi);
    fprintf(f, "| %s |", s->models[mi]);
    for (int b = 0; b < s->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, s->models[mi], s->batches[b]);
        if (!r)
            fprintf(f, " %s |", bb_table_state(t, setup, s->models[mi], s->batches[b]));
        else
            table_cell(f, r, m);
    }
    if (!m) {
        fprintf(f, " - | - | - | - | - | - |\n");
        return;
    }
    char pct[48] = "", tied[BB_RECOMMEND_MAX * 24];
    double p = s->peak_gflops > 0 ? 100.0 * m->best_gflops / s->peak_gflops : 0;
    if (p > 0)
        snprintf(pct, sizeof pct, " (%.0f%%%s)", p, p > 100 ? "[^peak]" : "");
    rp->peak_over |= p > 100;
    bb_recommend_tied_list(&m->rec, tied, sizeof tied);
    fprintf(f, " %lld | %s | **%lld** | %.2f" TIMES " (vs %lld) | %.1f%s | %lld |\n", (long long)m->best, tied,
            (long long)m->recommended, m->gain, (long long)m->smallest, m->best_gflops, pct, (long long)m->knee);
}

/* "No result at batch 8 (oom)." for the batch sizes without one. */
static void failed_sentence(FILE *f, const bb_table *t, int setup, const char *model)
{
    const bb_setup *s = &t->setups[setup];
    int n = 0;
    for (int b = 0; b < s->n_batches; b++)
        if (!bb_table_ok(t, setup, model, s->batches[b]))
            fprintf(f, "%s%lld (%s)", n++ ? ", " : "  - No result at batch ", (long long)s->batches[b],
                    bb_table_state(t, setup, model, s->batches[b]));
    if (n)
        fprintf(f, ".\n");
}

/* What growing the batch from the smallest buys, stated only when significant. */
static void gain_sentence(FILE *f, const bb_model_summary *m)
{
    char a[32], b[32], why[96];
    if (m->best == m->smallest) {
        fprintf(f, "  - Batching does not pay: the smallest batch (%lld) is already the fastest per item (%s ms).\n",
                (long long)m->best, ms(m->best_s, a, sizeof a));
        return;
    }
    const bb_ratio *r = vs_best(m, m->smallest);
    if (significant(r))
        fprintf(f, "  - Time per item falls from %s ms at batch %lld to %s ms at batch %lld (%.2f" TIMES " less, "
                   "95%% CI %.2f" EN_DASH "%.2f" TIMES ")",
                ms(m->smallest_s, a, sizeof a), (long long)m->smallest, ms(m->best_s, b, sizeof b),
                (long long)m->best, r->ratio, r->ci_lo, r->ci_hi);
    else
        fprintf(f, "  - Batch %lld (%s ms per item) and batch %lld (%s ms) are statistically indistinguishable "
                   "(%s)",
                (long long)m->smallest, ms(m->smallest_s, a, sizeof a), (long long)m->best,
                ms(m->best_s, b, sizeof b), why_not(r, why, sizeof why));
    fprintf(f, "; the median is within 5%% of the best from batch %lld on.\n", (long long)m->knee);
}

/* Whether the largest batch is slower than the best, stated only when significant. */
static void largest_sentence(FILE *f, const bb_model_summary *m)
{
    if (m->best == m->largest)
        return;
    const bb_ratio *r = vs_best(m, m->largest);
    char why[96];
    if (significant(r))
        fprintf(f, "  - The largest batch is not the fastest per item: batch %lld is %.1f%% faster than batch %lld "
                   "(95%% CI %.1f" EN_DASH "%.1f%%).\n",
                (long long)m->best, (r->ratio - 1) * 100, (long long)m->largest, (r->ci_lo - 1) * 100,
                (r->ci_hi - 1) * 100);
    else
        fprintf(f, "  - Batch %lld and the largest batch, %lld, are indistinguishable per item (batch %lld looks "
                   "%.1f%% faster; %s).\n",
                (long long)m->best, (long long)m->largest, (long long)m->best, (r->ratio - 1) * 100,
                why_not(r, why, sizeof why));
}

/* The plain answer first, then what supports it. */
static void model_sentences(FILE *f, const char *model, const bb_model_summary *m)
{
    char lead[BB_RECOMMEND_SENTENCE_LEN];
    bb_recommend_sentence(&m->rec, model, lead, sizeof lead);
    fprintf(f, "- %s.\n", lead);
    if (m->n_ok > 1) {
        gain_sentence(f, m);
        largest_sentence(f, m);
    }
}

/* "The largest usable batch is ... for 2 of 3 ...". */
static void family_sentence(FILE *f, const report *rp, int setup, const char *family)
{
    const bb_setup *s = &rp->t->setups[setup];
    int n = 0, largest = 0;
    for (int i = 0; i < s->n_models; i++) {
        const bb_model_summary *m = summary(rp, setup, i);
        if (strcmp(bb_table_family(rp->t, setup, s->models[i]), family) || !m)
            continue;
        n++;
        largest += m->n_ok > 1 && m->rec.tied[rec_index(&m->rec, m->largest)];
    }
    if (n > 1)
        fprintf(f, "\nThe largest usable batch is the fastest per item, or tied with it within noise, for %d of %d "
                   "%s.\n",
                largest, n,
                !strcmp(family, "conv") ? "convolutional models" : !strcmp(family, "transformer") ? "transformers"
                                                                                                  : "models");
}

static const bb_figure *find_fig(const bb_report_opts *o, bb_chart kind, int setup)
{
    for (int i = 0; o->figs && i < o->figs->n_figs; i++)
        if (o->figs->figs[i].kind == kind && o->figs->figs[i].setup == setup)
            return &o->figs->figs[i];
    return NULL;
}

void bb_report_embed(FILE *f, const bb_report_opts *o, bb_chart kind, int setup)
{
    const bb_figure *g = find_fig(o, kind, setup);
    if (!g)
        return;
    if (o->formats & (BB_FMT_PNG | BB_FMT_SVG))
        fprintf(f, "\n![%s](%s.%s)\n", g->caption, g->name, o->formats & BB_FMT_PNG ? "png" : "svg");
    else
        fprintf(f, "\n[%s](%s.pdf)\n", g->caption, g->name);
    fprintf(f, "\n*%s.*\n", g->caption); /* the alt text is not shown where the image is */
}

static void family_section(FILE *f, report *rp, int setup, const char *family, int first_other)
{
    const bb_table *t = rp->t;
    const bb_setup *s = &t->setups[setup];
    char label[256];
    bb_setup_label(s, label, sizeof label);
    fprintf(f, "## %s%s%s\n\nMedian time per item in ms (lower is better). **Bold**: the batch size to use; "
               "*italic*: the others tied with the fastest within noise. The knee is the smallest batch size "
               "within 5%% of the best.\n\n",
            family_title(family), t->n_setups > 1 ? ": " : "", t->n_setups > 1 ? label : "");
    table_header(f, s);
    for (int i = 0; i < s->n_models; i++)
        if (!strcmp(bb_table_family(t, setup, s->models[i]), family))
            table_row(f, rp, setup, i);
    fputc('\n', f);
    bb_report_view_table(f, t, setup, family);
    for (int i = 0; i < s->n_models; i++) {
        if (strcmp(bb_table_family(t, setup, s->models[i]), family))
            continue;
        const bb_model_summary *m = summary(rp, setup, i);
        if (m)
            model_sentences(f, s->models[i], m);
        else
            fprintf(f, "- %s has no usable result.\n", s->models[i]);
        failed_sentence(f, t, setup, s->models[i]);
    }
    family_sentence(f, rp, setup, family);
    if (!strcmp(family, "conv") || !strcmp(family, "transformer"))
        bb_report_embed(f, rp->o, !strcmp(family, "conv") ? BB_CHART_CONV : BB_CHART_TRANS, setup);
    else if (first_other) /* one chart holds every other family's models */
        bb_report_embed(f, rp->o, BB_CHART_OTHER, setup);
    fputc('\n', f);
}

/* Families of a setup in a stable order: conv, transformer, then others. */
static void families(FILE *f, report *rp, int setup)
{
    const bb_setup *s = &rp->t->setups[setup];
    const char *done[16];
    int nd = 0, others = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < s->n_models && nd < 16; i++) {
            const char *fam = bb_table_family(rp->t, setup, s->models[i]);
            int seen = 0, want = pass == 0 ? !strcmp(fam, "conv") : pass == 1 ? !strcmp(fam, "transformer") : 1;
            for (int k = 0; k < nd; k++)
                seen |= !strcmp(done[k], fam);
            if (want && !seen)
                family_section(f, rp, setup, done[nd++] = fam, pass == 2 && !others++);
        }
}

/* ---- latency ------------------------------------------------------------------------ */

/* The fewest samples whose percentile p is backed by data (bb_stats_supports). */
static int samples_needed(double p)
{
    int n = 1;
    while (n < 1000000 && !bb_stats_supports(n, p))
        n++;
    return n;
}

/* p99 of the batch latency where the samples support it; returns 1 if shown. */
static int p99_cell(FILE *f, const bb_row *r)
{
    char a[32];
    if (bb_stats_supports(r->st.n, 0.99)) {
        fprintf(f, " %s |", ms(r->st.p99, a, sizeof a));
        return 1;
    }
    fprintf(f, " needs %d batches (has %d) |", samples_needed(0.99), r->st.n);
    return 0;
}

static void latency_table(FILE *f, const report *rp, int setup)
{
    const bb_setup *s = &rp->t->setups[setup];
    char a[32];
    int unsupported = 0;
    fprintf(f, "### Latency budget: median batch latency under %g ms\n\n| model | batch size | median batch latency "
               "(ms) | p99 batch latency (ms) | items/s |\n|---|--:|--:|--:|--:|\n",
            rp->o->max_latency_s * 1e3);
    for (int i = 0; i < s->n_models; i++) {
        const bb_model_summary *m = summary(rp, setup, i);
        if (!m)
            continue;
        if (!m->latency_pick) {
            fprintf(f, "| %s | none | - | - | - |\n", s->models[i]);
            continue;
        }
        fprintf(f, "| %s | %lld | %s |", s->models[i], (long long)m->latency_pick, ms(m->latency_pick_s, a, sizeof a));
        unsupported += !p99_cell(f, bb_table_ok(rp->t, setup, s->models[i], m->latency_pick));
        fprintf(f, " %.1f |\n", m->latency_pick_ips);
    }
    fputc('\n', f);
    if (unsupported)
        fprintf(f, "A p99 needs at least %d measured batches: with fewer, no batch lies beyond it and the value "
                   "would only interpolate towards the slowest one (`run --reps`).\n\n",
                samples_needed(0.99));
}

static void latency_section(FILE *f, const report *rp, int setup)
{
    const bb_setup *s = &rp->t->setups[setup];
    char a[32], b[32];
    double budget_ms = rp->o->max_latency_s * 1e3;
    latency_table(f, rp, setup);
    for (int i = 0; i < s->n_models; i++) {
        const bb_model_summary *m = summary(rp, setup, i);
        if (!m)
            continue;
        const bb_row *r = bb_table_ok(rp->t, setup, s->models[i], m->smallest);
        if (m->latency_pick)
            fprintf(f, "- Under %g ms per batch, %s does best at batch %lld: %.1f items/s at %s ms per batch.\n",
                    budget_ms, s->models[i], (long long)m->latency_pick, m->latency_pick_ips,
                    ms(m->latency_pick_s, a, sizeof a));
        else
            fprintf(f, "- No batch size of %s stays under %g ms per batch (batch %lld already takes %s ms).\n",
                    s->models[i], budget_ms, (long long)m->smallest, ms(r->latency_s, b, sizeof b));
    }
    fputc('\n', f);
}

static void curves_section(FILE *f, const report *rp, int setup)
{
    char label[256];
    const bb_table *t = rp->t;
    bb_setup_label(&t->setups[setup], label, sizeof label);
    fprintf(f, "## Across batch sizes%s%s\n", t->n_setups > 1 ? ": " : "", t->n_setups > 1 ? label : "");
    bb_report_embed(f, rp->o, BB_CHART_VS_BATCH, setup);
    bb_report_embed(f, rp->o, BB_CHART_THROUGHPUT, setup);
    fputc('\n', f);
    if (rp->o->max_latency_s > 0)
        latency_section(f, rp, setup);
}

/* ---- comparison, quality, what is missing --------------------------------------- */

/* Setup 0 against setup `other` (>= 1): ratios per model, their geometric mean. */
static void comparison_section(FILE *f, const bb_table *t, const bb_report_opts *o, int other)
{
    const bb_setup *s0 = &t->setups[0];
    char l0[256], l1[256];
    bb_setup_label(s0, l0, sizeof l0), bb_setup_label(&t->setups[other], l1, sizeof l1);
    fprintf(f, "## Comparison%s%s\n\nTime per item of **%s** divided by that of **%s** (below 1: the first is "
               "faster), at the batch sizes both measured.\n\n| model | batch sizes | ratios | geometric mean |\n"
               "|---|---|---|--:|\n",
            t->n_setups > 2 ? ": " : "", t->n_setups > 2 ? t->setups[other].engine : "", l0, l1);
    for (int m = 0; m < s0->n_models; m++) {
        double logsum = 0;
        int n = 0;
        if (!bb_table_family(t, other, s0->models[m])[0])
            continue; /* not in the second setup */
        fprintf(f, "| %s | ", s0->models[m]);
        for (int b = 0; b < s0->n_batches; b++)
            if (bb_table_ok(t, 0, s0->models[m], s0->batches[b]) && bb_table_ok(t, other, s0->models[m], s0->batches[b]))
                fprintf(f, "%s%lld", n++ ? ", " : "", (long long)s0->batches[b]);
        fprintf(f, " | ");
        for (int b = 0, k = 0; b < s0->n_batches; b++) {
            const bb_row *x = bb_table_ok(t, 0, s0->models[m], s0->batches[b]);
            const bb_row *y = bb_table_ok(t, other, s0->models[m], s0->batches[b]);
            if (x && y) {
                fprintf(f, "%s%.2f", k++ ? ", " : "", x->per_item_s / y->per_item_s);
                logsum += log(x->per_item_s / y->per_item_s);
            }
        }
        if (n)
            fprintf(f, " | %.2f |\n", exp(logsum / n));
        else
            fprintf(f, "none in common | - |\n");
    }
    bb_report_embed(f, o, BB_CHART_RATIO, other);
    fputc('\n', f);
}

/* "resnet18 batch 8", with the setup when there are several. */
static const char *row_name(const bb_table *t, const bb_row *r, char *buf, size_t len)
{
    const bb_setup *s = &t->setups[r->setup];
    if (t->n_setups > 1)
        snprintf(buf, len, "%s batch %lld (%s on %s)", r->model, (long long)r->batch_size, s->engine, s->device);
    else
        snprintf(buf, len, "%s batch %lld", r->model, (long long)r->batch_size);
    return buf;
}

static int stopped_short(const bb_row *r)
{
    return !strcmp(r->stop_reason, "cap") || !strcmp(r->stop_reason, "budget");
}

/* One "- <title>: a (why), b (why)." line over the rows that match; returns how many. */
static int quality_line(FILE *f, const bb_table *t, const char *title, int (*match)(const bb_row *),
                        void (*why)(const bb_row *, char *, size_t))
{
    int n = 0;
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (strcmp(r->status, "ok") || !r->has_stats || !match(r))
            continue;
        char name[256], w[224];
        why(r, w, sizeof w);
        fprintf(f, "%s%s (%s)", n++ ? ", " : title, row_name(t, r, name, sizeof name), w);
    }
    if (n)
        fprintf(f, ".\n");
    return n;
}

static int is_disturbed(const bb_row *r) { return r->disturbed; }
static int is_noisy(const bb_row *r) { return r->st.cv > 0.05; }

static void why_disturbed(const bb_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s", r->disturbed_why[0] ? r->disturbed_why : "no reason recorded");
}

static void why_short(const bb_row *r, char *buf, size_t len)
{
    const char *what = !strcmp(r->stop_reason, "cap") ? "hit --max-config-time, the cap on its measuring time"
                                                       : "ran out of its share of the --budget";
    if (isfinite(r->ci_half_width))
        snprintf(buf, len, "%s; \xC2\xB1%.1f%% reached", what, r->ci_half_width * 100);
    else
        snprintf(buf, len, "%s", what);
}

static void why_noisy(const bb_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "%.0f%%", r->st.cv * 100);
}

/* Models whose batch sizes were measured one after another, with why. */
static int not_interleaved(FILE *f, const bb_table *t)
{
    int n = 0;
    for (int s = 0; s < t->n_setups; s++)
        for (int m = 0; m < t->setups[s].n_models; m++) {
            const bb_row *first = NULL;
            for (int i = 0; i < t->n_rows; i++) {
                const bb_row *r = &t->rows[i];
                if (r->setup == s && !strcmp(r->model, t->setups[s].models[m]) && r->interleaved == 0 &&
                    (!first || (!first->interleave_fallback[0] && r->interleave_fallback[0])))
                    first = r;
            }
            if (!first)
                continue;
            fprintf(f, "- %s%s%s: batch sizes measured one after another, not interleaved (%s), so drift of the "
                       "machine over time can pass for a difference between them.\n",
                    first->model, t->n_setups > 1 ? " on " : "", t->n_setups > 1 ? t->setups[s].engine : "",
                    first->interleave_fallback[0] ? first->interleave_fallback : "interleaving was not asked for");
            n++;
        }
    return n;
}

/* Did the files record how the measurement went (newer files)? */
static int quality_recorded(const bb_table *t)
{
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].stop_reason[0] || t->rows[i].interleaved >= 0 || t->rows[i].disturbed)
            return 1;
    return 0;
}

/* Disturbed configurations, those that stopped short of their CI target,
 * models not interleaved, and noisy results. */
static void quality_section(FILE *f, const bb_table *t)
{
    char *body = NULL;
    size_t len = 0;
    FILE *g = open_memstream(&body, &len);
    if (!g)
        return;
    int n = quality_line(g, t, "- Disturbed while measured (other work on the machine): ", is_disturbed,
                         why_disturbed);
    n += quality_line(g, t, "- Stopped before reaching their confidence target: ", stopped_short, why_short);
    n += not_interleaved(g, t);
    n += quality_line(g, t, "- Noisy (batch times vary by more than 5%, coefficient of variation; read their "
                            "differences with care): ",
                      is_noisy, why_noisy);
    fclose(g);
    if (n || quality_recorded(t)) {
        fprintf(f, "## Measurement quality\n\n%s", n ? body : "");
        if (!n)
            fprintf(f, "No configuration was disturbed, stopped short of its confidence target or noisy.\n");
        fputc('\n', f);
    }
    free(body);
}

static void missing_section(FILE *f, const bb_table *t)
{
    int n = t->n_skipped;
    for (int i = 0; i < t->n_rows; i++)
        n += strcmp(t->rows[i].status, "ok") != 0;
    if (n + t->n_missing + t->n_plan_missing == 0)
        return;
    fprintf(f, "## Not measured or skipped\n\n");
    if (t->n_plan_missing)
        fprintf(f, "Missing configurations: %d of the %d that the sharded sweep%s planned have no ok result (rerun "
                   "the same command with `--resume` to run only these):\n\n",
                t->n_plan_missing, t->n_planned, t->n_plans == 1 ? "" : "s");
    for (int i = 0; i < t->n_plan_missing; i++)
        fprintf(f, "- %s: missing\n", t->plan_missing[i]);
    if (t->n_plan_missing)
        fputc('\n', f);
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (strcmp(r->status, "ok"))
            fprintf(f, "- %s batch %lld: %s%s%s%s (`%s`)\n", r->model, (long long)r->batch_size, r->status,
                    r->message[0] ? " (" : "", r->message, r->message[0] ? ")" : "", r->path);
    }
    for (int s = 0; s < t->n_setups; s++) {
        const bb_setup *su = &t->setups[s];
        for (int m = 0; m < su->n_models; m++)
            for (int b = 0; b < su->n_batches; b++)
                if (!bb_table_find(t, s, su->models[m], su->batches[b]))
                    fprintf(f, "- %s batch %lld: missing (no result file)\n", su->models[m],
                            (long long)su->batches[b]);
    }
    for (int i = 0; i < t->n_skipped; i++)
        fprintf(f, "- skipped `%s`\n", t->skipped[i]);
    fputc('\n', f);
}

static void header(FILE *f, const bb_table *t, const bb_report_opts *o)
{
    fprintf(f, "# Batch size and inference time per item\n\nResults from ");
    for (int i = 0; i < o->n_dirs; i++)
        fprintf(f, "%s`%s`", i ? (i + 1 == o->n_dirs ? " and " : ", ") : "", o->dirs[i]);
    fprintf(f, ": %d result file%s, %d usable", t->n_files, t->n_files == 1 ? "" : "s", t->n_rows - t->n_failed);
    if (t->n_failed)
        fprintf(f, ", %d not ok (oom, timeout or error)", t->n_failed);
    if (t->n_corrupt + t->n_duplicate)
        fprintf(f, ", %d skipped (unreadable or duplicate)", t->n_corrupt + t->n_duplicate);
    if (t->n_missing)
        fprintf(f, ", %d configuration%s missing", t->n_missing, t->n_missing == 1 ? "" : "s");
    if (t->n_plans)
        fprintf(f, "; %d of %d planned configuration%s (sharded sweep%s) done", t->n_planned - t->n_plan_missing,
                t->n_planned, t->n_planned == 1 ? "" : "s", t->n_plans == 1 ? "" : "s");
    fprintf(f, ". ");
    bb_report_view_note(f, t);
}

static void peak_footnote(FILE *f, const report *rp)
{
    if (rp->peak_over)
        fprintf(f, "[^peak]: Above 100%% of peak: GFLOP/s here counts 2 FLOP for every multiply-accumulate of the "
                   "direct computation (a plain convolution, the matrix products), and the percentage divides that "
                   "by the machine's peak. Winograd convolutions and similar fast algorithms do fewer "
                   "multiplications than that count, so the effective rate can pass 100%% while the hardware stays "
                   "below its peak.\n\n");
}

/* The inference part of the report: every section from the table. */
static int inference_sections(FILE *f, const bb_table *t, const bb_report_opts *o)
{
    report rp;
    if (report_open(&rp, t, o) != 0)
        return report_close(&rp), -1;
    header(f, t, o);
    environment(f, t);
    how_chosen(f, t);
    for (int s = 0; s < t->n_setups; s++) {
        families(f, &rp, s);
        curves_section(f, &rp, s);
    }
    bb_slo_sections(f, t, o);
    for (int s = 1; s < t->n_setups; s++)
        comparison_section(f, t, o, s);
    bb_hw_sections(f, t, o);
    bb_energy_sections(f, t, o);
    quality_section(f, t);
    missing_section(f, t);
    peak_footnote(f, &rp);
    report_close(&rp);
    return 0;
}

char *bb_report_text(const bb_table *t, const bb_report_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    int bad = 0;
    if (t->n_rows > 0)
        bad = inference_sections(f, t, o) != 0;
    else
        fprintf(f, "# Data loading and end to end\n\nNo inference results (inference_time-*.json) in these "
                   "folders; the data-loading results follow.\n\n");
    if (!bad && o->loading && !bb_loading_empty(o->loading))
        bb_loading_report(f, o->loading, o->figs, o->formats);
    bad |= ferror(f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return NULL;
    }
    return text;
}

int bb_report_write(const bb_table *t, const bb_report_opts *o, bb_err *err)
{
    char *text = bb_report_text(t, o);
    if (!text)
        return bb_err_oom(err, "out of memory writing '%s'", o->path);
    int rc = bb_write_atomic(o->path, text, strlen(text), "report", err);
    free(text);
    return rc;
}

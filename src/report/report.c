/*
 * report.c — report.md from a results table (report.h).
 *
 * Why this file exists: it turns the numbers into the answer, in the spirit
 * of the seed's write-up ("a small batch under-uses the hardware", "the
 * largest batch is not always the fastest per item"), but every sentence is
 * computed from the result files, so the prose cannot drift from the data.
 * Each figure it quotes is the median time per item of a usable (status ok)
 * result; anything not measured is listed, never silently left out.
 */
#include "report/report.h"
#include "report/loading.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot_util.h"
#include "util/atomic_file.h"

/* ---- numbers ------------------------------------------------------------------ */

static void consider(bb_model_summary *s, const bb_row *r, double max_latency_s)
{
    if (s->n_ok++ == 0)
        s->smallest = r->batch_size, s->smallest_s = r->per_item_s;
    s->largest = r->batch_size, s->largest_s = r->per_item_s;
    if (s->best == 0 || r->per_item_s < s->best_s)
        s->best = r->batch_size, s->best_s = r->per_item_s, s->best_gflops = r->gflops;
    if (max_latency_s > 0 && r->latency_s < max_latency_s &&
        (s->latency_pick == 0 || r->items_per_s > s->latency_pick_ips))
        s->latency_pick = r->batch_size, s->latency_pick_s = r->latency_s, s->latency_pick_ips = r->items_per_s;
}

int bb_model_summarise(const bb_table *t, int setup, const char *model, double max_latency_s, bb_model_summary *s)
{
    memset(s, 0, sizeof *s);
    if (setup < 0 || setup >= t->n_setups)
        return -1;
    const bb_setup *su = &t->setups[setup];
    for (int b = 0; b < su->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, su->batches[b]);
        if (r)
            consider(s, r, max_latency_s);
    }
    if (s->n_ok == 0)
        return -1;
    s->gain = s->smallest_s / s->best_s;
    for (int b = 0; b < su->n_batches && s->knee == 0; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, su->batches[b]);
        if (r && r->per_item_s <= s->best_s * (1 + BB_KNEE_TOLERANCE))
            s->knee = r->batch_size;
    }
    return 0;
}

/* ms per item with 3-4 significant digits. */
static const char *ms(double s, char *buf, size_t len)
{
    double v = s * 1e3;
    snprintf(buf, len, v >= 100 ? "%.1f" : v >= 10 ? "%.2f" : v >= 1 ? "%.3f" : "%.4f", v);
    return buf;
}

/* ---- sections ------------------------------------------------------------------ */

static const char *family_title(const char *f)
{
    return !strcmp(f, "conv") ? "Convolutional models" : !strcmp(f, "transformer") ? "Transformer models" : f;
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
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void table_header(FILE *f, const bb_setup *s)
{
    fprintf(f, "| model |");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, " %lld |", (long long)s->batches[b]);
    fprintf(f, " best batch | gain of best over smallest | GFLOP/s at best%s | knee (within 5%%) |\n|---|",
            s->peak_gflops > 0 ? " (% of peak)" : "");
    for (int b = 0; b < s->n_batches; b++)
        fprintf(f, "--:|");
    fprintf(f, "--:|--:|--:|--:|\n");
}

static void table_row(FILE *f, const bb_table *t, int setup, const char *model)
{
    const bb_setup *s = &t->setups[setup];
    bb_model_summary m;
    int ok = bb_model_summarise(t, setup, model, 0, &m) == 0;
    char b1[32];
    fprintf(f, "| %s |", model);
    for (int b = 0; b < s->n_batches; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (!r)
            fprintf(f, " %s |", bb_table_state(t, setup, model, s->batches[b]));
        else
            fprintf(f, r->batch_size == m.best ? " **%s** |" : " %s |", ms(r->per_item_s, b1, sizeof b1));
    }
    char pct[32] = "";
    if (ok && s->peak_gflops > 0)
        snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * m.best_gflops / s->peak_gflops);
    if (ok)
        fprintf(f, " %lld | %.2f\xC3\x97 (vs %lld) | %.1f%s | %lld |\n", (long long)m.best, m.gain,
                (long long)m.smallest, m.best_gflops, pct, (long long)m.knee);
    else
        fprintf(f, " - | - | - | - |\n");
}

/* "Batch 8 gave no result (oom)." for the batch sizes without one. */
static void failed_sentence(FILE *f, const bb_table *t, int setup, const char *model)
{
    const bb_setup *s = &t->setups[setup];
    int n = 0;
    for (int b = 0; b < s->n_batches; b++)
        if (!bb_table_ok(t, setup, model, s->batches[b]))
            fprintf(f, "%s%lld (%s)", n++ ? ", " : "  No result at batch ", (long long)s->batches[b],
                    bb_table_state(t, setup, model, s->batches[b]));
    if (n)
        fprintf(f, ".\n");
}

/* The computed sentences about one model. */
static void model_sentences(FILE *f, const char *model, const bb_model_summary *m)
{
    char a[32], b[32];
    if (m->n_ok == 1) {
        fprintf(f, "- For %s only batch %lld has a usable result (%s ms per item).\n", model, (long long)m->best,
                ms(m->best_s, a, sizeof a));
        return;
    }
    if (m->best == m->smallest)
        fprintf(f, "- For %s, batching does not pay: the smallest batch (%lld) is already the fastest per item "
                   "(%s ms).\n",
                model, (long long)m->best, ms(m->best_s, a, sizeof a));
    else
        fprintf(f, "- For %s, time per item falls from %s ms at batch %lld to %s ms at batch %lld (%.2f\xC3\x97 less); "
                   "it is within 5%% of its best from batch %lld on.\n",
                model, ms(m->smallest_s, a, sizeof a), (long long)m->smallest, ms(m->best_s, b, sizeof b),
                (long long)m->best, m->gain, (long long)m->knee);
    if (m->best != m->largest)
        fprintf(f, "- For %s the largest batch is not the fastest per item: batch %lld is %.1f%% faster than batch "
                   "%lld.\n",
                model, (long long)m->best, (m->largest_s / m->best_s - 1) * 100, (long long)m->largest);
}

/* "The largest batch is the fastest per item for 2 of 3 ...". */
static void family_sentence(FILE *f, const bb_table *t, int setup, const char *family)
{
    const bb_setup *s = &t->setups[setup];
    int n = 0, largest = 0;
    for (int i = 0; i < s->n_models; i++) {
        bb_model_summary m;
        if (strcmp(bb_table_family(t, setup, s->models[i]), family) || bb_model_summarise(t, setup, s->models[i], 0, &m))
            continue;
        n++;
        largest += m.best == m.largest && m.n_ok > 1;
    }
    if (n > 1)
        fprintf(f, "\nThe largest usable batch is the fastest per item for %d of %d %s.\n", largest, n,
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

static void embed(FILE *f, const bb_report_opts *o, bb_chart kind, int setup)
{
    const bb_figure *g = find_fig(o, kind, setup);
    if (!g)
        return;
    if (o->formats & (BB_FMT_PNG | BB_FMT_SVG))
        fprintf(f, "\n![%s](%s.%s)\n", g->caption, g->name, o->formats & BB_FMT_PNG ? "png" : "svg");
    else
        fprintf(f, "\n[%s](%s.pdf)\n", g->caption, g->name);
}

static void family_section(FILE *f, const bb_table *t, const bb_report_opts *o, int setup, const char *family)
{
    const bb_setup *s = &t->setups[setup];
    char label[256];
    bb_setup_label(s, label, sizeof label);
    fprintf(f, "## %s%s%s\n\nMedian time per item in ms (lower is better; the best in bold). The knee is the "
               "smallest batch size within 5%% of the best.\n\n",
            family_title(family), t->n_setups > 1 ? ": " : "", t->n_setups > 1 ? label : "");
    table_header(f, s);
    for (int i = 0; i < s->n_models; i++)
        if (!strcmp(bb_table_family(t, setup, s->models[i]), family))
            table_row(f, t, setup, s->models[i]);
    fputc('\n', f);
    for (int i = 0; i < s->n_models; i++) {
        bb_model_summary m;
        if (strcmp(bb_table_family(t, setup, s->models[i]), family))
            continue;
        if (bb_model_summarise(t, setup, s->models[i], 0, &m) == 0)
            model_sentences(f, s->models[i], &m);
        else
            fprintf(f, "- %s has no usable result.\n", s->models[i]);
        failed_sentence(f, t, setup, s->models[i]);
    }
    family_sentence(f, t, setup, family);
    if (!strcmp(family, "conv") || !strcmp(family, "transformer"))
        embed(f, o, !strcmp(family, "conv") ? BB_CHART_CONV : BB_CHART_TRANS, setup);
    fputc('\n', f);
}

/* Families of a setup in a stable order: conv, transformer, then others. */
static void families(FILE *f, const bb_table *t, const bb_report_opts *o, int setup)
{
    const bb_setup *s = &t->setups[setup];
    const char *done[16];
    int nd = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < s->n_models && nd < 16; i++) {
            const char *fam = bb_table_family(t, setup, s->models[i]);
            int seen = 0, want = pass == 0 ? !strcmp(fam, "conv") : pass == 1 ? !strcmp(fam, "transformer") : 1;
            for (int k = 0; k < nd; k++)
                seen |= !strcmp(done[k], fam);
            if (want && !seen)
                family_section(f, t, o, setup, done[nd++] = fam);
        }
}

static void latency_section(FILE *f, const bb_table *t, const bb_report_opts *o, int setup)
{
    const bb_setup *s = &t->setups[setup];
    char a[32], b[32];
    fprintf(f, "### Latency budget: median batch latency under %g ms\n\n| model | batch size | median batch latency "
               "(ms) | items/s |\n|---|--:|--:|--:|\n",
            o->max_latency_s * 1e3);
    for (int i = 0; i < s->n_models; i++) {
        bb_model_summary m;
        if (bb_model_summarise(t, setup, s->models[i], o->max_latency_s, &m) != 0)
            continue;
        if (m.latency_pick)
            fprintf(f, "| %s | %lld | %s | %.1f |\n", s->models[i], (long long)m.latency_pick,
                    ms(m.latency_pick_s, a, sizeof a), m.latency_pick_ips);
        else
            fprintf(f, "| %s | none | - | - |\n", s->models[i]);
    }
    fputc('\n', f);
    for (int i = 0; i < s->n_models; i++) {
        bb_model_summary m;
        if (bb_model_summarise(t, setup, s->models[i], o->max_latency_s, &m) != 0)
            continue;
        const bb_row *r = bb_table_ok(t, setup, s->models[i], m.smallest);
        if (m.latency_pick)
            fprintf(f, "- Under %g ms per batch, %s does best at batch %lld: %.1f items/s at %s ms per batch.\n",
                    o->max_latency_s * 1e3, s->models[i], (long long)m.latency_pick, m.latency_pick_ips,
                    ms(m.latency_pick_s, a, sizeof a));
        else
            fprintf(f, "- No batch size of %s stays under %g ms per batch (batch %lld already takes %s ms).\n",
                    s->models[i], o->max_latency_s * 1e3, (long long)m.smallest, ms(r->latency_s, b, sizeof b));
    }
    fputc('\n', f);
}

static void curves_section(FILE *f, const bb_table *t, const bb_report_opts *o, int setup)
{
    char label[256];
    bb_setup_label(&t->setups[setup], label, sizeof label);
    fprintf(f, "## Across batch sizes%s%s\n", t->n_setups > 1 ? ": " : "", t->n_setups > 1 ? label : "");
    embed(f, o, BB_CHART_VS_BATCH, setup);
    embed(f, o, BB_CHART_THROUGHPUT, setup);
    fputc('\n', f);
    if (o->max_latency_s > 0)
        latency_section(f, t, o, setup);
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
    embed(f, o, BB_CHART_RATIO, other);
    fputc('\n', f);
}

/* Lists usable results with a coefficient of variation above 5%. */
static void quality_section(FILE *f, const bb_table *t)
{
    int n = 0;
    for (int i = 0; i < t->n_rows; i++) {
        const bb_row *r = &t->rows[i];
        if (!r->has_stats || strcmp(r->status, "ok") || r->st.cv <= 0.05)
            continue;
        if (n++ == 0)
            fprintf(f, "## Measurement noise\n\nThese results vary by more than 5%% between batches (coefficient "
                       "of variation); read their differences with care:\n");
        fprintf(f, "%s%s batch %lld (%.0f%%)", n == 1 ? "" : ", ", r->model, (long long)r->batch_size, r->st.cv * 100);
    }
    if (n)
        fprintf(f, ".\n\n");
}

static void missing_section(FILE *f, const bb_table *t)
{
    int n = t->n_skipped;
    for (int i = 0; i < t->n_rows; i++)
        n += strcmp(t->rows[i].status, "ok") != 0;
    if (n + t->n_missing == 0)
        return;
    fprintf(f, "## Not measured or skipped\n\n");
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
    fprintf(f, ". Every time is the median over the measured batches, divided by the batch size.\n\n");
}

char *bb_report_text(const bb_table *t, const bb_report_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (t->n_rows > 0) {
        header(f, t, o);
        environment(f, t);
        for (int s = 0; s < t->n_setups; s++) {
            families(f, t, o, s);
            curves_section(f, t, o, s);
        }
        for (int s = 1; s < t->n_setups; s++)
            comparison_section(f, t, o, s);
        quality_section(f, t);
        missing_section(f, t);
    } else {
        fprintf(f, "# Data loading and end to end\n\nNo inference results (inference_time-*.json) in these "
                   "folders; the data-loading results follow.\n\n");
    }
    if (o->loading && !bb_loading_empty(o->loading))
        bb_loading_report(f, o->loading, o->figs, o->formats);
    int bad = ferror(f);
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

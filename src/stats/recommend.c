/*
 * recommend.c — the tie-aware answer to "which batch size?" (recommend.h).
 *
 * Why this file exists: a plain argmin of the median time per item flips
 * between runs when several batch sizes are equally fast within noise.
 * This file applies the rule written in recommend.h once, for every caller
 * (the sweep's table, report.md, recommendation.json, summary.csv, the
 * charts), so they cannot disagree about the answer.
 */
#include "stats/recommend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"
#include "util/list_words.h"

/* ---- checking and ordering the input ---------------------------------------- */

static int sample_ok(const bb_batch_sample *s)
{
    if (s->batch < 1 || s->n < 1 || !s->times_s)
        return 0;
    for (int i = 0; i < s->n; i++)
        if (!isfinite(s->times_s[i]) || s->times_s[i] <= 0)
            return 0;
    return 1;
}

static int input_ok(const bb_batch_sample *s, int n, double margin)
{
    if (!s || n < 1 || n > BB_RECOMMEND_MAX || !(margin >= 0 && margin < 1))
        return 0;
    for (int i = 0; i < n; i++) {
        if (!sample_ok(&s[i]))
            return 0;
        for (int k = 0; k < i; k++)
            if (s[k].batch == s[i].batch)
                return 0; /* one sample per batch size */
    }
    return 1;
}

/* order[0..n-1]: indices of s by ascending batch size (n <= 64: insertion). */
static void by_batch(const bb_batch_sample *s, int n, int *order)
{
    for (int i = 0; i < n; i++) {
        int k = i;
        for (; k > 0 && s[order[k - 1]].batch > s[i].batch; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
}

/* ---- the rule ------------------------------------------------------------------ */

/* Per-item samples of every batch size, in one block: items[off[i] ..]. */
static double *per_item_samples(const bb_batch_sample *s, const int *order, int n, int *off)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (size_t)s[order[i]].n;
    double *items = malloc(sizeof *items * total);
    if (!items)
        return NULL;
    for (int i = 0, at = 0; i < n; i++) {
        const bb_batch_sample *x = &s[order[i]];
        off[i] = at;
        for (int k = 0; k < x->n; k++)
            items[at++] = x->times_s[k] / (double)x->batch;
    }
    return items;
}

/* The ratio of best against itself: 1, exactly, with nothing to test. */
static void self_ratio(int n, bb_ratio *r)
{
    memset(r, 0, sizeof *r);
    r->n_a = r->n_b = n;
    r->ratio = r->ci_lo = r->ci_hi = r->ratio_of_medians = 1.0;
    r->u = 0.5 * (double)n * (double)n;
    r->p_value = 1.0;
}

/* Which ties could go the other way in a rerun, and what the answer would
 * be then (recommend.h). b: best's index. */
static void borderline(bb_recommendation *out, int b)
{
    int rec = 0;
    for (int i = 0; i < out->n; i++) {
        const bb_ratio *r = &out->vs_best[i];
        out->borderline[i] = i != b && fabs(r->ci_lo - (1 + out->margin)) < r->ci_hi - r->ci_lo;
        rec = out->batch[i] == out->recommended_batch ? i : rec;
    }
    for (int i = 0; i < rec; i++)
        out->rerun[i] = out->borderline[i] && !out->tied[i];
    for (int i = rec + 1, up = out->borderline[rec]; up && i < out->n; i++)
        if (out->tied[i])
            out->rerun[i] = 1, up = 0;
    for (int i = 0; i < out->n; i++)
        out->n_rerun += out->rerun[i];
}

/* best, then every batch size's ratio to it and whether it is tied. */
static int compare_to_best(const bb_batch_sample *s, const int *order, const double *items, const int *off,
                           bb_recommendation *out)
{
    int b = 0;
    for (int i = 1; i < out->n; i++)
        if (out->per_item_s[i] < out->per_item_s[b])
            b = i; /* strict: the smaller batch wins an exact tie */
    out->best_batch = out->batch[b];
    for (int i = 0; i < out->n; i++) {
        bb_ratio *r = &out->vs_best[i];
        if (i == b)
            self_ratio(s[order[b]].n, r);
        else if (bb_ratio_compute(items + off[b], s[order[b]].n, items + off[i], s[order[i]].n, r) != 0)
            return -1;
        out->tied[i] = r->ci_lo <= 1 + out->margin && r->ci_hi >= 1 - out->margin;
        out->n_tied += out->tied[i];
        if (out->tied[i] && out->recommended_batch == 0)
            out->recommended_batch = out->batch[i];
    }
    for (int i = 0; i < out->n && out->knee_batch == 0; i++)
        if (out->per_item_s[i] <= out->per_item_s[b] * (1 + BB_KNEE_TOLERANCE))
            out->knee_batch = out->batch[i];
    borderline(out, b);
    return 0;
}

/* ---- the rounds the machine disturbed ------------------------------------------- */

/* Were all n measured in the same interleaved rounds (and is that known)? */
static int same_rounds(const bb_batch_sample *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!s[i].slice_batches || s[i].n_slices < 1 || !s[i].round_group || !s[i].round_group[0] ||
            strcmp(s[i].round_group, s[0].round_group) != 0)
            return 0;
    return n >= 2;
}

/* Judges the rounds into out->rounds where they are known (out->screened);
 * a file whose slices do not add up is not judged. */
static void judge_rounds(const bb_batch_sample *s, int n, bb_round_sample *rs, bb_recommendation *out)
{
    for (int i = 0; i < n; i++)
        rs[i] = (bb_round_sample){s[i].times_s, s[i].n, s[i].slice_batches, s[i].n_slices, s[i].slice_core_rtt_ns};
    out->screened = same_rounds(s, n) && bb_rounds_screen(rs, n, &out->rounds) == 0;
}

/* The rule on the times chosen above. */
static int recommend_on(const bb_batch_sample *s, int n, double margin, bb_recommendation *out)
{
    int order[BB_RECOMMEND_MAX], off[BB_RECOMMEND_MAX];
    by_batch(s, n, order);
    out->n = n, out->margin = margin;
    for (int i = 0; i < n; i++) {
        bb_stats st;
        const bb_batch_sample *x = &s[order[i]];
        if (bb_stats_compute(x->times_s, x->n, &st) != 0)
            return -1;
        out->batch[i] = x->batch;
        out->per_item_s[i] = st.median / (double)x->batch; /* as the report's tables compute it */
    }
    double *items = per_item_samples(s, order, n, off);
    int rc = items ? compare_to_best(s, order, items, off, out) : -1;
    free(items);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int bb_recommend(const bb_batch_sample *given, int n, double margin, bb_recommendation *out)
{
    memset(out, 0, sizeof *out);
    if (!input_ok(given, n, margin))
        return -1;
    bb_round_sample rs[BB_RECOMMEND_MAX];
    judge_rounds(given, n, rs, out);
    if (!out->screened || !out->rounds.applied)
        return recommend_on(given, n, margin, out);
    size_t total = 0; /* the disturbed rounds left out: the rule runs on copies of the others' times */
    for (int i = 0; i < n; i++)
        total += (size_t)given[i].n;
    double *kept = malloc(sizeof *kept * total);
    bb_batch_sample s[BB_RECOMMEND_MAX];
    if (!kept)
        return memset(out, 0, sizeof *out), -1;
    for (int i = 0, at = 0; i < n; i++) {
        s[i] = given[i];
        s[i].times_s = kept + at;
        s[i].n = bb_rounds_kept_times(&rs[i], &out->rounds, kept + at);
        at += given[i].n;
    }
    int rc = recommend_on(s, n, margin, out);
    free(kept);
    return rc;
}

/* ---- words ------------------------------------------------------------------------ */

void bb_recommend_tied_list(const bb_recommendation *r, char *buf, unsigned long len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t at = 0;
    for (int i = 0, k = 0; i < r->n && at < len; i++) {
        if (!r->tied[i])
            continue;
        int w = snprintf(buf + at, len - at, "%s%lld", bb_list_sep(k, r->n_tied), (long long)r->batch[i]);
        at += w > 0 ? (size_t)w : 0;
        k++;
    }
}

void bb_recommend_sentence(const bb_recommendation *r, const char *model, char *buf, unsigned long len)
{
    if (!buf || len == 0)
        return;
    char tied[BB_RECOMMEND_MAX * 24];
    bb_recommend_tied_list(r, tied, sizeof tied);
    if (r->n < 1)
        snprintf(buf, len, "%s: no usable result", model);
    else if (r->n == 1)
        snprintf(buf, len, "%s: %lld is the only batch size measured; use %lld", model, (long long)r->best_batch,
                 (long long)r->recommended_batch);
    else if (r->n_tied > 1)
        snprintf(buf, len, "%s: %s are tied within noise (%.3g%% margin); use %lld", model, tied, r->margin * 100,
                 (long long)r->recommended_batch);
    else
        snprintf(buf, len, "%s: %lld is the fastest; use %lld", model, (long long)r->best_batch,
                 (long long)r->recommended_batch);
    size_t at = strlen(buf);
    if (at < len)
        bb_recommend_rerun_note(r, buf + at, len - at);
    at = strlen(buf);
    if (at < len)
        bb_recommend_rounds_note(r, buf + at, len - at);
}

void bb_recommend_rerun_note(const bb_recommendation *r, char *buf, unsigned long len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    if (r->n_rerun == 0)
        return;
    size_t at = (size_t)snprintf(buf, len, "; a rerun may answer ");
    for (int i = 0, k = 0; i < r->n && at < len; i++) {
        if (!r->rerun[i])
            continue;
        int w = snprintf(buf + at, len - at, "%s%lld", k == 0 ? "" : k == r->n_rerun - 1 ? " or " : ", ",
                         (long long)r->batch[i]);
        at += w > 0 ? (size_t)w : 0;
        k++;
    }
    if (at < len)
        snprintf(buf + at, len - at, ": %s within a CI's width of the %.3g%% margin", r->n_rerun == 1 ? "a tie" : "ties",
                 r->margin * 100);
}

/* The disturbed rounds' part of the note: what was left out, or that too
 * many were. */
static void disturbed_part(const bb_round_screen *s, char *buf, size_t len)
{
    char list[BB_ROUNDS_MAX * 8];
    bb_rounds_list(s->disturbed, s->n_rounds, list, sizeof list);
    if (s->applied)
        snprintf(buf, len, "round%s %s of %d left out: the machine ran %.2fx slower in %s",
                 s->n_disturbed == 1 ? "" : "s", list, s->n_rounds, s->disturbed_slowdown,
                 s->n_disturbed == 1 ? "it" : "them");
    else
        snprintf(buf, len, "the machine ran %.2fx slower in %d of %d rounds, too many to leave out: this answer may "
                 "not hold", s->disturbed_slowdown, s->n_disturbed, s->n_rounds);
}

/* The faster rounds' part: a speed most rounds did not see. */
static void faster_part(const bb_round_screen *s, char *buf, size_t len)
{
    char list[BB_ROUNDS_MAX * 8];
    bb_rounds_list(s->faster, s->n_rounds, list, sizeof list);
    snprintf(buf, len, "the machine ran %.2fx faster in round%s %s of %d: a run at that speed may answer differently",
             1.0 / s->faster_slowdown, s->n_faster == 1 ? "" : "s", list, s->n_rounds);
}

/* The rounds whose threads ran farther apart (env/core_rtt.h), or, when
 * those are most of the measured rounds, the others. */
static void far_part(const bb_round_screen *s, char *buf, size_t len)
{
    char list[BB_ROUNDS_MAX * 8];
    unsigned char near[BB_ROUNDS_MAX];
    int n_near = 0;
    for (int r = 0; r < s->n_rounds; r++)
        n_near += near[r] = s->core_rtt_ns[r] > 0 && !s->far[r];
    if (2 * s->n_far > s->n_rtt) {
        bb_rounds_list(near, s->n_rounds, list, sizeof list);
        snprintf(buf, len, "its threads shared a cache only in round%s %s of %d: %.0f against %.0f ns core to core",
                 n_near == 1 ? "" : "s", list, s->n_rounds, s->near_rtt_ns, s->far_rtt_ns);
        return;
    }
    bb_rounds_list(s->far, s->n_rounds, list, sizeof list);
    snprintf(buf, len, "its threads ran farther apart in round%s %s of %d: %.0f against %.0f ns core to core",
             s->n_far == 1 ? "" : "s", list, s->n_rounds, s->far_rtt_ns, s->near_rtt_ns);
}

void bb_recommend_rounds_note(const bb_recommendation *r, char *buf, unsigned long len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    const bb_round_screen *s = &r->rounds;
    if (!r->screened || (s->n_disturbed == 0 && s->n_faster == 0 && s->n_far == 0))
        return;
    char part[3][BB_ROUNDS_MAX * 8 + 160] = {"", "", ""};
    if (s->n_disturbed)
        disturbed_part(s, part[0], sizeof part[0]);
    if (s->n_faster)
        faster_part(s, part[1], sizeof part[1]);
    if (s->n_far)
        far_part(s, part[2], sizeof part[2]);
    size_t at = 0;
    for (int i = 0; i < 3 && at + 1 < len; i++) {
        if (!part[i][0])
            continue;
        int w = snprintf(buf + at, len - at, "%s%s", at ? "; " : " (", part[i]);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at + 1 < len)
        snprintf(buf + at, len - at, ")");
}

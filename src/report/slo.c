/* slo.c — the max batch size and timeout to serve with under a p99 target
 * (slo.h): the candidates simulated, the choice, and the report section. */
#include "report/slo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/plot.h"
#include "report/report.h"
#include "stats/stats.h"

#define TIMES "\xC3\x97"
#define CROSS "\xE2\x9C\x97"

int bb_slo_default_timeouts(double *out_s)
{
    static const double ms[] = {0, 1, 2, 5, 10, 20, 50};
    int n = (int)(sizeof ms / sizeof *ms);
    for (int i = 0; i < n; i++)
        out_s[i] = ms[i] * 1e-3;
    return n;
}

bb_slo_setting *bb_slo_at(const bb_slo_eval *e, int i, int j)
{
    return &e->set[i * e->n_t + j];
}

/* The model's usable rows of setup into out (at most cap), ascending; how many. */
static int rows_of(const bb_table *t, int setup, const char *model, bb_sim_sample *out, int cap)
{
    const bb_setup *s = &t->setups[setup];
    int n = 0;
    for (int b = 0; b < s->n_batches && n < cap; b++) {
        const bb_row *r = bb_table_ok(t, setup, model, s->batches[b]);
        if (r && r->times_s && r->n_times > 0)
            out[n++] = (bb_sim_sample){r->batch_size, r->times_s, r->n_times, s->idle_s};
    }
    return n;
}

void bb_slo_collect(const bb_table *t, int setup, const char *model, bb_slo_eval *e)
{
    e->n_b = rows_of(t, setup, model, e->samples, BB_RECOMMEND_MAX);
    e->n_after_idle = 0;
    for (int s = 0; s < t->n_setups; s++)
        if (t->setups[s].idle_s > 0 && !strcmp(t->setups[s].back_to_back_key, t->setups[setup].key))
            e->n_after_idle += rows_of(t, s, model, e->after_idle + e->n_after_idle,
                                       BB_SLO_MAX_AFTER_IDLE - e->n_after_idle);
}

/* The setting (B index i, T index j): p99 at each requested rate and the max rate under the target. */
static int simulate_setting(bb_slo_eval *e, int i, int j)
{
    bb_slo_setting *st = bb_slo_at(e, i, j);
    bb_sim_config c = {.measured = e->samples, .n_measured = e->n_b, .max_batch = (int)e->samples[i].batch,
                       .timeout_s = e->t_s[j], .arrivals = BB_ARRIVALS_POISSON, .warmup = -1, .seed = BB_SLO_SEED,
                       .after_idle = e->after_idle, .n_after_idle = e->n_after_idle};
    if (bb_sim_max_rate(&c, e->target_s, &st->max_rate, st->grid_p99) != 0)
        return -1;
    st->meets_all = 1;
    for (int k = 0; k < e->n_rates; k++) {
        c.rate = e->rates[k];
        st->p99_at[k] = INFINITY; /* at or above capacity the queue grows without bound */
        if (c.rate < e->capacity[i] && bb_sim_p99(&c, &st->p99_at[k]) != 0)
            return -1;
        st->meets_all &= st->p99_at[k] <= e->target_s;
    }
    return 0;
}

/* Of the settings (i, j) of mask (i_only >= 0: that B only) that meet the
 * target at every rate, the first (B, then T ascending) whose max rate is
 * within the margin of the most; -1 when none meets it. */
static int pick_meeting(const bb_slo_eval *e, int i_only, double margin, int *bi, int *bj)
{
    double most = 0;
    int any = 0;
    for (int i = 0; i < e->n_b; i++)
        for (int j = 0; j < e->n_t; j++)
            if ((i_only < 0 || i == i_only) && bb_slo_at(e, i, j)->meets_all)
                most = any++ && most > bb_slo_at(e, i, j)->max_rate ? most : bb_slo_at(e, i, j)->max_rate;
    for (int i = 0; any && i < e->n_b; i++)
        for (int j = 0; j < e->n_t; j++) {
            const bb_slo_setting *s = bb_slo_at(e, i, j);
            if ((i_only < 0 || i == i_only) && s->meets_all && s->max_rate >= most * (1 - margin)) {
                *bi = i, *bj = j;
                return 0;
            }
        }
    return -1;
}

/* The largest max rate (first of equals) of mask; -1 when every one is 0. */
static int pick_top(const bb_slo_eval *e, int i_only, int *bi, int *bj)
{
    double top = 0;
    for (int i = 0; i < e->n_b; i++)
        for (int j = 0; j < e->n_t; j++)
            if ((i_only < 0 || i == i_only) && bb_slo_at(e, i, j)->max_rate > top)
                top = bb_slo_at(e, i, j)->max_rate, *bi = i, *bj = j;
    return top > 0 ? 0 : -1;
}

/* B i's best T: the answer's rule for that B alone, else its largest max
 * rate, else its lowest p99 at the largest requested rate. */
static int best_t_of(const bb_slo_eval *e, int i, double margin)
{
    int bi, bj = 0, last = e->n_rates - 1;
    if (pick_meeting(e, i, margin, &bi, &bj) == 0 || pick_top(e, i, &bi, &bj) == 0)
        return bj;
    for (int j = 1; j < e->n_t; j++)
        bj = bb_slo_at(e, i, j)->p99_at[last] < bb_slo_at(e, i, bj)->p99_at[last] ? j : bj;
    return bj;
}

static void choose(const bb_table *t, bb_slo_eval *e)
{
    e->chosen_b = e->chosen_t = e->top_b = e->top_t = -1;
    if (pick_meeting(e, -1, t->margin, &e->chosen_b, &e->chosen_t) != 0)
        e->chosen_b = e->chosen_t = -1;
    if (pick_top(e, -1, &e->top_b, &e->top_t) != 0)
        e->top_b = e->top_t = -1;
    for (int i = 0; i < e->n_b; i++)
        e->best_t[i] = best_t_of(e, i, t->margin);
}

int bb_slo_evaluate(const bb_table *t, int setup, const char *model, bb_slo_eval *e)
{
    memset(e, 0, sizeof *e);
    if (!(t->slo_p99_s > 0) || t->n_slo_rates < 1 || t->setups[setup].idle_s > 0)
        return 1;
    bb_slo_collect(t, setup, model, e);
    if (e->n_b == 0)
        return 1;
    e->target_s = t->slo_p99_s;
    e->n_rates = t->n_slo_rates < BB_SLO_MAX_RATES ? t->n_slo_rates : BB_SLO_MAX_RATES;
    memcpy(e->rates, t->slo_rates, sizeof *e->rates * (size_t)e->n_rates);
    if (t->n_slo_timeouts > 0) {
        e->n_t = t->n_slo_timeouts < BB_SLO_MAX_TIMEOUTS ? t->n_slo_timeouts : BB_SLO_MAX_TIMEOUTS;
        memcpy(e->t_s, t->slo_timeouts_s, sizeof *e->t_s * (size_t)e->n_t);
    } else {
        e->n_t = bb_slo_default_timeouts(e->t_s);
    }
    e->set = calloc((size_t)(e->n_b * e->n_t), sizeof *e->set);
    if (!e->set)
        return -1;
    for (int i = 0; i < e->n_b; i++) {
        e->capacity[i] = bb_sim_capacity(e->samples, e->n_b, (int)e->samples[i].batch);
        for (int j = 0; j < e->n_t; j++)
            if (simulate_setting(e, i, j) != 0)
                return bb_slo_eval_free(e), -1;
    }
    choose(t, e);
    return 0;
}

void bb_slo_eval_free(bb_slo_eval *e)
{
    free(e->set);
    e->set = NULL;
}

int bb_slo_applies(const bb_table *t, int setup)
{
    if (!(t->slo_p99_s > 0) || t->n_slo_rates < 1 || setup < 0 || setup >= t->n_setups)
        return 0;
    const bb_setup *s = &t->setups[setup];
    if (s->idle_s > 0) /* drawn on by its back-to-back twin's simulation */
        return 0;
    for (int m = 0; m < s->n_models; m++)
        for (int b = 0; b < s->n_batches; b++)
            if (bb_table_ok(t, setup, s->models[m], s->batches[b]))
                return 1;
    return 0;
}

/* ---- the section ---------------------------------------------------------------- */

/* Milliseconds with 3-4 significant digits. */
static const char *ms(double s, char *buf, size_t len)
{
    double v = s * 1e3;
    snprintf(buf, len, v >= 100 ? "%.1f" : v >= 10 ? "%.2f" : v >= 1 ? "%.3f" : "%.4f", v);
    return buf;
}

/* items/s: one decimal from 10 on, else 3 significant digits (0.103). */
static const char *per_s(double v, char *buf, size_t len)
{
    snprintf(buf, len, v >= 10 ? "%.1f" : "%.3g", v);
    return buf;
}

/* "a, b and c" of n numbers (ms when scale 1e3). */
static void list(FILE *f, const double *v, int n, double scale)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%g", i == 0 ? "" : i + 1 == n ? " and " : ", ", v[i] * scale);
}

static void intro(FILE *f, const bb_table *t)
{
    double ts[BB_SLO_MAX_TIMEOUTS];
    int nt = t->n_slo_timeouts;
    if (nt > 0)
        memcpy(ts, t->slo_timeouts_s, sizeof *ts * (size_t)nt);
    else
        nt = bb_slo_default_timeouts(ts);
    fprintf(f, "## Serving under a p99 target\n\nWhich max batch size B and batch timeout T keep the p99 latency of "
               "single requests under **%g ms** at an offered load of ",
            t->slo_p99_s * 1e3);
    list(f, t->slo_rates, t->n_slo_rates, 1);
    fprintf(f, " items/s, simulated from the measured batch times. Candidates: B = each measured batch size, "
               "T = ");
    list(f, ts, nt, 1e3);
    fprintf(f, " ms (`--timeouts`). The setting to use meets the target at every requested rate with the most "
               "headroom (the largest rate it sustains under the target, over the largest requested rate); "
               "settings within %.3g%% of the most headroom are tied, and the smallest B, then the smallest T, of "
               "them is named.\n\n",
            t->margin * 100);
    fprintf(f, "How: requests arrive one at a time as a Poisson process at the offered rate (open loop: an "
               "arrival never waits for an answer). One server runs one batch at a time, without preemption, "
               "oldest requests first. A batch starts when B requests wait or when the oldest has waited T, or, "
               "if the server is still busy then, as soon as it is free, with up to B of those waiting: the rule "
               "`batchbench serve` runs (src/serve/batcher.h). A batch of n requests runs at its prepared size "
               "and takes a batch time drawn at random, with replacement, from the times the sweep measured at "
               "that size, independently of the batches before it, except after the server idled: where the "
               "sweep also measured batches after idle times (`run --idle-ms`, a setup of its own), a batch whose "
               "prepared size last ran some time before (the server idle, or running other sizes) draws from the "
               "measured idle times around that gap (linearly mixed between them), since such a batch runs slower "
               "(caches, clocks). Latency runs from a "
               "request's arrival to the end of its batch. Each point simulates %d requests after %d that are not "
               "counted, with a fixed seed; the largest rate under the target is searched on %d loads up to the "
               "capacity (B / mean batch time at B: every batch full), refined by %d bisection steps. Not "
               "modelled: moving requests in and out, batch times that change with the load or with earlier "
               "batches beyond the idle gap (thermal throttling), more than one server or model on the "
               "machine.\n\n",
            BB_SIM_REQUESTS, BB_SIM_WARMUP, BB_SIM_GRID - 1, BB_SIM_STEPS);
}

static void table(FILE *f, const bb_slo_eval *e)
{
    char a[32];
    fprintf(f, "| max batch B | best T (ms) |");
    for (int k = 0; k < e->n_rates; k++)
        fprintf(f, " p99 at %g/s (ms) |", e->rates[k]);
    fprintf(f, " max rate under %g ms (items/s) | capacity (items/s) |\n|--:|--:|", e->target_s * 1e3);
    for (int k = 0; k < e->n_rates; k++)
        fprintf(f, "--:|");
    fprintf(f, "--:|--:|\n");
    for (int i = 0; i < e->n_b; i++) {
        const bb_slo_setting *s = bb_slo_at(e, i, e->best_t[i]);
        int use = i == e->chosen_b;
        fprintf(f, "| %s%lld%s | %g |", use ? "**" : "", (long long)e->samples[i].batch, use ? "**" : "",
                e->t_s[e->best_t[i]] * 1e3);
        for (int k = 0; k < e->n_rates; k++)
            if (isinf(s->p99_at[k]))
                fprintf(f, " overloaded " CROSS " |");
            else
                fprintf(f, " %s%s |", ms(s->p99_at[k], a, sizeof a), s->p99_at[k] > e->target_s ? " " CROSS : "");
        fprintf(f, " %s |", per_s(s->max_rate, a, sizeof a));
        fprintf(f, " %s |\n", per_s(e->capacity[i], a, sizeof a));
    }
    fprintf(f, "\n" CROSS ": above the target; overloaded: the rate is at or above the capacity of B.\n\n");
}

static void answer(FILE *f, const bb_slo_eval *e)
{
    char a[32];
    double largest = 0;
    for (int k = 0; k < e->n_rates; k++)
        largest = e->rates[k] > largest ? e->rates[k] : largest;
    if (e->chosen_b >= 0) {
        const bb_slo_setting *s = bb_slo_at(e, e->chosen_b, e->chosen_t);
        fprintf(f, "- Under a %g ms p99, use max batch **%lld** with timeout **%g ms**: p99 ", e->target_s * 1e3,
                (long long)e->samples[e->chosen_b].batch, e->t_s[e->chosen_t] * 1e3);
        for (int k = 0; k < e->n_rates; k++)
            fprintf(f, "%s%s ms at %g/s", k == 0 ? "" : k + 1 == e->n_rates ? " and " : ", ",
                    ms(s->p99_at[k], a, sizeof a), e->rates[k]);
        fprintf(f, "; it sustains up to %s items/s under the target, %.2f" TIMES " the largest requested rate.\n",
                per_s(s->max_rate, a, sizeof a), s->max_rate / largest);
        return;
    }
    fprintf(f, "- No setting meets the %g ms p99 target at every requested rate (", e->target_s * 1e3);
    list(f, e->rates, e->n_rates, 1);
    if (e->top_b < 0)
        fprintf(f, " items/s), nor at any lower rate simulated: even the fastest batch takes longer at its p99.\n");
    else
        fprintf(f, " items/s). The largest rate any setting sustains under it is %s items/s (max batch %lld, "
                   "timeout %g ms).\n",
                per_s(bb_slo_at(e, e->top_b, e->top_t)->max_rate, a, sizeof a), (long long)e->samples[e->top_b].batch,
                e->t_s[e->top_t] * 1e3);
}

/* Which idle times the simulation drew on after a gap, or that it had none. */
static void idle_note(FILE *f, const bb_slo_eval *e)
{
    double levels[BB_SLO_MAX_AFTER_IDLE];
    int n = 0;
    for (int i = 0; i < e->n_after_idle; i++) {
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= levels[k] == e->after_idle[i].idle_s;
        if (!seen)
            levels[n++] = e->after_idle[i].idle_s;
    }
    if (n == 0) {
        fprintf(f, "- No batch times after idle were measured: every batch draws back-to-back times, so where the "
                   "server idles between batches (light load) the simulated latency reads low by what idling "
                   "costs (on a 2-core VM up to 30%% at p99). Measure it: the same sweep again with `--idle-ms 5` "
                   "and `--idle-ms 20` into the same folder.\n");
        return;
    }
    fprintf(f, "- After an idle gap (since its prepared size last ran) a batch draws from the times measured after ");
    qsort(levels, (size_t)n, sizeof *levels, bb_cmp_double);
    list(f, levels, n, 1e3);
    fprintf(f, " ms idle (%d batch-size result%s).\n", e->n_after_idle, e->n_after_idle == 1 ? "" : "s");
}

/* "a, b and c" of n batch sizes. */
static void batch_list(FILE *f, const int64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%lld", i == 0 ? "" : i + 1 == n ? " and " : ", ", (long long)v[i]);
}

/* The prepared sizes of the largest B that the sweep lacks, said once. */
static void padding_note(FILE *f, const bb_slo_eval *e)
{
    int max_b = (int)e->samples[e->n_b - 1].batch, n = 0, np = 0;
    int64_t sizes[64], miss[64], padded[BB_RECOMMEND_MAX];
    int n_sizes = bb_batcher_sizes(max_b, sizes);
    for (int k = 0; k < n_sizes; k++)
        if (bb_sim_service_batch(e->samples, e->n_b, max_b, (int)sizes[k]) != sizes[k])
            miss[n++] = sizes[k];
    for (int i = 0; i < e->n_b; i++)
        if (bb_sim_pads(e->samples, e->n_b, (int)e->samples[i].batch))
            padded[np++] = e->samples[i].batch;
    if (!n)
        return;
    fprintf(f, "- The sweep lacks batch size%s ", n == 1 ? "" : "s");
    batch_list(f, miss, n);
    fprintf(f, ", which the server prepares for max batch ");
    batch_list(f, padded, np);
    fprintf(f, ": batches of %s are simulated with the times of the next larger measured size, as if padded to "
               "it, which overstates their latency (measure %s, e.g. `--batch-sizes 1,2,...,%d`, to remove it).\n",
            n == 1 ? "that size" : "those sizes", n == 1 ? "it" : "them", max_b);
}

/* The simulation never draws a batch slower than the slowest measured one:
 * said when a batch size has fewer times than a p99 needs. */
static void few_times_note(FILE *f, const bb_slo_eval *e)
{
    int64_t few[BB_RECOMMEND_MAX];
    int n = 0, least = 0;
    for (int i = 0; i < e->n_b; i++)
        if (!bb_stats_supports(e->samples[i].n_times, 0.99)) {
            few[n++] = e->samples[i].batch;
            least = n == 1 || e->samples[i].n_times < least ? e->samples[i].n_times : least;
        }
    if (!n)
        return;
    fprintf(f, "- Batch size%s ", n == 1 ? "" : "s");
    batch_list(f, few, n);
    fprintf(f, " %s fewer than 100 measured batch times (%d at the least): a batch time is drawn from these, so a "
               "rare slow batch the sweep did not see is missing from the simulated tail (measure more, `run "
               "--reps`).\n",
            n == 1 ? "has" : "have", least);
}

static void model_part(FILE *f, const bb_table *t, int setup, const char *model)
{
    bb_slo_eval e;
    int rc = bb_slo_evaluate(t, setup, model, &e);
    char label[256] = "";
    if (t->n_setups > 1)
        bb_setup_label(&t->setups[setup], label, sizeof label);
    fprintf(f, "### %s%s%s\n\n", model, label[0] ? ": " : "", label);
    if (rc != 0) {
        fprintf(f, "%s\n\n", rc > 0 ? "No usable result to simulate." : "Out of memory simulating it.");
        return;
    }
    table(f, &e);
    answer(f, &e);
    idle_note(f, &e);
    padding_note(f, &e);
    few_times_note(f, &e);
    fputc('\n', f);
    bb_slo_eval_free(&e);
}

void bb_slo_sections(FILE *f, const bb_table *t, const bb_report_opts *o)
{
    if (!(t->slo_p99_s > 0) || t->n_slo_rates < 1)
        return;
    intro(f, t);
    for (int s = 0; s < t->n_setups; s++) {
        if (!bb_slo_applies(t, s))
            continue;
        for (int m = 0; m < t->setups[s].n_models; m++)
            model_part(f, t, s, t->setups[s].models[m]);
        bb_report_embed(f, o, BB_CHART_SLO, s);
        fputc('\n', f);
    }
}

/*
 * test_one_setting.c — unit tests for src/report/one_setting.c: the one
 * loader setting (batch size, workers) for all models, ranked by average
 * regret across models and top-3 count, as the seed's eval/top_n_configs.py.
 *
 * Why this file exists: the ranking names the setting a deployment will
 * use, so it is checked on hand-built pipeline rows whose answers are
 * worked out by hand (regret = best items/s / items/s - 1):
 *   plain:   resnet18     (8,1) 100  (8,2) 200  (16,1) 150  (16,2) 190
 *            mobilenet_v2 (8,1) 100  (8,2) 180  (16,1) 120  (16,2) 200
 *            (16,2): regrets 0.052632 and 0 -> avg 0.026316, worst resnet18
 *            (8,2):  0 and 0.111111 -> avg 0.055556 (not within 1 point)
 *            (16,1): 0.333333 and 0.666667 -> avg 0.5; (8,1): 1 and 1 -> 1
 *            top 3: (8,2), (16,2), (16,1) for both; (8,1) for neither.
 *   top-3 tie: resnet18 (16,2) 100 (32,1) 99.9 (32,2) 99.8 (8,1) 99.7;
 *            mobilenet_v2 (8,1) 100 (16,2) 98.5 (32,2) oom, (32,1) absent.
 *            (8,1): avg (100/99.7 - 1) / 2 = 0.0015045, in 1 top 3;
 *            (16,2): avg (100/98.5 - 1) / 2 = 0.0076142, in 2 top 3:
 *            within 1 point, so (16,2) wins on the top-3 count although
 *            its batch is larger and its regret higher. (32,1) is excluded
 *            as not measured for mobilenet_v2, (32,2) for its oom.
 *   exact tie: equal items/s at (8,1), (8,2), (16,1) for both models:
 *            all regrets 0, all in both top 3 -> (8,1), (8,2), (16,1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/one_setting.h"

#define EPS 1e-6

typedef struct {
    const char *model;
    int64_t batch;
    int workers;
    double ips;         /* items/s; ignored unless status is "ok" */
    const char *status;
} spec;

static bb_pl_row make_row(const char *dir, const spec *s)
{
    bb_pl_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.path, sizeof r.path, "%s/pipeline-%s-%lld-%d.json", dir, s->model, (long long)s->batch, s->workers);
    snprintf(r.status, sizeof r.status, "%s", s->status);
    snprintf(r.model, sizeof r.model, "%s", s->model);
    snprintf(r.device, sizeof r.device, "cpu");
    snprintf(r.mode, sizeof r.mode, "batches");
    r.batch_size = s->batch, r.workers = s->workers;
    r.items_per_s = !strcmp(s->status, "ok") ? s->ips : -1;
    return r;
}

/* Ranks n specs (one group) into out; returns bb_os_rank's code. */
static int rank_specs(const spec *s, int n, bb_os_ranking *out)
{
    bb_pl_row *rows = calloc((size_t)n, sizeof *rows);
    const bb_pl_row **p = calloc((size_t)n, sizeof *p);
    assert_non_null(rows);
    assert_non_null(p);
    for (int i = 0; i < n; i++)
        rows[i] = make_row("res", &s[i]), p[i] = &rows[i];
    int rc = bb_os_rank(p, n, out);
    free(rows), free(p);
    return rc;
}

static void assert_cand(const bb_os_candidate *c, int64_t batch, int workers, double avg, int top)
{
    assert_int_equal(c->batch, batch);
    assert_int_equal(c->workers, workers);
    assert_true(fabs(c->avg_regret - avg) < EPS);
    assert_int_equal(c->top, top);
}

static const spec PLAIN[] = {
    {"mobilenet_v2", 8, 1, 100, "ok"}, {"mobilenet_v2", 8, 2, 180, "ok"}, {"mobilenet_v2", 16, 1, 120, "ok"},
    {"mobilenet_v2", 16, 2, 200, "ok"}, {"resnet18", 8, 1, 100, "ok"},    {"resnet18", 8, 2, 200, "ok"},
    {"resnet18", 16, 1, 150, "ok"},     {"resnet18", 16, 2, 190, "ok"},
};

static void test_plain_ranking(void **state)
{
    (void)state;
    bb_os_ranking r;
    assert_int_equal(rank_specs(PLAIN, 8, &r), 0);
    assert_int_equal(r.n_models, 2);
    assert_string_equal(r.models[0], "resnet18"); /* the zoo's order */
    assert_string_equal(r.models[1], "mobilenet_v2");
    assert_int_equal(r.n_cand, 4);
    assert_int_equal(r.n_excl, 0);
    assert_cand(&r.cand[0], 16, 2, (200.0 / 190 - 1) / 2, 2);
    assert_true(fabs(r.cand[0].worst_regret - (200.0 / 190 - 1)) < EPS);
    assert_string_equal(r.models[r.cand[0].worst_model], "resnet18");
    assert_cand(&r.cand[1], 8, 2, (200.0 / 180 - 1) / 2, 2);
    assert_string_equal(r.models[r.cand[1].worst_model], "mobilenet_v2");
    assert_cand(&r.cand[2], 16, 1, 0.5, 2);
    assert_cand(&r.cand[3], 8, 1, 1.0, 0);
    bb_os_free(&r);
}

static const spec TOP3_TIE[] = {
    {"resnet18", 16, 2, 100, "ok"},     {"resnet18", 32, 1, 99.9, "ok"},     {"resnet18", 32, 2, 99.8, "ok"},
    {"resnet18", 8, 1, 99.7, "ok"},     {"mobilenet_v2", 8, 1, 100, "ok"},   {"mobilenet_v2", 16, 2, 98.5, "ok"},
    {"mobilenet_v2", 32, 2, 0, "oom"},
};

static void test_tie_goes_to_top3_and_missing_excluded(void **state)
{
    (void)state;
    bb_os_ranking r;
    assert_int_equal(rank_specs(TOP3_TIE, 7, &r), 0);
    assert_int_equal(r.n_cand, 2);
    assert_cand(&r.cand[0], 16, 2, (100 / 98.5 - 1) / 2, 2);
    assert_cand(&r.cand[1], 8, 1, (100 / 99.7 - 1) / 2, 1);
    assert_true(r.cand[1].avg_regret < r.cand[0].avg_regret); /* lower regret, but within 1 point */
    assert_int_equal(r.n_excl, 2);
    assert_int_equal(r.excl[0].batch, 32);
    assert_int_equal(r.excl[0].workers, 1);
    assert_string_equal(r.excl[0].why, "not measured for mobilenet_v2");
    assert_int_equal(r.excl[1].workers, 2);
    assert_string_equal(r.excl[1].why, "mobilenet_v2: oom");
    bb_os_free(&r);
}

static void test_exact_tie_smaller_batch_fewer_workers(void **state)
{
    (void)state;
    const spec s[] = {
        {"resnet18", 16, 1, 50, "ok"},     {"resnet18", 8, 2, 50, "ok"},     {"resnet18", 8, 1, 50, "ok"},
        {"mobilenet_v2", 8, 2, 90, "ok"}, {"mobilenet_v2", 16, 1, 90, "ok"}, {"mobilenet_v2", 8, 1, 90, "ok"},
    };
    bb_os_ranking r;
    assert_int_equal(rank_specs(s, 6, &r), 0);
    assert_int_equal(r.n_cand, 3);
    assert_cand(&r.cand[0], 8, 1, 0, 2);
    assert_cand(&r.cand[1], 8, 2, 0, 2);
    assert_cand(&r.cand[2], 16, 1, 0, 2);
    bb_os_free(&r);
}

static void test_fewer_than_two_models(void **state)
{
    (void)state;
    const spec s[] = {{"resnet18", 8, 1, 50, "ok"}, {"mobilenet_v2", 8, 1, 0, "timeout"}};
    bb_os_ranking r;
    assert_int_equal(rank_specs(s, 2, &r), 1); /* mobilenet_v2 has no ok setting: one model only */
    assert_int_equal(r.n_cand, 0);
    bb_os_free(&r);
    assert_int_equal(rank_specs(s, 0, &r), 1);
    bb_os_free(&r);
}

static char *report_text(const bb_loading *l)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    bb_os_report(f, l);
    assert_int_equal(fclose(f), 0);
    return text;
}

/* The report: one section for the folder with two models, none for the
 * folder with one, the answer, the table and what was not ranked. */
static void test_report_section(void **state)
{
    (void)state;
    bb_pl_row rows[8 + 7 + 1];
    int n = 0;
    for (int i = 0; i < 8; i++)
        rows[n++] = make_row("plain", &PLAIN[i]);
    for (int i = 0; i < 7; i++)
        rows[n++] = make_row("tie", &TOP3_TIE[i]);
    rows[n++] = make_row("lone", &(spec){"vit_b_16", 8, 1, 5, "ok"});
    bb_loading l = {NULL, 0, rows, n, 0};
    char *t = report_text(&l);
    assert_non_null(strstr(t, "## One setting for all models (end to end)\n"));
    assert_non_null(strstr(t, "### cpu, loader mode batches, `plain`: resnet18, mobilenet_v2\n"));
    assert_non_null(strstr(t, "**Use batch 16 with 2 workers for both models**: per item it is on average 2.6% "
                              "slower than each model's own best setting (worst: resnet18, 5.3%), and 2 of the 2 "
                              "models have it among their top 3."));
    assert_non_null(strstr(t, "| 1 | 16 | 2 | 2.6% | 5.3% (resnet18) | 2 of 2 |\n"));
    assert_non_null(strstr(t, "| 4 | 8 | 1 | 100.0% | 100.0% (resnet18) | 0 of 2 |\n"));
    assert_non_null(strstr(t, "### cpu, loader mode batches, `tie`"));
    assert_non_null(strstr(t, "Tied with it: batch 8 with 1 worker (average regret 0.2%, in the top 3 of 1 model); "
                              "decided by the top-3 count"));
    assert_non_null(strstr(t, "Not ranked, not ok for every model: batch 32 with 1 worker (not measured for "
                              "mobilenet_v2); batch 32 with 2 workers (mobilenet_v2: oom).\n"));
    assert_null(strstr(t, "`lone`"));
    assert_null(strstr(strstr(t, "## One setting") + 1, "## One setting")); /* one section, two groups */
    free(t);
    /* nothing to rank: no section at all */
    bb_loading lone = {NULL, 0, &rows[n - 1], 1, 0};
    t = report_text(&lone);
    assert_string_equal(t, "");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ranking),
        cmocka_unit_test(test_tie_goes_to_top3_and_missing_excluded),
        cmocka_unit_test(test_exact_tie_smaller_batch_fewer_workers),
        cmocka_unit_test(test_fewer_than_two_models),
        cmocka_unit_test(test_report_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_time_view.c — unit tests for src/report/time_view.c and
 * report_view.c: what the charts show under `--stat`/`--units`.
 *
 * Why this file exists: the seed's charts show the mean of the per-item
 * times with error bars of 2 standard deviations (numpy, ddof 0) in
 * seconds; batchbench's own show the median with p5-p95 whiskers in ms.
 * These tests pin the numbers (on tests/data/report-fixture: resnet18 at
 * batch 1 has batch times 39, 40, 41 ms, so mean 40 ms and std
 * sqrt(2/3) ms = 0.8165 ms with divisor n), the default chosen from the
 * files' config.preset, the lower error bar clipped at 0, and the words
 * report.md uses, while the answer (the median) does not move.
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

#include "report/report.h"
#include "report/results_load.h"
#include "report/time_view.h"

#define FIXTURE "tests/data/report-fixture"
#define EPS 1e-12

static void load_fixture(bb_table *t)
{
    const char *dirs[] = {FIXTURE};
    bb_err e = {0};
    assert_int_equal(bb_table_load(t, dirs, 1, NULL, &e), 0);
}

static bb_row *row_of(bb_table *t, const char *model, int64_t batch)
{
    const bb_row *r = bb_table_ok(t, 0, model, batch);
    assert_non_null(r);
    return &t->rows[r - t->rows];
}

static void test_mean_and_std_ddof0(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    const bb_row *r = row_of(&t, "resnet18", 1);
    assert_true(fabs(r->mean_item_s - 0.040) < EPS);
    assert_true(fabs(r->std_item_s - sqrt(2.0 / 3.0) * 1e-3) < EPS); /* numpy.std, ddof 0 */
    r = row_of(&t, "resnet18", 2); /* per item = batch time / 2 */
    assert_true(fabs(r->mean_item_s - r->st.mean / 2) < EPS);
    assert_string_equal(r->preset, ""); /* older files: no preset */
    bb_table_free(&t);
}

static void test_default_is_median_ms(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    assert_int_equal(t.stat, BB_STAT_MEDIAN);
    assert_int_equal(t.unit, BB_UNIT_MS);
    assert_int_equal(t.view_from_preset, 0);
    const bb_row *r = row_of(&t, "vit_b_16", 4);
    assert_true(r->view_item_s == r->per_item_s && r->view_lo_s == r->p5_item_s && r->view_hi_s == r->p95_item_s);
    assert_true(r->view_batch_s == r->st.median);
    assert_true(bb_view_scale(&t) == 1e3);
    char buf[256];
    bb_view_axis_title(&t, "time per item", NULL, buf, sizeof buf);
    assert_string_equal(buf, "Median time per item in ms");
    bb_table_free(&t);
}

static void test_mean_view_and_clipping(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    bb_table_set_view(&t, BB_STAT_MEAN, BB_UNIT_S);
    bb_row *r = row_of(&t, "resnet18", 1);
    assert_true(fabs(r->view_item_s - 0.040) < EPS);
    assert_true(fabs(r->view_lo_s - (0.040 - 2 * r->std_item_s)) < EPS);
    assert_true(fabs(r->view_hi_s - (0.040 + 2 * r->std_item_s)) < EPS);
    assert_true(r->view_batch_s == r->st.mean);
    assert_int_equal(bb_view_clipped(&t, 0, NULL), 0);
    char buf[256];
    bb_view_axis_title(&t, "batch latency", ", log scale", buf, sizeof buf);
    assert_string_equal(buf, "Mean batch latency in seconds, log scale");
    bb_view_describe(&t, buf, sizeof buf);
    assert_non_null(strstr(buf, "mean \xC2\xB1 2\xCF\x83 of the per-item time"));
    assert_non_null(strstr(buf, "in seconds, as the seed's plot_time.py"));
    assert_string_equal(bb_view_fmt(&t, 0.0205, buf, sizeof buf), "0.02050");
    r->std_item_s = 0.03; /* mean - 2 sd = -0.02: drawn at 0 */
    bb_table_set_view(&t, BB_STAT_MEAN, BB_UNIT_S);
    assert_int_equal(r->view_clipped, 1);
    assert_true(r->view_lo_s == 0);
    assert_int_equal(bb_view_clipped(&t, 0, NULL), 1);
    assert_int_equal(bb_view_clipped(&t, 0, "conv"), 1);
    assert_int_equal(bb_view_clipped(&t, 0, "transformer"), 0);
    bb_table_free(&t);
}

/* Every ok row "paper": mean and s; one row not: median and ms. */
static void test_paper_preset_default(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    for (int i = 0; i < t.n_rows; i++)
        if (!strcmp(t.rows[i].status, "ok"))
            snprintf(t.rows[i].preset, sizeof t.rows[i].preset, "paper");
    bb_table_default_view(&t);
    assert_int_equal(t.stat, BB_STAT_MEAN);
    assert_int_equal(t.unit, BB_UNIT_S);
    assert_int_equal(t.view_from_preset, 1);
    assert_true(row_of(&t, "resnet18", 1)->view_item_s == row_of(&t, "resnet18", 1)->mean_item_s);
    snprintf(row_of(&t, "resnet18", 2)->preset, sizeof t.rows[0].preset, "quick");
    bb_table_default_view(&t);
    assert_int_equal(t.stat, BB_STAT_MEDIAN);
    assert_int_equal(t.unit, BB_UNIT_MS);
    assert_int_equal(t.view_from_preset, 0);
    bb_table_free(&t);
}

static void test_parse(void **state)
{
    (void)state;
    bb_stat s;
    bb_unit u;
    assert_int_equal(bb_view_parse_stat("median", &s), 0);
    assert_int_equal(s, BB_STAT_MEDIAN);
    assert_int_equal(bb_view_parse_stat("mean", &s), 0);
    assert_int_equal(s, BB_STAT_MEAN);
    assert_int_equal(bb_view_parse_unit("ms", &u), 0);
    assert_int_equal(u, BB_UNIT_MS);
    assert_int_equal(bb_view_parse_unit("s", &u), 0);
    assert_int_equal(u, BB_UNIT_S);
    const char *bad[] = {"Mean", "avg", "", "median "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(bb_view_parse_stat(bad[i], &s), -1);
    assert_int_equal(bb_view_parse_unit("sec", &u), -1);
    assert_int_equal(bb_view_parse_unit("us", &u), -1);
}

/* report.md: says what the tables and charts show, adds the charted table,
 * and the answer stays on the median. */
static void test_report_words(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    const char *dirs[] = {FIXTURE};
    bb_report_opts o = {"unused", dirs, 1, 0, NULL, BB_FMT_PNG, NULL};
    char *median = bb_report_text(&t, &o);
    assert_non_null(median);
    assert_non_null(strstr(median, "Every time in the tables and the charts is the median"));
    assert_null(strstr(median, "as the charts show it"));
    bb_table_set_view(&t, BB_STAT_MEAN, BB_UNIT_S);
    char *mean = bb_report_text(&t, &o);
    assert_non_null(mean);
    assert_non_null(strstr(mean, "The tables and the answer (the batch size to use) are on the median"));
    assert_non_null(strstr(mean, "show the **mean \xC2\xB1 2\xCF\x83 of the per-item time"));
    assert_non_null(strstr(mean, "Mean time per item in seconds, as the charts show it"));
    assert_non_null(strstr(mean, "| resnet18 | 0.04000 \xC2\xB1 0.001633 |"));
    assert_non_null(strstr(mean, "\n- resnet18: 4 and 8 are tied within noise (2% margin); use 4; a rerun may answer 8")); /* unchanged */
    assert_non_null(strstr(mean, "| resnet18 | 40.00 | 25.00 | **20.50** | *20.00* |"));
    free(median), free(mean);
    bb_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_and_std_ddof0),     cmocka_unit_test(test_default_is_median_ms),
        cmocka_unit_test(test_mean_view_and_clipping), cmocka_unit_test(test_paper_preset_default),
        cmocka_unit_test(test_parse),                  cmocka_unit_test(test_report_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_report.c — unit tests for src/report/results_load.c, plot*.c and
 * report.c, on the hand-made fixtures in tests/data/.
 *
 * Why this file exists: the charts and report.md are what people read to
 * pick a batch size, so the numbers behind them (best batch, knee, gain,
 * the latency-budget choice) are checked against values worked out by hand
 * from the fixture's times, the outputs are checked to be real PNG (size
 * read from the IHDR chunk), SVG with <text> elements and PDF, and bad
 * input (a corrupt file, an oom result, a missing batch size) is checked to
 * be counted and named while the charts still come out.
 *
 * The fixture (tests/data/report-fixture, host "fixture", batchbench/cpu),
 * time per item in ms:
 *   resnet18      1: 40   2: 25   4: 20.5  8: 20      best 8, knee 4, gain 2.00
 *   mobilenet_v2  1: 10   2: 6    4: -     8: 5       best 8, knee 8, gain 2.00 (4 missing)
 *   vit_b_16      1: 300  2: 200  4: 180   8: 198     best 4, knee 4, gain 1.67, 8 is 10% slower
 *   vit_b_32      1: 110  2: 60   4: 50    8: oom     best 4, knee 4, gain 2.20
 * plus inference_time-...-resnet34-batch_size-1.json, truncated (corrupt).
 * Median batch latencies in ms: resnet18 40/50/82/160, mobilenet_v2
 * 10/12/-/40, vit_b_16 300/400/720/1584, vit_b_32 110/120/200: under a
 * 100 ms budget resnet18 picks 4 (48.8 items/s), mobilenet_v2 picks 8
 * (200 items/s), the ViTs none. tests/data/report-fixture-pytorch holds
 * resnet18 from engine "pytorch" at 50/25/20.5/16 ms: ratios 0.8, 1, 1, 1.25.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/plot.h"
#include "report/report.h"
#include "report/results_load.h"

#define FIXTURE "tests/data/report-fixture"
#define FIXTURE_PT "tests/data/report-fixture-pytorch"

/* ---- helpers ---------------------------------------------------------------- */

static int setup_dir(void **state)
{
    char *dir = malloc(64);
    if (!dir)
        return -1;
    snprintf(dir, 64, "/tmp/bb_report_test_XXXXXX");
    *state = dir;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    DIR *d = opendir(*state);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", (char *)*state, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(*state);
    free(*state);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 22);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static void load(bb_table *t, const char *const *dirs, int n, FILE *warn)
{
    bb_err e = {0};
    assert_int_equal(bb_table_load(t, dirs, n, warn, &e), 0);
}

static void load_fixture(bb_table *t)
{
    const char *dirs[] = {FIXTURE};
    load(t, dirs, 1, NULL);
}

/* Width and height from a PNG's IHDR chunk; fails the test if not a PNG. */
static void png_size(const char *path, unsigned *w, unsigned *h)
{
    size_t n;
    unsigned char *b = (unsigned char *)slurp(path, &n);
    assert_true(n > 33);
    assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    free(b);
}

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

/* ---- loading -------------------------------------------------------------------- */

static void test_load_counts_and_warnings(void **state)
{
    (void)state;
    FILE *warn = tmpfile();
    assert_non_null(warn);
    bb_table t;
    const char *dirs[] = {FIXTURE};
    load(&t, dirs, 1, warn);
    assert_int_equal(t.n_files, 16);
    assert_int_equal(t.n_rows, 15);
    assert_int_equal(t.n_corrupt, 1);
    assert_int_equal(t.n_failed, 1);
    assert_int_equal(t.n_missing, 1);
    assert_int_equal(t.n_duplicate, 0);
    assert_int_equal(t.n_skipped, 1);
    assert_true(bb_table_incomplete(&t));
    assert_int_equal(t.n_setups, 1);
    assert_string_equal(t.setups[0].host, "fixture");
    assert_string_equal(t.setups[0].engine, "batchbench");
    assert_int_equal(t.setups[0].n_batches, 4);
    /* models in the zoo's order, not alphabetical */
    assert_int_equal(t.setups[0].n_models, 4);
    assert_string_equal(t.setups[0].models[0], "resnet18");
    assert_string_equal(t.setups[0].models[1], "mobilenet_v2");
    assert_string_equal(t.setups[0].models[2], "vit_b_16");
    assert_string_equal(t.setups[0].models[3], "vit_b_32");
    rewind(warn);
    char text[8192] = {0};
    assert_true(fread(text, 1, sizeof text - 1, warn) > 0);
    fclose(warn);
    assert_non_null(strstr(text, "inference_time-fixture-cpu-model_name-resnet34-batch_size-1.json: not valid JSON, "
                                 "skipped"));
    assert_non_null(strstr(text, "inference_time-fixture-cpu-model_name-vit_b_32-batch_size-8.json: status oom"));
    assert_non_null(strstr(text, "inference_time-fixture-cpu-model_name-mobilenet_v2-batch_size-4.json: no result"));
    assert_string_equal(bb_table_state(&t, 0, "vit_b_32", 8), "oom");
    assert_string_equal(bb_table_state(&t, 0, "mobilenet_v2", 4), "missing");
    assert_string_equal(bb_table_state(&t, 0, "resnet18", 4), "ok");
    assert_null(bb_table_ok(&t, 0, "vit_b_32", 8));
    bb_table_free(&t);
}

static void test_load_recomputes_stats(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    const bb_row *r = bb_table_ok(&t, 0, "resnet18", 8);
    assert_non_null(r);
    assert_int_equal(r->st.n, 3);
    assert_float_equal(r->latency_s, 0.160, 1e-12);
    assert_float_equal(r->per_item_s, 0.020, 1e-12);
    assert_float_equal(r->items_per_s, 50.0, 1e-9);
    /* numpy.percentile([0.158, 0.160, 0.165], 5 / 95) */
    assert_float_equal(r->p5_item_s, 0.1582 / 8, 1e-12);
    assert_float_equal(r->p95_item_s, 0.1645 / 8, 1e-12);
    assert_float_equal(r->gflops, 2.0 * 1813561344.0 * 8 / 0.160 / 1e9, 1e-9);
    assert_string_equal(bb_table_family(&t, 0, "vit_b_16"), "transformer");
    bb_table_free(&t);
}

static void test_load_duplicates_and_bad_dirs(void **state)
{
    (void)state;
    bb_table t;
    const char *twice[] = {FIXTURE, FIXTURE};
    load(&t, twice, 2, NULL);
    assert_int_equal(t.n_rows, 15);
    assert_int_equal(t.n_duplicate, 15);
    assert_int_equal(t.n_corrupt, 2);
    bb_table_free(&t);

    bb_err e = {0};
    const char *none[] = {"/nonexistent/bb_results"};
    assert_int_equal(bb_table_load(&t, none, 1, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/bb_results"));

    const char *empty[] = {*(char **)state};
    load(&t, empty, 1, NULL);
    assert_int_equal(t.n_rows, 0);
    assert_false(bb_table_incomplete(&t));
    bb_table_free(&t);
}

/* ---- the numbers of the report ------------------------------------------------------ */

static void test_summaries(void **state)
{
    (void)state;
    bb_table t;
    load_fixture(&t);
    bb_model_summary s;
    assert_int_equal(bb_model_summarise(&t, 0, "resnet18", 0.100, &s), 0);
    assert_int_equal(s.n_ok, 4);
    assert_int_equal(s.best, 8);
    assert_int_equal(s.knee, 4);
    assert_int_equal(s.smallest, 1);
    assert_float_equal(s.gain, 2.0, 1e-9);
    assert_int_equal(s.latency_pick, 4);
    assert_float_equal(s.latency_pick_ips, 4 / 0.082, 1e-9);

    assert_int_equal(bb_model_summarise(&t, 0, "mobilenet_v2", 0.100, &s), 0);
    assert_int_equal(s.n_ok, 3);
    assert_int_equal(s.best, 8);
    assert_int_equal(s.knee, 8);
    assert_float_equal(s.gain, 2.0, 1e-9);
    assert_int_equal(s.latency_pick, 8);

    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_16", 0.100, &s), 0);
    assert_int_equal(s.best, 4);
    assert_int_equal(s.knee, 4);
    assert_int_equal(s.largest, 8);
    assert_float_equal(s.gain, 0.300 / 0.180, 1e-9);
    assert_float_equal(s.largest_s / s.best_s, 1.10, 1e-9);
    assert_int_equal(s.latency_pick, 0);

    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_32", 0.100, &s), 0);
    assert_int_equal(s.n_ok, 3); /* batch 8 is oom */
    assert_int_equal(s.best, 4);
    assert_int_equal(s.largest, 4);
    assert_float_equal(s.gain, 2.2, 1e-9);
    assert_int_equal(s.latency_pick, 0);
    /* a looser budget: the best throughput under 250 ms is batch 4 */
    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_32", 0.250, &s), 0);
    assert_int_equal(s.latency_pick, 4);
    /* no budget: no pick */
    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_32", 0, &s), 0);
    assert_int_equal(s.latency_pick, 0);

    assert_int_equal(bb_model_summarise(&t, 0, "resnet34", 0, &s), -1);
    bb_table_free(&t);
}

static void test_report_text(void **state)
{
    bb_table t;
    load_fixture(&t);
    bb_figures figs;
    bb_err e = {0};
    assert_int_equal(bb_plot_all(&t, *state, BB_FMT_PNG, &figs, &e), 0);
    const char *dirs[] = {FIXTURE};
    bb_report_opts o = {"unused", dirs, 1, 0.100, &figs, BB_FMT_PNG, NULL};
    char *text = bb_report_text(&t, &o);
    assert_non_null(text);
    assert_non_null(strstr(text, "| resnet18 | 40.00 | 25.00 | 20.50 | **20.00** | 8 | 2.00\xC3\x97 (vs 1) | 181.4 | 4 |"));
    assert_non_null(strstr(text, "| mobilenet_v2 | 10.00 | 6.000 | missing | **5.000** | 8 |"));
    assert_non_null(strstr(text, "| vit_b_32 | 110.0 | 60.00 | **50.00** | oom | 4 | 2.20\xC3\x97 (vs 1) |"));
    assert_non_null(strstr(text, "For resnet18, time per item falls from 40.00 ms at batch 1 to 20.00 ms at batch 8 "
                                 "(2.00\xC3\x97 less); it is within 5% of its best from batch 4 on."));
    assert_non_null(strstr(text, "For vit_b_16 the largest batch is not the fastest per item: batch 4 is 10.0% "
                                 "faster than batch 8."));
    assert_non_null(strstr(text, "| resnet18 | 4 | 82.00 | 48.8 |"));
    assert_non_null(strstr(text, "| mobilenet_v2 | 8 | 40.00 | 200.0 |"));
    assert_non_null(strstr(text, "No batch size of vit_b_32 stays under 100 ms per batch"));
    assert_non_null(strstr(text, "vit_b_32 batch 8: oom"));
    assert_non_null(strstr(text, "mobilenet_v2 batch 4: missing"));
    assert_non_null(strstr(text, "resnet34-batch_size-1.json: not valid JSON"));
    assert_non_null(strstr(text, "](inf_times_conv_models.png)"));
    assert_non_null(strstr(text, "](inf_times_trans_models.png)"));
    assert_non_null(strstr(text, "](time_per_item_vs_batch.png)"));
    assert_non_null(strstr(text, "](throughput_vs_latency.png)"));
    assert_null(strstr(text, "ratio.png")); /* one setup: no comparison */
    free(text);

    char path[512];
    path_of(path, sizeof path, *state, "report.md");
    o.path = path;
    assert_int_equal(bb_report_write(&t, &o, &e), 0);
    char *md = slurp(path, NULL);
    assert_memory_equal(md, "# Batch size", 12);
    free(md);
    bb_figures_free(&figs);
    bb_table_free(&t);
}

/* ---- charts ------------------------------------------------------------------------ */

static void check_svg(const char *path, const char *must_contain)
{
    char *s = slurp(path, NULL);
    assert_memory_equal(s, "<?xml", 5);
    assert_non_null(strstr(s, "<svg"));
    assert_non_null(strstr(s, "<text "));
    assert_non_null(strstr(s, must_contain));
    assert_non_null(strstr(s, "</svg>"));
    assert_true(strstr(s, "<text ") < strstr(s, "</svg>"));
    free(s);
}

static void check_pdf(const char *path)
{
    size_t n;
    char *s = slurp(path, &n);
    assert_true(n > 1000);
    assert_memory_equal(s, "%PDF-", 5);
    free(s);
}

static void test_plot_all_formats(void **state)
{
    static const struct {
        const char *name;
        unsigned w, h;
        const char *text; /* a label the SVG must hold as text */
    } charts[] = {
        {"inf_times_conv_models", 1200, 700, "missing"},
        {"inf_times_trans_models", 1200, 700, ">oom</text>"},
        {"time_per_item_vs_batch", 1600, 720, "vit_b_32 (8: oom)"},
        {"throughput_vs_latency", 1200, 760, "Throughput (items/s, log scale)"},
    };
    bb_table t;
    load_fixture(&t); /* corrupt + oom + missing: the charts still come out */
    bb_figures figs;
    bb_err e = {0};
    assert_int_equal(bb_plot_all(&t, *state, BB_FMT_PNG | BB_FMT_SVG | BB_FMT_PDF, &figs, &e), 0);
    assert_int_equal(figs.n_figs, 4);
    assert_int_equal(figs.n_paths, 12);
    assert_int_equal(count_entries(*state), 12); /* no temporary files left */
    for (size_t i = 0; i < sizeof charts / sizeof *charts; i++) {
        char path[512], name[128];
        unsigned w, h;
        snprintf(name, sizeof name, "%s.png", charts[i].name);
        path_of(path, sizeof path, *state, name);
        png_size(path, &w, &h);
        assert_int_equal(w, charts[i].w);
        assert_int_equal(h, charts[i].h);
        assert_true(w >= 1200);
        int pw, ph;
        bb_plot_size(figs.figs[i].kind, &pw, &ph);
        assert_int_equal((unsigned)pw, w);
        assert_int_equal((unsigned)ph, h);
        snprintf(name, sizeof name, "%s.svg", charts[i].name);
        path_of(path, sizeof path, *state, name);
        check_svg(path, charts[i].text);
        snprintf(name, sizeof name, "%s.pdf", charts[i].name);
        path_of(path, sizeof path, *state, name);
        check_pdf(path);
    }
    bb_figures_free(&figs);
    bb_table_free(&t);
}

static void test_ratio_two_engines(void **state)
{
    bb_table t;
    const char *dirs[] = {FIXTURE, FIXTURE_PT};
    load(&t, dirs, 2, NULL);
    assert_int_equal(t.n_setups, 2);
    assert_string_equal(t.setups[1].engine, "pytorch");
    assert_true(bb_plot_applies(&t, BB_CHART_RATIO, 1));
    assert_false(bb_plot_applies(&t, BB_CHART_RATIO, 0));
    assert_false(bb_plot_applies(&t, BB_CHART_TRANS, 1)); /* pytorch has no transformers */
    bb_figures figs;
    bb_err e = {0};
    assert_int_equal(bb_plot_all(&t, *state, BB_FMT_PNG | BB_FMT_SVG, &figs, &e), 0);
    char path[512];
    unsigned w, h;
    path_of(path, sizeof path, *state, "ratio.png");
    png_size(path, &w, &h);
    assert_int_equal(w, 1200);
    assert_int_equal(h, 700);
    path_of(path, sizeof path, *state, "ratio.svg");
    check_svg(path, "pytorch on cpu");
    path_of(path, sizeof path, *state, "inf_times_conv_models-pytorch-cpu-fixture-t2.png");
    png_size(path, &w, &h);
    assert_int_equal(w, 1200);
    const char *rd[] = {FIXTURE, FIXTURE_PT};
    bb_report_opts o = {"unused", rd, 2, 0, &figs, BB_FMT_PNG | BB_FMT_SVG, NULL};
    char *text = bb_report_text(&t, &o);
    assert_non_null(text);
    assert_non_null(strstr(text, "| resnet18 | 1, 2, 4, 8 | 0.80, 1.00, 1.00, 1.25 | 1.00 |"));
    assert_non_null(strstr(text, "](ratio.png)"));
    free(text);
    bb_figures_free(&figs);
    bb_table_free(&t);
}

static void test_formats_and_write_errors(void **state)
{
    (void)state;
    unsigned m = 0;
    bb_err e = {0};
    assert_int_equal(bb_plot_parse_formats("png,svg,pdf", &m, &e), 0);
    assert_int_equal(m, BB_FMT_PNG | BB_FMT_SVG | BB_FMT_PDF);
    assert_int_equal(bb_plot_parse_formats("pdf", &m, &e), 0);
    assert_int_equal(m, BB_FMT_PDF);
    assert_int_equal(bb_plot_parse_formats("png,gif", &m, &e), -1);
    assert_non_null(strstr(e.msg, "'gif'"));
    assert_int_equal(bb_plot_parse_formats("", &m, &e), -1);
    assert_int_equal(bb_plot_parse_formats(",png", &m, &e), -1);

    bb_table t;
    load_fixture(&t);
    assert_int_equal(bb_plot_chart(&t, BB_CHART_CONV, 0, "/nonexistent/dir/chart", BB_FMT_PNG, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/dir/chart.png"));
    assert_int_equal(bb_plot_chart(&t, BB_CHART_RATIO, 1, "/tmp/never", BB_FMT_PNG, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "nothing to draw"));
    bb_table_free(&t);
}

static void test_axis_ticks(void **state)
{
    (void)state;
    double t[48];
    bb_axis a;
    bb_axis_fit(&a, 0, 43, 0); /* linear from 0: round steps, ends on a tick */
    assert_float_equal(a.lo, 0, 0);
    assert_float_equal(a.hi, 50, 1e-9);
    int n = bb_axis_ticks(&a, t, 48);
    assert_int_equal(n, 6);
    assert_float_equal(t[5], 50, 1e-9);
    bb_axis_fit(&a, 0.005, 700, 10); /* several decades: 1-2-5 or powers of ten */
    n = bb_axis_ticks(&a, t, 48);
    assert_true(n >= 4 && n <= 16);
    for (int i = 0; i < n; i++)
        assert_true(t[i] >= a.lo && t[i] <= a.hi);
    bb_axis_fit(&a, 1.2, 1.3, 10); /* inside one decade, no 1-2-5 value: still ticked */
    n = bb_axis_ticks(&a, t, 48);
    assert_true(n >= 2);
    char s[32];
    bb_fmt_num(0.1 + 0.2, s, sizeof s);
    assert_string_equal(s, "0.3");
    double scale;
    assert_string_equal(bb_time_unit(1.5, &scale), "s");
    assert_string_equal(bb_time_unit(0.043, &scale), "ms");
    assert_float_equal(scale, 1e3, 0);
    assert_string_equal(bb_time_unit(0.0004, &scale), "\xC2\xB5s");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        T(test_load_counts_and_warnings), T(test_load_recomputes_stats), T(test_load_duplicates_and_bad_dirs),
        T(test_summaries),                T(test_report_text),           T(test_plot_all_formats),
        T(test_ratio_two_engines),        T(test_formats_and_write_errors), T(test_axis_ticks),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    bb_plot_release();
    return failed;
}

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
 * time per item in ms, 3 batch times each:
 *   resnet18      1: 40   2: 25   4: 20.5  8: 20      best 8, knee 4, gain 2.00
 *   mobilenet_v2  1: 10   2: 6    4: -     8: 5       best 8, knee 8, gain 2.00 (4 missing)
 *   vit_b_16      1: 300  2: 200  4: 180   8: 198     best 4, knee 4, gain 1.67, 8 is 10% slower
 *   vit_b_32      1: 110  2: 60   4: 50    8: oom     best 4, knee 4, gain 2.20
 * With 3 times per batch size the 95% CI of a ratio is the range of all
 * 9 pairwise ratios: resnet18's batch 4 (20.25-21 ms) overlaps batch 8
 * (19.75-20.6 ms) within the 2% margin, so 4 and 8 are tied and 4 is the
 * one to use; every other model has a single fastest batch size. No
 * difference is significant with 3 and 3 samples (Mann-Whitney p >= 0.081),
 * so the report states none. The results written by the tests themselves
 * (write_results) have 30 or 120 times each and carry the measurement
 * quality fields of newer files.
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "report/plot.h"
#include "report/recommendation_json.h"
#include "report/report.h"
#include "results/result.h"
#include "report/results_load.h"
#include "unit/pseudo_noise.h"

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
    assert_int_equal(s.recommended, 4); /* 4 and 8 are tied: the smaller one */
    assert_int_equal(s.rec.n_tied, 2);
    assert_int_equal(s.rec.best_batch, 8);
    assert_float_equal(s.rec.margin, BB_TIE_MARGIN_DEFAULT, 0);
    assert_int_equal(s.knee, 4);
    assert_int_equal(s.smallest, 1);
    assert_float_equal(s.gain, 2.0, 1e-9);
    assert_int_equal(s.latency_pick, 4);
    assert_float_equal(s.latency_pick_ips, 4 / 0.082, 1e-9);

    assert_int_equal(bb_model_summarise(&t, 0, "mobilenet_v2", 0.100, &s), 0);
    assert_int_equal(s.n_ok, 3);
    assert_int_equal(s.best, 8);
    assert_int_equal(s.recommended, 8);
    assert_int_equal(s.rec.n, 3); /* batch 4 is missing */
    assert_int_equal(s.knee, 8);
    assert_float_equal(s.gain, 2.0, 1e-9);
    assert_int_equal(s.latency_pick, 8);

    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_16", 0.100, &s), 0);
    assert_int_equal(s.best, 4);
    assert_int_equal(s.recommended, 4);
    assert_int_equal(s.rec.n_tied, 1);
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
    assert_int_equal(bb_model_summarise(&t, 5, "resnet18", 0, &s), -1); /* no such setup */

    /* a wider margin ties vit_b_16's 2 (11% slower) with 4 as well */
    t.margin = 0.25;
    assert_int_equal(bb_model_summarise(&t, 0, "vit_b_16", 0, &s), 0);
    assert_int_equal(s.best, 4);
    assert_int_equal(s.recommended, 2);
    assert_int_equal(s.rec.n_tied, 3); /* 2, 4 and 8 */
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
    /* the table: bold is the batch size to use, italic the others tied with the fastest */
    assert_non_null(strstr(text, "| best batch | tied within noise | use | gain of best over smallest |"));
    assert_non_null(strstr(text, "| resnet18 | 40.00 | 25.00 | **20.50** | *20.00* | 8 | 4 and 8 | **4** | "
                                 "2.00\xC3\x97 (vs 1) | 181.4 | 4 |"));
    assert_non_null(strstr(text, "| mobilenet_v2 | 10.00 | 6.000 | missing | **5.000** | 8 | 8 | **8** |"));
    assert_non_null(strstr(text, "| vit_b_16 | 300.0 | 200.0 | **180.0** | 198.0 | 4 | 4 | **4** |"));
    assert_non_null(strstr(text, "| vit_b_32 | 110.0 | 60.00 | **50.00** | oom | 4 | 4 | **4** | 2.20\xC3\x97 (vs 1) |"));
    /* each model leads with the plain answer */
    /* 3 samples each: their CIs are wide, so whether 4 is tied could go either way in a rerun */
    assert_non_null(strstr(text, "\n- resnet18: 4 and 8 are tied within noise (2% margin); use 4; a rerun may answer 8: "
                                 "a tie within a CI's width of the 2% margin.\n"));
    assert_non_null(strstr(text, "\n- vit_b_16: 4 is the fastest; use 4; a rerun may answer 2: a tie within a CI's "
                                 "width of the 2% margin.\n"));
    /* 3 samples each: no difference is significant, and none is claimed */
    assert_non_null(strstr(text, "Batch 1 (40.00 ms per item) and batch 8 (20.00 ms) are statistically "
                                 "indistinguishable (p = 0.081 with 3 and 3 measured batches); the median is within "
                                 "5% of the best from batch 4 on."));
    assert_non_null(strstr(text, "Batch 4 and the largest batch, 8, are indistinguishable per item (batch 4 looks "));
    assert_null(strstr(text, "falls from"));
    assert_null(strstr(text, "is not the fastest per item"));
    assert_non_null(strstr(text, "## How the answer is chosen"));
    assert_non_null(strstr(text, "overlaps 1 \xC2\xB1 2% (the margin"));
    assert_null(strstr(text, "[^peak]")); /* no peak known: no % of peak, no footnote */
    assert_null(strstr(text, "## Measurement quality")); /* older files: nothing recorded, nothing flagged */
    /* latency: p99 needs 100 batches, the fixture has 3 */
    assert_non_null(strstr(text, "| resnet18 | 4 | 82.00 | needs 100 batches (has 3) | 48.8 |"));
    assert_non_null(strstr(text, "| mobilenet_v2 | 8 | 40.00 | needs 100 batches (has 3) | 200.0 |"));
    assert_non_null(strstr(text, "A p99 needs at least 100 measured batches"));
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

/* ---- results with many samples and the measurement-quality fields ----------------- */

/* One schema-1 result file in dir: n batch times of per_item_ms x batch x
 * (1 +- 1% noise), host "q", peak 1000 GFLOP/s; extra: more top-level
 * members ("noise", "measurement") or "". */
static void write_one(const char *dir, const char *model, const char *family, int64_t batch, double per_item_ms,
                      int n, const char *extra)
{
    char path[512];
    snprintf(path, sizeof path, "%s/inference_time-q-cpu-model_name-%s-batch_size-%lld.json", dir, model,
             (long long)batch);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"schema_version\": 1, \"status\": \"ok\", \"message\": \"\",\n"
               " \"config\": {\"model\": \"%s\", \"family\": \"%s\", \"head\": \"features\", \"device\": \"cpu\",\n"
               "  \"engine\": \"batchbench\", \"precision\": \"fp32\", \"batch_size\": %lld, \"threads\": 2},\n"
               " \"environment\": {\"host\": \"q\", \"cpu_model\": \"Test CPU\", \"peak_gflops\": 1000,\n"
               "  \"peak_source\": \"test\"},\n"
               " \"model\": {\"macs_per_item\": 4089184256},%s\n \"times_s\": [",
            model, family, (long long)batch, extra);
    uint64_t seed = (uint64_t)batch * 7919 + (uint64_t)n;
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i ? ", " : "", per_item_ms * 1e-3 * (double)batch * (1 + 0.01 * bb_test_noise(&seed)));
    fprintf(f, "]}\n");
    fclose(f);
}

#define MEASURED_OK "\n \"measurement\": {\"stop_reason\": \"target\", \"ci_half_width\": 0.004, " \
                    "\"interleaved\": true, \"interleave_fallback\": \"\"},"

/* resnet50 (30 times each): 10, 6, 5, 5.5 ms per item at 1, 2, 4, 8: 4 is
 * clearly the fastest, 8 10% slower; batch 2 was disturbed, batch 8 ran
 * out of its budget and was not interleaved. vit_b_16 (120 times): 20,
 * 19.9, 25, 30 ms: 1 and 2 are tied (2 is significantly faster, but by
 * less than the margin), and 1 is the one to use. */
static void write_results(const char *dir)
{
    write_one(dir, "resnet50", "conv", 1, 10, 30, MEASURED_OK);
    write_one(dir, "resnet50", "conv", 2, 6, 30,
              MEASURED_OK "\n \"noise\": {\"disturbed\": true, \"disturbed_why\": \"steal 7.2%\"},");
    write_one(dir, "resnet50", "conv", 4, 5, 30, MEASURED_OK "\n \"noise\": {\"disturbed\": false},");
    write_one(dir, "resnet50", "conv", 8, 5.5, 30,
              "\n \"measurement\": {\"stop_reason\": \"budget\", \"ci_half_width\": 0.031, \"interleaved\": false,"
              " \"interleave_fallback\": \"not enough memory for every batch size at once\"},");
    write_one(dir, "vit_b_16", "transformer", 1, 20, 120, MEASURED_OK);
    write_one(dir, "vit_b_16", "transformer", 2, 19.9, 120, MEASURED_OK);
    write_one(dir, "vit_b_16", "transformer", 4, 25, 120, MEASURED_OK);
    write_one(dir, "vit_b_16", "transformer", 8, 30, 120, MEASURED_OK);
}

static void load_results(bb_table *t, const char *dir)
{
    const char *dirs[] = {dir};
    write_results(dir);
    load(t, dirs, 1, NULL);
}

static void test_load_quality_fields(void **state)
{
    bb_table t;
    load_results(&t, *state);
    assert_float_equal(t.margin, BB_TIE_MARGIN_DEFAULT, 0);
    const bb_row *r = bb_table_ok(&t, 0, "resnet50", 2);
    assert_non_null(r);
    assert_int_equal(r->disturbed, 1);
    assert_string_equal(r->disturbed_why, "steal 7.2%");
    assert_string_equal(r->stop_reason, "target");
    assert_int_equal(r->interleaved, 1);
    assert_int_equal(r->n_times, 30);
    r = bb_table_ok(&t, 0, "resnet50", 8);
    assert_int_equal(r->disturbed, 0); /* no "noise" object */
    assert_string_equal(r->stop_reason, "budget");
    assert_float_equal(r->ci_half_width, 0.031, 0);
    assert_int_equal(r->interleaved, 0);
    assert_string_equal(r->interleave_fallback, "not enough memory for every batch size at once");
    bb_table_free(&t);
    /* older files: defaults, not errors */
    load_fixture(&t);
    r = bb_table_ok(&t, 0, "resnet18", 8);
    assert_int_equal(r->disturbed, 0);
    assert_string_equal(r->disturbed_why, "");
    assert_string_equal(r->stop_reason, "");
    assert_true(isnan(r->ci_half_width));
    assert_int_equal(r->interleaved, -1);
    bb_table_free(&t);
}

/* "... (95% CI a-b%)": the two bounds after prefix; fails if absent. */
static void ci_after(const char *text, const char *prefix, double *lo, double *hi)
{
    const char *p = strstr(text, prefix);
    if (!p)
        fail_msg("'%s' not in the report", prefix);
    assert_int_equal(sscanf(p + strlen(prefix), "%lf\xE2\x80\x93%lf", lo, hi), 2);
}

static void test_report_significant_differences(void **state)
{
    bb_table t;
    load_results(&t, *state);
    const char *dirs[] = {*state};
    bb_report_opts o = {"unused", dirs, 1, 1.0, NULL, BB_FMT_PNG, NULL};
    char *text = bb_report_text(&t, &o);
    assert_non_null(text);
    assert_non_null(strstr(text, "\n- resnet50: 4 is the fastest; use 4.\n"));
    assert_non_null(strstr(text, "| resnet50 | 10.0"));
    /* 30 samples each: the gain and the slower largest batch are significant, with a CI */
    double lo, hi;
    assert_non_null(strstr(text, "  - Time per item falls from 10.01 ms at batch 1 to 5.001 ms at batch 4 (2.00"
                                 "\xC3\x97 less, 95% CI "));
    ci_after(text, "\xC3\x97 less, 95% CI ", &lo, &hi);
    assert_true(lo > 1.9 && lo < 2.0 && hi > 2.0 && hi < 2.1);
    assert_non_null(strstr(text, "  - The largest batch is not the fastest per item: batch 4 is 10."));
    ci_after(text, "% faster than batch 8 (95% CI ", &lo, &hi);
    assert_true(lo > 9 && lo < 10.1 && hi > 10.1 && hi < 11);
    /* vit_b_16's 1 and 2 are 0.5% apart: tied, and the smaller is the answer */
    assert_non_null(strstr(text, "\n- vit_b_16: 1 and 2 are tied within noise (2% margin); use 1.\n"));
    /* more than 100% of the peak: the cell says so and the footnote explains it */
    assert_non_null(strstr(text, " (164%[^peak]) |"));
    assert_non_null(strstr(text, " (41%) |")); /* vit_b_16: below the peak, no footnote mark */
    assert_non_null(strstr(text, "\n[^peak]: Above 100% of peak"));
    assert_non_null(strstr(text, "Winograd"));
    /* p99 with 120 batches, not with 30 */
    assert_non_null(strstr(text, "| resnet50 | 4 | 20.00 | needs 100 batches (has 30) | 200.0 |"));
    assert_null(strstr(text, "(has 120)"));
    const char *v = strstr(text, "| vit_b_16 | 2 | 39.7");
    assert_non_null(v);
    assert_true(sscanf(v, "| vit_b_16 | 2 | %lf | %lf |", &lo, &hi) == 2 && hi > lo && hi < lo * 1.02);
    free(text);
    bb_table_free(&t);
}

static void test_report_quality_section(void **state)
{
    bb_table t;
    load_results(&t, *state);
    const char *dirs[] = {*state};
    bb_report_opts o = {"unused", dirs, 1, 0, NULL, BB_FMT_PNG, NULL};
    char *text = bb_report_text(&t, &o);
    assert_non_null(text);
    const char *q = strstr(text, "## Measurement quality\n");
    assert_non_null(q);
    assert_non_null(strstr(q, "- Disturbed while measured (other work on the machine): resnet50 batch 2 "
                              "(steal 7.2%).\n"));
    assert_non_null(strstr(q, "- Stopped before reaching their confidence target: resnet50 batch 8 (ran out of "
                              "its share of the --budget; \xC2\xB1" "3.1% reached).\n"));
    assert_non_null(strstr(q, "- resnet50: batch sizes measured one after another, not interleaved (not enough "
                              "memory for every batch size at once)"));
    assert_null(strstr(q, "vit_b_16")); /* nothing to say about it */
    assert_null(strstr(q, "## Not measured")); /* a complete folder */
    assert_null(strstr(q, "Noisy")); /* 1% noise */
    free(text);
    bb_table_free(&t);
}

static void test_recommendation_json(void **state)
{
    bb_table t;
    load_results(&t, *state);
    char path[512];
    bb_err e = {0};
    assert_int_equal(bb_recommendation_json_write(&t, *state, path, sizeof path, &e), 0);
    assert_non_null(strstr(path, "/recommendation.json"));
    char *text = slurp(path, NULL);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "schema_version")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tool"), "name")->valuestring, "batchbench");
    const cJSON *recs = cJSON_GetObjectItem(j, "recommendations");
    assert_int_equal(cJSON_GetArraySize(recs), 2);
    const cJSON *r = cJSON_GetArrayItem(recs, 0), *v = cJSON_GetArrayItem(recs, 1);
    assert_string_equal(cJSON_GetObjectItem(r, "model")->valuestring, "resnet50");
    assert_string_equal(cJSON_GetObjectItem(r, "host")->valuestring, "q");
    assert_int_equal(cJSON_GetObjectItem(r, "threads")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(r, "best_batch")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(r, "recommended_batch")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(r, "knee_batch")->valueint, 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "tied_batches")), 1);
    assert_float_equal(cJSON_GetObjectItem(r, "margin")->valuedouble, 0.02, 0);
    assert_float_equal(cJSON_GetObjectItem(r, "confidence")->valuedouble, 0.95, 0);
    assert_string_equal(cJSON_GetObjectItem(r, "method")->valuestring, BB_RECOMMEND_METHOD);
    assert_string_equal(cJSON_GetObjectItem(r, "sentence")->valuestring, "resnet50: 4 is the fastest; use 4");
    const cJSON *b = cJSON_GetObjectItem(r, "batches");
    assert_int_equal(cJSON_GetArraySize(b), 4);
    const cJSON *b8 = cJSON_GetArrayItem(b, 3);
    assert_int_equal(cJSON_GetObjectItem(b8, "batch")->valueint, 8);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(b8, "tied")));
    assert_true(cJSON_GetObjectItem(b8, "ci95_lo")->valuedouble > 1.05);
    assert_true(cJSON_GetObjectItem(b8, "p_value")->valuedouble < 0.05);
    assert_float_equal(cJSON_GetObjectItem(b8, "per_item_median_s")->valuedouble, 0.0055, 0.0055 * 0.01);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 2), "tied")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(v, "tied_batches")), 2);
    assert_int_equal(cJSON_GetObjectItem(v, "recommended_batch")->valueint, 1);
    cJSON_Delete(j);
    /* the margin of the table is the margin of the answer */
    t.margin = 0.15;
    j = bb_recommendation_json(&t);
    assert_non_null(j);
    r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "recommendations"), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "tied_batches")), 2); /* 4 and 8 */
    assert_string_equal(cJSON_GetObjectItem(r, "sentence")->valuestring,
                        "resnet50: 4 and 8 are tied within noise (15% margin); use 4");
    cJSON_Delete(j);
    assert_int_equal(bb_recommendation_json_write(&t, "/nonexistent/dir", NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/dir/recommendation.json"));
    bb_table_free(&t);
}

/* summary.csv's computed columns: each row carries its model's answer. */
static void test_summary_csv_answers(void **state)
{
    write_results(*state);
    char p[512];
    snprintf(p, sizeof p, "%s/inference_time-q-cpu-model_name-resnet50-batch_size-16.json", (char *)*state);
    FILE *f = fopen(p, "w"); /* a failed configuration: the answer, but no "tied" */
    assert_non_null(f);
    fprintf(f, "{\"schema_version\": 1, \"status\": \"oom\", \"message\": \"\", \"config\": {\"model\": "
               "\"resnet50\", \"family\": \"conv\", \"head\": \"features\", \"device\": \"cpu\", \"engine\": "
               "\"batchbench\", \"precision\": \"fp32\", \"batch_size\": 16, \"threads\": 2}, \"environment\": "
               "{\"host\": \"q\"}, \"times_s\": []}\n");
    fclose(f);
    bb_err e = {0};
    assert_int_equal(bb_summary_csv_write(*state, &e), 0);
    path_of(p, sizeof p, *state, "summary.csv");
    char *csv = slurp(p, NULL);
    assert_non_null(strstr(csv, ",p50_s,p90_s,p99_s,stop_reason,ci_half_width,noise_disturbed,host,sweep,shard,best_batch,"
                                "recommended_batch,tied,knee_batch,margin,identity\n"));
    /* resnet50 batch 2: disturbed (1), stopped at its target; the answer 4, not tied */
    assert_non_null(strstr(csv, ",target,0.004,1,q,,,4,4,0,4,0.02,model="));
    assert_non_null(strstr(csv, ",target,0.004,0,q,,,4,4,1,4,0.02,model="));  /* batch 4 */
    assert_non_null(strstr(csv, ",budget,0.031,,q,,,4,4,0,4,0.02,model="));   /* batch 8: no noise object */
    assert_non_null(strstr(csv, "batch_size-16.json,resnet50,conv,features,cpu,batchbench,fp32,16,2,oom,"));
    assert_non_null(strstr(csv, ",,,,,,,q,,,4,4,,4,0.02,model="));            /* batch 16: no stats, no "tied" */
    assert_non_null(strstr(csv, "vit_b_16-batch_size-1.json,"));
    assert_non_null(strstr(csv, ",target,0.004,,q,,,2,1,1,1,0.02,model="));   /* vit_b_16 1 and 2: tied, best 2, use 1 */
    assert_non_null(strstr(csv, ",target,0.004,,q,,,2,1,0,1,0.02,model="));   /* vit_b_16 4 and 8 */
    free(csv);
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

/* The vs-batch chart marks each model's answer and says so in its key. */
static void test_vs_batch_marks_the_answer(void **state)
{
    bb_table t;
    load_results(&t, *state);
    t.margin = 0.05;
    char path[512];
    bb_err e = {0};
    path_of(path, sizeof path, *state, "vs");
    assert_int_equal(bb_plot_chart(&t, BB_CHART_VS_BATCH, 0, path, BB_FMT_SVG, NULL, &e), 0);
    path_of(path, sizeof path, *state, "vs.svg");
    check_svg(path, ">the batch size to use</text>");
    check_svg(path, ">(within noise, 5% margin)</text>");
    char *svg = slurp(path, NULL);
    assert_non_null(strstr(svg, "fill-opacity")); /* the translucent halos of the tied set */
    free(svg);
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
        T(test_load_quality_fields),      T(test_report_significant_differences), T(test_report_quality_section),
        T(test_recommendation_json),      T(test_summary_csv_answers),   T(test_vs_batch_marks_the_answer),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    bb_plot_release();
    return failed;
}

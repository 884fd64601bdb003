/*
 * test_compare.c — unit tests for src/report/compare.c: the verdict rule,
 * what counts as the same configuration, matching two tables, the gate
 * and its threshold, the markdown's gate line, and the chart files.
 *
 * Why this file exists: `batchbench compare` decides whether a CI job
 * fails. Each rule is checked here on synthetic tables whose answers are
 * known by construction: NEW's times are BASE's times scaled by k, so the
 * Hodges-Lehmann ratio is exactly k, and with a base spread of 1.1% any
 * k >= 1.03 puts every NEW time above every BASE time (a significant
 * slowdown), while k = 1 is no change at all.
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
#include <unistd.h>

#include "report/compare.h"

#define N_TIMES 12
#define MAX_ROWS 8

/* A synthetic table: rows and setups in fixed arrays, times owned here. */
typedef struct {
    bb_table t;
    bb_row rows[MAX_ROWS];
    bb_setup setups[2];
    double times[MAX_ROWS][N_TIMES];
} fake_table;

static void fake_init(fake_table *f, const char *host0, const char *host1)
{
    memset(f, 0, sizeof *f);
    snprintf(f->setups[0].host, sizeof f->setups[0].host, "%s", host0);
    snprintf(f->setups[1].host, sizeof f->setups[1].host, "%s", host1);
    f->t.rows = f->rows, f->t.setups = f->setups, f->t.n_setups = 2;
}

/* Adds model at batch (cpu, fp32, features, 2 threads, setup s) with times
 * k * (1 + 0.001 i), i = 0..11; status "ok" unless given. */
static bb_row *fake_add(fake_table *f, const char *model, int64_t batch, double k, const char *status, int s)
{
    bb_row *r = &f->rows[f->t.n_rows];
    double *x = f->times[f->t.n_rows++];
    snprintf(r->model, sizeof r->model, "%s", model);
    snprintf(r->engine, sizeof r->engine, "batchbench");
    snprintf(r->device, sizeof r->device, "cpu");
    snprintf(r->precision, sizeof r->precision, "fp32");
    snprintf(r->head, sizeof r->head, "features");
    snprintf(r->status, sizeof r->status, "%s", status);
    r->batch_size = batch, r->threads = 2, r->setup = s;
    if (strcmp(status, "ok") != 0)
        return r;
    for (int i = 0; i < N_TIMES; i++)
        x[i] = k * (1 + 0.001 * i);
    r->times_s = x, r->n_times = N_TIMES, r->has_stats = 1;
    r->per_item_s = k * 1.0055 / (double)batch;
    return r;
}

static const bb_cmp_item *item_of(const bb_compare *c, const char *model, int64_t batch)
{
    for (int i = 0; i < c->n_items; i++)
        if (!strcmp(c->items[i].base->model, model) && c->items[i].base->batch_size == batch)
            return &c->items[i];
    return NULL;
}

static int has_note(const bb_compare *c, const char *model, int64_t batch, const char *why)
{
    for (int i = 0; i < c->n_notes; i++)
        if (!strcmp(c->notes[i].row->model, model) && c->notes[i].row->batch_size == batch &&
            strstr(c->notes[i].why, why))
            return 1;
    return 0;
}

/* ---- verdict and identity ------------------------------------------------------- */

static void test_verdict_rule(void **state)
{
    (void)state;
    bb_ratio r = {.ratio = 1.2, .ci_lo = 1.1, .ci_hi = 1.3, .p_value = 0.01};
    assert_int_equal(bb_compare_verdict(&r), BB_CMP_SLOWER);
    r.p_value = BB_ALPHA; /* not below alpha: not significant */
    assert_int_equal(bb_compare_verdict(&r), BB_CMP_UNCHANGED);
    r.p_value = 0.01, r.ci_lo = 0.99; /* the interval holds 1 */
    assert_int_equal(bb_compare_verdict(&r), BB_CMP_UNCHANGED);
    bb_ratio f = {.ratio = 0.8, .ci_lo = 0.7, .ci_hi = 0.9, .p_value = 0.001};
    assert_int_equal(bb_compare_verdict(&f), BB_CMP_FASTER);
    f.ci_hi = 1.0; /* touching 1 is not excluding it */
    assert_int_equal(bb_compare_verdict(&f), BB_CMP_UNCHANGED);
    assert_string_equal(bb_compare_verdict_name(BB_CMP_UNCHANGED), "no significant change");
    assert_string_equal(bb_compare_verdict_name(BB_CMP_SLOWER), "slower");
    assert_string_equal(bb_compare_verdict_name(BB_CMP_FASTER), "faster");
}

static void test_same_config_ignores_host(void **state)
{
    (void)state;
    fake_table a, b;
    fake_init(&a, "hostA", "hostA2");
    fake_init(&b, "hostB", "hostB2");
    bb_row *x = fake_add(&a, "resnet18", 4, 1, "ok", 0), *y = fake_add(&b, "resnet18", 4, 1, "ok", 1);
    assert_true(bb_compare_same_config(x, y));
    y->threads = 4;
    assert_false(bb_compare_same_config(x, y));
    y->threads = 2, y->batch_size = 8;
    assert_false(bb_compare_same_config(x, y));
    y->batch_size = 4;
    snprintf(y->precision, sizeof y->precision, "bf16");
    assert_false(bb_compare_same_config(x, y));
    char s[160];
    bb_compare_setup_name(x, s, sizeof s);
    assert_string_equal(s, "batchbench/cpu/fp32/features/2t");
}

/* ---- matching, verdicts, gate ------------------------------------------------------ */

/* BASE (hostA) and NEW (hostB):
 *   resnet18 2      x1.03 in NEW: slower, within 5%
 *   resnet18 1      x1.2:  slower, fails the gate (listed after batch 2 in BASE: sorted)
 *   mobilenet_v2 1  x0.8:  faster
 *   vit_b_16 1      x1:    no change
 *   vit_b_32 1      oom in BASE: not ok
 *   resnet50 4      only in BASE;  resnet50 8 only in NEW */
static void make_pair(fake_table *base, fake_table *nw)
{
    fake_init(base, "hostA", "hostA2");
    fake_init(nw, "hostB", "hostB2");
    fake_add(base, "resnet18", 2, 1, "ok", 0), fake_add(nw, "resnet18", 2, 1.03, "ok", 0);
    fake_add(base, "resnet18", 1, 1, "ok", 0), fake_add(nw, "resnet18", 1, 1.2, "ok", 0);
    fake_add(base, "mobilenet_v2", 1, 1, "ok", 0), fake_add(nw, "mobilenet_v2", 1, 0.8, "ok", 0);
    fake_add(base, "vit_b_16", 1, 1, "ok", 0), fake_add(nw, "vit_b_16", 1, 1, "ok", 0);
    fake_add(base, "vit_b_32", 1, 1, "oom", 0), fake_add(nw, "vit_b_32", 1, 1, "ok", 0);
    fake_add(base, "resnet50", 4, 1, "ok", 0), fake_add(nw, "resnet50", 8, 1, "ok", 0);
}

static void test_match_and_verdicts(void **state)
{
    (void)state;
    fake_table base, nw;
    make_pair(&base, &nw);
    bb_compare c = {0};
    bb_err e = {0};
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.05, &e), 0);
    assert_int_equal(c.n_items, 4);
    const bb_cmp_item *r1 = item_of(&c, "resnet18", 1), *r2 = item_of(&c, "resnet18", 2);
    const bb_cmp_item *mb = item_of(&c, "mobilenet_v2", 1), *vit = item_of(&c, "vit_b_16", 1);
    assert_non_null(r1), assert_non_null(r2), assert_non_null(mb), assert_non_null(vit);
    assert_true(fabs(r1->r.ratio - 1.2) < 1e-9);
    assert_int_equal(r1->verdict, BB_CMP_SLOWER), assert_true(r1->gate_fail);
    assert_int_equal(r2->verdict, BB_CMP_SLOWER), assert_false(r2->gate_fail);
    assert_int_equal(mb->verdict, BB_CMP_FASTER), assert_false(mb->gate_fail);
    assert_int_equal(vit->verdict, BB_CMP_UNCHANGED), assert_false(vit->gate_fail);
    assert_int_equal(c.n_slower, 2), assert_int_equal(c.n_faster, 1), assert_int_equal(c.n_unchanged, 1);
    assert_int_equal(c.n_gate_fail, 1);
    assert_true(fabs(c.geomean - pow(1.2 * 1.03 * 0.8 * 1.0, 0.25)) < 1e-9);
    /* sorted by the zoo's order, then batch size: resnet18 1 before 2 */
    assert_ptr_equal(&c.items[0], r1), assert_ptr_equal(&c.items[1], r2);
    assert_int_equal(c.n_notes, 3);
    assert_true(has_note(&c, "vit_b_32", 1, "not ok: oom in BASE, ok in NEW"));
    assert_true(has_note(&c, "resnet50", 4, "only in BASE"));
    assert_true(has_note(&c, "resnet50", 8, "only in NEW"));
    assert_string_equal(c.base_hosts, "hostA, hostA2");
    bb_compare_free(&c);
}

static void test_threshold(void **state)
{
    (void)state;
    fake_table base, nw;
    make_pair(&base, &nw);
    bb_compare c = {0};
    bb_err e = {0};
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.25, &e), 0); /* 1.2 is within 25% */
    assert_int_equal(c.n_gate_fail, 0);
    assert_int_equal(c.n_slower, 2);
    bb_compare_free(&c);
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0, &e), 0); /* any significant slowdown fails */
    assert_int_equal(c.n_gate_fail, 2);
    bb_compare_free(&c);
}

static void test_repeat_in_one_folder(void **state)
{
    (void)state;
    fake_table base, nw;
    fake_init(&base, "hostA", "hostC");
    fake_init(&nw, "hostB", "hostB2");
    fake_add(&base, "resnet18", 1, 1, "ok", 0), fake_add(&base, "resnet18", 1, 5, "ok", 1);
    fake_add(&nw, "resnet18", 1, 1, "ok", 0);
    bb_compare c = {0};
    bb_err e = {0};
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.05, &e), 0);
    assert_int_equal(c.n_items, 1);
    assert_int_equal(c.items[0].verdict, BB_CMP_UNCHANGED); /* against the first, not the x5 one */
    assert_int_equal(c.n_notes, 1);
    assert_true(has_note(&c, "resnet18", 1, "again in BASE (host hostC), ignored"));
    bb_compare_free(&c);
}

/* ---- outputs ------------------------------------------------------------------------ */

/* The last line of text (without its newline), into buf. */
static void last_line(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text);
    while (n && text[n - 1] == '\n')
        n--;
    size_t s = n;
    while (s && text[s - 1] != '\n')
        s--;
    snprintf(buf, len, "%.*s", (int)(n - s), text + s);
}

static void test_markdown(void **state)
{
    (void)state;
    fake_table base, nw;
    make_pair(&base, &nw);
    bb_compare c = {.base_name = "old", .new_name = "new"};
    bb_err e = {0};
    char *md = NULL, last[1024];
    size_t len = 0;
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.05, &e), 0);
    assert_int_equal(bb_compare_markdown(&c, &md, &len, &e), 0);
    assert_int_equal(strlen(md), len);
    assert_non_null(strstr(md, "| resnet18 | 1 | batchbench/cpu/fp32/features/2t |"));
    assert_non_null(strstr(md, "| 1.200 ["));
    assert_non_null(strstr(md, "**slower, fails the gate**"));
    assert_non_null(strstr(md, "slower, within 5%"));
    assert_non_null(strstr(md, "| faster |"));
    assert_non_null(strstr(md, "| no significant change |"));
    assert_non_null(strstr(md, "resnet50, batch 8, batchbench/cpu/fp32/features/2t: only in NEW"));
    assert_non_null(strstr(md, "The hosts differ"));
    assert_non_null(strstr(md, "4 compared: 2 slower (1 beyond the threshold), 1 faster, 1 unchanged"));
    last_line(md, last, sizeof last);
    assert_non_null(strstr(last, "Gate: FAILED"));
    assert_non_null(strstr(last, "resnet18 batch 1 (batchbench/cpu/fp32/features/2t) 1.200x"));
    assert_null(strstr(last, "batch 2"));
    free(md);
    bb_compare_free(&c);
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.5, &e), 0);
    assert_int_equal(bb_compare_markdown(&c, &md, &len, &e), 0);
    last_line(md, last, sizeof last);
    assert_non_null(strstr(last, "Gate: passed"));
    assert_non_null(strstr(last, "50%"));
    free(md);
    bb_compare_free(&c);
}

static void test_chart_files(void **state)
{
    (void)state;
    fake_table base, nw;
    make_pair(&base, &nw);
    bb_compare c = {.base_name = "old", .new_name = "new"};
    bb_figures figs = {0};
    bb_err e = {0};
    char dir[] = "/tmp/bb_compare_test_XXXXXX", stem[64], path[80];
    assert_non_null(mkdtemp(dir));
    snprintf(stem, sizeof stem, "%s/compare", dir);
    assert_int_equal(bb_compare_run(&c, &base.t, &nw.t, 0.05, &e), 0);
    assert_int_equal(bb_compare_chart(&c, stem, BB_FMT_PNG | BB_FMT_SVG, &figs, &e), 0);
    assert_int_equal(figs.n_paths, 2);
    snprintf(path, sizeof path, "%s.png", stem);
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = {0};
    assert_non_null(f);
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    snprintf(path, sizeof path, "%s.svg", stem);
    char *buf = calloc(1 << 22, 1);
    assert_non_null(buf);
    assert_non_null(f = fopen(path, "rb"));
    assert_true(fread(buf, 1, (1 << 22) - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(buf, ">resnet18, batch 1</text>")); /* one setup: labels without it */
    assert_non_null(strstr(buf, "gate FAILED"));
    free(buf);
    for (int i = 0; i < figs.n_paths; i++)
        unlink(figs.paths[i]);
    rmdir(dir);
    bb_figures_free(&figs);
    bb_compare_free(&c);
    bb_plot_release();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_rule),      cmocka_unit_test(test_same_config_ignores_host),
        cmocka_unit_test(test_match_and_verdicts), cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_repeat_in_one_folder), cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_chart_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

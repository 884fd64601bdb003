/*
 * test_serve_sim.c — unit tests for src/report/serve_sim.c (the simulated
 * dynamic-batching server) and src/report/slo.c (the report's "Serving
 * under a p99 target" section).
 *
 * Why this file exists: the section tells a service owner which max batch
 * size and timeout to deploy, so the simulation behind it is checked
 * against queueing theory where theory has closed forms: with B = 1 and
 * T = 0 the server is a single-server FIFO queue, M/M/1 for exponential
 * service times (sojourn ~ Exp(mu - lambda): mean 1/(mu - lambda), p99
 * ln(100)/(mu - lambda)) and M/D/1 for a constant one (mean wait
 * rho / (2 mu (1 - rho)), Pollaczek-Khinchine); with batching, the limits
 * (a light load waits out the timeout, a heavy one fills every batch), the
 * capacity, padding where the sweep lacks a size, batches after the server
 * idled drawn from the idle levels around the gap, and determinism. The
 * section is checked on hand-built tables whose answer is clear.
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
#include "report/serve_sim.h"
#include "report/slo.h"
#include "unit/pseudo_noise.h"

#define N_EXP 100000

static void check_rel(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol * fabs(want)))
        fail_msg("%s: got %.6g, want %.6g (within %.0f%%)", what, got, want, tol * 100);
}

static void check_has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("the text lacks \"%s\":\n%s", part, text);
}

/* n exponential draws of mean `mean`; returns their sample mean. */
static double exp_sample(double *x, int n, double mean)
{
    uint64_t st = 12345;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += x[i] = -mean * log(1.0 - (bb_test_noise(&st) + 1.0) / 2.0);
    return sum / n;
}

static bb_sim_config one_size(const bb_sim_sample *s, int max_batch, double timeout_s, double rate, int64_t n)
{
    return (bb_sim_config){.measured = s, .n_measured = 1, .max_batch = max_batch, .timeout_s = timeout_s,
                           .rate = rate, .arrivals = BB_ARRIVALS_POISSON, .n_requests = n, .warmup = -1, .seed = 42};
}

/* ---- queueing theory ------------------------------------------------------------ */

static void test_mm1(void **state)
{
    (void)state;
    double *x = malloc(sizeof *x * N_EXP);
    assert_non_null(x);
    double mu = 1.0 / exp_sample(x, N_EXP, 1e-3); /* the sampler's own service rate, ~1000/s */
    bb_sim_sample s = {1, x, N_EXP, 0};
    const double rho[] = {0.5, 0.8};
    for (int i = 0; i < 2; i++) {
        double lambda = rho[i] * mu;
        bb_sim_config c = one_size(&s, 1, 0, lambda, 1000000);
        bb_sim_result r;
        assert_int_equal(bb_sim_run(&c, &r), 0);
        check_rel(r.mean_s, 1 / (mu - lambda), 0.03, "M/M/1 mean sojourn");
        check_rel(r.p99_s, log(100) / (mu - lambda), 0.05, "M/M/1 p99 sojourn");
        check_rel(r.utilisation, rho[i], 0.03, "M/M/1 utilisation");
        check_rel(r.throughput, lambda, 0.02, "M/M/1 throughput");
        check_rel(r.mean_batch, 1, 1e-12, "M/M/1 batch size");
        assert_int_equal(r.padded, 0);
    }
    free(x);
}

static void test_md1(void **state)
{
    (void)state;
    double s1 = 1e-3, mu = 1 / s1;
    bb_sim_sample s = {1, &s1, 1, 0};
    const double rho[] = {0.5, 0.8};
    for (int i = 0; i < 2; i++) {
        bb_sim_config c = one_size(&s, 1, 0, rho[i] * mu, 1000000);
        bb_sim_result r;
        assert_int_equal(bb_sim_run(&c, &r), 0);
        check_rel(r.mean_s - s1, rho[i] / (2 * mu * (1 - rho[i])), 0.03, "M/D/1 mean wait");
    }
}

/* ---- batching --------------------------------------------------------------------- */

static void test_batching_limits(void **state)
{
    (void)state;
    double s8 = 0.010, T = 0.050;
    bb_sim_sample s = {8, &s8, 1, 0};
    bb_sim_result r;
    bb_sim_config c = one_size(&s, 8, T, 1.0, 0); /* 1/s: another request within T only 5% of the time */
    assert_int_equal(bb_sim_run(&c, &r), 0);
    check_rel(r.p50_s, T + s8, 1e-9, "a light load waits out the timeout");
    assert_true(r.mean_batch < 1.1);
    assert_true(r.padded); /* batches of 1..7 run at size 8's time */
    c = one_size(&s, 8, 1.0, 700, 0);           /* capacity 800/s */
    assert_int_equal(bb_sim_run(&c, &r), 0);
    assert_true(r.mean_batch > 7.99);
    check_rel(r.utilisation, 700.0 / 800.0, 0.03, "a heavy load fills every batch");
    check_rel(bb_sim_capacity(&s, 1, 8), 800, 1e-12, "capacity B / s");
    assert_true(bb_sim_capacity(&s, 1, 9) == 0); /* beyond the largest measured size */
    c.max_batch = 9;
    assert_int_equal(bb_sim_run(&c, &r), -1);
}

static void test_max_rate_monotone_and_seeded(void **state)
{
    (void)state;
    double *x = malloc(sizeof *x * N_EXP);
    assert_non_null(x);
    exp_sample(x, N_EXP, 4e-3);
    bb_sim_sample s = {4, x, N_EXP, 0};
    bb_sim_config c = one_size(&s, 4, 0.002, 0, 4000);
    const double targets[] = {0.010, 0.015, 0.020, 0.040, 0.080};
    double prev = 0, rate, again, grid[BB_SIM_GRID - 1];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bb_sim_max_rate(&c, targets[i], &rate, grid), 0);
        assert_true(rate >= prev);
        assert_true(rate < bb_sim_capacity(&s, 1, 4));
        prev = rate;
    }
    assert_true(prev > 0.5 * bb_sim_capacity(&s, 1, 4));
    assert_int_equal(bb_sim_max_rate(&c, 0.020, &rate, NULL), 0);
    assert_int_equal(bb_sim_max_rate(&c, 0.020, &again, NULL), 0);
    assert_true(rate == again); /* the same seed, the same answer */
    assert_int_equal(bb_sim_max_rate(&c, 1e-4, &rate, NULL), 0);
    assert_true(rate == 0); /* below any service time: nothing meets it */
    bb_sim_result a, b;
    c.rate = 500;
    assert_int_equal(bb_sim_run(&c, &a), 0);
    assert_int_equal(bb_sim_run(&c, &b), 0);
    assert_true(a.p50_s == b.p50_s && a.p90_s == b.p90_s && a.p99_s == b.p99_s && a.mean_s == b.mean_s);
    assert_true(a.throughput == b.throughput && a.utilisation == b.utilisation && a.mean_batch == b.mean_batch);
    double p99;
    assert_int_equal(bb_sim_p99(&c, &p99), 0);
    assert_true(p99 == a.p99_s); /* by selection, the same value as sorted */
    free(x);
}

static void test_padding(void **state)
{
    (void)state;
    double t1 = 0.001, t4 = 0.004, t8 = 0.008;
    bb_sim_sample m[] = {{1, &t1, 1, 0}, {4, &t4, 1, 0}, {8, &t8, 1, 0}};
    assert_int_equal(bb_sim_service_batch(m, 3, 8, 1), 1);
    assert_int_equal(bb_sim_service_batch(m, 3, 8, 2), 4);
    assert_int_equal(bb_sim_service_batch(m, 3, 8, 5), 8);
    assert_int_equal(bb_sim_service_batch(m, 3, 4, 3), 4);
    assert_int_equal(bb_sim_service_batch(m, 3, 16, 1), 0); /* not a candidate */
    assert_int_equal(bb_sim_pads(m, 3, 1), 0);
    assert_int_equal(bb_sim_pads(m, 3, 4), 1);
    /* uniform arrivals every 10 ms, T = 15 ms: batches of exactly 2, run at
     * size 4's 4 ms: latencies 19 and 9 ms */
    bb_sim_config c = {.measured = m, .n_measured = 3, .max_batch = 8, .timeout_s = 0.015, .rate = 100,
                       .arrivals = BB_ARRIVALS_UNIFORM, .n_requests = 1000, .warmup = 10, .seed = 1};
    bb_sim_result r;
    assert_int_equal(bb_sim_run(&c, &r), 0);
    check_rel(r.mean_batch, 2, 1e-12, "batches of 2");
    check_rel(r.p99_s, 0.019, 1e-9, "the later request of a pair");
    check_rel(r.p50_s, 0.014, 1e-9, "the median between 9 and 19 ms");
    assert_int_equal(r.padded, 1);
}

/* ---- batches after the server idled ------------------------------------------------ */

/* B = 1, T = 0, uniform arrivals every 100 ms: the server idles ~100 ms
 * before each batch. Back to back a batch takes 1 ms. */
static bb_sim_config idle_config(const bb_sim_sample *warm, const bb_sim_sample *after, int n_after, double rate)
{
    return (bb_sim_config){.measured = warm, .n_measured = 1, .max_batch = 1, .timeout_s = 0, .rate = rate,
                           .arrivals = BB_ARRIVALS_UNIFORM, .n_requests = 20000, .warmup = 10, .seed = 3,
                           .after_idle = after, .n_after_idle = n_after};
}

static void test_after_idle(void **state)
{
    (void)state;
    double t_warm = 0.001, t20 = 0.003, t50 = 0.002, t200 = 0.004;
    bb_sim_sample warm = {1, &t_warm, 1, 0};
    bb_sim_result r;
    /* past the longest measured idle time (20 ms): every batch is cold */
    bb_sim_sample one[] = {{1, &t20, 1, 0.020}};
    bb_sim_config c = idle_config(&warm, one, 1, 10);
    assert_int_equal(bb_sim_run(&c, &r), 0);
    check_rel(r.p50_s, t20, 1e-9, "a batch after 100 ms idle draws the 20 ms level");
    /* between two levels (50 ms: 2 ms, 200 ms: 4 ms) the gap of ~97.5 ms
     * mixes them: 4 ms with probability (gap - 50) / 150 */
    bb_sim_sample two[] = {{1, &t200, 1, 0.200}, {1, &t50, 1, 0.050}, {2, &t200, 1, 0.010}};
    c = idle_config(&warm, two, 3, 10);
    assert_int_equal(bb_sim_run(&c, &r), 0);
    double p = (0.100 - 0.0026 - 0.050) / 0.150; /* the gap: 100 ms less the previous batch's ~2.6 ms */
    check_rel(r.mean_s, t50 + p * (t200 - t50), 0.02, "mixed between the levels around the gap");
    /* a busy server (gaps of ~0.11 ms, far below the lowest level) runs
     * back-to-back times, almost always */
    c = idle_config(&warm, one, 1, 900);
    assert_int_equal(bb_sim_run(&c, &r), 0);
    assert_true(r.mean_s < 1.2e-3); /* a rare cold batch (p ~ 0.11/20) delays the ~18 after it */
    check_rel(r.p50_s, t_warm, 1e-9, "a busy server runs back-to-back times");
    /* idle levels of another batch size do not apply; without any, all warm */
    bb_sim_sample other[] = {{2, &t20, 1, 0.020}};
    c = idle_config(&warm, other, 1, 10);
    assert_int_equal(bb_sim_run(&c, &r), 0);
    check_rel(r.mean_s, t_warm, 1e-9, "batch 2's idle times are not batch 1's");
    /* an after-idle sample must say its idle time */
    bb_sim_sample bad[] = {{1, &t20, 1, 0}};
    c = idle_config(&warm, bad, 1, 10);
    assert_int_equal(bb_sim_run(&c, &r), -1);
    c = idle_config(&warm, NULL, 1, 10);
    assert_int_equal(bb_sim_run(&c, &r), -1);
}

/* A batch's gap since its prepared size last ran (the default) or since the
 * server was last free (gap_since_free): the same with one prepared size;
 * with two that alternate on a busy server, the first counts the other
 * size's batches as idle time and draws cold times far more often. */
static void test_gap_modes(void **state)
{
    (void)state;
    double t_warm = 0.001, t_cold = 0.004;
    bb_sim_sample warm = {1, &t_warm, 1, 0};
    bb_sim_sample cold[] = {{1, &t_cold, 1, 0.005}, {2, &t_cold, 1, 0.005}};
    bb_sim_result a, b;
    bb_sim_config c = idle_config(&warm, cold, 1, 10);
    assert_int_equal(bb_sim_run(&c, &a), 0);
    c.gap_since_free = 1;
    assert_int_equal(bb_sim_run(&c, &b), 0);
    assert_true(a.p50_s == b.p50_s && a.p99_s == b.p99_s && a.mean_s == b.mean_s); /* B = 1: the same gaps */
    /* B = 2, T = 0, a request every 0.7 ms: batches of 1 and 2 alternate,
     * the server rarely idles (gaps since free < 0.7 ms), but a size last
     * ran one or more batches ago (1-3 ms) */
    bb_sim_sample both[] = {{1, &t_warm, 1, 0}, {2, &t_warm, 1, 0}};
    c = (bb_sim_config){.measured = both, .n_measured = 2, .max_batch = 2, .timeout_s = 0, .rate = 1.0 / 0.0007,
                        .arrivals = BB_ARRIVALS_UNIFORM, .n_requests = 20000, .warmup = 100, .seed = 5,
                        .after_idle = cold, .n_after_idle = 2};
    assert_int_equal(bb_sim_run(&c, &a), 0);
    c.gap_since_free = 1;
    assert_int_equal(bb_sim_run(&c, &b), 0);
    print_message("gap since size: mean %.3f ms, batch %.2f, util %.3f; since free: mean %.3f ms, batch %.2f, "
                  "util %.3f\n", a.mean_s * 1e3, a.mean_batch, a.utilisation, b.mean_s * 1e3, b.mean_batch,
                  b.utilisation);
    assert_true(b.mean_s < 2.5e-3);     /* mostly warm: about a batch time and a wait */
    assert_true(a.mean_s > 2 * b.mean_s); /* cold draws push the queue up */
}

/* ---- the report section on hand-built tables -------------------------------------- */

#define N_TIMES 200

typedef struct {
    bb_table t;
    bb_row rows[4];
    bb_setup setup;
    int64_t batches[4];
    char models[1][BB_MODEL_NAME_LEN];
    double times[4][N_TIMES];
} fake_table;

/* mobilenet_v2 at batch 1, 2, 4, 8: 10, 11, 12, 14 ms per batch (+-2%):
 * capacities 100, 182, 333 and 571 items/s. */
static void fake_sweep(fake_table *f)
{
    memset(f, 0, sizeof *f);
    const int64_t b[] = {1, 2, 4, 8};
    const double ms[] = {10, 11, 12, 14};
    uint64_t st = 7;
    snprintf(f->models[0], sizeof f->models[0], "mobilenet_v2");
    for (int i = 0; i < 4; i++) {
        bb_row *r = &f->rows[i];
        f->batches[i] = b[i];
        for (int k = 0; k < N_TIMES; k++)
            f->times[i][k] = ms[i] * 1e-3 * (1 + 0.02 * bb_test_noise(&st));
        snprintf(r->model, sizeof r->model, "mobilenet_v2");
        snprintf(r->family, sizeof r->family, "conv");
        snprintf(r->status, sizeof r->status, "ok");
        r->batch_size = b[i], r->has_stats = 1, r->times_s = f->times[i], r->n_times = N_TIMES, r->setup = 0;
    }
    snprintf(f->setup.engine, sizeof f->setup.engine, "batchbench");
    snprintf(f->setup.device, sizeof f->setup.device, "cpu");
    snprintf(f->setup.host, sizeof f->setup.host, "h");
    f->setup.batches = f->batches, f->setup.n_batches = 4;
    f->setup.models = f->models, f->setup.n_models = 1;
    f->t.rows = f->rows, f->t.n_rows = 4, f->t.setups = &f->setup, f->t.n_setups = 1;
    f->t.margin = BB_TIE_MARGIN_DEFAULT;
}

static char *section(const bb_table *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    bb_report_opts o = {0};
    bb_slo_sections(f, t, &o);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_section_choice(void **state)
{
    (void)state;
    fake_table *f = malloc(sizeof *f);
    assert_non_null(f);
    fake_sweep(f);
    f->t.slo_p99_s = 0.100, f->t.slo_rates[0] = 100, f->t.slo_rates[1] = 200, f->t.n_slo_rates = 2;
    f->t.slo_timeouts_s[0] = 0.005, f->t.n_slo_timeouts = 1;
    bb_slo_eval e;
    assert_int_equal(bb_slo_evaluate(&f->t, 0, "mobilenet_v2", &e), 0);
    assert_int_equal(e.n_b, 4);
    assert_int_equal(e.chosen_b, 3); /* B = 8: the most headroom */
    assert_int_equal(e.chosen_t, 0);
    assert_true(bb_slo_at(&e, 3, 0)->max_rate > 400 && bb_slo_at(&e, 3, 0)->max_rate < 571.5);
    assert_true(bb_slo_at(&e, 0, 0)->max_rate < 100); /* B = 1: 100/s is its capacity */
    assert_true(isinf(bb_slo_at(&e, 0, 0)->p99_at[1]));
    char *text = section(&f->t);
    check_has(text, "## Serving under a p99 target");
    check_has(text, "| **8** | 5 |");
    check_has(text, "use max batch **8** with timeout **5 ms**");
    check_has(text, "one server");
    check_has(text, "No batch times after idle were measured");
    bb_slo_eval_free(&e);
    free(text);
    f->t.slo_p99_s = 0.005; /* below every batch time: nothing meets it */
    text = section(&f->t);
    check_has(text, "No setting meets the 5 ms p99 target");
    free(text);
    free(f);
}

static void test_section_off_and_padding(void **state)
{
    (void)state;
    fake_table *f = malloc(sizeof *f);
    assert_non_null(f);
    fake_sweep(f);
    char *text = section(&f->t); /* no --slo-p99: nothing */
    assert_string_equal(text, "");
    free(text);
    f->t.slo_p99_s = 0.5, f->t.slo_rates[0] = 50, f->t.n_slo_rates = 1;
    f->t.slo_timeouts_s[0] = 0, f->t.n_slo_timeouts = 1;
    text = section(&f->t);
    check_has(text, "lacks batch sizes 3, 5, 6 and 7");
    free(text);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mm1),
        cmocka_unit_test(test_md1),
        cmocka_unit_test(test_batching_limits),
        cmocka_unit_test(test_max_rate_monotone_and_seeded),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_after_idle),
        cmocka_unit_test(test_gap_modes),
        cmocka_unit_test(test_section_choice),
        cmocka_unit_test(test_section_off_and_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

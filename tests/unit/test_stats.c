/*
 * test_stats.c — unit tests for src/bench/stats.c.
 *
 * Why this file exists: every number a result file reports (median, spread,
 * percentiles, the median's confidence interval) comes from
 * bb_stats_compute, and every "b is x% slower than a" from bb_ratio_compute
 * (src/bench/ratio.c), so both are checked against values computed
 * independently. tests/stats/check_stats.py compares many more random
 * samples with NumPy/SciPy.
 *
 * Expected values were obtained with NumPy 1.24.2 (/usr/bin/python3):
 *   np.median(x), x.mean(), x.std(ddof=1), x.min(), x.max(),
 *   np.percentile(x, 5), np.percentile(x, 95), x.std(ddof=1) / x.mean()
 * and the CI ranks with exact integer binomial sums in Python
 * (math.comb; the largest j with sum_{i<j} C(n,i) <= 0.025 * 2^n, k = n+1-j).
 * p50/p90/p99: np.percentile(x, [50, 90, 99]). Ratios with SciPy 1.10.1:
 * exp(np.median(d)) of d = np.subtract.outer(np.log(b), np.log(a)), the
 * Moses ranks with scipy.stats.norm.ppf(0.975), and
 * scipy.stats.mannwhitneyu(b, a, alternative='two-sided',
 * method='asymptotic', use_continuity=True) for U and p.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/ratio.h"
#include "stats/stats.h"

typedef struct {
    double median, mean, std, min, max, p5, p95, ci_lo, ci_hi, cv;
} expected;

static void check_close(double got, double want, const char *what)
{
    double tol = 1e-12 * fmax(1.0, fabs(want));
    if (fabs(got - want) > tol)
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static void check_stats(const double *x, int n, const expected *e)
{
    double *copy = malloc(sizeof(double) * (size_t)n);
    assert_non_null(copy);
    memcpy(copy, x, sizeof(double) * (size_t)n);
    bb_stats s;
    assert_int_equal(bb_stats_compute(copy, n, &s), 0);
    assert_memory_equal(copy, x, sizeof(double) * (size_t)n); /* input untouched */
    free(copy);
    assert_int_equal(s.n, n);
    check_close(s.median, e->median, "median");
    check_close(s.mean, e->mean, "mean");
    check_close(s.std, e->std, "std");
    check_close(s.min, e->min, "min");
    check_close(s.max, e->max, "max");
    check_close(s.p5, e->p5, "p5");
    check_close(s.p95, e->p95, "p95");
    check_close(s.ci_lo, e->ci_lo, "ci_lo");
    check_close(s.ci_hi, e->ci_hi, "ci_hi");
    check_close(s.cv, e->cv, "cv");
}

/* n = 10, unsorted; CI = x_(2), x_(9) of the sorted sample. */
static void test_sample_n10(void **state)
{
    (void)state;
    const double x[] = {0.105, 0.101, 0.099, 0.120, 0.102, 0.098, 0.103, 0.110, 0.100, 0.104};
    const expected e = {0.1025, 0.1042, 0.006528569691917379, 0.098, 0.12, 0.09845000000000001,
                        0.11549999999999999, 0.099, 0.11, 0.06265421969210537};
    check_stats(x, 10, &e);
}

/* n = 20 with one outlier; CI = x_(6), x_(15). */
static void test_sample_n20(void **state)
{
    (void)state;
    const double x[] = {0.0213, 0.0198, 0.0205, 0.0251, 0.0201, 0.0199, 0.0207, 0.0210, 0.0202, 0.0196,
                        0.0300, 0.0204, 0.0203, 0.0209, 0.0200, 0.0197, 0.0206, 0.0211, 0.0208, 0.0212};
    const expected e = {0.02055, 0.02116, 0.00237960633630638, 0.0196, 0.03, 0.019694999999999997,
                        0.025345000000000003, 0.0201, 0.021, 0.11245776636608601};
    check_stats(x, 20, &e);
}

/* n = 3 < 6: no pair of ranks reaches 95%, so the CI is min..max. */
static void test_sample_small(void **state)
{
    (void)state;
    const double x[] = {3.5, 1.25, 2.0};
    const expected e = {2.0, 2.25, 1.14564392373896, 1.25, 3.5, 1.325, 3.3499999999999996, 1.25, 3.5,
                        0.5091750772173156};
    check_stats(x, 3, &e);
}

static void test_single_value(void **state)
{
    (void)state;
    const double x[] = {0.25};
    const expected e = {0.25, 0.25, 0.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.0};
    check_stats(x, 1, &e);
}

/* Even n: the median is the mean of the two middle values (numpy). */
static void test_two_values(void **state)
{
    (void)state;
    const double x[] = {2.0, 1.0};
    bb_stats s;
    assert_int_equal(bb_stats_compute(x, 2, &s), 0);
    check_close(s.median, 1.5, "median");
    check_close(s.p5, 1.05, "p5");   /* np.percentile([1,2], 5) */
    check_close(s.p95, 1.95, "p95"); /* np.percentile([1,2], 95) */
    check_close(s.std, sqrt(0.5), "std");
}

/* Ranks of the CI for many n, from exact integer binomial sums (Python). */
static void test_ci_ranks(void **state)
{
    (void)state;
    static const int table[][2] = {{1, 0},   {2, 0},    {5, 0},      {6, 1},       {7, 1},         {8, 1},
                                   {9, 2},   {10, 2},   {11, 2},     {20, 6},      {50, 18},       {100, 40},
                                   {1000, 469}, {10000, 4902}, {100000, 49690}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        int n = table[i][0], j = table[i][1];
        if (bb_stats_ci_rank(n) != j)
            fail_msg("n=%d: rank %d, want %d", n, bb_stats_ci_rank(n), j);
        double *x = malloc(sizeof(double) * (size_t)n);
        assert_non_null(x);
        for (int k = 0; k < n; k++) /* x = n, n-1, ..., 1: value == rank */
            x[k] = (double)(n - k);
        bb_stats s;
        assert_int_equal(bb_stats_compute(x, n, &s), 0);
        assert_true(s.ci_lo == (j ? (double)j : 1.0));
        assert_true(s.ci_hi == (j ? (double)(n + 1 - j) : (double)n));
        free(x);
    }
}

/* P(j <= B <= k-1), B ~ Binomial(n, 1/2), by integer counting (small n). */
static double coverage(int n, int j, int k)
{
    double c = 1.0, sum = 0.0;
    for (int i = 0; i < k; i++) {
        if (i >= j)
            sum += c;
        c = c * (double)(n - i) / (double)(i + 1);
    }
    return sum / ldexp(1.0, n);
}

/* n = 10: ranks 2 and 9 cover 97.9%; the next narrower pair (3, 8) does not reach 95%. */
static void test_ci_coverage(void **state)
{
    (void)state;
    check_close(coverage(10, 2, 9), 0.978515625, "coverage n=10");
    assert_true(coverage(10, 3, 8) < 0.95);
    check_close(coverage(20, 6, 15), 0.9586105346679688, "coverage n=20");
    assert_true(coverage(20, 7, 14) < 0.95);
    assert_true(coverage(5, 1, 5) < 0.95); /* why n < 6 falls back to min..max */
}

static void test_bad_input(void **state)
{
    (void)state;
    double x[] = {1.0, NAN, 2.0};
    bb_stats s;
    assert_int_equal(bb_stats_compute(x, 0, &s), -1);
    assert_int_equal(bb_stats_compute(NULL, 3, &s), -1);
    assert_int_equal(bb_stats_compute(x, 3, &s), -1);
    x[1] = INFINITY;
    assert_int_equal(bb_stats_compute(x, 3, &s), -1);
}

/* p50 is the median; p90/p99 follow np.percentile's 'linear' method. */
static void test_high_percentiles(void **state)
{
    (void)state;
    const double x10[] = {0.105, 0.101, 0.099, 0.120, 0.102, 0.098, 0.103, 0.110, 0.100, 0.104};
    bb_stats s;
    assert_int_equal(bb_stats_compute(x10, 10, &s), 0);
    assert_true(s.p50 == s.median);
    check_close(s.p50, 0.1025, "p50 n=10");
    check_close(s.p90, 0.111, "p90 n=10");
    check_close(s.p99, 0.1191, "p99 n=10");
    double x100[100];
    for (int i = 0; i < 100; i++) /* 100, 99, ..., 1 */
        x100[i] = (double)(100 - i);
    assert_int_equal(bb_stats_compute(x100, 100, &s), 0);
    assert_true(s.p50 == s.median);
    check_close(s.p50, 50.5, "p50 n=100");
    check_close(s.p90, 90.10000000000001, "p90 n=100");
    check_close(s.p99, 99.01, "p99 n=100");
    const double one[] = {0.25};
    assert_int_equal(bb_stats_compute(one, 1, &s), 0);
    assert_true(s.p50 == 0.25 && s.p90 == 0.25 && s.p99 == 0.25);
}

/* n (1 - p) >= 1: the smallest supported n is exact despite 1 - 0.9 rounding. */
static void test_supports(void **state)
{
    (void)state;
    static const struct {
        int n;
        double p;
        int want;
    } table[] = {{100, 0.99, 1}, {99, 0.99, 0}, {1000, 0.99, 1}, {10, 0.90, 1}, {9, 0.90, 0},
                 {20, 0.95, 1},  {19, 0.95, 0}, {2, 0.5, 1},     {1, 0.5, 0},   {1, 0.0, 1},
                 {5, 1.0, 0},    {0, 0.5, 0},   {-3, 0.5, 0},    {100, -0.1, 0}, {100, 1.5, 0},
                 {100, NAN, 0}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (bb_stats_supports(table[i].n, table[i].p) != table[i].want)
            fail_msg("bb_stats_supports(%d, %g) != %d", table[i].n, table[i].p, table[i].want);
}

static const double ratio_a[] = {1.0, 1.2, 0.9, 1.1, 1.05, 0.95, 1.15, 1.02, 0.98, 1.08};

static void check_ratio(const double *a, int na, const double *b, int nb, const bb_ratio *want)
{
    bb_ratio r;
    assert_int_equal(bb_ratio_compute(a, na, b, nb, &r), 0);
    assert_int_equal(r.n_a, want->n_a);
    assert_int_equal(r.n_b, want->n_b);
    check_close(r.ratio, want->ratio, "ratio");
    check_close(r.ci_lo, want->ci_lo, "ci_lo");
    check_close(r.ci_hi, want->ci_hi, "ci_hi");
    check_close(r.ratio_of_medians, want->ratio_of_medians, "ratio_of_medians");
    assert_true(r.u == want->u); /* a multiple of 0.5: exact */
    check_close(r.p_value, want->p_value, "p_value");
}

/* b = 1.1 a exactly: the ratio is 1.1 and its CI contains it. */
static void test_ratio_scaled(void **state)
{
    (void)state;
    double b[10];
    for (int i = 0; i < 10; i++)
        b[i] = 1.1 * ratio_a[i];
    const bb_ratio want = {.n_a = 10, .n_b = 10, .ratio = 1.1, .ci_lo = 1.0043478260869567,
                           .ci_hi = 1.2047619047619047, .ratio_of_medians = 1.1, .u = 77.5,
                           .p_value = 0.04117376752710334};
    check_ratio(ratio_a, 10, b, 10, &want);
}

/* The same sample twice: ratio 1, U = n^2 / 2, p = 1 (clipped), CI around 1. */
static void test_ratio_identical(void **state)
{
    (void)state;
    const bb_ratio want = {.n_a = 10, .n_b = 10, .ratio = 1.0, .ci_lo = 0.9130434782608696,
                           .ci_hi = 1.0952380952380951, .ratio_of_medians = 1.0, .u = 50.0, .p_value = 1.0};
    check_ratio(ratio_a, 10, ratio_a, 10, &want);
}

/* b = 2 a: every b is above every a; significant, and the CI excludes 1. */
static void test_ratio_separated(void **state)
{
    (void)state;
    double b[10];
    for (int i = 0; i < 10; i++)
        b[i] = 2.0 * ratio_a[i];
    const bb_ratio want = {.n_a = 10, .n_b = 10, .ratio = 2.0, .ci_lo = 1.8260869565217392,
                           .ci_hi = 2.1904761904761902, .ratio_of_medians = 2.0, .u = 100.0,
                           .p_value = 0.00018267179110955002};
    check_ratio(ratio_a, 10, b, 10, &want);
    bb_ratio r;
    assert_int_equal(bb_ratio_compute(b, 10, ratio_a, 10, &r), 0); /* the other way round */
    check_close(r.ratio, 0.5, "ratio a/b");
    assert_true(r.u == 0.0 && r.ci_hi < 1.0 && r.p_value < BB_ALPHA);
    check_close(r.p_value, want.p_value, "p symmetric");
}

/* n_a = 1: K < 1, so the CI is the whole range of d; every value equal: p = 1. */
static void test_ratio_tiny(void **state)
{
    (void)state;
    const double one[] = {1.0}, b4[] = {2.0, 3.0, 4.0, 5.0};
    const bb_ratio want = {.n_a = 1, .n_b = 4, .ratio = 3.464101615137754, .ci_lo = 2.0, .ci_hi = 5.0,
                           .ratio_of_medians = 3.5, .u = 4.0, .p_value = 0.2888443663464849};
    check_ratio(one, 1, b4, 4, &want);
    const double two[] = {2.0}, b3[] = {1.0, 2.0, 4.0};
    const bb_ratio want3 = {.n_a = 1, .n_b = 3, .ratio = 1.0, .ci_lo = 0.5, .ci_hi = 2.0,
                            .ratio_of_medians = 1.0, .u = 1.5, .p_value = 1.0};
    check_ratio(two, 1, b3, 3, &want3);
    const double e5[] = {0.02, 0.02, 0.02, 0.02, 0.02}, e7[] = {0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02};
    const bb_ratio want_eq = {.n_a = 5, .n_b = 7, .ratio = 1.0, .ci_lo = 1.0, .ci_hi = 1.0,
                              .ratio_of_medians = 1.0, .u = 17.5, .p_value = 1.0};
    check_ratio(e5, 5, e7, 7, &want_eq);
    const bb_ratio want1 = {.n_a = 1, .n_b = 1, .ratio = 2.0, .ci_lo = 2.0, .ci_hi = 2.0,
                            .ratio_of_medians = 2.0, .u = 1.0, .p_value = 1.0};
    check_ratio(one, 1, two, 1, &want1);
}

/* A deterministic lognormal-ish sample of n values around scale. */
static double *make_sample(int n, double scale, unsigned seed)
{
    double *x = malloc(sizeof(double) * (size_t)n);
    assert_non_null(x);
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = scale * exp(0.05 * ((double)(seed >> 8) / 16777216.0 - 0.5));
    }
    return x;
}

/* Above BB_RATIO_MAX_N the samples are thinned: n_a/n_b still report the
 * sizes given, the input is not modified, and a 5% shift is found. The
 * same call twice gives the same bits. */
static void test_ratio_large(void **state)
{
    (void)state;
    int na = 3000, nb = 2500;
    double *a = make_sample(na, 0.01, 1), *b = make_sample(nb, 0.0105, 2);
    double *a0 = malloc(sizeof(double) * (size_t)na);
    assert_non_null(a0);
    memcpy(a0, a, sizeof(double) * (size_t)na);
    bb_ratio r1, r2;
    assert_int_equal(bb_ratio_compute(a, na, b, nb, &r1), 0);
    assert_int_equal(bb_ratio_compute(a, na, b, nb, &r2), 0);
    assert_memory_equal(&r1, &r2, sizeof r1);
    assert_memory_equal(a, a0, sizeof(double) * (size_t)na);
    assert_int_equal(r1.n_a, na);
    assert_int_equal(r1.n_b, nb);
    assert_true(r1.u <= (double)BB_RATIO_MAX_N * BB_RATIO_MAX_N);
    assert_true(fabs(r1.ratio - 1.05) < 0.005);
    assert_true(r1.ci_lo > 1.0 && r1.ci_lo < r1.ratio && r1.ratio < r1.ci_hi);
    assert_true(r1.p_value < BB_ALPHA);
    free(a);
    free(b);
    free(a0);
}

/* Many equal values (a quantised timer) at the largest size: still fast,
 * ratio 1 and p = 1. */
static void test_ratio_all_equal_large(void **state)
{
    (void)state;
    double *x = malloc(sizeof(double) * BB_RATIO_MAX_N);
    assert_non_null(x);
    for (int i = 0; i < BB_RATIO_MAX_N; i++)
        x[i] = 0.001;
    bb_ratio r;
    assert_int_equal(bb_ratio_compute(x, BB_RATIO_MAX_N, x, BB_RATIO_MAX_N, &r), 0);
    assert_true(r.ratio == 1.0 && r.ci_lo == 1.0 && r.ci_hi == 1.0 && r.p_value == 1.0);
    free(x);
}

static void test_ratio_bad_input(void **state)
{
    (void)state;
    double a[] = {1.0, 2.0, 3.0}, b[] = {1.0, 2.0, 3.0};
    bb_ratio r = {.ratio = 42.0};
    assert_int_equal(bb_ratio_compute(NULL, 3, b, 3, &r), -1);
    assert_int_equal(bb_ratio_compute(a, 3, NULL, 3, &r), -1);
    assert_int_equal(bb_ratio_compute(a, 3, b, 3, NULL), -1);
    assert_int_equal(bb_ratio_compute(a, 0, b, 3, &r), -1);
    assert_int_equal(bb_ratio_compute(a, 3, b, -1, &r), -1);
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        b[1] = bad[i];
        assert_int_equal(bb_ratio_compute(a, 3, b, 3, &r), -1);
        assert_int_equal(bb_ratio_compute(b, 3, a, 3, &r), -1);
    }
    assert_true(r.ratio == 42.0); /* untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_n10),   cmocka_unit_test(test_sample_n20),  cmocka_unit_test(test_sample_small),
        cmocka_unit_test(test_single_value), cmocka_unit_test(test_two_values),  cmocka_unit_test(test_ci_ranks),
        cmocka_unit_test(test_ci_coverage),  cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_high_percentiles), cmocka_unit_test(test_supports),
        cmocka_unit_test(test_ratio_scaled),     cmocka_unit_test(test_ratio_identical),
        cmocka_unit_test(test_ratio_separated),  cmocka_unit_test(test_ratio_tiny),
        cmocka_unit_test(test_ratio_large),      cmocka_unit_test(test_ratio_all_equal_large),
        cmocka_unit_test(test_ratio_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

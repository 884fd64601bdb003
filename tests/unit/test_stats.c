/*
 * test_stats.c — unit tests for src/bench/stats.c.
 *
 * Why this file exists: every number a result file reports (median, spread,
 * percentiles, the median's confidence interval) comes from
 * bb_stats_compute, so it is checked against values computed independently.
 *
 * Expected values were obtained with NumPy 1.24.2 (/usr/bin/python3):
 *   np.median(x), x.mean(), x.std(ddof=1), x.min(), x.max(),
 *   np.percentile(x, 5), np.percentile(x, 95), x.std(ddof=1) / x.mean()
 * and the CI ranks with exact integer binomial sums in Python
 * (math.comb; the largest j with sum_{i<j} C(n,i) <= 0.025 * 2^n, k = n+1-j).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_n10),   cmocka_unit_test(test_sample_n20),  cmocka_unit_test(test_sample_small),
        cmocka_unit_test(test_single_value), cmocka_unit_test(test_two_values),  cmocka_unit_test(test_ci_ranks),
        cmocka_unit_test(test_ci_coverage),  cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

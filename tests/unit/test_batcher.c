/*
 * test_batcher.c — unit tests for src/serve/batcher.c: the dynamic
 * batcher's rule, the prepared batch sizes and the arrival schedule.
 *
 * Why this file exists: `batchbench serve` and the report's simulation of
 * it both follow bb_batcher_next, so a mistake there is a mistake in both
 * that no comparison between them would catch. Here the rule is checked
 * against cases worked by hand (a full batch at the B-th arrival, a
 * timeout with fewer, a busy server taking everything waiting up to B,
 * ties), against a plain FIFO single server (B = 1, T = 0: the Lindley
 * recursion), and against the invariants every dispatch must keep on a
 * random schedule; then the padding sizes and the schedule's statistics.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "serve/batcher.h"

#define EPS 1e-12

static void assert_near(double got, double want, double tol)
{
    if (fabs(got - want) > tol)
        fail_msg("got %.17g, want %.17g (+- %g)", got, want, tol);
}

/* ---- the rule ---------------------------------------------------------------- */

static void test_full_batch_at_bth_arrival(void **state)
{
    (void)state;
    const double arr[] = {0.10, 0.12, 0.15, 0.19, 0.30};
    bb_batcher b = {4, 0.5};
    bb_dispatch d = bb_batcher_next(&b, arr, 5, 0, 0.0);
    assert_int_equal(d.n, 4);
    assert_near(d.at, 0.19, EPS); /* the 4th arrival, long before the timeout */
    /* the server still busy when the 4th arrives: it starts when free */
    d = bb_batcher_next(&b, arr, 5, 0, 0.25);
    assert_int_equal(d.n, 4);
    assert_near(d.at, 0.25, EPS);
}

static void test_timeout_with_fewer(void **state)
{
    (void)state;
    const double arr[] = {0.125, 0.25, 0.5, 0.625}; /* exact binary fractions: exact deadlines */
    bb_batcher b = {4, 0.2};
    bb_dispatch d = bb_batcher_next(&b, arr, 4, 0, 0.0);
    assert_int_equal(d.n, 2); /* 0.125 and 0.25 waited; 0.5 comes after the deadline 0.325 */
    assert_near(d.at, 0.325, EPS);
    d = bb_batcher_next(&b, arr, 4, 2, 0.4); /* the rest: the schedule ends, the timeout still runs */
    assert_int_equal(d.n, 2);
    assert_near(d.at, 0.7, EPS);
    b.timeout_s = 0.125; /* the second arrives exactly at the deadline: it is in */
    d = bb_batcher_next(&b, arr, 4, 0, 0.0);
    assert_int_equal(d.n, 2);
    assert_true(d.at == 0.25);
    b.timeout_s = 0.0625; /* alone */
    d = bb_batcher_next(&b, arr, 4, 0, 0.0);
    assert_int_equal(d.n, 1);
    assert_true(d.at == 0.1875);
}

static void test_busy_server_takes_what_waits(void **state)
{
    (void)state;
    const double arr[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 2.0};
    bb_batcher b = {4, 0.01};
    bb_dispatch d = bb_batcher_next(&b, arr, 7, 0, 1.0); /* free at 1.0, six waiting */
    assert_int_equal(d.n, 4);
    assert_near(d.at, 1.0, EPS);
    d = bb_batcher_next(&b, arr, 7, 4, 1.5); /* two left waiting; 2.0 not yet */
    assert_int_equal(d.n, 2);
    assert_near(d.at, 1.5, EPS);
    b.max_batch = 8; /* fewer than B waiting, the timeout long past: at free_at with all of them */
    d = bb_batcher_next(&b, arr, 7, 0, 0.35);
    assert_int_equal(d.n, 3);
    assert_near(d.at, 0.35, EPS);
    d = bb_batcher_next(&b, arr, 7, 6, 0.0); /* idle and the request not yet there: not before it */
    assert_int_equal(d.n, 1);
    assert_near(d.at, 2.01, EPS);
}

static void test_ties(void **state)
{
    (void)state;
    const double arr[] = {1.0, 1.0, 1.0, 1.0, 1.0};
    bb_batcher b = {4, 0.0};
    bb_dispatch d = bb_batcher_next(&b, arr, 5, 0, 0.0);
    assert_int_equal(d.n, 4);
    assert_near(d.at, 1.0, EPS);
    b.max_batch = 8;
    d = bb_batcher_next(&b, arr, 5, 0, 0.0);
    assert_int_equal(d.n, 5);
    assert_near(d.at, 1.0, EPS);
}

/* B = 1, T = 0: every request alone, at max(its arrival, the previous end):
 * the Lindley recursion of a FIFO single server. */
static void test_fifo_single_server(void **state)
{
    (void)state;
    enum { N = 2000 };
    double *arr = malloc(sizeof(double) * N);
    assert_non_null(arr);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, 100.0, 7, arr, N);
    bb_batcher b = {1, 0.0};
    double free_at = 0.0, service = 0.009; /* rho 0.9: queues form */
    int queued = 0;
    for (int64_t j = 0; j < N; j++) {
        bb_dispatch d = bb_batcher_next(&b, arr, N, j, free_at);
        double want = arr[j] > free_at ? arr[j] : free_at;
        assert_int_equal(d.n, 1);
        assert_near(d.at, want, EPS);
        queued += free_at > arr[j];
        free_at = d.at + service;
    }
    assert_true(queued > N / 4); /* the busy branch was exercised */
    free(arr);
}

/* Uniform arrivals 100 ms apart, B = 4, T = 5 ms, service 6 ms: every batch
 * is one request, started 5 ms after it arrived (what test_serve.sh checks
 * of the real server). */
static void test_uniform_light_load_one_each(void **state)
{
    (void)state;
    enum { N = 50 };
    double arr[N];
    bb_arrival_schedule(BB_ARRIVALS_UNIFORM, 10.0, 0, arr, N);
    bb_batcher b = {4, 0.005};
    double free_at = 0.0;
    for (int64_t j = 0; j < N; j++) {
        bb_dispatch d = bb_batcher_next(&b, arr, N, j, free_at);
        assert_int_equal(d.n, 1);
        assert_near(d.at, arr[j] + 0.005, 1e-12);
        free_at = d.at + 0.006;
    }
}

/* On a random schedule with a service time that grows with n, every
 * dispatch keeps the rule's promises: 1 <= n <= B, its requests all
 * arrived by its start, the start not before free_at nor the oldest's
 * arrival, and a batch of fewer than B starts exactly at its deadline
 * (the oldest's arrival + T, or free_at when later) with every request
 * that arrived by then. */
static void check_invariants(int max_batch, double timeout, double rate, uint64_t seed)
{
    enum { N = 3000 };
    double *arr = malloc(sizeof(double) * N);
    assert_non_null(arr);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, rate, seed, arr, N);
    bb_batcher b = {max_batch, timeout};
    double free_at = 0.0;
    int64_t first = 0, batches = 0;
    while (first < N) {
        bb_dispatch d = bb_batcher_next(&b, arr, N, first, free_at);
        assert_true(d.n >= 1 && d.n <= max_batch && first + d.n <= N);
        assert_true(arr[first + d.n - 1] <= d.at && d.at >= free_at && d.at >= arr[first]);
        if (d.n < max_batch) {
            double deadline = fmax(arr[first] + timeout, free_at);
            assert_near(d.at, deadline, EPS);
            assert_true(first + d.n == N || arr[first + d.n] > d.at);
        } else {
            assert_true(d.at <= fmax(arr[first] + timeout, free_at) + EPS);
        }
        free_at = d.at + 0.002 + 0.001 * d.n;
        first += d.n, batches++;
    }
    assert_true(batches >= N / max_batch);
    free(arr);
}

static void test_invariants(void **state)
{
    (void)state;
    check_invariants(8, 0.005, 300.0, 1);  /* overloaded at small batches: full ones form */
    check_invariants(8, 0.005, 50.0, 2);   /* light: timeouts */
    check_invariants(48, 0.02, 2000.0, 3);
    check_invariants(1, 0.0, 100.0, 4);
    check_invariants(4, 0.0, 400.0, 5);
}

/* ---- sizes and padding ---------------------------------------------------------- */

static void test_sizes_small(void **state)
{
    (void)state;
    int64_t s[64];
    int n = bb_batcher_sizes(8, s);
    assert_int_equal(n, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(s[i], i + 1);
    for (int k = 1; k <= 8; k++)
        assert_int_equal(bb_batcher_run_size(s, n, k), k); /* never padded */
    assert_int_equal(bb_batcher_sizes(1, s), 1);
    assert_int_equal(s[0], 1);
    assert_int_equal(bb_batcher_sizes(16, s), 16);
    assert_int_equal(s[15], 16);
}

static void test_sizes_padded(void **state)
{
    (void)state;
    int64_t s[64];
    const int64_t want[] = {1, 2, 4, 8, 16, 32, 48};
    int n = bb_batcher_sizes(48, s);
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++)
        assert_int_equal(s[i], want[i]);
    assert_int_equal(bb_batcher_run_size(s, n, 1), 1);
    assert_int_equal(bb_batcher_run_size(s, n, 3), 4);
    assert_int_equal(bb_batcher_run_size(s, n, 5), 8);
    assert_int_equal(bb_batcher_run_size(s, n, 16), 16);
    assert_int_equal(bb_batcher_run_size(s, n, 17), 32);
    assert_int_equal(bb_batcher_run_size(s, n, 33), 48);
    assert_int_equal(bb_batcher_run_size(s, n, 48), 48);
    n = bb_batcher_sizes(32, s); /* a power of two: itself once */
    assert_int_equal(n, 6);
    assert_int_equal(s[4], 16);
    assert_int_equal(s[5], 32);
    n = bb_batcher_sizes(4096, s);
    assert_int_equal(n, 13);
    assert_int_equal(s[12], 4096);
    n = bb_batcher_sizes(17, s);
    assert_int_equal(n, 6);
    assert_int_equal(s[5], 17);
}

/* ---- the schedule ------------------------------------------------------------------ */

static void test_poisson_mean_gap(void **state)
{
    (void)state;
    enum { N = 100000 };
    const double rate = 250.0;
    double *a = malloc(sizeof(double) * N);
    assert_non_null(a);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, rate, 42, a, N);
    double sumsq = 0.0, prev = 0.0;
    for (int i = 0; i < N; i++) {
        double g = a[i] - prev;
        assert_true(g > 0.0);
        sumsq += g * g, prev = a[i];
    }
    double mean = a[N - 1] / N;
    assert_near(mean * rate, 1.0, 0.01);                  /* mean gap 1/R within 1% */
    assert_near(sqrt(sumsq / N - mean * mean) * rate, 1.0, 0.02); /* exponential: sd = mean */
    free(a);
}

static void test_uniform_exact(void **state)
{
    (void)state;
    enum { N = 1000 };
    double a[N];
    bb_arrival_schedule(BB_ARRIVALS_UNIFORM, 40.0, 9, a, N);
    assert_near(a[0], 0.025, 1e-15); /* the first one gap after 0 */
    for (int i = 1; i < N; i++)
        assert_near(a[i] - a[i - 1], 0.025, 1e-12);
    assert_near(a[N - 1], N * 0.025, 1e-9);
}

static void test_same_seed_same_schedule(void **state)
{
    (void)state;
    enum { N = 5000 };
    double a[N], b[N], c[N];
    bb_arrival_schedule(BB_ARRIVALS_POISSON, 100.0, 123, a, N);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, 100.0, 123, b, N);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, 100.0, 124, c, N);
    int same = 1, differ = 0;
    for (int i = 0; i < N; i++)
        same &= a[i] == b[i], differ += a[i] != c[i];
    assert_true(same);
    assert_true(differ > N - 10);
    bb_arrival_schedule(BB_ARRIVALS_POISSON, 100.0, 123, c, 10); /* a prefix is the same prefix */
    for (int i = 0; i < 10; i++)
        assert_true(c[i] == a[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_batch_at_bth_arrival),
        cmocka_unit_test(test_timeout_with_fewer),
        cmocka_unit_test(test_busy_server_takes_what_waits),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_fifo_single_server),
        cmocka_unit_test(test_uniform_light_load_one_each),
        cmocka_unit_test(test_invariants),
        cmocka_unit_test(test_sizes_small),
        cmocka_unit_test(test_sizes_padded),
        cmocka_unit_test(test_poisson_mean_gap),
        cmocka_unit_test(test_uniform_exact),
        cmocka_unit_test(test_same_seed_same_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

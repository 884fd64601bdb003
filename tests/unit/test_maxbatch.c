/*
 * test_maxbatch.c — unit tests for src/bench/maxbatch.c: the doubling and
 * bisection search behind `batchbench maxbatch`.
 *
 * Why this file exists: the search is where an off-by-one hides (the
 * answer one too small, a probe repeated, the last doubling step past
 * --max). Here it runs against fake probes, "a batch size runs iff it is
 * <= K", for K below --start, K = 1, K at and above --max, and every
 * (start, max, K) in a small grid, checking the answer is exact, that it
 * and the next batch size were both probed (the guarantee the command
 * states), and that no batch size is probed twice; then an aborting probe,
 * a non-monotonic one and bad ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/maxbatch.h"

typedef struct {
    int64_t k;        /* batch sizes <= k run */
    int64_t flaky;    /* this one fails too (0: none) */
    int abort_at;     /* abort on this call (1-based; 0: never) */
    int calls;
    int bisecting_seen; /* a bisection probe has come */
    int phase_error;    /* a doubling probe came after a bisection one */
} fake;

static bb_probe_verdict fake_probe(int64_t bs, int bisecting, void *user)
{
    fake *f = user;
    f->calls++;
    if (f->abort_at && f->calls == f->abort_at)
        return BB_PROBE_ABORT;
    f->phase_error |= f->bisecting_seen && !bisecting;
    f->bisecting_seen |= bisecting;
    return bs <= f->k && bs != f->flaky ? BB_PROBE_OK : BB_PROBE_FAILED;
}

/* The step that probed bs, or NULL. */
static const bb_maxbatch_step *probed(const bb_maxbatch_result *r, int64_t bs)
{
    for (int i = 0; i < r->n_steps; i++)
        if (r->steps[i].batch_size == bs)
            return &r->steps[i];
    return NULL;
}

/* Everything that must hold for a monotonic probe with threshold k. */
static void check_search(int64_t start, int64_t max, int64_t k)
{
    fake f = {.k = k};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(start, max, fake_probe, &f, &r), 0);
    int64_t want = k < start ? 0 : k > max ? max : k;
    assert_int_equal(r.max_ok, want);
    assert_int_equal(r.n_steps, f.calls);
    assert_false(f.phase_error);
    for (int i = 0; i < r.n_steps; i++) {
        const bb_maxbatch_step *s = &r.steps[i];
        assert_true(s->batch_size >= start && s->batch_size <= max);
        assert_int_equal(s->ok, s->batch_size <= k);
        for (int j = 0; j < i; j++)
            assert_true(r.steps[j].batch_size != s->batch_size); /* never probed twice */
    }
    if (want == 0) { /* the first probe failed: nothing else tried */
        assert_int_equal(r.n_steps, 1);
        assert_int_equal(r.min_fail, start);
    } else if (want == max && k >= max) { /* max ran: no failure */
        assert_int_equal(r.min_fail, 0);
        assert_true(probed(&r, max) && probed(&r, max)->ok);
    } else { /* the answer ran, the next one was probed and failed */
        assert_int_equal(r.min_fail, want + 1);
        assert_true(probed(&r, want) && probed(&r, want)->ok);
        assert_true(probed(&r, want + 1) && !probed(&r, want + 1)->ok);
    }
}

static void test_threshold_various(void **state)
{
    (void)state;
    static const int64_t ks[] = {1, 2, 3, 5, 7, 8, 9, 27, 100, 1000, 4095, 4096, 4097, 65535};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++)
        check_search(1, 65536, ks[i]);
}

static void test_k_is_one(void **state)
{
    (void)state;
    fake f = {.k = 1};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(1, 65536, fake_probe, &f, &r), 0);
    assert_int_equal(r.max_ok, 1);
    assert_int_equal(r.min_fail, 2);
    assert_int_equal(r.n_steps, 2); /* 1 ok, 2 failed: adjacent already, no bisection */
    assert_int_equal(r.steps[0].batch_size, 1);
    assert_int_equal(r.steps[1].batch_size, 2);
    assert_false(r.steps[1].ok);
}

static void test_k_below_start(void **state)
{
    (void)state;
    fake f = {.k = 10};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(16, 1024, fake_probe, &f, &r), 0);
    assert_int_equal(r.max_ok, 0);
    assert_int_equal(r.min_fail, 16);
    assert_int_equal(r.n_steps, 1);
    check_search(16, 1024, 10);
    check_search(1, 1024, 0); /* nothing runs at all */
}

static void test_k_at_and_above_max(void **state)
{
    (void)state;
    fake f = {.k = 1000};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(1, 1000, fake_probe, &f, &r), 0);
    assert_int_equal(r.max_ok, 1000);
    assert_int_equal(r.min_fail, 0);
    assert_int_equal(r.n_steps, 11); /* 1, 2, ..., 512, then 1000 (capped), never past max */
    assert_int_equal(r.steps[9].batch_size, 512);
    assert_int_equal(r.steps[10].batch_size, 1000);
    check_search(1, 65536, 65536);
    check_search(1, 65536, 1 << 30);
    check_search(3, 3, 3);  /* start = max */
    check_search(1, 1000, 999); /* the capped step fails: bisection between 512 and 1000 */
}

/* Every (start, max, k) in a small grid. */
static void test_grid(void **state)
{
    (void)state;
    for (int64_t start = 1; start <= 9; start++)
        for (int64_t max = start; max <= 70; max++)
            for (int64_t k = 0; k <= 80; k++)
                check_search(start, max, k);
}

/* Probes stay few: at most log2(max / start) + 1 doublings and as many bisections. */
static void test_probe_count(void **state)
{
    (void)state;
    fake f = {.k = 46341};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(1, BB_MAXBATCH_LIMIT, fake_probe, &f, &r), 0);
    assert_int_equal(r.max_ok, 46341);
    assert_true(r.n_steps <= 2 * 21);
}

static void test_abort(void **state)
{
    (void)state;
    fake f = {.k = 100, .abort_at = 3};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(1, 1000, fake_probe, &f, &r), -1);
    assert_int_equal(r.n_steps, 2); /* what ran before is kept */
    fake g = {.k = 100, .abort_at = 10}; /* in the bisection */
    assert_int_equal(bb_maxbatch_search(1, 1000, fake_probe, &g, &r), -1);
    assert_int_equal(r.n_steps, 9);
}

/* A probe that fails once below the threshold: the answer is still a
 * probed success whose next batch size was probed and failed. */
static void test_non_monotonic(void **state)
{
    (void)state;
    fake f = {.k = 20, .flaky = 16};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(1, 1000, fake_probe, &f, &r), 0);
    assert_int_equal(r.max_ok, 15); /* 16 failed in the doubling: bisection below it */
    assert_int_equal(r.min_fail, r.max_ok + 1);
    assert_true(probed(&r, r.max_ok)->ok);
    assert_false(probed(&r, r.min_fail)->ok);
}

static void test_bad_range(void **state)
{
    (void)state;
    fake f = {.k = 5};
    bb_maxbatch_result r;
    assert_int_equal(bb_maxbatch_search(0, 10, fake_probe, &f, &r), -1);
    assert_int_equal(bb_maxbatch_search(11, 10, fake_probe, &f, &r), -1);
    assert_int_equal(bb_maxbatch_search(1, 10, NULL, &f, &r), -1);
    assert_int_equal(f.calls, 0);
    assert_int_equal(r.n_steps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_various), cmocka_unit_test(test_k_is_one),
        cmocka_unit_test(test_k_below_start),     cmocka_unit_test(test_k_at_and_above_max),
        cmocka_unit_test(test_grid),              cmocka_unit_test(test_probe_count),
        cmocka_unit_test(test_abort),             cmocka_unit_test(test_non_monotonic),
        cmocka_unit_test(test_bad_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_core_rtt.c — unit tests for src/env/core_rtt.c (the cache line round
 * trip between the benchmark's threads).
 *
 * Why this file exists: the probe runs after every measured slice, so it
 * must come back quickly with a plausible number where it can measure, and
 * say "not measured" (-1) where it cannot: one thread, or more threads than
 * CPUs (where a bounce would wait for the scheduler).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <omp.h>

#include "env/core_rtt.h"
#include "util/clock.h"

static void test_two_threads_give_a_round_trip(void **state)
{
    (void)state;
    if (omp_get_num_procs() < 2)
        fail_msg("this test needs 2 CPUs (found %d)", omp_get_num_procs());
    double t0 = bb_now_s();
    double ns = bb_core_rtt_ns(2);
    double took = bb_now_s() - t0;
    /* any machine: more than a few ns (two cache misses), far less than a
     * millisecond. The probe takes ~1 ms on an idle machine; the bound on
     * its time only catches a hang: with the other CPU busy (an ASan build
     * while something else ran) it took over 50 ms, waiting for time slices */
    assert_true(ns > 5.0);
    assert_true(ns < 1e5);
    assert_true(took < 1.0);
}

static void test_no_pair_no_number(void **state)
{
    (void)state;
    assert_true(bb_core_rtt_ns(1) == -1.0);
    assert_true(bb_core_rtt_ns(0) == -1.0);
    assert_true(bb_core_rtt_ns(omp_get_num_procs() + 1) == -1.0);
}

static void test_repeated_probes_agree_in_kind(void **state)
{
    (void)state;
    /* back to back, the threads cannot have moved far: every reading is
     * a round trip, and all are within the same 100 us bound */
    for (int i = 0; i < 20; i++) {
        double ns = bb_core_rtt_ns(2);
        assert_true(ns > 5.0 && ns < 1e5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads_give_a_round_trip),
        cmocka_unit_test(test_no_pair_no_number),
        cmocka_unit_test(test_repeated_probes_agree_in_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * core_rtt.c — the cache line round trip between the benchmark's threads
 * (env/core_rtt.h says why it is measured).
 */
#include "env/core_rtt.h"

#include <omp.h>
#include <stdatomic.h>

#include "util/clock.h"

/* Thread `me` (0 or 1 of the pair) waits for its turn, then passes it on:
 * BB_CORE_RTT_BOUNCES round trips. Returns the seconds thread 0 saw. */
static double bounce(atomic_int *turn, int me)
{
    double t0 = bb_now_s();
    for (int i = 0; i < BB_CORE_RTT_BOUNCES; i++) {
        int mine = 2 * i + me;
        while (atomic_load_explicit(turn, memory_order_acquire) != mine)
            ;
        atomic_store_explicit(turn, mine + 1, memory_order_release);
    }
    return bb_now_s() - t0;
}

double bb_core_rtt_ns(int threads)
{
    if (threads < 2 || threads > omp_get_num_procs()) /* oversubscribed: a bounce waits for a time slice */
        return -1.0;
    _Alignas(64) atomic_int turn;
    double worst = -1.0;
    int team = 0;
#pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num(), n = omp_get_num_threads();
#pragma omp single
        team = n;
        for (int j = 1; j < n && j <= BB_CORE_RTT_PAIRS; j++) {
            double best = -1.0;
            for (int rep = 0; rep < 3; rep++) {
#pragma omp single
                atomic_store(&turn, 0);
                /* the implicit barrier after single: both start from 0 */
                if (me == 0 || me == j) {
                    double t = bounce(&turn, me == 0 ? 0 : 1);
                    if (me == 0 && (best < 0 || t < best))
                        best = t;
                }
#pragma omp barrier
            }
            if (me == 0 && best * 1e9 / BB_CORE_RTT_BOUNCES > worst)
                worst = best * 1e9 / BB_CORE_RTT_BOUNCES;
        }
    }
    return team < 2 ? -1.0 : worst;
}

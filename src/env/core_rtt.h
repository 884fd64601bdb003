/*
 * core_rtt.h — how far apart the benchmark's threads run: the round trip
 * of one cache line between them, measured after every slice.
 *
 * Why this file exists: on the shared 2-core VM the README's first command
 * answered differently from run to run because the machine has two speeds
 * that last from seconds to minutes: mobilenet_v2 at batch 1 took 3.3 or
 * 5.2 ms per item, batch 64 about the same in both. The steal and
 * other-process counters (env/noise.h) saw nothing. What tells the two
 * apart is where the hypervisor puts the two threads: a cache line went
 * from one thread to the other and back in 51-53 ns in the fast state and
 * 309-353 ns in the slow one (2026-12-05, 30 readings against 30 runs of
 * `infer --model mobilenet_v2`, every 5.2 ms run at 309 ns or more, every
 * 3.3 ms run at 53 ns or less): in the slow state the threads share no
 * cache, and a small batch, whose layers hand their data from thread to
 * thread, pays for every hand-over. Bare-metal machines with several
 * chiplets do the same when the scheduler spreads the threads. So every
 * slice records this round trip (measurement.slice_core_rtt_ns), and the
 * answer names the rounds whose threads ran farther apart
 * (stats/rounds.h).
 *
 * The probe: thread 0 and thread j (each other thread of the OpenMP team
 * the CPU backend uses, up to BB_CORE_RTT_PAIRS) bounce an atomic counter
 * BB_CORE_RTT_BOUNCES times, best of 3; the result is the largest pair's
 * round trip. About 0.1-0.5 ms per pair, outside the timed batches.
 */
#ifndef BB_CORE_RTT_H
#define BB_CORE_RTT_H

#define BB_CORE_RTT_BOUNCES 256
#define BB_CORE_RTT_PAIRS 8

/* Round trip in ns between thread 0 and the farthest of the other threads
 * of a `threads`-thread OpenMP team; -1 when threads < 2, when there are
 * more threads than CPUs (a bounce would wait for a time slice), or when
 * the team had fewer than 2 threads. */
double bb_core_rtt_ns(int threads);

#endif

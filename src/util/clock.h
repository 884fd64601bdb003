/*
 * clock.h — the one clock batchbench times with: CLOCK_MONOTONIC, in
 * seconds, shared by the sweep, infer, the backend's profiler and benches;
 * and the one way it sleeps to a time on it (serve's arrivals, run
 * --idle-ms), so a sweep's idle and a server's idle are the same kind.
 */
#ifndef BB_CLOCK_H
#define BB_CLOCK_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>

static inline double bb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps until bb_now_s() reads `at`; returns at once when it already
 * has. Woken by a signal, sleeps again unless *stop is set (stop may be
 * NULL). */
static inline void bb_sleep_until(double at, const volatile sig_atomic_t *stop)
{
    struct timespec ts;
    ts.tv_sec = (time_t)floor(at);
    ts.tv_nsec = (long)((at - floor(at)) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    while (bb_now_s() < at && !(stop && *stop))
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != EINTR)
            break;
}

#endif

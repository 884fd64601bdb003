/*
 * clock.h — the one clock batchbench times with: CLOCK_MONOTONIC, in
 * seconds, shared by the sweep, infer, the backend's profiler and benches.
 */
#ifndef BB_CLOCK_H
#define BB_CLOCK_H

#include <time.h>

static inline double bb_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif

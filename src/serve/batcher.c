/* batcher.c — the dynamic batcher's rule and the arrival schedule
 * (batcher.h). */
#include "serve/batcher.h"

#include <math.h>

bb_dispatch bb_batcher_next(const bb_batcher *b, const double *arrival, int64_t n_total, int64_t first,
                            double free_at)
{
    double oldest = arrival[first];
    double start = free_at > oldest ? free_at : oldest;    /* nothing runs before the oldest arrives */
    double deadline = oldest + b->timeout_s;
    deadline = deadline > start ? deadline : start;        /* the server was busy past the timeout */
    int64_t full = first + b->max_batch - 1;               /* the request that fills the batch */
    if (full < n_total && arrival[full] <= deadline) {
        double at = arrival[full] > start ? arrival[full] : start;
        return (bb_dispatch){at, b->max_batch};
    }
    int n = 0;
    while (first + n < n_total && n < b->max_batch && arrival[first + n] <= deadline)
        n++;
    return (bb_dispatch){deadline, n};
}

int bb_batcher_sizes(int max_batch, int64_t *sizes)
{
    int n = 0;
    if (max_batch <= BB_BATCHER_ALL_SIZES_MAX) {
        for (int s = 1; s <= max_batch; s++)
            sizes[n++] = s;
        return n;
    }
    for (int64_t s = 1; s < max_batch && n < 63; s *= 2)
        sizes[n++] = s;
    sizes[n++] = max_batch;
    return n;
}

int64_t bb_batcher_run_size(const int64_t *sizes, int n_sizes, int n)
{
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] >= n)
            return sizes[i];
    return sizes[n_sizes - 1];
}

/* splitmix64: a small seeded generator, its state on the caller's stack. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bb_arrival_schedule(bb_arrivals kind, double rate, uint64_t seed, double *arrival, int64_t n)
{
    uint64_t state = seed;
    double t = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double u = ((double)(next_u64(&state) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
        t += kind == BB_ARRIVALS_UNIFORM ? 1.0 / rate : -log(u) / rate;
        arrival[i] = t;
    }
}

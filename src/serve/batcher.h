/*
 * batcher.h — the dynamic batcher's rule, one function that both the real
 * server (`batchbench serve`) and the report's simulation of it run.
 *
 * Why this file exists: the report predicts a server's latency from a
 * sweep's measured batch times, and that prediction is checked against a
 * real serving run. Both can only agree if they batch the same way, so the
 * rule lives here once. A batch forms when max_batch requests wait or the
 * oldest has waited timeout_s, whichever comes first; one server runs one
 * batch at a time, without preemption; requests are served oldest first.
 *
 * Arrivals are known in advance (an open-loop schedule: each request's
 * arrival time is fixed before the run, never "sent when the previous
 * answer returns"), so the rule is a function of the schedule and the time
 * the server becomes free: no coordinated omission, in the server or the
 * simulation.
 *
 * A batch of n requests runs on a model prepared for a batch size >= n:
 * every size up to max_batch when max_batch <= BB_BATCHER_ALL_SIZES_MAX,
 * else the powers of two below max_batch and max_batch itself, the batch
 * padded to the next one (bb_batcher_run_size).
 */
#ifndef BB_BATCHER_H
#define BB_BATCHER_H

#include <stdint.h>

#define BB_BATCHER_ALL_SIZES_MAX 16

typedef struct {
    int max_batch;      /* B >= 1 */
    double timeout_s;   /* T >= 0: the longest the oldest request waits for a batch to fill */
} bb_batcher;

typedef struct {
    double at;          /* when the batch starts (s, the schedule's clock) */
    int n;              /* requests in it: 1..max_batch */
} bb_dispatch;

/* The next batch. arrival[0..n_total-1] ascending; requests before `first`
 * are served; the server is free from free_at. The batch is requests
 * first..first+n-1, starting at `at` (never before its newest request
 * arrives, nor before free_at). first < n_total. */
bb_dispatch bb_batcher_next(const bb_batcher *b, const double *arrival, int64_t n_total, int64_t first,
                            double free_at);

/* The batch sizes the server prepares for max_batch (ascending) into
 * sizes[0..]; returns how many (at most 64). */
int bb_batcher_sizes(int max_batch, int64_t *sizes);

/* The prepared size a batch of n runs at: the smallest of sizes[0..n_sizes-1]
 * that is >= n (the batch padded to it). */
int64_t bb_batcher_run_size(const int64_t *sizes, int n_sizes, int n);

/* An open-loop arrival schedule of n requests at rate per second: Poisson
 * (exponential gaps, seeded) or uniform (gaps of exactly 1/rate), the first
 * one gap after 0. */
typedef enum { BB_ARRIVALS_POISSON, BB_ARRIVALS_UNIFORM } bb_arrivals;
void bb_arrival_schedule(bb_arrivals kind, double rate, uint64_t seed, double *arrival, int64_t n);

#endif

/*
 * serve_sim.h — a discrete-event simulation of one dynamic-batching server,
 * driven by a sweep's measured batch times.
 *
 * Why this file exists: a sweep measures how long a batch takes, but a
 * service owner asks which max batch size B and timeout T keep the p99
 * latency under a target at the load they expect. Requests arriving one by
 * one wait for a batch to form and for the server to be free, so the answer
 * needs a queue, not a table. This simulates exactly the server `batchbench
 * serve` runs (serve/batcher.h: the same bb_batcher_next rule, the same
 * prepared sizes and padding, the same open-loop arrival schedule from the
 * same seed): one server, one batch at a time, no preemption, requests
 * served oldest first. The only modelled part is the service time: a batch
 * of n requests runs at its prepared size k (bb_batcher_run_size) and takes
 * a draw, uniform with replacement, from the measured batch times of the
 * smallest measured batch size >= k (k itself when the sweep measured it;
 * else a larger one, as if padded: pessimistic). Draws are independent of
 * each other and of the load, with one exception a sweep can measure: a
 * batch whose prepared size last ran g seconds before it starts. On a CPU
 * such a batch runs slower than the sweep's back-to-back ones (on the
 * 2-core VM mobilenet_v2 at batch 1 takes +13% after 3 ms idle, +20-40%
 * after 20 ms: its weights left the caches), whether the server slept in
 * between or ran other prepared sizes (each has its own weights and
 * buffers; in `serve` runs a batch after one of another size took 9-14%
 * longer at sizes 2-5); on a GPU the clocks fall when it idles. When the sweep
 * also measured that batch size after idle times (run --idle-ms: samples
 * in after_idle; slept, so a lower bound for a gap spent running other
 * sizes), a batch after a gap g draws from the levels around g:
 * between measured idle times a and b (the back-to-back sample being idle
 * 0) from b's times with probability (g - a) / (b - a), else from a's;
 * at or past the longest idle time measured, from its times. Without such
 * samples every batch draws back-to-back times, and at light load the
 * simulation reads low by the penalty.
 *
 * Pure: no I/O, no global state; the generator's state lives on the stack.
 * Latency is a request's completion (the end of its batch) minus its
 * arrival; percentiles are those of stats/stats.h (numpy's linear).
 */
#ifndef BB_SERVE_SIM_H
#define BB_SERVE_SIM_H

#include <stdint.h>

#include "serve/batcher.h"

#define BB_SIM_REQUESTS 20000 /* counted requests of one simulation */
#define BB_SIM_WARMUP 2000    /* requests simulated first and not counted */

/* The measured batch times (s) of one batch size. */
typedef struct {
    int64_t batch;
    const double *times_s;
    int n_times;
    double idle_s; /* slept before each of these batches (run --idle-ms); 0: back to back */
} bb_sim_sample;

typedef struct {
    const bb_sim_sample *measured; /* ascending batch sizes, each with n_times >= 1 (back to back) */
    int n_measured;
    int max_batch;         /* B: 1 .. the largest measured batch size */
    double timeout_s;      /* T >= 0 */
    double rate;           /* offered load, requests (items) per second, > 0 */
    bb_arrivals arrivals;  /* BB_ARRIVALS_POISSON for a real service */
    int64_t n_requests;    /* counted; 0: BB_SIM_REQUESTS */
    int64_t warmup;        /* simulated first, not counted; < 0: BB_SIM_WARMUP */
    uint64_t seed;         /* the arrival schedule's (bb_arrival_schedule); service draws derive from it */
    /* Batch times measured after an idle time (idle_s > 0, any order, any of
     * the measured batch sizes; NULL/0: none): what a batch that starts
     * after the server idled draws from (above). */
    const bb_sim_sample *after_idle;
    int n_after_idle;
    /* What a batch's gap is: 0 (the default) the time since its prepared
     * size last ran, as above; 1 the time since the server last finished
     * any batch (a gap spent running other sizes counts as none). Kept
     * selectable because runs on the 2-core VM disagree on which predicts
     * better (scripts/serve-vs-sim.sh prints both). */
    int gap_since_free;
} bb_sim_config;

typedef struct {
    double p50_s, p90_s, p99_s, mean_s; /* latency of the counted requests */
    double throughput;     /* counted requests / (last completion - first arrival), items/s */
    double utilisation;    /* the server's busy time over that span, 0..1 */
    double mean_batch;     /* requests per batch, over batches that start with a counted request */
    int padded;            /* 1: some prepared size of B runs on the times of a larger measured size */
} bb_sim_result;

/* The measured batch size whose times a batch of n requests runs with under
 * max_batch (its prepared size, or the smallest measured size above it);
 * 0 when max_batch exceeds the largest measured size or n is out of 1..B. */
int64_t bb_sim_service_batch(const bb_sim_sample *measured, int n_measured, int max_batch, int n);

/* Is B a setting the sweep can answer for (1 <= B <= largest measured)? */
int bb_sim_candidate(const bb_sim_sample *measured, int n_measured, int max_batch);

/* Does some prepared size of max_batch lack its own measurement? */
int bb_sim_pads(const bb_sim_sample *measured, int n_measured, int max_batch);

/* Runs one simulation. Returns 0; -1 on a bad configuration (B not a
 * candidate, rate <= 0, T < 0, an empty sample) or when memory runs out. */
int bb_sim_run(const bb_sim_config *c, bb_sim_result *out);

/* The p99 of the same run alone, found by selection instead of a sort:
 * equal to bb_sim_run's p99_s, several times faster (the searches below
 * run hundreds of simulations). 0, or -1 as bb_sim_run. */
int bb_sim_p99(const bb_sim_config *c, double *p99);

/* Capacity of max_batch in items/s: B / the mean batch time at B (every
 * batch full). 0 when B is not a candidate. */
double bb_sim_capacity(const bb_sim_sample *measured, int n_measured, int max_batch);

/* The coarse load grid of bb_sim_max_rate: BB_SIM_GRID - 1 rates at
 * capacity x i / BB_SIM_GRID, i = 1 .. BB_SIM_GRID - 1. */
#define BB_SIM_GRID 16
#define BB_SIM_STEPS 10

/* The largest offered rate whose simulated p99 is <= target_s, below
 * capacity (c->rate is ignored): the grid above is simulated (p99 of each
 * into grid_p99[0..BB_SIM_GRID-2] when not NULL), then BB_SIM_STEPS steps
 * of bisection between the largest grid rate that meets the target and the
 * next one (or 0 and the first, when none meets), every simulation with
 * c's seed, so a curve of max rate against the target is monotone. *rate
 * 0 when no simulated rate meets it. Returns 0, or -1 as bb_sim_run. */
int bb_sim_max_rate(const bb_sim_config *c, double target_s, double *rate, double *grid_p99);

#endif

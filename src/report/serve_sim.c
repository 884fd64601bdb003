/* serve_sim.c — the dynamic-batching server simulated from measured batch
 * times (serve_sim.h). */
#include "report/serve_sim.h"

#include <math.h>
#include <stdlib.h>

#include "stats/stats.h"

#define SERVICE_STREAM 0x6A09E667F3BCC909ull /* the service draws' seed: the arrival seed xor this */

/* splitmix64, its state owned by the caller. */
typedef struct {
    uint64_t s;
} sim_rng;

static uint64_t rng_next(sim_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(sim_rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* A uniform index in 0..n-1. */
static int rng_index(sim_rng *r, int n)
{
    int i = (int)(rng_unit(r) * (double)n);
    return i < n ? i : n - 1;
}

/* Index of the smallest measured batch size >= k, or -1. */
static int measured_at_least(const bb_sim_sample *m, int n_m, int64_t k)
{
    for (int i = 0; i < n_m; i++)
        if (m[i].batch >= k)
            return i;
    return -1;
}

int bb_sim_candidate(const bb_sim_sample *measured, int n_measured, int max_batch)
{
    return measured && n_measured > 0 && max_batch >= 1 && max_batch <= measured[n_measured - 1].batch;
}

int64_t bb_sim_service_batch(const bb_sim_sample *measured, int n_measured, int max_batch, int n)
{
    if (!bb_sim_candidate(measured, n_measured, max_batch) || n < 1 || n > max_batch)
        return 0;
    int64_t sizes[64];
    int n_sizes = bb_batcher_sizes(max_batch, sizes);
    int i = measured_at_least(measured, n_measured, bb_batcher_run_size(sizes, n_sizes, n));
    return i < 0 ? 0 : measured[i].batch;
}

int bb_sim_pads(const bb_sim_sample *measured, int n_measured, int max_batch)
{
    if (!bb_sim_candidate(measured, n_measured, max_batch))
        return 0;
    int64_t sizes[64];
    int n_sizes = bb_batcher_sizes(max_batch, sizes);
    for (int k = 0; k < n_sizes; k++)
        if (measured[measured_at_least(measured, n_measured, sizes[k])].batch != sizes[k])
            return 1;
    return 0;
}

static double sample_mean(const bb_sim_sample *s)
{
    double sum = 0;
    for (int i = 0; i < s->n_times; i++)
        sum += s->times_s[i];
    return s->n_times > 0 ? sum / s->n_times : 0;
}

double bb_sim_capacity(const bb_sim_sample *measured, int n_measured, int max_batch)
{
    if (!bb_sim_candidate(measured, n_measured, max_batch))
        return 0;
    double mean = sample_mean(&measured[measured_at_least(measured, n_measured, max_batch)]);
    return mean > 0 ? max_batch / mean : 0;
}

/* For each batch of n = 1..B requests, the index of the measured sample it
 * draws from (map[n]); whether any is padded. */
static void service_map(const bb_sim_config *c, int *map, int *padded)
{
    int64_t sizes[64];
    int n_sizes = bb_batcher_sizes(c->max_batch, sizes);
    *padded = 0;
    for (int n = 1; n <= c->max_batch; n++) {
        int64_t k = bb_batcher_run_size(sizes, n_sizes, n);
        map[n] = measured_at_least(c->measured, c->n_measured, k);
        *padded |= c->measured[map[n]].batch != k;
    }
}

static int config_ok(const bb_sim_config *c)
{
    if (!bb_sim_candidate(c->measured, c->n_measured, c->max_batch) || !(c->rate > 0) || !(c->timeout_s >= 0) ||
        c->n_requests < 0)
        return 0;
    for (int i = 0; i < c->n_measured; i++)
        if (c->measured[i].n_times < 1 || !c->measured[i].times_s)
            return 0;
    if (c->n_after_idle < 0 || (c->n_after_idle > 0 && !c->after_idle))
        return 0;
    for (int i = 0; i < c->n_after_idle; i++)
        if (c->after_idle[i].n_times < 1 || !c->after_idle[i].times_s || !(c->after_idle[i].idle_s > 0))
            return 0;
    return 1;
}

/* A batch time of warm's batch size for a batch that starts after the
 * server idled gap_s: from the measured idle levels around the gap
 * (serve_sim.h), warm (back to back) being level 0. */
static double draw_service(const bb_sim_config *c, const bb_sim_sample *warm, double gap_s, sim_rng *rng)
{
    const bb_sim_sample *lo = warm, *hi = NULL;
    double lo_idle = 0;
    for (int i = 0; i < c->n_after_idle; i++) {
        const bb_sim_sample *s = &c->after_idle[i];
        if (s->batch != warm->batch)
            continue;
        if (s->idle_s <= gap_s && s->idle_s > lo_idle)
            lo = s, lo_idle = s->idle_s;
        else if (s->idle_s > gap_s && (!hi || s->idle_s < hi->idle_s))
            hi = s;
    }
    const bb_sim_sample *s = lo;
    if (hi && gap_s > lo_idle && rng_unit(rng) < (gap_s - lo_idle) / (hi->idle_s - lo_idle))
        s = hi;
    return s->times_s[rng_index(rng, s->n_times)];
}

/* What the counted part of the run adds up to. */
typedef struct {
    double busy_s, last_done, first_arrival;
    int64_t batches, items;
} tally;

/* One simulation's arrays: requests 0..total-1 arrive at arrival[]; those
 * from w on, n of them, are counted (latencies into lat[0..n-1]). */
typedef struct {
    double *arrival, *lat;
    int64_t total, w, n;
    int *map;         /* a batch of n requests draws from measured[map[n]] (service_map) */
    double *last_end; /* per measured sample: when a batch of its size last ended; -inf: never */
} sim_arrays;

/* Serves every request up to the last counted one. A batch's idle gap is
 * the time since its prepared size last ran: its memory goes cold whether
 * the server slept or ran other sizes in between (serve_sim.h); with
 * gap_since_free, the time since the server last finished a batch. */
static void serve_all(const bb_sim_config *c, const sim_arrays *a, tally *tl)
{
    const bb_batcher rule = {c->max_batch, c->timeout_s};
    sim_rng rng = {c->seed ^ SERVICE_STREAM};
    double free_at = 0;
    for (int i = 0; i < c->n_measured; i++)
        a->last_end[i] = -INFINITY;
    for (int64_t first = 0; first < a->w + a->n;) {
        bb_dispatch d = bb_batcher_next(&rule, a->arrival, a->total, first, free_at);
        int k = a->map[d.n];
        double gap = d.at - (c->gap_since_free ? free_at : a->last_end[k]);
        double service = draw_service(c, &c->measured[k], gap, &rng), done = d.at + service;
        for (int64_t i = first; i < first + d.n; i++)
            if (i >= a->w && i < a->w + a->n)
                a->lat[i - a->w] = done - a->arrival[i], tl->last_done = done;
        if (first >= a->w) {
            tl->busy_s += service, tl->batches++, tl->items += d.n;
        }
        free_at = a->last_end[k] = done;
        first += d.n;
    }
}

/* One run: the latencies of the counted requests into *lat (malloc'd, *n
 * of them) and the counted part's tally; -1 on a bad configuration or OOM. */
static int simulate(const bb_sim_config *c, double **lat, int64_t *n, tally *tl, int *padded)
{
    if (!config_ok(c))
        return -1;
    int64_t w = c->warmup >= 0 ? c->warmup : BB_SIM_WARMUP;
    *n = c->n_requests > 0 ? c->n_requests : BB_SIM_REQUESTS;
    if (*n > 100000000 || w > 100000000)
        return -1;
    sim_arrays a = {.total = w + *n + c->max_batch, /* a tail, so the last counted batches form as in a stream */
                    .w = w, .n = *n};
    a.arrival = malloc(sizeof *a.arrival * (size_t)a.total);
    a.map = malloc(sizeof *a.map * ((size_t)c->max_batch + 1));
    a.last_end = malloc(sizeof *a.last_end * (size_t)c->n_measured);
    a.lat = *lat = malloc(sizeof **lat * (size_t)*n);
    int rc = a.arrival && a.map && a.last_end && a.lat ? 0 : -1;
    if (rc == 0) {
        bb_arrival_schedule(c->arrivals, c->rate, c->seed, a.arrival, a.total);
        service_map(c, a.map, padded);
        *tl = (tally){0};
        serve_all(c, &a, tl);
        tl->first_arrival = w > 0 ? a.arrival[w - 1] : 0;
    }
    free(a.arrival), free(a.map), free(a.last_end);
    if (rc != 0)
        free(*lat), *lat = NULL;
    return rc;
}

int bb_sim_run(const bb_sim_config *c, bb_sim_result *out)
{
    double *lat;
    int64_t n;
    tally tl;
    int padded;
    if (simulate(c, &lat, &n, &tl, &padded) != 0)
        return -1;
    bb_stats st;
    int rc = n <= 2147483647 ? bb_stats_compute(lat, (int)n, &st) : -1;
    free(lat);
    if (rc != 0)
        return -1;
    double span = tl.last_done - tl.first_arrival;
    *out = (bb_sim_result){st.p50, st.p90, st.p99, st.mean, span > 0 ? (double)n / span : 0,
                           span > 0 ? tl.busy_s / span : 0, tl.batches ? (double)tl.items / tl.batches : 0, padded};
    return 0;
}

/* Moves the k-th smallest of x[0..n-1] to x[k], smaller ones before it,
 * larger ones after (Hoare's selection, median-of-three pivot). */
static void select_kth(double *x, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        double a = x[lo], b = x[mid], c = x[hi];
        double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (x[i] < pivot)
                i++;
            while (x[j] > pivot)
                j--;
            if (i <= j) {
                double t = x[i];
                x[i++] = x[j], x[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* numpy.percentile(x, 99) with the 'linear' method, as stats/stats.c
 * computes it from the sorted sample, by selection (x is reordered). */
static double p99_select(double *x, int64_t n)
{
    double h = (double)(n - 1) * 0.99;
    int64_t lo = (int64_t)floor(h);
    select_kth(x, n, lo);
    if (lo >= n - 1)
        return x[n - 1];
    double next = x[lo + 1];
    for (int64_t i = lo + 2; i < n; i++)
        next = x[i] < next ? x[i] : next;
    return x[lo] + (h - (double)lo) * (next - x[lo]);
}

int bb_sim_p99(const bb_sim_config *c, double *p99)
{
    double *lat;
    int64_t n;
    tally tl;
    int padded;
    if (simulate(c, &lat, &n, &tl, &padded) != 0)
        return -1;
    *p99 = p99_select(lat, n);
    free(lat);
    return 0;
}

/* p99 at rate; -1 on failure. */
static int p99_at(const bb_sim_config *c, double rate, double *p99)
{
    bb_sim_config at = *c;
    at.rate = rate;
    return bb_sim_p99(&at, p99);
}

int bb_sim_max_rate(const bb_sim_config *c, double target_s, double *rate, double *grid_p99)
{
    double cap = bb_sim_capacity(c->measured, c->n_measured, c->max_batch), p99;
    if (!(cap > 0))
        return -1; /* not a candidate; every other check is bb_sim_run's */
    int best = 0; /* the largest grid point i (rate cap x i / GRID) that meets the target */
    for (int i = 1; i < BB_SIM_GRID; i++) {
        if (p99_at(c, cap * i / BB_SIM_GRID, &p99) != 0)
            return -1;
        if (grid_p99)
            grid_p99[i - 1] = p99;
        best = p99 <= target_s ? i : best;
    }
    double lo = cap * best / BB_SIM_GRID, hi = cap * (best + 1) / BB_SIM_GRID; /* capacity itself: not sustainable */
    for (int k = 0; k < BB_SIM_STEPS; k++) {
        double mid = (lo + hi) / 2;
        if (p99_at(c, mid, &p99) != 0)
            return -1;
        *(p99 <= target_s ? &lo : &hi) = mid;
    }
    *rate = lo;
    return 0;
}

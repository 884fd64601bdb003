/*
 * serve.h — a real serving run: an open-loop load generator, the dynamic
 * batcher of serve/batcher.h and one server thread running the engine, with
 * every request's latency measured from its scheduled arrival to the end
 * of the batch that served it.
 *
 * Why this file exists: a sweep says how long a batch takes; a server asks
 * what latency requests see at a given load, once they wait for a batch to
 * form and for the server to be free. This runs that server for real, on
 * the same rule the report simulates (bb_batcher_next), so the two can be
 * compared. It is free of coordinated omission: the whole arrival schedule
 * is fixed before the run (bb_arrival_schedule), a request's latency starts
 * at its scheduled arrival whatever the server was doing, and a batch
 * starts at the time the rule gives from the schedule and the measured end
 * of the previous batch (slept to with clock_nanosleep on CLOCK_MONOTONIC;
 * how late the harness woke is recorded per batch).
 *
 * The model is prepared for every size of bb_batcher_sizes(max_batch); a
 * batch of n runs at bb_batcher_run_size (padded). On a device with its own
 * memory (cuda) each batch's input is copied to the device inside the
 * measured time, as a real server must; on the CPU it stays in place.
 * Usable from C without the command line (cli/cmd_serve.c is the command).
 */
#ifndef BB_SERVE_H
#define BB_SERVE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "backends/backend.h"
#include "engine/graph.h"
#include "serve/batcher.h"
#include "util/error.h"

#define BB_SERVE_MAX_SIZES 64
#define BB_SERVE_MAX_REQUESTS 2000000 /* one run's schedule, at most (its record is held in memory) */

typedef struct {
    const bb_run_config *config; /* backend resolved (config->backend), precision, threads, options */
    const bb_graph *g;           /* the model, opened with config's head */
    const char *model_file;      /* an imported model: the ONNX file as given; NULL for a zoo model */
    const char *model_sha256;    /* ... and its SHA-256 (part of the run's identity) */
    int max_batch;               /* B: 1..4096 */
    double timeout_s;            /* T >= 0 */
    double rate;                 /* R > 0, requests per second */
    double duration_s;           /* S > 0: ceil(R S) requests are scheduled */
    bb_arrivals arrivals;        /* Poisson or uniform */
    uint64_t seed;               /* the schedule's (and the input's: seed + 1) */
    double drain_s;              /* a batch that would start after S + drain_s is not run: dropped */
    double slo_s;                /* > 0: a latency above it is late; else none */
    int warmup;                  /* untimed passes per prepared size */
    double lead_s;               /* t0 = the clock after warm-up + lead_s (the schedule's zero) */
    volatile sig_atomic_t *stop; /* set by a signal: stop after the current batch; NULL: never */
    FILE *log;                   /* a line per prepared size (outside the run); NULL: quiet */
} bb_serve_cfg;

/* One prepared batch size. */
typedef struct {
    int64_t size;
    int64_t weight_bytes, arena_bytes, workspace_bytes; /* as the backend reports them */
    double prepare_s;            /* preparing it (primitives, weights packed, memory planned) */
    double warmup_s;             /* its warm-up passes, together */
    char math_mode[256];
} bb_serve_prepared;

/* One batch as it ran; times in seconds from t0 (the schedule's zero). */
typedef struct {
    double planned;   /* when the rule said it starts (bb_batcher_next's at) */
    double start;     /* when it started: the clock after the sleep */
    double end;       /* when its forward pass (and input copy) had finished */
    int n;            /* requests in it */
    int run_size;     /* the prepared size it ran at (>= n: padded) */
    int64_t first;    /* its first request's index in the schedule */
    int64_t queue;    /* requests arrived by start and not yet served, its own included */
} bb_serve_batch;

/* A summary of a sample (seconds): bb_stats_compute's percentiles. */
typedef struct {
    int n;
    double mean, p50, p90, p95, p99, max, min;
} bb_serve_dist;

typedef struct {
    int n_sizes;
    int64_t sizes[BB_SERVE_MAX_SIZES];
    bb_serve_prepared prepared[BB_SERVE_MAX_SIZES];
    int64_t n_scheduled;
    double *arrival;          /* [n_scheduled]: the schedule, from t0 */
    int64_t n_served;         /* requests 0..n_served-1 (oldest first: in arrival order) */
    double *latency;          /* [n_served]: end of its batch - its arrival */
    int64_t n_dropped;        /* n_scheduled - n_served */
    bb_serve_batch *batches;  /* [n_batches] */
    int64_t n_batches;
    double t0_lead_s;         /* the lead the schedule started with */
    double run_s;             /* t0 to the last batch's end (0: no batch ran) */
} bb_serve_result;

/* What the file and the summary report, derived from a result. */
typedef struct {
    bb_serve_dist latency;    /* n == 0: nothing served */
    int64_t n_late;           /* latencies > slo_s; -1 when no SLO */
    double achieved_per_s;    /* served / (last end - first arrival); 0 when nothing served */
    bb_serve_dist service;    /* end - start per batch */
    bb_serve_dist late_start; /* start - planned per batch */
    double mean_size;         /* requests per batch */
    int64_t padded_items;     /* sum of run_size - n */
    int64_t histogram[4097];  /* [n]: batches of n requests (n = 1..4096) */
} bb_serve_summary;

/* Prepares every size, warms up, runs the schedule. 0: done (res filled;
 * free with bb_serve_result_free); 1: stopped by *cfg->stop (nothing kept);
 * -1: failure, err set (err->oom when the device ran out of memory; the
 * message names the batch size). */
int bb_serve_run(const bb_serve_cfg *cfg, bb_serve_result *res, bb_err *err);

void bb_serve_result_free(bb_serve_result *res);

/* s from res; 0, or -1 when memory runs out. */
int bb_serve_summarise(const bb_serve_cfg *cfg, const bb_serve_result *res, bb_serve_summary *s);

/* The default --drain: 10 s or 5 x duration, whichever is smaller. */
double bb_serve_default_drain(double duration_s);

#endif

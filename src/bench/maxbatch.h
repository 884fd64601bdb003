/*
 * maxbatch.h — the search behind `batchbench maxbatch`: the largest batch
 * size for which a probe succeeds.
 *
 * Why this file exists: "how large a batch fits?" is asked before every
 * sweep, and answering it by hand (try 64, then 128, then ...) is slow and
 * imprecise. The search here is pure logic over a probe callback, so it can
 * be tested with a fake probe (tests/unit/test_maxbatch.c) while the
 * command (cli/cmd_maxbatch.c) probes with a real prepared forward pass
 * (bench/measure.h: bb_measure_probe, the criterion `run` applies).
 *
 * The search: doubling from start (start, 2 start, 4 start, ..., capped at
 * max) until the first failure or max, then bisection between the last
 * success and the first failure down to adjacent integers. When the answer
 * A is below max, A was probed and succeeded and A + 1 was probed and
 * failed (whatever the probe does in between: the bracket only narrows).
 * If the first probe (start) fails the answer is 0: nothing smaller is
 * tried.
 */
#ifndef BB_MAXBATCH_H
#define BB_MAXBATCH_H

#include <stdint.h>

/* At most 63 doublings and 63 bisection steps for any int64 range. */
#define BB_MAXBATCH_MAX_STEPS 128
#define BB_MAXBATCH_LIMIT ((int64_t)1 << 20) /* the largest --max (run's --batch-sizes bound) */

/* The probe's verdict on one batch size. */
typedef enum {
    BB_PROBE_FAILED = 0, /* does not run (out of memory, or an error) */
    BB_PROBE_OK = 1,     /* ran */
    BB_PROBE_ABORT = -1  /* stop searching now (interrupted, or a fatal error) */
} bb_probe_verdict;

typedef bb_probe_verdict (*bb_maxbatch_probe_fn)(int64_t batch_size, int bisecting, void *user);

typedef struct {
    int64_t batch_size;
    int ok;        /* 1 ran, 0 failed */
    int bisecting; /* 0: the doubling phase, 1: the bisection */
} bb_maxbatch_step;

typedef struct {
    int64_t max_ok;   /* the answer: the largest batch size that ran; 0 when the first probe failed */
    int64_t min_fail; /* the smallest that failed (max_ok + 1 when max_ok > 0); 0 when none failed (max reached) */
    int n_steps;
    bb_maxbatch_step steps[BB_MAXBATCH_MAX_STEPS]; /* every probe, in order */
} bb_maxbatch_result;

/* Searches [start, max] (1 <= start <= max) with probe. 0 with *out filled;
 * -1 when the probe aborted (out holds the steps so far) or the range is
 * invalid. */
int bb_maxbatch_search(int64_t start, int64_t max, bb_maxbatch_probe_fn probe, void *user, bb_maxbatch_result *out);

#endif

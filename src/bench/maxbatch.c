/*
 * maxbatch.c — doubling then bisection for the largest batch size that
 * runs (maxbatch.h).
 *
 * Why this file exists: it keeps the search apart from what a probe does,
 * so the bracket logic (the part that is easy to get off by one) is tested
 * on its own with fake probes.
 */
#include "bench/maxbatch.h"

#include <string.h>

/* One probe, recorded. 1 ok, 0 failed, -1 aborted (or no room left). */
static int step(bb_maxbatch_result *r, int64_t bs, int bisecting, bb_maxbatch_probe_fn probe, void *user)
{
    if (r->n_steps == BB_MAXBATCH_MAX_STEPS)
        return -1;
    bb_probe_verdict v = probe(bs, bisecting, user);
    if (v == BB_PROBE_ABORT)
        return -1;
    r->steps[r->n_steps++] = (bb_maxbatch_step){bs, v == BB_PROBE_OK, bisecting};
    return v == BB_PROBE_OK;
}

/* start, 2 start, ... (capped at max): r->max_ok is the last success,
 * r->min_fail the first failure (0: max ran). */
static int doubling(int64_t start, int64_t max, bb_maxbatch_probe_fn probe, void *user, bb_maxbatch_result *r)
{
    for (int64_t bs = start;;) {
        int ok = step(r, bs, 0, probe, user);
        if (ok < 0)
            return -1;
        if (!ok)
            return r->min_fail = bs, 0;
        r->max_ok = bs;
        if (bs == max)
            return 0;
        bs = bs > max / 2 ? max : bs * 2;
    }
}

/* Narrows (max_ok, min_fail) to adjacent integers. */
static int bisection(bb_maxbatch_probe_fn probe, void *user, bb_maxbatch_result *r)
{
    while (r->min_fail - r->max_ok > 1) {
        int64_t mid = r->max_ok + (r->min_fail - r->max_ok) / 2;
        int ok = step(r, mid, 1, probe, user);
        if (ok < 0)
            return -1;
        if (ok)
            r->max_ok = mid;
        else
            r->min_fail = mid;
    }
    return 0;
}

int bb_maxbatch_search(int64_t start, int64_t max, bb_maxbatch_probe_fn probe, void *user, bb_maxbatch_result *out)
{
    memset(out, 0, sizeof *out);
    if (start < 1 || max < start || !probe)
        return -1;
    if (doubling(start, max, probe, user, out) != 0)
        return -1;
    if (out->max_ok == 0 || out->min_fail == 0) /* the first probe failed, or max ran */
        return 0;
    return bisection(probe, user, out);
}

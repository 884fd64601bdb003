/*
 * rounds.h — which of a sweep's interleaved rounds the machine disturbed,
 * told from the batch times themselves, so that the answer can leave them
 * out.
 *
 * Why this file exists: `run` measures a model's batch sizes in rounds, one
 * slice of each per round in a shuffled order (bench/measure.h), so that a
 * slow stretch of the machine hits them all. It hits them all, but not
 * alike. On the shared 2-core VM (2026-12-04, the README's first command
 * twice) a stretch of about 40 s ran mobilenet_v2 1.8x slower at batch 1 and
 * 2, 1.4x at 4 and 1.15x at 16, and the steal and other-process counters
 * (env/noise.h) saw nothing. Batch 2, half of whose samples it covered, got
 * a 95% CI of +-28%, was "tied" with the fastest by that width alone, and
 * being the smallest tied it became the answer; the run after gave 4. The
 * rounds show such a stretch plainly: in it every batch size is slower than
 * its own usual time.
 *
 * The rule (BB_ROUNDS_METHOD), over the batch sizes of one model measured
 * in the same rounds:
 *  - m[b][r]: the median batch time of batch size b's slice in round r.
 *  - usual[b]: the lower quartile of m[b][.] over b's rounds
 *    (numpy.percentile(x, 25)). Tried on nine runs of the README's first
 *    command: the 10th percentile and the minimum agreed less often from
 *    run to run (mobilenet_v2 9 of 36 pairs against 16, vit_b_32 16 against
 *    18; resnet18 36 of 36 for q25 and q10, 28 for the minimum).
 *  - slowdown[r]: the median, over the batch sizes with a slice in r (at
 *    least 2), of m[b][r] / usual[b]; 1 (not judged) with fewer than 2.
 *  - r is disturbed when slowdown[r] > 1 + BB_DISTURBED_SLOWDOWN.
 *  - The disturbed rounds are left out when the rest keep at least a quarter
 *    of the rounds (the share the lower quartile stands on) and at least
 *    BB_ROUNDS_MIN_KEPT of them, and every batch size keeps a sample;
 *    otherwise nothing is left out (`applied` 0), and the answer says it
 *    may not hold.
 *  - r ran faster than usual when slowdown[r] < 1 / (1 + BB_DISTURBED_SLOWDOWN):
 *    the machine has a faster speed than the one most rounds saw. Nothing is
 *    left out for it; the answer says so, since a run at that speed may
 *    answer differently. On the VM, mobilenet_v2 rounds fell into two
 *    speeds (batch 1 at 3.4 and 5.4 ms/item, batch 64 alike in both), and
 *    the fastest batch size was 4 at one and 64 at the other.
 * On undisturbed stretches of the VM the slowdowns lie within 0.93-1.08;
 * the disturbed rounds seen were 1.10-3.4 (the higher ones with a build
 * running beside the sweep).
 *
 * Where the results recorded the threads' round trip after each slice
 * (measurement.slice_core_rtt_ns, env/core_rtt.h), the screen also names
 * the rounds whose threads ran farther apart: core_rtt_ns[r], the median
 * over the batch sizes' slices in r, at least BB_ROUNDS_FAR_RTT times the
 * lowest round's. That is the VM's second speed made visible (51-80 ns
 * with a shared cache, 309-353 ns without). It explains rounds; it leaves
 * nothing out by itself.
 */
#ifndef BB_ROUNDS_H
#define BB_ROUNDS_H

#include <stdint.h>

#define BB_ROUNDS_METHOD "round-slowdown-median-q25"
#define BB_DISTURBED_SLOWDOWN 0.10 /* a round 10% slower across batch sizes */
#define BB_ROUNDS_USUAL_Q 0.25     /* "usual": this quantile of a batch size's slice medians */
#define BB_ROUNDS_MIN_KEPT 3
#define BB_ROUNDS_MAX 512          /* rounds judged; a measurement with more is not screened */
#define BB_ROUND_GROUP_LEN 40      /* a result's measurement.round_group, with its NUL */
#define BB_ROUNDS_FAR_RTT 2.0      /* a round's threads ran farther apart: this x the lowest round trip */

/* One batch size's measurement as rounds: slice_batches[r] of its times
 * (in order) were measured in round r. */
typedef struct {
    const double *times_s;
    int n;
    const int *slice_batches;
    int n_slices;
    const double *core_rtt_ns; /* n_slices round trips (< 0: not measured), or NULL */
} bb_round_sample;

typedef struct {
    int n_rounds;                      /* rounds judged (the most slices of any batch size) */
    double slowdown[BB_ROUNDS_MAX];    /* per round, see above */
    unsigned char disturbed[BB_ROUNDS_MAX];
    int n_disturbed;
    double disturbed_slowdown;         /* median slowdown of the disturbed rounds; 0 when none */
    int applied;                       /* 1: the disturbed rounds are left out */
    unsigned char faster[BB_ROUNDS_MAX]; /* rounds faster than usual (see above) */
    int n_faster;
    double faster_slowdown;            /* their median slowdown (< 1); 0 when none */
    double core_rtt_ns[BB_ROUNDS_MAX]; /* per round (see above); -1: not measured */
    int n_rtt;                         /* rounds with a round trip */
    unsigned char far[BB_ROUNDS_MAX];  /* rounds whose threads ran farther apart */
    int n_far;
    double near_rtt_ns, far_rtt_ns;    /* median round trip of the other measured rounds, of the far ones */
} bb_round_screen;

/* Judges the rounds of n samples (n >= 2; each slice_batches summing to its
 * n, no negative count, n_slices <= BB_ROUNDS_MAX). Returns 0, or -1 (out
 * cleared) on bad input or when memory runs out. */
int bb_rounds_screen(const bb_round_sample *s, int n, bb_round_screen *out);

/* Copies into kept (room for s->n) the times of s from rounds screen keeps
 * (all of them when nothing is left out); returns how many. */
int bb_rounds_kept_times(const bb_round_sample *s, const bb_round_screen *screen, double *kept);

/* "3-7 and 12": the 1-based numbers of the rounds set in mask[0..n-1]
 * (screen->disturbed or screen->faster) into buf. */
void bb_rounds_list(const unsigned char *mask, int n, char *buf, unsigned long len);

#endif

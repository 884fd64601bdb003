/*
 * recommend.h — the answer: which batch size to use for one model on one
 * setup, stated so that it holds still from run to run.
 *
 * Why this file exists: the fastest batch size per item is a noisy
 * argmin: on a real machine several batch sizes are as fast as each other
 * within noise, and the plain argmin flips between them from run to run.
 * The rule here says which batch sizes are tied with the fastest and
 * recommends the smallest of them (the same throughput at less latency).
 * The sweep's terminal table, report.md, recommendation.json, summary.csv
 * and the time-per-item chart all call it (the report side through
 * bb_table_recommend, report/results_load.h), so they give the same answer.
 *
 * The rule (method "hodges-lehmann-ci-margin"):
 *  - best: the batch size with the lowest median time per item (the smaller
 *    one on an exact tie).
 *  - For every other batch size b: the ratio time_per_item(b) /
 *    time_per_item(best) with its 95% CI (bench/ratio.h, on the per-item
 *    samples: batch times / batch size). b is tied with best when that CI
 *    overlaps [1 - margin, 1 + margin] (margin 2% by default: differences
 *    smaller than that do not matter in practice, and differences the data
 *    cannot tell apart from zero are not claimed). best is tied with itself.
 *  - recommended: the smallest batch size in the tied set.
 *  - knee: the smallest batch size whose median time per item is within 5%
 *    of best's (what growing the batch beyond it buys is small).
 *  - borderline: a batch size whose CI's lower end lies closer to 1 + margin
 *    than the CI is wide, so that a rerun's CI may fall on the other side
 *    (on the VM, four runs of the README's first command put resnet18's
 *    batch 8 at 1.017-1.021 against 1.02, CIs 0.7-1.8% wide, and answered
 *    8, 8, 8, 16). When that could change the answer the sentence says so
 *    and names what a rerun may answer instead (rerun: every smaller
 *    borderline batch size, which may turn out tied, and the next tied one
 *    when the recommended one may turn out not tied). Nothing else
 *    changes: the answer is still the rule's, the alternatives stated with
 *    it.
 * Before it, when every batch size was measured in the same interleaved
 * rounds, the rounds the machine disturbed are found (stats/rounds.h) and,
 * where enough rounds remain, left out: the rule then runs on the times of
 * the other rounds, and per_item_s is theirs. The sentence says so.
 */
#ifndef BB_RECOMMEND_H
#define BB_RECOMMEND_H

#include <stdint.h>

#include "stats/ratio.h"
#include "stats/rounds.h"

#define BB_TIE_MARGIN_DEFAULT 0.02
#define BB_KNEE_TOLERANCE 0.05 /* within 5% of the best time per item */
#define BB_RECOMMEND_MAX 64
#define BB_RECOMMEND_METHOD "hodges-lehmann-ci-margin"
#define BB_RECOMMEND_SENTENCE_LEN (BB_RECOMMEND_MAX * 24 + 512) /* room for bb_recommend_sentence */

/* One batch size's measurement: its batch times in seconds and, when it
 * was measured in interleaved rounds, how many of them each round took
 * (slice_batches[r] in round r, stats/rounds.h) and which rounds those were
 * (round_group: the same string for batch sizes measured in the same
 * rounds). NULL / 0 / NULL or "" where not known: no round is left out. */
typedef struct {
    int64_t batch;
    const double *times_s;
    int n;
    const int *slice_batches;
    int n_slices;
    const char *round_group;
    const double *slice_core_rtt_ns; /* the threads' round trip after each slice (n_slices, < 0: none), or NULL */
} bb_batch_sample;

typedef struct {
    int n;                          /* batch sizes considered (with n >= 1 samples) */
    int64_t batch[BB_RECOMMEND_MAX];/* ascending */
    double per_item_s[BB_RECOMMEND_MAX]; /* median time per item */
    bb_ratio vs_best[BB_RECOMMEND_MAX];  /* per-item ratio batch / best, CI */
    int tied[BB_RECOMMEND_MAX];     /* 1: tied with best */
    int n_tied;
    int64_t best_batch, recommended_batch, knee_batch;
    double margin;
    int borderline[BB_RECOMMEND_MAX]; /* 1: its tie with best could go the other way in a rerun */
    int rerun[BB_RECOMMEND_MAX];    /* 1: a rerun may answer this batch size instead (see above) */
    int n_rerun;
    int screened;                   /* 1: the rounds were judged (rounds.h), 0: not known */
    bb_round_screen rounds;         /* when screened: which were disturbed, and whether left out */
} bb_recommendation;

/* Applies the rule to n samples (any order; at most BB_RECOMMEND_MAX, each
 * with n >= 1 finite positive times, batch >= 1, no batch size twice) with
 * margin in [0, 1). per_item_s is median(batch times) / batch, as the
 * report's tables compute it (of the kept rounds' times when disturbed
 * rounds were left out). Returns 0, or -1 (out cleared) when n is out
 * of range, a sample or the margin is bad, or memory runs out. */
int bb_recommend(const bb_batch_sample *s, int n, double margin, bb_recommendation *out);

/* "8, 16 and 32" (the tied batch sizes, ascending) into buf. */
void bb_recommend_tied_list(const bb_recommendation *r, char *buf, unsigned long len);

/* One line a person reads, e.g. "resnet18: 8, 16 and 32 are tied within
 * noise (2% margin); use 8" or "resnet18: 32 is the fastest; use 32". */
void bb_recommend_sentence(const bb_recommendation *r, const char *model, char *buf, unsigned long len);

/* What the sentence adds when the answer is borderline: "; a rerun may
 * answer 4 or 16: ties within a CI's width of the 2% margin"; "" when it
 * is not. */
void bb_recommend_rerun_note(const bb_recommendation *r, char *buf, unsigned long len);

/* What the sentence adds when rounds were disturbed: " (rounds 1-8 of 15
 * left out: the machine ran 1.21x slower in them)", or that too many were
 * to leave out; when some ran faster than usual: " (the machine ran 1.14x
 * faster in rounds 2-3 and 11 of 14: a run at that speed may answer
 * differently)"; when the threads ran farther apart in some rounds: " (its
 * threads ran farther apart in rounds 3-5 of 14: 330 against 80 ns core to
 * core)" (or "shared a cache only in ..." when that is most rounds); the
 * parts joined by "; "; "" when none (or rounds were not known). */
void bb_recommend_rounds_note(const bb_recommendation *r, char *buf, unsigned long len);

#endif

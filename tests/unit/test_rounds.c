/*
 * test_rounds.c — unit tests for src/stats/rounds.c (which interleaved
 * rounds the machine disturbed) and for the answer that leaves them out
 * (src/stats/recommend.c).
 *
 * Why this file exists: the fixtures replay what the shared VM did to the
 * README's first command on 2026-12-04: a stretch of rounds in which every
 * batch size ran slower, small batches most (1.8x at batch 1 and 2, 1.15x at
 * 16). They check that exactly those rounds are found, that they are left
 * out only when enough rounds remain, that nothing is judged when the rounds
 * are not known to be shared, and that the answer then comes out as on an
 * undisturbed run. Pseudo-noise is deterministic (pseudo_noise.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/recommend.h"
#include "stats/rounds.h"
#include "unit/pseudo_noise.h"

#define NB 4
#define MAX_R 16
#define MAX_PER 64

static const int64_t batch[NB] = {2, 4, 8, 16};
static const double per_item_ms[NB] = {3.59, 3.44, 3.49, 3.59}; /* mobilenet_v2, undisturbed */
static const double hit[NB] = {1.8, 1.4, 1.25, 1.15};          /* what the stretch did to each */

typedef struct {
    double t[NB][MAX_R * MAX_PER];
    int slices[NB][MAX_R];
    double rtt[NB][MAX_R];   /* the threads' round trip per slice: 80 ns, 330 in disturbed rounds */
    bb_round_sample rs[NB];
    bb_batch_sample bs[NB];
} fixture;

/* R rounds; batch k times per_slice[k] batches per round, +-2% noise; the
 * rounds with disturbed[r] set run by[k] times slower (by NULL: hit). */
static void make_by(fixture *f, int R, const unsigned char *disturbed, uint64_t seed, const double *by)
{
    static const int per_slice[NB] = {40, 20, 10, 5};
    memset(f, 0, sizeof *f);
    for (int k = 0; k < NB; k++) {
        int n = 0;
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < per_slice[k]; i++) {
                double x = (double)batch[k] * per_item_ms[k] * 1e-3 * (1 + 0.02 * bb_test_noise(&seed));
                f->t[k][n++] = disturbed && disturbed[r] ? x * (by ? by : hit)[k] : x;
            }
            f->slices[k][r] = per_slice[k];
            f->rtt[k][r] = (disturbed && disturbed[r] ? 330.0 : 80.0) + k; /* k: the batch sizes differ a little */
        }
        f->rs[k] = (bb_round_sample){f->t[k], n, f->slices[k], R, NULL};
        f->bs[k] = (bb_batch_sample){batch[k], f->t[k], n, f->slices[k], R, "group-1", NULL};
    }
}

static void make(fixture *f, int R, const unsigned char *disturbed, uint64_t seed)
{
    make_by(f, R, disturbed, seed, NULL);
}

/* The answer for f's samples and its sentence (line: BB_RECOMMEND_SENTENCE_LEN). */
static void answer(const fixture *f, bb_recommendation *r, char *line)
{
    assert_int_equal(bb_recommend(f->bs, NB, BB_TIE_MARGIN_DEFAULT, r), 0);
    bb_recommend_sentence(r, "mobilenet_v2", line, BB_RECOMMEND_SENTENCE_LEN);
}

static void test_undisturbed_run_judges_no_round(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    make(f, 14, NULL, 1);
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_rounds, 14);
    assert_int_equal(s.n_disturbed, 0);
    assert_int_equal(s.applied, 0);
    assert_int_equal(s.n_faster, 0);
    for (int r = 0; r < 14; r++)
        assert_true(s.slowdown[r] > 0.97 && s.slowdown[r] < 1.05);
    free(f);
}

static void test_a_disturbed_stretch_is_found_and_left_out(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1, 1, 1, 1, 1}; /* rounds 1-6 of 14 */
    fixture *f = malloc(sizeof *f);
    make(f, 14, dis, 2);
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_disturbed, 6);
    for (int r = 0; r < 14; r++)
        assert_int_equal(s.disturbed[r], r < 6);
    assert_true(s.applied);
    /* the median over batch sizes of 1.8, 1.4, 1.25, 1.15: (1.4 + 1.25) / 2 */
    assert_true(fabs(s.disturbed_slowdown - 1.325) < 0.03);
    double kept[MAX_R * MAX_PER];
    assert_int_equal(bb_rounds_kept_times(&f->rs[0], &s, kept), 8 * 40);
    assert_memory_equal(kept, f->t[0] + 6 * 40, sizeof(double) * 8 * 40);
    char list[64];
    bb_rounds_list(s.disturbed, s.n_rounds, list, sizeof list);
    assert_string_equal(list, "1-6");
    assert_int_equal(s.n_faster, 0);
    free(f);
}

static void test_most_rounds_disturbed_are_left_out_down_to_a_quarter(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1, 1, 1, 1, 1, 1, 1}; /* 8 of 12: 4 remain, a third */
    fixture *f = malloc(sizeof *f);
    make(f, 12, dis, 3);
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_disturbed, 8);
    assert_true(s.applied);
    double kept[MAX_R * MAX_PER];
    assert_int_equal(bb_rounds_kept_times(&f->rs[1], &s, kept), 4 * 20);
    free(f);
}

static void test_too_few_left_keeps_them_all(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1}; /* 2 of 4: 2 would remain, under BB_ROUNDS_MIN_KEPT */
    fixture *f = malloc(sizeof *f);
    make(f, 4, dis, 3);
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_disturbed, 2);
    assert_int_equal(s.applied, 0);
    double kept[MAX_R * MAX_PER];
    assert_int_equal(bb_rounds_kept_times(&f->rs[1], &s, kept), 4 * 20); /* all of them */
    free(f);
}

static void test_a_batch_size_left_without_samples_keeps_all(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1, 1};
    fixture *f = malloc(sizeof *f);
    make(f, 12, dis, 4);
    /* batch 16 stopped after round 3 (its cap): all its slices disturbed */
    f->rs[3].n_slices = 3, f->rs[3].n = 3 * 5;
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_disturbed, 3);
    assert_int_equal(s.applied, 0);
    free(f);
}

static void test_a_round_with_one_batch_size_is_not_judged(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    make(f, 10, NULL, 5);
    for (int k = 1; k < NB; k++) /* only batch 2 measured round 10, and slowly */
        f->rs[k].n_slices = 9, f->rs[k].n -= f->slices[k][9];
    for (int i = 9 * 40; i < 10 * 40; i++)
        f->t[0][i] *= 2;
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_rounds, 10);
    assert_true(s.slowdown[9] == 1.0);
    assert_int_equal(s.n_disturbed, 0);
    free(f);
}

/* Two speeds, the slower in most rounds (mobilenet_v2 on the VM, run 4 of
 * 2026-12-04: batch 1 1.58x, 4 1.42x, 16 1.15x, 64 alike): nothing is
 * disturbed against the usual (slow) speed, the fast rounds are named. */
static void test_a_faster_speed_is_named(void **state)
{
    (void)state;
    static const double slow[NB] = {1.6, 1.4, 1.15, 1.03};
    unsigned char mask[MAX_R];
    for (int r = 0; r < 12; r++)
        mask[r] = !(r == 1 || r == 2 || r == 9); /* fast in rounds 2, 3 and 10 */
    fixture *f = malloc(sizeof *f);
    make_by(f, 12, mask, 9, slow);
    bb_round_screen s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_disturbed, 0);
    assert_int_equal(s.applied, 0);
    assert_int_equal(s.n_faster, 3);
    for (int r = 0; r < 12; r++)
        assert_int_equal(s.faster[r], !mask[r]);
    assert_true(s.faster_slowdown > 0.75 && s.faster_slowdown < 0.9);
    bb_recommendation rec;
    char line[BB_RECOMMEND_SENTENCE_LEN];
    answer(f, &rec, line);
    assert_non_null(strstr(line, "faster in rounds 2-3 and 10 of 12: a run at that speed may answer differently)"));
    assert_null(strstr(line, "left out"));
    free(f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture *f = malloc(sizeof *f);
    bb_round_screen s;
    make(f, 8, NULL, 6);
    assert_int_equal(bb_rounds_screen(f->rs, 1, &s), -1);
    assert_int_equal(bb_rounds_screen(NULL, NB, &s), -1);
    f->slices[2][3] += 1; /* no longer adds up to n */
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), -1);
    f->slices[2][3] -= 1, f->slices[1][0] = -1;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), -1);
    make(f, 8, NULL, 6);
    f->t[3][7] = NAN;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), -1);
    assert_int_equal(s.n_rounds, 0);
    free(f);
}

static void test_round_lists(void **state)
{
    (void)state;
    bb_round_screen s;
    memset(&s, 0, sizeof s);
    s.n_rounds = 10;
    s.disturbed[1] = s.disturbed[3] = s.disturbed[4] = s.disturbed[8] = 1;
    char list[64];
    bb_rounds_list(s.disturbed, s.n_rounds, list, sizeof list);
    assert_string_equal(list, "2, 4-5 and 9");
    s.disturbed[1] = s.disturbed[8] = 0;
    bb_rounds_list(s.disturbed, s.n_rounds, list, sizeof list);
    assert_string_equal(list, "4-5");
    bb_rounds_list(s.disturbed, s.n_rounds, list, 3); /* truncated, still a string */
    assert_int_equal(strlen(list), 2);
}

/* The answer: on the disturbed run it must be the undisturbed run's. */
static void test_the_answer_leaves_the_stretch_out(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1, 1, 1, 1, 1};
    fixture *clean = malloc(sizeof *clean), *f = malloc(sizeof *f);
    make(clean, 14, NULL, 7);
    make(f, 14, dis, 7);
    bb_recommendation want, got, blind;
    assert_int_equal(bb_recommend(clean->bs, NB, BB_TIE_MARGIN_DEFAULT, &want), 0);
    assert_int_equal(bb_recommend(f->bs, NB, BB_TIE_MARGIN_DEFAULT, &got), 0);
    assert_true(got.screened && got.rounds.applied);
    assert_int_equal(got.recommended_batch, want.recommended_batch);
    assert_int_equal(got.recommended_batch, 4);
    for (int i = 0; i < NB; i++) /* the per-item times are the kept rounds' */
        assert_true(fabs(got.per_item_s[i] / want.per_item_s[i] - 1) < 0.02);
    char line[BB_RECOMMEND_SENTENCE_LEN];
    bb_recommend_sentence(&got, "mobilenet_v2", line, sizeof line);
    assert_non_null(strstr(line, "; use 4 (rounds 1-6 of 14 left out: the machine ran 1.3"));
    /* the same times, not known to share rounds: nothing is judged */
    for (int k = 0; k < NB; k++)
        f->bs[k].round_group = k == 2 ? "group-2" : "group-1";
    assert_int_equal(bb_recommend(f->bs, NB, BB_TIE_MARGIN_DEFAULT, &blind), 0);
    assert_false(blind.screened);
    bb_recommend_sentence(&blind, "mobilenet_v2", line, sizeof line);
    assert_null(strstr(line, "round"));
    assert_true(blind.per_item_s[0] > got.per_item_s[0]); /* the stretch raises the median of all */
    free(clean), free(f);
}

static void test_the_answer_says_when_too_many_were_disturbed(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {1, 1};
    fixture *f = malloc(sizeof *f);
    make(f, 4, dis, 8);
    bb_recommendation r;
    assert_int_equal(bb_recommend(f->bs, NB, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_true(r.screened && !r.rounds.applied);
    char line[BB_RECOMMEND_SENTENCE_LEN];
    bb_recommend_sentence(&r, "mobilenet_v2", line, sizeof line);
    assert_non_null(strstr(line, "slower in 2 of 4 rounds, too many to leave out: this answer may not hold)"));
    free(f);
}

/* The threads' round trips, where recorded, name the rounds whose threads
 * ran farther apart (the VM's slow state), in the screen and the sentence;
 * they change nothing else. */
static void test_rounds_with_the_threads_farther_apart_are_named(void **state)
{
    (void)state;
    unsigned char dis[MAX_R] = {0, 0, 1, 1, 1}; /* rounds 3-5 of 14 */
    fixture *f = malloc(sizeof *f);
    make(f, 14, dis, 9);
    bb_round_screen plain, s;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &plain), 0);
    assert_int_equal(plain.n_rtt, 0);
    assert_int_equal(plain.n_far, 0);
    for (int k = 0; k < NB; k++)
        f->rs[k].core_rtt_ns = f->rtt[k], f->bs[k].slice_core_rtt_ns = f->rtt[k];
    f->rtt[2][6] = -1.0; /* one slice not measured: the others still give round 7 its value */
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_rtt, 14);
    assert_int_equal(s.n_far, 3);
    for (int r = 0; r < 14; r++)
        assert_int_equal(s.far[r], r >= 2 && r < 5);
    assert_true(fabs(s.near_rtt_ns - 81.5) < 0.01); /* median of 80..83 */
    assert_true(fabs(s.far_rtt_ns - 331.5) < 0.01);
    assert_true(fabs(s.core_rtt_ns[6] - 81.0) < 0.01); /* 80, 81 and 83 */
    assert_int_equal(s.n_disturbed, plain.n_disturbed); /* the rule itself is unchanged */
    assert_int_equal(s.applied, plain.applied);
    bb_recommendation r;
    char line[BB_RECOMMEND_SENTENCE_LEN];
    answer(f, &r, line);
    assert_non_null(strstr(line, "(rounds 3-5 of 14 left out: the machine ran 1.3"));
    assert_non_null(strstr(line, "; its threads ran farther apart in rounds 3-5 of 14: 332 against 82 ns core to core)"));
    /* most rounds apart: the sentence names the others */
    for (int k = 0; k < NB; k++)
        for (int x = 0; x < 14; x++)
            f->rtt[k][x] = x == 9 || x == 10 ? 80.0 : 330.0;
    answer(f, &r, line);
    assert_int_equal(r.rounds.n_far, 12);
    assert_non_null(strstr(line, "; its threads shared a cache only in rounds 10-11 of 14: 80 against 330 ns core to core)"));
    /* all rounds alike: none is far, whatever the level */
    for (int k = 0; k < NB; k++)
        for (int x = 0; x < 14; x++)
            f->rtt[k][x] = 330.0;
    assert_int_equal(bb_rounds_screen(f->rs, NB, &s), 0);
    assert_int_equal(s.n_far, 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undisturbed_run_judges_no_round),
        cmocka_unit_test(test_a_disturbed_stretch_is_found_and_left_out),
        cmocka_unit_test(test_most_rounds_disturbed_are_left_out_down_to_a_quarter),
        cmocka_unit_test(test_too_few_left_keeps_them_all),
        cmocka_unit_test(test_a_batch_size_left_without_samples_keeps_all),
        cmocka_unit_test(test_a_round_with_one_batch_size_is_not_judged),
        cmocka_unit_test(test_a_faster_speed_is_named),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_round_lists),
        cmocka_unit_test(test_the_answer_leaves_the_stretch_out),
        cmocka_unit_test(test_the_answer_says_when_too_many_were_disturbed),
        cmocka_unit_test(test_rounds_with_the_threads_farther_apart_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_recommend.c — unit tests for src/bench/recommend.c: which batch
 * sizes are tied with the fastest, and which one to use.
 *
 * Why this file exists: the recommendation is the product's headline, and
 * its whole point is to hold still on a noisy machine. The fixtures are
 * curves with deterministic pseudo-noise (a fixed linear congruential
 * generator), so each case is the same on every run: a clear winner, a flat
 * curve that must come out as "all tied, use the smallest", a noisy curve
 * with a tied middle and clearly slower ends, exact ties, one batch size,
 * bad input, and the sentences people read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/recommend.h"
#include "unit/pseudo_noise.h"

#define MAX_N 64
#define MAX_B 8

/* A curve: per batch size, n batch times = batch x per-item time x noise. */
typedef struct {
    int nb;
    bb_batch_sample s[MAX_B];
    double t[MAX_B][MAX_N];
} curve;

/* per_item_ms[k] at batch[k], each time scaled by 1 + rel_noise x U(-1, 1). */
static void make_curve(curve *c, const int64_t *batch, const double *per_item_ms, int nb, int n, double rel_noise,
                       uint64_t seed)
{
    assert_true(nb <= MAX_B && n <= MAX_N);
    memset(c, 0, sizeof *c);
    c->nb = nb;
    for (int k = 0; k < nb; k++) {
        for (int i = 0; i < n; i++)
            c->t[k][i] = (double)batch[k] * per_item_ms[k] * 1e-3 * (1 + rel_noise * bb_test_noise(&seed));
        c->s[k].batch = batch[k], c->s[k].times_s = c->t[k], c->s[k].n = n;
    }
}

static int index_of(const bb_recommendation *r, int64_t batch)
{
    for (int i = 0; i < r->n; i++)
        if (r->batch[i] == batch)
            return i;
    fail_msg("batch %lld not in the recommendation", (long long)batch);
    return -1;
}

/* The tied set as a bit per listed batch size, for one-line checks. */
static void assert_tied_set(const bb_recommendation *r, const int64_t *want, int n_want)
{
    assert_int_equal(r->n_tied, n_want);
    for (int i = 0; i < r->n; i++) {
        int expect = 0;
        for (int k = 0; k < n_want; k++)
            expect |= want[k] == r->batch[i];
        if (r->tied[i] != expect)
            fail_msg("batch %lld: tied %d, want %d", (long long)r->batch[i], r->tied[i], expect);
    }
}

/* ---- the rule on curves ----------------------------------------------------------- */

static void test_clear_winner(void **state)
{
    (void)state;
    static const int64_t b[] = {1, 2, 4, 8, 16, 32};
    static const double ms[] = {10, 10, 10, 8, 10, 10}; /* batch 8 is 20% faster */
    curve c;
    make_curve(&c, b, ms, 6, 30, 0.005, 1);
    bb_recommendation r;
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.best_batch, 8);
    assert_int_equal(r.recommended_batch, 8);
    assert_int_equal(r.knee_batch, 8);
    static const int64_t tied[] = {8};
    assert_tied_set(&r, tied, 1);
    for (int i = 0; i < r.n; i++) {
        if (r.batch[i] == 8)
            continue;
        /* every other batch size is about 1.25x slower, significantly */
        assert_true(r.vs_best[i].ratio > 1.2 && r.vs_best[i].ratio < 1.3);
        assert_true(r.vs_best[i].ci_lo > 1.02);
        assert_true(r.vs_best[i].p_value < BB_ALPHA);
    }
    int w = index_of(&r, 8);
    assert_float_equal(r.vs_best[w].ratio, 1.0, 0);
    assert_float_equal(r.vs_best[w].p_value, 1.0, 0);
    assert_float_equal(r.per_item_s[w], 8e-3, 8e-3 * 0.005);
    assert_float_equal(r.margin, BB_TIE_MARGIN_DEFAULT, 0);
    assert_int_equal(r.n_rerun, 0); /* no tie is close: a rerun answers the same */
    for (int i = 0; i < r.n; i++)
        assert_false(r.borderline[i]);
}

/* A batch size right at the margin: its tie could go either way in a
 * rerun, and the answer names the other outcome; one well past it and
 * one well inside are not borderline. */
static void test_a_tie_at_the_margin_is_borderline(void **state)
{
    (void)state;
    static const int64_t b[] = {4, 8, 16, 32};
    static const double ms[] = {11.0, 10.2, 10.0, 10.03}; /* 8: 2% slower than 16, the margin */
    curve c;
    make_curve(&c, b, ms, 4, 40, 0.004, 11);
    bb_recommendation r;
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.best_batch, 16);
    int i8 = index_of(&r, 8);
    assert_true(r.borderline[i8]);
    assert_false(r.borderline[index_of(&r, 4)]);  /* 10% slower: not tied, clearly */
    assert_false(r.borderline[index_of(&r, 16)]); /* the best */
    assert_false(r.borderline[index_of(&r, 32)]); /* 0.3% slower: tied, clearly */
    assert_int_equal(r.n_rerun, 1);
    /* whichever way this run decided 8, a rerun may decide it the other way */
    int64_t other = r.tied[i8] ? 16 : 8;
    assert_int_equal(r.recommended_batch, r.tied[i8] ? 8 : 16);
    assert_true(r.rerun[index_of(&r, other)]);
    char line[BB_RECOMMEND_SENTENCE_LEN], want[96];
    bb_recommend_sentence(&r, "resnet18", line, sizeof line);
    snprintf(want, sizeof want, "; a rerun may answer %lld: a tie within a CI's width of the 2%% margin", (long long)other);
    assert_non_null(strstr(line, want));
    /* 8 at 5% slower, the same noise: clearly not tied, not borderline */
    static const double far_ms[] = {11.0, 10.5, 10.0, 10.03};
    make_curve(&c, b, far_ms, 4, 40, 0.004, 11);
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_false(r.borderline[index_of(&r, 8)]);
    assert_int_equal(r.n_rerun, 0);
}

static void test_flat_curve_all_tied(void **state)
{
    (void)state;
    static const int64_t b[] = {8, 16, 32, 64};
    static const double ms[] = {10.04, 9.97, 10.01, 9.95}; /* within +-0.5% */
    curve c;
    make_curve(&c, b, ms, 4, 30, 0.03, 2);
    bb_recommendation r;
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    static const int64_t tied[] = {8, 16, 32, 64};
    assert_tied_set(&r, tied, 4);
    assert_int_equal(r.recommended_batch, 8); /* the smallest: same speed, least latency */
    assert_int_equal(r.knee_batch, 8);
    assert_true(r.tied[index_of(&r, r.best_batch)]); /* the argmin, wherever the noise put it */
    /* the same curve with other noise: the argmin may move, the answer does not */
    for (uint64_t seed = 3; seed < 13; seed++) {
        make_curve(&c, b, ms, 4, 30, 0.03, seed);
        assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
        assert_int_equal(r.recommended_batch, 8);
        assert_int_equal(r.n_tied, 4);
    }
}

static void test_noisy_curve(void **state)
{
    (void)state;
    static const int64_t b[] = {1, 2, 4, 8, 16, 32};
    static const double ms[] = {20, 13, 10.15, 10, 10.15, 11.5};
    curve c;
    make_curve(&c, b, ms, 6, 40, 0.02, 7);
    bb_recommendation r;
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.best_batch, 8);
    static const int64_t tied[] = {4, 8, 16};
    assert_tied_set(&r, tied, 3);
    assert_int_equal(r.recommended_batch, 4);
    assert_int_equal(r.knee_batch, 4); /* 1.5% slower than the best: within 5% */
    int slow = index_of(&r, 32);
    assert_true(r.vs_best[slow].ci_lo > 1.1 && r.vs_best[slow].ci_hi < 1.2);
    assert_true(r.vs_best[slow].p_value < BB_ALPHA);
    /* a 20% margin also ties 32 (15% slower), not 2 (30% slower) */
    assert_int_equal(bb_recommend(c.s, c.nb, 0.20, &r), 0);
    static const int64_t wide[] = {4, 8, 16, 32};
    assert_tied_set(&r, wide, 4);
    assert_int_equal(r.recommended_batch, 4);
}

static void test_input_order_does_not_matter(void **state)
{
    (void)state;
    static const int64_t b[] = {32, 4, 16, 1, 8, 2};
    static const double ms[] = {11.5, 10.15, 10.15, 20, 10, 13};
    curve c;
    make_curve(&c, b, ms, 6, 40, 0.02, 7);
    bb_recommendation r;
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    for (int i = 1; i < r.n; i++)
        assert_true(r.batch[i - 1] < r.batch[i]); /* ascending */
    assert_int_equal(r.best_batch, 8);
    assert_int_equal(r.recommended_batch, 4);
    assert_int_equal(r.n_tied, 3);
}

static void test_exact_ties(void **state)
{
    (void)state;
    double t1[] = {0.010, 0.011, 0.012, 0.013}, t2[4], t4[4];
    for (int i = 0; i < 4; i++)
        t2[i] = 2 * t1[i], t4[i] = 4 * t1[i] * 1.5; /* 2: the same per item exactly; 4: 50% slower */
    bb_batch_sample s[] = {
        {.batch = 4, .times_s = t4, .n = 4},
        {.batch = 2, .times_s = t2, .n = 4},
        {.batch = 1, .times_s = t1, .n = 4}
    };
    bb_recommendation r;
    assert_int_equal(bb_recommend(s, 3, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.best_batch, 1); /* the smaller on an exact tie */
    assert_int_equal(r.recommended_batch, 1);
    static const int64_t tied[] = {1, 2};
    assert_tied_set(&r, tied, 2);
    int two = index_of(&r, 2);
    /* the same sample: estimate 1, an interval symmetric about it, nothing to see */
    assert_float_equal(r.vs_best[two].ratio, 1.0, 1e-12);
    assert_true(r.vs_best[two].ci_lo < 1 && r.vs_best[two].ci_hi > 1);
    assert_float_equal(r.vs_best[two].ci_lo * r.vs_best[two].ci_hi, 1.0, 1e-12);
    assert_true(r.vs_best[two].p_value > 0.5);
    assert_float_equal(r.per_item_s[two], r.per_item_s[index_of(&r, 1)], 0);
    assert_int_equal(r.knee_batch, 1);
    /* margin 0: an exact tie is still a tie (the CI is exactly 1) */
    assert_int_equal(bb_recommend(s, 3, 0, &r), 0);
    assert_int_equal(r.n_tied, 2);
    /* constant times: the interval is exactly 1 */
    double c1[] = {0.01, 0.01, 0.01}, c2[] = {0.02, 0.02, 0.02};
    bb_batch_sample cs[] = {{.batch = 2, .times_s = c2, .n = 3}, {.batch = 1, .times_s = c1, .n = 3}};
    assert_int_equal(bb_recommend(cs, 2, 0, &r), 0);
    assert_int_equal(r.best_batch, 1);
    assert_int_equal(r.n_tied, 2);
    assert_float_equal(r.vs_best[1].ci_lo, 1.0, 0);
    assert_float_equal(r.vs_best[1].ci_hi, 1.0, 0);
    assert_float_equal(r.vs_best[1].p_value, 1.0, 0);
}

static void test_single_batch_and_single_times(void **state)
{
    (void)state;
    double t[] = {0.16, 0.15, 0.17};
    bb_batch_sample one = {.batch = 16, .times_s = t, .n = 3};
    bb_recommendation r;
    assert_int_equal(bb_recommend(&one, 1, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.best_batch, 16);
    assert_int_equal(r.recommended_batch, 16);
    assert_int_equal(r.knee_batch, 16);
    assert_int_equal(r.n_tied, 1);
    assert_int_equal(r.tied[0], 1);
    assert_float_equal(r.per_item_s[0], 0.16 / 16, 1e-15);
    char buf[128];
    bb_recommend_sentence(&r, "resnet50", buf, sizeof buf);
    assert_string_equal(buf, "resnet50: 16 is the only batch size measured; use 16");

    /* one time per batch size: no interval to speak of, still an answer */
    double a[] = {0.010}, b2[] = {0.030}, c[] = {0.0205};
    bb_batch_sample s[] = {
        {.batch = 1, .times_s = a, .n = 1},
        {.batch = 2, .times_s = b2, .n = 1},
        {.batch = 4, .times_s = c, .n = 1}
    };
    assert_int_equal(bb_recommend(s, 3, BB_TIE_MARGIN_DEFAULT, &r), 0);
    assert_int_equal(r.best_batch, 4);
    assert_int_equal(r.recommended_batch, 4);
    assert_int_equal(r.n_tied, 1);
}

static void test_bad_input(void **state)
{
    (void)state;
    double ok[] = {0.01, 0.02}, nan_t[] = {0.01, NAN}, neg[] = {0.01, -0.02}, zero[] = {0.0};
    bb_recommendation r;
    bb_batch_sample good = {.batch = 1, .times_s = ok, .n = 2};
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(bb_recommend(&good, 0, BB_TIE_MARGIN_DEFAULT, &r), -1);
    assert_int_equal(r.n, 0); /* cleared on failure */
    assert_int_equal(r.recommended_batch, 0);
    assert_int_equal(bb_recommend(NULL, 1, BB_TIE_MARGIN_DEFAULT, &r), -1);
    bb_batch_sample bad[][2] = {
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 2, .times_s = nan_t, .n = 2}}, /* not finite */
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 2, .times_s = neg, .n = 2}},   /* negative */
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 2, .times_s = zero, .n = 1}},  /* zero */
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 2, .times_s = ok, .n = 0}},    /* no times */
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 2, .times_s = NULL, .n = 2}},  /* no array */
        {{.batch = 1, .times_s = ok, .n = 2}, {.batch = 0, .times_s = ok, .n = 2}},    /* batch 0 */
        {{.batch = 4, .times_s = ok, .n = 2}, {.batch = 4, .times_s = ok, .n = 2}},    /* the same batch size twice */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (bb_recommend(bad[i], 2, BB_TIE_MARGIN_DEFAULT, &r) != -1)
            fail_msg("bad input %zu accepted", i);
    assert_int_equal(bb_recommend(&good, 1, -0.01, &r), -1);
    assert_int_equal(bb_recommend(&good, 1, NAN, &r), -1);
    assert_int_equal(bb_recommend(&good, 1, 1.0, &r), -1);
    bb_batch_sample many[BB_RECOMMEND_MAX + 1];
    for (int i = 0; i <= BB_RECOMMEND_MAX; i++)
        many[i] = (bb_batch_sample){.batch = i + 1, .times_s = ok, .n = 2};
    assert_int_equal(bb_recommend(many, BB_RECOMMEND_MAX + 1, BB_TIE_MARGIN_DEFAULT, &r), -1);
    assert_int_equal(bb_recommend(many, BB_RECOMMEND_MAX, BB_TIE_MARGIN_DEFAULT, &r), 0);
}

/* ---- words ------------------------------------------------------------------------- */

/* A recommendation with the given tied batch sizes (best = the last one). */
static void fake(bb_recommendation *r, const int64_t *batch, const int *tied, int n, double margin)
{
    memset(r, 0, sizeof *r);
    r->n = n, r->margin = margin;
    for (int i = 0; i < n; i++) {
        r->batch[i] = batch[i], r->tied[i] = tied[i], r->n_tied += tied[i];
        if (tied[i] && !r->recommended_batch)
            r->recommended_batch = batch[i];
        if (tied[i])
            r->best_batch = batch[i];
    }
}

static void test_tied_list(void **state)
{
    (void)state;
    static const int64_t b[] = {4, 8, 16, 32, 64};
    bb_recommendation r;
    char buf[64];
    fake(&r, b, (const int[]){0, 1, 1, 1, 0}, 5, 0.02);
    bb_recommend_tied_list(&r, buf, sizeof buf);
    assert_string_equal(buf, "8, 16 and 32");
    fake(&r, b, (const int[]){1, 0, 0, 0, 1}, 5, 0.02);
    bb_recommend_tied_list(&r, buf, sizeof buf);
    assert_string_equal(buf, "4 and 64");
    fake(&r, b, (const int[]){0, 0, 0, 1, 0}, 5, 0.02);
    bb_recommend_tied_list(&r, buf, sizeof buf);
    assert_string_equal(buf, "32");
    fake(&r, b, (const int[]){1, 1, 1, 1, 1}, 5, 0.02);
    bb_recommend_tied_list(&r, buf, 8); /* cut short, still a string */
    assert_string_equal(buf, "4, 8, 1");
    bb_recommend_tied_list(&r, buf, 1);
    assert_string_equal(buf, "");
}

static void test_sentences(void **state)
{
    (void)state;
    static const int64_t b[] = {4, 8, 16, 32, 64};
    bb_recommendation r;
    char buf[128];
    fake(&r, b, (const int[]){0, 1, 1, 1, 0}, 5, 0.02);
    bb_recommend_sentence(&r, "resnet18", buf, sizeof buf);
    assert_string_equal(buf, "resnet18: 8, 16 and 32 are tied within noise (2% margin); use 8");
    fake(&r, b, (const int[]){0, 0, 0, 1, 0}, 5, 0.02);
    bb_recommend_sentence(&r, "resnet18", buf, sizeof buf);
    assert_string_equal(buf, "resnet18: 32 is the fastest; use 32");
    fake(&r, b, (const int[]){1, 1, 0, 0, 0}, 5, 0.025);
    bb_recommend_sentence(&r, "vit_b_16", buf, sizeof buf);
    assert_string_equal(buf, "vit_b_16: 4 and 8 are tied within noise (2.5% margin); use 4");
    bb_recommend_sentence(&r, "vit_b_16", buf, 12);
    assert_string_equal(buf, "vit_b_16: 4");

    /* from a real computation: the noisy curve reads as its tied set */
    static const int64_t nb[] = {1, 2, 4, 8, 16, 32};
    static const double ms[] = {20, 13, 10.15, 10, 10.15, 11.5};
    curve c;
    make_curve(&c, nb, ms, 6, 40, 0.02, 7);
    assert_int_equal(bb_recommend(c.s, c.nb, BB_TIE_MARGIN_DEFAULT, &r), 0);
    char line[BB_RECOMMEND_SENTENCE_LEN];
    bb_recommend_sentence(&r, "resnet50", line, sizeof line);
    /* 4 is 1.5% slower than 8 with 2% noise: its tie could go either way in a rerun */
    assert_string_equal(line, "resnet50: 4, 8 and 16 are tied within noise (2% margin); use 4; a rerun may answer 8: "
                              "a tie within a CI's width of the 2% margin");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_winner),
        cmocka_unit_test(test_a_tie_at_the_margin_is_borderline),
        cmocka_unit_test(test_flat_curve_all_tied),
        cmocka_unit_test(test_noisy_curve),
        cmocka_unit_test(test_input_order_does_not_matter),
        cmocka_unit_test(test_exact_ties),
        cmocka_unit_test(test_single_batch_and_single_times),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_tied_list),
        cmocka_unit_test(test_sentences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

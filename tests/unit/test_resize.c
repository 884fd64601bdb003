/*
 * test_resize.c — engine/resize.h's taps: what every convention must hold,
 * and a few values worked out by hand.
 *
 * Why this file exists: the taps are computed once at lowering and read
 * without bounds checks by the CPU kernel (and would be by a CUDA one). Over
 * random sides, scales and every mode, coordinate transformation and
 * rounding, each tap must name a pixel inside the input and the weights of
 * a linear or cubic tap must sum to 1; the numbers themselves are held to
 * numpy (tests/onnx/resize_cases.py) and ONNX's own cases
 * (run_node_tests.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "engine/resize.h"

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void test_taps_inside_and_normalised(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    bb_resize_tap *t = malloc(sizeof *t * 200);
    assert_non_null(t);
    for (int c = 0; c < 3000; c++) {
        bb_resize r = {.mode = (bb_resize_mode)(rng_next(&s) % 3), .coord = (bb_resize_coord)(rng_next(&s) % BB_RC_COUNT),
                       .round = (bb_resize_round)(rng_next(&s) % BB_RN_COUNT),
                       .exclude_outside = (int)(rng_next(&s) % 2), .cubic_a = c % 2 ? -0.75f : -0.5f};
        const int64_t n = 1 + (int64_t)(rng_next(&s) % 40), m = 1 + (int64_t)(rng_next(&s) % 200);
        /* the file's scale: out / in, or a little off it (not whole) */
        r.scale[0] = r.scale[1] = (double)m / (double)n * (rng_next(&s) % 2 ? 1.0 : 1.0 + 0.03 * (double)(c % 7));
        const int nt = bb_resize_taps(&r, c % 2, n, m, t);
        assert_int_equal(nt, r.mode == BB_RESIZE_CUBIC ? 4 : r.mode == BB_RESIZE_LINEAR ? 2 : 1);
        for (int64_t o = 0; o < m; o++) {
            double sum = 0;
            for (int k = 0; k < BB_RESIZE_TAPS; k++) {
                assert_true(t[o].at[k] >= 0 && t[o].at[k] < n);
                if (k >= nt)
                    assert_true(t[o].w[k] == 0.f);
                sum += t[o].w[k];
            }
            assert_true(fabs(sum - 1.0) < 1e-5);
        }
    }
    free(t);
}

/* 4 to 7 with align_corners: pixel o at o * 3 / 6 = o / 2 */
static void test_align_corners_by_hand(void **state)
{
    (void)state;
    bb_resize r = {.mode = BB_RESIZE_LINEAR, .coord = BB_RC_ALIGN_CORNERS, .scale = {7.0 / 4, 7.0 / 4}};
    bb_resize_tap t[7];
    bb_resize_taps(&r, 0, 4, 7, t);
    for (int o = 0; o < 7; o++) {
        assert_int_equal(t[o].at[0], o / 2);
        assert_true(fabs(t[o].w[1] - (o % 2 ? 0.5f : 0.f)) < 1e-7);
    }
    /* one output pixel reads the first input pixel */
    bb_resize_taps(&r, 0, 4, 1, t);
    assert_int_equal(t[0].at[0], 0);
    assert_true(t[0].w[0] == 1.f);
}

/* nearest, 2 to 5, tf_half_pixel_for_nn: (o + 0.5) / 2.5 = 0.2, 0.6, 1.0,
 * 1.4, 1.8; ceil takes 1, 1, 1, 2 -> 1 (the border), 2 -> 1 */
static void test_nearest_rounding_by_hand(void **state)
{
    (void)state;
    bb_resize r = {.mode = BB_RESIZE_NEAREST, .coord = BB_RC_TF_HALF_PIXEL_FOR_NN, .round = BB_RN_CEIL,
                   .scale = {2.5, 2.5}};
    bb_resize_tap t[5];
    const int64_t ceil_at[5] = {1, 1, 1, 1, 1}, floor_at[5] = {0, 0, 1, 1, 1}, prefer_floor[5] = {0, 1, 1, 1, 1};
    bb_resize_taps(&r, 1, 2, 5, t);
    for (int o = 0; o < 5; o++)
        assert_int_equal(t[o].at[0], ceil_at[o]);
    r.round = BB_RN_FLOOR;
    bb_resize_taps(&r, 1, 2, 5, t);
    for (int o = 0; o < 5; o++)
        assert_int_equal(t[o].at[0], floor_at[o]);
    r.round = BB_RN_ROUND_PREFER_FLOOR;
    bb_resize_taps(&r, 1, 2, 5, t);
    for (int o = 0; o < 5; o++)
        assert_int_equal(t[o].at[0], prefer_floor[o]);
}

/* the backends' array: W's columns, then H's rows, each as bb_resize_taps
 * gives them */
static void test_plan_is_both_sides(void **state)
{
    (void)state;
    bb_resize r = {.mode = BB_RESIZE_CUBIC, .coord = BB_RC_ALIGN_CORNERS, .cubic_a = -0.75f, .scale = {1.5, 0.5}};
    const int64_t in[2] = {6, 10}, out[2] = {9, 5};
    bb_resize_tap rows[9], cols[5];
    int nt = 0;
    bb_resize_tap *t = bb_resize_plan(&r, in, out, &nt);
    assert_non_null(t);
    assert_int_equal(nt, 4);
    bb_resize_taps(&r, 1, in[1], out[1], cols);
    bb_resize_taps(&r, 0, in[0], out[0], rows);
    for (int o = 0; o < 5; o++)
        for (int k = 0; k < 4; k++)
            assert_true(t[o].at[k] == cols[o].at[k] && t[o].w[k] == cols[o].w[k]);
    for (int o = 0; o < 9; o++)
        for (int k = 0; k < 4; k++)
            assert_true(t[5 + o].at[k] == rows[o].at[k] && t[5 + o].w[k] == rows[o].w[k]);
    free(t);
}

/* what oneDNN's resampling may run: whole nearest upscalings in the two
 * conventions that read floor(o / f), linear with half-pixel centres at
 * the scale out / in; nothing else */
static void test_resampling_choice(void **state)
{
    (void)state;
    const int64_t in[2] = {4, 6}, up[2] = {8, 18}, frac[2] = {6, 9};
    bb_resize r = {.mode = BB_RESIZE_NEAREST, .coord = BB_RC_ASYMMETRIC, .round = BB_RN_FLOOR, .scale = {2, 3}};
    assert_true(bb_resize_is_resampling(&r, in, up));
    r.round = BB_RN_CEIL;
    assert_false(bb_resize_is_resampling(&r, in, up));
    r.coord = BB_RC_HALF_PIXEL, r.round = BB_RN_ROUND_PREFER_CEIL;
    assert_true(bb_resize_is_resampling(&r, in, up));
    r.scale[0] = 1.5, r.scale[1] = 1.5;
    assert_false(bb_resize_is_resampling(&r, in, frac));
    r.mode = BB_RESIZE_LINEAR;
    assert_true(bb_resize_is_resampling(&r, in, frac));
    r.scale[0] = 1.6; /* 4 x 1.6 is 6.4: ONNX reads pixel o / 1.6 */
    assert_false(bb_resize_is_resampling(&r, in, frac));
    r.scale[0] = 1.5, r.coord = BB_RC_ALIGN_CORNERS;
    assert_false(bb_resize_is_resampling(&r, in, frac));
    r.coord = BB_RC_HALF_PIXEL, r.mode = BB_RESIZE_CUBIC;
    assert_false(bb_resize_is_resampling(&r, in, frac));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taps_inside_and_normalised),
        cmocka_unit_test(test_align_corners_by_hand),
        cmocka_unit_test(test_nearest_rounding_by_hand),
        cmocka_unit_test(test_resampling_choice),
        cmocka_unit_test(test_plan_is_both_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

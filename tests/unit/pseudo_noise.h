/*
 * pseudo_noise.h — deterministic pseudo-noise for test fixtures.
 *
 * Why this file exists: tests of noisy-data logic (the tie-aware
 * recommendation, the report's significance sentences) need samples that
 * look noisy yet are the same on every run and every machine. One 64-bit
 * linear congruential generator (Knuth's MMIX constants) serves them all.
 */
#ifndef BB_TEST_PSEUDO_NOISE_H
#define BB_TEST_PSEUDO_NOISE_H

#include <stdint.h>

/* Uniform in [-1, 1); advances *state. */
static inline double bb_test_noise(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

#endif

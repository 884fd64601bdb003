/*
 * ratio.h — how two samples of times compare: the ratio of their typical
 * values with a 95% confidence interval, and whether they differ at all.
 *
 * Why this file exists: "batch 16 is 3% faster than batch 8" and "this
 * commit made resnet50 5% slower" are claims about two noisy samples. Both
 * the tie rule of the recommendation (bench/recommend.h) and `batchbench
 * compare` make them through this one function, so they agree.
 *
 * Method (distribution-free, deterministic: no resampling):
 *  - Work on logs, so a ratio is a shift: d_ij = log(b_j) - log(a_i) over
 *    all n_a * n_b pairs.
 *  - ratio = exp(median of d_ij): the Hodges-Lehmann estimate of the shift,
 *    as a ratio b / a (numpy.median: the mean of the two middle d_ij when
 *    n_a n_b is even).
 *  - 95% CI (Moses): with K = floor(n_a n_b / 2 - z sqrt(n_a n_b
 *    (n_a + n_b + 1) / 12)), z = 1.959964 (scipy.stats.norm.ppf(0.975)),
 *    the interval is [exp(d_(K)), exp(d_(n_a n_b + 1 - K))] of the sorted d
 *    (1-based ranks; no tie correction); K < 1 (tiny samples, and always
 *    when n_a or n_b is 1) gives the whole range of d.
 *  - Mann-Whitney U of b against a: U = #{b_j > a_i} + 0.5 #{b_j == a_i}; the
 *    two-sided p-value from the normal approximation with the tie
 *    correction and the continuity correction, as
 *    scipy.stats.mannwhitneyu(b, a, alternative='two-sided',
 *    method='asymptotic', use_continuity=True) computes it: z = (max(U,
 *    n_a n_b - U) - n_a n_b / 2 - 0.5) / sigma, p = min(1, 2 P(Z > z)),
 *    sigma^2 = n_a n_b / 12 ((n + 1) - sum(t^3 - t) / (n (n - 1))),
 *    n = n_a + n_b, t the sizes of the groups of equal values in a and b
 *    together. When every value is equal (sigma = 0) p = 1.
 */
#ifndef BB_RATIO_H
#define BB_RATIO_H

typedef struct {
    int n_a, n_b;            /* the sample sizes as given (before thinning) */
    double ratio;            /* Hodges-Lehmann estimate of b / a */
    double ci_lo, ci_hi;     /* its 95% confidence interval */
    double ratio_of_medians; /* median(b) / median(a), of the full samples */
    double u;                /* Mann-Whitney U of b against a, in 0..n_a n_b
                                (in the thinned sizes' product when thinned) */
    double p_value;          /* two-sided, see above; 1 when every value is equal */
} bb_ratio;

/* b against a (so ratio > 1: b is slower). Every value must be finite and
 * > 0; n_a, n_b >= 1; a and b are not modified. A sample larger than
 * BB_RATIO_MAX_N is thinned first to that many evenly spaced order
 * statistics (0-based ranks round(i (n - 1) / (BB_RATIO_MAX_N - 1)),
 * i = 0..BB_RATIO_MAX_N - 1, min and max included), since the pairs grow
 * as n_a * n_b; ratio, CI, u and p_value are then those of the thinned
 * samples. Deterministic: the same input gives the same bits. Returns 0
 * (r filled), or -1 (r untouched) on bad input (NULL, n < 1, a value not
 * finite or <= 0) or when memory runs out. */
#define BB_RATIO_MAX_N 2000
int bb_ratio_compute(const double *a, int n_a, const double *b, int n_b, bb_ratio *r);

/* Significance level used throughout: a difference is "significant" when
 * p_value < BB_ALPHA and the CI excludes 1. */
#define BB_ALPHA 0.05

#endif

/*
 * stats.h — statistics of a sample of batch times, in seconds.
 *
 * Why this file exists: a benchmark result is a distribution, not a number.
 * The sweep reports the median (robust to the occasional slow batch caused
 * by the OS), spread (std, cv, p5..p99) and a distribution-free 95%
 * confidence interval of the median, so two batch sizes can be told apart
 * honestly. Conventions match NumPy where one exists, so results can be
 * re-derived from the raw times in a result file.
 */
#ifndef BB_STATS_H
#define BB_STATS_H

typedef struct {
    int n;          /* sample size */
    double median;  /* middle order statistic (mean of the two middle ones for even n) */
    double mean;
    double std;     /* sample standard deviation (divisor n-1); 0 when n == 1 */
    double min, max;
    double p5, p95; /* percentiles, linear interpolation between order
                       statistics: numpy.percentile's default ('linear') */
    double p50, p90, p99; /* the same method; p50 == median exactly. A high
                             percentile of a small sample is mostly
                             interpolation: see bb_stats_supports */
    double ci_lo, ci_hi; /* 95% confidence interval of the median (see below) */
    double cv;      /* std / mean; 0 when mean == 0 */
} bb_stats;

/*
 * Computes every field from x[0..n-1]; x is not modified. Returns 0, or -1
 * when x is NULL, n < 1, a value is not finite, or memory runs out.
 *
 * The confidence interval of the median is distribution-free: with the
 * sorted sample X_(1) <= ... <= X_(n) and B ~ Binomial(n, 1/2),
 * P(X_(j) <= median <= X_(k)) >= P(j <= B <= k-1). The interval is the
 * narrowest symmetric pair k = n + 1 - j whose coverage, computed from the
 * exact Binomial(n, 1/2) CDF, is >= 0.95 (n = 10: ranks 2 and 9, 97.9%;
 * n = 20: ranks 6 and 15, 95.9%). For n < 6 no pair reaches 95% (even
 * min..max covers only 1 - 2^(1-n), 93.75% at n = 5), so min and max are
 * given: the interval is then wider in meaning than it looks.
 */
int bb_stats_compute(const double *x, int n, bb_stats *s);

/* qsort's comparator for doubles, ascending (the one every sort of times uses). */
int bb_cmp_double(const void *a, const void *b);

/* The 1-based rank j of the lower CI bound for sample size n (k = n + 1 - j);
 * 0 when n < 6 (no pair reaches 95%). Exposed for tests and documentation. */
int bb_stats_ci_rank(int n);

/* 1 when the percentile p (0..1; 0.99 for p99) of an n-sample is backed by
 * at least one sample beyond it, i.e. n (1 - p) >= 1 (up to rounding):
 * p90 needs n >= 10, p95 n >= 20, p99 n >= 100. Otherwise 0 (also for
 * n < 1 or p outside [0, 1]): the value is then an interpolation towards
 * the maximum, and a report should show it as unsupported, not hide it. */
int bb_stats_supports(int n, double p);

#endif

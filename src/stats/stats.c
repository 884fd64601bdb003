/*
 * stats.c — sample statistics of batch times (stats.h).
 *
 * Why this file exists: one careful implementation of the numbers every
 * result file reports (median, spread, percentiles, the median's confidence
 * interval), shared by the sweep and the tests instead of ad-hoc copies.
 */
#include "stats/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(x, 100*p) with the default 'linear' method; s sorted. */
static double quantile_sorted(const double *s, int n, double p)
{
    double h = (double)(n - 1) * p;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return s[n - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

/* log(exp(a) + exp(b)), safe for very negative arguments. */
static double log_add(double a, double b)
{
    double hi = a > b ? a : b, lo = a > b ? b : a;
    if (hi == -INFINITY)
        return hi;
    return hi + log1p(exp(lo - hi));
}

int bb_stats_ci_rank(int n)
{
    /* Largest j with 1 - 2 P(B <= j-1) >= 0.95, i.e. P(B <= j-1) <= 0.025.
     * The CDF is summed in log space (pmf recurrence) so large n works. */
    const double log_alpha = log(0.025);
    double log_pmf = -(double)n * log(2.0), log_cdf = -INFINITY;
    int j = 0;
    for (int i = 0; i < n / 2; i++) {
        log_cdf = log_add(log_cdf, log_pmf); /* P(B <= i) */
        if (log_cdf > log_alpha + 1e-12)
            break;
        j = i + 1;
        log_pmf += log((double)(n - i) / (double)(i + 1));
    }
    return j;
}

int bb_stats_supports(int n, double p)
{
    if (n < 1 || !(p >= 0.0 && p <= 1.0))
        return 0;
    /* 1e-9 absorbs the rounding of 1 - p (10 x (1 - 0.9) is 0.99999...). */
    return (double)n * (1.0 - p) >= 1.0 - 1e-9;
}

static void moments(const double *x, int n, bb_stats *s)
{
    double sum = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++)
        sum += x[i];
    s->mean = sum / n;
    for (int i = 0; i < n; i++)
        ss += (x[i] - s->mean) * (x[i] - s->mean);
    s->std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    s->cv = s->mean != 0.0 ? s->std / s->mean : 0.0;
}

static void order_stats(const double *sorted, int n, bb_stats *s)
{
    s->min = sorted[0];
    s->max = sorted[n - 1];
    s->median = quantile_sorted(sorted, n, 0.5);
    s->p5 = quantile_sorted(sorted, n, 0.05);
    s->p95 = quantile_sorted(sorted, n, 0.95);
    s->p50 = s->median; /* the same computation: quantile_sorted(.., 0.5) */
    s->p90 = quantile_sorted(sorted, n, 0.90);
    s->p99 = quantile_sorted(sorted, n, 0.99);
    int j = bb_stats_ci_rank(n);
    s->ci_lo = j > 0 ? sorted[j - 1] : s->min;
    s->ci_hi = j > 0 ? sorted[n - j] : s->max;
}

int bb_stats_compute(const double *x, int n, bb_stats *s)
{
    if (!x || !s || n < 1)
        return -1;
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return -1;
    double *sorted = malloc(sizeof(double) * (size_t)n);
    if (!sorted)
        return -1;
    memcpy(sorted, x, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), bb_cmp_double);
    memset(s, 0, sizeof *s);
    s->n = n;
    moments(x, n, s);
    order_stats(sorted, n, s);
    free(sorted);
    return 0;
}

/*
 * ratio.c — the ratio of two samples of times with its 95% confidence
 * interval and a Mann-Whitney p-value (ratio.h).
 *
 * Why this file exists: the recommendation's tie rule and `batchbench
 * compare` both ask "is b slower than a, by how much, and can the data
 * tell?". One deterministic, distribution-free implementation answers both,
 * so they cannot disagree. The method is specified in ratio.h and checked
 * against SciPy/NumPy by tests/stats/check_stats.py.
 */
#include "stats/ratio.h"
#include "stats/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The 0.975 quantile of the standard normal (scipy.stats.norm.ppf(0.975)). */
#define Z_975 1.959963984540054

static int valid_sample(const double *x, int n)
{
    if (!x || n < 1)
        return 0;
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]) || x[i] <= 0.0)
            return 0;
    return 1;
}

/* A sorted copy of x (NULL when memory runs out). */
static double *sorted_copy(const double *x, int n)
{
    double *s = malloc(sizeof(double) * (size_t)n);
    if (!s)
        return NULL;
    memcpy(s, x, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), bb_cmp_double);
    return s;
}

/* numpy.median of a sorted sample. */
static double median_sorted(const double *s, int n)
{
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Keeps BB_RATIO_MAX_N evenly spaced order statistics of s (sorted, in
 * place): 0-based ranks round(i (n-1) / (MAX-1)), i = 0..MAX-1, so min and
 * max stay. Rank(i) >= i, so no value is overwritten before it is read.
 * Returns the new size. */
static int thin_sorted(double *s, int n)
{
    const int64_t m = BB_RATIO_MAX_N;
    if (n <= m)
        return n;
    for (int64_t i = 0; i < m; i++)
        s[i] = s[(i * (n - 1) + (m - 1) / 2) / (m - 1)];
    return (int)m;
}

/* Mann-Whitney U of b against a (both sorted) and its two-sided p-value:
 * normal approximation with tie and continuity correction, as scipy's
 * mannwhitneyu(b, a, method='asymptotic', use_continuity=True). */
static void mann_whitney(const double *a, int na, const double *b, int nb, bb_ratio *r)
{
    double u = 0.0, tie = 0.0;
    int i = 0, j = 0;
    while (i < na || j < nb) { /* one group of equal values per pass */
        double v = (j >= nb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
        int ca = 0, cb = 0;
        for (; i < na && a[i] == v; i++)
            ca++;
        for (; j < nb && b[j] == v; j++)
            cb++;
        u += (double)cb * ((double)(i - ca) + 0.5 * (double)ca);
        double t = (double)(ca + cb);
        tie += t * t * t - t;
    }
    double n1n2 = (double)na * (double)nb, n = (double)na + (double)nb;
    double var = n1n2 / 12.0 * ((n + 1.0) - tie / (n * (n - 1.0)));
    double num = fmax(u, n1n2 - u) - n1n2 / 2.0 - 0.5;
    double p = var > 0.0 ? erfc(num / sqrt(var) / sqrt(2.0)) : (num < 0.0 ? 1.0 : 0.0);
    r->u = u;
    r->p_value = fmin(1.0, fmax(0.0, p));
}

/* xorshift64*: pivot positions for the selection; a fixed seed keeps the
 * result (and the running time) the same from run to run. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

static double median3(double x, double y, double z)
{
    return fmax(fmin(x, y), fmin(fmax(x, y), z));
}

static void swap(double *x, size_t i, size_t j)
{
    double t = x[i];
    x[i] = x[j];
    x[j] = t;
}

/* Rearranges x[0..n-1] so that x[k] is its k-th smallest (0-based), with
 * nothing larger before it and nothing smaller after it. Three-way
 * partitions, so many equal values (quantised timers) stay linear. */
static void select_kth(double *x, size_t n, size_t k, uint64_t *rng)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t w = hi - lo;
        double pv = median3(x[lo + next_random(rng) % w], x[lo + next_random(rng) % w],
                            x[lo + next_random(rng) % w]);
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (x[i] < pv)
                swap(x, lt++, i++);
            else if (x[i] > pv)
                swap(x, i, --gt);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

/* Places the order statistics of the ascending 0-based ranks rank[0..m-1]
 * at their positions in x[0..n-1]; each search starts past the last one. */
static void select_ranks(double *x, size_t n, const size_t *rank, int m)
{
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    size_t base = 0;
    for (int i = 0; i < m; i++) {
        if (rank[i] < base)
            continue; /* already in place (a repeated rank) */
        select_kth(x + base, n - base, rank[i] - base, &rng);
        base = rank[i] + 1;
    }
}

/* Hodges-Lehmann ratio and Moses CI from the log-differences of a and b
 * (sorted, thinned). Returns -1 when memory runs out. */
static int hodges_lehmann(const double *a, int na, const double *b, int nb, bb_ratio *r)
{
    size_t n = (size_t)na * (size_t)nb;
    double *d = malloc(sizeof(double) * n), *lb = malloc(sizeof(double) * (size_t)nb);
    if (!d || !lb) {
        free(d);
        free(lb);
        return -1;
    }
    for (int j = 0; j < nb; j++)
        lb[j] = log(b[j]);
    for (int i = 0; i < na; i++) {
        double la = log(a[i]);
        for (int j = 0; j < nb; j++)
            d[(size_t)i * (size_t)nb + (size_t)j] = lb[j] - la;
    }
    free(lb);
    double nn = (double)n;
    double k = floor(nn / 2.0 - Z_975 * sqrt(nn * ((double)na + (double)nb + 1.0) / 12.0));
    size_t kl = k < 1.0 ? 0 : (size_t)k - 1, kh = n - 1 - kl;
    size_t rank[4] = {kl, (n - 1) / 2, n / 2, kh};
    select_ranks(d, n, rank, 4);
    double med = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
    r->ratio = exp(med);
    r->ci_lo = exp(d[kl]);
    r->ci_hi = exp(d[kh]);
    free(d);
    return 0;
}

int bb_ratio_compute(const double *a, int n_a, const double *b, int n_b, bb_ratio *r)
{
    if (!r || !valid_sample(a, n_a) || !valid_sample(b, n_b))
        return -1;
    double *sa = sorted_copy(a, n_a), *sb = sorted_copy(b, n_b);
    bb_ratio out = {.n_a = n_a, .n_b = n_b};
    int rc = -1;
    if (sa && sb) {
        out.ratio_of_medians = median_sorted(sb, n_b) / median_sorted(sa, n_a);
        int ma = thin_sorted(sa, n_a), mb = thin_sorted(sb, n_b);
        mann_whitney(sa, ma, sb, mb, &out);
        rc = hodges_lehmann(sa, ma, sb, mb, &out);
    }
    free(sa);
    free(sb);
    if (rc == 0)
        *r = out;
    return rc;
}

/*
 * rounds.c — the disturbed rounds of an interleaved measurement (rounds.h).
 */
#include "stats/rounds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats.h"
#include "util/list_words.h"

static int sample_ok(const bb_round_sample *s)
{
    if (!s->times_s || s->n < 1 || !s->slice_batches || s->n_slices < 1 || s->n_slices > BB_ROUNDS_MAX)
        return 0;
    long sum = 0;
    for (int r = 0; r < s->n_slices; r++) {
        if (s->slice_batches[r] < 0)
            return 0;
        sum += s->slice_batches[r];
    }
    for (int i = 0; i < s->n; i++)
        if (!isfinite(s->times_s[i]) || s->times_s[i] <= 0)
            return 0;
    return sum == s->n;
}

/* numpy.percentile(x, 100 p) ('linear'); sorts x. n >= 1. */
static double percentile(double *x, int n, double p)
{
    qsort(x, (size_t)n, sizeof *x, bb_cmp_double);
    double h = (n - 1) * p;
    int lo = (int)floor(h);
    return lo + 1 < n ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo];
}

/* m[b * R + r]: the median of b's slice in round r, NAN when b has none. */
static void slice_medians(const bb_round_sample *s, int n, int R, double *m, double *tmp)
{
    for (int b = 0; b < n; b++)
        for (int r = 0, off = 0; r < R; r++) {
            int k = r < s[b].n_slices ? s[b].slice_batches[r] : 0;
            memcpy(tmp, s[b].times_s + off, sizeof *tmp * (size_t)k);
            m[b * R + r] = k > 0 ? percentile(tmp, k, 0.5) : NAN;
            off += k;
        }
}

/* slowdown[r] from the slice medians and each batch size's usual time. */
static void slowdowns(int n, int R, const double *m, double *tmp, bb_round_screen *out)
{
    double usual[64];
    for (int b = 0; b < n; b++) {
        int k = 0;
        for (int r = 0; r < R; r++)
            if (isfinite(m[b * R + r]))
                tmp[k++] = m[b * R + r];
        usual[b] = k > 0 ? percentile(tmp, k, BB_ROUNDS_USUAL_Q) : NAN;
    }
    for (int r = 0; r < R; r++) {
        int k = 0;
        for (int b = 0; b < n; b++)
            if (isfinite(m[b * R + r]) && isfinite(usual[b]))
                tmp[k++] = m[b * R + r] / usual[b];
        out->slowdown[r] = k >= 2 ? percentile(tmp, k, 0.5) : 1.0;
    }
}

/* Each round's round trip between the threads (the median over the batch
 * sizes that measured one in it), and the rounds whose threads ran
 * farther apart than the closest round's by BB_ROUNDS_FAR_RTT. */
static void threads_apart(const bb_round_sample *s, int n, int R, double *tmp, bb_round_screen *out)
{
    double lowest = -1.0;
    for (int r = 0; r < R; r++) {
        int k = 0;
        for (int b = 0; b < n; b++)
            if (s[b].core_rtt_ns && r < s[b].n_slices && s[b].core_rtt_ns[r] > 0 && isfinite(s[b].core_rtt_ns[r]))
                tmp[k++] = s[b].core_rtt_ns[r];
        out->core_rtt_ns[r] = k > 0 ? percentile(tmp, k, 0.5) : -1.0;
        out->n_rtt += k > 0;
        if (k > 0 && (lowest < 0 || out->core_rtt_ns[r] < lowest))
            lowest = out->core_rtt_ns[r];
    }
    int kn = 0, kf = 0;
    for (int r = 0; r < R; r++) {
        double x = out->core_rtt_ns[r];
        out->far[r] = x > 0 && x >= BB_ROUNDS_FAR_RTT * lowest;
        out->n_far += out->far[r];
        if (x > 0 && !out->far[r])
            tmp[kn++] = x;
    }
    out->near_rtt_ns = kn > 0 ? percentile(tmp, kn, 0.5) : 0.0;
    for (int r = 0; r < R; r++)
        if (out->far[r])
            tmp[kf++] = out->core_rtt_ns[r];
    out->far_rtt_ns = kf > 0 ? percentile(tmp, kf, 0.5) : 0.0;
}

/* Sets mask[r] for the rounds whose slowdown is above (or, above = 0,
 * below) limit; their median slowdown into *median (0 when none). Returns
 * how many. tmp: room for the rounds. */
static int mark(const bb_round_screen *s, double limit, int above, unsigned char *mask, double *median, double *tmp)
{
    int k = 0;
    for (int r = 0; r < s->n_rounds; r++) {
        mask[r] = above ? s->slowdown[r] > limit : s->slowdown[r] < limit;
        if (mask[r])
            tmp[k++] = s->slowdown[r];
    }
    *median = k > 0 ? percentile(tmp, k, 0.5) : 0.0;
    return k;
}

/* Whether leaving the disturbed rounds out keeps enough: a quarter of the
 * rounds, BB_ROUNDS_MIN_KEPT of them, and a sample of every batch size. */
static int can_apply(const bb_round_sample *s, int n, const bb_round_screen *out)
{
    int kept = out->n_rounds - out->n_disturbed;
    if (out->n_disturbed == 0 || kept < BB_ROUNDS_MIN_KEPT || 4 * kept < out->n_rounds)
        return 0;
    for (int b = 0; b < n; b++) {
        int left = 0;
        for (int r = 0; r < s[b].n_slices; r++)
            left += out->disturbed[r] ? 0 : s[b].slice_batches[r];
        if (left < 1)
            return 0;
    }
    return 1;
}

int bb_rounds_screen(const bb_round_sample *s, int n, bb_round_screen *out)
{
    memset(out, 0, sizeof *out);
    if (!s || n < 2 || n > 64)
        return -1;
    int R = 0, longest = 0;
    for (int b = 0; b < n; b++) {
        if (!sample_ok(&s[b]))
            return -1;
        R = s[b].n_slices > R ? s[b].n_slices : R;
        longest = s[b].n > longest ? s[b].n : longest;
    }
    double *m = malloc(sizeof *m * (size_t)(n * R));
    double *tmp = malloc(sizeof *tmp * (size_t)(longest > R ? longest : R) + sizeof *tmp * (size_t)n);
    if (!m || !tmp)
        return free(m), free(tmp), -1;
    out->n_rounds = R;
    slice_medians(s, n, R, m, tmp);
    slowdowns(n, R, m, tmp, out);
    out->n_disturbed = mark(out, 1.0 + BB_DISTURBED_SLOWDOWN, 1, out->disturbed, &out->disturbed_slowdown, tmp);
    out->n_faster = mark(out, 1.0 / (1.0 + BB_DISTURBED_SLOWDOWN), 0, out->faster, &out->faster_slowdown, tmp);
    out->applied = can_apply(s, n, out);
    threads_apart(s, n, R, tmp, out);
    free(m), free(tmp);
    return 0;
}

int bb_rounds_kept_times(const bb_round_sample *s, const bb_round_screen *screen, double *kept)
{
    int k = 0;
    for (int r = 0, off = 0; r < s->n_slices; r++) {
        int c = s->slice_batches[r];
        if (!screen->applied || r >= screen->n_rounds || !screen->disturbed[r])
            for (int i = 0; i < c; i++)
                kept[k++] = s->times_s[off + i];
        off += c;
    }
    return k;
}

void bb_rounds_list(const unsigned char *mask, int n, char *buf, unsigned long len)
{
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t at = 0;
    int runs = 0, total = 0;
    for (int r = 0; r < n; r++)
        if (mask[r] && (r == 0 || !mask[r - 1]))
            total++;
    for (int r = 0; r < n && at < len; r++) {
        if (!mask[r] || (r > 0 && mask[r - 1]))
            continue;
        int end = r;
        while (end + 1 < n && mask[end + 1])
            end++;
        const char *sep = bb_list_sep(runs, total);
        int w = end > r ? snprintf(buf + at, len - at, "%s%d-%d", sep, r + 1, end + 1)
                        : snprintf(buf + at, len - at, "%s%d", sep, r + 1);
        at += w > 0 ? (size_t)w : 0;
        runs++;
    }
}

/*
 * stats_dump.c — prints bb_stats and bb_ratio of samples read from stdin,
 * as JSON, for tests/stats/check_stats.py to compare with NumPy/SciPy.
 *
 * Why this file exists: the statistics behind every claim batchbench makes
 * (percentiles, the median's CI, the ratio of two samples with its CI and
 * p-value) should agree with the reference implementations on many
 * samples, not only the few worked by hand in tests/unit/test_stats.c.
 * This is the C side of that comparison.
 *
 * Input: line 1 sample A, line 2 sample B, numbers separated by white
 * space. Output: one JSON object, {"stats": bb_stats of A, "ratio":
 * bb_ratio of B against A, "supports": bb_stats_supports(n_A, p)}, every
 * number with 17 significant digits. Exit status 1 on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/ratio.h"
#include "stats/stats.h"

typedef struct {
    double *x;
    int n, cap;
} sample;

static int push(sample *s, double v)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        double *x = realloc(s->x, sizeof(double) * (size_t)cap);
        if (!x)
            return -1;
        s->x = x;
        s->cap = cap;
    }
    s->x[s->n++] = v;
    return 0;
}

/* Parses one line of numbers into s; -1 on a bad token, none, or OOM. */
static int parse_line(const char *line, sample *s)
{
    const char *p = line;
    for (;;) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        char *end;
        double v = strtod(p, &end);
        if (end == p || push(s, v) != 0)
            return -1;
        p = end;
    }
    return s->n > 0 ? 0 : -1;
}

static int read_samples(FILE *f, sample *a, sample *b)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = -1;
    if (getline(&line, &cap, f) > 0 && parse_line(line, a) == 0 && getline(&line, &cap, f) > 0 &&
        parse_line(line, b) == 0)
        rc = 0;
    free(line);
    return rc;
}

static void print_stats(const bb_stats *s)
{
    printf("\"stats\": {\"n\": %d, \"median\": %.17g, \"p5\": %.17g, \"p50\": %.17g, \"p90\": %.17g, "
           "\"p95\": %.17g, \"p99\": %.17g, \"ci_lo\": %.17g, \"ci_hi\": %.17g}",
           s->n, s->median, s->p5, s->p50, s->p90, s->p95, s->p99, s->ci_lo, s->ci_hi);
}

static void print_ratio(const bb_ratio *r)
{
    printf("\"ratio\": {\"n_a\": %d, \"n_b\": %d, \"ratio\": %.17g, \"ci_lo\": %.17g, \"ci_hi\": %.17g, "
           "\"u\": %.17g, \"p_value\": %.17g, \"ratio_of_medians\": %.17g}",
           r->n_a, r->n_b, r->ratio, r->ci_lo, r->ci_hi, r->u, r->p_value, r->ratio_of_medians);
}

static void print_supports(int n)
{
    printf("\"supports\": {\"p90\": %d, \"p95\": %d, \"p99\": %d}", bb_stats_supports(n, 0.90),
           bb_stats_supports(n, 0.95), bb_stats_supports(n, 0.99));
}

int main(void)
{
    sample a = {0}, b = {0};
    bb_stats s;
    bb_ratio r;
    int rc = 1;
    if (read_samples(stdin, &a, &b) != 0)
        fprintf(stderr, "stats_dump: expected two lines of numbers (sample A, sample B)\n");
    else if (bb_stats_compute(a.x, a.n, &s) != 0 || bb_ratio_compute(a.x, a.n, b.x, b.n, &r) != 0)
        fprintf(stderr, "stats_dump: bad sample (values must be finite and > 0)\n");
    else {
        printf("{");
        print_stats(&s);
        printf(", ");
        print_ratio(&r);
        printf(", ");
        print_supports(a.n);
        printf("}\n");
        rc = 0;
    }
    free(a.x);
    free(b.x);
    return rc;
}

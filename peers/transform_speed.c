/*
 * transform_speed.c — how many images per second one thread turns into
 * model inputs: bb_source_load over a jpeg data set (read the file, decode,
 * resize, crop, normalise), exactly what a loader worker does per item.
 *
 * Why this file exists: tools/transform_bench.py sets it against PIL +
 * torchvision on the same files and the same core. A warm-up pass reads
 * every file once (page cache), then each of --reps passes over all items
 * is timed with CLOCK_MONOTONIC; it prints one JSON line with the median
 * pass's images/s.
 *
 *   make build/peers/transform_speed
 *   taskset -c 0 ./build/peers/transform_speed DIR [--dct-scale] [--reps N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/source.h"
#include "util/clock.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds for one pass over all items; -1 if an item fails. */
static double pass(const bb_source *s, float *x)
{
    bb_err err = {0};
    double t0 = bb_now_s();
    for (int64_t i = 0; i < bb_source_items(s); i++)
        if (bb_source_load(s, i, x, &err) < 0) {
            fprintf(stderr, "transform_speed: %s\n", err.msg);
            return -1;
        }
    return bb_now_s() - t0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    bb_source_opts o = {0};
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dct-scale"))
            o.dct_scale = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            dir = argv[i];
    }
    if (!dir || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: transform_speed DIR [--dct-scale] [--reps N]\n");
        return 2;
    }
    bb_source *s = NULL;
    bb_err err = {0};
    float *x = malloc(sizeof(float) * BB_ITEM_FLOATS);
    if (!x || bb_source_open(&s, dir, &o, &err) != 0) {
        fprintf(stderr, "transform_speed: %s\n", err.msg);
        return 1;
    }
    double t[100];
    int rc = pass(s, x) < 0; /* warm-up */
    for (int r = 0; r < reps && !rc; r++)
        rc = (t[r] = pass(s, x)) < 0;
    if (!rc) {
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        printf("{\"engine\": \"batchbench\", \"dct_scale\": %d, \"images\": %lld, \"reps\": %d, "
               "\"median_pass_s\": %.6f, \"images_per_s\": %.2f}\n",
               o.dct_scale, (long long)bb_source_items(s), reps, t[reps / 2],
               (double)bb_source_items(s) / t[reps / 2]);
    }
    free(x);
    bb_source_close(s);
    return rc;
}

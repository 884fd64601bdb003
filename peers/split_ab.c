/*
 * split_ab.c — the CPU backend's two ways of using its threads, side by
 * side in one process: the batch split over the threads (cpu.split=batch,
 * which cpu.split=auto, the default, picks for light networks;
 * src/backends/cpu/cpu_split.c) against every op split over them
 * (cpu.split=layers).
 *
 * Both are prepared for the same graph, batch and thread count and run on
 * the same input. Each round times PASSES forward passes of one, then of
 * the other (the order alternating from round to round), and probes the
 * threads' core-to-core round trip first (src/env/core_rtt.h): on the VM
 * this was written on, 70-90 ns when the two vCPUs share a cache and
 * 300-350 ns when they do not, a state that holds for seconds to minutes.
 * Prints each round's medians and their ratio, then the median ratio over
 * all rounds and over the rounds of each state.
 *
 *   make build/peers/split_ab
 *   ./build/peers/split_ab MODEL|PATH.onnx BATCH [ROUNDS] [PASSES] [THREADS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cpu/cpu_internal.h"
#include "env/core_rtt.h"
#include "models/model.h"
#include "stats/stats.h"
#include "util/clock.h"

enum { SPLIT, LAYERS, N_WAYS };

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bb_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median of `passes` timed forward passes, in ms; -1 on failure. */
static double timed(bb_backend *b, int passes, bb_err *err)
{
    double t[64];
    for (int i = 0; i < passes; i++) {
        double t0 = bb_now_s();
        if (bb_cpu_backend.forward(b, err) != 0)
            return -1.0;
        t[i] = (bb_now_s() - t0) * 1e3;
    }
    return median(t, passes);
}

static int prepare(bb_backend **b, const bb_graph *g, int64_t batch, int threads, int way, const float *x,
                   bb_err *err)
{
    bb_run_config c = {.threads = threads};
    if (bb_opt_from_env(&c.options, "cpu", err) != 0) /* e.g. BATCHBENCH_CPU_ALGO=never */
        return -1;
    c.options.value[BB_OPT_CPU_SPLIT] = (unsigned char)(way == SPLIT ? 1 : 2); /* batch | layers */
    c.options.source[BB_OPT_CPU_SPLIT] = BB_OPT_FROM_FLAG;
    if (bb_cpu_backend.prepare(b, g, batch, &c, err) != 0 || bb_cpu_backend.set_input(*b, x, err) != 0)
        return -1;
    for (int i = 0; i < 3; i++) /* warm-up */
        if (bb_cpu_backend.forward(*b, err) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: split_ab MODEL|PATH.onnx BATCH [ROUNDS=12] [PASSES=5] [THREADS=2]\n");
        return 2;
    }
    int64_t batch = atoll(argv[2]);
    int rounds = argc > 3 ? atoi(argv[3]) : 12, passes = argc > 4 ? atoi(argv[4]) : 5;
    int threads = argc > 5 ? atoi(argv[5]) : 2;
    if (batch < 1 || rounds < 1 || rounds > 1000 || passes < 1 || passes > 64 || threads < 1) {
        fprintf(stderr, "split_ab: bad BATCH, ROUNDS (1-1000), PASSES (1-64) or THREADS\n");
        return 2;
    }
    bb_err err = {0};
    bb_model_spec spec = {argv[1], BB_HEAD_FEATURES, NULL, 0};
    bb_graph *g = bb_model_open(&spec, &err);
    if (!g) {
        fprintf(stderr, "split_ab: %s\n", err.msg);
        return 1;
    }
    int64_t dims[BB_MAX_DIMS + 1], n = 1;
    int nd = bb_tensor_shape(g, g->input, batch, dims);
    for (int i = 0; i < nd; i++)
        n *= dims[i];
    float *x = malloc(sizeof(float) * (size_t)n);
    double *ms[N_WAYS] = {calloc((size_t)rounds, sizeof(double)), calloc((size_t)rounds, sizeof(double))};
    double *ratio = calloc((size_t)rounds, sizeof(double)), *rtt = calloc((size_t)rounds, sizeof(double));
    bb_backend *b[N_WAYS] = {NULL, NULL};
    int rc = x && ms[0] && ms[1] && ratio && rtt ? 0 : 1;
    if (rc == 0)
        bb_random_input(x, n, 1);
    for (int w = 0; w < N_WAYS && rc == 0; w++)
        rc = prepare(&b[w], g, batch, threads, w, x, &err) != 0;
    bb_backend_report rep;
    if (rc == 0) {
        bb_cpu_backend.report(b[SPLIT], &rep);
        printf("%s batch %lld, %d threads, %d rounds of %d passes each; split: %s\n"
               "%.1f MMAC per op and thread split by layers, %.0f MACs per activation value (cpu.split=auto splits "
               "the batch below %.0f and %.0f: %s)\n", argv[1], (long long)batch, threads, rounds, passes,
               rep.math_mode, cpu_layer_work(g, batch, threads) / 1e6, cpu_macs_per_value(g),
               CPU_SPLIT_MAX_WORK / 1e6, CPU_SPLIT_MAX_INTENSITY,
               cpu_split_parts(g, batch, threads, &(bb_run_config){.threads = threads}) > 1 ? "splits" : "does not");
    }
    double lo_rtt = 1e30, hi_rtt = 0.0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        rtt[r] = bb_core_rtt_ns(threads);
        lo_rtt = rtt[r] > 0 && rtt[r] < lo_rtt ? rtt[r] : lo_rtt;
        hi_rtt = rtt[r] > hi_rtt ? rtt[r] : hi_rtt;
        for (int k = 0; k < N_WAYS && rc == 0; k++) {
            int w = (k + r) % N_WAYS;
            ms[w][r] = timed(b[w], passes, &err);
            rc = ms[w][r] < 0;
        }
        if (rc == 0) {
            ratio[r] = ms[SPLIT][r] / ms[LAYERS][r];
            printf("round %2d  rtt %6.0f ns  split %9.3f ms  layers %9.3f ms  ratio %.3f\n", r + 1, rtt[r],
                   ms[SPLIT][r], ms[LAYERS][r], ratio[r]);
        }
    }
    if (rc == 0) {
        double near[1000], far[1000];
        int nn = 0, nf = 0;
        for (int r = 0; r < rounds; r++) {
            if (rtt[r] > 0 && rtt[r] >= 2.0 * lo_rtt)
                far[nf++] = ratio[r];
            else
                near[nn++] = ratio[r];
        }
        printf("median ratio split/layers: %.3f (all %d rounds, round trip %.0f-%.0f ns)", median(ratio, rounds),
               rounds, lo_rtt, hi_rtt);
        if (nn && nf)
            printf("; %.3f in the %d rounds under 2x the lowest round trip, %.3f in the %d at or above it",
                   median(near, nn), nn, median(far, nf), nf);
        printf("\n");
    } else {
        fprintf(stderr, "split_ab: %s\n", err.msg[0] ? err.msg : "out of memory");
    }
    for (int w = 0; w < N_WAYS; w++) {
        bb_cpu_backend.destroy(b[w]);
        free(ms[w]);
    }
    free(ratio), free(rtt), free(x);
    bb_graph_free(g);
    return rc;
}

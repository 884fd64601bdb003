/*
 * harness_overhead.c — how much the sweep's timing adds to what it times.
 *
 * Per measured batch the harness (src/bench/sweep.c, measure()) does, beside
 * the forward pass: two CLOCK_MONOTONIC reads around it, storing the time in
 * a growing array, and two flag checks (stop signal, --max-time: a third
 * clock read). This program times exactly that bookkeeping over a million
 * iterations and relates it to the fastest forward pass the quick preset
 * measures (mobilenet_v2, batch 1): the worst case for the ratio.
 *
 *   make build/peers/harness_overhead && ./build/peers/harness_overhead
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backends/backend.h"
#include "models/model.h"
#include "util/clock.h"

static double bookkeeping_ns(void)
{
    const int n = 1000000;
    double *t = malloc(sizeof(double) * n), t_begin = bb_now_s(), sink = 0.0;
    volatile sig_atomic_t stop = 0;
    double start = bb_now_s();
    for (int i = 0; i < n; i++) {
        double t0 = bb_now_s();
        double t1 = bb_now_s(); /* forward() would run between these */
        t[i] = t1 - t0;
        if (stop || bb_now_s() - t_begin > 1e9)
            break;
    }
    double per = (bb_now_s() - start) / n * 1e9;
    for (int i = 0; i < n; i += 4096)
        sink += t[i];
    free(t);
    return per + sink * 0.0;
}

static double fastest_forward_s(void)
{
    bb_err err = {0};
    bb_model_spec spec = {"mobilenet_v2", BB_HEAD_FEATURES, NULL, 0};
    bb_graph *g = bb_model_open(&spec, &err);
    bb_backend *b = NULL;
    bb_run_config o = {.threads = 0};
    float *x = malloc(sizeof(float) * 3 * 224 * 224);
    double best = 1e30;
    bb_random_input(x, 3 * 224 * 224, 1);
    if (g && x && bb_cpu_backend.prepare(&b, g, 1, &o, &err) == 0 && bb_cpu_backend.set_input(b, x, &err) == 0) {
        for (int i = 0; i < 30; i++) {
            double t0 = bb_now_s();
            bb_cpu_backend.forward(b, &err);
            double t = bb_now_s() - t0;
            best = t < best && i >= 5 ? t : best;
        }
        bb_cpu_backend.destroy(b);
    } else {
        fprintf(stderr, "harness_overhead: %s\n", err.msg);
    }
    bb_graph_free(g);
    free(x);
    return best;
}

int main(void)
{
    double ns = bookkeeping_ns(), fwd = fastest_forward_s();
    printf("timing bookkeeping per measured batch: %.1f ns\n", ns);
    printf("fastest forward pass (mobilenet_v2, batch 1): %.3f ms\n", fwd * 1e3);
    printf("overhead: %.5f%% of the fastest timed forward (target < 0.1%%)\n", 100.0 * ns * 1e-9 / fwd);
    return 0;
}

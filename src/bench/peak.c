/* peak.c — fp32 peak measurements (peak.h). */
#include "bench/peak.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>

#include "backends/backend.h"
#include "engine/fuse.h"
#include "engine/weights.h"
#include "models/model.h"
#include "util/clock.h"

double bb_peak_sgemm_gflops(int threads, int n, int reps)
{
    omp_set_num_threads(threads > 0 ? threads : bb_cpu_default_threads());
    float *a = calloc((size_t)n * n, sizeof(float)), *c = calloc((size_t)n * n, sizeof(float));
    double best = 1e30;
    for (int i = 0; a && c && i <= reps; i++) {
        double t0 = bb_now_s();
        dnnl_sgemm('N', 'N', n, n, n, 1.f, a, n, a, n, 0.f, c, n);
        double t = bb_now_s() - t0;
        best = i > 0 && t < best ? t : best; /* call 0 warms up the JIT */
    }
    free(a);
    free(c);
    return best < 1e30 ? 2.0 * n * n * (double)n / best / 1e9 : -1.0;
}

/* input [256,14,14] -> conv 3x3 256 (bias) -> relu */
static bb_graph *conv_graph(void)
{
    bb_graph *g = bb_graph_new("peak_conv", BB_FAMILY_CONV, BB_HEAD_FEATURES);
    int64_t dims[3] = {256, 14, 14};
    g->input = bb_graph_add_tensor(g, "input", BB_T_INPUT, 3, dims);
    int y = bb_conv(g, "conv", g->input, 256, 3, 1, 1, 1, 1);
    g->output = bb_activation(g, y, BB_ACT_RELU);
    bb_weights_random(g, 1);
    bb_fuse(g);
    return g;
}

double bb_peak_conv_gflops(int threads, int reps)
{
    const int64_t batch = 8;
    bb_graph *g = conv_graph();
    bb_backend *b = NULL;
    bb_backend_opts o = {.threads = threads};
    bb_err err = {0};
    int64_t n = batch * 256 * 14 * 14;
    float *x = malloc(sizeof(float) * (size_t)n);
    double best = 1e30;
    if (x && bb_cpu_backend.prepare(&b, g, batch, &o, &err) == 0) {
        bb_random_input(x, n, 1);
        bb_cpu_backend.set_input(b, x, &err);
        for (int i = 0; i <= reps; i++) {
            double t0 = bb_now_s();
            bb_cpu_backend.forward(b, &err);
            double t = bb_now_s() - t0;
            best = i > 0 && t < best ? t : best;
        }
        bb_cpu_backend.destroy(b);
    }
    double macs = (double)bb_graph_macs(g) * (double)batch;
    free(x);
    bb_graph_free(g);
    return best < 1e30 ? 2.0 * macs / best / 1e9 : -1.0;
}

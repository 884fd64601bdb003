/*
 * peak.h — what this machine can do in fp32, so results can be read as a
 * share of it: oneDNN's sgemm, and one ResNet-shaped 3x3 convolution run
 * through batchbench's own CPU backend. The sweep's duration estimate uses
 * the sgemm figure too.
 */
#ifndef BB_PEAK_H
#define BB_PEAK_H

/* GFLOP/s of dnnl_sgemm on n x n x n with `threads` threads (0: the
 * backend's default): the best of `reps` calls after one warm-up call. */
double bb_peak_sgemm_gflops(int threads, int n, int reps);

/* GFLOP/s of a 3x3, 256->256 channel, 14x14, pad 1 convolution with ReLU at
 * batch 8 through the CPU backend (best of `reps` forwards); -1 on failure. */
double bb_peak_conv_gflops(int threads, int reps);

#endif

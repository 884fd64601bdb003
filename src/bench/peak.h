/*
 * peak.h — what this machine's CPU can do, so results can be read as a share
 * of it: oneDNN's sgemm, one ResNet-shaped 3x3 convolution primitive, and,
 * where the CPU has bf16 instructions, a bf16 matmul primitive. Each figure
 * is the best of several calls after a warm-up call; the primitives run in
 * the memory formats oneDNN picks (format any), as a tuned engine would. The
 * sweep's duration estimate uses the sgemm figure too.
 */
#ifndef BB_PEAK_H
#define BB_PEAK_H

#include <stddef.h>

#include "backends/backend.h"
#include "util/error.h"

/* One measured primitive: its rate and the oneDNN implementation that ran. */
typedef struct {
    double gflops;  /* best of the reps */
    char impl[64];  /* e.g. "brg:avx512_core" (dnnl_query_impl_info_str) */
} bb_peak_result;

/* GFLOP/s of dnnl_sgemm on n x n x n with `threads` threads (0: the
 * backend's default): the best of `reps` calls after one warm-up call;
 * -1 when out of memory. */
double bb_peak_sgemm_gflops(int threads, int n, int reps);

/* The convolution primitive of ResNet-50's layer3: batch 8, 256 -> 256
 * channels, 14x14, 3x3, stride 1, pad 1, no bias, ReLU post-op, f32, src,
 * weights and dst in format any. Returns 0, or -1 with err set. */
int bb_peak_conv(int threads, int reps, bb_peak_result *r, bb_err *err);

/* The oneDNN matmul primitive on n x n x n with bf16 src and weights
 * (weights in format any, i.e. pre-packed) and an f32 dst. Returns 0; 1 when
 * oneDNN has no implementation for this CPU (e.g. its ISA capped by
 * DNNL_MAX_CPU_ISA below AVX-512); -1 on failure; err set unless 0.
 * Meaningful only where bb_peak_bf16_flag() is not NULL: without bf16
 * instructions oneDNN emulates (slowly) or refuses it. */
int bb_peak_bf16_matmul(int threads, int n, int reps, bb_peak_result *r, bb_err *err);

/* The /proc/cpuinfo flag that gives the CPU native bf16 ("amx_bf16", else
 * "avx512_bf16"), or NULL when it has neither or the file is unreadable. */
const char *bb_peak_bf16_flag(void);

/* The CPU peak a run at `precision` is measured against, in GFLOP/s: fp32
 * the sgemm of bb_peak_sgemm_gflops (2048^3), bf16 the bf16 matmul (2048^3);
 * best of 3 after a warm-up (about half a second). `source` gets how.
 * 0 when it cannot be measured. */
double bb_peak_for_precision(bb_precision precision, int threads, char *source, size_t len);

#endif

/*
 * cuda_absent.c — the CUDA backend's entry points in a build without CUDA
 * (`make CUDA=0`, or no nvcc found): every call says so, so `--device cuda`
 * fails with a clear message and `--device auto` picks the CPU.
 */
#include <stdio.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_env.h"

#define ABSENT "this build has no CUDA backend (built with CUDA=0 or without nvcc)"

int bb_cuda_available(char *why, size_t len)
{
    if (why && len)
        snprintf(why, len, "%s", ABSENT);
    return 0;
}

static int absent_prepare(bb_backend **out, const bb_graph *g, int64_t batch, const bb_run_config *opts,
                          bb_err *err)
{
    (void)g, (void)batch, (void)opts;
    *out = NULL;
    return bb_err_set(err, "%s", ABSENT);
}

const bb_backend_ops bb_cuda_backend = {.name = "cuda", .prepare = absent_prepare};

int bb_gpu_env_collect(bb_gpu_env *g, bb_precision precision, bb_err *err)
{
    (void)precision;
    *g = (bb_gpu_env){0};
    return bb_err_set(err, "%s", ABSENT);
}

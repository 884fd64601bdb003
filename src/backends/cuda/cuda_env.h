/*
 * cuda_env.h — facts about the GPU a run uses, collected through the CUDA
 * runtime: name, SMs, memory, clocks, driver and library versions and the
 * peak FLOP/s for the run's precision (the struct is env/gpu_env.h's).
 * Implemented in cuda_env.c, or in cuda_absent.c in a build without CUDA,
 * where it always fails saying so.
 */
#ifndef BB_CUDA_ENV_H
#define BB_CUDA_ENV_H

#include "backends/backend.h"
#include "env/gpu_env.h"
#include "util/error.h"

/* Fills *g for the current CUDA device and the run's precision; -1 with
 * the reason when no GPU is usable or the build has no CUDA. */
int bb_gpu_env_collect(bb_gpu_env *g, bb_precision precision, bb_err *err);

#endif

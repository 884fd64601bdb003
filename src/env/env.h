/*
 * env.h — the environment a benchmark ran in: host, CPU (model, cores,
 * AVX-512 / AMX support), memory, OS and kernel, compiler, oneDNN version,
 * batchbench's version and git commit, the threads used, and the GPU
 * (gpu_env.h) for a run on one.
 *
 * Why this file exists: a time per item means nothing without the machine
 * and software that produced it. Every result file carries this block, and
 * `batchbench env` prints it, so results from different machines or builds
 * are never compared unknowingly. Fields that cannot be found read
 * "unknown" (strings) or 0 (numbers).
 */
#ifndef BB_ENV_H
#define BB_ENV_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "env/gpu_env.h"

typedef struct {
    char host[128];          /* uname nodename */
    char cpu_model[160];     /* /proc/cpuinfo "model name" */
    char os[160];            /* /etc/os-release PRETTY_NAME */
    char kernel[160];        /* uname: sysname release machine */
    char compiler[96];       /* compiler that built batchbench (__VERSION__) */
    char onednn[64];         /* oneDNN at run time: "major.minor.patch (hash)" */
    char batchbench_version[32];
    char git_commit[48];     /* commit batchbench was built from, or "unknown" */
    int cores_logical;       /* online logical CPUs */
    int threads_used;        /* as passed; 0 resolves to the CPU backend's default */
    int64_t mem_total_bytes; /* /proc/meminfo MemTotal */
    int has_avx512, has_avx512_bf16, has_amx; /* CPU flags avx512f, avx512_bf16, amx_tile */
    double peak_gflops;      /* measured (CPU) or datasheet (GPU) peak for the run's
                                precision, GFLOP/s; 0 when not known */
    char peak_source[128];   /* how peak_gflops was found */
    bb_gpu_env gpu;          /* absent (present = 0) unless the run used a GPU:
                                bb_env_collect leaves it so, a CUDA run fills
                                it with bb_gpu_env_collect */
} bb_env;

/* Fills *e (gpu absent); never fails (missing facts read "unknown" / 0). */
void bb_env_collect(bb_env *e, int threads_used);

/* MemAvailable from /proc/meminfo now, in bytes; 0 when it cannot be read.
 * What the sweep's memory budget and maxbatch's default limit start from. */
int64_t bb_mem_available(void);

/* A new JSON object with every field (flags as booleans; "peak_gflops" null
 * when 0; "gpu" is the GPU block, or null when gpu.present is 0); NULL on OOM. */
cJSON *bb_env_to_json(const bb_env *e);

#endif

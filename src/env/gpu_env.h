/*
 * gpu_env.h — the GPU a benchmark ran on: name, compute capability, SMs,
 * memory, clocks (current and max), driver, CUDA runtime, cuDNN and cuBLAS
 * versions, and the GPU's peak FLOP/s for the precision of the run, so
 * reports can state the fraction of peak reached.
 *
 * Why this file exists: a GPU time per item means nothing without the card,
 * its clocks and the library versions. The struct and its JSON are plain C
 * (built everywhere); collecting needs the CUDA runtime and is declared and
 * implemented in backends/cuda/ (cuda_env.h: cuda_env.c, or cuda_absent.c
 * in a build without CUDA).
 */
#ifndef BB_GPU_ENV_H
#define BB_GPU_ENV_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "backends/backend.h"
#include "util/error.h"

typedef struct {
    int present;               /* 0: no GPU was used ("gpu": null in JSON) */
    int device;                /* CUDA device ordinal */
    char name[128];            /* e.g. "NVIDIA H100 80GB HBM3" */
    char pci_bus_id[32];
    int cc_major, cc_minor;    /* compute capability */
    int sm_count;
    int64_t mem_total_bytes;
    int clock_sm_mhz, clock_sm_max_mhz;   /* current (NVML) and max; 0 = unknown */
    int clock_mem_mhz, clock_mem_max_mhz;
    char driver[32];           /* NVIDIA driver version (NVML), or CUDA driver API "13.0" */
    char cuda_runtime[32];     /* e.g. "13.0" */
    char cudnn[32];            /* e.g. "9.13.0" (the library loaded at run time) */
    char cublas[32];           /* cuBLASLt at run time, e.g. "13.0.0" */
    char precision[8];         /* the precision peak_flops is for */
    double peak_flops;         /* dense peak for that precision; 0 = unknown arch */
    char peak_basis[160];      /* how peak_flops was computed */
} bb_gpu_env;


/* Dense peak FLOP/s of one SM generation at a clock: SMs x FLOP per clock
 * per SM for the precision x clock. 0 when the architecture is not in the
 * table. basis (may be NULL) receives a one-line explanation. */
double bb_gpu_peak_flops(int cc_major, int cc_minor, int sm_count, int clock_mhz, bb_precision precision,
                         char *basis, size_t basis_len);

/* A new JSON object with every field; NULL on OOM. */
cJSON *bb_gpu_env_to_json(const bb_gpu_env *g);

#endif

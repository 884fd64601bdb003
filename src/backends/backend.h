/*
 * backend.h — the one small interface every device implements.
 *
 * A backend is prepared once for a fused graph with weights and a batch
 * size (primitives created, weights packed, activations planned into one
 * arena), then run many times: set the input, forward, read the output.
 * Only `forward` is what a benchmark times.
 */
#ifndef BB_BACKEND_H
#define BB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "backends/backend_options.h"
#include "engine/graph.h"
#include "util/error.h"

/* Numeric precision of a prepared model. fp32 is strict (no TF32 anywhere);
 * tf32 lets GPU tensor cores round inputs to TF32; fp16/bf16 store weights
 * and activations in 16 bits and accumulate in fp32. The CPU backend runs
 * fp32, and bf16 where the CPU has AVX512-BF16 or AMX (bb_cpu_has_bf16). */
typedef enum { BB_PREC_FP32, BB_PREC_TF32, BB_PREC_FP16, BB_PREC_BF16 } bb_precision;

const char *bb_precision_name(bb_precision p);
/* 0 and *out set for "fp32"|"tf32"|"fp16"|"bf16", else -1. */
int bb_precision_parse(const char *s, bb_precision *out);

struct bb_backend_ops_s;

/* The configuration of a run: everything that shapes a measurement besides
 * the model and the batch size. Parsed once on the command line
 * (cli/cli_config.c), handed to prepare(), written whole into every result
 * (config.*) and, through the result's identity, into its file name. */
typedef struct {
    const struct bb_backend_ops_s *backend; /* resolved once from --device */
    bb_precision precision;
    bb_head head;
    int threads;               /* 0 = default (OMP_NUM_THREADS, or all cores) */
    const char *data_dir;      /* the input source: a data set, or NULL for a seeded random batch */
    bb_backend_options options;
    /* diagnostics of infer/profile (a sweep leaves them 0) */
    int profile;               /* 1 = time every step in forward (adds a sync per step) */
    int activation_stats;      /* 1 = with profile, also scan every step's output */
} bb_run_config;

/* "cpu" or "cuda": the backend's name ("?" when none is set). */
const char *bb_config_device(const bb_run_config *c);

typedef struct {
    int64_t weight_bytes;      /* packed weights as the device holds them */
    int64_t arena_bytes;       /* activations under the memory plan */
    int64_t workspace_bytes;   /* scratch the backend owns besides the arena */
    int threads;
    int n_steps;
    char math_mode[256];       /* what the kernels really ran, e.g. "fp32 FMA" */
} bb_backend_report;

/* Per-step time (and output statistics) of the last profiled forward. */
typedef struct {
    const char *label;   /* graph op label, or "reorder" */
    const char *kind;    /* op type name */
    double seconds;
    int64_t macs;        /* for the whole batch */
    /* with opts.activation_stats: the step's output values */
    double out_rms, out_absmax;
    int64_t out_nonfinite, out_subnormal;
    /* the code that ran the step, where the backend knows it (oneDNN's
     * implementation, e.g. "jit_1x1:avx512_core" or "ref:any" for its
     * reference code; "batchbench" for our own kernels), else NULL */
    const char *impl;
} bb_step_time;

typedef struct bb_backend bb_backend;

typedef struct bb_backend_ops_s {
    const char *name;
    /* cfg may be NULL: the defaults (fp32, default threads and options) */
    int (*prepare)(bb_backend **out, const bb_graph *g, int64_t batch,
                   const bb_run_config *cfg, bb_err *err);
    /* input: [batch,3,224,224] float32, C order */
    int (*set_input)(bb_backend *b, const float *input, bb_err *err);
    int (*forward)(bb_backend *b, bb_err *err);
    /* output: [batch, feature_dim] float32 */
    int (*get_output)(bb_backend *b, float *output, bb_err *err);
    void (*report)(const bb_backend *b, bb_backend_report *r);
    /* Seconds of the last forward on the device's own clock (CUDA events
     * around the forward only); NULL when the caller's wall clock around
     * forward() is the measure (CPU). */
    double (*forward_seconds)(const bb_backend *b);
    /* Seconds the last set_input spent copying the batch to the device
     * (pinned host memory to device, CUDA events); NULL when there is no copy. */
    double (*input_seconds)(const bb_backend *b);
    /* steps of the last profiled forward; returns their count */
    int (*profile)(const bb_backend *b, const bb_step_time **steps);
    void (*destroy)(bb_backend *b);
} bb_backend_ops;

extern const bb_backend_ops bb_cpu_backend;
/* cuDNN + cuBLASLt + CUDA graphs; present in every build, but in a build
 * without CUDA (or on a machine without a GPU) prepare() fails with a
 * message saying so. */
extern const bb_backend_ops bb_cuda_backend;

/* 1 when this build has the CUDA backend and a GPU is usable; else 0 with
 * the reason in why[len] ("this build has no CUDA backend", "no CUDA
 * device: ..."). */
int bb_cuda_available(char *why, size_t len);

/* Threads the CPU backend uses by default: OMP_NUM_THREADS, else all cores. */
int bb_cpu_default_threads(void);

/* 1 when the CPU runs bf16 natively (AVX512-BF16 or AMX, as oneDNN sees it):
 * the CPU backend's --precision bf16 needs it. */
int bb_cpu_has_bf16(void);

#endif

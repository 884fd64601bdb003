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

#include <stdint.h>

#include "engine/graph.h"
#include "util/error.h"

typedef struct {
    int threads;   /* 0 = default (OMP_NUM_THREADS, or all cores) */
    int profile;   /* 1 = time every step in forward (adds a sync per step) */
    int activation_stats; /* 1 = with profile, also scan every step's output */
} bb_backend_opts;

typedef struct {
    int64_t weight_bytes;      /* packed weights as the device holds them */
    int64_t arena_bytes;       /* activations under the memory plan */
    int64_t workspace_bytes;   /* scratch the backend owns besides the arena */
    int threads;
    int n_steps;
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
} bb_step_time;

typedef struct bb_backend bb_backend;

typedef struct {
    const char *name;
    int (*prepare)(bb_backend **out, const bb_graph *g, int64_t batch,
                   const bb_backend_opts *opts, bb_err *err);
    /* input: [batch,3,224,224] float32, C order */
    int (*set_input)(bb_backend *b, const float *input, bb_err *err);
    int (*forward)(bb_backend *b, bb_err *err);
    /* output: [batch, feature_dim] float32 */
    int (*get_output)(bb_backend *b, float *output, bb_err *err);
    void (*report)(const bb_backend *b, bb_backend_report *r);
    /* steps of the last profiled forward; returns their count */
    int (*profile)(const bb_backend *b, const bb_step_time **steps);
    void (*destroy)(bb_backend *b);
} bb_backend_ops;

extern const bb_backend_ops bb_cpu_backend;

/* Threads the CPU backend uses by default: OMP_NUM_THREADS, else all cores. */
int bb_cpu_default_threads(void);

#endif

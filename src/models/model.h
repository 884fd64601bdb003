/*
 * model.h — one call from a model name to a graph ready for a backend:
 * build it from the zoo, give it weights (seeded random or a safetensors
 * file) and run the fusion pass. Shared by every command that runs a model.
 */
#ifndef BB_MODEL_H
#define BB_MODEL_H

#include <stdint.h>

#include "engine/graph.h"
#include "util/error.h"

typedef struct {
    const char *name;
    bb_head head;
    const char *weights_path; /* NULL: seeded random weights */
    uint64_t seed;
} bb_model_spec;

/* The graph of a zoo model name or of an ONNX file path (ending ".onnx";
 * its weights come from the file), unfused, without weights for a zoo
 * model. NULL (with err set) on an unknown model or a bad file. */
bb_graph *bb_model_build(const char *name, bb_head head, bb_err *err);

/* Returns NULL (with err set) on an unknown model or a bad weights file.
 * An ONNX model takes its weights from its file (weights_path must be NULL). */
bb_graph *bb_model_open(const bb_model_spec *spec, bb_err *err);

/* Deterministic pseudo-random input batch, values roughly N(0,1). */
void bb_random_input(float *x, int64_t n, uint64_t seed);

#endif

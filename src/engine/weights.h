/*
 * weights.h — giving a graph's parameters and buffers their values: either
 * deterministic pseudo-random values from a seed (the default: timing does
 * not depend on the values of these dense models) or a safetensors file
 * with torchvision's state_dict names.
 */
#ifndef BB_WEIGHTS_H
#define BB_WEIGHTS_H

#include <stdint.h>

#include "engine/graph.h"
#include "util/error.h"

/* Fills every BB_T_PARAM / BB_T_BUFFER tensor of an unfused graph. Values
 * depend only on the seed, the tensor's name and the graph's structure, and
 * are scaled so activations stay O(1) through every model: weights uniform
 * with variance gain/fan_in (gain from what the layer feeds: 2 before a
 * ReLU-like activation, small at the end of a residual branch, else 1),
 * BN/LN affine terms near (1, 0), running statistics near (0, 1). */
void bb_weights_random(bb_graph *g, uint64_t seed);

/* Loads every parameter and buffer from a safetensors file. Missing
 * tensors, unexpected tensors, wrong dtypes or shapes are errors naming the
 * file and tensor. Ignored: int64 `num_batches_tracked` buffers and, for the
 * features head, the classifier's tensors (a full torchvision checkpoint
 * loads into the features model). */
int bb_weights_load(bb_graph *g, const char *path, bb_err *err);

/* The state_dict prefix of the model's classification head ("fc." ...). */
const char *bb_head_prefix(const char *model);

#endif

/*
 * onnx_import.h — the door for the user's own model: an ONNX file becomes a
 * bb_graph that the fusion pass and both backends take like a zoo model.
 *
 * The file is read (onnx_model.h), its If, Loop and sequence ops resolved
 * into plain nodes (onnx_flatten.h), evaluated at two batch sizes
 * (onnx_eval.h: shapes, and the shape arithmetic exporters emit folded into
 * constants), and each remaining node lowered to graph ops; which dim of a
 * value scales with the batch is read off the two evaluations. Weights come
 * from the file; the graph's one declared output is what runs.
 */
#ifndef BB_ONNX_IMPORT_H
#define BB_ONNX_IMPORT_H

#include <stdio.h>

#include "engine/graph.h"
#include "util/error.h"

/* Whether a model name is an ONNX file path (it ends in ".onnx"). */
int bb_onnx_is_path(const char *name);

/* The graph of the ONNX file at `path` (weights loaded, not yet fused),
 * named after the file's base name, family BB_FAMILY_IMPORTED. On an
 * unsupported op, one message lists every unsupported op type with a node
 * of each. NULL with err set ("<path>: ..."). */
bb_graph *bb_onnx_import(const char *path, bb_err *err);

/* `batchbench models --describe PATH.onnx`: inputs and outputs with their
 * shapes, parameter count, MACs per item, the op-type histogram and whether
 * every op is supported. -1 with err set when the file cannot be read. */
int bb_onnx_describe(const char *path, FILE *out, bb_err *err);

#endif

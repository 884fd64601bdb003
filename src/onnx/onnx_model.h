/*
 * onnx_model.h — an ONNX file read into plain C structures, checked, with
 * no protobuf types left in it: what the rest of src/onnx works from.
 *
 * The reader (onnx_model.c) unpacks the ModelProto with protobuf-c (the
 * schema is Debian's /usr/include/onnx/onnx.proto, compiled by protoc-c at
 * build time), then checks everything later stages would otherwise trust:
 * every node input is defined before it is read (so the graph has no
 * cycle), initializer data matches its dims, dims are non-negative with a
 * product below BB_OX_MAX_ELEMS, external data stays inside the model's
 * folder. Any failure is one error naming the file and what was wrong.
 *
 * Values (the tensors flowing between nodes) are numbered once: nodes,
 * initializers and the graph's inputs/outputs refer to them by index.
 * Subgraphs (If, Loop) are read too, their values numbered in the same
 * table; onnx_flatten.h turns them into plain nodes before an import.
 */
#ifndef BB_ONNX_MODEL_H
#define BB_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BB_OX_MAX_DIMS 8
#define BB_OX_MAX_ELEMS ((int64_t)1 << 36) /* elements in one tensor */

/* Element types kept: floats as float, every integer and bool as int64. */
typedef enum { BB_OX_F32 = 1, BB_OX_I64 = 2 } bb_ox_dtype;

typedef struct {
    bb_ox_dtype dtype;
    int ndim;
    int64_t dims[BB_OX_MAX_DIMS];
    int64_t numel;
    void *data; /* float * or int64_t *, numel elements; owned */
} bb_ox_tensor;

typedef enum {
    BB_OX_ATTR_FLOAT = 1, BB_OX_ATTR_INT, BB_OX_ATTR_STRING, BB_OX_ATTR_TENSOR,
    BB_OX_ATTR_FLOATS, BB_OX_ATTR_INTS,
    BB_OX_ATTR_GRAPH,   /* a subgraph (If's branches, Loop's body): i indexes bb_ox_model.graphs */
    BB_OX_ATTR_OTHER    /* lists of graphs or strings...: kept by name only */
} bb_ox_attr_type;

typedef struct {
    char *name;
    bb_ox_attr_type type;
    float f;
    int64_t i;
    char *s;            /* STRING, NUL-terminated */
    bb_ox_tensor *t;    /* TENSOR */
    int n;              /* FLOATS / INTS count */
    float *floats;
    int64_t *ints;
} bb_ox_attr;

typedef struct {
    char *name;         /* may be "" in the file: then "<op_type>#<index>" */
    char *op_type;
    char *domain;       /* "" for the default ONNX domain */
    int n_in, n_out;
    int *in, *out;      /* value indices; -1 for an omitted optional input */
    int n_attr;
    bb_ox_attr *attrs;
} bb_ox_node;

typedef struct {
    char *name;
    int init;           /* index into inits, or -1 */
    int producer;       /* node index, -1 for inputs and initializers */
} bb_ox_value;

/* A graph input or output as declared: dims[i] = -1 for a symbolic or
 * unknown dim (dim_param names it when given). */
typedef struct {
    int value;
    int elem_type;      /* ONNX TensorProto.DataType as written */
    int ndim;           /* -1 when no shape is declared */
    int64_t dims[BB_OX_MAX_DIMS];
    char *dim_param[BB_OX_MAX_DIMS]; /* NULL unless symbolic */
} bb_ox_io;

/* A subgraph: an If's branch or a Loop's body. Its nodes read its own
 * values and, by name, those of the graphs around it that are defined
 * before the node holding it (checked at load, like the main graph's order).
 * Its values and initializers are numbered in the model's one table. */
typedef struct {
    int n_nodes, n_inputs, n_outputs;
    bb_ox_node *nodes;
    int *inputs;        /* formal inputs (a Loop body's iteration number, condition, carried values) */
    int *outputs;       /* what it yields, in order */
} bb_ox_graph;

typedef struct {
    char *path;         /* as given */
    int64_t ir_version, opset; /* opset of the default domain, 0 if absent */
    char *producer;     /* producer_name + " " + producer_version */
    char *graph_name;
    int n_values, n_nodes, n_inits, n_inputs, n_outputs;
    bb_ox_value *values;
    bb_ox_node *nodes;  /* in the file's order, which is checked topological */
    bb_ox_tensor *inits;
    int *init_value;    /* value index of each initializer */
    bb_ox_io *inputs;   /* graph inputs that are not initializers */
    bb_ox_io *outputs;
    int n_graphs;       /* subgraphs, nested ones included (BB_OX_ATTR_GRAPH attributes index them) */
    bb_ox_graph *graphs;
} bb_ox_model;

/* Reads and checks `path`. External data is read from files in the same
 * folder as `path`. Returns NULL with err set ("<path>: ..."). */
bb_ox_model *bb_ox_load(const char *path, bb_err *err);
/* The same from memory (the fuzzer's entry point): `name` is used in error
 * messages; `dir` is the folder external data is read from, NULL to refuse
 * external data. */
bb_ox_model *bb_ox_load_buffer(const uint8_t *buf, size_t len, const char *name, const char *dir,
                               bb_err *err);
void bb_ox_free(bb_ox_model *m);

/* Lookups (NULL / -1 when absent). */
const bb_ox_attr *bb_ox_attr_find(const bb_ox_node *n, const char *name);
/* Whether n is of the default ONNX domain ("" or "ai.onnx"; NULL counts as ""). */
int bb_ox_default_domain(const bb_ox_node *n);
int64_t bb_ox_attr_int(const bb_ox_node *n, const char *name, int64_t dflt);
float bb_ox_attr_float(const bb_ox_node *n, const char *name, float dflt);
int bb_ox_value_find(const bb_ox_model *m, const char *name);

#endif

/*
 * onnx_flatten_internal.h — the flattener's state and the emitter its
 * files share: onnx_flatten.c (If, Loop, sequences) and onnx_rnn.c (LSTM,
 * GRU and RNN written out as the plain nodes of each time step).
 *
 * A flat model grows one node at a time: bb_oxf_node appends a node,
 * bb_oxf_value makes a new value for its outputs (or bb_oxf_define gives
 * the read model's value its place), and bb_oxf_step evaluates the node at
 * batch 2 and 3 so that the next decision can read its shape and data.
 */
#ifndef BB_ONNX_FLATTEN_INTERNAL_H
#define BB_ONNX_FLATTEN_INTERNAL_H

#include "onnx/onnx_eval.h"
#include "onnx/onnx_flatten.h"

typedef struct {
    int n;          /* -1: not a sequence */
    int *v;         /* its tensors (values of the new model) */
} seqlist;

typedef struct {
    const bb_ox_model *m; /* the model read (its nodes and subgraphs) */
    bb_ox_model *f;       /* the flat one, growing */
    int n_orig;           /* m's values */
    int *map;             /* m's value -> f's value */
    unsigned char *used;  /* m's value index given to an emitted output already */
    const unsigned char *need; /* m's value -> its data is read (bb_ox_data_needed) */
    seqlist *seq;         /* per f value */
    int node_cap, value_cap;
    int max_nodes;        /* the flat model's limit (onnx_flatten.h) */
    char suffix[64];      /* "@i" per enclosing loop iteration, for node names */
    bb_ox_stepper *s2, *s3;
    bb_err *err;
} flat;

/* -1 with "<path>: out of memory" in fl->err. */
int bb_oxf_oom(const flat *fl);
/* A new value of f called name + suffix; its index, or -1. */
int bb_oxf_value(flat *fl, const char *name, const char *suffix);
/* The f value that m's value v is defined as by the node emitted now. */
int bb_oxf_define(flat *fl, int v);
/* A zeroed node appended to f, named name + the loop suffix (NULL with
 * fl->err set past the node limit or out of memory). */
bb_ox_node *bb_oxf_node(flat *fl, const char *name, const char *op_type, int n_in, int n_out, int n_attr);
/* Evaluates f's last node at both batch sizes. */
int bb_oxf_step(flat *fl);
/* A Constant of n elements of dtype (ndim 0: one; or 1) as a new value;
 * its index or -1. bb_oxf_ints: of int64. */
int bb_oxf_const(flat *fl, const char *name, bb_ox_dtype dtype, int ndim, const void *data, int64_t n);
int bb_oxf_ints(flat *fl, const char *name, int ndim, const int64_t *data, int64_t n);

/* onnx_rnn.c: node nd (bb_oxf_is_rnn) written out, its outputs defined in fl. */
int bb_oxf_rnn(flat *fl, const bb_ox_node *nd);

#endif

/*
 * onnx_build.h — builds ONNX models in memory with the protobuf-c structures
 * (generated from Debian's onnx.proto) and packs them into bytes.
 *
 * Why this file exists: no .onnx file is committed. The unit test of the
 * reader (tests/unit/test_onnx_load.c) and the fuzzers' seed generator
 * (tests/fuzz/make_seeds.c) both write their models with these helpers,
 * valid ones and deliberately broken ones. Everything a builder allocates
 * is kept in its list and freed by oxb_free; allocation failure aborts
 * (test code).
 */
#ifndef BB_TEST_ONNX_BUILD_H
#define BB_TEST_ONNX_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.pb-c.h"

typedef struct {
    void **keep;
    size_t n_keep, cap;
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
} oxb;

static inline void *oxb_keep(oxb *b, void *p)
{
    if (!p)
        abort();
    if (b->n_keep == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        if (!(b->keep = realloc(b->keep, b->cap * sizeof *b->keep)))
            abort();
    }
    return b->keep[b->n_keep++] = p;
}

static inline void *oxb_new(oxb *b, size_t size)
{
    return oxb_keep(b, calloc(1, size ? size : 1));
}

/* A kept copy of n bytes (n may be 0, p then NULL). */
static inline void *oxb_dup(oxb *b, const void *p, size_t n)
{
    void *d = oxb_new(b, n);
    if (n)
        memcpy(d, p, n);
    return d;
}

static inline char *oxb_str(oxb *b, const char *s)
{
    return strcpy(oxb_new(b, strlen(s) + 1), s);
}

/* A copy of an n-element array with room for one more (protobuf-c's
 * repeated fields are plain arrays). */
static inline void *oxb_grow(oxb *b, const void *old, size_t n, size_t es)
{
    void *a = oxb_new(b, (n + 1) * es);
    if (n)
        memcpy(a, old, n * es);
    return a;
}
#define OXB_PUSH(b, arr, n, item) ((arr) = oxb_grow((b), (arr), (n), sizeof *(arr)), (arr)[(n)++] = (item))

/* An empty model: IR version 8, default-domain opset `opset`, a graph. */
static inline void oxb_init(oxb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    b->model.has_ir_version = 1;
    b->model.ir_version = 8;
    b->model.producer_name = oxb_str(b, "bbtest");
    b->model.producer_version = oxb_str(b, "1.0");
    b->model.graph = &b->graph;
    b->graph.name = oxb_str(b, "g");
    Onnx__OperatorSetIdProto *o = oxb_new(b, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = oxb_str(b, "");
    o->has_version = 1;
    o->version = opset;
    OXB_PUSH(b, b->model.opset_import, b->model.n_opset_import, o);
}

static inline void oxb_free(oxb *b)
{
    for (size_t i = 0; i < b->n_keep; i++)
        free(b->keep[i]);
    free(b->keep);
    memset(b, 0, sizeof *b);
}

/* The model's bytes, malloc'd (caller frees). */
static inline uint8_t *oxb_pack(const oxb *b, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf)
        abort();
    onnx__model_proto__pack(&b->model, buf);
    return buf;
}

/* Splits "a,b,,c" into a kept string array ("" entries stay); NULL: none. */
static inline size_t oxb_names(oxb *b, const char *list, char ***out)
{
    size_t n = 0;
    *out = NULL;
    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        size_t len = strcspn(p, ",");
        char *s = oxb_new(b, len + 1);
        memcpy(s, p, len);
        OXB_PUSH(b, *out, n, s);
    }
    return n;
}

/* A node added to the graph: inputs and outputs as "a,b" lists. */
static inline Onnx__NodeProto *oxb_node(oxb *b, const char *op, const char *name, const char *in, const char *out)
{
    Onnx__NodeProto *n = oxb_new(b, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = oxb_str(b, op);
    n->name = name ? oxb_str(b, name) : NULL;
    n->n_input = oxb_names(b, in, &n->input);
    n->n_output = oxb_names(b, out, &n->output);
    OXB_PUSH(b, b->graph.node, b->graph.n_node, n);
    return n;
}

static inline Onnx__AttributeProto *oxb_attr(oxb *b, Onnx__NodeProto *n, const char *name,
                                             Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = oxb_new(b, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = oxb_str(b, name);
    a->has_type = 1;
    a->type = type;
    OXB_PUSH(b, n->attribute, n->n_attribute, a);
    return a;
}

static inline void oxb_attr_i(oxb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = oxb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static inline void oxb_attr_f(oxb *b, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = oxb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static inline void oxb_attr_s(oxb *b, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = oxb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)oxb_str(b, v);
}

static inline void oxb_attr_ints(oxb *b, Onnx__NodeProto *n, const char *name, size_t k, const int64_t *v)
{
    Onnx__AttributeProto *a = oxb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = k;
    a->ints = oxb_dup(b, v, k * sizeof *v);
}

/* A tensor (not yet added anywhere) of `type` and shape dims[ndim]. */
static inline Onnx__TensorProto *oxb_tensor(oxb *b, const char *name, int type, size_t ndim, const int64_t *dims)
{
    Onnx__TensorProto *t = oxb_new(b, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = name ? oxb_str(b, name) : NULL;
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = ndim;
    t->dims = oxb_dup(b, dims, ndim * sizeof *dims);
    return t;
}

static inline void oxb_raw(oxb *b, Onnx__TensorProto *t, const void *bytes, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = oxb_dup(b, bytes, len);
}

static inline void oxb_floats(oxb *b, Onnx__TensorProto *t, size_t n, const float *v)
{
    t->n_float_data = n;
    t->float_data = oxb_dup(b, v, n * sizeof *v);
}

static inline void oxb_int64s(oxb *b, Onnx__TensorProto *t, size_t n, const int64_t *v)
{
    t->n_int64_data = n;
    t->int64_data = oxb_dup(b, v, n * sizeof *v);
}

static inline void oxb_int32s(oxb *b, Onnx__TensorProto *t, size_t n, const int32_t *v)
{
    t->n_int32_data = n;
    t->int32_data = oxb_dup(b, v, n * sizeof *v);
}

/* Points t at external data: `location`, and offset/length unless < 0. */
static inline void oxb_external(oxb *b, Onnx__TensorProto *t, const char *location, long long offset,
                                long long length)
{
    const char *keys[3] = {"location", "offset", "length"};
    char vals[3][64];
    snprintf(vals[0], sizeof vals[0], "%s", location);
    snprintf(vals[1], sizeof vals[1], "%lld", offset);
    snprintf(vals[2], sizeof vals[2], "%lld", length);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    for (int i = 0; i < 3; i++) {
        if (i == 1 ? offset < 0 : i == 2 ? length < 0 : 0)
            continue;
        Onnx__StringStringEntryProto *e = oxb_new(b, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = oxb_str(b, keys[i]);
        e->value = oxb_str(b, i == 0 ? location : vals[i]);
        OXB_PUSH(b, t->external_data, t->n_external_data, e);
    }
}

static inline void oxb_init_add(oxb *b, Onnx__TensorProto *t)
{
    OXB_PUSH(b, b->graph.initializer, b->graph.n_initializer, t);
}

static inline void oxb_attr_t(oxb *b, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    oxb_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

/* A graph input (output: 1 for a graph output) of a tensor type: dims[i]
 * < 0 is symbolic, named params[i] when params and params[i] are given. */
static inline Onnx__ValueInfoProto *oxb_io(oxb *b, int output, const char *name, int elem, size_t ndim,
                                          const int64_t *dims, const char *const *params)
{
    Onnx__ValueInfoProto *vi = oxb_new(b, sizeof *vi);
    Onnx__TypeProto *tp = oxb_new(b, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = oxb_new(b, sizeof *tt);
    Onnx__TensorShapeProto *sh = oxb_new(b, sizeof *sh);
    onnx__value_info_proto__init(vi), onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt), onnx__tensor_shape_proto__init(sh);
    vi->name = oxb_str(b, name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tt->shape = sh;
    for (size_t i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = oxb_new(b, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else if (params && params[i]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = oxb_str(b, params[i]);
        }
        OXB_PUSH(b, sh->dim, sh->n_dim, d);
    }
    if (output)
        OXB_PUSH(b, b->graph.output, b->graph.n_output, vi);
    else
        OXB_PUSH(b, b->graph.input, b->graph.n_input, vi);
    return vi;
}

/* The small valid model of the tests and the seed corpus: x[N,3,8,8] ->
 * Conv(W raw_data, B float_data) -> Relu (no name) -> Reshape(int64 shape)
 * -> Gemm(Wg, bg) -> Add(Constant) -> out[N,2]. W is also declared as a
 * graph input (with its initializer as default). */
static inline void oxb_small_model(oxb *b)
{
    enum { F = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };
    static const int64_t xd[] = {-1, 3, 8, 8}, wd[] = {4, 3, 3, 3}, bd[] = {4}, sd[] = {2}, gd[] = {2, 256};
    static const int64_t od[] = {-1, 2}, shape[] = {0, 256}, ks[] = {3, 3}, pads[] = {1, 1, 1, 1};
    static const char *const batch[] = {"N", NULL, NULL, NULL};
    static const float bias[] = {0.1f, 0.2f, 0.3f, 0.4f}, gb[] = {1.0f, -1.0f}, kc[] = {1.5f, -2.0f};
    float w[108], wg[512];
    for (int i = 0; i < 108; i++)
        w[i] = (float)i * 0.01f;
    for (int i = 0; i < 512; i++)
        wg[i] = (float)(i % 7) - 3.0f;
    oxb_init(b, 17);
    oxb_io(b, 0, "x", F, 4, xd, batch);
    oxb_io(b, 0, "W", F, 4, wd, NULL);
    oxb_io(b, 1, "out", F, 2, od, (const char *const[]){"N", NULL});
    Onnx__TensorProto *t = oxb_tensor(b, "W", F, 4, wd);
    oxb_raw(b, t, w, sizeof w), oxb_init_add(b, t);
    oxb_floats(b, t = oxb_tensor(b, "B", F, 1, bd), 4, bias), oxb_init_add(b, t);
    oxb_int64s(b, t = oxb_tensor(b, "shape", I64, 1, sd), 2, shape), oxb_init_add(b, t);
    oxb_raw(b, t = oxb_tensor(b, "Wg", F, 2, gd), wg, sizeof wg), oxb_init_add(b, t);
    oxb_floats(b, t = oxb_tensor(b, "bg", F, 1, sd), 2, gb), oxb_init_add(b, t);
    Onnx__NodeProto *n = oxb_node(b, "Conv", "conv1", "x,W,B", "c");
    oxb_attr_ints(b, n, "kernel_shape", 2, ks), oxb_attr_ints(b, n, "pads", 4, pads);
    oxb_attr_s(b, n, "auto_pad", "NOTSET"), oxb_attr_i(b, n, "group", 1);
    oxb_node(b, "Relu", "", "c", "r");
    oxb_node(b, "Reshape", "reshape", "r,shape", "f");
    n = oxb_node(b, "Gemm", "fc", "f,Wg,bg", "y");
    oxb_attr_f(b, n, "alpha", 1.0f), oxb_attr_i(b, n, "transB", 1);
    n = oxb_node(b, "Constant", "k", NULL, "kc");
    oxb_raw(b, t = oxb_tensor(b, NULL, F, 1, sd), kc, sizeof kc);
    oxb_attr_t(b, n, "value", t);
    oxb_node(b, "Add", "add", "y,kc", "out");
}

#endif

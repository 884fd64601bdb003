/*
 * test_onnx_load.c — unit tests for the ONNX reader (src/onnx/onnx_model.c,
 * onnx_tensor.c).
 *
 * Why this file exists: ONNX files come from outside, so the reader must
 * turn a valid one into exactly the right structures and refuse every
 * broken one with a message naming the file and the problem, without ever
 * crashing. The models are built here with the protobuf-c structures
 * (tests/fuzz/onnx_build.h) and packed: a small valid model read back
 * field by field, every element type, then truncations at every length,
 * garbage, wrong wire types, deep nesting, bad graphs (cycles, undefined
 * inputs, values produced twice), subgraphs (If's branches: their scope,
 * their values in the one table), bad tensors (negative or huge dims, short
 * data) and external data inside and outside the model's folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/onnx_build.h"
#include "onnx/onnx_model.h"
#include "unit/remove_tree.h"

enum {
    F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
};

/* Loads b's bytes as "bad.onnx" (from memory, no external data). */
static bb_ox_model *load_oxb(const oxb *b, bb_err *err)
{
    size_t len;
    uint8_t *buf = oxb_pack(b, &len);
    bb_ox_model *m = bb_ox_load_buffer(buf, len, "bad.onnx", NULL, err);
    free(buf);
    return m;
}

/* b must be refused with a message naming bad.onnx and containing `want`. */
static void expect_error(oxb *b, const char *want)
{
    bb_err err = {0};
    bb_ox_model *m = load_oxb(b, &err);
    if (m || !strstr(err.msg, "bad.onnx") || !strstr(err.msg, want))
        print_error("wanted an error with '%s', got: %s\n", want, m ? "(loaded)" : err.msg);
    bb_ox_free(m);
    assert_null(m);
    assert_non_null(strstr(err.msg, "bad.onnx: "));
    assert_non_null(strstr(err.msg, want));
    oxb_free(b);
}

static void expect_bytes_error(const uint8_t *buf, size_t len, const char *want)
{
    bb_err err = {0};
    bb_ox_model *m = bb_ox_load_buffer(buf, len, "bad.onnx", NULL, &err);
    if (m || !strstr(err.msg, want))
        print_error("wanted an error with '%s', got: %s\n", want, m ? "(loaded)" : err.msg);
    bb_ox_free(m);
    assert_null(m);
    assert_non_null(strstr(err.msg, "bad.onnx: "));
    assert_non_null(strstr(err.msg, want));
}

/* ---- a valid model read back ---------------------------------------------------- */

static const bb_ox_node *node_named(const bb_ox_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return &m->nodes[i];
    fail_msg("no node '%s'", name);
    return NULL;
}

static void check_small_graph(const bb_ox_model *m)
{
    assert_int_equal(m->ir_version, 8);
    assert_int_equal(m->opset, 17);
    assert_string_equal(m->producer, "bbtest 1.0");
    assert_string_equal(m->graph_name, "g");
    assert_int_equal(m->n_values, 12); /* x W B shape Wg bg c r f y kc out */
    assert_int_equal(m->n_nodes, 6);
    assert_string_equal(m->nodes[1].name, "Relu#1");
    assert_string_equal(m->nodes[1].domain, "");
    const bb_ox_node *conv = node_named(m, "conv1");
    assert_int_equal(conv->n_in, 3);
    assert_int_equal(conv->in[0], bb_ox_value_find(m, "x"));
    assert_int_equal(conv->in[1], bb_ox_value_find(m, "W"));
    assert_int_equal(m->values[conv->out[0]].producer, 0);
    assert_string_equal(m->values[m->nodes[5].out[0]].name, "out");
    assert_int_equal(m->values[bb_ox_value_find(m, "W")].init, 0);
    assert_int_equal(m->values[bb_ox_value_find(m, "W")].producer, -1);
    assert_int_equal(bb_ox_value_find(m, "nothing"), -1);
}

static void check_small_attrs(const bb_ox_model *m)
{
    const bb_ox_node *conv = node_named(m, "conv1"), *fc = node_named(m, "fc");
    const bb_ox_attr *ks = bb_ox_attr_find(conv, "kernel_shape");
    assert_non_null(ks);
    assert_int_equal(ks->type, BB_OX_ATTR_INTS);
    assert_int_equal(ks->n, 2);
    assert_int_equal(ks->ints[1], 3);
    assert_string_equal(bb_ox_attr_find(conv, "auto_pad")->s, "NOTSET");
    assert_int_equal(bb_ox_attr_int(conv, "group", 7), 1);
    assert_int_equal(bb_ox_attr_int(fc, "transB", 0), 1);
    assert_true(bb_ox_attr_float(fc, "alpha", 0.f) == 1.0f);
    assert_int_equal(bb_ox_attr_int(fc, "transA", 5), 5);   /* absent */
    assert_int_equal(bb_ox_attr_int(fc, "alpha", 5), 5);    /* a FLOAT */
    assert_true(bb_ox_attr_float(fc, "transB", 2.5f) == 2.5f); /* an INT */
    assert_null(bb_ox_attr_find(fc, "nope"));
    const bb_ox_attr *v = bb_ox_attr_find(node_named(m, "k"), "value");
    assert_int_equal(v->type, BB_OX_ATTR_TENSOR);
    assert_int_equal(v->t->dtype, BB_OX_F32);
    assert_int_equal(v->t->numel, 2);
    assert_true(((float *)v->t->data)[1] == -2.0f);
}

static void check_small_tensors(const bb_ox_model *m)
{
    assert_int_equal(m->n_inits, 5);
    const bb_ox_tensor *w = &m->inits[0], *b = &m->inits[1], *s = &m->inits[2];
    assert_int_equal(w->dtype, BB_OX_F32);
    assert_int_equal(w->ndim, 4);
    assert_int_equal(w->dims[0], 4);
    assert_int_equal(w->numel, 108);
    assert_true(((float *)w->data)[5] == 5 * 0.01f);
    assert_true(((float *)b->data)[3] == 0.4f);
    assert_int_equal(s->dtype, BB_OX_I64);
    assert_int_equal(((int64_t *)s->data)[1], 256);
    assert_int_equal(m->init_value[4], bb_ox_value_find(m, "bg"));
}

static void check_small_io(const bb_ox_model *m)
{
    assert_int_equal(m->n_inputs, 1); /* W has an initializer */
    const bb_ox_io *x = &m->inputs[0], *o = &m->outputs[0];
    assert_int_equal(x->value, bb_ox_value_find(m, "x"));
    assert_int_equal(x->elem_type, F32);
    assert_int_equal(x->ndim, 4);
    assert_int_equal(x->dims[0], -1);
    assert_string_equal(x->dim_param[0], "N");
    assert_null(x->dim_param[1]);
    assert_int_equal(x->dims[3], 8);
    assert_int_equal(m->n_outputs, 1);
    assert_int_equal(o->value, bb_ox_value_find(m, "out"));
    assert_int_equal(o->dims[1], 2);
}

static void test_small_model(void **state)
{
    (void)state;
    oxb b;
    oxb_small_model(&b);
    bb_err err = {0};
    bb_ox_model *m = load_oxb(&b, &err);
    if (!m)
        fail_msg("%s", err.msg);
    assert_string_equal(m->path, "bad.onnx");
    check_small_graph(m);
    check_small_attrs(m);
    check_small_tensors(m);
    check_small_io(m);
    bb_ox_free(m);
    oxb_free(&b);
}

/* ---- element types ----------------------------------------------------------------- */

static const bb_ox_tensor *init_of(const bb_ox_model *m, const char *name)
{
    int v = bb_ox_value_find(m, name);
    assert_true(v >= 0 && m->values[v].init >= 0);
    return &m->inits[m->values[v].init];
}

static void add_raw(oxb *b, const char *name, int type, int64_t n, const void *bytes, size_t len)
{
    Onnx__TensorProto *t = oxb_tensor(b, name, type, 1, &n);
    oxb_raw(b, t, bytes, len);
    oxb_init_add(b, t);
}

static void test_element_types(void **state)
{
    (void)state;
    oxb b;
    oxb_init(&b, 13);
    double d[2] = {1.5, 1e300};
    add_raw(&b, "f64", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 2, d, sizeof d);
    const uint8_t h[] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}; /* 1, -2, 2^-24, inf */
    add_raw(&b, "f16", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 4, h, sizeof h);
    const uint8_t i32[] = {0xfb, 0xff, 0xff, 0xff, 7, 0, 0, 0}, i8[] = {0xff, 0x7f}, i16[] = {0xfe, 0xff};
    add_raw(&b, "i32", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 2, i32, sizeof i32);
    add_raw(&b, "i8", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, i8, sizeof i8);
    add_raw(&b, "u8", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 2, i8, sizeof i8);
    add_raw(&b, "i16", ONNX__TENSOR_PROTO__DATA_TYPE__INT16, 1, i16, sizeof i16);
    add_raw(&b, "bool", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 2, (const uint8_t[]){0, 2}, 2);
    int64_t i64[2] = {-1, (int64_t)1 << 40}, one = 1;
    add_raw(&b, "i64", I64, 2, i64, sizeof i64);
    Onnx__TensorProto *t = oxb_tensor(&b, "h16", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 1, &one);
    oxb_int32s(&b, t, 1, (const int32_t[]){0x3800}), oxb_init_add(&b, t); /* 0.5 */
    t = oxb_tensor(&b, "t32", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 1, &one);
    oxb_int32s(&b, t, 1, (const int32_t[]){-3}), oxb_init_add(&b, t);
    t = oxb_tensor(&b, "scalar", F32, 0, NULL);
    oxb_floats(&b, t, 1, (const float[]){4.0f}), oxb_init_add(&b, t);
    oxb_node(&b, "Identity", "id", "f64", "y");
    oxb_io(&b, 1, "y", F32, 0, NULL, NULL);
    bb_err err = {0};
    bb_ox_model *m = load_oxb(&b, &err);
    if (!m)
        fail_msg("%s", err.msg);
    const float *f = init_of(m, "f64")->data, *g = init_of(m, "f16")->data;
    assert_true(f[0] == 1.5f && isinf(f[1]) && f[1] > 0);
    assert_true(g[0] == 1.0f && g[1] == -2.0f && g[2] == ldexpf(1.0f, -24) && isinf(g[3]));
    assert_true(((const float *)init_of(m, "h16")->data)[0] == 0.5f);
    const int64_t *q = init_of(m, "i32")->data;
    assert_true(q[0] == -5 && q[1] == 7);
    q = init_of(m, "i8")->data;
    assert_true(q[0] == -1 && q[1] == 127);
    q = init_of(m, "u8")->data;
    assert_true(q[0] == 255 && q[1] == 127);
    assert_int_equal(((const int64_t *)init_of(m, "i16")->data)[0], -2);
    q = init_of(m, "bool")->data;
    assert_true(q[0] == 0 && q[1] == 1);
    q = init_of(m, "i64")->data;
    assert_true(q[0] == -1 && q[1] == (int64_t)1 << 40);
    assert_int_equal(((const int64_t *)init_of(m, "t32")->data)[0], -3);
    assert_int_equal(init_of(m, "scalar")->ndim, 0);
    assert_int_equal(init_of(m, "scalar")->numel, 1);
    bb_ox_free(m);
    oxb_free(&b);
}

static void test_unsupported_type(void **state)
{
    (void)state;
    oxb b;
    oxb_small_model(&b);
    int64_t one = 1;
    Onnx__TensorProto *t = oxb_tensor(&b, "names", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 1, &one);
    oxb_init_add(&b, t);
    expect_error(&b, "initializer 'names': element type STRING (8) is not supported");
    oxb_small_model(&b);
    oxb_raw(&b, t = oxb_tensor(&b, "u16", ONNX__TENSOR_PROTO__DATA_TYPE__UINT16, 1, &one), "ab", 2);
    oxb_init_add(&b, t);
    expect_error(&b, "initializer 'u16': element type UINT16");
}

/* ---- bytes that are no model ---------------------------------------------------------- */

static void test_every_prefix(void **state)
{
    (void)state;
    oxb b;
    oxb_small_model(&b);
    size_t len;
    uint8_t *buf = oxb_pack(&b, &len);
    oxb_free(&b);
    int loaded = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
        memcpy(copy, buf, n);
        bb_err err = {0};
        bb_ox_model *m = bb_ox_load_buffer(copy, n, "cut.onnx", NULL, &err);
        if (m)
            loaded++;
        else
            assert_non_null(strstr(err.msg, "cut.onnx: "));
        bb_ox_free(m);
        free(copy);
    }
    assert_true(loaded < (int)len / 10); /* nearly all prefixes are refused */
    free(buf);
}

static void test_garbage(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15u;
    uint8_t buf[4096];
    for (int round = 0; round < 200; round++) {
        size_t len = 1 + (size_t)(round * 37 % 4096);
        for (size_t i = 0; i < len; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            buf[i] = (uint8_t)(s >> 56);
        }
        bb_err err = {0};
        bb_ox_model *m = bb_ox_load_buffer(buf, len, "bad.onnx", NULL, &err);
        assert_null(m);
        assert_non_null(strstr(err.msg, "bad.onnx: "));
    }
    expect_bytes_error(NULL, 0, "the model has no graph");
}

static void test_wrong_wire_types(void **state)
{
    (void)state;
    /* graph (field 7, a message) as a varint; producer_name (field 2, a string) as a varint */
    expect_bytes_error((const uint8_t[]){0x38, 0x01}, 2, "not an ONNX model (protobuf parse failed)");
    expect_bytes_error((const uint8_t[]){0x10, 0x05}, 2, "not an ONNX model (protobuf parse failed)");
    /* a graph whose node (field 1) is a varint */
    expect_bytes_error((const uint8_t[]){0x3a, 0x02, 0x08, 0x01}, 4, "protobuf parse failed");
    /* a length beyond the end; a group (wire type 3) */
    expect_bytes_error((const uint8_t[]){0x3a, 0x7f, 0x08}, 3, "protobuf parse failed");
    expect_bytes_error((const uint8_t[]){0x3b, 0x3c}, 2, "protobuf parse failed");
}

/* A model whose graph input's type is a sequence of a sequence of ...
 * `depth` deep: one chain of messages, so its bytes are the headers (key,
 * length) from the outermost in. */
static uint8_t *nested_types(int depth, size_t *len)
{
    int levels = 2 * depth + 3;
    size_t *content = calloc((size_t)levels, sizeof *content), n = 0;
    /* inside out: Sequence.elem_type, TypeProto.sequence_type, ..., then
     * ValueInfoProto.type, GraphProto.input, ModelProto.graph */
    const uint8_t outer[] = {0x12, 0x5a, 0x3a};
    for (int l = 1; l < levels; l++) {
        size_t c = content[l - 1];
        content[l] = c + 1 + (c < 0x80 ? 1 : c < 0x4000 ? 2 : c < 0x200000 ? 3 : 4);
    }
    size_t total = content[levels - 1] + 1 + 4;
    uint8_t *buf = malloc(total);
    for (int l = levels - 1; l >= 0; l--) {
        buf[n++] = l >= 2 * depth ? outer[l - 2 * depth] : l % 2 ? 0x22 : 0x0a;
        for (size_t v = content[l];; v >>= 7) {
            buf[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
            if (v < 0x80)
                break;
        }
    }
    free(content);
    *len = n;
    return buf;
}

static void test_nesting_and_repeats(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = nested_types(100000, &len);
    expect_bytes_error(buf, len, "nested more than 64 deep");
    free(buf);
    buf = nested_types(10, &len); /* fine as protobuf; the graph has no outputs */
    expect_bytes_error(buf, len, "the graph has no outputs");
    free(buf);
    oxb b;
    oxb_small_model(&b);
    uint8_t *one = oxb_pack(&b, &len), *two = malloc(2 * len);
    memcpy(two, one, len), memcpy(two + len, one, len);
    expect_bytes_error(two, 2 * len, "field 'graph' of onnx.ModelProto appears twice");
    free(one), free(two);
    oxb_free(&b);
}

/* ---- graphs ------------------------------------------------------------------------------ */

/* x[1,4] -> (nodes the test adds) -> y */
static void tiny(oxb *b)
{
    const int64_t d[] = {1, 4};
    oxb_init(b, 17);
    oxb_io(b, 0, "x", F32, 2, d, NULL);
    oxb_io(b, 1, "y", F32, 2, d, NULL);
}

static void test_bad_graphs(void **state)
{
    (void)state;
    oxb b;
    tiny(&b), oxb_node(&b, "Relu", "self", "y", "y");
    expect_error(&b, "node 'self' (Relu) reads 'y', which no earlier node, input or initializer defines");
    tiny(&b), oxb_node(&b, "Relu", "first", "z", "y"), oxb_node(&b, "Relu", "second", "x", "z");
    expect_error(&b, "node 'first' (Relu) reads 'z', which no earlier node");
    tiny(&b), oxb_node(&b, "Relu", NULL, "nothing", "y");
    expect_error(&b, "node 'Relu#0' (Relu) reads 'nothing'");
    tiny(&b), oxb_node(&b, "Relu", "a", "x", "y"), oxb_node(&b, "Relu", "b", "x", "y");
    expect_error(&b, "node 'b' (Relu) writes 'y', which node 'a' already defines");
    tiny(&b), oxb_node(&b, "Relu", "a", "x", "x");
    expect_error(&b, "node 'a' (Relu) writes 'x', which a graph input already defines");
    tiny(&b), oxb_node(&b, "Relu", "a", "x", "q");
    expect_error(&b, "graph output 'y' is not defined by any node, input or initializer");
    tiny(&b), oxb_node(&b, "", "a", "x", "y");
    expect_error(&b, "node 0 has no op_type");
    tiny(&b), oxb_io(&b, 0, "x", F32, 0, NULL, NULL), oxb_node(&b, "Relu", "a", "x", "y");
    expect_error(&b, "graph input 'x' is declared twice");
    tiny(&b), b.model.graph = NULL;
    expect_error(&b, "the model has no graph");
    oxb_init(&b, 17), oxb_io(&b, 0, "x", F32, 0, NULL, NULL);
    expect_error(&b, "the graph has no outputs");
}

static void test_names_and_opsets(void **state)
{
    (void)state;
    oxb b;
    char longname[2000];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    tiny(&b), oxb_node(&b, "Relu", longname, "x", "y");
    expect_error(&b, "node 0's name is longer than 1024 bytes");
    tiny(&b), oxb_node(&b, "Relu", "a", "x", "y");
    b.model.opset_import[0]->domain = oxb_str(&b, "ai.onnx");
    OXB_PUSH(&b, b.model.opset_import, b.model.n_opset_import, b.model.opset_import[0]);
    Onnx__OperatorSetIdProto *o = oxb_new(&b, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->has_version = 1, o->version = 11;
    OXB_PUSH(&b, b.model.opset_import, b.model.n_opset_import, o);
    expect_error(&b, "opset_import gives the default domain twice (17 and 11)");
    tiny(&b);
    Onnx__NodeProto *n = oxb_node(&b, "Identity", "id", "x", "y");
    n->domain = oxb_str(&b, "ai.onnx");
    oxb_attr(&b, n, "empty", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    expect_error(&b, "node 'id' (Identity): attribute 'empty': a TENSOR attribute without a tensor");
}

/* A branch with no inputs: node `name` reads `in` and writes `out`, its output. */
static Onnx__GraphProto *branch(oxb *sub, const char *name, const char *in, const char *out)
{
    oxb_init(sub, 17);
    oxb_node(sub, "Relu", name, in, out);
    oxb_io(sub, 1, out, F32, 0, NULL, NULL);
    return &sub->graph;
}

/* If x then Relu(x) as "t" else Relu(x) as "t": the branches read x from
 * outside, both name their value "t" (each leaves scope at its end), and
 * are numbered in the model's one value table. */
static void test_subgraphs(void **state)
{
    (void)state;
    oxb b, then_g, else_g;
    tiny(&b);
    Onnx__NodeProto *n = oxb_node(&b, "If", "branch", "x", "y");
    oxb_attr(&b, n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = branch(&then_g, "a", "x", "t");
    oxb_attr(&b, n, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = branch(&else_g, "b", "x", "t");
    bb_err err = {0};
    bb_ox_model *m = load_oxb(&b, &err);
    if (!m)
        fail_msg("%s", err.msg);
    assert_int_equal(m->n_nodes, 1);
    assert_int_equal(m->n_graphs, 2);
    const int x = bb_ox_value_find(m, "x");
    for (int i = 0; i < 2; i++) {
        const bb_ox_attr *a = &m->nodes[0].attrs[i];
        assert_int_equal(a->type, BB_OX_ATTR_GRAPH);
        assert_string_equal(a->name, i ? "else_branch" : "then_branch");
        const bb_ox_graph *g = &m->graphs[a->i];
        assert_int_equal(g->n_nodes, 1);
        assert_int_equal(g->n_inputs, 0);
        assert_int_equal(g->n_outputs, 1);
        assert_string_equal(g->nodes[0].name, i ? "b" : "a");
        assert_int_equal(g->nodes[0].in[0], x);
        assert_int_equal(g->outputs[0], g->nodes[0].out[0]);
        assert_string_equal(m->values[g->outputs[0]].name, "t");
    }
    assert_int_not_equal(m->graphs[0].outputs[0], m->graphs[1].outputs[0]);
    bb_ox_free(m);
    oxb_free(&b), oxb_free(&then_g), oxb_free(&else_g);
}

/* tiny() with node If 'branch' (x -> out) whose then_branch is g. */
static void tiny_if(oxb *b, const char *out, Onnx__GraphProto *g)
{
    tiny(b);
    Onnx__NodeProto *n = oxb_node(b, "If", "branch", "x", out);
    oxb_attr(b, n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = g;
}

static void test_bad_subgraphs(void **state)
{
    (void)state;
    oxb b, sub;
    /* a subgraph input named like a value outside it */
    Onnx__GraphProto *g = branch(&sub, "inner", "x", "t");
    oxb_io(&sub, 0, "x", F32, 0, NULL, NULL);
    tiny_if(&b, "y", g);
    expect_error(&b, "node 'branch' (If), attribute 'then_branch': input 'x' is already defined outside the subgraph");
    oxb_free(&sub);
    /* a subgraph reading a value defined after its node */
    tiny_if(&b, "y", branch(&sub, "early", "late", "t"));
    oxb_node(&b, "Relu", "later", "x", "late");
    expect_error(&b, "node 'early' (Relu) reads 'late', which no earlier node, input or initializer defines");
    oxb_free(&sub);
    /* a subgraph's output that nothing defines */
    g = branch(&sub, "inner", "x", "t");
    oxb_io(&sub, 1, "u", F32, 0, NULL, NULL);
    tiny_if(&b, "y", g);
    expect_error(&b, "attribute 'then_branch': output 'u' is not defined in the subgraph or before its node");
    oxb_free(&sub);
    /* a value of the subgraph read after it (its names left scope) */
    tiny_if(&b, "z", branch(&sub, "inner", "x", "t"));
    oxb_node(&b, "Relu", "outside", "t", "y");
    expect_error(&b, "node 'outside' (Relu) reads 't', which no earlier node");
    oxb_free(&sub);
}

/* ---- tensors ------------------------------------------------------------------------------- */

/* tiny() with initializer w (of the given shape, data to be set) added to x. */
static Onnx__TensorProto *tiny_init(oxb *b, int type, size_t ndim, const int64_t *dims)
{
    tiny(b);
    Onnx__TensorProto *t = oxb_tensor(b, "w", type, ndim, dims);
    oxb_init_add(b, t);
    oxb_node(b, "Add", "add", "x,w", "y");
    return t;
}

static void test_bad_dims(void **state)
{
    (void)state;
    oxb b;
    const int64_t neg[] = {2, -3}, huge[] = {(int64_t)1 << 62}, big2[] = {(int64_t)1 << 31, (int64_t)1 << 31};
    const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, negio[] = {1, 4};
    tiny_init(&b, F32, 2, neg);
    expect_error(&b, "initializer 'w': dim 1 of shape [2,-3] is negative");
    tiny_init(&b, F32, 1, huge);
    expect_error(&b, "initializer 'w': shape [4611686018427387904] holds more than 68719476736 elements");
    tiny_init(&b, F32, 2, big2);
    expect_error(&b, "holds more than 68719476736 elements");
    tiny_init(&b, F32, 9, nine);
    expect_error(&b, "initializer 'w': 9 dims, at most 8");
    tiny(&b);
    Onnx__NodeProto *n = oxb_node(&b, "Constant", "k", NULL, "y");
    oxb_attr_t(&b, n, "value", oxb_tensor(&b, NULL, F32, 2, neg));
    expect_error(&b, "node 'k' (Constant): attribute 'value': dim 1 of shape [2,-3] is negative");
    tiny(&b), oxb_io(&b, 0, "z", F32, 2, negio, NULL), oxb_node(&b, "Relu", "a", "x", "y");
    b.graph.input[1]->type->tensor_type->shape->dim[1]->dim_value = -4;
    expect_error(&b, "graph input 'z': dim 1 is -4 (negative)");
}

static void test_bad_data(void **state)
{
    (void)state;
    oxb b;
    const int64_t d23[] = {2, 3};
    const float six[6] = {0};
    oxb_raw(&b, tiny_init(&b, F32, 2, d23), six, 20);
    expect_error(&b, "initializer 'w': raw_data holds 20 bytes; shape [2,3] of FLOAT needs 24");
    oxb_floats(&b, tiny_init(&b, F32, 2, d23), 5, six);
    expect_error(&b, "initializer 'w': float_data holds 5 values; shape [2,3] of FLOAT needs 6");
    tiny_init(&b, F32, 2, d23);
    expect_error(&b, "float_data holds 0 values");
    Onnx__TensorProto *t = tiny_init(&b, F32, 2, d23);
    oxb_raw(&b, t, six, 24), oxb_floats(&b, t, 6, six);
    expect_error(&b, "holds both raw_data and typed data");
    oxb_raw(&b, t = tiny_init(&b, F32, 2, d23), six, 24), oxb_init_add(&b, t);
    expect_error(&b, "initializer 'w' is given twice");
}

/* ---- external data ------------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char model[128];
} ext_dir;

static int ext_setup(void **state)
{
    ext_dir *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/bb_onnx_test_XXXXXX");
    if (!e || !mkdtemp(e->dir))
        return -1;
    snprintf(e->model, sizeof e->model, "%s/m.onnx", e->dir);
    char p[256];
    snprintf(p, sizeof p, "%s/w.bin", e->dir);
    FILE *f = fopen(p, "wb");
    float w[10];
    for (int i = 0; i < 10; i++)
        w[i] = (float)i;
    fwrite(w, sizeof w, 1, f); /* 40 bytes */
    fclose(f);
    snprintf(p, sizeof p, "%s/sub", e->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/i.bin", e->dir);
    f = fopen(p, "wb");
    fwrite((const int64_t[]){-7, 9}, sizeof(int64_t), 2, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/link.bin", e->dir);
    if (symlink("/etc/passwd", p) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/fifo.bin", e->dir);
    if (mkfifo(p, 0600) != 0)
        return -1;
    *state = e;
    return 0;
}

static int ext_teardown(void **state)
{
    ext_dir *e = *state;
    remove_tree(e->dir);
    free(e);
    return 0;
}

/* A model with initializer w[2,3] (and i[2] in sub/i.bin) in external data. */
static void ext_model(oxb *b, const char *location, long long offset, long long length)
{
    const int64_t d23[] = {2, 3}, d2[] = {2};
    oxb_external(b, tiny_init(b, F32, 2, d23), location, offset, length);
    Onnx__TensorProto *t = oxb_tensor(b, "i", I64, 1, d2);
    oxb_external(b, t, "sub/i.bin", -1, -1);
    oxb_init_add(b, t);
}

/* Writes b as e->model and loads it from there. */
static bb_ox_model *ext_load(const ext_dir *e, oxb *b, bb_err *err)
{
    size_t len;
    uint8_t *buf = oxb_pack(b, &len);
    FILE *f = fopen(e->model, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
    oxb_free(b);
    return bb_ox_load(e->model, err);
}

static void ext_expect(const ext_dir *e, const char *location, long long offset, long long length,
                       const char *want)
{
    oxb b;
    bb_err err = {0};
    ext_model(&b, location, offset, length);
    bb_ox_model *m = ext_load(e, &b, &err);
    if (m || !strstr(err.msg, want))
        print_error("wanted '%s', got: %s\n", want, m ? "(loaded)" : err.msg);
    bb_ox_free(m);
    assert_null(m);
    assert_non_null(strstr(err.msg, e->model));
    assert_non_null(strstr(err.msg, want));
}

static void test_external_ok(void **state)
{
    const ext_dir *e = *state;
    oxb b;
    bb_err err = {0};
    ext_model(&b, "w.bin", 16, 24);
    bb_ox_model *m = ext_load(e, &b, &err);
    if (!m)
        fail_msg("%s", err.msg);
    const float *w = init_of(m, "w")->data;
    assert_true(w[0] == 4.0f && w[5] == 9.0f);
    const int64_t *i = init_of(m, "i")->data;
    assert_true(i[0] == -7 && i[1] == 9);
    bb_ox_free(m);
    ext_model(&b, "./w.bin", -1, 24); /* offset 0 */
    assert_non_null(m = ext_load(e, &b, &err));
    assert_true(((const float *)init_of(m, "w")->data)[5] == 5.0f);
    bb_ox_free(m);
    char cwd[1024]; /* a bare file name: its folder is "." */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(e->dir), 0);
    m = bb_ox_load("m.onnx", &err);
    assert_int_equal(chdir(cwd), 0);
    if (!m)
        fail_msg("%s", err.msg);
    bb_ox_free(m);
    ext_model(&b, "w.bin", 0, 24);
    size_t len;
    uint8_t *buf = oxb_pack(&b, &len);
    assert_null(bb_ox_load_buffer(buf, len, "mem.onnx", NULL, &err));
    assert_non_null(strstr(err.msg, "mem.onnx: initializer 'w': external data is refused"));
    free(buf);
    oxb_free(&b);
}

static void test_external_refused(void **state)
{
    const ext_dir *e = *state;
    ext_expect(e, "w.bin", 0, 4000, "offset 0 + length 4000 is beyond the file's 40 bytes");
    ext_expect(e, "w.bin", 32, 24, "offset 32 + length 24 is beyond the file's 40 bytes");
    ext_expect(e, "w.bin", 0, 20, "external data 'w.bin' holds 20 bytes; the tensor needs 24");
    ext_expect(e, "w.bin", -1, -1, "external data 'w.bin' holds 40 bytes; the tensor needs 24");
    ext_expect(e, "../x", 0, 24, "location '../x' has a '..' component");
    ext_expect(e, "sub/../../w.bin", 0, 24, "has a '..' component");
    ext_expect(e, "/etc/passwd", 0, 24, "location '/etc/passwd' is an absolute path");
    ext_expect(e, "link.bin", 0, 24, "external data 'link.bin' resolves to '/etc/passwd', outside the model's folder");
    ext_expect(e, "nope.bin", 0, 24, "cannot open external data 'nope.bin'");
    ext_expect(e, "fifo.bin", 0, 24, "external data 'fifo.bin' is not a regular file");
    ext_expect(e, "", 0, 24, "external data without a location");
}

static void test_file_errors(void **state)
{
    const ext_dir *e = *state;
    bb_err err = {0};
    assert_null(bb_ox_load("/nonexistent/m.onnx", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/m.onnx: cannot open: No such file"));
    assert_null(bb_ox_load(e->dir, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));
    char p[256];
    snprintf(p, sizeof p, "%s/w.bin", e->dir);
    assert_null(bb_ox_load(p, &err));
    assert_non_null(strstr(err.msg, "w.bin: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_model),
        cmocka_unit_test(test_element_types),
        cmocka_unit_test(test_unsupported_type),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_wrong_wire_types),
        cmocka_unit_test(test_nesting_and_repeats),
        cmocka_unit_test(test_bad_graphs),
        cmocka_unit_test(test_names_and_opsets),
        cmocka_unit_test(test_subgraphs),
        cmocka_unit_test(test_bad_subgraphs),
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_bad_data),
        cmocka_unit_test_setup_teardown(test_external_ok, ext_setup, ext_teardown),
        cmocka_unit_test_setup_teardown(test_external_refused, ext_setup, ext_teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, ext_setup, ext_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tiny_onnx.h — ONNX models built by hand in memory for the evaluator's
 * unit tests (test_onnx_eval.c, test_onnx_deconv.c): values, initializers,
 * nodes and attributes from short strings, and checks of the values that
 * bb_ox_eval gives them.
 *
 * Why this file exists: the tests of the evaluator need no ONNX file and
 * no reader, and more than one test file builds its models this way.
 *
 *   tm *t = tm_new(17);
 *   tm_input(t, "x", 4, I(-1, 3, 8, 8));
 *   tm_graph(t, "Relu x>y");
 *   bb_ox_val *v = eval_ok(t, 2);
 *   check(t, v, "y[2,3,8,8]~");
 */
#ifndef BB_TEST_TINY_ONNX_H
#define BB_TEST_TINY_ONNX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_eval.h"

/* ---- a hand-built model ------------------------------------------------------- */

#define TM_V 64
#define TM_N 24
#define TM_A 6
#define TM_L 24 /* elements in one attribute list or tensor */

typedef struct {
    bb_ox_model m;
    bb_ox_value values[TM_V];
    char names[TM_V][24];
    bb_ox_node nodes[TM_N];
    char node_names[TM_N][24];
    int in[TM_N][8], out[TM_N][8];
    bb_ox_attr attrs[TM_N][TM_A];
    int64_t aints[TM_N][TM_A][TM_L];
    float afloats[TM_N][TM_A][TM_L];
    bb_ox_tensor atensor[TM_N][TM_A];
    char pool[4096]; /* attribute names and strings */
    size_t pool_used;
    bb_ox_tensor inits[24];
    int init_value[24];
    bb_ox_io inputs[2];
} tm;

static inline tm *tm_new(int64_t opset)
{
    tm *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->m = (bb_ox_model){.path = "t.onnx", .opset = opset, .values = t->values, .nodes = t->nodes,
                         .inits = t->inits, .init_value = t->init_value, .inputs = t->inputs};
    return t;
}

static inline void tm_free(tm *t)
{
    for (int i = 0; i < t->m.n_inits; i++)
        free(t->inits[i].data);
    free(t);
}

static inline char *tm_str(tm *t, const char *s, size_t n)
{
    assert_true(t->pool_used + n + 1 <= sizeof t->pool);
    char *p = memcpy(t->pool + t->pool_used, s, n);
    p[n] = 0;
    t->pool_used += n + 1;
    return p;
}

static inline int tm_val(tm *t, const char *name)
{
    for (int i = 0; i < t->m.n_values; i++)
        if (!strcmp(t->names[i], name))
            return i;
    assert_true(t->m.n_values < TM_V);
    int i = t->m.n_values++;
    snprintf(t->names[i], sizeof t->names[i], "%s", name);
    t->values[i] = (bb_ox_value){.name = t->names[i], .init = -1, .producer = -1};
    return i;
}

/* A float graph input whose dims[0] is the batch (declared -1). */
static inline void tm_input(tm *t, const char *name, int ndim, const int64_t *dims)
{
    bb_ox_io *io = &t->inputs[t->m.n_inputs++];
    *io = (bb_ox_io){.value = tm_val(t, name), .elem_type = 1, .ndim = ndim};
    for (int d = 0; d < ndim; d++)
        io->dims[d] = d ? dims[d] : -1;
}

/* An initializer (data NULL: zeros). */
static inline void tm_init(tm *t, const char *name, bb_ox_dtype dt, int ndim, const int64_t *dims, const void *data)
{
    assert_true(t->m.n_inits < 24);
    int k = t->m.n_inits++;
    bb_ox_tensor *x = &t->inits[k];
    *x = (bb_ox_tensor){.dtype = dt, .ndim = ndim, .numel = 1};
    for (int d = 0; d < ndim; d++)
        x->numel *= x->dims[d] = dims[d];
    size_t bytes = (size_t)x->numel * (dt == BB_OX_F32 ? 4 : 8);
    x->data = calloc(1, bytes ? bytes : 1);
    assert_non_null(x->data);
    if (data)
        memcpy(x->data, data, bytes);
    t->init_value[k] = tm_val(t, name);
    t->values[t->init_value[k]].init = k;
}

/* One value of the little spec language: 3, max, min (INT64 extremes), 2.5f,
 * [1,2,3], [0.5f,1f], or else a string. kind: 'i', 'I' (list), 'f', 'F', 's'. */
typedef struct {
    char kind;
    int n;
    int64_t i[TM_L];
    float f[TM_L];
} tval;

static inline tval parse_val(const char *s)
{
    tval v = {.kind = 's'};
    int list = *s == '[', isf = 0;
    for (const char *p = s + list; *p && *p != ']' && *p != ' ';) {
        char *end;
        assert_true(v.n < TM_L);
        if (!strncmp(p, "max", 3) || !strncmp(p, "min", 3)) {
            v.i[v.n] = p[1] == 'a' ? INT64_MAX : INT64_MIN, end = (char *)p + 3;
        } else {
            v.i[v.n] = strtoll(p, &end, 10);
            if (end == p)
                return v; /* a string */
            if (*end == '.' || *end == 'e' || *end == 'f') {
                v.f[v.n] = strtof(p, &end);
                assert_true(*end == 'f');
                end++, isf = 1;
            }
        }
        v.n++;
        p = end + (*end == ',');
    }
    v.kind = (char)(isf ? (list ? 'F' : 'f') : (list ? 'I' : 'i'));
    return v;
}

/* Constants: "a=3 b=[1,2] c=2.5f d=[0.5f,1f]" (int64 / float, scalars / 1-D),
 * "m:2x3=[1,2,3,4,5,6]" (shaped), "w:64x3x7x7" (float zeros). */
static inline void tm_consts(tm *t, const char *spec)
{
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ":=");
        char name[24], *end = (char *)p + n;
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int64_t dims[BB_OX_MAX_DIMS];
        int nd = 0;
        while (*end == ':' || *end == 'x')
            dims[nd++] = strtoll(end + 1, &end, 10);
        tval v = *end == '=' ? parse_val(end + 1) : (tval){.kind = 'F'};
        int flt = v.kind == 'f' || v.kind == 'F';
        if (!nd && (v.kind == 'I' || v.kind == 'F'))
            dims[nd++] = v.n;
        tm_init(t, name, flt ? BB_OX_F32 : BB_OX_I64, nd, dims, *end != '=' ? NULL : flt ? (void *)v.f : (void *)v.i);
        p += strcspn(p, " ");
        p += *p == ' ';
    }
}

static inline bb_ox_attr *tm_attr(tm *t, bb_ox_node *n, const char *name, size_t len, bb_ox_attr_type type)
{
    assert_true(n->n_attr < TM_A);
    bb_ox_attr *a = &n->attrs[n->n_attr++];
    *a = (bb_ox_attr){.name = tm_str(t, name, len), .type = type};
    return a;
}

/* Attributes of n: "axis=0 perm=[0,2,1] auto_pad=VALID alpha=0.5f value=T[7]"
 * (T: a 1-D tensor). */
static inline bb_ox_node *tm_attrs(tm *t, bb_ox_node *n, const char *spec)
{
    int k = (int)(n - t->nodes);
    for (const char *p = spec; *p;) {
        const char *eq = strchr(p, '='), *sp = strchr(p, ' ');
        size_t vlen = sp ? (size_t)(sp - eq - 1) : strlen(eq + 1);
        int tensor = eq[1] == 'T';
        tval v = parse_val(eq + 1 + tensor);
        static const bb_ox_attr_type T[128] = {['i'] = BB_OX_ATTR_INT, ['I'] = BB_OX_ATTR_INTS,
                                              ['f'] = BB_OX_ATTR_FLOAT, ['F'] = BB_OX_ATTR_FLOATS,
                                              ['s'] = BB_OX_ATTR_STRING};
        int j = n->n_attr, flt = v.kind == 'F';
        bb_ox_attr *a = tm_attr(t, n, p, (size_t)(eq - p), tensor ? BB_OX_ATTR_TENSOR : T[(int)v.kind]);
        a->i = v.i[0], a->f = v.f[0], a->n = v.n;
        a->ints = memcpy(t->aints[k][j], v.i, sizeof v.i);
        a->floats = memcpy(t->afloats[k][j], v.f, sizeof v.f);
        a->s = v.kind == 's' ? tm_str(t, eq + 1, vlen) : NULL;
        a->t = tensor ? &t->atensor[k][j] : NULL;
        if (tensor)
            *a->t = (bb_ox_tensor){.dtype = flt ? BB_OX_F32 : BB_OX_I64, .ndim = 1, .dims = {v.n}, .numel = v.n,
                                   .data = flt ? (void *)a->floats : (void *)a->ints};
        p = sp ? sp + 1 : eq + 1 + vlen;
    }
    return n;
}

/* A node; ins/outs are comma-separated value names ("" for an omitted one). */
static inline bb_ox_node *tm_node(tm *t, const char *op, const char *ins, const char *outs, const char *attrs)
{
    assert_true(t->m.n_nodes < TM_N);
    int k = t->m.n_nodes++;
    bb_ox_node *n = &t->nodes[k];
    snprintf(t->node_names[k], sizeof t->node_names[k], "%s_%d", op, k);
    *n = (bb_ox_node){.name = t->node_names[k], .op_type = (char *)op, .domain = "", .in = t->in[k],
                      .out = t->out[k], .attrs = t->attrs[k]};
    for (int l = 0; l < 2; l++) {
        const char *p = l ? outs : ins;
        int *cnt = l ? &n->n_out : &n->n_in, *dst = l ? n->out : n->in;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char name[24];
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            assert_true(*cnt < 8);
            dst[(*cnt)++] = len ? tm_val(t, name) : -1;
            if (l && len)
                t->values[dst[*cnt - 1]].producer = k;
            p = e ? e + 1 : p + len;
        }
    }
    return tm_attrs(t, n, attrs);
}

/* Nodes from "Op a,b>c attr=1; Op c>d,e" (inputs, outputs and attributes as
 * tm_node and tm_attrs take them). */
static inline void tm_graph(tm *t, const char *spec)
{
    char buf[1024], *save;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *n = strtok_r(buf, ";", &save); n; n = strtok_r(NULL, ";", &save)) {
        n += strspn(n, " ");
        char *io = strchr(n, ' ');
        *io++ = 0;
        char *attrs = io + strcspn(io, " "), *gt = strchr(io, '>');
        if (*attrs)
            *attrs++ = 0;
        *gt = 0;
        tm_node(t, tm_str(t, n, strlen(n)), io, gt + 1, attrs);
    }
}

#define I(...) ((const int64_t[]){__VA_ARGS__})
#define NI(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), I(__VA_ARGS__)

static inline const bb_ox_val *V(tm *t, bb_ox_val *v, const char *name)
{
    return &v[tm_val(t, name)];
}

/* Checks values against a spec: "a[2,3]" a's dims, "b=1,-2" b's constant int64
 * data, "c~" c not constant; combined as in "g[]=2" or "y[2,768]~". */
static inline void check(tm *t, bb_ox_val *v, const char *spec)
{
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, "[=~ ");
        char name[24];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        const bb_ox_val *x = V(t, v, name);
        p += n;
        if (*p == '[') {
            tval d = parse_val(p);
            int ok = x->ndim == d.n;
            for (int i = 0; ok && i < d.n; i++)
                ok = x->dims[i] == d.i[i];
            if (!ok)
                fail_msg("%s: rank %d, dims[0] %lld; expected %.*s", name, x->ndim, (long long)x->dims[0],
                         (int)strcspn(p, " ="), p);
            p = strchr(p, ']') + 1;
        }
        if (*p == '=') {
            tval d = parse_val(++p);
            int ok = x->is_const && x->dtype == BB_OX_I64 && x->numel == d.n;
            for (int i = 0; ok && i < d.n; i++)
                ok = ((const int64_t *)x->data)[i] == d.i[i];
            if (!ok)
                fail_msg("%s: not the constant int64 %.*s", name, (int)strcspn(p, " "), p);
            p += strcspn(p, " ");
        }
        if (*p == '~' && x->is_const)
            fail_msg("%s is constant", name);
        p += strspn(p, "~ ");
    }
}

static inline float F(const bb_ox_val *x, int i)
{
    assert_true(x->is_const && x->dtype == BB_OX_F32 && i < x->numel);
    return ((const float *)x->data)[i];
}

/* Evaluation must fail, the message naming the file and holding s1 and s2. */
static inline void expect_error(tm *t, int64_t n, const char *s1, const char *s2)
{
    bb_err err = {0};
    bb_ox_val *v = bb_ox_eval(&t->m, n, 0, &err);
    bb_ox_vals_free(v, t->m.n_values);
    assert_null(v);
    if (!strstr(err.msg, s1) || (s2 && !strstr(err.msg, s2)) || !strstr(err.msg, "t.onnx"))
        fail_msg("error '%s' lacks '%s' / '%s'", err.msg, s1, s2 ? s2 : "");
}

static inline bb_ox_val *eval_ok(tm *t, int64_t n)
{
    bb_err err = {0};
    bb_ox_val *v = bb_ox_eval(&t->m, n, 0, &err);
    if (!v)
        fail_msg("eval failed: %s", err.msg);
    return v;
}

/* A cmocka test (its state argument unused). */
#define TEST(name) static void name(void **state __attribute__((unused)))

#endif

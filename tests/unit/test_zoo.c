/*
 * test_zoo.c — the model zoo reproduces torchvision's 12 models.
 *
 * Exists to pin every model, with and without its classifier, to the
 * reference figures in shared/reference/torchvision-models.md (parameter
 * count and GMAC per item, read off torchvision 0.14) and to check the facts
 * the rest of batchbench relies on: registry order and families, output
 * tensor and feature dimension, unique parameter/buffer names, and the
 * batched output shape.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/zoo.h"

typedef struct {
    const char *name;
    bb_family family;
    int64_t params[2];  /* features only, with classifier */
    int64_t feature_dim;
    int64_t mgmac[2];   /* GMAC/item in thousandths: features, classifier */
} model_ref;

#define CONV BB_FAMILY_CONV
#define TRANS BB_FAMILY_TRANSFORMER

/* The reference table, in the seed's order. */
static const model_ref refs[] = {
    {"resnet18", CONV, {11176512, 11689512}, 512, {1814, 1814}},
    {"resnet34", CONV, {21284672, 21797672}, 512, {3663, 3664}},
    {"resnet50", CONV, {23508032, 25557032}, 2048, {4087, 4089}},
    {"resnet101", CONV, {42500160, 44549160}, 2048, {7799, 7801}},
    {"resnet152", CONV, {58143808, 60192808}, 2048, {11512, 11514}},
    {"mobilenet_v2", CONV, {2223872, 3504872}, 1280, {299, 301}},
    {"efficientnet_v2_s", CONV, {20177488, 21458488}, 1280, {2849, 2850}},
    {"efficientnet_v2_l", CONV, {117234272, 118515272}, 1280, {12230, 12231}},
    {"vit_b_16", TRANS, {85798656, 86567656}, 768, {17563, 17564}},
    {"vit_b_32", TRANS, {87455232, 88224232}, 768, {4408, 4409}},
    {"vit_l_16", TRANS, {303301632, 304326632}, 1024, {61554, 61555}},
    {"vit_l_32", TRANS, {305510400, 306535400}, 1024, {15377, 15378}},
};

#define N_REFS ((int)(sizeof refs / sizeof refs[0]))

static void test_registry(void **state)
{
    (void)state;
    assert_int_equal(bb_zoo_count(), N_REFS);
    for (int i = 0; i < N_REFS; i++) {
        const bb_model_info *m = bb_zoo_at(i);
        assert_non_null(m);
        assert_string_equal(m->name, refs[i].name);
        assert_int_equal(m->family, refs[i].family);
        assert_ptr_equal(bb_zoo_find(refs[i].name), m);
    }
    assert_null(bb_zoo_at(-1));
    assert_null(bb_zoo_at(N_REFS));
    assert_null(bb_zoo_find("resnet19"));
    assert_null(bb_zoo_build("vit_h_14", BB_HEAD_FEATURES));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every parameter and buffer has a non-empty name, none repeated. */
static void check_unique_names(const bb_graph *g)
{
    const char **names = calloc((size_t)g->n_tensors, sizeof *names);
    assert_non_null(names);
    int n = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        const bb_tensor *t = &g->tensors[i];
        if (t->kind == BB_T_PARAM || t->kind == BB_T_BUFFER) {
            assert_true(t->name[0] != '\0');
            names[n++] = t->name;
        }
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            fail_msg("%s: duplicate tensor name '%s'", g->model, names[i]);
    free(names);
}

static void check_input(const bb_graph *g)
{
    assert_true(g->input >= 0 && g->input < g->n_tensors);
    const bb_tensor *in = &g->tensors[g->input];
    assert_string_equal(in->name, "input");
    assert_int_equal(in->kind, BB_T_INPUT);
    assert_int_equal(in->ndim, 3);
    assert_int_equal(in->dims[0], 3);
    assert_int_equal(in->dims[1], 224);
    assert_int_equal(in->dims[2], 224);
}

static void check_head(const model_ref *r, bb_head head)
{
    bb_graph *g = bb_zoo_build(r->name, head);
    assert_non_null(g);
    assert_string_equal(g->model, r->name);
    assert_int_equal(g->family, r->family);
    assert_int_equal(g->head, head);
    check_input(g);
    assert_true(g->output >= 0 && g->output < g->n_tensors);
    assert_int_equal(g->tensors[g->output].kind, BB_T_ACT);
    assert_int_equal(g->tensors[g->output].ndim, 1);
    assert_int_equal(bb_graph_param_count(g), r->params[head]);
    int64_t mgmac = (int64_t)llround((double)bb_graph_macs(g) / 1e6);
    assert_int_equal(mgmac, r->mgmac[head]);
    int64_t dim = head == BB_HEAD_CLASSIFIER ? 1000 : r->feature_dim;
    assert_int_equal(bb_graph_feature_dim(g), dim);
    check_unique_names(g);
    bb_graph_free(g);
}

/* One cmocka test per model; the reference row is the initial state. */
static void test_model(void **state)
{
    const model_ref *r = *state;
    check_head(r, BB_HEAD_FEATURES);
    check_head(r, BB_HEAD_CLASSIFIER);
}

static void check_output_shape(const bb_graph *g, int64_t n, int64_t dim)
{
    int64_t dims[BB_MAX_DIMS + 1];
    assert_int_equal(bb_tensor_shape(g, g->output, n, dims), 2);
    assert_int_equal(dims[0], n);
    assert_int_equal(dims[1], dim);
}

static void test_output_shape(void **state)
{
    (void)state;
    for (int i = 0; i < N_REFS; i++) {
        for (int h = BB_HEAD_FEATURES; h <= BB_HEAD_CLASSIFIER; h++) {
            bb_graph *g = bb_zoo_build(refs[i].name, (bb_head)h);
            int64_t dim = h == BB_HEAD_CLASSIFIER ? 1000 : refs[i].feature_dim;
            check_output_shape(g, 1, dim);
            check_output_shape(g, 7, dim);
            int64_t in[BB_MAX_DIMS + 1];
            assert_int_equal(bb_tensor_shape(g, g->input, 7, in), 4);
            assert_true(in[0] == 7 && in[1] == 3 && in[2] == 224 && in[3] == 224);
            bb_graph_free(g);
        }
    }
}

#define MODEL_TEST(i) {refs[i].name, test_model, NULL, NULL, (void *)&refs[i]}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        MODEL_TEST(0), MODEL_TEST(1), MODEL_TEST(2), MODEL_TEST(3),
        MODEL_TEST(4), MODEL_TEST(5), MODEL_TEST(6), MODEL_TEST(7),
        MODEL_TEST(8), MODEL_TEST(9), MODEL_TEST(10), MODEL_TEST(11),
        cmocka_unit_test(test_output_shape),
    };
    return cmocka_run_group_tests_name("zoo", tests, NULL, NULL);
}

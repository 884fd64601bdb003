/*
 * zoo.c — the registry of the seed's 12 torchvision models.
 *
 * Exists so the CLI, the tests and the benchmarks name models by string and
 * iterate them in the seed's order (the 8 conv models, then the 4 ViTs),
 * without knowing which builder file implements which architecture.
 */
#include "models/zoo.h"

#include <string.h>

static bb_graph *build_resnet18(bb_head h) { return bb_build_resnet("resnet18", h); }
static bb_graph *build_resnet34(bb_head h) { return bb_build_resnet("resnet34", h); }
static bb_graph *build_resnet50(bb_head h) { return bb_build_resnet("resnet50", h); }
static bb_graph *build_resnet101(bb_head h) { return bb_build_resnet("resnet101", h); }
static bb_graph *build_resnet152(bb_head h) { return bb_build_resnet("resnet152", h); }
static bb_graph *build_effv2_s(bb_head h) { return bb_build_efficientnet_v2("efficientnet_v2_s", h); }
static bb_graph *build_effv2_l(bb_head h) { return bb_build_efficientnet_v2("efficientnet_v2_l", h); }
static bb_graph *build_vit_b_16(bb_head h) { return bb_build_vit("vit_b_16", h); }
static bb_graph *build_vit_b_32(bb_head h) { return bb_build_vit("vit_b_32", h); }
static bb_graph *build_vit_l_16(bb_head h) { return bb_build_vit("vit_l_16", h); }
static bb_graph *build_vit_l_32(bb_head h) { return bb_build_vit("vit_l_32", h); }

static const bb_model_info models[] = {
    {"resnet18", BB_FAMILY_CONV, build_resnet18},
    {"resnet34", BB_FAMILY_CONV, build_resnet34},
    {"resnet50", BB_FAMILY_CONV, build_resnet50},
    {"resnet101", BB_FAMILY_CONV, build_resnet101},
    {"resnet152", BB_FAMILY_CONV, build_resnet152},
    {"mobilenet_v2", BB_FAMILY_CONV, bb_build_mobilenet_v2},
    {"efficientnet_v2_s", BB_FAMILY_CONV, build_effv2_s},
    {"efficientnet_v2_l", BB_FAMILY_CONV, build_effv2_l},
    {"vit_b_16", BB_FAMILY_TRANSFORMER, build_vit_b_16},
    {"vit_b_32", BB_FAMILY_TRANSFORMER, build_vit_b_32},
    {"vit_l_16", BB_FAMILY_TRANSFORMER, build_vit_l_16},
    {"vit_l_32", BB_FAMILY_TRANSFORMER, build_vit_l_32},
};

#define N_MODELS ((int)(sizeof models / sizeof models[0]))

int bb_zoo_count(void)
{
    return N_MODELS;
}

const bb_model_info *bb_zoo_at(int i)
{
    return (i >= 0 && i < N_MODELS) ? &models[i] : NULL;
}

const bb_model_info *bb_zoo_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < N_MODELS; i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

bb_graph *bb_zoo_build(const char *name, bb_head head)
{
    const bb_model_info *m = bb_zoo_find(name);
    return m ? m->build(head) : NULL;
}

int bb_zoo_input(bb_graph *g)
{
    const int64_t dims[3] = {3, 224, 224};
    g->input = bb_graph_add_tensor(g, "input", BB_T_INPUT, 3, dims);
    return g->input;
}

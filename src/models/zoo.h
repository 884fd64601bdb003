/*
 * zoo.h — the seed's 12 torchvision models, built as bb_graphs.
 *
 * Each builder reproduces torchvision 0.14's architecture exactly, with
 * tensor names equal to torchvision's state_dict keys, so a converted
 * torchvision checkpoint loads as is. Input is [3,224,224] per item.
 */
#ifndef BB_ZOO_H
#define BB_ZOO_H

#include "engine/graph.h"

typedef struct {
    const char *name;
    bb_family family;
    bb_graph *(*build)(bb_head head);
} bb_model_info;

int bb_zoo_count(void);
const bb_model_info *bb_zoo_at(int i);
const bb_model_info *bb_zoo_find(const char *name); /* NULL if unknown */
bb_graph *bb_zoo_build(const char *name, bb_head head); /* NULL if unknown */

/* Shared by the builders: adds the [3,224,224] input tensor. */
int bb_zoo_input(bb_graph *g);

/* Builders, one file per architecture family. */
bb_graph *bb_build_resnet(const char *name, bb_head head);
bb_graph *bb_build_mobilenet_v2(bb_head head);
bb_graph *bb_build_efficientnet_v2(const char *name, bb_head head);
bb_graph *bb_build_vit(const char *name, bb_head head);

#endif

/*
 * resnet.c — torchvision's ResNet-18/34/50/101/152 as a bb_graph.
 *
 * Exists so the five ResNets of the seed are built from one description:
 * BasicBlock (18/34) or Bottleneck (50+, stride on the 3x3 conv, "v1.5"),
 * BatchNorm eps 1e-5, stem conv 7x7/2 + max pool 3/2/1, global average pool,
 * and optionally the `fc` classifier. Tensor names are torchvision's keys.
 */
#include "models/zoo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESNET_BN_EPS 1e-5f

/* snprintf into a BB_NAME_LEN buffer; a truncated torchvision key would
 * silently fail to load, so it is a build-time bug: abort. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void name_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, BB_NAME_LEN, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= BB_NAME_LEN)
        abort();
}

typedef struct {
    const char *name;
    int bottleneck;  /* 0: BasicBlock (expansion 1), 1: Bottleneck (4) */
    int blocks[4];   /* blocks per stage layer1..layer4 */
} resnet_cfg;

static const resnet_cfg cfgs[] = {
    {"resnet18", 0, {2, 2, 2, 2}},
    {"resnet34", 0, {3, 4, 6, 3}},
    {"resnet50", 1, {3, 4, 6, 3}},
    {"resnet101", 1, {3, 4, 23, 3}},
    {"resnet152", 1, {3, 8, 36, 3}},
};

/* conv (no bias) followed by its BatchNorm: "<blk>.convN" / "<blk>.bnN". */
static int conv_bn(bb_graph *g, const char *blk, int idx, int x, int out_ch,
                   int k, int stride)
{
    char cname[BB_NAME_LEN], bname[BB_NAME_LEN];
    name_fmt(cname, "%s.conv%d", blk, idx);
    name_fmt(bname, "%s.bn%d", blk, idx);
    x = bb_conv(g, cname, x, out_ch, k, stride, k / 2, 1, 0);
    return bb_batchnorm(g, bname, x, RESNET_BN_EPS);
}

/* The identity branch: x itself, or downsample.0 (1x1 conv) + downsample.1. */
static int shortcut(bb_graph *g, const char *blk, int x, int out_ch, int stride)
{
    if (stride == 1 && g->tensors[x].dims[0] == out_ch)
        return x;
    char cname[BB_NAME_LEN], bname[BB_NAME_LEN];
    name_fmt(cname, "%s.downsample.0", blk);
    name_fmt(bname, "%s.downsample.1", blk);
    int y = bb_conv(g, cname, x, out_ch, 1, stride, 0, 1, 0);
    return bb_batchnorm(g, bname, y, RESNET_BN_EPS);
}

static int basic_block(bb_graph *g, const char *blk, int x, int planes, int stride)
{
    int y = conv_bn(g, blk, 1, x, planes, 3, stride);
    y = bb_activation(g, y, BB_ACT_RELU);
    y = conv_bn(g, blk, 2, y, planes, 3, 1);
    y = bb_add(g, y, shortcut(g, blk, x, planes, stride));
    return bb_activation(g, y, BB_ACT_RELU);
}

static int bottleneck(bb_graph *g, const char *blk, int x, int planes, int stride)
{
    int y = conv_bn(g, blk, 1, x, planes, 1, 1);
    y = bb_activation(g, y, BB_ACT_RELU);
    y = conv_bn(g, blk, 2, y, planes, 3, stride);
    y = bb_activation(g, y, BB_ACT_RELU);
    y = conv_bn(g, blk, 3, y, planes * 4, 1, 1);
    y = bb_add(g, y, shortcut(g, blk, x, planes * 4, stride));
    return bb_activation(g, y, BB_ACT_RELU);
}

static int stage(bb_graph *g, const resnet_cfg *c, int layer, int x)
{
    int planes = 64 << layer;
    for (int i = 0; i < c->blocks[layer]; i++) {
        char blk[BB_NAME_LEN];
        name_fmt(blk, "layer%d.%d", layer + 1, i);
        int stride = (i == 0 && layer > 0) ? 2 : 1;
        x = c->bottleneck ? bottleneck(g, blk, x, planes, stride)
                          : basic_block(g, blk, x, planes, stride);
    }
    return x;
}

bb_graph *bb_build_resnet(const char *name, bb_head head)
{
    const resnet_cfg *c = NULL;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        if (strcmp(cfgs[i].name, name) == 0)
            c = &cfgs[i];
    if (!c)
        return NULL;
    bb_graph *g = bb_graph_new(name, BB_FAMILY_CONV, head);
    int x = bb_zoo_input(g);
    x = bb_conv(g, "conv1", x, 64, 7, 2, 3, 1, 0);
    x = bb_batchnorm(g, "bn1", x, RESNET_BN_EPS);
    x = bb_activation(g, x, BB_ACT_RELU);
    x = bb_maxpool(g, x, 3, 2, 1);
    for (int layer = 0; layer < 4; layer++)
        x = stage(g, c, layer, x);
    x = bb_gap(g, x);
    if (head == BB_HEAD_CLASSIFIER)
        x = bb_linear(g, "fc", "weight", "bias", x, 1000, 0);
    g->output = x;
    return g;
}

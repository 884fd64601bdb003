/*
 * efficientnet_v2.c — torchvision's EfficientNetV2-S and -L as bb_graphs.
 *
 * Exists to reproduce the seed's two EfficientNets exactly: a 3x3/2 stem,
 * FusedMBConv stages (fused k x k expand + 1x1 project) then MBConv stages
 * (1x1 expand, depthwise, squeeze-excitation, 1x1 project), a 1x1 conv to
 * 1280, global average pooling and optionally `classifier.1`. SiLU
 * everywhere, BatchNorm eps 1e-3; stochastic depth is the identity at
 * inference, so a residual is a plain add. Names are torchvision's keys.
 */
#include "models/zoo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EFF_BN_EPS 1e-3f
#define EFF_LAST_CHANNEL 1280

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
    int fused;   /* 1: FusedMBConv, 0: MBConv */
    int expand;  /* expand ratio */
    int kernel, stride, in_ch, out_ch, layers;
} stage_cfg;

static const stage_cfg cfg_s[] = {
    {1, 1, 3, 1, 24, 24, 2},     {1, 4, 3, 2, 24, 48, 4},
    {1, 4, 3, 2, 48, 64, 4},     {0, 4, 3, 2, 64, 128, 6},
    {0, 6, 3, 1, 128, 160, 9},   {0, 6, 3, 2, 160, 256, 15},
};

static const stage_cfg cfg_l[] = {
    {1, 1, 3, 1, 32, 32, 4},     {1, 4, 3, 2, 32, 64, 7},
    {1, 4, 3, 2, 64, 96, 7},     {0, 4, 3, 2, 96, 192, 10},
    {0, 6, 3, 1, 192, 224, 19},  {0, 6, 3, 2, 224, 384, 25},
    {0, 6, 3, 1, 384, 640, 7},
};

/* torchvision's _make_divisible(v, 8) for an integer channel count. */
static int make_divisible8(int v)
{
    int nv = (v + 4) / 8 * 8;
    if (nv < 8)
        nv = 8;
    if (nv * 10 < v * 9)
        nv += 8;
    return nv;
}

/* Conv2dNormActivation "<prefix>.0" conv, "<prefix>.1" BN, optional SiLU. */
static int cna(bb_graph *g, const char *prefix, int x, int out_ch, int k,
               int stride, int groups, int silu)
{
    char cname[BB_NAME_LEN], bname[BB_NAME_LEN];
    name_fmt(cname, "%s.0", prefix);
    name_fmt(bname, "%s.1", prefix);
    x = bb_conv(g, cname, x, out_ch, k, stride, (k - 1) / 2, groups, 0);
    x = bb_batchnorm(g, bname, x, EFF_BN_EPS);
    return silu ? bb_activation(g, x, BB_ACT_SILU) : x;
}

/* SqueezeExcitation "<prefix>": GAP, fc1, SiLU, fc2, sigmoid, scale. */
static int squeeze_excite(bb_graph *g, const char *prefix, int x, int squeeze)
{
    int ch = (int)g->tensors[x].dims[0];
    char p[BB_NAME_LEN];
    int s = bb_gap(g, x);
    name_fmt(p, "%s.fc1", prefix);
    s = bb_linear(g, p, "weight", "bias", s, squeeze, 1);
    s = bb_activation(g, s, BB_ACT_SILU);
    name_fmt(p, "%s.fc2", prefix);
    s = bb_linear(g, p, "weight", "bias", s, ch, 1);
    s = bb_activation(g, s, BB_ACT_SIGMOID);
    return bb_se_scale(g, x, s);
}

static int fused_mbconv(bb_graph *g, const char *blk, int x,
                        const stage_cfg *c, int in_ch, int stride)
{
    int hidden = make_divisible8(in_ch * c->expand);
    char p[BB_NAME_LEN];
    name_fmt(p, "%s.block.0", blk);
    if (hidden == in_ch)
        return cna(g, p, x, c->out_ch, c->kernel, stride, 1, 1);
    x = cna(g, p, x, hidden, c->kernel, stride, 1, 1);
    name_fmt(p, "%s.block.1", blk);
    return cna(g, p, x, c->out_ch, 1, 1, 1, 0);
}

static int mbconv(bb_graph *g, const char *blk, int x, const stage_cfg *c,
                  int in_ch, int stride)
{
    int hidden = make_divisible8(in_ch * c->expand);
    int li = 0; /* index inside the block's nn.Sequential */
    char p[BB_NAME_LEN];
    if (hidden != in_ch) {
        name_fmt(p, "%s.block.%d", blk, li++);
        x = cna(g, p, x, hidden, 1, 1, 1, 1);
    }
    name_fmt(p, "%s.block.%d", blk, li++);
    x = cna(g, p, x, hidden, c->kernel, stride, hidden, 1);
    name_fmt(p, "%s.block.%d", blk, li++);
    x = squeeze_excite(g, p, x, in_ch / 4 > 1 ? in_ch / 4 : 1);
    name_fmt(p, "%s.block.%d", blk, li++);
    return cna(g, p, x, c->out_ch, 1, 1, 1, 0);
}

/* Stage "features.<idx>": the first block takes the stage's stride and
 * input width, the rest stride 1 and out_ch -> out_ch. */
static int stage(bb_graph *g, int idx, const stage_cfg *c, int x)
{
    for (int i = 0; i < c->layers; i++) {
        char blk[BB_NAME_LEN];
        name_fmt(blk, "features.%d.%d", idx, i);
        int in_ch = i == 0 ? c->in_ch : c->out_ch;
        int stride = i == 0 ? c->stride : 1;
        int y = c->fused ? fused_mbconv(g, blk, x, c, in_ch, stride)
                         : mbconv(g, blk, x, c, in_ch, stride);
        x = (stride == 1 && in_ch == c->out_ch) ? bb_add(g, y, x) : y;
    }
    return x;
}

bb_graph *bb_build_efficientnet_v2(const char *name, bb_head head)
{
    const stage_cfg *cfg;
    int n;
    if (strcmp(name, "efficientnet_v2_s") == 0)
        cfg = cfg_s, n = (int)(sizeof cfg_s / sizeof cfg_s[0]);
    else if (strcmp(name, "efficientnet_v2_l") == 0)
        cfg = cfg_l, n = (int)(sizeof cfg_l / sizeof cfg_l[0]);
    else
        return NULL;
    bb_graph *g = bb_graph_new(name, BB_FAMILY_CONV, head);
    int x = bb_zoo_input(g);
    x = cna(g, "features.0", x, cfg[0].in_ch, 3, 2, 1, 1);
    for (int s = 0; s < n; s++)
        x = stage(g, s + 1, &cfg[s], x);
    char p[BB_NAME_LEN];
    name_fmt(p, "features.%d", n + 1);
    x = cna(g, p, x, EFF_LAST_CHANNEL, 1, 1, 1, 1);
    x = bb_gap(g, x);
    if (head == BB_HEAD_CLASSIFIER)
        x = bb_linear(g, "classifier.1", "weight", "bias", x, 1000, 0);
    g->output = x;
    return g;
}

/*
 * mobilenet_v2.c — torchvision's MobileNetV2 (width 1.0) as a bb_graph.
 *
 * Exists to reproduce the seed's lightest conv model exactly: a 3x3/2 stem,
 * 17 inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear project;
 * residual add when stride 1 and in == out), a 1x1 conv to 1280, all with
 * ReLU6 and BatchNorm eps 1e-5, then global average pooling and optionally
 * `classifier.1`. Tensor names are torchvision's state_dict keys.
 */
#include "models/zoo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MBV2_BN_EPS 1e-5f

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

/* torchvision's inverted_residual_setting: expand t, channels c, repeats n,
 * first stride s. */
static const int settings[7][4] = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
};

/* Conv2dNormActivation: "<prefix>.0" conv (no bias), "<prefix>.1" BN, ReLU6. */
static int conv_bn_relu6(bb_graph *g, const char *prefix, int x, int out_ch,
                         int k, int stride, int groups)
{
    char cname[BB_NAME_LEN], bname[BB_NAME_LEN];
    name_fmt(cname, "%s.0", prefix);
    name_fmt(bname, "%s.1", prefix);
    x = bb_conv(g, cname, x, out_ch, k, stride, (k - 1) / 2, groups, 0);
    x = bb_batchnorm(g, bname, x, MBV2_BN_EPS);
    return bb_activation(g, x, BB_ACT_RELU6);
}

/* InvertedResidual "features.<idx>": layers numbered inside ".conv". */
static int inverted_residual(bb_graph *g, int idx, int x, int out_ch,
                             int stride, int t)
{
    int in_ch = (int)g->tensors[x].dims[0];
    int hidden = in_ch * t;
    int li = 0; /* index inside the block's nn.Sequential */
    char p[BB_NAME_LEN];
    int y = x;
    if (t != 1) {
        name_fmt(p, "features.%d.conv.%d", idx, li++);
        y = conv_bn_relu6(g, p, y, hidden, 1, 1, 1);
    }
    name_fmt(p, "features.%d.conv.%d", idx, li++);
    y = conv_bn_relu6(g, p, y, hidden, 3, stride, hidden);
    name_fmt(p, "features.%d.conv.%d", idx, li++);
    y = bb_conv(g, p, y, out_ch, 1, 1, 0, 1, 0);
    name_fmt(p, "features.%d.conv.%d", idx, li++);
    y = bb_batchnorm(g, p, y, MBV2_BN_EPS);
    if (stride == 1 && in_ch == out_ch)
        y = bb_add(g, x, y);
    return y;
}

bb_graph *bb_build_mobilenet_v2(bb_head head)
{
    bb_graph *g = bb_graph_new("mobilenet_v2", BB_FAMILY_CONV, head);
    int x = bb_zoo_input(g);
    x = conv_bn_relu6(g, "features.0", x, 32, 3, 2, 1);
    int idx = 1;
    for (int s = 0; s < 7; s++)
        for (int i = 0; i < settings[s][2]; i++)
            x = inverted_residual(g, idx++, x, settings[s][1],
                                  i == 0 ? settings[s][3] : 1, settings[s][0]);
    char p[BB_NAME_LEN];
    name_fmt(p, "features.%d", idx);
    x = conv_bn_relu6(g, p, x, 1280, 1, 1, 1);
    x = bb_gap(g, x);
    if (head == BB_HEAD_CLASSIFIER)
        x = bb_linear(g, "classifier.1", "weight", "bias", x, 1000, 0);
    g->output = x;
    return g;
}

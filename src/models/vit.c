/*
 * vit.c — torchvision's Vision Transformers B/16, B/32, L/16, L/32.
 *
 * Exists to reproduce the seed's four transformer models exactly: patch
 * embedding (`conv_proj`, kernel = stride = patch, with bias), class token
 * and position embedding, pre-norm encoder layers (LayerNorm eps 1e-6,
 * multi-head self-attention with packed in_proj, MLP with exact GELU), the
 * final `encoder.ln`, the class token as feature vector and optionally
 * `heads.head`. Tensor names are torchvision's state_dict keys.
 */
#include "models/zoo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIT_LN_EPS 1e-6f

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
    int patch, layers, heads, hidden, mlp;
} vit_cfg;

static const vit_cfg cfgs[] = {
    {"vit_b_16", 16, 12, 12, 768, 3072},
    {"vit_b_32", 32, 12, 12, 768, 3072},
    {"vit_l_16", 16, 24, 16, 1024, 4096},
    {"vit_l_32", 32, 24, 16, 1024, 4096},
};

static const char *join(char *buf, const char *prefix, const char *suffix)
{
    name_fmt(buf, "%s.%s", prefix, suffix);
    return buf;
}

/* x + out_proj(attention(in_proj(ln_1(x)))) */
static int attention_block(bb_graph *g, const char *lp, int x, const vit_cfg *c)
{
    char p[BB_NAME_LEN];
    int y = bb_layernorm(g, join(p, lp, "ln_1"), x, VIT_LN_EPS);
    y = bb_linear(g, join(p, lp, "self_attention"), "in_proj_weight",
                  "in_proj_bias", y, 3 * c->hidden, 0);
    y = bb_attention(g, y, c->heads);
    y = bb_linear(g, join(p, lp, "self_attention.out_proj"), "weight", "bias",
                  y, c->hidden, 0);
    return bb_add(g, y, x);
}

/* x + mlp.3(GELU(mlp.0(ln_2(x)))) */
static int mlp_block(bb_graph *g, const char *lp, int x, const vit_cfg *c)
{
    char p[BB_NAME_LEN];
    int y = bb_layernorm(g, join(p, lp, "ln_2"), x, VIT_LN_EPS);
    y = bb_linear(g, join(p, lp, "mlp.0"), "weight", "bias", y, c->mlp, 0);
    y = bb_activation(g, y, BB_ACT_GELU);
    y = bb_linear(g, join(p, lp, "mlp.3"), "weight", "bias", y, c->hidden, 0);
    return bb_add(g, y, x);
}

bb_graph *bb_build_vit(const char *name, bb_head head)
{
    const vit_cfg *c = NULL;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
        if (strcmp(cfgs[i].name, name) == 0)
            c = &cfgs[i];
    if (!c)
        return NULL;
    bb_graph *g = bb_graph_new(name, BB_FAMILY_TRANSFORMER, head);
    int x = bb_zoo_input(g);
    x = bb_conv(g, "conv_proj", x, c->hidden, c->patch, c->patch, 0, 1, 1);
    x = bb_tokens(g, "class_token", "encoder.pos_embedding", x);
    for (int i = 0; i < c->layers; i++) {
        char lp[BB_NAME_LEN];
        name_fmt(lp, "encoder.layers.encoder_layer_%d", i);
        x = attention_block(g, lp, x, c);
        x = mlp_block(g, lp, x, c);
    }
    x = bb_layernorm(g, "encoder.ln", x, VIT_LN_EPS);
    x = bb_cls_select(g, x);
    if (head == BB_HEAD_CLASSIFIER)
        x = bb_linear(g, "heads.head", "weight", "bias", x, 1000, 0);
    g->output = x;
    return g;
}

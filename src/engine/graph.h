/*
 * graph.h — the network description (graph IR) that every model is written in
 * and every backend compiles.
 *
 * A graph is a list of tensors and a list of ops in execution order. Tensors
 * are of four kinds: the input batch, parameters (learned weights, counted in
 * the model's parameter total), buffers (BatchNorm running statistics: loaded
 * but not counted), and activations. Activation shapes are stored per item,
 * without the batch dimension, so one graph serves every batch size N: the
 * full shape of an activation is [N, dims...].
 *
 * Ops name their activation inputs/outputs and their parameter tensors by
 * index into the tensor list. Fused attributes (post-op activation, residual
 * sum) are filled in by the fusion pass (fuse.c), never by model builders.
 */
#ifndef BB_GRAPH_H
#define BB_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#define BB_MAX_DIMS 6
#define BB_NAME_LEN 96

typedef enum {
    BB_T_INPUT,  /* the image batch, [N,3,224,224] */
    BB_T_PARAM,  /* learned parameter: counted in the parameter total */
    BB_T_BUFFER, /* BatchNorm running mean/var: loaded, not counted */
    BB_T_ACT     /* activation: per-item dims, batch prepended at run time */
} bb_tensor_kind;

typedef struct {
    char name[BB_NAME_LEN]; /* torchvision state_dict name for params/buffers */
    bb_tensor_kind kind;
    int ndim;
    int64_t dims[BB_MAX_DIMS];
    float *data;            /* params/buffers only; owned by the graph */
} bb_tensor;

typedef enum {
    BB_OP_CONV,       /* in[0]=x [C,H,W]; w [O,C/g,kh,kw]; b optional */
    BB_OP_BATCHNORM,  /* in[0]=x; w=gamma b=beta aux[0]=mean aux[1]=var */
    BB_OP_ACT,        /* in[0]=x; act */
    BB_OP_ADD,        /* in[0] + in[1], same shape */
    BB_OP_MAXPOOL,    /* in[0]=x; k, stride, pad */
    BB_OP_GAP,        /* global average pool: [C,H,W] -> [C] */
    BB_OP_SE_SCALE,   /* in[0]=x [C,H,W] times in[1]=s [C] per channel */
    BB_OP_LINEAR,     /* in[0]=x [...,K]; w [O,K] (or [O,K,1,1]); b optional */
    BB_OP_LAYERNORM,  /* in[0]=x [...,D] over last dim; w, b; eps */
    BB_OP_ATTENTION,  /* in[0]=qkv [L,3D] -> [L,D]; softmax(QK^T/sqrt(dh))V per head */
    BB_OP_TOKENS,     /* in[0]=patches [D,h,w] -> [1+h*w, D]; w=class token, b=pos emb */
    BB_OP_CLS_SELECT, /* in[0]=[L,D] -> [D], token 0 */
    BB_OP_COUNT
} bb_op_type;

typedef enum {
    BB_ACT_NONE, BB_ACT_RELU, BB_ACT_RELU6, BB_ACT_SILU, BB_ACT_SIGMOID, BB_ACT_GELU
} bb_act;

typedef struct {
    bb_op_type type;
    int n_in;
    int in[2];
    int out;
    int w, b;          /* parameter tensors, -1 when absent */
    int aux[2];        /* BN running mean / var, -1 when absent */
    /* attributes */
    int k, stride, pad, groups; /* conv (square kernels) and max pool */
    int heads;                  /* attention */
    float eps;                  /* batch norm, layer norm */
    bb_act act;                 /* BB_OP_ACT */
    /* filled by the fusion pass */
    int has_bn;        /* a BatchNorm folded into this conv: */
    int bn_w, bn_b, bn_mean, bn_var; /* its gamma, beta, running stats */
    float bn_eps;
    bb_act post_act;   /* applied to the op's result (before a residual sum) */
    int sum_in;        /* residual tensor added in place into out, or -1 */
    bb_act sum_act;    /* applied after the residual sum */
    char label[BB_NAME_LEN]; /* human-readable name, e.g. "layer1.0.conv1" */
} bb_op;

typedef enum { BB_FAMILY_CONV, BB_FAMILY_TRANSFORMER } bb_family;
typedef enum { BB_HEAD_FEATURES, BB_HEAD_CLASSIFIER } bb_head;

typedef struct {
    char model[32];
    bb_family family;
    bb_head head;
    int n_tensors, cap_tensors;
    bb_tensor *tensors;
    int n_ops, cap_ops;
    bb_op *ops;
    int input;   /* tensor index of the input */
    int output;  /* tensor index of the output ([D] per item) */
} bb_graph;

/* ---- building ---------------------------------------------------------- */
bb_graph *bb_graph_new(const char *model, bb_family family, bb_head head);
void bb_graph_free(bb_graph *g);
/* Adds a tensor; dims are per item for activations. Returns its index. */
int bb_graph_add_tensor(bb_graph *g, const char *name, bb_tensor_kind kind,
                        int ndim, const int64_t *dims);
/* Adds an op with zeroed attributes and w=b=aux=sum_in=-1; returns a pointer
 * valid until the next bb_graph_add_op. */
bb_op *bb_graph_add_op(bb_graph *g, bb_op_type type, const char *label);

/* Layer helpers used by the model zoo. Each returns the output tensor index.
 * `prefix` is the torchvision module path ("layer1.0.conv1"). */
int bb_conv(bb_graph *g, const char *prefix, int x, int out_ch, int k,
            int stride, int pad, int groups, int bias);
int bb_batchnorm(bb_graph *g, const char *prefix, int x, float eps);
int bb_activation(bb_graph *g, int x, bb_act act);
int bb_add(bb_graph *g, int a, int b);
int bb_maxpool(bb_graph *g, int x, int k, int stride, int pad);
int bb_gap(bb_graph *g, int x);
int bb_se_scale(bb_graph *g, int x, int s);
/* weight_4d: declare the weight as [O,K,1,1] (a 1x1 conv used as linear). */
int bb_linear(bb_graph *g, const char *prefix, const char *wname,
              const char *bname, int x, int out_features, int weight_4d);
int bb_layernorm(bb_graph *g, const char *prefix, int x, float eps);
int bb_attention(bb_graph *g, int qkv, int heads);
int bb_tokens(bb_graph *g, const char *cls_name, const char *pos_name, int x);
int bb_cls_select(bb_graph *g, int x);

/* ---- facts --------------------------------------------------------------- */
int64_t bb_tensor_numel(const bb_tensor *t);           /* per item for acts */
int64_t bb_graph_param_count(const bb_graph *g);       /* BB_T_PARAM only */
int64_t bb_graph_weight_bytes(const bb_graph *g);      /* params + buffers */
int64_t bb_op_macs(const bb_graph *g, const bb_op *op); /* per item */
int64_t bb_graph_macs(const bb_graph *g);              /* per item */
int64_t bb_graph_feature_dim(const bb_graph *g);
/* Full shape of tensor t at batch size n: writes dims, returns ndim. */
int bb_tensor_shape(const bb_graph *g, int t, int64_t n, int64_t *dims);
int bb_graph_find_tensor(const bb_graph *g, const char *name);

const char *bb_op_type_name(bb_op_type t);
const char *bb_act_name(bb_act a);
const char *bb_family_name(bb_family f);
const char *bb_head_name(bb_head h);

#endif

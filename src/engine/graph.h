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

#include "engine/resize.h"

#define BB_MAX_DIMS 7 /* per item: MViTv2's 3-D relative positions broadcast over 7 axes */
#define BB_NAME_LEN 96
#define BB_MAX_IN 64   /* inputs of one op (a DenseNet concat has 25) */

typedef enum {
    BB_T_INPUT,  /* the image batch, [N,3,224,224] */
    BB_T_PARAM,  /* learned parameter: counted in the parameter total */
    BB_T_BUFFER, /* BatchNorm running mean/var: loaded, not counted */
    BB_T_ACT     /* activation: per-item dims, batch prepended at run time */
} bb_tensor_kind;

/*
 * Activation shapes come in two forms. The zoo's (full_rank = 0): dims are
 * per item and the batch is prepended, [N, dims...]. Imported graphs also
 * hold tensors whose batch is not the outermost axis (a transformer's
 * [L, N*heads, dh]): full_rank = 1, dims is the whole shape at batch 1 and
 * dims[batch_axis] is multiplied by N at batch N. bb_tensor_shape() gives
 * the full shape of either; generic ops (BB_OP_BINARY and below) are
 * defined on full shapes, and their axes count full axes.
 */
typedef struct {
    char name[BB_NAME_LEN]; /* torchvision state_dict name for params/buffers */
    bb_tensor_kind kind;
    int ndim;
    int64_t dims[BB_MAX_DIMS];
    int full_rank, batch_axis; /* activations only, see above */
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
    /* Generic ops, emitted by the ONNX importer (src/onnx). Shapes and axes
     * are full (bb_tensor_shape); in[1] may be a param/buffer constant. */
    BB_OP_BINARY,     /* in[0] binop in[1], NumPy broadcasting */
    BB_OP_MATMUL,     /* in[0] @ in[1], NumPy matmul broadcasting */
    BB_OP_TRANSPOSE,  /* out axis i = in axis perm[i] */
    BB_OP_RESHAPE,    /* same elements in the same order, out's shape */
    BB_OP_CONCAT,     /* in[0..n_in-1] joined along axis */
    BB_OP_SLICE,      /* out[i..] = in[starts + i*steps] per axis; counts = out dims */
    BB_OP_SOFTMAX,    /* along axis */
    BB_OP_REDUCE_MEAN,/* mean (reduce_sum: sum) over the axes set in axes_mask (bit i = axis i); kept as 1 */
    BB_OP_PAD,        /* pad_mode (constant value alpha); pads[i] before / pads[ndim+i] after axis i */
    BB_OP_AVGPOOL,    /* window as a conv's (kh..dil_w); count_include_pad */
    BB_OP_EXPAND,     /* in[0] broadcast (NumPy rules) to out's full shape */
    BB_OP_RESIZE,     /* [C,H,W] -> out's [C,H',W']: nearest, bilinear or bicubic, as `resize` says
                         (engine/resize.h) */
    BB_OP_GROUPNORM,  /* in[0]=x [C,S...]: channels in `groups` runs, each normalised over its channels and S;
                         then w[c] * . + b[c] (w, b [C]); eps; post_act ReLU or none */
    BB_OP_LSTM,       /* in[0]=x [..., S, 4H]: each row's (leading axes') input gates, ONNX's order i, o, f, c,
                         biases added; w=R [4H, H]; out [..., S, H] (any shape of as many elements). Per row,
                         from H = C = 0, steps t = 0..S-1 (S-1..0 when `reverse`): g = x[t] + H R^T;
                         C = sigmoid(f) C + sigmoid(i) tanh(c); H = sigmoid(o) tanh(C); out[t] = H */
    BB_OP_GRU,        /* as lstm, 3 gates z, r, h (x's biases: W's, and R's of z and r); w=R [3H, H]; b=R's bias
                         of h [H] or -1. g = H R^T; z, r = sigmoid(x[t] + g) of theirs;
                         n = tanh(x[t]_h + r (g_h + b)); H = n + z (H - n) (ONNX's linear_before_reset) */
    BB_OP_COUNT
} bb_op_type;

/* Activations up to BB_ACT_HARDSWISH, which take no parameters, are the
 * ones the fusion pass folds into a conv or linear (post_act; the CUDA
 * backend runs those up to BB_ACT_GELU); the rest run as their own
 * BB_OP_ACT op, with alpha/beta: clip (min, max), hardsigmoid (alpha,
 * beta), leaky relu, elu, celu and thresholded relu (alpha), selu (alpha,
 * gamma as beta). As ONNX defines them: elu x < 0 ? alpha (e^x - 1) : x;
 * selu gamma * elu; celu x < 0 ? alpha (e^(x/alpha) - 1) : x; softplus
 * log(1 + e^x); softsign x / (1 + |x|); mish x tanh(softplus(x)); gelu_tanh
 * the tanh approximation of gelu; thresholded relu x > alpha ? x : 0. */
typedef enum {
    BB_ACT_NONE, BB_ACT_RELU, BB_ACT_RELU6, BB_ACT_SILU, BB_ACT_SIGMOID, BB_ACT_GELU,
    BB_ACT_TANH, BB_ACT_HARDSWISH, BB_ACT_HARDSIGMOID, BB_ACT_CLIP, BB_ACT_LEAKY_RELU,
    BB_ACT_SQRT, BB_ACT_ERF, BB_ACT_EXP, BB_ACT_ABS, BB_ACT_NEG, BB_ACT_RECIPROCAL,
    BB_ACT_ELU, BB_ACT_SELU, BB_ACT_CELU, BB_ACT_SOFTPLUS, BB_ACT_SOFTSIGN, BB_ACT_MISH,
    BB_ACT_LOG, BB_ACT_GELU_TANH, BB_ACT_THRESHOLDED_RELU,
    BB_ACT_COUNT
} bb_act;

/* BB_BIN_PRELU: in[0] where it is >= 0, else in[0] * in[1] (ONNX PRelu,
 * in[1] the slope). */
typedef enum {
    BB_BIN_ADD, BB_BIN_SUB, BB_BIN_MUL, BB_BIN_DIV, BB_BIN_POW, BB_BIN_MAX, BB_BIN_MIN, BB_BIN_PRELU
} bb_binop;

/* What a pad writes outside its input: alpha; the input mirrored about
 * its first and last element (pads at most the axis less one); or the
 * nearest edge element (ONNX Pad's modes constant, reflect, edge). */
typedef enum { BB_PAD_CONSTANT, BB_PAD_REFLECT, BB_PAD_EDGE } bb_pad_mode;

typedef struct {
    bb_op_type type;
    int n_in;
    int in[BB_MAX_IN];
    int out;
    int w, b;          /* parameter tensors, -1 when absent */
    int aux[2];        /* BN running mean / var, -1 when absent */
    /* attributes */
    int k, stride, pad, groups; /* conv and pools with a square, symmetric window; groups: group norm's too */
    /* The window in general (conv, max/avg pool): the zoo's helpers fill it
     * from k/stride/pad; the importer fills it and sets k/stride/pad only
     * when square (bb_window_square). pad_b/pad_r include ceil_mode's extra. */
    int kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, dil_h, dil_w;
    int count_include_pad;      /* avg pool */
    int heads;                  /* attention */
    float eps;                  /* batch norm, layer norm, group norm */
    bb_act act;                 /* BB_OP_ACT */
    float alpha, beta;          /* BB_OP_ACT parameters; BB_OP_PAD's value is alpha */
    bb_binop binop;             /* BB_OP_BINARY */
    int axis;                   /* concat, softmax (full axis, >= 0) */
    int log_softmax;            /* softmax: its log, x - max - log(sum e^(x - max)) (ONNX LogSoftmax) */
    int perm[BB_MAX_DIMS + 1];  /* transpose */
    int64_t starts[BB_MAX_DIMS + 1], steps[BB_MAX_DIMS + 1]; /* slice */
    int64_t pads[2 * (BB_MAX_DIMS + 1)]; /* pad */
    bb_pad_mode pad_mode;       /* pad: what fills the border */
    unsigned axes_mask;         /* reduce mean */
    int reduce_sum;             /* reduce mean: the sum instead (ONNX ReduceSum) */
    bb_resize resize;           /* resize: mode, coordinates, rounding, scales (engine/resize.h) */
    int reverse;                /* lstm, gru: the sequence runs from its end */
    /* filled by the fusion pass */
    int has_bn;        /* a BatchNorm folded into this conv: */
    int bn_w, bn_b, bn_mean, bn_var; /* its gamma, beta, running stats */
    int bn_first;      /* its channel of the conv's first output (a BN after a concat) */
    float bn_eps;
    int has_pre_bn;    /* a BatchNorm on the conv's input folded in (no padding): */
    int pre_bn_w, pre_bn_b, pre_bn_mean, pre_bn_var;
    float pre_bn_eps;
    int pre_scale;     /* a constant the conv's input was multiplied by (one value, or one per input
                          channel: it commutes with zero padding), or -1 */
    int post_scale;    /* a constant multiplying the conv's result before any residual sum (one value,
                          or one per output channel: NF-ResNet's alpha and skip-init gain), or -1 */
    int has_id_bn;     /* a BatchNorm of the conv's own input added to its output (RepGhost): */
    int id_bn_w, id_bn_b, id_bn_mean, id_bn_var; /* its parameters, folded into the centre tap */
    float id_bn_eps;
    bb_act post_act;   /* applied to the op's result (before a residual sum) */
    int sum_in;        /* residual tensor added in place into out, or -1 */
    bb_act sum_act;    /* applied after the residual sum */
    char label[BB_NAME_LEN]; /* human-readable name, e.g. "layer1.0.conv1" */
} bb_op;

typedef enum { BB_FAMILY_CONV, BB_FAMILY_TRANSFORMER, BB_FAMILY_IMPORTED } bb_family;
typedef enum { BB_HEAD_FEATURES, BB_HEAD_CLASSIFIER } bb_head;

typedef struct {
    char model[BB_NAME_LEN];
    bb_family family;
    bb_head head;
    int n_tensors, cap_tensors;
    bb_tensor *tensors;
    int n_ops, cap_ops;
    bb_op *ops;
    int input;   /* tensor index of the input */
    int output;  /* tensor index of the output ([D] per item) */
    /* The model's parameters and MACs per item minus what its ops and
     * tensors hold, where an importer's rewrite changed them (ONNX
     * ConvTranspose as a sub-pixel conv: its zero taps, a batch norm folded
     * into it); bb_graph_param_count and bb_graph_macs add them, so the
     * facts describe the model, not its lowering. */
    int64_t params_adjust, macs_adjust;
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
int bb_tensor_is_const(const bb_tensor *t);            /* a parameter or buffer */
int64_t bb_graph_param_count(const bb_graph *g);       /* BB_T_PARAM only, + params_adjust */
int64_t bb_graph_weight_bytes(const bb_graph *g);      /* params + buffers */
int64_t bb_op_macs(const bb_graph *g, const bb_op *op); /* per item */
int64_t bb_graph_macs(const bb_graph *g);              /* per item, + macs_adjust */
int64_t bb_graph_feature_dim(const bb_graph *g);
/* Full shape of tensor t at batch size n: writes dims (room for
 * BB_MAX_DIMS + 1), returns ndim. */
int bb_tensor_shape(const bb_graph *g, int t, int64_t n, int64_t *dims);
/* Whether op's window is square and symmetric with no dilation, i.e.
 * described whole by k, stride and pad (what the CUDA backend runs). */
int bb_window_square(const bb_op *op);
int bb_graph_find_tensor(const bb_graph *g, const char *name);

const char *bb_op_type_name(bb_op_type t);
const char *bb_act_name(bb_act a);
const char *bb_family_name(bb_family f);
const char *bb_head_name(bb_head h);

#endif

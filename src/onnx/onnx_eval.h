/*
 * onnx_eval.h — every value of an ONNX graph at one concrete batch size:
 * its shape and type, and its data when it can be computed from constants
 * alone ("constant folding"); plus the one place where node attributes are
 * read and normalised (windows, slices, axes, pads, scalars...).
 *
 * Why it exists: exporters write shapes as arithmetic (Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape, Range/Equal/Where/ScatterND masks), so an
 * importer cannot know a Reshape's target or a Pad's pads without running
 * that arithmetic. The importer evaluates the graph at N=2 and N=3 and
 * compares the two to learn which dims scale with the batch.
 *
 * Const computation (onnx_fold.c) covers f32 and i64 (bool as 0/1):
 * elementwise unary/binary/variadic ops, comparisons and logic, Where, Cast,
 * Reduce*, Reshape/Flatten/Squeeze/Unsqueeze/Identity/Dropout,
 * Transpose, Slice, Expand, Tile, Concat, Split, Gather, ScatterND, Pad,
 * Range, Constant, ConstantOfShape, Shape and Size (these two are const
 * whenever their input's shape is known, whatever its data). Shape only,
 * even when every input is const: Conv, Gemm, MatMul, MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, Softmax,
 * LayerNormalization, BatchNormalization; and any result past the limits
 * below. Dropout is
 * inference's identity (training_mode ignored; its mask output all true).
 * Integer Div truncates toward zero, as ONNX Runtime does; integer
 * overflow wraps; a Cast to a narrower integer type wraps as C does.
 */
#ifndef BB_ONNX_EVAL_H
#define BB_ONNX_EVAL_H

#include <stdint.h>

#include "engine/resize.h"
#include "onnx/onnx_model.h"
#include "util/error.h"

/* Limits on constant computation, so that no file can make an evaluation
 * take unbounded memory or time: a result over BB_OX_FOLD_MAX_ELEMS elements
 * or the file's weights' count, whichever is more (and a Range over
 * BB_OX_FOLD_MAX_ELEMS is refused), or one that would take the
 * evaluation's computed data past BB_OX_FOLD_MAX_BYTES or its elements read
 * and written (a Conv's: its multiply-adds) past BB_OX_FOLD_MAX_WORK, is
 * left shape only. The data grows to BB_OX_FOLD_PER_WEIGHT elements (8
 * bytes each), the work to BB_OX_FOLD_WORK_PER_WEIGHT, per element of the
 * file's own initializers: a file can make the folder do at most that much
 * more than it holds. Most models stay far below the fixed part (swin_t:
 * 2.4M elements computed, 5M of work; it also keeps a fuzzer's run of two
 * evaluations in seconds); weight standardisation (timm's
 * resnetv2_50x1_bit, 25M weights, each computed again about 4 times) needs
 * the scaled data, and ConViT's relative indices (traced in every one of
 * its 10 gated attention blocks: [196, 196] index arithmetic, 5.5M
 * weights) the scaled work: 20 to 32 times its weights. */
#define BB_OX_FOLD_MAX_ELEMS ((int64_t)1 << 22)
#define BB_OX_FOLD_MAX_BYTES ((int64_t)1 << 27)
#define BB_OX_FOLD_MAX_WORK ((int64_t)1 << 25)
/* A value whose data nothing needs (bb_ox_data_needed) is computed all
 * the same when it has at most this many elements. */
#define BB_OX_FOLD_SMALL 4096
#define BB_OX_FOLD_PER_WEIGHT 8
#define BB_OX_FOLD_WORK_PER_WEIGHT 32

typedef struct {
    int is_const;          /* data computed (every input constant, or an initializer) */
    int past_limits;       /* every input constant, past_limits or shape_only, but left shape only: past
                            * the limits above */
    int shape_only;        /* nothing reads its data, only its shape (bb_ox_data_needed): not computed */
    int from_weights;      /* float data that is, or was computed from, a float initializer: the
                            * model's parameters (weight standardisation's folded weights too) */
    bb_ox_dtype dtype;
    int ndim;              /* -1 only for a value nothing defined */
    int64_t dims[BB_OX_MAX_DIMS];
    int64_t numel;
    void *data;            /* is_const only: float * or int64_t * */
    int owned;             /* data is this array's (freed by bb_ox_vals_free); 0 for an
                            * initializer: data is then m->inits[...].data, valid while m is */
} bb_ox_val;

/* Every value of m at batch size n (array of m->n_values): the graph
 * input's first dim is n; its other dims must be declared (else an error
 * naming the input). Initializers are const. A node whose inputs are all
 * const is computed (its outputs const), otherwise its outputs get shape
 * and dtype only. Errors name the file (m->path), the node (name and op
 * type) and what is wrong (shape mismatch, unsupported op, unsupported
 * attribute value, absurd result size > BB_OX_MAX_ELEMS). n >= 1.
 * Opset-dependent forms (axes as attribute or input, ...) are taken from
 * whichever form the node carries; m->opset only decides defaults
 * (Softmax's axis), 0 counting as the newest opset. For the import
 * (for_import), only what the importer reads is kept: a node whose outputs'
 * data nothing needs (bb_ox_data_needed) is not computed, its outputs
 * marked shape_only; and computed integer values that only computed
 * integer nodes read are freed after their last reader (no longer const
 * then): index arithmetic is not held. */
bb_ox_val *bb_ox_eval(const bb_ox_model *m, int64_t n, int for_import, bb_err *err);
void bb_ox_vals_free(bb_ox_val *v, int n_values);

/* The same evaluation node by node, for onnx_flatten.c, which appends the
 * nodes it evaluates: begin sets m's initializers and its inputs at batch
 * n; bb_ox_step evaluates node k of m (m's values may have grown since);
 * bb_ox_step_val is value v (NULL beyond those seen). No value is freed
 * before bb_ox_step_free. */
typedef struct bb_ox_stepper bb_ox_stepper;
bb_ox_stepper *bb_ox_step_begin(const bb_ox_model *m, int64_t n, bb_err *err);
int bb_ox_step(bb_ox_stepper *s, const bb_ox_model *m, int k, bb_err *err);
/* From now on, values below n whose need[] is 0 are left shape only (need
 * stays the caller's, read until bb_ox_step_free). */
void bb_ox_step_need(bb_ox_stepper *s, const unsigned char *need, int n);
const bb_ox_val *bb_ox_step_val(const bb_ox_stepper *s, int v);
void bb_ox_step_free(bb_ox_stepper *s);
/* onnx_need.c. Per value of m, 1 when the import reads its data: a graph
 * output, or an input an op reads the data of where some output of that op
 * is needed. Shape and Size read their input's shape only; a ScatterND
 * into an activation (a value computed from the graph's input) with
 * indices bb_ox_block_parts recognises reads those parts' constants
 * instead. NULL when out of memory. The nodes must be in topological order. */
unsigned char *bb_ox_data_needed(const bb_ox_model *m);
/* ScatterND indices built as torch builds a block's: value `indices` the
 * Concat of Expands (of any inputs), each unsqueezed or expanded to a last
 * axis of 1; the Expand nodes' indices into expand, one per column of the
 * indices; their count, or 0 for indices built otherwise. Only the op
 * types are checked: onnx_lower_move.c checks the shapes and values. */
int bb_ox_block_parts(const bb_ox_model *m, int indices, int expand[BB_OX_MAX_DIMS]);
/* Whether op_type (default domain) is known to bb_ox_eval. */
int bb_ox_eval_supports(const char *op_type);

/* "<path>: node '<name>' (<op_type>): <message>" into err; returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int bb_ox_node_err(bb_err *err, const bb_ox_model *m, const bb_ox_node *nd, const char *fmt, ...);

/*
 * Normalised node parameters. Each helper reads nd's attributes (and, for
 * the input forms of newer opsets, its constant inputs from `vals`, the
 * result of bb_ox_eval) and returns 0, or -1 with err naming the node.
 * Axes are always returned non-negative and checked against the rank.
 */

/* A 2-D (or 3-D) Conv / MaxPool / AveragePool window. Output size per axis is
 * out = (in + pad_begin + pad_end - dil*(k-1) - 1) / s + 1 (floor): auto_pad
 * (SAME_UPPER, SAME_LOWER, VALID) is resolved into explicit pads, and
 * ceil_mode into extra end padding (ceil_extra_b/_r, included in pad_b/pad_r;
 * PyTorch's rule: the last window starts inside the input or the left
 * padding). An average pool should not count that extra padding even with
 * count_include_pad. */
typedef struct {
    int64_t kh, kw, sh, sw;
    int64_t pad_t, pad_l, pad_b, pad_r;
    int64_t ceil_extra_b, ceil_extra_r;
    int64_t dil_h, dil_w;          /* 1 = dense */
    int64_t group;                 /* Conv's group; 1 for pools */
    int64_t out_c, out_h, out_w;   /* out_c: Conv: weight dims[0]; pools: C */
    int count_include_pad;         /* AveragePool */
    /* The time axis of a 3-D window ([N,C,T,H,W], onnx_lower_window3d.c):
     * kernel, stride, dilation, pads front/back (ceil_extra_k included),
     * output size; 1, 1, 1, 0, 0, 0 and 1 for a 2-D or 1-D window. */
    int64_t kd, sd, dil_d, pad_f, pad_k, ceil_extra_k, out_d;
} bb_ox_win;
/* in: the input's dims [N,C,H,W]; wdims: Conv's weight dims [M,C/group,kh,kw]
 * (NULL for the pools). */
int bb_ox_window(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[4],
                 const int64_t *wdims, bb_ox_win *w, bb_err *err);
/* A 1-D Conv's window (in [N,C,L], wdims [M,C/group,k]) as the 2-D window
 * of the same conv on [N,C,1,L]: kh, sh, dil_h 1, no padding in height. */
int bb_ox_window_1d(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[3],
                    const int64_t *wdims, bb_ox_win *w, bb_err *err);
/* A 3-D window (in [N,C,T,H,W], wdims [M,C/group,kt,kh,kw]): the 2-D one
 * over H and W plus the time axis in kd..out_d. */
int bb_ox_window_3d(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[5],
                    const int64_t *wdims, bb_ox_win *w, bb_err *err);

/* A 2-D ConvTranspose: input [N,C,H,W], weight [C, M/group, kh, kw], output
 * [N, M, out_h, out_w] with out = s*(in-1) + output_padding + k - pad_begin
 * - pad_end per axis. Dilations other than 1, output_shape and an auto_pad
 * other than NOTSET are refused, naming the attribute. */
typedef struct {
    int64_t kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, opad_h, opad_w, group;
    int64_t out_c, out_h, out_w;
} bb_ox_deconv;
int bb_ox_deconv_get(const bb_ox_model *m, const bb_ox_node *nd, const int64_t in[4], const int64_t wd[4],
                     bb_ox_deconv *d, bb_err *err);
/* DepthToSpace / SpaceToDepth on [N,C,H,W]: the block size, and for
 * DepthToSpace whether its mode is CRD (else DCR: depth, column, row). */
int bb_ox_depthspace_get(const bb_ox_model *m, const bb_ox_node *nd, int64_t *block, int *crd, bb_err *err);

/* Slice, per input axis (axes not sliced: start 0, step 1, count = dim):
 * element i of the output along axis a is input element start[a] + i*step[a].
 * Negative and out-of-range starts/ends are clamped as ONNX says (INT64_MAX
 * ends included); steps may be negative (then start is the highest index). */
typedef struct {
    int ndim;
    int64_t start[BB_OX_MAX_DIMS], step[BB_OX_MAX_DIMS], count[BB_OX_MAX_DIMS];
} bb_ox_slice;
int bb_ox_slice_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                    bb_ox_slice *s, bb_err *err);

/* Axes of Squeeze (absent: every dim of size 1), Unsqueeze (positions in
 * the output), ReduceMean/ReduceSum/ReduceProd/ReduceMax/ReduceMin
 * (absent: all, unless noop_with_empty_axes), from the attribute (old
 * opsets) or input 1 (Squeeze/Unsqueeze/ReduceSum >= 13, other Reduce* >= 18).
 * Sorted ascending, no duplicates. */
typedef struct {
    int n;
    int64_t axes[BB_OX_MAX_DIMS];
    int keepdims;                  /* Reduce*: the attribute (default 1); else 0 */
} bb_ox_axes;
int bb_ox_axes_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                   bb_ox_axes *a, bb_err *err);

/* Transpose's perm (default: reversed dims), checked to be a permutation of
 * the input's rank. */
int bb_ox_perm_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                   int64_t perm[BB_OX_MAX_DIMS], bb_err *err);

/* Split: the axis and one size per output (sizes has room for nd->n_out),
 * from the 'split' attribute (< 13), input 1 (>= 13), or else an even split
 * (num_outputs at opset 18: the last part may be smaller). The sizes add up
 * to the axis's dim. */
int bb_ox_split_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                    int64_t *axis, int64_t *sizes, bb_err *err);

/* Resize of [N,C,H,W] as batchbench runs it (onnx_resize.c): the output
 * dims and what the resize computes (mode, coordinate transformation,
 * rounding, the scales of H and W: engine/resize.h). Errors name what is
 * not supported. */
typedef struct {
    int64_t out[4];
    bb_resize rs;
} bb_ox_resize;
int bb_ox_resize_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                     bb_ox_resize *r, bb_err *err);

/* Einsum (onnx_einsum.c): each operand's axes and the output's as letters
 * (NUL-terminated), and each letter's size (dim[letter], -1 when unused).
 * Errors name what is not supported. */
typedef struct {
    int n_in;
    int nd[2], out_nd;
    char in[2][BB_OX_MAX_DIMS + 1], out[BB_OX_MAX_DIMS + 1];
    int64_t dim[128];
} bb_ox_einsum;
int bb_ox_einsum_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                     bb_ox_einsum *e, bb_err *err);

/* Pad: pads per input axis (begin, end; negative crops) from the 'pads'
 * attribute (< 11) or input 1 (with axes from input 3 at 18), the constant
 * from 'value' (< 11) or input 2; mode "constant", "reflect" or "edge"
 * (as BB_OX_PAD_*, which are engine/graph.h's bb_pad_mode values). */
enum { BB_OX_PAD_CONSTANT, BB_OX_PAD_REFLECT, BB_OX_PAD_EDGE };
typedef struct {
    int ndim;
    int64_t begin[BB_OX_MAX_DIMS], end[BB_OX_MAX_DIMS];
    double value;
    int mode;
} bb_ox_pad;
int bb_ox_pad_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                  bb_ox_pad *p, bb_err *err);

/* The scalar parameters of one node, defaults filled in; only the fields
 * of nd's op type are meaningful:
 *   Gemm: alpha (1), beta (1), trans_a, trans_b (0)
 *   HardSigmoid: alpha (0.2), beta (0.5); LeakyRelu: alpha (0.01)
 *   Elu, Celu (alpha not 0), ThresholdedRelu: alpha (1); Selu: alpha
 *         (1.6732632), beta = gamma (1.0507010)
 *   Gelu: gelu_tanh (approximate "tanh", else "none": 0)
 *   GroupNormalization: groups (num_groups, required, >= 1), epsilon (1e-5)
 *   LRN: lrn_size (size, required, 1..1024), alpha (1e-4), beta (0.75),
 *        lrn_bias (bias, 1)
 *   Clip: lo, hi (attributes min/max before opset 11, inputs 1/2 after;
 *         absent = -inf/+inf; an input given must be constant)
 *   Cast: to (the dtype kept), onnx_to (the TensorProto type asked)
 *   LayerNormalization: axis (default -1), epsilon (1e-5)
 *   BatchNormalization: epsilon (1e-5); training_mode=1 is refused
 *   Softmax, LogSoftmax: axis (default -1; before opset 13: 1, with flatten semantics,
 *            accepted only when that is the last axis, or every dim from
 *            it to the last is 1)
 *   Concat (required), Flatten (default 1; 0..rank), Gather (0),
 *   Split (0): axis
 *   Mod: fmod (0/1; 0 is refused for float inputs)
 * axis is normalised against the first input's rank. */
typedef struct {
    int64_t axis;
    float alpha, beta;
    int trans_a, trans_b;
    float epsilon;
    float lo, hi;
    bb_ox_dtype to;
    int64_t onnx_to;
    int fmod;
    int gelu_tanh;
    int64_t groups;
    int64_t lrn_size;
    float lrn_bias;
} bb_ox_params;
int bb_ox_params_get(const bb_ox_model *m, const bb_ox_node *nd, const bb_ox_val *vals,
                     bb_ox_params *p, bb_err *err);

/* The dtype kept for an ONNX TensorProto.DataType (float types -> F32,
 * integers and bool -> I64); 0 for others (string, complex). */
bb_ox_dtype bb_ox_dtype_of(int64_t onnx_type);

#endif

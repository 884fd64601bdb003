/*
 * fuse.h — the fusion pass: rewrites a graph's op list so backends see the
 * fused operations oneDNN and cuDNN run in one kernel.
 *
 *   conv -> batchnorm          : BatchNorm folded into the conv (has_bn)
 *   batchnorm -> conv          : folded into the conv when it pads nothing
 *                                (has_pre_bn: a BN after a concat, as in
 *                                timm's InceptionNeXt and MetaFormers)
 *   conv|linear -> act         : post_act
 *   convs -> concat -> bn|act  : the BN (bn_first: where each conv's
 *                                channels start) or activation moves into
 *                                every conv that feeds the concat (MixNet)
 *   conv(x) + batchnorm(x)     : the BN into the conv's centre taps
 *                                (has_id_bn: RepGhost's identity branch)
 *   convs of one input summed  : one conv, the kernels summed (MobileOne,
 *                                RepVGG branches)
 *   conv -> mul(k)             : k per channel into the conv (post_scale)
 *   mul(k) -> convs            : k per channel into every conv reading it
 *                                (pre_scale; NF-ResNet's alpha and beta)
 *   batchnorm -> relu          : post_act (a BN the conv before it could not take)
 *   conv|linear -> add(r)      : residual summed in place into r's buffer
 *                                (sum_in = r), when r is not read later
 *   ... add -> act             : sum_act
 *
 * The tensors of the graph are kept; only ops are merged and removed. The
 * weights are not touched here: bb_fold_bn() computes folded weights for a
 * backend when it packs them.
 */
#ifndef BB_FUSE_H
#define BB_FUSE_H

#include "engine/graph.h"

/* Returns the number of ops removed. Idempotent. */
int bb_fuse(bb_graph *g);

/* Folded weight and bias of a conv op: w_out has the conv weight's numel,
 * b_out has out-channels entries. Works with or without folded BNs (on the
 * input, on the output) and with or without a conv bias. */
void bb_fold_bn(const bb_graph *g, const bb_op *conv, float *w_out, float *b_out);

/* Channel c of a batch norm as y = scale * x + shift, in double:
 * scale = gamma / sqrt(var + eps), shift = beta - mean * scale (gamma NULL:
 * 1, beta NULL: 0). Every place that folds a BN (this pass, the CPU and
 * CUDA batch-norm steps, the ONNX importer) calls this one, so that they
 * agree to the last bit. */
void bb_bn_channel(const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                   int64_t c, double *scale, double *shift);

/* Whether a conv has a bias once BNs are folded (bb_fold_bn's b_out is
 * then not all zeros in general). */
int bb_conv_has_bias(const bb_op *conv);

/* Index of the op that produces tensor t, or -1 (graph input / params). */
int bb_producer(const bb_graph *g, int t);
/* Index of the last op reading tensor t (incl. as sum_in), or -1. */
int bb_last_reader(const bb_graph *g, int t);
/* Index of the first op after op `after` reading tensor t, or -1. */
int bb_next_reader(const bb_graph *g, int t, int after);

#endif

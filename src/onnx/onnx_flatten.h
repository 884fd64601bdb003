/*
 * onnx_flatten.h — If, Loop, the sequence ops and the recurrent ops,
 * resolved at import into the plain nodes they amount to.
 *
 * Why it exists: exporters write shape-dependent Python as control flow.
 * torch.onnx turns `x.squeeze(1)` on a dim it cannot see into an If on
 * that dim's size, and `torch.tensor_split` into a Loop that fills a
 * sequence (torchvision's MViT video transformers do both). Their
 * conditions and trip counts are shape arithmetic, known once the shapes
 * are, and batchbench knows the shapes: it evaluates a graph at batch 2 and
 * 3 (onnx_eval.h). The flattener walks the graph evaluating it at both, and
 * writes a model with no subgraph:
 *   - an If becomes the nodes of the branch its condition takes;
 *   - a Loop becomes its body once per iteration (the iteration number and
 *     condition as Constants, the carried values threaded through, each
 *     scan output the iterations' values stacked: Unsqueeze + Concat);
 *   - a sequence is a list of tensors the flattener keeps: SequenceAt is
 *     the tensor itself, SequenceLength a Constant, ConcatFromSequence a
 *     Concat, SplitToSequence a Split (SequenceEmpty, SequenceConstruct,
 *     SequenceInsert and SequenceErase edit the list);
 *   - an LSTM, GRU or RNN becomes the nodes of each of its time steps
 *     (onnx_rnn.c): its sequence length is a dim of its input, known like
 *     a trip count.
 * Refused, naming the node: a condition, trip count or sequence position
 * that depends on the input's data or differs between the two batch sizes
 * (the one graph batchbench builds per file could not follow it); a
 * sequence read by any other op, or given as the graph's output; a model
 * whose flattening passes BB_OX_FLAT_MIN_NODES nodes or twice the file's
 * own (its graph's and subgraphs'), whichever is more: an unrolled loop is
 * that many nodes, each evaluated twice, and nodes the file holds are
 * bounded by its size (the node count bounds the import's memory: a loop of
 * 2^30 iterations from 700 bytes of file must not take gigabytes).
 */
#ifndef BB_ONNX_FLATTEN_H
#define BB_ONNX_FLATTEN_H

#include "onnx/onnx_model.h"
#include "util/error.h"

#define BB_OX_FLAT_MIN_NODES (1 << 16)

/* Whether the flattener resolves op_type (If, Loop, the sequence ops, the
 * recurrent ops). */
int bb_ox_flatten_handles(const char *op_type);
/* Whether op_type is one of the recurrent ops (LSTM, GRU, RNN), which the
 * flattener writes out: onnx_rnn.c. */
int bb_oxf_is_rnn(const char *op_type);

/* Whether m has a node the flattener resolves (else it is already flat). */
int bb_ox_flatten_needed(const bb_ox_model *m);

/* m without control flow: m itself when it has none, else a new model
 * (same file name, inputs, initializers) and m freed. NULL with err set
 * ("<path>: node '<name>' (<op>): ...") and m freed on failure. */
bb_ox_model *bb_ox_flatten(bb_ox_model *m, bb_err *err);

#endif

"""If, Loop and the sequence ops for tests/onnx/make_bad_models.py: graphs
whose control flow is decided by shapes alone (src/onnx/onnx_flatten.c
resolves it at import), each with a float64 numpy answer, and the files it
must refuse, each naming the node and the reason.

The forms are torch.onnx's: `x.squeeze(d)` on a dim it cannot see is an If
on that dim's size; `torch.tensor_split` a Loop inserting slices into a
sequence that SequenceAt then reads; a scripted loop a Loop with a carried
value and a scan output; `torch.split` with a size a SplitToSequence.
The input of every case is x2.npy ([2, 3, 8, 8]).
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)
b1 = lambda v, n: numpy_helper.from_array(np.asarray(v, dtype=np.bool_), n)
f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)


def _graph(name, nodes, outputs, inputs=()):
    """A subgraph: its outputs typed as ONNX Runtime wants them (a name
    ending in "cond_out" a bool, "seq_out" a sequence of floats, others a
    float tensor); batchbench reads none of the types."""
    def out(o):
        if o.endswith("cond_out"):
            return helper.make_tensor_value_info(o, TensorProto.BOOL, [])
        if o.endswith("seq_out"):
            return helper.make_tensor_sequence_value_info(o, TensorProto.FLOAT, None)
        return helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
    return helper.make_graph(nodes, name, list(inputs), [out(o) for o in outputs])


def _if_on_dim(prefix, src, dim, size, then_nodes, then_out, else_nodes, else_out, out):
    """If shape(src)[dim] == size then ... else ...: torch's squeeze form."""
    return [helper.make_node("Shape", [src], [f"{prefix}_shape"], name=f"{prefix}_shape"),
            helper.make_node("Gather", [f"{prefix}_shape", f"{prefix}_dim"], [f"{prefix}_d"], name=f"{prefix}_gather",
                             axis=0),
            helper.make_node("Equal", [f"{prefix}_d", f"{prefix}_size"], [f"{prefix}_cond"], name=f"{prefix}_equal"),
            helper.make_node("If", [f"{prefix}_cond"], [out], name=f"{prefix}_if",
                             then_branch=_graph(f"{prefix}_then", then_nodes, [then_out]),
                             else_branch=_graph(f"{prefix}_else", else_nodes, [else_out]))], \
        [i64(dim, f"{prefix}_dim"), i64(size, f"{prefix}_size")]


def _tensor_split_loop(prefix, src, axis, trips, seq_out):
    """torch.tensor_split(src, range(1, trips + 1), axis): a Loop of `trips`
    iterations, each inserting src[i:i+1] along axis into a sequence, then
    the rest inserted after it."""
    body = _graph(f"{prefix}_body", [
        helper.make_node("Add", [f"{prefix}_i", f"{prefix}_one"], [f"{prefix}_i1"], name=f"{prefix}_next"),
        helper.make_node("Unsqueeze", [f"{prefix}_i", f"{prefix}_zero"], [f"{prefix}_start"], name=f"{prefix}_start"),
        helper.make_node("Unsqueeze", [f"{prefix}_i1", f"{prefix}_zero"], [f"{prefix}_end"], name=f"{prefix}_end"),
        helper.make_node("Slice", [src, f"{prefix}_start", f"{prefix}_end", f"{prefix}_axes"], [f"{prefix}_piece"],
                         name=f"{prefix}_slice"),
        helper.make_node("SequenceInsert", [f"{prefix}_seq_in", f"{prefix}_piece"], [f"{prefix}_seq_out"],
                         name=f"{prefix}_insert"),
        helper.make_node("Identity", [f"{prefix}_cond_in"], [f"{prefix}_cond_out"], name=f"{prefix}_cond")],
        [f"{prefix}_cond_out", f"{prefix}_seq_out"],
        inputs=[helper.make_tensor_value_info(f"{prefix}_i", TensorProto.INT64, []),
                helper.make_tensor_value_info(f"{prefix}_cond_in", TensorProto.BOOL, []),
                helper.make_tensor_sequence_value_info(f"{prefix}_seq_in", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("SequenceEmpty", [], [f"{prefix}_empty"], name=f"{prefix}_empty"),
             helper.make_node("Loop", [f"{prefix}_trips", f"{prefix}_true", f"{prefix}_empty"], [f"{prefix}_filled"],
                              name=f"{prefix}_loop", body=body),
             helper.make_node("Slice", [src, f"{prefix}_rest_start", f"{prefix}_big", f"{prefix}_axes"],
                              [f"{prefix}_rest"], name=f"{prefix}_rest"),
             helper.make_node("SequenceInsert", [f"{prefix}_filled", f"{prefix}_rest"], [seq_out],
                              name=f"{prefix}_insert_rest")]
    inits = [i64(trips, f"{prefix}_trips"), b1(True, f"{prefix}_true"), i64(1, f"{prefix}_one"),
             i64([0], f"{prefix}_zero"), i64([axis], f"{prefix}_axes"), i64([trips], f"{prefix}_rest_start"),
             i64([1 << 40], f"{prefix}_big")]
    return nodes, inits


def controlflow_cases(x):
    """(name, nodes, initializers, output shape, reference) per case; x is
    x2.npy as float64."""
    # two Ifs on dims: the first takes its then branch (dim 1 is 3), the
    # second its else branch (dim 2 is not 5); each branch reads values
    # defined before its If
    n1, i1 = _if_on_dim("a", "x", 1, 3, [helper.make_node("Relu", ["x"], ["a_relu"], name="a_relu")], "a_relu",
                        [helper.make_node("Neg", ["x"], ["a_neg"], name="a_neg")], "a_neg", "a")
    n2, i2 = _if_on_dim("b", "a", 2, 5, [helper.make_node("Neg", ["a"], ["b_neg"], name="b_neg")], "b_neg",
                        [helper.make_node("Sigmoid", ["a"], ["b_sig"], name="b_sig"),
                         helper.make_node("Mul", ["b_sig", "x"], ["b_mul"], name="b_mul")], "b_mul", "y")
    relu = np.maximum(x, 0)
    yield "if_shapes", n1 + n2, i1 + i2, ["N", 3, 8, 8], 1 / (1 + np.exp(-relu)) * x
    # tensor_split along the channels (a Loop of 2 over a sequence), the
    # three parts read back in another order by SequenceAt (one position
    # negative) and joined
    n, i = _tensor_split_loop("t", "x", 1, 2, "parts")
    n += [helper.make_node("SequenceAt", ["parts", "p2"], ["c2"], name="at_2"),
          helper.make_node("SequenceAt", ["parts", "pm3"], ["c0"], name="at_minus3"),
          helper.make_node("SequenceAt", ["parts", "p1"], ["c1"], name="at_1"),
          helper.make_node("Mul", ["c1", "c0"], ["c10"], name="mul"),
          helper.make_node("Concat", ["c2", "c10", "c0"], ["y"], name="join", axis=1)]
    i += [i64(2, "p2"), i64(-3, "pm3"), i64(1, "p1")]
    yield "loop_tensor_split", n, i, ["N", 3, 8, 8], np.concatenate([x[:, 2:], x[:, 1:2] * x[:, :1], x[:, :1]], 1)
    # a Loop of 3 carrying an activation (acc = acc * 0.5 + x * i) with a
    # scan output of each iteration's acc: stacked on a new axis 0, moved
    # behind the batch and joined to the final acc along the channels
    body = _graph("s_body", [
        helper.make_node("Cast", ["s_i"], ["s_if"], name="s_cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "s_if"], ["s_xi"], name="s_xi"),
        helper.make_node("Mul", ["s_acc", "half"], ["s_half"], name="s_half"),
        helper.make_node("Add", ["s_half", "s_xi"], ["s_next"], name="s_next"),
        helper.make_node("Identity", ["s_cond"], ["s_cond_out"], name="s_cond_out"),
        helper.make_node("Identity", ["s_next"], ["s_scan"], name="s_scan")],
        ["s_cond_out", "s_next", "s_scan"],
        inputs=[helper.make_tensor_value_info("s_i", TensorProto.INT64, []),
                helper.make_tensor_value_info("s_cond", TensorProto.BOOL, []),
                helper.make_tensor_value_info("s_acc", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("Loop", ["three", "", "x"], ["acc", "scans"], name="scan_loop", body=body),
             helper.make_node("Transpose", ["scans"], ["scans_t"], name="batch_first", perm=[1, 0, 2, 3, 4]),
             helper.make_node("Reshape", ["scans_t", "to_4d"], ["scans_4d"], name="to_4d"),
             helper.make_node("Concat", ["acc", "scans_4d"], ["y"], name="join", axis=1)]
    acc, scans = x, []
    for it in range(3):
        acc = acc * 0.5 + x * it
        scans.append(acc)
    yield "loop_scan", nodes, [i64(3, "three"), f32(0.5, "half"), i64([0, 9, 8, 8], "to_4d")], ["N", 12, 8, 8], \
        np.concatenate([acc, np.stack(scans, 1).reshape(2, 9, 8, 8)], 1)
    # SplitToSequence by 1 without keepdims, SequenceErase of the last,
    # ConcatFromSequence on a new axis; SplitToSequence in pieces of 3 rows
    # (3, 3, 2) joined back by ConcatFromSequence; SequenceConstruct and
    # SequenceLength as a number the graph computes with
    nodes = [helper.make_node("SplitToSequence", ["x"], ["chans"], name="split_chans", axis=1, keepdims=0),
             helper.make_node("SequenceErase", ["chans"], ["two"], name="erase_last"),
             helper.make_node("ConcatFromSequence", ["two"], ["stacked"], name="restack", axis=1, new_axis=1),
             helper.make_node("SplitToSequence", ["x", "three_rows"], ["rows"], name="split_rows", axis=2),
             helper.make_node("ConcatFromSequence", ["rows"], ["rejoined"], name="rejoin", axis=2),
             helper.make_node("SequenceConstruct", ["x", "rejoined"], ["pair"], name="pair"),
             helper.make_node("SequenceLength", ["pair"], ["len"], name="length"),
             helper.make_node("Cast", ["len"], ["lenf"], name="len_float", to=TensorProto.FLOAT),
             helper.make_node("SequenceAt", ["pair", "one_pos"], ["second"], name="second"),
             helper.make_node("Mul", ["second", "lenf"], ["scaled"], name="scaled"),
             helper.make_node("Concat", ["stacked", "scaled"], ["y"], name="join", axis=1)]
    yield "sequence_ops", nodes, [i64(3, "three_rows"), i64(1, "one_pos")], ["N", 5, 8, 8], \
        np.concatenate([x[:, :2], x * 2], 1)
    yield nested_case(x)


def nested_case(x):
    """A Loop of 2 whose body holds an If on a shape (taking its then
    branch) and another Loop of 2: every subgraph emitted twice, its values
    new the second time."""
    cond_in = lambda n: helper.make_tensor_value_info(n, TensorProto.BOOL, [])
    inner = _graph("i_body", [helper.make_node("Add", ["i_acc", "x"], ["i_next"], name="i_add"),
                              helper.make_node("Identity", ["i_c"], ["i_cond_out"], name="i_cond")],
                   ["i_cond_out", "i_next"],
                   inputs=[helper.make_tensor_value_info("i_i", TensorProto.INT64, []), cond_in("i_c"),
                           helper.make_tensor_value_info("i_acc", TensorProto.FLOAT, None)])
    if_nodes, if_inits = _if_on_dim("n", "o_acc", 1, 3, [helper.make_node("Mul", ["o_acc", "half"], ["n_half"],
                                                                          name="n_half")], "n_half",
                                    [helper.make_node("Neg", ["o_acc"], ["n_neg"], name="n_neg")], "n_neg", "o_t")
    outer = _graph("o_body", if_nodes + [
        helper.make_node("Loop", ["two", "", "o_t"], ["o_next"], name="inner_loop", body=inner),
        helper.make_node("Identity", ["o_c"], ["o_cond_out"], name="o_cond")], ["o_cond_out", "o_next"],
        inputs=[helper.make_tensor_value_info("o_i", TensorProto.INT64, []), cond_in("o_c"),
                helper.make_tensor_value_info("o_acc", TensorProto.FLOAT, None)])
    acc = x
    for _ in range(2):
        acc = acc * 0.5 + 2 * x
    # the If's shape and constants are the outer graph's initializers, read from inside both loops
    return ("loop_nested", [helper.make_node("Loop", ["two", "", "x"], ["y"], name="outer_loop", body=outer)],
            if_inits + [i64(2, "two"), f32(0.5, "half")], ["N", 3, 8, 8], acc)


def refused_controlflow(out, save, small_graph):
    """Control flow batchbench cannot resolve at import, each refused naming
    the node and why."""
    def model(name, nodes, inits, outputs=None):
        save(small_graph(nodes=nodes, inits=inits, outputs=outputs or [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])]), f"{out}/{name}.onnx")

    branch = lambda tag: (_graph(f"{tag}_then", [helper.make_node("Relu", ["x"], [f"{tag}_r"], name=f"{tag}_r")],
                                 [f"{tag}_r"]),
                          _graph(f"{tag}_else", [helper.make_node("Neg", ["x"], [f"{tag}_n"], name=f"{tag}_n")],
                                 [f"{tag}_n"]))
    # a condition on the input's values
    th, el = branch("d")
    model("if_on_data", [helper.make_node("ReduceMax", ["x"], ["m"], name="max", keepdims=0),
                         helper.make_node("Greater", ["m", "zero"], ["pos"], name="positive"),
                         helper.make_node("If", ["pos"], ["y"], name="if_data", then_branch=th, else_branch=el)],
          [f32(0, "zero")])
    # a condition on the batch size
    th, el = branch("b")
    model("if_on_batch", [helper.make_node("Shape", ["x"], ["s"], name="shape"),
                          helper.make_node("Gather", ["s", "zero"], ["n"], name="batch", axis=0),
                          helper.make_node("Equal", ["n", "two"], ["is2"], name="is_two"),
                          helper.make_node("If", ["is2"], ["y"], name="if_batch", then_branch=th, else_branch=el)],
          [i64(0, "zero"), i64(2, "two")])
    # a loop of 2^30 iterations: past the flattener's node limit (regress_: a fuzzer seed, as the
    # fuzzer's own find, a loop of 2^53, took 2.1 GB under ASan when the limit was 2^18 nodes)
    body = _graph("h_body", [helper.make_node("Relu", ["h_acc"], ["h_next"], name="h_relu"),
                             helper.make_node("Identity", ["h_cond"], ["h_cond_out"], name="h_cond_out")],
                  ["h_cond_out", "h_next"],
                  inputs=[helper.make_tensor_value_info("h_i", TensorProto.INT64, []),
                          helper.make_tensor_value_info("h_cond", TensorProto.BOOL, []),
                          helper.make_tensor_value_info("h_acc", TensorProto.FLOAT, None)])
    model("regress_loop_huge", [helper.make_node("Loop", ["trips", "", "x"], ["y"], name="loop_huge", body=body)],
          [i64(1 << 30, "trips")])
    # a loop with neither a trip count nor a condition
    model("loop_endless", [helper.make_node("Loop", ["", "", "x"], ["y"], name="loop_endless", body=body)], [])
    # a sequence read by an op that is not a sequence op
    model("sequence_read", [helper.make_node("SequenceConstruct", ["x", "x"], ["s"], name="pair"),
                            helper.make_node("Relu", ["s"], ["y"], name="relu_of_sequence")], [])
    # an op batchbench does not run, inside a branch: named with the others
    th = _graph("u_then", [helper.make_node("Shrink", ["x"], ["u_s"], name="shrink_in_branch")], ["u_s"])
    _, el = branch("u")
    model("unsupported_in_branch", [helper.make_node("Shape", ["x"], ["s"], name="shape"),
                                    helper.make_node("Gather", ["s", "one"], ["c"], name="chans", axis=0),
                                    helper.make_node("Equal", ["c", "three"], ["is3"], name="is_three"),
                                    helper.make_node("If", ["is3"], ["y"], name="if_u", then_branch=th,
                                                     else_branch=el)], [i64(1, "one"), i64(3, "three")])
    # a branch reading a name defined nowhere: refused by the reader
    th = _graph("w_then", [helper.make_node("Relu", ["nowhere"], ["w_r"], name="reads_nowhere")], ["w_r"])
    model("branch_undefined", [helper.make_node("Shape", ["x"], ["s"], name="shape"),
                               helper.make_node("Gather", ["s", "one"], ["c"], name="chans", axis=0),
                               helper.make_node("Equal", ["c", "three"], ["is3"], name="is_three"),
                               helper.make_node("If", ["is3"], ["y"], name="if_w", then_branch=th, else_branch=el)],
          [i64(1, "one"), i64(3, "three")])

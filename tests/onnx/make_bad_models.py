#!/usr/bin/python3
"""Writes the ONNX files tests/cli/test_onnx_files.sh feeds to batchbench:
one small valid model, its weights also as external data, and one file per
way a model can be broken or unsupported. Nothing here is committed as
.onnx; the files are generated into the folder given as the argument.

    tests/onnx/make_bad_models.py OUTDIR

Needs Debian's python3-onnx (the helpers that build ModelProto messages).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def small_graph(nodes=None, inits=None, inputs=None, outputs=None):
    """x [N,3,8,8] -> Conv(4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten -> y [N,4]."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")
    nodes = nodes if nodes is not None else [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten"),
    ]
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])]
    g = helper.make_graph(nodes, "small", inputs, outputs, initializer=inits if inits is not None else [w, b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def main(out):
    os.makedirs(out, exist_ok=True)
    good = small_graph()
    save(good, f"{out}/good.onnx")
    data = good.SerializeToString()
    with open(f"{out}/truncated.onnx", "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    with open(f"{out}/garbage.onnx", "wb") as f:
        f.write(bytes(range(256)) * 4)
    # field 7 (graph) written as a varint instead of a message
    with open(f"{out}/wrong_type.onnx", "wb") as f:
        f.write(bytes([0x08, 0x08, 0x38, 0x05]))
    cyc = small_graph(nodes=[
        helper.make_node("Relu", ["z"], ["c"], name="relu_a"),
        helper.make_node("Add", ["x", "c"], ["z"], name="add_b"),
        helper.make_node("GlobalAveragePool", ["z"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")])
    save(cyc, f"{out}/cycle.onnx")
    undef = small_graph(nodes=[
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c", "nowhere"], ["r"], name="add_undefined"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")])
    save(undef, f"{out}/undefined_input.onnx")
    neg = small_graph()
    neg.graph.initializer[0].dims[0] = -4
    save(neg, f"{out}/negative_dims.onnx")
    huge = small_graph()
    del huge.graph.initializer[0].dims[:]
    huge.graph.initializer[0].dims.extend([1 << 31, 1 << 31])  # 2^62 elements
    save(huge, f"{out}/shape_2p62.onnx")
    short = small_graph()
    short.graph.initializer[0].dims[0] = 4000  # raw_data holds 4 filters' worth
    save(short, f"{out}/initializer_too_big.onnx")
    absurd_in = small_graph(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 1 << 40, 8])])
    save(absurd_in, f"{out}/absurd_input.onnx")
    unsup = small_graph(nodes=[
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Selu", ["c"], ["s"], name="selu_1"),
        helper.make_node("Selu", ["s"], ["s2"], name="selu_2"),
        helper.make_node("LpNormalization", ["s2"], ["r"], name="lpnorm"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")])
    save(unsup, f"{out}/unsupported.onnx")
    # external data: beside the model, and one that points out of its folder
    os.makedirs(f"{out}/ext", exist_ok=True)
    ext = small_graph()
    onnx.save_model(ext, f"{out}/ext/model.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.weights", size_threshold=0)
    esc = onnx.load(f"{out}/ext/model.onnx", load_external_data=False)
    for t in esc.graph.initializer:
        for kv in t.external_data:
            if kv.key == "location":
                kv.value = "../outside.weights"
    save(esc, f"{out}/ext/escape.onnx")
    with open(f"{out}/outside.weights", "wb") as f:
        f.write(b"\0" * 1024)
    longer = onnx.load(f"{out}/ext/model.onnx", load_external_data=False)
    for t in longer.graph.initializer:
        for kv in t.external_data:
            if kv.key == "length":
                kv.value = str(1 << 30)
    save(longer, f"{out}/ext/beyond_file.onnx")
    # a fixed batch of 1 (no dynamic axis): reshapes baked for batch 1
    fixed = small_graph(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                        nodes=[helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                               helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
                               helper.make_node("Reshape", ["p", "shape"], ["y"], name="reshape_fixed")],
                        inits=None)
    fixed.graph.initializer.append(numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "shape"))
    save(fixed, f"{out}/fixed_batch.onnx")
    # x.mean([2, 3]) as exporters write it (MNASNet, timm's SE blocks): the
    # same model as good.onnx, which the importer lowers to the same pool
    for keep, tail in ((0, []), (1, [helper.make_node("Flatten", ["p"], ["y"], name="flatten")])):
        mean = small_graph(nodes=[
            helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("ReduceMean", ["r"], ["p" if tail else "y"], name="mean_hw", axes=[2, 3],
                             keepdims=keep)] + tail)
        save(mean, f"{out}/mean_hw_keep{keep}.onnx")
    np.save(f"{out}/x2.npy", np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32))
    np.save(f"{out}/x_wrong.npy", np.zeros((2, 3, 9, 8), dtype=np.float32))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad_models.py OUTDIR")
    main(sys.argv[1])

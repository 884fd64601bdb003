#!/usr/bin/python3
"""Writes the ONNX files tests/cli/test_onnx_files.sh feeds to batchbench:
one small valid model, its weights also as external data, one file per
way a model can be broken or unsupported, and op_*.onnx: single ops the
torchvision models do not use (found in timm's models), each with
op_*.ref.npy, its output on x2.npy computed here in float64 with numpy.
Nothing here is committed as .onnx; the files are generated into the
folder given as the argument.

    tests/onnx/make_bad_models.py OUTDIR

Needs Debian's python3-onnx (the helpers that build ModelProto messages).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from controlflow_cases import controlflow_cases, refused_controlflow
from extra_op_cases import (activation_cases, einsum_merged_cases, large_index_cases, lrn_cases, pool1d_cases,
                             scatter_block_cases)
from resize_cases import refused_resizes, resize10_cases, resize_cases
from rnn_cases import refused_rnn, rnn_cases
from upsample_cases import refused_upsampling, upsample_cases
from window3d_cases import refused_window3d, window3d_cases


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


def index_chain(n=1 << 21, steps=8, cols=655360):
    """x [N,4] @ w [4, cols], reshaped by a shape computed through `steps`
    integer ops on n-element index tensors (16 MB each, 151 MB per
    evaluation in all) that end in one number: the import must free them
    as it goes (tests/cli/test_onnx_files.sh checks its peak memory)."""
    w = numpy_helper.from_array(np.full((4, cols), 0.5, dtype=np.float32), "w")
    consts = [numpy_helper.from_array(np.array(v, dtype=np.int64), k)
              for k, v in (("zero", 0), ("count", n), ("one", 1), ("two", 2), ("cols", cols), ("minus1", [-1]))]
    nodes = [helper.make_node("Range", ["zero", "count", "one"], ["i0"], name="range")]
    for k in range(steps):
        nodes.append(helper.make_node("Mul" if k % 2 else "Add", [f"i{k}", "two" if k % 2 else "one"], [f"i{k + 1}"],
                                      name=f"index_{k}"))
    nodes += [helper.make_node("Gather", [f"i{steps}", "zero"], ["lo"], name="first", axis=0),
              helper.make_node("Mul", ["lo", "zero"], ["nil"], name="nil"),
              helper.make_node("Add", ["nil", "cols"], ["c"], name="cols_again"),
              helper.make_node("Unsqueeze", ["c", "axes0"], ["c1"], name="c1"),
              helper.make_node("Concat", ["minus1", "c1"], ["shape"], name="shape", axis=0),
              helper.make_node("MatMul", ["x", "w"], ["m"], name="matmul"),
              helper.make_node("Reshape", ["m", "shape"], ["y"], name="reshape")]
    axes0 = numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0")
    g = helper.make_graph(nodes, "index_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", cols])],
                          initializer=[w, axes0] + consts)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def op_cases(out, x):
    """(name, nodes, initializers, output shape, reference) for each op case;
    x is x2.npy ([2,3,8,8]), the input of every case."""
    rng = np.random.default_rng(2)
    x = x.astype(np.float64)
    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
    i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)

    def inorm(a, scale, bias, eps=1e-5):  # over every axis after the first two
        ax = tuple(range(2, a.ndim))
        mu, var = a.mean(axis=ax, keepdims=True), a.var(axis=ax, keepdims=True)
        sh = (1, -1) + (1,) * (a.ndim - 2)
        return (a - mu) / np.sqrt(var + eps) * scale.reshape(sh) + bias.reshape(sh)

    scale, bias = rng.uniform(0.5, 1.5, 3), rng.uniform(-0.5, 0.5, 3)
    k = rng.uniform(-3, 3, (3, 8, 8))
    yield ("instnorm_affine", [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="inorm")],
           [f32(scale, "s"), f32(bias, "b")], ["N", 3, 8, 8], inorm(x, scale, bias))
    # torch's GroupNorm(1, 3) export: reshape to [N, 1, -1], normalise, reshape back
    g = inorm(x.reshape(2, 1, -1), np.ones(1), np.zeros(1)).reshape(x.shape)
    yield ("instnorm_groupnorm", [
        helper.make_node("Reshape", ["x", "flat"], ["r"], name="to_groups"),
        helper.make_node("InstanceNormalization", ["r", "one", "zero"], ["n"], name="inorm"),
        helper.make_node("Reshape", ["n", "back"], ["y"], name="from_groups")],
        [i64([0, 1, -1], "flat"), i64([0, 3, 8, 8], "back"), f32([1], "one"), f32([0], "zero")],
        ["N", 3, 8, 8], g)
    # GroupNorm(1, 3) over rows of 3 x 64 x 64 (x upsampled 8x): long enough
    # for batchbench's own layer norm kernel (K_LNORM, rows >= 4096)
    up = x.repeat(8, axis=2).repeat(8, axis=3)
    yield ("groupnorm_long", [
        helper.make_node("Resize", ["x", "", "sc8"], ["u"], name="up8", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("Reshape", ["u", "flat"], ["r"], name="to_groups"),
        helper.make_node("InstanceNormalization", ["r", "one", "zero"], ["n"], name="inorm"),
        helper.make_node("Reshape", ["n", "back64"], ["y"], name="from_groups")],
        [f32([1, 1, 8, 8], "sc8"), i64([0, 1, -1], "flat"), i64([0, 3, 64, 64], "back64"), f32([1], "one"),
         f32([0], "zero")],
        ["N", 3, 64, 64], inorm(up.reshape(2, 1, -1), np.ones(1), np.zeros(1)).reshape(up.shape))
    yield ("reducesum_c_keep", [helper.make_node("ReduceSum", ["x", "ax"], ["y"], name="sum_c", keepdims=1)],
           [i64([1], "ax")], ["N", 1, 8, 8], x.sum(axis=1, keepdims=True))
    yield ("reducesum_hw", [helper.make_node("ReduceSum", ["x", "ax"], ["y"], name="sum_hw", keepdims=0)],
           [i64([2, 3], "ax")], ["N", 3], x.sum(axis=(2, 3)))
    def conv1d(a, w, b, pads, stride, dil, groups):
        a = np.pad(a, ((0, 0), (0, 0), (pads[0], pads[1])))
        m, cg, k = w.shape
        lo = (a.shape[2] - dil * (k - 1) - 1) // stride + 1
        y = np.zeros((a.shape[0], m, lo))
        for o in range(m):
            g = o // (m // groups)
            for t in range(k):
                seg = a[:, g * cg:(g + 1) * cg, t * dil: t * dil + stride * (lo - 1) + 1: stride]
                y[:, o] += np.einsum("ncl,c->nl", seg, w[o, :, t])
        return y + b.reshape(1, -1, 1)

    # a 1-D conv (ECA's channel attention, audio front ends): asymmetric
    # pads, stride, dilation, groups
    w1, b1 = rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    yield ("conv1d", [
        helper.make_node("Reshape", ["x", "flat"], ["r"], name="to_1d"),
        helper.make_node("Conv", ["r", "w1", "b1"], ["y"], name="conv1d", pads=[1, 2], strides=[2],
                         dilations=[2], group=3)],
        [i64([0, 6, 32], "flat"), f32(w1, "w1"), f32(b1, "b1")], ["N", 6, 16],
        conv1d(x.reshape(2, 6, 32), w1.astype(np.float32).astype(np.float64), b1.astype(np.float32), (1, 2), 2, 2, 3))
    # runs longer than one 64-term float partial sum: over R = 192 rows of 1
    # (the per-row path) and R = 96 rows of 2 (the per-column path)
    yield ("reducemean_long", [helper.make_node("Reshape", ["x", "shp"], ["r"], name="to_rows"),
                               helper.make_node("ReduceMean", ["r"], ["y"], name="mean_r", axes=[1], keepdims=0)],
           [i64([0, 192, 1], "shp")], ["N", 1], x.reshape(2, 192, 1).mean(axis=1))
    yield ("reducesum_long", [helper.make_node("Reshape", ["x", "shp"], ["r"], name="to_rows"),
                              helper.make_node("ReduceSum", ["r", "ax"], ["y"], name="sum_r", keepdims=0)],
           [i64([0, 96, 2], "shp"), i64([1], "ax")], ["N", 2], x.reshape(2, 96, 2).sum(axis=1))
    # F.normalize(x, dim=-1) as exported (XCiT): x / max(||x||_2, eps)
    yield ("reducel2_normalize", [
        helper.make_node("ReduceL2", ["x"], ["n"], name="l2", axes=[-1], keepdims=1),
        helper.make_node("Clip", ["n", "eps"], ["nc"], name="clip"),
        helper.make_node("Div", ["x", "nc"], ["y"], name="div")],
        [f32(1e-12, "eps")], ["N", 3, 8, 8], x / np.maximum(np.sqrt((x * x).sum(axis=-1, keepdims=True)), 1e-12))
    def bilinear_axis(n_in, n_out):  # half-pixel source coordinates, clamped: (i0, i1, w1) per output
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(src).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    def bilinear(a, oh, ow):
        h0, h1, wh = bilinear_axis(a.shape[2], oh)
        w0, w1, ww = bilinear_axis(a.shape[3], ow)
        rows = a[:, :, h0] * (1 - wh)[:, None] + a[:, :, h1] * wh[:, None]
        return rows[:, :, :, w0] * (1 - ww) + rows[:, :, :, w1] * ww

    # Resize as torch exports nn.Upsample(scale_factor=2) and F.interpolate(mode="bilinear")
    yield ("resize_nearest2", [helper.make_node("Resize", ["x", "", "sc"], ["y"], name="up", mode="nearest",
                                                coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
           [f32([1, 1, 2, 2], "sc")], ["N", 3, 16, 16], x.repeat(2, axis=2).repeat(2, axis=3))
    for name, size, coord in (("resize_linear_up", 11, "pytorch_half_pixel"), ("resize_linear_down", 5, "half_pixel")):
        yield (name, [  # sizes as exporters build them: the input's N, C and the new H, W
            helper.make_node("Shape", ["x"], ["shp"], name="shape"),
            helper.make_node("Slice", ["shp", "zero", "two"], ["nc"], name="nc"),
            helper.make_node("Concat", ["nc", "hw"], ["sz"], name="sizes", axis=0),
            helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="bilinear", mode="linear",
                             coordinate_transformation_mode=coord)],
            [i64([0], "zero"), i64([2], "two"), i64([size, size], "hw")], ["N", 3, size, size], bilinear(x, size, size))
    def bicubic_axis(n, m, a=-0.75):  # [m, n]: half-pixel centres, the border repeated
        def keys(d):
            d = abs(d)
            return ((a + 2) * d - (a + 3)) * d * d + 1 if d <= 1 else ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        wm = np.zeros((m, n))
        for o in range(m):
            s = (o + 0.5) * n / m - 0.5
            f = int(np.floor(s))
            for k in range(-1, 3):
                wm[o, min(max(f + k, 0), n - 1)] += keys(s - (f + k))
        return wm

    # torch's F.interpolate(mode="bicubic") (CrossViT), H up and W down, sizes as the exporter builds them
    yield ("resize_cubic", [
        helper.make_node("Shape", ["x"], ["shp"], name="shape"),
        helper.make_node("Slice", ["shp", "zero", "two"], ["nc"], name="nc"),
        helper.make_node("Concat", ["nc", "hw"], ["sz"], name="sizes", axis=0),
        helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="bicubic", mode="cubic", cubic_coeff_a=-0.75,
                         coordinate_transformation_mode="half_pixel")],
        [i64([0], "zero"), i64([2], "two"), i64([11, 6], "hw")], ["N", 3, 11, 6],
        np.einsum("oh,nchw,pw->ncop", bicubic_axis(8, 11), x, bicubic_axis(8, 6)))
    # a position table computed from constants, as sin/cos embeddings are
    yield ("sincos_const", [
        helper.make_node("Sin", ["k"], ["sk"], name="sin"), helper.make_node("Cos", ["k"], ["ck"], name="cos"),
        helper.make_node("Add", ["x", "sk"], ["a"], name="add"), helper.make_node("Mul", ["a", "ck"], ["y"], name="mul")],
        [f32(k, "k")], ["N", 3, 8, 8], (x + np.sin(k.astype(np.float32))) * np.cos(k.astype(np.float32)))

    def conv2d(a, w, b, pad, stride, groups):  # square pads and strides
        a = np.pad(a, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        m, cg, k, _ = w.shape
        lo = (a.shape[2] - k) // stride + 1
        y = np.zeros((a.shape[0], m, lo, lo))
        for o in range(m):
            g = o // (m // groups)
            for i in range(k):
                for j in range(k):
                    seg = a[:, g * cg:(g + 1) * cg, i:i + stride * (lo - 1) + 1:stride, j:j + stride * (lo - 1) + 1:stride]
                    y[:, o] += np.einsum("nchw,c->nhw", seg, w[o, :, i, j])
        return y + b.reshape(1, -1, 1, 1)

    as32 = lambda a: a.astype(np.float32).astype(np.float64)
    # two depthwise convs with a channel multiplier (group = C, 2C outputs:
    # timm's fastvit downsampling, 3x3 and 1x1 stride 2 branches, added) on
    # the 16 channels a 1x1 conv makes
    w0, b0 = rng.standard_normal((16, 3, 1, 1)), rng.standard_normal(16)
    wm, bm = rng.standard_normal((32, 1, 3, 3)), rng.standard_normal(32)
    ws1, bs1 = rng.standard_normal((32, 1, 1, 1)), rng.standard_normal(32)
    c16m = conv2d(x, as32(w0), as32(b0), 0, 1, 1)
    yield ("conv_multiplier", [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c"], name="conv_wide"),
        helper.make_node("Conv", ["c", "wm", "bm"], ["m3"], name="conv_mult", pads=[1] * 4, strides=[2, 2], group=16),
        helper.make_node("Conv", ["c", "ws1", "bs1"], ["m1"], name="conv_mult_1x1", strides=[2, 2], group=16),
        helper.make_node("Relu", ["m1"], ["r1"], name="relu_1x1"),  # keeps the branches apart (no merging)
        helper.make_node("Add", ["m3", "r1"], ["y"], name="add_branches")],
        [f32(w0, "w0"), f32(b0, "b0"), f32(wm, "wm"), f32(bm, "bm"), f32(ws1, "ws1"), f32(bs1, "bs1")],
        ["N", 32, 4, 4],
        conv2d(c16m, as32(wm), as32(bm), 1, 2, 16) + np.maximum(conv2d(c16m, as32(ws1), as32(bs1), 0, 2, 16), 0))
    # a conv summing a residual that a binary op wrote (plain layout):
    # conv_kxk(x) + conv_scale(x) * 0.5 (MobileOne's branches with an add of
    # 0 instead, which now merge into one conv)
    wk, bk, ws, bs = (rng.standard_normal((8, 3, 3, 3)), rng.standard_normal(8), rng.standard_normal((8, 3, 1, 1)),
                      rng.standard_normal(8))
    yield ("conv_sum_plain", [
        helper.make_node("Conv", ["x", "ws", "bs"], ["s"], name="conv_scale"),
        helper.make_node("Mul", ["s", "half"], ["s0"], name="scale_half"),
        helper.make_node("Conv", ["x", "wk", "bk"], ["k"], name="conv_kxk", pads=[1] * 4),
        helper.make_node("Add", ["k", "s0"], ["y"], name="add_branches")],
        [f32(ws, "ws"), f32(bs, "bs"), f32(0.5, "half"), f32(wk, "wk"), f32(bk, "bk")], ["N", 8, 8, 8],
        conv2d(x, as32(wk), as32(bk), 1, 1, 1) + 0.5 * conv2d(x, as32(ws), as32(bs), 0, 1, 1))

    # a BatchNorm read only by a conv (after a concat: timm's InceptionNeXt)
    # folds into the conv when the conv pads nothing (grouped here, 3x3);
    # with padding it stays on its own
    wc, bc = rng.standard_normal((8, 3, 1, 1)), rng.standard_normal(8)
    gam, bet, mu, var = rng.uniform(0.5, 1.5, 8), rng.uniform(-0.5, 0.5, 8), rng.uniform(-1, 1, 8), rng.uniform(0.5, 2, 8)
    wg, bg = rng.standard_normal((4, 4, 3, 3)), rng.standard_normal(4)
    c = np.concatenate([conv2d(x, as32(wc[:5]), as32(bc[:5]), 0, 1, 1), x], axis=1)
    sh = (1, -1, 1, 1)
    bn = (c - as32(mu).reshape(sh)) / np.sqrt(as32(var).reshape(sh) + 1e-5) * as32(gam).reshape(sh) + as32(bet).reshape(sh)
    for name, pad in (("bn_then_conv", 0), ("bn_then_padded_conv", 1)):
        yield (name, [  # x in the concat keeps the BN from moving into the conv before it
            helper.make_node("Conv", ["x", "wc0", "bc0"], ["c0"], name="conv_a"),
            helper.make_node("Concat", ["c0", "x"], ["c"], name="concat", axis=1),
            helper.make_node("BatchNormalization", ["c", "gam", "bet", "mu", "var"], ["n"], name="bn", epsilon=1e-5),
            helper.make_node("Conv", ["n", "wg", "bg"], ["y"], name="conv_grouped", group=2, pads=[pad] * 4)],
            [f32(wc[:5], "wc0"), f32(bc[:5], "bc0"), f32(gam, "gam"), f32(bet, "bet"), f32(mu, "mu"), f32(var, "var"),
             f32(wg, "wg"), f32(bg, "bg")], ["N", 4, 6 + 2 * pad, 6 + 2 * pad], conv2d(bn, as32(wg), as32(bg), pad, 1, 2))
    # network ops on constants (onnx_fold_nn.c): a position encoding
    # projected by a 1x1 Conv from a constant grid (XCiT), weight
    # standardisation as a training-mode BatchNormalization on the weights
    # (NFNet, BiT), running sums of a constant (EdgeNeXt's CumSum)
    grid, wp, bp = rng.uniform(-1, 1, (1, 4, 8, 8)), rng.standard_normal((3, 4, 1, 1)), rng.standard_normal(3)
    yield ("conv_on_constants", [
        helper.make_node("Conv", ["grid", "wp", "bp"], ["pos"], name="token_projection"),
        helper.make_node("Add", ["x", "pos"], ["y"], name="add_pos")],
        [f32(grid, "grid"), f32(wp, "wp"), f32(bp, "bp")], ["N", 3, 8, 8],
        x + conv2d(as32(grid), as32(wp), as32(bp), 0, 1, 1))
    w0s, gain = rng.standard_normal((4, 3, 3, 3)) + 0.5, rng.uniform(0.5, 1.5, 4)
    flat = as32(w0s).reshape(1, 4, 27)
    std = ((flat - flat.mean(axis=(0, 2), keepdims=True)) / np.sqrt(flat.var(axis=(0, 2), keepdims=True) + 1e-5)
           * as32(gain).reshape(1, 4, 1)).reshape(4, 3, 3, 3)
    yield ("weight_standardisation", [
        helper.make_node("Reshape", ["w0s", "ws_flat"], ["wf"], name="ws_flatten"),
        helper.make_node("BatchNormalization", ["wf", "gain", "zero4", "zero4", "one4"], ["wn", "rm", "rv"],
                         name="ws_bn", epsilon=1e-5, momentum=1.0, training_mode=1),
        helper.make_node("Reshape", ["wn", "ws_back"], ["w"], name="ws_unflatten"),
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv_ws", pads=[1] * 4)],
        [f32(w0s, "w0s"), i64([1, 4, -1], "ws_flat"), i64([4, 3, 3, 3], "ws_back"), f32(gain, "gain"),
         f32(np.zeros(4), "zero4"), f32(np.ones(4), "one4")], ["N", 4, 8, 8], conv2d(x, std, np.zeros(4), 1, 1, 1))
    # weight standardisation of a weight over onnx_eval.h's 4M-element
    # result limit (dm_nfnet_f0's last conv: 4.7M): folded all the same
    wl = rng.standard_normal((192, 22000)).astype(np.float32)
    wl_std = wl.astype(np.float64) - wl.astype(np.float64).mean(axis=0, keepdims=True)
    yield ("standardise_large_weight", [
        helper.make_node("Reshape", ["x", "flat192"], ["xf"], name="flatten"),
        helper.make_node("ReduceMean", ["wl"], ["wl_mean"], name="wl_mean", axes=[0], keepdims=1),
        helper.make_node("Sub", ["wl", "wl_mean"], ["wl_std"], name="wl_centre"),
        helper.make_node("MatMul", ["xf", "wl_std"], ["y"], name="project")],
        [f32(wl, "wl"), i64([-1, 192], "flat192")], ["N", 22000], x.reshape(x.shape[0], 192) @ wl_std)
    # Einsum (onnx_einsum.c, onnx_lower_einsum.c): MViTv2's relative
    # positions against a constant (a batch of products, the output
    # transposed), two activations (attention-like), the implicit output
    # (its batch axis last, then moved first), a transpose, constants only
    rk = rng.standard_normal((8, 5, 8))
    yield ("einsum_const", [helper.make_node("Einsum", ["x", "rk"], ["y"], name="rel_pos", equation="nchw,hkw->nchk")],
           [f32(rk, "rk")], ["N", 3, 8, 5], np.einsum("nchw,hkw->nchk", x, as32(rk)))
    yield ("einsum_two_activations", [
        helper.make_node("Einsum", ["x", "x"], ["y"], name="scores", equation="nchw,nchv->nhwv")],
        [], ["N", 8, 8, 8], np.einsum("nchw,nchv->nhwv", x, x))
    wk = rng.standard_normal((8, 6))
    yield ("einsum_implicit", [
        helper.make_node("Einsum", ["x", "wk"], ["t"], name="implicit", equation="nchw,wk"),
        helper.make_node("Transpose", ["t"], ["y"], name="batch_first", perm=[3, 0, 1, 2])],
        [f32(wk, "wk")], ["N", 3, 8, 6], np.einsum("nchw,wk->nchk", x, as32(wk)))
    yield ("einsum_transpose", [helper.make_node("Einsum", ["x"], ["y"], name="to_nhwc", equation="nchw->nhwc")],
           [], ["N", 8, 8, 3], x.transpose(0, 2, 3, 1))
    ep, eq = rng.standard_normal((8, 4)), rng.standard_normal((4, 8))
    yield ("einsum_constants", [
        helper.make_node("Einsum", ["ep", "eq"], ["pq"], name="folded", equation="ij , jk -> ik"),
        helper.make_node("Add", ["x", "pq"], ["y"], name="add_pq")],
        [f32(ep, "ep"), f32(eq, "eq")], ["N", 3, 8, 8], x + as32(ep) @ as32(eq))
    # Gather with constant indices: evenly spaced (a strided slice), a 2-D
    # block of consecutive ones (a slice and a reshape: TNT's nn.Unfold)
    yield ("gather_strided", [helper.make_node("Gather", ["x", "odd"], ["y"], name="every_other", axis=3)],
           [i64([1, 3, 5, 7], "odd")], ["N", 3, 8, 4], x[:, :, :, 1::2])
    blk = np.arange(1, 7).reshape(3, 2)
    yield ("gather_block", [helper.make_node("Gather", ["x", "blk"], ["y"], name="unfold_rows", axis=2)],
           [i64(blk, "blk")], ["N", 3, 3, 2, 8], x[:, :, blk])
    yield ("gather_block_by_columns", [helper.make_node("Gather", ["x", "cols"], ["y"], name="unfold_cols", axis=3)],
           [i64(blk.T.copy(), "cols")], ["N", 3, 8, 2, 3], x[:, :, :, blk.T])
    # any other constant indices: runs of evenly spaced ones, each a slice,
    # joined by a concat (torch's x[:, [2, 1, 0]], a repeat, backwards runs)
    perm = [2, 1, 0, 0, 2]
    yield ("gather_runs", [helper.make_node("Gather", ["x", "perm"], ["y"], name="channels_picked", axis=1)],
           [i64(perm, "perm")], ["N", 5, 8, 8], x[:, perm])
    # more runs than one concat joins (64): a concat of concats; 300
    # random picks of the 8 rows make about 260 runs
    many = np.random.default_rng(11).integers(0, 8, 300)
    yield ("gather_many_runs", [helper.make_node("Gather", ["x", "many"], ["y"], name="rows_picked", axis=2)],
           [i64(many, "many")], ["N", 3, 300, 8], x[:, :, many])
    picks = np.array([[7, 0], [3, 3], [1, 5]])
    yield ("gather_runs_2d", [helper.make_node("Gather", ["x", "picks"], ["y"], name="columns_picked", axis=3)],
           [i64(picks, "picks")], ["N", 3, 8, 3, 2], x[:, :, :, picks])
    # Slice backwards (torch.flip exports steps of -1): rows reversed, every
    # third column from the last down
    yield ("slice_backwards", [helper.make_node("Slice", ["x", "sb", "eb", "ab", "stb"], ["y"], name="flip_rows")],
           [i64([-1, 7], "sb"), i64([-(2**63 - 1), 0], "eb"), i64([2, 3], "ab"), i64([-1, -3], "stb")],
           ["N", 3, 8, 3], x[:, :, ::-1, 7:0:-3])
    # steps far longer than the axis, picking one element each (the fuzzer's
    # find: a step of -2^59 + 1 times the axis's stride overflowed)
    yield ("slice_huge_steps", [helper.make_node("Slice", ["x", "sh", "eh", "ah", "sth"], ["y"], name="one_each")],
           [i64([2, 1], "sh"), i64([-(2**63 - 1), 2**63 - 1], "eh"), i64([1, 3], "ah"),
            i64([-(2**59 - 1), 2**62], "sth")], ["N", 1, 8, 1], x[:, 2::-(2**59 - 1), :, 1::2**62])
    ks = rng.uniform(0, 1, (1, 3, 8, 8))
    rev_excl = np.flip(np.cumsum(np.flip(as32(ks), axis=2), axis=2), axis=2) - as32(ks)
    yield ("cumsum_constant", [
        helper.make_node("CumSum", ["ks", "ax2"], ["cs"], name="cumsum", exclusive=1, reverse=1),
        helper.make_node("Mul", ["x", "cs"], ["y"], name="mul")],
        [f32(ks, "ks"), i64(2, "ax2")], ["N", 3, 8, 8], x * rev_excl)
    # LeViT's BatchNorm1d on the tokens flattened with the batch: [N*24, 8]
    g8, b8, m8, v8 = rng.uniform(0.5, 1.5, 8), rng.uniform(-1, 1, 8), rng.uniform(-1, 1, 8), rng.uniform(0.5, 2, 8)
    yield ("bn_flat_tokens", [
        helper.make_node("Reshape", ["x", "tok"], ["t"], name="flatten_tokens"),
        helper.make_node("BatchNormalization", ["t", "g8", "b8", "m8", "v8"], ["tn"], name="bn_tokens", epsilon=1e-5),
        helper.make_node("Reshape", ["tn", "back_t"], ["y"], name="unflatten_tokens")],
        [i64([-1, 8], "tok"), i64([-1, 3, 8, 8], "back_t"), f32(g8, "g8"), f32(b8, "b8"), f32(m8, "m8"),
         f32(v8, "v8")], ["N", 3, 8, 8],
        (x - as32(m8)) / np.sqrt(as32(v8) + 1e-5) * as32(g8) + as32(b8))
    # nearest resizes by factors that are not whole numbers (GhostNetV2's
    # F.interpolate(size=...)): pixel floor(i * in / out); sizes from the
    # input's shape, and scales whose products are whole
    near = lambda a, oh, ow: a[:, :, (np.arange(oh) * 8) // oh][:, :, :, (np.arange(ow) * 8) // ow]
    nearest = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    yield ("resize_nearest_sizes", [
        helper.make_node("Shape", ["x"], ["xs"], name="shape", end=2),
        helper.make_node("Concat", ["xs", "hw"], ["sz"], name="sizes", axis=0),
        helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="resize_12x5", **nearest)],
        [i64([12, 5], "hw")], ["N", 3, 12, 5], near(x, 12, 5))
    yield ("resize_nearest_scales", [helper.make_node("Resize", ["x", "", "sc"], ["y"], name="resize_1.5x0.75", **nearest)],
           [f32([1, 1, 1.5, 0.75], "sc")], ["N", 3, 12, 6], near(x, 12, 6))
    # a constant the size of the batch, alike in every item (EdgeNeXt's
    # position encoding from a mask of [N, H, W] zeros): computed at import,
    # one item expanded to the batch
    rows = np.cumsum(np.ones((8, 8)), axis=0)
    yield ("batch_sized_constant", [
        helper.make_node("Shape", ["x"], ["xn"], name="batch_of", end=1),
        helper.make_node("Concat", ["xn", "chw"], ["mshape"], name="mask_shape", axis=0),
        helper.make_node("ConstantOfShape", ["mshape"], ["ones"], name="mask_ones",
                         value=numpy_helper.from_array(np.ones(1, np.float32))),
        helper.make_node("CumSum", ["ones", "ax2c"], ["rows"], name="row_index"),
        helper.make_node("Mul", ["rows", "quarter"], ["pos"], name="scale_rows"),
        helper.make_node("Add", ["x", "pos"], ["y"], name="add_position")],
        [i64([3, 8, 8], "chw"), i64(2, "ax2c"), f32(0.25, "quarter")], ["N", 3, 8, 8], x + 0.25 * rows)
    # softmax over an axis that is not the last (CoaT's keys over the
    # tokens): over the channels, and over 2 rows of 96 columns (a block
    # of 64 and one of 32)
    def softmax(a, axis):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    yield ("softmax_channels", [helper.make_node("Softmax", ["x"], ["y"], name="softmax_c", axis=1)], [],
           ["N", 3, 8, 8], softmax(x, 1))
    yield ("softmax_middle_axis", [
        helper.make_node("Reshape", ["x", "rows2"], ["r"], name="two_rows"),
        helper.make_node("Softmax", ["r"], ["sm"], name="softmax_rows", axis=1),
        helper.make_node("Reshape", ["sm", "back_sm"], ["y"], name="back")],
        [i64([-1, 2, 96], "rows2"), i64([-1, 3, 8, 8], "back_sm")], ["N", 3, 8, 8],
        softmax(x.reshape(2, 2, 96), 1).reshape(x.shape))
    # RepGhost's identity branch: conv(x) + BN(x), the BN folded into the
    # conv's centre taps; depthwise (with its own BN and a ReLU after) and
    # dense
    def bn_np(a, g_, b_, m_, v_):
        sh4 = (1, -1, 1, 1)
        return (a - as32(m_).reshape(sh4)) / np.sqrt(as32(v_).reshape(sh4) + 1e-5) * as32(g_).reshape(sh4) \
            + as32(b_).reshape(sh4)
    stats3 = lambda: (rng.uniform(0.5, 1.5, 3), rng.uniform(-0.5, 0.5, 3), rng.uniform(-1, 1, 3), rng.uniform(0.5, 2, 3))
    wdw, wfull = rng.standard_normal((3, 1, 3, 3)), rng.standard_normal((3, 3, 3, 3))
    sa, sb, sc = stats3(), stats3(), stats3()
    bn_inits = lambda tag, st: [f32(v, f"{tag}_{k}") for k, v in zip("gbmv", st)]
    bn_node = lambda tag, src, dst: helper.make_node("BatchNormalization", [src] + [f"{tag}_{k}" for k in "gbmv"], [dst],
                                                     name=tag, epsilon=1e-5)
    yield ("conv_plus_identity_bn", [
        helper.make_node("Conv", ["x", "wdw"], ["c"], name="cheap_dw", group=3, pads=[1] * 4),
        bn_node("bn_dw", "c", "cb"), bn_node("fusion_bn", "x", "bx"),
        helper.make_node("Add", ["cb", "bx"], ["s"], name="add_identity"),
        helper.make_node("Relu", ["s"], ["y"], name="relu")],
        [f32(wdw, "wdw")] + bn_inits("bn_dw", sa) + bn_inits("fusion_bn", sb), ["N", 3, 8, 8],
        np.maximum(bn_np(conv2d(x, as32(wdw), np.zeros(3), 1, 1, 3), *sa) + bn_np(x, *sb), 0))
    yield ("conv_dense_plus_identity_bn", [
        helper.make_node("Conv", ["x", "wfull"], ["c"], name="dense", pads=[1] * 4), bn_node("id_bn", "x", "bx"),
        helper.make_node("Add", ["bx", "c"], ["y"], name="add_identity")],
        [f32(wfull, "wfull")] + bn_inits("id_bn", sc), ["N", 3, 8, 8],
        conv2d(x, as32(wfull), np.zeros(3), 1, 1, 1) + bn_np(x, *sc))
    # MobileOne's and RepVGG's branches before reparameterisation, one conv
    # when merged: out = x_conv1x1 + 0 (a neutral add), then + a 3x3 conv,
    # + a BN of x (identity), ReLU; and at stride 2 a 3x3 and a 1x1 conv
    # (no identity then)
    w3, w1, w3s, w1s = (rng.standard_normal(sh) for sh in ((3, 3, 3, 3), (3, 3, 1, 1), (4, 3, 3, 3), (4, 3, 1, 1)))
    s3, s1, sid = stats3(), stats3(), stats3()
    yield ("branches_merged", [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv_scale"), bn_node("bn_scale", "c1", "b1"),
        helper.make_node("Add", ["b1", "zero_f"], ["o0"], name="add_zero"),
        helper.make_node("Conv", ["x", "w3"], ["c3"], name="conv_kxk", pads=[1] * 4), bn_node("bn_kxk", "c3", "b3"),
        helper.make_node("Add", ["o0", "b3"], ["o1"], name="add_kxk"), bn_node("identity", "x", "bid"),
        helper.make_node("Add", ["o1", "bid"], ["o2"], name="add_identity"),
        helper.make_node("Relu", ["o2"], ["y"], name="relu")],
        [f32(w1, "w1"), f32(w3, "w3"), f32(0.0, "zero_f")] + bn_inits("bn_scale", s1) + bn_inits("bn_kxk", s3) +
        bn_inits("identity", sid), ["N", 3, 8, 8],
        np.maximum(bn_np(conv2d(x, as32(w1), np.zeros(3), 0, 1, 1), *s1) + bn_np(conv2d(x, as32(w3), np.zeros(3), 1, 1, 1), *s3)
                   + bn_np(x, *sid), 0))
    yield ("branches_merged_stride2", [
        helper.make_node("Conv", ["x", "w3s", "b3s"], ["c3"], name="conv_kxk_s2", pads=[1] * 4, strides=[2, 2]),
        helper.make_node("Conv", ["x", "w1s"], ["c1"], name="conv_scale_s2", strides=[2, 2]),
        helper.make_node("Add", ["c3", "c1"], ["y"], name="add_branches")],
        [f32(w3s, "w3s"), f32(bc[:4], "b3s"), f32(w1s, "w1s")], ["N", 4, 4, 4],
        conv2d(x, as32(w3s), as32(bc[:4]), 1, 2, 1) + conv2d(x, as32(w1s), np.zeros(4), 0, 2, 1))
    # NF-ResNet's constant scales around convs: relu(x) * beta read by two
    # convs (one padded: zero padding commutes with the scale), the second
    # conv's result * alpha per channel, + the first's, ReLU: the scales go
    # into the convs, which then merge
    wpa, wpb, alpha = rng.standard_normal((3, 3, 3, 3)), rng.standard_normal((3, 3, 1, 1)), rng.uniform(0.2, 2, 3)
    beta = rng.uniform(0.5, 1.5, (1, 3, 1, 1))  # NF-ResNet's is one value; per channel here
    xs = np.maximum(x, 0) * as32(beta)
    yield ("conv_scales", [
        helper.make_node("Relu", ["x"], ["r"], name="act1"),
        helper.make_node("Mul", ["r", "beta"], ["rs"], name="times_beta"),
        helper.make_node("Conv", ["rs", "wpa"], ["ca"], name="conv_a", pads=[1] * 4),
        helper.make_node("Conv", ["rs", "wpb"], ["cb"], name="conv_b"),
        helper.make_node("Mul", ["alpha", "cb"], ["cbs"], name="times_alpha"),
        helper.make_node("Add", ["cbs", "ca"], ["s"], name="add_shortcut"),
        helper.make_node("Relu", ["s"], ["y"], name="act2")],
        [f32(beta, "beta"), f32(wpa, "wpa"), f32(wpb, "wpb"), f32(alpha.reshape(1, 3, 1, 1), "alpha")], ["N", 3, 8, 8],
        np.maximum(conv2d(xs, as32(wpb), np.zeros(3), 0, 1, 1) * as32(alpha).reshape(1, 3, 1, 1)
                   + conv2d(xs, as32(wpa), np.zeros(3), 1, 1, 1), 0))
    # conv(relu(conv(x))) * alpha + relu(x), ReLU: the scaled conv sums the
    # residual in place
    t = np.maximum(conv2d(x, as32(wpb), np.zeros(3), 0, 1, 1), 0)
    yield ("conv_post_scale_sum", [
        helper.make_node("Relu", ["x"], ["r"], name="act_in"),
        helper.make_node("Conv", ["x", "wpb"], ["c1"], name="conv_1x1"),
        helper.make_node("Relu", ["c1"], ["t"], name="act_mid"),
        helper.make_node("Conv", ["t", "wpa"], ["c2"], name="conv_3x3", pads=[1] * 4),
        helper.make_node("Mul", ["c2", "alpha"], ["c2s"], name="times_alpha"),
        helper.make_node("Add", ["c2s", "r"], ["s"], name="add_residual"),
        helper.make_node("Relu", ["s"], ["y"], name="act_out")],
        [f32(wpa, "wpa"), f32(wpb, "wpb"), f32(alpha.reshape(3, 1, 1), "alpha")], ["N", 3, 8, 8],
        np.maximum(conv2d(t, as32(wpa), np.zeros(3), 1, 1, 1) * as32(alpha).reshape(1, 3, 1, 1) + np.maximum(x, 0), 0))
    # a Slice that keeps everything (GhostNet's cat(x1, x2)[:, :oup] when
    # the two give oup channels): no step
    yield ("slice_whole", [
        helper.make_node("Concat", ["x", "x"], ["cat"], name="concat", axis=1),
        helper.make_node("Slice", ["cat", "s0", "s6", "ax1"], ["y"], name="slice_all")],
        [i64([0], "s0"), i64([6], "s6"), i64([1], "ax1")], ["N", 6, 8, 8], np.concatenate([x, x], axis=1))
    # Tile of an activation along an axis of one element (as an Expand)
    yield ("tile_channel_mean", [
        helper.make_node("ReduceMean", ["x"], ["m"], name="channel_mean", axes=[1], keepdims=1),
        helper.make_node("Tile", ["m", "reps3"], ["t"], name="tile_channels"),
        helper.make_node("Mul", ["x", "t"], ["y"], name="times_mean")],
        [i64([1, 3, 1, 1], "reps3")], ["N", 3, 8, 8], x * x.mean(axis=1, keepdims=True))
    # an MLP on constant coordinates (Swin V2's position bias): Gemm with
    # both transposes, alpha, beta and a broadcast C, ReLU, then a MatMul
    # whose leading axes broadcast on both sides
    P, W1, C1 = rng.uniform(-1, 1, (5, 6)), rng.uniform(-1, 1, (8, 5)), rng.uniform(-1, 1, 8)
    M1, R2 = rng.uniform(-1, 1, (1, 8, 6)), rng.uniform(-1, 1, (3, 6, 8))
    hid = np.maximum(0.5 * as32(P).T @ as32(W1).T + 2.0 * as32(C1), 0)
    yield ("mlp_on_constants", [
        helper.make_node("Gemm", ["P", "W1", "C1"], ["g"], name="gemm_const", transA=1, transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["g"], ["h"], name="relu_const"),
        helper.make_node("Add", ["h", "R2"], ["h3"], name="add_const"),
        helper.make_node("MatMul", ["M1", "h3"], ["bias"], name="matmul_const"),
        helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")],
        [f32(P, "P"), f32(W1, "W1"), f32(C1, "C1"), f32(M1, "M1"), f32(R2, "R2")], ["N", 3, 8, 8],
        x + as32(M1) @ (hid + as32(R2)))
    # Pad in modes reflect (TResNet's blur pool: then a conv the pad must
    # not fold into as zeros) and edge (here on the channels too)
    pr = ((0, 0), (0, 0), (2, 1), (1, 2))
    wr = rng.standard_normal((4, 3, 3, 3))
    yield ("pad_reflect_conv", [
        helper.make_node("Pad", ["x", "pads_r"], ["p"], name="pad_reflect", mode="reflect"),
        helper.make_node("Conv", ["p", "wr"], ["y"], name="conv_after_pad")],
        [i64([a for a, _ in pr] + [b for _, b in pr], "pads_r"), f32(wr, "wr")], ["N", 4, 9, 9],
        conv2d(np.pad(x, pr, mode="reflect"), as32(wr), np.zeros(4), 0, 1, 1))
    pe = ((0, 0), (2, 0), (3, 2), (0, 4))
    yield ("pad_edge", [helper.make_node("Pad", ["x", "pads_e"], ["y"], name="pad_edge", mode="edge")],
           [i64([a for a, _ in pe] + [b for _, b in pe], "pads_e")], ["N", 5, 13, 12], np.pad(x, pe, mode="edge"))
    # MixNet's mixed conv: channels split, a conv per part (3x3 and 5x5
    # depthwise), concat, BN, ReLU; the BN and the ReLU go into the convs
    wa, wb = rng.standard_normal((8, 1, 3, 3)), rng.standard_normal((8, 1, 5, 5))
    gam2, bet2 = rng.uniform(0.5, 1.5, 16), rng.uniform(-0.5, 0.5, 16)
    mu2, var2 = rng.uniform(-1, 1, 16), rng.uniform(0.5, 2, 16)
    c16 = conv2d(x, as32(np.concatenate([wc, wc])), as32(np.concatenate([bc, bc])), 0, 1, 1)
    mixed = np.concatenate([conv2d(c16[:, :8], as32(wa), np.zeros(8), 1, 1, 8),
                            conv2d(c16[:, 8:], as32(wb), np.zeros(8), 2, 1, 8)], axis=1)
    bn2 = (mixed - as32(mu2).reshape(sh)) / np.sqrt(as32(var2).reshape(sh) + 1e-5) * as32(gam2).reshape(sh) \
        + as32(bet2).reshape(sh)
    yield ("mixed_conv_bn_relu", [
        helper.make_node("Conv", ["x", "w16", "b16"], ["c"], name="conv_wide"),
        helper.make_node("Split", ["c", "halves"], ["h0", "h1"], name="split", axis=1),
        helper.make_node("Conv", ["h0", "wa"], ["m0"], name="dw3", group=8, pads=[1] * 4),
        helper.make_node("Conv", ["h1", "wb"], ["m1"], name="dw5", group=8, pads=[2] * 4),
        helper.make_node("Concat", ["m0", "m1"], ["m"], name="concat", axis=1),
        helper.make_node("BatchNormalization", ["m", "gam2", "bet2", "mu2", "var2"], ["n"], name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["n"], ["y"], name="relu")],
        [f32(np.concatenate([wc, wc]), "w16"), f32(np.concatenate([bc, bc]), "b16"), i64([8, 8], "halves"),
         f32(wa, "wa"), f32(wb, "wb"), f32(gam2, "gam2"), f32(bet2, "bet2"), f32(mu2, "mu2"), f32(var2, "var2")],
        ["N", 16, 8, 8], np.maximum(bn2, 0))
    # torch's GroupNorm after a conv, with per-group InstanceNormalization
    # scales, the per-channel Mul and Add, and a ReLU (timm's GroupNormAct):
    # one groupnorm step, in the conv's blocked layout when a group is whole
    # channel blocks (2 groups of 16) or a block whole groups (8 of 4), on
    # the plain tensor otherwise (16 groups of 3 channels; 3 groups of 8 in
    # 24 channels, which nChw16c pads to 32: efficientnet_b0_gn)
    for name, ch, groups in (("groupnorm_blocks", 32, 2), ("groupnorm_lanes", 32, 8), ("groupnorm_odd", 48, 16),
                             ("groupnorm_padded", 24, 3)):
        wg_, bg_ = rng.standard_normal((ch, 3, 3, 3)), rng.standard_normal(ch)
        gs, gb = rng.uniform(0.5, 1.5, groups), rng.uniform(-0.5, 0.5, groups)
        kk, tt = rng.uniform(0.5, 1.5, (ch, 1, 1)), rng.uniform(-0.5, 0.5, (ch, 1, 1))
        cv = conv2d(x, as32(wg_), as32(bg_), 1, 1, 1)
        gn = inorm(cv.reshape(2, groups, -1), as32(gs), as32(gb)).reshape(cv.shape) * as32(kk) + as32(tt)
        yield (name, [
            helper.make_node("Conv", ["x", "wg", "bg"], ["c"], name="conv", pads=[1] * 4),
            helper.make_node("Reshape", ["c", "to_g"], ["r"], name="to_groups"),
            helper.make_node("InstanceNormalization", ["r", "gs", "gb"], ["n"], name="inorm"),
            helper.make_node("Shape", ["c"], ["cs"], name="shape"),
            helper.make_node("Reshape", ["n", "cs"], ["m"], name="from_groups"),
            helper.make_node("Mul", ["m", "kk"], ["k"], name="scale"),
            helper.make_node("Add", ["k", "tt"], ["a"], name="shift"),
            helper.make_node("Relu", ["a"], ["y"], name="relu")],
            [f32(wg_, "wg"), f32(bg_, "bg"), i64([0, groups, -1], "to_g"), f32(gs, "gs"), f32(gb, "gb"),
             f32(kk, "kk"), f32(tt, "tt")], ["N", ch, 8, 8], np.maximum(gn, 0))
    # GroupNormalization as an op (opset 18: scale and bias per group; 21:
    # per channel), after a conv: 32 channels in 4 groups
    wq, bq = rng.standard_normal((32, 3, 3, 3)), rng.standard_normal(32)
    cq = conv2d(x, as32(wq), as32(bq), 1, 1, 1)
    for name, n in (("groupnorm_op18", 4), ("groupnorm_op21", 32)):
        gsc, gbi = rng.uniform(0.5, 1.5, n), rng.uniform(-0.5, 0.5, n)
        rep = 32 // n
        gn = inorm(cq.reshape(2, 4, -1), np.ones(4), np.zeros(4), eps=1e-3).reshape(cq.shape)
        yield (name, [helper.make_node("Conv", ["x", "wq", "bq"], ["c"], name="conv", pads=[1] * 4),
                      helper.make_node("GroupNormalization", ["c", "gsc", "gbi"], ["y"], name="gn", num_groups=4,
                                       epsilon=1e-3)],
               [f32(wq, "wq"), f32(bq, "bq"), f32(gsc, "gsc"), f32(gbi, "gbi")], ["N", 32, 8, 8],
               gn * np.repeat(as32(gsc), rep).reshape(1, -1, 1, 1) + np.repeat(as32(gbi), rep).reshape(1, -1, 1, 1))
    # a max pool of the plain input (oneDNN has only slow C++ code for a plain
    # max pool on AVX2: batchbench reorders to the blocked layout first)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    pooled = np.stack([xp[:, :, i:i + 7:2, j:j + 7:2] for i in range(3) for j in range(3)]).max(axis=0)
    yield ("maxpool_input", [helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[3, 3],
                                              strides=[2, 2], pads=[1] * 4)], [], ["N", 3, 4, 4], pooled)
    yield from lrn_cases(x, rng, f32, conv2d)
    yield from activation_cases(x, rng, f32, conv2d)


def write_op_cases(out, x):
    x64 = x.astype(np.float64)
    cases = [(17, c) for c in (*op_cases(out, x), *upsample_cases(x64), *resize_cases(x64),
                                *window3d_cases(x64, np.random.default_rng(3)), *controlflow_cases(x64),
                                *scatter_block_cases(x64), *large_index_cases(x64),
                                *pool1d_cases(x64), *einsum_merged_cases(x64, np.random.default_rng(4)),
                                *rnn_cases(x64, np.random.default_rng(6)))]
    for opset, (name, nodes, inits, yshape, ref) in cases + [(10, c) for c in resize10_cases(x64)]:
        m = small_graph(nodes=nodes, inits=inits, outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, yshape)])
        m.opset_import[0].version = opset
        save(m, f"{out}/op_{name}.onnx")
        # `infer --output` writes the declared output shape (N = 2, x2's batch)
        np.save(f"{out}/op_{name}.ref.npy", ref.reshape([2 if d == "N" else d for d in yshape]).astype(np.float32))


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
        helper.make_node("Shrink", ["c"], ["s"], name="shrink_1"),
        helper.make_node("Shrink", ["s"], ["s2"], name="shrink_2"),
        helper.make_node("LpNormalization", ["s2"], ["r"], name="lpnorm"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")])
    save(unsup, f"{out}/unsupported.onnx")
    # GroupNormalization with groups that do not divide the channels
    gn_inits = [numpy_helper.from_array(np.ones(4, dtype=np.float32), n) for n in ("gs", "gb")]
    save(small_graph(nodes=[
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("GroupNormalization", ["c", "gs", "gb"], ["r"], name="gn_bad", num_groups=3),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")],
        inits=small_graph().graph.initializer[:] + gn_inits), f"{out}/groupnorm_groups.onnx")
    refused_window3d(out, save, small_graph)
    refused_controlflow(out, save, small_graph)
    refused_rnn(out, save, small_graph)
    # a 4-D conv (3-D ones, torchvision's video models', run): refused, naming the node
    save(small_graph(
        nodes=[helper.make_node("Conv", ["x", "w4"], ["c"], name="conv4d", pads=[1] * 8),
               helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
               helper.make_node("Flatten", ["p"], ["y"], name="flatten")],
        inits=[numpy_helper.from_array(np.ones((4, 3, 3, 3, 3, 3), np.float32), "w4")],
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 2, 4, 8, 8])]), f"{out}/conv4d.onnx")
    # Einsum forms refused by name; a ScatterND writing part of an activation
    for name, node, extra in (
            ("einsum_one_sided_sum", helper.make_node("Einsum", ["c", "hk"], ["r"], name="one_sided",
                                                      equation="nchw,hk->nck"), [("hk", (8, 8))]),
            ("einsum_ellipsis", helper.make_node("Einsum", ["c", "hk"], ["r"], name="ellipsis",
                                                 equation="...hw,hk->...kw"), [("hk", (8, 8))]),
            ("scatter_part", helper.make_node("ScatterND", ["c", "first", "upd"], ["r"], name="scatter_first"),
             [("upd", (1, 4, 8, 8))]),
            ("gather_many_runs", helper.make_node("Gather", ["c", "zigzag"], ["r"], name="gather_zigzag", axis=2),
             [])):
        inits = small_graph().graph.initializer[:] + [numpy_helper.from_array(np.ones(s, np.float32), n)
                                                       for n, s in extra]
        inits.append(numpy_helper.from_array(np.zeros((1, 1), np.int64), "first"))
        inits.append(numpy_helper.from_array(np.array([0, 1] * 4097, np.int64), "zigzag"))  # 4097 runs
        save(small_graph(nodes=[
            helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]), node,
            helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
            helper.make_node("Flatten", ["p"], ["y"], name="flatten")], inits=inits), f"{out}/{name}.onnx")
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
    # Resize conventions batchbench does not run
    for name, model, _ in refused_resizes(small_graph):
        save(model, f"{out}/{name}.onnx")
    # a batch-sized constant whose items differ (0, 1, ... N-1 added to each
    # item): no one item stands for the others
    save(small_graph(nodes=[
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["x"], ["xn"], name="batch_of", start=0, end=1),
        helper.make_node("Squeeze", ["xn"], ["n"], name="batch_scalar"),
        helper.make_node("Range", ["zero", "n", "one"], ["idx"], name="item_range"),
        helper.make_node("Cast", ["idx"], ["fidx"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["fidx", "col"], ["item_index"], name="as_column"),
        helper.make_node("Add", ["c", "item_index"], ["r"], name="add_item_index"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")],
        inits=small_graph().graph.initializer[:] + [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in
                                                    (("zero", 0), ("one", 1), ("col", [-1, 1, 1, 1]))]),
        f"{out}/batch_index_constant.onnx")
    # the fuzzer's find (a timeout): a CumSum on constants along an empty
    # axis with 2^39 elements around it, [2, 524291, 0, 524288], which then
    # does not broadcast against x; nothing to compute, refused at once
    save(small_graph(nodes=[
        helper.make_node("Shape", ["x"], ["xn"], name="batch_of", end=1),
        helper.make_node("Concat", ["xn", "chw"], ["mshape"], name="mask_shape", axis=0),
        helper.make_node("ConstantOfShape", ["mshape"], ["ones"], name="mask_ones",
                         value=numpy_helper.from_array(np.ones(1, np.float32))),
        helper.make_node("CumSum", ["ones", "ax2c"], ["rows"], name="row_index"),
        helper.make_node("Add", ["x", "rows"], ["y"], name="add_position")],
        inits=[numpy_helper.from_array(np.array([524291, 0, 524288], np.int64), "chw"),
               numpy_helper.from_array(np.array(2, np.int64), "ax2c")],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])]),
        f"{out}/regress_cumsum_empty_axis.onnx")
    # a BatchNormalization in training mode (the batch's own statistics) on an
    # activation, and a CumSum of one: computed on constants only
    stats = [numpy_helper.from_array(np.ones(4, np.float32), k) for k in ("g", "z", "m", "v")]
    for name, node in (
            ("bn_training_activation", helper.make_node("BatchNormalization", ["c", "g", "z", "m", "v"], ["r"],
                                                        name="bn_train", training_mode=1)),
            ("cumsum_activation", helper.make_node("CumSum", ["c", "ax"], ["r"], name="cumsum_act")),
            # the batch tiled: each item would read the others (GCViT)
            ("tile_batch", helper.make_node("Tile", ["c", "reps_batch"], ["r"], name="tile_batch")),
            # a reflection longer than the 8-wide axis less one
            ("pad_reflect_too_far", helper.make_node("Pad", ["c", "far"], ["r"], name="pad_far", mode="reflect"))):
        save(small_graph(nodes=[
            helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]), node,
            helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
            helper.make_node("Flatten", ["p"], ["y"], name="flatten")],
            inits=small_graph().graph.initializer[:] + stats + [numpy_helper.from_array(np.array(1, np.int64), "ax"),
                                                                 numpy_helper.from_array(np.array([0, 0, 0, 8, 0, 0, 0, 0],
                                                                                                  np.int64), "far"),
                                                                 numpy_helper.from_array(np.array([2, 1, 1, 1], np.int64),
                                                                                         "reps_batch")]),
            f"{out}/{name}.onnx")
    # a constant of 5.2M elements, past the folder's limit on one result
    # (onnx_eval.h): said so, not "no single dim scales with the batch"
    save(small_graph(nodes=[
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("ConstantOfShape", ["big_shape"], ["big"], name="big_constant",
                         value=numpy_helper.from_array(np.ones(1, np.float32))),
        helper.make_node("ReduceMean", ["big"], ["k"], name="big_mean", axes=[2, 3], keepdims=1),
        helper.make_node("Mul", ["c", "k"], ["r"], name="scale"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")],
        inits=small_graph().graph.initializer[:] + [numpy_helper.from_array(np.array([1, 4, 2048, 640], np.int64),
                                                                             "big_shape")]),
        f"{out}/fold_past_limit.onnx")
    # a fixed batch of 1 (no dynamic axis): reshapes baked for batch 1
    fixed = small_graph(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                        nodes=[helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                               helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
                               helper.make_node("Reshape", ["p", "shape"], ["y"], name="reshape_fixed")],
                        inits=None)
    fixed.graph.initializer.append(numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "shape"))
    save(fixed, f"{out}/fixed_batch.onnx")
    # nothing computed: the output is the input, through an Identity
    save(small_graph(nodes=[helper.make_node("Identity", ["x"], ["y"], name="same")], inits=[],
                     outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])]),
         f"{out}/identity_only.onnx")
    # x.mean([2, 3]) as exporters write it (MNASNet, timm's SE blocks): the
    # same model as good.onnx, which the importer lowers to the same pool
    for keep, tail in ((0, []), (1, [helper.make_node("Flatten", ["p"], ["y"], name="flatten")])):
        mean = small_graph(nodes=[
            helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("ReduceMean", ["r"], ["p" if tail else "y"], name="mean_hw", axes=[2, 3],
                             keepdims=keep)] + tail)
        save(mean, f"{out}/mean_hw_keep{keep}.onnx")
    # the conv's weight computed from the initializer (as weight
    # standardisation is): still the model's 108 weights, counted as params
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    scaled = small_graph(nodes=[
        helper.make_node("Constant", [], ["k"], name="half", value=half),
        helper.make_node("Mul", ["w", "k"], ["ws"], name="scale_w"),
        helper.make_node("Conv", ["x", "ws", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["y"], name="flatten")])
    save(scaled, f"{out}/scaled_weight.onnx")
    save(index_chain(), f"{out}/index_chain.onnx")
    x2 = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.save(f"{out}/x2.npy", x2)
    write_op_cases(out, x2)
    # two outputs (a segmentation model's auxiliary head): the first is the
    # output, the second's branch (a 1x1 conv) is computed and timed too
    aux = small_graph(nodes=small_graph().graph.node[:] + [
        helper.make_node("Conv", ["r", "w_aux"], ["a"], name="aux_conv"),
        helper.make_node("GlobalAveragePool", ["a"], ["ap"], name="aux_gap"),
        helper.make_node("Flatten", ["ap"], ["y_aux"], name="aux_flatten")],
        inits=small_graph().graph.initializer[:] + [numpy_helper.from_array(np.ones((2, 4, 1, 1), np.float32), "w_aux")],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
                 helper.make_tensor_value_info("y_aux", TensorProto.FLOAT, ["N", 2])])
    save(aux, f"{out}/two_outputs.onnx")
    # good.onnx exported with a dynamic height and width (refused, naming
    # tools/onnx_input_shape.py, which fixes them)
    save(small_graph(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])]),
         f"{out}/dynamic_hw.onnx")
    for name, model in refused_upsampling(small_graph):
        save(model, f"{out}/{name}")
    np.save(f"{out}/x_wrong.npy", np.zeros((2, 3, 9, 8), dtype=np.float32))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad_models.py OUTDIR")
    main(sys.argv[1])

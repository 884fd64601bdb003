"""The upsampling ops of U-Nets, decoders and super-resolution models for
tests/onnx/make_bad_models.py: ConvTranspose (strides, pads, output_padding,
groups, stride 1, a DCGAN-like chain from a 1x1 map), DepthToSpace in DCR
and CRD order and SpaceToDepth, each with its float64 numpy answer; and the
ConvTranspose and DepthToSpace attributes batchbench refuses, each a file
that test_onnx_files.sh expects a message naming the node for.

batchbench runs ConvTranspose as one conv and an interleave
(src/onnx/onnx_lower_deconv.c): the cases cover a kernel that is a multiple
of the stride (no zero taps), one that is not (3x3 stride 2), unequal
strides, pads that crop more than the conv's zero padding gives, and
output_padding past the last tap.
"""
import numpy as np
from onnx import helper, numpy_helper


def as32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def deconv(a, w, b, strides, pads, opad=(0, 0), group=1):
    """ConvTranspose by its definition: every input pixel scatters its
    kernel-sized patch; pads [t, l, b, r] crop the result."""
    n, cin, h, wd = a.shape
    _, og, kh, kw = w.shape
    cg, (sh, sw) = cin // group, strides
    full = np.zeros((n, og * group, (h - 1) * sh + kh + opad[0], (wd - 1) * sw + kw + opad[1]))
    for g in range(group):
        for i in range(h):
            for j in range(wd):
                full[:, g * og:(g + 1) * og, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
                    "nc,cokl->nokl", a[:, g * cg:(g + 1) * cg, i, j], w[g * cg:(g + 1) * cg])
    oh, ow = full.shape[2] - pads[0] - pads[2], full.shape[3] - pads[1] - pads[3]
    return full[:, :, pads[0]:pads[0] + oh, pads[1]:pads[1] + ow] + b.reshape(1, -1, 1, 1)


def depth_to_space(a, b, crd):
    n, c, h, w = a.shape
    if crd:
        t = a.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        t = a.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return t.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(a, b):
    n, c, h, w = a.shape
    return a.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h // b, w // b)


def upsample_cases(x):
    """(name, nodes, initializers, output shape, reference) as op_cases
    yields them; x is x2.npy ([2,3,8,8]) in float64."""
    rng = np.random.default_rng(3)
    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
    # (name, weight [3, M/group, kh, kw], strides, pads [t, l, b, r], output_padding, group)
    for name, wshape, st, pads, opad, group in (
            ("k2s2", (3, 4, 2, 2), (2, 2), (0, 0, 0, 0), (0, 0), 1),        # U-Net's up-convolution
            ("k2s2_op1", (3, 4, 2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1),    # an odd size: a position past the taps
            ("k4s2p1", (3, 5, 4, 4), (2, 2), (1, 1, 1, 1), (0, 0), 1),      # DCGAN's
            ("k3s2p1_op1", (3, 4, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1),  # zero taps, output_padding
            ("group_asym", (3, 2, 3, 3), (2, 3), (0, 1, 2, 0), (1, 0), 3),  # depthwise-like, uneven
            ("s1", (3, 4, 3, 3), (1, 1), (1, 1, 1, 1), (0, 0), 1),          # the pads turned around
            ("s1_crop", (3, 4, 3, 3), (1, 1), (0, 0, 3, 1), (0, 0), 1)):     # pads past the taps
        w, b = rng.standard_normal(wshape), rng.standard_normal(wshape[1] * group)
        y = deconv(x, as32(w), as32(b), st, pads, opad, group)
        yield ("convtranspose_" + name, [
            helper.make_node("ConvTranspose", ["x", "wt", "bt"], ["y"], name="deconv", strides=list(st),
                             pads=list(pads), output_padding=list(opad), group=group)],
            [f32(w, "wt"), f32(b, "bt")], ["N", wshape[1] * group, y.shape[2], y.shape[3]], y)
    # a generator's start: a 1x1 map grown 4x4 (stride 1, no bias), then 8x8
    w1, w2, b2 = rng.standard_normal((3, 8, 4, 4)), rng.standard_normal((8, 2, 4, 4)), rng.standard_normal(2)
    h1 = deconv(x.mean(axis=(2, 3), keepdims=True), as32(w1), np.zeros(8), (1, 1), (0, 0, 0, 0))
    yield ("convtranspose_from_1x1", [
        helper.make_node("GlobalAveragePool", ["x"], ["p"], name="gap"),
        helper.make_node("ConvTranspose", ["p", "w1"], ["h"], name="grow4"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("ConvTranspose", ["r", "w2", "b2"], ["y"], name="grow8", strides=[2, 2], pads=[1] * 4)],
        [f32(w1, "w1"), f32(w2, "w2"), f32(b2, "b2")], ["N", 2, 8, 8],
        deconv(np.maximum(h1, 0), as32(w2), as32(b2), (2, 2), (1, 1, 1, 1)))
    # a generator's block: ConvTranspose without bias, BatchNorm (folded into
    # the sub-pixel conv's weights), ReLU
    wb = rng.standard_normal((3, 6, 4, 4))
    gam, bet, mu, var = rng.uniform(0.5, 1.5, 6), rng.uniform(-0.5, 0.5, 6), rng.uniform(-1, 1, 6), rng.uniform(0.5, 2, 6)
    dc = deconv(x, as32(wb), np.zeros(6), (2, 2), (1, 1, 1, 1))
    sh = (1, -1, 1, 1)
    bn = (dc - as32(mu).reshape(sh)) / np.sqrt(as32(var).reshape(sh) + 1e-5) * as32(gam).reshape(sh) + as32(bet).reshape(sh)
    yield ("convtranspose_bn_relu", [
        helper.make_node("ConvTranspose", ["x", "wb"], ["d"], name="deconv", strides=[2, 2], pads=[1] * 4),
        helper.make_node("BatchNormalization", ["d", "gam", "bet", "mu", "var"], ["n"], name="bn"),
        helper.make_node("Relu", ["n"], ["y"], name="relu")],
        [f32(wb, "wb"), f32(gam, "gam"), f32(bet, "bet"), f32(mu, "mu"), f32(var, "var")], ["N", 6, 16, 16],
        np.maximum(bn, 0))
    # PixelShuffle(2) after a 1x1 conv to 12 channels, both orders; its inverse
    wc = rng.standard_normal((12, 3, 1, 1))
    c12 = np.einsum("nchw,oc->nohw", x, as32(wc[:, :, 0, 0]))
    for mode in ("DCR", "CRD"):
        yield ("depthtospace_" + mode.lower(), [
            helper.make_node("Conv", ["x", "wc"], ["c"], name="to12"),
            helper.make_node("DepthToSpace", ["c"], ["y"], name="shuffle", blocksize=2, mode=mode)],
            [f32(wc, "wc")], ["N", 3, 16, 16], depth_to_space(c12, 2, mode == "CRD"))
    yield ("spacetodepth", [helper.make_node("SpaceToDepth", ["x"], ["y"], name="unshuffle", blocksize=2)],
           [], ["N", 12, 4, 4], space_to_depth(x, 2))
    # two in a row: the first's crop leaves a dense map, from which oneDNN's
    # next conv writes channels-last (AVX-512), so the CPU reads the second
    # interleave in tiles (cpu_generic_kernels.c, run_walk_tiled): a U-Net
    # up-convolution, and PixelShuffle in both orders after a 1x1 conv
    w1, b1 = rng.standard_normal((3, 16, 3, 3)), rng.standard_normal(16)
    up1 = deconv(x, as32(w1), as32(b1), (2, 2), (1, 1, 1, 1), (1, 1))
    first = helper.make_node("ConvTranspose", ["x", "w1", "b1"], ["u"], name="up1", strides=[2, 2], pads=[1] * 4,
                             output_padding=[1, 1])
    wu, bu = rng.standard_normal((16, 20, 2, 2)), rng.standard_normal(20)
    yield ("convtranspose_chain", [
        first, helper.make_node("ConvTranspose", ["u", "wu", "bu"], ["y"], name="up2", strides=[2, 2])],
        [f32(w1, "w1"), f32(b1, "b1"), f32(wu, "wu"), f32(bu, "bu")], ["N", 20, 32, 32],
        deconv(up1, as32(wu), as32(bu), (2, 2), (0, 0, 0, 0)))
    wc = rng.standard_normal((64, 16, 1, 1))
    c64 = np.einsum("nchw,oc->nohw", up1, as32(wc[:, :, 0, 0]))
    for mode in ("DCR", "CRD"):
        yield ("depthtospace_chain_" + mode.lower(), [
            first, helper.make_node("Conv", ["u", "wc"], ["c"], name="to64"),
            helper.make_node("DepthToSpace", ["c"], ["y"], name="shuffle", blocksize=2, mode=mode)],
            [f32(w1, "w1"), f32(b1, "b1"), f32(wc, "wc")], ["N", 16, 32, 32], depth_to_space(c64, 2, mode == "CRD"))

    # Upsample (opsets 7-9: torch's opset 9 export of nn.Upsample): nearest
    # by 2 and by 3 x 2, asymmetric coordinates, floor
    for name, sc in (("upsample_nearest", (2, 2)), ("upsample_nearest_3x2", (3, 2))):
        yield (name, [helper.make_node("Upsample", ["x", "up_sc"], ["y"], name="upsample", mode="nearest")],
               [f32([1, 1, *sc], "up_sc")], ["N", 3, 8 * sc[0], 8 * sc[1]],
               x.repeat(sc[0], axis=2).repeat(sc[1], axis=3))


def refused_upsampling(small_graph):
    """(file name, model) of ConvTranspose / DepthToSpace attributes that
    batchbench refuses; small_graph(nodes, inits, outputs) builds on x."""
    from onnx import TensorProto
    w = numpy_helper.from_array(np.ones((3, 4, 3, 3), np.float32), "wt")
    out = lambda *d: [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *d])]
    yield "convtranspose_dilated.onnx", small_graph(nodes=[
        helper.make_node("ConvTranspose", ["x", "wt"], ["y"], name="deconv_dilated", dilations=[2, 2])],
        inits=[w], outputs=out(4, 12, 12))
    yield "convtranspose_output_shape.onnx", small_graph(nodes=[
        helper.make_node("ConvTranspose", ["x", "wt"], ["y"], name="deconv_shaped", strides=[2, 2],
                         output_shape=[16, 16])], inits=[w], outputs=out(4, 16, 16))
    yield "depthtospace_channels.onnx", small_graph(nodes=[
        helper.make_node("DepthToSpace", ["x"], ["y"], name="shuffle_3ch", blocksize=2)], inits=[],
        outputs=out(1, 16, 16))

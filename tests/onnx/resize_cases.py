"""Resize conventions for tests/onnx/make_bad_models.py: the ones torch
exports beyond nn.Upsample and F.interpolate(align_corners=False) —
bilinear and bicubic with align_corners, Upsample's linear (asymmetric),
scales whose products are not whole, a nearest resize by a fraction in
half-pixel coordinates, exclude_outside, an output side of 1 — each with a
float64 numpy answer built from ONNX's definition (Resize-19), one output
pixel at a time; and the Resize attributes batchbench refuses, each a file
that test_onnx_files.sh expects a message naming the node for.

The reference here is written from the specification's text, not from
src/engine/resize.c: a coordinate per output pixel, then nearest's
rounding or the linear / Keys cubic weights of its neighbours, the
input's border repeated (or, with exclude_outside, outside taps dropped
and the rest renormalised).
"""
import math

import numpy as np
from onnx import helper, numpy_helper


def source_coordinate(o, n, m, scale, coord):
    """Input coordinate of output pixel o, side n resized to m."""
    if coord == "align_corners":
        return 0.0 if m == 1 else o * (n - 1) / (m - 1)
    if coord == "asymmetric":
        return o / scale
    if coord == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if m > 1 else 0.0
    if coord == "tf_half_pixel_for_nn":
        return (o + 0.5) / scale
    if coord == "half_pixel_symmetric":
        adjust = m / (scale * n)
        return n / 2 * (1 - adjust) + (o + 0.5) / scale - 0.5
    assert coord == "half_pixel", coord
    return (o + 0.5) / scale - 0.5


def keys(d, a):
    d = abs(d)
    if d <= 1:
        return ((a + 2) * d - (a + 3)) * d * d + 1
    if d < 2:
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return 0.0


def resize_matrix(n, m, scale, mode, coord, nearest_mode="round_prefer_floor", a=-0.75, exclude_outside=0):
    """[m, n]: output pixel o as a weighted sum of input pixels."""
    w = np.zeros((m, n))
    for o in range(m):
        s = source_coordinate(o, n, m, scale, coord)
        if mode == "nearest":
            lo, frac = math.floor(s), s - math.floor(s)
            up = {"round_prefer_floor": frac > 0.5, "round_prefer_ceil": frac >= 0.5,
                  "floor": False, "ceil": frac > 0}[nearest_mode]
            w[o, min(max(lo + up, 0), n - 1)] = 1.0
            continue
        lo = math.floor(s)
        taps = [(lo, 1 - (s - lo)), (lo + 1, s - lo)] if mode == "linear" else \
            [(lo + k, keys(s - (lo + k), a)) for k in (-1, 0, 1, 2)]
        if exclude_outside:
            taps = [(i, t) for i, t in taps if 0 <= i < n]
            total = sum(t for _, t in taps)
            taps = [(i, t / total) for i, t in taps]
        for i, t in taps:
            w[o, min(max(i, 0), n - 1)] += t
    return w


def resized(x, oh, ow, sh, sw, **kw):
    return np.einsum("oh,nchw,pw->ncop", resize_matrix(x.shape[2], oh, sh, **kw), x,
                     resize_matrix(x.shape[3], ow, sw, **kw))


def resize_cases(x):
    """(name, nodes, initializers, output shape, reference) as op_cases
    yields them; x is x2.npy ([2,3,8,8]) in float64."""
    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
    i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)
    by_sizes = [  # sizes as exporters build them: the input's N, C, then H, W
        helper.make_node("Shape", ["x"], ["xs"], name="shape", end=2),
        helper.make_node("Concat", ["xs", "hw"], ["sz"], name="sizes", axis=0)]
    # (name, attributes, H, W out, sizes given (else scales))
    for name, attrs, (oh, ow), sizes in (
            # torch's F.interpolate(mode="bilinear" / "bicubic", align_corners=True)
            ("linear_align_corners", dict(mode="linear", coordinate_transformation_mode="align_corners"), (11, 5), 1),
            ("cubic_align_corners", dict(mode="cubic", coordinate_transformation_mode="align_corners",
                                         cubic_coeff_a=-0.75), (13, 6), 1),
            # an output side of 1: torch's pytorch_half_pixel reads pixel 0
            ("linear_to_one_row", dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"), (1, 5), 1),
            # TensorFlow's and Keras's conventions; cubic without the outside taps
            ("cubic_exclude_outside", dict(mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1), (12, 4), 0),
            ("nearest_tf_ceil", dict(mode="nearest", coordinate_transformation_mode="tf_half_pixel_for_nn",
                                     nearest_mode="ceil"), (12, 20), 0),
            ("nearest_half_pixel_fraction", dict(mode="nearest", nearest_mode="round_prefer_ceil"), (12, 6), 0)):
        kw = dict(mode=attrs["mode"], coord=attrs.get("coordinate_transformation_mode", "half_pixel"),
                  nearest_mode=attrs.get("nearest_mode", "round_prefer_floor"), a=attrs.get("cubic_coeff_a", -0.75),
                  exclude_outside=attrs.get("exclude_outside", 0))
        if sizes:
            yield ("resize_" + name, by_sizes + [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name=name,
                                                                  **attrs)],
                   [i64([oh, ow], "hw")], ["N", 3, oh, ow], resized(x, oh, ow, oh / 8, ow / 8, **kw))
        else:
            yield ("resize_" + name, [helper.make_node("Resize", ["x", "", "sc"], ["y"], name=name, **attrs)],
                   [f32([1, 1, oh / 8, ow / 8], "sc")], ["N", 3, oh, ow], resized(x, oh, ow, oh / 8, ow / 8, **kw))
    # scales whose products are not whole: 8 x 0.6 is 4.8, so 4 pixels, read
    # at i / 0.6 (not i * 8 / 4); 8 x 1.7 is 13.6, so 13
    sc = np.float32([0.6, 1.7]).astype(np.float64)
    for name, coord in (("linear_fraction", "half_pixel"), ("linear_asymmetric_fraction", "asymmetric")):
        yield ("resize_" + name, [helper.make_node("Resize", ["x", "", "sc"], ["y"], name=name, mode="linear",
                                                   coordinate_transformation_mode=coord)],
               [f32([1, 1, 0.6, 1.7], "sc")], ["N", 3, 4, 13],
               resized(x, 4, 13, sc[0], sc[1], mode="linear", coord=coord))
    # torch's opset-9 export of nn.Upsample(mode="bilinear"): asymmetric
    yield ("upsample_linear", [helper.make_node("Upsample", ["x", "up_sc"], ["y"], name="upsample", mode="linear")],
           [f32([1, 1, 2, 3], "up_sc")], ["N", 3, 16, 24], resized(x, 16, 24, 2, 3, mode="linear", coord="asymmetric"))


def resize10_cases(x):
    """Resize at opset 10, which has no coordinate_transformation_mode: its
    coordinates are asymmetric (ONNX Runtime's reading, and Upsample's);
    batchbench read them as half-pixel until 2026-12-07, 2.07 off ONNX
    Runtime on this case. Same tuples as resize_cases, for an opset-10
    file."""
    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
    yield ("resize10_linear", [helper.make_node("Resize", ["x", "sc"], ["y"], name="resize10", mode="linear")],
           [f32([1, 1, 2, 1.5], "sc")], ["N", 3, 16, 12], resized(x, 16, 12, 2, 1.5, mode="linear", coord="asymmetric"))


def refused_resizes(small_graph):
    """(file name, model, node name, words its message must hold): the
    Resize attributes batchbench refuses, on small_graph's conv output."""
    for name, attrs, scales, words in (
            ("resize_crop_and_resize", dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize"),
             (1, 1, 2, 2), "tf_crop_and_resize"),
            ("resize_antialias", dict(mode="linear", antialias=1), (1, 1, 0.5, 0.5), "antialias"),
            ("resize_channels", dict(mode="nearest"), (1, 2, 2, 2), "batch or channel axis")):
        nodes = small_graph().graph.node[:]
        nodes.insert(1, helper.make_node("Resize", ["c", "", "sc"], ["c2"], name=name, **attrs))
        nodes[2].input[0] = "c2"  # the Relu reads the resized map
        yield name, small_graph(nodes=nodes, inits=small_graph().graph.initializer[:] + [
            numpy_helper.from_array(np.array(scales, np.float32), "sc")]), words

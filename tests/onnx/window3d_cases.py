"""3-D windows for tests/onnx/make_bad_models.py: Conv, MaxPool and
AveragePool over [N, C, T, H, W] (torchvision's video models), each with a
float64 numpy answer from ONNX's definition, one kernel tap at a time.

The input of every case is x2.npy ([2, 3, 8, 8]) upsampled 2x (nearest),
multiplied by a random [3, 16, 16] constant and viewed as [2, 3, 4, 8, 8]:
four frames of 8 x 8. The cases reach each path of
src/onnx/onnx_lower_window3d.c: the frames stacked in height with time
taps summed (strides, dilations, asymmetric pads, groups), a window of
one pixel in H and W as a 2-D window over [C, T, H*W], pools as their time
part then their H x W part (a max pool in ceil mode, average pools counting
their padding, not counting a padded time axis, padded nowhere).
"""
import itertools

import numpy as np
from onnx import TensorProto, helper, numpy_helper

T, H, W = 4, 8, 8


def _out(n, k, s, d, pb, pe, ceil=False):
    """Output size and the extra end padding ceil mode adds (PyTorch's
    rule: the last window starts inside the input or the left padding)."""
    span = n + pb + pe - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + pb:
        o -= 1
    return o, max(0, (o - 1) * s + d * (k - 1) + 1 - (n + pb + pe))


def _taps(a, k, s, d, pads, fill, ceil=False):
    """Padded a [N, C, T, H, W] and, per kernel tap (i, j, l), the strided
    view of the inputs it reads for every output position; the output
    size; and per output position how many of its taps fall inside the
    input."""
    outs = [_out(a.shape[2 + i], k[i], s[i], d[i], pads[i], pads[3 + i], ceil) for i in range(3)]
    widths = ((0, 0), (0, 0)) + tuple((pads[i], pads[3 + i] + outs[i][1]) for i in range(3))
    p = np.pad(a, widths, constant_values=fill)
    o = [x[0] for x in outs]
    views = {}
    for t in itertools.product(*(range(n) for n in k)):
        sl = tuple(slice(t[i] * d[i], t[i] * d[i] + s[i] * (o[i] - 1) + 1, s[i]) for i in range(3))
        views[t] = p[(slice(None), slice(None)) + sl]
    inside = np.pad(np.ones(a.shape[2:]), tuple((pads[i], pads[3 + i] + outs[i][1]) for i in range(3)))
    count = sum(inside[tuple(slice(t[i] * d[i], t[i] * d[i] + s[i] * (o[i] - 1) + 1, s[i]) for i in range(3))]
                for t in views)
    return views, o, count


def conv3d(a, w, b, s, d, pads, groups):
    views, o, _ = _taps(a, w.shape[2:], s, d, pads, 0.0)
    m, cg = w.shape[:2]
    y = np.zeros((a.shape[0], m, *o))
    for t, v in views.items():
        for g in range(groups):
            oc = slice(g * m // groups, (g + 1) * m // groups)
            y[:, oc] += np.einsum("ncthw,oc->nothw", v[:, g * cg:(g + 1) * cg], w[oc, :, t[0], t[1], t[2]])
    return y + b.reshape(1, -1, 1, 1, 1)


def maxpool3d(a, k, s, pads, ceil=False):
    views, _, _ = _taps(a, k, s, (1, 1, 1), pads, -np.inf, ceil)
    return np.max(np.stack(list(views.values())), axis=0)


def avgpool3d(a, k, s, pads, count_include_pad):
    views, _, count = _taps(a, k, s, (1, 1, 1), pads, 0.0)
    total = np.sum(np.stack(list(views.values())), axis=0)
    return total / (np.prod(k) if count_include_pad else count)


def window3d_cases(x, rng):
    """(name, nodes, initializers, output shape, reference) per case; x is
    x2.npy as float64."""
    f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
    i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)
    r = rng.uniform(0.5, 1.5, (1, 3, 16, 16))
    a = (x.repeat(2, axis=2).repeat(2, axis=3) * r).reshape(2, 3, T, H, W)
    head = [helper.make_node("Resize", ["x", "", "sc2"], ["u"], name="up2", mode="nearest",
                             coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
            helper.make_node("Mul", ["u", "r"], ["m"], name="vary"),
            helper.make_node("Reshape", ["m", "to5d"], ["v"], name="to_frames")]
    inits = [f32([1, 1, 2, 2], "sc2"), f32(r, "r"), i64([0, 3, T, H, W], "to5d")]

    def case(name, node, extra, ref):
        return (name, head + [node], inits + extra, ["N", *ref.shape[1:]], ref)

    w, b = rng.standard_normal((4, 3, 3, 3, 3)) * 0.3, rng.standard_normal(4)
    yield case("conv3d", helper.make_node("Conv", ["v", "w", "b"], ["y"], name="conv3d", strides=[2, 1, 2],
                                          dilations=[1, 2, 1], pads=[1, 0, 2, 0, 1, 1]),
               [f32(w, "w"), f32(b, "b")], conv3d(a, w, b, (2, 1, 2), (1, 2, 1), (1, 0, 2, 0, 1, 1), 1))
    wg, bg = rng.standard_normal((6, 1, 3, 3, 3)) * 0.3, rng.standard_normal(6)
    yield case("conv3d_groups", helper.make_node("Conv", ["v", "wg", "bg"], ["y"], name="conv3d_dw", group=3,
                                                 strides=[1, 2, 2], dilations=[2, 1, 1], pads=[2, 1, 1, 2, 1, 1]),
               [f32(wg, "wg"), f32(bg, "bg")], conv3d(a, wg, bg, (1, 2, 2), (2, 1, 1), (2, 1, 1, 2, 1, 1), 3))
    wt, bt = rng.standard_normal((5, 3, 3, 1, 1)) * 0.3, rng.standard_normal(5)
    yield case("conv3d_time", helper.make_node("Conv", ["v", "wt", "bt"], ["y"], name="conv3d_t", strides=[2, 1, 1],
                                               pads=[1, 0, 0, 1, 0, 0]),
               [f32(wt, "wt"), f32(bt, "bt")], conv3d(a, wt, bt, (2, 1, 1), (1, 1, 1), (1, 0, 0, 1, 0, 0), 1))
    yield case("maxpool3d_ceil", helper.make_node("MaxPool", ["v"], ["y"], name="pool3d", kernel_shape=[3, 3, 3],
                                                  strides=[2, 2, 2], pads=[1, 1, 1, 1, 1, 1], ceil_mode=1),
               [], maxpool3d(a, (3, 3, 3), (2, 2, 2), (1, 1, 1, 1, 1, 1), ceil=True))
    yield case("maxpool3d_time", helper.make_node("MaxPool", ["v"], ["y"], name="pool3d_t", kernel_shape=[3, 1, 1],
                                                  pads=[1, 0, 0, 1, 0, 0]),
               [], maxpool3d(a, (3, 1, 1), (1, 1, 1), (1, 0, 0, 1, 0, 0)))
    yield case("avgpool3d_pad", helper.make_node("AveragePool", ["v"], ["y"], name="avg3d", kernel_shape=[2, 3, 3],
                                                 strides=[1, 2, 2], pads=[1, 1, 1, 0, 1, 1], count_include_pad=1),
               [], avgpool3d(a, (2, 3, 3), (1, 2, 2), (1, 1, 1, 0, 1, 1), True))
    yield case("avgpool3d_time_exclusive", helper.make_node("AveragePool", ["v"], ["y"], name="avg3d_t",
                                                            kernel_shape=[3, 2, 2], strides=[1, 2, 2],
                                                            pads=[1, 0, 0, 1, 0, 0]),
               [], avgpool3d(a, (3, 2, 2), (1, 2, 2), (1, 0, 0, 1, 0, 0), False))
    yield case("avgpool3d", helper.make_node("AveragePool", ["v"], ["y"], name="avg3d", kernel_shape=[2, 7, 7]),
               [], avgpool3d(a, (2, 7, 7), (1, 1, 1), (0,) * 6, False))


def refused_window3d(out, save, small_graph):
    """An average pool that does not count the padding of a padded height
    axis: refused, naming the node (the stacked frames' padding is real
    rows to a 2-D pool); and the pool refusals 2-D and 3-D windows share."""
    save(small_graph(
        nodes=[helper.make_node("Reshape", ["x", "to5d"], ["v"], name="to_frames"),
               helper.make_node("AveragePool", ["v"], ["p"], name="avg3d_hpad", kernel_shape=[1, 3, 3],
                                pads=[0, 1, 1, 0, 1, 1]),
               helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
               helper.make_node("Flatten", ["g"], ["y"], name="flatten")],
        inits=[numpy_helper.from_array(np.asarray([0, 3, 2, 4, 8], dtype=np.int64), "to5d")],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])]),
        f"{out}/avgpool3d_exclusive_hpad.onnx")
    # what a pool of either rank refuses (onnx_lower.c, ox_pool_refused): a
    # MaxPool whose indices output is read, and ceil mode's extra padding in
    # an average pool that counts padding (in 2-D; the 3-D lowering shares
    # the check)
    pool_graph = lambda nodes, name: save(small_graph(
        nodes=nodes + [helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
                       helper.make_node("Flatten", ["g"], ["y"], name="flatten")],
        inits=[], outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])]), f"{out}/{name}.onnx")
    pool_graph([helper.make_node("MaxPool", ["x"], ["m", "where"], name="pool_indices", kernel_shape=[2, 2],
                                 strides=[2, 2]),
                helper.make_node("Cast", ["where"], ["wf"], name="indices_float", to=TensorProto.FLOAT),
                helper.make_node("Add", ["m", "wf"], ["p"], name="add_indices")], "maxpool_indices_read")
    pool_graph([helper.make_node("AveragePool", ["x"], ["p"], name="avg_ceil_pad", kernel_shape=[3, 3],
                                 strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)],
               "avgpool_ceil_count_pad")


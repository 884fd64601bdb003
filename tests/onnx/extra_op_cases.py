"""Op cases (tests/onnx/make_bad_models.py's op_*.onnx) for activations
and normalisations beyond torchvision's: Elu, Selu, Celu, ThresholdedRelu,
Softplus, Softsign, Mish, Gelu, Log, PRelu and LogSoftmax, Sum, Max and
Min of other than two inputs, Mean, LayerNormalization over several axes,
ReduceMax, ReduceMin, ReduceL1, ReduceSumSquare, ReduceLogSum, GlobalMaxPool
and CastLike, the forms
exporters write out op by op (Mish, GELU's tanh form, Softsign), LRN, and
ScatterND writing a block of an activation (torch's x[:, 1:3, 2:] = y),
each against numpy's float64 answer on the same input. Apart from
make_bad_models.py only to keep that file readable.
"""
import math

import numpy as np
from onnx import helper, numpy_helper


def activation_cases(x, rng, f32, conv2d):
    """Activations beyond torchvision's, with ONNX's default and given
    attributes: Mish (opset 18) and Gelu (opset 20) as the ops newer
    exporters write; PRelu with a slope per channel after a conv (its
    blocked output) and one for all; LogSoftmax over the channels, the last
    axis, and logits 200 apart (where the softmax underflows to 0)."""
    erf = np.vectorize(math.erf)
    sp = lambda a: np.logaddexp(0, a)
    elu = lambda a, al: np.where(a < 0, al * np.expm1(a), a)
    selu_a, selu_g = 1.67326319217681884765625, 1.05070102214813232421875
    unary = [("elu", "Elu", {}, elu(x, 1.0)), ("elu_alpha", "Elu", {"alpha": 0.4}, elu(x, 0.4)),
             ("selu", "Selu", {}, selu_g * elu(x, selu_a)),
             ("selu_args", "Selu", {"alpha": 1.5, "gamma": 0.9}, 0.9 * elu(x, 1.5)),
             ("celu", "Celu", {"alpha": 0.6}, np.where(x < 0, 0.6 * np.expm1(x / 0.6), x)),
             ("thresholded_relu", "ThresholdedRelu", {"alpha": 0.3}, np.where(x > 0.3, x, 0)),
             ("softplus", "Softplus", {}, sp(x)), ("softsign", "Softsign", {}, x / (1 + np.abs(x))),
             ("mish", "Mish", {}, x * np.tanh(sp(x))),
             ("gelu", "Gelu", {}, 0.5 * x * (1 + erf(x / np.sqrt(2)))),
             ("gelu_tanh", "Gelu", {"approximate": "tanh"},
              0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))))]
    for name, op, attrs, ref in unary:
        yield (name, [helper.make_node(op, ["x"], ["y"], name=name, **attrs)], [], ["N", 3, 8, 8], ref)
    yield ("log", [helper.make_node("Abs", ["x"], ["a"], name="abs"),
                   helper.make_node("Add", ["a", "tenth"], ["p"], name="positive"),
                   helper.make_node("Log", ["p"], ["y"], name="log")],
           [f32([0.1], "tenth")], ["N", 3, 8, 8], np.log(np.abs(x) + np.float32(0.1)))
    wp, bp, slope = rng.standard_normal((16, 3, 3, 3)), rng.standard_normal(16), rng.uniform(-0.5, 0.5, (16, 1, 1))
    cv = conv2d(x, wp.astype(np.float32), bp.astype(np.float32), 1, 1, 1)
    s32 = slope.astype(np.float32)
    yield ("prelu_conv", [helper.make_node("Conv", ["x", "wp", "bp"], ["c"], name="conv", pads=[1] * 4),
                          helper.make_node("PRelu", ["c", "slope"], ["y"], name="prelu")],
           [f32(wp, "wp"), f32(bp, "bp"), f32(slope, "slope")], ["N", 16, 8, 8], np.where(cv < 0, cv * s32, cv))
    yield ("prelu_shared", [helper.make_node("PRelu", ["x", "one_slope"], ["y"], name="prelu")],
           [f32([0.25], "one_slope")], ["N", 3, 8, 8], np.where(x < 0, 0.25 * x, x))
    # the forms exporters write out op by op (torch 1.13 at opset 17): one
    # activation each (tests/cli/test_onnx_files.sh checks the steps)
    mk = helper.make_node
    yield ("mish_decomposed", [mk("Softplus", ["x"], ["s"], name="softplus"), mk("Tanh", ["s"], ["t"], name="tanh"),
                               mk("Mul", ["x", "t"], ["y"], name="mul")], [], ["N", 3, 8, 8], x * np.tanh(sp(x)))
    gt = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    tail = [mk("Mul", ["k1", "cube"], ["kc"], name="mul_k1"), mk("Add", ["x", "kc"], ["in"], name="add_x"),
            mk("Mul", ["k2", "in"], ["arg"], name="mul_k2"), mk("Tanh", ["arg"], ["t"], name="tanh"),
            mk("Add", ["one", "t"], ["t1"], name="add_1"), mk("Mul", ["x", "t1"], ["xt"], name="mul_x"),
            mk("Mul", ["half", "xt"], ["y"], name="mul_half")]
    consts = [f32(0.044715, "k1"), f32(np.sqrt(2 / np.pi), "k2"), f32(1.0, "one"), f32(0.5, "half")]
    yield ("gelu_tanh_decomposed", [mk("Mul", ["x", "x"], ["sq"], name="square"),
                                    mk("Mul", ["x", "sq"], ["cube"], name="cube"), *tail], consts, ["N", 3, 8, 8], gt)
    yield ("gelu_tanh_pow", [mk("Pow", ["x", "three"], ["cube"], name="pow3"), *tail], [f32(3.0, "three"), *consts],
           ["N", 3, 8, 8], gt)
    yield ("softsign_decomposed", [mk("Abs", ["x"], ["a"], name="abs"), mk("Add", ["a", "one"], ["d"], name="add_1"),
                                   mk("Div", ["x", "d"], ["y"], name="div")], [f32(1.0, "one")], ["N", 3, 8, 8],
           x / (1 + np.abs(x)))

    def log_softmax(a, axis):
        m = a.max(axis=axis, keepdims=True)
        return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))
    yield ("logsoftmax_channels", [helper.make_node("LogSoftmax", ["x"], ["y"], name="lsm", axis=1)], [],
           ["N", 3, 8, 8], log_softmax(x, 1))
    yield ("logsoftmax_last", [helper.make_node("LogSoftmax", ["x"], ["y"], name="lsm")], [], ["N", 3, 8, 8],
           log_softmax(x, 3))
    yield ("logsoftmax_wide", [helper.make_node("Mul", ["x", "hundred"], ["w"], name="widen"),
                               helper.make_node("LogSoftmax", ["w"], ["y"], name="lsm", axis=1)],
           [f32([100.0], "hundred")], ["N", 3, 8, 8], log_softmax(x * np.float32(100), 1))
    # Sum, Max and Min of three inputs (Keras' AddN exports Sum): a constant
    # per channel first, then the input and its absolute value; Max of one
    # input feeding a Relu (the input itself)
    k = rng.uniform(-0.5, 0.5, (3, 1, 1))
    for op, fn in (("Sum", lambda a, b, c: a + b + c), ("Max", lambda a, b, c: np.maximum(np.maximum(a, b), c)),
                   ("Min", lambda a, b, c: np.minimum(np.minimum(a, b), c))):
        yield (f"{op.lower()}_of_3", [helper.make_node("Abs", ["x"], ["a"], name="abs"),
                                      helper.make_node(op, ["k", "x", "a"], ["y"], name=f"{op.lower()}3")],
               [f32(k, "k")], ["N", 3, 8, 8], fn(k.astype(np.float32), x, np.abs(x)))
    # LayerNormalization over [C, H, W] (nn.LayerNorm([3, 8, 8])) with a
    # scale that broadcasts over the channels and a bias per channel
    sc, bi = rng.uniform(0.5, 1.5, (8, 8)), rng.uniform(-0.5, 0.5, (3, 1, 1))
    xd = x.astype(np.float64)
    mu, var = xd.mean(axis=(1, 2, 3), keepdims=True), xd.var(axis=(1, 2, 3), keepdims=True)
    yield ("layernorm_chw", [helper.make_node("LayerNormalization", ["x", "sc", "bi"], ["y"], name="ln_chw", axis=1,
                                              epsilon=1e-3)],
           [f32(sc, "sc"), f32(bi, "bi")], ["N", 3, 8, 8],
           (xd - mu) / np.sqrt(var + 1e-3) * sc.astype(np.float32) + bi.astype(np.float32))
    # maxima over axes: over the channels kept (CBAM's spatial attention),
    # over the last axis dropped, and GlobalMaxPool; CastLike of a double
    # constant to the input's float (opset 18's function bodies)
    mk = helper.make_node
    yield ("reduce_max_channels", [mk("ReduceMax", ["x"], ["y"], name="max_c", axes=[1], keepdims=1)], [],
           ["N", 1, 8, 8], x.max(axis=1, keepdims=True))
    yield ("reduce_max_last", [mk("ReduceMax", ["x"], ["y"], name="max_w", axes=[-1], keepdims=0)], [],
           ["N", 3, 8], x.max(axis=-1))
    yield ("global_max_pool", [mk("Abs", ["x"], ["a"], name="abs"), mk("GlobalMaxPool", ["a"], ["y"], name="gmp")],
           [], ["N", 3, 1, 1], np.abs(x).max(axis=(2, 3), keepdims=True))
    ax = np.abs(x.astype(np.float64))
    for name, op, ref in (("reduce_l1", "ReduceL1", ax.sum(axis=1, keepdims=True)),
                          ("reduce_sum_square", "ReduceSumSquare", (ax ** 2).sum(axis=1, keepdims=True)),
                          ("reduce_log_sum", "ReduceLogSum", np.log(ax.sum(axis=1, keepdims=True)))):
        pre = [mk("Abs", ["x"], ["a"], name="abs")] if op == "ReduceLogSum" else []  # a log of positives
        yield (name, pre + [mk(op, ["a" if pre else "x"], ["y"], name=name, axes=[1], keepdims=1)], [],
               ["N", 1, 8, 8], ref)
    yield ("reduce_min_hw", [mk("ReduceMin", ["x"], ["y"], name="min_hw", axes=[2, 3], keepdims=0)], [], ["N", 3],
           x.min(axis=(2, 3)))
    yield ("castlike", [mk("CastLike", ["half", "x"], ["h"], name="castlike"), mk("Mul", ["x", "h"], ["y"], name="mul")],
           [numpy_helper.from_array(np.array([0.5]), "half")], ["N", 3, 8, 8], x * np.float32(0.5))
    yield ("mean_of_2", [helper.make_node("Sigmoid", ["x"], ["s"], name="sigmoid"),
                         helper.make_node("Mean", ["x", "s"], ["y"], name="mean2")],
           [], ["N", 3, 8, 8], (x + 1 / (1 + np.exp(-x.astype(np.float64)))) / 2)
    # optional outputs left out by an empty name, the one after read by no
    # node (the fuzzer's find: an empty name read as value -1)
    mu, var = xd.mean(axis=3, keepdims=True), xd.var(axis=3, keepdims=True)
    yield ("layernorm_outputs_left_out", [helper.make_node("LayerNormalization", ["x", "sc8"], ["y", "", "istd"],
                                                           name="ln_w", epsilon=1e-3)],
           [f32(np.ones(8), "sc8")], ["N", 3, 8, 8], (xd - mu) / np.sqrt(var + 1e-3))
    yield ("max_of_1", [helper.make_node("Max", ["x"], ["m"], name="max1"), helper.make_node("Relu", ["m"], ["y"],
                                                                                          name="relu")],
           [], ["N", 3, 8, 8], np.maximum(x, 0))


def lrn_cases(x, rng, f32, conv2d):
    """LRN across channels (the Caffe-era models of the ONNX model zoo) after
    a conv of 16 channels: an odd window and an even one (one channel more
    after than before)."""
    wl, bl = rng.standard_normal((16, 3, 3, 3)), rng.standard_normal(16)
    cl = conv2d(x, wl.astype(np.float32), bl.astype(np.float32), 1, 1, 1)
    for name, size, alpha, beta, bias in (("lrn", 5, 1e-2, 0.75, 2.0), ("lrn_even", 4, 0.5, 0.6, 1.0)):
        lo, sq = (size - 1) // 2, cl ** 2
        s = np.stack([sq[:, max(0, ch - lo):min(15, ch + size - 1 - lo) + 1].sum(axis=1) for ch in range(16)], axis=1)
        yield (name, [helper.make_node("Conv", ["x", "wl", "bl"], ["c"], name="conv", pads=[1] * 4),
                      helper.make_node("LRN", ["c"], ["y"], name="lrn", size=size, alpha=alpha, beta=beta, bias=bias)],
               [f32(wl, "wl"), f32(bl, "bl")], ["N", 16, 8, 8], cl / (bias + alpha / size * s) ** beta)


def _block_indices(prefix, src, starts, sizes):
    """torch's index_put indices for src[:, s1:s1+n1, ...] (the batch axis
    whole): per axis an arange, reshaped to its own axis, expanded to the
    block's shape [N, n1, ..., 1] (N read from src's shape) and joined along
    the last axis. Nodes and initializers; the result is prefix + '_idx'."""
    r = len(starts) + 1
    i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)
    nodes = [helper.make_node("Shape", [src], [f"{prefix}_shape"], name=f"{prefix}_shape"),
             helper.make_node("Slice", [f"{prefix}_shape", f"{prefix}_0", f"{prefix}_1"], [f"{prefix}_n"],
                              name=f"{prefix}_batch"),
             helper.make_node("Concat", [f"{prefix}_n", f"{prefix}_rest"], [f"{prefix}_to"], name=f"{prefix}_to",
                              axis=0),
             helper.make_node("Squeeze", [f"{prefix}_n"], [f"{prefix}_ns"], name=f"{prefix}_ns"),
             helper.make_node("Range", [f"{prefix}_zero", f"{prefix}_ns", f"{prefix}_one"], [f"{prefix}_r0"],
                              name=f"{prefix}_range")]
    inits = [i64([0], f"{prefix}_0"), i64([1], f"{prefix}_1"), i64([*sizes, 1], f"{prefix}_rest"),
             i64(0, f"{prefix}_zero"), i64(1, f"{prefix}_one")]
    parts = []
    for a in range(r):
        shape = [1] * (r + 1)
        shape[a] = -1
        inits.append(i64(shape, f"{prefix}_shape{a}"))
        src_a = f"{prefix}_r0" if a == 0 else f"{prefix}_ar{a}"
        if a:
            inits.append(i64(np.arange(starts[a - 1], starts[a - 1] + sizes[a - 1]), src_a))
        nodes += [helper.make_node("Reshape", [src_a, f"{prefix}_shape{a}"], [f"{prefix}_v{a}"], name=f"{prefix}_v{a}"),
                  helper.make_node("Expand", [f"{prefix}_v{a}", f"{prefix}_to"], [f"{prefix}_e{a}"],
                                   name=f"{prefix}_e{a}")]
        parts.append(f"{prefix}_e{a}")
    nodes.append(helper.make_node("Concat", parts, [f"{prefix}_idx"], name=f"{prefix}_idx", axis=-1))
    return nodes, inits


def scatter_block_cases(x):
    """ScatterND of an activation's block (torch's `x[:, 1:3, 2:, :5] =
    2 * x[:, 1:3, 2:, :5]`, and a block of the last axis alone written with
    its negation): slices around the block and concats."""
    for name, starts, sizes, op in (("scatter_block", (1, 2, 0), (2, 6, 5), "Mul"),
                                    ("scatter_block_last", (0, 0, 3), (3, 8, 3), "Neg")):
        idx_nodes, inits = _block_indices("s", "x", starts, sizes)
        ends = [s + n for s, n in zip(starts, sizes)]
        inits += [numpy_helper.from_array(np.asarray(v, dtype=np.int64), k)
                  for k, v in (("bs", starts), ("be", ends), ("ba", [1, 2, 3]))]
        inits.append(numpy_helper.from_array(np.asarray(2, dtype=np.float32), "two"))
        upd = [helper.make_node("Slice", ["x", "bs", "be", "ba"], ["blk"], name="block"),
               helper.make_node(op, ["blk", "two"] if op == "Mul" else ["blk"], ["upd"], name="update")]
        ref = x.copy()
        sl = (slice(None),) + tuple(slice(s, e) for s, e in zip(starts, ends))
        ref[sl] = 2 * x[sl] if op == "Mul" else -x[sl]
        yield (name, idx_nodes + upd + [helper.make_node("ScatterND", ["x", "s_idx", "upd"], ["y"], name="scatter")],
               inits, ["N", 3, 8, 8], ref)


def large_index_cases(x):
    """torchvision mvit_v2_s's attention, in small: `attn[:, :, 1:, 1:] +=
    rel_pos` as torch exports it, on scores [N, 3, 64, 64] (x's rows times
    its columns). Its indices ([N, 3, 63, 63, 4]) and the sum of ranges whose
    Shape gives their size are past the folder's small values, so the import
    reads the block from the ranges alone (src/onnx/onnx_need.c). And its
    relative positions: three activations unsqueezed to 7 axes after the
    batch's and added."""
    n = x.shape[0]
    i64 = lambda a, k: numpy_helper.from_array(np.asarray(a, dtype=np.int64), k)
    a = x.reshape(n, 3, 64, 1) * x.reshape(n, 3, 1, 64)
    nodes = [helper.make_node("Reshape", ["x", "col"], ["xa"], name="rows"),
             helper.make_node("Reshape", ["x", "row"], ["xb"], name="cols"),
             helper.make_node("Mul", ["xa", "xb"], ["a"], name="scores"),
             helper.make_node("Slice", ["a", "one2", "end2", "ax23"], ["blk"], name="block"),
             helper.make_node("Add", ["blk", "blk"], ["upd"], name="update"),
             helper.make_node("Shape", ["a"], ["s"], name="shape")]
    inits = [i64([0, 3, 64, 1], "col"), i64([0, 3, 1, 64], "row"), i64([1, 1], "one2"), i64([64, 64], "end2"),
             i64([2, 3], "ax23"), i64(0, "zero"), i64(1, "one"), i64([1], "from1"), i64([1 << 62], "to_end"),
             i64([0], "ax0"), i64([-1], "last")]
    for k in range(4):
        nodes += [helper.make_node("Gather", ["s", f"k{k}"], [f"d{k}"], name=f"dim{k}", axis=0),
                  helper.make_node("Range", ["zero", f"d{k}", "one"], [f"r{k}" if k < 2 else f"full{k}"],
                                   name=f"range{k}")]
        inits.append(i64(k, f"k{k}"))
        if k >= 2:  # the block's rows and columns from 1 on
            nodes.append(helper.make_node("Slice", [f"full{k}", "from1", "to_end", "ax0"], [f"r{k}"],
                                          name=f"from1_{k}"))
        inits.append(i64([-1] + [1] * (3 - k), f"along{k}"))
        nodes.append(helper.make_node("Reshape", [f"r{k}", f"along{k}"], [f"v{k}"], name=f"along{k}"))
    nodes += [helper.make_node("Add", ["v0", "v1"], ["b01"], name="bcast01"),
              helper.make_node("Add", ["b01", "v2"], ["b012"], name="bcast012"),
              helper.make_node("Add", ["b012", "v3"], ["b0123"], name="bcast0123"),
              helper.make_node("Shape", ["b0123"], ["to"], name="index_shape")]
    for k in range(4):
        nodes += [helper.make_node("Expand", [f"v{k}", "to"], [f"e{k}"], name=f"expand{k}"),
                  helper.make_node("Unsqueeze", [f"e{k}", "last"], [f"u{k}"], name=f"column{k}")]
    nodes += [helper.make_node("Concat", [f"u{k}" for k in range(4)], ["idx"], name="indices", axis=-1),
              helper.make_node("ScatterND", ["a", "idx", "upd"], ["y"], name="scatter")]
    ref = a.copy()
    ref[:, :, 1:, 1:] *= 2
    yield ("scatter_torch_block", nodes, inits, ["N", 3, 64, 64], ref)

    # rel_h[..., None, :, None] + rel_w[..., None, None, :] + rel_t[..., None, None]
    p = x.reshape(n, 3, 2, 2, 2, 8)
    ref = p[:, :, :, :, :, None, :, None] + (p * p)[:, :, :, :, :, None, None, :] - p[:, :, :, :, :, :, None, None]
    nodes = [helper.make_node("Reshape", ["x", "six"], ["p"], name="split_rows"),
             helper.make_node("Mul", ["p", "p"], ["pp"], name="square"),
             helper.make_node("Neg", ["p"], ["np"], name="negate"),
             helper.make_node("Unsqueeze", ["p", "ax57"], ["h"], name="rel_h"),
             helper.make_node("Unsqueeze", ["pp", "ax56"], ["w"], name="rel_w"),
             helper.make_node("Unsqueeze", ["np", "ax67"], ["t"], name="rel_t"),
             helper.make_node("Add", ["h", "w"], ["hw"], name="add_hw"),
             helper.make_node("Add", ["hw", "t"], ["hwt"], name="add_t"),
             helper.make_node("Reshape", ["hwt", "flat"], ["y"], name="flatten")]
    inits = [i64([0, 3, 2, 2, 2, 8], "six"), i64([5, 7], "ax57"), i64([5, 6], "ax56"), i64([6, 7], "ax67"),
             i64([0, 3, -1], "flat")]
    yield ("broadcast_7d", nodes, inits, ["N", 3, 4096], ref.reshape(n, 3, -1))


def pool1d_cases(x):
    """1-D pools on [N, C, L] (NextViT's nn.AvgPool1d, any Conv1d net's
    MaxPool1d), and the unbiased variance torch.var exports for timm's
    RmsNorm: its element count a ReduceProd of the input's shape."""
    n = x.shape[0]
    i64 = lambda a, k: numpy_helper.from_array(np.asarray(a, dtype=np.int64), k)
    f32 = lambda a, k: numpy_helper.from_array(np.asarray(a, dtype=np.float32), k)
    seq = x.reshape(n, 3, 64)
    padded = np.pad(seq, ((0, 0), (0, 0), (1, 1)))
    ones = np.pad(np.ones(64), (1, 1))
    avg = np.stack([padded[:, :, 2 * j:2 * j + 4].sum(-1) / ones[2 * j:2 * j + 4].sum() for j in range(32)], -1)
    ninf = np.pad(seq, ((0, 0), (0, 0), (1, 1)), constant_values=-np.inf)
    mx = np.stack([ninf[:, :, 2 * j:2 * j + 3].max(-1) for j in range(32)], -1)
    for name, op, attrs, ref in (("avgpool_1d", "AveragePool", {"kernel_shape": [4]}, avg),
                                 ("maxpool_1d", "MaxPool", {"kernel_shape": [3]}, mx)):
        yield (name, [helper.make_node("Reshape", ["x", "seq"], ["s"], name="to_seq"),
                      helper.make_node(op, ["s"], ["y"], name="pool", strides=[2], pads=[1, 1], **attrs)],
               [i64([0, 3, 64], "seq")], ["N", 3, 32], ref)
    var = x.var(axis=-1, ddof=1, keepdims=True)
    yield ("var_unbiased", [
        helper.make_node("ReduceMean", ["x"], ["mu"], name="mean", axes=[-1]),
        helper.make_node("Sub", ["x", "mu"], ["d"], name="centre"),
        helper.make_node("Mul", ["d", "d"], ["d2"], name="square"),
        helper.make_node("ReduceSum", ["d2", "last"], ["ss"], name="sum"),
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Gather", ["shape", "last"], ["len"], name="len", axis=0),
        helper.make_node("ReduceProd", ["len"], ["count"], name="count", keepdims=0),
        helper.make_node("Cast", ["count"], ["countf"], name="to_float", to=1),
        helper.make_node("Sub", ["countf", "one"], ["dof"], name="dof"),
        helper.make_node("Div", ["ss", "dof"], ["var"], name="var"),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="add_eps"),
        helper.make_node("Sqrt", ["ve"], ["sd"], name="sd"),
        helper.make_node("Div", ["x", "sd"], ["y"], name="normalise")],
        [i64([-1], "last"), f32(1, "one"), f32(1e-5, "eps")], ["N", 3, 8, 8], x / np.sqrt(var + 1e-5))


def einsum_merged_cases(x, rng):
    """SAM's decomposed relative positions: Einsums over [N*heads, H, W, C]
    (three rows per item on the batch axis), one whose result comes out in
    the order the lowering computes it and one that needs a transpose."""
    n = x.shape[0]
    xr = x.reshape(n * 3, 2, 4, 8)
    rh, p = rng.uniform(-1, 1, (2, 5, 8)), rng.uniform(-1, 1, (8, 5))
    f32 = lambda a, k: numpy_helper.from_array(np.asarray(a, dtype=np.float32), k)
    i64 = lambda a, k: numpy_helper.from_array(np.asarray(a, dtype=np.int64), k)
    as32 = lambda a: a.astype(np.float32).astype(np.float64)
    ref = np.einsum("bhwc,hkc->bhwk", xr, as32(rh)) + np.einsum("bhwc,ck->bhwk", xr, as32(p))
    yield ("einsum_merged_batch", [
        helper.make_node("Reshape", ["x", "rows"], ["xr"], name="to_heads"),
        helper.make_node("Einsum", ["xr", "rh"], ["e1"], name="rel_h", equation="bhwc,hkc->bhwk"),
        helper.make_node("Einsum", ["xr", "p"], ["e2"], name="project", equation="bhwc,ck->bhwk"),
        helper.make_node("Add", ["e1", "e2"], ["s"], name="add"),
        helper.make_node("Reshape", ["s", "back"], ["y"], name="to_items")],
        [i64([-1, 2, 4, 8], "rows"), f32(rh, "rh"), f32(p, "p"), i64([-1, 3, 40], "back")], ["N", 3, 40],
        ref.reshape(n, 3, 40))

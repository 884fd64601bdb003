"""LSTM, GRU and RNN op cases for tests/onnx/make_bad_models.py (src/onnx/
onnx_rnn.c writes each time step out as plain nodes, or an LSTM direction as
one node for the backends' LSTM kernel), each against a
float64 numpy recurrence written from the ONNX specification, and the
recurrent nodes batchbench refuses, each naming the node and the reason.

The input of every case is x2.npy ([2, 3, 8, 8]) read as a sequence of 8
steps of 24 features ([N, 8, 24]); hidden size 5. The forms: torch's export
of a batch_first module (a Transpose to [S, N, I], the node with layout 0,
the zero initial state torch writes as ConstantOfShape, a Transpose back),
and layout 1 with the rest of the node's options (peepholes, clip, reverse,
initial states computed from the input, Y_h and Y_c). An LSTM without
initial state, peepholes or clip whose Y_c nothing reads, and a GRU with
linear_before_reset without initial state or clip, run as batchbench's own
kernels (one BB_OP_LSTM or BB_OP_GRU per direction); test_onnx_files.sh
checks which cases do.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

S, I, H = 8, 24, 5
f32 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.float32), n)
i64 = lambda a, n: numpy_helper.from_array(np.asarray(a, dtype=np.int64), n)
mk = helper.make_node
sig = lambda a: 1 / (1 + np.exp(-a))


def _lstm(x, w, r, b, p, h, c, clip, reverse):
    """One direction: x [N, S, I]; w [4H, I], r [4H, H], b [8H], p [3H]
    (gates i, o, f, c). Y [N, S, H], the last H and C."""
    cl = (lambda a: np.clip(a, -clip, clip)) if clip else (lambda a: a)
    y = np.zeros((x.shape[0], S, H))
    for t in (reversed(range(S)) if reverse else range(S)):
        g = x[:, t] @ w.T + h @ r.T + b[:4 * H] + b[4 * H:]
        gi, go, gf, gc = np.split(g, 4, axis=1)
        gi, gf = gi + p[:H] * c, gf + p[2 * H:] * c
        c = sig(cl(gf)) * c + sig(cl(gi)) * np.tanh(cl(gc))
        h = sig(cl(go + p[H:2 * H] * c)) * np.tanh(c)
        y[:, t] = h
    return y, h, c


def _gru(x, w, r, b, h, lbr, reverse, clip=None):
    """One direction, gates z, r, h."""
    cl = (lambda a: np.clip(a, -clip, clip)) if clip else (lambda a: a)
    wz, wr, wh = np.split(w, 3)
    rz, rr, rh = np.split(r, 3)
    bwz, bwr, bwh, brz, brr, brh = np.split(b, 6)
    y = np.zeros((x.shape[0], S, H))
    for t in (reversed(range(S)) if reverse else range(S)):
        xt = x[:, t]
        z, rg = sig(cl(xt @ wz.T + h @ rz.T + bwz + brz)), sig(cl(xt @ wr.T + h @ rr.T + bwr + brr))
        hh = np.tanh(cl(xt @ wh.T + rg * (h @ rh.T + brh) + bwh if lbr else xt @ wh.T + (rg * h) @ rh.T + brh + bwh))
        h = (1 - z) * hh + z * h
        y[:, t] = h
    return y, h


def _rnn(x, w, r, b, h, reverse, clip=None):
    cl = (lambda a: np.clip(a, -clip, clip)) if clip else (lambda a: a)
    y = np.zeros((x.shape[0], S, H))
    for t in (reversed(range(S)) if reverse else range(S)):
        h = np.tanh(cl(x[:, t] @ w.T + h @ r.T + b[:H] + b[H:]))
        y[:, t] = h
    return y, h


def _weights(rng, d, gates, with_p=False):
    w = (rng.standard_normal((d, gates * H, I)) * 0.3).astype(np.float32).astype(np.float64)
    r = (rng.standard_normal((d, gates * H, H)) * 0.5).astype(np.float32).astype(np.float64)
    b = (rng.standard_normal((d, 2 * gates * H)) * 0.5).astype(np.float32).astype(np.float64)
    p = (rng.standard_normal((d, 3 * H)) * 0.5).astype(np.float32).astype(np.float64) if with_p else None
    return w, r, b, p


def _seq(tag):
    """x [N, 3, 8, 8] -> xs [N, 8, 24]."""
    return [mk("Reshape", ["x", f"{tag}_shape"], ["xs"], name=f"{tag}_to_sequence")], [i64([0, S, I], f"{tag}_shape")]


def _zero_state(tag, d):
    """torch's zero initial state [d, N, H]: ConstantOfShape of a shape read from X."""
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    return ([mk("Shape", ["xs"], [f"{tag}_xs_shape"], name=f"{tag}_shape"),
             mk("Slice", [f"{tag}_xs_shape", f"{tag}_0", f"{tag}_1"], [f"{tag}_n"], name=f"{tag}_batch"),
             mk("Concat", [f"{tag}_d", f"{tag}_n", f"{tag}_h"], [f"{tag}_state_shape"], name=f"{tag}_concat", axis=0),
             mk("ConstantOfShape", [f"{tag}_state_shape"], [f"{tag}_h0"], name=f"{tag}_zeros", value=zero)],
            [i64([0], f"{tag}_0"), i64([1], f"{tag}_1"), i64([d], f"{tag}_d"), i64([H], f"{tag}_h")])


def _y_and_last(name, node, nodes, inits, y, h):
    """A case whose one-direction layout-1 node writes Y ('y4', [N, S, 1, H])
    and Y_h ('yh', [N, 1, H]), read as one output [N, S + 1, H]."""
    return (name, nodes + [node, mk("Reshape", ["y4", "y3_shape"], ["y3"], name="drop_direction"),
                           mk("Concat", ["y3", "yh"], ["y"], name="concat", axis=1)],
            inits + [i64([0, S, H], "y3_shape")], ["N", S + 1, H], np.concatenate([y, h[:, None, :]], axis=1))


def rnn_cases(x, rng):
    """(name, nodes, inits, output shape, float64 answer) for write_op_cases."""
    xs = x.reshape(x.shape[0], S, I)
    n = x.shape[0]
    zeros = np.zeros((n, H))
    # torch's bidirectional LSTM, batch_first: transpose, layout 0, zero state, transpose back
    w, r, b, _ = _weights(rng, 2, 4)
    nodes, inits = _seq("a")
    zn, zi = _zero_state("a", 2)
    fw = _lstm(xs, w[0], r[0], b[0], np.zeros(3 * H), zeros, zeros, None, False)[0]
    bw = _lstm(xs, w[1], r[1], b[1], np.zeros(3 * H), zeros, zeros, None, True)[0]
    yield ("lstm_bidir_seq_first",
           nodes + zn + [mk("Transpose", ["xs"], ["xt"], name="to_seq_first", perm=[1, 0, 2]),
                         mk("LSTM", ["xt", "w", "r", "b", "", "a_h0", "a_h0"], ["ys"], name="lstm",
                            direction="bidirectional", hidden_size=H),
                         mk("Transpose", ["ys"], ["y"], name="to_batch_first", perm=[2, 0, 1, 3])],
           inits + zi + [f32(w, "w"), f32(r, "r"), f32(b, "b")], ["N", S, 2, H], np.stack([fw, bw], axis=2))
    # layout 1 with peepholes, a clip, and initial states computed from the input
    w, r, b, p = _weights(rng, 1, 4, with_p=True)
    nodes, inits = _seq("b")
    h0, c0 = np.tanh(xs[:, 0:1, 0:H]), xs[:, 1:2, H:2 * H]
    y = _lstm(xs, w[0], r[0], b[0], p[0], h0[:, 0], c0[:, 0], 0.7, False)[0]
    yield ("lstm_peephole_clip",
           nodes + [mk("Slice", ["xs", "s0", "s1", "ax12"], ["h0_in"], name="h0_slice"),
                    mk("Tanh", ["h0_in"], ["h0"], name="h0_tanh"),
                    mk("Slice", ["xs", "s1", "s2", "ax12"], ["c0"], name="c0_slice"),
                    mk("LSTM", ["xs", "w", "r", "b", "", "h0", "c0", "p"], ["y"], name="lstm", layout=1, clip=0.7,
                       hidden_size=H)],
           inits + [i64([0, 0], "s0"), i64([1, H], "s1"), i64([2, 2 * H], "s2"), i64([1, 2], "ax12"),
                    f32(w, "w"), f32(r, "r"), f32(b, "b"), f32(p, "p")], ["N", S, 1, H], y[:, :, None, :])
    # one direction, layout 0, initial states [1, N, H] computed from the input
    w, r, b, _ = _weights(rng, 1, 4)
    nodes, inits = _seq("g")
    h0, c0 = np.tanh(xs[:, 0:1, 0:H]), xs[:, 1:2, H:2 * H]
    y = _lstm(xs, w[0], r[0], b[0], np.zeros(3 * H), h0[:, 0], c0[:, 0], None, False)[0]
    yield ("lstm_seq_first_state",
           nodes + [mk("Transpose", ["xs"], ["xt"], name="to_seq_first", perm=[1, 0, 2]),
                    mk("Slice", ["xs", "s0", "s1", "ax12"], ["h0_in"], name="h0_slice"),
                    mk("Tanh", ["h0_in"], ["h0_b"], name="h0_tanh"),
                    mk("Transpose", ["h0_b"], ["h0"], name="h0_seq_first", perm=[1, 0, 2]),
                    mk("Slice", ["xs", "s1", "s2", "ax12"], ["c0_b"], name="c0_slice"),
                    mk("Transpose", ["c0_b"], ["c0"], name="c0_seq_first", perm=[1, 0, 2]),
                    mk("LSTM", ["xt", "w", "r", "b", "", "h0", "c0"], ["ys"], name="lstm", hidden_size=H),
                    mk("Transpose", ["ys"], ["y"], name="to_batch_first", perm=[2, 0, 1, 3])],
           inits + [i64([0, 0], "s0"), i64([1, H], "s1"), i64([2, 2 * H], "s2"), i64([1, 2], "ax12"),
                    f32(w, "w"), f32(r, "r"), f32(b, "b")], ["N", S, 1, H], y[:, :, None, :])
    # one direction, layout 1, Y and the last H read: batchbench's own LSTM kernel (BB_OP_LSTM)
    w, r, b, _ = _weights(rng, 1, 4)
    nodes, inits = _seq("h")
    y, h, _ = _lstm(xs, w[0], r[0], b[0], np.zeros(3 * H), zeros, zeros, None, False)
    yield _y_and_last("lstm_batch_first_last", mk("LSTM", ["xs", "w", "r", "b"], ["y4", "yh"], name="lstm", layout=1,
                                                  hidden_size=H), nodes, inits + [f32(w, "w"), f32(r, "r"), f32(b, "b")],
                      y, h)
    # reverse, the last C read: written out step by step (the kernel keeps no C)
    w, r, b, _ = _weights(rng, 1, 4)
    nodes, inits = _seq("i")
    _, _, c = _lstm(xs, w[0], r[0], b[0], np.zeros(3 * H), zeros, zeros, None, True)
    yield ("lstm_cell_read",
           nodes + [mk("LSTM", ["xs", "w", "r", "b"], ["", "", "y"], name="lstm", layout=1, direction="reverse",
                       hidden_size=H)],
           inits + [f32(w, "w"), f32(r, "r"), f32(b, "b")], ["N", 1, H], c[:, None, :])
    # reverse, no bias, a clip, the last H and C
    w, r, _, _ = _weights(rng, 1, 4)
    nodes, inits = _seq("c")
    _, h, c = _lstm(xs, w[0], r[0], np.zeros(8 * H), np.zeros(3 * H), zeros, zeros, 0.8, True)
    yield ("lstm_reverse_state",
           nodes + [mk("LSTM", ["xs", "w", "r"], ["", "yh", "yc"], name="lstm", layout=1, direction="reverse",
                       hidden_size=H, clip=0.8),
                    mk("Concat", ["yh", "yc"], ["y"], name="concat", axis=2)],
           inits + [f32(w, "w"), f32(r, "r")], ["N", 1, 2 * H], np.concatenate([h, c], axis=1)[:, None, :])
    # torch's bidirectional GRU (linear_before_reset = 1), from an initial state [2, N, H] computed from the input
    w, r, b, _ = _weights(rng, 2, 3)
    nodes, inits = _seq("d")
    h0 = np.tanh(xs[:, 0:2, 0:H])
    fw = _gru(xs, w[0], r[0], b[0], h0[:, 0], True, False)[0]
    bw = _gru(xs, w[1], r[1], b[1], h0[:, 1], True, True)[0]
    inits += [i64([0, 0], "s0"), i64([2, H], "s1"), i64([1, 2], "ax12")]
    yield ("gru_bidir_seq_first",
           nodes + [mk("Transpose", ["xs"], ["xt"], name="to_seq_first", perm=[1, 0, 2]),
                    mk("Slice", ["xs", "s0", "s1", "ax12"], ["h0_in"], name="h0_slice"),
                    mk("Tanh", ["h0_in"], ["h0_b"], name="h0_tanh"),
                    mk("Transpose", ["h0_b"], ["h0"], name="h0_seq_first", perm=[1, 0, 2]),
                    mk("GRU", ["xt", "w", "r", "b", "", "h0"], ["ys"], name="gru", direction="bidirectional",
                       hidden_size=H, linear_before_reset=1),
                    mk("Transpose", ["ys"], ["y"], name="to_batch_first", perm=[2, 0, 1, 3])],
           inits + [f32(w, "w"), f32(r, "r"), f32(b, "b")], ["N", S, 2, H], np.stack([fw, bw], axis=2))
    # reverse GRU, linear_before_reset, layout 1, Y and the last H read: batchbench's own GRU kernel (BB_OP_GRU)
    w, r, b, _ = _weights(rng, 1, 3)
    nodes, inits = _seq("j")
    y, h = _gru(xs, w[0], r[0], b[0], zeros, True, True)
    yield _y_and_last("gru_batch_first_last", mk("GRU", ["xs", "w", "r", "b"], ["y4", "yh"], name="gru", layout=1,
                                                 direction="reverse", hidden_size=H, linear_before_reset=1),
                      nodes, inits + [f32(w, "w"), f32(r, "r"), f32(b, "b")], y, h)
    # GRU without linear_before_reset, an initial state from the input, a clip
    w, r, b, _ = _weights(rng, 1, 3)
    nodes, inits = _seq("e")
    h0 = np.tanh(xs[:, 0:1, 0:H])
    y = _gru(xs, w[0], r[0], b[0], h0[:, 0], False, False, clip=0.6)[0]
    yield ("gru_initial_state",
           nodes + [mk("Slice", ["xs", "s0", "s1", "ax12"], ["h0_in"], name="h0_slice"),
                    mk("Tanh", ["h0_in"], ["h0"], name="h0_tanh"),
                    mk("GRU", ["xs", "w", "r", "b", "", "h0"], ["y"], name="gru", layout=1, hidden_size=H, clip=0.6)],
           inits + [i64([0, 0], "s0"), i64([1, H], "s1"), i64([1, 2], "ax12"), f32(w, "w"), f32(r, "r"),
                    f32(b, "b")], ["N", S, 1, H], y[:, :, None, :])
    # a bidirectional RNN's last states, layout 0: [2, N, H] back to [N, 2, H]; a clip
    w, r, b, _ = _weights(rng, 2, 1)
    nodes, inits = _seq("f")
    hf = _rnn(xs, w[0], r[0], b[0], zeros, False, clip=0.5)[1]
    hb = _rnn(xs, w[1], r[1], b[1], zeros, True, clip=0.5)[1]
    yield ("rnn_bidir_state",
           nodes + [mk("Transpose", ["xs"], ["xt"], name="to_seq_first", perm=[1, 0, 2]),
                    mk("RNN", ["xt", "w", "r", "b"], ["", "yh"], name="rnn", direction="bidirectional", hidden_size=H,
                       clip=0.5),
                    mk("Transpose", ["yh"], ["y"], name="to_batch_first", perm=[1, 0, 2])],
           inits + [f32(w, "w"), f32(r, "r"), f32(b, "b")], ["N", 2, H], np.stack([hf, hb], axis=1))


def refused_rnn(out, save, small_graph):
    """Recurrent nodes batchbench does not run, each refused naming the node
    and why."""
    rng = np.random.default_rng(5)
    w, r, _, _ = _weights(rng, 1, 4)

    def model(name, lstm, extra_nodes=(), extra_inits=()):
        nodes, inits = _seq("z")
        save(small_graph(nodes=nodes + list(extra_nodes) + [lstm], inits=inits + list(extra_inits) + [
            f32(w, "w"), f32(r, "r")], outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]),
            f"{out}/{name}.onnx")

    # layout 0 on a batch-first input: the recurrence would run along the batch
    model("lstm_along_batch", mk("LSTM", ["xs", "w", "r"], ["y"], name="lstm_batch", hidden_size=H))
    model("lstm_activations", mk("LSTM", ["xs", "w", "r"], ["y"], name="lstm_relu", hidden_size=H, layout=1,
                                 activations=["Relu", "Tanh", "Tanh"]))
    # sequence_lens shorter than the sequence: [N] of 5
    model("lstm_short_sequences", mk("LSTM", ["xs", "w", "r", "", "lens"], ["y"], name="lstm_lens", hidden_size=H,
                                     layout=1),
          [mk("Shape", ["xs"], ["xs_shape"], name="shape"),
           mk("Slice", ["xs_shape", "zero", "one"], ["n"], name="batch"),
           mk("Expand", ["five", "n"], ["lens64"], name="expand"),
           mk("Cast", ["lens64"], ["lens"], name="cast", to=TensorProto.INT32)],
          [i64([0], "zero"), i64([1], "one"), i64([5], "five")])
    # a sequence of 9000 steps, written out, would pass the flattener's 65536 nodes
    model("lstm_too_long", mk("LSTM", ["long", "w", "r"], ["y"], name="lstm_long", hidden_size=H, layout=1),
          [mk("Slice", ["xs", "zero", "one", "one"], ["first"], name="first_step"),
           mk("Expand", ["first", "steps"], ["long"], name="repeat")],
          [i64([0], "zero"), i64([1], "one"), i64([1, 9000, 1], "steps")])

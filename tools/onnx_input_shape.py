#!/usr/bin/python3
"""Writes a copy of an ONNX file whose input has fixed dims after the batch.

batchbench takes an imported model's item shape from the file: only the
first (batch) dim of the input may be symbolic. Models exported with
dynamic height and width (segmentation and detection models often are:
`dynamic_axes={'x': {0: 'N', 2: 'H', 3: 'W'}}`) are refused, naming the
dim. This gives such a file the item shape to measure it at:

    tools/onnx_input_shape.py model.onnx model-512.onnx 3x512x512
    batchbench run --models model-512.onnx

The copy is a new file, with its own SHA-256, so its results never mix
with those of another shape. Its batch dim is named N; the dims of the
outputs and of intermediate values that the exporter left symbolic are
dropped from the declarations (batchbench infers every shape itself).
Weights stored as external data are read and written into the copy (as
external data beside it, `<copy>.data`, when the copy would pass
protobuf's 2 GB limit). Nothing else changes: the graph is the same.

Exit 0 written, 1 the file cannot be read or has not one input of the
given rank, 2 bad arguments. Needs Debian's python3-onnx.
"""
import argparse
import os
import sys


def parse_shape(text):
    try:
        dims = [int(v) for v in text.lower().split("x")]
    except ValueError:
        dims = []
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected dims after the batch like 3x512x512, got {text!r}")
    return dims


def fixed_copy(model, dims):
    """The model's one input [N] + dims; symbolic dims elsewhere dropped."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1:
        raise ValueError(f"{len(inputs)} graph inputs; batchbench runs graphs with one")
    shape = inputs[0].type.tensor_type.shape
    if len(shape.dim) != len(dims) + 1:
        raise ValueError(f"input '{inputs[0].name}' has rank {len(shape.dim)}; {len(dims)} dims after the batch "
                         f"were given")
    shape.dim[0].Clear()
    shape.dim[0].dim_param = "N"
    for d, v in zip(shape.dim[1:], dims):
        d.Clear()
        d.dim_value = v
    for vi in list(g.output) + list(g.value_info):
        t = vi.type.tensor_type
        if t.HasField("shape") and any(d.HasField("dim_param") for d in t.shape.dim[1:]):
            t.ClearField("shape")
    return inputs[0].name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="the ONNX file")
    ap.add_argument("dst", help="the copy to write")
    ap.add_argument("dims", type=parse_shape, help="the dims after the batch, e.g. 3x512x512")
    a = ap.parse_args(argv)
    if os.path.abspath(a.src) == os.path.abspath(a.dst):
        ap.error("the copy must be another file than the source")
    import onnx
    try:
        model = onnx.load(a.src)
        name = fixed_copy(model, a.dims)
    except Exception as e:  # noqa: BLE001 -- protobuf's DecodeError, OSError, ValueError alike
        print(f"onnx_input_shape.py: {a.src}: {e}", file=sys.stderr)
        return 1
    tmp = f"{a.dst}.tmp.{os.getpid()}"
    big = model.ByteSize() > (2 << 30) - (64 << 20)
    try:
        if big:
            onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(a.dst) + ".data")
        else:
            onnx.save_model(model, tmp)
        os.replace(tmp, a.dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"{a.dst}: input '{name}' [N,{','.join(map(str, a.dims))}]" + (" (weights in .data beside it)" if big else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

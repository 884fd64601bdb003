#!/usr/bin/python3
"""Writes the malformed input files the CLI tests feed to batchbench.
Needs only numpy. Usage: make_bad_files.py DIR"""
import json
import struct
import sys

import numpy as np


def safetensors(path, tensors, header_override=None, truncate=0):
    """tensors: list of (name, dtype string, shape, raw bytes)."""
    header, data, off = {}, b"", 0
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    h = header_override if header_override is not None else json.dumps(header).encode()
    blob = struct.pack("<Q", len(h)) + h + data
    with open(path, "wb") as f:
        f.write(blob[: len(blob) - truncate] if truncate else blob)


def main(d):
    f32 = lambda *shape: np.zeros(shape, np.float32).tobytes()
    conv1 = ("conv1.weight", "F32", (64, 3, 7, 7), f32(64, 3, 7, 7))
    safetensors(f"{d}/missing.safetensors", [conv1])
    safetensors(f"{d}/unexpected.safetensors", [conv1, ("foo.weight", "F32", (2,), f32(2))])
    safetensors(f"{d}/dtype.safetensors", [("conv1.weight", "F16", (64, 3, 7, 7), np.zeros((64, 3, 7, 7), np.float16).tobytes())])
    safetensors(f"{d}/shape.safetensors", [("conv1.weight", "F32", (64, 3, 3, 3), f32(64, 3, 3, 3))])
    safetensors(f"{d}/truncated.safetensors", [conv1], truncate=100)
    safetensors(f"{d}/corrupt.safetensors", [], header_override=b"{not json")
    with open(f"{d}/oversized.safetensors", "wb") as f:
        f.write(struct.pack("<Q", 1 << 40) + b"{}")
    np.save(f"{d}/f64.npy", np.zeros((1, 3, 224, 224), np.float64))
    np.save(f"{d}/shape.npy", np.zeros((1, 3, 224, 225), np.float32))
    np.save(f"{d}/good.npy", np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32))
    with open(f"{d}/good.npy", "rb") as f:
        raw = f.read()
    with open(f"{d}/truncated.npy", "wb") as f:
        f.write(raw[:-1000])


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
"""Where ONNX Runtime spends a forward pass, per node: the peer's side of
`batchbench profile`, for finding which layers a peer runs faster.

    peers/ort_profile.py --model efficientnet_v2_s --batch 8 [--threads 2] [--top 15]

Uses the model peers/vs_peers.py exported (run that first, or pass --onnx),
ORT's own profiler (SessionOptions.enable_profiling), --warmup untimed runs,
and reports the last run: total, time per op type, and the slowest nodes.
Run with .venv/bin/python (ONNX Runtime from PyPI, see scripts/install-deps.sh).
"""
import argparse
import collections
import json
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--head", default="features")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--onnx", default="", help="the .onnx file (default: vs_peers.py's cache)")
    ap.add_argument("--onnx-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "batchbench", "onnx"))
    args = ap.parse_args()
    import onnxruntime as ort
    path = args.onnx
    if not path:
        cands = sorted(f for f in os.listdir(args.onnx_dir) if f.startswith(f"{args.model}-{args.head}-")) \
            if os.path.isdir(args.onnx_dir) else []
        if not cands:
            sys.exit(f"ort_profile.py: no exported {args.model} in {args.onnx_dir}: run peers/vs_peers.py first")
        path = os.path.join(args.onnx_dir, cands[-1])
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join("/tmp", f"ort_profile_{os.getpid()}")
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=np.float32)
    for _ in range(args.warmup + 1):
        sess.run(None, {"x": x})
    prof = sess.end_profiling()
    with open(prof) as f:
        events = json.load(f)
    os.unlink(prof)
    last = [e for e in events if e.get("name") == "model_run"][-1]
    lo, hi = last["ts"], last["ts"] + last["dur"]
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and lo <= e["ts"] <= hi]
    by_op = collections.Counter()
    for e in nodes:
        by_op[e["args"]["op_name"]] += e["dur"]
    print(f"{args.model}, batch {args.batch}, {args.threads} threads, onnxruntime {ort.__version__}: "
          f"run {last['dur'] / 1e3:.2f} ms (profiled), {len(nodes)} nodes")
    for op, us in by_op.most_common():
        print(f"  {op:22s} {us / 1e3:9.3f} ms")
    print(f"slowest {args.top} nodes:")
    for e in sorted(nodes, key=lambda e: -e["dur"])[:args.top]:
        print(f"  {e['dur'] / 1e3:8.3f} ms  {e['args']['op_name']:12s} {e['name'][:-len('_kernel_time')]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

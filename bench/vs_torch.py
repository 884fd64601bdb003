#!/usr/bin/python3
"""Side-by-side speed: batchbench's CPU engine vs PyTorch (Debian's 1.13),
same model, head, batch size, thread count and input shape, interleaved.

For every (model, batch size) it alternates K rounds of
    batchbench infer --warmup W --reps R   (median forward time, subprocess)
    PyTorch forward x (W + R)              (median, in this process)
so drift on a noisy machine hits both alike, then quotes the median of the
round medians as time per item and the ratio ours / PyTorch (< 1: faster).

    bench/vs_torch.py --models all --batch-sizes 1,8 --threads 2
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

MODELS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2",
          "efficientnet_v2_s", "efficientnet_v2_l", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32"]


def ours_median(args, model, batch):
    cmd = [args.bin, "infer", "--model", model, "--batch", str(batch), "--head", args.head,
           "--threads", str(args.threads), "--warmup", str(args.warmup), "--reps", str(args.reps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"forward ([0-9.]+) ms", out)
    return float(m.group(1)) / 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--head", default="features")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "batchbench"))
    args = ap.parse_args()
    import torch
    import bb_torch
    import torch_time
    torch.set_num_threads(args.threads)
    models = MODELS if args.models == "all" else args.models.split(",")
    batches = [int(b) for b in args.batch_sizes.split(",")]
    print(f"threads {args.threads}, head {args.head}, {args.rounds} rounds x (warmup {args.warmup} + reps {args.reps}), "
          f"per-item ms, median of round medians; torch {torch.__version__}", flush=True)
    print(f"{'model':18s} {'batch':>5s} {'ours ms':>10s} {'torch ms':>10s} {'ours/torch':>10s}", flush=True)
    for m in models:
        tm = bb_torch.build_model(m, args.head)
        for b in batches:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(ours_median(args, m, b) / b)
                times = torch_time.time_model(tm, b, args.warmup, args.reps)
                theirs.append(statistics.median(times) / b)
            o, t = statistics.median(ours), statistics.median(theirs)
            print(f"{m:18s} {b:5d} {o * 1e3:10.2f} {t * 1e3:10.2f} {o / t:10.2f}", flush=True)
        del tm


if __name__ == "__main__":
    main()

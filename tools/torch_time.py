#!/usr/bin/python3
"""Time torchvision's forward pass: PyTorch's side of a side-by-side
comparison with batchbench.

  torch_time.py --models resnet50,vit_b_16 --batch-sizes 1,8 --threads 2 \\
                --warmup 3 --reps 10 [--head features|classifier] [--json]

For each model and batch size: build the model (weights=None, seeded random
weights via bb_torch.randomise_ so the numbers flowing through are realistic),
eval mode, torch.no_grad(), torch.set_num_threads(T); a fixed random input
[B, 3, 224, 224]; `warmup` untimed forwards, then `reps` forwards each timed
with time.perf_counter().  Prints the median per-item time in ms, or with
--json a JSON list of
  {model, head, batch_size, threads, times_s: [...], median_s, per_item_ms}.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bb_torch  # noqa: E402


def _int_list(s):
    try:
        out = [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}")
    if not out or any(v <= 0 for v in out):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {s!r}")
    return out


def time_model(model, batch, warmup, reps, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    x = torch.randn((batch, 3, 224, 224), generator=g, dtype=torch.float32)
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="comma-separated, e.g. resnet50,vit_b_16 (or 'all')")
    ap.add_argument("--batch-sizes", type=_int_list, default=[1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--head", choices=bb_torch.HEADS, default="classifier")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    args = ap.parse_args(argv)

    models = bb_torch.MODELS if args.models == "all" else args.models.split(",")
    for m in models:
        if m not in bb_torch.MODELS:
            ap.error(f"unknown model {m!r}; expected one of {bb_torch.MODELS}")
    if args.threads <= 0 or args.reps <= 0 or args.warmup < 0:
        ap.error("--threads and --reps must be positive, --warmup non-negative")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    results = []
    if not args.json:
        print(f"# torch {torch.__version__}, torchvision {torchvision.__version__}, {platform.machine()}, threads={args.threads}, "
              f"head={args.head}, warmup={args.warmup}, reps={args.reps}")
        print(f"{'model':18s} {'batch':>5s} {'median ms':>10s} {'per-item ms':>11s} {'min ms':>9s} {'max ms':>9s}")
    for name in models:
        model = bb_torch.build_model(name, args.head)
        bb_torch.randomise_(model, args.seed)
        for b in args.batch_sizes:
            times = time_model(model, b, args.warmup, args.reps, args.seed)
            med = statistics.median(times)
            r = {"model": name, "head": args.head, "batch_size": b, "threads": args.threads,
                 "times_s": times, "median_s": med, "per_item_ms": med * 1e3 / b}
            results.append(r)
            if not args.json:
                print(f"{name:18s} {b:5d} {med * 1e3:10.2f} {r['per_item_ms']:11.2f} "
                      f"{min(times) * 1e3:9.2f} {max(times) * 1e3:9.2f}", flush=True)
        del model
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

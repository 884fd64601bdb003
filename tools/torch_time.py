#!/usr/bin/python3
"""Time torchvision's forward pass: PyTorch's side of a side-by-side
comparison with batchbench.

  torch_time.py --models resnet50,vit_b_16 --batch-sizes 1,8 --threads 2 \\
                --warmup 3 --reps 10 [--head features|classifier] [--json]
                [--device cpu|cuda] [--precision fp32|tf32|fp16|bf16]

For each model and batch size: build the model (weights=None, seeded random
weights via bb_torch.randomise_ so the numbers flowing through are realistic),
eval mode, torch.no_grad(), torch.set_num_threads(T); a fixed random input
[B, 3, 224, 224]; `warmup` untimed forwards, then `reps` forwards each timed
with time.perf_counter().  Prints the median per-item time in ms, or with
--json a JSON list of
  {model, head, batch_size, threads, device, precision, times_s: [...],
   input_copy_s: [...], median_s, per_item_ms}.

--device cuda (time_model_cuda): the model on the GPU in --precision (see
torch_gpu.py: fp32 strict, tf32, or fp16/bf16 weights and input),
torch.inference_mode(); the seeded batch sits in pinned host memory and
each pass first copies it to the device (timed on its own with CUDA events:
input_copy_s), casts it there for fp16/bf16 (untimed), then times model(x)
alone between two CUDA events (times_s). The CPU path (time_model) is
unchanged: --precision fp32 only.

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
import torch_gpu  # noqa: E402


def _int_list(s):
    try:
        out = [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}")
    if not out or any(v <= 0 for v in out):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {s!r}")
    return out


def time_model(model, batch, warmup, reps, seed=0, batches=None, memory_format=None):
    """Times model(x) on the CPU. batches (optional): i -> the i-th measured
    batch (a stored data set, read outside the clock, as the seed's
    DataLoader); the warm-up always runs on the seeded random batch.
    memory_format (e.g. torch.channels_last): the layout x is laid out in
    before each pass, untimed."""
    g = torch.Generator()
    g.manual_seed(seed)
    fmt = memory_format or torch.contiguous_format
    x = torch.randn((batch, 3, 224, 224), generator=g, dtype=torch.float32).contiguous(memory_format=fmt)
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        for i in range(reps):
            if batches is not None:
                x = batches(i).contiguous(memory_format=fmt)
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return times


def time_model_cuda(model, batch, warmup, reps, seed=0, dtype=None, batches=None, memory_format=None):
    """Times model(x) on the current CUDA device; the model must already be
    there, in `dtype`. Per pass: pinned host batch -> device copy between
    CUDA events e0, e1; cast to dtype (fp16/bf16; untimed); model(x) between
    e2, e3; synchronize. Warm-up passes run the same way, untimed (the first
    does cuDNN's algorithm search under cudnn.benchmark). The peak memory
    statistics are reset before the input is allocated and again after the
    warm-up, so peak_bytes is the steady state of the measured passes
    (weights, input, activations, workspaces; not the algorithm search).
    Returns {"times_s", "input_copy_s", "peak_bytes"}. CUDA errors (out of
    memory included) propagate; the tensors here stay alive as long as the
    exception's traceback does, so a caller that goes on should let go of
    the exception, then torch.cuda.empty_cache() (as torch_bench.py does).
    batches (optional): i -> the i-th measured batch, copied into the pinned
    host batch before the pass (untimed); the warm-up stays random.
    memory_format (e.g. torch.channels_last): x's layout on the device; the
    copy from the staged batch into it is the untimed cast step."""
    dtype = dtype or torch.float32
    fmt = memory_format or torch.contiguous_format
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    g = torch.Generator()
    g.manual_seed(seed)
    host = torch.randn((batch, 3, 224, 224), generator=g, dtype=torch.float32).pin_memory()
    times, copies = [], []
    with torch.inference_mode():
        staged = torch.empty(host.shape, dtype=torch.float32, device="cuda")
        same = dtype == torch.float32 and fmt == torch.contiguous_format
        x = staged if same else torch.empty(host.shape, dtype=dtype, device="cuda").contiguous(memory_format=fmt)
        e0, e1, e2, e3 = (torch.cuda.Event(enable_timing=True) for _ in range(4))
        for i in range(warmup + reps):
            if i == warmup:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            if i >= warmup and batches is not None:
                host.copy_(batches(i - warmup))
            e0.record()
            staged.copy_(host, non_blocking=True)
            e1.record()
            if x is not staged:
                x.copy_(staged)
            e2.record()
            model(x)
            e3.record()
            torch.cuda.synchronize()
            if i >= warmup:
                copies.append(e0.elapsed_time(e1) / 1e3)
                times.append(e2.elapsed_time(e3) / 1e3)
    return {"times_s": times, "input_copy_s": copies, "peak_bytes": torch.cuda.max_memory_allocated()}


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
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=torch_gpu.PRECISIONS, default="fp32",
                    help="fp32 (default; the only one on cpu), tf32, fp16, bf16 (cuda)")
    args = ap.parse_args(argv)
    if args.device == "cpu" and args.precision != "fp32":
        ap.error(f"--precision {args.precision} needs --device cuda (the CPU path runs fp32 only)")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_time.py: --device cuda, but torch.cuda.is_available() is False", file=sys.stderr)
        return 1

    models = bb_torch.MODELS if args.models == "all" else args.models.split(",")
    for m in models:
        if m not in bb_torch.MODELS:
            ap.error(f"unknown model {m!r}; expected one of {bb_torch.MODELS}")
    if args.threads <= 0 or args.reps <= 0 or args.warmup < 0:
        ap.error("--threads and --reps must be positive, --warmup non-negative")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cuda = args.device == "cuda"
    dtype, math_mode = torch_gpu.setup_precision(args.precision) if cuda else (torch.float32, "fp32")
    results = []
    if not args.json:
        print(f"# torch {torch.__version__}, torchvision {torchvision.__version__}, {platform.machine()}, threads={args.threads}, "
              f"head={args.head}, warmup={args.warmup}, reps={args.reps}, device={args.device}, {math_mode}")
        print(f"{'model':18s} {'batch':>5s} {'median ms':>10s} {'per-item ms':>11s} {'min ms':>9s} {'max ms':>9s}"
              + (f" {'copy ms':>9s}" if cuda else ""))
    for name in models:
        model = bb_torch.build_model(name, args.head)
        bb_torch.randomise_(model, args.seed)
        if cuda:
            model = model.to("cuda", dtype)
        for b in args.batch_sizes:
            if cuda:
                t = time_model_cuda(model, b, args.warmup, args.reps, args.seed, dtype)
                times, copies = t["times_s"], t["input_copy_s"]
            else:
                times, copies = time_model(model, b, args.warmup, args.reps, args.seed), []
            med = statistics.median(times)
            r = {"model": name, "head": args.head, "batch_size": b, "threads": args.threads,
                 "device": args.device, "precision": args.precision, "times_s": times,
                 "input_copy_s": copies, "median_s": med, "per_item_ms": med * 1e3 / b}
            results.append(r)
            if not args.json:
                copy = f" {statistics.median(copies) * 1e3:9.2f}" if copies else ""
                print(f"{name:18s} {b:5d} {med * 1e3:10.2f} {r['per_item_ms']:11.2f} "
                      f"{min(times) * 1e3:9.2f} {max(times) * 1e3:9.2f}{copy}", flush=True)
        del model
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

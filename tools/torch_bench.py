#!/usr/bin/python3
"""PyTorch's side of a side-by-side sweep, in batchbench's result schema.

Runs the same sweep as `batchbench run` (models, head, batch sizes, warm-up,
measured batches, threads) with torchvision's models in PyTorch and writes
one JSON per (model, batch size) with engine "pytorch" into --out, plus
nothing else; `batchbench plot DIR_OURS DIR_TORCH` then draws both and the
ratio chart, `batchbench report` compares them.

    tools/torch_bench.py --models resnet18,vit_b_32 --batch-sizes 1,8 \\
        --warmup 2 --reps 10 --threads 2 --out results-pytorch

Only the forward pass is timed. --device cpu (default): time.perf_counter
around model(x) under torch.no_grad(), eval mode, --threads; fp32 only.
--device cuda --precision fp32|tf32|fp16|bf16: the model on the GPU
(torch_gpu.py: strict fp32, TF32, or model.to(float16/bfloat16)),
torch.inference_mode(), cudnn.benchmark; each pass copies the pinned host
batch to the device (timed with CUDA events into "input_copy_s", not part of
the time) and times model(x) alone with CUDA events ("times_s"); see
torch_time.time_model_cuda. "memory" is from torch.cuda's allocator
statistics (torch_gpu.memory). A configuration that runs out of GPU memory
is written with status "oom" (no stats, times_s []), its memory freed, and
the sweep goes on; any other failure is written as "error". Exit 1 when a
configuration did not end "ok", 2 on bad arguments.

--engine pytorch (default): eager, NCHW, as above. --engine
pytorch-compile: PyTorch at its best for inference, the engine the GPU
comparison (scripts/gpu-vs-peers.sh) holds batchbench to: the model in
channels_last, torch.compile(mode=--compile-mode, default max-autotune,
dynamic=False), the input laid out channels_last in the untimed cast step.
Each batch size is compiled (and autotuned) by one untimed call before the
warm-up; its seconds are the result's "build_s" (also in prepare_s), never
part of the per-item time. Where torch.compile is missing (PyTorch before
2.0, e.g. Debian 12's 1.13) or fails, each configuration is written with
status "error" and the reason, and the sweep goes on.

On this repository's machines: /usr/bin/python3 (Debian's CPU torch); on a
GPU server: a python3 with a CUDA build of torch and torchvision.
"""
import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SCHEMA_VERSION = 1
ENGINES = ("pytorch", "pytorch-compile")
CONV = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2",
        "efficientnet_v2_s", "efficientnet_v2_l"}


def ci_ranks(n):
    """1-based ranks (j, n+1-j) of the narrowest symmetric order-statistic
    interval covering the median with >= 95% (binomial(n, 1/2)); as in
    src/bench/stats.c. None for n < 6."""
    best = None
    for j in range(1, n // 2 + 1):
        cover = sum(math.comb(n, i) for i in range(j, n - j + 1)) / 2 ** n
        if cover >= 0.95:
            best = j
    return (best, n + 1 - best) if best else None


def percentile(s, q):
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def stats(times, batch, macs):
    s = sorted(times)
    n = len(s)
    med = percentile(s, 0.5)
    mean = sum(s) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    r = ci_ranks(n)
    lo, hi = (s[r[0] - 1], s[r[1] - 1]) if r else (s[0], s[-1])
    return {"n": n, "median_s": med, "mean_s": mean, "std_s": std, "min_s": s[0], "max_s": s[-1],
            "p5_s": percentile(s, 0.05), "p95_s": percentile(s, 0.95), "ci95_median_lo_s": lo,
            "ci95_median_hi_s": hi, "cv": std / mean if mean > 0 else 0.0, "per_item_median_s": med / batch,
            "items_per_s": batch / med, "gflops": 2.0 * macs * batch / med / 1e9 if macs else None}


def cpu_flags():
    """The CPU's model name and feature flags, from /proc/cpuinfo (unknown, none when unreadable)."""
    cpu, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return cpu, flags


def git_commit():
    """The commit of the checkout this tool runs from, "-dirty" when tracked files differ, else "unknown"."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(["git", "-C", here, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "") if head else "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment(threads, tool="tools/torch_bench.py"):
    import torch
    cpu, flags = cpu_flags()
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) * 1024
    except (OSError, AttributeError):
        pass
    return {"host": socket.gethostname(), "cpu_model": cpu, "os": platform.platform(),
            "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
            "compiler": f"python {platform.python_version()}", "onednn": f"torch {torch.__version__}",
            "batchbench_version": tool, "git_commit": git_commit(),
            "cores_logical": os.cpu_count() or 0, "threads_used": threads, "mem_total_bytes": mem,
            "has_avx512": "avx512f" in flags, "has_avx512_bf16": "avx512_bf16" in flags,
            "has_amx": "amx_tile" in flags, "gpu": None}


def model_macs(bin_path, head):
    """MACs per item from `batchbench models --json` (0 when not available)."""
    try:
        out = subprocess.run([bin_path, "models", "--json", "--head", head], capture_output=True, text=True,
                             check=True).stdout
        return {m["model"]: m["macs_per_item"] for m in json.loads(out)}
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}


def write_atomic(path, obj):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def identity_key(r):
    """The result's identity, as src/results/result_identity.c forms it
    (these engines have no backend options)."""
    c = r["config"]
    threads = 0 if c["device"] != "cpu" else c["threads"]
    return (f"model={c['model']};batch_size={c['batch_size']};host={r['environment']['host']};"
            f"device={c['device']};precision={c['precision']};head={c['head']};engine={c['engine']};"
            f"input={c['input_source']};threads={threads};options="
            + (f";model_sha256={c['model_sha256']}" if c.get("model_sha256") else ""))


def result_filename(r):
    """The file name batchbench gives a result of this identity: the seed's
    name with a tag for each non-default part (result_identity.h), so that a
    peer's result never takes the name of batchbench's."""
    c, clean = r["config"], (lambda s: re.sub(r"[^A-Za-z0-9._-]", "_", str(s)) or "unknown")
    tags = "".join(t for t, on in ((f"-sha256-{str(c.get('model_sha256'))[:8]}", bool(c.get("model_sha256"))),
                                   (f"-{clean(c['precision'])}", c["precision"] != "fp32"),
                                   (f"-{clean(c['head'])}", c["head"] not in ("features", "graph")),
                                   (f"-engine-{clean(c['engine'])}", c["engine"] != "batchbench"),
                                   ("-dataset", c["input_source"] != "random")) if on)
    return (f"inference_time-{clean(r['environment']['host'])}-{clean(c['device'])}-model_name-"
            f"{clean(c['model'])}-batch_size-{c['batch_size']}{tags}.json")


def result(args, env, name, batch, params, macs, run, engine="pytorch", tool="tools/torch_bench.py"):
    """One result file; `run` holds status, message, math_mode, prepare_s,
    times_s, input_copy_s and memory. peers/vs_peers.py writes its engines'
    files through here too (engine "batchbench" / "onnxruntime")."""
    times = run["times_s"]
    r = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": tool, "version": "1", "git_commit": env.get("git_commit", "unknown")},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": run["status"], "message": run["message"],
        "config": {"model": name, "family": "conv" if name in CONV else "transformer", "head": args.head,
                   "device": args.device, "engine": engine, "precision": args.precision,
                   "math_mode": run["math_mode"], "input_source": "dataset" if getattr(args, "data", None) else "random",
                   "data_dir": getattr(args, "data", None) or "", "batch_size": batch, "warmup": args.warmup, "reps": args.reps,
                   "min_time_s": 0, "max_time_s": 0, "threads": args.threads, "seed": args.seed},
        "environment": env,
        "model": {"params": params, "macs_per_item": macs, "gmac_per_item": macs / 1e9, "feature_dim": 0,
                  "weight_bytes": params * 4, "activation_bytes": 0},
        "prepare_s": run["prepare_s"],
        "memory": run["memory"],
        "build_s": run.get("build_s"),
        "stats": stats(times, batch, macs) if times else None,
        "times_s": times,
        "input_copy_s": run["input_copy_s"],
    }
    if not times:
        del r["stats"]  # present only when times_s is not empty
    if r["build_s"] is None:
        del r["build_s"]  # only engines that compile or build per batch size have it
    r["config"]["identity"] = identity_key(r)
    return r


def failure(exc):
    """(status, message) of a failed configuration: "oom" or "error"."""
    import torch_gpu
    first = (str(exc).strip().splitlines() or [""])[0]
    return ("oom", first) if torch_gpu.is_oom(exc) else ("error", f"{type(exc).__name__}: {first}")


def release(cuda):
    """Give memory back after a failure or a finished model."""
    gc.collect()
    if cuda:
        import torch
        torch.cuda.empty_cache()


def dataset_batches(data_dir, batch):
    """i -> batch i of a preprocessed batchbench data set (manifest.json and
    raw float32 shards, src/data/dataset.h): items i*batch ... wrapping
    around the end, read in order as a DataLoader without shuffling would."""
    import numpy as np
    import torch
    with open(os.path.join(data_dir, "manifest.json")) as f:
        m = json.load(f)
    if m.get("kind", "preprocessed") != "preprocessed":
        raise SystemExit(f"torch_bench.py: --data {data_dir}: kind {m['kind']!r}; only preprocessed sets are read")
    shards = [np.memmap(os.path.join(data_dir, s), dtype=np.float32, mode="r").reshape(-1, 3, 224, 224)
              for s in m["shards"]]
    items, per = int(m["items"]), int(m["items_per_shard"])

    def get(i):
        idx = [(i * batch + k) % items for k in range(batch)]
        return torch.from_numpy(np.stack([shards[j // per][j % per] for j in idx]))
    return get


def engine_name(args):
    """config.engine: "pytorch", "pytorch-compile" (mode max-autotune) or
    "pytorch-compile-<mode>", so that results of two modes never share an
    identity or a file."""
    if args.engine == "pytorch" or args.compile_mode == "max-autotune":
        return args.engine
    return f"{args.engine}-{args.compile_mode}"


def compile_unavailable():
    """Why --engine pytorch-compile cannot run here (None: it can)."""
    import torch
    if not hasattr(torch, "compile"):
        return f"torch.compile is not in PyTorch {torch.__version__} (it came with 2.0)"
    return None


def engine_model(args, model):
    """The module timed: eager as is, or channels_last + torch.compile (lazy:
    each input shape compiles on its first call, see first_call)."""
    if args.engine == "pytorch":
        return model
    import torch
    dynamo = getattr(torch, "_dynamo", None)
    if dynamo is not None:
        dynamo.reset()  # the previous model's compiled code goes
        for knob in ("cache_size_limit", "recompile_limit"):  # one compile per batch size, all kept
            if hasattr(dynamo.config, knob):
                setattr(dynamo.config, knob, max(getattr(dynamo.config, knob), 64))
    return torch.compile(model.to(memory_format=torch.channels_last), mode=args.compile_mode, dynamic=False)


def first_call(args, model, batch, dtype):
    """Seconds of one untimed call at this batch's shape: for pytorch-compile
    the trace, compile and autotuning of that shape (the result's build_s);
    None for eager, which has nothing to build."""
    if args.engine == "pytorch":
        return None
    import torch
    cuda = args.device == "cuda"
    x = torch.randn((batch, 3, 224, 224), dtype=dtype, device="cuda" if cuda else "cpu")
    x = x.contiguous(memory_format=torch.channels_last)
    t0 = time.perf_counter()
    with (torch.inference_mode() if cuda else torch.no_grad()):
        model(x)
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(args, model, batch, dtype):
    """(times_s, input_copy_s, peak_bytes, build_s) of one configuration."""
    import torch
    import torch_time
    batches = dataset_batches(args.data, batch) if args.data else None
    fmt = torch.channels_last if args.engine == "pytorch-compile" else None
    build = first_call(args, model, batch, dtype)
    if args.device == "cpu":
        return torch_time.time_model(model, batch, args.warmup, args.reps, args.seed, batches, fmt), [], 0, build
    t = torch_time.time_model_cuda(model, batch, args.warmup, args.reps, args.seed, dtype, batches, fmt)
    return t["times_s"], t["input_copy_s"], t["peak_bytes"], build


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--batch-sizes", default="1,2,4,8")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--head", choices=["features", "classifier"], default="features")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["fp32", "tf32", "fp16", "bf16"], default="fp32",
                    help="fp32 (default; the only one on cpu), tf32, fp16, bf16 (cuda)")
    ap.add_argument("--out", default="results-pytorch")
    ap.add_argument("--data", default=None,
                    help="a preprocessed batchbench data set: each measured batch is its next one, read outside "
                         "the clock (the warm-up stays random), as batchbench run --input dataset")
    ap.add_argument("--engine", choices=ENGINES, default="pytorch",
                    help="pytorch: eager, NCHW (default); pytorch-compile: channels_last + torch.compile")
    ap.add_argument("--compile-mode", default="max-autotune",
                    choices=["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"],
                    help="torch.compile's mode for --engine pytorch-compile (default max-autotune)")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "batchbench"),
                    help="batchbench binary, for the MAC counts (and the GPU block: env --device cuda)")
    args = ap.parse_args()
    if args.device == "cpu" and args.precision != "fp32":
        ap.error(f"--precision {args.precision} needs --device cuda (the CPU path runs fp32 only)")
    import torch
    import bb_torch
    import torch_gpu
    models = args.models.split(",")
    unknown = [m for m in models if m not in bb_torch.MODELS]
    if unknown:
        ap.error(f"unknown model {unknown[0]!r}; expected one of {','.join(bb_torch.MODELS)}")
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("torch_bench.py: --device cuda, but torch.cuda.is_available() is False", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    dtype, math_mode = torch_gpu.setup_precision(args.precision) if cuda else (torch.float32, "fp32 (PyTorch CPU)")
    if args.engine == "pytorch-compile":
        math_mode += f", channels_last, torch.compile(mode={args.compile_mode})"
    cant_compile = compile_unavailable() if args.engine == "pytorch-compile" else None
    os.makedirs(args.out, exist_ok=True)
    env, macs = environment(args.threads), model_macs(args.bin, args.head)
    env["gpu"] = torch_gpu.gpu_environment(args.bin, args.precision) if cuda else None
    not_ok = 0
    for name in models:
        model, params, prep, err, wbytes = None, 0, 0.0, None, 0
        t0 = time.perf_counter()
        try:
            model = bb_torch.build_model(name, args.head)
            params = sum(p.numel() for p in model.parameters())
            if cuda:
                model = model.to("cuda", dtype)
                torch.cuda.synchronize()
            if cant_compile:
                raise RuntimeError(cant_compile)
            wbytes = torch_gpu.weight_bytes(model)
            model = engine_model(args, model)
            prep = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - recorded in the result files
            model, err = None, failure(e)
        if err:
            release(cuda)
        wbytes = wbytes if model is not None else 0
        for b in (int(x) for x in args.batch_sizes.split(",")):
            times, copies, peak, build, (status, message) = [], [], 0, None, err or ("ok", "")
            if not err:
                try:
                    times, copies, peak, build = measure(args, model, b, dtype)
                except Exception as e:  # noqa: BLE001 - recorded in the result file, sweep goes on
                    status, message = failure(e)
            if status != "ok":
                times, copies = [], []
                release(cuda)
                peak = torch.cuda.max_memory_allocated() if cuda else 0
                not_ok += 1
            run = {"status": status, "message": message, "math_mode": math_mode, "times_s": times,
                   "input_copy_s": copies, "memory": torch_gpu.memory(wbytes, peak),
                   "prepare_s": prep + (build or 0.0), "build_s": build}
            r = result(args, env, name, b, params, macs.get(name, 0), run, engine=engine_name(args))
            path = os.path.join(args.out, result_filename(r))
            write_atomic(path, r)
            if status == "ok":
                extra = (f"  copy {percentile(sorted(copies), 0.5) * 1e3:.3f} ms, peak {peak / 2**20:.0f} MiB"
                         if cuda else "") + (f", compiled in {build:.1f} s" if build is not None else "")
                print(f"{name:18s} batch {b:5d} {r['stats']['per_item_median_s'] * 1e3:10.3f} ms/item{extra}  {path}",
                      flush=True)
            else:
                print(f"{name:18s} batch {b:5d} {status.upper()}: {message}  {path}", flush=True)
        model = None
        release(cuda)
    return 1 if not_ok else 0


if __name__ == "__main__":
    sys.exit(main())

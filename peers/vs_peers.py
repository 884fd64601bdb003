#!/usr/bin/python3
"""Side-by-side CPU speed: batchbench vs PyTorch vs ONNX Runtime.

Same model (torchvision's, features only by default), batch size, thread
count and input batch for all three. For every (model, batch size) it runs
--rounds rounds, each round interleaving the engines (A B C A B C ...) so
that drift on a noisy machine hits all alike:

    batchbench   `batchbench infer --input X.npy --warmup W --reps R`
                 (a subprocess; its per-pass times from the 'times_ms' line)
    pytorch      model(x) under torch.no_grad(), W untimed + R timed passes
    onnxruntime  the model exported by torch.onnx (opset 17, dynamic batch;
                 cached in --onnx-dir), InferenceSession on the CPU provider,
                 intra-op threads = --threads, one inter-op thread

and prints per engine the median over rounds of the per-round median time
per item, batchbench's GFLOP/s (2 x MACs / time) with its share of the
machine's sgemm peak (`batchbench peak`), and the ratios batchbench/peer
(< 1: batchbench is faster). X is one seeded torch.randn batch, written as
.npy for batchbench and handed to the peers as is.

--out DIR also writes every engine's configurations in batchbench's result
schema (DIR/batchbench, DIR/pytorch, DIR/onnxruntime; all measured passes
of all rounds in times_s), so `batchbench report DIR/*` and `batchbench plot
DIR/*` compare them.

    peers/vs_peers.py --models all --batch-sizes 1,8 --threads 2 --out results-peers

Needs Debian's python3-torch / python3-torchvision and the `onnxruntime`
package from PyPI; `scripts/install-deps.sh` puts it into .venv/ (made with
--system-site-packages), which this script re-runs itself under when its
own interpreter lacks onnxruntime. --engines batchbench,pytorch skips ONNX
Runtime. Exit 0 ok, 1 a run failed, 2 bad arguments.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
ENGINES = ["batchbench", "pytorch", "onnxruntime"]


def reexec_with_onnxruntime(engines):
    """Re-runs this script under .venv/bin/python when onnxruntime is needed
    and missing here but installed there."""
    if "onnxruntime" not in engines:
        return
    try:
        import onnxruntime  # noqa: F401
        return
    except ImportError:
        pass
    venv_py = os.path.join(ROOT, ".venv", "bin", "python")
    if os.path.exists(venv_py) and os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv")):
        os.execv(venv_py, [venv_py, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("vs_peers.py: --engines includes onnxruntime, but it is not installed for "
             f"{sys.executable}; run scripts/install-deps.sh (it installs it into .venv/) "
             "or pass --engines batchbench,pytorch")


class Batchbench:
    name = "batchbench"

    def __init__(self, args, model, x_path):
        self.args, self.model, self.x_path = args, model, x_path

    def run(self):
        a = self.args
        cmd = [a.bin, "infer", "--model", self.model, "--input", self.x_path, "--head", a.head,
               "--threads", str(a.threads), "--warmup", str(a.warmup), "--reps", str(a.reps)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        m = re.search(r"^times_ms (.*)$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
        return [float(v) / 1e3 for v in m.group(1).split()]


class Pytorch:
    name = "pytorch"

    def __init__(self, args, model, x):
        self.args, self.model, self.x = args, model, x

    def run(self):
        import torch
        times = []
        with torch.no_grad():
            for i in range(self.args.warmup + self.args.reps):
                t0 = time.perf_counter()
                self.model(self.x)
                if i >= self.args.warmup:
                    times.append(time.perf_counter() - t0)
        return times


def onnx_file(args, name, torch_model):
    """The model exported once per (model, head, torch version), cached."""
    import torch
    os.makedirs(args.onnx_dir, exist_ok=True)
    path = os.path.join(args.onnx_dir, f"{name}-{args.head}-torch{torch.__version__}-opset17.onnx")
    if not os.path.exists(path):
        tmp = f"{path}.tmp.{os.getpid()}"
        x = torch.zeros((1, 3, 224, 224))
        with warnings.catch_warnings():  # the tracer's notes on ViT's shape asserts
            warnings.simplefilter("ignore")
            torch.onnx.export(torch_model, x, tmp, opset_version=17, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, do_constant_folding=True)
        os.replace(tmp, path)
    return path


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, args, path, x):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.args, self.feed = args, {"x": x}

    def run(self):
        times = []
        for i in range(self.args.warmup + self.args.reps):
            t0 = time.perf_counter()
            self.sess.run(None, self.feed)
            if i >= self.args.warmup:
                times.append(time.perf_counter() - t0)
        return times


def environments(args):
    """The environment block each engine's result files record."""
    import torch_bench
    out = subprocess.run([args.bin, "env", "--json", "--threads", str(args.threads)], capture_output=True,
                         text=True, check=True).stdout
    envs = {"batchbench": json.loads(out)}
    envs["pytorch"] = torch_bench.environment(args.threads)
    envs["onnxruntime"] = torch_bench.environment(args.threads)
    if "onnxruntime" in args.engines:
        import onnxruntime as ort
        envs["onnxruntime"]["onednn"] = f"onnxruntime {ort.__version__} (CPUExecutionProvider)"
    envs["pytorch"]["batchbench_version"] = envs["onnxruntime"]["batchbench_version"] = "peers/vs_peers.py"
    for e in envs.values():  # one machine: every engine's "% of peak" divides by the same figure
        e["peak_gflops"] = args.peak_gflops
        e["peak_source"] = f"batchbench peak: dnnl_sgemm 2048^3, {args.threads} threads" if args.peak_gflops else ""
    return envs


def write_results(args, envs, name, batch, params, macs, times):
    import torch_bench
    for eng, t in times.items():
        args.device, args.precision = "cpu", "fp32"
        run = {"status": "ok", "message": "", "math_mode": "fp32", "times_s": t, "input_copy_s": [],
               "memory": None, "prepare_s": 0.0}
        r = torch_bench.result(args, envs[eng], name, batch, params, macs, run, engine=eng,
                               tool="peers/vs_peers.py")
        d = os.path.join(args.out, eng)
        os.makedirs(d, exist_ok=True)
        torch_bench.write_atomic(os.path.join(d, torch_bench.result_filename(r)), r)


def measure_peak(args):
    out = subprocess.run([args.bin, "peak", "--json", "--threads", str(args.threads)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["sgemm_gflops"]


def model_facts(args):
    out = subprocess.run([args.bin, "models", "--json", "--head", args.head], capture_output=True, text=True,
                         check=True).stdout
    return {m["model"]: m for m in json.loads(out)}


def compare(args, name, facts, envs, tmpdir):
    import numpy as np
    import torch
    import bb_torch
    tm = bb_torch.randomise_(bb_torch.build_model(name, args.head), args.seed)
    path = onnx_file(args, name, tm) if "onnxruntime" in args.engines else None
    macs = facts[name]["macs_per_item"]
    params = sum(p.numel() for p in tm.parameters())
    for b in args.batch_sizes:
        g = torch.Generator()
        g.manual_seed(args.seed + b)
        x = torch.randn((b, 3, 224, 224), generator=g, dtype=torch.float32)
        x_path = os.path.join(tmpdir, f"x{b}.npy")
        np.save(x_path, x.numpy())
        runners = {"batchbench": lambda: Batchbench(args, name, x_path), "pytorch": lambda: Pytorch(args, tm, x),
                   "onnxruntime": lambda: OnnxRuntime(args, path, x.numpy())}
        engines = [runners[e]() for e in args.engines]
        rounds = {e.name: [] for e in engines}
        for _ in range(args.rounds):
            for e in engines:
                rounds[e.name].append(e.run())
        per_item = {k: statistics.median(statistics.median(r) for r in v) / b for k, v in rounds.items()}
        yield b, per_item, macs
        if args.out:
            write_results(args, envs, name, b, params, macs, {k: [t for r in v for t in r] for k, v in rounds.items()})
        del engines


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all", help="comma-separated torchvision names, or 'all'")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--head", choices=["features", "classifier"], default="features")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", default=",".join(ENGINES), help="subset of " + ",".join(ENGINES))
    ap.add_argument("--out", default="", help="also write result files per engine under DIR/<engine>/")
    ap.add_argument("--onnx-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "batchbench", "onnx"))
    ap.add_argument("--no-peak", action="store_true", help="skip `batchbench peak` (no %% of peak column)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "batchbench"))
    args = ap.parse_args()
    import bb_torch
    args.models = bb_torch.MODELS if args.models == "all" else args.models.split(",")
    bad = [m for m in args.models if m not in bb_torch.MODELS]
    if bad:
        ap.error(f"--models: unknown model {bad[0]!r}; expected one of {','.join(bb_torch.MODELS)}")
    args.engines = args.engines.split(",")
    if any(e not in ENGINES for e in args.engines) or "batchbench" not in args.engines:
        ap.error(f"--engines: expected batchbench plus any of pytorch,onnxruntime, got {','.join(args.engines)}")
    try:
        args.batch_sizes = [int(v) for v in args.batch_sizes.split(",")]
    except ValueError:
        ap.error(f"--batch-sizes: expected comma-separated integers, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1 or args.threads < 1 or args.reps < 1 or args.rounds < 1 or args.warmup < 0:
        ap.error("--batch-sizes, --threads, --reps and --rounds must be positive, --warmup non-negative")
    if not os.access(args.bin, os.X_OK):
        ap.error(f"--bin: {args.bin} is not an executable (run make first)")
    return args


def main():
    args = parse_args()
    reexec_with_onnxruntime(args.engines)
    import torch
    torch.set_num_threads(args.threads)
    args.peak_gflops = None if args.no_peak else measure_peak(args)
    facts, envs = model_facts(args), environments(args)
    peers = [e for e in args.engines if e != "batchbench"]
    print(f"threads {args.threads}, head {args.head}, {args.rounds} rounds x (warmup {args.warmup} + reps {args.reps}) "
          f"per engine, interleaved; ms per item = median of round medians; torch {torch.__version__}"
          + (f", {envs['onnxruntime']['onednn']}" if "onnxruntime" in peers else "")
          + (f"; sgemm peak {args.peak_gflops:.1f} GFLOP/s" if args.peak_gflops else ""), flush=True)
    head = f"{'model':18s} {'batch':>5s} " + " ".join(f"{e + ' ms':>14s}" for e in args.engines)
    head += f" {'GFLOP/s':>8s} {'% peak':>6s}" + "".join(f" {'bb/' + p[:5]:>9s}" for p in peers)
    print(head, flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        for name in args.models:
            for b, per_item, macs in compare(args, name, facts, envs, tmpdir):
                ours = per_item["batchbench"]
                gf = 2.0 * macs / ours / 1e9
                pk = f"{100 * gf / args.peak_gflops:5.0f}%" if args.peak_gflops else f"{'-':>6s}"
                line = f"{name:18s} {b:5d} " + " ".join(f"{per_item[e] * 1e3:14.2f}" for e in args.engines)
                line += f" {gf:8.1f} {pk}" + "".join(f" {ours / per_item[p]:9.2f}" for p in peers)
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (subprocess.CalledProcessError, RuntimeError) as e:
        print(f"vs_peers.py: {e}", file=sys.stderr)
        sys.exit(1)

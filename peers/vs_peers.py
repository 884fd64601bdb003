#!/usr/bin/python3
"""Side-by-side CPU speed: batchbench vs PyTorch vs ONNX Runtime.

Same model (torchvision's, features only by default), batch size, thread
count and input batch for all engines. For every (model, batch size) it runs
--rounds rounds, each round interleaving the engines (A B C A B C ...) so
that drift on a noisy machine hits all alike:

    batchbench       `batchbench infer --model NAME --head H --input X.npy --warmup W
                     --reps R` (a subprocess; its per-pass times from the
                     'times_ms' line): the model built into batchbench
    pytorch          model(x) under torch.no_grad(), W untimed + R timed passes
    onnxruntime      the model exported by torch.onnx (tools/bb_onnx.py: opset 17,
                     dynamic batch; cached in --onnx-dir), InferenceSession on the
                     CPU provider, intra-op threads = --threads, one inter-op thread
    batchbench-onnx  `batchbench infer --model F.onnx --input X.npy --warmup W
                     --reps R`: batchbench's engine running its import of the
                     very file onnxruntime runs (same export, same weights,
                     same head); not in the default --engines

and prints per engine the median over rounds of the per-round median time
per item, batchbench's GFLOP/s (2 x MACs / time; the built-in engine's, or
batchbench-onnx's where the built-in does not run) with its share of the
machine's sgemm peak (`batchbench peak`), the ratios batchbench/peer (< 1:
batchbench is faster), and with batchbench-onnx the ratios
batchbench-onnx/onnxruntime (the two engines on one file) and
batchbench-onnx/batchbench (the importer against the hand-built model, same
head). X is one seeded torch.randn batch, written as .npy for batchbench and
handed to the peers as is.

Models: the 12 of batchbench's zoo, or any torchvision classification model
(e.g. densenet121, swin_t, inception_v3 at 3x299x299): those only run on
batchbench-onnx, pytorch and onnxruntime (the built-in engine is skipped,
which the output says), so --engines must include batchbench-onnx. --head
features removes the classification layer: for the zoo as batchbench does,
elsewhere the last nn.Linear (tools/bb_onnx.py). MACs of models outside the
zoo are counted on the exported graph (Conv, Gemm, MatMul).

A path ending in .onnx is your own model: ONNX Runtime and batchbench-onnx
run that file as it is (nothing is exported; pytorch and the built-in
engine are skipped), on a seeded batch of the file's input shape; its
parameters and MACs are batchbench's (`batchbench models --describe`), and
its result files carry the file's name and SHA-256, as `batchbench run`'s
do:

    peers/vs_peers.py --models my_model.onnx --engines batchbench-onnx,onnxruntime --batch-sizes 1,8,32

--out DIR also writes every engine's configurations in batchbench's result
schema (DIR/batchbench, DIR/pytorch, DIR/onnxruntime, DIR/batchbench-onnx;
all measured passes of all rounds in times_s), so `batchbench report DIR/*`
and `batchbench plot DIR/*` compare them.

    peers/vs_peers.py --models all --batch-sizes 1,8 --threads 2 --out results-peers
    peers/vs_peers.py --models resnet50,densenet121 --engines batchbench,batchbench-onnx,onnxruntime

Needs Debian's python3-torch / python3-torchvision and the `onnxruntime`
package from PyPI; `scripts/install-deps.sh` puts it into .venv/ (made with
--system-site-packages), which this script re-runs itself under when its
own interpreter lacks onnxruntime (tools/bb_venv.py). --engines
batchbench,pytorch skips ONNX Runtime. A model that fails (export, an
engine's refusal) prints one 'failed' row with the reason, and the other
models still run. Exit 0 ok, 1 a model failed, 2 bad arguments.
"""
import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import bb_venv  # noqa: E402  (standard library only)

ENGINES = ["batchbench", "pytorch", "onnxruntime", "batchbench-onnx"]
DEFAULT_ENGINES = ["batchbench", "pytorch", "onnxruntime"]
OURS = ("batchbench", "batchbench-onnx")   # engines that are batchbench
ONNX_ENGINES = ("onnxruntime", "batchbench-onnx")  # the engines that run a user's .onnx file
PEERS = ("pytorch", "onnxruntime")


def infer_times(cmd):
    """Per-pass seconds of a `batchbench infer` run, from its 'times_ms' line."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"^times_ms (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return [float(v) / 1e3 for v in m.group(1).split()]


class Batchbench:
    name = "batchbench"

    def __init__(self, args, model, x_path):
        self.args, self.model, self.x_path = args, model, x_path

    def run(self):
        a = self.args
        return infer_times([a.bin, "infer", "--model", self.model, "--input", self.x_path, "--head", a.head,
                            "--threads", str(a.threads), "--warmup", str(a.warmup), "--reps", str(a.reps)])


class BatchbenchOnnx:
    """batchbench's engine on the exported file onnxruntime runs (the head is
    the file's: no --head)."""
    name = "batchbench-onnx"

    def __init__(self, args, onnx_path, x_path):
        self.args, self.onnx_path, self.x_path = args, onnx_path, x_path

    def run(self):
        a = self.args
        return infer_times([a.bin, "infer", "--model", self.onnx_path, "--input", self.x_path,
                            "--threads", str(a.threads), "--warmup", str(a.warmup), "--reps", str(a.reps)])


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
    """The model exported once per (model, head, seed, torch version), cached:
    the one file both onnxruntime and batchbench-onnx run. Input 'x', output
    'y', batch axis 'n' (peers/ort_profile.py feeds 'x')."""
    import torch
    import bb_onnx
    os.makedirs(args.onnx_dir, exist_ok=True)
    path = os.path.join(args.onnx_dir, f"{name}-{args.head}-seed{args.seed}-torch{torch.__version__}-"
                        f"opset{bb_onnx.DEFAULT_OPSET}.onnx")
    if not os.path.exists(path):
        bb_onnx.export(torch_model, path, name, input_name="x", output_name="y", batch_axis="n")
    return path


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, args, path, x):
        import bb_onnx
        self.sess = bb_onnx.ort_session(path, args.threads)  # graph optimisations: ORT_ENABLE_ALL (default)
        self.args, self.feed = args, {self.sess.get_inputs()[0].name: x}

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
    envs["batchbench-onnx"] = json.loads(out)
    if "onnxruntime" in args.engines:
        import onnxruntime as ort
        envs["onnxruntime"]["onednn"] = f"onnxruntime {ort.__version__} (CPUExecutionProvider)"
    envs["pytorch"]["batchbench_version"] = envs["onnxruntime"]["batchbench_version"] = "peers/vs_peers.py"
    for e in envs.values():  # one machine: every engine's "% of peak" divides by the same figure
        e["peak_gflops"] = args.peak_gflops
        e["peak_source"] = f"batchbench peak: dnnl_sgemm 2048^3, {args.threads} threads" if args.peak_gflops else ""
    return envs


def file_facts(args, path):
    """(params, MACs per item, SHA-256) of a user's ONNX file as batchbench
    counts them (`models --describe`), so that its peers' result files say
    what batchbench's own say."""
    out = subprocess.run([args.bin, "models", "--describe", path], capture_output=True, text=True)
    params = re.search(r"^params\s+(\d+)$", out.stdout, re.M)
    macs = re.search(r"^macs\s+(\d+) per item", out.stdout, re.M)
    if out.returncode != 0 or not params or not macs:
        raise RuntimeError(f"batchbench models --describe {path}: exit {out.returncode}: "
                           f"{out.stderr.strip() or out.stdout.strip()[-300:]}")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return int(params.group(1)), int(macs.group(1)), h.hexdigest()


def write_results(args, envs, name, batch, params, macs, times, sha256=None):
    import bb_onnx
    import torch_bench
    for eng, t in times.items():
        args.device, args.precision = "cpu", "fp32"
        run = {"status": "ok", "message": "", "math_mode": "fp32", "times_s": t, "input_copy_s": [],
               "memory": None, "prepare_s": 0.0}
        r = torch_bench.result(args, envs[eng], os.path.basename(name) if sha256 else name, batch, params, macs,
                               run, engine=eng, tool="peers/vs_peers.py")
        r["config"]["family"] = bb_onnx.family(name)  # torch_bench knows the zoo's only
        if sha256:  # a user's file: named and identified as `batchbench run` does it
            r["config"].update(head="graph", model_file=os.path.abspath(name), model_sha256=sha256)
            r["config"]["identity"] = torch_bench.identity_key(r)
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
    import bb_onnx
    own = bb_onnx.is_file(name)  # a user's file: only the engines that run ONNX
    engines = [e for e in args.engines if (e != "batchbench" or name in facts) and (e in ONNX_ENGINES or not own)]
    if own:
        tm, path, dims = None, name, bb_onnx.file_input_shape(name)
        params, macs, sha256 = file_facts(args, name)
    else:
        tm = bb_onnx.randomise_(bb_onnx.build_model(name, args.head), args.seed, name)
        path = onnx_file(args, name, tm) if {"onnxruntime", "batchbench-onnx"} & set(engines) else None
        dims, sha256 = bb_onnx.input_dims(name), None  # (3, S, S); a video model's (3, T, S, S)
        macs = facts[name]["macs_per_item"] if name in facts else bb_onnx.onnx_macs(path, (1, *dims))
        params = sum(p.numel() for p in tm.parameters())
    for b in args.batch_sizes:
        g = torch.Generator()
        g.manual_seed(args.seed + b)
        x = torch.randn((b, *dims), generator=g, dtype=torch.float32)
        x_path = os.path.join(tmpdir, f"x{b}.npy")
        np.save(x_path, x.numpy())
        runners = {"batchbench": lambda: Batchbench(args, name, x_path), "pytorch": lambda: Pytorch(args, tm, x),
                   "onnxruntime": lambda: OnnxRuntime(args, path, x.numpy()),
                   "batchbench-onnx": lambda: BatchbenchOnnx(args, path, x_path)}
        runs = [runners[e]() for e in engines]
        rounds = {e.name: [] for e in runs}
        for _ in range(args.rounds):
            for e in runs:
                rounds[e.name].append(e.run())
        per_item = {k: statistics.median(statistics.median(r) for r in v) / b for k, v in rounds.items()}
        yield b, per_item, macs
        if args.out:
            write_results(args, envs, name, b, params, macs, {k: [t for r in v for t in r] for k, v in rounds.items()},
                          sha256)
        del runs


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="all",
                    help="comma-separated torchvision names, timm:NAME, video:NAME, BASE+ACT, paths of .onnx files, "
                         "sets of tools/bb_onnx.py (siblings, siblings-quick, timm-quick, activations, video), or 'all' "
                         "(the zoo)")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--head", choices=["features", "classifier"], default="features")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", default=None,
                    help=f"comma-separated, from {','.join(ENGINES)} (default {','.join(DEFAULT_ENGINES)}; "
                         f"{','.join(reversed(ONNX_ENGINES))} when every model is a .onnx file)")
    ap.add_argument("--out", default="", help="also write result files per engine under DIR/<engine>/")
    ap.add_argument("--onnx-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "batchbench", "onnx"))
    ap.add_argument("--no-peak", action="store_true", help="skip `batchbench peak` (no %% of peak column)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "batchbench"))
    args = ap.parse_args()
    import bb_onnx
    files_only = args.models != "all" and all(bb_onnx.is_file(m) for m in args.models.split(","))
    args.engines = (args.engines or ",".join(reversed(ONNX_ENGINES) if files_only else DEFAULT_ENGINES)).split(",")
    if any(e not in ENGINES for e in args.engines) or not set(OURS) & set(args.engines) \
            or len(set(args.engines)) != len(args.engines):
        ap.error(f"--engines: expected batchbench and/or batchbench-onnx plus any of {','.join(PEERS)}, "
                 f"got {','.join(args.engines)}")
    args.models = bb_onnx.ZOO if args.models == "all" else bb_onnx.expand_models(args.models)
    try:
        bad = [m for m in args.models if not bb_onnx.known_model(m)]
    except ValueError as e:  # timm: models without timm installed
        ap.error(f"--models: {e}")
    if bad and bb_onnx.is_file(bad[0]):
        ap.error(f"--models: {bad[0]}: no such file")
    if bad:
        ap.error(f"--models: unknown model {bad[0]!r}; expected one of {','.join(bb_onnx.ZOO)} "
                 "or another torchvision classification model, timm:NAME, or a .onnx file")
    outside = [m for m in args.models if m not in bb_onnx.ZOO]
    if outside and "batchbench-onnx" not in args.engines and bb_onnx.is_file(outside[0]):
        ap.error(f"--models: {outside[0]} is an ONNX file: of batchbench's engines only batchbench-onnx runs it "
                 "(--engines batchbench-onnx,onnxruntime)")
    if outside and "batchbench-onnx" not in args.engines:
        ap.error(f"--models: {outside[0]} is not in batchbench's zoo ({','.join(bb_onnx.ZOO)}): only the "
                 "batchbench-onnx engine runs it (--engines batchbench-onnx,pytorch,onnxruntime)")
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
    import bb_onnx
    outside = [m for m in args.models if m not in bb_onnx.ZOO]  # their MACs are counted by onnxruntime
    bb_venv.reexec_with_onnxruntime("onnxruntime" in args.engines or bool(outside),
                                    "pass --engines batchbench,pytorch")
    import torch
    torch.set_num_threads(args.threads)
    args.peak_gflops = None if args.no_peak else measure_peak(args)
    facts, envs = model_facts(args), environments(args)
    peers = [e for e in args.engines if e in PEERS]
    ratios = [(f"bb/{p[:5]}", "batchbench", p) for p in peers if "batchbench" in args.engines]
    ratios += [(f"onnx/{r}", "batchbench-onnx", e) for r, e in (("ort", "onnxruntime"), ("bb", "batchbench"))
               if "batchbench-onnx" in args.engines and e in args.engines]
    print(f"threads {args.threads}, head {args.head}, {args.rounds} rounds x (warmup {args.warmup} + reps {args.reps}) "
          f"per engine, interleaved; ms per item = median of round medians; torch {torch.__version__}"
          + (f", {envs['onnxruntime']['onednn']}" if "onnxruntime" in peers else "")
          + (f"; sgemm peak {args.peak_gflops:.1f} GFLOP/s" if args.peak_gflops else ""), flush=True)
    if "batchbench-onnx" in args.engines:
        print("batchbench-onnx: `batchbench infer` on the file onnxruntime runs "
              f"(exported into {args.onnx_dir}; a .onnx in --models as it is, its own head); onnx/ort = batchbench-onnx / onnxruntime, onnx/bb = batchbench-onnx / batchbench",
              flush=True)
    head = f"{'model':18s} {'batch':>5s} " + " ".join(f"{e + ' ms':>14s}" for e in args.engines)
    head += f" {'GFLOP/s':>8s} {'% peak':>6s}" + "".join(f" {r[0]:>9s}" for r in ratios)
    print(head, flush=True)
    failed = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for name in args.models:
            skipped = [e for e in args.engines if (e == "batchbench" and name not in facts)
                       or (bb_onnx.is_file(name) and e not in ONNX_ENGINES)]
            if skipped:
                print(f"{name}: " + ("a file: only the engines that run ONNX files" if bb_onnx.is_file(name) else
                                     "not in batchbench's zoo: the built-in engine") + f" ({', '.join(skipped)}) "
                      f"skipped, {', '.join(e for e in args.engines if e not in skipped)} run it", flush=True)
            try:
                for b, per_item, macs in compare(args, name, facts, envs, tmpdir):
                    print(row(args, name, b, per_item, macs, ratios), flush=True)
            except Exception as e:  # one model's failure is its row; the others still run
                failed.append(name)
                print(f"{name:18s} failed: {type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}",
                      flush=True)
    if failed:
        print(f"vs_peers.py: {len(failed)} of {len(args.models)} models failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def row(args, name, b, per_item, macs, ratios):
    """One printed line: ms per item per engine, GFLOP/s, ratios."""
    ours = per_item.get("batchbench", per_item.get("batchbench-onnx"))
    gf = 2.0 * macs / ours / 1e9
    pk = f"{100 * gf / args.peak_gflops:5.0f}%" if args.peak_gflops else f"{'-':>6s}"
    line = f"{name:18s} {b:5d} " + " ".join(f"{per_item[e] * 1e3:14.2f}" if e in per_item else f"{'-':>14s}"
                                          for e in args.engines)
    return line + f" {gf:8.1f} {pk}" + "".join(f" {per_item[a] / per_item[p]:9.2f}" if a in per_item and p in per_item
                                              else f" {'-':>9s}" for _, a, p in ratios)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (subprocess.CalledProcessError, RuntimeError) as e:
        print(f"vs_peers.py: {e}", file=sys.stderr)
        sys.exit(1)

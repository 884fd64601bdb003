#!/usr/bin/python3
"""Parity of ONNX import: `batchbench infer --model F.onnx` against ONNX Runtime.

For each model, torchvision's classifier (googlenet and inception_v3 without
aux classifiers) gets every parameter and every BatchNorm/LayerNorm buffer
seeded-random (tools/bb_onnx.py: tools/bb_torch.py's scheme, BN statistics
calibrated on real activations so activations stay O(1), plus rules for
ConvNeXt's layer scale and Swin's attention), is exported by
torch.onnx.export (--opset, default 17; input 'input' [N,3,S,S], output
'output' [N,1000], batch axis 'N' dynamic) into a temporary folder, and run
on a seeded input of batch 1 and of batch 3 (S = 224, 299 for inception_v3):

    reference  ONNX Runtime, CPU provider, intra-op threads = --threads,
               graph optimisations at their default
    ours       batchbench infer --model F.onnx --input x.npy --output y.npy
               --threads T --device cpu

A case passes when  max|ours - ort| <= 1e-4 * max(1, max|ort|).

For the 12 models batchbench builds itself (the zoo) the same weights are
also written as safetensors under their state_dict names and the built-in
model runs them (`infer --model NAME --head classifier --weights W.safetensors`):
the imported graph's output must match the built-in output with the same
bound (relative to the built-in output). Each --bin is checked on the same
generated files; the folder is emptied after each model, so disk use stays at
one model's worth (vit_l_16: 1.2 GB of ONNX + 1.2 GB of safetensors).

On the CPU the first binary also profiles the file once at batch 8
(`profile --json`, one pass) and the case "kernels" fails when any step runs
oneDNN's reference code: correct, but tens of times slower, so a layout
choice that lands there is a bug no output comparison would show. The
other binaries (the ASan build) make the same choices from the same code;
their profile took twice the first's time (416 s for the 37 models of
--quick in CI) and checked nothing their b1/b3 runs do not.

--dry-run (alias --ort-only) needs no binary: it exports, runs ONNX Runtime
twice per batch and PyTorch once, and a case passes when ORT is deterministic
(bit-identical twice), its output finite and not degenerate (not all equal;
at batch 3 the items differ by more than 1e-3 of the output's scale: the
output depends on the input), and PyTorch agrees with ORT within the parity
bound (so the bound is reachable by an independent fp32 implementation on
these weights). It validates the export and the randomisation.

--models takes model names and sets: all (the 25 above, the default),
siblings (every other torchvision classification model PyTorch 1.13 can
export: other widths and depths of the same families, alexnet, mnasnet;
`make onnx-parity-siblings`), siblings-quick (six small ones of them, run by
`make onnx-parity` and `make check`: other models of these families must
import without special cases), timm:NAME (one of timm's models, PyPI,
installed into .venv by scripts/install-deps.sh; not pretrained, randomised
by the same scheme), timm-quick (sixteen of those that bring ops and patterns
torchvision's models lack: `make onnx-parity` and `make check`),
activations (resnet18 with every ReLU another activation, or a log-softmax
output: BASE+ACT, tools/bb_onnx.py's ACTIVATIONS; `make onnx-parity` and
`make check`), video:NAME (one of torchvision's video classifiers, NAME in
r3d_18, mc3_18, r2plus1d_18, s3d: 3-D convs and pools and BatchNorm3d, on a
16-frame clip, input [N,3,16,S,S], S = 112, 224 for s3d), video (those
four). --quick runs QUICK (see below), video:mc3_18, siblings-quick,
timm-quick and activations, under 5 minutes on 2 cores, for `make check`.

A path ending in .onnx in --models is a user's own file: nothing is
exported, the file itself is run by ONNX Runtime and by ours on a seeded
input of its own shape (batch 1 and 3), with the same bound and the same
kernel check; under --dry-run only ONNX Runtime's checks apply (there is no
PyTorch model to compare):

    tests/onnx/run_onnx_parity.py --models path/to/my_model.onnx --bin build/batchbench

--device cuda runs ours on the GPU backend (strict fp32: --precision fp32)
instead. --reference cpu compares with `batchbench infer --device cpu` on
the same file and input instead of ONNX Runtime (for a GPU machine without
onnxruntime: the CPU backend is held to ONNX Runtime here, by this script
with the defaults). --tol sets the bound's factor (default 1e-4).
--ort-unoptimized runs ONNX Runtime without its graph optimisations (the
file op by op), for files whose optimised session crashes it (timm's
caformer_s18 and poolformerv2_s12 on ORT 1.32: a segfault, which ends
this script).

A model that cannot be built, exported or run counts as failed, never as
skipped. Ends with the line "onnx-parity: N passed, N failed"; exit 0 when
nothing failed, 1 otherwise, 2 on bad arguments.

Runs under /usr/bin/python3 (Debian's python3-torch/torchvision) and re-runs
itself under .venv/bin/python (scripts/install-deps.sh) when onnxruntime is
missing from its interpreter.

    tests/onnx/run_onnx_parity.py --bin build/batchbench [--bin build-asan/batchbench]
    tests/onnx/run_onnx_parity.py --quick --bin build/batchbench
    tests/onnx/run_onnx_parity.py --dry-run --models densenet121,swin_t
"""
import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import bb_venv  # noqa: E402  (standard library only)

TOL = 1e-4
BATCHES = (1, 3)
KERNEL_BATCH = 8  # kernel_check's batch: the layout choices differ with the batch size
# --quick: small models of different kinds: residual conv + BN (and the
# built-in model), depthwise + squeeze-excitation + hardswish/hardsigmoid, fire
# modules + concat + ceil-mode pooling, channel shuffle + split, LayerNorm +
# GELU + 7x7 depthwise + layer scale, ViT attention (and the built-in model).
# 100 s on the 2-core VM (load ~5 from other jobs; tools/README.md).
QUICK = ["resnet18", "mobilenet_v3_large", "squeezenet1_1", "shufflenet_v2_x1_0", "convnext_tiny", "vit_b_32",
         "densenet121"]
# and one video model (tools/bb_onnx.py's VIDEO_MODELS): mc3_18 has 3-D
# convs both full (3x7x7 stem, 3x3x3 in layer1) and spatial only (1x3x3
# after), a 3-D global pool, BatchNorm3d, and 3e-6 of error against a 3e-4
# bound (s3d, a chain without residuals, reaches half its bound). 19 s on
# 2 cores (45 s beside another job's build).
QUICK_VIDEO = "video:mc3_18"
CPU_ARGS = ["--device", "cpu"]
DEVICE_ARGS = {"cpu": CPU_ARGS, "cuda": ["--device", "cuda", "--precision", "fp32"]}


def parse_args(argv=None):
    """Syntax only (no torch import): exit 2 before anything slow."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", action="append", default=[],
                   help="batchbench binary (repeatable; default build/batchbench)")
    p.add_argument("--models", default="all",
                   help="comma-separated torchvision model names, timm:NAME (timm's models) and sets: all "
                        "(the 25, the default), siblings (every other exportable one), siblings-quick (six "
                        "small siblings), timm-quick (sixteen timm models with ops torchvision's lack), "
                        "activations (resnet18+ACT: other activations), BASE+ACT, video:NAME (torchvision's video "
                        "classifiers: r3d_18, mc3_18, r2plus1d_18, s3d), video (those four), and paths of your "
                        "own .onnx files")
    p.add_argument("--quick", action="store_true",
                   help="only " + ",".join(QUICK) + ", " + QUICK_VIDEO + ", siblings-quick, timm-quick and activations")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry-run", "--ort-only", dest="dry_run", action="store_true",
                   help="export and check ONNX Runtime only (no batchbench)")
    p.add_argument("--workdir", default=None, help="where the files go (default: a temp dir, removed at the end)")
    p.add_argument("--device", choices=sorted(DEVICE_ARGS), default="cpu", help="the backend ours runs on")
    p.add_argument("--reference", choices=["ort", "cpu"], default="ort",
                   help="ONNX Runtime (default), or batchbench's CPU backend")
    p.add_argument("--tol", type=float, default=TOL, help=f"the bound's factor (default {TOL})")
    p.add_argument("--ort-unoptimized", action="store_true",
                   help="ONNX Runtime without graph optimisations (for files its optimised session crashes on)")
    a = p.parse_args(argv)
    if not a.tol > 0:
        p.error("--tol must be positive")
    if a.reference == "cpu" and (a.dry_run or a.device == "cpu"):
        p.error("--reference cpu compares another device with the CPU backend: use it with --device cuda")
    if a.threads < 1:
        p.error("--threads must be at least 1")
    if a.seed < 0:
        p.error("--seed must be non-negative")
    if a.opset < 7:
        p.error(f"--opset: {a.opset} is not an opset torch.onnx exports (7 or more)")
    if a.quick and a.models != "all":
        p.error("--quick and --models exclude each other")
    if not a.bin:
        a.bin = [os.path.join(ROOT, "build", "batchbench")]
    if not a.dry_run:
        for b in a.bin:
            if not (os.path.isfile(b) and os.access(b, os.X_OK)):
                p.error(f"--bin: {b} is not an executable (build it with make)")
    return p, a


def validate(p, a):
    """What needs torch: model names, the opset's upper end."""
    import torch
    import bb_onnx
    try:  # a private module: where a PyTorch lacks it, opset 17 is the bound
        from torch.onnx import _constants
    except ImportError:
        _constants = None
    max_opset = getattr(_constants, "ONNX_MAX_OPSET", 17)
    if a.opset > max_opset:
        p.error(f"--opset: torch {torch.__version__} exports opset {max_opset} at most, not {a.opset}")
    quick = ",".join(QUICK) + "," + QUICK_VIDEO + ",siblings-quick,timm-quick,activations"
    a.models = bb_onnx.expand_models(quick if a.quick else a.models)
    try:
        bad = [m for m in a.models if not bb_onnx.known_model(m)]
    except ValueError as e:  # timm: models without timm installed
        p.error(f"--models: {e}")
    if bad and bb_onnx.is_file(bad[0]):
        p.error(f"--models: {bad[0]}: no such file")
    if bad or not a.models:
        p.error(f"--models: unknown model {bad[0] if bad else '' !r}; expected torchvision classification "
                f"model names, timm:NAME, video:NAME, .onnx files or {', '.join(bb_onnx.MODEL_SETS)}, "
                f"e.g. {','.join(bb_onnx.PARITY_MODELS)}")
    inside = [m for m in a.models if bb_onnx.is_file(m) and a.workdir and
              os.path.commonpath([os.path.realpath(m), os.path.realpath(a.workdir)]) == os.path.realpath(a.workdir)]
    if inside:  # the work folder is emptied after each model
        p.error(f"--models: {inside[0]} is inside --workdir {a.workdir}, which is emptied after each model")


def stem(binary):
    return os.path.basename(os.path.dirname(os.path.abspath(binary))) or binary


def max_diff(ours, ref, tol=TOL):
    """(max |ours - ref|, bound) or (None, message) on a shape mismatch."""
    import numpy as np
    if ours.shape != ref.shape:
        return None, f"shape {list(ours.shape)} != reference {list(ref.shape)}"
    ref64 = ref.astype(np.float64)
    err = float(np.abs(ours.astype(np.float64) - ref64).max()) if ours.size else 0.0
    if not np.isfinite(ours).all():
        err = float("inf")
    return err, tol * max(1.0, float(np.abs(ref64).max()))


def run_infer(binary, model_args, x_path, out_path, threads, device_args=CPU_ARGS):
    """(numpy output or None, seconds, failure text) of one `batchbench infer`."""
    import numpy as np
    if os.path.exists(out_path):
        os.unlink(out_path)
    cmd = [binary, "infer", *model_args, "--input", x_path, "--output", out_path, "--threads", str(threads),
           *device_args]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        return None, time.perf_counter() - t0, f"{' '.join(cmd)}: {e}"
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        err = (r.stderr.strip() or r.stdout.strip())[-2000:]
        return None, dt, f"{' '.join(cmd)}: exit {r.returncode}\n{err}"
    try:
        return np.load(out_path), dt, ""
    except (OSError, ValueError) as e:
        return None, dt, f"{' '.join(cmd)}: exit 0 but {out_path} unreadable: {e}"


class Report:
    def __init__(self, tol=TOL):
        self.passed = self.failed = 0
        self.tol = tol

    def case(self, ok, model, batch, what, binary, detail, failure=""):
        self.passed += bool(ok)
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {model:20s} b{batch} {what:16s} {binary:10s} {detail}", flush=True)
        if failure:
            print("    " + failure.replace("\n", "\n    "), flush=True)

    def diff_case(self, ours, ref, model, batch, what, binary, extra=""):
        err, bound = max_diff(ours, ref, self.tol)
        if err is None:
            return self.case(False, model, batch, what, binary, bound)
        self.case(err <= bound, model, batch, what, binary, f"max|diff| {err:.3g} bound {bound:.3g}{extra}")


def cases_of(args, model, zoo):
    """(what, binary) of every case of a model, in the order they run."""
    if args.dry_run:
        return [("ort-check", "-")]
    out = []
    for b in args.bin:
        out.append((vs_what(args), stem(b)))
        if zoo:
            out.append(("onnx-vs-builtin", stem(b)))
    return out


def vs_what(args):
    """The name of the imported-graph case: what ours is compared with."""
    return ("onnx-vs-ort" if args.reference == "ort" else "onnx-vs-cpu") + ("" if args.device == "cpu" else "@" + args.device)


def one_line(e):
    return (f"{type(e).__name__}: {e}".strip().splitlines() or [""])[0][:300]


def fail_model(args, report, model, zoo, why):
    for what, binary in cases_of(args, model, zoo):
        for b in BATCHES:
            report.case(False, model, b, what, binary, why)
    if not args.dry_run and args.device == "cpu":
        report.case(False, model, KERNEL_BATCH, "kernels", stem(args.bin[0]), why)


def ort_check(report, model, batch, sess, x, torch_model):
    """--dry-run: ORT twice (bit-identical), finite, not degenerate, and
    PyTorch within the bound of ORT (where there is a PyTorch model: not for
    a user's file)."""
    import numpy as np
    import torch
    import bb_onnx
    y1 = bb_onnx.ort_run(sess, x)
    y2 = bb_onnx.ort_run(sess, x)
    yt = None
    if torch_model is not None:
        with torch.no_grad():
            yt = torch_model(torch.from_numpy(x)).numpy()
    y = y1.astype(np.float64)
    finite = bool(np.isfinite(y).all())
    scale = float(np.abs(y).max()) if finite and y.size else 0.0
    why = []
    if not np.array_equal(y1, y2):
        why.append(f"ORT not deterministic (runs differ by {float(np.abs(y - y2).max()):.3g})")
    if not finite:
        why.append("not finite")
    elif float(y.max() - y.min()) <= 1e-6 * max(scale, 1e-30):
        why.append("all outputs equal")
    elif batch > 1 and float(np.abs(y - y[:1]).max()) <= 1e-3 * scale:
        why.append("items of the batch give the same output")
    err, bound = max_diff(yt, y1) if yt is not None else (float("nan"), 0.0)
    if err is None:
        why.append(f"PyTorch: {bound}")
    elif err > bound:
        why.append(f"PyTorch vs ORT {err:.3g} > bound {bound:.3g}")
    spread = float(np.abs(y - y[:1]).max()) / scale if batch > 1 and scale else float("nan")
    detail = ((f"max|torch-ort| {err if err is not None else float('nan'):.3g} bound {bound if err is not None else 0:.3g}"
               if yt is not None else "no PyTorch model (a file)")
              + f", max|y| {scale:.3g}, rms {float(np.sqrt((y ** 2).mean())):.3g}"
              + (f", item spread {spread:.3f}" if batch > 1 else "") + ", ORT deterministic"
              * (not why or "deterministic" not in why[0]))
    report.case(not why, model, batch, "ort-check", "-", detail + ("; " + "; ".join(why) if why else ""))


def kernel_check(report, binary, name, onnx_path, threads):
    """CPU backend, batch KERNEL_BATCH: no step runs oneDNN's reference
    code (`profile --json` names each step's implementation; our own
    kernels are "batchbench", reorders oneDNN's). Layout choices that leave
    a step on it are correct but tens of times slower: mobilenet_v3_large's
    residual 1x1 convs once took 93 ms a batch so, and dpn68's batch norms
    on 10 channels blocked by 16 took 31 ms of 200."""
    import json
    cmd = [binary, "profile", "--model", onnx_path, "--batch", str(KERNEL_BATCH), "--warmup", "0", "--reps", "1",
           "--threads", str(threads), "--device", "cpu", "--json"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        err = (r.stderr.strip() or r.stdout.strip())[-2000:]
        return report.case(False, name, KERNEL_BATCH, "kernels", stem(binary), f"profile failed [{dt:.1f}s]",
                           f"{' '.join(cmd)}: exit {r.returncode}\n{err}")
    steps = json.loads(r.stdout)["steps"]
    convs = sum(s["kind"].startswith("conv") for s in steps)
    ref = [f"{s['op']} ({s['kind']}, {s['impl']}, {s['median_s'] * 1e3:.1f} ms)" for s in steps
           if not s.get("impl") or s["impl"].startswith("ref")]
    report.case(not ref, name, KERNEL_BATCH, "kernels", stem(binary),
                f"{len(steps)} steps ({convs} conv), {len(ref)} on reference code [profile {dt:.1f}s]",
                "; ".join(ref[:10]))


def check_model(args, name, workdir, report, times):
    import numpy as np
    import bb_onnx
    import bb_torch
    zoo = name in bb_onnx.ZOO
    t0 = time.perf_counter()
    try:
        if bb_onnx.is_file(name):  # the user's own file, as it is
            model, onnx_path = None, name
            bb_onnx.file_input_shape(name)
        else:
            model = bb_onnx.randomise_(bb_onnx.build_model(name, "classifier"), args.seed, name)
            onnx_path = bb_onnx.export(model, os.path.join(workdir, name + ".onnx"), name, opset=args.opset)
    except Exception as e:  # noqa: BLE001 -- any failure to export is this model's failure
        fail_model(args, report, name, zoo, ("unusable file: " if bb_onnx.is_file(name) else "export failed: ")
                   + one_line(e))
        times[name] = {"export_s": time.perf_counter() - t0, "failed": True}
        return
    t_export = time.perf_counter() - t0
    size = os.path.getsize(onnx_path)
    xs, refs, ort_fail = {}, {}, {}
    t1 = time.perf_counter()
    try:
        sess = (bb_onnx.ort_session(onnx_path, args.threads, optimize=not args.ort_unoptimized)
                if args.reference == "ort" else None)
    except Exception as e:  # noqa: BLE001 -- a file ORT cannot load is this model's failure
        fail_model(args, report, name, zoo, "ONNX Runtime cannot load it: " + one_line(e))
        times[name] = {"export_s": t_export, "failed": True}
        return
    for b in BATCHES:
        x = bb_onnx.seeded_input(name, b, args.seed * 1000 + b)
        xs[b] = os.path.join(workdir, f"x{b}.npy")
        np.save(xs[b], x)
        try:
            if args.dry_run:
                ort_check(report, name, b, sess, x, model)
            elif sess is not None:
                refs[b] = bb_onnx.ort_run(sess, x)
        except Exception as e:  # noqa: BLE001
            ort_fail[b] = "ONNX Runtime failed: " + one_line(e)
            if args.dry_run:
                report.case(False, name, b, "ort-check", "-", ort_fail[b])
    del sess
    t_ort = time.perf_counter() - t1
    weights = None
    if zoo and not args.dry_run:
        weights = os.path.join(workdir, name + ".safetensors")
        bb_torch.write_safetensors(weights, model.state_dict(), metadata={"model": name, "seed": args.seed})
    del model
    gc.collect()
    t_ours = 0.0
    what, dev = vs_what(args), DEVICE_ARGS[args.device]
    for binary in [] if args.dry_run else args.bin:
        for b in BATCHES:
            if args.reference == "cpu":  # the CPU backend on the same file, as the reference
                refs[b], _, why = run_infer(binary, ["--model", onnx_path], xs[b], os.path.join(workdir, "r.npy"),
                                            args.threads)
                if refs[b] is None:
                    ort_fail[b] = "the CPU reference failed: " + why
            y, dt, why = run_infer(binary, ["--model", onnx_path], xs[b], os.path.join(workdir, "y.npy"),
                                   args.threads, dev)
            t_ours += dt
            if y is None:
                report.case(False, name, b, what, stem(binary), f"infer failed [{dt:.1f}s]", why)
            elif b in ort_fail:
                report.case(False, name, b, what, stem(binary), ort_fail[b])
            else:
                report.diff_case(y, refs[b], name, b, what, stem(binary), f" [infer {dt:.1f}s]")
            if not zoo:
                continue
            y2, dt2, why2 = run_infer(binary, ["--model", name, "--head", "classifier", "--weights", weights],
                                      xs[b], os.path.join(workdir, "y2.npy"), args.threads, dev)
            t_ours += dt2
            if y2 is None:
                report.case(False, name, b, "onnx-vs-builtin", stem(binary), "built-in infer failed", why2)
            elif y is None:
                report.case(False, name, b, "onnx-vs-builtin", stem(binary), "no output from the imported graph")
            else:
                report.diff_case(y, y2, name, b, "onnx-vs-builtin", stem(binary), f" [built-in {dt2:.1f}s]")
        if args.device == "cpu" and binary == args.bin[0]:
            t1 = time.perf_counter()
            kernel_check(report, binary, name, onnx_path, args.threads)
            t_ours += time.perf_counter() - t1
    times[name] = {"export_s": t_export, "ort_s": t_ort, "ours_s": t_ours, "mb": size / 1e6}
    own = bb_onnx.is_file(name)
    print(f"     {name}: " + ("" if own else f"export {t_export:.1f}s ")
          + f"({size / 1e6:.0f} MB" + ("" if own else f", opset {args.opset}") + "), "
          f"ONNX Runtime {t_ort:.1f}s" + (f", batchbench {t_ours:.1f}s" if not args.dry_run else "")
          + f", total {time.perf_counter() - t0:.1f}s", flush=True)


def main(argv=None):
    parser, args = parse_args(argv)
    bb_venv.reexec_with_onnxruntime(args.reference == "ort", "--reference cpu")
    validate(parser, args)
    import torch
    torch.set_num_threads(args.threads)
    if args.reference == "ort":
        import onnxruntime as ort
        ref = f"onnxruntime {ort.__version__}" + (" (graph optimisations off)" if args.ort_unoptimized else "")
    else:
        ref = "reference: batchbench --device cpu"
    print(f"onnx-parity: {len(args.models)} models, batches {','.join(map(str, BATCHES))}, opset {args.opset}, "
          f"seed {args.seed}, {args.threads} threads, ours on {args.device}, bound {args.tol:g} x max(1, max|ref|); "
          f"torch {torch.__version__}, {ref}"
          + (", dry run (ONNX Runtime only)" if args.dry_run else f"; {', '.join(args.bin)}"), flush=True)
    report, times = Report(args.tol), {}
    workdir = args.workdir or tempfile.mkdtemp(prefix="bb-onnx-parity-")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.perf_counter()
    try:
        for name in args.models:
            try:
                check_model(args, name, workdir, report, times)
            except Exception as e:  # noqa: BLE001 -- e.g. the disk filled while writing weights
                report.case(False, name, 0, "(aborted)", "-", one_line(e))
            for f in os.listdir(workdir):
                p = os.path.join(workdir, f)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"onnx-parity: {len(args.models)} models in {time.perf_counter() - t0:.0f}s")
    print(f"onnx-parity: {report.passed} passed, {report.failed} failed")
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""TensorRT's side of the GPU comparison, in batchbench's result schema.

The engine trtexec benchmarks, run the way a user deploying with it would:
torchvision's model exported by torch.onnx (tools/bb_onnx.py: opset 17,
batch axis dynamic), parsed by TensorRT's ONNX parser, and one engine built
per batch size with an optimisation profile of exactly that shape (min = opt
= max, as `trtexec --shapes` does), so every batch size gets the tactics
tuned for it. One JSON per (model, batch size) with engine "tensorrt" goes
into --out; `batchbench report` and tools/gpu_compare.py read them beside
batchbench's and PyTorch's.

    tools/trt_bench.py --models resnet50,vit_b_16 --batch-sizes 32,256 \\
        --precision bf16 --warmup 3 --reps 5 --out results-trt

Precisions, as TensorRT 10.12+/11 names them (11 builds strongly typed
networks only; its FP16/BF16 builder flags are gone):
  fp32  the fp32 export, builder flag TF32 cleared (strict fp32)
  tf32  the fp32 export, builder flag TF32 set
  bf16, fp16  the model cast to that type before export (model.to(dtype)),
        so the ONNX graph is typed in it and the strongly typed network runs
        every layer in it, as batchbench's and PyTorch's bf16 do; the input
        is that type too (cast on the device, untimed)

Timing is torch_time.time_model_cuda's: the pinned host batch copied to the
device between CUDA events (input_copy_s), then the engine's
execute_async_v3 on PyTorch's current stream between two CUDA events
(times_s), --warmup untimed passes first. Building the engine (parse, build,
deserialise, execution context) is the result's "build_s", part of
prepare_s, never of the per-item time. A configuration that fails (TensorRT
not importable, a parse or build error, out of memory) is written with
status "error" or "oom" and why, and the sweep goes on. Exit 1 when a
configuration did not end "ok", 2 on bad arguments.

--dry-run: no TensorRT and no GPU needed. Exports each model (in the
precision's type) into --onnx-dir, checks the file with onnx.checker and
its input/output names and types, and prints the build plan per batch size
(input shape of the profile, flags, workspace); writes no results. The
tests run it on the CPU so that the export and the plan are known good
before a GPU is lent.

Needs torch, torchvision and onnx; a GPU run needs a CUDA torch and the
`tensorrt` package (PyPI: tensorrt-cu13, whose libraries come from
pypi.nvidia.com at install time).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch_bench  # noqa: E402 - the result schema, file names, environment
import torch_gpu  # noqa: E402 - precisions and their dtypes

INPUT, OUTPUT = "input", "output"
ONNX_TYPE = {"fp32": 1, "tf32": 1, "fp16": 10, "bf16": 16}  # onnx.TensorProto FLOAT, FLOAT16, BFLOAT16


def export_path(args, name):
    dtype = "fp32" if args.precision in ("fp32", "tf32") else args.precision
    return os.path.join(args.onnx_dir, f"{name}-{args.head}-{dtype}-opset17.onnx")


def export_model(args, name, device):
    """The model exported in the precision's type (cached in --onnx-dir):
    (path, params, weight_bytes)."""
    import bb_onnx
    import bb_torch
    model = bb_torch.build_model(name, args.head)  # torchvision's own init, as torch_bench.py times
    params = sum(p.numel() for p in model.parameters())
    model = model.to(device, torch_gpu.dtype_of(args.precision))
    wbytes = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    path = export_path(args, name)
    if not os.path.exists(path):
        os.makedirs(args.onnx_dir, exist_ok=True)
        bb_onnx.export(model, path, name, input_name=INPUT, output_name=OUTPUT,
                       dtype=torch_gpu.dtype_of(args.precision), device=device)
    return path, params, wbytes


def check_export(path, precision):
    """onnx.checker on the file, and its input and output: names, the batch
    axis symbolic, the element type of the precision. Raises ValueError."""
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    for vi, want in ((m.graph.input[0], INPUT), (m.graph.output[0], OUTPUT)):
        t = vi.type.tensor_type
        if vi.name != want:
            raise ValueError(f"{path}: {want} is named {vi.name!r}")
        if t.elem_type != ONNX_TYPE[precision]:
            raise ValueError(f"{path}: {vi.name} has element type {t.elem_type}, wanted {ONNX_TYPE[precision]}")
        if not t.shape.dim[0].dim_param:
            raise ValueError(f"{path}: {vi.name}'s batch axis is fixed at {t.shape.dim[0].dim_value}")
    return m


def plan(args, batch):
    """What build_engine asks TensorRT for, as words (the dry run prints it)."""
    shape = (batch, 3, 224, 224)
    flags = {"fp32": "TF32 cleared (strict fp32)", "tf32": "TF32 set"}.get(
        args.precision, f"strongly typed: {args.precision} from the ONNX graph's types")
    return (f"profile {INPUT} min=opt=max={list(shape)}; {flags}; workspace {args.workspace_gib} GiB; "
            f"network flag STRONGLY_TYPED where TensorRT has it")


def build_engine(trt, args, path, batch):
    """(engine, context, output name) for one batch size: parse, build,
    deserialise, create the execution context with the input shape set."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(path):
        errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT's ONNX parser refused {path}: {errs}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(args.workspace_gib * 2**30))
    if args.precision == "fp32":
        config.clear_flag(trt.BuilderFlag.TF32)
    elif args.precision == "tf32":
        config.set_flag(trt.BuilderFlag.TF32)
    shape = (batch, 3, 224, 224)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT, shape, shape, shape)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT could not build an engine for batch {batch} (see its log above)")
    engine = trt.Runtime(logger).deserialize_cuda_engine(serialized)
    context = engine.create_execution_context()
    context.set_input_shape(INPUT, shape)
    return engine, context


class TrtModule:
    """The engine as a callable of one device tensor, for
    torch_time.time_model_cuda: binds the input and a preallocated output,
    then execute_async_v3 on PyTorch's current stream."""

    def __init__(self, engine, context, batch, dtype):
        import torch
        self.context = context
        out_shape = tuple(context.get_tensor_shape(OUTPUT))
        self.out = torch.empty(out_shape, dtype=dtype, device="cuda")
        self.torch = torch

    def __call__(self, x):
        self.context.set_tensor_address(INPUT, x.data_ptr())
        self.context.set_tensor_address(OUTPUT, self.out.data_ptr())
        if not self.context.execute_async_v3(self.torch.cuda.current_stream().cuda_stream):
            raise RuntimeError("TensorRT: execute_async_v3 failed")
        return self.out


def run_model(args, trt, name, env, macs, why_not):
    """Every batch size of one model: result files written, the count of
    configurations that did not end ok returned."""
    import torch_time
    t0, params, wbytes, path, err = time.perf_counter(), 0, 0, None, why_not
    if not err:
        try:
            path, params, wbytes = export_model(args, name, "cuda")
        except Exception as e:  # noqa: BLE001 - recorded in the result files
            err = torch_bench.failure(e)
    export_s, not_ok = time.perf_counter() - t0, 0
    for b in args.batch_sizes:
        times, copies, peak, build, (status, message) = [], [], 0, None, err or ("ok", "")
        if not err:
            try:
                b0 = time.perf_counter()
                engine, context = build_engine(trt, args, path, b)
                module = TrtModule(engine, context, b, torch_gpu.dtype_of(args.precision))
                build = time.perf_counter() - b0
                t = torch_time.time_model_cuda(module, b, args.warmup, args.reps, args.seed,
                                               torch_gpu.dtype_of(args.precision))
                times, copies, peak = t["times_s"], t["input_copy_s"], t["peak_bytes"]
                peak += getattr(engine, "device_memory_size_v2", 0) or 0  # TensorRT's own activations
            except Exception as e:  # noqa: BLE001 - recorded in the result file, sweep goes on
                status, message = torch_bench.failure(e)
            engine = context = module = None
            torch_bench.release(True)
        if status != "ok":
            times, copies, not_ok = [], [], not_ok + 1
        run = {"status": status, "message": message, "math_mode": math_mode(args, trt), "times_s": times,
               "input_copy_s": copies, "memory": torch_gpu.memory(wbytes, peak),
               "prepare_s": export_s + (build or 0.0), "build_s": build}
        r = torch_bench.result(args, env, name, b, params, macs.get(name, 0), run, engine="tensorrt",
                               tool="tools/trt_bench.py")
        out = os.path.join(args.out, torch_bench.result_filename(r))
        torch_bench.write_atomic(out, r)
        if status == "ok":
            print(f"{name:18s} batch {b:5d} {r['stats']['per_item_median_s'] * 1e3:10.4f} ms/item, "
                  f"engine built in {build:.1f} s  {out}", flush=True)
        else:
            print(f"{name:18s} batch {b:5d} {status.upper()}: {message}  {out}", flush=True)
    return not_ok


def math_mode(args, trt):
    v = getattr(trt, "__version__", "?") if trt else "not installed"
    how = {"fp32": "fp32 (TF32 off)", "tf32": "tf32 (TF32 on)"}.get(args.precision,
                                                                  f"{args.precision} strongly typed from the export")
    return f"{how}, TensorRT {v}, profile per batch size"


def dry_run(args):
    """Export, check and print the plan; no TensorRT, no GPU, no results."""
    for name in args.models:
        path, _, _ = export_model(args, name, "cpu")
        check_export(path, args.precision)
        print(f"{name}: {path} ({os.path.getsize(path) >> 20} MiB): onnx.checker ok, {INPUT}/{OUTPUT} "
              f"{args.precision} with a dynamic batch axis", flush=True)
        for b in args.batch_sizes:
            print(f"  batch {b:5d}: {plan(args, b)}")
    return 0


def parse_args(argv=None):
    import bb_torch
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--precision", choices=torch_gpu.PRECISIONS, default="fp32")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--head", choices=["features", "classifier"], default="features")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workspace-gib", type=float, default=8.0, help="TensorRT's workspace pool (default 8)")
    ap.add_argument("--out", default="results-tensorrt")
    ap.add_argument("--onnx-dir", default=None, help="where exports are cached (default: OUT/onnx)")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "batchbench"),
                    help="batchbench binary, for the MAC counts and the GPU block (env --device cuda)")
    ap.add_argument("--dry-run", action="store_true", help="export, check and print the build plan only")
    args = ap.parse_args(argv)
    args.models = args.models.split(",")
    unknown = [m for m in args.models if m not in bb_torch.MODELS]
    if unknown:
        ap.error(f"unknown model {unknown[0]!r}; expected one of {','.join(bb_torch.MODELS)}")
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        ap.error(f"--batch-sizes {args.batch_sizes!r}: expected comma-separated integers")
    if any(b <= 0 for b in args.batch_sizes) or args.warmup < 0 or args.reps <= 0 or args.workspace_gib <= 0:
        ap.error("batch sizes, --reps and --workspace-gib must be positive, --warmup non-negative")
    args.onnx_dir = args.onnx_dir or os.path.join(args.out, "onnx")
    args.device, args.threads, args.data = "cuda", 1, None  # what torch_bench.result reads
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        return dry_run(args)
    import torch
    trt, why_not, cuda = None, None, torch.cuda.is_available()
    if not cuda:
        why_not = ("error", "no GPU here (torch.cuda.is_available() is False); --dry-run checks the export")
    else:
        try:
            import tensorrt as trt
        except ImportError as e:
            why_not = ("error", f"TensorRT is not installed here (import tensorrt: {e})")
        torch_gpu.setup_precision(args.precision)
    os.makedirs(args.out, exist_ok=True)
    env, macs = torch_bench.environment(1, "tools/trt_bench.py"), torch_bench.model_macs(args.bin, args.head)
    env["onednn"] += f", TensorRT {getattr(trt, '__version__', '?')}" if trt else ", TensorRT not installed"
    env["gpu"] = torch_gpu.gpu_environment(args.bin, args.precision) if cuda else None
    not_ok = sum(run_model(args, trt, name, env, macs, why_not) for name in args.models)
    return 1 if not_ok else 0


if __name__ == "__main__":
    sys.exit(main())

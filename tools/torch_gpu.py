"""PyTorch-on-CUDA helpers for torch_bench.py and torch_time.py: precision
set-up, OOM detection, memory figures and the GPU block of the environment.

    setup_precision(p)           -> (dtype, math_mode); sets the TF32 flags and
                                    cudnn.benchmark for the process
    dtype_of(p)                  the dtype alone (nothing set)
    is_oom(exc)                  True for a CUDA out-of-memory error
    weight_bytes(model)          bytes of the parameters and buffers as stored
    memory(model, peak)          the result file's "memory" object
    gpu_environment(bin, p)      environment.gpu: `batchbench env --json
                                 --device cuda --precision p`, else a smaller
                                 block from torch.cuda (peak_flops 0)

Precisions (the same names as `batchbench --precision`):
  fp32  strict fp32: torch.backends.cuda.matmul.allow_tf32 = False and
        torch.backends.cudnn.allow_tf32 = False (no TF32 tensor cores)
  tf32  both flags True: fp32 tensors, TF32 tensor-core math
  fp16, bf16  model.to(dtype) and the input cast to dtype on the device (no
        autocast: every op runs in that dtype, as PyTorch's kernels
        accumulate, fp32 inside matmuls/convolutions)
The legacy allow_tf32 setters are used on purpose: from PyTorch 2.9 they set
the new fp32_precision state too, consistently, whereas mixing the two APIs
makes PyTorch refuse to read the flags back; only where they are gone is the
new API (fp32_precision "ieee"/"tf32") used. The flags are read back and
checked. torch.backends.cudnn.benchmark = True for every precision: cuDNN
times its candidate algorithms on the first pass of each shape (a warm-up
pass), as batchbench's measured algorithm search does.
"""
import json
import subprocess
import warnings

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
MATH_MODE = {
    "fp32": "fp32 (TF32 off)",
    "tf32": "tf32 (TF32 on)",
    "fp16": "fp16 autocast-free, model.to(float16)",
    "bf16": "bf16 autocast-free, model.to(bfloat16)",
}


def _set_tf32(torch, on):
    """TF32 for cuBLAS matmuls and cuDNN convolutions on or off; returns the
    flags as read back."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "use the new API" deprecation notice (torch >= 2.9)
            torch.backends.cuda.matmul.allow_tf32 = on
            torch.backends.cudnn.allow_tf32 = on
            return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    except (AttributeError, RuntimeError):  # a torch without the legacy flags: the new API alone
        mode = "tf32" if on else "ieee"
        torch.backends.cuda.matmul.fp32_precision = mode
        torch.backends.cudnn.conv.fp32_precision = mode
        return (torch.backends.cuda.matmul.fp32_precision == "tf32", torch.backends.cudnn.conv.fp32_precision == "tf32")


def setup_precision(precision):
    """Set the process-wide CUDA math flags for `precision`; return
    (torch dtype of weights and input, math_mode string)."""
    import torch
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    tf32 = precision == "tf32"
    got = _set_tf32(torch, tf32)
    if tuple(got) != (tf32, tf32):
        raise RuntimeError(f"TF32 flags (matmul, cudnn) read back as {got}, wanted {tf32}")
    torch.backends.cudnn.benchmark = True
    return dtype_of(precision), MATH_MODE[precision]


def dtype_of(precision):
    """The torch dtype of weights and input for `precision` (no flags set)."""
    import torch
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)


def is_oom(exc):
    """CUDA out of memory: torch.cuda.OutOfMemoryError, or a RuntimeError
    saying so (older torch, or cuBLAS/cuDNN failing to allocate)."""
    import torch
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    msg = str(exc)
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "ALLOC_FAILED" in msg)


def weight_bytes(model):
    """Parameters and buffers as stored (their dtype), in bytes."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def memory(wbytes, peak_bytes):
    """The "memory" object. PyTorch cannot tell activations from cuDNN /
    cuBLAS workspaces (both come from its caching allocator), so
    arena_bytes = everything at the peak that is not weights (input,
    activations, workspaces) and workspace_bytes = 0. peak_bytes = 0 means
    unknown (the CPU path)."""
    arena = max(0, peak_bytes - wbytes) if peak_bytes else 0
    return {"weight_bytes": wbytes, "arena_bytes": arena, "workspace_bytes": 0, "peak_bytes": peak_bytes}


def _from_batchbench(bin_path, precision):
    try:
        out = subprocess.run([bin_path, "env", "--json", "--device", "cuda", "--precision", precision],
                             capture_output=True, text=True, check=True, timeout=120).stdout
        j = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    # the whole environment block (with a "gpu" key) or the GPU block itself
    g = j.get("gpu", j) if isinstance(j, dict) else None
    return g if isinstance(g, dict) and g else None


def _from_torch(precision):
    """The same fields as batchbench's block (docs/result-schema.md,
    environment.gpu), with what torch.cuda knows; 0 / "unknown" for the rest."""
    import torch
    d = torch.cuda.current_device()
    p = torch.cuda.get_device_properties(d)
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    if cudnn:  # 91300 -> "9.13.0" (cuDNN 9: major*10000 + minor*100 + patch)
        cudnn = f"{cudnn // 10000}.{cudnn // 100 % 100}.{cudnn % 100}" if cudnn >= 10000 else str(cudnn)
    bus = getattr(p, "pci_bus_id", None)
    pci = (f"{getattr(p, 'pci_domain_id', 0):04x}:{bus:02x}:{getattr(p, 'pci_device_id', 0):02x}.0"
           if isinstance(bus, int) else "unknown")
    try:  # the CUDA version the driver supports, as batchbench writes it without NVML
        v = torch._C._cuda_getDriverVersion()
        driver = f"{v // 1000}.{v % 1000 // 10}"
    except (AttributeError, RuntimeError, TypeError):
        driver = "unknown"
    return {"present": True, "device": d, "name": p.name, "pci_bus_id": pci,
            "compute_capability": f"{p.major}.{p.minor}", "sm_count": p.multi_processor_count,
            "mem_total_bytes": p.total_memory, "clock_sm_mhz": 0, "clock_sm_max_mhz": 0, "clock_mem_mhz": 0,
            "clock_mem_max_mhz": 0, "driver": driver, "cuda_runtime": torch.version.cuda or "unknown",
            "cudnn": cudnn or "unknown", "cublas": "unknown", "precision": precision, "peak_flops": 0,
            "peak_basis": "unknown: `batchbench env --json --device cuda` was not available; "
                          "block from torch.cuda.get_device_properties"}


def gpu_environment(bin_path, precision):
    """environment.gpu for a CUDA run: batchbench's own GPU block when the
    binary can give it (same fields and peak_flops as batchbench's results),
    else what torch.cuda knows, with peak_flops 0 (unknown)."""
    return _from_batchbench(bin_path, precision) or _from_torch(precision)

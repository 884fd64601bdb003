#!/usr/bin/python3
"""Generate parity test cases: seeded random torchvision weights, a seeded
input and torchvision's output, for batchbench's C engine to reproduce.

  make_parity_case.py --model resnet50 --head features --batch 2 --seed 0 --outdir DIR
  make_parity_case.py --all --outdir DIR            # all 12 models x 2 heads
  make_parity_case.py --check [--models a,b]        # activation-scale table

Writes, per case, into DIR:
  <model>-<head>.safetensors     every state_dict tensor (F32; int64 buffers
                                 such as num_batches_tracked as I64)
  <model>-<head>-input.npy       float32 [B, 3, 224, 224], ~N(0, 1)
  <model>-<head>-expected.npy    float32 [B, D] (features) / [B, 1000]

Must run under Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""

import argparse
import concurrent.futures
import math
import multiprocessing
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bb_torch  # noqa: E402

INPUT_SEED_OFFSET = 7919   # input uses a different stream than the weights

# rough relative generation time (forward at batch 2 dominates), for --jobs
_COST = {"vit_l_16": 120, "vit_l_32": 40, "vit_b_16": 30, "efficientnet_v2_l": 15,
         "vit_b_32": 9, "resnet152": 10, "resnet101": 7, "resnet50": 5,
         "efficientnet_v2_s": 3, "resnet34": 1, "resnet18": 1, "mobilenet_v2": 1}


def make_input(batch, seed):
    g = torch.Generator()
    g.manual_seed(int(seed) + INPUT_SEED_OFFSET)
    return torch.randn((batch, 3, 224, 224), generator=g, dtype=torch.float32)


def _save_npy(path, t):
    np.save(path, np.ascontiguousarray(t.detach().numpy(), dtype=np.float32))


def make_cases(model_name, heads, batch, seed, outdir, verbose=True, bf16=False):
    """Write the cases (model_name, head) for each head in `heads`.

    One head: that exact model (build_model(model_name, head)) is built,
    randomised and run.  Both heads (--all): the classifier model is built
    and run once; the "features" expected output is the input of its head
    (ResNet fc / MobileNetV2, EfficientNetV2 classifier / ViT heads), which
    is exactly what the model with the head replaced by nn.Identity returns,
    and the "features" weights are its state_dict minus the head's tensors.
    randomise_ seeds every tensor from its own name, so this is the same as
    building the features model (checked: bit-identical for all 12 models).
    This halves the forward time (ViT linears run on reference BLAS here).
    """
    t0 = time.perf_counter()
    build_head = heads[0] if len(heads) == 1 else "classifier"
    model = bb_torch.build_model(model_name, build_head)
    bb_torch.randomise_(model, seed)
    t1 = time.perf_counter()
    x = make_input(batch, seed)
    captured = {}
    hattr = bb_torch.head_attr(model_name)
    hook = None
    if build_head == "classifier" and "features" in heads:
        hook = getattr(model, hattr).register_forward_pre_hook(
            lambda m, i: captured.setdefault("features", i[0].clone()))
    with torch.no_grad():
        y = model(x)
    if hook is not None:
        hook.remove()
    captured[build_head] = y
    t2 = time.perf_counter()
    sd = model.state_dict()
    results = []
    for head in heads:
        y = captured[head].detach().to(torch.float32).contiguous()
        if not torch.isfinite(y).all():
            raise RuntimeError(f"{model_name}-{head}: non-finite output")
        hsd = sd
        if head != build_head:   # features from the classifier model: drop the head
            hsd = {k: v for k, v in sd.items() if not k.startswith(hattr + ".")}
        base = os.path.join(outdir, f"{model_name}-{head}")
        tw = time.perf_counter()
        nbytes = bb_torch.write_safetensors(
            base + ".safetensors", hsd,
            metadata={"model": model_name, "head": head, "seed": seed,
                      "generator": "batchbench tools/make_parity_case.py"})
        _save_npy(base + "-input.npy", x)
        _save_npy(base + "-expected.npy", y)
        tw = time.perf_counter() - tw
        if verbose:
            print(f"{model_name:18s} {head:10s} out={str(list(y.shape)):12s} "
                  f"rms={y.pow(2).mean().sqrt().item():6.3g}  weights={nbytes / 1e6:7.1f} MB  "
                  f"build+randomise={t1 - t0:5.1f}s forward={t2 - t1:5.1f}s write={tw:5.1f}s",
                  flush=True)
        results.append({"model": model_name, "head": head, "bytes": nbytes, "shape": list(y.shape)})
    if bf16:
        _write_bf16_outputs(model, x, heads, build_head, hattr, outdir, model_name)
    return results


def _write_bf16_outputs(model, x, heads, build_head, hattr, outdir, model_name):
    """PyTorch's own bf16 answer on the same weights and input (the model and
    the input cast to bfloat16, as torch runs bf16 on the CPU), saved as
    <model>-<head>-expected-bf16.npy: the yardstick for batchbench's
    --precision bf16 (how far from fp32 a bf16 run of these weights lands)."""
    model = model.to(torch.bfloat16)
    captured = {}
    hook = None
    if build_head == "classifier" and "features" in heads:
        hook = getattr(model, hattr).register_forward_pre_hook(
            lambda m, i: captured.setdefault("features", i[0].clone()))
    with torch.no_grad():
        captured[build_head] = model(x.to(torch.bfloat16))
    if hook is not None:
        hook.remove()
    for head in heads:
        _save_npy(os.path.join(outdir, f"{model_name}-{head}-expected-bf16.npy"),
                  captured[head].detach().to(torch.float32).contiguous())


# ---------------------------------------------------------------------------
# --check: forward hooks on every module, RMS of every output
# ---------------------------------------------------------------------------

def _first_tensor(out):
    if torch.is_tensor(out):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def check_model(model_name, seed, batch=2, lo=1e-2, hi=1e2):
    model = bb_torch.build_model(model_name, "classifier")
    bb_torch.randomise_(model, seed)
    stats = []   # (name, rms, finite, absmax)

    def hook(mod, inp, out, name=None):
        t = _first_tensor(out)
        if t is None or not t.is_floating_point():
            return
        t = t.detach()
        finite = bool(torch.isfinite(t).all())
        rms = t.double().pow(2).mean().sqrt().item() if finite else float("nan")
        stats.append((name, rms, finite, t.abs().max().item() if finite else float("inf")))

    handles = []
    for name, mod in model.named_modules():
        if name == "":
            continue
        handles.append(mod.register_forward_hook(lambda m, i, o, n=name: hook(m, i, o, n)))
    captured = {}
    head = getattr(model, bb_torch.head_attr(model_name))
    handles.append(head.register_forward_pre_hook(lambda m, i: captured.setdefault("f", i[0])))
    x = make_input(batch, seed)
    with torch.no_grad():
        y = model(x)
    f = captured["f"]   # the head's input == the "features" output
    for h in handles:
        h.remove()

    finite = all(s[2] for s in stats)
    rmss = [s[1] for s in stats if s[2]]
    imin = min(range(len(stats)), key=lambda i: stats[i][1] if stats[i][2] else -1)
    imax = max(range(len(stats)), key=lambda i: stats[i][1] if stats[i][2] else math.inf)
    absmax = max(s[3] for s in stats)

    def rel_diff(t):  # how much the two batch items differ, relative to scale
        d = (t[0] - t[1]).pow(2).mean().sqrt()
        return (d / t.pow(2).mean().sqrt()).item()

    ok = finite and min(rmss) >= lo and max(rmss) <= hi
    return {
        "model": model_name, "modules": len(stats), "finite": finite, "ok": ok,
        "min_rms": stats[imin][1], "min_at": stats[imin][0],
        "max_rms": stats[imax][1], "max_at": stats[imax][0], "absmax": absmax,
        "feat_rms": f.pow(2).mean().sqrt().item(), "feat_diff": rel_diff(f),
        "logit_rms": y.pow(2).mean().sqrt().item(), "logit_diff": rel_diff(y),
    }


def run_check(models, seed):
    print(f"activation check: batch 2, seed {seed}; every module output must be finite "
          f"with RMS in [1e-2, 1e2]")
    print("  (item-diff = RMS(out[0]-out[1]) / RMS(out): input sensitivity of the head outputs)")
    hdr = (f"{'model':18s} {'mods':>5s} {'min RMS':>9s} {'at':40s} {'max RMS':>9s} {'at':40s} "
           f"{'|x|max':>8s} {'featRMS':>8s} {'featDiff':>8s} {'logitRMS':>8s} {'logDiff':>8s}  ok")
    print(hdr)
    print("-" * len(hdr))
    all_ok = True
    for m in models:
        t0 = time.perf_counter()
        r = check_model(m, seed)
        all_ok &= r["ok"]
        print(f"{m:18s} {r['modules']:5d} {r['min_rms']:9.3g} {r['min_at'][-40:]:40s} "
              f"{r['max_rms']:9.3g} {r['max_at'][-40:]:40s} {r['absmax']:8.3g} "
              f"{r['feat_rms']:8.3g} {r['feat_diff']:8.3g} {r['logit_rms']:8.3g} {r['logit_diff']:8.3g}  "
              f"{'OK' if r['ok'] else 'FAIL'}  ({time.perf_counter() - t0:.1f}s)", flush=True)
    print("ALL OK" if all_ok else "SOME MODELS FAILED")
    return 0 if all_ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=bb_torch.MODELS)
    ap.add_argument("--head", choices=bb_torch.HEADS)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--outdir")
    ap.add_argument("--all", action="store_true", help="all 12 models x 2 heads")
    ap.add_argument("--models", help="with --all/--check: comma-separated subset")
    ap.add_argument("--check", action="store_true", help="print the activation-scale table")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="with --all: models generated in parallel processes (default min(2, CPUs))")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    models = args.models.split(",") if args.models else bb_torch.MODELS
    for m in models:
        if m not in bb_torch.MODELS:
            ap.error(f"unknown model {m}")

    if args.check:
        return run_check(models, args.seed)

    if not args.outdir:
        ap.error("--outdir is required")
    os.makedirs(args.outdir, exist_ok=True)
    if args.all:
        cases = [(m, h) for m in models for h in bb_torch.HEADS]
    else:
        if not (args.model and args.head):
            ap.error("give --model and --head, or --all, or --check")
        cases = [(args.model, args.head)]
    t0 = time.perf_counter()
    total = n = 0
    jobs = [(m, [h for mm, h in cases if mm == m]) for m in dict.fromkeys(c[0] for c in cases)]
    if args.jobs > 1 and len(jobs) > 1:
        # one model per worker process, slowest first; each worker runs with
        # --threads torch threads, so results equal a sequential run's
        jobs.sort(key=lambda j: -_COST.get(j[0], 0))
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=ctx,
                                                    initializer=torch.set_num_threads,
                                                    initargs=(args.threads,)) as ex:
            futs = [ex.submit(make_cases, m, hs, args.batch, args.seed, args.outdir) for m, hs in jobs]
            for f in concurrent.futures.as_completed(futs):
                for r in f.result():
                    total += r["bytes"]
                    n += 1
    else:
        for m, hs in jobs:
            for r in make_cases(m, hs, args.batch, args.seed, args.outdir):
                total += r["bytes"]
                n += 1
    if n > 1:
        print(f"{n} cases, {total / 1e9:.2f} GB of weights, "
              f"{time.perf_counter() - t0:.1f}s total", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

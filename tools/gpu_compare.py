#!/usr/bin/env python3
"""batchbench against PyTorch, side by side, as a markdown table.

    gpu_compare.py OURS_DIR TORCH_DIR [--title TEXT]

OURS_DIR holds batchbench's result files (`batchbench run --device cuda
--precision P --out OURS_DIR`), TORCH_DIR PyTorch's for the same precision
(`tools/torch_bench.py --device cuda --precision P --out TORCH_DIR`). One
row per (model, head, batch size, precision) found in either folder:

| model | batch | precision | batchbench ms/item | pytorch ms/item | ours/torch | batchbench % of peak | status |

ms/item is stats.per_item_median_s; ours/torch their ratio (above 1.0:
batchbench is slower, and the status says SLOWER); % of peak is
2 * model.macs_per_item * batch / stats.median_s over the GPU's peak FLOP/s
for the precision (environment.gpu.peak_flops of batchbench's file, else
PyTorch's), blank when unknown. status is "ok" when both ran, else what
each side's file says ("oom", "missing", ...). A last line sums up:
"compared N, slower K, geomean ours/torch R".

Tolerant of older files: a missing field reads as unknown (blank), never an
error; files that are not result JSON are named on stderr and skipped.
Works for CPU folders too (the tests use them). Exit 0 (2: bad arguments).
Needs only the Python standard library.
"""
import argparse
import glob
import json
import math
import os
import sys

ORDER = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v2", "efficientnet_v2_s",
         "efficientnet_v2_l", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32"]


def _get(d, *path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def results(folder, who="gpu_compare.py"):
    """(key, result) of each result file of a folder, key = (model, head,
    batch, precision); a file that is not result JSON is named on stderr
    (as `who`) and skipped. tools/peers_table.py reads through here too."""
    for path in sorted(glob.glob(os.path.join(folder, "inference_time-*.json"))):
        try:
            with open(path) as f:
                r = json.load(f)
            c = r["config"]
            key = (str(c["model"]), str(c.get("head") or "features"), int(c["batch_size"]),
                   str(c.get("precision") or "fp32"))
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"{who}: skipping {path}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        yield key, r


def load(folder):
    """{(model, head, batch, precision): result} of a folder's result files."""
    return dict(results(folder))


def per_item_ms(r):
    """ms per item of an ok result, else None."""
    if r is None or r.get("status") != "ok":
        return None
    v = _num(_get(r, "stats", "per_item_median_s"))
    return v * 1e3 if v else None


def pct_of_peak(ours, torch, batch):
    if ours is None or ours.get("status") != "ok":
        return None
    macs = _num(_get(ours, "model", "macs_per_item")) or _num(_get(torch, "model", "macs_per_item"))
    med = _num(_get(ours, "stats", "median_s"))
    peak = _num(_get(ours, "environment", "gpu", "peak_flops")) or _num(_get(torch, "environment", "gpu", "peak_flops"))
    if not (macs and med and peak):
        return None
    return 100.0 * 2.0 * macs * batch / med / peak


def side_status(r):
    return "missing" if r is None else str(r.get("status") or "unknown")


def table(ours, torch):
    """(markdown lines, compared, slower, geomean ratio or None)."""
    def sort_key(k):
        return (ORDER.index(k[0]) if k[0] in ORDER else len(ORDER), k[0], k[1], k[3], k[2])
    lines = ["| model | batch | precision | batchbench ms/item | pytorch ms/item | ours/torch | "
             "batchbench % of peak | status |",
             "|---|---:|---|---:|---:|---:|---:|---|"]
    ratios, slower = [], 0
    for key in sorted(set(ours) | set(torch), key=sort_key):
        model, head, batch, precision = key
        o, t = ours.get(key), torch.get(key)
        om, tm = per_item_ms(o), per_item_ms(t)
        ratio = om / tm if om and tm else None
        pct = pct_of_peak(o, t, batch)
        so, st = side_status(o), side_status(t)
        status = "ok" if so == st == "ok" else f"batchbench {so}, pytorch {st}"
        if ratio is not None:
            ratios.append(ratio)
            if ratio > 1.0:
                slower += 1
                status += " SLOWER"
        name = model if head == "features" else f"{model} ({head})"
        cells = [name, str(batch), precision, f"{om:.4f}" if om else "", f"{tm:.4f}" if tm else "",
                 f"{ratio:.2f}" if ratio is not None else "", f"{pct:.1f}" if pct is not None else "", status]
        lines.append("| " + " | ".join(cells) + " |")
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else None
    return lines, len(ratios), slower, geo


def gpu_name(results):
    for r in results.values():
        name = _get(r, "environment", "gpu", "name")
        if name:
            return str(name)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ours", help="batchbench's result folder")
    ap.add_argument("torch", help="PyTorch's result folder (tools/torch_bench.py)")
    ap.add_argument("--title", help="heading printed above the table")
    args = ap.parse_args(argv)
    for d in (args.ours, args.torch):
        if not os.path.isdir(d):
            print(f"gpu_compare.py: warning: {d} is not a folder", file=sys.stderr)
    ours, torch = load(args.ours), load(args.torch)
    if args.title:
        print(f"## {args.title}\n")
    gpu = gpu_name(ours) or gpu_name(torch)
    print(f"batchbench: `{args.ours}` ({len(ours)} files), PyTorch: `{args.torch}` ({len(torch)} files)"
          + (f", GPU: {gpu}" if gpu else "") + "\n")
    lines, compared, slower, geo = table(ours, torch)
    print("\n".join(lines))
    print(f"\ncompared {compared}, slower {slower}, geomean ours/torch "
          + (f"{geo:.3f}" if geo is not None else "n/a"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

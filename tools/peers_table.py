#!/usr/bin/env python3
"""batchbench against every peer at once, as markdown: the table of
scripts/gpu-vs-peers.sh (issue 22's question: is batchbench ahead of
PyTorch eager, PyTorch compiled and TensorRT at every point?).

    peers_table.py DIR... [--title TEXT] [--tensorrt-max 1.10]

Reads every result file (inference_time-*.json) in the folders and groups
them by config.engine: "batchbench" is ours, every other engine a peer
("pytorch", "pytorch-compile", "tensorrt", ...). One row per (model, head,
batch size, precision) found anywhere:

| model | batch | precision | batchbench ms/item | % of peak | <peer> ms/item | ours/<peer> | ... | notes |

ms/item is stats.per_item_median_s; ours/<peer> the ratio (above 1.0:
batchbench is slower there); % of peak is 2 x MACs per item x batch /
median over the GPU's dense peak for the precision (environment.gpu.
peak_flops of the file), blank when unknown. A peer's cell is blank where
it did not end ok, and the notes say what its file says (status and
message, cut short) or that it is missing; peers that compile or build per
batch size add their build seconds to the notes.

Below the table, one line per peer: points compared, where batchbench is
slower (and the worst ratio, with its point), the geomean ours/peer; then
issue 22's targets, each PASS, FAIL or "not measured":
  batchbench <= pytorch and <= pytorch-compile at every point,
  batchbench <= --tensorrt-max (1.10) x tensorrt at every point and the
  geomean ours/tensorrt <= 1.0,
  bf16 vit_l_16 at batch 256 at >= 50% of the GPU's dense bf16 peak.
A target counts as met only where every point of the table has both
engines ok ("incomplete" otherwise). Exit 0 (2: bad arguments).
Standard library only.
"""
import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gpu_compare import ORDER, _get, _num, gpu_name, per_item_ms, results  # noqa: E402

PEER_ORDER = ["pytorch", "pytorch-compile", "tensorrt"]


def load(folders):
    """{engine: {(model, head, batch, precision): result}}."""
    out = {}
    for folder in folders:
        for key, r in results(folder, "peers_table.py"):
            out.setdefault(str(r["config"].get("engine") or "batchbench"), {})[key] = r
    return out


def pct_of_peak(r, batch):
    if r is None or r.get("status") != "ok":
        return None
    macs, med = _num(_get(r, "model", "macs_per_item")), _num(_get(r, "stats", "median_s"))
    peak = _num(_get(r, "environment", "gpu", "peak_flops"))
    return 100.0 * 2.0 * macs * batch / med / peak if macs and med and peak else None


def note(engine, r):
    if r is None:
        return f"{engine} missing"
    if r.get("status") != "ok":
        msg = str(r.get("message") or "").strip()
        return f"{engine} {r.get('status')}" + (f": {msg[:90]}" if msg else "")
    b = _num(r.get("build_s"))
    return f"{engine} built in {b:.1f} s" if b is not None else ""


def sort_key(k):
    return (k[3], ORDER.index(k[0]) if k[0] in ORDER else len(ORDER), k[0], k[1], k[2])


def table(by_engine):
    """(markdown lines, {peer: [(key, ratio or None)]})."""
    ours = by_engine.get("batchbench", {})
    peers = sorted((e for e in by_engine if e != "batchbench"),
                   key=lambda e: (PEER_ORDER.index(e) if e in PEER_ORDER else len(PEER_ORDER), e))
    head = ["model", "batch", "precision", "batchbench ms/item", "% of peak"]
    for p in peers:
        head += [f"{p} ms/item", f"ours/{p}"]
    lines = ["| " + " | ".join(head + ["notes"]) + " |",
             "|" + "|".join(["---", "---:", "---"] + ["---:"] * (len(head) - 3) + ["---"]) + "|"]
    ratios = {p: [] for p in peers}
    keys = set()
    for e in by_engine.values():
        keys |= set(e)
    for key in sorted(keys, key=sort_key):
        model, hd, batch, precision = key
        o = ours.get(key)
        om, pct = per_item_ms(o), pct_of_peak(o, batch)
        cells = [model if hd == "features" else f"{model} ({hd})", str(batch), precision,
                 f"{om:.4f}" if om else "", f"{pct:.1f}" if pct is not None else ""]
        notes = [n for n in (note("batchbench", o) if o is None or o.get("status") != "ok" else "",) if n]
        for p in peers:
            r = by_engine[p].get(key)
            pm = per_item_ms(r)
            ratio = om / pm if om and pm else None
            ratios[p].append((key, ratio))
            cells += [f"{pm:.4f}" if pm else "", f"{ratio:.2f}" if ratio is not None else ""]
            if ratio is not None and ratio > 1.0:
                notes.append(f"slower than {p}")
            n = note(p, r)
            if n:
                notes.append(n)
        lines.append("| " + " | ".join(cells + ["; ".join(notes)]) + " |")
    return lines, ratios


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summary(ratios):
    lines = []
    for p, pts in ratios.items():
        got = [(k, r) for k, r in pts if r is not None]
        slower = [(k, r) for k, r in got if r > 1.0]
        worst = max(got, key=lambda kr: kr[1]) if got else None
        geo = geomean([r for _, r in got])
        lines.append(f"{p}: compared {len(got)} of {len(pts)}, batchbench slower at {len(slower)}"
                     + (f" (worst {worst[1]:.2f}: {worst[0][0]} batch {worst[0][2]} {worst[0][3]})"
                        if worst and worst[1] > 1.0 else "")
                     + f", geomean ours/{p} " + (f"{geo:.3f}" if geo is not None else "n/a"))
    return lines


def verdict(pts, limit, geo_limit=None):
    got = [r for _, r in pts if r is not None]
    if not got:
        return "not measured"
    ok = all(r <= limit for r in got) and (geo_limit is None or geomean(got) <= geo_limit)
    if len(got) < len(pts):
        return f"{'met' if ok else 'FAIL'} where measured, incomplete ({len(pts) - len(got)} points not compared)"
    return "PASS" if ok else "FAIL"


def targets(by_engine, ratios, trt_max):
    out = []
    for p, what in (("pytorch", "batchbench <= PyTorch eager at every point"),
                    ("pytorch-compile", "batchbench <= PyTorch channels_last + torch.compile at every point")):
        out.append(f"target: {what}: {verdict(ratios[p], 1.0) if p in ratios else 'not measured'}")
    out.append(f"target: batchbench <= {trt_max:.2f} x TensorRT at every point, geomean <= 1.0: "
               + (verdict(ratios["tensorrt"], trt_max, 1.0) if "tensorrt" in ratios else "not measured"))
    r = by_engine.get("batchbench", {}).get(("vit_l_16", "features", 256, "bf16"))
    pct = pct_of_peak(r, 256)
    out.append("target: bf16 vit_l_16 at batch 256 at >= 50% of dense bf16 peak: "
               + (f"{'PASS' if pct >= 50.0 else 'FAIL'} ({pct:.1f}%)" if pct is not None else "not measured"))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+", help="result folders (any engines)")
    ap.add_argument("--title", help="heading printed above the table")
    ap.add_argument("--tensorrt-max", type=float, default=1.10,
                    help="largest ours/tensorrt allowed at any point (default 1.10)")
    args = ap.parse_args(argv)
    for d in args.dirs:
        if not os.path.isdir(d):
            print(f"peers_table.py: warning: {d} is not a folder", file=sys.stderr)
    by_engine = load(args.dirs)
    if args.title:
        print(f"## {args.title}\n")
    gpu = next((g for g in (gpu_name(e) for e in by_engine.values()) if g), None)
    counts = ", ".join(f"{e} {len(v)}" for e, v in sorted(by_engine.items()))
    print(f"result files: {counts or 'none'}" + (f"; GPU: {gpu}" if gpu else "") + "\n")
    lines, ratios = table(by_engine)
    print("\n".join(lines) + "\n")
    print("\n".join(summary(ratios) + targets(by_engine, ratios, args.tensorrt_max)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

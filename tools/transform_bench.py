#!/usr/bin/env python3
"""transform_bench.py — single-core images/s: batchbench's ImageNet transform
against PIL + torchvision's, on the same JPEG files and the same CPU core.

    make build/peers/transform_speed
    /usr/bin/python3 tools/transform_bench.py DIR [--cpu 0] [--reps 3] \\
        [--speed build/peers/transform_speed]

DIR is a jpeg data set (`batchbench dataset make --kind jpeg --out DIR`);
its manifest lists the files. Three rows are timed:
  batchbench              bb_source_load: read, decode (libjpeg-turbo),
                          resize 256, crop 224, normalise
  batchbench --dct-scale  the same with libjpeg decoding at M/8 scale
  PIL + torchvision       Image.open(f).convert('RGB') and
                          Compose([Resize(256), CenterCrop(224), ToTensor(),
                          Normalize(mean, std)]), torch.set_num_threads(1)
Each side first reads every file once (warm page cache), then times --reps
passes over all files and reports the median pass. Everything runs pinned
to one core (taskset -c CPU for batchbench, os.sched_setaffinity for
Python). Prints a table and, with --json, one JSON object.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def ours(speed, d, cpu, reps, dct):
    cmd = ["taskset", "-c", str(cpu), speed, d, "--reps", str(reps)] + (["--dct-scale"] if dct else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"transform_bench: {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)["images_per_s"]


def pil_torchvision(files, cpu, reps):
    os.sched_setaffinity(0, {cpu})
    import torch
    from PIL import Image
    from torchvision import transforms as T

    torch.set_num_threads(1)
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])

    def one_pass():
        t0 = time.perf_counter()
        for f in files:
            tf(Image.open(f).convert("RGB"))
        return time.perf_counter() - t0

    one_pass()  # warm-up
    return len(files) / statistics.median(one_pass() for _ in range(reps))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--speed", default="build/peers/transform_speed", help="the peers/transform_speed binary")
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    m = json.load(open(os.path.join(a.dir, "manifest.json")))
    if m.get("kind") != "jpeg":
        sys.exit(f"transform_bench: {a.dir} is not a jpeg data set")
    files = [os.path.join(a.dir, f) for f in m["files"]]
    mean_kb = sum(os.path.getsize(f) for f in files) / len(files) / 1e3
    r = {
        "images": len(files),
        "mean_kb": round(mean_kb, 1),
        "cpu": a.cpu,
        "batchbench": ours(a.speed, a.dir, a.cpu, a.reps, False),
        "batchbench_dct_scale": ours(a.speed, a.dir, a.cpu, a.reps, True),
        "pil_torchvision": pil_torchvision(files, a.cpu, a.reps),
    }
    if a.json:
        print(json.dumps(r))
        return 0
    base = r["pil_torchvision"]
    print(f"{r['images']} JPEGs, mean {r['mean_kb']} KB, one core (cpu {a.cpu}), median of {a.reps} passes")
    for name, key in (("batchbench", "batchbench"), ("batchbench --dct-scale", "batchbench_dct_scale"),
                      ("PIL + torchvision", "pil_torchvision")):
        print(f"  {name:24s} {r[key]:8.1f} images/s  {r[key] / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""check_results.py DIR N — DIR holds N result files that parse and carry every
field docs/result-schema.md documents, and a summary.csv with one row each."""
import csv
import glob
import json
import re
import sys

REQUIRED = {
    "": ["schema_version", "tool", "created_utc", "status", "message", "config", "environment", "model",
         "prepare_s", "memory", "times_s", "input_copy_s"],
    "tool": ["name", "version", "git_commit"],
    "config": ["model", "family", "head", "device", "engine", "precision", "math_mode", "batch_size", "warmup",
               "reps", "threads", "seed", "input_source", "reps_mode", "min_reps", "target_ci", "warmup_time_s",
               "max_config_time_s", "budget_s", "order_seed"],
    "measurement": ["warmup_passes", "warmup_s", "interleaved", "interleave_fallback", "rounds", "stop_reason",
                    "ci_half_width", "measured_wall_s"],
    "noise": ["available", "why_unavailable", "slices", "wall_s", "steal_s", "steal_frac", "other_cpu_s",
              "other_frac", "cores", "load1_min", "load1_max", "cpu_mhz_mean", "gpu", "disturbed", "disturbed_why"],
    "memory": ["weight_bytes", "arena_bytes", "workspace_bytes", "peak_bytes"],
    "environment": ["host", "cpu_model", "cores_logical", "threads_used", "mem_total_bytes", "os", "kernel",
                    "compiler", "onednn", "gpu"],
    "model": ["params", "macs_per_item", "gmac_per_item", "feature_dim", "weight_bytes", "activation_bytes"],
    "stats": ["n", "median_s", "mean_s", "std_s", "min_s", "max_s", "p5_s", "p95_s", "ci95_median_lo_s",
              "ci95_median_hi_s", "cv", "per_item_median_s", "items_per_s", "gflops", "p50_s", "p90_s", "p99_s",
              "percentiles"],
}


def check_device_fields(f, r):
    """What a prepared configuration records about its device: the math that
    ran, the memory it held (peak = weights + arena + workspace), and one
    input copy time per measured batch on cuda, none on the CPU."""
    c, m = r["config"], r["memory"]
    problems = []
    if m["peak_bytes"] != m["weight_bytes"] + m["arena_bytes"] + m["workspace_bytes"]:
        problems.append(f"memory.peak_bytes {m['peak_bytes']} is not the sum of its parts")
    if r["status"] == "ok":
        if not c["math_mode"] or m["weight_bytes"] <= 0 or m["arena_bytes"] <= 0:
            problems.append(f"ok result without math_mode / memory: {c['math_mode']!r} {m}")
        want = len(r["times_s"]) if c["device"] == "cuda" else 0
        if len(r["input_copy_s"]) != want:
            problems.append(f"{len(r['input_copy_s'])} input copy times on {c['device']}, want {want}")
        if c["device"] == "cpu" and (not cpu_math_ok(c) or c["precision"] != "fp32"):
            problems.append(f"cpu result with precision {c['precision']}, math_mode {c['math_mode']!r}")
    for p in problems:
        print(f"{f}: {p}")
    return len(problems)


def cpu_math_ok(c):
    """fp32 on oneDNN; where the batch was split over the threads, each of
    the config's threads took an equal share of its batch."""
    mode = c["math_mode"]
    if not mode.startswith("fp32 (oneDNN)"):
        return False
    split = re.search(r"; the batch split over (\d+) threads, (\d+) items? each$", mode)
    if split:
        t, k = int(split.group(1)), int(split.group(2))
        return t == c["threads"] and t * k == c["batch_size"]
    wino = r"(; Winograd for \d+ of \d+ 3x3 stride-1 convs( \(batchbench's F\(4x4,3x3\)\))?)?"
    return re.fullmatch(r"fp32 \(oneDNN\)" + wino, mode) is not None


def main(d, n):
    files = sorted(glob.glob(f"{d}/inference_time-*.json"))
    bad = 0 if len(files) == n else print(f"{len(files)} result files, want {n}") or 1
    for f in files:
        r = json.load(open(f))
        for sec, keys in REQUIRED.items():
            obj = r if not sec else r.get(sec)
            if sec == "stats" and r["status"] != "ok" and not r["times_s"]:
                continue
            missing = [k for k in keys if not isinstance(obj, dict) or k not in obj]
            if missing:
                print(f"{f}: missing {sec or 'top-level'} fields {missing}")
                bad += 1
        if r["status"] == "ok" and len(r["times_s"]) < r["config"]["reps"]:
            print(f"{f}: {len(r['times_s'])} times for {r['config']['reps']} reps")
            bad += 1
        bad += check_device_fields(f, r)
    rows = list(csv.DictReader(open(f"{d}/summary.csv")))
    if len(rows) != n:
        print(f"summary.csv: {len(rows)} rows, want {n}")
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

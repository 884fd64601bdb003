#!/usr/bin/python3
"""check_results.py DIR N — DIR holds N result files that parse and carry every
field docs/result-schema.md documents, and a summary.csv with one row each."""
import csv
import glob
import json
import sys

REQUIRED = {
    "": ["schema_version", "tool", "created_utc", "status", "message", "config", "environment", "model",
         "prepare_s", "times_s"],
    "tool": ["name", "version", "git_commit"],
    "config": ["model", "family", "head", "device", "engine", "precision", "batch_size", "warmup", "reps",
               "threads", "seed", "input_source"],
    "environment": ["host", "cpu_model", "cores_logical", "threads_used", "mem_total_bytes", "os", "kernel",
                    "compiler", "onednn"],
    "model": ["params", "macs_per_item", "gmac_per_item", "feature_dim", "weight_bytes", "activation_bytes"],
    "stats": ["n", "median_s", "mean_s", "std_s", "min_s", "max_s", "p5_s", "p95_s", "ci95_median_lo_s",
              "ci95_median_hi_s", "cv", "per_item_median_s", "items_per_s", "gflops"],
}


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
    rows = list(csv.DictReader(open(f"{d}/summary.csv")))
    if len(rows) != n:
        print(f"summary.csv: {len(rows)} rows, want {n}")
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

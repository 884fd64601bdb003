#!/usr/bin/env bash
# serve-vs-sim.sh — checks the report's serving simulation against reality:
# for light, medium and near-saturation load runs a sweep of a model at
# every batch size up to B, finds the capacity in it (B / mean batch time at
# B), runs `batchbench serve` at that fraction of it, and a sweep again, and
# simulates the serving run from the two sweeps' batch times pooled
# (tests/tools/sim_dump: the same arrival schedule, seed and request count,
# the same batcher rule), side by side: p50 and p99 measured and simulated,
# and their ratio. The sweeps sandwich each serving run because this
# machine's speed drifts by tens of percent within a minute (other tenants):
# the times measured around a run describe the machine it ran on. Each
# sweep is the back-to-back one and, for each --idle-ms level, the same
# sweep with that idle time before each batch (run --idle-ms): a batch after
# the server idled runs slower, and the simulation draws such a batch from
# the levels around its idle gap (--idle-ms none: back-to-back times only).
#
# Usage: scripts/serve-vs-sim.sh [--bin PATH] [--sim PATH] [--model M] [--threads T]
#            [--max-batch B] [--timeout-ms T] [--duration S] [--loads F,F,F] [--reps N]
#            [--seed S] [--idle-ms LIST|none] [--repeat N] [--out DIR]
# Defaults: build/batchbench, build/tests/tools/sim_dump, mobilenet_v2, 1
# thread, B 8, T 5 ms, 20 s per serving run, loads 0.2,0.5,0.85, 20 measured
# batches per batch size in each sweep, seed 1, idle levels 2,5,20 ms, 3
# runs per load (round robin over the loads; run r serves the arrival
# schedule of seed S + r - 1), a temporary folder (kept with --out). On
# this 2-core VM one run near saturation reads anywhere from 0.6x to 1.35x
# (the machine's speed moves by 10-20% between the sweep and the serving
# run, and a queue at 85% load amplifies that): judge the median of the
# runs at each load.
# The "free:" columns are the same simulation with a batch's idle gap
# counted from when the server was last free instead of from when its size
# last ran (sim_dump --gap free; report/serve_sim.h says why both).
# The last column, served/sweep, is the median over the serving run's
# batches that followed one of their own size (both warm) of their time
# over the sweeps' back-to-back median at that size: the machine's drift
# between the two, which the simulation cannot know; near saturation the
# queue amplifies it.
# Writes OUT/serve-vs-sim.json ({"points": [{load, run, rate, measured:
# {p50_ms, p99_ms, n_served, n_dropped, mean_batch}, simulated: {...,
# after_idle}, ratio_p50, ratio_p99, service_drift: {ratio, n} or
# null, gap_since_free: {p50_ms, p99_ms, mean_batch, ratio_p50,
# ratio_p99}}], "loads": [{load, runs, gap_since_free: {...},
# median_ratio_p50, median_ratio_p99}]}) and prints the table. Exit codes: 0 done (agreement is the caller's
# judgement: tests/cli/test_serve_sim.sh asserts it), 1 a step failed, 2
# bad arguments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bin=$repo/build/batchbench sim=$repo/build/tests/tools/sim_dump
model=mobilenet_v2 threads=1 maxb=8 tmo=5 duration=20 loads=0.2,0.5,0.85 reps=20 seed=1 out= idle=2,5,20 repeat=3
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad() { echo "serve-vs-sim.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=${2:?--bin needs a path}; shift ;;
        --sim) sim=${2:?--sim needs a path}; shift ;;
        --model) model=${2:?--model needs a name}; shift ;;
        --threads) threads=${2:?}; shift ;;
        --max-batch) maxb=${2:?}; shift ;;
        --timeout-ms) tmo=${2:?}; shift ;;
        --duration) duration=${2:?}; shift ;;
        --loads) loads=${2:?}; shift ;;
        --reps) reps=${2:?}; shift ;;
        --seed) seed=${2:?}; shift ;;
        --repeat) repeat=${2:?--repeat needs a count}; shift ;;
        --idle-ms) idle=${2:?--idle-ms needs a list of milliseconds or none}; shift ;;
        --out) out=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) bad "unknown option '$1' (--help)" ;;
    esac
    shift
done
[[ $maxb =~ ^[1-9][0-9]?$ && $maxb -le 16 ]] || bad "--max-batch: '$maxb' is not 1..16 (every size is measured)"
[[ $idle == none || $idle =~ ^[0-9]+(\.[0-9]+)?(,[0-9]+(\.[0-9]+)?)*$ ]] ||
    bad "--idle-ms: '$idle' is not a list of milliseconds, nor none"
[ "$idle" = none ] && idle=
[[ $loads =~ ^(0?\.[0-9]+|1)(,(0?\.[0-9]+|1))*$ ]] || bad "--loads: '$loads' is not a list of fractions of the capacity"
[[ $repeat =~ ^[1-9][0-9]?$ ]] || bad "--repeat: '$repeat' is not 1..99"
for n in "$threads" "$duration" "$reps" "$seed"; do [[ $n =~ ^[0-9]+$ ]] || bad "'$n' is not a whole number"; done
[ -x "$bin" ] || bad "--bin: '$bin' is not executable (make first)"
[ -x "$sim" ] || bad "--sim: '$sim' is not executable (make $repo/build/tests/tools/sim_dump)"
if [ -z "$out" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
mkdir -p "$out"

sizes=$(seq -s, 1 "$maxb")
sweep() { # DIR: every batch size up to B, interleaved; back to back, then after each idle level
    local ms
    for ms in 0 ${idle//,/ }; do
        "$bin" run --models "$model" --batch-sizes "$sizes" --threads "$threads" --warmup 3 --warmup-time 0.5 \
            --reps "$reps" --idle-ms "$ms" --out "$1" --no-report >>"$1.log" 2>&1 || { tail -5 "$1.log" >&2; exit 1; }
    done
}
# pool DIR_A DIR_B OUT: a result folder whose batch times are both folders' (the machine's speed
# drifts by tens of percent within a minute here: the times around a serving run describe it)
pool() {
    /usr/bin/python3 - "$@" <<'PY'
import glob, json, os, sys
a, b, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)
for f in glob.glob(a + "/inference_time-*.json"):
    r = json.load(open(f)); g = json.load(open(os.path.join(b, os.path.basename(f))))
    r["times_s"] += g["times_s"]; r.pop("stats", None); r["input_copy_s"] = []
    json.dump(r, open(os.path.join(out, os.path.basename(f)), "w"))
PY
}
echo "== $model, batch sizes $sizes, $threads thread(s), $reps batches each (interleaved) per sweep," \
    "idle levels: ${idle:-none} ms"
points=()
for r in $(seq 1 "$repeat"); do # round robin: each load's runs spread over the whole time
for load in ${loads//,/ }; do
    k=$load-r$r s=$((seed + r - 1)) # a run's own arrival schedule
    rm -rf "$out/before-$k" "$out/after-$k" "$out/serve-$k" "$out/pooled-$k" "$out"/{before,after}-"$k".log
    # the capacity (B / mean batch time at B) from the sweep just before the
    # serving run: the load is a fraction of what the machine does now
    sweep "$out/before-$k"
    cap=$("$sim" "$out/before-$k" "$model" "$maxb" "$tmo" 1 --n 100 |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["capacity"])')
    rate=$(/usr/bin/python3 -c "print(round($load * $cap, 1))")
    n=$(/usr/bin/python3 -c "import math; print(math.ceil($rate * $duration))")
    echo "== load $load, run $r/$repeat: capacity now $cap items/s; serve at $rate/s for $duration s ($n requests," \
        "seed $s), sweep"
    "$bin" serve --model "$model" --threads "$threads" --rate "$rate" --max-batch "$maxb" --timeout-ms "$tmo" \
        --duration "$duration" --seed "$s" --out "$out/serve-$k" >"$out/serve-$k.log" 2>&1 ||
        { tail -5 "$out/serve-$k.log" >&2; exit 1; }
    sweep "$out/after-$k"
    pool "$out/before-$k" "$out/after-$k" "$out/pooled-$k"
    "$sim" "$out/pooled-$k" "$model" "$maxb" "$tmo" "$rate" --seed "$s" --n "$n" --warmup 0 \
        >"$out/sim-$k.json" || exit 1
    "$sim" "$out/pooled-$k" "$model" "$maxb" "$tmo" "$rate" --seed "$s" --n "$n" --warmup 0 --gap free \
        >"$out/sim-free-$k.json" || exit 1
    points+=("$load $r $rate $(ls "$out/serve-$k"/serve-*.json) $out/sim-$k.json $out/pooled-$k")
done
done

/usr/bin/python3 - "$out/serve-vs-sim.json" "${points[@]}" <<'PY'
import glob, json, statistics, sys

def drift(m, pooled):
    """Every batch of the serving run that followed one of its own size
    (both warm, as the sweep's back-to-back batches), its time over the
    sweeps' back-to-back median at that size: the median of those ratios is
    how much slower (or faster) the machine ran while serving. None with
    fewer than 5 such batches."""
    sweep = {}
    for f in glob.glob(pooled + "/inference_time-*.json"):
        r = json.load(open(f))
        if not r["config"].get("idle_s") and r["times_s"]:
            sweep[r["config"]["batch_size"]] = statistics.median(r["times_s"])
    b = m["batches"]
    ratios = [(e - s) / sweep[n] for i, (s, e, n) in enumerate(zip(b["start_s"], b["end_s"], b["run_size"]))
              if i > 0 and b["run_size"][i - 1] == n and n in sweep]
    if len(ratios) < 5:
        return None
    return {"ratio": statistics.median(ratios), "n": len(ratios)}

rows = []
for p in sys.argv[2:]:
    load, run, rate, served, simf, pooled = p.split(" ")
    m = json.load(open(served)); s = json.load(open(simf)); st = m["stats"]
    sf = json.load(open(simf.replace("/sim-", "/sim-free-")))
    meas = {"p50_ms": st["p50_s"] * 1e3, "p99_ms": st["p99_s"] * 1e3, "n_served": st["n_served"],
            "n_dropped": st["n_dropped"], "mean_batch": m["batches"]["mean_size"]}
    simd = {"p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"], "mean_batch": s["mean_batch"], "after_idle": s["after_idle"]}
    rows.append({"load": float(load), "run": int(run), "rate": float(rate), "measured": meas, "simulated": simd,
                 "ratio_p50": simd["p50_ms"] / meas["p50_ms"], "ratio_p99": simd["p99_ms"] / meas["p99_ms"],
                 "service_drift": drift(m, pooled),
                 "gap_since_free": {"p50_ms": sf["p50_ms"], "p99_ms": sf["p99_ms"], "mean_batch": sf["mean_batch"],
                                    "ratio_p50": sf["p50_ms"] / meas["p50_ms"], "ratio_p99": sf["p99_ms"] / meas["p99_ms"]}})
rows.sort(key=lambda r: (r["load"], r["run"]))
loads = []
for load in sorted({r["load"] for r in rows}):
    mine = [r for r in rows if r["load"] == load]
    loads.append({"load": load, "runs": len(mine), "median_ratio_p50": statistics.median(r["ratio_p50"] for r in mine),
                  "median_ratio_p99": statistics.median(r["ratio_p99"] for r in mine),
                  "gap_since_free": {"median_ratio_p50": statistics.median(r["gap_since_free"]["ratio_p50"] for r in mine),
                                     "median_ratio_p99": statistics.median(r["gap_since_free"]["ratio_p99"] for r in mine)}})
json.dump({"points": rows, "loads": loads}, open(sys.argv[1], "w"), indent=1)
print("%-6s %3s %8s | %9s %9s %6s | %9s %9s %6s | %9s %9s | %9s %9s | %s" % ("load", "run", "rate/s", "meas p50",
      "meas p99", "batch", "sim p50", "sim p99", "batch", "sim/meas", "sim/meas", "free:", "free:", "served/sweep"))
print("%-6s %3s %8s | %9s %9s %6s | %9s %9s %6s | %9s %9s | %9s %9s | %s" % ("", "", "", "ms", "ms", "mean", "ms", "ms",
      "mean", "p50", "p99", "p50", "p99", "batch time"))
for r in rows:
    m, s, d = r["measured"], r["simulated"], r["service_drift"]
    dr = "%.3f (%d batches)" % (d["ratio"], d["n"]) if d else "-"
    f = r["gap_since_free"]
    print("%-6.2f %3d %8.1f | %9.2f %9.2f %6.2f | %9.2f %9.2f %6.2f | %9.3f %9.3f | %9.3f %9.3f | %s" % (r["load"],
          r["run"], r["rate"], m["p50_ms"], m["p99_ms"], m["mean_batch"], s["p50_ms"], s["p99_ms"], s["mean_batch"],
          r["ratio_p50"], r["ratio_p99"], f["ratio_p50"], f["ratio_p99"], dr))
print("median of the runs at each load (sim/meas):")
for l in loads:
    print("  load %.2f: p50 %.3f, p99 %.3f (%d runs); with the gap since the server was free: p50 %.3f, p99 %.3f"
          % (l["load"], l["median_ratio_p50"], l["median_ratio_p99"], l["runs"], l["gap_since_free"]["median_ratio_p50"],
             l["gap_since_free"]["median_ratio_p99"]))
PY
echo "table: $out/serve-vs-sim.json"

#!/usr/bin/env bash
# test_energy.sh — energy per item through the whole tool: a sweep reading a
# fake RAPL tree (BATCHBENCH_POWERCAP_ROOT) whose package counter a helper
# advances at 500 W, with a wrap-around range small enough to wrap during
# every energy pass; each result's energy block (available, source, joules,
# about 500 W, from an energy pass of at least 2 s after the timed batches,
# valid against the schema), the report's energy section and chart; and a
# tree without counters: "available": false with the reason, never a number.
# Usage: tests/cli/test_energy.sh path/to/batchbench
set -u
bin=${1:?usage: test_energy.sh path/to/batchbench}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
ticker=
trap '[ -n "$ticker" ] && kill "$ticker" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# --min-time 1: a window long enough that the fake counter's ticker, if the
# machine delays it by a few hundred ms, moves the mean power by little
sweep=(--models mobilenet_v2 --batch-sizes 1,2,4 --threads 1 --warmup 1 --warmup-time 0 --reps 8 --min-time 1 --out)

# 1. a package counter at 500 W that wraps every 1000 J (every 2 s). The
# reader refuses reads further apart than the range lasts at 1000 W (here
# 1 s): a range of 100 J at 50 W wrapped as often but refused a slow CPU's
# 117 ms between two batches (mobilenet_v2 at batch 4, one thread, Zen 1)
z=$tmp/pc/intel-rapl:0
mkdir -p "$z" "$tmp/pc/intel-rapl:0:0"
echo package-0 >"$z/name" && echo 1000000000 >"$z/max_energy_range_uj" && echo 0 >"$z/energy_uj"
echo core >"$tmp/pc/intel-rapl:0:0/name" && echo 999999 >"$tmp/pc/intel-rapl:0:0/energy_uj" # not counted
/usr/bin/python3 - "$z" <<'PY' &
import os, sys, time
z = sys.argv[1]; t0 = time.time()
while time.time() - t0 < 120:
    v = int((time.time() - t0) * 500e6) % 1000000000  # microjoules at 500 W, wrapping
    with open(z + "/e.tmp", "w") as f: f.write("%d\n" % v)
    os.replace(z + "/e.tmp", z + "/energy_uj")
    time.sleep(0.002)
PY
ticker=$!
sleep 0.3
BATCHBENCH_POWERCAP_ROOT=$tmp/pc "$bin" run "${sweep[@]}" "$tmp/r1" >"$tmp/r1.log" 2>&1 && ok || fail "sweep: $(tail -3 "$tmp/r1.log")"
kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null; ticker=
/usr/bin/python3 - "$tmp/r1" <<'PY' && ok || fail "energy blocks"
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/inference_time-*.json")); assert len(files) == 3, files
for f in files:
    r = json.load(open(f)); e = r["energy"]; n = e["batches"] * r["config"]["batch_size"]
    assert e["available"] is True and e["source"] == "rapl:package-0", e
    assert 300 < e["mean_power_w"] < 750, e                     # the fake 500 W (its counter wraps every 2 s)
    assert abs(e["joules_per_item"] * n - e["joules"]) < 1e-9 * e["joules"], e
    assert abs(e["items_per_joule"] * e["joules_per_item"] - 1) < 1e-9, e
    # the energy pass: at least 2 s of forward passes back to back, after the timed batches
    assert e["seconds"] >= 2.0 and e["batches"] >= 1 and 0 < e["forward_s"] <= e["seconds"], e
    assert abs(e["busy"] - e["forward_s"] / e["seconds"]) < 1e-9 and e["busy"] > 0.5, e
    assert e["forward_s"] / e["batches"] < 4 * max(r["times_s"]), (e, r["times_s"])  # the same model and batch
PY
/usr/bin/python3 "$here/validate_results.py" --current "$here/../../docs/result.schema.json" "$tmp/r1" >/dev/null &&
    ok || fail "energy blocks against the schema"
grep -q "^## Energy per item: batchbench on cpu" "$tmp/r1/report.md" && grep -q "^| mobilenet_v2 | [0-9.*]* |" "$tmp/r1/report.md" &&
    grep -q "use (energy)" "$tmp/r1/report.md" && [ -s "$tmp/r1/energy_per_item.png" ] && ok ||
    fail "report energy section: $(grep -A8 'Energy' "$tmp/r1/report.md")"

# 2. no counters: unavailable, and why
mkdir -p "$tmp/none"
BATCHBENCH_POWERCAP_ROOT=$tmp/none "$bin" run --models mobilenet_v2 --batch-sizes 1 --threads 1 --warmup 0 --reps 2 \
    --out "$tmp/r2" >/dev/null 2>&1 && ok || fail "sweep without counters"
/usr/bin/python3 - "$tmp/r2" "$tmp/none" <<'PY' && ok || fail "unavailable energy block"
import glob, json, sys
(f,) = glob.glob(sys.argv[1] + "/inference_time-*.json")
e = json.load(open(f))["energy"]
assert e["available"] is False and sys.argv[2] in e["why"] and set(e) == {"available", "why"}, e
PY
grep -q "^Not measured: no energy counter could be read (.*$tmp/none" "$tmp/r2/report.md" && [ ! -e "$tmp/r2/energy_per_item.png" ] &&
    ok || fail "report without energy: $(grep -A3 'Energy' "$tmp/r2/report.md")"

echo "test_energy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_shard.sh — `run --shard I/N` without a cluster: the partition (every
# configuration in exactly one shard, balanced by cost for the paper preset,
# the same on every call), three shards run at once into one folder, the plan
# file and what `report` says when a shard's result is missing, --resume of a
# shard on another host (a UTS namespace) keeping every finished file, the
# report across hardware, summary.csv's host column, and bad arguments.
# The real cluster: tests/slurm/test_slurm.sh.
# Usage: tests/cli/test_shard.sh path/to/batchbench
set -u
bin=$(cd "$(dirname "${1:?usage: test_shard.sh path/to/batchbench}")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
sweep=(--models mobilenet_v2,resnet18 --batch-sizes 1,2,4 --threads 1 --warmup 1 --warmup-time 0 --reps 3
       --interleave off)
expect2() { # message, args...: exit 2 and the message on stderr
    local msg=$1; shift
    "$bin" "$@" >/dev/null 2>"$tmp/e.log"; local rc=$?
    [ $rc -eq 2 ] && grep -qF -- "$msg" "$tmp/e.log" && ok || fail "$* : exit $rc, $(cat "$tmp/e.log")"
}

# 1. the partition
"$bin" run --preset paper --device cpu --plan --shard all/4 >"$tmp/plan4" 2>&1 && ok || fail "paper --plan all/4"
/usr/bin/python3 - "$tmp/plan4" <<'PY' && ok || fail "paper preset, 4 shards: $(cat "$tmp/plan4")"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1] == " " and "/4" in l]
assert len(rows) == 4, rows
n = sum(int(r[1]) for r in rows); share = [float(r[3].rstrip("x")) for r in rows]
assert n == 60, n                            # 12 models x 5 batch sizes, each once
assert max(share) <= 1.05 and min(share) >= 0.95, share  # balanced by cost
assert len(set(int(r[1]) for r in rows)) > 1, rows       # by cost, not 15 each round-robin
PY
for i in 1 2 3; do "$bin" run "${sweep[@]}" --plan --shard $i/3 >"$tmp/p$i" 2>&1; done
"$bin" run "${sweep[@]}" --plan --shard 2/3 >"$tmp/p2b" 2>&1
cfgs() { grep "batch" "$1" | awk '{print $1, $3}'; }
[ -n "$(cfgs "$tmp/p2")" ] && [ "$(cfgs "$tmp/p2")" = "$(cfgs "$tmp/p2b")" ] && ok || fail "--plan not the same twice"
cat "$tmp"/p[123] | grep "batch" | awk '{print $1, $3}' | sort >"$tmp/union"
[ "$(wc -l <"$tmp/union")" -eq 6 ] && [ "$(sort -u "$tmp/union" | wc -l)" -eq 6 ] && ok ||
    fail "shards do not cover the 6 configurations exactly once: $(cat "$tmp/union")"

# 2. three shards at once into one folder
for i in 1 2 3; do "$bin" run "${sweep[@]}" --shard $i/3 --out "$tmp/s" --no-report >"$tmp/s$i.log" 2>&1 & done
wait
rcs=0; for i in 1 2 3; do grep -q "results: " "$tmp/s$i.log" || rcs=1; done
[ $rcs -eq 0 ] && ok || fail "a shard failed: $(tail -3 "$tmp"/s*.log)"
grep -q "shard 2/3: the batch size to use comes from every shard" "$tmp/s2.log" && ok || fail "shard table note"
/usr/bin/python3 - "$tmp/s" <<'PY' && ok || fail "sharded results"
import csv, glob, json, sys
d = sys.argv[1]
files = sorted(glob.glob(d + "/inference_time-*.json"))
seen = {}
for f in files:
    r = json.load(open(f)); c = r["config"]
    key = (c["model"], c["batch_size"])
    assert key not in seen, ("twice", key); seen[key] = c["shard"]
    assert r["status"] == "ok" and len(c["sweep"]) == 8 and c["shard"].endswith("/3"), (f, c)
assert len(seen) == 6, seen
plans = glob.glob(d + "/plan-*.json"); assert len(plans) == 1, plans
p = json.load(open(plans[0]))
assert p["kind"] == "batchbench-plan" and p["shards"] == 3 and len(p["configurations"]) == 6, p
for c in p["configurations"]:
    assert seen[(c["model"], c["batch_size"])] == "%d/3" % c["shard"], c
assert not glob.glob(d + "/*.tmp*"), "temporary files left"
rows = list(csv.DictReader(open(d + "/summary.csv")))
assert rows and all(r["host"] and r["sweep"] == p["sweep"] for r in rows), rows[:1]
PY
/usr/bin/python3 "$here/validate_results.py" --current "$here/../../docs/result.schema.json" "$tmp/s" >/dev/null &&
    ok || fail "sharded results against the schema"
"$bin" report "$tmp/s" >/dev/null 2>"$tmp/rep.log"; rc=$?
[ $rc -eq 0 ] && grep -q "6 of 6 planned configurations" "$tmp/s/report.md" && ok || fail "report exit $rc: $(cat "$tmp/rep.log")"

# 3. a shard's result missing: report names it (exit 3); --resume on another
# host runs only it and rewrites nothing
victim=$(ls "$tmp/s"/inference_time-*-resnet18-batch_size-2.json)
shard=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['config']['shard'])" "$victim")
rm "$victim"
"$bin" report "$tmp/s" >/dev/null 2>"$tmp/rep.log"; rc=$?
[ $rc -eq 3 ] && grep -q "resnet18 batch 2 (shard $shard of sweep" "$tmp/s/report.md" &&
    grep -q "Missing configurations: 1 of the 6" "$tmp/s/report.md" && ok || fail "missing not named (exit $rc)"
grep -q "planned for shard $shard, has no ok result" "$tmp/rep.log" && ok || fail "no warning for the missing one"
snap() { for f in "$tmp/s"/inference_time-*.json; do echo "$f $(stat -c '%i %Y' "$f") $(sha256sum <"$f")"; done; }
snap >"$tmp/before"
unshare --uts sh -c "hostname othernode && exec '$bin' run ${sweep[*]} --shard $shard --out '$tmp/s' --resume --no-report" \
    >"$tmp/res.log" 2>&1 && ok || fail "--resume on another host: $(tail -3 "$tmp/res.log")"
grep -q "(1 done, [0-9]* kept from earlier runs" "$tmp/res.log" && ok || fail "resume ran more than the missing one: $(grep results: "$tmp/res.log")"
snap | grep -v othernode >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" && ok || fail "a finished file was rewritten"
ls "$tmp/s"/inference_time-othernode-*resnet18-batch_size-2.json >/dev/null 2>&1 && ok || fail "not run on othernode"
"$bin" report "$tmp/s" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "host othernode+vm\|host vm+othernode\|+othernode" "$tmp/s/report.md" && ok ||
    fail "one sweep, one setup over both hosts (exit $rc)"

# 3b. a broken plan file is named and skipped (exit 3), the rest still reported
cp -r "$tmp/s" "$tmp/sbad" && printf '{"kind": "batchbench-plan", "sweep": 3' >"$tmp/sbad/plan-bad.json"
echo '{"schema_version": 1, "kind": "batchbench-plan", "sweep": "x", "shards": 2, "configurations": [{"model": 1}]}' \
    >"$tmp/sbad/plan-fields.json"
"$bin" report "$tmp/sbad" >/dev/null 2>"$tmp/bad.log"; rc=$?
[ $rc -eq 3 ] && grep -q "plan-bad.json: .*skipped" "$tmp/bad.log" && grep -q "plan-fields.json: not a batchbench plan" "$tmp/bad.log" &&
    grep -q "6 of 6 planned" "$tmp/sbad/report.md" && ok || fail "broken plans (exit $rc): $(cat "$tmp/bad.log")"

# 4. the same sweep on two machines: the report across hardware
for h in nodea nodeb; do
    unshare --uts sh -c "hostname $h && exec '$bin' run --models mobilenet_v2 --batch-sizes 1,2 --threads 1 --warmup 0 --reps 3 --out '$tmp/hw' --no-report" >/dev/null 2>&1
done
"$bin" report "$tmp/hw" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "^## Across hardware: batchbench, fp32" "$tmp/hw/report.md" &&
    grep -q "^| model | nodea cpu | nodeb cpu | fastest |" "$tmp/hw/report.md" &&
    grep -q "^| mobilenet_v2 | [12]: [0-9.]* ms (" "$tmp/hw/report.md" && [ -s "$tmp/hw/across_hardware.png" ] && ok ||
    fail "across hardware (exit $rc): $(grep -A4 'Across' "$tmp/hw/report.md")"
[ "$(cut -d, -f1 --complement "$tmp/hw/summary.csv" | grep -c 'nodea\|nodeb')" -ge 2 ] && ok || fail "summary.csv hosts"

# 5. bad arguments
expect2 "--shard: '0/3' is not I/N" run --shard 0/3
expect2 "--shard: '4/3' is not I/N" run --shard 4/3
expect2 "--shard: 'all/3' is not I/N" run --shard all/3
expect2 "--shard: '1/x' is not I/N" run --shard 1/x
expect2 "--shard does not go with --pipeline" run --pipeline --data "$tmp" --shard 1/2
o=$("$bin" run --help); [[ "$o" == *"--shard I/N"* && "$o" == *"--plan"* ]] && ok || fail "--help"

echo "test_shard: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_dataload.sh — `batchbench dataload` as a user meets it: one result
# file per configuration holding every documented field (docs/dataload-
# schema.md) with one wait per batch, summary.csv with a row per file, the
# progress lines and the table, --quick, a JPEG data set with a corrupt file
# (skipped, counted, named), SIGINT mid-sweep (exit 130, finished files
# intact, no temporary file left), and bad arguments (exit 2 naming the flag).
# Usage: tests/cli/test_dataload.sh path/to/batchbench
set -u
bin=${1:?usage: test_dataload.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# check DIR N BATCHES: N files with every field, BATCHES waits each, and
# summary.csv with one row per file
check() {
    /usr/bin/python3 - "$@" <<'PY'
import csv, glob, json, os, re, sys
d, n, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sorted(glob.glob(d + "/dataload-*.json"))
assert len(files) == n, f"{len(files)} files, want {n}"
top = ["schema_version", "tool", "created_utc", "status", "message", "config", "environment", "data", "waits_s",
       "load_s", "first_wait_s", "stats", "wait_total_s", "open_s", "total_s", "wait_fraction", "items_per_s",
       "bytes", "mb_per_s", "cpu_s", "skipped"]
config = ["data_dir", "kind", "mode", "batch_size", "workers", "prefetch", "sleep_s", "batches", "dct_scale"]
stats = ["n", "median_s", "mean_s", "std_s", "min_s", "max_s", "p5_s", "p95_s", "ci95_median_lo_s",
         "ci95_median_hi_s", "cv"]
for f in files:
    r = json.load(open(f))
    c = r["config"]
    assert list(r) == top, f"{f}: keys {list(r)}"
    assert list(c) == config and list(r["stats"]) == stats, f
    assert list(r["data"]) == ["items", "mean_item_bytes"], f
    assert r["schema_version"] == 1 and r["tool"]["name"] == "batchbench" and r["status"] == "ok", f
    assert r["environment"]["threads_used"] == c["workers"], f
    assert c["batches"] == batches and len(r["waits_s"]) == batches and len(r["load_s"]) == batches, f
    assert r["first_wait_s"] == r["waits_s"][0] and r["stats"]["n"] == batches - 1, f
    assert min(r["waits_s"]) >= 0 and r["total_s"] >= sum(r["waits_s"]) - 1e-9, f
    assert abs(r["wait_total_s"] - sum(r["waits_s"])) < 1e-9, f
    b = c["batch_size"]
    if c["kind"] == "preprocessed":
        assert r["data"]["mean_item_bytes"] == 602112 and r["bytes"] == batches * b * 602112, f
    assert abs(r["items_per_s"] - batches * b / r["total_s"]) < 1e-6 * r["items_per_s"], f
    assert r["cpu_s"] >= 0 and r["open_s"] >= 0 and r["skipped"] >= 0, f
    want = "dataload-%s-%s-mode-%s-batch_size-%d-workers-%d-sleep-%s.json" % (
        re.sub(r"[^A-Za-z0-9._-]", "_", r["environment"]["host"]), c["kind"], c["mode"], b, c["workers"],
        "%g" % c["sleep_s"])
    assert os.path.basename(f) == want, f"{f}: want {want}"
rows = list(csv.DictReader(open(d + "/summary.csv")))
assert len(rows) == n, f"summary.csv: {len(rows)} rows, want {n}"
assert sorted(r["file"] for r in rows) == sorted(os.path.basename(f) for f in files)
assert all(r["status"] == "ok" and float(r["median_wait_s"]) >= 0 and r["batches"] == str(batches) for r in rows)
PY
}

# 1. a small sweep over both modes
"$bin" dataset make --items 64 --items-per-shard 16 --out "$tmp/ds" >/dev/null && ok || fail "dataset make"
out=$("$bin" dataload --data "$tmp/ds" --batch-sizes 8,16 --workers 1,2 --sleep 0,0.5 --sleep-scale 0.1 \
      --batches 4 --mode batches,items --out "$tmp/r1" 2>"$tmp/r1.log"); rc=$?
[ $rc -eq 0 ] && ok || fail "small sweep exit $rc: $(tail -3 "$tmp/r1.log")"
if check "$tmp/r1" 16 4; then ok; else fail "result files / summary.csv"; fi
grep -q '^\[16/16\] preprocessed items batch 16 .*workers 2 .*sleep 0.05s: first' "$tmp/r1.log" && ok ||
    fail "no progress line [16/16]: $(tail -2 "$tmp/r1.log")"
[[ "$out" == *"preprocessed, mode items, simulated inference 0.05 s: mean wait per batch"* ]] && ok ||
    fail "no table: $out"
# plot/report read the data-loading results: the seed's figures and a section
"$bin" report "$tmp/r1" >"$tmp/rep.log" 2>&1 && ok || fail "report of dataload results: $(tail -2 "$tmp/rep.log")"
grep -q "^## Data loading" "$tmp/r1/report.md" && grep -q "^- 2 workers: " "$tmp/r1/report.md" && ok ||
    fail "report.md data-loading section"
[ -s "$tmp/r1/dataload_waits-preprocessed-batches-sleep0-b16.png" ] &&
    [ -s "$tmp/r1/dataload_wait_vs_batch-preprocessed-items-sleep0.05.png" ] && ok || fail "data-loading charts"
n=$(ls "$tmp/r1" | grep -c 'sleep-0.05.json$')
[ "$n" -eq 8 ] && ok || fail "--sleep-scale: $n files with sleep 0.05"

# 2. --quick, and a flag overriding it
"$bin" dataload --data "$tmp/ds" --quick --workers 1 --out "$tmp/r2" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && ok || fail "--quick exit $rc"
if check "$tmp/r2" 4 6; then ok; else fail "--quick files"; fi

# 3. a JPEG data set with a truncated file: skipped, counted, named once
if "$bin" dataset make --kind jpeg --items 6 --out "$tmp/jp" >/dev/null 2>&1; then
    bad=$(ls "$tmp/jp/images" | sed -n 2p)
    truncate -s 1500 "$tmp/jp/images/$bad"
    "$bin" dataload --data "$tmp/jp" --batch-sizes 3 --workers 2 --sleep 0 --batches 4 --out "$tmp/r3" \
        >/dev/null 2>"$tmp/r3.log"; rc=$?
    [ $rc -eq 0 ] && ok || fail "jpeg exit $rc: $(cat "$tmp/r3.log")"
    [ "$(grep -c "skipped item 1: .*$bad" "$tmp/r3.log")" -eq 1 ] && ok || fail "skip not named once: $(cat "$tmp/r3.log")"
    sk=$(/usr/bin/python3 -c "import json,glob; r=json.load(open(glob.glob('$tmp/r3/*.json')[0])); print(r['config']['kind'], r['skipped'])")
    [ "$sk" = "jpeg 2" ] && ok || fail "jpeg skipped: $sk (want 'jpeg 2': item 1 in both passes)"
else
    fail "dataset make --kind jpeg"
fi

# 4. SIGINT mid-sweep: exit 130, finished files intact, no temporary file
"$bin" dataload --data "$tmp/ds" --batch-sizes 8 --workers 1,2 --sleep 0.2,0.3,0.4 --batches 3 \
    --out "$tmp/r4" >/dev/null 2>"$tmp/r4.log" &
pid=$!
for _ in $(seq 1 400); do
    [ "$(ls "$tmp/r4"/dataload-*.json 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
done
sleep 0.2
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && ok || fail "SIGINT: exit $rc, want 130"
n=$(ls "$tmp/r4"/dataload-*.json 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && [ "$n" -lt 6 ] && ok || fail "SIGINT: $n files"
ls "$tmp/r4" | grep -q '\.tmp' && fail "a temporary file was left behind" || ok
if check "$tmp/r4" "$n" 3; then ok; else fail "files after SIGINT"; fi

# 5. bad arguments: exit 2 and a message naming the flag
expect2() {
    local want=$1; shift
    local o; o=$("$bin" dataload "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "dataload $*: exit $rc: $o"
}
expect2 "--data is required" --quick
expect2 "--batch-sizes: 0 is out of range" --data "$tmp/ds" --batch-sizes 8,0
expect2 "--batch-sizes: 'x' is not an integer" --data "$tmp/ds" --batch-sizes x
expect2 "--workers: 0 is out of range" --data "$tmp/ds" --workers 0
expect2 "--sleep: '-1' is not a number" --data "$tmp/ds" --sleep 0,-1
expect2 "--sleep-scale: 'fast'" --data "$tmp/ds" --sleep-scale fast
expect2 "--batches: 0 is out of range" --data "$tmp/ds" --batches 0
expect2 "--mode: 'epochs'" --data "$tmp/ds" --mode epochs
expect2 "--prefetch: 0 is out of range" --data "$tmp/ds" --prefetch 0
expect2 "unexpected argument 'extra'" --data "$tmp/ds" extra
expect2 "usage: batchbench dataload" --data "$tmp/ds" --bogus
o=$("$bin" dataload --help 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$o" == *"--sleep-scale"* ]] && ok || fail "--help: exit $rc"

# 6. runtime failures: exit 1 naming the file or folder
o=$("$bin" dataload --data "$tmp/nope" --quick --out "$tmp/r6" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"nope/manifest.json"* ]] && ok || fail "missing data set: exit $rc: $o"
o=$("$bin" dataload --data "$tmp/ds" --quick --out /proc/nope 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"/proc/nope"* ]] && ok || fail "unwritable --out: exit $rc: $o"

echo "dataload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

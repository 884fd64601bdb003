#!/usr/bin/env bash
# test_dataload.sh — `batchbench dataload` as a user meets it: one result
# file per configuration holding every documented field (docs/dataload-
# schema.md) with one wait per batch, summary.csv with a row per file, the
# progress lines and the table, --quick, a JPEG data set with a corrupt file
# (skipped, counted, named), SIGINT mid-sweep (exit 130, finished files
# intact, no temporary file left), and bad arguments (exit 2 naming the flag).
# Worker processes (--worker-kind process, --preset seed): their files
# record the kind and have names of their own, the first wait includes
# their start, the report compares the kinds, SIGINT leaves no process
# behind; and scripts/run_dataload_on_server.sh (syntax, --help, --dry-run).
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
       "load_s", "first_wait_s", "stats", "wait_total_s", "open_s", "start_s", "total_s", "wait_fraction",
       "items_per_s", "bytes", "mb_per_s", "cpu_s", "skipped"]
config = ["data_dir", "kind", "mode", "batch_size", "workers", "worker_kind", "prefetch", "sleep_s", "batches",
          "dct_scale", "preset"]
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
    # the first wait is timed from the workers' start: it is in it (the buffer pool, in open_s, is not)
    assert r["first_wait_s"] >= r["start_s"] > 0 and r["open_s"] >= r["start_s"], f
    assert c["worker_kind"] in ("thread", "process") and c["preset"] in ("", "seed", "quick"), f
    want = "dataload-%s-%s-mode-%s-batch_size-%d-workers-%d%s-sleep-%s.json" % (
        re.sub(r"[^A-Za-z0-9._-]", "_", r["environment"]["host"]), c["kind"], c["mode"], b, c["workers"],
        "-procs" if c["worker_kind"] == "process" else "", "%g" % c["sleep_s"])
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
/usr/bin/python3 -c "import glob,json,sys; cs=[json.load(open(f))['config'] for f in glob.glob('$tmp/r2/dataload-*.json')]
sys.exit(0 if cs and all(c['preset'] == 'quick' and c['worker_kind'] == 'thread' for c in cs) else cs)" &&
    ok || fail "--quick: preset quick, threads"

# 2b. worker processes beside threads in one folder: both kept (names of their
# own), the kind recorded, the first wait including the processes' start
out=$("$bin" dataload --data "$tmp/ds" --batch-sizes 8 --workers 1,2 --sleep 0 --batches 3 \
      --worker-kind thread,process --out "$tmp/r2b" 2>"$tmp/r2b.log"); rc=$?
[ $rc -eq 0 ] && ok || fail "thread,process exit $rc: $(tail -3 "$tmp/r2b.log")"
if check "$tmp/r2b" 4 3; then ok; else fail "thread,process files"; fi
[ "$(ls "$tmp/r2b" | grep -c -- '-procs-sleep-0.json$')" -eq 2 ] && ok || fail "no -procs files: $(ls "$tmp/r2b")"
/usr/bin/python3 - "$tmp/r2b" <<'PY' && ok || fail "process files: worker_kind, first wait with the start"
import csv, glob, json, sys
d = sys.argv[1]
for f in glob.glob(d + "/dataload-*-procs-*.json"):
    r = json.load(open(f))
    assert r["config"]["worker_kind"] == "process" and r["config"]["preset"] == "", f
    assert r["first_wait_s"] >= r["start_s"] > 0 and r["open_s"] >= r["start_s"] and r["total_s"] >= r["first_wait_s"], f
rows = list(csv.DictReader(open(d + "/summary.csv")))
assert sorted(r["worker_kind"] for r in rows) == ["process", "process", "thread", "thread"], rows
assert all(float(r["start_s"]) > 0 for r in rows), rows
PY
grep -q '^\[4/4\] preprocessed batches batch 8 .*workers 2   procs sleep 0s: first .* (start ' "$tmp/r2b.log" && ok ||
    fail "process progress line: $(cat "$tmp/r2b.log")"
[[ "$out" == *"preprocessed, mode batches, worker processes, simulated inference 0 s"* ]] && ok || fail "process table: $out"
"$bin" report "$tmp/r2b" >/dev/null 2>&1 && grep -q "^### Worker processes against threads" "$tmp/r2b/report.md" &&
    grep -q "starting 2 worker processes (fork) took" "$tmp/r2b/report.md" &&
    [ -s "$tmp/r2b/dataload_waits-preprocessed-batches-procs-sleep0-b8.png" ] && ok ||
    fail "report: worker kinds compared, process charts"

# 2c. --preset seed: worker processes, 11 batches, the seed's lists (flags override them)
"$bin" dataload --data "$tmp/ds" --preset seed --batch-sizes 4 --workers 2 --sleep 0 --out "$tmp/r2c" >/dev/null \
    2>"$tmp/r2c.log"; rc=$?
[ $rc -eq 0 ] && ok || fail "--preset seed exit $rc: $(tail -2 "$tmp/r2c.log")"
if check "$tmp/r2c" 1 11; then ok; else fail "--preset seed files"; fi
/usr/bin/python3 -c "import glob,json,sys; c=json.load(open(glob.glob('$tmp/r2c/*.json')[0]))['config']
sys.exit(0 if (c['preset'], c['worker_kind'], c['batches']) == ('seed', 'process', 11) else c)" && ok ||
    fail "--preset seed config"
grep -q "1 configuration x 11 batches, worker processes (preset seed)" "$tmp/r2c.log" && ok ||
    fail "--preset seed banner: $(head -1 "$tmp/r2c.log")"

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

# 3b. a JPEG data set through worker processes: the same skip, named by the parent
if [ -d "$tmp/jp" ]; then
    "$bin" dataload --data "$tmp/jp" --batch-sizes 3 --workers 2 --sleep 0 --batches 4 --worker-kind process \
        --out "$tmp/r3b" >/dev/null 2>"$tmp/r3b.log"; rc=$?
    [ $rc -eq 0 ] && [ "$(grep -c "skipped item 1: .*$bad" "$tmp/r3b.log")" -eq 1 ] && ok ||
        fail "jpeg with processes: exit $rc: $(cat "$tmp/r3b.log")"
    sk=$(/usr/bin/python3 -c "import json,glob; r=json.load(open(glob.glob('$tmp/r3b/*.json')[0])); print(r['config']['worker_kind'], r['skipped'])")
    [ "$sk" = "process 2" ] && ok || fail "jpeg with processes skipped: $sk"
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

# 4b. SIGINT (to the process group, as Ctrl-C sends it) while worker processes
# load: exit 130, and no worker process is left running or as a zombie
# (their command line is batchbench's own, with this --out)
setsid "$bin" dataload --data "$tmp/ds" --batch-sizes 16 --workers 4 --sleep 0.3 --batches 20 \
    --worker-kind process --out "$tmp/r4b" >/dev/null 2>"$tmp/r4b.log" &
pid=$!
for _ in $(seq 1 400); do
    [ "$(ps -eo args | grep -c "[d]ataload .*$tmp/r4b")" -ge 5 ] && break
    sleep 0.05
done
kids=$(ps -eo ppid= | grep -cw "$pid")
kill -INT -- -"$pid"; wait $pid; rc=$?
[ $rc -eq 130 ] && [ "$kids" -ge 4 ] && ok || fail "SIGINT with processes: exit $rc, $kids workers seen"
sleep 0.2
left=$(ps -eo stat=,args= | grep "[d]ataload .*$tmp/r4b")
[ -z "$left" ] && ok || fail "worker processes left after SIGINT: $left"

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
expect2 "--worker-kind: 'fork' is not one of thread, process" --data "$tmp/ds" --worker-kind fork
expect2 "--worker-kind: 'process,process'" --data "$tmp/ds" --worker-kind process,process
expect2 "--worker-kind: ''" --data "$tmp/ds" --worker-kind ''
expect2 "--preset: 'paper' is not one of seed, quick" --data "$tmp/ds" --preset paper
expect2 "--quick does not go with --preset" --data "$tmp/ds" --preset seed --quick
o=$("$bin" dataload --help 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$o" == *"--sleep-scale"* && "$o" == *"--worker-kind"* && "$o" == *"--preset seed"* ]] && ok ||
    fail "--help: exit $rc"

# 6. runtime failures: exit 1 naming the file or folder
o=$("$bin" dataload --data "$tmp/nope" --quick --out "$tmp/r6" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"nope/manifest.json"* ]] && ok || fail "missing data set: exit $rc: $o"
o=$("$bin" dataload --data "$tmp/ds" --quick --out /proc/nope 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"/proc/nope"* ]] && ok || fail "unwritable --out: exit $rc: $o"

# 7. scripts/run_dataload_on_server.sh: syntax, --help, argument errors, --dry-run
# (the commands it would run), and a tiny real run over an Imagenette-like folder
srv=$(cd "$(dirname "$0")/../.." && pwd)/scripts/run_dataload_on_server.sh
bash -n "$srv" && ok || fail "run_dataload_on_server.sh: syntax"
o=$("$srv" --help); [[ "$o" == *"--imagenette DIR"* && "$o" == *"--dry-run"* ]] && ok || fail "server --help: $o"
for a in "--cpus x" "--jpeg-items 0" "--worker-kind fork" "--imagenette $tmp/nope" "--bogus" "--out"; do
    # shellcheck disable=SC2086
    o=$("$srv" --no-build --dry-run $a 2>&1); rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"${a%% *}"* ]] && ok || fail "server $a: exit $rc: $o"
done
o=$("$srv" --dry-run --cpus 0-63 --out "$tmp/srv" --data-dir "$tmp/dd" -- --sleep-scale 0.1 2>&1); rc=$?
want=("bash scripts/install-deps.sh" "make -j"
      "dataset make --out $tmp/dd/preprocessed --items 10240"
      "dataset make --kind jpeg --out $tmp/dd/jpeg --items 9469"
      "taskset -c 0-63 ./build/batchbench dataload --preset seed --worker-kind process --data $tmp/dd/preprocessed --out $tmp/srv/preprocessed --sleep-scale 0.1"
      "dataload --preset seed --worker-kind process --data $tmp/dd/jpeg --out $tmp/srv/jpeg --sleep-scale 0.1"
      "report $tmp/srv/preprocessed $tmp/srv/jpeg --out $tmp/srv/report.md"
      "tar czf $tmp/srv.tar.gz -C $tmp srv")
miss=
for w in "${want[@]}"; do [[ "$o" == *"$w"* ]] || miss="$miss [$w]"; done
[ $rc -eq 0 ] && [ -z "$miss" ] && [ ! -e "$tmp/srv/preprocessed" ] && ok || fail "server --dry-run: exit $rc, missing$miss: $o"
mkdir -p "$tmp/inet/train/n01440764" "$tmp/dd"
cp "$tmp/jp/images/"*.jpg "$tmp/inet/train/n01440764/" 2>/dev/null
rm -f "$tmp/inet/train/n01440764/$bad" # the truncated one
ln -s "$tmp/ds" "$tmp/dd/preprocessed"
BATCHBENCH_BIN=$bin "$srv" --no-build --imagenette "$tmp/inet" --data-dir "$tmp/dd" --out "$tmp/srv" --worker-kind thread,process \
    -- --batch-sizes 2 --workers 1,2 --sleep 0 --batches 3 >"$tmp/srv.log" 2>&1; rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/srv.tar.gz" ] && grep -q "^### Worker processes against threads" "$tmp/srv/report.md" && ok ||
    fail "server run: exit $rc: $(tail -5 "$tmp/srv.log")"
/usr/bin/python3 - "$tmp" <<'PY' && ok || fail "server run: Imagenette manifest and results"
import glob, json, sys
t = sys.argv[1]
m = json.load(open(t + "/dd/imagenette/manifest.json"))
assert m["kind"] == "jpeg" and m["items"] == 5 and all(f.startswith("train/n01440764/") for f in m["files"]), m
for d, n in (("preprocessed", 4), ("jpeg", 4)):
    fs = glob.glob(f"{t}/srv/{d}/dataload-*.json")
    assert len(fs) == n, (d, fs)
    assert all(json.load(open(f))["config"]["preset"] == "seed" for f in fs)
    assert sum("-procs-" in f for f in fs) == n // 2, fs
PY

echo "dataload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

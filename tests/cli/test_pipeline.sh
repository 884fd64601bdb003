#!/usr/bin/env bash
# test_pipeline.sh — `batchbench run --pipeline` as a user meets it, run by
# the same per-configuration driver as the sweep: result files and
# pipeline-summary.csv, --resume (nothing rerun, kept count reported, no
# finished file rewritten), SIGINT then --resume, --max-time (timeout
# recorded, exit 1, the sweep goes on), --min-time and --warmup-time,
# --mem-limit counting the loader's buffers, --pause, the quick preset's
# reps auto falling back to fixed reps, the flags refused with --pipeline
# (exit 2 naming the flag), --data read and refused alike with and
# without --pipeline, and --worker-kind process (loader worker processes:
# files of their own beside the threads', the kind recorded, --resume).
# Usage: tests/cli/test_pipeline.sh path/to/batchbench
set -u
bin=${1:?usage: test_pipeline.sh path/to/batchbench}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
pl=(run --pipeline --data "$tmp/ds" --models mobilenet_v2 --warmup 1 --warmup-time 0 --reps 2)
# files DIR CONDITION: every pipeline-*.json of DIR satisfies CONDITION (python over r, p = r["pipeline"], c = r["config"])
files() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import glob, json, sys
fs = sorted(glob.glob(sys.argv[1] + "/pipeline-*.json"))
assert fs, "no pipeline result files"
for f in fs:
    r = json.load(open(f)); p = r["pipeline"]; c = r["config"]
    if not eval(sys.argv[2]):
        sys.exit("%s: not %s\nstatus %s %s\nconfig %s\npipeline %s" % (f, sys.argv[2], r["status"], r["message"], c, p))
PY
}
count() { ls "$1"/pipeline-*.json 2>/dev/null | wc -l; }
"$bin" dataset make --items 8 --items-per-shard 4 --out "$tmp/ds" >/dev/null && ok || fail "dataset make"

# 1. a small grid: files, pipeline-summary.csv, table, report
out=$("$bin" "${pl[@]}" --batch-sizes 1,2 --workers 1,2 --out "$tmp/r1" 2>"$tmp/r1.log"); rc=$?
[ $rc -eq 0 ] && ok || fail "pipeline exit $rc: $(tail -3 "$tmp/r1.log")"
[ "$(count "$tmp/r1")" -eq 4 ] && ok || fail "want 4 result files: $(ls "$tmp/r1")"
files "$tmp/r1" "r['status'] == 'ok' and len(p['waits_s']) == 3 and len(r['times_s']) == 2 and p['items_per_s'] > 0 \
    and p['workers'] in (1, 2) and p['mode'] == 'batches' and p['prefetch'] == 2 and 'measurement' not in r \
    and r['memory']['peak_bytes'] > 0 and c['math_mode'] and r['noise']['slices'] == 1" && ok || fail "result fields"
/usr/bin/python3 - "$tmp/r1" <<'PY' && ok || fail "pipeline-summary.csv"
import csv, glob, json, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/pipeline-summary.csv")))
files = sorted(os.path.basename(f) for f in glob.glob(d + "/pipeline-*.json"))
assert sorted(r["file"] for r in rows) == files, rows
assert [(r["batch_size"], r["workers"]) for r in rows] == [("1", "1"), ("1", "2"), ("2", "1"), ("2", "2")], rows
for r in rows:
    j = json.load(open(os.path.join(d, r["file"])))
    assert r["status"] == "ok" and r["model"] == "mobilenet_v2" and r["load_mode"] == "batches" and r["n"] == "2", r
    assert abs(float(r["items_per_s"]) - j["pipeline"]["items_per_s"]) <= 1e-6 * j["pipeline"]["items_per_s"], r
    assert 0 <= float(r["wait_fraction"]) <= 1 and float(r["forward_median_s"]) > 0, r
assert not os.path.exists(d + "/summary.csv") and not glob.glob(d + "/inference_time-*.json")
PY
grep -q '^\[4/4\] mobilenet_v2 .*batch 2 .*workers 2 .*items/s' "$tmp/r1.log" && ok || fail "progress [4/4]: $(cat "$tmp/r1.log")"
[[ "$out" == *"best: batch"* && "$out" == *"(4 done, 0 kept from earlier runs, 0 not ok)"* ]] && ok || fail "table: $out"
grep -q "End to end" "$tmp/r1/report.md" 2>/dev/null && ok || fail "no report.md with the end-to-end section"

# 2. --resume: nothing runs, the kept count is reported, no file is rewritten
stat -c '%n %i %.9Y' "$tmp/r1"/pipeline-*.json > "$tmp/r1.stat"
md5sum "$tmp/r1"/pipeline-*.json > "$tmp/r1.md5"
out=$("$bin" "${pl[@]}" --batch-sizes 1,2 --workers 1,2 --out "$tmp/r1" --resume --no-report 2>"$tmp/r1b.log"); rc=$?
[ $rc -eq 0 ] && ok || fail "resume exit $rc: $(tail -3 "$tmp/r1b.log")"
[ "$(grep -c '^\[' "$tmp/r1b.log")" -eq 0 ] && ok || fail "resume ran configurations: $(cat "$tmp/r1b.log")"
[[ "$out" == *"(0 done, 4 kept from earlier runs, 0 not ok)"* && "$out" == *"best: batch"* ]] && ok || fail "resume: $out"
[ "$(stat -c '%n %i %.9Y' "$tmp/r1"/pipeline-*.json)" = "$(cat "$tmp/r1.stat")" ] && md5sum -c --quiet "$tmp/r1.md5" &&
    ok || fail "a finished file was rewritten by --resume"

# 3. SIGINT mid-sweep: exit 130, nothing unfinished written; --resume runs exactly the rest
"$bin" "${pl[@]}" --batch-sizes 1,2,3 --workers 1 --reps 30 --out "$tmp/r2" >/dev/null 2>"$tmp/r2.log" &
pid=$!
for _ in $(seq 1 600); do
    [ "$(count "$tmp/r2")" -ge 1 ] && break
    sleep 0.05
done
kill -INT $pid; wait $pid; rc=$?
before=$(count "$tmp/r2")
[ $rc -eq 130 ] && [ "$before" -ge 1 ] && [ "$before" -lt 3 ] && ok || fail "SIGINT: exit $rc, $before files"
ls "$tmp/r2" | grep -q '\.tmp' && fail "a temporary file was left behind" || ok
stat -c '%n %i %.9Y' "$tmp/r2"/pipeline-*.json > "$tmp/r2.stat"
out=$("$bin" "${pl[@]}" --batch-sizes 1,2,3 --workers 1 --reps 30 --out "$tmp/r2" --resume --no-report 2>"$tmp/r2b.log"); rc=$?
[ $rc -eq 0 ] && [ "$(count "$tmp/r2")" -eq 3 ] && ok || fail "resume after SIGINT: exit $rc, $(count "$tmp/r2") files"
[ "$(grep -c '^\[' "$tmp/r2b.log")" -eq $((3 - before)) ] && [[ "$out" == *"$before kept from earlier runs"* ]] && ok ||
    fail "resume after SIGINT ran $(grep -c '^\[' "$tmp/r2b.log"), want $((3 - before)): $out"
[ "$(stat -c '%n %i %.9Y' $(cut -d' ' -f1 "$tmp/r2.stat"))" = "$(cat "$tmp/r2.stat")" ] && ok ||
    fail "resume after SIGINT rewrote a finished file"

# 4. --max-time: each configuration a timeout, recorded, and the sweep goes on
"$bin" "${pl[@]}" --models mobilenet_v2,resnet18 --batch-sizes 2 --workers 1 --warmup 50 --max-time 0.05 \
    --out "$tmp/r3" --no-report >/dev/null 2>"$tmp/r3.log"; rc=$?
[ $rc -eq 1 ] && [ "$(count "$tmp/r3")" -eq 2 ] && ok || fail "max-time: exit $rc, $(count "$tmp/r3") files"
files "$tmp/r3" "r['status'] == 'timeout' and '--max-time' in r['message'] and c['max_time_s'] == 0.05" && ok ||
    fail "max-time statuses"
grep -q '^\[2/2\] resnet18 .*timeout: --max-time reached' "$tmp/r3.log" && ok || fail "max-time progress: $(cat "$tmp/r3.log")"
[ "$(grep -c ',timeout,' "$tmp/r3/pipeline-summary.csv")" -eq 2 ] && ok || fail "timeouts not in pipeline-summary.csv"

# 5. --min-time and --warmup-time: measured and warmed up until both count and time are reached
# (--warmup 1 alone would stop warming up after one batch: one batch, or the first result, takes 0.8 s)
"$bin" "${pl[@]}" --batch-sizes 1 --workers 1 --warmup-time 0.8 --min-time 0.6 --out "$tmp/r4" --no-report \
    >/dev/null 2>"$tmp/r4.log" && ok || fail "min-time run: $(tail -2 "$tmp/r4.log")"
files "$tmp/r4" "r['status'] == 'ok' and p['measured_wall_s'] >= 0.6 and len(r['times_s']) >= 2 and c['min_time_s'] == 0.6 \
    and (len(p['waits_s']) - len(r['times_s']) >= 2 or p['first_result_s'] >= 0.8)" && ok || fail "min-time/warmup-time fields"

# 6. --mem-limit counts the loader's buffers: with 2 workers the model and their
# batches do not fit (oom, said why), with 1 they do; the sweep goes on after the oom
opts=(--backend-opt cpu.algo=never --batch-sizes 8)
"$bin" "${pl[@]}" "${opts[@]}" --workers 1 --out "$tmp/r5a" --no-report >/dev/null 2>&1 && ok || fail "mem probe"
# the limit: the prepared model and 3.5 batches of 8 items (the loader holds 3 with 1 worker, 4 with 2)
limit=$(/usr/bin/python3 -c "import glob,json; r=json.load(open(glob.glob('$tmp/r5a/pipeline-*.json')[0]))
print(r['memory']['peak_bytes'] + 7 * 4 * 602112)")
"$bin" "${pl[@]}" "${opts[@]}" --workers 2,1 --mem-limit "$limit" --out "$tmp/r5" --no-report >/dev/null 2>"$tmp/r5.log"; rc=$?
[ $rc -eq 1 ] && ok || fail "mem-limit: exit $rc, want 1"
files "$tmp/r5" "(r['status'], p['workers']) in (('oom', 2), ('ok', 1)) and (r['status'] == 'ok' or 'loader' in r['message'])" &&
    [ "$(count "$tmp/r5")" -eq 2 ] && ok || fail "mem-limit statuses: $(cat "$tmp/r5.log")"

# 7. --pause between configurations (result files written >= the pause apart)
"$bin" "${pl[@]}" --batch-sizes 1 --workers 1,2 --pause 1.5 --out "$tmp/r6" --no-report >/dev/null 2>&1 && ok || fail "pause run"
/usr/bin/python3 -c "import glob,os,sys; t=sorted(os.stat(f).st_mtime for f in glob.glob(sys.argv[1] + '/pipeline-*.json'))
sys.exit(0 if len(t) == 2 and t[1] - t[0] >= 1.5 else 'gap %s' % t)" "$tmp/r6" && ok || fail "--pause not honoured"

# 8. the quick preset's reps auto becomes fixed reps of its minimum (10), its
# warm-up time is not applied (its 2 warm-up batches are)
"$bin" run --pipeline --data "$tmp/ds" --models mobilenet_v2 --batch-sizes 1 --workers 1 --out "$tmp/r7" \
    --no-report >/dev/null 2>"$tmp/r7.log" && ok || fail "pipeline without --reps: $(tail -2 "$tmp/r7.log")"
files "$tmp/r7" "r['status'] == 'ok' and c['reps'] == 10 and len(r['times_s']) == 10 and len(p['waits_s']) == 12" && ok ||
    fail "preset reps and warm-up"

# 9. flags only the sweep's measurement has: refused with --pipeline, exit 2 naming the flag
expect2() {
    local want=$1; shift
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
for f in "--reps auto" "--reps-min 5" "--target-ci 2" "--max-config-time 5" "--budget 10" "--interleave off" "--margin 3"; do
    w=${f%% *}; [ "$f" = "--reps auto" ] && w=$f
    # shellcheck disable=SC2086
    expect2 "$w does not go with --pipeline" run --pipeline --data "$tmp/ds" $f --out "$tmp/no"
done
expect2 "--reps auto does not go with --pipeline" run --reps auto --pipeline --data "$tmp/ds" --out "$tmp/no"
expect2 "--load-mode goes with --pipeline" run --load-mode items --out "$tmp/no"
expect2 "--pipeline needs --data" run --pipeline --out "$tmp/no"
[ ! -e "$tmp/no" ] && ok || fail "a refused run created its --out folder"
o=$("$bin" run --help); [[ "$o" == *"pipeline-summary.csv"* && "$o" == *"Refused with"* ]] && ok || fail "--help"

# 10. --data: both modes read the same kinds and refuse the same folder alike
"$bin" dataset make --kind jpeg --items 4 --out "$tmp/jp" >/dev/null 2>&1 && ok || fail "dataset make --kind jpeg"
mkdir -p "$tmp/imgs" "$tmp/other" && cp "$tmp/jp/images/"*.jpg "$tmp/imgs/"
echo '{"format": "batchbench-dataset", "kind": "webdataset", "items": 1}' > "$tmp/other/manifest.json"
for d in imgs:"4 JPEG files" other:"unknown kind 'webdataset'" nope:"nope/manifest.json: cannot open"; do
    dir=$tmp/${d%%:*} want=${d#*:}
    "$bin" run --data "$dir" --models mobilenet_v2 --batch-sizes 1 --reps 2 --out "$tmp/x" >"$tmp/d1.log" 2>&1; rc1=$?
    "$bin" run --pipeline --data "$dir" --models mobilenet_v2 --batch-sizes 1 --reps 2 --out "$tmp/x" >"$tmp/d2.log" 2>&1; rc2=$?
    a=$(grep 'run: --data' "$tmp/d1.log") b=$(grep 'run: --data' "$tmp/d2.log")
    [ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] && [ -n "$a" ] && [ "$a" = "$b" ] && [[ "$a" == *"$want"* ]] && ok ||
        fail "--data ${d%%:*}: exit $rc1/$rc2, sweep '$a', pipeline '$b'"
done
"$bin" run --data "$tmp/jp" --models mobilenet_v2 --batch-sizes 2 --warmup 1 --warmup-time 0 --reps 2 --out "$tmp/r8" \
    --no-report >/dev/null 2>"$tmp/r8.log" && ok || fail "sweep over a jpeg data set: $(tail -2 "$tmp/r8.log")"
"$bin" "${pl[@]}" --data "$tmp/jp" --batch-sizes 2 --workers 1 --out "$tmp/r8" --no-report >/dev/null 2>"$tmp/r8p.log" &&
    ok || fail "pipeline over a jpeg data set: $(tail -2 "$tmp/r8p.log")"
/usr/bin/python3 -c "import glob,json,sys; fs=glob.glob(sys.argv[1] + '/*-batch_size-2*.json')
sys.exit(0 if len(fs) == 2 and all(json.load(open(f))['config']['input_source'] == 'dataset' for f in fs) else fs)" "$tmp/r8" &&
    ok || fail "jpeg results"

# 10b. --worker-kind process: loader worker processes; files tagged -procs beside
# the threads' of the same configuration (neither overwrites the other), the kind
# in the file and in pipeline-summary.csv, --resume keeping them, no worker left
"$bin" "${pl[@]}" --batch-sizes 2 --workers 1,2 --out "$tmp/r9" --no-report >/dev/null 2>"$tmp/r9t.log" &&
    "$bin" "${pl[@]}" --batch-sizes 2 --workers 1,2 --worker-kind process --out "$tmp/r9" >"$tmp/r9.out" 2>"$tmp/r9.log" &&
    ok || fail "pipeline with worker processes: $(tail -3 "$tmp/r9.log")"
[ "$(count "$tmp/r9")" -eq 4 ] && [ "$(ls "$tmp/r9" | grep -c -- '-workers-[12]-procs-dataset.json$')" -eq 2 ] && ok ||
    fail "want 2 thread and 2 -procs files: $(ls "$tmp/r9")"
files "$tmp/r9" "r['status'] == 'ok' and p['worker_kind'] == ('process' if '-procs' in f else 'thread') and \
    (('worker_kind=process' in c['identity']) == ('-procs' in f)) and len(p['waits_s']) == 3" && ok || fail "worker_kind fields"
[ "$(grep -c ',batches,process,' "$tmp/r9/pipeline-summary.csv")" -eq 2 ] &&
    [ "$(grep -c ',batches,thread,' "$tmp/r9/pipeline-summary.csv")" -eq 2 ] && ok || fail "pipeline-summary.csv worker_kind"
grep -q "loader worker processes; \* = best" "$tmp/r9.out" && ok || fail "table: $(cat "$tmp/r9.out")"
# the report keeps the kinds apart: a section and a grid each
grep -q "^### mobilenet_v2 on cpu$" "$tmp/r9/report.md" &&
    grep -q "^### mobilenet_v2 on cpu, loader worker processes$" "$tmp/r9/report.md" &&
    [ -f "$tmp/r9/pipeline_items_per_s-mobilenet_v2-cpu.png" ] &&
    [ -f "$tmp/r9/pipeline_items_per_s-mobilenet_v2-cpu-procs.png" ] &&
    grep -q "(pipeline_items_per_s-mobilenet_v2-cpu-procs.png)" "$tmp/r9/report.md" && ok ||
    fail "report: thread and process pipelines apart: $(grep '^###' "$tmp/r9/report.md"; ls "$tmp/r9")"
out=$("$bin" "${pl[@]}" --batch-sizes 2 --workers 1,2 --worker-kind process --out "$tmp/r9" --resume --no-report 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"(0 done, 2 kept from earlier runs, 0 not ok)"* ]] && ok || fail "resume with processes: $out"
[ -z "$(ps -eo args= | grep "[p]ipeline .*$tmp/r9")" ] && ok || fail "worker processes left running"
expect2 "--worker-kind goes with --pipeline" run --worker-kind process --out "$tmp/no"
expect2 "--worker-kind: 'fork' is not one of thread, process" run --pipeline --data "$tmp/ds" --worker-kind fork --out "$tmp/no"

# 11. every result file above is valid against the result schema
o=$(/usr/bin/python3 "$here/validate_results.py" --current "$here/../../docs/result.schema.json" "$tmp" 2>&1) && ok ||
    fail "result schema: $o"

echo "pipeline: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

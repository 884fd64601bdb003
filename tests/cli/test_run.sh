#!/usr/bin/env bash
# test_run.sh — `batchbench run` as a user meets it: result files that parse
# and hold every documented field, summary.csv, the summary table, an
# injected OOM and timeout recorded while the sweep goes on, SIGINT mid-sweep
# then --resume (every configuration done exactly once, no finished file
# rewritten), a data set as input, and bad arguments (exit 2).
# Usage: tests/cli/test_run.sh path/to/batchbench
set -u
bin=${1:?usage: test_run.sh path/to/batchbench}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
small=(--models mobilenet_v2 --threads 2 --warmup 1 --reps 3)

# 1. a small sweep: files, fields, csv, table
out=$("$bin" run "${small[@]}" --batch-sizes 1,2,3 --out "$tmp/r1" 2>"$tmp/r1.log"); rc=$?
[ $rc -eq 0 ] && ok || fail "small sweep exit $rc: $(tail -3 "$tmp/r1.log")"
n=$(ls "$tmp/r1"/inference_time-*-cpu-model_name-mobilenet_v2-batch_size-*.json 2>/dev/null | wc -l)
[ "$n" -eq 3 ] && ok || fail "expected 3 result files, got $n"
grep -q "estimated" "$tmp/r1.log" && ok || fail "no duration estimate before the sweep"
grep -q "\[3/3\] mobilenet_v2" "$tmp/r1.log" && ok || fail "no progress line [3/3]"
[[ "$out" == *"tied within noise"* && "$out" == *"mobilenet_v2: "*"use "* ]] && ok || fail "no summary table: $out"
if /usr/bin/python3 "$here/check_results.py" "$tmp/r1" 3; then ok; else fail "result files / summary.csv check"; fi

# 1b. how configurations are measured: adaptive repetitions and why they
# stopped, warm-up by time, interleaved rounds (and the fallback when the
# configurations do not fit in memory together), the sequential order
measured() { # folder, python condition over m (measurement), c (config), r (result): all files
    /usr/bin/python3 - "$1" "$2" <<'PY'
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/inference_time-*.json"))
assert files, "no result files"
for f in files:
    r = json.load(open(f)); m = r["measurement"]; c = r["config"]
    if not eval(sys.argv[2]):
        sys.exit("%s: %s\nconfig %s\nmeasurement %s" % (f, sys.argv[2], c, m))
PY
}
"$bin" run --models mobilenet_v2 --batch-sizes 1,2 --threads 2 --warmup 1 --warmup-time 0.3 --reps auto \
    --reps-min 6 --target-ci 40 --out "$tmp/m1" --no-report >/dev/null 2>"$tmp/m1.log" && ok || fail "reps auto: $(tail -2 "$tmp/m1.log")"
measured "$tmp/m1" "c['reps_mode'] == 'auto' and c['target_ci'] == 0.4 and m['stop_reason'] == 'target' \
    and len(r['times_s']) >= 6 and m['ci_half_width'] <= 0.4 and m['interleaved'] and m['warmup_s'] >= 0.3 \
    and m['warmup_passes'] >= 1 and r['noise']['slices'] == m['rounds'] >= 1" && ok || fail "reps auto fields"
"$bin" run --models mobilenet_v2 --batch-sizes 1,2 --threads 2 --warmup 0 --reps auto --reps-min 3 --target-ci 0.01 \
    --max-config-time 0.4 --out "$tmp/m2" --no-report >/dev/null 2>&1 && ok || fail "reps auto with a cap"
measured "$tmp/m2" "m['stop_reason'] == 'cap' and m['measured_wall_s'] >= 0.4 and m['ci_half_width'] > 0.0001" && ok ||
    fail "cap not recorded"
"$bin" run --models mobilenet_v2 --batch-sizes 1,2 --threads 2 --warmup 0 --reps auto --reps-min 3 --target-ci 0.01 \
    --budget 1 --out "$tmp/m3" --no-report >/dev/null 2>&1 && ok || fail "reps auto with a budget"
measured "$tmp/m3" "m['stop_reason'] == 'budget' and c['budget_s'] == 1" && ok || fail "budget not recorded"
"$bin" run --models mobilenet_v2 --batch-sizes 1,2,3 --threads 2 --warmup 1 --reps 4 --interleave off \
    --out "$tmp/m4" --no-report >/dev/null 2>&1 && ok || fail "interleave off"
measured "$tmp/m4" "not m['interleaved'] and m['interleave_fallback'] == '' and m['stop_reason'] == 'reps' \
    and c['reps_mode'] == 'fixed' and len(r['times_s']) == 4 and m['rounds'] == 1 and m['slice_batches'] == [4] \
    and 'round_group' not in m" && ok || fail "interleave off fields"
# one configuration at a time: no rounds to judge, but the threads' round trips are still reported
"$bin" report "$tmp/m4" >/dev/null 2>&1 && grep -q "Threads' core-to-core round trip (after each slice): median" "$tmp/m4/report.md" &&
    ok || fail "report of a sweep without interleaving does not say where the threads ran"
"$bin" run --models mobilenet_v2 --batch-sizes 1,2,3 --threads 2 --warmup 1 --warmup-time 0 --reps 120 --out "$tmp/m5" --no-report \
    >/dev/null 2>&1 && ok || fail "interleaved fixed reps"
measured "$tmp/m5" "m['interleaved'] and len(r['times_s']) == 120 and m['rounds'] >= 2 \
    and len(m['slice_batches']) == m['rounds'] and sum(m['slice_batches']) == 120 and len(m['round_group']) > 4" &&
    ok || fail "interleaved rounds"
# every slice ends with the threads' round trip (2 threads on the CPU): a plausible number of ns each
measured "$tmp/m5" "len(m['slice_core_rtt_ns']) == len(m['slice_batches']) \
    and all(isinstance(x, (int, float)) and 5 < x < 1e5 for x in m['slice_core_rtt_ns'])" &&
    ok || fail "slice_core_rtt_ns"
"$bin" run --models mobilenet_v2 --batch-sizes 1,2 --threads 1 --warmup 0 --reps 2 --out "$tmp/m1t" --no-report \
    >/dev/null 2>&1 && ok || fail "one thread"
measured "$tmp/m1t" "'slice_core_rtt_ns' not in m" && ok || fail "one thread has no round trip to measure"
# one model's batch sizes share their rounds: one round group, not another run's
groups=$(/usr/bin/python3 -c "import glob, json, sys
g = [json.load(open(f))['measurement']['round_group'] for d in sys.argv[1:]
     for f in sorted(glob.glob(d + '/inference_time-*.json'))]
print(len(g), len(set(g[:3])), len(set(g)))" "$tmp/m5" "$tmp/m1")
[ "$groups" = "5 1 2" ] && ok || fail "round groups (files, groups of m5, groups of m5 and m1): $groups"
# The answer leaves out the rounds the machine disturbed (src/stats/rounds.h).
# m5's files with their times replaced: 12 rounds of 10 batches, 3.60, 3.45
# and 3.50 ms per item at batch 1, 2 and 3 (+-2%), once as measured on a
# quiet machine (m5q) and once with rounds 1-4 run 1.8x, 1.4x and 1.2x
# slower (m5d): the same answer, and the rounds named.
/usr/bin/python3 - "$tmp/m5" "$tmp/m5q" "$tmp/m5d" <<'PY'
import glob, json, os, random, sys
for out, hit in ((sys.argv[2], {}), (sys.argv[3], {1: 1.8, 2: 1.4, 3: 1.2})):
    os.makedirs(out)
    rnd = random.Random(7)
    for f in glob.glob(sys.argv[1] + "/inference_time-*.json"):
        r = json.load(open(f)); m = r["measurement"]; b = r["config"]["batch_size"]
        per_item = {1: 3.60e-3, 2: 3.45e-3, 3: 3.50e-3}[b]
        r["times_s"] = [b * per_item * (1 + 0.02 * rnd.uniform(-1, 1)) * (hit.get(b, 1) if i < 40 else 1)
                        for i in range(120)]
        m["slice_batches"], m["rounds"] = [10] * 12, 12
        m["slice_core_rtt_ns"] = [330.0 if hit and s < 4 else 80.0 for s in range(12)]  # farther apart in 1-4
        json.dump(r, open(os.path.join(out, os.path.basename(f)), "w"))
PY
"$bin" report "$tmp/m5q" >/dev/null 2>&1 && ok || fail "report on the quiet copy"
"$bin" report "$tmp/m5d" >/dev/null 2>&1 && ok || fail "report on the disturbed copy"
/usr/bin/python3 - "$tmp/m5d/recommendation.json" <<'PY' && ok || fail "disturbed rounds not left out: $(grep -o '"sentence":[^,]*' "$tmp/m5d/recommendation.json")"
import json, sys
e = json.load(open(sys.argv[1]))["recommendations"][0]; r = e["rounds"]
q = json.load(open(sys.argv[1].replace("m5d", "m5q")))["recommendations"][0]
assert r["method"] == "round-slowdown-median-q25" and r["left_out"] and r["disturbed"] == [1, 2, 3, 4], r
assert r["faster"] == [] and r["faster_slowdown"] is None, r
assert "; use 2 (rounds 1-4 of 12 left out: the machine ran 1.3" in e["sentence"], e  # median of 1.4, 1.8, 1.2 +- noise
assert e["sentence"].endswith("x slower in them; its threads ran farther apart in rounds 1-4 of 12: 330 against 80 ns core to core)"), e
assert r["far"] == [1, 2, 3, 4] and r["far_rtt_ns"] == 330 and r["near_rtt_ns"] == 80 and r["far_above"] == 2, r
assert len(r["core_rtt_ns"]) == 12 and q["rounds"]["far"] == [], (r, q)
assert (e["recommended_batch"], e["tied_batches"]) == (q["recommended_batch"], q["tied_batches"]), (e, q)
assert q["rounds"]["disturbed"] == [] and not q["rounds"]["left_out"] and "round" not in q["sentence"], q
PY
grep -q "left out: the machine ran" "$tmp/m5d/report.md" && ok || fail "report.md does not say which rounds it left out"
grep -q "Threads' core-to-core round trip (after each slice): median 80 ns, 80.330 ns; 12 of 36 slices at 2x the lowest" \
    "$tmp/m5d/report.md" && ok || fail "report.md does not say where the threads ran: $(grep -o "Threads'[^.]*" "$tmp/m5d/report.md")"
# the same files from two processes (round groups differ): no round is judged
/usr/bin/python3 - "$tmp/m5d" <<'PY'
import glob, json, sys
f = sorted(glob.glob(sys.argv[1] + "/inference_time-*.json"))[0]
r = json.load(open(f)); r["measurement"]["round_group"] = "another-process"; json.dump(r, open(f, "w"))
PY
"$bin" report "$tmp/m5d" >/dev/null 2>&1 &&
    /usr/bin/python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['recommendations'][0]
assert e['rounds'] is None and 'round' not in e['sentence'], e" "$tmp/m5d/recommendation.json" && ok ||
    fail "rounds judged across round groups"
# together they need more than --mem-limit allows, each alone fits: one at a time, and said why
"$bin" run --models mobilenet_v2 --batch-sizes 1,2,4 --threads 2 --warmup 0 --reps 2 --mem-limit 45M --out "$tmp/m6" \
    --no-report >/dev/null 2>&1 && ok || fail "interleave fallback run"
measured "$tmp/m6" "r['status'] == 'ok' and not m['interleaved'] and 'GiB' in m['interleave_fallback']" && ok ||
    fail "interleave fallback not recorded"

# 2. injected OOM (--mem-limit) and timeout (--max-time) are recorded; the sweep goes on
"$bin" run "${small[@]}" --batch-sizes 1,64 --mem-limit 60M --out "$tmp/r2" >/dev/null 2>"$tmp/r2.log"; rc=$?
[ $rc -eq 1 ] && ok || fail "oom sweep should exit 1, got $rc"
s1=$(/usr/bin/python3 -c "import json,glob; print(json.load(open(glob.glob('$tmp/r2/inference_time-*batch_size-1.json')[0]))['status'])")
s64=$(/usr/bin/python3 -c "import json,glob; print(json.load(open(glob.glob('$tmp/r2/inference_time-*batch_size-64.json')[0]))['status'])")
[ "$s1" = ok ] && [ "$s64" = oom ] && ok || fail "mem-limit: statuses $s1 / $s64, want ok / oom"
"$bin" run --models mobilenet_v2,resnet18 --batch-sizes 2 --warmup 50 --reps 3 --max-time 0.05 --out "$tmp/r3" \
    >/dev/null 2>"$tmp/r3.log"; rc=$?
st=$(/usr/bin/python3 -c "import json,glob; print(sorted(json.load(open(f))['status'] for f in glob.glob('$tmp/r3/inference_time-*.json')))")
[ $rc -eq 1 ] && [ "$st" = "['timeout', 'timeout']" ] && ok || fail "max-time: exit $rc statuses $st"

# 3. SIGINT mid-sweep, then --resume (one configuration at a time, as the seed ran them)
"$bin" run "${small[@]}" --batch-sizes 1,2,3,4,5,6 --reps 20 --interleave off --out "$tmp/r4" >/dev/null 2>"$tmp/r4.log" &
pid=$!
for _ in $(seq 1 600); do
    [ "$(ls "$tmp/r4"/inference_time-*.json 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.05
done
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && ok || fail "SIGINT: exit $rc, want 130"
before=$(ls "$tmp/r4"/inference_time-*.json 2>/dev/null | wc -l)
[ "$before" -ge 2 ] && [ "$before" -lt 6 ] && ok || fail "SIGINT: $before files after the interrupt"
ls "$tmp/r4" | grep -q '\.tmp' && fail "a temporary file was left behind" || ok
stat -c '%n %i %Y' "$tmp/r4"/inference_time-*.json | sort > "$tmp/before.stat"
md5sum "$tmp/r4"/inference_time-*.json | sort > "$tmp/before.md5"
"$bin" run "${small[@]}" --batch-sizes 1,2,3,4,5,6 --reps 20 --interleave off --out "$tmp/r4" --resume >/dev/null 2>"$tmp/r4b.log"; rc=$?
[ $rc -eq 0 ] && ok || fail "resume exit $rc"
after=$(ls "$tmp/r4"/inference_time-*.json | wc -l)
[ "$after" -eq 6 ] && ok || fail "after resume: $after files, want 6"
kept=$(stat -c '%n %i %Y' $(cut -d' ' -f1 "$tmp/before.stat") | sort)
[ "$kept" = "$(cat "$tmp/before.stat")" ] && md5sum -c --quiet "$tmp/before.md5" && ok || fail "a finished file was rewritten"
runs=$(grep -c '^\[' "$tmp/r4b.log")
[ "$runs" -eq $((6 - before)) ] && ok || fail "resume ran $runs configurations, want $((6 - before))"
if /usr/bin/python3 "$here/check_results.py" "$tmp/r4" 6; then ok; else fail "resumed results check"; fi

# 3b. SIGINT while a model's batch sizes are interleaved: nothing unfinished
# is written, --resume completes them, and what was final stays untouched
"$bin" run "${small[@]}" --batch-sizes 1,2,3 --reps 400 --out "$tmp/r4i" >/dev/null 2>"$tmp/r4i.log" &
pid=$!
for _ in $(seq 1 600); do
    grep -q "warm-up\|estimated" "$tmp/r4i.log" 2>/dev/null && break
    sleep 0.05
done
sleep 1.5
kill -INT $pid; wait $pid; rc=$?
n_i=$(ls "$tmp/r4i"/inference_time-*.json 2>/dev/null | wc -l)
[ $rc -eq 130 ] && [ "$n_i" -lt 3 ] && ok || fail "interleaved SIGINT: exit $rc, $n_i files"
ls "$tmp/r4i" | grep -q '\.tmp' && fail "a temporary file was left behind (interleaved)" || ok
"$bin" run "${small[@]}" --batch-sizes 1,2,3 --reps 5 --out "$tmp/r4i" --resume >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(ls "$tmp/r4i"/inference_time-*.json | wc -l)" -eq 3 ] && ok || fail "interleaved resume: exit $rc"

# 4. a stored data set as input
"$bin" dataset make --items 5 --items-per-shard 2 --out "$tmp/ds" >/dev/null && ok || fail "dataset make"
[ "$(ls "$tmp/ds"/items-*.f32 | wc -l)" -eq 3 ] && ok || fail "dataset shards"
"$bin" run "${small[@]}" --batch-sizes 2 --data "$tmp/ds" --out "$tmp/r5" >/dev/null 2>&1 && ok || fail "run --data"
src=$(/usr/bin/python3 -c "import json,glob; print(json.load(open(glob.glob('$tmp/r5/inference_time-*.json')[0]))['config']['input_source'])")
[ "$src" = dataset ] && ok || fail "input_source $src"
"$bin" run "${small[@]}" --batch-sizes 2 --data "$tmp/nope" --out "$tmp/r6" >/dev/null 2>"$tmp/r6.log"; rc=$?
[ $rc -eq 1 ] && grep -q "nope/manifest.json" "$tmp/r6.log" && ok || fail "missing data set: exit $rc"

# 4b. end to end: loader workers feeding the model (run --pipeline)
"$bin" run --pipeline --data "$tmp/ds" --models mobilenet_v2 --batch-sizes 1,2 --workers 1,2 --warmup 1 --reps 2 \
    --out "$tmp/p1" >"$tmp/p1.log" 2>&1 && ok || fail "run --pipeline: $(tail -3 "$tmp/p1.log")"
grep -q "best: batch" "$tmp/p1.log" && ok || fail "pipeline table"
/usr/bin/python3 - "$tmp/p1" <<'PY' && ok || fail "pipeline results"
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/pipeline-*-workers-*.json"))
assert len(files) == 4, files
for f in files:
    r = json.load(open(f))
    p = r["pipeline"]
    assert r["status"] == "ok" and r["config"]["input_source"] == "dataset", f
    assert len(p["waits_s"]) == 3 and len(r["times_s"]) == 2 and p["items_per_s"] > 0, f
    assert 0 <= p["wait_fraction"] <= 1 and p["first_result_s"] > 0 and p["workers"] in (1, 2), f
assert not glob.glob(sys.argv[1] + "/inference_time-*.json")
PY
"$bin" report "$tmp/p1" >/dev/null 2>&1 && grep -q "Best: \*\*batch" "$tmp/p1/report.md" && \
    [ -s "$tmp/p1/pipeline_items_per_s-mobilenet_v2-cpu.png" ] && ok || fail "pipeline report and grid chart"

# 4a. the seed's input (--input dataset, the paper preset's): without --data a
# set of --dataset-items random items is made once in the cache and reused;
# an invalid one is made again; each measured batch is the set's next one
# (a shard cut short fails the second measured batch, naming the file)
export BATCHBENCH_CACHE="$tmp/cache"
"$bin" run "${small[@]}" --batch-sizes 2 --input dataset --dataset-items 6 --out "$tmp/r5c" >/dev/null \
    2>"$tmp/r5c.log" && grep -q "making the data set $tmp/cache/random-6" "$tmp/r5c.log" && ok ||
    fail "run --input dataset: $(tail -3 "$tmp/r5c.log")"
o=$(/usr/bin/python3 -c "import json,glob; c=json.load(open(glob.glob('$tmp/r5c/inference_time-*-dataset.json')[0]))['config']; print(c['input_source'], c['data_dir'], c['preset'])")
[ "$o" = "dataset $tmp/cache/random-6 quick" ] && ok || fail "--input dataset recorded: $o"
"$bin" run "${small[@]}" --batch-sizes 2 --input dataset --dataset-items 6 --out "$tmp/r5d" >/dev/null \
    2>"$tmp/r5d.log" && ! grep -q "making the data set" "$tmp/r5d.log" && ok || fail "cached data set not reused"
: >"$tmp/cache/random-6/items-00000.f32"
"$bin" run "${small[@]}" --batch-sizes 2 --input dataset --dataset-items 6 --out "$tmp/r5e" >/dev/null \
    2>"$tmp/r5e.log" && grep -q "was not usable: .*items-00000.f32" "$tmp/r5e.log" && ok ||
    fail "an invalid cached set is made again: $(tail -3 "$tmp/r5e.log")"
"$bin" dataset make --kind jpeg --items 4 --out "$tmp/ds-cut" >/dev/null &&
    head -c 300 "$tmp/ds-cut/images/img-00002.jpg" >"$tmp/cut.jpg" && cp "$tmp/cut.jpg" "$tmp/ds-cut/images/img-00002.jpg"
"$bin" run "${small[@]}" --batch-sizes 2 --data "$tmp/ds-cut" --out "$tmp/r5f" >/dev/null 2>&1; rc=$?
o=$(/usr/bin/python3 -c "import json,glob; r=json.load(open(glob.glob('$tmp/r5f/inference_time-*.json')[0])); print(r['status'], len(r['times_s']), r['message'])")
[ $rc -eq 1 ] && [[ "$o" == "error 1 "*"img-00002.jpg"* ]] && ok || fail "measured batches read the set in order: exit $rc: $o"
unset BATCHBENCH_CACHE

# 5. bad arguments: exit 2 and a message naming the flag
expect2() {
    local want=$1; shift
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect2 "--preset: 'fast'" run --preset fast
expect2 "unknown model 'resnet0'" run --models resnet0
expect2 "--batch-sizes: 0 is out of range" run --batch-sizes 1,0
expect2 "--batch-sizes: 'x' is not an integer" run --batch-sizes 1,x
expect2 "--reps: 0 is out of range" run --reps 0
expect2 "--reps: 'sometimes' is not an integer" run --reps sometimes
expect2 "--target-ci: '0'" run --target-ci 0
expect2 "--margin: '60'" run --margin 60
expect2 "--interleave: 'maybe'" run --interleave maybe
expect2 "--warmup-time: '-2'" run --warmup-time -2
expect2 "--budget: 'x'" run --budget x
expect2 "--max-time: '-1'" run --max-time -1
expect2 "--mem-limit: '12Q'" run --mem-limit 12Q
expect2 "--device: 'tpu'" run --device tpu
expect2 "--precision: 'fp8'" run --precision fp8
expect2 "--pipeline needs --data DIR (batchbench dataset make) or --input dataset" run --pipeline
expect2 "--input: 'disk' is not one of memory, dataset" run --input disk
expect2 "--input memory does not go with --data" run --input memory --data "$tmp/ds"
expect2 "--dataset-items sizes the cached data set" run --data "$tmp/ds" --dataset-items 8
expect2 "--dataset-items: 0 is out of range" run --input dataset --dataset-items 0
expect2 "--workers and --prefetch go with --pipeline" run --workers 2
expect2 "--load-mode: 'x'" run --pipeline --data "$tmp/ds" --load-mode x
expect2 "--workers: 0 is out of range" run --pipeline --data "$tmp/ds" --workers 0
o=$("$bin" run --device cpu --precision tf32 --out "$tmp/r7" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"--precision tf32: the CPU backend runs fp32 or bf16"* ]] && [ ! -e "$tmp/r7" ] && ok ||
    fail "cpu tf32: exit $rc: $o"
# bf16 on the CPU: the result says so, and the peak it is measured against is the bf16 one
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
    o=$("$bin" run --device cpu --precision bf16 --models resnet18 --batch-sizes 1 --warmup 0 --reps 2 --pause 0 \
        --out "$tmp/r7b" 2>&1); rc=$?
    [ $rc -eq 0 ] && /usr/bin/python3 -c "
import glob, json, sys
r = json.load(open(glob.glob(sys.argv[1] + '/inference_time-*resnet18-batch_size-1-bf16.json')[0]))
c, e = r['config'], r['environment']
ok = c['precision'] == 'bf16' and c['math_mode'].startswith('bf16') and e['peak_gflops'] > 0
ok = ok and 'bf16 matmul' in e['peak_source'] and r['stats']['n'] == 2
sys.exit(0 if ok else 1)" "$tmp/r7b" && grep -q "% of peak" "$tmp/r7b/report.md" && ok || fail "cpu bf16 run: exit $rc: $o"
else
    o=$("$bin" run --device cpu --precision bf16 --out "$tmp/r7b" 2>&1); rc=$?
    [ $rc -eq 1 ] && [[ "$o" == *"neither AVX512-BF16 nor AMX"* ]] && ok || fail "cpu bf16 refused: exit $rc: $o"
fi
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    o=$("$bin" run --device cuda --out "$tmp/r8" 2>&1); rc=$?
    [ $rc -eq 1 ] && [[ "$o" == *"--device cuda: "* ]] && [ ! -e "$tmp/r8" ] && ok || fail "no GPU: exit $rc: $o"
fi
expect2 "--items: 0 is out of range" dataset make --items 0 --out "$tmp/x"
o=$("$bin" run "${small[@]}" --batch-sizes 1 --out /proc/nope 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$o" == *"/proc/nope"* ]] && ok || fail "unwritable --out: exit $rc: $o"

# 5b. one configuration, one identity (issue 17): fp32 and bf16, features and
# classifier, a backend option on and off live side by side in one folder;
# --resume skips exact matches only; nothing is overwritten by another identity
idc=(--device cpu --models resnet18 --batch-sizes 1 --warmup 0 --warmup-time 0 --reps 2 --no-report --out "$tmp/id")
ident() { # folder: "precision head options threads" of every result, sorted
    /usr/bin/python3 -c "
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + '/inference_time-*.json')):
    c = json.load(open(f))['config']
    opts = ','.join(k + '=' + v['value'] for k, v in sorted(c['backend_options'].items()) if not v['default'])
    print(c['precision'], c['head'], opts or '-', c['threads'], c['identity'] != '')" "$1" | sort | tr '\n' ';'
}
bf16=$(grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo bf16 || echo "")
o=$("$bin" run "${idc[@]}" 2>&1) && [[ "$o" == *"1 done, 0 kept"* ]] && ok || fail "identity: fp32 run: $o"
first=$(stat -c %Y.%i "$tmp/id"/inference_time-*-batch_size-1.json)
if [ -n "$bf16" ]; then
    o=$("$bin" run "${idc[@]}" --precision bf16 --resume 2>&1)
    [[ "$o" == *"1 done, 0 kept"* ]] && ok || fail "identity: bf16 --resume took the fp32 result: $o"
    o=$("$bin" run "${idc[@]}" --precision bf16 2>&1) && [[ "$o" == *"1 done, 0 kept"* ]] && ok || fail "identity: bf16 again: $o"
    o=$("$bin" run "${idc[@]}" --precision bf16 --resume 2>&1)
    [[ "$o" == *"0 done, 1 kept"* ]] && ok || fail "identity: bf16 --resume did not keep the bf16 result: $o"
fi
o=$("$bin" run "${idc[@]}" --head classifier --resume 2>&1)
[[ "$o" == *"1 done, 0 kept"* ]] && ok || fail "identity: classifier --resume took the features result: $o"
o=$("$bin" run "${idc[@]}" --head classifier --resume 2>&1)
[[ "$o" == *"0 done, 1 kept"* ]] && ok || fail "identity: classifier --resume: $o"
o=$("$bin" run "${idc[@]}" --backend-opt cpu.algo=never --resume 2>&1)
[[ "$o" == *"1 done, 0 kept"* ]] && ok || fail "identity: --backend-opt --resume took the default's result: $o"
o=$("$bin" run "${idc[@]}" --threads 1 2>&1) && [[ "$o" == *"1 done"* ]] && ok || fail "identity: --threads 1: $o"
[ "$(stat -c %Y.%i "$tmp/id"/inference_time-*-batch_size-1.json)" = "$first" ] && ok ||
    fail "identity: the fp32 result was rewritten by another identity"
want="fp32 classifier - 2 True;fp32 features - 1 True;fp32 features - 2 True;fp32 features cpu.algo=never 2 True;"
[ -n "$bf16" ] && want="bf16 features - 2 True;$want"
got=$(ident "$tmp/id")
[ "$got" = "$want" ] && ok || fail "identity: folder holds '$got', want '$want'"
ls "$tmp/id" | grep -q -- "-opts-[0-9a-f]\{8\}\.json" && ok || fail "identity: no -opts- file name: $(ls "$tmp/id")"
grep -q "cpu.algo=never" "$tmp/id/summary.csv" && ok || fail "identity: summary.csv has no identity column"
o=$("$bin" report "$tmp/id" 2>&1) && [[ "$o" != *"duplicate"* ]] && ok || fail "identity: report sees duplicates: $o"
# --backend-opt: the keys in --help; a bad key or value, or another backend's key, is exit 2 naming it
o=$("$bin" run --help) && [[ "$o" == *"cpu.algo"* && "$o" == *"cuda.cudnn_graph"* ]] && ok || fail "run --help lists no keys"
expect2 "--backend-opt: unknown key 'cpu.nope'" run --device cpu --backend-opt cpu.nope=1 --out "$tmp/x"
expect2 "cpu.algo: 'maybe' is not one of measured, always, never" run --device cpu --backend-opt cpu.algo=maybe --out "$tmp/x"
expect2 "cuda.layout is an option of the cuda backend" infer --model resnet18 --device cpu --backend-opt cuda.layout=nchw
o=$(BATCHBENCH_CPU_ALGO=maybe "$bin" profile --model resnet18 --device cpu 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$o" == *"BATCHBENCH_CPU_ALGO"* ]] && ok || fail "bad environment variable: exit $rc: $o"
[ ! -e "$tmp/x" ] && ok || fail "a refused run made its --out folder"
# profile takes --device like run and infer; cuda without a GPU refuses cleanly (exit 1, naming the flag)
o=$("$bin" profile --model resnet18 --batch 1 --warmup 0 --reps 1 --device cpu --backend-opt cpu.algo=never 2>&1) &&
    [[ "$o" == *"cpu fp32"* ]] && ok || fail "profile --device cpu: $o"
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    o=$("$bin" profile --model resnet18 --device cuda 2>&1); rc=$?
    [ $rc -eq 1 ] && [[ "$o" == *"batchbench profile: --device cuda: "* ]] && ok || fail "profile --device cuda: exit $rc: $o"
fi

# 6. every result file written above (sweeps, --reps auto, oom, timeout,
# interrupted and resumed, --data, --pipeline) is valid against the result
# schema, docs/result.schema.json (tests/cli/validate_results.py)
o=$(/usr/bin/python3 "$here/validate_results.py" --current "$here/../../docs/result.schema.json" "$tmp" 2>&1) && ok ||
    fail "result schema: $o"

echo "run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

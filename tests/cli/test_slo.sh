#!/usr/bin/env bash
# test_slo.sh — `batchbench report --slo-p99 MS --rate LIST [--timeouts LIST]`
# on a small real sweep (mobilenet_v2 at batch 1, 2, 4 and 8, one thread):
# the "Serving under a p99 target" section, its table and chart
# (slo_p99.png/.svg), the named (B, T) at light load, the requested rates
# the machine may not sustain, the "none meets the target" sentence for an
# impossible target, the timeouts given, nothing without the flags, and bad
# flags (exit 2, the flag named); run --idle-ms results beside the sweep's
# (own identity, the sleep untimed, drawn on by the simulation). With
# sim_dump (tests/tools/sim_dump.c) also its JSON, the same on every call.
# Under 60 s.
# Usage: tests/cli/test_slo.sh path/to/batchbench [path/to/sim_dump]
set -u
bin=${1:?usage: test_slo.sh path/to/batchbench [path/to/sim_dump]}
dump=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }
# section FILE: the "Serving under a p99 target" section of a report
section() { sed -n '/^## Serving under a p99 target/,/^## [^S]/p' "$1"; }

"$bin" run --models mobilenet_v2 --batch-sizes 1,2,4,8 --threads 1 --warmup 1 --warmup-time 0 --reps 10 \
    --interleave off --out "$tmp/s" --no-report >"$tmp/run.out" 2>&1 || fail "the sweep failed: $(tail -5 "$tmp/run.out")"

# the section, the chart, and an answer at the rates of the issue
"$bin" report "$tmp/s" --slo-p99 100 --rate 100,200 --out "$tmp/a/report.md" >"$tmp/a.out" 2>"$tmp/a.err"; rc=$?
[ $rc -eq 0 ] && ok || fail "report --slo-p99 100 --rate 100,200: exit $rc: $(cat "$tmp/a.err")"
sec=$(section "$tmp/a/report.md")
grep -q "^## Serving under a p99 target" <<<"$sec" && ok || fail "no section in report.md"
grep -q "^### mobilenet_v2" <<<"$sec" && ok || fail "no part for mobilenet_v2"
grep -q "| p99 at 100/s (ms) | p99 at 200/s (ms) | max rate under 100 ms (items/s) |" <<<"$sec" && ok ||
    fail "the table's header"
[ "$(grep -c '^| \**[1248]\** | ' <<<"$sec")" -eq 4 ] && ok || fail "a row per measured batch size: $sec"
grep -q "one batch at a time, without preemption" <<<"$sec" && grep -q "drawn at random, with replacement" <<<"$sec" &&
    ok || fail "the assumptions are not stated"
grep -qE "use max batch \*\*[1248]\*\* with timeout \*\*[0-9.]+ ms\*\*|No setting meets the 100 ms p99 target" \
    <<<"$sec" && ok || fail "neither a choice nor 'none' at 100,200/s"
grep -q "lacks batch sizes 3, 5, 6 and 7" <<<"$sec" && ok || fail "the padding is not said"
grep -q "fewer than 100 measured batch times (10 at the least)" <<<"$sec" && ok || fail "the few times not said"
is_png "$tmp/a/slo_p99.png" && ok || fail "slo_p99.png is not a PNG"
grep -q "<svg" "$tmp/a/slo_p99.svg" && grep -q "p99 latency" "$tmp/a/slo_p99.svg" && ok || fail "slo_p99.svg"
grep -qF "](slo_p99.png)" <<<"$sec" && ok || fail "the chart is not embedded in the section"
grep -q "slo_p99.png" "$tmp/a.out" && ok || fail "the chart's path is not printed"

# a light load: a setting is named, and its row is the bold one with that T.
# Light for this machine: 10% and 20% of what batch 1 serves back to back,
# and a target of 10 batch-1 times or 100 ms, the larger (batch 1 took 3 ms
# on one AVX-512 VM, 20-30 ms on a Zen 1 one, where 10 and 20/s were not light)
read -r light slo < <(/usr/bin/python3 - "$tmp/s" <<'PY'
import glob, json, statistics, sys
(f,) = glob.glob(sys.argv[1] + "/inference_time-*-batch_size-1.json")
t1 = statistics.median(json.load(open(f))["times_s"])
print("%d,%d" % (max(1, round(0.1 / t1)), max(2, round(0.2 / t1))), max(100, round(10e3 * t1)))
PY
)
"$bin" report "$tmp/s" --slo-p99 "$slo" --rate "$light" --timeouts 0,5 --out "$tmp/b/report.md" >/dev/null 2>"$tmp/b.err"
rc=$?
[ $rc -eq 0 ] && ok || fail "report at $light/s: exit $rc: $(cat "$tmp/b.err")"
sec=$(section "$tmp/b/report.md")
choice=$(grep -oE "use max batch \*\*[0-9]+\*\* with timeout \*\*[0-9.]+ ms\*\*" <<<"$sec")
b=$(sed -E 's/.*batch \*\*([0-9]+)\*\*.*/\1/' <<<"$choice") t=$(sed -E 's/.*timeout \*\*([0-9.]+) ms.*/\1/' <<<"$choice")
[ -n "$choice" ] && ok || fail "no setting named at $light/s under $slo ms: $sec"
grep -qF "| **$b** | $t |" <<<"$sec" && ok || fail "the named B $b, T $t is not the bold row"
grep -q "T = 0 and 5 ms (\`--timeouts\`)" <<<"$sec" && ok || fail "--timeouts 0,5 not used"

# an impossible target: none meets it
"$bin" report "$tmp/s" --slo-p99 0.01 --rate 100,200 --out "$tmp/c/report.md" >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && ok || fail "report --slo-p99 0.01: exit $rc"
grep -q "No setting meets the 0.01 ms p99 target at every requested rate (100 and 200 items/s)" "$tmp/c/report.md" &&
    ok || fail "the 'none' sentence: $(section "$tmp/c/report.md")"

# without --slo-p99: no section, no chart
"$bin" report "$tmp/s" --out "$tmp/d/report.md" >/dev/null 2>&1
! grep -q "Serving under a p99 target" "$tmp/d/report.md" && [ ! -e "$tmp/d/slo_p99.png" ] && ok ||
    fail "a section or chart without --slo-p99"

# bad flags: exit 2, the flag named
bad() { # WANT_IN_STDERR ARGS...
    local want=$1; shift
    "$bin" report "$tmp/s" --out "$tmp/e/report.md" "$@" >/dev/null 2>"$tmp/e.err"; local rc=$?
    [ $rc -eq 2 ] && grep -q -- "$want" "$tmp/e.err" && ok || fail "report $*: exit $rc, stderr $(cat "$tmp/e.err")"
}
bad --slo-p99 --slo-p99 0 --rate 100
bad --slo-p99 --slo-p99 -5 --rate 100
bad --slo-p99 --slo-p99 abc --rate 100
bad --rate --slo-p99 100
bad --slo-p99 --rate 100
bad --slo-p99 --timeouts 0,5
bad --rate --slo-p99 100 --rate 0
bad --rate --slo-p99 100 --rate 100,,200
bad --rate --slo-p99 100 --rate 100,
bad --rate --slo-p99 100 --rate 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
bad --timeouts --slo-p99 100 --rate 100 --timeouts 5,-1
"$bin" plot "$tmp/s" --slo-p99 100 --rate 100 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok || fail "plot --slo-p99: exit $rc, want 2 (report only)"
[ ! -e "$tmp/e/report.md" ] && ok || fail "a report was written despite bad flags"

# sim_dump: JSON, deterministic, B beyond the sweep refused
if [ -n "$dump" ]; then
    "$dump" "$tmp/s" mobilenet_v2 8 5 20 --seed 3 --n 2000 --warmup 0 >"$tmp/d1.json" && ok || fail "sim_dump failed"
    "$dump" "$tmp/s" mobilenet_v2 8 5 20 --seed 3 --n 2000 --warmup 0 >"$tmp/d2.json"
    cmp -s "$tmp/d1.json" "$tmp/d2.json" && ok || fail "sim_dump differs between two calls"
    /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["max_batch"] == 8 and j["timeout_ms"] == 5 and j["n"] == 2000 and j["padded"] is True, j
assert 0 < j["p50_ms"] <= j["p90_ms"] <= j["p99_ms"], j
assert abs(j["throughput"] - 20) < 3 and 1 <= j["mean_batch"] <= 8, j' "$tmp/d1.json" && ok || fail "sim_dump JSON"
    "$dump" "$tmp/s" mobilenet_v2 16 5 20 >/dev/null 2>&1 && fail "sim_dump took B 16 beyond the sweep" || ok
fi

# run --idle-ms: the same sweep with 250 ms slept before each of 5 batches,
# into the same folder: results of their own (identity, file name), the
# sleep outside the batch times, the back-to-back results untouched, and
# the serving simulation drawing on them (one section part, not two)
sums() { md5sum "$tmp"/s/inference_time-*-batch_size-[1248].json; }
before=$(sums)
"$bin" run --models mobilenet_v2 --batch-sizes 1,2,4,8 --threads 1 --warmup 1 --warmup-time 0 --reps 5 \
    --interleave off --idle-ms 250 --out "$tmp/s" --no-report >"$tmp/idle.out" 2>&1 && ok ||
    fail "run --idle-ms 250: $(tail -5 "$tmp/idle.out")"
[ "$(sums)" = "$before" ] && ok || fail "run --idle-ms touched the back-to-back results"
/usr/bin/python3 - "$tmp/s" <<'PY' && ok || fail "the --idle-ms results"
import glob, json, sys
idle = sorted(glob.glob(sys.argv[1] + "/inference_time-*-idle-250ms.json"))
assert len(idle) == 4, idle
for f in idle:
    r = json.load(open(f)); c = r["config"]
    assert c["idle_s"] == 0.25 and c["identity"].endswith(";idle_ms=250"), c
    b2b = json.load(open(f.replace("-idle-250ms", "")))["config"]
    assert b2b["idle_s"] == 0 and "idle_ms" not in b2b["identity"], b2b
    # the sleep is not timed: timed, no batch could take under 250 ms. At
    # batch 1 and 2 one does (3 to 45 ms a batch on the machines seen; a
    # burst of load on a shared VM doubled a whole run's times once)
    if c["batch_size"] <= 2:
        assert min(r["times_s"]) < c["idle_s"], (f, r["times_s"])
PY
"$bin" run --models mobilenet_v2 --batch-sizes 1,2,4,8 --threads 1 --warmup 1 --warmup-time 0 --reps 5 \
    --interleave off --idle-ms 250 --resume --out "$tmp/s" --no-report >"$tmp/idle2.out" 2>&1
grep -q "0 done, 4 kept from earlier runs" "$tmp/idle2.out" && ok || fail "--resume --idle-ms 250: $(tail -2 "$tmp/idle2.out")"
"$bin" report "$tmp/s" --slo-p99 100 --rate 100,200 --out "$tmp/f/report.md" >/dev/null 2>"$tmp/f.err"; rc=$?
sec=$(section "$tmp/f/report.md")
[ $rc -eq 0 ] && ok || fail "report with --idle-ms results: exit $rc: $(cat "$tmp/f.err")"
grep -q "After an idle gap (since its prepared size last ran) a batch draws from the times measured after 250 ms idle (4 batch-size results)" <<<"$sec" &&
    ok || fail "the simulation does not say it drew on the idle results: $sec"
[ "$(grep -c '^### mobilenet_v2' <<<"$sec")" -eq 1 ] && ok || fail "the idle setup got a serving part of its own"
grep -q "idle 250 ms before each batch" "$tmp/f/report.md" && ok || fail "the idle setup is not labelled"
# every chart of the report its own file (the idle setup's too: a name of its own)
dup=$(grep -oE '\]\([^)]+\.png\)' "$tmp/f/report.md" | sort | uniq -d)
[ -z "$dup" ] && ls "$tmp/f"/*idle-250ms*.png >/dev/null 2>&1 && ok || fail "charts share a file: $dup"
if [ -n "$dump" ]; then
    "$dump" "$tmp/s" mobilenet_v2 8 5 20 --seed 3 --n 2000 --warmup 0 >"$tmp/d3.json" &&
        /usr/bin/python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))
assert j["after_idle"] == 4 and a["after_idle"] == 0, (j, a)
# gap "size": only a batch whose size did not run just before draws the
# idle times (some do: batches of 1 and 2 alternate), so the mean moves; a
# percentile need not (a CI run had both medians at 11.244 ms)
assert j["mean_ms"] != a["mean_ms"], (j, a)' \
        "$tmp/d3.json" "$tmp/d1.json" && ok || fail "sim_dump with the idle results: $(cat "$tmp/d3.json")"
fi
badrun() { # WANT ARGS...
    local want=$1; shift
    "$bin" run --models mobilenet_v2 --batch-sizes 1 --out "$tmp/g" --no-report "$@" >/dev/null 2>"$tmp/g.err"; local rc=$?
    [ $rc -eq 2 ] && grep -q -- "$want" "$tmp/g.err" && ok || fail "run $*: exit $rc, stderr $(cat "$tmp/g.err")"
}
badrun "--idle-ms: '-1' is not a number of milliseconds" --idle-ms -1
badrun "--idle-ms: 'x' is not" --idle-ms x
badrun "--idle-ms does not go with --pipeline" --idle-ms 5 --pipeline --data "$tmp/none"

echo "test_slo.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

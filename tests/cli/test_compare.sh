#!/usr/bin/env bash
# test_compare.sh — `batchbench compare BASE NEW` as a CI job meets it: a
# real small sweep compared with itself (exit 0, no significant change),
# with copies whose batch times are all x1.2 (exit 4, every configuration
# named on the gate line; exit 0 under --threshold 25) and x0.8 (exit 0,
# faster), compare.md equal to what was printed, the chart written, an
# extra, a not-ok and a missing configuration listed without failing the
# gate, and bad arguments (2) / unusable folders (1).
# Usage: tests/cli/test_compare.sh path/to/batchbench
set -u
bin=${1:?usage: test_compare.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# schema_ok DIR...: every result file under DIR is valid against docs/result.schema.json
schema_ok() {
    local d o; d=$(cd "$(dirname "$0")" && pwd)
    o=$(/usr/bin/python3 "$d/validate_results.py" --current "$d/../../docs/result.schema.json" "$@" 2>&1) && ok ||
        fail "result schema: $o"
}

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

# A copy of folder $1 as $2 with every batch time multiplied by $3 ("stats"
# dropped: the loader recomputes it from times_s); extra python run on each
# parsed file j (path p) as $4.
derive() {
    mkdir -p "$2"
    /usr/bin/python3 - "$1" "$2" "$3" "${4:-}" <<'EOF' || fail "derive $2"
import glob, json, os, sys
src, dst, k, extra = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
for p in sorted(glob.glob(os.path.join(src, "inference_time-*.json"))):
    j = json.load(open(p))
    j["times_s"] = [t * k for t in j["times_s"]]
    j.pop("stats", None)
    name = os.path.basename(p)
    exec(extra)
    with open(os.path.join(dst, name), "w") as f:
        json.dump(j, f, indent=1)
EOF
}

# Is every sample of folder $1 tight enough for a x1.2 or x0.8 copy to be
# told apart: at least 90% of the pairs (t_i, 1.2 t_j) with 1.2 t_j > t_i?
# (x0.8 is then easier: 0.8 t_j < t_i is t_i > t_j / 1.25.)
tight() {
    /usr/bin/python3 - "$1" <<'EOF'
import glob, json, sys
for p in glob.glob(sys.argv[1] + "/inference_time-*.json"):
    t = json.load(open(p))["times_s"]
    if len(t) < 12 or sum(1.2 * y > x for x in t for y in t) < 0.9 * len(t) ** 2:
        sys.exit(1)
EOF
}

# The real folder, measured again once when the machine was too noisy for
# the significance checks below (they test the code, not the machine); if
# it still is, each sample is replaced by its median times 1 + 0.002 (i % 7)
# and the checks run on that steadied copy of the real files.
for attempt in 1 2; do
    rm -rf "$tmp/base"
    "$bin" run --models mobilenet_v2 --batch-sizes 1,2 --warmup 1 --reps 12 --threads 2 --out "$tmp/base" \
        --no-report >"$tmp/run.out" 2>&1 || break
    tight "$tmp/base" && break
    echo "compare: noisy machine (a sample too spread to tell x1.2 apart), run $attempt of 2"
done
schema_ok "$tmp/base" # the real run's files (the derived copies below drop "stats" on purpose)
grep -q "^results: " "$tmp/run.out" && ok || fail "run: $(tail -3 "$tmp/run.out")"
if ! tight "$tmp/base"; then
    echo "compare: still noisy: significance checks on a steadied copy of the measured files"
    derive "$tmp/base" "$tmp/base" 1 '
m = sorted(j["times_s"])[len(j["times_s"]) // 2]
j["times_s"] = [m * (1 + 0.002 * (i % 7)) for i in range(len(j["times_s"]))]'
fi
n_base=$(ls "$tmp"/base/inference_time-*.json 2>/dev/null | wc -l)
[ "$n_base" -eq 2 ] && ok || fail "run wrote $n_base result files, want 2"

# the folder against itself: exit 0, every configuration unchanged
"$bin" compare "$tmp/base" "$tmp/base" --out "$tmp/self" >"$tmp/self.out" 2>"$tmp/self.err"; rc=$?
[ $rc -eq 0 ] && ok || fail "compare with itself: exit $rc $(cat "$tmp/self.err")"
[ "$(grep -c '| mobilenet_v2 | .* | no significant change |$' "$tmp/self.out")" -eq 2 ] && ok \
    || fail "compare with itself: not 2 x no significant change: $(cat "$tmp/self.out")"
grep -q "| 1.000 \[" "$tmp/self.out" && ok || fail "compare with itself: ratio not 1.000"
tail -n 1 "$tmp/self.out" | grep -q "Gate: passed" && ok || fail "compare with itself: last line: $(tail -n 1 "$tmp/self.out")"

# x1.2: a regression, exit 4, both configurations named on the last line
derive "$tmp/base" "$tmp/slow" 1.2
"$bin" compare "$tmp/base" "$tmp/slow" >"$tmp/slow.out" 2>"$tmp/slow.err"; rc=$?
[ $rc -eq 4 ] && ok || fail "x1.2: exit $rc, want 4 $(cat "$tmp/slow.err" "$tmp/slow.out")"
last=$(tail -n 1 "$tmp/slow.out")
[[ "$last" == *"Gate: FAILED"* && "$last" == *"mobilenet_v2 batch 1 "* && "$last" == *"mobilenet_v2 batch 2 "* ]] && ok \
    || fail "x1.2: last line does not name both configurations: $last"
[ "$(grep -c '| 1.200 \[.*| \*\*slower, fails the gate\*\* |$' "$tmp/slow.out")" -eq 2 ] && ok \
    || fail "x1.2: table rows: $(cat "$tmp/slow.out")"
cmp -s "$tmp/slow.out" "$tmp/slow/compare.md" && ok || fail "x1.2: compare.md (default --out NEW) differs from stdout"
is_png "$tmp/slow/compare.png" && ok || fail "x1.2: compare.png is not a PNG"
grep -q "<svg" "$tmp/slow/compare.svg" && ok || fail "x1.2: compare.svg has no <svg>"
grep -q "wrote $tmp/slow/compare.png" "$tmp/slow.err" && ok || fail "x1.2: chart path not announced"
ls "$tmp/slow" | grep -q tmp && fail "x1.2: temporary file left behind" || ok
# ... within a 25% threshold it is still slower, but passes
"$bin" compare "$tmp/base" "$tmp/slow" --threshold 25% --out "$tmp/slow25" --format pdf >"$tmp/s25.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "slower, within 25%" "$tmp/s25.out" && ok || fail "x1.2 --threshold 25: exit $rc $(cat "$tmp/s25.out")"
[ "$(head -c 5 "$tmp/slow25/compare.pdf" 2>/dev/null)" = "%PDF-" ] && [ ! -e "$tmp/slow25/compare.png" ] && ok \
    || fail "--format pdf: compare.pdf missing or a PNG drawn anyway"

# x0.8: faster, exit 0
derive "$tmp/base" "$tmp/fast" 0.8
"$bin" compare "$tmp/base" "$tmp/fast" >"$tmp/fast.out" 2>"$tmp/fast.err"; rc=$?
[ $rc -eq 0 ] && ok || fail "x0.8: exit $rc, want 0 $(cat "$tmp/fast.err")"
[ "$(grep -c '| 0.800 \[.*| faster |$' "$tmp/fast.out")" -eq 2 ] && ok || fail "x0.8: not 2 x faster: $(cat "$tmp/fast.out")"

# an extra configuration (batch 4 in NEW only), and batch 2 oom in NEW: listed, exit 0
derive "$tmp/base" "$tmp/extra" 1 '
if name.endswith("batch_size-2.json"):
    b4 = dict(j, config=dict(j["config"], batch_size=4))
    json.dump(b4, open(os.path.join(dst, name.replace("batch_size-2", "batch_size-4")), "w"))'
"$bin" compare "$tmp/base" "$tmp/extra" --out "$tmp/x" >"$tmp/extra.out" 2>"$tmp/extra.err"; rc=$?
[ $rc -eq 0 ] && grep -q "mobilenet_v2, batch 4, .*: only in NEW" "$tmp/extra.out" && ok \
    || fail "extra configuration: exit $rc $(cat "$tmp/extra.out" "$tmp/extra.err")"
"$bin" compare "$tmp/extra" "$tmp/base" --out "$tmp/x" >"$tmp/extra2.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "batch 4, .*: only in BASE" "$tmp/extra2.out" && ok || fail "only in BASE: exit $rc"
derive "$tmp/base" "$tmp/oom" 1.5 '
if "batch_size-2" in name:
    j["status"] = "oom"; j["message"] = "test"; j["times_s"] = []'
"$bin" compare "$tmp/base" "$tmp/oom" >"$tmp/oom.out" 2>&1; rc=$?
[ $rc -eq 4 ] && grep -q "batch 2, .*: not ok: ok in BASE, oom in NEW" "$tmp/oom.out" && ok \
    || fail "oom in NEW: exit $rc (want 4: batch 1 is x1.5) $(cat "$tmp/oom.out")"
tail -n 1 "$tmp/oom.out" | grep -q "batch 2" && fail "oom configuration named on the gate line" || ok

# bad arguments (2) and failures (1)
expect() {
    local code=$1 want=$2; shift 2
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq "$code" ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect 0 "4 a regression" compare --help
expect 0 "host is not part of it" compare --help
expect 2 "need two result folders" compare "$tmp/base"
expect 2 "need two result folders" compare
expect 2 "need two result folders" compare "$tmp/base" "$tmp/base" "$tmp/base"
expect 2 "--threshold: 'abc'" compare "$tmp/base" "$tmp/base" --threshold abc
expect 2 "--threshold: '-1'" compare "$tmp/base" "$tmp/base" --threshold -1
expect 2 "--threshold: '1000'" compare "$tmp/base" "$tmp/base" --threshold 1000
expect 2 "--threshold: '5%%'" compare "$tmp/base" "$tmp/base" --threshold 5%%
expect 2 "--threshold: ''" compare "$tmp/base" "$tmp/base" --threshold ""
expect 2 "--format: 'gif'" compare "$tmp/base" "$tmp/base" --format gif
expect 2 "unrecognized option" compare "$tmp/base" "$tmp/base" --bogus
expect 1 "/nonexistent" compare "$tmp/base" /nonexistent
expect 1 "/nonexistent" compare /nonexistent "$tmp/base"
mkdir -p "$tmp/empty" "$tmp/only4"
expect 1 "no readable result files" compare "$tmp/empty" "$tmp/base"
mv "$tmp"/extra/*batch_size-4.json "$tmp/only4/"
expect 1 "no configuration usable in both" compare "$tmp/base" "$tmp/only4"
expect 1 "/proc/nope" compare "$tmp/base" "$tmp/base" --out /proc/nope

echo "compare: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_report.sh — `batchbench plot` and `report` as a user meets them:
# charts and report.md from the fixture folders (with a corrupt file, an oom
# result and a missing batch size: still drawn, each named in a warning,
# exit 3), a clean folder (exit 0), the ratio chart for two engines, and bad
# arguments / unreadable folders.
# Usage: tests/cli/test_report.sh path/to/batchbench
set -u
bin=${1:?usage: test_report.sh path/to/batchbench}
here=$(cd "$(dirname "$0")" && pwd)
fx="$here/../data/report-fixture" fx2="$here/../data/report-fixture-pytorch"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

# fixture with problems: everything still written, exit 3, each problem named
"$bin" report "$fx" "$fx2" --out "$tmp/a/report.md" --format png,svg,pdf --max-latency 100 >"$tmp/a.out" 2>"$tmp/a.err"; rc=$?
[ $rc -eq 3 ] && ok || fail "report on the fixture: exit $rc, want 3"
for c in inf_times_conv_models inf_times_trans_models time_per_item_vs_batch throughput_vs_latency ratio; do
    is_png "$tmp/a/$c.png" && ok || fail "$c.png is not a PNG"
    grep -q "<svg" "$tmp/a/$c.svg" && ok || fail "$c.svg has no <svg>"
    [ "$(head -c 5 "$tmp/a/$c.pdf")" = "%PDF-" ] && ok || fail "$c.pdf is not a PDF"
done
grep -q "resnet34.*not valid JSON" "$tmp/a.err" && ok || fail "corrupt file not named: $(cat "$tmp/a.err")"
grep -q "vit_b_32-batch_size-8.*oom" "$tmp/a.err" && ok || fail "oom result not named"
grep -q "mobilenet_v2.*batch_size-4.*missing\|missing.*mobilenet_v2" "$tmp/a.err" && ok || fail "missing batch not named"
grep -q "report.md" "$tmp/a.out" && ok || fail "report path not printed"
grep -q "| resnet18 |" "$tmp/a/report.md" && grep -q "knee" "$tmp/a/report.md" && ok || fail "report.md lacks its table"
ls "$tmp/a" | grep -q tmp && fail "temporary file left behind" || ok

# a clean folder (one model, all batch sizes ok): exit 0
mkdir -p "$tmp/clean"
cp "$fx"/*resnet18* "$tmp/clean/"
"$bin" plot "$tmp/clean" --out "$tmp/b" >/dev/null 2>"$tmp/b.err"; rc=$?
[ $rc -eq 0 ] && is_png "$tmp/b/inf_times_conv_models.png" && ok || fail "plot on a clean folder: exit $rc $(cat "$tmp/b.err")"

# bad arguments (2) and failures (1)
expect() {
    local code=$1 want=$2; shift 2
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq "$code" ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect 2 "no results folder" plot
expect 2 "--format: 'gif'" plot "$fx" --format gif
expect 2 "milliseconds" report "$fx" --max-latency -1
expect 1 "/nonexistent" plot /nonexistent
mkdir -p "$tmp/empty"
expect 1 "no readable result files" plot "$tmp/empty"
expect 1 "/proc/nope" plot "$tmp/clean" --out /proc/nope

# real results of both engines side by side: tools/torch_bench.py writes
# PyTorch's in our schema, and plot draws the ratio chart from the two folders
if /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
    "$bin" run --models mobilenet_v2 --batch-sizes 1,2 --warmup 1 --reps 2 --threads 2 --out "$tmp/ours" --no-report \
        >/dev/null 2>&1 && ok || fail "run for the side-by-side"
    /usr/bin/python3 "$here/../../tools/torch_bench.py" --models mobilenet_v2 --batch-sizes 1,2 --warmup 1 --reps 2 \
        --threads 2 --out "$tmp/torch" --bin "$bin" >/dev/null 2>"$tmp/tb.err" && ok || fail "torch_bench: $(tail -2 "$tmp/tb.err")"
    "$bin" plot "$tmp/ours" "$tmp/torch" --out "$tmp/both" >/dev/null 2>"$tmp/both.err"; rc=$?
    [ $rc -eq 0 ] && is_png "$tmp/both/ratio.png" && ok || fail "ratio from batchbench + pytorch: exit $rc $(cat "$tmp/both.err")"
else
    echo "report: PyTorch missing: side-by-side check skipped (apt-get install python3-torch python3-torchvision)"
fi

echo "report: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

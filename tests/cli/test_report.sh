#!/usr/bin/env bash
# test_report.sh — `batchbench plot` and `report` as a user meets them:
# charts, report.md and recommendation.json from the fixture folders (with a
# corrupt file, an oom result and a missing batch size: still drawn, each
# named in a warning, exit 3), the tie margin (--margin), --stat/--units
# (the seed's mean ± 2σ in seconds; its default for --preset paper results;
# a lower error bar clipped at 0), a clean folder (exit 0), the one setting
# for all models from end-to-end results of two models, the ratio chart for
# two engines, and bad arguments / unreadable folders.
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
# schema_ok DIR...: every result file under DIR is valid against docs/result.schema.json
schema_ok() {
    local d o; d=$(cd "$(dirname "$0")" && pwd)
    o=$(/usr/bin/python3 "$d/validate_results.py" --current "$d/../../docs/result.schema.json" "$@" 2>&1) && ok ||
        fail "result schema: $o"
}

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

# the answer: tied set and the batch size to use, in report.md and recommendation.json
md="$tmp/a/report.md"
grep -q "| best batch | tied within noise | use |" "$md" && ok || fail "report.md table lacks the tied/use columns"
# 3 samples per batch size: wide CIs, so the answer says what a rerun may answer instead
grep -qF -- "- resnet18: 4 and 8 are tied within noise (2% margin); use 4; a rerun may answer 8: a tie within a CI's width of the 2% margin." "$md" &&
    ok || fail "resnet18's answer"
grep -q "^## How the answer is chosen" "$md" && ok || fail "report.md does not say how the answer is chosen"
grep -q "recommendation.json" "$tmp/a.out" && ok || fail "recommendation.json path not printed"
rec_check() { # FILE MARGIN MODEL TIED... : the entry of MODEL has these tied batch sizes and this margin
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
f, margin, model, tied = sys.argv[1], float(sys.argv[2]), sys.argv[3], [int(x) for x in sys.argv[4:]]
j = json.load(open(f))
assert j["schema_version"] == 1 and j["tool"]["name"] == "batchbench", "schema_version / tool"
e = [r for r in j["recommendations"] if r["model"] == model and r["engine"] == "batchbench"]
assert len(e) == 1, f"{len(e)} entries for {model}"
e = e[0]
assert e["tied_batches"] == tied, e["tied_batches"]
assert e["recommended_batch"] == min(tied) and e["margin"] == margin and e["confidence"] == 0.95, e
assert e["method"] == "hodges-lehmann-ci-margin" and e["sentence"].startswith(model + ": "), e
assert [b["batch"] for b in e["batches"] if b["tied"]] == tied, e["batches"]
PY
}
rec_check "$tmp/a/recommendation.json" 0.02 resnet18 4 8 && ok || fail "recommendation.json (resnet18)"
rec_check "$tmp/a/recommendation.json" 0.02 vit_b_16 4 && ok || fail "recommendation.json (vit_b_16)"

# --margin: a wider margin ties more batch sizes, in the report and the file alike
"$bin" report "$fx" --out "$tmp/m/report.md" --margin 25 >"$tmp/m.out" 2>/dev/null; rc=$?
[ $rc -eq 3 ] && ok || fail "report --margin 25: exit $rc, want 3"
grep -qF -- "- vit_b_16: 2, 4 and 8 are tied within noise (25% margin); use 2." "$tmp/m/report.md" && ok \
    || fail "--margin 25 not applied to report.md"
rec_check "$tmp/m/recommendation.json" 0.25 vit_b_16 2 4 8 && ok || fail "--margin 25 not applied to recommendation.json"
grep -q "25% margin" "$tmp/m/time_per_item_vs_batch.svg" && ok || fail "--margin 25 not in the chart's key"

# a clean folder (one model, all batch sizes ok): exit 0
mkdir -p "$tmp/clean"
cp "$fx"/*resnet18* "$tmp/clean/"
"$bin" plot "$tmp/clean" --out "$tmp/b" >/dev/null 2>"$tmp/b.err"; rc=$?
[ $rc -eq 0 ] && is_png "$tmp/b/inf_times_conv_models.png" && ok || fail "plot on a clean folder: exit $rc $(cat "$tmp/b.err")"

# --stat / --units: the seed's view (mean ± 2σ of the per-item time, seconds) on the same fixture
"$bin" report "$fx" --out "$tmp/v/report.md" --stat mean --units s >"$tmp/v.out" 2>/dev/null; rc=$?
[ $rc -eq 3 ] && ok || fail "report --stat mean --units s: exit $rc, want 3"
for c in inf_times_conv_models inf_times_trans_models time_per_item_vs_batch throughput_vs_latency; do
    is_png "$tmp/v/$c.png" && grep -q "<svg" "$tmp/v/$c.svg" && ok || fail "--stat mean: $c.png/.svg missing"
done
# the SVGs hold their text as <text> elements: the axis titles can be read back
grep -q ">Mean time per item in seconds<" "$tmp/v/inf_times_conv_models.svg" && ok || fail "mean/s: bar chart y label"
grep -q ">Mean time per item by batch size (± 2σ): convolutional models<" "$tmp/v/inf_times_conv_models.svg" && ok ||
    fail "mean/s: bar chart title"
grep -q ">Mean time per item in seconds<" "$tmp/v/time_per_item_vs_batch.svg" && ok || fail "mean/s: vs-batch y label"
grep -q ">Mean batch latency in seconds, log scale<" "$tmp/v/throughput_vs_latency.svg" && ok || fail "mean/s: latency axis"
grep -q ">Median time per item in ms<" "$tmp/a/inf_times_conv_models.svg" && ok || fail "default: median/ms y label"
v="$tmp/v/report.md"
grep -qF "show the **mean ± 2σ of the per-item time (batch time / batch size; σ: numpy's std, ddof 0), in seconds, as the seed's plot_time.py**" "$v" &&
    ok || fail "report.md does not name the charts' statistic"
grep -qF "The tables and the answer (the batch size to use) are on the median" "$v" && ok || fail "report.md: tables' statistic"
grep -qF "| resnet18 | 0.04000 ± 0.001633 |" "$v" && ok || fail "report.md: mean ± 2σ table (numpy std, ddof 0)"
grep -qF -- "- resnet18: 4 and 8 are tied within noise (2% margin); use 4; a rerun may answer 8" "$v" && ok ||
    fail "--stat mean moved the answer"
grep -qF "*Time per item of each convolutional model at each batch size: mean ± 2σ" "$v" && ok || fail "caption under the chart"
grep -qF "Every time in the tables and the charts is the median" "$md" && ok || fail "default report.md: median not named"
"$bin" plot "$fx" --out "$tmp/vp" --stat mean --format svg >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && grep -q ">Mean time per item in ms<" "$tmp/vp/inf_times_trans_models.svg" && ok ||
    fail "plot --stat mean (units default ms): exit $rc"

# the paper preset's default: every ok result with config.preset "paper" -> mean ± 2σ in seconds
mkdir -p "$tmp/paper"
cp "$fx"/*.json "$tmp/paper/"
preset() { # DIR PRESET [ONLY_FILE_GLOB]: sets config.preset in the readable result files
    /usr/bin/python3 - "$@" <<'PY'
import glob, json, sys
d, preset = sys.argv[1], sys.argv[2]
for f in glob.glob(d + "/" + (sys.argv[3] if len(sys.argv) > 3 else "*.json")):
    try:
        j = json.load(open(f))
    except ValueError:
        continue  # the fixture's corrupt file stays corrupt
    j["config"]["preset"] = preset
    json.dump(j, open(f, "w"), indent=1)
PY
}
preset "$tmp/paper" paper
"$bin" report "$tmp/paper" --format svg >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && ok || fail "report on paper-preset results: exit $rc"
grep -qF "show the **mean ± 2σ of the per-item time" "$tmp/paper/report.md" && grep -qF "in seconds, as the seed's plot_time.py**" "$tmp/paper/report.md" &&
    grep -qF "measured with \`--preset paper\`, so this is the default here" "$tmp/paper/report.md" && ok ||
    fail "paper preset: report.md does not say mean ± 2σ in seconds"
grep -q ">Mean time per item in seconds<" "$tmp/paper/inf_times_conv_models.svg" && ok || fail "paper preset: chart not mean/s"
"$bin" report "$tmp/paper" --stat median --format svg >/dev/null 2>&1 # an explicit flag wins; the unit stays the preset's
grep -q ">Median time per item in seconds<" "$tmp/paper/inf_times_conv_models.svg" && ok || fail "paper + --stat median"
preset "$tmp/paper" quick "*resnet18-batch_size-2.json"
"$bin" report "$tmp/paper" --format svg >/dev/null 2>&1
grep -q ">Median time per item in ms<" "$tmp/paper/inf_times_conv_models.svg" && ok || fail "one quick result: not median/ms"

# a lower error bar below 0 (mean - 2σ < 0) is drawn at 0, and said so
mkdir -p "$tmp/clip"
cp "$fx"/*resnet18* "$tmp/clip/"
/usr/bin/python3 - "$tmp/clip" <<'PY'
import glob, json, sys
f = glob.glob(sys.argv[1] + "/*batch_size-1.json")[0]
j = json.load(open(f)); j["times_s"] = [0.001, 0.001, 0.2]; json.dump(j, open(f, "w"))
PY
"$bin" report "$tmp/clip" --stat mean --units s --format svg >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && grep -qF "lower error bar is drawn at 0" "$tmp/clip/report.md" &&
    grep -q "clipped at 0" "$tmp/clip/inf_times_conv_models.svg" && ok || fail "clipped error bar not said: exit $rc"

# bad arguments (2) and failures (1)
expect() {
    local code=$1 want=$2; shift 2
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq "$code" ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect 2 "no results folder" plot
expect 2 "--format: 'gif'" plot "$fx" --format gif
expect 2 "milliseconds" report "$fx" --max-latency -1
for m in 0 50 -2 abc 1e400 ""; do
    expect 2 "--margin: '$m'" report "$fx" --out "$tmp/bad/report.md" --margin "$m"
done
expect 2 "unrecognized option '--margin'" plot "$fx" --margin 2
expect 2 "--stat: 'avg' is not median or mean" report "$fx" --out "$tmp/bad/report.md" --stat avg
expect 2 "--stat: 'Mean' is not median or mean" plot "$fx" --out "$tmp/bad" --stat Mean
expect 2 "--units: 'us' is not ms or s" plot "$fx" --out "$tmp/bad" --units us
expect 2 "--units: '' is not ms or s" report "$fx" --out "$tmp/bad/report.md" --units ''
expect 1 "/nonexistent" plot /nonexistent
mkdir -p "$tmp/empty"
expect 1 "no readable result files" plot "$tmp/empty"
expect 1 "/proc/nope" plot "$tmp/clean" --out /proc/nope

# one setting for all models, from end-to-end results of two models (run --pipeline)
"$bin" dataset make --items 32 --items-per-shard 16 --out "$tmp/ds" >/dev/null 2>&1 && ok || fail "dataset make"
"$bin" run --pipeline --device cpu --models resnet18,mobilenet_v2 --batch-sizes 8,16 --workers 1,2 --reps 2 --warmup 1 \
    --data "$tmp/ds" --out "$tmp/pl" >/dev/null 2>"$tmp/pl.err"; rc=$?
[ $rc -eq 0 ] && ok || fail "run --pipeline for two models: exit $rc $(tail -3 "$tmp/pl.err")"
/usr/bin/python3 - "$tmp/pl" <<'PY' && ok || fail "one setting for all models: $(grep -A3 '^### cpu' "$tmp/pl/report.md")"
# The named setting is ok for both models, and is the one the rule picks when worked out here from the files.
import glob, json, re, sys
d = sys.argv[1]
md = open(d + "/report.md").read()
assert "## One setting for all models (end to end)" in md, "no one-setting section"
m = re.search(r"\*\*Use batch (\d+) with (\d+) workers? for both models\*\*", md)
assert m, "no setting named"
named = (int(m.group(1)), int(m.group(2)))
ips = {}
for f in glob.glob(d + "/pipeline-*.json"):
    j = json.load(open(f))
    if j["status"] == "ok":
        ips.setdefault(j["config"]["model"], {})[(j["config"]["batch_size"], j["pipeline"]["workers"])] = j["pipeline"]["items_per_s"]
assert sorted(ips) == ["mobilenet_v2", "resnet18"], ips.keys()
assert all(named in v for v in ips.values()), (named, ips)
common = sorted(set.intersection(*(set(v) for v in ips.values())))
def top3(v): return set(sorted(v, key=lambda s: (-v[s], s))[:3])
avg = {s: sum(max(v.values()) / v[s] - 1 for v in ips.values()) / len(ips) for s in common}
top = {s: sum(s in top3(v) for v in ips.values()) for s in common}
lo = min(avg.values())
want = min((s for s in common if avg[s] <= lo + 0.01), key=lambda s: (-top[s], s[0], s[1]))
assert named == want, (named, want, avg, top)
assert "| 1 | %d | %d | %.1f%% |" % (want[0], want[1], avg[want] * 100) in md, "table row 1"
PY

# real results of both engines side by side: tools/torch_bench.py writes
# PyTorch's in our schema, and plot draws the ratio chart from the two folders
if /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
    "$bin" run --models mobilenet_v2 --batch-sizes 1,2 --warmup 1 --reps 2 --threads 2 --out "$tmp/ours" --no-report \
        >/dev/null 2>&1 && ok || fail "run for the side-by-side"
    /usr/bin/python3 "$here/../../tools/torch_bench.py" --models mobilenet_v2 --batch-sizes 1,2 --warmup 1 --reps 2 \
        --threads 2 --out "$tmp/torch" --bin "$bin" >/dev/null 2>"$tmp/tb.err" && ok || fail "torch_bench: $(tail -2 "$tmp/tb.err")"
    schema_ok "$tmp/ours" "$tmp/torch" # batchbench's and tools/torch_bench.py's files, one schema
    "$bin" plot "$tmp/ours" "$tmp/torch" --out "$tmp/both" >/dev/null 2>"$tmp/both.err"; rc=$?
    [ $rc -eq 0 ] && is_png "$tmp/both/ratio.png" && ok || fail "ratio from batchbench + pytorch: exit $rc $(cat "$tmp/both.err")"
else
    fail "PyTorch missing: the side-by-side check cannot run (scripts/install-deps.sh installs python3-torch python3-torchvision)"
fi

echo "report: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# run_fuzz.sh — `make fuzz`'s runner: builds the seed corpus, then runs each
# libFuzzer target for a bounded time and says what it did.
#
# Why this file exists: the fuzzers run in CI (make check) for a fixed time,
# so a crash, leak or sanitizer report in a reader fails the build. Usage:
#   run_fuzz.sh FUZZ_DIR SECONDS TARGET...
# FUZZ_DIR holds fuzz_<TARGET> and make_seeds (built by the Makefile); the
# corpus each target grows is kept in FUZZ_DIR/corpus/<TARGET> between runs,
# the seeds are rewritten into FUZZ_DIR/seeds/<TARGET> every time, and an
# input that failed is saved as FUZZ_DIR/artifacts/<TARGET>-crash-<sha1>.
# tests/fuzz/regress/<TARGET>/ holds (minimised) inputs that once failed:
# they join the seeds, so each runs first, every time.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$1 secs=$2
shift 2
seeds=$dir/seeds corpus=$dir/corpus

rm -rf "$seeds"
mkdir -p "$dir/artifacts"
for t in onnx npy safetensors results dataset "$@"; do mkdir -p "$seeds/$t" "$corpus/$t"; done
"$dir/make_seeds" "$seeds"
# The importer's fuzzer starts from the reader's models, from the single
# ops tests/cli/test_onnx_files.sh runs (folds on constants, fusions), and
# from the files it once failed on (regress_*.onnx and some op_*.onnx, made
# by the same script: no .onnx file is committed).
mkdir -p "$seeds/onnx_import" "$seeds/op_files" && cp "$seeds"/onnx/* "$seeds/onnx_import/"
/usr/bin/python3 tests/onnx/make_bad_models.py "$seeds/op_files" >/dev/null
# ... and from ONNX's own per-op conformance cases that batchbench runs
# (node_*.onnx, from the sdist scripts/install-deps.sh unpacks; one of them,
# mutated, found a slice step whose product with a stride overflowed).
/usr/bin/python3 tests/onnx/run_node_tests.py --write "$seeds/op_files" >/dev/null
cp "$seeds"/op_files/op_*.onnx "$seeds"/op_files/regress_*.onnx "$seeds"/op_files/node_*.onnx "$seeds/onnx_import/"
cp "$seeds"/op_files/node_*.onnx "$seeds/onnx/"  # the reader's too: attributes of every kind
for t in "$@"; do
    if [ -d "tests/fuzz/regress/$t" ]; then cp tests/fuzz/regress/"$t"/* "$seeds/$t/"; fi
done
# Result files: the report fixtures, alone and as NUL-joined pairs (the
# results fuzzer writes the parts of its input as two files).
fixtures=(tests/data/report-fixture/inference_time-*.json)
cp "${fixtures[@]}" "$seeds/results/"
for ((i = 0; i + 1 < ${#fixtures[@]}; i += 2)); do
    { cat "${fixtures[i]}"; printf '\0'; cat "${fixtures[i + 1]}"; } >"$seeds/results/pair-$i.json"
done
# ... and with a sharded sweep's plan as the third part.
{ cat "${fixtures[0]}"; printf '\0'; cat "${fixtures[1]}"; printf '\0'
  printf '{"schema_version": 1, "kind": "batchbench-plan", "sweep": "s1", "shards": 2, "configurations": '
  printf '[{"model": "resnet18", "batch_size": 4, "shard": 1, "plan_key": "k"}]}'; } >"$seeds/results/plan.json"

# Scratch files of the targets that need paths (fuzz_results, fuzz_dataset), in memory
# when /dev/shm is there, removed at the end even after a crash.
scratch=$(mktemp -d /dev/shm/bb_fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

fail=0
for t in "$@"; do
    log=$dir/fuzz_$t.log
    start=$(date +%s)
    status=ok
    "$dir/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$t-" "$corpus/$t" "$seeds/$t" >"$log" 2>&1 || status=FAILED
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    printf 'fuzz %-12s %-6s %10s executions in %3d s (%s/s), corpus %d inputs\n' "$t" "$status" \
        "${runs:-?}" "$took" "$(( ${runs:-0} / (took > 0 ? took : 1) ))" "$(find "$corpus/$t" -type f | wc -l)"
    if [ "$status" != ok ]; then
        fail=1
        tail -n 60 "$log"
        echo "fuzz $t: the failing input is in $dir/artifacts/ (reproduce: $dir/fuzz_$t <file>)" >&2
    fi
done
exit $fail

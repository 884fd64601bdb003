#!/usr/bin/env bash
# test_schema.sh — the result schema (docs/result.schema.json) and its
# validator (tests/cli/validate_results.py) on their own: the fixture result
# files the report tests read are valid (all but the one that is corrupt on
# purpose, which is refused as not JSON); a complete file with every optional
# block (pipeline, measurement, noise, a GPU, config.identity and
# config.backend_options) is valid; deliberately broken copies are REJECTED,
# each naming the file and the JSON path; --current refuses an older file
# that lacks today's fields; no files to check is a failure (exit 1) and bad
# usage exit 2. The other CLI tests validate every result file they write.
# Usage: tests/cli/test_schema.sh [path/to/batchbench (unused)]
set -u
here=$(cd "$(dirname "$0")" && pwd)
schema="$here/../../docs/result.schema.json"
validate="$here/validate_results.py"
fx="$here/../data/report-fixture" fx2="$here/../data/report-fixture-pytorch"
corrupt="$fx/inference_time-fixture-cpu-model_name-resnet34-batch_size-1.json" # not JSON on purpose (test_report.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# the schema is a valid JSON Schema 2020-12 (jsonschema from Debian: python3-jsonschema)
/usr/bin/python3 -c '
import json, sys
from jsonschema import Draft202012Validator
Draft202012Validator.check_schema(json.load(open(sys.argv[1])))' "$schema" && ok || fail "$schema is not a valid JSON Schema"

# fixtures: every file but the corrupt one is valid; the corrupt one is refused
mapfile -t fixtures < <(ls "$fx"/*.json "$fx2"/*.json | grep -vF "$corrupt")
[ "${#fixtures[@]}" -ge 19 ] && ok || fail "only ${#fixtures[@]} fixture files"
out=$(/usr/bin/python3 "$validate" "$schema" "${fixtures[@]}" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"${#fixtures[@]} of ${#fixtures[@]} result files valid"* ]] && ok ||
    fail "fixtures: exit $rc: $out"
out=$(/usr/bin/python3 "$validate" "$schema" "$fx" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"$corrupt: not valid JSON"* && "$out" == *"15 of 16 result files valid"* ]] && ok ||
    fail "the corrupt fixture was not refused: exit $rc: $out"

# A complete file (every optional block) and broken copies of it. Each case
# is a folder with one file; bad.txt lists "case<TAB>what the output must name".
/usr/bin/python3 - "$fx/inference_time-fixture-cpu-model_name-resnet18-batch_size-1.json" "$tmp" <<'PY'
import copy, json, os, sys
src, d = sys.argv[1], sys.argv[2]
base = json.load(open(src))
r = copy.deepcopy(base)
t = r["times_s"]
r["config"].update({"math_mode": "fp32 (oneDNN)", "reps_mode": "auto", "min_reps": 3, "target_ci": 0.02,
                    "warmup_time_s": 0.5, "max_config_time_s": 0, "budget_s": 0, "order_seed": 18446744073709551615,
                    "identity": "resnet18/features/cpu/fp32/batchbench/b1/t2+cpu.algo=never", "preset": "paper",
                    "backend_options": {"cpu.algo": {"value": "never", "default": False, "source": "flag"},
                                        "cuda.layout": {"value": "auto", "default": True, "source": "default"},
                                        "cuda.cudnn_graph": {"value": "off", "default": False, "source": "env"}}})
r["environment"].update({"peak_gflops": None, "peak_source": "", "gpu": {
    "present": True, "device": 0, "name": "NVIDIA H200", "pci_bus_id": "0000:19:00.0", "compute_capability": "9.0",
    "sm_count": 132, "mem_total_bytes": 150110011392, "clock_sm_mhz": 345, "clock_sm_max_mhz": 1980,
    "clock_mem_mhz": 2619, "clock_mem_max_mhz": 2619, "driver": "580.65.06", "cuda_runtime": "13.0",
    "cudnn": "9.13.0", "cublas": "13.0.0", "precision": "fp32", "peak_flops": 6.690816e13,
    "peak_basis": "132 SMs x 256 FLOP/clk/SM x 1980 MHz SM clock"}})
r["memory"] = {"weight_bytes": 44744448, "arena_bytes": 1000000, "workspace_bytes": 0, "peak_bytes": 45744448}
r["input_copy_s"] = [0.001, 0.001, 0.001]
r["stats"].update({"p50_s": 0.04, "p90_s": 0.0408, "p99_s": 0.04098, "percentiles": [
    {"p": p, "batch_s": 0.04, "per_item_s": 0.04, "n": 3, "tail_samples": 0, "supported": False} for p in (50, 90, 95, 99)]})
r["measurement"] = {"warmup_passes": 2, "warmup_s": 0.6, "interleaved": True, "interleave_fallback": "", "rounds": 2,
                    "stop_reason": "target", "ci_half_width": 0.025, "measured_wall_s": 0.12,
                    "slice_batches": [len(t) - 1, 1], "round_group": "18a3f09c2b1e4d00-4d2"}
r["noise"] = {"available": True, "why_unavailable": "", "slices": 2, "cpu_slices": 2, "wall_s": 0.12, "steal_s": 0.0,
              "steal_frac": 0.0, "other_cpu_s": 0.001, "other_frac": 0.004, "cores": 2, "load1_min": 1.0,
              "load1_max": 1.2, "cpu_mhz_mean": None,
              "gpu": {"throttle_names": ["sw_power_cap"], "sm_mhz_min": 1755, "sm_mhz_max": 1980, "throttle_reasons": 4},
              "disturbed": True, "disturbed_why": "GPU throttled: sw_power_cap"}
p = copy.deepcopy(r)  # a run --pipeline result: no measurement settings, a pipeline block
for k in ("reps_mode", "min_reps", "target_ci", "warmup_time_s", "max_config_time_s", "budget_s", "order_seed"):
    del p["config"][k]
del p["measurement"], p["noise"]
p["config"]["input_source"], p["config"]["data_dir"] = "dataset", "/tmp/ds"
p["pipeline"] = {"workers": 2, "prefetch": 2, "mode": "batches", "first_result_s": 0.3, "measured_wall_s": 0.13,
                 "items_per_s": 23.1, "wait_fraction": 0.1, "skipped": 0, "waits_s": [0.2, 0.0, 0.01, 0.0]}
name = "inference_time-x-cpu-model_name-resnet18-batch_size-1.json"
pname = "pipeline-x-cpu-model_name-resnet18-batch_size-1-workers-2.json"

def write(case, doc, fname=name, text=None):
    os.makedirs(f"{d}/{case}", exist_ok=True)
    with open(f"{d}/{case}/{fname}", "w") as f:
        f.write(text if text is not None else json.dumps(doc, indent=1))

write("good", r)
write("good", p, pname)
oom = copy.deepcopy(r)  # oom: no times, no stats, no measurement
oom.update(status="oom", message="the memory plan needs 1.2 GiB, over --mem-limit 60M", times_s=[], input_copy_s=[])
for k in ("stats", "measurement"):
    del oom[k]
for k in ("reps_mode", "min_reps", "target_ci", "warmup_time_s", "max_config_time_s", "budget_s", "order_seed"):
    del oom["config"][k]
write("good-oom", oom)
old = copy.deepcopy(base)  # an older schema-1 file with the two new config fields, no environment
old["config"]["identity"] = "resnet18"
old["config"]["backend_options"] = {}
old["environment"] = None
write("good-old", old)

bad = []
def breaks(case, want, edit, doc=r, fname=name):
    x = copy.deepcopy(doc)
    edit(x)
    write(case, x, fname)
    bad.append(f"{case}\t{want}")

breaks("status", "$.status: 'weird' is not one of", lambda x: x.update(status="weird"))
breaks("times-string", "$.times_s[1]: '0.04' is not of type 'number'", lambda x: x["times_s"].__setitem__(1, "0.04"))
breaks("times-negative", "$.times_s[0]: -0.039 is less than the minimum of 0", lambda x: x["times_s"].__setitem__(0, -0.039))
breaks("version", "$.schema_version: 1 was expected", lambda x: x.update(schema_version=2))
breaks("no-batch-size", "$.config: 'batch_size' is a required property", lambda x: x["config"].pop("batch_size"))
breaks("batch-float", "$.config.batch_size: 1.5 is not of type 'integer'", lambda x: x["config"].update(batch_size=1.5))
breaks("no-times", "$: 'times_s' is a required property", lambda x: x.pop("times_s"))
breaks("stats-no-times", "$.stats: not allowed here (stats is present exactly when times_s is not empty)", lambda x: x.update(times_s=[]))
breaks("times-no-stats", "$: 'stats' is a required property", lambda x: x.pop("stats"))
breaks("extra-top", "$: Additional properties are not allowed ('colour' was unexpected)", lambda x: x.update(colour="red"))
breaks("env-extra", "$.environment: Additional properties are not allowed ('gpus' was unexpected)",
       lambda x: x["environment"].update(gpus=1))
breaks("gpu-absent", "$.environment.gpu.present: True was expected", lambda x: x["environment"]["gpu"].update(present=False))
breaks("gpu-string", "$.environment.gpu: 'H200' is not of type 'object', 'null'",
       lambda x: x["environment"].update(gpu="H200"))
breaks("identity", "$.config.identity: 5 is not of type 'string'", lambda x: x["config"].update(identity=5))
breaks("opt-key", "$.config.backend_options: 'gpu.algo' does not match any of the regexes",
       lambda x: x["config"]["backend_options"].update({"gpu.algo": {"value": "x", "default": True, "source": "flag"}}))
breaks("opt-source", "$.config.backend_options['cpu.algo'].source: 'cli' is not one of",
       lambda x: x["config"]["backend_options"]["cpu.algo"].update(source="cli"))
breaks("opt-missing", "$.config.backend_options['cpu.algo']: 'default' is a required property",
       lambda x: x["config"]["backend_options"]["cpu.algo"].pop("default"))
breaks("opt-extra", "$.config.backend_options['cpu.algo']: Additional properties are not allowed ('why' was unexpected)",
       lambda x: x["config"]["backend_options"]["cpu.algo"].update(why="asked"))
breaks("opt-value", "$.config.backend_options['cuda.layout'].value: 1 is not of type 'string'",
       lambda x: x["config"]["backend_options"]["cuda.layout"].update(value=1))
breaks("stop-reason", "$.measurement.stop_reason: 'tired' is not one of", lambda x: x["measurement"].update(stop_reason="tired"))
breaks("slices-sum", f"$.measurement.slice_batches: adds up to {len(t) + 1}, times_s holds {len(t)}",
       lambda x: x["measurement"].update(slice_batches=[len(t), 1]))
breaks("slices-negative", "$.measurement.slice_batches[0]: -1 is less than the minimum of 0",
       lambda x: x["measurement"].update(slice_batches=[-1, len(t) + 1]))
breaks("slices-rounds", "$.measurement.slice_batches: 1 slices, rounds says 2",
       lambda x: x["measurement"].update(slice_batches=[len(t)]))
breaks("measure-settings", "$.config: 'order_seed' is a required property", lambda x: x["config"].pop("order_seed"))
breaks("settings-alone", "$.config.reps_mode: not allowed here (measurement and the measurement settings in config",
       lambda x: x.pop("measurement"))
breaks("pipe-measured", "$.measurement: not allowed here (a pipeline result (run --pipeline) has no measurement block)",
       lambda x: x.update(measurement=r["measurement"]), doc=p, fname=pname)
breaks("noise-cores", "$.noise.cores: 'two' is not of type 'integer', 'null'", lambda x: x["noise"].update(cores="two"))
breaks("pipe-mode", "$.pipeline.mode: 'threads' is not one of", lambda x: x["pipeline"].update(mode="threads"),
       doc=p, fname=pname)
breaks("pipe-missing", "a pipeline-* file without a 'pipeline' block", lambda x: x.pop("pipeline"), doc=p, fname=pname)
breaks("created", "$.created_utc: 'yesterday' does not match", lambda x: x.update(created_utc="yesterday"))
write("nan", None, text=json.dumps(r).replace('"times_s": [0.039', '"times_s": [NaN'))
bad.append("nan\tnot valid JSON: NaN is not JSON")
with open(f"{d}/bad.txt", "w") as f:
    f.write("\n".join(bad) + "\n")
PY
[ $? -eq 0 ] && ok || fail "writing the test files"

out=$(/usr/bin/python3 "$validate" --current "$schema" "$tmp/good" "$tmp/good-oom" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"3 of 3 result files valid (--current)"* ]] && ok || fail "complete files: exit $rc: $out"
out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/good-old" 2>&1); rc=$?
[ $rc -eq 0 ] && ok || fail "an older file with config.identity and backend_options: exit $rc: $out"
# --current: the same older file lacks today's fields (memory, math_mode, ...)
out=$(/usr/bin/python3 "$validate" --current "$schema" "$tmp/good-old" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"$tmp/good-old/inference_time-"*": \$: 'memory' is a required property"* &&
    "$out" == *"\$.config: 'math_mode' is a required property"* ]] && ok || fail "--current on an older file: exit $rc: $out"

# every broken copy is REJECTED, naming the file and the JSON path
n_bad=0
while IFS=$'\t' read -r case want; do
    n_bad=$((n_bad + 1))
    out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/$case" 2>&1); rc=$?
    [ $rc -eq 1 ] && [[ "$out" == *"$tmp/$case/"*"json: "*"$want"* && "$out" == *"0 of 1 result files valid"* ]] && ok ||
        fail "broken file '$case' not rejected as '$want': exit $rc: $out"
done <"$tmp/bad.txt"
[ "$n_bad" -ge 20 ] && ok || fail "only $n_bad broken cases"
# one bad file among good ones fails the whole check
out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/good" "$tmp/status" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"2 of 3 result files valid"* ]] && ok || fail "one bad file among good ones: exit $rc: $out"

# nothing to check is a failure; bad usage exit 2
mkdir -p "$tmp/empty" && touch "$tmp/empty/summary.csv" "$tmp/empty/dataload-x.json"
out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/empty" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"nothing checked"* ]] && ok || fail "empty folder: exit $rc: $out"
expect2() {
    local want=$1; shift
    local o; o=$(/usr/bin/python3 "$validate" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "validate_results.py $*: exit $rc: $o"
}
expect2 "expected a schema and at least one file or folder"
expect2 "expected a schema and at least one file or folder" "$schema"
expect2 "'$tmp/nope': no such file or directory" "$schema" "$tmp/nope"
expect2 "unknown option '--strict'" --strict "$schema" "$tmp/good"
expect2 "schema '$tmp/nope.json'" "$tmp/nope.json" "$tmp/good"
echo '{"type": 5}' >"$tmp/bad-schema.json"
expect2 "is not a valid JSON Schema" "$tmp/bad-schema.json" "$tmp/good"

echo "schema: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

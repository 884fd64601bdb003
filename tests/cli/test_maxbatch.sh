#!/usr/bin/env bash
# test_maxbatch.sh — `batchbench maxbatch` as a user meets it: bad arguments
# (exit 2, the message naming the flag), runtime failures (exit 1), the
# search on resnet18 under a small --mem-limit (the answer A ran, A+1 was
# probed and failed, every probe in the JSON file), and the promise the
# command makes: `run` under the same limit records A ok and A+1 oom. Also
# --max reached, the first probe failing (answer 0), the limit from
# MemAvailable, and the file name's suffixes.
# cpu.algo=never pins the CPU backend's convolution algorithms: with the
# default (measured) the prepared model's size depends on per-layer timing,
# which can differ between the two processes near the limit.
# Usage: tests/cli/test_maxbatch.sh path/to/batchbench
set -euo pipefail
bin=${1:?usage: test_maxbatch.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
py() { /usr/bin/python3 "$@"; }
one() { ls "$@" 2>/dev/null | head -1 || true; } # the first file matching, or "" (set -e safe)
pin=(--device cpu --threads 2 --backend-opt cpu.algo=never)

# expect CODE PATTERN ARGS...: maxbatch ARGS exits CODE and its stderr matches PATTERN.
expect() {
    local code=$1 pat=$2 rc=0
    shift 2
    "$bin" maxbatch "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$tmp/err"; then ok; else
        fail "maxbatch $*: exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"; fi
}

# 1. help, bad arguments (exit 2, naming the flag), runtime failures (exit 1)
rc=0; "$bin" maxbatch --help >"$tmp/help" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && grep -q "usage: batchbench maxbatch --model M" "$tmp/help" && grep -q "exit codes" "$tmp/help" &&
    ok || fail "--help: exit $rc"
rc=0; "$bin" --help >"$tmp/top" 2>&1 || rc=$?
grep -q "maxbatch" "$tmp/top" && ok || fail "maxbatch missing from batchbench --help"
expect 2 "--model is required"
expect 2 "--model: unknown model 'resnet9'" --model resnet9
expect 2 "--device: 'tpu'" --model resnet18 --device tpu
expect 2 "--precision: 'fp64'" --model resnet18 --precision fp64
expect 2 "--head: 'logits'" --model resnet18 --head logits
expect 2 "--threads: 0 is out of range" --model resnet18 --threads 0
expect 2 "--threads: 'x' is not an integer" --model resnet18 --threads x
expect 2 "--mem-limit: 'lots'" --model resnet18 --mem-limit lots
expect 2 "--mem-limit: '0'" --model resnet18 --mem-limit 0
expect 2 "--mem-limit: '2X'" --model resnet18 --mem-limit 2X
expect 2 "--start: 0 is out of range" --model resnet18 --start 0
expect 2 "--max: 2000000 is out of range" --model resnet18 --max 2000000
expect 2 "--max: '8.5' is not an integer" --model resnet18 --max 8.5
expect 2 "--start 64 is above --max 32" --model resnet18 --start 64 --max 32
expect 2 "cpu.algo" --model resnet18 --device cpu --backend-opt cpu.algo=sometimes
expect 2 "unexpected argument 'extra'" --model resnet18 extra
expect 2 "unrecognized option|usage" --model resnet18 --batch 4
expect 1 "--precision fp16" --model resnet18 --device cpu --precision fp16
touch "$tmp/file"
expect 1 "--out $tmp/file/sub" --model resnet18 --device cpu --out "$tmp/file/sub" --max 1

# 2. the search under a small limit: A ran, A+1 was probed and failed
rc=0
"$bin" maxbatch --model resnet18 "${pin[@]}" --mem-limit 100M --out "$tmp/mb" >"$tmp/mb.out" 2>"$tmp/mb.err" || rc=$?
[ "$rc" -eq 0 ] && ok || fail "maxbatch resnet18 --mem-limit 100M: exit $rc: $(tail -3 "$tmp/mb.err")"
json=$(one "$tmp"/mb/maxbatch-resnet18-cpu-*.json)
[ -n "$json" ] && ok || fail "no maxbatch-resnet18-cpu-<host>.json in $tmp/mb"
a=$(py - "$json" <<'PY' || echo ERR
import json, sys
d = json.load(open(sys.argv[1]))
c, probes, a = d["config"], d["probes"], d["max_batch_size"]
assert d["kind"] == "maxbatch" and d["status"] == "ok" and d["schema_version"] == 1, d["status"]
assert d["tool"]["name"] == "batchbench" and d["tool"]["version"] and d["tool"]["git_commit"], d["tool"]
assert d["created_utc"].endswith("Z") and d["environment"]["host"], "created_utc / environment"
assert c["model"] == "resnet18" and c["device"] == "cpu" and c["precision"] == "fp32" and c["head"] == "features"
assert c["threads"] == 2 and c["mem_limit_bytes"] == 100 * 1024 * 1024 and c["mem_limit_source"] == "flag", c
assert c["start"] == 1 and c["max"] == 65536 and c["backend_options"] == "cpu.algo=never", c
by = {p["batch_size"]: p for p in probes}
assert len(by) == len(probes), "a batch size probed twice"
assert a >= 1 and by[a]["status"] == "ok" and by[a]["forward_s"] > 0, ("answer's probe", a, by.get(a))
assert by[a + 1]["status"] == "oom" and "--mem-limit" in by[a + 1]["message"], ("A+1", by.get(a + 1))
assert d["first_failed_batch_size"] == a + 1 and d["limited_by"] == "oom" and d["note"] == "", d
for p in probes:
    assert set(p) >= {"batch_size", "phase", "status", "message", "activation_bytes", "weight_bytes",
                      "total_bytes", "seconds"}, p
    assert p["total_bytes"] == p["activation_bytes"] + p["weight_bytes"] > 0 and p["seconds"] >= 0, p
    assert (p["status"] == "ok") == (p["batch_size"] <= a), ("monotonic", p["batch_size"], p["status"])
phases = [p["phase"] for p in probes]
assert phases[0] == "doubling" and phases == sorted(phases, key=lambda x: x != "doubling"), phases
print(a)
PY
)
[[ "$a" =~ ^[0-9]+$ ]] && ok || fail "maxbatch JSON check: $a"
grep -q "max batch size: $a " "$tmp/mb.out" && grep -q "probe 1 .*batch 1 .*ok" "$tmp/mb.out" && ok ||
    fail "terminal output: $(cat "$tmp/mb.out")"

# 3. run under the same limit: A ok, A+1 oom (exit 1: a configuration not ok)
if [[ "$a" =~ ^[0-9]+$ ]]; then
    rc=0
    "$bin" run --models resnet18 --batch-sizes "$a,$((a + 1))" "${pin[@]}" --mem-limit 100M --reps 2 --warmup 1 \
        --out "$tmp/run" --no-report >/dev/null 2>"$tmp/run.err" || rc=$?
    [ "$rc" -eq 1 ] && ok || fail "run at $a,$((a + 1)): exit $rc (want 1: one oom): $(tail -3 "$tmp/run.err")"
    st=$(py - "$tmp/run" "$a" <<'PY' || echo ERR
import glob, json, sys
a = int(sys.argv[2])
st = {}
for f in glob.glob(sys.argv[1] + "/inference_time-*-cpu-model_name-resnet18-batch_size-*.json"):
    r = json.load(open(f))
    st[r["config"]["batch_size"]] = r["status"]
print(st.get(a), st.get(a + 1))
PY
)
    [ "$st" = "ok oom" ] && ok || fail "run --batch-sizes $a,$((a + 1)) --mem-limit 100M: statuses '$st', want 'ok oom'"
fi

# 4. --max reached: the answer is --max, nothing failed
rc=0
"$bin" maxbatch --model resnet18 "${pin[@]}" --mem-limit 300M --start 2 --max 3 --head classifier --out "$tmp/mx" \
    >"$tmp/mx.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && ok || fail "--max 3: exit $rc: $(tail -3 "$tmp/mx.out")"
f=$(one "$tmp"/mx/maxbatch-resnet18-cpu-classifier-*.json)
[ -n "$f" ] && py -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['max_batch_size'] == 3 and d['first_failed_batch_size'] is None and d['limited_by'] == '--max', d
assert [p['batch_size'] for p in d['probes']] == [2, 3] and d['config']['head'] == 'classifier', d['probes']
" "$f" && ok || fail "--max reached: $f"
grep -q "every probe up to --max 3 ran" "$tmp/mx.out" && ok || fail "--max reached message: $(cat "$tmp/mx.out")"

# 5. even --start does not run: exit 1, answer 0, status failure, a message saying so
expect 1 "even batch size 4 \(--start\) does not run: oom: .*try a smaller --start" \
    --model resnet18 "${pin[@]}" --mem-limit 20M --start 4 --out "$tmp/fail"
f=$(one "$tmp"/fail/maxbatch-resnet18-cpu-*.json)
[ -n "$f" ] && py -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['status'] == 'failure' and d['max_batch_size'] == 0 and d['first_failed_batch_size'] == 4, d
assert len(d['probes']) == 1 and d['probes'][0]['status'] == 'oom' and d['probes'][0]['forward_s'] is None, d
" "$f" && ok || fail "first probe failing: $f"

# 6. no --mem-limit on the CPU: the limit is MemAvailable
rc=0
"$bin" maxbatch --model resnet18 "${pin[@]}" --max 1 --out "$tmp/avail" >"$tmp/avail.out" 2>&1 || rc=$?
f=$(one "$tmp"/avail/maxbatch-resnet18-cpu-*.json)
[ "$rc" -eq 0 ] && [ -n "$f" ] && py -c "
import json, sys
c = json.load(open(sys.argv[1]))['config']
assert c['mem_limit_source'] == 'MemAvailable' and c['mem_limit_bytes'] > 0, c
" "$f" && grep -q "(MemAvailable)" "$tmp/avail.out" && ok || fail "MemAvailable limit: exit $rc $(cat "$tmp/avail.out")"

echo "test_maxbatch: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_serve.sh — `batchbench serve` as a user meets it: --help, bad
# arguments (exit 2, the message naming the flag), runtime failures (exit 1,
# a batch size that cannot be prepared named), then short real runs of
# mobilenet_v2 on one CPU thread, each file read back and checked:
#  - a light Poisson load: counts add up, the histogram sums to the served
#    requests, every latency covers its batch's service, every batch is the
#    one the rule (src/serve/batcher.h, re-implemented here) gives from the
#    schedule and the previous batch's measured end;
#  - uniform arrivals far apart with B=4, T=5 ms: the rule implies every
#    batch is one request, started 5 ms after its arrival;
#  - B=20 (> 16): prepared sizes 1,2,4,8,16,20, batches padded to them;
#  - an overload with a short drain: requests dropped, still exit 0;
#  - SIGINT: exit 130 and no file.
# cpu.algo=never keeps preparing fast. About 15 s on 2 cores.
# Usage: tests/cli/test_serve.sh path/to/batchbench
set -euo pipefail
bin=${1:?usage: test_serve.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
one() { ls "$@" 2>/dev/null | head -1 || true; } # the first file matching, or "" (set -e safe)
base=(--model mobilenet_v2 --device cpu --threads 1 --backend-opt cpu.algo=never)
need=(--rate 10 --max-batch 4 --timeout-ms 5 --duration 1)

# expect CODE PATTERN ARGS...: serve ARGS exits CODE and its stderr matches PATTERN.
expect() {
    local code=$1 pat=$2 rc=0
    shift 2
    "$bin" serve "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" -eq "$code" ] && grep -qE -- "$pat" "$tmp/err"; then ok; else
        fail "serve $*: exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"; fi
}

# 1. help, bad arguments, runtime failures
rc=0; "$bin" serve --help >"$tmp/help" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && grep -q "usage: batchbench serve --model M" "$tmp/help" && grep -q "exit codes" "$tmp/help" &&
    grep -q -- "--arrivals poisson|uniform" "$tmp/help" && ok || fail "serve --help: exit $rc"
rc=0; "$bin" --help >"$tmp/top" 2>&1 || rc=$?
grep -qE "^  serve " "$tmp/top" && ok || fail "serve missing from batchbench --help"
expect 2 "--model is required" "${need[@]}"
expect 2 "--rate is required" --model mobilenet_v2 --max-batch 4 --timeout-ms 5 --duration 1
expect 2 "--max-batch is required" --model mobilenet_v2 --rate 10 --timeout-ms 5 --duration 1
expect 2 "--timeout-ms is required" --model mobilenet_v2 --rate 10 --max-batch 4 --duration 1
expect 2 "--duration is required" --model mobilenet_v2 --rate 10 --max-batch 4 --timeout-ms 5
expect 2 "--model: unknown model 'resnet9'" --model resnet9 "${need[@]}"
expect 2 "--rate: '0' is not a number > 0" --model mobilenet_v2 "${need[@]}" --rate 0
expect 2 "--rate: 'fast'" --model mobilenet_v2 "${need[@]}" --rate fast
expect 2 "--rate: 'nan'" --model mobilenet_v2 "${need[@]}" --rate nan
expect 2 "--max-batch: 0 is out of range" --model mobilenet_v2 "${need[@]}" --max-batch 0
expect 2 "--max-batch: 4097 is out of range" --model mobilenet_v2 "${need[@]}" --max-batch 4097
expect 2 "--max-batch: '2.5' is not an integer" --model mobilenet_v2 "${need[@]}" --max-batch 2.5
expect 2 "--timeout-ms: '-1' is not a number >= 0" --model mobilenet_v2 "${need[@]}" --timeout-ms -1
expect 2 "--duration: '0' is not a number > 0" --model mobilenet_v2 "${need[@]}" --duration 0
expect 2 "--arrivals: 'bursty' is not one of poisson, uniform" --model mobilenet_v2 "${need[@]}" --arrivals bursty
expect 2 "--slo-ms: '0'" --model mobilenet_v2 "${need[@]}" --slo-ms 0
expect 2 "--drain: '-2'" --model mobilenet_v2 "${need[@]}" --drain -2
expect 2 "--warmup: -1 is out of range" --model mobilenet_v2 "${need[@]}" --warmup -1
expect 2 "--seed: '-3' must not be negative" --model mobilenet_v2 "${need[@]}" --seed -3
expect 2 "--threads: 0 is out of range" --model mobilenet_v2 "${need[@]}" --threads 0
expect 2 "--device: 'tpu'" --model mobilenet_v2 "${need[@]}" --device tpu
expect 2 "--precision: 'fp64'" --model mobilenet_v2 "${need[@]}" --precision fp64
expect 2 "cpu.algo" --model mobilenet_v2 "${need[@]}" --device cpu --backend-opt cpu.algo=sometimes
expect 2 "--rate 1e\+06 x --duration 1000 schedules" --model mobilenet_v2 "${need[@]}" --rate 1e6 --duration 1000
expect 2 "unexpected argument 'extra'" --model mobilenet_v2 "${need[@]}" extra
expect 2 "unrecognized option|usage" --model mobilenet_v2 "${need[@]}" --batch 4
expect 1 "--precision fp16" --model mobilenet_v2 "${need[@]}" --device cpu --precision fp16
touch "$tmp/file"
expect 1 "--out $tmp/file/sub" "${base[@]}" "${need[@]}" --out "$tmp/file/sub"
# a batch size that cannot be prepared is named (not under ASan: it needs its address space)
if ldd "$bin" 2>/dev/null | grep -q libasan; then ok; else
    rc=0; (ulimit -v 3000000; "$bin" serve "${base[@]}" --rate 10 --max-batch 512 --timeout-ms 5 --duration 1 \
        --warmup 0 --out "$tmp/oom" >"$tmp/out" 2>"$tmp/err") || rc=$?
    [ "$rc" -eq 1 ] && grep -qE "preparing batch size [0-9]+: out of memory" "$tmp/err" &&
        [ -z "$(one "$tmp"/oom/*.json)" ] && ok || fail "oom: exit $rc: $(head -c 300 "$tmp/err")"
fi

# check FILE ARGS...: the file's invariants (see check.py below) hold.
cat >"$tmp/check.py" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
want = dict(a.split("=", 1) for a in sys.argv[2:])
c, st, b, th = d["config"], d["stats"], d["batches"], d["throughput"]
arr, lat = d["arrivals_s"], d["latencies_s"]
assert d["schema_version"] == 1 and d["kind"] == "batchbench-serve" and d["status"] == "ok", d["kind"]
assert d["tool"]["name"] == "batchbench" and d["created_utc"].endswith("Z") and d["environment"]["host"]
assert c["model"] == "mobilenet_v2" and c["device"] == "cpu" and c["threads"] == 1 and c["precision"] == "fp32", c
B, T, R, S = c["max_batch"], c["timeout_ms"] / 1e3, c["rate"], c["duration_s"]
n = st["n_scheduled"]
assert n == math.ceil(R * S) == len(arr), (n, R, S, len(arr))
assert st["n_served"] + st["n_dropped"] == n and len(lat) == st["n_served"], st
assert sum(b["histogram"].values()) == b["n_batches"] == len(b["n"]), b["histogram"]
assert sum(int(k) * v for k, v in b["histogram"].items()) == st["n_served"] == sum(b["n"]), "histogram"
sizes = c["prepared_sizes"]
assert [p["batch_size"] for p in d["prepared"]] == sizes and all(p["total_bytes"] > 0 for p in d["prepared"])
assert c["padding"] == (B > 16) and c["warmup"] >= 0 and c["drain_s"] >= 0
# every batch as the rule gives it, from the schedule and the previous batch's measured end
def rule(first, free_at):
    oldest = arr[first]
    start = max(free_at, oldest)
    deadline = max(oldest + T, start)
    full = first + B - 1
    if full < n and arr[full] <= deadline:
        return max(arr[full], start), B
    k = 0
    while first + k < n and k < B and arr[first + k] <= deadline:
        k += 1
    return deadline, k
first, free_at, padded = 0, 0.0, 0
for i in range(b["n_batches"]):
    at, k = rule(first, free_at)
    pl, s0, e0, nb, rs = (b[f][i] for f in ("planned_start_s", "start_s", "end_s", "n", "run_size"))
    assert abs(at - pl) < 1e-9 and k == nb, ("batch", i, at, pl, k, nb)
    assert pl <= S + c["drain_s"] and s0 >= pl - 1e-9 and e0 > s0, ("times", i, pl, s0, e0)
    assert rs == min(x for x in sizes if x >= nb), ("run size", i, nb, rs)
    q = d["queue"][i]
    assert q[0] == s0 and q[1] >= nb, ("queue", i, q)
    for j in range(first, first + nb):
        assert abs(lat[j] - (e0 - arr[j])) < 1e-9 and lat[j] >= e0 - s0 - 1e-9, ("latency", j)
    padded += rs - nb
    first, free_at = first + nb, e0
assert first == st["n_served"] and b["padded_items"] == padded
if st["n_dropped"]:
    assert rule(first, free_at)[0] > S + c["drain_s"], "dropped although the next batch was due"
if st["n_served"]:
    assert st["p50_s"] <= st["p90_s"] <= st["p95_s"] <= st["p99_s"] <= st["max_s"] == max(lat), st
    assert abs(st["mean_s"] - sum(lat) / len(lat)) < 1e-9
    span = b["end_s"][-1] - arr[0]
    assert abs(th["achieved_per_s"] - st["n_served"] / span) < 1e-6 * th["achieved_per_s"], th
assert th["offered_per_s"] == R
slo = c["slo_ms"]
assert (st["n_late"] is None) if slo is None else st["n_late"] == sum(x > slo / 1e3 for x in lat), st["n_late"]
ls = d["late_start_s"]
assert ls["n"] == b["n_batches"] and (b["n_batches"] == 0 or ls["max_s"] >= 0), ls
for k, v in want.items():
    got = {"dropped": st["n_dropped"] > 0, "served": st["n_served"], "singles": b["histogram"] == {"1": st["n_served"]},
           "arrivals": c["arrivals"], "late": st["n_late"]}[k]
    assert str(got) == v, (k, got, v)
PY
check() {
    local f=$1 what=$2 err
    shift 2
    if [ -z "$f" ]; then fail "$what: no result file"; return; fi
    if err=$(/usr/bin/python3 "$tmp/check.py" "$f" "$@" 2>&1); then ok; else fail "$what: $(echo "$err" | tail -2)"; fi
}

# run ARGS...: serve exits 0 (its output in $tmp/run.out)
run() {
    local rc=0
    "$bin" serve "${base[@]}" "$@" >"$tmp/run.out" 2>"$tmp/run.err" || rc=$?
    [ "$rc" -eq 0 ] && ok || fail "serve $*: exit $rc: $(tail -3 "$tmp/run.err")"
}

# 2. a light Poisson load with an SLO
run --rate 40 --max-batch 4 --timeout-ms 5 --duration 2 --slo-ms 25 --seed 3 --out "$tmp/a"
f=$(one "$tmp"/a/serve-*-cpu-model_name-mobilenet_v2-rate-40-max_batch-4-timeout_ms-5-*.json)
check "$f" "light load" dropped=False served=80 arrivals=poisson
grep -qE "^served 80 of 80, dropped 0, late [0-9]+ \(> 25 ms\)" "$tmp/run.out" && grep -q "^latency ms: p50" "$tmp/run.out" &&
    grep -q "^throughput: .* of 40/s offered" "$tmp/run.out" && grep -q "^result: $f" "$tmp/run.out" &&
    grep -q "prepared batch size 4 " "$tmp/run.out" && ok || fail "light load summary: $(cat "$tmp/run.out")"

# 3. uniform, far apart: B=4, T=5 ms -> one request per batch, 5 ms after its arrival
run --rate 10 --max-batch 4 --timeout-ms 5 --duration 1.5 --arrivals uniform --out "$tmp/u"
f=$(one "$tmp"/u/serve-*-model_name-mobilenet_v2-rate-10-max_batch-4-timeout_ms-5-uniform-*.json)
check "$f" "uniform" served=15 singles=True arrivals=uniform late=None
[ -n "$f" ] && /usr/bin/python3 - "$f" <<'PY' && ok || fail "uniform: planned start != arrival + 5 ms"
import json, sys
d = json.load(open(sys.argv[1]))
arr, b = d["arrivals_s"], d["batches"]
assert all(abs(a - (i + 1) * 0.1) < 1e-9 for i, a in enumerate(arr))
assert all(abs(p - (a + 0.005)) < 1e-9 for p, a in zip(b["planned_start_s"], arr))
assert min(d["latencies_s"]) >= 0.005
PY

# 4. B=20: sizes 1,2,4,8,16,20, batches padded
run --rate 400 --max-batch 20 --timeout-ms 10 --duration 0.5 --drain 1 --warmup 1 --out "$tmp/p"
f=$(one "$tmp"/p/serve-*-max_batch-20-*.json)
check "$f" "padding"
[ -n "$f" ] && /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
assert d['config']['prepared_sizes']==[1,2,4,8,16,20] and d['config']['padding'] is True" "$f" && ok ||
    fail "padding: prepared sizes"

# 5. overload, short drain: dropped, exit 0
run --rate 2000 --max-batch 2 --timeout-ms 1 --duration 0.5 --drain 0.2 --warmup 1 --out "$tmp/o"
f=$(one "$tmp"/o/serve-*-rate-2000-max_batch-2-timeout_ms-1-*.json)
check "$f" "overload" dropped=True
grep -qE "^served [0-9]+ of 1000, dropped [1-9][0-9]*" "$tmp/run.out" && ok || fail "overload summary: $(head -3 "$tmp/run.out")"

# 6. SIGINT: 130, nothing written
"$bin" serve "${base[@]}" --rate 20 --max-batch 2 --timeout-ms 5 --duration 30 --out "$tmp/i" >"$tmp/i.out" 2>"$tmp/i.err" &
pid=$!
sleep 1.5
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] && grep -q "interrupted; no result written" "$tmp/i.err" && [ -z "$(one "$tmp"/i/*.json)" ] && ok ||
    fail "SIGINT: exit $rc, $(cat "$tmp/i.err")"

echo "test_serve.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

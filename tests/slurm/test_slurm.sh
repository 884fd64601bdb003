#!/usr/bin/env bash
# test_slurm.sh — a sweep split into shards across a real (throwaway) Slurm
# cluster, as issue 19 asks: scripts/slurm/submit.sh against slurmctld and
# two slurmd nodes started by tests/slurm/cluster.sh, and
# scripts/multi-gpu.sh on the CPU (it only sets CUDA_VISIBLE_DEVICES).
#  1. argument handling of submit.sh and multi-gpu.sh (--dry-run, exit 2)
#  2. submit.sh --shards 3 --wait: every configuration done exactly once,
#     status ok, from both nodes, report.md names every model, rc and log
#     files per shard
#  3. a shard cancelled mid-run (scancel ARRAY_TASK): the report job still
#     runs and names what is missing, --status names the failed shard; then
#     the same submission plus --resume: exit 0, every configuration exactly
#     once, no finished file rewritten (inode, mtime, sha256), nothing missing
#  4. multi-gpu.sh on the CPU: two shards, a report; a failing shard named
# Needs root (network namespaces for the nodes) and Debian's munge,
# slurmctld, slurmd, slurm-client (scripts/install-deps.sh). At most 3
# minutes on 2 cores. The cluster is always stopped (trap).
# Usage: tests/slurm/test_slurm.sh path/to/batchbench
# shellcheck disable=SC2015 # "check && ok || fail": ok never fails
set -euo pipefail

case ${1:-} in -h|--help) sed -n '2,/^# shellcheck/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -eq 1 ] || { echo "usage: test_slurm.sh path/to/batchbench (--help)" >&2; exit 2; }
[ -x "$1" ] || { echo "test_slurm.sh: '$1' is not an executable batchbench" >&2; exit 2; }
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
submit=$repo/scripts/slurm/submit.sh
mgpu=$repo/scripts/multi-gpu.sh
cluster=$here/cluster.sh
py=/usr/bin/python3
t_start=$SECONDS

tmp=$(mktemp -d)
cleanup() {
    "$cluster" stop "$tmp/cluster" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
indent() { sed 's/^/    /'; }
export BB_SLURM_POLL_S=1

models=mobilenet_v2,resnet18 sizes=1,2,4
sweep=(--models "$models" --batch-sizes "$sizes" --warmup 1 --warmup-time 0 --reps 3 --interleave off)

# exactly_once DIR [HOSTS]: one result per (model, batch size) of the sweep, status
# ok, nothing else; with HOSTS (comma-separated) the results came from exactly those
exactly_once() {
    "$py" - "$1" "$models" "$sizes" "${2:-}" <<'PY'
import collections, glob, json, os, sys
d, models, sizes, hosts = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), sys.argv[4]
want = {(m, int(b)) for m in models for b in sizes}
seen = collections.Counter()
by_host = collections.defaultdict(list)
bad = []
for f in sorted(glob.glob(os.path.join(d, "inference_time-*.json"))):
    r = json.load(open(f))
    key = (r["config"]["model"], r["config"]["batch_size"])
    seen[key] += 1
    host = r["environment"]["host"]
    by_host[host].append("%s/%d" % key)
    if r["status"] != "ok":
        bad.append("%s: status %s" % (os.path.basename(f), r["status"]))
    if host not in os.path.basename(f):
        bad.append("%s: host %s not in the name" % (os.path.basename(f), host))
for h in sorted(by_host):
    print("    %s ran %s" % (h, ", ".join(by_host[h])))
missing = sorted(want - set(seen))
twice = sorted(k for k, n in seen.items() if n > 1)
extra = sorted(set(seen) - want)
if missing: bad.append("missing %s" % missing)
if twice: bad.append("more than once %s" % twice)
if extra: bad.append("not in the sweep %s" % extra)
if hosts and sorted(by_host) != sorted(hosts.split(",")):
    bad.append("hosts %s, want %s" % (sorted(by_host), sorted(hosts.split(","))))
if bad:
    sys.exit("; ".join(bad))
PY
}
# fingerprint DIR: "file inode mtime_ns sha256" per result file, sorted
fingerprint() {
    "$py" - "$1" <<'PY'
import glob, hashlib, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "inference_time-*.json"))):
    st = os.stat(f)
    print(os.path.basename(f), st.st_ino, st.st_mtime_ns, hashlib.sha256(open(f, "rb").read()).hexdigest())
PY
}

# ---- 1. argument handling, no cluster needed --------------------------------------
echo "== 1. argument handling"
out=$("$submit" --shards 3 --out "$tmp/dry" --cpus-per-task 2 --gpus-per-task 1 --partition gpu --time 30 \
    --account proj --bin "$bin" --dry-run -- "${sweep[@]}" --resume 2>&1) && rc=0 || rc=$?
echo "$out" | indent
if [ "$rc" -eq 0 ] && [[ $out == *"sbatch --parsable --array=1-3 "*"--partition=gpu --account=proj --time=30 --cpus-per-task=2 --gres=gpu:1 "* ]] &&
    [[ $out == *"--output=$tmp/dry/.slurm/shard-%a.log $repo/scripts/slurm/shard-job.sh $bin $tmp/dry 3 1 2 -- "*" --resume --threads 2"* ]] &&
    [[ $out == *"--dependency=afterany:"*"report-job.sh $bin $tmp/dry"* ]] && [ ! -e "$tmp/dry" ]; then
    ok "submit.sh --dry-run: the array (3 tasks, CPUs, GPU, --threads = CPUs, --resume passed on) and the report job, nothing written"
else
    fail "submit.sh --dry-run (exit $rc)"
fi
bad_args() { # expected flag in the message, then the command
    local want=$1 msg rc
    shift
    msg=$("$@" 2>&1) && rc=0 || rc=$?
    if [ "$rc" -eq 2 ] && [[ $msg == *"$want"* ]]; then ok "exit 2 naming $want: $(head -n 1 <<<"$msg")"; else fail "$* -> exit $rc: $msg"; fi
}
bad_args --shards "$submit" --shards 0 --out "$tmp/x" --bin "$bin" --dry-run
bad_args --out "$submit" --shards 2 --bin "$bin" --dry-run
bad_args --bogus "$submit" --shards 2 --out "$tmp/x" --bin "$bin" --bogus
bad_args --bin "$submit" --shards 2 --out "$tmp/x" --bin "$tmp/none"
bad_args --time "$submit" --shards 2 --out "$tmp/x" --bin "$bin" --time 1h --dry-run
bad_args --threads "$submit" --shards 2 --out "$tmp/x" --bin "$bin" --cpus-per-task 2 --dry-run -- --threads 1
bad_args --shard "$submit" --shards 2 --out "$tmp/x" --bin "$bin" --dry-run -- --shard 1/2
bad_args nosuchmodel "$submit" --shards 2 --out "$tmp/x" --bin "$bin" -- --models nosuchmodel
bad_args --gpus "$mgpu" --gpus 0,0 --out "$tmp/x" --bin "$bin"
bad_args --gpus "$mgpu" --out "$tmp/x" --bin "$bin"
out=$("$mgpu" --gpus 0,1 --out "$tmp/mgdry" --bin "$bin" --dry-run -- --models resnet18 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && [[ $out == *"CUDA_VISIBLE_DEVICES=0 $bin run --models resnet18 --out $tmp/mgdry --shard 1/2 --no-report"* ]] &&
    [[ $out == *"CUDA_VISIBLE_DEVICES=1 $bin run --models resnet18 --out $tmp/mgdry --shard 2/2 --no-report"* ]] &&
    [[ $out == *"$bin report $tmp/mgdry"* ]] && [ ! -e "$tmp/mgdry" ]; then
    ok "multi-gpu.sh --dry-run: one shard per GPU, then the report"
else
    fail "multi-gpu.sh --dry-run (exit $rc): $out"
fi

# ---- the cluster ----------------------------------------------------------------
echo "== cluster"
if ! "$cluster" start "$tmp/cluster" 2>&1 | indent; then
    fail "cluster did not start"
    echo "slurm: $passed passed, $failed failed"
    exit 1
fi
# shellcheck disable=SC1091
. "$tmp/cluster/env"
nodes=$(sinfo -h -N -o '%N %t' | awk '$2 == "idle" {print $1}' | sort | paste -sd, -)
mode=$(cat "$tmp/cluster/mode")
echo "    nodes: $nodes (mode $mode)"
hosts=""
# two nodes with their own host names (netns or uts): results must come from both, named so
if [ "$nodes" = node1,node2 ] && [ "$mode" != plain ]; then
    hosts=node1,node2
else # the checks across nodes would be skipped: a weaker test must not pass as this one
    fail "two idle nodes with their own host names needed (root: netns or unshare --uts); got '$nodes', mode $mode"
fi

# ---- 2. a sweep in 3 shards, --wait ------------------------------------------------
echo "== 2. submit.sh --shards 3 --wait: 2 models x 3 batch sizes"
s1=$tmp/s1
t0=$SECONDS
"$submit" --shards 3 --out "$s1" --bin "$bin" --cpus-per-task 1 --wait -- "${sweep[@]}" >"$tmp/s1.out" 2>&1 && rc=0 || rc=$?
indent <"$tmp/s1.out"
echo "    ($((SECONDS - t0)) s)"
[ "$rc" -eq 0 ] && ok "submit --wait exit 0" || fail "submit --wait exit $rc"
grep -Eq '^array job [0-9]+ \(3 shards\), report job [0-9]+$' "$tmp/s1.out" && ok "job ids printed" || fail "no job id line"
if msg=$(exactly_once "$s1" "$hosts"); then
    echo "$msg"
    ok "every configuration exactly once, status ok${hosts:+, from $hosts (host = node name)}"
else
    fail "results: $msg"
fi
shard_configs() { # DIR N: per shard, the node and the configurations it finished (its progress lines)
    local i node ran
    for ((i = 1; i <= $2; i++)); do
        node=$(sed -n "1s/^shard $i\/[0-9]* on \([^:]*\):.*/\1/p" "$1/.slurm/shard-$i.log" 2>/dev/null)
        ran=$(sed -n 's/^\[[0-9]*\/[0-9]*\] *\([a-z0-9_]*\) *batch \([0-9]*\).*/\1\/\2/p' "$1/.slurm/shard-$i.log" 2>/dev/null |
            paste -sd' ' -)
        echo "    shard $i/$2 on ${node:-?} finished: ${ran:-nothing}"
    done
}
shard_configs "$s1" 3
n_ok=0
for i in 1 2 3; do
    [ -f "$s1/.slurm/shard-$i.log" ] && [ "$(cat "$s1/.slurm/shard-$i.rc" 2>/dev/null)" = 0 ] && n_ok=$((n_ok + 1))
    grep -q "^shard $i/3: ok on node" "$tmp/s1.out" || n_ok=-9
done
[ "$n_ok" -eq 3 ] && ok "shard-I.log and shard-I.rc (0) for each shard, one summary line each" || fail "shard logs/rc files or summary lines"
if [ -f "$s1/report.md" ] && grep -q mobilenet_v2 "$s1/report.md" && grep -q resnet18 "$s1/report.md" &&
    ! grep -qi 'missing configurations' "$s1/report.md" && [ "$(cat "$s1/.slurm/report.rc" 2>/dev/null)" = 0 ]; then
    ok "report.md names both models, nothing missing, report.rc 0"
else
    fail "report.md: $(ls "$s1")"
fi

if [ -n "$hosts" ]; then
    grep -Eq 'host (node1\+node2|node2\+node1), 1 thread' "$s1/report.md" &&
        ok "report: the sharded sweep is one setup over both nodes" || fail "report: not one setup over node1 and node2"
fi

# ---- 2b. the same sweep on each node, unsharded: the report across hardware ----------
echo "== 2b. one small sweep per node into one folder: the report across hardware"
hw=$tmp/hw
for n in ${nodes//,/ }; do
    sbatch --wait --quiet -w "$n" -c 1 -o "$tmp/hw-$n.log" --wrap "'$bin' run --models mobilenet_v2 --batch-sizes 1,2 \
        --threads 1 --warmup 1 --warmup-time 0 --reps 3 --out '$hw' --no-report" || fail "sbatch -w $n: $(tail -n 3 "$tmp/hw-$n.log")"
done
"$bin" report "$hw" >/dev/null 2>"$tmp/hw-report.log" && rc=0 || rc=$?
sed -n '/^## Across hardware/,/^Machines:/p' "$hw/report.md" | indent
if [ -n "$hosts" ]; then
    if [ "$rc" -eq 0 ] && grep -q '^## Across hardware: batchbench, fp32' "$hw/report.md" &&
        grep -q '^| model | node1 cpu | node2 cpu | fastest |' "$hw/report.md" && [ -s "$hw/across_hardware.png" ]; then
        ok "report across hardware: node1 and node2 side by side, with its chart"
    else
        fail "report across hardware (exit $rc): $(cat "$tmp/hw-report.log")"
    fi
fi

# ---- 3. a shard cancelled mid-run, then --resume --------------------------------------
echo "== 3. scancel of one array task mid-run, the report, then --resume"
s2=$tmp/s2
slow=("${sweep[@]}" --min-time 2) # every configuration takes at least 2 s
"$submit" --shards 3 --out "$s2" --bin "$bin" --cpus-per-task 1 -- "${slow[@]}" >"$tmp/s2.out" 2>&1 && rc=0 || rc=$?
indent <"$tmp/s2.out"
array=$(sed -n 's/^array job \([0-9]*\) .*/\1/p' "$tmp/s2.out")
[ "$rc" -eq 0 ] && [ -n "$array" ] && ok "submitted without --wait: array job $array" || fail "submit exit $rc"
victim="" t0=$SECONDS
while [ -z "$victim" ] && [ $((SECONDS - t0)) -lt 90 ] && [ -n "$array" ]; do
    for i in 1 2 3; do # a shard with >= 2 configurations, one finished, not the last
        log=$s2/.slurm/shard-$i.log
        [ -f "$log" ] && [ ! -f "$s2/.slurm/shard-$i.rc" ] || continue
        k=$(sed -n 's/^\[1\/\([0-9]*\)\].*/\1/p' "$log" | head -n 1)
        [ -n "$k" ] && [ "$k" -ge 2 ] && ! grep -q "^\[$k/$k\]" "$log" || continue
        scancel "${array}_$i"
        victim=$i
        echo "    cancelled ${array}_$i after $((SECONDS - t0)) s: $(grep -c '^\[' "$log") of its $k configurations finished"
        break
    done
    sleep 0.2
done
[ -n "$victim" ] && ok "a running shard with a finished configuration cancelled" || fail "no shard to cancel within 90 s"
"$submit" --status --wait --out "$s2" >"$tmp/s2.status" 2>&1 && rc=0 || rc=$?
indent <"$tmp/s2.status"
shard_configs "$s2" 3
if [ "$rc" -eq 1 ] && grep -Eq "^shard $victim/3: FAILED \((exit 130|no exit code)" "$tmp/s2.status"; then
    ok "--status --wait: exit 1, names shard $victim as failed"
else
    fail "--status --wait exit $rc, shard $victim not named as failed"
fi
n_done=$(find "$s2" -maxdepth 1 -name 'inference_time-*.json' | wc -l)
if [ -f "$s2/report.md" ] && grep -qi '^#* *missing configurations' "$s2/report.md" &&
    [ "$(cat "$s2/.slurm/report.rc" 2>/dev/null)" = 3 ] && [ "$n_done" -ge 1 ] && [ "$n_done" -lt 6 ]; then
    ok "the report job ran after the failure: report.md has \"Missing configurations\" (report.rc 3, $n_done of 6 done)"
    grep -i -A 4 'missing configurations' "$s2/report.md" | indent
else
    fail "report after the failure: report.rc $(cat "$s2/.slurm/report.rc" 2>/dev/null), $n_done done, $(grep -i missing "$s2/report.md" 2>/dev/null)"
fi
fingerprint "$s2" >"$tmp/before"
"$submit" --shards 3 --out "$s2" --bin "$bin" --cpus-per-task 1 --wait -- "${slow[@]}" --resume >"$tmp/s3.out" 2>&1 && rc=0 || rc=$?
indent <"$tmp/s3.out"
shard_configs "$s2" 3
[ "$rc" -eq 0 ] && ok "resubmission with --resume --wait: exit 0" || fail "resubmission exit $rc"
if msg=$(exactly_once "$s2"); then
    echo "$msg"
    ok "after --resume every configuration exactly once, status ok"
else
    fail "after --resume: $msg"
fi
fingerprint "$s2" >"$tmp/after"
if [ -s "$tmp/before" ] && [ "$(LC_ALL=C join "$tmp/before" "$tmp/after" | awk '$2 != $5 || $3 != $6 || $4 != $7' | wc -l)" -eq 0 ] &&
    [ "$(LC_ALL=C join "$tmp/before" "$tmp/after" | wc -l)" -eq "$(wc -l <"$tmp/before")" ]; then
    ok "no finished file rewritten ($(wc -l <"$tmp/before") files: same inode, mtime, sha256)"
else
    fail "finished files changed: $(diff "$tmp/before" "$tmp/after" | head -n 6)"
fi
if [ -f "$s2/report.md" ] && ! grep -qi 'missing configurations' "$s2/report.md" && [ "$(cat "$s2/.slurm/report.rc")" = 0 ]; then
    ok "report.md complete after --resume"
else
    fail "report.md after --resume still names missing configurations"
fi
[ -f "$s2/.slurm/old/$array/shard-$victim.log" ] && [ -f "$s2/.slurm/old/$array/submission" ] &&
    ok "the first submission's bookkeeping kept in .slurm/old/$array/" || fail "no .slurm/old/$array/"
"$cluster" stop "$tmp/cluster" && ok "cluster stopped" || fail "cluster stop"

# ---- 4. multi-gpu.sh on the CPU ---------------------------------------------------------
echo "== 4. multi-gpu.sh --gpus 0,1 on the CPU (CUDA_VISIBLE_DEVICES set, no GPU used)"
m1=$tmp/m1
"$mgpu" --gpus 0,1 --out "$m1" --bin "$bin" -- "${sweep[@]}" --threads 1 >"$tmp/m1.out" 2>&1 && rc=0 || rc=$?
indent <"$tmp/m1.out"
[ "$rc" -eq 0 ] && ok "multi-gpu.sh exit 0" || fail "multi-gpu.sh exit $rc"
msg=$(exactly_once "$m1") && ok "every configuration exactly once" || fail "multi-gpu results: $msg"
[ -f "$m1/.multi-gpu/shard-1.log" ] && [ -f "$m1/.multi-gpu/shard-2.log" ] && [ -f "$m1/report.md" ] &&
    ok "per-shard logs in .multi-gpu/ and report.md" || fail "multi-gpu logs/report missing"
"$mgpu" --gpus 0,1 --out "$tmp/m2" --bin "$bin" -- --models mobilenet_v2 --batch-sizes 1,64 --threads 1 --warmup 0 \
    --reps 2 --mem-limit 60M >"$tmp/m2.out" 2>&1 && rc=0 || rc=$?
if [ "$rc" -eq 1 ] && grep -q "FAILED (exit 1)" "$tmp/m2.out" && grep -q "failed shards: " "$tmp/m2.out"; then
    ok "a failing shard (an oom configuration) is named, exit 1: $(grep 'failed shards' "$tmp/m2.out")"
else
    fail "failing shard: exit $rc: $(cat "$tmp/m2.out")"
fi

# interrupted (SIGTERM, as Ctrl-C), then --resume
m3=$tmp/m3
"$mgpu" --gpus 0,1 --out "$m3" --bin "$bin" -- "${slow[@]}" --threads 1 >"$tmp/m3.out" 2>&1 &
pid=$!
t0=$SECONDS
until [ "$(find "$m3" -maxdepth 1 -name 'inference_time-*.json' 2>/dev/null | wc -l)" -ge 1 ] || [ $((SECONDS - t0)) -ge 60 ]; do
    sleep 0.2
done
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
n_done=$(find "$m3" -maxdepth 1 -name 'inference_time-*.json' | wc -l)
if [ "$rc" -eq 130 ] && [ "$n_done" -lt 6 ] && grep -q "interrupted (exit 130" "$tmp/m3.out" && grep -qi 'missing configurations' "$m3/report.md"; then
    ok "multi-gpu.sh SIGTERM: passed on to the shards, exit 130, $n_done of 6 kept, the report names what is missing"
else
    fail "multi-gpu.sh SIGTERM: exit $rc, $n_done done: $(tail -n 4 "$tmp/m3.out")"
fi
fingerprint "$m3" >"$tmp/m3.before"
"$mgpu" --gpus 0,1 --out "$m3" --bin "$bin" -- "${slow[@]}" --threads 1 --resume >"$tmp/m3b.out" 2>&1 && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && msg=$(exactly_once "$m3") && [ "$(LC_ALL=C join "$tmp/m3.before" <(fingerprint "$m3") | awk '$2 == $5 && $3 == $6 && $4 == $7' | wc -l)" -eq "$n_done" ]; then
    ok "multi-gpu.sh --resume: exit 0, every configuration exactly once, the $n_done kept files untouched"
else
    fail "multi-gpu.sh --resume: exit $rc: ${msg:-} $(tail -n 4 "$tmp/m3b.out")"
fi

echo "slurm: $passed passed, $failed failed ($((SECONDS - t_start)) s)"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# gpu-ops.sh — every op case of the ONNX importer run on one device and held
# to numpy's float64 answer: the cheapest check of the CUDA lowerings that
# no exported model of the parity runs reaches (a reduce's sum, Einsum,
# reflect and edge pads, the group norm, ConvTranspose's interleave,
# DepthToSpace, merged branch convs, ...). The cases are the op_*.onnx
# files that tests/onnx/make_bad_models.py writes (each with op_*.ref.npy,
# and x2.npy, the input of them all); write them where python3-onnx is
# (this machine may lack it) and carry the folder:
#
#   python3 tests/onnx/make_bad_models.py OPSDIR
#   scripts/gpu-ops.sh OPSDIR REPORT [--device cuda] [--precision fp32] [--deadline S] [--jobs N]
#
# For each case: `batchbench infer --model op_X.onnx --device D --precision
# P --input x2.npy --output Y`, then tools/compare_npy.py against the
# reference with the precision's bounds. REPORT gets one line per case:
# PASS / FAIL (the reason) / REFUSED (the backend says the op has no
# lowering on this device: a known gap, e.g. a conv with asymmetric
# padding on cuda, not a
# failure), then the counts.
#
# ONNX's own conformance cases that batchbench passes on the CPU join them
# when written into the same folder (node_*.onnx, each with its own input
# node_*.in.npy and node_*.ref.npy):
#
#   python3 tests/onnx/run_node_tests.py --write OPSDIR
#
# A case with NAME.in.npy is fed that; the others x2.npy. --jobs N runs N
# cases at a time (default 1; one device serves them all: each process
# spends most of its time starting, not computing).
#
# Environment: BATCHBENCH_BIN (default build/batchbench), PYTHON (numpy;
# default python3). Exit: 0 nothing failed, 1 a case failed or the deadline
# (default 120 s) left cases unrun, 2 bad arguments.
set -u

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "gpu-ops.sh: $*" >&2; exit 2; }
ops="" report="" device=cuda precision=fp32 deadline=120 jobs=1
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --device) [ $# -ge 2 ] || die "--device needs cpu or cuda"; device=$2; shift 2 ;;
    --precision) [ $# -ge 2 ] || die "--precision needs a value"; precision=$2; shift 2 ;;
    --deadline)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then die "--deadline needs seconds"; fi
        deadline=$2
        shift 2 ;;
    --jobs)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then die "--jobs needs a count from 1"; fi
        jobs=$2
        shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
        if [ -z "$ops" ]; then ops=$1; elif [ -z "$report" ]; then report=$1; else die "OPSDIR and REPORT only"; fi
        shift ;;
    esac
done
[ -n "$report" ] || { usage >&2; exit 2; }
[[ "$device" == cpu || "$device" == cuda ]] || die "--device: cpu or cuda, not '$device'"
if ! compgen -G "$ops/op_*.onnx" >/dev/null && ! compgen -G "$ops/node_*.onnx" >/dev/null; then
    die "$ops has no op cases (op_*.onnx and x2.npy: python3 tests/onnx/make_bad_models.py $ops; node_*: tests/onnx/run_node_tests.py --write $ops)"
fi
if compgen -G "$ops/op_*.onnx" >/dev/null && [ ! -s "$ops/x2.npy" ]; then
    die "$ops has op_*.onnx cases but no x2.npy, their input (python3 tests/onnx/make_bad_models.py $ops)"
fi
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BATCHBENCH_BIN:-$here/build/batchbench}
py=${PYTHON:-python3}
[ -x "$bin" ] || die "no batchbench at $bin (make, or BATCHBENCH_BIN)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
: >"$report" || die "cannot write $report"

# One case: its line into $tmp/N.line, "PASS", "FAIL" or "REFUSED" first.
run_case() {
    local f=$1 n x out
    n=$(basename "$f" .onnx)
    x=$ops/x2.npy
    [ -s "$ops/$n.in.npy" ] && x=$ops/$n.in.npy
    if ! timeout 60 "$bin" infer --model "$f" --device "$device" --precision "$precision" --threads 1 \
        --input "$x" --output "$tmp/$n.y.npy" >"$tmp/$n.log" 2>&1; then
        if grep -q "has no CUDA lowering" "$tmp/$n.log"; then
            echo "REFUSED $n: $(grep -m1 'no CUDA lowering' "$tmp/$n.log")"
        else
            echo "FAIL    $n: infer: $(tail -1 "$tmp/$n.log")"
        fi
    elif out=$("$py" "$here/tools/compare_npy.py" "$ops/$n.ref.npy" "$tmp/$n.y.npy" "$precision" 2>&1); then
        echo "PASS    $n: $out"
    else
        echo "FAIL    $n: $out"
    fi >"$tmp/$n.line"
    rm -f "$tmp/$n.y.npy" "$tmp/$n.log"
}

unrun=0
for f in "$ops"/op_*.onnx "$ops"/node_*.onnx; do
    [ -e "$f" ] || continue
    if [ $(($(date +%s) - t0)) -ge "$deadline" ]; then
        unrun=$((unrun + 1))
        continue
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_case "$f" &
done
wait
cat "$tmp"/*.line >>"$report" 2>/dev/null
passed=$(grep -c '^PASS' "$report")
failed=$(grep -c '^FAIL' "$report")
refused=$(grep -c '^REFUSED' "$report")
echo "gpu-ops: $device $precision: $passed passed, $failed failed, $refused refused (no lowering)$([ $unrun -gt 0 ] &&
    echo ", $unrun not run (deadline ${deadline}s)")" >>"$report"
tail -1 "$report"
[ "$failed" -eq 0 ] && [ "$unrun" -eq 0 ]

#!/usr/bin/env bash
# multi-gpu.sh — run one batchbench sweep on several GPUs of this machine at
# once: one shard per GPU (`batchbench run ... --shard I/N`, N = number of
# GPUs listed, the process of shard I seeing only the I-th GPU through
# CUDA_VISIBLE_DEVICES), all writing into one results folder; then waits for
# all of them and writes the report (`batchbench report DIR`), which names
# any configuration still missing. The device is left to the run options
# (--device cuda, or auto): this script only sets CUDA_VISIBLE_DEVICES, so it
# needs no GPU itself. For several machines use scripts/slurm/submit.sh.
#
# Usage:
#   scripts/multi-gpu.sh --gpus 0,1,2,3 --out DIR [--bin PATH] [--dry-run] -- <batchbench run options>
#   --gpus LIST   GPU indices or UUIDs as CUDA_VISIBLE_DEVICES takes them,
#                 comma-separated, each once; one shard per entry
#   --out DIR     results folder (shared by the shards)
#   --bin PATH    batchbench binary (default: build/batchbench of this repository)
#   --dry-run     print the commands, run nothing, write nothing
#   -h, --help    this text
# Logs and exit codes per shard: DIR/.multi-gpu/shard-I.log and shard-I.rc,
# the report's in DIR/.multi-gpu/report.log and report.rc. Resume after a
# failure or Ctrl-C with the same command plus --resume in the run options:
# finished results are kept, only what is missing runs.
# Ctrl-C / SIGTERM is passed on to every shard (each stops after its current
# batch, keeping finished results); the report is still written.
# Exit codes: 0 every shard and the report ok; 1 a shard failed (named) or
#   the report failed or says something is missing; 2 bad arguments;
#   130 interrupted.
set -euo pipefail

prog=multi-gpu.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad() {
    echo "$prog: $*" >&2
    echo "usage: $prog --gpus 0,1,... --out DIR [--bin PATH] [--dry-run] -- <batchbench run options>   (--help)" >&2
    exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }

gpus="" out="" bin="" dry=0 opts=()
need_val() { if [ $# -lt 2 ] || [ -z "$2" ]; then bad "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
    a=$1
    if [[ $a == --*=* ]]; then
        set -- "${a%%=*}" "${a#*=}" "${@:2}"
        a=$1
    fi
    case $a in
        --gpus) need_val "$@"; gpus=$2; shift 2 ;;
        --out) need_val "$@"; out=$2; shift 2 ;;
        --bin) need_val "$@"; bin=$2; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; opts=("$@"); break ;;
        *) bad "unknown option '$a' (batchbench run options go after --)" ;;
    esac
done

[ -n "$gpus" ] || bad "--gpus LIST is required (e.g. --gpus 0,1,2,3)"
[[ $gpus =~ ^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$ ]] || bad "--gpus: '$gpus' is not a comma-separated list of GPU indices or UUIDs"
IFS=, read -r -a gpu <<<"$gpus"
n=${#gpu[@]}
dup=$(printf '%s\n' "${gpu[@]}" | sort | uniq -d | head -n 1)
[ -z "$dup" ] || bad "--gpus: GPU '$dup' is listed twice (shards sharing a GPU would time each other)"
[ -n "$out" ] || bad "--out DIR is required"
case $out in /*) ;; *) out=$PWD/$out ;; esac
out=$(realpath -m "$out")
if [ -z "$bin" ]; then
    bin=$repo/build/batchbench
    [ -x "$bin" ] || bad "--bin: no batchbench at $bin (build it with make, or pass --bin PATH)"
else
    if ! [ -f "$bin" ] || ! [ -x "$bin" ]; then bad "--bin: '$bin' is not an executable file"; fi
fi
bin=$(realpath "$bin")
for o in "${opts[@]+"${opts[@]}"}"; do
    case $o in
        --out|--out=*) bad "run option '$o': give the results folder as $prog --out DIR" ;;
        --shard|--shard=*) bad "run option '$o': $prog sets --shard I/N, one shard per GPU" ;;
        --plan) bad "run option '--plan': use 'batchbench run ... --shard all/N --plan'" ;;
        --help|-h) bad "run option '$o': see 'batchbench run --help'" ;;
    esac
done

log=$out/.multi-gpu
shard_cmd() { # i -> the command of shard i, in the array cmd
    cmd=(env CUDA_VISIBLE_DEVICES="${gpu[$1 - 1]}" "$bin" run "${opts[@]+"${opts[@]}"}" --out "$out" --shard "$1/$n" --no-report)
}
if [ $dry = 1 ]; then
    for ((i = 1; i <= n; i++)); do
        shard_cmd "$i"
        printf '%q ' "${cmd[@]}"
        echo ">$(printf '%q' "$log/shard-$i.log") 2>&1 &"
    done
    echo wait
    printf '%q ' "$bin" report "$out"; echo ">$(printf '%q' "$log/report.log") 2>&1"
    exit 0
fi

# the run options checked once here: a typo would fail every shard
set +e
plan=$("$bin" run "${opts[@]+"${opts[@]}"}" --out "$out" --shard "all/$n" --plan 2>&1)
prc=$?
set -e
[ $prc != 2 ] || { echo "$plan" >&2; bad "the run options are rejected by batchbench (exit 2); nothing started"; }
[ $prc = 0 ] || die "batchbench run ... --shard all/$n --plan failed (exit $prc): $plan"
echo "$plan"

mkdir -p "$log"
rm -f "$log"/shard-*.rc "$log/report.rc"
pids=()
interrupted=""
forward() { # pass Ctrl-C / SIGTERM on to every shard; they stop after their current batch
    interrupted=$1
    local p
    for p in "${pids[@]}"; do kill -"$1" "$p" 2>/dev/null || true; done
}
trap 'forward INT' INT
trap 'forward TERM' TERM
for ((i = 1; i <= n; i++)); do
    shard_cmd "$i"
    "${cmd[@]}" >"$log/shard-$i.log" 2>&1 &
    pids[i - 1]=$!
    echo "shard $i/$n on GPU ${gpu[i - 1]}: pid ${pids[i - 1]}, log $log/shard-$i.log"
done
failed=()
for ((i = 1; i <= n; i++)); do
    # wait returns early (>128) when a trapped signal arrives: wait again
    while :; do
        set +e
        wait "${pids[i - 1]}"
        rc=$?
        set -e
        if [ $rc -gt 128 ] && kill -0 "${pids[i - 1]}" 2>/dev/null; then continue; fi
        break
    done
    echo "$rc" >"$log/shard-$i.rc"
    if [ "$rc" = 0 ]; then
        echo "shard $i/$n on GPU ${gpu[i - 1]}: ok"
    else
        why="FAILED (exit $rc)"
        [ "$rc" != 130 ] || why="interrupted (exit 130; finished results kept)"
        echo "shard $i/$n on GPU ${gpu[i - 1]}: $why; last lines of $log/shard-$i.log:"
        tail -n 5 "$log/shard-$i.log" | sed 's/^/    /'
        failed+=("$i (GPU ${gpu[i - 1]})")
    fi
done
trap - INT TERM

set +e
"$bin" report "$out" >"$log/report.log" 2>&1
rrc=$?
set -e
echo "$rrc" >"$log/report.rc"
case $rrc in
    0) echo "report: $out/report.md" ;;
    3) echo "report: $out/report.md, with configurations missing (see its \"Missing configurations\")" ;;
    *) echo "report: FAILED (exit $rrc); see $log/report.log" ;;
esac
[ -z "$interrupted" ] || { echo "$prog: interrupted (SIG$interrupted); finished results kept; rerun with --resume" >&2; exit 130; }
if [ ${#failed[@]} -gt 0 ]; then
    echo "$prog: failed shards: ${failed[*]}; rerun the same command with --resume after the run options" >&2
    exit 1
fi
[ $rrc = 0 ] || die "the report is not complete (exit $rrc)"
echo "all $n shards ok"

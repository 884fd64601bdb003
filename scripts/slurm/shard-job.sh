#!/usr/bin/env bash
# shard-job.sh — the batch script of one task of the Slurm job array that
# scripts/slurm/submit.sh queues: task I of N runs shard I/N of a batchbench
# sweep into the shared results folder, and records its exit code in
# OUT/.slurm/shard-I.rc (written as a temp file + rename, so a reader sees
# the whole code or nothing). Its output is OUT/.slurm/shard-I.log
# (sbatch --output). A missing rc file means the task never ran, or was
# killed before batchbench returned.
#
# SIGTERM (scancel, the time limit) reaches batchbench too, which stops
# after the current batch, keeps every finished result and exits 130; this
# script then records 130, so `submit.sh --status` names the shard as
# interrupted and a resubmission with --resume runs only what is missing.
#
# Usage (by submit.sh, not by hand):
#   sbatch --array=1-N ... shard-job.sh BIN OUT N SRUN CPUS -- <batchbench run options>
#   BIN   absolute path of batchbench      OUT   absolute results folder
#   N     number of shards                 SRUN  1: run through srun
#   CPUS  CPUs per task (0: not given)           (--cpu-bind=cores), 0: directly
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h|--help) usage; exit 0 ;; esac
if [ $# -lt 6 ] || [ "$6" != -- ]; then
    echo "shard-job.sh: expected BIN OUT N SRUN CPUS -- <run options> (got: $*)" >&2
    exit 2
fi
bin=$1 out=$2 n=$3 use_srun=$4 cpus=$5
shift 6
i=${SLURM_ARRAY_TASK_ID:-}
if ! [[ $i =~ ^[0-9]+$ ]]; then
    echo "shard-job.sh: SLURM_ARRAY_TASK_ID is '$i'; submit this script as a job array (submit.sh does)" >&2
    exit 2
fi

cmd=("$bin" run "$@" --out "$out" --shard "$i/$n" --no-report)
if [ "$use_srun" = 1 ]; then
    step=(srun --ntasks=1 --nodes=1 --cpu-bind=cores)
    [ "$cpus" != 0 ] && step+=(--cpus-per-task="$cpus")
    cmd=("${step[@]}" "${cmd[@]}")
fi

# A trapped signal waits for the foreground command: batchbench gets it too,
# stops after its current batch, and its exit code is still recorded below.
signalled=""
trap 'signalled=TERM' TERM
trap 'signalled=INT' INT
echo "shard $i/$n on $(hostname): job ${SLURM_ARRAY_JOB_ID:-?}_$i (${SLURM_JOB_ID:-?}), started $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
printf 'command:'
printf ' %q' "${cmd[@]}"
echo
set +e
"${cmd[@]}"
rc=$?
set -e
printf '%s\n' "$rc" >"$out/.slurm/shard-$i.rc.tmp.$$"
mv -f "$out/.slurm/shard-$i.rc.tmp.$$" "$out/.slurm/shard-$i.rc"
echo "shard $i/$n on $(hostname): exit $rc${signalled:+ (got SIG$signalled)}, ended $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
exit "$rc"

#!/usr/bin/env bash
# report-job.sh — the batch script of the job that scripts/slurm/submit.sh
# queues after the shard array (--dependency=afterany, so it runs even when
# shards failed or were cancelled): `batchbench report OUT` over the shared
# results folder. The report says what is missing (a "Missing
# configurations" section, exit 3) when shards did not finish. Its exit
# code goes to OUT/.slurm/report.rc (temp file + rename), its output to
# OUT/.slurm/report.log (sbatch --output).
#
# Usage (by submit.sh, not by hand): sbatch ... report-job.sh BIN OUT
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h|--help) usage; exit 0 ;; esac
if [ $# -ne 2 ]; then
    echo "report-job.sh: expected BIN OUT (got: $*)" >&2
    exit 2
fi
bin=$1 out=$2
echo "report on $(hostname): job ${SLURM_JOB_ID:-?}, started $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
set +e
"$bin" report "$out"
rc=$?
set -e
printf '%s\n' "$rc" >"$out/.slurm/report.rc.tmp.$$"
mv -f "$out/.slurm/report.rc.tmp.$$" "$out/.slurm/report.rc"
echo "report: exit $rc, ended $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
exit "$rc"

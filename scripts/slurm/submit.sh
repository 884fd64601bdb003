#!/usr/bin/env bash
# submit.sh — run one batchbench sweep across a Slurm cluster: a job array
# with one task per shard (`batchbench run ... --shard I/N`, each on its own
# node or GPU), all writing into one shared results folder, then a report
# job that runs after the array however it ended (--dependency=afterany):
# `batchbench report OUT` says what is missing when shards failed.
# Resubmitting the same command with --resume after the run options runs
# only the configurations still missing; finished results are never rewritten.
#
# Usage:
#   scripts/slurm/submit.sh --shards N --out DIR [options] [--wait] -- <batchbench run options>
#   scripts/slurm/submit.sh --status --out DIR [--wait]
# Options:
#   --shards N          number of shards = array tasks (1..10000)
#   --out DIR           results folder, on a file system every node sees
#                       (made absolute; must not contain '%')
#   --partition P, --account A, --time T   passed to sbatch (T: minutes,
#                       [D-]HH:MM[:SS], MM:SS, UNLIMITED)
#   --gpus-per-task G   G GPUs per shard (sbatch --gres=gpu:G)
#   --cpus-per-task C   C CPUs per shard, and batchbench --threads C (an
#                       explicit --threads in the run options must equal C;
#                       without it batchbench uses the CPUs the task may run on)
#   --bin PATH          batchbench binary (default: build/batchbench of this
#                       repository, next to this script); must be reachable
#                       at the same path on the nodes
#   --no-srun           run batchbench directly in the batch step (default:
#                       through `srun --cpu-bind=cores`)
#   --sbatch-opt OPT    one more option for both sbatch calls, e.g.
#                       --sbatch-opt=--qos=short (repeatable)
#   --wait              block until the report job ended, print one line per
#                       shard and the report's state; exit 0 only when every
#                       shard exited 0 and the report is complete
#   --status            no submission: the same summary for the last
#                       submission into --out (with --wait: wait for it first)
#   --dry-run           print the sbatch commands, submit nothing, write nothing
#   -h, --help          this text
# Before submitting, the run options are checked here with
# `batchbench run <opts> --out DIR --shard all/N --plan` (each shard's
# number of configurations and estimated time are printed); exit 2 from it
# stops; any other failure (e.g. no GPU on the login node) only warns.
# Bookkeeping in DIR/.slurm/: submission (job ids, the command), shard-I.rc
# and shard-I.log per task, report.rc and report.log; an earlier
# submission's files move to DIR/.slurm/old/<array job id>/. Refuses to
# submit while an earlier submission into DIR is still queued or running.
# Uses whatever cluster sbatch/squeue on PATH talk to (SLURM_CONF as usual);
# sacct is used when accounting is there, never needed.
# Exit codes: 0 ok; 1 submission failed, or (--wait/--status) a shard or the
#   report failed or is missing, or jobs still queued; 2 bad arguments;
#   130 interrupted while waiting (the jobs go on).
set -euo pipefail

prog=submit.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad() {
    echo "$prog: $*" >&2
    echo "usage: $prog --shards N --out DIR [options] [--wait] -- <batchbench run options>   (--help)" >&2
    exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }

shards="" out="" partition="" gpus="" cpus="" time_limit="" account="" bin=""
wait=0 dry=0 status=0 use_srun=1
sbatch_extra=() opts=()
poll=${BB_SLURM_POLL_S:-2}

need_val() { if [ $# -lt 2 ] || [ -z "$2" ]; then bad "$1 needs a value"; fi; }
while [ $# -gt 0 ]; do
    a=$1
    if [[ $a == --*=* ]]; then # --flag=value -> --flag value
        set -- "${a%%=*}" "${a#*=}" "${@:2}"
        a=$1
    fi
    case $a in
        --shards) need_val "$@"; shards=$2; shift 2 ;;
        --out) need_val "$@"; out=$2; shift 2 ;;
        --partition) need_val "$@"; partition=$2; shift 2 ;;
        --gpus-per-task) need_val "$@"; gpus=$2; shift 2 ;;
        --cpus-per-task) need_val "$@"; cpus=$2; shift 2 ;;
        --time) need_val "$@"; time_limit=$2; shift 2 ;;
        --account) need_val "$@"; account=$2; shift 2 ;;
        --bin) need_val "$@"; bin=$2; shift 2 ;;
        --sbatch-opt) need_val "$@"; sbatch_extra+=("$2"); shift 2 ;;
        --no-srun) use_srun=0; shift ;;
        --wait) wait=1; shift ;;
        --status) status=1; shift ;;
        --dry-run) dry=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; opts=("$@"); break ;;
        *) bad "unknown option '$a' (batchbench run options go after --)" ;;
    esac
done

# ---- arguments -------------------------------------------------------------
[ -n "$out" ] || bad "--out DIR is required"
[[ $out != *%* ]] || bad "--out: '$out' contains '%', which sbatch --output would expand"
case $out in /*) ;; *) out=$PWD/$out ;; esac
out=$(realpath -m "$out")
sdir=$out/.slurm

if [ $status = 0 ]; then
    [ -n "$shards" ] || bad "--shards N is required"
    if ! [[ $shards =~ ^[1-9][0-9]{0,4}$ ]] || [ "$shards" -gt 10000 ]; then
        bad "--shards: '$shards' is not a whole number from 1 to 10000"
    fi
    [ -z "$gpus" ] || [[ $gpus =~ ^[1-9][0-9]*$ ]] || bad "--gpus-per-task: '$gpus' is not a positive whole number"
    [ -z "$cpus" ] || [[ $cpus =~ ^[1-9][0-9]*$ ]] || bad "--cpus-per-task: '$cpus' is not a positive whole number"
    [ -z "$time_limit" ] || [[ $time_limit =~ ^(([0-9]+-)?[0-9]+(:[0-9]+){0,2}|UNLIMITED|INFINITE)$ ]] ||
        bad "--time: '$time_limit' is not a Slurm time (minutes, [D-]HH:MM[:SS], MM:SS or UNLIMITED)"
    [ -z "$partition" ] || [[ $partition =~ ^[A-Za-z0-9_.,-]+$ ]] || bad "--partition: '$partition' is not a partition name"
    [ -z "$account" ] || [[ $account =~ ^[A-Za-z0-9_.-]+$ ]] || bad "--account: '$account' is not an account name"
    for o in "${sbatch_extra[@]+"${sbatch_extra[@]}"}"; do
        [[ $o == -* ]] || bad "--sbatch-opt: '$o' is not an sbatch option (like --qos=short)"
        case $o in --array*|--dependency*|--output*|--error*|--parsable*|--wait*|-a|-o|-e|-d)
            bad "--sbatch-opt: '$o' is set by $prog itself" ;; esac
    done
    if [ -z "$bin" ]; then
        bin=$repo/build/batchbench
        [ -x "$bin" ] || bad "--bin: no batchbench at $bin (build it with make, or pass --bin PATH)"
    else
        case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
        if ! [ -f "$bin" ] || ! [ -x "$bin" ]; then bad "--bin: '$bin' is not an executable file"; fi
    fi
    bin=$(realpath "$bin")
    # run options: submit.sh owns --out, --shard, --plan; --threads follows --cpus-per-task
    threads=""
    for ((k = 0; k < ${#opts[@]}; k++)); do
        o=${opts[k]}
        case $o in
            --out|--out=*) bad "run option '$o': give the results folder as $prog --out DIR" ;;
            --shard|--shard=*) bad "run option '$o': $prog sets --shard I/N for each task (use --shards N)" ;;
            --plan) bad "run option '--plan': $prog plans by itself; use 'batchbench run ... --shard all/N --plan'" ;;
            --help|-h) bad "run option '$o': see 'batchbench run --help'" ;;
            --threads=*) threads=${o#--threads=} ;;
            --threads) threads=${opts[k + 1]:-} ;;
        esac
    done
    if [ -n "$cpus" ]; then
        if [ -z "$threads" ]; then
            opts+=(--threads "$cpus")
        elif [ "$threads" != "$cpus" ]; then
            bad "run option '--threads $threads' differs from --cpus-per-task $cpus (leave --threads out: it follows --cpus-per-task)"
        fi
    fi
fi

# ---- queue state and summaries ----------------------------------------------
job_queued() { # job id -> 0 while squeue still lists it (pending, running, completing)
    local o rc
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        set +e
        o=$(squeue -h -j "$1" -o '%i' 2>&1)
        rc=$?
        set -e
        if [ $rc = 0 ]; then [ -n "$o" ]; return; fi
        # a job purged from the controller's memory is "invalid": long gone
        case $o in *"Invalid job id"*) return 1 ;; esac
        echo "$prog: squeue -j $1 failed (retrying): $o" >&2
        sleep 3
    done
    die "squeue -j $1 keeps failing: $o"
}
read_submission() {
    [ -f "$sdir/submission" ] || die "no submission recorded in $sdir (submit first)"
    array_job=$(sed -n 's/^array_job=//p' "$sdir/submission")
    report_job=$(sed -n 's/^report_job=//p' "$sdir/submission")
    shards=$(sed -n 's/^shards=//p' "$sdir/submission")
    [[ $array_job =~ ^[0-9]+$ && $report_job =~ ^[0-9]+$ && $shards =~ ^[0-9]+$ ]] ||
        die "$sdir/submission is damaged (array_job, report_job, shards)"
}
wait_jobs() {
    local last="" now
    while job_queued "$report_job" || job_queued "$array_job"; do
        now=$(squeue -h -j "$array_job,$report_job" -o '%i %T %R' 2>/dev/null | sort -n | tr '\n' ';' || true)
        if [ "$now" != "$last" ]; then
            echo "waiting: ${now%;}"
            last=$now
        fi
        sleep "$poll"
    done
}
rc_word() {
    case $1 in
        0) echo ok ;;
        1) echo "FAILED (exit 1: a configuration not ok, or a runtime failure)" ;;
        2) echo "FAILED (exit 2: bad arguments)" ;;
        130) echo "FAILED (exit 130: interrupted; finished results kept)" ;;
        *) echo "FAILED (exit $1)" ;;
    esac
}
summary() { # -> 0 when every shard exited 0 and the report is complete
    local i rcv host state bad=0 acct="" r queued
    if command -v sacct >/dev/null 2>&1; then # optional: accounting may be off
        acct=$(sacct -n -X -P -j "$array_job" -o JobID,State 2>/dev/null || true)
    fi
    # tasks still in the queue: "TASK STATE NODE", one line per array task
    queued=$(squeue -h -r -j "$array_job" -o '%K %T %N' 2>/dev/null || true)
    for ((i = 1; i <= shards; i++)); do
        host=$(sed -n "1s/^shard $i\/[0-9]* on \([^:]*\):.*/\1/p" "$sdir/shard-$i.log" 2>/dev/null || true)
        state=$(awk -F'|' -v id="${array_job}_$i" '$1 == id {print " [" $2 "]"}' <<<"$acct")
        r=$(awk -v i="$i" '$1 == i {print $2 ($3 == "" ? "" : " on " $3)}' <<<"$queued")
        if [ -n "$r" ] && [ ! -f "$sdir/shard-$i.rc" ]; then
            r="not finished: $r"
            host=""
            bad=1
        elif [ -f "$sdir/shard-$i.rc" ]; then
            rcv=$(tr -d ' \n' <"$sdir/shard-$i.rc")
            r=$(rc_word "$rcv")
            [ "$rcv" = 0 ] || bad=1
        else
            r="FAILED (no exit code: never ran, or killed before batchbench returned)"
            bad=1
        fi
        echo "shard $i/$shards: $r${host:+ on $host}$state; log $sdir/shard-$i.log"
    done
    if [ -f "$sdir/report.rc" ] && [ -f "$out/report.md" ]; then
        rcv=$(tr -d ' \n' <"$sdir/report.rc")
        case $rcv in
            0) echo "report: ok, $out/report.md" ;;
            3) echo "report: written with configurations missing (exit 3), $out/report.md"; bad=1 ;;
            *) echo "report: FAILED (exit $rcv); log $sdir/report.log"; bad=1 ;;
        esac
    elif job_queued "$report_job"; then
        echo "report: not written yet (job $report_job still queued or running)"
        bad=1
    else
        echo "report: MISSING (job $report_job wrote no report; log $sdir/report.log)"
        bad=1
    fi
    [ $bad = 0 ]
}
finish() {
    if [ $wait = 1 ]; then
        trap 'echo "$prog: stopped waiting; the jobs go on (wait again: $prog --status --wait --out $out)" >&2; exit 130' INT TERM
        wait_jobs
        trap - INT TERM
    elif job_queued "$report_job" || job_queued "$array_job"; then
        echo "array job $array_job / report job $report_job still queued or running:"
        summary || true
        exit 1
    fi
    if summary; then
        echo "all $shards shards ok; report $out/report.md"
    else
        echo "$prog: not complete; resubmit the same command with --resume after the run options to run what is missing" >&2
        exit 1
    fi
}

if [ $status = 1 ]; then
    [ $dry = 0 ] || bad "--status and --dry-run do not go together"
    read_submission
    finish
    exit 0
fi

# ---- the sbatch commands ------------------------------------------------------
common=()
[ -n "$partition" ] && common+=(--partition="$partition")
[ -n "$account" ] && common+=(--account="$account")
[ -n "$time_limit" ] && common+=(--time="$time_limit")
common+=("${sbatch_extra[@]+"${sbatch_extra[@]}"}")
name=batchbench-$(basename "$out")
array_cmd=(sbatch --parsable --array="1-$shards" --job-name="$name" --ntasks=1 "${common[@]}")
[ -n "$cpus" ] && array_cmd+=(--cpus-per-task="$cpus")
[ -n "$gpus" ] && array_cmd+=(--gres="gpu:$gpus")
array_cmd+=(--output="$sdir/shard-%a.log" "$here/shard-job.sh" "$bin" "$out" "$shards" "$use_srun" "${cpus:-0}" --
    "${opts[@]+"${opts[@]}"}")
report_cmd=(sbatch --parsable --dependency="afterany:ARRAY_JOB" --job-name="$name-report" --ntasks=1 "${common[@]}"
    --output="$sdir/report.log" "$here/report-job.sh" "$bin" "$out")

if [ $dry = 1 ]; then
    printf '%q ' "${array_cmd[@]}"; echo
    printf '%q ' "${report_cmd[@]}" | sed 's/afterany:ARRAY_JOB/afterany:<array job id>/'; echo
    exit 0
fi

command -v sbatch >/dev/null || die "sbatch not found on PATH (is this a Slurm login node? is slurm-client installed?)"

# an earlier submission into the same folder still queued or running: refuse
if [ -f "$sdir/submission" ]; then
    old_array=$(sed -n 's/^array_job=//p' "$sdir/submission")
    old_report=$(sed -n 's/^report_job=//p' "$sdir/submission")
    for j in $old_array $old_report; do
        if [[ $j =~ ^[0-9]+$ ]] && job_queued "$j"; then
            die "job $j of an earlier submission into $out is still queued or running; wait for it ($prog --status --wait --out $out) or scancel it"
        fi
    done
fi

# check the run options here first: a typo would fail every task
check=("$bin" run "${opts[@]+"${opts[@]}"}" --out "$out" --shard "all/$shards" --plan)
set +e
plan=$("${check[@]}" 2>&1)
prc=$?
set -e
if [ $prc = 2 ]; then
    echo "$plan" >&2
    echo "$prog: the run options are rejected by batchbench (exit 2); nothing submitted" >&2
    exit 2
elif [ $prc != 0 ]; then
    echo "$prog: warning: could not check the run options on this machine ($(printf '%q ' "${check[@]}")exit $prc); submitting anyway" >&2
else
    echo "$plan"
fi

# the earlier submission's bookkeeping moves to .slurm/old/<its array job>/
mkdir -p "$sdir"
if [ -f "$sdir/submission" ]; then
    arch=$sdir/old/${old_array:-unknown}
    mkdir -p "$arch"
    find "$sdir" -maxdepth 1 -type f -exec mv -f {} "$arch/" \;
fi

array_job=$("${array_cmd[@]}") || die "sbatch of the shard array failed; nothing submitted"
array_job=${array_job%%;*}
report_cmd=("${report_cmd[@]/afterany:ARRAY_JOB/afterany:$array_job}")
if ! report_job=$("${report_cmd[@]}"); then
    die "array job $array_job ($shards shards) is queued, but sbatch of the report job failed: run '$bin report $out' once it ended"
fi
report_job=${report_job%%;*}
{
    echo "array_job=$array_job"
    echo "report_job=$report_job"
    echo "shards=$shards"
    echo "out=$out"
    echo "bin=$bin"
    echo "submitted=$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
    printf 'command='
    printf '%q ' "$here/submit.sh" --shards "$shards" --out "$out" -- "${opts[@]+"${opts[@]}"}"
    echo
} >"$sdir/submission"
echo "array job $array_job ($shards shards), report job $report_job"
echo "results: $out; logs and exit codes: $sdir/"
[ $wait = 1 ] || exit 0
finish

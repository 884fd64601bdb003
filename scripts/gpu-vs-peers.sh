#!/usr/bin/env bash
# gpu-vs-peers.sh — the seed's preset on one GPU against the strongest peers,
# in one run: batchbench, PyTorch eager, PyTorch channels_last +
# torch.compile(mode="max-autotune") and TensorRT (issue 22), every engine
# timed the same way (CUDA events around the forward pass, the same warm-up,
# reps and input shape), results in batchbench's schema.
#
#   scripts/gpu-vs-peers.sh [options] OUTDIR
#
# Options (defaults: the seed's preset, both precisions, every engine):
#   --models LIST        the 12 zoo models (default) or a comma-separated subset
#   --batch-sizes LIST   32,64,128,256,512,1024
#   --precisions LIST    bf16,fp32 (any of fp32, tf32, fp16, bf16)
#   --engines LIST       batchbench,pytorch,pytorch-compile,tensorrt
#   --warmup N (3)  --reps N (5)   measured batches per configuration
#   --compile-mode M     torch.compile's mode (max-autotune)
#   --deadline S         no step starts after S seconds, running ones are cut
#                        there (default 560: one device call of 10 minutes)
#   --device cuda|cpu    cpu: the plumbing on a machine without a GPU (the
#                        tests; fp32 only, --threads T for every engine)
#   --dry-run            print each step's command, export every model for
#                        TensorRT and check it (tools/trt_bench.py --dry-run);
#                        measures nothing
#
# Environment: PYTHON (python3 with torch, torchvision, onnx; tensorrt for
# that engine), BATCHBENCH_BIN (default build/batchbench; no build here),
# BB_LIB_DIR (its libraries, e.g. from scripts/pack-binary.sh).
#
# Order: per precision, per model, the engines one after the other (so
# drift on the machine hits every engine of a model alike). Each step (one
# engine, one model, one precision, all batch sizes) has its own timeout. A
# batch size whose result is in OUTDIR already (status ok or oom) is not
# run again, and a step with none left is kept: a preset that does not fit
# one call (or one device session: carry OUTDIR to the next) is finished by running
# the same command again (say with --engines or --precisions narrowed), as
# many calls as it takes; every call rewrites the table from everything in
# OUTDIR. A peer that fails writes its reason into its result files, and the
# table's notes say it; the script still finishes.
#
# OUTDIR gets: results/<engine>-<precision>/ (result files), table.md
# (tools/peers_table.py: ms/item, ratios, % of peak, the targets), report/
# (`batchbench report` over every folder: charts and report.md), log.txt,
# results.tar.gz (all of it, for a device call's $OUT), and
# inductor-cache.tar.gz: PyTorch Inductor's cache (TORCHINDUCTOR_CACHE_DIR,
# OUTDIR/inductor-cache unless set). max-autotune times every conv and
# matmul shape (0.4-9 s each on an H200: resnet50 bf16 at batches 32 and 256
# took over 180 s), more than one lease holds for the preset; a call that
# finds OUTDIR/inductor-cache.tar.gz (carried from the last) unpacks it
# first, so what was autotuned once is not autotuned again on the same image.
# Exit: 0 every step ran and every configuration ended ok or oom; 1 no
# batchbench binary; 2 bad arguments; 3 the table was written but a step
# failed, timed out or was skipped (the log and the table say which).
# shellcheck source-path=SCRIPTDIR
set -u

MODELS_ALL=resnet18,resnet34,resnet50,resnet101,resnet152,mobilenet_v2,efficientnet_v2_s,efficientnet_v2_l,vit_b_16,vit_b_32,vit_l_16,vit_l_32
ENGINES_ALL=batchbench,pytorch,pytorch-compile,tensorrt
models=$MODELS_ALL bs=32,64,128,256,512,1024 precisions=bf16,fp32 engines=$ENGINES_ALL
warmup=3 reps=5 compile_mode=max-autotune deadline=560 device=cuda threads="" dry=0

usage() { awk 'NR > 1 && (!/^#/ || /^# shellcheck/) { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "gpu-vs-peers.sh: $*" >&2; exit 2; }
in_list() { [[ ",$2," == *",$1,"* ]]; }
check_list() { # FLAG VALUE ALLOWED: every item of VALUE in ALLOWED
    local v
    [ -n "$2" ] || die "$1: empty list"
    for v in ${2//,/ }; do in_list "$v" "$3" || die "$1: unknown '$v' (expected some of $3)"; done
}
posint() { if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -lt "${3:-1}" ]; then die "$1: '$2' is not an integer >= ${3:-1}"; fi; }

out=""
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --models | --batch-sizes | --precisions | --engines | --warmup | --reps | --compile-mode | --deadline | \
        --device | --threads)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --models) models=$2 ;; --batch-sizes) bs=$2 ;; --precisions) precisions=$2 ;;
        --engines) engines=$2 ;; --warmup) warmup=$2 ;; --reps) reps=$2 ;;
        --compile-mode) compile_mode=$2 ;; --deadline) deadline=$2 ;; --device) device=$2 ;;
        --threads) threads=$2 ;;
        esac
        shift 2 ;;
    --dry-run) dry=1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only ('$out', then '$1')"; out=$1; shift ;;
    esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
check_list --models "$models" "$MODELS_ALL"
check_list --engines "$engines" "$ENGINES_ALL"
check_list --precisions "$precisions" fp32,tf32,fp16,bf16
check_list --compile-mode "$compile_mode" default,reduce-overhead,max-autotune,max-autotune-no-cudagraphs
check_list --device "$device" cuda,cpu
for b in ${bs//,/ }; do posint --batch-sizes "$b"; done
posint --warmup "$warmup" 0; posint --reps "$reps"; posint --deadline "$deadline"
[ -z "$threads" ] || posint --threads "$threads"
[ "$device" = cuda ] || [ "$precisions" = fp32 ] || die "--device cpu: --precisions fp32 only"

# shellcheck source=lib/gpu-libs.sh
. "$(dirname "$0")/lib/gpu-libs.sh"
enter_repo "$out" || exit 2 # OUT, REPO (the working folder now), PY
BIN=${BATCHBENCH_BIN:-$REPO/build/batchbench}
RES=$OUT/results
T0=$(date +%s)
elapsed() { echo $(($(date +%s) - T0)); }
say() { printf '[%4ds] %s\n' "$(elapsed)" "$*"; }
cap() { # the timeout a step may have now (0: too little left to start one)
    local left=$((deadline - 20 - $(elapsed)))
    [ "$left" -lt 15 ] && { echo 0; return; }
    [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}

# missing_sizes DIR MODEL PRECISION: the batch sizes of --batch-sizes without
# a result there that ended ok or oom, comma-separated ("" when none)
missing_sizes() {
    "$PY" - "$1" "$2" "$3" "$bs" <<'PY'
import glob, json, sys
d, model, prec, sizes = sys.argv[1], sys.argv[2], sys.argv[3], [int(b) for b in sys.argv[4].split(",")]
have = set()
for f in glob.glob(d + "/inference_time-*.json"):
    try:
        r = json.load(open(f))
        c = r["config"]
        if c["model"] == model and c["precision"] == prec and r["status"] in ("ok", "oom"):
            have.add(int(c["batch_size"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
print(",".join(str(b) for b in sizes if b not in have))
PY
}

# the command of one step (engine, model, precision, batch sizes) into the array CMD
step_cmd() {
    local e=$1 m=$2 p=$3 bs=$4 dir=$RES/$1-$3 th=()
    [ -n "$threads" ] && th=(--threads "$threads")
    case $e in
    batchbench) CMD=("$BB" run --device "$device" --precision "$p" --models "$m" --batch-sizes "$bs" --head features
        --warmup "$warmup" --reps "$reps" --pause 0 --max-time 120 "${th[@]}" --out "$dir" --no-report) ;;
    pytorch | pytorch-compile) CMD=("$PY" "$REPO/tools/torch_bench.py" --engine "$e" --compile-mode "$compile_mode"
        --device "$device" --precision "$p" --models "$m" --batch-sizes "$bs" --warmup "$warmup" --reps "$reps"
        "${th[@]}" --bin "$BB" --out "$dir") ;;
    tensorrt) CMD=("$PY" "$REPO/tools/trt_bench.py" --precision "$p" --models "$m" --batch-sizes "$bs"
        --warmup "$warmup" --reps "$reps" --bin "$BB" --out "$dir" --onnx-dir "$OUT/onnx") ;;
    esac
}

main() {
    local fails=0 skipped=0 kept=0 ran=0 e m p t rc start todo
    say "gpu-vs-peers: out $OUT; device $device; models $models; batch sizes $bs; precisions $precisions;" \
        "engines $engines; warm-up $warmup, reps $reps; torch.compile mode $compile_mode; deadline ${deadline}s"
    git -C "$REPO" log -1 --format='commit %h %s' 2>/dev/null
    if command -v nvidia-smi >/dev/null; then
        timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit \
            --format=csv
    fi
    echo "python: $(command -v "$PY") $("$PY" --version 2>&1)"
    timeout 120 "$PY" -c 'import torch, torchvision
try:
    import tensorrt; trt = tensorrt.__version__
except ImportError as e:
    trt = f"not importable ({e})"
print("torch", torch.__version__, "cuda", torch.version.cuda, "torchvision", torchvision.__version__,
      "torch.compile", hasattr(torch, "compile"), "tensorrt", trt)' || say "python: torch import failed"
    mkdir -p "$OUT/work"
    export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$OUT/inductor-cache}
    if [ -s "$OUT/inductor-cache.tar.gz" ] && [ ! -d "$TORCHINDUCTOR_CACHE_DIR" ]; then
        if ! mkdir -p "$TORCHINDUCTOR_CACHE_DIR" || ! tar xzf "$OUT/inductor-cache.tar.gz" -C "$TORCHINDUCTOR_CACHE_DIR"; then
            say "inductor-cache.tar.gz: cannot unpack (compiling from scratch)"
        fi
    fi
    say "Inductor's cache: $TORCHINDUCTOR_CACHE_DIR ($(du -sh "$TORCHINDUCTOR_CACHE_DIR" 2>/dev/null | cut -f1 || echo empty))"
    BB=$OUT/work/bb
    [ "$device" = cuda ] && find_gpu_libs "$PY"
    write_bb_wrapper "$BB" "$BIN" "${BB_LIB_DIR:-}" || { say "no batchbench binary at $BIN (make, or BATCHBENCH_BIN)"; exit 1; }
    if [ "$dry" = 1 ] && in_list tensorrt "$engines"; then
        for p in ${precisions//,/ }; do
            "$PY" "$REPO/tools/trt_bench.py" --dry-run --precision "$p" --models "$models" --batch-sizes "$bs" \
                --out "$RES/tensorrt-$p" --onnx-dir "$OUT/onnx" || { say "FAILED: trt_bench.py --dry-run $p"; fails=$((fails + 1)); }
        done
    fi
    for p in ${precisions//,/ }; do
        for m in ${models//,/ }; do
            for e in ${engines//,/ }; do
                if [ "$dry" = 1 ]; then
                    step_cmd "$e" "$m" "$p" "$bs"
                    echo "step $e $m $p: ${CMD[*]}"
                    continue
                fi
                todo=$(missing_sizes "$RES/$e-$p" "$m" "$p")
                if [ -z "$todo" ]; then
                    kept=$((kept + 1))
                    continue
                fi
                [ "$todo" = "$bs" ] || say "$e $m $p: batch sizes $todo left (the others are done)"
                step_cmd "$e" "$m" "$p" "$todo"
                t=$(cap 400)
                if [ "$t" -eq 0 ]; then
                    say "SKIPPED (deadline ${deadline}s): $e $m $p"
                    skipped=$((skipped + 1))
                    continue
                fi
                mkdir -p "$RES/$e-$p"
                start=$(date +%s)
                timeout -k 10 "$t" "${CMD[@]}" >"$OUT/work/step.log" 2>&1
                rc=$?
                sed 's/^/    /' "$OUT/work/step.log"
                ran=$((ran + 1))
                if [ $rc -eq 0 ]; then
                    say "done: $e $m $p ($(($(date +%s) - start)) s)"
                else
                    fails=$((fails + 1))
                    say "$([ $rc -ge 124 ] && [ $rc -ne 125 ] && echo TIMEOUT || echo FAILED): $e $m $p" \
                        "(exit $rc after $(($(date +%s) - start)) s)"
                fi
            done
        done
    done
    [ "$dry" = 1 ] && { say "dry run: $fails failures"; return $((fails ? 3 : 0)); }
    local dirs=() d
    for d in "$RES"/*/; do compgen -G "$d/inference_time-*.json" >/dev/null && dirs+=("${d%/}"); done
    if [ ${#dirs[@]} -eq 0 ]; then
        say "no result files: no table"
        return 3
    fi
    "$PY" "$REPO/tools/peers_table.py" "${dirs[@]}" --title "batchbench against its peers ($device)" >"$OUT/table.md" ||
        fails=$((fails + 1))
    cat "$OUT/table.md"
    "$BB" report "${dirs[@]}" --out "$OUT/report/report.md" >"$OUT/work/report.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || { say "FAILED: batchbench report (exit $rc): $(tail -1 "$OUT/work/report.log")"; fails=$((fails + 1)); }
    tar czf "$OUT/work/results.tar.gz" -C "$OUT" results table.md report 2>/dev/null && mv "$OUT/work/results.tar.gz" "$OUT/"
    if [ -n "$(ls -A "$TORCHINDUCTOR_CACHE_DIR" 2>/dev/null)" ]; then
        tar czf "$OUT/work/inductor-cache.tar.gz" -C "$TORCHINDUCTOR_CACHE_DIR" . && mv "$OUT/work/inductor-cache.tar.gz" "$OUT/"
        say "inductor-cache.tar.gz: $(du -h "$OUT/inductor-cache.tar.gz" | cut -f1) (a device call brings back files of 16 MB at most)"
    fi
    say "summary: steps run $ran, kept from earlier calls $kept, failed or timed out $fails, skipped $skipped"
    [ $((fails + skipped)) -eq 0 ] || return 3
}

main 2>&1 | tee -a "$OUT/log.txt"
exit "${PIPESTATUS[0]}"

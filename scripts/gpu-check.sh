#!/usr/bin/env bash
# gpu-check.sh — one prepared check of batchbench's CUDA backend on one GPU
# (sized for an H100 80GB, under 8 minutes): what is installed where, the
# build, `env`, parity of `infer --device cuda` with `infer --device cpu`
# (12 models x 2 heads x fp32/tf32/bf16), and speed against PyTorch
# (resnet50, efficientnet_v2_s, vit_b_16, vit_l_16 in bf16 and fp32).
#
#   scripts/gpu-check.sh OUTDIR
#
# Environment (all optional):
#   BATCHBENCH_BIN  use this batchbench binary as is (no build)
#   BB_LIB_DIR      with BATCHBENCH_BIN: prepended to LD_LIBRARY_PATH for
#                   batchbench only (e.g. oneDNN / cJSON copied beside it)
#   PYTHON          python with CUDA torch, torchvision, numpy (python3)
#   GPU_CHECK_DEADLINE  seconds after which no step starts and running
#                   steps are cut (default 470); GPU_CHECK_JOBS parallel
#                   GPU parity jobs (default 6)
#   GPU_CHECK_ONNX  imported ONNX models to check on cuda first (issue 18):
#                   "all" (the 25 of tests/onnx/run_onnx_parity.py) or a
#                   comma-separated list; each exported by this machine's
#                   PyTorch, then `infer --device cuda --precision fp32`
#                   against `infer --device cpu` on the same file and input
#                   (the CPU backend is held to ONNX Runtime by make
#                   onnx-parity), batches 1 and 3 -> OUTDIR/onnx-parity.txt
#   GPU_CHECK_ONLY=onnx  stop after that (with the build and env steps)
#
# OUTDIR gets 4 files: log.txt (everything printed), parity.txt, speed.md
# and results.tar.gz (results/bb-<P>, results/torch-<P>: result folders;
# results/compare-<P>: `batchbench report` of both, charts and report.md;
# results/parity/<model>-<head>: the .npy outputs and infer logs).
# Exit 0 only if every step ran and every parity check passed; being slower
# than PyTorch is reported, not a failure.
#
# Budget (an H200 on 2026-11-27, with a prebuilt binary; 333 s in all):
#   what is where + env ......................................  ~12 s
#   build (skipped with BATCHBENCH_BIN) ..................  ~60-120 s
#   parity: 24 CPU references (4 at a time), 72 GPU infers
#           (6 jobs at a time) .................................  ~40 s
#   oom check (vit_l_16 at batch 40000, then batch 2) ........  ~20 s
#   profile of vit_b_16 bf16 at batch 256 ....................  ~2 s
#   measured choices: ResNets' first conv on an input padded to 8
#           channels, then their convs through cuDNN's legacy API
#           (each: resnet50, resnet18 parity; resnet50 timing) .  ~20 s
#           ViT MLPs' GELU in cuBLASLt's epilogue (vit_b_16, vit_b_32
#           parity; vit_b_16, vit_l_16 at 256 timed; not yet run) ~20 s
#   speed bf16: 4 models x 32,128,256,512,1024, warm-up 3, 5 reps,
#           both engines (batchbench 40 s, PyTorch 53 s) .......  ~95 s
#   speed fp32: 4 models x 32,256,1024, warm-up 2, 3 reps, both
#           engines (batchbench 57 s, PyTorch 88 s) ............  ~145 s
#   reports, tar ............................................  ~2 s
# Every step has its own timeout, capped so that nothing runs past the
# deadline (470 s) and the tarball is still written; a step that cannot
# start in time is counted as skipped. bb run also gets --max-time 60 per
# configuration.
# shellcheck source-path=SCRIPTDIR
set -u

usage() { sed -n '2,9p' "$0"; }
if [ $# -ne 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    usage
    [ $# -eq 1 ] && exit 0 || exit 2
fi
mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
# shellcheck source=lib/gpu-libs.sh
. "$REPO/scripts/lib/gpu-libs.sh"

PY=${PYTHON:-python3}
DEADLINE=${GPU_CHECK_DEADLINE:-470}
PJOBS=${GPU_CHECK_JOBS:-6}
RESERVE=20     # seconds kept for reports and the tarball
MODELS="resnet18 resnet34 resnet50 resnet101 resnet152 mobilenet_v2 efficientnet_v2_s efficientnet_v2_l vit_b_16 vit_b_32 vit_l_16 vit_l_32"
SPEED_MODELS=resnet50,efficientnet_v2_s,vit_b_16,vit_l_16
T0=$(date +%s)

elapsed() { echo $(($(date +%s) - T0)); }
say() { printf '[%4ds] %s\n' "$(elapsed)" "$*"; }
# cap SECONDS: the timeout a step may have now (0: no time left for it)
cap() {
    local left=$((DEADLINE - RESERVE - $(elapsed)))
    [ "$left" -lt 15 ] && { echo 0; return; }
    [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}

main() {
    local fails=0 skipped=0 parity_fail=0 parity_n=0 slower=0 compared=0
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || exit 1
    trap 'rm -rf "$WORK"' EXIT
    RES=$WORK/results
    mkdir -p "$RES/parity"

    # step [-o LOG] NAME CAP CMD...: run CMD with a timeout (its output to
    # LOG, else here), say how it went, count a failure or a skip
    step() {
        local log="" name t rc start
        if [ "$1" = -o ]; then log=$2; shift 2; fi
        name=$1
        t=$(cap "$2")
        shift 2
        if [ "$t" -eq 0 ]; then
            say "SKIPPED (deadline ${DEADLINE}s): $name"
            skipped=$((skipped + 1))
            return 125
        fi
        [ -z "$log" ] && say "start: $name (timeout ${t}s)"
        start=$(date +%s)
        if [ -n "$log" ]; then timeout -k 10 "$t" "$@" >"$log" 2>&1; else timeout -k 10 "$t" "$@"; fi
        rc=$?
        if [ $rc -eq 0 ]; then
            say "done: $name ($(($(date +%s) - start))s)"
        elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            say "TIMEOUT: $name after ${t}s${log:+ (log: $log)}"
        else
            say "FAILED: $name (exit $rc, $(($(date +%s) - start))s)${log:+: $(tail -1 "$log")}"
        fi
        [ $rc -eq 0 ] || fails=$((fails + 1))
        return $rc
    }

    # ---- a. what is where -------------------------------------------------
    say "gpu-check: repo $REPO, out $OUT, deadline ${DEADLINE}s"
    git -C "$REPO" log -1 --format='commit %h %s' 2>/dev/null
    git -C "$REPO" status --short 2>/dev/null | head -20
    if command -v nvidia-smi >/dev/null; then
        timeout 30 nvidia-smi -L
        timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit,temperature.gpu \
            --format=csv
    else
        echo "nvidia-smi: not found"
    fi
    if command -v nvcc >/dev/null; then nvcc --version | tail -2; elif [ -x /usr/local/cuda/bin/nvcc ]; then
        /usr/local/cuda/bin/nvcc --version | tail -2
    else echo "nvcc: not found (not on PATH, not /usr/local/cuda/bin)"; fi
    echo "python: $(command -v "$PY") $("$PY" --version 2>&1)"
    timeout 90 "$PY" -c 'import torch, torchvision; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "torchvision", torchvision.__version__, "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))' ||
        { say "FAILED: python torch import"; fails=$((fails + 1)); }
    find_gpu_libs "$PY"
    local cudnn_root=$GPU_CUDNN_ROOT

    # ---- b. build or use the given binary ------------------------------------
    local bin
    if [ -n "${BATCHBENCH_BIN:-}" ]; then
        bin=$BATCHBENCH_BIN
        say "using BATCHBENCH_BIN=$bin (no build)${BB_LIB_DIR:+, BB_LIB_DIR=$BB_LIB_DIR}"
    else
        local mk=(make -j"$(nproc)" CUDA=1)
        [ -n "$cudnn_root" ] && mk+=("CUDNN_ROOT=$cudnn_root")
        if [ ! -x /usr/local/cuda/bin/nvcc ] && command -v nvcc >/dev/null; then
            mk+=("CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")")
        fi
        step "build: ${mk[*]} build/batchbench" 300 "${mk[@]}" build/batchbench
        bin=$REPO/build/batchbench
    fi
    # batchbench (and torch_bench.py's --bin) run through this wrapper, so
    # the library path never reaches PyTorch's own process
    local BB=$WORK/bb
    if ! write_bb_wrapper "$BB" "$bin" "${BB_LIB_DIR:-}"; then
        say "FAILED: no batchbench binary at $bin"
        fails=$((fails + 1))
    fi

    # ---- c. env ----------------------------------------------------------
    step "batchbench env --device cuda --precision bf16" 60 "$BB" env --device cuda --precision bf16

    # ---- d0. imported ONNX models on cuda (GPU_CHECK_ONNX) ---------------------
    if [ -n "${GPU_CHECK_ONNX:-}" ]; then
        step -o "$OUT/onnx-parity.txt" "onnx parity on cuda: $GPU_CHECK_ONNX" 300 "$PY" \
            "$REPO/tests/onnx/run_onnx_parity.py" --bin "$BB" --device cuda --reference cpu --threads 8 \
            --models "$GPU_CHECK_ONNX"
        grep -v '^PASS' "$OUT/onnx-parity.txt" | tail -60
    fi
    if [ "${GPU_CHECK_ONLY:-}" = onnx ]; then
        say "summary (GPU_CHECK_ONLY=onnx): step failures $fails; skipped $skipped; elapsed $(elapsed)s"
        [ $((fails + skipped)) -eq 0 ]
        return
    fi

    # ---- d. parity: cpu vs cuda, 12 models x 2 heads x fp32/tf32/bf16 ---------
    local m h d
    say "parity: ${MODELS// /,} x features,classifier, batch 2, seed 1"
    # the CPU references, 4 at a time (4 threads each); a failed one shows up
    # as "no CPU reference" in the parity table
    local cpu_jobs=0 ct
    for m in $MODELS; do
        for h in features classifier; do
            d=$RES/parity/$m-$h
            mkdir -p "$d"
            ct=$(cap 60)
            [ "$ct" -eq 0 ] && continue
            (OMP_NUM_THREADS=4 timeout -k 5 "$ct" "$BB" infer --device cpu --model "$m" --head "$h" --batch 2 \
                --seed 1 --output "$d/cpu.npy" >"$d/cpu.log" 2>&1 ||
                say "FAILED: infer --device cpu $m $h: $(tail -1 "$d/cpu.log")") &
            cpu_jobs=$((cpu_jobs + 1))
            if [ "$cpu_jobs" -ge 4 ]; then
                wait -n
                cpu_jobs=$((cpu_jobs - 1))
            fi
        done
    done
    wait
    say "parity: CPU references written"
    # one job per (model, head): the three GPU precisions, then compare
    parity_job() {
        local m=$1 h=$2 d=$RES/parity/$1-$2 p t line rc err cos verdict summary=""
        for p in fp32 tf32 bf16; do
            t=$(cap 90)
            if [ "$t" -eq 0 ]; then
                line="skipped (deadline) FAIL"
            elif [ ! -f "$d/cpu.npy" ]; then
                line="no CPU reference (cpu infer failed) FAIL"
            else
                OMP_NUM_THREADS=4 timeout -k 10 "$t" "$BB" infer --device cuda --precision "$p" --model "$m" \
                    --head "$h" --batch 2 --seed 1 --output "$d/gpu_$p.npy" >"$d/gpu_$p.log" 2>&1
                rc=$?
                if [ $rc -ne 0 ]; then
                    line="infer --device cuda exit $rc: $(tail -1 "$d/gpu_$p.log") FAIL"
                else
                    line=$(timeout 60 "$PY" "$REPO/tools/compare_npy.py" "$d/cpu.npy" "$d/gpu_$p.npy" "$p" 2>&1)
                fi
            fi
            err=$(sed -n 's/^max rel err \([^ ]*\) .*/\1/p' <<<"$line")
            cos=$(sed -n 's/.*cosine \([^ ]*\) .*/\1/p' <<<"$line")
            verdict=FAIL
            [[ "$line" == *" PASS" ]] && verdict=PASS
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$h" "$p" "${err:--}" "${cos:--}" "$verdict" \
                "$([ "$verdict" = PASS ] || echo "${line% FAIL}")" >>"$d/records.tsv"
            summary+=" $p $verdict"
            if [ "$p" = bf16 ] && [ "$verdict" = FAIL ] && [ -f "$d/gpu_bf16.npy" ]; then
                bf16_diagnosis "$m" "$h" "$d"
            fi
        done
        say "parity $m $h:$summary"
    }
    # A failed bf16 case, looked at twice more (into bf16-diagnosis.txt, not
    # counted): the same run again (different output = a race), and with
    # cuDNN held to its implicit-GEMM algorithms (passes then = an algorithm
    # with 16-bit intermediates is to blame), its choices logged.
    bf16_diagnosis() {
        local m=$1 h=$2 d=$3 t again impl
        t=$(cap 60)
        [ "$t" -eq 0 ] && return
        OMP_NUM_THREADS=4 timeout -k 10 "$t" "$BB" infer --device cuda --precision bf16 --model "$m" --head "$h" \
            --batch 2 --seed 1 --output "$d/gpu_bf16_again.npy" >/dev/null 2>&1
        again=$(timeout 60 "$PY" "$REPO/tools/compare_npy.py" "$d/gpu_bf16.npy" "$d/gpu_bf16_again.npy" fp32 2>&1)
        t=$(cap 60)
        [ "$t" -eq 0 ] && return
        BATCHBENCH_CUDNN_ALGO=implicit BATCHBENCH_CUDNN_LOG=1 OMP_NUM_THREADS=4 timeout -k 10 "$t" "$BB" infer \
            --device cuda --precision bf16 --model "$m" --head "$h" --batch 2 --seed 1 \
            --output "$d/gpu_bf16_implicit.npy" >"$d/gpu_bf16_implicit.log" 2>&1
        impl=$(timeout 60 "$PY" "$REPO/tools/compare_npy.py" "$d/cpu.npy" "$d/gpu_bf16_implicit.npy" bf16 2>&1)
        printf '%s %s: rerun vs first run: %s\n%s %s: implicit GEMM only vs cpu: %s (choices: %s)\n' \
            "$m" "$h" "$again" "$m" "$h" "$impl" "$d/gpu_bf16_implicit.log" >"$d/diag.txt"
    }
    say "parity: GPU infers, $PJOBS jobs at a time"
    local running=0
    for m in $MODELS; do
        for h in features classifier; do
            parity_job "$m" "$h" &
            running=$((running + 1))
            if [ "$running" -ge "$PJOBS" ]; then
                wait -n
                running=$((running - 1))
            fi
        done
    done
    wait
    {
        printf '%-18s %-10s %-9s %-12s %-11s %s\n' model head precision "max rel err" cosine result
        for m in $MODELS; do
            for h in features classifier; do
                if [ -f "$RES/parity/$m-$h/records.tsv" ]; then
                    while IFS=$'\t' read -r rm rh rp re rc rv rn; do
                        printf '%-18s %-10s %-9s %-12s %-11s %s%s\n' "$rm" "$rh" "$rp" "$re" "$rc" "$rv" "${rn:+  ($rn)}"
                    done <"$RES/parity/$m-$h/records.tsv"
                else
                    printf '%-18s %-10s %-9s %-12s %-11s %s\n' "$m" "$h" all - - "FAIL  (no record)"
                fi
            done
        done
    } >"$OUT/parity.txt"
    parity_n=$(($(wc -l <"$OUT/parity.txt") - 1))
    parity_fail=$(grep -c ' FAIL' "$OUT/parity.txt")
    echo "parity: $((parity_n - parity_fail)) of $parity_n passed (bounds: tools/compare_npy.py)" >>"$OUT/parity.txt"
    cat "$OUT/parity.txt"
    cat "$RES"/parity/*/diag.txt >"$OUT/bf16-diagnosis.txt" 2>/dev/null && cat "$OUT/bf16-diagnosis.txt"

    # ---- d2. out of memory: a batch that cannot fit is recorded as oom and
    # the next configuration still runs ----------------------------------------
    local t
    t=$(cap 90)
    if [ "$t" -gt 0 ]; then
        # fp32 vit_l_16 plans ~6.8 MB of activations per item: batch 10000
        # (68 GB) fitted an H200 once attention needed no q/k/v copies, and
        # ran for minutes; 40000 (~270 GB) fits no single GPU of today
        say "oom: vit_l_16 at batch 40000 (~270 GB of activations), then batch 2"
        timeout -k 10 "$t" "$BB" run --device cuda --models vit_l_16 --batch-sizes 40000,2 --warmup 1 --reps 2 \
            --pause 0 --max-time 30 --out "$RES/oom" --no-report 2>&1 | tail -6
        if "$PY" - "$RES/oom" <<'PY'; then
import glob, json, sys
st = {}
for f in glob.glob(sys.argv[1] + "/inference_time-*.json"):
    d = json.load(open(f))
    st[d["config"]["batch_size"]] = d["status"]
    print(f"  batch {d['config']['batch_size']}: {d['status']} {d['message']}")
sys.exit(0 if st.get(40000) == "oom" and st.get(2) == "ok" else 1)
PY
            say "oom: batch 40000 recorded as oom, batch 2 ran after it: PASS"
        else
            say "oom: FAILED (expected oom then ok)"
            fails=$((fails + 1))
        fi
    else
        say "oom: skipped (deadline)"
        skipped=$((skipped + 1))
    fi

    # ---- d3. where a transformer's bf16 pass spends its time ------------------
    step "profile vit_b_16 bf16 batch 256" 60 "$BB" infer --device cuda --precision bf16 --model vit_b_16 \
        --batch 256 --profile --warmup 2 --reps 3

    # ---- d4. measured choices for the speed sweeps ----------------------------
    # forward_ms SETTING MODEL BATCH: bf16 forward time (median of 5) with the
    # environment SETTING ("" = as is)
    forward_ms() {
        local vt
        vt=$(cap 40)
        [ "$vt" -eq 0 ] && return
        env ${1:+"$1"} timeout -k 5 "$vt" "$BB" infer --device cuda --precision bf16 --model "$2" --batch "$3" \
            --warmup 2 --reps 5 2>&1 | sed -n 's/.*forward \([0-9.]*\) ms.*/\1/p'
    }
    # try_variant VAR VALUE "MODELS" "MODEL:BATCH ...": bf16 parity of MODELS
    # (features, batch 2, against the CPU references) with VAR=VALUE, then
    # each MODEL:BATCH timed without and with it. Only where all pass and it
    # is faster at every timed point do the speed sweeps below run with it
    # (their math_mode says so). Reported, not counted: these are opt-in.
    try_variant() {
        local var=$1 val=$2 ok=1 vm vt line spec base alt
        for vm in $3; do
            d=$RES/parity/$vm-features
            vt=$(cap 40)
            [ "$vt" -eq 0 ] && { say "$var=$val: skipped (deadline)"; return; }
            line=$(env "$var=$val" BATCHBENCH_CUDNN_LOG=1 OMP_NUM_THREADS=4 timeout -k 5 "$vt" "$BB" infer --device cuda --precision bf16 \
                --model "$vm" --batch 2 --seed 1 --output "$d/gpu_bf16_$val.npy" >"$d/gpu_bf16_$val.log" 2>&1 &&
                timeout 60 "$PY" "$REPO/tools/compare_npy.py" "$d/cpu.npy" "$d/gpu_bf16_$val.npy" bf16 2>&1)
            say "$var=$val: parity $vm bf16: ${line:-infer failed: $(tail -1 "$d/gpu_bf16_$val.log")}"
            # what cuda_conv_graph.c did with each conv shape (BATCHBENCH_CUDNN_GRAPH)
            grep -q '^cudnn graph:' "$d/gpu_bf16_$val.log" &&
                say "  cuDNN graph plans: $(grep -c '^cudnn graph:.*: plan (' "$d/gpu_bf16_$val.log") with" \
                    "$(grep -c '^cudnn graph:.*fused epilogue: plan (' "$d/gpu_bf16_$val.log") fused, no engine" \
                    "$(grep -c ': no engine (' "$d/gpu_bf16_$val.log"); e.g. $(grep -m2 '^cudnn graph:' \
                    "$d/gpu_bf16_$val.log" | cut -c1-230 | tr '\n' '|')"
            [[ "$line" == *" PASS" ]] || ok=0
        done
        for spec in $4; do
            base=$(forward_ms "" "${spec%:*}" "${spec#*:}")
            alt=$(forward_ms "$var=$val" "${spec%:*}" "${spec#*:}")
            say "$var=$val: ${spec%:*} bf16 batch ${spec#*:}: forward ${base:-?} ms as is, ${alt:-?} ms with it"
            [ -n "$base" ] && [ -n "$alt" ] && awk -v a="$alt" -v b="$base" 'BEGIN { exit !(a < b) }' || ok=0
        done
        if [ "$ok" = 1 ]; then
            export "${var?}=$val"
            say "$var=$val: passed and faster: the speed sweeps run with it"
        else
            say "$var=$val: the speed sweeps run without it"
        fi
    }
    # ResNets' first conv on an input padded to 8 channels (cuda_ops.c,
    # conv_in_channels), so cuDNN's tensor-core kernels can take it
    try_variant BATCHBENCH_CUDA_PAD_INPUT 1 "resnet50 resnet18" "resnet50:32 resnet50:256"
    # ResNets' convs through cuDNN's legacy API and the epilogue pass, not as
    # cuDNN graphs with the epilogue fused (cuda_conv_graph.c; on the H200
    # the graphs ran bf16 resnet50 at batch 32 in 1.58 ms against 3.60)
    try_variant BATCHBENCH_CUDNN_GRAPH 0 "resnet50 resnet18" "resnet50:32 resnet50:256"
    # 16-bit ViT MLPs' bias + GELU in cuBLASLt's epilogue (its tanh form of
    # GELU) instead of the separate exact-GELU pass (cuda_ops.c, lower_linear)
    try_variant BATCHBENCH_CUDA_GELU 1 "vit_b_16 vit_b_32" "vit_b_16:256 vit_l_16:256"

    # ---- e. speed against PyTorch ---------------------------------------------
    : >"$OUT/speed.md"
    local p bs wu reps cmp_out n k
    for p in bf16 fp32; do
        if [ "$p" = bf16 ]; then bs=32,128,256,512,1024 wu=3 reps=5; else bs=32,256,1024 wu=2 reps=3; fi
        step "batchbench run $p ($SPEED_MODELS; $bs; warm-up $wu, reps $reps)" 170 \
            "$BB" run --device cuda --precision "$p" --models "$SPEED_MODELS" --batch-sizes "$bs" --head features \
            --warmup "$wu" --reps "$reps" --pause 0 --max-time 60 --out "$RES/bb-$p" --no-report
        step "torch_bench $p" 170 "$PY" "$REPO/tools/torch_bench.py" --device cuda --precision "$p" \
            --models "$SPEED_MODELS" --batch-sizes "$bs" --head features --warmup "$wu" --reps "$reps" \
            --bin "$BB" --out "$RES/torch-$p"
        "$PY" - "$RES/bb-$p" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/inference_time-*.json")):
    d = json.load(open(f))
    c = d["config"]
    if d["status"] != "ok":
        print(f"  batchbench {c['model']} batch {c['batch_size']}: {d['status']}: {d['message']}")
    elif c["batch_size"] == 256:
        print(f"  {c['model']} 256: {c['math_mode']}; peak {d['memory']['peak_bytes'] >> 20} MiB")
PY
        cmp_out=$(timeout 60 "$PY" "$REPO/tools/gpu_compare.py" "$RES/bb-$p" "$RES/torch-$p" \
            --title "$p: batchbench vs PyTorch (warm-up $wu, $reps reps)" 2>&1)
        printf '%s\n\n' "$cmp_out" | tee -a "$OUT/speed.md"
        n=$(sed -n 's/^compared \([0-9]*\), slower \([0-9]*\).*/\1/p' <<<"$cmp_out")
        k=$(sed -n 's/^compared \([0-9]*\), slower \([0-9]*\).*/\2/p' <<<"$cmp_out")
        compared=$((compared + ${n:-0}))
        slower=$((slower + ${k:-0}))
    done
    command -v nvidia-smi >/dev/null &&
        timeout 30 nvidia-smi --query-gpu=clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
            --format=csv

    # charts and report.md of both engines per precision (exit 3 = something
    # marked, e.g. a missing configuration: reported, not counted)
    RESERVE=5
    local dirs
    for p in bf16 fp32; do
        dirs=()
        for d in "$RES/bb-$p" "$RES/torch-$p"; do
            compgen -G "$d/inference_time-*.json" >/dev/null && dirs+=("$d")
        done
        [ ${#dirs[@]} -gt 0 ] || { say "report $p: no result files, skipped"; continue; }
        step "batchbench report $p" 60 "$BB" report "${dirs[@]}" --out "$RES/compare-$p/report.md"
        if [ $? -eq 3 ]; then
            fails=$((fails - 1))
            say "report $p: written, with warnings (exit 3: see above)"
        fi
    done
    # every result file written above (batchbench's and torch_bench.py's, the
    # GPU blocks included) against the result schema, where jsonschema is
    if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
        step "result schema (docs/result.schema.json)" 60 /usr/bin/python3 "$REPO/tests/cli/validate_results.py" \
            --current "$REPO/docs/result.schema.json" "$RES"
    else
        say "result schema: not checked (no python3-jsonschema)"
    fi
    if tar czf "$OUT/results.tar.gz" -C "$WORK" results; then
        say "wrote $OUT/results.tar.gz ($(du -h "$OUT/results.tar.gz" | cut -f1))"
    else
        say "FAILED: tar"
        fails=$((fails + 1))
    fi

    say "summary: parity failures $parity_fail of $parity_n; slower than PyTorch $slower of $compared;" \
        "step failures $fails; skipped $skipped; elapsed $(elapsed)s"
    [ $((parity_fail + fails + skipped)) -eq 0 ]
}

main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"

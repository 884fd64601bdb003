#!/usr/bin/env bash
# gpu-session.sh — what the open issues still owe a GPU, in one prepared call
# for a lent machine (one command of at most 10 minutes), most owed first,
# each part under what is left of one deadline:
#   1. energy (issue 21): resnet50 and vit_b_16 at batch 32 and 256, bf16 and
#      fp32, `batchbench run --device cuda` with NVML's energy counter around
#      each configuration's energy pass; J/item, items/J, power and the
#      pass's busy share per configuration, and `batchbench report` of them
#      (the energy-optimal batch size); ~47 s on an H200, 2026-12-04
#   2. the importer's op cases on cuda (issue 18): scripts/gpu-ops.sh on the
#      op_*.onnx files of tests/onnx/make_bad_models.py (--ops DIR, written
#      beforehand where python3-onnx is, or here when it is importable),
#      each against numpy's answer: the CUDA lowerings no model reaches;
#      with ONNX's own conformance cases that pass on the CPU where --ops
#      holds them too (tests/onnx/run_node_tests.py --write DIR), 8 at a time
#   3. imported ONNX models on cuda (issue 18): scripts/gpu-check.sh with
#      GPU_CHECK_ONNX=<--onnx-models> GPU_CHECK_ONLY=onnx (default all 25
#      exported models; on an H200, 2026-12-04, the first 11 (the zoo's)
#      took 280 s, efficientnet_v2_l 81 s and vit_l_16 58 s of it, and 9
#      of the others 51 s: "all" does not fit one 300 s step), `infer
#      --device cuda` against `infer --device cpu` on the same file)
#   4. attention through cuDNN's SDPA (issue 22; src/backends/cuda/cuda_sdpa.c,
#      never run before): bf16 parity of vit_b_16 with cuda.attention=cudnn
#      against the CPU, then the forward time of vit_b_16 at batch 32 and 256
#      and vit_l_16 at 256 with the kernel (fused), cuDNN's SDPA (cudnn) and
#      the choice timed per shape (measured), in log.txt; ~1-2 minutes
#   5. against the peers (issue 22): scripts/gpu-vs-peers.sh with the time
#      left, bf16 first; what it does not reach, a later session continues
#      from results.tar.gz (carry it back, unpack it into the same OUTDIR)
#
#   scripts/gpu-session.sh OUTDIR [--deadline S] [--skip energy,ops,attention,onnx,peers]
#                          [--work DIR] [--peers-args "ARGS"] [--onnx-models LIST]
#                          [--inductor-cache FILE] [--ops DIR]
#
# --work DIR: the working folder (default OUTDIR/work); give one outside a
# device call's $OUT, which brings back 8 files at most. --peers-args: passed
# to gpu-vs-peers.sh as extra options (word-split), e.g. "--models resnet50
# --batch-sizes 32,256" to fit the time left (torch.compile max-autotune
# autotunes each conv and matmul shape for 0.4-9 s: resnet50 bf16 at
# batches 32 and 256 did not finish in a 180 s step on an H200, 2026-12-04).
# --onnx-models: the models of part 3 ("all", or a comma-separated list).
# --ops DIR: part 2's op cases (default: written into the working folder
# when python3-onnx is importable there); GPU_OPS_JOBS: how many at a time
# (default 8).
# --inductor-cache FILE: an inductor-cache.tar.gz an earlier lease brought
# back (gpu-vs-peers.sh), for part 5's torch.compile; the new one comes back
# in OUTDIR.
#
# Environment: as scripts/gpu-check.sh (PYTHON, BATCHBENCH_BIN, BB_LIB_DIR);
# GPU_OPS_DEVICE=cpu runs part 2 on the CPU (the tests check the plumbing so).
# OUTDIR gets at most 8 files (what a device call brings back): log.txt,
# energy.txt, ops-cuda.txt, onnx-parity.txt, peers-table.md, results.tar.gz (the energy
# results and report, the peers' results, table and report) and
# inductor-cache.tar.gz (when torch.compile ran).
# Exit: 0 every part ran (but those --skip names) and passed its own checks,
# 1 a part failed or had no time left, 2 bad arguments.
# shellcheck source-path=SCRIPTDIR
set -u

usage() { awk 'NR > 1 && (!/^#/ || /^# shellcheck/) { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "gpu-session.sh: $*" >&2; exit 2; }
out="" deadline=540 skip="" work="" peers_args="" onnx_models=all inductor_cache="" ops=""
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --deadline)
        if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then die "--deadline needs seconds"; fi
        deadline=$2
        shift 2 ;;
    --skip) [ $# -ge 2 ] || die "--skip needs a list"; skip=$2; shift 2 ;;
    --work)
        if [ $# -lt 2 ] || [ -z "$2" ]; then die "--work needs a folder"; fi
        work=$2
        shift 2 ;;
    --peers-args) [ $# -ge 2 ] || die "--peers-args needs options"; peers_args=$2; shift 2 ;;
    --inductor-cache)
        if [ $# -lt 2 ] || [ ! -s "$2" ]; then die "--inductor-cache needs an existing inductor-cache.tar.gz"; fi
        inductor_cache=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
        shift 2 ;;
    --ops)
        if [ $# -lt 2 ] || [ ! -s "$2/x2.npy" ]; then die "--ops needs a folder of op cases (make_bad_models.py)"; fi
        ops=$(cd "$2" && pwd)
        shift 2 ;;
    --onnx-models)
        if [ $# -lt 2 ] || [ -z "$2" ]; then die "--onnx-models needs a list"; fi
        onnx_models=$2
        shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only"; out=$1; shift ;;
    esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
for s in ${skip//,/ }; do
    [[ ",energy,ops,attention,onnx,peers," == *",$s,"* ]] || die "--skip: unknown part '$s' (energy, ops, attention, onnx, peers)"
done
# shellcheck source=lib/gpu-libs.sh
. "$(dirname "$0")/lib/gpu-libs.sh"
enter_repo "$out" || exit 2 # OUT, REPO (the working folder now), PY
T0=$(date +%s)
left() { echo $((deadline - ($(date +%s) - T0))); }
say() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
skipped() { [[ ",$skip," == *",$1,"* ]]; }

# Part 4: bf16 parity of vit_b_16 (features, batch 2, seed 1) with the
# kernel and with cuDNN's SDPA against the CPU's fp32 answer
# (tools/compare_npy.py), then the forward time (median of 5) under each
# cuda.attention choice, with what cuda_sdpa.c timed and chose.
attention_part() {
    local d=$1 w=$2 a line spec ms rc=0
    mkdir -p "$d"
    if ! OMP_NUM_THREADS=8 timeout -k 5 90 "$w/bb" infer --device cpu --model vit_b_16 --batch 2 --seed 1 \
        --output "$d/cpu.npy" >"$d/cpu.log" 2>&1; then
        say "attention: the CPU reference failed: $(tail -1 "$d/cpu.log")"
        return 1
    fi
    for a in fused cudnn; do
        line=$(timeout -k 5 60 "$w/bb" infer --device cuda --precision bf16 --model vit_b_16 --batch 2 --seed 1 \
            --backend-opt "cuda.attention=$a" --backend-opt cuda.cudnn_log=choices --output "$d/$a.npy" \
            >"$d/$a.log" 2>&1 && timeout 60 "$PY" "$REPO/tools/compare_npy.py" "$d/cpu.npy" "$d/$a.npy" bf16 2>&1)
        say "attention=$a: parity vit_b_16 bf16: ${line:-infer failed: $(tail -1 "$d/$a.log")}"
        grep -m3 '^cudnn sdpa:' "$d/$a.log"
        [[ "$line" == *" PASS" ]] || rc=1
    done
    for spec in vit_b_16:32 vit_b_16:256 vit_l_16:256; do
        for a in fused cudnn measured; do
            [ "$(left)" -gt 40 ] || { say "attention: no time left for $spec"; return 1; }
            timeout -k 5 60 "$w/bb" infer --device cuda --precision bf16 --model "${spec%:*}" --batch "${spec#*:}" \
                --warmup 2 --reps 5 --backend-opt "cuda.attention=$a" --backend-opt cuda.cudnn_log=choices \
                >"$d/time-$a.log" 2>&1
            ms=$(sed -n 's/.*forward \([0-9.]*\) ms.*/\1/p' "$d/time-$a.log")
            say "attention=$a: ${spec%:*} bf16 batch ${spec#*:}: forward ${ms:-? ($(tail -1 "$d/time-$a.log"))} ms;" \
                "$(grep -o 'attention: [^;]*' "$d/time-$a.log" | head -1)"
            [ -n "$ms" ] || rc=1
        done
    done
    return $rc
}

main() {
    local failed=0 w=${work:-$OUT/work} t
    mkdir -p "$w" || { say "cannot make the working folder $w"; return 1; }
    say "gpu-session: out $OUT, deadline ${deadline}s; $(git -C "$REPO" log -1 --format='commit %h' 2>/dev/null)"
    command -v nvidia-smi >/dev/null && timeout 30 nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv
    find_gpu_libs "$PY" >"$w/libs.txt"
    write_bb_wrapper "$w/bb" "${BATCHBENCH_BIN:-$REPO/build/batchbench}" "${BB_LIB_DIR:-}" || {
        say "no batchbench binary (make CUDA=1, or BATCHBENCH_BIN)"
        return 1
    }

    # 1. energy ---------------------------------------------------------------
    if skipped energy; then
        say "energy: skipped (--skip)"
    else
        local p
        for p in bf16 fp32; do
            t=$(left)
            [ "$t" -gt 60 ] || { say "energy $p: no time left"; failed=1; continue; }
            timeout -k 10 $((t < 150 ? t - 30 : 120)) "$w/bb" run --device cuda --precision "$p" --models resnet50,vit_b_16 \
                --batch-sizes 32,256 --warmup 3 --reps 20 --pause 0 --out "$w/energy/$p" --no-report \
                >"$w/energy-$p.log" 2>&1 || { say "energy $p: batchbench run failed: $(tail -1 "$w/energy-$p.log")"; failed=1; }
        done
        "$PY" - "$w/energy" >"$OUT/energy.txt" <<'PY' || failed=1
import glob, json, sys
rows = []
for f in sorted(glob.glob(sys.argv[1] + "/*/inference_time-*.json")):
    r = json.load(open(f))
    c, e = r["config"], r.get("energy") or {}
    if e.get("available"):
        peak = "n/a" if e["peak_power_w"] is None else f"{e['peak_power_w']:.1f} W"  # one power reading: no peak
        rows.append(f"{c['model']:10s} {c['precision']:5s} batch {c['batch_size']:4d}: {e['joules_per_item'] * 1e3:8.3f} mJ/item, "
                    f"{e['items_per_joule']:8.1f} items/J, mean {e['mean_power_w']:6.1f} W, peak {peak} "
                    f"({e['source']}, {e.get('batches', '?')} batches in {e['seconds']:.2f} s, busy {e.get('busy') or 0:.2f}); "
                    f"{r['stats']['per_item_median_s'] * 1e3:.4f} ms/item")
    else:
        rows.append(f"{c['model']:10s} {c['precision']:5s} batch {c['batch_size']:4d}: {r['status']}, energy unavailable: {e.get('why')}")
print("\n".join(rows) or "no energy results")
sys.exit(0 if rows and all("mJ/item" in x for x in rows) else 1)
PY
        cat "$OUT/energy.txt"
        "$w/bb" report "$w"/energy/* --out "$w/energy/report/report.md" >"$w/energy-report.log" 2>&1
        grep -i -m3 'energy' "$w/energy/report/report.md" 2>/dev/null
    fi

    # 2. the importer's op cases on cuda ------------------------------------------
    if skipped ops; then
        say "ops: skipped (--skip)"
    else
        t=$(left)
        if [ -z "$ops" ] && "$PY" "$REPO/tests/onnx/make_bad_models.py" "$w/ops" >"$w/ops-make.log" 2>&1; then
            ops=$w/ops
        fi
        if [ -z "$ops" ]; then
            say "ops: no op cases (no python3-onnx here: $(tail -1 "$w/ops-make.log"); carry them with --ops DIR)"
            failed=1
        elif [ "$t" -gt 60 ]; then
            PYTHON=$PY BATCHBENCH_BIN="$w/bb" "$REPO/scripts/gpu-ops.sh" "$ops" "$OUT/ops-cuda.txt" \
                --device "${GPU_OPS_DEVICE:-cuda}" --jobs "${GPU_OPS_JOBS:-8}" --deadline $((t > 180 ? 120 : t - 60)) || failed=1
            grep -v '^PASS' "$OUT/ops-cuda.txt" | tail -20
        else
            say "ops: no time left"
            failed=1
        fi
    fi

    # 3. imported ONNX models on cuda ----------------------------------------------
    if skipped onnx; then
        say "onnx: skipped (--skip)"
    else
        t=$(left)
        if [ "$t" -gt 120 ]; then
            GPU_CHECK_ONNX=$onnx_models GPU_CHECK_ONLY=onnx GPU_CHECK_DEADLINE=$((t > 300 ? 300 : t - 60)) \
                BATCHBENCH_BIN=${BATCHBENCH_BIN:-$REPO/build/batchbench} "$REPO/scripts/gpu-check.sh" "$w/onnx" \
                >"$w/onnx.log" 2>&1 || failed=1
            cp "$w/onnx/onnx-parity.txt" "$OUT/" 2>/dev/null
            tail -3 "$w/onnx.log"
            grep -v '^PASS' "$OUT/onnx-parity.txt" 2>/dev/null | tail -30
        else
            say "onnx: no time left"
            failed=1
        fi
    fi

    # 4. attention through cuDNN's SDPA -----------------------------------------------
    if skipped attention; then
        say "attention: skipped (--skip)"
    elif [ "$(left)" -gt 120 ]; then
        attention_part "$w/attention" "$w" || failed=1
    else
        say "attention: no time left"
        failed=1
    fi

    # 5. against the peers -----------------------------------------------------------
    if skipped peers; then
        say "peers: skipped (--skip)"
    else
        t=$(left)
        if [ "$t" -gt 60 ]; then
            if [ -n "$inductor_cache" ]; then mkdir -p "$w/peers" && cp "$inductor_cache" "$w/peers/inductor-cache.tar.gz"; fi
            # shellcheck disable=SC2086  # $peers_args: options, split on purpose
            "$REPO/scripts/gpu-vs-peers.sh" --deadline $((t - 25)) $peers_args "$w/peers" >"$w/peers.log" 2>&1 || failed=1
            cp "$w/peers/table.md" "$OUT/peers-table.md" 2>/dev/null
            cp "$w/peers/inductor-cache.tar.gz" "$OUT/" 2>/dev/null
            grep -E '^\[|^target|compared' "$w/peers.log" | tail -40
        else
            say "peers: no time left"
            failed=1
        fi
    fi
    tar czf "$OUT/results.tar.gz" -C "$w" --exclude='*.onnx' --exclude='inductor-cache*' energy peers 2>/dev/null
    say "gpu-session: done, $([ $failed = 0 ] && echo 'every part run passed' || echo 'a part failed or ran out of time (see above)')${skip:+; skipped (--skip): $skip}"
    return $failed
}

main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"

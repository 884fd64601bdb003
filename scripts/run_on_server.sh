#!/usr/bin/env bash
# run_on_server.sh — reproduce the seed's experiment on a GPU server, as the
# original run script did, and set PyTorch beside it: build, pick the GPU, pin
# the CPUs, run the paper preset (all 12 models, batch sizes 32..1024, 10
# warm-up passes on a random batch + 10 measured batches read from a stored
# data set of 10,240 random items, each copied to the device outside the
# clock, 2 s pause; charts of the mean +- 2 sd in seconds, as the seed's), run
# the same sweep in PyTorch on the same stored items (tools/torch_bench.py),
# write a report comparing the two, and pack the results folder.
#
#   scripts/run_on_server.sh [--gpu ID] [--cpus LIST] [--out DIR] [--precision P]
#                            [--device auto|cuda|cpu] [--models LIST] [--batch-sizes LIST]
#                            [--warmup N] [--reps N] [--input dataset|memory]
#                            [--no-pytorch] [--no-build]
#                            [-- extra flags for batchbench run]
#
# --gpu ID          the GPU to use (sets CUDA_VISIBLE_DEVICES; default 0)
# --cpus LIST       CPUs to pin to with taskset, e.g. 0-63 (the original used 64
#                   of 128 threads); default: no pinning
# --out DIR         results folder (default results-<host>-<date>); PyTorch's
#                   results go to DIR/pytorch, the comparison to
#                   DIR/vs-pytorch/report.md, everything into DIR.tar.gz
# --precision P     fp32 (default, strict), tf32, fp16 or bf16, for both engines
# --device D        auto (default): cuda when the binary has CUDA and a GPU is
#                   usable, else cpu; both engines run on the same device
# --models, --batch-sizes, --warmup, --reps   override the paper preset (both)
# --input I         dataset (default, the seed's): batches read from the data
#                   set batchbench keeps in $BATCHBENCH_CACHE (else
#                   $XDG_CACHE_HOME/batchbench, else ~/.cache/batchbench),
#                   random-10240 (6.2 GB, made on the first run); memory: one
#                   random batch reused
# --no-pytorch      batchbench only (also when python3 has no torch/torchvision)
# --no-build        use the binary as it is (no install-deps, no make)
# BATCHBENCH_BIN: the binary (default ./build/batchbench).
# PYTHON: the python with PyTorch (default python3; on cuda it needs a CUDA
# build of torch). To check the CUDA backend first (parity with the CPU, speed
# against PyTorch, under 8 minutes): scripts/gpu-check.sh OUTDIR.
# Exit codes: 0 all ok; 1 a configuration of either engine did not end ok, or
# a step failed; 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=0 cpus='' out="results-$(hostname)-$(date +%Y%m%d-%H%M%S)" prec=fp32 device=auto
models=all batches=32,128,256,512,1024 warmup=10 reps=10 torch=1 build=1 input=dataset
while [ $# -gt 0 ]; do
    case "$1" in
    --gpu | --cpus | --out | --precision | --device | --models | --batch-sizes | --warmup | --reps | --input)
        [ $# -ge 2 ] || { echo "run_on_server.sh: $1 needs a value" >&2; exit 2; }
        case "$1" in
        --gpu) gpu=$2 ;; --cpus) cpus=$2 ;; --out) out=$2 ;; --precision) prec=$2 ;;
        --device) device=$2 ;; --models) models=$2 ;; --batch-sizes) batches=$2 ;;
        --warmup) warmup=$2 ;; --reps) reps=$2 ;; --input) input=$2 ;;
        esac
        shift 2 ;;
    --no-pytorch) torch=0; shift ;;
    --no-build) build=0; shift ;;
    --) shift; break ;;
    -h|--help) awk 'NR > 1 && /^set -e/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "run_on_server.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$device" in auto|cuda|cpu) ;; *) echo "run_on_server.sh: --device: '$device' is not auto, cuda or cpu" >&2; exit 2 ;; esac
case "$input" in dataset|memory) ;; *) echo "run_on_server.sh: --input: '$input' is not dataset or memory" >&2; exit 2 ;; esac
if [ "$build" = 1 ]; then
    bash scripts/install-deps.sh
    make -j"$(nproc)"
fi
BB=${BATCHBENCH_BIN:-./build/batchbench}
export CUDA_VISIBLE_DEVICES=$gpu
pin=()
threads=$(nproc)
if [ -n "$cpus" ]; then
    pin=(taskset -c "$cpus")
    threads=$(taskset -c "$cpus" nproc)
    export OMP_NUM_THREADS=$threads
fi
"$BB" env >/dev/null # fail early if the binary cannot run
if [ "$device" = auto ]; then
    device=cpu
    "$BB" env --device cuda >/dev/null 2>&1 && device=cuda
fi
echo "run_on_server.sh: device $device, precision $prec, models $models, batch sizes $batches, input $input"
rc=0
"${pin[@]}" "$BB" run --preset paper --device "$device" --precision "$prec" --models "$models" \
    --batch-sizes "$batches" --warmup "$warmup" --reps "$reps" --threads "$threads" --input "$input" \
    --out "$out" "$@" || rc=1
data=()
if [ "$input" = dataset ]; then # the set batchbench read (config.data_dir of its results)
    dir=$(python3 -c 'import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/inference_time-*.json")):
    c = json.load(open(f))["config"]
    if c.get("data_dir"):
        print(c["data_dir"]); break' "$out")
    [ -n "$dir" ] && data=(--data "$dir")
fi
PY=${PYTHON:-python3}
if [ "$torch" = 1 ] && ! "$PY" -c 'import torch, torchvision' 2>/dev/null; then
    echo "run_on_server.sh: $PY has no torch/torchvision: PyTorch's side skipped (set PYTHON)" >&2
    torch=0
fi
if [ "$torch" = 1 ]; then
    "${pin[@]}" "$PY" tools/torch_bench.py --device "$device" --precision "$prec" --models "$models" \
        --batch-sizes "$batches" --warmup "$warmup" --reps "$reps" --threads "$threads" \
        --bin "$BB" --out "$out/pytorch" "${data[@]}" || rc=1
    # exit 3 = written, but a configuration was oom/timeout/error (named above)
    "$BB" report "$out" "$out/pytorch" --out "$out/vs-pytorch/report.md" --stat mean --units s || [ $? -eq 3 ] || rc=1
fi
tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
vs=
[ "$torch" = 1 ] && vs="; batchbench vs PyTorch: $out/vs-pytorch/report.md"
echo "run_on_server.sh: results in $out/ and $out.tar.gz$vs (exit $rc)"
exit $rc

#!/usr/bin/env bash
# run_on_server.sh — reproduce the seed's experiment on a GPU server, as the
# original run script did: build, pick the GPU, pin the CPUs, run the paper
# preset (all 12 models, batch sizes 32..1024, 10 warm-up + 10 measured
# batches, 2 s pause), and pack the results folder.
#
#   scripts/run_on_server.sh [--gpu ID] [--cpus LIST] [--out DIR] [-- extra run flags]
#
# --gpu ID     the GPU to use (sets CUDA_VISIBLE_DEVICES; default 0)
# --cpus LIST  CPUs to pin to with taskset, e.g. 0-63 (the original used 64
#              of 128 threads); default: no pinning
# --out DIR    results folder (default results-<host>-<date>)
# --device auto uses the GPU when the build has CUDA and a GPU is present, else the CPU.
# To check the CUDA backend first (parity with the CPU, speed against
# PyTorch, under 8 minutes): scripts/gpu-check.sh OUTDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
gpu=0 cpus= out="results-$(hostname)-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
    case "$1" in
    --gpu) gpu=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run_on_server.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
bash scripts/install-deps.sh
make -j"$(nproc)"
export CUDA_VISIBLE_DEVICES=$gpu
pin=()
if [ -n "$cpus" ]; then
    pin=(taskset -c "$cpus")
    export OMP_NUM_THREADS=$(taskset -c "$cpus" nproc)
fi
./build/batchbench env > /dev/null   # fail early if the binary cannot run
set +e
"${pin[@]}" ./build/batchbench run --preset paper --device auto --out "$out" "$@"
rc=$?
set -e
tar czf "$out.tar.gz" "$out"
echo "run_on_server.sh: results in $out/ and $out.tar.gz (batchbench exit $rc)"
exit $rc

#!/usr/bin/env bash
# test_cli.sh — the command line as a user meets it: exit codes (0 ok,
# 1 runtime failure, 2 bad arguments), messages that name the flag, file or
# tensor at fault, `models` equal to the reference table, and a good infer.
# Usage: tests/cli/test_cli.sh path/to/batchbench
set -u
bin=${1:?usage: test_cli.sh path/to/batchbench}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# expect CODE "substring of stderr+stdout" -- args...
expect() {
    local code=$1 want=$2; shift 3
    local out rc
    out=$("$bin" "$@" 2>&1); rc=$?
    if [ "$rc" -eq "$code" ] && [[ "$out" == *"$want"* ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL: batchbench %s\n  want exit %s and "%s"\n  got exit %s: %s\n' "$*" "$code" "$want" "$rc" "$(echo "$out" | tail -3)"
    fi
}

/usr/bin/python3 "$here/make_bad_files.py" "$tmp" || { echo "cli: could not make test files"; exit 1; }

# usage errors: exit 2, message names the flag
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "usage: batchbench" --
expect 2 "--model is required" -- infer
expect 2 "unknown model 'resnet19'" -- infer --model resnet19
expect 2 "--batch: 0 is out of range" -- infer --model resnet18 --batch 0
expect 2 "--batch: -3 is out of range" -- infer --model resnet18 --batch -3
expect 2 "--batch: '8x' is not an integer" -- infer --model resnet18 --batch 8x
expect 2 "--threads: 0 is out of range" -- infer --model resnet18 --threads 0
expect 2 "--seed: '-1' must not be negative" -- infer --model resnet18 --seed -1
expect 2 "--head: 'logits' is not one of" -- infer --model resnet18 --head logits
expect 2 "unexpected argument 'extra'" -- infer --model resnet18 extra
expect 2 "--head: 'x' is not one of" -- models --head x
expect 2 "--device: 'tpu' is not one of cpu, cuda" -- env --device tpu
expect 2 "--precision: 'fp64' is not one of" -- env --precision fp64
expect 2 "--precision: 'fp64' is not one of" -- infer --model resnet18 --precision fp64
expect 2 "--device: 'gpu' is not one of cpu, cuda, auto" -- infer --model resnet18 --device gpu
expect 0 "usage: batchbench infer" -- infer --help
expect 0 "--device cpu|cuda" -- env --help
expect 0 "usage: batchbench models" -- models --help

# bad files: exit 1, message names the file and the tensor / problem
expect 1 "nonexistent.safetensors" -- infer --model resnet18 --weights "$tmp/nonexistent.safetensors"
expect 1 "missing tensor 'bn1.weight'" -- infer --model resnet18 --weights "$tmp/missing.safetensors"
expect 1 "unexpected tensor 'foo.weight'" -- infer --model resnet18 --weights "$tmp/unexpected.safetensors"
expect 1 "tensor 'conv1.weight': dtype F16, expected F32" -- infer --model resnet18 --weights "$tmp/dtype.safetensors"
expect 1 "tensor 'conv1.weight': shape [64,3,3,3], expected [64,3,7,7]" -- infer --model resnet18 --weights "$tmp/shape.safetensors"
expect 1 "truncated.safetensors" -- infer --model resnet18 --weights "$tmp/truncated.safetensors"
expect 1 "corrupt.safetensors" -- infer --model resnet18 --weights "$tmp/corrupt.safetensors"
expect 1 "oversized" -- infer --model resnet18 --weights "$tmp/oversized.safetensors"
expect 1 "f64.npy: dtype '<f8', expected float32" -- infer --model resnet18 --input "$tmp/f64.npy"
expect 1 "shape.npy: input must have shape [N,3,224,224]" -- infer --model resnet18 --input "$tmp/shape.npy"
expect 1 "truncated.npy: truncated" -- infer --model resnet18 --input "$tmp/truncated.npy"
expect 1 "/nonexistent-dir/y.npy" -- infer --model mobilenet_v2 --output /nonexistent-dir/y.npy

# devices and precisions: the CPU runs fp32, and bf16 where it has AVX512-BF16
# or AMX; without a GPU, cuda is a runtime failure naming the flag and auto
# falls back to the CPU
expect 1 "--precision fp16: the CPU backend runs fp32 or bf16" -- infer --model resnet18 --device cpu --precision fp16
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
    expect 0 "output shape [2,512]" -- infer --model resnet18 --batch 2 --precision bf16
    expect 0 "unprofiled forward" -- profile --model vit_b_32 --batch 1 --reps 1 --precision bf16
else
    expect 1 "--precision bf16: this CPU has neither AVX512-BF16 nor AMX" -- infer --model resnet18 --precision bf16
fi
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    expect 1 "batchbench infer: --device cuda: " -- infer --model resnet18 --device cuda
    expect 1 "--device auto found no GPU" -- infer --model resnet18 --device auto --precision tf32
    expect 0 "output shape [1,512]" -- infer --model resnet18 --device auto
fi

# `env --device cuda`: without a GPU, exit 1 naming the flag; with one, the
# JSON holds the GPU block (or, in a build without CUDA, exit 1 saying so)
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    expect 1 "batchbench env: --device cuda: " -- env --device cuda
elif "$bin" env --device cuda --precision bf16 --json > "$tmp/env.json" 2>"$tmp/env.err"; then
    if /usr/bin/python3 -c "import json, sys; g = json.load(open('$tmp/env.json'))['gpu']; sys.exit(0 if g['present'] and g['sm_count'] > 0 and g['precision'] == 'bf16' else 1)"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: env --device cuda --json: $(head -c 400 "$tmp/env.json")"
    fi
else
    expect 1 "batchbench env: --device cuda: this build has no CUDA" -- env --device cuda
fi
if "$bin" env --json | /usr/bin/python3 -c "import json, sys; sys.exit(0 if json.load(sys.stdin)['gpu'] is None else 1)"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL: env --json: environment.gpu is not null on the CPU"
fi

# a good pass: the input's N wins over --batch, the output is [N,D]
expect 0 "output shape [2,1280]" -- infer --model mobilenet_v2 --batch 5 --input "$tmp/good.npy" --output "$tmp/y.npy"
if /usr/bin/python3 -c "import numpy as n, sys; a = n.load('$tmp/y.npy'); sys.exit(0 if a.shape == (2, 1280) and n.isfinite(a).all() else 1)"; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL: infer --output did not write a finite [2,1280] array"
fi

# default (seeded random) weights keep every layer's output finite, free of
# subnormals and of normal magnitude: rms >= 0.05 and |x| <= 1000 everywhere
for m in resnet18 resnet34 resnet50 resnet101 resnet152 mobilenet_v2 efficientnet_v2_s \
         efficientnet_v2_l vit_b_16 vit_b_32 vit_l_16 vit_l_32; do
    line=$("$bin" infer --model "$m" --check-activations 2>&1 | grep '^activations:')
    if awk '{ for (i = 1; i <= NF; i++) { if ($i == "rms") r = $(i + 1); if ($i == "|x|") x = $(i + 1) } }
            END { exit !(r >= 0.05 && x <= 1000 && $0 ~ /non-finite 0, subnormal 0$/) }' <<< "$line"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: $m default weights: $line"
    fi
done

# `models --json` equals the reference table, both heads
for head in features classifier; do
    "$bin" models --json --head $head > "$tmp/models-$head.json"
done
if /usr/bin/python3 - "$tmp" "$here/../data/reference_models.tsv" <<'PY'
import json, sys
tmp, ref = sys.argv[1], sys.argv[2]
bad = 0
rows = [l.split("\t") for l in open(ref) if not l.startswith("#")]
for hi, head in enumerate(["features", "classifier"]):
    got = {m["model"]: m for m in json.load(open(f"{tmp}/models-{head}.json"))}
    for r in rows:
        name, params, dim, gmac = r[0], int(r[1 + hi]), int(r[3]) if head == "features" else 1000, r[4 + hi].strip()
        m = got.get(name)
        if not m or m["params"] != params or m["feature_dim"] != dim or f"{m['gmac_per_item']:.3f}" != gmac:
            print(f"FAIL: models --head {head}: {name}: got {m and (m['params'], m['feature_dim'], m['gmac_per_item'])}, want {(params, dim, gmac)}")
            bad += 1
    if len(got) != len(rows):
        print(f"FAIL: models --head {head}: {len(got)} models, want {len(rows)}"); bad += 1
sys.exit(1 if bad else 0)
PY
then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

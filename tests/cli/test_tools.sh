#!/usr/bin/env bash
# test_tools.sh — `batchbench peak` and `batchbench profile` as a user meets
# them: well-formed output (text and JSON) whose numbers add up, and exit 2
# with a message naming the flag on bad arguments. Then the Python tools on
# the CPU: tools/torch_bench.py (new result fields, precision refused on the
# CPU, an OOM configuration recorded), tools/compare_npy.py,
# tools/gpu_compare.py, tools/answer_stability.py and peers/vs_peers.py (ONNX
# Runtime from .venv/);
# scripts/gpu-check.sh is only syntax-checked; scripts/pack-binary.sh packs
# the binary and the unpacked copy must run; scripts/run_on_server.sh runs a
# shrunk sweep on the CPU with PyTorch beside it.
# Usage: tests/cli/test_tools.sh path/to/batchbench
set -u
bin=${1:?usage: test_tools.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# schema_ok DIR...: every result file under DIR is valid against docs/result.schema.json
schema_ok() {
    local d o; d=$(cd "$(dirname "$0")" && pwd)
    o=$(/usr/bin/python3 "$d/validate_results.py" --current "$d/../../docs/result.schema.json" "$@" 2>&1) && ok ||
        fail "result schema: $o"
}
py()   { /usr/bin/python3 -c "$1" "$2"; } # py SCRIPT FILE: exit 0 when SCRIPT accepts FILE

# peak: positive fp32 rates; bf16 measured, or a note says why not
"$bin" peak --json >"$tmp/peak.json" 2>&1 && py "
import json, sys; p = json.load(open(sys.argv[1]))
bf16, flag, note = p['bf16_matmul_gflops'], p['bf16_cpu_flag'], p['bf16_note']
ok = p['sgemm_gflops'] > 0 and p['conv_gflops'] > 0 and p['threads'] >= 1 and p['conv_impl']
ok = ok and (bf16 is None) == (note is not None) and (bf16 is None or bf16 > 0 and flag)
sys.exit(0 if ok else 1)" "$tmp/peak.json" && ok || fail "peak --json: $(cat "$tmp/peak.json")"
out=$("$bin" peak --threads 1 2>&1)
[[ "$out" == *"threads: 1"* && "$out" == *"sgemm 2048^3"* && "$out" == *"conv 3x3"* &&
   ("$out" == *"bf16: not available"* || "$out" == *"(bf16 in, f32 out)"*) ]] && ok || fail "peak text: $out"

# profile: shares add up to 100%, kinds add up to the steps, conv is there
"$bin" profile --model mobilenet_v2 --batch 2 --reps 2 --json >"$tmp/prof.json" 2>&1 && py "
import json, sys; p = json.load(open(sys.argv[1]))
steps, kinds = p['steps'], {k['kind']: k for k in p['by_kind']}
ok = abs(sum(s['share'] for s in steps) - 1) < 1e-6 and abs(sum(k['share'] for k in kinds.values()) - 1) < 1e-6
ok = ok and sum(k['steps'] for k in kinds.values()) == len(steps)
# mobilenet_v2's 52 convs and its pool are 53 steps, less one for each 1x1
# conv that runs with the depthwise conv after it as one step (conv+dw: a
# choice by timing, so it varies from run to run), plus any reorders
fused = kinds['conv+dw']['steps'] if 'conv+dw' in kinds else 0
ok = ok and len(steps) - (kinds['reorder']['steps'] if 'reorder' in kinds else 0) + fused == 53
ok = ok and 'conv' in kinds and kinds['conv']['gflops'] > 0 and kinds['conv']['macs'] > 0
ok = ok and p['unprofiled_forward_s'] > 0 and p['profiled_forward_s'] > 0 and p['reps'] == 2
ok = ok and all(s['impl'] for s in steps)  # every CPU step names its code; no conv on oneDNN's reference code
ok = ok and not any(s['impl'].startswith('ref') for s in steps if s['kind'].startswith('conv'))
sys.exit(0 if ok else 1)" "$tmp/prof.json" && ok || fail "profile --json: $(head -c 300 "$tmp/prof.json")"
"$bin" profile --model mobilenet_v2 --batch 2 --reps 2 >"$tmp/prof.txt" 2>&1 && py "
import re, sys; t = open(sys.argv[1]).read()
rows = re.findall(r'^\d+ .* (\d+\.\d)%', t, re.M)
ok = abs(sum(map(float, rows)) - 100) < 3 and re.search(r'^conv +\d+ ', t, re.M) and 'unprofiled forward' in t
sys.exit(0 if ok else 1)" "$tmp/prof.txt" && ok || fail "profile text: $(head -c 300 "$tmp/prof.txt")"
out=$("$bin" profile --model vit_b_32 --batch 1 --reps 1 2>&1)
[[ "$out" == *"attention"* && "$out" == *"linear"* && "$out" == *"unprofiled forward"* ]] && ok ||
    fail "profile vit text: $out"

# --out makes the folders above it (util/make_dirs.c); a file in the way is named
"$bin" run --models resnet18 --batch-sizes 1 --warmup 0 --reps 2 --threads 1 --no-report --out "$tmp/deep/a/b" \
    >"$tmp/deep.log" 2>&1 && compgen -G "$tmp/deep/a/b/inference_time-*resnet18*.json" >/dev/null && ok ||
    fail "run --out into missing parents: $(tail -2 "$tmp/deep.log")"
: >"$tmp/afile"
out=$("$bin" run --models resnet18 --batch-sizes 1 --reps 2 --out "$tmp/afile/x" 2>&1)
[ $? -eq 1 ] && [[ "$out" == *"--out $tmp/afile/x: $tmp/afile: cannot create folder: a file is in the way"* ]] && ok ||
    fail "run --out under a file: $out"

expect2() {
    local want=$1; shift
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect2 "unknown model 'nope'" profile --model nope
expect2 "--batch: 0 is out of range" profile --model resnet18 --batch 0
expect2 "--reps: 0 is out of range" profile --model resnet18 --reps 0
expect2 "--warmup" profile --model resnet18 --warmup -1
expect2 "--threads" profile --model resnet18 --threads x
expect2 "--model is required" profile
expect2 "unexpected argument 'extra'" profile --model resnet18 extra
expect2 "--threads: 0 is out of range" peak --threads 0
expect2 "unexpected argument 'extra'" peak extra

# ---- Python tools (tools/): torch_bench.py, compare_npy.py, gpu_compare.py ----
here=$(cd "$(dirname "$0")/../.." && pwd)
if /usr/bin/python3 -c 'import torch, torchvision, numpy' 2>/dev/null; then
    # torch_bench --device cpu: the result files carry the new fields
    out=$(/usr/bin/python3 "$here/tools/torch_bench.py" --device cpu --models resnet18 --batch-sizes 1,2 \
        --warmup 0 --reps 2 --threads 2 --bin "$bin" --out "$tmp/torch" 2>&1)
    rc=$?
    # named by identity: a peer's result never takes the name of batchbench's
    f=$(ls "$tmp"/torch/inference_time-*-cpu-model_name-resnet18-batch_size-2-engine-pytorch.json 2>/dev/null)
    [ $rc -eq 0 ] && [ -n "$f" ] && py "
import json, sys; r = json.load(open(sys.argv[1]))
c, m = r['config'], r['memory']
ok = r['status'] == 'ok' and r['input_copy_s'] == [] and r['environment']['gpu'] is None
ok = ok and c['device'] == 'cpu' and c['precision'] == 'fp32' and c['engine'] == 'pytorch' and c['math_mode']
ok = ok and set(m) == {'weight_bytes', 'arena_bytes', 'workspace_bytes', 'peak_bytes'}
ok = ok and m['weight_bytes'] >= 4 * r['model']['params'] > 0 and len(r['times_s']) == r['stats']['n'] == 2
ok = ok and r['model']['macs_per_item'] > 0 and 'engine=pytorch;' in c['identity']
sys.exit(0 if ok else 1)" "$f" && ok || fail "torch_bench --device cpu: exit $rc: $out"
    schema_ok "$tmp/torch"
    out=$(/usr/bin/python3 "$here/tools/torch_bench.py" --device cpu --precision bf16 --models resnet18 \
        --out "$tmp/torch-bf16" 2>&1)
    rc=$?
    [ $rc -eq 2 ] && [[ "$out" == *"--precision bf16 needs --device cuda"* ]] && [ ! -e "$tmp/torch-bf16" ] && ok ||
        fail "torch_bench --device cpu --precision bf16: exit $rc: $out"
    out=$(/usr/bin/python3 "$here/tools/torch_time.py" --models resnet18 --precision tf32 2>&1)
    rc=$?
    [ $rc -eq 2 ] && [[ "$out" == *"--precision tf32 needs --device cuda"* ]] && ok ||
        fail "torch_time --precision tf32 on cpu: exit $rc: $out"
    # an out-of-memory configuration is written as "oom" (no stats, no times)
    # and the sweep goes on; exit 1 (measure() made to fail for batch 2)
    out=$(cd "$here/tools" && /usr/bin/python3 -c '
import sys, torch_bench
real = torch_bench.measure
def fake(args, model, batch, dtype):
    if batch == 2:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return real(args, model, batch, dtype)
torch_bench.measure = fake
sys.argv = ["torch_bench.py", "--models", "mobilenet_v2", "--batch-sizes", "1,2,3", "--warmup", "0",
            "--reps", "1", "--threads", "2", "--bin", sys.argv[1], "--out", sys.argv[2]]
sys.exit(torch_bench.main())' "$bin" "$tmp/torch-oom" 2>&1)
    rc=$?
    [ $rc -eq 1 ] && py "
import glob, json, os, sys
r = {json.load(open(f))['config']['batch_size']: json.load(open(f)) for f in glob.glob(sys.argv[1] + '/*.json')}
oom = r.get(2, {})
ok = sorted(r) == [1, 2, 3] and r[1]['status'] == r[3]['status'] == 'ok'
ok = ok and oom['status'] == 'oom' and 'out of memory' in oom['message'] and 'stats' not in oom
ok = ok and oom['times_s'] == [] and oom['input_copy_s'] == [] and 'memory' in oom
sys.exit(0 if ok else 1)" "$tmp/torch-oom" && ok || fail "torch_bench oom result: exit $rc: $out"
    schema_ok "$tmp/torch-oom"

    # compare_npy.py: pass, fail (each bound), shape mismatch, bad arguments
    /usr/bin/python3 -c '
import numpy as np, sys
d = sys.argv[1]; a = np.random.default_rng(0).standard_normal((2, 64)).astype(np.float32)
np.save(d + "/a.npy", a); np.save(d + "/b.npy", a + 1e-6); np.save(d + "/c.npy", a[:, :32])
np.save(d + "/d.npy", a * 1.05)      # max rel err 0.05, cosine 1: fails tf32 on the max only
e = a.copy(); e[:, ::2] = 0; np.save(d + "/e.npy", e)   # half the output lost: cosine ~0.7
' "$tmp"
    cmpnpy() { # cmpnpy WANT_RC WANT_TEXT ARGS...
        local want=$1 text=$2; shift 2
        local o; o=$(/usr/bin/python3 "$here/tools/compare_npy.py" "$@" 2>&1); local rc=$?
        [ $rc -eq "$want" ] && [[ "$o" == *"$text"* ]] && ok || fail "compare_npy.py $*: exit $rc: $o"
    }
    cmpnpy 0 "(bound 0.0001), cosine 1.0000000 (min 0.99999) PASS" "$tmp/a.npy" "$tmp/b.npy" fp32
    cmpnpy 1 "FAIL" "$tmp/a.npy" "$tmp/d.npy" tf32
    cmpnpy 0 "PASS" "$tmp/a.npy" "$tmp/d.npy" 0.5
    cmpnpy 1 "FAIL" "$tmp/a.npy" "$tmp/e.npy" 10
    cmpnpy 1 "shape mismatch (2, 64) vs (2, 32) FAIL" "$tmp/a.npy" "$tmp/c.npy" bf16
    cmpnpy 2 "BOUND must be a number" "$tmp/a.npy" "$tmp/b.npy" fp64
    cmpnpy 2 "No such file" "$tmp/a.npy" "$tmp/none.npy" fp32

    # gpu_compare.py: a batchbench and a PyTorch folder (CPU) side by side
    "$bin" run --models resnet18 --batch-sizes 1,2 --warmup 0 --reps 2 --threads 2 --pause 0 --out "$tmp/ours" \
        --no-report >/dev/null 2>&1 || fail "batchbench run for gpu_compare"
    schema_ok "$tmp/ours"
    out=$(/usr/bin/python3 "$here/tools/gpu_compare.py" "$tmp/ours" "$tmp/torch" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [[ "$out" == *"| model | batch | precision | batchbench ms/item | pytorch ms/item | ours/torch |"* &&
        "$out" == *"| resnet18 | 2 | fp32 | "* && "$out" == *"compared 2, slower "* ]] && ok ||
        fail "gpu_compare.py on CPU folders: exit $rc: $out"
    # made-up results: % of peak, SLOWER, a missing side, an oom side, an old
    # file without the new fields, a file that is not JSON
    /usr/bin/python3 -c '
import json, os, sys
d = sys.argv[1]
def res(folder, name, batch, per_item, status="ok", gpu=True):
    os.makedirs(folder, exist_ok=True)
    r = {"schema_version": 1, "status": status,
         "config": {"model": name, "head": "features", "batch_size": batch, "precision": "bf16"},
         "model": {"macs_per_item": 1000000000}}
    if gpu:
        r["environment"] = {"gpu": {"name": "Test GPU", "peak_flops": 1e12}}
    if status == "ok":
        r["stats"] = {"median_s": per_item * batch, "per_item_median_s": per_item}
    with open(os.path.join(folder, f"inference_time-h-cuda-model_name-{name}-batch_size-{batch}.json"), "w") as f:
        json.dump(r, f)
res(d + "/o", "resnet50", 32, 0.004)          # 2 GFLOP / 4 ms = 0.5 TFLOP/s = 50% of peak
res(d + "/t", "resnet50", 32, 0.002)          # ours/torch 2.00 SLOWER
res(d + "/o", "vit_b_16", 32, 0.001, gpu=False)
res(d + "/t", "vit_b_16", 32, 0.002)          # 0.50, peak from the torch file: 200%
res(d + "/o", "vit_l_16", 64, 0, status="oom")
res(d + "/t", "vit_l_16", 64, 0.01)
res(d + "/t", "resnet18", 8, 0.001)           # missing on our side
open(d + "/o/inference_time-h-cuda-model_name-x-batch_size-1.json", "w").write("{not json")
' "$tmp/fake"
    out=$(/usr/bin/python3 "$here/tools/gpu_compare.py" "$tmp/fake/o" "$tmp/fake/t" --title "bf16" 2>"$tmp/gc.err")
    rc=$?
    [ $rc -eq 0 ] && [[ "$out" == *"## bf16"* && "$out" == *"GPU: Test GPU"* &&
        "$out" == *"| resnet50 | 32 | bf16 | 4.0000 | 2.0000 | 2.00 | 50.0 | ok SLOWER |"* &&
        "$out" == *"| vit_b_16 | 32 | bf16 | 1.0000 | 2.0000 | 0.50 | 200.0 | ok |"* &&
        "$out" == *"| vit_l_16 | 64 | bf16 |  | 10.0000 |  |  | batchbench oom, pytorch ok |"* &&
        "$out" == *"| resnet18 | 8 | bf16 |  | 1.0000 |  |  | batchbench missing, pytorch ok |"* &&
        "$out" == *"compared 2, slower 1, geomean ours/torch 1.000"* ]] &&
        grep -q "skipping .*batch_size-1.json" "$tmp/gc.err" && ok ||
        fail "gpu_compare.py on made-up results: exit $rc: $out $(cat "$tmp/gc.err")"

    # peers/vs_peers.py: batchbench, PyTorch and ONNX Runtime interleaved on one
    # configuration; the table, and result files per engine that report compares
    if [ -x "$here/.venv/bin/python" ]; then
        out=$("$here/.venv/bin/python" "$here/peers/vs_peers.py" --models resnet18 --batch-sizes 1 --warmup 0 \
            --reps 1 --rounds 2 --threads 2 --bin "$bin" --onnx-dir "$tmp/onnx" --out "$tmp/peers" 2>&1)
        rc=$?
        [ $rc -eq 0 ] && [[ "$out" =~ resnet18\ +1\ +[0-9.]+\ +[0-9.]+\ +[0-9.]+\ +[0-9.]+\ +[0-9]+%\ +[0-9.]+\ +[0-9.]+ ]] &&
            [[ "$out" == *"bb/onnxr"* && "$out" == *"sgemm peak"* ]] && py "
import glob, json, sys
ok = True
for eng in ('batchbench', 'pytorch', 'onnxruntime'):
    f = glob.glob(sys.argv[1] + '/' + eng + '/inference_time-*-cpu-model_name-resnet18-batch_size-1*.json')
    r = json.load(open(f[0])) if len(f) == 1 else {}
    ok = ok and r.get('config', {}).get('engine') == eng and len(r['times_s']) == 2 and r['stats']['n'] == 2
    ok = ok and r['environment']['peak_gflops'] > 0 and r['model']['macs_per_item'] > 0
sys.exit(0 if ok else 1)" "$tmp/peers" && ok || fail "vs_peers.py: exit $rc: $out"
        schema_ok "$tmp/peers"
        out=$("$bin" report "$tmp/peers/batchbench" "$tmp/peers/pytorch" "$tmp/peers/onnxruntime" \
            --out "$tmp/peers/report.md" 2>&1)
        rc=$?
        [ $rc -eq 0 ] && grep -q "^## Comparison: onnxruntime" "$tmp/peers/report.md" &&
            grep -q "^## Comparison: pytorch" "$tmp/peers/report.md" &&
            grep -q "ratio-onnxruntime-cpu-.*\.png" "$tmp/peers/report.md" && ok ||
            fail "report of vs_peers results: exit $rc: $out"
        out=$("$here/.venv/bin/python" "$here/peers/ort_profile.py" --model resnet18 --batch 1 --warmup 0 --top 3 \
            --onnx-dir "$tmp/onnx" 2>&1)
        [ $? -eq 0 ] && [[ "$out" == *"resnet18, batch 1, 2 threads, onnxruntime"* && "$out" == *"slowest 3 nodes"* &&
            "$out" =~ Conv\ +[0-9.]+\ ms ]] && ok || fail "ort_profile.py: $out"
        # a user's own .onnx file: ONNX Runtime and batchbench-onnx on the file
        # as it is (the default engines when every model is a file), result
        # files named and identified as `batchbench run` names its own (the
        # same identity but for the engine), and run_onnx_parity.py on files,
        # one with a 4-D output ([N,3,11,11], a bilinear Resize)
        /usr/bin/python3 "$here/tests/onnx/make_bad_models.py" "$tmp/ox" >/dev/null
        out=$("$here/.venv/bin/python" "$here/peers/vs_peers.py" --models "$tmp/ox/good.onnx" --batch-sizes 2 \
            --warmup 0 --reps 1 --rounds 2 --no-peak --bin "$bin" --out "$tmp/peers-file" 2>&1)
        rc=$?
        "$bin" run --models "$tmp/ox/good.onnx" --batch-sizes 2 --threads 2 --warmup 0 --reps 2 --max-time 1 \
            --out "$tmp/run-file" >"$tmp/run-file.log" 2>&1
        [ $rc -eq 0 ] && [[ "$out" =~ good.onnx\ +2\ +[0-9.]+\ +[0-9.]+\ .*\ +[0-9.]+$ ]] && py "
import glob, json, sys
d = sys.argv[1]
own = json.load(open(glob.glob(d + '/run-file/inference_time-*-model_name-good.onnx-batch_size-2-sha256-*.json')[0]))
ok = True
for eng in ('batchbench-onnx', 'onnxruntime'):
    f = glob.glob(d + '/peers-file/' + eng + '/inference_time-*-model_name-good.onnx-batch_size-2-sha256-'
                  + own['config']['model_sha256'][:8] + '-engine-' + eng + '.json')
    r = json.load(open(f[0])) if len(f) == 1 else {'config': {}}
    c = r['config']
    ok = ok and c.get('model_sha256') == own['config']['model_sha256'] and c.get('head') == 'graph'
    ok = ok and c.get('family') == 'imported' and r['model']['params'] == own['model']['params']
    ok = ok and r['model']['macs_per_item'] == own['model']['macs_per_item'] and len(r['times_s']) == 2
    ok = ok and c['identity'].replace('engine=' + eng, 'engine=batchbench') == own['config']['identity']
sys.exit(0 if ok else 1)" "$tmp" && ok || fail "vs_peers.py on a .onnx file: exit $rc: $out $(tail -3 "$tmp/run-file.log")"
        schema_ok "$tmp/peers-file"
        out=$("$here/.venv/bin/python" "$here/peers/vs_peers.py" --models "$tmp/ox/nope.onnx" --bin "$bin" 2>&1)
        [ $? -eq 2 ] && [[ "$out" == *"--models: $tmp/ox/nope.onnx: no such file"* ]] && ok ||
            fail "vs_peers.py, a missing file: $out"
        out=$(/usr/bin/python3 "$here/tests/onnx/run_onnx_parity.py" --bin "$bin" --threads 2 \
            --models "$tmp/ox/good.onnx,$tmp/ox/op_resize_linear_up.onnx" 2>&1)
        rc=$?
        [ $rc -eq 0 ] && [[ "$out" == *"onnx-parity: 6 passed, 0 failed"* &&
            "$out" =~ PASS\ $tmp/ox/op_resize_linear_up.onnx\ +b3\ onnx-vs-ort ]] && ok ||
            fail "run_onnx_parity.py on .onnx files: exit $rc: $out"
        out=$("$here/.venv/bin/python" "$here/peers/vs_peers.py" --engines pytorch --bin "$bin" 2>&1)
        [ $? -eq 2 ] && [[ "$out" == *"--engines: expected batchbench"* ]] && ok || fail "vs_peers --engines: $out"
        out=$("$here/.venv/bin/python" "$here/peers/vs_peers.py" --models nope --bin "$bin" 2>&1)
        [ $? -eq 2 ] && [[ "$out" == *"--models: unknown model 'nope'"* ]] && ok || fail "vs_peers --models: $out"
    else
        fail "peers/vs_peers.py: .venv/bin/python (with onnxruntime) is missing: run scripts/install-deps.sh"
    fi
else
    fail "python3-torch/torchvision/numpy not installed: the Python tool tests cannot run (scripts/install-deps.sh)"
fi

# scripts/gpu-check.sh: syntax and shellcheck (scripts/install-deps.sh installs it); it needs a GPU to run
bash -n "$here/scripts/gpu-check.sh" && ok || fail "bash -n scripts/gpu-check.sh"
bash -n "$here/scripts/gpu-session.sh" && ok || fail "bash -n scripts/gpu-session.sh"
out=$("$here/scripts/gpu-session.sh" --skip energy,gpus "$tmp/gs" 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"--skip: unknown part 'gpus'"* ]] && ok || fail "gpu-session.sh --skip gpus: $out"
out=$("$here/scripts/gpu-session.sh" "$tmp/gs" --inductor-cache "$tmp/nope.tar.gz" 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"--inductor-cache needs an existing inductor-cache.tar.gz"* ]] && ok ||
    fail "gpu-session.sh --inductor-cache missing file: $out"
out=$("$here/scripts/gpu-session.sh" "$tmp/gs" --work 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"--work needs a folder"* ]] && ok || fail "gpu-session.sh --work without a folder: $out"
# the plumbing on the CPU: the peers part only, its working folder outside OUTDIR (a device call's $OUT
# brings back 8 files), gpu-vs-peers.sh's options passed through --peers-args, an Inductor cache carried
# in (unpacked where torch.compile reads it) and back out, apart from results.tar.gz
mkdir -p "$tmp/ic" && echo autotuned >"$tmp/ic/marker" && tar czf "$tmp/ic.tar.gz" -C "$tmp/ic" .
out=$(PYTHON=/usr/bin/python3 BATCHBENCH_BIN=$bin "$here/scripts/gpu-session.sh" "$tmp/gs" --skip energy,ops,attention,onnx \
    --work "$tmp/gsw" --inductor-cache "$tmp/ic.tar.gz" --peers-args "--device cpu --threads 1 --models resnet18
    --batch-sizes 1 --precisions fp32 --engines batchbench --warmup 1 --reps 2" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -s "$tmp/gs/peers-table.md" ] && [ -s "$tmp/gs/results.tar.gz" ] && [ ! -e "$tmp/gs/work" ] &&
    [ "$(cat "$tmp/gsw/peers/inductor-cache/marker" 2>/dev/null)" = autotuned ] &&
    tar tzf "$tmp/gs/inductor-cache.tar.gz" | grep -q "marker" && ! tar tzf "$tmp/gs/results.tar.gz" | grep -q "inductor-cache" &&
    [ -s "$tmp/gsw/peers/results/batchbench-fp32/summary.csv" ] && grep -q "| resnet18 | 1 | fp32 |" "$tmp/gs/peers-table.md" &&
    [[ "$out" == *"energy: skipped (--skip)"* ]] && [[ "$out" == *"every part run passed; skipped (--skip): energy,ops,attention,onnx"* ]] && ok ||
    fail "gpu-session.sh --skip energy,ops,attention,onnx --work --peers-args on the cpu (rc $rc): $out $(ls "$tmp/gs")"
# part 2, the importer's op cases (scripts/gpu-ops.sh), on the CPU: written
# into the working folder, every case held to numpy's answer; and a case
# whose reference is wrong fails, named
out=$(GPU_OPS_DEVICE=cpu GPU_OPS_JOBS=2 PYTHON=/usr/bin/python3 BATCHBENCH_BIN=$bin "$here/scripts/gpu-session.sh" "$tmp/gs2" \
    --skip energy,attention,onnx,peers --work "$tmp/gsw2" 2>&1)
rc=$?
n_ops=$(ls "$tmp/gsw2/ops"/op_*.onnx 2>/dev/null | wc -l)
[ $rc -eq 0 ] && [ "$n_ops" -gt 50 ] && grep -q "^gpu-ops: cpu fp32: $n_ops passed, 0 failed, 0 refused" "$tmp/gs2/ops-cuda.txt" &&
    ok || fail "gpu-session.sh's ops part on the cpu (rc $rc): $out"
mkdir "$tmp/ops-bad" && cp "$tmp/gsw2/ops"/{x2.npy,op_depthtospace_crd.*,op_spacetodepth.*} "$tmp/ops-bad/" &&
    cp "$tmp/ops-bad/op_spacetodepth.ref.npy" "$tmp/ops-bad/op_depthtospace_crd.ref.npy"
out=$(PYTHON=/usr/bin/python3 BATCHBENCH_BIN=$bin "$here/scripts/gpu-ops.sh" "$tmp/ops-bad" "$tmp/ops-bad.txt" --device cpu 2>&1)
[ $? -eq 1 ] && grep -q "^FAIL    op_depthtospace_crd: shape mismatch" "$tmp/ops-bad.txt" &&
    [ "$(grep -c ^PASS "$tmp/ops-bad.txt")" -eq 1 ] && ok ||
    fail "gpu-ops.sh with a wrong reference: $out $(grep -v ^PASS "$tmp/ops-bad.txt")"
# ONNX's conformance cases as gpu-ops.sh takes them (run_node_tests.py --write;
# the data from scripts/install-deps.sh): every listed case written, and a
# few run each with its own input, two at a time; one fed another's input fails
nw=$tmp/node-cases
n_listed=$(grep -c . "$here/tests/onnx/node_tests_pass.txt")
out=$(/usr/bin/python3 "$here/tests/onnx/run_node_tests.py" --write "$nw" 2>&1)
[ $? -eq 0 ] && [ "$(ls "$nw"/node_*.onnx 2>/dev/null | wc -l)" -eq "$n_listed" ] &&
    [ "$(ls "$nw"/node_*.ref.npy | wc -l)" -eq "$n_listed" ] && ok || fail "run_node_tests.py --write: $out"
find "$nw" -type f ! -name 'node_add.*' ! -name 'node_add_bcast.*' ! -name 'node_averagepool_2d_ceil.*' \
    ! -name 'node_layer_normalization_4d_axis1.*' -delete
out=$(PYTHON=/usr/bin/python3 BATCHBENCH_BIN=$bin "$here/scripts/gpu-ops.sh" "$nw" "$tmp/nw.txt" --device cpu --jobs 2 2>&1)
[ $? -eq 0 ] && [[ "$out" == "gpu-ops: cpu fp32: 4 passed, 0 failed, 0 refused (no lowering)" ]] && ok ||
    fail "gpu-ops.sh on four conformance cases: $out $(cat "$tmp/nw.txt")"
cp "$nw/node_add.in.npy" "$nw/node_add_bcast.in.npy"
out=$(PYTHON=/usr/bin/python3 BATCHBENCH_BIN=$bin "$here/scripts/gpu-ops.sh" "$nw" "$tmp/nw.txt" --device cpu --jobs 2 2>&1)
[ $? -eq 1 ] && grep -q "^FAIL    node_add_bcast: " "$tmp/nw.txt" && [ "$(grep -c ^PASS "$tmp/nw.txt")" -eq 3 ] && ok ||
    fail "gpu-ops.sh with a case fed another's input: $out $(cat "$tmp/nw.txt")"
out=$("$here/scripts/gpu-ops.sh" "$tmp/nope" "$tmp/x.txt" 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"has no op cases"* ]] && ok || fail "gpu-ops.sh without op cases: $out"
if ! command -v shellcheck >/dev/null; then
    fail "shellcheck not installed: the GPU scripts cannot be checked (scripts/install-deps.sh)"
else
    o=$(shellcheck -x "$here/scripts/gpu-check.sh" "$here/scripts/gpu-vs-peers.sh" "$here/scripts/gpu-session.sh" \
        "$here/scripts/gpu-ops.sh" 2>&1) &&
        ok || fail "shellcheck scripts/gpu-check.sh scripts/gpu-vs-peers.sh scripts/gpu-session.sh scripts/gpu-ops.sh: $o"
fi
out=$("$here/scripts/gpu-check.sh" 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"scripts/gpu-check.sh OUTDIR"* ]] && ok || fail "gpu-check.sh without OUTDIR: $out"

# scripts/pack-binary.sh: the binary with the libraries a bare server lacks;
# unpacked, it loads oneDNN from the bundle and runs
out=$("$here/scripts/pack-binary.sh" 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"usage: scripts/pack-binary.sh OUT.tar.xz"* ]] && ok || fail "pack-binary.sh usage: $out"
out=$("$here/scripts/pack-binary.sh" "$tmp/x.tar.xz" "$tmp/nope" 2>&1)
[ $? -eq 1 ] && [[ "$out" == *"no executable at '$tmp/nope'"* ]] && [ ! -e "$tmp/x.tar.xz" ] && ok ||
    fail "pack-binary.sh missing binary: $out"
# XZ_OPT=-0: the fastest xz level (the default took 37 s of this suite)
if XZ_OPT=-0 "$here/scripts/pack-binary.sh" "$tmp/bb.tar.xz" "$bin" >"$tmp/pack.log" 2>&1; then
    mkdir -p "$tmp/bb" && tar xJf "$tmp/bb.tar.xz" -C "$tmp/bb"
    LD_LIBRARY_PATH=$tmp/bb/lib ldd "$tmp/bb/batchbench" | grep -q "libdnnl.so.* => $tmp/bb/lib/" && ok ||
        fail "pack-binary.sh: the unpacked binary does not load oneDNN from the bundle"
    LD_LIBRARY_PATH=$tmp/bb/lib "$tmp/bb/batchbench" models --json >"$tmp/bb-models.json" 2>&1 &&
        cmp -s "$tmp/bb-models.json" <("$bin" models --json 2>&1) && ok ||
        fail "pack-binary.sh: the unpacked binary's models --json differs: $(head -3 "$tmp/bb-models.json")"
else
    fail "pack-binary.sh: $(cat "$tmp/pack.log")"
fi
bash -n "$here/scripts/pack-binary.sh" && ok || fail "bash -n scripts/pack-binary.sh"
if ! command -v shellcheck >/dev/null; then
    fail "shellcheck not installed: scripts/pack-binary.sh cannot be checked (scripts/install-deps.sh)"
else
    o=$(shellcheck "$here/scripts/pack-binary.sh" 2>&1) && ok || fail "shellcheck scripts/pack-binary.sh: $o"
fi

# scripts/run_on_server.sh on the CPU, shrunk: both engines' results, the
# comparison report and the tarball; bad arguments exit 2
out=$("$here/scripts/run_on_server.sh" --device tpu 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"--device: 'tpu' is not auto, cuda or cpu"* ]] && ok || fail "run_on_server.sh --device: $out"
out=$("$here/scripts/run_on_server.sh" --warmup 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"--warmup needs a value"* ]] && ok || fail "run_on_server.sh --warmup: $out"
if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
    # the seed's input: a stored data set (here 16 items in a private cache),
    # read by both engines; the charts the seed's mean +- 2 sd in seconds
    BATCHBENCH_CACHE="$tmp/cache" BATCHBENCH_BIN=$bin PYTHON=/usr/bin/python3 "$here/scripts/run_on_server.sh" \
        --no-build --device cpu --models resnet18 --batch-sizes 1 --warmup 1 --reps 2 --out "$tmp/ros" \
        -- --dataset-items 16 >"$tmp/ros.log" 2>&1 &&
        ls "$tmp"/ros/inference_time-*-cpu-model_name-resnet18-batch_size-1-dataset.json >/dev/null &&
        ls "$tmp"/ros/pytorch/inference_time-*-cpu-model_name-resnet18-batch_size-1-engine-pytorch-dataset.json >/dev/null &&
        grep -q "^| resnet18 | 1 |" "$tmp/ros/vs-pytorch/report.md" &&
        grep -q "mean ± 2σ" "$tmp/ros/report.md" && grep -q "mean ± 2σ" "$tmp/ros/vs-pytorch/report.md" &&
        tar tzf "$tmp/ros.tar.gz" | grep -q "^ros/vs-pytorch/report.md$" && ok ||
        fail "run_on_server.sh (cpu, shrunk): $(tail -5 "$tmp/ros.log")"
    o=$(/usr/bin/python3 - "$tmp/ros" "$tmp/cache/random-16" <<'PY'
import glob, json, sys
files = glob.glob(sys.argv[1] + "/inference_time-*.json") + glob.glob(sys.argv[1] + "/pytorch/inference_time-*.json")
for f in files:
    c = json.load(open(f))["config"]
    assert c["input_source"] == "dataset" and c["data_dir"] == sys.argv[2], (f, c["input_source"], c["data_dir"])
assert len(files) == 2, files
assert json.load(open(glob.glob(sys.argv[1] + "/inference_time-*.json")[0]))["config"]["preset"] == "paper"
PY
) && ok || fail "run_on_server.sh: both engines read the stored data set: $o"
    schema_ok "$tmp/ros" # both engines' results (ros/ and ros/pytorch/)
fi

# tools/answer_stability.py: two runs' answers, and the rounds each left out
here_tools=$(cd "$(dirname "$0")/../../tools" && pwd)
/usr/bin/python3 - "$tmp/as" <<'PY'
import json, os, sys
def rec(use, tied, rounds):
    return {"model": "resnet18", "device": "cpu", "precision": "fp32", "head": "features", "recommended_batch": use,
            "tied_batches": tied, "rounds": rounds}
r1 = {"method": "round-slowdown-median-q25", "rounds": 10, "disturbed": [2, 3], "disturbed_slowdown": 1.2,
      "left_out": True, "faster": [5], "faster_slowdown": 0.88, "far": [2, 3], "far_rtt_ns": 331.0,
      "near_rtt_ns": 79.6}
d = dict(rec(16, [16, 32], None), rerun_may_answer=[8])  # a borderline tie: a rerun may answer 8
for name, r in (("a", rec(8, [8, 16, 32], r1)), ("b", rec(16, [8, 16], None)), ("c", rec(64, [64], None)), ("d", d)):
    os.makedirs(f"{sys.argv[1]}/{name}")
    json.dump({"recommendations": [r]}, open(f"{sys.argv[1]}/{name}/recommendation.json", "w"))
    rtt = {"a": [80.0, 330.0, 332.0, 79.0, 81.0], "b": [320.0, None, 340.0]}.get(name)
    if rtt:  # one result file with the threads' round trip per slice
        json.dump({"config": {"model": "resnet18", "batch_size": 8}, "measurement": {"slice_core_rtt_ns": rtt}},
                  open(f"{sys.argv[1]}/{name}/inference_time-x.json", "w"))
PY
out=$(/usr/bin/python3 "$here_tools/answer_stability.py" "$tmp/as/a" "$tmp/as/b" 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"| resnet18 | 8 | [8, 16, 32] | 16 | [8, 16] | yes |"* &&
    "$out" == *"run 1: rounds left out: resnet18 2, 3 of 10 (1.20x), faster in 5 (1.14x), threads farther apart in 2, 3 (331 against 80 ns)"* &&
    "$out" == *"run 1: threads' round trip (median over slices): resnet18 81 ns"* &&
    "$out" == *"run 2: threads' round trip (median over slices): resnet18 330 ns"* &&
    "$out" == *"run 2: rounds left out: resnet18 not judged"* && "$out" == *"1 agree, 0 differ"* ]] && ok ||
    fail "answer_stability.py, agreeing runs: exit $rc: $out"
out=$(/usr/bin/python3 "$here_tools/answer_stability.py" "$tmp/as/a" "$tmp/as/c" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"| NO |"* && "$out" == *"0 agree, 1 differ"* && "$out" != *"foreseen"* ]] && ok ||
    fail "answer_stability.py, differing runs: exit $rc: $out"
out=$(/usr/bin/python3 "$here_tools/answer_stability.py" "$tmp/as/a" "$tmp/as/d" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"| NO (foreseen: a rerun may answer it) |"* && "$out" == *"0 agree, 1 differ (1 foreseen)"* ]] &&
    ok || fail "answer_stability.py, a difference the other run foresaw: exit $rc: $out"

echo "tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_onnx_cli.sh — a user's own model (--model PATH.onnx) through the
# command line, outside the importer itself (tests/onnx checks that).
# Without the importer: a missing or unreadable .onnx is exit 2 naming it
# (every command that takes a model); --head, --weights and a --family
# without an ONNX model are exit 2; `models --describe` of a missing file is
# exit 1 naming it, of a zoo name one row; a garbage x.onnx is exit 1 naming
# the file in infer, profile, run (before anything runs: no result file) and
# describe, never a crash; an imported model's result (head graph, its
# file and SHA-256) is valid against docs/result.schema.json and one
# without its hash is not; the --help texts name PATH.onnx.
# With the importer (needs /usr/bin/python3 with torch and torchvision, to
# export the models; without them the test fails): `run
# --models r18.onnx,resnet18` writes results whose model, file, family,
# SHA-256, head, params and MACs are right and valid; `report` ranks both;
# `run --family`; a second file of the same base name with other weights
# gets its own result files (none overwritten) and its own row in the
# report; `--resume` keeps them all; `models --describe`; profile; an
# inception_v3 export (input [3,299,299]) runs on its own input shape,
# refuses an --input of another shape naming the file and both shapes, and
# refuses a data set (its items are [3,224,224]); a small torchvision ViT's
# attention runs as the zoo's attention op.
# Usage: tests/cli/test_onnx_cli.sh path/to/batchbench
set -u
bin=${1:?usage: test_onnx_cli.sh path/to/batchbench}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)
schema="$here/../../docs/result.schema.json"
validate="$here/validate_results.py"
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect CODE "substring 1" ["substring 2" ...] -- args...: the exit code, each substring in stdout+stderr, no crash
expect() {
    local code=$1; shift
    local want=()
    while [ "$1" != "--" ]; do want+=("$1"); shift; done
    shift
    local out rc miss=""
    out=$("$bin" "$@" 2>&1); rc=$?
    for w in "${want[@]}"; do [[ "$out" == *"$w"* ]] || miss="$w"; done
    if [ "$rc" -eq "$code" ] && [ -z "$miss" ]; then
        ok
    else
        fail "batchbench $*: want exit $code and \"${miss:-${want[*]}}\"; got exit $rc: $(echo "$out" | tail -3)"
    fi
}

quick=(--batch-sizes 1,2 --threads 2 --warmup 1 --warmup-time 0 --reps 3 --no-report)

# ---- without the importer ----------------------------------------------------------

miss=$tmp/missing.onnx
expect 2 "--model: ONNX file '$miss': No such file or directory" -- infer --model "$miss"
expect 2 "--models: ONNX file '$miss': No such file or directory" -- run --models "resnet18,$miss"
expect 2 "ONNX file '$miss'" -- profile --model "$miss"
expect 2 "ONNX file '$miss'" -- maxbatch --model "$miss"
expect 2 "ONNX file '$miss'" -- serve --model "$miss" --rate 10 --max-batch 2 --timeout-ms 1 --duration 1
mkdir "$tmp/dir.onnx"
expect 2 "ONNX file '$tmp/dir.onnx': is a directory" -- infer --model "$tmp/dir.onnx"
if [ "$(id -u)" -ne 0 ]; then # root reads anything
    head -c 16 /dev/urandom >"$tmp/locked.onnx" && chmod 000 "$tmp/locked.onnx"
    expect 2 "ONNX file '$tmp/locked.onnx': Permission denied" -- infer --model "$tmp/locked.onnx"
fi
expect 2 "unknown model 'nope'" "or the path of an ONNX file" -- infer --model nope

head -c 64 /dev/urandom >"$tmp/x.onnx" # garbage: exists, is not ONNX
expect 2 "--head does not go with an ONNX model ('$tmp/x.onnx')" -- infer --model "$tmp/x.onnx" --head features
expect 2 "--head does not go with an ONNX model" -- run --head classifier --models "resnet18,$tmp/x.onnx"
expect 2 "--head does not go with an ONNX model" -- profile --model "$tmp/x.onnx" --head features
expect 2 "--head does not go with an ONNX model" -- maxbatch --model "$tmp/x.onnx" --head classifier
expect 2 "--weights does not go with an ONNX model ('$tmp/x.onnx')" -- infer --model "$tmp/x.onnx" --weights w.safetensors
expect 2 "--family names the family of an ONNX model" -- run --models resnet18 --family conv
expect 2 "--family: 'a b' is not" -- run --models "$tmp/x.onnx" --family "a b"

expect 1 "$miss" -- models --describe "$miss"
expect 1 "$tmp/x.onnx" -- models --describe "$tmp/x.onnx"
expect 2 "--json does not go with an ONNX file" -- models --describe "$tmp/x.onnx" --json
expect 2 "unknown model 'nope'" -- models --describe nope
out=$("$bin" models --describe resnet18 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 2 ] && [[ "$out" == *"resnet18 "*"conv"*"11176512"* ]] && ok ||
    fail "models --describe resnet18: exit $rc: $out"

expect 1 "$tmp/x.onnx" -- infer --model "$tmp/x.onnx" --threads 1
expect 1 "$tmp/x.onnx" -- profile --model "$tmp/x.onnx" --threads 1
expect 1 "batchbench run: --models: $tmp/x.onnx" -- run --models "resnet18,$tmp/x.onnx" "${quick[@]}" --out "$tmp/garbage"
[ -z "$(ls "$tmp/garbage" 2>/dev/null)" ] && ok || fail "run with a garbage file wrote: $(ls "$tmp/garbage")"

for c in "run" "infer" "profile" "serve" "maxbatch"; do
    "$bin" "$c" --help 2>&1 | grep -q "\.onnx" && ok || fail "$c --help does not mention .onnx"
done
"$bin" run --help | grep -q -- "--family NAME" && ok || fail "run --help: no --family"
"$bin" models --help | grep -q -- "--describe NAME|PATH.onnx" && ok || fail "models --help: no --describe"

# an imported model's result against the schema: valid with its file and hash, invalid without
/usr/bin/python3 - "$here/../data/report-fixture/inference_time-fixture-cpu-model_name-resnet18-batch_size-1.json" \
    "$tmp/schema" <<'PY' && ok || fail "writing the schema cases"
import copy, json, os, sys
base = json.load(open(sys.argv[1])); d = sys.argv[2]
def write(case, doc):
    os.makedirs(f"{d}/{case}")
    json.dump(doc, open(f"{d}/{case}/inference_time-x-cpu-model_name-my.onnx-batch_size-1-sha256-0123abcd.json", "w"))
good = copy.deepcopy(base)
good["config"].update(model="my.onnx", model_file="exports/my.onnx", model_sha256="0123abcd" * 8,
                      family="imported", head="graph")
write("good", good)
fam = copy.deepcopy(good); fam["config"]["family"] = "detector"
write("good-family", fam)
for case, edit in [("no-sha", lambda c: c.pop("model_sha256")), ("no-file", lambda c: c.pop("model_file")),
                   ("bad-sha", lambda c: c.update(model_sha256="XYZ")), ("bad-family", lambda c: c.update(family="a b")),
                   ("bad-head", lambda c: c.update(head="logits"))]:
    x = copy.deepcopy(good); edit(x["config"]); write(case, x)
PY
for case in good good-family; do
    out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/schema/$case" 2>&1) && ok || fail "schema: $case: $out"
done
for case in no-sha no-file bad-sha bad-family bad-head; do
    out=$(/usr/bin/python3 "$validate" "$schema" "$tmp/schema/$case" 2>&1); rc=$?
    [ $rc -eq 1 ] && [[ "$out" == *"0 of 1 result files valid"* ]] && ok || fail "schema: $case not rejected: $out"
done

# ---- with the importer: real exports ---------------------------------------------------

if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
    fail "no torch/torchvision for /usr/bin/python3 (scripts/install-deps.sh installs them): the exported-model part cannot run"
    echo "onnx cli: $passed passed, $failed failed"
    exit 1
fi
mkdir -p "$tmp/a" "$tmp/b"
(cd "$tmp" && /usr/bin/python3 - <<'PY') >"$tmp/export.log" 2>&1 && ok || fail "exporting: $(tail -3 "$tmp/export.log")"
import torch, torchvision
def export(m, path, side):
    torch.onnx.export(m.eval(), torch.randn(1, 3, side, side), path, opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
torch.manual_seed(1); export(torchvision.models.resnet18(), "a/r18.onnx", 224)
torch.manual_seed(2); export(torchvision.models.resnet18(), "b/r18.onnx", 224)  # same name, other weights
export(torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False), "inception.onnx", 299)
from torchvision.models.vision_transformer import VisionTransformer
export(VisionTransformer(image_size=224, patch_size=32, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128),
       "vit.onnx", 224)
PY
cd "$tmp" # relative paths, as a user gives them: model_file records them as given
sha_a=$(sha256sum a/r18.onnx | cut -d' ' -f1) sha_b=$(sha256sum b/r18.onnx | cut -d' ' -f1)

out=$("$bin" models --describe a/r18.onnx 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"a/r18.onnx"* && "$out" == *"[N,3,224,224]"* && "$out" == *"params"* ]] && ok ||
    fail "models --describe a/r18.onnx: exit $rc: $out"
params=$(echo "$out" | awk '$1 == "params" {print $2}') macs=$(echo "$out" | awk '$1 == "macs" {print $2}')

"$bin" run --models a/r18.onnx,resnet18 "${quick[@]}" --out r >run1.log 2>&1 && ok || fail "run: $(tail -5 run1.log)"
/usr/bin/python3 - r "$sha_a" "$params" "$macs" <<'PY' && ok || fail "run: imported results"
import glob, json, sys
d, sha, params, macs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
files = sorted(glob.glob(d + "/inference_time-*.json"))
assert len(files) == 4, files
imp = [json.load(open(f)) for f in files if "r18.onnx" in f]
assert len(imp) == 2 and all(f"-sha256-{sha[:8]}" in f for f in files if "r18.onnx" in f), files
for r in imp:
    c, m = r["config"], r["model"]
    assert r["status"] == "ok", r["message"]
    assert (c["model"], c["model_file"], c["model_sha256"], c["family"], c["head"]) == \
        ("r18.onnx", "a/r18.onnx", sha, "imported", "graph"), c
    assert c["identity"].endswith(";model_sha256=" + sha), c["identity"]
    assert str(m["params"]) == params and str(m["macs_per_item"]) == macs, (m, params, macs)
    assert abs(m["macs_per_item"] - (1814073344 + 512 * 1000)) < 0.01 * 1814073344, m  # resnet18 + its fc
zoo = [json.load(open(f)) for f in files if "resnet18" in f]
assert all("model_sha256" not in r["config"] and r["config"]["head"] == "features" for r in zoo), zoo
PY
/usr/bin/python3 "$validate" --current "$schema" r >/dev/null && ok || fail "run: results against the schema"
grep -q "^r18.onnx " run1.log && grep -q "^resnet18 " run1.log && ok || fail "run's table: $(tail -8 run1.log)"

"$bin" report r >report.log 2>&1 && ok || fail "report: $(tail -3 report.log)"
grep -q "^## Convolutional models" r/report.md && grep -q "^## Imported models" r/report.md &&
    grep -q "^| resnet18 |" r/report.md && grep -q "^| r18.onnx |" r/report.md &&
    [ -s r/inf_times_other_models.png ] && [ -s r/inf_times_conv_models.png ] && ok ||
    fail "report.md: $(grep -n '^##\|^| r' r/report.md | head)"
grep -Eq '"model":[[:space:]]*"r18.onnx"' r/recommendation.json && ok || fail "recommendation.json lacks r18.onnx"

# --family: charted with the zoo's convolutional models, ordered after them
"$bin" run --models a/r18.onnx,resnet18 --family conv "${quick[@]}" --batch-sizes 1 --out f >run2.log 2>&1 &&
    "$bin" report f >/dev/null 2>&1 && ok || fail "run --family conv: $(tail -3 run2.log)"
grep -Eq '"family":[[:space:]]*"conv"' f/inference_time-*r18.onnx*.json && ! grep -q "^## Imported" f/report.md &&
    awk '/^## Convolutional/{c=1} c && /^\| resnet18 \|/{z=NR} c && /^\| r18.onnx \|/{i=NR} END{exit !(z && i > z)}' \
        f/report.md && ok || fail "--family conv: $(grep -n '^##\|^| r' f/report.md | head)"

# a second file of the same base name, other weights: its own files, nothing overwritten
sum_before=$(cat r/inference_time-*.json | sha256sum)
"$bin" run --models b/r18.onnx "${quick[@]}" --batch-sizes 1 --out r >run3.log 2>&1 && ok ||
    fail "run b/r18.onnx: $(tail -3 run3.log)"
[ "$(ls r/inference_time-*-sha256-"${sha_b:0:8}".json | wc -l)" -eq 1 ] && [ "$(ls r/inference_time-*.json | wc -l)" -eq 5 ] &&
    ok || fail "second file: $(ls r)"
[ "$(cat $(ls r/inference_time-*.json | grep -v "${sha_b:0:8}") | sha256sum)" = "$sum_before" ] && ok ||
    fail "the first file's results were rewritten"
"$bin" report r >/dev/null 2>&1
grep -q "^| r18.onnx@${sha_a:0:8} |" r/report.md && grep -q "^| r18.onnx@${sha_b:0:8} |" r/report.md && ok ||
    fail "report: two files of one name: $(grep -n '^| r' r/report.md)"
"$bin" run --models a/r18.onnx,resnet18 "${quick[@]}" --out r --resume >run4.log 2>&1 &&
    grep -q "0 done, 4 kept" run4.log && [ "$(ls r/inference_time-*.json | wc -l)" -eq 5 ] && ok ||
    fail "--resume: $(tail -3 run4.log)"

"$bin" profile --model a/r18.onnx --batch 1 --warmup 0 --reps 1 --threads 2 >profile.log 2>&1 && ok ||
    fail "profile: $(tail -3 profile.log)"

# another input shape: inception_v3 takes [3,299,299]
/usr/bin/python3 -c 'import numpy as np
np.save("x224.npy", np.zeros((1, 3, 224, 224), np.float32)); np.save("x299.npy", np.ones((2, 3, 299, 299), np.float32))'
expect 1 "x224.npy: input must have shape [N,3,299,299] with N >= 1 (model inception.onnx), got [1,3,224,224]" -- \
    infer --model inception.onnx --input x224.npy --threads 2
out=$("$bin" infer --model inception.onnx --input x299.npy --threads 2 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"batch 2"* && "$out" == *"output shape [2,"* ]] && ok || fail "infer inception x299: $rc: $out"
"$bin" dataset make --out ds --items 4 >/dev/null 2>&1
expect 1 "--data: inception.onnx takes inputs of [3,299,299] per item" "[3,224,224]" -- \
    run --models inception.onnx --data ds "${quick[@]}" --out di
"$bin" run --models inception.onnx --batch-sizes 1 --threads 2 --warmup 0 --warmup-time 0 --reps 2 --no-report \
    --out i >run5.log 2>&1 && grep -Eq '"status":[[:space:]]*"ok"' i/inference_time-*inception.onnx*.json && ok ||
    fail "run inception (random input of its shape): $(tail -3 run5.log)"

# torch's multi-head attention export runs as the zoo's attention op (src/onnx/onnx_attention.c):
# one attention step per layer, none of the matmul / softmax steps it was written as
out=$("$bin" profile --model vit.onnx --batch 2 --threads 2 --warmup 0 --reps 1 --json 2>&1); rc=$?
kinds=$(echo "$out" | /usr/bin/python3 -c 'import json, sys
k = [s["kind"] for s in json.load(sys.stdin)["steps"]]
print(k.count("attention"), k.count("matmul") + k.count("softmax"))' 2>&1)
[ $rc -eq 0 ] && [ "$kinds" = "2 0" ] && ok ||
    fail "profile vit.onnx: exit $rc; attention steps, matmul/softmax steps: $kinds (want 2 0)"

echo "onnx cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

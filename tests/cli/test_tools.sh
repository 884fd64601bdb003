#!/usr/bin/env bash
# test_tools.sh — `batchbench peak` and `batchbench profile` as a user meets
# them: well-formed output (text and JSON) whose numbers add up, and exit 2
# with a message naming the flag on bad arguments.
# Usage: tests/cli/test_tools.sh path/to/batchbench
set -u
bin=${1:?usage: test_tools.sh path/to/batchbench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
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
ok = ok and sum(k['steps'] for k in kinds.values()) == len(steps) > 50
ok = ok and 'conv' in kinds and kinds['conv']['gflops'] > 0 and kinds['conv']['macs'] > 0
ok = ok and p['unprofiled_forward_s'] > 0 and p['profiled_forward_s'] > 0 and p['reps'] == 2
sys.exit(0 if ok else 1)" "$tmp/prof.json" && ok || fail "profile --json: $(head -c 300 "$tmp/prof.json")"
"$bin" profile --model mobilenet_v2 --batch 2 --reps 2 >"$tmp/prof.txt" 2>&1 && py "
import re, sys; t = open(sys.argv[1]).read()
rows = re.findall(r'^\d+ .* (\d+\.\d)%', t, re.M)
ok = abs(sum(map(float, rows)) - 100) < 3 and re.search(r'^conv +\d+ ', t, re.M) and 'unprofiled forward' in t
sys.exit(0 if ok else 1)" "$tmp/prof.txt" && ok || fail "profile text: $(head -c 300 "$tmp/prof.txt")"
out=$("$bin" profile --model vit_b_32 --batch 1 --reps 1 2>&1)
[[ "$out" == *"attention"* && "$out" == *"linear"* && "$out" == *"unprofiled forward"* ]] && ok ||
    fail "profile vit text: $out"

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

echo "tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

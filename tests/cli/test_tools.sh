#!/usr/bin/env bash
# test_tools.sh — `batchbench peak` and `batchbench profile`: well-formed
# output whose numbers add up, and exit 2 on bad arguments.
# Usage: tests/cli/test_tools.sh path/to/batchbench
set -u
bin=${1:?usage: test_tools.sh path/to/batchbench}
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

"$bin" peak --json > /tmp/bb-peak.$$ 2>&1 && /usr/bin/python3 -c "
import json, sys; p = json.load(open('/tmp/bb-peak.$$'))
sys.exit(0 if p['sgemm_gflops'] > 0 and p['conv_gflops'] > 0 and p['threads'] >= 1 else 1)" && ok || fail "peak --json: $(cat /tmp/bb-peak.$$)"
rm -f /tmp/bb-peak.$$

"$bin" profile --model mobilenet_v2 --batch 2 --reps 2 --json > /tmp/bb-prof.$$ 2>&1 && /usr/bin/python3 -c "
import json, sys; p = json.load(open('/tmp/bb-prof.$$'))
share = sum(s['share'] for s in p['steps'])
kinds = {k['kind'] for k in p['by_kind']}
ok = abs(share - 1) < 1e-6 and 'conv' in kinds and p['unprofiled_forward_s'] > 0 and len(p['steps']) > 50
sys.exit(0 if ok else 1)" && ok || fail "profile --json: $(head -c 300 /tmp/bb-prof.$$)"
rm -f /tmp/bb-prof.$$
out=$("$bin" profile --model vit_b_32 --batch 1 --reps 1 2>&1)
[[ "$out" == *"attention"* && "$out" == *"unprofiled forward"* ]] && ok || fail "profile text output: $out"

expect2() {
    local want=$1; shift
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect2 "unknown model 'nope'" profile --model nope
expect2 "--batch: 0 is out of range" profile --model resnet18 --batch 0
expect2 "--model is required" profile
expect2 "--threads: 0 is out of range" peak --threads 0

echo "tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

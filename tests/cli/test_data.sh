#!/usr/bin/env bash
# test_data.sh — JPEG data sets and the ImageNet transform as a user meets
# them: `dataset make --kind jpeg` writes N images and a manifest that lists
# them (deterministic for a seed, mean size printed); `dataset transform`
# equals torchvision's transform (tools/transform_parity.py, both the full
# decode and --dct-scale) on those and on JPEG variants made with PIL; a
# garbage file, a truncated JPEG, an empty file, a missing one and a CMYK
# one exit 1 naming the path, without a crash; bad arguments exit 2 naming
# the flag. Run it on a sanitizer build too (make asan).
# Usage: tests/cli/test_data.sh path/to/batchbench
set -u
bin=${1:?usage: test_data.sh path/to/batchbench}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
have_py=0
/usr/bin/python3 -c 'import numpy' 2>/dev/null && have_py=1

# make --kind jpeg: 20 files, the manifest lists them with their total size
out=$("$bin" dataset make --kind jpeg --items 20 --seed 1 --out "$tmp/jpg" 2>&1)
[ $? -eq 0 ] && [[ "$out" == "wrote 20 JPEG images (mean "*" KB, "*" MB in all, quality 95) to $tmp/jpg" ]] && ok ||
    fail "dataset make --kind jpeg: $out"
echo "data: $out"
n=$(ls "$tmp/jpg/images" | grep -c '^img-000[0-9][0-9]\.jpg$')
[ "$n" -eq 20 ] && ok || fail "20 images: $(ls "$tmp/jpg/images")"
/usr/bin/python3 -c '
import json, os, sys
d = sys.argv[1]; m = json.load(open(d + "/manifest.json"))
files = [f"images/img-{i:05d}.jpg" for i in range(20)]
sizes = [os.path.getsize(os.path.join(d, f)) for f in files]
ok = m["format"] == "batchbench-dataset" and m["version"] == 1 and m["kind"] == "jpeg" and m["items"] == 20
ok = ok and m["files"] == files and m["bytes"] == sum(sizes) and m["seed"] == 1 and m["quality"] == 95
ok = ok and all(open(os.path.join(d, f), "rb").read(3) == b"\xff\xd8\xff" for f in files)
sys.exit(0 if ok else 1)' "$tmp/jpg" && ok || fail "jpeg manifest: $(head -c 300 "$tmp/jpg/manifest.json")"
[ -z "$(ls "$tmp/jpg/images" | grep tmp)" ] && ok || fail "temporary files left: $(ls "$tmp/jpg/images")"

# deterministic: same seed, same bytes; another seed, other bytes
"$bin" dataset make --kind jpeg --items 3 --seed 1 --out "$tmp/again" >/dev/null 2>&1
cmp -s "$tmp/jpg/images/img-00002.jpg" "$tmp/again/images/img-00002.jpg" && ok || fail "same seed, different file"
"$bin" dataset make --kind jpeg --items 3 --seed 2 --out "$tmp/other" >/dev/null 2>&1
cmp -s "$tmp/jpg/images/img-00002.jpg" "$tmp/other/images/img-00002.jpg" && fail "seed ignored" || ok

# the default kind is still preprocessed, and says so
"$bin" dataset make --items 3 --items-per-shard 2 --out "$tmp/pre" >/dev/null 2>&1 &&
    grep -q '"kind":[[:space:]]*"preprocessed"' "$tmp/pre/manifest.json" && ok || fail "preprocessed manifest"

# transform: a [3,224,224] .npy; parity with torchvision
out=$("$bin" dataset transform --in "$tmp/jpg/images/img-00000.jpg" --out "$tmp/t.npy" 2>&1)
[ $? -eq 0 ] && [ -s "$tmp/t.npy" ] && ok || fail "dataset transform: $out"
if [ $have_py -eq 1 ]; then
    /usr/bin/python3 -c 'import numpy as np, sys; a = np.load(sys.argv[1])
sys.exit(0 if a.shape == (3, 224, 224) and a.dtype == np.float32 and np.isfinite(a).all() else 1)' "$tmp/t.npy" &&
        ok || fail "transform output shape"
fi
out=$(/usr/bin/python3 "$here/tools/transform_parity.py" --bin "$bin" "$tmp/jpg" 2>&1)
rc=$?
echo "$out" | sed 's/^/data: /'
[ $rc -eq 0 ] && ok || fail "transform parity (exit $rc)"

# parity on the JPEG variants a real data set holds, made with PIL from one
# synthetic image: upscaling, exact 224/256 sides, very wide and tall,
# grayscale, progressive, 4:4:4 and 4:2:2 chroma, a large photo
if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
    mkdir -p "$tmp/odd"
    /usr/bin/python3 -c '
import sys
from PIL import Image
src, d = Image.open(sys.argv[1]).convert("RGB"), sys.argv[2]
for name, im, kw in [("small", src.resize((100, 80)), {}), ("exact256", src.resize((256, 300)), {}),
                     ("exact224", src.resize((224, 224)), {}), ("wide", src.resize((1000, 260)), {}),
                     ("tall", src.resize((257, 1200)), {}), ("gray", src.convert("L"), {}),
                     ("progressive", src, {"progressive": True}), ("q444", src, {"subsampling": 0}),
                     ("q422", src, {"subsampling": 1}), ("big", src.resize((1601, 1203)), {})]:
    im.save(f"{d}/{name}.jpg", quality=90, **kw)
src.convert("CMYK").save(f"{d}/../cmyk.jpg", quality=90)' "$tmp/jpg/images/img-00003.jpg" "$tmp/odd"
    out=$(/usr/bin/python3 "$here/tools/transform_parity.py" --bin "$bin" "$tmp/odd" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/data: variants: /'
    [ $rc -eq 0 ] && ok || fail "transform parity on JPEG variants (exit $rc)"
fi

# bad files: exit 1 naming the path and the reason; no output file, no crash
printf 'GIF89a this is not a JPEG, just some bytes to decode\n' >"$tmp/garbage.jpg"
head -c 30000 "$tmp/jpg/images/img-00001.jpg" >"$tmp/half.jpg"
: >"$tmp/empty.jpg"
expect1() {
    local file=$1 want=$2
    local o; o=$("$bin" dataset transform --in "$file" --out "$tmp/bad.npy" 2>&1); local rc=$?
    [ $rc -eq 1 ] && [[ "$o" == *"$file: $want"* && "$o" != *Sanitizer* && ! -e "$tmp/bad.npy" ]] && ok ||
        fail "transform $file: exit $rc: $o"
}
expect1 "$tmp/garbage.jpg" "corrupt JPEG: Not a JPEG file"
expect1 "$tmp/half.jpg" "truncated JPEG: Premature end of JPEG file"
expect1 "$tmp/empty.jpg" "corrupt JPEG: Empty input file"
expect1 "$tmp/none.jpg" "cannot open: No such file or directory"
[ -e "$tmp/cmyk.jpg" ] && expect1 "$tmp/cmyk.jpg" "unsupported JPEG: CMYK colour space"
o=$("$bin" dataset transform --in "$tmp/jpg/images/img-00000.jpg" --out "$tmp/no/such/dir/x.npy" 2>&1)
[ $? -eq 1 ] && [[ "$o" == *"$tmp/no/such/dir/x.npy"* ]] && ok || fail "unwritable --out: $o"

# bad arguments: exit 2 naming the flag
expect2() {
    local want=$1; shift
    local o; o=$("$bin" "$@" 2>&1); local rc=$?
    [ $rc -eq 2 ] && [[ "$o" == *"$want"* ]] && ok || fail "batchbench $*: exit $rc: $o"
}
expect2 "--kind: 'png' is not preprocessed or jpeg" dataset make --kind png --out "$tmp/x"
expect2 "--items-per-shard does not apply to --kind jpeg" dataset make --kind jpeg --items-per-shard 2 --out "$tmp/x"
expect2 "--quality does not apply to --kind preprocessed" dataset make --quality 80 --out "$tmp/x"
expect2 "--quality: 0 is out of range" dataset make --kind jpeg --quality 0 --out "$tmp/x"
expect2 "--out is required" dataset make --kind jpeg
expect2 "--in is required" dataset transform --out "$tmp/x.npy"
expect2 "--out is required" dataset transform --in "$tmp/half.jpg"
expect2 "unexpected argument 'extra'" dataset transform --in a.jpg --out b.npy extra
expect2 "expected the subcommand 'make' or 'transform'" dataset frobnicate
[ ! -e "$tmp/x" ] && ok || fail "a refused make created $tmp/x"
o=$("$bin" dataset --help 2>&1)
[ $? -eq 0 ] && [[ "$o" == *"dataset transform --in FILE.jpg --out X.npy [--dct-scale]"* &&
    "$o" == *"--kind preprocessed|jpeg"* ]] && ok || fail "dataset --help: $o"

echo "data: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# run_dataload_on_server.sh — the seed's data-loading experiment on a server,
# as its data_loading_experiment.py ran it: build, make the two data sets if
# absent (10,240 preprocessed 3x224x224 items; JPEGs: Imagenette's train split
# when --imagenette points at it, else batchbench's synthetic JPEG set), run
# `batchbench dataload --preset seed` over both (batch sizes 32..1024, workers
# 1,2,4,8,32,48,64, no and 2 s simulated inference, 11 waits per configuration,
# worker processes) with the CPUs pinned, write the report, pack the results.
#
#   scripts/run_dataload_on_server.sh [--cpus LIST] [--out DIR] [--data-dir DIR]
#                                     [--imagenette DIR] [--jpeg-items N]
#                                     [--worker-kind process|thread|thread,process]
#                                     [--no-build] [--dry-run] [-- extra dataload flags]
#
# --cpus LIST        CPUs to pin to with taskset, e.g. 0-63 (the seed ran in
#                    Docker with --cpuset-cpus: 64 of 128 threads); default: none
# --out DIR          results folder (default results-dataload-<host>-<date>):
#                    DIR/preprocessed/, DIR/jpeg/ (one JSON per configuration and
#                    summary.csv each), DIR/report.md with the charts, DIR.tar.gz
# --data-dir DIR     where the data sets are made, or found when already there
#                    (default data-dataload): DIR/preprocessed (10,240 items,
#                    6.2 GB, as the seed's), DIR/jpeg (synthetic) or DIR/imagenette
# --imagenette DIR   Imagenette (the imagenette2 or imagenette2-320 folder): its
#                    train/ split (9,469 JPEGs) becomes the JPEG set: a manifest
#                    listing them, sorted then shuffled with seed 42 (Python's
#                    random, not PyTorch's permutation), in DATA/imagenette with
#                    a link to DIR/train; needs python3
# --jpeg-items N     synthetic JPEGs to make without --imagenette (default 9469,
#                    Imagenette's train split)
# --worker-kind K    the loader's workers (default process, the seed's: PyTorch's
#                    DataLoader workers are processes); thread,process runs both
#                    and the report compares them
# --no-build         use the binary as it is (no install-deps, no make)
# --dry-run          print the commands it would run, run nothing
# Flags after -- go to both `batchbench dataload` runs (e.g. --sleep-scale 0.1).
# BATCHBENCH_BIN: the binary (default ./build/batchbench).
# Exit codes: 0 all ok; 1 a configuration did not end ok, or a step failed;
# 2 bad arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
me=run_dataload_on_server.sh
cpus='' out="results-dataload-$(hostname)-$(date +%Y%m%d-%H%M%S)" data=data-dataload imagenette=''
jpeg_items=9469 kind=process build=1 dry=0
die() { echo "$me: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
    --cpus | --out | --data-dir | --imagenette | --jpeg-items | --worker-kind)
        [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"
        case "$1" in
        --cpus) cpus=$2 ;; --out) out=$2 ;; --data-dir) data=$2 ;; --imagenette) imagenette=$2 ;;
        --jpeg-items) jpeg_items=$2 ;; --worker-kind) kind=$2 ;;
        esac
        shift 2 ;;
    --no-build) build=0; shift ;;
    --dry-run) dry=1; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ -z "$cpus" || "$cpus" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || die "--cpus: '$cpus' is not a CPU list such as 0-63 or 0,2,4"
[[ "$jpeg_items" =~ ^[1-9][0-9]*$ ]] || die "--jpeg-items: '$jpeg_items' is not a positive integer"
case "$kind" in process|thread|thread,process|process,thread) ;; *) die "--worker-kind: '$kind' is not process, thread or thread,process" ;; esac
if [ -n "$imagenette" ]; then
    [ -d "$imagenette/train" ] || die "--imagenette: '$imagenette' has no train/ folder (point it at imagenette2 or imagenette2-320)"
    imagenette=$(cd "$imagenette" && pwd)
fi

# run CMD...: runs it, or with --dry-run prints it (shell-quoted)
run() {
    if [ "$dry" = 1 ]; then printf '%q ' "$@"; printf '\n'; else "$@"; fi
}

# A manifest (source.h's jpeg kind) for Imagenette's train split in $1, with
# train/ linked to the Imagenette folder $2.
imagenette_set() {
    mkdir -p "$1" && ln -sfn "$2/train" "$1/train"
    /usr/bin/env python3 - "$1" <<'PY'
import json, os, random, sys
d = sys.argv[1]
files = sorted(os.path.join(r, f)[len(d) + 1:] for r, _, fs in os.walk(os.path.join(d, "train"), followlinks=True)
               for f in fs if f.lower().endswith((".jpeg", ".jpg")))
random.Random(42).shuffle(files)
total = sum(os.path.getsize(os.path.join(d, f)) for f in files)
json.dump({"format": "batchbench-dataset", "version": 1, "kind": "jpeg", "items": len(files), "files": files,
           "bytes": total, "source": "Imagenette train split, shuffled with seed 42"}, open(os.path.join(d, "manifest.json"), "w"))
print(f"{d}: {len(files)} Imagenette images, {total / len(files) / 1e3:.0f} KB on average")
PY
}

if [ "$build" = 1 ]; then
    run bash scripts/install-deps.sh
    run make -j"$(nproc)"
fi
BB=${BATCHBENCH_BIN:-./build/batchbench}
[ "$dry" = 1 ] || "$BB" env >/dev/null # fail early if the binary cannot run
pin=()
[ -n "$cpus" ] && pin=(taskset -c "$cpus")

pre=$data/preprocessed jpg=$data/jpeg
run mkdir -p "$data" "$out"
[ -f "$pre/manifest.json" ] || run "$BB" dataset make --out "$pre" --items 10240
if [ -n "$imagenette" ]; then
    jpg=$data/imagenette
    if [ ! -f "$jpg/manifest.json" ]; then
        if [ "$dry" = 1 ]; then echo "imagenette_set $(printf '%q %q' "$jpg" "$imagenette")"; else imagenette_set "$jpg" "$imagenette"; fi
    fi
elif [ ! -f "$jpg/manifest.json" ]; then
    run "$BB" dataset make --kind jpeg --out "$jpg" --items "$jpeg_items"
fi

echo "$me: dataload --preset seed, worker kind $kind, pinned to ${cpus:-all CPUs}: $pre and $jpg into $out"
rc=0
for set in "$pre" "$jpg"; do
    name=$(basename "$set"); [ "$name" = imagenette ] && name=jpeg
    run "${pin[@]}" "$BB" dataload --preset seed --worker-kind "$kind" --data "$set" --out "$out/$name" "$@" || rc=1
done
# exit 3 = written, but a configuration was oom/error (named above)
run "$BB" report "$out/preprocessed" "$out/jpeg" --out "$out/report.md" || [ $? -eq 3 ] || rc=1
run tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
echo "$me: results in $out/ (report: $out/report.md) and $out.tar.gz (exit $rc)"
exit $rc

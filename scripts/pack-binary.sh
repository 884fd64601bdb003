#!/usr/bin/env bash
# pack-binary.sh — a built batchbench and the shared libraries it needs that a
# bare machine may lack (oneDNN, cJSON, libjpeg, Cairo and what they pull in),
# in one tarball: for a GPU server where Debian's packages cannot be
# installed. Left out: the C and C++ runtimes, and the CUDA driver, runtime,
# cuDNN and cuBLAS, which the server has and which must match its driver.
# The server's C library must be at least as new as the building machine's
# (Debian 12: glibc 2.36).
#
#   scripts/pack-binary.sh OUT.tar.xz [BINARY]     (BINARY: build/batchbench)
#   mkdir bb && tar xJf OUT.tar.xz -C bb           (on the server)
#   LD_LIBRARY_PATH=bb/lib bb/batchbench env --device cuda
#   BATCHBENCH_BIN=bb/batchbench BB_LIB_DIR=bb/lib scripts/gpu-check.sh OUTDIR
#
# Exit codes: 0 packed, 1 no binary or a library not found, 2 bad arguments.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: scripts/pack-binary.sh OUT.tar.xz [BINARY]" >&2
    exit 2
fi
out=$1 bin=${2:-build/batchbench}
if [ ! -x "$bin" ]; then
    echo "pack-binary.sh: no executable at '$bin' (build it with make)" >&2
    exit 1
fi
missing=$(ldd "$bin" | grep 'not found' || true)
if [ -n "$missing" ]; then
    echo "pack-binary.sh: '$bin' needs libraries this machine lacks:"$'\n'"$missing" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out.tmp"' EXIT
mkdir -p "$tmp/lib"
cp "$bin" "$tmp/batchbench"
skip='/(libc|libm|libmvec|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so|/lib(cuda|cudart|cudnn[^/]*|cublas|cublasLt)\.so'
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -v -E "$skip" | while read -r lib; do
    cp -L "$lib" "$tmp/lib/"
done
tar cJf "$out.tmp" -C "$tmp" .
mv "$out.tmp" "$out"
echo "packed $bin and $(find "$tmp/lib" -type f | wc -l) libraries into $out ($(du -h "$out" | cut -f1))"

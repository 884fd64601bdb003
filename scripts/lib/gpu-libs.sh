# shellcheck shell=bash
# gpu-libs.sh — sourced by scripts/gpu-check.sh and scripts/gpu-vs-peers.sh:
# where a GPU server's Python keeps cuDNN and cuBLASLt (the nvidia-* wheels
# PyTorch brings), and a wrapper that runs batchbench with them on its
# library path while PyTorch's own processes never see that path.
#
#   find_gpu_libs PY     prints what it found; sets GPU_CUDNN_ROOT (for
#                        make CUDNN_ROOT=), GPU_CUDNN_LIB, GPU_CUBLAS_LIB
#   enter_repo OUTDIR    creates OUTDIR; sets OUT (its absolute path), REPO
#                        (the repository, now the working folder) and PY
#                        ($PYTHON, else python3); 1 if OUTDIR cannot be made
#   write_bb_wrapper WRAPPER BIN [LIBDIR]
#                        writes an executable WRAPPER that runs BIN with
#                        LIBDIR (e.g. pack-binary.sh's lib/), the two
#                        folders above and $LD_LIBRARY_PATH on its path;
#                        prints the path and what ldd resolves

enter_repo() {
    mkdir -p "$1" || return 1
    OUT=$(cd "$1" && pwd) || return 1
    cd "$(dirname "${BASH_SOURCE[0]}")/../.." || return 1
    REPO=$PWD
    PY=${PYTHON:-python3}
}

find_gpu_libs() {
    local py=$1 nv cudnn_pkg cudnn_h cudnn_so cublas_so
    GPU_CUDNN_ROOT="" GPU_CUDNN_LIB="" GPU_CUBLAS_LIB=""
    nv=$(timeout 60 "$py" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null)
    cudnn_pkg=$(timeout 60 "$py" -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null)
    echo "site-packages nvidia/: ${nv:-not found}"
    echo "nvidia.cudnn: ${cudnn_pkg:-not found}"
    # shellcheck disable=SC2086  # $nv: one folder per line, no spaces expected
    cudnn_h=$(find ${cudnn_pkg:-/nonexistent} -name cudnn.h 2>/dev/null | head -1)
    # shellcheck disable=SC2086
    cudnn_so=$(find ${cudnn_pkg:-/nonexistent} -name 'libcudnn.so.9' 2>/dev/null | head -1)
    # shellcheck disable=SC2086
    cublas_so=$(find ${nv:-/nonexistent} -name 'libcublasLt.so*' 2>/dev/null | sort | head -1)
    echo "cudnn.h: ${cudnn_h:-not found}"
    echo "libcudnn.so.9: ${cudnn_so:-not found}"
    echo "libcublasLt (site-packages): ${cublas_so:-not found}; toolkit:" \
        "$(find /usr/local/cuda/lib64/ -maxdepth 1 -name 'libcublasLt.so*' 2>/dev/null | sort | head -1)"
    [ -n "$cudnn_so" ] && GPU_CUDNN_LIB=$(dirname "$cudnn_so")
    [ -n "$cublas_so" ] && GPU_CUBLAS_LIB=$(dirname "$cublas_so")
    if [ -n "$cudnn_pkg" ] && [ -f "$cudnn_pkg/include/cudnn.h" ] && [ -f "$cudnn_pkg/lib/libcudnn.so.9" ]; then
        GPU_CUDNN_ROOT=$cudnn_pkg
    elif [ -n "$cudnn_h" ] && [ -n "$cudnn_so" ]; then
        GPU_CUDNN_ROOT=$(dirname "$(dirname "$cudnn_h")")
        echo "note: cudnn.h and libcudnn.so.9 are not in <root>/include, <root>/lib; CUDNN_ROOT=$GPU_CUDNN_ROOT"
    fi
    echo "CUDNN_ROOT=${GPU_CUDNN_ROOT:-unset (Makefile default)}"
}

write_bb_wrapper() {
    local wrapper=$1 bin=$2 extra=${3:-} ld
    ld=${extra:+$extra:}${GPU_CUDNN_LIB:+$GPU_CUDNN_LIB:}${GPU_CUBLAS_LIB:+$GPU_CUBLAS_LIB:}${LD_LIBRARY_PATH:-}
    ld=${ld%:}
    cat >"$wrapper" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH='$ld' exec '$bin' "\$@"
WRAP
    chmod +x "$wrapper"
    echo "batchbench: $bin; LD_LIBRARY_PATH for it: $ld"
    if [ -x "$bin" ]; then
        LD_LIBRARY_PATH=$ld ldd "$bin" | grep -E 'cudnn|cublas|cudart|dnnl|not found'
        return 0
    fi
    return 1
}

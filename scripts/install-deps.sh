#!/usr/bin/env bash
# install-deps.sh — installs everything batchbench needs to build and to run
# its tests on Debian 12: Debian packages with apt-get (as root; only what is
# missing; Slurm, munge and iproute2 for the cluster test, tests/slurm), then
# ONNX Runtime from PyPI into .venv/ (a virtual environment that also sees
# Debian's python3-torch), the peer peers/vs_peers.py compares with, and
# timm (models for the ONNX import tests), and ONNX's per-op test cases
# (from the onnx sdist on PyPI, into .venv/onnx-node-tests-*). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential pkg-config libdnnl-dev libcjson-dev libcmocka-dev
      libcairo2-dev fonts-dejavu-core libjpeg62-turbo-dev
      python3 python3-numpy python3-scipy python3-torch python3-torchvision python3-venv python3-pip
      python3-jsonschema
      libopenblas0-pthread valgrind xz-utils shellcheck
      libonnx-dev protobuf-c-compiler libprotobuf-c-dev clang libclang-rt-dev libomp-dev python3-onnx
      munge slurmctld slurmd slurm-client iproute2 util-linux)
ORT_VERSION=1.32.0
TIMM_VERSION=0.9.16
ONNX_TESTS_VERSION=1.14.1
ONNX_TESTS_SHA256=70903afe163643bd71195c78cedcc3f4fa05a2af651fd950ef3acbb15175b2d1
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
elif [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    echo "install-deps: installed ${missing[*]}"
fi
# ONNX Runtime for peers/vs_peers.py (and its test): Debian has no package.
if .venv/bin/python -c "import onnxruntime, torch" 2>/dev/null; then
    echo "install-deps: .venv has onnxruntime $(.venv/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)')"
else
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION"
    echo "install-deps: installed onnxruntime $ORT_VERSION into .venv"
fi
# timm for the ONNX import tests' models beyond torchvision
# (tests/onnx/run_onnx_parity.py --models timm:NAME): pure Python, on
# Debian's torch, so without its dependencies (it needs none of them to
# build a model that is not pretrained).
if .venv/bin/python -c "import timm; assert timm.__version__ == '$TIMM_VERSION'" 2>/dev/null; then
    echo "install-deps: .venv has timm $TIMM_VERSION"
else
    .venv/bin/pip install -q --disable-pip-version-check --no-deps "timm==$TIMM_VERSION"
    echo "install-deps: installed timm $TIMM_VERSION into .venv"
fi
# ONNX's own per-op conformance cases (tests/onnx/run_node_tests.py): they
# ship in the onnx source distribution only, so its sdist is downloaded from
# PyPI (hash-pinned) and only onnx/backend/test/data/node is kept.
node_dir=.venv/onnx-node-tests-$ONNX_TESTS_VERSION
if [ -d "$node_dir/node" ]; then
    echo "install-deps: .venv has onnx $ONNX_TESTS_VERSION's node test cases"
else
    tmpd=$(mktemp -d)
    echo "onnx==$ONNX_TESTS_VERSION --hash=sha256:$ONNX_TESTS_SHA256" >"$tmpd/req.txt"
    .venv/bin/pip download -q --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
        --require-hashes -r "$tmpd/req.txt" -d "$tmpd"
    tar xzf "$tmpd/onnx-$ONNX_TESTS_VERSION.tar.gz" -C "$tmpd" "onnx-$ONNX_TESTS_VERSION/onnx/backend/test/data/node"
    rm -rf "$node_dir.part" && mkdir -p "$node_dir.part"
    mv "$tmpd/onnx-$ONNX_TESTS_VERSION/onnx/backend/test/data/node" "$node_dir.part/" && mv "$node_dir.part" "$node_dir"
    rm -rf "$tmpd"
    echo "install-deps: unpacked onnx $ONNX_TESTS_VERSION's node test cases into $node_dir"
fi

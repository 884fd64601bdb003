#!/usr/bin/env bash
# install-deps.sh — installs (as root, with apt-get) everything batchbench
# needs to build and to run its tests on Debian 12. Installs only what is
# missing; safe to run again.
set -euo pipefail
pkgs=(build-essential pkg-config libdnnl-dev libcjson-dev libcmocka-dev
      libcairo2-dev fonts-dejavu-core libjpeg62-turbo-dev
      python3 python3-numpy python3-torch python3-torchvision libopenblas0-pthread valgrind)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"

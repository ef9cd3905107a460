#!/usr/bin/env bash
# Installs the Debian 12 packages gradcam needs. Only missing packages are
# installed, so on a machine that has them this works offline.
#   scripts/install-deps.sh          build + run (the demo)
#   scripts/install-deps.sh --test   also what the test suite needs
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libopenblas-openmp-dev libjpeg62-turbo-dev
  libpng-dev libcairo2-dev fonts-dejavu-core libzip-dev zlib1g-dev libcjson-dev
  libcurl4-openssl-dev libssl-dev protobuf-c-compiler libprotobuf-c-dev libonnx-dev)
test_pkgs=(libcmocka-dev python3 python3-numpy python3-torch python3-torchvision
  python3-opencv python3-pil python3-venv python3-pip python3-setuptools clang
  libclang-rt-14-dev libomp-14-dev valgrind python3-scipy slurm-wlm munge chromium)
# The report's browser test drives Chromium from Node.js (npm's
# playwright-core). A Node.js that brings its own npm (NodeSource's, say)
# is kept: Debian's npm package conflicts with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  test_pkgs+=(nodejs npm)
fi

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

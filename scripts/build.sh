#!/usr/bin/env bash
# Configure and build into a directory (default build/), warnings as errors.
#
#   scripts/build.sh [BUILD_DIR [CMAKE_ARGS...]]
#   scripts/build.sh build-asan -DEV_SANITIZE=ON
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-build}
shift || true
cmake -S "$repo_root" -B "$repo_root/$build_dir" -DEV_WERROR=ON "$@" >/dev/null
cmake --build "$repo_root/$build_dir" -j"$(nproc)"

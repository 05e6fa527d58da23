#!/usr/bin/env bash
# Sets up a fresh machine, builds everything and runs every test (native and WebAssembly).
# This is the README's test command and what CI runs (.ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
echo "== formatting"
bash "$root/scripts/check_format.sh"
HC_WERROR=ON bash "$root/scripts/build.sh" all
jobs="$(nproc)"
echo "== native tests"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure
echo "== WebAssembly tests (node)"
# shellcheck source=emscripten_env.sh
source "$root/scripts/emscripten_env.sh" "$root/build-wasm"
ctest --test-dir "$root/build-wasm" -j "$jobs" --output-on-failure
echo "== all tests passed"

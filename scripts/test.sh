#!/usr/bin/env bash
# Sets up a fresh machine, builds everything and runs every test (native and WebAssembly).
# This is the README's test command and what CI runs (.ci/run): formatting, the native suites,
# the WebAssembly suites, the same suites under ASan + UBSan, and a short fuzzing run of every
# parser (HC_FUZZ_SECONDS per parser, default 60).
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
echo "== sanitizers (clang ASan + UBSan: core, native, ui suites)"
bash "$root/scripts/sanitize.sh"
echo "== fuzzing (${HC_FUZZ_SECONDS:-60} s per parser)"
bash "$root/scripts/fuzz.sh" "${HC_FUZZ_SECONDS:-60}"
echo "== all tests passed"

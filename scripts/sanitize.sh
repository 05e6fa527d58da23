#!/usr/bin/env bash
# Builds the core, native (without LibTorch) and dashboard code with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer in build-san/ (with the libFuzzer targets), and
# runs the core, native and ui test suites there. Any sanitizer report fails the run.
# Usage: scripts/sanitize.sh [build-only]   (assumes scripts/setup.sh ran)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/build-san"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHC_FUZZ=ON -DHC_WITH_TORCH=OFF -DHC_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"
[ "${1:-}" = "build-only" ] && exit 0
ctest --test-dir "$dir" -j "$(nproc)" -L 'core|native|ui' --output-on-failure

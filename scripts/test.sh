#!/usr/bin/env bash
# Sets up a fresh machine, builds everything and runs every test (native and WebAssembly).
# This is the README's test command and what CI runs (.ci/run): formatting, the native suites,
# the WebAssembly suites, the same suites under ASan + UBSan, and a short fuzzing run of every
# parser (HC_FUZZ_SECONDS per parser, default 30). Prints each stage's time at the end (also
# when a stage fails) and warns when the whole run passes 60 minutes: CI stops at 90.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

run_start=$SECONDS stage_start=$SECONDS stage_name="" timings=()
stage() {  # ends the current stage, starts the next
  [ -z "$stage_name" ] || timings+=("$(printf '%-58s %4d s' "$stage_name" $((SECONDS - stage_start)))")
  stage_name="$1" stage_start=$SECONDS
  [ -z "$1" ] || echo "== $1"
}
report() {
  local status=$?
  stage ""
  echo "== stage times"
  printf '  %s\n' "${timings[@]}"
  local total=$((SECONDS - run_start))
  printf '  %-58s %4d s (%d min)\n' "total" "$total" $((total / 60))
  if [ "$total" -gt 3600 ]; then
    echo "!! WARNING: the test command took $((total / 60)) minutes, over the 60-minute budget" \
      "(CI stops at 90): cut it back before adding tests" >&2
  fi
  return "$status"
}
trap report EXIT

stage "setup"
bash "$root/scripts/setup.sh"
stage "formatting"
bash "$root/scripts/check_format.sh"
stage "build (native and WebAssembly, -Werror)"
HC_WERROR=ON bash "$root/scripts/build.sh" all
jobs="$(nproc)"
stage "native tests"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure
stage "WebAssembly tests (node)"
# shellcheck source=emscripten_env.sh
source "$root/scripts/emscripten_env.sh" "$root/build-wasm"
ctest --test-dir "$root/build-wasm" -j "$jobs" --output-on-failure
stage "sanitizers (clang ASan + UBSan: core, native, ui suites)"
bash "$root/scripts/sanitize.sh"
stage "fuzzing (${HC_FUZZ_SECONDS:-30} s per parser)"
bash "$root/scripts/fuzz.sh" "${HC_FUZZ_SECONDS:-30}"
stage ""
echo "== all tests passed"

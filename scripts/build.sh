#!/usr/bin/env bash
# Builds HodgeCover: the native tree (build/) and the WebAssembly tree (build-wasm/).
# Usage: scripts/build.sh [native|wasm|all|programs|site]   (default all). Assumes setup.sh ran.
#   native, wasm, all  every target of that tree (tests and benchmarks included)
#   programs           only what users run: build/hodgecover, its LibTorch helper and the
#                      desktop dashboard (scripts/run.sh)
#   site               only the static site with the browser dashboard, build-wasm/site (and
#                      build/hodgecover, which writes its sample files)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-all}"
jobs="$(nproc)"

configure_native() {
  # HC_WERROR=ON (set by scripts/test.sh, so CI) turns warnings in our own code into errors;
  # unset, the tree keeps its setting (so run.sh after test.sh does not recompile everything).
  local werror=()
  [ -z "${HC_WERROR:-}" ] || werror=("-DHC_WERROR=$HC_WERROR")
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${werror[@]}" >/dev/null
}

build_native() {  # [target...]
  configure_native
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  cmake --build "$root/build" -j "$jobs" "${targets[@]}"
}

build_wasm() {  # [target...]
  local dir="$root/build-wasm"
  # shellcheck source=emscripten_env.sh
  source "$root/scripts/emscripten_env.sh" "$dir"
  # SDL2 for the web dashboard: built once from Debian's source package, cached in the tree.
  bash "$root/scripts/build_sdl2_wasm.sh" "$dir" "$jobs"
  if [ ! -f "$dir/build.ninja" ] || [ "$dir/sdl2/.hc-stamp" -nt "$dir/build.ninja" ]; then
    emcmake cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_CROSSCOMPILING_EMULATOR=node;--no-experimental-fetch" >/dev/null
  fi
  local targets=()
  [ $# -eq 0 ] || targets=(--target "$@")
  cmake --build "$dir" -j "$jobs" "${targets[@]}"
}

case "$what" in
  native) build_native ;;
  wasm) build_wasm ;;
  all) build_native; build_wasm ;;
  programs) build_native programs ;;
  site) build_native hodgecover; build_wasm site ;;
  *) echo "usage: scripts/build.sh [native|wasm|all|programs|site]" >&2; exit 2 ;;
esac

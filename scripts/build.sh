#!/usr/bin/env bash
# Builds HodgeCover: the native tree (build/) and the WebAssembly tree (build-wasm/).
# Usage: scripts/build.sh [native|wasm|all]   (default all). Assumes scripts/setup.sh ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-all}"
jobs="$(nproc)"

build_native() {
  # HC_WERROR=ON (set by scripts/test.sh, so CI) turns warnings in our own code into errors.
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    "-DHC_WERROR=${HC_WERROR:-OFF}" >/dev/null
  cmake --build "$root/build" -j "$jobs"
}

build_wasm() {
  local dir="$root/build-wasm"
  # shellcheck source=emscripten_env.sh
  source "$root/scripts/emscripten_env.sh" "$dir"
  # SDL2 for the web dashboard: built once from Debian's source package, cached in the tree.
  bash "$root/scripts/build_sdl2_wasm.sh" "$dir" "$jobs"
  if [ ! -f "$dir/build.ninja" ] || [ "$dir/sdl2/.hc-stamp" -nt "$dir/build.ninja" ]; then
    emcmake cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_CROSSCOMPILING_EMULATOR=node;--no-experimental-fetch" >/dev/null
  fi
  cmake --build "$dir" -j "$jobs"
}

case "$what" in
  native) build_native ;;
  wasm) build_wasm ;;
  all) build_native; build_wasm ;;
  *) echo "usage: scripts/build.sh [native|wasm|all]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Builds SDL2 for WebAssembly from Debian's source package (Emscripten's own SDL port downloads
# from the internet) and installs it under <build-wasm>/sdl2; done once, then cached.
# Usage: scripts/build_sdl2_wasm.sh <build-wasm-dir> [jobs]   (sources scripts/emscripten_env.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
jobs="${2:-2}"
prefix="$dir/sdl2"
if [ -f "$prefix/lib/libSDL2.a" ] && [ -f "$prefix/.hc-stamp" ]; then exit 0; fi
src="$(compgen -G "$root/third_party/src/libsdl2-*/" | head -n 1 || true)"
if [ -z "$src" ] || [ ! -f "$src/CMakeLists.txt" ]; then
  echo "build_sdl2_wasm: Debian source package libsdl2 missing under third_party/src (run scripts/setup.sh)" >&2
  exit 1
fi
# shellcheck source=emscripten_env.sh
source "$root/scripts/emscripten_env.sh" "$dir"
echo "build_sdl2_wasm: building SDL2 for the web from $src (first time only, a few minutes)"
emcmake cmake -S "$src" -B "$dir/sdl2-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DSDL_SHARED=OFF -DSDL_STATIC=ON -DSDL_TEST=OFF >/dev/null
cmake --build "$dir/sdl2-build" -j "$jobs" >/dev/null
cmake --install "$dir/sdl2-build" >/dev/null
touch "$prefix/.hc-stamp"
echo "build_sdl2_wasm: installed in $prefix"

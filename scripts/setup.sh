#!/usr/bin/env bash
# Makes a fresh Debian bookworm machine ready to build and test HodgeCover (idempotent).
# Installs every Debian package the project needs, and fetches the Debian source packages
# (Dear ImGui, SDL2) that the WebAssembly build compiles, into third_party/src.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  clang libclang-rt-14-dev  # the sanitizer tree and libFuzzer (scripts/sanitize.sh, fuzz.sh)
  libeigen3-dev nlohmann-json3-dev libxxhash-dev libboost-test-dev libbenchmark-dev libcli11-dev
  emscripten dpkg-dev python3-numpy python3-scipy  # scipy: bench/decompose_vs_scipy.py
  libimgui-dev libstb-dev libsdl2-dev libgl-dev chromium
  libtorch-dev libgloo-dev libopenblas0-pthread libpcre2-dev libicu-dev
  dict-jargon  # training corpus of the bundled models (scripts/train_models.sh)
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Source packages for the web build need deb-src entries.
src_list=/etc/apt/sources.list.d/debian.sources
classic_list=/etc/apt/sources.list
extra_list=/etc/apt/sources.list.d/hodgecover-deb-src.list
need_src_update=0
if [ -f "$src_list" ]; then
  if ! grep -q "deb-src" "$src_list"; then
    "${sudo_cmd[@]}" sed -i 's/^Types: deb$/Types: deb deb-src/' "$src_list"
    need_src_update=1
  fi
elif [ -f "$classic_list" ] && ! grep -q "^deb-src" "$classic_list" && [ ! -f "$extra_list" ]; then
  # One-line format: mirror every "deb" line as "deb-src" in a file of our own.
  { grep "^deb " "$classic_list" || true; } | sed 's/^deb /deb-src /' | "${sudo_cmd[@]}" tee "$extra_list" >/dev/null
  need_src_update=1
fi

if [ ${#missing[@]} -gt 0 ] || [ $need_src_update -eq 1 ]; then
  echo "setup: installing ${missing[*]:-(source lists only)}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Debian source packages used by the web build (fetched once, kept under third_party/src).
src_dir="$root/third_party/src"
mkdir -p "$src_dir"
fetch_source() { # $1 = source package, $2 = directory glob it unpacks to
  if ! compgen -G "$src_dir/$2" >/dev/null; then
    echo "setup: fetching Debian source package $1"
    # The web dashboard compiles these (scripts/build_sdl2_wasm.sh, cmake/imgui.cmake).
    if ! (cd "$src_dir" && apt-get source -qq "$1" >/dev/null 2>&1); then
      echo "setup: could not fetch Debian source package $1 (needs deb-src entries)" >&2
      exit 1
    fi
  fi
}
fetch_source imgui 'imgui-*/'
fetch_source libsdl2 'libsdl2-*/'
echo "setup: ready"

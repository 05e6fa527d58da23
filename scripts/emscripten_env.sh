# Sourced by the WebAssembly build scripts: a writable Emscripten config and cache inside the
# build tree (Debian's config freezes its cache), and the node module path Debian's emcc needs.
# Usage: source scripts/emscripten_env.sh <build-dir>
hc_wasm_build="$(mkdir -p "$1" && cd "$1" && pwd)"
mkdir -p "$hc_wasm_build"
export EM_CONFIG="$hc_wasm_build/emscripten_config.py"
if [ ! -f "$EM_CONFIG" ]; then
  sed -e 's/^FROZEN_CACHE = True.*/FROZEN_CACHE = False/' /usr/share/emscripten/.emscripten > "$EM_CONFIG"
  printf "\nCACHE = '%s/emcache'\n" "$hc_wasm_build" >> "$EM_CONFIG"
fi
export NODE_PATH=/usr/share/nodejs

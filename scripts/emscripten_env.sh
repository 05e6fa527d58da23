# Sourced by the WebAssembly build scripts: a writable Emscripten config and cache inside the
# build tree (Debian's config freezes its cache), and the node module path Debian's emcc needs.
# The new cache starts as a copy of the single-threaded libraries Debian ships prebuilt, so
# Emscripten does not compile libc and libc++ again (minutes on a fresh machine); anything
# missing from that copy is still built on first use.
# Usage: source scripts/emscripten_env.sh <build-dir>
hc_wasm_build="$(mkdir -p "$1" && cd "$1" && pwd)"
mkdir -p "$hc_wasm_build"
export EM_CONFIG="$hc_wasm_build/emscripten_config.py"
if [ ! -f "$EM_CONFIG" ]; then
  hc_em_cache="$hc_wasm_build/emcache"
  hc_debian_cache=/usr/share/emscripten/cache
  if [ ! -d "$hc_em_cache" ] && [ -d "$hc_debian_cache/sysroot/lib/wasm32-emscripten" ]; then
    mkdir -p "$hc_em_cache/sysroot/lib/wasm32-emscripten"
    cp -r "$hc_debian_cache/sysroot/include" "$hc_em_cache/sysroot/"
    cp "$hc_debian_cache/sysroot_install.stamp" "$hc_em_cache/" 2>/dev/null || true
    find "$hc_debian_cache/sysroot/lib/wasm32-emscripten" -maxdepth 1 -type f \
      ! -name '*-mt*' ! -name '*asan*' ! -name '*lsan*' \
      -exec cp {} "$hc_em_cache/sysroot/lib/wasm32-emscripten/" \;
  fi
  sed -e 's/^FROZEN_CACHE = True.*/FROZEN_CACHE = False/' /usr/share/emscripten/.emscripten > "$EM_CONFIG"
  printf "\nCACHE = '%s'\n" "$hc_em_cache" >> "$EM_CONFIG"
  unset hc_em_cache hc_debian_cache
fi
export NODE_PATH=/usr/share/nodejs

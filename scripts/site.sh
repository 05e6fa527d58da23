#!/usr/bin/env bash
# The static site (landing page, dashboard, embed page, API docs, samples).
#   scripts/site.sh build         build native (sample files) + WebAssembly, assemble build-wasm/site
#   scripts/site.sh serve [PORT]  serve build-wasm/site on http://127.0.0.1:PORT/ (default 8000)
#   scripts/site.sh bench         time load + decomposition of the 48 x 128 sample in headless Chromium
# Assumes scripts/setup.sh ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
site="$root/build-wasm/site"
what="${1:-build}"

case "$what" in
  build)
    bash "$root/scripts/build.sh" native
    bash "$root/scripts/build.sh" wasm
    echo "site: built in $site (serve it with: bash scripts/site.sh serve)"
    ;;
  serve)
    port="${2:-8000}"
    [ -f "$site/app.html" ] || { echo "site: not built yet (bash scripts/site.sh build)" >&2; exit 1; }
    echo "site: serving $site at http://127.0.0.1:$port/ (dashboard: http://127.0.0.1:$port/app.html)"
    exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site"
    ;;
  bench)
    [ -f "$site/samples/synth-bench-48x128.hcstats" ] || { echo "site: not built yet (bash scripts/site.sh build)" >&2; exit 1; }
    python3 "$root/tests/web/bench_browser.py" "$site"
    ;;
  *) echo "usage: scripts/site.sh build|serve [PORT]|bench" >&2; exit 2 ;;
esac

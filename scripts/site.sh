#!/usr/bin/env bash
# The static site (landing page, dashboard, embed page, API docs, samples).
#   scripts/site.sh build         build the CLI (sample files) + the WebAssembly module, assemble
#                                 build-wasm/site
#   scripts/site.sh serve [PORT] [FILE.hcstats] [REPORT.json]
#                                 serve build-wasm/site on http://127.0.0.1:PORT/ (default 8000),
#                                 building it first if it is missing; with FILE (and a
#                                 comparison report), copies them under local/ and prints the
#                                 dashboard URL that opens them
#   scripts/site.sh bench         time load + decomposition of the 48 x 128 sample in headless Chromium
# Assumes scripts/setup.sh ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
site="${HC_SITE_DIR:-$root/build-wasm/site}"  # HC_SITE_DIR: another assembled site (tests)
what="${1:-build}"

case "$what" in
  build)
    bash "$root/scripts/build.sh" site
    echo "site: built in $site (serve it with: bash scripts/site.sh serve)"
    ;;
  serve)
    port="${2:-8000}"
    if [ ! -f "$site/app.html" ]; then
      echo "site: the web dashboard is not built yet; building it now (first time only:" \
        "about 5 minutes on 2 cores, then it is served)"
      bash "$root/scripts/build.sh" site
    fi
    url="http://127.0.0.1:$port/app.html"
    if [ -n "${3:-}" ]; then
      [ -f "$3" ] || { echo "site: $3: no such file" >&2; exit 1; }
      mkdir -p "$site/local"
      cp "$3" "$site/local/"
      url="$url?stats=local/$(basename "$3")"
    fi
    if [ -n "${4:-}" ]; then
      [ -f "$4" ] || { echo "site: $4: no such file" >&2; exit 1; }
      mkdir -p "$site/local"
      cp "$4" "$site/local/report.json"
      url="$url&report=local/report.json"
    fi
    echo "site: serving $site at http://127.0.0.1:$port/ (dashboard: $url)"
    exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$site"
    ;;
  bench)
    [ -f "$site/samples/synth-bench-48x128.hcstats" ] || { echo "site: not built yet (bash scripts/site.sh build)" >&2; exit 1; }
    python3 "$root/tests/web/bench_browser.py" "$site"
    ;;
  *) echo "usage: scripts/site.sh build|serve [PORT] [FILE.hcstats] [REPORT.json]|bench" >&2; exit 2 ;;
esac

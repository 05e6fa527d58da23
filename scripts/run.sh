#!/usr/bin/env bash
# Sets up a fresh machine, builds what users run (the CLI, its LibTorch helper and the desktop
# dashboard; no tests or benchmarks) and runs the main job on the bundled default
# (`hodgecover demo`, output in demo-out/ at the repository root). Extra arguments are passed
# to `hodgecover demo`. The browser dashboard line the demo prints builds the web site on its
# first use (scripts/site.sh serve).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" programs
cd "$root"
"$root/build/hodgecover" demo "$@"

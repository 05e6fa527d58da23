#!/usr/bin/env bash
# Sets up a fresh machine, builds the native CLI and runs the main job on the bundled default
# (`hodgecover demo`, output in demo-out/ at the repository root). Extra arguments are passed
# to `hodgecover demo`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" native
cd "$root"
"$root/build/hodgecover" demo "$@"

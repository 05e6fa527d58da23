#!/usr/bin/env bash
# Sets up a fresh machine, builds the native CLI and runs the main job on the bundled default
# (`hodgecover demo`). Extra arguments are passed to `hodgecover demo`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" native
"$root/build/hodgecover" demo "$@"

#!/usr/bin/env bash
# `extract --estimate --device cpu` against a measured extraction of each bundled model on this
# machine, in the same run: wall time and peak resident memory, estimated / measured.
# Usage: scripts/estimate_check.sh [MODEL...]   (default: the bundled models)
# Environment: HC_BIN (default build/hodgecover), TOKENS (1024).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hc="${HC_BIN:-$root/build/hodgecover}"
tokens="${TOKENS:-1024}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-mixtral tiny-olmoe tiny-qwen3)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "| model | estimated | measured | estimated / measured | peak memory estimated | measured |"
echo "|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  args=(extract --model "$root/models/$model" --tokens "$tokens")
  "$hc" "${args[@]}" --estimate --device cpu --json >"$work/estimate.json"
  /usr/bin/time -f '%M' -o "$work/rss" "$hc" "${args[@]}" --text "$root/models/data/calibration.txt" \
    --json --out "$work/s.hcstats" >"$work/measured.json"
  /usr/bin/env python3 - "$model" "$work" <<'PY'
import json, sys
model, work = sys.argv[1:]
e = json.load(open(f"{work}/estimate.json"))
m = json.load(open(f"{work}/measured.json"))
rss = int(open(f"{work}/rss").read().split()[-1]) * 1024
peak = e["host_peak_bytes"]  # on a CPU the device's share is host memory
print(f"| {model} | {e['seconds']:.1f} s | {m['seconds']:.1f} s | {e['seconds'] / m['seconds']:.2f} | "
      f"{peak / 2**20:.0f} MiB | {rss / 2**20:.0f} MiB |")
PY
done

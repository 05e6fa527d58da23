#!/usr/bin/env bash
# Evidence for the kl_lens top-m support (docs/LENS_SUPPORT.md): each bundled model extracted
# twice from the same calibration text (models/data/calibration.txt, 4096 tokens, 1024
# triangles per layer, as the dashboard samples), once with --lens-support full and once with
# top-m; then HodgeCover plans at 25/50/75% from both. The summary (relative barrier error per
# layer, Spearman, plan agreement, stage times) is printed by scripts/summarize_lens_evidence.py.
# Usage: scripts/lens_evidence.sh [MODEL...]   (default: the bundled models)
# Environment: HC_BIN (default build/hodgecover), OUT (default: a temporary directory).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hc="${HC_BIN:-$root/build/hodgecover}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-mixtral tiny-olmoe tiny-qwen3)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
for model in "${models[@]}"; do
  for support in full top-m; do
    echo "== $model: extract --lens-support $support"
    "$hc" extract --model "$root/models/$model" --text "$root/models/data/calibration.txt" \
      --tokens 4096 --max-triangles 1024 --lens-support "$support" --json \
      --out "$out/$model.$support.hcstats" >"$out/$model.$support.json"
    for ratio in 0.25 0.5 0.75; do
      "$hc" select "$out/$model.$support.hcstats" --method hodgecover --ratio "$ratio" \
        --out "$out/$model.$support.$ratio.plan.json" >/dev/null
    done
  done
done
"${PYTHON:-/usr/bin/python3}" "$root/scripts/summarize_lens_evidence.py" "$out" "${models[@]}"

#!/usr/bin/env bash
# The substitution-barrier evidence of docs/results.md §6, reproducible. Per model: statistics
# (with the directed substitution barriers, format 1.3) from the first half of
# models/data/calibration.txt; every variant of docs/evidence/substitution_variants.json (the new
# methods substitute and hodgerank, HodgeCover on the substitution flow, against HodgeCover,
# pairwise, REAP, EAN, loo and HC-SMoE; the gate correction at its default) at every ratio, with
# and without Wanda 50%; choices on the second half of calibration.txt (--select-on), reported
# on models/data/heldout.txt. Reports go to docs/evidence/<model>-substitution[-kl_full]/.
# Usage: scripts/substitution_evidence.sh [MODEL...]   (default: the three bundled models)
# Environment: HC_BIN (default build/hodgecover), RATIOS (0.25,0.5,0.75,0.875), BARRIER
# (kl_lens; kl_full measures through the final output: slow, run it on tiny-mixtral), STATS_DIR
# (reuse statistics files <model>.hcstats from there instead of extracting).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hc="${HC_BIN:-$root/build/hodgecover}"
ratios="${RATIOS:-0.25,0.5,0.75,0.875}"
barrier="${BARRIER:-kl_lens}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-mixtral tiny-olmoe tiny-qwen3)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/models/data"
python3 "$root/scripts/split_calibration.py" "$data/calibration.txt" "$work"
suffix="-substitution"
[ "$barrier" = kl_lens ] || suffix="-substitution-$barrier"

for model in "${models[@]}"; do
  dir="$root/models/$model"
  echo "== $model ($barrier)"
  stats="$work/$model.hcstats"
  if [ -n "${STATS_DIR:-}" ] && [ -f "$STATS_DIR/$model.hcstats" ]; then
    cp "$STATS_DIR/$model.hcstats" "$stats"
  else
    "$hc" extract --model "$dir" --text "$work/calibration_a.txt" --tokens 4096 \
      --max-triangles 1024 --barrier "$barrier" --out "$stats"
  fi
  rm -rf "$work/cmp"
  "$hc" compare --model "$dir" --stats "$stats" --text "$data/heldout.txt" \
    --select-on "$work/calibration_b.txt" --tokens 8192 --ratios "$ratios" --wanda 0.5 \
    --checkpoints none --variants "$root/docs/evidence/substitution_variants.json" \
    --out "$work/cmp"
  out="$root/docs/evidence/$model$suffix"
  rm -rf "$out"
  mkdir -p "$out"
  # The report names the scratch paths; name the repository's instead.
  for f in report.md report.json; do
    sed -e "s#$stats#statistics of models/$model (first half of calibration.txt)#g" \
      -e "s#$work/##g" -e "s#$root/##g" "$work/cmp/$f" >"$out/$f"
  done
done

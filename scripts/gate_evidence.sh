#!/usr/bin/env bash
# The gate-correction evidence of docs/results.md, reproducible. Per model: statistics from the
# first half of models/data/calibration.txt; every variant of docs/evidence/gate_variants.json
# (each method with the correction off, linear and mass, and uncorrected with each fixed
# output scale of the grid) at every ratio, with and without Wanda 50%; choices are made on the
# second half of calibration.txt (--select-on) and reported on models/data/heldout.txt.
# Reports go to docs/evidence/<model>-gate/; scripts/summarize_gate_evidence.py tabulates them.
# Usage: scripts/gate_evidence.sh [MODEL...]   (default: the four bundled models)
# Environment: HC_BIN (default build/hodgecover), RATIOS (0.25,0.5,0.75,0.875), VARIANTS (default
# docs/evidence/gate_variants.json; the renormalising models were run with
# docs/evidence/gate_variants_renorm.json, the same without the fixed scales). Other evidence
# runs reuse this protocol (scripts/substitution_evidence.sh) with: SUFFIX (report folder
# docs/evidence/<model><SUFFIX>, default -gate), BARRIER (extract --barrier, default kl_lens),
# STATS_DIR (take <model>.hcstats from there instead of extracting).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hc="${HC_BIN:-$root/build/hodgecover}"
ratios="${RATIOS:-0.25,0.5,0.75,0.875}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-olmoe tiny-qwen3-nr tiny-qwen3 tiny-mixtral)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/models/data"
python3 "$root/scripts/split_calibration.py" "$data/calibration.txt" "$work"

for model in "${models[@]}"; do
  dir="$root/models/$model"
  echo "== $model"
  if [ -n "${STATS_DIR:-}" ] && [ -f "$STATS_DIR/$model.hcstats" ]; then
    cp "$STATS_DIR/$model.hcstats" "$work/$model.hcstats"
  else
    "$hc" extract --model "$dir" --text "$work/calibration_a.txt" --tokens 4096 \
      --max-triangles 1024 --barrier "${BARRIER:-kl_lens}" --out "$work/$model.hcstats"
  fi
  rm -rf "$work/cmp"
  "$hc" compare --model "$dir" --stats "$work/$model.hcstats" --text "$data/heldout.txt" \
    --select-on "$work/calibration_b.txt" --tokens 8192 --ratios "$ratios" --wanda 0.5 \
    --checkpoints none --variants "${VARIANTS:-$root/docs/evidence/gate_variants.json}" \
    --out "$work/cmp"
  out="$root/docs/evidence/$model${SUFFIX:--gate}"
  rm -rf "$out"
  mkdir -p "$out"
  # The report names the scratch paths; name the repository's instead.
  for f in report.md report.json; do
    sed -e "s#$work/$model.hcstats#statistics of models/$model (first half of calibration.txt)#g" \
      -e "s#$work/##g" -e "s#$root/##g" "$work/cmp/$f" >"$out/$f"
  done
done

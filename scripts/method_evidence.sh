#!/usr/bin/env bash
# The method evidence of docs/results.md, reproducible: `choose` scores the variants of
# docs/evidence/variants.json on calibration-side text only (statistics from the first half of
# models/data/calibration.txt, KL on the second half); `report` scores every method with the
# shipped defaults on models/data/heldout.txt (statistics from all of calibration.txt, as the
# demo and the dashboard samples in site/samples), together with merge-mode versions, the first reading, five random seeds and Wanda-only
# controls (docs/evidence/report_variants.json). Reports go to docs/evidence/<model>-<stage>/.
# Usage: scripts/method_evidence.sh choose|report [MODEL...]   (default: the bundled models)
# Environment: HC_BIN (default build/hodgecover), RATIOS (0.25,0.5,0.75,0.875).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="${1:?usage: method_evidence.sh choose|report [MODEL...]}"
shift
hc="${HC_BIN:-$root/build/hodgecover}"
ratios="${RATIOS:-0.25,0.5,0.75,0.875}"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-mixtral tiny-olmoe tiny-qwen3)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
data="$root/models/data"
# Calibration halves: whole lines, first half for statistics, second half for choosing.
python3 "$root/scripts/split_calibration.py" "$data/calibration.txt" "$work"

for model in "${models[@]}"; do
  dir="$root/models/$model"
  case "$stage" in
    choose)
      stats_text="$work/calibration_a.txt"
      eval_text="$work/calibration_b.txt"
      what=(--variants "$root/docs/evidence/variants.json")
      ;;
    report)
      stats_text="$data/calibration.txt"
      eval_text="$data/heldout.txt"
      what=(--variants "$root/docs/evidence/report_variants.json" --wanda-only 0.25,0.5,0.75)
      ;;
    *) echo "method_evidence: unknown stage $stage (choose or report)" >&2; exit 2 ;;
  esac
  echo "== $model: $stage"
  sample="$root/site/samples/$model.hcstats"
  if [ "$stage" = report ] && [ -f "$sample" ] && [ -z "${HC_REEXTRACT:-}" ]; then
    # The committed dashboard sample is exactly this extraction (calibration.txt, 4096 tokens,
    # 1024 triangles per layer); HC_REEXTRACT=1 makes it again.
    cp "$sample" "$work/$model.hcstats"
  else
    "$hc" extract --model "$dir" --text "$stats_text" --tokens 4096 --max-triangles 1024 \
      --out "$work/$model.hcstats"
  fi
  out="$root/docs/evidence/$model-$stage"
  rm -rf "$out" "$work/cmp"
  "$hc" compare --model "$dir" --stats "$work/$model.hcstats" --text "$eval_text" \
    --tokens 8192 --ratios "$ratios" --wanda 0.5 --checkpoints none "${what[@]}" \
    --out "$work/cmp"
  mkdir -p "$out"
  # The report names the scratch paths; name the repository's instead.
  sed -e "s#$work/$model.hcstats#statistics of models/$model ($stage stage)#g" \
    -e "s#$work/##g" -e "s#$root/##g" "$work/cmp/report.md" >"$out/report.md"
  sed -e "s#$work/$model.hcstats#statistics of models/$model ($stage stage)#g" \
    -e "s#$work/##g" -e "s#$root/##g" "$work/cmp/report.json" >"$out/report.json"
done

#!/usr/bin/env bash
# Evidence for the --compute-dtype default: extracts each bundled model's statistics in fp32 and
# in bf16 (CPU) on calibration text, then prints the distribution of the barriers' relative
# errors and whether HodgeCover plans at 25/50/75% removal change.
# bf16 products on CPU are slow in Debian's LibTorch (minutes per bundled model).
# Usage: scripts/compute_dtype_evidence.sh [BUILD_DIR] [TOKENS] [MODEL...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${1:-$root/build}/hodgecover"
tokens="${2:-1024}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
shift $(($# > 2 ? 2 : $#))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-olmoe tiny-qwen3 tiny-mixtral)
for model in "${models[@]}"; do
  for dtype in fp32 bf16; do
    "$cli" extract --model "$root/models/$model" --text "$root/models/data/calibration.txt" \
      --tokens "$tokens" --max-triangles 1024 --compute-dtype "$dtype" --out "$work/$model-$dtype.hcstats" >/dev/null
    for ratio in 0.25 0.5 0.75; do
      "$cli" select "$work/$model-$dtype.hcstats" --ratio "$ratio" \
        --out "$work/$model-$dtype-$ratio.json" >/dev/null
    done
  done
  python3 "$root/scripts/compare_stats.py" "$work/$model-fp32.hcstats" \
    "$work/$model-bf16.hcstats" --label "$model"
  for ratio in 0.25 0.5 0.75; do
    if python3 -c 'import json,sys; a,b=(json.load(open(p))["layers"] for p in sys.argv[1:]); sys.exit(0 if a==b else 1)' \
      "$work/$model-fp32-$ratio.json" "$work/$model-bf16-$ratio.json"; then
      echo "  plan at $ratio removal: identical"
    else
      echo "  plan at $ratio removal: differs"
    fi
  done
done

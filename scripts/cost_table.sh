#!/usr/bin/env bash
# The README's extraction cost table: `extract --estimate` on the published configurations in
# bench/published_configs/ (config.json files written from the models' published values), 8192
# calibration tokens, kl_lens, on H100s. Prints Markdown.
# Usage: scripts/cost_table.sh [BUILD_DIR] [TOKENS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${1:-$root/build}/hodgecover"
tokens="${2:-8192}"
echo "| model | MoE layers × experts | pair + substitution + triangle PFLOP | 1 × H100 fp32 | 1 × H100 bf16 | 8 × H100 bf16 | peak GPU memory / process | read from disk / process |"
echo "|---|---|---|---|---|---|---|---|"
for dir in "$root"/bench/published_configs/*/; do
  name="$(basename "$dir")"
  fp32="$("$cli" extract --estimate --model "$dir" --tokens "$tokens" --device h100 --compute-dtype fp32 --json)"
  bf16="$("$cli" extract --estimate --model "$dir" --tokens "$tokens" --device h100 --compute-dtype bf16 --json)"
  bf16x8="$("$cli" extract --estimate --model "$dir" --tokens "$tokens" --device h100 --compute-dtype bf16 --processes 8 --json)"
  python3 - "$name" "$fp32" "$bf16" "$bf16x8" <<'PY'
import json, sys
name, a, b, c = sys.argv[1], *(json.loads(x) for x in sys.argv[2:])
def t(s):
    return f"{s:.0f} s" if s < 120 else f"{s/60:.0f} min" if s < 7200 else f"{s/3600:.1f} h"
s = a["stages"]
pf = (s["pairs"]["flops"] + s["substitutions"]["flops"] + s["triangles"]["flops"]) / 1e15
print(f"| {name} | {a['moe_layers']} × {a['experts']} | {pf:,.0f} | {t(a['seconds'])} | "
      f"{t(b['seconds'])} | {t(c['seconds'])} | {c['device_peak_bytes']/2**30:.1f} GiB | "
      f"{c['disk_bytes_per_process']/2**30:,.0f} GiB |")
PY
done

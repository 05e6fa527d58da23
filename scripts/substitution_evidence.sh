#!/usr/bin/env bash
# The substitution-barrier evidence of docs/results.md §6, reproducible: the protocol of
# scripts/gate_evidence.sh (statistics, now with the directed substitution barriers of format
# 1.3, from the first half of models/data/calibration.txt; choices on the second half; KL on
# models/data/heldout.txt; every ratio with and without Wanda 50%; the gate correction at its
# default) over docs/evidence/substitution_variants.json: substitute, hodgerank and HodgeCover on
# the substitution flow against HodgeCover, pairwise, REAP, EAN, loo and HC-SMoE. Reports go to
# docs/evidence/<model>-substitution[-<barrier>]/; scripts/summarize_substitution_evidence.py
# tabulates them.
# Usage: scripts/substitution_evidence.sh [MODEL...]   (default: the three bundled models)
# Environment: as gate_evidence.sh (HC_BIN, RATIOS, STATS_DIR); BARRIER (kl_lens; kl_full
# measures through the final output: slow, run it on tiny-mixtral).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
barrier="${BARRIER:-kl_lens}"
suffix="-substitution"
[ "$barrier" = kl_lens ] || suffix="-substitution-$barrier"
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny-mixtral tiny-olmoe tiny-qwen3)
VARIANTS="$root/docs/evidence/substitution_variants.json" SUFFIX="$suffix" BARRIER="$barrier" \
  exec bash "$root/scripts/gate_evidence.sh" "${models[@]}"

#!/usr/bin/env bash
# Reproduces the bundled models from scratch: builds hodgecover if needed, extracts the corpus
# from Debian's dict-jargon (The Jargon File, public domain), learns the byte-level BPE, and
# trains models/tiny-mixtral, models/tiny-olmoe, models/tiny-qwen3 (fine-grained experts:
# 64 per layer, top-8) and models/tiny-qwen3-nr (the same without renormalised top-k weights);
# about 30 minutes for the first two and 40 for each of the others on 2 CPU cores.
# Usage: scripts/train_models.sh [NAME...]   (default: all four)
# Environment: HC_BUILD_DIR (default build), HC_BIN (a built hodgecover; skips the build),
# MIXTRAL_STEPS, OLMOE_STEPS, QWEN3_STEPS, HC_TRAIN_THREADS.
set -euo pipefail
# LibTorch's OpenMP threads spin while waiting; on a shared 2-core machine that made 2 threads
# ~9x slower than 1 (measured). Passive waiting keeps 2 threads at least as fast as 1.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${HC_BUILD_DIR:-$root/build}"
threads="${HC_TRAIN_THREADS:-2}"

if [ ! -f /usr/share/dictd/jargon.dict.dz ]; then
  echo "train_models: /usr/share/dictd/jargon.dict.dz missing; run scripts/setup.sh" >&2
  exit 1
fi
if [ -n "${HC_BIN:-}" ]; then
  hc="$HC_BIN"
else
  if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$build" -j2 --target hodgecover
  hc="$build/hodgecover"
fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(tiny-mixtral tiny-olmoe tiny-qwen3 tiny-qwen3-nr)
wanted() { local n; for n in "${names[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/extract_corpus.py" "$work"
mkdir -p "$root/models/data"
cp "$work/heldout.txt" "$work/calibration.txt" "$root/models/data/"
"$hc" bpe --text "$work/train.txt" --vocab 1024 --out "$work/tokenizer.json"

train() {  # $1 = name, then hodgecover train options
  local name="$1"
  shift
  wanted "$name" || return 0
  echo "train_models: training $name"
  "$hc" train --tokenizer "$work/tokenizer.json" --text "$work/train.txt" \
    --heldout "$root/models/data/heldout.txt" --out "$work/$name" --threads "$threads" \
    --report "$work/$name.report.json" "$@"
  # The report names the model by its place in the repository, not the scratch directory.
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["model"] = sys.argv[2]; print(json.dumps(r, indent=2))' \
    "$work/$name.report.json" "models/$name" >"$work/$name/training_report.json"
  rm -rf "$root/models/$name"
  mv "$work/$name" "$root/models/$name"
}

train tiny-mixtral --family mixtral --layers 4 --experts 8 --top-k 2 --hidden 128 \
  --intermediate 256 --heads 4 --kv-heads 2 --seq-len 128 --batch 16 \
  --steps "${MIXTRAL_STEPS:-1100}" --lr 3e-3 --seed 1
train tiny-olmoe --family olmoe --layers 4 --experts 32 --top-k 4 --hidden 128 \
  --intermediate 64 --heads 4 --kv-heads 2 --seq-len 128 --batch 16 \
  --steps "${OLMOE_STEPS:-1000}" --lr 3e-3 --seed 2
# Fine-grained experts as in Qwen3-MoE and DeepSeek: many small experts, top-8, renormalised.
train tiny-qwen3 --family qwen3_moe --layers 6 --experts 64 --top-k 8 --hidden 128 \
  --intermediate 32 --heads 4 --kv-heads 2 --seq-len 128 --batch 16 --norm-topk-prob \
  --steps "${QWEN3_STEPS:-800}" --lr 3e-3 --seed 3
# The same layout trained without renormalising the top-k weights (as OLMoE and Qwen2-MoE with
# norm_topk_prob false): the second non-renormalising model of the gate-correction evidence.
train tiny-qwen3-nr --family qwen3_moe --layers 6 --experts 64 --top-k 8 --hidden 128 \
  --intermediate 32 --heads 4 --kv-heads 2 --seq-len 128 --batch 16 \
  --steps "${QWEN3_STEPS:-800}" --lr 3e-3 --seed 4

for name in "${names[@]}"; do
  "$hc" eval --model "$root/models/$name" --text "$root/models/data/heldout.txt"
done

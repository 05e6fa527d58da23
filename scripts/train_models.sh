#!/usr/bin/env bash
# Reproduces the bundled models from scratch: builds hodgecover if needed, extracts the corpus
# from Debian's dict-jargon (The Jargon File, public domain), learns the byte-level BPE, and
# trains models/tiny-mixtral and models/tiny-olmoe (about 30 minutes on 2 CPU cores).
# Environment: HC_BUILD_DIR (default build), MIXTRAL_STEPS, OLMOE_STEPS, HC_TRAIN_THREADS.
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
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j2 --target hodgecover
hc="$build/hodgecover"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$root/scripts/extract_corpus.py" "$work"
mkdir -p "$root/models/data"
cp "$work/heldout.txt" "$work/calibration.txt" "$root/models/data/"
"$hc" bpe --text "$work/train.txt" --vocab 1024 --out "$work/tokenizer.json"

train() {  # $1 = name, then hodgecover train options
  local name="$1"
  shift
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

for name in tiny-mixtral tiny-olmoe; do
  "$hc" eval --model "$root/models/$name" --text "$root/models/data/heldout.txt"
done

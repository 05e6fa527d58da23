#!/usr/bin/env bash
# Benchmark: extraction with 1 process against N processes on this machine (c10d/Gloo on CPU),
# same model, tokens and settings, in the same run. Prints each wall time and the ratio.
# Usage: bench/bench_distributed.sh [BUILD_DIR] [MODEL_DIR] [TOKENS] [PROCESSES] [MAX_TRIANGLES]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
model="${2:-$root/models/tiny-olmoe}"
tokens="${3:-1024}"
procs="${4:-2}"
triangles="${5:-512}"
cli="$build/hodgecover"
text="$root/models/data/calibration.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
args=(extract --model "$model" --text "$text" --tokens "$tokens" --seq-len 128
  --max-triangles "$triangles")

t0=$(date +%s.%N)
"$cli" "${args[@]}" --out "$work/one.hcstats" >/dev/null
t1=$(date +%s.%N)
port=$((20000 + RANDOM % 20000))
for ((r = 0; r < procs; r++)); do
  RANK=$r LOCAL_RANK=$r WORLD_SIZE=$procs LOCAL_WORLD_SIZE=$procs MASTER_ADDR=127.0.0.1 \
    MASTER_PORT=$port "$cli" "${args[@]}" --out "$work/many.hcstats" >/dev/null &
done
wait
t2=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v n="$procs" -v m="$(basename "$model")" \
  -v tok="$tokens" -v tri="$triangles" -v cores="$(nproc --all)" 'BEGIN {
  printf "model %s, %s tokens, %s triangles per layer at most, %s cores\n", m, tok, tri, cores
  printf "1 process:   %8.2f s\n", t1 - t0
  printf "%d processes: %8.2f s\n", n, t2 - t1
  printf "speed-up (1-process time / %d-process time): %.2f\n", n, (t1 - t0) / (t2 - t1)
}'

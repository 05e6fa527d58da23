#!/usr/bin/env bash
# One prepared GPU check of extraction, printed as one table: on the peaked 32k-vocabulary
# fixture (bench_extract_baseline's: LM head scaled so next-token entropy is 1-3 nats, experts
# scaled so pair barriers are as small as in a trained model), the pair stage (top-m and full)
# against the straightforward per-pair LibTorch version, extraction time and peak memory in
# fp32 and bf16, CPU-vs-CUDA statistics agreement, and the estimate against the measurement.
# Without a CUDA device (or a CUDA build) it runs the CPU rows and says so plainly.
#
# The CUDA build: on a machine with the CUDA toolkit and a CUDA LibTorch (TORCH_DIR pointing
# at its share/cmake/Torch), `bash scripts/build.sh native` configures build/ against it; the
# check needs build/hodgecover, build/hodgecover-torch and build/bench/bench_extract_baseline.
# Usage: bench/gpu_check.sh [BUILD_DIR] [--quick] [--assert-memory]
#   --quick: a 4096-entry vocabulary (for tests); --assert-memory: exit 1 unless the CPU
#   extraction's peak resident memory is within 0.67-1.5x of what --estimate predicts.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
quick=0 assert_memory=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --assert-memory) assert_memory=1 ;;
    *) build="$a" ;;
  esac
done
bench="$build/bench/bench_extract_baseline"
cli="$build/hodgecover"
for f in "$bench" "$cli"; do
  [ -x "$f" ] || { echo "gpu_check: $f is missing; build it first (bash scripts/build.sh native)" >&2; exit 2; }
done
if [ "$quick" = 1 ]; then
  hidden=128 experts=8 vocab=4096 tokens=256
else
  hidden=256 experts=16 vocab=32000 tokens=1024
fi
shape=(--hidden "$hidden" --experts "$experts" --vocab "$vocab" --tokens "$tokens"
  --head-scale 8 --expert-scale 0.15)
fixture="${TMPDIR:-/tmp}/hc-bench-baseline/olmoe-${hidden}x${experts}x${vocab}-s8-e0.15"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

cuda=0
if "$bench" --device cuda --hidden 8 --experts 4 --vocab 16 --tokens 8 >"$work/probe" 2>&1; then
  cuda=1
fi
rows=()
row() { rows+=("| $1 | $2 | $3 | $4 |"); }
field() { sed -n "s/.*$1//p" "$2" | head -1; }

# 1. The pair stage, same layer, same run: ours (top-m, full) against the straightforward one.
pair_stage() {  # device dtype
  local out="$work/pairs-$1-$2"
  "$bench" "${shape[@]}" --device "$1" --compute-dtype "$2" >"$out"
  row "pair stage: top-m vs straightforward, full vs straightforward" "$1" "$2" \
    "$(field 'speed-up of top-m: ' "$out"); full: $(field 'speed-up of full over straightforward: ' "$out")"
  row "top-m barrier error against full" "$1" "$2" "$(field 'top-m against full: ' "$out")"
}
pair_stage cpu fp32
row "fixture" "-" "-" "$(field 'next-token entropy (nats): ' "$work/pairs-cpu-fp32")"

# 2. Whole extractions of the fixture: time, peak memory, estimate against measurement.
/usr/bin/env python3 -c "
import struct, sys
n, v = $tokens * 4, $vocab
open('$work/ids.bin', 'wb').write(struct.pack('<%di' % n, *[(i * 7919 + 17) % v for i in range(n)]))"
extract() {  # device dtype estimate-device
  local out="$work/$1-$2" peak="-"
  local common=(extract --model "$fixture" --ids "$work/ids.bin" --tokens $((tokens * 4))
    --seq-len 128 --max-triangles 256 --compute-dtype "$2")
  local args=("${common[@]}" --device "$1")
  if [ "$1" = cuda ] && command -v nvidia-smi >/dev/null; then
    (while sleep 0.2; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits; done) \
      >"$work/mem" 2>/dev/null &
    local poll=$!
    "$cli" "${args[@]}" --json --out "$out.hcstats" >"$out.json"
    kill "$poll" 2>/dev/null || true
    peak="$(sort -n "$work/mem" | tail -1) MiB device (nvidia-smi, whole GPU)"
  else
    /usr/bin/time -f '%M' -o "$out.rss" "$cli" "${args[@]}" --json --out "$out.hcstats" >"$out.json"
    peak="$(($(tail -1 "$out.rss") / 1024)) MiB resident"
  fi
  "$cli" "${common[@]}" --estimate --device "$3" --json >"$out.estimate.json"
  local ratio
  ratio="$(/usr/bin/env python3 -c "
import json
m = json.load(open('$out.json'))['seconds']
e = json.load(open('$out.estimate.json'))
peak = e['device_peak_bytes'] if '$1' == 'cuda' else e['host_peak_bytes']
print(f'{m:.1f} s measured, {e[\"seconds\"]:.1f} s estimated ({e[\"seconds\"] / m:.2f}x); '
      f'peak memory estimated {peak / 2**20:.0f} MiB')
if '$1' == 'cpu':
    rss = int(open('$out.rss').read().split()[-1]) * 1024
    open('$work/memory_ratio', 'w').write(f'{peak / rss:.3f}')")"
  row "extraction of the fixture" "$1" "$2" "$ratio, measured $peak"
}
extract cpu fp32 cpu
memory_ok=1
if [ "$assert_memory" = 1 ]; then
  memory_ok="$(/usr/bin/env python3 -c "r = float(open('$work/memory_ratio').read()); print(int(0.67 <= r <= 1.5))")"
  row "peak memory estimate / measured (cpu)" "cpu" "fp32" "$(cat "$work/memory_ratio")x, asserted within 0.67-1.5"
fi

if [ "$cuda" = 1 ]; then
  pair_stage cuda fp32
  pair_stage cuda bf16
  name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z' 'a-z')"
  case "$name" in
    *h200*) profile=h200 ;; *b200*) profile=b200 ;; *a100*) profile=a100 ;; *) profile=h100 ;;
  esac
  extract cuda fp32 "$profile"
  extract cuda bf16 "$profile"
  for dtype in fp32 bf16; do
    row "CPU fp32 against CUDA statistics" "cuda" "$dtype" \
      "$(/usr/bin/python3 "$root/bench/compare_stats.py" "$work/cpu-fp32.hcstats" "$work/cuda-$dtype.hcstats")"
  done
else
  row "CUDA" "none" "-" "no CUDA device was found ($(head -1 "$work/probe")); only the CPU rows ran"
fi

echo "| check | device | dtype | result |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if [ "$memory_ok" != 1 ]; then
  echo "gpu_check: the CPU extraction's peak memory is outside 0.67-1.5x of the estimate" >&2
  exit 1
fi

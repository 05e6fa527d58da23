#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer + ASan + UBSan for SECONDS each (default
# 60) and prints a table: target, seconds, executions, crashes/hangs (> 1 s per input) found.
# Seeds: tests/fuzz/seeds/<target> and the golden files that fit. Findings land in
# build-san/fuzz-artifacts/<target>/; fix them and commit each input to
# tests/fuzz/regressions/<target>/ (CTest replays them). Exits 1 when anything was found.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors stats_file plan model_config tokenizer token_ids checkpoint_index)
dir="$root/build-san"
bash "$root/scripts/sanitize.sh" build-only >/dev/null
export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
golden="$root/tests/golden"

seed() {  # seed <target> <corpus dir>
  local target="$1" corpus="$2"
  [ -d "$root/tests/fuzz/seeds/$target" ] && cp "$root/tests/fuzz/seeds/$target"/* "$corpus"/ 2>/dev/null || true
  [ -d "$root/tests/fuzz/regressions/$target" ] && cp "$root/tests/fuzz/regressions/$target"/* "$corpus"/ 2>/dev/null || true
  local i=0 f
  case "$target" in
    safetensors) for f in "$golden"/hf/*/model.safetensors "$golden"/*.hcstats; do cp "$f" "$corpus/golden$((i++))"; done ;;
    stats_file) cp "$golden"/*.hcstats "$corpus"/ ;;
    plan) for f in "$golden"/hf/applied/*/plan.json; do cp "$f" "$corpus/golden$((i++)).json"; done ;;
    model_config) for f in "$golden"/hf/*/config.json; do cp "$f" "$corpus/golden$((i++)).json"; done ;;
    token_ids) for f in "$golden"/hf/*/ids.npy; do cp "$f" "$corpus/golden$((i++)).npy"; done ;;
    tokenizer)
      for f in "$golden"/tokenizers/*.tokenizer.json; do
        { cat "$f"; printf '\0Hello, world! 123 caf\xc3\xa9 <|endoftext|>'; } >"$corpus/golden$((i++))"
      done ;;
  esac
}

printf '%-18s %8s %12s %8s\n' target seconds executions found
status=0
for target in "${targets[@]}"; do
  corpus="$dir/fuzz-corpus/$target"
  artifacts="$dir/fuzz-artifacts/$target"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts"
  seed "$target" "$corpus"
  log="$dir/fuzz-$target.log"
  set +e
  "$dir/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  found="$(find "$artifacts" -type f | wc -l)"
  printf '%-18s %8s %12s %8s\n' "$target" "$seconds" "$execs" "$found"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    status=1
    echo "  $target: exit $rc; log $log; inputs in $artifacts" >&2
    grep -m 5 -E 'ERROR|runtime error|SUMMARY' "$log" >&2 || true
  fi
done
exit $status

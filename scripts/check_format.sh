#!/usr/bin/env bash
# Fails when a C++ file of the project (not third_party/) differs from clang-format's output
# under .clang-format. Usage: scripts/check_format.sh [--fix]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' '*.h' | grep -v '^third_party/')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! clang-format --dry-run --Werror "${files[@]}" 2>"$log"; then
  grep -- '-Wclang-format-violations' "$log" | cut -d: -f1 | sort -u | sed 's/^/needs clang-format: /' >&2
  echo "run: bash scripts/check_format.sh --fix" >&2
  exit 1
fi
echo "clang-format: ${#files[@]} files clean"

#!/usr/bin/env bash
# clang-format over our C and C++ (native/, tools/native/, test/native/cc/, bench/tcpload/), styled by the nearest
# .clang-format. `--check` (npm run lint) fails on any difference; `--fix` (npm run format)
# rewrites the files in place.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format >/dev/null; then
  echo "clang-format: not installed (Debian package clang-format; bash scripts/setup.sh --test)" >&2
  exit 1
fi
mapfile -t files < <(find native/src tools/native test/native/cc bench/tcpload -type f \
  \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) | sort)
case "${1:-}" in
  --check) clang-format --dry-run --Werror "${files[@]}" ;;
  --fix) clang-format -i "${files[@]}" ;;
  *) echo "usage: scripts/clang-format.sh --check|--fix" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# `npm run lint`: the type check (src, workers and tests in one program), ESLint (type-aware),
# Prettier and clang-format. They are independent, so they run side by side: ESLint alone takes
# most of the time and one core, the rest fit beside it. Each one's output is shown whole, in a
# fixed order; the exit status is 1 when any of them failed.
set -uo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d "${TMPDIR:-/tmp}/negotiate-lint.XXXXXX")
trap 'rm -rf "$out"' EXIT
names=(tsc eslint prettier clang-format)
npx tsc -p test/tsconfig.json --noEmit >"$out/tsc" 2>&1 &
pids=($!)
npx eslint . >"$out/eslint" 2>&1 &
pids+=($!)
npx prettier --check . >"$out/prettier" 2>&1 &
pids+=($!)
bash scripts/clang-format.sh --check >"$out/clang-format" 2>&1 &
pids+=($!)

failed=()
for i in "${!names[@]}"; do
  if ! wait "${pids[$i]}"; then failed+=("${names[$i]}"); fi
  cat "$out/${names[$i]}"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi

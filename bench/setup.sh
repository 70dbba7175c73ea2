#!/usr/bin/env bash
# What `npm run bench` needs beyond the product's own setup: the peers' Debian packages
# (Apache httpd + mod_auth_gssapi; MIT gss-server comes with krb5-gss-samples) and the bench's
# npm packages (autocannon, and the `kerberos` npm peer, which must build against the local
# Node headers instead of downloading them).
set -euo pipefail
cd "$(dirname "$0")"

packages=(apache2 libapache2-mod-auth-gssapi krb5-gss-samples libkrb5-dev gcc pkg-config wrk)
. ../scripts/ensure-debian-packages.sh
ensure_debian_packages "${packages[@]}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bench setup: npm ci (bench/)" >&2
  npm_config_nodedir=/usr npm ci --no-audit --no-fund --foreground-scripts >&2
fi

#!/usr/bin/env bash
# deps.sh: install the Debian packages and pinned npm tools that ruvflow's
# build, tests, demo and benchmarks need. Idempotent: installs only what is
# missing, so `make test` and `make demo` can call it every time for free.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# Build and runtime libraries (see docs/dependencies.md for why each one).
pkgs_build="build-essential pkg-config libcurl4-openssl-dev libhiredis-dev
  libopenblas-dev libmsgpack-dev libzstd-dev libyaml-dev libssl-dev
  libjansson-dev libcmocka-dev zlib1g-dev libmicrohttpd-dev"
# Servers and peers used by the tests, the demo and the benchmarks.
pkgs_test="redis-server python3 python3-botocore awscli jq zstd
  python3-sklearn python3-numpy python3-optuna libfann-dev clang
  libclang-rt-14-dev python3-prometheus-client systemd iproute2 curl zsh
  cloud-init docker-compose"

missing=()
# Node.js may come from another apt source that bundles npm (and conflicts
# with Debian's npm package): ask for the commands, not the package names.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in $pkgs_build $pkgs_test; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# npm tools (s3rver, bullmq) pinned by tests/tools/package-lock.json.
tools="$here/../tests/tools"
if [ -f "$tools/package-lock.json" ] && [ ! -f "$tools/node_modules/.ruvflow-ok" ]; then
  echo "deps: npm ci in tests/tools" >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2 \
    && touch node_modules/.ruvflow-ok)
fi
exit 0

#!/usr/bin/env bash
# Installs everything meshcdn needs to build, run and test, idempotently:
#   Debian packages (wasm guest toolchain, Chromium, ffmpeg, iproute2), npm packages of the client,
#   the tracker-shard component, and the meshcdn binary.
# Usage: scripts/setup.sh [--release]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"

DEBS=(
  # wasm32-wasip2 guest: Debian's rustc-web ships the std sources for -Zbuild-std.
  rustc-web cargo-web rust-web-src rust-web-llvm lld-19 wasi-libc
  # browser tests and demo media
  chromium ffmpeg
  # network namespaces for WebRTC browser tests
  iproute2
  # NAT routers (iptables) and a TURN/STUN server (coturn) for the NAT browser tests
  iptables
  coturn
  # the container image and its test (scripts/image.sh, tests/container_e2e.rs)
  docker.io debootstrap
  # analytics: its PostgreSQL test starts a throw-away cluster (initdb, pg_ctl)
  postgresql
)
# Node.js (with npm) may come from elsewhere already; only install Debian's when there is none.
command -v npm >/dev/null || DEBS+=(nodejs npm)
ensure_debs "${DEBS[@]}"

# npm packages of the client (and the test tooling it uses).
if [ -f client/package.json ]; then
  if [ ! -d client/node_modules ] || [ client/package-lock.json -nt client/node_modules/.package-lock.json ]; then
    echo "setup: npm install (client)"
    (cd client && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
  fi
  (cd client && npm run --silent build)
fi
# The analytics dashboard's chart library (uPlot), embedded into the binary by analytics/build.rs.
if [ ! -d analytics/dashboard/node_modules ] || [ analytics/dashboard/package-lock.json -nt analytics/dashboard/node_modules/.package-lock.json ]; then
  echo "setup: npm install (analytics dashboard)"
  (cd analytics/dashboard && npm install --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

# Interop tooling of the edge tests (the real bittorrent-tracker client, bundled for Chromium).
edge-worker/interop/prepare.sh

# The tracker-shard guest component.
if [ -x scripts/build-guest.sh ]; then
  scripts/build-guest.sh
fi

# The Docker engine the container test uses (started when not running).
source scripts/docker.sh
ensure_docker

# The meshcdn binary.
profile_flag=()
[ "${1:-}" = "--release" ] && profile_flag=(--release)
cargo build "${profile_flag[@]}" --bin meshcdn

# cargo-fuzz for the fuzz targets (scripts/fuzz.sh; the test command runs them briefly).
scripts/fuzz.sh install

#!/usr/bin/env bash
# Installs the interop tooling (npm, no install scripts: node-datachannel's prebuilt binary
# cannot be fetched and is not needed) and bundles the browser client, both only when outdated.
set -euo pipefail
cd "$(dirname "$0")"
# Tests in parallel processes call this at once: one at a time, or one run's npm install rewrites
# esbuild's binary while another spawns it (ETXTBSY).
exec 9>.prepare.lock
flock 9
if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] \
   || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error
fi
if [ ! -f dist/bt-client.js ] || [ page-entry.js -nt dist/bt-client.js ] || [ package-lock.json -nt dist/bt-client.js ]; then
  node build.mjs
fi

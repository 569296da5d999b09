#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then runs every test.
# MESHCDN_SKIP_SETUP=1 skips the setup step (everything already installed and built).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"
if [ "${MESHCDN_SKIP_SETUP:-0}" = 1 ]; then
  echo "== setup skipped (MESHCDN_SKIP_SETUP=1)"
else
  scripts/setup.sh
fi

echo "== container image (scripts/image.sh; tests/container_e2e.rs runs it)"
scripts/image.sh || image_failed=1
echo "== cargo tests (workspace: unit, property, integration, end-to-end)"
cargo nextest run --workspace --no-fail-fast 2>&1 || cargo_failed=1
echo "== cargo doc tests (nextest does not run them)"
cargo test --workspace --doc 2>&1 || cargo_failed=1
echo "== fuzz targets, briefly (scripts/fuzz.sh brief: 10 s each over the committed corpus)"
scripts/fuzz.sh brief || fuzz_failed=1
echo "== deploy manifests, units and image definition"
scripts/validate-deploy.sh || deploy_failed=1
if [ -f client/package.json ]; then
  echo "== client: type check and unit tests"
  (cd client && npm run --silent typecheck && npm test) || client_failed=1
  echo "== client: browser end-to-end tests (real Chromium, meshcdn origin + edge, network namespace)"
  (cd client && node test/e2e/run.mjs) || client_failed=1
fi
if [ -n "${cargo_failed:-}${client_failed:-}${deploy_failed:-}${image_failed:-}${fuzz_failed:-}" ]; then
  echo "test: FAILED (cargo=${cargo_failed:-0} client=${client_failed:-0} deploy=${deploy_failed:-0} image=${image_failed:-0} fuzz=${fuzz_failed:-0})"
  exit 1
fi
echo "test: all suites passed"

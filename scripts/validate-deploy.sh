#!/usr/bin/env bash
# Validates deploy/: Kubernetes manifests (kustomize render + strict schema validation + meshcdn
# checks), systemd units (systemd-analyze) and the Dockerfile. Installs its own tooling,
# idempotently: a Python venv with deploy/requirements-validate.txt under $MESHCDN_CACHE, and
# Debian's systemd (and python3-venv) through the shared installer (ensure_debs in env.sh).
# Renders with `kubectl kustomize` (or `kustomize build`). The example config files are loaded by the binaries' own loaders in
# `cargo test` (tests/deploy_configs.rs, placement/tests/example_configs.rs).
# Usage: scripts/validate-deploy.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"

command -v systemd-analyze >/dev/null || ensure_debs systemd
if ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
  echo "validate-deploy: needs kubectl (with its built-in kustomize) or kustomize on PATH" >&2
  exit 1
fi

venv="$MESHCDN_CACHE/deploy-venv"
requirements=deploy/requirements-validate.txt
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$stamp"; then
  echo "validate-deploy: installing $requirements into $venv"
  if ! python3 -m venv --clear "$venv" 2>/dev/null; then
    # Debian's own python3 keeps venv (ensurepip) in a separate package.
    ensure_debs python3-venv
    python3 -m venv --clear "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

exec "$venv/bin/python" deploy/validate_deploy.py --repo "$MESHCDN_ROOT"

#!/usr/bin/env bash
# The main job: installs what it needs (scripts/setup.sh), builds, and runs `meshcdn demo`:
# sample stream + origin plugin + edge tracker (wasm shard) + client + pages, on 127.0.0.1:8080.
# Extra arguments go to `meshcdn demo` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"
scripts/setup.sh --release
exec "$CARGO_TARGET_DIR/release/meshcdn" demo --component "$MESHCDN_COMPONENT" "$@"

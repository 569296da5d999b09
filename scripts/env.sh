# Shared settings for the scripts (sourced, not run).
# A cargo target directory outside the clone, so CI runs on the same machine reuse earlier builds.
export MESHCDN_CACHE="${MESHCDN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshcdn}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MESHCDN_CACHE/target}"
export MESHCDN_GUEST_TARGET_DIR="${MESHCDN_GUEST_TARGET_DIR:-$MESHCDN_CACHE/guest-target}"
export MESHCDN_ROOT="${MESHCDN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# Where the built tracker-shard component is put (the edge host's default --component path).
export MESHCDN_COMPONENT="${MESHCDN_COMPONENT:-$CARGO_TARGET_DIR/tracker-shard.wasm}"
mkdir -p "$MESHCDN_CACHE"

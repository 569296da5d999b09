# Shared settings for the scripts (sourced, not run).
# A cargo target directory outside the clone, so CI runs on the same machine reuse earlier builds.
export MESHCDN_CACHE="${MESHCDN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshcdn}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MESHCDN_CACHE/target}"
export MESHCDN_GUEST_TARGET_DIR="${MESHCDN_GUEST_TARGET_DIR:-$MESHCDN_CACHE/guest-target}"
# Always this checkout (never inherited: a shell that sourced another clone's env.sh must not send
# these scripts to that clone).
export MESHCDN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where the built tracker-shard component is put (the edge host's default --component path).
export MESHCDN_COMPONENT="${MESHCDN_COMPONENT:-$CARGO_TARGET_DIR/tracker-shard.wasm}"
mkdir -p "$MESHCDN_CACHE"

# ensure_debs PKG…: installs the Debian packages that are not installed yet (idempotent).
ensure_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

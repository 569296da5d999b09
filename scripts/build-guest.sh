#!/usr/bin/env bash
# Builds the tracker-shard component (edge-worker/guest) for wasm32-wasip2 and copies it to
# $MESHCDN_COMPONENT (the edge host's default --component), and the fault-injection variant the
# edge tests use to $MESHCDN_FAULT_COMPONENT (skip it with --no-fault).
#
# The rustup toolchain has no wasm32 std, so this uses Debian's rustc-web with -Zbuild-std
# (installed here if missing). Skips the build when the component is newer than every input.
# Usage: scripts/build-guest.sh [--no-fault] [--force]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"
export MESHCDN_FAULT_COMPONENT="${MESHCDN_FAULT_COMPONENT:-$(dirname "$MESHCDN_COMPONENT")/tracker-shard-fault.wasm}"

fault=1; force=0
for arg in "$@"; do
  case "$arg" in
    --no-fault) fault=0 ;;
    --force) force=1 ;;
    *) echo "build-guest: unknown argument $arg" >&2; exit 2 ;;
  esac
done

ensure_debs rustc-web cargo-web rust-web-src rust-web-llvm lld-19 wasi-libc

# Newest input: the guest, the tracker core it wraps, and the WIT contract.
newest_input() {
  find edge-worker/guest/src edge-worker/guest/Cargo.toml edge-worker/guest/Cargo.lock \
       tracker/src tracker/Cargo.toml wit -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1
}
up_to_date() { # $1 = output file
  [ "$force" -eq 0 ] && [ -f "$1" ] || return 1
  local out; out=$(stat -c '%Y' "$1")
  awk -v a="$(newest_input)" -v b="$out" 'BEGIN { exit !(a < b) }'
}

build() { # $1 = output file, rest = extra cargo args
  local out="$1"; shift
  if up_to_date "$out"; then
    echo "build-guest: $out is up to date"
    return
  fi
  echo "build-guest: building $out"
  (
    cd edge-worker/guest
    # Debian's toolchain, not rustup's: clear what a surrounding cargo/rustup may have set.
    unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_TARGET CARGO_ENCODED_RUSTFLAGS
    PATH=/usr/lib/llvm-19/bin:/usr/bin:$PATH RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
      RUSTDOCFLAGS="" RUSTFLAGS="-L /usr/lib/wasm32-wasi" CARGO_TARGET_DIR="$MESHCDN_GUEST_TARGET_DIR" \
      /usr/bin/cargo build --quiet --release --target wasm32-wasip2 -Zbuild-std=std,panic_abort "$@"
  )
  mkdir -p "$(dirname "$out")"
  # Copy then rename, so a host loading the path never sees a half-written file.
  cp "$MESHCDN_GUEST_TARGET_DIR/wasm32-wasip2/release/meshcdn_tracker_shard.wasm" "$out.tmp"
  mv "$out.tmp" "$out"
  echo "build-guest: wrote $out ($(stat -c %s "$out") bytes)"
}

build "$MESHCDN_COMPONENT"
if [ "$fault" -eq 1 ]; then
  build "$MESHCDN_FAULT_COMPONENT" --features fault-injection
fi

#!/usr/bin/env bash
# The cargo fuzz targets of fuzz/ (libFuzzer), on the stable toolchain. See docs/fuzzing.md.
#
#   scripts/fuzz.sh install                 cargo-fuzz into $MESHCDN_CACHE/cargo-fuzz (idempotent)
#   scripts/fuzz.sh build                   builds every target (instrumented, debug assertions on)
#   scripts/fuzz.sh brief [SECS]            each target for SECS (default 10) over its committed
#                                           corpus; fails on any crash, leak of time or memory
#   scripts/fuzz.sh long [SECS] [TARGET…]   each target for SECS (default 3600) with a corpus kept in
#                                           $MESHCDN_CACHE/fuzz-corpus; prints the figures
#   scripts/fuzz.sh run TARGET [ARGS…]      one target with libFuzzer arguments of your own
#   scripts/fuzz.sh list                    the targets
#
# FUZZ_JOBS=N runs N targets at once in `long` (default 1). Crashes are written to
# $MESHCDN_CACHE/fuzz-artifacts/TARGET/ and reproduced with `scripts/fuzz.sh run TARGET FILE`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$MESHCDN_ROOT"

CARGO_FUZZ_VERSION=0.13.2
FUZZ_TARGET_DIR="$MESHCDN_CACHE/fuzz-target"
ARTIFACTS="$MESHCDN_CACHE/fuzz-artifacts"

# ensure_cargo_fuzz: installs the pinned cargo-fuzz from crates.io once; later calls find it.
ensure_cargo_fuzz() {
  local root="$MESHCDN_CACHE/cargo-fuzz"
  if ! "$root/bin/cargo-fuzz" --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into $root"
    # Its own target directory: the build of cargo-fuzz must not land in (or thrash) the main one.
    CARGO_TARGET_DIR="$MESHCDN_CACHE/cargo-fuzz-build" \
      cargo install --locked --quiet --version "$CARGO_FUZZ_VERSION" --root "$root" cargo-fuzz
    rm -rf "$MESHCDN_CACHE/cargo-fuzz-build"
  fi
  export PATH="$root/bin:$PATH"
}

targets() {
  cargo fuzz list --fuzz-dir fuzz
}

# cargo fuzz with what works on stable: no sanitizer (-Zsanitizer needs nightly), the coverage
# instrumentation and `--cfg fuzzing` are plain -C flags. Debug assertions (and so overflow
# checks) are on: an overflow is a bug the targets should find.
cargo_fuzz() {
  local cmd=$1
  shift
  cargo fuzz "$cmd" --fuzz-dir fuzz --sanitizer none --debug-assertions \
    --target-dir "$FUZZ_TARGET_DIR" "$@"
}

build() {
  local start=$SECONDS
  cargo_fuzz build
  echo "fuzz: built $(targets | wc -l) targets in $((SECONDS - start)) s"
}

# run_target TARGET SECS CORPUS_DIR LOG: libFuzzer on TARGET for SECS, growing CORPUS_DIR (the
# committed corpus is read as well, never written).
run_target() {
  local target=$1 secs=$2 corpus=$3 log=$4
  mkdir -p "$corpus" "$ARTIFACTS/$target"
  cargo_fuzz run "$target" "$corpus" "fuzz/corpus/$target" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ARTIFACTS/$target/" >"$log" 2>&1
}

# summary TARGET LOG: one line of figures from a libFuzzer log.
summary() {
  local target=$1 log=$2
  local runs secs done_line
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  done_line=$(grep -E '^#[0-9]+\s+(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true)
  local cov ft corp execs
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-16s %8s s %12s execs %8s exec/s  cov %6s  ft %6s  corpus %s\n' \
    "$target" "${secs:-?}" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
}

brief() {
  local secs=${1:-10} failed=() start=$SECONDS
  build
  local work="$MESHCDN_CACHE/fuzz-corpus/brief"
  rm -rf "$work"
  for target in $(targets); do
    local log="$work/$target.log"
    mkdir -p "$work"
    if run_target "$target" "$secs" "$work/$target" "$log"; then
      summary "$target" "$log"
    else
      failed+=("$target")
      echo "fuzz: $target FAILED; its log:"
      grep -v '^#[0-9]' "$log" | tail -40
    fi
  done
  echo "fuzz: brief run took $((SECONDS - start)) s"
  if ((${#failed[@]})); then
    echo "fuzz: crashes in: ${failed[*]} (inputs in $ARTIFACTS/)"
    return 1
  fi
}

long() {
  local secs=${1:-3600}
  shift || true
  local list=("$@")
  ((${#list[@]})) || mapfile -t list < <(targets)
  build
  local logs="$MESHCDN_CACHE/fuzz-logs" stamp
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$logs"
  local jobs=${FUZZ_JOBS:-1} failed=()
  for target in "${list[@]}"; do
    (
      rc=0
      run_target "$target" "$secs" "$MESHCDN_CACHE/fuzz-corpus/$target" "$logs/$target-$stamp.log" || rc=$?
      echo "$rc" >"$logs/$target-$stamp.rc"
    ) &
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  done
  wait
  for target in "${list[@]}"; do
    [ "$(cat "$logs/$target-$stamp.rc")" = 0 ] || failed+=("$target")
  done
  echo "fuzz: long run, $secs s per target (logs in $logs/*-$stamp.log):"
  for target in "${list[@]}"; do summary "$target" "$logs/$target-$stamp.log"; done
  if ((${#failed[@]})); then
    echo "fuzz: crashes in: ${failed[*]} (inputs in $ARTIFACTS/)"
    return 1
  fi
}

ensure_cargo_fuzz
case "${1:-}" in
  install) ;;
  build) build ;;
  list) targets ;;
  brief) shift; brief "$@" ;;
  long) shift; long "$@" ;;
  run) shift; target=$1; shift; cargo_fuzz run "$target" "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

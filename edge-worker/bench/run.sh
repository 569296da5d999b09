#!/usr/bin/env bash
# Edge benchmark, side by side in one run: the wasm engine, the native engine, and the
# bittorrent-tracker npm server, each loaded by `meshcdn loadtest` with the same settings; then
# the host's resident memory per connected idle peer at IDLE_PEERS peers (both engines).
# Everything on loopback, bounded in time. Prints a markdown table (docs/benchmarks/edge.md).
#
# Usage: edge-worker/bench/run.sh   (env: CONNECTIONS SWARMS DURATION OFFERS IDLE_PEERS SHARDS)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/env.sh"
cd "$MESHCDN_ROOT"

CONNECTIONS="${CONNECTIONS:-1000}"
SWARMS="${SWARMS:-100}"
DURATION="${DURATION:-15}"
OFFERS="${OFFERS:-2}"
IDLE_PEERS="${IDLE_PEERS:-20000}"
SHARDS="${SHARDS:-0}"
BIN="$CARGO_TARGET_DIR/release/meshcdn"

scripts/build-guest.sh >/dev/null
cargo build --release --quiet --bin meshcdn
edge-worker/interop/prepare.sh >/dev/null
ulimit -n 200000

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # $1 port; bounded
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2; return 1
}
metric() { # $1 port, $2 metric name
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

start_edge() { # $1 engine, $2 port; sets EDGE_PID
  cat > "$WORK/edge-$1.toml" <<TOML
listen = "127.0.0.1:$2"
engine = "$1"
shards = $SHARDS
[auth]
open = true
[limits]
messages_per_sec = 1000000
message_burst = 1000000
max_connections = 100000
idle_timeout_secs = 600
TOML
  RUST_LOG=warn "$BIN" edge --config "$WORK/edge-$1.toml" 2>"$WORK/edge-$1.log" &
  EDGE_PID=$!; PIDS+=("$EDGE_PID")
  wait_port "$2"
}

start_bt() { # $1 port; sets BT_PID
  sleep 100000 | node edge-worker/interop/bt-server.mjs "$1" 127.0.0.1 >"$WORK/bt.log" 2>&1 &
  BT_PID=$!; PIDS+=("$BT_PID")
  wait_port "$1"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

load() { # $1 port -> JSON report
  "$BIN" loadtest --target "ws://127.0.0.1:$1/announce" --connections "$CONNECTIONS" --swarms "$SWARMS" \
    --duration "$DURATION" --offers "$OFFERS" --json 2>/dev/null
}

field() { python3 -c "import json,sys; print(round(json.loads(sys.argv[1])[sys.argv[2]], 2))" "$1" "$2"; }

echo "## Throughput: $CONNECTIONS connections, $SWARMS swarms, $OFFERS offers per announce, ${DURATION}s, $(nproc) cores"
echo
echo "| target | responses/s | p50 ms | p99 ms | announces | offers in | answers in |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A RPS
for target in wasm native bittorrent-tracker; do
  port=$(free_port)
  if [ "$target" = bittorrent-tracker ]; then start_bt "$port"; pid=$BT_PID; else start_edge "$target" "$port"; pid=$EDGE_PID; fi
  report=$(load "$port")
  stop "$pid"
  RPS[$target]=$(field "$report" responses_per_sec)
  echo "| $target | ${RPS[$target]} | $(field "$report" latency_p50_ms) | $(field "$report" latency_p99_ms) | $(field "$report" announces) | $(field "$report" offers_received) | $(field "$report" answers_received) |"
done
echo
python3 -c "import sys; w,n,b=map(float,sys.argv[1:]); print(f'wasm/native = {w/n:.2f}x; wasm/bittorrent-tracker = {w/b:.1f}x; native/bittorrent-tracker = {n/b:.1f}x')" \
  "${RPS[wasm]}" "${RPS[native]}" "${RPS[bittorrent-tracker]}"
echo

echo "## Resident memory per connected idle peer ($IDLE_PEERS peers, one announce each, $SWARMS swarms)"
echo
echo "| target | RSS before | RSS with peers | per peer |"
echo "|---|---:|---:|---:|"
rss_of_pid() { awk '/VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }
for target in wasm native bittorrent-tracker; do
  port=$(free_port)
  if [ "$target" = bittorrent-tracker ]; then start_bt "$port"; pid=$(pgrep -n -f "bt-server.mjs $port"); else start_edge "$target" "$port"; pid=$EDGE_PID; fi
  before=$(rss_of_pid "$pid")
  "$BIN" loadtest --target "ws://127.0.0.1:$port/announce" --connections "$IDLE_PEERS" --swarms "$SWARMS" \
    --duration 40 --idle --json >"$WORK/idle.json" 2>/dev/null &
  lt=$!
  # Peers are all connected when the host counts them (edge) or after a bounded settle (node).
  for _ in $(seq 1 600); do
    if [ "$target" != bittorrent-tracker ]; then
      n=$(metric "$port" meshcdn_edge_peers || echo 0)
      [ "${n:-0}" -ge "$IDLE_PEERS" ] && break
    else
      n=$(ss -Htn state established "( sport = :$port )" | wc -l)
      [ "$n" -ge "$IDLE_PEERS" ] && break
    fi
    sleep 0.1
  done
  sleep 2
  after=$(rss_of_pid "$pid")
  kill "$lt" 2>/dev/null || true; wait "$lt" 2>/dev/null || true
  [ "$target" = bittorrent-tracker ] && stop "$BT_PID" || stop "$pid"
  python3 -c "import sys; b,a,n=map(int,sys.argv[1:]); print(f'| $target | {b/2**20:.1f} MiB | {a/2**20:.1f} MiB | {(a-b)/n:.0f} B |')" "$before" "$after" "$IDLE_PEERS"
done

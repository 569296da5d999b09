#!/usr/bin/env bash
# Edge benchmark, side by side in one run: the wasm engine, the native engine, and the
# bittorrent-tracker npm server, each loaded by `meshcdn loadtest` with the same settings; then
# the host's resident memory per connected idle peer at IDLE_PEERS peers (both engines).
# Everything on loopback, bounded in time. Prints a markdown table (docs/benchmarks/edge.md).
#
# Usage: edge-worker/bench/run.sh   (env: CONNECTIONS SWARMS DURATION OFFERS IDLE_PEERS SHARDS,
#        MEMORY=0 to skip the memory part, THROUGHPUT=0 to skip the throughput part,
#        WARM_PEERS=500 (peers connected before the marginal memory figure is taken),
#        SKIP_BUILD=1 to use the built binary as it is, BASELINE_BIN=path/to/older/meshcdn to
#        measure an older build's memory per peer in the same run, side by side, NODE=0 to
#        leave out the bittorrent-tracker server, BIN=path to test another meshcdn binary)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/env.sh"
cd "$MESHCDN_ROOT"

CONNECTIONS="${CONNECTIONS:-1000}"
SWARMS="${SWARMS:-100}"
DURATION="${DURATION:-15}"
OFFERS="${OFFERS:-2}"
IDLE_PEERS="${IDLE_PEERS:-20000}"
# The host needs one descriptor per peer (plus a few): stay under the hard limit if it is low.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$IDLE_PEERS" -gt $((hard - 500)) ]; then
  echo "bench: open-file hard limit is $hard: measuring memory at $((hard - 500)) idle peers instead of $IDLE_PEERS" >&2
  IDLE_PEERS=$((hard - 500))
fi
SHARDS="${SHARDS:-0}"
BIN="${BIN:-$CARGO_TARGET_DIR/release/meshcdn}"

scripts/build-guest.sh >/dev/null
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin meshcdn
edge-worker/interop/prepare.sh >/dev/null
ulimit -n "$(ulimit -Hn)"

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
wait_health() { # $1 port; bounded. The port opens before the host has loaded its component.
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "bench: no /health on $1" >&2; return 1
}
metric() { # $1 port, $2 metric name
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

start_edge() { # $1 engine, $2 port; sets EDGE_PID (binary: $EDGE_BIN, default $BIN)
  cat > "$WORK/edge-$1.toml" <<TOML
listen = "127.0.0.1:$2"
engine = "$1"
shards = $SHARDS
expire_interval_ms = 50
[auth]
open = true
[limits]
messages_per_sec = 1000000
message_burst = 1000000
max_connections = 100000
# Every load connection comes from 127.0.0.1: the per-address limit is not part of the comparison.
max_connections_per_ip = 100000
idle_timeout_secs = 600
# Connections still connecting (TLS handshakes, upgrades) at once: not a limit of the comparison.
[http]
max_connections = 100000
[tracker]
# Relay every announce's offers, as bittorrent-tracker does, so both do the same work per
# announce (by default meshcdn stops offering to a viewer that already has 20 live links, and
# never offers twice between two peers while their link lives; links are expired every 50 ms).
max_peers_per_viewer = 65535
link_timeout_ms = 1
TOML
  RUST_LOG=warn "${EDGE_BIN:-$BIN}" edge --config "$WORK/edge-$1.toml" 2>"$WORK/edge-$1.log" &
  EDGE_PID=$!; PIDS+=("$EDGE_PID")
  wait_health "$2"
}

start_bt() { # $1 port; sets BT_PID
  node edge-worker/interop/bt-server.mjs "$1" 127.0.0.1 >"$WORK/bt.log" 2>&1 &
  BT_PID=$!; PIDS+=("$BT_PID")
  wait_port "$1"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

load() { # $1 port -> JSON report
  "$BIN" loadtest --target "ws://127.0.0.1:$1/announce" --connections "$CONNECTIONS" --swarms "$SWARMS" \
    --duration "${DURATION}s" --offers "$OFFERS" --json 2>/dev/null
}

cpu_secs() { # user+system CPU seconds of a process
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
field() { python3 -c "import json,sys; print(round(json.loads(sys.argv[1])[sys.argv[2]], 2))" "$1" "$2"; }

if [ "${THROUGHPUT:-1}" = 1 ]; then
echo "## Throughput: $CONNECTIONS connections, $SWARMS swarms, $OFFERS offers per announce, ${DURATION}s, $(nproc) cores"
echo
echo "| target | responses/s | announces/s | p50 ms | p99 ms | offers in | answers in | server CPU s | responses per server CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
declare -A RPS
for target in wasm native bittorrent-tracker; do
  port=$(free_port)
  if [ "$target" = bittorrent-tracker ]; then start_bt "$port"; pid=$BT_PID; else start_edge "$target" "$port"; pid=$EDGE_PID; fi
  cpu0=$(cpu_secs "$pid")
  report=$(load "$port")
  cpu1=$(cpu_secs "$pid")
  stop "$pid"
  RPS[$target]=$(field "$report" responses_per_sec)
  python3 - "$report" "$target" "$cpu0" "$cpu1" <<'PY'
import json, sys
r, target, c0, c1 = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
cpu = max(c1 - c0, 0.01)
print(f"| {target} | {r['responses_per_sec']:.0f} | {r['announces'] / r['duration_secs']:.0f} | {r['latency_p50_ms']:.1f} | "
      f"{r['latency_p99_ms']:.1f} | {r['offers_received']} | {r['answers_received']} | {cpu:.1f} | {r['responses'] / cpu:.0f} |")
PY
done
echo
python3 -c "import sys; w,n,b=map(float,sys.argv[1:]); print(f'wasm/native = {w/n:.2f}x; wasm/bittorrent-tracker = {w/b:.1f}x; native/bittorrent-tracker = {n/b:.1f}x')" \
  "${RPS[wasm]}" "${RPS[native]}" "${RPS[bittorrent-tracker]}"
echo
fi

[ "${MEMORY:-1}" = 1 ] || exit 0
WARM_PEERS="${WARM_PEERS:-500}"
echo "## Resident memory per connected idle peer ($IDLE_PEERS peers, one announce each, $SWARMS swarms)"
echo
echo "RSS of the fresh process (once /health answers), with $WARM_PEERS warm-up peers, and with all peers."
echo "Per peer *from start*: (RSS with all peers - fresh RSS) / peers; *marginal*: (RSS with all peers -"
echo "RSS with the warm-up peers) / the other peers (first-use code pages, thread-local buffers and"
echo "runtime set-up excluded)."
echo
echo "| target | RSS fresh | RSS with $WARM_PEERS | RSS with $IDLE_PEERS | per peer, from start | per peer, marginal |"
echo "|---|---:|---:|---:|---:|---:|"
rss_of_pid() { awk '/VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }
peers_of() { # $1 target, $2 port: peers the server holds
  if [ "$1" != bittorrent-tracker ]; then
    metric "$2" meshcdn_edge_peers || echo 0
  else
    ss -Htn state established "( sport = :$2 )" | wc -l
  fi
}
wait_peers() { # $1 target, $2 port, $3 count; bounded (60 s)
  for _ in $(seq 1 600); do
    n=$(peers_of "$1" "$2"); [ "${n:-0}" -ge "$3" ] && break
    sleep 0.1
  done
  sleep 2
}
MEMORY_TARGETS="wasm native"
[ -z "${BASELINE_BIN:-}" ] || MEMORY_TARGETS="wasm-baseline wasm native-baseline native"
[ "${NODE:-1}" = 0 ] || MEMORY_TARGETS="$MEMORY_TARGETS bittorrent-tracker"
for target in $MEMORY_TARGETS; do
  port=$(free_port)
  EDGE_BIN=$BIN
  kind=${target%-baseline}
  case "$target" in
    bittorrent-tracker) start_bt "$port"; pid=$BT_PID ;;
    *-baseline) EDGE_BIN=$BASELINE_BIN; start_edge "$kind" "$port"; pid=$EDGE_PID ;;
    *) start_edge "$target" "$port"; pid=$EDGE_PID ;;
  esac
  fresh=$(rss_of_pid "$pid")
  # Two generators with different seeds (distinct peers and swarms), both idle after one announce.
  "$BIN" loadtest --target "ws://127.0.0.1:$port/announce" --connections "$WARM_PEERS" --swarms "$SWARMS" \
    --duration 90s --idle --seed 7 --json >/dev/null 2>&1 &
  warm_lt=$!
  wait_peers "$kind" "$port" "$WARM_PEERS"
  warm=$(rss_of_pid "$pid")
  "$BIN" loadtest --target "ws://127.0.0.1:$port/announce" --connections "$((IDLE_PEERS - WARM_PEERS))" --swarms "$SWARMS" \
    --duration 90s --idle --json >/dev/null 2>&1 &
  lt=$!
  wait_peers "$kind" "$port" "$IDLE_PEERS"
  after=$(rss_of_pid "$pid")
  kill "$lt" "$warm_lt" 2>/dev/null || true; wait "$lt" "$warm_lt" 2>/dev/null || true
  stop "$pid"
  python3 -c "import sys; f,w,a,n,m=map(int,sys.argv[1:]); M=2**20; print(f'| $target | {f/M:.1f} MiB | {w/M:.1f} MiB | {a/M:.1f} MiB | {(a-f)/n:.0f} B | {(a-w)/(n-m):.0f} B |')" \
    "$fresh" "$warm" "$after" "$IDLE_PEERS" "$WARM_PEERS"
done

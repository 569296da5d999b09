#!/usr/bin/env bash
# Soak: one edge host (release build) holding tens of thousands of WebSocket peers with churn for
# SOAK_MINUTES, inside a network namespace this script creates (its own loopback, its own port
# range, so the machine's are untouched). Bounded in count (PEERS) and time (SOAK_MINUTES).
#
# PEERS idle peers are split into PEER_GROUPS `meshcdn loadtest --idle` processes, each living
# LIFETIME seconds and replaced at once when it ends (its peers disconnect, new ones connect and
# announce): about PEERS / LIFETIME connections close and open per second. ACTIVE more peers
# announce with offers all along (traffic through the shards). Every SAMPLE seconds the host's
# resident memory, connections, peers, restarts and rejects are read from /metrics.
#
# Passes when: every loadtest run connected all its peers, each got its announce answered, none
# was disconnected by the host; no shard restarted; resident memory after warm-up (the first
# WARMUP minutes) stays within FLAT_PERCENT of its mean. Prints a markdown report
# (docs/benchmarks.md, "Soak").
#
# Usage: sudo edge-worker/bench/soak.sh   (env: SOAK_MINUTES=40 PEERS=30000 PEER_GROUPS=10 LIFETIME=120
#        ACTIVE=200 SWARMS=500 SAMPLE=30 WARMUP=10 FLAT_PERCENT=10 ENGINE=wasm SKIP_BUILD=1 BIN=…)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/env.sh"
cd "$MESHCDN_ROOT"

SOAK_MINUTES="${SOAK_MINUTES:-40}"
PEERS="${PEERS:-30000}"
PEER_GROUPS="${PEER_GROUPS:-10}"
LIFETIME="${LIFETIME:-120}"
ACTIVE="${ACTIVE:-200}"
SWARMS="${SWARMS:-500}"
SAMPLE="${SAMPLE:-30}"
WARMUP="${WARMUP:-10}"
FLAT_PERCENT="${FLAT_PERCENT:-10}"
ENGINE="${ENGINE:-wasm}"
BIN="${BIN:-$CARGO_TARGET_DIR/release/meshcdn}"
[ "$(id -u)" -eq 0 ] || { echo "soak: run as root (it creates a network namespace)" >&2; exit 2; }
[ "$SOAK_MINUTES" -le 240 ] && [ "$PEERS" -le 100000 ] || { echo "soak: at most 240 minutes and 100000 peers" >&2; exit 2; }

scripts/build-guest.sh >/dev/null
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin meshcdn

NS="meshcdn-soak-$$"
WORK="$(mktemp -d)"
cleanup() {
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
  sleep 1
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
# Tens of thousands of client ports to one server port, plus those in TIME_WAIT after churn.
in_ns sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
in_ns sysctl -qw net.ipv4.tcp_tw_reuse=1
# One descriptor per peer on both sides.
ulimit -Hn $((PEERS * 2 + 10000)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
# The edge holds one descriptor per peer: stay under a hard limit that cannot be raised here.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$PEERS" -gt $((hard - ACTIVE - 1500)) ]; then
  echo "soak: open-file hard limit is $hard: $((hard - ACTIVE - 1500)) idle peers instead of $PEERS" >&2
  PEERS=$((hard - ACTIVE - 1500))
fi

PORT=8000
cat > "$WORK/edge.toml" <<TOML
listen = "127.0.0.1:$PORT"
engine = "$ENGINE"
[auth]
open = true
[limits]
max_connections = $((PEERS * 2))
# Every peer comes from 127.0.0.1.
max_connections_per_ip = $((PEERS * 2))
messages_per_sec = 1000
message_burst = 1000
idle_timeout_secs = 3600
[http]
max_connections = 10000
TOML
# `ip netns exec` execs the command: $! is the edge's own pid.
RUST_LOG=warn in_ns "$BIN" edge --config "$WORK/edge.toml" 2>"$WORK/edge.log" &
EDGE_PID=$!
for _ in $(seq 1 300); do in_ns curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
in_ns curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "soak: the edge did not start" >&2; cat "$WORK/edge.log" >&2; exit 1; }

metric() { in_ns curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
reject() { in_ns curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v r="reason=\"$1\"" 'index($1, r) { print $2 }'; }

END=$(( $(date +%s) + SOAK_MINUTES * 60 ))
per_group=$((PEERS / PEER_GROUPS))
# One group: loadtest runs of LIFETIME seconds back to back until the end, each report kept.
group() { # $1 group index
  local run=0
  while [ $(( $(date +%s) + LIFETIME )) -le "$END" ]; do
    in_ns "$BIN" loadtest --target "ws://127.0.0.1:$PORT/announce" --connections "$per_group" \
      --swarms "$SWARMS" --duration "${LIFETIME}s" --idle --seed "$(( $1 * 100000 + run ))" --json \
      >>"$WORK/idle-$1.jsonl" 2>>"$WORK/loadtest.log" || echo '{"error":true}' >>"$WORK/idle-$1.jsonl"
    run=$((run + 1))
  done
}
active() {
  while [ $(( $(date +%s) + 60 )) -le "$END" ]; do
    in_ns "$BIN" loadtest --target "ws://127.0.0.1:$PORT/announce" --connections "$ACTIVE" \
      --swarms "$SWARMS" --duration 60s --offers 2 --seed 999 --json \
      >>"$WORK/active.jsonl" 2>>"$WORK/loadtest.log" || echo '{"error":true}' >>"$WORK/active.jsonl"
  done
}
# Groups start LIFETIME / PEER_GROUPS apart, so their ends (the churn) are spread over time.
for g in $(seq 1 "$PEER_GROUPS"); do
  group "$g" &
  sleep "$(python3 -c "print($LIFETIME / $PEER_GROUPS)")"
done
active &

echo "minute,rss_bytes,connections,peers,restarts" >"$WORK/samples.csv"
while [ "$(date +%s)" -lt "$END" ]; do
  sleep "$SAMPLE"
  elapsed=$(python3 -c "print(round(($(date +%s) - $END + $SOAK_MINUTES * 60) / 60, 2))")
  echo "$elapsed,$(metric process_resident_memory_bytes),$(metric meshcdn_edge_connections),$(metric meshcdn_edge_peers),$(metric meshcdn_edge_shard_restarts_total)" >>"$WORK/samples.csv"
  kill -0 "$EDGE_PID" 2>/dev/null || { echo "soak: the edge exited" >&2; cat "$WORK/edge.log" >&2; exit 1; }
done
wait $(jobs -p | grep -v "^$EDGE_PID$") 2>/dev/null || true

python3 - "$WORK" "$WARMUP" "$FLAT_PERCENT" "$PEERS" "$PEER_GROUPS" "$LIFETIME" "$ACTIVE" "$SOAK_MINUTES" "$ENGINE" \
  "$(reject slow_reader)" "$(reject host_queue_budget)" "$(reject idle)" "$(metric meshcdn_edge_connections_total)" <<'PY'
import csv, glob, json, sys
work, warmup, flat = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
peers, groups, lifetime, active, minutes, engine = sys.argv[4:10]
slow, budget, idle, total = sys.argv[10:14]
rows = list(csv.DictReader(open(f"{work}/samples.csv")))
runs = [json.loads(l) for f in glob.glob(f"{work}/idle-*.jsonl") for l in open(f) if l.strip()]
act = [json.loads(l) for l in open(f"{work}/active.jsonl") if l.strip()]
bad = [r for r in runs if r.get("error") or r["connected"] != r["connections"]
       or r["responses"] < r["connected"] or r["disconnects"] or r["failures"]]
bad_act = [r for r in act if r.get("error") or r["connected"] != r["connections"] or r["disconnects"]]
after = [int(r["rss_bytes"]) for r in rows if float(r["minute"]) >= warmup]
mean = sum(after) / max(len(after), 1)
spread = (max(after) - min(after)) / mean * 100 if after else float("nan")
restarts = max(int(r["restarts"] or 0) for r in rows)
M = 2 ** 20
print(f"## Soak: {engine} engine, {peers} idle peers in {groups} groups living {lifetime} s each "
      f"(~{int(peers) // int(lifetime)} connections closed and opened per second), {active} active peers, {minutes} min\n")
print("| minute | RSS | connections | peers |\n|---:|---:|---:|---:|")
step = max(len(rows) // 12, 1)
for r in rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else []):
    print(f"| {float(r['minute']):.1f} | {int(r['rss_bytes']) / M:.0f} MiB | {r['connections']} | {r['peers']} |")
print()
print(f"- idle loadtest runs: {len(runs)}, peers connected in all: {sum(r.get('connected', 0) for r in runs)}, "
      f"runs with a peer not connected, not answered or disconnected: {len(bad)}")
print(f"- active runs: {len(act)}, responses: {sum(r.get('responses', 0) for r in act)}, bad runs: {len(bad_act)}")
print(f"- WebSocket connections accepted by the host: {total}; shard restarts: {restarts}; "
      f"rejects slow_reader {slow}, host_queue_budget {budget}, idle {idle}")
print(f"- resident memory after minute {warmup:g}: mean {mean / M:.0f} MiB, min {min(after) / M:.0f}, "
      f"max {max(after) / M:.0f} (spread {spread:.1f}% of the mean; flat means within {flat:g}%)")
ok = not bad and not bad_act and restarts == 0 and spread <= flat
print(f"\nsoak: {'PASSED' if ok else 'FAILED'}")
sys.exit(0 if ok else 1)
PY

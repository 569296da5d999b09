#!/usr/bin/env bash
# The edge host against aquatic_ws under aquatic's own load tester (`aquatic_ws_load_test`), side
# by side in one run: aquatic_ws, `meshcdn edge --engine wasm`, `meshcdn edge --engine native`,
# alternating, ROUNDS times, each loaded by the same tester config (TLS, CONNECTIONS connections,
# TORRENTS torrents, OFFERS offers per announce, DURATION seconds measured once every connection
# is up). Prints responses/s as the tester reports them, the ratios, the connections established,
# and each server's CPU time and resident memory. Everything on loopback, bounded in time.
#
# aquatic_ws and aquatic_ws_load_test are installed from crates.io (`cargo install --locked`) into
# $AQUATIC_ROOT (default $MESHCDN_CACHE/aquatic-$AQUATIC_VERSION) on first use; nothing of them is
# kept in this repository. Both run on glommio (io_uring): the script raises RLIMIT_MEMLOCK.
#
# Usage: edge-worker/bench/aquatic.sh   (env: CONNECTIONS=256 TORRENTS=1000 OFFERS=10 DURATION=15
#        ROUNDS=2 TARGETS="aquatic wasm native" SHARDS=0 AQUATIC_SOCKET_WORKERS=2
#        AQUATIC_SWARM_WORKERS=1 LT_WORKERS=2 RAMP_LIMIT=60 SKIP_BUILD=1 BIN=path/to/meshcdn)
# Serialize with other benchmarks on a shared machine: flock /tmp/meshcdn-bench.lock edge-worker/bench/aquatic.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../scripts/env.sh"
cd "$MESHCDN_ROOT"

CONNECTIONS="${CONNECTIONS:-256}"
TORRENTS="${TORRENTS:-1000}"
OFFERS="${OFFERS:-10}"
DURATION="${DURATION:-15}"
ROUNDS="${ROUNDS:-2}"
TARGETS="${TARGETS:-aquatic wasm native}"
SHARDS="${SHARDS:-0}"
# Two tester workers: one worker opens its connections from the thread that also handles every
# response, so against a fast server it never got all 256 up within the ramp (aquatic_ws in every
# run with one worker), and the figures were over a ramp of fewer connections. With two, every
# server gets all 256 (docs/benchmarks/aquatic.md, "Two tester workers").
LT_WORKERS="${LT_WORKERS:-2}"
RAMP_LIMIT="${RAMP_LIMIT:-60}"
AQUATIC_VERSION="${AQUATIC_VERSION:-0.9.0}"
AQUATIC_ROOT="${AQUATIC_ROOT:-$MESHCDN_CACHE/aquatic-$AQUATIC_VERSION}"
# aquatic's advice for 1-7 cores: a socket worker per core, one swarm worker.
AQUATIC_SOCKET_WORKERS="${AQUATIC_SOCKET_WORKERS:-$(nproc)}"
AQUATIC_SWARM_WORKERS="${AQUATIC_SWARM_WORKERS:-1}"
BIN="${BIN:-$CARGO_TARGET_DIR/release/meshcdn}"
if [ $((DURATION % 5)) -ne 0 ] || [ $((CONNECTIONS % LT_WORKERS)) -ne 0 ]; then
  echo "bench: DURATION must be a multiple of 5 (the tester reports every 5 s) and CONNECTIONS a multiple of LT_WORKERS" >&2
  exit 2
fi

if [ ! -x "$AQUATIC_ROOT/bin/aquatic_ws" ] || [ ! -x "$AQUATIC_ROOT/bin/aquatic_ws_load_test" ]; then
  echo "bench: installing aquatic_ws and aquatic_ws_load_test $AQUATIC_VERSION into $AQUATIC_ROOT (once; a few minutes)" >&2
  cargo install --quiet --locked --root "$AQUATIC_ROOT" "aquatic_ws_load_test@$AQUATIC_VERSION"
  # Without the default `prometheus` feature: its metrics 0.22.3 no longer compiles with current
  # rustc (E0521), and the benchmark does not use it. mimalloc stays (aquatic's allocator).
  cargo install --quiet --locked --root "$AQUATIC_ROOT" --no-default-features --features mimalloc \
    "aquatic_ws@$AQUATIC_VERSION"
fi
case " $TARGETS " in *" wasm "*|*" native "*)
  scripts/build-guest.sh >/dev/null
  [ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin meshcdn ;;
esac

# glommio registers io_uring buffers: it refuses to start under 512 KiB of locked memory.
ulimit -l unlimited 2>/dev/null || ulimit -l "$(ulimit -Hl)"
ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# One self-signed certificate for every server (the tester verifies nothing); PKCS#8 key, as
# aquatic wants it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=example.com -addext subjectAltName=DNS:example.com \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # $1 port; bounded
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on $1" >&2; return 1
}
wait_health() { # $1 metrics port; bounded. The port opens before the host has loaded its component.
  for _ in $(seq 1 600); do
    curl -sfk "https://127.0.0.1:$1/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "bench: no /health on $1" >&2; return 1
}

start_aquatic() { # $1 port; sets SERVER_PID
  cat > "$WORK/aquatic.toml" <<TOML
socket_workers = $AQUATIC_SOCKET_WORKERS
swarm_workers = $AQUATIC_SWARM_WORKERS
log_level = "warn"
[network]
address = "127.0.0.1:$1"
enable_tls = true
tls_certificate_path = "$WORK/cert.pem"
tls_private_key_path = "$WORK/key.pem"
TOML
  "$AQUATIC_ROOT/bin/aquatic_ws" -c "$WORK/aquatic.toml" >"$WORK/aquatic.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_port "$1"
}

start_edge() { # $1 engine, $2 port; sets SERVER_PID
  cat > "$WORK/edge-$1.toml" <<TOML
listen = "127.0.0.1:$2"
engine = "$1"
shards = $SHARDS
[tls]
cert = "$WORK/cert.pem"
key = "$WORK/key.pem"
[auth]
open = true
# aquatic_ws has none of these limits: lifted.
[limits]
messages_per_sec = 1000000
message_burst = 1000000
max_connections = 100000
# Every load connection comes from 127.0.0.1: the per-address limit is not part of the comparison.
max_connections_per_ip = 100000
idle_timeout_secs = 600
# Like aquatic_ws: a connection holds at most 16 messages waiting to be written, and further
# ones are dropped (the tester reads one message per message it sends, fewer than it is sent).
max_queued_messages = 16
queue_overflow = "drop"
# Connections still connecting (TLS handshakes, upgrades) at once: not a limit of the comparison.
[http]
max_connections = 100000
[tracker]
# aquatic relays every offer to a random peer of the swarm: no per-viewer cap, no
# once-per-pair rule, and a connection may be in as many swarms as the tester announces to.
max_peers_per_viewer = 65535
max_swarms_per_conn = 1024
offer_dedupe = false
TOML
  RUST_LOG=warn "$BIN" edge --config "$WORK/edge-$1.toml" 2>"$WORK/edge-$1.log" &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_health "$2"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

load() { # $1 port, $2 output file. The tester connects to wss://127.0.0.1:PORT/ (path "/").
  cat > "$WORK/load.toml" <<TOML
server_address = "127.0.0.1:$1"
log_level = "error"
num_workers = $LT_WORKERS
num_connections_per_worker = $((CONNECTIONS / LT_WORKERS))
duration = $DURATION
measure_after_max_connections_reached = true
[torrents]
number_of_torrents = $TORRENTS
offers_per_request = $OFFERS
weight_announce = 1
weight_scrape = 0
TOML
  # It measures only once every connection is up, and never ends if that does not happen:
  # bounded here by RAMP_LIMIT.
  # The inner shell prints its waited-for children's CPU time (the tester's) into $2.cpu.
  bash -c 'timeout --signal=KILL "$1" "$2" -c "$3" >"$4" 2>&1
    awk -v hz="$(getconf CLK_TCK)" "{ print (\$16 + \$17) / hz }" /proc/$$/stat >"$4.cpu"' _ \
    $((RAMP_LIMIT + DURATION + 10)) "$AQUATIC_ROOT/bin/aquatic_ws_load_test" "$WORK/load.toml" "$2" || true
}

# Reads the tester's output: its 5-second reports, whether all connections came up, its average.
summarize() { # $1 output file, $2 target, $3 server CPU s, $4 server RSS MiB, $5 tester CPU s
  python3 - "$@" "$CONNECTIONS" <<'PY'
import re, sys
path, target, cpu, rss, lt_cpu, want = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
text = open(path).read()
reports = [(float(r), int(c)) for r, c in re.findall(r"Responses in: ([\d.]+)/second.*?Active connections: (\d+)", text, re.S)]
full = "Max connections reached" in text
avg = re.search(r"Average responses per second: ([\d.]+)", text)
peak = max((c for _, c in reports), default=0)
if avg:
    rps = float(avg.group(1))
else:
    # Never reached every connection (or ended early): the mean of the reports after the first.
    tail = [r for r, _ in reports[1:]] or [0.0]
    rps = sum(tail) / len(tail)
note = "" if full else f" (not all {want} connections: measured over the ramp)"
print(f"| {target} | {rps:.0f}{note} | {peak}{'' if full else ' of ' + str(want)} | {cpu:.1f} | {sum(r for r, _ in reports) * 5 / max(cpu, 0.01):.0f} | {rss} MiB | {lt_cpu:.1f} |")
print(f"RESULT {target} {rps:.1f} {peak}", file=sys.stderr)
PY
}

echo "## aquatic_ws_load_test: $CONNECTIONS connections (TLS), $TORRENTS torrents, $OFFERS offers per announce, ${DURATION}s measured, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| target | responses/s | connections | server CPU s | responses per server CPU s | server RSS peak / at end | tester CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
RESULTS="$WORK/results"
: > "$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for target in $TARGETS; do
    port=$(free_port)
    case "$target" in
      aquatic) start_aquatic "$port" ;;
      wasm|native) start_edge "$target" "$port" ;;
      *) echo "bench: unknown target $target" >&2; exit 2 ;;
    esac
    pid=$SERVER_PID
    cpu0=$(cpu_secs "$pid")
    out="$WORK/load-$target-$round.txt"
    # Resident memory once a second while the load runs (growth under sustained load).
    ( while kill -0 "$pid" 2>/dev/null; do rss_mib "$pid"; echo; sleep 1; done ) >"$out.rss" 2>/dev/null &
    sampler=$!
    load "$port" "$out"
    cpu1=$(cpu_secs "$pid")
    rss=$(rss_mib "$pid")
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    rss="$(sort -n "$out.rss" | tail -1) (peak) / $rss"
    stop "$pid"
    lt_cpu=$(cat "$out.cpu" 2>/dev/null || echo 0)
    summarize "$out" "$target" "$(python3 -c "print($cpu1 - $cpu0)")" "$rss" "$lt_cpu" 2>>"$RESULTS"
  done
done
echo
python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        _, target, rps, conns = line.split()
        runs[target].append(float(rps))
med = {t: statistics.median(v) for t, v in runs.items()}
base = med.get("aquatic")
for t in ("wasm", "native"):
    if t in med and base:
        per_round = ", ".join(f"{a / b:.2f}x" for a, b in zip(runs[t], runs["aquatic"]))
        print(f"{t} / aquatic_ws = {med[t] / base:.2f}x (medians; per round: {per_round})")
PY

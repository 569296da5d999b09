#!/usr/bin/env bash
# A throw-away network namespace for WebRTC browser tests (needs root).
#
# Headless Chromium gathers ICE candidates only on an interface with a default route, and tests
# must not send traffic to this machine's real addresses. So: a namespace with loopback up and a
# veth pair whose both ends live inside it (10.213.0.1/24 and 10.213.0.2/24) and a default route
# via the second end. Data channels open on 10.213.0.1 and nothing leaves the namespace.
# Every namespace uses the same addresses: they are private to it.
#
# Usage:
#   scripts/netns.sh create NAME     # prints the address to serve on (10.213.0.1)
#   scripts/netns.sh attach NAME PID # the same, on the namespace PID lives in (e.g. a container
#                                    # started with --network none), named NAME
#   scripts/netns.sh exec NAME CMD…  # runs CMD inside NAME
#   scripts/netns.sh delete NAME     # kills what runs inside, then deletes; idempotent
#   scripts/netns.sh check           # exit 0 if namespaces can be created here
set -euo pipefail

ADDR=10.213.0.1
PEER=10.213.0.2

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
need_root() { [ "$(id -u)" -eq 0 ] || { echo "netns: must run as root" >&2; exit 1; }; }
valid_name() { [[ "$1" =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || { echo "netns: bad name '$1'" >&2; exit 2; }; }

cmd="${1:-}"; shift || true
case "$cmd" in
  create|attach)
    name="${1:-}"; valid_name "$name"; need_root
    ip netns del "$name" 2>/dev/null || true
    if [ "$cmd" = attach ]; then
      pid="${2:-}"; [[ "$pid" =~ ^[0-9]+$ ]] || { echo "netns: attach needs a PID" >&2; exit 2; }
      ip netns attach "$name" "$pid"
    else
      ip netns add "$name"
    fi
    ip -n "$name" link set lo up
    ip -n "$name" link add v0 type veth peer name v1
    ip -n "$name" addr add "$ADDR/24" dev v0
    ip -n "$name" addr add "$PEER/24" dev v1
    ip -n "$name" link set v0 up
    ip -n "$name" link set v1 up
    ip -n "$name" route add default via "$PEER" dev v0
    echo "$ADDR"
    ;;
  exec)
    name="${1:-}"; valid_name "$name"; shift; need_root
    exec ip netns exec "$name" "$@"
    ;;
  delete)
    name="${1:-}"; valid_name "$name"; need_root
    # Whatever a test started inside and left behind (a crashed test's servers or browser) goes
    # with the namespace: only that test's processes live there.
    for pid in $(ip netns pids "$name" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$name" 2>/dev/null || true
    ;;
  check)
    [ "$(id -u)" -eq 0 ] || exit 1
    probe="meshcdn-probe-$$"
    ip netns add "$probe" 2>/dev/null || exit 1
    ip netns del "$probe"
    ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# A small Internet in network namespaces, for WebRTC tests across NATs (needs root, iproute2,
# iptables). Nothing leaves the machine: every address is private to the namespaces.
#
#   "public" namespace  <P>-pub: bridge br0 198.51.100.1/24 (servers bind here: origin, edge,
#                       coturn); the caller's namespace joins it as 198.51.100.100 (interface
#                       nat<ID>up), so a test process can reach the servers and serve them.
#   NAT routers         <P>-r<X>: WAN 198.51.100.<N> on br0, LAN bridge 192.168.<N>.1/24,
#                       iptables MASQUERADE, no unsolicited inbound (like a home router).
#   viewers             <P>-<X><k>: 192.168.<N>.<k+1>, default route via their router.
#
#   router  N   kind                                             viewers
#   A       11  ordinary home NAT (endpoint-independent mapping) a1, a2 (one LAN)
#   B       12  ordinary home NAT                                b1
#   S       13  symmetric NAT (MASQUERADE --random-fully)        s1
#   U       14  ordinary NAT that drops all UDP from its LAN      u1
#
# <P> is "nat<ID>". Home routers map one inside socket to one outside port whatever the
# destination (RFC 4787 endpoint-independent mapping). Linux conntrack does that too, except when a
# packet from outside reaches the router's mapped port before the inside host has sent anything to
# that sender: then conntrack keeps an entry for the stray packet, and the inside host's own packet
# to that sender later clashes with it and is given another source port, so every ICE check of a
# hole-punching pair goes to a port nobody listens on. The routers here drop such unsolicited
# packets before conntrack confirms an entry for them (INPUT, ctstate NEW), as home routers do.
# NAT_TOPOLOGY_STRAY=keep leaves that rule out, to reproduce the failure (docs/nat-testing.md).
#
# Usage:
#   scripts/nat-topology.sh up ID     # builds it; prints NAME=VALUE lines (namespaces, addresses)
#   scripts/nat-topology.sh down ID   # kills what runs inside, deletes all of it; idempotent
set -euo pipefail

usage() { sed -n '2,29p' "$0" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "nat-topology: must run as root" >&2; exit 1; }
cmd="${1:-}"; id="${2:-}"
[[ "$id" =~ ^[0-9a-z]{1,8}$ ]] || usage
p="nat$id"
PUB="$p-pub"
ROUTERS=(A:11:cone:a1,a2 B:12:cone:b1 S:13:symmetric:s1 U:14:no-udp:u1)

namespaces() {
  echo "$PUB"
  local r name n kind viewers v
  for r in "${ROUTERS[@]}"; do
    IFS=: read -r name n kind viewers <<<"$r"
    echo "$p-r$name"
    for v in ${viewers//,/ }; do echo "$p-$v"; done
  done
}

down() {
  local ns pid
  ip link del "${p}up" 2>/dev/null || true
  for ns in $(namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

up() {
  down
  trap 'down; echo "nat-topology: set-up failed (line $LINENO)" >&2' ERR
  ip netns add "$PUB"
  in_ns "$PUB" ip link set lo up
  in_ns "$PUB" ip link add br0 type bridge
  in_ns "$PUB" ip addr add 198.51.100.1/24 dev br0
  in_ns "$PUB" ip link set br0 up
  # The caller's namespace on the public segment.
  ip link add "${p}up" type veth peer name tst netns "$PUB"
  ip addr add 198.51.100.100/24 dev "${p}up"
  ip link set "${p}up" up
  in_ns "$PUB" ip link set tst master br0 up
  echo "PUBLIC_NS=$PUB"
  echo "PUBLIC_ADDR=198.51.100.1"
  echo "CALLER_ADDR=198.51.100.100"

  local r name n kind viewers v k rns vns
  for r in "${ROUTERS[@]}"; do
    IFS=: read -r name n kind viewers <<<"$r"
    rns="$p-r$name"
    ip netns add "$rns"
    in_ns "$rns" ip link set lo up
    in_ns "$rns" sysctl -qw net.ipv4.ip_forward=1
    ip link add wan0 netns "$rns" type veth peer name "r$name" netns "$PUB"
    in_ns "$PUB" ip link set "r$name" master br0 up
    in_ns "$rns" ip addr add "198.51.100.$n/24" dev wan0
    in_ns "$rns" ip link set wan0 up
    in_ns "$rns" ip link add lan0 type bridge
    in_ns "$rns" ip addr add "192.168.$n.1/24" dev lan0
    in_ns "$rns" ip link set lan0 up
    local masq=(-j MASQUERADE)
    [ "$kind" = symmetric ] && masq+=(--random-fully)
    in_ns "$rns" iptables -t nat -A POSTROUTING -o wan0 "${masq[@]}"
    in_ns "$rns" iptables -A FORWARD -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    in_ns "$rns" iptables -A FORWARD -i wan0 -j DROP
    [ "$kind" = no-udp ] && in_ns "$rns" iptables -A FORWARD -i lan0 -p udp -j DROP
    if [ "${NAT_TOPOLOGY_STRAY:-drop}" != keep ]; then
      in_ns "$rns" iptables -A INPUT -i wan0 -m conntrack --ctstate NEW -j DROP
    fi
    echo "ROUTER_$name=$rns"
    echo "ROUTER_${name}_WAN=198.51.100.$n"
    k=1
    for v in ${viewers//,/ }; do
      k=$((k + 1))
      vns="$p-$v"
      ip netns add "$vns"
      in_ns "$vns" ip link set lo up
      ip link add eth0 netns "$vns" type veth peer name "v$v" netns "$rns"
      in_ns "$rns" ip link set "v$v" master lan0 up
      in_ns "$vns" ip addr add "192.168.$n.$k/24" dev eth0
      in_ns "$vns" ip link set eth0 up
      in_ns "$vns" ip route add default via "192.168.$n.1"
      echo "VIEWER_$v=$vns"
      echo "VIEWER_${v}_ADDR=192.168.$n.$k"
    done
  done
  trap - ERR
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac

# Docker helpers for the scripts (sourced after env.sh, not run).
#
# ensure_docker: installs Debian's docker.io when there is no engine, starts `dockerd` when its
# socket does not answer (as root, idempotently), and waits for it. Sets DOCKER to the client to
# use: Debian's /usr/bin/docker (it has BuildKit built in; a newer client elsewhere on PATH may
# need the separate buildx plugin for DOCKER_BUILDKIT=1).
#
# The daemon started here has no bridge and does not touch iptables: meshcdn's containers run with
# `--network host` (loopback ports) or `--network none`, and builds use `--network host`.
ensure_docker() {
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=$(command -v docker || true); fi
  if [ -z "$DOCKER" ] || ! command -v dockerd >/dev/null; then
    ensure_debs docker.io
    DOCKER=/usr/bin/docker
  fi
  export DOCKER
  "$DOCKER" version >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker: the engine is not running and starting dockerd needs root" >&2
    return 1
  fi
  local log="$MESHCDN_CACHE/dockerd.log"
  echo "docker: starting dockerd (log: $log)"
  # setsid: the daemon outlives this script (later scripts and tests reuse it).
  setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >>"$log" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 120); do
    "$DOCKER" version >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "docker: dockerd did not answer within 60 s; last lines of $log:" >&2
  tail -20 "$log" >&2
  return 1
}

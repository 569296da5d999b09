#!/usr/bin/env bash
# Builds the meshcdn container image (deploy/container/Dockerfile) with the local Docker engine,
# idempotently: BuildKit's layer cache and cache mounts (cargo registry, target directories) make a
# rebuild after a source change incremental, and a rebuild with no change a few seconds.
#
# Base images: the Dockerfile's FROM images are used when present locally, else pulled from the
# registry; when no registry is reachable a Debian one is made here instead (debootstrap, minbase
# variant, the same suites as Docker's official image) and loaded with `docker import` under the
# Dockerfile's name for it, so the Dockerfile itself stays the one anybody with a registry uses.
#
# Tags: meshcdn:dev and ghcr.io/meshcdn/meshcdn:<workspace version> (the name deploy/k8s uses).
# Prints the image id (its digest: sha256 of the image config) and size, and writes the id to
# $MESHCDN_CACHE/image.id.
# Usage: scripts/image.sh [--base-only]
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/docker.sh"
cd "$MESHCDN_ROOT"

base_only=0
for arg in "$@"; do
  case "$arg" in
    --base-only) base_only=1 ;;
    *) echo "image: unknown argument $arg" >&2; exit 2 ;;
  esac
done

DOCKERFILE=deploy/container/Dockerfile
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
TAGS=(meshcdn:dev "ghcr.io/meshcdn/meshcdn:$VERSION")
MIRROR="${MESHCDN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MESHCDN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

ensure_docker

# The Dockerfile's external FROM images (stage names and ARG defaults resolved).
base_refs() {
  awk '
    toupper($1) == "ARG" && index($2, "=") { split($2, kv, "="); args[kv[1]] = kv[2] }
    toupper($1) == "FROM" {
      ref = $2
      for (k in args) { gsub("\\$\\{" k "\\}", args[k], ref); gsub("\\$" k, args[k], ref) }
      if (!(ref in stages)) print ref
      if (toupper($3) == "AS") stages[$4] = 1
    }' "$DOCKERFILE" | sort -u
}

# make_debian_base SUITE REF…: debootstrap SUITE and import it under every REF.
make_debian_base() {
  local suite="$1"; shift
  ensure_debs debootstrap
  local root="$MESHCDN_CACHE/base-rootfs-$suite"
  rm -rf "$root"
  echo "image: no registry; making ${*} with debootstrap ($suite, minbase) from $MIRROR"
  debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$MESHCDN_CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$MESHCDN_CACHE/debootstrap.log" >&2; echo "image: debootstrap failed" >&2; exit 1; }
  # The suites Docker's official debian image lists (bookworm-security carries rustc-web 1.96).
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* "$root"/tmp/*
  local ref full=() slim=()
  for ref in "$@"; do
    case "$ref" in *-slim) slim+=("$ref") ;; *) full+=("$ref") ;; esac
  done
  ((${#full[@]})) && import_root "$root" "$suite" "${full[@]}"
  if ((${#slim[@]})); then
    # What Docker's -slim variant drops: documentation, manuals and translations, also from
    # packages installed later (dpkg path excludes).
    mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
SLIM
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*
    import_root "$root" "$suite" "${slim[@]}"
  fi
  rm -rf "$root"
}

# import_root DIR SUITE REF…: loads DIR as an image tagged REF….
import_root() {
  local root="$1" suite="$2"; shift 2
  local first="$1"; shift
  tar --numeric-owner -C "$root" -c . \
    | "$DOCKER" import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --message "debootstrap --variant=minbase $suite $MIRROR (scripts/image.sh)" - "$first" >/dev/null
  local ref
  for ref in "$@"; do "$DOCKER" tag "$first" "$ref"; done
  echo "image: made base $first${*:+ (also ${*})}: $("$DOCKER" image inspect -f '{{.Size}}' "$first" | awk '{ printf "%d MiB", $1 / 1048576 }')"
}

declare -A need_debian=()
while read -r ref; do
  [ -n "$ref" ] || continue
  if "$DOCKER" image inspect "$ref" >/dev/null 2>&1; then
    echo "image: base $ref is present"
  elif "$DOCKER" pull -q "$ref" >/dev/null 2>&1; then
    echo "image: pulled base $ref"
  else
    # docker.io/library/debian:SUITE or :SUITE-slim; both come from the same minbase root.
    case "$ref" in
      docker.io/library/debian:*|debian:*)
        suite="${ref##*:}"; suite="${suite%-slim}"
        need_debian[$suite]+="$ref " ;;
      *) echo "image: cannot pull base image $ref and cannot make it locally" >&2; exit 1 ;;
    esac
  fi
done < <(base_refs)
for suite in "${!need_debian[@]}"; do
  # shellcheck disable=SC2086 # a list of refs
  make_debian_base "$suite" ${need_debian[$suite]}
done
[ "$base_only" -eq 1 ] && exit 0

# A TLS-inspecting proxy's CA, when the host trusts one: cargo in the build needs it for crates.io
# (a build secret: not in any layer, not part of the cache key).
secret_args=()
CA_BUNDLE="${MESHCDN_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
[ -s "$CA_BUNDLE" ] && secret_args=(--secret "id=ca-bundle,src=$CA_BUNDLE")

tag_args=()
for t in "${TAGS[@]}"; do tag_args+=(-t "$t"); done
echo "image: building ${TAGS[*]} from $DOCKERFILE"
start=$(date +%s)
# --network host: the build's RUN steps reach Debian's mirror and crates.io without a bridge.
if ! DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress "${MESHCDN_IMAGE_PROGRESS:-plain}" \
  -f "$DOCKERFILE" "${tag_args[@]}" "${secret_args[@]}" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  . 2>&1 | { if [ -n "${MESHCDN_IMAGE_QUIET:-}" ]; then grep -E '^(#[0-9]+ (ERROR|DONE [0-9.]+s|CACHED))|error' || true; else cat; fi; }
then
  echo "image: docker build failed" >&2
  exit 1
fi
elapsed=$(( $(date +%s) - start ))
id=$("$DOCKER" image inspect -f '{{.Id}}' "${TAGS[0]}")
size=$("$DOCKER" image inspect -f '{{.Size}}' "${TAGS[0]}")
echo "$id" >"$MESHCDN_CACHE/image.id"
echo "image: ${TAGS[*]} id $id size $((size / 1024 / 1024)) MiB ($size bytes), built in ${elapsed}s"

#!/usr/bin/env bash
# Builds the images the Swarm end-to-end tests deploy, offline (no registry, no base image):
#   swarmgate:dev                 the proxy (static binary, FROM scratch)
#   swarmgate-testbackend:v1, :v2 examples/testbackend.rs (static binary, FROM scratch, VERSION=v1|v2)
# The binaries are linked statically against glibc (crt-static) so a scratch image runs them; each
# image holds one file (~10 MB), which matters on dockerd's vfs storage driver.
# Cache-friendly: cargo rebuilds only what changed, and an image is rebuilt only when its content
# (binary + Dockerfile) changed. Needs a running dockerd (.ci/docker-up.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET="$(uname -m)-unknown-linux-gnu"
# IMAGE_PROFILE=debug builds unoptimised binaries (a cold build in a few minutes instead of many,
# for trying the end-to-end suites on a busy machine); CI uses release.
PROFILE=${IMAGE_PROFILE:-release}
OUT=target/$TARGET/$PROFILE
log() { echo "build-images: $*" >&2; }

profile_flag=--release
[ "$PROFILE" = debug ] && profile_flag=
RUSTFLAGS='-C target-feature=+crt-static' cargo build $profile_flag -j2 --target "$TARGET" \
    --bin swarmgate --example testbackend

for bin in "$OUT/swarmgate" "$OUT/examples/testbackend"; do
    if ldd "$bin" 2>&1 | grep -q '=>'; then
        log "$bin is dynamically linked; a scratch image cannot run it"; exit 1
    fi
done

# build IMAGE BINARY ENTRYPOINT_NAME [ENV...]: a FROM-scratch image holding only the stripped
# binary (the proxy also as /usr/local/bin/traefik, so a stack's
# `healthcheck: test: ["CMD", "traefik", "healthcheck", "--ping"]` works unchanged). Skipped when the image already carries the same context hash (binary + Dockerfile).
build() {
    local image=$1 bin=$2 name=$3; shift 3
    local ctx hash
    ctx=$(mktemp -d)
    cp "$bin" "$ctx/$name"
    strip "$ctx/$name" 2>/dev/null || true
    {
        echo "FROM scratch"
        echo "COPY $name /$name"
        if [ "$name" = swarmgate ]; then
            echo "COPY $name /usr/local/bin/traefik"
            echo "ENV PATH=/usr/local/bin"
        fi
        for kv in "$@"; do echo "ENV $kv"; done
        echo "ENTRYPOINT [\"/$name\"]"
    } >"$ctx/Dockerfile"
    hash=$(cat "$ctx/Dockerfile" "$ctx/$name" | sha256sum | cut -c1-32)
    if [ "$(docker image inspect --format '{{index .Config.Labels "swarmgate.context"}}' "$image" 2>/dev/null)" = "$hash" ]; then
        rm -rf "$ctx"
        log "$image is up to date"; return
    fi
    echo "LABEL swarmgate.context=$hash" >>"$ctx/Dockerfile"
    docker build -q -t "$image" "$ctx" >/dev/null 2>&1 || { rm -rf "$ctx"; log "docker build of $image failed"; exit 1; }
    rm -rf "$ctx"
    log "built $image ($(docker image inspect --format '{{.Size}}' "$image") bytes)"
}

build swarmgate:dev "$OUT/swarmgate" swarmgate
build swarmgate-testbackend:v1 "$OUT/examples/testbackend" testbackend VERSION=v1 PORT=8080
build swarmgate-testbackend:v2 "$OUT/examples/testbackend" testbackend VERSION=v2 PORT=8080
docker image prune -f >/dev/null 2>&1 || true
log "ready"

#!/usr/bin/env bash
# Builds the images the Swarm end-to-end tests deploy, offline (no registry, no base image):
#   swarmgate:dev                 the proxy (static binary, FROM scratch)
#   swarmgate-testbackend:v1, :v2 examples/testbackend.rs (static binary, FROM scratch, VERSION=v1|v2)
# The binaries are linked statically against glibc (crt-static) so a scratch image runs them; each
# image holds one file (~10 MB), which matters on dockerd's vfs storage driver.
# Cache-friendly: cargo rebuilds only what changed, and an image is rebuilt only when its binary is
# newer than the image. Needs a running dockerd (.ci/docker-up.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
OUT=target/$TARGET/release
log() { echo "build-images: $*" >&2; }

RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -j2 --target "$TARGET" \
    --bin swarmgate --example testbackend

for bin in "$OUT/swarmgate" "$OUT/examples/testbackend"; do
    if ldd "$bin" 2>&1 | grep -q '=>'; then
        log "$bin is dynamically linked; a scratch image cannot run it"; exit 1
    fi
done

# image_time IMAGE -> creation time in seconds since the epoch, 0 when absent.
image_time() {
    local created
    created=$(docker image inspect --format '{{.Created}}' "$1" 2>/dev/null) || { echo 0; return; }
    date -d "$created" +%s
}

# build IMAGE BINARY ENTRYPOINT_NAME [ENV...]
build() {
    local image=$1 bin=$2 name=$3; shift 3
    if [ "$(image_time "$image")" -ge "$(stat -c %Y "$bin")" ]; then
        log "$image is up to date"; return
    fi
    local ctx
    ctx=$(mktemp -d)
    cp "$bin" "$ctx/$name"
    strip "$ctx/$name" 2>/dev/null || true
    {
        echo "FROM scratch"
        echo "COPY $name /$name"
        for kv in "$@"; do echo "ENV $kv"; done
        echo "ENTRYPOINT [\"/$name\"]"
    } >"$ctx/Dockerfile"
    docker build -q -t "$image" "$ctx" >/dev/null
    rm -rf "$ctx"
    log "built $image ($(docker image inspect --format '{{.Size}}' "$image") bytes)"
}

build swarmgate:dev "$OUT/swarmgate" swarmgate
build swarmgate-testbackend:v1 "$OUT/examples/testbackend" testbackend VERSION=v1 PORT=8080
build swarmgate-testbackend:v2 "$OUT/examples/testbackend" testbackend VERSION=v2 PORT=8080
docker image prune -f >/dev/null 2>&1 || true
log "ready"

#!/usr/bin/env bash
# Brings up what the Swarm end-to-end tests need, idempotently, without any registry:
#   1. docker.io (Debian's dockerd 20.10) installed if missing;
#   2. a dockerd: reused when /var/run/docker.sock answers, else started in the background with
#      vfs storage and no iptables (works inside an unprivileged-ish CI container), logging to
#      /tmp/swarmgate-dockerd.log, data in /tmp/swarmgate-docker;
#   3. swarm mode (`docker swarm init` on 127.0.0.1 when not already a manager);
#   4. the local image `swarmgate-busybox:latest`, built by `docker import` of a tarball holding only
#      Debian's static busybox (package busybox-static) — no registry, no pull. Tests run it with
#      `docker service create --no-resolve-image swarmgate-busybox:latest httpd -f -p 80 -h /www`
#      (or `sleep`).
# Needs root. Safe to run again: every step checks before acting.
set -euo pipefail

IMAGE=swarmgate-busybox:latest
SOCK=/var/run/docker.sock
LOG=/tmp/swarmgate-dockerd.log
DATA=/tmp/swarmgate-docker

log() { echo "docker-up: $*" >&2; }

export DEBIAN_FRONTEND=noninteractive
if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (log: $LOG)"
    mkdir -p "$DATA"
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd --iptables=false --ip6tables=false \
        --storage-driver=vfs --data-root "$DATA" >"$LOG" 2>&1 &
    for _ in $(seq 1 120); do
        [ -S "$SOCK" ] && docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || { log "dockerd did not come up; see $LOG"; tail -n 30 "$LOG" >&2; exit 1; }
fi
log "dockerd $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "active" ]; then
    log "docker swarm init"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    if [ ! -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q "statically linked"; then
        if ! dpkg -s busybox-static >/dev/null 2>&1; then
            log "installing busybox-static"
            apt-get update -qq && apt-get install -y -qq busybox-static >/dev/null
        fi
    fi
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc"
    cp /bin/busybox "$root/bin/busybox"
    for applet in sh httpd sleep echo cat hostname wget; do ln -s busybox "$root/bin/$applet"; done
    echo ok >"$root/www/index.html"
    echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/bin' --change 'CMD ["httpd","-f","-p","80","-h","/www"]' - "$IMAGE" >/dev/null
    log "built $IMAGE"
fi
log "ready"

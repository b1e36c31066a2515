#!/usr/bin/env bash
# The Docker API load of the Swarm provider at N services (issue 27): creates N labelled services
# on the local single-node swarm (`bash .ci/docker-up.sh` and `.ci/build-images.sh` first), runs
# examples/swarm_api_load.rs against them, and removes them.
#
#   bash bench/swarm_api_load.sh [N=1000] [REPLICAS=0] [IDLE_SECONDS=120]
#
# REPLICAS 0 keeps a thousand services cheap on a test machine (no containers): the service list
# is full size, the task list empty. Also prints the size of one full read (services, tasks) as
# dockerd serves it. Only the local dockerd is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
REPLICAS=${2:-0}
IDLE=${3:-120}
PREFIX="sgload$$x"
IMAGE=swarmgate-busybox:latest

cleanup() {
  docker service ls --filter "name=$PREFIX" -q | xargs -r -n 50 docker service rm >/dev/null 2>&1 || true
  sleep 2
  docker network rm "${PREFIX}net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "creating $N services ($REPLICAS replicas each)..." >&2
started=$(date +%s)
seq 1 "$N" | xargs -P 8 -I{} docker service create --detach --quiet --no-resolve-image \
  --name "$PREFIX{}" --replicas "$REPLICAS" \
  --label traefik.enable=true \
  --label "traefik.http.routers.$PREFIX{}.rule=Host(\`s{}.load.test\`)" \
  --label "traefik.http.services.$PREFIX{}.loadbalancer.server.port=80" \
  "$IMAGE" httpd -f -p 80 >/dev/null
# The probe: one service with a running task on an overlay network (a service without tasks has
# no router).
docker network create --driver overlay "${PREFIX}net" >/dev/null
docker service create --detach --quiet --no-resolve-image --name "${PREFIX}0" --replicas 1 \
  --network "${PREFIX}net" \
  --label traefik.enable=true \
  --label "traefik.http.routers.${PREFIX}0.rule=Host(\`s0.load.test\`)" \
  --label "traefik.http.services.${PREFIX}0.loadbalancer.server.port=80" \
  "$IMAGE" httpd -f -p 80 >/dev/null
echo "created in $(( $(date +%s) - started )) s" >&2

bytes() { curl -s --unix-socket /var/run/docker.sock "http://docker/v1.41/$1" | wc -c; }
echo "{\"services_bytes\": $(bytes services), \"tasks_bytes\": $(bytes tasks)}"
cargo run --quiet --example swarm_api_load -- "$PREFIX" "$IDLE"

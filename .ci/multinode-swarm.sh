#!/usr/bin/env bash
# A multi-node Docker Swarm on one machine: one dockerd per network namespace, joined over a bridge.
#   .ci/multinode-swarm.sh up [N]     N nodes (default 3): node 1 manager (leader), MANAGERS=k makes nodes 2..k managers too,
#                           the rest workers; every image of the main dockerd (or $IMAGES) is loaded into each node
#   multinode-swarm.sh down       removes every daemon, namespace and the bridge made here
#   node i's CLI:           docker -H unix:///tmp/sgnode<i>/docker.sock ...   (address 198.51.100.1<i>)
# Works on these machines: an edge on node 1 (host-mode port) balances over the VXLAN overlay to tasks on the workers.
# Pitfalls: `ip netns exec` remounts /sys and dockerd then fails ("Devices cgroup isn't mounted"): use nsenter --net;
# the subnet must collide with no route of the host (a machine's own interface may sit in 192.0.2.0/24): TEST-NET-2 is used;
# bind-mount each node's own socket into an edge (src=/tmp/sgnode<i>/docker.sock), not /var/run/docker.sock.
# Traffic stays on the bridge and in namespaces made here.
set -euo pipefail
NET=198.51.100
IMAGES="${IMAGES:-$(docker image ls --format "{{.Repository}}:{{.Tag}}" | grep -v "<none>" | tr "\n" " ")}"
cmd=${1:-up}; n=${2:-3}

down() {
  local pids=""
  for pidf in /tmp/sgnode*/pid; do [[ -f $pidf ]] && pids="$pids $(cat "$pidf")"; done
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 40); do alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done; [[ $alive == 0 ]] && break; sleep 0.5; done
  for m in $(awk '$2 ~ "^/tmp/sgnode" {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf /tmp/sgnode[0-9]* /tmp/sgnode-images.tar
  for ns in $(ip netns list | awk '/^sgn[0-9]+/{print $1}'); do ip netns del "$ns"; done
  for l in $(ip -o link show | awk -F': ' '/sgv[0-9]+@/{print $2}' | cut -d@ -f1); do ip link del "$l" 2>/dev/null || true; done
  ip link del sgbr 2>/dev/null || true
}

if [[ $cmd == down ]]; then down; exit 0; fi
ip route get $NET.10 | grep -q "dev sgbr" && { echo "already up (multinode-swarm.sh down first)"; exit 1; }
ip link add sgbr type bridge; ip link set sgbr up; ip addr add $NET.1/24 dev sgbr
ip route get $NET.10 | grep -q "dev sgbr" || { echo "$NET.0/24 does not route to sgbr; refusing"; down; exit 1; }
docker save $IMAGES > /tmp/sgnode-images.tar
for i in $(seq 1 "$n"); do
  ip netns add sgn$i
  ip link add sgv$i type veth peer name eth0 netns sgn$i
  ip link set sgv$i master sgbr; ip link set sgv$i up
  nsenter --net=/var/run/netns/sgn$i ip addr add $NET.1$i/24 dev eth0
  nsenter --net=/var/run/netns/sgn$i ip link set eth0 up
  nsenter --net=/var/run/netns/sgn$i ip link set lo up
  rm -rf /tmp/sgnode$i; mkdir -p /tmp/sgnode$i
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid nohup nsenter --net=/var/run/netns/sgn$i dockerd --iptables=false \
    --ip6tables=false --bridge=none --storage-driver=vfs --data-root /tmp/sgnode$i/data --exec-root /tmp/sgnode$i/exec \
    --pidfile /tmp/sgnode$i/pid -H unix:///tmp/sgnode$i/docker.sock >/tmp/sgnode$i/log 2>&1 </dev/null &
done
for i in $(seq 1 "$n"); do
  for _ in $(seq 60); do docker -H unix:///tmp/sgnode$i/docker.sock version >/dev/null 2>&1 && break; sleep 0.5; done
  docker -H unix:///tmp/sgnode$i/docker.sock load -i /tmp/sgnode-images.tar >/dev/null
done
D1="docker -H unix:///tmp/sgnode1/docker.sock"
$D1 swarm init --advertise-addr $NET.11 >/dev/null
wtok=$($D1 swarm join-token -q worker); mtok=$($D1 swarm join-token -q manager)
for i in $(seq 2 "$n"); do
  tok=$wtok; [[ $i -le ${MANAGERS:-1} ]] && tok=$mtok
  docker -H unix:///tmp/sgnode$i/docker.sock swarm join --token "$tok" $NET.11:2377 >/dev/null
done
$D1 node ls

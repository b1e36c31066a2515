#!/usr/bin/env bash
# Soak: 1 000 idle keep-alive connections held open while a fixed-rate load (examples/fixed_rate.rs,
# RATE req/s over 32 connections) runs through swarmgate for a bounded time; upstreams are killed and
# restarted half way. Records RSS and open fds of the
# swarmgate process at each phase and prints a Markdown table (append it to BENCHMARKS.md, section "Soak").
#
#   SOAK_SECONDS=600 PROFILE=release bash bench/soak.sh    # default 600 s, debug; not part of CI
#
# Needs: python3, curl; builds swarmgate and the fixed-rate probe for PROFILE (debug|release).
# A fixed rate (default 500 req/s) rather than wrk's flat-out load: a soak is about what stays
# allocated over time, and it leaves the machine usable meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS="${SOAK_SECONDS:-600}"
PROFILE="${PROFILE:-debug}"
IDLE="${IDLE:-1000}"
RATE="${RATE:-500}"
BIN="target/$PROFILE/swarmgate"
PROBE="target/$PROFILE/examples/fixed_rate"
cargo build $([ "$PROFILE" = release ] && echo --release) --bin swarmgate --example fixed_rate
load() { # seconds output-file
  "$PROBE" "http://127.0.0.1:$PORT/" "$RATE" 32 "$1" > "$2" 2>&1 || true
}

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP1=$(free_port); UP2=$(free_port); PORT=$(free_port)

start_upstream() { # port -> pid
  (cd "$WORK" && exec python3 -m http.server "$1" --bind 127.0.0.1 >/dev/null 2>&1) &
  echo $!
}
mkdir -p "$WORK/www" && echo ok > "$WORK/index.html"
U1=$(start_upstream "$UP1"); U2=$(start_upstream "$UP2"); PIDS+=("$U1" "$U2")

cat > "$WORK/dynamic.yml" <<YAML
http:
  routers:
    app:
      rule: "PathPrefix(\`/\`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:$UP1"
          - url: "http://127.0.0.1:$UP2"
YAML
cat > "$WORK/swarmgate.toml" <<TOML
[log]
level = "WARN"
[entryPoints.web]
address = "127.0.0.1:$PORT"
[entryPoints.web.transport]
headerReadTimeout = "1h"
[entryPoints.web.transport.respondingTimeouts]
idleTimeout = "1h"
[providers.file]
filename = "$WORK/dynamic.yml"
TOML
"$BIN" run --config "$WORK/swarmgate.toml" >"$WORK/gw.log" 2>&1 &
GW=$!; PIDS+=("$GW")
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$GW/status"; }
fds() { ls "/proc/$GW/fd" | wc -l; }
ROWS=()
record() { ROWS+=("| $1 | $(rss) | $(fds) |"); echo "$1: rss=$(rss) kB fds=$(fds)"; }

record "start"
# RSS and fds every 30 s through the whole run, to show the curve, not only the phase ends.
( t=0; while kill -0 "$GW" 2>/dev/null; do echo "$t $(rss) $(fds)"; sleep 30; t=$((t + 30)); done ) > "$WORK/series.txt" 2>/dev/null &
SAMPLER=$!; PIDS+=("$SAMPLER")
# Idle keep-alive holders: each sends one request, reads the answer, then stays silent.
python3 - "$PORT" "$IDLE" "$SOAK_SECONDS" > "$WORK/idle.log" 2>&1 <<'PY' &
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
    s.recv(65536)
    conns.append(s)
print("open", len(conns), flush=True)
time.sleep(secs + 30)
PY
IDLE_PID=$!; PIDS+=("$IDLE_PID")
for _ in $(seq 300); do grep -q open "$WORK/idle.log" 2>/dev/null && break; sleep 0.2; done
record "$IDLE idle connections open"

HALF=$(( SOAK_SECONDS / 2 ))
load "$HALF" "$WORK/wrk1.txt"
record "after ${HALF}s of load"

kill "$U1" "$U2"; wait "$U1" "$U2" 2>/dev/null || true
load 10 "$WORK/wrk-dead.txt"
record "upstreams dead, 10s of load (502/503s)"
U1=$(start_upstream "$UP1"); U2=$(start_upstream "$UP2"); PIDS+=("$U1" "$U2")
sleep 2
REST=$(( SOAK_SECONDS - HALF - 12 )); [ "$REST" -gt 5 ] || REST=5
load "$REST" "$WORK/wrk2.txt"
record "upstreams back, after ${REST}s more load"
kill "$IDLE_PID" 2>/dev/null || true; wait "$IDLE_PID" 2>/dev/null || true
sleep 2
record "idle connections closed"

summary() { cat "$1"; }
echo
echo "Soak of ${SOAK_SECONDS}s, $PROFILE build ($(git rev-parse --short HEAD)), $IDLE idle keep-alive connections, fixed-rate load $RATE req/s over 32 connections, two python http.server upstreams."
echo
echo "| phase | RSS (kB) | open fds |"
echo "|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "- load before the upstream restart: $(summary "$WORK/wrk1.txt")"
echo "- load while upstreams were dead: $(summary "$WORK/wrk-dead.txt")"
echo "- load after they came back: $(summary "$WORK/wrk2.txt")"
echo "- idle holder: $(cat "$WORK/idle.log")"
echo "- RSS (kB) / fds every 30 s: $(awk '{printf "%s%s/%s", (NR>1?", ":""), $2, $3}' "$WORK/series.txt")"

#!/usr/bin/env bash
# Soak: 1 000 idle keep-alive connections held open while wrk drives load through swarmgate for a
# bounded time; upstreams are killed and restarted half way. Records RSS and open fds of the
# swarmgate process at each phase and prints a Markdown table (append it to BENCHMARKS.md, section "Soak").
#
#   SOAK_SECONDS=600 bash bench/soak.sh        # default 600 s; not part of CI
#
# Needs: wrk, python3, a built binary (PROFILE=debug|release, default debug).
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS="${SOAK_SECONDS:-600}"
PROFILE="${PROFILE:-debug}"
IDLE="${IDLE:-1000}"
BIN="target/$PROFILE/swarmgate"
[ -x "$BIN" ] || cargo build $([ "$PROFILE" = release ] && echo --release) --bin swarmgate
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }

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
wrk -t2 -c32 -d"${HALF}s" "http://127.0.0.1:$PORT/" > "$WORK/wrk1.txt" || true
record "after ${HALF}s of load"

kill "$U1" "$U2"; wait "$U1" "$U2" 2>/dev/null || true
wrk -t2 -c32 -d10s "http://127.0.0.1:$PORT/" > "$WORK/wrk-dead.txt" || true
record "upstreams dead, 10s of load (502/503s)"
U1=$(start_upstream "$UP1"); U2=$(start_upstream "$UP2"); PIDS+=("$U1" "$U2")
sleep 2
REST=$(( SOAK_SECONDS - HALF - 12 )); [ "$REST" -gt 5 ] || REST=5
wrk -t2 -c32 -d"${REST}s" "http://127.0.0.1:$PORT/" > "$WORK/wrk2.txt" || true
record "upstreams back, after ${REST}s more load"
kill "$IDLE_PID" 2>/dev/null || true; wait "$IDLE_PID" 2>/dev/null || true
sleep 2
record "idle connections closed"

rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
errs() { awk '/Non-2xx|Socket errors/ {printf "%s; ", $0}' "$1"; }
echo
echo "Soak of ${SOAK_SECONDS}s, $PROFILE build, $IDLE idle keep-alive connections, wrk -t2 -c32, two python http.server upstreams."
echo
echo "| phase | RSS (kB) | open fds |"
echo "|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "- load before the upstream restart: $(rate "$WORK/wrk1.txt") req/s $(errs "$WORK/wrk1.txt")"
echo "- load while upstreams were dead: $(rate "$WORK/wrk-dead.txt") req/s $(errs "$WORK/wrk-dead.txt")"
echo "- load after they came back: $(rate "$WORK/wrk2.txt") req/s $(errs "$WORK/wrk2.txt")"
echo "- idle holder: $(cat "$WORK/idle.log")"
echo "- RSS (kB) / fds every 30 s: $(awk '{printf "%s%s/%s", (NR>1?", ":""), $2, $3}' "$WORK/series.txt")"

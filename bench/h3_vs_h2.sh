#!/usr/bin/env bash
# HTTP/3 vs HTTP/2 through swarmgate on the same TLS route (issue 25): requests/s and the CPU
# swarmgate spent per request, with examples/h3load.rs as the client for both protocols.
#
#   bash bench/h3_vs_h2.sh [PROFILE_DIR] [SECONDS] [CONNECTIONS] [STREAMS]
#
# PROFILE_DIR holds swarmgate, examples/h3load and examples/testbackend (default target/release:
# cargo build --release --bin swarmgate --example h3load --example testbackend). Ports 18960-18961
# on 127.0.0.1; everything started here is stopped at the end.
set -euo pipefail
dir="${1:-target/release}"; secs="${2:-10}"; conns="${3:-4}"; streams="${4:-16}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/a.key" \
  -out "$work/a.crt" -subj /CN=a.test -addext subjectAltName=DNS:a.test -days 2 2>/dev/null
cat >"$work/dynamic.yml" <<YAML
http:
  routers:
    secure: {rule: "Host(\`a.test\`)", service: app, tls: {}}
  services:
    app: {loadBalancer: {servers: [{url: "http://127.0.0.1:18960"}]}}
tls:
  certificates: [{certFile: "$work/a.crt", keyFile: "$work/a.key"}]
YAML
printf '[entryPoints.web]\naddress = "127.0.0.1:18961"\n[entryPoints.web.http3]\n[providers.file]\nfilename = "%s"\n' \
  "$work/dynamic.yml" >"$work/static.toml"
PORT=18960 "$dir/examples/testbackend" >/dev/null 2>&1 & pids+=($!)
"$dir/swarmgate" run --config "$work/static.toml" >"$work/swarmgate.log" 2>&1 & sg=$!; pids+=($sg)
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$sg/stat"; }
hz="$(getconf CLK_TCK)"
for proto in h2 h3 h2 h3; do
  before="$(ticks)"
  out="$(timeout $((secs + 30)) "$dir/examples/h3load" "$proto" 127.0.0.1:18961 a.test / "$conns" "$streams" "$secs")"
  after="$(ticks)"
  n="$(echo "$out" | awk '{print $2}')"
  echo "$out; swarmgate CPU $(( (after - before) * 1000 / hz )) ms = $(awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}') µs/request"
done

#!/usr/bin/env bash
# Starts a local Pebble ACME CA for tests/acme_pebble.rs, idempotently:
#   - installs Debian's `pebble` when missing,
#   - makes a TLS certificate for Pebble's own directory (localhost / 127.0.0.1) with openssl,
#   - runs pebble-challtestsrv as DNS server (every name → 127.0.0.1, port 8053),
#   - runs pebble (directory https://127.0.0.1:14000/dir, management https://127.0.0.1:15000;
#     one alternate root, PEBBLE_ALTERNATE_ROOTS=1, for preferredChain),
#     validating HTTP-01 on port 5002 and TLS-ALPN-01 on port 5001.
# State lives in ${PEBBLE_DIR:-/tmp/swarmgate-pebble}; `pebble-up.sh stop` stops both servers.
set -euo pipefail
DIR=${PEBBLE_DIR:-/tmp/swarmgate-pebble}
mkdir -p "$DIR"

stop() {
  for name in pebble challtestsrv; do
    if [ -f "$DIR/$name.pid" ]; then
      kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
      rm -f "$DIR/$name.pid"
    fi
  done
}

running() {
  [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null
}

if [ "${1:-}" = stop ]; then
  stop
  exit 0
fi

if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble openssl >/dev/null
fi

if [ ! -s "$DIR/ca.pem" ] || [ ! -s "$DIR/cert.pem" ]; then
  # A small CA (clients trust ca.pem) and Pebble's own server certificate signed by it.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=swarmgate test CA" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$DIR/key.pem" -out "$DIR/cert.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$DIR/ext.cnf"
  openssl x509 -req -in "$DIR/cert.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days 3650 -extfile "$DIR/ext.cnf" -out "$DIR/cert.pem" 2>/dev/null
fi

cat > "$DIR/pebble.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:14000",
    "managementListenAddress": "127.0.0.1:15000",
    "certificate": "$DIR/cert.pem",
    "privateKey": "$DIR/key.pem",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON

if ! running challtestsrv; then
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 '' -dns01 127.0.0.1:8053 \
    -http01 '' -https01 '' -tlsalpn01 '' -management 127.0.0.1:8055 \
    >"$DIR/challtestsrv.log" 2>&1 &
  echo $! >"$DIR/challtestsrv.pid"
fi
if ! running pebble; then
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_ALTERNATE_ROOTS=1 \
    pebble -config "$DIR/pebble.json" -dnsserver 127.0.0.1:8053 >"$DIR/pebble.log" 2>&1 &
  echo $! >"$DIR/pebble.pid"
fi

for _ in $(seq 1 50); do
  if curl -sf --cacert "$DIR/ca.pem" https://127.0.0.1:14000/dir >/dev/null 2>&1; then
    echo "pebble ready: https://127.0.0.1:14000/dir (CA for the directory: $DIR/ca.pem)"
    exit 0
  fi
  sleep 0.2
done
echo "pebble did not start; logs:" >&2
tail -20 "$DIR/pebble.log" "$DIR/challtestsrv.log" >&2
exit 1

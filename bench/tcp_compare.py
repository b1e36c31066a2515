#!/usr/bin/env python3
"""TCP proxying benchmark of issue 22, run by bench/tcp_compare.sh (which builds and checks tools).

swarmgate (release), HAProxy (`mode tcp`) and Traefik 3 (TCP router ``HostSNI(`*`)``) proxy one
echo backend (examples/tcpload.rs `echo`) on 127.0.0.1; `direct` is the backend without a proxy
(the load generator's ceiling). swarmgate and Traefik read the same Traefik static and dynamic
files. Each proxy runs on core PROXY_CORE; the backend and the load generator on LOAD_CORE.
Per round and target (rounds interleaved: A B C D, D C B A, ...):
  stream 1   one connection writes and reads at once for DURATION s -> MB/s echoed, CPU per MB
  stream 64  the same with 64 connections
  rate       RATE_CONNS workers: connect, 16 bytes, echo, close -> connections/s, CPU per connection
CPU is the proxy's utime + stime from /proc/<pid>/stat over the load run. Every load run is bounded
(its own deadline, and a subprocess timeout). Writes bench/results/tcp-latest.{json,md} and
bench/results/tcp-<commit>.json.
"""

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (Proc, machine, median: the HTTP comparison's process handling)

ROOT = compare.ROOT
WORK = os.path.join(ROOT, "bench", "work-tcp")
compare.WORK = WORK  # Proc writes its logs there
RESULTS = compare.RESULTS
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = float(os.environ.get("DURATION", "8"))
RATE_CONNS = int(os.environ.get("RATE_CONNS", "64"))
STREAM_CONNS = [int(c) for c in os.environ.get("STREAM_CONNS", "1,64").split(",")]
PROXY_CORE = compare.PROXY_CORE
LOAD_CORE = compare.LOAD_CORE
CLK_TCK = compare.CLK_TCK
TCPLOAD = os.environ.get("TCPLOAD_BIN", os.path.join(ROOT, "target/release/examples/tcpload"))

BACKEND_PORT = 19080
PORTS = {"swarmgate": 19081, "traefik": 19082, "haproxy": 19084, "swarmgate-b": 19085}


def log(msg):
    print(f"[tcp_compare] {msg}", file=sys.stderr, flush=True)


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def traefik_static(port):
    return f"""entryPoints:
  tcp:
    address: "127.0.0.1:{port}"
providers:
  file:
    filename: "{WORK}/dynamic.yml"
log:
  level: ERROR
"""


def dynamic():
    return f"""tcp:
  routers:
    all:
      rule: "HostSNI(`*`)"
      service: echo
      entryPoints: [tcp]
  services:
    echo:
      loadBalancer:
        servers:
          - address: "127.0.0.1:{BACKEND_PORT}"
"""


def haproxy_conf():
    # Defaults otherwise (16 KiB buffers, no splice), as a plain `mode tcp` setup ships.
    return f"""global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend tcp
  bind 127.0.0.1:{PORTS['haproxy']}
  default_backend echo
backend echo
  server b1 127.0.0.1:{BACKEND_PORT}
"""


def echo_ok(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"ready?\n")
            return s.recv(16) == b"ready?\n"
    except OSError:
        return False


def wait_echo(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if echo_ok(port):
            return True
        time.sleep(0.2)
    return False


def tcpload(mode, port, conns, seconds):
    argv = ["nice", "-n", compare.NICE, "taskset", "-c", LOAD_CORE, TCPLOAD, mode,
            f"127.0.0.1:{port}", str(conns), str(seconds)]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return {"ok": False, "raw": "timed out"}
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "raw": (r.stdout + r.stderr)[-600:]}
    data["ok"] = True
    return data


def measured(proc, mode, port, conns):
    """One load run, with the proxy's CPU over it."""
    before = proc.cpu_ticks() if proc else None
    res = tcpload(mode, port, conns, DURATION)
    after = proc.cpu_ticks() if proc else None
    if proc and res.get("ok"):
        user, system = ((a - b) / CLK_TCK for a, b in zip(after, before))
        res["cpu_user_s"], res["cpu_sys_s"] = user, system
        res["cpu_s"] = user + system
        if mode == "stream" and res["bytes_echoed"]:
            res["cpu_us_per_mb"] = res["cpu_s"] * 1e6 / (res["bytes_echoed"] / 1e6)
        if mode == "rate" and res["connections"]:
            res["cpu_us_per_conn"] = res["cpu_s"] * 1e6 / res["connections"]
    return res


def main():
    import shutil
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(RESULTS, exist_ok=True)
    only = os.environ.get("TARGETS", "direct,swarmgate,haproxy,traefik").split(",")
    if os.environ.get("SWARMGATE_B_BIN") and "swarmgate-b" not in only:
        only.append("swarmgate-b")
    started = time.time()
    procs = {}
    runs = {}
    try:
        procs["backend"] = compare.Proc("backend", [TCPLOAD, "echo", f"127.0.0.1:{BACKEND_PORT}"],
                                        LOAD_CORE)
        if not wait_echo(BACKEND_PORT):
            raise SystemExit(f"backend did not start; see {WORK}/backend.log")
        write("dynamic.yml", dynamic())
        starters = {
            "swarmgate": lambda: [os.environ["SWARMGATE_BIN"], "run",
                                  f"--configFile={write('swarmgate.yml', traefik_static(PORTS['swarmgate']))}"],
            # A second swarmgate binary (SWARMGATE_B_BIN, e.g. before a change) for an A/B run.
            "swarmgate-b": lambda: [os.environ["SWARMGATE_B_BIN"], "run",
                                    f"--configFile={write('swarmgate-b.yml', traefik_static(PORTS['swarmgate-b']))}"],
            "haproxy": lambda: ["haproxy", "-db", "-f", write("haproxy.cfg", haproxy_conf())],
            "traefik": lambda: [os.environ["TRAEFIK_BIN"],
                                f"--configFile={write('traefik.yml', traefik_static(PORTS['traefik']))}"],
        }
        targets = {"direct": BACKEND_PORT} if "direct" in only else {}
        for name, argv in starters.items():
            if name not in only:
                continue
            procs[name] = compare.Proc(name, argv(), PROXY_CORE)
            if not wait_echo(PORTS[name]):
                raise SystemExit(f"{name} does not echo through; see {WORK}/{name}.log")
            targets[name] = PORTS[name]
        log(f"targets: {targets}")

        for name, port in targets.items():  # warm-up: pools, caches, Go's heap
            tcpload("stream", port, 8, 1)
            tcpload("rate", port, RATE_CONNS, 1)

        runs = {name: [] for name in targets}
        order = list(targets)
        for rnd in range(ROUNDS):
            for name in (order if rnd % 2 == 0 else order[::-1]):
                port, proc = targets[name], procs.get(name)
                run = {"round": rnd}
                for conns in STREAM_CONNS:
                    run[f"stream{conns}"] = measured(proc, "stream", port, conns)
                run["rate"] = measured(proc, "rate", port, RATE_CONNS)
                runs[name].append(run)
                log(f"round {rnd} {name}: " + ", ".join(
                    f"{c} conn {run[f'stream{c}'].get('mb_s')} MB/s" for c in STREAM_CONNS)
                    + f", {run['rate'].get('conns_s')} conn/s")
        hwm = {name: procs[name].hwm_kib() for name in targets if name in procs}
    finally:
        for proc in procs.values():
            proc.stop()

    summary = {name: summarise(rs, hwm.get(name)) for name, rs in runs.items()}
    ratios = {}
    for base in ("haproxy", "traefik", "swarmgate-b"):
        if base in summary and "swarmgate" in summary:
            ratios[f"swarmgate_to_{base}"] = {
                k: (v / summary[base][k] if isinstance(v, (int, float)) and summary[base].get(k)
                    else None)
                for k, v in summary["swarmgate"].items()}
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": compare.machine(),
        "load_average_at_end": os.getloadavg(),
        "settings": {"rounds": ROUNDS, "duration_s": DURATION, "stream_conns": STREAM_CONNS,
                     "rate_conns": RATE_CONNS, "proxy_core": PROXY_CORE,
                     "loadgen_and_backend_core": LOAD_CORE, "nice": compare.NICE,
                     "mb": "10^6 bytes echoed (each crosses the proxy both ways)"},
        "versions": versions(),
        "summary": summary,
        "ratios": ratios,
        "goals": goals(summary),
        "runs": runs,
        "elapsed_s": round(time.time() - started, 1),
    }
    for name in ("tcp-latest.json", f"tcp-{result['commit']}.json"):
        with open(os.path.join(RESULTS, name), "w") as f:
            json.dump(result, f, indent=2)
    md = markdown(result)
    with open(os.path.join(RESULTS, "tcp-latest.md"), "w") as f:
        f.write(md)
    print(md)


def summarise(rs, hwm):
    def pick(kind, key):
        return compare.median([r[kind].get(key) for r in rs if r[kind].get("ok")])
    out = {}
    for c in STREAM_CONNS:
        out[f"mb_s_{c}"] = pick(f"stream{c}", "mb_s")
        out[f"cpu_us_per_mb_{c}"] = pick(f"stream{c}", "cpu_us_per_mb")
    out["conns_s"] = pick("rate", "conns_s")
    out["cpu_us_per_conn"] = pick("rate", "cpu_us_per_conn")
    out["conns_per_cpu_s"] = 1e6 / out["cpu_us_per_conn"] if out["cpu_us_per_conn"] else None
    out["rate_p50_ms"] = pick("rate", "p50_ms")
    out["rate_p99_ms"] = pick("rate", "p99_ms")
    out["errors"] = sum(r[k].get("errors", 0) for r in rs for k in r if k != "round") + sum(
        1 for r in rs for k in r if k != "round" and not r[k].get("ok"))
    out["peak_rss_kib"] = hwm
    return out


def goals(s):
    """Issue 22: HAProxy's throughput within 10 %, at least 3x Traefik's connections/s per CPU."""
    sg, hp, tr = s.get("swarmgate"), s.get("haproxy"), s.get("traefik")
    out = {}
    if sg and hp:
        for c in STREAM_CONNS:
            mb, cpu = f"mb_s_{c}", f"cpu_us_per_mb_{c}"
            if sg.get(mb) and hp.get(mb):
                out[f"throughput_{c}_vs_haproxy"] = {"ratio": sg[mb] / hp[mb],
                                                     "met": sg[mb] / hp[mb] >= 0.9}
            if sg.get(cpu) and hp.get(cpu):
                out[f"cpu_per_mb_{c}_vs_haproxy"] = {"ratio": sg[cpu] / hp[cpu],
                                                     "met": sg[cpu] / hp[cpu] <= 1.1}
    if sg and tr and sg.get("conns_per_cpu_s") and tr.get("conns_per_cpu_s"):
        ratio = sg["conns_per_cpu_s"] / tr["conns_per_cpu_s"]
        out["conns_per_cpu_vs_traefik"] = {"ratio": ratio, "met": ratio >= 3}
    return out


def commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True, timeout=10)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return r.stdout.strip() + ("-dirty" if dirty else "")


def versions():
    def first(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    return {"swarmgate": first([os.environ["SWARMGATE_BIN"], "version"]),
            "traefik": first([os.environ["TRAEFIK_BIN"], "version"]),
            "haproxy": first(["haproxy", "-v"]), "loadgen": "examples/tcpload.rs"}


def markdown(res):
    s = res["summary"]
    st = res["settings"]
    m = res["machine"]
    f = compare.fmt
    lines = [
        f"Run {res['date']} (commit {res['commit']}) on {m['nproc']} × {m['cpu']} (kernel "
        f"{m['kernel']}); load average at end "
        f"{', '.join(f'{x:.2f}' for x in res['load_average_at_end'])}. Medians of {st['rounds']} "
        f"interleaved rounds, {st['duration_s']:g} s per run; proxy on core {st['proxy_core']}, "
        f"backend and load generator on core {st['loadgen_and_backend_core']}. MB = 10^6 bytes "
        "echoed back (each crossed the proxy both ways); CPU = the proxy's user + system time.",
        "",
        "| target | " + " | ".join(f"MB/s {c} conn | CPU µs/MB {c} conn" for c in STREAM_CONNS)
        + f" | conn/s ({st['rate_conns']} workers) | CPU µs/conn | conn per CPU-s "
        "| p99 ms conn | errors | peak RSS MiB |",
        "|---|" + "---|" * (2 * len(STREAM_CONNS) + 6),
    ]
    for name, v in s.items():
        cells = []
        for c in STREAM_CONNS:
            cells += [f(v[f"mb_s_{c}"], 0), f(v[f"cpu_us_per_mb_{c}"], 0)]
        cells += [f(v["conns_s"], 0), f(v["cpu_us_per_conn"], 1), f(v["conns_per_cpu_s"], 0),
                  f(v["rate_p99_ms"], 2), str(v["errors"]),
                  f(v["peak_rss_kib"] / 1024, 1) if v["peak_rss_kib"] else "n/a"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for key, r in res["ratios"].items():
        parts = [f"{k} {v:.2f}×" for k, v in r.items()
                 if v is not None and k not in ("errors", "rate_p50_ms")]
        lines.append(f"- {key.replace('_', ' ')}: " + ", ".join(parts))
    lines.append("")
    for key, g in res["goals"].items():
        lines.append(f"- goal {key}: {g['ratio']:.2f}× — {'met' if g['met'] else 'NOT met'}")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

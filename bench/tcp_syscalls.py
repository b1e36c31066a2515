#!/usr/bin/env python3
"""Syscalls per TCP session (issue 22): swarmgate, HAProxy and Traefik under `strace -c -f`.

Same setup as bench/tcp_compare.py (same configs, echo backend, cores): per target, `strace -c -f`
is attached to the proxy (all its threads), `tcpload rate` runs CONNS workers for SECONDS (connect,
16 bytes, echo, close), strace is stopped, and its counts are divided by the sessions tcpload
completed. strace slows the proxy down a lot, so calls whose number depends on batching
(epoll_wait, futex, sched_yield) are inflated against a free run; the per-session calls (socket,
connect, accept4, setsockopt, getsockopt, getsockname, shutdown, close, read/write) are not.

  python3 bench/tcp_syscalls.py    (after bench/tcp_compare.sh built swarmgate and tcpload;
                                    SWARMGATE_BIN, TCPLOAD_BIN, TRAEFIK_BIN as there)

Knobs: TARGETS [swarmgate,haproxy,traefik], SECONDS_PER_RUN [3], CONNS [8], SWARMGATE_B_BIN adds
swarmgate-b. Writes bench/results/tcp-syscalls-latest.{json,md}. Every run is bounded (tcpload's
deadline, strace is interrupted after it, subprocess timeouts).
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import tcp_compare as tc  # noqa: E402

SECONDS = float(os.environ.get("SECONDS_PER_RUN", "3"))
CONNS = int(os.environ.get("CONNS", "8"))


def parse_strace_c(text):
    """{syscall: calls} and {syscall: errors} from `strace -c` output."""
    calls, errors = {}, {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0].replace(".", "").isdigit():
            continue
        name = parts[-1]
        if name == "total":
            continue
        try:
            calls[name] = int(parts[3])
            if len(parts) == 6:
                errors[name] = int(parts[4])
        except ValueError:
            continue
    return calls, errors


def traced(proc, port, name):
    out = os.path.join(tc.WORK, f"strace-{name}.txt")
    pid = proc.pids()[-1]  # nginx-like trees: the worker; here one process each
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    res = tc.tcpload("rate", port, CONNS, SECONDS)
    st.send_signal(signal.SIGINT)
    try:
        st.wait(timeout=20)
    except subprocess.TimeoutExpired:
        st.kill()
        st.wait(timeout=5)
    with open(out) as f:
        calls, errors = parse_strace_c(f.read())
    sessions = res.get("connections") or 0
    return {"sessions": sessions, "conns_s": res.get("conns_s"), "calls": calls,
            "errors": errors,
            "per_session": {k: v / sessions for k, v in calls.items()} if sessions else {}}


def main():
    import shutil
    os.environ.setdefault("SWARMGATE_BIN", os.path.join(tc.ROOT, "target/release/swarmgate"))
    os.environ.setdefault("TRAEFIK_BIN", "/work/venv-traefik/bin/traefik")
    shutil.rmtree(tc.WORK, ignore_errors=True)
    os.makedirs(tc.WORK)
    only = os.environ.get("TARGETS", "swarmgate,haproxy,traefik").split(",")
    if os.environ.get("SWARMGATE_B_BIN") and "swarmgate-b" not in only:
        only.append("swarmgate-b")
    procs, results = {}, {}
    try:
        procs["backend"] = compare.Proc("backend", [tc.TCPLOAD, "echo",
                                                    f"127.0.0.1:{tc.BACKEND_PORT}"], tc.LOAD_CORE)
        if not tc.wait_echo(tc.BACKEND_PORT):
            raise SystemExit("backend did not start")
        tc.write("dynamic.yml", tc.dynamic())
        starters = {
            "swarmgate": lambda: [os.environ["SWARMGATE_BIN"], "run", "--configFile="
                                  + tc.write("swarmgate.yml", tc.traefik_static(tc.PORTS["swarmgate"]))],
            "swarmgate-b": lambda: [os.environ["SWARMGATE_B_BIN"], "run", "--configFile="
                                    + tc.write("swarmgate-b.yml",
                                               tc.traefik_static(tc.PORTS["swarmgate-b"]))],
            "haproxy": lambda: ["haproxy", "-db", "-f", tc.write("haproxy.cfg", tc.haproxy_conf())],
            "traefik": lambda: [os.environ["TRAEFIK_BIN"], "--configFile="
                                + tc.write("traefik.yml", tc.traefik_static(tc.PORTS["traefik"]))],
        }
        for name in only:
            procs[name] = compare.Proc(name, starters[name](), tc.PROXY_CORE)
            if not tc.wait_echo(tc.PORTS[name]):
                raise SystemExit(f"{name} does not echo through; see {tc.WORK}/{name}.log")
            tc.tcpload("rate", tc.PORTS[name], CONNS, 1)  # warm-up
        for name in only:
            results[name] = traced(procs[name], tc.PORTS[name], name)
            r = results[name]
            tc.log(f"{name}: {r['sessions']} sessions, "
                   f"{sum(r['calls'].values()) / max(r['sessions'], 1):.1f} syscalls/session")
    finally:
        for proc in procs.values():
            proc.stop()
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "commit": tc.commit(), "machine": compare.machine(),
              "settings": {"seconds": SECONDS, "conns": CONNS}, "targets": results}
    os.makedirs(tc.RESULTS, exist_ok=True)
    with open(os.path.join(tc.RESULTS, "tcp-syscalls-latest.json"), "w") as f:
        json.dump(result, f, indent=2)
    names = sorted({k for r in results.values() for k in r["calls"]},
                   key=lambda k: -max(r["per_session"].get(k, 0) for r in results.values()))
    lines = ["| syscall | " + " | ".join(results) + " |",
             "|---|" + "---|" * len(results)]
    for k in names:
        row = [f"{r['per_session'].get(k, 0):.2f}" for r in results.values()]
        if any(float(x) >= 0.01 for x in row):
            lines.append(f"| {k} | " + " | ".join(row) + " |")
    lines.append("| **total** | " + " | ".join(
        f"**{sum(r['per_session'].values()):.1f}**" for r in results.values()) + " |")
    lines.append("| sessions traced | " + " | ".join(str(r["sessions"]) for r in results.values())
                 + " |")
    md = "\n".join(lines) + "\n"
    with open(os.path.join(tc.RESULTS, "tcp-syscalls-latest.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()

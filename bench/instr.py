#!/usr/bin/env python3
"""User-space instructions per proxied request of one or more swarmgate binaries, counted by
valgrind's callgrind: a number the other load on a shared machine does not move (req/s and CPU
time do). Used for "no regression" checks between commits (see BENCHMARKS.md, "Restructure
check"); bench/ab.py gives the paired req/s rounds that go with it.

Why callgrind and not `perf stat -e instructions:u`: the build VMs (Firecracker) expose no
hardware counters (`perf stat -e instructions:u true` says `<not supported>`).

Same backend, routes and swarmgate configuration as bench/ab.py:
  plain     PathPrefix(/api) + stripPrefix -> nginx backend, 23-byte body, HTTP/1.1 keep-alive
  compress  PathPrefix(/zip) + compress, Accept-Encoding: gzip, 2000-byte text gzip-encoded
Per binary, repetition and route: swarmgate runs under `valgrind --tool=callgrind` on PROXY_CORE,
a warm-up of WARMUP requests (`h2load --h1 -c CONNS`, fixed count) opens the client and upstream
connections, `callgrind_control --dump` closes the warm-up interval, then exactly REQUESTS
requests, a second dump, and the instructions (Ir) of that second interval divided by the requests
h2load saw succeed (all must be 2xx). Everything runs on 127.0.0.1; every step has a timeout.

Env: BINS="label=path label=path ..." (required), REPEAT [2], REQUESTS [20000] (plain),
COMPRESS_REQUESTS [5000], WARMUP [2000], CONNS [10], AB_PORT [28080], PROXY_CORE [0],
LOAD_CORE [1], ROUTES [plain,compress], KEEP_DUMPS [unset: a directory to keep each measured
interval's callgrind dump in, as callgrind.<label>.<route>, for callgrind_annotate]. Writes bench/results/instr.json (or INSTR_OUT).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab  # noqa: E402  (backend and swarmgate configuration, routes)
import compare  # noqa: E402  (Proc, pinning, wait_ready)
from compare import LOAD_CORE, PROXY_CORE, WORK  # noqa: E402

REPEAT = int(os.environ.get("REPEAT", "2"))
REQUESTS = {"plain": int(os.environ.get("REQUESTS", "20000")),
            "compress": int(os.environ.get("COMPRESS_REQUESTS", "5000"))}
WARMUP = int(os.environ.get("WARMUP", "2000"))
CONNS = int(os.environ.get("CONNS", "10"))
ROUTE_NAMES = os.environ.get("ROUTES", "plain,compress").split(",")
PORT = ab.PROXIES["A"]
KEEP = os.environ.get("KEEP_DUMPS")


def h2load(path, extra, n, timeout):
    r = compare.loadgen(["h2load", "--h1", f"-c{CONNS}", f"-n{n}", *extra,
                         f"http://127.0.0.1:{PORT}{path}"], timeout)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", r.stdout)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", r.stdout)
    if not m or not codes or int(m.group(4)) != n or int(codes.group(1)) != n:
        raise SystemExit(f"h2load {path} did not complete {n} requests:\n{r.stdout}{r.stderr}")
    return n


def dump(pid, before):
    """Ask callgrind to dump (and zero) its counters; return the new dump file's total Ir."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True, timeout=120)
    deadline = time.time() + 120
    while time.time() < deadline:
        new = sorted(set(glob.glob(os.path.join(WORK, f"callgrind.out.{pid}*"))) - before)
        for path in new:
            with open(path) as f:
                text = f.read()
            m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if m:
                return path, int(m.group(1))
        time.sleep(0.5)
    raise SystemExit(f"no callgrind dump from {pid}")


def memcpy_ir(path):
    """Ir spent in libc's memcpy/memmove (callgrind counts a `rep movsb` once per byte, so a copy
    above glibc's rep-movsb threshold, about 4 KB here, weighs far more than it costs)."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True,
                         text=True, timeout=300).stdout
    return sum(int(m.group(1).replace(",", ""))
               for m in re.finditer(r"^\s*([\d,]+) \(.*:__(?:memcpy|memmove)\w*", out, re.M))


def measure(binary, label, route):
    path, extra = ab.ROUTES[route]
    conf = compare.write("instr.toml", ab.swarmgate_conf(PORT))
    proc = compare.Proc(f"instr-{label}", [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={WORK}/callgrind.out.%p",
        binary, "run", "--config", conf], PROXY_CORE)
    try:
        if not compare.wait_ready(PORT, path, timeout=120):
            raise SystemExit(f"{label} does not serve {path} under valgrind; see {WORK}/instr-{label}.log")
        h2load(path, extra, WARMUP, 600)
        before = set(glob.glob(os.path.join(WORK, f"callgrind.out.{proc.popen.pid}*")))
        first, _ = dump(proc.popen.pid, before)
        before.add(first)
        n = h2load(path, extra, REQUESTS[route], 1800)
        measured, ir = dump(proc.popen.pid, before)
        if KEEP:  # for callgrind_annotate
            os.makedirs(KEEP, exist_ok=True)
            shutil.copy(measured, os.path.join(KEEP, f"callgrind.{label}.{route}"))
        return ir / n, (ir - memcpy_ir(measured)) / n
    finally:
        proc.stop()
        for f in glob.glob(os.path.join(WORK, f"callgrind.out.{proc.popen.pid}*")):
            os.remove(f)


def main():
    bins = [b.split("=", 1) for b in os.environ["BINS"].split()]
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(compare.RESULTS, exist_ok=True)
    started = time.time()
    results = {label: {route: [] for route in ROUTE_NAMES} for label, _ in bins}
    no_memcpy = {label: {route: [] for route in ROUTE_NAMES} for label, _ in bins}
    backend = compare.Proc("ab-backend", ["nginx", "-c", compare.write("ab-backend.conf",
                                                                       ab.backend_conf())],
                           LOAD_CORE)
    try:
        if not compare.wait_ready(ab.BACKEND, "/"):
            raise SystemExit("backend did not start")
        for rep in range(REPEAT):
            order = bins if rep % 2 == 0 else list(reversed(bins))
            for label, binary in order:
                for route in ROUTE_NAMES:
                    per_req, rest = measure(binary, label, route)
                    results[label][route].append(per_req)
                    no_memcpy[label][route].append(rest)
                    compare.log(f"rep {rep} {label} {route}: {per_req:.0f} instructions/request, "
                                f"{rest:.0f} outside memcpy")
    finally:
        backend.stop()
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": compare.machine(),
        "method": "valgrind --tool=callgrind, Ir between two callgrind_control dumps / requests",
        "settings": {"requests": REQUESTS, "warmup": WARMUP, "conns": CONNS, "repeat": REPEAT,
                     "proxy_core": PROXY_CORE, "load_core": LOAD_CORE},
        "binaries": dict(bins),
        "instructions_per_request": results,
        "instructions_per_request_outside_memcpy": no_memcpy,
        "elapsed_s": round(time.time() - started, 1),
    }
    with open(os.environ.get("INSTR_OUT", os.path.join(compare.RESULTS, "instr.json")), "w") as f:
        json.dump(out, f, indent=2)
    first = bins[0][0]
    print("| binary | " + " | ".join(f"{r} instr/req (runs)" for r in ROUTE_NAMES)
          + " | " + " | ".join(f"{r} vs {first}" for r in ROUTE_NAMES)
          + " | " + " | ".join(f"{r} outside memcpy" for r in ROUTE_NAMES) + " |")
    print("|---" * (1 + 3 * len(ROUTE_NAMES)) + "|")
    for label, _ in bins:
        cells, rel = [], []
        for route in ROUTE_NAMES:
            runs = results[label][route]
            mean = sum(runs) / len(runs)
            base = sum(results[first][route]) / len(results[first][route])
            cells.append(f"{mean:,.0f} ({', '.join(f'{v:,.0f}' for v in runs)})")
            rel.append(f"{(mean / base - 1) * 100:+.1f} %")
        rest = [f"{sum(no_memcpy[label][r]) / len(no_memcpy[label][r]):,.0f}" for r in ROUTE_NAMES]
        print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(rel) + " | "
              + " | ".join(rest) + " |")


if __name__ == "__main__":
    main()

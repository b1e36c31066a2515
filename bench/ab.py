#!/usr/bin/env python3
"""A/B of two swarmgate binaries on the same routes, with bench/compare.py's backend, pinning and
load runs: is B slower than A? Used for "no regression" checks of a restructure.

Both proxies run at once, pinned to PROXY_CORE (only the one under load is busy); the nginx backend
and wrk share LOAD_CORE. Rounds interleave the binaries (A B, then B A, ...) so that a noisy
neighbour hurts both alike; each round runs, per binary and route, one wrk of DURATION seconds
(bounded by a timeout of DURATION + 30 s). Routes:
  plain     PathPrefix(/api) + stripPrefix -> backend, 23-byte body, HTTP/1.1 keep-alive
  compress  PathPrefix(/zip) + compress -> backend /zip/ (a 2000-byte text; nginx takes no longer `return` string), wrk sending
            Accept-Encoding: gzip (every answer gzip-encoded by the proxy)
Prints, per route, each binary's median req/s and CPU µs per request, and B/A: the per-round ratio
of requests/s (paired within a round), its median and its spread (min..max). Writes
bench/results/ab.json. Traffic stays on 127.0.0.1.

Env: A_BIN, B_BIN (required), ROUNDS [6], DURATION [8], CONNS [50], AB_PORT [28080] (backend;
the proxies take the next two ports), PROXY_CORE [0], LOAD_CORE [1], NICE [-10].
"""

import json
import os
import re
import statistics
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the backend, Proc, pinning and load helpers)
from compare import CLK_TCK, CONNS, DURATION, LOAD_CORE, PROXY_CORE, WORK  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "6"))
BASE_PORT = int(os.environ.get("AB_PORT", "28080"))
BACKEND = BASE_PORT
PROXIES = {"A": BASE_PORT + 1, "B": BASE_PORT + 2}
BIG = ("swarmgate benchmark body, compressible text. " * 46)[:2000]
ROUTES = {
    "plain": ("/api/hello", []),
    "compress": ("/zip/hello", ["-H", "Accept-Encoding: gzip"]),
}


def backend_conf():
    return f"""worker_processes 1;
daemon off;
pid {WORK}/ab-backend.pid;
error_log {WORK}/ab-backend.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{
    listen 127.0.0.1:{BACKEND};
    location /zip/ {{ default_type text/plain; return 200 "{BIG}"; }}
    location / {{ default_type text/plain; return 200 "{compare.BODY.strip()}\\n"; }}
  }}
}}
"""


def swarmgate_conf(port):
    return f"""[entryPoints.web]
address = "127.0.0.1:{port}"

[log]
level = "ERROR"

[dynamic.http.routers.api]
rule = "PathPrefix(`/api`)"
service = "backend"
middlewares = ["strip"]
entryPoints = ["web"]

[dynamic.http.routers.zip]
rule = "PathPrefix(`/zip`)"
service = "backend"
middlewares = ["gzip"]
entryPoints = ["web"]

[dynamic.http.middlewares.strip.stripPrefix]
prefixes = ["/api"]

[dynamic.http.middlewares.gzip.compress]
encodings = ["gzip"]

[[dynamic.http.services.backend.loadBalancer.servers]]
url = "http://127.0.0.1:{BACKEND}"
"""


def wrk(port, path, extra):
    r = compare.loadgen(["wrk", "-t1", f"-c{CONNS}", f"-d{DURATION}s", *extra,
                         f"http://127.0.0.1:{port}{path}"], DURATION + 30)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    total = re.search(r"(\d+) requests in", r.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if not rps or not total or errors:
        raise SystemExit(f"wrk on {port}{path} failed:\n{r.stdout}{r.stderr}")
    return float(rps.group(1)), int(total.group(1))


def gzip_answer(port):
    r = compare.subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-D", "-",
         "-H", "Accept-Encoding: gzip", f"http://127.0.0.1:{port}/zip/hello"],
        capture_output=True, text=True, timeout=10)
    return r.stdout


def main():
    a_bin, b_bin = os.environ["A_BIN"], os.environ["B_BIN"]
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(compare.RESULTS, exist_ok=True)
    procs = {}
    runs = {route: {"A": [], "B": []} for route in ROUTES}
    started = time.time()
    try:
        procs["backend"] = compare.Proc(
            "ab-backend", ["nginx", "-c", compare.write("ab-backend.conf", backend_conf())],
            LOAD_CORE)
        if not compare.wait_ready(BACKEND, "/"):
            raise SystemExit("backend did not start")
        for name, binary in (("A", a_bin), ("B", b_bin)):
            conf = compare.write(f"ab-{name}.toml", swarmgate_conf(PROXIES[name]))
            procs[name] = compare.Proc(f"ab-{name}", [binary, "run", "--config", conf], PROXY_CORE)
            for path, _ in ROUTES.values():
                if not compare.wait_ready(PROXIES[name], path):
                    raise SystemExit(f"{name} does not serve {path}; see {WORK}/ab-{name}.log")
            answer = gzip_answer(PROXIES[name]).lower()
            if "content-encoding: gzip" not in answer:
                raise SystemExit(f"{name} does not compress /zip:\n{answer}")
        for name in ("A", "B"):  # warm-up: connections and pools
            for path, extra in ROUTES.values():
                compare.loadgen(["wrk", "-t1", f"-c{CONNS}", "-d2s", *extra,
                                 f"http://127.0.0.1:{PROXIES[name]}{path}"], 30)
        for rnd in range(ROUNDS):
            order = ("A", "B") if rnd % 2 == 0 else ("B", "A")
            for route, (path, extra) in ROUTES.items():
                for name in order:
                    before = sum(procs[name].cpu_ticks())
                    rps, total = wrk(PROXIES[name], path, extra)
                    cpu = (sum(procs[name].cpu_ticks()) - before) / CLK_TCK * 1e6 / total
                    runs[route][name].append({"round": rnd, "rps": rps, "cpu_us_per_req": cpu})
                    compare.log(f"round {rnd} {route} {name}: {rps:.0f} req/s, {cpu:.1f} µs CPU/req")
    finally:
        for proc in procs.values():
            proc.stop()

    summary = {}
    for route, by in runs.items():
        ratios = [b["rps"] / a["rps"] for a, b in zip(by["A"], by["B"])]
        cpu_ratios = [b["cpu_us_per_req"] / a["cpu_us_per_req"] for a, b in zip(by["A"], by["B"])]
        summary[route] = {
            "A_rps": statistics.median(r["rps"] for r in by["A"]),
            "B_rps": statistics.median(r["rps"] for r in by["B"]),
            "A_cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in by["A"]),
            "B_cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in by["B"]),
            "rps_ratio_B_over_A": {"median": statistics.median(ratios), "min": min(ratios),
                                   "max": max(ratios), "rounds": ratios},
            "cpu_ratio_B_over_A": {"median": statistics.median(cpu_ratios),
                                   "min": min(cpu_ratios), "max": max(cpu_ratios)},
        }
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": compare.machine(),
        "load_average_at_end": os.getloadavg(),
        "settings": {"rounds": ROUNDS, "duration_s": DURATION, "conns": CONNS,
                     "proxy_core": PROXY_CORE, "loadgen_and_backend_core": LOAD_CORE,
                     "nice": compare.NICE},
        "binaries": {"A": a_bin, "B": b_bin},
        "summary": summary,
        "runs": runs,
        "elapsed_s": round(time.time() - started, 1),
    }
    with open(os.path.join(compare.RESULTS, "ab.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"| route | A req/s | B req/s | B/A req/s median (min..max, {ROUNDS} rounds) "
          f"| A CPU µs/req | B CPU µs/req |")
    print("|---|---|---|---|---|---|")
    for route, s in summary.items():
        r = s["rps_ratio_B_over_A"]
        print(f"| {route} | {s['A_rps']:.0f} | {s['B_rps']:.0f} | {r['median']:.3f} "
              f"({r['min']:.3f}..{r['max']:.3f}) | {s['A_cpu_us_per_req']:.1f} "
              f"| {s['B_cpu_us_per_req']:.1f} |")


if __name__ == "__main__":
    main()

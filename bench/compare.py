#!/usr/bin/env python3
"""Runs the proxy comparison described in bench/compare.sh (which installs the tools first).

Every peer proxies PathPrefix(/api) + strip prefix to one nginx backend on 127.0.0.1 that returns
a fixed small body. Targets are interleaved over ROUNDS rounds; each round runs, per target:
  wrk     HTTP/1.1 keep-alive, CONNS connections, DURATION s      -> requests/s, proxy CPU/request
  h2load  HTTP/2 cleartext prior knowledge (h2c), CONNS x 10 streams -> requests/s (when supported)
  fixed   fixed RATE req/s, CONNS connections, latency from the intended send time -> p50/p99/p99.9
          (examples/fixed_rate.rs; or oha -q --latency-correction when OHA_BIN is set)
The proxy runs on core 0, the load generator and the backend on core 1 (taskset).
Writes bench/results/latest.json and bench/results/latest.md. Traffic stays on 127.0.0.1.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work")
RESULTS = os.path.join(ROOT, "bench", "results")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = int(os.environ.get("DURATION", "10"))
RATE = int(os.environ.get("RATE", "2000"))
CONNS = int(os.environ.get("CONNS", "50"))
PROXY_CORE = os.environ.get("PROXY_CORE", "0")
LOAD_CORE = os.environ.get("LOAD_CORE", "1")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Every benchmarked process (proxies, backend, load generators) runs at this niceness, the same for
# all, so that other work on a shared machine disturbs the measurement less.
NICE = os.environ.get("NICE", "-10")

BACKEND_PORT = 18080
PORTS = {"swarmgate": 18081, "traefik": 18082, "nginx": 18083, "haproxy": 18084,
         "swarmgate+obs": 18085, "traefik+obs": 18086}
NGINX_H2_PORT = 18093  # nginx 1.22 cannot serve h1 and h2c prior knowledge on one port
PATH = "/api/hello"
BODY = "hello from the backend\n"


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# --- configurations -------------------------------------------------------------------------

def backend_conf():
    return f"""worker_processes 1;
daemon off;
pid {WORK}/backend.pid;
error_log {WORK}/backend.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {{
    listen 127.0.0.1:{BACKEND_PORT} http2;
    location / {{ default_type text/plain; return 200 "{BODY.strip()}\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{BACKEND_PORT + 100};
    location / {{ default_type text/plain; return 200 "{BODY.strip()}\\n"; }}
  }}
}}
"""


def collector():
    """Where the `+obs` targets send their spans: the backend nginx answers 200 to any POST."""
    return f"http://127.0.0.1:{BACKEND_PORT + 100}/v1/traces"


def swarmgate_obs_conf():
    """swarmgate with Traefik's observability on: a JSON access log to a file and every request
    traced (sampleRate 1, OTLP over HTTP) -- issue 23's "tracing and logging on" cost."""
    return swarmgate_conf("swarmgate+obs") + f"""
[accessLog]
filePath = "{WORK}/swarmgate-access.json"
format = "json"

[tracing]
sampleRate = 1.0

[tracing.otlp.http]
endpoint = "{collector()}"
"""


def swarmgate_conf(name="swarmgate"):
    return f"""[entryPoints.web]
address = "127.0.0.1:{PORTS[name]}"

[log]
level = "ERROR"

[dynamic.http.routers.api]
rule = "PathPrefix(`/api`)"
service = "backend"
middlewares = ["strip"]
entryPoints = ["web"]

[dynamic.http.middlewares.strip.stripPrefix]
prefixes = ["/api"]

[[dynamic.http.services.backend.loadBalancer.servers]]
url = "http://127.0.0.1:{BACKEND_PORT + 100}"
"""


def traefik_static(name="traefik"):
    return f"""entryPoints:
  web:
    address: "127.0.0.1:{PORTS[name]}"
providers:
  file:
    filename: "{WORK}/traefik-dynamic.yml"
log:
  level: ERROR
"""


def traefik_obs_static():
    """Traefik with the same access log and tracing as `swarmgate_obs_conf`."""
    return traefik_static("traefik+obs") + f"""accessLog:
  filePath: "{WORK}/traefik-access.json"
  format: json
tracing:
  sampleRate: 1.0
  otlp:
    http:
      endpoint: "{collector()}"
"""


def traefik_dynamic():
    return f"""http:
  routers:
    api:
      rule: "PathPrefix(`/api`)"
      service: backend
      middlewares: [strip]
      entryPoints: [web]
  middlewares:
    strip:
      stripPrefix:
        prefixes: ["/api"]
  services:
    backend:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:{BACKEND_PORT + 100}"
"""


def nginx_conf():
    server = """
    location /api/ { proxy_pass http://backend/; }
    location = /api { proxy_pass http://backend/; }
"""
    return f"""worker_processes 1;
daemon off;
pid {WORK}/nginx.pid;
error_log {WORK}/nginx.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  upstream backend {{ server 127.0.0.1:{BACKEND_PORT + 100}; keepalive 128; keepalive_requests 1000000; }}
  server {{ listen 127.0.0.1:{PORTS['nginx']}; {server} }}
  server {{ listen 127.0.0.1:{NGINX_H2_PORT} http2; {server} }}
}}
"""


def haproxy_conf():
    return f"""global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  option forwardfor
frontend web
  bind 127.0.0.1:{PORTS['haproxy']}
  acl api path_beg /api
  http-request replace-path ^/api/?(.*) /\\1 if api
  default_backend backend
backend backend
  http-reuse always
  server b1 127.0.0.1:{BACKEND_PORT + 100}
"""


# --- processes ------------------------------------------------------------------------------

class Proc:
    def __init__(self, name, argv, core):
        self.name = name
        out = open(os.path.join(WORK, f"{name}.log"), "w")
        self.popen = subprocess.Popen(
            ["nice", "-n", NICE, "taskset", "-c", core] + argv, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)

    def pids(self):
        """The process and its descendants (nginx master + worker)."""
        found, todo = [], [self.popen.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo.extend(int(p) for p in f.read().split())
            except OSError:
                pass
        return found

    def cpu_ticks(self):
        """(user, system) clock ticks of the process tree."""
        user = system = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                user += int(fields[11])  # utime
                system += int(fields[12])  # stime
            except OSError:
                pass
        return user, system

    def hwm_kib(self):
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self):
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_ready(port, path=PATH, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True)
        if r.stdout == "200":
            return True
        time.sleep(0.2)
    return False


def check_body(port, h2=False):
    argv = ["curl", "-s", f"http://127.0.0.1:{port}{PATH}"]
    if h2:
        argv.insert(2, "--http2-prior-knowledge")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return r.stdout == BODY


# --- load runs ------------------------------------------------------------------------------

def loadgen(argv, timeout):
    return subprocess.run(["nice", "-n", NICE, "taskset", "-c", LOAD_CORE] + argv, capture_output=True, text=True,
                          timeout=timeout)


def run_wrk(port):
    r = loadgen(["wrk", "-t1", f"-c{CONNS}", f"-d{DURATION}s", "--latency",
                 f"http://127.0.0.1:{port}{PATH}"], DURATION + 30)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    total = re.search(r"(\d+) requests in", r.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    sock = re.search(r"Socket errors: (.*)", r.stdout)
    if not rps or not total:
        return {"ok": False, "raw": r.stdout + r.stderr}
    return {"ok": True, "rps": float(rps.group(1)), "requests": int(total.group(1)),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sock.group(1) if sock else None}


def run_h2load(port):
    r = loadgen(["h2load", "-t1", f"-c{CONNS}", "-m10", f"-D{DURATION}",
                 f"http://127.0.0.1:{port}{PATH}"], DURATION + 30)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", r.stdout)
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed",
                     r.stdout)
    status = re.search(r"status codes: (\d+) 2xx", r.stdout)
    if not rps or not done or int(done.group(1)) == 0 or not status or int(status.group(1)) == 0:
        return {"ok": False, "raw": (r.stdout + r.stderr)[-600:]}
    return {"ok": True, "rps": float(rps.group(1)), "requests": int(status.group(1)),
            "failed": int(done.group(2))}


def run_fixed(port):
    """Fixed-rate latency run: oha when OHA_BIN is set, else swarmgate's own probe."""
    if os.environ.get("OHA_BIN"):
        return run_oha(port)
    probe = os.environ.get("FIXED_RATE_BIN")
    if not probe or not os.path.exists(probe):
        return {"ok": False, "raw": "fixed_rate probe not built"}
    r = loadgen([probe, f"http://127.0.0.1:{port}{PATH}", str(RATE), str(CONNS), str(DURATION)],
                DURATION + 30)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "raw": (r.stdout + r.stderr)[-600:]}
    total = data["requests"] + data["errors"]
    return {"ok": True, "rps": data["rps"],
            "success_rate": data["ok"] / total if total else 0.0,
            "p50_ms": data["p50_ms"], "p99_ms": data["p99_ms"], "p999_ms": data["p999_ms"],
            "status": {"2xx": data["ok"], "non2xx": data["non2xx"], "errors": data["errors"]}}


def run_oha(port):
    oha = os.environ.get("OHA_BIN")
    if not oha or not os.path.exists(oha):
        return {"ok": False, "raw": "oha not installed"}
    r = loadgen([oha, "--no-tui", "--output-format", "json", "-c", str(CONNS), "-q", str(RATE),
                 "-z", f"{DURATION}s", "--latency-correction", f"http://127.0.0.1:{port}{PATH}"],
                DURATION + 30)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"ok": False, "raw": (r.stdout + r.stderr)[-600:]}
    pct = data.get("latencyPercentiles", {})
    summary = data.get("summary", {})
    codes = data.get("statusCodeDistribution", {})
    return {"ok": True, "rps": summary.get("requestsPerSec"),
            "success_rate": summary.get("successRate"),
            "p50_ms": pct.get("p50", 0) * 1000, "p99_ms": pct.get("p99", 0) * 1000,
            "p999_ms": pct.get("p99.9", 0) * 1000, "status": codes}


# --- main -----------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(RESULTS, exist_ok=True)
    only = os.environ.get(
        "TARGETS", "direct,swarmgate,traefik,nginx,haproxy,swarmgate+obs,traefik+obs").split(",")
    started = time.time()
    procs = {}
    try:
        procs["backend"] = Proc("backend", ["nginx", "-c", write("backend.conf", backend_conf())],
                                LOAD_CORE)
        if not wait_ready(BACKEND_PORT + 100):
            raise SystemExit("backend did not start")
        targets = {"direct": BACKEND_PORT + 100}
        starters = {
            "swarmgate": lambda: [os.environ["SWARMGATE_BIN"], "run", "--config",
                                  write("swarmgate.toml", swarmgate_conf())],
            "traefik": lambda: (write("traefik-dynamic.yml", traefik_dynamic()),
                                [os.environ["TRAEFIK_BIN"],
                                 f"--configFile={write('traefik.yml', traefik_static())}"])[1],
            "nginx": lambda: ["nginx", "-c", write("nginx.conf", nginx_conf())],
            "haproxy": lambda: ["haproxy", "-db", "-f", write("haproxy.cfg", haproxy_conf())],
            "swarmgate+obs": lambda: [os.environ["SWARMGATE_BIN"], "run", "--config",
                                      write("swarmgate-obs.toml", swarmgate_obs_conf())],
            "traefik+obs": lambda: (write("traefik-dynamic.yml", traefik_dynamic()),
                                    [os.environ["TRAEFIK_BIN"],
                                     f"--configFile={write('traefik-obs.yml', traefik_obs_static())}"])[1],
        }
        for name, argv in starters.items():
            if name not in only:
                continue
            procs[name] = Proc(name, argv(), PROXY_CORE)
            if not wait_ready(PORTS[name]):
                raise SystemExit(f"{name} did not start; see {WORK}/{name}.log")
            if not check_body(PORTS[name]):
                raise SystemExit(f"{name} answers the wrong body")
            targets[name] = PORTS[name]
        targets = {k: v for k, v in targets.items() if k in only}
        h2_ports = dict(targets)
        h2_ports["direct"] = BACKEND_PORT
        if "nginx" in h2_ports:
            h2_ports["nginx"] = NGINX_H2_PORT
        h2_support = {name: check_body(port, h2=True) for name, port in h2_ports.items()}
        log(f"h2c prior knowledge: {h2_support}")

        # Warm-up: connections, JIT-free but pools and caches.
        for port in targets.values():
            loadgen(["wrk", "-t1", f"-c{CONNS}", "-d2s", f"http://127.0.0.1:{port}{PATH}"], 30)

        runs = {name: [] for name in targets}
        order = list(targets)
        for rnd in range(ROUNDS):
            for name in order[rnd % len(order):] + order[:rnd % len(order)]:
                port = targets[name]
                proc = procs.get(name)
                before = proc.cpu_ticks() if proc else None
                h1 = run_wrk(port)
                after = proc.cpu_ticks() if proc else None
                if proc and h1.get("ok"):
                    per_req = [(a - b) / CLK_TCK * 1e6 / h1["requests"]
                               for a, b in zip(after, before)]
                    h1["cpu_user_us_per_req"], h1["cpu_sys_us_per_req"] = per_req
                    h1["cpu_us_per_req"] = sum(per_req)
                h2 = run_h2load(h2_ports[name]) if h2_support[name] else {"ok": False,
                                                                           "raw": "no h2c"}
                fixed = run_fixed(port)
                runs[name].append({"round": rnd, "h1": h1, "h2": h2, "fixed": fixed})
                log(f"round {rnd} {name}: h1 {h1.get('rps')} rps, h2 {h2.get('rps')} rps, "
                    f"fixed p99 {fixed.get('p99_ms')} ms")
        hwm = {name: procs[name].hwm_kib() for name in targets if name in procs}
    finally:
        for proc in procs.values():
            proc.stop()

    summary = {}
    for name, rs in runs.items():
        def pick(kind, key):
            return median([r[kind].get(key) for r in rs if r[kind].get("ok")])
        summary[name] = {
            "h1_rps": pick("h1", "rps"),
            "h2_rps": pick("h2", "rps"),
            "h2c_supported": h2_support[name],
            "p50_ms": pick("fixed", "p50_ms"),
            "p99_ms": pick("fixed", "p99_ms"),
            "p999_ms": pick("fixed", "p999_ms"),
            "cpu_us_per_req": pick("h1", "cpu_us_per_req"),
            "cpu_user_us_per_req": pick("h1", "cpu_user_us_per_req"),
            "cpu_sys_us_per_req": pick("h1", "cpu_sys_us_per_req"),
            "peak_rss_kib": hwm.get(name),
        }
    ratios = {}
    base = summary.get("traefik")
    if base:
        for name, s in summary.items():
            ratios[name] = {k: (s[k] / base[k] if isinstance(s[k], (int, float))
                                and not isinstance(s[k], bool) and base[k] else None)
                            for k in s if k != "h2c_supported"}
    load = os.getloadavg()
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_end": load,
        "settings": {"rounds": ROUNDS, "duration_s": DURATION, "rate": RATE, "conns": CONNS,
                     "proxy_core": PROXY_CORE, "nice": NICE, "loadgen_and_backend_core": LOAD_CORE,
                     "path": PATH},
        "versions": versions(),
        "summary": summary,
        "ratio_to_traefik": ratios,
        "runs": runs,
        "elapsed_s": round(time.time() - started, 1),
    }
    with open(os.path.join(RESULTS, "latest.json"), "w") as f:
        json.dump(result, f, indent=2)
    md = markdown(result)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(md)
    print(md)


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release}


def versions():
    def first(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    return {
        "swarmgate": first([os.environ.get("SWARMGATE_BIN", "swarmgate"), "version"]),
        "traefik": first([os.environ["TRAEFIK_BIN"], "version"]),
        "nginx": first(["nginx", "-v"]),
        "haproxy": first(["haproxy", "-v"]),
        "wrk": first(["wrk", "-v"]),
        "h2load": first(["h2load", "--version"]),
        "fixed_rate": (first([os.environ["OHA_BIN"], "--version"]) if os.environ.get("OHA_BIN")
                       else "examples/fixed_rate.rs"),
    }


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def markdown(res):
    s, r = res["summary"], res["ratio_to_traefik"]
    lines = [
        f"Run {res['date']} on {res['machine']['nproc']} × {res['machine']['cpu']} "
        f"(kernel {res['machine']['kernel']}); load average at end "
        f"{', '.join(f'{x:.2f}' for x in res['load_average_at_end'])}. "
        f"Medians of {res['settings']['rounds']} interleaved rounds, {res['settings']['duration_s']} s "
        f"per run, {res['settings']['conns']} connections; fixed rate {res['settings']['rate']} req/s. "
        "Ratio to Traefik in brackets.",
        "",
        "| target | HTTP/1.1 req/s | h2c req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req "
        "| user + sys µs/req | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in s.items():
        rr = r.get(name, {})

        def cell(key, digits=0, scale=1.0):
            val = v.get(key)
            if val is None:
                return "n/a" if key != "h2_rps" or v["h2c_supported"] else "no h2c"
            ratio = rr.get(key)
            tail = f" ({ratio:.2f}×)" if ratio is not None and name != "traefik" else ""
            return fmt(val * scale, digits) + tail
        lines.append(
            f"| {name} | {cell('h1_rps')} | {cell('h2_rps')} | {cell('p50_ms', 2)} | "
            f"{cell('p99_ms', 2)} | {cell('p999_ms', 2)} | {cell('cpu_us_per_req', 1)} | "
            f"{split(v)} | {cell('peak_rss_kib', 1, 1 / 1024)} |")
    lines.append("")
    sg, ng = s.get("swarmgate"), s.get("nginx")
    if sg and ng and sg.get("h1_rps") and ng.get("h1_rps") and sg.get("cpu_us_per_req") \
            and ng.get("cpu_us_per_req"):
        lines.append(
            f"swarmgate relative to nginx: HTTP/1.1 req/s {sg['h1_rps'] / ng['h1_rps']:.2f}×, "
            f"CPU per request {sg['cpu_us_per_req'] / ng['cpu_us_per_req']:.2f}×.")
        lines.append("")
    for name in ("swarmgate", "traefik"):
        off, on = s.get(name), s.get(name + "+obs")
        if off and on and off.get("h1_rps") and on.get("h1_rps") and off.get("cpu_us_per_req") \
                and on.get("cpu_us_per_req"):
            lines.append(
                f"{name} with access log and tracing on (+obs) relative to off: HTTP/1.1 req/s "
                f"{on['h1_rps'] / off['h1_rps']:.2f}×, CPU per request "
                f"{on['cpu_us_per_req'] / off['cpu_us_per_req']:.2f}×.")
    lines.append("")
    return "\n".join(lines)


def split(v):
    """User and system CPU per request, e.g. `7.4 + 13.1`."""
    user, system = v.get("cpu_user_us_per_req"), v.get("cpu_sys_us_per_req")
    if user is None or system is None:
        return "n/a"
    return f"{user:.1f} + {system:.1f}"


if __name__ == "__main__":
    main()

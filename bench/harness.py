"""The benchmark proper: every case against every server, interleaved.

bench/run.sh prepares the machine (packages, the wired binary, the document
root) and calls this. Each round starts all servers, runs every case against
each in turn (wired, nginx, h2o, lighttpd, starting one further along with
every case and every round; then the next case), and stops them; then each
server is started afresh, alone, for the idle-connection test, plain and
then over TLS. The https-* cases run the same way against each server's
TLS port (same certificate and suites for all: servers.py). Rounds
repeat, so slow drift on the machine hits every server alike; the report
takes the median over rounds.

The upstream cases (proxy-1k-c64, php-c16, flask-c16) come after the
others in each round, wired and nginx only: for each, the application is
started (upstreams.py), then wired and nginx in front of it, each run in
turn, then all stopped. The proxied idle test (idle-proxy-1k) does the same
with the fast upstream and bench/idle.py. The application's own CPU time is
recorded apart from the server's (upstream_cpu_s).

The WebSocket cases run with the upstream cases, their load from
bench/ws/ws_load.c instead of wrk (a message counts as a request in
runs.csv). ws-proxy-c256: wired --ws-proxy and nginx in front of the echo
application bench/upstream/ws_echo.c. ws-echo-c256: wired's built-in
--ws-echo, and as its peer the echo application alone, measured directly as
if it were a server (nothing else here has an echo built in; the row's
server is "ws_echo"). The idle WebSocket tests (idle-ws-10k, wired
--ws-echo; idle-ws-proxy-5k, wired and nginx in front of ws_echo) use
bench/idle_ws.py.

The compression cases run with the upstream cases too, wired and nginx
only, each server started for the case with gzip on at the same level
(servers.py: GZIP_LEVEL, NGINX_GZIP) and wrk sending `Accept-Encoding:
gzip`. gzip-100k-c64 fetches the 100 KiB HTML page from the document root;
gzip-proxy-100k-c64 fetches it through the server from the fast upstream
(upstream kind fast-html). A server is used only once its start check has
had the page back gzip-coded and decoded it to the right bytes; each row
records the coded body's size from that check (coded_body_bytes) and the
bytes wrk read per answer, head and framing included (bytes_per_resp).

The HTTP/2 cases (h2-* over TLS, h2c-* by prior knowledge) have a round of
their own, all four servers started with HTTP/2 on (servers.py: Server(h2=
True); the start check refuses a server unless curl gets every file over
HTTP/2 on both ports) and their load from h2load (Debian's nghttp2-client)
instead of wrk: requests/s and the completed and failed counts parsed from
its output (h2load_result), server CPU measured as for every case. Many
concurrent streams on a connection (-m), or a page of PAGE_ASSETS small
files fetched over one connection with 100 streams (-i, a file of their
URIs, taken in turn again and again for the run's duration). A run counts
only if h2load says it spoke h2 (TLS) or h2c. The idle test over HTTP/2
(idle_h2.py: idle-h2-2k over TLS, idle-h2c-2k by prior knowledge) runs
after it, each server started afresh with HTTP/2 on.

Each run appends one row to runs.csv at once (a run cut short keeps what it
has) and keeps wrk's own output under raw/. report.py turns the rows into
summary.md and chart.svg.
"""

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ left in bench/

import idle
import idle_h2
import idle_tls
import idle_ws
import procstat
import report
import upstreams
from servers import (GZIP_LEVEL, GZIP_PAGE, NGINX_GZIP, NGINX_GZIP_PROXIED, NGINX_H2_LISTEN, PAGE_ASSETS,
                     Server, page_paths)

HERE = os.path.dirname(os.path.abspath(__file__))

SERVERS = ["wired", "nginx", "h2o", "lighttpd"]
# The servers configured for the upstream and compression cases
# (configuring h2o's and lighttpd's proxies, FastCGI and compression the
# same way was left for later).
UPSTREAM_SERVERS = ["wired", "nginx"]
# The peer of wired's built-in echo in ws-echo-c256: the echo application
# alone (runs.csv's server column names it so).
WS_APP = "ws_echo"
# Every WebSocket case's load: 64-byte text messages, one in flight per
# connection (each connection waits for its echo before it sends again).
WS_MESSAGE_BYTES = 64
WS_WINDOW = 1
# wired's built-in echo endpoint (--ws-echo) in ws-echo-c256 and idle-ws-10k.
WS_ECHO_PATH = "/echo"
# The HTTP/2 cases' page: its URIs, one a line, for h2load -i.
H2_PAGE = "page"
# Servers that cannot speak h2c, and why: their h2c-* rows say so instead
# of a figure. All four can here (wired --http2, nginx 1.22's plain
# `listen ... http2`, h2o 2.2 and lighttpd 1.4.69 by default).
H2C_UNSUPPORTED = {}


class Case:
    def __init__(self, key, label, path, conns, close=False, pipeline=0, tls=False,
                 full_handshake=False, wrk_threads=None, upstream=None, ws=False, ws_builtin=False,
                 gzip=False, h2=None, streams=1):
        self.key, self.label, self.path, self.conns = key, label, path, conns
        # HTTP/2 with h2load: "tls" (h2 by ALPN) or "h2c" (prior knowledge);
        # streams, h2load's -m, the requests in flight on each connection.
        # path H2_PAGE: the page's PAGE_ASSETS files, taken in turn.
        self.h2, self.streams = h2, streams
        # Compression on in the servers, and asked for by wrk.
        self.gzip = gzip
        # An application behind the server (upstreams.KINDS), or None.
        self.upstream = upstream
        # A WebSocket case: ws_load, not wrk. ws_builtin: wired's own echo
        # against the application alone, instead of both servers in front
        # of the application.
        self.ws, self.ws_builtin = ws, ws_builtin
        self.close, self.pipeline, self.tls = close, pipeline, tls
        self.full_handshake = full_handshake
        # The client's threads for this case: wrk's (None: --wrk-threads)
        # or h2load's (None: one).
        self.wrk_threads = wrk_threads

    @property
    def own_servers(self):
        """Whether the case starts its servers afresh, configured for it
        (in front of its application, or with compression on), in the
        upstream round, rather than using the throughput round's."""
        return self.upstream is not None or self.gzip


CASES = [
    Case("1k-c64", "1 KiB, keep-alive, 64 conns", "/index.html", 64),
    Case("1k-c256", "1 KiB, keep-alive, 256 conns", "/index.html", 256),
    Case("100k-c64", "100 KiB, keep-alive, 64 conns", "/100k.bin", 64),
    Case("1m-c64", "1 MiB, keep-alive, 64 conns", "/1m.bin", 64),
    Case("10m-c1", "10 MiB, keep-alive, 1 conn", "/10m.bin", 1),
    Case("10m-c8", "10 MiB, keep-alive, 8 conns", "/10m.bin", 8),
    Case("10m-c64", "10 MiB, keep-alive, 64 conns", "/10m.bin", 64),
    Case("1k-close-c64", "1 KiB, Connection: close, 64 conns", "/index.html", 64, close=True),
    Case("1k-pipe16-c64", "1 KiB, pipelined 16 deep, 64 conns", "/index.html", 64, pipeline=16),
    # HTTPS (wrk's OpenSSL client, TLS 1.3, the server's choice of suite).
    # With Connection: close every request is a new TLS connection, so its
    # requests per second are handshakes per second; wrk would resume each
    # from the last one's ticket, so wrk/no_resume.c makes them full ones.
    Case("https-1k-c64", "HTTPS 1 KiB, keep-alive, 64 conns", "/index.html", 64, tls=True),
    # A full handshake costs wrk's OpenSSL client more CPU than any of the
    # servers (about 500 µs against 150-350 µs here), so one wrk thread
    # capped every server at the same rate, one core's worth of client
    # work: the case measured wrk. With two threads the client can use both
    # cores, and client and server share the machine: the server that
    # spends less CPU per handshake leaves more to the client, and completes
    # more handshakes.
    Case("https-handshake-c64", "HTTPS full handshakes, Connection: close, 64 conns", "/index.html", 64,
         close=True, tls=True, full_handshake=True, wrk_threads=2),
    Case("https-10m-c8", "HTTPS 10 MiB, keep-alive, 8 conns", "/10m.bin", 8, tls=True),
    # Upstreams (wired and nginx only). A fast upstream, so the proxy is the
    # bottleneck; then two real applications, where the application is.
    Case("proxy-1k-c64", "Proxy to a fast upstream, 1 KiB, keep-alive, 64 conns", "/", 64, upstream="fast"),
    Case("php-c16", "PHP page via php-fpm, keep-alive, 16 conns", "/page.php", 16, upstream="php"),
    Case("flask-c16", "Flask JSON via gunicorn, keep-alive, 16 conns", "/api/items", 16, upstream="flask"),
    # WebSockets: many connections, small messages (bench/ws/ws_load.c).
    Case("ws-proxy-c256", "WebSocket echo through the proxy, 64 B messages, 256 conns", "/ws", 256,
         upstream="ws", ws=True),
    Case("ws-echo-c256", "WebSocket echo, built in (peer: the echo app alone), 64 B messages, 256 conns",
         WS_ECHO_PATH, 256, upstream="ws", ws=True, ws_builtin=True),
    # Compression (wired and nginx only), gzip at the same level. Static:
    # wired compresses the file once and keeps the result, nginx compresses
    # it for every request; proxied: both compress every answer as it
    # passes. Two designs in the first case, one in the second.
    Case("gzip-100k-c64", "100 KiB HTML, gzip, keep-alive, 64 conns", "/100k.html", 64, gzip=True),
    Case("gzip-proxy-100k-c64", "Proxy, 100 KiB HTML from a fast upstream, gzip, keep-alive, 64 conns",
         "/100k.html", 64, upstream="fast-html", gzip=True),
    # HTTP/2 (h2load), each over TLS and over h2c: many small requests in
    # flight on many connections; a page of small files on one connection;
    # a large file, one stream on each of 8 connections (https-10m-c8's
    # shape).
    # The two small-file cases as the handshake case above: with one thread
    # h2load was at 100% of its core while the servers used 50-80% of
    # theirs (wired 0.5-0.65, h2o 0.8-0.93 of a core), so every server got
    # the same rate within a few percent, the client's. Two threads use
    # both cores, and the server that spends less per request leaves more
    # to the client (docs/benchmarks.md, "Two client threads").
    Case("h2-1k-m100-c64", "HTTP/2 (TLS) 1 KiB, 100 streams on each of 64 conns", "/index.html", 64,
         h2="tls", streams=100, wrk_threads=2),
    Case("h2c-1k-m100-c64", "HTTP/2 (h2c) 1 KiB, 100 streams on each of 64 conns", "/index.html", 64,
         h2="h2c", streams=100, wrk_threads=2),
    Case("h2-page100", f"HTTP/2 (TLS) page of {PAGE_ASSETS} files (1-4 KiB), 100 streams, 1 conn", H2_PAGE, 1,
         h2="tls", streams=100),
    Case("h2c-page100", f"HTTP/2 (h2c) page of {PAGE_ASSETS} files (1-4 KiB), 100 streams, 1 conn", H2_PAGE, 1,
         h2="h2c", streams=100),
    Case("h2-10m", "HTTP/2 (TLS) 10 MiB, 1 stream on each of 8 conns", "/10m.bin", 8, h2="tls"),
    Case("h2c-10m", "HTTP/2 (h2c) 10 MiB, 1 stream on each of 8 conns", "/10m.bin", 8, h2="h2c"),
]
IDLE_KEY = "idle-10k"
IDLE_TLS_KEY = "idle-tls-10k"
IDLE_PROXY_KEY = "idle-proxy-1k"
IDLE_WS_KEY = "idle-ws-10k"
IDLE_WS_PROXY_KEY = "idle-ws-proxy-5k"
IDLE_H2_KEY = "idle-h2-2k"
IDLE_H2C_KEY = "idle-h2c-2k"

COLUMNS = [
    "round", "case", "server", "status", "requests", "duration_s", "req_per_s",
    "bytes", "mib_per_s", "bytes_per_resp", "coded_body_bytes",
    "p50_us", "p90_us", "p99_us", "mean_us", "max_us",
    "err_connect", "err_read", "err_write", "err_status", "err_timeout",
    "server_cpu_s", "cpu_us_per_req", "busiest_share", "peak_rss_kib", "server_procs", "wrk_cpu_s",
    "upstream_cpu_s", "upstream_cpu_us_per_req",
    "other_cpu_s", "softirq_s", "idle_conns", "idle_still_open", "idle_rss_before_kib",
    "idle_rss_after_kib", "idle_kib_per_conn", "idle_upstream_conns", "error",
]


class AppAlone:
    """The WebSocket echo application measured directly, standing in the
    place of a server: the peer of wired's built-in --ws-echo in
    ws-echo-c256. It is already running (the upstream round started it):
    start and stop are nothing."""

    def __init__(self, app):
        self.app = app
        self.name = WS_APP
        self.port = app.port
        self.proc = app.proc

    def start(self):
        return None

    def stop(self):
        pass

    def refresh_pids(self):
        return self.app.refresh_pids()

    def alive(self):
        return self.app.alive()

    def log_tail(self):
        return self.app.log_tail()


_H2LOAD_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def _h2load_time_us(text):
    """h2load's "13.52ms", "209us", "1.00s" in µs."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _H2LOAD_UNITS[m.group(2)] if m else None


def h2load_result(out, how):
    """h2load's output as the figures wrk's report.lua gives (requests are
    the succeeded ones; no percentiles: h2load prints min, max and mean),
    or a one-line reason it is no result. how: "tls" or "h2c", the
    protocol h2load must have spoken."""
    want = "h2" if how == "tls" else "h2c"
    protocols = set(re.findall(r"^Application protocol: (\S+)", out, re.M))
    if protocols != {want}:
        return (f"h2load spoke {', '.join(sorted(protocols)) or 'nothing'}, not {want}: "
                + " ".join(l for l in out.splitlines() if "protocol" in l.lower())[:200])
    fin = re.search(r"^finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s", out, re.M)
    req = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out, re.M)
    codes = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.M)
    traffic = re.search(r"^traffic: \S+ \((\d+)\) total", out, re.M)
    lat = re.search(r"^time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if not (fin and req and codes and traffic and lat):
        return "h2load printed no complete result"
    total, started, done, ok, failed, errored, timeout = map(int, req.groups())
    c2, c3, c4, c5 = map(int, codes.groups())
    rate = float(fin.group(3))
    # "finished in" has two decimals; done ÷ req/s is the finer duration.
    secs = done / rate if rate else float(fin.group(1)) * _H2LOAD_UNITS[fin.group(2)] / 1e6
    return {
        "requests": ok, "done": done, "duration_us": secs * 1e6, "bytes": int(traffic.group(1)),
        "mean_us": _h2load_time_us(lat.group(3)), "max_us": _h2load_time_us(lat.group(2)),
        "connect": max(0, failed - errored - timeout - c4 - c5), "read": errored, "write": 0,
        "status": c3 + c4 + c5, "timeout": timeout,
    }


def _version_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError) as e:
        return f"unknown ({e})"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = args.out
        os.makedirs(os.path.join(self.out, "raw"), exist_ok=True)
        self.csv_path = os.path.join(self.out, "runs.csv")
        with open(self.csv_path, "w", newline="") as f:
            csv.writer(f).writerow(COLUMNS)
        self.events = []
        # wrk scripts: every run gets report.lua's done(); the pipelined case
        # gets pipeline.lua in front of it.
        os.makedirs(args.work, exist_ok=True)
        with open(os.path.join(HERE, "wrk", "report.lua")) as f:
            report_lua = f.read()
        with open(os.path.join(HERE, "wrk", "pipeline.lua")) as f:
            pipeline_lua = f.read()
        self.script_plain = os.path.join(args.work, "wrk-report.lua")
        self.script_pipeline = os.path.join(args.work, "wrk-pipeline.lua")
        with open(self.script_plain, "w") as f:
            f.write(report_lua)
        with open(self.script_pipeline, "w") as f:
            f.write(pipeline_lua + "\n" + report_lua)

    def log(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def event(self, msg):
        self.events.append(msg)
        self.log(msg)

    def row(self, **values):
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([values.get(c, "") for c in COLUMNS])

    def server(self, name, upstream=None, ws_echo=None, gzip=False, h2=False):
        a = self.args
        return Server(name, os.path.join(a.work, name), a.www, a.workers, a.nofile, a.wired,
                      {"cert": a.tls_cert, "key": a.tls_key, "ca": a.tls_ca}, upstream, ws_echo, gzip, h2)

    def upstream(self, kind):
        a = self.args
        return upstreams.Upstream(kind, os.path.join(a.work, "upstream"), a.www, a.fast_upstream,
                                  a.ws_echo_app)

    # -- one run of the load generator ---------------------------------

    def client_command(self, case, srv):
        """The load generator for a case, and its environment (None: ours):
        wrk, or ws_load for the WebSocket cases."""
        a = self.args
        if case.ws:
            return ([a.ws_load, "-t1", f"-c{case.conns}", f"-d{a.duration}", f"-s{WS_MESSAGE_BYTES}",
                     f"-w{WS_WINDOW}", f"ws://127.0.0.1:{srv.port}{case.path}"], None)
        if case.h2:
            # h2load: ALPN h2 for https, prior knowledge for http; one
            # thread, as wrk, unless the case says; its default windows
            # (1 GiB) so flow control never holds it back; -D: for the
            # run's duration.
            base = (f"https://127.0.0.1:{srv.h2_port}" if case.h2 == "tls"
                    else f"http://127.0.0.1:{srv.h2c_port}")
            cmd = ["h2load", f"-t{case.wrk_threads or 1}", f"-c{case.conns}", f"-m{case.streams}",
                   "-D", str(a.duration)]
            if case.path == H2_PAGE:
                uris = os.path.join(a.work, f"h2-page-{srv.name}-{case.h2}.txt")
                with open(uris, "w") as f:
                    f.write("".join(f"{base}{p}\n" for p in page_paths()))
                return cmd + ["-i", uris], None
            return cmd + [base + case.path], None
        url = (f"https://127.0.0.1:{srv.tls_port}{case.path}" if case.tls
               else f"http://127.0.0.1:{srv.port}{case.path}")
        cmd = ["wrk", f"-t{case.wrk_threads or a.wrk_threads}", f"-c{case.conns}", f"-d{a.duration}s", "--latency",
               "-s", self.script_pipeline if case.pipeline else self.script_plain]
        if case.close:
            cmd += ["-H", "Connection: close"]
        if case.gzip:
            cmd += ["-H", "Accept-Encoding: gzip"]
        cmd.append(url)
        if case.pipeline:
            cmd += ["--", str(case.pipeline)]
        env = None
        if case.full_handshake:
            env = dict(os.environ, LD_PRELOAD=a.wrk_no_resume)
        return cmd, env

    def wrk_run(self, rnd, case, srv, upstream=None):
        """One run of the case's load generator (wrk, or ws_load) against
        srv, with the server's CPU time (and the upstream's) around it."""
        a = self.args
        cmd, env = self.client_command(case, srv)
        base = dict(round=rnd, case=case.key, server=srv.name)

        pids = srv.refresh_pids()
        procstat.reset_peak_rss(pids)
        tasks0 = procstat.task_cpu_seconds(pids)
        up0 = upstream.cpu_seconds() if upstream else 0.0
        cpu0, (busy0, irq0), kids0 = procstat.cpu_seconds(pids), procstat.machine_cpu_seconds(), children_cpu()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 30, env=env)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, err, rc = str(e.stdout or ""), f"{cmd[0]} did not finish within {a.duration + 30} s", -1
        pids = srv.refresh_pids()
        cpu1, (busy1, irq1), kids1 = procstat.cpu_seconds(pids), procstat.machine_cpu_seconds(), children_cpu()
        up1 = upstream.cpu_seconds() if upstream else 0.0
        peak = procstat.peak_rss_kib(pids)
        share = procstat.busiest_share(tasks0, procstat.task_cpu_seconds(pids))

        with open(os.path.join(self.out, "raw", f"r{rnd}-{case.key}-{srv.name}.txt"), "w") as f:
            f.write("$ " + (f"LD_PRELOAD={env['LD_PRELOAD']} " if env else "") + " ".join(cmd) + "\n"
                    + out + ("\n--- stderr\n" + err if err else ""))

        result = None
        if case.h2:
            result = h2load_result(out, case.h2)
            if isinstance(result, str):
                err, result = (err + "\n" if err else "") + result, None
                rc = rc or -2
        for line in out.splitlines():
            if line.startswith("WIRED-BENCH "):
                result = json.loads(line[len("WIRED-BENCH "):])
        if result is not None and case.ws:
            # ws_load counts echoed messages; here they stand as requests.
            result["requests"] = result["messages"]
        tool = os.path.basename(cmd[0])
        problems = []
        if rc != 0:
            problems.append(f"{tool} exit status {rc}: {' '.join(err.split())[:200]}")
        if not srv.alive():
            problems.append(f"server exited during the run (status {srv.proc.returncode}): {srv.log_tail()}")
        if upstream and not upstream.alive():
            problems.append(f"the upstream exited during the run: {upstream.log_tail()}")
        if result is None:
            self.row(**base, status="error", error="; ".join(problems) or f"no result from {tool}")
            return False
        n = result["requests"]
        secs = max(result["duration_us"], 1) / 1e6
        errs = {k: result[k] for k in ("connect", "read", "write", "status", "timeout")}
        bad = {k: v for k, v in errs.items() if v}
        if bad:
            problems.append(f"{tool} errors: " + ", ".join(f"{k} {v}" for k, v in bad.items()))
        if n == 0:
            problems.append("no request completed")
        per_resp = result["bytes"] / n if n else None
        sample = srv.gzip_sample if case.gzip else None
        coded = sample["body_bytes"] if sample else None
        # The start check saw the page gzip-coded; this sees that wrk's
        # answers were too: a coded answer is about a quarter of the page,
        # an uncoded one all of it and its head.
        uncoded = bool(sample and per_resp is not None and per_resp > sample["page_bytes"] / 2)
        if uncoded:
            problems.append(f"{per_resp:,.0f} bytes per answer: not compressed")
        server_cpu = cpu1 - cpu0
        wrk_cpu = kids1 - kids0
        # The application's processes are the harness's children too, but
        # still running: their time is not in children_cpu() yet.
        up_cpu = up1 - up0
        self.row(
            # An HTTP/2 run with a failed request is no figure: h2load goes
            # on after a reset stream, wrk's errors are rarer and noted.
            **base, status="error" if (n == 0 or rc != 0 or uncoded or (case.h2 and bad)) else "ok",
            requests=n, duration_s=f"{secs:.3f}", req_per_s=f"{n / secs:.1f}",
            bytes=result["bytes"], mib_per_s=f"{result['bytes'] / secs / 2**20:.2f}",
            bytes_per_resp=f"{per_resp:.1f}" if per_resp is not None and not case.ws else "",
            coded_body_bytes=coded if coded is not None else "",
            p50_us=result.get("p50_us", ""), p90_us=result.get("p90_us", ""), p99_us=result.get("p99_us", ""),
            mean_us=result["mean_us"], max_us=result["max_us"],
            err_connect=errs["connect"], err_read=errs["read"], err_write=errs["write"],
            err_status=errs["status"], err_timeout=errs["timeout"],
            server_cpu_s=f"{server_cpu:.2f}",
            cpu_us_per_req=f"{server_cpu / n * 1e6:.3f}" if n else "",
            busiest_share=f"{share:.2f}" if share is not None else "",
            peak_rss_kib=peak, server_procs=len(pids), wrk_cpu_s=f"{wrk_cpu:.2f}",
            upstream_cpu_s=f"{up_cpu:.2f}" if upstream else "",
            upstream_cpu_us_per_req=f"{up_cpu / n * 1e6:.3f}" if upstream and n else "",
            # Processes' stime includes the softirq work done in their
            # context, which /proc/stat counts apart: add it back.
            other_cpu_s=f"{max(0.0, busy1 - busy0 + irq1 - irq0 - server_cpu - wrk_cpu - up_cpu):.2f}",
            softirq_s=f"{irq1 - irq0:.2f}",
            error="; ".join(problems),
        )
        unit = "msg" if case.ws else "req"
        lat = (f"p99 {result['p99_us'] / 1000:7.2f} ms" if "p99_us" in result
               else f"mean {result['mean_us'] / 1000:7.2f} ms")
        self.log(f"  {case.key:14} {srv.name:9} {n / secs:12,.0f} {unit}/s  "
                 f"{server_cpu / max(n, 1) * 1e6:7.2f} µs/{unit}  {lat}"
                 + (f"  upstream {up_cpu / max(n, 1) * 1e6:.2f} µs/{unit}" if upstream else "")
                 + (f"  {per_resp:,.0f} B/answer (gzip body {coded:,} B)" if coded and per_resp else "")
                 + (f"  !! {'; '.join(problems)}" if problems else ""))
        return srv.alive()

    def tls_handshake_record(self, srv):
        """What one OpenSSL client negotiates with the server's TLS port
        (version, suite, key exchange, certificate, verification), kept as
        raw/tls-<server>.txt: the check that every server offers the same."""
        cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{srv.tls_port}",
               "-servername", "localhost", "-CAfile", self.args.tls_ca, "-verify_return_error", "-brief"]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
            text = p.stdout + p.stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            text = f"openssl s_client failed: {e}"
        with open(os.path.join(self.out, "raw", f"tls-{srv.name}.txt"), "w") as f:
            f.write("$ " + " ".join(cmd) + " </dev/null\n" + text)
        summary = ", ".join(l.split(": ", 1)[1] for l in text.splitlines()
                            if l.startswith(("Protocol version", "Ciphersuite", "Server Temp Key")))
        self.log(f"  TLS with {srv.name}: {summary or text.strip()[:120]}")

    # -- rounds ----------------------------------------------------------

    def h2_record(self, srv):
        """What nghttp (nghttp2-client) sees of the server's HTTP/2 on both
        ports, its SETTINGS among it, kept as raw/h2-<server>.txt: the
        record of each server's limits (concurrent streams, windows)."""
        text = ""
        for url in (f"https://127.0.0.1:{srv.h2_port}/index.html", f"http://127.0.0.1:{srv.h2c_port}/index.html"):
            cmd = ["nghttp", "-nv", url]
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
                text += "$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr + "\n"
            except (OSError, subprocess.TimeoutExpired) as e:
                text += f"$ {' '.join(cmd)}\nnghttp failed: {e}\n"
        with open(os.path.join(self.out, "raw", f"h2-{srv.name}.txt"), "w") as f:
            f.write(text)
        m = re.search(r"recv SETTINGS frame <length=\d+, flags=0x00.*?\n((?:\s+[\[(].*\n)+)", text)
        streams = re.search(r"MAX_CONCURRENT_STREAMS\(0x03\):(\d+)", m.group(1)) if m else None
        self.log(f"  HTTP/2 with {srv.name}: at most {streams.group(1) if streams else '?'} concurrent streams "
                 "per connection (its SETTINGS)")

    def throughput_round(self, rnd, names, h2=False):
        """Every case that uses the round's servers (not own_servers) against
        each server in turn; h2: the HTTP/2 cases, with servers started
        with HTTP/2 on."""
        servers = {}
        try:
            for name in names:
                srv = self.server(name, h2=h2)
                why = srv.start()
                if why:
                    self.event(f"round {rnd}: {name} failed to start: {why}")
                else:
                    servers[name] = srv
            if rnd == 1:
                for srv in servers.values():
                    if h2:
                        self.h2_record(srv)
                    else:
                        self.tls_handshake_record(srv)
            for i, case in enumerate(self.cases):
                if case.own_servers or bool(case.h2) != h2:
                    continue
                # Who goes first turns with every case and every round, so
                # no server always runs right after a quiet pause or always
                # right after the heaviest peer.
                turn = (rnd - 1 + i) % len(names)
                for name in names[turn:] + names[:turn]:
                    srv = servers.get(name)
                    if srv is not None and not srv.alive():
                        srv.stop()
                        why = srv.start()
                        if why:
                            self.event(f"round {rnd}: {name} could not be restarted: {why}")
                            servers[name] = None
                            srv = None
                        else:
                            self.event(f"round {rnd}: {name} restarted before {case.key}")
                    if srv is None:
                        self.row(round=rnd, case=case.key, server=name, status="not-started",
                                 error="server failed to start")
                        continue
                    if case.h2 == "h2c" and name in H2C_UNSUPPORTED:
                        self.row(round=rnd, case=case.key, server=name, status="unsupported",
                                 error=H2C_UNSUPPORTED[name])
                        continue
                    self.wrk_run(rnd, case, srv)
                    time.sleep(self.args.pause)
        finally:
            for srv in servers.values():
                if srv is not None:
                    srv.stop()

    def started(self, srv, rnd, key, name, what):
        """Start `srv` for case `key`; if it will not start, say so and
        record a not-started row. True when it runs."""
        why = srv.start()
        if why:
            self.event(f"round {rnd}: {name} failed to start for {what}: {why}")
            self.row(round=rnd, case=key, server=name, status="not-started", error=f"server failed to start: {why}")
            return False
        return True

    def contenders(self, case, names):
        """Who runs a case of the upstream round: wired and nginx in front of
        the application; for ws-echo-c256, wired with its built-in echo and
        the application alone."""
        if case.ws_builtin:
            return ["wired", WS_APP] if "wired" in names else []
        return [n for n in names if n in UPSTREAM_SERVERS]

    def contender(self, case, name, app):
        """(the server to start, the application it is in front of or None)."""
        if name == WS_APP:
            return AppAlone(app), None
        if case.ws_builtin:
            return self.server(name, ws_echo=case.path), None
        return self.server(name, app, gzip=case.gzip), app

    def upstream_round(self, rnd, names):
        """The cases that start their own servers (Case.own_servers): for
        each, its application if it has one, then every server (in front
        of it) in turn, started for the case and stopped after it (who goes
        first turns as in throughput_round), then the application stopped."""
        for i, case in enumerate(self.cases):
            contenders = self.contenders(case, names)
            if not case.own_servers or not contenders:
                continue
            app = self.upstream(case.upstream) if case.upstream else None
            try:
                why = app.start() if app else None
                if why:
                    self.event(f"round {rnd}: the {case.upstream} upstream failed to start for {case.key}: {why}")
                    for name in contenders:
                        self.row(round=rnd, case=case.key, server=name, status="not-started",
                                 error=f"upstream failed to start: {why}")
                    continue
                turn = (rnd - 1 + i) % len(contenders)
                for name in contenders[turn:] + contenders[:turn]:
                    srv, behind = self.contender(case, name, app)
                    if not self.started(srv, rnd, case.key, name, case.key):
                        continue
                    try:
                        if case.gzip:
                            self.gzip_record(rnd, case, srv)
                        self.wrk_run(rnd, case, srv, behind)
                    finally:
                        srv.stop()
                    time.sleep(self.args.pause)
            finally:
                if app:
                    app.stop()

    def gzip_record(self, rnd, case, srv):
        """The answer the server's gzip check got (head, coded size), kept
        as raw/r<round>-<case>-<server>-gzip.txt beside wrk's output."""
        g = srv.gzip_sample
        with open(os.path.join(self.out, "raw", f"r{rnd}-{case.key}-{srv.name}-gzip.txt"), "w") as f:
            f.write(f"GET {GZIP_PAGE} with Accept-Encoding: gzip (the second of two)\n\n"
                    f"{g['head']}\n"
                    f"gzip body: {g['body_bytes']} bytes ({g['framing']}), "
                    f"{g['body_bytes'] / g['page_bytes']:.1%} of the page's {g['page_bytes']}; "
                    "decoded: the page byte for byte\n")

    def idle_proxy_round(self, rnd, names):
        """Memory per idle client connection of a reverse proxy: each of
        --idle-proxy connections makes one request through the server to
        the fast upstream, then stays open (bench/idle.py). Also records how
        many upstream connections the server held open meanwhile."""
        for name in [n for n in names if n in UPSTREAM_SERVERS]:
            app = self.upstream("fast")
            try:
                why = app.start()
                if why:
                    self.event(f"round {rnd}: the fast upstream failed to start for the proxied idle test: {why}")
                    self.row(round=rnd, case=IDLE_PROXY_KEY, server=name, status="not-started",
                             error=f"upstream failed to start: {why}")
                    continue
                srv = self.server(name, app)
                if not self.started(srv, rnd, IDLE_PROXY_KEY, name, "the proxied idle test"):
                    continue
                try:
                    r = idle.measure(srv.port, srv.proc.pid, self.args.idle_proxy, path=app.path,
                                     probe=app.open_connections)
                finally:
                    srv.stop()
            finally:
                app.stop()
            self.idle_row(rnd, IDLE_PROXY_KEY, name, r, "proxied idle test")

    def idle_row(self, rnd, key, name, r, what):
        """One proxied idle test's row (r from idle.measure or
        idle_ws.measure with a probe: the upstream's open connections)."""
        if "connections" not in r:
            self.row(round=rnd, case=key, server=name, status="error", error=r["error"])
            self.event(f"round {rnd}: {what} on {name}: {r['error']}")
            return
        self.row(round=rnd, case=key, server=name,
                 status="ok" if "error" not in r else "error",
                 idle_conns=r["connections"], idle_still_open=r["still_open"],
                 idle_rss_before_kib=r["rss_before_kib"], idle_rss_after_kib=r["rss_after_kib"],
                 idle_kib_per_conn=r["kib_per_conn"] if r["kib_per_conn"] is not None else "",
                 idle_upstream_conns=r.get("probe", ""), error=r.get("error", ""))
        self.log(f"  {key:14} {name:9} {r['kib_per_conn']} KiB/conn "
                 f"({r['still_open']} open in {r['open_seconds']} s, "
                 f"RSS {r['rss_before_kib']} -> {r['rss_after_kib']} KiB"
                 + (f", {r['probe']} upstream connections open)" if "probe" in r else ")"))

    def idle_ws_round(self, rnd, names):
        """Memory per idle WebSocket (bench/idle_ws.py): IDLE_WS_KEY on
        wired's built-in echo, --idle-ws connections; IDLE_WS_PROXY_KEY on
        wired and nginx in front of ws_echo, --idle-ws-proxy connections,
        with the connections the application holds meanwhile (one per
        WebSocket, as each is a pipe)."""
        a = self.args
        runs = []
        if IDLE_WS_KEY in a.cases and a.idle_ws and "wired" in names:
            runs.append((IDLE_WS_KEY, "wired", a.idle_ws))
        if IDLE_WS_PROXY_KEY in a.cases and a.idle_ws_proxy:
            runs += [(IDLE_WS_PROXY_KEY, n, a.idle_ws_proxy) for n in names if n in UPSTREAM_SERVERS]
        for key, name, n in runs:
            proxied = key == IDLE_WS_PROXY_KEY
            # A proxy holds the client's descriptor and the application's;
            # nginx splits them over its workers, wired's one process holds
            # them all. Room for listeners, logs and the event loop too.
            need = (2 if proxied else 1) * n + 256
            if a.nofile < need:
                self.row(round=rnd, case=key, server=name, status="not-started",
                         error=f"open files limit {a.nofile} is below {need} for {n:,} WebSockets")
                continue
            app = self.upstream("ws") if proxied else None
            try:
                why = app.start() if app else None
                if why:
                    self.event(f"round {rnd}: ws_echo failed to start for {key}: {why}")
                    self.row(round=rnd, case=key, server=name, status="not-started",
                             error=f"upstream failed to start: {why}")
                    continue
                srv = self.server(name, app) if proxied else self.server(name, ws_echo=WS_ECHO_PATH)
                if not self.started(srv, rnd, key, name, key):
                    continue
                try:
                    r = idle_ws.measure(srv.port, srv.proc.pid, n, path=app.path if proxied else WS_ECHO_PATH,
                                        probe=app.open_connections if proxied else None)
                finally:
                    srv.stop()
            finally:
                if app:
                    app.stop()
            self.idle_row(rnd, key, name, r, "idle WebSocket test")

    def idle_round(self, rnd, names, tls=False):
        key = IDLE_TLS_KEY if tls else IDLE_KEY
        for name in names:
            srv = self.server(name)
            if not self.started(srv, rnd, key, name, "the idle test"):
                continue
            try:
                if tls:
                    r = idle_tls.measure(srv.tls_port, srv.proc.pid, self.args.tls_ca, self.args.idle)
                else:
                    r = idle.measure(srv.port, srv.proc.pid, self.args.idle)
            finally:
                srv.stop()
            if "connections" not in r:
                self.row(round=rnd, case=key, server=name, status="error", error=r["error"])
                self.event(f"round {rnd}: {'TLS ' if tls else ''}idle test on {name}: {r['error']}")
                continue
            self.row(round=rnd, case=key, server=name,
                     status="ok" if "error" not in r else "error",
                     idle_conns=r["connections"], idle_still_open=r["still_open"],
                     idle_rss_before_kib=r["rss_before_kib"], idle_rss_after_kib=r["rss_after_kib"],
                     idle_kib_per_conn=r["kib_per_conn"] if r["kib_per_conn"] is not None else "",
                     error=r.get("error", ""))
            self.log(f"  {key:14} {name:9} {r['kib_per_conn']} KiB/conn "
                     f"({r['still_open']} open in {r['open_seconds']} s, "
                     f"RSS {r['rss_before_kib']} -> {r['rss_after_kib']} KiB)")

    def idle_h2_round(self, rnd, names):
        """Memory per idle HTTP/2 connection (bench/idle_h2.py): each server
        started afresh with HTTP/2 on, --idle-h2 connections over TLS
        (IDLE_H2_KEY) and then by prior knowledge (IDLE_H2C_KEY), each with
        one request answered, then all kept open."""
        a = self.args
        for key, how in [(IDLE_H2_KEY, "tls"), (IDLE_H2C_KEY, "h2c")]:
            if key not in a.cases:
                continue
            for name in names:
                if how == "h2c" and name in H2C_UNSUPPORTED:
                    self.row(round=rnd, case=key, server=name, status="unsupported",
                             error=H2C_UNSUPPORTED[name])
                    continue
                srv = self.server(name, h2=True)
                if not self.started(srv, rnd, key, name, key):
                    continue
                try:
                    port = srv.h2_port if how == "tls" else srv.h2c_port
                    r = idle_h2.measure(port, srv.proc.pid, a.idle_h2, tls_ca=a.tls_ca if how == "tls" else None)
                finally:
                    srv.stop()
                self.idle_row(rnd, key, name, r, "idle HTTP/2 test")

    def idle_tls_in(self, rnd):
        """The TLS idle test makes its 10,000 handshakes one at a time (about
        20 s per server): --idle-tls-rounds of them, the last rounds."""
        return rnd > self.args.rounds - self.args.idle_tls_rounds

    def run(self):
        a = self.args
        self.cases = [c for c in CASES if c.key in a.cases]
        names = a.servers
        idle_proxy = a.idle_proxy if IDLE_PROXY_KEY in a.cases else 0
        versions = {n: self.server(n).version() for n in names}
        meta = {
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "mode": "quick" if a.quick else "full",
            "rounds": a.rounds, "duration_s": a.duration, "wrk_threads": a.wrk_threads,
            "workers": a.workers, "idle_connections": a.idle, "servers": names,
            "idle_tls_rounds": [r for r in range(1, a.rounds + 1) if self.idle_tls_in(r)],
            "versions": versions,
            "cases": [{"key": c.key, "label": c.label, "ws": c.ws, "gzip": c.gzip, "h2": c.h2,
                       "servers": (self.contenders(c, names) if c.own_servers else names)}
                      for c in self.cases],
            "idle_proxy_connections": idle_proxy,
            "idle_ws_connections": a.idle_ws if IDLE_WS_KEY in a.cases else 0,
            "idle_ws_proxy_connections": a.idle_ws_proxy if IDLE_WS_PROXY_KEY in a.cases else 0,
            "ws_load": {"message_bytes": WS_MESSAGE_BYTES, "in_flight": WS_WINDOW, "threads": 1},
        }
        if idle_proxy or any(c.upstream for c in self.cases) or meta["idle_ws_proxy_connections"]:
            meta["upstreams"] = upstreams.versions(a.fast_upstream, a.ws_echo_app)
        h2_idle = [k for k in (IDLE_H2_KEY, IDLE_H2C_KEY) if k in a.cases] if a.idle_h2 else []
        if any(c.h2 for c in self.cases) or h2_idle:
            meta["h2"] = {
                "client": _version_line(["h2load", "--version"]),
                "cases": {c.key: {"protocol": c.h2, "conns": c.conns, "streams": c.streams,
                                  "page_files": PAGE_ASSETS if c.path == H2_PAGE else 0}
                          for c in self.cases if c.h2},
                "idle_connections": a.idle_h2 if h2_idle else 0, "idle_keys": h2_idle,
                "h2c_unsupported": H2C_UNSUPPORTED,
                "nginx_listen": NGINX_H2_LISTEN,
            }
        if any(c.gzip for c in self.cases):
            meta["gzip"] = {
                "level": GZIP_LEVEL, "page": GZIP_PAGE,
                "page_bytes": os.path.getsize(os.path.join(a.www, GZIP_PAGE.lstrip("/"))),
                "wired": "--compress --compress-level " + str(GZIP_LEVEL),
                "nginx": " ".join(NGINX_GZIP),
                "nginx_proxied": " ".join(NGINX_GZIP + NGINX_GZIP_PROXIED),
            }
        t0 = time.monotonic()
        for rnd in range(1, a.rounds + 1):
            if any(not c.own_servers and not c.h2 for c in self.cases):
                self.log(f"round {rnd} of {a.rounds}: throughput")
                self.throughput_round(rnd, names)
            if any(c.h2 for c in self.cases):
                self.log(f"round {rnd} of {a.rounds}: HTTP/2")
                self.throughput_round(rnd, names, h2=True)
            if any(c.own_servers for c in self.cases):
                self.log(f"round {rnd} of {a.rounds}: upstreams and compression")
                self.upstream_round(rnd, names)
            if a.idle:
                self.log(f"round {rnd} of {a.rounds}: {a.idle} idle connections")
                self.idle_round(rnd, names)
            if a.idle and self.idle_tls_in(rnd):
                self.log(f"round {rnd} of {a.rounds}: {a.idle} idle TLS connections")
                self.idle_round(rnd, names, tls=True)
            if idle_proxy:
                self.log(f"round {rnd} of {a.rounds}: {idle_proxy} idle proxied connections")
                self.idle_proxy_round(rnd, names)
            if {IDLE_WS_KEY, IDLE_WS_PROXY_KEY} & set(a.cases):
                self.log(f"round {rnd} of {a.rounds}: idle WebSockets")
                self.idle_ws_round(rnd, names)
            if a.idle_h2 and {IDLE_H2_KEY, IDLE_H2C_KEY} & set(a.cases):
                self.log(f"round {rnd} of {a.rounds}: {a.idle_h2} idle HTTP/2 connections")
                self.idle_h2_round(rnd, names)
        meta["events"] = self.events
        meta["bench_seconds"] = round(time.monotonic() - t0)
        with open(os.path.join(self.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run directory (bench/runs/<time>)")
    ap.add_argument("--work", required=True, help="scratch directory for configs and logs")
    ap.add_argument("--www", required=True, help="document root every server serves")
    ap.add_argument("--wired", required=True, help="the wired binary")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--pause", type=float, default=0.1, help="seconds between runs")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--idle", type=int, default=10_000, help="idle connections (0: skip)")
    ap.add_argument("--idle-tls-rounds", type=int, default=1,
                    help="rounds (the last ones) that also run the idle test over TLS")
    ap.add_argument("--tls-cert", required=True, help="certificate chain (PEM) every TLS listener serves")
    ap.add_argument("--tls-key", required=True, help="its private key (PEM)")
    ap.add_argument("--tls-ca", required=True, help="the CA (PEM) that signed --tls-cert, for clients that verify")
    ap.add_argument("--wrk-no-resume", required=True,
                    help="wrk/no_resume.c built as a shared object: LD_PRELOAD for full handshakes")
    ap.add_argument("--fast-upstream", help="bench/upstream/fast_upstream.c built (by run.sh)")
    ap.add_argument("--idle-proxy", type=int, default=1_000,
                    help=f"client connections of the proxied idle test ({IDLE_PROXY_KEY}; 0: skip)")
    ap.add_argument("--ws-load", help="bench/ws/ws_load.c built (by run.sh): the WebSocket cases' load")
    ap.add_argument("--ws-echo-app", help="bench/upstream/ws_echo.c built (by run.sh)")
    ap.add_argument("--idle-ws", type=int, default=10_000,
                    help=f"WebSockets of the idle test on wired's built-in echo ({IDLE_WS_KEY}; 0: skip)")
    # 5,000 rather than 10,000: a proxy holds two descriptors per WebSocket,
    # and where the hard limit is 20,000 (as on the machine this was
    # written on) wired's single process cannot hold 10,000 of them.
    ap.add_argument("--idle-ws-proxy", type=int, default=5_000,
                    help=f"WebSockets of the proxied idle test ({IDLE_WS_PROXY_KEY}; 0: skip)")
    ap.add_argument("--idle-h2", type=int, default=2_000,
                    help=f"connections of the idle HTTP/2 tests ({IDLE_H2_KEY}, {IDLE_H2C_KEY}; 0: skip)")
    ap.add_argument("--nofile", type=int, default=resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    ap.add_argument("--servers", nargs="+", default=SERVERS, choices=SERVERS)
    keys = [c.key for c in CASES] + [IDLE_PROXY_KEY, IDLE_WS_KEY, IDLE_WS_PROXY_KEY, IDLE_H2_KEY, IDLE_H2C_KEY]
    ap.add_argument("--cases", nargs="+", default=keys, choices=keys,
                    help=f"throughput cases, and {IDLE_PROXY_KEY}, {IDLE_WS_KEY}, {IDLE_WS_PROXY_KEY} "
                         f"for the proxied and WebSocket idle tests, {IDLE_H2_KEY}, {IDLE_H2C_KEY} for HTTP/2's")
    args = ap.parse_args()
    ws_cases = [k for k in args.cases if k.startswith("ws-")]
    if ws_cases and not (args.ws_load and os.access(args.ws_load, os.X_OK)):
        ap.error(f"{' '.join(ws_cases)} need --ws-load (bench/ws/ws_load.c built; bench/run.sh builds it)")
    Bench(args).run()
    report.generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

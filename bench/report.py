"""summary.md and chart.svg from one run directory (runs.csv, meta.json,
criterion.txt, machine.txt). Rerunnable on an old run:

    python3 bench/report.py bench/runs/<time> [--docs docs/benchmarks.md]

With --docs, the block between the two `bench:latest` markers of that file is
replaced by this run's headline tables and chart.
"""

import csv
import json
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in bench/

import chart

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
IDLE_KEY = "idle-10k"
IDLE_TLS_KEY = "idle-tls-10k"
IDLE_PROXY_KEY = "idle-proxy-1k"
IDLE_WS_KEY = "idle-ws-10k"
IDLE_WS_PROXY_KEY = "idle-ws-proxy-5k"
IDLE_H2_KEY = "idle-h2-2k"
IDLE_H2C_KEY = "idle-h2c-2k"
WS_PROXY_KEY = "ws-proxy-c256"
WS_ECHO_KEY = "ws-echo-c256"
WS_APP = "ws_echo"
NOISY = 0.25  # share of a core used by other processes that makes a run suspect
UNSUPPORTED = "unsupported: "  # a reason that is no failure (collect, cell_text)


def load(run_dir):
    with open(os.path.join(run_dir, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(run_dir, "runs.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    parser = {}
    try:
        with open(os.path.join(run_dir, "criterion.txt")) as f:
            text = f.read()
        pat = r"browser-request/([\w-]+)\s+time:\s+\[\S+ \S+ ([\d.]+) (\S+) \S+ \S+\]"
        for name, value, unit in re.findall(pat, text):
            parser.setdefault(name, []).append(float(value) * UNITS.get(unit, 1.0))
    except OSError:
        pass
    machine = ""
    try:
        with open(os.path.join(run_dir, "machine.txt")) as f:
            machine = f.read()
    except OSError:
        pass
    return meta, rows, parser, machine


def num(row, key):
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


def collect(meta, rows):
    """stats[(metric, case)][server] = (median, min, max), or a string that
    says why a server has no figure for that case."""
    metrics = ["req_per_s", "cpu_us_per_req", "p50_us", "p99_us", "mean_us", "mib_per_s",
               "peak_rss_kib", "busiest_share", "wrk_cpu_s", "other_cpu_s", "idle_kib_per_conn",
               "idle_rss_before_kib", "idle_rss_after_kib", "other_share",
               "upstream_cpu_us_per_req", "total_cpu_us_per_req", "idle_upstream_conns",
               "bytes_per_resp", "coded_body_bytes"]
    values, reasons = {}, {}
    for r in rows:
        # The upstream cases: the server's and the application's CPU per
        # request together, what the whole stack spent (run by run).
        if num(r, "upstream_cpu_us_per_req") is not None and num(r, "cpu_us_per_req") is not None:
            r["total_cpu_us_per_req"] = f"{num(r, 'cpu_us_per_req') + num(r, 'upstream_cpu_us_per_req'):.3f}"
        k = (r["case"], r["server"])
        if r["status"] == "ok" or (r["status"] == "error" and num(r, "idle_kib_per_conn") is not None):
            for m in metrics:
                v = num(r, m)
                if v is not None:
                    values.setdefault((m, k), []).append(v)
        elif r["status"] == "unsupported":
            # Not a failure: the server cannot do what the case asks (h2c).
            reasons.setdefault(k, UNSUPPORTED + (r["error"] or ""))
        else:
            reasons.setdefault(k, r["error"] or r["status"])
    stats = {}
    cases = [c["key"] for c in meta["cases"]] + [IDLE_KEY, IDLE_TLS_KEY, IDLE_PROXY_KEY,
                                                 IDLE_WS_KEY, IDLE_WS_PROXY_KEY, IDLE_H2_KEY, IDLE_H2C_KEY]
    # The servers, and the echo application where it stood as one.
    servers = meta["servers"] + sorted({s for c in meta["cases"] for s in c.get("servers", [])}
                                       - set(meta["servers"]))
    for case in cases:
        for server in servers:
            for m in metrics + ["peak_rss_mib"]:
                src = "peak_rss_kib" if m == "peak_rss_mib" else m
                vs = values.get((src, (case, server)))
                if m == "peak_rss_mib" and vs:
                    vs = [v / 1024 for v in vs]
                cell = (statistics.median(vs), min(vs), max(vs)) if vs else reasons.get((case, server))
                if cell is not None:
                    stats.setdefault((m, case), {})[server] = cell
    return stats


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is not None:
        return f"{v:,.{digits}f}"
    return f"{v:,.0f}" if v >= 100 else f"{v:,.2f}" if v < 10 else f"{v:,.1f}"


def cell_text(cell, ratio_to=None, digits=None, show_range=True):
    if cell is None:
        return "–"
    if not isinstance(cell, tuple):
        if cell.startswith(UNSUPPORTED):
            return "–"
        short = cell if len(cell) < 60 else cell[:57] + "…"
        return f"**failed**: {short}"
    med, lo, hi = cell
    s = fmt(med, digits)
    if show_range and lo != hi:
        s += f" ({fmt(lo, digits)}–{fmt(hi, digits)})"
    if ratio_to is not None and isinstance(ratio_to, tuple) and ratio_to[0]:
        s += f" ×{med / ratio_to[0]:.2f}"
    return s


def best_peer(cells, better):
    """wired's median over the best other server's, as text: `×1.04 (h2o)`.
    better is max (more is better: requests/s) or min (less is better: CPU,
    memory); "–" when wired or every peer lacks a figure."""
    ours = cells.get("wired")
    peers = {s: c for s, c in cells.items() if s != "wired" and isinstance(c, tuple) and c[0]}
    if not isinstance(ours, tuple) or not peers:
        return "–"
    name = better(peers, key=lambda s: peers[s][0])
    return f"×{ours[0] / peers[name][0]:.2f} ({name})"


def table(meta, stats, metric, cases, digits=None, ratio=True, show_range=True, better=None):
    """One row per case, one column per server; with `better` (max or min)
    a last column, wired ÷ the best peer."""
    servers = meta["servers"]
    head = servers + (["wired ÷ best peer"] if better else [])
    out = ["| case | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for key, label in cases:
        cells = stats.get((metric, key), {})
        base = cells.get("wired") if ratio else None
        row = [cell_text(cells.get(s), base if s != "wired" else None, digits, show_range)
               for s in servers]
        if better:
            row.append(best_peer(cells, better))
        out.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(out)


# The HTTPS figures side by side: (case, metric, label, which is better, digits).
HTTPS_ROWS = [
    ("https-1k-c64", "req_per_s", "1 KiB, keep-alive, 64 conns: requests/s", max, None),
    ("https-1k-c64", "cpu_us_per_req", "1 KiB, keep-alive, 64 conns: CPU µs/request", min, 2),
    ("https-handshake-c64", "req_per_s", "full handshakes/s (one request each, 64 conns)", max, None),
    ("https-handshake-c64", "cpu_us_per_req", "CPU µs per handshake (and its request)", min, 2),
    ("https-10m-c8", "mib_per_s", "10 MiB, keep-alive, 8 conns: MiB/s", max, None),
    ("https-10m-c8", "cpu_us_per_req", "10 MiB, keep-alive, 8 conns: CPU µs/request", min, 2),
    (IDLE_TLS_KEY, "idle_kib_per_conn", "idle HTTPS connection: KiB each", min, 2),
]


def https_table(meta, stats):
    """The HTTPS cases in one table, medians, with wired ÷ the best peer; ""
    for a run without them."""
    keys = {c["key"] for c in meta["cases"]} | {IDLE_TLS_KEY}
    rows = [r for r in HTTPS_ROWS if r[0] in keys and stats.get((r[1], r[0]))]
    if not rows:
        return ""
    servers = meta["servers"]
    out = ["| HTTPS | " + " | ".join(servers) + " | wired ÷ best peer |",
           "|---|" + "---:|" * (len(servers) + 1)]
    for key, metric, label, better, digits in rows:
        cells = stats.get((metric, key), {})
        row = [cell_text(cells.get(s), None, digits, show_range=False) for s in servers]
        row.append(best_peer(cells, better))
        out.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(out)


# The upstream figures side by side: (case, metric, label, which is better
# or None, digits, scale).
UPSTREAM_ROWS = [
    ("proxy-1k-c64", "req_per_s", "proxy, fast upstream, 1 KiB, 64 conns: requests/s", max, None, 1),
    ("proxy-1k-c64", "cpu_us_per_req", "proxy: server CPU µs/request", min, 2, 1),
    ("proxy-1k-c64", "upstream_cpu_us_per_req", "proxy: the upstream's CPU µs/request", None, 2, 1),
    ("proxy-1k-c64", "p99_us", "proxy: p99 latency, ms", min, 2, 1e-3),
    ("php-c16", "req_per_s", "PHP via php-fpm, 16 conns: requests/s", max, None, 1),
    ("php-c16", "cpu_us_per_req", "PHP: server CPU µs/request", min, 2, 1),
    ("php-c16", "upstream_cpu_us_per_req", "PHP: php-fpm's CPU µs/request", None, 2, 1),
    ("php-c16", "p99_us", "PHP: p99 latency, ms", min, 2, 1e-3),
    ("flask-c16", "req_per_s", "Flask via gunicorn, 16 conns: requests/s", max, None, 1),
    ("flask-c16", "cpu_us_per_req", "Flask: server CPU µs/request", min, 2, 1),
    ("flask-c16", "upstream_cpu_us_per_req", "Flask: gunicorn's CPU µs/request", None, 2, 1),
    ("flask-c16", "p99_us", "Flask: p99 latency, ms", min, 2, 1e-3),
    (IDLE_PROXY_KEY, "idle_kib_per_conn", "idle proxied connection: KiB each", min, 2, 1),
    (IDLE_PROXY_KEY, "idle_upstream_conns", "idle proxied: upstream connections held", None, 0, 1),
]


def upstream_servers(meta):
    """The servers the upstream cases ran on (wired and nginx)."""
    for c in meta["cases"]:
        if c["key"] in {r[0] for r in UPSTREAM_ROWS}:
            return c.get("servers", meta["servers"])
    return [s for s in meta["servers"] if s in ("wired", "nginx")]


def upstream_table(meta, stats):
    """The upstream cases in one table, medians, with wired ÷ the best peer
    where one is better; "" for a run without them."""
    keys = {c["key"] for c in meta["cases"]} | {IDLE_PROXY_KEY}
    rows = [r for r in UPSTREAM_ROWS if r[0] in keys and stats.get((r[1], r[0]))]
    if not rows:
        return ""
    servers = upstream_servers(meta)
    out = ["| upstreams | " + " | ".join(servers) + " | wired ÷ best peer |",
           "|---|" + "---:|" * (len(servers) + 1)]
    for key, metric, label, better, digits, scale in rows:
        cells = stats.get((metric, key), {})
        if scale != 1:
            cells = {s: (c[0] * scale, c[1] * scale, c[2] * scale) if isinstance(c, tuple) else c
                     for s, c in cells.items()}
        row = [cell_text(cells.get(s), None, digits, show_range=False) for s in servers]
        row.append(best_peer(cells, better) if better else "")
        out.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(out)


# The WebSocket echo configurations, one row each: (case, server, label).
WS_ROWS = [
    (WS_PROXY_KEY, "wired", "wired `--ws-proxy` → ws_echo"),
    (WS_PROXY_KEY, "nginx", "nginx `proxy_pass` → ws_echo"),
    (WS_ECHO_KEY, "wired", "wired `--ws-echo` (built in)"),
    (WS_ECHO_KEY, WS_APP, "ws_echo alone (the application, no proxy)"),
]
# Pairs set side by side: (case, ours, peer, label).
WS_RATIOS = [
    (WS_PROXY_KEY, "wired", "nginx", "proxied: wired ÷ nginx"),
    (WS_ECHO_KEY, "wired", WS_APP, "built in: wired ÷ ws_echo alone"),
]


def ws_table(meta, stats):
    """The WebSocket echo cases, one row per configuration, medians, then
    the ratios that compare them; "" for a run without them."""
    keys = {c["key"] for c in meta["cases"]}
    rows = [r for r in WS_ROWS if r[0] in keys]
    if not rows:
        return ""

    def med(metric, case, server, scale=1.0):
        cell = stats.get((metric, case), {}).get(server)
        return cell[0] * scale if isinstance(cell, tuple) else None

    out = ["| WebSocket echo | messages/s | server CPU µs/message | ws_echo's CPU µs/message | p50 / p99 latency, ms |",
           "|---|---:|---:|---:|---:|"]
    for case, server, label in rows:
        cell = stats.get(("req_per_s", case), {}).get(server)
        if not isinstance(cell, tuple):
            out.append(f"| {label} | {cell_text(cell)} | | | |")
            continue
        app = med("upstream_cpu_us_per_req", case, server) if case == WS_PROXY_KEY else None
        p50, p99 = med("p50_us", case, server, 1e-3), med("p99_us", case, server, 1e-3)
        out.append(f"| {label} | {fmt(cell[0])} | {fmt(med('cpu_us_per_req', case, server), 2)} | "
                   f"{fmt(app, 2) if app is not None else ''} | "
                   f"{fmt(p50, 2)} / {fmt(p99, 2)} |")
    for case, ours, peer, label in WS_RATIOS:
        if case not in keys:
            continue
        cells = []
        for metric in ("req_per_s", "cpu_us_per_req"):
            a, b = med(metric, case, ours), med(metric, case, peer)
            cells.append(f"×{a / b:.2f}" if a is not None and b else "–")
        out.append(f"| {label} | {cells[0]} | {cells[1]} | | |")
    return "\n".join(out)


# The compression cases, one row per server: (case, server, label).
GZIP_STATIC_KEY = "gzip-100k-c64"
GZIP_PROXY_KEY = "gzip-proxy-100k-c64"
GZIP_ROWS = [
    (GZIP_STATIC_KEY, "wired", "static: wired (compressed once, then kept)"),
    (GZIP_STATIC_KEY, "nginx", "static: nginx (compressed for every request)"),
    (GZIP_PROXY_KEY, "wired", "proxied: wired (compressed as it streams)"),
    (GZIP_PROXY_KEY, "nginx", "proxied: nginx (compressed as it streams)"),
]


def gzip_table(meta, stats):
    """The compression cases, one row per server and case, medians, with
    the compressed size beside the speed (a server that compresses less
    spends less CPU); then wired ÷ nginx per case. "" without them."""
    keys = {c["key"] for c in meta["cases"]}
    rows = [r for r in GZIP_ROWS if r[0] in keys]
    if not rows:
        return ""

    def med(metric, case, server):
        cell = stats.get((metric, case), {}).get(server)
        return cell[0] if isinstance(cell, tuple) else None

    out = ["| gzip | requests/s | server CPU µs/request | gzip body, bytes | bytes per answer "
           "| upstream CPU µs/request |",
           "|---|---:|---:|---:|---:|---:|"]
    for case, server, label in rows:
        cell = stats.get(("req_per_s", case), {}).get(server)
        if not isinstance(cell, tuple):
            out.append(f"| {label} | {cell_text(cell)} | | | | |")
            continue
        up = med("upstream_cpu_us_per_req", case, server)
        out.append(f"| {label} | {fmt(cell[0])} | {fmt(med('cpu_us_per_req', case, server), 2)} | "
                   f"{fmt(med('coded_body_bytes', case, server), 0)} | "
                   f"{fmt(med('bytes_per_resp', case, server), 0)} | "
                   f"{fmt(up, 2) if up is not None else ''} |")
    for case, label in [(GZIP_STATIC_KEY, "static: wired ÷ nginx"), (GZIP_PROXY_KEY, "proxied: wired ÷ nginx")]:
        if case not in keys:
            continue
        cells = []
        for metric in ("req_per_s", "cpu_us_per_req", "coded_body_bytes", "bytes_per_resp"):
            a, b = med(metric, case, "wired"), med(metric, case, "nginx")
            # Two figures for a small ratio (static CPU can be ×0.0034).
            cells.append("–" if a is None or not b else f"×{a / b:.2f}" if a / b >= 0.1 else f"×{a / b:.2g}")
        out.append(f"| {label} | " + " | ".join(cells) + " | |")
    return "\n".join(out)


# The HTTP/2 figures side by side: (case, metric, label, which is better,
# digits); the labels' case part comes from meta.
H2_METRICS = [("req_per_s", "requests/s", max, None), ("cpu_us_per_req", "CPU µs/request", min, 2)]


def h2_table(meta, stats):
    """The HTTP/2 cases and idle tests in one table, medians, with wired ÷
    h2o (the issue's target peer) and wired ÷ the best peer; "" for a run
    without them."""
    servers = meta["servers"]
    rows = []
    for c in meta["cases"]:
        if c.get("h2"):
            for metric, what, better, digits in H2_METRICS:
                rows.append((c["key"], metric, f"`{c['key']}`: {what}", better, digits))
    h2 = meta.get("h2", {})
    for key, what in [(IDLE_H2_KEY, "idle h2 (TLS) connection"), (IDLE_H2C_KEY, "idle h2c connection")]:
        if key in h2.get("idle_keys", []):
            rows.append((key, "idle_kib_per_conn",
                         f"`{key}`: {what}, KiB each ({h2.get('idle_connections', 0):,})", min, 2))
    rows = [r for r in rows if stats.get((r[1], r[0]))]
    if not rows:
        return ""
    out = ["| HTTP/2 | " + " | ".join(servers) + " | wired ÷ h2o | wired ÷ best peer |",
           "|---|" + "---:|" * (len(servers) + 2)]
    for key, metric, label, better, digits in rows:
        cells = stats.get((metric, key), {})
        row = [cell_text(cells.get(s), None, digits, show_range=False) for s in servers]
        ours, h2o = cells.get("wired"), cells.get("h2o")
        row.append(f"×{ours[0] / h2o[0]:.2f}" if isinstance(ours, tuple) and isinstance(h2o, tuple) and h2o[0]
                   else "–")
        row.append(best_peer(cells, better))
        out.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(out)


def h2_part(meta, stats):
    """The HTTP/2 table with the words that explain it, as lines; [] for a
    run without the HTTP/2 cases."""
    table_text = h2_table(meta, stats)
    if not table_text:
        return []
    h2 = meta.get("h2", {})
    unsupported = sorted({(s, cell[len(UNSUPPORTED):]) for (m, k), cells in stats.items()
                          if m == "req_per_s" or m == "idle_kib_per_conn"
                          for s, cell in cells.items() if isinstance(cell, str) and cell.startswith(UNSUPPORTED)})
    lines = [
        f"HTTP/2 ({h2.get('client', 'h2load')}, one thread (two for the 1 KiB cases), for the run's duration; "
        "h2-*: h2 by ALPN over TLS, h2c-*: h2c by prior knowledge), medians. -m streams in "
        "flight on each connection, at most what the server allows (lighttpd 1.4.69 allows 8; "
        "each server's SETTINGS are in raw/h2-<server>.txt). The page cases fetch the 100 "
        "files of /page/ (1-4 KiB each) over one connection, 100 at a time, again and again. "
        "Every server was checked to speak HTTP/2 on both ports before it was measured, and a run "
        "counts only if h2load spoke h2 (h2c) and every request succeeded. Idle: connections each "
        "with one request answered over HTTP/2, then kept open (bench/idle_h2.py). Ratios: above 1 "
        "is better for requests/s, below 1 for CPU and memory.",
        "",
        table_text,
        "",
    ]
    if unsupported:
        lines += ["–: " + "; ".join(f"{s}: {why}" for s, why in unsupported), ""]
    return lines


def gzip_part(meta, stats):
    """The compression table with the words that explain it, as lines; []
    for a run without the compression cases."""
    table_text = gzip_table(meta, stats)
    if not table_text:
        return []
    g = meta.get("gzip", {})
    return [
        f"Compression, gzip level {g.get('level', '?')} in both servers, wrk sending "
        f"`Accept-Encoding: gzip`, the {g.get('page_bytes', 0):,}-byte HTML page of "
        "bench/html_page.py, 64 connections, medians. Static: wired compresses the file on the "
        "first request that accepts gzip and keeps the result in its open-file cache, so every "
        "later answer is a copy; nginx (`gzip on`) compresses it again for every request. The "
        "static row compares those two designs, not two compressors. Proxied: both compress "
        "every answer as it comes from the fast upstream, the same work. gzip body: the coded "
        "body the start check got (smaller is better for the client; a server that compresses "
        "less spends less CPU); bytes per answer: what wrk read per answer, head and chunked "
        "framing included. Ratios: above 1 is better for requests/s, below 1 for CPU and bytes.",
        "",
        table_text,
        "",
    ]


def ws_idle_table(meta, stats):
    """Memory per idle WebSocket, medians; "" for a run without it."""
    rows = [(IDLE_WS_KEY, f"wired `--ws-echo`, {meta.get('idle_ws_connections', 0):,} WebSockets"),
            (IDLE_WS_PROXY_KEY, f"proxied to ws_echo, {meta.get('idle_ws_proxy_connections', 0):,} WebSockets")]
    rows = [r for r in rows if stats.get(("idle_kib_per_conn", r[0]))]
    if not rows:
        return ""
    out = ["| idle WebSocket: server KiB each | wired | nginx | wired ÷ nginx |", "|---|---:|---:|---:|"]
    for key, label in rows:
        cells = stats.get(("idle_kib_per_conn", key), {})
        ours, theirs = cells.get("wired"), cells.get("nginx")
        ratio = (f"×{ours[0] / theirs[0]:.2f}" if isinstance(ours, tuple) and isinstance(theirs, tuple)
                 and theirs[0] else "")
        out.append(f"| {label} | {cell_text(ours, digits=2, show_range=False)} | "
                   f"{cell_text(theirs, digits=2, show_range=False) if key == IDLE_WS_PROXY_KEY else '–'} | "
                   f"{ratio} |")
    return "\n".join(out)


def ws_detail(meta, stats):
    """The summary's section on the WebSocket runs: each configuration's
    medians with their min–max, and what else used the machine meanwhile."""
    keys = {c["key"] for c in meta["cases"]}
    rows = [r for r in WS_ROWS if r[0] in keys]
    if not rows:
        return []
    out = ["## WebSocket runs (median, min–max over rounds)", "",
           "ws_load's own CPU is the client's (as wrk's CPU for the other cases); the others' share "
           "is the part of a core that other processes on the machine used meanwhile.", "",
           "| WebSocket echo | messages/s | server CPU µs/message | ws_echo's CPU µs/message "
           "| peak RSS, MiB | ws_load CPU, s | others' share |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for case, server, label in rows:
        def cell(metric, digits=None, show_range=True):
            return cell_text(stats.get((metric, case), {}).get(server), digits=digits, show_range=show_range)
        app = cell("upstream_cpu_us_per_req", 2, False) if case == WS_PROXY_KEY else ""
        out.append(f"| {label} | {cell('req_per_s')} | {cell('cpu_us_per_req', 2)} | {app} | "
                   f"{cell('peak_rss_mib', 1, False)} | {cell('wrk_cpu_s', 2, False)} | "
                   f"{cell('other_share', 2, False)} |")
    return out + [""]


def ws_part(meta, stats):
    """The WebSocket tables with the words that explain them, as lines;
    [] for a run without WebSocket cases."""
    echo, idle_ws = ws_table(meta, stats), ws_idle_table(meta, stats)
    if not (echo or idle_ws):
        return []
    load = meta.get("ws_load", {})
    parts = []
    if echo:
        parts += [
            f"WebSockets (bench/ws/ws_load.c, one thread: {load.get('message_bytes', 64)}-byte masked "
            f"text messages, {load.get('in_flight', 1)} in flight per connection, each echo checked), "
            "medians. Proxied: wired and nginx in front of the same echo application "
            "(bench/upstream/ws_echo.c, C, one thread); server CPU is the proxy's own, the "
            "application's is apart. Built in: wired's --ws-echo, whose peer is the echo "
            "application alone, measured directly (nginx has no echo of its own). Ratios: above 1 "
            "is better for messages/s, below 1 for CPU.",
            "",
            echo,
            "",
        ]
    if idle_ws:
        parts += [
            "Memory per idle WebSocket (bench/idle_ws.py: a handshake and one echoed message on "
            "each, then all kept open): server RSS with them open minus before, per connection.",
            "",
            idle_ws,
            "",
        ]
    return parts


def headline(meta, stats, parser, chart_link):
    """The tables docs/benchmarks.md shows for the latest run."""
    # The WebSocket cases count messages, not requests: their own table;
    # the HTTP/2 cases have theirs, set beside h2o.
    cases = [(c["key"], c["label"]) for c in meta["cases"] if not c.get("ws") and not c.get("h2")]
    n = meta["rounds"]
    parts = [] if not cases else [
        f"Requests per second: median of {n} run{'s' if n > 1 else ''} (min–max), "
        "×ratio = server ÷ wired (above 1: more requests per second than wired); "
        "last column, wired ÷ the peer with the most (above 1: wired leads).",
        "",
        table(meta, stats, "req_per_s", cases, better=max),
        "",
        "Server CPU time per request, µs (user + system over all of the server's "
        "processes and threads, divided by the requests wrk completed; "
        "×ratio = server ÷ wired, above 1: more CPU per request than wired; "
        "last column, wired ÷ the peer with the least (below 1: wired spends less)).",
        "",
        table(meta, stats, "cpu_us_per_req", cases, digits=2, better=min),
        "",
    ]
    if any(c.get("servers", meta["servers"]) != meta["servers"] for c in meta["cases"] if not c.get("ws")):
        parts += ["–: not run; the upstream cases (proxy, PHP, Flask) and the compression cases "
                  "(gzip) run on wired and nginx only.", ""]
    # (A rerun of chosen cases has no idle test unless it names one.)
    parts += [] if not (meta.get("idle_connections") and stats.get(("idle_kib_per_conn", IDLE_KEY))) else [
        f"Memory per idle keep-alive connection, KiB ({meta.get('idle_connections', 0):,} "
        "connections; server RSS with them open minus RSS before, divided by the connections; "
        "last column, wired ÷ the peer with the least).",
        "",
        table(meta, stats, "idle_kib_per_conn",
              [(IDLE_KEY, "idle keep-alive")]
              + ([(IDLE_TLS_KEY, "idle HTTPS keep-alive")] if stats.get(("idle_kib_per_conn", IDLE_TLS_KEY)) else []),
              digits=2, better=min),
        "",
    ]
    ups = upstream_table(meta, stats)
    if ups:
        parts += [
            "Upstreams, wired and nginx in front of the same application, medians: a fast C "
            "upstream (1 KiB answers, keep-alive), php-fpm (16 children, unix socket), "
            "Flask under gunicorn (4 sync workers); the server's CPU is its own, the "
            "application's is measured apart; wired ÷ best peer: above 1 is better for "
            f"requests/s, below 1 for CPU, latency and memory. Idle: "
            f"{meta.get('idle_proxy_connections', 0):,} client connections, each after one "
            "request through the proxy.",
            "",
            ups,
            "",
        ]
    parts += gzip_part(meta, stats)
    parts += ws_part(meta, stats)
    parts += h2_part(meta, stats)
    https = https_table(meta, stats)
    if https:
        parts += [
            "HTTPS (TLS 1.3, ECDSA P-256 certificate, X25519, AES-256-GCM for every server), "
            "medians; wired ÷ best peer: above 1 is better for requests/s, handshakes/s and MiB/s, "
            "below 1 is better for CPU and memory.",
            "",
            https,
            "",
        ]
    if parser:
        parts += [parser_line(parser), ""]
    parts.append(f"![requests per second and CPU per request]({chart_link})")
    return "\n".join(parts)


def parser_line(parser):
    """The micro-benchmark: the median of each figure over the runs, and the
    overhead of wired-parser over httparse, with every run's own ratio."""
    medians = {k: statistics.median(v) for k, v in parser.items()}
    line = ("Parser micro-benchmark (criterion, one ~500-byte browser request"
            + (f", median of {len(next(iter(parser.values())))} runs" if len(next(iter(parser.values()))) > 1 else "")
            + "): " + ", ".join(f"{k} {v:.1f} ns" for k, v in medians.items()))
    base, ours = parser.get("httparse"), parser.get("wired-parser")
    if base and ours and len(base) == len(ours):
        overhead = medians["wired-parser"] / medians["httparse"] - 1
        runs = ", ".join(f"{o / b - 1:+.1%}" for b, o in zip(base, ours))
        line += f": wired-parser adds {overhead:+.1%} (each run: {runs})"
    return line + "."


def noise(rows):
    """Per run, the share of one core that other processes (not the server,
    not wrk) used meanwhile; and how many runs passed NOISY."""
    shares = []
    for r in rows:
        other, secs = num(r, "other_cpu_s"), num(r, "duration_s")
        if other is not None and secs:
            r["other_share"] = f"{other / secs:.2f}"
            shares.append(other / secs)
    return sum(1 for x in shares if x > NOISY), len(shares)


def summary(meta, rows, parser, machine, stats):
    # The per-server tables below leave out the WebSocket cases: the
    # headline's WebSocket table has them (with the echo application).
    cases = [(c["key"], c["label"]) for c in meta["cases"] if not c.get("ws")]
    first = {l.split(":", 1)[0]: l.split(":", 1)[1].strip()
             for l in machine.splitlines() if ":" in l}
    lines = [
        f"# wired benchmark, {meta['started_utc']} UTC ({meta['mode']} run)",
        "",
        f"{first.get('cpu', '?')}, {first.get('nproc', '?')} cores, Linux {first.get('kernel', '?')}; "
        f"wired {first.get('wired commit', '?')}. Full details in `machine.txt`; "
        "every run in `runs.csv`; wrk's own output in `raw/`; the servers' configurations "
        "and logs in `servers/`.",
        "",
        f"Method: {meta['rounds']} round{'s' if meta['rounds'] != 1 else ''}; in each, every case runs against "
        f"{', '.join(meta['servers'])} in turn (interleaved, so drift hits all alike; who goes first "
        "turns with every case and round), "
        f"{meta['duration_s']} s per run, `wrk -t{meta['wrk_threads']} --latency` from the same "
        f"machine over 127.0.0.1. Every server has {meta['workers']} workers, sendfile "
        "(h2o 2.2 has none), no access log, keep-alive 75 s with no practical request limit. "
        "wrk uses one thread: on this 2-core machine the client and the server share the "
        "cores, so requests per second measures client + server together; CPU time per request "
        "is the server's cost alone.",
        "",
    ]
    if meta.get("upstreams"):
        lines += [
            "Upstream cases (wired and nginx only): the application starts once per case and "
            "round and serves both servers in turn; the server's CPU per request is its own, "
            "the application's (`upstream_cpu_s` in `runs.csv`) is measured apart. "
            + "; ".join(f"{k}: {v}" for k, v in meta["upstreams"].items()) + ".",
            "",
        ]
    lines += [
        "## Servers",
        "",
        "| server | version | started |",
        "|---|---|---|",
    ]
    for s in meta["servers"]:
        fails = [e for e in meta.get("events", []) if f" {s} " in f" {e} " and "start" in e]
        status = "yes, every time"
        if fails:
            status = (f"**no**, {len(fails)} time{'s' if len(fails) > 1 else ''}; first: "
                      + fails[0].split(": ", 1)[-1].replace("|", "/"))
        lines.append(f"| {s} | {meta['versions'].get(s, '?')} | {status} |")
    lines += ["", "## Headline", "", headline(meta, stats, parser, "chart.svg"), ""]
    if cases:
        lines += [
            "## Latency (median over rounds of wrk's p50 / p99, ms)",
            "",
            "| case | " + " | ".join(meta["servers"]) + " |",
            "|---|" + "---:|" * len(meta["servers"]),
        ]
        for key, label in cases:
            row = []
            for s in meta["servers"]:
                p50 = stats.get(("p50_us", key), {}).get(s)
                p99 = stats.get(("p99_us", key), {}).get(s)
                mean = stats.get(("mean_us", key), {}).get(s)
                if not (isinstance(p50, tuple) and isinstance(p99, tuple)):
                    # h2load prints no percentiles: its mean instead.
                    row.append(f"mean {mean[0] / 1000:.2f}" if isinstance(mean, tuple) else "–")
                elif p99[0] < p50[0]:
                    # wrk sometimes prints 0.00us for its upper percentiles (seen
                    # with pipelining): not a latency, so not reported as one.
                    row.append(f"{p50[0] / 1000:.2f} / n/a")
                else:
                    row.append(f"{p50[0] / 1000:.2f} / {p99[0] / 1000:.2f}")
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        lines += [
            "",
            "Pipelined latency is per batch of 16. n/a: wrk printed 0.00us for its p99 (it does so at times when requests are pipelined). "
            "mean: h2load (the HTTP/2 cases) prints no percentiles, only the mean time for a request.",
            "",
            "## Transfer, MiB/s (median)",
            "",
            table(meta, stats, "mib_per_s", cases, ratio=False, show_range=False),
            "",
            "## Peak RSS during the run, MiB (VmHWM summed over the server's processes, median)",
            "",
            table(meta, stats, "peak_rss_mib", cases, digits=1, ratio=False),
            "",
            "nginx's workers allocate their connection tables (worker_connections, sized for the "
            "idle test) at start; h2o's tree includes its perl crash-handler process.",
            "",
        ]
    lines += [
        "## Idle connections, server RSS before → with them open, MiB (median)",
        "",
        "| | " + " | ".join(meta["servers"]) + " |",
        "|---|" + "---:|" * len(meta["servers"]),
    ]
    for key, what in [(IDLE_KEY, "RSS"), (IDLE_TLS_KEY, "RSS, HTTPS"),
                      (IDLE_PROXY_KEY, f"RSS, proxied ({meta.get('idle_proxy_connections', 0):,} conns)"),
                      (IDLE_WS_KEY, f"RSS, WebSockets, built-in echo ({meta.get('idle_ws_connections', 0):,})"),
                      (IDLE_WS_PROXY_KEY,
                       f"RSS, WebSockets, proxied ({meta.get('idle_ws_proxy_connections', 0):,})"),
                      (IDLE_H2_KEY, f"RSS, HTTP/2 over TLS ({meta.get('h2', {}).get('idle_connections', 0):,})"),
                      (IDLE_H2C_KEY, f"RSS, h2c ({meta.get('h2', {}).get('idle_connections', 0):,})")]:
        row = []
        for s in meta["servers"]:
            b = stats.get(("idle_rss_before_kib", key), {}).get(s)
            a = stats.get(("idle_rss_after_kib", key), {}).get(s)
            row.append(f"{b[0] / 1024:.1f} → {a[0] / 1024:.1f}"
                       if isinstance(b, tuple) and isinstance(a, tuple) else "–")
        if key == IDLE_KEY or any(c != "–" for c in row):
            lines.append(f"| {what} | " + " | ".join(row) + " |")
    lines += ["",
              "RSS counts the server's own memory; socket buffers live in the kernel and are not in it.",
              ""]
    if cases:
        lines += ["## Balance: the busiest thread's share of the server's CPU (median)", "",
                  f"With {meta['workers']} workers, {1 / meta['workers']:.2f} is an even spread and 1.00 means "
                  "one worker did all the work (the others idled). wired and nginx (`reuseport`) give "
                  "each worker its own listening socket; h2o 2.2 and lighttpd 1.4 share one, and under "
                  "wrk's burst of connects one worker tends to accept most of them.", "",
                  table(meta, stats, "busiest_share", cases, digits=2, ratio=False, show_range=False),
                  "", "## wrk's own CPU (median seconds per run)", "",
                  table(meta, stats, "wrk_cpu_s", cases, digits=2, ratio=False, show_range=False), ""]
    up_cases = [(k, l) for k, l in cases if stats.get(("upstream_cpu_us_per_req", k))]
    if up_cases:
        lines += ["## The application's own CPU in the upstream cases (median µs per request)", "",
                  "The upstream's processes (fast_upstream, php-fpm's master and children, "
                  "gunicorn's arbiter and workers), measured apart from the server's; then "
                  "server and application together.", "",
                  table(meta, stats, "upstream_cpu_us_per_req", up_cases, digits=2, show_range=False), "",
                  table(meta, stats, "total_cpu_us_per_req", up_cases, digits=2, show_range=False), ""]
    lines += ws_detail(meta, stats)

    problems = [f"round {r['round']} {r['case']} {r['server']}: {r['error']}"
                for r in rows if r["error"] and r["status"] not in ("not-started", "unsupported")]
    lines += ["## Errors and events", ""]
    lines += [f"- {e}" for e in meta.get("events", [])] + [f"- {p}" for p in problems]
    if not meta.get("events") and not problems:
        lines.append("None: every server started every round and every run finished without errors.")
    noisy, total = noise(rows)
    niced = "nice -n -10" in first.get("priority of the servers, wrk and criterion", "")
    verdict = "the machine was quiet."
    if noisy:
        verdict = ("something else was running. With one wrk thread the benchmark leaves part of "
                   "the two cores idle, and background work fills it"
                   + ("; the servers and wrk ran at nice -10, so they were seldom kept waiting, "
                      "but caches and memory bandwidth were shared" if niced else "")
                   + ". Trust the ratios more than the absolute figures, or rerun on a quiet machine.")
    lines += ["", "## Noise: CPU used by other processes during each run (share of one core, median)", "",
              f"{noisy} of {total} runs saw other processes on the machine use more than "
              f"{NOISY:.0%} of a core: {verdict}", "",
              table(meta, stats, "other_share", cases, digits=2, ratio=False, show_range=False) if cases
              else "(The WebSocket runs' figures are in their own section above.)"]
    lines.append("")
    return "\n".join(lines)


def update_docs(docs, run_dir, meta, stats, parser):
    begin, end = "<!-- bench:latest:begin -->", "<!-- bench:latest:end -->"
    with open(docs) as f:
        text = f.read()
    if begin not in text or end not in text:
        print(f"{docs}: no {begin} … {end} block; not updated", file=sys.stderr)
        return
    rel = os.path.relpath(run_dir, os.path.dirname(os.path.abspath(docs)))
    block = (f"{begin}\nLatest full run: [{os.path.basename(run_dir)}]({rel}/summary.md), "
             f"{meta['started_utc']} UTC.\n\n"
             + headline(meta, stats, parser, f"{rel}/chart.svg") + f"\n{end}")
    head, rest = text.split(begin, 1)
    with open(docs, "w") as f:
        f.write(head + block + rest.split(end, 1)[1])


def generate(run_dir, docs=None):
    run_dir = os.path.normpath(os.path.abspath(run_dir))
    meta, rows, parser, machine = load(run_dir)
    noisy, total = noise(rows)
    stats = collect(meta, rows)
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write(summary(meta, rows, parser, machine, stats))
    warning = f"background load during {noisy} of {total} runs" if noisy > total // 10 else ""
    chart.render(meta, stats, parser, os.path.join(run_dir, "chart.svg"), warning)
    if docs:
        update_docs(docs, run_dir, meta, stats, parser)


if __name__ == "__main__":
    args = sys.argv[1:]
    docs = None
    if "--docs" in args:
        i = args.index("--docs")
        docs = args[i + 1]
        del args[i : i + 2]
    generate(args[0], docs)

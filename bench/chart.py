"""chart.svg, drawn by hand: grouped bars, one small plot per case, each with
its own scale (1 KiB requests and 10 MiB requests differ a thousandfold).

Row 1: requests per second. Row 2: server CPU time per request. Row 3:
memory per idle connection, and the parser micro-benchmark. Bars are the
median over rounds; the thin whisker spans the fastest and slowest round.
"""

import math
import statistics
from html import escape

# ws_echo: the WebSocket echo application, measured alone as the peer of
# wired's built-in echo (ws-echo-c256).
COLORS = {"wired": "#D55E00", "nginx": "#009E73", "h2o": "#0072B2", "lighttpd": "#CC79A7",
          "ws_echo": "#8C8C8C"}
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

WIDTH = 1280
MARGIN = 24
CELL_H = 212  # one row of small plots, titles and ratios included
PLOT_H = 150  # the bars' area inside a cell


def compact(v):
    if v is None:
        return "–"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def tick_label(v, step):
    if v == 0:
        return "0"
    if v >= 1000:
        return compact(v)
    if step == int(step):
        return f"{v:.0f}"
    return f"{v:.1f}" if step >= 0.1 else f"{v:.2f}"


def nice_step(top, ticks=4):
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


class Svg:
    def __init__(self):
        self.parts = []

    def text(self, x, y, s, size=12, anchor="middle", weight="normal", fill="#222", rotate=None):
        tr = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{tr}>{escape(s)}</text>')

    def rect(self, x, y, w, h, fill, stroke="none"):
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                          f'fill="{fill}" stroke="{stroke}"/>')

    def line(self, x1, y1, x2, y2, stroke="#222", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{stroke}" stroke-width="{width}"{d}/>')


def small_plot(svg, x, y, w, title, servers, cells, ratios=True):
    """One case: a bar per server. cells[server] = (median, lo, hi) or a
    string saying why there is no figure. Under each other server's bar, its
    median as a multiple of wired's."""
    top = max([c[2] for c in cells.values() if isinstance(c, tuple)] or [1.0]) or 1.0
    step = nice_step(top)
    top = step * math.ceil(top * 1.12 / step)
    axis_x = x + 40
    plot_w = w - 48
    base = y + 34 + PLOT_H

    def ypos(v):
        return base - PLOT_H * v / top

    # Title above, two lines at most.
    words = title.split(", ", 1)
    svg.text(x + w / 2, y + 12, words[0], size=12, weight="bold")
    if len(words) > 1:
        svg.text(x + w / 2, y + 26, words[1], size=11, fill="#444")
    tick = 0.0
    while tick <= top + 1e-9:
        svg.line(axis_x, ypos(tick), axis_x + plot_w, ypos(tick), stroke="#ddd")
        svg.text(axis_x - 4, ypos(tick) + 4, tick_label(tick, step), size=10, anchor="end", fill="#666")
        tick += step
    svg.line(axis_x, base, axis_x + plot_w, base, stroke="#444")
    slot = plot_w / len(servers)
    bar_w = min(34.0, slot * 0.72)
    for i, name in enumerate(servers):
        cx = axis_x + slot * (i + 0.5)
        cell = cells.get(name, "no data")
        if not isinstance(cell, tuple):
            svg.text(cx, base - 6, "failed" if "start" in cell else "error", size=10,
                     fill="#b00", rotate=-90, anchor="start")
            continue
        med, lo, hi = cell
        svg.rect(cx - bar_w / 2, ypos(med), bar_w, base - ypos(med), COLORS[name])
        if hi > lo:
            svg.line(cx, ypos(hi), cx, ypos(lo), stroke="#222", width=1.2)
            svg.line(cx - 5, ypos(hi), cx + 5, ypos(hi), stroke="#222", width=1.2)
            svg.line(cx - 5, ypos(lo), cx + 5, ypos(lo), stroke="#222", width=1.2)
        svg.text(cx, min(ypos(hi), ypos(med)) - 5, compact(med), size=10)
        ref = cells.get("wired")
        if ratios and name != "wired" and isinstance(ref, tuple) and ref[0]:
            svg.text(cx, base + 14, f"×{med / ref[0]:.2f}", size=10, fill="#555")
    if ratios:
        svg.text(axis_x - 4, base + 14, "÷ wired", size=9, anchor="end", fill="#777")


def render(meta, stats, parser, path, warning=""):
    """stats[(metric, case)][server] -> (median, lo, hi) or a reason string."""
    servers = meta["servers"]
    cases = meta["cases"]
    # The WebSocket cases count messages, not requests (each plot's title
    # says so), and ws-echo-c256's peer is the echo application alone.
    ws = any(c.get("ws") for c in cases)
    legend = servers + [s for c in cases for s in c.get("servers", []) if s not in servers]
    # At most 7 small plots side by side: more cases wrap onto further
    # lines (twelve cases: two lines of six per metric).
    lines = max(1, math.ceil(len(cases) / 7))
    ncol = max(1, math.ceil(len(cases) / lines))
    width = WIDTH
    cell_w = (width - 2 * MARGIN) / ncol
    height = 84 + 2 * (lines * CELL_H + 30) + CELL_H + 30
    svg = Svg()
    svg.rect(0, 0, width, height, "#fff")
    svg.text(MARGIN, 30, f"wired vs nginx, h2o, lighttpd — {meta['started_utc']} UTC, "
             f"{meta['mode']} run: median of {meta['rounds']} round{'s' if meta['rounds'] != 1 else ''} × {meta['duration_s']} s, "
             f"{meta['workers']} workers each, wrk {meta['wrk_threads']} thread",
             size=16, anchor="start", weight="bold")
    lx = MARGIN
    for name in dict.fromkeys(legend):
        svg.rect(lx, 46, 14, 14, COLORS[name])
        svg.text(lx + 20, 58, name, size=13, anchor="start")
        lx += 30 + 9 * len(name) + 20
    if warning:
        svg.text(width - MARGIN, 58, warning, size=12, anchor="end", fill="#b00", weight="bold")
    svg.text(lx + 10, 58, "bar: median;  whisker: min–max over rounds;  ×n: median ÷ wired's", size=12,
             anchor="start", fill="#555")

    rows = [
        ("req_per_s", "Requests per second" + (" (WebSocket cases: messages)" if ws else "")
         + " — higher is better", "req/s"),
        ("cpu_us_per_req", "Server CPU time per request" + (" (WebSocket cases: per message)" if ws else "")
         + ", µs (user + system, all processes) — lower is better", "µs"),
    ]
    y = 84
    for metric, heading, _unit in rows:
        svg.text(MARGIN, y + 8, heading, size=14, anchor="start", weight="bold")
        for i, case in enumerate(cases):
            # The upstream cases ran on wired and nginx only: no bars for the others.
            small_plot(svg, MARGIN + (i % ncol) * cell_w, y + 20 + (i // ncol) * CELL_H, cell_w,
                       case["label"], case.get("servers", servers), stats.get((metric, case["key"]), {}))
        y += lines * CELL_H + 30

    svg.text(MARGIN, y + 8, "Memory", size=14, anchor="start", weight="bold")
    cell_w = (width - 2 * MARGIN) / 8
    idle = stats.get(("idle_kib_per_conn", "idle-10k"), {})
    idle_tls = stats.get(("idle_kib_per_conn", "idle-tls-10k"), {})
    idle_proxy = stats.get(("idle_kib_per_conn", "idle-proxy-1k"), {})
    peak = stats.get(("peak_rss_mib", "1k-c256"), {})
    plots = [(f"RSS per idle connection, KiB, {meta.get('idle_connections', 0):,} keep-alive conns",
              servers, idle)]
    if idle_tls:
        plots.append((f"RSS per idle HTTPS connection, KiB, {meta.get('idle_connections', 0):,} conns",
                      servers, idle_tls))
    if idle_proxy:
        plots.append((f"RSS per idle proxied connection, KiB, {meta.get('idle_proxy_connections', 0):,} conns",
                      [s for s in servers if s in idle_proxy], idle_proxy))
    if peak:
        plots.append(("Peak RSS, MiB, 1 KiB at 256 conns", servers, peak))
    # Four plots leave the parser's lines too little room at 1.5 cells each.
    plot_w = cell_w * (1.5 if len(plots) <= 3 else 1.2)
    px = MARGIN
    for title, who, cells in plots:
        small_plot(svg, px, y + 20, plot_w, title, who, cells)
        px += plot_w
    px += cell_w * 0.2
    svg.text(px, y + 52, "Parser micro-benchmark (criterion, one ~500-byte browser request)",
             size=13, anchor="start", weight="bold")
    if parser:
        # Each figure is a list, one per run: the median is shown.
        for j, (name, runs) in enumerate(parser.items()):
            ns = statistics.median(runs)
            svg.text(px, y + 80 + 22 * j, f"{name}: {ns:.1f} ns/request", size=13, anchor="start")
    else:
        svg.text(px, y + 80, "not run", size=13, anchor="start", fill="#b00")

    body = "\n".join(svg.parts)
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" font-family="{FONT}">\n{body}\n</svg>\n')

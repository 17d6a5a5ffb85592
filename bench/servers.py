"""The four servers under test: how each is configured, started in the
foreground on its own 127.0.0.1 port, checked, and stopped by its PID.

Every server gets the same shape (see bench/conf/*.conf.in): the same number
of workers as wired, sendfile where the server has it, no access log,
keep-alive with no practical per-connection request limit and a 75 s idle
timeout (wired's default), and room for the 10,000 idle connections. Each
also listens with TLS on a second port: the same certificate (ECDSA P-256,
made by run.sh), TLS 1.2 and 1.3, the same TLS 1.2 suites in the same order
(TLS12_CIPHERS), session tickets on.

In the upstream cases a server stands in front of an application instead
(upstreams.py; wired and nginx only): Server(upstream=...) starts it with
--proxy or --fastcgi (nginx: conf/nginx-proxy.conf.in or
nginx-fastcgi.conf.in), plain HTTP only, and checks an answer through it.
In front of the WebSocket echo application (upstream kind "ws"), wired gets
--ws-proxy and nginx conf/nginx-ws.conf.in, and the check is one echoed
message through the server. Server("wired", ws_echo=PATH) is wired with its
built-in echo endpoint instead (--ws-echo), checked the same way.

In the compression cases (Server(gzip=True), wired and nginx only, alone or
in front of the fast upstream) wired gets --compress at GZIP_LEVEL and
nginx the gzip directives of NGINX_GZIP in its configuration; the start
check then also asks for GZIP_PAGE with `Accept-Encoding: gzip` and
refuses the server unless it answers gzip-coded and the decoded body is the
page byte for byte; that answer's head and size are kept (gzip_sample) for
the record.

In the HTTP/2 cases (Server(h2=True), all four servers) each server speaks
h2 by ALPN on a TLS port and h2c by prior knowledge on a plain one
(h2_port, h2c_port): wired with --http2; nginx on two further listeners
with `http2` (nginx 1.22 has `listen ... http2`, not the later `http2 on;`,
and a plain `http2` listener speaks nothing but h2c, so its HTTP/1.1 ports
stay as they are); h2o and lighttpd as in every case (h2 and h2c are their
defaults, said aloud in their configurations). The start check then also
fetches H2_CHECK_PATHS over both with curl and refuses the server unless
curl says HTTP/2 and every body is the file byte for byte: a server that
fell back to HTTP/1.1 cannot produce figures.
"""

import grp
import gzip
import hashlib
import http.client
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import time

import procstat
import wsclient

HERE = os.path.dirname(os.path.abspath(__file__))

# The files every server serves from one document root (made by run.sh).
FILES = {"/index.html": 1024, "/100k.bin": 100 * 1024, "/1m.bin": 1024 * 1024,
         "/10m.bin": 10 * 1024 * 1024, "/100k.html": 100 * 1024}

# The page of the HTTP/2 page cases: PAGE_ASSETS small files, made by
# run.sh (1-4 KiB each, sizes from page_asset_size), fetched as one page.
PAGE_DIR = "/page"
PAGE_ASSETS = 100


def page_asset_size(i):
    """The size of /page/asset<i>.css: spread over 1-4 KiB, the same every run."""
    return 1024 + (i * 977) % 3073


def page_paths():
    return [f"{PAGE_DIR}/asset{i}.css" for i in range(PAGE_ASSETS)]


# What the HTTP/2 start check fetches over h2 and h2c (curl), byte for byte.
H2_CHECK_PATHS = ["/index.html", f"{PAGE_DIR}/asset0.css", f"{PAGE_DIR}/asset{PAGE_ASSETS - 1}.css", "/10m.bin"]
# nginx's extra listeners in the HTTP/2 cases, put in place of @h2_listen@
# in conf/nginx.conf.in (a comment otherwise).
NGINX_H2_LISTEN = [
    "listen 127.0.0.1:@h2_tls_port@ ssl http2 reuseport;",
    "listen 127.0.0.1:@h2c_port@ http2 reuseport;",
]

# The compression cases: the page they fetch (bench/html_page.py; the fast
# upstream answers with it in gzip-proxy-100k-c64) and the gzip level both
# servers are given (wired's default; nginx's is 1).
GZIP_PAGE = "/100k.html"
GZIP_LEVEL = 5
# nginx's gzip settings, put in place of @gzip@ in conf/nginx.conf.in and
# nginx-proxy.conf.in. No gzip_types: nginx always compresses text/html,
# its default, and naming it again only draws a "duplicate MIME type"
# warning at every start. 256 bytes is wired's --compress-min-length
# default; gzip_vary because wired sends Vary: Accept-Encoding with a coded
# answer, so both heads carry it. nginx's other defaults stay: gzip_buffers
# 32 4k (the 26 KiB of output here fits), zlib's window and memory level.
NGINX_GZIP = [
    "gzip on;",
    f"gzip_comp_level {GZIP_LEVEL};",
    "gzip_min_length 256;",
    "gzip_vary on;",
]
# In front of an upstream, also gzip_proxied any. It is about requests that
# came through another proxy (with a Via field): nginx leaves their answers
# as they are by default. wrk sends no Via, so here it changes nothing; it
# is said so that nginx compresses whatever wired would.
NGINX_GZIP_PROXIED = ["gzip_proxied any;"]


# Idle upstream connections kept per worker, by wired (--upstream-keepalive)
# and nginx (`keepalive` in conf/nginx-proxy.conf.in, nginx-fastcgi.conf.in).
UPSTREAM_KEEPALIVE = 32
# CGI variables for FastCGI, from Debian's nginx-common.
FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"


def free_port():
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# TLS 1.2 suites for the OpenSSL-based servers, in OpenSSL's names: ECDHE
# with AES-GCM or ChaCha20-Poly1305, in the order wired's rustls (ring
# provider) has them, which it also prefers over the client's. TLS 1.3
# suites stay every library's default (all three AEADs, ECDHE always).
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
])


def stop_tree(proc, starts, grace):
    """SIGTERM to `proc`, SIGKILL after `grace` seconds; then SIGKILL to any
    other process of `starts` (PID -> start time, from procstat.start_time)
    still there: only those PIDs, and only while they name the same process."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for pid, started in starts.items():
        if pid != proc.pid and started is not None and procstat.start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    out = (p.stdout + p.stderr).strip().splitlines()
    return out[0].strip() if out else "unknown"


class Server:
    """One server under test. start() returns None or why it failed."""

    def __init__(self, name, work, www, workers, nofile, wired_bin, tls, upstream=None, ws_echo=None,
                 gzip=False, h2=False):
        self.name = name
        # HTTP/2 on (the h2-* and h2c-* cases): serving files only.
        self.h2 = h2
        if h2 and (upstream is not None or ws_echo is not None or gzip):
            raise ValueError("the HTTP/2 cases serve files only")
        # An upstreams.Upstream, already running, for the upstream cases.
        self.upstream = upstream
        # wired only: the path of its built-in WebSocket echo (--ws-echo),
        # served alone (no TLS listener, no other check).
        self.ws_echo = ws_echo
        if ws_echo is not None and name != "wired":
            raise ValueError(f"{name} has no built-in WebSocket echo")
        # Compression on (the gzip-* cases): wired and nginx only, serving
        # files or in front of an HTTP upstream.
        self.gzip = gzip
        if gzip and (name not in ("wired", "nginx") or ws_echo is not None
                     or (upstream is not None and upstream.via != "proxy")):
            raise ValueError(f"{name} is not configured for the compression cases here")
        # The answer the gzip check got: {"head", "body_bytes", "framing"}.
        self.gzip_sample = None
        # Names this configuration's template: nginx, nginx-proxy,
        # wired-fastcgi, nginx-ws, wired-ws-echo; and its files, with
        # "-gzip" added when compression is on (nginx-gzip, nginx-proxy-gzip).
        self.template = f"{name}-{upstream.via}" if upstream else f"{name}-ws-echo" if ws_echo else name
        self.label = self.template + ("-gzip" if gzip else "") + ("-h2" if h2 else "")
        self.work = work
        self.www = www
        self.workers = workers
        self.nofile = nofile
        self.wired_bin = wired_bin
        # {"cert": PEM, "key": PEM, "ca": PEM that signed cert}
        self.tls = tls
        self.port = None
        self.tls_port = None
        # Where it speaks h2 (TLS, ALPN) and h2c (prior knowledge): its own
        # ports, or nginx's extra listeners; None unless h2.
        self.h2_port = None
        self.h2c_port = None
        self.proc = None
        self.log = None
        self.log_offset = 0
        self.pids = []
        self.starts = {}

    # -- configuration -------------------------------------------------

    def _config(self):
        """Write this server's config from its template; return its path."""
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        values = {
            "workers": str(self.workers),
            "user": user,
            "group": group,
            "nofile": str(self.nofile),
            # Leave a few descriptors per process for files, logs, listeners;
            # lighttpd wants two per connection and clamps to half otherwise.
            "connections": str(self.nofile // 2 - 16 if self.name == "lighttpd"
                               else self.nofile - 256),
            "work": self.work,
            "port": str(self.port),
            "www": self.www,
            "tls_port": str(self.tls_port),
            "tls_cert": self.tls["cert"],
            "tls_key": self.tls["key"],
            "tls12_ciphers": TLS12_CIPHERS,
        }
        if self.h2_port is not None and self.h2_port != self.tls_port:
            values["h2_tls_port"] = str(self.h2_port)
            values["h2c_port"] = str(self.h2c_port)
        if self.upstream is not None:
            values["upstream_port"] = str(self.upstream.port)
            values["fpm_socket"] = self.upstream.socket
            values["fastcgi_params"] = FASTCGI_PARAMS
        with open(os.path.join(HERE, "conf", f"{self.template}.conf.in")) as f:
            text = f.read()
        if self.gzip and "@gzip@" not in text:
            raise ValueError(f"{self.template}.conf.in has no @gzip@ for the gzip directives")
        # The gzip directives at the placeholder's indentation, or a comment.
        m = re.search(r"^([ \t]*)@gzip@", text, re.M)
        if m:
            if not self.gzip:
                lines = ["# gzip off (not a compression case)"]
            elif self.upstream is not None:
                lines = NGINX_GZIP + NGINX_GZIP_PROXIED
            else:
                lines = NGINX_GZIP
            values["gzip"] = ("\n" + m.group(1)).join(lines)
        # nginx's HTTP/2 listeners at the placeholder's indentation, or a comment.
        m = re.search(r"^([ \t]*)@h2_listen@", text, re.M)
        if m:
            lines = NGINX_H2_LISTEN if self.h2 else ["# no HTTP/2 listeners (not an HTTP/2 case)"]
            text = text.replace("@h2_listen@", ("\n" + m.group(1)).join(lines))
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        if re.search(r"@[a-z0-9_]+@", text):
            raise ValueError(f"unfilled @placeholder@ left in {self.template}.conf.in")
        path = os.path.join(self.work, "conf", f"{self.label}.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def command(self):
        if self.upstream is not None:
            return self._upstream_command()
        if self.ws_echo is not None:
            return [self.wired_bin, "--root", self.www, "--listen", f"127.0.0.1:{self.port}",
                    "--workers", str(self.workers), "--ws-echo", self.ws_echo]
        if self.name == "wired":
            return [self.wired_bin, "--root", self.www,
                    "--listen", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                    "--listen-tls", f"127.0.0.1:{self.tls_port}",
                    "--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]] + self._wired_gzip() \
                + (["--http2"] if self.h2 else [])
        conf = self._config()
        if self.name == "nginx":
            return ["nginx", "-p", self.work, "-e", f"{self.work}/logs/nginx-error.log", "-c", conf]
        if self.name == "h2o":
            return ["h2o", "-c", conf]
        if self.name == "lighttpd":
            return ["lighttpd", "-D", "-f", conf]
        raise ValueError(self.name)

    def _wired_gzip(self):
        """wired's compression flags: off unless a compression case. The
        minimum length (256) and the types (text/html among them) are its
        defaults, and what NGINX_GZIP gives nginx."""
        return ["--compress", "--compress-level", str(GZIP_LEVEL)] if self.gzip else []

    def _upstream_command(self):
        """In front of an application: plain HTTP, no TLS listener."""
        u = self.upstream
        if self.name == "wired":
            cmd = [self.wired_bin, "--root", self.www,
                   "--listen", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
            if u.via == "ws":
                # The handshake checked, then a byte pipe: no upstream
                # keep-alive is involved (a piped connection is never reused).
                return cmd + ["--ws-proxy", f"{u.path}={u.url()}/"]
            if u.via == "fastcgi":
                # Kept FastCGI connections, as nginx's fastcgi_keep_conn on
                # (off by default in both).
                cmd += ["--fastcgi", f".php=unix:{u.socket}", "--fastcgi-keep-conn"]
            else:
                cmd += ["--proxy", f"/={u.url()}"]
            # The default, said aloud: nginx's `keepalive 32`.
            return cmd + ["--upstream-keepalive", str(UPSTREAM_KEEPALIVE)] + self._wired_gzip()
        if self.name == "nginx":
            if u.via == "fastcgi" and not os.path.exists(FASTCGI_PARAMS):
                raise OSError(f"{FASTCGI_PARAMS} is missing (package nginx-common)")
            return ["nginx", "-p", self.work, "-e", f"{self.work}/logs/{self.label}-error.log",
                    "-c", self._config()]
        raise ValueError(f"{self.name} is not configured for the upstream cases")

    def version(self):
        if self.name == "wired":
            return _version([self.wired_bin, "--version"])
        if self.name == "nginx":
            return _version(["nginx", "-v"])
        if self.name == "h2o":
            return _version(["h2o", "--version"])
        return _version(["lighttpd", "-v"])

    # -- lifecycle -----------------------------------------------------

    def start(self, timeout=15.0):
        """Start in the foreground and wait until every file is served
        correctly. Returns None when ready, else a one-line reason."""
        self.port = free_port()
        self.tls_port = free_port()
        while self.tls_port == self.port:
            self.tls_port = free_port()
        if self.h2 and self.name == "nginx":
            taken = {self.port, self.tls_port}
            self.h2_port = free_port()
            while self.h2_port in taken:
                self.h2_port = free_port()
            taken.add(self.h2_port)
            self.h2c_port = free_port()
            while self.h2c_port in taken:
                self.h2c_port = free_port()
        elif self.h2:
            self.h2_port, self.h2c_port = self.tls_port, self.port
        for sub in ("conf", "logs", "run", "tmp"):
            os.makedirs(os.path.join(self.work, sub), exist_ok=True)
        try:
            cmd = self.command()
        except (OSError, ValueError) as e:
            return f"config: {e}"
        self.log = os.path.join(self.work, "logs", f"{self.label}.out")
        with open(self.log, "ab") as log:
            log.write(f"\n== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            try:
                # A session of its own: lighttpd's master stops its workers
                # with kill(0, SIGTERM), which would otherwise reach us too.
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=self.work,
                                             start_new_session=True)
            except OSError as e:
                self.proc = None
                return f"cannot run {cmd[0]}: {e}"
        deadline = time.monotonic() + timeout
        reason = "never answered"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with status {self.proc.returncode} at start: {self.log_tail()}"
            reason = self.check()
            if reason is None:
                self.refresh_pids()
                return None
            time.sleep(0.1)
        self.stop()
        return f"not ready after {timeout:.0f} s: {reason}"

    def check(self):
        """None if every benchmark file comes back 200 with the right bytes,
        over plain HTTP and over TLS (the certificate verified for
        localhost against the benchmark's CA). In front of an application:
        if the case's path comes back right through the server. With a
        WebSocket echo, built in or behind: if one message comes back."""
        if self.ws_echo is not None:
            why = wsclient.echo_check(self.port, self.ws_echo)
            return f"WebSocket {self.ws_echo}: {why}" if why else None
        why = self._check_upstream() if self.upstream is not None else self._check_files()
        if why is None and self.gzip:
            why = self._check_gzip()
        if why is None and self.h2:
            why = self._check_h2()
        return why

    def _check_files(self):
        ctx = ssl.create_default_context(cafile=self.tls["ca"])
        for (path, size), tls in [(f, False) for f in FILES.items()] + [(f, True) for f in FILES.items()]:
            try:
                if tls:
                    # Verified for the certificate's name, sent as SNI; the
                    # address stays 127.0.0.1 (localhost may resolve to ::1).
                    c = http.client.HTTPConnection("127.0.0.1", self.tls_port, timeout=5)
                    c.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port), 5),
                                             server_hostname="localhost")
                else:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                c.close()
            except (OSError, http.client.HTTPException) as e:
                return f"GET {path}{' (TLS)' if tls else ''}: {e.__class__.__name__}: {e}"
            what = f"GET {path}{' (TLS)' if tls else ''}"
            if r.status != 200:
                return f"{what}: status {r.status}"
            if len(body) != size:
                return f"{what}: {len(body)} bytes, expected {size}"
            with open(os.path.join(self.www, path.lstrip("/")), "rb") as f:
                if hashlib.sha256(f.read()).digest() != hashlib.sha256(body).digest():
                    return f"{what}: body differs from the file"
        return None

    def _check_upstream(self):
        path = self.upstream.path
        if self.upstream.via == "ws":
            why = wsclient.echo_check(self.port, path)
            return f"WebSocket {path} through {self.name}: {why}" if why else None
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
        except (OSError, http.client.HTTPException) as e:
            return f"GET {path}: {e.__class__.__name__}: {e}"
        why = self.upstream.validate(r.status, body)
        return f"GET {path} through {self.name}: {why}" if why else None

    def _check_gzip(self):
        """None if GZIP_PAGE, asked for with `Accept-Encoding: gzip`, comes
        back 200 with `Content-Encoding: gzip` and decodes to the page byte
        for byte (served, or through the proxy from the fast upstream). Asked
        twice: wired compresses a static file on the first request that
        accepts a coding and keeps the result, so the second answer is the
        one the benchmark's requests get. Keeps that answer's head and the
        coded body's size in gzip_sample."""
        with open(os.path.join(self.www, GZIP_PAGE.lstrip("/")), "rb") as f:
            page = f.read()
        what = f"GET {GZIP_PAGE} with Accept-Encoding: gzip" + (" through the proxy" if self.upstream else "")
        for _ in range(2):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", GZIP_PAGE, headers={"Accept-Encoding": "gzip"})
                r = c.getresponse()
                # http.client takes chunked framing off, not the content coding.
                coded = r.read()
                c.close()
            except (OSError, http.client.HTTPException) as e:
                return f"{what}: {e.__class__.__name__}: {e}"
            if r.status != 200:
                return f"{what}: status {r.status}"
            coding = r.getheader("Content-Encoding", "")
            if coding.strip().lower() != "gzip":
                return f"{what}: Content-Encoding {coding or 'absent'}, {len(coded)} bytes"
            try:
                decoded = gzip.decompress(coded)
            except (OSError, EOFError) as e:
                return f"{what}: the body does not decode as gzip: {e}"
            if decoded != page:
                return f"{what}: decodes to {len(decoded)} bytes that differ from the page"
        head = f"HTTP/1.{r.version % 10} {r.status} {r.reason}\n" + "".join(
            f"{k}: {v}\n" for k, v in r.getheaders())
        self.gzip_sample = {
            "head": head, "body_bytes": len(coded), "page_bytes": len(page),
            "framing": "chunked" if r.chunked else f"Content-Length {r.getheader('Content-Length')}",
        }
        return None

    def _check_h2(self):
        """None if curl gets every H2_CHECK_PATHS file over HTTP/2 on both
        ports, 200 and byte for byte: by ALPN on h2_port (the certificate
        verified for localhost) and by prior knowledge on h2c_port."""
        out = os.path.join(self.work, "tmp", "h2-check.body")
        for port, how in [(self.h2_port, "tls"), (self.h2c_port, "h2c")]:
            for path in H2_CHECK_PATHS:
                if how == "tls":
                    cmd = ["curl", "--http2", "--cacert", self.tls["ca"],
                           "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}{path}"]
                else:
                    cmd = ["curl", "--http2-prior-knowledge", f"http://127.0.0.1:{port}{path}"]
                cmd[1:1] = ["-s", "-S", "--max-time", "10", "-o", out, "-w", "%{http_version} %{http_code}"]
                what = f"GET {path} over {'h2 (TLS)' if how == 'tls' else 'h2c'}"
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
                except (OSError, subprocess.TimeoutExpired) as e:
                    return f"{what}: curl: {e}"
                if p.returncode != 0:
                    return f"{what}: curl exit status {p.returncode}: {' '.join(p.stderr.split())[:120]}"
                version, _, status = p.stdout.strip().partition(" ")
                if version != "2":
                    return f"{what}: curl got HTTP/{version}, not HTTP/2"
                if status != "200":
                    return f"{what}: status {status}"
                with open(os.path.join(self.www, path.lstrip("/")), "rb") as f:
                    want = hashlib.sha256(f.read()).digest()
                with open(out, "rb") as f:
                    if hashlib.sha256(f.read()).digest() != want:
                        return f"{what}: body differs from the file"
        return None

    def refresh_pids(self):
        """The server's process tree now; remembered so stop() can reach
        every process even once the parent has gone."""
        if self.proc is None:
            self.pids = []
            return self.pids
        self.pids = procstat.tree(self.proc.pid)
        for pid in self.pids:
            self.starts.setdefault(pid, procstat.start_time(pid))
        return self.pids

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=12.0):
        """SIGTERM to the server's own PID, then SIGKILL after `grace`
        seconds; then any descendant still there, by its PID."""
        if self.proc is None:
            return
        if self.alive():
            self.refresh_pids()
        stop_tree(self.proc, self.starts, grace)
        self.proc = None
        self.pids = []
        self.starts = {}

    def log_tail(self, lines=3):
        """The last lines the server printed since its latest start."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""
        tail = [l.strip() for l in text.splitlines() if l.strip()][-lines:]
        return " | ".join(tail) if tail else "(it printed nothing)"

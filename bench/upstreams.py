"""The applications behind the servers in the upstream cases: how each is
started in the foreground, checked, measured and stopped by its PID.

    fast   bench/upstream/fast_upstream.c: HTTP/1.1 keep-alive, the same
           1 KiB answer to every request (proxy-1k-c64, the proxied idle
           test). Built by bench/run.sh.
    fast-html
           the same program answering with the 100 KiB HTML page of the
           document root, 100k.html (gzip-proxy-100k-c64: the servers
           compress it on its way through).
    php    php-fpm, one static pool on a unix socket, running
           bench/upstream/page.php from the document root (php-c16).
    flask  gunicorn, sync workers, bench/upstream/app.py (flask-c16).
    ws     bench/upstream/ws_echo.c: a WebSocket echo server (ws-proxy-c256
           behind the proxies, ws-echo-c256 alone, the idle WebSocket
           test). Built by bench/run.sh.

Each starts once per case and round, and serves wired and nginx in turn;
servers.py configures them in front of it (Server(upstream=...)). Its
processes are measured apart from the server's: their CPU time is the
application's cost, not the proxy's.
"""

import glob
import http.client
import json
import os
import pwd
import grp
import shutil
import socket
import subprocess
import sys
import time

import procstat
import wsclient
from servers import free_port, stop_tree, _version

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.join(HERE, "upstream")

# The fast upstream's threads. One is enough to stay far ahead of any proxy
# here (about 200,000 requests/s alone with wrk on this machine) and takes
# the fewest context switches from the two cores the proxy and wrk share.
FAST_THREADS = 1
# php-fpm children: one per client connection of php-c16 (see
# conf/php-fpm.conf.in for why not fewer).
PHP_CHILDREN = 16
# ws_echo's threads, one for the same reasons as FAST_THREADS (alone, it
# echoes about 200,000 64-byte messages a second here).
WS_THREADS = 1
# gunicorn sync workers: each serves one request at a time on a connection
# of its own, closed after the answer (sync workers do no keep-alive).
GUNICORN_WORKERS = 4

KINDS = ("fast", "fast-html", "php", "flask", "ws")
# What fast-html answers with (and its path, which fast_upstream ignores).
HTML_PAGE = "100k.html"


def php_fpm_binary():
    """Debian names it php-fpmX.Y in /usr/sbin; elsewhere often php-fpm."""
    found = shutil.which("php-fpm")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/sbin/php-fpm*"))
    return candidates[-1] if candidates else None


def versions(fast_bin, ws_bin=None):
    """One line per application, for meta.json."""
    fpm = php_fpm_binary()
    py = sys.executable
    return {
        "fast": f"bench/upstream/fast_upstream.c ({fast_bin}), {FAST_THREADS} thread",
        "ws_echo": f"bench/upstream/ws_echo.c ({ws_bin}), {WS_THREADS} thread",
        "php-fpm": _version([fpm, "-v"]) if fpm else "not found",
        "gunicorn": _version([py, "-c", "import importlib.metadata as m; "
                              "print('gunicorn', m.version('gunicorn'), 'flask', m.version('flask'), "
                              "'python', __import__('platform').python_version())"]),
    }


class Upstream:
    """One application. start() returns None or why it failed.

    via: how a server reaches it, "proxy" (HTTP on 127.0.0.1:port),
    "fastcgi" (a unix socket) or "ws" (WebSocket handshakes passed on to
    127.0.0.1:port, then a byte pipe); path: what the case requests through
    the server; validate(status, body): None if an answer is right (HTTP
    only: a WebSocket is checked with wsclient.echo_check)."""

    def __init__(self, kind, work, www, fast_bin, ws_bin=None):
        if kind not in KINDS:
            raise ValueError(kind)
        self.kind = kind
        self.work = work
        self.www = www
        self.fast_bin = fast_bin
        self.ws_bin = ws_bin
        self.via = {"php": "fastcgi", "ws": "ws"}.get(kind, "proxy")
        # ws_echo answers a handshake at any path: /ws is the proxies' prefix.
        self.path = {"fast": "/", "fast-html": "/" + HTML_PAGE, "php": "/page.php",
                     "flask": "/api/items", "ws": "/ws"}[kind]
        self.port = None
        self.socket = os.path.join(work, "run", "php-fpm.sock")
        self.proc = None
        self.log = None
        self.log_offset = 0
        self.starts = {}

    # -- what a server is told -------------------------------------------

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def validate(self, status, body):
        if status != 200:
            return f"status {status}"
        if self.kind in ("fast", "fast-html"):
            name = HTML_PAGE if self.kind == "fast-html" else "index.html"
            with open(os.path.join(self.www, name), "rb") as f:
                if body != f.read():
                    return f"{len(body)} bytes, not {name}"
        elif self.kind == "php":
            if b"<?php" in body or not body.rstrip().endswith(b"</html>"):
                return f"not the page's output: {body[:60]!r}"
            if not 1024 <= len(body) <= 2048:
                return f"{len(body)} bytes, expected 1-2 KiB"
        else:
            try:
                if json.loads(body)["count"] != 10:
                    return "JSON without count 10"
            except (ValueError, KeyError, TypeError):
                return f"not the JSON: {body[:60]!r}"
        return None

    # -- lifecycle -------------------------------------------------------

    def _php_config(self):
        values = {
            "work": self.work,
            "user": pwd.getpwuid(os.getuid()).pw_name,
            "group": grp.getgrgid(os.getgid()).gr_name,
            "fpm_socket": self.socket,
            "children": str(PHP_CHILDREN),
        }
        with open(os.path.join(HERE, "conf", "php-fpm.conf.in")) as f:
            text = f.read()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        path = os.path.join(self.work, "conf", "php-fpm.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def command(self):
        if self.kind in ("fast", "fast-html"):
            if not self.fast_bin or not os.access(self.fast_bin, os.X_OK):
                raise OSError(f"no fast_upstream binary ({self.fast_bin}); bench/run.sh builds it")
            cmd = [self.fast_bin, str(self.port), str(FAST_THREADS)]
            return cmd + ([os.path.join(self.www, HTML_PAGE)] if self.kind == "fast-html" else [])
        if self.kind == "ws":
            if not self.ws_bin or not os.access(self.ws_bin, os.X_OK):
                raise OSError(f"no ws_echo binary ({self.ws_bin}); bench/run.sh builds it")
            return [self.ws_bin, str(self.port), str(WS_THREADS)]
        if self.kind == "php":
            fpm = php_fpm_binary()
            if fpm is None:
                raise OSError("php-fpm not found (bench/run.sh installs it)")
            # -F: foreground; -R: allowed to run as root (the harness's user).
            return [fpm, "-F", "-y", self._php_config()] + (["-R"] if os.getuid() == 0 else [])
        return [sys.executable, "-m", "gunicorn", "--workers", str(GUNICORN_WORKERS),
                "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}",
                "--chdir", APP_DIR, "--graceful-timeout", "5", "--log-level", "warning", "app:app"]

    def start(self, timeout=20.0):
        for sub in ("conf", "logs", "run"):
            os.makedirs(os.path.join(self.work, sub), exist_ok=True)
        self.port = free_port()
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        try:
            cmd = self.command()
        except OSError as e:
            return str(e)
        self.log = os.path.join(self.work, "logs", f"{self.kind}.out")
        with open(self.log, "ab") as log:
            log.write(f"\n== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            try:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=os.path.join(self.work, "run"),
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
        """None once the application answers. php-fpm speaks FastCGI only:
        its socket accepting is enough here; the servers' own start check
        then runs the page through it. ws_echo: one echoed message."""
        if self.kind == "php":
            if not os.path.exists(self.socket):
                return "no socket yet"
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(self.socket)
            except OSError as e:
                return f"socket: {e}"
            return None
        if self.kind == "ws":
            why = wsclient.echo_check(self.port, self.path)
            return f"WebSocket {self.path}: {why}" if why else None
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            c.request("GET", self.path)
            r = c.getresponse()
            body = r.read()
            c.close()
        except (OSError, http.client.HTTPException) as e:
            return f"GET {self.path}: {e.__class__.__name__}: {e}"
        why = self.validate(r.status, body)
        return f"GET {self.path}: {why}" if why else None

    def refresh_pids(self):
        if self.proc is None:
            return []
        pids = procstat.tree(self.proc.pid)
        for pid in pids:
            self.starts.setdefault(pid, procstat.start_time(pid))
        return pids

    def cpu_seconds(self):
        """user + system time of its whole process tree so far."""
        return procstat.cpu_seconds(self.refresh_pids())

    def open_connections(self):
        """Connected sockets its processes hold now (its listening socket
        not counted): the connections servers keep to it."""
        count = 0
        for pid in self.refresh_pids():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                        count += 1
                except OSError:
                    pass
        return max(0, count - 1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=10.0):
        if self.proc is None:
            return
        if self.alive():
            self.refresh_pids()
        stop_tree(self.proc, self.starts, grace)
        self.proc = None
        self.starts = {}
        if self.kind == "php" and os.path.exists(self.socket):
            os.unlink(self.socket)

    def log_tail(self, lines=3):
        try:
            with open(self.log, "rb") as f:
                f.seek(self.log_offset)
                text = f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""
        tail = [l.strip() for l in text.splitlines() if l.strip()][-lines:]
        return " | ".join(tail) if tail else "(it printed nothing)"

#!/usr/bin/env python3
"""Instructions per request of wired or nginx in front of php-fpm, counted
by valgrind's callgrind: deterministic, so it measures a change on a busy
or shared machine where the timed benchmark (bench/run.sh) cannot.

    bench/instructions.py wired target/release/wired
    bench/instructions.py nginx
    bench/instructions.py wired target/release/wired --requests 200 2200 --keep DIR

Each server runs alone under callgrind with one worker (nginx: no master
process), in front of one php-fpm pool started here from
conf/php-fpm.conf.in (2 children), configured as in the php-c16 case
(wired: --fastcgi .php=unix:SOCK --fastcgi-keep-conn; nginx:
conf/nginx-fastcgi.conf.in). A client here sends wrk's request for
upstream/page.php (GET, Host only) on one keep-alive connection, one at a
time. Two runs, of N1 and N2 requests; (Ir(N2) - Ir(N1)) / (N2 - N1) is
the server's user-space instructions per request, start-up and shutdown
cancelled out. System calls and the kernel's work are not counted: use
strace -c for those. With --keep, the callgrind files stay in DIR for
callgrind_annotate.

Needs valgrind, php-fpm, and nginx for the nginx line. Every process it
starts it stops by PID.
"""

import argparse
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from upstreams import php_fpm_binary  # noqa: E402
from servers import free_port, FASTCGI_PARAMS  # noqa: E402

REQUEST = "GET /page.php HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def fill(template, values, out):
    with open(os.path.join(HERE, "conf", template)) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    with open(out, "w") as f:
        f.write(text)
    return out


def start_fpm(work):
    sock = os.path.join(work, "run", "php-fpm.sock")
    values = {"work": work, "user": USER, "group": GROUP, "fpm_socket": sock, "children": "2"}
    conf = fill("php-fpm.conf.in", values, os.path.join(work, "conf", "php-fpm.conf"))
    cmd = [php_fpm_binary(), "-F", "-y", conf] + (["-R"] if os.getuid() == 0 else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        if os.path.exists(sock):
            return proc, sock
        time.sleep(0.1)
    stop(proc, signal.SIGTERM)
    raise SystemExit("php-fpm did not start")


def stop(proc, sig):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_listening(port, proc):
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server never listened")


def requests(port, n):
    """n requests on one connection, each answered (200, chunked or with a
    Content-Length) before the next is sent."""
    s = socket.create_connection(("127.0.0.1", port))
    req = REQUEST.format(port=port).encode()
    buf = b""
    for _ in range(n):
        s.sendall(req)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = buf[:end].lower()
                if b" 200 " not in head.split(b"\r\n")[0]:
                    raise SystemExit(f"answer: {head[:80]!r}")
                if b"transfer-encoding: chunked" in head:
                    last = buf.find(b"\r\n0\r\n\r\n", end)
                    if last >= 0:
                        buf = buf[last + 7:]
                        break
                else:
                    length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                    if len(buf) >= end + 4 + length:
                        buf = buf[end + 4 + length:]
                        break
            data = s.recv(65536)
            if not data:
                raise SystemExit("the server closed the connection")
            buf += data
    s.close()


def total_instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {path}")


def one_run(args, work, sock, n):
    port = free_port()
    out = os.path.join(work, f"callgrind.{args.server}.{n}")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    www = os.path.join(work, "www")
    if args.server == "wired":
        cmd += [args.binary, "--root", www, "--listen", f"127.0.0.1:{port}", "--workers", "1",
                "--fastcgi", f".php=unix:{sock}", "--fastcgi-keep-conn", "--upstream-keepalive", "32"]
        quit_signal = signal.SIGTERM
    else:
        values = {"workers": "1", "nofile": "1024", "connections": "1024", "work": work,
                  "user": USER, "group": GROUP, "port": str(port), "www": www, "fpm_socket": sock,
                  "fastcgi_params": FASTCGI_PARAMS}
        conf = fill("nginx-fastcgi.conf.in", values, os.path.join(work, "conf", "nginx.conf"))
        with open(conf) as f:
            text = f.read().replace("master_process on;", "master_process off;")
        with open(conf, "w") as f:
            f.write(text)
        cmd += ["nginx", "-p", work, "-e", os.path.join(work, "logs", "nginx-error.log"), "-c", conf]
        quit_signal = signal.SIGQUIT
    with open(out + ".log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        wait_listening(port, proc)
        requests(port, n)
    finally:
        stop(proc, quit_signal)
    return total_instructions(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("server", choices=["wired", "nginx"])
    ap.add_argument("binary", nargs="?", help="wired's binary (a release build)")
    ap.add_argument("--requests", nargs=2, type=int, default=[200, 2200], metavar=("N1", "N2"))
    ap.add_argument("--keep", metavar="DIR", help="keep the callgrind files in DIR")
    args = ap.parse_args()
    if args.server == "wired" and not args.binary:
        ap.error("wired needs its binary")
    work = args.keep or tempfile.mkdtemp(prefix="wired-instructions-")
    for sub in ("conf", "logs", "run", "tmp", "www"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    shutil.copy(os.path.join(HERE, "upstream", "page.php"), os.path.join(work, "www", "page.php"))
    fpm, sock = start_fpm(work)
    try:
        n1, n2 = args.requests
        ir1 = one_run(args, work, sock, n1)
        ir2 = one_run(args, work, sock, n2)
    finally:
        stop(fpm, signal.SIGTERM)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{args.server}: {n1} requests {ir1:,} instructions, {n2} requests {ir2:,}: "
          f"{(ir2 - ir1) / (n2 - n1):,.0f} instructions per request")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Autobahn|Testsuite's fuzzingclient against a WebSocket echo endpoint.

Starts the server itself (wired with --ws-echo by default) on a free
127.0.0.1 port, writes a fuzzingclient spec, runs wstest under a time limit,
reads the report's index.json, prints a summary and fails if any case is
not OK, NON-STRICT or INFORMATIONAL (or its close not OK or INFORMATIONAL).
Every process it starts it stops by PID; it talks only to 127.0.0.1.

    tests/autobahn/run.py [--binary target/release/wired] [--cases full|quick|1.*,5.2]
    tests/autobahn/run.py --server-cmd 'python3 tests/autobahn/reference_echo.py --port {port}' \\
        --plain-args --no-deflate --agent reference
    tests/autobahn/run.py --url ws://127.0.0.1:9001/echo --agent other   # already running

Two variants of the server run by default, side by side in one report:
"AGENT" as started (it should accept permessage-deflate, so sections 12
and 13, whose cases offer it, must pass) and "AGENT-plain" started with
--plain-args (it refuses permessage-deflate, so UNIMPLEMENTED is accepted
there, and only in sections 12 and 13). wstest comes from the virtualenv
that tests/autobahn/install.sh makes.
"""

import argparse
import collections
import html
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FULL = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "12.*", "13.*"]
# Well under a minute on two cores: the protocol sections whole, the largest
# (16 MiB) and the most fragmented (65,536 frames) messages of section 9 and
# its two round-trip series, and the smallest payload of each compression
# corpus (12.x.1) and of each parameter set (13.x.1), which still negotiate
# permessage-deflate and send 1,000 compressed messages each.
QUICK = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*",
         "9.1.6", "9.2.6", "9.3.1", "9.4.1", "9.7.1", "9.8.1",
         "12.1.1", "12.2.1", "12.3.1", "12.4.1", "12.5.1",
         "13.1.1", "13.2.1", "13.3.1", "13.4.1", "13.5.1", "13.6.1", "13.7.1"]

GOOD = {"OK", "NON-STRICT", "INFORMATIONAL"}
GOOD_CLOSE = {"OK", "INFORMATIONAL"}
# A server that refuses permessage-deflate cannot run the compression cases.
UNIMPLEMENTED_SECTIONS = {"12", "13"}
BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "WRONG CODE", "UNCLEAN", "FAILED BY CLIENT", "MISSING"]

DEFAULT_SERVER_CMD = "{binary} --root {root} --listen 127.0.0.1:{port} --ws-echo {path}"


class Trouble(Exception):
    """The run itself went wrong (no server, a timeout): exit 3, not 1."""


def say(msg):
    print(f"[autobahn {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    # The kernel picks; the port is free again when we start the server a
    # moment later, barring a race with another process on this machine.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, name):
    """SIGTERM the process group we created for proc, then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        say(f"{name} (pid {proc.pid}) ignored SIGTERM for 5 s: SIGKILL")
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Server:
    """One server variant: started on its own port, with its log in out/."""

    def __init__(self, agent, argv, port, log_path, allow_unimplemented):
        self.agent, self.argv, self.port = agent, argv, port
        self.log_path, self.allow_unimplemented = log_path, allow_unimplemented
        self.proc = None

    def start(self, path, wait):
        say(f"starting {self.agent}: {shlex.join(self.argv)}")
        self.log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            raise Trouble(f"cannot start {self.argv[0]}: {e}")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Trouble(f"{self.agent} exited with {self.proc.returncode} before listening; "
                              f"its log ({self.log_path}):\n{tail(self.log_path)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise Trouble(f"{self.agent} did not listen on 127.0.0.1:{self.port} within {wait} s")

    def stop(self):
        if self.proc:
            stop(self.proc, self.agent)
            self.log.close()


def expand_cases(python2, cases, exclude):
    """The case ids a spec selects, as wstest itself resolves the patterns."""
    code = ("import json, sys\n"
            "from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename\n"
            "from autobahntestsuite.caseset import CaseSet\n"
            "cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)\n"
            "print(json.dumps(cs.parseSpecCases(json.loads(sys.argv[1]))))\n")
    spec = json.dumps({"cases": cases, "exclude-cases": exclude})
    out = subprocess.run([python2, "-c", code, spec], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise Trouble(f"cannot list the cases with {python2}:\n{out.stderr}")
    return json.loads(out.stdout)


def case_key(case_id):
    return tuple(int(x) for x in case_id.split("."))


def section(case_id):
    return case_id.split(".")[0]


def judge(index, servers, expected):
    """Per agent: counts by section and behavior, and the cases that fail."""
    verdicts = {}
    for srv in servers:
        results = index.get(srv.agent, {})
        by_section = collections.defaultdict(collections.Counter)
        close = collections.Counter()
        bad = []
        for case_id in expected:
            r = results.get(case_id)
            if r is None:
                by_section[section(case_id)]["MISSING"] += 1
                bad.append((case_id, "MISSING", "-", ""))
                continue
            b, bc = r["behavior"], r["behaviorClose"]
            by_section[section(case_id)][b] += 1
            close[bc] += 1
            ok = b in GOOD or (b == "UNIMPLEMENTED" and srv.allow_unimplemented
                               and section(case_id) in UNIMPLEMENTED_SECTIONS)
            # An UNIMPLEMENTED case never opened a compressed session, so
            # its close behavior (often UNIMPLEMENTED too) means nothing.
            close_ok = bc in GOOD_CLOSE or (b == "UNIMPLEMENTED" and ok)
            if not (ok and close_ok):
                bad.append((case_id, b, bc, r.get("reportfile", "")))
        verdicts[srv.agent] = {"by_section": by_section, "close": close, "bad": bad,
                               "allow_unimplemented": srv.allow_unimplemented}
    return verdicts


def table(verdict):
    by_section = verdict["by_section"]
    cols = [b for b in BEHAVIORS if any(c[b] for c in by_section.values())]
    for c in by_section.values():
        cols += [b for b in c if b not in cols]
    rows = [["section"] + cols + ["total"]]
    total = collections.Counter()
    for sec in sorted(by_section, key=int):
        c = by_section[sec]
        total.update(c)
        rows.append([sec] + [str(c[b]) for b in cols] + [str(sum(c.values()))])
    rows.append(["all"] + [str(total[b]) for b in cols] + [str(sum(total.values()))])
    return rows


def markdown(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def plain(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)


def summarize(verdicts, meta):
    """The summary twice: for the terminal, and as Markdown for docs/."""
    text, md = [], [f"# Autobahn|Testsuite: {meta['agents']}", ""]
    md += [f"- {k}: {v}" for k, v in meta["lines"]]
    for agent, v in verdicts.items():
        rows = table(v)
        closes = ", ".join(f"{k} {n}" for k, n in sorted(v["close"].items()))
        note = " (UNIMPLEMENTED accepted in sections 12-13)" if v["allow_unimplemented"] else ""
        text += ["", f"{agent}{note}", plain(rows), f"behaviorClose: {closes}"]
        md += ["", f"## {agent}{note}", "", markdown(rows), "", f"behaviorClose: {closes}"]
        if v["bad"]:
            text.append(f"{len(v['bad'])} case(s) not acceptable:")
            md += ["", "Not acceptable:", "", "| case | behavior | behaviorClose |", "|---|---|---|"]
            for case_id, b, bc, report in sorted(v["bad"], key=lambda x: case_key(x[0])):
                text.append(f"  {case_id:10} {b:16} close {bc:16} {report}")
                md.append(f"| {case_id} | {b} | {bc} |")
    return "\n".join(text), "\n".join(md) + "\n"


def copy_docs(docs, outdir, summary_md):
    os.makedirs(docs, exist_ok=True)
    with open(os.path.join(docs, "summary.md"), "w") as f:
        f.write(summary_md)
    # The index links every case to a page of its own; only the index is
    # committed, so the links become plain text rather than dead links.
    with open(os.path.join(outdir, "index.html"), encoding="utf-8") as f:
        page = f.read()
    page = re.sub(r'<a href="[^"#]*\.html">(.*?)</a>', r"\1", page, flags=re.S)
    with open(os.path.join(docs, "index.html"), "w", encoding="utf-8") as f:
        f.write(page)
    say(f"copied summary.md and index.html to {docs}")


def run_wstest(wstest, spec_path, cwd, log_path, timeout, servers, expected_count):
    say(f"wstest -m fuzzingclient: {expected_count} case(s) per agent, "
        f"{len(servers)} agent(s), at most {timeout} s")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([wstest, "-m", "fuzzingclient", "-s", spec_path], cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        started = time.monotonic()
        last_note = started
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                if now - started > timeout:
                    raise Trouble(f"wstest still running after {timeout} s; its log: {log_path}\n"
                                  f"{tail(log_path, 5)}")
                for srv in servers:
                    if srv.proc and srv.proc.poll() is not None:
                        raise Trouble(f"{srv.agent} exited with {srv.proc.returncode} during the run; "
                                      f"its log ({srv.log_path}):\n{tail(srv.log_path)}")
                if now - last_note >= 15:
                    last_note = now
                    running = re.findall(r"Running test case ID (\S+) for agent (\S+)",
                                         tail(log_path, 3))
                    if running:
                        say("running case %s for %s" % running[-1])
        finally:
            stop(proc, "wstest")
    if proc.returncode != 0:
        raise Trouble(f"wstest exited with {proc.returncode}; its log: {log_path}\n{tail(log_path)}")
    return time.monotonic() - started


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(REPO, "target/release/wired"),
                   help="the server binary, {binary} in --server-cmd (default: target/release/wired)")
    p.add_argument("--server-cmd", default=DEFAULT_SERVER_CMD,
                   help="how to start the server; {port}, {root} (a temporary directory), {path} "
                        "and {binary} are filled in (default: %(default)s)")
    p.add_argument("--plain-args", default="--ws-no-deflate",
                   help="added to --server-cmd for the plain variant: must make it refuse "
                        "permessage-deflate (default: %(default)s)")
    p.add_argument("--variants", default="deflate,plain",
                   help="which server variants to run: deflate, plain or both (default: %(default)s)")
    p.add_argument("--url", help="test a server already listening at this ws:// URL instead of starting one")
    p.add_argument("--allow-unimplemented", action="store_true",
                   help="with --url: the server refuses permessage-deflate, so accept UNIMPLEMENTED in 12-13")
    p.add_argument("--path", default="/echo", help="the echo endpoint's path (default: %(default)s)")
    p.add_argument("--agent", default="wired", help="the name in the report (default: %(default)s)")
    p.add_argument("--cases", default="full",
                   help="full, quick, or comma-separated case patterns such as 1.*,5.2,12.1.* (default: full)")
    p.add_argument("--exclude", default="", help="comma-separated case patterns to leave out")
    p.add_argument("--timeout", type=int,
                   help="seconds before the run is stopped as hung (default: 3600 full, 300 otherwise)")
    p.add_argument("--out", default=os.path.join(REPO, "target/autobahn/run"),
                   help="where the spec, logs and reports go; emptied first (default: target/autobahn/run)")
    home = os.path.join(REPO, os.environ.get("AUTOBAHN_HOME", "target/autobahn"))
    p.add_argument("--wstest", default=os.environ.get("AUTOBAHN_WSTEST", os.path.join(home, "venv/bin/wstest")),
                   help="the wstest program (default: $AUTOBAHN_WSTEST, else the virtualenv "
                        "install.sh made in $AUTOBAHN_HOME, target/autobahn)")
    p.add_argument("--docs", nargs="?", const=os.path.join(REPO, "docs/autobahn"),
                   help="also copy summary.md and the report's index.html here (default: docs/autobahn)")
    return p.parse_args()


def main():
    args = parse_args()
    if args.cases == "full":
        cases, exclude = FULL, []
    elif args.cases == "quick":
        cases, exclude = QUICK, []
    else:
        cases, exclude = [c.strip() for c in args.cases.split(",") if c.strip()], []
    exclude += [c.strip() for c in args.exclude.split(",") if c.strip()]
    # A full run took 14 minutes against the Python reference server on two
    # busy cores; the client (Python 2) is the slower side, so an hour means hung.
    timeout = args.timeout or (3600 if args.cases == "full" else 300)

    if not args.url and "{binary}" in args.server_cmd and not os.access(args.binary, os.X_OK):
        sys.exit(f"autobahn: no server binary at {args.binary} (cargo build --release, or --binary PATH)")
    if not os.access(args.wstest, os.X_OK):
        sys.exit(f"autobahn: no wstest at {args.wstest}: run tests/autobahn/install.sh first")
    python2 = os.path.join(os.path.dirname(args.wstest), "python")
    expected = expand_cases(python2, cases, exclude)
    if not expected:
        sys.exit(f"autobahn: the patterns {cases} select no case")

    outdir = os.path.abspath(args.out)
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    root = tempfile.mkdtemp(prefix="wired-autobahn-root-")

    # Killed from outside (a make or CI timeout): stop the servers and
    # wstest in the finally below, rather than leave them running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    servers = []
    if args.url:
        if not re.match(r"wss?://(127\.0\.0\.1|localhost|\[::1\])[:/]", args.url):
            sys.exit("autobahn: --url must point at this machine (127.0.0.1, localhost or [::1])")
        srv = Server(args.agent, None, None, None, args.allow_unimplemented)
        srv.url = args.url
        servers.append(srv)
    else:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        if not variants or set(variants) - {"deflate", "plain"}:
            sys.exit("autobahn: --variants takes deflate, plain or deflate,plain")
        for variant in variants:
            port = free_port()
            cmd = args.server_cmd + (" " + args.plain_args if variant == "plain" else "")
            argv = shlex.split(cmd.format(port=port, root=shlex.quote(root), path=args.path,
                                          binary=shlex.quote(args.binary)))
            agent = args.agent if variant == "deflate" else args.agent + "-plain"
            srv = Server(agent, argv, port, os.path.join(outdir, f"server-{agent}.log"), variant == "plain")
            srv.url = f"ws://127.0.0.1:{port}{args.path}"
            servers.append(srv)

    spec = {
        "outdir": "./report",
        "options": {"failByDrop": False},
        "servers": [{"agent": s.agent, "url": s.url} for s in servers],
        "cases": cases,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    spec_path = os.path.join(outdir, "fuzzingclient.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=2)

    code = 0
    try:
        for srv in servers:
            if srv.argv:
                srv.start(args.path, wait=20)
        seconds = run_wstest(args.wstest, spec_path, outdir, os.path.join(outdir, "wstest.log"),
                             timeout, servers, len(expected))
        report = os.path.join(outdir, "report")
        try:
            with open(os.path.join(report, "index.json")) as f:
                index = json.load(f)
        except (OSError, ValueError) as e:
            raise Trouble(f"no readable report index in {report}: {e}")
        verdicts = judge(index, servers, expected)
        version = subprocess.run([args.wstest, "--autobahnversion"], capture_output=True, text=True).stdout
        meta = {
            "agents": ", ".join(s.agent for s in servers),
            "lines": [
                ("run", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
                ("suite", " / ".join(l.strip() for l in version.splitlines() if l.strip()) or "?"),
                ("cases", f"{args.cases}: {', '.join(cases)}" + (f" minus {', '.join(exclude)}" if exclude else "")
                 + f" ({len(expected)} per agent)"),
                ("servers", "; ".join(f"{s.agent}: `{shlex.join(s.argv)}`" if s.argv else f"{s.agent}: {s.url}"
                                      for s in servers)),
                ("wstest time", f"{seconds:.0f} s"),
            ],
        }
        text, md = summarize(verdicts, meta)
        print(text)
        with open(os.path.join(outdir, "summary.md"), "w") as f:
            f.write(md)
        say(f"report: {os.path.join(report, 'index.html')}; summary: {os.path.join(outdir, 'summary.md')}")
        if args.docs:
            copy_docs(args.docs, report, md)
        bad = sum(len(v["bad"]) for v in verdicts.values())
        if bad:
            say(f"FAILED: {bad} case(s) not OK, NON-STRICT or INFORMATIONAL")
            code = 1
        else:
            say(f"passed: {len(expected)} case(s) x {len(servers)} agent(s) in {seconds:.0f} s")
    except Trouble as e:
        say(f"ERROR: {e}")
        code = 3
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Trouble as e:
        sys.exit(f"autobahn: {e}")

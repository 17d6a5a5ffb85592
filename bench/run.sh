#!/usr/bin/env bash
# `make bench`: wired against nginx, h2o and lighttpd on this machine, plus
# the parser micro-benchmark, and wired against nginx as a reverse proxy and
# a FastCGI gateway (a fast C upstream, php-fpm, Flask under gunicorn), with
# gzip (a 100 KiB HTML page, served and proxied), and with WebSockets
# (wired's proxy against nginx's in front of a C echo application; wired's
# built-in echo against that application alone), and over HTTP/2 (h2 over
# TLS and h2c, with h2load) against nginx, h2o and lighttpd.
# Writes bench/runs/<UTC time>/ with summary.md, runs.csv, chart.svg (and
# chart.png when chromium is there), machine.txt, criterion.txt, wrk's raw
# output and the servers' configs and logs; a full run also refreshes the
# latest numbers in docs/benchmarks.md.
#
#   bench/run.sh            3 rounds of 8 s runs    (about 45 minutes)
#   bench/run.sh --quick    1 round of 3 s runs     (about 12 minutes)
#   (a first run in a fresh checkout also compiles: 2-3 minutes more)
#   CASES="https-handshake-c64 1k-c64" bench/run.sh
#                           only these cases (keys in bench/harness.py;
#                           idle-proxy-1k is the proxied idle test)
#   CASES="proxy-1k-c64 php-c16 flask-c16 idle-proxy-1k" bench/run.sh --quick
#   CASES="ws-proxy-c256 ws-echo-c256 idle-ws-10k idle-ws-proxy-5k" bench/run.sh --quick
#                           the WebSocket cases alone (about 2 minutes)
#   CASES="gzip-100k-c64 gzip-proxy-100k-c64" bench/run.sh --quick
#                           the compression cases alone (about 1 minute)
#   CASES="h2-1k-m100-c64 h2c-1k-m100-c64 h2-page100 h2c-page100 h2-10m h2c-10m idle-h2-2k idle-h2c-2k" bench/run.sh --quick
#                           the HTTP/2 cases alone, with h2load (about 7 minutes)
#
# Installs what is missing with apt-get (Debian; needs root). Talks only to
# 127.0.0.1; every server it starts it stops by PID. See docs/benchmarks.md.
set -euo pipefail

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg' (only --quick)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
ROOT=$(pwd)
START=$(date +%s)
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ left in bench/
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# -- 1. packages ---------------------------------------------------------------
missing=()
command -v nginx    >/dev/null || missing+=(nginx-light)
command -v h2o      >/dev/null || missing+=(h2o)
command -v lighttpd >/dev/null || missing+=(lighttpd)
command -v wrk      >/dev/null || missing+=(wrk)
# The HTTP/2 cases: h2load (their load) and nghttp (a record of each
# server's SETTINGS), and curl for their start check.
command -v h2load   >/dev/null || missing+=(nghttp2-client)
command -v curl     >/dev/null || missing+=(curl)
command -v openssl  >/dev/null || missing+=(openssl)
# lighttpd's TLS is a module of its own package.
[[ -e /usr/lib/lighttpd/mod_openssl.so ]] || missing+=(lighttpd-mod-openssl)
command -v python3  >/dev/null || missing+=(python3)
command -v cc       >/dev/null || missing+=(gcc)
# The upstream cases: php-fpm (Debian names it php-fpmX.Y, in /usr/sbin).
compgen -G '/usr/sbin/php-fpm*' >/dev/null || command -v php-fpm >/dev/null || missing+=(php-fpm)
# nginx's FastCGI variables, included by conf/nginx-fastcgi.conf.in.
[[ -e /etc/nginx/fastcgi_params ]] || missing+=(nginx-common)
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "bench/run.sh: missing ${missing[*]}; run as root (apt-get) or install them" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  # Debian starts a freshly installed server on port 80: we only want the
  # binaries, so forbid service starts while apt runs (policy-rc.d, 101).
  added_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[[ $added_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  if [[ $added_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  trap - EXIT
fi

# Flask and gunicorn for flask-c16, and h2 for the idle HTTP/2 test
# (bench/idle_h2.py), for the interpreter `python3` names: pip
# (with --break-system-packages where a Debian-managed Python refuses plain
# pip, PEP 668), or Debian's packages where that Python has no pip.
for module in flask gunicorn h2; do
  python3 -c "import $module" 2>/dev/null && continue
  say "installing $module"
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install -q "$module" 2>/dev/null \
      || python3 -m pip install -q --break-system-packages "$module"
  elif [[ $(id -u) == 0 ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "python3-$module"
  else
    echo "bench/run.sh: python3 lacks $module and pip; run as root (apt-get) or install it" >&2
    exit 1
  fi
  python3 -c "import $module"
done

# -- 2. build ------------------------------------------------------------------
say "building wired (cargo build --release)"
cargo build --release
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WIRED=$TARGET/release/wired
say "building the parser benchmark"
cargo bench -p wired-parser --bench parse --no-run

# -- 3. document root: one for every server ------------------------------------
WORK=$ROOT/bench/work
WWW=$WORK/www
rm -rf "$WORK"
mkdir -p "$WWW"
python3 - "$WWW/index.html" <<'PY'
import sys
head = b"<!doctype html>\n<html><head><title>wired benchmark</title></head>\n<body><p>"
tail = b"</p></body>\n</html>\n"
with open(sys.argv[1], "wb") as f:
    f.write(head + b"x" * (1024 - len(head) - len(tail)) + tail)
PY
head -c $((100 * 1024)) /dev/urandom > "$WWW/100k.bin"
head -c $((1024 * 1024)) /dev/urandom > "$WWW/1m.bin"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$WWW/10m.bin"
[[ $(stat -c %s "$WWW/index.html") == 1024 ]] || { echo "index.html is not 1 KiB" >&2; exit 1; }
# The compression cases' page: 100 KiB of HTML that gzips to about a
# quarter, as real pages do (random bytes do not shrink, repeated ones
# shrink to nothing); the same bytes every run (bench/html_page.py).
python3 bench/html_page.py "$WWW/100k.html" $((100 * 1024))
[[ $(stat -c %s "$WWW/100k.html") == 102400 ]] || { echo "100k.html is not 100 KiB" >&2; exit 1; }
# The HTTP/2 page cases' page: 100 distinct small files, 1-4 KiB each
# (servers.py: page_asset_size), CSS-like text, the same bytes every run.
python3 - "$WWW/page" <<'PY'
import os, random, sys
sys.path.insert(0, "bench")
from servers import PAGE_ASSETS, page_asset_size
os.makedirs(sys.argv[1])
rnd = random.Random(2)
for i in range(PAGE_ASSETS):
    size = page_asset_size(i)
    text = bytearray()
    while len(text) < size:
        text += (f".c{i}-{rnd.randrange(10**6)} {{ margin: {rnd.randrange(64)}px; "
                 f"color: #{rnd.randrange(1 << 24):06x}; }}\n").encode()
    with open(os.path.join(sys.argv[1], f"asset{i}.css"), "wb") as f:
        f.write(bytes(text[:size - 1]) + b"\n")
PY
[[ $(ls "$WWW/page" | wc -l) == 100 ]] || { echo "the page is not 100 files" >&2; exit 1; }
# The PHP page of php-c16, run by php-fpm from the same document root.
cp bench/upstream/page.php "$WWW/page.php"
chmod -R a+rX "$WORK"

# -- 3b. one certificate for every server's TLS listener ----------------------
# ECDSA P-256 for localhost and 127.0.0.1, signed by a throwaway CA made here
# (clients that verify, bench/idle_tls.py and curl, trust ca.pem; wrk does not
# verify). Every server gets the same leaf and key, so the handshake's
# signature and the certificate bytes on the wire are the same for all.
TLS=$WORK/tls
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
  -subj "/CN=wired bench CA" -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=localhost" -keyout "$TLS/key.pem" -out "$TLS/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
  > "$TLS/leaf.ext"
openssl x509 -req -in "$TLS/leaf.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
  -days 7 -sha256 -extfile "$TLS/leaf.ext" -out "$TLS/cert.pem" 2>/dev/null
openssl verify -CAfile "$TLS/ca.pem" "$TLS/cert.pem" >/dev/null \
  || { echo "bench/run.sh: the benchmark certificate does not verify" >&2; exit 1; }
chmod -R a+rX "$TLS"
# wrk resumes every new connection from the previous one's session: this
# LD_PRELOAD stops it, for the full-handshake case (bench/wrk/no_resume.c).
cc -shared -fPIC -O2 -Wall -o "$WORK/no_resume.so" bench/wrk/no_resume.c -ldl
# The fast upstream of the proxy cases (bench/upstream/fast_upstream.c).
cc -O2 -Wall -pthread -o "$WORK/fast_upstream" bench/upstream/fast_upstream.c
# The WebSocket cases: the echo application and the load generator (wrk
# speaks no WebSocket). Both need only the C compiler.
cc -O2 -Wall -pthread -o "$WORK/ws_echo" bench/upstream/ws_echo.c
cc -O2 -Wall -pthread -o "$WORK/ws_load" bench/ws/ws_load.c

# -- 4. the run directory and the machine --------------------------------------
OUT=$ROOT/bench/runs/$(date -u +%Y-%m-%dT%H-%M-%SZ)
mkdir -p "$OUT"

# The commit, read from .git without running git. In a worktree (git
# worktree add) .git is a file naming the worktree's own directory, which
# holds HEAD; branches and packed-refs are in the common directory.
commit=unknown
gitdir=.git
if [[ -f .git ]]; then
  gitdir=$(sed -n 's/^gitdir: //p' .git)
fi
common=$gitdir
if [[ -f $gitdir/commondir ]]; then
  common=$(cat "$gitdir/commondir")
  [[ $common == /* ]] || common=$gitdir/$common
fi
if [[ -f $gitdir/HEAD ]]; then
  head_ref=$(cat "$gitdir/HEAD")
  if [[ $head_ref == ref:* ]]; then
    ref=${head_ref#ref: }
    if [[ -f $common/$ref ]]; then commit=$(cat "$common/$ref")
    elif [[ -f $common/packed-refs ]]; then commit=$(awk -v r="$ref" '$2 == r { print $1 }' "$common/packed-refs")
    fi
  else
    commit=$head_ref
  fi
fi

# Priority: on a shared machine (a build, a fuzzer) the measured processes
# lose less to background work when they run at a higher priority; all
# servers and wrk inherit the same one. Needs root; on a quiet machine it
# changes nothing. Other processes' CPU is still recorded for every run.
NICE=
if [[ $(nice -n -10 nice 2>/dev/null) == -10 ]]; then NICE="nice -n -10"; fi

# Descriptors: the idle test holds 10,000 connections at both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "mode: $([[ $QUICK == 1 ]] && echo quick || echo full)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -r)"
  echo "uname: $(uname -a)"
  echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "open files limit: $(ulimit -n)"
  echo "priority of the servers, wrk and criterion: ${NICE:-default}"
  echo "wired commit: $commit"
  echo "wired: $("$WIRED" --version 2>&1 | head -1) ($WIRED)"
  echo "rustc: $(rustc --version)"
  echo "nginx: $(nginx -v 2>&1 | head -1) (package $(dpkg-query -W -f '${Version}' nginx-light 2>/dev/null || echo '?'))"
  echo "h2o: $(h2o --version 2>&1 | head -1) (package $(dpkg-query -W -f '${Version}' h2o 2>/dev/null || echo '?'))"
  echo "lighttpd: $(lighttpd -v 2>&1 | head -1) (package $(dpkg-query -W -f '${Version}' lighttpd 2>/dev/null || echo '?'))"
  echo "wrk: $(wrk -v 2>&1 | head -1 | sed 's/ *Copyright.*//')"
  echo "h2load: $(h2load --version 2>&1 | head -1) (package $(dpkg-query -W -f '${Version}' nghttp2-client 2>/dev/null || echo '?'))"
  echo "curl (the HTTP/2 start check): $(curl --version 2>&1 | head -1)"
  echo "python h2 (bench/idle_h2.py): $(python3 -c 'import h2; print(h2.__version__)' 2>&1)"
  echo "openssl (nginx, h2o, lighttpd and wrk link it): $(openssl version)"
  echo "lighttpd-mod-openssl: package $(dpkg-query -W -f '${Version}' lighttpd-mod-openssl 2>/dev/null || echo '?')"
  echo "tls certificate: $(openssl x509 -in "$TLS/cert.pem" -noout -subject -ext subjectAltName 2>/dev/null | tr '\n' ' ')($(openssl x509 -in "$TLS/cert.pem" -noout -text | grep -m1 -o 'ASN1 OID: [a-z0-9]*'))"
  echo "python: $(python3 --version 2>&1)"
  FPM=$(command -v php-fpm || ls /usr/sbin/php-fpm* 2>/dev/null | tail -1 || true)
  echo "php-fpm: $("$FPM" -v 2>&1 | head -1) ($FPM; OPcache $("$FPM" -i 2>/dev/null | awk '/^opcache.enable =>/ { print $3; exit }'))"
  echo "gunicorn, flask: $(python3 -c 'import importlib.metadata as m; print(m.version("gunicorn"), m.version("flask"))' 2>&1)"
  echo "cc (fast_upstream, ws_echo, ws_load): $(cc --version 2>&1 | head -1)"
  for k in net.core.somaxconn net.ipv4.tcp_tw_reuse net.ipv4.ip_local_port_range; do
    echo "sysctl $k: $(sysctl -n $k 2>/dev/null | tr '\t' ' ' || echo '?')"
  done
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# -- 5. the parser micro-benchmark (before any server runs) ---------------------
# Three short runs, pinned to one core, each timing httparse and then
# wired-parser: on a shared machine a slow spell during one run moves one
# figure of the pair, so the report takes the median of each over the runs
# and lists every run's ratio.
PIN=
if command -v taskset >/dev/null; then PIN="taskset -c $(($(nproc) - 1))"; fi
say "parser micro-benchmark (criterion, 3 runs${PIN:+, pinned})"
: > "$OUT/criterion.txt"
: > "$OUT/criterion.err"
# A CASES= rerun is about servers only.
for _ in $([[ -z ${CASES:-} ]] && echo 1 2 3); do
  $NICE $PIN cargo bench -p wired-parser --bench parse -- --warm-up-time 1 --measurement-time 2 \
    >> "$OUT/criterion.txt" 2>> "$OUT/criterion.err" \
    || echo "criterion failed, see $OUT/criterion.err" | tee -a "$OUT/criterion.txt"
done
grep -E 'browser-request|time:' "$OUT/criterion.txt" || true

# -- 6. the servers ------------------------------------------------------------
if [[ $QUICK == 1 ]]; then
  set -- --quick --rounds 1 --duration 3
else
  # 8 s rather than 10 since the HTTPS cases came: twelve cases, four
  # servers, three rounds and the idle tests then fit in about 23 minutes
  # (26 with the three upstream cases, wired and nginx only; about 28 with
  # the WebSocket cases and idle WebSockets, measured at about 45 s a round;
  # about 30 with the two compression cases, wired and nginx only, reckoned
  # from their runs rather than measured over a full run; about 44 with the
  # six HTTP/2 cases and the two idle HTTP/2 tests, all four servers,
  # measured alone at 14 minutes for three rounds).
  set -- --rounds 3 --duration 8
fi
say "servers: wired, nginx, h2o, lighttpd (upstream and compression cases: wired, nginx)"
$NICE python3 bench/harness.py "$@" --out "$OUT" --work "$WORK" --www "$WWW" --wired "$WIRED" \
  --workers "$(nproc)" --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem" --tls-ca "$TLS/ca.pem" \
  --wrk-no-resume "$WORK/no_resume.so" --fast-upstream "$WORK/fast_upstream" \
  --ws-echo-app "$WORK/ws_echo" --ws-load "$WORK/ws_load" \
  ${CASES:+--cases $CASES} ${CASES:+--idle 0}

# -- 7. report -----------------------------------------------------------------
# The configurations as filled in, and what each server printed.
mkdir -p "$OUT/servers"
cp "$WORK"/*/conf/*.conf "$WORK"/*/logs/* "$OUT/servers/" 2>/dev/null || true
if [[ $QUICK == 0 && -z ${CASES:-} && -f docs/benchmarks.md ]]; then
  python3 bench/report.py "$OUT" --docs docs/benchmarks.md
fi
if command -v chromium >/dev/null; then
  size=$(awk -F'"' '/^<svg/ { print $4 "," $6; exit }' "$OUT/chart.svg")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$size" --screenshot="$OUT/chart.png" "file://$OUT/chart.svg" \
    >/dev/null 2>&1 || echo "chromium could not render chart.png (chart.svg is there)"
fi

say "done in $(( $(date +%s) - START )) s: $OUT"
echo
sed -n '/^## Headline/,/^!\[/p' "$OUT/summary.md"

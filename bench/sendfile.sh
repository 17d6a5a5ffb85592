#!/usr/bin/env bash
# `make bench-sendfile`: does sendfile pay on loopback? wired and nginx, each
# with sendfile on and off, serve a 10 MiB file of random bytes to
# `wrk -t1 -c8` on 127.0.0.1, in interleaved rounds. For every run it prints
# requests/s, the server's CPU time per request (user + system from /proc)
# and how many times per request the kernel merged an arriving buffer into
# the receive queue (TcpExtTCPRcvCoalesce, /proc/net/netstat).
#
#   bench/sendfile.sh [ROUNDS] [SECONDS]     (default 3 rounds of 5 s: ~1.5 min)
#
# Needs target/release/wired (make build) and nginx (make bench installs it).
# Writes the table to bench/runs/<UTC time>-sendfile.md as well. Every server
# it starts it stops by PID. See docs/benchmarks.md, "sendfile on loopback".
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-5}
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WIRED=$ROOT/target/release/wired
[[ -x $WIRED ]] || { echo "bench/sendfile.sh: build wired first (make build)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "bench/sendfile.sh: nginx is missing (make bench installs it)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench/sendfile.sh: wrk is missing (make bench installs it)" >&2; exit 1; }

WORK=$ROOT/bench/work/sendfile
rm -rf "$WORK"
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/tmp"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$WORK/www/10m.bin"

PIDS=()
stop_all() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT

# One nginx per mode, configured as in the main bench (2 workers, no log).
for mode in on off; do
  cat > "$WORK/nginx-$mode.conf" <<EOF
daemon off;
master_process on;
user $(id -un) $(id -gn);
worker_processes 2;
pid $WORK/nginx-$mode.pid;
error_log $WORK/logs/nginx-$mode.log warn;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    access_log off;
    sendfile $mode;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/tmp;
    server { listen 127.0.0.1:$([[ $mode == on ]] && echo 18603 || echo 18604) reuseport; root $WORK/www; }
}
EOF
done

"$WIRED" -l 127.0.0.1:18601 -r "$WORK/www" -w 2 --sendfile on -q 2>"$WORK/logs/wired-on.log" &
PIDS+=($!); WIRED_ON=$!
"$WIRED" -l 127.0.0.1:18602 -r "$WORK/www" -w 2 --sendfile off -q 2>"$WORK/logs/wired-off.log" &
PIDS+=($!); WIRED_OFF=$!
nginx -c "$WORK/nginx-on.conf" & PIDS+=($!); NGINX_ON=$!
nginx -c "$WORK/nginx-off.conf" & PIDS+=($!); NGINX_OFF=$!
sleep 1

# CPU ticks of a process and its children, all threads.
ticks() {
  local total=0 pid stat
  for pid in "$1" $(pgrep -P "$1" || true); do
    for stat in /proc/"$pid"/task/*/stat; do
      [[ -r $stat ]] || continue
      total=$((total + $(sed 's/.*) //' "$stat" | awk '{print $12 + $13}')))
    done
  done
  echo "$total"
}
coalesced() {
  awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
                    else { for (i = 1; i <= NF; i++) if (k[i] == "TCPRcvCoalesce") print $i } }' /proc/net/netstat
}
HZ=$(getconf CLK_TCK)

OUT=$ROOT/bench/runs/$(date -u +%Y-%m-%dT%H-%M-%SZ)-sendfile.md
{
  echo "# sendfile on loopback: 10 MiB, wrk -t1 -c8 -d${SECS}s, $ROUNDS interleaved rounds"
  echo
  echo "$(nproc) cores, Linux $(uname -r); $("$WIRED" --version 2>&1 | head -1); $(nginx -v 2>&1)"
  echo
  echo "| round | server | sendfile | requests/s | server CPU µs/request | receive merges/request |"
  echo "|---:|---|---|---:|---:|---:|"
} | tee "$OUT"
for round in $(seq 1 "$ROUNDS"); do
  for run in "wired on 18601 $WIRED_ON" "wired off 18602 $WIRED_OFF" \
             "nginx on 18603 $NGINX_ON" "nginx off 18604 $NGINX_OFF"; do
    read -r name mode port pid <<<"$run"
    t0=$(ticks "$pid"); c0=$(coalesced)
    out=$(wrk -t1 -c8 -d"${SECS}s" "http://127.0.0.1:$port/10m.bin")
    t1=$(ticks "$pid"); c1=$(coalesced)
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    awk -v r="$round" -v n="$name" -v m="$mode" -v q="$reqs" -v rps="$rps" -v dt=$((t1 - t0)) \
        -v dc=$((c1 - c0)) -v hz="$HZ" 'BEGIN {
          if (q == 0) { printf "| %d | %s | %s | 0 | - | - |\n", r, n, m; exit }
          printf "| %d | %s | %s | %.0f | %.0f | %.1f |\n", r, n, m, rps, dt / hz * 1e6 / q, dc / q }' | tee -a "$OUT"
  done
done
echo
echo "written to ${OUT#"$ROOT"/}"

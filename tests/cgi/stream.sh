#!/bin/sh
# Write our PID and a child's to stream.sh.pids, then send output forever.
printf 'Content-Type: text/plain\n\n'
sleep 60 &
printf '%s\n%s\n' $$ $! > "$0.pids.tmp"
mv "$0.pids.tmp" "$0.pids"
while :; do echo 'all work and no play makes jack a dull boy'; done

#!/bin/sh
# Write our PID and a child's to hang.sh.pids, then answer nothing.
sleep 60 &
printf '%s\n%s\n' $$ $! > "$0.pids.tmp"
mv "$0.pids.tmp" "$0.pids"
wait

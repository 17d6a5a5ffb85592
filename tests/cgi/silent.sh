#!/bin/sh
# Start a response, write our PIDs to silent.sh.pids, then say nothing more.
printf 'Content-Type: text/plain\n\nstarted\n'
sleep 60 &
printf '%s\n%s\n' $$ $! > "$0.pids.tmp"
mv "$0.pids.tmp" "$0.pids"
wait

#!/bin/sh
# A chat bot for `--ws-program`, one process per WebSocket: it greets the
# client with what its environment says about the connection (the CGI
# meta-variables wired sets), numbers each line it is sent, answers
# `env NAME` with that variable, and ends on `bye` (exit 0: Close 1000) or
# `fail` (exit 3: Close 1011).
nick=${HTTP_X_NICK:-stranger}
echo "welcome $nick to $SCRIPT_NAME$PATH_INFO?$QUERY_STRING from $REMOTE_ADDR"
n=0
while IFS= read -r line; do
    n=$((n + 1))
    case $line in
        bye) echo "bye $nick after $n messages"; exit 0 ;;
        fail) exit 3 ;;
        "env "*) name=${line#env }; echo "$name=$(printenv "$name")" ;;
        *) echo "$n: $line" ;;
    esac
done

#!/bin/sh
# 100 MB of output, length unknown to the server.
printf 'Content-Type: application/octet-stream\n\n'
exec head -c 100000000 /dev/zero

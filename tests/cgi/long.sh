#!/bin/sh
# Promises 3 bytes and writes more.
printf 'Content-Type: text/plain\nContent-Length: 3\n\nhello, and then some\n'

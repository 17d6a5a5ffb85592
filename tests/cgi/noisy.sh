#!/bin/sh
# A megabyte of complaints on stderr, then an answer.
head -c 1000000 /dev/zero | tr '\0' 'e' | fold -w 100 >&2
printf 'Content-Type: text/plain\n\nquiet now\n'

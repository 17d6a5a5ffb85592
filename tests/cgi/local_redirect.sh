#!/bin/sh
# RFC 3875 §6.2.2: a local path and nothing else; the server serves it.
printf 'Location: /some/file.txt\n\n'

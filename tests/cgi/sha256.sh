#!/bin/sh
# Hash the request body as it streams in.
printf 'Content-Type: text/plain\n\n'
echo "$CONTENT_LENGTH $(sha256sum | cut -d' ' -f1)"

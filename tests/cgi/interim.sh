#!/bin/sh
# An interim status is no answer: a client would wait for the real one.
printf 'Status: 101 Switching Protocols\nUpgrade: websocket\n\n'

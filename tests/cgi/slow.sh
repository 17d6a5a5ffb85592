#!/bin/sh
# Answer after a second.
sleep 1
printf 'Content-Type: text/plain\n\nslow but sure\n'

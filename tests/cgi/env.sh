#!/bin/sh
# Echo the argument count and every environment variable, NAME=value a line.
printf 'Content-Type: text/plain\r\n\r\n'
echo "ARGC=$#"
env

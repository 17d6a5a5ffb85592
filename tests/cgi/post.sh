#!/bin/sh
# Echo the body's meta-variables, then the body itself (read to end of file).
printf 'Content-Type: text/plain\n\n'
echo "CONTENT_LENGTH=${CONTENT_LENGTH-unset}"
echo "CONTENT_TYPE=${CONTENT_TYPE-unset}"
cat

#!/bin/sh
# A 204 with a body it should not have: the server must drop the body.
printf 'Status: 204 No Content\nX-Done: yes\n\nthis must not reach the client\n'

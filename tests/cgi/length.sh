#!/bin/sh
# A body whose length the program states itself.
printf 'Content-Type: text/plain\nContent-Length: 6\n\nsized\n'

#!/bin/sh
printf 'Status: 404 Not Found\nContent-Type: text/plain\n\nnot here\n'

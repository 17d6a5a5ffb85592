#!/bin/sh
printf 'Location: http://example.com/\n\n'

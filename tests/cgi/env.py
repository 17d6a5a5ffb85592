#!/usr/bin/env python3
"""Echo the argument count and every environment variable, NAME=value a line."""
import os
import sys

sys.stdout.write("Content-Type: text/plain\r\n\r\n")
sys.stdout.write(f"ARGC={len(sys.argv) - 1}\n")
for name, value in sorted(os.environ.items()):
    sys.stdout.write(f"{name}={value}\n")

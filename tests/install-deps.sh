#!/usr/bin/env bash
# Install the real programs the tests talk to, when they are missing.
# Tests never skip silently: if a component cannot be installed, this fails.
set -euo pipefail
need=()
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing test dependencies: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "need root to apt-get install ${need[*]}" >&2
        exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

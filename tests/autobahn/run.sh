#!/usr/bin/env bash
# Autobahn|Testsuite against a WebSocket echo endpoint: installs wstest when
# it is missing (install.sh, idempotent), then runs run.py with these
# arguments. `tests/autobahn/run.sh --help` lists them; the usual ones:
#
#   tests/autobahn/run.sh                          full suite against target/release/wired
#   tests/autobahn/run.sh --cases quick --binary target/debug/wired
#   tests/autobahn/run.sh --docs                   and copy the summary to docs/autobahn/
#   tests/autobahn/run.sh --agent reference --plain-args=--no-deflate \
#       --server-cmd 'python3 tests/autobahn/reference_echo.py --port {port} --path {path}'
set -euo pipefail
here=$(dirname "$0")
"$here/install.sh"
exec python3 "$here/run.py" "$@"

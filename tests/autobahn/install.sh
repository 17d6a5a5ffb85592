#!/usr/bin/env bash
# Autobahn|Testsuite's wstest in a Python 2.7 virtualenv, for tests/autobahn/run.py,
# and the `websockets` library for python3 (tests/autobahn/reference_echo.py).
# Idempotent: a virtualenv built from the current requirements.txt, whose
# wstest starts, costs nothing but that check. Never skips silently: if no
# Python 2.7 can be had, this fails and says why.
#
#   AUTOBAHN_HOME    where the virtualenv goes (default: target/autobahn)
#   AUTOBAHN_PYTHON2 a python2.7 to use instead of looking for one
set -euo pipefail
cd "$(dirname "$0")/../.."
req=tests/autobahn/requirements.txt
home=${AUTOBAHN_HOME:-target/autobahn}
venv=$home/venv
mkdir -p "$home"
# Two `make` targets may ask at once; the second waits for the first's venv.
exec 9>"$home/.install.lock"
flock 9

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ] \
    || ! "$venv/bin/wstest" --autobahnversion >/dev/null 2>&1; then
    # wstest (its 2025 release included) runs only on Python 2.7. zlib is
    # needed for permessage-deflate, ssl for pip, ctypes for cffi: a Python
    # built without one of them would fail later and less clearly. A pyenv
    # shim on PATH for a version that is not installed fails this check too.
    works() { "$1" -c 'import zlib, ssl, ctypes, sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; }
    pyenv_root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
    py2=
    for candidate in ${AUTOBAHN_PYTHON2:-} \
        $(ls -d "$pyenv_root"/versions/2.7.*/bin/python2.7 2>/dev/null | sort -rV) \
        $(command -v python2.7 || true); do
        if works "$candidate"; then py2=$candidate; break; fi
        echo "autobahn: $candidate is not a working Python 2.7 with zlib, ssl and ctypes" >&2
    done
    if [ -z "$py2" ]; then
        # Debian 12 has no python2.7 package; pyenv builds one from the
        # python.org source, which needs a network this machine may not have.
        if ! command -v pyenv >/dev/null; then
            echo "autobahn: no Python 2.7 (looked in $pyenv_root/versions and PATH) and no pyenv to build one;" >&2
            echo "autobahn: Autobahn|Testsuite needs Python 2.7: set AUTOBAHN_PYTHON2=/path/to/python2.7" >&2
            exit 1
        fi
        echo "autobahn: no Python 2.7 found; pyenv install 2.7.18"
        py2=$pyenv_root/versions/2.7.18/bin/python2.7
        if ! pyenv install -s 2.7.18 || ! works "$py2"; then
            echo "autobahn: pyenv install 2.7.18 failed: Autobahn|Testsuite needs Python 2.7;" >&2
            echo "autobahn: set AUTOBAHN_PYTHON2=/path/to/python2.7 or make pyenv's download reachable" >&2
            exit 1
        fi
    fi
    echo "autobahn: building $venv with $py2 ($("$py2" -V 2>&1))"
    rm -rf "$venv" "$home/bootstrap"
    # virtualenv 16.7 is the last that runs on 2.7 with no dependencies and
    # carries its own pip 20.3.4 (the last for 2.7), so nothing is installed
    # into the interpreter itself. Python 2.7's own pip fetches it; a
    # python3's pip can (the wheel is universal) where that pip is missing.
    if "$py2" -m pip --version >/dev/null 2>&1; then
        "$py2" -m pip install -q --disable-pip-version-check --no-warn-script-location \
            --target "$home/bootstrap" virtualenv==16.7.12 2> >(grep -v DEPRECATION >&2)
    else
        python3 -m pip install -q --no-deps --target "$home/bootstrap" virtualenv==16.7.12
    fi
    PYTHONPATH=$home/bootstrap "$py2" -m virtualenv -q --no-download "$venv"
    rm -rf "$home/bootstrap"
    pip2=("$venv/bin/python" -m pip --disable-pip-version-check --no-python-version-warning)
    "${pip2[@]}" install -q pip==20.3.4 setuptools==44.0.0 wheel==0.37.1
    # --no-deps: requirements.txt pins the whole set, so nothing newer (and
    # Python-3-only) is pulled in by a loose dependency of an old package.
    "${pip2[@]}" install -q --no-deps -r "$req"
    "${pip2[@]}" check
    "$venv/bin/python" -c 'import autobahntestsuite.fuzzing, wsaccel'
    "$venv/bin/wstest" --autobahnversion
    echo "$want" >"$venv/.requirements.sha256"
fi

# The stand-in server that proves the tooling (not needed against wired).
if ! python3 -c 'import websockets.asyncio.server' 2>/dev/null; then
    echo "autobahn: installing websockets for python3 (pip)"
    # Debian's python3-websockets (10.4) predates the asyncio API the
    # server uses (13.0), so it comes from PyPI even on a Debian python3.
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip
    fi
    # A Debian-managed Python refuses plain pip installs (PEP 668).
    python3 -m pip install -q 'websockets>=13' 2>/dev/null \
        || python3 -m pip install -q --break-system-packages 'websockets>=13'
    python3 -c 'import websockets.asyncio.server'
fi

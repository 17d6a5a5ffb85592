#!/usr/bin/env bash
# Install the real programs the tests talk to, when they are missing.
# Tests never skip silently: if a component cannot be installed, this fails.
# Everything is checked first, so a machine that has it all costs no install.
set -euo pipefail
need=()
command -v curl >/dev/null || need+=(curl)
# ss, to look at the server's socket buffers from outside.
command -v ss >/dev/null || need+=(iproute2)
# tcpdump, to watch which packets a response leaves in.
command -v tcpdump >/dev/null || need+=(tcpdump)
# CGI tests: PHP programs run through php-cgi.
command -v php-cgi >/dev/null || need+=(php-cgi)
# A browser: headless Chromium renders pages the tests serve.
command -v chromium >/dev/null || need+=(chromium)
# HTTPS tests: openssl s_client, and certutil to make the browser trust the test CA.
command -v openssl >/dev/null || need+=(openssl)
command -v certutil >/dev/null || need+=(libnss3-tools)
# HTTPS tests (and CGI): a Python client using only the standard library's ssl.
command -v python3 >/dev/null || need+=(python3)
# HTTP/2 tests: nghttp, nghttp2's own client, speaks h2c and h2 with ALPN.
command -v nghttp >/dev/null || need+=(nghttp2-client)
# TLS scanners run against the HTTPS listener. testssl.sh is a bash script
# that also needs hexdump (bsdextrautils), ps (procps) and its own openssl.
command -v testssl >/dev/null || need+=(testssl.sh)
command -v hexdump >/dev/null || need+=(bsdextrautils)
command -v ps >/dev/null || need+=(procps)
command -v sslscan >/dev/null || need+=(sslscan)
# The reload test: wrk keeps load on while the configuration is reloaded.
command -v wrk >/dev/null || need+=(wrk)
# Upstream tests: php-fpm (Debian's php-fpm names its binary php-fpmX.Y, in
# /usr/sbin), and puma running a Sinatra application.
compgen -G '/usr/sbin/php-fpm*' >/dev/null || command -v php-fpm >/dev/null || need+=(php-fpm)
command -v puma >/dev/null || need+=(puma)
ruby -e 'require "sinatra/base"' 2>/dev/null || need+=(ruby-sinatra)
# Upstream tests: a plain Node.js server, when this system's apt offers Node
# (asked after an update, so an empty package list does not hide it).
updated=
if ! command -v node >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q
        updated=1
    fi
    if apt-cache show nodejs >/dev/null 2>&1; then
        need+=(nodejs)
    else
        echo "warning: apt offers no nodejs here: the Node.js upstream test will fail" >&2
    fi
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "installing test dependencies: ${need[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "need root to apt-get install ${need[*]}" >&2
        exit 1
    fi
    [ -n "$updated" ] || apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
# CGI tests: a Flask application, run by the interpreter `python3` names.
if ! python3 -c 'import flask' 2>/dev/null; then
    echo "installing test dependency: flask (pip)"
    if python3 -m pip --version >/dev/null 2>&1; then
        # A Debian-managed Python refuses plain pip installs (PEP 668).
        python3 -m pip install -q flask 2>/dev/null \
            || python3 -m pip install -q --break-system-packages flask
    else
        # Debian's own python3 without pip: Debian's package of Flask.
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-flask
    fi
    python3 -c 'import flask'
fi
# Upstream tests: Flask behind gunicorn, and a plain ASGI application behind
# uvicorn, both run as `python3 -m …` by the interpreter that has Flask; and
# `h2` (hyper-h2), the independent HTTP/2 client of tests/http2/client.py.
for module in gunicorn uvicorn h2; do
    if ! python3 -c "import $module" 2>/dev/null; then
        echo "installing test dependency: $module (pip)"
        if python3 -m pip --version >/dev/null 2>&1; then
            python3 -m pip install -q "$module" 2>/dev/null \
                || python3 -m pip install -q --break-system-packages "$module"
        else
            apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "python3-$module"
        fi
        python3 -c "import $module"
    fi
done
# WebSocket tests: Python's `websockets`, as the client (tests/websocket/
# client.py) and the upstream app (tests/upstream/ws_app.py). Both use its
# asyncio implementation, `websockets.asyncio`, new in version 13: an older
# copy is upgraded.
if ! python3 -c 'import websockets.asyncio.client, websockets.asyncio.server' 2>/dev/null; then
    echo "installing test dependency: websockets (pip)"
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q --upgrade websockets 2>/dev/null \
            || python3 -m pip install -q --upgrade --break-system-packages websockets
    else
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-websockets
    fi
    python3 -c 'import websockets.asyncio.client, websockets.asyncio.server'
fi
# WebSockets: Autobahn|Testsuite's wstest (Python 2.7, in a virtualenv).
tests/autobahn/install.sh

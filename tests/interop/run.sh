#!/usr/bin/env bash
# Interop with real peers: headless Chromium, Node `ws`, Python `websockets`.
#
#   tests/interop/run.sh
#
# Installs what is missing (Debian's chromium through apt-get when run as
# root; the npm packages pinned in package.json into tests/interop/node_modules;
# the PyPI packages pinned in requirements.txt into a venv under
# target/interop), so a second run installs nothing. Builds the examples,
# starts every server on 127.0.0.1 on a port the OS picks, runs each
# scenario with a time limit, and stops every process it started when it
# exits. A missing peer is a failure, never a skip. Ends with one line
# `interop: N passed, M failed` and exits non-zero if anything failed.
#
# CHROMIUM overrides the browser binary (default: chromium on PATH).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="$root/target/interop"
logs="$cache/logs"
examples="$root/target/debug/examples"
mkdir -p "$logs"

script_name=interop
# shellcheck source=lib.sh
source "$here/lib.sh"

# --- scenarios --------------------------------------------------------------

install_chromium
install_node_packages
install_python_packages

say "building examples"
examples_to_build=(--example echo-server --example chat --example interop-client
    --example tokio-echo-server --example hyper-server)
mio_server=
if [ -f "$root/examples/mio-echo-server.rs" ]; then
    mio_server=1
    examples_to_build+=(--example mio-echo-server --example mio-broadcast)
fi
(cd "$root" && cargo build --quiet --all-features "${examples_to_build[@]}")

start echo-server "$examples/echo-server" 127.0.0.1:0
echo_addr=$addr
start chat "$examples/chat" 127.0.0.1:0
chat_addr=$addr
start node-ws-server node "$here/node-server.js"
node_addr=$addr
start py-websockets-server "$PYTHON" "$here/py-server.py"
py_addr=$addr
start tokio-echo-server "$examples/tokio-echo-server" 127.0.0.1:0
tokio_addr=$addr
start hyper-server "$examples/hyper-server" 127.0.0.1:0
hyper_addr=$addr

ws_version=$(npm_version ws)
pw_version=$(npm_version playwright-core)
websockets_version=$("$PYTHON" -c 'import websockets; print(websockets.__version__)')
chromium_version=$("$CHROMIUM" --version 2>/dev/null | awk 'NR == 1 { print $2 }')

suite "Chromium $chromium_version" "browser -> echo-server, chat" \
    node "$here/browser.js" "ws://$echo_addr/" "http://$chat_addr/"
suite "Node ws $ws_version" "ws client -> echo-server" \
    node "$here/node-client.js" "ws://$echo_addr/"
suite "Python websockets $websockets_version" "websockets client -> echo-server" \
    "$PYTHON" "$here/py-client.py" "ws://$echo_addr/"
suite "Node ws $ws_version" "interop-client -> ws server" \
    "$examples/interop-client" "ws://$node_addr/"
suite "Python websockets $websockets_version" "interop-client -> websockets server" \
    "$examples/interop-client" "ws://$py_addr/"

# The tokio adapter: its echo server, hyper's upgrade path, and its client.
suite "Chromium $chromium_version" "browser -> hyper-server (/ and /ws)" \
    node "$here/browser.js" "ws://$hyper_addr/ws" "http://$hyper_addr/" --echo-page
suite "Node ws $ws_version" "ws client -> tokio-echo-server" \
    node "$here/node-client.js" "ws://$tokio_addr/"
suite "Python websockets $websockets_version" "websockets client -> tokio-echo-server" \
    "$PYTHON" "$here/py-client.py" "ws://$tokio_addr/"
suite "Node ws $ws_version" "interop-client --tokio -> ws server" \
    "$examples/interop-client" "ws://$node_addr/" --tokio
suite "Python websockets $websockets_version" "interop-client --tokio -> websockets server" \
    "$examples/interop-client" "ws://$py_addr/" --tokio

if [ -n "$mio_server" ]; then
    # The mio server is a plain echo server: no close-on-request hook.
    mio_port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$examples/mio-echo-server" "127.0.0.1:$mio_port" >"$logs/mio-echo-server.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$mio_port") 2>/dev/null && break
        sleep 0.1
    done
    suite "Node ws $ws_version" "ws client -> mio-echo-server" \
        node "$here/node-client.js" "ws://127.0.0.1:$mio_port/" --basic
    suite "Python websockets $websockets_version" "websockets client -> mio-echo-server" \
        "$PYTHON" "$here/py-client.py" "ws://127.0.0.1:$mio_port/" --basic

    # permessage-deflate through idle releases: the mio server drops its
    # zlib streams whenever a socket drains (the default), so every message
    # below reaches a restored stream, while the peer kept its own; window
    # sizes 9-15, both directions. The clients ask for the windows; a
    # browser cannot, so it gets one server per window size.
    suite "Python websockets $websockets_version" "windows 9-15, idle release -> mio-echo-server" \
        "$PYTHON" "$here/py-client.py" "ws://127.0.0.1:$mio_port/" --windows
    suite "Node ws $ws_version" "windows 9-15, idle release -> mio-echo-server" \
        node "$here/node-client.js" "ws://127.0.0.1:$mio_port/" --windows
    window_urls=()
    for bits in 9 10 11 12 13 14 15; do
        start "mio-echo-server-w$bits" "$examples/mio-echo-server" 127.0.0.1:0 --window-bits "$bits"
        window_urls+=("ws://$addr/")
    done
    suite "Chromium $chromium_version" "windows 9-15, idle release -> mio-echo-server" \
        node "$here/browser-windows.js" "${window_urls[@]}"

    # A broadcast compressed once for every receiver whose window allows
    # it, inflated by receivers that keep their context (and by those
    # without it, or without deflate).
    start mio-broadcast "$examples/mio-broadcast" 127.0.0.1:0
    suite "Python websockets $websockets_version" "broadcast compressed once -> mio-broadcast" \
        "$PYTHON" "$here/py-client.py" "ws://$addr/" --broadcast
else
    say "examples/mio-echo-server.rs does not exist yet: the mio server is not tested"
fi

say "summary (playwright-core $pw_version)"
printf '%s\n' "${summary[@]}"
echo "interop: $passed passed, $failed failed"
[ "$failed" = 0 ]

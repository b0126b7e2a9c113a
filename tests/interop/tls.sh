#!/usr/bin/env bash
# wss:// interop with real peers over loopback:
#
#   tests/interop/tls.sh
#
# - Python `websockets` (tests/interop/py-client.py) against our TLS
#   echo-server, trusting the test CA through SSL_CERT_FILE;
# - our interop-client (--ca) against a Node `ws` server on https
#   (tests/interop/node-server.js with TLS_CERT/TLS_KEY);
# - headless Chromium (playwright-core driving the system chromium) against
#   our TLS echo-server, the certificate accepted by its public-key hash;
# - our client with the bundled web roots refusing the test certificate.
#
# The certificates (a CA and a leaf for localhost and 127.0.0.1) are made by
# tls-certs.sh with the openssl CLI, under target/interop-tls. Peers are the pinned
# ones of tests/interop (package.json, requirements.txt), installed there as
# run.sh installs them. Every process started here is stopped by PID on exit.
# Ends with `interop-tls: N passed, M failed`; exits non-zero on a failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="$root/target/interop"
work="$root/target/interop-tls"
logs="$work/logs"
examples="$root/target/debug/examples"
mkdir -p "$logs"

script_name=interop-tls
# shellcheck source=lib.sh
source "$here/lib.sh"

# --- peers ------------------------------------------------------------------

install_chromium
install_node_packages
install_python_packages

# --- certificates -----------------------------------------------------------

say "making test certificates"
certs="$work/certs"
"$here/tls-certs.sh" "$certs" || die "openssl could not make the certificates"
spki=$(cat "$certs/spki.txt")

# --- servers ----------------------------------------------------------------

say "building examples"
(cd "$root" && cargo build --quiet --all-features --example echo-server --example tokio-echo-server \
    --example interop-client --example client)

start echo-server "$examples/echo-server" 127.0.0.1:0 --tls "$certs/cert.pem" "$certs/key.pem"
echo_port=${addr#*:}
start tokio-echo-server "$examples/tokio-echo-server" 127.0.0.1:0 --tls "$certs/cert.pem" "$certs/key.pem"
tokio_port=${addr#*:}
TLS_CERT="$certs/cert.pem" TLS_KEY="$certs/key.pem" start node-ws-server node "$here/node-server.js"
node_port=${addr#*:}

# --- scenarios --------------------------------------------------------------

# Our client, trusting only the bundled web roots, must refuse the test CA
# with a TLS error naming the unknown issuer.
refuses_test_ca() {
    local out
    if out=$(echo hi | timeout 30 "$examples/client" "wss://localhost:$node_port/" 2>&1); then
        echo "not ok - connected to a server whose CA is not a web root"
    elif grep -q 'TLS error.*UnknownIssuer' <<<"$out"; then
        echo "ok - bundled web roots refuse the test CA: ${out##*: }"
    else
        echo "not ok - expected an unknown-issuer TLS error, got: $out"
    fi
}

ws_version=$(npm_version ws)
websockets_version=$("$PYTHON" -c 'import websockets; print(websockets.__version__)')
chromium_version=$("$CHROMIUM" --version 2>/dev/null | awk 'NR == 1 { print $2 }')

suite "Python websockets $websockets_version" "websockets client -> echo-server --tls" \
    env SSL_CERT_FILE="$certs/ca.pem" "$PYTHON" "$here/py-client.py" "wss://localhost:$echo_port/"
suite "Node ws $ws_version" "interop-client --ca -> ws on https" \
    "$examples/interop-client" "wss://localhost:$node_port/" --ca "$certs/ca.pem"
suite "Node ws $ws_version" "interop-client --ca --tokio -> ws on https" \
    "$examples/interop-client" "wss://localhost:$node_port/" --ca "$certs/ca.pem" --tokio
suite "Chromium $chromium_version" "browser -> echo-server --tls" \
    node "$here/tls-browser.js" "wss://localhost:$echo_port/" "$spki"
suite "Python websockets $websockets_version" "websockets client -> tokio-echo-server --tls" \
    env SSL_CERT_FILE="$certs/ca.pem" "$PYTHON" "$here/py-client.py" "wss://localhost:$tokio_port/"
suite "Chromium $chromium_version" "browser -> tokio-echo-server --tls" \
    node "$here/tls-browser.js" "wss://localhost:$tokio_port/" "$spki"
suite "rfc6455 client" "bundled roots -> ws on https" refuses_test_ca

say "summary"
printf '%s\n' "${summary[@]}"
echo "interop-tls: $passed passed, $failed failed"
[ "$failed" = 0 ]

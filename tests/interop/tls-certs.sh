#!/usr/bin/env bash
# Make throwaway test certificates with the openssl CLI:
#
#   tests/interop/tls-certs.sh DIR
#
# DIR/ca.pem (a CA), DIR/cert.pem and DIR/key.pem (a leaf for localhost and
# 127.0.0.1 signed by it, valid two days), and DIR/spki.txt (the base64
# SHA-256 of the leaf's public key, for Chromium's
# --ignore-certificate-errors-spki-list). DIR is emptied first.
set -euo pipefail
dir=${1:?usage: tls-certs.sh DIR}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 2 -subj "/CN=rfc6455 test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout key.pem -out leaf.csr -subj "/CN=localhost" 2>/dev/null
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 2 -extfile leaf.ext -out cert.pem 2>/dev/null
openssl x509 -in cert.pem -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64 >spki.txt

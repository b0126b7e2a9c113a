#!/usr/bin/env bash
# Clients through real proxies: tinyproxy (HTTP CONNECT, with and without
# Basic authentication) and microsocks (SOCKS5, with and without
# username/password), both Debian packages.
#
#   tests/proxy/run.sh
#
# Installs the two packages when they are missing (apt-get, as root or
# through password-less sudo; no prompt, so it runs on a clean CI machine
# with no stdin), then runs the Rust tests that use them. Those tests start
# each proxy themselves, on a free loopback port with a generated
# configuration; RFC6455_REQUIRE_PROXIES makes a missing program a failure
# there instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v tinyproxy >/dev/null || missing+=(tinyproxy)
command -v microsocks >/dev/null || missing+=(microsocks)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "proxy: ${missing[*]} missing and cannot be installed (needs root or sudo)" >&2
        exit 1
    fi
    echo "proxy: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    ${sudo[@]+"${sudo[@]}"} apt-get update -qq
    ${sudo[@]+"${sudo[@]}"} apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null
fi

export RFC6455_REQUIRE_PROXIES=1
cargo test --all-features --test proxy --test mio_proxy --test tokio_proxy
cargo build --all-features --examples
cargo test --all-features --test examples proxy

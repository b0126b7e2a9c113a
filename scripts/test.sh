#!/usr/bin/env bash
# The whole test suite, on a fresh machine: lints, the no_std build, unit,
# property and integration tests, Autobahn conformance in both modes,
# interop with real peers, and a fuzzing smoke run.
#
#   scripts/test.sh            everything
#   SKIP_INTEROP=1 SKIP_FUZZ=1 scripts/test.sh   just the Rust and Autobahn parts
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --all-targets --all-features -- -D warnings
# Every adapter without permessage-deflate: what needs it must say so.
cargo clippy --all-targets --no-default-features --features std,mio,tokio,rustls,hyper -- -D warnings
# The default features alone: what only an adapter uses must say so.
cargo clippy --lib -- -D warnings

step "no_std core"
cargo build --no-default-features

step "docs"
# Every feature set a user builds: an intra-doc link to an item behind a
# feature is broken without it.
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --all-features
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --no-default-features

if [ -z "${SKIP_PROXY:-}" ]; then
    # First, so the proxies it installs serve the full test run too.
    step "clients through tinyproxy and microsocks"
    tests/proxy/run.sh
fi

step "unit, property and integration tests"
cargo test --all-features

if [ -x autobahn/run.sh ] && [ -z "${SKIP_AUTOBAHN:-}" ]; then
    step "Autobahn testsuite, both modes"
    python3 -m unittest discover -s autobahn -p 'test_*.py'
    autobahn/run.sh all
    if [ -x autobahn/run-tls.sh ]; then
        step "Autobahn testsuite over TLS (sections 1-7)"
        autobahn/run-tls.sh
    fi
fi

if [ -x tests/interop/run.sh ] && [ -z "${SKIP_INTEROP:-}" ]; then
    step "interop with browsers, Node ws and Python websockets"
    tests/interop/run.sh
    step "interop over TLS"
    tests/interop/tls.sh
fi

if [ -x fuzz/run.sh ] && [ -z "${SKIP_FUZZ:-}" ]; then
    if cargo +nightly --version >/dev/null 2>&1; then
        step "fuzzing smoke run"
        if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
            cargo install cargo-fuzz --locked
        fi
        fuzz/run.sh "${FUZZ_SECONDS:-20}"
    else
        echo "nightly toolchain not found: fuzzing smoke run skipped"
    fi
fi

step "all passed"

#!/usr/bin/env bash
# Resident memory of the mio server with N idle connections (default 10000):
# raises the soft file-descriptor limit towards the hard one (each of the two
# processes holds N sockets), then runs examples/mio-idle-rss on 127.0.0.1.
#
#   scripts/mio-idle-rss.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
# shellcheck source=fd-limit.sh
source scripts/fd-limit.sh
raise_fd_limit $((n + 64)) mio-idle-rss.sh
cargo build --release --features mio --example mio-idle-rss
exec timeout 300 target/release/examples/mio-idle-rss "$n"

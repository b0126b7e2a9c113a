#!/usr/bin/env bash
# Resident memory of the mio server with N idle connections (default 10000):
# raises the soft file-descriptor limit towards the hard one (each of the two
# processes holds N sockets), then runs examples/mio-idle-rss on 127.0.0.1.
#
#   scripts/mio-idle-rss.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
need=$((n + 64))
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    echo "mio-idle-rss.sh: the hard fd limit ($hard) is below $need; pass a smaller N" >&2
    exit 1
fi
[ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ] && ulimit -Sn "$need"
cargo build --release --features mio --example mio-idle-rss
exec timeout 300 target/release/examples/mio-idle-rss "$n"

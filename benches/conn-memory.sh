#!/usr/bin/env bash
# Memory per connection at scale: N browser-like chat connections (default
# 10000) against examples/mio-echo-server, for each permessage-deflate setting.
#
#   benches/conn-memory.sh            # N=10000
#   benches/conn-memory.sh 2000       # fewer connections
#   KEEP_N=500 benches/conn-memory.sh # connections for the rows that keep
#                                     # their zlib streams (~400 KiB each)
#   PEERS=1 benches/conn-memory.sh    # also Python websockets and Node ws
#                                     # (needs tests/interop's packages)
#
# Each row starts the server with its settings, reads its resident memory
# (VmRSS), then runs examples/conn-memory-client: N connections offering
# what a browser offers (`permessage-deflate; client_max_window_bits`), 8
# rounds of one ~150-byte chat JSON message per connection echoed back (the
# server compresses its replies), then idle. With every connection open and
# idle, the server's RSS is read again; the table shows (after - before) / N
# and the reply size on the wire against raw. The rows that keep their zlib
# streams for the connection's life cost ~400 KiB each, so they run with
# KEEP_N connections (default N/10) to keep the machine's memory in bounds;
# per-connection figures do not depend on N. A second table runs the
# settings that decide the ratio on a second stream, a live dashboard's
# ticks (the same fields every time, a few numbers moving; the client's
# `--stream ticks`): on the chat stream each message brings new text, on
# this one little is new, so the two bracket what compression can save and
# show whether releasing state when idle gives any of it up. Every step has
# a time limit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
n="${1:-10000}"
keep_n="${KEEP_N:-$((n / 10 > 0 ? n / 10 : 1))}"
port="${PORT:-9131}"
addr="127.0.0.1:$port"

# shellcheck source=../scripts/fd-limit.sh
source "$root/scripts/fd-limit.sh"
raise_fd_limit $((n + 64)) conn-memory.sh

echo "building (release)..." >&2
(cd "$root" && cargo build --release --quiet --features mio \
    --example mio-echo-server --example conn-memory-client)
examples="$root/target/release/examples"
work="$(mktemp -d)"

server_pid=""
client_pid=""
cleanup() {
    exec 3>&- 2>/dev/null || true
    for pid in $client_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    client_pid=""
    server_pid=""
}
trap 'cleanup; rm -rf "$work"' EXIT

rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# shellcheck source=../scripts/wait-for-port.sh
source "$root/scripts/wait-for-port.sh"

# row LABEL SETTINGS CONNS CLIENT_FLAGS SERVER_COMMAND...
row() {
    local label=$1 settings=$2 conns=$3 client_flags=$4
    shift 4
    "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    if ! wait_for_port "$port" 10; then
        echo "| $label | $settings | server did not start | | |"
        cleanup
        return
    fi
    sleep 0.3
    local before after line
    before=$(rss_bytes "$server_pid")
    rm -f "$work/stdin" && mkfifo "$work/stdin"
    # shellcheck disable=SC2086
    timeout 300 "$examples/conn-memory-client" "$addr" --conns "$conns" $client_flags \
        <"$work/stdin" >"$work/client.out" 2>&1 &
    client_pid=$!
    exec 3>"$work/stdin"
    for _ in $(seq 2400); do
        grep -qE '^(ready|failed)' "$work/client.out" 2>/dev/null && break
        kill -0 "$client_pid" 2>/dev/null || break
        sleep 0.1
    done
    line=$(grep -E '^(ready|failed)' "$work/client.out" || echo "failed: no answer")
    if [[ "$line" != ready* ]]; then
        echo "| $label | $settings | ${line//|/ } | | |"
        cleanup
        return
    fi
    # Let the server finish its last writes and go idle.
    sleep 1
    after=$(rss_bytes "$server_pid")
    cleanup
    local ratio
    ratio=$(sed -n 's/.*ratio=\([0-9.]*\).*/\1/p' <<<"$line")
    awk -v l="$label" -v s="$settings" -v c="$conns" -v b="$before" -v a="$after" -v r="$ratio" \
        'BEGIN { d = (a - b) / c; printf "| %s | %s | %d | %s | %.2f |\n", l, s, c, (d >= 10240 ? sprintf("%.0f KiB", d / 1024) : sprintf("%.0f B", d)), r }'
}

mio=("$examples/mio-echo-server" "$addr" --threads 1)
echo "| server | permessage-deflate settings | connections | resident per idle connection | reply wire/raw |"
echo "|---|---|---:|---:|---:|"
row "rfc6455 mio" "none (plain)" "$n" "--plain" "${mio[@]}" --no-deflate
row "rfc6455 mio" "defaults: 15-bit windows, takeover, release when idle" "$n" "" "${mio[@]}"
row "rfc6455 mio" "12-bit windows, release when idle" "$n" "" "${mio[@]}" --window-bits 12
row "rfc6455 mio" "9-bit windows, release when idle" "$n" "" "${mio[@]}" --window-bits 9
row "rfc6455 mio" "no context takeover, release when idle" "$n" "" "${mio[@]}" --no-context-takeover
row "rfc6455 mio" "15-bit windows, takeover, streams kept" "$keep_n" "" "${mio[@]}" --keep-deflate-state
row "rfc6455 mio" "12-bit windows, memLevel 5, streams kept" "$keep_n" "" "${mio[@]}" --keep-deflate-state --window-bits 12 --mem-level 5
row "rfc6455 mio" "9-bit windows, memLevel 1, streams kept" "$keep_n" "" "${mio[@]}" --keep-deflate-state --window-bits 9 --mem-level 1
row "rfc6455 mio" "no context takeover, streams kept" "$keep_n" "" "${mio[@]}" --keep-deflate-state --no-context-takeover

# peer_rows CLIENT_FLAGS: Python websockets and Node ws, with PEERS=1.
peer_rows() {
    [ -n "${PEERS:-}" ] || return 0
    local interop="$root/tests/interop"
    local python="$root/target/interop/venv/bin/python"
    if [ -x "$python" ]; then
        row "Python websockets" "its defaults (12-bit windows, memLevel 5)" "$keep_n" "$1" \
            "$python" "$interop/py-server.py" "$port"
    else
        echo "note: $python missing (run tests/interop/run.sh once): Python websockets skipped" >&2
    fi
    if [ -d "$interop/node_modules/ws" ]; then
        row "Node ws" "its defaults (15-bit windows, takeover)" "$keep_n" "$1" \
            node "$interop/node-server.js" "$port"
    else
        echo "note: $interop/node_modules missing (run tests/interop/run.sh once): Node ws skipped" >&2
    fi
}
peer_rows ""

echo
echo "Dashboard ticks (\`--stream ticks\`):"
echo
echo "| server | permessage-deflate settings | connections | resident per idle connection | reply wire/raw |"
echo "|---|---|---:|---:|---:|"
ticks="--stream ticks"
row "rfc6455 mio" "defaults: 15-bit windows, takeover, release when idle" "$n" "$ticks" "${mio[@]}"
row "rfc6455 mio" "9-bit windows, release when idle" "$n" "$ticks" "${mio[@]}" --window-bits 9
row "rfc6455 mio" "no context takeover, release when idle" "$n" "$ticks" "${mio[@]}" --no-context-takeover
row "rfc6455 mio" "15-bit windows, takeover, streams kept" "$keep_n" "$ticks" "${mio[@]}" --keep-deflate-state
peer_rows "$ticks"

#!/usr/bin/env bash
# Echo load benchmark: every echo server, one after another, against the same
# load generator, on 127.0.0.1 only. Prints one Markdown table.
#
#   benches/compare/echo.sh            # 3 rounds of 3 s per case and server
#   SECS=10 ROUNDS=5 benches/compare/echo.sh
#   SERVERS="rfc6455-blocking tungstenite" benches/compare/echo.sh
#
# Each case runs every server once per round, the servers one after another,
# and the table shows each server's best round (by msg/s; its latencies and
# CPU figures are from that round). On a shared machine one slow stretch
# would otherwise decide a comparison: interleaved rounds give every server
# the same chances.
#
# Server and generator are pinned to separate cores with taskset when it is
# there (and the machine has two cores or more). "msg/CPU-s" is messages per
# second of server CPU time (user + system, read from /proc/PID/stat over the
# measured window).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
SECS="${SECS:-3}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-9101}"
addr="127.0.0.1:$PORT"

# ----- build -----
echo "building (release)..." >&2
(cd "$root" && cargo build --release --quiet --example echo-server)
have_mio=0
if [ -f "$root/examples/mio-echo-server.rs" ]; then
    (cd "$root" && cargo build --release --quiet --features mio --example mio-echo-server)
    have_mio=1
fi
have_tokio=0
if [ -f "$root/examples/tokio-echo-server.rs" ]; then
    (cd "$root" && cargo build --release --quiet --features tokio --example tokio-echo-server)
    have_tokio=1
fi
(cd "$here" && cargo build --release --quiet --bins)
bin="${CARGO_TARGET_DIR:-$here/target}/release"
examples="$root/target/release/examples"

# ----- pinning -----
server_pin=()
client_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c 1)
else
    echo "note: taskset missing or one core: server and generator are not pinned" >&2
fi

# 500 connections need 500 descriptors on each side, plus some.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2048 ]; then
    ulimit -n 4096 2>/dev/null || echo "note: ulimit -n is $(ulimit -n); the 500-connection case may fail" >&2
fi

# ----- servers: name, command -----
declare -A server_cmd=(
    [rfc6455-blocking]="$examples/echo-server $addr"
    [tungstenite]="$bin/echo-tungstenite $addr"
    [fastwebsockets]="$bin/echo-fastwebsockets $addr"
    [tokio-websockets]="$bin/echo-tokio-websockets $addr"
)
order=(rfc6455-blocking)
if [ "$have_mio" = 1 ]; then
    # Single-threaded, like the async peers.
    server_cmd[rfc6455-mio]="$examples/mio-echo-server $addr --threads 1"
    # Two event loops, not pinned: the --threads gain on this machine's two
    # cores (the second loop shares core 1 with the generator).
    server_cmd[rfc6455-mio-2t]="$examples/mio-echo-server $addr --threads 2"
    order+=(rfc6455-mio rfc6455-mio-2t)
fi
if [ "$have_tokio" = 1 ]; then
    # A current-thread runtime, the same flavour as the async peers' servers.
    server_cmd[rfc6455-tokio]="$examples/tokio-echo-server $addr"
    order+=(rfc6455-tokio)
fi
order+=(tungstenite fastwebsockets tokio-websockets)
if [ -n "${SERVERS:-}" ]; then
    read -r -a order <<<"$SERVERS"
fi

# ----- cases: label, conns, in flight, size, loadgen flags -----
# The last case negotiates permessage-deflate (which only rfc6455 has): the
# generator sends one prepared compressed frame and counts replies without
# inflating them, so the server's inflate + deflate per message is the
# bottleneck, and a second event loop (rfc6455-mio-2t) has a core's worth
# of idle generator time to use. See loadgen's --deflate.
cases=(
    "100 x 32 B|100|1|32|"
    "100 x 32 B, 16 in flight|100|16|32|"
    "500 x 16 KiB|500|1|16384|"
    "10 x 1 MiB|10|1|1048576|"
    "100 x 4 KiB, permessage-deflate|100|1|4096|--deflate"
)
deflate_servers=" rfc6455-blocking rfc6455-mio rfc6455-mio-2t rfc6455-tokio "

wait_for_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "| case | server | msg/s | p50 RTT | p99 RTT | msg/CPU-s | server CPU |"
echo "|---|---|---:|---:|---:|---:|---:|"
if [ "$have_mio" = 0 ]; then
    echo "note: examples/mio-echo-server.rs is not in this tree: rfc6455-mio skipped" >&2
fi
# One loadgen run; prints its result line (empty when the server failed).
run_once() {
    local name=$1 conns=$2 inflight=$3 size=$4 flags=$5
    local pin=("${server_pin[@]}")
    if [ "$name" = rfc6455-mio-2t ]; then
        pin=()
    fi
    # shellcheck disable=SC2086
    "${pin[@]}" ${server_cmd[$name]} 2>/dev/null &
    server_pid=$!
    if ! wait_for_port; then
        stop_server
        return 0
    fi
    # shellcheck disable=SC2086
    "${client_pin[@]}" "$bin/loadgen" "$addr" --conns "$conns" --inflight "$inflight" \
        --size "$size" --secs "$SECS" --server-pid "$server_pid" $flags 2>&1 | tail -n 1 || true
    stop_server
}

for case in "${cases[@]}"; do
    IFS='|' read -r label conns inflight size flags <<<"$case"
    declare -A best=() best_rate=()
    for _ in $(seq "$ROUNDS"); do
        for name in "${order[@]}"; do
            if [ -n "$flags" ] && [[ "$deflate_servers" != *" $name "* ]]; then
                continue
            fi
            result=$(run_once "$name" "$conns" "$inflight" "$size" "$flags")
            rate=$(field msg_per_s "$result")
            if [ -z "$rate" ]; then
                [ -n "${best[$name]:-}" ] || best[$name]="failed: ${result//|/ }"
                continue
            fi
            if [ "$(field errors "$result")" != 0 ]; then
                echo "note: $name, $label: $(field errors "$result") connection errors" >&2
            fi
            if [ -z "${best_rate[$name]:-}" ] || [ "$rate" -gt "${best_rate[$name]}" ]; then
                best_rate[$name]=$rate
                best[$name]=$result
            fi
        done
    done
    for name in "${order[@]}"; do
        if [ -n "$flags" ] && [[ "$deflate_servers" != *" $name "* ]]; then
            echo "| $label | $name | n/a (no permessage-deflate) | | | | |"
            continue
        fi
        result=${best[$name]:-"failed: server did not start"}
        if [ -z "${best_rate[$name]:-}" ]; then
            echo "| $label | $name | $result | | | | |"
            continue
        fi
        printf '| %s | %s | %s | %s µs | %s µs | %s | %s%% |\n' "$label" "$name" \
            "$(field msg_per_s "$result")" "$(field p50_us "$result")" "$(field p99_us "$result")" \
            "$(field msg_per_cpu_s "$result")" \
            "$(awk -v c="$(field server_cpu_s "$result")" -v s="$SECS" 'BEGIN { printf "%.0f", 100 * c / s }')"
    done
    unset best best_rate
done

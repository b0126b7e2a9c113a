#!/usr/bin/env bash
# Echo load benchmark: every echo server, one after another, against the same
# load generator, on 127.0.0.1 only. Prints one Markdown table.
#
#   benches/compare/echo.sh            # 5 s per case
#   SECS=10 benches/compare/echo.sh    # longer cases
#   SERVERS="rfc6455-blocking tungstenite" benches/compare/echo.sh
#
# Server and generator are pinned to separate cores with taskset when it is
# there (and the machine has two cores or more). "msg/CPU-s" is messages per
# second of server CPU time (user + system, read from /proc/PID/stat over the
# measured window).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
SECS="${SECS:-5}"
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
order+=(tungstenite fastwebsockets tokio-websockets)
if [ -n "${SERVERS:-}" ]; then
    read -r -a order <<<"$SERVERS"
fi

# ----- cases: label, conns, in flight, size -----
cases=(
    "100 x 32 B|100|1|32"
    "100 x 32 B, 16 in flight|100|16|32"
    "500 x 16 KiB|500|1|16384"
    "10 x 1 MiB|10|1|1048576"
)

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
for case in "${cases[@]}"; do
    IFS='|' read -r label conns inflight size <<<"$case"
    for name in "${order[@]}"; do
        pin=("${server_pin[@]}")
        if [ "$name" = rfc6455-mio-2t ]; then
            pin=()
        fi
        # shellcheck disable=SC2086
        "${pin[@]}" ${server_cmd[$name]} 2>/dev/null &
        server_pid=$!
        if ! wait_for_port; then
            echo "| $label | $name | server did not start | | | | |"
            stop_server
            continue
        fi
        result=$("${client_pin[@]}" "$bin/loadgen" "$addr" --conns "$conns" --inflight "$inflight" \
            --size "$size" --secs "$SECS" --server-pid "$server_pid" 2>&1 | tail -n 1) || true
        stop_server
        if [ -z "$(field msg_per_s "$result")" ]; then
            echo "| $label | $name | failed: ${result//|/ } | | | | |"
            continue
        fi
        p50=$(field p50_us "$result")
        p99=$(field p99_us "$result")
        printf '| %s | %s | %s | %s µs | %s µs | %s | %s%% |\n' "$label" "$name" \
            "$(field msg_per_s "$result")" "$p50" "$p99" "$(field msg_per_cpu_s "$result")" \
            "$(awk -v c="$(field server_cpu_s "$result")" -v s="$SECS" 'BEGIN { printf "%.0f", 100 * c / s }')"
        if [ "$(field errors "$result")" != 0 ]; then
            echo "note: $name, $label: $(field errors "$result") connection errors" >&2
        fi
    done
done

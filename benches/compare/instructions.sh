#!/usr/bin/env bash
# User-space instructions per echoed message, counted by valgrind's
# callgrind, for the rfc6455 event-loop servers and the async peers.
#
#   benches/compare/instructions.sh                  # 32-byte messages, ~1.5 min
#   CASES="32 16384" SERVERS="rfc6455-tokio fastwebsockets" benches/compare/instructions.sh
#
# Why beside echo.sh: an echo of a small message is 80-90% kernel time for
# every server here, and CPU-time ratios between servers drift 10-20% from
# run to run on a shared machine, which hides a change of a few percent of
# our own code. Callgrind counts the instructions a server executes in user
# space (kernel time is not counted), the same figure for the same build and
# load whatever else the machine is doing, so a change to the hot path shows
# as a number that does not move between runs. It is not a speed: cache
# misses and the kernel's share are not in it; echo.sh measures those.
# Nor does it weigh instructions alike: valgrind counts each byte that
# glibc's `rep movsb` copies as one instruction, so with large messages a
# copy dominates the count far beyond its cost in time (it does show where
# a server copies and another does not).
#
# Each server runs under callgrind (about 50x slower, so it, not the
# generator, is the bottleneck) while loadgen keeps one message in flight
# on each of CONNS connections for SECS seconds; the count covers the whole
# run, start-up and handshakes included (well under 1% of it), divided by
# the messages loadgen counted. 127.0.0.1 only; every run stops by itself.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
SECS="${SECS:-8}"
CONNS="${CONNS:-20}"
PORT="${PORT:-9102}"
addr="127.0.0.1:$PORT"

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
    echo "instructions.sh needs valgrind (Debian package valgrind)" >&2
    exit 2
fi

# shellcheck source=event-loop-servers.sh
source "$here/event-loop-servers.sh"

declare -A server_cmd=(
    [rfc6455-mio]="$examples/mio-echo-server $addr --threads 1"
    [rfc6455-tokio]="$examples/tokio-echo-server $addr"
    [fastwebsockets]="$bin/echo-fastwebsockets $addr"
    [tokio-websockets]="$bin/echo-tokio-websockets $addr"
)
read -r -a order <<<"${SERVERS:-rfc6455-mio rfc6455-tokio fastwebsockets tokio-websockets}"
read -r -a sizes <<<"${CASES:-32}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../../scripts/wait-for-port.sh
source "$root/scripts/wait-for-port.sh"

echo "| message | server | messages | instructions per message | against the leaner peer |"
echo "|---|---|---:|---:|---:|"
for size in "${sizes[@]}"; do
    declare -A per_msg=() counted=()
    for name in "${order[@]}"; do
        cmd="${server_cmd[$name]:-}"
        if [ -z "$cmd" ]; then
            echo "unknown server $name" >&2
            exit 2
        fi
        out="$work/$name.$size.cg"
        # shellcheck disable=SC2086
        valgrind --tool=callgrind --callgrind-out-file="$out" $cmd >/dev/null 2>"$work/valgrind.log" &
        server_pid=$!
        if ! wait_for_port "$PORT" 30; then
            echo "$name did not start listening; valgrind said:" >&2
            cat "$work/valgrind.log" >&2
            exit 1
        fi
        result="$("$bin/loadgen" "$addr" --conns "$CONNS" --inflight 1 --size "$size" --secs "$SECS" 2>&1 | tail -n 1)"
        # SIGINT lets callgrind write its counts as the server exits.
        kill -INT "$server_pid" 2>/dev/null || true
        sleep 1
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
        messages="$(sed -n 's/.*messages=\([0-9]*\).*/\1/p' <<<"$result")"
        total="$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')"
        if [ -z "$messages" ] || [ "$messages" = 0 ] || [ -z "$total" ]; then
            echo "| $size B | $name | failed: ${result:-no result} | | |"
            continue
        fi
        per_msg[$name]=$((total / messages))
        counted[$name]=$messages
    done
    best_peer=""
    for name in fastwebsockets tokio-websockets; do
        if [ -n "${per_msg[$name]:-}" ] && { [ -z "$best_peer" ] || [ "${per_msg[$name]}" -lt "$best_peer" ]; }; then
            best_peer=${per_msg[$name]}
        fi
    done
    for name in "${order[@]}"; do
        [ -n "${per_msg[$name]:-}" ] || continue
        ratio=""
        if [ -n "$best_peer" ]; then
            ratio="$(awk -v a="${per_msg[$name]}" -v b="$best_peer" 'BEGIN { printf "%.2fx", a / b }')"
        fi
        label="$size B"
        [ "$size" -ge 1024 ] && label="$((size / 1024)) KiB"
        echo "| $label | $name | ${counted[$name]} | ${per_msg[$name]} | $ratio |"
    done
    unset per_msg counted
done

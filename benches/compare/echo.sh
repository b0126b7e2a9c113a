#!/usr/bin/env bash
# Echo load benchmark: every echo server, one after another, against the same
# load generator, on 127.0.0.1 only. Prints one Markdown table.
#
#   benches/compare/echo.sh            # 3 rounds of 3 s per case and server
#   SECS=10 ROUNDS=5 benches/compare/echo.sh
#   SERVERS="rfc6455-blocking tungstenite" benches/compare/echo.sh
#   CASES="16 KiB,1 MiB" benches/compare/echo.sh   # cases whose label has one of these
#   UWS_SRC=path benches/compare/echo.sh   # adds uWebSockets (C++) as a peer
#   UWS_SRC=path LOADGEN=uws benches/compare/echo.sh
#       # uWebSockets' own closed-loop client (benchmarks/load_test.c) as the
#       # generator instead of ours, for the one-in-flight cases without
#       # permessage-deflate (it has no latencies to report)
#
# UWS_SRC is a checkout of uNetworking/uWebSockets with uSockets in its
# uSockets/ folder. Its examples/EchoServer.cpp is built from there at run
# time (no TLS, no zlib: -DLIBUS_NO_SSL -DUWS_NO_ZLIB) into a temporary
# folder; nothing of it is kept. It listens on port 9001, its own choice.
#
# Each case runs every server once per round, the servers one after another
# (each round starting one server later), and the table shows each server's
# best round (by msg/s; its latencies and
# CPU figures are from that round). On a shared machine one slow stretch
# would otherwise decide a comparison: interleaved rounds give every server
# the same chances. A second table pairs each rfc6455 async server with each
# async peer, round by round (see "Paired ratios" below).
#
# Every server is built with optimizations and one codegen unit: the peers
# by this folder's workspace, ours with the root's `compare` profile.
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
echo "building (release, one codegen unit)..." >&2
(cd "$root" && cargo build --profile compare --quiet --example echo-server)
have_mio=0
if [ -f "$root/examples/mio-echo-server.rs" ]; then
    (cd "$root" && cargo build --profile compare --quiet --features mio --example mio-echo-server)
    have_mio=1
fi
have_tokio=0
if [ -f "$root/examples/tokio-echo-server.rs" ]; then
    (cd "$root" && cargo build --profile compare --quiet --features tokio --example tokio-echo-server)
    have_tokio=1
fi
(cd "$here" && cargo build --release --quiet --bins)
bin="${CARGO_TARGET_DIR:-$here/target}/release"
# Built as the peers are (one codegen unit): see [profile.compare].
examples="$root/target/compare/examples"
uws_build=""
if [ -n "${UWS_SRC:-}" ]; then
    echo "building uWebSockets' EchoServer from $UWS_SRC..." >&2
    uws_build="$(mktemp -d)"
    trap 'rm -rf "$uws_build"' EXIT
    (
        cd "$uws_build"
        gcc -O3 -march=native -flto -DLIBUS_NO_SSL -I"$UWS_SRC/uSockets/src" -c \
            "$UWS_SRC"/uSockets/src/*.c "$UWS_SRC"/uSockets/src/eventing/*.c \
            "$UWS_SRC"/uSockets/src/crypto/*.c
        g++ -w -O3 -march=native -flto -std=c++2b -DLIBUS_NO_SSL -DUWS_NO_ZLIB \
            -I"$UWS_SRC/src" -I"$UWS_SRC/uSockets/src" \
            "$UWS_SRC/examples/EchoServer.cpp" ./*.o -o EchoServer
        gcc -w -O3 -march=native -flto -DLIBUS_NO_SSL -I"$UWS_SRC/uSockets/src" \
            "$UWS_SRC/benchmarks/load_test.c" ./*.o -lz -o load_test
    )
fi
if [ "${LOADGEN:-}" = uws ] && [ -z "$uws_build" ]; then
    echo "LOADGEN=uws needs UWS_SRC" >&2
    exit 2
fi

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
# The port each server listens on, when not $PORT.
declare -A server_port=()
if [ -n "$uws_build" ]; then
    server_cmd[uwebsockets]="$uws_build/EchoServer"
    server_port[uwebsockets]=9001
    order+=(uwebsockets)
fi
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
if [ "${LOADGEN:-}" = uws ]; then
    # load_test keeps one message in flight per connection, uncompressed.
    kept=()
    for case in "${cases[@]}"; do
        IFS='|' read -r _ _ inflight _ flags <<<"$case"
        if [ "$inflight" = 1 ] && [ -z "$flags" ]; then
            kept+=("$case")
        fi
    done
    cases=("${kept[@]}")
fi
if [ -n "${CASES:-}" ]; then
    IFS=',' read -r -a wanted <<<"$CASES"
    kept=()
    for case in "${cases[@]}"; do
        for want in "${wanted[@]}"; do
            if [[ "${case%%|*}" == *"$want"* ]]; then
                kept+=("$case")
                break
            fi
        done
    done
    cases=("${kept[@]}")
fi

# shellcheck source=../../scripts/wait-for-port.sh
source "$root/scripts/wait-for-port.sh"

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; [ -z "$uws_build" ] || rm -rf "$uws_build"' EXIT

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "| case | server | msg/s | p50 RTT | p99 RTT | msg/CPU-s | server CPU |"
echo "|---|---|---:|---:|---:|---:|---:|"
if [ "$have_mio" = 0 ]; then
    echo "note: examples/mio-echo-server.rs is not in this tree: rfc6455-mio skipped" >&2
fi
# One loadgen run; prints its result line (empty when the server failed).
# User and system clock ticks of a process so far.
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# One run of uWebSockets' load_test against the running server: it prints
# the messages per second of every 4-second period; the periods after the
# first (warm-up) are averaged, and the server's CPU time is read over the
# same stretch. Prints a result line in loadgen's format, plus the server's
# user and system time per message.
uws_load() {
    local port=$1 conns=$2 size=$3
    local out periods before after seen
    out="$(mktemp)"
    # Line-buffered: its reports are read while it runs.
    "${client_pin[@]}" stdbuf -oL "$uws_build/load_test" "$conns" 127.0.0.1 "$port" 0 0 "$size" >"$out" 2>&1 &
    local load_pid=$!
    for _ in $(seq 200); do
        grep -q "^Msg/sec" "$out" && break
        sleep 0.05
    done
    periods=$(( (SECS + 3) / 4 ))
    before=$(cpu_ticks "$server_pid")
    seen=$(grep -c "^Msg/sec" "$out" || true)
    while [ "$(grep -c "^Msg/sec" "$out" || true)" -lt $((seen + periods)) ]; do
        sleep 0.05
        kill -0 "$load_pid" 2>/dev/null || break
    done
    after=$(cpu_ticks "$server_pid")
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    # server_cpu_s is scaled to SECS, which the table's CPU column divides by.
    grep "^Msg/sec" "$out" | tail -n "$periods" | awk -v p="$periods" -v s="$SECS" \
        -v hz="$(getconf CLK_TCK)" -v before="$before" -v after="$after" '
        { sum += $2 }
        END {
            split(before, b, " "); split(after, a, " ")
            user = (a[1] - b[1]) / hz; sys = (a[2] - b[2]) / hz; cpu = user + sys
            rate = sum / p; secs = 4 * p; n = rate * secs
            printf "msg_per_s=%.0f p50_us=- p99_us=- server_cpu_s=%.2f msg_per_cpu_s=%.0f errors=0", \
                rate, cpu / secs * s, (cpu > 0 ? n / cpu : 0)
            printf " user_us_per_msg=%.2f sys_us_per_msg=%.2f\n", \
                (n > 0 ? 1e6 * user / n : 0), (n > 0 ? 1e6 * sys / n : 0)
        }'
    rm -f "$out"
}

run_once() {
    local name=$1 conns=$2 inflight=$3 size=$4 flags=$5
    local port=${server_port[$name]:-$PORT}
    local pin=("${server_pin[@]}")
    if [ "$name" = rfc6455-mio-2t ]; then
        pin=()
    fi
    # shellcheck disable=SC2086
    "${pin[@]}" ${server_cmd[$name]} 2>/dev/null &
    server_pid=$!
    if ! wait_for_port "$port"; then
        stop_server
        return 0
    fi
    if [ "${LOADGEN:-}" = uws ]; then
        uws_load "$port" "$conns" "$size"
        stop_server
        return 0
    fi
    # shellcheck disable=SC2086
    "${client_pin[@]}" "$bin/loadgen" "127.0.0.1:$port" --conns "$conns" --inflight "$inflight" \
        --size "$size" --secs "$SECS" --server-pid "$server_pid" $flags 2>&1 | tail -n 1 || true
    stop_server
}

# Paired ratios: each round runs every server back to back, so the ratio of
# two servers within one round cancels most of the machine's slow drift
# (which moves a server's best round by 10-20% from run to run here). For
# each of our async servers and each async peer, the second table gives the
# median and range over the rounds of the ratio of their msg/CPU-s in the
# same round. (Against the per-round better of two peers the ratio would be
# biased low: the larger of two noisy figures is above both their means.)
ours=(rfc6455-mio rfc6455-tokio)
peer_list=(fastwebsockets tokio-websockets)
if [ -n "$uws_build" ]; then
    peer_list+=(uwebsockets)
fi
ratio_rows=()

for case in "${cases[@]}"; do
    IFS='|' read -r label conns inflight size flags <<<"$case"
    declare -A best=() best_rate=() round_cpu=()
    for round in $(seq "$ROUNDS"); do
        # Each round starts one server later, so that no server always runs
        # first (or right after the same neighbour).
        shift_by=$(( (round - 1) % ${#order[@]} ))
        rotated=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
        for name in "${rotated[@]}"; do
            if [ -n "$flags" ] && [[ "$deflate_servers" != *" $name "* ]]; then
                continue
            fi
            result=$(run_once "$name" "$conns" "$inflight" "$size" "$flags")
            rate=$(field msg_per_s "$result")
            if [ -z "$rate" ]; then
                [ -n "${best[$name]:-}" ] || best[$name]="failed: ${result//|/ }"
                continue
            fi
            if [ -n "$(field user_us_per_msg "$result")" ]; then
                echo "note: $name, $label: server user $(field user_us_per_msg "$result") µs + system $(field sys_us_per_msg "$result") µs per message" >&2
            fi
            round_cpu[$name:$round]=$(field msg_per_cpu_s "$result")
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
    for peer in "${peer_list[@]}"; do
        for name in "${ours[@]}"; do
            ratios=()
            for round in $(seq "$ROUNDS"); do
                mine=${round_cpu[$name:$round]:-}
                theirs=${round_cpu[$peer:$round]:-}
                if [ -n "$mine" ] && [ -n "$theirs" ] && [ "$theirs" -gt 0 ]; then
                    ratios+=("$(awk -v a="$mine" -v b="$theirs" 'BEGIN { printf "%.3f", a / b }')")
                fi
            done
            if [ "${#ratios[@]}" -gt 0 ]; then
                ratio_rows+=("$(printf '%s\n' "${ratios[@]}" | sort -n | awk -v l="$label" -v n="$name" -v p="$peer" '
                    { r[NR] = $1 }
                    END {
                        m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
                        printf "| %s | %s | %s | %.2fx | %.2f-%.2fx | %d |", l, n, p, m, r[1], r[NR], NR
                    }')")
            fi
        done
    done
    unset best best_rate round_cpu
done

if [ "${#ratio_rows[@]}" -gt 0 ]; then
    echo
    echo "| case | server | against (same round) | msg/CPU-s ratio, median | range | rounds |"
    echo "|---|---|---|---:|---:|---:|"
    printf '%s\n' "${ratio_rows[@]}"
fi

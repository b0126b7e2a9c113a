#!/usr/bin/env bash
# Echo load, two servers at the same time: each of our event-loop servers
# and an async peer share one core while a load generator each drives
# them from the other, and the ratio of their messages per server
# CPU-second is taken over the same seconds. On 127.0.0.1 only.
#
#   benches/compare/side-by-side.sh               # 7 rounds of 4 s per case and pair
#   SECS=6 ROUNDS=11 benches/compare/side-by-side.sh
#   CASES="100 x 32 B" PAIRS="rfc6455-tokio:fastwebsockets" benches/compare/side-by-side.sh
#       # a whole label picks that case; a part of one ("KiB") every case with it
#
# Why: echo.sh runs one server after another, and on a shared machine the
# speed of the whole machine drifts by 10-20% between runs a few seconds
# apart, more than the gaps it is asked to show (at 32 B the kernel's TCP
# path is over 80% of every server's CPU, so servers differ by a few per
# cent at most). Two servers run side by side see the same drift; their
# ratio moves by about 1% from round to round here. Each round swaps the
# servers' ports and start order, so neither always has the same
# neighbour in the kernel's tables or starts first; a server against
# itself (PAIRS="fastwebsockets:fastwebsockets") measures what is left of
# that bias.
#
# The two servers are pinned to core 0, the two generators to core 1
# (taskset; needs two cores). "msg/CPU-s" is messages per second of server
# CPU time (user + system, /proc/PID/stat) over the measured window; the
# table gives, per case and pair, the median of the per-round ratios
# (ours / peer), their range, and the median msg/CPU-s of each.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
SECS="${SECS:-4}"
ROUNDS="${ROUNDS:-7}"
PORT_A="${PORT_A:-9111}"
PORT_B="${PORT_B:-9112}"

if ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; then
    echo "side-by-side.sh needs taskset and two cores" >&2
    exit 2
fi

# shellcheck source=event-loop-servers.sh
source "$here/event-loop-servers.sh"

# Server commands, the address appended at run time.
declare -A server_cmd=(
    [rfc6455-tokio]="$examples/tokio-echo-server"
    [rfc6455-mio]="$examples/mio-echo-server"
    [fastwebsockets]="$bin/echo-fastwebsockets"
    [tokio-websockets]="$bin/echo-tokio-websockets"
)
# mio's single loop, like the current-thread runtimes of the others.
declare -A server_args=([rfc6455-mio]="--threads 1")

pairs=(rfc6455-tokio:fastwebsockets rfc6455-tokio:tokio-websockets
    rfc6455-mio:fastwebsockets rfc6455-mio:tokio-websockets)
if [ -n "${PAIRS:-}" ]; then
    read -r -a pairs <<<"$PAIRS"
fi

# label|conns|in flight|size, as in echo.sh.
cases=(
    "100 x 32 B|100|1|32"
    "100 x 32 B, 16 in flight|100|16|32"
    "500 x 16 KiB|500|1|16384"
    "10 x 1 MiB|10|1|1048576"
)
if [ -n "${CASES:-}" ]; then
    IFS=',' read -r -a wanted <<<"$CASES"
    kept=()
    for want in "${wanted[@]}"; do
        # A whole label picks that case alone; a part of one, every case
        # whose label has it.
        exact=""
        for case in "${cases[@]}"; do
            [ "${case%%|*}" = "$want" ] && exact=$case
        done
        if [ -n "$exact" ]; then
            kept+=("$exact")
            continue
        fi
        for case in "${cases[@]}"; do
            [[ "${case%%|*}" == *"$want"* ]] && kept+=("$case")
        done
    done
    cases=("${kept[@]}")
fi

# Two servers with 500 connections each, and their generators.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
    ulimit -n 8192 2>/dev/null || echo "note: ulimit -n is $(ulimit -n); the 500-connection case may fail" >&2
fi

# shellcheck source=../../scripts/wait-for-port.sh
source "$root/scripts/wait-for-port.sh"

pids=()
stop_all() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap stop_all EXIT

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One round: both servers up, both generators at once; prints
# "ours_rate peer_rate" in msg/CPU-s, or nothing when either failed.
round() {
    local ours=$1 peer=$2 conns=$3 inflight=$4 size=$5 swap=$6
    local port_ours=$PORT_A port_peer=$PORT_B
    if [ "$swap" = 1 ]; then
        port_ours=$PORT_B port_peer=$PORT_A
    fi
    # Keyed by role, not name: a server may be paired with itself.
    start_server() {
        # shellcheck disable=SC2086
        taskset -c 0 ${server_cmd[$1]} "127.0.0.1:$2" ${server_args[$1]:-} >/dev/null 2>&1 &
        pids+=($!)
    }
    local pid_ours pid_peer
    if [ "$swap" = 1 ]; then
        start_server "$peer" "$port_peer"
        pid_peer=$!
        start_server "$ours" "$port_ours"
        pid_ours=$!
    else
        start_server "$ours" "$port_ours"
        pid_ours=$!
        start_server "$peer" "$port_peer"
        pid_peer=$!
    fi
    if ! wait_for_port "$port_ours" || ! wait_for_port "$port_peer"; then
        stop_all
        return 0
    fi
    local out_ours out_peer
    out_ours="$(mktemp)"
    out_peer="$(mktemp)"
    taskset -c 1 "$bin/loadgen" "127.0.0.1:$port_ours" --conns "$conns" --inflight "$inflight" \
        --size "$size" --secs "$SECS" --server-pid "$pid_ours" >"$out_ours" 2>&1 &
    local gen=$!
    taskset -c 1 "$bin/loadgen" "127.0.0.1:$port_peer" --conns "$conns" --inflight "$inflight" \
        --size "$size" --secs "$SECS" --server-pid "$pid_peer" >"$out_peer" 2>&1 || true
    wait "$gen" || true
    stop_all
    local a b
    a=$(field msg_per_cpu_s "$(tail -n 1 "$out_ours")")
    b=$(field msg_per_cpu_s "$(tail -n 1 "$out_peer")")
    rm -f "$out_ours" "$out_peer"
    if [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt 0 ]; then
        echo "$a $b"
    fi
}

echo "| case | server | against (same seconds, same core) | msg/CPU-s ratio, median | range | ours, median msg/CPU-s | theirs | rounds |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
for case in "${cases[@]}"; do
    IFS='|' read -r label conns inflight size <<<"$case"
    for pair in "${pairs[@]}"; do
        ours=${pair%%:*}
        peer=${pair#*:}
        ratios=() mine=() theirs=()
        for r in $(seq "$ROUNDS"); do
            rates=$(round "$ours" "$peer" "$conns" "$inflight" "$size" $((r % 2)))
            [ -n "$rates" ] || continue
            read -r a b <<<"$rates"
            mine+=("$a")
            theirs+=("$b")
            ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')")
            echo "note: $label, $ours / $peer, round $r: $a / $b" >&2
        done
        if [ "${#ratios[@]}" -eq 0 ]; then
            echo "| $label | $ours | $peer | failed | | | | 0 |"
            continue
        fi
        low=$(printf '%s\n' "${ratios[@]}" | sort -n | head -n 1)
        high=$(printf '%s\n' "${ratios[@]}" | sort -n | tail -n 1)
        printf '| %s | %s | %s | %.3fx | %.3f-%.3fx | %.0f | %.0f | %d |\n' "$label" "$ours" "$peer" \
            "$(printf '%s\n' "${ratios[@]}" | median)" "$low" "$high" \
            "$(printf '%s\n' "${mine[@]}" | median)" "$(printf '%s\n' "${theirs[@]}" | median)" \
            "${#ratios[@]}"
    done
done

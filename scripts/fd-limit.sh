# Sourced by the scripts that hold many sockets (mio-idle-rss.sh,
# benches/conn-memory.sh): raise_fd_limit NEED NAME raises the soft
# file-descriptor limit to NEED, or exits with a message naming NAME when
# the hard limit is lower.
raise_fd_limit() {
    local need=$1 name=$2 hard
    hard="$(ulimit -Hn)"
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
        echo "$name: the hard fd limit ($hard) is below $need; pass a smaller N" >&2
        exit 1
    fi
    if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ]; then
        ulimit -Sn "$need"
    fi
}

# Sourced by the scripts that start a server and then load it (benches/
# conn-memory.sh, benches/compare/echo.sh, benches/compare/instructions.sh):
# wait_for_port PORT [SECONDS] returns once something accepts connections
# on 127.0.0.1:PORT, or fails after SECONDS (default 5).
wait_for_port() {
    local port=$1 tries=$(( ${2:-5} * 20 ))
    for _ in $(seq "$tries"); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

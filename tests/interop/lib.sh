# Shared by the interop scripts (run.sh, tls.sh); source it after setting
# $here (this folder), $cache (target/interop: the Python venv goes there),
# $logs (a folder for logs) and, optionally, $script_name (for messages).
# Every process started with `start` is stopped by PID when the script exits.

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]+"${pids[@]}"}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]+"${pids[@]}"}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT

say() { printf '\n== %s\n' "$*"; }
die() { printf '%s: %s\n' "${script_name:-interop}" "$*" >&2; exit 1; }

# start NAME COMMAND...: run a server whose output names the address it
# listens on ("listening on ws://127.0.0.1:PORT", wss://, http://...), and
# set $addr to that address once it accepts connections.
start() {
    local name=$1 log="$logs/$1.log" i
    shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    addr=
    for i in $(seq 1 300); do
        addr=$(grep -o 'listening on [a-z]*://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 | sed 's|.*://||') || true
        [ -n "$addr" ] && (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    die "$name did not start"
}

passed=0
failed=0
summary=()

# suite PEER DIRECTION COMMAND...: run one scenario (a program, time-limited,
# or a shell function), count its TAP lines; a scenario that fails without
# saying why counts as one failure.
suite() {
    local peer=$1 direction=$2 out="$logs/suite.out" status=0 ok bad
    shift 2
    say "$peer: $direction"
    if [ "$(type -t "$1")" = function ]; then
        "$@" 2>&1 | tee "$out" || status=$?
    else
        timeout 300 "$@" 2>&1 | tee "$out" || status=$?
    fi
    ok=$(grep -c '^ok ' "$out" || true)
    bad=$(grep -c '^not ok ' "$out" || true)
    if [ "$status" != 0 ] && [ "$bad" = 0 ]; then
        echo "not ok - $peer ($direction) exited with status $status"
        bad=1
    fi
    passed=$((passed + ok))
    failed=$((failed + bad))
    summary+=("$(printf '%-30s %-40s %3d passed %3d failed' "$peer" "$direction" "$ok" "$bad")")
}

# --- peers ------------------------------------------------------------------

install_chromium() {
    CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
    if [ -z "$CHROMIUM" ]; then
        [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
            die "chromium is missing and cannot be installed (needs root and apt-get)"
        say "installing chromium"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium >"$logs/apt.log" 2>&1 || {
            tail -n 20 "$logs/apt.log"
            die "apt-get install chromium failed"
        }
        CHROMIUM=$(command -v chromium) || die "chromium not on PATH after install"
    fi
    export CHROMIUM
}

# Prints the installed version of an npm package, or nothing.
npm_version() {
    node -e "try { process.stdout.write(require('$here/node_modules/$1/package.json').version) } catch {}"
}

install_node_packages() {
    command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed"
    local pkg want ok=1
    for pkg in ws playwright-core; do
        want=$(node -p "require('$here/package.json').dependencies['$pkg']")
        [ "$(npm_version "$pkg")" = "$want" ] || ok=0
    done
    if [ "$ok" = 0 ]; then
        say "installing npm packages"
        (cd "$here" && npm install --no-audit --no-fund --loglevel=error) ||
            die "npm install failed"
    fi
}

install_python_packages() {
    local venv="$cache/venv"
    if ! cmp -s "$here/requirements.txt" "$venv/.installed-requirements.txt"; then
        say "installing Python packages"
        rm -rf "$venv"
        python3 -m venv "$venv" || die "python3 -m venv failed"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" ||
            die "pip install failed"
        cp "$here/requirements.txt" "$venv/.installed-requirements.txt"
    fi
    PYTHON="$venv/bin/python"
}

#!/usr/bin/env bash
# Run the Autobahn testsuite (wstest) against the rfc6455 example testees and
# gate the result with autobahn/check.py.  See autobahn/README.md.
#
#   autobahn/run.sh [server|client|all] [--docker] [--full] [--cases LIST]
#                   [--no-deflate]
#
#   server      wstest -m fuzzingclient drives examples/autobahn-server
#   client      examples/autobahn-client runs against wstest -m fuzzingserver
#   all         both (default)
#   --docker    use the crossbario/autobahn-testsuite image instead of a
#               local Python 2.7 virtualenv
#   --full      all 517 cases (default: sections 1-10 + a 12/13 sample)
#   --cases L   only the cases matching L (comma-separated wstest patterns,
#               e.g. "1.*,6.4.1,12.1.*")
#   --no-deflate  accept UNIMPLEMENTED in sections 12 and 13 (same as
#               AUTOBAHN_ALLOW_UNIMPLEMENTED=12,13)
#
# Environment:
#   AUTOBAHN_ALLOW_UNIMPLEMENTED  sections where UNIMPLEMENTED passes (default none)
#   AUTOBAHN_CARGO_FLAGS          extra flags for cargo build (e.g. "--features deflate")
#   AUTOBAHN_PYTHON27             Python 2.7 interpreter to build the venv with
#   AUTOBAHN_DOCKER_IMAGE         image for --docker (default crossbario/autobahn-testsuite:25.10.1)
#   AUTOBAHN_TIMEOUT              seconds one mode may run (default 1800, 14400 with --full)
#   AUTOBAHN_PORT_WAIT            seconds to wait for a listener (default 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AB="$ROOT/autobahn"
cd "$ROOT"

# wstest 25.10.1 has 517 cases; autobahn/cases.txt lists them.
FULL_CASE_COUNT=517
WSTEST_VERSION=25.10.1
VIRTUALENV_VERSION=20.15.1
# Sample of the slow permessage-deflate sections run by default: these case
# numbers in every subsection 12.1-12.5 (one data set each) and 13.1-13.7 (one
# offer/accept parameter set each), 36 cases.  In each subsection (1000
# messages per case):
#   1   16-byte messages, one frame each
#   9   64 KiB messages, one frame each (longer than a 15-bit window, so the
#       sliding window and context takeover are exercised)
#   13  32 KiB messages auto-fragmented into 256-byte frames (compressed
#       messages spanning many continuation frames)
# Case 18 (128 KiB messages in 32 KiB frames) is left to --full: it alone
# took a third of the sample's time, and 13 already covers compressed
# messages spanning continuation frames.
SAMPLE_DEFLATE_CASES="1 9 13"
CLIENT_AGENT=rfc6455
DOCKER_IMAGE="${AUTOBAHN_DOCKER_IMAGE:-crossbario/autobahn-testsuite:$WSTEST_VERSION}"
PORT_WAIT="${AUTOBAHN_PORT_WAIT:-30}"

VENV="$ROOT/target/autobahn-venv"
GEN="$ROOT/target/autobahn"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

usage() { sed -n '2,25s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

MODE=all
DOCKER=0
FULL=0
CASES=""
ALLOW="${AUTOBAHN_ALLOW_UNIMPLEMENTED:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    server|client|all) MODE="$1" ;;
    --docker) DOCKER=1 ;;
    --full) FULL=1 ;;
    --cases) [ $# -ge 2 ] || die "--cases needs a list"; CASES="$2"; shift ;;
    --cases=*) CASES="${1#--cases=}" ;;
    --no-deflate) ALLOW="12,13" ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[ "$FULL" = 1 ] && [ -n "$CASES" ] && die "--full and --cases exclude each other"
if [ "$FULL" = 1 ]; then
  TIMEOUT="${AUTOBAHN_TIMEOUT:-14400}"
else
  TIMEOUT="${AUTOBAHN_TIMEOUT:-1800}"
fi
command -v python3 >/dev/null || die "python3 is needed (for config generation and check.py)"

# ---------------------------------------------------------------- cleanup
PIDS=()
CONTAINERS=()
cleanup() {
  local pid name i
  for name in "${CONTAINERS[@]+"${CONTAINERS[@]}"}"; do
    docker rm -f "$name" >/dev/null 2>&1 || true
  done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  CONTAINERS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Stop one background process started by this script (by PID).
stop_pid() {
  local pid="$1" i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# Wait (interruptibly) for a background PID; prints nothing, returns its status.
wait_pid() {
  local rc=0
  wait "$1" || rc=$?
  local keep=() p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
  return "$rc"
}

# True when something listens on 127.0.0.1:PORT (or any address).  Reads
# /proc/net/tcp* so the probe does not open a connection to the testee.
port_listening() {
  python3 - "$1" <<'EOF'
import sys
port = int(sys.argv[1])
found = None
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(name).read().splitlines()[1:]
    except OSError:
        continue
    found = found or False
    for line in lines:
        f = line.split()
        if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
            found = True
if found is None:  # no /proc: fall back to connecting
    import socket
    s = socket.socket()
    s.settimeout(0.5)
    found = s.connect_ex(("127.0.0.1", port)) == 0
    s.close()
sys.exit(0 if found else 1)
EOF
}

# wait_port PORT PID WHAT LOG: wait up to PORT_WAIT s for a listener on PORT,
# failing early if PID dies.
wait_port() {
  local port="$1" pid="$2" what="$3" logf="$4" i
  for i in $(seq $((PORT_WAIT * 10))); do
    if port_listening "$port"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$logf" >&2 || true
      die "$what exited before listening on port $port (log: $logf)"
    fi
    sleep 0.1
  done
  tail -n 20 "$logf" >&2 || true
  die "$what did not listen on port $port within ${PORT_WAIT}s (log: $logf)"
}

# ---------------------------------------------------------------- configs
# json_get FILE EXPR: print a value from a checked-in config.
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}
SERVER_URL="$(json_get "$AB/fuzzingclient.json" 'd["servers"][0]["url"]')"
SERVER_AGENT="$(json_get "$AB/fuzzingclient.json" 'd["servers"][0]["agent"]')"
CLIENT_URL="$(json_get "$AB/fuzzingserver.json" 'd["url"]')"
SERVER_ADDR="${SERVER_URL#ws://}"; SERVER_ADDR="${SERVER_ADDR%%/*}"
SERVER_PORT="${SERVER_ADDR##*:}"
CLIENT_ADDR="${CLIENT_URL#ws://}"; CLIENT_ADDR="${CLIENT_ADDR%%/*}"
CLIENT_PORT="${CLIENT_ADDR##*:}"

mkdir -p "$GEN" "$AB/reports"

# Expected case ids of this run -> $GEN/cases.txt (one per line).
select_cases() {
  python3 - "$AB/cases.txt" "$GEN/cases.txt" "$FULL" "$CASES" "$SAMPLE_DEFLATE_CASES" <<'EOF'
import re, sys
src, out, full, patterns, sample = sys.argv[1:]
ids = [l.strip() for l in open(src) if l.strip() and not l.startswith("#")]
if full == "1":
    chosen = ids
elif patterns:
    chosen = []
    for pat in [p.strip() for p in patterns.split(",") if p.strip()]:
        # wstest's own pattern semantics: '*' matches anything, anchored.
        rx = re.compile("^" + pat.replace(".", r"\.").replace("*", ".*") + "$")
        hits = [c for c in ids if rx.match(c)]
        if not hits:
            sys.exit("run.sh: error: case pattern %r matches no case" % pat)
        chosen += [c for c in hits if c not in chosen]
    chosen = [c for c in ids if c in chosen]
else:
    picks = set(sample.split())
    chosen = [c for c in ids
              if c.split(".")[0] not in ("12", "13") or c.split(".")[2] in picks]
open(out, "w").write("".join(c + "\n" for c in chosen))
print(len(chosen))
EOF
}

# make_config SRC DST: the checked-in config with this run's cases (and, in
# Docker, the report directory under the /reports mount).
make_config() {
  python3 - "$1" "$2" "$GEN/cases.txt" "$DOCKER" <<'EOF'
import json, os, sys
src, dst, cases, docker = sys.argv[1:]
spec = json.load(open(src))
spec["cases"] = [l.strip() for l in open(cases) if l.strip()]
spec["exclude-cases"] = []
if docker == "1":
    spec["outdir"] = "/reports/" + os.path.basename(os.path.normpath(spec["outdir"]))
json.dump(spec, open(dst, "w"), indent=2)
EOF
}

# ---------------------------------------------------------------- wstest
find_python27() {
  if [ -n "${AUTOBAHN_PYTHON27:-}" ]; then
    echo "$AUTOBAHN_PYTHON27"
  elif command -v pyenv >/dev/null 2>&1 && [ -x "$(pyenv root)/versions/2.7.18/bin/python" ]; then
    echo "$(pyenv root)/versions/2.7.18/bin/python"
  elif command -v python2.7 >/dev/null 2>&1; then
    command -v python2.7
  else
    die "Python 2.7 not found (wstest needs it): install it (e.g. pyenv install 2.7.18), set AUTOBAHN_PYTHON27, or use --docker"
  fi
}

ensure_venv() {
  local stamp="$VENV/.rfc6455-installed" want
  want="$(cat "$AB/requirements-py27.txt")"
  if [ -x "$VENV/bin/wstest" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  local PY
  PY="$(find_python27)"
  log "installing wstest $WSTEST_VERSION into ${VENV#"$ROOT"/} (Python: $("$PY" --version 2>&1))"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  if ! "$PY" -m virtualenv --version >/dev/null 2>&1; then
    "$PY" -m pip install --user "virtualenv==$VIRTUALENV_VERSION"
  fi
  rm -rf "$VENV"
  "$PY" -m virtualenv "$VENV"
  "$VENV/bin/pip" install -r "$AB/requirements-py27.txt"
  "$VENV/bin/wstest" --help >/dev/null || die "wstest does not run after installing it into $VENV"
  printf '%s' "$want" >"$stamp"
}

# ---------------------------------------------------------------- testees
EXAMPLES_DIR=""
build_testees() {
  local ex missing=() meta
  meta="$(cargo metadata --no-deps --format-version 1)"
  EXAMPLES_DIR="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' <<<"$meta")/release/examples"
  for ex in "$@"; do
    python3 -c '
import json, sys
meta = json.load(sys.stdin)
names = {t["name"] for p in meta["packages"] for t in p["targets"] if "example" in t["kind"]}
sys.exit(0 if sys.argv[1] in names else 1)' "$ex" <<<"$meta" || missing+=("$ex")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "the testee example(s) ${missing[*]} do not exist yet (expected examples/<name>.rs, run as: cargo run --release --example autobahn-server -- 127.0.0.1:PORT / --example autobahn-client -- ws://127.0.0.1:PORT AGENT)"
  fi
  local args=()
  for ex in "$@"; do args+=(--example "$ex"); done
  log "building ${*}"
  # shellcheck disable=SC2086 # AUTOBAHN_CARGO_FLAGS is a word list on purpose
  cargo build --release ${AUTOBAHN_CARGO_FLAGS:-} "${args[@]}"
}

# ---------------------------------------------------------------- modes
RESULTS=()   # "mode:status" per mode run

check_report() {
  local mode="$1" dir="$2" agent="$3"
  local args=("$dir" --agent "$agent" --cases-file "$GEN/cases.txt" --label "$mode")
  [ "$FULL" = 1 ] && args+=(--expect-cases "$FULL_CASE_COUNT")
  [ -n "$ALLOW" ] && args+=(--allow-unimplemented "$ALLOW")
  local rc=0
  python3 "$AB/check.py" "${args[@]}" | tee "$GEN/check-$mode.txt" || rc=$?
  RESULTS+=("$mode:$rc")
}

run_server_mode() {
  local cfg="$GEN/fuzzingclient.json" tlog="$GEN/testee-server.log" wlog="$GEN/wstest-server.log"
  make_config "$AB/fuzzingclient.json" "$cfg"
  rm -rf "$AB/reports/servers"
  log "server mode: autobahn-server on $SERVER_ADDR (log: ${tlog#"$ROOT"/})"
  port_listening "$SERVER_PORT" && die "port $SERVER_PORT is already in use"
  "$EXAMPLES_DIR/autobahn-server" "$SERVER_ADDR" >"$tlog" 2>&1 &
  local testee=$!
  PIDS+=("$testee")
  wait_port "$SERVER_PORT" "$testee" autobahn-server "$tlog"

  log "server mode: wstest -m fuzzingclient, $(wc -l <"$GEN/cases.txt") cases (log: ${wlog#"$ROOT"/})"
  local wst rc=0
  if [ "$DOCKER" = 1 ]; then
    local name="rfc6455-autobahn-server-$$"
    CONTAINERS+=("$name")
    timeout "$TIMEOUT" docker run --rm --name "$name" --net=host --user "$(id -u):$(id -g)" \
      -v "$GEN:/config:ro" -v "$AB/reports:/reports" "$DOCKER_IMAGE" \
      wstest -m fuzzingclient -s /config/fuzzingclient.json >"$wlog" 2>&1 &
  else
    (cd "$AB" && exec timeout "$TIMEOUT" "$VENV/bin/wstest" -m fuzzingclient -s "$cfg") >"$wlog" 2>&1 &
  fi
  wst=$!
  PIDS+=("$wst")
  wait_pid "$wst" || rc=$?
  if ! kill -0 "$testee" 2>/dev/null; then
    log "server mode: warning: autobahn-server exited during the run (log: ${tlog#"$ROOT"/})"
  fi
  stop_pid "$testee"
  [ "$DOCKER" = 1 ] && docker rm -f "rfc6455-autobahn-server-$$" >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    tail -n 20 "$wlog" >&2 || true
    [ "$rc" = 124 ] && log "server mode: wstest timed out after ${TIMEOUT}s"
    log "server mode: wstest exited with status $rc"
  fi
  check_report server "$AB/reports/servers" "$SERVER_AGENT"
}

run_client_mode() {
  local cfg="$GEN/fuzzingserver.json" tlog="$GEN/testee-client.log" wlog="$GEN/wstest-client.log"
  make_config "$AB/fuzzingserver.json" "$cfg"
  rm -rf "$AB/reports/clients"
  port_listening "$CLIENT_PORT" && die "port $CLIENT_PORT is already in use"
  log "client mode: wstest -m fuzzingserver on $CLIENT_ADDR, $(wc -l <"$GEN/cases.txt") cases (log: ${wlog#"$ROOT"/})"
  local name="rfc6455-autobahn-client-$$"
  if [ "$DOCKER" = 1 ]; then
    CONTAINERS+=("$name")
    docker run --rm --name "$name" --net=host --user "$(id -u):$(id -g)" \
      -v "$GEN:/config:ro" -v "$AB/reports:/reports" "$DOCKER_IMAGE" \
      wstest -m fuzzingserver -s /config/fuzzingserver.json -u 0 >"$wlog" 2>&1 &
  else
    # -u 0: no embedded web server (it would take port 8080).
    (cd "$AB" && exec "$VENV/bin/wstest" -m fuzzingserver -s "$cfg" -u 0) >"$wlog" 2>&1 &
  fi
  local wst=$!
  PIDS+=("$wst")
  wait_port "$CLIENT_PORT" "$wst" "wstest fuzzingserver" "$wlog"

  log "client mode: autobahn-client $CLIENT_URL $CLIENT_AGENT (log: ${tlog#"$ROOT"/})"
  local testee rc=0
  timeout "$TIMEOUT" "$EXAMPLES_DIR/autobahn-client" "$CLIENT_URL" "$CLIENT_AGENT" >"$tlog" 2>&1 &
  testee=$!
  PIDS+=("$testee")
  wait_pid "$testee" || rc=$?
  if [ "$DOCKER" = 1 ]; then docker rm -f "$name" >/dev/null 2>&1 || true; fi
  stop_pid "$wst"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$tlog" >&2 || true
    [ "$rc" = 124 ] && log "client mode: autobahn-client timed out after ${TIMEOUT}s"
    log "client mode: autobahn-client exited with status $rc"
    RESULTS+=("client-testee:$rc")
  fi
  check_report client "$AB/reports/clients" "$CLIENT_AGENT"
}

# ---------------------------------------------------------------- main
n="$(select_cases)"
if [ "$FULL" = 1 ]; then
  log "running all $n cases"
elif [ -n "$CASES" ]; then
  log "running $n cases matching $CASES"
else
  log "running $n cases: sections 1-10 + 12.*.{${SAMPLE_DEFLATE_CASES// /,}} + 13.*.{${SAMPLE_DEFLATE_CASES// /,}} (--full for all $FULL_CASE_COUNT)"
fi
[ -n "$ALLOW" ] && log "UNIMPLEMENTED accepted in sections $ALLOW"

case "$MODE" in
  server) examples=(autobahn-server) ;;
  client) examples=(autobahn-client) ;;
  all) examples=(autobahn-server autobahn-client) ;;
esac
build_testees "${examples[@]}"
if [ "$DOCKER" = 1 ]; then
  command -v docker >/dev/null || die "--docker: docker not found"
else
  ensure_venv
fi

case "$MODE" in
  server) run_server_mode ;;
  client) run_client_mode ;;
  all) run_server_mode; run_client_mode ;;
esac

echo
echo "==================== Autobahn summary ===================="
status=0
for r in "${RESULTS[@]}"; do
  mode="${r%%:*}"; rc="${r##*:}"
  if [ -f "$GEN/check-$mode.txt" ]; then cat "$GEN/check-$mode.txt"; echo; fi
  [ "$rc" = 0 ] || status=1
done
for r in "${RESULTS[@]}"; do
  [ "${r##*:}" = 0 ] || echo "FAILED: ${r%%:*} (status ${r##*:})"
done
[ "$status" = 0 ] && echo "Autobahn: all modes passed"
echo "Reports: autobahn/reports/ (index.html per mode)"
exit "$status"

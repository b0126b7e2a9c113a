#!/usr/bin/env bash
# Run the Autobahn testsuite (wstest) against the rfc6455 example testees and
# gate the result with autobahn/check.py.  See autobahn/README.md.
#
#   autobahn/run.sh [server|client|all] [--mio|--no-mio|--tokio|--no-tokio]
#                   [--docker] [--full]
#                   [--cases LIST] [--no-deflate]
#
#   server      wstest -m fuzzingclient drives examples/autobahn-server
#               (agent rfc6455), examples/mio-echo-server (rfc6455-mio)
#               and examples/tokio-echo-server (rfc6455-tokio)
#   client      examples/autobahn-client (rfc6455),
#               examples/mio-autobahn-client (rfc6455-mio) and
#               examples/tokio-autobahn-client (rfc6455-tokio) run against
#               wstest -m fuzzingserver
#   all         both (default)
#   --mio       only the mio agents; --no-mio: only the blocking ones
#   --tokio     only the tokio agents; --no-tokio: all but the tokio ones
#               (default: all three; the mio agents run sections 1-10
#               unless --full or --cases is given, the tokio ones the same
#               cases as the blocking ones)
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
#   AUTOBAHN_PORT_OFFSET          added to every port (default 0), so two runs
#                                 can share a machine
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
MIO_AGENT=rfc6455-mio
TOKIO_AGENT=rfc6455-tokio
# What the mio agents run by default (no --full, no --cases): sections 1-10.
# The mio adapter shares the protocol core (and so the deflate code) with the
# blocking testees, which run the 12/13 sample; what the mio agents add is
# the event loop, buffering and backpressure, which sections 1-10 exercise
# (9.x: messages up to 16 MiB).  --full runs all 517 for every agent.
MIO_DEFAULT_SECTIONS="1 2 3 4 5 6 7 8 9 10"
DOCKER_IMAGE="${AUTOBAHN_DOCKER_IMAGE:-crossbario/autobahn-testsuite:$WSTEST_VERSION}"
PORT_WAIT="${AUTOBAHN_PORT_WAIT:-30}"

VENV="$ROOT/target/autobahn-venv"
GEN="$ROOT/target/autobahn"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }

usage() { sed -n '2,38s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

MODE=all
# Which testees run: any of blocking, mio, tokio.
AGENTS="blocking mio tokio"
DOCKER=0
FULL=0
CASES=""
ALLOW="${AUTOBAHN_ALLOW_UNIMPLEMENTED:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    server|client|all) MODE="$1" ;;
    --mio) AGENTS=mio ;;
    --no-mio) AGENTS=blocking ;;
    --tokio) AGENTS=tokio ;;
    --no-tokio) AGENTS="${AGENTS/tokio/}" ;;
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
OFFSET="${AUTOBAHN_PORT_OFFSET:-0}"
SERVER_PORT=$((SERVER_PORT + OFFSET)); SERVER_ADDR="${SERVER_ADDR%:*}:$SERVER_PORT"
CLIENT_PORT=$((CLIENT_PORT + OFFSET)); CLIENT_ADDR="${CLIENT_ADDR%:*}:$CLIENT_PORT"
# The mio agents listen (server mode) and find wstest (client mode) two
# ports further on, so the two agents of a mode never share a port.
MIO_SERVER_PORT=$((SERVER_PORT + 2)); MIO_SERVER_ADDR="${SERVER_ADDR%:*}:$MIO_SERVER_PORT"
MIO_CLIENT_PORT=$((CLIENT_PORT + 2)); MIO_CLIENT_ADDR="${CLIENT_ADDR%:*}:$MIO_CLIENT_PORT"
# The tokio agents two further.
TOKIO_SERVER_PORT=$((SERVER_PORT + 4)); TOKIO_SERVER_ADDR="${SERVER_ADDR%:*}:$TOKIO_SERVER_PORT"
TOKIO_CLIENT_PORT=$((CLIENT_PORT + 4)); TOKIO_CLIENT_ADDR="${CLIENT_ADDR%:*}:$TOKIO_CLIENT_PORT"

mkdir -p "$GEN" "$AB/reports"

# select_cases OUT [SECTIONS]: expected case ids of this run -> OUT (one per
# line); SECTIONS (space-separated) replaces the default selection.
select_cases() {
  python3 - "$AB/cases.txt" "$1" "$FULL" "$CASES" "$SAMPLE_DEFLATE_CASES" "${2:-}" <<'EOF'
import re, sys
src, out, full, patterns, sample, sections = sys.argv[1:]
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
elif sections:
    keep = set(sections.split())
    chosen = [c for c in ids if c.split(".")[0] in keep]
else:
    picks = set(sample.split())
    chosen = [c for c in ids
              if c.split(".")[0] not in ("12", "13") or c.split(".")[2] in picks]
open(out, "w").write("".join(c + "\n" for c in chosen))
print(len(chosen))
EOF
}

# make_config SRC DST CASES URL AGENT OUTDIR: the checked-in config with this
# run's cases, testee URL and agent (server mode) or listening URL (client
# mode), and report directory (in Docker, under the /reports mount).
make_config() {
  python3 - "$@" "$DOCKER" <<'EOF'
import json, os, sys
src, dst, cases, url, agent, outdir, docker = sys.argv[1:]
spec = json.load(open(src))
spec["cases"] = [l.strip() for l in open(cases) if l.strip()]
spec["exclude-cases"] = []
spec["outdir"] = outdir
if "servers" in spec:
    spec["servers"] = [{"agent": agent, "url": url}]
else:
    spec["url"] = url
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
RESULTS=()   # "label:status" per agent and mode run

# check_report LABEL DIR AGENT CASES_FILE
check_report() {
  local label="$1" dir="$2" agent="$3" cases="$4"
  local args=("$dir" --agent "$agent" --cases-file "$cases" --label "$label")
  [ "$FULL" = 1 ] && args+=(--expect-cases "$FULL_CASE_COUNT")
  [ -n "$ALLOW" ] && args+=(--allow-unimplemented "$ALLOW")
  local rc=0
  python3 "$AB/check.py" "${args[@]}" | tee "$GEN/check-$label.txt" || rc=$?
  RESULTS+=("$label:$rc")
}

# run_server_mode LABEL EXAMPLE AGENT ADDR REPORT CASES_FILE: wstest's
# fuzzingclient against the EXAMPLE server listening on ADDR.
run_server_mode() {
  local label="$1" example="$2" agent="$3" addr="$4" report="$5" cases="$6"
  local port="${addr##*:}"
  local cfg="$GEN/fuzzingclient-$label.json" tlog="$GEN/testee-$label.log" wlog="$GEN/wstest-$label.log"
  make_config "$AB/fuzzingclient.json" "$cfg" "$cases" "ws://$addr" "$agent" "./reports/$report"
  rm -rf "${AB:?}/reports/$report"
  log "$label: $example on $addr (log: ${tlog#"$ROOT"/})"
  port_listening "$port" && die "port $port is already in use"
  "$EXAMPLES_DIR/$example" "$addr" >"$tlog" 2>&1 &
  local testee=$!
  PIDS+=("$testee")
  wait_port "$port" "$testee" "$example" "$tlog"

  log "$label: wstest -m fuzzingclient, $(wc -l <"$cases") cases as agent $agent (log: ${wlog#"$ROOT"/})"
  local wst rc=0 name="rfc6455-autobahn-$label-$$"
  if [ "$DOCKER" = 1 ]; then
    CONTAINERS+=("$name")
    timeout "$TIMEOUT" docker run --rm --name "$name" --net=host --user "$(id -u):$(id -g)" \
      -v "$GEN:/config:ro" -v "$AB/reports:/reports" "$DOCKER_IMAGE" \
      wstest -m fuzzingclient -s "/config/${cfg##*/}" >"$wlog" 2>&1 &
  else
    (cd "$AB" && exec timeout "$TIMEOUT" "$VENV/bin/wstest" -m fuzzingclient -s "$cfg") >"$wlog" 2>&1 &
  fi
  wst=$!
  PIDS+=("$wst")
  wait_pid "$wst" || rc=$?
  if ! kill -0 "$testee" 2>/dev/null; then
    log "$label: warning: $example exited during the run (log: ${tlog#"$ROOT"/})"
  fi
  stop_pid "$testee"
  [ "$DOCKER" = 1 ] && docker rm -f "$name" >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    tail -n 20 "$wlog" >&2 || true
    [ "$rc" = 124 ] && log "$label: wstest timed out after ${TIMEOUT}s"
    log "$label: wstest exited with status $rc"
  fi
  check_report "$label" "$AB/reports/$report" "$agent" "$cases"
}

# run_client_mode LABEL EXAMPLE AGENT ADDR REPORT CASES_FILE: the EXAMPLE
# client against wstest's fuzzingserver listening on ADDR.
run_client_mode() {
  local label="$1" example="$2" agent="$3" addr="$4" report="$5" cases="$6"
  local port="${addr##*:}"
  local cfg="$GEN/fuzzingserver-$label.json" tlog="$GEN/testee-$label.log" wlog="$GEN/wstest-$label.log"
  make_config "$AB/fuzzingserver.json" "$cfg" "$cases" "ws://$addr" "$agent" "./reports/$report"
  rm -rf "${AB:?}/reports/$report"
  port_listening "$port" && die "port $port is already in use"
  log "$label: wstest -m fuzzingserver on $addr, $(wc -l <"$cases") cases (log: ${wlog#"$ROOT"/})"
  local name="rfc6455-autobahn-$label-$$"
  if [ "$DOCKER" = 1 ]; then
    CONTAINERS+=("$name")
    docker run --rm --name "$name" --net=host --user "$(id -u):$(id -g)" \
      -v "$GEN:/config:ro" -v "$AB/reports:/reports" "$DOCKER_IMAGE" \
      wstest -m fuzzingserver -s "/config/${cfg##*/}" -u 0 >"$wlog" 2>&1 &
  else
    # -u 0: no embedded web server (it would take port 8080).
    (cd "$AB" && exec "$VENV/bin/wstest" -m fuzzingserver -s "$cfg" -u 0) >"$wlog" 2>&1 &
  fi
  local wst=$!
  PIDS+=("$wst")
  wait_port "$port" "$wst" "wstest fuzzingserver" "$wlog"

  log "$label: $example ws://$addr $agent (log: ${tlog#"$ROOT"/})"
  local testee rc=0
  timeout "$TIMEOUT" "$EXAMPLES_DIR/$example" "ws://$addr" "$agent" >"$tlog" 2>&1 &
  testee=$!
  PIDS+=("$testee")
  wait_pid "$testee" || rc=$?
  if [ "$DOCKER" = 1 ]; then docker rm -f "$name" >/dev/null 2>&1 || true; fi
  stop_pid "$wst"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$tlog" >&2 || true
    [ "$rc" = 124 ] && log "$label: $example timed out after ${TIMEOUT}s"
    log "$label: $example exited with status $rc"
    RESULTS+=("$label-testee:$rc")
  fi
  check_report "$label" "$AB/reports/$report" "$agent" "$cases"
}

# ---------------------------------------------------------------- main
n="$(select_cases "$GEN/cases.txt")"
if [ "$FULL" = 1 ]; then
  log "running all $n cases"
elif [ -n "$CASES" ]; then
  log "running $n cases matching $CASES"
else
  log "running $n cases: sections 1-10 + 12.*.{${SAMPLE_DEFLATE_CASES// /,}} + 13.*.{${SAMPLE_DEFLATE_CASES// /,}} (--full for all $FULL_CASE_COUNT)"
fi
runs() { [[ " $AGENTS " == *" $1 "* ]]; }
if runs mio; then
  if [ "$FULL" = 1 ] || [ -n "$CASES" ]; then
    cp "$GEN/cases.txt" "$GEN/cases-mio.txt"
  else
    n="$(select_cases "$GEN/cases-mio.txt" "$MIO_DEFAULT_SECTIONS")"
    log "mio agents: $n cases (sections ${MIO_DEFAULT_SECTIONS// /,}; --full for all)"
  fi
fi
[ -n "$ALLOW" ] && log "UNIMPLEMENTED accepted in sections $ALLOW"

examples=()
if runs blocking; then
  [ "$MODE" = client ] || examples+=(autobahn-server)
  [ "$MODE" = server ] || examples+=(autobahn-client)
fi
if runs mio; then
  [ "$MODE" = client ] || examples+=(mio-echo-server)
  [ "$MODE" = server ] || examples+=(mio-autobahn-client)
  # The mio testees need the adapter's feature.
  AUTOBAHN_CARGO_FLAGS="${AUTOBAHN_CARGO_FLAGS:-} --features mio"
fi
if runs tokio; then
  [ "$MODE" = client ] || examples+=(tokio-echo-server)
  [ "$MODE" = server ] || examples+=(tokio-autobahn-client)
  AUTOBAHN_CARGO_FLAGS="${AUTOBAHN_CARGO_FLAGS:-} --features tokio"
fi
build_testees "${examples[@]}"
if [ "$DOCKER" = 1 ]; then
  command -v docker >/dev/null || die "--docker: docker not found"
else
  ensure_venv
fi

blocking_server() { run_server_mode server autobahn-server "$SERVER_AGENT" "$SERVER_ADDR" servers "$GEN/cases.txt"; }
blocking_client() { run_client_mode client autobahn-client "$CLIENT_AGENT" "$CLIENT_ADDR" clients "$GEN/cases.txt"; }
mio_server() { run_server_mode server-mio mio-echo-server "$MIO_AGENT" "$MIO_SERVER_ADDR" servers-mio "$GEN/cases-mio.txt"; }
mio_client() { run_client_mode client-mio mio-autobahn-client "$MIO_AGENT" "$MIO_CLIENT_ADDR" clients-mio "$GEN/cases-mio.txt"; }
tokio_server() { run_server_mode server-tokio tokio-echo-server "$TOKIO_AGENT" "$TOKIO_SERVER_ADDR" servers-tokio "$GEN/cases.txt"; }
tokio_client() { run_client_mode client-tokio tokio-autobahn-client "$TOKIO_AGENT" "$TOKIO_CLIENT_ADDR" clients-tokio "$GEN/cases.txt"; }
if [ "$MODE" != client ]; then
  ! runs blocking || blocking_server
  ! runs mio || mio_server
  ! runs tokio || tokio_server
fi
if [ "$MODE" != server ]; then
  ! runs blocking || blocking_client
  ! runs mio || mio_client
  ! runs tokio || tokio_client
fi

echo
echo "==================== Autobahn summary ===================="
status=0
for r in "${RESULTS[@]}"; do
  label="${r%%:*}"; rc="${r##*:}"
  if [ -f "$GEN/check-$label.txt" ]; then cat "$GEN/check-$label.txt"; echo; fi
  [ "$rc" = 0 ] || status=1
done
for r in "${RESULTS[@]}"; do
  [ "${r##*:}" = 0 ] || echo "FAILED: ${r%%:*} (status ${r##*:})"
done
[ "$status" = 0 ] && echo "Autobahn: all agents and modes passed"
echo "Reports: autobahn/reports/ (index.html per agent and mode)"
exit "$status"

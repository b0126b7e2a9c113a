#!/usr/bin/env bash
# Autobahn testsuite over wss://: wstest's fuzzingclient against
# examples/echo-server --tls.
#
#   autobahn/run-tls.sh [--cases LIST]
#
#   --cases L   comma-separated wstest case patterns (default sections 1-7:
#               framing, ping/pong, reserved bits, opcodes, fragmentation,
#               UTF-8, close)
#
# wstest (Python 2.7, autobahntestsuite) comes from AUTOBAHN_WSTEST if set,
# else target/autobahn-venv/bin/wstest (the venv autobahn/run.sh builds),
# else that venv is built here from autobahn/requirements-py27.txt with
# AUTOBAHN_PYTHON27 or python2.7. Certificates are made by
# tests/interop/tls-certs.sh; reports go to target/autobahn-tls/reports.
# Ends with `autobahn-tls: N passed, M failed`: a case passes when its
# behavior is OK, NON-STRICT or INFORMATIONAL and its close behavior OK or
# INFORMATIONAL. Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/target/autobahn-tls"
cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*"
while [ $# -gt 0 ]; do
    case "$1" in
        --cases) cases=${2:?--cases needs a list}; shift ;;
        -h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "run-tls.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
die() { echo "run-tls.sh: $*" >&2; exit 1; }

server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap stop_server EXIT

# --- wstest -----------------------------------------------------------------

venv="$root/target/autobahn-venv"
wstest=${AUTOBAHN_WSTEST:-$venv/bin/wstest}
if [ ! -x "$wstest" ]; then
    requirements="$root/autobahn/requirements-py27.txt"
    [ -f "$requirements" ] || die "no wstest: set AUTOBAHN_WSTEST, or run autobahn/run.sh once"
    python27=${AUTOBAHN_PYTHON27:-$(command -v python2.7 || true)}
    [ -n "$python27" ] || die "Python 2.7 not found (set AUTOBAHN_PYTHON27)"
    "$python27" -m virtualenv --version >/dev/null 2>&1 ||
        "$python27" -m pip install --quiet --user "virtualenv==20.15.1"
    "$python27" -m virtualenv --quiet "$venv"
    "$venv/bin/pip" install --quiet -r "$requirements"
    wstest="$venv/bin/wstest"
fi

# --- server -----------------------------------------------------------------

mkdir -p "$work"
"$root/tests/interop/tls-certs.sh" "$work/certs"
(cd "$root" && cargo build --quiet --release --features rustls --example echo-server)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$root/target/release/examples/echo-server" "127.0.0.1:$port" \
    --tls "$work/certs/cert.pem" "$work/certs/key.pem" >"$work/echo-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on wss://" "$work/echo-server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/echo-server.log" >&2; die "echo-server exited"; }
    sleep 0.1
done

# --- run --------------------------------------------------------------------

rm -rf "$work/reports"
python3 - "$work/fuzzingclient.json" "$port" "$cases" "$work/reports" <<'EOF'
import json, sys
path, port, cases, outdir = sys.argv[1:]
json.dump({
    "options": {"failByDrop": False},
    "outdir": outdir,
    "servers": [{"agent": "rfc6455-tls", "url": "wss://127.0.0.1:%s" % port}],
    "cases": [c.strip() for c in cases.split(",") if c.strip()],
    "exclude-cases": [],
    "exclude-agent-cases": {},
}, open(path, "w"), indent=2)
EOF
echo "==> wstest -m fuzzingclient against wss://127.0.0.1:$port ($cases)"
(cd "$work" && timeout "${AUTOBAHN_TIMEOUT:-1800}" "$wstest" -m fuzzingclient -s fuzzingclient.json \
    >"$work/wstest.log" 2>&1) || { tail -n 20 "$work/wstest.log" >&2; die "wstest failed"; }

python3 - "$work/reports/index.json" <<'EOF'
import collections, json, sys
results = json.load(open(sys.argv[1]))["rfc6455-tls"]
counts = collections.Counter()
failed = []
for case, r in sorted(results.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
    counts[r["behavior"]] += 1
    if r["behavior"] not in ("OK", "NON-STRICT", "INFORMATIONAL") or \
            r["behaviorClose"] not in ("OK", "INFORMATIONAL"):
        failed.append("%s: %s / close %s" % (case, r["behavior"], r["behaviorClose"]))
for line in failed:
    print("FAILED " + line)
print("behaviors: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
print("autobahn-tls: %d passed, %d failed" % (len(results) - len(failed), len(failed)))
sys.exit(1 if failed or not results else 0)
EOF

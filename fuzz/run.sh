#!/usr/bin/env bash
# Build every fuzz target and run each for SECONDS (default 30), or only the
# targets named after it; exit non-zero on the first crash, leak, timeout or
# out-of-memory.
#
#   fuzz/run.sh 60
#   fuzz/run.sh 300 connection_client connection_server
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Each target starts from its checked-in seeds (fuzz/seeds/TARGET, read only)
# plus a working corpus (fuzz/corpus/TARGET, git-ignored) where new inputs
# go; crashes land in fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2 ;;
esac
shift || true

# Release with debug assertions: overflow checks and the crate's own
# debug_assert!s are part of what is being tested.
cargo +nightly fuzz build --debug-assertions

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    dict=()
    case "$target" in
        handshake_* | proxy_*) dict=(-dict=http.dict) ;;
    esac
    echo "==> $target: ${seconds}s"
    # -malloc_limit_mb: any single allocation this large is a bug, since
    # every target runs with small limits. -timeout: a slow input is a hang.
    status=0
    cargo +nightly fuzz run --debug-assertions "$target" \
        "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -malloc_limit_mb=64 -max_len=8192 -print_final_stats=1 "${dict[@]}" \
        >"corpus/$target.log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
        "corpus/$target.log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "corpus/$target.log" >&2
        echo "fuzz/run.sh: $target failed; log in fuzz/corpus/$target.log," \
            "input in fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "fuzz/run.sh: ${targets[*]}: ${seconds}s each without a crash"

# Sourced by side-by-side.sh and instructions.sh (not run by itself): builds
# the event-loop echo servers they compare, ours with the root's `compare`
# profile and the peers with this folder's workspace (both one codegen
# unit), and sets `bin` (the peers and loadgen) and `examples` (ours).
# Needs `root` and `here` set.
echo "building (release, one codegen unit)..." >&2
(cd "$root" && cargo build --profile compare --quiet --features mio,tokio \
    --example mio-echo-server --example tokio-echo-server)
(cd "$here" && cargo build --release --quiet --bins)
bin="${CARGO_TARGET_DIR:-$here/target}/release"
# Built as the peers are (one codegen unit): see [profile.compare].
examples="$root/target/compare/examples"

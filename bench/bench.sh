#!/bin/bash
# bench/bench.sh — runr vs runc vs crun, side by side (run as root; `make bench`).
#
# Installs runc, crun, hyperfine, GNU time and busybox-static if missing, then
# runs bench/bench.py in a private mount namespace where the host's cgroup2
# mount at /sys/fs/cgroup/unified is replaced by an empty private tmpfs:
# crun 1.8.1 refuses this machine's hybrid layout, so all three runtimes see
# plain cgroup v1, for fairness. The host's mounts are never touched.
#
# Env: RUNR=path (default target/x86_64-unknown-linux-gnu/release/runr), RUNS=100 (lifecycle runs),
# STEPS=60 (samples per step), N=50 (sequential containers), WARMUP=5,
# BENCH_ARGS="..." (more options for bench.py, e.g. --raw FILE; see --help).
# Prints a markdown table; the last line is lifecycle_ratio_vs_crun=X.XX.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
RUNR=${RUNR:-$TOP/target/x86_64-unknown-linux-gnu/release/runr}

[ "$(id -u)" = 0 ] || { echo "bench: needs root (containers, cgroups, namespaces)" >&2; exit 1; }

missing=
command -v runc >/dev/null || missing="$missing runc"
command -v crun >/dev/null || missing="$missing crun"
command -v hyperfine >/dev/null || missing="$missing hyperfine"
[ -x /usr/bin/time ] || missing="$missing time"
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing="$missing busybox-static"
command -v unshare >/dev/null || { echo "bench: unshare (util-linux) is missing" >&2; exit 1; }
if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq runc crun hyperfine time busybox-static >/dev/null
fi
[ -x "$RUNR" ] || { echo "bench: no runr binary at $RUNR (make build, or RUNR=path)" >&2; exit 1; }
RUNR=$(readlink -f "$RUNR")

# Container ids (and so cgroup names) all start with this prefix.
PREFIX=rbench$$
leftovers() {
    # What the host sees once the namespace is gone; nothing is expected.
    local left
    left=$(find /sys/fs/cgroup -name "$PREFIX-*" 2>/dev/null || true)
    if [ -n "$left" ]; then
        echo "bench: cgroups left on the host:" >&2
        echo "$left" >&2
        return 1
    fi
}

rc=0
# The Python side traps INT/TERM itself and cleans up; keep this shell alive
# until it has, then check the host.
trap 'echo "bench: interrupted" >&2' INT
unshare --mount --propagation private -- sh -c '
    set -e
    umount /sys/fs/cgroup/unified 2>/dev/null || true
    if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
        echo "bench: cannot hide /sys/fs/cgroup/unified" >&2; exit 1
    fi
    # A private tmpfs over the mount point: crun writes a cgroup dir there
    # for each container, which must not land in the host tmpfs beneath.
    if [ -d /sys/fs/cgroup/unified ]; then
        mount -t tmpfs -o mode=755 runr-bench-unified /sys/fs/cgroup/unified
    fi
    exec python3 "$@"
' bench "$HERE/bench.py" --runr "$RUNR" --make-bundle "$TOP/integration/make-bundle.sh" \
    --prefix "$PREFIX" --runs "${RUNS:-100}" --steps "${STEPS:-60}" -n "${N:-50}" \
    --warmup "${WARMUP:-5}" ${BENCH_ARGS:-} || rc=$?
leftovers || { [ "$rc" != 0 ] || rc=1; }
exit "$rc"

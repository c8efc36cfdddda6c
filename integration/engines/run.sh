#!/bin/bash
# run.sh [RUNTIME] [ENGINE...]: the engine tests (podman, containerd,
# docker by default) against RUNTIME (default: the debug build of runr).
# ENGINE_RUNTIME=runc (or any path) runs the same checks on another
# runtime, to show that they test the engines and not runr's quirks.
# Prints each engine's PASS/FAIL lines and its "N passed, N failed" line,
# then the totals; exits 0 only when nothing failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RT=${1:-${ENGINE_RUNTIME:-$HERE/../../target/x86_64-unknown-linux-gnu/debug/runr}}
shift || true
command -v "$RT" >/dev/null 2>&1 && RT=$(command -v "$RT")
[ -x "$RT" ] || { echo "runtime not found: $RT" >&2; exit 2; }
ENGINES=${*:-podman containerd docker}
export ENGINE_DIR=${ENGINE_DIR:-$(mktemp -d /tmp/runr-engines.XXXXXX)}

# What engines leave outside their state dirs once no container runs:
# empty parent cgroups and runtime directories (rmdir only: never
# anything in use).
host_cleanup() {
  local h d
  for h in /sys/fs/cgroup/*/; do
    for d in libpod_parent/conmon libpod_parent docker engines; do
      [ -d "$h$d" ] && rmdir "$h$d" 2>/dev/null
    done
  done
  for d in /run/containerd/s /run/containerd /run/docker/plugins /run/docker /run/containers/networks /run/containers; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null
  done
  rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
  rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null
  true
}

total_p=0; total_f=0; rc=0
for e in $ENGINES; do
  echo "== $e on $RT"
  out=$(bash "$HERE/$e.sh" "$RT" 2>&1); code=$?
  echo "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-1}))
  [ "$code" -eq 0 ] || rc=1
  host_cleanup
done
rm -rf "$ENGINE_DIR"
echo "engines: $total_p passed, $total_f failed"
exit $rc

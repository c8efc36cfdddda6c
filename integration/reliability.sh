#!/bin/bash
# reliability.sh: the fault, concurrency and hostile-bundle tests, then a
# leak check over the whole machine: no runr test mount, cgroup, process or
# state directory may remain. Prints "reliability: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
out=$(cargo test --test integration -- faults:: concurrency:: hostile:: 2>&1)
code=$?
printf '%s\n' "$out" | grep -E '^test |^test result'
# A failing test's panic message, so that a CI log says why.
[ "$code" = 0 ] || printf '%s\n' "$out" | grep -E -A3 "panicked at" | grep -v -E '^ +[0-9]+: |^ +at ' | head -n 60
line=$(printf '%s\n' "$out" | grep -E '^test result' | tail -n 1)
passed=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
failed=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
leaks=""
m=$(grep -E 'runr-test-|runr-spec-' /proc/self/mountinfo | awk '{print $5}' | head -n 5)
[ -n "$m" ] && leaks="$leaks mounts: $m;"
c=$(find /sys/fs/cgroup -maxdepth 6 -type d \( -name 'runr-test-*' -o -name 'runr-spec-*' \) 2>/dev/null | head -n 5)
[ -n "$c" ] && leaks="$leaks cgroups: $c;"
p=$(ps -eo pid,args | grep -E 'runr-test-|runr-spec-' | grep -v -E 'grep|reliability' | head -n 5)
[ -n "$p" ] && leaks="$leaks processes: $p;"
d=$(ls -d /tmp/runr-test-* 2>/dev/null | head -n 5)
[ -n "$d" ] && leaks="$leaks dirs: $d;"
if [ -n "$leaks" ]; then
  echo "LEAK:$leaks"
  failed=$(( ${failed:-0} + 1 ))
  code=1
fi
echo "reliability: ${passed:-0} passed, ${failed:-1} failed"
exit $code

#!/bin/bash
# podman.sh RUNTIME: podman 4 (with conmon) runs its containers on RUNTIME.
# Private state under $ENGINE_DIR/podman; prints PASS/FAIL lines and
# "N passed, N failed"; exit 0 only when everything passed.
set -u
. "$(dirname "$0")/lib.sh"
RT=$(readlink -f "${1:?usage: podman.sh RUNTIME}")
BASE="${ENGINE_DIR:-/tmp/runr-engines}/podman"
install podman conmon busybox-static || { fail install "apt-get install podman conmon"; summary; exit 1; }
mkdir -p "$BASE"/tmp "$BASE"/vol "$BASE"/net "$BASE"/img

P=(podman --root "$BASE/root" --runroot "$BASE/runroot" --tmpdir "$BASE/tmp" --storage-driver vfs
   --cgroup-manager cgroupfs --events-backend file --network-config-dir "$BASE/net" --runtime "$RT")
RUN=("${P[@]}" run --network none --ulimit "nofile=$(hard_nofile):$(hard_nofile)" --ulimit "nproc=$(hard_nproc):$(hard_nproc)")
status() { timeout -k 5 "$T" "${P[@]}" inspect -f '{{.State.Status}}' "$1" 2>&1; }
cleanup() { timeout 120 "${P[@]}" rm -af -t 0 >/dev/null 2>&1; }
trap cleanup EXIT
cleanup

if mkrootfs "$BASE/img"; then
  run "${P[@]}" import --change 'CMD ["/bin/sh"]' "$BASE/img/rootfs.tar" "$IMAGE"
  [ "$RC" -eq 0 ] && pass image_import || fail image_import "$OUT"
else
  fail image_import "could not build the rootfs"
fi

expect run_echo hello "${RUN[@]}" --rm "$IMAGE" echo hello
expect_rc exit_code 42 "${RUN[@]}" --rm "$IMAGE" sh -c 'exit 42'
OUT=$(echo piped | timeout -k 5 "$T" "${RUN[@]}" --rm -i "$IMAGE" cat 2>&1); RC=$?
[ "$RC" -eq 0 ] && [ "$OUT" = piped ] && pass stdin_pipe || fail stdin_pipe "rc=$RC '$OUT'"
expect env_workdir_user "bar /tmp 65534" "${RUN[@]}" --rm -e FOO=bar -w /tmp -u 65534:65534 "$IMAGE" \
  sh -c 'echo $FOO $(pwd) $(id -u)'
expect hostname enginehost "${RUN[@]}" --rm --hostname enginehost "$IMAGE" hostname
expect pid_namespace 1 "${RUN[@]}" --rm "$IMAGE" sh -c 'echo $$'
expect read_only_rootfs ro "${RUN[@]}" --rm --read-only "$IMAGE" sh -c 'touch /probe 2>/dev/null && echo rw || echo ro'
rm -f "$BASE/vol/probe"
run "${RUN[@]}" --rm -v "$BASE/vol:/data" "$IMAGE" sh -c 'echo written > /data/probe'
[ "$RC" -eq 0 ] && [ "$(cat "$BASE/vol/probe" 2>/dev/null)" = written ] && pass bind_mount || fail bind_mount "rc=$RC $OUT"
expect cap_drop_all 0000000000000000 "${RUN[@]}" --rm --cap-drop all "$IMAGE" sh -c 'grep CapEff /proc/self/status | cut -f2'
expect_in runtime_error_surfaces "executable file not found" "${RUN[@]}" --rm "$IMAGE" no-such-command

limit() {  # NAME FLAGS CONTROLLER V1FILE V2FILE WANT
  local pid f got
  run "${RUN[@]}" -d --name eng-lim $2 "$IMAGE" sleep 1000
  if [ "$RC" -ne 0 ]; then fail "$1" "rc=$RC $OUT"; return; fi
  pid=$(timeout -k 5 "$T" "${P[@]}" inspect -f '{{.State.Pid}}' eng-lim)
  f=$(cgfile "$pid" "$3" "$4" "$5"); got=$(cat "$f" 2>&1)
  [ "$got" = "$6" ] && pass "$1" || fail "$1" "$f = '$got', want '$6'"
  timeout -k 5 "$T" "${P[@]}" rm -f -t 0 eng-lim >/dev/null 2>&1
}
limit memory_limit "--memory 64m" memory memory.limit_in_bytes memory.max 67108864
limit pids_limit "--pids-limit 77" pids pids.max pids.max 77
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then limit cpu_quota "--cpus 0.5" cpu x cpu.max "50000 100000"
else limit cpu_quota "--cpus 0.5" cpu cpu.cfs_quota_us x 50000; fi

C=eng1
run "${RUN[@]}" -d --name $C "$IMAGE" sh -c 'trap "echo got-usr1 > /tmp/sig" USR1; while :; do sleep 0.2; done'
st=$(status $C); [ "$RC" -eq 0 ] && [ "$st" = running ] && pass detached_run || fail detached_run "rc=$RC $st $OUT"
expect exec exec-ok "${P[@]}" exec $C echo exec-ok
expect_rc exec_exit_code 3 "${P[@]}" exec $C sh -c 'exit 3'
expect exec_env_user "x 65534" "${P[@]}" exec -e V=x -u 65534 $C sh -c 'echo $V $(id -u)'
case "$(tty_out "${P[*]} exec -it $C tty")" in /dev/pts/*) pass exec_tty ;; *) fail exec_tty "no pty" ;; esac
run "${P[@]}" top $C; printf '%s' "$OUT" | grep -q 'sh -c' && pass top || fail top "rc=$RC $OUT"
run "${P[@]}" pause $C; st=$(status $C); [ "$st" = paused ] && pass pause || fail pause "rc=$RC $st $OUT"
run "${P[@]}" unpause $C; st=$(status $C); [ "$st" = running ] && pass unpause || fail unpause "rc=$RC $st $OUT"
run "${P[@]}" kill -s USR1 $C; sleep 1
expect kill_signal got-usr1 "${P[@]}" exec $C cat /tmp/sig
run "${P[@]}" stop -t 2 $C; st=$(status $C); [ "$st" = exited ] && pass stop || fail stop "rc=$RC $st $OUT"
run "${P[@]}" start $C; st=$(status $C); [ "$st" = running ] && pass restart || fail restart "rc=$RC $st $OUT"
run "${P[@]}" rm -f -t 0 $C
timeout -k 5 "$T" "${P[@]}" container exists $C && fail rm_force_running "still there" || pass rm_force_running

# A process that ignores SIGTERM: stop falls back to SIGKILL, exit 137.
run "${RUN[@]}" -d --name eng-term "$IMAGE" sh -c 'trap "" TERM; while :; do sleep 0.2; done'
run "${P[@]}" stop -t 1 eng-term
code=$(timeout -k 5 "$T" "${P[@]}" inspect -f '{{.State.ExitCode}}' eng-term 2>&1)
[ "$code" = 137 ] && pass stop_forced_137 || fail stop_forced_137 "exit code '$code' $OUT"
timeout -k 5 "$T" "${P[@]}" rm -f -t 0 eng-term >/dev/null 2>&1

[ "$(tty_out "${RUN[*]} -it --rm $IMAGE tty")" = /dev/pts/0 ] && pass run_tty || fail run_tty "no /dev/pts/0"
OUT=$(printf 'echo in-shell; exit 5\n' | timeout -k 5 "$T" script -qec "${RUN[*]} -it --rm $IMAGE sh" /dev/null 2>&1 | tr -d '\r')
printf '%s' "$OUT" | grep -qx in-shell && pass tty_interactive_shell || fail tty_interactive_shell "'$OUT'"

cleanup
left=$(timeout -k 5 "$T" "${P[@]}" ps -aq 2>&1)$(leftover_cgroups eng-)
[ -z "$left" ] && pass no_leftovers || fail no_leftovers "$left"
summary

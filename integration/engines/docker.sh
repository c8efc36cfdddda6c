#!/bin/bash
# docker.sh RUNTIME: dockerd 20.10 runs its containers on RUNTIME, added as
# the runtime "runr" (dockerd --add-runtime, the daemon.json "runtimes"
# entry). A private dockerd (its own containerd, data and exec roots under
# $ENGINE_DIR/docker, a unix socket, no iptables, no bridge) is started
# and stopped.
set -u
. "$(dirname "$0")/lib.sh"
RT=$(readlink -f "${1:?usage: docker.sh RUNTIME}")
BASE="${ENGINE_DIR:-/tmp/runr-engines}/docker"
SOCK="$BASE/docker.sock"
install docker.io busybox-static || { fail install "apt-get install docker.io"; summary; exit 1; }
mkdir -p "$BASE"/vol "$BASE"/img

D=(docker -H "unix://$SOCK")
RUN=("${D[@]}" run --runtime runr --network none)
status() { timeout -k 5 "$T" "${D[@]}" inspect -f '{{.State.Status}}' "$1" 2>&1; }
remove_all() {
  local ids; ids=$(timeout -k 5 "$T" "${D[@]}" ps -aq 2>/dev/null)
  [ -n "$ids" ] && timeout -k 5 120 "${D[@]}" rm -f $ids >/dev/null 2>&1
}
stop_daemon() { stop_pid "$BASE/dockerd.pid" "--data-root $BASE/data"; }
stop_daemon
cat > "$BASE/daemon.json" <<CONF
{
  "runtimes": {"runr": {"path": "$RT"}},
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": $(hard_nofile), "Soft": $(hard_nofile)}}
}
CONF
dockerd --config-file "$BASE/daemon.json" --data-root "$BASE/data" --exec-root "$BASE/exec" \
  --pidfile "$BASE/dockerd.pid" -H "unix://$SOCK" --iptables=false --ip-masq=false --bridge=none \
  --storage-driver vfs --log-level warn >> "$BASE/dockerd.log" 2>&1 &
trap 'remove_all; stop_daemon' EXIT
up=""
for _ in $(seq 1 120); do timeout 5 "${D[@]}" version >/dev/null 2>&1 && { up=1; break; }; sleep 0.25; done
[ -n "$up" ] && pass daemon_start || { fail daemon_start "see $BASE/dockerd.log"; summary; exit 1; }
remove_all

if mkrootfs "$BASE/img"; then
  run "${D[@]}" import --change 'CMD ["/bin/sh"]' "$BASE/img/rootfs.tar" "$IMAGE"
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
# Docker puts a seccomp profile, a prestart hook, sysctls and a cgroup
# mount in every config.json: all of it applied.
expect seccomp_on 2 "${RUN[@]}" --rm "$IMAGE" sh -c 'grep Seccomp: /proc/self/status | cut -f2'
expect_in runtime_error_surfaces "executable file not found" "${RUN[@]}" --rm "$IMAGE" no-such-command

limit() {  # NAME FLAGS CONTROLLER V1FILE V2FILE WANT
  local pid f got
  run "${RUN[@]}" -d --name eng-lim $2 "$IMAGE" sleep 1000
  if [ "$RC" -ne 0 ]; then fail "$1" "rc=$RC $OUT"; return; fi
  pid=$(timeout -k 5 "$T" "${D[@]}" inspect -f '{{.State.Pid}}' eng-lim)
  f=$(cgfile "$pid" "$3" "$4" "$5"); got=$(cat "$f" 2>&1)
  [ "$got" = "$6" ] && pass "$1" || fail "$1" "$f = '$got', want '$6'"
  timeout -k 5 "$T" "${D[@]}" rm -f eng-lim >/dev/null 2>&1
}
limit memory_limit "--memory 64m" memory memory.limit_in_bytes memory.max 67108864
limit pids_limit "--pids-limit 77" pids pids.max pids.max 77
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then limit cpu_quota "--cpus 0.5" cpu x cpu.max "50000 100000"
else limit cpu_quota "--cpus 0.5" cpu cpu.cfs_quota_us x 50000; fi

C=eng1
run "${RUN[@]}" -d --name $C "$IMAGE" sh -c 'trap "echo got-usr1 > /tmp/sig" USR1; while :; do sleep 0.2; done'
st=$(status $C); [ "$RC" -eq 0 ] && [ "$st" = running ] && pass detached_run || fail detached_run "rc=$RC $st $OUT"
expect exec exec-ok "${D[@]}" exec $C echo exec-ok
expect_rc exec_exit_code 3 "${D[@]}" exec $C sh -c 'exit 3'
expect exec_env_user "x 65534" "${D[@]}" exec -e V=x -u 65534 $C sh -c 'echo $V $(id -u)'
case "$(tty_out "${D[*]} exec -it $C tty")" in /dev/pts/*) pass exec_tty ;; *) fail exec_tty "no pty" ;; esac
run "${D[@]}" top $C; printf '%s' "$OUT" | grep -q 'sh -c' && pass top || fail top "rc=$RC $OUT"
run "${D[@]}" pause $C; st=$(status $C); [ "$st" = paused ] && pass pause || fail pause "rc=$RC $st $OUT"
run "${D[@]}" unpause $C; st=$(status $C); [ "$st" = running ] && pass unpause || fail unpause "rc=$RC $st $OUT"
run "${D[@]}" kill -s USR1 $C; sleep 1
expect kill_signal got-usr1 "${D[@]}" exec $C cat /tmp/sig
pid=$(timeout -k 5 "$T" "${D[@]}" inspect -f '{{.State.Pid}}' $C)
run "${D[@]}" update --memory 128m --memory-swap 256m --pids-limit 100 $C
m=$(cat "$(cgfile "$pid" memory memory.limit_in_bytes memory.max)" 2>&1)
p=$(cat "$(cgfile "$pid" pids pids.max pids.max)" 2>&1)
[ "$RC" -eq 0 ] && [ "$m" = 134217728 ] && [ "$p" = 100 ] && pass update || fail update "rc=$RC memory=$m pids=$p $OUT"
run "${D[@]}" stop -t 2 $C; st=$(status $C); [ "$st" = exited ] && pass stop || fail stop "rc=$RC $st $OUT"
run "${D[@]}" start $C; st=$(status $C); [ "$st" = running ] && pass restart || fail restart "rc=$RC $st $OUT"
run "${D[@]}" rm -f $C
timeout -k 5 "$T" "${D[@]}" inspect $C >/dev/null 2>&1 && fail rm_force_running "still there" || pass rm_force_running

run "${RUN[@]}" -d --name eng-term "$IMAGE" sh -c 'trap "" TERM; while :; do sleep 0.2; done'
run "${D[@]}" stop -t 1 eng-term
code=$(timeout -k 5 "$T" "${D[@]}" inspect -f '{{.State.ExitCode}}' eng-term 2>&1)
[ "$code" = 137 ] && pass stop_forced_137 || fail stop_forced_137 "exit code '$code' $OUT"
timeout -k 5 "$T" "${D[@]}" rm -f eng-term >/dev/null 2>&1

[ "$(tty_out "${RUN[*]} -it --rm $IMAGE tty")" = /dev/pts/0 ] && pass run_tty || fail run_tty "no /dev/pts/0"
OUT=$(printf 'echo in-shell; exit 5\n' | timeout -k 5 "$T" script -qec "${RUN[*]} -it --rm $IMAGE sh" /dev/null 2>&1 | tr -d '\r')
printf '%s' "$OUT" | grep -qx in-shell && pass tty_interactive_shell || fail tty_interactive_shell "'$OUT'"

remove_all
left=$(timeout -k 5 "$T" "${D[@]}" ps -aq 2>&1)
[ -z "$left" ] && pass no_leftovers || fail no_leftovers "$left"
trap - EXIT
stop_daemon
timeout 5 "${D[@]}" version >/dev/null 2>&1 && fail daemon_stop "still answers" || pass daemon_stop
summary

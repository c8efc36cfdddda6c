#!/bin/bash
# containerd.sh RUNTIME: containerd 1.6 and its runc v2 shim run their
# containers on RUNTIME (ctr --runc-binary). A private containerd (unix
# sockets only, state under $ENGINE_DIR/containerd) is started and stopped.
set -u
. "$(dirname "$0")/lib.sh"
RT=$(readlink -f "${1:?usage: containerd.sh RUNTIME}")
BASE="${ENGINE_DIR:-/tmp/runr-engines}/containerd"
SOCK="$BASE/containerd.sock"
install containerd busybox-static || { fail install "apt-get install containerd"; summary; exit 1; }
mkdir -p "$BASE"/fifo "$BASE"/runtime-root "$BASE"/vol "$BASE"/img

CTR=(ctr -a "$SOCK" -n engines)
RF=(--runc-binary "$RT" --runc-root "$BASE/runtime-root" --fifo-dir "$BASE/fifo")
tstatus() { timeout -k 5 "$T" "${CTR[@]}" task ls 2>/dev/null | awk -v c="$1" '$1==c {print $3}'; }
tpid() { timeout -k 5 "$T" "${CTR[@]}" task ls 2>/dev/null | awk -v c="$1" '$1==c {print $2}'; }
remove_all() {
  local c
  for c in $(timeout -k 5 "$T" "${CTR[@]}" task ls -q 2>/dev/null); do
    timeout -k 5 "$T" "${CTR[@]}" task kill -a -s SIGKILL "$c" >/dev/null 2>&1; sleep 0.3
    timeout -k 5 "$T" "${CTR[@]}" task delete -f "$c" >/dev/null 2>&1
  done
  for c in $(timeout -k 5 "$T" "${CTR[@]}" container ls -q 2>/dev/null); do
    timeout -k 5 "$T" "${CTR[@]}" container delete "$c" >/dev/null 2>&1
  done
}
stop_daemon() { stop_pid "$BASE/containerd.pid" "--config $BASE/config.toml"; }
stop_daemon
cat > "$BASE/config.toml" <<CONF
version = 2
root = "$BASE/root"
state = "$BASE/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$BASE/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$BASE/opt"
CONF
containerd --config "$BASE/config.toml" >> "$BASE/containerd.log" 2>&1 &
echo $! > "$BASE/containerd.pid"
trap 'remove_all; stop_daemon' EXIT
up=""
for _ in $(seq 1 80); do timeout 5 "${CTR[@]}" version >/dev/null 2>&1 && { up=1; break; }; sleep 0.25; done
[ -n "$up" ] && pass daemon_start || { fail daemon_start "see $BASE/containerd.log"; summary; exit 1; }
remove_all

if mkrootfs "$BASE/img" && mkoci "$BASE/img"; then
  run "${CTR[@]}" images import "$BASE/img/busybox-oci.tar"
  timeout -k 5 "$T" "${CTR[@]}" images ls -q 2>/dev/null | grep -qx "$IMAGE" && pass image_import || fail image_import "$OUT"
else
  fail image_import "could not build the image"
fi

expect run_echo hello "${CTR[@]}" run --rm "${RF[@]}" "$IMAGE" c-echo echo hello
expect_rc exit_code 42 "${CTR[@]}" run --rm "${RF[@]}" "$IMAGE" c-exit sh -c 'exit 42'
# (ctr never closes the task's stdin: read one line rather than to EOF)
OUT=$(echo piped | timeout -k 5 "$T" "${CTR[@]}" run --rm "${RF[@]}" "$IMAGE" c-stdin head -n 1 2>&1); RC=$?
[ "$RC" -eq 0 ] && [ "$OUT" = piped ] && pass stdin_pipe || fail stdin_pipe "rc=$RC '$OUT'"
expect env_cwd "bar /tmp" "${CTR[@]}" run --rm "${RF[@]}" --env FOO=bar --cwd /tmp "$IMAGE" c-env sh -c 'echo $FOO $(pwd)'
expect pid_namespace 1 "${CTR[@]}" run --rm "${RF[@]}" "$IMAGE" c-pid sh -c 'echo $$'
expect read_only_rootfs ro "${CTR[@]}" run --rm "${RF[@]}" --read-only "$IMAGE" c-ro sh -c 'touch /probe 2>/dev/null && echo rw || echo ro'
rm -f "$BASE/vol/probe"
run "${CTR[@]}" run --rm "${RF[@]}" --mount "type=bind,src=$BASE/vol,dst=/data,options=rbind:rw" "$IMAGE" c-mnt sh -c 'echo written > /data/probe'
[ "$RC" -eq 0 ] && [ "$(cat "$BASE/vol/probe" 2>/dev/null)" = written ] && pass bind_mount || fail bind_mount "rc=$RC $OUT"
drops=()
for c in CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE; do
  drops+=(--cap-drop "CAP_$c")
done
expect cap_drop 0000000000000000 "${CTR[@]}" run --rm "${RF[@]}" "${drops[@]}" "$IMAGE" c-cap sh -c 'grep CapEff /proc/self/status | cut -f2'
[ "$(tty_out "${CTR[*]} run --rm -t ${RF[*]} $IMAGE c-tty tty")" = /dev/pts/0 ] && pass run_tty || fail run_tty "no /dev/pts/0"
# containerd shows the last error line of the runtime's --log file.
expect_in runtime_error_surfaces "executable file not found" "${CTR[@]}" run --rm "${RF[@]}" "$IMAGE" c-err no-such-command
timeout -k 5 "$T" "${CTR[@]}" container delete c-err >/dev/null 2>&1

C=c-main
run "${CTR[@]}" run -d "${RF[@]}" --memory-limit 67108864 --cpu-quota 50000 --cpu-period 100000 "$IMAGE" $C \
  sh -c 'trap "echo got-usr1 > /tmp/sig" USR1; while :; do sleep 0.2; done'
sleep 0.5; st=$(tstatus $C)
[ "$RC" -eq 0 ] && [ "$st" = RUNNING ] && pass detached_run || fail detached_run "rc=$RC $st $OUT"
pid=$(tpid $C)
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  f=$(cgfile "$pid" memory memory.limit_in_bytes memory.max); got=$(cat "$f" 2>&1)
  [ "$got" = 67108864 ] && pass memory_limit || fail memory_limit "$f = '$got'"
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then want="50000 100000"; f=$(cgfile "$pid" cpu x cpu.max)
  else want=50000; f=$(cgfile "$pid" cpu cpu.cfs_quota_us x); fi
  got=$(cat "$f" 2>&1); [ "$got" = "$want" ] && pass cpu_quota || fail cpu_quota "$f = '$got'"
else
  fail memory_limit "no task pid"; fail cpu_quota "no task pid"
fi
E=(task exec --fifo-dir "$BASE/fifo")
expect exec exec-ok "${CTR[@]}" "${E[@]}" --exec-id e1 $C echo exec-ok
expect_rc exec_exit_code 3 "${CTR[@]}" "${E[@]}" --exec-id e2 $C sh -c 'exit 3'
expect exec_cwd /tmp "${CTR[@]}" "${E[@]}" --exec-id e3 --cwd /tmp $C pwd
case "$(tty_out "${CTR[*]} ${E[*]} -t --exec-id e4 $C tty")" in /dev/pts/*) pass exec_tty ;; *) fail exec_tty "no pty" ;; esac
run "${CTR[@]}" task ps $C; printf '%s\n' "$OUT" | grep -q "^$pid " && pass task_ps || fail task_ps "rc=$RC $OUT"
run "${CTR[@]}" task pause $C; st=$(tstatus $C); [ "$st" = PAUSED ] && pass pause || fail pause "rc=$RC $st $OUT"
run "${CTR[@]}" task resume $C; st=$(tstatus $C); [ "$st" = RUNNING ] && pass resume || fail resume "rc=$RC $st $OUT"
run "${CTR[@]}" task metrics $C
printf '%s' "$OUT" | grep -Eq '^memory\.(usage_in_bytes|usage) ' && pass metrics || fail metrics "rc=$RC $OUT"
run "${CTR[@]}" task kill -s SIGUSR1 $C; sleep 1
expect kill_signal got-usr1 "${CTR[@]}" "${E[@]}" --exec-id e5 $C cat /tmp/sig
run "${CTR[@]}" task kill -s SIGKILL $C; sleep 1; st=$(tstatus $C)
[ "$st" = STOPPED ] && pass kill_sigkill || fail kill_sigkill "rc=$RC $st $OUT"
run "${CTR[@]}" task delete $C; st=$(tstatus $C); [ "$RC" -eq 0 ] && [ -z "$st" ] && pass task_delete || fail task_delete "rc=$RC $OUT"
run "${CTR[@]}" container delete $C; [ "$RC" -eq 0 ] && pass container_delete || fail container_delete "$OUT"

run "${CTR[@]}" run -d "${RF[@]}" "$IMAGE" c-force sleep 1000; sleep 0.5
run "${CTR[@]}" task delete -f c-force; st=$(tstatus c-force)
[ "$RC" -eq 0 ] && [ -z "$st" ] && pass task_delete_force || fail task_delete_force "rc=$RC $st $OUT"
timeout -k 5 "$T" "${CTR[@]}" container delete c-force >/dev/null 2>&1

remove_all
left="$(timeout -k 5 "$T" "${CTR[@]}" task ls -q 2>&1)$(timeout -k 5 "$T" "${CTR[@]}" container ls -q 2>&1)"
shims=$(pgrep -f -- "containerd-shim.* -address $SOCK" | wc -l)
[ -z "$left" ] && [ "$shims" -eq 0 ] && pass no_leftovers || fail no_leftovers "left='$left' shims=$shims"
trap - EXIT
stop_daemon
timeout 5 "${CTR[@]}" version >/dev/null 2>&1 && fail daemon_stop "still answers" || pass daemon_stop
summary

# Shared by the engine tests (sourced): result counting, command runners,
# cgroup file lookup, and the busybox image built offline from Debian's
# busybox-static (a plain rootfs tar, plus an OCI image-layout archive).
# Each engine script sets BASE (its private state dir) before using these.

PASSED=0; FAILED=0
T=${ENGINE_TIMEOUT:-60}
IMAGE=localhost/busybox:latest

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $(printf '%s' "$2" | tr '\r\n' '  ' | cut -c1-400)"; FAILED=$((FAILED + 1)); }
summary() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; }

# install PKG...: apt-get install what is missing.
install() {
  local need="" p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
  [ -z "$need" ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq $need >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq $need >/dev/null 2>&1; }
}

# run CMD...: OUT (stdout+stderr, \r stripped) and RC.
run() { OUT=$(timeout -k 5 "$T" "$@" 2>&1); RC=$?; OUT=$(printf '%s' "$OUT" | tr -d '\r'); }
# expect NAME WANT CMD...: pass when CMD exits 0 printing exactly WANT.
expect() {
  local name="$1" want="$2"; shift 2
  run "$@"
  if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then pass "$name"; else fail "$name" "rc=$RC want='$want' got='$OUT'"; fi
}
# expect_rc NAME RC CMD...
expect_rc() {
  local name="$1" want="$2"; shift 2
  run "$@"
  if [ "$RC" -eq "$want" ]; then pass "$name"; else fail "$name" "want rc=$want got rc=$RC $OUT"; fi
}
# expect_in NAME TEXT CMD...: pass when the output contains TEXT (any rc).
expect_in() {
  local name="$1" want="$2"; shift 2
  run "$@"
  case "$OUT" in *"$want"*) pass "$name" ;; *) fail "$name" "rc=$RC want '$want' in '$OUT'" ;; esac
}
# tty_out CMDLINE: the output of CMDLINE run under a pseudo-terminal.
tty_out() { sleep 2 | timeout -k 5 "$T" script -qec "$1" /dev/null 2>&1 | tr -d '\r'; }

# cgfile PID V1CONTROLLER V1FILE V2FILE: the host path of a cgroup file of PID.
cgfile() {
  local pid="$1" ctl="$2" f1="$3" f2="$4" path
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup"); echo "/sys/fs/cgroup$path/$f2"
  else
    path=$(awk -F: -v c="$ctl" '{ n=split($2,a,","); for(i=1;i<=n;i++) if (a[i]==c) print $3 }' "/proc/$pid/cgroup")
    echo "/sys/fs/cgroup/$ctl$path/$f1"
  fi
}

# mkrootfs DIR: busybox rootfs in DIR/rootfs and DIR/rootfs.tar.
mkrootfs() {
  local r="$1/rootfs"
  rm -rf "$r" && mkdir -p "$r"/bin "$r"/etc "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/root "$r"/run "$r"/var &&
    chmod 1777 "$r/tmp" && cp /bin/busybox "$r/bin/busybox" || return 1
  local a
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$1/rootfs.tar" .
}

# mkoci DIR: DIR/busybox-oci.tar, an OCI image layout of DIR/rootfs.tar
# named $IMAGE (for `ctr images import`).
mkoci() {
  local o="$1" b="$1/oci/blobs/sha256" L LS C CS M MS
  rm -rf "$o/oci" && mkdir -p "$b" || return 1
  L=$(sha256sum "$o/rootfs.tar" | cut -d' ' -f1); LS=$(stat -c %s "$o/rootfs.tar"); cp "$o/rootfs.tar" "$b/$L"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$L" > "$o/c.json"
  C=$(sha256sum "$o/c.json" | cut -d' ' -f1); CS=$(stat -c %s "$o/c.json"); mv "$o/c.json" "$b/$C"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$C" "$CS" "$L" "$LS" > "$o/m.json"
  M=$(sha256sum "$o/m.json" | cut -d' ' -f1); MS=$(stat -c %s "$o/m.json"); mv "$o/m.json" "$b/$M"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' "$M" "$MS" "$IMAGE" > "$o/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$o/oci/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$o/oci" -cf "$o/busybox-oci.tar" .
}

# stop_pid PIDFILE PATTERN: TERM (then KILL) the daemon in PIDFILE, only if
# its command line contains PATTERN (never a process we did not start).
stop_pid() {
  local pid; pid=$(cat "$1" 2>/dev/null)
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$1"
}

# leftover_cgroups TAG: cgroup dirs whose name contains TAG.
leftover_cgroups() { find /sys/fs/cgroup -maxdepth 6 -type d -name "*$1*" 2>/dev/null | head -n 5; }

# The rlimits engines set by default (1048576) exceed this machine's hard
# limits and root lacks CAP_SYS_RESOURCE: use the current hard limits.
hard_nofile() { local n; n=$(ulimit -Hn); [ "$n" = unlimited ] && n=1048576; [ "$n" -gt 1048576 ] && n=1048576; echo "$n"; }
hard_nproc() { local n pm; n=$(ulimit -Hu); pm=$(cat /proc/sys/kernel/pid_max); [ "$n" = unlimited ] && n=$pm; [ "$n" -gt "$pm" ] && n=$pm; echo "$n"; }

#!/bin/sh
# Installs what building bundles and running the tests need, if missing:
# a static busybox (Debian's busybox-static) for the test rootfs.
set -eu
static_busybox() {
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}
if ! static_busybox; then
    if [ "$(id -u)" != 0 ]; then
        echo "busybox-static is missing; run as root or: apt-get install busybox-static" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq busybox-static >/dev/null
fi
static_busybox || { echo "no static /bin/busybox after installing busybox-static" >&2; exit 1; }

# Tools the tests call: ip (veth pairs for netDevices), ps (runr ps),
# script (tty tests), dmesg (seccomp LOG), GNU time (peak RSS of runr).
need=""
command -v ip >/dev/null || need="$need iproute2"
command -v ps >/dev/null || need="$need procps"
command -v script >/dev/null || need="$need bsdutils"
command -v dmesg >/dev/null || need="$need util-linux"
command -v newuidmap >/dev/null || need="$need uidmap"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ] && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $need >/dev/null
fi

# The rootless tests' user, with subordinate uid and gid ranges for
# newuidmap/newgidmap (integration/rootless.rs).
if [ "$(id -u)" = 0 ]; then
    id runr-rootless >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh runr-rootless
    grep -q '^runr-rootless:' /etc/subuid 2>/dev/null || usermod --add-subuids 300000-365535 runr-rootless
    grep -q '^runr-rootless:' /etc/subgid 2>/dev/null || usermod --add-subgids 300000-365535 runr-rootless
fi

# Docker's default seccomp profile, as Debian ships it (in the source of
# Docker's Go packages), for the seccomp tests. Extracted, not installed.
FIX=build/fixtures/docker-seccomp-default.json
if [ ! -s "$FIX" ]; then
    mkdir -p build/fixtures build/debs
    if [ "$(id -u)" = 0 ] && [ -z "$(ls build/debs/golang-github-docker-docker-dev_*.deb 2>/dev/null)" ]; then
        (cd build/debs && apt-get download golang-github-docker-docker-dev >/dev/null 2>&1) ||
            { apt-get update -qq && (cd build/debs && apt-get download golang-github-docker-docker-dev >/dev/null); }
    fi
    deb=$(ls build/debs/golang-github-docker-docker-dev_*.deb | head -n 1)
    dpkg-deb --fsys-tarfile "$deb" |
        tar -xO ./usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json > "$FIX.tmp"
    mv "$FIX.tmp" "$FIX"
fi

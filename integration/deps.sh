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

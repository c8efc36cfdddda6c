#!/bin/sh
# make-bundle.sh RUNR DIR [SCRIPT]
# Builds an OCI bundle in DIR: a rootfs from Debian's static busybox and the
# config of `runr spec`, with terminal off and, if given, process.args set
# to ["sh", "-c", SCRIPT]. Offline; no JSON tool needed.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 RUNR DIR [SCRIPT]" >&2; exit 2; }
RUNR=$1 DIR=$2
R="$DIR/rootfs"
mkdir -p "$R/bin"
if ! cmp -s /bin/busybox "$R/bin/busybox"; then
    cp /bin/busybox "$R/bin/busybox"
    for app in $(/bin/busybox --list); do
        [ "$app" = busybox ] || ln -sf busybox "$R/bin/$app"
    done
fi
for d in proc sys dev tmp etc root run; do mkdir -p "$R/$d"; done
[ -e "$R/etc/passwd" ] || echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
[ -e "$R/etc/group" ] || echo 'root:x:0:' > "$R/etc/group"
rm -f "$DIR/config.json"
"$RUNR" spec --bundle "$DIR"
sed -i 's/"terminal": true/"terminal": false/' "$DIR/config.json"
if [ $# -ge 3 ]; then
    # JSON-escape the script: backslashes, then double quotes.
    esc=$(printf '%s' "$3" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
    sed -i "s|^\(\t*\)\"sh\"$|\1\"sh\", \"-c\", \"$(printf '%s' "$esc" | sed -e 's/\\/\\\\/g' -e 's/[|&]/\\&/g')\"|" "$DIR/config.json"
fi

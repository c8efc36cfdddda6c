#!/bin/sh
# check-static.sh BINARY: fails unless BINARY is statically linked: no
# program interpreter, no shared library needed (ldd, and file and readelf
# where installed, say so).
set -eu
bin=$1
[ -x "$bin" ] || { echo "check-static: $bin: not an executable" >&2; exit 1; }
fail() { echo "check-static: $bin is not static: $1" >&2; exit 1; }
ldd_out=$(ldd "$bin" 2>&1 || true)
case $ldd_out in
    *"statically linked"* | *"not a dynamic executable"*) ;;
    *) fail "ldd: $ldd_out" ;;
esac
if command -v file >/dev/null; then
    file_out=$(file -b "$bin")
    case $file_out in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) fail "file: $file_out" ;;
    esac
fi
if command -v readelf >/dev/null; then
    if readelf -lW "$bin" | grep -q 'INTERP'; then
        fail "readelf: it has a program interpreter"
    fi
    needed=$(readelf -dW "$bin" | grep '(NEEDED)' || true)
    [ -z "$needed" ] || fail "readelf: $needed"
fi
echo "$bin: statically linked, $(stat -c %s "$bin") bytes"

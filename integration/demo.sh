#!/bin/sh
# The newcomer's first container: builds a busybox bundle and runs it.
set -eu
RUNR=${RUNR:-target/x86_64-unknown-linux-gnu/release/runr}
DIR=${DIR:-build/demo-bundle}
sh integration/make-bundle.sh "$RUNR" "$DIR" \
    'echo "hello from $(hostname), I am pid $$ in my own pid namespace"; echo "my mounts:"; cut -d" " -f5,9 /proc/self/mountinfo | head -5'
ROOT=$(mktemp -d /tmp/runr-demo.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
"$RUNR" --root "$ROOT" run --bundle "$DIR" "runr-demo-$$"

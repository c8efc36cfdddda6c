#!/bin/sh
# compare-errors.sh [RUNR] [RUNC]
# Prints, case by case, the exit code and stderr of runr and of runc for the
# failures whose words engines match on (missing id, existing id, wrong
# state, bad id, bad signal, missing bundle). For humans: it asserts
# nothing (integration/errors.rs does). Needs root; uses its own --root
# dirs and ids `runr-test-cmp-PID-*`, and removes everything it made.
set -u
RUNR=${1:-$(dirname "$0")/../target/x86_64-unknown-linux-gnu/debug/runr}
RUNC=${2:-/usr/sbin/runc}
T=$(mktemp -d /tmp/runr-test-cmp.XXXXXX)
P="runr-test-cmp-$$"
cleanup() {
    for rt in runr runc; do
        bin=$RUNR; [ $rt = runc ] && bin=$RUNC
        for id in C R S Z; do "$bin" --root "$T/$rt" delete -f "$P-$rt-$id" >/dev/null 2>&1; done
    done
    rm -rf "$T"
}
trap cleanup EXIT
# A signal (^C, or a closed pipe: `| head`) still cleans up.
trap 'exit 1' INT TERM HUP PIPE

bundle() { # DIR SCRIPT
    sh "$(dirname "$0")/../integration/make-bundle.sh" "$RUNR" "$1" "$2" >/dev/null
}
bundle "$T/sleep" "sleep 1000"
mkdir -p "$T/true" && cp -r "$T/sleep/rootfs" "$T/true/" && bundle "$T/true" "true"
mkdir -p "$T/empty"

# Per runtime: C created, R running, S stopped, Z paused.
setup() { # RT BIN
    r="$T/$1"; b=$2
    "$b" --root "$r" create -b "$T/sleep" "$P-$1-C" </dev/null >/dev/null 2>&1
    "$b" --root "$r" run -d -b "$T/sleep" "$P-$1-R" </dev/null >/dev/null 2>&1
    "$b" --root "$r" run -d -b "$T/sleep" "$P-$1-Z" </dev/null >/dev/null 2>&1
    "$b" --root "$r" pause "$P-$1-Z" >/dev/null 2>&1
    "$b" --root "$r" run -d -b "$T/true" "$P-$1-S" </dev/null >/dev/null 2>&1
    i=0
    while [ $i -lt 100 ] && ! "$b" --root "$r" state "$P-$1-S" 2>/dev/null | grep -q '"stopped"'; do
        sleep 0.05; i=$((i + 1))
    done
}
setup runr "$RUNR"
setup runc "$RUNC"

# one RT BIN ARGS...: runs one runtime with @X replaced by its container X.
one() {
    rt=$1 bin=$2; shift 2
    n=$#
    for a in "$@"; do
        case $a in
            @?) a="$P-$rt-${a#@}" ;;
        esac
        set -- "$@" "$a"
    done
    shift "$n"
    "$bin" --root "$T/$rt" "$@" </dev/null >/dev/null 2>"$T/err"
    code=$?
    msg=$(sed -e 's/^time="[^"]*" level=[a-z]* msg=//' -e "s/$P-$rt-/ID-/g" "$T/err" | tr '\n' ' ')
    printf '  %s [%s] %s\n' "$rt" "$code" "$msg"
}

# case_ LABEL ARGS... (ARGS may name @C @R @S @Z: each runtime's own).
case_() {
    printf '== %s\n' "$1"; shift
    one runc "$RUNC" "$@"
    one runr "$RUNR" "$@"
}

for cmd in state start pause resume ps events delete; do
    case_ "$cmd of a missing id" "$cmd" "$P-nosuch"
done
case_ "delete --force of a missing id (no error)" delete --force "$P-nosuch"
case_ "kill of a missing id" kill "$P-nosuch" KILL
case_ "exec in a missing id" exec "$P-nosuch" true
case_ "update of a missing id" update --memory 100000000 "$P-nosuch"
case_ "create of an existing id" create -b "$T/sleep" @C
case_ "run of an existing id" run -b "$T/true" @C
case_ "kill of a stopped container" kill @S KILL
case_ "start of a running container" start @R
case_ "start of a stopped container" start @S
case_ "start of a paused container" start @Z
case_ "delete of a running container" delete @R
case_ "pause of a stopped container" pause @S
case_ "pause of a created container" pause @C
case_ "resume of a running container" resume @R
case_ "exec in a stopped container" exec @S true
case_ "exec in a paused container" exec @Z true
case_ "ps of a stopped container" ps @S
case_ "invalid id (state)" state "../x"
case_ "invalid id (create)" create -b "$T/sleep" "a/b"
case_ "unknown signal" kill @R SIGNOPE
case_ "missing bundle" create -b "$T/nosuch" "$P-new"
case_ "missing config.json" create -b "$T/empty" "$P-new2"
case_ "events of a stopped container" events --stats @S
case_ "update of a stopped container" update --memory 100000000 @S
case_ "resume of a stopped container" resume @S
case_ "kill of a created container" kill @C KILL
case_ "delete of a stopped container" delete @S

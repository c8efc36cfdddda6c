#!/bin/bash
# spec-tests/runtime-tools.sh [RUNTIME]
# Runs the OCI runtime-tools validation suite (its 58 validation programs and
# the in-container checker runtimetest) against RUNTIME (default: the debug
# runr) and prints per-program TAP counts and a final
# `runtime-tools: N passed, N failed, N skipped`.
#
# Everything comes from Debian: Go and the suite's Go dependencies as
# golang-*-dev packages, the suite's source as the source package of
# golang-github-opencontainers-runtime-tools (its binary package leaves out
# validation/ and cmd/), built offline in GOPATH mode. The one dependency
# Debian lacks, the TAP writer tap-go, is runr's own (runtime-tools/tap.go).
# The rootfs is Debian's static busybox, as integration/make-bundle.sh makes it.
#
# Built once into build/runtime-tools/ (delete it to rebuild). Results go to
# build/runtime-tools/results/NAME/ (NAME: the runtime's file name). For runr,
# the run fails if it fails an assertion that spec-tests/runtime-tools-expected.txt
# does not list, or one that runc passed in build/runtime-tools/results/runc/
# (run this script with /usr/sbin/runc first to have that).
# Must run as root. RT_TIMEOUT: seconds per program (default 120).
set -uo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNTIME=$(realpath "${1:-$REPO/target/x86_64-unknown-linux-gnu/debug/runr}")
B=$REPO/build/runtime-tools
TIMEOUT=${RT_TIMEOUT:-120}
EXPECTED=$REPO/spec-tests/runtime-tools-expected.txt
SRC_PKG=golang-github-opencontainers-runtime-tools
# The release whose source package the mirror serves whole.
SRC_SUITE=${RT_SUITE:-trixie}
IMPORT=github.com/opencontainers/runtime-tools
GO_PKGS="golang-go golang-github-google-uuid-dev golang-github-blang-semver-dev
golang-github-hashicorp-go-multierror-dev golang-github-mrunalp-fileutils-dev
golang-github-opencontainers-specs-dev golang-github-opencontainers-selinux-dev
golang-github-sirupsen-logrus-dev golang-github-stretchr-testify-dev
golang-gocapability-dev golang-github-urfave-cli-dev
golang-github-xeipuuv-gojsonschema-dev golang-golang-x-sys-dev
busybox-static xz-utils"

die() {
    echo "runtime-tools: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it creates real containers)"
[ -x "$RUNTIME" ] || die "runtime $RUNTIME is not an executable"

install_packages() {
    local missing="" p
    for p in $GO_PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return
    echo "runtime-tools: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
        die "apt-get install$missing failed"
}

# The main archive's address and key, from this machine's apt sources
# (deb822 .sources files or one-line sources.list).
archive_source() {
    local f uri="" key=""
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' "$f")
        key=$(awk '/^Signed-By:/ {print $2; exit}' "$f")
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "no Debian archive in this machine's apt sources"
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$SRC_SUITE"
    [ -n "$key" ] && printf 'Signed-By: %s\n' "$key"
}

# The suite's source, unpacked into $B/src, with apt-get source and a private
# apt configuration (this machine's own apt setup is left as it is).
fetch_source() {
    [ -f "$B/src/.unpacked" ] && return
    local A=$B/apt orig
    rm -rf "$A" "$B/src"
    mkdir -p "$A/parts" "$A/lists/partial" "$A/cache/archives/partial" "$A/dl" "$B/src"
    archive_source >"$A/parts/src.sources"
    local opts=(-o "Dir::Etc::SourceList=$A/none.list" -o "Dir::Etc::SourceParts=$A/parts"
        -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" -qq update || die "apt-get update of $SRC_SUITE sources failed"
    # The mirror may lack the .dsc; the upstream tarball is all this needs.
    (cd "$A/dl" && apt-get "${opts[@]}" -qq source --download-only "$SRC_PKG" >/dev/null 2>&1)
    orig=$(ls "$A/dl/${SRC_PKG}"_*.orig.tar.* 2>/dev/null | head -n 1)
    [ -n "$orig" ] || die "apt-get source $SRC_PKG ($SRC_SUITE) brought no upstream tarball"
    tar -xf "$orig" -C "$B/src" --strip-components=1 || die "cannot unpack $orig"
    [ -d "$B/src/validation" ] && [ -d "$B/src/cmd/runtimetest" ] || die "$orig has no validation/ or cmd/runtimetest"
    basename "$orig" >"$B/src/.unpacked"
}

# runtimetest (static) and one binary per validation program into $B/bin.
build() {
    local stamp
    stamp="$(cat "$B/src/.unpacked") $(sha256sum "$REPO/spec-tests/runtime-tools/tap.go" | cut -c1-16)"
    if [ -f "$B/bin/.built" ] && [ "$(cat "$B/bin/.built")" = "$stamp" ]; then
        return
    fi
    local G=$B/gopath
    rm -rf "$G" "$B/bin"
    mkdir -p "$G/src/github.com/opencontainers" "$G/src/github.com/mndrix/tap-go" \
        "$G/src/github.com/blang/semver" "$B/bin/validation"
    ln -s "$B/src" "$G/src/$IMPORT"
    cp "$REPO/spec-tests/runtime-tools/tap.go" "$G/src/github.com/mndrix/tap-go/"
    # Debian ships semver v4 at the module root; the suite imports .../v4.
    ln -s /usr/share/gocode/src/github.com/blang/semver "$G/src/github.com/blang/semver/v4"
    local progs
    progs=$(cd "$B/src" && for d in validation/*/; do
        d=${d%/}
        [ "$d" = validation/util ] || echo "$IMPORT/$d"
    done)
    echo "runtime-tools: building runtimetest and $(echo "$progs" | wc -l) validation programs"
    (
        export GOPATH="$G:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOCACHE="$B/gocache" GOPROXY=off
        cd "$G" &&
            CGO_ENABLED=0 go build -o "$B/bin/runtimetest" "$IMPORT/cmd/runtimetest" &&
            # shellcheck disable=SC2086
            go build -o "$B/bin/validation/" $progs
    ) || die "go build failed"
    echo "$stamp" >"$B/bin/.built"
}

# rootfs-amd64.tar.gz as the suite's util.PrepareBundle unpacks it: the
# bundle directory is the rootfs (root.path ".").
make_rootfs() {
    local arch tarball R
    arch=$(go env GOARCH)
    tarball=$B/bin/rootfs-$arch.tar.gz
    cmp -s /bin/busybox "$B/bin/.busybox" && [ -f "$tarball" ] && return
    R=$(mktemp -d)
    mkdir -p "$R/bin" "$R/sys" "$R/dev" "$R/proc" "$R/etc" "$R/tmp" "$R/root"
    cp /bin/busybox "$R/bin/busybox"
    for app in $(/bin/busybox --list); do
        [ "$app" = busybox ] || ln -sf busybox "$R/bin/$app"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
    echo 'root:x:0:' >"$R/etc/group"
    tar -C "$R" -czf "$tarball" . || die "cannot write $tarball"
    rm -rf "$R"
    cp /bin/busybox "$B/bin/.busybox"
}

install_packages
fetch_source
build
make_rootfs

NAME=$(basename "$RUNTIME")
RES=$B/results/$NAME
WORK=$B/work-$NAME
STATE=$WORK/state
rm -rf "$RES" "$WORK"
mkdir -p "$RES" "$WORK/tmp" "$STATE"
cp "$B/bin/runtimetest" "$B/bin"/rootfs-*.tar.gz "$WORK/"
# The suite calls $RUNTIME with no global options; this keeps its containers
# in a root of their own, so that what a program leaves behind is removed.
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$RUNTIME" "$STATE" >"$WORK/runtime"
chmod +x "$WORK/runtime"

cleanup() {
    local id
    for id in $("$RUNTIME" --root "$STATE" list -q 2>/dev/null); do
        "$RUNTIME" --root "$STATE" delete -f "$id" >/dev/null 2>&1
    done
    # A container without a mount namespace (linux_ns_itype) mounts its
    # rootfs in ours: unmount what is left under our own tmp, deepest first.
    local m
    for m in $(awk -v d="$WORK/tmp/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$m" 2>/dev/null
    done
    if grep -q " $WORK/tmp/" /proc/self/mountinfo; then
        echo "runtime-tools: mounts left under $WORK/tmp; not removing it" >&2
        return
    fi
    rm -rf --one-file-system "$WORK/tmp" && mkdir -p "$WORK/tmp"
}

# One TAP stream: passed/failed/skipped assertions, keyed "PROG: description"
# (temporary names made stable). A failed TODO point counts as skipped. A
# program that exits non-zero or times out adds one failed assertion
# "PROG: (exit N)". The lifecycle programs (hooks, pidfile, ...) print no
# test point, only an "error" YAML block when a check fails: such a stream
# counts as one assertion, "PROG: (error) FIRST LINE" failed, or
# "PROG: (no error)" passed.
tally() {
    local prog=$1 tap=$2 rc=$3
    awk -v prog="$prog" -v rc="$rc" -v res="$RES" '
        function stable(line) {
            gsub(/ocitest[0-9]+/, "ocitestN", line)
            gsub(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, "UUID", line)
            return prog ": " line
        }
        function key(line) {
            sub(/^(not )?ok [0-9]+( - )?/, "", line)
            sub(/ # TODO$/, "", line)
            return stable(line)
        }
        /^ok [0-9]+/ && toupper($0) ~ /# SKIP/ { s++; n++; next }
        /^not ok [0-9]+/ && $0 ~ / # TODO$/ { s++; n++; next }
        /^ok [0-9]+/ { p++; n++; print key($0) >> (res "/passed.txt"); next }
        /^not ok [0-9]+/ { f++; n++; print key($0) >> (res "/failed.txt"); next }
        err == "" && /^ +"error": "/ {
            err = $0
            sub(/^ +"error": "/, "", err)
            sub(/(\\n|",?$).*/, "", err)
            if (err == "") err = "?"
        }
        END {
            if (n == 0 && err != "") { f++; print stable("(error) " err) >> (res "/failed.txt") }
            else if (n == 0 && rc == 0) { p++; print prog ": (no error)" >> (res "/passed.txt") }
            if (rc != 0) { f++; print prog ": (exit " rc ")" >> (res "/failed.txt") }
            printf "%d %d %d\n", p, f, s
        }' "$tap"
}

echo "runtime-tools: running against $RUNTIME (${TIMEOUT}s per program)"
: >"$RES/passed.txt"
: >"$RES/failed.txt"
: >"$RES/counts.txt"
TP=0 TF=0 TS=0
for bin in "$B/bin/validation"/*; do
    prog=$(basename "$bin")
    (cd "$WORK" && RUNTIME="$WORK/runtime" TMPDIR="$WORK/tmp" \
        timeout -k 5 "$TIMEOUT" "$bin" >"$RES/$prog.tap" 2>"$RES/$prog.err" </dev/null)
    rc=$?
    cleanup
    read -r p f s < <(tally "$prog" "$RES/$prog.tap" "$rc")
    TP=$((TP + p)) TF=$((TF + f)) TS=$((TS + s))
    echo "$prog $p $f $s" >>"$RES/counts.txt"
    printf '%-40s ok %4d  not ok %3d  skip %3d%s\n' "$prog" "$p" "$f" "$s" \
        "$([ "$rc" = 0 ] || echo "  (exit $rc)")" | tee -a "$RES/summary.txt"
done
sort -o "$RES/passed.txt" -u "$RES/passed.txt"
sort -o "$RES/failed.txt" -u "$RES/failed.txt"
echo "runtime-tools: $TP passed, $TF failed, $TS skipped" | tee -a "$RES/summary.txt"

# runr only: failures must be known, and none may be something runc passes.
# In the expected file, "PROG: description" lines list the assertions runr
# fails (each with its reason in the comments above it); "deviation PROG"
# names a program where runr fails what runc passes on purpose, "flaky PROG"
# one whose checks race (either runtime may fail any of them on a run).
case $NAME in runr*) ;; *) exit 0 ;; esac
status=0
known=$(grep -v -e '^#' -e '^deviation ' -e '^flaky ' -e '^[[:space:]]*$' "$EXPECTED" 2>/dev/null | sort -u)
deviations=$(awk '$1 == "deviation" {print $2}' "$EXPECTED" 2>/dev/null)
flaky=$(awk '$1 == "flaky" {print $2}' "$EXPECTED" 2>/dev/null)
unexpected=$(comm -23 "$RES/failed.txt" <(echo "$known"))
for d in $flaky; do
    unexpected=$(echo "$unexpected" | grep -v "^$d: ")
done
if [ -n "$unexpected" ]; then
    echo "runtime-tools: $NAME fails assertions not in $(basename "$EXPECTED"):"
    echo "$unexpected" | sed 's/^/  /'
    status=1
fi
stale=$(comm -13 "$RES/failed.txt" <(echo "$known") | grep -v '^$')
if [ -n "$stale" ]; then
    echo "runtime-tools: listed as failing in $(basename "$EXPECTED") but passed now (remove them):"
    echo "$stale" | sed 's/^/  /'
fi
RUNC=$B/results/runc
if [ -f "$RUNC/counts.txt" ]; then
    # Assertion by assertion, and program by program: a program that stops
    # early fails under another description than the ones runc passed, so
    # one where runr fails more and passes fewer than runc counts too.
    regress=$(comm -12 "$RES/failed.txt" <(comm -23 "$RUNC/passed.txt" "$RUNC/failed.txt"))
    regress="$regress
$(join <(sort "$RES/counts.txt") <(sort "$RUNC/counts.txt") 2>/dev/null |
        awk '$3 > $6 && $2 < $5 {printf "%s: %d passed %d failed, runc %d passed %d failed\n", $1, $2, $3, $5, $6}')"
    for d in $deviations $flaky; do
        regress=$(echo "$regress" | grep -v "^$d: ")
    done
    regress=$(echo "$regress" | grep -v '^$')
    if [ -n "$regress" ]; then
        echo "runtime-tools: $NAME fails what runc passes:"
        echo "$regress" | sed 's/^/  /'
        status=1
    fi
    [ -n "$deviations" ] && echo "runtime-tools: deliberate deviations from runc (see $(basename "$EXPECTED")): $(echo $deviations)"
else
    echo "runtime-tools: no runc results in $RUNC: run this with /usr/sbin/runc first to compare"
fi
exit $status

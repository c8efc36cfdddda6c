#!/bin/sh
# make fuzz: runs each cargo-fuzz target for FUZZ_SECONDS (default 60),
# bounded in memory (-rss_limit_mb) and input size (-max_len), from the
# seed corpus in fuzz/corpus/<target> (new inputs go to fuzz/work/, which
# is not committed). A crash fails this script; its input is written to
# fuzz/artifacts/<target>/: fix runr, then add the input to the corpus.
# cargo-fuzz is installed from crates.io if missing. Only a stable
# toolchain is needed: RUSTC_BOOTSTRAP lets it take cargo-fuzz's -Z flags,
# and no sanitizer is built in (runr's parsers are safe Rust; what is
# looked for is a panic, a hang or a runaway allocation).
set -eu
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
flags="--sanitizer none -O -a"
# shellcheck disable=SC2086
cargo fuzz build $flags
for t in config state; do
    mkdir -p "work/$t"
    # shellcheck disable=SC2086
    if ! cargo fuzz run $flags "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
        -print_final_stats=1 >"work/$t.log" 2>&1; then
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "work/$t.log" | tail -n 40
        echo "fuzz: target $t failed (input in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    echo "fuzz: $t: $(grep -E '^Done' "work/$t.log")"
done

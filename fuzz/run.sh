#!/bin/sh
# make fuzz: runs each libFuzzer target (fuzz/fuzz_targets/) for
# FUZZ_SECONDS (default 60), bounded in memory (-rss_limit_mb), input size
# (-max_len) and time per input (-timeout), from the seed corpus in
# fuzz/corpus/<target> (new inputs go to fuzz/work/, not committed). A
# crash fails this script; its input is written to fuzz/artifacts/: fix
# runr, then add the input to the corpus.
# Built with plain cargo and the coverage flags cargo-fuzz would pass
# (`cargo fuzz run` works too: the package is cargo-fuzz's layout), so
# only the stable toolchain is needed and nothing is installed. No
# sanitizer: runr's parsers are safe Rust; what is looked for is a panic,
# a hang or a runaway allocation.
set -eu
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions" \
    cargo build --release --target "$target" --bins
for t in config state; do
    mkdir -p "work/$t" artifacts
    if ! "target/$target/release/$t" "work/$t" "corpus/$t" \
        -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
        -artifact_prefix=artifacts/ -print_final_stats=1 >"work/$t.log" 2>&1; then
        grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "work/$t.log" | tail -n 40
        echo "fuzz: target $t failed (input in fuzz/artifacts/)" >&2
        exit 1
    fi
    echo "fuzz: $t: $(grep -E '^Done' "work/$t.log")"
done

#!/bin/sh
# Builds every fuzz target the way `cargo fuzz build -s none` does (libFuzzer coverage
# instrumentation, debug assertions), for machines without cargo-fuzz installed.
# Usage: fuzz/build.sh  (binaries in $CARGO_TARGET_DIR or fuzz/target, x86_64-unknown-linux-gnu/release)
set -e
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions"
exec cargo +nightly build --release --target x86_64-unknown-linux-gnu --bins "$@"

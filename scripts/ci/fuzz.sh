#!/usr/bin/env bash
# Bounded fuzzing of spec parsing + validation (fuzz/fuzz_targets/spec_parse.rs): builds the
# cargo-fuzz target and runs it for FUZZ_SECONDS (default 30) from the committed seeds. Exits
# non-zero on a panic, a hang (10 s per input) or a build failure; a failing input is left in
# fuzz/artifacts/spec_parse/. Cost: the instrumented build takes ~10 min cold on 2 cores (then
# incremental), so this is not part of the default test command.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version '^0.13'
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# cargo-fuzz passes nightly flags (-Zsanitizer...); the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
cd fuzz
mkdir -p corpus/spec_parse artifacts/spec_parse
cargo fuzz run --sanitizer none spec_parse corpus/spec_parse seeds/spec_parse -- \
    -max_total_time="${FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048

#!/usr/bin/env bash
# Sets up and starts Stategraph. Until the studio lands, this runs the quickstart example graph.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_apt_packages build-essential pkg-config
ensure_rust
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stategraph-target}
cargo build --workspace --locked -q --examples
"$CARGO_TARGET_DIR/debug/examples/quickstart"

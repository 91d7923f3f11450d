#!/usr/bin/env bash
# Sets up what the tests need on a fresh Debian machine and runs every test suite: the Rust
# workspace (engine, savers, specs, server, desktop app), the studio UI (typecheck, lint, vitest,
# Playwright in headless Chromium), the desktop app's window under Xvfb (WebDriver), and the Python
# package (maturin wheel, parity suite against LangGraph).
# This is the README's test command; .ci/run calls it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "system packages"
# Rust builds, the Tauri desktop app (WebKitGTK; on bookworm the appindicator is ayatana's), a
# headless display and WebKit's WebDriver for its e2e, Chromium for the studio's Playwright e2e.
ensure_apt_packages build-essential pkg-config curl file \
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev libxdo-dev \
  xvfb xauth webkit2gtk-driver imagemagick chromium

step "postgres"
ensure_postgres

step "python venv with langgraph (spec export tests)"
ensure_langgraph_venv
# The server's suite drives it with the official client (crates/stategraph-server/tests/python).
"$HOME/.cache/sg-venv/bin/pip" install -q -r crates/stategraph-server/tests/python/requirements.txt

step "rust toolchain"
ensure_rust
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stategraph-target}   # shared across clones
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Small target dirs: no incremental caches, and line tables instead of full debug info (backtraces
# keep file:line). Set for every cargo call alike, so nothing is compiled twice.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
# A machine with little disk left would fail mid-build: start the shared target dir afresh then.
free_kb=$(df -Pk "$(dirname "$CARGO_TARGET_DIR")" 2>/dev/null | awk 'NR==2 {print $4}')
if [ -n "${free_kb:-}" ] && [ "$free_kb" -lt $((15 * 1024 * 1024)) ] && [ -d "$CARGO_TARGET_DIR" ]; then
  echo "less than 15 GiB free: removing $CARGO_TARGET_DIR to make room"
  rm -rf "$CARGO_TARGET_DIR"
fi
# One flag set for every cargo call, so nothing is compiled twice with different features:
# tauri/custom-protocol makes the desktop binary embed ui/dist (which must exist before cargo runs).
FLAGS=(--workspace --locked --features tauri/custom-protocol)

step "studio ui (npm ci, typecheck, lint, vitest, build)"
bash scripts/ci/ui.sh

step "fmt";     cargo fmt --all --check
step "clippy";  cargo clippy "${FLAGS[@]}" --all-targets -- -D warnings
step "build";   cargo build "${FLAGS[@]}" --all-targets
step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run "${FLAGS[@]}" --no-fail-fast
else
  cargo test "${FLAGS[@]}" --no-fail-fast --tests --examples
fi
step "doc tests"; cargo test "${FLAGS[@]}" --doc
step "examples"
for ex in quickstart map_reduce subgraph typed_state; do
  if [ -f "examples/$ex.rs" ]; then "$CARGO_TARGET_DIR/debug/examples/$ex" >/dev/null; echo "example $ex ok"; fi
done
# The persistence examples need the saver features. approval_sqlite runs twice on one file: the
# second process resumes the run the first one paused.
cargo build --locked -p stategraph --features sqlite,postgres --example approval_sqlite --example postgres_checkpoints
db="$(mktemp -d)/approval.db"
"$CARGO_TARGET_DIR/debug/examples/approval_sqlite" --db "$db" start >/dev/null
out=$("$CARGO_TARGET_DIR/debug/examples/approval_sqlite" --db "$db" approve "looks good")
grep -q '"published"' <<<"$out" || { echo "approval_sqlite did not resume to publish:"; echo "$out"; exit 1; }
rm -rf "$(dirname "$db")"; echo "example approval_sqlite ok (paused, exited, resumed)"
"$CARGO_TARGET_DIR/debug/examples/postgres_checkpoints" >/dev/null; echo "example postgres_checkpoints ok"

# The binaries below come from the workspace build above (same flags): build them again last, as
# an example build may have relinked them (SETUP.md P5).
cargo build "${FLAGS[@]}" --bins
step "studio e2e (Playwright, headless Chromium, against stategraph dev)"
bash scripts/ci/e2e.sh
step "desktop e2e (Tauri window under Xvfb, tauri-driver + WebKitWebDriver)"
SKIP_BUILD=1 bash scripts/ci/desktop.sh
step "python package (maturin wheel, parity suite against LangGraph)"
bash scripts/ci/python.sh
# (scripts/ci/fuzz.sh is not here: its instrumented build takes ~10 minutes; run it on its own.)
for extra in server.sh e2e-langgraph-dev.sh; do
  if [ -f "scripts/ci/$extra" ]; then
    step "scripts/ci/$extra"
    bash "scripts/ci/$extra"
  fi
done
step "done: every suite passed"

#!/usr/bin/env bash
# Sets up and launches the Stategraph studio on a fresh Debian/Ubuntu machine: installs the system
# packages and the UI's npm packages, builds the UI and the workspace (the same flags and target dir
# as scripts/test.sh, so one build serves both), then opens the studio.
#
#   bash scripts/studio.sh              # the desktop app when a display is available, else the
#                                       # studio in the browser (`stategraph dev` on 127.0.0.1:2024)
#   bash scripts/studio.sh --browser    # always the browser studio
#   bash scripts/studio.sh FILE.yaml    # open a spec at launch (desktop)
#
# Threads, runs and checkpoints go to a SQLite file in the app data folder
# (~/.local/share/dev.stategraph.studio/ for the desktop app, ~/.local/share/stategraph/ for
# `stategraph dev`); the served specs folder sits beside it, with example specs on first launch.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

browser=""
args=()
for a in "$@"; do
  case "$a" in
    --browser) browser=1 ;;
    *) args+=("$a") ;;
  esac
done

step "system packages"
ensure_apt_packages build-essential pkg-config curl file \
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev libxdo-dev
ensure_rust
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stategraph-target}
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}

step "studio ui"
if ! command -v npm >/dev/null 2>&1; then ensure_apt_packages nodejs npm; fi
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

step "build (first time: several minutes)"
cargo build --workspace --locked --features tauri/custom-protocol --bins

if [ -z "$browser" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  step "launching the desktop studio"
  exec "$CARGO_TARGET_DIR/debug/stategraph-studio" "${args[@]}"
fi
step "launching the studio in the browser (no display found; Ctrl+C stops it)"
exec "$CARGO_TARGET_DIR/debug/stategraph" dev "${args[@]}"

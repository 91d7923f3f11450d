#!/usr/bin/env bash
# Desktop e2e: builds the Tauri app with the embedded UI and drives its real window under Xvfb
# through tauri-driver + WebKitWebDriver (ui/e2e-tauri/webdriver.mjs): the app opens an example
# spec, its nodes are on the canvas, validation runs, a screenshot is taken and checked not blank,
# time to interactive is measured. Idempotent; installs what it needs on a fresh Debian machine.
#
#   scripts/ci/desktop.sh             # build (same flags as every other cargo call) and test
#   SKIP_BUILD=1 scripts/ci/desktop.sh   # test the binary the last build left
#
# Prerequisite: ui/dist must be built first (cd ui && npm ci && npm run build): the app embeds it
# at compile time (tauri/custom-protocol). This script builds it when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

step "desktop: system packages (Tauri build deps, Xvfb, WebKitWebDriver)"
# libappindicator3-dev does not exist on bookworm: the ayatana one is the Tauri dependency.
ensure_apt_packages libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev \
  libssl-dev libxdo-dev build-essential pkg-config file xvfb xauth webkit2gtk-driver curl imagemagick
command -v node >/dev/null 2>&1 || ensure_apt_packages nodejs npm

step "desktop: rust toolchain and tauri-driver"
ensure_rust
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/stategraph-target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  # crates.io's newest tauri-driver is a 3.0 alpha: pin 2.
  cargo install tauri-driver --locked --version '^2'
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -f ui/dist/index.html ]; then
  step "desktop: ui (the app embeds ui/dist at compile time)"
  (cd ui && npm ci --no-audit --no-fund && npm run build)
fi

# The one flag set every cargo call uses (see src-tauri/README.md): building with other flags
# would recompile most of the workspace and relink the binary as a dev-mode (devUrl) app.
FLAGS=(--workspace --locked --features tauri/custom-protocol)
if [ -z "${SKIP_BUILD:-}" ]; then
  step "desktop: build"
  cargo build "${FLAGS[@]}"
fi
APP="$CARGO_TARGET_DIR/debug/stategraph-studio"
[ -x "$APP" ] || { echo "error: $APP was not built" >&2; exit 1; }

step "desktop: Xvfb and tauri-driver"
if [ -z "${DISPLAY:-}" ]; then
  XN=""
  for n in $(seq 99 140); do [ -e "/tmp/.X$n-lock" ] || { XN=$n; break; }; done
  [ -n "$XN" ] || { echo "error: no free X display between :99 and :140" >&2; exit 1; }
  Xvfb ":$XN" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & PIDS+=($!)
  export DISPLAY=":$XN"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$XN" ] && break; sleep 0.1; done
fi
# tauri-driver has fixed ports (4444, and 4445 for WebKitWebDriver): one run at a time.
if curl -sf http://127.0.0.1:4444/status >/dev/null 2>&1; then
  echo "error: something already listens on 127.0.0.1:4444 (another tauri-driver?)" >&2
  exit 1
fi
# The app keeps its database, specs and settings in the XDG folders: a fresh set per run.
SANDBOX=$(mktemp -d)
trap 'cleanup; rm -rf "$SANDBOX"' EXIT
mkdir -p ui/test-results/desktop
XDG_DATA_HOME="$SANDBOX/data" XDG_CONFIG_HOME="$SANDBOX/config" XDG_CACHE_HOME="$SANDBOX/cache" \
  tauri-driver >ui/test-results/desktop/tauri-driver.log 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:4444/status >/dev/null 2>&1 && break; sleep 0.1; done

step "desktop: webdriver e2e"
node ui/e2e-tauri/webdriver.mjs "$APP" "$PWD/examples/specs/support_triage.yaml"
echo "desktop e2e: screenshots and measurements in ui/test-results/desktop/"
